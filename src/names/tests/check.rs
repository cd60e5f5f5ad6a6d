//! `check` and `check_prefix`: the shape rules and the reserved names.

use super::*;

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
