//! TLS against a real OpenBao with TLS listeners whose certificates the test makes (rcgen): a private CA,
//! an expired certificate, a listener that requires client certificates; an ID-token endpoint over https;
//! and proxies (`HTTPS_PROXY`, `HTTP_PROXY`, `NO_PROXY`) through the harness's HTTP proxy.

use std::time::Duration;

use crate::support::*;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::json;

const SECRET: &str = "tls-secret-41c9";

/// A private OpenBao with three TLS listeners: valid, expired, and requiring a client certificate; an app
/// provisioned on it.
struct Setup {
    pki: Pki,
    issuer: Issuer,
    app: App,
    server: BaoServer,
    /// ID tokens given in the `jwt` input (the issuer lists only those its endpoint handed out).
    minted: std::sync::Mutex<Vec<String>>,
}

impl Setup {
    async fn new() -> Setup {
        let services = Services::from_env();
        let pki = Pki::new("vault-login test CA");
        let (valid, expired) = (pki.server(false), pki.server(true));
        let listeners = [
            TlsListener { cert_pem: valid.cert.clone(), key_pem: valid.key.clone(), client_ca_pem: None },
            TlsListener { cert_pem: expired.cert, key_pem: expired.key, client_ca_pem: None },
            TlsListener { cert_pem: valid.cert, key_pem: valid.key, client_ca_pem: Some(pki.ca_pem.clone()) },
        ];
        let server = BaoServer::start(&services, &listeners).await;
        let issuer = Issuer::start().await;
        let options = AppOptions::new().kv2("config", json!({ "api_key": SECRET }));
        let app = App::provision(&server.services(&services), &issuer, options).await;
        Setup { pki, issuer, app, server, minted: Default::default() }
    }

    fn job(&self, url: &str) -> Job {
        self.app
            .job()
            .input("url", url)
            .input("mount", &self.app.mount)
            .input("secrets", &format!("kvv2/{}/config api_key", self.app.name))
            .input("timeout", "5s")
            .timeout(Duration::from_secs(60))
    }

    fn valid(&self) -> &str {
        &self.server.tls_addrs[0]
    }

    fn expired(&self) -> &str {
        &self.server.tls_addrs[1]
    }

    fn mtls(&self) -> &str {
        &self.server.tls_addrs[2]
    }

    /// An ID token for the `jwt` input, remembered for the leak checks.
    fn mint(&self) -> String {
        let jwt = self.app.mint();
        self.minted.lock().unwrap().push(jwt.clone());
        jwt
    }

    /// Everything that must not leak: the secret, the steps' Vault tokens, every ID token.
    fn secrets(&self, steps: &[&StepResult]) -> Vec<String> {
        let mut secrets = vec![SECRET.to_owned()];
        secrets.extend(steps.iter().filter_map(|s| s.state.get("vault_token").cloned()));
        secrets.extend(self.issuer.issued_tokens());
        secrets.extend(self.minted.lock().unwrap().iter().cloned());
        secrets
    }

    /// Runs main and post, both successful, and checks that nothing is left behind.
    async fn complete_run(&self, job: &Job) -> StepResult {
        let main = job.run_main().await;
        main.assert_success();
        assert_eq!(main.env["API_KEY"], SECRET);
        let post = job.run_post(&main).await;
        post.assert_success();
        assert!(post.stdout.contains("Revoked the Vault token"), "{post:?}");
        assert!(self.app.live_tokens().await.is_empty());
        let secrets = self.secrets(&[&main]);
        let secrets: Vec<&str> = secrets.iter().map(String::as_str).collect();
        for step in [&main, &post] {
            assert_no_leak(step, &secrets);
        }
        main
    }

    /// Runs main, which must fail before exporting anything; returns its log.
    async fn refused(&self, job: &Job) -> String {
        let main = job.run_main().await;
        main.assert_failure();
        assert!(main.raw_env_file.is_empty() && main.raw_output_file.is_empty(), "{main:?}");
        assert!(!main.stdout.contains("retrying in"), "a TLS failure is not retried:\n{main:?}");
        let secrets = self.secrets(&[&main]);
        assert_no_leak(&main, &secrets.iter().map(String::as_str).collect::<Vec<_>>());
        main.log()
    }
}

