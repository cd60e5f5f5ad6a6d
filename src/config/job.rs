//! What the job is, as far as its token's claims and the defaults are concerned: the runner says it in CI;
//! locally the flags, then the git checkout do, and [`crate::fake_token`] fills the rest with placeholders.

use crate::forge::{Forge, SubForm};

#[derive(Debug, Clone, Default)]
pub struct JobContext {
    /// The forge: the runner's own word in CI, `--forge` locally.
    pub forge: Option<Forge>,
    pub repository: Option<String>,
    pub git_ref: Option<String>,
    pub sha: Option<String>,
    /// The workflow's `name:` (`GITHUB_WORKFLOW`).
    pub workflow: Option<String>,
    /// The workflow's file name (from `GITHUB_WORKFLOW_REF`).
    pub workflow_file: Option<String>,
    pub event_name: Option<String>,
    pub run_id: Option<String>,
    pub actor: Option<String>,
    pub server_url: Option<String>,
    pub repository_id: Option<String>,
    pub owner_id: Option<String>,
    pub actor_id: Option<String>,
    pub base_ref: Option<String>,
    pub head_ref: Option<String>,
    /// A GitHub deployment environment (`--environment`; no variable tells it).
    pub environment: Option<String>,
    /// Which of the forge's `sub` forms the repository gets (`--sub-format`).
    pub sub_form: Option<SubForm>,
}

impl JobContext {
    /// The forge the job runs on: the runner's word or `--forge`, else the one assumed for its server.
    pub fn forge_or_assumed(&self) -> Forge {
        self.forge.unwrap_or_else(|| Forge::assumed(self.server_url.as_deref()))
    }

    /// Fills the fields `self` lacks from `other`.
    pub fn or(self, other: Self) -> Self {
        Self {
            forge: self.forge.or(other.forge),
            repository: self.repository.or(other.repository),
            git_ref: self.git_ref.or(other.git_ref),
            sha: self.sha.or(other.sha),
            workflow: self.workflow.or(other.workflow),
            workflow_file: self.workflow_file.or(other.workflow_file),
            event_name: self.event_name.or(other.event_name),
            run_id: self.run_id.or(other.run_id),
            actor: self.actor.or(other.actor),
            server_url: self.server_url.or(other.server_url),
            repository_id: self.repository_id.or(other.repository_id),
            owner_id: self.owner_id.or(other.owner_id),
            actor_id: self.actor_id.or(other.actor_id),
            base_ref: self.base_ref.or(other.base_ref),
            head_ref: self.head_ref.or(other.head_ref),
            environment: self.environment.or(other.environment),
            sub_form: self.sub_form.or(other.sub_form),
        }
    }
}
