//! A sealed or uninitialised Vault: what `sys/seal-status` says about it, and waiting for someone to
//! unseal it (`wait-for-unseal`).
//!
//! The lab's Vault is sealed after every restart until a person enters the unseal keys, so a sealed Vault
//! is an expected state with a human fix, not an error to retry blindly.

use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBuilder};
use serde::Deserialize;
use tokio::time::Instant;

use super::VaultError;
use super::client::{Progress, Vault};

/// `GET sys/seal-status`, the fields the step reports. It answers 200 even while sealed, without a token.
#[derive(Debug, Clone, Deserialize)]
pub struct SealStatus {
    #[serde(default = "yes")]
    pub initialized: bool,
    pub sealed: bool,
    /// Unseal keys needed.
    #[serde(default, rename = "t")]
    pub threshold: u32,
    /// Unseal keys entered so far.
    #[serde(default)]
    pub progress: u32,
}

fn yes() -> bool {
    true
}

impl SealStatus {
    /// ` (unseal keys entered: 1 of 3)`, or nothing when Vault did not say.
    pub fn describe(&self) -> String {
        if self.threshold == 0 {
            String::new()
        } else {
            format!(" (unseal keys entered: {} of {})", self.progress, self.threshold)
        }
    }
}

/// One look at `sys/seal-status`; `None` when it cannot be had (no answer, or not Vault's JSON).
async fn status(vault: &Vault) -> Option<SealStatus> {
    let answer = vault.probe("sys/seal-status").await.ok()??;
    serde_json::from_value(answer).ok()
}

/// The error for a Vault found sealed, with what `sys/seal-status` adds (or not initialised at all).
pub async fn describe(vault: &Vault) -> VaultError {
    let addr = vault.addr().to_string();
    match status(vault).await {
        Some(status) if !status.initialized => VaultError::Uninitialized { addr },
        Some(status) => VaultError::Sealed { addr, detail: status.describe() },
        None => VaultError::Sealed { addr, detail: String::new() },
    }
}

/// Polls `sys/seal-status` with backoff until Vault is unsealed (`Ok`) or `until` passes (the sealed
/// error). Every check that finds it still sealed is reported through the vault's notice.
pub async fn wait_for_unseal(vault: &Vault, until: Instant) -> Result<(), VaultError> {
    let started = Instant::now();
    let mut delays = ExponentialBuilder::default()
        .with_min_delay(Duration::from_secs(1))
        .with_max_delay(Duration::from_secs(10))
        .with_jitter()
        .without_max_times()
        .build();
    loop {
        let status = status(vault).await;
        if status.as_ref().is_some_and(|s| s.initialized && !s.sealed) {
            let waited = started.elapsed();
            if waited >= Duration::from_secs(1) {
                vault.notify(Progress::Unsealed { waited });
            }
            return Ok(());
        }
        let left = until.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(gave_up(vault, status.as_ref(), started.elapsed()));
        }
        let next_check = delays.next().unwrap_or(Duration::from_secs(10)).min(left);
        vault.notify(Progress::Sealed { status: status.as_ref(), next_check, left });
        tokio::time::sleep(next_check).await;
    }
}

fn gave_up(vault: &Vault, status: Option<&SealStatus>, waited: Duration) -> VaultError {
    let addr = vault.addr().to_string();
    match status {
        Some(status) if !status.initialized => VaultError::Uninitialized { addr },
        _ => {
            let keys = status.map(SealStatus::describe).unwrap_or_default();
            let waited = humantime::format_duration(Duration::from_secs(waited.as_secs()));
            VaultError::Sealed { addr, detail: format!("{keys}, still after waiting {waited} (`wait-for-unseal`)") }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_status_reads_openbaos_answer() {
        let answer = r#"{"type":"shamir","initialized":true,"sealed":true,"t":3,"n":5,"progress":1,"nonce":""}"#;
        let status: SealStatus = serde_json::from_str(answer).unwrap();
        assert!(status.sealed && status.initialized);
        assert_eq!(status.describe(), " (unseal keys entered: 1 of 3)");
        let bare: SealStatus = serde_json::from_str(r#"{"sealed":false}"#).unwrap();
        assert_eq!(bare.describe(), "");
    }
}
