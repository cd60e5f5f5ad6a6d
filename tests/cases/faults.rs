//! Faults on real servers: Vault down, started late, sealed, cut mid-run, slow, behind a standby, and the
//! post step when things are not as the main step left them.
//!
//! The proxy (tests/support/proxy.rs) stands between the binary and the shared OpenBao; tests that seal a
//! server get a private one (tests/support/bao_server.rs), so the shared one is never disturbed.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::support::*;
use serde_json::json;
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const SECRET: &str = "fault-secret-7d1e";

async fn provision(services: &Services, issuer: &Issuer, options: AppOptions) -> App {
    App::provision(services, issuer, options.kv2("config", json!({ "api_key": SECRET }))).await
}

fn job(app: &App, url: &str) -> Job {
    app.job()
        .input("url", url)
        .input("mount", &app.mount)
        .input("secrets", &format!("kvv2/{}/config api_key", app.name))
        .timeout(Duration::from_secs(90))
}

/// Nothing reached later steps: no env var, no output, not a byte.
fn assert_nothing_exported(step: &StepResult) {
    assert!(step.raw_env_file.is_empty() && step.raw_output_file.is_empty(), "partial exports:\n{step:?}");
}

/// What each retry line of the step says.
const RETRYING: &str = "; retrying in ";

/// The progress line of a step that waits for an unseal.
const WAITING: &str = "is sealed (unseal keys entered: 0 of 1): waiting for someone to unseal it; next check in";

fn retries(step: &StepResult) -> usize {
    step.stdout.matches(RETRYING).count()
}

#[tokio::test]
async fn vault_down_at_start_is_retried_then_fails_clearly_within_the_deadline() {
    let services = Services::from_env();
    let issuer = Issuer::start().await;
    let app = provision(&services, &issuer, AppOptions::new()).await;
    let down = Proxy::start(services.bao.addr(), Rule::Down).await;
    let main = job(&app, &down.url()).input("timeout", "3s").run_main().await;
    main.assert_failure();
    assert!(retries(&main) >= 2, "connection errors are retried, one line each:\n{main:?}");
    assert!(main.stdout.contains("cannot connect"), "{main:?}");
    let log = main.log();
    for needle in [&format!("no usable answer from Vault at {}", down.url()), "within 3s (input `timeout`)"] {
        assert!(log.contains(needle), "{needle:?} missing:\n{main:?}");
    }
    assert!(!main.state.contains_key("vault_token"));
    assert_nothing_exported(&main);
    assert_no_leak(&main, &[&issuer.issued_tokens()[0], SECRET]);
}

#[tokio::test]
async fn vault_started_during_the_retry_window_is_used() {
    let services = Services::from_env();
    let issuer = Issuer::start().await;
    let app = provision(&services, &issuer, AppOptions::new()).await;
    let proxy = Proxy::start(services.bao.addr(), Rule::Down).await;
    let job = job(&app, &proxy.url()).input("timeout", "30s");
    let running = job.spawn_main();
    // Vault comes up once the step has found it down and waits to try again.
    running.wait_for_stdout(RETRYING).await;
    proxy.set(Rule::Pass);
    let main = running.finish().await;
    main.assert_success();
    assert!(retries(&main) >= 1, "{main:?}");
    assert_eq!(main.env["API_KEY"], SECRET);
    assert_no_leak(&main, &[&main.env["VAULT_TOKEN"], &issuer.issued_tokens()[0], SECRET]);
    let post = job.run_post(&main).await;
    post.assert_success();
    assert_no_leak(&post, &[&main.env["VAULT_TOKEN"]]);
    assert!(app.live_tokens().await.is_empty());
}

#[tokio::test]
async fn a_sealed_vault_is_named_plainly_and_not_retried_blindly() {
    let services = Services::from_env();
    let server = BaoServer::start(&services, &[]).await;
    let issuer = Issuer::start().await;
    let app = provision(&server.services(&services), &issuer, AppOptions::new()).await;
    server.seal().await;
    let main = job(&app, &server.addr).run_main().await;
    main.assert_failure();
    let log = main.log();
    for needle in [
        &format!("Vault at {}/ is sealed (unseal keys entered: 0 of 1)", server.addr),
        "nothing that needs a secret can run until someone unseals it",
        "`wait-for-unseal`",
    ] {
        assert!(log.contains(needle), "{needle:?} missing:\n{main:?}");
    }
    assert_eq!(retries(&main), 0, "{main:?}");
    assert_nothing_exported(&main);
    assert_no_leak(&main, &[&issuer.issued_tokens()[0], SECRET]);
}

#[tokio::test]
async fn an_uninitialised_vault_is_named_plainly() {
    let services = Services::from_env();
    let server = BaoServer::start_uninitialised(&services).await;
    let issuer = Issuer::start().await;
    let job = Job::for_claims(&issuer, JobClaims::for_repository("arcodange/fresh-vault")).input("url", &server.addr);
    let main = job.run_main().await;
    main.assert_failure();
    let expected = format!("Vault at {}/ is not initialised: someone must run `bao operator init`", server.addr);
    assert!(main.log().contains(&expected), "{main:?}");
    assert_eq!(retries(&main), 0, "{main:?}");
    assert_nothing_exported(&main);
    assert_no_leak(&main, &[&issuer.issued_tokens()[0]]);
}

