//! STUB (replaced by the real module at merge).
#![allow(missing_docs, clippy::all)]
use crate::dns::{DnsAnswer, RecordType, Resolver};
pub struct DnsPlan { pub hosts: Vec<String> }
impl DnsPlan {
    pub fn for_profile(p: &crate::profile::Profile) -> DnsPlan {
        let mut hosts: Vec<String> = p.mailboxes.iter().map(|m| m.fqdn.clone()).collect();
        for e in &p.edges { hosts.push(e.fqdn.clone()); hosts.push(e.external_fqdn.clone()); }
        hosts.push(p.eop_endpoint());
        DnsPlan { hosts }
    }
}
pub async fn gather(plan: &DnsPlan, r: &Resolver, _x: Option<&Resolver>) -> Vec<DnsAnswer> {
    let mut v = Vec::new();
    for h in &plan.hosts { v.push(r.lookup(h, RecordType::A).await); }
    v
}
