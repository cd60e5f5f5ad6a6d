//! The step's cost next to the floor (issue 7): run by hand through `scripts/bench`, never in CI's
//! pass/fail. `cargo clippy --all-targets` compiles it, so it cannot rot.
//!
//! For each scenario the benchmark measures, side by side and interleaved run by run:
//! - the **floor**: the HTTP requests one run of the step makes (ID-token request, login, one mount lookup
//!   per mount and one read per distinct path, revoke-self), sent sequentially from this already-running
//!   process over kept-alive connections: what the servers cost;
//! - the **step**: the release binary run as a fresh process, main then post, with the environment and
//!   file commands a runner gives (the integration tests' `Job`).
//!
//! Each scenario runs in its own child process (this binary, `--scenario NAME`), so that
//! `getrusage(RUSAGE_CHILDREN)` there sees the step processes and nothing else: its CPU time deltas are
//! exactly the step's. Not its `ru_maxrss`: a child spawned with `vfork` (as `std::process` does) starts
//! its RSS high-water mark at its parent's, so the peak RSS comes from a few extra runs through this
//! binary's `--rusage-to` mode, a small fresh process that spawns the step and `wait4`s for it.
//!
//! ```text
//! cargo bench --bench step -- [--runs N] [--bin PATH] [--write docs/benchmarks.md] [--step-env NAME=VALUE]...
//! ```
//! (with `VAULT_LOGIN_TEST_*` set, as `scripts/services start DIR && source DIR/env` or `scripts/bench` do).
//! `--step-env` adds a variable to the step processes' environment, for experiments (e.g. `SSL_CERT_FILE`).

// The integration tests' harness, of which the benchmark needs the app, issuer and job builders only.
#[path = "../../tests/support/mod.rs"]
#[allow(dead_code, unused_imports)]
mod support;

mod floor;
mod measure;
mod report;
mod scenario;
mod tls;

use std::path::PathBuf;
use std::process::{Command, Stdio};

use measure::ScenarioResult;
use scenario::Kind;

/// Runs per scenario: the issue asks for at least 20; more steady the medians on a noisy machine, and the
/// whole benchmark still takes about a minute.
const DEFAULT_RUNS: usize = 50;

/// The benchmark's options (see the module docs).
#[derive(clap::Parser)]
struct Args {
    /// Runs per scenario
    #[arg(long, default_value_t = DEFAULT_RUNS, value_parser = at_least_one)]
    runs: usize,
    /// The vault-login binary to measure
    #[arg(long, default_value = env!("CARGO_BIN_EXE_vault-login"))]
    bin: PathBuf,
    /// Write the figures into this Markdown file, between its markers
    #[arg(long)]
    write: Option<PathBuf>,
    /// Measure only this scenario, in this process, and print its result as JSON (how the orchestrator
    /// runs each scenario in a process of its own)
    #[arg(long, value_parser = |name: &str| Kind::from_name(name).ok_or(format!("unknown scenario {name:?}")))]
    scenario: Option<Kind>,
    /// NAME=VALUE added to the step processes' environment
    #[arg(long = "step-env", value_parser = name_value)]
    step_env: Vec<(String, String)>,
    /// Passed by `cargo bench` to a harness-less benchmark; ignored
    #[arg(long, hide = true)]
    bench: bool,
}

fn at_least_one(text: &str) -> Result<usize, String> {
    match text.parse() {
        Ok(0) | Err(_) => Err(format!("expected a number of at least 1, got {text:?}")),
        Ok(runs) => Ok(runs),
    }
}

fn name_value(text: &str) -> Result<(String, String), String> {
    let (name, value) = text.split_once('=').ok_or(format!("expected NAME=VALUE, got {text:?}"))?;
    Ok((name.to_owned(), value.to_owned()))
}

fn main() {
    let raw: Vec<String> = std::env::args().skip(1).collect();
    // First, before anything grows this process: its size is where the step's RSS count starts.
    if raw.first().is_some_and(|a| a == "--rusage-to") {
        let [_, out, program, rest @ ..] = raw.as_slice() else { panic!("usage: --rusage-to FILE PROGRAM [ARG]...") };
        measure::run_and_report(out.as_ref(), program, rest);
    }
    let args = <Args as clap::Parser>::parse();
    match args.scenario {
        Some(kind) => {
            let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
            let result = runtime.block_on(scenario::measure(kind, &args.bin, args.runs, &args.step_env));
            println!("{}", serde_json::to_string(&result).expect("result as JSON"));
        }
        None => orchestrate(&args),
    }
}

/// Runs every scenario in its own process, then prints (and optionally writes) the summary.
fn orchestrate(args: &Args) {
    let size = std::fs::metadata(&args.bin)
        .unwrap_or_else(|e| panic!("{}: {e} (build it first: cargo build --release)", args.bin.display()))
        .len();
    let load = report::load_average();
    eprintln!("bench: {} ({size} bytes), {} runs per scenario; load average {load}", args.bin.display(), args.runs);
    let results: Vec<ScenarioResult> = Kind::ALL.iter().map(|kind| run_child(*kind, args)).collect();
    let cx = report::Context {
        bin: &args.bin,
        size,
        runs: args.runs,
        load,
        rss_floor_kib: measure::wrapper_floor_kib(),
        step_env: &args.step_env,
    };
    let text = report::render(&results, &cx);
    println!("{text}");
    if let Some(path) = &args.write {
        report::write_into(path, &text);
        eprintln!("bench: wrote the figures into {}", path.display());
    }
}

fn run_child(kind: Kind, args: &Args) -> ScenarioResult {
    eprintln!("bench: scenario `{}`...", kind.name());
    let exe = std::env::current_exe().expect("the benchmark's own path");
    let step_env = args.step_env.iter().flat_map(|(k, v)| ["--step-env".to_owned(), format!("{k}={v}")]);
    let out = Command::new(exe)
        .args(["--scenario", kind.name(), "--runs", &args.runs.to_string()])
        .arg("--bin")
        .arg(&args.bin)
        .args(step_env)
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .expect("start the scenario process");
    assert!(out.status.success(), "scenario `{}` failed ({})", kind.name(), out.status);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout.lines().last().unwrap_or_default();
    serde_json::from_str(line).unwrap_or_else(|e| panic!("scenario `{}` answered {line:?}: {e}", kind.name()))
}
