//! A main step told to stop, through the node shim as a runner starts it: the shim passes the signal on,
//! and the binary writes nothing more and revokes the token it holds. A slow read (a delaying proxy in
//! front of OpenBao) keeps the step busy at the moment the signal comes.

use std::path::Path;
use std::time::Duration;

use crate::support::emulator::{release, repo_root};
use crate::support::*;
use serde_json::json;

const SECRET: &str = "signal-secret-72ab";

/// The app, a proxy that holds every secret read for a minute, and the action laid out as a release.
struct Setup {
    app: App,
    proxy: Proxy,
    action: tempfile::TempDir,
}

impl Setup {
    async fn new() -> Setup {
        let (services, _, app) = setup(AppOptions::new().kv2("config", json!({ "api_key": SECRET }))).await;
        let slow_read = Rule::DelayOn("GET /v1/kvv2/data/".into(), Duration::from_secs(60));
        let proxy = Proxy::start(services.bao.addr(), slow_read).await;
        let action = tempfile::tempdir().expect("temp dir");
        let binary = Path::new(env!("CARGO_BIN_EXE_vault-login"));
        let into = action.path().join("action");
        release::install(&repo_root(), binary, &into, release::Delivery::Vendored).expect("the release layout");
        Setup { app, proxy, action }
    }

    /// The main step, run as `node shim/main.js` the way a runner runs the action.
    fn job(&self) -> Job {
        let shim = self.action.path().join("action/shim/main.js");
        self.app
            .job()
            .input("url", &self.proxy.url())
            .input("mount", &self.app.mount)
            .input("secrets", &format!("kvv2/{}/config api_key", self.app.name))
            .program("node", &[shim.to_str().expect("a UTF-8 path")])
            .timeout(Duration::from_secs(60))
    }
}

/// Waits until the step saved its token: it is logged in, and its read is being held.
async fn logged_in(running: &RunningStep<'_>) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while !running.file("state").contains("vault_token") {
        assert!(tokio::time::Instant::now() < deadline, "the step never logged in");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn sigterm_to_the_shim_during_a_read_exports_nothing_and_revokes_the_token() {
    let setup = Setup::new().await;
    let job = setup.job();
    let running = job.spawn_main();
    logged_in(&running).await;
    signal(running.pid(), "TERM");
    let main = running.finish().await;
    main.assert_failure();
    assert!(main.raw_env_file.is_empty() && main.raw_output_file.is_empty(), "nothing exported: {main:?}");
    assert!(main.log().contains("stopped by SIGTERM before anything was exported"), "{main:?}");
    assert!(main.log().contains("the Vault token was revoked"), "{main:?}");
    assert!(setup.app.live_tokens().await.is_empty(), "no token of the run is left alive");
    let token = main.state["vault_token"].clone();
    assert_no_leak(&main, &[&token, SECRET]);
}

#[tokio::test]
async fn a_killed_shim_does_not_leave_the_binary_running_on() {
    let setup = Setup::new().await;
    let job = setup.job();
    let running = job.spawn_main();
    logged_in(&running).await;
    signal(running.pid(), "KILL");
    // The binary shares the step's output; `finish` returns once it, too, has ended.
    let main = running.finish().await;
    assert!(main.raw_env_file.is_empty() && main.raw_output_file.is_empty(), "nothing exported: {main:?}");
    assert!(setup.app.live_tokens().await.is_empty(), "the orphaned binary revoked its token: {main:?}");
}
