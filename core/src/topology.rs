//! The hybrid topology: what a deployment looks like on the mail path, worked out once from the
//! [`Profile`] and read by everything that probes, judges or draws it.
//!
//! Which servers handle hybrid transport (Mailbox servers, the hybrid Edges), the public names the
//! outside world sees and Exchange Online delivers to, the tenant's EOP endpoint, the hops between
//! them and the endpoint each hop reaches. The engine plans its probes from it, the DNS probe its
//! lookups, the checks their expectations, `cert --profile` the TLSA names it reads, and the GUI its
//! path preview; none of them derives these facts on its own.
//!
//! ```
//! # use mailpath_core::{profile::Profile, topology::{Topology, hop}};
//! let profile = Profile::from_toml_str(mailpath_core::profile::SAMPLE_EDGE, "contoso-edge.toml", None)?;
//! let topology = Topology::of(&profile);
//! assert_eq!(topology.public_names, ["mail.contoso.com"]);
//! assert_eq!(topology.hop_from_eop, hop::EOP_EDGE);
//! # Ok::<(), mailpath_core::profile::ProfileError>(())
//! ```

use std::net::IpAddr;

use crate::dns::{DnsAnswer, RecordType};
use crate::path::{Destination, PathSpec, Reached};
use crate::profile::{NetworkLocation, PortOverride, Profile};

/// The stable ids of the hops of the mail path ([`crate::path::MailPath`]).
pub mod hop {
    /// Mailbox -> Edge (the Edge's internal receive connector, and EdgeSync).
    pub const MAILBOX_EDGE: &str = "out.mailbox-edge";
    /// Edge -> EOP (outbound through an Edge).
    pub const EDGE_EOP: &str = "out.edge-eop";
    /// Mailbox -> EOP (outbound without an Edge).
    pub const MAILBOX_EOP: &str = "out.mailbox-eop";
    /// EOP -> Exchange Online (inside Microsoft's network).
    pub const EOP_EXO: &str = "out.eop-exo";
    /// Exchange Online -> EOP (inside Microsoft's network).
    pub const EXO_EOP: &str = "in.exo-eop";
    /// EOP -> Edge (inbound through an Edge).
    pub const EOP_EDGE: &str = "in.eop-edge";
    /// EOP -> Mailbox (inbound without an Edge).
    pub const EOP_MAILBOX: &str = "in.eop-mailbox";
    /// Edge -> Mailbox (inbound through an Edge).
    pub const EDGE_MAILBOX: &str = "in.edge-mailbox";
    /// Internet -> the MX of the accepted domains (EOP when the MX is EOP; the id stays whatever the MX
    /// reaches).
    pub const INTERNET_EOP: &str = "mx.internet-eop";
    /// Exchange Online -> EOP, for mail to the internet (inside Microsoft's network).
    pub const NET_EXO_EOP: &str = "net.exo-eop";
    /// EOP -> the internet: Exchange Online's mail to the internet, without centralized mail transport.
    pub const NET_EOP_INTERNET: &str = "net.eop-internet";
}

/// The stable ids of the nodes of the mail path.
pub mod node {
    /// The on-premises Mailbox servers.
    pub const MAILBOX: &str = "mailbox";
    /// The hybrid Edge Transport servers.
    pub const EDGE: &str = "edge";
    /// Exchange Online Protection.
    pub const EOP: &str = "eop";
    /// Exchange Online.
    pub const EXO: &str = "exo";
    /// Senders on the internet.
    pub const INTERNET: &str = "internet";
}

/// Microsoft's clouds and the names each gives EOP, the routing domain and SPF: one table
/// ([`CLOUDS`], in [`crate::cloud`], a leaf module so that the profile can read it too without an import
/// circle). A topology's Microsoft names come from its profile's `[tenant] cloud`.
pub use crate::cloud::{CLOUDS, Cloud, CloudNames};

/// Whether `host` is an Exchange Online Protection endpoint of any cloud (by its name, case-insensitively):
/// the classic `<token>.mail.protection.outlook.com` (`.office365.us`, `.partner.outlook.cn`) and, for
/// domains added since 2024, `<token>.<zone>.mx.microsoft`.
pub fn is_eop_host(host: &str) -> bool {
    crate::cloud::is_any_eop_host(host)
}

