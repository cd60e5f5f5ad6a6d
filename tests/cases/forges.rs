//! Each forge's dialect end to end: a forge shaped like Gitea's Actions OIDC proposal (issuer
//! `<ROOT_URL>api/actions/oidc`, keys at `<issuer>/jwks`, its claims), a real OpenBao configured as
//! docs/vault-setup.md says for Gitea, and the step run as Gitea's runner runs it. The dry run must name the
//! issuer Vault trusts, and the fake token must carry every claim the forge's real one does.

use std::collections::BTreeSet;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value, json};

use crate::support::issuer::GITEA_IDS;
use crate::support::*;

const SECRET: &str = "gitea-dialect-secret-5c1e";

/// The payload of a JWT, unverified (these are the tests' own tokens).
fn payload(jwt: &str) -> Map<String, Value> {
    let part = jwt.split('.').nth(1).expect("a JWT has a payload");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).expect("base64url")).expect("a JSON object")
}

/// A Gitea job of `app`: its runner says `GITEA_ACTIONS=true` beside `GITHUB_ACTIONS=true`.
fn gitea_job(app: &App) -> Job {
    app.vault_job().env("GITEA_ACTIONS", "true").input("secrets", &format!("kvv2/{}/config api_key", app.name))
}

#[tokio::test]
async fn a_gitea_job_logs_in_with_the_vault_setup_documented_for_gitea() {
    let services = Services::from_env();
    let issuer = Issuer::start_as(ForgeShape::Gitea).await;
    // Bound on the repository's id, as docs/vault-setup.md recommends where the forge sends one.
    let bound = json!({ "repository_id": GITEA_IDS[1].1, "ref": "refs/heads/*" });
    let options = AppOptions::new().kv2("config", json!({ "api_key": SECRET })).bound_claims(bound);
    let app = App::provision(&services, &issuer, options).await;
    assert_eq!(issuer.issuer_url(), format!("{}/api/actions/oidc", issuer.base_url()));

    let ids = [("--repository-id", GITEA_IDS[1].1), ("--owner-id", GITEA_IDS[0].1)];
    let dry = gitea_job(&app).input("dry-run", "true").env("GITHUB_REPOSITORY_ID", ids[0].1);
    let dry = dry.env("GITHUB_REPOSITORY_OWNER_ID", ids[1].1).run_main().await;
    dry.assert_success();
    let row = |name: &str| {
        let rest = dry.stdout.lines().find_map(|line| line.trim_start().strip_prefix(name)?.strip_prefix("  "));
        rest.map(|value| value.trim().to_owned()).unwrap_or_default()
    };
    let trusted = format!("{}  (bound_issuer, oidc_discovery_url; from GITHUB_SERVER_URL)", issuer.issuer_url());
    assert_eq!(row("issuer"), trusted, "{dry:?}");
    assert!(row("JWKS").starts_with(&format!("{}/jwks  ", issuer.issuer_url())), "{dry:?}");

    let main = gitea_job(&app).run_main().await;
    main.assert_success();
    assert_eq!(main.env["API_KEY"], SECRET);
    let real = payload(&issuer.issued_tokens()[0]);
    let paths = issuer.requested_paths().await;
    assert!(paths.contains(&"/api/actions/oidc/jwks".to_owned()), "Vault fetched Gitea's keys: {paths:?}");

    let dir = tempfile::tempdir().unwrap();
    let args = ["fake-token", "--forge", "gitea", "--server-url", issuer.base_url(), "--repository"];
    let repository = app.repository();
    let args = [&args[..], &[&repository, ids[0].0, ids[0].1, ids[1].0, ids[1].1]].concat();
    let fake = run_local(dir.path(), &args, &[]).await;
    fake.assert_success();
    let fake = payload(fake.stdout.trim());
    let names = |claims: &Map<String, Value>| claims.keys().cloned().collect::<BTreeSet<_>>();
    assert_eq!(names(&fake), names(&real), "the fake Gitea token has the real one's claims");
    for claim in ["iss", "sub", "repository_id", "repository_owner_id", "runner_environment"] {
        assert_eq!(fake[claim], real[claim], "{claim}");
    }
    assert_eq!(real["iat"].as_i64().unwrap() - real["nbf"].as_i64().unwrap(), 300);
    assert_eq!(fake["iat"].as_i64().unwrap() - fake["nbf"].as_i64().unwrap(), 300);

    assert_no_leak(&main, &[&main.env["VAULT_TOKEN"], &issuer.issued_tokens()[0], SECRET]);
    gitea_job(&app).run_post(&main).await.assert_success();
    assert!(app.live_tokens().await.is_empty());
}

/// Gitea refuses with a 401 and its realm when the job lacks `id-token: write`: the fix is Gitea's alone.
#[tokio::test]
async fn a_refused_gitea_request_names_gitea_s_opt_in_only() {
    let services = Services::from_env();
    let issuer = Issuer::start_as(ForgeShape::Gitea).await;
    let app = App::provision(&services, &issuer, AppOptions::new()).await;
    let realm = r#"Bearer realm="Gitea Actions OIDC""#;
    let refusal = wiremock::ResponseTemplate::new(401).insert_header("WWW-Authenticate", realm);
    issuer.push_token_response(refusal.set_body_string("id-token permission not granted"));
    let main = gitea_job(&app).run_main().await;
    main.assert_failure();
    let log = main.log();
    for needle in ["the forge refused the ID-token request with 401", "on Gitea add `permissions: id-token: write`"] {
        assert!(log.contains(needle), "{needle:?} missing:\n{main:?}");
    }
    assert!(!log.contains("enable-openid-connect"), "only Gitea's opt-in: {main:?}");
    assert_eq!(issuer.token_requests().await.len(), 1, "a refusal is not retried");
    assert!(main.env.is_empty(), "nothing exported: {main:?}");
}
