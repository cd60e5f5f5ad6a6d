//! The step summary: what was read and exported, by name. Never a value.

use std::fmt::Write as _;
use std::time::Duration;

use time::OffsetDateTime;

use crate::config::Config;
use crate::exports::expires_at;
use crate::fetch::Fetched;
use crate::vault::Login;

/// Markdown for GITHUB_STEP_SUMMARY.
pub fn render(config: &Config, login: &Login, fetched: &Fetched, now: OffsetDateTime) -> String {
    let mut md = String::from("### vault-login\n\n");
    let _ = writeln!(
        md,
        "Logged in to `{}` as role `{}` with policies {}; the token expires at {} and is revoked at job end{}.\n",
        config.addr_text(),
        config.role,
        code_list(&login.policies),
        expires_at(now, login.lease_duration),
        if config.revoke { "" } else { " only if `revoke` is true (it is false)" },
    );
    if !fetched.secrets.is_empty() {
        md.push_str("| Name | Path | Key | Version | Lease expires |\n|---|---|---|---|---|\n");
        for s in &fetched.secrets {
            let version = s.version.map(|v| v.to_string()).unwrap_or_default();
            let lease = s.lease.as_ref().map(|l| expires_at(now, l.duration)).unwrap_or_default();
            let _ = writeln!(
                md,
                "| `{}` | `{}` | `{}` | {version} | {lease} |",
                s.name,
                cell(&s.source.path),
                cell(&s.source.key)
            );
        }
        md.push('\n');
    }
    for skipped in &fetched.skipped {
        let _ = writeln!(md, "- skipped {}", cell(skipped));
    }
    let _ = writeln!(md, "Token TTL: {}.", humantime::format_duration(Duration::from_secs(login.lease_duration)));
    md
}

fn code_list(items: &[String]) -> String {
    items.iter().map(|i| format!("`{}`", cell(i))).collect::<Vec<_>>().join(", ")
}

/// Keeps table cells and code spans intact whatever a path or key contains.
fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('`', "'").replace('\n', " ")
}
