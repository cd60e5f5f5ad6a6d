//! Secrets for tofu on real servers: KV v2/v1, dynamic PostgreSQL credentials, names, all-or-nothing.

use crate::support::*;
use serde_json::json;

fn job(app: &App, secrets: &str) -> Job {
    app.vault_job().input("secrets", &secrets.replace("APP", &app.name))
}

const MULTI_LINE: &str = "-----BEGIN KEY-----\nMIIBOgIBAAJBAKj34GkxFhD90vcNLYLInFEX6Ppy1tPf\n-----END KEY-----";
const UNICODE: &str = "pässwörd-日本語-🔑";

fn lab_options() -> AppOptions {
    AppOptions::new()
        .kv2("config", json!({"db_host": "db-v1.internal", "api_key": "key-v1-0000"}))
        .kv2(
            "config",
            json!({"db_host": "db.internal", "api_key": "key-2f9c1e", "tls-key": MULTI_LINE, "motto": UNICODE}),
        )
        .kv1("flat", json!({"token": "flat-token-5d2b"}))
        .database()
}

#[tokio::test]
async fn the_readme_example_yields_the_documented_names_and_values() {
    let (services, issuer, app) = setup(lab_options()).await;
    let job = job(
        &app,
        "kvv2/APP/config db_host                 # -> DB_HOST
         kvv2/APP/config api_key | TF_VAR_api_key
         kvv2/data/APP/config@1 db_host | OLD_DB_HOST
         kvv2/APP/config * | MY_
         kvv2/APP/config * | TF_VAR_
         kv/APP/flat token | FLAT_TOKEN; postgres/creds/APP username | PGUSER
         postgres/creds/APP password | PGPASSWORD",
    );
    let main = job.run_main().await;
    main.assert_success();
    let env = &main.env;
    assert_eq!(env["DB_HOST"], "db.internal");
    assert_eq!(env["TF_VAR_api_key"], "key-2f9c1e");
    assert_eq!(env["OLD_DB_HOST"], "db-v1.internal", "pinned version, path written with data/");
    assert_eq!(env["MY_api_key"], "key-2f9c1e", "wildcard: the prefix, then the key as written");
    assert_eq!(env["MY_tls_key"], MULTI_LINE);
    assert_eq!(env["MY_motto"], UNICODE);
    assert_eq!(env["TF_VAR_db_host"], "db.internal", "wildcard with prefix keeps the key's case");
    assert_eq!(env["TF_VAR_tls_key"], MULTI_LINE);
    assert_eq!(env["FLAT_TOKEN"], "flat-token-5d2b");
    for name in ["DB_HOST", "TF_VAR_api_key", "OLD_DB_HOST", "FLAT_TOKEN", "PGUSER", "PGPASSWORD", "TF_VAR_motto"] {
        assert_eq!(main.outputs[name], env[name], "every export is also an output: {name}");
    }

    let (user, password) = (env["PGUSER"].clone(), env["PGPASSWORD"].clone());
    let pg = &services.pg;
    assert!(pg.login_works(&user, &password).await, "username and password come from one lease");
    assert!(pg.member_of(&user, &app.pg_group_role).await);

    for needle in ["`DB_HOST`", "`kvv2/", "`db_host`", "| 1 |", "`PGUSER`", "postgres/creds/"] {
        assert!(main.summary.contains(needle), "summary lacks {needle}:\n{}", main.summary);
    }
    assert!(main.summary.lines().any(|l| l.contains("`PGPASSWORD`") && l.contains("T")), "lease expiry shown");
    let jwt = issuer.issued_tokens()[0].clone();
    let secrets = [
        env["VAULT_TOKEN"].as_str(),
        &jwt,
        "key-2f9c1e",
        "db.internal",
        MULTI_LINE,
        UNICODE,
        "flat-token-5d2b",
        &user,
        &password,
    ];
    assert_no_leak(&main, &secrets);

    let post = job.run_post(&main).await;
    post.assert_success();
    assert_no_leak(&post, &secrets);
    assert!(pg.role_gone(&user).await, "revoking the token drops the database user");
    assert!(app.live_tokens().await.is_empty());
}

