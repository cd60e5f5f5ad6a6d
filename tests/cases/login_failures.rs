//! Every known refusal of a JWT login, provoked on the real OpenBao through the binary: each run fails,
//! exports nothing, leaks nothing, and ends with the one-line fix for that refusal.
//! (A sealed Vault is covered with the reliability tests.)

use std::time::Duration;

use crate::support::*;
use serde_json::{Value, json};

/// Runs the main step, which must be refused; checks what every refusal must hold, returns the fix.
async fn refused(job: &Job, issuer: &Issuer, app: &App, extra_secrets: &[&str]) -> String {
    let main = job.run_main().await;
    main.assert_failure();
    for (name, text) in [("GITHUB_ENV", &main.raw_env_file), ("GITHUB_OUTPUT", &main.raw_output_file)] {
        assert!(text.is_empty(), "a refused login exports nothing, but {name} has: {text:?}");
    }
    assert!(main.raw_state_file.is_empty(), "no token, no state: {main:?}");
    assert!(main.stdout.lines().any(|l| l.starts_with("::error::login to ")), "{main:?}");
    let tokens = issuer.issued_tokens();
    let mut secrets: Vec<&str> = tokens.iter().map(String::as_str).collect();
    secrets.extend_from_slice(extra_secrets);
    secrets.push(&main.process_env["ACTIONS_ID_TOKEN_REQUEST_TOKEN"]);
    assert_no_leak(&main, &secrets);
    assert!(app.live_tokens().await.is_empty(), "a refused login leaves no token");
    let fixes: Vec<&str> = main.stdout.lines().filter_map(|l| l.strip_prefix("  fix: ")).collect();
    assert_eq!(fixes.len(), 1, "exactly one fix line: {main:?}");
    fixes[0].to_owned()
}

#[tokio::test]
async fn role_not_found() {
    let (_, issuer, app) = setup(AppOptions::new()).await;
    let job = app.vault_job().input("role", "gitea_cicd_nope");
    let m = &app.mount;
    assert_eq!(
        refused(&job, &issuer, &app, &[]).await,
        format!(
            "auth/{m} has no role `gitea_cicd_nope`: create it (`bao write auth/{m}/role/gitea_cicd_nope @role.json`) \
             or set the `role` or `app` input to an existing role (Vault lower-cases role names)"
        )
    );
}

#[tokio::test]
async fn audience_mismatch() {
    let (_, issuer, app) = setup(AppOptions::new()).await;
    let job = app.vault_job().input("audience", "not-vault");
    assert_eq!(
        refused(&job, &issuer, &app, &[]).await,
        format!(
            "the token's aud `not-vault` is not in role `{}`'s bound_audiences: set the `audience` input to one of \
             them, or add `not-vault` to bound_audiences",
            app.role
        )
    );
}

/// OpenBao 2.7 refuses a string `aud` too (it reads `aud` as a list), not only an array one.
#[tokio::test]
async fn no_bound_audiences() {
    let (_, issuer, app) = setup(AppOptions::new().role_field("bound_audiences", Value::Null)).await;
    let expected = format!(
        "role `{}` has no bound_audiences, so any aud is refused: add `\"bound_audiences\": [\"vault\"]`",
        app.role
    );
    let string_aud = app.vault_job();
    assert_eq!(refused(&string_aud, &issuer, &app, &[]).await, expected);
    let array_aud = app.vault_job().claims(|c| c.with_claim("aud", json!(["vault"])));
    assert_eq!(refused(&array_aud, &issuer, &app, &[]).await, expected);
}

#[tokio::test]
async fn bound_claim_mismatch() {
    let (_, issuer, app) = setup(AppOptions::new()).await;
    let job = app.vault_job().claims(|c| c.with_ref("refs/tags/v1"));
    assert_eq!(
        refused(&job, &issuer, &app, &[]).await,
        format!(
            "the token's `ref` is `refs/tags/v1`, which role `{}`'s bound_claims do not allow: add it to bound_claims \
             (patterns need \"bound_claims_type\": \"glob\") or run the job from an allowed ref",
            app.role
        )
    );
}

/// A role written for GitHub (bound on `environment`) meets a Forgejo token, which has no such claim.
#[tokio::test]
async fn bound_claim_missing() {
    let (_, issuer, app) = setup(AppOptions::new().bound_claims(json!({ "environment": "production" }))).await;
    let job = app.vault_job();
    assert_eq!(
        refused(&job, &issuer, &app, &[]).await,
        format!(
            "the token has no `environment` claim, which role `{}`'s bound_claims require: drop `environment` from \
             bound_claims, or bind on claims every job token carries (repository, ref)",
            app.role
        )
    );
}

/// The fix names how long ago the token expired: the exact seconds depend on when the step ran.
fn split_duration(fix: &str, before: &str, after: &str) -> Duration {
    let middle = fix.strip_prefix(before).and_then(|rest| rest.strip_suffix(after));
    let middle = middle.unwrap_or_else(|| panic!("fix {fix:?} is not {before:?} <duration> {after:?}"));
    humantime::parse_duration(middle).unwrap_or_else(|e| panic!("{middle:?} in {fix:?}: {e}"))
}

