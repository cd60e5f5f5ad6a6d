//! The https scenario's servers: a private OpenBao whose listener has a certificate from a CA made here,
//! and the test issuer behind TLS with a certificate from the same CA, so that the step and the floor pay
//! the TLS handshakes a real job pays, towards Vault and towards the forge. The step trusts the CA for
//! Vault through `ca-certificate`, and for the ID-token request (which trusts the machine's roots only,
//! `ca-certificate` being Vault's) through `SSL_CERT_FILE`: the system's bundle with the CA appended, so it
//! parses as many roots as a real runner does. The floor's client trusts the CA besides the system's roots.

use std::path::Path;

use crate::support::{BaoServer, Issuer, Pki, Services, TlsListener};

/// The servers (stopped when dropped), Vault's https address, the CA, and the step's `SSL_CERT_FILE`.
pub struct TlsServers {
    pub server: BaoServer,
    pub addr: String,
    pub ca_pem: String,
    pub issuer: Issuer,
    roots: tempfile::NamedTempFile,
}

impl TlsServers {
    pub async fn start(shared: &Services) -> TlsServers {
        let pki = Pki::new("vault-login bench CA");
        let pair = pki.server(false);
        let listener = TlsListener { cert_pem: pair.cert, key_pem: pair.key, client_ca_pem: None };
        let server = BaoServer::start(shared, &[listener]).await;
        let addr = server.tls_addrs[0].clone();
        let issuer = Issuer::start_https(&pki).await;
        let system = vault_login::tls::system_bundle(None, None).map(std::fs::read_to_string);
        let mut roots = system.transpose().expect("the system's CA bundle").unwrap_or_default();
        roots.push('\n');
        roots.push_str(&pki.ca_pem);
        let file = tempfile::NamedTempFile::new().expect("a temporary file");
        std::fs::write(file.path(), roots).expect("write the step's roots");
        TlsServers { server, addr, ca_pem: pki.ca_pem, issuer, roots: file }
    }

    /// The step's `SSL_CERT_FILE`.
    pub fn roots(&self) -> &Path {
        self.roots.path()
    }
}
