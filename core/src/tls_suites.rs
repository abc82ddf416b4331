//! What the scanner knows about TLS: protocol versions, cipher suites (IANA ids and names, key
//! exchange, cipher, mode), named groups, alerts, and the suites Exchange Online uses.

use serde::{Deserialize, Serialize};

/// A TLS protocol version the scanner can offer. SSL 3.0 and older are not scanned (RFC 7568).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Version {
    /// TLS 1.0 (RFC 2246).
    #[serde(rename = "TLSv1.0")]
    Tls10,
    /// TLS 1.1 (RFC 4346).
    #[serde(rename = "TLSv1.1")]
    Tls11,
    /// TLS 1.2 (RFC 5246).
    #[serde(rename = "TLSv1.2")]
    Tls12,
    /// TLS 1.3 (RFC 8446).
    #[serde(rename = "TLSv1.3")]
    Tls13,
}

impl Version {
    /// Every version, newest first (the order the scanner tries them in).
    pub const ALL: [Version; 4] = [Version::Tls13, Version::Tls12, Version::Tls11, Version::Tls10];

    /// The two bytes on the wire.
    pub fn wire(self) -> u16 {
        match self {
            Version::Tls10 => 0x0301,
            Version::Tls11 => 0x0302,
            Version::Tls12 => 0x0303,
            Version::Tls13 => 0x0304,
        }
    }

    /// The version of two wire bytes, when it is one the scanner knows.
    pub fn from_wire(wire: u16) -> Option<Version> {
        match wire {
            0x0301 => Some(Version::Tls10),
            0x0302 => Some(Version::Tls11),
            0x0303 => Some(Version::Tls12),
            0x0304 => Some(Version::Tls13),
            _ => None,
        }
    }

    /// The version named `TLSv1.2` (as [`Version::name`] writes it).
    pub fn from_name(name: &str) -> Option<Version> {
        Version::ALL.into_iter().find(|v| v.name() == name)
    }

    /// `TLSv1.2`, as rustls' evidence names versions.
    pub fn name(self) -> &'static str {
        match self {
            Version::Tls10 => "TLSv1.0",
            Version::Tls11 => "TLSv1.1",
            Version::Tls12 => "TLSv1.2",
            Version::Tls13 => "TLSv1.3",
        }
    }
}

impl std::fmt::Display for Version {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The name of a wire version, also for versions the scanner does not offer (`0x0300` is SSLv3).
pub fn version_name(wire: u16) -> String {
    match Version::from_wire(wire) {
        Some(v) => v.name().to_string(),
        None if wire == 0x0300 => "SSLv3".to_string(),
        None => format!("0x{wire:04x}"),
    }
}

/// How a suite agrees on keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kex {
    /// RSA key transport: no forward secrecy.
    Rsa,
    /// Ephemeral finite-field Diffie-Hellman.
    Dhe,
    /// Ephemeral elliptic-curve Diffie-Hellman.
    Ecdhe,
    /// Anonymous Diffie-Hellman (no server authentication at all).
    DhAnon,
    /// Anonymous elliptic-curve Diffie-Hellman.
    EcdhAnon,
    /// TLS 1.3: the suite names no key exchange; it is always ephemeral.
    Tls13,
}

impl Kex {
    /// Short name for tables.
    pub fn name(self) -> &'static str {
        match self {
            Kex::Rsa => "RSA",
            Kex::Dhe => "DHE",
            Kex::Ecdhe => "ECDHE",
            Kex::DhAnon => "DH anon",
            Kex::EcdhAnon => "ECDH anon",
            Kex::Tls13 => "(EC)DHE",
        }
    }
}

/// How a suite protects records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mode {
    /// An AEAD cipher (GCM, CCM, ChaCha20-Poly1305).
    Aead,
    /// A block cipher in CBC mode with HMAC (MAC-then-encrypt).
    Cbc,
    /// RC4.
    Stream,
    /// No encryption at all.
    Null,
}

