//! `vault-login --dry-run` and input `dry-run: true`: the plan on a laptop or in CI, contacting nothing
//! and writing nothing to the runner's files. No OpenBao needed: a dry run must work without one.

use std::net::TcpListener;
use std::path::Path;
use std::process::Command;

use crate::support::envfile::{parse_env_file, parse_env_file_github};
use crate::support::*;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// A Vault token in the environment, as a laptop often has: a dry run must never show it.
const ADMIN_TOKEN: &str = "s.dry-run-must-not-show-this";

/// A port that is listening but never served: any connection attempt would be seen by `assert_untouched`.
struct Trap(TcpListener);

impl Trap {
    fn new() -> Trap {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
        listener.set_nonblocking(true).expect("non-blocking listener");
        Trap(listener)
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.0.local_addr().expect("local address").port())
    }

    /// Nothing connected: the backlog is empty.
    fn assert_untouched(&self) {
        match self.0.accept() {
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Ok((_, peer)) => panic!("the dry run connected to {} (from {peer})", self.url()),
            Err(e) => panic!("accept on the trap port: {e}"),
        }
    }
}

/// A fresh checkout: branch `feature/login`, one commit, `origin` on a Gitea host. Returns HEAD's sha.
fn checkout(dir: &Path) -> String {
    let git = |args: &[&str]| {
        let out = Command::new("git")
            .args(["-c", "user.name=t", "-c", "user.email=t@example.org", "-c", "commit.gpgsign=false"])
            .args(args)
            .current_dir(dir)
            .env("HOME", dir)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .output()
            .expect("run git");
        assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    };
    git(&["init", "-q", "-b", "feature/login"]);
    git(&["remote", "add", "origin", "git@gitea.example:arcodange/webapp.git"]);
    git(&["commit", "-q", "--allow-empty", "-m", "init"]);
    git(&["rev-parse", "HEAD"])
}

/// The value of the `name` row of the dry run's output (`  name   value`), the first one found.
fn row(stdout: &str, name: &str) -> Option<String> {
    stdout.lines().find_map(|line| {
        let rest = line.trim_start().strip_prefix(name)?;
        rest.starts_with("  ").then(|| rest.trim().to_owned())
    })
}

#[tokio::test]
async fn a_fresh_checkout_shows_claims_and_plan_and_contacts_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let sha = checkout(dir.path());
    let vault = Trap::new();
    let env = [("VAULT_ADDR", vault.url()), ("VAULT_TOKEN", ADMIN_TOKEN.to_owned())];
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let run = run_local(dir.path(), &["--dry-run"], &env).await;
    run.assert_success();
    let out = &run.stdout;

    for (name, value) in [
        ("iss", "https://gitea.example/api/actions/oidc".to_owned()),
        ("aud", "vault".to_owned()),
        ("sub", "repo:arcodange@100001/webapp@200002:ref:refs/heads/feature/login".to_owned()),
        ("repository_id", "200002".to_owned()),
        ("runner_environment", "self-hosted".to_owned()),
        ("forge", "Gitea (assumed: github for github.com, else gitea; --forge gitea|forgejo|github)".to_owned()),
        (
            "JWKS",
            "https://gitea.example/api/actions/oidc/jwks  (jwks_url, when Vault reaches the forge at another address)"
                .to_owned(),
        ),
        ("repository", "arcodange/webapp".to_owned()),
        ("repository_owner", "arcodange".to_owned()),
        ("ref", "refs/heads/feature/login".to_owned()),
        ("ref_type", "branch".to_owned()),
        ("sha", sha),
        ("event_name", "push".to_owned()),
        ("Vault", vault.url()),
        ("auth mount", "jwt (input `mount`)".to_owned()),
        ("role", "gitea_cicd_webapp (input `role`, or gitea_cicd_<app>)".to_owned()),
    ] {
        assert_eq!(row(out, name).as_deref(), Some(value.as_str()), "row {name}:\n{out}");
    }
    for time in ["iat", "nbf", "exp"] {
        assert!(row(out, time).is_some_and(|v| v.contains("T") && v.ends_with(')')), "{time}:\n{out}");
    }
    let login = format!("2. POST  {}/v1/auth/jwt/login", vault.url());
    assert!(out.contains(&login), "{out}");
    assert!(out.contains("/v1/auth/token/revoke-self"), "{out}");
    assert_eq!(row(out, "env DB_HOST").as_deref(), Some("<kvv2/webapp/config db_host>"), "the example plan:\n{out}");
    assert_eq!(row(out, "output PGPASSWORD").as_deref(), Some("<postgres/creds/webapp password>"));
    vault.assert_untouched();
    assert_no_leak(&run, &[ADMIN_TOKEN]);
}

