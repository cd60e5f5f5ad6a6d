//! Requesting the job's OIDC ID token from the runner (the contract GitHub, Forgejo and Gitea share).

use std::time::Duration;

use backon::{ExponentialBuilder, Retryable};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use url::Url;

use crate::forge::Forge;

/// Why no ID token could be had.
#[derive(Debug, thiserror::Error)]
pub enum OidcError {
    #[error("cannot reach the runner's ID-token endpoint ({host}): {detail}")]
    Transport { host: String, detail: String },
    #[error(
        "the forge refused the ID-token request with {status}: {body}. The job may lack the permission to \
         request ID tokens ({}), or the job has already finished",
        crate::forge::id_token_opt_in(*.forge)
    )]
    Refused { status: u16, body: String, forge: Option<Forge> },
    #[error("the forge's ID-token endpoint failed with {status}: {body}")]
    Failed { status: u16, body: String },
    #[error("the forge's ID-token answer has no `value` field with a token ({0})")]
    NoValue(String),
    #[error(
        "the forge's ID-token answer is larger than {MAX_ANSWER} bytes, which no ID token is: \
         ACTIONS_ID_TOKEN_REQUEST_URL does not point at the forge's ID-token endpoint"
    )]
    TooLarge,
}

impl OidcError {
    fn is_retryable(&self) -> bool {
        match self {
            Self::Transport { .. } => true,
            Self::Failed { status, .. } => matches!(status, 429 | 502 | 503 | 504),
            Self::Refused { .. } | Self::NoValue(_) | Self::TooLarge => false,
        }
    }
}

/// ID tokens are a few kilobytes; an answer far larger is not one, and must not be held (or masked) whole.
const MAX_ANSWER: usize = 64 * 1024;

#[derive(Deserialize)]
struct TokenAnswer {
    value: Option<SecretString>,
}

/// The request URL with `audience` added as one more query pair: the forges hand out URLs with and without
/// a query (`?api-version=2.0`, `?placeholder=true`, a bare trailing `?`), so string concatenation breaks.
pub fn request_url(base: &Url, audience: &str) -> Url {
    let mut url = base.clone();
    if url.query() == Some("") {
        url.set_query(None);
    }
    url.query_pairs_mut().append_pair("audience", audience);
    url
}

/// GET the token, retrying what a runner's endpoint fails transiently with, as @actions/core does. A
/// refusal names `forge`'s opt-in.
pub async fn fetch(
    http: &reqwest::Client,
    base: &Url,
    request_token: &SecretString,
    audience: &str,
    forge: Option<Forge>,
    on_retry: impl Fn(&OidcError, Duration),
) -> Result<SecretString, OidcError> {
    fetch_with(backoff(), http, base, request_token, audience, on_retry).await.map_err(|error| match error {
        OidcError::Refused { status, body, .. } => OidcError::Refused { status, body, forge },
        other => other,
    })
}

/// Four retries with jittered exponential delays (1 s doubling), as @actions/core's client does.
fn backoff() -> ExponentialBuilder {
    ExponentialBuilder::default().with_jitter().with_max_times(4)
}

/// [`fetch`] with the retry delays given, so that tests need not wait for real ones.
async fn fetch_with(
    backoff: ExponentialBuilder,
    http: &reqwest::Client,
    base: &Url,
    request_token: &SecretString,
    audience: &str,
    on_retry: impl Fn(&OidcError, Duration),
) -> Result<SecretString, OidcError> {
    let url = request_url(base, audience);
    let attempt = || fetch_once(http, &url, request_token);
    attempt.retry(backoff).sleep(tokio::time::sleep).when(OidcError::is_retryable).notify(on_retry).await
}

async fn fetch_once(
    http: &reqwest::Client,
    url: &Url,
    request_token: &SecretString,
) -> Result<SecretString, OidcError> {
    let host = url.host_str().unwrap_or_default().to_owned();
    let transport =
        |e: reqwest::Error| OidcError::Transport { host: host.clone(), detail: e.without_url().to_string() };
    let response = http
        .get(url.clone())
        .bearer_auth(request_token.expose_secret())
        .header("Accept", "application/json")
        .send()
        .await
        .map_err(transport)?;
    let status = response.status().as_u16();
    let body = read_bounded(response).await.map_err(transport)?.ok_or(OidcError::TooLarge)?;
    if !(200..300).contains(&status) {
        let body = excerpt(&body);
        return Err(if matches!(status, 401 | 403) {
            OidcError::Refused { status, body, forge: None }
        } else {
            OidcError::Failed { status, body }
        });
    }
    decode_answer(&body)
}

/// `{"value": "<jwt>"}`, as every forge answers.
pub(crate) fn decode_answer(body: &[u8]) -> Result<SecretString, OidcError> {
    // serde's message can quote the answer, which may be a bare token: say only where it went wrong.
    let answer: TokenAnswer = serde_json::from_slice(body).map_err(|e| {
        OidcError::NoValue(format!("not a JSON object with a string `value`: line {}, column {}", e.line(), e.column()))
    })?;
    match answer.value {
        Some(token) if !token.expose_secret().trim().is_empty() => Ok(token),
        _ => Err(OidcError::NoValue("empty or missing".into())),
    }
}