/// One cipher suite.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Suite {
    /// The IANA id.
    pub id: u16,
    /// The IANA name (`TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384`), as rustls' evidence names suites.
    pub name: &'static str,
    /// Key exchange.
    pub kex: Kex,
    /// The certificate it needs (`RSA`, `ECDSA`, `DSS`, `anon`; `any` in TLS 1.3).
    pub auth: &'static str,
    /// The record cipher (`AES-256-GCM`).
    pub cipher: &'static str,
    /// Its mode.
    pub mode: Mode,
    /// The first version that may negotiate it (suites with SHA-256/384 MACs or AEAD need TLS 1.2).
    pub min: Version,
}

impl Suite {
    /// Whether a session keeps its secrecy when the server's key is stolen later.
    pub fn forward_secrecy(&self) -> bool {
        matches!(self.kex, Kex::Dhe | Kex::Ecdhe | Kex::Tls13)
    }

    /// Whether the suite is broken or unauthenticated (NULL, RC4, DES/3DES, export, anonymous).
    pub fn insecure(&self) -> bool {
        matches!(self.mode, Mode::Null | Mode::Stream)
            || matches!(self.kex, Kex::DhAnon | Kex::EcdhAnon)
            || self.cipher.contains("DES")
            || self.cipher.contains("40")
    }

    /// Whether the suite is a TLS 1.3 one.
    pub fn is_tls13(&self) -> bool {
        self.kex == Kex::Tls13
    }

    /// Whether `version` may negotiate it.
    pub fn usable_at(&self, version: Version) -> bool {
        if self.is_tls13() {
            version == Version::Tls13
        } else {
            version != Version::Tls13 && version >= self.min
        }
    }
}

const fn s(
    id: u16,
    name: &'static str,
    kex: Kex,
    auth: &'static str,
    cipher: &'static str,
    mode: Mode,
    min: Version,
) -> Suite {
    Suite {
        id,
        name,
        kex,
        auth,
        cipher,
        mode,
        min,
    }
}

use Kex::{DhAnon, Dhe, EcdhAnon, Ecdhe, Rsa, Tls13};
use Mode::{Aead, Cbc, Null, Stream};
use Version::{Tls10, Tls12, Tls13 as V13};

