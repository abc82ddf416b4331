//! What the certificate viewer shows, parsed from DER with x509-parser directly (the core's certificate
//! module judges; this only describes). Plain data, testable without a window.

use sha1::Sha1;
use sha2::{Digest as _, Sha256};
use time::OffsetDateTime;
use x509_parser::extensions::GeneralName;
use x509_parser::objects::{oid_registry, oid2sn};
use x509_parser::prelude::{FromDer as _, X509Certificate};
use x509_parser::public_key::PublicKey;

/// One certificate, ready to show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertView {
    /// The subject DN.
    pub subject: String,
    /// The issuer DN.
    pub issuer: String,
    /// DNS names (and other names) of the subject alternative name extension.
    pub sans: Vec<String>,
    /// Serial number, hex.
    pub serial: String,
    /// Start of validity.
    pub not_before: OffsetDateTime,
    /// End of validity.
    pub not_after: OffsetDateTime,
    /// The key: algorithm and size (`RSA 2048 bits`, `EC P-256`).
    pub key: String,
    /// The key size in bits.
    pub key_bits: usize,
    /// The signature algorithm (`ecdsa-with-SHA256`).
    pub signature: String,
    /// SHA-256 of the DER, hex with colons.
    pub sha256: String,
    /// SHA-1 of the DER (Exchange's thumbprint), hex without separators.
    pub sha1: String,
    /// Whether it is a CA certificate.
    pub is_ca: bool,
    /// Whether subject and issuer are the same.
    pub self_issued: bool,
    /// Extended key usages (`serverAuth`, `clientAuth`); empty when the extension is absent.
    pub eku: Vec<String>,
}

impl CertView {
    /// Parse one DER certificate.
    ///
    /// # Errors
    /// When the bytes are not an X.509 certificate.
    pub fn parse(der: &[u8]) -> Result<CertView, String> {
        let (_, cert) =
            X509Certificate::from_der(der).map_err(|e| format!("not an X.509 certificate: {e}"))?;
        let registry = oid_registry();
        let mut sans = Vec::new();
        if let Ok(Some(ext)) = cert.subject_alternative_name() {
            for name in &ext.value.general_names {
                sans.push(match name {
                    GeneralName::DNSName(n) => (*n).to_string(),
                    GeneralName::IPAddress(ip) => format!("IP {}", ip_text(ip)),
                    GeneralName::RFC822Name(n) => format!("email {n}"),
                    other => format!("{other:?}"),
                });
            }
        }
        let spki = cert.public_key();
        let (key, key_bits) = match spki.parsed() {
            Ok(PublicKey::RSA(rsa)) => (format!("RSA {} bits", rsa.key_size()), rsa.key_size()),
            Ok(PublicKey::EC(ec)) => {
                let bits = ec.key_size();
                let curve = match bits {
                    256 => "P-256".to_string(),
                    384 => "P-384".to_string(),
                    521 => "P-521".to_string(),
                    n => format!("{n} bits"),
                };
                (format!("EC {curve}"), bits)
            }
            Ok(other) => {
                let name = oid2sn(&spki.algorithm.algorithm, registry)
                    .unwrap_or("unknown")
                    .to_string();
                (format!("{name} {} bits", other.key_size()), other.key_size())
            }
            Err(_) => (
                oid2sn(&spki.algorithm.algorithm, registry)
                    .unwrap_or("unknown")
                    .to_string(),
                0,
            ),
        };
        let sig_oid = &cert.signature_algorithm.algorithm;
        let signature = oid2sn(sig_oid, registry).map_or_else(|_| sig_oid.to_id_string(), str::to_string);
        let eku = match cert.extended_key_usage() {
            Ok(Some(ext)) => {
                let e = ext.value;
                let mut v = Vec::new();
                for (on, name) in [
                    (e.server_auth, "serverAuth"),
                    (e.client_auth, "clientAuth"),
                    (e.email_protection, "emailProtection"),
                    (e.code_signing, "codeSigning"),
                    (e.any, "any"),
                ] {
                    if on {
                        v.push(name.to_string());
                    }
                }
                v.extend(e.other.iter().map(|o| o.to_id_string()));
                v
            }
            _ => Vec::new(),
        };
        let ts = |t: i64| OffsetDateTime::from_unix_timestamp(t).unwrap_or(OffsetDateTime::UNIX_EPOCH);
        let subject = cert.subject().to_string();
        let issuer = cert.issuer().to_string();
        Ok(CertView {
            self_issued: subject == issuer,
            subject,
            issuer,
            sans,
            serial: cert.raw_serial_as_string(),
            not_before: ts(cert.validity().not_before.timestamp()),
            not_after: ts(cert.validity().not_after.timestamp()),
            key,
            key_bits,
            signature,
            sha256: hex(&Sha256::digest(der), ":"),
            sha1: hex(&Sha1::digest(der), ""),
            is_ca: cert.is_ca(),
            eku,
        })
    }

    /// Whole days until it expires at `now` (negative once expired).
    pub fn days_left(&self, now: OffsetDateTime) -> i64 {
        (self.not_after - now).whole_days()
    }

    /// Validity in words at `now`: `valid, 364 days left`, `expired 5 days ago`, `not valid for 3 more days`.
    pub fn validity_words(&self, now: OffsetDateTime) -> String {
        if now < self.not_before {
            let days = (self.not_before - now).whole_days();
            return format!("not valid yet: starts in {days} day{}", plural(days));
        }
        let days = self.days_left(now);
        if now > self.not_after {
            let ago = -days;
            format!("expired {ago} day{} ago", plural(ago))
        } else {
            format!("valid, {days} day{} left", plural(days))
        }
    }
}

/// Decode and parse every certificate of a chain given as base64 DER (as in `TlsEvidence`).
pub fn parse_chain(chain_b64: &[String]) -> Vec<Result<CertView, String>> {
    chain_b64
        .iter()
        .map(|b64| {
            mailpath_core::encoding::base64_decode(b64)
                .ok_or_else(|| "not valid base64".to_string())
                .and_then(|der| CertView::parse(&der))
        })
        .collect()
}

fn plural(n: i64) -> &'static str {
    if n == 1 { "" } else { "s" }
}

fn hex(bytes: &[u8], sep: &str) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(sep)
}

fn ip_text(bytes: &[u8]) -> String {
    match bytes.len() {
        4 => std::net::Ipv4Addr::new(bytes[0], bytes[1], bytes[2], bytes[3]).to_string(),
        16 => {
            let mut a = [0u8; 16];
            a.copy_from_slice(bytes);
            std::net::Ipv6Addr::from(a).to_string()
        }
        _ => hex(bytes, ":"),
    }
}
