//! Which forge runs the job, and the dialect of OIDC it speaks: issuer and key paths, claims, `sub` forms,
//! token lifetime and the opt-in a job needs. One file per forge under `forge/`; the facts and their sources
//! are in docs/forges.md ("Each forge's ID token").

mod forgejo;
mod gitea;
mod github;

use std::time::Duration;

use serde_json::{Map, Value};

/// The forge behind the runner.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Forge {
    Gitea,
    Forgejo,
    #[value(name = "github")]
    GitHub,
}

impl Forge {
    /// The runner's own word (docs/runner-facts.md §7): Forgejo's runner sets `FORGEJO_ACTIONS=true`, it and
    /// Gitea's set `GITEA_ACTIONS=true`, every runner sets `GITHUB_ACTIONS=true`. `None` outside a runner.
    pub fn detect(github_actions: bool, gitea_actions: bool, forgejo_actions: bool) -> Option<Self> {
        match (github_actions, gitea_actions, forgejo_actions) {
            (_, _, true) => Some(Forge::Forgejo),
            (_, true, false) => Some(Forge::Gitea),
            (true, false, false) => Some(Forge::GitHub),
            (false, false, false) => None,
        }
    }

    /// The forge assumed when nothing says which: GitHub for github.com, else Gitea, this project's first user.
    pub fn assumed(server_url: Option<&str>) -> Self {
        match server_url.map(|url| url.trim_end_matches('/')) {
            Some("https://github.com") => Forge::GitHub,
            _ => Forge::Gitea,
        }
    }

    pub fn name(self) -> &'static str {
        self.dialect().name
    }

    pub fn dialect(self) -> &'static Dialect {
        match self {
            Forge::Gitea => &gitea::DIALECT,
            Forge::Forgejo => &forgejo::DIALECT,
            Forge::GitHub => &github::DIALECT,
        }
    }
}

/// How a job of `forge` is allowed ID tokens, said as the fix; every forge's when the forge is not known.
pub fn id_token_opt_in(forge: Option<Forge>) -> String {
    match forge {
        Some(forge) => format!("on {} {}", forge.name(), forge.dialect().opt_in),
        None => [Forge::GitHub, Forge::Forgejo, Forge::Gitea]
            .map(|forge| format!("on {} {}", forge.name(), forge.dialect().opt_in))
            .join("; "),
    }
}

/// The map inside a `json!({...})` object literal.
fn object(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

/// A shape of the `sub` claim. Forges changed theirs over time, and some repositories keep the old one,
/// which is why roles should bind `repository`/`repository_id` and `ref` rather than `sub`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum SubForm {
    /// `repo:<owner>/<repo>:...`
    Names,
    /// Names with ids: `repo:<owner>@<owner_id>/<repo>@<repo_id>:...` (GitHub, Gitea) or with `-` (Forgejo).
    Ids,
    /// `repo:<owner_id>/<repo_id>:...`, from early revisions of Gitea's proposal.
    IdsOnly,
}

impl SubForm {
    pub fn name(self) -> &'static str {
        match self {
            SubForm::Names => "names",
            SubForm::Ids => "ids",
            SubForm::IdsOnly => "ids-only",
        }
    }
}

/// What one forge's ID tokens look like, and where Vault finds the keys that verify them.
pub struct Dialect {
    pub name: &'static str,
    /// The issuer, from the forge's root URL (its ROOT_URL, sub-path kept; no trailing slash).
    issuer: fn(&str) -> String,
    /// Where the issuer serves its keys, after the issuer.
    jwks_path: &'static str,
    /// `exp - iat` of the forge's tokens.
    pub lifetime: Duration,
    /// How far before `iat` the forge sets `nbf`.
    pub nbf_backdate: Duration,
    /// The `sub` forms the forge sends, the one it sends to a new repository first.
    pub sub_forms: &'static [SubForm],
    /// What a workflow does to be allowed ID tokens.
    opt_in: &'static str,
    /// The forge's claims besides the registered ones (`iss`, `aud`, `sub`, `iat`, `nbf`, `exp`), for a
    /// repository whose `sub` has the given form.
    claims: fn(&TokenJob, SubForm) -> Map<String, Value>,
    /// The forge's `sub` in `form`, which [`Dialect::sub_forms`] holds.
    sub: fn(&TokenJob, SubForm) -> String,
}