/// Every suite the scanner offers, strongest first within each family. Not offered: PSK, SRP,
/// Kerberos and static (EC)DH suites, which need credentials or certificates nobody deploys for SMTP.
#[rustfmt::skip]
pub const SUITES: &[Suite] = &[
    // TLS 1.3.
    s(0x1302, "TLS_AES_256_GCM_SHA384", Tls13, "any", "AES-256-GCM", Aead, V13),
    s(0x1301, "TLS_AES_128_GCM_SHA256", Tls13, "any", "AES-128-GCM", Aead, V13),
    s(0x1303, "TLS_CHACHA20_POLY1305_SHA256", Tls13, "any", "ChaCha20-Poly1305", Aead, V13),
    s(0x1304, "TLS_AES_128_CCM_SHA256", Tls13, "any", "AES-128-CCM", Aead, V13),
    s(0x1305, "TLS_AES_128_CCM_8_SHA256", Tls13, "any", "AES-128-CCM-8", Aead, V13),
    // ECDHE with RSA certificates.
    s(0xC030, "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", Ecdhe, "RSA", "AES-256-GCM", Aead, Tls12),
    s(0xC02F, "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", Ecdhe, "RSA", "AES-128-GCM", Aead, Tls12),
    s(0xCCA8, "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256", Ecdhe, "RSA", "ChaCha20-Poly1305", Aead, Tls12),
    s(0xC061, "TLS_ECDHE_RSA_WITH_ARIA_256_GCM_SHA384", Ecdhe, "RSA", "ARIA-256-GCM", Aead, Tls12),
    s(0xC060, "TLS_ECDHE_RSA_WITH_ARIA_128_GCM_SHA256", Ecdhe, "RSA", "ARIA-128-GCM", Aead, Tls12),
    s(0xC028, "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384", Ecdhe, "RSA", "AES-256-CBC", Cbc, Tls12),
    s(0xC027, "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256", Ecdhe, "RSA", "AES-128-CBC", Cbc, Tls12),
    s(0xC077, "TLS_ECDHE_RSA_WITH_CAMELLIA_256_CBC_SHA384", Ecdhe, "RSA", "Camellia-256-CBC", Cbc, Tls12),
    s(0xC076, "TLS_ECDHE_RSA_WITH_CAMELLIA_128_CBC_SHA256", Ecdhe, "RSA", "Camellia-128-CBC", Cbc, Tls12),
    s(0xC014, "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA", Ecdhe, "RSA", "AES-256-CBC", Cbc, Tls10),
    s(0xC013, "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA", Ecdhe, "RSA", "AES-128-CBC", Cbc, Tls10),
    s(0xC012, "TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA", Ecdhe, "RSA", "3DES-EDE-CBC", Cbc, Tls10),
    s(0xC011, "TLS_ECDHE_RSA_WITH_RC4_128_SHA", Ecdhe, "RSA", "RC4-128", Stream, Tls10),
    s(0xC010, "TLS_ECDHE_RSA_WITH_NULL_SHA", Ecdhe, "RSA", "NULL", Null, Tls10),
    // ECDHE with ECDSA certificates.
    s(0xC02C, "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", Ecdhe, "ECDSA", "AES-256-GCM", Aead, Tls12),
    s(0xC02B, "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", Ecdhe, "ECDSA", "AES-128-GCM", Aead, Tls12),
    s(0xCCA9, "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", Ecdhe, "ECDSA", "ChaCha20-Poly1305", Aead, Tls12),
    s(0xC0AD, "TLS_ECDHE_ECDSA_WITH_AES_256_CCM", Ecdhe, "ECDSA", "AES-256-CCM", Aead, Tls12),
    s(0xC0AC, "TLS_ECDHE_ECDSA_WITH_AES_128_CCM", Ecdhe, "ECDSA", "AES-128-CCM", Aead, Tls12),
    s(0xC05D, "TLS_ECDHE_ECDSA_WITH_ARIA_256_GCM_SHA384", Ecdhe, "ECDSA", "ARIA-256-GCM", Aead, Tls12),
    s(0xC05C, "TLS_ECDHE_ECDSA_WITH_ARIA_128_GCM_SHA256", Ecdhe, "ECDSA", "ARIA-128-GCM", Aead, Tls12),
    s(0xC024, "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384", Ecdhe, "ECDSA", "AES-256-CBC", Cbc, Tls12),
    s(0xC023, "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256", Ecdhe, "ECDSA", "AES-128-CBC", Cbc, Tls12),
    s(0xC073, "TLS_ECDHE_ECDSA_WITH_CAMELLIA_256_CBC_SHA384", Ecdhe, "ECDSA", "Camellia-256-CBC", Cbc, Tls12),
    s(0xC072, "TLS_ECDHE_ECDSA_WITH_CAMELLIA_128_CBC_SHA256", Ecdhe, "ECDSA", "Camellia-128-CBC", Cbc, Tls12),
    s(0xC00A, "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA", Ecdhe, "ECDSA", "AES-256-CBC", Cbc, Tls10),
    s(0xC009, "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA", Ecdhe, "ECDSA", "AES-128-CBC", Cbc, Tls10),
    s(0xC008, "TLS_ECDHE_ECDSA_WITH_3DES_EDE_CBC_SHA", Ecdhe, "ECDSA", "3DES-EDE-CBC", Cbc, Tls10),
    s(0xC007, "TLS_ECDHE_ECDSA_WITH_RC4_128_SHA", Ecdhe, "ECDSA", "RC4-128", Stream, Tls10),
    s(0xC006, "TLS_ECDHE_ECDSA_WITH_NULL_SHA", Ecdhe, "ECDSA", "NULL", Null, Tls10),
    // Finite-field DHE.
    s(0x009F, "TLS_DHE_RSA_WITH_AES_256_GCM_SHA384", Dhe, "RSA", "AES-256-GCM", Aead, Tls12),
    s(0x009E, "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256", Dhe, "RSA", "AES-128-GCM", Aead, Tls12),
    s(0xCCAA, "TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256", Dhe, "RSA", "ChaCha20-Poly1305", Aead, Tls12),
    s(0xC09F, "TLS_DHE_RSA_WITH_AES_256_CCM", Dhe, "RSA", "AES-256-CCM", Aead, Tls12),
    s(0xC09E, "TLS_DHE_RSA_WITH_AES_128_CCM", Dhe, "RSA", "AES-128-CCM", Aead, Tls12),
    s(0xC053, "TLS_DHE_RSA_WITH_ARIA_256_GCM_SHA384", Dhe, "RSA", "ARIA-256-GCM", Aead, Tls12),
    s(0xC052, "TLS_DHE_RSA_WITH_ARIA_128_GCM_SHA256", Dhe, "RSA", "ARIA-128-GCM", Aead, Tls12),
    s(0x00A3, "TLS_DHE_DSS_WITH_AES_256_GCM_SHA384", Dhe, "DSS", "AES-256-GCM", Aead, Tls12),
    s(0x00A2, "TLS_DHE_DSS_WITH_AES_128_GCM_SHA256", Dhe, "DSS", "AES-128-GCM", Aead, Tls12),
    s(0x006B, "TLS_DHE_RSA_WITH_AES_256_CBC_SHA256", Dhe, "RSA", "AES-256-CBC", Cbc, Tls12),
    s(0x0067, "TLS_DHE_RSA_WITH_AES_128_CBC_SHA256", Dhe, "RSA", "AES-128-CBC", Cbc, Tls12),
    s(0x006A, "TLS_DHE_DSS_WITH_AES_256_CBC_SHA256", Dhe, "DSS", "AES-256-CBC", Cbc, Tls12),
    s(0x0040, "TLS_DHE_DSS_WITH_AES_128_CBC_SHA256", Dhe, "DSS", "AES-128-CBC", Cbc, Tls12),
    s(0x0039, "TLS_DHE_RSA_WITH_AES_256_CBC_SHA", Dhe, "RSA", "AES-256-CBC", Cbc, Tls10),
    s(0x0033, "TLS_DHE_RSA_WITH_AES_128_CBC_SHA", Dhe, "RSA", "AES-128-CBC", Cbc, Tls10),
    s(0x0038, "TLS_DHE_DSS_WITH_AES_256_CBC_SHA", Dhe, "DSS", "AES-256-CBC", Cbc, Tls10),
    s(0x0032, "TLS_DHE_DSS_WITH_AES_128_CBC_SHA", Dhe, "DSS", "AES-128-CBC", Cbc, Tls10),
    s(0x0088, "TLS_DHE_RSA_WITH_CAMELLIA_256_CBC_SHA", Dhe, "RSA", "Camellia-256-CBC", Cbc, Tls10),
    s(0x0045, "TLS_DHE_RSA_WITH_CAMELLIA_128_CBC_SHA", Dhe, "RSA", "Camellia-128-CBC", Cbc, Tls10),
    s(0x0016, "TLS_DHE_RSA_WITH_3DES_EDE_CBC_SHA", Dhe, "RSA", "3DES-EDE-CBC", Cbc, Tls10),
    s(0x0013, "TLS_DHE_DSS_WITH_3DES_EDE_CBC_SHA", Dhe, "DSS", "3DES-EDE-CBC", Cbc, Tls10),
    s(0x0015, "TLS_DHE_RSA_WITH_DES_CBC_SHA", Dhe, "RSA", "DES-CBC", Cbc, Tls10),
    s(0x0014, "TLS_DHE_RSA_EXPORT_WITH_DES40_CBC_SHA", Dhe, "RSA", "DES40-CBC", Cbc, Tls10),
    // RSA key transport.
    s(0x009D, "TLS_RSA_WITH_AES_256_GCM_SHA384", Rsa, "RSA", "AES-256-GCM", Aead, Tls12),
    s(0x009C, "TLS_RSA_WITH_AES_128_GCM_SHA256", Rsa, "RSA", "AES-128-GCM", Aead, Tls12),
    s(0xC09D, "TLS_RSA_WITH_AES_256_CCM", Rsa, "RSA", "AES-256-CCM", Aead, Tls12),
    s(0xC09C, "TLS_RSA_WITH_AES_128_CCM", Rsa, "RSA", "AES-128-CCM", Aead, Tls12),
    s(0xC051, "TLS_RSA_WITH_ARIA_256_GCM_SHA384", Rsa, "RSA", "ARIA-256-GCM", Aead, Tls12),
    s(0xC050, "TLS_RSA_WITH_ARIA_128_GCM_SHA256", Rsa, "RSA", "ARIA-128-GCM", Aead, Tls12),
    s(0x003D, "TLS_RSA_WITH_AES_256_CBC_SHA256", Rsa, "RSA", "AES-256-CBC", Cbc, Tls12),
    s(0x003C, "TLS_RSA_WITH_AES_128_CBC_SHA256", Rsa, "RSA", "AES-128-CBC", Cbc, Tls12),
    s(0x00C0, "TLS_RSA_WITH_CAMELLIA_256_CBC_SHA256", Rsa, "RSA", "Camellia-256-CBC", Cbc, Tls12),
    s(0x00BA, "TLS_RSA_WITH_CAMELLIA_128_CBC_SHA256", Rsa, "RSA", "Camellia-128-CBC", Cbc, Tls12),
    s(0x0035, "TLS_RSA_WITH_AES_256_CBC_SHA", Rsa, "RSA", "AES-256-CBC", Cbc, Tls10),
    s(0x002F, "TLS_RSA_WITH_AES_128_CBC_SHA", Rsa, "RSA", "AES-128-CBC", Cbc, Tls10),
    s(0x0084, "TLS_RSA_WITH_CAMELLIA_256_CBC_SHA", Rsa, "RSA", "Camellia-256-CBC", Cbc, Tls10),
    s(0x0041, "TLS_RSA_WITH_CAMELLIA_128_CBC_SHA", Rsa, "RSA", "Camellia-128-CBC", Cbc, Tls10),
    s(0x0096, "TLS_RSA_WITH_SEED_CBC_SHA", Rsa, "RSA", "SEED-CBC", Cbc, Tls10),
    s(0x0007, "TLS_RSA_WITH_IDEA_CBC_SHA", Rsa, "RSA", "IDEA-CBC", Cbc, Tls10),
    s(0x000A, "TLS_RSA_WITH_3DES_EDE_CBC_SHA", Rsa, "RSA", "3DES-EDE-CBC", Cbc, Tls10),
    s(0x0009, "TLS_RSA_WITH_DES_CBC_SHA", Rsa, "RSA", "DES-CBC", Cbc, Tls10),
    s(0x0005, "TLS_RSA_WITH_RC4_128_SHA", Rsa, "RSA", "RC4-128", Stream, Tls10),
    s(0x0004, "TLS_RSA_WITH_RC4_128_MD5", Rsa, "RSA", "RC4-128", Stream, Tls10),
    s(0x0008, "TLS_RSA_EXPORT_WITH_DES40_CBC_SHA", Rsa, "RSA", "DES40-CBC", Cbc, Tls10),
    s(0x0006, "TLS_RSA_EXPORT_WITH_RC2_CBC_40_MD5", Rsa, "RSA", "RC2-40-CBC", Cbc, Tls10),
    s(0x0003, "TLS_RSA_EXPORT_WITH_RC4_40_MD5", Rsa, "RSA", "RC4-40", Stream, Tls10),
    s(0x003B, "TLS_RSA_WITH_NULL_SHA256", Rsa, "RSA", "NULL", Null, Tls12),
    s(0x0002, "TLS_RSA_WITH_NULL_SHA", Rsa, "RSA", "NULL", Null, Tls10),
    s(0x0001, "TLS_RSA_WITH_NULL_MD5", Rsa, "RSA", "NULL", Null, Tls10),
    // Anonymous: encryption without authentication.
    s(0x00A7, "TLS_DH_anon_WITH_AES_256_GCM_SHA384", DhAnon, "anon", "AES-256-GCM", Aead, Tls12),
    s(0x00A6, "TLS_DH_anon_WITH_AES_128_GCM_SHA256", DhAnon, "anon", "AES-128-GCM", Aead, Tls12),
    s(0x003A, "TLS_DH_anon_WITH_AES_256_CBC_SHA", DhAnon, "anon", "AES-256-CBC", Cbc, Tls10),
    s(0x0034, "TLS_DH_anon_WITH_AES_128_CBC_SHA", DhAnon, "anon", "AES-128-CBC", Cbc, Tls10),
    s(0x001B, "TLS_DH_anon_WITH_3DES_EDE_CBC_SHA", DhAnon, "anon", "3DES-EDE-CBC", Cbc, Tls10),
    s(0xC019, "TLS_ECDH_anon_WITH_AES_256_CBC_SHA", EcdhAnon, "anon", "AES-256-CBC", Cbc, Tls10),
    s(0xC018, "TLS_ECDH_anon_WITH_AES_128_CBC_SHA", EcdhAnon, "anon", "AES-128-CBC", Cbc, Tls10),
];

