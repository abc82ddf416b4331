//! Certificate details for reports, parsed from the DER the probes captured
//! (`evidence.smtp[].tls.chain`): subject, issuer, names, validity, key, fingerprint.

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use time::OffsetDateTime;
use x509_parser::extensions::{GeneralName, ParsedExtension};
use x509_parser::prelude::{X509Certificate, parse_x509_certificate};
use x509_parser::public_key::PublicKey;
use x509_parser::x509::X509Name;

use crate::evidence::Evidence;

/// One attribute of a distinguished name (`CN=mail.contoso.com`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NameAttribute {
    /// The short name (`CN`, `O`, `OU`, `C`, ...), or the dotted OID when it has none.
    pub key: String,
    /// The value as text.
    pub value: String,
}

/// What a report shows of one certificate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertDetails {
    /// Subject attributes, in order.
    pub subject: Vec<NameAttribute>,
    /// Issuer attributes, in order.
    pub issuer: Vec<NameAttribute>,
    /// Subject alternative names (`DNS:mail.contoso.com`, `IP:192.0.2.1`, `email:...`).
    pub sans: Vec<String>,
    /// Valid from.
    #[serde(with = "time::serde::rfc3339")]
    pub not_before: OffsetDateTime,
    /// Valid until.
    #[serde(with = "time::serde::rfc3339")]
    pub not_after: OffsetDateTime,
    /// The serial number, hex with colons.
    pub serial: String,
    /// SHA-256 of the DER, upper-case hex with colons (what `openssl x509 -fingerprint -sha256` prints).
    pub sha256: String,
    /// The public key (`RSA 2048`, `EC 256`).
    pub key: String,
    /// The signature algorithm (`sha256WithRSAEncryption`, `ecdsa-with-SHA256`).
    pub signature: String,
    /// Extended key usages (`serverAuth`, `clientAuth`, or OIDs).
    pub eku: Vec<String>,
    /// Whether it is a CA certificate (basic constraints).
    pub is_ca: bool,
    /// Whether subject and issuer are the same name.
    pub self_issued: bool,
}

impl CertDetails {
    /// The subject as one line (`CN=mail.contoso.com, O=Contoso`).
    pub fn subject_line(&self) -> String {
        dn_line(&self.subject)
    }

    /// The issuer as one line.
    pub fn issuer_line(&self) -> String {
        dn_line(&self.issuer)
    }

    /// Whole days from `at` until it expires (negative when it expired before `at`).
    pub fn days_left(&self, at: OffsetDateTime) -> i64 {
        (self.not_after - at).whole_days()
    }
}

/// `key=value, key=value`.
pub fn dn_line(attrs: &[NameAttribute]) -> String {
    attrs
        .iter()
        .map(|a| format!("{}={}", a.key, a.value))
        .collect::<Vec<_>>()
        .join(", ")
}

/// One certificate as captured: its details when it parses, or why not.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "parsed", rename_all = "kebab-case")]
pub enum CapturedCert {
    /// It parsed.
    Parsed(Box<CertDetails>),
    /// It did not: the reason (not base64, not a certificate, or redacted).
    Unparsed {
        /// Why.
        reason: String,
    },
}

/// The chain one endpoint sent, by evidence id (`smtp:host:port`, `ldaps:host:port`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EndpointCerts {
    /// The evidence id of the probe.
    pub evidence_id: String,
    /// The certificates, leaf first.
    pub chain: Vec<CapturedCert>,
}

impl EndpointCerts {
    /// The leaf certificate's details, when it parsed.
    pub fn leaf(&self) -> Option<&CertDetails> {
        match self.chain.first() {
            Some(CapturedCert::Parsed(d)) => Some(d),
            _ => None,
        }
    }
}

/// Parse every chain in the evidence.
pub fn collect(evidence: &Evidence) -> Vec<EndpointCerts> {
    let mut out = Vec::new();
    let smtp = evidence.smtp.iter().map(|p| (&p.id, p.tls.as_ref()));
    let ports = evidence.tls_ports.iter().map(|p| (&p.id, p.tls.as_ref()));
    for (id, tls) in smtp.chain(ports) {
        let Some(tls) = tls else { continue };
        if tls.chain.is_empty() {
            continue;
        }
        out.push(EndpointCerts {
            evidence_id: id.clone(),
            chain: tls.chain.iter().map(|der| parse_captured(der)).collect(),
        });
    }
    out
}

/// Parse one captured certificate (or say that it was redacted).
pub fn parse_captured(der: &[u8]) -> CapturedCert {
    if let Some(label) = crate::encoding::redacted_label(der) {
        return CapturedCert::Unparsed {
            reason: format!("redacted ({label})"),
        };
    }
    match parse_der(der) {
        Some(d) => CapturedCert::Parsed(Box::new(d)),
        None => CapturedCert::Unparsed {
            reason: format!("{} bytes that are not an X.509 certificate", der.len()),
        },
    }
}

