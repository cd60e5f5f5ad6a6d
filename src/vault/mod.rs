//! The few Vault endpoints the step uses, typed.

mod auth;
mod client;
mod secrets;

pub use auth::{Login, login, revoke_self};
pub use client::{Replay, RetryNotice, Vault};
pub use secrets::{Lease, Mount, SecretData, mount_of, read};

use reqwest::Method;
use url::Url;

/// What went wrong talking to Vault. Messages carry Vault's own words and the request that got them.
#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    /// Vault answered with an error status.
    #[error("{method} {path}: Vault answered {status}: {}", describe(errors))]
    Api { method: String, path: String, status: u16, errors: Vec<String> },
    /// Vault is sealed: every request fails until a person unseals it.
    #[error(
        "Vault at {addr} is sealed: nothing that needs a secret can run until someone unseals it \
         (`bao operator unseal` / `vault operator unseal`)"
    )]
    Sealed { addr: String },
    /// No HTTP answer at all.
    #[error("{method} {path}: cannot reach Vault at {addr}: {detail}")]
    Transport { addr: String, method: String, path: String, detail: String, connect: bool },
    /// The step's `timeout` ran out, retries included.
    #[error("{method} {path}: no usable answer from Vault at {addr} within the step's deadline (input `timeout`)")]
    Deadline { addr: String, method: String, path: String },
    /// The answer was not what this endpoint returns.
    #[error("{method} {path}: Vault's answer is not what was expected: {detail}")]
    Decode { method: String, path: String, detail: String },
}

impl VaultError {
    fn transport(addr: &Url, method: &Method, path: &str, error: &reqwest::Error) -> Self {
        Self::Transport {
            addr: addr.to_string(),
            method: method.to_string(),
            path: path.to_owned(),
            detail: chain(error),
            connect: error.is_connect(),
        }
    }

    /// The HTTP status Vault answered with, if it answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Api { status, .. } => Some(*status),
            Self::Sealed { .. } => Some(503),
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

    /// Transient failures are worth another try; an answer that will not change (4xx) is not.
    pub fn is_retryable(&self, replay: Replay) -> bool {
        match self {
            Self::Api { status, .. } => matches!(status, 412 | 429 | 500 | 502 | 503 | 504),
            Self::Transport { connect, .. } => *connect || replay == Replay::Safe,
            Self::Sealed { .. } | Self::Deadline { .. } | Self::Decode { .. } => false,
        }
    }
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
