//! Message header analysis: the path a message really took (its `Received` chain as hops, with
//! delays and TLS per hop), the Exchange hybrid headers, and a verdict: would Exchange treat this
//! message as internal (authenticated, from the organization) or as anonymous, and why.
//!
//! Headers are split and decoded with [`mail_parser`] (which also parses `Received` fields, including
//! Exchange's `with Microsoft SMTP Server (version=TLS1_2, cipher=...)`); everything is bounded:
//! at most [`MAX_HEADER_BYTES`] of header section and [`MAX_HOPS`] `Received` fields are read.
//!
//! The results are [`CheckResult`]s with `headers.*` ids ([`DEFS`]), the same shape as every other
//! check, so the relay, the CLI (`mailpath headers`), the GUI and the reports show them alike.
//!
//! What the headers mean (see shared/reference/hybrid-mail-flow.md, section 3):
//! - `X-MS-Exchange-Organization-AuthAs: Internal|Anonymous` is the verdict Exchange itself reached;
//!   `-AuthSource`, `-AuthMechanism`, `-SCL` (-1: internal, filtering bypassed) and
//!   `-MessageDirectionality` (Originating/Incoming) support it.
//! - On the way between on-premises and Exchange Online, connectors with CloudServicesMailEnabled
//!   rename them to `X-MS-Exchange-CrossPremises-*` and the receiving side promotes them back
//!   (`X-MS-Exchange-Organization-Cross-Premises-Headers-Promoted`, `X-CrossPremisesHeadersPromoted`).
//! - `X-CrossPremisesHeadersFilteredBySendConnector: <server>`: the send connector on that server has
//!   CloudServicesMailEnabled False, the headers were removed, the message arrives anonymous.
//! - `X-Forefront-Antispam-Report-Untrusted` next to `X-Forefront-Antispam-Report`: the message was
//!   filtered twice because the cross-premises headers were not promoted (KB 3079142).

use std::borrow::Cow;

use mail_parser::{HeaderValue, Host, MessageParser, Protocol, TlsVersion};
use serde::{Deserialize, Serialize};

use crate::check::{Attachment, CheckDef, CheckResult, Counts, Status};

/// The header `mailpath relay send` puts on its test messages.
pub const TRACKING_HEADER: &str = "X-Mailpath-Tracking";
/// The schema tag of [`HeaderAnalysis`] in JSON.
pub const SCHEMA: &str = "mailpath/headers/1";
/// Most bytes of header section analysed.
pub const MAX_HEADER_BYTES: usize = 256 * 1024;
/// Most `Received` fields turned into hops.
pub const MAX_HOPS: usize = 100;
/// A hop slower than this is reported.
pub const SLOW_HOP_SECS: i64 = 10 * 60;
/// A negative delay larger than this (clock skew) is reported.
pub const SKEW_SECS: i64 = 120;

const HEADER_FIREWALL: &str =
    "https://learn.microsoft.com/exchange/mail-flow/mail-routing/cross-premises-mail-routing";
const TRANSPORT_OPTIONS: &str =
    "https://learn.microsoft.com/exchange/transport-options#hybrid-deployment-transport-options";
const SET_SEND_CONNECTOR: &str = "https://learn.microsoft.com/powershell/module/exchange/set-sendconnector";
const SET_INBOUND_CONNECTOR: &str =
    "https://learn.microsoft.com/powershell/module/exchange/set-inboundconnector";
const ANTISPAM_HEADERS: &str = "https://learn.microsoft.com/defender-office-365/message-headers-eop-mdo";
const KB3079142: &str =
    "https://learn.microsoft.com/troubleshoot/exchange/mail-flow/email-messages-marked-as-spam";
const MHA: &str = "https://github.com/microsoft/MHA";
const TLS12: &str = "https://learn.microsoft.com/exchange/exchange-tls-configuration";

/// `headers.received`.
pub const RECEIVED: CheckDef = CheckDef {
    id: "headers.received",
    title: "Received chain readable",
    why: "The Received fields are the only record of the path a message really took; without them nothing can \
          be said about its hops.",
    references: &[MHA],
};
/// `headers.delay`.
pub const DELAY: CheckDef = CheckDef {
    id: "headers.delay",
    title: "No hop held the message long",
    why: "A long delay on one hop points at a queue (retries towards an unreachable next hop, throttling); a \
          negative one at a clock that is wrong, which makes every other delay suspect.",
    references: &[MHA],
};
/// `headers.tls`.
pub const TLS: CheckDef = CheckDef {
    id: "headers.tls",
    title: "TLS on every hop",
    why: "Hybrid connectors require TLS 1.2 between on-premises and Exchange Online; a hop recorded without TLS \
          (or with TLS 1.0/1.1) is a hop where the mail travelled unprotected or a connector did not enforce \
          it.",
    references: &[TLS12, TRANSPORT_OPTIONS],
};
/// `headers.third-party-hop`.
pub const THIRD_PARTY: CheckDef = CheckDef {
    id: "headers.third-party-hop",
    title: "No third-party hop between on-premises and Exchange Online",
    why: "Hybrid is unsupported when a server, service or device processes SMTP between on-premises Exchange \
          and Microsoft 365: the message loses its cross-premises headers and arrives as external, so \
          anti-spam and transport rules apply to internal mail.",
    references: &[TRANSPORT_OPTIONS],
};
/// `headers.authas`.
pub const AUTHAS: CheckDef = CheckDef {
    id: "headers.authas",
    title: "Message treated as internal (AuthAs)",
    why: "Mail between the on-premises organization and Exchange Online must arrive as Internal \
          (X-MS-Exchange-Organization-AuthAs: Internal, SCL -1); as Anonymous it is filtered as internet mail, \
          junked or quarantined, and internal-only features break.",
    references: &[HEADER_FIREWALL, SET_INBOUND_CONNECTOR],
};
/// `headers.cross-premises.filtered`.
pub const FILTERED: CheckDef = CheckDef {
    id: "headers.cross-premises.filtered",
    title: "Cross-premises headers not filtered by a send connector",
    why: "X-CrossPremisesHeadersFilteredBySendConnector means the sending connector has CloudServicesMailEnabled \
          $false: it strips the organization headers, so the message cannot arrive as internal (KB 3212872).",
    references: &[SET_SEND_CONNECTOR, HEADER_FIREWALL],
};
/// `headers.cross-premises.promoted`.
pub const PROMOTED: CheckDef = CheckDef {
    id: "headers.cross-premises.promoted",
    title: "Cross-premises headers promoted on arrival",
    why: "The receiving side promotes X-MS-Exchange-CrossPremises-* back to X-MS-Exchange-Organization-* only \
          when the connection is attributed to the organization (certificate matching the connector, \
          CloudServicesMailEnabled on both sides); otherwise they are ignored.",
    references: &[HEADER_FIREWALL, SET_INBOUND_CONNECTOR],
};
/// `headers.antispam.double-scan`.
pub const DOUBLE_SCAN: CheckDef = CheckDef {
    id: "headers.antispam.double-scan",
    title: "Message filtered once, not twice",
    why: "X-Forefront-Antispam-Report-Untrusted next to X-Forefront-Antispam-Report means the message was \
          scanned twice because its cross-premises headers were not promoted (centralized mail transport): \
          false quarantines and SPF failures follow (KB 3079142).",
    references: &[KB3079142, ANTISPAM_HEADERS],
};

