//! Compare two saved diagnoses: what got fixed, what broke, what changed (certificates, addresses,
//! banners, TLS, DNS answers, checks that appeared or disappeared).
//!
//! Checks are matched by id, place on the path and target without its port (a lab listens on new ports
//! every run); endpoints by host name (with the port only when one diagnosis probed a host on several
//! ports); DNS answers by name, type and resolver address.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::check::{Attachment, CheckResult, Counts, Status};
use crate::diagnose::Diagnosis;
use crate::evidence::Connect;

use super::certs;
use super::{attachment_label, format_date, format_time};
use crate::cert::CertInfo;

/// The schema id of a comparison.
pub const SCHEMA: &str = "mailpath/compare/1";

/// Which run a comparison side is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunSummary {
    /// The profile's name.
    pub profile: String,
    /// When it started.
    #[serde(with = "time::serde::rfc3339")]
    pub started_at: OffsetDateTime,
    /// The mailpath version.
    pub mailpath_version: String,
    /// Its counts.
    pub counts: Counts,
}

/// A check that changed (or appeared, or disappeared).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckChange {
    /// The check id.
    pub id: String,
    /// Its target (as in the newer run, when present).
    pub target: String,
    /// Where on the path.
    pub place: String,
    /// The status before (none: the check is new).
    pub old: Option<Status>,
    /// The status now (none: the check is gone).
    pub new: Option<Status>,
    /// The summary before.
    pub old_summary: Option<String>,
    /// The summary now.
    pub new_summary: Option<String>,
}

/// One changed fact of an endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FactChange {
    /// The endpoint (`smtp mail.contoso.com`, `ldaps edge01.contoso.com`).
    pub endpoint: String,
    /// What (`addresses`, `banner`, `certificate`, `certificate expiry`, ...).
    pub field: String,
    /// Before (none: not there).
    pub old: Option<String>,
    /// Now (none: not there).
    pub new: Option<String>,
}

/// The comparison of two diagnoses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Comparison {
    /// Always [`SCHEMA`].
    pub schema: String,
    /// The older run.
    pub old: RunSummary,
    /// The newer run.
    pub new: RunSummary,
    /// Whether something broke (the exit code is 2 then).
    pub broke: bool,
    /// Checks that were failing or warning and now pass.
    pub fixed: Vec<CheckChange>,
    /// Checks that now fail or warn and did not before (or got worse), including new failing checks.
    pub broken: Vec<CheckChange>,
    /// Other status changes (for example pass -> skip, fail -> warn).
    pub changed: Vec<CheckChange>,
    /// New checks that do not fail or warn.
    pub added: Vec<CheckChange>,
    /// Checks the newer run does not have.
    pub removed: Vec<CheckChange>,
    /// Endpoint facts that changed: certificates, addresses, banners, STARTTLS, TLS version.
    pub endpoints: Vec<FactChange>,
    /// DNS answers that changed.
    pub dns: Vec<FactChange>,
}

fn summary(d: &Diagnosis) -> RunSummary {
    RunSummary {
        profile: d.profile.name.clone(),
        started_at: d.started_at,
        mailpath_version: d.mailpath_version.clone(),
        counts: d.counts,
    }
}

/// A target without its `host:port` ports: at the end, or before a space or `)` (`EX02\\Default Frontend EX02
/// (ex02.contoso.com:41483)`, `mail.contoso.com:41483 (127.0.0.2)`). An IPv6 address (`::1`) keeps its colons.
fn strip_port(target: &str) -> String {
    let mut out = String::with_capacity(target.len());
    let mut rest = target;
    while let Some(colon) = rest.find(':') {
        let (before, after) = rest.split_at(colon);
        let digits = after[1..].bytes().take_while(u8::is_ascii_digit).count();
        let end = &after[1 + digits..];
        out.push_str(before);
        // The host before the colon: a name, an IPv4 address or a bracketed IPv6 address.
        let host = out.rsplit([' ', '(']).next().unwrap_or_default();
        let is_port = digits > 0
            && (end.is_empty() || end.starts_with(' ') || end.starts_with(')'))
            && !host.is_empty()
            && (!host.contains(':') || host.ends_with(']'));
        if is_port {
            rest = end;
        } else {
            out.push(':');
            rest = &after[1..];
        }
    }
    out.push_str(rest);
    out
}

fn attachment_key(a: &Attachment) -> String {
    match a {
        Attachment::Node(id) => format!("node:{id}"),
        Attachment::Hop(id) => format!("hop:{id}"),
        Attachment::None => "none".into(),
    }
}

