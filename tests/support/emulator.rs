//! A small Actions runner, faithful to docs/runner-facts.md, that runs a workflow file
//! with this repository as the `vault-login` action, the way an act-based runner (Gitea, Forgejo) does:
//!
//! - `uses: arcodange/vault-login@<ref>` (or `https://<forge>/arcodange/vault-login@<ref>`, or `./`)
//!   resolves to the action folder; `action.yml` is read for its inputs and node entry points;
//! - `INPUT_<NAME>` comes from `with:` plus the defaults of `action.yml` (act's name rule: upper-cased,
//!   `[^A-Z0-9-]` → `_`); unexpected and missing required inputs become warnings, as on GitHub;
//! - each stage gets `GITHUB_*`, `RUNNER_TEMP`, and fresh, empty file-command files (`GITHUB_ENV`,
//!   `GITHUB_OUTPUT`, `GITHUB_STATE`, `GITHUB_PATH`, `GITHUB_STEP_SUMMARY`, with Gitea's `GITEA_*` aliases);
//!   the ID-token variables only when the workflow opts in (`permissions: id-token: write` or
//!   `enable-openid-connect: true`);
//! - the action runs as `node <action>/<runs.main>`, `run:` steps as `bash -e <script>`, stdout and stderr
//!   in one stream; after each stage the env, state and output files are parsed with the strictest
//!   runner's parser (a blank line outside a value fails the step), even when the stage failed;
//! - the log is masked as the runner does ([`masker`]), twice: as GitHub and Gitea ≥ v3 register masks
//!   (`log`) and as legacy Gitea and Forgejo do (`legacy_log`); later steps print their `env:` in the log,
//!   as GitHub does, so an export that was not masked first shows;
//! - a failed step skips the later ones; posts run in reverse order per `post-if` (default `always()`),
//!   with `STATE_*` of their main stage and without `INPUT_*`.
//!
//! The expressions it evaluates are listed in [`expr`]. The action runs as a release tag holds it
//! ([`release`]): the shim verifies the binary cargo built against `dist/SHA256SUMS`, as in a real job.

mod action;
mod expr;
mod masker;
mod process;
pub mod release;
mod stage;
mod step_run;
mod workflow;
mod yaml;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub use action::Action;
pub use expr::Contexts;
pub use masker::{Masker, Registration};
pub use step_run::{Outcome, Stage, StepRun};
pub use workflow::{JobDef, StepDef, StepKind, Workflow};

use super::job::input_env_name;
use super::{Issuer, JobClaims};

/// The repository root: the action under test.
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The runner, configured for one job.
pub struct Runner {
    issuer: Issuer,
    claims: JobClaims,
    vars: BTreeMap<String, String>,
    action_dir: PathBuf,
    binary: PathBuf,
    timeout: Duration,
}

/// What a job did, as its user would see it.
pub struct JobRun {
    /// Main stages in order, then posts in the order they ran.
    pub steps: Vec<StepRun>,
    /// The log as GitHub and Gitea ≥ v3 show it (masks un-escaped).
    pub log: String,
    /// The log as legacy Gitea and Forgejo show it (masks registered as written).
    pub legacy_log: String,
    /// The job's env at the end (the workflow's, plus `GITHUB_ENV` exports).
    pub env: BTreeMap<String, String>,
    pub warnings: Vec<String>,
    /// A failure before any step ran (an unreadable workflow or action).
    pub error: Option<String>,
    _dir: tempfile::TempDir,
}

impl Runner {
    /// A push job of `claims`'s repository, whose ID tokens `issuer` signs.
    pub fn new(issuer: &Issuer, claims: JobClaims) -> Runner {
        Runner {
            issuer: issuer.clone(),
            claims,
            vars: BTreeMap::new(),
            action_dir: repo_root(),
            binary: env!("CARGO_BIN_EXE_vault-login").into(),
            timeout: Duration::from_secs(90),
        }
    }

    /// A configuration variable (`${{ vars.NAME }}`).
    pub fn var(mut self, name: &str, value: &str) -> Self {
        self.vars.insert(name.to_owned(), value.to_owned());
        self
    }

    /// Runs another copy of the action (a deliberately broken one, in tests).
    pub fn action_dir(mut self, dir: &Path) -> Self {
        self.action_dir = dir.to_owned();
        self
    }