/// The suite with this id, when the scanner knows it.
pub fn suite(id: u16) -> Option<&'static Suite> {
    SUITES.iter().find(|s| s.id == id)
}

/// The suite with this IANA name (rustls names its negotiated suite the same way; its TLS 1.3
/// suites are `TLS13_AES_256_GCM_SHA384`, which is accepted too).
pub fn suite_by_name(name: &str) -> Option<&'static Suite> {
    let name = name
        .strip_prefix("TLS13_")
        .map_or_else(|| name.to_string(), |rest| format!("TLS_{rest}"));
    SUITES.iter().find(|s| s.name == name)
}

/// The name of a suite id (`0xc0ff` for one the scanner does not know).
pub fn suite_name(id: u16) -> String {
    suite(id).map_or_else(|| format!("0x{id:04x}"), |s| s.name.to_string())
}

/// Where Microsoft publishes the cipher suites Office 365 (Exchange Online included) supports.
pub const EXO_SUITES_SOURCE: &str = "https://learn.microsoft.com/purview/technical-reference-details-about-encryption#tls-cipher-suites-supported-by-office-365";

/// The TLS cipher suites Office 365 supports, "in order of strength, with the strongest cipher suite
/// listed first", as Microsoft lists them in "TLS cipher suites supported by Office 365" (Technical
/// reference details about encryption, [`EXO_SUITES_SOURCE`]; source file
/// `microsoft-365/compliance/technical-reference-details-about-encryption.md` of MicrosoftDocs/microsoft-365-docs).
/// Microsoft says Office 365 tries them in this order when it answers a connection.
pub const EXO_SUITES: [u16; 8] = [
    0xC030, // TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384
    0xC02F, // TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256
    0xC028, // TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384
    0xC027, // TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256
    0xC014, // TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA
    0xC013, // TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA
    0x009D, // TLS_RSA_WITH_AES_256_GCM_SHA384
    0x009C, // TLS_RSA_WITH_AES_128_GCM_SHA256
];

