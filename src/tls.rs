//! TLS towards Vault: the `ca-certificate`, `client-certificate`, `client-key` and `tls-skip-verify` inputs,
//! the CA file exported as `VAULT_CACERT`, and TLS failures told in plain words.
//!
//! Certificates come as PEM text, base64-encoded PEM (what hashicorp/vault-action takes, since a secret
//! holding PEM is awkward in YAML) or a file path, so each of the usual ways of passing them works.

use std::io;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::{AlertDescription, CertificateError, InvalidMessage};
use secrecy::{ExposeSecret, SecretString};
use url::{Host, Url};

/// The prefix of the CA file written in `RUNNER_TEMP`; the post step removes only files named like this.
const CA_FILE_PREFIX: &str = "vault-login-ca-";

/// How the step verifies Vault and proves itself to it.
#[derive(Default)]
pub struct TlsSettings {
    /// Extra trusted CA certificates (PEM), added to the system's roots.
    pub ca_pem: Option<String>,
    /// A client certificate for Vaults that require mTLS.
    pub client: Option<ClientIdentity>,
    /// Accept any server certificate. Insecure; warned about on every run.
    pub skip_verify: bool,
    /// The system's trust store as one bundle file, when there is one (see [`system_bundle`]).
    pub system_bundle: Option<PathBuf>,
}

/// Every HTTP client starts here: rustls with ring as its crypto provider, rather than the default aws-lc-rs,
/// which alone made a fifth of the binary (docs/benchmarks.md).
pub fn client_builder() -> reqwest::ClientBuilder {
    // An error only says that a provider is installed already, which is all that is needed.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
}

/// Where Linux distributions keep their CA bundle (the list openssl-probe searches).
const BUNDLES: &[&str] = &[
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/ca-bundle.pem",
    "/etc/pki/tls/cacert.pem",
    "/etc/ssl/cert.pem",
];

/// The system's roots as one bundle file: `SSL_CERT_FILE`, else the distribution's bundle. `None` when
/// `SSL_CERT_DIR` asks for a directory, or there is no bundle: the platform verifier then finds the roots.
///
/// Why not always leave it to the platform verifier: on Linux it parses the bundle *and* every file of
/// `/etc/ssl/certs`, the same ~150 certificates twice, which measured as most of a run's CPU time
/// (docs/benchmarks.md). One bundle holds the same roots.
pub fn system_bundle(ssl_cert_file: Option<&str>, ssl_cert_dir: Option<&str>) -> Option<PathBuf> {
    if let Some(file) = ssl_cert_file.filter(|f| !f.is_empty()) {
        return Some(PathBuf::from(file));
    }
    if ssl_cert_dir.is_some_and(|d| !d.is_empty()) {
        return None;
    }
    BUNDLES.iter().map(PathBuf::from).find(|p| p.is_file())
}

/// A client certificate chain and its key. No `Debug`: the key is a secret.
pub struct ClientIdentity {
    pub cert_pem: String,
    pub key_pem: SecretString,
}

/// Which input a problem is about, and what is wrong with it.
#[derive(Debug, thiserror::Error)]
#[error("input `{input}`: {problem}")]
pub struct TlsInputError {
    pub input: &'static str,
    pub problem: String,
}

impl TlsSettings {
    /// Validates the raw inputs. The certificate texts are parsed here so that a bad input fails before
    /// anything is sent, with the input's name.
    pub fn from_inputs(
        ca: Option<&str>,
        cert: Option<&str>,
        key: Option<&str>,
        skip_verify: bool,
    ) -> Result<Self, TlsInputError> {
        let ca_pem = ca.map(|v| load_pem("ca-certificate", v, "CERTIFICATE")).transpose()?;
        if let Some(pem) = &ca_pem {
            check_certificates("ca-certificate", pem)?;
        }
        let client = match (cert, key) {
            (None, None) => None,
            (Some(_), None) => return Err(invalid("client-key", "is required with `client-certificate`".into())),
            (None, Some(_)) => return Err(invalid("client-certificate", "is required with `client-key`".into())),
            (Some(cert), Some(key)) => {
                let identity = ClientIdentity {
                    cert_pem: load_pem("client-certificate", cert, "CERTIFICATE")?,
                    key_pem: SecretString::from(load_pem("client-key", key, "PRIVATE KEY")?),
                };
                check_certificates("client-certificate", &identity.cert_pem)?;
                PrivateKeyDer::from_pem_slice(identity.key_pem.expose_secret().as_bytes())
                    .map_err(|e| invalid("client-key", format!("holds no usable private key ({e})")))?;
                Some(identity)
            }
        };
        Ok(Self { ca_pem, client, skip_verify, system_bundle: None })
    }

    /// Whether the TLS inputs are all unset (only the system roots matter).
    pub fn is_plain(&self) -> bool {
        self.ca_pem.is_none() && self.client.is_none() && !self.skip_verify
    }

    /// The same settings, trusting the system roots of `bundle` (see [`system_bundle`]).
    pub fn with_system_bundle(self, bundle: Option<PathBuf>) -> Self {
        Self { system_bundle: bundle, ..self }
    }

