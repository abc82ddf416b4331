//! The `headers.*` checks: the Received chain, delays, TLS per hop, a third-party hop between on-premises
//! and Microsoft, the AuthAs verdict, filtered and promoted cross-premises headers, a double scan.

use super::verdict::{Scans, crossing, double_scan as scans, third_party_between};
use super::{
    Classification, Context, HeaderAnalysis, Hop, HopRole, Options, SKEW_SECS, SLOW_HOP_SECS, TlsSeen,
};
use crate::check::{Attachment, CheckDef, CheckResult, Place, Remediation, Status, Step};

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
    why: "Mail the organization sends between on-premises and Exchange Online must arrive as Internal \
          (X-MS-Exchange-Organization-AuthAs: Internal, SCL -1); as Anonymous it is filtered as internet mail, \
          junked or quarantined, and internal-only features break. Internet mail keeps AuthAs Anonymous through \
          EOP and hybrid by design, and a partner's domain-secured mail is Partner (external): neither is a \
          fault. The organization's mail is told by MessageDirectionality Originating, on-premises' \
          CrossPremises-AuthAs Internal, or a sender in the accepted domains.",
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
    why: "X-Forefront-Antispam-Report-Untrusted next to X-Forefront-Antispam-Report from the same tenant \
          (the same X-MS-Exchange-CrossTenant-Id) means the message was scanned twice because its cross-premises \
          headers were not promoted (centralized mail transport): false quarantines and SPF failures follow \
          (KB 3079142). From another tenant it is that organization's report, renamed: normal.",
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

fn hop_words(hop: &Hop) -> String {
    format!(
        "hop {} ({} -> {})",
        hop.index,
        hop.from.as_deref().unwrap_or("?"),
        hop.by.as_deref().unwrap_or("?")
    )
}

/// One `headers.*` check: its result for an analysis, when it applies.
type Check = fn(&HeaderAnalysis, &Options) -> Option<CheckResult>;

/// The checks, in the order they are reported.
const CHECKS: &[Check] = &[
    received,
    delay,
    tls,
    third_party,
    authas,
    filtered,
    promoted,
    double_scan,
];

/// Every `headers.*` check of an analysis.
pub(super) fn checks(a: &HeaderAnalysis, options: &Options) -> Vec<CheckResult> {
    CHECKS.iter().filter_map(|check| check(a, options)).collect()
}

fn mk(def: &CheckDef, options: &Options, status: Status, summary: String) -> CheckResult {
    CheckResult::new(def, status, options.target.clone(), summary).on(Attachment::None)
}

/// `headers.received`: the Received chain.
fn received(a: &HeaderAnalysis, options: &Options) -> Option<CheckResult> {
    let mk = |def, status, summary| mk(def, options, status, summary);
    if a.hops.is_empty() {
        let status = if options.context == Context::Delivered {
            Status::Warn
        } else {
            Status::Info
        };
        return Some(mk(&RECEIVED, status, "no Received fields".to_string()).detail(
            "Without Received fields the path cannot be reconstructed. A message captured straight from its \
             first server has none yet; a delivered message always has some.",
        ));
    }
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
    Some(r)
}

/// `headers.delay`: slow hops and clock skew.
fn delay(a: &HeaderAnalysis, options: &Options) -> Option<CheckResult> {
    let mk = |def, status, summary| mk(def, options, status, summary);
    if a.hops.is_empty() {
        return None;
    }
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
        Some(mk(
            &DELAY,
            Status::Skip,
            "no hop carries a readable date".to_string(),
        ))
    } else if slow.is_empty() && skewed.is_empty() {
        Some(mk(
            &DELAY,
            Status::Pass,
            format!("no hop slower than {} min", SLOW_HOP_SECS / 60),
        ))
    } else {
        let mut all = slow.clone();
        all.extend(skewed.iter().cloned());
        Some(
            mk(&DELAY, Status::Warn, all.join("; "))
                .detail(
                    "A slow hop held the message in its queue (retries, an unreachable next hop, \
                     throttling); a negative delay means a server clock is wrong.",
                )
                .remediation(Remediation::steps([
                    Step::prose("On the slow server, the queue's LastError says what holds the mail:"),
                    Step::confirm(
                        Place::ExchangeShell,
                        "Get-Queue | Where-Object MessageCount -gt 0 | Format-List Identity,LastError",
                    ),
                    Step::prose("A negative delay is a server clock that is wrong: resynchronise it."),
                    Step::command(Place::ExchangeShell, "w32tm /resync"),
                    Step::confirm(Place::ExchangeShell, "w32tm /query /status"),
                ])),
        )
    }
}

