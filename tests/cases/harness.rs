//! Smoke tests of the harness itself (independent of the binary's behaviour): the fake forge, the
//! provisioning on the real OpenBao and PostgreSQL, the runner emulation and the leak check.

use crate::support::leak::find_leaks;
use crate::support::{App, AppOptions, Issuer, JobClaims, Services, assert_no_leak};
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{Value, json};
use wiremock::ResponseTemplate;

#[tokio::test]
async fn provisioned_app_logs_in_reads_secrets_and_revokes() {
    let services = Services::from_env();
    let issuer = Issuer::start().await;
    let options = AppOptions::new()
        .kv2("config", json!({ "api_key": "first-version" }))
        .kv2("config", json!({ "api_key": "second-version-3f9a" }))
        .kv1("legacy", json!({ "user": "legacy-user" }))
        .database();
    let app = App::provision(&services, &issuer, options).await;
    assert_eq!(app.kv2_versions["config"], 2);

    let login = app.login(&app.mint()).await;
    assert!(login.is_success(), "login: {login:?}");
    let auth = &login.body["auth"];
    let policies: Vec<&str> = auth["policies"].as_array().unwrap().iter().map(|p| p.as_str().unwrap()).collect();
    assert!(policies.contains(&"default") && policies.contains(&app.policy.as_str()), "{policies:?}");
    assert_eq!(auth["metadata"]["role"], app.role);
    assert_eq!(auth["lease_duration"], 900);
    let token = auth["client_token"].as_str().unwrap();
    let client = app.client(token);
    assert_eq!(app.live_tokens().await.len(), 1);

    let kv2 = client.read(&format!("kvv2/data/{}/config", app.name)).await.expect("KV v2 secret");
    assert_eq!(kv2["data"]["data"]["api_key"], "second-version-3f9a");
    assert_eq!(kv2["data"]["metadata"]["version"], 2);
    let kv1 = client.read(&format!("kv/{}/legacy", app.name)).await.expect("KV v1 secret");
    assert_eq!(kv1["data"]["user"], "legacy-user");
    let other = client.call("GET", "kvv2/data/someone-else/config", None).await;
    assert_eq!(other.status, 403, "the policy is limited to the app: {other:?}");

    let creds = client.read(&format!("postgres/creds/{}", app.name)).await.expect("database credentials");
    let user = creds["data"]["username"].as_str().unwrap();
    let password = creds["data"]["password"].as_str().unwrap();
    let pg = &services.pg;
    assert!(pg.login_works(user, password).await, "dynamic user can log in");
    assert!(!pg.login_works(user, "not-the-password").await);
    assert!(pg.member_of(user, &app.pg_group_role).await);

    assert_eq!(client.revoke_self().await.status, 204);
    assert!(pg.role_gone(user).await, "revoking the token drops the dynamic user");
    assert_eq!(client.lookup_self().await.status, 403);
    assert!(services.bao.lookup(token).await.is_none());
    assert!(app.live_tokens().await.is_empty());
}

#[tokio::test]
async fn role_enforces_audience_ref_repository_and_expiry() {
    let services = Services::from_env();
    let issuer = Issuer::start().await;
    let app = App::provision(&services, &issuer, AppOptions::new()).await;
    let cases = [
        (issuer.mint(&app.claims(), "not-vault"), "invalid audience (aud) claim"),
        (issuer.mint(&app.claims().with_ref("refs/tags/v1"), "vault"), "claim \"ref\" does not match"),
        (issuer.mint(&JobClaims::for_repository("arcodange/other"), "vault"), "claim \"repository\" does not match"),
        (issuer.mint(&app.claims().expired(), "vault"), "token is expired"),
        (issuer.mint(&app.claims().without_claim("sub"), "vault"), "claim \"sub\" not found"),
    ];
    for (jwt, expected) in cases {
        let reply = app.login(&jwt).await;
        assert_eq!(reply.status, 400, "{reply:?}");
        assert!(reply.errors().iter().any(|e| e.contains(expected)), "want {expected:?}: {reply:?}");
    }
    assert!(app.login(&app.mint()).await.is_success());
    let paths = issuer.requested_paths().await;
    assert!(paths.iter().any(|p| p.ends_with("/.well-known/keys")), "Vault fetched the JWKS: {paths:?}");
}

