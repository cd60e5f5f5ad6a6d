//! The forge, played by the harness: an OIDC issuer (discovery + JWKS, RS256 with a committed TEST-ONLY
//! key) and the job's ID-token request endpoint, shaped like Forgejo's by default
//! (`GET <base>/api/actions/_apis/pipelines/workflows/<run_id>/idtoken?placeholder=true&audience=<aud>`,
//! `Authorization: Bearer <request token>` → `{"value": "<jwt>"}`), or like Gitea's Actions OIDC proposal
//! (go-gitea/gitea#39052: issuer `<base>/api/actions/oidc`, keys at `<issuer>/jwks`, `GET <issuer>/token`,
//! and its claims), written from the forges' sources (docs/forges.md), not from `src/forge/`. Plain http,
//! or https behind a [`TlsFront`].

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use jsonwebtoken::jwk::{Jwk, JwkSet, PublicKeyUse};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Map, Value, json};
use wiremock::matchers::{any, method, path, path_regex};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use super::tls::{Pki, TlsFront};

const KEY_PEM: &[u8] = include_bytes!("../fixtures/test-issuer-key.pem");
const KID: &str = "vault-login-test-key-1";

/// Which forge's paths and claims the issuer has.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ForgeShape {
    Forgejo,
    Gitea,
}

impl ForgeShape {
    fn issuer_path(self) -> &'static str {
        match self {
            ForgeShape::Forgejo => "/api/actions",
            ForgeShape::Gitea => "/api/actions/oidc",
        }
    }

    fn keys_path(self) -> &'static str {
        match self {
            ForgeShape::Forgejo => "/.well-known/keys",
            ForgeShape::Gitea => "/jwks",
        }
    }

    fn token_path(self) -> &'static str {
        match self {
            ForgeShape::Forgejo => r"^/api/actions/_apis/pipelines/workflows/[^/]+/idtoken$",
            ForgeShape::Gitea => r"^/api/actions/oidc/token$",
        }
    }
}

/// The ids a Gitea-shaped token carries unless the job's `extra` claims say otherwise.
pub const GITEA_IDS: [(&str, &str); 3] = [("repository_owner_id", "7"), ("repository_id", "42"), ("actor_id", "3")];

/// The claims of one job; `to_claims` turns them into a token payload. Defaults look like a push to
/// `refs/heads/main` on Forgejo; `extra` (applied last) adds or replaces claims, `removed` drops them.
#[derive(Clone, Debug)]
pub struct JobClaims {
    pub repository: String,
    pub git_ref: String,
    pub ref_type: String,
    pub sha: String,
    pub workflow: String,
    pub event_name: String,
    pub run_id: String,
    pub run_number: String,
    pub run_attempt: String,
    pub actor: String,
    /// `exp - iat` in seconds.
    pub lifetime: i64,
    /// `iat` (and `nbf`); `None` means "now" at signing time.
    pub issued_at: Option<i64>,
    pub extra: Map<String, Value>,
    pub removed: Vec<String>,
}

impl JobClaims {
    /// A push to `refs/heads/main` of `owner/repo`.
    pub fn for_repository(repository: &str) -> JobClaims {
        assert!(repository.contains('/'), "repository is owner/name, got {repository:?}");
        JobClaims {
            repository: repository.to_owned(),
            git_ref: "refs/heads/main".into(),
            ref_type: "branch".into(),
            sha: "0123456789abcdef0123456789abcdef01234567".into(),
            workflow: "deploy.yml".into(),
            event_name: "push".into(),
            run_id: "4242".into(),
            run_number: "17".into(),
            run_attempt: "1".into(),
            actor: "alice".into(),
            lifetime: 300,
            issued_at: None,
            extra: Map::new(),
            removed: Vec::new(),
        }
    }

    pub fn owner(&self) -> &str {
        self.repository.split('/').next().unwrap_or_default()
    }

    /// Sets `ref` (and `ref_type` from its `refs/tags/` or `refs/heads/` prefix).
    pub fn with_ref(mut self, git_ref: &str) -> Self {
        self.git_ref = git_ref.to_owned();
        self.ref_type = if git_ref.starts_with("refs/tags/") { "tag" } else { "branch" }.into();
        self
    }

    /// Adds or replaces a claim (any claim, including `iss`, `aud`, `sub`, `exp`).
    pub fn with_claim(mut self, name: &str, value: impl Into<Value>) -> Self {
        self.extra.insert(name.to_owned(), value.into());
        self
    }

