//! A small OpenBao/Vault HTTP client for the tests: admin set-up and direct checks.

use reqwest::Method;
use serde_json::{Value, json};

/// A client for one OpenBao server acting with one token.
#[derive(Clone, Debug)]
pub struct Bao {
    addr: String,
    token: String,
    http: reqwest::Client,
}

/// Status and JSON body (or `Null`) of one response.
#[derive(Clone, Debug)]
pub struct BaoReply {
    pub status: u16,
    pub body: Value,
}

impl BaoReply {
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The `errors` array of an error response (empty when there is none).
    pub fn errors(&self) -> Vec<String> {
        let errors = self.body["errors"].as_array().cloned().unwrap_or_default();
        errors.iter().map(|e| e.as_str().unwrap_or_default().to_owned()).collect()
    }
}

impl Bao {
    pub fn new(addr: &str, token: &str) -> Bao {
        Bao {
            addr: addr.to_owned(),
            token: token.to_owned(),
            http: vault_login::tls::client_builder().build().expect("HTTP client"),
        }
    }

    /// The server address, `http://127.0.0.1:<port>`.
    pub fn addr(&self) -> &str {
        &self.addr
    }

    pub fn token(&self) -> &str {
        &self.token
    }

    /// The same server seen with another token (`""` sends no token).
    pub fn with_token(&self, token: &str) -> Bao {
        Bao { token: token.to_owned(), ..self.clone() }
    }

    /// One raw request to `/v1/<path>`; never panics on an HTTP error status.
    pub async fn call(&self, method: &str, path: &str, body: Option<Value>) -> BaoReply {
        let method = Method::from_bytes(method.as_bytes()).expect("HTTP method");
        let url = format!("{}/v1/{}", self.addr, path.trim_start_matches('/'));
        let mut req = self.http.request(method.clone(), &url);
        if !self.token.is_empty() {
            req = req.header("X-Vault-Token", &self.token);
        }
        if let Some(body) = body {
            req = req.json(&body);
        }
        let resp = req.send().await.unwrap_or_else(|e| panic!("{method} {url}: {e}"));
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap_or_default();
        let body = if text.trim().is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        BaoReply { status, body }
    }

