//! The repository the job runs for: it names the app, and so the role, by default.
//!
//! Every forge's runner sets `GITHUB_REPOSITORY` to `owner/name`, but nektos/act run without
//! `--github-instance` sets it to the remote's URL (`https://gitea.example.org/owner/name.git`), which
//! would name the role `gitea_cicd_name.git`. The ID token's `repository` claim names the repository
//! the forge vouches for; when the token is at hand (the `jwt` input) and the environment's value is not
//! `owner/name`, the claim is used instead.

use secrecy::ExposeSecret;

use super::JwtSource;
use crate::claims::Claims;

/// Where the repository came from, or why there is none.
pub(super) enum Repository {
    /// `owner/name`, from `GITHUB_REPOSITORY` (or a flag) or from the token.
    Known(String),
    /// `GITHUB_REPOSITORY` holds something else, and no token claim could replace it.
    Unusable(String),
    /// Nothing names the repository.
    Absent,
}

/// `owner/name` from the environment, else from the `jwt` input's `repository` claim.
pub(super) fn resolve(from_env: Option<&str>, jwt: &JwtSource) -> Repository {
    if let Some(value) = from_env.filter(|v| is_owner_name(v)) {
        return Repository::Known(value.to_owned());
    }
    let claimed = match jwt {
        JwtSource::Given(jwt) => Claims::peek(jwt.expose_secret()).ok().and_then(|c| c.text("repository")),
        JwtSource::Oidc { .. } | JwtSource::Fake | JwtSource::ExistingToken(_) => None,
    };
    match (claimed.filter(|c| is_owner_name(c)), from_env) {
        (Some(claimed), _) => Repository::Known(claimed),
        (None, Some(value)) if !value.is_empty() => Repository::Unusable(value.to_owned()),
        (None, _) => Repository::Absent,
    }
}

/// `owner/name` as forges spell repositories: two non-empty parts of letters, digits, `-`, `_`, `.`.
fn is_owner_name(value: &str) -> bool {
    let part = |p: &str| !p.is_empty() && p.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
    value.split_once('/').is_some_and(|(owner, name)| part(owner) && part(name))
}
