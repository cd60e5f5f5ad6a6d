//! The HTTP side of Vault: one request, its retries, and what an answer means.
//!
//! Deliberately small: the step needs five endpoints, each a GET or POST with `X-Vault-Token`. Errors keep
//! Vault's own `errors[]` verbatim, since that text is what a user searches for.

use std::sync::Arc;
use std::time::Duration;

use backon::{ExponentialBuilder, Retryable};
use reqwest::{Method, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;
use tokio::time::Instant;
use url::Url;

use super::VaultError;

/// Vault's answers are small JSON documents; a huge body is a misconfigured proxy, not Vault.
const MAX_BODY: usize = 1024 * 1024;
/// One attempt may not take longer than this, so a hung connection still leaves time to retry.
const MAX_ATTEMPT: Duration = Duration::from_secs(15);

/// Whether a request may be sent again after a failure whose outcome is unknown.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Replay {
    /// Reads and revocations: repeating them changes nothing.
    Safe,
    /// Login mints a token each time it succeeds: only repeat it when Vault provably did not act on it
    /// (no connection, or an explicit retry-later status).
    OnlyIfNotProcessed,
}

/// Told about every retry, so the caller can log one line per retry.
pub type RetryNotice = Arc<dyn Fn(&VaultError, Duration) + Send + Sync>;

/// A Vault server as the step talks to it.
#[derive(Clone)]
pub struct Vault {
    http: reqwest::Client,
    addr: Url,
    namespace: Option<String>,
    deadline: Instant,
    on_retry: RetryNotice,
}

impl Vault {
    /// `timeout` is the budget for everything this client will do, retries included.
    pub fn new(
        http: reqwest::Client,
        addr: Url,
        namespace: Option<String>,
        timeout: Duration,
        on_retry: RetryNotice,
    ) -> Self {
        Self { http, addr, namespace, deadline: Instant::now() + timeout, on_retry }
    }

    /// The same server with a fresh budget, for work that must happen even after the step's ran out.
    pub fn with_budget(&self, budget: Duration) -> Self {
        Self { deadline: Instant::now() + budget, ..self.clone() }
    }

    /// The server's address, for messages.
    pub fn addr(&self) -> &Url {
        &self.addr
    }

    /// An HTTP client with the step's settings.
    pub fn http_client(timeout: Duration) -> reqwest::Result<reqwest::Client> {
        reqwest::Client::builder()
            .user_agent(concat!("vault-login/", env!("CARGO_PKG_VERSION")))
            .timeout(timeout.min(MAX_ATTEMPT))
            .connect_timeout(timeout.min(Duration::from_secs(5)))
            .build()
    }

    /// GET `v1/<path>`. `Ok(None)` means 404, which callers turn into "not found" for their own noun.
    pub async fn get(&self, path: &str, token: &SecretString) -> Result<Option<Value>, VaultError> {
        match self.call(Method::GET, path, Some(token), None, Replay::Safe).await {
            Err(VaultError::Api { status: 404, ref errors, .. }) if !is_route_error(errors) => Ok(None),
            other => other.map(|v| Some(v.unwrap_or(Value::Null))),
        }
    }

    /// POST `v1/<path>` with a JSON body.
    pub async fn post(
        &self,
        path: &str,
        token: Option<&SecretString>,
        body: &Value,
        replay: Replay,
    ) -> Result<Option<Value>, VaultError> {
        self.call(Method::POST, path, token, Some(body), replay).await
    }

    async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&SecretString>,
        body: Option<&Value>,
        replay: Replay,
    ) -> Result<Option<Value>, VaultError> {
        let attempt = || self.attempt(method.clone(), path, token, body);
        let backoff = ExponentialBuilder::default()
            .with_jitter()
            .with_min_delay(Duration::from_millis(250))
            .with_max_delay(Duration::from_secs(4))
            .without_max_times();
        let retried = attempt
            .retry(backoff)
            .sleep(tokio::time::sleep)
            .when(|e: &VaultError| e.is_retryable(replay))
            .notify(|e: &VaultError, wait| (self.on_retry)(e, wait));
        tokio::time::timeout_at(self.deadline, retried).await.unwrap_or_else(|_| {
            Err(VaultError::Deadline { addr: self.addr.to_string(), method: method.to_string(), path: path.to_owned() })
        })
    }

    async fn attempt(
        &self,
        method: Method,
        path: &str,
        token: Option<&SecretString>,
        body: Option<&Value>,
    ) -> Result<Option<Value>, VaultError> {
        let mut request = self.http.request(method.clone(), self.url(path));
        if let Some(token) = token {
            request = request.header("X-Vault-Token", token.expose_secret());
        }
        if let Some(namespace) = &self.namespace {
            request = request.header("X-Vault-Namespace", namespace);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        let transport = |e: reqwest::Error| VaultError::transport(&self.addr, &method, path, &e);
        let response = request.send().await.map_err(transport)?;
        let status = response.status();
        let bytes = read_capped(response).await.map_err(transport)?;
        interpret(status, &bytes, &self.addr, &method, path)
    }

    fn url(&self, path: &str) -> String {
        format!("{}/v1/{}", self.addr.as_str().trim_end_matches('/'), path.trim_start_matches('/'))
    }
}

