//! `vault-login diagnose` on the real OpenBao: the role read with the admin token, compared with a fake
//! (or given) token's claims, and the role's read rights on each `secrets` path.

use crate::support::*;
use serde_json::json;

async fn setup(options: AppOptions) -> (Services, Issuer, App) {
    let services = Services::from_env();
    let issuer = Issuer::start().await;
    let app = App::provision(&services, &issuer, options.kv2("config", json!({ "db_host": "db.internal" }))).await;
    (services, issuer, app)
}

/// `vault-login diagnose` for the app, as an admin runs it on a laptop (VAULT_TOKEN in the environment).
async fn diagnose(services: &Services, app: &App, extra: &[&str], env: &[(&str, &str)]) -> StepResult {
    let dir = tempfile::tempdir().unwrap();
    let base = ["diagnose", "--url", services.bao.addr(), "--mount", &app.mount, "--role", &app.role];
    let args = [&base[..], extra].concat();
    let env = [&[("VAULT_TOKEN", services.bao.token())][..], env].concat();
    let run = run_local(dir.path(), &args, &env).await;
    assert_no_leak(&run, &[services.bao.token()]);
    run
}

/// The cells after `check` of the table row it starts (cells are separated by 2+ spaces).
fn row(stdout: &str, check: &str) -> Vec<String> {
    let cells = |line: &str| -> Vec<String> {
        line.trim().split("  ").map(str::trim).filter(|c| !c.is_empty()).map(str::to_owned).collect()
    };
    let found = stdout.lines().map(cells).find(|c| c.first().map(String::as_str) == Some(check));
    found.unwrap_or_else(|| panic!("no row {check:?} in:\n{stdout}")).split_off(1)
}

/// The probe token diagnose creates with the role's policies must be gone when it returns.
async fn assert_no_probe_left(services: &Services, app: &App) {
    for accessor in services.bao.list_accessors().await {
        if let Some(data) = services.bao.lookup_accessor(&accessor).await {
            assert_ne!(data["meta"]["role"], json!(app.role), "a probe token outlived diagnose: {data}");
        }
    }
}

#[tokio::test]
async fn flags_a_mismatched_ref_and_a_missing_read_capability() {
    let (services, issuer, app) = setup(AppOptions::new()).await;
    let secrets = format!("kvv2/{0}/config db_host\nkvv2/shared/config token", app.name);
    let (repository, server) = (app.repository(), issuer.base_url());
    let flags = ["--repository", &repository, "--ref", "refs/tags/v1.2", "--server-url", server, "--forge", "forgejo"];
    let flags = [&flags[..], &["--secrets", &secrets]].concat();
    let run = diagnose(&services, &app, &flags, &[]).await;
    run.assert_failure();
    let out = &run.stdout;
    assert_eq!(row(out, "bound_claims.ref"), ["refs/heads/* (glob)", "refs/tags/v1.2", "FAIL"], "{run:?}");
    assert_eq!(
        row(out, "bound_claims.repository"),
        [format!("{} (glob)", app.repository()), app.repository(), "ok".into()]
    );
    assert_eq!(row(out, "bound_audiences"), ["vault", "vault", "ok"]);
    assert_eq!(row(out, "bound_issuer (config)"), [issuer.issuer_url(), issuer.issuer_url(), "ok".into()]);
    assert_eq!(row(out, &format!("policy {}", app.policy))[1], "exists");
    assert!(out.contains("Reads, as a token with the role's policies:"), "{run:?}");
    let own = format!("kvv2/{}/config", app.name);
    assert_eq!(row(out, &own), [format!("kvv2/data/{}/config (KV v2)", app.name), "read".into(), "ok".into()]);
    assert_eq!(
        row(out, "kvv2/shared/config"),
        [
            "kvv2/data/shared/config (KV v2)",
            "deny: add `path \"kvv2/data/shared/config\" { capabilities = [\"read\"] }`",
            "FAIL"
        ]
    );
    assert!(run.stderr.contains("2 check(s) fail"), "{run:?}");
    assert_no_probe_left(&services, &app).await;
}

#[tokio::test]
async fn a_job_the_role_accepts_passes_every_check() {
    let (services, _issuer, app) = setup(AppOptions::new().database()).await;
    let secrets = format!("kvv2/{0}/config db_host\npostgres/creds/{0} password | PGPASSWORD", app.name);
    let flags = ["--repository", &app.repository(), "--ref", "refs/heads/main", "--secrets", &secrets];
    let run = diagnose(&services, &app, &flags, &[]).await;
    run.assert_success();
    assert!(!run.stdout.contains("FAIL"), "{run:?}");
    assert_eq!(row(&run.stdout, "bound_claims.ref")[2], "ok");
    let iss = row(&run.stdout, "bound_issuer (config)");
    assert_eq!(iss[1..], ["unknown: pass --server-url", "note"], "a fake token's placeholder iss is no failure");
    let creds = format!("postgres/creds/{}", app.name);
    assert_eq!(row(&run.stdout, &creds), [format!("{creds} (database)"), "read".into(), "ok".into()]);
    assert_no_probe_left(&services, &app).await;
}

