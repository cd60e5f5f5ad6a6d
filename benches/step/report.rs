//! The summary: one markdown table, the targets of issue 7, and the machine the figures come from.

use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;

use crate::measure::{ScenarioResult, Stats};

const BEGIN: &str = "<!-- bench:begin: written by scripts/bench, edits up to bench:end are overwritten -->";
const END: &str = "<!-- bench:end -->";
const MIB: f64 = 1024.0 * 1024.0;

/// Targets of issue 7, the binary's tightened by issue 13.
const MAX_RATIO_5_SECRETS: f64 = 1.5;
const MAX_50_OVER_5: f64 = 2.0;
const MAX_RSS_MIB: f64 = 12.0;
const MAX_BINARY_MIB: f64 = 4.5;
/// Issue 13: the main step alone (what a job waits for before its next step), 5 secrets.
const MAX_MAIN_RATIO: f64 = 1.3;

/// `/proc/loadavg`'s three averages, e.g. `0.12 / 0.30 / 0.25`.
pub fn load_average() -> String {
    let text = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    text.split_whitespace().take(3).collect::<Vec<_>>().join(" / ")
}

/// What the figures were measured with, besides the scenarios' results.
pub struct Context<'a> {
    pub bin: &'a Path,
    /// The binary's size in bytes.
    pub size: u64,
    pub runs: usize,
    /// `load_average()` before the run.
    pub load: String,
    /// The smallest peak RSS `--rusage-to` can report (its own start-up size), KiB.
    pub rss_floor_kib: u64,
    /// `--step-env` settings, shown because they change what is measured.
    pub step_env: &'a [(String, String)],
}

/// The whole generated section (markdown).
pub fn render(results: &[ScenarioResult], cx: &Context) -> String {
    let mut out = String::new();
    let version = first_line(cx.bin, &["--version"]);
    let _ = write!(out, "Figures of `{version}`, {} measured runs per scenario", cx.runs);
    for (name, value) in cx.step_env {
        let _ = write!(out, ", step environment `{name}={value}`");
    }
    out.push_str(".\n\n");
    out.push_str(&table(results));
    let _ = writeln!(
        out,
        "\nPeak RSS: of the step processes themselves (measured through `--rusage-to`, whose own start-up size, \
         {:.1} MiB, is the smallest figure it can show).\n",
        cx.rss_floor_kib as f64 / 1024.0
    );
    out.push_str(&targets(results, cx.size));
    out.push('\n');
    out.push_str(&machine(&cx.load));
    out
}

fn table(results: &[ScenarioResult]) -> String {
    let mut out = String::from(
        "| Scenario | Requests / run | Floor ms: median (min / p90 / max) | Step ms: median (min / p90 / max) \
         | Step median: main + post ms | Step ÷ floor | Step − floor ms | Step CPU user + sys ms / run \
         | Peak RSS MiB |\n|---|--:|--:|--:|--:|--:|--:|--:|--:|\n",
    );
    for r in results {
        let floor = Stats::of(&r.floor_ms);
        let step = Stats::of(&r.step_ms()).expect("every scenario has step runs");
        let (main, post) = (median(&r.main_ms), median(&r.post_ms));
        let ratio = floor.map_or("—".to_owned(), |f| format!("{:.2}×", step.median / f.median));
        let overhead = floor.map_or("—".to_owned(), |f| format!("{:.1}", step.median - f.median));
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {main:.1} + {post:.1} | {ratio} | {overhead} | {:.1} + {:.1} | {:.1} |",
            r.label,
            r.requests,
            floor.map_or("—".to_owned(), spread),
            spread(step),
            r.user_ms_per_run,
            r.sys_ms_per_run,
            r.max_rss_kib as f64 / 1024.0,
        );
    }
    out
}

fn spread(s: Stats) -> String {
    format!("**{:.1}** ({:.1} / {:.1} / {:.1})", s.median, s.min, s.p90, s.max)
}

fn median(sample: &[f64]) -> f64 {
    Stats::of(sample).map_or(0.0, |s| s.median)
}

