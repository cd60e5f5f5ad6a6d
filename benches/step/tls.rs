//! The https scenario's Vault: a private OpenBao whose listener has a certificate from a CA made here. The
//! step gets the CA in `ca-certificate`, the floor's client trusts it, so both pay the TLS handshakes a
//! real job pays towards Vault (the ID-token request stays plain http: the test issuer has no TLS).

use rcgen::{BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair, KeyUsagePurpose};

use crate::support::{BaoServer, Services, TlsListener};

/// The server (stopped when dropped), its https address and the CA that signed its certificate.
pub struct TlsVault {
    pub server: BaoServer,
    pub addr: String,
    pub ca_pem: String,
}

impl TlsVault {
    pub async fn start(shared: &Services) -> TlsVault {
        let mut ca = CertificateParams::new(Vec::<String>::new()).expect("CA parameters");
        ca.distinguished_name.push(DnType::CommonName, "vault-login bench CA");
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let ca_key = KeyPair::generate().expect("CA key");
        let ca_pem = ca.self_signed(&ca_key).expect("CA certificate").pem();
        let issuer = rcgen::Issuer::new(ca, ca_key);
        let mut leaf = CertificateParams::new(vec!["127.0.0.1".to_owned()]).expect("server parameters");
        leaf.distinguished_name.push(DnType::CommonName, "127.0.0.1");
        leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let key = KeyPair::generate().expect("server key");
        let cert_pem = leaf.signed_by(&key, &issuer).expect("server certificate").pem();
        let listener = TlsListener { cert_pem, key_pem: key.serialize_pem(), client_ca_pem: None };
        let server = BaoServer::start(shared, &[listener]).await;
        let addr = server.tls_addrs[0].clone();
        TlsVault { server, addr, ca_pem }
    }
}