fn check_keys(d: &Diagnosis) -> BTreeMap<String, &CheckResult> {
    let mut out = BTreeMap::new();
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for c in &d.checks {
        let base = format!(
            "{}|{}|{}",
            c.id,
            attachment_key(&c.attachment),
            strip_port(&c.target).to_ascii_lowercase()
        );
        let n = seen.entry(base.clone()).or_insert(0);
        *n += 1;
        let key = if *n == 1 { base } else { format!("{base}#{n}") };
        out.insert(key, c);
    }
    out
}

fn problem(s: Status) -> bool {
    s >= Status::Warn
}

/// Compare `old` with `new`.
pub fn compare(old: &Diagnosis, new: &Diagnosis) -> Comparison {
    let mut c = Comparison {
        schema: SCHEMA.into(),
        old: summary(old),
        new: summary(new),
        broke: false,
        fixed: Vec::new(),
        broken: Vec::new(),
        changed: Vec::new(),
        added: Vec::new(),
        removed: Vec::new(),
        endpoints: Vec::new(),
        dns: Vec::new(),
    };
    let ok = check_keys(old);
    let nk = check_keys(new);
    for (key, n) in &nk {
        let o = ok.get(key);
        let change = CheckChange {
            id: n.id.clone(),
            target: n.target.clone(),
            place: attachment_label(&new.path, &n.attachment),
            old: o.map(|o| o.status),
            new: Some(n.status),
            old_summary: o.map(|o| o.summary.clone()),
            new_summary: Some(n.summary.clone()),
        };
        match o {
            None if problem(n.status) => c.broken.push(change),
            None => c.added.push(change),
            Some(o) if o.status == n.status => {}
            Some(o) if problem(n.status) && (!problem(o.status) || n.status > o.status) => {
                c.broken.push(change)
            }
            Some(o) if problem(o.status) && !problem(n.status) && n.status != Status::Skip => {
                c.fixed.push(change)
            }
            Some(_) => c.changed.push(change),
        }
    }
    for (key, o) in &ok {
        if !nk.contains_key(key) {
            c.removed.push(CheckChange {
                id: o.id.clone(),
                target: o.target.clone(),
                place: attachment_label(&old.path, &o.attachment),
                old: Some(o.status),
                new: None,
                old_summary: Some(o.summary.clone()),
                new_summary: None,
            });
        }
    }
    let by_status = |a: &CheckChange, b: &CheckChange| b.new.cmp(&a.new).then_with(|| a.id.cmp(&b.id));
    c.broken.sort_by(by_status);
    c.fixed
        .sort_by(|a, b| b.old.cmp(&a.old).then_with(|| a.id.cmp(&b.id)));
    c.endpoints = diff_facts(&endpoint_facts(old), &endpoint_facts(new));
    c.dns = diff_facts(&dns_facts(old), &dns_facts(new));
    c.broke = !c.broken.is_empty();
    c
}

type Facts = BTreeMap<String, BTreeMap<&'static str, String>>;

fn diff_facts(old: &Facts, new: &Facts) -> Vec<FactChange> {
    let mut out = Vec::new();
    let keys: BTreeSet<&String> = old.keys().chain(new.keys()).collect();
    for k in keys {
        match (old.get(k), new.get(k)) {
            (Some(_), None) => out.push(FactChange {
                endpoint: k.clone(),
                field: "present".into(),
                old: Some("yes".into()),
                new: None,
            }),
            (None, Some(_)) => out.push(FactChange {
                endpoint: k.clone(),
                field: "present".into(),
                old: None,
                new: Some("yes".into()),
            }),
            (Some(o), Some(n)) => {
                let fields: BTreeSet<&&str> = o.keys().chain(n.keys()).collect();
                // Certificate fields in a fixed, readable order first.
                let mut ordered: Vec<&&str> = FIELD_ORDER.iter().filter(|f| fields.contains(f)).collect();
                ordered.extend(fields.iter().filter(|f| !FIELD_ORDER.contains(f)));
                for f in ordered {
                    let (ov, nv) = (o.get(*f), n.get(*f));
                    if ov != nv {
                        out.push(FactChange {
                            endpoint: k.clone(),
                            field: (*f).to_string(),
                            old: ov.cloned(),
                            new: nv.cloned(),
                        });
                    }
                }
            }
            (None, None) => {}
        }
    }
    out
}

const FIELD_ORDER: &[&str] = &[
    "connect",
    "addresses",
    "banner",
    "starttls",
    "tls version",
    "certificate sha256",
    "certificate subject",
    "certificate issuer",
    "certificate names",
    "certificate expiry",
    "answer",
];

