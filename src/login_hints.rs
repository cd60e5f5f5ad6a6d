//! Turning a refused login into an explanation: what Vault said, what the token claimed, what to change.
//!
//! Vault's JWT errors are terse and name neither the role field nor the input behind them. Each known
//! message (docs/runner-facts.md §6, checked against OpenBao 2.7) maps to one line that
//! says what to change and where: a workflow input, a role field, or the auth method's config.

use time::OffsetDateTime;

use crate::claims::{self, Claims};
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

/// Wraps a login failure with the token's claims, a one-line fix when the cause is known, and where to
/// look further when the role's configuration is the likely cause.
pub fn login_failed(vault: VaultError, config: &Config, claims: &Claims, now: OffsetDateTime) -> LoginError {
    let addr = config.addr_text().to_owned();
    let mut hint =
        hint(&vault, config, claims, now.unix_timestamp()).map(|h| format!("\n  fix: {h}")).unwrap_or_default();
    if matches!(vault, VaultError::Api { .. }) {
        hint.push_str(&format!("\n  more: {}", diagnose_command(&addr, config, claims)));
    }
    LoginError {
        addr,
        role: config.role.clone(),
        mount: config.mount.clone(),
        claims: claims.summary(now.unix_timestamp()),
        hint,
        vault,
    }
}

/// The `vault-login diagnose` command that replays this login against the role, with a fake token of the
/// same forge carrying this token's repository, ids and ref.
fn diagnose_command(addr: &str, config: &Config, claims: &Claims) -> String {
    let mut command = format!("vault-login diagnose --url {addr} --mount {} --role {}", config.mount, config.role);
    let mut flag = |name: &str, value: &str| command.push_str(&format!(" --{name} {}", shell_word(value)));
    // The value `--forge` parses, from the same definition clap uses.
    if let Some(value) = config.job.forge.and_then(|forge| clap::ValueEnum::to_possible_value(&forge)) {
        flag("forge", value.get_name());
    }
    if let Some(server) = &config.job.server_url {
        flag("server-url", server);
    }
    let from_claims = [
        ("repository", "repository"),
        ("repository-id", "repository_id"),
        ("owner-id", "repository_owner_id"),
        ("ref", "ref"),
        ("event", "event_name"),
    ];
    for (name, claim) in from_claims {
        // `push` is the fake token's default: only other events need saying.
        let said = |v: &String| !v.is_empty() && (name != "event" || v != "push");
        if let Some(value) = claims.text(claim).filter(said) {
            flag(name, &value);
        }
    }
    format!("`{command}` with an admin VAULT_TOKEN compares the role with this job's claims, field by field")
}

/// `value` as one shell word that a copy-paste cannot turn into a command: claims come from the token, and a
/// branch may be named `$(…)`.
fn shell_word(value: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "/._-:@+=,".contains(c);
    if value.chars().all(plain) { value.to_owned() } else { format!("'{}'", value.replace('\'', r"'\''")) }
}

/// The refusals we can explain, each recognised by a fragment of Vault's message.
#[derive(Clone, Copy)]
enum Cause {
    RoleNotFound,
    OidcRoleType,
    NotConfigured,
    KeysUnavailable,
    Denied,
    NoRoute,
    Audience,
    NoBoundAudiences,
    Expired,
    NotYetValid,
    IssuedInFuture,
    Issuer,
    Subject,
    Algorithm,
    Signature,
    UserClaimMissing,
    UserClaimNotString,
    BoundClaimMissing,
    BoundClaimMismatch,
}

/// Most specific fragments first: a signature message may also name the algorithm.
const KNOWN: &[(&str, Cause)] = &[
    ("could not be found", Cause::RoleNotFound),
    ("oidc role_type", Cause::OidcRoleType),
    ("could not load configuration", Cause::NotConfigured),
    ("error configuring token validator", Cause::KeysUnavailable),
    ("permission denied", Cause::Denied),
    ("no handler for route", Cause::NoRoute),
    ("invalid audience", Cause::Audience),
    ("does not match any bound audience", Cause::Audience),
    ("no audiences bound", Cause::NoBoundAudiences),
    ("token is expired", Cause::Expired),
    ("not yet valid", Cause::NotYetValid),
    ("issued in the future", Cause::IssuedInFuture),
    ("invalid issuer", Cause::Issuer),
    ("invalid subject", Cause::Subject),
    ("unexpected algorithm", Cause::Algorithm),
    ("signature", Cause::Signature),
    ("not found in token", Cause::UserClaimMissing),
    ("could not be converted to string", Cause::UserClaimNotString),
    ("is missing", Cause::BoundClaimMissing),
    ("does not match any associated bound claim", Cause::BoundClaimMismatch),
];