    /// Applies the settings to an HTTP client under construction (from [`client_builder`]).
    pub fn apply(&self, mut builder: reqwest::ClientBuilder) -> reqwest::Result<reqwest::ClientBuilder> {
        let extra = match &self.ca_pem {
            Some(pem) => reqwest::Certificate::from_pem_bundle(pem.as_bytes())?,
            None => Vec::new(),
        };
        builder = match self.system_roots() {
            Some(mut roots) => {
                roots.extend(extra);
                builder.tls_certs_only(roots)
            }
            None => builder.tls_certs_merge(extra),
        };
        if let Some(client) = &self.client {
            builder = builder.identity(client.to_reqwest()?);
        }
        Ok(builder.tls_danger_accept_invalid_certs(self.skip_verify))
    }
}

impl TlsSettings {
    /// The bundle's certificates; `None` (the platform verifier decides) if it cannot be read or parsed.
    fn system_roots(&self) -> Option<Vec<reqwest::Certificate>> {
        let bytes = std::fs::read(self.system_bundle.as_ref()?).ok()?;
        reqwest::Certificate::from_pem_bundle(&bytes).ok().filter(|roots| !roots.is_empty())
    }
}

impl ClientIdentity {
    fn to_reqwest(&self) -> reqwest::Result<reqwest::Identity> {
        let mut both = self.key_pem.expose_secret().to_owned();
        both.push('\n');
        both.push_str(&self.cert_pem);
        reqwest::Identity::from_pem(both.as_bytes())
    }
}

/// Every PEM block must be a well-formed X.509 certificate, and there must be at least one.
fn check_certificates(input: &'static str, pem: &str) -> Result<(), TlsInputError> {
    let mut store = rustls::RootCertStore::empty();
    for der in CertificateDer::pem_slice_iter(pem.as_bytes()) {
        let der = der.map_err(|e| invalid(input, format!("the PEM text is damaged ({e})")))?;
        store.add(der).map_err(|e| invalid(input, format!("not a valid X.509 certificate ({e})")))?;
    }
    if store.is_empty() {
        return Err(invalid(input, "holds no certificate".into()));
    }
    Ok(())
}

fn invalid(input: &'static str, problem: String) -> TlsInputError {
    TlsInputError { input, problem }
}

/// PEM text, base64-encoded PEM, or the path of a PEM file → PEM text holding a `label` block
/// (`PRIVATE KEY` also matches `RSA PRIVATE KEY` and `EC PRIVATE KEY`).
/// The value itself is never quoted in errors: a key is a secret, and a mangled certificate is noise.
pub fn load_pem(input: &'static str, value: &str, label: &str) -> Result<String, TlsInputError> {
    let value = value.trim();
    let has_block = |text: &str| text.contains("-----BEGIN ") && text.contains(&format!("{label}-----"));
    let pem = if value.starts_with("-----BEGIN ") {
        value.to_owned()
    } else if let Some(decoded) = decode_base64(value) {
        decoded
    } else if value.len() < 4096 && Path::new(value).is_file() {
        std::fs::read_to_string(value).map_err(|e| invalid(input, format!("cannot read the file `{value}` ({e})")))?
    } else {
        return Err(invalid(
            input,
            "expected PEM text (-----BEGIN ...), base64-encoded PEM, or the path of a PEM file; the value is none \
             of these (no such file)"
                .into(),
        ));
    };
    if has_block(&pem) { Ok(pem) } else { Err(invalid(input, format!("holds no `-----BEGIN ...{label}-----` block"))) }
}

/// Base64 (whitespace ignored) that decodes to PEM text.
fn decode_base64(value: &str) -> Option<String> {
    let compact: String = value.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    let bytes = STANDARD.decode(compact).ok()?;
    String::from_utf8(bytes).ok().filter(|text| text.trim_start().starts_with("-----BEGIN "))
}

/// A fresh path in `dir` for the CA file exported as `VAULT_CACERT`: two steps of one job never collide.
pub fn ca_file_path(dir: &Path) -> io::Result<PathBuf> {
    let mut bytes = [0u8; 8];
    getrandom::fill(&mut bytes).map_err(io::Error::other)?;
    let suffix: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    Ok(dir.join(format!("{CA_FILE_PREFIX}{suffix}.pem")))
}

/// Removes a CA file named by [`ca_file_path`]; refuses any other path, since the post step takes the
/// path from its state. `Ok(false)` when it was already gone.
pub fn remove_ca_file(path: &Path) -> io::Result<bool> {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
    if !(name.starts_with(CA_FILE_PREFIX) && name.ends_with(".pem")) {
        return Err(io::Error::other(format!("`{}` is not a CA file written by vault-login", path.display())));
    }
    match std::fs::remove_file(path) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e),
    }
}

