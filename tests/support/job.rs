//! Runs the built binary the way an Actions runner does: cleared environment, `INPUT_*`, `GITHUB_*`,
//! fresh file-command files per step, `STATE_*` for the post step, exit code and output captured.

use std::collections::BTreeMap;
use std::fmt;
use std::marker::PhantomData;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::envfile::parse_env_file;
use super::{App, Issuer, JobClaims};

/// A job of one app: its claims (which also give `GITHUB_*`), inputs and environment changes.
pub struct Job {
    issuer: Issuer,
    /// Claims the forge puts in the ID token, and the source of `GITHUB_REF`, `GITHUB_SHA`...
    pub claims: JobClaims,
    inputs: BTreeMap<String, String>,
    env: BTreeMap<String, Option<String>>,
    program: PathBuf,
    program_args: Vec<String>,
    timeout: Duration,
    dir: tempfile::TempDir,
    steps: AtomicUsize,
}

/// What one step did.
pub struct StepResult {
    /// The exit code (`None` if killed by a signal).
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    /// `GITHUB_ENV`, `GITHUB_OUTPUT` and `GITHUB_STATE` as the runner parses them (last value wins).
    pub env: BTreeMap<String, String>,
    pub outputs: BTreeMap<String, String>,
    pub state: BTreeMap<String, String>,
    pub summary: String,
    pub raw_env_file: String,
    pub raw_output_file: String,
    pub raw_state_file: String,
    pub raw_path_file: String,
    /// The environment the process was started with.
    pub process_env: BTreeMap<String, String>,
}

/// `INPUT_<NAME>` as act-based runners build it: upper-cased, `[^A-Z0-9-]` → `_`.
pub fn input_env_name(name: &str) -> String {
    let upper: String = name
        .to_uppercase()
        .chars()
        .map(|c| if c.is_ascii_uppercase() || c.is_ascii_digit() || c == '-' { c } else { '_' })
        .collect();
    format!("INPUT_{upper}")
}

impl Job {
    /// A push to `refs/heads/main` of the app's repository.
    pub fn new(app: &App) -> Job {
        Job::for_claims(&app.issuer, app.claims())
    }

    /// A job with these claims, whose ID tokens `issuer` signs.
    pub fn for_claims(issuer: &Issuer, claims: JobClaims) -> Job {
        Job {
            issuer: issuer.clone(),
            claims,
            inputs: BTreeMap::new(),
            env: BTreeMap::new(),
            program: env!("CARGO_BIN_EXE_vault-login").into(),
            program_args: Vec::new(),
            timeout: Duration::from_secs(60),
            dir: tempfile::tempdir().expect("job tempdir"),
            steps: AtomicUsize::new(0),
        }
    }

    /// Sets input `name` (as `with: {name: value}` would).
    pub fn input(mut self, name: &str, value: &str) -> Self {
        self.inputs.insert(name.to_owned(), value.to_owned());
        self
    }

    /// Sets or overrides an environment variable of both steps.
    pub fn env(mut self, name: &str, value: &str) -> Self {
        self.env.insert(name.to_owned(), Some(value.to_owned()));
        self
    }

    /// Removes a variable the runner would set (e.g. `ACTIONS_ID_TOKEN_REQUEST_TOKEN`).
    pub fn remove_env(mut self, name: &str) -> Self {
        self.env.insert(name.to_owned(), None);
        self
    }

    /// No OIDC permission: neither `ACTIONS_ID_TOKEN_REQUEST_URL` nor `..._TOKEN`.
    pub fn without_id_token(self) -> Self {
        self.remove_env("ACTIONS_ID_TOKEN_REQUEST_URL").remove_env("ACTIONS_ID_TOKEN_REQUEST_TOKEN")
    }

    /// `RUNNER_DEBUG=1`.
    pub fn debug(self) -> Self {
        self.env("RUNNER_DEBUG", "1")
    }

    /// Changes the claims of the job (the token's content and the `GITHUB_*` context).
    pub fn claims(mut self, edit: impl FnOnce(JobClaims) -> JobClaims) -> Self {
        self.claims = edit(self.claims);
        self
    }

