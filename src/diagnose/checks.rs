//! The login checks Vault's JWT auth makes, replayed on a token's claims: one row per role or config
//! field, in the order Vault evaluates them (openbao `builtin/credential/jwt/path_login.go`, `claims.go`).

use serde_json::Value;

use super::role::{AuthConfig, Role};
use super::table::{Row, Verdict};
use crate::claims::{self, ABSENT, Claims, render};

/// Vault's defaults when a role's leeway is 0 (-1 turns a leeway off).
const DEFAULT_EXPIRATION_LEEWAY: i64 = 150;
const DEFAULT_NOT_BEFORE_LEEWAY: i64 = 150;
const DEFAULT_CLOCK_SKEW_LEEWAY: i64 = 60;

/// Every login check for `role` and `config` against `claims` at `now`. `iss_known` is false for a fake
/// token whose forge URL nobody gave: its `iss` is a placeholder, not worth a FAIL.
pub fn login(role: &Role, config: &AuthConfig, claims: &Claims, now: i64, iss_known: bool) -> Vec<Row> {
    let mut rows = vec![role_type(role)];
    if !role.token_bound_cidrs.is_empty() {
        let cidrs = role.token_bound_cidrs.join(", ");
        rows.push(Row::new("token_bound_cidrs", cidrs, "the runner's address must be inside", Verdict::Note));
    }
    rows.push(match config.key_source() {
        Some(source) => Row::new("signature keys", source, "checked by Vault only", Verdict::Note),
        None => Row::new("signature keys", "(none configured)", "-", Verdict::Fail),
    });
    rows.push(match iss_known {
        true => exact("bound_issuer (config)", &config.bound_issuer, claims, "iss"),
        false => {
            Row::new("bound_issuer (config)", or_any(&config.bound_issuer), "unknown: pass --server-url", Verdict::Note)
        }
    });
    rows.push(exact("bound_subject", &role.bound_subject, claims, "sub"));
    rows.push(audience(role, claims));
    rows.extend(lifetime(role, claims, now));
    rows.push(user_claim(role, claims));
    for (name, expected) in role.bound_claims.iter().flatten() {
        rows.push(bound_claim(name, expected, role.bound_claims_type == "glob", claims));
    }
    rows.push(ttls(role));
    rows
}

fn role_type(role: &Role) -> Row {
    let verdict = if role.role_type == "jwt" { Verdict::Ok } else { Verdict::Fail };
    Row::new("role_type", format!("{} (must be jwt)", role.role_type), "-", verdict)
}

/// A config or role field that, when set, must equal a claim exactly.
fn exact(check: &str, expected: &str, claims: &Claims, claim: &str) -> Row {
    let actual = claims.text_or_absent(claim);
    if expected.is_empty() {
        return Row::new(check, or_any(expected), actual, Verdict::Ok);
    }
    let verdict = if claims.text(claim).as_deref() == Some(expected) { Verdict::Ok } else { Verdict::Fail };
    Row::new(check, expected, actual, verdict)
}

/// `aud` must share a value with bound_audiences; with none bound, any `aud` is refused (OpenBao treats a
/// string `aud` as a one-element list).
fn audience(role: &Role, claims: &Claims) -> Row {
    let auds: Vec<String> = match claims.as_map().get("aud") {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).map(str::to_owned).collect(),
        _ => Vec::new(),
    };
    let actual = claims.text_or_absent("aud");
    if role.bound_audiences.is_empty() {
        let verdict = if auds.is_empty() { Verdict::Ok } else { Verdict::Fail };
        return Row::new("bound_audiences", "(none: a token with aud is refused)", actual, verdict);
    }
    let verdict = if auds.iter().any(|a| role.bound_audiences.contains(a)) { Verdict::Ok } else { Verdict::Fail };
    Row::new("bound_audiences", role.bound_audiences.join(", "), actual, verdict)
}

