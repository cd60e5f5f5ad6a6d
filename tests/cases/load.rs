//! Load: 100 concurrent complete runs (main + post) of one app against the shared OpenBao and PostgreSQL,
//! each reading a KV secret and dynamic database credentials. All must succeed, and afterwards no token
//! from them may be alive and no dynamic PostgreSQL user may be left. The figures are printed (see them
//! with `--nocapture`) and recorded in docs/failure-modes.md.

use std::time::{Duration, Instant};

use crate::support::*;
use futures_util::future::join_all;
use serde_json::json;

const RUNS: usize = 100;
const SECRET: &str = "load-secret-93b0";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hundred_concurrent_complete_runs_succeed_and_leave_nothing_behind() {
    let services = Services::from_env();
    let issuer = Issuer::start().await;
    let options = AppOptions::new().kv2("config", json!({ "api_key": SECRET })).database();
    let app = App::provision(&services, &issuer, options).await;
    let secrets = format!(
        "kvv2/{0}/config api_key\npostgres/creds/{0} username | PGUSER\npostgres/creds/{0} password | PGPASSWORD",
        app.name
    );
    let jobs: Vec<Job> = (0..RUNS)
        .map(|i| {
            app.job()
                .claims(|claims| JobClaims { run_id: format!("{}", 7000 + i), ..claims })
                .input("url", services.bao.addr())
                .input("mount", &app.mount)
                .input("secrets", &secrets)
                .timeout(Duration::from_secs(150))
        })
        .collect();

    let started = Instant::now();
    let runs = join_all(jobs.iter().map(|job| async move {
        let main = job.run_main().await;
        let post = if main.success() { Some(job.run_post(&main).await) } else { None };
        (main, post)
    }))
    .await;
    let wall = started.elapsed();

    let failed: Vec<&StepResult> = runs
        .iter()
        .flat_map(|(main, post)| [Some(main), post.as_ref()])
        .flatten()
        .filter(|step| !step.success())
        .collect();
    let live = app.live_tokens().await.len();
    let members = format!(
        "SELECT count(*) FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.roleid WHERE r.rolname = '{}'",
        app.pg_group_role
    );
    let count = || async { services.pg.sql(&members).await.parse::<usize>().expect("a count") };
    let at_once = count().await;
    // Vault drops a revoked token's database users in the background: wait for them to be gone from
    // pg_auth_members (the event itself), up to a generous 60 s on a loaded machine.
    let settled = Instant::now();
    let mut pg_users = at_once;
    while pg_users > 0 && settled.elapsed() < Duration::from_secs(60) {
        tokio::time::sleep(Duration::from_millis(200)).await;
        pg_users = count().await;
    }
    let failures =
        runs.iter().filter(|(main, post)| !main.success() || !post.as_ref().is_some_and(|p| p.success())).count();
    println!(
        "load: {RUNS} concurrent complete runs (main + post) in {:.1}s wall time; failures: {failures}; leftover \
         tokens: {live}; leftover PostgreSQL users: {pg_users} ({at_once} right after the last post step, {:.1}s \
         before Vault had dropped them all)",
        wall.as_secs_f64(),
        settled.elapsed().as_secs_f64()
    );

    assert!(failed.is_empty(), "{failures} of {RUNS} runs failed; the first:\n{:?}", failed[0]);
    assert_eq!(live, 0, "tokens from the runs are still alive");
    assert_eq!(pg_users, 0, "dynamic PostgreSQL users are left");
    let users: Vec<&str> = runs.iter().map(|(main, _)| main.env["PGUSER"].as_str()).collect();
    assert_eq!(users.iter().collect::<std::collections::BTreeSet<_>>().len(), RUNS, "one database user per run");

    let id_tokens = issuer.issued_tokens();
    assert_eq!(id_tokens.len(), RUNS);
    for (main, post) in &runs {
        let mut secrets = vec![SECRET, &main.env["VAULT_TOKEN"], &main.env["PGPASSWORD"]];
        secrets.extend(id_tokens.iter().map(String::as_str));
        assert_no_leak(main, &secrets);
        assert_no_leak(post.as_ref().expect("post ran"), &secrets);
    }
}
