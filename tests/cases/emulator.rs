//! End to end, as a user runs it: the example workflows of `examples/workflows/` run through the runner
//! emulator (`crate::support::emulator`) with this repository as the action, against the Vault configured by the
//! block of `docs/vault-setup.md`, a real OpenBao and a real PostgreSQL. Then the same emulator is shown to
//! fail a broken shim, a broken `action.yml` and a malformed file command.

use std::collections::BTreeSet;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::support::emulator::{Action, JobRun, Masker, Outcome, Registration, Runner, repo_root};
use crate::support::job::input_env_name;
use crate::support::lab::{APP, Lab, REPOSITORY};
use crate::support::leak::find_leaks;
use crate::support::{Issuer, JobClaims, Services, random_hex};
use clap::{Args, Command};
use serde_json::json;

/// With `VAULT_LOGIN_SHOW_LOG=1` (and `--nocapture`), prints the job's log as its user would see it.
fn show(run: &JobRun) {
    if std::env::var_os("VAULT_LOGIN_SHOW_LOG").is_some() {
        println!("{}", run.log);
    }
}

/// No secret in what the user sees: both masked logs and every step summary.
fn assert_nothing_leaks(run: &JobRun, secrets: &[&str]) {
    let mut streams = vec![("log", run.log.as_str(), false), ("legacy log", run.legacy_log.as_str(), false)];
    streams.extend(run.steps.iter().map(|s| ("step summary", s.summary.as_str(), false)));
    let leaks = find_leaks(&streams, secrets);
    assert!(leaks.is_empty(), "secret leaked:\n  {}\n{run:?}", leaks.join("\n  "));
}

#[tokio::test]
async fn login_example_exports_a_working_token_and_revokes_it() {
    let lab = Lab::start().await;
    let run = lab.runner().run("examples/workflows/login.yml").await;
    run.assert_success();
    let token = run.env["VAULT_TOKEN"].clone();
    let jwt = lab.issuer.issued_tokens()[0].clone();
    assert_nothing_leaks(&run, &[&token, &jwt]);
    assert!(run.warnings.is_empty(), "{:?}", run.warnings);

    let main = run.step("vault");
    assert_eq!(main.env[&input_env_name("mount")], "jwt", "defaults come from action.yml");
    assert_eq!(main.env["INPUT_EXPORT-TOKEN"], "true", "act keeps hyphens in input names");
    assert_eq!(run.env["VAULT_ADDR"], lab.services.bao.addr());
    let used = run.step("Use the token");
    assert!(used.output.contains("The token works."), "{run:?}");
    let accessor = &main.outputs["token-accessor"];
    assert!(run.log.contains(&format!("Vault token {accessor} (accessor) expires at ")), "{run:?}");
    assert!(run.log.contains("    VAULT_TOKEN: ***\n"), "a later step's env shows the token masked: {run:?}");

    let post = run.post("vault");
    assert_eq!(post.outcome, Outcome::Success);
    assert!(post.env.keys().all(|k| !k.starts_with("INPUT_")), "no INPUT_* in the post: {:?}", post.env.keys());
    let saved_addr = post.env.get("STATE_vault_addr").map(|a| a.trim_end_matches('/'));
    assert_eq!(saved_addr, Some(lab.services.bao.addr()), "the post finds Vault in its state");
    assert!(run.log.contains("Revoked the Vault token"), "{run:?}");
    assert!(lab.services.bao.lookup(&token).await.is_none(), "the token is revoked");
    show(&run);
}

