//! Redaction: host names, domains, addresses, certificate names, banner names and e-mail addresses
//! replaced by stable placeholders (`host-1.domain-1.example`, `192.0.2.1`, `2001:db8::1`, `org-1`), so a
//! report can be shared.
//!
//! It is a transformation of the whole [`Diagnosis`]: first a dictionary of sensitive values is collected
//! from the profile, the evidence and the certificates (plus scanners that find addresses, e-mail addresses
//! and host names in free text such as banners and transcripts); then every string of the diagnosis is
//! rewritten in one pass that replaces the longest dictionary entry at each position. The same value
//! gets the same placeholder everywhere, and a placeholder is never rewritten again. Public Microsoft
//! names (`mail.protection.outlook.com`, `outlook.com`, ...) and reserved names (`*.invalid`,
//! `*.example`) stay. Certificates (DER) are replaced by a marker, `redacted:cert-N`: their bytes name
//! the subject, so their parsed details are redacted separately ([`Redactor::redact_certs`]).

use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use serde_json::Value;

use super::certs::EndpointCerts;
use crate::cert::{CapturedCert, CertInfo, NameAttribute};
use crate::diagnose::Diagnosis;
use crate::dns::RecordData;
use crate::evidence::Connect;

/// The prefix of the marker that stands for a redacted certificate in `chain_der_b64`.
pub const REDACTED_CERT_PREFIX: &str = crate::encoding::REDACTED_PREFIX;

/// Suffixes of names that belong to a tenant but live under Microsoft's domains: the prefix label is
/// replaced, the suffix stays.
const TENANT_SUFFIXES: &[&str] = &[
    ".mail.protection.outlook.com",
    ".mail.onmicrosoft.com",
    ".onmicrosoft.com",
    ".mx.microsoft",
    // GCC High / DoD and 21Vianet (crate::cloud::CLOUDS).
    ".mail.protection.office365.us",
    ".mail.onmicrosoft.us",
    ".onmicrosoft.us",
    ".mail.protection.partner.outlook.cn",
    ".mail.partner.onmschina.cn",
    ".partner.onmschina.cn",
];

/// Public names that stay (exactly, or as a parent domain).
const PUBLIC: &[&str] = &[
    "outlook.com",
    "microsoft.com",
    "office365.com",
    "office.com",
    "microsoftonline.com",
    "onmicrosoft.com",
    "mx.microsoft",
    "office365.us",
    "onmicrosoft.us",
    "outlook.cn",
    "onmschina.cn",
    "windows.net",
    "azure.com",
    "live.com",
    "digicert.com",
    "letsencrypt.org",
    "sectigo.com",
    "globalsign.com",
    "entrust.net",
    "ietf.org",
    "rfc-editor.org",
    "github.com",
    "example",
    "invalid",
    "test",
    "localhost",
    "example.com",
    "example.net",
    "example.org",
];

/// Top-level labels that make a dotted word in free text a host name (besides any two-letter one).
const TLDS: &[&str] = &[
    "com", "net", "org", "edu", "gov", "mil", "int", "info", "biz", "local", "lan", "corp", "internal",
    "intra", "intranet", "home", "arpa", "lab", "cloud", "online", "site", "tech", "dev", "xyz", "pro",
];

/// Words that are never treated as sensitive on their own (mailpath's vocabulary).
const STOP_WORDS: &[&str] = &[
    "mail",
    "smtp",
    "edge",
    "exchange",
    "online",
    "outlook",
    "microsoft",
    "protection",
    "server",
    "servers",
    "connector",
    "tenant",
    "domain",
    "host",
    "example",
    "report",
    "check",
    "pass",
    "fail",
    "warn",
    "info",
    "skip",
    "test",
    "root",
    "issuing",
    "certificate",
    "authority",
    "inbound",
    "outbound",
    "hybrid",
    "internet",
    "office",
    "mailbox",
    "transport",
    "default",
    "none",
    "true",
    "false",
    "localhost",
    "mailpath",
    "relay",
    "gateway",
    "exchange online",
    "contoso lab",
    "service",
    "services",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Boundary {
    /// Host names and e-mail addresses: not inside a longer label (letters, digits, `-`, `_`).
    Name,
    /// Words (organisation names, tenant names): not inside a longer word (letters, digits).
    Word,
    /// IPv4: not inside a longer dotted number.
    Ipv4,
    /// IPv6: not inside a longer hex/colon run.
    Ipv6,
    /// Anywhere (file paths).
    Raw,
}

#[derive(Debug, Clone)]
struct Entry {
    needle: Vec<u8>,
    placeholder: String,
    boundary: Boundary,
}

/// Placeholder counters, one per kind.
#[derive(Debug, Default)]
struct Counters {
    host: usize,
    domain: usize,
    tenant: usize,
    org: usize,
    name: usize,
    unit: usize,
    place: usize,
    user: usize,
    file: usize,
    serial: usize,
    v4: usize,
    v6: usize,
}

/// The dictionary of sensitive values and their placeholders, and the one-pass rewriter.
#[derive(Debug, Default)]
pub struct Redactor {
    map: HashMap<String, (String, Boundary)>,
    domains: Vec<(String, String)>,
    certs: HashMap<String, String>,
    /// The placeholder of each tenant prefix under Microsoft's domains (`contoso`, `contoso-com`): one
    /// tenant, one placeholder, whichever of its names it appears in.
    tenant_prefixes: HashMap<String, String>,
    /// The placeholder of the profile's tenant name.
    tenant_word: Option<String>,
    counters: Counters,
    entries: Vec<Entry>,
    matcher: Option<aho_corasick::AhoCorasick>,
}

fn is_label_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-' || b == b'_'
}