/// The body, or `None` as soon as it grows past [`MAX_ANSWER`] (nothing more is read).
async fn read_bounded(mut response: reqwest::Response) -> Result<Option<Vec<u8>>, reqwest::Error> {
    if response.content_length().is_some_and(|length| length > MAX_ANSWER as u64) {
        return Ok(None);
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        if body.len() + chunk.len() > MAX_ANSWER {
            return Ok(None);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Some(body))
}

/// Error bodies of the forges are short plain text; keep them short in our message too.
fn excerpt(body: &[u8]) -> String {
    let text: String = String::from_utf8_lossy(body).split_whitespace().collect::<Vec<_>>().join(" ");
    if text.is_empty() { "(empty body)".into() } else { text.chars().take(200).collect() }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wiremock::matchers::{header, method, query_param};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    #[test]
    fn audience_is_one_more_query_pair() {
        let cases = [
            ("https://f/_apis/idtoken?placeholder=true", "https://f/_apis/idtoken?placeholder=true&audience=vault"),
            ("https://t/token?api-version=2.0", "https://t/token?api-version=2.0&audience=vault"),
            ("https://g/api/actions/oidc/token?", "https://g/api/actions/oidc/token?audience=vault"),
            ("https://g/api/actions/oidc/token", "https://g/api/actions/oidc/token?audience=vault"),
        ];
        for (base, expected) in cases {
            assert_eq!(request_url(&Url::parse(base).unwrap(), "vault").as_str(), expected);
        }
        let odd = request_url(&Url::parse("https://g/t").unwrap(), "https://vault.example/ a&b");
        assert_eq!(odd.query_pairs().next().unwrap().1, "https://vault.example/ a&b");
    }

    async fn server(status: u16, body: &str) -> MockServer {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(header("authorization", "Bearer request-token"))
            .and(query_param("audience", "vault"))
            .respond_with(ResponseTemplate::new(status).set_body_string(body))
            .mount(&server)
            .await;
        server
    }

    async fn get(server: &MockServer) -> Result<SecretString, OidcError> {
        get_on(server, Some(Forge::Forgejo)).await
    }

    async fn get_on(server: &MockServer, forge: Option<Forge>) -> Result<SecretString, OidcError> {
        let url = Url::parse(&format!("{}/idtoken?placeholder=true", server.uri())).unwrap();
        let http = crate::tls::client_builder().build().unwrap();
        fetch(&http, &url, &SecretString::from("request-token"), "vault", forge, |_, _| {}).await
    }

    #[tokio::test]
    async fn refusals_are_not_retried_and_explain_permissions() {
        let server = server(403, "missing scp generate_id_token").await;
        let err = get(&server).await.unwrap_err();
        assert!(err.to_string().contains("missing scp generate_id_token"));
        assert!(err.to_string().contains("enable-openid-connect"));
        assert_eq!(server.received_requests().await.unwrap().len(), 1);
        let gitea = get_on(&server, Some(Forge::Gitea)).await.unwrap_err().to_string();
        assert!(gitea.contains("on Gitea add `permissions: id-token: write`"), "{gitea}");
        assert!(!gitea.contains("enable-openid-connect"), "only the forge at hand: {gitea}");
    }

    #[tokio::test]
    async fn answers_without_a_value_are_errors() {
        for body in [r#"{"value":""}"#, r#"{"count":1}"#, "<html>"] {
            assert!(matches!(get(&server(200, body).await).await, Err(OidcError::NoValue(_))), "{body}");
        }
    }

    #[tokio::test]
    async fn an_oversized_answer_is_refused_without_reading_it_whole() {
        let body = format!(r#"{{"value":"{}"}}"#, "a".repeat(MAX_ANSWER));
        let huge = server(200, &body).await;
        assert!(matches!(get(&huge).await, Err(OidcError::TooLarge)));
        assert_eq!(huge.received_requests().await.unwrap().len(), 1, "not retried");
        let fits = format!(r#"{{"value":"{}"}}"#, "a".repeat(MAX_ANSWER - 20));
        assert_eq!(get(&server(200, &fits).await).await.unwrap().expose_secret().len(), MAX_ANSWER - 20);
    }

    #[tokio::test]
    async fn bad_gateway_is_retried() {
        let server = server(502, "").await;
        let retries = std::sync::atomic::AtomicUsize::new(0);
        let url = Url::parse(&format!("{}/t", server.uri())).unwrap();
        let token = SecretString::from("request-token");
        let no_wait = backoff().with_min_delay(Duration::ZERO).with_max_delay(Duration::ZERO);
        let result =
            fetch_with(no_wait, &crate::tls::client_builder().build().unwrap(), &url, &token, "vault", |_, _| {
                retries.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            })
            .await;
        assert!(matches!(result, Err(OidcError::Failed { status: 502, .. })));
        assert_eq!(retries.into_inner(), 4);
    }
}
