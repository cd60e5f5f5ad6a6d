//! What Vault's answers mean: bounded reading, JSON, error lists, the sealed 503.
//!
//! Errors keep Vault's own `errors[]` verbatim, since that text is what a user searches for.

use reqwest::{Method, StatusCode};
use serde_json::Value;
use url::Url;

use super::VaultError;

/// Vault's answers are small JSON documents; a huge body is a misconfigured proxy, not Vault.
const MAX_BODY: usize = 1024 * 1024;

/// The longest TTL taken from an answer: a century, past any `max_lease_ttl` a Vault grants. A larger
/// number (10^18, say) would overflow the expiry arithmetic, so it is read as this instead.
pub const MAX_TTL_SECS: u64 = 100 * 365 * 24 * 3600;

/// A `lease_duration` (or any TTL) field: a whole number of seconds at most [`MAX_TTL_SECS`]; a field
/// that is absent, negative or not a whole number reads as 0, "no TTL known".
pub fn ttl(field: Option<&Value>) -> u64 {
    field.and_then(Value::as_u64).unwrap_or(0).min(MAX_TTL_SECS)
}

/// Reads the body, refusing more than [`MAX_BODY`] bytes.
pub async fn read_capped(mut response: reqwest::Response) -> Result<Vec<u8>, reqwest::Error> {
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

/// What an answer means: its JSON (`None` when empty), or the error it says.
pub fn interpret(
    status: StatusCode,
    body: &[u8],
    addr: &Url,
    method: &Method,
    path: &str,
) -> Result<Option<Value>, VaultError> {
    let decode = |detail: String| VaultError::Decode { method: method.to_string(), path: path.to_owned(), detail };
    if status.is_success() {
        if body.len() > MAX_BODY {
            return Err(decode(format!("the answer is larger than {MAX_BODY} bytes")));
        }
        if body.iter().all(u8::is_ascii_whitespace) {
            return Ok(None);
        }
        return serde_json::from_slice(body).map(Some).map_err(|e| decode(format!("not JSON: {e}")));
    }
    let errors = error_messages(body);
    if status == StatusCode::SERVICE_UNAVAILABLE && errors.iter().any(|e| e.contains("sealed")) {
        return Err(VaultError::Sealed { addr: addr.to_string(), detail: String::new() });
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
        return parsed.errors.iter().take(MAX_ERRORS).map(|e| tidy(e)).collect();
    }
    let text = String::from_utf8_lossy(body);
    let excerpt: String = text.split_whitespace().collect::<Vec<_>>().join(" ").chars().take(200).collect();
    if excerpt.is_empty() { Vec::new() } else { vec![format!("(not a Vault answer) {}", tidy(&excerpt))] }
}

/// Vault's error lists hold one or two messages; a longer list is not Vault's.
const MAX_ERRORS: usize = 8;

/// One error message as it may be printed: at most 300 characters, control characters escaped, so that
/// an answer can neither flood the log nor start a line the runner would read as a workflow command.
fn tidy(message: &str) -> String {
    const LIMIT: usize = 300;
    let mut out = String::new();
    let mut length = 0;
    for c in message.chars() {
        let piece: String = if c.is_control() { c.escape_default().collect() } else { c.to_string() };
        length += piece.chars().count();
        if length > LIMIT {
            out.push('…');
            break;
        }
        out.push_str(&piece);
    }
    out
}

/// A 404 that says the route itself does not exist (wrong mount), as opposed to "no secret here".
pub fn is_route_error(errors: &[String]) -> bool {
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
