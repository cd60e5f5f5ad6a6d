//! The token's `sub`: which form the forge sends, and why a role should not bind it.
//!
//! Forges changed the form over time and keep the old one for some repositories (docs/forges.md, "Each
//! forge's ID token"), so a role bound on `sub` breaks when a repository is recreated, moved to another
//! forge, or its forge upgraded; `repository_id` (or `repository`) and `ref` say the same, stably.

use std::fmt::Write as _;

use anyhow::Result;

use super::role::Role;
use crate::claims::Claims;
use crate::config::{Config, JwtSource};
use crate::fake_token::FakeJob;

/// Lines for the report: the `sub` forms of the forge at hand, and a warning when the role binds `sub`.
pub fn notes(config: &Config, role: &Role, claims: &Claims, now: i64) -> Result<String> {
    let mut out = String::new();
    if !matches!(config.jwt, JwtSource::Given(_)) {
        let fake = FakeJob::new(&config.job)?;
        let _ = writeln!(out, "\n{} sends `sub` in these forms (--forge, --sub-format):", fake.forge.name());
        for (form, sub) in fake.subjects(now) {
            let this = if form == fake.sub_form { "  <- the token above" } else { "" };
            let _ = writeln!(out, "  {:<8}  {sub}{this}", form.name());
        }
    }
    if let Some(binding) = binds_sub(role) {
        let sub = claims.text_or_absent("sub");
        let _ = writeln!(
            out,
            "\nWarning: the role binds `sub` ({binding}; this token's is `{sub}`). Its form differs between forges \
             and changes over a repository's life; bind `repository_id` (or `repository`) and `ref` in bound_claims \
             instead (docs/vault-setup.md)."
        );
    }
    Ok(out)
}

/// How the role binds `sub`, if it does: `bound_subject`, or a `sub` entry of `bound_claims`.
fn binds_sub(role: &Role) -> Option<String> {
    if !role.bound_subject.is_empty() {
        return Some(format!("bound_subject `{}`", role.bound_subject));
    }
    let bound = role.bound_claims.as_ref()?.get("sub")?;
    Some(format!("bound_claims.sub `{}`", crate::claims::render(bound)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn either_way_of_binding_sub_is_seen() {
        let subject = Role { bound_subject: "repo:o/r:ref:refs/heads/main".into(), ..Role::default() };
        assert_eq!(binds_sub(&subject).unwrap(), "bound_subject `repo:o/r:ref:refs/heads/main`");
        let claims = json!({"sub": ["repo:o/r:*"], "ref": "refs/heads/*"}).as_object().cloned();
        let claim = Role { bound_claims: claims, ..Role::default() };
        assert_eq!(binds_sub(&claim).unwrap(), "bound_claims.sub `repo:o/r:*`");
        let none = json!({"repository_id": "42"}).as_object().cloned();
        assert!(binds_sub(&Role { bound_claims: none, ..Role::default() }).is_none());
    }
}
