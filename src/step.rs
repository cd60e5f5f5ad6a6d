//! The main step: ID token -> login -> reads -> masks -> exports, all or nothing.

use std::io::Write;
use std::time::Duration;

use anyhow::{Context, Result};
use secrecy::{ExposeSecret, SecretString};
use time::OffsetDateTime;

use crate::claims::Claims;
use crate::config::{Config, JwtSource};
use crate::exports::{self, Exports};
use crate::fetch::{self, Fetched};
use crate::runner::Log;
use crate::state::State;
use crate::stop::Stop;
use crate::tls::{self, TlsSettings};
use crate::vault::{self, Login, Vault, VaultError};
use crate::{login_hints, oidc, progress, summary};

/// Revoking after a failure gets its own small budget: the step's deadline may be what just ran out.
const CLEANUP_BUDGET: Duration = Duration::from_secs(10);

/// Runs the main step against Vault. On error nothing has been exported and the token is revoked.
pub async fn run<W: Write>(config: &Config, log: &mut Log<W>) -> Result<()> {
    let mut stop = Stop::listen().context("listening for the signals that stop a step")?;
    let (vault, forge) = connect(config, log)?;
    let (login, now) = log_in(config, &vault, &forge, log).await?;
    // Exports are written without a pause once the reads are done, so a stop lands before any of them
    // or after all of them; `biased` checks for a stop that came during the login first.
    let outcome = tokio::select! {
        biased;
        signal = stop.wait() => Err(anyhow::anyhow!("stopped by {signal} before anything was exported")),
        outcome = after_login(config, &vault, &login, log, now) => outcome,
    };
    match outcome {
        Ok(()) => Ok(()),
        Err(error) => {
            match revoke_now(&vault, &login.token).await {
                Ok(()) => {
                    log.info("Nothing was exported; the Vault token was revoked.");
                    tell_the_post_step_it_is_revoked(config, log);
                }
                Err(e) => log.warning(&format!(
                    "Nothing was exported, but revoking the Vault token failed ({e}); the post step will try \
                     again, and the token expires with its TTL regardless"
                )),
            }
            Err(error)
        }
    }
}

/// The Vault client and the forge's (for the ID token), after the TLS warnings the settings deserve.
pub(crate) fn connect<W: Write>(config: &Config, log: &mut Log<W>) -> Result<(Vault, reqwest::Client)> {
    for warning in tls::warnings(&config.addr, &config.tls) {
        log.warning(&warning);
    }
    let http =
        Vault::http_client(config.timeout, &config.tls, &config.proxies).context("setting up the HTTP client")?;
    let forge = forge_client(config, &http)?;
    let notice = progress::notice(&config.addr, log.debug_enabled());
    let vault = Vault::new(http, config.addr.clone(), config.namespace.clone(), config.timeout, notice)
        .wait_for_unseal(config.wait_for_unseal);
    Ok((vault, forge))
}

/// Everything that follows a login. Whatever fails here, the caller revokes the token.
async fn after_login<W: Write>(
    config: &Config,
    vault: &Vault,
    login: &Login,
    log: &mut Log<W>,
    now: OffsetDateTime,
) -> Result<()> {
    mask_token(log, login.token.expose_secret())?;
    log.info(&format!(
        "Logged in to {} as role `{}` (policies: {}); the token expires in {}",
        config.addr_text(),
        config.role,
        login.policies.join(", "),
        humantime::format_duration(Duration::from_secs(login.lease_duration)),
    ));
    save_state(config, login).context("writing the post step's state (GITHUB_STATE)")?;
    export(config, vault, login, log, now).await
}

/// The client for the runner's ID-token endpoint. Vault's TLS inputs are Vault's: the forge is verified
/// against the system roots, with no client certificate, even when `tls-skip-verify` is on for Vault.
fn forge_client(config: &Config, vault_client: &reqwest::Client) -> Result<reqwest::Client> {
    if !matches!(config.jwt, JwtSource::Oidc { .. }) || config.tls.is_plain() {
        return Ok(vault_client.clone());
    }
    let plain = TlsSettings::default().with_system_bundle(config.tls.system_bundle.clone());
    Vault::http_client(config.timeout, &plain, &config.proxies)
        .context("setting up the HTTP client for the ID-token request")
}

/// Logs in and masks the token. An ID token from the runner that Vault found expired (after a long wait
/// for an unseal, say) is replaced by a fresh one, once: the forge issues new ones for as long as the job
/// runs. Vault judges expiry with its own clock and leeway, so its answer, not the token's `exp`, decides.
/// A login that succeeded is never repeated.
pub(crate) async fn log_in<W: Write>(
    config: &Config,
    vault: &Vault,
    http: &reqwest::Client,
    log: &mut Log<W>,
) -> Result<(Login, OffsetDateTime)> {
    let refetchable = matches!(config.jwt, JwtSource::Oidc { .. });
    let mut jwt = id_token(config, http, log).await?;
    let mut refetched = false;
    loop {
        let claims = Claims::peek(jwt.expose_secret()).map_err(|e| match config.jwt {
            JwtSource::Given(_) => anyhow::anyhow!("input `jwt`: not a JWT: {e}"),
            _ => anyhow::anyhow!("the forge's ID token is not a JWT: {e}"),
        })?;
        let now = OffsetDateTime::now_utc();
        log.debug(&format!("ID token claims: {}", claims.summary(now.unix_timestamp())));
        match vault::login(vault, &config.mount, &config.role, &jwt).await {
            Ok(login) => return Ok((login, now)),
            Err(e) if refetchable && !refetched && refused_as_expired(&e) => {
                log.info("Vault found the ID token expired; requesting a fresh one and logging in again");
                (jwt, refetched) = (id_token(config, http, log).await?, true);
            }
            Err(e) => return Err(login_hints::login_failed(e, config, &claims, now).into()),
        }
    }
}