#[tokio::test]
async fn wait_for_unseal_goes_on_once_someone_unseals() {
    let services = Services::from_env();
    let server = BaoServer::start(&services, &[]).await;
    let issuer = Issuer::start().await;
    let app = provision(&server.services(&services), &issuer, AppOptions::new()).await;
    server.seal().await;
    let job = job(&app, &server.addr).input("wait-for-unseal", "2m").input("timeout", "10s");
    let running = job.spawn_main();
    // The operator unseals once the step says it waits for that (the wait panics if it never does).
    running.wait_for_stdout(WAITING).await;
    server.unseal().await;
    let main = running.finish().await;
    main.assert_success();
    assert!(main.stdout.contains("was unsealed after"), "{main:?}");
    assert_eq!(main.env["API_KEY"], SECRET);
    assert_no_leak(&main, &[&main.env["VAULT_TOKEN"], &issuer.issued_tokens()[0], SECRET]);
    job.run_post(&main).await.assert_success();
    assert!(app.live_tokens().await.is_empty());
}

#[tokio::test]
async fn an_id_token_that_expired_during_the_wait_is_fetched_again() {
    let services = Services::from_env();
    let server = BaoServer::start(&services, &[]).await;
    let issuer = Issuer::start().await;
    let app = provision(&server.services(&services), &issuer, AppOptions::new()).await;
    server.seal().await;
    // The step never judges the token's `exp` itself, so a token handed out expired meets the same
    // refusal as one that ran out during the wait, without the test waiting out a lifetime.
    issuer.expire_next_token();
    let job = job(&app, &server.addr).input("wait-for-unseal", "2m");
    let running = job.spawn_main();
    running.wait_for_stdout(WAITING).await;
    server.unseal().await;
    let main = running.finish().await;
    main.assert_success();
    assert!(main.stdout.contains("was unsealed after"), "{main:?}");
    assert!(main.stdout.contains("Vault found the ID token expired; requesting a fresh one"), "{main:?}");
    let tokens = issuer.issued_tokens();
    assert_eq!(tokens.len(), 2, "one fresh ID token after the wait");
    assert_no_leak(&main, &[&main.env["VAULT_TOKEN"], &tokens[0], &tokens[1], SECRET]);
    job.run_post(&main).await.assert_success();
    assert!(app.live_tokens().await.is_empty());
}

#[tokio::test]
async fn a_read_cut_mid_run_is_retried_then_nothing_is_exported_and_the_token_is_revoked() {
    let services = Services::from_env();
    let issuer = Issuer::start().await;
    let app = provision(&services, &issuer, AppOptions::new()).await;
    let read = format!("GET /v1/kvv2/data/{}/config", app.name);
    let proxy = Proxy::start(services.bao.addr(), Rule::CutOn(read)).await;
    assert!(app.live_tokens().await.is_empty());
    let main = job(&app, &proxy.url()).input("timeout", "3s").run_main().await;
    main.assert_failure();
    assert!(proxy.cuts() >= 2, "the cut read was retried ({} cuts)", proxy.cuts());
    assert!(main.stdout.contains("Nothing was exported; the Vault token was revoked."), "{main:?}");
    assert_nothing_exported(&main);
    assert!(app.live_tokens().await.is_empty(), "no token left behind");
    assert_no_leak(&main, &[&main.state["vault_token"], &issuer.issued_tokens()[0], SECRET]);
}

#[tokio::test]
async fn vault_gone_mid_run_leaves_the_token_to_the_post_step_which_survives_an_outage_too() {
    let services = Services::from_env();
    let issuer = Issuer::start().await;
    let app = provision(&services, &issuer, AppOptions::new()).await;
    let read = format!("GET /v1/kvv2/data/{}/config", app.name);
    let proxy = Proxy::start(services.bao.addr(), Rule::CutFrom(read)).await;
    let job = job(&app, &proxy.url()).input("timeout", "3s");
    let main = job.run_main().await;
    main.assert_failure();
    assert!(main.stdout.contains("Nothing was exported, but revoking the Vault token failed"), "{main:?}");
    assert_nothing_exported(&main);
    assert_eq!(app.live_tokens().await.len(), 1, "the token outlived the main step");
    let token = main.state["vault_token"].clone();

    let post_in_outage = job.run_post(&main).await;
    post_in_outage.assert_success();
    assert!(
        post_in_outage.stdout.contains("::warning::vault-login: could not revoke the Vault token"),
        "{post_in_outage:?}"
    );
    assert_eq!(app.live_tokens().await.len(), 1);

    proxy.set(Rule::Pass);
    let post = job.run_post(&main).await;
    post.assert_success();
    assert!(post.stdout.contains("Revoked the Vault token"), "{post:?}");
    assert!(app.live_tokens().await.is_empty());
    for step in [&main, &post_in_outage, &post] {
        assert_no_leak(step, &[&token, &issuer.issued_tokens()[0], SECRET]);
    }
}

