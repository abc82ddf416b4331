//! The record kinds mailpath reads and the lab serves, and one lookup as evidence ([`DnsAnswer`]); the
//! conversions from and to hickory's record data and the name helpers.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use hickory_resolver::proto::rr::rdata::tlsa::{CertUsage, Matching, Selector};
use hickory_resolver::proto::rr::rdata::{A, AAAA, CNAME, MX, NS, PTR, SOA, TLSA, TXT};
use hickory_resolver::proto::rr::{Name, RData, RecordType as HickoryRecordType};
use serde::{Deserialize, Serialize};

/// Why a name or a record cannot be put on the wire (the lab's zones, a resolver's question).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RecordError {
    /// The name is empty.
    #[error("empty DNS name")]
    EmptyName,
    /// The name is not a DNS name (an empty label, a label over 63 bytes, ...).
    #[error("invalid DNS name {name:?}: {reason}")]
    InvalidName {
        /// The name as given.
        name: String,
        /// The parser's words.
        reason: String,
    },
    /// TLSA data that is not hex.
    #[error("invalid hex data {hex:?}: {reason}")]
    InvalidHex {
        /// The data as given.
        hex: String,
        /// The decoder's words.
        reason: String,
    },
}

/// The largest character-string a TXT record can hold (RFC 1035 §3.3).
pub const TXT_CHUNK_MAX: usize = 255;

/// The record types mailpath asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum RecordType {
    /// IPv4 address.
    A,
    /// IPv6 address.
    Aaaa,
    /// Mail exchanger.
    Mx,
    /// Text (SPF, DMARC, verification strings).
    Txt,
    /// Canonical name (alias), e.g. DKIM selectors.
    Cname,
    /// Pointer (reverse DNS).
    Ptr,
    /// Name server.
    Ns,
    /// DANE TLSA association.
    Tlsa,
    /// Start of authority.
    Soa,
}

impl RecordType {
    /// All record types, in display order.
    pub const ALL: [RecordType; 9] = [
        RecordType::A,
        RecordType::Aaaa,
        RecordType::Mx,
        RecordType::Txt,
        RecordType::Cname,
        RecordType::Ptr,
        RecordType::Ns,
        RecordType::Tlsa,
        RecordType::Soa,
    ];

    /// The mnemonic as written in zone files and by `dig` (`A`, `AAAA`, `MX`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            RecordType::A => "A",
            RecordType::Aaaa => "AAAA",
            RecordType::Mx => "MX",
            RecordType::Txt => "TXT",
            RecordType::Cname => "CNAME",
            RecordType::Ptr => "PTR",
            RecordType::Ns => "NS",
            RecordType::Tlsa => "TLSA",
            RecordType::Soa => "SOA",
        }
    }

    pub(crate) fn to_hickory(self) -> HickoryRecordType {
        match self {
            RecordType::A => HickoryRecordType::A,
            RecordType::Aaaa => HickoryRecordType::AAAA,
            RecordType::Mx => HickoryRecordType::MX,
            RecordType::Txt => HickoryRecordType::TXT,
            RecordType::Cname => HickoryRecordType::CNAME,
            RecordType::Ptr => HickoryRecordType::PTR,
            RecordType::Ns => HickoryRecordType::NS,
            RecordType::Tlsa => HickoryRecordType::TLSA,
            RecordType::Soa => HickoryRecordType::SOA,
        }
    }
}

impl fmt::Display for RecordType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Error returned when parsing an unknown record type mnemonic.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown DNS record type {0:?} (expected one of A, AAAA, MX, TXT, CNAME, PTR, NS, TLSA, SOA)")]
pub struct UnknownRecordType(pub String);

impl FromStr for RecordType {
    type Err = UnknownRecordType;

    /// Parses a mnemonic, case-insensitively (`mx`, `MX`, `Aaaa`).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        RecordType::ALL
            .into_iter()
            .find(|t| t.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| UnknownRecordType(s.to_string()))
    }
}

