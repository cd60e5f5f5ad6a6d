//! Puts `vault-login` on later steps' `PATH`, so that a `run:` step can call `vault-login exec -- CMD`.
//!
//! What is placed there is this very binary, the one the shim verified against `dist/SHA256SUMS`: linked
//! (or, across file systems, copied) into a folder of its own in `RUNNER_TEMP`, which goes to
//! `GITHUB_PATH`. A folder of its own, so that nothing else of `RUNNER_TEMP` lands on `PATH`. The role,
//! mount and audience go to `GITHUB_ENV` as `VAULT_LOGIN_*`, for `exec` to read back.

use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result};

use crate::config::Config;
use crate::runner::Log;

/// The folder in `RUNNER_TEMP` that goes on `PATH`.
const BIN_DIR: &str = "vault-login-bin";

/// Links this binary into `RUNNER_TEMP` and adds that folder to `GITHUB_PATH`.
pub fn install<W: Write>(config: &Config, log: &mut Log<W>) -> Result<()> {
    if config.files.path.is_none() {
        log.debug("no GITHUB_PATH: vault-login is not put on PATH");
        return Ok(());
    }
    let exe = std::env::current_exe().context("finding this binary, to put it on PATH")?;
    let dir = config.runner_temp.join(BIN_DIR);
    place(&exe, &dir).with_context(|| format!("putting vault-login in {}", dir.display()))?;
    config.files.write_path(&dir).context("adding vault-login to PATH (GITHUB_PATH)")?;
    config.files.write_env(&left_for_exec(config)).context("leaving exec's settings (GITHUB_ENV)")?;
    log.info("vault-login is on PATH for later steps: `vault-login exec --secrets '...' -- CMD`");
    Ok(())
}

/// What `exec` reads back in later steps, so that `role`, `mount` and `audience` are said once. Install-only
/// runs export nothing else, so they leave the address and namespace too; a full run exported them.
fn left_for_exec(config: &Config) -> Vec<(&'static str, &str)> {
    let mut entries = vec![("VAULT_LOGIN_ROLE", config.role.as_str()), ("VAULT_LOGIN_MOUNT", config.mount.as_str())];
    entries.push(("VAULT_LOGIN_AUDIENCE", config.audience.as_str()));
    if config.install_only && !config.addr_is_placeholder {
        entries.push(("VAULT_ADDR", config.addr_text()));
    }
    if let (true, Some(namespace)) = (config.install_only, &config.namespace) {
        entries.push(("VAULT_NAMESPACE", namespace.as_str()));
    }
    entries
}

fn place(exe: &Path, dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let target = dir.join("vault-login");
    match std::fs::remove_file(&target) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
        _ => {}
    }
    std::fs::hard_link(exe, &target).or_else(|_| std::fs::copy(exe, &target).map(drop))
}
