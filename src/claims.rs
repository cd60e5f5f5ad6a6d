//! Reading a JWT's claims without verifying it, to explain what Vault will see.
//!
//! Vault verifies the signature; we only peek so that a refused login can be read off the log (issuer,
//! audience, repository, ref, expiry). Claims are not secret; the token itself is.

use std::fmt::Write as _;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value};

/// Real ID tokens are 1-2 KiB; anything far larger is not a token we should be parsing.
const MAX_JWT_LEN: usize = 64 * 1024;

/// The claims shown when a login fails, in this order.
pub const SHOWN: &[&str] = &["iss", "aud", "sub", "repository", "ref", "ref_type", "event_name", "workflow"];

/// What a claim the token lacks is shown as, in tables and hints.
pub const ABSENT: &str = "(absent)";

/// Why a string is not a JWT we can read.
#[derive(Debug, thiserror::Error)]
pub enum ClaimsError {
    #[error("the token is {0} bytes long, more than a JWT can reasonably be")]
    TooLong(usize),
    #[error("a JWT has three dot-separated parts (header.payload.signature); this one has {0}")]
    Shape(usize),
    #[error("the JWT's payload is not base64url-encoded JSON ({0})")]
    Payload(String),
}

/// A JWT's payload, unverified.
#[derive(Debug, Clone, PartialEq)]
pub struct Claims(Map<String, Value>);

impl Claims {
    /// Decodes the payload of `jwt`. Never fails on content other than by returning an error.
    pub fn peek(jwt: &str) -> Result<Self, ClaimsError> {
        let jwt = jwt.trim();
        if jwt.len() > MAX_JWT_LEN {
            return Err(ClaimsError::TooLong(jwt.len()));
        }
        let parts: Vec<&str> = jwt.split('.').collect();
        if parts.len() != 3 {
            return Err(ClaimsError::Shape(parts.len()));
        }
        let bytes =
            URL_SAFE_NO_PAD.decode(parts[1].trim_end_matches('=')).map_err(|e| ClaimsError::Payload(e.to_string()))?;
        match serde_json::from_slice(&bytes) {
            Ok(Value::Object(map)) => Ok(Self(map)),
            Ok(_) => Err(ClaimsError::Payload("the payload is not a JSON object".into())),
            Err(e) => Err(ClaimsError::Payload(e.to_string())),
        }
    }

    /// Wraps claims built locally (fake tokens).
    pub fn from_map(map: Map<String, Value>) -> Self {
        Self(map)
    }

    /// The raw claims.
    pub fn as_map(&self) -> &Map<String, Value> {
        &self.0
    }

    /// A claim rendered as text: strings as-is, arrays joined with `, `, other JSON as JSON.
    pub fn text(&self, name: &str) -> Option<String> {
        self.0.get(name).map(render)
    }

    /// [`Claims::text`], or [`ABSENT`]: for a table or hint that must show something in the claim's place.
    pub fn text_or_absent(&self, name: &str) -> String {
        self.text(name).unwrap_or_else(|| ABSENT.to_owned())
    }

    /// A numeric time claim (exp, nbf, iat).
    pub fn time(&self, name: &str) -> Option<i64> {
        self.0.get(name).and_then(Value::as_i64)
    }

    /// One line for a log: `iss=… aud=… sub=… repository=… ref=… exp=in 4m 58s`.
    pub fn summary(&self, now: i64) -> String {
        let mut line = String::new();
        for name in SHOWN {
            if let Some(value) = self.text(name) {
                let _ = write!(line, "{name}={value} ");
            }
        }
        if let Some(exp) = self.time("exp") {
            let _ = write!(line, "exp={}", expiry(exp.saturating_sub(now)));
        }
        line.trim_end().to_owned()
    }
}

/// A claim's value as text: strings as-is, arrays joined with `, `, other JSON as JSON.
pub fn render(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Array(items) => items.iter().map(render).collect::<Vec<_>>().join(", "),
        other => other.to_string(),
    }
}

/// `in 4m 58s`, `now` or `5m 2s ago`: what a time claim `seconds` from now means.
pub fn relative(seconds: i64) -> String {
    if seconds == 0 {
        return "now".to_owned();
    }
    let span = humantime::format_duration(std::time::Duration::from_secs(seconds.unsigned_abs()));
    if seconds >= 0 { format!("in {span}") } else { format!("{span} ago") }
}

/// [`relative`] for `exp`, which says so when it is past.
pub fn expiry(seconds: i64) -> String {
    let when = relative(seconds);
    if seconds < 0 { format!("{when} (expired)") } else { when }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn token(payload: &str) -> String {
        format!("eyJhbGciOiJub25lIn0.{}.sig", URL_SAFE_NO_PAD.encode(payload))
    }

    #[test]
    fn reads_claims_and_summarises_them() {
        let jwt = token(
            r#"{"iss":"https://forge/api/actions","aud":["vault","x"],"sub":"repo:o/r:ref:refs/heads/main","ref":"refs/heads/main","exp":1100}"#,
        );
        let claims = Claims::peek(&jwt).unwrap();
        assert_eq!(claims.text("aud").unwrap(), "vault, x");
        assert_eq!(
            claims.summary(1000),
            "iss=https://forge/api/actions aud=vault, x sub=repo:o/r:ref:refs/heads/main ref=refs/heads/main exp=in 1m 40s"
        );
        assert!(claims.summary(1200).ends_with("exp=1m 40s ago (expired)"));
        assert!(claims.summary(1100).ends_with("exp=now"));
        assert_eq!(claims.text_or_absent("nbf"), ABSENT);
    }

    #[test]
    fn malformed_tokens_are_errors() {
        assert!(matches!(Claims::peek("abc"), Err(ClaimsError::Shape(1))));
        assert!(matches!(Claims::peek("a.!!!.c"), Err(ClaimsError::Payload(_))));
        assert!(matches!(Claims::peek(&token("[1]")), Err(ClaimsError::Payload(_))));
        assert!(matches!(Claims::peek(&"a".repeat(MAX_JWT_LEN + 1)), Err(ClaimsError::TooLong(_))));
    }

    proptest! {
        #[test]
        fn never_panics(input in ".*") {
            let _ = Claims::peek(&input);
        }

        #[test]
        fn never_panics_on_decodable_payloads(payload in proptest::collection::vec(any::<u8>(), 0..512)) {
            let jwt = format!("h.{}.s", URL_SAFE_NO_PAD.encode(payload));
            if let Ok(claims) = Claims::peek(&jwt) {
                let _ = claims.summary(i64::MAX);
                let _ = claims.summary(i64::MIN);
            }
        }
    }
}
