//! `render_entries` output read back by faithful models of the runners' env-file parsers: act's
//! `parseEnvFile` (legacy Gitea, Forgejo, nektos) and GitHub's runner must both return exactly the entries.

use crate::support::envfile::{parse_env_file, parse_env_file_github, parse_env_file_legacy_buffer};
use proptest::prelude::*;
use vault_login::runner::{LEGACY_LINE_LIMIT, has_long_line, render_entries};

type Pairs = Vec<(String, String)>;

fn owned(entries: &[(&str, &str)]) -> Pairs {
    entries.iter().map(|&(n, v)| (n.to_owned(), v.to_owned())).collect()
}

/// Renders, then checks that both runner models read back exactly `entries`.
fn assert_round_trip(entries: &[(&str, &str)]) {
    let text = render_entries(entries).unwrap_or_else(|e| panic!("render failed: {e}"));
    assert_eq!(parse_env_file(&text), Ok(owned(entries)), "act read back something else from:\n{text}");
    assert_eq!(parse_env_file_github(&text), Ok(owned(entries)), "GitHub read back something else from:\n{text}");
    assert!(!text.contains('\r') && text.ends_with('\n'));
}

#[test]
fn multi_line_value() {
    assert_round_trip(&[("KEY", "-----BEGIN KEY-----\nAAAA\n\nBBBB\n-----END KEY-----")]);
}

#[test]
fn equals_and_heredoc_markers_inside_values() {
    assert_round_trip(&[("A", "x=y"), ("B", "a<<b"), ("C", "=\n<<\nk=v<<w"), ("D", "<<EOF")]);
}

#[test]
fn line_that_looks_like_a_delimiter() {
    assert_round_trip(&[("N", "ghadelimiter_0123456789abcdef0123456789abcdef\nghadelimiter_\nafter")]);
}

#[test]
fn line_equal_to_eof() {
    assert_round_trip(&[("N", "EOF"), ("M", "before\nEOF\nafter\nEOF")]);
}

#[test]
fn unicode() {
    assert_round_trip(&[("ÉTÉ", "pâté 🔑\n日本語\u{2028}x"), ("N", "\u{feff}bom-looking value")]);
}

#[test]
fn trailing_newlines() {
    assert_round_trip(&[("ONE", "value\n"), ("TWO", "value\n\n"), ("MID", "a\n\n\nb\n")]);
}

#[test]
fn empty_value() {
    assert_round_trip(&[("EMPTY", ""), ("NEXT", "x"), ("EMPTY2", "")]);
    assert_eq!(render_entries(&[("EMPTY", "")]).ok().as_deref(), Some("EMPTY=\n"));
}

#[test]
fn whitespace_is_kept() {
    assert_round_trip(&[("SP", "  lead and trail  "), ("TAB", "\t\n \n\t")]);
}

#[test]
fn names_with_a_single_angle_bracket() {
    assert_round_trip(&[("A<B", "v"), ("<A", "w\nx"), ("A<B<C", "")]);
}

#[test]
fn duplicates_keep_their_order() {
    assert_round_trip(&[("A", "1"), ("A", "2\n3")]);
}

/// Legacy Gitea act_runner (< v1.0.4) and Forgejo v12 stop reading at a line of 64 KiB or more; the step
/// then fails with "delimiter not found". `has_long_line` is what lets the caller warn first.
#[test]
fn long_lines() {
    let longest_ok = "x".repeat(LEGACY_LINE_LIMIT - 1);
    let too_long = "y".repeat(LEGACY_LINE_LIMIT);
    let huge = format!("head\n{}\ntail", "z".repeat(200 * 1024));

    assert_round_trip(&[("OK", &longest_ok)]);
    assert_round_trip(&[("LONG", &too_long), ("HUGE", &huge), ("AFTER", "v")]);

    let ok_text = render_entries(&[("OK", &longest_ok)]).unwrap_or_default();
    assert!(!has_long_line(&longest_ok));
    assert_eq!(parse_env_file_legacy_buffer(&ok_text), Ok(owned(&[("OK", &longest_ok)])));

    for value in [&too_long, &huge] {
        assert!(has_long_line(value));
        let text = render_entries(&[("BEFORE", "b"), ("LONG", value), ("AFTER", "a")]).unwrap_or_default();
        let err = parse_env_file_legacy_buffer(&text).expect_err("legacy runners cannot read this");
        assert!(err.contains("not found before end of file"), "{err}");
    }
}

