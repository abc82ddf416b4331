//! What a TLS scan of one endpoint observed, as plain serde data (part of the SMTP probe's evidence),
//! and the versions/suites table every front end shows. The scanner that fills it is
//! [`crate::tls_scan`].

use serde::{Deserialize, Serialize};

use crate::tls_suites::{self as suites, ExoListing, Version};

/// How much a diagnosis or a probe scans.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ScanMode {
    /// No scan: only the probe's own handshake.
    Off,
    /// One extra connection per endpoint: one TLS 1.2 ClientHello offering Exchange Online's suites
    /// first, then every other one. It shows what Exchange Online would negotiate, and the
    /// certificate chain when the probe's own handshake failed.
    #[default]
    Quick,
    /// Versions, suites, the server's preference and named groups, one ClientHello per connection,
    /// sequentially, within [`crate::tls_scan::ScanLimits`].
    Full,
}

impl ScanMode {
    /// The word on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            ScanMode::Off => "off",
            ScanMode::Quick => "quick",
            ScanMode::Full => "full",
        }
    }
}

/// How the ClientHello reaches the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Transport {
    /// SMTP: greeting, EHLO, STARTTLS, then TLS records.
    #[default]
    StarttlsSmtp,
    /// TLS from the first byte (SMTPS 465, LDAPS).
    Direct,
}

/// What one ClientHello got.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OutcomeKind {
    /// A ServerHello.
    ServerHello,
    /// A TLS 1.3 HelloRetryRequest (the server accepted the version and the suite).
    HelloRetry,
    /// A TLS alert.
    Alert,
    /// The connection closed without an answer.
    Closed,
    /// No answer in time.
    Timeout,
    /// Bytes that are not TLS.
    NotTls,
    /// TLS that breaks the protocol.
    Malformed,
    /// The SMTP dialogue before STARTTLS failed (no STARTTLS, a 4xx/5xx, silence).
    Smtp,
    /// The TCP connection could not be made.
    Connect,
}

/// The suite, version and group a server chose.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Chosen {
    /// The version.
    pub version: String,
    /// The suite's IANA id.
    pub suite_id: u16,
    /// The suite's IANA name.
    pub suite: String,
    /// The named group, when the answer named one (`x25519`; `DH 2048 bits` for finite-field DHE).
    pub group: Option<String>,
}

/// One connection of the scan: what was offered, what came back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HelloResult {
    /// What the ClientHello offered, in words (`TLS 1.2, Exchange Online's 12 suites first, 85 in all`).
    pub offered: String,
    /// How it ended.
    pub outcome: OutcomeKind,
    /// What the server chose, for a ServerHello or HelloRetryRequest.
    pub chosen: Option<Chosen>,
    /// What the server answered, in words.
    pub answer: String,
    /// Milliseconds from connecting to the answer.
    pub ms: u64,
}

/// Whether one version is accepted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VersionResult {
    /// The version.
    pub version: Version,
    /// `true` accepted, `false` refused, `None` could not tell (the connection failed).
    pub accepted: Option<bool>,
    /// The evidence, in words.
    pub answer: String,
}

/// One suite the server accepted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AcceptedSuite {
    /// The IANA id.
    pub id: u16,
    /// The IANA name.
    pub name: String,
}

