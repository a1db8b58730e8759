//! HTTPS for SDKs that refuse plain HTTP: a certificate authority made at start, a server
//! certificate it signs for `localhost`, `127.0.0.1`, `::1` and the configured host names, and a
//! rustls acceptor. The same port serves HTTP and HTTPS (the first byte of a connection tells
//! a TLS handshake from an HTTP request).

use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::rustls::crypto::ring::default_provider;
use tokio_rustls::rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};

/// The first byte of a TLS record carrying a handshake (`ClientHello`).
pub(crate) const HANDSHAKE: u8 = 0x16;

/// The certificates of one emulator run and the acceptor that serves them.
pub(crate) struct Certificates {
    /// The certificate authority, PEM: what a client must trust.
    pub ca_pem: String,
    pub acceptor: TlsAcceptor,
}

/// Makes a fresh CA and a server certificate for `localhost`, `127.0.0.1`, `::1` and `hosts`.
pub(crate) fn make(hosts: &[String]) -> Result<Certificates, String> {
    let fail = |what: &str, e: &dyn std::fmt::Display| format!("cannot make the {what}: {e}");

    let mut ca = CertificateParams::new(Vec::<String>::new()).map_err(|e| fail("CA", &e))?;
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(DnType::CommonName, "bitrix-emulator local CA");
    ca.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let ca_key = KeyPair::generate().map_err(|e| fail("CA key", &e))?;
    let ca_cert = ca.self_signed(&ca_key).map_err(|e| fail("CA", &e))?;

    let mut names = vec![
        "localhost".to_owned(),
        "127.0.0.1".to_owned(),
        "::1".to_owned(),
    ];
    for host in hosts {
        if !names.contains(host) {
            names.push(host.clone());
        }
    }
    let mut server = CertificateParams::new(names).map_err(|e| fail("server certificate", &e))?;
    server
        .distinguished_name
        .push(DnType::CommonName, hosts.first().map_or("localhost", |h| h));
    server.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    server.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    let server_key = KeyPair::generate().map_err(|e| fail("server key", &e))?;
    let issuer = Issuer::from_params(&ca, &ca_key);
    let server_cert = server
        .signed_by(&server_key, &issuer)
        .map_err(|e| fail("server certificate", &e))?;

    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(server_key.serialize_der()));
    let mut config = ServerConfig::builder_with_provider(Arc::new(default_provider()))
        .with_safe_default_protocol_versions()
        .map_err(|e| fail("TLS configuration", &e))?
        .with_no_client_auth()
        .with_single_cert(vec![server_cert.der().clone(), ca_cert.der().clone()], key)
        .map_err(|e| fail("TLS configuration", &e))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Certificates {
        ca_pem: ca_cert.pem(),
        acceptor: TlsAcceptor::from(Arc::new(config)),
    })
}
