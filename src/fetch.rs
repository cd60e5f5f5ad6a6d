//! Turning the `secrets` requests into values: each distinct path read once, one mount lookup per mount,
//! lookups and reads run concurrently.

use std::collections::{BTreeMap, HashMap, HashSet};

use futures_util::stream::{self, StreamExt, TryStreamExt};
use secrecy::SecretString;
use serde_json::Value;

use crate::export_names::{ExportNameError, Source, export_name};
use crate::mask;
use crate::names::Naming;
use crate::spec::{Request, Selector};
use crate::vault::{self, Lease, Mount, SecretData, Vault, VaultError};

/// How many reads are in flight at once: enough to hide round trips, few enough for a small Vault.
const CONCURRENT_READS: usize = 8;

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
    /// A name is refused, or two sources share one.
    #[error(transparent)]
    Name(#[from] ExportNameError),
    #[error("reading `{path}`: {error}")]
    Vault { path: String, error: Box<VaultError> },
}

/// A request that `ignore-not-found` let through: its path is missing, or its key when `key` is set.
pub struct Skipped {
    pub path: String,
    pub key: Option<String>,
}

impl std::fmt::Display for Skipped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.key {
            Some(key) => write!(f, "`{}`: no key `{key}`", self.path),
            None => write!(f, "`{}`: not found", self.path),
        }
    }
}