/// Everything a scan of one endpoint observed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TlsScan {
    /// `quick` or `full`.
    pub mode: ScanMode,
    /// STARTTLS or direct TLS.
    pub transport: Transport,
    /// The SNI sent (none for an IP address).
    pub sni: Option<String>,
    /// Every ClientHello sent, in order: one connection each.
    pub hellos: Vec<HelloResult>,
    /// What is known of each version, newest first.
    pub versions: Vec<VersionResult>,
    /// The TLS 1.0-1.2 suites the server accepted, at [`TlsScan::suites_version`]: in the server's
    /// order of preference when it has one ([`TlsScan::server_order`]), else in the order found.
    pub suites: Vec<AcceptedSuite>,
    /// The version the suites were enumerated at (the highest accepted up to TLS 1.2).
    pub suites_version: Option<Version>,
    /// Whether the server picks by its own order (`None`: not tested, fewer than two suites).
    pub server_order: Option<bool>,
    /// The TLS 1.3 suites accepted.
    pub tls13_suites: Vec<AcceptedSuite>,
    /// The named groups the server chose (TLS 1.2 ECDHE and the TLS 1.3 key share), in the order found.
    pub groups: Vec<String>,
    /// The certificates the server sent in clear (TLS 1.0-1.2), leaf first, DER (base64 strings under
    /// `chain_der_b64` in JSON).
    #[serde(rename = "chain_der_b64", with = "crate::encoding::der_chain")]
    pub chain: Vec<rustls_pki_types::CertificateDer<'static>>,
    /// Whether every step ran to its end (the enumeration is complete for what the mode covers).
    pub complete: bool,
    /// Why the scan stopped early, when it did (a cap, a refused connection).
    pub stopped: Option<String>,
    /// The connection cap in force.
    pub max_connections: u32,
    /// The time cap in force, milliseconds.
    pub max_ms: u64,
    /// Milliseconds the scan took.
    pub ms: u64,
}

/// A row of the versions/suites table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SuiteRow {
    /// `TLSv1.2`.
    pub version: String,
    /// The IANA name.
    pub suite: String,
    /// `ECDHE`, `RSA`, ...
    pub kex: &'static str,
    /// `AES-256-GCM`.
    pub cipher: &'static str,
    /// Forward secrecy.
    pub forward_secrecy: bool,
    /// AEAD (not CBC or RC4).
    pub aead: bool,
    /// The record protection: `AEAD`, `CBC`, `stream` (RC4) or `none`.
    pub mode: &'static str,
    /// Broken or unauthenticated (NULL, RC4, DES/3DES, export, anonymous).
    pub insecure: bool,
    /// Where it stands in Microsoft's list for Exchange Online.
    pub exo: ExoListing,
}

impl SuiteRow {
    /// Whether the row is weaker than what Microsoft's list starts with: no forward secrecy, not AEAD,
    /// or broken.
    pub fn weak(&self) -> bool {
        self.insecure || !self.forward_secrecy || !self.aead
    }
}

impl TlsScan {
    /// Whose cipher order wins, in words: `the server's own`, `the client's`, `not tested`.
    pub fn order_words(&self) -> &'static str {
        match self.server_order {
            Some(true) => "the server's own",
            Some(false) => "the client's",
            None => "not tested",
        }
    }

    /// Connections the scan made (one per ClientHello).
    pub fn connections(&self) -> usize {
        self.hellos.len()
    }

    /// What is known of `version`.
    pub fn version(&self, version: Version) -> Option<&VersionResult> {
        self.versions.iter().find(|v| v.version == version)
    }

    /// Whether `version` was seen accepted.
    pub fn accepts(&self, version: Version) -> bool {
        self.version(version).is_some_and(|v| v.accepted == Some(true))
    }

    /// The first ServerHello of the scan (the quick hello's, normally).
    pub fn first_hello(&self) -> Option<&Chosen> {
        self.hellos.iter().find_map(|h| h.chosen.as_ref())
    }

    /// The rows of the versions/suites table: TLS 1.3 suites, then the others, in the scan's order.
    pub fn rows(&self) -> Vec<SuiteRow> {
        let v12 = self
            .suites_version
            .map_or_else(|| "TLSv1.2".to_string(), |v| v.name().to_string());
        let tls13 = self.tls13_suites.iter().map(|s| ("TLSv1.3".to_string(), s));
        let older = self.suites.iter().map(|s| (v12.clone(), s));
        tls13
            .chain(older)
            .map(|(version, s)| {
                let known = suites::suite(s.id);
                SuiteRow {
                    version,
                    suite: s.name.clone(),
                    kex: known.map_or("?", |k| k.kex.name()),
                    cipher: known.map_or("?", |k| k.cipher),
                    forward_secrecy: known.is_some_and(suites::Suite::forward_secrecy),
                    aead: known.is_some_and(|k| k.mode == suites::Mode::Aead),
                    mode: known.map_or("?", |k| mode_name(k.mode)),
                    insecure: known.is_some_and(suites::Suite::insecure),
                    exo: suites::exo_listing(s.id),
                }
            })
            .collect()
    }

    /// One line per version: `TLSv1.3 refused (fatal alert protocol_version (70))`.
    pub fn version_lines(&self) -> Vec<String> {
        self.versions
            .iter()
            .map(|v| {
                let verdict = match v.accepted {
                    Some(true) => "accepted",
                    Some(false) => "refused",
                    None => "unknown",
                };
                format!("{} {verdict} ({})", v.version, v.answer)
            })
            .collect()
    }

    /// A one-line summary: `quick scan, 1 connection in 12 ms: TLSv1.2 TLS_ECDHE_RSA_... (x25519)`.
    pub fn summary(&self) -> String {
        let n = self.connections();
        let mut s = format!(
            "{} scan, {n} connection{} in {} ms",
            self.mode.as_str(),
            if n == 1 { "" } else { "s" },
            self.ms
        );
        if let Some(stopped) = &self.stopped {
            s.push_str(&format!(" (stopped: {stopped})"));
        }
        s
    }
}