/// The second table of the same page: suites listed for "TLS 1.0, 1.1, 1.2" that "supported TLS 1.0
/// and 1.1 protocols until their deprecation date" (beside the two ECDHE ones already in
/// [`EXO_SUITES`]). Counted as an overlap, never as a good one: they are CBC without forward secrecy.
pub const EXO_LEGACY_SUITES: [u16; 4] = [
    0x0035, // TLS_RSA_WITH_AES_256_CBC_SHA
    0x002F, // TLS_RSA_WITH_AES_128_CBC_SHA
    0x003D, // TLS_RSA_WITH_AES_256_CBC_SHA256
    0x003C, // TLS_RSA_WITH_AES_128_CBC_SHA256
];

/// The ECDHE suites of [`EXO_SUITES`] with ECDSA instead of RSA authentication: the same key
/// exchange and cipher for a server whose certificate is ECDSA. Microsoft's list names only the
/// RSA ones (the suites Office 365 answers with, with its RSA certificates); Windows' TLS stack,
/// which Office 365 uses, implements both. A verdict that rests on them says so.
pub const EXO_ECDSA_COUNTERPARTS: [u16; 6] = [
    0xC02C, // TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384
    0xC02B, // TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256
    0xC024, // TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384
    0xC023, // TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256
    0xC00A, // TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA
    0xC009, // TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA
];

