//! `scripts/sandbox` end to end, on the services the test run already has (`--reuse`): the lab's setup
//! under unique names, a locally signed job token, main step, PostgreSQL login, post step, teardown.
//!
//! Why `--reuse` here: the script's own start and stop are `scripts/services start|stop`, which every
//! `scripts/test` run exercises already; a second OpenBao and PostgreSQL would only add seconds and ports.

use std::path::Path;
use std::time::Duration;

use crate::support::*;

/// Runs `scripts/sandbox --reuse --key <key> --forge <forge>` with this build's binary; the
/// VAULT_LOGIN_TEST_* variables are inherited from `scripts/test`.
async fn sandbox(key: &str, forge: &str) -> StepResult {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/sandbox");
    let mut command = tokio::process::Command::new(script);
    command.args(["--reuse", "--key", key, "--forge", forge]).env("VAULT_LOGIN_BIN", env!("CARGO_BIN_EXE_vault-login"));
    crate::support::local::capture(command, Duration::from_secs(120)).await
}

/// The sandbox makes its own secrets, so the test knows their shapes, not their values: the KV values'
/// fixed prefixes, and OpenBao tokens (`s.` and 24 letters or digits).
fn assert_no_secret_shapes(run: &StepResult) {
    let log = run.log();
    for prefix in ["sandbox-api-key-", "sandbox-flat-token-"] {
        assert!(!log.contains(prefix), "a KV value leaked:\n{log}");
    }
    let token = |word: &str| {
        let rest = word.trim_matches(|c: char| !c.is_ascii_alphanumeric() && c != '.');
        rest.strip_prefix("s.").is_some_and(|t| t.len() >= 24 && t.chars().all(|c| c.is_ascii_alphanumeric()))
    };
    assert!(!log.split_whitespace().any(token), "a token leaked:\n{log}");
    for line in log.lines().filter(|l| l.contains("::add-mask::")) {
        assert!(line.ends_with("::add-mask::***"), "the sandbox shows masks as ***: {line}");
    }
}

/// The sandbox green for `forge`, whose issuer OpenBao trusts and whose claim the role binds on.
async fn runs_green(key: &str, forge: &str, issuer: &str, bound: &str) {
    let services = Services::from_env();
    let run = sandbox(key, forge).await;
    run.assert_success();
    let out = &run.stdout;
    let trusted = format!("    bound_issuer = {issuer}, {forge}'s issuer");
    let token = format!("issuer {issuer}, keys at {issuer}/");
    let steps = [
        "==> Reusing the running services",
        "telling OpenBao to trust it",
        &trusted,
        bound,
        &token,
        "==> Running the main step",
        "    exported env:     VAULT_ADDR VAULT_TOKEN DB_HOST TF_VAR_api_key FLAT_TOKEN PGUSER PGPASSWORD",
        "    logged in as v-",
        "==> Running the post step",
        "Revoked the Vault token",
        "is gone (its lease was revoked with the token)",
        "the exported VAULT_TOKEN no longer works",
        "==> Tearing down",
        "Sandbox flow OK",
    ];
    let mut at = 0;
    for step in steps {
        let found = out[at..].find(step).unwrap_or_else(|| panic!("{step:?} missing (or out of order):\n{out}"));
        at += found + step.len();
    }
    assert_no_secret_shapes(&run);
    assert_no_leak(&run, &[services.bao.token(), &services.pg.password]);

    let app = out.split("role gitea_cicd_").nth(1).and_then(|rest| rest.split(':').next()).expect("the app's name");
    let auth = services.bao.read("sys/auth").await.expect("sys/auth");
    assert!(auth["data"].get(format!("jwt-{app}/")).is_none(), "the sandbox's auth mount is gone: {auth}");
    assert!(services.bao.read(&format!("sys/policies/acl/{app}-ops")).await.is_none());
    assert!(!services.pg.role_exists(&format!("{app}_owner")).await, "the sandbox's owner role is gone");
}

#[tokio::test]
async fn the_sandbox_runs_green_as_gitea_with_an_rsa_key() {
    runs_green("rsa", "gitea", "https://gitea.sandbox.example/api/actions/oidc", ": repository_id 4242").await;
}

#[tokio::test]
async fn the_sandbox_runs_green_as_forgejo_with_a_p256_key() {
    let repository = ": repository arcodange/";
    runs_green("ec", "forgejo", "https://forgejo.sandbox.example/api/actions", repository).await;
}

#[tokio::test]
async fn the_sandbox_runs_green_as_github() {
    runs_green("rsa", "github", "https://token.actions.githubusercontent.com", ": repository_id 4242").await;
}