impl Dialect {
    pub fn issuer(&self, server: &str) -> String {
        (self.issuer)(server.trim_end_matches('/'))
    }

    /// The OIDC discovery document Vault's `oidc_discovery_url` reads: every forge serves it here.
    pub fn discovery_url(&self, issuer: &str) -> String {
        format!("{issuer}/.well-known/openid-configuration")
    }

    /// The key set, for Vault's `jwks_url` when Vault reaches the forge by another address than the issuer.
    pub fn jwks_url(&self, issuer: &str) -> String {
        format!("{issuer}{}", self.jwks_path)
    }

    /// Checks that the forge sends `form`, saying which forms it does send otherwise.
    pub fn sub_form(&self, form: Option<SubForm>) -> Result<SubForm, String> {
        let form = form.unwrap_or(self.sub_forms[0]);
        if self.sub_forms.contains(&form) {
            return Ok(form);
        }
        let sent: Vec<&str> = self.sub_forms.iter().map(|f| f.name()).collect();
        Err(format!("{} sends no `{}` sub; its forms are: {}", self.name, form.name(), sent.join(", ")))
    }

    pub fn claims(&self, job: &TokenJob, form: SubForm) -> Map<String, Value> {
        (self.claims)(job, form)
    }

    pub fn sub(&self, job: &TokenJob, form: SubForm) -> String {
        (self.sub)(job, form)
    }
}

/// The job as a token describes it, every field filled (from the runner, flags, git, or placeholders).
pub struct TokenJob<'a> {
    pub owner: &'a str,
    /// The repository's name, without its owner.
    pub name: &'a str,
    pub git_ref: &'a str,
    pub sha: &'a str,
    pub event: &'a str,
    /// The workflow's `name:` (GitHub and Gitea put it in `workflow`).
    pub workflow: &'a str,
    /// The workflow's file name (Forgejo puts it in `workflow`; all three in `workflow_ref`).
    pub workflow_file: &'a str,
    pub run_id: &'a str,
    pub actor: &'a str,
    /// A pull request's target and source branches (empty for other events, as the forges send them).
    pub base_ref: &'a str,
    pub head_ref: &'a str,
    pub owner_id: &'a str,
    pub repository_id: &'a str,
    pub actor_id: &'a str,
    /// A GitHub deployment environment, which GitHub puts in `sub` and `environment`.
    pub environment: Option<&'a str>,
    /// `iat`, which also makes the fake `jti` unique enough.
    pub issued_at: i64,
}

impl TokenJob<'_> {
    pub fn repository(&self) -> String {
        format!("{}/{}", self.owner, self.name)
    }

    /// What follows `repo:<who>:` in every forge's `sub`: the environment, the pull request, or the ref.
    fn sub_context(&self) -> String {
        match (self.environment, self.event) {
            (Some(environment), _) => format!("environment:{environment}"),
            (None, "pull_request") => "pull_request".to_owned(),
            (None, _) => format!("ref:{}", self.git_ref),
        }
    }

    fn ref_type(&self) -> &'static str {
        if self.git_ref.starts_with("refs/tags/") { "tag" } else { "branch" }
    }

    /// `<owner>/<repo>/<dir>/<file>@<ref>`, the `workflow_ref` form all three forges use.
    fn workflow_ref(&self, dir: &str) -> String {
        format!("{}/{}/{dir}/{}@{}", self.owner, self.name, self.workflow_file, self.git_ref)
    }
}

#[cfg(test)]
mod tests;
