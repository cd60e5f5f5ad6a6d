//! The `secrets` input: which Vault secrets to read and what to export them as.
//!
//! ```text
//! <path>[@<version>] <selector> [| <target>]
//!
//! kvv2/webapp/config db_host                 # -> DB_HOST
//! kvv2/webapp/config api_key | TF_VAR_api_key
//! kvv2/webapp/config * | TF_VAR_             # every key, prefixed: TF_VAR_db_host
//! kvv2/webapp/config@3 db_host               # KV v2 version pin
//! postgres/creds/webapp password | PGPASSWORD
//! ```
//!
//! - One request per line; `;` also separates requests, so inputs written for
//!   hashicorp/vault-action keep working.
//! - `#` starts a comment that runs to the end of the line. A `#` can
//!   therefore never be part of a path, key or name; a Vault key containing
//!   `#` cannot be requested by name (read it with `*`).
//! - Blank lines and empty `;` segments are ignored.
//! - Tokens are separated by any whitespace (spaces, tabs, a trailing `\r`
//!   from CRLF input); `|` needs no spaces around it (`key|NAME` works, as in
//!   vault-action).
//!
//! Paths are checked here so that a typo fails the step before any Vault
//! call, with the line and column of the mistake (1-based, columns counted in
//! characters of the original input).

use crate::names;

/// One requested secret (or set of secrets, for `*`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// 1-based line of the request in the input.
    pub line: usize,
    /// 1-based column (in characters) of the request's path.
    pub column: usize,
    /// The Vault path, without the `@version` suffix.
    pub path: String,
    /// KV v2 version pinned with `@<version>` (at least 1).
    pub version: Option<u64>,
    /// Which key(s) of the secret to export.
    pub selector: Selector,
    /// What to export them as.
    pub target: Target,
}

/// Which keys of the secret's data to export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selector {
    /// One key, exactly as written.
    Key(String),
    /// Every key (`*`).
    All,
}

/// The export name, or how to derive it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// No `| ...`: the name is derived from the key (see `names`).
    Default,
    /// `key | NAME`: exactly this name (already checked with `names::check`).
    Name(String),
    /// `* | PREFIX`: each key's name gets this prefix (already checked with
    /// `names::check_prefix`).
    Prefix(String),
}

/// A mistake in the `secrets` input, located in the original text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("secrets input, line {line}, column {column}: {message}")]
pub struct SpecError {
    /// 1-based line of the mistake.
    pub line: usize,
    /// 1-based column (in characters) of the offending token, or of the place
    /// a missing token was expected.
    pub column: usize,
    /// What was expected and what was found.
    pub message: String,
}

/// Characters allowed in a path besides ASCII letters and digits. Kept small
/// on purpose: everything here is URL-safe as is, so the path can go into the
/// request URL unescaped, and anything else (spaces, `%`, `?`, `#`, `\`,
/// non-ASCII) is far more likely a typo than a real Vault path.
const PATH_PUNCTUATION: &str = "-_.+/=:";

/// More requests than any job needs; each distinct path is one concurrent read.
pub const MAX_REQUESTS: usize = 256;

/// Longer than any real Vault path or key: a longer one is a paste gone wrong, refused before it is
/// sent anywhere (Vault's URL limits would only fail it later, after retries).
const MAX_TOKEN_CHARS: usize = 512;

/// Parses the whole `secrets` input into requests, in input order.
///
/// Stops at the first mistake: later mistakes are usually consequences of it.
pub fn parse(input: &str) -> Result<Vec<Request>, SpecError> {
    let mut requests = Vec::new();
    for (line, text) in (1..).zip(input.split('\n')) {
        for segment in lex_line(text) {
            if let Some(request) = parse_segment(line, &segment)? {
                if requests.len() == MAX_REQUESTS {
                    let message = format!(
                        "expected at most {MAX_REQUESTS} requests; split the secrets over several steps or read \
                         whole secrets with `* | PREFIX`"
                    );
                    return Err(SpecError { line, column: request.column, message });
                }
                requests.push(request);
            }
        }
    }
    Ok(requests)
}

/// A word or a `|`, with its 1-based column in the line.
#[derive(Debug, Clone, Copy)]
struct Token<'a> {
    text: &'a str,
    column: usize,
}

impl Token<'_> {
    fn is_bar(&self) -> bool {
        self.text == "|"
    }

    /// Column just after the token: where a missing next token is reported.
    fn end(&self) -> usize {
        self.column + self.text.chars().count()
    }
}

/// Splits one line into `;`-separated segments of tokens, dropping the
/// comment. Columns are counted here, once, so every later error can point
/// into the original line.
fn lex_line(line: &str) -> Vec<Vec<Token<'_>>> {
    let mut segments = Vec::new();
    let mut current = Vec::new();
    let mut word: Option<(usize, usize)> = None; // (byte start, column)
    for (column, (byte, ch)) in (1..).zip(line.char_indices()) {
        let separator = ch.is_whitespace() || matches!(ch, '|' | ';' | '#');
        if !separator {
            word.get_or_insert((byte, column));
            continue;
        }
        if let Some((start, word_column)) = word.take() {
            current.push(Token { text: &line[start..byte], column: word_column });
        }
        match ch {
            '#' => break,
            ';' => segments.push(std::mem::take(&mut current)),
            '|' => current.push(Token { text: "|", column }),
            _ => {}
        }
    }
    // After a `#` the word was already taken, so this only sees a word that
    // ran to the end of the line.
    if let Some((start, word_column)) = word {
        current.push(Token { text: &line[start..], column: word_column });
    }
    segments.push(current);
    segments
}