#[tokio::test]
async fn deploy_example_connects_to_postgres_as_the_dynamic_user_and_drops_it() {
    let lab = Lab::start().await;
    let run = lab.runner().run("examples/workflows/deploy.yml").await;
    run.assert_success();
    let (user, password) = (run.env["PGUSER"].clone(), run.env["PGPASSWORD"].clone());
    let token = run.env["VAULT_TOKEN"].clone();
    let jwt = lab.issuer.issued_tokens()[0].clone();
    assert_nothing_leaks(&run, &[&token, &jwt, &user, &password, &lab.api_key]);

    assert_eq!(run.env["PGHOST"], "localhost");
    assert_eq!(run.env["TF_VAR_api_key"], lab.api_key);
    let psql = run.step("psql");
    assert_eq!(psql.output.trim(), user, "select session_user is the dynamic user (it acts as webapp_owner): {run:?}");
    assert!(run.log.contains("--- Run Connect as the dynamic database user\n"), "{run:?}");
    assert!(run.log.contains("\n***\n"), "psql's answer is masked in the log: {run:?}");
    let tofu = run.step("OpenTofu would read TF_VAR_api_key");
    assert!(tofu.output.contains(&format!("({} characters)", lab.api_key.len())), "{run:?}");

    let main = run.step("vault");
    for needle in ["### vault-login", "`PGUSER`", "`PGPASSWORD`", "`TF_VAR_api_key`", "postgres/creds/webapp"] {
        assert!(main.summary.contains(needle), "summary lacks {needle}:\n{}", main.summary);
    }
    assert_eq!(main.outputs["PGUSER"], user, "secrets are step outputs too");

    assert_eq!(run.post("vault").outcome, Outcome::Success);
    assert!(lab.services.bao.lookup(&token).await.is_none(), "the token is revoked");
    assert!(lab.services.pg.role_gone(&user).await, "revoking the token dropped the PostgreSQL user");
    show(&run);
}

#[tokio::test]
async fn exec_example_gives_the_secrets_to_one_command_and_revokes_them_when_it_ends() {
    let lab = Lab::start().await;
    let run = lab.runner().run("examples/workflows/exec.yml").await;
    run.assert_success();
    let psql = run.step("psql");
    let user = psql.output.lines().find(|l| l.starts_with("v-")).expect("the dynamic user").trim().to_owned();
    assert!(!run.log.contains(&user), "the user name is masked in the log: {run:?}");
    assert!(run.log.contains("Receipt: Vault token"), "{run:?}");
    assert!(!run.env.contains_key("VAULT_TOKEN") && !run.env.contains_key("PGPASSWORD"), "{:?}", run.env.keys());
    assert!(run.step("Later steps got nothing").output.contains("No secret and no token"), "{run:?}");
    assert!(lab.services.pg.role_gone(&user).await, "the database user died with the token");
    let jwt = lab.issuer.issued_tokens()[0].clone();
    assert_nothing_leaks(&run, &[&jwt, &user, &lab.api_key]);
    show(&run);
}

/// A job whose later step prints what tools make of secrets: `echo "$S" | base64`, the base64 of
/// `user:password` (HTTP Basic auth, docker's `auth`), and one field of a JSON-valued secret as
/// `jq -r .password` prints it (sed here, which every runner image has).
const ENCODING_WORKFLOW: &str = r#"on: push
permissions:
  id-token: write
jobs:
  encode:
    runs-on: ubuntu-latest
    steps:
      - id: vault
        uses: arcodange/vault-login@v1
        with:
          url: ${{ vars.VAULT_ADDR }}
          secrets: |
            kvv2/webapp/service deploy | DEPLOY
            postgres/creds/webapp username | PGUSER
            postgres/creds/webapp password | PGPASSWORD
      - id: encode
        run: |
          echo "$PGPASSWORD" | base64
          printf '%s:%s' "$PGUSER" "$PGPASSWORD" | base64
          leaf=$(printf '%s' "$DEPLOY" | sed -E 's/.*"password":"([^"]*)".*/\1/')
          echo "$leaf"
          printf 'svc-deploy:%s' "$leaf" | base64
"#;

/// What the step `id` printed, as `log` shows it: the lines between its header and the next stage's.
fn step_lines<'l>(log: &'l str, id: &str) -> Vec<&'l str> {
    let section = log.split_once(&format!("--- Run {id}\n")).expect("the step's header").1;
    let section = section.split_once("\n--- ").map_or(section, |(before, _)| before);
    section.lines().filter(|line| !line.starts_with("  ")).collect()
}