/// Where a suite stands in Microsoft's list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ExoListing {
    /// In the main table.
    Listed,
    /// Only in the legacy table.
    Legacy,
    /// Not listed, but the ECDSA counterpart of a listed ECDHE suite ([`EXO_ECDSA_COUNTERPARTS`]).
    EcdsaCounterpart,
    /// Not listed: Exchange Online cannot negotiate it.
    No,
}

/// Where `id` stands in Microsoft's list.
pub fn exo_listing(id: u16) -> ExoListing {
    if EXO_SUITES.contains(&id) {
        ExoListing::Listed
    } else if EXO_LEGACY_SUITES.contains(&id) {
        ExoListing::Legacy
    } else if EXO_ECDSA_COUNTERPARTS.contains(&id) {
        ExoListing::EcdsaCounterpart
    } else {
        ExoListing::No
    }
}

/// The TLS 1.2 suites the hello of a quick scan offers, in order: Exchange Online's, in Microsoft's
/// order, their ECDSA counterparts, then every other authenticated, non-NULL, non-export suite (so
/// that a server Exchange Online cannot talk to still answers, and its certificate is seen).
pub fn exo_first_suites() -> Vec<u16> {
    let mut out: Vec<u16> = EXO_SUITES
        .iter()
        .chain(EXO_LEGACY_SUITES.iter())
        .chain(EXO_ECDSA_COUNTERPARTS.iter())
        .copied()
        .collect();
    for s in SUITES {
        let polite = !s.is_tls13()
            && !matches!(s.mode, Mode::Null)
            && !matches!(s.kex, Kex::DhAnon | Kex::EcdhAnon)
            && !s.name.contains("EXPORT");
        if polite && !out.contains(&s.id) {
            out.push(s.id);
        }
    }
    out
}

