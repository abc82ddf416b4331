//! `path.vantage`: where mailpath runs from (the profile's `[workstation] location`), what that hides, and
//! whether what the probes saw agrees with it. The obvious case is split DNS: when this workstation's
//! resolver answers a public name with a private address, or differently from public DNS, it is inside the
//! organisation, and the probes of that name reach what it resolves, not what Exchange Online reaches.

use std::collections::BTreeSet;
use std::net::IpAddr;

use crate::check::{Attachment, CheckDef, CheckResult, Status};
use crate::dns::RecordType;
use crate::evidence::Evidence;
use crate::profile::{NetworkLocation, Profile};
use crate::topology::{Listener, Topology, is_private_address};

const NETWORK_PORTS: &str =
    "https://learn.microsoft.com/exchange/plan-and-deploy/deployment-ref/network-ports";
const EDGE_SUBSCRIPTIONS: &str =
    "https://learn.microsoft.com/exchange/architecture/edge-transport-servers/edge-subscriptions";

/// `path.vantage`.
pub const VANTAGE: CheckDef = CheckDef {
    id: "path.vantage",
    title: "Where mailpath runs from",
    why: "What a workstation observes depends on where it is: on the LAN, the Edge's internal listeners (SMTP 25, \
          EdgeSync 50636) are usually closed to it (the DMZ firewall lets only the Mailbox servers in) and DNS is the \
          internal view (split DNS); on the internet only the public endpoints answer. Hops out of sight are \
          skipped with why, never failed; a stated location that contradicts what was seen is flagged.",
    references: &[NETWORK_PORTS, EDGE_SUBSCRIPTIONS],
};

/// Every definition of this module.
pub const DEFS: &[CheckDef] = &[VANTAGE];