/// What `base64` prints: lines of 76 characters (a dynamic user's `user:password` takes two).
fn coreutils_base64(text: &str) -> String {
    let encoded = STANDARD.encode(text);
    let lines: Vec<&str> = encoded.as_bytes().chunks(76).map(|l| std::str::from_utf8(l).expect("base64")).collect();
    lines.join("\n")
}

#[tokio::test]
async fn encoded_forms_of_secrets_are_masked_in_later_steps() {
    let lab = Lab::start().await;
    let service_password = format!("svc-pw-{}", random_hex(10));
    let service = json!({ "username": "svc-deploy", "password": service_password, "scopes": ["read"] });
    lab.services.bao.kv2_put("kvv2", &format!("{APP}/service"), json!({ "deploy": service })).await;
    let run = lab.runner().run_text(ENCODING_WORKFLOW, "encode.yml").await;
    run.assert_success();
    let (user, password) = (run.env["PGUSER"].clone(), run.env["PGPASSWORD"].clone());
    let printed = [
        ("base64 of the password and a newline", coreutils_base64(&format!("{password}\n"))),
        ("Basic-auth base64 of the database user", coreutils_base64(&format!("{user}:{password}"))),
        ("JSON leaf", service_password.clone()),
        ("Basic-auth base64 of the JSON secret", coreutils_base64(&format!("svc-deploy:{service_password}"))),
    ];
    let step = run.step("encode");
    for (what, text) in &printed {
        assert!(step.output.contains(text.as_str()), "the step printed the {what}: {run:?}");
    }
    for (name, log) in [("log", &run.log), ("legacy log", &run.legacy_log)] {
        let printed_lines = step_lines(log, "encode");
        let expected: usize = printed.iter().map(|(_, text)| text.lines().count()).sum();
        assert_eq!(printed_lines.len(), expected, "the {name} shows the step's lines: {run:?}");
        // A mask may leave base64 padding visible, never a character of the secret.
        let shown: Vec<&&str> = printed_lines.iter().filter(|l| !l.chars().all(|c| c == '*' || c == '=')).collect();
        assert!(shown.is_empty(), "the {name} shows {shown:?}: {run:?}");
    }
    assert_nothing_leaks(&run, &[&user, &password, &service_password]);
    show(&run);
}

#[tokio::test]
async fn dry_run_example_shows_the_plan_and_touches_nothing() {
    let issuer = Issuer::start().await;
    let run = Runner::new(&issuer, JobClaims::for_repository(REPOSITORY)).run("examples/workflows/dry-run.yml").await;
    run.assert_success();
    assert!(run.log.contains("vault-login dry run"), "{run:?}");
    for name in ["PGHOST", "PGUSER", "PGPASSWORD", "gitea_cicd_webapp", REPOSITORY] {
        assert!(run.log.contains(name), "the plan names {name}: {run:?}");
    }
    assert!(run.env.is_empty(), "a dry run exports nothing: {:?}", run.env);
    assert!(issuer.issued_tokens().is_empty(), "no ID token was requested");
    let main = &run.steps[0];
    assert!(!main.env.contains_key("ACTIONS_ID_TOKEN_REQUEST_URL"), "the workflow did not opt in to ID tokens");
    assert!(run.log.contains("nothing to revoke"), "{run:?}");
    show(&run);
}

/// Copies the action (action.yml, shim/) to a temporary folder, with `edit` applied to one file.
fn broken_copy(file: &str, from: &str, to: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::create_dir(dir.path().join("shim")).expect("shim dir");
    for name in ["action.yml", "shim/main.js", "shim/post.js", "shim/run.js", "shim/download.js"] {
        let text = std::fs::read_to_string(repo_root().join(name)).expect(name);
        let text = if name == file {
            assert!(text.contains(from), "{name} no longer contains {from:?}: update this test");
            text.replacen(from, to, 1)
        } else {
            text
        };
        std::fs::write(dir.path().join(name), text).expect("write the copy");
    }
    dir
}

