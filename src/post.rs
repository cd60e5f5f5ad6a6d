//! The post step: revoke the token, and with it every lease it created; remove the CA file written for
//! `VAULT_CACERT`. Never fails the job, and never prints the token.
//!
//! It reads only `STATE_*`: inputs can be wrong in a post step (a GitHub bug with nested actions), and the
//! main step saved exactly what is needed as soon as it logged in, TLS settings included.

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use url::Url;

use crate::runner::Log;
use crate::tls::{self, TlsSettings};
use crate::vault::{self, Vault, VaultError};

/// Revocation is retried this long, then given up with a warning: the token's TTL still bounds it.
const POST_BUDGET: Duration = Duration::from_secs(15);
/// The state entry naming the CA file the main step wrote in `RUNNER_TEMP`.
pub const CA_FILE_STATE: &str = "vault_cacert_file";

/// What the main step left for the post step. No `Debug`: it holds the token.
pub struct PostState {
    pub addr: Option<String>,
    pub namespace: Option<String>,
    pub token: Option<SecretString>,
    pub ca_pem: Option<String>,
    pub client_cert: Option<String>,
    pub client_key: Option<SecretString>,
    pub skip_verify: bool,
    pub ca_file: Option<PathBuf>,
    /// Not state: where this machine keeps its CA bundle (`SSL_CERT_FILE` or the distribution's).
    pub system_bundle: Option<PathBuf>,
}

/// The state entries that let the post step reach Vault the way the main step did.
pub fn tls_state(tls: &TlsSettings) -> Vec<(&'static str, String)> {
    let mut entries = Vec::new();
    if let Some(pem) = &tls.ca_pem {
        entries.push(("vault_ca_pem", pem.clone()));
    }
    if let Some(client) = &tls.client {
        entries.push(("vault_client_cert", client.cert_pem.clone()));
        entries.push(("vault_client_key", client.key_pem.expose_secret().to_owned()));
    }
    if tls.skip_verify {
        entries.push(("vault_tls_skip_verify", "true".to_owned()));
    }
    entries
}

impl PostState {
    /// Reads `STATE_*` (the runner keeps the state names' case), and where the system keeps its CA bundle.
    pub fn from_env(env: &[(String, String)]) -> Self {
        let var = |name: &str| env.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
        let get = |name: &str| {
            env.iter().find(|(k, v)| k == &format!("STATE_{name}") && !v.is_empty()).map(|(_, v)| v.clone())
        };
        Self {
            addr: get("vault_addr"),
            namespace: get("vault_namespace"),
            token: get("vault_token").map(SecretString::from),
            ca_pem: get("vault_ca_pem"),
            client_cert: get("vault_client_cert"),
            client_key: get("vault_client_key").map(SecretString::from),
            skip_verify: get("vault_tls_skip_verify").is_some_and(|v| v == "true"),
            ca_file: get(CA_FILE_STATE).map(PathBuf::from),
            system_bundle: tls::system_bundle(var("SSL_CERT_FILE"), var("SSL_CERT_DIR")),
        }
    }

    fn tls(&self) -> Result<TlsSettings, tls::TlsInputError> {
        let key = self.client_key.as_ref().map(|k| k.expose_secret());
        TlsSettings::from_inputs(self.ca_pem.as_deref(), self.client_cert.as_deref(), key, self.skip_verify)
            .map(|settings| settings.with_system_bundle(self.system_bundle.clone()))
    }
}

/// Revokes the saved token and removes the CA file. Every outcome is reported; none fails the job.
pub async fn run<W: Write>(state: PostState, log: &mut Log<W>) {
    revoke(&state, log).await;
    if let Some(path) = &state.ca_file {
        match tls::remove_ca_file(path) {
            Ok(_) => log.debug(&format!("removed the CA file {}", path.display())),
            Err(e) => log.warning(&format!("vault-login: could not remove the CA file {} ({e})", path.display())),
        }
    }
}

async fn revoke<W: Write>(state: &PostState, log: &mut Log<W>) {
    let (Some(addr), Some(token)) = (&state.addr, &state.token) else {
        log.notice("vault-login: nothing to revoke (the main step did not log in, or `revoke` is false)");
        return;
    };
    let Ok(url) = Url::parse(addr) else {
        log.warning(&format!("vault-login: the saved Vault address `{addr}` is not a URL; cannot revoke"));
        return;
    };
    let http = state.tls().map_err(|e| e.to_string()).and_then(|tls| {
        Vault::http_client(POST_BUDGET, &tls).map_err(|e| format!("cannot set up an HTTP client ({e})"))
    });
    let http = match http {
        Ok(http) => http,
        Err(e) => {
            log.warning(&format!("vault-login: {e}; the token was not revoked and stays valid until its TTL runs out"));
            return;
        }
    };
    let notice = crate::progress::notice(&url, log.debug_enabled());
    let vault = Vault::new(http, url, state.namespace.clone(), POST_BUDGET, notice)
        .with_budget(POST_BUDGET, "the post step's budget");
    let addr = addr.trim_end_matches('/');
    match vault::revoke_self(&vault, token).await {
        Ok(()) => log.info(&format!("Revoked the Vault token at {addr}, and every lease it created.")),
        Err(e) if token_refused(&e) => log.notice(&format!(
            "vault-login: the Vault at {addr} no longer accepts this token (already revoked, expired, or saved \
             for another Vault), or its policies do not allow auth/token/revoke-self (the default policy does); \
             if it is still alive, it expires with its TTL"
        )),
        Err(e) => log.warning(&format!(
            "vault-login: could not revoke the Vault token ({e}); it stays valid until its TTL runs out"
        )),
    }
}

/// Vault answers 403 for a token that no longer exists (revoked or expired), but also for a live token whose
/// policies lack `auth/token/revoke-self` (a role with `token_no_default_policy`): the two look alike, so the
/// notice names both.
fn token_refused(error: &VaultError) -> bool {
    error.status() == Some(403)
        || error.messages().iter().any(|m| m.contains("bad token") || m.contains("invalid token"))
}