fn connect_kind(c: &Connect) -> &'static str {
    match c {
        Connect::Connected { .. } => "connected",
        Connect::Refused { .. } => "refused",
        Connect::TimedOut { .. } => "timed out",
        Connect::Unreachable { .. } => "unreachable",
        Connect::NoAddress { .. } => "no address",
        Connect::Failed { .. } => "failed",
    }
}

fn cert_facts(m: &mut BTreeMap<&'static str, String>, leaf: Option<&CertInfo>) {
    if let Some(l) = leaf {
        m.insert("certificate sha256", l.sha256_colons());
        m.insert("certificate subject", l.subject.clone());
        m.insert("certificate issuer", l.issuer.clone());
        m.insert("certificate names", l.alt_names().join(", "));
        m.insert("certificate expiry", format_date(l.not_after));
    }
}

fn endpoint_facts(d: &Diagnosis) -> Facts {
    let parsed = certs::collect(&d.evidence);
    let leaf = |id: &str| {
        parsed
            .iter()
            .find(|c| c.evidence_id == id)
            .and_then(|c| c.leaf().cloned())
    };
    let mut hosts: BTreeMap<String, usize> = BTreeMap::new();
    for p in &d.evidence.smtp {
        *hosts.entry(p.host.to_ascii_lowercase()).or_insert(0) += 1;
    }
    let mut out = Facts::new();
    for p in &d.evidence.smtp {
        let host = p.host.to_ascii_lowercase();
        let key = if hosts.get(&host).copied().unwrap_or(0) > 1 {
            format!("smtp {host}:{}", p.port)
        } else {
            format!("smtp {host}")
        };
        let mut m = BTreeMap::new();
        m.insert("connect", connect_kind(&p.connect).to_string());
        let addrs: BTreeSet<String> = p.addresses.iter().map(ToString::to_string).collect();
        m.insert("addresses", addrs.into_iter().collect::<Vec<_>>().join(", "));
        if let Some(b) = &p.banner {
            m.insert("banner", format!("{} {}", b.code, normalize_banner(b.first())));
        }
        if p.ehlo.is_some() {
            let offered = p.extensions().iter().any(|e| e == "STARTTLS");
            m.insert(
                "starttls",
                if offered { "offered" } else { "not offered" }.to_string(),
            );
        }
        if let Some(v) = p.tls.as_ref().and_then(|t| t.version.clone()) {
            m.insert("tls version", v);
        }
        cert_facts(&mut m, leaf(&p.id).as_ref());
        out.insert(key, m);
    }
    for p in &d.evidence.tls_ports {
        let mut m = BTreeMap::new();
        m.insert("connect", connect_kind(&p.connect).to_string());
        if let Some(v) = p.tls.as_ref().and_then(|t| t.version.clone()) {
            m.insert("tls version", v);
        }
        cert_facts(&mut m, leaf(&p.id).as_ref());
        out.insert(format!("tls {}", p.host.to_ascii_lowercase()), m);
    }
    out
}

fn dns_facts(d: &Diagnosis) -> Facts {
    let mut out = Facts::new();
    for a in &d.evidence.dns {
        let server = strip_port(&a.server);
        let key = format!("dns {} {} @{server}", a.name, a.rtype);
        let value = if a.records().is_empty() {
            a.outcome.to_string()
        } else {
            let mut recs: Vec<String> = a.records().iter().map(ToString::to_string).collect();
            recs.sort();
            recs.join("; ")
        };
        out.entry(key).or_default().insert("answer", value);
    }
    out
}

/// A banner without the parts that change every connection (Exchange's `ready at <date>`, times,
/// day and month names, time zones).
pub fn normalize_banner(s: &str) -> String {
    let lower = s.to_ascii_lowercase();
    let cut = lower.find(" ready at ").map_or(s.len(), |i| i + " ready".len());
    s[..cut]
        .split_whitespace()
        .filter(|w| !timeish(w))
        .collect::<Vec<_>>()
        .join(" ")
}

fn timeish(w: &str) -> bool {
    let t = w.trim_matches(|c: char| matches!(c, ',' | ';' | '(' | ')' | '[' | ']'));
    if t.is_empty() {
        return false;
    }
    let lower = t.to_ascii_lowercase();
    const NAMES: &[&str] = &[
        "mon", "tue", "wed", "thu", "fri", "sat", "sun", "jan", "feb", "mar", "apr", "may", "jun", "jul",
        "aug", "sep", "oct", "nov", "dec", "utc", "gmt",
    ];
    NAMES.contains(&lower.as_str())
        || t.bytes().all(|b| b.is_ascii_digit())
        || (t.contains(':') && t.bytes().all(|b| b.is_ascii_digit() || b == b':' || b == b'.'))
        || ((t.starts_with('+') || t.starts_with('-'))
            && t.len() == 5
            && t[1..].bytes().all(|b| b.is_ascii_digit()))
}