#[tokio::test]
async fn a_read_failing_midway_exports_nothing_and_revokes_at_once() {
    let (services, _issuer, app) = setup(lab_options()).await;
    let job = job(&app, "postgres/creds/APP username | PGUSER\nkvv2/APP/config no_such_key");
    let main = job.run_main().await;
    main.assert_failure();
    assert!(main.raw_env_file.is_empty() && main.raw_output_file.is_empty(), "{main:?}");
    assert!(main.log().contains("key `no_such_key` not found in `kvv2/"), "{main:?}");
    assert!(main.log().contains("`db_host`"), "the available keys are listed: {main:?}");
    assert!(main.log().contains("the Vault token was revoked"), "{main:?}");
    assert!(app.live_tokens().await.is_empty(), "revoked in the main step, before any post step");
    assert!(services.pg.members_gone(&app.pg_group_role).await, "the database user died with the token");
    let post = job.run_post(&main).await;
    post.assert_success();
    assert!(post.stdout.contains("the main step failed and revoked the Vault token itself"), "{post:?}");
    assert!(post.summary.contains("The main step revoked token `"), "{}", post.summary);
}

#[tokio::test]
async fn missing_path_missing_key_and_denial_are_three_different_errors() {
    let (_, _, app) = setup(lab_options()).await;
    let cases = [
        (
            "kvv2/APP/nothing-here db_host",
            "secret `kvv2/APP/nothing-here` not found (read at `kvv2/data/APP/nothing-here`)",
        ),
        ("kvv2/APP/config nope", "key `nope` not found in `kvv2/APP/config`"),
        ("kvv2/someone-else/config db_host", "permission denied reading `kvv2/someone-else/config`"),
    ];
    for (secrets, message) in cases {
        let main = job(&app, secrets).run_main().await;
        main.assert_failure();
        let message = message.replace("APP", &app.name);
        assert!(main.log().contains(&message), "{message}\n{main:?}");
        assert!(main.raw_env_file.is_empty());
    }
    let denied = job(&app, "kvv2/someone-else/config db_host").run_main().await;
    assert!(denied.log().contains(&app.policy), "the denial names the policies to change: {denied:?}");
    assert!(app.live_tokens().await.is_empty());
}

#[tokio::test]
async fn ignore_not_found_skips_missing_paths_and_keys_but_not_denials() {
    let (_, _, app) = setup(lab_options()).await;
    let secrets = "kvv2/APP/config db_host\nkvv2/APP/nothing-here x\nkvv2/APP/config nope";
    let job = job(&app, secrets).input("ignore-not-found", "true");
    let main = job.run_main().await;
    main.assert_success();
    assert_eq!(main.env["DB_HOST"], "db.internal");
    assert!(main.stdout.contains("::warning::skipped `kvv2/"), "{main:?}");
    job.run_post(&main).await.assert_success();

    let denied = self::job(&app, "kvv2/other/config x").input("ignore-not-found", "true").run_main().await;
    denied.assert_failure();
}

#[tokio::test]
async fn hostile_and_conflicting_names_are_refused_before_any_login() {
    let (_, issuer, app) = setup(lab_options()).await;
    for (secrets, message) in [
        ("kvv2/APP/config db_host | PATH", "line 1, column COL"),
        ("kvv2/APP/config db_host | LD_PRELOAD", "LD_PRELOAD"),
        ("kvv2/APP/config db_host | GITHUB_TOKEN", "GITHUB_TOKEN"),
        ("kvv2/APP/config db_host | VAULT_TOKEN", "VAULT_TOKEN"),
        ("kvv2/APP/config * | BASH_FUNC_", "BASH_FUNC_"),
    ] {
        let main = job(&app, secrets).run_main().await;
        main.assert_failure();
        let column = "kvv2/APP/config db_host | ".replace("APP", &app.name).len() + 1;
        let message = message.replace("APP", &app.name).replace("COL", &column.to_string());
        assert!(main.log().contains(&message), "{message}\n{main:?}");
    }
    assert!(issuer.token_requests().await.is_empty(), "refused while parsing, before any request");

    let conflict = job(&app, "kvv2/APP/config db_host | X_HOST\nkv/APP/flat token | X_HOST").run_main().await;
    conflict.assert_failure();
    assert!(conflict.log().contains("export name `X_HOST` would come from both"), "{conflict:?}");
    let same = job(&app, "kvv2/APP/config db_host\nkvv2/APP/config db_host").run_main().await;
    same.assert_success();
    assert!(app.live_tokens().await.len() == 1);
    app.client(&same.env["VAULT_TOKEN"]).revoke_self().await;
}

