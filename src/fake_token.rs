//! Tokens shaped like a real job's, for the dry run and for a sandbox Vault that trusts a local key.

use std::time::Duration;

use anyhow::{Context, Result, bail};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::{Jwk, JwkSet, ThumbprintHash};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Map, Value, json};

use crate::config::JobContext;

/// Lifetime of a fake token: the 5 minutes GitHub and Gitea use.
const LIFETIME: Duration = Duration::from_secs(300);
/// Issuer used when the job context has no forge URL.
const FALLBACK_SERVER: &str = "https://forge.example";

/// The claims a Forgejo/GitHub job token would carry for `job`.
pub fn claims(job: &JobContext, audience: &str, now: i64) -> Map<String, Value> {
    let repository = job.repository.as_deref().unwrap_or("owner/app");
    let git_ref = job.git_ref.as_deref().unwrap_or("refs/heads/main");
    let event = job.event_name.as_deref().unwrap_or("push");
    let server = job.server_url.as_deref().unwrap_or(FALLBACK_SERVER).trim_end_matches('/');
    let sub = if event == "pull_request" {
        format!("repo:{repository}:pull_request")
    } else {
        format!("repo:{repository}:ref:{git_ref}")
    };
    let ref_type = if git_ref.starts_with("refs/tags/") { "tag" } else { "branch" };
    let json = json!({
        "iss": format!("{server}/api/actions"),
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
        "exp": now + LIFETIME.as_secs() as i64,
    });
    match json {
        Value::Object(map) => map,
        _ => Map::new(),
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
}

impl SigningKey {
    /// Reads a PKCS#8 or PKCS#1 PEM private key (`openssl genrsa 2048`, `openssl ecparam -name prime256v1 -genkey`).
    pub fn from_pem(pem: &[u8]) -> Result<Self> {
        let (key, algorithm) = match EncodingKey::from_rsa_pem(pem) {
            Ok(key) => (key, Algorithm::RS256),
            Err(_) => match EncodingKey::from_ec_pem(pem) {
                Ok(key) => (key, Algorithm::ES256),
                Err(e) => bail!("not an RSA or P-256 private key in PEM form ({e})"),
            },
        };
        let mut jwk = Jwk::from_encoding_key(&key, algorithm).context("deriving the public key")?;
        let kid = jwk.thumbprint(ThumbprintHash::SHA256).context("computing the key id")?;
        jwk.common.key_id = Some(kid.clone());
        Ok(Self { key, algorithm, kid, jwk })
    }

    /// Signs `claims` into a JWT that a Vault trusting [`Self::jwks`] accepts.
    pub fn sign(&self, claims: &Map<String, Value>) -> Result<String> {
        let mut header = Header::new(self.algorithm);
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, claims, &self.key).context("signing the token")
    }

    /// The public key as a JWKS document (serve it as `jwks_url`).
    pub fn jwks(&self) -> JwkSet {
        JwkSet { keys: vec![self.jwk.clone()] }
    }
}