/// The data of one DNS record, as evidence and as lab zone content.
///
/// Names are lower-case and without trailing dot; the root name is `.`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", content = "data", rename_all = "UPPERCASE")]
pub enum RecordData {
    /// IPv4 address.
    A(Ipv4Addr),
    /// IPv6 address.
    Aaaa(Ipv6Addr),
    /// Mail exchanger.
    Mx {
        /// Lower is preferred.
        preference: u16,
        /// The host name of the mail exchanger (`.` for a null MX, RFC 7505).
        exchange: String,
    },
    /// Text: the character-strings concatenated, which is how SPF and DMARC records are read
    /// (RFC 7208 §3.3). Bytes that are not UTF-8 are replaced with U+FFFD.
    Txt(String),
    /// Canonical name (the alias target).
    Cname(String),
    /// Pointer target (reverse DNS host name).
    Ptr(String),
    /// Name server host name.
    Ns(String),
    /// DANE TLSA association (RFC 6698).
    Tlsa {
        /// Certificate usage (0 PKIX-TA, 1 PKIX-EE, 2 DANE-TA, 3 DANE-EE).
        usage: u8,
        /// Selector (0 full certificate, 1 SubjectPublicKeyInfo).
        selector: u8,
        /// Matching type (0 exact, 1 SHA-256, 2 SHA-512).
        matching: u8,
        /// The association data, lower-case hex.
        data_hex: String,
    },
    /// Start of authority (the fields mailpath reports).
    Soa {
        /// Primary name server.
        mname: String,
        /// Responsible mailbox, in DNS name form.
        rname: String,
        /// Zone serial number.
        serial: u32,
    },
}

impl RecordData {
    /// The type of this record.
    pub fn record_type(&self) -> RecordType {
        match self {
            RecordData::A(_) => RecordType::A,
            RecordData::Aaaa(_) => RecordType::Aaaa,
            RecordData::Mx { .. } => RecordType::Mx,
            RecordData::Txt(_) => RecordType::Txt,
            RecordData::Cname(_) => RecordType::Cname,
            RecordData::Ptr(_) => RecordType::Ptr,
            RecordData::Ns(_) => RecordType::Ns,
            RecordData::Tlsa { .. } => RecordType::Tlsa,
            RecordData::Soa { .. } => RecordType::Soa,
        }
    }

    /// The address, for A and AAAA records.
    pub fn ip(&self) -> Option<IpAddr> {
        match self {
            RecordData::A(ip) => Some(IpAddr::V4(*ip)),
            RecordData::Aaaa(ip) => Some(IpAddr::V6(*ip)),
            _ => None,
        }
    }

    /// The target host name, for MX, CNAME, PTR and NS records.
    pub fn target(&self) -> Option<&str> {
        match self {
            RecordData::Mx { exchange, .. } => Some(exchange),
            RecordData::Cname(n) | RecordData::Ptr(n) | RecordData::Ns(n) => Some(n),
            _ => None,
        }
    }

    /// Converts hickory record data; `None` for types mailpath does not read (RRSIG, SRV, ...).
    pub(crate) fn from_rdata(rdata: &RData) -> Option<RecordData> {
        Some(match rdata {
            RData::A(A(ip)) => RecordData::A(*ip),
            RData::AAAA(AAAA(ip)) => RecordData::Aaaa(*ip),
            RData::MX(mx) => RecordData::Mx {
                preference: mx.preference,
                exchange: name_to_string(&mx.exchange),
            },
            RData::TXT(txt) => RecordData::Txt(txt_to_string(txt)),
            RData::CNAME(CNAME(n)) => RecordData::Cname(name_to_string(n)),
            RData::PTR(PTR(n)) => RecordData::Ptr(name_to_string(n)),
            RData::NS(NS(n)) => RecordData::Ns(name_to_string(n)),
            RData::TLSA(tlsa) => RecordData::Tlsa {
                usage: u8::from(tlsa.cert_usage),
                selector: u8::from(tlsa.selector),
                matching: u8::from(tlsa.matching),
                data_hex: data_encoding::HEXLOWER.encode(&tlsa.cert_data),
            },
            RData::SOA(soa) => RecordData::Soa {
                mname: name_to_string(&soa.mname),
                rname: name_to_string(&soa.rname),
                serial: soa.serial,
            },
            _ => return None,
        })
    }

