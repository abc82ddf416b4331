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
//!
//! The module is three private rooms: `parse` reads the header section (bounded) into hops and the
//! Exchange headers, `verdict` decides internal or anonymous, `checks` judges both as `headers.*` check
//! results.

mod checks;
mod parse;
#[cfg(test)]
mod tests;
mod verdict;

use mail_parser::MessageParser;
use serde::{Deserialize, Serialize};

use crate::check::{CheckResult, Counts, Status};

pub use checks::{AUTHAS, DEFS, DELAY, DOUBLE_SCAN, FILTERED, PROMOTED, RECEIVED, THIRD_PARTY, TLS};
pub use parse::{first_header, header_section, looks_like_headers, summary};

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
    /// Domain-secured external mail (`AuthAs: Partner`): a partner organization authenticated by mutual
    /// TLS (domain security). Authenticated, but external: not the organization's own mail.
    Partner,
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
            Classification::Partner => "partner (domain-secured external)",
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
    /// Whether the organization sent the message (`MessageDirectionality: Originating`, on-premises
    /// authenticated it as internal, or the sender is in the accepted domains), as opposed to internet or
    /// partner mail it received; `None` when the headers do not say.
    #[serde(default)]
    pub originated: Option<bool>,
}

impl Verdict {
    /// How the verdict is judged: internal passes; anything else fails only for mail the organization
    /// sent, which must arrive as internal. Internet mail keeps `AuthAs: Anonymous` through EOP and
    /// hybrid by design (and partner mail `Partner`): `info`. When the headers do not say who sent it, a
    /// hybrid message that is not internal is a `warn`; unknown is a `skip`.
    pub fn status(&self) -> Status {
        match (self.classification, self.originated) {
            (Classification::Internal, _) => Status::Pass,
            (Classification::Unknown, _) => Status::Skip,
            (_, Some(true)) => Status::Fail,
            (_, None) if self.hybrid => Status::Warn,
            _ => Status::Info,
        }
    }
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
        .map(|m| parse::summary_of(m, section))
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
                received.push(parse::hop_from(header.value(), &raw, &options.org_domains));
                continue;
            }
            parse::collect_exchange(&mut exchange, name, &parse::unfold(&raw));
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
    let mut verdict = verdict::verdict(&exchange, &received, options.context);
    verdict.originated = verdict::originated(
        &exchange,
        verdict.hybrid,
        summary.from.as_deref(),
        &options.org_domains,
    );
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
    analysis.checks = checks::checks(&analysis, options);
    analysis.counts = Counts::of(&analysis.checks);
    analysis
}