/// A real token from the forge (`INPUT_JWT`) with the wrong audience, and a role naming a policy that was
/// never written: both flagged, and the token never shown.
#[tokio::test]
async fn a_given_token_and_a_policy_that_does_not_exist() {
    let options = AppOptions::new().role_field("token_policies", json!(["policy-that-was-never-written"]));
    let (services, issuer, app) = setup(options).await;
    let jwt = issuer.mint(&app.claims(), "not-vault");
    let run = diagnose(&services, &app, &[], &[("INPUT_JWT", &jwt)]).await;
    run.assert_failure();
    assert!(run.stdout.contains("against the `jwt` input"), "{run:?}");
    assert_eq!(row(&run.stdout, "bound_audiences"), ["vault", "not-vault", "FAIL"]);
    assert_eq!(row(&run.stdout, "bound_claims.ref")[2], "ok");
    assert_eq!(
        row(&run.stdout, "policy policy-that-was-never-written"),
        ["sys/policies/acl/policy-that-was-never-written", "does not exist", "FAIL"]
    );
    assert_eq!(row(&run.stdout, "bound_issuer (config)"), [issuer.issuer_url(), issuer.issuer_url(), "ok".into()]);
    assert_no_leak(&run, &[&jwt]);
}

#[tokio::test]
async fn an_unknown_role_lists_the_ones_there_are() {
    let (services, _issuer, app) = setup(AppOptions::new()).await;
    let dir = tempfile::tempdir().unwrap();
    let args = ["diagnose", "--url", services.bao.addr(), "--mount", &app.mount, "--role", "gitea_cicd_typo"];
    let run = run_local(dir.path(), &args, &[("VAULT_TOKEN", services.bao.token())]).await;
    run.assert_failure();
    let expected = format!("auth/{} has no role `gitea_cicd_typo`; its roles: {}.", app.mount, app.role);
    assert!(run.stderr.contains(&expected), "{run:?}");
    assert_no_leak(&run, &[services.bao.token()]);
}

/// The lab's read-write `<app>-ops` policy of docs/vault-setup.md, for `app`.
fn documented_ops_policy(app: &str) -> String {
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/vault-setup.md")).unwrap();
    let after = doc.split("**When OpenTofu writes back").nth(1).expect("the read-write section");
    let block = after.split("```hcl\n").nth(1).and_then(|b| b.split("```").next()).expect("its hcl block");
    block.replace("webapp", app)
}

/// `--writes`: the paths OpenTofu writes need `create` and `update`, and its child token `auth/token/create`,
/// which the read-only policy lacks and the documented read-write one grants. A role binding `sub` is warned
/// about.
#[tokio::test]
async fn writes_are_checked_against_the_documented_read_write_policy() {
    let options = AppOptions::new().bound_claims(json!({ "sub": "repo:arcodange/*", "ref": "refs/heads/*" }));
    let (services, issuer, app) = setup(options).await;
    let config = format!("kvv2/{}/config", app.name);
    let writes = format!("{config} kvv2/{}/other", app.name);
    let flags = ["--repository", &app.repository(), "--ref", "refs/heads/main", "--forge", "forgejo"];
    let flags = [&flags[..], &["--server-url", issuer.base_url(), "--writes", &writes]].concat();

    let read_only = diagnose(&services, &app, &flags, &[]).await;
    read_only.assert_failure();
    let out = &read_only.stdout;
    assert!(out.contains("Writes (OpenTofu), as a token with the role's policies:"), "{read_only:?}");
    let data = format!("kvv2/data/{}/config", app.name);
    let fix = format!("read: add `path \"{data}\" {{ capabilities = [\"create\", \"update\"] }}`");
    assert_eq!(row(out, &config), [format!("{data} (KV v2)"), fix, "FAIL".into()]);
    let child = "deny: add `path \"auth/token/create\" { capabilities = [\"update\"] }`";
    assert_eq!(row(out, "auth/token/create"), ["auth/token/create (token auth)", child, "FAIL"]);
    assert!(out.contains("Warning: the role binds `sub` (bound_claims.sub `repo:arcodange/*`"), "{read_only:?}");
    assert!(out.contains(&format!("  names     repo:{}:ref:refs/heads/main  <- the token above", app.repository())));

    services.bao.put_policy(&app.policy, &documented_ops_policy(&app.name)).await;
    let read_write = diagnose(&services, &app, &flags, &[]).await;
    read_write.assert_success();
    assert_eq!(row(&read_write.stdout, &config)[2], "ok", "{read_write:?}");
    assert_eq!(row(&read_write.stdout, "auth/token/create")[1..], ["update", "ok"]);

    let skip = [&flags[..], &["--tofu-skip-child-token", "true"]].concat();
    let skipped = diagnose(&services, &app, &skip, &[]).await;
    skipped.assert_success();
    assert!(!skipped.stdout.contains("auth/token/create"), "no child token with tofu-skip-child-token: {skipped:?}");
    assert_no_probe_left(&services, &app).await;
}
