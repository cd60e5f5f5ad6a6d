//! The action as a release tag holds it: `action.yml`, `shim/`, and a `dist/` whose binary is the one
//! cargo built, listed in `SHA256SUMS`. The shim then takes its job path (only a checksum-verified binary
//! runs, whatever the environment says), exactly as on a runner.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// Lays the release out at `into` (once per job) and returns its folder.
pub fn install(action: &Path, binary: &Path, into: &Path) -> Result<PathBuf, String> {
    if into.exists() {
        return Ok(into.to_owned());
    }
    let fail = |what: &str, e: std::io::Error| format!("laying out the release ({what}): {e}");
    for dir in ["shim", "dist"] {
        std::fs::create_dir_all(into.join(dir)).map_err(|e| fail(dir, e))?;
    }
    std::fs::copy(action.join("action.yml"), into.join("action.yml")).map_err(|e| fail("action.yml", e))?;
    for entry in std::fs::read_dir(action.join("shim")).map_err(|e| fail("shim/", e))? {
        let path = entry.map_err(|e| fail("shim/", e))?.path();
        let name = path.file_name().expect("a file name");
        std::fs::copy(&path, into.join("shim").join(name)).map_err(|e| fail("shim/", e))?;
    }
    let name = format!("vault-login-linux-{}", node_arch());
    std::os::unix::fs::symlink(binary, into.join("dist").join(&name)).map_err(|e| fail("dist/", e))?;
    let sums = format!("{}  {name}\n", checksum(binary));
    std::fs::write(into.join("dist/SHA256SUMS"), sums).map_err(|e| fail("SHA256SUMS", e))?;
    Ok(into.to_owned())
}

/// The binary's SHA-256, computed once: cargo builds it before any test runs.
fn checksum(binary: &Path) -> &'static str {
    static SUM: OnceLock<String> = OnceLock::new();
    SUM.get_or_init(|| {
        let out = Command::new("sha256sum").arg(binary).output().expect("sha256sum");
        assert!(out.status.success(), "sha256sum {}", binary.display());
        String::from_utf8(out.stdout).expect("hex").split_whitespace().next().expect("a checksum").to_owned()
    })
}

/// The architecture as node's `process.arch` names it, which picks the release binary.
fn node_arch() -> &'static str {
    match std::env::consts::ARCH {
        "aarch64" => "arm64",
        _ => "x64",
    }
}
