//! The HTTP side of Vault: one request, its retries within the step's budget, and a sealed Vault waited
//! for. What an answer means is in `answer`.
//!
//! Deliberately small: the step needs a few endpoints, each a GET or POST with `X-Vault-Token`.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use backon::{ExponentialBuilder, Retryable};
use reqwest::{Method, redirect};
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;
use tokio::time::Instant;
use url::Url;

use super::answer::{interpret, is_route_error, read_capped};
use super::seal::{self, SealStatus};
use super::{TransportKind, VaultError};
use crate::proxy::Proxies;
use crate::tls::TlsSettings;

/// One attempt may not take longer than this, so a hung connection still leaves time to retry.
const MAX_ATTEMPT: Duration = Duration::from_secs(15);
/// A standby sends one redirect, to the active node; anything more is a chain that HA does not need and
/// that would carry the token further than the operator pointed it.
const MAX_REDIRECTS: usize = 1;

/// Whether a request may be sent again after a failure whose outcome is unknown.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Replay {
    /// Reads and revocations: repeating them changes nothing.
    Safe,
    /// Login mints a token each time it succeeds: only repeat it when Vault provably did not act on it
    /// (no connection, or an explicit retry-later status).
    OnlyIfNotProcessed,
}

/// What happens while a request is in progress, for the caller's log.
pub enum Progress<'a> {
    /// An attempt failed and will be repeated after `wait`; `left` is what remains of the budget called
    /// `budget` (e.g. "input `timeout`").
    Retry { error: &'a VaultError, wait: Duration, left: Duration, budget: &'static str },
    /// Vault is sealed and the step waits for it (`wait-for-unseal`); `left` remains of that wait.
    Sealed { status: Option<&'a SealStatus>, next_check: Duration, left: Duration },
    /// Vault was unsealed after the step waited `waited` for it.
    Unsealed { waited: Duration },
    /// A standby redirected a request to `to` (the active node, as Vault HA does).
    Redirected { to: &'a Url },
}

/// Told about every retry and every check of a sealed Vault, so the caller can log one line for each.
pub type Notice = Arc<dyn Fn(Progress<'_>) + Send + Sync>;

/// The per-attempt limit for a step whose overall budget is `timeout`: a third of it, so that a hung
/// connection still leaves room for two more attempts, between 1 and 15 seconds.
pub fn attempt_timeout(timeout: Duration) -> Duration {
    (timeout / 3).clamp(Duration::from_secs(1), MAX_ATTEMPT).min(timeout)
}

/// `now + wait`, or a year from now if that overflows the clock: a deadline never panics.
fn later(wait: Duration) -> Instant {
    let now = Instant::now();
    now.checked_add(wait).unwrap_or_else(|| now + Duration::from_secs(365 * 24 * 3600))
}

/// The overall deadline, shared by clones so that time spent waiting for an unseal is given back once.
#[derive(Clone)]
struct Budget {
    total: Duration,
    /// What the budget is called in messages, e.g. "input `timeout`".
    name: &'static str,
    deadline: Arc<Mutex<Instant>>,
}

impl Budget {
    fn new(total: Duration, name: &'static str) -> Self {
        Self { total, name, deadline: Arc::new(Mutex::new(later(total))) }
    }

    fn deadline(&self) -> Instant {
        *self.deadline.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// After a wait: the deadline is pushed so that `remaining` is left again, never pulled earlier.
    fn restore(&self, remaining: Duration) {
        let mut deadline = self.deadline.lock().unwrap_or_else(PoisonError::into_inner);
        *deadline = (*deadline).max(Instant::now() + remaining);
    }
}

/// `wait-for-unseal`: until when, and a lock so that concurrent requests wait (and print) once.
#[derive(Clone)]
struct UnsealWait {
    until: Instant,
    lock: Arc<tokio::sync::Mutex<()>>,
}

/// A Vault server as the step talks to it.
#[derive(Clone)]
pub struct Vault {
    http: reqwest::Client,
    addr: Url,
    namespace: Option<String>,
    budget: Budget,
    attempt: Duration,
    unseal: Option<UnsealWait>,
    notice: Notice,
}

impl Vault {
    /// `timeout` is the budget for everything this client will do, retries included.
    pub fn new(http: reqwest::Client, addr: Url, namespace: Option<String>, timeout: Duration, notice: Notice) -> Self {
        let attempt = attempt_timeout(timeout);
        let budget = Budget::new(timeout, "input `timeout`");
        Self { http, addr, namespace, budget, attempt, unseal: None, notice }
    }

    /// When Vault turns out to be sealed, wait up to `wait` (in all) for someone to unseal it.
    pub fn wait_for_unseal(self, wait: Option<Duration>) -> Self {
        let unseal = wait.map(|w| UnsealWait { until: later(w), lock: Arc::default() });
        Self { unseal, ..self }
    }

    /// The same server with a fresh budget, for work that must happen even after the step's ran out;
    /// `name` says which budget in messages.
    pub fn with_budget(&self, budget: Duration, name: &'static str) -> Self {
        Self { budget: Budget::new(budget, name), ..self.clone() }
    }

    /// The server's address, for messages.
    pub fn addr(&self) -> &Url {
        &self.addr
    }

    /// An HTTP client with the step's settings. It goes through `proxies` only (see [`Proxies`]), follows
    /// a standby's 307/308 to the active node with the same method, body and token (no other redirect),
    /// and refuses redirects from https to http, which would send the token unencrypted.
    pub fn http_client(timeout: Duration, tls: &TlsSettings, proxies: &Proxies) -> reqwest::Result<reqwest::Client> {
        let builder = crate::tls::client_builder()
            .user_agent(concat!("vault-login/", env!("CARGO_PKG_VERSION")))
            .timeout(attempt_timeout(timeout))
            .connect_timeout(attempt_timeout(timeout).min(Duration::from_secs(5)))
            .redirect(redirect::Policy::custom(follow));
        tls.apply(proxies.apply(builder)?)?.build()
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

    /// One unauthenticated GET, no retries: for `sys/seal-status` while the step waits on a seal.
    pub(super) async fn probe(&self, path: &str) -> Result<Option<Value>, VaultError> {
        self.attempt(Method::GET, path, None, None).await
    }

    pub(super) fn notify(&self, progress: Progress<'_>) {
        (self.notice)(progress);
    }

    /// Retries within the deadline; a sealed Vault is waited for (`wait-for-unseal`) or described.
    async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&SecretString>,
        body: Option<&Value>,
        replay: Replay,
    ) -> Result<Option<Value>, VaultError> {
        loop {
            match self.with_retries(&method, path, token, body, replay).await {
                Err(VaultError::Sealed { .. }) => match &self.unseal {
                    Some(wait) => {
                        let remaining = self.budget.deadline().saturating_duration_since(Instant::now());
                        let _one_waiter = wait.lock.lock().await;
                        seal::wait_for_unseal(self, wait.until).await?;
                        self.budget.restore(remaining);
                    }
                    None => return Err(seal::describe(self).await),
                },
                other => return other,
            }
        }
    }

    async fn with_retries(
        &self,
        method: &Method,
        path: &str,
        token: Option<&SecretString>,
        body: Option<&Value>,
        replay: Replay,
    ) -> Result<Option<Value>, VaultError> {
        let last = Mutex::new(None::<String>);
        let attempt = || self.attempt(method.clone(), path, token, body);
        let backoff = ExponentialBuilder::default()
            .with_jitter()
            .with_min_delay(Duration::from_millis(250))
            .with_max_delay(Duration::from_secs(4))
            .without_max_times();
        let retried =
            attempt.retry(backoff).sleep(tokio::time::sleep).when(|e: &VaultError| e.is_retryable(replay)).notify(
                |error: &VaultError, wait| {
                    *last.lock().unwrap_or_else(PoisonError::into_inner) = Some(error.brief());
                    let left = self.budget.deadline().saturating_duration_since(Instant::now());
                    self.notify(Progress::Retry { error, wait, left, budget: self.budget.name });
                },
            );
        let deadline = self.budget.deadline();
        let result = tokio::time::timeout_at(deadline, retried).await.unwrap_or_else(|_| {
            let last = last.into_inner().unwrap_or_else(PoisonError::into_inner);
            Err(VaultError::Deadline {
                addr: self.addr.to_string(),
                method: method.to_string(),
                path: path.to_owned(),
                within: format!("{} ({})", humantime::format_duration(self.budget.total), self.budget.name),
                last: last.unwrap_or_else(|| "the first attempt was still waiting for an answer".into()),
            })
        });
        result.map_err(|e| not_repeated(e, replay))
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
        let transport = |e: reqwest::Error| VaultError::transport(&self.addr, &method, path, &e, self.attempt);
        let response = request.send().await.map_err(transport)?;
        if response.url().host_str() != self.addr.host_str() || response.url().port() != self.addr.port() {
            self.notify(Progress::Redirected { to: response.url() });
        }
        let status = response.status();
        let bytes = read_capped(response).await.map_err(transport)?;
        interpret(status, &bytes, &self.addr, &method, path)
    }

    fn url(&self, path: &str) -> String {
        format!("{}/v1/{}", self.addr.as_str().trim_end_matches('/'), path.trim_start_matches('/'))
    }
}

/// Says why a login that got no answer was not sent again: a second token would be minted if Vault had
/// acted on the first.
fn not_repeated(error: VaultError, replay: Replay) -> VaultError {
    match error {
        VaultError::Transport { addr, method, path, mut detail, kind }
            if replay == Replay::OnlyIfNotProcessed
                && matches!(kind, TransportKind::Timeout | TransportKind::Other) =>
        {
            detail.push_str("; not sent again, since Vault may have acted on it");
            VaultError::Transport { addr, method, path, detail, kind }
        }
        other => other,
    }
}

/// The redirect policy: one hop, never from https down to http.
fn follow(attempt: redirect::Attempt<'_>) -> redirect::Action {
    let downgrade = attempt.previous().iter().any(|u| u.scheme() == "https") && attempt.url().scheme() != "https";
    if !matches!(attempt.status().as_u16(), 307 | 308) {
        // A 301/302/303 would turn a login POST into a GET, and is not how a Vault standby redirects:
        // stop, and let the answer be reported as it is.
        attempt.stop()
    } else if downgrade {
        attempt.error("refusing a redirect from https to plain http: it would send the token unencrypted")
    } else if attempt.previous().len() > MAX_REDIRECTS {
        attempt.error(format!(
            "more than {MAX_REDIRECTS} redirect (a Vault standby sends one, to the active node): set `url` to \
             the active node or the cluster's load balancer"
        ))
    } else {
        attempt.follow()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use serde_json::json;
    use wiremock::matchers::{any, body_json, header, method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    use super::*;

    /// A client for `server` that counts its retry notices.
    fn client(server: &MockServer, retries: &Arc<AtomicUsize>) -> Vault {
        let http = Vault::http_client(Duration::from_secs(10), &TlsSettings::default(), &Proxies::default()).unwrap();
        let retries = retries.clone();
        let notice: Notice = Arc::new(move |_| {
            retries.fetch_add(1, Ordering::SeqCst);
        });
        Vault::new(http, Url::parse(&server.uri()).unwrap(), None, Duration::from_secs(10), notice)
    }

    #[tokio::test]
    async fn consistency_failures_are_retried_and_refusals_are_not() {
        let server = MockServer::start().await;
        let ok = ResponseTemplate::new(200).set_body_json(json!({ "data": {} }));
        Mock::given(path("/v1/kv/a")).respond_with(ResponseTemplate::new(412)).up_to_n_times(1).mount(&server).await;
        Mock::given(path("/v1/kv/a")).respond_with(ok).mount(&server).await;
        let refused = ResponseTemplate::new(400).set_body_json(json!({ "errors": ["bad request"] }));
        Mock::given(path("/v1/kv/b")).respond_with(refused).mount(&server).await;
        let retries = Arc::new(AtomicUsize::new(0));
        let vault = client(&server, &retries);
        let token = SecretString::from("t0ken");
        assert_eq!(vault.get("kv/a", &token).await.unwrap(), Some(json!({ "data": {} })));
        assert_eq!(retries.load(Ordering::SeqCst), 1, "412 is retried");
        assert_eq!(vault.get("kv/b", &token).await.unwrap_err().status(), Some(400));
        assert_eq!(retries.load(Ordering::SeqCst), 1, "400 is final");
    }

    #[tokio::test]
    async fn a_standby_redirect_keeps_method_body_and_token() {
        let active = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/v1/auth/jwt/login"))
            .and(header("X-Vault-Token", "t0ken"))
            .and(body_json(json!({ "role": "r" })))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "ok": true })))
            .mount(&active)
            .await;
        let standby = MockServer::start().await;
        let location = format!("{}/v1/auth/jwt/login", active.uri());
        Mock::given(any())
            .respond_with(ResponseTemplate::new(307).insert_header("Location", location))
            .mount(&standby)
            .await;
        let vault = client(&standby, &Arc::default());
        let (body, token) = (json!({ "role": "r" }), SecretString::from("t0ken"));
        let answer = vault.post("auth/jwt/login", Some(&token), &body, Replay::OnlyIfNotProcessed).await;
        assert_eq!(answer.unwrap(), Some(json!({ "ok": true })));
    }

    #[tokio::test]
    async fn one_hop_is_followed_and_reported_but_not_a_second() {
        let (first, second, third) = (MockServer::start().await, MockServer::start().await, MockServer::start().await);
        for (from, to) in [(&first, &second), (&second, &third)] {
            let location = format!("{}/v1/auth/jwt/login", to.uri());
            Mock::given(any())
                .respond_with(ResponseTemplate::new(307).insert_header("Location", location))
                .mount(from)
                .await;
        }
        let redirected_to = Arc::new(Mutex::new(Vec::new()));
        let seen = redirected_to.clone();
        let notice: Notice = Arc::new(move |progress| {
            if let Progress::Redirected { to } = progress {
                seen.lock().unwrap().push(to.to_string());
            }
        });
        let http = Vault::http_client(Duration::from_secs(10), &TlsSettings::default(), &Proxies::default()).unwrap();
        let vault = Vault::new(http, Url::parse(&first.uri()).unwrap(), None, Duration::from_secs(10), notice);
        let token = SecretString::from("t0ken");
        let error =
            vault.post("auth/jwt/login", Some(&token), &json!({}), Replay::OnlyIfNotProcessed).await.unwrap_err();
        assert!(error.to_string().contains("more than 1 redirect"), "{error}");
        assert_eq!(third.received_requests().await.unwrap().len(), 0, "the token never reaches a second hop");

        Mock::given(any()).respond_with(ResponseTemplate::new(200).set_body_json(json!({}))).mount(&third).await;
        let vault = Vault::new(
            Vault::http_client(Duration::from_secs(10), &TlsSettings::default(), &Proxies::default()).unwrap(),
            Url::parse(&second.uri()).unwrap(),
            None,
            Duration::from_secs(10),
            vault.notice.clone(),
        );
        vault.post("auth/jwt/login", Some(&token), &json!({}), Replay::OnlyIfNotProcessed).await.unwrap();
        assert_eq!(*redirected_to.lock().unwrap(), [format!("{}/v1/auth/jwt/login", third.uri())]);
    }

    #[tokio::test]
    async fn other_redirects_are_not_followed() {
        let server = MockServer::start().await;
        Mock::given(any())
            .respond_with(ResponseTemplate::new(302).insert_header("Location", "https://elsewhere.example/"))
            .mount(&server)
            .await;
        let vault = client(&server, &Arc::default());
        let token = SecretString::from("t0ken");
        let answer = vault.post("auth/jwt/login", Some(&token), &json!({}), Replay::OnlyIfNotProcessed).await;
        assert_eq!(answer.unwrap_err().status(), Some(302));
    }

    #[tokio::test]
    async fn a_login_is_not_sent_again_after_a_bad_gateway() {
        let server = MockServer::start().await;
        Mock::given(any()).respond_with(ResponseTemplate::new(502)).mount(&server).await;
        let retries = Arc::default();
        let vault = client(&server, &retries);
        let answer = vault.post("auth/jwt/login", None, &json!({}), Replay::OnlyIfNotProcessed).await;
        assert_eq!(answer.unwrap_err().status(), Some(502));
        assert_eq!(server.received_requests().await.unwrap().len(), 1, "Vault may have minted a token");
        assert_eq!(retries.load(Ordering::SeqCst), 0);
    }
}
