//! Tests of the lab CA: the chain verifies with rustls and openssl, broken leaves are broken as intended,
//! and the RSA-1024 key completes handshakes.

use std::process::Command;
use std::sync::Mutex;
use std::time::Instant;

use rsa::pkcs8::DecodePublicKey;
use rsa::{Pkcs1v15Sign, Pss, RsaPublicKey};
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::server::WebPkiClientVerifier;
use rustls::sign::SingleCertAndKey;
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, ProtocolVersion, ServerConfig, SignatureScheme,
    SupportedProtocolVersion,
};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{ServerName, UnixTime};
use sha2::{Digest, Sha256, Sha384, Sha512};
use time::macros::datetime;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use x509_parser::extensions::{GeneralName, ParsedExtension};
use x509_parser::oid_registry::OID_PKIX_ACCESS_DESCRIPTOR_CA_ISSUERS;
use x509_parser::prelude::{X509Certificate, parse_x509_certificate};
use x509_parser::public_key::PublicKey;

use super::*;

const FIXED_NOW: OffsetDateTime = datetime!(2026-03-01 12:00:00 UTC);
const NAME: &str = "mail.contoso.com";

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn parse(der: &[u8]) -> X509Certificate<'_> {
    let (rest, cert) = parse_x509_certificate(der).expect("certificate parses");
    assert!(rest.is_empty());
    cert
}

fn cn(name: &x509_parser::x509::X509Name<'_>) -> String {
    name.iter_common_name()
        .next()
        .unwrap()
        .as_str()
        .unwrap()
        .to_owned()
}

fn ski<'a>(cert: &'a X509Certificate<'_>) -> &'a [u8] {
    cert.extensions()
        .iter()
        .find_map(|ext| match ext.parsed_extension() {
            ParsedExtension::SubjectKeyIdentifier(id) => Some(id.0),
            _ => None,
        })
        .expect("SKI present")
}

fn aki<'a>(cert: &'a X509Certificate<'_>) -> Option<&'a [u8]> {
    cert.extensions()
        .iter()
        .find_map(|ext| match ext.parsed_extension() {
            ParsedExtension::AuthorityKeyIdentifier(aki) => aki.key_identifier.as_ref().map(|id| id.0),
            _ => None,
        })
}

fn aia_ca_issuers_urls(cert: &X509Certificate<'_>) -> Vec<String> {
    cert.extensions()
        .iter()
        .filter_map(|ext| match ext.parsed_extension() {
            ParsedExtension::AuthorityInfoAccess(aia) => Some(aia),
            _ => None,
        })
        .flat_map(|aia| aia.accessdescs.iter())
        .filter(|desc| desc.access_method == OID_PKIX_ACCESS_DESCRIPTOR_CA_ISSUERS)
        .map(|desc| match &desc.access_location {
            GeneralName::URI(uri) => (*uri).to_owned(),
            other => panic!("unexpected AIA location {other:?}"),
        })
        .collect()
}

fn dns_sans(cert: &X509Certificate<'_>) -> Vec<String> {
    cert.subject_alternative_name()
        .unwrap()
        .map(|san| {
            san.value
                .general_names
                .iter()
                .map(|name| match name {
                    GeneralName::DNSName(dns) => (*dns).to_owned(),
                    GeneralName::IPAddress(ip) => format!("ip:{ip:?}"),
                    other => panic!("unexpected SAN {other:?}"),
                })
                .collect()
        })
        .unwrap_or_default()
}

fn key_bits(cert: &X509Certificate<'_>) -> (&'static str, usize) {
    match cert.public_key().parsed().unwrap() {
        PublicKey::RSA(rsa) => ("RSA", rsa.key_size()),
        PublicKey::EC(ec) => ("EC", ec.key_size()),
        other => panic!("unexpected key {other:?}"),
    }
}

fn unix(t: OffsetDateTime) -> UnixTime {
    UnixTime::since_unix_epoch(std::time::Duration::from_secs(
        t.unix_timestamp().try_into().unwrap(),
    ))
}

