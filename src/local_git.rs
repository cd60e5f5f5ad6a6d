//! What a runner would tell the step, guessed from the local git checkout (dry runs outside CI).

use std::path::Path;
use std::process::Command;

use crate::config::JobContext;

/// Repository, ref, sha and forge URL of the checkout at `dir`; fields git cannot tell stay `None` (the
/// fake token then uses its defaults). Without a usable remote, the repository is `local/<folder name>`.
pub fn detect(dir: &Path) -> JobContext {
    let git = |args: &[&str]| -> Option<String> {
        let out = Command::new("git").args(args).current_dir(dir).output().ok()?;
        let text = String::from_utf8(out.stdout).ok()?.trim().to_owned();
        (out.status.success() && !text.is_empty()).then_some(text)
    };
    // `origin`, or else the only remote there is.
    let remote = git(&["remote", "get-url", "origin"]).or_else(|| {
        let remotes = git(&["remote"])?;
        let mut names = remotes.lines();
        match (names.next(), names.next()) {
            (Some(only), None) => git(&["remote", "get-url", only]),
            _ => None,
        }
    });
    let top_dir = git(&["rev-parse", "--show-toplevel"]);
    let folder =
        top_dir.as_deref().or(dir.to_str()).and_then(|d| Path::new(d).file_name()?.to_str().map(str::to_owned));
    // A branch, or for a detached HEAD (a tag checkout) the tag pointing at it.
    let git_ref = git(&["symbolic-ref", "-q", "HEAD"]).or_else(|| {
        let tag = git(&["describe", "--tags", "--exact-match", "HEAD"])?;
        Some(format!("refs/tags/{tag}"))
    });
    JobContext {
        repository: remote.as_deref().and_then(repository_of).or_else(|| folder.map(|f| format!("local/{f}"))),
        server_url: remote.as_deref().and_then(server_of),
        git_ref,
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

/// The forge's root URL, from which the token's issuer follows. An http(s) remote gives it whole, a
/// sub-path (Gitea's ROOT_URL `https://host/git/`) included; an ssh remote gives only the host, where forges
/// serve their web UI over https (a web UI on another host or path needs `--server-url`). Local paths have none.
fn server_of(remote: &str) -> Option<String> {
    let (scheme, rest, web) = match remote.split_once("://") {
        Some((scheme @ ("http" | "https"), rest)) => (scheme, rest, true),
        Some(("ssh" | "git", rest)) => ("https", rest, false),
        Some(_) => return None,
        None => ("https", remote.split_once(':')?.0, false),
    };
    let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
    let host = authority.rsplit('@').next()?;
    let host = if web { host } else { host.split(':').next()? };
    if host.is_empty() {
        return None;
    }
    // The sub-path is what precedes `<owner>/<repo>`.
    let segments: Vec<&str> = path.trim_end_matches('/').split('/').filter(|s| !s.is_empty()).collect();
    let prefix = if web { &segments[..segments.len().saturating_sub(2)] } else { &[][..] };
    Some(prefix.iter().fold(format!("{scheme}://{host}"), |url, segment| format!("{url}/{segment}")))
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
            assert_eq!(server_of(remote).as_deref(), Some("https://gitea.example"), "{remote}");
        }
        assert_eq!(repository_of("/srv/git/webapp"), None);
        assert_eq!(server_of("/srv/git/webapp"), None);
        assert_eq!(server_of("file:///srv/git/webapp"), None);
        assert_eq!(server_of("http://localhost:3000/a/b.git").as_deref(), Some("http://localhost:3000"));
        let sub_path = "https://lab.example/gitea/arcodange/webapp.git";
        assert_eq!(server_of(sub_path).as_deref(), Some("https://lab.example/gitea"));
        assert_eq!(repository_of(sub_path).as_deref(), Some("arcodange/webapp"));
    }

    #[test]
    fn a_folder_without_git_is_local() {
        let dir = tempfile::tempdir().unwrap();
        let job = detect(dir.path());
        let folder = dir.path().file_name().unwrap().to_str().unwrap();
        assert_eq!(job.repository, Some(format!("local/{folder}")));
        assert_eq!((job.git_ref, job.sha, job.server_url), (None, None, None));
    }
}