    /// Converts to hickory record data (used by the lab's DNS server). TXT strings longer than 255 bytes
    /// are split into several character-strings; an SOA gets lab timers (refresh 3600, retry 600,
    /// expire 86400, negative TTL 60).
    pub(crate) fn to_rdata(&self) -> Result<RData, RecordError> {
        Ok(match self {
            RecordData::A(ip) => RData::A(A(*ip)),
            RecordData::Aaaa(ip) => RData::AAAA(AAAA(*ip)),
            RecordData::Mx { preference, exchange } => RData::MX(MX::new(*preference, parse_name(exchange)?)),
            RecordData::Txt(text) => RData::TXT(TXT::from_bytes(split_txt(text))),
            RecordData::Cname(n) => RData::CNAME(CNAME(parse_name(n)?)),
            RecordData::Ptr(n) => RData::PTR(PTR(parse_name(n)?)),
            RecordData::Ns(n) => RData::NS(NS(parse_name(n)?)),
            RecordData::Tlsa {
                usage,
                selector,
                matching,
                data_hex,
            } => RData::TLSA(TLSA::new(
                CertUsage::from(*usage),
                Selector::from(*selector),
                Matching::from(*matching),
                from_hex(data_hex)?,
            )),
            RecordData::Soa { mname, rname, serial } => RData::SOA(SOA::new(
                parse_name(mname)?,
                parse_name(rname)?,
                *serial,
                3600,
                600,
                86400,
                60,
            )),
        })
    }
}

/// Zone-file-like presentation of the record data, e.g. `MX 10 mail.contoso.com.` or `TXT "v=spf1 -all"`
/// (host names are written absolute, with the trailing dot, as `dig` shows them).
impl fmt::Display for RecordData {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let t = self.record_type();
        match self {
            RecordData::A(ip) => write!(f, "{t} {ip}"),
            RecordData::Aaaa(ip) => write!(f, "{t} {ip}"),
            RecordData::Mx { preference, exchange } => write!(f, "{t} {preference} {}", Fqdn(exchange)),
            RecordData::Txt(text) => write!(f, "{t} \"{}\"", escape_txt(text)),
            RecordData::Cname(n) | RecordData::Ptr(n) | RecordData::Ns(n) => write!(f, "{t} {}", Fqdn(n)),
            RecordData::Tlsa {
                usage,
                selector,
                matching,
                data_hex,
            } => {
                write!(
                    f,
                    "{t} {usage} {selector} {matching} {}",
                    data_hex.to_ascii_uppercase()
                )
            }
            RecordData::Soa { mname, rname, serial } => {
                write!(f, "{t} {} {} {serial}", Fqdn(mname), Fqdn(rname))
            }
        }
    }
}

/// Writes a host name absolute (`mail.contoso.com.`), leaving the root (`.`) alone.
struct Fqdn<'a>(&'a str);

impl fmt::Display for Fqdn<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.ends_with('.') {
            f.write_str(self.0)
        } else {
            write!(f, "{}.", self.0)
        }
    }
}

/// What came back for one question.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", content = "detail", rename_all = "lowercase")]
pub enum DnsOutcome {
    /// The answer section, in order. For a CNAME chain this holds the CNAME records followed by the
    /// records of the requested type; a chain ending at a name without such records holds only the CNAMEs.
    Records(Vec<RecordData>),
    /// The name does not exist (RCODE NXDOMAIN).
    NxDomain,
    /// The name exists but has no record of the requested type (RCODE NOERROR, empty answer).
    NoData,
    /// No answer within the timeout (server down, packets filtered).
    Timeout,
    /// Any other failure: the server answered SERVFAIL or REFUSED, the connection was refused, the name is
    /// invalid, the system resolver configuration is unreadable, ... The text says which.
    Error(String),
}

