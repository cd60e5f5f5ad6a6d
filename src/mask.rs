//! What to register with `::add-mask::` for one secret value.
//!
//! Runners mask by plain substring replacement, and most of them only know the
//! exact strings they were given: legacy Gitea act_runner and Forgejo match row
//! by row, so a multi-line mask never matches, and only Gitea runner ≥ v3.0.0
//! derives encoded forms on its own (runner-semantics.md §4.3). So we derive,
//! for every secret, each line and the encodings a tool is likely to print
//! (JSON string, URL component, base64), and register them all ourselves.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

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
        match check_mask(candidate) {
            Ok(mask) if !self.masks.iter().any(|m| m == mask) => self.masks.push(mask.to_owned()),
            Ok(_) | Err(Unmaskable::Blank | Unmaskable::MultiLine) => {}
            Err(Unmaskable::TooShort) => self.too_short = true,
        }
    }
}

/// Every string to pass to `::add-mask::` so that `value` cannot appear in a
/// runner log in any common form.
///
/// In order: each line of the value (for a single-line value, the value
/// itself), then its JSON-escaped, Go-JSON-escaped, form-urlencoded,
/// percent-encoded and base64 forms. Lines are split on `\n` and on `\r`, so
/// CRLF values and stray carriage returns never leak into a mask. Encoded
/// forms are of the whole value and are single-line by construction.
pub fn mask_forms(value: &str) -> MaskPlan {
    let mut plan = MaskPlan::default();
    for line in value.split(['\n', '\r']) {
        plan.admit(line);
    }
    for form in encoded_forms(value) {
        plan.admit(&form);
    }
    plan
}

/// The encodings of `value` that tools commonly print and that act-based
/// runners other than Gitea ≥ v3.0.0 do not derive on their own.
fn encoded_forms(value: &str) -> Vec<String> {
    let json = json_escaped(value);
    let go_json = go_json_escaped(&json);
    vec![json, go_json, form_urlencoded(value), uri_component(value), STANDARD.encode(value)]
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

/// `application/x-www-form-urlencoded` (space as `+`): query strings and
/// form bodies, e.g. a password in a logged request URL.
fn form_urlencoded(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

/// RFC 3986 percent-encoding of everything but unreserved characters (space
/// as `%20`): what `encodeURIComponent`, .NET `Uri.EscapeDataString` and
/// userinfo in connection strings (`postgres://u:p%40ss@h`) produce.
fn uri_component(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn masks(value: &str) -> Vec<String> {
        mask_forms(value).masks
    }

    #[test]
    fn check_mask_trims_and_rejects() {
        assert_eq!(check_mask("  abc \t"), Ok("abc"));
        assert_eq!(check_mask(""), Err(Unmaskable::Blank));
        assert_eq!(check_mask(" \t "), Err(Unmaskable::Blank));
        assert_eq!(check_mask("ab"), Err(Unmaskable::TooShort));
        assert_eq!(check_mask(" é é "), Ok("é é"));
        assert_eq!(check_mask("éé"), Err(Unmaskable::TooShort));
        assert_eq!(check_mask("abc\ndef"), Err(Unmaskable::MultiLine));
        assert_eq!(check_mask("abc\rdef"), Err(Unmaskable::MultiLine));
        assert_eq!(check_mask("abc\n"), Ok("abc"));
    }

    #[test]
    fn plain_token_has_value_and_base64_only() {
        // Vault tokens are URL- and JSON-safe, so those forms deduplicate away.
        assert_eq!(masks("hvs.CAESIabc_-"), vec!["hvs.CAESIabc_-", "aHZzLkNBRVNJYWJjXy0="]);
    }

    #[test]
    fn single_line_value_is_trimmed() {
        assert_eq!(masks("  s3cret  ")[0], "s3cret");
    }

    #[test]
    fn multi_line_value_masks_each_line_not_the_whole() {
        let plan = mask_forms("line-one\r\nline-two\n\nline-three\n");
        assert_eq!(&plan.masks[..3], ["line-one", "line-two", "line-three"]);
        assert!(plan.masks.iter().all(|m| !m.contains(['\n', '\r'])));
        assert!(!plan.too_short);
    }

    #[test]
    fn json_escaped_form_when_it_differs() {
        let plan = masks("pa\"ss\\word");
        assert!(plan.contains(&"pa\\\"ss\\\\word".to_owned()));
        let multi = masks("ab c\nd\tef");
        assert!(multi.contains(&"ab c\\nd\\tef".to_owned()));
    }

    #[test]
    fn go_json_form_escapes_html_characters() {
        let plan = masks("a<b>&c");
        assert!(plan.contains(&"a\\u003cb\\u003e\\u0026c".to_owned()));
    }

    #[test]
    fn url_forms_cover_plus_and_percent20_spaces() {
        let plan = masks("p@ss w~rd*");
        assert!(plan.contains(&"p%40ss+w%7Erd*".to_owned()), "{:?}", plan);
        assert!(plan.contains(&"p%40ss%20w~rd%2A".to_owned()), "{:?}", plan);
    }

    #[test]
    fn base64_of_the_whole_value() {
        assert!(masks("abc\ndef").contains(&"YWJjCmRlZg==".to_owned()));
    }

    #[test]
    fn forms_are_deduplicated() {
        let plan = masks("same\nsame\nsame");
        assert_eq!(plan.iter().filter(|m| *m == "same").count(), 1);
    }

    #[test]
    fn short_lines_are_dropped_and_reported() {
        let plan = mask_forms("abcdef\nxy\n   \n");
        assert!(plan.too_short);
        assert!(!plan.masks.contains(&"xy".to_owned()));
        assert!(plan.masks.contains(&"abcdef".to_owned()));
        // A blank line is not a secret, so it is not reported as too short.
        assert!(!mask_forms("abcdef\n   \n").too_short);
    }

    #[test]
    fn short_value_still_masks_its_base64() {
        let plan = mask_forms("ab");
        assert!(plan.too_short);
        assert_eq!(plan.masks, vec!["YWI="]);
    }

    #[test]
    fn empty_value_has_nothing_to_mask() {
        assert_eq!(mask_forms(""), MaskPlan::default());
    }

    #[test]
    fn debug_does_not_print_secrets() {
        let text = format!("{:?}", mask_forms("hunter2-secret"));
        assert!(!text.contains("hunter2"), "{text}");
    }

    proptest! {
        #[test]
        fn every_mask_is_safe_and_every_line_is_covered(value in "(?s).{0,80}") {
            let plan = mask_forms(&value);
            for mask in &plan.masks {
                prop_assert!(!mask.is_empty());
                prop_assert!(!mask.contains(['\n', '\r']));
                prop_assert_eq!(mask.trim(), mask.as_str());
                prop_assert!(mask.chars().count() >= MIN_MASK_CHARS);
            }
            for line in value.split(['\n', '\r']) {
                let line = line.trim();
                if line.chars().count() >= MIN_MASK_CHARS {
                    prop_assert!(plan.masks.iter().any(|m| m == line), "line {:?} not covered", line);
                } else if !line.is_empty() {
                    prop_assert!(plan.too_short);
                }
            }
            let mut unique = plan.masks.clone();
            unique.sort();
            unique.dedup();
            prop_assert_eq!(unique.len(), plan.masks.len());
        }
    }
}