fn verify_at(
    ca: &LabCa,
    cert: &IssuedCert,
    send_intermediate: bool,
    name: &str,
    at: OffsetDateTime,
) -> Result<(), rustls::Error> {
    let verifier =
        WebPkiServerVerifier::builder_with_provider(Arc::new(ca.root_store().unwrap()), provider())
            .build()
            .unwrap();
    let chain = cert.chain(send_intermediate);
    let server_name = ServerName::try_from(name.to_owned()).unwrap();
    verifier
        .verify_server_cert(&chain[0], &chain[1..], &server_name, &[], unix(at))
        .map(|_| ())
}

fn server_spec(now: OffsetDateTime) -> LeafSpec {
    LeafSpec::server(NAME, [NAME, "autodiscover.contoso.com"], now)
}

#[test]
fn ca_certificates_have_realistic_extensions() {
    let ca = LabCa::generate(FIXED_NOW).unwrap();
    let root_der = ca.root_der();
    let inter_der = ca.intermediate_der();
    let root = parse(&root_der);
    let inter = parse(&inter_der);

    assert_eq!(cn(root.subject()), ROOT_CA_NAME);
    assert_eq!(root.subject().as_raw(), root.issuer().as_raw());
    let bc = root.basic_constraints().unwrap().unwrap().value;
    assert!(bc.ca);
    assert_eq!(bc.path_len_constraint, None);
    let ku = root.key_usage().unwrap().unwrap().value;
    assert!(ku.key_cert_sign() && ku.crl_sign());
    assert!(root.validity().not_before.timestamp() < FIXED_NOW.unix_timestamp());
    assert_eq!(
        root.validity().not_after.timestamp(),
        (FIXED_NOW + ROOT_LIFETIME).unix_timestamp()
    );
    assert_eq!(key_bits(&root), ("EC", 256));

    assert_eq!(cn(inter.subject()), INTERMEDIATE_CA_NAME);
    assert_eq!(inter.issuer().as_raw(), root.subject().as_raw());
    let bc = inter.basic_constraints().unwrap().unwrap().value;
    assert!(bc.ca);
    assert_eq!(bc.path_len_constraint, Some(0));
    let ku = inter.key_usage().unwrap().unwrap().value;
    assert!(ku.key_cert_sign() && ku.crl_sign());
    assert_eq!(aki(&inter), Some(ski(&root)));
    assert_eq!(aia_ca_issuers_urls(&inter), [INTERMEDIATE_AIA_CA_ISSUERS_URL]);

    // PEM round trip.
    let from_pem = CertificateDer::from_pem_slice(ca.root_pem().as_bytes()).unwrap();
    assert_eq!(from_pem, root_der);
    let from_pem = CertificateDer::from_pem_slice(ca.intermediate_pem().as_bytes()).unwrap();
    assert_eq!(from_pem, inter_der);
    assert!(format!("{ca:?}").contains(ROOT_CA_NAME));
}

