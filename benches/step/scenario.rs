//! One scenario, measured in this process: provision an app, then alternate floor runs and step runs.

use std::path::{Path, PathBuf};
use std::time::Instant;

use serde_json::json;

use crate::floor::Floor;
use crate::measure::{ScenarioResult, Usage, ms, read_kib};
use crate::support::{App, AppOptions, Issuer, Job, Services, StepResult, assert_no_leak, random_hex};
use crate::tls::TlsServers;

/// Unmeasured runs first: Vault fetches the issuer's discovery document and JWKS on the first login,
/// and the floor's connections are opened, so that neither lands in the figures.
const WARMUP_RUNS: usize = 3;
/// Extra, untimed runs through `--rusage-to` for the peak RSS (it varies little from run to run).
const RSS_RUNS: usize = 3;

/// What a run does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// `vault-login --version`: process start and exit only, no request (the fixed cost of a process).
    Start,
    /// Login and revoke, no secrets.
    Login,
    /// 5 secrets over 3 paths: KV v2 (2 keys), KV v1 (1 key), database creds (username + password).
    FiveSecrets,
    /// 50 KV v2 secrets over 50 paths.
    FiftyPaths,
    /// `FiveSecrets` with Vault and the ID-token issuer over TLS (a private OpenBao, `ca-certificate`; the
    /// CA in `SSL_CERT_FILE` for the issuer): the handshakes a job pays.
    Https,
    /// The 5 secrets of `FiveSecrets` through `vault-login exec -- true`: login, reads, the command,
    /// revoke, in one process (its "main" figure; no post step).
    Exec,
}

impl Kind {
    pub const ALL: [Kind; 6] = [Kind::Start, Kind::Login, Kind::FiveSecrets, Kind::FiftyPaths, Kind::Https, Kind::Exec];

    pub fn name(self) -> &'static str {
        match self {
            Kind::Start => "start",
            Kind::Login => "login",
            Kind::FiveSecrets => "5-secrets",
            Kind::FiftyPaths => "50-paths",
            Kind::Https => "https",
            Kind::Exec => "exec",
        }
    }

    pub fn from_name(name: &str) -> Option<Kind> {
        Kind::ALL.iter().find(|k| k.name() == name).copied()
    }

    /// The scenario as the summary table names it.
    pub fn label(self) -> &'static str {
        match self {
            Kind::Start => "process start only (`--version`, main only)",
            Kind::Login => "login only",
            Kind::FiveSecrets => "login + 5 secrets / 3 paths (kv2, kv1, postgres creds)",
            Kind::FiftyPaths => "login + 50 KV v2 secrets / 50 paths",
            Kind::Https => "login + 5 secrets / 3 paths, Vault over https (`ca-certificate`)",
            Kind::Exec => "`exec -- true` with the 5 secrets (login, reads, command, revoke)",
        }
    }
}

/// A provisioned app and what a run asks of it.
struct Plan {
    app: App,
    /// Where the step and the floor reach Vault, and the CA to trust there and at the issuer (https only).
    addr: String,
    ca_pem: Option<String>,
    /// The step's `SSL_CERT_FILE` (https only): the system's roots and the CA, for the ID-token request.
    roots: Option<PathBuf>,
    /// The `secrets` input ("" for none).
    secrets: String,
    /// Per distinct path: the path (for a mount lookup) and the API path the step reads.
    reads: Vec<(String, String)>,
    /// Export name -> value, checked on the first run.
    expected: Vec<(String, Option<String>)>,
}

/// Provisions, warms up, measures `runs` interleaved floor/step runs, then the peak RSS; the app is
/// removed on return. `step_env` is added to the step processes' environment.
pub async fn measure(kind: Kind, bin: &Path, runs: usize, step_env: &[(String, String)]) -> ScenarioResult {
    let services = Services::from_env();
    let tls = if kind == Kind::Https { Some(TlsServers::start(&services).await) } else { None };
    let issuer = match &tls {
        Some(tls) => tls.issuer.clone(),
        None => Issuer::start().await,
    };
    let target = tls.as_ref().map_or_else(|| services.clone(), |tls| tls.server.services(&services));
    let mut plan = provision(kind, &target, &issuer).await;
    if let Some(tls) = &tls {
        (plan.addr, plan.ca_pem, plan.roots) = (tls.addr.clone(), Some(tls.ca_pem.clone()), Some(tls.roots().into()));
    }
    let floor = Floor::new(&plan.addr, plan.ca_pem.as_deref(), &issuer, &plan.app, &plan.reads);
    let job = job(kind, &plan, bin, &[], step_env);
    check_first_run(kind, &plan, &issuer, &job).await;
    for _ in 0..WARMUP_RUNS {
        if kind != Kind::Start {
            floor.run().await;
        }
        step(kind, &job).await;
    }
    let requests = if kind == Kind::Start { 0 } else { floor.requests() };
    let mut result = ScenarioResult::new(kind.name(), kind.label(), requests);
    let before = Usage::children();
    for i in 0..runs {
        // Alternate which goes first, so that a drifting machine favours neither.
        if i % 2 == 1 {
            result.push_step(step(kind, &job).await);
        }
        if kind != Kind::Start {
            result.floor_ms.push(floor.run().await);
        }
        if i % 2 == 0 {
            result.push_step(step(kind, &job).await);
        }
    }
    result.set_cpu(&Usage::children().since(&before));
    result.max_rss_kib = peak_rss(kind, &plan, bin, step_env).await;
    result
}

