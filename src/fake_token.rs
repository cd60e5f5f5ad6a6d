//! Tokens shaped like a real job's, for the dry run and for a sandbox Vault that trusts a local key.

use std::time::Duration;

use anyhow::{Context, Result, bail};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::{Jwk, JwkSet, PublicKeyUse, ThumbprintHash};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use secrecy::ExposeSecret;
use serde_json::{Map, Value, json};

use crate::claims::Claims;
use crate::config::{Config, JobContext, JwtSource};

/// The claims Vault would see: those of the `jwt` input when one is given, else a fake job token's.
pub fn token_claims(config: &Config, now: i64) -> Result<Claims> {
    match &config.jwt {
        JwtSource::Given(jwt) => {
            Claims::peek(jwt.expose_secret()).map_err(|e| anyhow::anyhow!("input `jwt`: not a JWT: {e}"))
        }
        _ => Ok(Claims::from_map(claims(&config.job, &config.audience, now))),
    }
}

/// Lifetime of a fake token: the 5 minutes GitHub and Gitea use.
const LIFETIME: Duration = Duration::from_secs(300);
/// Issuer used when the job context has no forge URL.
const FALLBACK_SERVER: &str = "https://forge.example";
/// GitHub's issuer, which is not under its server URL.
const GITHUB_ISSUER: &str = "https://token.actions.githubusercontent.com";

