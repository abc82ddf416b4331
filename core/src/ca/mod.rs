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
use rsa::pkcs1::EncodeRsaPublicKey;
use rsa::pkcs8::{EncodePrivateKey, EncodePublicKey};
use rsa::rand_core::OsRng;
use rsa::traits::PublicKeyParts;
use rsa::{Pkcs1v15Sign, Pss, RsaPrivateKey};
use rustls::SignatureScheme;
use rustls::sign::CertifiedKey;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, SubjectPublicKeyInfoDer};
use sha2::{Digest, Sha256, Sha384, Sha512};
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

/// An RSA key generated with the `rsa` crate, usable as an rcgen subject / self-signing key.
struct RsaKey {
    private: Arc<RsaPrivateKey>,
    /// PKCS#1 RSAPublicKey DER (what rcgen puts into the subjectPublicKey BIT STRING).
    pkcs1_public: Vec<u8>,
}

impl RsaKey {
    fn generate(bits: usize, what: &str) -> Result<RsaKey, CaError> {
        let private = RsaPrivateKey::new(&mut OsRng, bits).map_err(|source| CaError::RsaKeyGeneration {
            what: what.to_owned(),
            source,
        })?;
        let pkcs1_public = private
            .to_public_key()
            .to_pkcs1_der()
            .map_err(|e| key_encoding(what, "PKCS#1 public", e))?
            .into_vec();
        Ok(RsaKey {
            private: Arc::new(private),
            pkcs1_public,
        })
    }

    fn pkcs8(&self, what: &str) -> Result<Vec<u8>, CaError> {
        let doc = self
            .private
            .to_pkcs8_der()
            .map_err(|e| key_encoding(what, "PKCS#8 private", e))?;
        Ok(doc.as_bytes().to_vec())
    }

    fn spki(&self, what: &str) -> Result<Vec<u8>, CaError> {
        let doc = self
            .private
            .to_public_key()
            .to_public_key_der()
            .map_err(|e| key_encoding(what, "SubjectPublicKeyInfo", e))?;
        Ok(doc.into_vec())
    }
}

impl rcgen::PublicKeyData for RsaKey {
    fn der_bytes(&self) -> &[u8] {
        &self.pkcs1_public
    }

    fn algorithm(&self) -> &'static rcgen::SignatureAlgorithm {
        &rcgen::PKCS_RSA_SHA256
    }
}

impl rcgen::SigningKey for RsaKey {
    fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, rcgen::Error> {
        self.private
            .sign_with_rng(&mut OsRng, Pkcs1v15Sign::new::<Sha256>(), &Sha256::digest(msg))
            .map_err(|_| rcgen::Error::RemoteKeyError)
    }
}

/// A rustls signing key backed by the `rsa` crate, for RSA keys ring refuses (< 2048 bits).
struct RsaTlsKey {
    key: Arc<RsaPrivateKey>,
    spki: Vec<u8>,
}

impl fmt::Debug for RsaTlsKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RsaTlsKey").finish_non_exhaustive()
    }
}

impl RsaTlsKey {
    /// Schemes in order of preference. PKCS#1 v1.5 first: a TLS 1.3 peer never sees it offered (rustls
    /// filters the offered list to TLS 1.3 schemes), so TLS 1.2 uses PKCS#1 and TLS 1.3 uses PSS.
    const SCHEMES: [SignatureScheme; 6] = [
        SignatureScheme::RSA_PKCS1_SHA256,
        SignatureScheme::RSA_PKCS1_SHA384,
        SignatureScheme::RSA_PKCS1_SHA512,
        SignatureScheme::RSA_PSS_SHA256,
        SignatureScheme::RSA_PSS_SHA384,
        SignatureScheme::RSA_PSS_SHA512,
    ];

    /// Whether the modulus is long enough for `scheme`: RSA-PSS with a salt as long as the hash (as TLS
    /// requires) needs `emLen >= 2 * hLen + 2`, which rules out PSS with SHA-512 for a 1024-bit key.
    fn fits(&self, scheme: SignatureScheme) -> bool {
        let hash_len = match scheme {
            SignatureScheme::RSA_PSS_SHA256 => 32,
            SignatureScheme::RSA_PSS_SHA384 => 48,
            SignatureScheme::RSA_PSS_SHA512 => 64,
            _ => return true,
        };
        let em_len = self.key.n().bits().saturating_sub(1).div_ceil(8);
        em_len >= 2 * hash_len + 2
    }
}

