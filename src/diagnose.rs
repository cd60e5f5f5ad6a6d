//! `vault-login diagnose`: why would Vault refuse this job? An admin-side view, for a laptop.
//!
//! A refused login says little (`claim "ref" does not match…`), and the role that decides is invisible
//! from the job. This reads the auth method's config and the role with an admin token, replays Vault's
//! login checks on a token's claims (the `jwt` input, or a fake token built from git and flags, as in the
//! dry run), and asks which of the `secrets` paths the role's policies may read. Nothing is logged in and
//! nothing is exported; the only write is a one-minute probe token, revoked at once.

mod capabilities;
mod checks;
mod role;
mod subject;
mod table;

use std::io::Write;

use anyhow::{Context, Result, anyhow, bail};
use clap::Args;
use secrecy::{ExposeSecret, SecretString};
use time::OffsetDateTime;

use crate::claims::Claims;
use crate::config::{Config, JobContext, JwtSource};
use crate::inputs::Inputs;
use crate::runner::Log;
use crate::vault::Vault;
use crate::{fake_token, progress, spec};
use capabilities::Access;
use table::{Row, Verdict};

/// `diagnose` options: the step's inputs (which Vault, mount, role, audience, secrets) plus an admin token.
#[derive(Args)]
pub struct DiagnoseArgs {
    #[command(flatten)]
    pub inputs: Inputs,
    /// A Vault token that may read auth/<mount>/config and auth/<mount>/role/<role> [default: $VAULT_TOKEN];
    /// prefer the variable: a flag shows in the process list
    #[arg(long, value_name = "TOKEN")]
    pub token: Option<String>,
    /// Paths OpenTofu writes with the step's token, e.g. `kvv2/webapp/config`, separated by spaces, `;` or
    /// newlines: checked for `create` and `update`, and `auth/token/create` for OpenTofu's child token
    /// unless `--tofu-skip-child-token true`
    #[arg(long, value_name = "PATHS")]
    pub writes: Option<String>,
}

/// Runs the diagnosis; fails (exit 1) when any check would refuse the login or a read. `local` gives the
/// job's context from git, asked as in a dry run (outside CI only).
pub async fn run<W: Write>(
    args: DiagnoseArgs,
    job: JobContext,
    env: &[(String, String)],
    local: impl FnOnce() -> JobContext,
    log: &mut Log<W>,
) -> Result<()> {
    let token = admin_token(args.token, env)?;
    let writes = writes(args.writes.as_deref().unwrap_or(""))?;
    let inputs = Inputs { dry_run: Some("true".into()), ..args.inputs };
    let config = Config::from_env(env, inputs, job, local)?;
    if config.addr_is_placeholder {
        bail!("diagnose needs the Vault address: pass --url or set VAULT_ADDR");
    }
    if config.in_ci && !log.mask(token.expose_secret()).is_emitted() {
        bail!("refusing a Vault token that cannot be masked in the log");
    }
    let now = OffsetDateTime::now_utc().unix_timestamp();
    let claims = fake_token::token_claims(&config, now)?;
    let vault = client(&config)?;
    let (auth, role) = role::read(&vault, &token, &config.mount, &config.role).await?;
    let mount = &config.mount;
    let Some(role) = role else {
        let roles = role::list(&vault, &token, mount).await.unwrap_or_default();
        bail!(
            "auth/{mount} has no role `{}`; its roles: {}. Set --role (or --app) to one of them",
            config.role,
            if roles.is_empty() { "none".to_owned() } else { roles.join(", ") }
        );
    };
    let Some(auth) = auth else {
        bail!("auth/{mount} is not configured: write auth/{mount}/config (oidc_discovery_url and bound_issuer)");
    };
    let iss_known = matches!(config.jwt, JwtSource::Given(_)) || config.job.server_url.is_some();
    let mut rows = checks::login(&role, &auth, &claims, now, iss_known);
    rows.extend(policy_rows(&vault, &token, &role).await?);
    let mut text = header(&config, &claims);
    text.push_str(&table::render(["CHECK", "VAULT EXPECTS", "TOKEN HAS", "RESULT"], &rows));
    text.push_str(&subject::notes(&config, &role, &claims, now)?);
    let wanted = access(&config, &writes);
    if wanted.is_empty() {
        text.push_str("\nNo `secrets` (--secrets) or --writes given: no permissions to check.\n");
    } else {
        let (checked, whose) = capabilities::check(&vault, &token, &role, &config.role, &wanted).await?;
        for (title, access) in
            [("Reads", &[Access::Read][..]), ("Writes (OpenTofu)", &[Access::Write, Access::ChildToken])]
        {
            let table: Vec<Row> =
                checked.iter().filter(|(a, _)| access.contains(a)).map(|(_, row)| row.clone()).collect();
            if !table.is_empty() {
                text.push_str(&format!("\n{title}, as {}:\n", whose.describe()));
                text.push_str(&table::render(["PATH", "AS", "CAPABILITIES", "RESULT"], &table));
            }
        }
        rows.extend(checked.into_iter().map(|(_, row)| row));
    }
    log.info(text.trim_end());
    let failed = rows.iter().filter(|r| r.verdict == Verdict::Fail).count();
    if failed > 0 {
        bail!("{failed} check(s) fail (marked FAIL above): Vault would refuse this job's login or reads");
    }
    Ok(())
}