/// Every definition of this module.
pub const DEFS: &[CheckDef] = &[
    RECEIVED,
    DELAY,
    TLS,
    THIRD_PARTY,
    AUTHAS,
    FILTERED,
    PROMOTED,
    DOUBLE_SCAN,
];

/// Who handled a hop, judged by the receiving host (the `by` part) and the software it names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum HopRole {
    /// An Exchange server of the organization (Mailbox or Edge): `with Microsoft SMTP Server` or
    /// `with mapi` from a host outside Microsoft's domains.
    OnPremises,
    /// Exchange Online Protection (`*.protection.outlook.com`).
    Eop,
    /// Exchange Online (`*.prod.outlook.com`, `*.outlook.office365.com`, other `*.outlook.com`).
    ExchangeOnline,
    /// Anything else: an internet sender, a gateway, an appliance, a cloud filter.
    Other,
}

impl HopRole {
    /// Whether the hop is Microsoft's (EOP or Exchange Online).
    pub fn is_microsoft(self) -> bool {
        matches!(self, HopRole::Eop | HopRole::ExchangeOnline)
    }

    fn words(self) -> &'static str {
        match self {
            HopRole::OnPremises => "on-premises Exchange",
            HopRole::Eop => "EOP",
            HopRole::ExchangeOnline => "Exchange Online",
            HopRole::Other => "other",
        }
    }
}

/// Whether a hop's Received field shows TLS.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TlsSeen {
    /// TLS recorded (`version=TLS1_2`, `using TLSv1.3`, `with ESMTPS`).
    Yes,
    /// Recorded as plain SMTP (`with ESMTP`, Exchange without `version=`).
    No,
    /// Not SMTP (`with mapi`, HTTP) or not recorded.
    Unknown,
}

/// One hop of the path, oldest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hop {
    /// 1 for the first hop.
    pub index: usize,
    /// The sending host, as the receiver recorded it.
    pub from: Option<String>,
    /// The sending host's address.
    pub from_ip: Option<String>,
    /// The receiving host (who wrote this Received field).
    pub by: Option<String>,
    /// The protocol (`ESMTPS`, `Microsoft SMTP Server`, `mapi`).
    pub with: Option<String>,
    /// The receiver's queue id.
    pub id: Option<String>,
    /// When the receiver took the message (RFC 3339).
    pub date: Option<String>,
    /// Seconds since the previous hop (or since the Date header for the first hop).
    pub delay_secs: Option<i64>,
    /// Whether TLS was recorded.
    pub tls: TlsSeen,
    /// The TLS version recorded (`TLSv1.2`).
    pub tls_version: Option<String>,
    /// The cipher recorded.
    pub tls_cipher: Option<String>,
    /// Who the receiver is.
    pub role: HopRole,
    /// The field, unfolded.
    pub raw: String,
    #[serde(skip)]
    timestamp: Option<i64>,
}

/// Decoded `X-Forefront-Antispam-Report` fields.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AntispamReport {
    /// The fields in order (`CIP`, `CTRY`, `SCL`, `SFV`, `DIR`, ...).
    pub fields: Vec<(String, String)>,
}

impl AntispamReport {
    fn parse(value: &str) -> AntispamReport {
        let fields = value
            .split(';')
            .filter_map(|part| {
                let (k, v) = part.split_once(':')?;
                let k = k.trim();
                (!k.is_empty()).then(|| (k.to_string(), v.trim().to_string()))
            })
            .take(64)
            .collect();
        AntispamReport { fields }
    }

    /// A field's value.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v.as_str())
    }
}

/// The Exchange headers that decide internal versus anonymous (the topmost occurrence of each).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExchangeHeaders {
    /// `X-MS-Exchange-Organization-AuthAs`.
    pub auth_as: Option<String>,
    /// `X-MS-Exchange-Organization-AuthSource`.
    pub auth_source: Option<String>,
    /// `X-MS-Exchange-Organization-AuthMechanism`.
    pub auth_mechanism: Option<String>,
    /// `X-MS-Exchange-Organization-SCL`.
    pub scl: Option<String>,
    /// `X-MS-Exchange-Organization-MessageDirectionality`.
    pub directionality: Option<String>,
    /// Every `X-MS-Exchange-CrossPremises-*` header (name, value).
    pub cross_premises: Vec<(String, String)>,
    /// Every `X-MS-Exchange-CrossTenant-*` header (name, value).
    pub cross_tenant: Vec<(String, String)>,
    /// `X-CrossPremisesHeadersFilteredBySendConnector` (the server that filtered).
    pub filtered_by_send_connector: Option<String>,
    /// `X-MS-Exchange-Organization-Cross-Premises-Headers-Promoted` or `X-CrossPremisesHeadersPromoted`.
    pub promoted: Option<String>,
    /// `X-Forefront-Antispam-Report`.
    pub antispam: Option<AntispamReport>,
    /// `X-Forefront-Antispam-Report-Untrusted`.
    pub antispam_untrusted: Option<AntispamReport>,
    /// `X-EOPTenantAttributedMessage` / `X-EOPAttributedMessage`.
    pub tenant_attributed: Option<String>,
    /// `X-OriginatorOrg`.
    pub originator_org: Option<String>,
}