#[tokio::test]
async fn ca_certificate_verifies_vault_and_later_steps_get_it_as_vault_cacert() {
    let setup = Setup::new().await;
    let job = setup.job(setup.valid()).input("ca-certificate", &setup.pki.ca_pem);
    let main = setup.complete_run(&job).await;
    let cacert = std::path::PathBuf::from(&main.env["VAULT_CACERT"]);
    assert!(cacert.starts_with(job.runner_temp()), "VAULT_CACERT is in RUNNER_TEMP: {cacert:?}");
    assert!(!cacert.exists(), "the post step removed {cacert:?}");
    assert_eq!(main.state["vault_cacert_file"], main.env["VAULT_CACERT"]);
}

#[tokio::test]
async fn the_ca_file_holds_the_ca_until_the_post_step() {
    let setup = Setup::new().await;
    let encoded = STANDARD.encode(&setup.pki.ca_pem);
    let job = setup.job(setup.valid()).input("ca-certificate", &encoded);
    let main = job.run_main().await;
    main.assert_success();
    let cacert = &main.env["VAULT_CACERT"];
    assert_eq!(std::fs::read_to_string(cacert).unwrap().trim(), setup.pki.ca_pem.trim());
    job.run_post(&main).await.assert_success();
    assert!(!std::path::Path::new(cacert).exists());
    assert_no_leak(&main, &setup.secrets(&[&main]).iter().map(String::as_str).collect::<Vec<_>>());
}

#[tokio::test]
async fn certificate_problems_are_told_in_plain_words() {
    let setup = Setup::new().await;
    let unknown = setup.refused(&setup.job(setup.valid())).await;
    assert!(unknown.contains("unknown issuer") && unknown.contains("`ca-certificate`"), "{unknown}");

    let expired = setup.refused(&setup.job(setup.expired()).input("ca-certificate", &setup.pki.ca_pem)).await;
    assert!(expired.contains("has expired (it was valid until"), "{expired}");

    let by_name = setup.valid().replace("127.0.0.1", "localhost");
    let wrong_host = setup.refused(&setup.job(&by_name).input("ca-certificate", &setup.pki.ca_pem)).await;
    assert!(wrong_host.contains("wrong host name") && wrong_host.contains("127.0.0.1"), "{wrong_host}");

    let https_to_plain = setup.server.addr.replace("http://", "https://");
    let plain = setup.refused(&setup.job(&https_to_plain)).await;
    assert!(plain.contains("answered the TLS handshake in plain text: the server speaks http, not https"), "{plain}");
    assert!(setup.app.live_tokens().await.is_empty());
}

#[tokio::test]
async fn mtls_accepts_the_right_client_certificate_and_refuses_others() {
    let setup = Setup::new().await;
    let client = setup.pki.client();
    let with_ca = |job: Job| job.input("ca-certificate", &setup.pki.ca_pem);
    let job = with_ca(setup.job(setup.mtls()))
        .input("client-certificate", &STANDARD.encode(&client.cert))
        .input("client-key", &STANDARD.encode(&client.key));
    let main = setup.complete_run(&job).await;
    assert_no_leak(&main, &[client.key.lines().nth(1).unwrap()]);

    let without = setup.refused(&with_ca(setup.job(setup.mtls()))).await;
    assert!(without.contains("client certificate"), "{without}");

    let stranger = Pki::new("some other CA").client();
    let foreign =
        with_ca(setup.job(setup.mtls())).input("client-certificate", &stranger.cert).input("client-key", &stranger.key);
    let refused = setup.refused(&foreign).await;
    assert!(refused.contains("client certificate"), "{refused}");
    assert!(setup.app.live_tokens().await.is_empty());
}

#[tokio::test]
async fn tls_skip_verify_works_but_warns_every_run() {
    let setup = Setup::new().await;
    let job = setup.job(setup.valid()).input("tls-skip-verify", "true");
    let main = setup.complete_run(&job).await;
    assert!(main.stdout.contains("::warning::tls-skip-verify is on"), "{main:?}");
    assert!(!main.env.contains_key("VAULT_CACERT"));
}

