//! `dns.*` checks: pure functions of the profile and the gathered DNS answers. A check whose answer
//! is missing or failed is a skip with the resolver's words, never a pass.

use std::collections::BTreeMap;
use std::net::IpAddr;

use crate::check::{Attachment, CheckDef, CheckResult, Place, Remediation, Status, Step};
use crate::dns::{DnsAnswer, RecordType};
use crate::evidence::Evidence;
use crate::profile::Profile;
use crate::spf::{self, SpfResult};
use crate::topology::{Topology, is_retired_office365_host as is_legacy};

const MX_DOC: &str =
    "https://learn.microsoft.com/microsoft-365/enterprise/external-domain-name-system-records";
const ENHANCED_FILTERING: &str = "https://learn.microsoft.com/exchange/mail-flow-best-practices/use-connectors-to-configure-mail-flow/enhanced-filtering-for-connectors";
const SPF_DOC: &str = "https://learn.microsoft.com/defender-office-365/email-authentication-spf-configure";
const DKIM_DOC: &str = "https://learn.microsoft.com/defender-office-365/email-authentication-dkim-configure";
const DMARC_DOC: &str =
    "https://learn.microsoft.com/defender-office-365/email-authentication-dmarc-configure";

/// `dns.mx.routing_domain`.
pub const MX_ROUTING: CheckDef = CheckDef {
    id: "dns.mx.routing_domain",
    title: "Tenant routing domain's MX points to EOP",
    why: "The on-premises send connector routes cloud mail by MX lookup of <tenant>.mail.onmicrosoft.com; a \
          legacy target gives 451 4.4.62 (ATTR35), one pointing back on-premises loops (5.4.6 / ATTR34).",
    references: &[MX_DOC],
};
/// `dns.mx.accepted_domain`.
pub const MX_ACCEPTED: CheckDef = CheckDef {
    id: "dns.mx.accepted_domain",
    title: "Accepted domain has an MX",
    why: "Internet mail for the accepted domains arrives where the MX points: EOP (recommended), on-premises, or \
          a third-party gateway (then EOP needs Enhanced Filtering for Connectors to see the original sender).",
    references: &[MX_DOC, ENHANCED_FILTERING],
};
/// `dns.host.resolves`.
pub const HOST: CheckDef = CheckDef {
    id: "dns.host.resolves",
    title: "Host name resolves",
    why: "Every endpoint on the path (servers, smart hosts, EOP) must resolve, from where the sender resolves it.",
    references: &[MX_DOC],
};
/// `dns.ptr.fcrdns`.
pub const PTR: CheckDef = CheckDef {
    id: "dns.ptr.fcrdns",
    title: "Public address has forward-confirmed reverse DNS matching the banner",
    why: "Receivers (and EOP's anti-spam for non-connector mail) look at the PTR of the sending address; a \
          missing or mismatching PTR lowers reputation (\"Reverse DNS does not match SMTP Banner\").",
    references: &[MX_DOC],
};
/// `dns.spf.record`.
pub const SPF_RECORD: CheckDef = CheckDef {
    id: "dns.spf.record",
    title: "Exactly one valid SPF record",
    why: "Two SPF records, or one that does not parse, is a permerror: receivers treat the domain as having \
          broken SPF.",
    references: &[SPF_DOC],
};
/// `dns.spf.eop`.
pub const SPF_EOP: CheckDef = CheckDef {
    id: "dns.spf.eop",
    title: "SPF includes Exchange Online's record (spf.protection.outlook.com)",
    why: "Mail from Exchange Online mailboxes leaves through EOP; without include:spf.protection.outlook.com \
          (spf.protection.office365.us in GCC High and DoD, spf.protection.partner.outlook.cn with 21Vianet) it \
          fails SPF at receivers and DMARC. The fix adds the include to the existing record and keeps every \
          other mechanism.",
    references: &[SPF_DOC],
};
/// `dns.spf.lookups`.
pub const SPF_LOOKUPS: CheckDef = CheckDef {
    id: "dns.spf.lookups",
    title: "SPF record stays within 10 DNS lookups",
    why: "RFC 7208 4.6.4: evaluating a record may cause at most 10 DNS-querying terms (include, a, mx, ptr, \
          exists, redirect), counted over every include; past that the result is permerror and receivers \
          treat the domain's SPF as broken. The count is over the whole record: an evaluation for one \
          address may stop early, one for an address listed late (or not at all) walks all of it.",
    references: &[SPF_DOC, "https://www.rfc-editor.org/rfc/rfc7208#section-4.6.4"],
};
/// `dns.spf.egress`.
pub const SPF_EGRESS: CheckDef = CheckDef {
    id: "dns.spf.egress",
    title: "SPF authorises the on-premises egress addresses",
    why: "Mail sent from on-premises (Edge or Mailbox) to the internet must pass SPF for its public address.",
    references: &[SPF_DOC],
};
/// `dns.dmarc`.
pub const DMARC: CheckDef = CheckDef {
    id: "dns.dmarc",
    title: "DMARC record published",
    why: "DMARC tells receivers what to do with mail failing SPF/DKIM; Exchange Online honours it inbound.",
    references: &[DMARC_DOC],
};
/// `dns.dkim`.
pub const DKIM: CheckDef = CheckDef {
    id: "dns.dkim",
    title: "DKIM selector CNAMEs point to the tenant",
    why: "Exchange Online signs a custom domain only when selector1/selector2._domainkey CNAMEs point to the \
          tenant's keys.",
    references: &[DKIM_DOC],
};
/// `dns.split_brain`.
pub const SPLIT: CheckDef = CheckDef {
    id: "dns.split_brain",
    title: "Internal and external DNS agree",
    why: "Exchange Online resolves the on-premises endpoints with public DNS; an internal-only answer hides \
          problems the cloud sees.",
    references: &[MX_DOC],
};

/// Every definition of this module.
pub const DEFS: &[CheckDef] = &[
    MX_ROUTING,
    MX_ACCEPTED,
    HOST,
    PTR,
    SPF_RECORD,
    SPF_EOP,
    SPF_LOOKUPS,
    SPF_EGRESS,
    DMARC,
    DKIM,
    SPLIT,
];

/// Where on-premises mail leaves from (the rest comes from the profile's topology).
#[derive(Debug, Clone, Default)]
pub struct DnsContext {
    /// The on-premises public egress addresses ([`Topology::egress`]; empty: unknown).
    pub egress: Vec<IpAddr>,
    /// The send connector's FQDN: what the on-premises servers announce when they send, which the PTR of
    /// the egress addresses must name (`None`: not in the profile).
    pub send_fqdn: Option<String>,
}

/// Why the egress address is unknown, and where to give it.
const EGRESS_UNKNOWN: &str = "the on-premises egress address is unknown: give the public address mail leaves from (after NAT) in [connectors.send] egress_addresses; the address a probe reached is not it";

/// What every `dns.*` check reads: the deployment, the answers of the primary resolver, the context.
struct Dns<'a> {
    profile: &'a Profile,
    topology: Topology,
    evidence: &'a Evidence,
    ctx: &'a DnsContext,
    primary: Option<String>,
}

impl<'a> Dns<'a> {
    /// The primary resolver's answer for `name`/`rtype`, when it was looked up.
    fn find(&self, name: &str, rtype: RecordType) -> Option<&'a DnsAnswer> {
        let evidence: &'a Evidence = self.evidence;
        evidence
            .dns_answers(name, rtype)
            .find(|a| self.primary.as_ref().is_none_or(|p| &a.server == p))
    }

    /// The names of the tenant's cloud.
    fn cloud(&self) -> &'static crate::cloud::CloudNames {
        self.profile.tenant.cloud_names()
    }

    /// The hop into EOP, where routing MX, SPF, DKIM and DMARC attach.
    fn to_eop(&self) -> Attachment {
        Attachment::Hop(self.topology.hop_to_eop.into())
    }
}

