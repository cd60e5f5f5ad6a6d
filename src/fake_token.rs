//! Tokens shaped like a real job's, for the dry run and for a sandbox Vault that trusts a local key.

use anyhow::{Context, Result, bail};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::{Jwk, JwkSet, PublicKeyUse, ThumbprintHash};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use secrecy::ExposeSecret;
use serde_json::{Map, Value};

use crate::claims::Claims;
use crate::config::{Config, JobContext, JwtSource};
use crate::forge::{Forge, SubForm, TokenJob};

/// The claims Vault would see: those of the `jwt` input when one is given, else a fake job token's.
pub fn token_claims(config: &Config, now: i64) -> Result<Claims> {
    match &config.jwt {
        JwtSource::Given(jwt) => {
            Claims::peek(jwt.expose_secret()).map_err(|e| anyhow::anyhow!("input `jwt`: not a JWT: {e}"))
        }
        _ => Ok(Claims::from_map(FakeJob::new(&config.job)?.claims(&config.audience, now))),
    }
}

/// Forge URL used when nothing tells it.
const FALLBACK_SERVER: &str = "https://forge.example";
/// The id claims, each with the placeholder it gets when no runner or flag gives it (stable, and unlike
/// the small ids a fresh forge hands out) and the flag that gives it.
const IDS: [(&str, &str, &str); 3] = [
    ("repository_id", "200002", "--repository-id"),
    ("repository_owner_id", "100001", "--owner-id"),
    ("actor_id", "300003", "--actor-id"),
];

/// A job's token as its forge would issue it: the forge's claim set, `sub` form and lifetime.
pub struct FakeJob<'a> {
    job: &'a JobContext,
    pub forge: Forge,
    pub sub_form: SubForm,
}

impl<'a> FakeJob<'a> {
    /// The forge is [`JobContext::forge_or_assumed`]; a `sub` form or environment it never sends is refused.
    pub fn new(job: &'a JobContext) -> Result<Self> {
        let forge = job.forge_or_assumed();
        let sub_form = forge.dialect().sub_form(job.sub_form).map_err(|e| anyhow::anyhow!("--sub-format: {e}"))?;
        if job.environment.is_some() && forge != Forge::GitHub {
            bail!("--environment: only GitHub puts a deployment environment in its tokens, not {}", forge.name());
        }
        Ok(Self { job, forge, sub_form })
    }

    /// The forge's root URL, as the runner or `--server-url` gives it.
    pub fn server(&self) -> &str {
        self.job.server_url.as_deref().unwrap_or(FALLBACK_SERVER).trim_end_matches('/')
    }

    pub fn issuer(&self) -> String {
        self.forge.dialect().issuer(self.server())
    }

    /// The id claims filled with placeholders, with the flag that gives each.
    pub fn placeholders(&self) -> Vec<(&'static str, &'static str)> {
        IDS.iter().zip(self.given_ids()).filter(|(_, given)| given.is_none()).map(|(id, _)| (id.0, id.2)).collect()
    }

    /// The ids of [`IDS`], as the runner or the flags give them.
    fn given_ids(&self) -> [Option<&'a str>; 3] {
        let job = self.job;
        [&job.repository_id, &job.owner_id, &job.actor_id].map(|id| id.as_deref())
    }

    /// The `sub` in each form the forge sends, for this job.
    pub fn subjects(&self, now: i64) -> Vec<(SubForm, String)> {
        let dialect = self.forge.dialect();
        self.with_token_job(now, |job| dialect.sub_forms.iter().map(|form| (*form, dialect.sub(job, *form))).collect())
    }

    pub fn claims(&self, audience: &str, now: i64) -> Map<String, Value> {
        let dialect = self.forge.dialect();
        let mut claims = self.with_token_job(now, |job| {
            let mut claims = dialect.claims(job, self.sub_form);
            claims.insert("sub".into(), dialect.sub(job, self.sub_form).into());
            claims
        });
        let seconds = |d: std::time::Duration| i64::try_from(d.as_secs()).unwrap_or(i64::MAX);
        claims.insert("iss".into(), self.issuer().into());
        claims.insert("aud".into(), audience.into());
        claims.insert("iat".into(), now.into());
        claims.insert("nbf".into(), now.saturating_sub(seconds(dialect.nbf_backdate)).into());
        claims.insert("exp".into(), now.saturating_add(seconds(dialect.lifetime)).into());
        claims
    }

