//! A TCP proxy between the binary and a server, misbehaving on command: down (nothing listens), refusing
//! (accept, then close), delaying, cutting a connection when the client sends a given request, holding
//! such a request until told otherwise, or adding a header to every request.
//! `Proxy::http_proxy` is instead an HTTP proxy (CONNECT and absolute-form requests), for `HTTPS_PROXY`.
//!
//! Only loopback is ever connected to.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;

/// How the proxy treats traffic.
#[derive(Clone, Debug, PartialEq)]
pub enum Rule {
    /// Forward everything.
    Pass,
    /// Nothing listens: connections are refused, as when the server is not running.
    Down,
    /// Accept each connection and close it at once.
    Refuse,
    /// Wait this long before connecting upstream (a Vault too slow to answer).
    Delay(Duration),
    /// Hold a client write that contains the pattern this long before forwarding it.
    DelayOn(String, Duration),
    /// Close a connection (both ways, unforwarded) when the client sends the pattern.
    CutOn(String),
    /// Like `CutOn`, and from then on `Refuse`: the server is gone after that request.
    CutFrom(String),
    /// Hold a client write that contains the pattern until the rule changes: a request caught in
    /// flight while the test changes the world behind it.
    HoldOn(String),
    /// Add this header line (`Name: value`) to every request, after its request line.
    Header(String),
}

struct State {
    rule: Rule,
    /// `CONNECT host:port` / `GET http://...` lines seen in HTTP-proxy mode.
    proxied: Vec<String>,
    cuts: usize,
    holds: usize,
}

/// A running proxy; dropping it stops it and every connection through it.
pub struct Proxy {
    addr: SocketAddr,
    state: Arc<Mutex<State>>,
    /// Bumped at every rule change (wakes the listener).
    changes: watch::Sender<u64>,
    /// Bumped to drop every open connection.
    drops: watch::Sender<u64>,
    task: tokio::task::JoinHandle<()>,
}

impl Proxy {
    /// A proxy to `upstream` (e.g. `http://127.0.0.1:8200` or `127.0.0.1:8200`), starting with `rule`.
    pub async fn start(upstream: &str, rule: Rule) -> Proxy {
        let upstream = upstream.trim_start_matches("http://").trim_start_matches("https://");
        let upstream = upstream.trim_end_matches('/').to_owned();
        Self::spawn(Some(upstream), rule).await
    }

    /// An HTTP proxy: `CONNECT host:port` tunnels and absolute-form requests, to loopback targets only.
    pub async fn http_proxy() -> Proxy {
        Self::spawn(None, Rule::Pass).await
    }

    async fn spawn(upstream: Option<String>, rule: Rule) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind the proxy");
        let addr = listener.local_addr().expect("proxy address");
        let state = Arc::new(Mutex::new(State { rule, proxied: Vec::new(), cuts: 0, holds: 0 }));
        let (changes, _) = watch::channel(0u64);
        let (drops, _) = watch::channel(0u64);
        let task = tokio::spawn(serve(listener, upstream, state.clone(), changes.subscribe(), drops.clone()));
        Proxy { addr, state, changes, drops, task }
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Changes the rule; open connections are dropped unless the new rule is `Pass` or `Delay*`.
    pub fn set(&self, rule: Rule) {
        let drop_open = matches!(rule, Rule::Down | Rule::Refuse);
        self.state.lock().unwrap().rule = rule;
        if drop_open {
            self.drops.send_modify(|g| *g += 1);
        }
        self.changes.send_modify(|g| *g += 1);
    }

    /// Connections cut by `CutOn`/`CutFrom` so far.
    pub fn cuts(&self) -> usize {
        self.state.lock().unwrap().cuts
    }

    /// Client writes caught by `HoldOn` so far.
    pub fn holds(&self) -> usize {
        self.state.lock().unwrap().holds
    }