/// Whether `host` is a retired Office 365 (FOPE / Forefront) endpoint, which refuses hybrid mail.
pub fn is_retired_office365_host(host: &str) -> bool {
    let h = host.trim_end_matches('.').to_ascii_lowercase();
    h == "mail.messaging.microsoft.com"
        || h.ends_with(".frontbridge.com")
        || h.ends_with(".messaging.microsoft.com")
}

/// Exchange Online Protection's published address ranges (the `ip4`/`ip6` terms of
/// `spf.protection.outlook.com`; Microsoft 365 "URLs and IP address ranges", Exchange Online).
pub const EOP_ADDRESS_RANGES: &[(&str, u8)] = &[
    ("40.92.0.0", 15),
    ("40.107.0.0", 16),
    ("52.100.0.0", 14),
    ("104.47.0.0", 17),
    ("2a01:111:f400::", 48),
    ("2a01:111:f403::", 48),
];

/// Whether `ip` is in one of Exchange Online Protection's address ranges ([`EOP_ADDRESS_RANGES`]).
pub fn is_eop_address(ip: IpAddr) -> bool {
    EOP_ADDRESS_RANGES.iter().any(|(net, len)| {
        net.parse::<IpAddr>()
            .is_ok_and(|net| crate::spf::in_network(ip, net, *len))
    })
}

/// Whether `ip` is an address of a private network behind NAT: RFC 1918, shared (RFC 6598), unique local
/// (RFC 4193), link-local or unspecified. Receivers on the internet never see one (mail leaves through
/// NAT with a public address), and a public name that resolves to one was answered by internal DNS.
/// Loopback is not one: no NAT hides it, only labs and tests use it.
pub fn is_private_address(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || (a == 100 && (64..128).contains(&b))
        }
        IpAddr::V6(v6) => {
            let first = v6.segments()[0];
            v6.is_unspecified() || (first & 0xfe00) == 0xfc00 || (first & 0xffc0) == 0xfe80
        }
    }
}

/// What a workstation probe targets, for what it can be expected to reach from where it runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Listener {
    /// A Mailbox server's receive connector (internal network).
    Mailbox,
    /// An Edge's internal listener: SMTP from the Mailbox servers (perimeter network).
    EdgeInternal,
    /// An Edge's EdgeSync LDAPS port 50636 (perimeter network).
    EdgeSync,
    /// A public on-premises endpoint: where Exchange Online and the internet connect.
    Public,
    /// An endpoint outside the organisation (EOP, an MX elsewhere).
    External,
}

/// The TLSA owner name of an SMTP host (`_25._tcp.mail.contoso.com`): always port 25, the port senders
/// use, whatever port a lab or a test listens on.
pub fn tlsa_name(host: &str) -> String {
    format!("_25._tcp.{}", host.trim_end_matches('.').to_ascii_lowercase())
}

/// An on-premises Mailbox server that handles hybrid transport.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailboxServer {
    /// Its FQDN.
    pub fqdn: String,
    /// Its address, when the profile gives it (not resolved then).
    pub address: Option<IpAddr>,
}

/// An Edge Transport server that handles hybrid transport.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EdgeServer {
    /// The internal FQDN, which the Mailbox servers use.
    pub fqdn: String,
    /// The internal address, when the profile gives it.
    pub address: Option<IpAddr>,
    /// The public FQDN, which EOP connects to and the Edge announces.
    pub external_fqdn: String,
    /// The public address EOP connects to, when the profile gives it.
    pub external_address: Option<IpAddr>,
    /// The thumbprint of the certificate its Edge subscription published (normalized), when the profile
    /// gives it.
    pub subscription_thumbprint: Option<String>,
}

/// The MX hosts that decide the path, as DNS answered: where on-premises sends, and where the internet
/// sends.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MxTargets {
    /// The lowest-preference MX of the routing domain (`<tenant>.mail.onmicrosoft.com`): where the
    /// on-premises send connector delivers.
    pub routing: Option<String>,
    /// The lowest-preference MX of the first accepted domain: where senders on the internet deliver.
    pub accepted: Option<String>,
}