#[tokio::test]
async fn token_endpoint_behaves_like_the_forge() {
    let issuer = Issuer::start().await;
    let claims = JobClaims::for_repository("arcodange/webapp");
    let request_token = issuer.register_job(claims.clone());
    let url = issuer.token_request_url(&claims.run_id);
    let http = vault_login::tls::client_builder().build().expect("HTTP client");
    let get = |url: String, bearer: Option<&str>| {
        let req = http.get(url);
        let req = match bearer {
            Some(b) => req.bearer_auth(b),
            None => req,
        };
        async move { req.send().await.unwrap() }
    };

    assert_eq!(get(format!("{url}&audience=vault"), Some("wrong")).await.status(), 401);
    assert_eq!(get(format!("{url}&audience=vault"), None).await.status(), 401);
    let wrong_run = issuer.token_request_url("999");
    assert_eq!(get(wrong_run, Some(&request_token)).await.status(), 400);
    assert_eq!(http.post(&url).bearer_auth(&request_token).send().await.unwrap().status(), 405);

    let ok = get(format!("{url}&audience=vault"), Some(&request_token)).await;
    assert_eq!(ok.status(), 200);
    let jwt = ok.json::<Value>().await.unwrap()["value"].as_str().unwrap().to_owned();
    let payload = verify(&issuer, &jwt, "vault").await;
    assert_eq!(payload["sub"], "repo:arcodange/webapp:ref:refs/heads/main");
    assert_eq!(payload["repository_owner"], "arcodange");
    assert_eq!(payload["exp"].as_i64().unwrap() - payload["iat"].as_i64().unwrap(), 300);

    let default = get(url.clone(), Some(&request_token)).await.json::<Value>().await.unwrap();
    let default_aud = issuer.default_audience("arcodange");
    assert_eq!(verify(&issuer, default["value"].as_str().unwrap(), &default_aud).await["aud"], default_aud);

    issuer.push_token_response(ResponseTemplate::new(503));
    assert_eq!(get(url.clone(), Some(&request_token)).await.status(), 503);
    assert_eq!(get(url.clone(), Some(&request_token)).await.status(), 200, "scripted responses are used once");

    assert_eq!(issuer.issued_tokens().len(), 3);
    assert_eq!(issuer.issued_tokens()[0], jwt);
    let seen = issuer.token_requests().await;
    assert_eq!(seen.len(), 8);
    assert_eq!(seen[0].query.as_deref(), Some("placeholder=true&audience=vault"));
    assert_eq!(seen[0].authorization.as_deref(), Some("Bearer wrong"));
    assert_eq!(seen[5].query.as_deref(), Some("placeholder=true"));
}

/// Verifies a token against the issuer's published discovery document and JWKS.
async fn verify(issuer: &Issuer, jwt: &str, audience: &str) -> Value {
    let discovery_url = format!("{}/.well-known/openid-configuration", issuer.issuer_url());
    let discovery: Value = reqwest::get(discovery_url).await.unwrap().json().await.unwrap();
    assert_eq!(discovery["issuer"], issuer.issuer_url());
    let jwks: JwkSet = reqwest::get(discovery["jwks_uri"].as_str().unwrap()).await.unwrap().json().await.unwrap();
    let kid = jsonwebtoken::decode_header(jwt).unwrap().kid.expect("kid");
    let key = DecodingKey::from_jwk(jwks.find(&kid).expect("key of kid")).unwrap();
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_audience(&[audience]);
    validation.set_issuer(&[issuer.issuer_url()]);
    jsonwebtoken::decode::<Value>(jwt, &key, &validation).expect("valid token").claims
}

const STEP_SCRIPT: &str = r##"
if [ "$1" = post ]; then
  echo "post state=$STATE_token"
  [ -s "$GITHUB_STATE" ] && echo "state file not fresh"
  exit 3
fi
echo "::add-mask::$INPUT_PASSWORD"
printf 'token<<EOF\nabc\nEOF\n' >> "$GITHUB_STATE"
printf 'FOO=bar\nMULTI<<D1\nl1\nl2\nD1\n' >> "$GITHUB_ENV"
echo "result=ok" >> "$GITHUB_OUTPUT"
echo "# summary" >> "$GITHUB_STEP_SUMMARY"
"##;