    /// Runs the only job of the workflow file at `path` (relative to the repository root).
    pub async fn run(&self, path: &str) -> JobRun {
        let file = repo_root().join(path);
        let text = std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        self.run_text(&text, path).await
    }

    /// Runs the only job of a workflow given as text.
    pub async fn run_text(&self, text: &str, what: &str) -> JobRun {
        let dir = tempfile::tempdir().expect("job directory");
        let mut run = JobRun {
            steps: Vec::new(),
            log: String::new(),
            legacy_log: String::new(),
            env: BTreeMap::new(),
            warnings: Vec::new(),
            error: None,
            _dir: dir,
        };
        let root = run._dir.path().to_owned();
        let (workflow, job) = match Workflow::parse(text, what).and_then(only_job) {
            Ok(parsed) => parsed,
            Err(e) => {
                run.error = Some(e);
                return run;
            }
        };
        let mut job_run = stage::JobState::new(self, &root);
        if let Err(e) = job_run.start(&workflow, &job) {
            run.error = Some(e);
            return run;
        }
        job_run.run_steps(&job).await;
        job_run.run_posts().await;
        job_run.finish(run)
    }
}

fn only_job(workflow: Workflow) -> Result<(Workflow, JobDef), String> {
    match workflow.jobs.as_slice() {
        [job] => Ok((workflow.clone(), job.clone())),
        jobs => Err(format!("the emulator runs workflows with exactly one job, this one has {}", jobs.len())),
    }
}

impl JobRun {
    /// Every step succeeded (skipped ones included) and nothing failed before them.
    pub fn success(&self) -> bool {
        self.error.is_none() && self.steps.iter().all(|s| !matches!(s.outcome, Outcome::Failure(_)))
    }

    pub fn assert_success(&self) -> &Self {
        assert!(self.success(), "the job failed:\n{self:?}");
        self
    }

    pub fn assert_failure(&self) -> &Self {
        assert!(!self.success(), "the job unexpectedly succeeded:\n{self:?}");
        self
    }

    /// The main stage of the step with this `id` (or `name`).
    pub fn step(&self, id: &str) -> &StepRun {
        self.find(Stage::Main, id)
    }

    /// The post stage of the step with this `id` (or `name`).
    pub fn post(&self, id: &str) -> &StepRun {
        self.find(Stage::Post, id)
    }

    fn find(&self, stage: Stage, id: &str) -> &StepRun {
        let found = self.steps.iter().find(|s| s.stage == stage && (s.id.as_deref() == Some(id) || s.label == id));
        found.unwrap_or_else(|| panic!("no {stage:?} stage of step `{id}`:\n{self:?}"))
    }

    /// The reasons the job failed, one per failed stage.
    pub fn failures(&self) -> Vec<String> {
        let stages = self.steps.iter().filter_map(|s| match &s.outcome {
            Outcome::Failure(why) => Some(format!("{:?} {}: {why}", s.stage, s.label)),
            _ => None,
        });
        self.error.iter().cloned().chain(stages).collect()
    }
}

impl std::fmt::Debug for JobRun {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "failures: {:?}\nwarnings: {:?}", self.failures(), self.warnings)?;
        write!(f, "--- log (masked) ---\n{}", self.log)
    }
}

/// `INPUT_*` for an action step: `with:` (already evaluated) plus the defaults of `action.yml`.
pub fn input_env(
    action: &Action,
    with: &[(String, String)],
    ctx: &Contexts,
) -> (BTreeMap<String, String>, Vec<String>) {
    let mut env = BTreeMap::new();
    let mut warnings = Vec::new();
    for (name, value) in with {
        if action.input(name).is_none() {
            let valid: Vec<&str> = action.inputs.iter().map(|i| i.name.as_str()).collect();
            warnings.push(format!("Unexpected input(s) '{name}', valid inputs are {valid:?}"));
        }
        env.insert(input_env_name(name), value.clone());
    }
    for input in &action.inputs {
        let key = input_env_name(&input.name);
        if env.contains_key(&key) {
            continue;
        }
        if input.required && input.default.is_none() {
            warnings.push(format!("Input required and not supplied: {}", input.name));
        }
        let default = input.default.as_deref().unwrap_or_default();
        let value = ctx.interpolate(default).unwrap_or_else(|e| panic!("default of input `{}`: {e}", input.name));
        env.insert(key, value);
    }
    (env, warnings)
}