#[test]
fn normal_leaf() {
    let ca = LabCa::generate(FIXED_NOW).unwrap();
    let spec = server_spec(FIXED_NOW);
    assert_eq!(spec.key, DEFAULT_LEAF_KEY);
    let issued = ca.issue(&spec).unwrap();
    let inter_der = ca.intermediate_der();
    let inter = parse(&inter_der);
    let leaf = parse(&issued.leaf);

    assert_eq!(cn(leaf.subject()), NAME);
    assert_eq!(dns_sans(&leaf), [NAME, "autodiscover.contoso.com"]);
    assert_eq!(leaf.issuer().as_raw(), inter.subject().as_raw());
    assert_eq!(
        leaf.validity().not_before.timestamp(),
        (FIXED_NOW - Duration::days(1)).unix_timestamp()
    );
    assert_eq!(
        leaf.validity().not_after.timestamp(),
        (FIXED_NOW + Duration::days(365)).unix_timestamp()
    );
    assert_eq!(key_bits(&leaf), ("EC", 256));
    let eku = leaf.extended_key_usage().unwrap().unwrap().value;
    assert!(eku.server_auth && eku.client_auth);
    let ku = leaf.key_usage().unwrap().unwrap().value;
    assert!(ku.digital_signature() && !ku.key_cert_sign());
    assert!(!leaf.basic_constraints().unwrap().unwrap().value.ca);
    assert_eq!(aia_ca_issuers_urls(&leaf), [LEAF_AIA_CA_ISSUERS_URL]);
    assert_eq!(aki(&leaf), Some(ski(&inter)));
    let _ = ski(&leaf);

    assert_eq!(issued.chain(false), std::slice::from_ref(&issued.leaf));
    assert_eq!(issued.chain(true), [issued.leaf.clone(), inter_der.clone()]);
    let pem_chain: Vec<_> = CertificateDer::pem_slice_iter(issued.chain_pem(true).as_bytes())
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(pem_chain, issued.chain(true));
    assert_eq!(
        CertificateDer::from_pem_slice(issued.leaf_pem().as_bytes()).unwrap(),
        issued.leaf
    );
    let key = PrivateKeyDer::from_pem_slice(issued.key_pem().as_bytes()).unwrap();
    assert_eq!(key.secret_der(), issued.key_der().secret_der());
    assert!(issued.certified_key(true).unwrap().keys_match().is_ok());

    assert_eq!(verify_at(&ca, &issued, true, NAME, FIXED_NOW), Ok(()));
    assert_eq!(
        verify_at(&ca, &issued, true, "autodiscover.contoso.com", FIXED_NOW),
        Ok(())
    );
}

#[test]
fn missing_intermediate_fails_verification() {
    let ca = LabCa::generate(FIXED_NOW).unwrap();
    let issued = ca.issue(&server_spec(FIXED_NOW)).unwrap();
    assert_eq!(issued.chain(false).len(), 1);
    assert_eq!(
        verify_at(&ca, &issued, false, NAME, FIXED_NOW),
        Err(rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer))
    );
}

#[test]
fn expired_and_not_yet_valid_leaves() {
    let ca = LabCa::generate(FIXED_NOW).unwrap();
    let expired =
        server_spec(FIXED_NOW).with_validity(FIXED_NOW - Duration::days(400), FIXED_NOW - Duration::days(35));
    let issued = ca.issue(&expired).unwrap();
    let leaf = parse(&issued.leaf);
    assert_eq!(
        leaf.validity().not_after.timestamp(),
        (FIXED_NOW - Duration::days(35)).unix_timestamp()
    );
    let err = verify_at(&ca, &issued, true, NAME, FIXED_NOW).unwrap_err();
    assert!(
        matches!(
            err,
            rustls::Error::InvalidCertificate(
                CertificateError::Expired | CertificateError::ExpiredContext { .. }
            )
        ),
        "{err:?}"
    );
    // Still a correctly issued certificate: valid while it was valid.
    assert_eq!(
        verify_at(&ca, &issued, true, NAME, FIXED_NOW - Duration::days(100)),
        Ok(())
    );

    let future =
        server_spec(FIXED_NOW).with_validity(FIXED_NOW + Duration::days(10), FIXED_NOW + Duration::days(375));
    let issued = ca.issue(&future).unwrap();
    let leaf = parse(&issued.leaf);
    assert_eq!(
        leaf.validity().not_before.timestamp(),
        (FIXED_NOW + Duration::days(10)).unix_timestamp()
    );
    let err = verify_at(&ca, &issued, true, NAME, FIXED_NOW).unwrap_err();
    assert!(
        matches!(
            err,
            rustls::Error::InvalidCertificate(
                CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. }
            )
        ),
        "{err:?}"
    );
}