/// The `dns.*` checks, in a stable order: the routing domain's MX, each accepted domain's MX, every host,
/// the PTR of the egress addresses, per accepted domain SPF, DMARC and DKIM, and the split-brain
/// comparison when an external resolver is given.
pub fn dns_checks(profile: &Profile, evidence: &Evidence, ctx: &DnsContext) -> Vec<CheckResult> {
    let dns = Dns {
        profile,
        topology: Topology::of(profile),
        evidence,
        ctx,
        primary: primary_server(profile, evidence),
    };
    let domains = &profile.tenant.accepted_domains;
    let mut out = vec![mx_routing(&dns)];
    out.extend(domains.iter().map(|d| mx_accepted(&dns, d)));
    out.extend(hosts(&dns));
    out.extend(ptr(&dns));
    for d in domains {
        out.extend(spf_checks(&dns, d));
        out.push(dmarc(&dns, d));
        out.push(dkim(&dns, d));
    }
    if !profile.resolvers.external.is_empty() {
        out.push(split_brain(evidence, &dns.topology).on(dns.to_eop()));
    }
    out
}

/// Confirm an MX from this workstation.
fn mx_confirm(domain: &str) -> Step {
    Step::confirm(
        Place::Workstation,
        format!("Resolve-DnsName -Name {domain} -Type MX"),
    )
}

/// Publish an A record for `host`, where its senders resolve it (also what `mailpath probe` says of a name
/// that does not exist).
pub(crate) fn a_record_fix(host: &str) -> Remediation {
    Remediation::steps([
        Step::prose(format!(
            "Publish an A record for {host} in the zone the senders resolve it with (internal DNS for on-premises hops, public DNS for Exchange Online):"
        )),
        Step::command(Place::Dns, format!("{host}. 3600 IN A <address>")),
        Step::confirm(
            Place::Workstation,
            format!("Resolve-DnsName -Name {host} -Type A"),
        ),
    ])
}

/// The SPF record of `d` that authorises the egress addresses and Exchange Online Protection.
fn spf_fix(d: &str, record: &str, what: &str) -> Remediation {
    Remediation::steps([
        Step::prose(what),
        Step::command(Place::Dns, format!("{d}. 3600 IN TXT \"{record}\"")),
        Step::confirm(Place::Workstation, format!("Resolve-DnsName -Name {d} -Type TXT")),
    ])
}

/// `dns.mx.routing_domain`.
fn mx_routing(dns: &Dns<'_>) -> CheckResult {
    let routing = &dns.topology.routing_domain;
    let eop = &dns.topology.eop_endpoint;
    match dns.find(routing, RecordType::Mx) {
        None => CheckResult::new(&MX_ROUTING, Status::Skip, routing, "not looked up"),
        Some(a) if a.is_failure() => CheckResult::new(&MX_ROUTING, Status::Skip, routing, format!("MX lookup failed: {}", a.outcome)),
        Some(a) => {
            let targets: Vec<&str> = a.mx().into_iter().map(|(_, h)| h).collect();
            let list = targets.join(", ");
            let on_prem = targets.iter().any(|t| dns.topology.is_on_premises(t));
            let cloud = dns.cloud();
            // The routing domain is Microsoft's zone: the organization cannot (and must not try to) change its
            // MX. A wrong answer means the profile names the wrong tenant or cloud, the tenant lacks the
            // domain, or the DNS on-premises overrides Microsoft's zone.
            let zone = cloud.routing_domain_suffix;
            let not_yours = format!("{routing} is Microsoft's zone ({zone}); its MX is not yours to change.");
            let override_hint = format!("If the DNS servers on-premises answer for it themselves (a local zone or a conditional forwarder for {zone} or {routing}), remove that override so they return Microsoft's answer; compare with a public resolver (Resolve-DnsName {routing} -Type MX -Server 1.1.1.1).");
            if targets.is_empty() {
                CheckResult::new(&MX_ROUTING, Status::Fail, routing, "no MX record: the send connector cannot route to Exchange Online")
                    .detail(not_yours)
                    .remediation(Remediation::steps([
                        Step::prose(format!("A tenant or profile problem: check the tenant name and cloud in the profile ([tenant] name = \"{}\", cloud = \"{}\"), and that Exchange Online has the accepted domain {routing}:", dns.profile.tenant.name, cloud.key)),
                        Step::confirm(Place::ExchangeOnline, format!("Get-AcceptedDomain {routing}")),
                        Step::prose(format!("If it is missing, rerun the Hybrid Configuration Wizard, which adds it. {override_hint}")),
                    ]))
            } else if targets.iter().all(|t| cloud.is_eop_host(t)) {
                CheckResult::new(&MX_ROUTING, Status::Pass, routing, format!("MX {list}"))
            } else if let Some(other) = targets.iter().find_map(|t| crate::cloud::cloud_of_eop_host(t)).filter(|c| *c != cloud.cloud) {
                CheckResult::new(&MX_ROUTING, Status::Warn, routing, format!("MX {list} is EOP of {}, but the profile says {}", other.names().label, cloud.label))
                    .remediation(format!("A profile problem: set [tenant] cloud = \"{}\" (or correct the tenant name) and run again.", other.as_str()))
            } else if targets.iter().any(|t| is_legacy(t)) {
                CheckResult::new(&MX_ROUTING, Status::Fail, routing, format!("MX {list} is a retired Office 365 endpoint, not EOP"))
                    .detail(format!("Mail sent there is refused with 451 4.4.62 Mail sent to the wrong Office 365 region (ATTR35). {not_yours}"))
                    .remediation(Remediation::steps([
                        Step::prose(format!("Microsoft publishes {eop} for it: the retired name comes from the DNS on-premises or from the send connector. {override_hint}")).at(Place::Dns),
                        Step::prose("Route the on-premises send connector by MX, without legacy smart hosts:"),
                        Step::command(Place::MailboxShell, "Set-SendConnector \"Outbound to Office 365 - <guid>\" -DNSRoutingEnabled $true -SmartHosts $null"),
                        mx_confirm(routing),
                    ]))
            } else if on_prem {
                CheckResult::new(&MX_ROUTING, Status::Fail, routing, format!("MX {list} points back on-premises: a mail loop"))
                    .detail(format!("On-premises sends to the routing domain by MX; pointing it back on-premises loops (554 5.4.6 / 5.4.14 ATTR34). {not_yours}"))
                    .remediation(Remediation::steps([
                        Step::prose(format!("Microsoft publishes {eop} for it, so the DNS on-premises answers instead. {override_hint}")).at(Place::Dns),
                        mx_confirm(routing),
                    ]))
            } else {
                CheckResult::new(&MX_ROUTING, Status::Fail, routing, format!("MX {list} is not Exchange Online Protection"))
                    .detail(not_yours)
                    .remediation(Remediation::steps([
                        Step::prose(format!("Microsoft publishes {eop} for it. {override_hint} Otherwise check the tenant name and cloud in the profile.")).at(Place::Dns),
                        mx_confirm(routing),
                    ]))
            }
        }
        .evidence(format!("dns:{routing}/MX")),
    }
    .on(dns.to_eop())
}