#[tokio::test]
async fn a_slow_vault_times_out_per_attempt_and_the_step_ends() {
    let services = Services::from_env();
    let issuer = Issuer::start().await;
    let app = provision(&services, &issuer, AppOptions::new()).await;
    let read = format!("GET /v1/kvv2/data/{}/config", app.name);
    let proxy = Proxy::start(services.bao.addr(), Rule::DelayOn(read, Duration::from_secs(60))).await;
    let job = job(&app, &proxy.url()).input("timeout", "3s");
    let slow_read = job.run_main().await;
    slow_read.assert_failure();
    assert!(slow_read.stdout.contains("timed out: no answer within 1s (the per-attempt limit)"), "{slow_read:?}");
    assert!(retries(&slow_read) >= 1, "reads are retried after a timeout:\n{slow_read:?}");
    assert!(slow_read.log().contains("within 3s (input `timeout`)"), "{slow_read:?}");
    assert!(slow_read.stdout.contains("Nothing was exported; the Vault token was revoked."), "{slow_read:?}");
    assert_nothing_exported(&slow_read);
    assert!(app.live_tokens().await.is_empty());

    proxy.set(Rule::Delay(Duration::from_secs(60)));
    let slow_login = job.run_main().await;
    slow_login.assert_failure();
    let log = slow_login.log();
    assert!(log.contains("auth/") && log.contains("timed out: no answer within 1s"), "{slow_login:?}");
    assert_eq!(retries(&slow_login), 0, "a login that may have gone through is not sent again:\n{slow_login:?}");
    assert_nothing_exported(&slow_login);
    let tokens = issuer.issued_tokens();
    for step in [&slow_read, &slow_login] {
        assert_no_leak(step, &[&tokens[0], &tokens[1], SECRET]);
    }
}

#[tokio::test]
async fn a_standby_redirect_keeps_method_body_and_token() {
    let services = Services::from_env();
    let issuer = Issuer::start().await;
    let app = provision(&services, &issuer, AppOptions::new()).await;
    let standby = MockServer::start().await;
    let active = services.bao.addr().to_owned();
    let redirect = move |request: &Request| {
        let query = request.url.query().map(|q| format!("?{q}")).unwrap_or_default();
        ResponseTemplate::new(307).insert_header("Location", format!("{active}{}{query}", request.url.path()))
    };
    Mock::given(any()).respond_with(redirect).mount(&standby).await;
    let job = job(&app, &standby.uri());
    let main = job.run_main().await;
    main.assert_success();
    assert_eq!(main.env["API_KEY"], SECRET);
    let post = job.run_post(&main).await;
    post.assert_success();
    assert!(app.live_tokens().await.is_empty(), "the revocation went through the standby too");
    let seen: Vec<String> =
        standby.received_requests().await.unwrap().iter().map(|r| format!("{} {}", r.method, r.url.path())).collect();
    for expected in [format!("POST /v1/auth/{}/login", app.mount), "POST /v1/auth/token/revoke-self".into()] {
        assert!(seen.contains(&expected), "{expected} did not go to the standby: {seen:?}");
    }
    for step in [&main, &post] {
        assert_no_leak(step, &[&main.env["VAULT_TOKEN"], &issuer.issued_tokens()[0], SECRET]);
    }
}

#[tokio::test]
async fn the_post_step_never_fails_the_job_nor_prints_the_token() {
    let services = Services::from_env();
    let issuer = Issuer::start().await;
    let app = provision(&services, &issuer, AppOptions::new()).await;
    let job = job(&app, services.bao.addr());

    let no_state = job.run_post_with_state(&BTreeMap::new()).await;
    no_state.assert_success();
    assert!(no_state.stdout.contains("::notice::vault-login: nothing to revoke"), "{no_state:?}");

    let main = job.run_main().await;
    main.assert_success();
    let token = main.env["VAULT_TOKEN"].clone();
    let other = BaoServer::start(&services, &[]).await;
    let mut foreign = main.state.clone();
    foreign.insert("vault_addr".into(), other.addr.clone());
    let elsewhere = job.run_post_with_state(&foreign).await;
    elsewhere.assert_success();
    assert!(elsewhere.stdout.contains("no longer accepts this token"), "{elsewhere:?}");
    assert_eq!(app.live_tokens().await.len(), 1, "another Vault cannot revoke this one's token");

    assert_eq!(app.client(&token).revoke_self().await.status, 204);
    let already = job.run_post(&main).await;
    already.assert_success();
    assert!(already.stdout.contains("::notice::vault-login: the Vault at"), "{already:?}");
    assert!(already.stdout.contains("no longer accepts this token"), "{already:?}");
    for step in [&no_state, &main, &elsewhere, &already] {
        assert_no_leak(step, &[&token, &issuer.issued_tokens()[0], SECRET]);
    }
}
