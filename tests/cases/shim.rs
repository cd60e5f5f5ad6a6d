//! The node shim as a release ships it: `dist/` with `SHA256SUMS` in `sha256sum`'s format, and either the
//! binaries (vendored) or `RELEASE_URL`, the base of the release's assets, which the shim downloads from an
//! asset host the test runs. It runs a binary only when its checksum matches, says plainly what is wrong
//! otherwise, and the post shim never fails the job. The "binary" here is a small shell script, so these
//! tests need no build.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::Proxy;
use crate::support::assets::{AssetHost, Reply};
use crate::support::emulator::release::node_arch;

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
        for entry in std::fs::read_dir(root.join("shim")).expect("shim/") {
            let path = entry.expect("shim/").path();
            let name = path.file_name().expect("a file name");
            std::fs::copy(&path, dir.path().join("shim").join(name)).expect("copy the shim");
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

    /// A release as the release workflow makes it: no binaries, `RELEASE_URL` = `base`.
    fn assets(script: &str, base: &str) -> Release {
        let release = Release::new(script);
        for name in RELEASE_NAMES {
            std::fs::remove_file(release.dist().join(name)).expect("remove the binary");
        }
        std::fs::write(release.dist().join("RELEASE_URL"), format!("{base}\n")).expect("write RELEASE_URL");
        release
    }

    /// The files under the runner's tool cache (a download's, and its leftovers).
    fn cached_files(&self) -> Vec<PathBuf> {
        fn walk(dir: &Path, found: &mut Vec<PathBuf>) {
            for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
                let path = entry.path();
                if path.is_dir() { walk(&path, found) } else { found.push(path) }
            }
        }
        let mut found = Vec::new();
        walk(&self.dir.path().join("tool-cache"), &mut found);
        found
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

    /// `node shim/<script>` with only `PATH`, a tool cache of this release's own, and `env` set.
    fn command(&self, script: &str, env: &[(&str, &str)]) -> Command {
        let mut command = Command::new("node");
        command
            .arg(self.dir.path().join("shim").join(script))
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("RUNNER_TOOL_CACHE", self.dir.path().join("tool-cache"))
            .envs(env.iter().copied());
        command
    }

    /// Runs [`Release::command`] to its end: its exit code and output.
    fn run_with(&self, script: &str, env: &[(&str, &str)]) -> (i32, String) {
        let out = self.command(script, env).output().expect("run node");
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
    let no_binary = Release::assets(OK_BINARY, "https://unused.invalid/");
    std::fs::remove_file(no_binary.dist().join("RELEASE_URL")).expect("remove");
    let no_line = Release::new(OK_BINARY);
    std::fs::write(no_line.dist().join("SHA256SUMS"), "0000  something-else\n").expect("write");
    let not_hex = Release::new(OK_BINARY);
    let sums = RELEASE_NAMES.map(|n| format!("../../etc  {n}\n")).concat();
    std::fs::write(not_hex.dist().join("SHA256SUMS"), sums).expect("write");
    let cases = [
        (not_hex, "dist/SHA256SUMS: the checksum for vault-login-linux-"),
        (no_sums, "dist/SHA256SUMS is missing: use a release tag such as arcodange/vault-login@v1"),
        (no_binary, "dist/RELEASE_URL is missing and the `release-url` input is empty: use a release tag such as"),
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

/// `GET` of this machine's release asset, as the asset host records it.
fn asset_request() -> String {
    format!("GET /releases/download/v1.0.0/vault-login-linux-{}", node_arch())
}

#[test]
fn a_release_asset_is_downloaded_verified_run_and_then_taken_from_the_cache() {
    let host = AssetHost::start(Reply::asset(OK_BINARY));
    let release = Release::assets(OK_BINARY, &host.base_url());
    assert_eq!(release.run("main.js"), (0, "binary ran: \n".to_owned()));
    assert_eq!(host.requests(), [asset_request()]);
    let cached = release.cached_files();
    assert_eq!(cached.len(), 1, "only the binary, no temp file: {cached:?}");
    assert!(cached[0].ends_with("vault-login"), "{cached:?}");

    assert_eq!(release.run("post.js"), (0, "binary ran: post\n".to_owned()));
    assert_eq!(host.requests().len(), 1, "the second run used the cache: {:?}", host.requests());
}

#[test]
fn a_cached_copy_that_no_longer_matches_is_downloaded_again() {
    let host = AssetHost::start(Reply::asset(OK_BINARY));
    let release = Release::assets(OK_BINARY, &host.base_url());
    assert_eq!(release.run("main.js").0, 0);
    std::fs::write(&release.cached_files()[0], "#!/bin/sh\necho 'swapped binary ran'\n").expect("swap");
    let (code, out) = release.run("main.js");
    assert_eq!((code, out.as_str()), (0, "binary ran: \n"));
    assert_eq!(host.requests().len(), 2);
}

#[test]
fn bytes_that_do_not_match_the_checksum_are_refused_and_not_kept() {
    let host = AssetHost::start(Reply::asset("#!/bin/sh\necho 'evil binary ran'\n"));
    let release = Release::assets(OK_BINARY, &host.base_url());
    let (code, out) = release.run("main.js");
    assert_eq!(code, 1, "{out}");
    assert!(out.starts_with("::error::vault-login: http://127.0.0.1:"), "{out}");
    assert!(out.contains("does not match its checksum in dist/SHA256SUMS (expected "), "{out}");
    assert!(out.contains("Does `release-url` point at the assets of this same release?"), "{out}");
    assert!(!out.contains("evil binary ran"), "{out}");
    assert_eq!(host.requests().len(), 1, "a wrong checksum is not retried");
    assert_eq!(release.cached_files(), Vec::<PathBuf>::new(), "nothing is left in the cache");
}

#[test]
fn a_404_is_not_retried_and_names_the_fix() {
    let host = AssetHost::start(Reply::Status(404));
    let release = Release::assets(OK_BINARY, &host.base_url());
    let (code, out) = release.run("main.js");
    assert_eq!(code, 1, "{out}");
    assert!(out.contains(&format!("the release asset at {}vault-login-linux-", host.base_url())), "{out}");
    assert!(out.contains("returned 404: is the tag a release with its assets attached?"), "{out}");
    assert!(out.contains("set the `release-url` input"), "{out}");
    assert_eq!(host.requests().len(), 1, "a 404 is not retried");
    assert_eq!(release.cached_files(), Vec::<PathBuf>::new());
}

#[test]
fn a_503_is_retried() {
    let host = AssetHost::start(Reply::asset(OK_BINARY)).then(Reply::Status(503));
    let release = Release::assets(OK_BINARY, &host.base_url());
    assert_eq!(release.run("main.js"), (0, "binary ran: \n".to_owned()));
    assert_eq!(host.requests(), [asset_request(), asset_request()]);
}

#[test]
fn a_redirect_to_another_host_is_followed() {
    let storage = AssetHost::start(Reply::asset(OK_BINARY));
    let forge = AssetHost::start(Reply::Redirect(format!("{}vault-login-linux-{}", storage.base_url(), node_arch())));
    let release = Release::assets(OK_BINARY, &forge.base_url());
    assert_eq!(release.run("main.js"), (0, "binary ran: \n".to_owned()));
    assert_eq!((forge.requests().len(), storage.requests().len()), (1, 1));
}

#[test]
fn an_endless_body_is_cut_off_at_the_size_cap() {
    let host = AssetHost::start(Reply::Endless);
    let release = Release::assets(OK_BINARY, &host.base_url());
    let (code, out) = release.run("main.js");
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("sent more than the 67108864 byte cap: not a vault-login binary"), "{out}");
    assert_eq!(host.requests().len(), 1, "an oversize body is not retried");
    assert_eq!(release.cached_files(), Vec::<PathBuf>::new(), "nothing is left in the cache");
}

#[test]
fn the_release_url_input_overrides_dist_release_url() {
    let origin = AssetHost::start(Reply::Status(404));
    let mirror = AssetHost::start(Reply::asset(OK_BINARY));
    let release = Release::assets(OK_BINARY, &origin.base_url());
    let base = mirror.base_url();
    let env = [("GITHUB_ACTIONS", "true"), ("INPUT_RELEASE-URL", base.trim_end_matches('/'))];
    assert_eq!(release.run_with("main.js", &env), (0, "binary ran: \n".to_owned()));
    assert_eq!((origin.requests().len(), mirror.requests().len()), (0, 1));
}

#[test]
fn plain_http_is_refused_except_to_loopback() {
    let release = Release::assets(OK_BINARY, "http://assets.example.org/releases/download/v1.0.0/");
    let (code, out) = release.run("main.js");
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("release assets are fetched over https only (plain http to loopback hosts only)"), "{out}");
}

#[tokio::test(flavor = "multi_thread")]
async fn https_proxy_tunnels_the_download_unless_no_proxy_names_the_host() {
    let certified = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned()]).expect("a certificate");
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(certified.signing_key.serialize_der().into());
    let host = AssetHost::start_tls(Reply::asset(OK_BINARY), certified.cert.der().clone(), key);
    let proxy = Proxy::http_proxy().await;
    let release = Release::assets(OK_BINARY, &host.base_url());
    let ca = release.dir.path().join("ca.pem");
    std::fs::write(&ca, certified.cert.pem()).expect("write the CA");
    let (ca, proxy_url) = (ca.to_str().expect("a UTF-8 path").to_owned(), proxy.url());
    let env = [("GITHUB_ACTIONS", "true"), ("NODE_EXTRA_CA_CERTS", ca.as_str()), ("HTTPS_PROXY", proxy_url.as_str())];
    let run = |env: &[(&str, &str)]| tokio::task::block_in_place(|| release.run_with("main.js", env));
    assert_eq!(run(&env), (0, "binary ran: \n".to_owned()));
    let authority = host.base_url().split('/').nth(2).expect("host:port").to_owned();
    assert_eq!(proxy.proxied(), [format!("CONNECT {authority}")]);

    std::fs::remove_dir_all(release.dir.path().join("tool-cache")).expect("empty the cache");
    assert_eq!(run(&[&env[..], &[("NO_PROXY", "example.org,127.0.0.1")]].concat()), (0, "binary ran: \n".to_owned()));
    assert_eq!(proxy.proxied().len(), 1, "NO_PROXY bypassed the proxy");
    assert_eq!(host.requests().len(), 2);
}