    /// What went through in HTTP-proxy mode: `CONNECT 127.0.0.1:8200`, `GET http://127.0.0.1:8200/...`.
    pub fn proxied(&self) -> Vec<String> {
        self.state.lock().unwrap().proxied.clone()
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Accepts while the rule is not `Down`; the listener is closed (port released) while it is, and bound
/// again on the same port when it no longer is.
async fn serve(
    listener: TcpListener,
    upstream: Option<String>,
    state: Arc<Mutex<State>>,
    mut changes: watch::Receiver<u64>,
    drops: watch::Sender<u64>,
) {
    let addr = listener.local_addr().expect("proxy address");
    let mut listener = Some(listener);
    let mut connections = JoinSet::new();
    loop {
        let down = state.lock().unwrap().rule == Rule::Down;
        if down {
            listener = None;
        } else if listener.is_none() {
            listener = Some(rebind(addr).await);
        }
        let Some(open) = &listener else {
            let _ = changes.changed().await;
            continue;
        };
        tokio::select! {
            _ = changes.changed() => continue,
            accepted = open.accept() => {
                let Ok((client, _)) = accepted else { continue };
                let (state, upstream, cut) = (state.clone(), upstream.clone(), drops.subscribe());
                let rule_changes = changes.clone();
                connections.spawn(async move {
                    let _ = handle(client, upstream, state, cut, rule_changes).await;
                });
            }
        }
    }
}

async fn rebind(addr: SocketAddr) -> TcpListener {
    for _ in 0..50 {
        if let Ok(listener) = TcpListener::bind(addr).await {
            return listener;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the proxy could not listen on {addr} again");
}

async fn handle(
    mut client: TcpStream,
    upstream: Option<String>,
    state: Arc<Mutex<State>>,
    mut cut: watch::Receiver<u64>,
    mut rule_changes: watch::Receiver<u64>,
) -> std::io::Result<()> {
    cut.borrow_and_update();
    let rule = state.lock().unwrap().rule.clone();
    match rule {
        Rule::Refuse | Rule::Down => return Ok(()),
        Rule::Delay(delay) => tokio::time::sleep(delay).await,
        _ => {}
    }
    let (server, head) = match upstream {
        Some(upstream) => (TcpStream::connect(upstream).await?, Vec::new()),
        None => http_proxy_target(&mut client, &state).await?,
    };
    let (mut client_read, mut client_write) = client.into_split();
    let (mut server_read, mut server_write) = server.into_split();
    server_write.write_all(&head).await?;
    let upward = async {
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            let n = client_read.read(&mut buf).await?;
            if n == 0 {
                return server_write.shutdown().await;
            }
            if !inspect(&state, &buf[..n], &mut rule_changes).await {
                return Err(std::io::Error::other("cut by the proxy"));
            }
            server_write.write_all(&with_header(&state, &buf[..n])).await?;
        }
    };
    let downward = tokio::io::copy(&mut server_read, &mut client_write);
    tokio::select! {
        result = async { tokio::try_join!(upward, downward) } => result.map(drop),
        _ = cut.changed() => Ok(()),
    }
}

/// Applies the rule to one client write: `false` means cut the connection.
async fn inspect(state: &Mutex<State>, data: &[u8], rule_changes: &mut watch::Receiver<u64>) -> bool {
    let rule = state.lock().unwrap().rule.clone();
    let contains = |pattern: &str| data.windows(pattern.len().max(1)).any(|w| w == pattern.as_bytes());
    match rule {
        Rule::DelayOn(pattern, delay) if contains(&pattern) => {
            tokio::time::sleep(delay).await;
            true
        }
        Rule::HoldOn(pattern) if contains(&pattern) => {
            state.lock().unwrap().holds += 1;
            rule_changes.borrow_and_update();
            while state.lock().unwrap().rule == Rule::HoldOn(pattern.clone()) {
                if rule_changes.changed().await.is_err() {
                    return false;
                }
            }
            true
        }
        Rule::CutOn(pattern) if contains(&pattern) => {
            state.lock().unwrap().cuts += 1;
            false
        }
        Rule::CutFrom(pattern) if contains(&pattern) => {
            let mut state = state.lock().unwrap();
            state.cuts += 1;
            state.rule = Rule::Refuse;
            false
        }
        Rule::Refuse | Rule::Down => false,
        _ => true,
    }
}

/// `Rule::Header` applied to one client write: a write that starts a request (the client writes each
/// request head in one piece) gets the header right after its request line.
fn with_header(state: &Mutex<State>, data: &[u8]) -> Vec<u8> {
    let Rule::Header(header) = state.lock().unwrap().rule.clone() else { return data.to_vec() };
    let line_end = data.windows(2).position(|w| w == b"\r\n");
    match line_end {
        Some(end) if data[..end].ends_with(b" HTTP/1.1") => {
            [&data[..end + 2], header.as_bytes(), b"\r\n", &data[end + 2..]].concat()
        }
        _ => data.to_vec(),
    }
}

/// Reads the first request head of an HTTP-proxy connection and connects to its target. Returns the
/// bytes to forward first (nothing for CONNECT, which is answered here).
async fn http_proxy_target(client: &mut TcpStream, state: &Mutex<State>) -> std::io::Result<(TcpStream, Vec<u8>)> {
    let mut head = Vec::new();
    let mut buf = [0u8; 4096];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = client.read(&mut buf).await?;
        if n == 0 || head.len() > 64 * 1024 {
            return Err(std::io::Error::other("no request head"));
        }
        head.extend_from_slice(&buf[..n]);
    }
    let line = String::from_utf8_lossy(&head).lines().next().unwrap_or_default().to_owned();
    let mut parts = line.split_whitespace();
    let (method, target) = (parts.next().unwrap_or_default(), parts.next().unwrap_or_default());
    let authority = match method {
        "CONNECT" => target.to_owned(),
        _ => target.trim_start_matches("http://").split('/').next().unwrap_or_default().to_owned(),
    };
    assert!(authority.starts_with("127.0.0.1:"), "the test proxy only connects to loopback, not {authority:?}");
    state.lock().unwrap().proxied.push(format!("{method} {target}"));
    let server = TcpStream::connect(&authority).await?;
    if method == "CONNECT" {
        client.write_all(b"HTTP/1.1 200 Connection established\r\n\r\n").await?;
        let end = head.windows(4).position(|w| w == b"\r\n\r\n").map_or(head.len(), |p| p + 4);
        return Ok((server, head.split_off(end)));
    }
    Ok((server, head))
}
