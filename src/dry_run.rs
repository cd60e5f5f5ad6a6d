//! The dry run: the whole plan with a fake token, contacting nothing.
//!
//! It exists so a workflow can be checked on a laptop before a push: the claims the job's token would
//! carry (what a role's bound_claims are matched against), the requests in order, and every name the step
//! would export. The `secrets` input is parsed by the same code as a real run, so a typo fails here.

mod exports;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::Path;

use anyhow::Result;
use serde_json::{Map, Value};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::claims::{self, Claims};
use crate::config::{Config, JwtSource};
use crate::fake_token::{self, FakeJob};
use crate::runner::Log;
use crate::spec::{self, Request};

/// What a dry run shows when no `secrets` input is given outside CI: the lab's typical requests, for `app`.
pub fn example_secrets(app: &str) -> String {
    include_str!("../examples/secrets.txt").replace("webapp", app)
}

/// Prints the plan to `log` and, with `write_to`, writes the env and output files a runner would get
/// there. `secrets_given` is whether the `secrets` input was set at all (else, outside CI, the example).
pub fn run<W: std::io::Write>(
    config: &Config,
    secrets_given: bool,
    write_to: Option<&Path>,
    log: &mut Log<W>,
) -> Result<()> {
    let example = !secrets_given && !config.in_ci && config.secrets.is_empty();
    let requests = if example { spec::parse(&example_secrets(&config.app))? } else { config.secrets.clone() };
    let planned = exports::plan(config, &requests)?;
    let now = OffsetDateTime::now_utc().unix_timestamp();
    let claims = fake_token::token_claims(config, now)?;
    let forge = match config.jwt {
        JwtSource::Given(_) => Vec::new(),
        _ => forge_rows(config, &FakeJob::new(&config.job)?, now),
    };
    let mut text = render(config, &claims, &forge, &requests, &planned, now);
    if example {
        text.insert_str(0, "(no `secrets` given: planning the example of examples/secrets.txt for this app)\n");
    }
    if let Some(dir) = write_to {
        let skipped = exports::write_to(dir, &planned)?;
        let _ =
            writeln!(text, "Wrote the env and output files a runner would get to {}/{{env,output}}.", dir.display());
        if skipped > 0 {
            let _ = writeln!(
                text,
                "({skipped} wildcard entries are left out: their names depend on keys only Vault knows.)"
            );
        }
    }
    log.info(text.trim_end());
    Ok(())
}

/// The whole plan as text.
fn render(
    config: &Config,
    claims: &Claims,
    forge: &[(String, String)],
    requests: &[Request],
    planned: &[exports::Planned],
    now: i64,
) -> String {
    let mut out = String::new();
    let _ =
        writeln!(out, "vault-login dry run: nothing is sent to Vault and nothing is written to the runner's files.\n");
    section(&mut out, "Plan", &plan_rows(config));
    if !forge.is_empty() {
        section(&mut out, "Forge (what Vault's JWT auth method must trust)", forge);
    }
    let title = match config.jwt {
        JwtSource::Given(_) => "Claims of the `jwt` input (Vault verifies its signature; this run does not)",
        _ => "Fake ID token claims (what the job's real token would carry)",
    };
    section(&mut out, title, &claim_rows(claims.as_map(), now));
    section(&mut out, "Requests, in order", &request_rows(config, requests));
    let rows: Vec<(String, String)> =
        planned.iter().map(|p| (format!("{} {}", p.kind, p.name), p.placeholder.clone())).collect();
    section(&mut out, "Exports (each secret value is masked with ::add-mask:: before it is written)", &rows);
    out
}

fn section(out: &mut String, title: &str, rows: &[(String, String)]) {
    let _ = writeln!(out, "{title}:");
    let width = rows.iter().map(|(k, _)| k.chars().count()).max().unwrap_or(0);
    for (key, value) in rows {
        let _ = writeln!(out, "  {key:width$}  {value}");
    }
    out.push('\n');
}

