//! The verdict: would Exchange treat the message as internal or anonymous, on which header, and why; and
//! which hops cross between on-premises Exchange and Microsoft.

use super::{Classification, Context, ExchangeHeaders, Hop, HopRole, Verdict};

pub(super) fn verdict(x: &ExchangeHeaders, hops: &[Hop], context: Context) -> Verdict {
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
    if classification == Classification::Partner {
        reasons.push(
            "AuthAs Partner: a partner organization's mail over domain security (mutual TLS); authenticated, \
             but external, not the organization's own"
                .to_string(),
        );
    }
    if x.antispam.is_some() && x.antispam_untrusted.is_some() {
        match double_scan(x, hops) {
            Scans::SameTenant(why) => reasons.push(format!(
                "filtered twice by the same tenant (X-Forefront-Antispam-Report and -Untrusted, {why}): the \
                 cross-premises headers were not promoted"
            )),
            Scans::OtherTenant(why) => reasons.push(format!(
                "X-Forefront-Antispam-Report-Untrusted is another tenant's report ({why}): normal for mail \
                 between Microsoft 365 organizations"
            )),
            Scans::Unknown => {}
        }
    }
    Verdict {
        classification,
        basis,
        reasons,
        hybrid,
        originated: None,
    }
}

/// Whether the organization sent the message.
///
/// `Some(true)` when `MessageDirectionality` is `Originating`, when on-premises authenticated it as internal
/// before it crossed (`X-MS-Exchange-CrossPremises-AuthAs: Internal`), or when the sender (`From`) is in
/// `org_domains`. `Some(false)` when the sender is outside known `org_domains`, when the side that sent it
/// across already had it as incoming or anonymous (`X-MS-Exchange-CrossPremises-MessageDirectionality:
/// Incoming`, `-AuthAs: Anonymous`), or when it never crossed (`hybrid` false) and arrived `Incoming`. The
/// organization header `MessageDirectionality: Incoming` after a crossing proves nothing: a message that
/// lost its cross-premises headers is stamped so. `None` otherwise.
pub(super) fn originated(
    x: &ExchangeHeaders,
    hybrid: bool,
    from: Option<&str>,
    org_domains: &[String],
) -> Option<bool> {
    let is = |value: Option<&str>, word: &str| value.is_some_and(|v| v.trim().eq_ignore_ascii_case(word));
    let organization = x.directionality.as_deref();
    let crossing = x.cross_premises("MessageDirectionality");
    if is(organization, "Originating") || is(crossing, "Originating") {
        return Some(true);
    }
    if is(x.cross_premises("AuthAs"), "Internal") {
        return Some(true);
    }
    // The first address of From, its domain.
    let sender = from
        .and_then(|f| f.split(',').next())
        .and_then(|a| a.trim().rsplit_once('@'))
        .map(|(_, d)| d.trim().trim_end_matches('>'));
    if let Some(domain) = sender {
        if org_domains
            .iter()
            .any(|d| super::parse::ends_with_domain(domain, d))
        {
            return Some(true);
        }
        if !org_domains.is_empty() {
            return Some(false);
        }
    }
    if is(crossing, "Incoming") || is(x.cross_premises("AuthAs"), "Anonymous") {
        return Some(false);
    }
    if !hybrid && is(organization, "Incoming") {
        return Some(false);
    }
    None
}

/// Whose spam scans an `X-Forefront-Antispam-Report-Untrusted` next to an `X-Forefront-Antispam-Report`
/// shows.
pub(super) enum Scans {
    /// Both by the organization's own tenant: a double scan (why it is known).
    SameTenant(String),
    /// The untrusted one by another tenant, the sender's (why it is known).
    OtherTenant(String),
    /// The headers do not say.
    Unknown,
}

/// Whether the two antispam reports come from the same tenant: every `X-MS-Exchange-CrossTenant-Id` is
/// the same (at least two stamps), or, without tenant ids, the message went from Microsoft to on-premises
/// Exchange and back (the organization's own hybrid path). Different tenant ids: the untrusted report is
/// the sending organization's.
pub(super) fn double_scan(x: &ExchangeHeaders, hops: &[Hop]) -> Scans {
    let mut ids: Vec<String> = x
        .cross_tenant
        .iter()
        .filter(|(name, _)| name.eq_ignore_ascii_case("X-MS-Exchange-CrossTenant-Id"))
        .map(|(_, v)| v.trim().to_ascii_lowercase())
        .collect();
    let stamps = ids.len();
    ids.sort();
    ids.dedup();
    match ids.len() {
        0 | 1 => {
            if stamps >= 2 {
                return Scans::SameTenant(format!(
                    "{stamps} X-MS-Exchange-CrossTenant-Id stamps of tenant {}",
                    ids[0]
                ));
            }
            // Microsoft -> on-premises -> Microsoft: the tenant's own round trip through hybrid.
            let roles: Vec<HopRole> = hops.iter().map(|h| h.role).collect();
            let round_trip = roles.iter().position(|r| r.is_microsoft()).is_some_and(|first| {
                roles[first..]
                    .iter()
                    .position(|r| *r == HopRole::OnPremises)
                    .is_some_and(|on_prem| roles[first + on_prem..].iter().any(|r| r.is_microsoft()))
            });
            if round_trip {
                Scans::SameTenant(
                    "the message went from Microsoft to on-premises Exchange and back".to_string(),
                )
            } else {
                Scans::Unknown
            }
        }
        _ => Scans::OtherTenant(format!("X-MS-Exchange-CrossTenant-Id {}", ids.join(" vs "))),
    }
}

fn classify(auth: &str) -> Classification {
    let a = auth.trim();
    if a.eq_ignore_ascii_case("Internal") {
        Classification::Internal
    } else if a.eq_ignore_ascii_case("Anonymous") || a.eq_ignore_ascii_case("External") {
        Classification::Anonymous
    } else if a.eq_ignore_ascii_case("Partner") {
        // Domain security (mutual TLS with a partner domain): external mail, authenticated.
        Classification::Partner
    } else if a.eq_ignore_ascii_case("Authenticated") {
        // Client submission by an authenticated user of the organization.
        Classification::Internal
    } else {
        Classification::Unknown
    }
}

/// For each hop, whether it is part of a crossing between on-premises Exchange and Microsoft: the
/// hops after an on-premises hop up to and including the next Microsoft hop when only "other" hops
/// lie between (and the same the other way round).
pub(super) fn crossing(hops: &[Hop]) -> Vec<bool> {
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
pub(super) fn third_party_between(hops: &[Hop]) -> Vec<usize> {
    crossing(hops)
        .iter()
        .enumerate()
        .filter(|&(i, &c)| c && hops[i].role == HopRole::Other)
        .map(|(i, _)| i)
        .collect()
}
