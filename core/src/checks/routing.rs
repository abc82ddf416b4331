//! Where mail is routed, as the profile states it: the on-premises send connector's smart hosts
//! (`config.send.smart_hosts`, the source of ATTR35) and the lane of Exchange Online's mail to the internet
//! (directly through EOP, or centralized through on-premises).

use crate::check::{Attachment, CheckDef, CheckResult, Place, Remediation, Status, Step};
use crate::checks::smtp::UNOBSERVABLE;
use crate::path::Destination;
use crate::profile::Profile;
use crate::topology::{Topology, hop};

const ATTR35_DOC: &str =
    "https://learn.microsoft.com/troubleshoot/exchange/email-delivery/wrong-office-365-region-exo";
const SET_SEND: &str = "https://learn.microsoft.com/powershell/module/exchange/set-sendconnector";
const CENTRALIZED: &str = "https://learn.microsoft.com/exchange/transport-options#centralized-mail-transport";
const MESSAGE_TRACE: &str =
    "https://learn.microsoft.com/exchange/monitoring/trace-an-email-message/message-trace-modern-eac";

/// `config.send.smart_hosts`.
pub const SEND_SMART_HOSTS: CheckDef = CheckDef {
    id: "config.send.smart_hosts",
    title: "Send connector delivers to the tenant, not to a legacy smart host",
    why: "The HCW's send connector routes by the MX of <tenant>.mail.onmicrosoft.com. A smart host that is a \
          retired Office 365 endpoint (mail.messaging.microsoft.com, *.frontbridge.com) or an Exchange Online \
          Protection IP address makes Exchange Online defer the mail with 451 4.4.62 Mail sent to the wrong Office \
          365 region (ATTR35); a third-party relay in between is a device hybrid does not support.",
    references: &[ATTR35_DOC, SET_SEND],
};

/// `path.centralized`.
pub const CENTRALIZED_ROUTE: CheckDef = CheckDef {
    id: "path.centralized",
    title: "Centralized mail transport route",
    why: "With RouteAllMessagesViaOnPremises (centralized mail transport) Exchange Online sends its mail to the \
          internet through on-premises: the inbound hop carries it too, and on-premises delivers it from its own \
          egress addresses.",
    references: &[CENTRALIZED],
};

/// Every definition of this module.
pub const DEFS: &[CheckDef] = &[SEND_SMART_HOSTS, CENTRALIZED_ROUTE];

/// The send connector's name as the HCW creates it.
const SEND_NAME: &str = "Outbound to Office 365";

/// `config.send.smart_hosts`: each smart host of the on-premises send connector, judged by what it is.
pub fn send_smart_hosts_check(profile: &Profile) -> CheckResult {
    let topology = Topology::of(profile);
    let hosts = &profile.connectors.send.smart_hosts;
    let routing = &topology.routing_domain;
    let eop = &topology.eop_endpoint;
    let attachment = Attachment::Hop(topology.hop_to_eop.into());
    let hcw_form = Remediation::steps([
        Step::prose(format!(
            "Route the send connector the HCW's way, by the MX of {routing}:"
        )),
        Step::command(
            Place::MailboxShell,
            format!("Set-SendConnector \"{SEND_NAME} - <guid>\" -DNSRoutingEnabled $true -SmartHosts $null"),
        ),
        Step::prose(format!(
            "(or name the tenant's endpoint as the smart host: -SmartHosts {eop})"
        )),
        Step::confirm(
            Place::MailboxShell,
            "Get-SendConnector \"Outbound to Office 365*\" | Format-List SmartHosts,DNSRoutingEnabled",
        ),
    ]);
    if hosts.is_empty() {
        return CheckResult::new(
            &SEND_SMART_HOSTS,
            Status::Info,
            SEND_NAME,
            format!("no smart host in the profile: the send connector routes by the MX of {routing} (the HCW setting; see dns.mx.routing_domain)"),
        )
        .detail("Copy SmartHosts from Get-SendConnector \"Outbound to Office 365*\" | fl SmartHosts,DNSRoutingEnabled into [connectors.send] smart_hosts when it has any: a legacy smart host is the usual source of ATTR35.")
        .on(attachment);
    }
    let mut worst = Status::Pass;
    let mut words = Vec::new();
    for host in hosts {
        let (status, word) = match topology.destination(host) {
            Destination::Retired if host.parse::<std::net::IpAddr>().is_ok() => (
                Status::Fail,
                format!(
                    "{host} is an Exchange Online Protection address, not the tenant's endpoint (ATTR35)"
                ),
            ),
            Destination::Retired => (
                Status::Fail,
                format!("{host} is a retired Office 365 endpoint (ATTR35)"),
            ),
            Destination::Eop if host.eq_ignore_ascii_case(eop) => {
                (Status::Pass, format!("{host} is the tenant's EOP endpoint"))
            }
            Destination::Eop => (
                Status::Warn,
                format!("{host} is an EOP endpoint, but not the tenant's ({eop})"),
            ),
            Destination::OnPremises => (
                Status::Warn,
                format!("{host} is on-premises: cloud mail is relayed once more before EOP"),
            ),
            Destination::ThirdParty => (
                Status::Warn,
                format!("{host} is not Exchange Online Protection: cloud mail passes a third-party relay"),
            ),
        };
        worst = worst.max(status);
        words.push(word);
    }
    let summary = format!("smart hosts: {}", words.join("; "));
    let r = CheckResult::new(&SEND_SMART_HOSTS, worst, SEND_NAME, summary);
    let r = match worst {
        Status::Fail => r
            .detail("Exchange Online defers mail that reaches it through a legacy endpoint or a bare EOP address with 451 4.4.62 Mail sent to the wrong Office 365 region. ATTR35 (Microsoft: \"Mail sent to the wrong Office 365 region\"): only the tenant's endpoint attributes it to the tenant.")
            .remediation(hcw_form.clone()),
        Status::Warn => r
            .detail("Hybrid mail must reach Exchange Online Protection unmodified: a relay that processes SMTP in between loses the TLS certificate attribution and the cross-premises headers.")
            .remediation(hcw_form),
        _ => r,
    };
    r.on(attachment)
}

