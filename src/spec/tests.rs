use super::*;
use proptest::prelude::*;

mod properties;

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
kvv2/webapp/config * | TF_VAR_             # every key, prefixed
kvv2/webapp/config@3 db_host               # KV v2 version pin
kv/webapp/flat token | FLAT_TOKEN
postgres/creds/webapp password | PGPASSWORD
";
    let got = parse(input).unwrap();
    let expected = [
        ("kvv2/webapp/config", None, key("db_host"), Target::Default),
        ("kvv2/webapp/config", None, key("api_key"), Target::Name("TF_VAR_api_key".into())),
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
    let got = parse("kv/a k1; kv/b k2 | N2 ;kv/c * | C_;").unwrap();
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
    assert_eq!(parse_one("kv/a@3 * | A_").path, "kv/a");
}

// --- structural errors ---

#[test]
fn paths_keys_and_requests_are_bounded() {
    let long = "k".repeat(513);
    let err = parse(&format!("kv/{long} key")).unwrap_err();
    assert!(err.message.starts_with("expected a secret path of at most 512 characters (got 516: `kv/kkk"), "{err}");
    assert!(err.message.len() < 200, "{err}");
    let err = parse(&format!("kv/a {long}")).unwrap_err();
    assert_eq!(err.column, 6);
    assert!(err.message.starts_with("expected a key name of at most 512 characters (got 513"), "{err}");
    assert_eq!(parse(&"kv/a k\n".repeat(256)).unwrap().len(), 256);
    let err = parse(&"kv/a k; ".repeat(257)).unwrap_err();
    assert_eq!((err.line, err.column), (1, 1 + 8 * 256));
}

#[test]
fn a_wildcard_needs_a_prefix_since_the_keys_would_choose_the_names() {
    let err = parse("kvv2/webapp/config *  # every key").unwrap_err();
    assert_eq!((err.line, err.column), (1, 21));
    assert!(err.message.starts_with("expected `| PREFIX` after `*`"), "{err}");
    assert!(err.message.contains("whoever can write to the secret"), "{err}");
}

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
    let err = parse(&format!("{path} k")).unwrap_err();
    assert_eq!(err.column, 1);
    assert!(err.message.contains("got 1000000"), "{err}");
    let many = "kv/a k;".repeat(100_000);
    assert!(parse(&many).unwrap_err().message.starts_with("expected at most 256 requests"));
}
