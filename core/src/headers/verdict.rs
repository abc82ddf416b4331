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
