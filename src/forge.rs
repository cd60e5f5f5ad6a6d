//! Which forge runs the job, as its runner's variables say (docs/runner-facts.md §7), and what a job there
//! must do to get an ID token: each forge has its own opt-in, so a missing or refused token has its own fix.

/// The forge behind the runner.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Forge {
    Gitea,
    Forgejo,
    GitHub,
    /// Not in a runner, or one that says nothing of itself.
    Unknown,
}

impl Forge {
    /// Forgejo's runner sets `FORGEJO_ACTIONS=true`; it and Gitea's set `GITEA_ACTIONS=true`; every runner
    /// sets `GITHUB_ACTIONS=true`.
    pub fn detect(github_actions: bool, gitea_actions: bool, forgejo_actions: bool) -> Self {
        match (github_actions, gitea_actions, forgejo_actions) {
            (_, _, true) => Forge::Forgejo,
            (_, true, false) => Forge::Gitea,
            (true, false, false) => Forge::GitHub,
            (false, false, false) => Forge::Unknown,
        }
    }

    /// How a job of this forge is allowed ID tokens, said as the fix.
    pub fn id_token_opt_in(self) -> &'static str {
        match self {
            Forge::Gitea => {
                "on Gitea add `permissions: id-token: write` to the workflow or job (the repository's and owner's \
                 maximum Actions permissions can cap it); only a Gitea built with Actions OIDC hands tokens out \
                 (go-gitea/gitea#39052, in no release yet: an administrator can tell). Without it, pass a token \
                 you obtained elsewhere in the `jwt` input"
            }
            Forge::Forgejo => {
                "on Forgejo (v15+) add `enable-openid-connect: true` to the workflow or job (refused to pull \
                 requests from forks)"
            }
            Forge::GitHub => {
                "on GitHub add `permissions: id-token: write` to the workflow or job (a job's own `permissions` \
                 replace the workflow's)"
            }
            Forge::Unknown => {
                "on GitHub add `permissions: id-token: write`; on Forgejo (v15+) add `enable-openid-connect: true` \
                 to the workflow or job; on Gitea, `permissions: id-token: write` where the build has Actions \
                 OIDC (none released yet). Or pass a token you obtained elsewhere in the `jwt` input"
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_runner_is_told_apart_by_its_own_variable() {
        assert_eq!(Forge::detect(true, true, true), Forge::Forgejo);
        assert_eq!(Forge::detect(true, true, false), Forge::Gitea);
        assert_eq!(Forge::detect(true, false, false), Forge::GitHub);
        assert_eq!(Forge::detect(false, false, false), Forge::Unknown);
        assert!(Forge::Gitea.id_token_opt_in().contains("permissions: id-token: write"));
        assert!(Forge::Forgejo.id_token_opt_in().contains("enable-openid-connect: true"));
    }
}
