//! Hostile input through the binary: forged and malformed JWTs in `jwt`, oversized inputs, and Vault
//! answers that are not JSON, are huge, or lack fields (wiremock playing Vault). Every case must end in
//! an error message, never a crash, with nothing exported and nothing leaked; a token obtained before
//! the bad answer must be revoked.
//!
//! The parsers themselves are fuzzed by property tests next to them (spec, names, claims, env files).

use crate::support::*;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use wiremock::matchers::{method, path, path_regex};
use wiremock::{Mock, MockServer, ResponseTemplate};

const SECRET: &str = "hostile-secret-5a0f";
/// What the fake Vault hands out on login.
const FAKE_TOKEN: &str = "s.hostile-token-8c21e7";

/// The step failed the way a program that handled the problem fails: exit 1, no panic, nothing exported.
fn assert_clean_failure(step: &StepResult) {
    assert_eq!(step.code, Some(1), "exit 1, not a crash:\n{step:?}");
    assert!(!step.stderr.contains("panicked"), "{step:?}");
    assert!(step.raw_env_file.is_empty() && step.raw_output_file.is_empty(), "nothing exported:\n{step:?}");
}

fn b64(value: &Value) -> String {
    URL_SAFE_NO_PAD.encode(value.to_string())
}

#[tokio::test]
async fn forged_and_malformed_jwts_are_refused_without_a_crash_or_a_leak() {
    let services = Services::from_env();
    let issuer = Issuer::start().await;
    let app = App::provision(&services, &issuer, AppOptions::new().kv2("config", json!({ "api_key": SECRET }))).await;
    let genuine = app.mint();
    let payload = genuine.split('.').nth(1).unwrap().to_owned();
    let cases: Vec<(&str, String)> = vec![
        ("alg none", format!("{}.{payload}.", b64(&json!({"alg": "none", "typ": "JWT"})))),
        ("HS256 signed with nothing", format!("{}.{payload}.c2lnbmF0dXJl", b64(&json!({"alg": "HS256"})))),
        ("signature of another token", {
            let other = app.mint();
            format!("{}.{payload}.{}", b64(&json!({"alg": "RS256"})), other.rsplit('.').next().unwrap())
        }),
        ("two parts", "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0".into()),
        ("payload not base64", "eyJhbGciOiJSUzI1NiJ9.%%%%.c2ln".into()),
        ("payload not JSON", format!("eyJhbGciOiJSUzI1NiJ9.{}.c2ln", URL_SAFE_NO_PAD.encode("not json"))),
        ("payload a JSON array", format!("eyJhbGciOiJSUzI1NiJ9.{}.c2ln", URL_SAFE_NO_PAD.encode("[1,2]"))),
        ("100 KB", format!("eyJhbGciOiJSUzI1NiJ9.{}.c2ln", "A".repeat(100_000))),
        ("two lines", format!("{genuine}\nsecond-line-of-the-token")),
        ("control characters", "eyJhbGciOiJSUzI1NiJ9.\u{1b}[31m\u{7}.c2ln".into()),
    ];
    for (name, jwt) in &cases {
        let job = app
            .job()
            .without_id_token()
            .input("url", services.bao.addr())
            .input("mount", &app.mount)
            .input("jwt", jwt)
            .input("secrets", &format!("kvv2/{}/config api_key", app.name));
        let main = job.run_main().await;
        assert_clean_failure(&main);
        let log = main.log();
        assert!(log.contains("input `jwt`") || log.contains("failed: POST auth/"), "{name}: no clear error:\n{main:?}");
        assert_no_leak(&main, &[jwt.trim(), &genuine, SECRET]);
    }
    assert!(app.live_tokens().await.is_empty(), "no forged token got in");
}

