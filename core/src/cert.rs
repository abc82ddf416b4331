//! Certificates: what a DER certificate says (x509-parser), which trust anchors apply, whether a
//! chain verifies at a given time (rustls' webpki), and RFC 6125 name matching. No I/O except the
//! explicit file loaders.
//!
//! [`CertInfo`] is the one reading of a certificate: the checks judge it, the reports and the GUI's
//! certificate viewer show it (with [`KeyInfo`]'s and [`Validity`]'s words), redaction takes its
//! distinguished-name attributes.

use std::path::{Path, PathBuf};

use ::time::OffsetDateTime;
use data_encoding::HEXUPPER;
use rustls_pki_types::{CertificateDer, UnixTime};
use serde::{Deserialize, Serialize};
use sha2::Digest as _;
use x509_parser::prelude::*;

/// Why a certificate or a certificate file could not be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CertError {
    /// The file could not be read.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// The file holds no certificate.
    #[error("{}: no certificate found ({what})", path.display())]
    NoCertificate {
        /// The file.
        path: PathBuf,
        /// What was found instead.
        what: String,
    },
    /// A certificate could not be parsed.
    #[error("{context}: not a valid X.509 certificate: {reason}")]
    Parse {
        /// Which certificate (file and position).
        context: String,
        /// The parser's words.
        reason: String,
    },
    /// The system trust store could not be loaded.
    #[error("system trust store: {0}")]
    SystemStore(String),
    /// A PKCS#12 (.pfx) file could not be opened.
    #[error("{}: {reason}", path.display())]
    Pkcs12 {
        /// The file.
        path: PathBuf,
        /// Why (a wrong or missing password, an unsupported encryption).
        reason: String,
    },
}

/// The hash of a signature algorithm, to judge its strength.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SignatureHash {
    /// MD2 (broken).
    Md2,
    /// MD5 (broken).
    Md5,
    /// SHA-1 (deprecated; refused by TLS 1.2 stacks for chains).
    Sha1,
    /// SHA-256.
    Sha256,
    /// SHA-384.
    Sha384,
    /// SHA-512.
    Sha512,
    /// Ed25519 / Ed448 or another intrinsic hash.
    Intrinsic,
    /// Something else.
    Other,
}

/// The subject public key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyInfo {
    /// `RSA`, `ECDSA`, `Ed25519`, `DSA`, `GOST`, or the algorithm's dotted OID.
    pub algorithm: String,
    /// Key size in bits (RSA modulus, EC field size); 0 when unknown.
    pub bits: u32,
    /// The curve, for EC keys.
    pub curve: Option<String>,
}

/// `EC P-256`, `RSA 2048 bits`, `Ed25519`.
impl std::fmt::Display for KeyInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.curve {
            Some(curve) => write!(f, "EC {curve}"),
            None if self.bits > 0 => write!(f, "{} {} bits", self.algorithm, self.bits),
            None => f.write_str(&self.algorithm),
        }
    }
}

/// One attribute of a distinguished name (`CN=mail.contoso.com`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NameAttribute {
    /// The short name (`CN`, `O`, `OU`, `C`, `ST`, `L`, `emailAddress`, `DC`, ...), or the dotted OID.
    pub key: String,
    /// The value as text (`#` and hex when it is not a string).
    pub value: String,
}

/// Where a certificate stands in its validity period at a given time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Validity {
    /// Before its start: valid in `days` whole days.
    NotYetValid {
        /// Whole days until it starts.
        days: i64,
    },
    /// Within its period, `days_left` whole days before it ends.
    Valid {
        /// Whole days until it expires.
        days_left: i64,
    },
    /// After its end, by `days` whole days.
    Expired {
        /// Whole days since it expired.
        days: i64,
    },
}

impl Validity {
    /// Whether the certificate is valid now but expires within `days` (the checks warn at 30).
    pub fn expires_within(self, days: i64) -> bool {
        matches!(self, Validity::Valid { days_left } if days_left < days)
    }

    /// Whether it is outside its validity period.
    pub fn is_invalid(self) -> bool {
        !matches!(self, Validity::Valid { .. })
    }
}

/// `valid, 364 days left`, `expired 5 days ago`, `not valid yet: starts in 3 days`.
impl std::fmt::Display for Validity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = |n: i64| if n == 1 { "" } else { "s" };
        match *self {
            Validity::NotYetValid { days } => write!(f, "not valid yet: starts in {days} day{}", s(days)),
            Validity::Valid { days_left } => write!(f, "valid, {days_left} day{} left", s(days_left)),
            Validity::Expired { days } => write!(f, "expired {days} day{} ago", s(days)),
        }
    }
}

/// What a certificate says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertInfo {
    /// Subject, as `CN=..., O=...` (RFC 4514 order as printed by x509-parser).
    pub subject: String,
    /// The subject's attributes, in order.
    #[serde(default)]
    pub subject_attributes: Vec<NameAttribute>,
    /// Issuer.
    pub issuer: String,
    /// The issuer's attributes, in order.
    #[serde(default)]
    pub issuer_attributes: Vec<NameAttribute>,
    /// The subject's common name.
    pub common_name: Option<String>,
    /// DNS names in the subjectAltName extension.
    pub dns_names: Vec<String>,
    /// IP addresses in the subjectAltName extension.
    pub ip_addresses: Vec<String>,
    /// The other subjectAltName entries: `email:...`, `URI:...`, `dirName:...`.
    #[serde(default)]
    pub other_names: Vec<String>,
    /// Whether the certificate has a subjectAltName extension at all.
    pub has_san: bool,
    /// Serial number, hex.
    pub serial: String,
    /// Start of validity.
    #[serde(with = "::time::serde::rfc3339")]
    pub not_before: OffsetDateTime,
    /// End of validity.
    #[serde(with = "::time::serde::rfc3339")]
    pub not_after: OffsetDateTime,
    /// The public key.
    pub key: KeyInfo,
    /// The signature algorithm's name (`sha256WithRSAEncryption`, `ecdsa-with-SHA256`).
    pub signature_algorithm: String,
    /// The signature's hash.
    pub signature_hash: SignatureHash,
    /// Whether basicConstraints says CA.
    pub is_ca: bool,
    /// Whether subject equals issuer.
    pub self_issued: bool,
    /// Extended key usages (`serverAuth`, `clientAuth`, ...); empty when the extension is absent.
    pub eku: Vec<String>,
    /// Whether the EKU extension is present.
    pub has_eku: bool,
    /// caIssuers URLs from the authorityInfoAccess extension.
    pub aia_ca_issuers: Vec<String>,
    /// SHA-256 fingerprint, upper-case hex.
    pub sha256: String,
    /// SHA-1 fingerprint (the Windows thumbprint), upper-case hex.
    pub sha1_thumbprint: String,
}

