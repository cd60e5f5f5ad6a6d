//! The few Vault endpoints the step uses, typed.

mod answer;
mod auth;
mod client;
#[cfg(test)]
mod fuzz;
mod replica;
mod seal;
mod secrets;

pub use auth::{Login, login, lookup_self, renew_self, revoke_self};
pub use client::{Notice, Progress, Replay, Vault, attempt_timeout};
pub use replica::once_token_is_known;
pub use seal::SealStatus;
pub use secrets::{Lease, Mount, SecretData, mount_of, read, renew_lease};

use std::time::Duration;

use reqwest::Method;
use url::Url;

/// What went wrong talking to Vault. Messages carry Vault's own words and the request that got them.
#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    /// Vault answered with an error status.
    #[error("{method} {path}: Vault answered {status}: {}", describe(errors))]
    Api { method: String, path: String, status: u16, errors: Vec<String> },
    /// Vault is sealed: every request fails until a person unseals it. `detail` says how far unsealing got
    /// or how long the step waited.
    #[error(
        "Vault at {addr} is sealed{detail}: nothing that needs a secret can run until someone unseals it \
         (`bao operator unseal` / `vault operator unseal`). To have the step wait for that, set \
         `wait-for-unseal` (e.g. 10m)"
    )]
    Sealed { addr: String, detail: String },
    /// Vault has never been initialised: it has no keys to unseal with yet.
    #[error(
        "Vault at {addr} is not initialised: someone must run `bao operator init` (`vault operator init`) and \
         unseal it; nothing that needs a secret can run until then"
    )]
    Uninitialized { addr: String },
    /// No HTTP answer at all.
    #[error("{method} {path}: {} Vault at {addr}: {detail}", if *kind == TransportKind::Tls {
        "no secure connection to"
    } else {
        "cannot reach"
    })]
    Transport { addr: String, method: String, path: String, detail: String, kind: TransportKind },
    /// The step's `timeout` ran out, retries included.
    /// `within` names the budget: `3s (input `timeout`)`.
    #[error("{method} {path}: no usable answer from Vault at {addr} within {within}; last error: {last}")]
    Deadline { addr: String, method: String, path: String, within: String, last: String },
    /// The answer was not what this endpoint returns.
    #[error("{method} {path}: Vault's answer is not what was expected: {detail}")]
    Decode { method: String, path: String, detail: String },
}

/// Why a request got no HTTP answer: decides whether it may be sent again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransportKind {
    /// No connection was made: the request never reached Vault.
    Connect,
    /// The per-attempt limit ran out: Vault may or may not have acted on the request.
    Timeout,
    /// The TLS handshake failed (certificate, host name, client certificate): retrying changes nothing.
    Tls,
    /// The connection broke after the request was sent.
    Other,
}

impl VaultError {
    fn transport(addr: &Url, method: &Method, path: &str, error: &reqwest::Error, attempt: Duration) -> Self {
        let (kind, detail) = if let Some(plain) = crate::tls::explain(error, addr) {
            (TransportKind::Tls, plain)
        } else if error.is_timeout() {
            let limit = humantime::format_duration(attempt);
            (TransportKind::Timeout, format!("timed out: no answer within {limit} (the per-attempt limit)"))
        } else if error.is_connect() {
            (TransportKind::Connect, chain(error))
        } else {
            (TransportKind::Other, chain(error))
        };
        Self::Transport { addr: addr.to_string(), method: method.to_string(), path: path.to_owned(), detail, kind }
    }