/// The paths of `--writes`, checked as `secrets` paths are: they go into Vault request paths.
fn writes(text: &str) -> Result<Vec<String>> {
    let paths: Vec<String> =
        text.split(|c: char| c.is_whitespace() || c == ';').filter(|p| !p.is_empty()).map(str::to_owned).collect();
    if paths.len() > spec::MAX_REQUESTS {
        bail!("--writes: expected at most {} paths (got {})", spec::MAX_REQUESTS, paths.len());
    }
    for path in &paths {
        spec::check_path_text(path).map_err(|e| anyhow!("--writes: {e}"))?;
    }
    Ok(paths)
}

/// Every (path, access) to check: the `secrets` reads, the writes, and OpenTofu's child token with them.
fn access<'a>(config: &'a Config, writes: &'a [String]) -> Vec<(&'a str, Access)> {
    let reads = config.secrets.iter().map(|r| (r.path.as_str(), Access::Read));
    let mut wanted: Vec<_> = reads.chain(writes.iter().map(|p| (p.as_str(), Access::Write))).collect();
    if !writes.is_empty() && !config.tofu_skip_child_token {
        wanted.push((capabilities::CHILD_TOKEN_PATH, Access::ChildToken));
    }
    wanted
}

/// `--token`, else `VAULT_TOKEN` (the Vault CLI's variable), else `BAO_TOKEN` (the OpenBao CLI's).
fn admin_token(flag: Option<String>, env: &[(String, String)]) -> Result<SecretString> {
    let from_env = |name: &str| env.iter().find(|(k, v)| k == name && !v.trim().is_empty()).map(|(_, v)| v.clone());
    let token =
        flag.filter(|t| !t.trim().is_empty()).or_else(|| from_env("VAULT_TOKEN")).or_else(|| from_env("BAO_TOKEN"));
    token.map(|t| SecretString::from(t.trim().to_owned())).ok_or_else(|| {
        anyhow!(
            "diagnose needs a Vault token that may read the auth method's config and role: set VAULT_TOKEN (or --token)"
        )
    })
}

fn client(config: &Config) -> Result<Vault> {
    let http =
        Vault::http_client(config.timeout, &config.tls, &config.proxies).context("setting up the HTTP client")?;
    let notice = progress::notice(&config.addr, config.debug);
    Ok(Vault::new(http, config.addr.clone(), config.namespace.clone(), config.timeout, notice))
}

fn header(config: &Config, claims: &Claims) -> String {
    let token = match config.jwt {
        JwtSource::Given(_) => "the `jwt` input".to_owned(),
        _ => format!(
            "a fake {} token for {} at {} (change with --forge, --repository, --ref, --event…)",
            config.job.forge_or_assumed().name(),
            claims.text("repository").unwrap_or_default(),
            claims.text("ref").unwrap_or_default()
        ),
    };
    format!(
        "vault-login diagnose: role `{}` of auth/{} at {}, against {token}\n\nLogin checks, in Vault's order:\n",
        config.role,
        config.mount,
        config.addr_text()
    )
}

/// One row per token policy: it must exist, or the token silently lacks its rights.
async fn policy_rows(vault: &Vault, token: &SecretString, role: &role::Role) -> Result<Vec<Row>> {
    let mut rows = Vec::new();
    if role.token_policies.is_empty() {
        rows.push(Row::new("token_policies", "(none)", "the token gets no rights", Verdict::Fail));
    }
    for policy in &role.token_policies {
        let path = format!("sys/policies/acl/{policy}");
        let exists = vault.get(&path, token).await.with_context(|| format!("reading {path}"))?.is_some();
        let (actual, verdict) = if exists { ("exists", Verdict::Ok) } else { ("does not exist", Verdict::Fail) };
        rows.push(Row::new(format!("policy {policy}"), format!("sys/policies/acl/{policy}"), actual, verdict));
    }
    if !role.token_no_default_policy {
        rows.push(Row::new("policy default", "added unless token_no_default_policy", "-", Verdict::Note));
    }
    Ok(rows)
}
