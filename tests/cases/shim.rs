//! The node shim as a release ships it: `dist/` with the binaries and `SHA256SUMS` in `sha256sum`'s format.
//! It runs the binary only when its checksum matches, says plainly what is wrong otherwise, and the post
//! shim never fails the job. The "binary" here is a small shell script, so these tests need no build.

use std::path::{Path, PathBuf};
use std::process::Command;

/// A copy of the action with a `dist/` holding `script` under both release names.
struct Release {
    dir: tempfile::TempDir,
}

const RELEASE_NAMES: [&str; 2] = ["vault-login-linux-x64", "vault-login-linux-arm64"];

impl Release {
    /// The action's shim plus a `dist/` whose binaries are `script` and whose sums come from `sha256sum`.
    fn new(script: &str) -> Release {
        let dir = tempfile::tempdir().expect("temp dir");
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        for sub in ["shim", "dist"] {
            std::fs::create_dir(dir.path().join(sub)).expect("folder");
        }
        for name in ["main.js", "post.js", "run.js"] {
            std::fs::copy(root.join("shim").join(name), dir.path().join("shim").join(name)).expect("copy the shim");
        }
        let release = Release { dir };
        for name in RELEASE_NAMES {
            release.write_binary(name, script);
        }
        let sums =
            Command::new("sha256sum").args(RELEASE_NAMES).current_dir(release.dist()).output().expect("sha256sum");
        assert!(sums.status.success());
        std::fs::write(release.dist().join("SHA256SUMS"), sums.stdout).expect("write SHA256SUMS");
        release
    }

    fn dist(&self) -> PathBuf {
        self.dir.path().join("dist")
    }

    fn write_binary(&self, name: &str, script: &str) {
        let path = self.dist().join(name);
        std::fs::write(&path, script).expect("write the binary");
        let status = Command::new("chmod").arg("+x").arg(&path).status().expect("chmod");
        assert!(status.success());
    }

    /// Appends a byte to every binary, after the sums were taken.
    fn tamper(&self) {
        for name in RELEASE_NAMES {
            let path = self.dist().join(name);
            let mut bytes = std::fs::read(&path).expect("read");
            bytes.extend_from_slice(b"\n# tampered\n");
            std::fs::write(&path, bytes).expect("write");
        }
    }

    /// `node shim/<script>` with a runner-like environment (no VAULT_LOGIN_BIN: the release path).
    fn run(&self, script: &str) -> (i32, String) {
        self.run_with(script, &[("GITHUB_ACTIONS", "true")])
    }

    /// `node shim/<script>` with only `PATH` and `env` set.
    fn run_with(&self, script: &str, env: &[(&str, &str)]) -> (i32, String) {
        let out = Command::new("node")
            .arg(self.dir.path().join("shim").join(script))
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .envs(env.iter().copied())
            .output()
            .expect("run node");
        let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        (out.status.code().expect("an exit code"), text)
    }
}

const OK_BINARY: &str = "#!/bin/sh\necho \"binary ran: $*\"\n";

#[test]
fn a_matching_checksum_runs_the_binary_with_the_stage_argument() {
    let release = Release::new(OK_BINARY);
    assert_eq!(release.run("main.js"), (0, "binary ran: \n".to_owned()));
    assert_eq!(release.run("post.js"), (0, "binary ran: post\n".to_owned()));
}

#[test]
fn binary_mode_checksum_lines_are_accepted() {
    let release = Release::new(OK_BINARY);
    let sums = std::fs::read_to_string(release.dist().join("SHA256SUMS")).expect("sums");
    std::fs::write(release.dist().join("SHA256SUMS"), sums.replace("  vault-login", " *vault-login")).expect("write");
    assert_eq!(release.run("main.js").0, 0);
}

#[test]
fn a_tampered_binary_is_refused_with_both_checksums() {
    let release = Release::new(OK_BINARY);
    release.tamper();
    let (code, out) = release.run("main.js");
    assert_eq!(code, 1, "{out}");
    assert!(out.starts_with("::error::vault-login: vault-login-linux-"), "{out}");
    assert!(out.contains("does not match its checksum in dist/SHA256SUMS (expected "), "{out}");
    assert!(out.contains("refusing to run it"), "{out}");
    assert!(!out.contains("binary ran"), "the binary must not run: {out}");
}

#[test]
fn missing_sums_binary_or_line_are_explained() {
    let no_sums = Release::new(OK_BINARY);
    std::fs::remove_file(no_sums.dist().join("SHA256SUMS")).expect("remove");
    let no_binary = Release::new(OK_BINARY);
    for name in RELEASE_NAMES {
        std::fs::remove_file(no_binary.dist().join(name)).expect("remove");
    }
    let no_line = Release::new(OK_BINARY);
    std::fs::write(no_line.dist().join("SHA256SUMS"), "0000  something-else\n").expect("write");
    let cases = [
        (no_sums, "dist/SHA256SUMS is missing: use a release tag such as arcodange/vault-login@v1"),
        (no_binary, "is missing from dist/: use a release tag such as arcodange/vault-login@v1"),
        (no_line, "dist/SHA256SUMS has no checksum for vault-login-linux-"),
    ];
    for (release, message) in cases {
        let (code, out) = release.run("main.js");
        assert_eq!(code, 1, "{out}");
        assert!(out.starts_with("::error::vault-login: ") && out.contains(message), "want {message:?}, got {out}");
    }
}

#[test]
fn the_post_shim_never_fails_the_job() {
    let tampered = Release::new(OK_BINARY);
    tampered.tamper();
    let (code, out) = tampered.run("post.js");
    assert_eq!(code, 0, "{out}");
    assert!(out.starts_with("::warning::vault-login: "), "a problem is a warning in the post step: {out}");

    let failing = Release::new("#!/bin/sh\necho 'post failed'\nexit 3\n");
    let (code, out) = failing.run("post.js");
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("::warning::vault-login: "), "{out}");

    let killed = Release::new("#!/bin/sh\nkill -KILL $$\n");
    let (code, out) = killed.run("post.js");
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("::warning::vault-login: vault-login was killed by SIGKILL"), "{out}");
    let (code, _) = killed.run("main.js");
    assert_eq!(code, 1, "the main step does fail");
}

#[test]
fn vault_login_bin_picks_a_local_build_but_is_ignored_in_a_job() {
    let release = Release::new(OK_BINARY);
    let planted = release.dir.path().join("planted");
    std::fs::write(&planted, "#!/bin/sh\necho 'planted binary ran'\n").expect("write");
    let status = Command::new("chmod").arg("+x").arg(&planted).status().expect("chmod");
    assert!(status.success());
    let planted = planted.to_str().expect("a UTF-8 path");

    for script in ["main.js", "post.js"] {
        let (code, out) = release.run_with(script, &[("GITHUB_ACTIONS", "true"), ("VAULT_LOGIN_BIN", planted)]);
        assert_eq!(code, 0, "{out}");
        assert!(!out.contains("planted binary ran"), "an exported variable must not pick the binary in a job: {out}");
        assert!(out.contains("::warning::vault-login: VAULT_LOGIN_BIN is ignored in a job"), "{out}");
        assert!(out.contains("binary ran:"), "the verified release binary ran instead: {out}");
    }
    let (code, out) = release.run_with("main.js", &[("VAULT_LOGIN_BIN", planted)]);
    assert_eq!((code, out.as_str()), (0, "planted binary ran\n"), "outside a job the override is honoured");
}