impl ExchangeHeaders {
    /// A `X-MS-Exchange-CrossPremises-<suffix>` value.
    pub fn cross_premises(&self, suffix: &str) -> Option<&str> {
        find_suffix(&self.cross_premises, "x-ms-exchange-crosspremises-", suffix)
    }

    /// A `X-MS-Exchange-CrossTenant-<suffix>` value.
    pub fn cross_tenant(&self, suffix: &str) -> Option<&str> {
        find_suffix(&self.cross_tenant, "x-ms-exchange-crosstenant-", suffix)
    }
}

fn find_suffix<'a>(list: &'a [(String, String)], prefix: &str, suffix: &str) -> Option<&'a str> {
    list.iter()
        .find(|(name, _)| {
            name.len() == prefix.len() + suffix.len()
                && name[..prefix.len()].eq_ignore_ascii_case(prefix)
                && name[prefix.len()..].eq_ignore_ascii_case(suffix)
        })
        .map(|(_, v)| v.as_str())
}

/// Internal or anonymous.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Classification {
    /// Authenticated as coming from the organization.
    Internal,
    /// Treated as coming from the internet.
    Anonymous,
    /// The headers do not say.
    Unknown,
}

impl Classification {
    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Classification::Internal => "internal",
            Classification::Anonymous => "anonymous",
            Classification::Unknown => "unknown",
        }
    }
}

/// How the message is (or would be) treated, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verdict {
    /// Internal, anonymous or unknown.
    pub classification: Classification,
    /// The header that decided it.
    pub basis: Option<String>,
    /// Why, one sentence each, most important first.
    pub reasons: Vec<String>,
    /// Whether the headers show the message crossed between on-premises and Exchange Online
    /// (cross-premises headers, a filtering send connector, or an on-premises hop next to a Microsoft one).
    pub hybrid: bool,
}

/// Where the headers were taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Context {
    /// A delivered message (from a mailbox, pasted from Outlook).
    #[default]
    Delivered,
    /// A message captured in transit by the relay playing EOP: what on-premises sends to Exchange
    /// Online, before EOP promotes anything.
    ArrivingAtEop,
    /// A message captured in transit by the relay playing an on-premises server.
    ArrivingOnPremises,
    /// A message captured by the relay's plain sink, wherever it came from.
    Captured,
}

/// What [`analyze`] should know.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Options {
    /// Domains of the on-premises organization (`contoso.com`): hosts under them that run Exchange
    /// are on-premises; an empty list relies on the software named in the Received fields.
    pub org_domains: Vec<String>,
    /// Where the headers were taken.
    pub context: Context,
    /// The subject of the checks (`message.eml`, a spool id).
    pub target: String,
}

/// A few summary fields.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    /// `Subject`, decoded.
    pub subject: Option<String>,
    /// `From`.
    pub from: Option<String>,
    /// `To`.
    pub to: Option<String>,
    /// `Date`, RFC 3339.
    pub date: Option<String>,
    /// `Message-ID`.
    pub message_id: Option<String>,
    /// [`TRACKING_HEADER`].
    pub tracking_id: Option<String>,
}

/// The whole analysis (`mailpath headers --format json` prints it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeaderAnalysis {
    /// [`SCHEMA`].
    pub schema: String,
    /// Summary fields.
    pub summary: Summary,
    /// The hops, oldest first.
    pub hops: Vec<Hop>,
    /// Received fields beyond [`MAX_HOPS`] that were not analysed.
    pub hops_dropped: usize,
    /// Seconds from the first to the last hop (or from the Date header).
    pub total_delay_secs: Option<i64>,
    /// The Exchange headers.
    pub exchange: ExchangeHeaders,
    /// Internal or anonymous.
    pub verdict: Verdict,
    /// The checks.
    pub checks: Vec<CheckResult>,
    /// Counts per status.
    pub counts: Counts,
    /// Whether the input was cut at [`MAX_HEADER_BYTES`].
    pub truncated: bool,
}

/// The header section of a message (up to the first empty line), bounded by [`MAX_HEADER_BYTES`];
/// a leading `Microsoft Mail Internet Headers Version 2.0` line (Outlook's copy) is skipped.
pub fn header_section(data: &[u8]) -> (&[u8], bool) {
    let mut data = data;
    let outlook = b"Microsoft Mail Internet Headers Version 2.0";
    if data.starts_with(outlook) {
        let skip = data
            .iter()
            .position(|&b| b == b'\n')
            .map_or(data.len(), |p| p + 1);
        data = &data[skip..];
    }
    let end = find_blank_line(data).unwrap_or(data.len());
    if end > MAX_HEADER_BYTES {
        // Cut at a line end so the last field is whole.
        let cut = data[..MAX_HEADER_BYTES]
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(MAX_HEADER_BYTES, |p| p + 1);
        return (&data[..cut], true);
    }
    (&data[..end], false)
}