#[test]
fn self_signed_leaf() {
    let ca = LabCa::generate(FIXED_NOW).unwrap();
    let issued = ca
        .issue(&server_spec(FIXED_NOW).with_issuer(LeafIssuer::SelfSigned))
        .unwrap();
    assert!(issued.intermediate.is_none());
    assert_eq!(issued.chain(true).len(), 1);
    let leaf = parse(&issued.leaf);
    assert_eq!(leaf.subject().as_raw(), leaf.issuer().as_raw());
    assert_eq!(cn(leaf.issuer()), NAME);
    assert!(aia_ca_issuers_urls(&leaf).is_empty());
    assert!(aki(&leaf).is_none());
    assert_eq!(
        verify_at(&ca, &issued, true, NAME, FIXED_NOW),
        Err(rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer))
    );

    // Self-signed RSA leaves are signed by the rsa crate through rcgen::SigningKey.
    let spec = server_spec(FIXED_NOW)
        .with_issuer(LeafIssuer::SelfSigned)
        .with_key(LeafKey::Rsa1024);
    let issued = ca.issue(&spec).unwrap();
    let leaf = parse(&issued.leaf);
    assert_eq!(key_bits(&leaf), ("RSA", 1024));
    assert_eq!(leaf.subject().as_raw(), leaf.issuer().as_raw());
    assert!(issued.certified_key(true).is_ok());
}

#[test]
fn name_mismatch_leaf() {
    let ca = LabCa::generate(FIXED_NOW).unwrap();
    let spec = LeafSpec::server("mail.fabrikam.com", ["mail.fabrikam.com", "127.0.0.1"], FIXED_NOW);
    let issued = ca.issue(&spec).unwrap();
    let leaf = parse(&issued.leaf);
    assert_eq!(dns_sans(&leaf), ["mail.fabrikam.com", "ip:[127, 0, 0, 1]"]);
    let err = verify_at(&ca, &issued, true, NAME, FIXED_NOW).unwrap_err();
    assert!(
        matches!(
            err,
            rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. }
            )
        ),
        "{err:?}"
    );
    assert_eq!(
        verify_at(&ca, &issued, true, "mail.fabrikam.com", FIXED_NOW),
        Ok(())
    );
    assert_eq!(verify_at(&ca, &issued, true, "127.0.0.1", FIXED_NOW), Ok(()));
}

#[test]
fn invalid_name_is_reported() {
    let ca = LabCa::generate(FIXED_NOW).unwrap();
    let spec = LeafSpec::server(NAME, ["mäil.contoso.com"], FIXED_NOW);
    let err = ca.issue(&spec).unwrap_err();
    assert!(
        matches!(&err, CaError::InvalidName { name, .. } if name == "mäil.contoso.com"),
        "{err}"
    );
    assert!(err.to_string().contains("leaf CN=mail.contoso.com"), "{err}");
}

#[test]
fn rsa_leaves() {
    let ca = LabCa::generate(FIXED_NOW).unwrap();
    for (key, bits) in [(LeafKey::Rsa1024, 1024), (LeafKey::Rsa2048, 2048)] {
        let issued = ca.issue(&server_spec(FIXED_NOW).with_key(key)).unwrap();
        let leaf = parse(&issued.leaf);
        assert_eq!(key_bits(&leaf), ("RSA", bits));
        let ku = leaf.key_usage().unwrap().unwrap().value;
        assert!(ku.digital_signature() && ku.key_encipherment());
        let eku = leaf.extended_key_usage().unwrap().unwrap().value;
        assert!(eku.server_auth && eku.client_auth);
        assert_eq!(aia_ca_issuers_urls(&leaf), [LEAF_AIA_CA_ISSUERS_URL]);
        // The chain itself is fine (the intermediate signs with ECDSA): a weak leaf key only shows in
        // key-size checks and in the handshake.
        assert_eq!(verify_at(&ca, &issued, true, NAME, FIXED_NOW), Ok(()));
        assert!(issued.certified_key(true).unwrap().keys_match().is_ok());
    }
}