fn status_word(s: Option<Status>) -> &'static str {
    s.map_or("(none)", |s| s.as_str())
}

/// The comparison as text, for a terminal or a ticket.
pub fn render_text(c: &Comparison) -> String {
    let mut t = String::new();
    let _ = writeln!(
        t,
        "mailpath compare\n  old: {} ({}, {} fail, {} warn, {} pass)\n  new: {} ({}, {} fail, {} warn, {} pass)",
        c.old.profile,
        format_time(c.old.started_at),
        c.old.counts.fail,
        c.old.counts.warn,
        c.old.counts.pass,
        c.new.profile,
        format_time(c.new.started_at),
        c.new.counts.fail,
        c.new.counts.warn,
        c.new.counts.pass
    );
    if c.old.profile != c.new.profile {
        t.push_str("  note: the two diagnoses are of different profiles\n");
    }
    let section = |t: &mut String, title: &str, v: &[CheckChange]| {
        if v.is_empty() {
            return;
        }
        let _ = writeln!(t, "\n{title} ({}):", v.len());
        for ch in v {
            let _ = writeln!(
                t,
                "  {:<5} {:<32} {}  (was {}) {}",
                status_word(ch.new).to_ascii_uppercase(),
                ch.id,
                ch.target,
                status_word(ch.old),
                ch.new_summary
                    .as_deref()
                    .or(ch.old_summary.as_deref())
                    .unwrap_or("")
            );
        }
    };
    section(&mut t, "Broke", &c.broken);
    section(&mut t, "Fixed", &c.fixed);
    section(&mut t, "Changed", &c.changed);
    section(&mut t, "New checks", &c.added);
    section(&mut t, "Checks no longer run", &c.removed);
    for (title, v) in [
        ("Endpoints changed", &c.endpoints),
        ("DNS answers changed", &c.dns),
    ] {
        if v.is_empty() {
            continue;
        }
        // The count is of what is listed: endpoints (or names), each with its changed fields.
        let listed: std::collections::BTreeSet<&str> = v.iter().map(|f| f.endpoint.as_str()).collect();
        let _ = writeln!(t, "\n{title} ({}):", listed.len());
        let mut last = "";
        for f in v {
            if f.endpoint != last {
                let _ = writeln!(t, "  {}", f.endpoint);
                last = &f.endpoint;
            }
            let _ = writeln!(
                t,
                "    {}: {} -> {}",
                f.field,
                f.old.as_deref().unwrap_or("(none)"),
                f.new.as_deref().unwrap_or("(none)")
            );
        }
    }
    let nothing = c.broken.is_empty()
        && c.fixed.is_empty()
        && c.changed.is_empty()
        && c.added.is_empty()
        && c.removed.is_empty()
        && c.endpoints.is_empty()
        && c.dns.is_empty();
    if nothing {
        t.push_str("\nNo differences.\n");
    }
    let _ = writeln!(
        t,
        "\nResult: {}",
        if c.broke {
            "something broke"
        } else {
            "nothing broke"
        }
    );
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn banners_lose_their_timestamps() {
        assert_eq!(
            normalize_banner(
                "mail.contoso.com Microsoft ESMTP MAIL Service ready at Sat, 28 Nov 2026 13:25:46 +0000"
            ),
            "mail.contoso.com Microsoft ESMTP MAIL Service ready"
        );
        assert_eq!(
            normalize_banner("mx.example ESMTP Postfix (Debian/GNU) Tue, 1 Dec 2026 10:00:00 GMT"),
            "mx.example ESMTP Postfix (Debian/GNU)"
        );
        assert_eq!(normalize_banner("*****************"), "*****************");
    }

    #[test]
    fn ports_are_stripped_from_targets_only() {
        assert_eq!(strip_port("mail.contoso.com:41483"), "mail.contoso.com");
        assert_eq!(strip_port("Outbound to Office 365"), "Outbound to Office 365");
        assert_eq!(strip_port("::1"), "::1");
        assert_eq!(strip_port("contoso.com"), "contoso.com");
        assert_eq!(
            strip_port("EX02\\Default Frontend EX02 (ex02.contoso.com:41483)"),
            "EX02\\Default Frontend EX02 (ex02.contoso.com)"
        );
        assert_eq!(
            strip_port("mail.contoso.com:41483 (127.0.0.2)"),
            "mail.contoso.com (127.0.0.2)"
        );
        assert_eq!(strip_port("[::1]:25"), "[::1]");
        assert_eq!(strip_port("2001:db8::25"), "2001:db8::25");
        assert_eq!(strip_port("fe80::1:25"), "fe80::1:25");
    }
}
