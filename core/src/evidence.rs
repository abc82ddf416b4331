//! Evidence: what the probes observed, as plain serde data. Checks judge it; nothing here judges.

use std::net::{IpAddr, SocketAddr};

use rustls_pki_types::CertificateDer;
use serde::{Deserialize, Serialize};

use crate::dns::DnsAnswer;

pub mod tls_scan;

/// Everything one diagnosis observed.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Evidence {
    /// Every DNS answer, in the order the queries were made.
    pub dns: Vec<DnsAnswer>,
    /// Every SMTP endpoint probed.
    pub smtp: Vec<SmtpProbe>,
    /// Every TLS-only port probed (EdgeSync LDAPS on 50636).
    pub tls_ports: Vec<TlsPortProbe>,
    /// One query (the SOA of the routing domain) asked of each DNS server on its own: which servers
    /// answer at all (`dns.resolver`). Absent in diagnoses saved before it existed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resolvers: Vec<DnsAnswer>,
}

impl Evidence {
    /// The SMTP probe with this id.
    pub fn smtp(&self, id: &str) -> Option<&SmtpProbe> {
        self.smtp.iter().find(|p| p.id == id)
    }

    /// The TLS port probe with this id.
    pub fn tls_port(&self, id: &str) -> Option<&TlsPortProbe> {
        self.tls_ports.iter().find(|p| p.id == id)
    }

    /// The answers for a name and type (several when several resolvers were asked).
    pub fn dns_answers<'a>(
        &'a self,
        name: &str,
        rtype: crate::dns::RecordType,
    ) -> impl Iterator<Item = &'a DnsAnswer> + 'a {
        let name = name.trim_end_matches('.').to_ascii_lowercase();
        self.dns
            .iter()
            .filter(move |a| a.rtype == rtype && a.name.eq_ignore_ascii_case(&name))
    }
}

/// How a TCP connection attempt ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "kebab-case")]
pub enum Connect {
    /// Connected after `ms` milliseconds.
    Connected {
        /// The address connected to.
        address: SocketAddr,
        /// Time to connect.
        ms: u64,
    },
    /// The peer answered with a reset: nothing listens, or a firewall rejects.
    Refused {
        /// The address tried.
        address: SocketAddr,
    },
    /// No answer within the timeout: packets are dropped (filtered) or the host is down.
    TimedOut {
        /// The address tried.
        address: SocketAddr,
        /// How long was waited.
        ms: u64,
    },
    /// The network or host is unreachable.
    Unreachable {
        /// The address tried.
        address: SocketAddr,
        /// The OS's words.
        error: String,
    },
    /// The host name did not resolve to any address.
    NoAddress {
        /// Why.
        error: String,
    },
    /// Another error.
    Failed {
        /// The address tried.
        address: Option<SocketAddr>,
        /// The OS's words.
        error: String,
    },
}

impl Connect {
    /// How the connection attempt ended, in words (`connection refused by 192.0.2.1:25`).
    pub fn words(&self) -> String {
        match self {
            Connect::Connected { address, ms } => format!("connected to {address} in {ms} ms"),
            Connect::Refused { address } => format!("connection refused by {address}"),
            Connect::TimedOut { address, ms } => {
                format!("no answer from {address} in {} s (filtered)", ms / 1000)
            }
            Connect::Unreachable { address, error } => format!("{address} unreachable: {error}"),
            Connect::NoAddress { error } => format!("no address: {error}"),
            Connect::Failed { address, error } => match address {
                Some(a) => format!("{a}: {error}"),
                None => error.clone(),
            },
        }
    }
}

impl Connect {
    /// Whether the connection was made.
    pub fn is_connected(&self) -> bool {
        matches!(self, Connect::Connected { .. })
    }
}

/// Who wrote a transcript line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Direction {
    /// mailpath sent it.
    Client,
    /// The server sent it.
    Server,
    /// A note from mailpath (connected, TLS negotiated, timeout).
    Info,
    /// A problem (timeout, reset, garbage).
    Error,
}

/// One line of an SMTP transcript, swaks-like.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TranscriptLine {
    /// Milliseconds since the probe started.
    pub ms: u64,
    /// Who said it.
    pub dir: Direction,
    /// Whether it travelled inside TLS.
    pub tls: bool,
    /// The text (non-printable bytes escaped as `\xNN`).
    pub text: String,
}