impl rustls::sign::SigningKey for RsaTlsKey {
    fn choose_scheme(&self, offered: &[SignatureScheme]) -> Option<Box<dyn rustls::sign::Signer>> {
        let scheme = Self::SCHEMES
            .into_iter()
            .find(|scheme| offered.contains(scheme) && self.fits(*scheme))?;
        Some(Box::new(RsaTlsSigner {
            key: Arc::clone(&self.key),
            scheme,
        }))
    }

    fn public_key(&self) -> Option<SubjectPublicKeyInfoDer<'_>> {
        Some(SubjectPublicKeyInfoDer::from(self.spki.as_slice()))
    }

    fn algorithm(&self) -> rustls::SignatureAlgorithm {
        rustls::SignatureAlgorithm::RSA
    }
}

/// One signature operation of [`RsaTlsKey`] with a chosen scheme.
struct RsaTlsSigner {
    key: Arc<RsaPrivateKey>,
    scheme: SignatureScheme,
}

impl fmt::Debug for RsaTlsSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RsaTlsSigner")
            .field("scheme", &self.scheme)
            .finish_non_exhaustive()
    }
}

impl rustls::sign::Signer for RsaTlsSigner {
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, rustls::Error> {
        let rng = &mut OsRng;
        let signature = match self.scheme {
            SignatureScheme::RSA_PKCS1_SHA256 => {
                self.key
                    .sign_with_rng(rng, Pkcs1v15Sign::new::<Sha256>(), &Sha256::digest(message))
            }
            SignatureScheme::RSA_PKCS1_SHA384 => {
                self.key
                    .sign_with_rng(rng, Pkcs1v15Sign::new::<Sha384>(), &Sha384::digest(message))
            }
            SignatureScheme::RSA_PKCS1_SHA512 => {
                self.key
                    .sign_with_rng(rng, Pkcs1v15Sign::new::<Sha512>(), &Sha512::digest(message))
            }
            SignatureScheme::RSA_PSS_SHA256 => {
                self.key
                    .sign_with_rng(rng, Pss::new::<Sha256>(), &Sha256::digest(message))
            }
            SignatureScheme::RSA_PSS_SHA384 => {
                self.key
                    .sign_with_rng(rng, Pss::new::<Sha384>(), &Sha384::digest(message))
            }
            SignatureScheme::RSA_PSS_SHA512 => {
                self.key
                    .sign_with_rng(rng, Pss::new::<Sha512>(), &Sha512::digest(message))
            }
            other => {
                return Err(rustls::Error::General(format!(
                    "RSA signer cannot sign with {other:?}"
                )));
            }
        };
        signature.map_err(|e| rustls::Error::General(format!("RSA signature failed: {e}")))
    }

    fn scheme(&self) -> SignatureScheme {
        self.scheme
    }
}

fn key_encoding(what: &str, encoding: &'static str, error: impl fmt::Display) -> CaError {
    CaError::KeyEncoding {
        what: what.to_owned(),
        encoding,
        detail: error.to_string(),
    }
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
mod tests {
    use std::process::Command;
    use std::sync::Mutex;
    use std::time::Instant;

    use rsa::RsaPublicKey;
    use rsa::pkcs8::DecodePublicKey;
    use rustls::client::WebPkiServerVerifier;
    use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
    use rustls::crypto::CryptoProvider;
    use rustls::server::WebPkiClientVerifier;
    use rustls::sign::SingleCertAndKey;
    use rustls::{
        CertificateError, ClientConfig, DigitallySignedStruct, ProtocolVersion, ServerConfig,
        SupportedProtocolVersion,
    };
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::{ServerName, UnixTime};
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
        let expired = server_spec(FIXED_NOW)
            .with_validity(FIXED_NOW - Duration::days(400), FIXED_NOW - Duration::days(35));
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

        let future = server_spec(FIXED_NOW)
            .with_validity(FIXED_NOW + Duration::days(10), FIXED_NOW + Duration::days(375));
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
            let (client, server) =
                handshake(server_config(&issued, version, None), Arc::new(client), NAME).await;
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
}
