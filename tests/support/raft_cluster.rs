//! A real three-node OpenBao cluster on Raft storage, for the HA tests: standbys, leader elections,
//! step-downs and a killed active node are OpenBao's own behaviour here, not a mock's idea of it.
//!
//! Each node is a `bao server` process with its own data directory, API port and cluster port on
//! loopback. Node 0 is initialised with one Shamir key share; the others join it over the API and are
//! unsealed with that key. Every wait polls state the nodes report (`sys/health`, `sys/leader`, the Raft
//! configuration) against a deadline. Dropping the cluster kills every node and removes the data.

use std::future::Future;
use std::path::Path;
use std::process::Child;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::bao_server::{free_port_pairs, spawn_server};
use super::{Bao, Services};

/// Start-up and failover both finish in a few seconds on loopback; this only bounds a broken cluster.
const DEADLINE: Duration = Duration::from_secs(30);

/// How many times a cluster is formed before the test gives up. On a loaded machine a node now and then
/// never completes its Raft join (the leader lists it, the node stays sealed): that is the harness's
/// set-up failing, not the behaviour under test, so a fresh cluster is formed instead.
const FORMATION_ATTEMPTS: usize = 3;

/// One node: its API address and, until the test kills it, its process.
struct Node {
    addr: String,
    child: Mutex<Option<Child>>,
}

/// A running cluster, initialised and unsealed, every node a Raft voter.
pub struct RaftCluster {
    root_token: String,
    nodes: Vec<Node>,
    bin: std::path::PathBuf,
    http: reqwest::Client,
    dir: tempfile::TempDir,
}

/// What one node says about itself and its leader.
struct NodeView {
    /// `sys/health`: 200 active, 429 standby, 501 not initialised, 503 sealed.
    health: u16,
    /// `sys/leader`'s `leader_address` (empty while the node knows no leader).
    leader: String,
}

impl RaftCluster {
    /// Starts three nodes with the `bao` binary of `services` and forms the cluster.
    pub async fn start(services: &Services) -> RaftCluster {
        let mut attempt = 1;
        loop {
            match RaftCluster::form(services).await {
                Ok(cluster) => return cluster,
                Err(failure) if attempt < FORMATION_ATTEMPTS => {
                    eprintln!("forming the Raft cluster failed (attempt {attempt}); forming a new one:\n{failure}");
                    attempt += 1;
                }
                Err(failure) => panic!("{failure}"),
            }
        }
    }

    /// One try at [`RaftCluster::start`]; the error holds every node's log. Dropping a half-formed cluster
    /// kills its nodes.
    async fn form(services: &Services) -> Result<RaftCluster, String> {
        let dir = tempfile::tempdir().expect("cluster tempdir");
        let ports = free_port_pairs(3);
        let mut cluster = RaftCluster {
            root_token: String::new(),
            nodes: Vec::new(),
            bin: services.bao_bin.clone(),
            http: vault_login::tls::client_builder().timeout(Duration::from_secs(5)).build().expect("HTTP client"),
            dir,
        };
        for (i, port) in ports.into_iter().enumerate() {
            let child = cluster.spawn(i, port);
            cluster.nodes.push(Node { addr: format!("http://127.0.0.1:{port}"), child: Mutex::new(Some(child)) });
        }
        for i in 0..3 {
            cluster.poll(&format!("node {i} to answer sys/health"), || cluster.health_is(i, &[501])).await?;
        }
        let init = cluster.put(0, "sys/init", json!({ "secret_shares": 1, "secret_threshold": 1 })).await;
        let key = init["keys_base64"][0].as_str().expect("sys/init answers keys_base64").to_owned();
        cluster.root_token = init["root_token"].as_str().expect("sys/init answers root_token").to_owned();
        cluster.put(0, "sys/unseal", json!({ "key": key })).await;
        cluster.poll("node 0 to become active", || cluster.health_is(0, &[200])).await?;
        // Autopilot promotes a joined node to voter only once it has been healthy this long (10 s by
        // default); until then it could not take over, and the failover tests would be testing nothing.
        let autopilot = json!({ "server_stabilization_time": "1s" });
        cluster.admin(0).write("sys/storage/raft/autopilot/configuration", autopilot).await;
        let leader_api_addr = cluster.nodes[0].addr.clone();
        for i in 1..3 {
            cluster.put(i, "sys/storage/raft/join", json!({ "leader_api_addr": leader_api_addr })).await;
            cluster.put(i, "sys/unseal", json!({ "key": key })).await;
        }
        for i in 1..3 {
            cluster.poll(&format!("node {i} to be a standby"), || cluster.health_is(i, &[429])).await?;
        }
        cluster.poll("all three nodes to be Raft voters", || cluster.all_voters()).await?;
        Ok(cluster)
    }