#[tokio::test]
async fn the_emulator_fails_a_broken_action() {
    let lab = Lab::start().await;
    let cases = [
        ("main.js runs nothing", "shim/main.js", "require('./run')([], false);", "", "Main Use the token: exit code"),
        (
            "the shim drops the environment",
            "shim/run.js",
            "{ stdio: 'inherit' }",
            "{ stdio: 'inherit', env: {} }",
            "Main vault: exit code",
        ),
        (
            "a blank line in GITHUB_ENV",
            "shim/main.js",
            "require('./run')",
            "require('fs').appendFileSync(process.env.GITHUB_ENV, '\\n');\nrequire('./run')",
            "the runner rejects GITHUB_ENV: invalid format ''",
        ),
        ("a wrong default in action.yml", "action.yml", "default: jwt", "default: oidc", "Main vault: exit code"),
        ("node24, which old act_runners refuse", "action.yml", "using: node20", "using: node24", "node24"),
        ("a missing entry point", "action.yml", "main: shim/main.js", "main: shim/index.js", "shim/index.js"),
    ];
    for (what, file, from, to, reason) in cases {
        let copy = broken_copy(file, from, to);
        let run = lab.runner().action_dir(copy.path()).run("examples/workflows/login.yml").await;
        assert!(!run.success(), "{what}: the job should fail:\n{run:?}");
        let failures = run.failures().join("\n");
        assert!(failures.contains(reason), "{what}: expected a failure mentioning {reason:?}, got:\n{failures}");
    }
    assert!(live_jwt_tokens(&lab.services).await.is_empty(), "every token that logged in was revoked");
}

/// Tokens issued through the `jwt` mount that are still valid.
async fn live_jwt_tokens(services: &Services) -> Vec<serde_json::Value> {
    let mut live = Vec::new();
    for accessor in services.bao.list_accessors().await {
        if let Some(data) = services.bao.lookup_accessor(&accessor).await
            && data["path"].as_str().is_some_and(|p| p.starts_with("auth/jwt/"))
        {
            live.push(data);
        }
    }
    live
}

#[tokio::test]
async fn unexpected_inputs_warn_like_github() {
    let issuer = Issuer::start().await;
    let workflow = "on: push\njobs:\n  j:\n    runs-on: ubuntu-latest\n    steps:\n      \
                    - uses: arcodange/vault-login@v1\n        with:\n          vault-url: https://vault.example.org\n";
    let run = Runner::new(&issuer, JobClaims::for_repository(REPOSITORY)).run_text(workflow, "typo.yml").await;
    assert!(run.warnings.iter().any(|w| w.starts_with("Unexpected input(s) 'vault-url'")), "{:?}", run.warnings);
    run.assert_failure();
    assert!(run.log.contains("input `url` is required"), "{run:?}");
}

/// Inputs that the node shim reads and the binary does not: where to download the binary from.
const SHIM_INPUTS: [&str; 1] = ["release-url"];

/// Every mismatch between `action.yml` (text) and the binary's inputs (plus the shim's), and every input
/// without a description or a default.
fn input_mismatches(action_yml: &str) -> Vec<String> {
    let action = match Action::parse(action_yml) {
        Ok(action) => action,
        Err(e) => return vec![e],
    };
    let binary: BTreeSet<String> = vault_login::inputs::Inputs::augment_args(Command::new("vault-login"))
        .get_arguments()
        .filter_map(|a| a.get_long().map(str::to_owned))
        .chain(SHIM_INPUTS.map(str::to_owned))
        .collect();
    let declared: BTreeSet<String> = action.inputs.iter().map(|i| i.name.clone()).collect();
    let mut problems: Vec<String> = Vec::new();
    problems.extend(
        declared.difference(&binary).map(|n| format!("action.yml declares `{n}`, the binary has no such input")),
    );
    problems.extend(
        binary.difference(&declared).map(|n| format!("the binary reads `{n}`, action.yml does not declare it")),
    );
    for input in &action.inputs {
        if input.description.as_deref().is_none_or(|d| d.trim().is_empty()) {
            problems.push(format!("input `{}` has no description", input.name));
        }
        if input.default.is_none() {
            problems.push(format!("input `{}` has no default (write `default: \"\"` for none)", input.name));
        }
        let github_name = format!("INPUT_{}", input.name.replace(' ', "_").to_uppercase());
        if github_name != input_env_name(&input.name) {
            problems.push(format!("input `{}` gets different variable names on GitHub and act", input.name));
        }
        if SHIM_INPUTS.contains(&input.name.as_str()) {
            let shim = std::fs::read_to_string(repo_root().join("shim/run.js")).expect("shim/run.js");
            if !shim.contains(&format!("env['{}']", input_env_name(&input.name))) {
                problems.push(format!("the shim does not read `{}` from {}", input.name, input_env_name(&input.name)));
            }
            continue;
        }
        let env = [(input_env_name(&input.name), "x".to_owned())];
        let read =
            serde_json::to_value(vault_login::config::read_inputs(&env).expect("inputs")).expect("inputs as JSON");
        if read.get(&input.name).is_none() {
            problems.push(format!("the binary does not read `{}` from {}", input.name, input_env_name(&input.name)));
        }
    }
    problems
}