#[tokio::test]
async fn oversized_inputs_are_refused_by_name() {
    let services = Services::from_env();
    let issuer = Issuer::start().await;
    let app = App::provision(&services, &issuer, AppOptions::new()).await;
    let huge = "x".repeat(100_000);
    let cases: Vec<(&str, String, &str)> = vec![
        ("url", format!("http://127.0.0.1:9/?{huge}"), "input `url`"),
        ("mount", huge.clone(), "input `mount`"),
        ("app", huge.clone(), "input `app`"),
        ("timeout", "9".repeat(40), "input `timeout`"),
        ("timeout", "99999999999".into(), "between 1s and 24h"),
        ("wait-for-unseal", format!("{}h", "9".repeat(30)), "input `wait-for-unseal`"),
        ("ca-certificate", huge.clone(), "input `ca-certificate`"),
        ("role", huge.clone(), "input `role`"),
        ("audience", huge.clone(), "input `audience`"),
        ("namespace", huge.clone(), "input `namespace`"),
        ("client-certificate", huge.clone(), "input `client-"),
        ("min-lease-ttl", huge.clone(), "input `min-lease-ttl`"),
        ("naming", huge.clone(), "input `naming`"),
        ("secrets", format!("kvv2/{huge} key"), "expected a secret path of at most 512 characters (got 100005"),
        ("secrets", format!("kvv2/a {huge}"), "expected a key name of at most 512 characters (got 100000"),
        ("secrets", "kvv2/a key\n".repeat(9_000), "line 257, column 1: expected at most 256 requests"),
    ];
    for (input, value, expected) in &cases {
        let job = app
            .job()
            .input("url", services.bao.addr())
            .input("mount", &app.mount)
            .input("timeout", "5s")
            .input(input, value);
        let main = job.run_main().await;
        assert_clean_failure(&main);
        assert!(main.log().contains(expected), "{input}: expected {expected:?}:\n{main:?}");
        assert!(main.log().len() < 2_000, "{input}: the error quotes an excerpt, not the input:\n{main:?}");
        assert!(!main.log().contains("retrying"), "{input}: a bad input is not retried:\n{main:?}");
        assert_no_leak(&main, &[&issuer.issued_tokens().last().cloned().unwrap_or_else(|| "none yet".into())]);
    }
    assert!(app.live_tokens().await.is_empty());
}

/// A fake Vault: login answers `login`, the mount lookup answers KV v2 unless `mounts` says otherwise,
/// the read answers `read`, and revoke-self is counted.
async fn fake_vault(login: ResponseTemplate, mounts: Option<ResponseTemplate>, read: ResponseTemplate) -> MockServer {
    let vault = MockServer::start().await;
    Mock::given(method("POST")).and(path_regex(r"^/v1/auth/[^/]+/login$")).respond_with(login).mount(&vault).await;
    let kv2 = json!({ "data": { "path": "kvv2/", "type": "kv", "options": { "version": "2" } } });
    let mounts = mounts.unwrap_or_else(|| ResponseTemplate::new(200).set_body_json(kv2));
    Mock::given(path_regex(r"^/v1/sys/internal/ui/mounts/")).respond_with(mounts).mount(&vault).await;
    Mock::given(path_regex(r"^/v1/kvv2/data/")).respond_with(read).mount(&vault).await;
    Mock::given(method("POST"))
        .and(path("/v1/auth/token/revoke-self"))
        .respond_with(ResponseTemplate::new(204))
        .mount(&vault)
        .await;
    vault
}

fn logged_in() -> ResponseTemplate {
    let auth = json!({ "auth": { "client_token": FAKE_TOKEN, "accessor": "acc-1", "policies": ["default"], "lease_duration": 60 } });
    ResponseTemplate::new(200).set_body_json(auth)
}

fn ok_read() -> ResponseTemplate {
    ResponseTemplate::new(200)
        .set_body_json(json!({ "data": { "data": { "api_key": SECRET }, "metadata": { "version": 1 } } }))
}

async fn revocations(vault: &MockServer) -> usize {
    let requests = vault.received_requests().await.unwrap();
    requests.iter().filter(|r| r.url.path() == "/v1/auth/token/revoke-self").count()
}

/// One bad answer of the fake Vault.
struct Case {
    what: &'static str,
    login: ResponseTemplate,
    mounts: Option<ResponseTemplate>,
    read: ResponseTemplate,
    expected: &'static str,
    /// The bad answer came after a successful login, so the token must be revoked at once.
    logged_in: bool,
}

fn bad_login(what: &'static str, login: ResponseTemplate, expected: &'static str) -> Case {
    Case { what, login, mounts: None, read: ok_read(), expected, logged_in: false }
}

fn bad_after_login(
    what: &'static str,
    mounts: Option<ResponseTemplate>,
    read: ResponseTemplate,
    expected: &'static str,
) -> Case {
    Case { what, login: logged_in(), mounts, read, expected, logged_in: true }
}

