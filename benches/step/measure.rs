//! What a scenario process reports, the resource usage of its children, and the statistics.

use serde::{Deserialize, Serialize};

/// One scenario's raw figures (sent from the scenario process to the orchestrator as JSON).
#[derive(Debug, Serialize, Deserialize)]
pub struct ScenarioResult {
    pub name: String,
    pub label: String,
    /// HTTP requests per run (the floor's; the step makes the same ones).
    pub requests: usize,
    /// Wall time of each floor run, ms (empty when the scenario has no floor).
    pub floor_ms: Vec<f64>,
    /// Wall time of each step run's main and post processes, ms.
    pub main_ms: Vec<f64>,
    pub post_ms: Vec<f64>,
    /// CPU time of the step processes per run (main + post), ms.
    pub user_ms_per_run: f64,
    pub sys_ms_per_run: f64,
    /// The largest peak RSS of the step processes of the `--rusage-to` runs, KiB.
    pub max_rss_kib: u64,
}

impl ScenarioResult {
    pub fn new(name: &str, label: &str, requests: usize) -> Self {
        Self {
            name: name.to_owned(),
            label: label.to_owned(),
            requests,
            floor_ms: Vec::new(),
            main_ms: Vec::new(),
            post_ms: Vec::new(),
            user_ms_per_run: 0.0,
            sys_ms_per_run: 0.0,
            max_rss_kib: 0,
        }
    }

    pub fn push_step(&mut self, (main_ms, post_ms): (f64, f64)) {
        self.main_ms.push(main_ms);
        self.post_ms.push(post_ms);
    }

    /// `usage` covers the measured runs only.
    pub fn set_cpu(&mut self, usage: &Usage) {
        let runs = self.main_ms.len().max(1) as f64;
        self.user_ms_per_run = usage.user_ms / runs;
        self.sys_ms_per_run = usage.sys_ms / runs;
    }

    /// Main + post, per run.
    pub fn step_ms(&self) -> Vec<f64> {
        self.main_ms.iter().zip(&self.post_ms).map(|(m, p)| m + p).collect()
    }
}

/// `getrusage(RUSAGE_CHILDREN)`: the children this process has waited for, all of them step processes
/// (the scenario process starts nothing else: see `provision_database`). Its CPU times are the steps';
/// its `ru_maxrss` is not (see `run_and_report`).
#[derive(Debug, Clone, Copy)]
pub struct Usage {
    user_ms: f64,
    sys_ms: f64,
}

impl Usage {
    pub fn children() -> Usage {
        // SAFETY: `getrusage` only writes the `rusage` we hand it; a zeroed `rusage` is a valid value.
        let usage = unsafe {
            let mut usage: libc::rusage = std::mem::zeroed();
            let status = libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage);
            assert_eq!(status, 0, "getrusage: {}", std::io::Error::last_os_error());
            usage
        };
        let ms = |t: libc::timeval| t.tv_sec as f64 * 1000.0 + t.tv_usec as f64 / 1000.0;
        Usage { user_ms: ms(usage.ru_utime), sys_ms: ms(usage.ru_stime) }
    }

    /// CPU spent since `earlier`.
    pub fn since(&self, earlier: &Usage) -> Usage {
        Usage { user_ms: self.user_ms - earlier.user_ms, sys_ms: self.sys_ms - earlier.sys_ms }
    }
}

/// `--rusage-to FILE PROGRAM [ARG]...`: runs the program (stdio and environment inherited), writes its
/// own peak RSS (KiB) to FILE, and exits with its exit code.
///
/// Why a process of its own: `std::process` spawns with `vfork`, and on `exec` Linux starts the child's
/// RSS high-water mark at the parent's, so a step spawned by the (large) scenario process would report
/// that process's size. Spawned from here, freshly started and small, the figure is the step's own
/// (or this process's start-up size, if the step stays below it: see `wrapper_floor_kib`).
pub fn run_and_report(out: &std::path::Path, program: &str, args: &[String]) -> ! {
    let child = std::process::Command::new(program).args(args).spawn();
    let child = child.unwrap_or_else(|e| panic!("spawn {program}: {e}"));
    let pid = i32::try_from(child.id()).expect("a pid fits in i32");
    let mut status = 0;
    // SAFETY: `wait4` writes only the status and the `rusage` handed to it; a zeroed `rusage` is valid.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        let waited = libc::wait4(pid, &mut status, 0, &mut usage);
        assert_eq!(waited, pid, "wait4: {}", std::io::Error::last_os_error());
        usage
    };
    // Linux reports ru_maxrss in KiB.
    std::fs::write(out, usage.ru_maxrss.to_string()).unwrap_or_else(|e| panic!("{}: {e}", out.display()));
    std::process::exit(if libc::WIFEXITED(status) { libc::WEXITSTATUS(status) } else { 128 })
}

/// A duration in milliseconds, the unit of every figure.
pub fn ms(duration: std::time::Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

/// Median and spread of a sample.
#[derive(Debug, Clone, Copy)]
pub struct Stats {
    pub min: f64,
    pub median: f64,
    /// Nearest-rank 90th percentile.
    pub p90: f64,
    pub max: f64,
}

impl Stats {
    pub fn of(sample: &[f64]) -> Option<Stats> {
        if sample.is_empty() {
            return None;
        }
        let mut sorted = sample.to_vec();
        sorted.sort_by(f64::total_cmp);
        let n = sorted.len();
        let median = if n % 2 == 1 { sorted[n / 2] } else { (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0 };
        let p90 = sorted[((n as f64 * 0.9).ceil() as usize).clamp(1, n) - 1];
        Some(Stats { min: sorted[0], median, p90, max: sorted[n - 1] })
    }
}

/// The smallest figure `run_and_report` can give: its own start-up size (running `true`).
pub fn wrapper_floor_kib() -> u64 {
    let dir = tempfile::tempdir().expect("temporary directory");
    let out = dir.path().join("maxrss");
    let exe = std::env::current_exe().expect("the benchmark's own path");
    let status = std::process::Command::new(exe).arg("--rusage-to").arg(&out).arg("true").status();
    assert!(status.expect("run `true` through --rusage-to").success(), "`true` failed");
    read_kib(&out)
}

/// The figure `run_and_report` wrote.
pub fn read_kib(path: &std::path::Path) -> u64 {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.trim().parse().unwrap_or_else(|e| panic!("{}: {text:?}: {e}", path.display()))
}