/// The warnings a run's connection settings deserve: plain http off this machine, disabled verification.
pub fn warnings(addr: &Url, tls: &TlsSettings) -> Vec<String> {
    let mut warnings = Vec::new();
    if addr.scheme() == "http" && !is_loopback(addr) {
        warnings.push(format!(
            "{addr} is plain http: the Vault token and every secret cross the network unencrypted. Use https://"
        ));
    }
    if tls.skip_verify && addr.scheme() == "https" {
        warnings.push(format!(
            "tls-skip-verify is on: the certificate of {addr} is not checked, so anyone on the network path can \
             pose as Vault and collect the token. Pass the CA in `ca-certificate` instead"
        ));
    }
    warnings
}

fn is_loopback(addr: &Url) -> bool {
    match addr.host() {
        Some(Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        Some(Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

/// A TLS failure talking to `addr` in plain words, with the fix; `None` when `error` is not one.
pub fn explain(error: &(dyn std::error::Error + 'static), addr: &Url) -> Option<String> {
    let rustls_error = causes(error).find_map(|e| e.downcast_ref::<rustls::Error>())?;
    let name = addr.host_str().unwrap_or_default();
    let host = addr.port().map_or_else(|| name.to_owned(), |port| format!("{name}:{port}"));
    Some(match rustls_error {
        rustls::Error::InvalidCertificate(cert) => certificate(cert, &host, name),
        rustls::Error::AlertReceived(alert) => alert_received(*alert, &host),
        rustls::Error::InvalidMessage(InvalidMessage::InvalidContentType) => format!(
            "{host} answered the TLS handshake in plain text: the server speaks http, not https. Write `url` \
             with http:// if Vault really listens without TLS (only on a trusted network), or enable TLS on \
             its listener"
        ),
        other => format!("the TLS handshake with {host} failed ({other})"),
    })
}

/// The error and its causes, looking inside `io::Error`s (whose `source` skips the error they wrap).
fn causes<'a>(
    error: &'a (dyn std::error::Error + 'static),
) -> impl Iterator<Item = &'a (dyn std::error::Error + 'static)> {
    let mut next = Some(error);
    std::iter::from_fn(move || {
        let current = next?;
        let inner = current.downcast_ref::<io::Error>().and_then(|io| io.get_ref());
        next = match inner {
            Some(inner) => Some(inner as &(dyn std::error::Error + 'static)),
            None => current.source(),
        };
        Some(current)
    })
}

fn certificate(error: &CertificateError, host: &str, name: &str) -> String {
    match error {
        CertificateError::UnknownIssuer => format!(
            "the certificate of {host} is signed by an unknown certificate authority (unknown issuer): pass that \
             CA in the `ca-certificate` input (PEM text, base64-encoded PEM, or a file path)"
        ),
        CertificateError::Expired => format!("the certificate of {host} has expired: renew Vault's TLS certificate"),
        CertificateError::ExpiredContext { not_after, .. } => format!(
            "the certificate of {host} has expired (it was valid until {}): renew Vault's TLS certificate, or fix \
             the runner's clock if that date is still to come",
            date(not_after.as_secs())
        ),
        CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => format!(
            "the certificate of {host} is not valid yet: check the clock of the runner (and of whoever issued it)"
        ),
        CertificateError::NotValidForName => wrong_name(host, name, ""),
        CertificateError::NotValidForNameContext { presented, .. } => {
            let names: Vec<&str> = presented.iter().map(|p| unwrap_name(p)).collect();
            wrong_name(host, name, &format!(" (it names {})", names.join(", ")))
        }
        other => format!("the certificate of {host} was rejected ({other:?})"),
    }
}

fn wrong_name(host: &str, name: &str, names: &str) -> String {
    format!(
        "the certificate of {host} is not valid for the host name `{name}` (wrong host name){names}: set `url` to \
         a name the certificate lists, or reissue it with this name"
    )
}

/// `IpAddress(10.0.0.1)` / `DnsName("vault")`, as rustls lists a certificate's names, → the name itself.
fn unwrap_name(presented: &str) -> &str {
    let inner = presented.strip_suffix(')').and_then(|p| p.split_once('(')).map_or(presented, |(_, inner)| inner);
    inner.trim_matches('"')
}

fn alert_received(alert: AlertDescription, host: &str) -> String {
    match alert {
        AlertDescription::CertificateRequired => format!(
            "{host} requires a client certificate (mTLS): set `client-certificate` and `client-key` to a \
             certificate that Vault's listener trusts (`tls_client_ca_file`)"
        ),
        AlertDescription::BadCertificate
        | AlertDescription::UnknownCA
        | AlertDescription::CertificateUnknown
        | AlertDescription::CertificateExpired
        | AlertDescription::CertificateRevoked
        | AlertDescription::UnsupportedCertificate => format!(
            "{host} refused the client certificate ({alert:?}): use a certificate issued by the CA in Vault's \
             `tls_client_ca_file`, and check that it has not expired"
        ),
        other => format!("{host} ended the TLS handshake ({other:?})"),
    }
}

fn date(unix: u64) -> String {
    let format = time::format_description::well_known::Rfc3339;
    i64::try_from(unix)
        .ok()
        .and_then(|s| time::OffsetDateTime::from_unix_timestamp(s).ok())
        .and_then(|t| t.format(&format).ok())
        .unwrap_or_else(|| format!("unix time {unix}"))
}

#[cfg(test)]
mod tests;
