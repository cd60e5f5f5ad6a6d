//! The core flow on real servers: ID token -> JWT login -> masked exports -> post-step revoke.

use crate::support::*;
use serde_json::json;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

#[tokio::test]
async fn exported_token_works_until_the_post_step_revokes_it() {
    let (services, issuer, app) = setup(AppOptions::new()).await;
    let job = app.vault_job();
    let main = job.run_main().await;
    main.assert_success();

    assert_eq!(main.env["VAULT_ADDR"], services.bao.addr());
    let token = main.env["VAULT_TOKEN"].clone();
    let me = app.client(&token).lookup_self().await;
    assert!(me.is_success(), "{me:?}");
    let policies = me.body["data"]["policies"].as_array().unwrap();
    assert!(policies.contains(&json!(app.policy)) && policies.contains(&json!("default")), "{policies:?}");
    assert_eq!(main.outputs["token-accessor"], me.body["data"]["accessor"].as_str().unwrap());
    assert_eq!(main.outputs["policies"], format!("default,{}", app.policy));
    let expires = OffsetDateTime::parse(&main.outputs["expires-at"], &Rfc3339).expect("expires-at is RFC 3339");
    let ttl = expires - OffsetDateTime::now_utc();
    assert!(ttl.whole_minutes() > 10 && ttl.whole_minutes() <= 15, "role token_ttl is 15m, got {ttl}");

    let requests = issuer.token_requests().await;
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].query.as_deref(), Some("placeholder=true&audience=vault"));
    assert_eq!((requests[0].method.as_str(), requests[0].accept.as_deref()), ("GET", Some("application/json")));
    assert!(requests[0].path.ends_with("/idtoken"), "the runner's URL, as given: {}", requests[0].path);

    let jwt = issuer.issued_tokens()[0].clone();
    let first_lines: Vec<&str> = main.stdout.lines().take(2).collect();
    assert_eq!(first_lines, [format!("::add-mask::{jwt}"), format!("::add-mask::{token}")], "masks come first");
    assert!(main.summary.contains(&app.role), "{}", main.summary);
    assert_no_leak(&main, &[&token, &jwt]);

    let post = job.run_post(&main).await;
    post.assert_success();
    assert!(post.stdout.contains("Revoked the Vault token"), "{post:?}");
    let receipt = format!("Revoked token `{}` at ", main.outputs["token-accessor"]);
    assert!(post.summary.contains(&receipt), "the post step ends the receipt: {}", post.summary);
    assert_no_leak(&post, &[&token, &jwt]);
    assert_eq!(app.client(&token).lookup_self().await.status, 403, "the token must be dead after the post step");
    assert!(app.live_tokens().await.is_empty());
}

#[tokio::test]
async fn debug_mode_leaks_nothing_either() {
    let (_, issuer, app) = setup(AppOptions::new().kv2("config", json!({"api_key": "debug-key-7731"}))).await;
    let job = app.vault_job().debug().input("secrets", &format!("kvv2/{}/config api_key", app.name));
    let main = job.run_main().await;
    main.assert_success();
    assert!(main.stdout.contains("::debug::"), "RUNNER_DEBUG=1 shows debug lines: {main:?}");
    let post = job.run_post(&main).await;
    let jwt = issuer.issued_tokens()[0].clone();
    let secrets = [main.env["VAULT_TOKEN"].as_str(), jwt.as_str(), "debug-key-7731"];
    assert_no_leak(&main, &secrets);
    assert_no_leak(&post, &secrets);
}

#[tokio::test]
async fn a_given_jwt_replaces_the_id_token_request() {
    let (_, issuer, app) = setup(AppOptions::new()).await;
    let jwt = app.mint();
    let job = app.vault_job().without_id_token().input("jwt", &jwt).input("export-token", "false");
    let main = job.run_main().await;
    main.assert_success();
    assert!(!main.env.contains_key("VAULT_TOKEN"), "export-token: false");
    assert!(issuer.token_requests().await.is_empty());
    let token = main.state["vault_token"].clone();
    assert_no_leak(&main, &[&jwt, &token]);
    job.run_post(&main).await.assert_success();
    assert!(app.live_tokens().await.is_empty(), "the post step revokes an unexported token too");
}

/// nektos/act without `--github-instance` sets GITHUB_REPOSITORY to the remote's URL (issue 12, finding 9):
/// the `jwt` input's `repository` claim names the role instead of `gitea_cicd_<app>.git`.
#[tokio::test]
async fn a_repository_url_in_the_environment_gives_way_to_the_tokens_claim() {
    let (_, _, app) = setup(AppOptions::new()).await;
    let act_url = format!("https://gitea.example.org/{}.git", app.repository());
    let job = app.vault_job().without_id_token().env("GITHUB_REPOSITORY", &act_url).input("jwt", &app.mint());
    let main = job.run_main().await;
    main.assert_success();
    assert!(main.stdout.contains(&format!("as role `{}`", app.role)), "{main:?}");
    job.run_post(&main).await.assert_success();

    let without_jwt = app.vault_job().env("GITHUB_REPOSITORY", &act_url).run_main().await;
    without_jwt.assert_failure();
    assert!(without_jwt.log().contains("input `app`: GITHUB_REPOSITORY is `https://gitea.example.org/"));
    assert!(app.live_tokens().await.is_empty());
}

