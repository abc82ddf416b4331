//! Gather the DNS evidence a diagnosis needs: MX, A/AAAA, TXT (SPF, DMARC), DKIM CNAMEs, PTR and
//! forward confirmation, the SPF include tree, and the same host answers from an external resolver
//! for split-brain comparison. Everything concurrent; the output order is deterministic.

use std::collections::BTreeSet;
use std::net::IpAddr;

use tokio::task::JoinSet;

use crate::dns::{DnsAnswer, RecordType, Resolver};
use crate::profile::Profile;
use crate::topology::{Topology, tlsa_name};

/// What to look up.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DnsPlan {
    /// The accepted domains.
    pub accepted_domains: Vec<String>,
    /// The tenant's routing domain.
    pub routing_domain: String,
    /// Host names to resolve.
    pub hosts: Vec<String>,
    /// Addresses whose PTR to read (the public egress addresses).
    pub reverse: Vec<IpAddr>,
    /// Host names whose addresses' PTR to read too (the public names).
    pub reverse_hosts: Vec<String>,
    /// Hosts whose TLSA records (`_25._tcp.HOST`) to read, besides the MX hosts: where Exchange Online
    /// delivers on-premises.
    pub dane_hosts: Vec<String>,
}

impl DnsPlan {
    /// The plan for a profile.
    pub fn for_profile(profile: &Profile) -> DnsPlan {
        DnsPlan::for_topology(&Topology::of(profile))
    }

    /// The plan for a topology: its domains, every host name, the PTR of the public names and the
    /// TLSA records of the hosts Exchange Online delivers to.
    pub fn for_topology(topology: &Topology) -> DnsPlan {
        DnsPlan {
            accepted_domains: topology.accepted_domains.clone(),
            routing_domain: topology.routing_domain.clone(),
            hosts: dedup(
                topology
                    .hosts()
                    .into_iter()
                    .map(|(host, _)| host)
                    .chain(
                        topology
                            .send_smart_hosts
                            .iter()
                            .filter(|h| h.parse::<IpAddr>().is_err())
                            .cloned(),
                    )
                    .collect(),
            ),
            reverse: topology.egress(),
            reverse_hosts: dedup(topology.reverse_names()),
            dane_hosts: dedup(topology.inbound_hosts.clone()),
        }
    }
}

fn dedup(v: Vec<String>) -> Vec<String> {
    let mut seen = BTreeSet::new();
    v.into_iter()
        .map(|s| s.to_ascii_lowercase())
        .filter(|s| !s.is_empty() && seen.insert(s.clone()))
        .collect()
}

/// Run lookups concurrently; skip the ones already done.
async fn batch(
    resolver: &Resolver,
    queries: Vec<(String, RecordType)>,
    done: &mut BTreeSet<(String, RecordType, String)>,
) -> Vec<DnsAnswer> {
    let label = resolver.label();
    let mut set = JoinSet::new();
    for (name, rtype) in queries {
        if !done.insert((name.to_ascii_lowercase(), rtype, label.clone())) {
            continue;
        }
        let r = resolver.clone();
        set.spawn(async move { r.lookup(&name, rtype).await });
    }
    let mut out = Vec::new();
    while let Some(joined) = set.join_next().await {
        if let Ok(answer) = joined {
            out.push(answer);
        }
    }
    out
}

async fn reverse_batch(
    resolver: &Resolver,
    ips: Vec<IpAddr>,
    done: &mut BTreeSet<(String, RecordType, String)>,
) -> Vec<DnsAnswer> {
    let label = resolver.label();
    let mut set = JoinSet::new();
    for ip in ips {
        if !done.insert((crate::dns::reverse_name(ip), RecordType::Ptr, label.clone())) {
            continue;
        }
        let r = resolver.clone();
        set.spawn(async move { r.reverse(ip).await });
    }
    let mut out = Vec::new();
    while let Some(joined) = set.join_next().await {
        if let Ok(answer) = joined {
            out.push(answer);
        }
    }
    out
}

