//! The leak check every integration test runs: no secret in the step's log or summary, except in its
//! own `::add-mask::` command.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};

use super::StepResult;

/// Fails if any form of any secret appears in stdout, stderr or the step summary, except on a line of
/// stdout/stderr that is an `::add-mask::` command: runners drop those lines from the log they show (the
/// step masks several encodings of each value, and the escaped forms need not equal ours). Forms: the value, each line of a multi-line
/// value (lines of 4+ characters), its JSON-escaped and workflow-command-escaped forms, and its base64.
pub fn assert_no_leak(result: &StepResult, secrets: &[&str]) {
    let streams = [("stdout", result.stdout.as_str(), true), ("stderr", result.stderr.as_str(), true)];
    let summary = ("step summary", result.summary.as_str(), false);
    let leaks = find_leaks(&[streams[0], streams[1], summary], secrets);
    assert!(leaks.is_empty(), "secret leaked:\n  {}\n{result:?}", leaks.join("\n  "));
}

/// The leaks in `(name, text, may_hold_mask_commands)` streams, one message per offending line.
pub fn find_leaks(streams: &[(&str, &str, bool)], secrets: &[&str]) -> Vec<String> {
    let needles: Vec<(usize, &'static str, String)> = secrets
        .iter()
        .enumerate()
        .flat_map(|(i, s)| forms(s).into_iter().map(move |(label, form)| (i, label, form)))
        .collect();
    let mut leaks = Vec::new();
    for (name, text, masks_allowed) in streams {
        for (n, line) in text.split('\n').enumerate() {
            let line = line.strip_suffix('\r').unwrap_or(line);
            if *masks_allowed && line.starts_with("::add-mask::") {
                continue;
            }
            for (i, label, form) in &needles {
                if line.contains(form.as_str()) {
                    let shown = line.replace(form.as_str(), "<SECRET>");
                    leaks.push(format!("{name} line {}: secret #{i} ({label}): {shown}", n + 1));
                }
            }
        }
    }
    leaks
}

/// The searchable forms of one secret, labelled.
fn forms(secret: &str) -> Vec<(&'static str, String)> {
    assert!(secret.chars().count() >= 4, "assert_no_leak: secret {secret:?} is too short to search for");
    let mut forms = Vec::new();
    if secret.contains('\n') {
        let lines = secret.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l));
        forms.extend(lines.filter(|l| l.chars().count() >= 4).map(|l| ("line", l.to_owned())));
    } else {
        forms.push(("value", secret.to_owned()));
    }
    let json = serde_json::to_string(secret).expect("JSON string");
    let escaped = secret.replace('%', "%25").replace('\r', "%0D").replace('\n', "%0A");
    forms.push(("JSON-escaped", json[1..json.len() - 1].to_owned()));
    forms.push(("workflow-escaped", escaped));
    forms.push(("base64", STANDARD.encode(secret)));
    forms.push(("base64url", URL_SAFE_NO_PAD.encode(secret)));
    let mut unique: Vec<(&'static str, String)> = Vec::new();
    for (label, form) in forms {
        if !unique.iter().any(|(_, f)| *f == form) {
            unique.push((label, form));
        }
    }
    unique
}
