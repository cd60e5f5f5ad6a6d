//! High availability against a real three-node OpenBao Raft cluster (tests/support/raft_cluster.rs): the
//! step pointed at a standby, the leader changing between the main and the post step, and the active node
//! killed in the middle of a run. Each test has its own cluster, since each changes its leader.

use std::time::Duration;

use crate::support::*;
use serde_json::json;

const SECRET: &str = "ha-secret-3c9b";

/// The app, provisioned through the active node: a standby routes a request by its own copy of the mount
/// table, so a write sent through it right after a mount was enabled can miss that mount. Once every node
/// serves the secret (the last thing written), the app's checks and clean-up go to `node`, the one the
/// job talks to.
async fn provision(cluster: &RaftCluster, node: usize, issuer: &Issuer) -> App {
    let shared = Services::from_env();
    let options = AppOptions::new().kv2("config", json!({ "api_key": SECRET }));
    let mut app = App::provision(&cluster.services(&shared, cluster.active().await), issuer, options).await;
    cluster.wait_readable(&format!("kvv2/data/{}/config", app.name)).await;
    app.services = cluster.services(&shared, node);
    app
}

fn job(app: &App, url: &str) -> Job {
    app.job()
        .input("url", url)
        .input("mount", &app.mount)
        .input("secrets", &format!("kvv2/{}/config api_key", app.name))
        .input("timeout", "30s")
        .timeout(Duration::from_secs(60))
}

/// The token of `main` is gone, as the active node itself says.
async fn assert_revoked(cluster: &RaftCluster, main: &StepResult) {
    let active = cluster.active().await;
    let lookup = cluster.admin(active).lookup(&main.env["VAULT_TOKEN"]).await;
    assert!(lookup.is_none(), "the token is still alive on the active node {active}: {lookup:?}");
}

/// Polls `ready` every 20 ms, for up to 30 s.
async fn wait_until(what: &str, ready: impl Fn() -> bool) {
    for _ in 0..1500 {
        if ready() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("timed out waiting until {what}");
}

/// A standby forwards the step's writes to the active node over the cluster port and serves its reads
/// itself. Asked not to forward (the header some clients send; also its fallback when forwarding fails),
/// it answers 307 to the active node's `api_addr`: the step follows that one hop, and says where it went.
#[tokio::test]
async fn the_step_pointed_at_a_standby_logs_in_reads_and_revokes() {
    let cluster = RaftCluster::start(&Services::from_env()).await;
    let issuer = Issuer::start().await;
    let (active, standby) = (cluster.active().await, cluster.standby().await);
    let app = provision(&cluster, standby, &issuer).await;
    let no_forwarding = Rule::Header("X-Vault-No-Request-Forwarding: true".into());
    let redirecting = Proxy::start(cluster.addr(standby), no_forwarding).await;

    for (url, redirected) in [(cluster.addr(standby).to_owned(), false), (redirecting.url(), true)] {
        let job = job(&app, &url);
        let main = job.run_main().await;
        main.assert_success();
        assert_eq!(main.env["API_KEY"], SECRET, "{main:?}");
        let line = format!("redirected to its active node {}", cluster.addr(active));
        assert_eq!(main.stdout.contains(&line), redirected, "{line:?} expected: {redirected}\n{main:?}");
        let post = job.run_post(&main).await;
        post.assert_success();
        assert!(post.stdout.contains("Revoked the Vault token"), "{post:?}");
        assert_revoked(&cluster, &main).await;
        assert!(app.live_tokens().await.is_empty());
        for step in [&main, &post] {
            assert_no_leak(step, &[&main.env["VAULT_TOKEN"], issuer.issued_tokens().last().unwrap(), SECRET]);
        }
    }
}

#[tokio::test]
async fn the_post_step_revokes_after_the_leader_changed() {
    let cluster = RaftCluster::start(&Services::from_env()).await;
    let issuer = Issuer::start().await;
    let standby = cluster.standby().await;
    let app = provision(&cluster, standby, &issuer).await;
    let job = job(&app, cluster.addr(standby));

    let main = job.run_main().await;
    main.assert_success();
    let old = cluster.active().await;
    let new = cluster.step_down().await;
    assert_ne!(old, new);
    let post = job.run_post(&main).await;
    post.assert_success();
    assert!(post.stdout.contains("Revoked the Vault token"), "{post:?}");
    assert_revoked(&cluster, &main).await;
    assert!(app.live_tokens().await.is_empty());
}

/// The main step logs in through a standby, then its first secret read is held at a proxy while the
/// active node is killed and a new one elected; released, the read goes on against the new cluster. The
/// token was committed by a Raft majority before the login answered, so it survives the old leader.
#[tokio::test]
async fn the_active_node_killed_in_the_middle_of_a_run() {
    let mut cluster = RaftCluster::start(&Services::from_env()).await;
    let issuer = Issuer::start().await;
    let standby = cluster.standby().await;
    let app = provision(&cluster, standby, &issuer).await;
    let read = format!("GET /v1/kvv2/data/{}/config", app.name);
    let proxy = Proxy::start(cluster.addr(standby), Rule::HoldOn(read)).await;
    let job = job(&app, &proxy.url());

    let old = cluster.active().await;
    let failover = async {
        wait_until("the step's first read is held", || proxy.holds() > 0).await;
        cluster.kill(old);
        let new = cluster.new_active(old).await;
        proxy.set(Rule::Pass);
        new
    };
    let (main, new) = tokio::join!(job.run_main(), failover);
    assert_ne!(old, new);
    main.assert_success();
    assert_eq!(main.env["API_KEY"], SECRET, "{main:?}");
    let post = job.run_post(&main).await;
    post.assert_success();
    assert!(post.stdout.contains("Revoked the Vault token"), "{post:?}");
    assert_revoked(&cluster, &main).await;
    for step in [&main, &post] {
        assert_no_leak(step, &[&main.env["VAULT_TOKEN"], &issuer.issued_tokens()[0], SECRET]);
    }
}

/// The active node killed just before the step, which is pointed at a standby. Until the standby notices,
/// it cannot forward and answers 307 to the dead node, whose refused connection proves the login was not
/// processed, so the step sends it again; a new leader is elected within seconds and the run completes.
#[tokio::test]
async fn the_active_node_killed_just_before_the_step() {
    let mut cluster = RaftCluster::start(&Services::from_env()).await;
    let issuer = Issuer::start().await;
    let standby = cluster.standby().await;
    let app = provision(&cluster, standby, &issuer).await;
    let job = job(&app, cluster.addr(standby));

    let old = cluster.active().await;
    cluster.kill(old);
    let main = job.run_main().await;
    main.assert_success();
    assert_eq!(main.env["API_KEY"], SECRET, "{main:?}");
    let post = job.run_post(&main).await;
    post.assert_success();
    assert!(post.stdout.contains("Revoked the Vault token"), "{post:?}");
    assert_ne!(cluster.active().await, old);
    assert_revoked(&cluster, &main).await;
    for step in [&main, &post] {
        assert_no_leak(step, &[&main.env["VAULT_TOKEN"], &issuer.issued_tokens()[0], SECRET]);
    }
}
