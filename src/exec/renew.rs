//! Keeping the token and its leases alive while the command runs, and not a moment longer.
//!
//! Each credential is renewed once two thirds of its current lifetime have passed, which leaves the last
//! third to retry a renewal that failed. Vault caps every renewal at a maximum TTL (the role's
//! `token_max_ttl`, the secrets engine role's `max_ttl`): a renewal that grants less than the credential's
//! first TTL means the cap is near, and the log says so once, with the field to raise. Nothing here stops
//! the command: when a credential cannot be kept, the command finds out the way it would without `exec`.

use std::io::Write;
use std::time::Duration;

use secrecy::SecretString;
use tokio::time::Instant;

use crate::exports::human;
use crate::runner::Log;
use crate::vault::{self, Vault};

/// One renewal attempt may take this long; the credential's own lifetime bounds the retries.
const ATTEMPT_BUDGET: Duration = Duration::from_secs(20);
/// Retries of a failed renewal come at least this often while the credential lives.
const RETRY_EVERY: Duration = Duration::from_secs(10);

/// A lease to keep alive, as read: its id, its first duration, and the path it came from (for the log).
pub struct TrackedLease {
    pub id: String,
    pub path: String,
    pub duration: u64,
}

/// The token or one lease.
struct Credential {
    /// `None` for the token.
    lease_id: Option<String>,
    /// How the log names it.
    what: String,
    /// Where to raise the cap, for the warning.
    raise: &'static str,
    /// Its first TTL: a renewal granting less has reached the cap.
    period: u64,
    expires: Instant,
    next: Option<Instant>,
    capped: bool,
    failing: bool,
}

/// Renews what is due; asked by the supervisor when [`Renewer::next_due`] comes.
pub struct Renewer {
    vault: Vault,
    token: SecretString,
    credentials: Vec<Credential>,
    renewals: usize,
}

impl Renewer {
    /// `token_ttl` 0 (a root or periodic token without TTL) needs no renewal; nor does a lease of 0.
    pub fn new(vault: Vault, token: SecretString, token_ttl: Option<u64>, leases: Vec<TrackedLease>) -> Self {
        let now = Instant::now();
        let own = token_ttl
            .map(|ttl| Credential::new(None, "the Vault token".into(), "the role's `token_max_ttl`", ttl, now));
        let leases = leases.into_iter().map(|lease| {
            let what = format!("the lease of `{}`", lease.path);
            Credential::new(Some(lease.id), what, "the secrets engine role's `max_ttl`", lease.duration, now)
        });
        let credentials = own.into_iter().chain(leases).filter(|c| c.period > 0).collect();
        Self { vault, token, credentials, renewals: 0 }
    }

    /// When the next renewal is due, if any is.
    pub fn next_due(&self) -> Option<Instant> {
        self.credentials.iter().filter_map(|c| c.next).min()
    }

    /// How many renewals succeeded, for the receipt.
    pub fn renewals(&self) -> usize {
        self.renewals
    }

    /// Renews every credential that is due, and schedules its next renewal.
    pub async fn renew_due<W: Write>(&mut self, log: &mut Log<W>) {
        let now = Instant::now();
        for index in 0..self.credentials.len() {
            if self.credentials[index].next.is_some_and(|next| next <= now) {
                let granted = self.renew(index).await;
                self.renewals += usize::from(self.credentials[index].settle(granted, log));
            }
        }
    }

    async fn renew(&self, index: usize) -> Result<u64, vault::VaultError> {
        let vault = self.vault.with_budget(ATTEMPT_BUDGET, "a renewal's budget");
        match &self.credentials[index].lease_id {
            None => vault::renew_self(&vault, &self.token).await,
            Some(id) => vault::renew_lease(&vault, &self.token, id).await,
        }
    }
}

impl Credential {
    fn new(lease_id: Option<String>, what: String, raise: &'static str, period: u64, now: Instant) -> Self {
        let expires = now + Duration::from_secs(period);
        Self {
            lease_id,
            what,
            raise,
            period,
            expires,
            next: Some(renewal_point(now, period)),
            capped: false,
            failing: false,
        }
    }