fn lower(s: &str) -> String {
    s.trim().trim_end_matches('.').to_ascii_lowercase()
}

fn is_public(name: &str) -> bool {
    PUBLIC
        .iter()
        .any(|p| name == *p || name.strip_suffix(p).is_some_and(|rest| rest.ends_with('.')))
}

fn stop_word(word: &str) -> bool {
    let w = word.to_ascii_lowercase();
    w.len() < 3 || STOP_WORDS.contains(&w.as_str())
}

/// Whether `s` looks like a DNS host name (two or more labels, letters/digits/hyphens, alphabetic TLD).
fn looks_like_host(s: &str) -> bool {
    let labels: Vec<&str> = s.split('.').collect();
    labels.len() >= 2
        && labels.iter().all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && l.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
                && !l.starts_with('-')
                && !l.ends_with('-')
        })
        && labels
            .last()
            .is_some_and(|t| t.len() >= 2 && t.bytes().all(|b| b.is_ascii_alphabetic()))
}

impl Redactor {
    /// Collect the dictionary for `d`, its parsed certificates and the name of the machine it ran on.
    pub fn for_diagnosis(d: &Diagnosis, certs: &[EndpointCerts], ran_on: Option<&str>) -> Redactor {
        let mut r = Redactor::default();
        let p = &d.profile;
        if !p.tenant.name.trim().is_empty() {
            r.add_word(&p.tenant.name, WordKind::Tenant);
        }
        for dom in &p.tenant.accepted_domains {
            r.add_domain(dom);
            if let Some(stem) = lower(dom).split('.').next() {
                r.add_word(stem, WordKind::Org);
            }
        }
        for m in &p.mailboxes {
            r.add_server(&m.fqdn);
            if let Some(ip) = m.address {
                r.add_ip(ip);
            }
        }
        for e in &p.edges {
            r.add_server(&e.fqdn);
            r.add_name(&e.external_fqdn);
            for ip in [e.address, e.external_address].into_iter().flatten() {
                r.add_ip(ip);
            }
        }
        let c = &p.connectors;
        for n in c
            .send
            .fqdn
            .iter()
            .chain(&c.send.tls_domain)
            .chain(&c.exo_outbound.smart_hosts)
            .chain(&c.exo_outbound.tls_domain)
        {
            r.add_name(n);
        }
        for n in [
            &c.send.tls_certificate_name,
            &c.receive.tls_certificate_name,
            &c.exo_inbound.tls_sender_certificate_name,
        ]
        .into_iter()
        .flatten()
        {
            r.add_certificate_name(n);
        }
        if let Some(host) = c
            .receive
            .tls_domain_capabilities
            .as_deref()
            .and_then(|caps| caps.split(':').next())
        {
            r.add_name(host);
        }
        if let Some(ep) = &p.tenant.eop_endpoint {
            r.add_name(ep);
        }
        r.add_name(&p.tenant.eop_endpoint());
        r.add_name(&p.tenant.routing_domain());
        for o in &p.port_overrides {
            r.add_name(&o.host);
        }
        for a in p.resolvers.internal.iter().chain(&p.resolvers.external) {
            r.add_ip(a.ip());
        }
        for f in &p.trust.ca_files {
            r.add_file(&f.to_string_lossy());
        }
        for a in d.evidence.dns.iter().chain(&d.evidence.resolvers) {
            r.add_name(&a.name);
            r.scan(&a.server, true);
            for rec in a.records() {
                let _ = match rec {
                    RecordData::A(ip) => r.add_ip(IpAddr::V4(*ip)),
                    RecordData::Aaaa(ip) => r.add_ip(IpAddr::V6(*ip)),
                    RecordData::Mx { exchange, .. } => r.add_name(exchange),
                    RecordData::Cname(n) | RecordData::Ptr(n) | RecordData::Ns(n) => r.add_name(n),
                    RecordData::Soa { mname, rname, .. } => {
                        r.add_name(mname);
                        r.add_name(rname)
                    }
                    RecordData::Txt(t) => {
                        r.scan(t, true);
                        None
                    }
                    RecordData::Tlsa { .. } => None,
                };
            }
        }
        for s in &d.evidence.smtp {
            r.add_name(&s.host);
            for ip in &s.addresses {
                r.add_ip(*ip);
            }
            r.add_connect(&s.connect);
            if let Some(sni) = s.tls.as_ref().and_then(|t| t.sni.as_ref()) {
                r.add_name(sni);
            }
        }
        for t in &d.evidence.tls_ports {
            r.add_name(&t.host);
            r.add_connect(&t.connect);
        }
        for ec in certs {
            for info in ec.chain.iter().filter_map(CapturedCert::info) {
                r.add_attrs(&info.subject_attributes);
                r.add_attrs(&info.issuer_attributes);
                for name in &info.dns_names {
                    r.add_name(name);
                }
                for ip in info.ip_addresses.iter().filter_map(|ip| ip.parse().ok()) {
                    r.add_ip(ip);
                }
                for other in &info.other_names {
                    r.add_san(other);
                }
                for url in &info.aia_ca_issuers {
                    r.scan(url, true);
                }
            }
        }
        r.add_fingerprints(d, certs);
        if let Some(h) = ran_on {
            r.add_name(h);
        }
        // Free text anywhere in the diagnosis: banners, EHLO lines, transcripts, errors, check words.
        if let Ok(value) = serde_json::to_value(d) {
            r.scan_value(&value, "");
        }
        r.build();
        r
    }

