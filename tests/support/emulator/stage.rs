//! Running the stages of one job: environment, file commands, processes, log.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::super::envfile::parse_env_file;
use super::process::spawn;
use super::{
    Action, Contexts, JobDef, JobRun, Masker, Outcome, Registration, Runner, Stage, StepDef, StepKind, StepRun,
    Workflow,
};

/// A post stage waiting for the end of the job.
struct PendingPost {
    id: Option<String>,
    label: String,
    action: Action,
    state: BTreeMap<String, String>,
    step_env: BTreeMap<String, String>,
}

/// The job while it runs.
pub(super) struct JobState<'r> {
    runner: &'r Runner,
    root: PathBuf,
    ctx: Contexts,
    job_env: BTreeMap<String, String>,
    extra_path: Vec<String>,
    id_token: Option<(String, String)>,
    maskers: [Masker; 2],
    logs: [String; 2],
    steps: Vec<StepRun>,
    posts: Vec<PendingPost>,
    failed: bool,
    warnings: Vec<String>,
}

const FILES: [(&str, &str); 5] =
    [("ENV", "env"), ("OUTPUT", "output"), ("STATE", "state"), ("PATH", "path"), ("STEP_SUMMARY", "summary.md")];

impl<'r> JobState<'r> {
    pub fn new(runner: &'r Runner, root: &Path) -> JobState<'r> {
        JobState {
            runner,
            root: root.to_owned(),
            ctx: Contexts::default(),
            job_env: BTreeMap::new(),
            extra_path: Vec::new(),
            id_token: None,
            maskers: [Masker::new(Registration::Unescaped), Masker::new(Registration::Raw)],
            logs: [String::new(), String::new()],
            steps: Vec::new(),
            posts: Vec::new(),
            failed: false,
            warnings: Vec::new(),
        }
    }

    /// Sets up the job: folders, contexts, job env, the ID-token grant and the runner's own masks.
    pub fn start(&mut self, workflow: &Workflow, job: &JobDef) -> Result<(), String> {
        for dir in ["workspace", "runner-temp", "home", "files"] {
            std::fs::create_dir_all(self.root.join(dir)).map_err(|e| format!("{dir}: {e}"))?;
        }
        let c = &self.runner.claims;
        let short_ref = c.git_ref.strip_prefix("refs/heads/").or(c.git_ref.strip_prefix("refs/tags/"));
        let github = [
            ("repository", c.repository.clone()),
            ("repository_owner", c.owner().to_owned()),
            ("ref", c.git_ref.clone()),
            ("ref_name", short_ref.unwrap_or(&c.git_ref).to_owned()),
            ("ref_type", c.ref_type.clone()),
            ("sha", c.sha.clone()),
            ("server_url", self.runner.issuer.base_url().to_owned()),
            ("event_name", c.event_name.clone()),
            ("workflow", c.workflow.clone()),
            ("run_id", c.run_id.clone()),
            ("run_number", c.run_number.clone()),
            ("run_attempt", c.run_attempt.clone()),
            ("actor", c.actor.clone()),
            ("workspace", self.path("workspace")),
        ];
        self.ctx.github = github.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
        self.ctx.vars = self.runner.vars.clone();
        self.ctx.runner_temp = self.path("runner-temp");
        for (name, value) in workflow.env.iter().chain(&job.env) {
            self.ctx.env = self.job_env.clone();
            self.job_env.insert(name.clone(), self.ctx.interpolate(value)?);
        }
        if workflow.grants_id_token(job) {
            let token = self.runner.issuer.register_job(c.clone());
            self.id_token = Some((self.runner.issuer.token_request_url(&c.run_id), token));
        }
        if let Some((_, token)) = self.id_token.clone() {
            self.maskers.iter_mut().for_each(|m| m.add(&token));
        }
        Ok(())
    }

    pub async fn run_steps(&mut self, job: &JobDef) {
        for (n, step) in job.steps.iter().enumerate() {
            let result = if self.failed {
                Ok(self.skipped(step))
            } else {
                match &step.kind {
                    StepKind::Uses { uses, with } => self.run_action(n, step, uses, with).await,
                    StepKind::Run { script } => self.run_script(n, step, script).await,
                }
            };
            let run = result.unwrap_or_else(|e| self.failed_to_start(step, Stage::Main, e));
            self.failed |= matches!(run.outcome, Outcome::Failure(_));
            self.steps.push(run);
        }
    }

    /// The posts, last registered first, each as its `post-if` says.
    pub async fn run_posts(&mut self) {
        while let Some(post) = self.posts.pop() {
            let wanted = match post.action.post_if.as_str() {
                "always()" => true,
                "success()" => !self.failed,
                "failure()" => self.failed,
                other => panic!("post-if `{other}` is not modelled by the emulator"),
            };
            if !wanted {
                continue;
            }
            let extra: BTreeMap<String, String> =
                post.state.iter().map(|(k, v)| (format!("STATE_{k}"), v.clone())).collect();
            let script = post.action.dir.join(post.action.post.as_deref().unwrap_or_default());
            let header = format!("--- Post {}\n", post.label);
            let env = self.stage_env(&post.step_env, extra, &post.id, "post");
            let who = (post.id.clone(), post.label.clone());
            let run = self.exec(who, &header, Stage::Post, "node", &[&script.display().to_string()], env).await;
            self.steps.push(run);
        }
    }

    pub fn finish(mut self, mut run: JobRun) -> JobRun {
        for masker in &self.maskers {
            self.warnings.extend(masker.problems.iter().map(|p| format!("log: {p}")));
        }
        let [log, legacy_log] = self.logs;
        run.steps = self.steps;
        run.log = log;
        run.legacy_log = legacy_log;
        run.env = self.job_env;
        run.warnings = self.warnings;
        run
    }

    async fn run_action(
        &mut self,
        n: usize,
        step: &StepDef,
        uses: &str,
        with: &[(String, String)],
    ) -> Result<StepRun, String> {
        let action = Action::load(&self.resolve(uses)?)?;
        let step_env = self.step_env(step)?;
        self.ctx.env = self.job_env.clone();
        self.ctx.env.extend(step_env.clone());
        let with: Vec<(String, String)> =
            with.iter().map(|(k, v)| Ok((k.clone(), self.ctx.interpolate(v)?))).collect::<Result<_, String>>()?;
        let (extra, warnings) = super::input_env(&action, &with, &self.ctx);
        self.warnings.extend(warnings);
        let mut header = format!("--- Run {}\n  with:\n", step.label());
        for (k, v) in &with {
            header.push_str(&format!("    {k}: {}\n", v.trim_end().replace('\n', "\n      ")));
        }
        header.push_str(&self.env_block(&step_env));
        let env = self.stage_env(&step_env, extra, &step.id, &n.to_string());
        let script = action.dir.join(&action.main).display().to_string();
        let run = self.exec((step.id.clone(), step.label()), &header, Stage::Main, "node", &[&script], env).await;
        if action.post.is_some() {
            let (id, label, state) = (step.id.clone(), step.label(), run.state.clone());
            self.posts.push(PendingPost { id, label, action, state, step_env });
        }
        Ok(run)
    }

    async fn run_script(&mut self, n: usize, step: &StepDef, script: &str) -> Result<StepRun, String> {
        let step_env = self.step_env(step)?;
        self.ctx.env = self.job_env.clone();
        self.ctx.env.extend(step_env.clone());
        let script = self.ctx.interpolate(script)?;
        let file = self.root.join("runner-temp").join(format!("step-{n}.sh"));
        std::fs::write(&file, &script).map_err(|e| format!("writing the script: {e}"))?;
        let header = format!("--- Run {}\n{}", step.label(), self.env_block(&step_env));
        let env = self.stage_env(&step_env, BTreeMap::new(), &step.id, &n.to_string());
        let args = ["-e", &file.display().to_string()];
        Ok(self.exec((step.id.clone(), step.label()), &header, Stage::Main, "bash", &args, env).await)
    }

    /// `uses:` → the action's folder. Only this action is known.
    fn resolve(&self, uses: &str) -> Result<PathBuf, String> {
        let local = uses == "./" || uses == ".";
        let remote = uses.rsplit_once('@').is_some_and(|(path, _)| {
            let path = path.strip_prefix("https://").map_or(path, |p| p.split_once('/').map_or("", |(_, rest)| rest));
            path == "arcodange/vault-login"
        });
        if local || remote {
            // The vendored layout spares every emulated job a download; shim.rs and act.rs cover the asset path.
            let into = self.root.join("action");
            super::release::install(
                &self.runner.action_dir,
                &self.runner.binary,
                &into,
                super::release::Delivery::Vendored,
            )
        } else {
            Err(format!("uses: {uses}: the emulator only knows arcodange/vault-login"))
        }
    }

    fn step_env(&mut self, step: &StepDef) -> Result<BTreeMap<String, String>, String> {
        let mut env = BTreeMap::new();
        for (name, value) in &step.env {
            self.ctx.env = self.job_env.clone();
            self.ctx.env.extend(env.clone());
            env.insert(name.clone(), self.ctx.interpolate(value)?);
        }
        Ok(env)
    }

    /// The `env:` block GitHub prints in a step's header: the env context, exports included.
    fn env_block(&self, step_env: &BTreeMap<String, String>) -> String {
        let mut all = self.job_env.clone();
        all.extend(step_env.clone());
        let lines: String = all.iter().map(|(k, v)| format!("    {k}: {v}\n")).collect();
        if lines.is_empty() { String::new() } else { format!("  env:\n{lines}") }
    }

    /// Job env, step env, then what the runner sets (it wins), then `extra` (INPUT_* or STATE_*).
    fn stage_env(
        &self,
        step_env: &BTreeMap<String, String>,
        extra: BTreeMap<String, String>,
        id: &Option<String>,
        n: &str,
    ) -> BTreeMap<String, String> {
        let mut env = self.job_env.clone();
        env.extend(step_env.clone());
        let host_path = std::env::var("PATH").unwrap_or_default();
        let path = self.extra_path.iter().cloned().chain([host_path]).collect::<Vec<_>>().join(":");
        let mut runner_vars = vec![
            ("PATH".to_owned(), path),
            ("HOME".to_owned(), self.path("home")),
            ("CI".to_owned(), "true".to_owned()),
            ("GITHUB_ACTIONS".to_owned(), "true".to_owned()),
            ("GITEA_ACTIONS".to_owned(), "true".to_owned()),
            ("ACT".to_owned(), "true".to_owned()),
            ("RUNNER_OS".to_owned(), "Linux".to_owned()),
            ("RUNNER_TEMP".to_owned(), self.path("runner-temp")),
            ("GITHUB_ACTION".to_owned(), id.clone().unwrap_or_else(|| format!("__run_{n}"))),
        ];
        for (key, value) in &self.ctx.github {
            runner_vars.push((format!("GITHUB_{}", key.to_uppercase()), value.clone()));
        }
        if let Some((url, token)) = &self.id_token {
            runner_vars.push(("ACTIONS_ID_TOKEN_REQUEST_URL".into(), url.clone()));
            runner_vars.push(("ACTIONS_ID_TOKEN_REQUEST_TOKEN".into(), token.clone()));
        }
        env.extend(runner_vars);
        env.extend(extra);
        env
    }

    fn path(&self, dir: &str) -> String {
        self.root.join(dir).display().to_string()
    }

    fn skipped(&self, step: &StepDef) -> StepRun {
        StepRun::empty(step.id.clone(), step.label(), Stage::Main, Outcome::Skipped)
    }

    fn failed_to_start(&mut self, step: &StepDef, stage: Stage, error: String) -> StepRun {
        let line = format!("--- Run {}\nError: {error}\n", step.label());
        self.append_log(&line);
        StepRun::empty(step.id.clone(), step.label(), stage, Outcome::Failure(error))
    }

    fn append_log(&mut self, text: &str) {
        for (masker, log) in self.maskers.iter_mut().zip(self.logs.iter_mut()) {
            log.push_str(&masker.process(text));
        }
    }

    /// Runs one stage with fresh file-command files, then processes them as the runner does.
    async fn exec(
        &mut self,
        (id, label): (Option<String>, String),
        header: &str,
        stage: Stage,
        program: &str,
        args: &[&str],
        mut env: BTreeMap<String, String>,
    ) -> StepRun {
        let n = self.steps.len();
        let files = self.root.join("files").join(format!("{n}-{stage:?}"));
        std::fs::create_dir_all(&files).expect("file-command folder");
        for (suffix, file) in FILES {
            let path = files.join(file);
            std::fs::write(&path, "").expect("fresh file-command file");
            env.insert(format!("GITHUB_{suffix}"), path.display().to_string());
            env.insert(format!("GITEA_{suffix}"), path.display().to_string());
        }
        let (code, output) = spawn(program, args, &env, &self.root.join("workspace"), self.runner.timeout).await;
        let mut run = StepRun::empty(id.clone(), label, stage, Outcome::Success);
        run.exit_code = code;
        if code != Some(0) {
            run.outcome = Outcome::Failure(format!("exit code {code:?}"));
        }
        let read = |name: &str| std::fs::read_to_string(files.join(name)).unwrap_or_default();
        let mut parsed = BTreeMap::new();
        for (suffix, file) in [("ENV", "env"), ("STATE", "state"), ("OUTPUT", "output")] {
            match parse_env_file(&read(file)) {
                Ok(pairs) => drop(parsed.insert(suffix, pairs.into_iter().collect::<BTreeMap<_, _>>())),
                Err(e) => run.outcome = Outcome::Failure(format!("the runner rejects GITHUB_{suffix}: {e}")),
            }
        }
        self.job_env.extend(parsed.remove("ENV").unwrap_or_default());
        run.state = parsed.remove("STATE").unwrap_or_default();
        run.outputs = parsed.remove("OUTPUT").unwrap_or_default();
        for line in read("path").lines().filter(|l| !l.trim().is_empty()) {
            self.extra_path.insert(0, line.to_owned());
        }
        if let Some(id) = &id {
            self.ctx.steps.insert(id.clone(), run.outputs.clone());
        }
        run.summary = read("summary.md");
        let mut shown = format!("{header}{output}");
        if let Outcome::Failure(why) = &run.outcome {
            shown.push_str(&format!("Error: {why}\n"));
        }
        self.append_log(&shown);
        run.output = output;
        run.env = env;
        run
    }
}
