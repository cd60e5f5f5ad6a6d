//! JWT login and token revocation.

use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};

use super::answer::ttl;
use super::{Replay, Vault, VaultError};

/// A successful login. No `Debug`: it holds the token.
pub struct Login {
    pub token: SecretString,
    pub accessor: String,
    pub policies: Vec<String>,
    /// Seconds the token lives, as Vault granted it (the role's `token_ttl`, capped by `token_max_ttl`).
    pub lease_duration: u64,
}

/// `POST auth/<mount>/login {role, jwt}`.
pub async fn login(vault: &Vault, mount: &str, role: &str, jwt: &SecretString) -> Result<Login, VaultError> {
    let path = format!("auth/{mount}/login");
    let body = json!({ "role": role, "jwt": jwt.expose_secret() });
    let answer = vault.post(&path, None, &body, Replay::OnlyIfNotProcessed).await?;
    decode_login(answer).map_err(|detail| VaultError::Decode { method: "POST".into(), path, detail: detail.into() })
}

/// The login answer, read leniently: once Vault has minted a token, the step must hold it (to use it, or
/// to revoke it), so a field of an odd type or size reads as absent instead of failing the decode.
pub(super) fn decode_login(answer: Option<Value>) -> Result<Login, &'static str> {
    let auth = answer.as_ref().and_then(|a| a.get("auth")).ok_or("the login answer has no `auth` block")?;
    let token = auth.get("client_token").and_then(Value::as_str).unwrap_or_default();
    if token.is_empty() {
        return Err("the login answer has no `auth.client_token` (absent, empty or not a string)");
    }
    let policies = auth.get("policies").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
    Ok(Login {
        token: SecretString::from(token.to_owned()),
        accessor: auth.get("accessor").and_then(Value::as_str).unwrap_or_default().to_owned(),
        policies: policies.iter().filter_map(Value::as_str).map(str::to_owned).collect(),
        lease_duration: ttl(auth.get("lease_duration")),
    })
}

/// `POST auth/token/revoke-self`: revokes the token and, with it, every lease it created.
pub async fn revoke_self(vault: &Vault, token: &SecretString) -> Result<(), VaultError> {
    vault.post("auth/token/revoke-self", Some(token), &json!({}), Replay::Safe).await.map(drop)
}

/// `POST auth/token/renew-self`: extends the token by its role's `token_ttl`, up to `token_max_ttl`.
/// Returns the TTL Vault granted, in seconds.
pub async fn renew_self(vault: &Vault, token: &SecretString) -> Result<u64, VaultError> {
    let path = "auth/token/renew-self";
    let answer = vault.post(path, Some(token), &json!({}), Replay::Safe).await?;
    let granted = answer.as_ref().and_then(|a| a.pointer("/auth/lease_duration"));
    granted.map(|ttl_field| ttl(Some(ttl_field))).ok_or_else(|| VaultError::Decode {
        method: "POST".into(),
        path: path.into(),
        detail: "the answer has no `auth.lease_duration`".into(),
    })
}

/// `GET auth/token/lookup-self`: what a token used as it is (`exec --use-vault-token`) carries.
pub async fn lookup_self(vault: &Vault, token: &SecretString) -> Result<Login, VaultError> {
    let answer = vault.get("auth/token/lookup-self", token).await?.unwrap_or_default();
    let data = answer.get("data").unwrap_or(&Value::Null);
    let policies = data.get("policies").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
    Ok(Login {
        token: token.clone(),
        accessor: data.get("accessor").and_then(Value::as_str).unwrap_or_default().to_owned(),
        policies: policies.iter().filter_map(Value::as_str).map(str::to_owned).collect(),
        lease_duration: ttl(data.get("ttl")),
    })
}