#[test]
fn a_download_stopped_by_a_signal_leaves_nothing_behind() {
    let host = AssetHost::start(Reply::Stall);
    let release = Release::assets(OK_BINARY, &host.base_url());
    let mut node = release.command("main.js", &[("GITHUB_ACTIONS", "true")]).spawn().expect("run node");
    host.wait_for_requests(1);
    crate::support::signal(i32::try_from(node.id()).expect("a pid"), "TERM");
    let status = node.wait().expect("node's status");
    assert_eq!(std::os::unix::process::ExitStatusExt::signal(&status), Some(libc::SIGTERM), "{status:?}");
    assert_eq!(release.cached_files(), Vec::<PathBuf>::new(), "the partial download is gone");
}

#[test]
fn an_untrusted_certificate_is_not_retried_and_names_the_fix() {
    let certified = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned()]).expect("a certificate");
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(certified.signing_key.serialize_der().into());
    let host = AssetHost::start_tls(Reply::asset(OK_BINARY), certified.cert.der().clone(), key);
    let release = Release::assets(OK_BINARY, &host.base_url());
    let (code, out) = release.run("main.js");
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("the server's certificate is not trusted (for a private CA, set NODE_EXTRA_CA_CERTS"),
        "{out}"
    );
    assert!(!out.contains("attempts"), "not retried: {out}");
}

#[test]
fn credentials_in_the_release_url_never_show() {
    let host = AssetHost::start(Reply::Status(404));
    let release = Release::assets(OK_BINARY, &host.base_url().replace("http://", "http://ci:s3cret-77@"));
    let (code, out) = release.run("main.js");
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("returned 404") && !out.contains("s3cret-77"), "{out}");
}

#[test]
fn more_than_five_redirects_are_refused() {
    let host = AssetHost::start(Reply::asset(OK_BINARY));
    let again = format!("{}vault-login-linux-{}", host.base_url(), node_arch());
    let host = (0..6).fold(host, |host, _| host.then(Reply::Redirect(again.clone())));
    let release = Release::assets(OK_BINARY, &host.base_url());
    let (code, out) = release.run("main.js");
    assert_eq!(code, 1, "{out}");
    assert!(out.contains(": more than 5 redirects"), "{out}");
    assert_eq!(host.requests().len(), 6, "the first request and five redirects, not retried");
}