/// Reads the body, refusing more than [`MAX_BODY`] bytes.
async fn read_capped(mut response: reqwest::Response) -> Result<Vec<u8>, reqwest::Error> {
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        body.extend_from_slice(&chunk);
        if body.len() > MAX_BODY {
            body.truncate(MAX_BODY + 1);
            break;
        }
    }
    Ok(body)
}

fn interpret(
    status: StatusCode,
    body: &[u8],
    addr: &Url,
    method: &Method,
    path: &str,
) -> Result<Option<Value>, VaultError> {
    let decode = |detail: String| VaultError::Decode { method: method.to_string(), path: path.to_owned(), detail };
    if body.len() > MAX_BODY {
        return Err(decode(format!("the answer is larger than {MAX_BODY} bytes")));
    }
    if status.is_success() {
        if body.iter().all(u8::is_ascii_whitespace) {
            return Ok(None);
        }
        return serde_json::from_slice(body).map(Some).map_err(|e| decode(format!("not JSON: {e}")));
    }
    let errors = error_messages(body);
    if status == StatusCode::SERVICE_UNAVAILABLE && errors.iter().any(|e| e.contains("sealed")) {
        return Err(VaultError::Sealed { addr: addr.to_string() });
    }
    Err(VaultError::Api { method: method.to_string(), path: path.to_owned(), status: status.as_u16(), errors })
}

/// Vault's `{"errors": [...]}`, or a short excerpt of whatever else answered (a proxy's HTML page, say).
fn error_messages(body: &[u8]) -> Vec<String> {
    #[derive(serde::Deserialize)]
    struct Errors {
        errors: Vec<String>,
    }
    if let Ok(parsed) = serde_json::from_slice::<Errors>(body) {
        return parsed.errors;
    }
    let text = String::from_utf8_lossy(body);
    let excerpt: String = text.split_whitespace().collect::<Vec<_>>().join(" ").chars().take(200).collect();
    if excerpt.is_empty() { Vec::new() } else { vec![format!("(not a Vault answer) {excerpt}")] }
}

/// A 404 that says the route itself does not exist (wrong mount), as opposed to "no secret here".
fn is_route_error(errors: &[String]) -> bool {
    errors.iter().any(|e| e.contains("no handler for route"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr() -> Url {
        Url::parse("http://127.0.0.1:8200").unwrap()
    }

    #[test]
    fn errors_keep_vaults_words() {
        let body = br#"{"errors":["role \"x\" could not be found"]}"#;
        let err = interpret(StatusCode::BAD_REQUEST, body, &addr(), &Method::POST, "auth/jwt/login").unwrap_err();
        assert_eq!(err.to_string(), "POST auth/jwt/login: Vault answered 400: role \"x\" could not be found");
    }

    #[test]
    fn sealed_is_its_own_error() {
        let body = br#"{"errors":["Vault is sealed"]}"#;
        let err = interpret(StatusCode::SERVICE_UNAVAILABLE, body, &addr(), &Method::GET, "x").unwrap_err();
        assert!(matches!(err, VaultError::Sealed { .. }));
    }

    #[test]
    fn non_json_bodies_are_excerpted() {
        let body = b"<html>\n<body>502 Bad Gateway</body></html>";
        let err = interpret(StatusCode::BAD_GATEWAY, body, &addr(), &Method::GET, "x").unwrap_err();
        assert!(err.to_string().contains("(not a Vault answer) <html> <body>502 Bad Gateway</body></html>"));
        let ok = interpret(StatusCode::OK, b"<html>", &addr(), &Method::GET, "x").unwrap_err();
        assert!(ok.to_string().contains("not JSON"));
    }

    #[test]
    fn empty_success_is_none() {
        assert_eq!(interpret(StatusCode::NO_CONTENT, b"", &addr(), &Method::POST, "x").unwrap(), None);
    }
}