    /// Runs another program instead of the binary (for testing the harness itself).
    pub fn program(mut self, program: impl Into<PathBuf>, args: &[&str]) -> Self {
        self.program = program.into();
        self.program_args = args.iter().map(|a| a.to_string()).collect();
        self
    }

    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// `RUNNER_TEMP` of this job.
    pub fn runner_temp(&self) -> PathBuf {
        self.dir.path().join("runner-temp")
    }

    /// The main step: `vault-login` with `INPUT_*`.
    pub async fn run_main(&self) -> StepResult {
        self.spawn_main().finish().await
    }

    /// [`Job::run_main`], returning at once: the test signals the step, then [`RunningStep::finish`]es it.
    pub fn spawn_main(&self) -> RunningStep<'_> {
        let inputs = self.inputs.iter().map(|(k, v)| (input_env_name(k), v.clone())).collect();
        self.spawn_step("main", &[], inputs)
    }

    /// The post step after `main`: `vault-login post` with `STATE_*` from main's state file.
    pub async fn run_post(&self, main: &StepResult) -> StepResult {
        self.run_post_with_state(&main.state).await
    }

    /// The post step with the given state (no `INPUT_*`).
    pub async fn run_post_with_state(&self, state: &BTreeMap<String, String>) -> StepResult {
        let vars = state.iter().map(|(k, v)| (format!("STATE_{k}"), v.clone())).collect();
        self.run_step("post", &["post"], vars).await
    }

    fn base_env(&self) -> BTreeMap<String, String> {
        let c = &self.claims;
        let short_ref = c.git_ref.strip_prefix("refs/heads/").or(c.git_ref.strip_prefix("refs/tags/"));
        let workspace = self.dir.path().join("workspace");
        let request_token = self.issuer.register_job(c.clone());
        let pairs = [
            ("PATH", std::env::var("PATH").unwrap_or_default()),
            ("CI", "true".into()),
            ("GITHUB_ACTIONS", "true".into()),
            ("GITHUB_SERVER_URL", self.issuer.base_url().to_owned()),
            ("GITHUB_REPOSITORY", c.repository.clone()),
            ("GITHUB_REPOSITORY_OWNER", c.owner().to_owned()),
            ("GITHUB_REF", c.git_ref.clone()),
            ("GITHUB_REF_NAME", short_ref.unwrap_or(&c.git_ref).to_owned()),
            ("GITHUB_REF_TYPE", c.ref_type.clone()),
            ("GITHUB_SHA", c.sha.clone()),
            ("GITHUB_WORKFLOW", c.workflow.clone()),
            ("GITHUB_RUN_ID", c.run_id.clone()),
            ("GITHUB_RUN_NUMBER", c.run_number.clone()),
            ("GITHUB_RUN_ATTEMPT", c.run_attempt.clone()),
            ("GITHUB_ACTOR", c.actor.clone()),
            ("GITHUB_EVENT_NAME", c.event_name.clone()),
            ("GITHUB_WORKSPACE", workspace.display().to_string()),
            ("RUNNER_TEMP", self.runner_temp().display().to_string()),
            ("ACTIONS_ID_TOKEN_REQUEST_URL", self.issuer.token_request_url(&c.run_id)),
            ("ACTIONS_ID_TOKEN_REQUEST_TOKEN", request_token),
        ];
        pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
    }

    async fn run_step(&self, stage: &str, args: &[&str], vars: BTreeMap<String, String>) -> StepResult {
        self.spawn_step(stage, args, vars).finish().await
    }

    /// `vault-login exec <the job's inputs as flags> -- <command>`, as a later `run:` step would call it.
    pub async fn run_exec(&self, command: &[&str]) -> StepResult {
        self.spawn_exec(command).finish().await
    }

    /// [`Job::run_exec`], returning at once: the test signals the step, then [`RunningStep::finish`]es it.
    pub fn spawn_exec(&self, command: &[&str]) -> RunningStep<'_> {
        let mut args = vec!["exec".to_owned()];
        for (name, value) in &self.inputs {
            args.extend([format!("--{name}"), value.clone()]);
        }
        args.push("--".to_owned());
        args.extend(command.iter().map(|c| c.to_string()));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        self.spawn_step("exec", &args, BTreeMap::new())
    }

    fn spawn_step(&self, stage: &str, args: &[&str], vars: BTreeMap<String, String>) -> RunningStep<'_> {
        let n = self.steps.fetch_add(1, Ordering::SeqCst);
        let files = self.dir.path().join(format!("step-{n}-{stage}"));
        for dir in [&files, &self.runner_temp(), &self.dir.path().join("workspace")] {
            std::fs::create_dir_all(dir).expect("create job dirs");
        }
        let file = |name: &str| {
            let path = files.join(name);
            std::fs::write(&path, "").expect("create file-command file");
            path
        };
        let mut env = self.base_env();
        for (name, path) in [
            ("GITHUB_ENV", file("env")),
            ("GITHUB_OUTPUT", file("output")),
            ("GITHUB_STATE", file("state")),
            ("GITHUB_PATH", file("path")),
            ("GITHUB_STEP_SUMMARY", file("summary.md")),
        ] {
            env.insert(name.to_owned(), path.display().to_string());
        }
        env.extend(vars);
        for (name, value) in &self.env {
            match value {
                Some(v) => env.insert(name.clone(), v.clone()),
                None => env.remove(name),
            };
        }
        let mut child = tokio::process::Command::new(&self.program)
            .args(&self.program_args)
            .args(args)
            .env_clear()
            .envs(&env)
            .current_dir(self.dir.path().join("workspace"))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {}: {e}", self.program.display()));
        let stdout = Pipe::read(child.stdout.take().expect("the step's stdout is piped"));
        let stderr = Pipe::read(child.stderr.take().expect("the step's stderr is piped"));
        let stage = stage.to_owned();
        RunningStep { child, stdout, stderr, files, env, stage, timeout: self.timeout, _job: PhantomData }
    }
}