#[tokio::test]
async fn proxies_are_used_as_the_environment_says() {
    let setup = Setup::new().await;
    let proxy = Proxy::http_proxy().await;
    let dir = tempfile::tempdir().unwrap();
    let ca_path = dir.path().join("ca.pem");
    std::fs::write(&ca_path, &setup.pki.ca_pem).unwrap();
    let https = || setup.job(setup.valid()).input("ca-certificate", ca_path.to_str().unwrap());
    let port = setup.valid().rsplit(':').next().unwrap().to_owned();

    setup.complete_run(&https().env("HTTPS_PROXY", &proxy.url())).await;
    let tunnels = proxy.proxied();
    assert!(tunnels.contains(&format!("CONNECT 127.0.0.1:{port}")), "{tunnels:?}");

    setup.complete_run(&https().env("HTTPS_PROXY", &proxy.url()).env("NO_PROXY", "127.0.0.1")).await;
    assert_eq!(proxy.proxied(), tunnels, "NO_PROXY bypasses the proxy");

    let plain = setup.job(&setup.server.addr).input("jwt", &setup.mint()).env("HTTP_PROXY", &proxy.url());
    setup.complete_run(&plain).await;
    let login = format!("POST {}/v1/auth/{}/login", setup.server.addr, setup.app.mount);
    assert!(proxy.proxied().contains(&login), "plain http goes through HTTP_PROXY: {:?}", proxy.proxied());

    // The post step sends the token the way the main step did: a proxy exported after the main step is
    // not followed, and the main step's proxy is used even when the post step's environment lacks it.
    let revoke = format!("POST {}/v1/auth/token/revoke-self", setup.server.addr);
    let direct = setup.job(&setup.server.addr).input("jwt", &setup.mint());
    let main = direct.run_main().await;
    main.assert_success();
    let before = proxy.proxied().len();
    let planted = setup.job(&setup.server.addr).env("HTTP_PROXY", &proxy.url()).env("http_proxy", &proxy.url());
    let post = planted.run_post(&main).await;
    assert!(post.stdout.contains("Revoked the Vault token"), "{post:?}");
    assert_eq!(proxy.proxied().len(), before, "the planted proxy saw nothing: {:?}", proxy.proxied());

    let main = plain.input("jwt", &setup.mint()).run_main().await;
    main.assert_success();
    let post = direct.run_post(&main).await;
    assert!(post.stdout.contains("Revoked the Vault token"), "{post:?}");
    assert_eq!(proxy.proxied().iter().filter(|r| **r == revoke).count(), 2, "{:?}", proxy.proxied());
    assert!(setup.app.live_tokens().await.is_empty());
}

/// `ca-certificate` is Vault's alone: the ID-token request trusts the machine's roots (`SSL_CERT_FILE`), as
/// it must for a forge whose certificate is public.
#[tokio::test]
async fn the_id_token_request_over_https_trusts_the_machines_roots_not_ca_certificate() {
    let (services, pki) = (Services::from_env(), Pki::new("vault-login test forge CA"));
    let issuer = Issuer::start_https(&pki).await;
    assert!(issuer.base_url().starts_with("https://"));
    let options = AppOptions::new().kv2("config", json!({ "api_key": SECRET }));
    let app = App::provision(&services, &issuer, options).await;
    let dir = tempfile::tempdir().unwrap();
    let roots = dir.path().join("roots.pem");
    std::fs::write(&roots, &pki.ca_pem).unwrap();
    let job = || {
        app.job()
            .input("url", services.bao.addr())
            .input("mount", &app.mount)
            .input("secrets", &format!("kvv2/{}/config api_key", app.name))
            .input("timeout", "3s")
    };

    let main = job().env("SSL_CERT_FILE", roots.to_str().unwrap()).run_main().await;
    main.assert_success();
    assert_eq!(main.env["API_KEY"], SECRET);
    assert_no_leak(&main, &[&main.env["VAULT_TOKEN"], &issuer.issued_tokens()[0], SECRET]);
    job().run_post(&main).await.assert_success();

    let refused = job().input("ca-certificate", &pki.ca_pem).run_main().await;
    refused.assert_failure();
    assert!(refused.log().contains("requesting the job's OIDC ID token"), "{refused:?}");
    assert_eq!(issuer.issued_tokens().len(), 1, "no ID token went to a step that does not trust the forge");
    assert!(refused.raw_env_file.is_empty() && refused.raw_output_file.is_empty(), "{refused:?}");
    assert_no_leak(&refused, &[&issuer.issued_tokens()[0], SECRET]);
    assert!(app.live_tokens().await.is_empty());
}
