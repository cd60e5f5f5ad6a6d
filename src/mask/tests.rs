use base64::engine::general_purpose::URL_SAFE;
use proptest::prelude::*;
use serde_json::json;

use super::*;

fn masks(value: &str) -> Vec<String> {
    mask_forms(value).masks
}

/// What coreutils `base64` prints for `bytes`: wrapped at 76 columns, newline-terminated.
fn coreutils_base64(bytes: &str) -> String {
    let encoded = STANDARD.encode(bytes);
    let lines: Vec<&str> = encoded.as_bytes().chunks(76).map(|l| std::str::from_utf8(l).unwrap()).collect();
    format!("{}\n", lines.join("\n"))
}

/// `output` as a runner shows it once `masks` are registered: each line with every mask replaced, the
/// longest first.
fn shown(masks: &[String], output: &str) -> String {
    let mut sorted: Vec<&String> = masks.iter().collect();
    sorted.sort_by_key(|m| std::cmp::Reverse(m.len()));
    let lines = output.split('\n').map(|line| sorted.iter().fold(line.to_owned(), |l, m| l.replace(m.as_str(), "***")));
    lines.collect::<Vec<_>>().join("\n")
}

/// Whether nothing of `output` shows but `***`, base64 padding and line breaks.
fn hidden(masks: &[String], output: &str) -> bool {
    // Base64 has no `*`: whatever is left besides the masks' stars shows some of the secret.
    shown(masks, output).chars().all(|c| matches!(c, '*' | '=') || c.is_whitespace())
}

/// Every base64 a later step is likely to print for `text`.
fn base64_outputs(text: &str) -> Vec<(&'static str, String)> {
    vec![
        ("echo | base64", coreutils_base64(&format!("{text}\n"))),
        ("printf | base64", coreutils_base64(text)),
        ("base64 -w0", STANDARD.encode(text)),
        ("unpadded", STANDARD.encode(text).trim_end_matches('=').to_owned()),
        ("URL-safe", URL_SAFE.encode(text)),
        ("URL-safe unpadded", URL_SAFE_NO_PAD.encode(text)),
    ]
}

fn assert_hidden(masks: &[String], text: &str) {
    for (how, output) in base64_outputs(text) {
        assert!(hidden(masks, &output), "{how} of {text:?} shows: {:?}", shown(masks, &output));
    }
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
    // Its URL-safe base64 is its base64, and the padded base64 is hidden by the unpadded mask.
    assert_eq!(masks("hvs.CAESIabc_-"), vec!["hvs.CAESIabc_-", "aHZzLkNBRVNJYWJjXy0", "aHZzLkNBRVNJYWJjXy0K"]);
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
    assert!(masks("abc\ndef").contains(&"YWJjCmRlZg".to_owned()));
}

#[test]
fn every_base64_a_step_prints_is_hidden() {
    let long = "k".repeat(57 * 3 - 1);
    let pem = "-----BEGIN KEY-----\nMIIBOgIBAAJBAKj34GkxFhD90vcNLYLInFEX6Ppy1tPf\nAKj34GkxFhD90vcNLYLInFEX6Ppy1tPfMIIBOgIBAAJB\n-----END KEY-----\n";
    for value in ["s3cr3t-Pa55", "pässwörd-日本語-🔑", "a>b?c~", "abc", pem, &long, &"x".repeat(57)] {
        assert_hidden(&masks(value), value);
    }
}

#[test]
fn echo_into_base64_is_hidden_for_a_short_value() {
    // `echo "$S" | base64` encodes the newline too, so the last group differs from the value's base64.
    let plan = masks("hunter2");
    assert_eq!(coreutils_base64("hunter2\n"), "aHVudGVyMgo=\n");
    assert!(plan.contains(&"aHVudGVyMgo".to_owned()), "{plan:?}");
    assert_eq!(shown(&plan, "aHVudGVyMgo="), "***=");
}

