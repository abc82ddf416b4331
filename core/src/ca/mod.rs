//! The lab CA (rcgen): root -> intermediate -> leaf certificates, including deliberately broken ones.
//!
//! Used by the embedded lab for its endpoints, by the relay at run time for its own certificate (when none
//! is given), and by the tests. It depends on nothing else in mailpath.
//!
//! The embedded lab needs a small but realistic PKI so that the certificate checks see what they would see
//! in a real hybrid deployment:
//!
//! - a self-signed root, `CN=mailpath Lab Root CA` (CA, no path length limit),
//! - an issuing intermediate, `CN=mailpath Lab Issuing CA 1` (CA, `pathlen:0`, signed by the root),
//! - leaf certificates for the lab's SMTP endpoints, issued by the intermediate (or self-signed), with the
//!   extensions an Exchange certificate carries: key usage, basic constraints `CA:FALSE`, subject and
//!   authority key identifiers, EKU serverAuth + clientAuth (Exchange uses the same certificate both ways)
//!   and an AIA caIssuers URL ([`LEAF_AIA_CA_ISSUERS_URL`]; never fetched, but its presence lets the checks
//!   say "AIA present but the intermediate was not sent").
//!
//! Broken certificates for fault scenarios come from ordinary [`LeafSpec`]s: validity in the past (expired)
//! or the future (not yet valid), [`LeafIssuer::SelfSigned`], names that do not match, and
//! [`LeafKey::Rsa1024`] (scenario `weak-key`). ring can neither generate RSA keys nor sign with keys
//! shorter than 2048 bits, so RSA keys are generated with the `rsa` crate; rcgen signs the certificate for
//! that foreign public key with the intermediate, and a custom [`rustls::sign::SigningKey`] backed by the
//! `rsa` crate lets a rustls server (or client) complete a handshake with the 1024-bit key.
//!
//! Everything is generated in memory; [`LabCa::write_files`] writes the root as `ca.pem` for external tools
//! (`openssl s_client -CAfile`, `swaks --tls-ca-path`, ...).

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, CustomExtension, DistinguishedName, DnType,
    ExtendedKeyUsagePurpose, IsCa, KeyPair, KeyUsagePurpose, SanType,
};
use rustls::sign::CertifiedKey;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use time::{Duration, OffsetDateTime};

/// Common name of the lab root CA.
pub const ROOT_CA_NAME: &str = "mailpath Lab Root CA";
/// Common name of the lab issuing (intermediate) CA.
pub const INTERMEDIATE_CA_NAME: &str = "mailpath Lab Issuing CA 1";
/// Organization (`O=`) of both lab CA certificates.
pub const LAB_ORGANIZATION: &str = "mailpath Lab";
/// AIA caIssuers URL written into leaves issued by the intermediate (where the intermediate "would" be
/// downloadable). Never fetched by anything in mailpath.
pub const LEAF_AIA_CA_ISSUERS_URL: &str = "http://pki.contoso.lab/issuing1.crt";
/// AIA caIssuers URL written into the intermediate (where the root "would" be downloadable).
pub const INTERMEDIATE_AIA_CA_ISSUERS_URL: &str = "http://pki.contoso.lab/root.crt";
/// The key type [`LeafSpec::server`] uses.
///
/// ECDSA P-256. RSA-2048 key generation in a debug test build (rsa and num-bigint-dig at opt-level 3)
/// measured 80-555 ms per key, mean about 250 ms, with 30 % of keys above 300 ms: about 3 s for a lab
/// with a dozen endpoints, against about 1 ms for the CA and 12 ECDSA leaves. Specs that want RSA say so
/// with [`LeafSpec::with_key`].
pub const DEFAULT_LEAF_KEY: LeafKey = LeafKey::EcdsaP256;

/// How far the CA certificates are backdated, so that expired leaves still fall inside the CA's lifetime.
const CA_BACKDATE: Duration = Duration::days(2 * 365);
/// Validity of the root after `now` (ten years).
const ROOT_LIFETIME: Duration = Duration::days(3652);
/// Validity of the intermediate after `now` (five years).
const INTERMEDIATE_LIFETIME: Duration = Duration::days(1826);
/// id-pe-authorityInfoAccess (1.3.6.1.5.5.7.1.1).
mod rsa_key;

use self::rsa_key::{RsaKey, RsaTlsKey};

const OID_AUTHORITY_INFO_ACCESS: [u64; 9] = [1, 3, 6, 1, 5, 5, 7, 1, 1];
/// DER encoding of the OID id-ad-caIssuers (1.3.6.1.5.5.7.48.2), tag and length included.
const DER_OID_CA_ISSUERS: [u8; 10] = [0x06, 0x08, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x30, 0x02];

