//! Whether the role's policies let the step read each path of `secrets`.
//!
//! An admin token's own capabilities say nothing about the role (root may do anything), and
//! `sys/capabilities` wants a token, not policy names. So a throwaway token with exactly the role's
//! policies is created (1 minute, not renewable), asked about, and revoked at once. When the admin token
//! may not create it, the admin token's own capabilities are shown instead, and the table says so.

use std::collections::BTreeSet;

use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};

use super::role::Role;
use super::table::{Row, Verdict};
use crate::spec::Request;
use crate::vault::{self, Replay, Vault, VaultError};

/// Whose capabilities a table shows.
pub enum Whose {
    /// A token with exactly the role's policies: what a logged-in job would have.
    Role,
    /// The admin token, because it could not create one with the role's policies.
    Admin(String),
}

impl Whose {
    pub fn describe(&self) -> String {
        match self {
            Self::Role => "a token with the role's policies".into(),
            Self::Admin(why) => format!("the given token, not the role's ({why})"),
        }
    }
}

/// One row per distinct path of `requests`: what it is read as, and what the role may do there.
pub async fn check(
    vault: &Vault,
    admin: &SecretString,
    role: &Role,
    role_name: &str,
    requests: &[Request],
) -> Result<(Vec<Row>, Whose), VaultError> {
    let paths: BTreeSet<&str> = requests.iter().map(|r| r.path.as_str()).collect();
    let mut resolved = Vec::new();
    for path in paths {
        // Vault answers 403 (or 400) rather than 404 when no mount is above the path.
        let mount = match vault::mount_of(vault, admin, path).await {
            Ok(mount) => mount,
            Err(e) if matches!(e.status(), Some(400 | 403)) => None,
            Err(e) => return Err(e),
        };
        let engine = |m: &vault::Mount| match m.kv_version {
            Some(v) => format!("KV v{v}"),
            None => m.kind.clone(),
        };
        resolved.push((path, mount.map(|m| (m.api_path(path), engine(&m)))));
    }
    let api_paths: Vec<&str> = resolved.iter().filter_map(|(_, m)| m.as_ref().map(|(api, _)| api.as_str())).collect();
    let (answer, whose) = capabilities(vault, admin, role, role_name, &api_paths).await?;
    let rows = resolved
        .iter()
        .map(|(path, mount)| match mount {
            None => Row::new(*path, "no secrets engine is mounted above it", "-", Verdict::Fail),
            Some((api, kind)) => {
                let caps: Vec<&str> = answer
                    .get(api)
                    .and_then(Value::as_array)
                    .map(|c| c.iter().filter_map(Value::as_str).collect())
                    .unwrap_or_default();
                let allowed = caps.iter().any(|c| *c == "read" || *c == "root");
                let shown = if caps.is_empty() { "deny".to_owned() } else { caps.join(", ") };
                let needs = if allowed {
                    shown
                } else {
                    format!("{shown}: add `path \"{api}\" {{ capabilities = [\"read\"] }}`")
                };
                Row::new(*path, format!("{api} ({kind})"), needs, if allowed { Verdict::Ok } else { Verdict::Fail })
            }
        })
        .collect();
    Ok((rows, whose))
}

/// `path -> [capabilities]` for `paths`, asked with a probe token holding the role's policies.
async fn capabilities(
    vault: &Vault,
    admin: &SecretString,
    role: &Role,
    role_name: &str,
    paths: &[&str],
) -> Result<(Value, Whose), VaultError> {
    let probe = match create_probe(vault, admin, role, role_name).await {
        Ok(probe) => probe,
        Err(e) if e.status() == Some(403) || e.status() == Some(400) => {
            let answer =
                vault.post("sys/capabilities-self", Some(admin), &json!({ "paths": paths }), Replay::Safe).await?;
            return Ok((data(answer), Whose::Admin(e.to_string())));
        }
        Err(e) => return Err(e),
    };
    let body = json!({ "token": probe.expose_secret(), "paths": paths });
    let answer = vault.post("sys/capabilities", Some(admin), &body, Replay::Safe).await;
    let revoked =
        vault.post("auth/token/revoke", Some(admin), &json!({ "token": probe.expose_secret() }), Replay::Safe).await;
    let answer = answer?;
    revoked?;
    Ok((data(answer), Whose::Role))
}

/// The probe carries `meta` naming itself and the role, so an audit log (or a test) can tell it apart.
async fn create_probe(
    vault: &Vault,
    admin: &SecretString,
    role: &Role,
    role_name: &str,
) -> Result<SecretString, VaultError> {
    let body = json!({
        "policies": role.token_policies, "no_default_policy": role.token_no_default_policy,
        "ttl": "1m", "explicit_max_ttl": "1m", "renewable": false, "display_name": "vault-login-diagnose",
        "meta": { "created_by": "vault-login diagnose", "role": role_name },
    });
    let answer = vault.post("auth/token/create", Some(admin), &body, Replay::OnlyIfNotProcessed).await?;
    let token = answer.as_ref().and_then(|a| a.pointer("/auth/client_token")).and_then(Value::as_str);
    match token {
        Some(token) if !token.is_empty() => Ok(SecretString::from(token.to_owned())),
        _ => Err(VaultError::Decode {
            method: "POST".into(),
            path: "auth/token/create".into(),
            detail: "no auth.client_token in the answer".into(),
        }),
    }
}

/// The capabilities map: Vault answers it under `data` (and, for old clients, at the top level too).
fn data(answer: Option<Value>) -> Value {
    let answer = answer.unwrap_or_default();
    answer.get("data").filter(|d| d.is_object()).cloned().unwrap_or(answer)
}
