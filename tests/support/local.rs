//! Running the binary outside any runner, as a person does on a laptop: a cleared environment (only
//! PATH, a throwaway HOME, and what the test adds), in a directory the test chooses. For the dry run,
//! `fake-token` and `diagnose`.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use super::StepResult;

/// Runs `vault-login <args>` in `dir` with only PATH, HOME=`dir` (no user git config) and `env`.
pub async fn run_local(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> StepResult {
    let mut vars: BTreeMap<String, String> = BTreeMap::new();
    vars.insert("PATH".into(), std::env::var("PATH").unwrap_or_default());
    vars.insert("HOME".into(), dir.display().to_string());
    vars.insert("GIT_CONFIG_NOSYSTEM".into(), "1".into());
    vars.extend(env.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_vault-login"));
    command.args(args).env_clear().envs(&vars).current_dir(dir);
    let mut result = capture(command, Duration::from_secs(60)).await;
    result.process_env = vars;
    result
}

/// Runs `command` with no stdin, killed after `limit`; its exit code and output as a [`StepResult`].
pub async fn capture(mut command: tokio::process::Command, limit: Duration) -> StepResult {
    let what = format!("{:?}", command.as_std().get_program());
    let child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| panic!("spawn {what}: {e}"));
    let out = tokio::time::timeout(limit, child.wait_with_output())
        .await
        .unwrap_or_else(|_| panic!("{what} still running after {limit:?}: killed"))
        .unwrap_or_else(|e| panic!("wait for {what}: {e}"));
    let mut result =
        StepResult::synthetic(&String::from_utf8_lossy(&out.stdout), &String::from_utf8_lossy(&out.stderr));
    result.code = out.status.code();
    result
}