/// `dns.mx.accepted_domain` of the accepted domain `d`.
fn mx_accepted(dns: &Dns<'_>, d: &str) -> CheckResult {
    let eop = &dns.topology.eop_endpoint;
    let r = match dns.find(d, RecordType::Mx) {
        None => CheckResult::new(&MX_ACCEPTED, Status::Skip, d, "not looked up"),
        Some(a) if a.is_failure() => CheckResult::new(
            &MX_ACCEPTED,
            Status::Skip,
            d,
            format!("MX lookup failed: {}", a.outcome),
        ),
        Some(a) => {
            let targets: Vec<&str> = a.mx().into_iter().map(|(_, h)| h).collect();
            let list = targets.join(", ");
            let eops = targets.iter().filter(|t| dns.cloud().is_eop_host(t)).count();
            if targets.is_empty() {
                CheckResult::new(
                    &MX_ACCEPTED,
                    Status::Fail,
                    d,
                    "no MX record: internet mail cannot be delivered",
                )
                .remediation(Remediation::steps([
                    Step::prose(format!("Publish the MX of {d} in its public zone:")),
                    Step::command(Place::Dns, format!("{d}. 3600 IN MX 0 {eop}.")),
                    mx_confirm(d),
                ]))
            } else if eops == targets.len() {
                CheckResult::new(
                    &MX_ACCEPTED,
                    Status::Pass,
                    d,
                    format!("MX {list} (Exchange Online Protection)"),
                )
            } else if eops == 0
                && targets
                    .iter()
                    .all(|t| dns.topology.destination(t) == crate::path::Destination::OnPremises)
            {
                CheckResult::new(
                    &MX_ACCEPTED,
                    Status::Info,
                    d,
                    format!("MX {list}: internet mail enters on-premises"),
                )
            } else if eops == 0 {
                CheckResult::new(
                    &MX_ACCEPTED,
                    Status::Info,
                    d,
                    format!("MX {list}: internet mail enters through a third-party gateway, then reaches Exchange Online or on-premises from it"),
                )
                .detail("With an MX that is not Exchange Online Protection, EOP sees the gateway's address as the sender's: SPF, DMARC and anti-spam judge the gateway unless Enhanced Filtering for Connectors (skip listing) is set on the inbound connector from it.")
                .remediation("Set-InboundConnector \"<connector from the gateway>\" -EFSkipLastIP $true (or -EFSkipIPs <the gateway's addresses>) in Exchange Online.")
            } else {
                CheckResult::new(&MX_ACCEPTED, Status::Warn, d, format!("MX {list} mixes EOP and other targets"))
                    .detail("Senders pick by preference and fall back at random: mail enters through two doors with different filtering.")
                    .remediation(Remediation::steps([
                        Step::prose(format!("Keep one MX for {d}, Exchange Online Protection's, and remove the others:")),
                        Step::command(Place::Dns, format!("{d}. 3600 IN MX 0 {eop}.")),
                        mx_confirm(d),
                    ]))
            }
        }
    };
    r.evidence(format!("dns:{d}/MX"))
        .on(Attachment::Hop(crate::topology::hop::INTERNET_EOP.into()))
}

/// `dns.host` of every host of the deployment, on its node.
fn hosts(dns: &Dns<'_>) -> Vec<CheckResult> {
    dns.topology
        .hosts()
        .into_iter()
        .map(|(host, node)| host_check(dns, &host).on(Attachment::Node(node.into())))
        .collect()
}

/// `dns.host` of one host.
fn host_check(dns: &Dns<'_>, host: &str) -> CheckResult {
    let profile = dns.profile;
    let a = dns.find(host, RecordType::A);
    let aaaa = dns.find(host, RecordType::Aaaa);
    let ips: Vec<IpAddr> = a.iter().chain(aaaa.iter()).flat_map(|x| x.ips()).collect();
    let override_ip = profile
        .mailboxes
        .iter()
        .filter(|m| m.fqdn.eq_ignore_ascii_case(host))
        .filter_map(|m| m.address)
        .chain(
            profile
                .edges
                .iter()
                .filter(|e| e.fqdn.eq_ignore_ascii_case(host))
                .filter_map(|e| e.address),
        )
        .next();
    let r = if !ips.is_empty() {
        let list: Vec<String> = ips.iter().map(ToString::to_string).collect();
        CheckResult::new(
            &HOST,
            Status::Pass,
            host,
            format!("resolves to {}", list.join(", ")),
        )
    } else if let Some(a) = a.filter(|a| a.is_timeout() || a.error().is_some()) {
        CheckResult::new(&HOST, Status::Skip, host, format!("lookup failed: {}", a.outcome))
    } else if a.is_none() {
        CheckResult::new(&HOST, Status::Skip, host, "not looked up")
    } else if let Some(ip) = override_ip {
        CheckResult::new(
            &HOST,
            Status::Info,
            host,
            format!("no DNS record; the profile gives {ip}"),
        )
    } else if host.eq_ignore_ascii_case(&dns.topology.eop_endpoint) || crate::cloud::is_any_eop_host(host) {
        // Microsoft's name: nothing to publish; the name itself is wrong.
        let why = a.map(|x| x.outcome.to_string()).unwrap_or_default();
        let stated = if profile.tenant.eop_endpoint.is_some() {
            "the profile's [tenant] eop_endpoint"
        } else {
            "the name mailpath derived from the first accepted domain (set [tenant] eop_endpoint to override it)"
        };
        CheckResult::new(&HOST, Status::Fail, host, format!("EOP endpoint does not resolve ({why})"))
            .detail(format!("{host} would be Microsoft's name, in Microsoft's zone: there is nothing to publish. It is {stated}."))
            .remediation(format!("A profile or tenant problem: take the domain's real MX target from the Microsoft 365 admin center (Settings > Domains > {} > DNS records) or Resolve-DnsName {} -Type MX, and set it as [tenant] eop_endpoint; check [tenant] cloud (\"{}\"). Domains added since 2024 may get an endpoint under mx.microsoft.", profile.tenant.accepted_domains.first().map_or("<domain>", String::as_str), profile.tenant.accepted_domains.first().map_or("<domain>", String::as_str), profile.tenant.cloud))
    } else {
        let why = a.map(|x| x.outcome.to_string()).unwrap_or_default();
        CheckResult::new(&HOST, Status::Fail, host, format!("does not resolve ({why})"))
            .remediation(a_record_fix(host))
    };
    r.evidence(format!("dns:{host}/A"))
}

/// `dns.ptr`: the PTR and forward confirmation of each egress address, on the public node.
fn ptr(dns: &Dns<'_>) -> Vec<CheckResult> {
    let ptr_node = Attachment::Node(dns.topology.public_node.into());
    if dns.ctx.egress.is_empty() {
        return vec![CheckResult::new(&PTR, Status::Skip, "public address", EGRESS_UNKNOWN).on(ptr_node)];
    }
    dns.ctx
        .egress
        .iter()
        .map(|ip| ptr_check(dns, *ip).on(ptr_node.clone()))
        .collect()
}

