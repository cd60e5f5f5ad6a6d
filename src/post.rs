//! The post step: revoke the token, and with it every lease it created. Never fails the job.
//!
//! It reads only `STATE_*`: inputs can be wrong in a post step (a GitHub bug with nested actions), and the
//! main step saved exactly what is needed as soon as it logged in.

use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use secrecy::SecretString;
use url::Url;

use crate::runner::Log;
use crate::vault::{self, Vault, VaultError};

/// Revocation is retried this long, then given up with a warning: the token's TTL still bounds it.
const POST_BUDGET: Duration = Duration::from_secs(20);

/// What the main step left for the post step.
pub struct PostState {
    pub addr: Option<String>,
    pub namespace: Option<String>,
    pub token: Option<SecretString>,
}

impl PostState {
    /// Reads `STATE_*` (the runner keeps the state names' case).
    pub fn from_env(env: &[(String, String)]) -> Self {
        let get = |name: &str| {
            env.iter().find(|(k, v)| k == &format!("STATE_{name}") && !v.is_empty()).map(|(_, v)| v.clone())
        };
        Self {
            addr: get("vault_addr"),
            namespace: get("vault_namespace"),
            token: get("vault_token").map(SecretString::from),
        }
    }
}

/// Revokes the saved token. Every outcome is reported; none fails the job.
pub async fn run<W: Write>(state: PostState, log: &mut Log<W>) {
    let (Some(addr), Some(token)) = (state.addr, state.token) else {
        log.notice("vault-login: nothing to revoke (the main step did not log in, or `revoke` is false)");
        return;
    };
    let Ok(url) = Url::parse(&addr) else {
        log.warning(&format!("vault-login: the saved Vault address `{addr}` is not a URL; cannot revoke"));
        return;
    };
    let vault = match Vault::http_client(POST_BUDGET) {
        Ok(http) => Vault::new(
            http,
            url,
            state.namespace,
            POST_BUDGET,
            Arc::new(|e, wait| println!("Retrying in {wait:.1?}: {e}")),
        ),
        Err(e) => {
            log.warning(&format!("vault-login: cannot set up an HTTP client ({e}); the token was not revoked"));
            return;
        }
    };
    match vault::revoke_self(&vault, &token).await {
        Ok(()) => log.info(&format!("Revoked the Vault token at {addr}, and every lease it created.")),
        Err(e) if is_gone(&e) => log.notice(&format!(
            "vault-login: the Vault token at {addr} was already revoked or expired; nothing left to revoke"
        )),
        Err(e) => log.warning(&format!(
            "vault-login: could not revoke the Vault token ({e}); it stays valid until its TTL runs out"
        )),
    }
}

/// Vault answers 403 for a token that no longer exists (revoked or expired).
fn is_gone(error: &VaultError) -> bool {
    error.status() == Some(403)
        || error.messages().iter().any(|m| m.contains("bad token") || m.contains("invalid token"))
}
