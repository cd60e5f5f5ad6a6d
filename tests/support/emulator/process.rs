//! Starting a stage's process the way a runner does.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;
use std::process::Stdio;

/// Runs `program` with exactly `env`, stdout and stderr into one pipe (as the runner reads them).
pub(super) async fn spawn(
    program: &str,
    args: &[&str],
    env: &BTreeMap<String, String>,
    cwd: &Path,
    timeout: std::time::Duration,
) -> (Option<i32>, String) {
    let (mut reader, writer) = std::io::pipe().expect("pipe");
    let mut command = tokio::process::Command::new(program);
    command
        .args(args)
        .env_clear()
        .envs(env)
        .current_dir(cwd)
        .stdin(Stdio::null())
        .stdout(writer.try_clone().expect("pipe clone"))
        .stderr(writer)
        .kill_on_drop(true);
    let mut child = command.spawn().unwrap_or_else(|e| panic!("spawn {program}: {e}"));
    drop(command);
    let reading = tokio::task::spawn_blocking(move || {
        let mut bytes = Vec::new();
        let _ = reader.read_to_end(&mut bytes);
        String::from_utf8_lossy(&bytes).into_owned()
    });
    let status = match tokio::time::timeout(timeout, child.wait()).await {
        Ok(status) => status.expect("wait for the step"),
        Err(_) => {
            let _ = child.kill().await;
            panic!("`{program} {args:?}` still running after {timeout:?}: killed");
        }
    };
    let output = reading.await.expect("reading the step's output");
    (status.code(), output)
}
