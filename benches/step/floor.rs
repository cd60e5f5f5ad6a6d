//! The floor: the HTTP requests one run of the step makes, from this already-running process.

use std::collections::HashSet;
use std::time::Instant;

use serde_json::{Value, json};

use crate::measure::ms;
use crate::support::{App, Issuer};

/// The requests of one run, sent sequentially over one kept-alive client.
pub struct Floor {
    http: reqwest::Client,
    token_url: String,
    request_token: String,
    login_url: String,
    role: String,
    /// The mount lookups' and the reads' URLs, in order.
    reads: Vec<String>,
    revoke_url: String,
}

impl Floor {
    /// `bao`: Vault's address, whose certificate `ca_pem` signed if it is https; `paths`: per distinct path,
    /// the path and the API path the step reads.
    pub fn new(bao: &str, ca_pem: Option<&str>, issuer: &Issuer, app: &App, paths: &[(String, String)]) -> Floor {
        let claims = app.claims();
        // Like the step: one mount lookup per mount (each scenario's mounts differ in their first segment).
        let mut mounts = HashSet::new();
        let mut reads = Vec::new();
        for (path, api) in paths {
            if mounts.insert(path.split('/').next()) {
                reads.push(format!("{bao}/v1/sys/internal/ui/mounts/{path}"));
            }
            reads.push(format!("{bao}/v1/{api}"));
        }
        Floor {
            http: client(ca_pem),
            token_url: format!("{}&audience=vault", issuer.token_request_url(&claims.run_id)),
            request_token: issuer.register_job(claims),
            login_url: format!("{bao}/v1/auth/{}/login", app.mount),
            role: app.role.clone(),
            reads,
            revoke_url: format!("{bao}/v1/auth/token/revoke-self"),
        }
    }

    /// ID token, login, lookups and reads, revoke-self.
    pub fn requests(&self) -> usize {
        3 + self.reads.len()
    }

    /// One run; its wall time in ms.
    pub async fn run(&self) -> f64 {
        let start = Instant::now();
        let request = self.http.get(&self.token_url).bearer_auth(&self.request_token);
        let answer = json_of(request.header("Accept", "application/json")).await;
        let jwt = answer["value"].as_str().expect("the issuer's answer has a `value`");
        let login = json_of(self.http.post(&self.login_url).json(&json!({ "role": self.role, "jwt": jwt }))).await;
        let token = login["auth"]["client_token"].as_str().expect("the login answer has a token");
        for url in &self.reads {
            json_of(self.http.get(url).header("X-Vault-Token", token)).await;
        }
        let revoke = self.http.post(&self.revoke_url).header("X-Vault-Token", token).json(&json!({}));
        let status = revoke.send().await.expect("revoke-self").status();
        assert!(status.is_success(), "revoke-self answered {status}");
        ms(start.elapsed())
    }
}

/// A kept-alive client, trusting `ca_pem` besides the system's roots.
fn client(ca_pem: Option<&str>) -> reqwest::Client {
    let extra = ca_pem.map(|pem| reqwest::Certificate::from_pem(pem.as_bytes()).expect("the CA"));
    let builder = vault_login::tls::client_builder();
    extra.into_iter().fold(builder, |builder, ca| builder.tls_certs_merge([ca])).build().expect("HTTP client")
}

/// Sends `request`; panics unless it succeeds; its body as JSON (parsed, as the step parses it).
async fn json_of(request: reqwest::RequestBuilder) -> Value {
    let response = request.send().await.expect("floor request");
    let status = response.status();
    let body = response.bytes().await.expect("floor response body");
    assert!(status.is_success(), "floor request answered {status}: {}", String::from_utf8_lossy(&body));
    serde_json::from_slice(&body).expect("a JSON answer")
}