fn plan_rows(config: &Config) -> Vec<(String, String)> {
    let addr = config.addr_text();
    let addr = if config.addr_is_placeholder {
        format!("{addr} (a placeholder: set `url` or VAULT_ADDR)")
    } else {
        addr.to_owned()
    };
    let context = if config.in_ci {
        "from the runner (GITHUB_*)"
    } else {
        "from the local git checkout; override with --repository, --ref, --sha, --event, --workflow, --actor, \
         --server-url, --forge, --sub-format, --repository-id, --owner-id, --actor-id, --environment"
    };
    vec![
        ("Vault".into(), addr),
        ("namespace".into(), config.namespace.clone().unwrap_or_else(|| "(none)".into())),
        ("auth mount".into(), format!("{} (input `mount`)", config.mount)),
        ("role".into(), format!("{} (input `role`, or gitea_cicd_<app>)", config.role)),
        ("audience".into(), format!("{} (input `audience`; must be in the role's bound_audiences)", config.audience)),
        ("job context".into(), context.into()),
    ]
}

/// The forge whose token is imitated, where Vault finds its keys, and what of the token is a guess.
fn forge_rows(config: &Config, fake: &FakeJob, now: i64) -> Vec<(String, String)> {
    let dialect = fake.forge.dialect();
    let why = match (config.in_ci, config.job.forge) {
        (true, _) => "the runner's variables",
        (false, Some(_)) => "--forge",
        (false, None) => "assumed: github for github.com, else gitea; --forge gitea|forgejo|github",
    };
    let server = match (config.in_ci, &config.job.server_url) {
        (true, _) => "GITHUB_SERVER_URL",
        (false, Some(_)) => "--server-url, else the origin remote",
        (false, None) => "a placeholder: pass --server-url <ROOT_URL>",
    };
    let issuer = fake.issuer();
    let mut rows = vec![
        ("forge".into(), format!("{} ({why})", dialect.name)),
        ("issuer".into(), format!("{issuer}  (bound_issuer, oidc_discovery_url; from {server})")),
        ("discovery".into(), dialect.discovery_url(&issuer)),
        (
            "JWKS".into(),
            format!("{}  (jwks_url, when Vault reaches the forge at another address)", dialect.jwks_url(&issuer)),
        ),
    ];
    for (form, sub) in fake.subjects(now) {
        let this = if form == fake.sub_form { "this token's" } else { "another form this forge sends" };
        rows.push((format!("sub ({})", form.name()), format!("{sub}  ({this}; --sub-format picks)")));
    }
    let nbf = match dialect.nbf_backdate.as_secs() {
        0 => "nbf = iat".to_owned(),
        backdate => format!("nbf {} before iat", crate::exports::human(backdate)),
    };
    rows.push(("lifetime".into(), format!("{}, {nbf}", crate::exports::human(dialect.lifetime.as_secs()))));
    let placeholders = fake.placeholders();
    if !placeholders.is_empty() {
        let (claims, flags): (Vec<&str>, Vec<&str>) = placeholders.into_iter().unzip();
        rows.push(("placeholders".into(), format!("{} (give them with {})", claims.join(", "), flags.join(", "))));
    }
    rows
}

/// The claims people bind roles on first, then the rest; times also as dates.
fn claim_rows(claims: &Map<String, Value>, now: i64) -> Vec<(String, String)> {
    let first = claims::SHOWN.iter().filter_map(|name| claims.get_key_value(*name));
    let rest = claims.iter().filter(|(name, _)| !claims::SHOWN.contains(&name.as_str()));
    first
        .chain(rest)
        .map(|(name, value)| {
            let shown = match (name.as_str(), value.as_i64()) {
                ("iat" | "nbf" | "exp", Some(t)) => time_text(name, t, now),
                _ => value.as_str().map_or_else(|| value.to_string(), str::to_owned),
            };
            (name.clone(), shown)
        })
        .collect()
}

fn time_text(name: &str, t: i64, now: i64) -> String {
    let date = OffsetDateTime::from_unix_timestamp(t).ok().and_then(|d| d.format(&Rfc3339).ok()).unwrap_or_default();
    let seconds = t.saturating_sub(now);
    let when = if name == "exp" { claims::expiry(seconds) } else { claims::relative(seconds) };
    format!("{t} ({date}, {when})")
}

