//! Turning a refused login into an explanation: what Vault said, what the token claimed, what to change.

use time::OffsetDateTime;

use crate::claims::Claims;
use crate::config::Config;
use crate::vault::VaultError;

/// A refused login, with everything needed to fix it on one screen.
#[derive(Debug, thiserror::Error)]
#[error("login to {addr} as role `{role}` (auth mount `{mount}`) failed: {vault}\n  token: {claims}{hint}")]
pub struct LoginError {
    addr: String,
    role: String,
    mount: String,
    claims: String,
    hint: String,
    /// Not a `#[source]`: its text is already part of this message, and error chains would repeat it.
    vault: VaultError,
}

/// Wraps a login failure with the token's claims and a one-line fix when the cause is known.
pub fn login_failed(vault: VaultError, config: &Config, claims: &Claims, now: OffsetDateTime) -> LoginError {
    let hint = hint(&vault, config, claims, now.unix_timestamp()).map(|h| format!("\n  fix: {h}")).unwrap_or_default();
    LoginError {
        addr: config.addr.as_str().trim_end_matches('/').to_owned(),
        role: config.role.clone(),
        mount: config.mount.clone(),
        claims: claims.summary(now.unix_timestamp()),
        hint,
        vault,
    }
}

/// The fix for each known JWT-auth refusal (messages as Vault and OpenBao word them).
pub fn hint(error: &VaultError, config: &Config, claims: &Claims, now: i64) -> Option<String> {
    if matches!(error, VaultError::Sealed { .. }) {
        return Some("unseal Vault (`bao operator unseal`), then re-run the job".into());
    }
    let message = error.messages().join("; ");
    let role = &config.role;
    let mount = &config.mount;
    let claim = |name: &str| claims.text(name).unwrap_or_else(|| "(absent)".into());
    let known: &[(&str, String)] = &[
        ("could not be found", format!(
            "create the role (`bao write auth/{mount}/role/{role} @role.json`) or set the `role`/`app` input to an existing one; role names are lower-cased by Vault"
        )),
        ("invalid audience", format!(
            "the token's aud is `{}`: set the `audience` input to a value in the role's bound_audiences, or add `{}` to bound_audiences",
            claim("aud"), config.audience
        )),
        ("no audiences bound", format!("add `\"bound_audiences\": [\"{}\"]` to role `{role}`", config.audience)),
        ("does not match any associated bound claim", bound_claim_hint(&message, claims, role)),
        ("is missing", format!(
            "the token lacks a claim that role `{role}` binds in bound_claims; bind on claims every job token carries (repository, ref)"
        )),
        ("not found in token", format!("role `{role}`'s user_claim names a claim the token lacks; use `\"user_claim\": \"sub\"`")),
        ("token is expired", expiry_hint(claims, now)),
        ("not yet valid", "the runner's or Vault's clock is off: sync both with NTP (Vault allows 60 s of skew by default, `clock_skew_leeway`)".into()),
        ("issued in the future", "the runner's or Vault's clock is off: sync both with NTP".into()),
        ("invalid issuer", format!(
            "the token's iss is `{}`: set bound_issuer in auth/{mount}/config to exactly that (no trailing slash)", claim("iss")
        )),
        ("invalid subject", format!("role `{role}` binds bound_subject, which must equal the token's sub `{}` exactly; bind on bound_claims (repository, ref) instead", claim("sub"))),
        ("signature", format!(
            "Vault cannot verify the token with the keys of auth/{mount}/config: check oidc_discovery_url/jwks_url points at the issuer `{}`", claim("iss")
        )),
        ("oidc role_type", format!("set `\"role_type\": \"jwt\"` on role `{role}`")),
        ("could not load configuration", format!("configure the auth method: `bao write auth/{mount}/config oidc_discovery_url=... bound_issuer=...`")),
        ("no handler for route", format!("no auth method is mounted at `{mount}`: set the `mount` input to the JWT auth mount's path")),
        ("permission denied", format!(
            "Vault refused the login itself: check role `{role}`'s token_bound_cidrs against the runner's address"
        )),
    ];
    known.iter().find(|(needle, _)| message.contains(needle)).map(|(_, fix)| fix.clone())
}

fn bound_claim_hint(message: &str, claims: &Claims, role: &str) -> String {
    let name = message.split('"').nth(1).unwrap_or("the claim");
    let value = claims.text(name).unwrap_or_else(|| "(absent)".into());
    format!(
        "the token's `{name}` is `{value}`, which role `{role}`'s bound_claims do not allow: add it (globs need \
         \"bound_claims_type\": \"glob\") or run the job from an allowed {name}"
    )
}

fn expiry_hint(claims: &Claims, now: i64) -> String {
    match claims.time("exp") {
        Some(exp) => format!(
            "the token expired {} ago: request it right before logging in (a `jwt` input may be stale), and check the runner's clock",
            humantime::format_duration(std::time::Duration::from_secs(now.saturating_sub(exp).unsigned_abs()))
        ),
        None => "the token is expired: request a fresh one".into(),
    }
}
