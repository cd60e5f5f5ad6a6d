//! Whether the role's policies let the step read each path of `secrets`, and OpenTofu write the paths it
//! writes back (`--writes`) with the child token it makes.
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

/// What the job does with a path.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Access {
    /// The step reads it (`secrets`).
    Read,
    /// OpenTofu writes it with the step's token (`--writes`): a first apply creates, later ones update.
    Write,
    /// OpenTofu's Vault provider creates a child token here, unless `tofu-skip-child-token` is set.
    ChildToken,
}

impl Access {
    fn needs(self) -> &'static [&'static str] {
        match self {
            Access::Read => &["read"],
            Access::Write => &["create", "update"],
            Access::ChildToken => &["update"],
        }
    }
}

/// The path OpenTofu's Vault provider posts to for its child token.
pub const CHILD_TOKEN_PATH: &str = "auth/token/create";

/// One row per distinct (path, access) of `wanted`: what the path is used as, and whether the role's
/// policies allow it.
pub async fn check(
    vault: &Vault,
    admin: &SecretString,
    role: &Role,
    role_name: &str,
    wanted: &[(&str, Access)],
) -> Result<(Vec<(Access, Row)>, Whose), VaultError> {
    let wanted: BTreeSet<(&str, Access)> = wanted.iter().copied().collect();
    let mut resolved = Vec::new();
    for (path, access) in wanted {
        let api = match access {
            Access::ChildToken => Some((path.to_owned(), "token auth".to_owned())),
            Access::Read | Access::Write => resolve(vault, admin, path).await?,
        };
        resolved.push((path, access, api));
    }
    let api_paths: Vec<&str> =
        resolved.iter().filter_map(|(_, _, api)| api.as_ref().map(|(p, _)| p.as_str())).collect();
    let (answer, whose) = capabilities(vault, admin, role, role_name, &api_paths).await?;
    let rows = resolved
        .iter()
        .map(|(path, access, api)| {
            let row = match api {
                None => Row::new(*path, "no secrets engine is mounted above it", "-", Verdict::Fail),
                Some((api, kind)) => row(path, api, kind, *access, &answer),
            };
            (*access, row)
        })
        .collect();
    Ok((rows, whose))
}

/// The API path `path` is read and written at, and its engine; `None` when no secrets engine serves it.
async fn resolve(vault: &Vault, admin: &SecretString, path: &str) -> Result<Option<(String, String)>, VaultError> {
    // Vault answers 403 (or 400) rather than 404 when no mount is above the path.
    let mount = match vault::mount_of(vault, admin, path).await {
        Ok(mount) => mount,
        Err(e) if matches!(e.status(), Some(400 | 403)) => None,
        Err(e) => return Err(e),
    };
    Ok(mount.map(|m| {
        let engine = m.kv_version.map_or_else(|| m.kind.clone(), |v| format!("KV v{v}"));
        (m.api_path(path), engine)
    }))
}

/// The row of `path`, used as `access` at `api`, given the capabilities `answer`.
fn row(path: &str, api: &str, kind: &str, access: Access, answer: &Value) -> Row {
    let caps: Vec<&str> = answer
        .get(api)
        .and_then(Value::as_array)
        .map(|c| c.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let missing: Vec<&str> =
        access.needs().iter().copied().filter(|need| !caps.contains(need) && !caps.contains(&"root")).collect();
    let shown = if caps.is_empty() { "deny".to_owned() } else { caps.join(", ") };
    if missing.is_empty() {
        return Row::new(path, format!("{api} ({kind})"), shown, Verdict::Ok);
    }
    let missing: Vec<String> = missing.iter().map(|c| format!("\"{c}\"")).collect();
    let fix = format!("{shown}: add `path \"{api}\" {{ capabilities = [{}] }}`", missing.join(", "));
    Row::new(path, format!("{api} ({kind})"), fix, Verdict::Fail)
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