fn find_blank_line(data: &[u8]) -> Option<usize> {
    let mut start = 0;
    while start < data.len() {
        let end = data[start..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(data.len(), |p| start + p);
        let line = &data[start..end];
        if line.is_empty() || line == b"\r" {
            return Some(start);
        }
        start = end + 1;
    }
    None
}

/// Whether `data` starts with a header field (`Name: value`), after an optional Outlook preamble.
pub fn looks_like_headers(data: &[u8]) -> bool {
    let (section, _) = header_section(data);
    let first = section.split(|&b| b == b'\n').next().unwrap_or_default();
    match first.iter().position(|&b| b == b':') {
        Some(colon) if colon > 0 => first[..colon].iter().all(|&b| b.is_ascii_graphic()),
        _ => false,
    }
}

/// The first header named `name` (case-insensitive), unfolded and trimmed; a cheap scan of the
/// header section without decoding.
pub fn first_header(data: &[u8], name: &str) -> Option<String> {
    let (section, _) = header_section(data);
    let mut found: Option<Vec<u8>> = None;
    for line in section.split(|&b| b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let folded = line.first().is_some_and(|b| *b == b' ' || *b == b'\t');
        if let Some(value) = found.as_mut() {
            if folded {
                value.push(b' ');
                value.extend_from_slice(trim_ascii(line));
                continue;
            }
            break;
        }
        if folded {
            continue;
        }
        if let Some(colon) = line.iter().position(|&b| b == b':')
            && line[..colon].eq_ignore_ascii_case(name.as_bytes())
        {
            found = Some(trim_ascii(&line[colon + 1..]).to_vec());
        }
    }
    found.map(|v| String::from_utf8_lossy(&v).into_owned())
}

fn trim_ascii(bytes: &[u8]) -> &[u8] {
    bytes.trim_ascii()
}

/// Unfold a raw header value: line breaks plus leading whitespace become one space.
fn unfold(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut pending_space = false;
    for part in raw.split('\n') {
        let part = part.strip_suffix('\r').unwrap_or(part);
        let trimmed = if out.is_empty() {
            part.trim()
        } else {
            part.trim_start()
        };
        if trimmed.is_empty() {
            continue;
        }
        if pending_space || (!out.is_empty() && part.len() != trimmed.len()) {
            out.push(' ');
        }
        out.push_str(trimmed.trim_end());
        pending_space = part.ends_with(' ') || part.ends_with('\t');
    }
    out
}

/// The summary fields only (cheap enough for every captured message).
pub fn summary(data: &[u8]) -> Summary {
    let (section, _) = header_section(data);
    let Some(message) = MessageParser::new().parse_headers(section) else {
        return Summary::default();
    };
    summary_of(&message, section)
}

fn summary_of(message: &mail_parser::Message<'_>, section: &[u8]) -> Summary {
    let address = |v: Option<&mail_parser::Address<'_>>| {
        v.map(|a| {
            a.iter()
                .filter_map(|addr| addr.address().map(str::to_string))
                .collect::<Vec<_>>()
                .join(", ")
        })
        .filter(|s| !s.is_empty())
    };
    Summary {
        subject: message.subject().map(|s| s.chars().take(998).collect()),
        from: address(message.from()),
        to: address(message.to()),
        date: message.date().map(mail_parser::DateTime::to_rfc3339),
        message_id: message.message_id().map(str::to_string),
        tracking_id: first_header(section, TRACKING_HEADER),
    }
}

/// Analyse a message (or just its headers).
pub fn analyze(data: &[u8], options: &Options) -> HeaderAnalysis {
    let (section, truncated) = header_section(data);
    let parsed = MessageParser::new().parse_headers(section);
    let mut exchange = ExchangeHeaders::default();
    let mut received = Vec::new();
    let mut hops_dropped = 0;
    let mut date_header = None;
    let summary = parsed
        .as_ref()
        .map(|m| summary_of(m, section))
        .unwrap_or_default();
    if let Some(message) = &parsed {
        date_header = message.date().map(mail_parser::DateTime::to_timestamp);
        for header in message.headers() {
            let start = header.offset_start as usize;
            let end = (header.offset_end as usize).min(section.len());
            let raw = section
                .get(start..end)
                .map(String::from_utf8_lossy)
                .unwrap_or_default();
            let name = header.name();
            if name.eq_ignore_ascii_case("Received") {
                if received.len() >= MAX_HOPS {
                    hops_dropped += 1;
                    continue;
                }
                received.push(hop_from(header.value(), &raw, &options.org_domains));
                continue;
            }
            collect_exchange(&mut exchange, name, &unfold(&raw));
        }
    }
    // Received fields are prepended: the topmost is the last hop.
    received.reverse();
    let mut previous = date_header;
    for (i, hop) in received.iter_mut().enumerate() {
        hop.index = i + 1;
        if let (Some(now), Some(before)) = (hop.timestamp, previous) {
            hop.delay_secs = Some(now - before);
        }
        if hop.timestamp.is_some() {
            previous = hop.timestamp;
        }
    }
    let first = date_header.or_else(|| received.iter().find_map(|h| h.timestamp));
    let last = received.iter().rev().find_map(|h| h.timestamp);
    let total_delay_secs = match (first, last) {
        (Some(a), Some(b)) => Some(b - a),
        _ => None,
    };
    let verdict = verdict(&exchange, &received, options.context);
    let mut analysis = HeaderAnalysis {
        schema: SCHEMA.to_string(),
        summary,
        hops: received,
        hops_dropped,
        total_delay_secs,
        exchange,
        verdict,
        checks: Vec::new(),
        counts: Counts::default(),
        truncated,
    };
    analysis.checks = checks(&analysis, options);
    analysis.counts = Counts::of(&analysis.checks);
    analysis
}

fn collect_exchange(x: &mut ExchangeHeaders, name: &str, value: &str) {
    let lower = name.to_ascii_lowercase();
    let set = |slot: &mut Option<String>| {
        if slot.is_none() {
            *slot = Some(value.to_string());
        }
    };
    match lower.as_str() {
        "x-ms-exchange-organization-authas" => set(&mut x.auth_as),
        "x-ms-exchange-organization-authsource" => set(&mut x.auth_source),
        "x-ms-exchange-organization-authmechanism" => set(&mut x.auth_mechanism),
        "x-ms-exchange-organization-scl" => set(&mut x.scl),
        "x-ms-exchange-organization-messagedirectionality" => set(&mut x.directionality),
        "x-crosspremisesheadersfilteredbysendconnector" => set(&mut x.filtered_by_send_connector),
        "x-ms-exchange-organization-cross-premises-headers-promoted"
        | "x-crosspremisesheaderspromoted"
        | "x-ms-exchange-organization-cross-premises-headers-processed" => set(&mut x.promoted),
        "x-eoptenantattributedmessage" | "x-eopattributedmessage" => set(&mut x.tenant_attributed),
        "x-originatororg" => set(&mut x.originator_org),
        "x-forefront-antispam-report" if x.antispam.is_none() => {
            x.antispam = Some(AntispamReport::parse(value));
        }
        "x-forefront-antispam-report-untrusted" if x.antispam_untrusted.is_none() => {
            x.antispam_untrusted = Some(AntispamReport::parse(value));
        }
        _ if lower.starts_with("x-ms-exchange-crosspremises-") && x.cross_premises.len() < 64 => {
            x.cross_premises.push((name.to_string(), value.to_string()));
        }
        _ if lower.starts_with("x-ms-exchange-crosstenant-") && x.cross_tenant.len() < 64 => {
            x.cross_tenant.push((name.to_string(), value.to_string()));
        }
        _ => {}
    }
}

fn host_name(host: Option<&Host<'_>>) -> Option<String> {
    host.map(|h| match h {
        Host::Name(name) => name.to_string(),
        Host::IpAddr(ip) => ip.to_string(),
    })
}