impl CertInfo {
    /// The subject's `CN=...` part (the whole subject when it has no CN): how a chain names its members.
    pub fn short_subject(&self) -> &str {
        self.subject
            .split(", ")
            .find(|p| p.starts_with("CN="))
            .unwrap_or(&self.subject)
    }

    /// Every subjectAltName: the DNS names as they are, then `IP:...`, then the other kinds.
    pub fn alt_names(&self) -> Vec<String> {
        self.dns_names
            .iter()
            .cloned()
            .chain(self.ip_addresses.iter().map(|ip| format!("IP:{ip}")))
            .chain(self.other_names.iter().cloned())
            .collect()
    }

    /// The SHA-256 fingerprint with colons (`3E:75:BF:...`), as `openssl x509 -fingerprint` prints it (a
    /// redacted fingerprint, which is no hex, as it is).
    pub fn sha256_colons(&self) -> String {
        crate::encoding::colons(&self.sha256)
    }

    /// Where the certificate stands at `at`.
    pub fn validity(&self, at: OffsetDateTime) -> Validity {
        if at < self.not_before {
            Validity::NotYetValid {
                days: (self.not_before - at).whole_days(),
            }
        } else if at > self.not_after {
            Validity::Expired {
                days: (at - self.not_after).whole_days(),
            }
        } else {
            Validity::Valid {
                days_left: days_left(self, at),
            }
        }
    }
}

/// One certificate of a captured chain, read: what it says, or why it cannot be.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "parsed", rename_all = "kebab-case")]
pub enum CapturedCert {
    /// It parsed.
    Parsed(Box<CertInfo>),
    /// It did not: why (not a certificate, or redacted).
    Unparsed {
        /// Why.
        reason: String,
    },
}

impl CapturedCert {
    /// Read one captured certificate (DER, or the marker of a redacted one).
    pub fn read(der: &[u8]) -> CapturedCert {
        if let Some(label) = crate::encoding::redacted_label(der) {
            return CapturedCert::Unparsed {
                reason: format!("redacted ({label})"),
            };
        }
        match parse_certificate(der) {
            Ok(info) => CapturedCert::Parsed(Box::new(info)),
            Err(_) => CapturedCert::Unparsed {
                reason: format!("{} bytes that are not an X.509 certificate", der.len()),
            },
        }
    }

    /// What it says, when it parsed.
    pub fn info(&self) -> Option<&CertInfo> {
        match self {
            CapturedCert::Parsed(info) => Some(info),
            CapturedCert::Unparsed { .. } => None,
        }
    }
}

/// Parse a DER certificate. Never panics on garbage.
///
/// # Errors
/// When the bytes are not an X.509 certificate.
pub fn parse_certificate(der: &[u8]) -> Result<CertInfo, CertError> {
    let (_, cert) = X509Certificate::from_der(der).map_err(|e| CertError::Parse {
        context: "certificate".into(),
        reason: e.to_string(),
    })?;
    let subject = cert.subject().to_string();
    let issuer = cert.issuer().to_string();
    let common_name = cert
        .subject()
        .iter_common_name()
        .next()
        .and_then(|cn| cn.as_str().ok())
        .map(str::to_owned);
    let mut dns_names = Vec::new();
    let mut ip_addresses = Vec::new();
    let mut other_names = Vec::new();
    let mut has_san = false;
    if let Ok(Some(san)) = cert.subject_alternative_name() {
        has_san = true;
        for name in &san.value.general_names {
            match name {
                GeneralName::DNSName(d) => dns_names.push(d.to_string()),
                GeneralName::IPAddress(ip) => ip_addresses.push(format_ip(ip)),
                GeneralName::RFC822Name(e) => other_names.push(format!("email:{e}")),
                GeneralName::URI(u) => other_names.push(format!("URI:{u}")),
                GeneralName::DirectoryName(d) => other_names.push(format!("dirName:{d}")),
                GeneralName::OtherName(oid, _) => other_names.push(format!("otherName:{oid}")),
                GeneralName::RegisteredID(oid) => other_names.push(format!("registeredID:{oid}")),
                GeneralName::X400Address(_) => other_names.push("x400Address".into()),
                GeneralName::EDIPartyName(_) => other_names.push("ediPartyName".into()),
                GeneralName::Invalid(..) => other_names.push("an unreadable name".into()),
            }
        }
    }
    let (eku, has_eku) = match cert.extended_key_usage() {
        Ok(Some(ext)) => (eku_names(ext.value), true),
        _ => (Vec::new(), false),
    };
    let mut aia_ca_issuers = Vec::new();
    for ext in cert.extensions() {
        if let ParsedExtension::AuthorityInfoAccess(aia) = ext.parsed_extension() {
            for desc in &aia.accessdescs {
                if desc.access_method == oid_registry::OID_PKIX_ACCESS_DESCRIPTOR_CA_ISSUERS
                    && let GeneralName::URI(uri) = &desc.access_location
                {
                    aia_ca_issuers.push((*uri).to_string());
                }
            }
        }
    }
    let is_ca = cert
        .basic_constraints()
        .ok()
        .flatten()
        .is_some_and(|bc| bc.value.ca);
    let (signature_algorithm, signature_hash) =
        signature_name(&cert.signature_algorithm.algorithm.to_id_string());
    Ok(CertInfo {
        self_issued: cert.subject().as_raw() == cert.issuer().as_raw(),
        subject,
        subject_attributes: name_attributes(cert.subject()),
        issuer,
        issuer_attributes: name_attributes(cert.issuer()),
        common_name,
        dns_names,
        ip_addresses,
        other_names,
        has_san,
        serial: cert.raw_serial_as_string().replace(':', "").to_ascii_uppercase(),
        not_before: cert.validity().not_before.to_datetime(),
        not_after: cert.validity().not_after.to_datetime(),
        key: key_info(cert.public_key()),
        signature_algorithm,
        signature_hash,
        is_ca,
        eku,
        has_eku,
        aia_ca_issuers,
        sha256: HEXUPPER.encode(&sha2::Sha256::digest(der)),
        sha1_thumbprint: HEXUPPER.encode(&sha1::Sha1::digest(der)),
    })
}