/// A named group (elliptic curve or finite-field group, RFC 8446 4.2.7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Group {
    /// The id.
    pub id: u16,
    /// Its name (`x25519`, `secp256r1`).
    pub name: &'static str,
    /// Whether it is an elliptic curve (usable with ECDHE suites in TLS 1.2).
    pub ec: bool,
}

/// Every named group the scanner offers.
#[rustfmt::skip]
pub const GROUPS: &[Group] = &[
    Group { id: 0x001D, name: "x25519", ec: true },
    Group { id: 0x0017, name: "secp256r1", ec: true },
    Group { id: 0x0018, name: "secp384r1", ec: true },
    Group { id: 0x0019, name: "secp521r1", ec: true },
    Group { id: 0x001E, name: "x448", ec: true },
    Group { id: 0x001A, name: "brainpoolP256r1", ec: true },
    Group { id: 0x001B, name: "brainpoolP384r1", ec: true },
    Group { id: 0x001C, name: "brainpoolP512r1", ec: true },
    Group { id: 0x0016, name: "secp256k1", ec: true },
    Group { id: 0x11EC, name: "X25519MLKEM768", ec: false },
    Group { id: 0x0100, name: "ffdhe2048", ec: false },
    Group { id: 0x0101, name: "ffdhe3072", ec: false },
    Group { id: 0x0102, name: "ffdhe4096", ec: false },
];

/// The id of x25519, the group of the scanner's TLS 1.3 key share.
pub const X25519: u16 = 0x001D;

/// The name of a group id (`0x0042` for one the scanner does not know).
pub fn group_name(id: u16) -> String {
    GROUPS
        .iter()
        .find(|g| g.id == id)
        .map_or_else(|| format!("0x{id:04x}"), |g| g.name.to_string())
}

/// The signature algorithms the scanner accepts (RFC 8446 4.2.3), broad on purpose: old servers
/// sign with SHA-1, DSA servers with DSA.
pub const SIGNATURE_ALGORITHMS: &[u16] = &[
    0x0403, 0x0503, 0x0603, // ecdsa_secp256r1_sha256, ecdsa_secp384r1_sha384, ecdsa_secp521r1_sha512
    0x0807, 0x0808, // ed25519, ed448
    0x0804, 0x0805, 0x0806, // rsa_pss_rsae_sha256/384/512
    0x0809, 0x080A, 0x080B, // rsa_pss_pss_sha256/384/512
    0x0401, 0x0501, 0x0601, // rsa_pkcs1_sha256/384/512
    0x0201, 0x0203, // rsa_pkcs1_sha1, ecdsa_sha1
    0x0402, 0x0202, // dsa_sha256, dsa_sha1
];

