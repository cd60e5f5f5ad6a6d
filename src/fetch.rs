//! Turning the `secrets` requests into values: each distinct path read once, reads run concurrently.

use std::collections::{BTreeMap, HashMap};

use futures_util::stream::{self, StreamExt, TryStreamExt};
use secrecy::SecretString;
use serde_json::Value;

use crate::names::{self, Naming};
use crate::spec::{Request, Selector, Target};
use crate::vault::{self, Lease, Mount, SecretData, Vault, VaultError};

/// How many reads are in flight at once: enough to hide round trips, few enough for a small Vault.
const CONCURRENT_READS: usize = 8;

/// Where a value comes from.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Source {
    pub path: String,
    pub version: Option<u64>,
    pub key: String,
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.version {
            Some(v) => write!(f, "{}@{v} {}", self.path, self.key),
            None => write!(f, "{} {}", self.path, self.key),
        }
    }
}

/// One value to export. No `Debug`: it holds the secret.
pub struct Secret {
    pub name: String,
    pub source: Source,
    pub value: SecretString,
    pub lease: Option<Lease>,
    /// The KV v2 version actually read (the latest, unless pinned).
    pub version: Option<u64>,
}

/// Why the requested secrets could not all be read.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error(
        "secret `{path}` not found (read at `{api_path}`); check the path, or set `ignore-not-found: true` to skip it"
    )]
    PathNotFound { path: String, api_path: String },
    #[error("no secrets engine is mounted above `{path}`; check the path's first segment (the mount, e.g. `kvv2/`)")]
    NoMount { path: String },
    #[error(
        "key `{key}` not found in `{path}`; it has: {available}. Fix the key, or set `ignore-not-found: true` to skip it"
    )]
    KeyNotFound { path: String, key: String, available: String },
    #[error(
        "permission denied reading `{path}`: the token's policies ({policies}) do not grant `read` on \
         `{api_path}`. Add `path \"{api_path}\" {{ capabilities = [\"read\"] }}` to the role's policy"
    )]
    Denied { path: String, api_path: String, policies: String },
    #[error(
        "`{path}@{version}`: versions exist only on KV v2 mounts, and `{mount}` is a {kind} mount; drop `@{version}`"
    )]
    VersionUnsupported { path: String, version: u64, mount: String, kind: String },
    #[error("secrets input, line {line}: {error}")]
    Name { line: usize, error: names::NameError },
    #[error(
        "export name `{name}` would come from both `{first}` and `{second}`; give one of them another name with `| NAME`"
    )]
    Conflict { name: String, first: String, second: String },
    #[error("reading `{path}`: {error}")]
    Vault { path: String, error: Box<VaultError> },
}

/// What a run read: the values in request order, and what was skipped.
pub struct Fetched {
    pub secrets: Vec<Secret>,
    pub skipped: Vec<String>,
}

/// Reads everything `requests` asks for. All or nothing: the first failure ends the whole fetch.
pub async fn fetch(
    vault: &Vault,
    token: &SecretString,
    requests: &[Request],
    naming: Naming,
    ignore_not_found: bool,
    policies: &[String],
) -> Result<Fetched, FetchError> {
    let reads = read_distinct(vault, token, requests, policies).await?;
    let mut out = Fetched { secrets: Vec::new(), skipped: Vec::new() };
    let mut names: HashMap<String, Source> = HashMap::new();
    for request in requests {
        let (api_path, data) = &reads[&(request.path.clone(), request.version)];
        let Some(data) = data else {
            not_found(request, api_path, ignore_not_found, &mut out)?;
            continue;
        };
        for (key, value) in select(request, data, ignore_not_found, &mut out)? {
            let name = export_name(request, &key, naming)?;
            let source = Source { path: request.path.clone(), version: request.version, key };
            match names.get(&name) {
                Some(first) if *first == source => continue,
                Some(first) => {
                    return Err(FetchError::Conflict { name, first: first.to_string(), second: source.to_string() });
                }
                None => names.insert(name.clone(), source.clone()),
            };
            out.secrets.push(Secret { name, source, value, lease: data.lease.clone(), version: data.version });
        }
    }
    Ok(out)
}

/// Per distinct (path, version): the API path read and what was there.
type Reads = BTreeMap<(String, Option<u64>), (String, Option<SecretData>)>;

