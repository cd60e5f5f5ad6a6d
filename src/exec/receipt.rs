//! What `exec` held, said when it ends, in the log and the step summary: the token (by accessor), its
//! policies and TTL, each lease (by the path it was read from), the renewals, and when all of it was
//! revoked. Never a value, never a lease id.

use time::OffsetDateTime;

use crate::exports::{human, rfc3339};
use crate::fetch::Fetched;
use crate::summary::{cell, code};
use crate::vault::Login;

pub struct Receipt {
    accessor: String,
    policies: Vec<String>,
    ttl: u64,
    issued: OffsetDateTime,
    renewals: usize,
    end: End,
    /// Path, duration, renewable.
    leases: Vec<(String, u64, bool)>,
}

/// What became of the token.
enum End {
    Revoked(OffsetDateTime),
    RevokeFailed,
    NotOurs,
}

impl Receipt {
    pub fn new(
        login: &Login,
        fetched: &Fetched,
        issued: OffsetDateTime,
        renewals: usize,
        owned: bool,
        revoked: Option<OffsetDateTime>,
    ) -> Self {
        let mut leases: Vec<(String, u64, bool)> = fetched
            .secrets
            .iter()
            .filter_map(|s| s.lease.as_ref().map(|l| (s.source.path.clone(), l.duration, l.renewable)))
            .collect();
        leases.dedup();
        let end = match (owned, revoked) {
            (false, _) => End::NotOurs,
            (true, Some(at)) => End::Revoked(at),
            (true, None) => End::RevokeFailed,
        };
        Self {
            accessor: login.accessor.clone(),
            policies: login.policies.clone(),
            ttl: login.lease_duration,
            issued,
            renewals,
            end,
            leases,
        }
    }

    /// For the log.
    pub fn lines(&self) -> Vec<String> {
        let mut lines = vec![format!(
            "Receipt: Vault token {} (policies: {}) issued {} with a TTL of {}, renewed {} time(s); {}",
            self.accessor,
            self.policies.join(", "),
            rfc3339(self.issued),
            human(self.ttl),
            self.renewals,
            self.end_text(),
        )];
        for (path, duration, renewable) in &self.leases {
            let renewable = if *renewable { "renewable" } else { "not renewable" };
            lines.push(format!("Receipt: lease of {path} ({}, {renewable}), ended with the token", human(*duration)));
        }
        lines
    }

    /// For GITHUB_STEP_SUMMARY.
    pub fn markdown(&self) -> String {
        let mut md =
            String::from("### vault-login exec\n\n| Credential | Issued with | Renewed | End |\n|---|---|---|---|\n");
        md.push_str(&format!(
            "| token {} ({}) | {} | {} | {} |\n",
            cell(&self.accessor),
            self.policies.iter().map(|p| cell(p)).collect::<Vec<_>>().join(", "),
            human(self.ttl),
            self.renewals,
            self.end_text()
        ));
        for (path, duration, renewable) in &self.leases {
            let renewable = if *renewable { "renewable" } else { "not renewable" };
            md.push_str(&format!(
                "| lease of {} | {}, {renewable} | | with the token |\n",
                cell(path),
                human(*duration)
            ));
        }
        md.push('\n');
        md
    }

    fn end_text(&self) -> String {
        match self.end {
            End::Revoked(at) => format!("revoked at {}, with every lease", rfc3339(at)),
            End::RevokeFailed => "not revoked (Vault could not be reached): it ends with its TTL".into(),
            End::NotOurs => {
                format!("left alive: it is the {} of the environment, not this command's", code("VAULT_TOKEN"))
            }
        }
    }
}