/// The one-line fix for a known JWT-auth refusal, or `None` when Vault's words are not ones we know.
pub fn hint(error: &VaultError, config: &Config, claims: &Claims, now: i64) -> Option<String> {
    if matches!(error, VaultError::Sealed { .. }) {
        return Some("unseal Vault (`bao operator unseal`), then re-run the job".into());
    }
    let message = error.messages().join("; ");
    let cause = KNOWN.iter().find(|(needle, _)| message.contains(needle)).map(|(_, cause)| *cause)?;
    Some(fix(cause, &Context { config, claims, now, quoted: message.split('"').nth(1).unwrap_or("the claim") }))
}

/// What the fixes quote: the step's settings, the token's claims, and the name Vault's message quoted.
struct Context<'a> {
    config: &'a Config,
    claims: &'a Claims,
    now: i64,
    quoted: &'a str,
}

impl Context<'_> {
    fn claim(&self, name: &str) -> String {
        self.claims.text_or_absent(name)
    }

    /// How far `claim` (a time) is from now, as `in 5m` or `5m ago`.
    fn when(&self, claim: &str) -> String {
        self.claims.time(claim).map_or_else(|| claims::ABSENT.into(), |t| claims::relative(t.saturating_sub(self.now)))
    }
}

fn fix(cause: Cause, c: &Context) -> String {
    let (role, mount) = (&c.config.role, &c.config.mount);
    let aud = c.claims.text("aud").unwrap_or_else(|| c.config.audience.clone());
    let name = c.quoted;
    match cause {
        Cause::RoleNotFound => format!(
            "auth/{mount} has no role `{role}`: create it (`bao write auth/{mount}/role/{role} @role.json`) or set \
             the `role` or `app` input to an existing role (Vault lower-cases role names)"
        ),
        Cause::OidcRoleType => format!("role `{role}` is an OIDC (browser) role: set `\"role_type\": \"jwt\"` on it"),
        Cause::NotConfigured => format!(
            "auth/{mount} is not configured: write auth/{mount}/config with the forge's oidc_discovery_url (or \
             jwks_url / jwt_validation_pubkeys) and bound_issuer"
        ),
        Cause::KeysUnavailable => format!(
            "Vault cannot load the keys named in auth/{mount}/config: make its oidc_discovery_url or jwks_url \
             reachable from Vault"
        ),
        Cause::Denied => format!(
            "Vault refused before looking at the token: either nothing is mounted at auth/{mount} (set the `mount` \
             input to the JWT auth path shown by `bao auth list`) or role `{role}`'s token_bound_cidrs leave out \
             the runner's address"
        ),
        Cause::NoRoute => format!(
            "nothing is mounted at auth/{mount}: set the `mount` input to the JWT auth path shown by `bao auth list`"
        ),
        Cause::Audience => format!(
            "the token's aud `{aud}` is not in role `{role}`'s bound_audiences: set the `audience` input to one of \
             them, or add `{aud}` to bound_audiences"
        ),
        Cause::NoBoundAudiences => {
            format!(
                "role `{role}` has no bound_audiences, so any aud is refused: add `\"bound_audiences\": [\"{aud}\"]`"
            )
        }
        Cause::Expired if c.claims.time("exp").is_some_and(|exp| exp > c.now) => format!(
            "the token's exp is {} by this machine's clock, yet Vault finds it expired: Vault's clock is ahead; \
             sync it with NTP",
            c.when("exp")
        ),
        Cause::Expired => format!(
            "the token expired {} (exp): request it right before logging in (a `jwt` input may be stale) and check \
             the runner's and Vault's clocks",
            c.when("exp")
        ),
        Cause::NotYetValid => format!(
            "the token becomes valid only {} (nbf): the runner's or Vault's clock is off; sync both with NTP",
            c.when("nbf")
        ),
        Cause::IssuedInFuture => format!(
            "the token was issued {} (iat): the runner's or Vault's clock is off; sync both with NTP",
            c.when("iat")
        ),
        Cause::Issuer => format!(
            "the token's iss is `{}`: set bound_issuer in auth/{mount}/config to exactly that (no trailing slash)",
            c.claim("iss")
        ),
        Cause::Subject => format!(
            "role `{role}`'s bound_subject must equal the token's sub `{}` exactly: fix it, or drop it and bind on \
             bound_claims (repository, ref)",
            c.claim("sub")
        ),
        Cause::Algorithm => format!(
            "the token's signing algorithm is not in auth/{mount}/config's jwt_supported_algs: add it (forges sign \
             RS256 unless told otherwise)"
        ),
        Cause::Signature => format!(
            "no key of auth/{mount}/config verifies the token's signature: point oidc_discovery_url (or jwks_url) \
             at the issuer `{}` that signed it; a token from another forge, or an altered one, fails here",
            c.claim("iss")
        ),
        Cause::UserClaimMissing => format!(
            "role `{role}`'s user_claim `{name}` is not in the token: set `\"user_claim\": \"sub\"` (every job \
             token has sub)"
        ),
        Cause::UserClaimNotString => {
            format!("role `{role}`'s user_claim `{name}` is not a string in the token: set `\"user_claim\": \"sub\"`")
        }
        Cause::BoundClaimMissing => format!(
            "the token has no `{name}` claim, which role `{role}`'s bound_claims require: drop `{name}` from \
             bound_claims, or bind on claims every job token carries (repository, ref)"
        ),
        Cause::BoundClaimMismatch => format!(
            "the token's `{name}` is `{}`, which role `{role}`'s bound_claims do not allow: add it to bound_claims \
             (patterns need \"bound_claims_type\": \"glob\") or run the job from an allowed {name}",
            c.claim(name)
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::JobContext;
    use crate::inputs::Inputs;
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

    fn config() -> Config {
        let env = vec![("INPUT_DRY-RUN".to_owned(), "true".to_owned()), ("INPUT_APP".to_owned(), "webapp".to_owned())];
        Config::from_env(&env, Inputs::default(), JobContext::default(), JobContext::default).unwrap()
    }

    fn claims() -> Claims {
        let payload = r#"{"iss":"https://forge/api/actions","aud":"vault","ref":"refs/tags/v1","exp":1000,"nbf":1200}"#;
        Claims::peek(&format!("e30.{}.sig", URL_SAFE_NO_PAD.encode(payload))).unwrap()
    }

    fn api(message: &str) -> VaultError {
        VaultError::Api {
            method: "POST".into(),
            path: "auth/jwt/login".into(),
            status: 400,
            errors: vec![message.into()],
        }
    }

    #[test]
    fn every_fix_is_one_line_and_quotes_what_to_change() {
        let cases = [
            (
                "error validating claims: claim \"ref\" does not match any associated bound claim values",
                "`ref` is `refs/tags/v1`",
            ),
            ("error validating claims: claim \"environment\" is missing", "no `environment` claim"),
            ("claim \"actor\" not found in token", "user_claim `actor`"),
            (
                "error validating token: invalid expiration time (exp) claim: token is expired",
                "expired 1m 40s ago (exp)",
            ),
            ("error validating token: invalid not before (nbf) claim: token not yet valid", "valid only in 1m 40s"),
            ("error validating token: invalid issuer (iss) claim", "`https://forge/api/actions`"),
            ("role \"gitea_cicd_webapp\" could not be found", "no role `gitea_cicd_webapp`"),
        ];
        for (message, expected) in cases {
            let fix = hint(&api(message), &config(), &claims(), 1000 + 100).unwrap();
            assert!(fix.contains(expected) && !fix.contains('\n'), "{message}: {fix}");
        }
        assert!(hint(&api("something new"), &config(), &claims(), 0).is_none());
    }

    #[test]
    fn the_error_shows_claims_fix_and_where_to_look_further() {
        let error =
            login_failed(api("role \"x\" could not be found"), &config(), &claims(), OffsetDateTime::UNIX_EPOCH);
        let text = error.to_string();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 4, "{text}");
        assert!(lines[1].starts_with("  token: iss=https://forge/api/actions"), "{text}");
        assert!(lines[2].starts_with("  fix: auth/jwt has no role"), "{text}");
        assert!(
            lines[3].starts_with("  more: `vault-login diagnose --url https://vault.example.org --mount jwt"),
            "{text}"
        );
    }

    #[test]
    fn the_diagnose_command_quotes_what_a_shell_would_run() {
        assert_eq!(shell_word("refs/heads/feature/x-1"), "refs/heads/feature/x-1");
        assert_eq!(shell_word("refs/heads/$(touch pwned)"), "'refs/heads/$(touch pwned)'");
        assert_eq!(shell_word("it's`id`"), r"'it'\''s`id`'");
    }
}
