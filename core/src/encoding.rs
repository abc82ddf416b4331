//! The conventions mailpath adds to the encoding crates (data-encoding for base64 and hex, pem for PEM):
//! how certificates are written in JSON, and fingerprints with colons.
//!
//! Evidence holds certificates as DER bytes; they become base64 strings only at the JSON boundary, through
//! [`der_chain`] (`#[serde(with = "crate::encoding::der_chain")]`). A redacted diagnosis replaces each
//! certificate with a marker, `redacted:cert-N` (its bytes name the subject); the marker survives the
//! round trip as its own text, and [`redacted_label`] tells it from a certificate.

use data_encoding::BASE64;
use rustls_pki_types::CertificateDer;

/// The prefix of the marker that stands for a redacted certificate.
pub const REDACTED_PREFIX: &str = "redacted:";

/// The label of a redaction marker (`cert-1` for `redacted:cert-1`); `None` for anything else, a DER
/// certificate among them (which starts with a SEQUENCE tag, never with `r`).
pub fn redacted_label(der: &[u8]) -> Option<&str> {
    std::str::from_utf8(der.strip_prefix(REDACTED_PREFIX.as_bytes())?).ok()
}

/// Hex digits with a colon between bytes (`3E75BF` -> `3E:75:BF`), as `openssl x509 -fingerprint` prints a
/// fingerprint; text that is not hex (a redacted fingerprint) is returned as it is.
pub fn colons(hex: &str) -> String {
    if !hex.len().is_multiple_of(2) || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return hex.to_string();
    }
    let mut out = String::with_capacity(hex.len() + hex.len() / 2);
    for (i, pair) in hex.as_bytes().chunks(2).enumerate() {
        if i > 0 {
            out.push(':');
        }
        out.extend(pair.iter().map(|&b| char::from(b)));
    }
    out
}

/// Serde for a list of DER certificates: a JSON array of base64 strings (standard alphabet, padded), or
/// of redaction markers.
pub mod der_chain {
    use serde::de::Error as _;
    use serde::ser::SerializeSeq as _;
    use serde::{Deserialize as _, Deserializer, Serializer};

    use super::{BASE64, CertificateDer, REDACTED_PREFIX, redacted_label};

    /// Writes each certificate as base64 (a redaction marker as its text).
    ///
    /// # Errors
    /// The serializer's.
    pub fn serialize<S: Serializer>(
        chain: &[CertificateDer<'static>],
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(chain.len()))?;
        for der in chain {
            match redacted_label(der) {
                Some(label) => seq.serialize_element(&format!("{REDACTED_PREFIX}{label}"))?,
                None => seq.serialize_element(&BASE64.encode(der))?,
            }
        }
        seq.end()
    }

    /// Reads base64 strings (and redaction markers) back into DER.
    ///
    /// # Errors
    /// When an entry is neither base64 nor a redaction marker (saying which).
    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Vec<CertificateDer<'static>>, D::Error> {
        let texts = Vec::<String>::deserialize(deserializer)?;
        texts
            .into_iter()
            .enumerate()
            .map(|(i, text)| {
                if text.starts_with(REDACTED_PREFIX) {
                    return Ok(CertificateDer::from(text.into_bytes()));
                }
                BASE64
                    .decode(text.as_bytes())
                    .map(CertificateDer::from)
                    .map_err(|e| {
                        D::Error::custom(format!("certificate {} of the chain is not base64: {e}", i + 1))
                    })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use data_encoding::HEXUPPER;

    #[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
    struct Chain {
        #[serde(with = "der_chain")]
        chain: Vec<CertificateDer<'static>>,
    }

    #[test]
    fn a_chain_is_base64_in_json_and_markers_stay_text() {
        let c = Chain {
            chain: vec![
                CertificateDer::from(b"foobar".to_vec()),
                CertificateDer::from(b"redacted:cert-2".to_vec()),
            ],
        };
        let json = serde_json::to_string(&c).unwrap();
        assert_eq!(json, r#"{"chain":["Zm9vYmFy","redacted:cert-2"]}"#);
        let back: Chain = serde_json::from_str(&json).unwrap();
        assert_eq!(back, c);
        assert_eq!(redacted_label(&back.chain[1]), Some("cert-2"));
        assert_eq!(redacted_label(&back.chain[0]), None);
        let e = serde_json::from_str::<Chain>(r#"{"chain":["Zm9v","Zm9v!"]}"#).unwrap_err();
        assert!(
            e.to_string().contains("certificate 2 of the chain is not base64"),
            "{e}"
        );
    }

    #[test]
    fn fingerprints_get_colons() {
        assert_eq!(colons(&HEXUPPER.encode(&[0x3e, 0x75, 0x0b])), "3E:75:0B");
        assert_eq!(colons(""), "");
        assert_eq!(colons("cert-1"), "cert-1");
        assert_eq!(colons("ABC"), "ABC");
    }
}