fn hop_from(value: &HeaderValue<'_>, raw: &str, org_domains: &[String]) -> Hop {
    let raw = unfold(raw);
    let lower = raw.to_ascii_lowercase();
    let parsed = value.as_received();
    let from = parsed.and_then(|r| host_name(r.from.as_ref()));
    let by = parsed.and_then(|r| host_name(r.by.as_ref()));
    let exchange_software = lower.contains("microsoft smtp server") || lower.contains(" with mapi");
    let with = if lower.contains("microsoft smtp server") {
        Some("Microsoft SMTP Server".to_string())
    } else if lower.contains(" with mapi") {
        Some("mapi".to_string())
    } else {
        parsed.and_then(|r| r.with).map(|p| format!("{p:?}"))
    };
    let mut tls_version = parsed.and_then(|r| r.tls_version).map(tls_name);
    let tls_cipher = parsed.and_then(|r| r.tls_cipher.as_ref()).map(Cow::to_string);
    if tls_version.is_none() {
        tls_version = exchange_tls_version(&lower);
    }
    let secure_protocol = parsed.and_then(|r| r.with).is_some_and(|p| {
        matches!(
            p,
            Protocol::ESMTPS
                | Protocol::ESMTPSA
                | Protocol::UTF8SMTPS
                | Protocol::UTF8SMTPSA
                | Protocol::LMTPS
                | Protocol::LMTPSA
        )
    });
    let plain_protocol = parsed.and_then(|r| r.with).is_some_and(|p| {
        matches!(
            p,
            Protocol::SMTP
                | Protocol::ESMTP
                | Protocol::ESMTPA
                | Protocol::UTF8SMTP
                | Protocol::UTF8SMTPA
                | Protocol::LMTP
                | Protocol::LMTPA
        )
    });
    let tls = if from.is_none() {
        // A local pickup or submission record (`Received: by host with SMTP id ...`): no SMTP hop.
        TlsSeen::Unknown
    } else if tls_version.is_some() || secure_protocol || lower.contains("(tls)") {
        TlsSeen::Yes
    } else if lower.contains(" with mapi") || lower.contains(" with http") {
        TlsSeen::Unknown
    } else if exchange_software || plain_protocol {
        TlsSeen::No
    } else {
        TlsSeen::Unknown
    };
    let timestamp = parsed
        .and_then(|r| r.date.as_ref())
        .filter(|d| d.is_valid())
        .map(mail_parser::DateTime::to_timestamp)
        .or_else(|| {
            let (_, date) = raw.rsplit_once(';')?;
            mail_parser::DateTime::parse_rfc822(date.trim())
                .filter(mail_parser::DateTime::is_valid)
                .map(|d| d.to_timestamp())
        });
    let date = timestamp.and_then(|t| {
        time::OffsetDateTime::from_unix_timestamp(t)
            .ok()
            .and_then(|d| d.format(&time::format_description::well_known::Rfc3339).ok())
    });
    let role = role_of(by.as_deref(), exchange_software, org_domains);
    Hop {
        index: 0,
        from,
        from_ip: parsed.and_then(|r| r.from_ip).map(|ip| ip.to_string()),
        by,
        with,
        id: parsed.and_then(|r| r.id.as_ref()).map(Cow::to_string),
        date,
        delay_secs: None,
        tls,
        tls_version,
        tls_cipher,
        role,
        raw: raw.chars().take(2000).collect(),
        timestamp,
    }
}

fn tls_name(v: TlsVersion) -> String {
    match v {
        TlsVersion::SSLv2 => "SSLv2",
        TlsVersion::SSLv3 => "SSLv3",
        TlsVersion::TLSv1_0 => "TLSv1.0",
        TlsVersion::TLSv1_1 => "TLSv1.1",
        TlsVersion::TLSv1_2 => "TLSv1.2",
        TlsVersion::TLSv1_3 => "TLSv1.3",
        TlsVersion::DTLSv1_0 => "DTLSv1.0",
        TlsVersion::DTLSv1_2 => "DTLSv1.2",
        TlsVersion::DTLSv1_3 => "DTLSv1.3",
    }
    .to_string()
}

/// `version=TLS1_2` (Exchange) when mail-parser did not pick it up.
fn exchange_tls_version(lower: &str) -> Option<String> {
    let at = lower.find("version=tls")?;
    let rest = &lower[at + "version=tls".len()..];
    let digits: String = rest
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '_')
        .collect();
    let version = match digits.as_str() {
        "1_0" | "" => "TLSv1.0",
        "1_1" => "TLSv1.1",
        "1_2" => "TLSv1.2",
        "1_3" => "TLSv1.3",
        _ => return Some(format!("TLS{digits}")),
    };
    Some(version.to_string())
}

/// Whether `host` is `domain` or a name under it (ASCII case-insensitive). Compared as bytes: a host name
/// from a header may hold any UTF-8, and the suffix may start inside a character.
fn ends_with_domain(host: &str, domain: &str) -> bool {
    let host = host.trim_end_matches('.').as_bytes();
    let domain = domain.trim_end_matches('.').trim_start_matches('.').as_bytes();
    host.eq_ignore_ascii_case(domain)
        || (host.len() > domain.len()
            && host[host.len() - domain.len()..].eq_ignore_ascii_case(domain)
            && host[host.len() - domain.len() - 1] == b'.')
}

fn role_of(by: Option<&str>, exchange_software: bool, org_domains: &[String]) -> HopRole {
    let Some(by) = by else {
        return if exchange_software {
            HopRole::OnPremises
        } else {
            HopRole::Other
        };
    };
    if ends_with_domain(by, "protection.outlook.com") {
        return HopRole::Eop;
    }
    if ["outlook.com", "office365.com", "outlook.office.com"]
        .iter()
        .any(|d| ends_with_domain(by, d))
    {
        return HopRole::ExchangeOnline;
    }
    let in_org = org_domains.iter().any(|d| ends_with_domain(by, d));
    if exchange_software && (in_org || org_domains.is_empty() || !by.contains('.') || by.ends_with(".local"))
    {
        return HopRole::OnPremises;
    }
    if exchange_software {
        // Exchange, but outside the organization's domains: another organization's server.
        return HopRole::Other;
    }
    HopRole::Other
}

