//! STUB (replaced by the real module at merge).
#![allow(missing_docs, clippy::all)]
use crate::check::{CheckDef, CheckResult};
pub const DEFS: &[CheckDef] = &[];
pub struct DnsContext { pub hop_to_eop: String, pub hop_mx: String, pub public_node: String, pub egress: Vec<std::net::IpAddr>, pub public_names: Vec<String> }
pub fn dns_checks(_p: &crate::profile::Profile, _e: &crate::evidence::Evidence, _c: &DnsContext) -> Vec<CheckResult> { Vec::new() }
