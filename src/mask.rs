//! What to register with `::add-mask::` for one secret value.
//!
//! Runners mask by plain substring replacement, and most of them only know the
//! exact strings they were given: legacy Gitea act_runner and Forgejo match row
//! by row, so a multi-line mask never matches, and only Gitea runner ≥ v3.0.0
//! derives encoded forms on its own (docs/runner-facts.md §3). So we derive,
//! for every secret, each line and the encodings a tool is likely to print
//! (JSON string, URL component, base64), and register them all ourselves.
//!
//! How many masks one secret costs, so that nobody has to count: a
//! single-line value gets the value itself and 2–3 base64 forms, plus one mask
//! per JSON or URL escaping that changes it (5 at most; a plain ASCII token
//! has none). A value over 57 bytes gets one more mask per 76 base64
//! characters (the lines `base64` wraps at), a multi-line value one per line,
//! a JSON document the same again for each string leaf, and a read holding a
//! username and a password 2–3 more for their Basic-auth base64.

use std::fmt::Write as _;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde_json::{Map, Value};

/// Shortest mask we emit, in characters after trimming whitespace.
///
/// Shorter masks replace common substrings all over the log (an empty mask
/// garbles every position on legacy Gitea), and the toolkit docs warn against
/// them. Note that one Forgejo reporter version ignores masks of 3 bytes or
/// less, so a 3-character line may still show there.
pub const MIN_MASK_CHARS: usize = 3;

/// Why a string cannot be passed to `::add-mask::`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unmaskable {
    /// Empty or whitespace only: nothing secret to hide, and an empty mask
    /// garbles the whole log on legacy Gitea.
    Blank,
    /// Fewer than [`MIN_MASK_CHARS`] characters after trimming.
    TooShort,
    /// Contains `\n` or `\r` inside: line-based maskers never match it, so
    /// each line must be registered on its own (see [`mask_forms`]).
    MultiLine,
}

/// Checks one mask candidate and returns the form to emit.
///
/// The result is trimmed of surrounding whitespace: masks are substring
/// replacements, so the trimmed form hides strictly more than the untrimmed
/// one, and runners trim command lines anyway.
pub fn check_mask(candidate: &str) -> Result<&str, Unmaskable> {
    let trimmed = candidate.trim();
    if trimmed.contains(['\n', '\r']) {
        Err(Unmaskable::MultiLine)
    } else if trimmed.is_empty() {
        Err(Unmaskable::Blank)
    } else if trimmed.chars().count() < MIN_MASK_CHARS {
        Err(Unmaskable::TooShort)
    } else {
        Ok(trimmed)
    }
}

/// The masks to emit for one secret, in the order to emit them.
///
/// `Debug` is written by hand so that logging a plan never prints a secret.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct MaskPlan {
    /// Distinct, single-line, trimmed strings of at least [`MIN_MASK_CHARS`]
    /// characters; pass each to `::add-mask::`.
    pub masks: Vec<String>,
    /// Some non-blank part of the value (a line, usually) was too short to
    /// mask; the caller should warn that it may show in the log.
    pub too_short: bool,
}

impl std::fmt::Debug for MaskPlan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MaskPlan")
            .field("masks", &format_args!("[{} redacted]", self.masks.len()))
            .field("too_short", &self.too_short)
            .finish()
    }
}

impl MaskPlan {
    /// Adds a candidate if it is maskable and new; records a too-short one.
    fn admit(&mut self, candidate: &str) {
        if check_mask(candidate) == Err(Unmaskable::TooShort) {
            self.too_short = true;
        }
        self.admit_derived(candidate);
    }

    /// Adds a candidate if it is maskable and new, silently dropping a short
    /// one: the tail of a wrapped base64 or a two-letter JSON field shows at
    /// most a byte or two, and warning about it would drown the warnings that
    /// matter.
    fn admit_derived(&mut self, candidate: &str) {
        if let Ok(mask) = check_mask(candidate)
            && !self.masks.iter().any(|m| m == mask)
        {
            self.masks.push(mask.to_owned());
        }
    }

    /// Each line and each encoding of `text`, short ones dropped silently.
    fn admit_all_forms(&mut self, text: &str) {
        for line in text.split(['\n', '\r']) {
            self.admit_derived(line);
        }
        for form in encoded_forms(text) {
            self.admit_derived(&form);
        }
    }
}

/// Every string to pass to `::add-mask::` so that `value` cannot appear in a
/// runner log in any common form.
///
/// In order: each line of the value (for a single-line value, the value
/// itself), then its encodings (see [`encoded_forms`]). Lines are split on `\n`
/// and on `\r`, so CRLF values and stray carriage returns never leak into a
/// mask. Encoded forms are of the whole value and are single-line by
/// construction. A value that is a JSON object or array also gets every form of
/// each string leaf, since `jq -r .password` prints a leaf unescaped, and of
/// its username and password pair (see [`credentials`]).
pub fn mask_forms(value: &str) -> MaskPlan {
    let mut plan = MaskPlan::default();
    for line in value.split(['\n', '\r']) {
        plan.admit(line);
    }
    for form in encoded_forms(value) {
        plan.admit_derived(&form);
    }
    if let Some(document) = json_document(value) {
        for leaf in string_leaves(&document) {
            plan.admit_all_forms(leaf);
        }
        if let Some(pair) = document.as_object().and_then(credentials) {
            for form in credential_forms(&pair).masks {
                plan.admit_derived(&form);
            }
        }
    }
    plan
}