/// Parse one DER certificate; `None` when it is not one.
pub fn parse_der(der: &[u8]) -> Option<CertDetails> {
    let (_, cert) = parse_x509_certificate(der).ok()?;
    let validity = cert.validity();
    let not_before = OffsetDateTime::from_unix_timestamp(validity.not_before.timestamp()).ok()?;
    let not_after = OffsetDateTime::from_unix_timestamp(validity.not_after.timestamp()).ok()?;
    let subject = name_attrs(cert.subject());
    let issuer = name_attrs(cert.issuer());
    let self_issued = cert.subject().as_raw() == cert.issuer().as_raw();
    Some(CertDetails {
        sans: sans(&cert),
        not_before,
        not_after,
        serial: hex_colons(cert.raw_serial(), false),
        sha256: hex_colons(&Sha256::digest(der), true),
        key: key(&cert),
        signature: crate::cert::signature_name(&cert.signature_algorithm.algorithm.to_id_string()).0,
        eku: eku(&cert),
        is_ca: cert.is_ca(),
        self_issued,
        subject,
        issuer,
    })
}

fn hex_colons(bytes: &[u8], upper: bool) -> String {
    let mut s = String::with_capacity(bytes.len() * 3);
    for (i, b) in bytes.iter().enumerate() {
        if i > 0 {
            s.push(':');
        }
        if upper {
            s.push_str(&format!("{b:02X}"));
        } else {
            s.push_str(&format!("{b:02x}"));
        }
    }
    s
}

fn attr_key(oid: &str) -> String {
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

fn name_attrs(name: &X509Name<'_>) -> Vec<NameAttribute> {
    name.iter_attributes()
        .map(|a| NameAttribute {
            key: attr_key(&a.attr_type().to_id_string()),
            value: match a.as_str() {
                Ok(s) => s.to_string(),
                Err(_) => format!("#{}", hex_colons(a.attr_value().data, false).replace(':', "")),
            },
        })
        .collect()
}

fn sans(cert: &X509Certificate<'_>) -> Vec<String> {
    let Ok(Some(ext)) = cert.subject_alternative_name() else {
        return Vec::new();
    };
    ext.value
        .general_names
        .iter()
        .map(|n| match n {
            GeneralName::DNSName(d) => format!("DNS:{d}"),
            GeneralName::RFC822Name(e) => format!("email:{e}"),
            GeneralName::URI(u) => format!("URI:{u}"),
            GeneralName::IPAddress(b) => match b.len() {
                4 => format!("IP:{}", std::net::Ipv4Addr::new(b[0], b[1], b[2], b[3])),
                16 => {
                    let mut a = [0u8; 16];
                    a.copy_from_slice(b);
                    format!("IP:{}", std::net::Ipv6Addr::from(a))
                }
                _ => format!("IP:#{}", hex_colons(b, false)),
            },
            GeneralName::DirectoryName(d) => format!("dirName:{}", dn_line(&name_attrs(d))),
            other => format!("{other:?}"),
        })
        .collect()
}

fn key(cert: &X509Certificate<'_>) -> String {
    match cert.public_key().parsed() {
        Ok(PublicKey::RSA(rsa)) => format!("RSA {}", rsa.key_size()),
        Ok(PublicKey::EC(ec)) => format!("EC {}", ec.key_size()),
        Ok(PublicKey::DSA(_)) => "DSA".into(),
        Ok(PublicKey::GostR3410(_) | PublicKey::GostR3410_2012(_)) => "GOST".into(),
        Ok(PublicKey::Unknown(_)) | Err(_) => {
            let oid = cert.public_key().algorithm.algorithm.to_id_string();
            match oid.as_str() {
                "1.3.101.112" => "Ed25519".into(),
                "1.3.101.113" => "Ed448".into(),
                _ => oid,
            }
        }
    }
}

fn eku(cert: &X509Certificate<'_>) -> Vec<String> {
    cert.extensions()
        .iter()
        .filter_map(|ext| match ext.parsed_extension() {
            ParsedExtension::ExtendedKeyUsage(e) => Some(crate::cert::eku_names(e)),
            _ => None,
        })
        .flatten()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lab::ca::{LabCa, LeafSpec};
    use time::macros::datetime;

    #[test]
    fn lab_chain_parses_with_names_validity_and_key() {
        let now = datetime!(2026-03-01 12:00:00 UTC);
        let ca = LabCa::generate(now).expect("lab CA");
        let leaf = ca
            .issue(&LeafSpec::server(
                "mail.contoso.com",
                ["mail.contoso.com", "192.0.2.7"],
                now,
            ))
            .expect("leaf");
        let d = parse_der(&leaf.leaf).expect("parses");
        assert_eq!(d.subject_line(), "CN=mail.contoso.com");
        assert!(d.issuer_line().contains("CN="), "{}", d.issuer_line());
        assert_eq!(d.sans, ["DNS:mail.contoso.com", "IP:192.0.2.7"]);
        assert_eq!(d.not_after, now + time::Duration::days(365));
        assert_eq!(d.days_left(now), 365);
        assert_eq!(d.sha256.len(), 32 * 3 - 1);
        assert!(d.eku.contains(&"serverAuth".to_string()), "{:?}", d.eku);
        assert!(!d.is_ca && !d.self_issued);
        let root = parse_der(&ca.root_der()).expect("root parses");
        assert!(root.is_ca && root.self_issued);
        assert!(matches!(parse_captured(b"\0\0\0"), CapturedCert::Unparsed { .. }));
        assert_eq!(
            parse_captured(b"redacted:cert-3"),
            CapturedCert::Unparsed {
                reason: "redacted (cert-3)".into()
            }
        );
    }
}
