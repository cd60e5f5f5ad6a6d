use super::*;
use proptest::prelude::*;

mod check;

fn problem(name: &str) -> Problem {
    check(name).unwrap_err().problem
}

impl NameError {
    /// Well-formed but reserved: only another name fixes it.
    fn is_reserved(&self) -> bool {
        matches!(self.problem, Problem::Reserved { .. })
    }
}

// --- Naming input ---

#[test]
fn naming_parses_both_values() {
    assert_eq!("default".parse::<Naming>().unwrap(), Naming::Default);
    assert_eq!("vault-action".parse::<Naming>().unwrap(), Naming::VaultAction);
    assert_eq!(" vault-action\n".parse::<Naming>().unwrap(), Naming::VaultAction);
    assert_eq!(Naming::default(), Naming::Default);
}

#[test]
fn naming_error_names_the_input() {
    let err = "x".parse::<Naming>().unwrap_err();
    assert_eq!(err.to_string(), "input `naming`: expected `default` or `vault-action`, got `x`");
    for bad in ["", "Default", "vault_action", "vaultaction"] {
        assert!(bad.parse::<Naming>().is_err(), "{bad:?}");
    }
}

#[test]
fn naming_error_escapes_and_shortens() {
    let err = "a\nb".parse::<Naming>().unwrap_err().to_string();
    assert!(err.ends_with("got `a\\nb`"), "{err}");
    let long = "y".repeat(500);
    let err = long.parse::<Naming>().unwrap_err().to_string();
    assert!(err.len() < 200 && err.ends_with("…`"), "{err}");
}

// --- default naming ---

#[test]
fn default_upper_cases_and_replaces() {
    let n = |k| default_name(k, Naming::Default);
    assert_eq!(n("db_host"), "DB_HOST");
    assert_eq!(n("db-host"), "DB_HOST");
    assert_eq!(n("api.key"), "API_KEY");
    assert_eq!(n("a.b.c"), "A_B_C");
    assert_eq!(n("with space/slash"), "WITH_SPACE_SLASH");
    assert_eq!(n("Already_UPPER9"), "ALREADY_UPPER9");
}

#[test]
fn default_prefixes_a_leading_digit() {
    assert_eq!(default_name("1password", Naming::Default), "_1PASSWORD");
    assert_eq!(default_name("9", Naming::Default), "_9");
}

#[test]
fn default_replaces_each_non_ascii_char() {
    assert_eq!(default_name("clé", Naming::Default), "CL_");
    assert_eq!(default_name("测试", Naming::Default), "__");
    // `ß` would upper-case to `SS` under Unicode rules; names stay ASCII.
    assert_eq!(default_name("straße", Naming::Default), "STRA_E");
}

#[test]
fn empty_key_gives_refused_underscore() {
    assert_eq!(default_name("", Naming::Default), "_");
    assert_eq!(default_name("", Naming::VaultAction), "_");
    assert!(check("_").unwrap_err().is_reserved());
}

#[test]
fn wildcard_prefix_keeps_key_case() {
    let n = |p, k| prefixed_name(p, k, Naming::Default);
    assert_eq!(n("TF_VAR_", "db-host"), "TF_VAR_db_host");
    assert_eq!(n("TF_VAR_", "DbHost"), "TF_VAR_DbHost");
    assert_eq!(n("TF_VAR_", "1st"), "TF_VAR_1st");
    assert_eq!(n("TF_VAR_", "clé"), "TF_VAR_cl_");
    assert_eq!(n("TF_VAR_", ""), "TF_VAR_");
}

#[test]
fn wildcard_without_prefix_is_default_naming() {
    for key in ["db-host", "DbHost", "1st", "a.b", ""] {
        assert_eq!(prefixed_name("", key, Naming::Default), default_name(key, Naming::Default));
    }
}

#[test]
fn prefixed_name_is_total_for_bad_prefixes() {
    assert_eq!(prefixed_name("1-", "x", Naming::Default), "_1_x");
}

// --- vault-action naming (expectations from vault-action's own tests and issues) ---

#[test]
fn vault_action_simple_keys() {
    let n = |k| default_name(k, Naming::VaultAction);
    // src/action.test.js: `test key` -> env `KEY`; README: npmToken -> NPMTOKEN.
    assert_eq!(n("key"), "KEY");
    assert_eq!(n("npmToken"), "NPMTOKEN");
    // src/action.test.js "nested secret retrieval": `key.value` -> `KEY__VALUE`.
    assert_eq!(n("key.value"), "KEY__VALUE");
}