#[test]
fn rsa_1024_signer_produces_valid_signatures() {
    let ca = LabCa::generate(FIXED_NOW).unwrap();
    let issued = ca
        .issue(&server_spec(FIXED_NOW).with_key(LeafKey::Rsa1024))
        .unwrap();
    let certified = issued.certified_key(true).unwrap();
    let public = RsaPublicKey::from_public_key_der(&certified.key.public_key().unwrap()).unwrap();
    let message = b"TLS handshake transcript";
    for scheme in RsaTlsKey::SCHEMES {
        if scheme == SignatureScheme::RSA_PSS_SHA512 {
            // 1024 bits are too short for PSS with a 64-byte salt.
            assert!(certified.key.choose_scheme(&[scheme]).is_none());
            continue;
        }
        let signer = certified.key.choose_scheme(&[scheme]).unwrap();
        assert_eq!(signer.scheme(), scheme);
        let signature = signer.sign(message).unwrap();
        verify_rsa(&public, scheme, message, &signature).unwrap();
    }
    assert!(
        certified
            .key
            .choose_scheme(&[SignatureScheme::ECDSA_NISTP256_SHA256])
            .is_none()
    );
    let tls13 = [SignatureScheme::RSA_PSS_SHA512, SignatureScheme::RSA_PSS_SHA256];
    assert_eq!(
        certified.key.choose_scheme(&tls13).unwrap().scheme(),
        SignatureScheme::RSA_PSS_SHA256
    );
    // ring would refuse the key outright.
    assert!(rustls::crypto::ring::sign::any_supported_type(&issued.key_der()).is_err());
}

fn verify_rsa(
    public: &RsaPublicKey,
    scheme: SignatureScheme,
    message: &[u8],
    signature: &[u8],
) -> Result<(), rsa::Error> {
    match scheme {
        SignatureScheme::RSA_PKCS1_SHA256 => {
            public.verify(Pkcs1v15Sign::new::<Sha256>(), &Sha256::digest(message), signature)
        }
        SignatureScheme::RSA_PKCS1_SHA384 => {
            public.verify(Pkcs1v15Sign::new::<Sha384>(), &Sha384::digest(message), signature)
        }
        SignatureScheme::RSA_PKCS1_SHA512 => {
            public.verify(Pkcs1v15Sign::new::<Sha512>(), &Sha512::digest(message), signature)
        }
        SignatureScheme::RSA_PSS_SHA256 => {
            public.verify(Pss::new::<Sha256>(), &Sha256::digest(message), signature)
        }
        SignatureScheme::RSA_PSS_SHA384 => {
            public.verify(Pss::new::<Sha384>(), &Sha384::digest(message), signature)
        }
        SignatureScheme::RSA_PSS_SHA512 => {
            public.verify(Pss::new::<Sha512>(), &Sha512::digest(message), signature)
        }
        _ => Err(rsa::Error::Verification),
    }
}

/// Accepts any server certificate; checks handshake signatures with the rsa crate (any key size) and
/// records the schemes the server used.
#[derive(Debug, Default)]
struct AcceptAnyRsa {
    schemes: Mutex<Vec<SignatureScheme>>,
}

impl AcceptAnyRsa {
    fn check(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let parsed = parse(cert);
        let public = RsaPublicKey::from_public_key_der(parsed.public_key().raw)
            .map_err(|e| rustls::Error::General(e.to_string()))?;
        verify_rsa(&public, dss.scheme, message, dss.signature())
            .map_err(|_| rustls::Error::InvalidCertificate(CertificateError::BadSignature))?;
        self.schemes.lock().unwrap().push(dss.scheme);
        Ok(HandshakeSignatureValid::assertion())
    }
}

impl ServerCertVerifier for AcceptAnyRsa {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.check(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.check(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        RsaTlsKey::SCHEMES.to_vec()
    }
}

static TLS13_ONLY: [&SupportedProtocolVersion; 1] = [&rustls::version::TLS13];
static TLS12_ONLY: [&SupportedProtocolVersion; 1] = [&rustls::version::TLS12];

fn versions(version: ProtocolVersion) -> &'static [&'static SupportedProtocolVersion] {
    match version {
        ProtocolVersion::TLSv1_3 => &TLS13_ONLY,
        ProtocolVersion::TLSv1_2 => &TLS12_ONLY,
        other => panic!("unsupported {other:?}"),
    }
}