    /// A request that must succeed (2xx); panics with Vault's `errors` otherwise. Retries the brief
    /// "upgrading" unavailability of a KV mount that was just enabled.
    async fn must(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        for attempt in 0.. {
            let reply = self.call(method, path, body.clone()).await;
            if reply.is_success() {
                return reply.body;
            }
            let upgrading = reply.errors().iter().any(|e| e.to_lowercase().contains("upgrading"));
            if !upgrading || attempt == 20 {
                panic!("{method} /v1/{path} -> {}: {}", reply.status, reply.body);
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        unreachable!()
    }

    /// `POST /v1/<path>` with a JSON body; returns the response body (`Null` on 204).
    pub async fn write(&self, path: &str, body: Value) -> Value {
        self.must("POST", path, Some(body)).await
    }

    /// `GET /v1/<path>`: `None` on 404, panics on any other error.
    pub async fn read(&self, path: &str) -> Option<Value> {
        let reply = self.call("GET", path, None).await;
        match reply.status {
            404 => None,
            s if (200..300).contains(&s) => Some(reply.body),
            s => panic!("GET /v1/{path} -> {s}: {}", reply.body),
        }
    }

    /// `LIST /v1/<path>` → `data.keys` (empty on 404).
    pub async fn list(&self, path: &str) -> Vec<String> {
        let reply = self.call("LIST", path, None).await;
        if reply.status == 404 {
            return Vec::new();
        }
        assert!(reply.is_success(), "LIST /v1/{path} -> {}: {}", reply.status, reply.body);
        let keys = reply.body["data"]["keys"].as_array().cloned().unwrap_or_default();
        keys.iter().map(|k| k.as_str().unwrap_or_default().to_owned()).collect()
    }

    /// Accessors of every live token on the server (all tests share it: prefer `App::live_tokens`).
    pub async fn list_accessors(&self) -> Vec<String> {
        self.list("auth/token/accessors").await
    }

    /// `auth/token/lookup` of a token: its data, or `None` if the token is invalid/revoked.
    pub async fn lookup(&self, token: &str) -> Option<Value> {
        let reply = self.call("POST", "auth/token/lookup", Some(json!({ "token": token }))).await;
        reply.is_success().then(|| reply.body["data"].clone())
    }

    /// `auth/token/lookup-accessor`: the token's data (no id), or `None` if it is gone.
    pub async fn lookup_accessor(&self, accessor: &str) -> Option<Value> {
        let body = json!({ "accessor": accessor });
        let reply = self.call("POST", "auth/token/lookup-accessor", Some(body)).await;
        reply.is_success().then(|| reply.body["data"].clone())
    }

    /// `auth/token/lookup-self` with this client's token (403 once revoked).
    pub async fn lookup_self(&self) -> BaoReply {
        self.call("GET", "auth/token/lookup-self", None).await
    }

    /// `auth/token/revoke-self` with this client's token (204 expected).
    pub async fn revoke_self(&self) -> BaoReply {
        self.call("POST", "auth/token/revoke-self", None).await
    }

    /// `POST auth/<mount>/login {role, jwt}`, raw.
    pub async fn login_jwt(&self, mount: &str, role: &str, jwt: &str) -> BaoReply {
        let body = json!({ "role": role, "jwt": jwt });
        self.with_token("").call("POST", &format!("auth/{mount}/login"), Some(body)).await
    }

    pub async fn put_policy(&self, name: &str, hcl: &str) {
        self.must("PUT", &format!("sys/policies/acl/{name}"), Some(json!({ "policy": hcl }))).await;
    }

    /// Enables a secrets engine at `path` unless it is already there with the same type (and KV version).
    /// Safe against parallel tests racing to enable the same shared mount.
    pub async fn enable_secrets(&self, path: &str, kind: &str, kv_version: Option<&str>) {
        let mut body = json!({ "type": kind });
        if let Some(v) = kv_version {
            body["options"] = json!({ "version": v });
        }
        self.enable(&format!("sys/mounts/{path}"), body, kv_version).await;
    }

    /// Enables an auth method at `path` (idempotent, like `enable_secrets`).
    pub async fn enable_auth(&self, path: &str, kind: &str) {
        self.enable(&format!("sys/auth/{path}"), json!({ "type": kind }), None).await;
    }

    async fn enable(&self, sys_path: &str, body: Value, kv_version: Option<&str>) {
        let reply = self.call("POST", sys_path, Some(body.clone())).await;
        if reply.is_success() {
            return;
        }
        let in_use = reply.errors().iter().any(|e| e.contains("path is already in use"));
        assert!(in_use, "POST /v1/{sys_path} -> {}: {}", reply.status, reply.body);
        let existing = self.read(sys_path).await.unwrap_or_else(|| panic!("{sys_path} in use but unreadable"));
        let existing = if existing["data"].is_object() { &existing["data"] } else { &existing };
        assert_eq!(existing["type"], body["type"], "{sys_path} is mounted with another type");
        if let Some(v) = kv_version {
            assert_eq!(existing["options"]["version"], v, "{sys_path} is mounted with another KV version");
        }
    }

    /// The shared mounts every app uses: `kvv2` (KV v2), `kv` (KV v1), `postgres` (database).
    pub async fn ensure_shared_mounts(&self) {
        self.enable_secrets("kvv2", "kv", Some("2")).await;
        self.enable_secrets("kv", "kv", Some("1")).await;
        self.enable_secrets("postgres", "database", None).await;
    }

    /// Writes one new version of a KV v2 secret (`<mount>/data/<path>`); returns the version number.
    pub async fn kv2_put(&self, mount: &str, path: &str, data: Value) -> u64 {
        let reply = self.write(&format!("{mount}/data/{path}"), json!({ "data": data })).await;
        reply["data"]["version"].as_u64().expect("KV v2 write answers data.version")
    }
}