#[test]
fn vault_action_only_first_dot_becomes_double_underscore() {
    // Issue #579: `my.secret.value` -> `MY__SECRETVALUE` in v3.3.0.
    assert_eq!(default_name("my.secret.value", Naming::VaultAction), "MY__SECRETVALUE");
}

#[test]
fn vault_action_drops_hyphens_and_punctuation() {
    // Issue #577: `test-123` -> `test123` (upper-cased for env).
    assert_eq!(default_name("test-123", Naming::VaultAction), "TEST123");
    assert_eq!(default_name("db-host", Naming::VaultAction), "DBHOST");
    assert_eq!(default_name("a b/c*d\"e", Naming::VaultAction), "ABCDE");
    assert_eq!(default_name("under_score", Naming::VaultAction), "UNDER_SCORE");
}

#[test]
fn vault_action_non_ascii_and_digits() {
    assert_eq!(default_name("测试", Naming::VaultAction), "__");
    assert_eq!(default_name("1key", Naming::VaultAction), "_1KEY");
    assert_eq!(default_name("-1", Naming::VaultAction), "_1");
    assert_eq!(default_name("---", Naming::VaultAction), "_");
}

#[test]
fn vault_action_wildcard_upper_cases_prefix_and_key() {
    // Issue #536: `secret/data/ci/aws * | MYAPP_` exports `MYAPP_ACCESSKEY`.
    assert_eq!(prefixed_name("MYAPP_", "accessKey", Naming::VaultAction), "MYAPP_ACCESSKEY");
    assert_eq!(prefixed_name("TF_VAR_", "db-host", Naming::VaultAction), "TF_VAR_DBHOST");
    assert_eq!(prefixed_name("tf_", "a.b.c", Naming::VaultAction), "TF_A__BC");
    // `path *`: the request name is empty, so each key alone is normalized.
    assert_eq!(prefixed_name("", "accessKey", Naming::VaultAction), "ACCESSKEY");
}

// --- properties ---

fn is_shell_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Derived names always have a valid shape; `check` can refuse them only
/// as reserved, or as too long when the key itself is very long.
fn assert_usable(name: &str) -> Result<(), TestCaseError> {
    prop_assert!(is_shell_name(name), "not a shell name: {:?}", name);
    match check(name) {
        Ok(()) => {}
        Err(err) => match err.problem {
            Problem::Reserved { .. } => {}
            Problem::TooLong(len) => prop_assert!(len > MAX_NAME_LEN),
            other => prop_assert!(false, "{:?} refused for {:?}", name, other),
        },
    }
    Ok(())
}

fn naming() -> impl Strategy<Value = Naming> {
    prop_oneof![Just(Naming::Default), Just(Naming::VaultAction)]
}

fn key() -> impl Strategy<Value = String> {
    prop_oneof![any::<String>(), "[a-zA-Z0-9_.\\-]{0,40}", "[ -~]{0,40}", "\\PC{0,300}",]
}

fn prefix() -> impl Strategy<Value = String> {
    prop_oneof![Just(String::new()), "[A-Za-z_][A-Za-z0-9_]{0,12}"]
}

proptest! {
    #[test]
    fn default_names_are_always_usable(key in key(), naming in naming()) {
        assert_usable(&default_name(&key, naming))?;
    }

    #[test]
    fn prefixed_names_are_always_usable(
        prefix in prefix(),
        key in key(),
        naming in naming(),
    ) {
        assert_usable(&prefixed_name(&prefix, &key, naming))?;
    }

    #[test]
    fn default_prefix_is_kept_verbatim(prefix in "[A-Za-z_][A-Za-z0-9_]{0,12}", key in key()) {
        prop_assert!(prefixed_name(&prefix, &key, Naming::Default).starts_with(&prefix));
    }

    #[test]
    fn valid_explicit_names_pass_unless_reserved(name in "[A-Za-z_][A-Za-z0-9_]{0,254}") {
        match check(&name) {
            Ok(()) => {}
            Err(err) => prop_assert!(err.is_reserved(), "{}", err),
        }
    }

    #[test]
    fn check_never_panics_and_messages_are_one_line(name in any::<String>()) {
        if let Err(err) = check(&name) {
            prop_assert!(!err.to_string().contains('\n'));
        }
    }
}