/// `dns.ptr` of one egress address.
fn ptr_check(dns: &Dns<'_>, ip: IpAddr) -> CheckResult {
    let ctx = dns.ctx;
    let rname = crate::dns::reverse_name(ip);
    let target = ip.to_string();
    if crate::topology::is_private_address(ip) {
        return CheckResult::new(
            &PTR,
            Status::Skip,
            &target,
            format!(
                "{ip} is a private address: receivers see the public address after NAT, whose PTR matters"
            ),
        )
        .remediation("Give the public address mail leaves from in [connectors.send] egress_addresses.");
    }
    let r = match dns.find(&rname, RecordType::Ptr) {
        None => CheckResult::new(&PTR, Status::Skip, &target, "PTR not looked up"),
        Some(a) if a.is_timeout() || a.error().is_some() => CheckResult::new(
            &PTR,
            Status::Skip,
            &target,
            format!("PTR lookup failed: {}", a.outcome),
        ),
        Some(a) => {
            let names: Vec<String> = a.ptr().into_iter().map(str::to_owned).collect();
            if names.is_empty() {
                CheckResult::new(&PTR, Status::Warn, &target, format!("{ip} has no PTR record")).remediation({
                    let name = ctx.send_fqdn.clone().unwrap_or_else(|| "<the send connector's FQDN>".into());
                    Remediation::steps([
                        Step::prose(format!("Ask the owner of {ip} (your ISP) to publish a PTR record naming the send connector's FQDN:")).at(Place::Dns),
                        Step::command(Place::Dns, format!("{}. 3600 IN PTR {}.", crate::dns::reverse_name(ip), name.trim_end_matches('.'))),
                        Step::confirm(Place::Workstation, format!("Resolve-DnsName -Name {ip} -Type PTR")),
                    ])
                })
            } else {
                let confirmed: Vec<&String> = names
                    .iter()
                    .filter(|n| {
                        [RecordType::A, RecordType::Aaaa]
                            .iter()
                            .any(|t| dns.find(n, *t).is_some_and(|f| f.ips().contains(&ip)))
                    })
                    .collect();
                let matches_fqdn = ctx.send_fqdn.as_ref().is_none_or(|fqdn| {
                    names.iter().any(|n| {
                        fqdn.trim_end_matches('.')
                            .eq_ignore_ascii_case(n.trim_end_matches('.'))
                    })
                });
                if confirmed.is_empty() {
                    CheckResult::new(
                        &PTR,
                        Status::Warn,
                        &target,
                        format!("PTR {} does not resolve back to {ip}", names.join(", ")),
                    )
                    .remediation(Remediation::steps([
                        Step::prose(format!(
                            "Publish the address of {} (or have the PTR name a host that resolves to {ip}):",
                            names[0]
                        )),
                        Step::command(
                            Place::Dns,
                            format!("{}. 3600 IN A {ip}", names[0].trim_end_matches('.')),
                        ),
                        Step::confirm(
                            Place::Workstation,
                            format!("Resolve-DnsName -Name {} -Type A", names[0]),
                        ),
                    ]))
                } else if !matches_fqdn {
                    let fqdn = ctx.send_fqdn.clone().unwrap_or_default();
                    CheckResult::new(&PTR, Status::Warn, &target, format!("PTR {} does not match the send connector's FQDN ({fqdn})", names.join(", ")))
                        .detail("Receivers compare the PTR of the address mail comes from with the name the sender announces in EHLO: the send connector's FQDN (Set-SendConnector -Fqdn), not the receive connector's banner.")
                        .remediation(Remediation::steps([
                            Step::prose(format!("Ask the owner of {ip} for a PTR naming {fqdn}, or set the send connector's FQDN to the PTR name (the certificate must carry it):")).at(Place::Dns),
                            Step::command(Place::MailboxShell, format!("Set-SendConnector \"Outbound to Office 365 - <guid>\" -Fqdn {}", names[0])),
                            Step::confirm(Place::Workstation, format!("Resolve-DnsName -Name {ip} -Type PTR")),
                        ]))
                } else if ctx.send_fqdn.is_none() {
                    CheckResult::new(
                        &PTR,
                        Status::Pass,
                        &target,
                        format!(
                            "PTR {} (forward-confirmed); the send connector's FQDN is not in the profile: not compared",
                            names.join(", ")
                        ),
                    )
                } else {
                    CheckResult::new(
                        &PTR,
                        Status::Pass,
                        &target,
                        format!("PTR {} (forward-confirmed)", names.join(", ")),
                    )
                }
            }
        }
    };
    r.evidence(format!("dns:{rname}/PTR"))
}

/// `dns.spf.record`, `dns.spf.eop` and `dns.spf.egress` of the accepted domain `d`.
fn spf_checks(dns: &Dns<'_>, d: &str) -> Vec<CheckResult> {
    let lookup = |n: &str, t: RecordType| dns.find(n, t);
    let checks = match spf::records(d, &lookup) {
        Err(e) => [&SPF_RECORD, &SPF_EOP, &SPF_LOOKUPS, &SPF_EGRESS]
            .into_iter()
            .map(|def| CheckResult::new(def, Status::Skip, d, format!("TXT lookup failed: {e}")))
            .collect(),
        Ok(texts) => vec![
            spf_record(dns, d, &texts),
            spf_eop(dns, d, &texts, &lookup),
            spf_lookups(d, &texts, &lookup),
            spf_egress(dns, d, &texts, &lookup),
        ],
    };
    checks.into_iter().map(|c| c.on(dns.to_eop())).collect()
}

/// `dns.spf.record`: one SPF record that parses.
fn spf_record(dns: &Dns<'_>, d: &str, texts: &[String]) -> CheckResult {
    let parsed = texts.first().map(|t| spf::parse(t));
    let r = match (texts.len(), &parsed) {
        (0, _) => CheckResult::new(&SPF_RECORD, Status::Warn, d, "no SPF record").remediation(spf_fix(
            d,
            &format!("v=spf1 {}include:{} -all", egress_terms(&dns.ctx.egress), dns.cloud().spf_include),
            "Publish an SPF record:",
        )),
        (1, Some(Ok(_))) => CheckResult::new(&SPF_RECORD, Status::Pass, d, texts[0].clone()),
        (1, Some(Err(e))) => {
            CheckResult::new(&SPF_RECORD, Status::Fail, d, format!("SPF does not parse: {e}"))
        }
        (n, _) => CheckResult::new(
            &SPF_RECORD,
            Status::Fail,
            d,
            format!("{n} SPF records: permerror"),
        )
        .remediation(Remediation::steps([
            Step::prose(format!("Merge them into one v=spf1 TXT record of {d} (two SPF records are a permerror: RFC 7208 4.5).")).at(Place::Dns),
            Step::confirm(Place::Workstation, format!("Resolve-DnsName -Name {d} -Type TXT")),
        ])),
    };
    r.evidence(format!("dns:{d}/TXT"))
}

/// `dns.spf.eop`: the SPF record includes Exchange Online's (the tenant's cloud's). The fix is the existing
/// record with the include added, every other term kept ([`spf::with_include`]).
fn spf_eop(dns: &Dns<'_>, d: &str, texts: &[String], lookup: &spf::Lookup<'_>) -> CheckResult {
    let include = dns.cloud().spf_include;
    let r = if texts.is_empty() {
        CheckResult::new(&SPF_EOP, Status::Skip, d, "no SPF record (see dns.spf.record)")
    } else if spf::includes(d, include, lookup) {
        CheckResult::new(&SPF_EOP, Status::Pass, d, format!("includes {include}"))
    } else if let Some(other) = crate::cloud::CLOUDS
        .iter()
        .find(|c| c.spf_include != include && spf::includes(d, c.spf_include, lookup))
    {
        CheckResult::new(&SPF_EOP, Status::Warn, d, format!("SPF includes {} ({}), not {include}: is `cloud` in the profile right?", other.spf_include, other.label))
            .detail(format!("The profile says the tenant is in {}; its mail leaves through that cloud's EOP, whose addresses {include} lists.", dns.cloud().label))
            .remediation(format!("If the tenant is in {}, set [tenant] cloud = \"{}\" in the profile; otherwise add include:{include}.", other.label, other.key))
    } else {
        let fixed: Vec<String> = texts.iter().map(|t| spf::with_include(t, include)).collect();
        let after = spf::count_lookups(d, lookup).count + 1;
        let limit = if after > spf::MAX_LOOKUPS {
            format!(
                " With the include the record takes at least {after} DNS lookups, past the limit of {} (see dns.spf.lookups): flatten or drop includes first.",
                spf::MAX_LOOKUPS
            )
        } else {
            String::new()
        };
        CheckResult::new(
            &SPF_EOP,
            Status::Fail,
            d,
            format!("SPF does not include {include}: mail from Exchange Online fails SPF"),
        )
        .detail(format!("Record: {}", texts.join(" | ")))
        .remediation(spf_fix(
            d,
            &fixed.join(" "),
            &format!(
                "Replace the record (one SPF record; every mechanism kept, include:{include} added):{limit}"
            ),
        ))
    };
    r.evidence(format!("dns:{d}/TXT"))
}

