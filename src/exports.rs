//! What the step hands to later steps: env vars, outputs, and the masks that must precede them.

use std::collections::HashSet;
use std::io::{self, Write};
use std::time::Duration;

use secrecy::ExposeSecret;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::config::Config;
use crate::fetch::Fetched;
use crate::mask;
use crate::runner::{self, FileCommands, Log, MaskOutcome};
use crate::vault::Login;

/// One exported value and whether it must be masked.
struct Entry {
    name: String,
    value: String,
    secret: bool,
}

/// Everything the step will write, assembled before anything is written.
pub struct Exports {
    env: Vec<Entry>,
    outputs: Vec<Entry>,
    /// `user:password` pairs: never exported, but their base64 is masked (see [`Fetched::credentials`]).
    credentials: Vec<String>,
}

impl Exports {
    /// Assembles the env vars and outputs of a successful run.
    pub fn build(config: &Config, login: &Login, fetched: &Fetched, now: OffsetDateTime) -> Self {
        let token = login.token.expose_secret();
        let mut env = vec![plain("VAULT_ADDR", config.addr_text())];
        if config.export_token {
            env.push(secret("VAULT_TOKEN", token));
        }
        if let Some(namespace) = &config.namespace {
            env.push(plain("VAULT_NAMESPACE", namespace));
        }
        if config.bao_env {
            let mirrors: Vec<Entry> = env
                .iter()
                .map(|e| Entry { name: e.name.replacen("VAULT_", "BAO_", 1), value: e.value.clone(), secret: e.secret })
                .collect();
            env.extend(mirrors);
        }
        if config.tofu_skip_child_token {
            env.push(plain("TERRAFORM_VAULT_SKIP_CHILD_TOKEN", "true"));
        }
        let mut outputs = vec![
            plain("token-accessor", &login.accessor),
            plain("policies", &login.policies.join(",")),
            plain("expires-at", &expires_at(now, login.lease_duration)),
        ];
        for s in &fetched.secrets {
            let value = s.value.expose_secret();
            if config.export_env {
                env.push(secret(&s.name, value));
            }
            outputs.push(secret(&s.name, value));
        }
        let credentials = fetched.credentials.iter().map(|pair| pair.expose_secret().to_owned()).collect();
        Self { env, outputs, credentials }
    }

    /// Masks every secret value, in all its forms, before anything else could print it. Each distinct mask
    /// is emitted once (a value exported as env var and output is one secret); `already` were masked before.
    pub fn mask<W: Write>(&self, log: &mut Log<W>, already: &[&str]) -> io::Result<()> {
        let mut emitted: HashSet<String> = already.iter().map(|m| m.to_string()).collect();
        let mut warned = HashSet::new();
        for entry in self.env.iter().chain(&self.outputs).filter(|e| e.secret) {
            let plan = mask::mask_forms(&entry.value);
            let mut unreliable = plan.too_short;
            for (form, outcome) in emit(log, &plan.masks, &mut emitted)? {
                // Only the value's own lines matter here: an encoded form is escaped-only by nature.
                unreliable |= outcome != MaskOutcome::Masked && entry.value.contains(form);
            }
            if unreliable && warned.insert(entry.name.clone()) {
                log.warning(&format!(
                    "`{}` (or a line of it) is too short or too unusual to mask reliably; it may show in the log",
                    entry.name
                ));
            }
        }
        for pair in &self.credentials {
            emit(log, &mask::credential_forms(pair).masks, &mut emitted)?;
        }
        Ok(())
    }

    /// Every entry is rendered (and so validated) before the first byte is written.
    /// If the outputs cannot be appended, the env file is cut back to its length before, so that no
    /// later step sees half of the exports.
    pub fn write(&self, files: &FileCommands) -> anyhow::Result<()> {
        let env = render(&self.env)?;
        let outputs = render(&self.outputs)?;
        let env_before = files.env.as_ref().map(|path| (path, std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)));
        if let Some((path, _)) = env_before {
            runner::append(path, &env)?;
        }
        if let Some(path) = &files.output
            && let Err(error) = runner::append(path, &outputs)
        {
            if let Some((env_path, len)) = env_before {
                std::fs::OpenOptions::new().write(true).open(env_path).and_then(|f| f.set_len(len))?;
            }
            return Err(error.into());
        }
        Ok(())
    }

    /// `VAULT_CACERT` (and `BAO_CACERT` with `bao-env`): the CA file written for later steps, so that
    /// OpenTofu and the CLI verify Vault the way this step did.
    pub fn add_ca_file(&mut self, config: &Config, path: &str) {
        self.env.push(plain("VAULT_CACERT", path));
        if config.bao_env {
            self.env.push(plain("BAO_CACERT", path));
        }
    }

    /// The env vars, for `exec` to give its command instead of writing them to `GITHUB_ENV`.
    pub fn env(&self) -> impl Iterator<Item = (&str, &str)> {
        self.env.iter().map(|e| (e.name.as_str(), e.value.as_str()))
    }

    /// One line for the log: the names, never the values.
    pub fn describe(&self) -> String {
        let names = |entries: &[Entry]| entries.iter().map(|e| e.name.as_str()).collect::<Vec<_>>().join(", ");
        format!("Exported env: {}. Outputs: {}.", names(&self.env), names(&self.outputs))
    }
}

