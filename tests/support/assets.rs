//! A release-asset host for the shim's downloads, as a forge serves `<base>/vault-login-linux-<arch>`: plain
//! HTTP on loopback (the shim allows plain http to loopback hosts only), or HTTPS with a given certificate,
//! answering each request with the next scripted reply, then with the default one. It records every request,
//! so that a test observes a cache hit as "no request" and a retry as "one more request", with no clock
//! involved.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};

use rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// One answer.
#[derive(Clone, Debug)]
pub enum Reply {
    /// 200 with these bytes.
    Asset(Arc<Vec<u8>>),
    /// This status, with a short text body.
    Status(u16),
    /// 302 to this URL.
    Redirect(String),
    /// 200 without a length, zeros until the client hangs up: a body that never ends.
    Endless,
    /// 200 with a length it never sends in full, held until the client hangs up: a download in flight.
    Stall,
}

impl Reply {
    pub fn asset(bytes: impl Into<Vec<u8>>) -> Reply {
        Reply::Asset(Arc::new(bytes.into()))
    }
}

struct State {
    script: VecDeque<Reply>,
    default: Reply,
    /// Request lines, e.g. `GET /releases/download/v1.0.0/vault-login-linux-x64`.
    requests: Vec<String>,
}

/// A running host; dropping it stops it.
pub struct AssetHost {
    addr: SocketAddr,
    scheme: &'static str,
    state: Arc<(Mutex<State>, Condvar)>,
    stop: Arc<AtomicBool>,
}

impl AssetHost {
    /// A plain-http host that answers every request with `default`.
    pub fn start(default: Reply) -> AssetHost {
        Self::spawn(default, None)
    }

    /// An https host with this certificate (for 127.0.0.1) that answers every request with `default`.
    pub fn start_tls(default: Reply, cert: CertificateDer<'static>, key: PrivateKeyDer<'static>) -> AssetHost {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .and_then(|b| b.with_no_client_auth().with_single_cert(vec![cert], key))
            .expect("the asset host's TLS configuration");
        Self::spawn(default, Some(Arc::new(config)))
    }

    fn spawn(default: Reply, tls: Option<Arc<rustls::ServerConfig>>) -> AssetHost {
        let scheme = if tls.is_some() { "https" } else { "http" };
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the asset host");
        let addr = listener.local_addr().expect("asset host address");
        let state = State { script: VecDeque::new(), default, requests: Vec::new() };
        let state = Arc::new((Mutex::new(state), Condvar::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (shared, stopped) = (state.clone(), stop.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                if stopped.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let (shared, tls) = (shared.clone(), tls.clone());
                std::thread::spawn(move || match tls {
                    None => answer(stream, &shared),
                    Some(config) => {
                        let Ok(conn) = rustls::ServerConnection::new(config) else { return };
                        let mut stream = rustls::StreamOwned::new(conn, stream);
                        answer(&mut stream, &shared);
                        stream.conn.send_close_notify();
                        let _ = stream.flush();
                    }
                });
            }
        });
        AssetHost { addr, scheme, state, stop }
    }

    /// Answers the next request with `reply` (after those queued before it).
    pub fn then(self, reply: Reply) -> AssetHost {
        self.state.0.lock().unwrap().script.push_back(reply);
        self
    }

    /// The release's base URL on this host, as `dist/RELEASE_URL` holds it (with the trailing `/`).
    pub fn base_url(&self) -> String {
        format!("{}://{}/releases/download/v1.0.0/", self.scheme, self.addr)
    }

    /// The request lines seen so far.
    pub fn requests(&self) -> Vec<String> {
        self.state.0.lock().unwrap().requests.clone()
    }

    /// Blocks until `n` requests have come in.
    pub fn wait_for_requests(&self, n: usize) {
        let (lock, arrived) = &*self.state;
        drop(arrived.wait_while(lock.lock().unwrap(), |s| s.requests.len() < n).unwrap());
    }
}

impl Drop for AssetHost {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.addr);
    }
}

/// Reads one request head and writes the reply it is due; the connection is closed after it.
fn answer(mut stream: impl Read + Write, state: &(Mutex<State>, Condvar)) {
    let mut reader = BufReader::new(&mut stream);
    let mut request = String::new();
    if reader.read_line(&mut request).unwrap_or(0) == 0 {
        return;
    }
    let mut line = String::new();
    while reader.read_line(&mut line).unwrap_or(0) > 2 {
        line.clear();
    }
    drop(reader);
    let reply = {
        let mut state_now = state.0.lock().unwrap();
        let request = request.trim_end().trim_end_matches(" HTTP/1.1").to_owned();
        state_now.requests.push(request);
        state.1.notify_all();
        state_now.script.pop_front().unwrap_or_else(|| state_now.default.clone())
    };
    let head = |status: &str, extra: &str| format!("HTTP/1.1 {status}\r\nConnection: close\r\n{extra}\r\n");
    let _ = match reply {
        Reply::Asset(bytes) => stream
            .write_all(head("200 OK", &format!("Content-Length: {}\r\n", bytes.len())).as_bytes())
            .and_then(|()| stream.write_all(&bytes)),
        Reply::Status(code) => {
            let body = format!("status {code}\n");
            let extra = format!("Content-Length: {}\r\n", body.len());
            stream.write_all(format!("{}{body}", head(&format!("{code} Scripted"), &extra)).as_bytes())
        }
        Reply::Redirect(to) => {
            stream.write_all(head("302 Found", &format!("Location: {to}\r\nContent-Length: 0\r\n")).as_bytes())
        }
        Reply::Stall => stream.write_all(head("200 OK", "Content-Length: 1000\r\n").as_bytes()).and_then(|()| {
            stream.write_all(b"#!/bin/sh\n")?;
            stream.flush()?;
            stream.read(&mut [0u8; 1]).map(drop)
        }),
        Reply::Endless => stream.write_all(head("200 OK", "").as_bytes()).and_then(|()| {
            let zeros = vec![0u8; 1 << 20];
            loop {
                stream.write_all(&zeros)?;
            }
        }),
    };
}