/// What went wrong while generating the lab PKI or using its output.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CaError {
    /// rcgen / ring could not generate a key pair.
    #[error("could not generate the key pair for {what}: {source}")]
    KeyGeneration {
        /// Which certificate the key was for.
        what: String,
        /// The underlying error.
        #[source]
        source: rcgen::Error,
    },
    /// The `rsa` crate could not generate a key pair.
    #[error("could not generate the RSA key pair for {what}: {source}")]
    RsaKeyGeneration {
        /// Which certificate the key was for.
        what: String,
        /// The underlying error.
        #[source]
        source: rsa::Error,
    },
    /// A key could not be encoded (PKCS#1, PKCS#8 or SPKI).
    #[error("could not encode the {encoding} key for {what}: {detail}")]
    KeyEncoding {
        /// Which certificate the key was for.
        what: String,
        /// The encoding that failed.
        encoding: &'static str,
        /// The underlying error, as text.
        detail: String,
    },
    /// A name of a [`LeafSpec`] cannot go into a subjectAltName (it is not ASCII / IA5).
    #[error("{name:?} cannot be a DNS name in the certificate for {what}: {source}")]
    InvalidName {
        /// Which certificate the name was for.
        what: String,
        /// The rejected name.
        name: String,
        /// The underlying error.
        #[source]
        source: rcgen::Error,
    },
    /// rcgen could not build or sign a certificate.
    #[error("could not issue the certificate for {what}: {source}")]
    Issue {
        /// Which certificate failed.
        what: String,
        /// The underlying error.
        #[source]
        source: rcgen::Error,
    },
    /// rustls rejected a key or certificate.
    #[error("rustls rejected the {what}: {source}")]
    Rustls {
        /// What rustls was given.
        what: String,
        /// The underlying error.
        #[source]
        source: rustls::Error,
    },
    /// Writing a file failed.
    #[error("could not write {}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
}

/// The lab certification authority: a root and an issuing intermediate, both ECDSA P-256, in memory.
pub struct LabCa {
    root: CertifiedIssuer<'static, KeyPair>,
    intermediate: CertifiedIssuer<'static, KeyPair>,
}

impl fmt::Debug for LabCa {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LabCa")
            .field("root", &ROOT_CA_NAME)
            .field("intermediate", &INTERMEDIATE_CA_NAME)
            .finish_non_exhaustive()
    }
}

impl LabCa {
    /// Generates a fresh lab CA.
    ///
    /// The root `CN=mailpath Lab Root CA` is valid from two years before `now` until ten years after it;
    /// the intermediate `CN=mailpath Lab Issuing CA 1` (pathlen 0) from two years before `now` until five
    /// years after it. The backdating lets [`LabCa::issue`] produce expired leaves that still fall within
    /// the lifetime of their issuer, like real expired certificates.
    pub fn generate(now: OffsetDateTime) -> Result<LabCa, CaError> {
        let not_before = now - CA_BACKDATE;

        let mut root_params = CertificateParams::default();
        root_params.distinguished_name = ca_name(ROOT_CA_NAME);
        root_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        root_params.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
        ];
        root_params.not_before = not_before;
        root_params.not_after = now + ROOT_LIFETIME;
        let root_key = generate_ecdsa(ROOT_CA_NAME)?;
        let root = CertifiedIssuer::self_signed(root_params, root_key).map_err(|source| CaError::Issue {
            what: ROOT_CA_NAME.to_owned(),
            source,
        })?;