/// The masks for a `user:password` pair: its base64 forms only, as HTTP
/// Basic auth and docker's `auth` field carry it. The pair's plain and escaped
/// forms contain the password's, which are masked already.
pub fn credential_forms(pair: &str) -> MaskPlan {
    let mut plan = MaskPlan::default();
    for form in base64_forms(pair) {
        plan.admit_derived(&form);
    }
    plan
}

/// Keys that hold a login name, compared without case: Vault's database and
/// RabbitMQ engines answer `username`, KV secrets use all three.
const USER_KEYS: [&str; 3] = ["username", "user", "login"];
/// Keys that hold its password, compared without case.
const PASSWORD_KEYS: [&str; 2] = ["password", "pass"];

/// `user:password` when one read (or one JSON document) holds both as
/// strings: a later step that builds a Basic-auth header or a docker config
/// prints its base64, in which the password's own base64 does not appear.
pub fn credentials(data: &Map<String, Value>) -> Option<String> {
    let find = |keys: &[&str]| {
        data.iter().find(|(key, _)| keys.iter().any(|k| key.eq_ignore_ascii_case(k))).and_then(|(_, v)| v.as_str())
    };
    Some(format!("{}:{}", find(&USER_KEYS)?, find(&PASSWORD_KEYS)?))
}

/// The value parsed, if it is a JSON object or array (a KV map read as one
/// value, a service-account key); a bare JSON string or number is just text.
fn json_document(value: &str) -> Option<Value> {
    if !value.trim_start().starts_with(['{', '[']) {
        return None;
    }
    serde_json::from_str(value).ok().filter(|v: &Value| v.is_object() || v.is_array())
}

/// Every string in a JSON document, at any depth; keys are names, not secrets.
fn string_leaves(value: &Value) -> Vec<&str> {
    match value {
        Value::String(s) => vec![s.as_str()],
        Value::Array(items) => items.iter().flat_map(string_leaves).collect(),
        Value::Object(map) => map.values().flat_map(string_leaves).collect(),
        _ => Vec::new(),
    }
}

/// The encodings of `value` that tools commonly print and that act-based
/// runners other than Gitea ≥ v3.0.0 do not derive on their own: JSON string
/// (serde and JavaScript, Go, Python), form-urlencoded, percent-encoded, and
/// base64 (see [`base64_forms`]).
fn encoded_forms(value: &str) -> Vec<String> {
    let json = json_escaped(value);
    let (go_json, ascii_json) = (go_json_escaped(&json), ascii_json_escaped(&json));
    let mut forms = vec![json, go_json, ascii_json];
    forms.push(url::form_urlencoded::byte_serialize(value.as_bytes()).collect());
    forms.push(utf8_percent_encode(value, URI_COMPONENT).to_string());
    forms.extend(base64_forms(value));
    forms
}

/// The inside of the JSON string literal for `value`, as serde_json and
/// JavaScript's `JSON.stringify` write it (a secret inside a JSON document).
fn json_escaped(value: &str) -> String {
    let literal = serde_json::Value::from(value).to_string();
    literal.strip_prefix('"').and_then(|inner| inner.strip_suffix('"')).map_or(literal.clone(), str::to_owned)
}

/// The JSON form Go's `encoding/json` writes by default, which also escapes
/// `<`, `>`, `&`, U+2028 and U+2029: OpenTofu and most Go tools print JSON
/// this way.
fn go_json_escaped(json: &str) -> String {
    json.replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
        .replace('\u{2028}', "\\u2028")
        .replace('\u{2029}', "\\u2029")
}

/// The JSON form of Python's `json.dumps` (and `jq -a`): every character
/// outside printable ASCII as lowercase `\uXXXX`, astral ones as a surrogate
/// pair. Other control characters are escaped in `json` already.
fn ascii_json_escaped(json: &str) -> String {
    let mut out = String::with_capacity(json.len());
    for c in json.chars() {
        if c.is_ascii() && !c.is_ascii_control() {
            out.push(c);
        } else {
            for unit in c.encode_utf16(&mut [0; 2]) {
                let _ = write!(out, "\\u{unit:04x}");
            }
        }
    }
    out
}

/// RFC 3986 unreserved characters: what `encodeURIComponent`, .NET
/// `Uri.EscapeDataString` and userinfo in connection strings
/// (`postgres://u:p%40ss@h`) leave as they are (space as `%20`).
const URI_COMPONENT: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

/// Where `base64` (coreutils) wraps its output by default.
const BASE64_LINE: usize = 76;

/// The base64 a later step prints: of the value (`printf %s`, `base64 -w0`,
/// Kubernetes secrets), of the value and a newline (`echo "$S" | base64`), and
/// URL-safe (JWT-style). Unpadded: a mask hides every match of itself, so the
/// unpadded form hides the padded one too, and also what strips the padding.
/// When the encoding is longer than a line of `base64`, each wrapped line as
/// printed, padding included (a two-letter last line is still a mask); the
/// value's and the value-and-newline's lines differ only in the last one.
fn base64_forms(value: &str) -> Vec<String> {
    let encodings = [STANDARD.encode(value), STANDARD.encode(format!("{value}\n"))];
    let mut forms: Vec<String> = encodings.iter().map(|e| e.trim_end_matches('=').to_owned()).collect();
    forms.push(URL_SAFE_NO_PAD.encode(value));
    for encoding in encodings.iter().filter(|e| e.len() > BASE64_LINE) {
        forms.extend(encoding.as_bytes().chunks(BASE64_LINE).map(|line| String::from_utf8_lossy(line).into_owned()));
    }
    forms
}

#[cfg(test)]
mod tests;