fn name_attributes(name: &X509Name<'_>) -> Vec<NameAttribute> {
    name.iter_attributes()
        .map(|a| NameAttribute {
            key: attribute_key(&a.attr_type().to_id_string()),
            value: match a.as_str() {
                Ok(s) => s.to_string(),
                Err(_) => format!("#{}", data_encoding::HEXLOWER.encode(a.attr_value().data)),
            },
        })
        .collect()
}

fn attribute_key(oid: &str) -> String {
    match oid {
        "2.5.4.3" => "CN",
        "2.5.4.10" => "O",
        "2.5.4.11" => "OU",
        "2.5.4.6" => "C",
        "2.5.4.8" => "ST",
        "2.5.4.7" => "L",
        "2.5.4.9" => "street",
        "2.5.4.5" => "serialNumber",
        "1.2.840.113549.1.9.1" => "emailAddress",
        "0.9.2342.19200300.100.1.25" => "DC",
        other => other,
    }
    .to_string()
}

fn format_ip(bytes: &[u8]) -> String {
    match bytes.len() {
        4 => std::net::Ipv4Addr::new(bytes[0], bytes[1], bytes[2], bytes[3]).to_string(),
        16 => {
            let mut a = [0u8; 16];
            a.copy_from_slice(bytes);
            std::net::Ipv6Addr::from(a).to_string()
        }
        _ => HEXUPPER.encode(bytes),
    }
}

fn key_info(spki: &SubjectPublicKeyInfo<'_>) -> KeyInfo {
    match spki.parsed() {
        Ok(x509_parser::public_key::PublicKey::RSA(rsa)) => KeyInfo {
            algorithm: "RSA".into(),
            bits: u32::try_from(rsa.key_size()).unwrap_or(0),
            curve: None,
        },
        Ok(x509_parser::public_key::PublicKey::EC(ec)) => {
            let curve = spki
                .algorithm
                .parameters
                .as_ref()
                .and_then(|p| p.as_oid().ok())
                .map(|oid| curve_name(&oid.to_id_string()));
            KeyInfo {
                algorithm: "ECDSA".into(),
                bits: u32::try_from(ec.key_size()).unwrap_or(0),
                curve,
            }
        }
        Ok(x509_parser::public_key::PublicKey::DSA(_)) => KeyInfo {
            algorithm: "DSA".into(),
            bits: 0,
            curve: None,
        },
        Ok(
            x509_parser::public_key::PublicKey::GostR3410(_)
            | x509_parser::public_key::PublicKey::GostR3410_2012(_),
        ) => KeyInfo {
            algorithm: "GOST".into(),
            bits: 0,
            curve: None,
        },
        Ok(_) | Err(_) => {
            let oid = spki.algorithm.algorithm.to_id_string();
            let (name, bits) = match oid.as_str() {
                "1.3.101.112" => ("Ed25519".to_string(), 256),
                "1.3.101.113" => ("Ed448".to_string(), 456),
                _ => (oid, 0),
            };
            KeyInfo {
                algorithm: name,
                bits,
                curve: None,
            }
        }
    }
}

fn curve_name(oid: &str) -> String {
    match oid {
        "1.2.840.10045.3.1.7" => "P-256".into(),
        "1.3.132.0.34" => "P-384".into(),
        "1.3.132.0.35" => "P-521".into(),
        other => other.into(),
    }
}

/// The names of an extended key usage extension's purposes (`serverAuth`, `clientAuth`, ...; unnamed ones as
/// dotted OIDs).
pub fn eku_names(e: &x509_parser::extensions::ExtendedKeyUsage<'_>) -> Vec<String> {
    let named = [
        (e.any, "anyExtendedKeyUsage"),
        (e.server_auth, "serverAuth"),
        (e.client_auth, "clientAuth"),
        (e.code_signing, "codeSigning"),
        (e.email_protection, "emailProtection"),
        (e.time_stamping, "timeStamping"),
        (e.ocsp_signing, "OCSPSigning"),
    ];
    let mut out: Vec<String> = named
        .iter()
        .filter(|(on, _)| *on)
        .map(|(_, n)| (*n).to_string())
        .collect();
    out.extend(e.other.iter().map(|o| o.to_id_string()));
    out
}