fn targets(results: &[ScenarioResult], size: u64) -> String {
    let find = |name: &str| results.iter().find(|r| r.name == name).expect("scenario measured");
    let (five, fifty) = (find("5-secrets"), find("50-paths"));
    let five_step = median(&five.step_ms());
    let ratio = five_step / median(&five.floor_ms);
    let main_ratio = median(&five.main_ms) / median(&five.floor_ms);
    let growth = median(&fifty.step_ms()) / five_step;
    let rss = results.iter().map(|r| r.max_rss_kib).max().unwrap_or(0) as f64 / 1024.0;
    let binary = size as f64 / MIB;
    let verdict = |ok: bool| if ok { "met" } else { "**missed**" };
    let mut out = String::from("| Target (issues 7 and 13) | Measured | |\n|---|--:|---|\n");
    let rows = [
        (
            format!("5 secrets: step ≤ {MAX_RATIO_5_SECRETS}× floor"),
            format!("{ratio:.3}×"),
            ratio <= MAX_RATIO_5_SECRETS,
        ),
        (
            format!("5 secrets: main step alone ≤ {MAX_MAIN_RATIO}× floor"),
            format!("{main_ratio:.3}×"),
            main_ratio <= MAX_MAIN_RATIO,
        ),
        (format!("50 paths ≤ {MAX_50_OVER_5}× 5 secrets (step)"), format!("{growth:.3}×"), growth <= MAX_50_OVER_5),
        (format!("peak RSS ≤ {MAX_RSS_MIB} MiB"), format!("{rss:.1} MiB"), rss <= MAX_RSS_MIB),
        (
            format!("release binary ≤ {MAX_BINARY_MIB} MiB"),
            format!("{binary:.2} MiB ({size} bytes)"),
            binary <= MAX_BINARY_MIB,
        ),
    ];
    for (target, measured, ok) in rows {
        let _ = writeln!(out, "| {target} | {measured} | {} |", verdict(ok));
    }
    out
}

/// nproc, CPU model, memory, kernel, date, and the versions of what was measured against.
fn machine(load: &str) -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = field(&cpuinfo, "model name").unwrap_or_else(|| "unknown".into());
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let memory = field(&meminfo, "MemTotal")
        .and_then(|kib| kib.trim_end_matches(" kB").trim().parse::<f64>().ok())
        .map_or("unknown".into(), |kib| format!("{:.1} GiB", kib / 1024.0 / 1024.0));
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let nproc = std::thread::available_parallelism().map_or(0, |n| n.get());
    let date = time::OffsetDateTime::now_utc()
        .format(time::macros::format_description!("[year]-[month]-[day] [hour]:[minute] UTC"))
        .unwrap_or_else(|_| "unknown".into());
    let bao =
        std::env::var("VAULT_LOGIN_TEST_BAO_BIN").map_or("unknown".into(), |b| first_line(Path::new(&b), &["version"]));
    let pg = first_line(Path::new("psql"), &["--version"]);
    let rustc = first_line(Path::new("rustc"), &["--version"]);
    format!(
        "Machine: {nproc} CPUs ({model}), {memory} RAM, Linux {}; measured {date}; load average before \
         the run {load} (1 / 5 / 15 min: other work on the machine makes the figures noisier).\n\
         Servers on 127.0.0.1: {bao}, over plain HTTP except in the https scenario (a private server of \
         the same version with a TLS listener); PostgreSQL ({pg}); the test issuer in the benchmark process, \
         over plain HTTP except in the https scenario (TLS, a certificate from the same CA as Vault's). \
         Built with {rustc}.\n",
        kernel.trim(),
    )
}

fn field(text: &str, name: &str) -> Option<String> {
    let line = text.lines().find(|l| l.split(':').next().is_some_and(|k| k.trim() == name))?;
    Some(line.split_once(':')?.1.trim().to_owned())
}

fn first_line(program: &Path, args: &[&str]) -> String {
    let out = Command::new(program).args(args).output();
    let text = out.map(|o| String::from_utf8_lossy(&o.stdout).into_owned()).unwrap_or_default();
    text.lines().next().map_or_else(|| format!("{} (version unknown)", program.display()), str::to_owned)
}

/// Replaces the generated section of `path` (between the markers), keeping the notes around it.
pub fn write_into(path: &Path, section: &str) {
    let old = std::fs::read_to_string(path).unwrap_or_default();
    let generated = format!("{BEGIN}\n{section}{END}");
    let new = match (old.find(BEGIN), old.find(END)) {
        (Some(begin), Some(end)) if begin < end => format!("{}{generated}{}", &old[..begin], &old[end + END.len()..]),
        _ if old.is_empty() => format!("# Benchmarks\n\n{generated}\n"),
        _ => format!("{}\n{generated}\n", old.trim_end()),
    };
    std::fs::write(path, new).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
}
