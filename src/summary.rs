//! The step summary: what was read and exported, by name. Never a value.
//!
//! Paths, keys, policies, the address and the role come from Vault or from inputs, and GitHub renders the
//! summary as Markdown with HTML: a key named `x\r# pwned` or `[x](http://evil)` must not become a heading or
//! a link. So every such text goes in a code span, where Markdown renders no emphasis, link, autolink, HTML
//! or entity. What is left to neutralise is what ends a code span or a table cell: line breaks (every
//! control or invisible character is shown as its Rust escape, `\r`, `\u{202e}`), backticks (the fence
//! is longer than any run inside) and, in tables, `|`.

use std::fmt::Write as _;
use std::time::Duration;

use time::OffsetDateTime;

use crate::config::Config;
use crate::exports::expires_at;
use crate::fetch::{Fetched, Skipped};
use crate::vault::Login;

/// Markdown for GITHUB_STEP_SUMMARY.
pub fn render(config: &Config, login: &Login, fetched: &Fetched, now: OffsetDateTime) -> String {
    let mut md = String::from("### vault-login\n\n");
    let _ = writeln!(
        md,
        "Logged in to {} as role {} with policies {}; token {} expires at {} and is revoked at job end{}.\n",
        code(config.addr_text()),
        code(&config.role),
        login.policies.iter().map(|p| code(p)).collect::<Vec<_>>().join(", "),
        code(&login.accessor),
        expires_at(now, login.lease_duration),
        if config.revoke { "" } else { " only if `revoke` is true (it is false)" },
    );
    if !fetched.secrets.is_empty() {
        md.push_str("| Name | Path | Key | Version | Lease expires |\n|---|---|---|---|---|\n");
        for s in &fetched.secrets {
            let version = s.version.map(|v| v.to_string()).unwrap_or_default();
            let lease = s
                .lease
                .as_ref()
                .map(|l| format!("{}{}", expires_at(now, l.duration), if l.renewable { " (renewable)" } else { "" }));
            let lease = lease.unwrap_or_default();
            let _ = writeln!(
                md,
                "| {} | {} | {} | {version} | {lease} |",
                cell(&s.name),
                cell(&s.source.path),
                cell(&s.source.key)
            );
        }
        md.push('\n');
    }
    for skipped in &fetched.skipped {
        let _ = writeln!(md, "- skipped {}", skipped_line(skipped));
    }
    let _ = writeln!(md, "Token TTL: {}.", humantime::format_duration(Duration::from_secs(login.lease_duration)));
    md
}

fn skipped_line(skipped: &Skipped) -> String {
    match &skipped.key {
        Some(key) => format!("{}: no key {}", code(&skipped.path), code(key)),
        None => format!("{}: not found", code(&skipped.path)),
    }
}

/// A code span in a table cell: GFM splits rows at `|` before it parses code spans, and turns `\|` back
/// into `|` inside them.
pub(crate) fn cell(text: &str) -> String {
    code(text).replace('|', "\\|")
}

/// `text` as an inline code span that shows it exactly, invisible characters made visible.
pub(crate) fn code(text: &str) -> String {
    let shown = visible(text);
    let longest_run = shown.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest_run + 1);
    // A span that starts or ends with a backtick needs a space, which the renderer strips again.
    let pad = if shown.starts_with('`') || shown.ends_with('`') { " " } else { "" };
    format!("{fence}{pad}{shown}{pad}{fence}")
}

/// Rust's debug escaping of every control, format (bidi overrides, zero-width) and combining character,
/// and of `\` so that an escape cannot be forged; quotes are left alone, since nothing here quotes.
fn visible(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '"' | '\'' => c.to_string(),
            _ => c.escape_debug().to_string(),
        })
        .collect()
}

#[cfg(test)]
mod tests;