/// What a run read: the values in request order, and what was skipped.
#[derive(Default)]
pub struct Fetched {
    pub secrets: Vec<Secret>,
    pub skipped: Vec<Skipped>,
    /// `user:password` of each read that exported a value and holds both: a later step may print the
    /// pair's base64 (Basic auth, docker config), which none of the single values' masks covers.
    pub credentials: Vec<SecretString>,
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
    let mut out = Fetched::default();
    let mut names: HashMap<String, Source> = HashMap::new();
    let mut paired = HashSet::new();
    for request in requests {
        let read = (request.path.clone(), request.version);
        let (api_path, data) = &reads[&read];
        let Some(data) = data else {
            not_found(request, api_path, ignore_not_found, &mut out)?;
            continue;
        };
        let selected = select(request, data, ignore_not_found, &mut out)?;
        if !selected.is_empty()
            && paired.insert(read)
            && let Some(pair) = mask::credentials(&data.data)
        {
            out.credentials.push(SecretString::from(pair));
        }
        for (key, value) in selected {
            let name = export_name(request, &key, naming)?;
            let source = Source { path: request.path.clone(), version: request.version, key };
            match names.get(&name) {
                Some(first) if *first == source => continue,
                Some(first) => {
                    return Err(ExportNameError::Conflict {
                        name,
                        first: first.to_string(),
                        second: source.to_string(),
                    }
                    .into());
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
    let mut paths: Vec<&str> = distinct.iter().map(|(path, _)| path.as_str()).collect();
    paths.dedup();
    let mounts = resolve_mounts(vault, token, &paths, policies).await?;
    stream::iter(&distinct)
        .map(|(path, version)| {
            let mount = &mounts[path.as_str()];
            async move {
                let data = read_one(vault, token, path, *version, mount, policies).await?;
                Ok::<_, FetchError>(((path.clone(), *version), data))
            }
        })
        .buffer_unordered(CONCURRENT_READS)
        .try_collect()
        .await
}

/// The mount of each path, with as few lookups as possible. Mounts never nest (Vault refuses a mount
/// inside or above another), so the mount found for one path serves every path under it: first one
/// lookup per first segment (paths that differ there cannot share a mount), then one per path still
/// uncovered (several mounts under one first segment, e.g. `secret/a/` and `secret/b/`).
async fn resolve_mounts<'p>(
    vault: &Vault,
    token: &SecretString,
    paths: &[&'p str],
    policies: &[String],
) -> Result<HashMap<&'p str, Mount>, FetchError> {
    let mut firsts = HashSet::new();
    let (first_round, rest): (Vec<&str>, Vec<&str>) =
        paths.iter().partition(|path| firsts.insert(path.split('/').next().unwrap_or(path)));
    let mut found = look_up_mounts(vault, token, first_round, policies).await?;
    // Only a mount that is a prefix of the path it was found for is known to serve the paths under it.
    let known: Vec<Mount> =
        found.iter().filter(|(path, m)| path.starts_with(&m.path)).map(|(_, m)| m.clone()).collect();
    let mut uncovered = Vec::new();
    for path in rest {
        match known.iter().find(|m| path.starts_with(&m.path)) {
            Some(mount) => found.push((path, mount.clone())),
            None => uncovered.push(path),
        }
    }
    found.extend(look_up_mounts(vault, token, uncovered, policies).await?);
    Ok(found.into_iter().collect())
}

async fn look_up_mounts<'p>(
    vault: &Vault,
    token: &SecretString,
    paths: Vec<&'p str>,
    policies: &[String],
) -> Result<Vec<(&'p str, Mount)>, FetchError> {
    stream::iter(paths)
        .map(|path| async move { Ok::<_, FetchError>((path, look_up_mount(vault, token, path, policies).await?)) })
        .buffer_unordered(CONCURRENT_READS)
        .try_collect()
        .await
}

async fn look_up_mount(
    vault: &Vault,
    token: &SecretString,
    path: &str,
    policies: &[String],
) -> Result<Mount, FetchError> {
    match vault::once_token_is_known(vault, token, || vault::mount_of(vault, token, path)).await {
        Ok(Some(mount)) => Ok(mount),
        Ok(None) => Err(FetchError::NoMount { path: path.to_owned() }),
        Err(e) if e.status() == Some(403) => Err(denied(path, path, policies)),
        Err(e) if e.status() == Some(400) => Err(FetchError::NoMount { path: path.to_owned() }),
        Err(source) => Err(FetchError::Vault { path: path.to_owned(), error: Box::new(source) }),
    }
}

async fn read_one(
    vault: &Vault,
    token: &SecretString,
    path: &str,
    version: Option<u64>,
    mount: &Mount,
    policies: &[String],
) -> Result<(String, Option<SecretData>), FetchError> {
    check_version(mount, path, version)?;
    let api_path = mount.api_path(path);
    match vault::once_token_is_known(vault, token, || vault::read(vault, token, mount, &api_path, version)).await {
        Ok(data) => Ok((api_path, data)),
        Err(e) if e.status() == Some(403) => Err(denied(path, &api_path, policies)),
        Err(source) => Err(FetchError::Vault { path: path.to_owned(), error: Box::new(source) }),
    }
}

fn denied(path: &str, api_path: &str, policies: &[String]) -> FetchError {
    FetchError::Denied { path: path.to_owned(), api_path: api_path.to_owned(), policies: policies.join(", ") }
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
        out.skipped.push(Skipped { path: request.path.clone(), key: None });
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
                out.skipped.push(Skipped { path: request.path.clone(), key: Some(key.clone()) });
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

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use secrecy::ExposeSecret;
    use serde_json::json;
    use wiremock::matchers::{method, path_regex};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    use super::*;

    async fn answer(server: &MockServer, path: &str, body: Value) {
        let template = ResponseTemplate::new(200).set_body_json(body);
        Mock::given(method("GET")).and(path_regex(path)).respond_with(template).mount(server).await;
    }

    /// Three paths on `kvv2/`, one each on `secret/a/` and `secret/b/` (two mounts under one first segment).
    #[tokio::test]
    async fn one_mount_lookup_per_mount() {
        let server = MockServer::start().await;
        let mount = |path: &str, options: Value| json!({ "data": { "path": path, "type": "kv", "options": options } });
        answer(&server, "^/v1/sys/internal/ui/mounts/kvv2/", mount("kvv2/", json!({ "version": "2" }))).await;
        for m in ["a", "b"] {
            answer(
                &server,
                &format!("^/v1/sys/internal/ui/mounts/secret/{m}/"),
                mount(&format!("secret/{m}/"), Value::Null),
            )
            .await;
            answer(&server, &format!("^/v1/secret/{m}/"), json!({ "data": { "k": format!("v-{m}") } })).await;
        }
        answer(
            &server,
            "^/v1/kvv2/data/app/",
            json!({ "data": { "data": { "k": "v2" }, "metadata": { "version": 3 } } }),
        )
        .await;
        let addr = url::Url::parse(&server.uri()).unwrap();
        let vault = Vault::new(
            crate::tls::client_builder().build().unwrap(),
            addr,
            None,
            Duration::from_secs(5),
            Arc::new(|_| {}),
        );
        let spec = "kvv2/app/x k | X\nkvv2/app/y k | Y\nkvv2/app/z k | Z\nsecret/a/one k | A\nsecret/b/two k | B";
        let requests = crate::spec::parse(spec).unwrap();
        let token = SecretString::from("t");
        let fetched = fetch(&vault, &token, &requests, Naming::Default, false, &[]).await.unwrap();

        let values: Vec<(&str, &str)> =
            fetched.secrets.iter().map(|s| (s.name.as_str(), s.value.expose_secret())).collect();
        assert_eq!(values, [("X", "v2"), ("Y", "v2"), ("Z", "v2"), ("A", "v-a"), ("B", "v-b")]);
        let requested: Vec<String> =
            server.received_requests().await.unwrap().iter().map(|r| r.url.path().to_owned()).collect();
        let lookups = requested.iter().filter(|p| p.starts_with("/v1/sys/internal/ui/mounts/")).count();
        assert_eq!(lookups, 3, "{requested:#?}");
        assert_eq!(requested.len(), 3 + 5, "{requested:#?}");
    }
}