    /// The configuration of node `i`. `performance_multiplier = 1` makes a standby notice a dead leader
    /// within about a second (OpenBao's default is tuned for slow networks); the short autopilot
    /// intervals make the voter promotion above a matter of seconds.
    fn spawn(&self, i: usize, port: u16) -> Child {
        let data = self.dir.path().join(format!("node{i}"));
        std::fs::create_dir_all(&data).expect("node data dir");
        let config = format!(
            "disable_mlock = true\n\
             api_addr = \"http://127.0.0.1:{port}\"\n\
             cluster_addr = \"https://127.0.0.1:{cluster}\"\n\
             storage \"raft\" {{\n  path = \"{data}\"\n  node_id = \"node{i}\"\n  performance_multiplier = 1\n  \
             autopilot_reconcile_interval = \"300ms\"\n  autopilot_update_interval = \"200ms\"\n}}\n\
             listener \"tcp\" {{\n  address = \"127.0.0.1:{port}\"\n  cluster_address = \"127.0.0.1:{cluster}\"\n  \
             tls_disable = true\n}}\n",
            cluster = port + 1,
            data = data.display(),
        );
        let config_path = self.dir.path().join(format!("node{i}.hcl"));
        std::fs::write(&config_path, config).expect("write node config");
        spawn_server(&self.bin, &[format!("-config={}", config_path.display())], &self.log_path(i))
    }

    /// `http://127.0.0.1:<port>` of node `i`, as its `api_addr` advertises it.
    pub fn addr(&self, i: usize) -> &str {
        &self.nodes[i].addr
    }

    /// A root client talking to node `i`.
    pub fn admin(&self, i: usize) -> Bao {
        Bao::new(self.addr(i), &self.root_token)
    }

    /// `shared` with node `i` of this cluster as the OpenBao, for `App::provision` (PostgreSQL stays shared).
    pub fn services(&self, shared: &Services, i: usize) -> Services {
        Services { bao: self.admin(i), ..shared.clone() }
    }

    /// The active node, once every running node agrees on it and it answers as active.
    pub async fn active(&self) -> usize {
        self.wait_for("the running nodes to agree on an active node", || self.agreed_active()).await
    }

    /// A running standby of the current active node.
    pub async fn standby(&self) -> usize {
        let active = self.active().await;
        self.running().find(|&i| i != active).expect("a running standby")
    }

    /// `sys/step-down` on the active node; returns the node that took over. The old leader waits before
    /// it competes for the lock again, so the new one is another node.
    pub async fn step_down(&self) -> usize {
        let old = self.active().await;
        let reply = self.admin(old).call("PUT", "sys/step-down", None).await;
        assert!(reply.is_success(), "sys/step-down on node {old}: {} {}", reply.status, reply.body);
        self.new_active(old).await
    }

    /// Kills node `i` (SIGKILL: no step-down, no goodbye to its peers).
    pub fn kill(&mut self, i: usize) {
        if let Some(mut child) = self.nodes[i].child.lock().unwrap().take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Waits until a node other than `old` is active and every running node follows it.
    pub async fn new_active(&self, old: usize) -> usize {
        let what = format!("a node other than {old} to become active");
        self.wait_for(&what, || async move { self.agreed_active().await.filter(|&i| i != old) }).await
    }

    /// Waits until every running node answers a root `GET` of `path`. Raft applies writes in order, so a
    /// node that serves the last thing written has all that came before; and having the data is not
    /// enough: a standby's KV v2 mount answers 400 ("waiting for the primary to upgrade") for a moment
    /// after the mount was created.
    pub async fn wait_readable(&self, path: &str) {
        self.wait_for(&format!("every node to serve {path}"), || async move {
            for i in self.running() {
                let url = format!("{}/v1/{path}", self.addr(i));
                let reply = self.http.get(url).header("X-Vault-Token", &self.root_token).send().await.ok()?;
                if !reply.status().is_success() {
                    return None;
                }
            }
            Some(())
        })
        .await;
    }

    fn running(&self) -> impl Iterator<Item = usize> + '_ {
        (0..self.nodes.len()).filter(|&i| self.nodes[i].child.lock().unwrap().is_some())
    }

