//! The dry run: the whole plan with a fake token, contacting nothing.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::{Context, Result};
use serde_json::{Map, Value};

use crate::config::Config;
use crate::fake_token;
use crate::names;
use crate::runner;
use crate::spec::{Request, Selector, Target};

/// What a dry run shows when no `secrets` input is given outside CI: the lab's typical requests, for `app`.
pub fn example_secrets(app: &str) -> String {
    include_str!("../examples/secrets.txt").replace("webapp", app)
}

/// One export of the plan: its name (or a pattern) and the placeholder standing for its value.
struct Planned {
    kind: &'static str,
    name: String,
    placeholder: String,
}

/// Renders the plan. `requests` are the parsed `secrets` (validated exactly as a real run validates them).
pub fn render(config: &Config, requests: &[Request], now: i64) -> Result<String> {
    let claims = fake_token::claims(&config.job, &config.audience, now);
    let mut out = String::new();
    let _ = writeln!(out, "vault-login dry run: nothing is sent and nothing is written.\n");
    section(&mut out, "Fake ID token claims (what the job's real token would carry)", &claim_rows(&claims));
    section(&mut out, "Requests, in order", &request_rows(config, requests));
    let exports = exports(config, requests)?;
    let rows: Vec<(String, String)> =
        exports.iter().map(|p| (format!("{} {}", p.kind, p.name), p.placeholder.clone())).collect();
    section(&mut out, "Exports (values are placeholders)", &rows);
    Ok(out)
}

/// Writes the plan's exports as a runner would receive them, into `dir` (env, output, summary.md).
pub fn write_to(dir: &Path, config: &Config, requests: &[Request]) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let planned = exports(config, requests)?;
    for (kind, file) in [("env", "env"), ("output", "output")] {
        let pairs: Vec<(&str, &str)> =
            planned.iter().filter(|p| p.kind == kind).map(|p| (p.name.as_str(), p.placeholder.as_str())).collect();
        runner::append(&dir.join(file), &runner::render_entries(&pairs)?)?;
    }
    Ok(())
}

fn section(out: &mut String, title: &str, rows: &[(String, String)]) {
    let _ = writeln!(out, "{title}:");
    let width = rows.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
    for (key, value) in rows {
        let _ = writeln!(out, "  {key:width$}  {value}");
    }
    out.push('\n');
}

fn claim_rows(claims: &Map<String, Value>) -> Vec<(String, String)> {
    claims.iter().map(|(k, v)| (k.clone(), v.as_str().map_or_else(|| v.to_string(), str::to_owned))).collect()
}

fn request_rows(config: &Config, requests: &[Request]) -> Vec<(String, String)> {
    let v1 = |path: &str| format!("{}/v1/{path}", config.addr.as_str().trim_end_matches('/'));
    let mut rows = vec![
        ("GET".to_owned(), format!("$ACTIONS_ID_TOKEN_REQUEST_URL&audience={}  (the job's ID token)", config.audience)),
        ("POST".to_owned(), format!("{}  role={}", v1(&format!("auth/{}/login", config.mount)), config.role)),
    ];
    let mut seen = std::collections::BTreeSet::new();
    for request in requests.iter().filter(|r| seen.insert((r.path.clone(), r.version))) {
        rows.push((
            "GET".into(),
            format!("{}  (which engine, which KV version)", v1(&format!("sys/internal/ui/mounts/{}", request.path))),
        ));
        let version = request.version.map(|v| format!("?version={v}")).unwrap_or_default();
        rows.push((
            "GET".into(),
            format!("{}{version}  (`data/` inserted after the mount if it is KV v2)", v1(&request.path)),
        ));
    }
    rows.push((
        "POST".into(),
        format!("{}  (post step: revokes the token and its leases)", v1("auth/token/revoke-self")),
    ));
    rows
}

fn exports(config: &Config, requests: &[Request]) -> Result<Vec<Planned>> {
    let login = format!("auth/{}/login", config.mount);
    let mut planned = vec![plan("env", "VAULT_ADDR", config.addr.as_str().trim_end_matches('/'))];
    if config.export_token {
        planned.push(plan("env", "VAULT_TOKEN", &format!("<token from {login}>")));
    }
    if let Some(namespace) = &config.namespace {
        planned.push(plan("env", "VAULT_NAMESPACE", namespace));
    }
    for name in ["token-accessor", "policies", "expires-at"] {
        planned.push(plan("output", name, &format!("<{name} from {login}>")));
    }
    for request in requests {
        let (name, placeholder) = secret_plan(request, config.naming)?;
        if config.export_env {
            planned.push(plan("env", &name, &placeholder));
        }
        planned.push(plan("output", &name, &placeholder));
    }
    Ok(planned)
}

fn plan(kind: &'static str, name: &str, placeholder: &str) -> Planned {
    Planned { kind, name: name.to_owned(), placeholder: placeholder.to_owned() }
}

/// The export name and placeholder for one request; a wildcard's names depend on keys only Vault knows.
fn secret_plan(request: &Request, naming: names::Naming) -> Result<(String, String)> {
    let at = |key: &str| match request.version {
        Some(v) => format!("<{}@{v} {key}>", request.path),
        None => format!("<{} {key}>", request.path),
    };
    let line = request.line;
    Ok(match (&request.selector, &request.target) {
        (Selector::Key(key), Target::Name(name)) => {
            names::check(name).with_context(|| format!("secrets line {line}"))?;
            (name.clone(), at(key))
        }
        (Selector::Key(key), _) => {
            let name = names::default_name(key, naming);
            names::check(&name).with_context(|| format!("secrets line {line}"))?;
            (name, at(key))
        }
        (Selector::All, Target::Prefix(prefix)) => (format!("{prefix}<KEY>"), at("<each key>")),
        (Selector::All, _) => ("<KEY>".to_owned(), at("<each key>")),
    })
}