impl DnsOutcome {
    /// The records, empty unless the outcome is [`DnsOutcome::Records`].
    pub fn records(&self) -> &[RecordData] {
        match self {
            DnsOutcome::Records(r) => r,
            _ => &[],
        }
    }

    /// A short, stable word for the outcome: `records`, `nxdomain`, `nodata`, `timeout` or `error`.
    pub fn kind(&self) -> &'static str {
        match self {
            DnsOutcome::Records(_) => "records",
            DnsOutcome::NxDomain => "nxdomain",
            DnsOutcome::NoData => "nodata",
            DnsOutcome::Timeout => "timeout",
            DnsOutcome::Error(_) => "error",
        }
    }
}

impl fmt::Display for DnsOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DnsOutcome::Records(records) if records.is_empty() => f.write_str("no records"),
            DnsOutcome::Records(records) => {
                for (i, r) in records.iter().enumerate() {
                    if i > 0 {
                        f.write_str("; ")?;
                    }
                    write!(f, "{r}")?;
                }
                Ok(())
            }
            DnsOutcome::NxDomain => f.write_str("NXDOMAIN (name does not exist)"),
            DnsOutcome::NoData => f.write_str("NODATA (name exists, no record of that type)"),
            DnsOutcome::Timeout => f.write_str("timeout (no answer)"),
            DnsOutcome::Error(e) => write!(f, "error: {e}"),
        }
    }
}

/// One DNS lookup as evidence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DnsAnswer {
    /// The name asked for, lower-case, without trailing dot.
    pub name: String,
    /// The type asked for.
    pub rtype: RecordType,
    /// Which resolver answered: `system`, or the server address such as `127.0.0.1:5353`.
    pub server: String,
    /// What came back.
    pub outcome: DnsOutcome,
    /// Wall-clock time of the lookup (all tries and CNAME hops), in milliseconds.
    pub elapsed_ms: u64,
}

impl DnsAnswer {
    /// The records (answer section, in order), empty unless the outcome is [`DnsOutcome::Records`].
    pub fn records(&self) -> &[RecordData] {
        self.outcome.records()
    }

    /// The records of the requested type only (skipping CNAMEs of a chain, unless CNAME was asked).
    pub fn records_of_requested_type(&self) -> impl Iterator<Item = &RecordData> {
        self.records()
            .iter()
            .filter(move |r| r.record_type() == self.rtype)
    }

    /// True when the answer holds at least one record of the requested type.
    pub fn has_records(&self) -> bool {
        self.records_of_requested_type().next().is_some()
    }

    /// The addresses of the A and AAAA records in the answer.
    pub fn ips(&self) -> Vec<IpAddr> {
        self.records().iter().filter_map(RecordData::ip).collect()
    }

    /// The MX records as `(preference, exchange)`, sorted by preference (stable for equal preferences).
    pub fn mx(&self) -> Vec<(u16, &str)> {
        let mut mx: Vec<(u16, &str)> = self
            .records()
            .iter()
            .filter_map(|r| match r {
                RecordData::Mx { preference, exchange } => Some((*preference, exchange.as_str())),
                _ => None,
            })
            .collect();
        mx.sort_by_key(|(p, _)| *p);
        mx
    }

    /// The TXT strings in the answer (each one the concatenation of its character-strings).
    pub fn txt(&self) -> Vec<&str> {
        self.records()
            .iter()
            .filter_map(|r| match r {
                RecordData::Txt(t) => Some(t.as_str()),
                _ => None,
            })
            .collect()
    }

    /// The host names of the PTR records in the answer.
    pub fn ptr(&self) -> Vec<&str> {
        self.records()
            .iter()
            .filter_map(|r| match r {
                RecordData::Ptr(t) => Some(t.as_str()),
                _ => None,
            })
            .collect()
    }

    /// The first CNAME target in the answer, if the name is an alias.
    pub fn cname(&self) -> Option<&str> {
        self.records().iter().find_map(|r| match r {
            RecordData::Cname(t) => Some(t.as_str()),
            _ => None,
        })
    }

