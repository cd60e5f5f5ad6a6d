use super::*;
use proptest::prelude::*;

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

// --- check: syntax ---

#[test]
fn check_accepts_valid_names() {
    for name in ["DB_HOST", "_private", "a", "TF_VAR_db_host", "x9", "PATHS", "MY_PATH"] {
        assert_eq!(check(name), Ok(()), "{name}");
    }
    assert_eq!(check(&"A".repeat(MAX_NAME_LEN)), Ok(()));
}

#[test]
fn check_refuses_empty() {
    assert_eq!(problem(""), Problem::Empty);
}

#[test]
fn check_refuses_invalid_chars() {
    assert_eq!(problem("db-host"), Problem::InvalidChar('-'));
    assert_eq!(problem("a b"), Problem::InvalidChar(' '));
    assert_eq!(problem("clé"), Problem::InvalidChar('é'));
    assert_eq!(problem("a=b"), Problem::InvalidChar('='));
    assert_eq!(problem("a\nb"), Problem::InvalidChar('\n'));
}

#[test]
fn check_refuses_leading_digit() {
    assert_eq!(problem("1X"), Problem::LeadingDigit);
}

#[test]
fn check_refuses_too_long() {
    assert_eq!(problem(&"A".repeat(256)), Problem::TooLong(256));
}

// --- check: reserved ---

#[test]
fn check_refuses_every_exact_name_in_the_brief() {
    for name in [
        "PATH",
        "BASH_ENV",
        "ENV",
        "NODE_OPTIONS",
        "NODE_PATH",
        "IFS",
        "PS4",
        "SHELLOPTS",
        "BASHOPTS",
        "HOME",
        "SHELL",
        "CDPATH",
        "PROMPT_COMMAND",
        "PERL5OPT",
        "PERL5LIB",
        "RUBYOPT",
        "RUBYLIB",
        "JAVA_TOOL_OPTIONS",
        "_JAVA_OPTIONS",
        "VAULT_ADDR",
        "VAULT_TOKEN",
        "VAULT_NAMESPACE",
        "VAULT_CACERT",
        "BAO_ADDR",
        "BAO_TOKEN",
        "BAO_NAMESPACE",
        "BAO_CACERT",
        "TERRAFORM_VAULT_SKIP_CHILD_TOKEN",
    ] {
        let err = check(name).unwrap_err();
        assert!(err.is_reserved(), "{name}: {err}");
    }
}

#[test]
fn check_refuses_every_prefix_in_the_brief() {
    for name in [
        "LD_PRELOAD",
        "DYLD_INSERT_LIBRARIES",
        "PYTHONPATH",
        "PYTHONSTARTUP",
        "GITHUB_ENV",
        "GITHUB_PATH",
        "GITEA_TOKEN",
        "FORGEJO_TOKEN",
        "RUNNER_TEMP",
        "ACTIONS_RUNTIME_TOKEN",
        "INPUT_SECRETS",
        "STATE_X",
        "GIT_SSH_COMMAND",
        "GIT_CONFIG_COUNT",
    ] {
        let err = check(name).unwrap_err();
        assert!(err.is_reserved(), "{name}: {err}");
    }
}

#[test]
fn check_refuses_extra_hijack_vectors() {
    for name in [
        "PS1",
        "GLOBIGNORE",
        "BASH_XTRACEFD",
        "ZDOTDIR",
        "TMPDIR",
        "BASH_FUNC_X",
        "GCONV_PATH",
        "HOSTALIASES",
        "PERLLIB",
        "PERL5DB",
        "JDK_JAVA_OPTIONS",
        "CLASSPATH",
        "NPM_CONFIG_REGISTRY",
        "NODE_TLS_REJECT_UNAUTHORIZED",
        "NODE_EXTRA_CA_CERTS",
        "SSL_CERT_FILE",
        "CURL_CA_BUNDLE",
        "REQUESTS_CA_BUNDLE",
        "TF_CLI_ARGS",
        "TF_CLI_ARGS_plan",
        "TF_CLI_CONFIG_FILE",
        "TF_PLUGIN_CACHE_DIR",
        "TF_LOG",
        "TF_LOG_PATH",
        "_",
        // What a red-team review exported from a KV secret's keys (issue 12, finding 1) and its kin.
        "TF_REATTACH_PROVIDERS",
        "TF_PLUGIN_DIR",
        "PIP_INDEX_URL",
        "UV_INDEX_URL",
        "VAULT_LOGIN_BIN",
        "GOFLAGS",
        "GOPROXY",
        "RUSTC_WRAPPER",
        "CARGO_HOME",
        "SSH_ASKPASS",
        "GIT_ASKPASS",
        "YARN_NPM_REGISTRY_SERVER",
    ] {
        assert!(check(name).unwrap_err().is_reserved(), "{name}");
    }
}