    /// Number the certificates in the order the diagnosis lists them (the `redacted:cert-N` markers), and
    /// map each one's fingerprints (SHA-256, and SHA-1, Exchange's thumbprint) and serial to its label, with
    /// and without colons: a fingerprint finds the certificate, and its names, in Certificate Transparency
    /// logs.
    fn add_fingerprints(&mut self, d: &Diagnosis, certs: &[EndpointCerts]) {
        let chains = d
            .evidence
            .smtp
            .iter()
            .map(|p| (p.id.as_str(), p.tls.as_ref()))
            .chain(
                d.evidence
                    .tls_ports
                    .iter()
                    .map(|p| (p.id.as_str(), p.tls.as_ref())),
            );
        let mut labels: HashMap<(String, usize), String> = HashMap::new();
        for (id, tls) in chains {
            for (i, der) in tls
                .map(|t| t.chain.as_slice())
                .unwrap_or_default()
                .iter()
                .enumerate()
            {
                let marker = self.cert_marker(&json_text(der));
                labels.insert(
                    (id.to_string(), i),
                    marker.trim_start_matches(REDACTED_CERT_PREFIX).to_string(),
                );
            }
        }
        for ec in certs {
            for (i, cert) in ec.chain.iter().enumerate() {
                let (Some(info), Some(label)) = (cert.info(), labels.get(&(ec.evidence_id.clone(), i)))
                else {
                    continue;
                };
                for fp in [&info.sha256, &info.sha1_thumbprint] {
                    let fp = fp.to_ascii_lowercase();
                    self.insert(crate::encoding::colons(&fp), label.clone(), Boundary::Word);
                    self.insert(fp, label.clone(), Boundary::Word);
                }
                let serial = info.serial.to_ascii_lowercase();
                if serial.len() >= 8 {
                    self.insert(
                        crate::encoding::colons(&serial),
                        format!("{label} serial"),
                        Boundary::Word,
                    );
                    self.insert(serial, format!("{label} serial"), Boundary::Word);
                }
            }
        }
    }

    fn add_connect(&mut self, c: &Connect) {
        let _ = match c {
            Connect::Connected { address, .. }
            | Connect::Refused { address }
            | Connect::TimedOut { address, .. }
            | Connect::Unreachable { address, .. } => self.add_ip(address.ip()),
            Connect::Failed {
                address: Some(address),
                ..
            } => self.add_ip(address.ip()),
            Connect::Failed { address: None, .. } | Connect::NoAddress { .. } => None,
        };
    }

    fn next(counter: &mut usize) -> usize {
        *counter += 1;
        *counter
    }

    fn insert(&mut self, needle: String, placeholder: String, boundary: Boundary) -> String {
        self.map
            .entry(needle)
            .or_insert((placeholder, boundary))
            .0
            .clone()
    }

    fn add_word(&mut self, word: &str, kind: WordKind) -> Option<String> {
        let w = word.trim().to_ascii_lowercase();
        if stop_word(&w) || w.to_ascii_lowercase().contains("microsoft") {
            return None;
        }
        if let Some((p, _)) = self.map.get(&w) {
            return Some(p.clone());
        }
        let placeholder = match kind {
            WordKind::Tenant => {
                let p = format!("tenant-{}", Self::next(&mut self.counters.tenant));
                self.tenant_word.get_or_insert_with(|| p.clone());
                p
            }
            WordKind::Org => format!("org-{}", Self::next(&mut self.counters.org)),
            WordKind::Name => format!("name-{}", Self::next(&mut self.counters.name)),
            WordKind::Unit => format!("unit-{}", Self::next(&mut self.counters.unit)),
            WordKind::Place => format!("place-{}", Self::next(&mut self.counters.place)),
            WordKind::Serial => format!("serial-{}", Self::next(&mut self.counters.serial)),
        };
        Some(self.insert(w, placeholder, Boundary::Word))
    }

    /// A domain (accepted domain or the parent of a host): `domain-N.example`.
    fn add_domain(&mut self, domain: &str) -> Option<String> {
        let d = lower(domain);
        if d.is_empty() || is_public(&d) {
            return None;
        }
        if let Some((p, _)) = self.map.get(&d) {
            return Some(p.clone());
        }
        let placeholder = format!("domain-{}.example", Self::next(&mut self.counters.domain));
        self.domains.push((d.clone(), placeholder.clone()));
        Some(self.insert(d, placeholder, Boundary::Name))
    }

    /// An on-premises server: its name, and its first label when that is a server name like `ex01`.
    fn add_server(&mut self, fqdn: &str) {
        let Some(placeholder) = self.add_name(fqdn) else {
            return;
        };
        let name = lower(fqdn);
        if let (Some((label, _)), Some((ph_label, _))) = (name.split_once('.'), placeholder.split_once('.'))
            && label.bytes().any(|b| b.is_ascii_digit())
            && !stop_word(label)
            && !self.map.contains_key(label)
        {
            let ph_label = ph_label.to_string();
            self.insert(label.to_string(), ph_label, Boundary::Word);
        }
    }