/// `exp` and `nbf` against now, with the role's leeways.
fn lifetime(role: &Role, claims: &Claims, now: i64) -> Vec<Row> {
    let leeway = |value: i64, default: i64| match value {
        0 => default,
        v if v < 0 => 0,
        v => v,
    };
    let skew = leeway(role.clock_skew_leeway, DEFAULT_CLOCK_SKEW_LEEWAY);
    let mut rows = Vec::new();
    let exp_slack = leeway(role.expiration_leeway, DEFAULT_EXPIRATION_LEEWAY) + skew;
    rows.push(match claims.time("exp") {
        Some(exp) => {
            let verdict = if now <= exp.saturating_add(exp_slack) { Verdict::Ok } else { Verdict::Fail };
            Row::new(
                "exp",
                format!("after now - {exp_slack}s (leeways)"),
                claims::expiry(exp.saturating_sub(now)),
                verdict,
            )
        }
        None => Row::new("exp", "required", ABSENT, Verdict::Fail),
    });
    if let Some(nbf) = claims.time("nbf") {
        let nbf_slack = leeway(role.not_before_leeway, DEFAULT_NOT_BEFORE_LEEWAY) + skew;
        let verdict = if nbf <= now.saturating_add(nbf_slack) { Verdict::Ok } else { Verdict::Fail };
        rows.push(Row::new(
            "nbf",
            format!("before now + {nbf_slack}s (leeways)"),
            claims::relative(nbf.saturating_sub(now)),
            verdict,
        ));
    }
    rows
}

fn user_claim(role: &Role, claims: &Claims) -> Row {
    let value = claim(claims, &role.user_claim, role.user_claim_json_pointer);
    let verdict = if matches!(value, Some(Value::String(_))) { Verdict::Ok } else { Verdict::Fail };
    let actual = value.map_or_else(|| ABSENT.to_owned(), |v| render(&v));
    Row::new("user_claim", format!("{} (a string claim)", role.user_claim), actual, verdict)
}

/// One `bound_claims` entry: any of the token's values matches any expected value.
fn bound_claim(name: &str, expected: &Value, glob: bool, claims: &Claims) -> Row {
    let check = format!("bound_claims.{name}");
    let wanted = format!("{} ({})", render(expected), if glob { "glob" } else { "exact" });
    let Some(actual) = claim(claims, name, true) else {
        return Row::new(check, wanted, ABSENT, Verdict::Fail);
    };
    let matched = list(expected).iter().any(|e| {
        list(&actual).iter().any(|a| match (e, a) {
            (Value::String(pattern), Value::String(value)) if glob => glob_match(pattern, value),
            (e, a) => !glob && e == a,
        })
    });
    Row::new(check, wanted, render(&actual), if matched { Verdict::Ok } else { Verdict::Fail })
}

fn ttls(role: &Role) -> Row {
    let ttl = |s: u64| {
        if s == 0 {
            "mount default".to_owned()
        } else {
            humantime::format_duration(std::time::Duration::from_secs(s)).to_string()
        }
    };
    let verdict = if role.token_ttl == 0 { Verdict::Note } else { Verdict::Ok };
    let detail = if role.token_ttl == 0 {
        "set token_ttl: the default is long (768h)"
    } else {
        "how long the job's token lives"
    };
    Row::new(
        "token_ttl / token_max_ttl",
        format!("{} / {}", ttl(role.token_ttl), ttl(role.token_max_ttl)),
        detail,
        verdict,
    )
}

/// A claim by name, or by JSON pointer when `pointer` allows and the name starts with `/`.
fn claim(claims: &Claims, name: &str, pointer: bool) -> Option<Value> {
    let map = claims.as_map();
    if pointer && name.starts_with('/') {
        return Value::Object(map.clone()).pointer(name).filter(|v| !v.is_null()).cloned();
    }
    map.get(name).filter(|v| !v.is_null()).cloned()
}

