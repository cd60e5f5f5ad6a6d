//! The `secrets` input: which Vault secrets to read and what to export them as.
//!
//! ```text
//! <path>[@<version>] <selector> [| <target>]
//!
//! kvv2/webapp/config db_host                 # -> DB_HOST
//! kvv2/webapp/config api_key | TF_VAR_api_key
//! kvv2/webapp/config *                       # every key
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

/// Parses the whole `secrets` input into requests, in input order.
///
/// Stops at the first mistake: later mistakes are usually consequences of it.
pub fn parse(input: &str) -> Result<Vec<Request>, SpecError> {
    let mut requests = Vec::new();
    for (line, text) in (1..).zip(input.split('\n')) {
        for segment in lex_line(text) {
            if let Some(request) = parse_segment(line, &segment)? {
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
    Ok(Some(Request { line, column: path_token.column, path, version, selector, target }))
}

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

/// Path rules: no leading or trailing `/`, only letters, digits and
/// [`PATH_PUNCTUATION`], no empty segment (`//`), and no `.` or `..`
/// segment (Vault does not resolve them like a file system, so they would
/// only ever point somewhere unintended). `column` is the path's first
/// character.
fn check_path(path: &str, column: usize) -> Result<(), Located> {
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
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn parse_one(input: &str) -> Request {
        let mut requests = parse(input).unwrap();
        assert_eq!(requests.len(), 1, "{requests:?}");
        requests.remove(0)
    }

    /// Parses an input that must fail, checking where and what is reported.
    fn fails(input: &str, line: usize, column: usize, message_start: &str) -> SpecError {
        let err = parse(input).unwrap_err();
        assert_eq!((err.line, err.column), (line, column), "{input:?}: {err}");
        assert!(
            err.message.starts_with(message_start),
            "{input:?}: {:?} does not start with {message_start:?}",
            err.message
        );
        err
    }

    fn key(k: &str) -> Selector {
        Selector::Key(k.into())
    }

    // --- the examples of the grammar ---

    #[test]
    fn parses_every_documented_form() {
        let input = "\
kvv2/webapp/config db_host                 # -> DB_HOST
kvv2/webapp/config api_key | TF_VAR_api_key
kvv2/webapp/config *                       # every key
kvv2/webapp/config * | TF_VAR_             # every key, prefixed
kvv2/webapp/config@3 db_host               # KV v2 version pin
kv/webapp/flat token | FLAT_TOKEN
postgres/creds/webapp password | PGPASSWORD
";
        let got = parse(input).unwrap();
        let expected = [
            ("kvv2/webapp/config", None, key("db_host"), Target::Default),
            ("kvv2/webapp/config", None, key("api_key"), Target::Name("TF_VAR_api_key".into())),
            ("kvv2/webapp/config", None, Selector::All, Target::Default),
            ("kvv2/webapp/config", None, Selector::All, Target::Prefix("TF_VAR_".into())),
            ("kvv2/webapp/config", Some(3), key("db_host"), Target::Default),
            ("kv/webapp/flat", None, key("token"), Target::Name("FLAT_TOKEN".into())),
            ("postgres/creds/webapp", None, key("password"), Target::Name("PGPASSWORD".into())),
        ];
        assert_eq!(got.len(), expected.len());
        for (index, (request, (path, version, selector, target))) in got.iter().zip(expected).enumerate() {
            assert_eq!(request.line, index + 1);
            assert_eq!(request.column, 1);
            assert_eq!(request.path, path);
            assert_eq!(request.version, version);
            assert_eq!(request.selector, selector);
            assert_eq!(request.target, target);
        }
    }

    #[test]
    fn wildcard_with_a_name_is_a_prefix() {
        let request = parse_one("kv/a * | NAME");
        assert_eq!(request.selector, Selector::All);
        assert_eq!(request.target, Target::Prefix("NAME".into()));
        // An exact reserved name is fine as a prefix: it only yields `PATHX`...
        assert_eq!(parse_one("kv/a * | PATH").target, Target::Prefix("PATH".into()));
    }

    #[test]
    fn empty_and_comment_only_inputs_have_no_requests() {
        for input in ["", "\n\n", "   \t  ", "# only a comment", " ; ;; ", "\r\n# x\r\n", ";#;"] {
            assert_eq!(parse(input).unwrap(), vec![], "{input:?}");
        }
    }

    // --- whitespace, separators, comments ---

    #[test]
    fn whitespace_around_tokens_is_free() {
        let request = parse_one(" \t kv/a \t\t key \t|\t NAME \t ");
        assert_eq!((request.line, request.column), (1, 4));
        assert_eq!(request.selector, key("key"));
        assert_eq!(request.target, Target::Name("NAME".into()));
    }

    #[test]
    fn bar_needs_no_spaces() {
        for input in ["kv/a key|NAME", "kv/a key |NAME", "kv/a key| NAME"] {
            let request = parse_one(input);
            assert_eq!(request.selector, key("key"), "{input}");
            assert_eq!(request.target, Target::Name("NAME".into()), "{input}");
        }
        assert_eq!(parse_one("kv/a *|TF_VAR_").target, Target::Prefix("TF_VAR_".into()));
    }

    #[test]
    fn crlf_line_endings_are_accepted() {
        let got = parse("kv/a k\r\nkv/b k2 | NAME\r\n").unwrap();
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].selector, key("k"));
        assert_eq!(got[1].target, Target::Name("NAME".into()));
        assert_eq!((got[1].line, got[1].column), (2, 1));
    }

    #[test]
    fn unicode_whitespace_separates_tokens() {
        let request = parse_one("kv/a\u{00A0}key\u{2003}|\u{3000}NAME");
        assert_eq!(request.selector, key("key"));
        assert_eq!(request.target, Target::Name("NAME".into()));
    }

    #[test]
    fn semicolons_separate_requests_on_one_line() {
        let got = parse("kv/a k1; kv/b k2 | N2 ;kv/c *;").unwrap();
        let columns: Vec<_> = got.iter().map(|r| (r.line, r.column, r.path.as_str())).collect();
        assert_eq!(columns, [(1, 1, "kv/a"), (1, 10, "kv/b"), (1, 24, "kv/c")]);
    }

    #[test]
    fn vault_action_style_input_parses() {
        let input = "
        secret/data/ci/aws accessKey | AWS_ACCESS_KEY_ID ;
        secret/data/ci/aws secretKey | AWS_SECRET_ACCESS_KEY ;
        secret/data/ci npm_token";
        let got = parse(input).unwrap();
        assert_eq!(got.len(), 3);
        assert_eq!((got[0].line, got[0].column), (2, 9));
        assert_eq!(got[2].selector, key("npm_token"));
    }

    #[test]
    fn comments_run_to_the_end_of_the_line() {
        let got = parse("# header ; kv/x y\nkv/a k # trailing ; kv/b k | X\nkv/c k#no space").unwrap();
        let paths: Vec<_> = got.iter().map(|r| (r.line, r.path.as_str())).collect();
        assert_eq!(paths, [(2, "kv/a"), (3, "kv/c")]);
        assert_eq!(got[1].selector, key("k"), "`#` ends the key");
    }

    #[test]
    fn lines_are_counted_across_blank_and_comment_lines() {
        let got = parse("\n# c\n\n   kv/a k\n").unwrap();
        assert_eq!((got[0].line, got[0].column), (4, 4));
    }

    #[test]
    fn keys_are_taken_literally() {
        for k in ["db.host", "clé", "测试", "a-b", "\"quoted\"", "@at", "x=y"] {
            assert_eq!(parse_one(&format!("kv/a {k}")).selector, key(k), "{k}");
        }
    }

    #[test]
    fn allowed_path_punctuation() {
        let request = parse_one("kv-1/a_b.c+d=e:f/a..b/.hidden k");
        assert_eq!(request.path, "kv-1/a_b.c+d=e:f/a..b/.hidden");
    }

    #[test]
    fn version_pins() {
        assert_eq!(parse_one("kv/a@1 k").version, Some(1));
        assert_eq!(parse_one("kv/a@007 k").version, Some(7));
        assert_eq!(parse_one("kv/a@18446744073709551615 k").version, Some(u64::MAX));
        assert_eq!(parse_one("kv/a@3 *").path, "kv/a");
    }

    // --- structural errors ---

    #[test]
    fn missing_selector_at_end() {
        fails("kv/a", 1, 5, "expected a key name or `*` after the path (got the end of the request)");
        fails("kv/a   # comment", 1, 5, "expected a key name or `*` after the path");
        fails("kv/a k; kv/b ;", 1, 13, "expected a key name or `*` after the path");
    }

    #[test]
    fn missing_selector_before_bar() {
        fails("kv/a | NAME", 1, 6, "expected a key name or `*` after the path (got `|`)");
    }

    #[test]
    fn bar_with_nothing_before_it() {
        fails("| NAME", 1, 1, "expected a secret path before `|`");
        fails("kv/a k;  |NAME", 1, 10, "expected a secret path before `|`");
    }

    #[test]
    fn extra_tokens_after_the_key() {
        let err = fails("kv/a key extra", 1, 10, "expected `|` or the end of the request after the key (got `extra`)");
        assert!(err.message.contains("separate them with `;`"));
        fails("kv/a k1 k2 | NAME", 1, 9, "expected `|` or the end of the request");
    }

    #[test]
    fn empty_target_after_bar() {
        fails("kv/a key |", 1, 11, "expected an environment variable name after `|` (got the end of the request)");
        fails("kv/a key |   # c", 1, 11, "expected an environment variable name after `|`");
        fails("kv/a key |; kv/b k", 1, 11, "expected an environment variable name after `|`");
        fails("kv/a * |", 1, 9, "expected a name prefix such as `TF_VAR_` after `|`");
    }

    #[test]
    fn second_bar() {
        fails("kv/a k | A | B", 1, 12, "expected the end of the request after `A` (got a second `|`");
        fails("kv/a k || A", 1, 9, "expected a name after `|` (got a second `|`)");
        fails("kv/a k | A |", 1, 12, "expected the end of the request after `A` (got a second `|`");
    }

    #[test]
    fn extra_tokens_after_the_target() {
        fails("kv/a k | A B", 1, 12, "expected the end of the request after `A` (got `B`)");
    }

    // --- version errors ---

    #[test]
    fn version_missing_after_at() {
        fails("kv/a@ k", 1, 5, "expected a version number after `@` (got the end of the path)");
    }

    #[test]
    fn version_zero() {
        fails("kv/a@0 k", 1, 6, "expected a version of 1 or more after `@` (got `0`)");
    }

    #[test]
    fn version_not_a_number() {
        fails("kv/a@x k", 1, 6, "expected a positive whole number after `@` (got `x`)");
        fails("kv/a@+3 k", 1, 6, "expected a positive whole number after `@` (got `+3`)");
        fails("kv/a@-1 k", 1, 6, "expected a positive whole number after `@` (got `-1`)");
        fails("kv/a@3@4 k", 1, 6, "expected a positive whole number after `@` (got `3@4`)");
        let err = fails("kv/a@b/c k", 1, 6, "expected a positive whole number after `@` (got `b/c`)");
        assert!(err.message.contains("only allowed as the KV v2 version separator"));
    }

    #[test]
    fn version_too_large() {
        fails("kv/a@18446744073709551616 k", 1, 6, "expected a version number of at most 18446744073709551615");
    }

    #[test]
    fn version_on_nothing() {
        fails("@3 k", 1, 1, "expected a secret path before `@` (got `@3`)");
        fails("  @ k", 1, 3, "expected a secret path before `@` (got `@`)");
    }

    // --- path errors ---

    #[test]
    fn path_leading_slash() {
        let err = fails("/kv/a k", 1, 1, "expected a path without a leading `/` (got `/kv/a`)");
        assert!(err.message.contains("e.g. `kv/a`"));
    }

    #[test]
    fn path_trailing_slash() {
        fails("kv/a/ k", 1, 5, "expected a path without a trailing `/` (got `kv/a/`)");
        fails("kv/a/@2 k", 1, 5, "expected a path without a trailing `/`");
    }

    #[test]
    fn path_empty_segment() {
        fails("kv//a k", 1, 3, "expected a path without empty segments (got `//` in `kv//a`)");
    }

    #[test]
    fn path_dot_segments() {
        fails("kv/../a k", 1, 4, "expected a path without `.` or `..` segments (got `..`");
        fails("kv/. k", 1, 4, "expected a path without `.` or `..` segments (got `.`");
        fails("../kv k", 1, 1, "expected a path without `.` or `..` segments");
    }

    #[test]
    fn path_invalid_characters() {
        fails("kv/a?b k", 1, 5, "expected only letters, digits and `-_.+/=:` in the secret path (got `?` in `kv/a?b`)");
        fails("kv/a%20 k", 1, 5, "expected only letters, digits");
        fails("kv/a\\b k", 1, 5, "expected only letters, digits");
        fails("kv/é k", 1, 4, "expected only letters, digits and `-_.+/=:` in the secret path (got `é`");
        fails("kv/a\u{1}b k", 1, 5, "expected only letters, digits and `-_.+/=:` in the secret path (got `\\u{1}`");
    }

    // --- selector errors ---

    #[test]
    fn double_star_is_explained() {
        let err = fails("kv/a ** | X_", 1, 6, "expected a key name or `*` (got `**`)");
        assert!(err.message.contains("`* | PREFIX` keeps the case"));
    }

    #[test]
    fn star_inside_a_key() {
        fails("kv/a db_* ", 1, 9, "expected a key name or `*` (got `db_*`)");
        fails("kv/a *x", 1, 6, "expected a key name or `*` (got `*x`)");
    }

    #[test]
    fn control_characters_in_a_key() {
        let err = fails("kv/a k\u{1b}[31m", 1, 7, "expected a key name without control characters");
        assert!(!err.message.contains('\u{1b}'));
    }

    // --- target errors ---

    #[test]
    fn invalid_names_are_located() {
        fails("kv/a k | 1X", 1, 10, "export name `1X` starts with a digit");
        fails("kv/a k | db-host", 1, 10, "export name `db-host` contains `-`");
        let err = fails("kv/a clé | 1X", 1, 12, "export name `1X`");
        assert!(err.to_string().starts_with("secrets input, line 1, column 12: "), "columns count characters");
    }

    #[test]
    fn reserved_names_are_refused_with_position() {
        let err = fails("kv/a k | PATH", 1, 10, "export name `PATH` is refused");
        assert!(err.message.ends_with("choose another name with \"| NAME\""));
        fails("kv/a k | path", 1, 10, "export name `path` is refused");
        fails("kv/a k | VAULT_TOKEN", 1, 10, "export name `VAULT_TOKEN` is refused");
    }

    #[test]
    fn invalid_prefixes_are_refused_with_position() {
        let err = fails("kv/a * | GITHUB_", 1, 10, "name prefix `GITHUB_` is refused");
        assert!(err.message.ends_with("choose another prefix with \"* | PREFIX\""));
        fails("kv/a * | TF-VAR", 1, 10, "name prefix `TF-VAR` contains `-`");
        fails("kv/a * | 1_", 1, 10, "name prefix `1_` starts with a digit");
    }

    // --- error reporting ---

    #[test]
    fn display_names_input_line_and_column() {
        let err = parse("kv/a k\n\nkv/b k | NAME extra").unwrap_err();
        assert_eq!(
            err.to_string(),
            "secrets input, line 3, column 15: expected the end of the request after `NAME` (got `extra`)"
        );
    }

    #[test]
    fn first_mistake_is_reported() {
        fails("kv/a\nkv/b k | 1X", 1, 5, "expected a key name");
    }

    #[test]
    fn long_tokens_are_shortened_in_messages() {
        let input = format!("kv/a k {}", "x".repeat(10_000));
        let err = parse(&input).unwrap_err();
        assert!(err.message.len() < 300, "{}", err.message.len());
    }

    #[test]
    fn huge_lines_are_handled() {
        let path = "a".repeat(1_000_000);
        let err = parse(&path).unwrap_err();
        assert_eq!(err.column, 1_000_001);
        let many = "kv/a k;".repeat(100_000);
        assert_eq!(parse(&many).unwrap().len(), 100_000);
    }

    // --- properties ---

    /// Text drawn mostly from the grammar's own characters, so that both
    /// valid requests and every kind of mistake come up.
    fn grammarish() -> impl Strategy<Value = String> {
        proptest::collection::vec(
            prop_oneof![
                4 => "[a-z]{1,4}",
                1 => Just("/".to_owned()),
                1 => Just(" ".to_owned()),
                1 => Just("\t".to_owned()),
                1 => Just("|".to_owned()),
                1 => Just(";".to_owned()),
                1 => Just("#".to_owned()),
                1 => Just("@".to_owned()),
                1 => Just("*".to_owned()),
                1 => Just("\n".to_owned()),
                1 => Just("\r\n".to_owned()),
                1 => "[0-9]{1,3}",
                1 => "[A-Z_]{1,5}",
                1 => "[é测\u{a0}\u{1}\u{2028}.\\-]",
            ],
            0..40,
        )
        .prop_map(|parts| parts.concat())
    }

    /// Lines that are mostly valid requests, mixed with grammar-ish noise,
    /// so that `Ok` results (and late-in-the-line errors) are common.
    fn requestish() -> impl Strategy<Value = String> {
        let line = "[ \t]{0,2}[a-z]{1,3}(/[a-z][a-z.]{0,2}){0,2}(@[0-9]{1,2})?[ \t]{1,2}\
                    ([a-z_é]{1,4}|\\*)([ \t]{0,2}\\|[ \t]{0,2}[A-Za-z_][A-Za-z0-9_]{0,4})?\
                    [ \t]{0,2}(#[^\n]{0,5}|;)?";
        proptest::collection::vec(prop_oneof![4 => line.boxed(), 1 => grammarish().boxed()], 0..5)
            .prop_map(|lines| lines.join("\n"))
    }

    fn arbitrary_input() -> impl Strategy<Value = String> {
        prop_oneof![any::<String>(), grammarish(), requestish(), requestish(), "\\PC{0,2000}", ".{0,200}",]
    }

    /// The `line`-th line (1-based) of the input, as `parse` splits it.
    fn nth_line(input: &str, line: usize) -> Option<&str> {
        input.split('\n').nth(line.checked_sub(1)?)
    }

    proptest! {
        #[test]
        fn parse_never_panics(input in arbitrary_input()) {
            let _ = parse(&input);
        }

        #[test]
        fn positions_point_into_the_input(input in arbitrary_input()) {
            match parse(&input) {
                Ok(requests) => {
                    for request in requests {
                        let line = nth_line(&input, request.line);
                        prop_assert!(line.is_some(), "line {} outside {:?}", request.line, input);
                        let rest: String = line
                            .unwrap_or_default()
                            .chars()
                            .skip(request.column - 1)
                            .collect();
                        prop_assert!(
                            rest.starts_with(&request.path),
                            "{:?} at {}:{} does not start with {:?}",
                            input, request.line, request.column, request.path
                        );
                    }
                }
                Err(err) => {
                    let line = nth_line(&input, err.line);
                    prop_assert!(line.is_some(), "error line {} outside {:?}", err.line, input);
                    let width = line.unwrap_or_default().chars().count();
                    prop_assert!(err.column >= 1 && err.column <= width + 1, "{}", err);
                    prop_assert!(!err.to_string().contains('\n'), "{}", err);
                }
            }
        }

        #[test]
        fn rendered_requests_parse_back(
            requests in proptest::collection::vec(parts(), 1..6),
            layout in proptest::collection::vec(layout(), 6),
        ) {
            let (input, positions) = render(&requests, &layout);
            let parsed = parse(&input);
            prop_assert!(parsed.is_ok(), "{:?}: {:?}", input, parsed);
            let parsed = parsed.unwrap_or_default();
            prop_assert_eq!(parsed.len(), requests.len(), "{:?}", input);
            for ((request, expected), position) in parsed.iter().zip(&requests).zip(&positions) {
                prop_assert_eq!(&request.path, &expected.path);
                prop_assert_eq!(request.version, expected.version);
                prop_assert_eq!(&request.selector, &expected.selector);
                prop_assert_eq!(&request.target, &expected.target);
                prop_assert_eq!((request.line, request.column), *position, "{:?}", input);
            }
        }
    }

    /// The parts of one valid request.
    #[derive(Debug, Clone)]
    struct Parts {
        path: String,
        version: Option<u64>,
        selector: Selector,
        target: Target,
    }

    /// How one request is laid out: whitespace choices, how it is separated
    /// from the next one, and whether a comment follows.
    #[derive(Debug, Clone)]
    struct Layout {
        before: String,
        between: String,
        around_bar: (String, String),
        after: String,
        semicolon: bool,
        comment: bool,
        blank_lines: usize,
    }

    fn parts() -> impl Strategy<Value = Parts> {
        let segment = "[A-Za-z0-9_+=:\\-][A-Za-z0-9_.+=:\\-]{0,8}";
        let path = proptest::collection::vec(segment, 1..4).prop_map(|s| s.join("/"));
        let version = proptest::option::of(1..=u64::MAX);
        let selector = prop_oneof![
            1 => Just(Selector::All),
            3 => prop_oneof!["[A-Za-z0-9_.\\-]{1,12}", "\\p{L}{1,6}", "[!-~&&[^*|;#]]{1,8}"]
                .prop_map(Selector::Key),
        ];
        (path, version, selector).prop_flat_map(|(path, version, selector)| {
            let name = "[A-Za-z_][A-Za-z0-9_]{0,12}";
            let target = match selector {
                Selector::All => prop_oneof![
                    Just(Target::Default),
                    name.prop_filter("usable prefix", |p| names::check_prefix(p).is_ok()).prop_map(Target::Prefix),
                ]
                .boxed(),
                Selector::Key(_) => prop_oneof![
                    Just(Target::Default),
                    name.prop_filter("usable name", |n| names::check(n).is_ok()).prop_map(Target::Name),
                ]
                .boxed(),
            };
            (Just(path), Just(version), Just(selector), target).prop_map(|(path, version, selector, target)| Parts {
                path,
                version,
                selector,
                target,
            })
        })
    }

    fn layout() -> impl Strategy<Value = Layout> {
        let maybe = "[ \t]{0,3}";
        let some = "[ \t]{1,3}";
        (maybe, some, (maybe, maybe), maybe, any::<bool>(), any::<bool>(), 0..3usize).prop_map(
            |(before, between, around_bar, after, semicolon, comment, blank_lines)| Layout {
                before,
                between,
                around_bar,
                after,
                semicolon,
                comment,
                blank_lines,
            },
        )
    }

    /// Writes the requests out and records where each path starts.
    fn render(requests: &[Parts], layouts: &[Layout]) -> (String, Vec<(usize, usize)>) {
        let mut input = String::new();
        let mut positions = Vec::new();
        for (parts, layout) in requests.iter().zip(layouts.iter().cycle()) {
            input.push_str(&layout.before);
            let line = input.matches('\n').count() + 1;
            let column = input.rsplit('\n').next().unwrap_or_default().chars().count() + 1;
            positions.push((line, column));
            input.push_str(&parts.path);
            if let Some(version) = parts.version {
                input.push_str(&format!("@{version}"));
            }
            input.push_str(&layout.between);
            input.push_str(match &parts.selector {
                Selector::All => "*",
                Selector::Key(k) => k,
            });
            if let Target::Name(name) | Target::Prefix(name) = &parts.target {
                input.push_str(&format!("{}|{}{name}", layout.around_bar.0, layout.around_bar.1));
            }
            input.push_str(&layout.after);
            if layout.semicolon {
                input.push(';');
            } else {
                if layout.comment {
                    input.push_str(" # a comment; with | symbols * @0");
                }
                input.push_str(&"\n".repeat(layout.blank_lines + 1));
            }
        }
        (input, positions)
    }
}
