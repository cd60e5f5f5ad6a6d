//! JWT login and token revocation.

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::json;

use super::{Replay, Vault, VaultError};

/// A successful login. No `Debug`: it holds the token.
pub struct Login {
    pub token: SecretString,
    pub accessor: String,
    pub policies: Vec<String>,
    /// Seconds the token lives, as Vault granted it (the role's `token_ttl`, capped by `token_max_ttl`).
    pub lease_duration: u64,
}

#[derive(Deserialize)]
struct LoginResponse {
    auth: Option<AuthBlock>,
}

#[derive(Deserialize)]
struct AuthBlock {
    client_token: SecretString,
    #[serde(default)]
    accessor: String,
    #[serde(default)]
    policies: Vec<String>,
    #[serde(default)]
    lease_duration: u64,
}

/// `POST auth/<mount>/login {role, jwt}`.
pub async fn login(vault: &Vault, mount: &str, role: &str, jwt: &SecretString) -> Result<Login, VaultError> {
    let path = format!("auth/{mount}/login");
    let body = json!({ "role": role, "jwt": jwt.expose_secret() });
    let answer = vault.post(&path, None, &body, Replay::OnlyIfNotProcessed).await?;
    let decode = |detail: &str| VaultError::Decode { method: "POST".into(), path: path.clone(), detail: detail.into() };
    let parsed: LoginResponse = serde_json::from_value(answer.unwrap_or_default())
        .map_err(|e| decode(&format!("unexpected login answer ({e})")))?;
    let auth = parsed.auth.ok_or_else(|| decode("the login answer has no `auth` block"))?;
    if auth.client_token.expose_secret().is_empty() {
        return Err(decode("the login answer has an empty `auth.client_token`"));
    }
    Ok(Login {
        token: auth.client_token,
        accessor: auth.accessor,
        policies: auth.policies,
        lease_duration: auth.lease_duration,
    })
}

/// `POST auth/token/revoke-self`: revokes the token and, with it, every lease it created.
pub async fn revoke_self(vault: &Vault, token: &SecretString) -> Result<(), VaultError> {
    vault.post("auth/token/revoke-self", Some(token), &json!({}), Replay::Safe).await.map(drop)
}