fn verdict(x: &ExchangeHeaders, hops: &[Hop], context: Context) -> Verdict {
    let onprem_next_to_microsoft = crossing(hops).contains(&true);
    let hybrid = !x.cross_premises.is_empty()
        || x.filtered_by_send_connector.is_some()
        || x.promoted.is_some()
        || onprem_next_to_microsoft
        || context == Context::ArrivingAtEop;
    let mut reasons = Vec::new();
    let supporting = |reasons: &mut Vec<String>| {
        if let Some(source) = &x.auth_source {
            reasons.push(format!(
                "authenticated by {source} (X-MS-Exchange-Organization-AuthSource)"
            ));
        }
        if let Some(scl) = &x.scl {
            if scl.trim() == "-1" {
                reasons.push("SCL -1: spam filtering was bypassed as for internal mail".to_string());
            } else {
                reasons.push(format!("SCL {scl}: the message was spam-filtered"));
            }
        }
        if let Some(dir) = &x.directionality {
            reasons.push(format!("MessageDirectionality {dir}"));
        }
    };
    let (classification, basis) = if let Some(server) = &x.filtered_by_send_connector {
        reasons.push(format!(
            "the send connector on {server} removed the organization headers \
             (X-CrossPremisesHeadersFilteredBySendConnector): it has CloudServicesMailEnabled $false"
        ));
        if let Some(auth) = &x.auth_as {
            reasons.push(format!("X-MS-Exchange-Organization-AuthAs is {auth}"));
        }
        (
            Classification::Anonymous,
            Some("X-CrossPremisesHeadersFilteredBySendConnector".to_string()),
        )
    } else if let Some(auth) = &x.auth_as {
        let class = classify(auth);
        reasons.push(format!("X-MS-Exchange-Organization-AuthAs: {auth}"));
        supporting(&mut reasons);
        if class != Classification::Internal && !x.cross_premises.is_empty() && x.promoted.is_none() {
            reasons.push(
                "X-MS-Exchange-CrossPremises-* headers are present but were not promoted: the receiving \
                 connector did not attribute the message to the organization (certificate name vs \
                 TlsSenderCertificateName, CloudServicesMailEnabled)"
                    .to_string(),
            );
        }
        if let Some(promoted) = &x.promoted {
            reasons.push(format!("cross-premises headers were promoted by {promoted}"));
        }
        (class, Some("X-MS-Exchange-Organization-AuthAs".to_string()))
    } else if let Some(auth) = x.cross_premises("AuthAs") {
        let class = classify(auth);
        reasons.push(format!("X-MS-Exchange-CrossPremises-AuthAs: {auth} (in transit)"));
        if let Some(source) = x.cross_premises("AuthSource") {
            reasons.push(format!("authenticated on-premises by {source}"));
        }
        if class == Classification::Internal {
            reasons.push(
                "it arrives as internal only if the receiving connector attributes the connection to the \
                 organization (client certificate matching TlsSenderCertificateName, CloudServicesMailEnabled) \
                 and promotes these headers"
                    .to_string(),
            );
        }
        (class, Some("X-MS-Exchange-CrossPremises-AuthAs".to_string()))
    } else if let Some(auth) = x.cross_tenant("AuthAs") {
        reasons.push(format!("X-MS-Exchange-CrossTenant-AuthAs: {auth}"));
        if let Some(source) = x.cross_tenant("AuthSource") {
            reasons.push(format!("X-MS-Exchange-CrossTenant-AuthSource: {source}"));
        }
        (
            classify(auth),
            Some("X-MS-Exchange-CrossTenant-AuthAs".to_string()),
        )
    } else {
        reasons.push(
            "no X-MS-Exchange-Organization-AuthAs, CrossPremises or CrossTenant header: the message was not \
             authenticated by Exchange, or the headers were removed on the way"
                .to_string(),
        );
        if hybrid && context == Context::ArrivingAtEop {
            reasons.push(
                "arriving at EOP without X-MS-Exchange-CrossPremises-* headers, it can only be treated as \
                 anonymous (check CloudServicesMailEnabled on the on-premises send connector)"
                    .to_string(),
            );
            (Classification::Anonymous, None)
        } else {
            (Classification::Unknown, None)
        }
    };
    if x.antispam.is_some() && x.antispam_untrusted.is_some() {
        reasons.push(
            "filtered twice (X-Forefront-Antispam-Report and -Untrusted): the cross-premises headers were not \
             promoted"
                .to_string(),
        );
    }
    Verdict {
        classification,
        basis,
        reasons,
        hybrid,
    }
}

fn classify(auth: &str) -> Classification {
    let a = auth.trim();
    if a.eq_ignore_ascii_case("Internal") {
        Classification::Internal
    } else if a.eq_ignore_ascii_case("Anonymous") || a.eq_ignore_ascii_case("External") {
        Classification::Anonymous
    } else {
        // Partner, Authenticated (client submission) and the like: authenticated, not anonymous.
        if a.eq_ignore_ascii_case("Authenticated") || a.eq_ignore_ascii_case("Partner") {
            Classification::Internal
        } else {
            Classification::Unknown
        }
    }
}

/// For each hop, whether it is part of a crossing between on-premises Exchange and Microsoft: the
/// hops after an on-premises hop up to and including the next Microsoft hop when only "other" hops
/// lie between (and the same the other way round).
fn crossing(hops: &[Hop]) -> Vec<bool> {
    let mut marks = vec![false; hops.len()];
    for (p, hop) in hops.iter().enumerate() {
        let Some(q) = (p + 1..hops.len()).find(|&q| hops[q].role != HopRole::Other) else {
            continue;
        };
        let next = hops[q].role;
        let crosses = (hop.role == HopRole::OnPremises && next.is_microsoft())
            || (hop.role.is_microsoft() && next == HopRole::OnPremises);
        if crosses {
            for mark in &mut marks[p + 1..=q] {
                *mark = true;
            }
        }
    }
    marks
}

/// Indices (0-based) of hops that are neither on-premises Exchange nor Microsoft and sit between the
/// two.
fn third_party_between(hops: &[Hop]) -> Vec<usize> {
    crossing(hops)
        .iter()
        .enumerate()
        .filter(|&(i, &c)| c && hops[i].role == HopRole::Other)
        .map(|(i, _)| i)
        .collect()
}