/// The checks of the lane of Exchange Online's mail to the internet: the hops inside Microsoft's network
/// (information), and with centralized mail transport the hops through on-premises.
pub fn internet_lane_checks(topology: &Topology) -> Vec<CheckResult> {
    let inside = |hop_id: &str, summary: &str, detail: &str| {
        CheckResult::new(
            &UNOBSERVABLE,
            Status::Info,
            hop_id.to_string(),
            summary.to_string(),
        )
        .detail(detail.to_string())
        .on(Attachment::Hop(hop_id.to_string()))
    };
    let mut out = vec![inside(
        hop::NET_EXO_EOP,
        "Exchange Online -> EOP runs inside Microsoft's network",
        "Exchange Online hands its outgoing mail to Exchange Online Protection inside Microsoft's network. Message trace (Get-MessageTraceV2) shows this hop.",
    )];
    let onprem = topology.public_node;
    if topology.centralized {
        let from_eop = format!("net.eop-{onprem}");
        let to_internet = format!("net.{onprem}-internet");
        out.push(
            CheckResult::new(
                &CENTRALIZED_ROUTE,
                Status::Info,
                from_eop.clone(),
                format!("RouteAllMessagesViaOnPremises: Exchange Online sends its internet mail through on-premises, over the same connection as {} (see its checks)", topology.hop_from_eop),
            )
            .on(Attachment::Hop(from_eop)),
        );
        out.push(
            CheckResult::new(
                &CENTRALIZED_ROUTE,
                Status::Info,
                to_internet.clone(),
                "on-premises delivers it to the internet from its egress addresses: SPF must authorise them (dns.spf.egress) and their PTR name the send connector's FQDN (dns.ptr.fcrdns)",
            )
            .on(Attachment::Hop(to_internet)),
        );
    } else {
        out.push(
            inside(
                hop::NET_EOP_INTERNET,
                "EOP delivers Exchange Online's mail to the internet: not observable from here",
                "Exchange Online Protection sends from Microsoft's addresses (spf.protection.outlook.com, see dns.spf.eop). Message trace shows this hop.",
            ),
        );
    }
    for r in &mut out {
        r.references = vec![MESSAGE_TRACE.to_string()];
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn profile(smart_hosts: &[&str]) -> Profile {
        let mut p = Profile::from_toml_str(crate::profile::SAMPLE_EDGE, "sample", None).unwrap();
        p.connectors.send.smart_hosts = smart_hosts.iter().map(|s| (*s).to_string()).collect();
        p
    }

    #[test]
    fn legacy_smart_hosts_fail_with_attr35() {
        for host in [
            "mail.messaging.microsoft.com",
            "mail.global.frontbridge.com",
            "40.107.22.33",
        ] {
            let r = send_smart_hosts_check(&profile(&[host]));
            assert_eq!(r.status, Status::Fail, "{host}: {r:#?}");
            assert!(
                r.summary.contains("ATTR35") && r.summary.contains(host),
                "{}",
                r.summary
            );
            assert!(r.references.iter().any(|u| u.contains("wrong-office-365-region")));
            assert!(
                r.remediation
                    .contains("-DNSRoutingEnabled $true -SmartHosts $null"),
                "{}",
                r.remediation
            );
        }
    }

    #[test]
    fn the_tenant_endpoint_passes_and_nothing_stated_is_information() {
        let r = send_smart_hosts_check(&profile(&["contoso-com.mail.protection.outlook.com"]));
        assert_eq!(r.status, Status::Pass, "{r:#?}");
        assert_eq!(send_smart_hosts_check(&profile(&[])).status, Status::Info);
        let r = send_smart_hosts_check(&profile(&["relay.mimecast.example"]));
        assert_eq!(r.status, Status::Warn, "{r:#?}");
    }

    #[test]
    fn the_internet_lane_follows_centralized_transport() {
        let mut p = profile(&[]);
        let direct = internet_lane_checks(&Topology::of(&p));
        let hops: Vec<String> = direct.iter().map(|c| format!("{:?}", c.attachment)).collect();
        assert!(hops.iter().any(|h| h.contains("net.eop-internet")), "{hops:?}");
        p.connectors.exo_outbound.route_all_via_on_premises = Some(true);
        let centralized = internet_lane_checks(&Topology::of(&p));
        let hops: Vec<String> = centralized
            .iter()
            .map(|c| format!("{:?}", c.attachment))
            .collect();
        assert!(hops.iter().any(|h| h.contains("net.eop-edge")), "{hops:?}");
        assert!(hops.iter().any(|h| h.contains("net.edge-internet")), "{hops:?}");
        assert!(centralized.iter().all(|c| c.status == Status::Info));
    }
}