    async fn agreed_active(&self) -> Option<usize> {
        let mut views = Vec::new();
        for i in self.running() {
            views.push((i, self.view(i).await?));
        }
        let (active, view) = views.iter().find(|(_, v)| v.health == 200)?;
        let followed = views.iter().all(|(_, v)| v.leader == view.leader && [200, 429].contains(&v.health));
        (followed && view.leader == self.nodes[*active].addr).then_some(*active)
    }

    async fn view(&self, i: usize) -> Option<NodeView> {
        let health = self.http.get(format!("{}/v1/sys/health", self.addr(i))).send().await.ok()?.status().as_u16();
        let leader = self.get(i, "sys/leader").await?;
        Some(NodeView { health, leader: leader["leader_address"].as_str().unwrap_or_default().to_owned() })
    }

    async fn health_is(&self, i: usize, statuses: &[u16]) -> Option<()> {
        let status = self.http.get(format!("{}/v1/sys/health", self.addr(i))).send().await.ok()?.status();
        statuses.contains(&status.as_u16()).then_some(())
    }

    async fn all_voters(&self) -> Option<()> {
        let config = self.admin(0).read("sys/storage/raft/configuration").await?;
        let servers = config["data"]["config"]["servers"].as_array()?;
        (servers.len() == 3 && servers.iter().all(|s| s["voter"] == true)).then_some(())
    }

    async fn get(&self, i: usize, path: &str) -> Option<Value> {
        let reply = self.http.get(format!("{}/v1/{path}", self.addr(i))).send().await.ok()?;
        reply.json().await.ok()
    }

    /// An unauthenticated `PUT` that must succeed (init, unseal, join).
    async fn put(&self, i: usize, path: &str, body: Value) -> Value {
        let url = format!("{}/v1/{path}", self.addr(i));
        let reply = self.http.put(&url).json(&body).send().await.unwrap_or_else(|e| panic!("PUT {url}: {e}"));
        let status = reply.status();
        let body: Value = reply.json().await.unwrap_or(Value::Null);
        assert!(status.is_success(), "PUT {url} -> {status}: {body}\n{}", self.logs());
        body
    }

    /// A node that exited on its own, e.g. because another process took one of its ports between
    /// `free_port_pairs` and its start: waiting on it would only run out the deadline.
    fn exited(&self) -> Option<usize> {
        let mut nodes = self.nodes.iter().enumerate();
        nodes.find_map(|(i, node)| {
            let mut child = node.child.lock().unwrap();
            child.as_mut().is_some_and(|c| !matches!(c.try_wait(), Ok(None))).then_some(i)
        })
    }

    /// [`RaftCluster::poll`], panicking with every node's log.
    async fn wait_for<T, F: Future<Output = Option<T>>>(&self, what: &str, check: impl FnMut() -> F) -> T {
        self.poll(what, check).await.unwrap_or_else(|failure| panic!("{failure}"))
    }

    /// Polls `check` every 50 ms until it yields, for at most [`DEADLINE`]; the error holds every node's log.
    async fn poll<T, F: Future<Output = Option<T>>>(
        &self,
        what: &str,
        mut check: impl FnMut() -> F,
    ) -> Result<T, String> {
        let deadline = Instant::now() + DEADLINE;
        loop {
            if let Some(value) = check().await {
                return Ok(value);
            }
            if let Some(i) = self.exited() {
                return Err(format!("node {i} exited while waiting for {what}\n{}", self.logs()));
            }
            if Instant::now() >= deadline {
                return Err(format!("timed out waiting for {what}\n{}", self.logs()));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn log_path(&self, i: usize) -> std::path::PathBuf {
        self.dir.path().join(format!("node{i}.log"))
    }

    /// The last lines of every node's log, for failure messages.
    fn logs(&self) -> String {
        (0..self.nodes.len()).map(|i| tail(&self.log_path(i), i)).collect()
    }
}

fn tail(path: &Path, i: usize) -> String {
    let log = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = log.lines().collect();
    format!("--- node {i} ---\n{}\n", lines[lines.len().saturating_sub(20)..].join("\n"))
}

impl Drop for RaftCluster {
    fn drop(&mut self) {
        for i in 0..self.nodes.len() {
            self.kill(i);
        }
    }
}