    /// The placeholder of a tenant prefix: the tenant's own when the prefix is its name or one of its
    /// accepted domains with dashes for dots (`contoso-com`, as EOP endpoints are named), the same one every
    /// time it is seen.
    fn tenant_prefix(&mut self, prefix: &str) -> String {
        if let Some(p) = self.tenant_prefixes.get(prefix) {
            return p.clone();
        }
        let as_domain = prefix.replace('-', ".");
        let own = self
            .map
            .get(prefix)
            .filter(|(p, _)| p.starts_with("tenant-"))
            .map(|(p, _)| p.clone())
            .or_else(|| {
                self.domains
                    .iter()
                    .any(|(d, _)| *d == as_domain || *d == prefix)
                    .then(|| self.tenant_word.clone())
                    .flatten()
            });
        let p = own.unwrap_or_else(|| format!("tenant-{}", Self::next(&mut self.counters.tenant)));
        self.tenant_prefixes.insert(prefix.to_string(), p.clone());
        p
    }

    /// A host name: `host-N.<its domain's placeholder>`; tenant names under Microsoft's domains keep the
    /// Microsoft suffix; public names stay.
    fn add_name(&mut self, name: &str) -> Option<String> {
        let mut n = lower(name);
        while let Some(rest) = n.strip_prefix("*.") {
            n = rest.to_string();
        }
        if n.is_empty() || n == "." {
            return None;
        }
        if let Ok(ip) = n.trim_start_matches('[').trim_end_matches(']').parse::<IpAddr>() {
            return self.add_ip(ip);
        }
        if let Some((p, _)) = self.map.get(&n) {
            return Some(p.clone());
        }
        for suffix in TENANT_SUFFIXES {
            if let Some(prefix) = n.strip_suffix(suffix)
                && !prefix.is_empty()
            {
                // The prefix alone (`contoso-com`) is only ever replaced inside the full name. Its last
                // label names the tenant; labels before it (`_25._tcp.`, `selector1-contoso-com._domainkey.`,
                // `hostmaster.`) stay, with the tenant's prefixes in them replaced too.
                let (head, tenant) = match prefix.rsplit_once('.') {
                    Some((head, tenant)) => (Some(head), tenant),
                    None => (None, prefix),
                };
                let ph = self.tenant_prefix(tenant);
                let head = head.map(|h| {
                    // Longest first (`contoso-com` before `contoso`), so the result does not depend on
                    // the map's order.
                    let mut known: Vec<(&String, &String)> = self.tenant_prefixes.iter().collect();
                    known.sort_by_key(|(k, _)| (std::cmp::Reverse(k.len()), (*k).clone()));
                    let mut h = h.to_string();
                    for (prefix, placeholder) in known {
                        h = h.replace(prefix.as_str(), placeholder);
                    }
                    format!("{h}.")
                });
                let full = format!("{}{ph}{suffix}", head.unwrap_or_default());
                return Some(self.insert(n.clone(), full, Boundary::Name));
            }
        }
        if is_public(&n)
            || !n
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.' || b == b'_')
        {
            return None;
        }
        if !n.contains('.') {
            if stop_word(&n) {
                return None;
            }
            let p = format!("host-{}", Self::next(&mut self.counters.host));
            return Some(self.insert(n, p, Boundary::Name));
        }
        if self.domains.iter().any(|(d, _)| *d == n) {
            return self.map.get(&n).map(|(p, _)| p.clone());
        }
        // Under a known domain (the longest)?
        let parent = self
            .domains
            .iter()
            .filter(|(d, _)| n.strip_suffix(d.as_str()).is_some_and(|rest| rest.ends_with('.')))
            .max_by_key(|(d, _)| d.len())
            .map(|(_, p)| p.clone());
        let parent = match parent {
            Some(p) => p,
            None => {
                let labels = n.split('.').count();
                if labels <= 2 {
                    return self.add_domain(&n);
                }
                let (_, rest) = n.split_once('.')?;
                self.add_domain(rest)?
            }
        };
        let p = format!("host-{}.{parent}", Self::next(&mut self.counters.host));
        Some(self.insert(n, p, Boundary::Name))
    }