/// Vault's 400 for a JWT whose `exp` has passed (as OpenBao and Vault word it).
fn refused_as_expired(error: &VaultError) -> bool {
    error.status() == Some(400) && error.messages().iter().any(|m| m.contains("token is expired"))
}

/// The JWT to present: the `jwt` input, or a fresh ID token from the runner.
async fn id_token<W: Write>(config: &Config, http: &reqwest::Client, log: &mut Log<W>) -> Result<SecretString> {
    let jwt = match &config.jwt {
        JwtSource::Given(jwt) => jwt.clone(),
        JwtSource::Oidc { request_url, request_token } => {
            let notice = progress::oidc_notice(log.debug_enabled());
            oidc::fetch(http, request_url, request_token, &config.audience, config.job.forge, notice)
                .await
                .context("requesting the job's OIDC ID token")?
        }
        JwtSource::Fake => {
            anyhow::bail!("a fake token cannot log in; drop `dry-run` or sign it (see `vault-login fake-token`)")
        }
        JwtSource::ExistingToken(_) => anyhow::bail!("an existing VAULT_TOKEN is used as it is, without a login"),
    };
    match (&config.jwt, mask_token(log, jwt.expose_secret())) {
        (JwtSource::Given(_), Err(e)) => Err(e.context("input `jwt`")),
        (_, masked) => masked.map(|()| jwt),
    }
}

/// Tokens are single-line and long; a token that cannot be masked is not one to use.
pub(crate) fn mask_token<W: Write>(log: &mut Log<W>, token: &str) -> Result<()> {
    match log.mask(token) {
        outcome if outcome.is_emitted() => Ok(()),
        _ => anyhow::bail!("refusing a token that cannot be masked (blank, multi-line or under 3 characters)"),
    }
}

/// Saved at once, so that even a step killed halfway leaves the post step what it needs to revoke.
fn save_state(config: &Config, login: &Login) -> Result<()> {
    let addr = config.addr.as_str();
    let state = if config.revoke {
        let connection = State::connection(addr, config.namespace.as_deref(), &config.tls, &config.proxies);
        State { vault_token: Some(login.token.clone()), vault_accessor: Some(login.accessor.clone()), ..connection }
    } else {
        State { vault_addr: Some(addr.to_owned()), vault_namespace: config.namespace.clone(), ..State::default() }
    };
    state.write(&config.files)?;
    Ok(())
}

async fn export<W: Write>(
    config: &Config,
    vault: &Vault,
    login: &Login,
    log: &mut Log<W>,
    now: OffsetDateTime,
) -> Result<()> {
    let fetched = if config.secrets.is_empty() {
        Fetched::default()
    } else {
        fetch::fetch(vault, &login.token, &config.secrets, config.naming, config.ignore_not_found, &login.policies)
            .await?
    };
    let mut exports = Exports::build(config, login, &fetched, now);
    if let Some(pem) = &config.tls.ca_pem {
        let path = write_ca_file(config, pem).context("writing the CA file for VAULT_CACERT (RUNNER_TEMP)")?;
        exports.add_ca_file(config, &path);
    }
    exports.mask(log, &[login.token.expose_secret()])?;
    for warning in exports::warnings(config, login, &fetched) {
        log.warning(&warning);
    }
    exports.write(&config.files).context("writing the exports (GITHUB_ENV / GITHUB_OUTPUT)")?;
    // The summary only informs: once the exports are written, failing here would revoke a token that
    // later steps were just handed.
    if let Err(e) = config.files.write_summary(&summary::render(config, login, &fetched, now)) {
        log.warning(&format!("could not write the step summary (GITHUB_STEP_SUMMARY): {e}"));
    }
    log.info(&exports.describe());
    // Like the summary: once later steps were handed the exports, this must not revoke the token.
    if let Err(e) = crate::install::install(config, log) {
        log.warning(&format!("{e:#}; later steps cannot call `vault-login exec`"));
    }
    Ok(())
}

/// The CA for later steps (`VAULT_CACERT`), in `RUNNER_TEMP`. The post step learns its path first, so
/// that it removes the file whatever happens after.
fn write_ca_file(config: &Config, pem: &str) -> Result<String> {
    let dir = config.runner_temp.clone();
    let path = tls::ca_file_path(&dir)?;
    let shown = path.display().to_string();
    State { vault_cacert_file: Some(path.clone()), ..State::default() }.write(&config.files)?;
    std::fs::create_dir_all(&dir)?;
    std::fs::write(&path, pem)?;
    Ok(shown)
}

/// Revokes at once, on its own small budget (the step's may be what just ran out).
pub(crate) async fn revoke_now(vault: &Vault, token: &SecretString) -> Result<(), VaultError> {
    vault::revoke_self(&vault.with_budget(CLEANUP_BUDGET, "the clean-up budget"), token).await
}

/// Tells the post step that the token is revoked already, so that it has nothing left to do.
fn tell_the_post_step_it_is_revoked<W: Write>(config: &Config, log: &mut Log<W>) {
    let revoked = State { vault_token_revoked: true, ..State::default() };
    if let Err(e) = revoked.write(&config.files) {
        log.debug(&format!("could not tell the post step that the token is revoked: {e}"));
    }
}