/// A hybrid deployment on the mail path: its servers, public names, EOP endpoint and hops.
#[derive(Debug, Clone, PartialEq)]
pub struct Topology {
    /// The accepted domains shared between on-premises and the cloud; the first one is the one the
    /// internet MX path is drawn for.
    pub accepted_domains: Vec<String>,
    /// The tenant's coexistence (routing) domain, `<tenant>.mail.onmicrosoft.com`.
    pub routing_domain: String,
    /// The tenant's EOP endpoint.
    pub eop_endpoint: String,
    /// The Mailbox servers.
    pub mailboxes: Vec<MailboxServer>,
    /// The Edge servers that handle hybrid transport; empty when the Mailbox servers talk to EOP
    /// directly.
    pub edges: Vec<EdgeServer>,
    /// The public on-premises names: the hybrid Edges' external FQDNs, else the send connector's FQDN,
    /// else the Mailbox servers.
    pub public_names: Vec<String>,
    /// The on-premises hosts Exchange Online delivers to: its outbound connector's smart hosts, else the
    /// public names.
    pub inbound_hosts: Vec<String>,
    /// Every name that is on-premises: all Edge servers (hybrid or not, internal and external names), the
    /// Mailbox servers, the send connector's FQDN and Exchange Online's smart hosts.
    pub on_premises_names: Vec<String>,
    /// The addresses the profile gives for on-premises names (used instead of DNS when probing): every
    /// Mailbox server and every Edge server (hybrid or not, internal and external names), in that order.
    pub given_addresses: Vec<(String, IpAddr)>,
    /// The node of the public on-premises endpoint ([`node::EDGE`] or [`node::MAILBOX`]).
    pub public_node: &'static str,
    /// The hop into EOP ([`hop::EDGE_EOP`] or [`hop::MAILBOX_EOP`]).
    pub hop_to_eop: &'static str,
    /// The hop out of EOP into on-premises ([`hop::EOP_EDGE`] or [`hop::EOP_MAILBOX`]).
    pub hop_from_eop: &'static str,
    /// The FQDN the on-premises send connector announces (and expects on its certificate), when known.
    pub send_fqdn: Option<String>,
    /// Where Exchange Online's outbound connector delivers on-premises mail (its smart hosts); empty
    /// when unknown.
    pub smart_hosts: Vec<String>,
    /// Port overrides per host (labs).
    ports: Vec<PortOverride>,
    /// Where mailpath runs from.
    pub location: NetworkLocation,
    /// The send connector's smart hosts: where it relays cloud mail instead of the MX of the routing
    /// domain (the HCW sets none).
    pub send_smart_hosts: Vec<String>,
    /// The public addresses on-premises mail leaves from, as the profile gives them (empty: unknown).
    pub egress_addresses: Vec<IpAddr>,
    /// Whether Exchange Online routes all its mail through on-premises (centralized mail transport).
    pub centralized: bool,
}

/// A server that receives mail from Exchange Online, and the receive connector that does it: each Mailbox
/// server without an Edge, each hybrid Edge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receiver {
    /// The server's name as Exchange shows it (`EX02`, `EDGE01`).
    pub server: String,
    /// The receive connector's identity (`EX02\Default Frontend EX02`).
    pub connector: String,
    /// The host name probed.
    pub host: String,
    /// The address the profile gives for it, probed instead of resolving the name.
    pub address: Option<IpAddr>,
    /// What kind of listener it is.
    pub listener: Listener,
}