        let mut inter_params = CertificateParams::default();
        inter_params.distinguished_name = ca_name(INTERMEDIATE_CA_NAME);
        inter_params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        inter_params.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
        ];
        inter_params.not_before = not_before;
        inter_params.not_after = now + INTERMEDIATE_LIFETIME;
        inter_params.use_authority_key_identifier_extension = true;
        inter_params.custom_extensions = vec![aia_ca_issuers(INTERMEDIATE_AIA_CA_ISSUERS_URL)];
        let inter_key = generate_ecdsa(INTERMEDIATE_CA_NAME)?;
        let intermediate =
            CertifiedIssuer::signed_by(inter_params, inter_key, &*root).map_err(|source| CaError::Issue {
                what: INTERMEDIATE_CA_NAME.to_owned(),
                source,
            })?;

        Ok(LabCa { root, intermediate })
    }

    /// The root certificate, PEM-encoded (what `openssl s_client -CAfile` wants).
    pub fn root_pem(&self) -> String {
        pem_encode("CERTIFICATE", self.root.der())
    }

    /// The root certificate, DER-encoded.
    pub fn root_der(&self) -> CertificateDer<'static> {
        self.root.der().clone()
    }

    /// The intermediate (issuing CA) certificate, PEM-encoded.
    pub fn intermediate_pem(&self) -> String {
        pem_encode("CERTIFICATE", self.intermediate.der())
    }

    /// The intermediate (issuing CA) certificate, DER-encoded.
    pub fn intermediate_der(&self) -> CertificateDer<'static> {
        self.intermediate.der().clone()
    }

    /// A rustls root store that trusts only the lab root (lab-mode probes trust nothing else).
    pub fn root_store(&self) -> Result<rustls::RootCertStore, CaError> {
        let mut store = rustls::RootCertStore::empty();
        store.add(self.root_der()).map_err(|source| CaError::Rustls {
            what: format!("lab root certificate ({ROOT_CA_NAME})"),
            source,
        })?;
        Ok(store)
    }

    /// Writes the root certificate to `dir/ca.pem`, creating `dir` if needed.
    pub fn write_files(&self, dir: &Path) -> Result<(), CaError> {
        std::fs::create_dir_all(dir).map_err(|source| CaError::Io {
            path: dir.to_path_buf(),
            source,
        })?;
        let path = dir.join("ca.pem");
        std::fs::write(&path, self.root_pem()).map_err(|source| CaError::Io { path, source })
    }

    /// Issues a leaf certificate (and generates its key) as described by `spec`.
    ///
    /// Leaves carry: subject `CN=<common_name>`; subjectAltName with `dns_names` (strings that parse as IP
    /// addresses become IP address entries); basic constraints `CA:FALSE`; key usage digitalSignature (plus
    /// keyEncipherment for RSA); EKU serverAuth + clientAuth; a subject key identifier. Leaves issued by the
    /// intermediate also carry an authority key identifier and AIA caIssuers [`LEAF_AIA_CA_ISSUERS_URL`].
    /// The validity is taken from `spec` as is, so it may be in the past, in the future or even inverted.
    pub fn issue(&self, spec: &LeafSpec) -> Result<IssuedCert, CaError> {
        let what = format!("leaf CN={}", spec.common_name);

        let mut params = CertificateParams::default();
        let mut name = DistinguishedName::new();
        name.push(DnType::CommonName, spec.common_name.as_str());
        params.distinguished_name = name;
        params.subject_alt_names = spec
            .dns_names
            .iter()
            .map(|dns_name| san(dns_name, &what))
            .collect::<Result<_, _>>()?;
        params.not_before = spec.not_before;
        params.not_after = spec.not_after;
        params.is_ca = IsCa::ExplicitNoCa;
        params.key_usages = match spec.key {
            LeafKey::EcdsaP256 => vec![KeyUsagePurpose::DigitalSignature],
            LeafKey::Rsa2048 | LeafKey::Rsa1024 => {
                vec![
                    KeyUsagePurpose::DigitalSignature,
                    KeyUsagePurpose::KeyEncipherment,
                ]
            }
        };
        params.extended_key_usages = vec![
            ExtendedKeyUsagePurpose::ServerAuth,
            ExtendedKeyUsagePurpose::ClientAuth,
        ];
        if spec.issuer == LeafIssuer::Intermediate {
            params.use_authority_key_identifier_extension = true;
            params.custom_extensions = vec![aia_ca_issuers(LEAF_AIA_CA_ISSUERS_URL)];
        }

        let (cert, key_pkcs8, tls_key) = match spec.key {
            LeafKey::EcdsaP256 => {
                let key = generate_ecdsa(&what)?;
                let cert = self.sign_leaf(&params, &key, spec.issuer, &what)?;
                (cert, key.serialize_der(), TlsKey::Ring)
            }
            LeafKey::Rsa2048 | LeafKey::Rsa1024 => {
                let bits = if spec.key == LeafKey::Rsa2048 { 2048 } else { 1024 };
                let key = RsaKey::generate(bits, &what)?;
                let cert = self.sign_leaf(&params, &key, spec.issuer, &what)?;
                let pkcs8 = key.pkcs8(&what)?;
                let tls_key = if bits < 2048 {
                    TlsKey::Rsa(Arc::new(RsaTlsKey {
                        spki: key.spki(&what)?,
                        key: Arc::clone(&key.private),
                    }))
                } else {
                    TlsKey::Ring
                };
                (cert, pkcs8, tls_key)
            }
        };

        Ok(IssuedCert {
            leaf: cert,
            intermediate: match spec.issuer {
                LeafIssuer::Intermediate => Some(self.intermediate_der()),
                LeafIssuer::SelfSigned => None,
            },
            key: spec.key,
            key_pkcs8: PrivatePkcs8KeyDer::from(key_pkcs8),
            tls_key,
        })
    }

    fn sign_leaf(
        &self,
        params: &CertificateParams,
        key: &impl rcgen::SigningKey,
        issuer: LeafIssuer,
        what: &str,
    ) -> Result<CertificateDer<'static>, CaError> {
        let cert = match issuer {
            LeafIssuer::Intermediate => params.signed_by(key, &*self.intermediate),
            LeafIssuer::SelfSigned => params.self_signed(key),
        };
        cert.map(CertificateDer::from).map_err(|source| CaError::Issue {
            what: what.to_owned(),
            source,
        })
    }
}

