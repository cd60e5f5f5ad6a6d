//! The action as a release tag holds it: `action.yml`, `shim/`, and a `dist/` whose `SHA256SUMS` lists the
//! binary cargo built. A release made by the release workflow has only `SHA256SUMS` and `RELEASE_URL` in
//! `dist/` (the shim downloads the asset from there); a fork that vendors the binaries, or a release made
//! before they became assets, also has the binary itself. The shim then takes its job path (only a
//! checksum-verified binary runs, whatever the environment says), exactly as on a runner.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// Where the binary of a laid-out release comes from.
#[derive(Clone, Copy, Debug)]
pub enum Delivery<'a> {
    /// In `dist/` beside the shim.
    Vendored,
    /// Downloaded from this base URL, written to `dist/RELEASE_URL`.
    Asset(&'a str),
}

/// Lays the release out at `into` (once per job) and returns its folder.
pub fn install(action: &Path, binary: &Path, into: &Path, delivery: Delivery) -> Result<PathBuf, String> {
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
    let binary = pinned(binary);
    match delivery {
        Delivery::Vendored => {
            std::os::unix::fs::symlink(binary, into.join("dist").join(&name)).map_err(|e| fail("dist/", e))?;
        }
        Delivery::Asset(base) => {
            std::fs::write(into.join("dist/RELEASE_URL"), format!("{base}\n")).map_err(|e| fail("RELEASE_URL", e))?;
        }
    }
    let sums = format!("{}  {name}\n", checksum(binary));
    std::fs::write(into.join("dist/SHA256SUMS"), sums).map_err(|e| fail("SHA256SUMS", e))?;
    Ok(into.to_owned())
}

/// The binary under test, pinned for the whole test process: a copy without debug information (as the
/// release profile strips it; the debug build's 100 MiB would also exceed the size the shim accepts for a
/// download), so that a rebuild during the run (cargo replaces `target/debug/vault-login`) cannot change what
/// the shim verifies against the checksum taken once below.
pub fn pinned(binary: &Path) -> &'static Path {
    static PINNED: OnceLock<PathBuf> = OnceLock::new();
    PINNED.get_or_init(|| {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR"));
        let (staged, pinned) = (dir.join(format!("vault-login-{}", std::process::id())), dir.join("vault-login"));
        let _ = std::fs::remove_file(&staged);
        let status = Command::new("strip").arg("--strip-debug").arg("-o").arg(&staged).arg(binary).status();
        assert!(status.is_ok_and(|s| s.success()), "strip --strip-debug {} (binutils)", binary.display());
        std::fs::rename(&staged, &pinned).expect("pin the binary");
        pinned
    })
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
pub fn node_arch() -> &'static str {
    match std::env::consts::ARCH {
        "aarch64" => "arm64",
        _ => "x64",
    }
}