/// The name of a signature algorithm (dotted OID) and the hash it signs with.
pub fn signature_name(oid: &str) -> (String, SignatureHash) {
    let (name, hash) = match oid {
        "1.2.840.113549.1.1.2" => ("md2WithRSAEncryption", SignatureHash::Md2),
        "1.2.840.113549.1.1.4" => ("md5WithRSAEncryption", SignatureHash::Md5),
        "1.2.840.113549.1.1.5" => ("sha1WithRSAEncryption", SignatureHash::Sha1),
        "1.2.840.113549.1.1.11" => ("sha256WithRSAEncryption", SignatureHash::Sha256),
        "1.2.840.113549.1.1.12" => ("sha384WithRSAEncryption", SignatureHash::Sha384),
        "1.2.840.113549.1.1.13" => ("sha512WithRSAEncryption", SignatureHash::Sha512),
        "1.2.840.113549.1.1.10" => ("RSASSA-PSS", SignatureHash::Other),
        "1.2.840.10045.4.1" => ("ecdsa-with-SHA1", SignatureHash::Sha1),
        "1.2.840.10045.4.3.2" => ("ecdsa-with-SHA256", SignatureHash::Sha256),
        "1.2.840.10045.4.3.3" => ("ecdsa-with-SHA384", SignatureHash::Sha384),
        "1.2.840.10045.4.3.4" => ("ecdsa-with-SHA512", SignatureHash::Sha512),
        "1.3.101.112" => ("Ed25519", SignatureHash::Intrinsic),
        "1.3.101.113" => ("Ed448", SignatureHash::Intrinsic),
        other => return (other.to_string(), SignatureHash::Other),
    };
    (name.to_string(), hash)
}

/// Whole days from `now` to the end of validity (negative once expired).
pub fn days_left(info: &CertInfo, now: OffsetDateTime) -> i64 {
    (info.not_after - now).whole_days()
}

/// RFC 6125 matching of a presented name (`pattern`, possibly `*.contoso.com`) against a reference
/// name: case-insensitive, trailing dots ignored, a wildcard only as the whole left-most label and
/// matching exactly one label.
pub fn name_matches(pattern: &str, name: &str) -> bool {
    let p = pattern.trim_end_matches('.').to_ascii_lowercase();
    let n = name.trim_end_matches('.').to_ascii_lowercase();
    if p.is_empty() || n.is_empty() {
        return false;
    }
    if let Some(rest) = p.strip_prefix("*.") {
        if rest.contains('*') || !rest.contains('.') {
            return false;
        }
        return match n.split_once('.') {
            Some((first, tail)) => !first.is_empty() && tail == rest,
            None => false,
        };
    }
    !p.contains('*') && p == n
}

/// The names a certificate is valid for: the SAN DNS names, or the CN only when there is no SAN.
pub fn cert_names(info: &CertInfo) -> Vec<String> {
    if info.has_san {
        info.dns_names.clone()
    } else {
        info.common_name.iter().cloned().collect()
    }
}

/// Whether the certificate is valid for `name` (a wildcard reference like `*.contoso.com` matches
/// a certificate carrying that same wildcard).
pub fn matches_any(info: &CertInfo, name: &str) -> bool {
    cert_names(info)
        .iter()
        .any(|p| name_matches(p, name) || p.eq_ignore_ascii_case(name))
}

/// Trust anchors: the system store and/or CA files.
#[derive(Debug, Clone)]
pub struct Trust {
    roots: rustls::RootCertStore,
    sources: Vec<String>,
    /// The anchors as certificates (webpki keeps only name, key and constraints): what
    /// `chain_rules` judges (validity, extensions) of the root a path ends at.
    certs: Vec<CertificateDer<'static>>,
}

impl Default for Trust {
    fn default() -> Self {
        Trust::empty()
    }
}

impl Trust {
    /// No anchors at all.
    pub fn empty() -> Trust {
        Trust {
            roots: rustls::RootCertStore::empty(),
            sources: Vec::new(),
            certs: Vec::new(),
        }
    }

    /// The operating system's trust store (Windows, macOS, Linux).
    ///
    /// # Errors
    /// When no root at all could be loaded.
    pub fn system() -> Result<Trust, CertError> {
        let loaded = rustls_native_certs::load_native_certs();
        let mut trust = Trust::empty();
        trust.certs.clone_from(&loaded.certs);
        let (added, _ignored) = trust.roots.add_parsable_certificates(loaded.certs);
        if added == 0 && !loaded.errors.is_empty() {
            let why: Vec<String> = loaded.errors.iter().map(ToString::to_string).collect();
            return Err(CertError::SystemStore(why.join("; ")));
        }
        trust.sources.push(format!("system store ({added} roots)"));
        Ok(trust)
    }

    /// Add every certificate of a PEM (or DER) file as an anchor.
    ///
    /// # Errors
    /// When the file cannot be read or holds no usable certificate.
    pub fn add_pem_file(&mut self, path: &Path) -> Result<(), CertError> {
        let certs = load_chain_file(path)?;
        self.certs.extend(certs.iter().cloned());
        let (added, _) = self.roots.add_parsable_certificates(certs);
        if added == 0 {
            return Err(CertError::NoCertificate {
                path: path.to_path_buf(),
                what: "no usable CA certificate".into(),
            });
        }
        self.sources.push(path.display().to_string());
        Ok(())
    }

    /// The same anchors, described as coming from `source` (for anchors added with [`Trust::add_der`]).
    #[must_use]
    pub fn named(mut self, source: impl Into<String>) -> Trust {
        self.sources.push(source.into());
        self
    }

    /// Add one DER certificate as an anchor.
    pub fn add_der(&mut self, der: CertificateDer<'static>) -> bool {
        self.certs.push(der.clone());
        self.roots.add(der).is_ok()
    }

    /// The anchors as certificates.
    pub fn anchor_certs(&self) -> &[CertificateDer<'static>] {
        &self.certs
    }

    /// Whether there is no anchor.
    pub fn is_empty(&self) -> bool {
        self.roots.is_empty()
    }

    /// Where the anchors come from.
    pub fn description(&self) -> String {
        if self.sources.is_empty() {
            "no trust anchors".into()
        } else {
            self.sources.join(", ")
        }
    }

    /// The anchors.
    pub fn roots(&self) -> &rustls::RootCertStore {
        &self.roots
    }
}

/// Whether `bytes` hold a PEM BEGIN line.
fn has_pem_begin(bytes: &[u8]) -> bool {
    bytes.windows(10).any(|w| w == b"-----BEGIN")
}