/// `headers.tls`: TLS on every SMTP hop, and the version.
fn tls(a: &HeaderAnalysis, options: &Options) -> Option<CheckResult> {
    let mk = |def, status, summary| mk(def, options, status, summary);
    if a.hops.is_empty() {
        return None;
    }
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
        Some(mk(&TLS, Status::Skip, "no hop records its protocol".to_string()))
    } else if plain.is_empty() && legacy.is_empty() {
        Some(mk(
            &TLS,
            Status::Pass,
            format!("TLS recorded on all {} SMTP hop(s)", smtp_hops.len()),
        ))
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
        Some(
            mk(&TLS, status, words.join("; "))
                .detail(
                    "Exchange records `version=TLS1_2, cipher=...` in its Received fields when TLS was used; \
                     other servers write `with ESMTPS`. A hop between on-premises and Exchange Online must \
                     use TLS 1.2 or newer.",
                )
                .remediation(Remediation::steps([
                    Step::prose("Require TLS on the connector that sent over the plain hop:"),
                    Step::command(Place::MailboxShell, "Set-SendConnector \"Outbound to Office 365 - <GUID>\" -RequireTLS $true"),
                    Step::prose("The sending server needs TLS 1.2 (https://aka.ms/HC) and a certificate bound to SMTP:"),
                    Step::confirm(Place::ExchangeShell, "Get-ExchangeCertificate | Format-List Thumbprint,Services,Subject,NotAfter"),
                ])),
        )
    }
}

/// `headers.third-party-hop`: a server that is neither on-premises Exchange nor Microsoft between the two.
fn third_party(a: &HeaderAnalysis, options: &Options) -> Option<CheckResult> {
    let mk = |def, status, summary| mk(def, options, status, summary);
    let flagged = third_party_between(&a.hops);
    if flagged.is_empty() {
        let known = a.hops.iter().any(|h| h.role == HopRole::OnPremises)
            && a.hops.iter().any(|h| h.role.is_microsoft());
        if known {
            Some(mk(
                &THIRD_PARTY,
                Status::Pass,
                "on-premises Exchange and Microsoft hand over directly".to_string(),
            ))
        } else {
            Some(mk(
                &THIRD_PARTY,
                Status::Skip,
                "the headers do not show both an on-premises Exchange hop and a Microsoft hop".to_string(),
            ))
        }
    } else {
        let names: Vec<String> = flagged
            .iter()
            .filter_map(|&i| a.hops.get(i))
            .map(|h| format!("{} ({})", h.by.as_deref().unwrap_or("?"), hop_words(h)))
            .collect();
        Some(
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
            .remediation(Remediation::steps([
                Step::prose("Route hybrid mail directly, and keep gateways for internet mail only: the on-premises send connector by the MX of <tenant>.mail.onmicrosoft.com,"),
                Step::command(Place::MailboxShell, "Set-SendConnector \"Outbound to Office 365 - <GUID>\" -DNSRoutingEnabled $true -SmartHosts $null"),
                Step::prose("and Exchange Online's outbound connector to your Edge or Mailbox servers:"),
                Step::command(Place::ExchangeOnline, "Set-OutboundConnector \"Outbound to <GUID>\" -SmartHosts <public FQDN of the Edge or Mailbox servers>"),
                Step::confirm(Place::MailboxShell, "Get-SendConnector | Format-List Name,SmartHosts,AddressSpaces"),
                Step::confirm(Place::ExchangeOnline, "Get-OutboundConnector | Format-List Name,SmartHosts"),
            ])),
        )
    }
}

/// `headers.authas`: internal or anonymous, and why.
fn authas(a: &HeaderAnalysis, options: &Options) -> Option<CheckResult> {
    let mk = |def, status, summary| mk(def, options, status, summary);
    let v = &a.verdict;
    let reasons = v.reasons.join("; ");
    let class = v.classification.as_str();
    let status = v.status();
    let summary = match (v.classification, status) {
        (Classification::Internal, _) => "internal".to_string(),
        (Classification::Unknown, _) => {
            "the headers do not say whether Exchange authenticated the message".to_string()
        }
        (_, Status::Fail) => format!("{class}, but the organization sent it: it must arrive as internal"),
        (_, Status::Warn) => format!("{class}; the headers do not say whether the organization sent it"),
        (Classification::Partner, _) => format!("{class}, as a partner's mail is"),
        _ => format!("{class}, as internet mail is"),
    };
    let mut authas = mk(&AUTHAS, status, summary).detail(reasons);
    if status >= Status::Warn {
        authas = authas.remediation(Remediation::steps([
            Step::prose("Make Exchange Online attribute on-premises mail: the inbound connector is OnPremises, names the certificate your servers present and takes the cross-premises headers,"),
            Step::command(Place::ExchangeOnline, "Set-InboundConnector \"Inbound from <GUID>\" -ConnectorType OnPremises -TlsSenderCertificateName <name on the on-premises certificate> -RequireTls $true -CloudServicesMailEnabled $true"),
            Step::prose("and the on-premises send connector sends them:"),
            Step::command(Place::MailboxShell, "Set-SendConnector \"Outbound to Office 365 - <GUID>\" -CloudServicesMailEnabled $true"),
            Step::confirm(Place::ExchangeOnline, "Get-InboundConnector | Format-List Name,ConnectorType,TlsSenderCertificateName,RequireTls,CloudServicesMailEnabled"),
            Step::prose("Or rerun the Hybrid Configuration Wizard, which sets both."),
        ]));
    }
    Some(authas)
}