/// An SMTP reply: code and lines (without the code and separator).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reply {
    /// The three-digit code.
    pub code: u16,
    /// The text of every line.
    pub lines: Vec<String>,
    /// Milliseconds from the command (or connect, for the greeting) to the end of the reply.
    pub ms: u64,
}

impl Reply {
    /// The first line's text.
    pub fn first(&self) -> &str {
        self.lines.first().map_or("", String::as_str)
    }

    /// The enhanced status code (`5.7.1`) at the start of the first line, when present.
    pub fn enhanced(&self) -> Option<&str> {
        let word = self.first().split_whitespace().next()?;
        let mut parts = word.split('.');
        let ok = parts.next().is_some_and(|c| matches!(c, "2" | "4" | "5"))
            && parts
                .next()
                .is_some_and(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()))
            && parts
                .next()
                .is_some_and(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()))
            && parts.next().is_none();
        ok.then_some(word)
    }

    /// The whole reply as the server sent it (`250-a` / `250 b`).
    pub fn to_wire(&self) -> String {
        let n = self.lines.len();
        self.lines
            .iter()
            .enumerate()
            .map(|(i, l)| format!("{}{}{}", self.code, if i + 1 == n { ' ' } else { '-' }, l))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// Where a probe stopped, when it did not run to QUIT.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Stage {
    /// Connecting.
    Connect,
    /// Waiting for the greeting.
    Banner,
    /// EHLO/HELO.
    Ehlo,
    /// The STARTTLS command.
    StartTls,
    /// The TLS handshake.
    TlsHandshake,
    /// EHLO inside TLS.
    EhloTls,
    /// QUIT.
    Quit,
}

impl Stage {
    /// What the step waits for, in a few words (`connect`, `greeting`, `TLS handshake`).
    pub fn label(self) -> &'static str {
        match self {
            Stage::Connect => "connect",
            Stage::Banner => "greeting",
            Stage::Ehlo => "EHLO",
            Stage::StartTls => "STARTTLS",
            Stage::TlsHandshake => "TLS handshake",
            Stage::EhloTls => "EHLO inside TLS",
            Stage::Quit => "QUIT",
        }
    }
}

/// Why a probe stopped early.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProbeFailure {
    /// Where.
    pub stage: Stage,
    /// What kind of failure.
    pub kind: FailureKind,
    /// Human words, with the numbers (bytes received, seconds waited).
    pub message: String,
}

/// Kinds of early stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FailureKind {
    /// Nothing (complete) arrived within the step's timeout.
    Timeout,
    /// Something arrived, but too slowly: the step's timeout passed mid-reply.
    TooSlow,
    /// The peer closed or reset the connection.
    Closed,
    /// The peer sent bytes that are not SMTP.
    NotSmtp,
    /// A line or reply exceeded the bounds.
    TooLong,
    /// The server answered with an error code.
    Rejected,
    /// The TLS handshake failed.
    Tls,
    /// An I/O error.
    Io,
}

/// The TLS side of a probe.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TlsEvidence {
    /// The server name sent in SNI.
    pub sni: Option<String>,
    /// The negotiated protocol version (`TLSv1.3`), when the handshake completed.
    pub version: Option<String>,
    /// The negotiated cipher suite.
    pub cipher: Option<String>,
    /// The certificates the server sent, in order, DER (base64 strings under `chain_der_b64` in JSON).
    /// Captured even when they are bad. In a redacted diagnosis, markers instead
    /// ([`crate::encoding::redacted_label`]).
    #[serde(rename = "chain_der_b64", with = "crate::encoding::der_chain")]
    pub chain: Vec<CertificateDer<'static>>,
    /// The handshake error, when it failed.
    pub error: Option<String>,
    /// The TLS alert the server sent, when it sent one (e.g. `ProtocolVersion`).
    pub alert: Option<String>,
    /// Milliseconds the handshake took.
    pub ms: Option<u64>,
    /// Whether `chain_der_b64` was read by the handshake scanner on its own connection, because this
    /// handshake failed before the certificate (a server rustls cannot talk to).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub chain_from_scan: bool,
}

impl TlsEvidence {
    /// Whether the handshake completed.
    pub fn completed(&self) -> bool {
        self.version.is_some() && self.error.is_none()
    }
}

