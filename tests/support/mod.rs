//! Shared harness for the integration tests: real OpenBao and PostgreSQL (started by `scripts/test`),
//! a fake forge that issues OIDC ID tokens, per-test apps provisioned on the shared servers, a runner
//! emulation that runs the built binary, and a secret-leak check.
//!
//! A typical test (inputs named as the binary defines them):
//! ```ignore
//! let services = Services::from_env();          // panics with a hint if scripts/test did not run
//! let issuer = Issuer::start().await;           // the forge: discovery, JWKS, ID-token endpoint
//! let options = AppOptions::new().kv2("db", json!({ "password": "pw-8f3a" })).database();
//! let app = App::provision(&services, &issuer, options).await;   // jwt-<app>, gitea_cicd_<app>...
//! let job = app.job().input("url", services.bao.addr()).input("secrets", "...");
//! let main = job.run_main().await;
//! main.assert_success();
//! assert_no_leak(&main, &["pw-8f3a", &main.env["VAULT_TOKEN"], &issuer.issued_tokens()[0]]);
//! let post = job.run_post(&main).await;         // STATE_* from main, no INPUT_*
//! assert!(app.live_tokens().await.is_empty());
//! ```

pub mod act;
pub mod app;
pub mod assets;
pub mod bao;
pub mod bao_server;
pub mod emulator;
pub mod envfile;
pub mod issuer;
pub mod job;
pub mod lab;
pub mod leak;
pub mod local;
pub mod postgres;
pub mod proxy;
pub mod raft_cluster;
pub mod terraform;
pub mod tls;

pub use app::{App, AppOptions};
pub use bao::{Bao, BaoReply};
pub use bao_server::{BaoServer, TlsListener};
pub use issuer::{ForgeShape, Issuer, JobClaims};
pub use job::{Job, RunningStep, StepResult};
pub use leak::assert_no_leak;
pub use local::run_local;
pub use postgres::Pg;
pub use proxy::{Proxy, Rule};
pub use raft_cluster::RaftCluster;
pub use tls::Pki;

/// The start of most tests: the servers, a fresh forge, and an app provisioned with `options`.
pub async fn setup(options: AppOptions) -> (Services, Issuer, App) {
    let services = Services::from_env();
    let issuer = Issuer::start().await;
    let app = App::provision(&services, &issuer, options).await;
    (services, issuer, app)
}

/// The real servers, as described by the `VAULT_LOGIN_TEST_*` variables that `scripts/test` exports.
#[derive(Clone, Debug)]
pub struct Services {
    /// Admin client for OpenBao (root token).
    pub bao: Bao,
    /// PostgreSQL superuser access (over TCP, password auth).
    pub pg: Pg,
    /// Path of the `bao` binary (CLI for `bao operator seal|unseal`).
    pub bao_bin: std::path::PathBuf,
}

impl Services {
    /// Reads the services from the environment; panics (never skips) when `scripts/test` did not set them.
    pub fn from_env() -> Services {
        const NAMES: [&str; 7] = [
            "VAULT_LOGIN_TEST_BAO_ADDR",
            "VAULT_LOGIN_TEST_BAO_TOKEN",
            "VAULT_LOGIN_TEST_BAO_BIN",
            "VAULT_LOGIN_TEST_PG_HOST",
            "VAULT_LOGIN_TEST_PG_PORT",
            "VAULT_LOGIN_TEST_PG_USER",
            "VAULT_LOGIN_TEST_PG_PASSWORD",
        ];
        let values: Vec<String> = NAMES.iter().map(|n| std::env::var(n).unwrap_or_default()).collect();
        let missing: Vec<&str> = NAMES.iter().zip(&values).filter(|(_, v)| v.is_empty()).map(|(n, _)| *n).collect();
        assert!(
            missing.is_empty(),
            "this test needs the real OpenBao and PostgreSQL servers, but {} {} not set. \
             Run the integration tests through `scripts/test` (it starts the services and exports \
             the VAULT_LOGIN_TEST_* variables), or `scripts/services start DIR && source DIR/env`.",
            missing.join(", "),
            if missing.len() == 1 { "is" } else { "are" }
        );
        let [addr, token, bin, host, port, user, password] = <[String; 7]>::try_from(values).expect("seven values");
        Services {
            bao: Bao::new(addr.trim_end_matches('/'), &token),
            pg: Pg { host, port: port.parse().expect("VAULT_LOGIN_TEST_PG_PORT is a port number"), user, password },
            bao_bin: bin.into(),
        }
    }
}

/// A short random lowercase hex string (for unique names and tokens).
pub fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    getrandom::fill(&mut buf).expect("getrandom");
    buf.iter().map(|b| format!("{b:02x}")).collect()
}

/// Seconds since the Unix epoch.
pub fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock after 1970").as_secs() as i64
}

/// Sends signal `name` (`TERM`, `KILL`, ...) to process `pid` (a negative `pid`: its process group).
pub fn signal(pid: i32, name: &str) {
    let status = std::process::Command::new("kill").args(["-s", name, "--", &pid.to_string()]).status();
    assert!(status.expect("kill").success(), "kill -s {name} {pid}");
}