/// `dns.spf.lookups`: the DNS-querying terms of the whole record, includes followed (RFC 7208 4.6.4).
fn spf_lookups(d: &str, texts: &[String], lookup: &spf::Lookup<'_>) -> CheckResult {
    let max = spf::MAX_LOOKUPS;
    let r = if texts.len() != 1 {
        CheckResult::new(
            &SPF_LOOKUPS,
            Status::Skip,
            d,
            "not one SPF record (see dns.spf.record)",
        )
    } else {
        let count = spf::count_lookups(d, lookup);
        let terms = count.terms.join("\n");
        let unresolved = count.unresolved.join(", ");
        if count.count > max {
            CheckResult::new(&SPF_LOOKUPS, Status::Fail, d, format!("{}{} DNS lookups over the whole record, past the limit of {max}: permerror", count.count, if count.unresolved.is_empty() { "" } else { "+" }))
                .detail(terms)
                .remediation(format!("Bring {d}'s SPF record to {max} lookups or fewer: replace a/mx terms by ip4:/ip6: of the hosts, drop includes of services no longer used, or ask a sender for a narrower include. Keep include:spf.protection.outlook.com (or your cloud's)."))
        } else if !count.unresolved.is_empty() {
            CheckResult::new(&SPF_LOOKUPS, Status::Skip, d, format!("at least {} DNS lookups; the records of {unresolved} were not gathered, so the total is unknown", count.count))
                .detail(terms)
        } else {
            CheckResult::new(
                &SPF_LOOKUPS,
                Status::Pass,
                d,
                format!("{} DNS lookups over the whole record (limit {max})", count.count),
            )
            .detail(terms)
        }
    };
    r.evidence(format!("dns:{d}/TXT"))
}

/// `dns.spf.egress`: the on-premises egress addresses pass SPF (the worst of them is reported).
fn spf_egress(dns: &Dns<'_>, d: &str, texts: &[String], lookup: &spf::Lookup<'_>) -> CheckResult {
    if texts.is_empty() {
        return CheckResult::new(&SPF_EGRESS, Status::Skip, d, "no SPF record (see dns.spf.record)");
    }
    if dns.ctx.egress.is_empty() {
        return CheckResult::new(&SPF_EGRESS, Status::Skip, d, EGRESS_UNKNOWN);
    }
    let mut worst: Option<CheckResult> = None;
    for ip in &dns.ctx.egress {
        if crate::topology::is_private_address(*ip) {
            let r = CheckResult::new(
                &SPF_EGRESS,
                Status::Warn,
                d,
                format!("{ip} is a private address: receivers never see it, so SPF cannot name it"),
            )
            .detail("Mail leaves the organisation through NAT with a public address; that is the address SPF must authorise. A private address in [connectors.send] egress_addresses usually comes from internal DNS (split DNS) or from the server's own configuration.")
            .remediation("Give the public address mail leaves from in [connectors.send] egress_addresses (Exchange Online's message trace or a message header from an internet mailbox shows it); never add a private address to SPF.");
            if worst.as_ref().is_none_or(|w| r.status > w.status) {
                worst = Some(r);
            }
            continue;
        }
        let e = spf::evaluate(d, *ip, lookup);
        let add = || {
            Remediation::steps([
                Step::prose(format!(
                    "Add ip{}:{ip} to the SPF record of {d} (one record, before its all mechanism).",
                    if ip.is_ipv4() { 4 } else { 6 }
                ))
                .at(Place::Dns),
                Step::confirm(Place::Workstation, format!("Resolve-DnsName -Name {d} -Type TXT")),
            ])
        };
        let r = match e.result {
            SpfResult::Pass => CheckResult::new(
                &SPF_EGRESS,
                Status::Pass,
                d,
                format!("{ip}: pass ({})", e.matched.clone().unwrap_or_default()),
            ),
            SpfResult::TempError => CheckResult::new(
                &SPF_EGRESS,
                Status::Skip,
                d,
                format!(
                    "{ip}: could not evaluate ({})",
                    e.trace.last().cloned().unwrap_or_default()
                ),
            ),
            SpfResult::SoftFail | SpfResult::Neutral => CheckResult::new(
                &SPF_EGRESS,
                Status::Warn,
                d,
                format!("{ip}: {:?} — not explicitly authorised", e.result).to_lowercase(),
            )
            .remediation(add()),
            _ => CheckResult::new(
                &SPF_EGRESS,
                Status::Fail,
                d,
                format!("{ip}: {:?}", e.result).to_lowercase(),
            )
            .detail(e.trace.join("\n"))
            .remediation(add()),
        };
        if worst.as_ref().is_none_or(|w| r.status > w.status) {
            worst = Some(r);
        }
    }
    worst
        .unwrap_or_else(|| CheckResult::new(&SPF_EGRESS, Status::Skip, d, "no egress address"))
        .evidence(format!("dns:{d}/TXT"))
}

/// `dns.dmarc` of the accepted domain `d`.
fn dmarc(dns: &Dns<'_>, d: &str) -> CheckResult {
    let name = format!("_dmarc.{d}");
    let r = match dns.find(&name, RecordType::Txt) {
        None => CheckResult::new(&DMARC, Status::Skip, d, "not looked up"),
        Some(a) if a.is_timeout() || a.error().is_some() => {
            CheckResult::new(&DMARC, Status::Skip, d, format!("lookup failed: {}", a.outcome))
        }
        Some(a) => match a
            .txt()
            .into_iter()
            .find(|t| t.to_ascii_lowercase().starts_with("v=dmarc1"))
        {
            None => CheckResult::new(&DMARC, Status::Warn, d, "no DMARC record").remediation(
                Remediation::steps([
                    Step::prose("Publish a DMARC record (monitoring first):"),
                    Step::command(
                        Place::Dns,
                        format!("_dmarc.{d}. 3600 IN TXT \"v=DMARC1; p=none; rua=mailto:dmarc@{d}\""),
                    ),
                    Step::prose("Tighten p= (quarantine, then reject) once the reports are clean."),
                    Step::confirm(
                        Place::Workstation,
                        format!("Resolve-DnsName -Name _dmarc.{d} -Type TXT"),
                    ),
                ]),
            ),
            Some(t) if t.to_ascii_lowercase().replace(' ', "").contains("p=none") => {
                CheckResult::new(&DMARC, Status::Info, d, format!("{t} (monitoring only)"))
            }
            Some(t) => CheckResult::new(&DMARC, Status::Pass, d, t.to_string()),
        },
    };
    r.evidence(format!("dns:{name}/TXT")).on(dns.to_eop())
}