    /// True for NXDOMAIN.
    pub fn is_nxdomain(&self) -> bool {
        matches!(self.outcome, DnsOutcome::NxDomain)
    }

    /// True for NODATA (the name exists without a record of that type).
    pub fn is_nodata(&self) -> bool {
        matches!(self.outcome, DnsOutcome::NoData)
    }

    /// True when no answer came back in time.
    pub fn is_timeout(&self) -> bool {
        matches!(self.outcome, DnsOutcome::Timeout)
    }

    /// The error text, for [`DnsOutcome::Error`].
    pub fn error(&self) -> Option<&str> {
        match &self.outcome {
            DnsOutcome::Error(e) => Some(e),
            _ => None,
        }
    }

    /// True when the lookup failed (timeout or error) rather than the DNS giving an answer, positive or
    /// negative.
    pub fn is_failure(&self) -> bool {
        matches!(self.outcome, DnsOutcome::Timeout | DnsOutcome::Error(_))
    }
}

/// One line: `contoso.com MX @127.0.0.1:5353 -> MX 10 mail.contoso.com. (2 ms)`.
impl fmt::Display for DnsAnswer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} @{} -> {} ({} ms)",
            self.name, self.rtype, self.server, self.outcome, self.elapsed_ms
        )
    }
}

/// Parses a host name as an absolute DNS name (trailing dot optional). Accepts underscores (`_dmarc`,
/// `selector1._domainkey`) and internationalized names (encoded with IDNA).
pub(crate) fn parse_name(name: &str) -> Result<Name, RecordError> {
    let trimmed = name.trim();
    if trimmed.is_empty() {
        return Err(RecordError::EmptyName);
    }
    let absolute = if trimmed.ends_with('.') {
        trimmed.to_string()
    } else {
        format!("{trimmed}.")
    };
    let parsed = Name::from_str_relaxed(&absolute).map_err(|e| RecordError::InvalidName {
        name: name.to_string(),
        reason: e.to_string(),
    })?;
    Ok(parsed.to_lowercase())
}

/// A DNS name as mailpath writes it: lower-case, no trailing dot, the root as `.`.
pub(crate) fn name_to_string(name: &Name) -> String {
    if name.is_root() {
        return ".".to_string();
    }
    let ascii = name.to_lowercase().to_ascii();
    ascii.strip_suffix('.').unwrap_or(&ascii).to_string()
}

/// Lower-cases a user-given name and drops its trailing dot (the root stays `.`).
pub fn normalize_name(name: &str) -> String {
    let t = name.trim();
    if t == "." {
        return ".".to_string();
    }
    t.strip_suffix('.').unwrap_or(t).to_ascii_lowercase()
}

/// The reverse-DNS name of an address: `10.2.0.192.in-addr.arpa` for 192.0.2.10, the nibble form under
/// `ip6.arpa` for IPv6 (RFC 3596). IPv4-mapped IPv6 addresses are reversed as IPv6.
pub fn reverse_name(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, c, d] = v4.octets();
            format!("{d}.{c}.{b}.{a}.in-addr.arpa")
        }
        IpAddr::V6(v6) => {
            let mut out = String::with_capacity(72);
            for byte in v6.octets().iter().rev() {
                for nibble in [byte & 0x0f, byte >> 4] {
                    out.push(char::from_digit(u32::from(nibble), 16).unwrap_or('0'));
                    out.push('.');
                }
            }
            out.push_str("ip6.arpa");
            out
        }
    }
}

fn txt_to_string(txt: &TXT) -> String {
    let bytes: Vec<u8> = txt.txt_data.iter().flat_map(|s| s.iter().copied()).collect();
    String::from_utf8_lossy(&bytes).into_owned()
}

/// Splits a TXT value into character-strings of at most 255 bytes (an empty value is one empty string).
pub(crate) fn split_txt(text: &str) -> Vec<&[u8]> {
    let bytes = text.as_bytes();
    if bytes.is_empty() {
        return vec![bytes];
    }
    bytes.chunks(TXT_CHUNK_MAX).collect()
}

