//! What the certificate viewer shows: the core's reading of a certificate (`mailpath_core::cert`), put in
//! words. Plain data, testable without a window.

use time::OffsetDateTime;

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
    /// Parse one DER certificate (with the core's parser: the same reading the checks judge).
    ///
    /// # Errors
    /// When the bytes are not an X.509 certificate.
    pub fn parse(der: &[u8]) -> Result<CertView, String> {
        let info = mailpath_core::cert::parse_certificate(der).map_err(|e| e.to_string())?;
        let mut sans = info.dns_names.clone();
        sans.extend(info.ip_addresses.iter().map(|ip| format!("IP {ip}")));
        let k = &info.key;
        let key = match &k.curve {
            Some(curve) => format!("EC {curve}"),
            None if k.bits > 0 => format!("{} {} bits", k.algorithm, k.bits),
            None => k.algorithm.clone(),
        };
        Ok(CertView {
            subject: info.subject.clone(),
            issuer: info.issuer.clone(),
            sans,
            serial: info.serial.clone(),
            not_before: info.not_before,
            not_after: info.not_after,
            key,
            key_bits: usize::try_from(k.bits).unwrap_or(0),
            signature: info.signature_algorithm.clone(),
            sha256: colons(&info.sha256),
            sha1: info.sha1_thumbprint.clone(),
            is_ca: info.is_ca,
            self_issued: info.self_issued,
            eku: info.eku.clone(),
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

/// Parse every certificate of a chain (DER, as in `TlsEvidence`).
pub fn parse_chain<D: AsRef<[u8]>>(chain: &[D]) -> Vec<Result<CertView, String>> {
    chain
        .iter()
        .map(
            |der| match mailpath_core::encoding::redacted_label(der.as_ref()) {
                Some(label) => Err(format!("redacted ({label})")),
                None => CertView::parse(der.as_ref()),
            },
        )
        .collect()
}

fn plural(n: i64) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// `AB12CD` as `AB:12:CD`.
fn colons(hex: &str) -> String {
    hex.as_bytes()
        .chunks(2)
        .map(|pair| String::from_utf8_lossy(pair).into_owned())
        .collect::<Vec<_>>()
        .join(":")
}