/// The claims a Forgejo/GitHub job token would carry for `job`: the same names, string values and `sub`
/// format (`repo:<owner>/<repo>:ref:<ref>`, or `…:pull_request`), so that a role that accepts the fake
/// token accepts the real one.
pub fn claims(job: &JobContext, audience: &str, now: i64) -> Map<String, Value> {
    let repository = job.repository.as_deref().unwrap_or("owner/app");
    let git_ref = job.git_ref.as_deref().unwrap_or("refs/heads/main");
    let event = job.event_name.as_deref().unwrap_or("push");
    let sub = if event == "pull_request" {
        format!("repo:{repository}:pull_request")
    } else {
        format!("repo:{repository}:ref:{git_ref}")
    };
    let ref_type = if git_ref.starts_with("refs/tags/") { "tag" } else { "branch" };
    let json = json!({
        "iss": issuer(job),
        "aud": audience,
        "sub": sub,
        "repository": repository,
        "repository_owner": repository.split('/').next().unwrap_or(repository),
        "ref": git_ref,
        "ref_type": ref_type,
        "sha": job.sha.as_deref().unwrap_or("0000000000000000000000000000000000000000"),
        "workflow": job.workflow.as_deref().unwrap_or("ci.yml"),
        "event_name": event,
        "run_id": job.run_id.as_deref().unwrap_or("1"),
        "run_number": "1",
        "run_attempt": "1",
        "actor": job.actor.as_deref().unwrap_or("local"),
        "iat": now,
        "nbf": now,
        "exp": now.saturating_add(LIFETIME.as_secs() as i64),
    });
    match json {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

/// The `iss` the job's forge uses: GitHub's token service for github.com, else Forgejo's
/// `<server>/api/actions`.
pub fn issuer(job: &JobContext) -> String {
    match job.server_url.as_deref().unwrap_or(FALLBACK_SERVER).trim_end_matches('/') {
        "https://github.com" => GITHUB_ISSUER.to_owned(),
        server => format!("{server}/api/actions"),
    }
}

/// An unsigned (`alg: none`) token: fine to show, useless to present.
pub fn unsigned(claims: &Map<String, Value>) -> String {
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
    let payload = URL_SAFE_NO_PAD.encode(Value::Object(claims.clone()).to_string());
    format!("{header}.{payload}.")
}

/// A key that signs sandbox tokens: RS256 for RSA keys, ES256 for P-256 keys.
pub struct SigningKey {
    key: EncodingKey,
    algorithm: Algorithm,
    kid: String,
    jwk: Jwk,
    /// The public half as a PEM `PUBLIC KEY` (SubjectPublicKeyInfo), the form `jwt_validation_pubkeys` takes.
    public_pem: String,
}

impl SigningKey {
    /// Reads a PKCS#8 or PKCS#1 PEM private key (`openssl genpkey -algorithm RSA`, or
    /// `openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256`).
    pub fn from_pem(pem: &[u8]) -> Result<Self> {
        let (key, algorithm) = match EncodingKey::from_rsa_pem(pem) {
            Ok(key) => (key, Algorithm::RS256),
            Err(_) => match EncodingKey::from_ec_pem(pem) {
                Ok(key) => (key, Algorithm::ES256),
                Err(e) => bail!(
                    "not an RSA or P-256 private key in PKCS#8/PKCS#1 PEM form ({e}); create one with \
                     `openssl genpkey -algorithm RSA -out key.pem`"
                ),
            },
        };
        let mut jwk = Jwk::from_encoding_key(&key, algorithm).context("deriving the public key")?;
        let kid = jwk.thumbprint(ThumbprintHash::SHA256).context("computing the key id")?;
        jwk.common.key_id = Some(kid.clone());
        jwk.common.public_key_use = Some(PublicKeyUse::Signature);
        let public_pem = public_pem(pem, algorithm)?;
        Ok(Self { key, algorithm, kid, jwk, public_pem })
    }

    /// Signs `claims` into a JWT that a Vault trusting [`Self::jwks`] or [`Self::public_key_pem`] accepts.
    pub fn sign(&self, claims: &Map<String, Value>) -> Result<String> {
        let mut header = Header::new(self.algorithm);
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, claims, &self.key).context("signing the token")
    }

    /// The public key as a JWKS document (serve it, and point the auth method's `jwks_url` at it).
    pub fn jwks(&self) -> JwkSet {
        JwkSet { keys: vec![self.jwk.clone()] }
    }

    /// The public key as PEM, for the auth method's `jwt_validation_pubkeys` (no server needed).
    pub fn public_key_pem(&self) -> &str {
        &self.public_pem
    }
}

/// The public half of the PEM private key `pem`, encoded by the key's own crate.
fn public_pem(pem: &[u8], algorithm: Algorithm) -> Result<String> {
    use pkcs8::{DecodePrivateKey, EncodePublicKey, LineEnding};
    use rsa::pkcs1::DecodeRsaPrivateKey;
    let text = std::str::from_utf8(pem).context("the key is not PEM text")?;
    let encoded = match algorithm {
        Algorithm::RS256 => {
            let key = rsa::PrivateKey::from_pkcs8_pem(text).or_else(|_| rsa::PrivateKey::from_pkcs1_pem(text));
            key.context("reading the RSA key")?.to_public_key().to_public_key_pem(LineEnding::LF)
        }
        _ => {
            let key = p256::SecretKey::from_pkcs8_pem(text).or_else(|_| p256::SecretKey::from_sec1_pem(text));
            key.context("reading the P-256 key")?.public_key().to_public_key_pem(LineEnding::LF)
        }
    };
    encoded.context("encoding the public key")
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::{DecodingKey, Validation};

    /// TEST-ONLY P-256 key (generated for this test, public in git), and `openssl pkey -pubout` of it.
    const EC_KEY: &str = "-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg+BOH8Bt8vUwsDqgC
3uvEjNLOeL0spcjfSMykPyUyqeahRANCAAQZX3jQxD7bbBJOQIeuVB4C/YHqXQ7R
FfFQv58pN5qM5CgeefFnlzzUPIE5StDVu2JPd1WozOds7cRC4fKtmo7w
-----END PRIVATE KEY-----
";
    const EC_PUBLIC: &str = "-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEGV940MQ+22wSTkCHrlQeAv2B6l0O
0RXxUL+fKTeajOQoHnnxZ5c81DyBOUrQ1btiT3dVqMznbO3EQuHyrZqO8A==
-----END PUBLIC KEY-----
";
    /// The integration tests' TEST-ONLY issuer key, and `openssl pkey -pubout` of it.
    const RSA_KEY: &[u8] = include_bytes!("../tests/fixtures/test-issuer-key.pem");
    const RSA_PUBLIC: &str = "-----BEGIN PUBLIC KEY-----
MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA5q1/PiIYRMEadEfBvVuv
nb3s7fNybCb1G30SQh1hhcQZLtP8dGMsg1dG8Yk+xMArmRi0uJg49+VGR4H8+oTM
rDWfH4QS/ePvqABClMN+3eApWRLWugPwdrU3WuGVVNyf7XWLJDuKA4idJBzjgzwd
Gy+HDDEaFpx6X2JFdkPEWpUFLPINtpwrn6xVDI1TJMDm0lWUlL2YI1vvwhyW7U2Z
2JWnO8JhhD/PGNDkqUbOyk2CLuzTM6ZGMmZMOyKQKCwmzrrRp+moE9qjRTicL+Da
bnhuVTFYrc94uVibpsW6VXcmIPgxYBruMOOVlXlbYDHw+8Qj8h7fHtvHv/5zJdvf
rQIDAQAB
-----END PUBLIC KEY-----
";

    fn job() -> JobContext {
        JobContext {
            repository: Some("arcodange/webapp".into()),
            git_ref: Some("refs/tags/v1".into()),
            server_url: Some("https://gitea.example/".into()),
            ..JobContext::default()
        }
    }

    #[test]
    fn claims_look_like_a_forgejo_job() {
        let claims = claims(&job(), "vault", 1000);
        assert_eq!(claims["iss"], "https://gitea.example/api/actions");
        assert_eq!(claims["sub"], "repo:arcodange/webapp:ref:refs/tags/v1");
        assert_eq!(claims["ref_type"], "tag");
        assert_eq!(claims["repository_owner"], "arcodange");
        assert_eq!(claims["exp"], 1300);
        let github = JobContext { server_url: Some("https://github.com".into()), ..job() };
        assert_eq!(super::claims(&github, "vault", 0)["iss"], GITHUB_ISSUER);
        let pr = JobContext { event_name: Some("pull_request".into()), ..job() };
        assert_eq!(super::claims(&pr, "vault", 0)["sub"], "repo:arcodange/webapp:pull_request");
    }

    #[test]
    fn public_keys_match_openssl_and_verify_signatures() {
        for (private, public, algorithm) in
            [(EC_KEY.as_bytes(), EC_PUBLIC, Algorithm::ES256), (RSA_KEY, RSA_PUBLIC, Algorithm::RS256)]
        {
            let key = SigningKey::from_pem(private).unwrap();
            assert_eq!(key.public_key_pem(), public);
            let jwt = key.sign(&claims(&job(), "vault", time::OffsetDateTime::now_utc().unix_timestamp())).unwrap();
            let decoding = match algorithm {
                Algorithm::ES256 => DecodingKey::from_ec_pem(public.as_bytes()).unwrap(),
                _ => DecodingKey::from_rsa_pem(public.as_bytes()).unwrap(),
            };
            let mut validation = Validation::new(algorithm);
            validation.set_audience(&["vault"]);
            jsonwebtoken::decode::<Value>(&jwt, &decoding, &validation).unwrap();
            let kid = jsonwebtoken::decode_header(&jwt).unwrap().kid;
            assert_eq!(kid, key.jwks().keys[0].common.key_id);
        }
    }

    #[test]
    fn other_keys_are_refused_with_the_fix() {
        let error = SigningKey::from_pem(b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n");
        assert!(error.err().unwrap().to_string().contains("openssl genpkey"));
    }
}