/// `path.vantage` of a diagnosis: the stated location, what is out of sight from there, and the split DNS
/// this workstation's answers show.
pub fn vantage_check(profile: &Profile, evidence: &Evidence) -> CheckResult {
    let topology = Topology::of(profile);
    let location = topology.location;
    let is_external = |server: &str| crate::checks::dns::is_external_server(profile, server);
    let answers = |name: &str, from_external: bool| -> BTreeSet<IpAddr> {
        [RecordType::A, RecordType::Aaaa]
            .into_iter()
            .flat_map(|t| evidence.dns_answers(name, t))
            .filter(|a| is_external(&a.server) == from_external)
            .flat_map(|a| a.ips())
            .collect()
    };
    let mut seen = Vec::new();
    let mut evidence_ids = Vec::new();
    let mut public_names = topology.public_names.clone();
    for host in &topology.inbound_hosts {
        if !public_names.iter().any(|n| n.eq_ignore_ascii_case(host)) {
            public_names.push(host.clone());
        }
    }
    for name in &public_names {
        let here = answers(name, false);
        let public = answers(name, true);
        let list =
            |ips: &BTreeSet<IpAddr>| ips.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ");
        if !public.is_empty() && !here.is_empty() && here != public {
            seen.push(format!(
                "{name} resolves to {} here and to {} in public DNS (split DNS)",
                list(&here),
                list(&public)
            ));
            evidence_ids.push(format!("dns:{name}/A"));
        } else if let Some(private) = here.iter().find(|ip| is_private_address(**ip)) {
            seen.push(format!(
                "{name} resolves to {private} here, an address the internet cannot reach (internal DNS)"
            ));
            evidence_ids.push(format!("dns:{name}/A"));
        }
    }
    let mut internal_names: Vec<&str> = topology.mailboxes.iter().map(|m| m.fqdn.as_str()).collect();
    internal_names.extend(topology.edges.iter().map(|e| e.fqdn.as_str()));
    let private_internal: Vec<String> = internal_names
        .iter()
        .filter_map(|name| {
            let ip = answers(name, false)
                .into_iter()
                .find(|ip| is_private_address(*ip))?;
            Some(format!("{name} resolves to {ip}"))
        })
        .collect();

    let out_of_sight: Vec<&str> = [
        (Listener::Mailbox, "the Mailbox servers"),
        (Listener::EdgeInternal, "the Edge's internal SMTP listener"),
        (Listener::EdgeSync, "EdgeSync (LDAPS 50636)"),
    ]
    .into_iter()
    .filter(|(l, _)| topology.out_of_sight(*l).is_some() && (*l == Listener::Mailbox || topology.uses_edge()))
    .map(|(_, what)| what)
    .collect();
    let hidden = if out_of_sight.is_empty() {
        "every on-premises hop is expected to be reachable from here".to_string()
    } else {
        format!(
            "{} are expected out of sight from here: a hop that does not answer there is skipped, unless another port of the same host answered",
            out_of_sight.join(", ")
        )
    };
    let stated = format!(
        "runs from {} ([workstation] location = \"{location}\")",
        location.words()
    );
    let inside_signs: Vec<String> = seen.iter().cloned().chain(private_internal).collect();
    let r = if location == NetworkLocation::Internet && !inside_signs.is_empty() {
        CheckResult::new(
            &VANTAGE,
            Status::Warn,
            "this workstation",
            format!("the profile says this workstation is on the internet, but {}: it looks like an internal network", inside_signs.join("; ")),
        )
        .detail(format!("On the internet, public DNS answers and private addresses do not exist. {hidden}."))
        .remediation("Set [workstation] location = \"lan\" (or \"dmz\") in the profile, or run mailpath from outside the organisation.")
    } else if !seen.is_empty() {
        let compare = if profile.resolvers.external.is_empty() {
            " Give a public resolver in [resolvers] external to compare with what Exchange Online resolves."
        } else {
            ""
        };
        CheckResult::new(&VANTAGE, Status::Info, "this workstation", format!("{stated}; {}", seen.join("; ")))
            .detail(format!(
                "The probes of these names reach what this workstation resolves, not necessarily what Exchange Online reaches. {hidden}.{compare}"
            ))
    } else {
        CheckResult::new(&VANTAGE, Status::Info, "this workstation", stated).detail(format!("{hidden}."))
    };
    evidence_ids
        .into_iter()
        .fold(r, CheckResult::evidence)
        .on(Attachment::None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dns::{DnsAnswer, DnsOutcome, RecordData};

    fn a(name: &str, server: &str, ip: &str) -> DnsAnswer {
        DnsAnswer {
            name: name.into(),
            rtype: RecordType::A,
            server: server.into(),
            outcome: DnsOutcome::Records(vec![RecordData::A(ip.parse().unwrap())]),
            elapsed_ms: 1,
        }
    }

    fn profile(location: NetworkLocation) -> Profile {
        let mut p = Profile::from_toml_str(crate::profile::SAMPLE_EDGE, "sample", None).unwrap();
        p.workstation.location = location;
        p.resolvers.external = vec!["192.0.2.53:53".parse().unwrap()];
        p
    }

    fn split() -> Evidence {
        Evidence {
            dns: vec![
                a("mail.contoso.com", "10.0.0.1:53", "10.0.1.10"),
                a("mail.contoso.com", "192.0.2.53:53", "203.0.113.10"),
            ],
            ..Evidence::default()
        }
    }

    #[test]
    fn split_dns_is_reported_from_the_lan() {
        let r = vantage_check(&profile(NetworkLocation::Lan), &split());
        assert_eq!(r.status, Status::Info, "{r:#?}");
        assert!(r.summary.contains("runs from the LAN"), "{}", r.summary);
        assert!(r.summary.contains("split DNS"), "{}", r.summary);
        assert!(
            r.detail.contains("the Edge's internal SMTP listener"),
            "{}",
            r.detail
        );
    }

    #[test]
    fn split_dns_contradicts_a_stated_internet_location() {
        let r = vantage_check(&profile(NetworkLocation::Internet), &split());
        assert_eq!(r.status, Status::Warn, "{r:#?}");
        assert!(r.remediation.contains("location = \"lan\""), "{}", r.remediation);
        // Public answers only: nothing contradicts it.
        let public = Evidence {
            dns: vec![a("mail.contoso.com", "10.0.0.1:53", "203.0.113.10")],
            ..Evidence::default()
        };
        assert_eq!(
            vantage_check(&profile(NetworkLocation::Internet), &public).status,
            Status::Info
        );
    }
}