#[tokio::test]
async fn job_runs_steps_like_a_runner() {
    let issuer = Issuer::start().await;
    let app_like = JobClaims::for_repository("arcodange/webapp");
    let job = crate::support::Job::for_claims(&issuer, app_like)
        .program("/bin/sh", &["-c", STEP_SCRIPT, "step"])
        .input("password", "hunter2-secret")
        .input("export-token", "true")
        .remove_env("CI");
    let main = job.run_main().await;
    main.assert_success();
    assert_eq!(main.env["FOO"], "bar");
    assert_eq!(main.env["MULTI"], "l1\nl2");
    assert_eq!(main.outputs["result"], "ok");
    assert_eq!(main.state["token"], "abc");
    assert_eq!(main.summary, "# summary\n");
    assert_eq!(main.masks(), ["hunter2-secret"]);
    assert_no_leak(&main, &["hunter2-secret", "abc-not-printed"]);
    let env = &main.process_env;
    assert_eq!(env["INPUT_EXPORT-TOKEN"], "true");
    assert_eq!(env["GITHUB_REPOSITORY"], "arcodange/webapp");
    assert_eq!(env["GITHUB_REF"], "refs/heads/main");
    assert!(env["ACTIONS_ID_TOKEN_REQUEST_URL"].ends_with("/idtoken?placeholder=true"));
    assert!(!env.contains_key("CI") && !env.contains_key("HOME"));

    let post = job.run_post(&main).await;
    assert_eq!(post.code, Some(3));
    assert_eq!(post.stdout, "post state=abc\n");
    assert_eq!(post.process_env["STATE_token"], "abc");
    assert!(!post.process_env.keys().any(|k| k.starts_with("INPUT_")));
}

#[tokio::test]
async fn child_process_sees_exactly_the_runner_environment() {
    let issuer = Issuer::start().await;
    let job = crate::support::Job::for_claims(&issuer, JobClaims::for_repository("arcodange/webapp"))
        .program("/usr/bin/env", &[])
        .input("Vault url.x", "http://vault")
        .without_id_token()
        .debug();
    let main = job.run_main().await;
    main.assert_success();
    let seen: std::collections::BTreeMap<String, String> =
        main.stdout.lines().filter_map(|l| l.split_once('=')).map(|(k, v)| (k.into(), v.into())).collect();
    assert_eq!(seen, main.process_env);
    assert_eq!(seen["INPUT_VAULT_URL_X"], "http://vault");
    assert_eq!(seen["RUNNER_DEBUG"], "1");
    assert!(!seen.contains_key("ACTIONS_ID_TOKEN_REQUEST_URL"));
    assert!(!seen.contains_key("ACTIONS_ID_TOKEN_REQUEST_TOKEN"));
}

#[test]
fn leak_check_allows_only_mask_command_lines() {
    let s = "s3cr3t-value";
    let ok = |stdout: &str| find_leaks(&[("stdout", stdout, true)], &[s]).is_empty();
    assert!(ok("::add-mask::s3cr3t-value\nexported VAULT_TOKEN\n"));
    assert!(!ok("token is s3cr3t-value\n"));
    assert!(ok("::add-mask::s3cr3t-value%25encoded\n"), "every add-mask line is dropped by the runner");
    assert!(!ok(" ::add-mask::s3cr3t-value\n"));
    assert!(!ok("encoded: czNjcjN0LXZhbHVl\n"), "base64 form");
    let summary_mask = find_leaks(&[("summary", "::add-mask::s3cr3t-value", false)], &[s]);
    assert_eq!(summary_mask.len(), 1, "mask lines are no excuse in the summary");

    let pem = "-----BEGIN KEY-----\nAAAAline-two\nBBBBline-three\n-----END KEY-----";
    let multi = |text: &str| find_leaks(&[("stderr", text, true)], &[pem]);
    assert!(
        multi("::add-mask::AAAAline-two\n::add-mask::BBBBline-three\n::add-mask::-----BEGIN KEY-----\n").is_empty()
    );
    assert_eq!(multi("got BBBBline-three\n").len(), 1);
    let in_json = multi(&json!({ "key": pem }).to_string());
    assert!(in_json.iter().any(|l| l.contains("(JSON-escaped)")), "{in_json:?}");
    assert!(!multi("-----BEGIN KEY-----%0AAAAAline-two%0A").is_empty());
}

#[test]
#[should_panic(expected = "secret leaked")]
fn assert_no_leak_panics_on_a_leak_in_stderr() {
    let result = crate::support::StepResult::synthetic("::add-mask::p4ssw0rd\n", "debug: p4ssw0rd\n");
    assert_no_leak(&result, &["p4ssw0rd"]);
}

#[test]
fn missing_services_env_panics_with_a_hint() {
    let exe = std::env::current_exe().unwrap();
    let out = std::process::Command::new(exe)
        .args(["--exact", "cases::harness::provisioned_app_logs_in_reads_secrets_and_revokes", "--test-threads=1"])
        .env_clear()
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success(), "{stdout}");
    assert!(stdout.contains("scripts/test") && stdout.contains("VAULT_LOGIN_TEST_BAO_ADDR"), "{stdout}");
}