/// `dns.dkim` of the accepted domain `d`: both selectors point at the tenant's keys.
fn dkim(dns: &Dns<'_>, d: &str) -> CheckResult {
    let dashed = d.replace('.', "-");
    let tenant_domain = dns.profile.tenant.onmicrosoft_domain();
    let mut problems = Vec::new();
    let mut skipped = None;
    for sel in ["selector1", "selector2"] {
        let qname = format!("{sel}._domainkey.{d}");
        match dns.find(&qname, RecordType::Cname) {
            None => skipped = Some("not looked up".to_string()),
            Some(a) if a.is_timeout() || a.error().is_some() => {
                skipped = Some(format!("lookup failed: {}", a.outcome))
            }
            Some(a) => match a.cname() {
                None => problems.push(format!("{qname} has no CNAME")),
                Some(target) => {
                    let t = target.to_ascii_lowercase();
                    let ok = t == format!("{sel}-{dashed}._domainkey.{tenant_domain}")
                        || dns.cloud().is_dkim_zone_key(&t);
                    if !ok {
                        problems.push(format!("{qname} -> {target}, not the tenant's key"));
                    }
                }
            },
        }
    }
    let r = if let Some(why) = skipped {
        CheckResult::new(&DKIM, Status::Skip, d, why)
    } else if problems.is_empty() {
        CheckResult::new(
            &DKIM,
            Status::Pass,
            d,
            format!("selector1 and selector2 point to {tenant_domain}"),
        )
    } else {
        CheckResult::new(&DKIM, Status::Warn, d, problems.join("; "))
            .remediation(Remediation::steps([
                Step::prose("Read the two CNAME targets Exchange Online gives the domain:"),
                Step::confirm(Place::ExchangeOnline, format!("Get-DkimSigningConfig -Identity {d} | Format-List Selector1CNAME,Selector2CNAME")),
                Step::prose("Publish both:"),
                Step::command(Place::Dns, format!("selector1._domainkey.{d}. 3600 IN CNAME <Selector1CNAME>.")),
                Step::command(Place::Dns, format!("selector2._domainkey.{d}. 3600 IN CNAME <Selector2CNAME>.")),
                Step::prose(format!("Then turn signing on (New-DkimSigningConfig -DomainName {d} -Enabled $true when none exists):")),
                Step::command(Place::ExchangeOnline, format!("Set-DkimSigningConfig -Identity {d} -Enabled $true")),
            ]))
    };
    r.evidence(format!("dns:selector1._domainkey.{d}/CNAME"))
        .on(dns.to_eop())
}

fn egress_terms(egress: &[IpAddr]) -> String {
    egress
        .iter()
        .filter(|ip| !crate::topology::is_private_address(**ip))
        .map(|ip| format!("ip{}:{ip} ", if ip.is_ipv4() { 4 } else { 6 }))
        .collect()
}

/// Whether a DNS answer's `server` label is one of the profile's external resolvers.
pub(crate) fn is_external_server(profile: &Profile, server: &str) -> bool {
    profile
        .resolvers
        .external
        .iter()
        .any(|e| server.contains(e.to_string().as_str()))
}

/// The label of the primary resolver: the server that answered most, excluding the external ones.
fn primary_server(profile: &Profile, evidence: &Evidence) -> Option<String> {
    if profile.resolvers.external.is_empty() {
        return None;
    }
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for a in &evidence.dns {
        if !is_external_server(profile, &a.server) {
            *counts.entry(a.server.as_str()).or_default() += 1;
        }
    }
    counts
        .into_iter()
        .max_by_key(|(_, n)| *n)
        .map(|(s, _)| s.to_string())
}