/// One output pipe of a step, read as the step writes it, so that a test can act on what the step says
/// while it runs.
struct Pipe {
    /// Everything read so far; the sender is dropped at the end of the pipe.
    seen: watch::Receiver<Vec<u8>>,
    reader: JoinHandle<()>,
}

impl Pipe {
    fn read(mut pipe: impl AsyncRead + Unpin + Send + 'static) -> Pipe {
        let (sender, seen) = watch::channel(Vec::new());
        let reader = tokio::spawn(async move {
            let mut buf = vec![0u8; 16 * 1024];
            while let Ok(n @ 1..) = pipe.read(&mut buf).await {
                sender.send_modify(|seen| seen.extend_from_slice(&buf[..n]));
            }
        });
        Pipe { seen, reader }
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.seen.borrow()).into_owned()
    }

    /// Waits for the end of the pipe: every process that holds it has ended.
    async fn finish(self) -> String {
        let Pipe { seen, reader } = self;
        reader.await.expect("the pipe's reader");
        String::from_utf8_lossy(&seen.borrow()).into_owned()
    }
}

/// A step still running; it borrows its job, whose folder holds the step's files and working directory.
pub struct RunningStep<'job> {
    child: tokio::process::Child,
    stdout: Pipe,
    stderr: Pipe,
    files: PathBuf,
    env: BTreeMap<String, String>,
    stage: String,
    timeout: Duration,
    _job: PhantomData<&'job Job>,
}