fn server_config(
    issued: &IssuedCert,
    version: ProtocolVersion,
    client_ca: Option<&LabCa>,
) -> Arc<ServerConfig> {
    let builder = ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(versions(version))
        .unwrap();
    let builder = match client_ca {
        Some(ca) => builder.with_client_cert_verifier(
            WebPkiClientVerifier::builder_with_provider(Arc::new(ca.root_store().unwrap()), provider())
                .build()
                .unwrap(),
        ),
        None => builder.with_no_client_auth(),
    };
    let resolver = SingleCertAndKey::from(issued.certified_key(true).unwrap());
    Arc::new(builder.with_cert_resolver(Arc::new(resolver)))
}

fn client_config(
    ca: &LabCa,
    version: ProtocolVersion,
    client_cert: Option<&IssuedCert>,
) -> Arc<ClientConfig> {
    let builder = ClientConfig::builder_with_provider(provider())
        .with_protocol_versions(versions(version))
        .unwrap()
        .with_root_certificates(ca.root_store().unwrap());
    Arc::new(match client_cert {
        Some(issued) => builder.with_client_cert_resolver(Arc::new(SingleCertAndKey::from(
            issued.certified_key(true).unwrap(),
        ))),
        None => builder.with_no_client_auth(),
    })
}

/// Runs a handshake over an in-memory pipe; the server sends a banner once the handshake is done.
/// Returns the client's view (negotiated version) and whether the server saw a client certificate.
async fn handshake(
    server: Arc<ServerConfig>,
    client: Arc<ClientConfig>,
    name: &str,
) -> (
    Result<ProtocolVersion, std::io::Error>,
    Result<bool, std::io::Error>,
) {
    let (client_io, server_io) = tokio::io::duplex(64 * 1024);
    let acceptor = tokio_rustls::TlsAcceptor::from(server);
    let connector = tokio_rustls::TlsConnector::from(client);
    let name = ServerName::try_from(name.to_owned()).unwrap();
    let server_side = async move {
        let mut tls = acceptor.accept(server_io).await?;
        let client_cert = tls.get_ref().1.peer_certificates().is_some();
        tls.write_all(b"220 lab ESMTP\r\n").await?;
        tls.shutdown().await?;
        Ok(client_cert)
    };
    let client_side = async move {
        let mut tls = connector.connect(name, client_io).await?;
        let mut banner = Vec::new();
        tls.read_to_end(&mut banner).await?;
        assert_eq!(banner, b"220 lab ESMTP\r\n");
        Ok(tls.get_ref().1.protocol_version().unwrap())
    };
    let both = async { tokio::join!(client_side, server_side) };
    tokio::time::timeout(std::time::Duration::from_secs(20), both)
        .await
        .expect("handshake timed out")
}

#[tokio::test]
async fn handshake_with_normal_leaf() {
    let ca = LabCa::generate(OffsetDateTime::now_utc()).unwrap();
    for key in [LeafKey::EcdsaP256, LeafKey::Rsa2048] {
        let issued = ca
            .issue(&server_spec(OffsetDateTime::now_utc()).with_key(key))
            .unwrap();
        for version in [ProtocolVersion::TLSv1_3, ProtocolVersion::TLSv1_2] {
            let (client, server) = handshake(
                server_config(&issued, version, None),
                client_config(&ca, version, None),
                NAME,
            )
            .await;
            assert_eq!(client.unwrap(), version, "{key:?}");
            assert!(!server.unwrap());
        }
    }
}

#[tokio::test]
async fn handshake_with_client_certificate() {
    let ca = LabCa::generate(OffsetDateTime::now_utc()).unwrap();
    let server_cert = ca.issue(&server_spec(OffsetDateTime::now_utc())).unwrap();
    let client_cert = ca
        .issue(&LeafSpec::server(
            "edge.contoso.com",
            ["edge.contoso.com"],
            OffsetDateTime::now_utc(),
        ))
        .unwrap();
    for version in [ProtocolVersion::TLSv1_3, ProtocolVersion::TLSv1_2] {
        let (client, server) = handshake(
            server_config(&server_cert, version, Some(&ca)),
            client_config(&ca, version, Some(&client_cert)),
            NAME,
        )
        .await;
        assert_eq!(client.unwrap(), version);
        assert!(server.unwrap(), "server saw the client certificate");
    }
}