/// Gather every answer of the plan with `primary`, plus the host/MX answers from `external`.
pub async fn gather(plan: &DnsPlan, primary: &Resolver, external: Option<&Resolver>) -> Vec<DnsAnswer> {
    let mut done = BTreeSet::new();
    let mut all = Vec::new();

    // Round 1: MX, TXT, DMARC, DKIM, hosts.
    let mut q: Vec<(String, RecordType)> = Vec::new();
    q.push((plan.routing_domain.clone(), RecordType::Mx));
    for d in &plan.accepted_domains {
        q.push((d.clone(), RecordType::Mx));
        q.push((d.clone(), RecordType::Txt));
        q.push((format!("_dmarc.{d}"), RecordType::Txt));
        q.push((format!("selector1._domainkey.{d}"), RecordType::Cname));
        q.push((format!("selector2._domainkey.{d}"), RecordType::Cname));
    }
    for h in &plan.hosts {
        q.push((h.clone(), RecordType::A));
        q.push((h.clone(), RecordType::Aaaa));
    }
    let first = batch(primary, q.clone(), &mut done).await;

    // Round 2: MX targets' addresses and TLSA records, the PTR of public addresses.
    let mut q2: Vec<(String, RecordType)> = plan
        .dane_hosts
        .iter()
        .map(|h| (tlsa_name(h), RecordType::Tlsa))
        .collect();
    let mut reverse: Vec<IpAddr> = plan.reverse.clone();
    for a in &first {
        if a.rtype == RecordType::Mx {
            for (_, host) in a.mx() {
                if host != "." {
                    q2.push((host.to_string(), RecordType::A));
                    q2.push((host.to_string(), RecordType::Aaaa));
                    q2.push((tlsa_name(host), RecordType::Tlsa));
                }
            }
        }
        if matches!(a.rtype, RecordType::A | RecordType::Aaaa)
            && plan.reverse_hosts.iter().any(|h| h.eq_ignore_ascii_case(&a.name))
        {
            reverse.extend(a.ips());
        }
    }
    reverse.sort();
    reverse.dedup();
    all.extend(first);
    all.extend(batch(primary, q2.clone(), &mut done).await);
    let ptrs = reverse_batch(primary, reverse, &mut done).await;
    // Round 3: forward confirmation of the PTR names.
    let mut q3 = Vec::new();
    for p in &ptrs {
        for name in p.ptr() {
            q3.push((name.to_string(), RecordType::A));
            q3.push((name.to_string(), RecordType::Aaaa));
        }
    }
    all.extend(ptrs);
    all.extend(batch(primary, q3, &mut done).await);

    // SPF tree, breadth first, bounded.
    let mut frontier: Vec<String> = plan.accepted_domains.clone();
    for _ in 0..crate::spf::MAX_LOOKUPS {
        let mut next_txt = Vec::new();
        let mut q = Vec::new();
        for domain in &frontier {
            let texts: Vec<String> = all
                .iter()
                .filter(|a| a.rtype == RecordType::Txt && a.name.eq_ignore_ascii_case(domain))
                .flat_map(|a| a.txt().into_iter().map(str::to_owned).collect::<Vec<_>>())
                .filter(|t| t.to_ascii_lowercase().starts_with("v=spf1"))
                .collect();
            for t in texts {
                let (txt, a, mx) = crate::spf::referenced_domains(&t, domain);
                for d in txt {
                    q.push((d.clone(), RecordType::Txt));
                    next_txt.push(d);
                }
                for d in a {
                    q.push((d.clone(), RecordType::A));
                    q.push((d, RecordType::Aaaa));
                }
                for d in mx {
                    q.push((d, RecordType::Mx));
                }
            }
        }
        if q.is_empty() {
            break;
        }
        let got = batch(primary, q, &mut done).await;
        // MX mechanisms need the MX hosts' addresses too.
        let mut hosts = Vec::new();
        for a in &got {
            if a.rtype == RecordType::Mx {
                for (_, h) in a.mx() {
                    hosts.push((h.to_string(), RecordType::A));
                    hosts.push((h.to_string(), RecordType::Aaaa));
                }
            }
        }
        all.extend(got);
        all.extend(batch(primary, hosts, &mut done).await);
        frontier = next_txt;
    }

    // DKIM CNAME targets.
    let mut dkim = Vec::new();
    for a in &all {
        if a.rtype == RecordType::Cname
            && let Some(target) = a.cname()
        {
            dkim.push((target.to_string(), RecordType::Txt));
        }
    }
    all.extend(batch(primary, dkim, &mut done).await);

    if let Some(ext) = external {
        let mut q: Vec<(String, RecordType)> = q
            .into_iter()
            .chain(q2)
            .filter(|(_, t)| matches!(t, RecordType::A | RecordType::Aaaa | RecordType::Mx))
            .collect();
        q.sort();
        q.dedup();
        all.extend(batch(ext, q, &mut done).await);
    }
    all.sort_by(|a, b| {
        (a.name.as_str(), a.rtype.as_str(), a.server.as_str()).cmp(&(
            b.name.as_str(),
            b.rtype.as_str(),
            b.server.as_str(),
        ))
    });
    all
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lab::{Lab, LabOptions};

    #[tokio::test]
    async fn gathers_what_the_checks_need_from_the_lab() {
        let lab = Lab::start_named("healthy-edge", LabOptions::default())
            .await
            .unwrap();
        let profile = Profile::load(&lab.info().profile_file).unwrap();
        let plan = DnsPlan::for_profile(&profile);
        assert!(plan.hosts.contains(&"mail.contoso.com".to_string()));
        let resolver = Resolver::with_servers(&[lab.info().dns], std::time::Duration::from_secs(2));
        let answers = gather(&plan, &resolver, None).await;
        let has = |name: &str, t: RecordType| {
            answers
                .iter()
                .any(|a| a.name == name && a.rtype == t && a.has_records())
        };
        assert!(has("contoso.mail.onmicrosoft.com", RecordType::Mx));
        assert!(has("contoso-com.mail.protection.outlook.com", RecordType::A));
        assert!(
            has("spf.protection.outlook.com", RecordType::Txt),
            "the SPF include tree is followed"
        );
        assert!(has("1.0.0.127.in-addr.arpa", RecordType::Ptr));
        assert!(has(
            "selector1-contoso-com._domainkey.contoso.onmicrosoft.com",
            RecordType::Txt
        ));
        let mut sorted = answers.clone();
        sorted.sort_by(|a, b| (a.name.as_str(), a.rtype.as_str()).cmp(&(b.name.as_str(), b.rtype.as_str())));
        assert_eq!(sorted.len(), answers.len());
        lab.shutdown().await;
    }
}