impl RunningStep<'_> {
    /// The step's process id, to signal it.
    pub fn pid(&self) -> i32 {
        self.child.id().and_then(|id| i32::try_from(id).ok()).expect("a running step")
    }

    /// One of the step's file-command files (`state`, `env`, ...), as it is now.
    pub fn file(&self, name: &str) -> String {
        std::fs::read_to_string(self.files.join(name)).unwrap_or_default()
    }

    /// Waits until the step has written `text` to stdout: the moment to change the world under it (an
    /// event, where a fixed sleep would guess). Panics if the step ends, or runs out its time, first.
    pub async fn wait_for_stdout(&self, text: &str) {
        let mut seen = self.stdout.seen.clone();
        let printed = seen.wait_for(|out| String::from_utf8_lossy(out).contains(text));
        match tokio::time::timeout(self.timeout, printed).await {
            Ok(Ok(_)) => {}
            Ok(Err(_)) => panic!("the {} step ended without printing {text:?}:\n{}", self.stage, self.stdout.text()),
            Err(_) => panic!(
                "the {} step did not print {text:?} within {:?}:\n{}",
                self.stage,
                self.timeout,
                self.stdout.text()
            ),
        }
    }

    /// Waits for the step to end and for the end of its output (a process it left may hold that open),
    /// then reads what it left.
    pub async fn finish(self) -> StepResult {
        let RunningStep { mut child, stdout, stderr, files, env, stage, timeout, .. } = self;
        let ended = async { (child.wait().await, stdout.finish().await, stderr.finish().await) };
        let (status, stdout, stderr) = tokio::time::timeout(timeout, ended)
            .await
            .unwrap_or_else(|_| panic!("{stage} step still running after {timeout:?}: killed"));
        let status = status.expect("wait for the step");
        let read = |name: &str| std::fs::read_to_string(files.join(name)).unwrap_or_default();
        let (raw_env_file, raw_output_file, raw_state_file) = (read("env"), read("output"), read("state"));
        StepResult {
            code: status.code(),
            stdout,
            stderr,
            env: parse_file("GITHUB_ENV", &raw_env_file),
            outputs: parse_file("GITHUB_OUTPUT", &raw_output_file),
            state: parse_file("GITHUB_STATE", &raw_state_file),
            summary: read("summary.md"),
            raw_env_file,
            raw_output_file,
            raw_state_file,
            raw_path_file: read("path"),
            process_env: env,
        }
    }
}

/// Parses a file-command file like the runner; a parse error fails the test (the runner fails the step).
fn parse_file(name: &str, text: &str) -> BTreeMap<String, String> {
    match parse_env_file(text) {
        Ok(pairs) => pairs.into_iter().collect(),
        Err(e) => panic!("the runner would reject the {name} file: {e}\n--- {name} ---\n{text}\n---"),
    }
}

impl StepResult {
    /// A result with only this output (for testing checks such as `assert_no_leak`).
    pub fn synthetic(stdout: &str, stderr: &str) -> StepResult {
        StepResult {
            code: Some(0),
            stdout: stdout.to_owned(),
            stderr: stderr.to_owned(),
            env: BTreeMap::new(),
            outputs: BTreeMap::new(),
            state: BTreeMap::new(),
            summary: String::new(),
            raw_env_file: String::new(),
            raw_output_file: String::new(),
            raw_state_file: String::new(),
            raw_path_file: String::new(),
            process_env: BTreeMap::new(),
        }
    }

    /// Exit code 0.
    pub fn success(&self) -> bool {
        self.code == Some(0)
    }

    /// Panics (showing the output) unless the step succeeded.
    pub fn assert_success(&self) -> &Self {
        assert!(self.success(), "step failed:\n{self:?}");
        self
    }

    /// Panics (showing the output) unless the step failed.
    pub fn assert_failure(&self) -> &Self {
        assert!(!self.success(), "step unexpectedly succeeded:\n{self:?}");
        self
    }

    /// The values of the `::add-mask::` commands (stdout and stderr), in order.
    pub fn masks(&self) -> Vec<String> {
        let lines = self.stdout.lines().chain(self.stderr.lines());
        lines.filter_map(|l| l.strip_prefix("::add-mask::")).map(str::to_owned).collect()
    }

    /// stdout then stderr, as one text.
    pub fn log(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }
}

impl fmt::Debug for StepResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "exit code: {:?}", self.code)?;
        writeln!(f, "--- stdout ---\n{}", self.stdout)?;
        writeln!(f, "--- stderr ---\n{}", self.stderr)?;
        writeln!(f, "--- GITHUB_ENV ---\n{}", self.raw_env_file)?;
        writeln!(f, "--- GITHUB_OUTPUT ---\n{}", self.raw_output_file)?;
        writeln!(f, "--- GITHUB_STATE ---\n{}", self.raw_state_file)?;
        write!(f, "--- summary ---\n{}", self.summary)
    }
}