#[test]
fn action_yml_inputs_are_the_binarys() {
    let text = std::fs::read_to_string(repo_root().join("action.yml")).expect("action.yml");
    assert_eq!(input_mismatches(&text), Vec::<String>::new());
    let broken = [
        text.replacen("  export-token:", "  export_token:", 1),
        text.replacen("  timeout:", "  deadline:", 1),
        text.replacen("    default: jwt\n", "", 1),
        text.replacen("inputs:\n", "inputs:\n  verbose:\n    description: More output.\n    default: \"false\"\n", 1),
    ];
    for text in broken {
        assert!(!input_mismatches(&text).is_empty(), "a mismatch went unnoticed in:\n{text}");
    }
}

#[test]
fn action_entry_points_exist() {
    let action = Action::load(&repo_root()).expect("action.yml loads");
    assert_eq!(action.using, "node20");
    assert_eq!(action.post_if, "always()");
    assert!(action.post.is_some(), "the post step revokes the token");
}

#[test]
fn the_masker_registers_masks_like_each_runner_family() {
    let output = "::add-mask::p%25ss\nsecret p%ss and p%25ss\n::stop-commands::t1\n::add-mask::shown\n::t1::\nshown\n::add-mask::last";
    let mut modern = Masker::new(Registration::Unescaped);
    assert_eq!(modern.process(output), "secret *** and p%25ss\n::add-mask::shown\nshown\n::add-mask::last\n");
    let mut legacy = Masker::new(Registration::Raw);
    assert_eq!(legacy.process(output), "secret p%ss and ***\n::add-mask::shown\nshown\n::add-mask::last\n");
    let mut empty = Masker::new(Registration::Raw);
    assert_eq!(empty.process("::add-mask::\nx\n"), "x\n");
    assert_eq!(empty.problems.len(), 1, "an empty mask is reported");
}

#[tokio::test]
async fn the_emulator_refuses_what_it_does_not_model() {
    let issuer = Issuer::start().await;
    let runner = Runner::new(&issuer, JobClaims::for_repository(REPOSITORY));
    let cases = [
        ("jobs:\n  a:\n    runs-on: x\n    steps:\n      - if: always()\n        run: true\n", "`if:` is not modelled"),
        (
            "jobs:\n  a:\n    runs-on: x\n    steps:\n      - uses: actions/checkout@v4\n",
            "only knows arcodange/vault-login",
        ),
        (
            "jobs:\n  a:\n    runs-on: x\n    steps:\n      - run: echo ${{ github.token }}\n",
            "not one of the expressions",
        ),
        ("jobs:\n  a:\n    steps: []\n  b:\n    steps: []\n", "exactly one job"),
    ];
    for (workflow, reason) in cases {
        let run = runner.run_text(workflow, "case.yml").await;
        assert!(run.failures().iter().any(|f| f.contains(reason)), "want {reason:?}: {:?}", run.failures());
    }
}