impl Topology {
    /// The topology `profile` describes.
    pub fn of(profile: &Profile) -> Topology {
        let edges: Vec<EdgeServer> = profile
            .hybrid_edges()
            .map(|e| EdgeServer {
                fqdn: e.fqdn.clone(),
                address: e.address,
                external_fqdn: e.external_fqdn.clone(),
                external_address: e.external_address,
                subscription_thumbprint: e.subscription_thumbprint(),
            })
            .collect();
        let mailboxes: Vec<MailboxServer> = profile
            .mailboxes
            .iter()
            .map(|m| MailboxServer {
                fqdn: m.fqdn.clone(),
                address: m.address,
            })
            .collect();
        let connectors = &profile.connectors;
        let mut public_names: Vec<String> = edges.iter().map(|e| e.external_fqdn.clone()).collect();
        if public_names.is_empty() {
            public_names.extend(connectors.send.fqdn.iter().cloned());
        }
        if public_names.is_empty() {
            public_names.extend(mailboxes.iter().map(|m| m.fqdn.clone()));
        }
        let inbound_hosts = if connectors.exo_outbound.smart_hosts.is_empty() {
            public_names.clone()
        } else {
            connectors.exo_outbound.smart_hosts.clone()
        };
        let mut on_premises_names: Vec<String> = Vec::new();
        for e in &profile.edges {
            on_premises_names.push(e.external_fqdn.clone());
            on_premises_names.push(e.fqdn.clone());
        }
        on_premises_names.extend(mailboxes.iter().map(|m| m.fqdn.clone()));
        on_premises_names.extend(connectors.send.fqdn.iter().cloned());
        on_premises_names.extend(connectors.exo_outbound.smart_hosts.iter().cloned());
        let mut given_addresses: Vec<(String, IpAddr)> = Vec::new();
        for m in &mailboxes {
            given_addresses.extend(m.address.map(|ip| (m.fqdn.clone(), ip)));
        }
        for e in &profile.edges {
            given_addresses.extend(e.address.map(|ip| (e.fqdn.clone(), ip)));
            given_addresses.extend(e.external_address.map(|ip| (e.external_fqdn.clone(), ip)));
        }
        let via_edge = !edges.is_empty();
        Topology {
            accepted_domains: profile.tenant.accepted_domains.clone(),
            routing_domain: profile.tenant.routing_domain(),
            eop_endpoint: profile.eop_endpoint(),
            mailboxes,
            edges,
            public_names,
            inbound_hosts,
            on_premises_names,
            given_addresses,
            public_node: if via_edge { node::EDGE } else { node::MAILBOX },
            hop_to_eop: if via_edge { hop::EDGE_EOP } else { hop::MAILBOX_EOP },
            hop_from_eop: if via_edge { hop::EOP_EDGE } else { hop::EOP_MAILBOX },
            send_fqdn: connectors.send.fqdn.clone(),
            smart_hosts: connectors.exo_outbound.smart_hosts.clone(),
            ports: profile.port_overrides.clone(),
            location: profile.workstation.location,
            send_smart_hosts: connectors.send.smart_hosts.clone(),
            egress_addresses: connectors.send.egress_addresses.clone(),
            centralized: connectors.exo_outbound.route_all_via_on_premises().value,
        }
    }

    /// Whether hybrid mail goes through Edge servers.
    pub fn uses_edge(&self) -> bool {
        !self.edges.is_empty()
    }

    /// The SMTP port of `host` (a lab's override, or 25).
    pub fn smtp_port(&self, host: &str) -> u16 {
        self.port_override(host)
            .and_then(|o| o.smtp)
            .unwrap_or(crate::profile::SMTP_PORT)
    }

    /// The EdgeSync port of `host` (a lab's override, or 50636).
    pub fn edgesync_port(&self, host: &str) -> u16 {
        self.port_override(host)
            .and_then(|o| o.edgesync)
            .unwrap_or(crate::profile::EDGESYNC_PORT)
    }

    fn port_override(&self, host: &str) -> Option<&PortOverride> {
        let host = host.strip_suffix('.').unwrap_or(host);
        self.ports.iter().find(|o| o.host.eq_ignore_ascii_case(host))
    }

    /// `host:port` of `host`'s SMTP endpoint.
    pub fn smtp_endpoint(&self, host: &str) -> String {
        format!("{host}:{}", self.smtp_port(host))
    }

    /// Whether `host` is on-premises ([`Topology::on_premises_names`], case-insensitively).
    pub fn is_on_premises(&self, host: &str) -> bool {
        self.on_premises_names
            .iter()
            .any(|n| n.eq_ignore_ascii_case(host))
    }

    /// The egress addresses of on-premises mail, which SPF must cover and whose PTR must name the send
    /// connector's FQDN: `[connectors.send] egress_addresses`, or none (unknown). The address a probe
    /// reached is never taken for it: outbound NAT may differ, and split DNS gives a private one.
    pub fn egress(&self) -> Vec<IpAddr> {
        self.egress_addresses.clone()
    }

    /// What `host` is on the mail path: EOP, on-premises, a retired Office 365 endpoint (a FOPE/Forefront
    /// name, or an address in EOP's ranges used instead of the tenant's name), or a third party.
    pub fn destination(&self, host: &str) -> Destination {
        if is_eop_host(host) {
            Destination::Eop
        } else if is_retired_office365_host(host) {
            Destination::Retired
        } else if let Ok(ip) = host.parse::<IpAddr>() {
            if is_eop_address(ip) {
                Destination::Retired
            } else if self.given_addresses.iter().any(|(_, a)| *a == ip)
                || self.egress_addresses.contains(&ip)
            {
                Destination::OnPremises
            } else {
                Destination::ThirdParty
            }
        } else if self.is_on_premises(host) {
            Destination::OnPremises
        } else {
            Destination::ThirdParty
        }
    }