#[tokio::test]
async fn revoke_false_leaves_the_token_to_its_ttl() {
    let (_, _, app) = setup(AppOptions::new()).await;
    let job = app.vault_job().input("revoke", "false");
    let main = job.run_main().await;
    main.assert_success();
    assert!(!main.state.contains_key("vault_token"), "no token in state when it is not to be revoked");
    let post = job.run_post(&main).await;
    post.assert_success();
    assert!(post.stdout.contains("nothing to revoke"), "{post:?}");
    assert_eq!(app.live_tokens().await.len(), 1);
    app.client(&main.env["VAULT_TOKEN"]).revoke_self().await;
}

/// Every refused start: exit code, nothing exported, a message naming the cause, no token left alive.
async fn assert_refused(app: &App, job: Job, cause: &str) -> StepResult {
    let main = job.run_main().await;
    main.assert_failure();
    assert!(main.raw_env_file.is_empty() && main.raw_output_file.is_empty(), "nothing may be exported: {main:?}");
    assert!(main.log().contains(cause), "expected {cause:?} in the log: {main:?}");
    let issued = app.issuer.issued_tokens();
    let secrets: Vec<&str> = issued.iter().map(String::as_str).collect();
    assert_no_leak(&main, &secrets);
    assert!(app.live_tokens().await.is_empty());
    main
}

#[tokio::test]
async fn wrong_audience_is_refused_with_vaults_words() {
    let (_, _, app) = setup(AppOptions::new()).await;
    let job = app.vault_job().input("audience", "not-vault");
    assert_refused(&app, job, "invalid audience (aud) claim").await;
}

#[tokio::test]
async fn a_ref_outside_the_bound_claims_is_refused_and_shown() {
    let (_, _, app) = setup(AppOptions::new()).await;
    let job = app.vault_job().claims(|c| c.with_ref("refs/tags/v1.0.0"));
    let main = assert_refused(&app, job, r#"claim "ref" does not match"#).await;
    assert!(main.log().contains("ref=refs/tags/v1.0.0"), "the token's claims are shown: {main:?}");
}

#[tokio::test]
async fn an_unknown_role_is_refused() {
    let (_, _, app) = setup(AppOptions::new()).await;
    let job = app.vault_job().input("role", "gitea_cicd_nope");
    assert_refused(&app, job, r#"role "gitea_cicd_nope" could not be found"#).await;
}

#[tokio::test]
async fn a_job_without_id_token_permission_is_told_how_to_get_one() {
    let (_, _, app) = setup(AppOptions::new()).await;
    let job = app.vault_job().without_id_token();
    assert_refused(&app, job, "permissions: id-token: write").await;
}

#[tokio::test]
async fn a_missing_url_names_the_input() {
    let (_services, _issuer, app) = setup(AppOptions::new()).await;
    let job = app.job().input("mount", &app.mount);
    assert_refused(&app, job, "input `url` is required").await;
}

#[tokio::test]
async fn awkward_values_round_trip_through_the_env_file() {
    let awkward = "line one\nA=B<<C\nghadelimiter_0123456789abcdef0123456789abcdef\nEOF\n  spaced  \nlast";
    let options = AppOptions::new().kv2("config", json!({ "awkward": awkward }));
    let (_, _, app) = setup(options).await;
    let job = app.vault_job().input("secrets", &format!("kvv2/{}/config awkward | AWKWARD", app.name));
    let main = job.run_main().await;
    main.assert_success();
    assert_eq!(main.env["AWKWARD"], awkward);
    assert_eq!(main.outputs["AWKWARD"], awkward);
    assert_no_leak(&main, &[awkward, &main.env["VAULT_TOKEN"]]);
    job.run_post(&main).await.assert_success();
}

#[tokio::test]
async fn an_output_file_that_cannot_be_written_takes_the_env_exports_back() {
    let options = AppOptions::new().kv2("config", json!({ "api_key": "key-half-written-1" }));
    let (_, issuer, app) = setup(options).await;
    let blocked = tempfile::tempdir().unwrap();
    let job = app
        .vault_job()
        .input("secrets", &format!("kvv2/{}/config api_key", app.name))
        .env("GITHUB_OUTPUT", &blocked.path().display().to_string());
    let main = job.run_main().await;
    main.assert_failure();
    assert!(main.raw_env_file.is_empty(), "all or nothing: {main:?}");
    assert!(main.log().contains("the Vault token was revoked"), "{main:?}");
    assert!(app.live_tokens().await.is_empty());
    assert_no_leak(&main, &["key-half-written-1", &issuer.issued_tokens()[0]]);
}

#[tokio::test]
async fn a_summary_that_cannot_be_written_is_only_a_warning() {
    let (_, _, app) = setup(AppOptions::new()).await;
    let blocked = tempfile::tempdir().unwrap();
    let job = app.vault_job().env("GITHUB_STEP_SUMMARY", &blocked.path().display().to_string());
    let main = job.run_main().await;
    main.assert_success();
    assert!(main.stdout.contains("::warning::could not write the step summary"), "{main:?}");
    assert!(main.env.contains_key("VAULT_TOKEN"));
    job.run_post(&main).await.assert_success();
}
