//! What Vault holds for a JWT login: the auth method's config and the role, read with an admin token.

use secrecy::SecretString;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::vault::{Vault, VaultError};

/// `auth/<mount>/config`, the fields a login depends on.
#[derive(Deserialize, Default, Debug)]
#[serde(default)]
pub struct AuthConfig {
    pub bound_issuer: String,
    pub oidc_discovery_url: String,
    pub jwks_url: String,
    pub jwt_validation_pubkeys: Vec<String>,
    pub jwt_supported_algs: Vec<String>,
}

impl AuthConfig {
    /// Where Vault gets the keys that verify a token's signature.
    pub fn key_source(&self) -> Option<String> {
        if !self.oidc_discovery_url.is_empty() {
            Some(format!("oidc_discovery_url {}", self.oidc_discovery_url))
        } else if !self.jwks_url.is_empty() {
            Some(format!("jwks_url {}", self.jwks_url))
        } else if !self.jwt_validation_pubkeys.is_empty() {
            let count = self.jwt_validation_pubkeys.len();
            Some(format!("jwt_validation_pubkeys ({count} key{})", if count == 1 { "" } else { "s" }))
        } else {
            None
        }
    }
}

/// `auth/<mount>/role/<role>`, the fields a login depends on (durations in seconds, as Vault answers).
#[derive(Deserialize, Default, Debug)]
#[serde(default)]
pub struct Role {
    pub role_type: String,
    pub user_claim: String,
    pub user_claim_json_pointer: bool,
    pub bound_audiences: Vec<String>,
    pub bound_subject: String,
    pub bound_claims: Option<Map<String, Value>>,
    pub bound_claims_type: String,
    pub token_policies: Vec<String>,
    pub token_no_default_policy: bool,
    pub token_ttl: u64,
    pub token_max_ttl: u64,
    pub token_bound_cidrs: Vec<String>,
    pub expiration_leeway: i64,
    pub not_before_leeway: i64,
    pub clock_skew_leeway: i64,
}

/// Why the role or config could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error(
        "nothing is mounted at auth/{mount}: set --mount (or the `mount` input) to the JWT auth path; `bao auth list` shows them"
    )]
    NoMount { mount: String },
    #[error(
        "the token may not read auth/{mount}/config and auth/{mount}/role/*: diagnose needs an admin token (VAULT_TOKEN) \
         with `read` on them, and `list` for role suggestions"
    )]
    Denied { mount: String },
    #[error(transparent)]
    Vault(#[from] VaultError),
}

/// The config (`None`: the auth method was never configured) and role (`None`: no such role).
pub async fn read(
    vault: &Vault,
    token: &SecretString,
    mount: &str,
    role: &str,
) -> Result<(Option<AuthConfig>, Option<Role>), ReadError> {
    let config = data(vault, token, &format!("auth/{mount}/config"), mount).await?;
    let role = data(vault, token, &format!("auth/{mount}/role/{role}"), mount).await?;
    Ok((config, role))
}

/// The roles on the mount, to suggest one when the asked one does not exist.
pub async fn list(vault: &Vault, token: &SecretString, mount: &str) -> Result<Vec<String>, ReadError> {
    #[derive(Deserialize, Default)]
    struct Keys {
        #[serde(default)]
        keys: Vec<String>,
    }
    let keys: Option<Keys> = data(vault, token, &format!("auth/{mount}/role?list=true"), mount).await?;
    Ok(keys.unwrap_or_default().keys)
}

async fn data<T: DeserializeOwned>(
    vault: &Vault,
    token: &SecretString,
    path: &str,
    mount: &str,
) -> Result<Option<T>, ReadError> {
    let answer = match vault.get(path, token).await {
        Ok(answer) => answer,
        Err(e) if e.status() == Some(404) => return Err(ReadError::NoMount { mount: mount.to_owned() }),
        Err(e) if e.status() == Some(403) => return Err(ReadError::Denied { mount: mount.to_owned() }),
        Err(e) => return Err(e.into()),
    };
    match answer.and_then(|a| a.get("data").cloned()).filter(|d| !d.is_null()) {
        Some(data) => serde_json::from_value(data).map(Some).map_err(|e| {
            ReadError::Vault(VaultError::Decode { method: "GET".into(), path: path.to_owned(), detail: e.to_string() })
        }),
        None => Ok(None),
    }
}
