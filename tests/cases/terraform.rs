//! What the step exports, handed to the tool it is for: a real Terraform 1.0.3 (`tests/support/terraform.rs`)
//! keeps its state in PostgreSQL through `backend "pg"` as the job's dynamic user, against Vault and
//! PostgreSQL set up exactly as docs/vault-setup.md says. A second job, another user, reads that state; each
//! user is dropped at its job's end (the owner-role pattern of the docs); `exec` carries a long apply
//! through short TTLs.

use std::time::Duration;

use serde_json::json;

use crate::support::emulator::JobRun;
use crate::support::lab::{APP, Lab, REPOSITORY};
use crate::support::leak::find_leaks;
use crate::support::terraform::{CONFIG, Workspace, conn_str_arg};
use crate::support::{Job, JobClaims, Pg, act, assert_no_leak};

/// A job that logs in, exports what `terraform` reads, inits the pg backend and runs `command`.
fn workflow(ws: &Workspace, data_dir: &str, command: &str) -> String {
    let env: String = ws.env(data_dir).iter().map(|(k, v)| format!("      {k}: {v:?}\n")).collect();
    let dir = ws.path().display();
    format!(
        r#"on: push
permissions:
  id-token: write
jobs:
  tofu:
    runs-on: ubuntu-latest
    env:
{env}    steps:
      - id: vault
        uses: arcodange/vault-login@v1
        with:
          url: ${{{{ vars.VAULT_ADDR }}}}
          secrets: |
            kvv2/{APP}/config db_host | PGHOST
            kvv2/{APP}/config db_port | PGPORT
            kvv2/{APP}/config api_key | TF_VAR_api_key
            postgres/creds/{APP} username | PGUSER
            postgres/creds/{APP} password | PGPASSWORD
      - id: init
        run: cd {dir} && terraform init -no-color {conn}
      - id: run
        run: cd {dir} && {command}
"#,
        conn = conn_str_arg()
    )
}

/// A clean slate: what an earlier run's pg backend created is gone, so job one creates it.
async fn drop_state(pg: &Pg) {
    pg.sql("DROP SCHEMA IF EXISTS terraform_remote_state CASCADE; DROP SEQUENCE IF EXISTS public.global_states_id_seq")
        .await;
}

