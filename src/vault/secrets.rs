//! Reading secrets: which engine serves a path, and what it holds.

use secrecy::SecretString;
use serde_json::{Map, Value, json};

use super::answer::ttl;
use super::{Replay, Vault, VaultError};

/// The secrets engine mounted above a path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    /// The mount's path with a trailing `/`, e.g. `kvv2/`.
    pub path: String,
    /// The engine, e.g. `kv` or `database`.
    pub kind: String,
    /// 1 or 2 for KV mounts.
    pub kv_version: Option<u8>,
}

impl Mount {
    /// The API path that reads `path` on this mount: KV v2 keeps its data under `data/`, users need not.
    pub fn api_path(&self, path: &str) -> String {
        match (self.kv_version, path.strip_prefix(&self.path)) {
            (Some(2), Some(rest)) if !rest.starts_with("data/") => format!("{}data/{rest}", self.path),
            _ => path.to_owned(),
        }
    }
}

/// The lease that came with a dynamic secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    /// Not a credential, but only useful to someone with rights on `sys/leases`: kept for the debug log.
    pub id: String,
    pub duration: u64,
    pub renewable: bool,
}

/// One read's result. No `Debug`: it holds secret values.
pub struct SecretData {
    pub data: Map<String, Value>,
    pub lease: Option<Lease>,
    /// The KV v2 version that was read.
    pub version: Option<u64>,
}

/// `GET sys/internal/ui/mounts/<path>`: readable with the default policy for any path the token can use.
pub async fn mount_of(vault: &Vault, token: &SecretString, path: &str) -> Result<Option<Mount>, VaultError> {
    let api = format!("sys/internal/ui/mounts/{path}");
    let Some(answer) = vault.get(&api, token).await? else { return Ok(None) };
    decode_mount(&answer).map(Some).map_err(|detail| VaultError::Decode {
        method: "GET".into(),
        path: api,
        detail: detail.into(),
    })
}

/// The mount lookup's `data.path`, `data.type` and, for KV, `data.options.version`.
pub(super) fn decode_mount(answer: &Value) -> Result<Mount, &'static str> {
    let text = |pointer: &str| answer.pointer(pointer).and_then(Value::as_str);
    let path = text("/data/path").ok_or("the mount lookup has no `data.path` string")?;
    let kind = text("/data/type").ok_or("the mount lookup has no `data.type` string")?;
    let kv_version = text("/data/options/version").and_then(|v| v.parse().ok()).or((kind == "kv").then_some(1));
    let path = if path.ends_with('/') { path.to_owned() } else { format!("{path}/") };
    Ok(Mount { path, kind: kind.to_owned(), kv_version })
}

/// Reads `api_path` (as given by [`Mount::api_path`]); `Ok(None)` when nothing is there.
pub async fn read(
    vault: &Vault,
    token: &SecretString,
    mount: &Mount,
    api_path: &str,
    version: Option<u64>,
) -> Result<Option<SecretData>, VaultError> {
    let request = match version {
        Some(v) => format!("{api_path}?version={v}"),
        None => api_path.to_owned(),
    };
    let Some(answer) = vault.get(&request, token).await? else { return Ok(None) };
    decode_read(answer, mount).map_err(|detail| VaultError::Decode {
        method: "GET".into(),
        path: request,
        detail: detail.into(),
    })
}

/// A read's data (under `data.data` for KV v2, `data` otherwise) and its lease; `Ok(None)` for a KV v2
/// version that was deleted.
pub(super) fn decode_read(mut answer: Value, mount: &Mount) -> Result<Option<SecretData>, &'static str> {
    let lease = lease(&answer);
    let data = answer.get_mut("data").map(Value::take).unwrap_or(Value::Null);
    if mount.kv_version == Some(2) {
        let version = data.pointer("/metadata/version").and_then(Value::as_u64);
        return match data.get("data").cloned().unwrap_or(Value::Null) {
            Value::Object(map) => Ok(Some(SecretData { data: map, lease, version })),
            Value::Null => Ok(None),
            _ => Err("`data.data` is not an object"),
        };
    }
    match data {
        Value::Object(map) => Ok(Some(SecretData { data: map, lease, version: None })),
        _ => Err("`data` is not an object"),
    }
}

/// `PUT sys/leases/renew {lease_id}` (the default policy allows it): extends a lease by its engine's
/// default TTL, up to its `max_ttl`. Returns the duration Vault granted, in seconds.
pub async fn renew_lease(vault: &Vault, token: &SecretString, lease_id: &str) -> Result<u64, VaultError> {
    let path = "sys/leases/renew";
    let answer = vault.post(path, Some(token), &json!({ "lease_id": lease_id }), Replay::Safe).await?;
    let granted = answer.as_ref().and_then(|a| a.get("lease_duration"));
    granted.map(|field| ttl(Some(field))).ok_or_else(|| VaultError::Decode {
        method: "PUT".into(),
        path: path.into(),
        detail: "the answer has no `lease_duration`".into(),
    })
}

fn lease(answer: &Value) -> Option<Lease> {
    let id = answer.get("lease_id").and_then(Value::as_str).unwrap_or("");
    (!id.is_empty()).then(|| Lease {
        id: id.to_owned(),
        duration: ttl(answer.get("lease_duration")),
        renewable: answer.get("renewable").and_then(Value::as_bool).unwrap_or(false),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kv2_paths_get_data_inserted_once() {
        let kv2 = Mount { path: "kvv2/".into(), kind: "kv".into(), kv_version: Some(2) };
        assert_eq!(kv2.api_path("kvv2/webapp/config"), "kvv2/data/webapp/config");
        assert_eq!(kv2.api_path("kvv2/data/webapp/config"), "kvv2/data/webapp/config");
        let kv1 = Mount { path: "kv/".into(), kind: "kv".into(), kv_version: Some(1) };
        assert_eq!(kv1.api_path("kv/webapp/flat"), "kv/webapp/flat");
        let db = Mount { path: "postgres/".into(), kind: "database".into(), kv_version: None };
        assert_eq!(db.api_path("postgres/creds/webapp"), "postgres/creds/webapp");
    }
}
