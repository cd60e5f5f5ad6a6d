//! A private OpenBao dev server for tests that seal it or need TLS listeners, so that the shared server
//! the other tests use is never disturbed. In-memory storage; killed when dropped.
//!
//! The dev server also binds port+1 of every listener for cluster traffic, so ports are chosen in pairs.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::{Bao, Services};

/// An extra `listener "tcp"` with TLS (PEM texts; written to files for the server).
pub struct TlsListener {
    pub cert_pem: String,
    pub key_pem: String,
    /// When set, the listener requires a client certificate issued by this CA.
    pub client_ca_pem: Option<String>,
}

/// `bao server ARGS...` with a cleared environment, its output in `log`.
pub(super) fn spawn_server(bin: &Path, args: &[String], log: &Path) -> Child {
    let log = std::fs::File::create(log).expect("server log");
    Command::new(bin)
        .arg("server")
        .args(args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .stdin(Stdio::null())
        .stdout(log.try_clone().expect("log handle"))
        .stderr(log)
        .spawn()
        .expect("spawn an OpenBao server")
}

/// A running private server.
pub struct BaoServer {
    /// The plain-http dev listener, `http://127.0.0.1:<port>`, for provisioning.
    pub addr: String,
    pub root_token: String,
    pub unseal_key: String,
    /// `https://127.0.0.1:<port>` of each [`TlsListener`], in order.
    pub tls_addrs: Vec<String>,
    bin: PathBuf,
    child: Child,
    dir: tempfile::TempDir,
}

impl BaoServer {
    /// Starts a dev server with the `bao` binary of `services`, plus the given TLS listeners.
    pub async fn start(services: &Services, tls: &[TlsListener]) -> BaoServer {
        let dir = tempfile::tempdir().expect("server tempdir");
        let ports = free_port_pairs(1 + tls.len());
        let root_token = format!("root-{}", super::random_hex(12));
        let (config, tls_addrs) = tls_listeners(dir.path(), tls, &ports[1..]);
        let mut args = vec![
            "-dev".to_owned(),
            "-dev-no-store-token".to_owned(),
            format!("-dev-root-token-id={root_token}"),
            format!("-dev-listen-address=127.0.0.1:{}", ports[0]),
        ];
        if !tls.is_empty() {
            args.push(format!("-config={}", write(dir.path(), "listeners.hcl", &config)));
        }
        let mut server = Self::spawn(services, dir, ports[0], args, root_token, tls_addrs);
        server.wait_for_health(200).await;
        server.unseal_key = server.wait_for_unseal_key().await;
        server
    }

    /// Starts a server that was never initialised (in-memory storage, plain http): no keys, no root token.
    pub async fn start_uninitialised(services: &Services) -> BaoServer {
        let dir = tempfile::tempdir().expect("server tempdir");
        let port = free_port_pairs(1)[0];
        let config = format!(
            "disable_mlock = true\nstorage \"inmem\" {{}}\nlistener \"tcp\" {{\n  address = \"127.0.0.1:{port}\"\n  \
             cluster_address = \"127.0.0.1:{}\"\n  tls_disable = true\n}}\n",
            port + 1
        );
        let args = vec![format!("-config={}", write(dir.path(), "server.hcl", &config))];
        let mut server = Self::spawn(services, dir, port, args, String::new(), Vec::new());
        server.wait_for_health(501).await;
        server
    }

    fn spawn(
        services: &Services,
        dir: tempfile::TempDir,
        port: u16,
        args: Vec<String>,
        root_token: String,
        tls_addrs: Vec<String>,
    ) -> BaoServer {
        let child = spawn_server(&services.bao_bin, &args, &dir.path().join("bao.log"));
        BaoServer {
            addr: format!("http://127.0.0.1:{port}"),
            root_token,
            unseal_key: String::new(),
            tls_addrs,
            bin: services.bao_bin.clone(),
            child,
            dir,
        }
    }

    /// The dev server prints its unseal key once it is ready, a moment after it starts answering.
    async fn wait_for_unseal_key(&self) -> String {
        for _ in 0..100 {
            let log = self.log();
            if let Some(key) = log.lines().find_map(|l| l.strip_prefix("Unseal Key:")) {
                return key.trim().to_owned();
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("no unseal key in the log of the private OpenBao:\n{}", self.log());
    }

    /// Waits until `sys/health` answers `status` (200 ready, 501 not initialised).
    async fn wait_for_health(&mut self, status: u16) {
        let deadline = Instant::now() + Duration::from_secs(30);
        let http = vault_login::tls::client_builder().build().expect("HTTP client");
        loop {
            let health = http.get(format!("{}/v1/sys/health", self.addr)).send().await;
            if health.is_ok_and(|r| r.status() == status) {
                return;
            }
            if let Ok(Some(exit)) = self.child.try_wait() {
                panic!("the private OpenBao exited ({exit}):\n{}", self.log());
            }
            assert!(
                Instant::now() < deadline,
                "the private OpenBao did not answer {status} within 30 s:\n{}",
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// `services` with this server as the OpenBao (PostgreSQL stays the shared one), for `App::provision`.
    pub fn services(&self, shared: &Services) -> Services {
        Services { bao: Bao::new(&self.addr, &self.root_token), pg: shared.pg.clone(), bao_bin: self.bin.clone() }
    }

    /// `bao operator seal`, as an operator would.
    pub async fn seal(&self) {
        self.cli(&["operator", "seal"]).await;
    }

    /// `bao operator unseal <key>`.
    pub async fn unseal(&self) {
        self.cli(&["operator", "unseal", &self.unseal_key.clone()]).await;
    }

    async fn cli(&self, args: &[&str]) {
        let out = tokio::process::Command::new(&self.bin)
            .args(args)
            .env("BAO_ADDR", &self.addr)
            .env("BAO_TOKEN", &self.root_token)
            .env_remove("VAULT_TOKEN")
            .output()
            .await
            .expect("run the bao CLI");
        assert!(out.status.success(), "bao {}: {}", args[..2].join(" "), String::from_utf8_lossy(&out.stderr));
    }

    /// The server's log so far (for failure messages).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("bao.log")).unwrap_or_default()
    }
}

/// The `listener "tcp"` blocks for `tls` on `ports`, and their addresses; PEM files are written in `dir`.
fn tls_listeners(dir: &Path, tls: &[TlsListener], ports: &[u16]) -> (String, Vec<String>) {
    let mut config = String::new();
    let mut addrs = Vec::new();
    for (i, (listener, port)) in tls.iter().zip(ports).enumerate() {
        let cert = write(dir, &format!("{i}-cert.pem"), &listener.cert_pem);
        let key = write(dir, &format!("{i}-key.pem"), &listener.key_pem);
        config.push_str(&format!(
            "listener \"tcp\" {{\n  address = \"127.0.0.1:{port}\"\n  tls_cert_file = \"{cert}\"\n  tls_key_file = \"{key}\"\n"
        ));
        if let Some(ca) = &listener.client_ca_pem {
            let ca = write(dir, &format!("{i}-client-ca.pem"), ca);
            config.push_str(&format!("  tls_require_and_verify_client_cert = true\n  tls_client_ca_file = \"{ca}\"\n"));
        }
        config.push_str("}\n");
        addrs.push(format!("https://127.0.0.1:{port}"));
    }
    (config, addrs)
}

/// Writes `text` to `dir/name`; returns the path.
fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write a server file");
    path.display().to_string()
}

impl Drop for BaoServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `n` loopback ports, each with its successor free too (the dev server's cluster listener takes
/// port+1). All are held until all are chosen, so no two pairs overlap.
pub(super) fn free_port_pairs(n: usize) -> Vec<u16> {
    let mut held = Vec::new();
    let mut ports = Vec::new();
    for _ in 0..100 {
        if ports.len() == n {
            return ports;
        }
        let first = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
        let port = first.local_addr().expect("address").port();
        if port == u16::MAX {
            continue;
        }
        if let Ok(second) = TcpListener::bind(("127.0.0.1", port + 1)) {
            ports.push(port);
            held.extend([first, second]);
        }
    }
    assert_eq!(ports.len(), n, "not enough pairs of consecutive free loopback ports");
    ports
}
