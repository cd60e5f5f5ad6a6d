//! What a runner would tell the step, guessed from the local git checkout (dry runs outside CI).

use std::path::Path;
use std::process::Command;

use crate::config::JobContext;

/// Repository, ref and sha of the checkout at `dir`; fields git cannot tell stay `None`. Without a usable
/// `origin` remote, the repository is `local/<folder name>`.
pub fn detect(dir: &Path) -> JobContext {
    let git = |args: &[&str]| -> Option<String> {
        let out = Command::new("git").args(args).current_dir(dir).output().ok()?;
        let text = String::from_utf8(out.stdout).ok()?.trim().to_owned();
        (out.status.success() && !text.is_empty()).then_some(text)
    };
    let remote = git(&["remote", "get-url", "origin"]);
    let top_dir = git(&["rev-parse", "--show-toplevel"]);
    let folder =
        top_dir.as_deref().or(dir.to_str()).and_then(|d| Path::new(d).file_name()?.to_str().map(str::to_owned));
    JobContext {
        repository: remote.as_deref().and_then(repository_of).or_else(|| folder.map(|f| format!("local/{f}"))),
        server_url: remote.as_deref().and_then(server_of),
        git_ref: git(&["symbolic-ref", "-q", "HEAD"]),
        sha: git(&["rev-parse", "-q", "--verify", "HEAD"]),
        ..JobContext::default()
    }
}

/// `owner/repo` from `https://host/owner/repo.git`, `git@host:owner/repo.git` or `ssh://git@host/owner/repo`.
pub fn repository_of(remote: &str) -> Option<String> {
    let path = match remote.split_once("://") {
        Some((_, rest)) => rest.split_once('/')?.1,
        None => remote.split_once(':')?.1,
    };
    let path = path.trim_end_matches('/').trim_end_matches(".git");
    let mut parts = path.rsplitn(3, '/');
    let repo = parts.next().filter(|s| !s.is_empty())?;
    let owner = parts.next().filter(|s| !s.is_empty())?;
    Some(format!("{owner}/{repo}"))
}

/// The forge's base URL, for an https remote.
fn server_of(remote: &str) -> Option<String> {
    let rest = remote.strip_prefix("https://")?;
    let host = rest.split('/').next()?.rsplit('@').next()?;
    Some(format!("https://{host}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remotes_of_every_shape() {
        for remote in [
            "https://gitea.example/arcodange/webapp.git",
            "https://user@gitea.example/arcodange/webapp",
            "git@gitea.example:arcodange/webapp.git",
            "ssh://git@gitea.example:2222/arcodange/webapp.git",
        ] {
            assert_eq!(repository_of(remote).as_deref(), Some("arcodange/webapp"), "{remote}");
        }
        assert_eq!(repository_of("/srv/git/webapp"), None);
        assert_eq!(server_of("https://user@gitea.example/a/b").as_deref(), Some("https://gitea.example"));
    }
}