    /// Where the send connector delivers cloud mail: its first smart host when it has any, else the MX of
    /// the routing domain.
    pub fn cloud_target(&self, mx: &MxTargets) -> Option<String> {
        self.send_smart_hosts
            .first()
            .cloned()
            .or_else(|| mx.routing.clone())
    }

    /// Why not reaching a `listener` from this workstation is expected (then it is a skip, not a failure):
    /// `None` when it should be reachable from where mailpath runs.
    pub fn out_of_sight(&self, listener: Listener) -> Option<&'static str> {
        match (self.location, listener) {
            (NetworkLocation::Lan, Listener::EdgeInternal | Listener::EdgeSync) => {
                Some("expected from the LAN: only Mailbox servers reach the Edge")
            }
            (NetworkLocation::Dmz, Listener::Mailbox) => {
                Some("expected from the DMZ: only the Edge servers reach the Mailbox servers")
            }
            (NetworkLocation::Internet, Listener::Mailbox | Listener::EdgeInternal | Listener::EdgeSync) => {
                Some("expected from the internet: only the public endpoints are reachable")
            }
            _ => None,
        }
    }

    /// The servers that receive mail from Exchange Online: the hybrid Edges (their public name and
    /// address), or every Mailbox server without an Edge.
    pub fn receivers(&self) -> Vec<Receiver> {
        let short = |fqdn: &str| fqdn.split('.').next().unwrap_or(fqdn).to_ascii_uppercase();
        if self.uses_edge() {
            self.edges
                .iter()
                .map(|e| {
                    let server = short(&e.fqdn);
                    Receiver {
                        connector: format!("{server}\\Default internal receive connector {server}"),
                        server,
                        host: e.external_fqdn.clone(),
                        address: e.external_address,
                        listener: Listener::Public,
                    }
                })
                .collect()
        } else {
            self.mailboxes
                .iter()
                .map(|m| {
                    let server = short(&m.fqdn);
                    Receiver {
                        connector: format!("{server}\\Default Frontend {server}"),
                        server,
                        host: m.fqdn.clone(),
                        address: m.address,
                        listener: Listener::Mailbox,
                    }
                })
                .collect()
        }
    }

    /// Every host name of the deployment with the node it belongs to, lower case, once each: the Mailbox
    /// servers, the hybrid Edges (internal and external names), the send connector's FQDN and Exchange
    /// Online's smart hosts (the public node), and the EOP endpoint.
    pub fn hosts(&self) -> Vec<(String, &'static str)> {
        let mut v: Vec<(String, &'static str)> = self
            .mailboxes
            .iter()
            .map(|m| (m.fqdn.to_ascii_lowercase(), node::MAILBOX))
            .collect();
        for e in &self.edges {
            v.push((e.fqdn.to_ascii_lowercase(), node::EDGE));
            v.push((e.external_fqdn.to_ascii_lowercase(), node::EDGE));
        }
        for s in self.smart_hosts.iter().chain(self.send_fqdn.iter()) {
            v.push((s.to_ascii_lowercase(), self.public_node));
        }
        v.push((self.eop_endpoint.clone(), node::EOP));
        let mut seen = std::collections::BTreeSet::new();
        v.retain(|(h, _)| seen.insert(h.clone()));
        v
    }

    /// The names whose addresses' PTR records matter (the public names mail leaves from): the hybrid
    /// Edges' external FQDNs, or the send connector's FQDN without an Edge.
    pub fn reverse_names(&self) -> Vec<String> {
        if self.uses_edge() {
            self.edges.iter().map(|e| e.external_fqdn.clone()).collect()
        } else {
            self.send_fqdn.iter().cloned().collect()
        }
    }

    /// The MX targets in `dns` (the answers of the routing domain and of the first accepted domain).
    pub fn mx_targets(&self, dns: &[DnsAnswer]) -> MxTargets {
        MxTargets {
            routing: lowest_mx(dns, &self.routing_domain),
            accepted: self.accepted_domains.first().and_then(|d| lowest_mx(dns, d)),
        }
    }

    /// What the mail path is built from, with the MX targets DNS gave (none: the path a profile implies
    /// before any probe, as the GUI previews it).
    pub fn path_spec(&self, mx: &MxTargets) -> PathSpec {
        let mut edge_hosts = Vec::new();
        for e in &self.edges {
            edge_hosts.push(e.fqdn.clone());
            edge_hosts.push(e.external_fqdn.clone());
        }
        PathSpec {
            mailbox_hosts: self.mailboxes.iter().map(|m| m.fqdn.clone()).collect(),
            edge_hosts,
            eop_host: self.eop_endpoint.clone(),
            mailbox_to_edge: self.edges.first().map(|e| self.smtp_endpoint(&e.fqdn)),
            to_eop: self.cloud_target(mx).map(|h| self.smtp_endpoint(&h)),
            from_eop: self.inbound_hosts.first().map(|h| self.smtp_endpoint(h)),
            edge_to_mailbox: if self.uses_edge() {
                self.mailboxes.first().map(|m| self.smtp_endpoint(&m.fqdn))
            } else {
                None
            },
            internet_mx: mx.accepted.as_deref().map(|h| self.smtp_endpoint(h)),
            to_eop_reaches: self.cloud_target(mx).map(|host| Reached {
                destination: self.destination(&host),
                host,
            }),
            internet_mx_reaches: mx.accepted.as_ref().map(|host| Reached {
                destination: self.destination(host),
                host: host.clone(),
            }),
            centralized: self.centralized,
        }
    }
}