#[test]
fn check_reserved_ignores_case() {
    for name in ["path", "Path", "ld_preload", "Github_Env", "vault_token", "tf_cli_args"] {
        assert!(check(name).unwrap_err().is_reserved(), "{name}");
    }
}

#[test]
fn check_allows_useful_neighbours() {
    for name in [
        "TF_VAR_path",
        "TF_TOKEN_app_terraform_io",
        "HTTPS_PROXY",
        "DOCKER_HOST",
        "PATH_TO_X",
        "MY_GITHUB_TOKEN",
        "AWS_ACCESS_KEY_ID",
        "PGPASSWORD",
        "VAULT_ROLE",
        "__",
    ] {
        assert_eq!(check(name), Ok(()), "{name}");
    }
}

#[test]
fn check_refuses_the_actions_own_output_name() {
    for name in ["policies", "POLICIES", "Policies"] {
        let err = check(name).unwrap_err();
        assert_eq!(err.problem, Problem::Reserved { rule: "POLICIES", why: OUTPUT }, "{name}");
        let msg = err.to_string();
        assert!(msg.contains("this action's own step output (`policies`"), "{msg}");
    }
    for name in ["POLICIES_X", "MY_POLICIES", "POLICY"] {
        assert_eq!(check(name), Ok(()), "{name}");
    }
    assert_eq!(check_prefix("POLICIES"), Ok(()), "a prefix only yields longer names");
}

// --- messages ---

#[test]
fn reserved_message_says_which_why_and_fix() {
    let msg = check("ld_preload").unwrap_err().to_string();
    assert!(msg.starts_with("export name `ld_preload` is refused: names matching `LD_*`"), "{msg}");
    assert!(msg.contains("compared ignoring case"), "{msg}");
    assert!(msg.contains("inject code"), "{msg}");
    assert!(msg.ends_with("; choose another name with \"| NAME\""), "{msg}");
}

#[test]
fn syntax_messages_say_which_why_and_fix() {
    assert_eq!(
        check("db-host").unwrap_err().to_string(),
        "export name `db-host` contains `-`, but a variable name may only hold ASCII \
             letters, digits and `_`; choose another name with \"| NAME\""
    );
    assert_eq!(
        check("").unwrap_err().to_string(),
        "export name `` is empty; a variable name needs at least one character; \
             choose another name with \"| NAME\""
    );
    let msg = check("1X").unwrap_err().to_string();
    assert!(msg.contains("`1X` starts with a digit"), "{msg}");
    let msg = check(&"A".repeat(300)).unwrap_err().to_string();
    assert!(msg.contains("300 characters long, more than the 255 allowed"), "{msg}");
    assert!(msg.len() < 300, "the name is shortened: {msg}");
}

#[test]
fn messages_escape_control_characters() {
    let msg = check("A\n::add-mask::x").unwrap_err().to_string();
    assert!(!msg.contains('\n'), "{msg}");
    assert!(msg.contains("`A\\n::add-mask::x`"), "{msg}");
}

// --- check_prefix ---

#[test]
fn prefix_check_accepts_normal_prefixes() {
    for prefix in ["TF_VAR_", "MYAPP_", "_", "PATH", "A"] {
        assert_eq!(check_prefix(prefix), Ok(()), "{prefix}");
    }
}

#[test]
fn prefix_check_refuses_reserved_prefixes() {
    let err = check_prefix("github_x").unwrap_err();
    assert!(err.is_reserved());
    assert_eq!(err.subject, Subject::Prefix);
    assert!(err.to_string().starts_with("name prefix `github_x` is refused"));
    assert!(err.to_string().ends_with("choose another prefix with \"* | PREFIX\""));
    assert!(check_prefix("LD_").unwrap_err().is_reserved());
    assert!(check_prefix("PYTHONX").unwrap_err().is_reserved());
}

#[test]
fn prefix_check_refuses_bad_syntax() {
    assert_eq!(check_prefix("TF-VAR").unwrap_err().problem, Problem::InvalidChar('-'));
    assert_eq!(check_prefix("1_").unwrap_err().problem, Problem::LeadingDigit);
    assert_eq!(check_prefix("").unwrap_err().problem, Problem::Empty);
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
