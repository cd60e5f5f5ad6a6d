use super::*;

fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

fn ci(extra: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut base = env(&[
        ("GITHUB_ACTIONS", "true"),
        ("GITHUB_REPOSITORY", "arcodange/webapp"),
        ("ACTIONS_ID_TOKEN_REQUEST_URL", "https://forge.example/idtoken?placeholder=true"),
        ("ACTIONS_ID_TOKEN_REQUEST_TOKEN", "request-token"),
        ("INPUT_URL", "https://vault.example.org"),
    ]);
    base.retain(|(k, _)| !extra.iter().any(|(e, _)| e == k));
    base.extend(env(extra));
    base
}

fn load(pairs: Vec<(String, String)>, flags: Inputs) -> Result<Config, ConfigError> {
    Config::from_env(&pairs, flags, JobContext::default(), || panic!("git is only asked in a local dry run"))
}

fn err(pairs: Vec<(String, String)>) -> String {
    match load(pairs.clone(), Inputs::default()) {
        Ok(_) => panic!("expected an error"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn defaults_follow_the_lab_naming() {
    let config = load(ci(&[]), Inputs::default()).unwrap();
    assert_eq!(config.app, "webapp");
    assert_eq!(config.role, "gitea_cicd_webapp");
    assert_eq!(config.mount, "jwt");
    assert_eq!(config.audience, "vault");
    assert!(config.export_token && config.export_env && config.revoke && !config.dry_run);
    assert!(matches!(config.jwt, JwtSource::Oidc { .. }));
}

#[test]
fn hyphenated_inputs_use_acts_naming_and_empty_means_unset() {
    let config =
        load(ci(&[("INPUT_EXPORT-TOKEN", "false"), ("INPUT_APP", ""), ("INPUT_ROLE", " ")]), Inputs::default())
            .unwrap();
    assert!(!config.export_token);
    assert_eq!(config.app, "webapp");
}

#[test]
fn flags_win_over_inputs() {
    let flags = Inputs { app: Some("other".into()), ..Inputs::default() };
    let config = load(ci(&[("INPUT_APP", "webapp")]), flags).unwrap();
    assert_eq!(config.role, "gitea_cicd_other");
}

#[test]
fn url_falls_back_to_vault_addr_and_is_required() {
    let mut pairs = ci(&[("VAULT_ADDR", "http://127.0.0.1:8200")]);
    pairs.retain(|(k, _)| k != "INPUT_URL");
    assert_eq!(load(pairs.clone(), Inputs::default()).unwrap().addr.as_str(), "http://127.0.0.1:8200/");
    pairs.retain(|(k, _)| k != "VAULT_ADDR");
    assert!(err(pairs).contains("input `url` is required"));
    assert!(err(ci(&[("INPUT_URL", "vault.example.org")])).contains("input `url`"));
    assert!(err(ci(&[("INPUT_URL", "ftp://vault")])).contains("http:// or https://"));
}

#[test]
fn url_is_the_base_address_without_the_api_prefix() {
    let pasted = err(ci(&[("INPUT_URL", "https://vault.example.org/v1")]));
    assert!(pasted.contains("API prefix `/v1`"), "{pasted}");
    assert!(pasted.contains("(`https://vault.example.org`)"), "{pasted}");
    let behind_a_proxy = err(ci(&[("INPUT_URL", "https://example.org/vault/v1/")]));
    assert!(behind_a_proxy.contains("(`https://example.org/vault`)"), "{behind_a_proxy}");
    let config = load(ci(&[("INPUT_URL", "https://example.org/vault")]), Inputs::default()).unwrap();
    assert_eq!(config.addr_text(), "https://example.org/vault");
    let huge = format!("https://vault.example.org/{}", "a".repeat(100_000));
    let refused = err(ci(&[("INPUT_URL", &huge)]));
    assert!(refused.contains("100026 characters long; an address has at most 2048"), "{refused}");
    assert!(refused.len() < 200, "the message quotes no more than an excerpt: {refused}");
}

#[test]
fn bad_values_name_their_input() {
    assert!(err(ci(&[("INPUT_REVOKE", "maybe")])).starts_with("input `revoke`: expected true or false"));
    assert!(err(ci(&[("INPUT_TIMEOUT", "soon")])).starts_with("input `timeout`"));
    assert!(err(ci(&[("INPUT_WAIT-FOR-UNSEAL", "soon")])).starts_with("input `wait-for-unseal`"));
    assert!(err(ci(&[("INPUT_WAIT-FOR-UNSEAL", "2d")])).contains("at most 24h"));
    assert!(err(ci(&[("INPUT_TIMEOUT", "99999999999")])).contains("between 1s and 24h"));
    assert!(err(ci(&[("INPUT_TIMEOUT", "0")])).contains("between 1s and 24h"));
    assert!(err(ci(&[("INPUT_TLS-SKIP-VERIFY", "perhaps")])).starts_with("input `tls-skip-verify`"));
    assert!(err(ci(&[("INPUT_CA-CERTIFICATE", "/no/such/ca.pem")])).starts_with("input `ca-certificate`"));
    let key_only = err(ci(&[("INPUT_CLIENT-KEY", "-----BEGIN PRIVATE KEY-----")]));
    assert!(key_only.starts_with("input `client-certificate`"), "{key_only}");
    assert!(err(ci(&[("INPUT_APP", "web app")])).starts_with("input `app`"));
    assert!(err(ci(&[("INPUT_MOUNT", "../sys")])).starts_with("input `mount`"));
    assert!(err(ci(&[("INPUT_NAMESPACE", "team\nX-Evil: 1")])).starts_with("input `namespace`"));
    let with_password = err(ci(&[("INPUT_URL", "https://ops:hunter2@vault.example.org")]));
    assert!(with_password.starts_with("input `url`: must not carry a user or password"), "{with_password}");
    assert!(!with_password.contains("hunter2"), "a credential in the URL is never echoed");
    let naming = err(ci(&[("INPUT_NAMING", "shouty")]));
    assert_eq!(naming.matches("input `naming`").count(), 1, "{naming}");
    let twice = err(ci(&[("INPUT_SECRETS", "kvv2/a/config host | HOST\nkv/a/flat host | HOST")]));
    assert!(twice.contains("export name `HOST` would come from both"), "refused before any request: {twice}");
    assert!(err(ci(&[("INPUT_NAMING", "shouty")])).starts_with("input `naming`"));
    assert!(err(ci(&[("INPUT_SECRETS", "kvv2/x")])).starts_with("secrets input, line 1, column 7"));
}

#[test]
fn a_missing_id_token_is_explained_for_the_forge_at_hand() {
    let mut pairs = ci(&[]);
    pairs.retain(|(k, _)| !k.starts_with("ACTIONS_ID_TOKEN"));
    let on = |extra: &[(&str, &str)]| err(pairs.iter().cloned().chain(env(extra)).collect());
    let github = on(&[]);
    assert!(github.contains("on GitHub add `permissions: id-token: write`"), "{github}");
    assert!(!github.contains("enable-openid-connect"), "{github}");
    let forgejo = on(&[("GITEA_ACTIONS", "true"), ("FORGEJO_ACTIONS", "true")]);
    assert!(forgejo.contains("on Forgejo (v15+) add `enable-openid-connect: true`"), "{forgejo}");
    let gitea = on(&[("GITEA_ACTIONS", "true")]);
    for needle in ["on Gitea add `permissions: id-token: write`", "maximum Actions permissions", "`jwt` input"] {
        assert!(gitea.contains(needle), "{needle} missing from {gitea}");
    }
    pairs.push(("INPUT_JWT".into(), "a.b.c".into()));
    assert!(matches!(load(pairs.clone(), Inputs::default()).unwrap().jwt, JwtSource::Given(_)));
}

#[test]
fn dry_run_needs_nothing() {
    let flags = Inputs { dry_run: Some("true".into()), app: Some("webapp".into()), ..Inputs::default() };
    let local = || JobContext { repository: Some("arcodange/from-git".into()), ..JobContext::default() };
    let config = Config::from_env(&[], flags, JobContext::default(), local).unwrap();
    assert!(config.dry_run && config.addr_is_placeholder && !config.in_ci);
    assert_eq!(config.job.repository.as_deref(), Some("arcodange/from-git"));
    assert!(matches!(config.jwt, JwtSource::Fake));
}

#[test]
fn an_empty_file_command_variable_means_no_file() {
    let config = load(ci(&[("GITHUB_ENV", ""), ("GITHUB_OUTPUT", "/tmp/out")]), Inputs::default()).unwrap();
    assert_eq!(config.files.env, None);
    assert_eq!(config.files.output, Some(PathBuf::from("/tmp/out")));
}

#[test]
fn durations_accept_vault_style_values() {
    assert_eq!(duration("timeout", "90").unwrap(), Duration::from_secs(90));
    assert_eq!(duration("timeout", "15m").unwrap(), Duration::from_secs(900));
    assert_eq!(duration("timeout", "1h 30m").unwrap(), Duration::from_secs(5400));
}

#[test]
fn a_repository_that_is_not_owner_name_gives_way_to_the_tokens_claim() {
    use base64::Engine as _;
    let encode = |json: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json);
    let jwt = format!("{}.{}.c2ln", encode(r#"{"alg":"RS256"}"#), encode(r#"{"repository":"arcodange/webapp"}"#));
    let act_url = ("GITHUB_REPOSITORY", "https://gitea.example.org/arcodange/webapp.git");

    let config = load(ci(&[act_url, ("INPUT_JWT", &jwt)]), Inputs::default()).unwrap();
    assert_eq!((config.app.as_str(), config.role.as_str()), ("webapp", "gitea_cicd_webapp"));
    assert_eq!(config.job.repository.as_deref(), Some("arcodange/webapp"));

    let without_token = err(ci(&[act_url]));
    assert!(
        without_token.starts_with("input `app`: GITHUB_REPOSITORY is `https://gitea.example.org/"),
        "{without_token}"
    );
    assert!(without_token.contains("set `app: <your app slug>`"), "{without_token}");
    let named = load(ci(&[act_url, ("INPUT_APP", "webapp")]), Inputs::default()).unwrap();
    assert_eq!(named.role, "gitea_cicd_webapp");
}

#[test]
fn exec_reads_back_what_the_action_left_and_the_main_step_does_not() {
    let left = [("VAULT_LOGIN_ROLE", "ops"), ("VAULT_LOGIN_MOUNT", "gitea/jwt"), ("VAULT_NAMESPACE", "team")];
    let exec = Config::for_exec(&ci(&left), Inputs::default(), JobContext::default(), || unreachable!(), false);
    let exec = exec.unwrap();
    assert_eq!(
        (exec.role.as_str(), exec.mount.as_str(), exec.namespace.as_deref()),
        ("ops", "gitea/jwt", Some("team"))
    );
    let flags = Inputs { role: Some("flag".into()), ..Inputs::default() };
    let flagged = Config::for_exec(&ci(&left), flags, JobContext::default(), || unreachable!(), false).unwrap();
    assert_eq!(flagged.role, "flag", "flags win");
    let main = load(ci(&left), Inputs::default()).unwrap();
    assert_eq!((main.role.as_str(), main.mount.as_str()), ("gitea_cicd_webapp", "jwt"), "the main step ignores them");

    let token = Config::for_exec(
        &ci(&[("VAULT_TOKEN", "s.abc")]),
        Inputs::default(),
        JobContext::default(),
        || unreachable!(),
        true,
    );
    assert!(matches!(token.unwrap().jwt, JwtSource::ExistingToken(_)));
    let none = Config::for_exec(&ci(&[]), Inputs::default(), JobContext::default(), || unreachable!(), true);
    assert!(none.err().unwrap().to_string().contains("VAULT_TOKEN"));
}