/// Parses one `;`-separated segment; `None` when it holds no tokens.
fn parse_segment(line: usize, tokens: &[Token<'_>]) -> Result<Option<Request>, SpecError> {
    let Some(&path_token) = tokens.first() else {
        return Ok(None);
    };
    let at = |column: usize, message: String| SpecError { line, column, message };
    if path_token.is_bar() {
        return Err(at(
            path_token.column,
            "expected a secret path before `|` (got `|`); write `<path> <key> | <NAME>`".into(),
        ));
    }
    let (path, version) = parse_path_token(path_token).map_err(|(c, m)| at(c, m))?;
    let selector_token = match tokens.get(1) {
        Some(token) if !token.is_bar() => *token,
        other => {
            let (column, got) = got_at(path_token, other);
            return Err(at(column, format!("expected a key name or `*` after the path (got {got})")));
        }
    };
    let selector = parse_selector(selector_token).map_err(|(c, m)| at(c, m))?;
    let target = match tokens.get(2) {
        None => Target::Default,
        Some(bar) if bar.is_bar() => parse_target(bar, &tokens[3..], &selector).map_err(|(c, m)| at(c, m))?,
        Some(extra) => {
            return Err(at(
                extra.column,
                format!(
                    "expected `|` or the end of the request after the key (got `{}`); \
                     put each request on its own line or separate them with `;`",
                    names::shown(extra.text)
                ),
            ));
        }
    };
    if selector == Selector::All && target == Target::Default {
        return Err(at(selector_token.end(), UNPREFIXED_WILDCARD.into()));
    }
    Ok(Some(Request { line, column: path_token.column, path, version, selector, target }))
}

/// Why `*` needs a prefix: its names come from the secret's keys, so without one whoever can write to the
/// secret chooses which variables every later step sees. The reserved names cannot list every variable
/// some tool reads; a prefix confines all of them under one name the workflow chose.
const UNPREFIXED_WILDCARD: &str = "expected `| PREFIX` after `*` (e.g. `* | TF_VAR_` or `* | APP_`): \
     without a prefix, the secret's keys would choose the names of variables every later step sees \
     (`TF_REATTACH_PROVIDERS`, `HTTPS_PROXY`, ...), so whoever can write to the secret could redirect \
     them; add a prefix, or name each key on its own line";

/// A located problem inside one token: (column, message).
type Located = (usize, String);

/// Where to report a missing token after `previous`, and how to call what
/// was found instead.
fn got_at(previous: Token<'_>, found: Option<&Token<'_>>) -> (usize, String) {
    match found {
        Some(token) => (token.column, format!("`{}`", names::shown(token.text))),
        None => (previous.end(), "the end of the request".into()),
    }
}

/// Splits `path[@version]` and validates both parts.
fn parse_path_token(token: Token<'_>) -> Result<(String, Option<u64>), Located> {
    let Some((path, version)) = token.text.split_once('@') else {
        check_path(token.text, token.column)?;
        return Ok((token.text.to_owned(), None));
    };
    if path.is_empty() {
        return Err((token.column, format!("expected a secret path before `@` (got `{}`)", names::shown(token.text))));
    }
    check_path(path, token.column)?;
    let at_column = token.column + path.chars().count();
    let version = parse_version(version, at_column)?;
    Ok((path.to_owned(), Some(version)))
}

/// Parses the text after `@`; `at_column` is the column of the `@`.
fn parse_version(text: &str, at_column: usize) -> Result<u64, Located> {
    if text.is_empty() {
        return Err((at_column, "expected a version number after `@` (got the end of the path)".into()));
    }
    let number_column = at_column + 1;
    if !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err((
            number_column,
            format!(
                "expected a positive whole number after `@` (got `{}`); `@` is only \
                 allowed as the KV v2 version separator at the end of the path",
                names::shown(text)
            ),
        ));
    }
    match text.parse::<u64>() {
        Ok(0) => Err((
            number_column,
            "expected a version of 1 or more after `@` (got `0`); KV v2 versions start at 1".into(),
        )),
        Ok(version) => Ok(version),
        Err(_) => Err((
            number_column,
            format!("expected a version number of at most {} (got `{}`)", u64::MAX, names::shown(text)),
        )),
    }
}

/// Checks a path given elsewhere than `secrets` (diagnose's `--writes`) by the same rules.
pub fn check_path_text(path: &str) -> Result<(), String> {
    check_path(path, 1).map_err(|(_, message)| message)
}