#[tokio::test]
async fn handshake_without_intermediate_fails() {
    let ca = LabCa::generate(OffsetDateTime::now_utc()).unwrap();
    let issued = ca.issue(&server_spec(OffsetDateTime::now_utc())).unwrap();
    let version = ProtocolVersion::TLSv1_3;
    let server = ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(versions(version))
        .unwrap()
        .with_no_client_auth()
        .with_cert_resolver(Arc::new(SingleCertAndKey::from(
            issued.certified_key(false).unwrap(),
        )));
    let (client, _server) = handshake(Arc::new(server), client_config(&ca, version, None), NAME).await;
    let err = client.unwrap_err();
    assert!(err.to_string().contains("UnknownIssuer"), "{err}");
}

#[tokio::test]
async fn handshake_with_rsa_1024_leaf() {
    let ca = LabCa::generate(OffsetDateTime::now_utc()).unwrap();
    let issued = ca
        .issue(&server_spec(OffsetDateTime::now_utc()).with_key(LeafKey::Rsa1024))
        .unwrap();
    for (version, expected) in [
        (ProtocolVersion::TLSv1_3, SignatureScheme::RSA_PSS_SHA256),
        (ProtocolVersion::TLSv1_2, SignatureScheme::RSA_PKCS1_SHA256),
    ] {
        let verifier = Arc::new(AcceptAnyRsa::default());
        let client = ClientConfig::builder_with_provider(provider())
            .with_protocol_versions(versions(version))
            .unwrap()
            .dangerous()
            .with_custom_certificate_verifier(verifier.clone())
            .with_no_client_auth();
        let (client, server) = handshake(server_config(&issued, version, None), Arc::new(client), NAME).await;
        assert_eq!(client.unwrap(), version);
        server.unwrap();
        assert_eq!(*verifier.schemes.lock().unwrap(), [expected]);

        // A standard (webpki + ring) client refuses the 1024-bit handshake signature.
        let (client, _server) = handshake(
            server_config(&issued, version, None),
            client_config(&ca, version, None),
            NAME,
        )
        .await;
        let err = client.unwrap_err();
        println!("{version:?}: standard client against RSA-1024 leaf: {err}");
    }
}

#[test]
fn write_files_writes_root_pem() {
    let ca = LabCa::generate(FIXED_NOW).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let sub = dir.path().join("lab");
    ca.write_files(&sub).unwrap();
    let pem = std::fs::read(sub.join("ca.pem")).unwrap();
    assert_eq!(CertificateDer::from_pem_slice(&pem).unwrap(), ca.root_der());

    let blocker = dir.path().join("file");
    std::fs::write(&blocker, b"x").unwrap();
    let err = ca.write_files(&blocker).unwrap_err();
    assert!(matches!(err, CaError::Io { .. }), "{err}");
}

fn openssl_available() -> bool {
    Command::new("openssl")
        .arg("version")
        .output()
        .is_ok_and(|o| o.status.success())
}