/// The name of a TLS alert description (RFC 8446 6, RFC 5246 7.2).
pub fn alert_name(description: u8) -> &'static str {
    match description {
        0 => "close_notify",
        10 => "unexpected_message",
        20 => "bad_record_mac",
        21 => "decryption_failed",
        22 => "record_overflow",
        30 => "decompression_failure",
        40 => "handshake_failure",
        41 => "no_certificate",
        42 => "bad_certificate",
        43 => "unsupported_certificate",
        44 => "certificate_revoked",
        45 => "certificate_expired",
        46 => "certificate_unknown",
        47 => "illegal_parameter",
        48 => "unknown_ca",
        49 => "access_denied",
        50 => "decode_error",
        51 => "decrypt_error",
        60 => "export_restriction",
        70 => "protocol_version",
        71 => "insufficient_security",
        80 => "internal_error",
        86 => "inappropriate_fallback",
        90 => "user_canceled",
        100 => "no_renegotiation",
        109 => "missing_extension",
        110 => "unsupported_extension",
        112 => "unrecognized_name",
        116 => "certificate_required",
        120 => "no_application_protocol",
        _ => "unknown alert",
    }
}

/// Whether rustls (mailpath's TLS library, ring provider) implements this suite.
pub fn rustls_supports(id: u16) -> bool {
    crate::tls::provider()
        .cipher_suites
        .iter()
        .any(|s| u16::from(s.suite()) == id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_names_are_unique_and_consistent() {
        let mut ids = std::collections::BTreeSet::new();
        for s in SUITES {
            assert!(ids.insert(s.id), "{} twice", s.name);
            assert!(s.name.starts_with("TLS_"), "{}", s.name);
            let gcm_or_sha2 = s.name.contains("GCM")
                || s.name.contains("CCM")
                || s.name.contains("CHACHA")
                || s.name.ends_with("SHA256")
                || s.name.ends_with("SHA384");
            if !s.is_tls13() {
                assert_eq!(gcm_or_sha2, s.min == Version::Tls12, "{}", s.name);
            }
            assert_eq!(
                s.mode == Mode::Aead,
                s.name.contains("GCM") || s.name.contains("CCM") || s.name.contains("CHACHA"),
                "{}",
                s.name
            );
        }
        for id in EXO_SUITES.iter().chain(&EXO_LEGACY_SUITES) {
            assert!(suite(*id).is_some(), "0x{id:04x}");
        }
    }

    #[test]
    fn microsofts_list_is_what_the_page_says() {
        let names: Vec<&str> = EXO_SUITES
            .iter()
            .filter_map(|id| suite(*id))
            .map(|s| s.name)
            .collect();
        assert_eq!(
            names,
            [
                "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
                "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
                "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384",
                "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256",
                "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA",
                "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA",
                "TLS_RSA_WITH_AES_256_GCM_SHA384",
                "TLS_RSA_WITH_AES_128_GCM_SHA256",
            ]
        );
        assert_eq!(exo_listing(0xC030), ExoListing::Listed);
        assert_eq!(exo_listing(0x0035), ExoListing::Legacy);
        assert_eq!(
            exo_listing(0xCCA8),
            ExoListing::No,
            "ChaCha20 is not in Microsoft's list"
        );
        assert_eq!(exo_listing(0x009F), ExoListing::No, "nor is DHE");
        let quick = exo_first_suites();
        assert_eq!(&quick[..8], &EXO_SUITES);
        assert!(
            quick
                .iter()
                .all(|id| suite(*id).is_some_and(|s| !s.is_tls13() && s.mode != Mode::Null))
        );
    }

    #[test]
    fn rustls_names_map_to_the_table() {
        assert_eq!(
            suite_by_name("TLS13_AES_256_GCM_SHA384").map(|s| s.id),
            Some(0x1302)
        );
        assert_eq!(
            suite_by_name("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256").map(|s| s.id),
            Some(0xC02F)
        );
        assert!(rustls_supports(0xC02F) && rustls_supports(0x1301));
        assert!(!rustls_supports(0xC028), "rustls has no CBC suites");
        assert!(!rustls_supports(0x009D), "nor RSA key exchange");
    }
}