    pub fn without_claim(mut self, name: &str) -> Self {
        self.removed.push(name.to_owned());
        self
    }

    /// Issued an hour ago, so expired well beyond Vault's leeway.
    pub fn expired(mut self) -> Self {
        self.issued_at = Some(super::now() - 3600);
        self
    }

    /// The payload: standard claims for `iss`/`aud`, the job claims, then `extra` and `removed`.
    pub fn to_claims(&self, iss: &str, aud: &str) -> Map<String, Value> {
        let iat = self.issued_at.unwrap_or_else(super::now);
        let sub = match self.event_name.as_str() {
            "pull_request" => format!("repo:{}:pull_request", self.repository),
            _ => format!("repo:{}:ref:{}", self.repository, self.git_ref),
        };
        let mut claims = json!({
            "iss": iss, "aud": aud, "sub": sub,
            "iat": iat, "nbf": iat, "exp": iat + self.lifetime, "jti": super::random_hex(16),
            "repository": self.repository, "repository_owner": self.owner(),
            "ref": self.git_ref, "ref_type": self.ref_type, "sha": self.sha,
            "workflow": self.workflow, "event_name": self.event_name, "run_id": self.run_id,
            "run_number": self.run_number, "run_attempt": self.run_attempt, "actor": self.actor,
        });
        let map = claims.as_object_mut().expect("object");
        map.extend(self.extra.clone());
        for name in &self.removed {
            map.remove(name);
        }
        map.clone()
    }
}

/// One request received by the token endpoint.
#[derive(Clone, Debug)]
pub struct TokenRequest {
    pub method: String,
    pub path: String,
    /// The raw query string, e.g. `placeholder=true&audience=vault`.
    pub query: Option<String>,
    pub authorization: Option<String>,
    pub accept: Option<String>,
}

struct State {
    shape: ForgeShape,
    base: String,
    /// The CA of the https issuer's certificate.
    ca_pem: Option<String>,
    key: EncodingKey,
    jobs: Mutex<HashMap<String, JobClaims>>,
    scripted: Mutex<VecDeque<ResponseTemplate>>,
    issued: Mutex<Vec<String>>,
    /// Whether the next ID token issued is an expired one (see [`Issuer::expire_next_token`]).
    expire_next: AtomicBool,
}

impl State {
    fn issuer_url(&self) -> String {
        format!("{}{}", self.base, self.shape.issuer_path())
    }

    fn default_audience(&self, owner: &str) -> String {
        format!("{}/{owner}", self.base)
    }

    fn mint(&self, claims: &JobClaims, aud: &str) -> String {
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(KID.into());
        let mut payload = claims.to_claims(&self.issuer_url(), aud);
        if self.shape == ForgeShape::Gitea {
            payload = gitea_claims(claims, payload);
        }
        jsonwebtoken::encode(&header, &payload, &self.key).expect("sign JWT")
    }
}

/// The fake forge. Cheap to clone; the server stops when the last clone is dropped.
#[derive(Clone)]
pub struct Issuer {
    server: Arc<MockServer>,
    state: Arc<State>,
    /// Kept for as long as the issuer (https only).
    _front: Option<Arc<TlsFront>>,
}

impl Issuer {
    /// A Forgejo-shaped forge over plain http.
    pub async fn start() -> Issuer {
        Issuer::start_as(ForgeShape::Forgejo).await
    }

    /// A forge of `shape` over plain http.
    pub async fn start_as(shape: ForgeShape) -> Issuer {
        let server = MockServer::start().await;
        let base = server.uri();
        Issuer::serve(shape, server, base, None).await
    }

    /// The forge over https, as real ones are, with a certificate from `pki`: Vault trusts it through
    /// [`Issuer::ca_pem`], the step only if the machine's roots (`SSL_CERT_FILE`) hold that CA.
    pub async fn start_https(pki: &Pki) -> Issuer {
        let server = MockServer::start().await;
        let front = TlsFront::start(*server.address(), &pki.server(false)).await;
        let base = format!("https://{}", front.addr);
        Issuer::serve(ForgeShape::Forgejo, server, base, Some((front, pki.ca_pem.clone()))).await
    }