/// Emits each mask not `emitted` yet; returns what the runner was told about each.
fn emit<'m, W: Write>(
    log: &mut Log<W>,
    masks: &'m [String],
    emitted: &mut HashSet<String>,
) -> io::Result<Vec<(&'m str, MaskOutcome)>> {
    let mut outcomes = Vec::new();
    for form in masks.iter().filter(|form| emitted.insert(form.to_string())) {
        match log.mask(form) {
            MaskOutcome::WriteFailed => return Err(io::Error::other("writing ::add-mask:: to stdout failed")),
            outcome => outcomes.push((form.as_str(), outcome)),
        }
    }
    Ok(outcomes)
}

fn plain(name: &str, value: &str) -> Entry {
    Entry { name: name.to_owned(), value: value.to_owned(), secret: false }
}

fn secret(name: &str, value: &str) -> Entry {
    Entry { name: name.to_owned(), value: value.to_owned(), secret: true }
}

fn render(entries: &[Entry]) -> Result<String, runner::FileCommandError> {
    let pairs: Vec<(&str, &str)> = entries.iter().map(|e| (e.name.as_str(), e.value.as_str())).collect();
    runner::render_entries(&pairs)
}

/// RFC 3339 time at which the token stops working.
pub fn expires_at(now: OffsetDateTime, lease_seconds: u64) -> String {
    rfc3339(now.saturating_add(time::Duration::seconds(i64::try_from(lease_seconds).unwrap_or(i64::MAX))))
}

/// A time as outputs and receipts show it: RFC 3339, whole seconds.
pub fn rfc3339(at: OffsetDateTime) -> String {
    at.replace_nanosecond(0).unwrap_or(at).format(&Rfc3339).unwrap_or_default()
}

/// Lease warnings: a lease that outlives the token dies early; one shorter than `min-lease-ttl` may expire
/// mid-job.
pub fn warnings(config: &Config, login: &Login, fetched: &Fetched) -> Vec<String> {
    let mut warnings = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for secret in &fetched.secrets {
        let Some(lease) = &secret.lease else { continue };
        if !seen.insert(&secret.source.path) {
            continue;
        }
        let path = &secret.source.path;
        if lease.duration > login.lease_duration {
            warnings.push(format!(
                "the lease of `{path}` ({}) outlives the Vault token ({}): it is revoked with the token, earlier than \
                 its TTL says",
                human(lease.duration),
                human(login.lease_duration),
            ));
        }
        if let Some(min) = config.min_lease_ttl.filter(|min| Duration::from_secs(lease.duration) < *min) {
            warnings.push(format!(
                "the lease of `{path}` lasts {}, less than `min-lease-ttl` ({}): raise the database role's default_ttl",
                human(lease.duration),
                humantime::format_duration(min),
            ));
        }
    }
    for secret in fetched.secrets.iter().filter(|s| runner::has_long_line(s.value.expose_secret())) {
        warnings.push(format!(
            "`{}` has a line of 64 KiB or more: legacy Gitea act_runner (before v1.0.4) and Forgejo runner 12 stop \
             reading GITHUB_ENV at such a line; store it base64-encoded in Vault, or use the step output",
            secret.name
        ));
    }
    for skipped in &fetched.skipped {
        warnings.push(format!("skipped {skipped} (ignore-not-found: true)"));
    }
    warnings
}

/// A number of seconds as people read it: `15m`, `1h 30m`.
pub fn human(seconds: u64) -> String {
    humantime::format_duration(Duration::from_secs(seconds)).to_string()
}