/// Load certificates from a PEM, DER or password-less PKCS#12 file (private keys and other blocks are
/// skipped).
///
/// # Errors
/// Unreadable file, no certificate, or a PKCS#12 file that needs a password.
pub fn load_chain_file(path: &Path) -> Result<Vec<CertificateDer<'static>>, CertError> {
    load_chain_file_with_password(path, None)
}

/// Load certificates from a PEM, DER or PKCS#12 (.pfx/.p12, as `Export-ExchangeCertificate` and
/// `Export-PfxCertificate` write) file. A PKCS#12 file is opened with `password` (none: the empty
/// password); its private key is read by the decoder and dropped, never kept or shown.
///
/// # Errors
/// Unreadable file, no certificate, a wrong or missing password, an unsupported PKCS#12 encryption.
pub fn load_chain_file_with_password(
    path: &Path,
    password: Option<&str>,
) -> Result<Vec<CertificateDer<'static>>, CertError> {
    let bytes = crate::bounded::read(path, crate::bounded::Limit::CERT_FILE).map_err(|e| CertError::Io {
        path: path.to_path_buf(),
        source: e.into(),
    })?;
    load_chain_bytes(&bytes, path, password)
}

/// The certificates of a PKCS#12 file: the key's chain first (leaf, then its issuers), then any other
/// certificate the file holds.
fn load_pkcs12(
    bytes: &[u8],
    path: &Path,
    password: Option<&str>,
) -> Result<Vec<CertificateDer<'static>>, CertError> {
    use p12_keystore::{KeyStore, KeyStoreEntry, Pkcs12ImportPolicy};
    let error = |reason: String| CertError::Pkcs12 {
        path: path.to_path_buf(),
        reason,
    };
    let store = KeyStore::from_pkcs12(bytes, password.unwrap_or(""), Pkcs12ImportPolicy::Relaxed).map_err(
        |e| match e {
            p12_keystore::error::Error::MacError(_) if password.is_none() => error(
                "a PKCS#12 file protected by a password: give it with --password-env VAR (the name of an \
                 environment variable holding it) or --password-file FILE"
                    .into(),
            ),
            p12_keystore::error::Error::MacError(_) => {
                error("the password does not open this PKCS#12 file (its integrity check fails)".into())
            }
            p12_keystore::error::Error::UnsupportedEncryptionScheme => error(
                "a PKCS#12 file with an encryption mailpath cannot read (supported: AES-256 as current \
                 Windows and OpenSSL write it, and the legacy 3DES/RC2/RC4); export it again, or as PEM"
                    .into(),
            ),
            other => error(format!("not a readable PKCS#12 file: {other}")),
        },
    )?;
    let mut certs: Vec<CertificateDer<'static>> = Vec::new();
    let mut push = |der: &[u8]| {
        if !certs.iter().any(|c| c.as_ref() == der) {
            certs.push(CertificateDer::from(der.to_vec()));
        }
    };
    if let Some((_, chain)) = store.private_key_chain() {
        for c in chain.certs() {
            push(c.as_der());
        }
    }
    for (_, entry) in store.entries() {
        match entry {
            KeyStoreEntry::PrivateKeyChain(chain) => chain.certs().iter().for_each(|c| push(c.as_der())),
            KeyStoreEntry::Certificate(c) => push(c.as_der()),
            KeyStoreEntry::Secret(_) => {}
        }
    }
    if certs.is_empty() {
        return Err(CertError::NoCertificate {
            path: path.to_path_buf(),
            what: "a PKCS#12 file without certificates".into(),
        });
    }
    for (i, c) in certs.iter().enumerate() {
        parse_certificate(c).map_err(|e| CertError::Parse {
            context: format!("{}: PKCS#12 certificate {}", path.display(), i + 1),
            reason: e.to_string(),
        })?;
    }
    Ok(certs)
}

/// The certificates of a file's contents (PEM, DER or PKCS#12, as [`load_chain_file_with_password`]);
/// `path` names it in errors.
///
/// # Errors
/// As [`load_chain_file_with_password`].
pub fn load_chain_bytes(
    bytes: &[u8],
    path: &Path,
    password: Option<&str>,
) -> Result<Vec<CertificateDer<'static>>, CertError> {
    if has_pem_begin(bytes) {
        let blocks = ::pem::parse_many(bytes).map_err(|e| CertError::Parse {
            context: format!("{}: PEM", path.display()),
            reason: match e {
                ::pem::PemError::InvalidData(_) => "not valid base64".into(),
                other => other.to_string(),
            },
        })?;
        // The parser stops quietly at a block without its END line: count the BEGIN lines to tell.
        let begins = bytes.windows(11).filter(|w| w == b"-----BEGIN ").count();
        if begins > blocks.len() {
            return Err(CertError::Parse {
                context: format!("{}: PEM block {}", path.display(), blocks.len() + 1),
                reason: "no END line".into(),
            });
        }
        let mut certs = Vec::new();
        let mut other = Vec::new();
        for block in blocks {
            let label = block.tag();
            if label == "CERTIFICATE" || label == "X509 CERTIFICATE" || label == "TRUSTED CERTIFICATE" {
                let der = block.into_contents();
                parse_certificate(&der).map_err(|e| CertError::Parse {
                    context: format!("{}: PEM certificate {}", path.display(), certs.len() + 1),
                    reason: match e {
                        CertError::Parse { reason, .. } => reason,
                        other => other.to_string(),
                    },
                })?;
                certs.push(CertificateDer::from(der));
            } else {
                other.push(label.to_string());
            }
        }
        if certs.is_empty() {
            let what = if other.is_empty() {
                "no CERTIFICATE block".into()
            } else {
                format!("only {}", other.join(", "))
            };
            return Err(CertError::NoCertificate {
                path: path.to_path_buf(),
                what,
            });
        }
        return Ok(certs);
    }
    if bytes.first() == Some(&0x30) {
        if parse_certificate(bytes).is_ok() {
            return Ok(vec![CertificateDer::from(bytes.to_vec())]);
        }
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .unwrap_or_default()
            .to_ascii_lowercase();
        // A PFX is a DER SEQUENCE too: whatever its name, try it as one before calling it garbage.
        match load_pkcs12(bytes, path, password) {
            Ok(certs) => return Ok(certs),
            Err(e)
                if ext == "pfx"
                    || ext == "p12"
                    || !matches!(&e, CertError::Pkcs12 { reason, .. } if reason.starts_with("not a readable")) =>
            {
                return Err(e);
            }
            Err(_) => {}
        }
        return Err(CertError::Parse {
            context: path.display().to_string(),
            reason: "DER that is not a certificate".into(),
        });
    }
    Err(CertError::NoCertificate {
        path: path.to_path_buf(),
        what: "neither PEM nor DER".into(),
    })
}