    fn add_ip(&mut self, ip: IpAddr) -> Option<String> {
        if ip.is_unspecified() || ip == IpAddr::V4(Ipv4Addr::BROADCAST) {
            return None;
        }
        let key = ip.to_string().to_ascii_lowercase();
        if let Some((p, _)) = self.map.get(&key) {
            return Some(p.clone());
        }
        let (p, b) = match ip {
            IpAddr::V4(_) => {
                let n = Self::next(&mut self.counters.v4);
                let p = match n {
                    1..=254 => format!("192.0.2.{n}"),
                    255..=508 => format!("198.51.100.{}", n - 254),
                    509..=762 => format!("203.0.113.{}", n - 508),
                    _ => {
                        let m = n - 762;
                        format!("100.{}.{}.{}", 64 + (m >> 16) % 64, (m >> 8) & 0xff, m & 0xff)
                    }
                };
                (p, Boundary::Ipv4)
            }
            IpAddr::V6(_) => {
                let n = Self::next(&mut self.counters.v6);
                let hi = u16::try_from(n >> 16).unwrap_or(u16::MAX);
                let lo = u16::try_from(n & 0xffff).unwrap_or(u16::MAX);
                (
                    Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, hi, lo).to_string(),
                    Boundary::Ipv6,
                )
            }
        };
        Some(self.insert(key, p, b))
    }

    fn add_email(&mut self, email: &str) {
        let e = lower(email);
        if self.map.contains_key(&e) {
            return;
        }
        let Some((local, domain)) = e.rsplit_once('@') else {
            return;
        };
        if local.is_empty() {
            return;
        }
        let Some(dom) = self.add_name(domain) else { return };
        let p = format!("user-{}@{dom}", Self::next(&mut self.counters.user));
        self.insert(e, p, Boundary::Name);
    }

    fn add_file(&mut self, path: &str) {
        if path.is_empty() || self.map.contains_key(path) {
            return;
        }
        let ext = std::path::Path::new(path)
            .extension()
            .and_then(|e| e.to_str())
            .unwrap_or("pem")
            .to_string();
        let p = format!("file-{}.{ext}", Self::next(&mut self.counters.file));
        self.map.insert(path.to_string(), (p, Boundary::Raw));
    }

    fn add_attrs(&mut self, attrs: &[NameAttribute]) {
        for a in attrs {
            let v = a.value.trim();
            if v.is_empty() || v.to_ascii_lowercase().contains("microsoft") {
                continue;
            }
            match a.key.as_str() {
                "C" => {}
                "CN" => {
                    if looks_like_host(v.trim_start_matches("*.")) || v.parse::<IpAddr>().is_ok() {
                        self.add_name(v);
                    } else {
                        self.add_word(v, WordKind::Name);
                    }
                }
                "O" => {
                    self.add_word(v, WordKind::Org);
                }
                "OU" => {
                    self.add_word(v, WordKind::Unit);
                }
                "emailAddress" => self.add_email(v),
                "DC" => {
                    self.add_word(v, WordKind::Org);
                }
                "serialNumber" => {
                    self.add_word(v, WordKind::Serial);
                }
                _ => {
                    self.add_word(v, WordKind::Place);
                }
            }
        }
    }

    fn add_san(&mut self, san: &str) {
        let (kind, value) = san.split_once(':').unwrap_or(("DNS", san));
        match kind {
            "DNS" => {
                self.add_name(value);
            }
            "IP" => {
                if let Ok(ip) = value.parse::<IpAddr>() {
                    self.add_ip(ip);
                }
            }
            "email" => self.add_email(value),
            _ => self.scan(value, true),
        }
    }

    /// `<I>issuer<S>subject` (Exchange's TlsCertificateName) or a plain name.
    fn add_certificate_name(&mut self, text: &str) {
        if !text.contains('=') {
            self.add_name(text);
            return;
        }
        let text = text.replace("<I>", ",").replace("<S>", ",");
        let attrs: Vec<NameAttribute> = text
            .split(',')
            .filter_map(|part| part.split_once('='))
            .map(|(k, v)| NameAttribute {
                key: k.trim().to_string(),
                value: v.trim().to_string(),
            })
            .collect();
        self.add_attrs(&attrs);
    }

    fn scan_value(&mut self, v: &Value, key: &str) {
        match v {
            Value::String(s) => {
                if matches!(
                    key,
                    "schema" | "mailpath_version" | "started_at" | "title" | "references"
                ) {
                    return;
                }
                // Remediation is PowerShell: `$cert.Thumbprint` is no host name; only addresses are found there.
                let names = !matches!(key, "remediation" | "chain_der_b64");
                if key != "chain_der_b64" {
                    self.scan(s, names);
                }
            }
            Value::Array(items) => {
                for i in items {
                    self.scan_value(i, key);
                }
            }
            Value::Object(map) => {
                for (k, i) in map {
                    self.scan_value(i, k);
                }
            }
            _ => {}
        }
    }

    /// Find addresses, e-mail addresses and (when `names`) host names in free text.
    fn scan(&mut self, s: &str, names: bool) {
        let b = s.as_bytes();
        // IPv4 literals: runs of digits and dots, not inside a word (`ip4:10.0.0.0/24`, `[10.0.0.1]:25`).
        let mut i = 0;
        while i < b.len() {
            if !b[i].is_ascii_digit() {
                i += 1;
                continue;
            }
            let start = i;
            while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'.') {
                i += 1;
            }
            let prev_ok = start == 0 || !(b[start - 1].is_ascii_alphanumeric() || b[start - 1] == b'.');
            let next_ok = i >= b.len() || !b[i].is_ascii_alphanumeric();
            if prev_ok
                && next_ok
                && let Ok(v4) = s[start..i].trim_end_matches('.').parse::<Ipv4Addr>()
            {
                self.add_ip(IpAddr::V4(v4));
            }
        }
        // IPv6 literals: runs of hex digits, colons and dots with at least two colons. A run that starts
        // inside a word is a tag (`ip6:2001:db8::1`): its first segment is dropped. Runs that start at a
        // word boundary are taken whole, so a fingerprint (`A7:AC:...`) never yields an address.
        let mut i = 0;
        while i < b.len() {
            if !(b[i].is_ascii_hexdigit() || b[i] == b':') {
                i += 1;
                continue;
            }
            let start = i;
            while i < b.len() && (b[i].is_ascii_hexdigit() || b[i] == b':' || b[i] == b'.') {
                i += 1;
            }
            let prev_ok = start == 0 || !is_label_byte(b[start - 1]);
            let next_ok = i >= b.len() || !is_label_byte(b[i]);
            let run = s[start..i].trim_end_matches('.');
            if !next_ok || run.matches(':').count() < 2 {
                continue;
            }
            let candidate = if prev_ok {
                Some(run)
            } else {
                run.split_once(':').map(|(_, rest)| rest)
            };
            if let Some(Ok(v6)) = candidate.map(str::parse::<Ipv6Addr>) {
                self.add_ip(IpAddr::V6(v6));
            }
        }
        // E-mail addresses.
        for (at, _) in s.match_indices('@') {
            let is_local = |c: u8| c.is_ascii_alphanumeric() || b"._%+-".contains(&c);
            let mut l = at;
            while l > 0 && is_local(b[l - 1]) {
                l -= 1;
            }
            let mut r = at + 1;
            while r < b.len() && (b[r].is_ascii_alphanumeric() || b[r] == b'.' || b[r] == b'-') {
                r += 1;
            }
            let domain = s[at + 1..r].trim_end_matches('.');
            if l < at && looks_like_host(domain) {
                self.add_email(&s[l..at + 1 + domain.len()]);
            }
        }
        if !names {
            return;
        }
        // Host names: dotted words under a known domain, or with a plausible top-level label.
        for word in s.split(|c: char| !(c.is_ascii_alphanumeric() || c == '.' || c == '-' || c == '_')) {
            let w = smtp_continuation(word).trim_matches(|c| c == '.' || c == '-');
            if !looks_like_host(w) {
                continue;
            }
            let lw = w.to_ascii_lowercase();
            let tld = lw.rsplit('.').next().unwrap_or("");
            let known = self
                .domains
                .iter()
                .any(|(d, _)| lw == *d || lw.ends_with(&format!(".{d}")))
                || TENANT_SUFFIXES.iter().any(|suffix| lw.ends_with(suffix));
            if known || tld.len() == 2 || TLDS.contains(&tld) {
                self.add_name(w);
            }
        }
    }

    /// Freeze the dictionary into the matcher (an Aho-Corasick automaton over every needle).
    fn build(&mut self) {
        let mut entries: Vec<Entry> = self
            .map
            .iter()
            .filter(|(k, _)| !k.is_empty())
            .map(|(k, (p, b))| Entry {
                needle: k.as_bytes().to_vec(),
                placeholder: p.clone(),
                boundary: *b,
            })
            .collect();
        entries.sort_by(|a, b| {
            b.needle
                .len()
                .cmp(&a.needle.len())
                .then_with(|| a.needle.cmp(&b.needle))
        });
        self.matcher = aho_corasick::AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .match_kind(aho_corasick::MatchKind::Standard)
            .build(entries.iter().map(|e| &e.needle))
            .ok();
        self.entries = entries;
    }

    /// The dictionary: sensitive value (lower-case) -> placeholder, sorted.
    pub fn dictionary(&self) -> BTreeMap<&str, &str> {
        self.map
            .iter()
            .map(|(k, (p, _))| (k.as_str(), p.as_str()))
            .collect()
    }

    /// Rewrite one string: every dictionary entry (case-insensitively, at label/word boundaries) replaced
    /// by its placeholder, the longest entry first at each position, in one pass.
    pub fn apply(&self, s: &str) -> String {
        let Some(matcher) = &self.matcher else {
            return s.to_string();
        };
        let b = s.as_bytes();
        let mut found: Vec<(usize, usize, usize)> = matcher
            .find_overlapping_iter(s)
            .map(|m| (m.start(), m.end(), m.pattern().as_usize()))
            .filter(|&(start, end, i)| {
                s.is_char_boundary(start)
                    && s.is_char_boundary(end)
                    && bounded(b, start, end, self.entries[i].boundary)
            })
            .collect();
        if found.is_empty() {
            return s.to_string();
        }
        // Leftmost first; at the same start, the longest.
        found.sort_by(|x, y| x.0.cmp(&y.0).then(y.1.cmp(&x.1)));
        let mut out = String::with_capacity(s.len() + 16);
        let mut last = 0;
        for (start, end, i) in found {
            if start < last {
                continue;
            }
            out.push_str(&s[last..start]);
            out.push_str(&self.entries[i].placeholder);
            last = end;
        }
        out.push_str(&s[last..]);
        out
    }

    /// The marker for one certificate (the same DER, the same marker).
    fn cert_marker(&mut self, der_b64: &str) -> String {
        if der_b64.starts_with(REDACTED_CERT_PREFIX) {
            return der_b64.to_string();
        }
        let n = self.certs.len() + 1;
        self.certs
            .entry(der_b64.to_string())
            .or_insert_with(|| format!("{REDACTED_CERT_PREFIX}cert-{n}"))
            .clone()
    }

    fn rewrite_value(&mut self, v: &mut Value, key: &str) {
        match v {
            Value::String(s) => {
                if key == "chain_der_b64" {
                    *s = self.cert_marker(s);
                } else if !matches!(
                    key,
                    "schema" | "mailpath_version" | "started_at" | "not_before" | "not_after"
                ) {
                    let new = self.apply(s);
                    *s = new;
                }
            }
            Value::Array(items) => {
                for i in items {
                    self.rewrite_value(i, key);
                }
            }
            Value::Object(map) => {
                for (k, i) in map.iter_mut() {
                    let k = k.clone();
                    self.rewrite_value(i, &k);
                }
            }
            _ => {}
        }
    }

    /// The redacted diagnosis.
    ///
    /// # Errors
    /// When the rewritten document no longer deserializes (a placeholder where a typed value was
    /// expected); not expected to happen.
    pub fn redact_diagnosis(&mut self, d: &Diagnosis) -> Result<Diagnosis, serde_json::Error> {
        let mut v = serde_json::to_value(d)?;
        self.rewrite_value(&mut v, "");
        serde_json::from_value(v)
    }

    /// The redacted certificate details: names rewritten, fingerprints and serials replaced by the
    /// certificate's marker (`cert-N`, the same as in the redacted diagnosis).
    ///
    /// # Errors
    /// As [`Redactor::redact_diagnosis`].
    pub fn redact_certs(
        &mut self,
        certs: &[EndpointCerts],
        d: &Diagnosis,
    ) -> Result<Vec<EndpointCerts>, serde_json::Error> {
        // Number the certificates in the order the diagnosis lists them.
        let ders: BTreeMap<&str, Vec<String>> = d
            .evidence
            .smtp
            .iter()
            .map(|p| (p.id.as_str(), p.tls.as_ref()))
            .chain(
                d.evidence
                    .tls_ports
                    .iter()
                    .map(|p| (p.id.as_str(), p.tls.as_ref())),
            )
            .filter_map(|(id, tls)| tls.map(|t| (id, t.chain.iter().map(|der| json_text(der)).collect())))
            .collect();
        let mut out = Vec::with_capacity(certs.len());
        for ec in certs {
            let mut ec2 = EndpointCerts {
                evidence_id: self.apply(&ec.evidence_id),
                chain: Vec::new(),
            };
            for (i, cert) in ec.chain.iter().enumerate() {
                let marker = ders
                    .get(ec.evidence_id.as_str())
                    .and_then(|chain| chain.get(i))
                    .map(|der| self.cert_marker(der))
                    .unwrap_or_else(|| format!("{REDACTED_CERT_PREFIX}cert-?"));
                let label = marker.trim_start_matches(REDACTED_CERT_PREFIX).to_string();
                ec2.chain.push(match cert {
                    CapturedCert::Parsed(info) => {
                        let mut v = serde_json::to_value(info)?;
                        self.rewrite_value(&mut v, "");
                        let mut info: CertInfo = serde_json::from_value(v)?;
                        info.sha256 = label.clone();
                        info.sha1_thumbprint = label.clone();
                        info.serial = format!("{label} serial");
                        CapturedCert::Parsed(Box::new(info))
                    }
                    CapturedCert::Unparsed { reason } => CapturedCert::Unparsed {
                        reason: self.apply(reason),
                    },
                });
            }
            out.push(ec2);
        }
        Ok(out)
    }
}