fn openssl_verify(dir: &Path, extra: &[&str]) -> (bool, String) {
    let out = Command::new("openssl")
        .current_dir(dir)
        .arg("verify")
        .args(extra)
        .arg("leaf.pem")
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[test]
fn openssl_verifies_the_chain() {
    if !openssl_available() {
        println!("openssl not installed: skipped");
        return;
    }
    let ca = LabCa::generate(OffsetDateTime::now_utc()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("root.pem"), ca.root_pem()).unwrap();
    std::fs::write(dir.path().join("intermediate.pem"), ca.intermediate_pem()).unwrap();

    let issued = ca.issue(&server_spec(OffsetDateTime::now_utc())).unwrap();
    std::fs::write(dir.path().join("leaf.pem"), issued.leaf_pem()).unwrap();
    std::fs::write(dir.path().join("key.pem"), issued.key_pem()).unwrap();
    std::fs::write(dir.path().join("chain.pem"), issued.chain_pem(true)).unwrap();

    let full = ["-CAfile", "root.pem", "-untrusted", "intermediate.pem"];
    let (ok, text) = openssl_verify(dir.path(), &full);
    assert!(ok && text.contains("leaf.pem: OK"), "{text}");
    let (ok, text) = openssl_verify(dir.path(), &["-CAfile", "root.pem", "-untrusted", "chain.pem"]);
    assert!(ok, "{text}");
    let (ok, text) = openssl_verify(dir.path(), &["-CAfile", "root.pem"]);
    assert!(!ok, "missing intermediate must fail: {text}");
    let (ok, text) = openssl_verify(
        dir.path(),
        &[
            "-CAfile",
            "root.pem",
            "-purpose",
            "sslclient",
            "-untrusted",
            "intermediate.pem",
        ],
    );
    assert!(ok, "client purpose: {text}");

    let out = Command::new("openssl")
        .current_dir(dir.path())
        .args(["pkey", "-in", "key.pem", "-noout"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    // The weak key passes at security level 1 and fails at level 2 (112-bit security).
    let weak = ca
        .issue(&server_spec(OffsetDateTime::now_utc()).with_key(LeafKey::Rsa1024))
        .unwrap();
    std::fs::write(dir.path().join("leaf.pem"), weak.leaf_pem()).unwrap();
    let (ok, text) = openssl_verify(dir.path(), &[&full[..], &["-auth_level", "1"]].concat());
    assert!(ok, "{text}");
    let (ok, text) = openssl_verify(dir.path(), &[&full[..], &["-auth_level", "2"]].concat());
    assert!(!ok && text.contains("too weak"), "{text}");
    std::fs::write(dir.path().join("key.pem"), weak.key_pem()).unwrap();
    let out = Command::new("openssl")
        .current_dir(dir.path())
        .args(["pkey", "-in", "key.pem", "-noout", "-text"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("1024 bit"));
}

#[test]
fn pem_and_der_helpers() {
    assert_eq!(der_tlv(0x04, &[1, 2]), [0x04, 2, 1, 2]);
    assert_eq!(der_tlv(0x04, &[0; 200])[..3], [0x04, 0x81, 200]);
    assert_eq!(der_tlv(0x04, &[0; 300])[..4], [0x04, 0x82, 0x01, 0x2c]);
    let pem = pem_encode("X", &[0; 48]);
    assert_eq!(pem.lines().nth(1).unwrap().len(), 64);
    assert_eq!(pem.lines().count(), 3);
    assert!(
        pem.starts_with("-----BEGIN X-----\n") && pem.ends_with("-----END X-----\n"),
        "{pem:?}"
    );
    assert!(!pem.contains('\r'), "LF line endings");
}

/// Not an assertion: measures key generation in whatever profile the tests run in.
#[test]
fn timing_ca_and_twelve_leaves() {
    let now = OffsetDateTime::now_utc();
    let start = Instant::now();
    let ca = LabCa::generate(now).unwrap();
    let ca_time = start.elapsed();
    for i in 0..12 {
        let name = format!("host{i}.contoso.com");
        ca.issue(&LeafSpec::server(name.clone(), [name], now)).unwrap();
    }
    let total = start.elapsed();
    println!("timing: CA {ca_time:?}; CA + 12 default ({DEFAULT_LEAF_KEY:?}) leaves {total:?}");

    let mut rsa = Vec::new();
    for key in [LeafKey::Rsa2048, LeafKey::Rsa1024] {
        for _ in 0..5 {
            let start = Instant::now();
            ca.issue(&server_spec(now).with_key(key)).unwrap();
            rsa.push((key, start.elapsed()));
        }
    }
    println!("timing: RSA leaves {rsa:?}");
}