    async fn serve(shape: ForgeShape, server: MockServer, base: String, tls: Option<(TlsFront, String)>) -> Issuer {
        let key = EncodingKey::from_rsa_pem(KEY_PEM).expect("tests/fixtures/test-issuer-key.pem is an RSA key");
        let (front, ca_pem) = tls.map_or((None, None), |(front, ca)| (Some(Arc::new(front)), Some(ca)));
        let state = Arc::new(State {
            shape,
            base,
            ca_pem,
            key,
            jobs: Mutex::default(),
            scripted: Mutex::default(),
            issued: Mutex::default(),
            expire_next: AtomicBool::new(false),
        });
        let iss = state.issuer_url();
        let discovery = json!({
            "issuer": iss,
            "jwks_uri": format!("{iss}{}", shape.keys_path()),
            "response_types_supported": ["id_token"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "scopes_supported": ["openid"],
            "claims_supported": ["sub", "aud", "exp", "iat", "iss", "nbf", "jti", "actor", "event_name",
                "ref", "ref_type", "repository", "repository_owner", "run_attempt", "run_id",
                "run_number", "sha", "workflow"],
        });
        Mock::given(method("GET"))
            .and(path(format!("{}/.well-known/openid-configuration", shape.issuer_path())))
            .respond_with(ResponseTemplate::new(200).set_body_json(discovery))
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path(format!("{}{}", shape.issuer_path(), shape.keys_path())))
            .respond_with(ResponseTemplate::new(200).set_body_json(jwks(&state.key)))
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path_regex(shape.token_path()))
            .respond_with(TokenEndpoint(state.clone()))
            .mount(&server)
            .await;
        Mock::given(any())
            .and(path_regex(shape.token_path()))
            .respond_with(ResponseTemplate::new(405).set_body_string("Method Not Allowed"))
            .with_priority(10)
            .mount(&server)
            .await;
        Issuer { server: Arc::new(server), state, _front: front }
    }

    /// `http://127.0.0.1:<port>`, or `https://` from [`Issuer::start_https`].
    pub fn base_url(&self) -> &str {
        &self.state.base
    }

    /// The CA that signed the https issuer's certificate (`None` over plain http), for Vault's
    /// `oidc_discovery_ca_pem`.
    pub fn ca_pem(&self) -> Option<&str> {
        self.state.ca_pem.as_deref()
    }

    /// The `iss` claim and Vault's `oidc_discovery_url`/`bound_issuer`: `<base>/api/actions`, or
    /// `<base>/api/actions/oidc` for Gitea.
    pub fn issuer_url(&self) -> String {
        self.state.issuer_url()
    }

    /// `ACTIONS_ID_TOKEN_REQUEST_URL` for a job with this run id (Forgejo: `?placeholder=true`; Gitea's has
    /// no run id).
    pub fn token_request_url(&self, run_id: &str) -> String {
        match self.state.shape {
            ForgeShape::Forgejo => {
                format!("{}/api/actions/_apis/pipelines/workflows/{run_id}/idtoken?placeholder=true", self.state.base)
            }
            ForgeShape::Gitea => format!("{}/token", self.state.issuer_url()),
        }
    }

    /// The forge's default `aud` when the request names none: `<base>/<owner>`.
    pub fn default_audience(&self, owner: &str) -> String {
        self.state.default_audience(owner)
    }

    /// Registers a running job; returns its `ACTIONS_ID_TOKEN_REQUEST_TOKEN`.
    pub fn register_job(&self, claims: JobClaims) -> String {
        let token = format!("rt-{}", super::random_hex(20));
        self.state.jobs.lock().unwrap().insert(token.clone(), claims);
        token
    }

    /// Signs an ID token directly (for the `jwt` input or direct logins).
    pub fn mint(&self, claims: &JobClaims, audience: &str) -> String {
        self.state.mint(claims, audience)
    }

    /// Makes the token endpoint answer `response` to the next request, before any check (queued).
    pub fn push_token_response(&self, response: ResponseTemplate) {
        self.state.scripted.lock().unwrap().push_back(response);
    }

    /// Makes the next ID token the endpoint issues one that expired an hour ago: what a job holds after a
    /// wait longer than the token's lifetime, without the test waiting that long.
    pub fn expire_next_token(&self) {
        self.state.expire_next.store(true, Ordering::SeqCst);
    }

    /// The ID tokens the token endpoint handed out, in order (for `assert_no_leak`).
    pub fn issued_tokens(&self) -> Vec<String> {
        self.state.issued.lock().unwrap().clone()
    }

    /// Every request the token endpoint received, in order.
    pub async fn token_requests(&self) -> Vec<TokenRequest> {
        let all = self.server.received_requests().await.expect("request recording is on");
        all.iter()
            .filter(|r| is_token_path(r.url.path()))
            .map(|r| TokenRequest {
                method: r.method.to_string(),
                path: r.url.path().to_owned(),
                query: r.url.query().map(str::to_owned),
                authorization: header(r, "authorization"),
                accept: header(r, "accept"),
            })
            .collect()
    }

    /// Every path the server was asked for (discovery and JWKS fetches by Vault included).
    pub async fn requested_paths(&self) -> Vec<String> {
        let all = self.server.received_requests().await.expect("request recording is on");
        all.iter().map(|r| r.url.path().to_owned()).collect()
    }
}