/// What one SMTP endpoint showed: connect, greeting, EHLO, STARTTLS, TLS, EHLO again, QUIT.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SmtpProbe {
    /// A stable id for references (`smtp:mail.contoso.com:25`).
    pub id: String,
    /// The host name probed.
    pub host: String,
    /// The port probed.
    pub port: u16,
    /// The addresses the host resolved to.
    pub addresses: Vec<IpAddr>,
    /// The EHLO name mailpath presented.
    pub helo: String,
    /// How connecting went.
    pub connect: Connect,
    /// The greeting.
    pub banner: Option<Reply>,
    /// The reply to EHLO (or HELO after EHLO was refused).
    pub ehlo: Option<Reply>,
    /// Whether HELO had to be used.
    pub used_helo: bool,
    /// The reply to STARTTLS, when sent.
    pub starttls: Option<Reply>,
    /// The TLS handshake, when attempted.
    pub tls: Option<TlsEvidence>,
    /// The reply to EHLO inside TLS.
    pub ehlo_tls: Option<Reply>,
    /// Where and why the probe stopped early.
    pub failure: Option<ProbeFailure>,
    /// Bytes received before a failure that were not a complete reply.
    pub partial: Option<String>,
    /// The whole dialogue.
    pub transcript: Vec<TranscriptLine>,
    /// Total milliseconds.
    pub ms: u64,
    /// What the TLS handshake scanner saw on its own connections (versions, suites, groups, the
    /// chain), when it ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_scan: Option<tls_scan::TlsScan>,
}

impl SmtpProbe {
    /// A probe of `host:port` (id `smtp:HOST:PORT`) that has got no further than `connect`: nothing said,
    /// no TLS, no transcript yet.
    pub fn new(host: &str, port: u16, addresses: Vec<IpAddr>, helo: &str, connect: Connect) -> SmtpProbe {
        SmtpProbe {
            id: format!("smtp:{host}:{port}"),
            host: host.to_string(),
            port,
            addresses,
            helo: helo.to_string(),
            connect,
            banner: None,
            ehlo: None,
            used_helo: false,
            starttls: None,
            tls: None,
            ehlo_tls: None,
            failure: None,
            partial: None,
            transcript: Vec::new(),
            ms: 0,
            tls_scan: None,
        }
    }

    /// The EHLO keywords (first word of each line after the greeting line), upper-case.
    pub fn extensions(&self) -> Vec<String> {
        extensions(self.ehlo.as_ref())
    }

    /// The EHLO keywords inside TLS.
    pub fn extensions_tls(&self) -> Vec<String> {
        extensions(self.ehlo_tls.as_ref())
    }
}

fn extensions(reply: Option<&Reply>) -> Vec<String> {
    let Some(reply) = reply else { return Vec::new() };
    if reply.code != 250 {
        return Vec::new();
    }
    reply
        .lines
        .iter()
        .skip(1)
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_ascii_uppercase)
        .collect()
}

/// A TLS-only port (EdgeSync's LDAPS, 50636): connect and handshake.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TlsPortProbe {
    /// A stable id (`ldaps:edge01.contoso.com:50636`).
    pub id: String,
    /// The host.
    pub host: String,
    /// The port.
    pub port: u16,
    /// How connecting went.
    pub connect: Connect,
    /// The handshake, when connected.
    pub tls: Option<TlsEvidence>,
    /// Total milliseconds.
    pub ms: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enhanced_codes_are_recognised_only_when_well_formed() {
        let r = |t: &str| Reply {
            code: 550,
            lines: vec![t.into()],
            ms: 0,
        };
        assert_eq!(
            r("5.7.64 TenantAttribution; Relay Access Denied").enhanced(),
            Some("5.7.64")
        );
        assert_eq!(r("Relay denied").enhanced(), None);
        assert_eq!(r("5.7 nope").enhanced(), None);
        assert_eq!(r("1.2.3 nope").enhanced(), None);
    }

    #[test]
    fn extensions_skip_the_greeting_line() {
        let p = Reply {
            code: 250,
            lines: vec!["host Hello".into(), "SIZE 100".into(), "starttls".into()],
            ms: 0,
        };
        assert_eq!(extensions(Some(&p)), ["SIZE", "STARTTLS"]);
        assert_eq!(p.to_wire(), "250-host Hello\n250-SIZE 100\n250 starttls");
    }
}
