//! The post step: revoke the token, and with it every lease it created; remove the CA file written for
//! `VAULT_CACERT`. Never fails the job, and never prints the token. It reaches Vault only the way the main
//! step saved in [`State`], proxy and TLS settings included.

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use secrecy::ExposeSecret;
use url::Url;

use crate::config::RunnerVars;
use crate::runner::{FileCommands, Log};
use crate::state::State;
use crate::summary::code;
use crate::tls::{self, TlsSettings};
use crate::vault::{self, Vault, VaultError};

/// Revocation is retried this long, then given up with a warning: the token's TTL still bounds it.
const POST_BUDGET: Duration = Duration::from_secs(15);

/// The saved state, and where this machine keeps its CA bundle (`SSL_CERT_FILE` or the distribution's).
pub struct PostStep {
    state: State,
    system_bundle: Option<PathBuf>,
    /// `GITHUB_STEP_SUMMARY`, for the receipt's last line.
    summary: Option<PathBuf>,
}

impl PostStep {
    /// Reads `STATE_*`, and the CA bundle's location and the summary file from the runner's variables.
    pub fn from_env(env: &[(String, String)]) -> anyhow::Result<Self> {
        let runner = RunnerVars::from_env(env)?;
        let state = State::from_env(env).context("reading the main step's state (STATE_*)")?;
        Ok(Self { state, system_bundle: runner.system_bundle(), summary: runner.step_summary() })
    }

    fn tls(&self) -> Result<TlsSettings, tls::TlsInputError> {
        let state = &self.state;
        let key = state.vault_client_key.as_ref().map(|k| k.expose_secret());
        TlsSettings::from_inputs(
            state.vault_ca_pem.as_deref(),
            state.vault_client_cert.as_deref(),
            key,
            state.vault_tls_skip_verify,
        )
        .map(|settings| settings.with_system_bundle(self.system_bundle.clone()))
    }
}

/// Revokes the saved token and removes the CA file. Every outcome is reported; none fails the job.
pub async fn run<W: Write>(post: PostStep, log: &mut Log<W>) {
    if let Some(receipt) = revoke(&post, log).await {
        let files = FileCommands { summary: post.summary.clone(), ..FileCommands::default() };
        if let Err(e) = files.write_summary(&format!("### vault-login: job end\n\n{receipt}\n")) {
            log.debug(&format!("could not write the step summary: {e}"));
        }
    }
    if let Some(path) = &post.state.vault_cacert_file {
        match tls::remove_ca_file(path) {
            Ok(_) => log.debug(&format!("removed the CA file {}", path.display())),
            Err(e) => log.warning(&format!("vault-login: could not remove the CA file {} ({e})", path.display())),
        }
    }
}

/// Revokes, and says what became of the token for the step summary (`None`: there was none).
async fn revoke<W: Write>(post: &PostStep, log: &mut Log<W>) -> Option<String> {
    let state = &post.state;
    let token_name = format!("token {}", code(state.vault_accessor.as_deref().unwrap_or("(accessor unknown)")));
    if state.vault_token_revoked {
        log.info("Nothing to revoke: the main step failed and revoked the Vault token itself.");
        return Some(format!("The main step revoked {token_name} after its failure, with every lease."));
    }
    let (Some(addr), Some(token)) = (&state.vault_addr, &state.vault_token) else {
        log.notice("vault-login: nothing to revoke (the main step did not log in, or `revoke` is false)");
        return None;
    };
    let Ok(url) = Url::parse(addr) else {
        log.warning(&format!("vault-login: the saved Vault address `{addr}` is not a URL; cannot revoke"));
        return Some(format!("{token_name} was not revoked: it ends with its TTL."));
    };
    let http = post.tls().map_err(|e| e.to_string()).and_then(|tls| {
        Vault::http_client(POST_BUDGET, &tls, &state.proxies())
            .map_err(|e| format!("cannot set up an HTTP client ({e})"))
    });
    let http = match http {
        Ok(http) => http,
        Err(e) => {
            log.warning(&format!("vault-login: {e}; the token was not revoked and stays valid until its TTL runs out"));
            return Some(format!("{token_name} was not revoked: it ends with its TTL."));
        }
    };
    let notice = crate::progress::notice(&url, log.debug_enabled());
    let vault = Vault::new(http, url, state.vault_namespace.clone(), POST_BUDGET, notice)
        .with_budget(POST_BUDGET, "the post step's budget");
    let addr = addr.trim_end_matches('/');
    match vault::revoke_self(&vault, token).await {
        Ok(()) => {
            log.info(&format!("Revoked the Vault token at {addr}, and every lease it created."));
            let at = crate::exports::rfc3339(time::OffsetDateTime::now_utc());
            Some(format!("Revoked {token_name} at {at}, with every lease it created."))
        }
        Err(e) if token_refused(&e) => {
            log.notice(&format!(
                "vault-login: the Vault at {addr} no longer accepts this token (already revoked, expired, or \
                 saved for another Vault), or its policies do not allow auth/token/revoke-self (the default \
                 policy does); if it is still alive, it expires with its TTL"
            ));
            Some(format!("Vault no longer accepts {token_name} (revoked or expired), or may not revoke it."))
        }
        Err(e) => {
            log.warning(&format!(
                "vault-login: could not revoke the Vault token ({e}); it stays valid until its TTL runs out"
            ));
            Some(format!("{token_name} could not be revoked: it ends with its TTL."))
        }
    }
}

/// Vault answers 403 for a token that no longer exists (revoked or expired), but also for a live token whose
/// policies lack `auth/token/revoke-self` (a role with `token_no_default_policy`): the two look alike, so the
/// notice names both.
fn token_refused(error: &VaultError) -> bool {
    error.status() == Some(403)
        || error.messages().iter().any(|m| m.contains("bad token") || m.contains("invalid token"))
}