fn split_brain(evidence: &Evidence, topology: &Topology) -> CheckResult {
    let mut by_query: BTreeMap<(String, &str), Vec<&DnsAnswer>> = BTreeMap::new();
    for a in &evidence.dns {
        if matches!(a.rtype, RecordType::A | RecordType::Aaaa | RecordType::Mx) {
            by_query
                .entry((a.name.to_ascii_lowercase(), a.rtype.as_str()))
                .or_default()
                .push(a);
        }
    }
    let mut differences = Vec::new();
    // Internal names and addresses of on-premises servers differ by design from the LAN (split DNS).
    let mut expected = Vec::new();
    for ((name, rtype), answers) in &by_query {
        if answers.len() < 2 {
            continue;
        }
        let render = |a: &DnsAnswer| {
            let mut r: Vec<String> = a.records().iter().map(ToString::to_string).collect();
            r.sort();
            if r.is_empty() {
                a.outcome.to_string()
            } else {
                r.join(", ")
            }
        };
        let first = render(answers[0]);
        if answers.iter().any(|a| render(a) != first) {
            let views: Vec<String> = answers
                .iter()
                .map(|a| format!("{}: {}", a.server, render(a)))
                .collect();
            let line = format!("{name} {rtype}: {}", views.join(" vs "));
            if *rtype != "MX" && topology.is_on_premises(name) {
                expected.push(line);
            } else {
                differences.push(line);
            }
        }
    }
    if differences.is_empty() && !expected.is_empty() {
        CheckResult::new(
            &SPLIT,
            Status::Info,
            "internal vs external DNS",
            format!("split DNS: {} on-premises name(s) resolve differently inside (see path.vantage)", expected.len()),
        )
        .detail(format!(
            "Expected when this workstation uses internal DNS: the probes reach what it resolves, Exchange Online what public DNS gives.\n{}",
            expected.join("\n")
        ))
    } else if differences.is_empty() {
        CheckResult::new(
            &SPLIT,
            Status::Pass,
            "internal vs external DNS",
            "the resolvers agree on every endpoint",
        )
    } else {
        CheckResult::new(&SPLIT, Status::Warn, "internal vs external DNS", format!("{} answer(s) differ", differences.len()))
            .detail(differences.join("\n"))
            .remediation(Step::prose(
                "Make the public zone publish what Exchange Online needs (the hybrid endpoints and the MX); differences are fine only where intended.",
            )
            .at(Place::Dns))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dns::{DnsOutcome, RecordData};

    fn ans(name: &str, rtype: RecordType, data: Vec<RecordData>) -> DnsAnswer {
        DnsAnswer {
            name: name.into(),
            rtype,
            server: "127.0.0.1:53".into(),
            outcome: if data.is_empty() {
                DnsOutcome::NxDomain
            } else {
                DnsOutcome::Records(data)
            },
            elapsed_ms: 1,
        }
    }

    fn healthy() -> Vec<DnsAnswer> {
        let ip = |s: &str| RecordData::A(s.parse().unwrap());
        let mx = |h: &str| RecordData::Mx {
            preference: 0,
            exchange: h.into(),
        };
        vec![
            ans(
                "contoso.mail.onmicrosoft.com",
                RecordType::Mx,
                vec![mx("contoso-com.mail.protection.outlook.com")],
            ),
            ans(
                "contoso.com",
                RecordType::Mx,
                vec![mx("contoso-com.mail.protection.outlook.com")],
            ),
            ans(
                "contoso.com",
                RecordType::Txt,
                vec![RecordData::Txt(
                    "v=spf1 ip4:203.0.113.10 include:spf.protection.outlook.com -all".into(),
                )],
            ),
            ans(
                "spf.protection.outlook.com",
                RecordType::Txt,
                vec![RecordData::Txt("v=spf1 ip4:40.92.0.0/15 -all".into())],
            ),
            ans(
                "_dmarc.contoso.com",
                RecordType::Txt,
                vec![RecordData::Txt("v=DMARC1; p=quarantine".into())],
            ),
            ans(
                "selector1._domainkey.contoso.com",
                RecordType::Cname,
                vec![RecordData::Cname(
                    "selector1-contoso-com._domainkey.contoso.onmicrosoft.com".into(),
                )],
            ),
            ans(
                "selector2._domainkey.contoso.com",
                RecordType::Cname,
                vec![RecordData::Cname(
                    "selector2-contoso-com._domainkey.contoso.onmicrosoft.com".into(),
                )],
            ),
            ans("ex01.contoso.com", RecordType::A, vec![ip("10.0.0.10")]),
            ans("edge01.contoso.com", RecordType::A, vec![ip("10.0.1.10")]),
            ans("mail.contoso.com", RecordType::A, vec![ip("203.0.113.10")]),
            ans(
                "contoso-com.mail.protection.outlook.com",
                RecordType::A,
                vec![ip("52.101.1.1")],
            ),
            ans(
                "10.113.0.203.in-addr.arpa",
                RecordType::Ptr,
                vec![RecordData::Ptr("mail.contoso.com".into())],
            ),
        ]
    }

    fn run(dns: Vec<DnsAnswer>) -> Vec<CheckResult> {
        let profile = Profile::from_toml_str(crate::profile::SAMPLE_EDGE, "sample", None).unwrap();
        run_for(&profile, dns)
    }

    /// The checks of `profile` with the answers `dns`, the sample's public address and name.
    fn run_for(profile: &Profile, dns: Vec<DnsAnswer>) -> Vec<CheckResult> {
        let ctx = DnsContext {
            egress: vec!["203.0.113.10".parse().unwrap()],
            send_fqdn: Some("mail.contoso.com".into()),
        };
        dns_checks(
            profile,
            &Evidence {
                dns,
                ..Evidence::default()
            },
            &ctx,
        )
    }

    fn bad(results: &[CheckResult]) -> Vec<(&str, Status)> {
        results
            .iter()
            .filter(|r| r.status >= Status::Warn)
            .map(|r| (r.id.as_str(), r.status))
            .collect()
    }

    #[test]
    fn healthy_dns_passes() {
        let r = run(healthy());
        assert!(bad(&r).is_empty(), "{:#?}", bad(&r));
        assert!(
            r.iter()
                .any(|c| c.id == "dns.spf.egress" && c.status == Status::Pass)
        );
        assert!(
            r.iter()
                .any(|c| c.id == "dns.ptr.fcrdns" && c.status == Status::Pass)
        );
    }

    #[test]
    fn each_dns_fault_fails_its_check() {
        let mut dns = healthy();
        dns[0] = ans(
            "contoso.mail.onmicrosoft.com",
            RecordType::Mx,
            vec![RecordData::Mx {
                preference: 0,
                exchange: "mail.messaging.microsoft.com".into(),
            }],
        );
        assert_eq!(bad(&run(dns)), [("dns.mx.routing_domain", Status::Fail)]);

        let mut dns = healthy();
        dns[2] = ans(
            "contoso.com",
            RecordType::Txt,
            vec![RecordData::Txt("v=spf1 ip4:203.0.113.10 -all".into())],
        );
        assert_eq!(bad(&run(dns)), [("dns.spf.eop", Status::Fail)]);

        let mut dns = healthy();
        dns[11] = ans("10.113.0.203.in-addr.arpa", RecordType::Ptr, vec![]);
        assert_eq!(bad(&run(dns)), [("dns.ptr.fcrdns", Status::Warn)]);

        let mut dns = healthy();
        dns[4] = ans("_dmarc.contoso.com", RecordType::Txt, vec![]);
        assert_eq!(bad(&run(dns)), [("dns.dmarc", Status::Warn)]);

        let mut dns = healthy();
        dns[9] = ans("mail.contoso.com", RecordType::A, vec![]);
        let r = run(dns);
        assert!(
            bad(&r).contains(&("dns.host.resolves", Status::Fail)),
            "{:?}",
            bad(&r)
        );
    }

    #[test]
    fn a_failed_lookup_is_a_skip_never_a_pass() {
        let mut dns = healthy();
        dns[0].outcome = DnsOutcome::Timeout;
        dns[2].outcome = DnsOutcome::Timeout;
        let r = run(dns);
        let status = |id: &str| r.iter().find(|c| c.id == id).map(|c| c.status);
        assert_eq!(status("dns.mx.routing_domain"), Some(Status::Skip));
        assert_eq!(status("dns.spf.eop"), Some(Status::Skip));
        assert_eq!(status("dns.spf.egress"), Some(Status::Skip));
    }

    #[test]
    fn split_brain_differences_warn() {
        let split = |name: &str, rtype: RecordType, data: RecordData| {
            let mut dns = healthy();
            let mut ext = ans(name, rtype, vec![data]);
            ext.server = "192.0.2.53:53".into();
            dns.push(ext);
            let mut profile = Profile::from_toml_str(crate::profile::SAMPLE_EDGE, "sample", None).unwrap();
            profile.resolvers.external = vec!["192.0.2.53:53".parse().unwrap()];
            let r = dns_checks(
                &profile,
                &Evidence {
                    dns,
                    ..Evidence::default()
                },
                &DnsContext::default(),
            );
            r.into_iter().find(|c| c.id == "dns.split_brain").unwrap()
        };
        // The public name resolves differently inside: split DNS, expected from the LAN.
        let a = split(
            "mail.contoso.com",
            RecordType::A,
            RecordData::A("198.51.100.1".parse().unwrap()),
        );
        assert_eq!(a.status, Status::Info, "{a:#?}");
        assert!(a.summary.contains("split DNS"), "{}", a.summary);
        assert!(a.detail.contains("mail.contoso.com A"), "{}", a.detail);
        // An MX that differs sends the internet elsewhere than the LAN believes.
        let mx = split(
            "contoso.com",
            RecordType::Mx,
            RecordData::Mx {
                preference: 10,
                exchange: "mx.example.net".into(),
            },
        );
        assert_eq!(mx.status, Status::Warn, "{mx:#?}");
        assert!(mx.detail.contains("contoso.com MX"), "{}", mx.detail);
    }

    fn run_with(dns: Vec<DnsAnswer>, ctx: &DnsContext) -> Vec<CheckResult> {
        let profile = Profile::from_toml_str(crate::profile::SAMPLE_EDGE, "sample", None).unwrap();
        dns_checks(
            &profile,
            &Evidence {
                dns,
                ..Evidence::default()
            },
            ctx,
        )
    }

    /// Split DNS gave the public name a private address; that address is never advised in SPF.
    #[test]
    fn a_private_egress_address_is_never_advised_in_spf() {
        let mut dns = healthy();
        for a in &mut dns {
            if a.name == "contoso.com" && a.rtype == RecordType::Txt {
                a.outcome = DnsOutcome::Records(vec![RecordData::Txt("v=spf1 mx -all".into())]);
            }
        }
        let ctx = DnsContext {
            egress: vec!["10.0.0.10".parse().unwrap()],
            send_fqdn: Some("mail.contoso.com".into()),
        };
        let r = run_with(dns, &ctx);
        for c in &r {
            assert!(
                !c.remediation.contains("10.0.0.10") || !c.remediation.contains("ip4:"),
                "{}: {}",
                c.id,
                c.remediation
            );
        }
        let eop = r.iter().find(|c| c.id == "dns.spf.eop").unwrap();
        assert_eq!(eop.status, Status::Fail);
        assert!(!eop.remediation.contains("ip4:10."), "{}", eop.remediation);
        let egress = r.iter().find(|c| c.id == "dns.spf.egress").unwrap();
        assert_eq!(egress.status, Status::Warn, "{egress:#?}");
        assert!(egress.summary.contains("private"), "{}", egress.summary);
        let ptr = r.iter().find(|c| c.id == "dns.ptr.fcrdns").unwrap();
        assert_eq!(ptr.status, Status::Skip, "{ptr:#?}");
        // Unknown egress: said so, never guessed.
        let r = run_with(healthy(), &DnsContext::default());
        let egress = r.iter().find(|c| c.id == "dns.spf.egress").unwrap();
        assert_eq!(egress.status, Status::Skip);
        assert!(egress.summary.contains("egress_addresses"), "{}", egress.summary);
    }

    /// The PTR of the egress address is compared with the send connector's FQDN (what the servers
    /// announce when they send), not with the receive banner.
    #[test]
    fn the_ptr_is_compared_with_the_send_connector_fqdn() {
        let fqdn = |f: &str| DnsContext {
            egress: vec!["203.0.113.10".parse().unwrap()],
            send_fqdn: Some(f.into()),
        };
        let ptr = |ctx: &DnsContext| {
            run_with(healthy(), ctx)
                .into_iter()
                .find(|c| c.id == "dns.ptr.fcrdns")
                .unwrap()
        };
        assert_eq!(ptr(&fqdn("mail.contoso.com")).status, Status::Pass);
        let other = ptr(&fqdn("smtp-out.contoso.com"));
        assert_eq!(other.status, Status::Warn, "{other:#?}");
        assert!(
            other
                .summary
                .contains("send connector's FQDN (smtp-out.contoso.com)"),
            "{}",
            other.summary
        );
        assert!(
            other.remediation.contains("Set-SendConnector"),
            "{}",
            other.remediation
        );
    }

    fn find<'a>(r: &'a [CheckResult], id: &str) -> &'a CheckResult {
        r.iter()
            .find(|c| c.id == id)
            .unwrap_or_else(|| panic!("no {id}: {r:#?}"))
    }

    /// Issue 13 item 8: the proposed record is the existing one with the include added; every mechanism
    /// (`mx` too) is kept.
    #[test]
    fn the_spf_fix_keeps_the_whole_record() {
        let mut dns = healthy();
        dns[2] = ans(
            "contoso.com",
            RecordType::Txt,
            vec![RecordData::Txt(
                "v=spf1 mx a:smtp.contoso.com ip4:203.0.113.10 ~all".into(),
            )],
        );
        let r = run(dns);
        let eop = find(&r, "dns.spf.eop");
        assert_eq!(eop.status, Status::Fail);
        assert!(
            eop.remediation.contains(
                "contoso.com. 3600 IN TXT \"v=spf1 mx a:smtp.contoso.com ip4:203.0.113.10 include:spf.protection.outlook.com ~all\""
            ),
            "{}",
            eop.remediation
        );
    }

    /// Issue 13 item 8: lookups are counted over the whole record (RFC 7208 4.6.4), even when the
    /// evaluation for the egress address stops at its first term.
    #[test]
    fn spf_past_ten_lookups_fails_even_when_the_egress_address_matches_first() {
        let mut dns = healthy();
        dns[2] = ans(
            "contoso.com",
            RecordType::Txt,
            vec![RecordData::Txt(
                "v=spf1 ip4:203.0.113.10 mx a ptr mx:fabrikam.net a:smtp.contoso.com a:relay.contoso.com exists:rbl.example \
                 include:spf.protection.outlook.com include:_spf.crm.example include:mail.zendesk.example \
                 include:_spf.survey.example -all"
                    .into(),
            )],
        );
        for (name, text) in [
            ("_spf.crm.example", "v=spf1 ip4:198.51.100.0/24 -all"),
            ("mail.zendesk.example", "v=spf1 ip4:192.0.2.0/24 -all"),
            ("_spf.survey.example", "v=spf1 ip4:192.0.2.128/25 -all"),
        ] {
            dns.push(ans(name, RecordType::Txt, vec![RecordData::Txt(text.into())]));
        }
        let r = run(dns);
        assert_eq!(
            find(&r, "dns.spf.egress").status,
            Status::Pass,
            "the evaluation stops early"
        );
        let lookups = find(&r, "dns.spf.lookups");
        assert_eq!(lookups.status, Status::Fail, "{lookups:#?}");
        assert!(
            lookups.summary.starts_with("11 DNS lookups"),
            "{}",
            lookups.summary
        );
        assert_eq!(find(&run(healthy()), "dns.spf.lookups").status, Status::Pass);
    }

    /// Issue 13 item 9: a name in Microsoft's zones is never the admin's to publish.
    #[test]
    fn microsofts_zones_are_never_the_admins_to_change() {
        let mut dns = healthy();
        dns[10] = ans("contoso-com.mail.protection.outlook.com", RecordType::A, vec![]);
        let r = run(dns);
        let eop = r
            .iter()
            .find(|c| c.id == "dns.host.resolves" && c.target == "contoso-com.mail.protection.outlook.com")
            .unwrap();
        assert_eq!(eop.status, Status::Fail);
        assert!(!eop.remediation.contains("Publish"), "{}", eop.remediation);
        assert!(eop.remediation.contains("eop_endpoint"), "{}", eop.remediation);

        let mut dns = healthy();
        dns[0] = ans("contoso.mail.onmicrosoft.com", RecordType::Mx, vec![]);
        let routing = run(dns);
        let mx = find(&routing, "dns.mx.routing_domain");
        assert_eq!(mx.status, Status::Fail);
        assert!(mx.remediation.contains("tenant"), "{}", mx.remediation);
        assert!(
            !mx.remediation.to_text().to_lowercase().contains("publish"),
            "{}",
            mx.remediation
        );
        assert!(mx.detail.contains("not yours to change"), "{}", mx.detail);
    }

    /// Issue 13 item 10: a GCC High tenant is judged with GCC High's names, not the commercial ones.
    #[test]
    fn a_gcc_high_tenant_is_judged_by_its_own_cloud() {
        let mx = |h: &str| RecordData::Mx {
            preference: 0,
            exchange: h.into(),
        };
        let gcc_eop = "contoso.mail.protection.office365.us";
        let mut dns: Vec<DnsAnswer> = healthy()
            .into_iter()
            .filter(|a| {
                !a.name.contains("outlook.com")
                    && !a.name.contains("onmicrosoft.com")
                    && !a.name.contains("_domainkey")
            })
            .filter(|a| !(a.name == "contoso.com" && matches!(a.rtype, RecordType::Mx | RecordType::Txt)))
            .collect();
        dns.extend([
            ans("contoso.mail.onmicrosoft.us", RecordType::Mx, vec![mx(gcc_eop)]),
            ans("contoso.com", RecordType::Mx, vec![mx(gcc_eop)]),
            ans(
                "contoso.com",
                RecordType::Txt,
                vec![RecordData::Txt(
                    "v=spf1 ip4:203.0.113.10 include:spf.protection.office365.us -all".into(),
                )],
            ),
            ans(
                "spf.protection.office365.us",
                RecordType::Txt,
                vec![RecordData::Txt("v=spf1 ip4:52.127.0.0/16 -all".into())],
            ),
            ans(
                gcc_eop,
                RecordType::A,
                vec![RecordData::A("52.127.1.1".parse().unwrap())],
            ),
        ]);
        for sel in ["selector1", "selector2"] {
            dns.push(ans(
                &format!("{sel}._domainkey.contoso.com"),
                RecordType::Cname,
                vec![RecordData::Cname(format!(
                    "{sel}-contoso-com._domainkey.contoso.onmicrosoft.us"
                ))],
            ));
        }
        let text = crate::profile::SAMPLE_EDGE
            .replace("cloud = \"commercial\"", "cloud = \"gcc-high\"")
            .replace(
                "contoso-com.mail.protection.outlook.com",
                "contoso.mail.protection.office365.us",
            );
        let profile = Profile::from_toml_str(&text, "gcc.toml", None).unwrap();
        assert_eq!(profile.tenant.eop_endpoint(), gcc_eop);
        let r = run_for(&profile, dns);
        assert!(bad(&r).is_empty(), "{:#?}", bad(&r));
        for id in [
            "dns.mx.routing_domain",
            "dns.mx.accepted_domain",
            "dns.spf.eop",
            "dns.dkim",
        ] {
            assert_eq!(find(&r, id).status, Status::Pass, "{id}: {:#?}", find(&r, id));
        }
        // The commercial cloud's include in a GCC High tenant's record is a profile question, not a pass.
        let commercial = run(healthy());
        assert_eq!(find(&commercial, "dns.spf.eop").status, Status::Pass);
    }
}