/// `headers.cross-premises.filtered`: a send connector that removed the cross-premises headers.
fn filtered(a: &HeaderAnalysis, options: &Options) -> Option<CheckResult> {
    let mk = |def, status, summary| mk(def, options, status, summary);
    let x = &a.exchange;
    Some(match &x.filtered_by_send_connector {
        Some(server) => {
            let reached_microsoft =
                a.hops.iter().any(|h| h.role.is_microsoft()) || options.context == Context::ArrivingAtEop;
            let status = if reached_microsoft {
                Status::Fail
            } else {
                Status::Warn
            };
            mk(
                    &FILTERED,
                    status,
                    format!("the send connector on {server} filtered the cross-premises headers"),
                )
                .remediation(Remediation::steps([
                    Step::command(Place::MailboxShell, "Set-SendConnector \"Outbound to Office 365 - <GUID>\" -CloudServicesMailEnabled $true"),
                    Step::confirm(Place::MailboxShell, "Get-SendConnector | Where-Object { $_.AddressSpaces -match 'mail.onmicrosoft.com' } | Format-List Name,CloudServicesMailEnabled"),
                    Step::prose("Or rerun the Hybrid Configuration Wizard. With an Edge, the setting reaches it through EdgeSync."),
                ]))
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
            mk(&FILTERED, status, summary)
        }
    })
}

/// `headers.cross-premises.promoted`: the receiving side promoted the cross-premises headers.
fn promoted(a: &HeaderAnalysis, options: &Options) -> Option<CheckResult> {
    let mk = |def, status, summary| mk(def, options, status, summary);
    let x = &a.exchange;
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
        .remediation(Remediation::steps([
            Step::prose("The receiving connector must name the certificate the sending servers present and take the cross-premises headers. Into Exchange Online:"),
            Step::command(Place::ExchangeOnline, "Set-InboundConnector \"Inbound from <GUID>\" -TlsSenderCertificateName <name on the on-premises certificate> -CloudServicesMailEnabled $true"),
            Step::prose("Into on-premises (the receive connector Exchange Online connects to):"),
            Step::command(Place::ExchangeShell, "Set-ReceiveConnector \"<receive connector>\" -TlsDomainCapabilities mail.protection.outlook.com:AcceptCloudServicesMail"),
            Step::confirm(Place::ExchangeOnline, "Get-InboundConnector | Format-List Name,TlsSenderCertificateName,CloudServicesMailEnabled"),
        ])),
        (None, true, _) => mk(
            &PROMOTED,
            Status::Skip,
            "no cross-premises headers to promote".to_string(),
        ),
    };
    Some(promoted)
}

/// `headers.antispam.double-scan`: filtered by EOP twice.
fn double_scan(a: &HeaderAnalysis, options: &Options) -> Option<CheckResult> {
    let mk = |def, status, summary| mk(def, options, status, summary);
    let x = &a.exchange;
    Some(match (&x.antispam, &x.antispam_untrusted) {
        (Some(_), Some(_)) => match scans(x, &a.hops) {
            Scans::OtherTenant(why) => mk(
                &DOUBLE_SCAN,
                Status::Info,
                format!("the -Untrusted report is the sending organization's ({why}): filtered once by this tenant"),
            )
            .detail(
                "Exchange Online renames the antispam report of another Microsoft 365 organization to \
                 X-Forefront-Antispam-Report-Untrusted: normal for mail between tenants, not a double scan.",
            ),
            Scans::Unknown => mk(
                &DOUBLE_SCAN,
                Status::Info,
                "X-Forefront-Antispam-Report and -Untrusted present; the headers do not show whether both come \
                 from this tenant (no X-MS-Exchange-CrossTenant-Id to compare)"
                    .to_string(),
            ),
            Scans::SameTenant(why) => mk(
            &DOUBLE_SCAN,
            Status::Warn,
            format!("filtered twice by the same tenant ({why})"),
        )
        .detail(
            "The message was filtered by Exchange Online Protection twice: the second pass did not trust the \
                 first because the cross-premises headers were not promoted (typically centralized mail \
                 transport without a matching inbound connector).",
        )
        .remediation(Remediation::steps([
            Step::prose("Mail from on-premises must enter Exchange Online through the hybrid inbound connector (KB 3079142):"),
            Step::command(Place::ExchangeOnline, "Set-InboundConnector \"Inbound from <GUID>\" -ConnectorType OnPremises -CloudServicesMailEnabled $true"),
            Step::confirm(Place::ExchangeOnline, "Get-InboundConnector | Format-List Name,ConnectorType,TlsSenderCertificateName,CloudServicesMailEnabled"),
            Step::confirm(Place::ExchangeOnline, "Get-OutboundConnector | Format-List Name,RouteAllMessagesViaOnPremises,CloudServicesMailEnabled"),
        ])),
        },
        (None, None) => mk(
            &DOUBLE_SCAN,
            Status::Skip,
            "no X-Forefront-Antispam-Report header".to_string(),
        ),
        _ => mk(&DOUBLE_SCAN, Status::Pass, "filtered once".to_string()),
    })
}