/// The job a runner would run: `program args...` (plus `post` for the post step), the scenario's inputs.
fn job(kind: Kind, plan: &Plan, program: &Path, args: &[&str], env: &[(String, String)]) -> Job {
    let mut args = args.to_vec();
    if kind == Kind::Start {
        args.push("--version");
    }
    let mut job = plan.app.job().program(program, &args);
    job = job.input("url", &plan.addr).input("mount", &plan.app.mount);
    if let Some(ca) = &plan.ca_pem {
        job = job.input("ca-certificate", ca);
    }
    if let Some(roots) = &plan.roots {
        job = job.env("SSL_CERT_FILE", roots.to_str().expect("a UTF-8 path"));
    }
    if !plan.secrets.is_empty() {
        job = job.input("secrets", &plan.secrets);
    }
    env.iter().fold(job, |job, (name, value)| job.env(name, value))
}

/// The largest peak RSS of the step's processes, each run through `--rusage-to` (see `measure.rs`).
async fn peak_rss(kind: Kind, plan: &Plan, bin: &Path, env: &[(String, String)]) -> u64 {
    let dir = tempfile::tempdir().expect("temporary directory");
    let out = dir.path().join("maxrss");
    let exe = std::env::current_exe().expect("the benchmark's own path");
    let (out_arg, bin_arg) = (out.to_str().expect("UTF-8 path"), bin.to_str().expect("UTF-8 path"));
    let job = job(kind, plan, &exe, &["--rusage-to", out_arg, bin_arg], env);
    let mut peak = 0;
    for _ in 0..RSS_RUNS {
        if kind == Kind::Exec {
            assert_eq!(job.run_exec(&["true"]).await.code, Some(0));
            peak = peak.max(read_kib(&out));
            continue;
        }
        let main = job.run_main().await;
        main.assert_success();
        peak = peak.max(read_kib(&out));
        if kind != Kind::Start {
            job.run_post(&main).await.assert_success();
            peak = peak.max(read_kib(&out));
        }
    }
    peak
}

/// One step run: main, then post with main's state (or `exec -- true` alone). Returns the wall times of
/// both, in ms.
async fn step(kind: Kind, job: &Job) -> (f64, f64) {
    let start = Instant::now();
    if kind == Kind::Exec {
        let exec = job.run_exec(&["true"]).await;
        let exec_ms = ms(start.elapsed());
        assert_eq!(exec.code, Some(0), "exec -- true failed:\n{exec:?}");
        assert!(exec.stdout.contains("revoked at"), "exec did not revoke:\n{exec:?}");
        return (exec_ms, 0.0);
    }
    let main = job.run_main().await;
    let main_ms = ms(start.elapsed());
    main.assert_success();
    if kind == Kind::Start {
        return (main_ms, 0.0);
    }
    let start = Instant::now();
    let post = job.run_post(&main).await;
    let post_ms = ms(start.elapsed());
    post.assert_success();
    // The post step never fails the job: make sure it did revoke, or the run measured something else.
    assert!(post.stdout.contains("Revoked the Vault token"), "the post step did not revoke:\n{post:?}");
    (main_ms, post_ms)
}