fn list(value: &Value) -> Vec<Value> {
    match value {
        Value::Array(items) => items.clone(),
        other => vec![other.clone()],
    }
}

fn or_any(expected: &str) -> String {
    if expected.is_empty() { "(not set: any value)".to_owned() } else { expected.to_owned() }
}

/// Vault's glob (ryanuber/go-glob): `*` matches any run of characters, `/` included; nothing else is special.
pub fn glob_match(pattern: &str, value: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    let [first, middle @ .., last] = parts.as_slice() else {
        return pattern == value;
    };
    let Some(mut rest) = value.strip_prefix(first) else { return false };
    for part in middle {
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn claims(value: Value) -> Claims {
        match value {
            Value::Object(map) => Claims::from_map(map),
            _ => unreachable!(),
        }
    }

    #[test]
    fn globs_match_like_vaults() {
        for (pattern, value, expected) in [
            ("refs/heads/*", "refs/heads/main", true),
            ("refs/heads/*", "refs/heads/feature/x", true),
            ("refs/heads/*", "refs/tags/v1", false),
            ("*", "", true),
            ("a*b*c", "abc", true),
            ("a*b*c", "a-b-b-c", true),
            ("a*a", "a", false),
            ("exact", "exact", true),
            ("exact", "exactly", false),
        ] {
            assert_eq!(glob_match(pattern, value), expected, "{pattern} vs {value}");
        }
    }

    #[test]
    fn a_mismatched_ref_and_a_missing_claim_fail() {
        let role: Role = serde_json::from_value(json!({
            "role_type": "jwt", "user_claim": "sub", "bound_audiences": ["vault"], "bound_claims_type": "glob",
            "bound_claims": {"ref": "refs/heads/*", "environment": "prod", "repository": ["a/b", "o/app"]},
            "token_ttl": 900, "token_max_ttl": 3600,
        }))
        .unwrap();
        let config = AuthConfig { bound_issuer: "https://f/api/actions".into(), ..AuthConfig::default() };
        let token = claims(json!({
            "iss": "https://f/api/actions", "aud": "vault", "sub": "repo:o/app:ref:refs/tags/v1",
            "repository": "o/app", "ref": "refs/tags/v1", "exp": 1300, "nbf": 1000,
        }));
        let rows = login(&role, &config, &token, 1000, true);
        let verdict = |check: &str| rows.iter().find(|r| r.check == check).map(|r| r.verdict);
        assert_eq!(verdict("bound_claims.ref"), Some(Verdict::Fail));
        assert_eq!(verdict("bound_claims.environment"), Some(Verdict::Fail));
        assert_eq!(verdict("bound_claims.repository"), Some(Verdict::Ok));
        for ok in ["role_type", "bound_issuer (config)", "bound_audiences", "exp", "nbf", "user_claim"] {
            assert_eq!(verdict(ok), Some(Verdict::Ok), "{ok}: {rows:?}");
        }
        let late = login(&role, &config, &token, 1300 + 150 + 60 + 1, true);
        assert_eq!(late.iter().find(|r| r.check == "exp").map(|r| r.verdict), Some(Verdict::Fail));
    }

    #[test]
    fn no_bound_audiences_refuses_any_aud_and_exact_claims_keep_types() {
        let role: Role = serde_json::from_value(json!({"role_type": "jwt", "bound_claims": {"run_id": 7}})).unwrap();
        let token = claims(json!({"aud": "vault", "run_id": "7", "exp": 10}));
        let rows = login(&role, &AuthConfig::default(), &token, 0, false);
        let row = |check: &str| rows.iter().find(|r| r.check == check).unwrap().clone();
        assert_eq!(row("bound_audiences").verdict, Verdict::Fail);
        assert_eq!(row("bound_claims.run_id").verdict, Verdict::Fail, "\"7\" is not 7 for Vault");
        assert_eq!(row("signature keys").verdict, Verdict::Fail);
    }
}