/// Path rules: no leading or trailing `/`, only letters, digits and
/// [`PATH_PUNCTUATION`], no empty segment (`//`), and no `.` or `..`
/// segment (Vault does not resolve them like a file system, so they would
/// only ever point somewhere unintended). `column` is the path's first
/// character.
fn check_path(path: &str, column: usize) -> Result<(), Located> {
    check_length("secret path", path, column)?;
    let shown = names::shown(path);
    if path.starts_with('/') {
        return Err((
            column,
            format!(
                "expected a path without a leading `/` (got `{shown}`); start with the \
                 mount, e.g. `{}`",
                names::shown(path.trim_start_matches('/'))
            ),
        ));
    }
    if path.ends_with('/') {
        let last = column + path.chars().count() - 1;
        return Err((last, format!("expected a path without a trailing `/` (got `{shown}`)")));
    }
    if let Some((offset, bad)) =
        path.chars().enumerate().find(|(_, c)| !(c.is_ascii_alphanumeric() || PATH_PUNCTUATION.contains(*c)))
    {
        return Err((
            column + offset,
            format!(
                "expected only letters, digits and `{PATH_PUNCTUATION}` in the secret path \
                 (got `{}` in `{shown}`)",
                bad.escape_debug()
            ),
        ));
    }
    check_segments(path, column)
}

/// The per-segment part of [`check_path`]; the path is ASCII by now, so
/// byte offsets are character offsets.
fn check_segments(path: &str, column: usize) -> Result<(), Located> {
    let mut offset: usize = 0;
    for segment in path.split('/') {
        match segment {
            "" => {
                return Err((
                    column + offset.saturating_sub(1),
                    format!("expected a path without empty segments (got `//` in `{}`)", names::shown(path)),
                ));
            }
            "." | ".." => {
                return Err((
                    column + offset,
                    format!(
                        "expected a path without `.` or `..` segments (got `{segment}` in `{}`); \
                         write the full path",
                        names::shown(path)
                    ),
                ));
            }
            _ => offset += segment.len() + 1,
        }
    }
    Ok(())
}

/// Refuses a path or key longer than [`MAX_TOKEN_CHARS`], quoting only its start.
fn check_length(what: &str, text: &str, column: usize) -> Result<(), Located> {
    let length = text.chars().count();
    if length <= MAX_TOKEN_CHARS {
        return Ok(());
    }
    let message =
        format!("expected a {what} of at most {MAX_TOKEN_CHARS} characters (got {length}: `{}`)", names::shown(text));
    Err((column, message))
}

/// `*` selects every key; anything else is one key, taken literally.
///
/// A key may hold any character except whitespace, `|`, `;`, `#` (the
/// tokenizer already split on those), control characters (never meant, and
/// unsafe to echo into logs) and `*` (reserved for the whole-selector
/// wildcard, so that `db_*` is not silently read as a literal key).
fn parse_selector(token: Token<'_>) -> Result<Selector, Located> {
    if token.text == "*" {
        return Ok(Selector::All);
    }
    check_length("key name", token.text, token.column)?;
    let shown = names::shown(token.text);
    if token.text == "**" {
        return Err((
            token.column,
            "expected a key name or `*` (got `**`); vault-action's `**` (keep the key's \
             case) is not needed here: `* | PREFIX` keeps the case with `naming: default`"
                .into(),
        ));
    }
    for (offset, ch) in token.text.chars().enumerate() {
        if ch == '*' {
            return Err((
                token.column + offset,
                format!(
                    "expected a key name or `*` (got `{shown}`); `*` selects every key \
                     and cannot be part of a key name"
                ),
            ));
        }
        if ch.is_control() {
            return Err((
                token.column + offset,
                format!("expected a key name without control characters (got `{shown}`)"),
            ));
        }
    }
    Ok(Selector::Key(token.text.to_owned()))
}

/// Parses what follows `bar`: exactly one name, checked as a full name
/// after a key and as a prefix after `*`.
fn parse_target(bar: &Token<'_>, rest: &[Token<'_>], selector: &Selector) -> Result<Target, Located> {
    let name = match rest.first() {
        Some(token) if !token.is_bar() => *token,
        Some(second_bar) => {
            return Err((
                second_bar.column,
                "expected a name after `|` (got a second `|`); a request takes at most one `|`".into(),
            ));
        }
        None => {
            let what = match selector {
                Selector::All => "a name prefix such as `TF_VAR_`",
                Selector::Key(_) => "an environment variable name",
            };
            return Err((bar.end(), format!("expected {what} after `|` (got the end of the request)")));
        }
    };
    if let Some(extra) = rest.get(1) {
        let got = if extra.is_bar() {
            "a second `|`; a request takes at most one `|`".to_owned()
        } else {
            format!("`{}`", names::shown(extra.text))
        };
        return Err((
            extra.column,
            format!("expected the end of the request after `{}` (got {got})", names::shown(name.text)),
        ));
    }
    let text = name.text.to_owned();
    match selector {
        Selector::All => {
            names::check_prefix(&text).map(|()| Target::Prefix(text)).map_err(|err| (name.column, err.to_string()))
        }
        Selector::Key(_) => {
            names::check(&text).map(|()| Target::Name(text)).map_err(|err| (name.column, err.to_string()))
        }
    }
}

#[cfg(test)]
mod tests;
