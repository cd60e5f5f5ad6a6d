//! `vault-login exec` on real servers: the secrets reach one command's environment and nothing else, the
//! token and the database lease outlive their short TTLs exactly as long as the command runs, signals
//! reach the command, and everything is revoked when it ends.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::support::*;
use serde_json::json;

const SECRET: &str = "exec-secret-4d1c";

/// A role whose tokens live 10 s and a database role whose leases live 10 s.
fn short_lived() -> AppOptions {
    AppOptions::new()
        .kv2("config", json!({ "api_key": SECRET }))
        .database_ttl("10s")
        .role_field("token_ttl", json!("10s"))
}

fn job(app: &App) -> Job {
    let secrets =
        "kvv2/APP/config api_key\npostgres/creds/APP username | PGUSER\npostgres/creds/APP password | PGPASSWORD";
    app.vault_job().input("secrets", &secrets.replace("APP", &app.name)).timeout(Duration::from_secs(90))
}

/// Waits for `path` to appear: the command says it reached a point by creating it.
async fn appears(path: &Path) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while !path.exists() {
        assert!(tokio::time::Instant::now() < deadline, "{} never appeared", path.display());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A place the command and the test share.
struct Mailbox(tempfile::TempDir);

impl Mailbox {
    fn new() -> Self {
        Self(tempfile::tempdir().expect("temp dir"))
    }

    fn path(&self, name: &str) -> PathBuf {
        self.0.path().join(name)
    }

    fn read(&self, name: &str) -> String {
        std::fs::read_to_string(self.path(name)).unwrap_or_default().trim().to_owned()
    }

    fn dir(&self) -> String {
        self.0.path().display().to_string()
    }
}

#[tokio::test]
async fn credentials_live_as_long_as_the_command_and_no_longer() {
    let (services, _, app) = setup(short_lived()).await;
    let mail = Mailbox::new();
    // Three token TTLs later, the command hands its credentials to the test and waits for the word to end.
    let script = r#"sleep 25; printf '%s\n' "$VAULT_TOKEN" > "$0/token.tmp"; printf '%s\n%s\n' "$PGUSER" "$PGPASSWORD" > "$0/pg";
        mv "$0/token.tmp" "$0/token"; while [ ! -e "$0/done" ]; do sleep 0.1; done; exit 7"#;
    let job = job(&app);
    let running = job.spawn_exec(&["sh", "-c", script, &mail.dir()]);
    appears(&mail.path("token")).await;
    let token = mail.read("token");
    let lookup = app.client(&token).lookup_self().await;
    assert!(lookup.is_success(), "the token outlived its 10 s TTL while the command ran: {lookup:?}");
    let pg = mail.read("pg");
    let (user, password) = pg.split_once('\n').expect("user and password");
    assert!(services.pg.login_works(user, password).await, "the database user outlived its 10 s lease");
    std::fs::write(mail.path("done"), "").expect("tell the command to end");

    let exec = running.finish().await;
    assert_eq!(exec.code, Some(7), "exec exits with the command's status:\n{exec:?}");
    assert!(exec.raw_env_file.is_empty() && exec.raw_output_file.is_empty(), "nothing for later steps: {exec:?}");
    assert!(exec.stdout.contains("Renewed the Vault token"), "{exec:?}");
    assert!(exec.stdout.contains("Renewed the lease of `postgres/creds/"), "{exec:?}");
    assert!(exec.stdout.contains("Receipt: Vault token"), "{exec:?}");
    assert!(exec.summary.contains("### vault-login exec"), "summary: {}\n{exec:?}", exec.summary);
    assert!(!app.client(&token).lookup_self().await.is_success(), "revoked when the command ended");
    assert!(services.pg.members_gone(&app.pg_group_role).await, "the database user died with the token");
    assert_no_leak(&exec, &[&token, password, SECRET]);
}

#[tokio::test]
async fn masks_come_first_and_the_secrets_reach_only_the_command() {
    let (_, _, app) = setup(short_lived()).await;
    let exec = job(&app).run_exec(&["sh", "-c", r#"echo "first line of the command"; echo "key=$API_KEY""#]).await;
    assert_eq!(exec.code, Some(0), "{exec:?}");
    let lines: Vec<&str> = exec.stdout.lines().collect();
    let first = lines.iter().position(|l| *l == "first line of the command").expect("the command ran");
    let last_mask = lines.iter().rposition(|l| l.starts_with("::add-mask::")).expect("masks");
    assert!(last_mask < first, "every mask precedes the command's output:\n{}", exec.stdout);
    assert!(lines.contains(&format!("::add-mask::{SECRET}").as_str()));
    assert!(exec.stdout.contains(&format!("key={SECRET}")), "the command had the secret");
    assert!(exec.raw_env_file.is_empty() && exec.raw_output_file.is_empty() && exec.raw_state_file.is_empty());
    assert!(exec.summary.contains("### vault-login exec"), "{}\n{exec:?}", exec.summary);
    assert!(app.live_tokens().await.is_empty(), "revoked at the end");

    let missing = job(&app).input("secrets", "kvv2/nope/config x").run_exec(&["sh", "-c", "echo command-ran"]).await;
    assert_eq!(missing.code, Some(1), "{missing:?}");
    assert!(!missing.stdout.contains("command-ran"), "a failed read starts nothing: {missing:?}");
    assert!(missing.stdout.contains("The command was not started; the Vault token was revoked."), "{missing:?}");
    assert!(missing.raw_state_file.is_empty() && missing.raw_env_file.is_empty(), "exec writes no file: {missing:?}");
    assert!(app.live_tokens().await.is_empty());
    let absent = job(&app).run_exec(&["/nonexistent/tool"]).await;
    assert_eq!(absent.code, Some(127), "{absent:?}");
    assert!(app.live_tokens().await.is_empty(), "revoked though the command never started");
}

#[tokio::test]
async fn sigterm_reaches_the_command_and_the_token_is_revoked() {
    let (services, _, app) = setup(short_lived()).await;
    let mail = Mailbox::new();
    let script = r#"trap 'echo term > "$0/got"; trap - TERM; kill -TERM $$' TERM; printf '%s\n' "$VAULT_TOKEN" > "$0/t";
        mv "$0/t" "$0/token"; sleep 60 & wait $!"#;
    let job = job(&app);
    let running = job.spawn_exec(&["sh", "-c", script, &mail.dir()]);
    appears(&mail.path("token")).await;
    signal(running.pid(), "TERM");
    let exec = running.finish().await;
    assert_eq!(exec.code, Some(143), "128 + SIGTERM, as the command died of it:\n{exec:?}");
    assert_eq!(mail.read("got"), "term", "the command received the SIGTERM sent to exec");
    assert!(!app.client(&mail.read("token")).lookup_self().await.is_success(), "revoked after the command ended");
    assert!(services.pg.members_gone(&app.pg_group_role).await);
}

#[tokio::test]
async fn a_killed_exec_renews_nothing_and_its_token_dies_at_its_ttl() {
    let (_, _, app) = setup(short_lived()).await;
    let mail = Mailbox::new();
    let script = r#"echo $$ > "$0/pid"; printf '%s\n' "$VAULT_TOKEN" > "$0/t"; mv "$0/t" "$0/token"; exec sleep 60"#;
    let job = job(&app);
    let running = job.spawn_exec(&["sh", "-c", script, &mail.dir()]);
    appears(&mail.path("token")).await;
    let token = mail.read("token");
    signal(running.pid(), "KILL");
    // The command, in its own process group, outlives exec; it holds the step's output open until it ends.
    signal(-mail.read("pid").parse::<i32>().expect("the command's pid"), "KILL");
    running.finish().await;
    let client = app.client(&token);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while client.lookup_self().await.is_success() {
        assert!(tokio::time::Instant::now() < deadline, "the token outlived its 10 s TTL by far");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}