#[tokio::test]
async fn options_for_tofu_and_outputs_only() {
    let (_, _, app) = setup(lab_options()).await;
    let job = job(&app, "kvv2/APP/config tls-key")
        .input("export-env", "false")
        .input("tofu-skip-child-token", "true")
        .input("bao-env", "true")
        .input("naming", "vault-action");
    let main = job.run_main().await;
    main.assert_success();
    assert!(!main.env.contains_key("TLSKEY") && !main.env.contains_key("TLS_KEY"), "export-env: false");
    assert_eq!(main.outputs["TLSKEY"], MULTI_LINE, "vault-action naming drops `-`");
    assert_eq!(main.env["TERRAFORM_VAULT_SKIP_CHILD_TOKEN"], "true");
    assert_eq!(main.env["BAO_TOKEN"], main.env["VAULT_TOKEN"]);
    assert_eq!(main.env["BAO_ADDR"], main.env["VAULT_ADDR"]);
    job.run_post(&main).await.assert_success();
}

#[tokio::test]
async fn leases_shorter_than_asked_or_outliving_the_token_are_flagged() {
    let (services, _issuer, app) = setup(lab_options().role_field("token_ttl", json!("2m"))).await;
    let job = job(&app, "postgres/creds/APP username | PGUSER").input("min-lease-ttl", "10m");
    let main = job.run_main().await;
    main.assert_success();
    assert!(main.stdout.contains("outlives the Vault token"), "5m lease vs 2m token: {main:?}");
    assert!(main.stdout.contains("less than `min-lease-ttl`"), "{main:?}");
    job.run_post(&main).await.assert_success();
    assert!(services.pg.role_gone(&main.env["PGUSER"]).await);
}

/// Keys someone wrote to a secret, chosen to take over later steps (issue 12, finding 1): `*` without a
/// prefix is refused before any request; with a prefix every name is the workflow's, and a key that lands
/// on a reserved name anyway fails the step with nothing exported.
#[tokio::test]
async fn keys_written_to_vault_never_choose_a_variable() {
    let planted = json!({
        "tf_reattach_providers": "{\"registry.opentofu.org/x/y\":{\"Addr\":{\"Network\":\"tcp\",\"String\":\"evil:1\"}}}",
        "pip_index_url": "https://evil.example/simple",
        "vault_login_bin": "/tmp/evil",
        "http_proxy": "http://evil.example:3128",
        "reattach_providers": "aimed at the TF_ prefix",
    });
    let (_, issuer, app) = setup(AppOptions::new().kv2("planted", planted)).await;

    let bare = job(&app, "kvv2/APP/planted *").run_main().await;
    bare.assert_failure();
    assert!(bare.log().contains("expected `| PREFIX` after `*`"), "{bare:?}");
    assert!(issuer.token_requests().await.is_empty(), "refused while parsing, before any request");

    let aimed = job(&app, "kvv2/APP/planted * | TF_").run_main().await;
    aimed.assert_failure();
    assert!(aimed.log().contains("`TF_reattach_providers` is refused: names matching `TF_REATTACH_PROVIDERS`"));
    assert!(aimed.raw_env_file.is_empty() && aimed.raw_output_file.is_empty(), "{aimed:?}");
    assert!(aimed.log().contains("the Vault token was revoked"), "{aimed:?}");

    let prefixed = job(&app, "kvv2/APP/planted * | MY_").run_main().await;
    prefixed.assert_success();
    let exported: Vec<&String> = prefixed.env.keys().filter(|k| !k.starts_with("VAULT_")).collect();
    assert_eq!(exported.len(), 5, "{exported:?}");
    assert!(exported.iter().all(|k| k.starts_with("MY_")), "{exported:?}");
    app.client(&prefixed.env["VAULT_TOKEN"]).revoke_self().await;
    assert!(app.live_tokens().await.is_empty());
}