/// Whether Vault holds no lease of the app's database role within 60 s (revocation runs in the background).
async fn no_lease_left(lab: &Lab) -> bool {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    let path = format!("sys/leases/lookup/postgres/creds/{APP}/");
    while !lab.services.bao.list(&path).await.is_empty() {
        if tokio::time::Instant::now() > deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    true
}

/// Whether `<app>_owner` has no member but `vault` (whom the docs make its admin) within 60 s.
async fn dynamic_users_gone(pg: &Pg) -> bool {
    let sql = format!(
        "SELECT count(*) FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.roleid \
         JOIN pg_roles u ON u.oid = m.member WHERE r.rolname = '{APP}_owner' AND u.rolname <> 'vault'"
    );
    pg.eventually_zero(&sql).await
}

/// The job's user is gone, no lease is left, and the sensitive value shows nowhere.
async fn assert_clean_end(lab: &Lab, run: &JobRun) {
    let user = &run.env["PGUSER"];
    assert!(lab.services.pg.role_gone(user).await, "the job's user {user} is still in pg_roles:\n{}", run.log);
    assert!(no_lease_left(lab).await, "a lease of postgres/creds/{APP} is left");
    let mut streams = vec![("log", run.log.as_str(), false)];
    streams.extend(["init", "run"].map(|id| ("terraform's output", run.step(id).output.as_str(), false)));
    let leaks = find_leaks(&streams, &[&lab.api_key, &run.env["PGPASSWORD"]]);
    assert!(leaks.is_empty(), "secret leaked:\n  {}", leaks.join("\n  "));
}

#[tokio::test]
async fn two_jobs_share_pg_state_through_the_exports_and_leave_no_user() {
    let lab = Lab::start().await;
    let pg = &lab.services.pg;
    drop_state(pg).await;
    let ws = Workspace::new(CONFIG);

    let apply = workflow(&ws, "job-one", "terraform apply -no-color -auto-approve");
    let one = lab.runner().run_text(&apply, "apply.yml").await;
    assert!(one.success(), "job one:\n{}", one.log);
    assert!(one.step("run").output.contains("Apply complete! Resources: 1 added"), "{}", one.log);
    let owners = pg
        .sql(
            "SELECT n.nspowner::regrole || ' ' || c.relowner::regrole FROM pg_namespace n \
             JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = 'states' WHERE n.nspname = 'terraform_remote_state'",
        )
        .await;
    assert_eq!(owners, format!("{APP}_owner {APP}_owner"), "the backend's schema and table belong to the owner role");
    let rows = pg.sql("SELECT count(*) FROM terraform_remote_state.states WHERE name = 'default'").await;
    assert_eq!(rows, "1", "the state is in PostgreSQL");
    assert_clean_end(&lab, &one).await;

    let plan = workflow(&ws, "job-two", "terraform plan -no-color -detailed-exitcode");
    let two = lab.runner().run_text(&plan, "plan.yml").await;
    assert!(two.success(), "job two (plan -detailed-exitcode exits 0 only with no change):\n{}", two.log);
    assert_ne!(two.env["PGUSER"], one.env["PGUSER"], "another dynamic user");
    assert!(two.step("run").output.contains("No changes."), "{}", two.log);
    assert_clean_end(&lab, &two).await;
}

#[tokio::test]
async fn act_runs_init_and_apply_with_the_exports_and_the_post_step_drops_the_user() {
    let lab = Lab::start().await;
    drop_state(&lab.services.pg).await;
    let ws = Workspace::new(CONFIG);
    let claims = JobClaims::for_repository(REPOSITORY);
    let url = lab.issuer.token_request_url(&claims.run_id);
    let token = lab.issuer.register_job(claims);
    let env = [("ACTIONS_ID_TOKEN_REQUEST_URL", url.as_str()), ("ACTIONS_ID_TOKEN_REQUEST_TOKEN", token.as_str())];
    let apply = workflow(&ws, "act", "terraform apply -no-color -auto-approve");
    let vars = [("VAULT_ADDR", lab.services.bao.addr())];
    let run = act::run_text(&apply, "apply.yml", REPOSITORY, &vars, &env).await;
    assert!(run.success, "{run:?}");
    assert!(run.log.contains("Apply complete! Resources: 1 added"), "{run:?}");
    assert!(run.log.contains("Revoked the Vault token"), "the post step ran: {run:?}");
    let rows = lab.services.pg.sql("SELECT count(*) FROM terraform_remote_state.states WHERE name = 'default'").await;
    assert_eq!(rows, "1", "the state is in PostgreSQL");
    assert!(dynamic_users_gone(&lab.services.pg).await, "a dynamic user is left: {run:?}");
    assert!(no_lease_left(&lab).await, "a lease of postgres/creds/{APP} is left");
    assert!(!run.log.contains(&lab.api_key), "{run:?}");
}

#[tokio::test]
async fn exec_carries_an_apply_through_ten_second_ttls_and_leaves_nothing() {
    let lab = Lab::start().await;
    let (bao, pg) = (&lab.services.bao, &lab.services.pg);
    drop_state(pg).await;
    bao.write(&format!("auth/jwt/role/gitea_cicd_{APP}"), json!({ "role_type": "jwt", "token_ttl": "10s" })).await;
    bao.write(&format!("postgres/roles/{APP}"), json!({ "default_ttl": "10s" })).await;
    // The workload: a resource that takes 35 s (several TTLs), then logs in to PostgreSQL afresh.
    let config = CONFIG.replace(
        "resource \"null_resource\" \"config\" {",
        "resource \"null_resource\" \"slow\" {\n  provisioner \"local-exec\" {\n    command = \"sleep 35 && psql -X -w -d postgres -Atc 'select 1'\"\n  }\n}\n\nresource \"null_resource\" \"config\" {",
    );
    let ws = Workspace::new(&config);
    let mut job = Job::for_claims(&lab.issuer, JobClaims::for_repository(REPOSITORY))
        .input("url", bao.addr())
        .input(
            "secrets",
            &format!(
                "kvv2/{APP}/config api_key | TF_VAR_api_key\nkvv2/{APP}/config db_host | PGHOST\n\
                 kvv2/{APP}/config db_port | PGPORT\npostgres/creds/{APP} username | PGUSER\n\
                 postgres/creds/{APP} password | PGPASSWORD"
            ),
        )
        .timeout(Duration::from_secs(240));
    for (name, value) in ws.env("exec") {
        job = job.env(&name, &value);
    }
    let script = format!(
        "cd {} && terraform init -no-color {} && terraform apply -no-color -auto-approve",
        ws.path().display(),
        conn_str_arg()
    );
    let exec = job.run_exec(&["sh", "-c", &script]).await;
    assert_eq!(exec.code, Some(0), "{exec:?}");
    assert!(exec.stdout.contains("Apply complete! Resources: 2 added"), "{exec:?}");
    assert!(exec.stdout.contains("Renewed the lease of `postgres/creds/"), "{exec:?}");
    assert!(dynamic_users_gone(pg).await, "a dynamic user of {APP}_owner is left");
    assert!(no_lease_left(&lab).await, "a lease of postgres/creds/{APP} is left");
    assert_no_leak(&exec, &[&lab.api_key]);
}