fn hop_words(hop: &Hop) -> String {
    format!(
        "hop {} ({} -> {})",
        hop.index,
        hop.from.as_deref().unwrap_or("?"),
        hop.by.as_deref().unwrap_or("?")
    )
}

fn checks(a: &HeaderAnalysis, options: &Options) -> Vec<CheckResult> {
    let target = options.target.clone();
    let mk = |def: &CheckDef, status: Status, summary: String| {
        CheckResult::new(def, status, target.clone(), summary).on(Attachment::None)
    };
    let mut out = Vec::new();

    // The Received chain.
    if a.hops.is_empty() {
        let status = if options.context == Context::Delivered {
            Status::Warn
        } else {
            Status::Info
        };
        out.push(mk(&RECEIVED, status, "no Received fields".to_string()).detail(
            "Without Received fields the path cannot be reconstructed. A message captured straight from its \
             first server has none yet; a delivered message always has some.",
        ));
    } else {
        let path: Vec<String> = a
            .hops
            .iter()
            .map(|h| format!("{} [{}]", h.by.as_deref().unwrap_or("?"), h.role.words()))
            .collect();
        let mut r = mk(
            &RECEIVED,
            Status::Pass,
            format!(
                "{} hop(s){}",
                a.hops.len(),
                a.total_delay_secs
                    .map(|s| format!(", {s} s in total"))
                    .unwrap_or_default()
            ),
        )
        .detail(path.join(" -> "));
        if a.hops_dropped > 0 {
            r.detail.push_str(&format!(
                " ({} more Received fields not analysed)",
                a.hops_dropped
            ));
        }
        out.push(r);
    }

    // Delays.
    if !a.hops.is_empty() {
        let slow: Vec<String> = a
            .hops
            .iter()
            .filter(|h| h.delay_secs.is_some_and(|d| d > SLOW_HOP_SECS))
            .map(|h| format!("{} took {} s", hop_words(h), h.delay_secs.unwrap_or_default()))
            .collect();
        let skewed: Vec<String> = a
            .hops
            .iter()
            .filter(|h| h.delay_secs.is_some_and(|d| d < -SKEW_SECS))
            .map(|h| {
                format!(
                    "{} is {} s before the previous hop",
                    hop_words(h),
                    -h.delay_secs.unwrap_or_default()
                )
            })
            .collect();
        let dated = a.hops.iter().filter(|h| h.delay_secs.is_some()).count();
        if dated == 0 {
            out.push(mk(
                &DELAY,
                Status::Skip,
                "no hop carries a readable date".to_string(),
            ));
        } else if slow.is_empty() && skewed.is_empty() {
            out.push(mk(
                &DELAY,
                Status::Pass,
                format!("no hop slower than {} min", SLOW_HOP_SECS / 60),
            ));
        } else {
            let mut all = slow.clone();
            all.extend(skewed.iter().cloned());
            out.push(
                mk(&DELAY, Status::Warn, all.join("; "))
                    .detail(
                        "A slow hop held the message in its queue (retries, an unreachable next hop, \
                         throttling); a negative delay means a server clock is wrong.",
                    )
                    .remediation(
                        "On the slow server: Get-Queue | ? MessageCount -gt 0 | fl Identity,LastError; \
                         for clock skew: w32tm /query /status",
                    ),
            );
        }
    }

    // TLS per hop.
    if !a.hops.is_empty() {
        let smtp_hops: Vec<&Hop> = a.hops.iter().filter(|h| h.tls != TlsSeen::Unknown).collect();
        let plain: Vec<&Hop> = smtp_hops
            .iter()
            .copied()
            .filter(|h| h.tls == TlsSeen::No)
            .collect();
        let legacy: Vec<&Hop> = smtp_hops
            .iter()
            .copied()
            .filter(|h| {
                matches!(
                    h.tls_version.as_deref(),
                    Some("TLSv1.0" | "TLSv1.1" | "SSLv3" | "SSLv2")
                )
            })
            .collect();
        // A plain hop matters most where it crosses between on-premises and Microsoft.
        let marks = crossing(&a.hops);
        let crossing = |h: &Hop| marks.get(h.index.wrapping_sub(1)).copied().unwrap_or(false);
        if smtp_hops.is_empty() {
            out.push(mk(&TLS, Status::Skip, "no hop records its protocol".to_string()));
        } else if plain.is_empty() && legacy.is_empty() {
            out.push(mk(
                &TLS,
                Status::Pass,
                format!("TLS recorded on all {} SMTP hop(s)", smtp_hops.len()),
            ));
        } else {
            let mut words: Vec<String> = plain
                .iter()
                .map(|h| format!("{} without TLS", hop_words(h)))
                .collect();
            words.extend(legacy.iter().map(|h| {
                format!(
                    "{} with {}",
                    hop_words(h),
                    h.tls_version.as_deref().unwrap_or("?")
                )
            }));
            let hybrid_hop = plain.iter().chain(legacy.iter()).any(|h| crossing(h));
            let status = if hybrid_hop { Status::Fail } else { Status::Warn };
            out.push(
                mk(&TLS, status, words.join("; "))
                    .detail(
                        "Exchange records `version=TLS1_2, cipher=...` in its Received fields when TLS was used; \
                         other servers write `with ESMTPS`. A hop between on-premises and Exchange Online must \
                         use TLS 1.2 or newer.",
                    )
                    .remediation(
                        "Require TLS on the connector that sent over the plain hop: \
                         Set-SendConnector \"Outbound to Office 365 - <GUID>\" -RequireTLS $true; \
                         enable TLS 1.2 on the server (https://aka.ms/HC), check its certificate: \
                         Get-ExchangeCertificate | fl Thumbprint,Services,Subject,NotAfter",
                    ),
            );
        }
    }

    // A third-party hop between on-premises and Microsoft.
    let flagged = third_party_between(&a.hops);
    if flagged.is_empty() {
        let known = a.hops.iter().any(|h| h.role == HopRole::OnPremises)
            && a.hops.iter().any(|h| h.role.is_microsoft());
        if known {
            out.push(mk(
                &THIRD_PARTY,
                Status::Pass,
                "on-premises Exchange and Microsoft hand over directly".to_string(),
            ));
        } else {
            out.push(mk(
                &THIRD_PARTY,
                Status::Skip,
                "the headers do not show both an on-premises Exchange hop and a Microsoft hop".to_string(),
            ));
        }
    } else {
        let names: Vec<String> = flagged
            .iter()
            .filter_map(|&i| a.hops.get(i))
            .map(|h| format!("{} ({})", h.by.as_deref().unwrap_or("?"), hop_words(h)))
            .collect();
        out.push(
            mk(
                &THIRD_PARTY,
                Status::Fail,
                format!("third-party hop between on-premises and Exchange Online: {}", names.join(", ")),
            )
            .detail(
                "A server that is neither on-premises Exchange nor Exchange Online received and re-sent the \
                 message between the two. It strips or invalidates the cross-premises headers and replaces the \
                 TLS session (and certificate) Exchange Online attributes the message by.",
            )
            .remediation(
                "Route hybrid mail directly: on-premises send connector to <tenant>.mail.protection.outlook.com \
                 and the Exchange Online outbound connector to your Edge/Mailbox (Get-SendConnector | fl \
                 Name,SmartHosts,AddressSpaces; Get-OutboundConnector | fl Name,SmartHosts); keep gateways for \
                 internet mail only.",
            ),
        );
    }

    // Internal or anonymous.
    let v = &a.verdict;
    let reasons = v.reasons.join("; ");
    let authas = match v.classification {
        Classification::Internal => mk(&AUTHAS, Status::Pass, "internal".to_string()).detail(reasons),
        Classification::Anonymous if v.hybrid => mk(&AUTHAS, Status::Fail, "anonymous".to_string())
            .detail(reasons)
            .remediation(
                "In Exchange Online: Get-InboundConnector | fl Name,ConnectorType,TlsSenderCertificateName,\
                 RequireTls,CloudServicesMailEnabled (ConnectorType OnPremises, the certificate name your servers \
                 present, CloudServicesMailEnabled True). On-premises: Get-SendConnector | fl \
                 Name,CloudServicesMailEnabled,TlsCertificateName. Rerun the Hybrid Configuration Wizard to \
                 reset both.",
            ),
        Classification::Anonymous => mk(
            &AUTHAS,
            Status::Info,
            "anonymous, as internet mail is".to_string(),
        )
        .detail(reasons),
        Classification::Unknown => mk(
            &AUTHAS,
            Status::Skip,
            "the headers do not say whether Exchange authenticated the message".to_string(),
        )
        .detail(reasons),
    };
    out.push(authas);

    // Filtered by a send connector.
    let x = &a.exchange;
    match &x.filtered_by_send_connector {
        Some(server) => {
            let reached_microsoft =
                a.hops.iter().any(|h| h.role.is_microsoft()) || options.context == Context::ArrivingAtEop;
            let status = if reached_microsoft {
                Status::Fail
            } else {
                Status::Warn
            };
            out.push(
                mk(
                    &FILTERED,
                    status,
                    format!("the send connector on {server} filtered the cross-premises headers"),
                )
                .remediation(
                    "On-premises: Get-SendConnector | ? {$_.AddressSpaces -match 'mail.onmicrosoft.com'} | fl \
                     Name,CloudServicesMailEnabled; then Set-SendConnector \"Outbound to Office 365 - <GUID>\" \
                     -CloudServicesMailEnabled $true (or rerun the Hybrid Configuration Wizard). With an Edge, \
                     the setting reaches it through EdgeSync.",
                ),
            );
        }
        None => {
            let status = if x.cross_premises.is_empty() && x.promoted.is_none() {
                Status::Skip
            } else {
                Status::Pass
            };
            let summary = if status == Status::Pass {
                "no send connector filtered the cross-premises headers".to_string()
            } else {
                "no cross-premises headers to judge".to_string()
            };
            out.push(mk(&FILTERED, status, summary));
        }
    }

    // Promoted.
    let promoted = match (&x.promoted, x.cross_premises.is_empty(), options.context) {
        (Some(by), _, _) => mk(&PROMOTED, Status::Pass, format!("promoted by {by}")),
        (None, false, Context::ArrivingAtEop | Context::ArrivingOnPremises | Context::Captured) => mk(
            &PROMOTED,
            Status::Info,
            format!(
                "{} X-MS-Exchange-CrossPremises-* header(s) in transit, to be promoted by the receiving side",
                x.cross_premises.len()
            ),
        ),
        (None, false, Context::Delivered) => mk(
            &PROMOTED,
            if x.auth_as.is_some() {
                Status::Fail
            } else {
                Status::Warn
            },
            "cross-premises headers present but never promoted".to_string(),
        )
        .detail(
            "The message carries X-MS-Exchange-CrossPremises-* headers but no sign that the receiving side \
             promoted them: the connection was not attributed to the organization.",
        )
        .remediation(
            "Check that the certificate the sending servers present matches the receiving connector \
             (Get-InboundConnector | fl TlsSenderCertificateName; on-premises Get-ReceiveConnector | fl \
             TlsDomainCapabilities,TlsCertificateName) and CloudServicesMailEnabled on both sides.",
        ),
        (None, true, _) => mk(
            &PROMOTED,
            Status::Skip,
            "no cross-premises headers to promote".to_string(),
        ),
    };
    out.push(promoted);

    // Double scan.
    match (&x.antispam, &x.antispam_untrusted) {
        (Some(_), Some(_)) => out.push(
            mk(
                &DOUBLE_SCAN,
                Status::Warn,
                "X-Forefront-Antispam-Report and X-Forefront-Antispam-Report-Untrusted both present".to_string(),
            )
            .detail(
                "The message was filtered by Exchange Online Protection twice: the second pass did not trust the \
                 first because the cross-premises headers were not promoted (typically centralized mail \
                 transport without a matching inbound connector).",
            )
            .remediation(
                "Get-InboundConnector | fl Name,ConnectorType,TlsSenderCertificateName,CloudServicesMailEnabled; \
                 Get-OutboundConnector | fl Name,RouteAllMessagesViaOnPremises,CloudServicesMailEnabled \
                 (KB 3079142).",
            ),
        ),
        (None, None) => out.push(mk(
            &DOUBLE_SCAN,
            Status::Skip,
            "no X-Forefront-Antispam-Report header".to_string(),
        )),
        _ => out.push(mk(&DOUBLE_SCAN, Status::Pass, "filtered once".to_string())),
    }
    out
}

#[cfg(test)]
mod tests;
