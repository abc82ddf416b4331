//! TLS helpers shared by the lab, the relay and the probes (rustls with the ring provider).

use std::sync::Arc;

/// The crypto provider mailpath uses everywhere (ring: builds on every platform without cmake/nasm).
pub fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// A server configuration (TLS 1.2 and 1.3) that always presents `key`.
///
/// # Errors
/// When the provider rejects the protocol versions (it does not with ring).
pub fn server_config(
    key: Arc<rustls::sign::CertifiedKey>,
) -> Result<Arc<rustls::ServerConfig>, rustls::Error> {
    let config = rustls::ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])?
        .with_no_client_auth()
        .with_cert_resolver(Arc::new(FixedCert(key)));
    Ok(Arc::new(config))
}

/// Presents one certificate whatever the client asks for (like an Exchange receive connector).
#[derive(Debug)]
struct FixedCert(Arc<rustls::sign::CertifiedKey>);

impl rustls::server::ResolvesServerCert for FixedCert {
    fn resolve(&self, _hello: rustls::server::ClientHello<'_>) -> Option<Arc<rustls::sign::CertifiedKey>> {
        Some(Arc::clone(&self.0))
    }
}

/// A client configuration for probes: TLS 1.2 and 1.3, SNI `server_name`, and a verifier that
/// accepts every certificate while recording it. A probe observes; the chain is judged afterwards
/// by the checks (with the configured trust and an injected clock), so a bad certificate is
/// evidence rather than an aborted probe.
///
/// # Errors
/// When the provider rejects the protocol versions (it does not with ring).
pub fn probe_client_config(capture: Arc<Capture>) -> Result<Arc<rustls::ClientConfig>, rustls::Error> {
    let config = rustls::ClientConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])?
        .dangerous()
        .with_custom_certificate_verifier(capture)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// What the recording verifier saw.
#[derive(Debug, Default)]
pub struct Capture {
    chain: std::sync::Mutex<Vec<rustls_pki_types::CertificateDer<'static>>>,
    signature_error: std::sync::Mutex<Option<String>>,
}

impl Capture {
    /// The certificates the server sent, in order.
    pub fn chain(&self) -> Vec<rustls_pki_types::CertificateDer<'static>> {
        self.chain.lock().map(|c| c.clone()).unwrap_or_default()
    }

    /// Why the server's handshake signature did not verify, when it did not (e.g. a key too small
    /// for the crypto provider). The handshake is still completed, to observe the rest.
    pub fn signature_error(&self) -> Option<String> {
        self.signature_error.lock().ok().and_then(|e| e.clone())
    }

    fn note_signature(&self, result: Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error>) {
        if let Err(e) = result
            && let Ok(mut slot) = self.signature_error.lock()
        {
            *slot = Some(e.to_string());
        }
    }
}

impl rustls::client::danger::ServerCertVerifier for Capture {
    fn verify_server_cert(
        &self,
        end_entity: &rustls_pki_types::CertificateDer<'_>,
        intermediates: &[rustls_pki_types::CertificateDer<'_>],
        _server_name: &rustls_pki_types::ServerName<'_>,
        _ocsp_response: &[u8],
        _now: rustls_pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        if let Ok(mut chain) = self.chain.lock() {
            chain.clear();
            chain.push(end_entity.clone().into_owned());
            chain.extend(intermediates.iter().map(|c| c.clone().into_owned()));
        }
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &rustls_pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        let algs = provider().signature_verification_algorithms;
        self.note_signature(rustls::crypto::verify_tls12_signature(message, cert, dss, &algs));
        Ok(rustls::client::danger::HandshakeSignatureValid::assertion())
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &rustls_pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        let algs = provider().signature_verification_algorithms;
        self.note_signature(rustls::crypto::verify_tls13_signature(message, cert, dss, &algs));
        Ok(rustls::client::danger::HandshakeSignatureValid::assertion())
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        provider().signature_verification_algorithms.supported_schemes()
    }
}

/// Readable name of a protocol version (`TLSv1.3`).
pub fn version_name(version: rustls::ProtocolVersion) -> String {
    match version {
        rustls::ProtocolVersion::TLSv1_3 => "TLSv1.3".into(),
        rustls::ProtocolVersion::TLSv1_2 => "TLSv1.2".into(),
        rustls::ProtocolVersion::TLSv1_1 => "TLSv1.1".into(),
        rustls::ProtocolVersion::TLSv1_0 => "TLSv1.0".into(),
        other => format!("{other:?}"),
    }
}