    /// The HTTP status Vault answered with, if it answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Api { status, .. } => Some(*status),
            Self::Sealed { .. } | Self::Uninitialized { .. } => Some(503),
            _ => None,
        }
    }

    /// Vault's `errors[]`, when it answered with some.
    pub fn messages(&self) -> &[String] {
        match self {
            Self::Api { errors, .. } => errors,
            _ => &[],
        }
    }

    /// Transient failures are worth another try; an answer that will not change (4xx) is not. A login is
    /// only sent again on answers that say it was not processed (412, 429, 503): a 500, 502 or 504 may come
    /// from a proxy after Vault minted a token, which a second login would leave behind.
    pub fn is_retryable(&self, replay: Replay) -> bool {
        match self {
            Self::Api { status, .. } if replay == Replay::OnlyIfNotProcessed => matches!(status, 412 | 429 | 503),
            Self::Api { status, .. } => matches!(status, 412 | 429 | 500 | 502 | 503 | 504),
            Self::Transport { kind: TransportKind::Connect, .. } => true,
            Self::Transport { kind: TransportKind::Timeout | TransportKind::Other, .. } => replay == Replay::Safe,
            Self::Transport { kind: TransportKind::Tls, .. } => false,
            Self::Sealed { .. } | Self::Uninitialized { .. } | Self::Deadline { .. } | Self::Decode { .. } => false,
        }
    }

    /// A few words for a retry line; the full message goes to the debug log.
    pub fn brief(&self) -> String {
        match self {
            Self::Api { status, errors, .. } => {
                let first: String = errors.first().map(|e| e.chars().take(120).collect()).unwrap_or_default();
                if first.is_empty() {
                    format!("Vault answered {status}")
                } else {
                    format!("Vault answered {status}: {first}")
                }
            }
            Self::Transport { kind: TransportKind::Connect, detail, .. } => {
                format!("cannot connect ({})", last(detail))
            }
            Self::Transport { kind: TransportKind::Other, detail, .. } => {
                format!("connection failed ({})", last(detail))
            }
            Self::Transport { detail, .. } | Self::Decode { detail, .. } => detail.clone(),
            other => other.to_string(),
        }
    }
}

/// The innermost cause of a [`chain`]ed message: what a person can act on.
fn last(chain: &str) -> &str {
    chain.rsplit(": ").next().unwrap_or(chain)
}

fn describe(errors: &[String]) -> String {
    if errors.is_empty() { "(no error message)".to_owned() } else { errors.join("; ") }
}

/// An error and its sources on one line, without repeating a source its parent already quotes.
fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn transport(kind: TransportKind) -> VaultError {
        let (addr, method, path) = ("http://v".into(), "POST".into(), "auth/jwt/login".into());
        VaultError::Transport { addr, method, path, detail: "x: Connection refused".into(), kind }
    }

    #[test]
    fn only_unprocessed_logins_are_retried() {
        assert!(transport(TransportKind::Connect).is_retryable(Replay::OnlyIfNotProcessed));
        assert!(!transport(TransportKind::Timeout).is_retryable(Replay::OnlyIfNotProcessed));
        assert!(!transport(TransportKind::Other).is_retryable(Replay::OnlyIfNotProcessed));
        assert!(transport(TransportKind::Timeout).is_retryable(Replay::Safe));
        assert!(!transport(TransportKind::Tls).is_retryable(Replay::Safe));
        assert_eq!(transport(TransportKind::Connect).brief(), "cannot connect (Connection refused)");
    }

    #[test]
    fn status_codes_decide_retries() {
        let api = |status| VaultError::Api { method: "GET".into(), path: "x".into(), status, errors: vec![] };
        for status in [412, 429, 500, 502, 503, 504] {
            assert!(api(status).is_retryable(Replay::Safe), "{status}");
        }
        for status in [412, 429, 503] {
            assert!(api(status).is_retryable(Replay::OnlyIfNotProcessed), "{status}");
        }
        for status in [500, 502, 504] {
            assert!(!api(status).is_retryable(Replay::OnlyIfNotProcessed), "a login may have minted a token: {status}");
        }
        for status in [400, 401, 403, 404, 405, 501] {
            assert!(!api(status).is_retryable(Replay::Safe), "{status}");
        }
    }
}