/// The first run must export what the scenario asks for, leak nothing, and leave no live token.
async fn check_first_run(kind: Kind, plan: &Plan, issuer: &Issuer, job: &Job) {
    if kind == Kind::Exec {
        let script = r#"test -n "$PGPASSWORD" && test -n "$TOKEN" && test -n "$VAULT_TOKEN""#;
        let exec = job.run_exec(&["sh", "-c", script]).await;
        assert_eq!(exec.code, Some(0), "the command lacked a secret:\n{exec:?}");
        assert!(exec.raw_env_file.is_empty(), "exec exported nothing:\n{exec:?}");
        assert!(plan.app.live_tokens().await.is_empty(), "exec left a live token");
        return;
    }
    let main = job.run_main().await;
    main.assert_success();
    if kind == Kind::Start {
        assert!(main.stdout.starts_with("vault-login "), "--version printed:\n{main:?}");
        return;
    }
    let mut secrets: Vec<String> = vec![main.env["VAULT_TOKEN"].clone()];
    secrets.extend(issuer.issued_tokens());
    for (name, value) in &plan.expected {
        let got = exported(&main, name);
        if let Some(value) = value {
            assert_eq!(&got, value, "{name}");
        }
        secrets.push(got);
    }
    assert_no_leak(&main, &secrets.iter().map(String::as_str).collect::<Vec<_>>());
    job.run_post(&main).await.assert_success();
    assert!(plan.app.live_tokens().await.is_empty(), "the post step left a live token");
}

fn exported(main: &StepResult, name: &str) -> String {
    let value = main.env.get(name).cloned().unwrap_or_else(|| panic!("{name} was not exported:\n{main:?}"));
    assert!(!value.is_empty(), "{name} is empty");
    value
}

async fn provision(kind: Kind, services: &Services, issuer: &Issuer) -> Plan {
    let mut options = AppOptions::new();
    let mut expected = Vec::new();
    match kind {
        Kind::Start | Kind::Login => {}
        Kind::FiveSecrets | Kind::Https | Kind::Exec => {
            let (host, key, token) = (random_hex(6), random_hex(16), random_hex(16));
            options = options
                .kv2("config", json!({ "db_host": host, "api_key": key }))
                .kv1("legacy", json!({ "token": token }));
            let names = ["DB_HOST", "API_KEY", "TOKEN", "PGUSER", "PGPASSWORD"];
            let values = [Some(host), Some(key), Some(token), None, None];
            expected = names.into_iter().map(str::to_owned).zip(values).collect();
        }
        Kind::FiftyPaths => {
            for i in 0..50 {
                let value = format!("v{i:02}-{}", random_hex(8));
                options = options.kv2(&format!("s{i:02}"), json!({ format!("value_{i:02}"): value }));
                expected.push((format!("VALUE_{i:02}"), Some(value)));
            }
        }
    }
    let app = App::provision(services, issuer, options).await;
    let a = &app.name;
    let (secrets, reads) = match kind {
        Kind::Start | Kind::Login => (String::new(), Vec::new()),
        Kind::FiveSecrets | Kind::Https | Kind::Exec => {
            provision_database(services, &app).await;
            let secrets = format!(
                "kvv2/{a}/config db_host\nkvv2/{a}/config api_key\nkv/{a}/legacy token\n\
                 postgres/creds/{a} username | PGUSER\npostgres/creds/{a} password | PGPASSWORD"
            );
            let reads = [
                (format!("kvv2/{a}/config"), format!("kvv2/data/{a}/config")),
                (format!("kv/{a}/legacy"), format!("kv/{a}/legacy")),
                (format!("postgres/creds/{a}"), format!("postgres/creds/{a}")),
            ];
            (secrets, reads.to_vec())
        }
        Kind::FiftyPaths => {
            let lines: Vec<String> = (0..50).map(|i| format!("kvv2/{a}/s{i:02} value_{i:02}")).collect();
            let reads = (0..50).map(|i| (format!("kvv2/{a}/s{i:02}"), format!("kvv2/data/{a}/s{i:02}"))).collect();
            (lines.join("\n"), reads)
        }
    };
    Plan { app, addr: services.bao.addr().to_owned(), ca_pem: None, roots: None, secrets, reads, expected }
}

/// `postgres/config/<app>` and `postgres/roles/<app>` like `AppOptions::database`, but without its group
/// role: that one is created with `psql`, a child process whose RSS would be counted as the step's.
/// The app's `Drop` removes both (and revokes any lease left).
async fn provision_database(services: &Services, app: &App) {
    let (bao, pg, name) = (&services.bao, &services.pg, &app.name);
    let config = json!({
        "plugin_name": "postgresql-database-plugin",
        "connection_url": pg.vault_connection_url(),
        "username": pg.user, "password": pg.password,
        "allowed_roles": name, "verify_connection": true,
        "max_open_connections": 2, "max_idle_connections": 1, "max_connection_lifetime": "30s",
    });
    bao.write(&format!("postgres/config/{name}"), config).await;
    let creation = "CREATE ROLE \"{{name}}\" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}';";
    let role = json!({ "db_name": name, "creation_statements": [creation], "default_ttl": "5m", "max_ttl": "1h" });
    bao.write(&format!("postgres/roles/{name}"), role).await;
}