/// Why a chain does not verify.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ChainProblem {
    /// Expired at the time of judgement.
    Expired,
    /// Not valid yet.
    NotYetValid,
    /// No path to a trust anchor (often: the intermediate is missing, or an internal CA).
    UnknownIssuer,
    /// A self-signed certificate that is not a trust anchor.
    SelfSigned,
    /// A signature in the chain does not verify (or uses an algorithm refused).
    BadSignature,
    /// The leaf is not for server authentication.
    NotServerAuth,
    /// The leaf is not for client authentication (a client chain, [`Usage::Client`]).
    NotClientAuth,
    /// Anything else.
    Other,
}

/// The verdict on a chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainVerdict {
    /// Whether it verifies to a trust anchor.
    pub trusted: bool,
    /// Why not.
    pub problem: Option<ChainProblem>,
    /// The verifier's words.
    pub message: String,
}

/// What a chain is verified for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Usage {
    /// A TLS server's certificate (what probes see).
    #[default]
    Server,
    /// A TLS client's certificate (what a receiving connector, or the relay, sees).
    Client,
}

impl Usage {
    /// The side of the handshake in words: `server` or `client`.
    pub fn side(self) -> &'static str {
        match self {
            Usage::Server => "server",
            Usage::Client => "client",
        }
    }
}