fn escape_txt(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            c if c.is_control() => out.push_str(&format!("\\{:03}", u32::from(c))),
            c => out.push(c),
        }
    }
    out
}

fn from_hex(hex: &str) -> Result<Vec<u8>, RecordError> {
    let clean: Vec<u8> = hex.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    data_encoding::HEXLOWER_PERMISSIVE
        .decode(&clean)
        .map_err(|e| RecordError::InvalidHex {
            hex: hex.to_string(),
            reason: e.to_string(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reverse_names() {
        assert_eq!(
            reverse_name("192.0.2.10".parse().unwrap()),
            "10.2.0.192.in-addr.arpa"
        );
        assert_eq!(
            reverse_name("127.0.0.1".parse().unwrap()),
            "1.0.0.127.in-addr.arpa"
        );
        assert_eq!(
            reverse_name("2001:db8::567:89ab".parse().unwrap()),
            "b.a.9.8.7.6.5.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa"
        );
        assert_eq!(
            reverse_name("::1".parse().unwrap()),
            format!("1.{}ip6.arpa", "0.".repeat(31))
        );
    }

    #[test]
    fn record_type_text() {
        for t in RecordType::ALL {
            assert_eq!(t.as_str().parse::<RecordType>().unwrap(), t);
            assert_eq!(t.to_string(), t.as_str());
            assert_eq!(serde_json::to_string(&t).unwrap(), format!("\"{}\"", t.as_str()));
        }
        assert_eq!("aaaa".parse::<RecordType>().unwrap(), RecordType::Aaaa);
        assert!("SRV".parse::<RecordType>().is_err());
    }

    #[test]
    fn display_is_zone_file_like() {
        let cases = [
            (RecordData::A("192.0.2.1".parse().unwrap()), "A 192.0.2.1"),
            (
                RecordData::Aaaa("2001:db8::1".parse().unwrap()),
                "AAAA 2001:db8::1",
            ),
            (
                RecordData::Mx {
                    preference: 10,
                    exchange: "mail.contoso.com".into(),
                },
                "MX 10 mail.contoso.com.",
            ),
            (
                RecordData::Mx {
                    preference: 0,
                    exchange: ".".into(),
                },
                "MX 0 .",
            ),
            (RecordData::Txt("v=spf1 -all".into()), "TXT \"v=spf1 -all\""),
            (RecordData::Txt("a\"b\\c".into()), "TXT \"a\\\"b\\\\c\""),
            (RecordData::Cname("x.contoso.com".into()), "CNAME x.contoso.com."),
            (
                RecordData::Ptr("edge.contoso.com".into()),
                "PTR edge.contoso.com.",
            ),
            (RecordData::Ns("ns1.contoso.com".into()), "NS ns1.contoso.com."),
            (
                RecordData::Tlsa {
                    usage: 3,
                    selector: 1,
                    matching: 1,
                    data_hex: "ab01".into(),
                },
                "TLSA 3 1 1 AB01",
            ),
            (
                RecordData::Soa {
                    mname: "ns1.contoso.com".into(),
                    rname: "hostmaster.contoso.com".into(),
                    serial: 7,
                },
                "SOA ns1.contoso.com. hostmaster.contoso.com. 7",
            ),
        ];
        for (data, text) in cases {
            assert_eq!(data.to_string(), text);
        }
    }

    #[test]
    fn serde_shape() {
        let mx = RecordData::Mx {
            preference: 10,
            exchange: "mail.contoso.com".into(),
        };
        let json = serde_json::to_value(&mx).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"type": "MX", "data": {"preference": 10, "exchange": "mail.contoso.com"}})
        );
        let a = serde_json::to_value(RecordData::A(Ipv4Addr::LOCALHOST)).unwrap();
        assert_eq!(a, serde_json::json!({"type": "A", "data": "127.0.0.1"}));

        let answer = DnsAnswer {
            name: "contoso.com".into(),
            rtype: RecordType::Mx,
            server: "127.0.0.1:5353".into(),
            outcome: DnsOutcome::Records(vec![mx]),
            elapsed_ms: 3,
        };
        let text = serde_json::to_string(&answer).unwrap();
        let back: DnsAnswer = serde_json::from_str(&text).unwrap();
        assert_eq!(back, answer);
        for outcome in [
            DnsOutcome::NxDomain,
            DnsOutcome::NoData,
            DnsOutcome::Timeout,
            DnsOutcome::Error("x".into()),
        ] {
            let text = serde_json::to_string(&outcome).unwrap();
            assert!(text.contains(outcome.kind()), "{text}");
            assert_eq!(serde_json::from_str::<DnsOutcome>(&text).unwrap(), outcome);
        }
    }

    #[test]
    fn rdata_round_trip() {
        let long = "v=spf1 ".to_string() + &"ip4:192.0.2.1 ".repeat(30) + "-all";
        assert!(long.len() > 255);
        let all = [
            RecordData::A("192.0.2.1".parse().unwrap()),
            RecordData::Aaaa("2001:db8::1".parse().unwrap()),
            RecordData::Mx {
                preference: 10,
                exchange: "mail.contoso.com".into(),
            },
            RecordData::Mx {
                preference: 0,
                exchange: ".".into(),
            },
            RecordData::Txt(long.clone()),
            RecordData::Txt(String::new()),
            RecordData::Cname("selector1-contoso-com._domainkey.contoso.onmicrosoft.com".into()),
            RecordData::Ptr("edge.contoso.com".into()),
            RecordData::Ns("ns1.contoso.com".into()),
            RecordData::Tlsa {
                usage: 3,
                selector: 1,
                matching: 1,
                data_hex: "00ff10".into(),
            },
            RecordData::Soa {
                mname: "ns1.contoso.com".into(),
                rname: "hostmaster.contoso.com".into(),
                serial: 1,
            },
        ];
        for data in all {
            let rdata = data.to_rdata().unwrap();
            assert_eq!(RecordData::from_rdata(&rdata).as_ref(), Some(&data), "{data}");
        }
        let RData::TXT(txt) = RecordData::Txt(long).to_rdata().unwrap() else {
            panic!("not TXT")
        };
        assert!(txt.txt_data.len() >= 2);
        assert!(txt.txt_data.iter().all(|s| s.len() <= 255));
    }

    #[test]
    fn names_are_normalized() {
        assert_eq!(normalize_name("Contoso.COM."), "contoso.com");
        assert_eq!(normalize_name("."), ".");
        let n = parse_name("Selector1._DomainKey.Contoso.com").unwrap();
        assert_eq!(name_to_string(&n), "selector1._domainkey.contoso.com");
        assert!(parse_name("").is_err());
        assert!(parse_name("a..b").is_err());
        assert_eq!(name_to_string(&Name::root()), ".");
        assert!(RecordData::Cname("bad..name".into()).to_rdata().is_err());
        assert!(
            RecordData::Tlsa {
                usage: 3,
                selector: 1,
                matching: 1,
                data_hex: "abc".into()
            }
            .to_rdata()
            .is_err()
        );
    }

    #[test]
    fn answer_helpers() {
        let answer = DnsAnswer {
            name: "mail.contoso.com".into(),
            rtype: RecordType::A,
            server: "system".into(),
            outcome: DnsOutcome::Records(vec![
                RecordData::Cname("edge.contoso.com".into()),
                RecordData::A("192.0.2.1".parse().unwrap()),
            ]),
            elapsed_ms: 1,
        };
        assert_eq!(answer.cname(), Some("edge.contoso.com"));
        assert_eq!(answer.ips(), vec!["192.0.2.1".parse::<IpAddr>().unwrap()]);
        assert_eq!(answer.records_of_requested_type().count(), 1);
        assert!(answer.has_records() && !answer.is_failure() && !answer.is_nxdomain());
        assert!(
            answer
                .to_string()
                .starts_with("mail.contoso.com A @system -> CNAME edge.contoso.com.; A 192.0.2.1")
        );
    }
}