#[derive(Debug, Clone, Copy)]
enum WordKind {
    Tenant,
    Org,
    Name,
    Unit,
    Place,
    Serial,
}

/// A certificate as the diagnosis JSON writes it (base64, or its redaction marker): what
/// [`Redactor::cert_marker`] numbers, so that the typed diagnosis and its JSON get the same markers.
fn json_text(der: &[u8]) -> String {
    match crate::encoding::redacted_label(der) {
        Some(label) => format!("{REDACTED_CERT_PREFIX}{label}"),
        None => data_encoding::BASE64.encode(der),
    }
}

/// `250-mail.contoso.com` -> `mail.contoso.com`: the reply code of an SMTP continuation line is no label.
fn smtp_continuation(word: &str) -> &str {
    let b = word.as_bytes();
    if b.len() > 4 && b[..3].iter().all(u8::is_ascii_digit) && b[3] == b'-' {
        &word[4..]
    } else {
        word
    }
}

fn hexish(c: u8) -> bool {
    c.is_ascii_hexdigit() || c == b':' || c == b'.'
}

fn bounded(b: &[u8], start: usize, end: usize, boundary: Boundary) -> bool {
    // An SMTP continuation line (`250-name`) starts a name after its code.
    let continuation = start == 4 && b[..3].iter().all(u8::is_ascii_digit) && b[3] == b'-';
    let prev = if continuation {
        None
    } else {
        start.checked_sub(1).map(|i| b[i])
    };
    let next = b.get(end).copied();
    let after_next = b.get(end + 1).copied();
    match boundary {
        Boundary::Raw => true,
        Boundary::Name => !prev.is_some_and(is_label_byte) && !next.is_some_and(is_label_byte),
        Boundary::Word => {
            !prev.is_some_and(|c| c.is_ascii_alphanumeric())
                && !next.is_some_and(|c| c.is_ascii_alphanumeric())
        }
        Boundary::Ipv4 => {
            let inside_number = prev.is_some_and(|c| c.is_ascii_alphanumeric() || c == b'.')
                || next.is_some_and(|c| c.is_ascii_alphanumeric())
                || (next == Some(b'.') && after_next.is_some_and(|c| c.is_ascii_digit()));
            !inside_number
        }
        Boundary::Ipv6 => {
            let prev_ok = match prev {
                None => true,
                // After a tag such as `ip6:` (a word with a letter that is no hex digit).
                Some(b':') => {
                    let colon = start - 1;
                    let mut j = colon;
                    while j > 0 && b[j - 1].is_ascii_alphanumeric() {
                        j -= 1;
                    }
                    let tag = &b[j..colon];
                    tag.iter()
                        .any(|c| c.is_ascii_alphabetic() && !c.is_ascii_hexdigit())
                        && (j == 0 || !hexish(b[j - 1]))
                }
                Some(c) => !hexish(c),
            };
            prev_ok && !next.is_some_and(hexish)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn redactor(names: &[&str], ips: &[&str], domains: &[&str]) -> Redactor {
        let mut r = Redactor::default();
        for d in domains {
            r.add_domain(d);
        }
        for n in names {
            r.add_name(n);
        }
        for ip in ips {
            r.add_ip(ip.parse().unwrap());
        }
        r.build();
        r
    }

    #[test]
    fn hosts_get_placeholders_under_their_domain_placeholder() {
        let r = redactor(
            &["mail.contoso.com", "EX01.contoso.com", "dc1.corp.fabrikam.local"],
            &[],
            &["contoso.com"],
        );
        assert_eq!(
            r.apply("220 MAIL.CONTOSO.COM ready"),
            "220 host-1.domain-1.example ready"
        );
        assert_eq!(
            r.apply("ex01.contoso.com:25 and contoso.com."),
            "host-2.domain-1.example:25 and domain-1.example."
        );
        assert_eq!(r.apply("dc1.corp.fabrikam.local"), "host-3.domain-2.example");
        // Not inside longer labels.
        assert_eq!(
            r.apply("notcontoso.com mail.contoso.community"),
            "notcontoso.com mail.contoso.community"
        );
        // Wildcards keep their star.
        assert_eq!(r.apply("DNS:*.contoso.com"), "DNS:*.domain-1.example");
    }

    #[test]
    fn microsoft_names_stay_and_tenant_names_keep_the_suffix() {
        let mut r = Redactor::default();
        r.add_word("contoso", WordKind::Tenant);
        r.add_domain("contoso.com");
        assert_eq!(r.add_name("mail.protection.outlook.com"), None);
        assert_eq!(r.add_name("spf.protection.outlook.com"), None);
        assert_eq!(
            r.add_name("contoso-com.mail.protection.outlook.com").as_deref(),
            Some("tenant-1.mail.protection.outlook.com")
        );
        assert_eq!(
            r.add_name("contoso.mail.onmicrosoft.com").as_deref(),
            Some("tenant-1.mail.onmicrosoft.com")
        );
        assert_eq!(
            r.add_name("fabrikam.onmicrosoft.com").as_deref(),
            Some("tenant-2.onmicrosoft.com")
        );
        assert_eq!(
            r.add_name("fabrikam.mail.onmicrosoft.com").as_deref(),
            Some("tenant-2.mail.onmicrosoft.com"),
            "one placeholder per tenant"
        );
        assert_eq!(
            r.add_name("selector1-contoso-com._domainkey.contoso.onmicrosoft.com")
                .as_deref(),
            Some("selector1-tenant-1._domainkey.tenant-1.onmicrosoft.com")
        );
        r.build();
        assert_eq!(r.apply("Contoso hybrid"), "tenant-1 hybrid");
        assert_eq!(
            r.apply("include:spf.protection.outlook.com"),
            "include:spf.protection.outlook.com"
        );
    }

    #[test]
    fn addresses_are_replaced_with_documentation_addresses() {
        let r = redactor(&[], &["127.0.0.1", "10.1.2.3", "::1", "fe80::1"], &[]);
        assert_eq!(
            r.apply("Connected to 127.0.0.1:2525"),
            "Connected to 192.0.2.1:2525"
        );
        assert_eq!(
            r.apply("Hello [10.1.2.3] and 110.1.2.3 and 10.1.2.30"),
            "Hello [192.0.2.2] and 110.1.2.3 and 10.1.2.30"
        );
        assert_eq!(
            r.apply("[::1]:25 fe80::1%eth0"),
            "[2001:db8::1]:25 2001:db8::2%eth0"
        );
        // Not inside an OID.
        assert_eq!(r.apply("1.127.0.0.1.5"), "1.127.0.0.1.5");
    }

    #[test]
    fn scanning_finds_names_addresses_and_emails_in_free_text() {
        let mut r = Redactor::default();
        r.add_domain("contoso.com");
        r.scan("250-edge01.contoso.com Hello [203.0.113.9] postmaster@contoso.com smtp.banner tls.cert.name $cert.Thumbprint", true);
        r.scan("v=spf1 ip4:10.20.30.0/24 ip6:2001:db8:77::5 -all; A7:AC:B2:34:42:EB:C6:B9:85:DB:51:71:17:B6:7E:EF 2.5.29.37.1", true);
        r.build();
        let d = r.dictionary();
        assert!(d.contains_key("edge01.contoso.com"), "{d:?}");
        assert!(d.contains_key("203.0.113.9"), "{d:?}");
        assert!(d.contains_key("postmaster@contoso.com"), "{d:?}");
        assert!(
            d.contains_key("10.20.30.0") && d.contains_key("2001:db8:77::5"),
            "{d:?}"
        );
        assert_eq!(
            d.values().filter(|p| p.starts_with("2001:db8::")).count(),
            1,
            "a fingerprint is no address: {d:?}"
        );
        assert!(
            !d.keys()
                .any(|k| k.contains("banner") || k.contains("thumbprint") || k.contains("cert.name")),
            "{d:?}"
        );
        assert_eq!(
            r.apply("mail to POSTMASTER@contoso.com"),
            "mail to user-1@domain-1.example"
        );
        assert_eq!(
            r.apply("250-edge01.contoso.com Hello"),
            "250-host-1.domain-1.example Hello"
        );
    }

    #[test]
    fn one_pass_never_rewrites_a_placeholder() {
        // A real address that equals another value's placeholder must not be replaced twice.
        let r = redactor(&[], &["10.0.0.1", "192.0.2.1"], &[]);
        assert_eq!(r.apply("10.0.0.1 192.0.2.1"), "192.0.2.1 192.0.2.2");
    }

    #[test]
    fn certificate_names_and_stop_words() {
        let mut r = Redactor::default();
        r.add_certificate_name("<I>CN=Contoso Issuing CA, O=Contoso Ltd, C=US<S>CN=mail.contoso.com");
        r.add_word("mail", WordKind::Org);
        r.build();
        let d = r.dictionary();
        assert_eq!(d.get("contoso ltd"), Some(&"org-1"));
        assert_eq!(d.get("contoso issuing ca"), Some(&"name-1"));
        assert!(d.contains_key("mail.contoso.com"));
        assert!(!d.contains_key("us") && !d.contains_key("mail"));
    }
}
