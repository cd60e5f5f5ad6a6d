//! Log lines for what happens while the step waits: retries and checks of a sealed Vault.
//!
//! One plain line per event, so a person watching the log sees that the step is alive and why; the full
//! error goes to `::debug::`. The Vault client reports from concurrent requests, so these write whole
//! lines to stdout through a [`Log`] of their own instead of borrowing the step's.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use url::Url;

use crate::oidc::OidcError;
use crate::runner::Log;
use crate::vault::{Notice, Progress};

/// The Vault client's notice for the Vault at `addr`.
pub fn notice(addr: &Url, debug: bool) -> Notice {
    let addr = addr.as_str().trim_end_matches('/').to_owned();
    let active = Mutex::new(None::<String>);
    Arc::new(move |progress| {
        let mut log = Log::new(std::io::stdout(), debug);
        match progress {
            Progress::Retry { error, wait, left, budget } if wait >= left => {
                log.info(&format!("Vault at {addr}: {}; {budget} runs out before another try", error.brief()));
                log.debug(&format!("last error: {error}"));
            }
            Progress::Retry { error, wait, left, budget } => {
                log.info(&format!(
                    "Vault at {addr}: {}; retrying in {} ({} left of {budget})",
                    error.brief(),
                    tenths(wait),
                    seconds(left)
                ));
                log.debug(&format!("retrying after: {error}"));
            }
            Progress::Sealed { status: Some(status), next_check, left } => log.info(&format!(
                "Vault at {addr} is sealed{}: waiting for someone to unseal it; next check in {}, {} left of \
                 `wait-for-unseal`",
                status.describe(),
                seconds(next_check),
                seconds(left)
            )),
            Progress::Sealed { status: None, next_check, left } => log.info(&format!(
                "Vault at {addr} does not say whether it is sealed (no answer from sys/seal-status); next check \
                 in {}, {} left of `wait-for-unseal`",
                seconds(next_check),
                seconds(left)
            )),
            Progress::Unsealed { waited } => {
                log.info(&format!("Vault at {addr} was unsealed after {}; going on", seconds(waited)));
            }
            Progress::Redirected { to } => {
                // Concurrent reads are redirected alike: one line per new active node, not per request.
                let node = format!("{}://{}", to.scheme(), to.authority());
                let mut last = active.lock().unwrap_or_else(PoisonError::into_inner);
                if last.as_deref() != Some(node.as_str()) {
                    log.info(&format!("Vault at {addr} redirected to its active node {node}"));
                    *last = Some(node);
                }
            }
        }
    })
}

/// The ID-token request's retry notice.
pub fn oidc_notice(debug: bool) -> impl Fn(&OidcError, Duration) {
    move |error, wait| {
        let mut log = Log::new(std::io::stdout(), debug);
        log.info(&format!("The ID-token request failed; retrying in {}", tenths(wait)));
        log.debug(&format!("ID-token request: {error}"));
    }
}

/// Whole seconds, as humans read a countdown.
fn seconds(duration: Duration) -> String {
    humantime::format_duration(Duration::from_secs(duration.as_secs())).to_string()
}

/// Backoff delays are short: keep a tenth of a second.
fn tenths(duration: Duration) -> String {
    format!("{:.1}s", duration.as_secs_f64())
}