/// The lowest-preference MX host of `domain` in `dns` (the null MX `.` is none).
pub fn lowest_mx(dns: &[DnsAnswer], domain: &str) -> Option<String> {
    let domain = domain.trim_end_matches('.');
    let mut best: Option<(u16, String)> = None;
    for answer in dns
        .iter()
        .filter(|a| a.rtype == RecordType::Mx && a.name.eq_ignore_ascii_case(domain))
    {
        for (pref, host) in answer.mx() {
            if best.as_ref().is_none_or(|(p, _)| pref < *p) {
                best = Some((pref, host.to_string()));
            }
        }
    }
    best.map(|(_, h)| h).filter(|h| h != ".")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dns::{DnsOutcome, RecordData};
    use crate::profile::{SAMPLE_DIRECT, SAMPLE_EDGE};

    fn profile(text: &str) -> Profile {
        Profile::from_toml_str(text, "sample.toml", None).unwrap()
    }

    /// Issue 13 item 1: what each location is expected not to reach.
    #[test]
    fn each_location_has_its_hops_out_of_sight() {
        let mut p = profile(SAMPLE_EDGE);
        let sight = |p: &Profile| {
            let t = Topology::of(p);
            [
                Listener::Mailbox,
                Listener::EdgeInternal,
                Listener::EdgeSync,
                Listener::Public,
                Listener::External,
            ]
            .map(|l| t.out_of_sight(l).is_some())
        };
        assert_eq!(
            sight(&p),
            [false, true, true, false, false],
            "the LAN, the default"
        );
        assert!(
            Topology::of(&p)
                .out_of_sight(Listener::EdgeInternal)
                .is_some_and(|why| why.contains("only Mailbox servers reach the Edge"))
        );
        p.workstation.location = NetworkLocation::Dmz;
        assert_eq!(sight(&p), [true, false, false, false, false]);
        p.workstation.location = NetworkLocation::Internet;
        assert_eq!(sight(&p), [true, true, true, false, false]);
    }

    #[test]
    fn private_addresses_are_told_from_public_and_loopback() {
        for ip in [
            "10.0.0.10",
            "172.16.1.1",
            "192.168.1.1",
            "100.64.0.1",
            "169.254.1.1",
            "fd00::1",
            "fe80::1",
        ] {
            assert!(is_private_address(ip.parse().unwrap()), "{ip}");
        }
        for ip in [
            "203.0.113.10",
            "40.107.1.1",
            "127.0.0.1",
            "::1",
            "2a01:111:f400::1",
        ] {
            assert!(!is_private_address(ip.parse().unwrap()), "{ip}");
        }
        assert!(is_eop_address("40.107.22.33".parse().unwrap()));
        assert!(!is_eop_address("203.0.113.10".parse().unwrap()));
    }

    #[test]
    fn an_edge_deployment_is_public_through_its_edges() {
        let t = Topology::of(&profile(SAMPLE_EDGE));
        assert!(t.uses_edge());
        assert_eq!(t.public_names, ["mail.contoso.com"]);
        assert_eq!(t.inbound_hosts, ["mail.contoso.com"]);
        assert_eq!((t.hop_to_eop, t.hop_from_eop), (hop::EDGE_EOP, hop::EOP_EDGE));
        assert_eq!(t.public_node, node::EDGE);
        assert!(t.is_on_premises("MAIL.contoso.com"));
        assert!(!t.is_on_premises("contoso-com.mail.protection.outlook.com"));
        let mut p = profile(SAMPLE_EDGE);
        let ip: IpAddr = "10.0.0.10".parse().unwrap();
        p.mailboxes[0].address = Some(ip);
        p.edges[0].external_address = Some("203.0.113.10".parse().unwrap());
        let t = Topology::of(&p);
        assert_eq!(t.given_addresses[0], (p.mailboxes[0].fqdn.clone(), ip));
        assert!(t.given_addresses.iter().any(|(h, _)| h == "mail.contoso.com"));
        assert!(
            t.egress().is_empty(),
            "the Edge's public address is not taken for the egress address"
        );
        p.connectors.send.egress_addresses = vec!["198.51.100.7".parse().unwrap()];
        assert_eq!(
            Topology::of(&p).egress(),
            ["198.51.100.7".parse::<IpAddr>().unwrap()]
        );
    }

    #[test]
    fn without_an_edge_the_send_connector_or_the_mailboxes_are_public() {
        let mut p = profile(SAMPLE_DIRECT);
        let t = Topology::of(&p);
        assert!(!t.uses_edge());
        assert_eq!(
            (t.hop_to_eop, t.hop_from_eop),
            (hop::MAILBOX_EOP, hop::EOP_MAILBOX)
        );
        assert_eq!(
            t.public_names,
            p.connectors.send.fqdn.iter().cloned().collect::<Vec<_>>()
        );
        p.connectors.send.fqdn = None;
        p.connectors.exo_outbound.smart_hosts = vec!["smart.contoso.com".into()];
        let t = Topology::of(&p);
        let mailboxes: Vec<String> = p.mailboxes.iter().map(|m| m.fqdn.clone()).collect();
        assert_eq!(t.public_names, mailboxes);
        assert_eq!(t.inbound_hosts, ["smart.contoso.com"]);
        assert!(t.reverse_names().is_empty(), "{:?}", t.reverse_names());
    }

    #[test]
    fn eop_names_are_recognised_in_any_case() {
        assert!(is_eop_host("contoso-com.mail.protection.outlook.com"));
        assert!(is_eop_host("Contoso-Com.MAIL.protection.outlook.com."));
        assert!(is_eop_host("contoso-com.a-v1.mx.microsoft"));
        assert!(!is_eop_host("mail.contoso.com"));
        assert!(is_eop_host("contoso.mail.protection.office365.us"));
        assert!(is_eop_host("contoso-cn.mail.protection.partner.outlook.cn"));
        assert!(is_retired_office365_host("mail.global.frontbridge.com"));
        assert!(!is_retired_office365_host(
            "contoso-com.mail.protection.outlook.com"
        ));
        assert_eq!(tlsa_name("Mail.Contoso.com."), "_25._tcp.mail.contoso.com");
    }

    #[test]
    fn the_lowest_mx_wins_and_the_null_mx_is_none() {
        let answer = |name: &str, records: Vec<RecordData>| DnsAnswer {
            name: name.into(),
            rtype: RecordType::Mx,
            server: "test".into(),
            outcome: DnsOutcome::Records(records),
            elapsed_ms: 1,
        };
        let mx = |preference: u16, exchange: &str| RecordData::Mx {
            preference,
            exchange: exchange.into(),
        };
        let t = Topology::of(&profile(SAMPLE_EDGE));
        let dns = vec![
            answer(
                "contoso.mail.onmicrosoft.com",
                vec![mx(10, "b.example"), mx(0, "a.example")],
            ),
            answer("contoso.com", vec![mx(0, ".")]),
        ];
        let targets = t.mx_targets(&dns);
        assert_eq!(targets.routing.as_deref(), Some("a.example"));
        assert_eq!(targets.accepted, None);
        let spec = t.path_spec(&targets);
        assert_eq!(spec.to_eop.as_deref(), Some("a.example:25"));
        assert_eq!(spec.from_eop.as_deref(), Some("mail.contoso.com:25"));
        assert_eq!(spec.internet_mx, None);
    }
}
