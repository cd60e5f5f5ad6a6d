//! Certificates made for one test (rcgen), and TLS in front of a plain server, for the test issuer:
//! wiremock speaks plain http only, and a forge speaks https.

use std::net::SocketAddr;
use std::sync::Arc;

use rcgen::{BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair, KeyUsagePurpose};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;

/// A certificate authority made for one test.
pub struct Pki {
    pub ca_pem: String,
    issuer: rcgen::Issuer<'static, KeyPair>,
}

/// A certificate and its key, PEM.
pub struct Pair {
    pub cert: String,
    pub key: String,
}

impl Pki {
    pub fn new(name: &str) -> Pki {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.distinguished_name.push(DnType::CommonName, name);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let key = KeyPair::generate().unwrap();
        let ca_pem = params.self_signed(&key).unwrap().pem();
        Pki { ca_pem, issuer: rcgen::Issuer::new(params, key) }
    }

    /// A certificate for `127.0.0.1`, valid from yesterday to tomorrow, or expired since yesterday.
    fn issue(&self, purpose: ExtendedKeyUsagePurpose, expired: bool) -> Pair {
        let mut params = CertificateParams::new(vec!["127.0.0.1".to_owned()]).unwrap();
        params.distinguished_name.push(DnType::CommonName, "127.0.0.1");
        params.extended_key_usages = vec![purpose];
        let now = time::OffsetDateTime::now_utc();
        (params.not_before, params.not_after) = if expired {
            (now - time::Duration::days(30), now - time::Duration::days(1))
        } else {
            (now - time::Duration::days(1), now + time::Duration::days(1))
        };
        let key = KeyPair::generate().unwrap();
        Pair { cert: params.signed_by(&key, &self.issuer).unwrap().pem(), key: key.serialize_pem() }
    }

    pub fn server(&self, expired: bool) -> Pair {
        self.issue(ExtendedKeyUsagePurpose::ServerAuth, expired)
    }

    pub fn client(&self) -> Pair {
        self.issue(ExtendedKeyUsagePurpose::ClientAuth, false)
    }
}

/// Terminates TLS on a port of its own and passes the plain bytes to `upstream`; stops when dropped.
pub struct TlsFront {
    pub addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl TlsFront {
    pub async fn start(upstream: SocketAddr, pair: &Pair) -> TlsFront {
        let chain: Vec<CertificateDer<'static>> =
            CertificateDer::pem_slice_iter(pair.cert.as_bytes()).collect::<Result<_, _>>().expect("the certificate");
        let key = PrivateKeyDer::from_pem_slice(pair.key.as_bytes()).expect("the key");
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("TLS versions")
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .expect("the certificate and its key");
        let acceptor = TlsAcceptor::from(Arc::new(config));
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind the TLS front");
        let addr = listener.local_addr().expect("the TLS front's address");
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    let Ok(mut tls) = acceptor.accept(client).await else { return };
                    let Ok(mut server) = TcpStream::connect(upstream).await else { return };
                    let _ = tokio::io::copy_bidirectional(&mut tls, &mut server).await;
                });
            }
        });
        TlsFront { addr, task }
    }
}

impl Drop for TlsFront {
    fn drop(&mut self) {
        self.task.abort();
    }
}