#[test]
fn refused_values_are_the_ones_act_cannot_read_back() {
    // What act would make of them, had they been written naively.
    assert_eq!(parse_env_file("N<<D\nx\r\ny\r\nD\n"), Ok(owned(&[("N", "x\ny")])));
    assert_eq!(parse_env_file("N<<D\n\n\nx\nD\n"), Ok(owned(&[("N", "x")])));
    for value in ["x\r\ny", "trailing\r", "a\rb", "\nleading", "\n"] {
        assert!(render_entries(&[("N", value)]).is_err(), "{value:?}");
    }
}

#[test]
fn reference_parser_quirks() {
    // A blank line outside a value fails the step on legacy runners (GitHub skips it).
    assert_eq!(parse_env_file("A=1\n\nB=2\n"), Err("invalid format '', expected a line with '=' or '<<'".to_owned()));
    assert_eq!(parse_env_file_github("A=1\n\nB=2\n"), Ok(owned(&[("A", "1"), ("B", "2")])));
    // '=' before '<<' wins, and nothing is trimmed.
    assert_eq!(parse_env_file("A = x<<y\n"), Ok(owned(&[("A ", " x<<y")])));
    assert_eq!(parse_env_file("A<<x=y\nv\nx=y\n"), Ok(owned(&[("A", "v")])));
    // EOF before the delimiter.
    assert!(parse_env_file("A<<D\nv\n").is_err());
    assert!(parse_env_file_github("A<<D\nv\n").is_err());
    // An empty heredoc body, with or without a blank line, reads as "".
    assert_eq!(parse_env_file("A<<D\n\nD\nB<<D\nD\n"), Ok(owned(&[("A", ""), ("B", "")])));
    assert_eq!(parse_env_file_github("A<<D\n\nD\nB<<D\nD\n"), Ok(owned(&[("A", ""), ("B", "")])));
    // CRLF lines and a missing final newline.
    assert_eq!(parse_env_file("A=1\r\nB=2"), Ok(owned(&[("A", "1"), ("B", "2")])));
    assert_eq!(parse_env_file(""), Ok(vec![]));
}

/// Names that are format-safe: non-empty, no `=`, `<<`, line break or NUL, no trailing `<`, no leading
/// BOM. `[^…]` draws from all of Unicode.
fn name() -> impl Strategy<Value = String> {
    prop_oneof![
        "[A-Za-z_][A-Za-z0-9_]{0,15}",
        "[^=<\r\n\x00\u{feff}]{1,12}",
        "[^=<\r\n\x00\u{feff}]{1,5}<[^=<\r\n\x00]{1,5}",
    ]
}

/// A line of a value: arbitrary text, or text chosen to confuse a parser.
fn value_line() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => "[^\r\n\x00]{0,20}",
        1 => Just(String::new()),
        1 => Just("EOF".to_owned()),
        1 => Just("ghadelimiter_0123456789abcdef0123456789abcdef".to_owned()),
        1 => Just("K=V".to_owned()),
        1 => Just("K<<EOF".to_owned()),
        1 => Just(" ".to_owned()),
    ]
}

/// Values without `\r` or NUL that do not start with `\n` (everything `render_entries` accepts).
fn value() -> impl Strategy<Value = String> {
    prop_oneof!["[^\r\x00]{0,30}", prop::collection::vec(value_line(), 1..6).prop_map(|lines| lines.join("\n")),]
        .prop_map(|v| v.trim_start_matches('\n').to_owned())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn render_then_parse_gives_back_the_entries(entries in prop::collection::vec((name(), value()), 0..6)) {
        let borrowed: Vec<(&str, &str)> = entries.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
        let text = render_entries(&borrowed).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(parse_env_file(&text), Ok(entries.clone()));
        prop_assert_eq!(parse_env_file_legacy_buffer(&text), Ok(entries.clone()));
        prop_assert_eq!(parse_env_file_github(&text), Ok(entries));
    }

    #[test]
    fn values_with_carriage_return_are_refused(before in "[^\x00]{0,10}", after in "[^\x00]{0,10}") {
        let value = format!("{before}\r{after}");
        prop_assert!(render_entries(&[("N", value.as_str())]).is_err());
    }

    #[test]
    fn values_starting_with_a_newline_are_refused(rest in "[^\r\x00]{0,20}") {
        let value = format!("\n{rest}");
        prop_assert!(render_entries(&[("N", value.as_str())]).is_err());
    }
}