#[test]
fn wrapped_base64_costs_one_mask_per_line() {
    let value: String = "abcdefghijklmnopqrstuvwxyz".chars().cycle().take(300).collect();
    let plan = mask_forms(&value);
    let lines = coreutils_base64(&format!("{value}\n"));
    assert!(lines.lines().count() > 1);
    assert!(lines.lines().all(|line| plan.masks.iter().any(|m| m == line)), "each printed line is a mask");
    // The value, 2 base64 forms (the URL-safe one is the same here), 5 shared lines and one last line per
    // encoding: 400 and 404 base64 characters, 6 lines each.
    assert_eq!(plan.masks.len(), 1 + 2 + 5 + 2, "{plan:?}");
    assert!(!plan.too_short);
}

#[test]
fn basic_auth_pairs_come_from_the_usual_keys() {
    let pair = |data: serde_json::Value| credentials(data.as_object().unwrap());
    assert_eq!(pair(json!({"username": "v-app-x1", "password": "A1a-pw", "lease": 3})), Some("v-app-x1:A1a-pw".into()));
    assert_eq!(pair(json!({"Login": "svc", "PASS": "pw-123"})), Some("svc:pw-123".into()));
    assert_eq!(pair(json!({"user": "svc", "token": "pw-123"})), None, "no password");
    assert_eq!(pair(json!({"user": 7, "password": "pw-123"})), None, "not a string");
}

#[test]
fn basic_auth_base64_is_hidden() {
    let pair = "v-jwt-webapp-Xy12:A1a-Zq9r8s7t6u5v4w3x";
    let plan = credential_forms(pair);
    assert_hidden(&plan.masks, pair);
    // docker's config.json holds `"auth": "<base64 of user:password>"`.
    let docker = format!("{{\"auths\":{{\"ghcr.io\":{{\"auth\":\"{}\"}}}}}}", STANDARD.encode(pair));
    // The padding shows: it tells the pair's length modulo 3, nothing more.
    assert_eq!(shown(&plan.masks, &docker), r#"{"auths":{"ghcr.io":{"auth":"***="}}}"#);
    assert!(plan.masks.len() <= 3, "{plan:?}");
}

#[test]
fn json_leaves_are_masked_as_jq_prints_them() {
    let value = r#"{"username":"svc-deploy","password":"p\"w<&>ord","nested":{"list":["tok-12345",7]},"on":"no"}"#;
    let plan = mask_forms(value);
    for leaf in ["svc-deploy", "p\"w<&>ord", "tok-12345"] {
        assert!(plan.masks.iter().any(|m| m == leaf), "leaf {leaf:?} not masked");
        assert_hidden(&plan.masks, leaf);
    }
    assert!(plan.masks.contains(&"p%22w%3C%26%3Eord".to_owned()), "leaves get their encodings too");
    assert_hidden(&plan.masks, "svc-deploy:p\"w<&>ord");
    assert!(!plan.too_short, "a short leaf such as \"no\" is not the value being too short");
    assert!(!mask_forms("[1, 2]").too_short);
    assert!(!masks("\"json string\"").contains(&"json string".to_owned()), "a bare JSON string is just text");
}

#[test]
fn non_ascii_is_also_masked_as_ascii_only_json() {
    // What Python's json.dumps prints: lowercase \uXXXX, a surrogate pair for the astral key emoji, DEL too.
    let plan = masks("pässwörd-日本語-🔑\u{7f}");
    let python = r"p\u00e4ssw\u00f6rd-\u65e5\u672c\u8a9e-\ud83d\udd11\u007f";
    assert!(plan.contains(&python.to_owned()), "{plan:?}");
    assert!(plan.contains(&"pässwörd-日本語-🔑\u{7f}".to_owned()), "serde and JavaScript keep it as is");
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
    assert_eq!(plan.masks, vec!["YWI", "YWIK"]);
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

    #[test]
    fn every_base64_of_a_maskable_value_is_hidden(value in "(?s).{0,200}") {
        // Under 3 bytes the unpadded base64 is under 3 characters, too short to mask.
        prop_assume!(value.len() >= 3);
        let plan = mask_forms(&value);
        for (how, output) in base64_outputs(&value) {
            prop_assert!(hidden(&plan.masks, &output), "{} shows {:?}", how, shown(&plan.masks, &output));
        }
    }
}