#[tokio::test]
async fn vault_answers_that_are_not_json_huge_or_incomplete_end_cleanly() {
    let issuer = Issuer::start().await;
    let huge = "x".repeat(2 * 1024 * 1024);
    let html = || ResponseTemplate::new(200).set_body_string("<html><body>Welcome to the captive portal</body></html>");
    let big = || ResponseTemplate::new(200).set_body_string(format!("{{\"pad\":\"{huge}\"}}"));
    let json = |body: Value| ResponseTemplate::new(200).set_body_json(body);
    let cases = vec![
        bad_login("login not JSON", html(), "not JSON"),
        bad_login("login huge", big(), "larger than"),
        bad_login("login without auth", json(json!({ "data": {} })), "no `auth` block"),
        bad_login("login with an empty token", json(json!({ "auth": { "client_token": "" } })), "empty"),
        bad_login("login token not a string", json(json!({ "auth": { "client_token": 42 } })), "login answer"),
        bad_after_login("mounts not JSON", Some(html()), ok_read(), "not JSON"),
        bad_after_login("mounts without fields", Some(json(json!({ "data": 5 }))), ok_read(), "not what was expected"),
        bad_after_login("read huge", None, big(), "larger than"),
        bad_after_login("read data not an object", None, json(json!({ "data": { "data": "x" } })), "not an object"),
        bad_after_login("read error page", None, ResponseTemplate::new(404).set_body_string(huge.clone()), "not found"),
    ];
    for case in cases {
        let what = case.what;
        let vault = fake_vault(case.login, case.mounts, case.read).await;
        let job = Job::for_claims(&issuer, JobClaims::for_repository("arcodange/hostile"))
            .input("url", &vault.uri())
            .input("secrets", "kvv2/hostile/config api_key")
            .input("timeout", "3s");
        let main = job.run_main().await;
        assert_clean_failure(&main);
        assert!(main.log().contains(case.expected), "{what}: expected {:?}:\n{main:?}", case.expected);
        assert_eq!(revocations(&vault).await, usize::from(case.logged_in), "{what}: revoked at once iff logged in");
        if case.logged_in {
            assert!(main.stdout.contains("Nothing was exported; the Vault token was revoked."), "{what}:\n{main:?}");
        }
        assert!(main.stdout.len() < 64 * 1024, "{what}: the log stays short ({} bytes)", main.stdout.len());
        assert_no_leak(&main, &[FAKE_TOKEN, SECRET, &issuer.issued_tokens().last().cloned().unwrap()]);
    }
}

/// A `lease_duration` of 10^18 seconds once overflowed the expiry arithmetic and aborted the binary after
/// `GITHUB_ENV` already held the token (issue 12, finding 4). Now it reads as a century, and the run ends
/// as any other.
#[tokio::test]
async fn absurd_ttls_in_answers_neither_crash_nor_break_all_or_nothing() {
    let issuer = Issuer::start().await;
    let forever = 1_000_000_000_000_000_000_u64;
    let login = ResponseTemplate::new(200).set_body_json(json!({ "auth": {
        "client_token": FAKE_TOKEN, "accessor": "acc-1", "policies": ["default"], "lease_duration": forever } }));
    let read = ResponseTemplate::new(200).set_body_json(json!({ "lease_id": "kvv2/x/1", "lease_duration": forever,
        "data": { "data": { "api_key": SECRET }, "metadata": { "version": 1 } } }));
    let vault = fake_vault(login, None, read).await;
    let job = Job::for_claims(&issuer, JobClaims::for_repository("arcodange/hostile"))
        .input("url", &vault.uri())
        .input("secrets", "kvv2/hostile/config api_key")
        .input("timeout", "3s");
    let main = job.run_main().await;
    main.assert_success();
    assert_eq!(main.env["API_KEY"], SECRET);
    let year: i32 = main.outputs["expires-at"][..4].parse().expect("an RFC 3339 year");
    assert!(year >= 2100, "a century from now: {}", main.outputs["expires-at"]);
    assert_no_leak(&main, &[FAKE_TOKEN, SECRET, &issuer.issued_tokens()[0]]);
}

/// The process turns core dumps off before it holds anything: a crash must not write the tokens and
/// secrets in its memory to a core file on the runner. Observed on the running process, while Vault
/// keeps it waiting for the login answer.
#[tokio::test]
async fn the_running_step_cannot_dump_core() {
    let vault = MockServer::start().await;
    let stalled = ResponseTemplate::new(200).set_delay(std::time::Duration::from_secs(60));
    Mock::given(method("POST")).respond_with(stalled).mount(&vault).await;
    // Raised first to what the system allows, so that the limit seen below is the step's own doing.
    let mut step = std::process::Command::new("sh")
        .args(["-c", "ulimit -S -c \"$(ulimit -H -c)\" && exec \"$0\"", env!("CARGO_BIN_EXE_vault-login")])
        .env_clear()
        .env("INPUT_URL", vault.uri())
        .env("INPUT_APP", "hostile")
        .env("INPUT_JWT", "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln")
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("start vault-login");
    while vault.received_requests().await.unwrap_or_default().is_empty() {
        tokio::task::yield_now().await;
    }
    let limits = std::fs::read_to_string(format!("/proc/{}/limits", step.id())).expect("the step's limits");
    step.kill().expect("stop the step");
    step.wait().expect("reap the step");
    let core = limits.lines().find(|l| l.starts_with("Max core file size")).expect("a core limit line");
    assert_eq!(core.split_whitespace().skip(4).take(2).collect::<Vec<_>>(), ["0", "0"], "{core}");
}