fn is_token_path(path: &str) -> bool {
    path.starts_with("/api/actions/_apis/pipelines/workflows/") && path.ends_with("/idtoken")
        || path == "/api/actions/oidc/token"
}

/// The latest revision of Gitea's proposal: ids as strings, `sub` with them, `nbf` 5 minutes before `iat`,
/// its extra claims, no `environment`. `extra` claims of the job still win.
fn gitea_claims(job: &JobClaims, mut payload: Map<String, Value>) -> Map<String, Value> {
    for (claim, id) in GITEA_IDS {
        payload.entry(claim).or_insert_with(|| id.into());
    }
    let text = |name: &str| payload.get(name).and_then(Value::as_str).unwrap_or_default().to_owned();
    let who = format!(
        "{}@{}/{}@{}",
        job.owner(),
        text("repository_owner_id"),
        job.repository.split('/').nth(1).unwrap_or_default(),
        text("repository_id")
    );
    let context = match job.event_name.as_str() {
        "pull_request" => "pull_request".to_owned(),
        _ => format!("ref:{}", job.git_ref),
    };
    let workflow_ref = format!("{}/.gitea/workflows/{}@{}", job.repository, job.workflow, job.git_ref);
    let iat = payload.get("iat").and_then(Value::as_i64).unwrap_or_default();
    let defaults = json!({
        "sub": format!("repo:{who}:{context}"), "nbf": iat - 300,
        "repository_visibility": "private", "ref_protected": "false", "base_ref": "", "head_ref": "",
        "workflow_ref": workflow_ref, "workflow_sha": job.sha, "job_workflow_ref": workflow_ref,
        "job_workflow_sha": job.sha, "runner_environment": "self-hosted",
    });
    for (name, value) in defaults.as_object().expect("object") {
        if !job.extra.contains_key(name) {
            payload.insert(name.clone(), value.clone());
        }
    }
    payload
}

fn header(r: &Request, name: &str) -> Option<String> {
    r.headers.get(name).map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
}

fn jwks(key: &EncodingKey) -> Value {
    let mut jwk = Jwk::from_encoding_key(key, Algorithm::RS256).expect("JWK from the test key");
    jwk.common.key_id = Some(KID.into());
    jwk.common.public_key_use = Some(PublicKeyUse::Signature);
    serde_json::to_value(JwkSet { keys: vec![jwk] }).expect("JWKS JSON")
}

/// The job's ID-token endpoint: Bearer request token → claims of that job → signed token.
struct TokenEndpoint(Arc<State>);

impl Respond for TokenEndpoint {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        if let Some(scripted) = self.0.scripted.lock().unwrap().pop_front() {
            return scripted;
        }
        let unauthorized =
            |msg: &str| ResponseTemplate::new(401).insert_header("WWW-Authenticate", "Bearer").set_body_string(msg);
        let auth = header(req, "authorization").unwrap_or_default();
        let Some(token) = auth.get(..7).filter(|p| p.eq_ignore_ascii_case("bearer ")).map(|_| &auth[7..]) else {
            return unauthorized("Bad authorization header");
        };
        let Some(claims) = self.0.jobs.lock().unwrap().get(token.trim()).cloned() else {
            return unauthorized("Error runner api parsing authorization token");
        };
        let run_id = req.url.path().split('/').rev().nth(1).unwrap_or_default();
        if self.0.shape == ForgeShape::Forgejo && run_id != claims.run_id {
            return ResponseTemplate::new(400).set_body_string("run-id does not match");
        }
        let audience = req.url.query_pairs().find(|(k, _)| k == "audience").map(|(_, v)| v.into_owned());
        let audience = audience.filter(|a| !a.is_empty()).unwrap_or_else(|| self.0.default_audience(claims.owner()));
        let claims = if self.0.expire_next.swap(false, Ordering::SeqCst) { claims.expired() } else { claims };
        let jwt = self.0.mint(&claims, &audience);
        self.0.issued.lock().unwrap().push(jwt.clone());
        ResponseTemplate::new(200).insert_header("Cache-Control", "no-store").set_body_json(json!({ "value": jwt }))
    }
}