#[tokio::test]
async fn works_in_this_repository_as_the_readmes_first_command() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let home = tempfile::tempdir().unwrap();
    let home = home.path().display().to_string();
    let run = run_local(repo, &["--dry-run"], &[("HOME", &home), ("VAULT_TOKEN", ADMIN_TOKEN)]).await;
    run.assert_success();
    assert!(run.stdout.contains("Fake ID token claims"), "{run:?}");
    assert!(row(&run.stdout, "role").is_some_and(|r| r.starts_with("gitea_cicd_")), "{run:?}");
    assert_no_leak(&run, &[ADMIN_TOKEN]);
}

#[tokio::test]
async fn a_broken_secrets_input_fails_at_its_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let secrets = "kvv2/webapp/config db_host\nkvv2/webapp/config@x key";
    let args = ["--dry-run", "--app", "webapp", "--secrets", secrets];
    let run = run_local(dir.path(), &args, &[("VAULT_TOKEN", ADMIN_TOKEN)]).await;
    run.assert_failure();
    assert!(run.stderr.contains("line 2, column 20: expected a positive whole number after `@` (got `x`)"), "{run:?}");
    assert!(run.stdout.is_empty(), "no plan for a broken input: {run:?}");
    assert_no_leak(&run, &[ADMIN_TOKEN]);
}

#[tokio::test]
async fn flags_override_what_git_says() {
    let dir = tempfile::tempdir().unwrap();
    checkout(dir.path());
    let args = ["--dry-run", "--repository", "other/thing", "--ref", "refs/tags/v2", "--event", "pull_request"];
    let run = run_local(dir.path(), &args, &[("VAULT_TOKEN", ADMIN_TOKEN)]).await;
    run.assert_success();
    let out = &run.stdout;
    for (name, value) in [
        ("repository", "other/thing"),
        ("ref", "refs/tags/v2"),
        ("ref_type", "tag"),
        ("event_name", "pull_request"),
        ("sub", "repo:other@100001/thing@200002:pull_request"),
        ("role", "gitea_cicd_thing (input `role`, or gitea_cicd_<app>)"),
    ] {
        assert_eq!(row(out, name).as_deref(), Some(value), "row {name}:\n{out}");
    }
    assert_no_leak(&run, &[ADMIN_TOKEN]);
}

/// Each forge's issuer, key set, `sub` form and claims, from flags; a remote's ROOT_URL sub-path is kept.
#[tokio::test]
async fn each_forge_speaks_its_own_dialect() {
    let dir = tempfile::tempdir().unwrap();
    checkout(dir.path());
    let remote = ["remote", "set-url", "origin", "https://lab.example/forgejo/arcodange/webapp.git"];
    assert!(Command::new("git").args(remote).current_dir(dir.path()).status().unwrap().success());
    let forgejo =
        ["--dry-run", "--forge", "forgejo", "--sub-format", "ids", "--repository-id", "42", "--owner-id", "7"];
    let run = run_local(dir.path(), &forgejo, &[]).await;
    run.assert_success();
    let out = &run.stdout;
    for (name, value) in [
        ("forge", "Forgejo (--forge)"),
        ("iss", "https://lab.example/forgejo/api/actions"),
        ("discovery", "https://lab.example/forgejo/api/actions/.well-known/openid-configuration"),
        ("sub", "repo:arcodange-7/webapp-42:ref:refs/heads/feature/login"),
        ("workflow", "ci.yml"),
        ("placeholders", "actor_id (give them with --actor-id)"),
    ] {
        assert_eq!(row(out, name).as_deref(), Some(value), "row {name}:\n{out}");
    }
    assert!(row(out, "jti").is_none(), "Forgejo sends no jti:\n{out}");

    let github = ["--dry-run", "--server-url", "https://github.com", "--environment", "prod"];
    let run = run_local(dir.path(), &github, &[]).await;
    run.assert_success();
    assert_eq!(row(&run.stdout, "iss").as_deref(), Some("https://token.actions.githubusercontent.com"));
    assert_eq!(row(&run.stdout, "sub").as_deref(), Some("repo:arcodange/webapp:environment:prod"));

    let run = run_local(dir.path(), &["--dry-run", "--environment", "prod"], &[]).await;
    run.assert_failure();
    assert!(run.stderr.contains("--environment: only GitHub puts a deployment environment"), "{run:?}");
}

#[tokio::test]
async fn a_given_jwt_shows_its_claims_and_never_itself() {
    let dir = tempfile::tempdir().unwrap();
    let payload = r#"{"iss":"https://forgejo.example/api/actions","aud":"vault","repository":"arcodange/from-jwt","ref":"refs/heads/main","exp":4102444800}"#;
    let jwt = format!("eyJhbGciOiJSUzI1NiJ9.{}.c2lnbmF0dXJlLXNlY3JldA", URL_SAFE_NO_PAD.encode(payload));
    let run = run_local(dir.path(), &["--dry-run", "--app", "webapp"], &[("INPUT_JWT", &jwt)]).await;
    run.assert_success();
    assert!(run.stdout.contains("Claims of the `jwt` input"), "{run:?}");
    assert_eq!(row(&run.stdout, "repository").as_deref(), Some("arcodange/from-jwt"));
    assert!(run.stdout.contains("no ID-token request: the `jwt` input is presented"), "{run:?}");
    assert_no_leak(&run, &[&jwt, "c2lnbmF0dXJlLXNlY3JldA"]);
}

