//! The runner's own variables (not inputs), read from the environment in this one place.

use std::path::PathBuf;

use serde::Deserialize;

use super::{ConfigError, JobContext};
use crate::forge::Forge;
use crate::tls;

/// The runner-provided variables the step reads (not inputs).
/// envy matches lower-cased variable names to these fields.
#[derive(Deserialize, Default)]
#[serde(default)]
pub struct RunnerVars {
    pub(super) github_actions: Option<String>,
    pub(super) gitea_actions: Option<String>,
    pub(super) forgejo_actions: Option<String>,
    pub(super) github_repository: Option<String>,
    pub(super) gitea_repository: Option<String>,
    pub(super) forgejo_repository: Option<String>,
    pub(super) github_ref: Option<String>,
    pub(super) github_repository_id: Option<String>,
    pub(super) github_repository_owner_id: Option<String>,
    pub(super) github_actor_id: Option<String>,
    pub(super) github_workflow_ref: Option<String>,
    pub(super) github_base_ref: Option<String>,
    pub(super) github_head_ref: Option<String>,
    pub(super) github_sha: Option<String>,
    pub(super) github_workflow: Option<String>,
    pub(super) github_event_name: Option<String>,
    pub(super) github_run_id: Option<String>,
    pub(super) github_actor: Option<String>,
    pub(super) github_server_url: Option<String>,
    pub(super) github_env: Option<PathBuf>,
    pub(super) github_output: Option<PathBuf>,
    pub(super) github_state: Option<PathBuf>,
    pub(super) github_step_summary: Option<PathBuf>,
    pub(super) github_path: Option<PathBuf>,
    pub(super) runner_debug: Option<String>,
    pub(super) actions_id_token_request_url: Option<String>,
    pub(super) actions_id_token_request_token: Option<String>,
    pub(super) vault_addr: Option<String>,
    pub(super) vault_token: Option<String>,
    pub(super) vault_cacert: Option<String>,
    pub(super) runner_temp: Option<PathBuf>,
    pub(super) ssl_cert_file: Option<String>,
    pub(super) ssl_cert_dir: Option<String>,
    pub(super) tmpdir: Option<PathBuf>,
}

impl RunnerVars {
    /// The variables of `env`; envy matches lower-cased names to the fields.
    pub fn from_env(env: &[(String, String)]) -> Result<Self, ConfigError> {
        envy::from_iter(env.iter().cloned()).map_err(ConfigError::Environment)
    }

    /// Whether a runner runs us (`GITHUB_ACTIONS=true`).
    pub fn in_ci(&self) -> bool {
        self.github_actions.as_deref() == Some("true")
    }

    /// The forge the runner belongs to; `None` outside a runner.
    pub fn forge(&self) -> Option<Forge> {
        let on = |v: &Option<String>| v.as_deref() == Some("true");
        Forge::detect(on(&self.github_actions), on(&self.gitea_actions), on(&self.forgejo_actions))
    }

    /// `RUNNER_DEBUG=1`: the job runs with debug logging.
    pub fn debug(&self) -> bool {
        self.runner_debug.as_deref() == Some("1")
    }

    /// Where this machine keeps its CA bundle (see [`tls::system_bundle`]).
    pub fn system_bundle(&self) -> Option<PathBuf> {
        tls::system_bundle(self.ssl_cert_file.as_deref(), self.ssl_cert_dir.as_deref())
    }

    /// `GITHUB_STEP_SUMMARY`, when the runner gives one.
    pub fn step_summary(&self) -> Option<PathBuf> {
        self.github_step_summary.clone().filter(|p| !p.as_os_str().is_empty())
    }
}

/// The job context the runner's `GITHUB_*` variables describe.
pub fn job_from_env(env: &[(String, String)]) -> JobContext {
    job_context(&envy::from_iter(env.iter().cloned()).unwrap_or_default())
}

pub(super) fn job_context(vars: &RunnerVars) -> JobContext {
    let given = |value: &Option<String>| value.clone().filter(|v| !v.is_empty());
    JobContext {
        forge: vars.forge(),
        repository: vars
            .github_repository
            .clone()
            .or_else(|| vars.gitea_repository.clone())
            .or_else(|| vars.forgejo_repository.clone()),
        git_ref: vars.github_ref.clone(),
        sha: vars.github_sha.clone(),
        workflow: vars.github_workflow.clone(),
        event_name: vars.github_event_name.clone(),
        run_id: vars.github_run_id.clone(),
        actor: vars.github_actor.clone(),
        server_url: vars.github_server_url.clone(),
        repository_id: given(&vars.github_repository_id),
        owner_id: given(&vars.github_repository_owner_id),
        actor_id: given(&vars.github_actor_id),
        workflow_file: vars.github_workflow_ref.as_deref().and_then(workflow_file),
        base_ref: given(&vars.github_base_ref),
        head_ref: given(&vars.github_head_ref),
        environment: None,
        sub_form: None,
    }
}

/// `ci.yml` from `owner/repo/.github/workflows/ci.yml@refs/heads/main`.
fn workflow_file(workflow_ref: &str) -> Option<String> {
    let path = workflow_ref.split('@').next()?;
    path.rsplit('/').next().filter(|file| !file.is_empty()).map(str::to_owned)
}
