//! The example workflows in a real act-based runner (nektos/act in host mode, see `crate::support::act`), against
//! the real OpenBao and PostgreSQL set up as docs/vault-setup.md says: the runner Gitea's and Forgejo's are
//! forked from resolves `uses:`, passes inputs, runs the shim, reads the file commands and runs the post
//! step its own way, not the way the emulator models it. The action is a release as the release workflow
//! makes it, without binaries in git: the shim downloads the binary from the test's asset host.

use crate::support::emulator::release;
use crate::support::lab::{Lab, REPOSITORY};
use crate::support::{JobClaims, act};

/// The ID-token variables an OIDC-enabled job gets, for a push to main of the lab's repository.
fn id_token_env(lab: &Lab) -> Vec<(&'static str, String)> {
    let claims = JobClaims::for_repository(REPOSITORY);
    let url = lab.issuer.token_request_url(&claims.run_id);
    let token = lab.issuer.register_job(claims);
    vec![("ACTIONS_ID_TOKEN_REQUEST_URL", url), ("ACTIONS_ID_TOKEN_REQUEST_TOKEN", token)]
}

async fn run(lab: &Lab, workflow: &str) -> act::ActRun {
    let env = id_token_env(lab);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    act::run(workflow, REPOSITORY, &[("VAULT_ADDR", lab.services.bao.addr())], &env).await
}

#[tokio::test]
async fn the_login_example_logs_in_and_the_post_step_revokes_in_act() {
    let lab = Lab::start().await;
    let run = run(&lab, "examples/workflows/login.yml").await;
    assert!(run.success, "{run:?}");
    assert!(run.log.contains("The token works."), "{run:?}");
    assert!(run.log.contains("Revoked the Vault token"), "the post step ran: {run:?}");
    let asset = format!("GET /releases/download/v1.0.0/vault-login-linux-{}", release::node_arch());
    assert_eq!(run.downloads, [asset], "the main step downloaded the binary, the post step used the cache");
    let jwt = lab.issuer.issued_tokens()[0].clone();
    assert!(!run.log.contains(&jwt), "the ID token never shows: {run:?}");
    assert!(live_tokens(&lab).await == 0, "{run:?}");
}

#[tokio::test]
async fn the_exec_example_gives_one_command_the_secrets_in_act() {
    let lab = Lab::start().await;
    let run = run(&lab, "examples/workflows/exec.yml").await;
    assert!(run.success, "{run:?}");
    assert!(run.log.contains("Receipt: Vault token"), "{run:?}");
    assert!(run.log.contains("No secret and no token in this step's environment."), "{run:?}");
    assert!(run.log.contains("| ***"), "psql's answer, the dynamic user, shows masked: {run:?}");
    assert!(!run.log.contains(&lab.api_key), "{run:?}");
    let user = run.log.lines().find_map(|l| l.split_once("| v-").map(|(_, u)| format!("v-{}", u.trim())));
    assert!(user.is_none(), "the dynamic user is masked in act's log: {user:?}\n{run:?}");
    assert!(live_tokens(&lab).await == 0, "exec revoked its token: {run:?}");
}

#[tokio::test]
async fn the_deploy_example_exports_masked_secrets_to_later_steps_in_act() {
    let lab = Lab::start().await;
    let run = run(&lab, "examples/workflows/deploy.yml").await;
    assert!(run.success, "{run:?}");
    assert!(run.log.contains("TF_VAR_api_key is set"), "{run:?}");
    assert!(run.log.contains("| ***"), "psql's answer, the dynamic user, shows masked: {run:?}");
    assert!(!run.log.contains(&lab.api_key), "{run:?}");
    assert!(live_tokens(&lab).await == 0, "the post step revoked the token: {run:?}");
}

/// Tokens issued through the documented `jwt` mount that are still alive.
async fn live_tokens(lab: &Lab) -> usize {
    let bao = &lab.services.bao;
    let mut live = 0;
    for accessor in bao.list_accessors().await {
        let Some(data) = bao.lookup_accessor(&accessor).await else { continue };
        live += usize::from(data["path"].as_str().is_some_and(|p| p.starts_with("auth/jwt/login")));
    }
    live
}