#[tokio::test]
async fn dry_run_input_in_ci_writes_no_file_commands_and_asks_for_no_token() {
    let issuer = Issuer::start().await;
    let vault = Trap::new();
    let job = Job::for_claims(&issuer, JobClaims::for_repository("arcodange/webapp").with_ref("refs/heads/release"))
        .input("dry-run", "true")
        .input("url", &vault.url())
        .input("secrets", "kvv2/webapp/config db_host\npostgres/creds/webapp password | PGPASSWORD")
        .env("GITEA_ACTIONS", "true")
        .env("GITHUB_REPOSITORY_ID", "31");
    let main = job.run_main().await;
    main.assert_success();
    assert_eq!(row(&main.stdout, "forge").as_deref(), Some("Gitea (the runner's variables)"), "{main:?}");
    let iss = format!("{}/api/actions/oidc", issuer.base_url());
    assert_eq!(row(&main.stdout, "iss"), Some(iss), "{main:?}");
    assert_eq!(row(&main.stdout, "repository_id").as_deref(), Some("31"), "{main:?}");
    assert_eq!(row(&main.stdout, "repository").as_deref(), Some("arcodange/webapp"), "{main:?}");
    assert_eq!(row(&main.stdout, "ref").as_deref(), Some("refs/heads/release"), "{main:?}");
    assert_eq!(row(&main.stdout, "env PGPASSWORD").as_deref(), Some("<postgres/creds/webapp password>"));
    assert!(row(&main.stdout, "env FLAT_TOKEN").is_none(), "in CI the example is never planned: {main:?}");
    for (name, text) in [
        ("GITHUB_ENV", &main.raw_env_file),
        ("GITHUB_OUTPUT", &main.raw_output_file),
        ("GITHUB_STATE", &main.raw_state_file),
        ("GITHUB_PATH", &main.raw_path_file),
        ("GITHUB_STEP_SUMMARY", &main.summary),
    ] {
        assert!(text.is_empty(), "{name} must stay empty in a dry run: {text:?}");
    }
    assert!(issuer.token_requests().await.is_empty(), "a dry run asks the forge for no ID token");
    vault.assert_untouched();
    assert_no_leak(&main, &[main.process_env["ACTIONS_ID_TOKEN_REQUEST_TOKEN"].as_str()]);
}

#[tokio::test]
async fn write_to_writes_env_and_output_files_a_runner_parses() {
    let dir = tempfile::tempdir().unwrap();
    let vault = Trap::new();
    let secrets =
        "kvv2/webapp/config db_host\nkvv2/webapp/config * | TF_VAR_\npostgres/creds/webapp password | PGPASSWORD";
    let args = ["--dry-run", "--app", "webapp", "--url", &vault.url(), "--secrets", secrets, "--write-to", "out"];
    let run = run_local(dir.path(), &args, &[("VAULT_TOKEN", ADMIN_TOKEN)]).await;
    run.assert_success();
    assert!(run.stdout.contains("Wrote the env and output files"), "{run:?}");
    assert!(run.stdout.contains("(2 wildcard entries are left out"), "{run:?}");

    let read = |name: &str| std::fs::read_to_string(dir.path().join("out").join(name)).expect("written file");
    let (env_text, output_text) = (read("env"), read("output"));
    assert!(!env_text.contains(ADMIN_TOKEN) && !output_text.contains(ADMIN_TOKEN));
    for text in [&env_text, &output_text] {
        let act = parse_env_file(text).expect("act's parser reads it");
        assert_eq!(act, parse_env_file_github(text).expect("GitHub's parser reads it"));
    }
    let env: std::collections::BTreeMap<_, _> = parse_env_file(&env_text).unwrap().into_iter().collect();
    let names: Vec<&str> = env.keys().map(String::as_str).collect();
    assert_eq!(names, ["DB_HOST", "PGPASSWORD", "VAULT_ADDR", "VAULT_TOKEN"]);
    assert_eq!(env["VAULT_ADDR"], vault.url());
    assert_eq!(env["DB_HOST"], "<kvv2/webapp/config db_host>");
    assert_eq!(env["VAULT_TOKEN"], "<client_token from auth/jwt/login>");
    let outputs: std::collections::BTreeMap<_, _> = parse_env_file(&output_text).unwrap().into_iter().collect();
    let names: Vec<&str> = outputs.keys().map(String::as_str).collect();
    assert_eq!(names, ["DB_HOST", "PGPASSWORD", "expires-at", "policies", "token-accessor"]);
    vault.assert_untouched();
    assert_no_leak(&run, &[ADMIN_TOKEN]);
}