/// The key type of a leaf certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LeafKey {
    /// ECDSA on P-256 (generated by ring, signs with ring).
    EcdsaP256,
    /// RSA 2048 bits (generated by the `rsa` crate, signs with ring).
    Rsa2048,
    /// RSA 1024 bits: the `weak-key` fault (generated and signing with the `rsa` crate, as ring refuses).
    Rsa1024,
}

/// Who signs a leaf certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LeafIssuer {
    /// The lab issuing CA (the normal case).
    Intermediate,
    /// The leaf's own key (the `self-signed` fault): no AIA, no intermediate.
    SelfSigned,
}

/// What to put into a leaf certificate; see [`LabCa::issue`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeafSpec {
    /// Subject common name.
    pub common_name: String,
    /// subjectAltName entries (DNS names; IP address literals become IP address entries). May be empty.
    pub dns_names: Vec<String>,
    /// Start of validity.
    pub not_before: OffsetDateTime,
    /// End of validity.
    pub not_after: OffsetDateTime,
    /// Key type.
    pub key: LeafKey,
    /// Issuer.
    pub issuer: LeafIssuer,
}

impl LeafSpec {
    /// A normal server certificate: valid from one day before `now` to 365 days after it,
    /// [`DEFAULT_LEAF_KEY`], issued by the intermediate.
    pub fn server(
        common_name: impl Into<String>,
        dns_names: impl IntoIterator<Item = impl Into<String>>,
        now: OffsetDateTime,
    ) -> LeafSpec {
        LeafSpec {
            common_name: common_name.into(),
            dns_names: dns_names.into_iter().map(Into::into).collect(),
            not_before: now - Duration::days(1),
            not_after: now + Duration::days(365),
            key: DEFAULT_LEAF_KEY,
            issuer: LeafIssuer::Intermediate,
        }
    }

    /// The same spec with another key type.
    pub fn with_key(mut self, key: LeafKey) -> LeafSpec {
        self.key = key;
        self
    }

    /// The same spec with another issuer.
    pub fn with_issuer(mut self, issuer: LeafIssuer) -> LeafSpec {
        self.issuer = issuer;
        self
    }

    /// The same spec with another validity period.
    pub fn with_validity(mut self, not_before: OffsetDateTime, not_after: OffsetDateTime) -> LeafSpec {
        self.not_before = not_before;
        self.not_after = not_after;
        self
    }
}

/// A leaf certificate issued by [`LabCa::issue`], with its private key.
pub struct IssuedCert {
    /// The leaf certificate.
    pub leaf: CertificateDer<'static>,
    /// The intermediate that issued it (`None` for a self-signed leaf).
    pub intermediate: Option<CertificateDer<'static>>,
    /// The key type.
    pub key: LeafKey,
    key_pkcs8: PrivatePkcs8KeyDer<'static>,
    tls_key: TlsKey,
}

impl fmt::Debug for IssuedCert {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IssuedCert")
            .field("leaf_len", &self.leaf.len())
            .field("intermediate", &self.intermediate.is_some())
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

impl IssuedCert {
    /// The chain a server presents: the leaf, then the intermediate if `send_intermediate` (and there is
    /// one). Never the root. `send_intermediate = false` is the "missing intermediate" fault.
    pub fn chain(&self, send_intermediate: bool) -> Vec<CertificateDer<'static>> {
        let mut chain = vec![self.leaf.clone()];
        if send_intermediate && let Some(intermediate) = &self.intermediate {
            chain.push(intermediate.clone());
        }
        chain
    }

    /// [`IssuedCert::chain`] as concatenated PEM blocks.
    pub fn chain_pem(&self, send_intermediate: bool) -> String {
        self.chain(send_intermediate)
            .iter()
            .map(|cert| pem_encode("CERTIFICATE", cert))
            .collect()
    }