async fn read_distinct(
    vault: &Vault,
    token: &SecretString,
    requests: &[Request],
    policies: &[String],
) -> Result<Reads, FetchError> {
    let mut distinct: Vec<(String, Option<u64>)> = requests.iter().map(|r| (r.path.clone(), r.version)).collect();
    distinct.sort();
    distinct.dedup();
    stream::iter(distinct)
        .map(|(path, version)| async move {
            let data = read_one(vault, token, &path, version, policies).await?;
            Ok::<_, FetchError>(((path, version), data))
        })
        .buffer_unordered(CONCURRENT_READS)
        .try_collect()
        .await
}

async fn read_one(
    vault: &Vault,
    token: &SecretString,
    path: &str,
    version: Option<u64>,
    policies: &[String],
) -> Result<(String, Option<SecretData>), FetchError> {
    let denied = |api_path: &str| FetchError::Denied {
        path: path.to_owned(),
        api_path: api_path.to_owned(),
        policies: policies.join(", "),
    };
    let mount = match vault::mount_of(vault, token, path).await {
        Ok(Some(mount)) => mount,
        Ok(None) => return Err(FetchError::NoMount { path: path.to_owned() }),
        Err(e) if e.status() == Some(403) => return Err(denied(path)),
        Err(e) if e.status() == Some(400) => return Err(FetchError::NoMount { path: path.to_owned() }),
        Err(source) => return Err(FetchError::Vault { path: path.to_owned(), error: Box::new(source) }),
    };
    check_version(&mount, path, version)?;
    let api_path = mount.api_path(path);
    match vault::read(vault, token, &mount, &api_path, version).await {
        Ok(data) => Ok((api_path, data)),
        Err(e) if e.status() == Some(403) => Err(denied(&api_path)),
        Err(source) => Err(FetchError::Vault { path: path.to_owned(), error: Box::new(source) }),
    }
}

fn check_version(mount: &Mount, path: &str, version: Option<u64>) -> Result<(), FetchError> {
    match version {
        Some(version) if mount.kv_version != Some(2) => Err(FetchError::VersionUnsupported {
            path: path.to_owned(),
            version,
            mount: mount.path.clone(),
            kind: match mount.kv_version {
                Some(1) => "KV v1".to_owned(),
                _ => mount.kind.clone(),
            },
        }),
        _ => Ok(()),
    }
}

fn not_found(request: &Request, api_path: &str, ignore: bool, out: &mut Fetched) -> Result<(), FetchError> {
    if ignore {
        out.skipped.push(format!("`{}`: not found", request.path));
        return Ok(());
    }
    Err(FetchError::PathNotFound { path: request.path.clone(), api_path: api_path.to_owned() })
}

/// The (key, value) pairs a request selects from one read.
fn select(
    request: &Request,
    data: &SecretData,
    ignore: bool,
    out: &mut Fetched,
) -> Result<Vec<(String, SecretString)>, FetchError> {
    match &request.selector {
        Selector::All => Ok(data.data.iter().map(|(k, v)| (k.clone(), text(v))).collect()),
        Selector::Key(key) => match data.data.get(key) {
            Some(value) => Ok(vec![(key.clone(), text(value))]),
            None if ignore => {
                out.skipped.push(format!("`{}`: no key `{key}`", request.path));
                Ok(Vec::new())
            }
            None => Err(FetchError::KeyNotFound {
                path: request.path.clone(),
                key: key.clone(),
                available: available_keys(data),
            }),
        },
    }
}

/// Key names are not secret, and listing them turns a typo into a one-glance fix.
fn available_keys(data: &SecretData) -> String {
    if data.data.is_empty() {
        return "no keys".to_owned();
    }
    data.data.keys().map(|k| format!("`{k}`")).collect::<Vec<_>>().join(", ")
}

/// A value as text: strings as they are, other JSON compactly (a map becomes one JSON document).
fn text(value: &Value) -> SecretString {
    SecretString::from(match value {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    })
}

fn export_name(request: &Request, key: &str, naming: Naming) -> Result<String, FetchError> {
    let name = match (&request.selector, &request.target) {
        (_, Target::Name(name)) => name.clone(),
        (Selector::All, Target::Prefix(prefix)) => names::prefixed_name(prefix, key, naming),
        (Selector::All, _) => names::prefixed_name("", key, naming),
        (Selector::Key(_), _) => names::default_name(key, naming),
    };
    names::check(&name).map_err(|error| FetchError::Name { line: request.line, error })?;
    Ok(name)
}