    /// Records a renewal's outcome and when to renew next; true when it was renewed.
    fn settle<W: Write>(&mut self, granted: Result<u64, vault::VaultError>, log: &mut Log<W>) -> bool {
        let now = Instant::now();
        match granted {
            Ok(0) => {
                log.warning(&format!("vault-login exec: Vault no longer renews {}; it expires now", self.what));
                self.next = None;
                false
            }
            Ok(seconds) => {
                self.failing = false;
                self.expires = now + Duration::from_secs(seconds);
                self.next = Some(renewal_point(now, seconds));
                log.info(&format!("Renewed {}: it now expires in {}", self.what, human(seconds)));
                if seconds < self.period && !self.capped {
                    self.capped = true;
                    self.next = None;
                    log.warning(&format!(
                        "vault-login exec: {} has reached its maximum TTL and ends in {}; raise {} if the command \
                         needs longer",
                        self.what,
                        human(seconds),
                        self.raise
                    ));
                }
                true
            }
            Err(error) => {
                self.failed(&error, now, log);
                false
            }
        }
    }

    /// Retries while the credential lives, warning once per run of failures.
    fn failed<W: Write>(&mut self, error: &vault::VaultError, now: Instant, log: &mut Log<W>) {
        let left = self.expires.saturating_duration_since(now);
        if !self.failing {
            log.warning(&format!(
                "vault-login exec: could not renew {} ({}); retrying while it lives ({} left)",
                self.what,
                error.brief(),
                human(left.as_secs())
            ));
        }
        self.failing = true;
        self.next = (left > Duration::from_secs(1)).then(|| now + (left / 3).min(RETRY_EVERY));
    }
}

/// Two thirds into a lifetime of `seconds` from `now`.
fn renewal_point(now: Instant, seconds: u64) -> Instant {
    now + Duration::from_secs(seconds) * 2 / 3
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(period: u64) -> Credential {
        Credential::new(None, "the Vault token".into(), "the role's `token_max_ttl`", period, Instant::now())
    }

    fn refused() -> vault::VaultError {
        vault::VaultError::Api {
            method: "POST".into(),
            path: "auth/token/renew-self".into(),
            status: 500,
            errors: vec![],
        }
    }

    fn log() -> Log<Vec<u8>> {
        Log::new(Vec::new(), false)
    }

    fn text(log: Log<Vec<u8>>) -> String {
        String::from_utf8(log.into_inner()).expect("UTF-8")
    }

    #[test]
    fn a_renewal_is_logged_and_the_next_comes_two_thirds_into_the_new_lifetime() {
        let mut credential = token(30);
        let mut out = log();
        let before = Instant::now();
        assert!(credential.settle(Ok(30), &mut out));
        let next = credential.next.expect("another renewal");
        assert!(next >= before + Duration::from_secs(20) && next <= Instant::now() + Duration::from_secs(20));
        assert_eq!(text(out), "Renewed the Vault token: it now expires in 30s\n");
    }

    #[test]
    fn a_capped_renewal_is_said_once_with_the_field_to_raise_and_ends_the_renewals() {
        let mut credential = token(30);
        let mut out = log();
        assert!(credential.settle(Ok(12), &mut out));
        assert!(credential.next.is_none(), "nothing more to gain from renewing");
        let said = text(out);
        assert!(
            said.contains("has reached its maximum TTL and ends in 12s; raise the role's `token_max_ttl`"),
            "{said}"
        );
        let mut out = log();
        assert!(!credential.settle(Ok(0), &mut out));
        assert!(text(out).contains("Vault no longer renews the Vault token"));
    }

    #[test]
    fn failures_are_retried_while_the_credential_lives_and_warned_about_once() {
        let mut credential = token(30);
        let mut out = log();
        assert!(!credential.settle(Err(refused()), &mut out));
        assert!(!credential.settle(Err(refused()), &mut out));
        let said = text(out);
        assert_eq!(said.matches("could not renew the Vault token").count(), 1, "{said}");
        let next = credential.next.expect("a retry while it lives");
        assert!(next <= Instant::now() + RETRY_EVERY, "retried within {RETRY_EVERY:?}");
        credential.expires = Instant::now();
        credential.settle(Err(refused()), &mut log());
        assert!(credential.next.is_none(), "no retry once it has expired");
        let mut out = log();
        assert!(credential.settle(Ok(30), &mut out), "a later success counts again");
        assert!(!credential.failing);
    }
}