#[tokio::test]
async fn expired_token() {
    let (_, issuer, app) = setup(AppOptions::new()).await;
    let jwt = issuer.mint(&app.claims().expired(), "vault");
    let job = app.vault_job().input("jwt", &jwt);
    let fix = refused(&job, &issuer, &app, &[&jwt]).await;
    let ago = split_duration(
        &fix,
        "the token expired ",
        " ago (exp): request it right before logging in (a `jwt` input may be stale) and check the runner's and \
         Vault's clocks",
    );
    assert!((3300..3360).contains(&ago.as_secs()), "issued 1h ago with a 5m lifetime: {fix}");
}

#[tokio::test]
async fn not_yet_valid() {
    let (_, issuer, app) = setup(AppOptions::new()).await;
    let mut claims = app.claims().with_claim("nbf", now() + 1800);
    claims.lifetime = 7200;
    let jwt = issuer.mint(&claims, "vault");
    let job = app.vault_job().input("jwt", &jwt);
    let fix = refused(&job, &issuer, &app, &[&jwt]).await;
    let wait = split_duration(
        &fix,
        "the token becomes valid only in ",
        " (nbf): the runner's or Vault's clock is off; sync both with NTP",
    );
    assert!((1740..=1800).contains(&wait.as_secs()), "nbf is 30 minutes ahead: {fix}");
}

#[tokio::test]
async fn issuer_mismatch() {
    let (_, issuer, app) = setup(AppOptions::new()).await;
    let job = app.vault_job().claims(|c| c.with_claim("iss", "https://other-forge.example/api/actions"));
    assert_eq!(
        refused(&job, &issuer, &app, &[]).await,
        format!(
            "the token's iss is `https://other-forge.example/api/actions`: set bound_issuer in auth/{}/config to \
             exactly that (no trailing slash)",
            app.mount
        )
    );
}

/// An altered token, and one signed by a key the forge never published: the same refusal, the same fix.
#[tokio::test]
async fn bad_signature_or_unknown_key() {
    let (_, issuer, app) = setup(AppOptions::new()).await;
    let expected = format!(
        "no key of auth/{}/config verifies the token's signature: point oidc_discovery_url (or jwks_url) at the \
         issuer `{}` that signed it; a token from another forge, or an altered one, fails here",
        app.mount,
        issuer.issuer_url()
    );
    let genuine = issuer.mint(&app.claims(), "vault");
    let (head, signature) = genuine.rsplit_once('.').unwrap();
    let flipped = if signature.as_bytes()[10] == b'A' { 'B' } else { 'A' };
    let altered = format!("{head}.{}{flipped}{}", &signature[..10], &signature[11..]);
    let altered_job = app.vault_job().input("jwt", &altered);
    assert_eq!(refused(&altered_job, &issuer, &app, &[&altered]).await, expected);

    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("stranger.pem");
    let openssl = std::process::Command::new("openssl")
        .args(["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out"])
        .arg(&key)
        .output()
        .expect("openssl (needed to make a key the forge never published)");
    assert!(openssl.status.success(), "openssl genpkey: {}", String::from_utf8_lossy(&openssl.stderr));
    let args = ["fake-token", "--sign-with", key.to_str().unwrap(), "--repository", &app.repository()];
    let args =
        [&args[..], &["--ref", "refs/heads/main", "--server-url", issuer.base_url(), "--forge", "forgejo"]].concat();
    let minted = run_local(dir.path(), &args, &[]).await;
    minted.assert_success();
    let stranger = minted.stdout.trim().to_owned();
    let job = app.vault_job().input("jwt", &stranger);
    assert_eq!(refused(&job, &issuer, &app, &[&stranger]).await, expected);
}

#[tokio::test]
async fn oidc_role_type() {
    let options = AppOptions::new()
        .role_field("role_type", json!("oidc"))
        .role_field("allowed_redirect_uris", json!(["http://localhost:8250/oidc/callback"]));
    let (_, issuer, app) = setup(options).await;
    let job = app.vault_job();
    assert_eq!(
        refused(&job, &issuer, &app, &[]).await,
        format!("role `{}` is an OIDC (browser) role: set `\"role_type\": \"jwt\"` on it", app.role)
    );
}

#[tokio::test]
async fn user_claim_missing() {
    let (_, issuer, app) = setup(AppOptions::new().role_field("user_claim", json!("email"))).await;
    let job = app.vault_job();
    assert_eq!(
        refused(&job, &issuer, &app, &[]).await,
        format!(
            "role `{}`'s user_claim `email` is not in the token: set `\"user_claim\": \"sub\"` (every job token has \
             sub)",
            app.role
        )
    );
}

/// OpenBao answers a login to an unknown mount, and one from outside token_bound_cidrs, with the same
/// bare 403 before it reads the token: the fix names both.
fn denied(mount: &str, role: &str) -> String {
    format!(
        "Vault refused before looking at the token: either nothing is mounted at auth/{mount} (set the `mount` input \
         to the JWT auth path shown by `bao auth list`) or role `{role}`'s token_bound_cidrs leave out the runner's \
         address"
    )
}

#[tokio::test]
async fn wrong_mount() {
    let (_, issuer, app) = setup(AppOptions::new()).await;
    let job = app.vault_job().input("mount", "jwt-not-mounted");
    assert_eq!(refused(&job, &issuer, &app, &[]).await, denied("jwt-not-mounted", &app.role));
}

#[tokio::test]
async fn token_bound_cidrs_exclude_the_runner() {
    let (_, issuer, app) = setup(AppOptions::new().role_field("token_bound_cidrs", json!(["10.255.255.0/24"]))).await;
    let job = app.vault_job();
    assert_eq!(refused(&job, &issuer, &app, &[]).await, denied(&app.mount, &app.role));
}