    /// The leaf certificate alone, PEM-encoded.
    pub fn leaf_pem(&self) -> String {
        pem_encode("CERTIFICATE", &self.leaf)
    }

    /// The private key, PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`).
    pub fn key_pem(&self) -> String {
        pem_encode("PRIVATE KEY", self.key_pkcs8.secret_pkcs8_der())
    }

    /// The private key, PKCS#8 DER.
    pub fn key_der(&self) -> PrivateKeyDer<'static> {
        PrivateKeyDer::Pkcs8(self.key_pkcs8.clone_key())
    }

    /// The chain and key for rustls: give it to a `ServerConfig` (e.g. through
    /// [`rustls::sign::SingleCertAndKey`] and `with_cert_resolver`) or to a `ClientConfig` as the client
    /// certificate (`with_client_cert_resolver`).
    ///
    /// ECDSA and RSA-2048 keys sign with ring; RSA-1024 keys sign with the `rsa` crate (PKCS#1 v1.5 with
    /// SHA-256/384/512 where offered, which is TLS 1.2 only; RSA-PSS with SHA-256/384/512 otherwise).
    pub fn certified_key(&self, send_intermediate: bool) -> Result<Arc<CertifiedKey>, CaError> {
        let key: Arc<dyn rustls::sign::SigningKey> = match &self.tls_key {
            TlsKey::Ring => {
                rustls::crypto::ring::sign::any_supported_type(&self.key_der()).map_err(|source| {
                    CaError::Rustls {
                        what: format!("{:?} leaf key", self.key),
                        source,
                    }
                })?
            }
            TlsKey::Rsa(key) => Arc::clone(key) as Arc<dyn rustls::sign::SigningKey>,
        };
        let certified = CertifiedKey::new(self.chain(send_intermediate), key);
        certified.keys_match().map_err(|source| CaError::Rustls {
            what: "leaf certificate and key pair".to_owned(),
            source,
        })?;
        Ok(Arc::new(certified))
    }
}

/// How [`IssuedCert::certified_key`] signs.
enum TlsKey {
    /// Load the PKCS#8 key with ring.
    Ring,
    /// ring refuses the key: sign with the `rsa` crate.
    Rsa(Arc<RsaTlsKey>),
}

fn generate_ecdsa(what: &str) -> Result<KeyPair, CaError> {
    KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).map_err(|source| CaError::KeyGeneration {
        what: what.to_owned(),
        source,
    })
}

fn ca_name(common_name: &str) -> DistinguishedName {
    let mut name = DistinguishedName::new();
    name.push(DnType::OrganizationName, LAB_ORGANIZATION);
    name.push(DnType::CommonName, common_name);
    name
}

fn san(name: &str, what: &str) -> Result<SanType, CaError> {
    if let Ok(ip) = name.parse::<std::net::IpAddr>() {
        return Ok(SanType::IpAddress(ip));
    }
    rcgen::string::Ia5String::try_from(name)
        .map(SanType::DnsName)
        .map_err(|source| CaError::InvalidName {
            what: what.to_owned(),
            name: name.to_owned(),
            source,
        })
}

/// An AIA extension with a single caIssuers URI (RFC 5280 4.2.2.1).
fn aia_ca_issuers(url: &str) -> CustomExtension {
    let mut description = DER_OID_CA_ISSUERS.to_vec();
    description.extend(der_tlv(0x86, url.as_bytes())); // [6] IMPLICIT IA5String: uniformResourceIdentifier
    let content = der_tlv(0x30, &der_tlv(0x30, &description));
    CustomExtension::from_oid_content(&OID_AUTHORITY_INFO_ACCESS, content)
}

/// A DER tag-length-value with a single-byte tag.
fn der_tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = content.len();
    match u8::try_from(len) {
        Ok(short) if short < 0x80 => out.push(short),
        _ => {
            let bytes = len.to_be_bytes();
            let skip = bytes.iter().take_while(|b| **b == 0).count();
            let significant = &bytes[skip..];
            // At most size_of::<usize>() bytes, so this always fits the 7-bit count.
            out.push(0x80 | significant.len() as u8);
            out.extend_from_slice(significant);
        }
    }
    out.extend_from_slice(content);
    out
}

/// PEM-encodes `der` with the given label (64-character lines, LF line endings).
fn pem_encode(label: &str, der: &[u8]) -> String {
    pem::encode_config(
        &pem::Pem::new(label, der),
        pem::EncodeConfig::new().set_line_ending(pem::LineEnding::LF),
    )
}

#[cfg(test)]
mod tests;