/// Verify `chain` (leaf first, as sent) to the anchors of `trust` at `now`, without name checks.
pub fn verify_chain(chain: &[CertificateDer<'_>], trust: &Trust, now: OffsetDateTime) -> ChainVerdict {
    verify_chain_for(chain, trust, now, Usage::Server)
}

/// Verify `chain` (leaf first, as sent) for `usage` to the anchors of `trust` at `now`, without
/// name checks.
pub fn verify_chain_for(
    chain: &[CertificateDer<'_>],
    trust: &Trust,
    now: OffsetDateTime,
    usage: Usage,
) -> ChainVerdict {
    let Some(leaf) = chain.first() else {
        return ChainVerdict {
            trusted: false,
            problem: Some(ChainProblem::Other),
            message: "no certificate".into(),
        };
    };
    let secs = u64::try_from(now.unix_timestamp()).unwrap_or(0);
    let at = UnixTime::since_unix_epoch(std::time::Duration::from_secs(secs));
    let result = match usage {
        Usage::Server => {
            let parsed = match rustls::server::ParsedCertificate::try_from(leaf) {
                Ok(p) => p,
                Err(e) => {
                    return ChainVerdict {
                        trusted: false,
                        problem: Some(ChainProblem::Other),
                        message: e.to_string(),
                    };
                }
            };
            let algs = crate::tls::provider().signature_verification_algorithms.all;
            rustls::client::verify_server_cert_signed_by_trust_anchor(
                &parsed,
                trust.roots(),
                &chain[1..],
                at,
                algs,
            )
        }
        Usage::Client => {
            if trust.is_empty() {
                return ChainVerdict {
                    trusted: false,
                    problem: Some(ChainProblem::UnknownIssuer),
                    message: "no trust anchors to verify against".into(),
                };
            }
            match rustls::server::WebPkiClientVerifier::builder_with_provider(
                std::sync::Arc::new(trust.roots().clone()),
                crate::tls::provider(),
            )
            .build()
            {
                Ok(verifier) => verifier.verify_client_cert(leaf, &chain[1..], at).map(|_| ()),
                Err(e) => {
                    return ChainVerdict {
                        trusted: false,
                        problem: Some(ChainProblem::Other),
                        message: e.to_string(),
                    };
                }
            }
        }
    };
    match result {
        Ok(()) => ChainVerdict {
            trusted: true,
            problem: None,
            message: format!("verifies to {}", trust.description()),
        },
        Err(e) => {
            use rustls::CertificateError as C;
            let self_signed = chain.len() == 1 && parse_certificate(leaf).is_ok_and(|i| i.self_issued);
            let problem = match &e {
                rustls::Error::InvalidCertificate(C::Expired | C::ExpiredContext { .. }) => {
                    ChainProblem::Expired
                }
                rustls::Error::InvalidCertificate(C::NotValidYet | C::NotValidYetContext { .. }) => {
                    ChainProblem::NotYetValid
                }
                rustls::Error::InvalidCertificate(C::UnknownIssuer) if self_signed => {
                    ChainProblem::SelfSigned
                }
                rustls::Error::InvalidCertificate(C::UnknownIssuer) => ChainProblem::UnknownIssuer,
                rustls::Error::InvalidCertificate(
                    C::BadSignature | C::UnsupportedSignatureAlgorithmContext { .. },
                ) => ChainProblem::BadSignature,
                rustls::Error::InvalidCertificate(C::InvalidPurpose | C::InvalidPurposeContext { .. }) => {
                    match usage {
                        Usage::Server => ChainProblem::NotServerAuth,
                        Usage::Client => ChainProblem::NotClientAuth,
                    }
                }
                _ => ChainProblem::Other,
            };
            ChainVerdict {
                trusted: false,
                problem: Some(problem),
                message: verifier_words(&e),
            }
        }
    }
}

/// Whether a certificate name (`cert_name`, possibly a wildcard) matches the name an Exchange Online
/// connector expects (`expected`: TlsSenderCertificateName of an inbound connector, TlsDomain of an
/// outbound one), as Exchange Online compares them: case-insensitive, trailing dots ignored.
///
/// - An expected wildcard `*.contoso.com` means "the domain and all its subdomains"
///   (Set-InboundConnector, <https://learn.microsoft.com/powershell/module/exchange/set-inboundconnector>):
///   `contoso.com`, `mail.contoso.com` and `smtp.eu.contoso.com` match it, and so does a wildcard
///   certificate for the domain or one of its subdomains (`*.contoso.com`, `*.eu.contoso.com`);
///   `mail.contoso.com.evil.example` does not.
/// - An expected name `mail.contoso.com` is matched by the same name, or by a wildcard certificate
///   covering it (one left-most label, RFC 6125 6.4.3).
/// - Partial wildcards (`f*.contoso.com`) and wildcards directly under a top-level domain match nothing.
pub fn connector_name_matches(cert_name: &str, expected: &str) -> bool {
    let cert = cert_name.trim().trim_end_matches('.').to_ascii_lowercase();
    let want = expected.trim().trim_end_matches('.').to_ascii_lowercase();
    if cert.is_empty() || want.is_empty() {
        return false;
    }
    let cert_wildcard = wildcard_base(&cert);
    if cert.contains('*') && cert_wildcard.is_none() {
        return false;
    }
    if let Some(domain) = wildcard_base(&want) {
        // The domain and all its subdomains: every name the certificate covers must lie in it.
        let covered = cert_wildcard.unwrap_or(&cert);
        return within_domain(covered, domain);
    }
    if want.contains('*') {
        return false;
    }
    match cert_wildcard {
        Some(base) => one_label_under(&want, base),
        None => cert == want,
    }
}

/// The base of an acceptable wildcard `*.rest` (the whole left-most label, not directly under a
/// top-level domain).
fn wildcard_base(name: &str) -> Option<&str> {
    let rest = name.strip_prefix("*.")?;
    (rest.contains('.') && !rest.contains('*') && !rest.starts_with('.')).then_some(rest)
}

/// Whether `name` is `domain` or a subdomain of it (at a label boundary).
fn within_domain(name: &str, domain: &str) -> bool {
    name == domain
        || (name.len() > domain.len()
            && name.ends_with(domain)
            && name.as_bytes()[name.len() - domain.len() - 1] == b'.')
}

/// Whether `name` is exactly one label under `base`.
fn one_label_under(name: &str, base: &str) -> bool {
    within_domain(name, base)
        && name != base
        && !name[..name.len() - base.len() - 1].contains('.')
        && !name.starts_with('*')
}

/// Every name an inbound connector compares with its expected name: the SAN DNS names and the
/// subject CN.
pub fn connector_names(info: &CertInfo) -> Vec<String> {
    info.dns_names
        .iter()
        .chain(info.common_name.iter())
        .cloned()
        .collect()
}

/// Whether the certificate carries `expected` as a connector compares names
/// ([`connector_name_matches`] on [`connector_names`]).
pub fn connector_matches(info: &CertInfo, expected: &str) -> bool {
    connector_names(info)
        .iter()
        .any(|n| connector_name_matches(n, expected))
}

/// Words for why rustls/webpki refused a chain: never Unix seconds or debug output.
pub fn verifier_words(error: &rustls::Error) -> String {
    use rustls::CertificateError as C;
    let rustls::Error::InvalidCertificate(e) = error else {
        return error.to_string();
    };
    match e {
        C::Expired | C::ExpiredContext { .. } => "a certificate of the chain has expired".into(),
        C::NotValidYet | C::NotValidYetContext { .. } => "a certificate of the chain is not valid yet".into(),
        C::UnknownIssuer => "the issuing CA is neither sent nor trusted".into(),
        C::BadSignature => "a signature in the chain does not verify".into(),
        C::UnhandledCriticalExtension => {
            "a certificate has a critical extension the verifier does not know".into()
        }
        C::UnsupportedSignatureAlgorithmContext { .. }
        | C::UnsupportedSignatureAlgorithmForPublicKeyContext { .. } => {
            "a signature in the chain uses an algorithm that is refused".into()
        }
        C::NotValidForName | C::NotValidForNameContext { .. } => {
            "the certificate is not valid for the name".into()
        }
        C::InvalidPurpose | C::InvalidPurposeContext { .. } => {
            "the certificate is not valid for this purpose (extended key usage)".into()
        }
        C::Revoked => "the certificate is revoked".into(),
        C::BadEncoding => "a certificate of the chain is badly encoded".into(),
        C::Other(other) => {
            // webpki's error names, as words.
            let name = format!("{other:?}");
            let words = [
                ("CaUsedAsEndEntity", "the server certificate is a CA certificate"),
                (
                    "EndEntityUsedAsCa",
                    "a certificate that is not a CA issued a certificate of the chain",
                ),
                (
                    "UnsupportedCriticalExtension",
                    "a certificate has a critical extension the verifier does not know",
                ),
                (
                    "NameConstraintViolation",
                    "a name of the certificate is outside a CA's name constraints",
                ),
                (
                    "PathLenConstraintViolated",
                    "the chain has more intermediate CAs than a CA's pathLenConstraint allows",
                ),
                ("MaximumPathDepthExceeded", "the chain is too long"),
                (
                    "RequiredEkuNotFound",
                    "the certificate is not valid for this purpose (extended key usage)",
                ),
                (
                    "UnsupportedCertVersion",
                    "a certificate has an unsupported version",
                ),
                ("ExtensionValueInvalid", "a certificate has an invalid extension"),
                ("BadDer", "a certificate of the chain is badly encoded"),
            ];
            words.iter().find(|(k, _)| name.contains(k)).map_or_else(
                || "the chain does not verify".to_string(),
                |(_, w)| (*w).to_string(),
            )
        }
        _ => "the chain does not verify".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ca::{LabCa, LeafIssuer, LeafKey, LeafSpec};

    fn now() -> OffsetDateTime {
        ::time::macros::datetime!(2026-11-28 12:00 UTC)
    }

    #[test]
    fn wildcards_follow_rfc_6125() {
        let cases = [
            ("mail.contoso.com", "MAIL.contoso.com.", true),
            ("*.contoso.com", "mail.contoso.com", true),
            ("*.contoso.com", "contoso.com", false),
            ("*.contoso.com", "a.b.contoso.com", false),
            ("m*.contoso.com", "mail.contoso.com", false),
            ("*.com", "contoso.com", false),
            (
                "*.mail.protection.outlook.com",
                "contoso-com.mail.protection.outlook.com",
                true,
            ),
            ("", "x", false),
        ];
        for (p, n, want) in cases {
            assert_eq!(name_matches(p, n), want, "{p} vs {n}");
        }
    }

    #[test]
    fn parses_lab_certificates() {
        let ca = LabCa::generate(now()).unwrap();
        let leaf = ca
            .issue(&LeafSpec::server(
                "mail.contoso.com",
                ["mail.contoso.com", "edge01.contoso.com"],
                now(),
            ))
            .unwrap();
        let info = parse_certificate(&leaf.leaf).unwrap();
        assert_eq!(info.common_name.as_deref(), Some("mail.contoso.com"));
        assert_eq!(info.dns_names, ["mail.contoso.com", "edge01.contoso.com"]);
        assert!(info.eku.contains(&"serverAuth".to_string()) && info.eku.contains(&"clientAuth".to_string()));
        assert_eq!((info.key.algorithm.as_str(), info.key.bits), ("ECDSA", 256));
        assert_eq!(info.signature_hash, SignatureHash::Sha256);
        assert!(!info.aia_ca_issuers.is_empty());
        assert!(!info.self_issued && !info.is_ca);
        assert_eq!(info.sha1_thumbprint.len(), 40);
        let weak = ca
            .issue(&LeafSpec::server("w", ["w.contoso.com"], now()).with_key(LeafKey::Rsa1024))
            .unwrap();
        let w = parse_certificate(&weak.leaf).unwrap();
        assert_eq!((w.key.algorithm.as_str(), w.key.bits), ("RSA", 1024));
    }

    #[test]
    fn garbage_does_not_parse_or_panic() {
        for bytes in [
            &b""[..],
            b"\x30",
            b"\x30\x82\xff\xff",
            b"hello world",
            &[0u8; 100],
        ] {
            assert!(parse_certificate(bytes).is_err());
        }
    }

    #[test]
    fn chain_verdicts() {
        let ca = LabCa::generate(now()).unwrap();
        let mut trust = Trust::empty();
        assert!(trust.add_der(ca.root_der()));
        let good = ca
            .issue(&LeafSpec::server("mail.contoso.com", ["mail.contoso.com"], now()))
            .unwrap();
        assert!(verify_chain(&good.chain(true), &trust, now()).trusted);
        let v = verify_chain(&good.chain(false), &trust, now());
        assert_eq!(v.problem, Some(ChainProblem::UnknownIssuer), "{}", v.message);
        let later = now() + ::time::Duration::days(400);
        assert_eq!(
            verify_chain(&good.chain(true), &trust, later).problem,
            Some(ChainProblem::Expired)
        );
        let selfs = ca
            .issue(
                &LeafSpec::server("mail.contoso.com", ["mail.contoso.com"], now())
                    .with_issuer(LeafIssuer::SelfSigned),
            )
            .unwrap();
        assert_eq!(
            verify_chain(&selfs.chain(true), &trust, now()).problem,
            Some(ChainProblem::SelfSigned)
        );
        assert_eq!(
            verify_chain(&good.chain(true), &Trust::empty(), now()).problem,
            Some(ChainProblem::UnknownIssuer)
        );
    }

    #[test]
    fn pem_files_load_with_clear_errors() {
        let dir = tempfile::tempdir().unwrap();
        let ca = LabCa::generate(now()).unwrap();
        let leaf = ca
            .issue(&LeafSpec::server("mail.contoso.com", ["mail.contoso.com"], now()))
            .unwrap();
        let mixed = dir.path().join("mixed.pem");
        std::fs::write(&mixed, format!("{}{}", leaf.key_pem(), leaf.chain_pem(true))).unwrap();
        assert_eq!(load_chain_file(&mixed).unwrap().len(), 2);
        let keyonly = dir.path().join("key.pem");
        std::fs::write(&keyonly, leaf.key_pem()).unwrap();
        let e = load_chain_file(&keyonly).unwrap_err().to_string();
        assert!(e.contains("key.pem") && e.contains("only PRIVATE KEY"), "{e}");
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "").unwrap();
        assert!(
            load_chain_file(&empty)
                .unwrap_err()
                .to_string()
                .contains("neither PEM nor DER")
        );
        let der = dir.path().join("leaf.cer");
        std::fs::write(&der, leaf.leaf.as_ref()).unwrap();
        assert_eq!(load_chain_file(&der).unwrap().len(), 1);
        let missing = load_chain_file(&dir.path().join("nope.pem"))
            .unwrap_err()
            .to_string();
        assert!(missing.contains("nope.pem"), "{missing}");
        let broken = dir.path().join("broken.pem");
        std::fs::write(
            &broken,
            "-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n",
        )
        .unwrap();
        assert!(
            load_chain_file(&broken)
                .unwrap_err()
                .to_string()
                .contains("not valid base64")
        );
        // A block cut short: the certificates before it do not hide the damage.
        let cut = dir.path().join("cut.pem");
        let whole = leaf.chain_pem(true);
        std::fs::write(&cut, &whole[..whole.len() - 30]).unwrap();
        let e = load_chain_file(&cut).unwrap_err().to_string();
        assert!(
            e.contains("cut.pem") && e.contains("PEM block 2") && e.contains("no END line"),
            "{e}"
        );
    }
}
