//! How one input's text becomes a value: names, mount and namespace paths, flags, durations. Each error
//! names its input and quotes at most an excerpt of what it got.

use std::time::Duration;

use super::{ConfigError, DEFAULT_MOUNT};
use crate::names::Naming;

/// Names end up in URLs and in every message: a name longer than any real one is refused without
/// being echoed.
pub(super) fn short(input: &'static str, value: &str) -> Result<(), ConfigError> {
    const MAX_NAME: usize = 256;
    if value.chars().count() > MAX_NAME {
        let problem = format!("is {} characters long; at most {MAX_NAME} are accepted", value.chars().count());
        return Err(ConfigError::Invalid { input, problem });
    }
    Ok(())
}

pub(super) fn mount(input: Option<&str>) -> Result<String, ConfigError> {
    vault_path("mount", input.unwrap_or(DEFAULT_MOUNT)).ok_or_else(|| ConfigError::Invalid {
        input: "mount",
        problem: "expected an auth mount path like `jwt` or `gitea/jwt` (letters, digits, `-`, `_`, `.`)".into(),
    })?
}

/// A mount or namespace: it goes into URLs and headers, so plain path segments only. `Some(Err)` when it
/// is too long, `None` when it is not a path.
pub(super) fn vault_path(input: &'static str, value: &str) -> Option<Result<String, ConfigError>> {
    if let Err(e) = short(input, value) {
        return Some(Err(e));
    }
    let value = value.trim_matches('/');
    let valid = !value.is_empty()
        && value.split('/').all(|s| !s.is_empty() && s != ".." && s != ".")
        && value.chars().all(|c| c.is_ascii_alphanumeric() || "-_./".contains(c));
    valid.then(|| Ok(value.to_owned()))
}

pub(super) fn naming(input: Option<&str>) -> Result<Naming, ConfigError> {
    input.map_or(Ok(Naming::Default), |v| {
        v.parse().map_err(|e: crate::names::NamingError| ConfigError::Message(e.to_string()))
    })
}

pub(super) fn namespace(value: &str) -> Result<String, ConfigError> {
    vault_path("namespace", value).ok_or_else(|| ConfigError::Invalid {
        input: "namespace",
        problem: "expected a namespace path like `team-a` or `org/team-a` (letters, digits, `-`, `_`, `.`)".into(),
    })?
}

/// Parses a boolean input the way YAML authors write them.
pub fn flag(input: &'static str, value: Option<&str>, default: bool) -> Result<bool, ConfigError> {
    match value.map(|v| v.trim().to_ascii_lowercase()).as_deref() {
        None => Ok(default),
        Some("true" | "yes" | "on" | "1") => Ok(true),
        Some("false" | "no" | "off" | "0") => Ok(false),
        Some(other) => {
            let problem = format!("expected true or false, got `{}`", crate::names::shown(other));
            Err(ConfigError::Invalid { input, problem })
        }
    }
}

/// A wait the step itself sits through (`timeout`, `wait-for-unseal`): at most a day, since a CI job
/// never runs longer, and `timeout` at least a second, so that a request can be made at all.
pub(super) fn bounded(input: &'static str, value: &str) -> Result<Duration, ConfigError> {
    const DAY: Duration = Duration::from_secs(24 * 3600);
    let parsed = duration(input, value)?;
    let too_short = input == "timeout" && parsed < Duration::from_secs(1);
    if parsed > DAY || too_short {
        let range = if input == "timeout" { "between 1s and 24h" } else { "at most 24h" };
        let problem = format!("must be {range}, got `{}`", crate::names::shown(value.trim()));
        return Err(ConfigError::Invalid { input, problem });
    }
    Ok(parsed)
}

/// Parses `90`, `90s`, `15m`, `1h 30m`: a bare number is seconds, as in Vault's TTL fields.
pub fn duration(input: &'static str, value: &str) -> Result<Duration, ConfigError> {
    let value = value.trim();
    value.parse::<u64>().map(Duration::from_secs).or_else(|_| humantime::parse_duration(value)).map_err(|_| {
        let problem = format!("expected a duration like 90s, 15m or 1h, got `{}`", crate::names::shown(value));
        ConfigError::Invalid { input, problem }
    })
}