fn request_rows(config: &Config, requests: &[Request]) -> Vec<(String, String)> {
    let v1 = |path: &str| format!("{}/v1/{path}", config.addr_text());
    let mut rows = Vec::new();
    match &config.jwt {
        JwtSource::Given(_) => {
            rows.push(("-".to_owned(), "no ID-token request: the `jwt` input is presented".to_owned()))
        }
        _ => rows.push((
            "GET".to_owned(),
            format!(
                "$ACTIONS_ID_TOKEN_REQUEST_URL&audience={}  (the job's ID token, from the runner)",
                config.audience
            ),
        )),
    }
    rows.push((
        "POST".to_owned(),
        format!(
            "{}  {{\"role\": \"{}\", \"jwt\": <the token>}}",
            v1(&format!("auth/{}/login", config.mount)),
            config.role
        ),
    ));
    rows.extend(mount_rows(requests, &v1));
    let mut seen = BTreeSet::new();
    for request in requests.iter().filter(|r| seen.insert((r.path.clone(), r.version))) {
        let version = request.version.map(|v| format!("?version={v}")).unwrap_or_default();
        rows.push(("GET".into(), format!("{}{version}  (on KV v2, read as <mount>/data/<rest>)", v1(&request.path))));
    }
    if config.revoke {
        rows.push((
            "POST".into(),
            format!("{}  (post step: revokes the token and every lease it created)", v1("auth/token/revoke-self")),
        ));
    } else {
        rows.push(("-".into(), "post step: nothing revoked (`revoke: false`); the token lives out its TTL".into()));
    }
    rows.into_iter().enumerate().map(|(i, (method, what))| (format!("{}. {method}", i + 1), what)).collect()
}

/// The mount lookups of a real run ([`crate::fetch`]): one per first path segment, for the first of its
/// paths in sorted order. Mounts never nest, so the mount found serves the segment's other paths under it;
/// only a path under another mount (`secret/a/`, `secret/b/`) costs a lookup of its own, known only to Vault.
fn mount_rows(requests: &[Request], v1: &impl Fn(&str) -> String) -> Vec<(String, String)> {
    let paths: BTreeSet<&str> = requests.iter().map(|r| r.path.as_str()).collect();
    let mut by_segment: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for path in paths {
        by_segment.entry(path.split('/').next().unwrap_or(path)).or_default().push(path);
    }
    let row = |first: &str, rest: &[&str]| {
        let reused = match rest {
            [] => String::new(),
            _ => {
                let rest: Vec<String> = rest.iter().map(|p| format!("`{p}`")).collect();
                format!("; once per mount: reused for {} unless another mount serves them", rest.join(", "))
            }
        };
        let url = v1(&format!("sys/internal/ui/mounts/{first}"));
        ("GET".to_owned(), format!("{url}  (which engine serves it; KV v1 or v2{reused})"))
    };
    by_segment.values().filter_map(|paths| paths.split_first().map(|(first, rest)| row(first, rest))).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// As in `fetch`'s `one_mount_lookup_per_mount`: one lookup per first segment, one read per path+version.
    #[test]
    fn requests_list_one_mount_lookup_per_first_segment() {
        let requests = spec::parse("kvv2/app/y k | Y\nkvv2/app/x k | X\nkvv2/app/x@2 k | X2\nsecret/a/one k").unwrap();
        let v1 = |path: &str| format!("https://vault/v1/{path}");
        let lookups: Vec<String> = mount_rows(&requests, &v1).into_iter().map(|(_, what)| what).collect();
        assert_eq!(lookups.len(), 2, "{lookups:#?}");
        assert!(lookups[0].starts_with("https://vault/v1/sys/internal/ui/mounts/kvv2/app/x  "), "{lookups:#?}");
        assert!(lookups[0].contains("reused for `kvv2/app/y`"), "{lookups:#?}");
        assert!(lookups[1].ends_with("mounts/secret/a/one  (which engine serves it; KV v1 or v2)"), "{lookups:#?}");
    }
}
