use super::*;

const PEM: &str = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";

#[test]
fn pem_comes_as_text_base64_or_path() {
    assert_eq!(load_pem("ca-certificate", &format!("  {PEM}"), "CERTIFICATE").unwrap(), PEM.trim());
    let b64 = STANDARD.encode(PEM);
    let wrapped = format!("{}\n{}", &b64[..20], &b64[20..]);
    assert_eq!(load_pem("ca-certificate", &wrapped, "CERTIFICATE").unwrap(), PEM);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ca.pem");
    std::fs::write(&path, PEM).unwrap();
    assert_eq!(load_pem("ca-certificate", path.to_str().unwrap(), "CERTIFICATE").unwrap(), PEM);
}

#[test]
fn bad_values_name_the_input_and_never_echo_it() {
    let err = load_pem("client-key", "hunter2-secret", "PRIVATE KEY").unwrap_err();
    assert!(err.to_string().starts_with("input `client-key`: expected PEM text"), "{err}");
    assert!(!err.to_string().contains("hunter2"));
    let err = load_pem("client-key", PEM, "PRIVATE KEY").unwrap_err();
    assert!(err.to_string().contains("no `-----BEGIN ...PRIVATE KEY-----` block"), "{err}");
    let err = TlsSettings::from_inputs(None, Some(PEM), None, false).err().unwrap();
    assert_eq!(err.to_string(), "input `client-key`: is required with `client-certificate`");
    let err = TlsSettings::from_inputs(Some(PEM), None, None, false).err().unwrap();
    assert!(err.to_string().starts_with("input `ca-certificate`: "), "{err}");
}

#[test]
fn the_system_bundle_is_found_once_and_ssl_cert_variables_win() {
    assert_eq!(system_bundle(Some("/my/bundle.pem"), Some("/my/dir")), Some(PathBuf::from("/my/bundle.pem")));
    assert_eq!(system_bundle(None, Some("/my/dir")), None, "a directory is left to the platform verifier");
    let found = system_bundle(None, None);
    assert!(found.is_none_or(|path| BUNDLES.iter().any(|b| path == Path::new(b))));
}

#[test]
fn an_unreadable_bundle_falls_back_to_the_platform_verifier() {
    let settings = TlsSettings::default().with_system_bundle(Some(PathBuf::from("/nonexistent/bundle.pem")));
    assert!(settings.system_roots().is_none());
    let dir = tempfile::tempdir().unwrap();
    let bundle = dir.path().join("bundle.pem");
    std::fs::write(&bundle, include_str!("../../tests/fixtures/test-issuer-key.pem")).unwrap();
    let not_certs = TlsSettings::default().with_system_bundle(Some(bundle));
    assert!(not_certs.system_roots().is_none(), "a file without certificates is no trust store");
}

#[test]
fn plain_http_warns_off_loopback_only() {
    let tls = TlsSettings::default();
    for local in ["http://127.0.0.1:8200", "http://127.8.0.1", "http://[::1]:8200", "http://LOCALHOST:1"] {
        assert!(warnings(&Url::parse(local).unwrap(), &tls).is_empty(), "{local}");
    }
    let remote = warnings(&Url::parse("http://vault.internal:8200").unwrap(), &tls);
    assert!(remote[0].contains("unencrypted"), "{remote:?}");
    let skip = TlsSettings { skip_verify: true, ..TlsSettings::default() };
    assert!(warnings(&Url::parse("https://vault.internal").unwrap(), &skip)[0].contains("tls-skip-verify"));
}

#[test]
fn ca_files_are_removed_only_when_ours() {
    let dir = tempfile::tempdir().unwrap();
    let path = ca_file_path(dir.path()).unwrap();
    assert_ne!(path, ca_file_path(dir.path()).unwrap());
    std::fs::write(&path, PEM).unwrap();
    assert!(remove_ca_file(&path).unwrap());
    assert!(!remove_ca_file(&path).unwrap());
    let other = dir.path().join("important.pem");
    std::fs::write(&other, "x").unwrap();
    assert!(remove_ca_file(&other).is_err());
    assert!(other.exists());
}

#[test]
fn certificate_errors_read_plainly() {
    let unknown = certificate(&CertificateError::UnknownIssuer, "vault:8200", "vault");
    assert!(unknown.contains("unknown issuer") && unknown.contains("`ca-certificate`"), "{unknown}");
    let wrong = certificate(&CertificateError::NotValidForName, "vault:8200", "vault");
    assert!(wrong.contains("not valid for the host name `vault` (wrong host name)"), "{wrong}");
    assert!(certificate(&CertificateError::Expired, "v", "v").contains("has expired"));
    assert_eq!(unwrap_name("IpAddress(10.0.0.1)"), "10.0.0.1");
    assert_eq!(unwrap_name("DnsName(\"vault.lab\")"), "vault.lab");
    let required = alert_received(AlertDescription::CertificateRequired, "v");
    assert!(required.contains("`client-certificate`"), "{required}");
    let io = io::Error::new(io::ErrorKind::InvalidData, rustls::Error::InvalidCertificate(CertificateError::Expired));
    let addr = Url::parse("https://vault:8200").unwrap();
    assert!(explain(&io, &addr).unwrap().contains("the certificate of vault:8200 has expired"));
    assert!(explain(&io::Error::other("plain"), &addr).is_none());
    let plain =
        io::Error::new(io::ErrorKind::InvalidData, rustls::Error::InvalidMessage(InvalidMessage::InvalidContentType));
    assert!(explain(&plain, &addr).unwrap().contains("vault:8200 answered the TLS handshake in plain text"));
}