impl TlsScan {
    /// The scan as aligned text lines: summary, versions, the suites table, order, groups, chain.
    pub fn text_lines(&self) -> Vec<String> {
        let mut out = vec![format!(
            "TLS scan: {}{}",
            self.summary(),
            match self.transport {
                Transport::StarttlsSmtp => ", after STARTTLS",
                Transport::Direct => "",
            }
        )];
        for v in self.version_lines() {
            out.push(format!("  {v}"));
        }
        let rows = self.rows();
        if !rows.is_empty() {
            let width = rows.iter().map(|r| r.suite.len()).max().unwrap_or(0);
            out.push(format!(
                "  {:<8} {:<width$} {:<9} {:<18} {}",
                "version", "suite", "kex", "cipher", "properties"
            ));
            for r in &rows {
                out.push(format!(
                    "  {:<8} {:<width$} {:<9} {:<18} {}",
                    r.version,
                    r.suite,
                    r.kex,
                    r.cipher,
                    row_words(r)
                ));
            }
        }
        out.push(format!("  cipher order: {}", self.order_words()));
        if !self.groups.is_empty() {
            out.push(format!("  named groups: {}", self.groups.join(", ")));
        }
        out.push(format!("  certificates sent in clear: {}", self.chain.len()));
        if self.mode == ScanMode::Quick {
            out.push("  (one ClientHello; --tls-scan full enumerates every version, suite and group)".into());
        }
        out
    }
}

/// `AEAD`, `CBC`, `stream` or `none`.
pub fn mode_name(mode: suites::Mode) -> &'static str {
    match mode {
        suites::Mode::Aead => "AEAD",
        suites::Mode::Cbc => "CBC",
        suites::Mode::Stream => "stream",
        suites::Mode::Null => "none",
    }
}

/// Words for a row's properties: `forward secrecy, AEAD, Exchange Online: listed`.
pub fn row_words(row: &SuiteRow) -> String {
    let mut parts = vec![
        if row.forward_secrecy {
            "forward secrecy"
        } else {
            "no forward secrecy"
        },
        row.mode,
    ];
    if row.insecure {
        parts.push("insecure");
    }
    parts.push(match row.exo {
        ExoListing::Listed => "in Microsoft's list",
        ExoListing::Legacy => "in Microsoft's legacy list",
        ExoListing::EcdsaCounterpart => "ECDSA counterpart of Microsoft's list",
        ExoListing::No => "not used by Exchange Online",
    });
    parts.join(", ")
}