    fn with_token_job<T>(&self, now: i64, f: impl FnOnce(&TokenJob) -> T) -> T {
        let job = self.job;
        let repository = job.repository.as_deref().unwrap_or("owner/app");
        let (owner, name) = repository.split_once('/').unwrap_or((repository, repository));
        let or = |value: &'a Option<String>, default: &'a str| value.as_deref().unwrap_or(default);
        let workflow = or(&job.workflow, "ci");
        let workflow_file = job.workflow_file.clone().unwrap_or_else(|| format!("{workflow}.yml"));
        let ids = self.given_ids();
        let [repository_id, owner_id, actor_id] = [0, 1, 2].map(|i| ids[i].unwrap_or(IDS[i].1));
        f(&TokenJob {
            owner,
            name,
            git_ref: or(&job.git_ref, "refs/heads/main"),
            sha: or(&job.sha, "0000000000000000000000000000000000000000"),
            event: or(&job.event_name, "push"),
            workflow,
            workflow_file: &workflow_file,
            run_id: or(&job.run_id, "1"),
            actor: or(&job.actor, "local"),
            base_ref: or(&job.base_ref, ""),
            head_ref: or(&job.head_ref, ""),
            repository_id,
            owner_id,
            actor_id,
            environment: job.environment.as_deref(),
            issued_at: now,
        })
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

    fn claims(job: &JobContext, now: i64) -> Map<String, Value> {
        FakeJob::new(job).unwrap().claims("vault", now)
    }

    #[test]
    fn claims_are_the_forge_s_at_hand_gitea_unless_told() {
        let gitea = claims(&job(), 1000);
        assert_eq!(gitea["iss"], "https://gitea.example/api/actions/oidc");
        assert_eq!(gitea["sub"], "repo:arcodange@100001/webapp@200002:ref:refs/tags/v1");
        assert_eq!((&gitea["ref_type"], &gitea["repository_owner"]), (&"tag".into(), &"arcodange".into()));
        assert_eq!((&gitea["nbf"], &gitea["exp"], &gitea["aud"]), (&700.into(), &1300.into(), &"vault".into()));
        let forgejo = JobContext { forge: Some(Forge::Forgejo), ..job() };
        let forgejo = claims(&forgejo, 1000);
        assert_eq!((&forgejo["iss"], &forgejo["exp"]), (&"https://gitea.example/api/actions".into(), &4600.into()));
        assert_eq!(forgejo["sub"], "repo:arcodange/webapp:ref:refs/tags/v1");
        let github = JobContext { server_url: Some("https://github.com".into()), ..job() };
        assert_eq!(claims(&github, 0)["iss"], "https://token.actions.githubusercontent.com");
        let pr = JobContext { event_name: Some("pull_request".into()), repository_id: Some("9".into()), ..job() };
        assert_eq!(claims(&pr, 0)["sub"], "repo:arcodange@100001/webapp@9:pull_request");
    }

    #[test]
    fn placeholders_are_named_with_their_flag_and_odd_choices_refused() {
        let given = JobContext { owner_id: Some("3".into()), ..job() };
        let fake = FakeJob::new(&given).unwrap();
        assert_eq!(fake.placeholders(), [("repository_id", "--repository-id"), ("actor_id", "--actor-id")]);
        let environment = JobContext { environment: Some("prod".into()), ..job() };
        let error = FakeJob::new(&environment).err().unwrap().to_string();
        assert!(error.starts_with("--environment: only GitHub"), "{error}");
        let form = JobContext { sub_form: Some(SubForm::Names), ..job() };
        let error = FakeJob::new(&form).err().unwrap().to_string();
        assert_eq!(error, "--sub-format: Gitea sends no `names` sub; its forms are: ids, ids-only");
    }

    #[test]
    fn public_keys_match_openssl_and_verify_signatures() {
        for (private, public, algorithm) in
            [(EC_KEY.as_bytes(), EC_PUBLIC, Algorithm::ES256), (RSA_KEY, RSA_PUBLIC, Algorithm::RS256)]
        {
            let key = SigningKey::from_pem(private).unwrap();
            assert_eq!(key.public_key_pem(), public);
            let jwt = key.sign(&claims(&job(), time::OffsetDateTime::now_utc().unix_timestamp())).unwrap();
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
