//! Path-validation rules that rustls-webpki does not apply, or applies without saying which certificate
//! broke them: the validity of every CA certificate in the path (the trust anchor included), basicConstraints
//! and keyUsage of issuers and of the leaf, pathLenConstraint, unknown critical extensions (the anchor
//! included), name constraints (on the subject CN too, since Exchange matches it), AKI/SKI, and a leaf
//! without subjectAltName.
//!
//! webpki stays the engine that decides whether a chain verifies (signatures, path building, EKU); this
//! module explains the chain certificate by certificate, as RFC 5280 section 6 and the CA/Browser Forum
//! Baseline Requirements describe it, so that each problem is its own finding. Pure: the chain, the
//! anchors and "now" are given; nothing from the network is unwrapped.

use rustls_pki_types::CertificateDer;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use x509_parser::extensions::{GeneralName, ParsedExtension};
use x509_parser::prelude::{FromDer as _, X509Certificate};

use crate::cert::{CertInfo, Usage, Validity, parse_certificate};

/// The most certificates a path may hold (webpki allows 6 intermediates; a loop ends here too).
const MAX_PATH: usize = 10;

/// Where a certificate stands in the path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    /// The server's (or client's) own certificate.
    Leaf,
    /// A CA certificate between the leaf and the anchor.
    Intermediate,
    /// The trusted root the path ends at.
    Anchor,
}

/// A rule of path validation, one finding (and one check id) each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Rule {
    /// An intermediate or the root is outside its validity period.
    CaValidity,
    /// An issuing certificate is not a CA (basicConstraints).
    CaConstraints,
    /// An issuing certificate's keyUsage does not allow signing certificates.
    CaKeyUsage,
    /// More intermediates below a CA than its pathLenConstraint allows.
    PathLength,
    /// The leaf is a CA certificate, or may sign certificates.
    LeafIsCa,
    /// The leaf's keyUsage does not allow a TLS handshake with its key.
    LeafKeyUsage,
    /// A certificate has a critical extension no verifier knows.
    CriticalExtension,
    /// A name of the leaf is outside a CA's name constraints.
    NameConstraints,
    /// Authority/subject key identifiers missing or not matching.
    KeyIdentifiers,
    /// The leaf has no subjectAltName: its name is only in the subject CN.
    SubjectAltName,
}

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Severity {
    /// A standard says MUST, but Windows (so Exchange and Exchange Online) accepts it.
    Warn,
    /// Reference verifiers and the Windows chain engine reject the chain.
    Fail,
}

/// One problem of one certificate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// The rule broken.
    pub rule: Rule,
    /// How bad.
    pub severity: Severity,
    /// Which certificate, in words: `intermediate CA "CN=Contoso Issuing CA 1"`.
    pub certificate: String,
    /// What is wrong with it, in words.
    pub problem: String,
}

/// One certificate of the path as built.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PathEntry {
    /// Its place.
    pub role: Role,
    /// Its subject.
    pub subject: String,
}

/// The path from the leaf towards an anchor, and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainAnalysis {
    /// Leaf first.
    pub path: Vec<PathEntry>,
    /// Whether the path reached a trust anchor (by name and key identifier; signatures are webpki's).
    pub anchored: bool,
    /// The problems, in path order.
    pub findings: Vec<Finding>,
}

impl ChainAnalysis {
    /// The findings of one rule.
    pub fn of(&self, rule: Rule) -> impl Iterator<Item = &Finding> {
        self.findings.iter().filter(move |f| f.rule == rule)
    }
}

struct Node<'a> {
    role: Role,
    x509: X509Certificate<'a>,
    info: CertInfo,
}

impl Node<'_> {
    fn label(&self) -> String {
        let name = self.info.short_subject();
        match self.role {
            Role::Leaf => format!("the certificate \"{name}\""),
            Role::Intermediate => format!("the intermediate CA \"{name}\""),
            Role::Anchor => format!("the root CA \"{name}\" (trust anchor)"),
        }
    }
}

fn parse(der: &[u8]) -> Option<(X509Certificate<'_>, CertInfo)> {
    let (_, x509) = X509Certificate::from_der(der).ok()?;
    let info = parse_certificate(der).ok()?;
    Some((x509, info))
}

fn same_key(a: &X509Certificate<'_>, b: &X509Certificate<'_>) -> bool {
    a.subject().as_raw() == b.subject().as_raw() && a.public_key().raw == b.public_key().raw
}

fn ski<'a>(c: &X509Certificate<'a>) -> Option<&'a [u8]> {
    c.extensions().iter().find_map(|e| match e.parsed_extension() {
        ParsedExtension::SubjectKeyIdentifier(k) => Some(k.0),
        _ => None,
    })
}

fn aki_key_id<'a>(c: &X509Certificate<'a>) -> Option<Option<&'a [u8]>> {
    c.extensions().iter().find_map(|e| match e.parsed_extension() {
        ParsedExtension::AuthorityKeyIdentifier(a) => Some(a.key_identifier.as_ref().map(|k| k.0)),
        _ => None,
    })
}

fn self_issued(c: &X509Certificate<'_>) -> bool {
    c.subject().as_raw() == c.issuer().as_raw()
}

/// Whether `candidate` may have issued `child` (names equal; key identifiers, when both are there, equal).
fn issues(candidate: &X509Certificate<'_>, child: &X509Certificate<'_>) -> (bool, bool) {
    let named = candidate.subject().as_raw() == child.issuer().as_raw();
    let ids_agree = match (aki_key_id(child).flatten(), ski(candidate)) {
        (Some(aki), Some(ski)) => aki == ski,
        _ => true,
    };
    (named, ids_agree)
}

/// Build the path of `chain` (leaf first, as sent) to one of `anchors` and judge it at `now`, the leaf as
/// a certificate for `usage` (a server's, or a client's as a receiving connector sees it).
pub fn analyse(
    chain: &[CertificateDer<'_>],
    anchors: &[CertificateDer<'_>],
    now: OffsetDateTime,
    usage: Usage,
) -> Option<ChainAnalysis> {
    let leaf_der = chain.first()?;
    let (leaf_x509, leaf_info) = parse(leaf_der)?;
    let sent: Vec<(X509Certificate<'_>, CertInfo)> = chain[1..].iter().filter_map(|d| parse(d)).collect();
    // Only the anchors that may have issued a certificate of the chain are read in full (a system store
    // holds a hundred and more).
    let issuers: Vec<&[u8]> = std::iter::once(&leaf_x509)
        .chain(sent.iter().map(|(c, _)| c))
        .map(|c| c.issuer().as_raw())
        .collect();
    let roots: Vec<(X509Certificate<'_>, CertInfo)> = anchors
        .iter()
        .filter(|d| X509Certificate::from_der(d).is_ok_and(|(_, c)| issuers.contains(&c.subject().as_raw())))
        .filter_map(|d| parse(d))
        .collect();
    let mut nodes = vec![Node {
        role: Role::Leaf,
        x509: leaf_x509,
        info: leaf_info,
    }];
    let mut used = vec![false; sent.len()];
    let mut anchored = false;
    while nodes.len() < MAX_PATH {
        let current = &nodes[nodes.len() - 1].x509;
        if nodes.len() > 1 && self_issued(current) {
            break;
        }
        // An anchor first (the best match: same name and key identifier), then a sent certificate.
        // As path builders do (webpki explores, OpenSSL prefers a current issuer): of the certificates named as
        // the issuer, one whose key identifier agrees, then one valid now, first.
        let pick = |pool: &[(X509Certificate<'_>, CertInfo)], skip: &[bool]| {
            pool.iter()
                .enumerate()
                .filter(|(i, _)| !skip.get(*i).copied().unwrap_or(false))
                .filter_map(|(i, (c, info))| {
                    let (named, ids_agree) = issues(c, current);
                    named.then_some((i, (ids_agree, !info.validity(now).is_invalid())))
                })
                .max_by_key(|(i, score)| (*score, std::cmp::Reverse(*i)))
                .map(|(i, _)| i)
        };
        if let Some(i) = pick(&roots, &[]) {
            let (x509, info) = roots[i].clone();
            nodes.push(Node {
                role: Role::Anchor,
                x509,
                info,
            });
            anchored = true;
            break;
        }
        let Some(i) = pick(&sent, &used) else { break };
        used[i] = true;
        let (x509, info) = sent[i].clone();
        let is_anchor = roots.iter().any(|(r, _)| same_key(r, &x509));
        nodes.push(Node {
            role: if is_anchor {
                Role::Anchor
            } else {
                Role::Intermediate
            },
            x509,
            info,
        });
        if is_anchor {
            anchored = true;
            break;
        }
    }
    let mut findings = Vec::new();
    for (i, node) in nodes.iter().enumerate() {
        let issuer = nodes.get(i + 1);
        judge_node(node, issuer, &nodes[..i], now, usage, &mut findings);
    }
    Some(ChainAnalysis {
        path: nodes
            .iter()
            .map(|n| PathEntry {
                role: n.role,
                subject: n.info.subject.clone(),
            })
            .collect(),
        anchored,
        findings,
    })
}

/// `1 day`, `5 days`, `less than a day`.
pub fn days_words(n: i64) -> String {
    match n {
        0 => "less than a day".into(),
        1 | -1 => "1 day".into(),
        n => format!("{} days", n.abs()),
    }
}

/// Where a certificate stands, in words with the date: `expired 5 days ago (2026-11-27)`,
/// `expired today (2026-12-02)`, `not valid yet: starts in 3 days (2026-12-05)`, `valid until 2027-06-01,
/// 181 days left`.
pub fn validity_words(info: &CertInfo, now: OffsetDateTime) -> String {
    match info.validity(now) {
        Validity::Expired { days: 0 } => format!("expired today ({})", info.not_after.date()),
        Validity::Expired { days } => format!("expired {} ago ({})", days_words(days), info.not_after.date()),
        Validity::NotYetValid { days: 0 } => {
            format!("not valid yet: starts today ({})", info.not_before.date())
        }
        Validity::NotYetValid { days } => {
            format!(
                "not valid yet: starts in {} ({})",
                days_words(days),
                info.not_before.date()
            )
        }
        Validity::Valid { days_left } => {
            format!(
                "valid until {}, {} left",
                info.not_after.date(),
                days_words(days_left)
            )
        }
    }
}

/// The critical extensions a verifier processes (RFC 5280 4.2 and the policy extensions).
const KNOWN_CRITICAL: &[&str] = &[
    "2.5.29.15", // keyUsage
    "2.5.29.17", // subjectAltName
    "2.5.29.19", // basicConstraints
    "2.5.29.30", // nameConstraints
    "2.5.29.32", // certificatePolicies
    "2.5.29.33", // policyMappings
    "2.5.29.36", // policyConstraints
    "2.5.29.37", // extKeyUsage
    "2.5.29.54", // inhibitAnyPolicy
];

fn judge_node(
    node: &Node<'_>,
    issuer: Option<&Node<'_>>,
    below: &[Node<'_>],
    now: OffsetDateTime,
    usage: Usage,
    out: &mut Vec<Finding>,
) {
    let who = node.label();
    let mut add = |rule: Rule, severity: Severity, problem: String| {
        out.push(Finding {
            rule,
            severity,
            certificate: who.clone(),
            problem,
        });
    };
    let c = &node.x509;
    for ext in c.extensions() {
        let oid = ext.oid.to_id_string();
        if ext.critical && !KNOWN_CRITICAL.contains(&oid.as_str()) {
            add(
                Rule::CriticalExtension,
                Severity::Fail,
                format!(
                    "has a critical extension no verifier understands ({oid}); RFC 5280 4.2 requires rejecting it"
                ),
            );
        }
    }
    let bc = c.basic_constraints().ok().flatten();
    let ku = c.key_usage().ok().flatten();
    match node.role {
        Role::Leaf => {
            if bc.as_ref().is_some_and(|b| b.value.ca) {
                add(
                    Rule::LeafIsCa,
                    Severity::Fail,
                    format!(
                        "is a CA certificate (basicConstraints CA=true), not a {} certificate",
                        usage.side()
                    ),
                );
            }
            if let Some(ku) = &ku {
                if ku.value.key_cert_sign() || ku.value.crl_sign() {
                    add(
                        Rule::LeafIsCa,
                        Severity::Fail,
                        "may sign certificates or CRLs (keyUsage keyCertSign/cRLSign), which only a CA certificate may (RFC 5280 4.2.1.3)".into(),
                    );
                }
                // A server may use an RSA key to decrypt the key exchange (keyEncipherment); a client always
                // signs the handshake with it (CertificateVerify, RFC 5246 7.4.8, RFC 8446 4.4.3).
                let rsa = node.info.key.algorithm == "RSA";
                let encipherment_will_do = rsa && usage == Usage::Server;
                let usable =
                    ku.value.digital_signature() || (encipherment_will_do && ku.value.key_encipherment());
                if !usable {
                    let needed = if encipherment_will_do {
                        "digitalSignature or keyEncipherment"
                    } else {
                        "digitalSignature"
                    };
                    let what = match usage {
                        Usage::Server => "its key may not be used in a TLS handshake",
                        Usage::Client => {
                            "its key may not sign the handshake, as a TLS client certificate must"
                        }
                    };
                    add(
                        Rule::LeafKeyUsage,
                        Severity::Fail,
                        format!("has a keyUsage without {needed} ({}): {what}", ku_words(ku.value)),
                    );
                }
            }
            if !node.info.has_san {
                let cn = node.info.common_name.as_deref().unwrap_or("(none)");
                add(
                    Rule::SubjectAltName,
                    Severity::Warn,
                    format!("has no subjectAltName: its only name is the subject CN ({cn})"),
                );
            }
        }
        Role::Intermediate | Role::Anchor => {
            let v = node.info.validity(now);
            if v.is_invalid() {
                add(Rule::CaValidity, Severity::Fail, validity_words(&node.info, now));
            }
            match &bc {
                None if node.role == Role::Anchor && c.version().0 == 0 => add(
                    Rule::CaConstraints,
                    Severity::Warn,
                    "is a version 1 certificate without extensions: it cannot say it is a CA".into(),
                ),
                None => add(
                    Rule::CaConstraints,
                    Severity::Fail,
                    "has no basicConstraints extension, so it is not a CA and may not issue certificates (RFC 5280 4.2.1.9)".into(),
                ),
                Some(b) if !b.value.ca => add(
                    Rule::CaConstraints,
                    Severity::Fail,
                    "is not a CA (basicConstraints CA=false) but issued a certificate of the chain".into(),
                ),
                Some(b) if !b.critical => add(
                    Rule::CaConstraints,
                    Severity::Warn,
                    "marks basicConstraints non-critical; RFC 5280 4.2.1.9 requires it critical in CA certificates".into(),
                ),
                Some(_) => {}
            }
            if let Some(Some(max)) = bc.as_ref().map(|b| b.value.path_len_constraint) {
                let intermediates = below
                    .iter()
                    .filter(|n| n.role == Role::Intermediate && !self_issued(&n.x509))
                    .count();
                if intermediates > max as usize {
                    add(
                        Rule::PathLength,
                        Severity::Fail,
                        format!(
                            "allows {max} intermediate CA(s) below it (pathLenConstraint), but the path has {intermediates}"
                        ),
                    );
                }
            }
            match &ku {
                Some(ku) if !ku.value.key_cert_sign() => add(
                    Rule::CaKeyUsage,
                    Severity::Fail,
                    format!(
                        "has a keyUsage without keyCertSign ({}): it may not sign certificates (RFC 5280 4.2.1.3)",
                        ku_words(ku.value)
                    ),
                ),
                Some(_) => {}
                None if c.version().0 == 0 => {}
                None => add(
                    Rule::CaKeyUsage,
                    Severity::Warn,
                    "has no keyUsage extension; the CA/Browser Forum requires one with keyCertSign in CA certificates".into(),
                ),
            }
            if ski(c).is_none() && c.version().0 > 0 {
                add(
                    Rule::KeyIdentifiers,
                    Severity::Warn,
                    "has no subjectKeyIdentifier (RFC 5280 4.2.1.2 requires it in CA certificates)".into(),
                );
            }
            name_constraints(node, below, &mut add);
        }
    }
    // The authority key identifier of everything but a self-issued certificate.
    if !self_issued(c) && c.version().0 > 0 {
        match (aki_key_id(c), issuer) {
            (None, _) => add(
                Rule::KeyIdentifiers,
                Severity::Warn,
                "has no authorityKeyIdentifier (RFC 5280 4.2.1.1 requires it)".into(),
            ),
            (Some(Some(aki)), Some(parent)) => {
                if let Some(parent_ski) = ski(&parent.x509)
                    && parent_ski != aki
                {
                    add(
                        Rule::KeyIdentifiers,
                        Severity::Fail,
                        format!(
                            "names its issuer's key as {} (authorityKeyIdentifier), but {} has the key identifier {}",
                            data_encoding::HEXUPPER.encode(aki),
                            parent.label(),
                            data_encoding::HEXUPPER.encode(parent_ski)
                        ),
                    );
                }
            }
            _ => {}
        }
    }
}

fn ku_words(ku: &x509_parser::extensions::KeyUsage) -> String {
    let names = [
        (ku.digital_signature(), "digitalSignature"),
        (ku.non_repudiation(), "nonRepudiation"),
        (ku.key_encipherment(), "keyEncipherment"),
        (ku.data_encipherment(), "dataEncipherment"),
        (ku.key_agreement(), "keyAgreement"),
        (ku.key_cert_sign(), "keyCertSign"),
        (ku.crl_sign(), "cRLSign"),
    ];
    let on: Vec<&str> = names.iter().filter(|(b, _)| *b).map(|(_, n)| *n).collect();
    if on.is_empty() {
        "no usage".into()
    } else {
        on.join(", ")
    }
}

/// The names of the leaf a constraint applies to: SAN DNS names (the CN when there are none, as Exchange
/// and OpenSSL then use it) and SAN IP addresses.
fn constrained_names(leaf: &Node<'_>) -> (Vec<String>, Vec<std::net::IpAddr>) {
    let mut dns: Vec<String> = leaf.info.dns_names.clone();
    if dns.is_empty()
        && let Some(cn) = &leaf.info.common_name
        && cn.contains('.')
        && cn.parse::<std::net::IpAddr>().is_err()
    {
        dns.push(cn.clone());
    }
    let ips = leaf
        .info
        .ip_addresses
        .iter()
        .filter_map(|ip| ip.parse().ok())
        .collect();
    (dns, ips)
}

/// RFC 5280 4.2.1.10: `contoso.com` covers itself and every name under it, `.contoso.com` only names
/// under it. A wildcard name is judged by what it could match.
fn dns_within(name: &str, constraint: &str) -> bool {
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    let name = name.strip_prefix("*.").unwrap_or(&name);
    let constraint = constraint.trim_end_matches('.').to_ascii_lowercase();
    if constraint.is_empty() {
        return true;
    }
    if let Some(sub) = constraint.strip_prefix('.') {
        return name.len() > sub.len() && name.ends_with(&format!(".{sub}"));
    }
    name == constraint || name.ends_with(&format!(".{constraint}"))
}

fn ip_within(ip: &std::net::IpAddr, net: &[u8]) -> bool {
    let bytes: Vec<u8> = match ip {
        std::net::IpAddr::V4(a) => a.octets().to_vec(),
        std::net::IpAddr::V6(a) => a.octets().to_vec(),
    };
    if net.len() != bytes.len() * 2 {
        return false;
    }
    let (addr, mask) = net.split_at(bytes.len());
    bytes.iter().zip(addr).zip(mask).all(|((b, a), m)| b & m == a & m)
}

fn name_constraints(node: &Node<'_>, below: &[Node<'_>], add: &mut impl FnMut(Rule, Severity, String)) {
    let Ok(Some(nc)) = node.x509.name_constraints() else {
        return;
    };
    let Some(leaf) = below.first() else { return };
    let (dns, ips) = constrained_names(leaf);
    let permitted = nc.value.permitted_subtrees.as_deref().unwrap_or_default();
    let excluded = nc.value.excluded_subtrees.as_deref().unwrap_or_default();
    let permitted_dns: Vec<&str> = permitted
        .iter()
        .filter_map(|s| match s.base {
            GeneralName::DNSName(d) => Some(d),
            _ => None,
        })
        .collect();
    let permitted_ip: Vec<&[u8]> = permitted
        .iter()
        .filter_map(|s| match s.base {
            GeneralName::IPAddress(n) => Some(n),
            _ => None,
        })
        .collect();
    let cn_note = if leaf.info.dns_names.is_empty() {
        " (the subject CN, which Exchange matches when there is no subjectAltName)"
    } else {
        ""
    };
    for name in &dns {
        if let Some(ex) = excluded.iter().find_map(|s| match s.base {
            GeneralName::DNSName(d) if dns_within(name, d) => Some(d),
            _ => None,
        }) {
            add(
                Rule::NameConstraints,
                Severity::Fail,
                format!("excludes {ex} (nameConstraints), but the certificate names {name}{cn_note}"),
            );
        } else if !permitted_dns.is_empty() && !permitted_dns.iter().any(|p| dns_within(name, p)) {
            add(
                Rule::NameConstraints,
                Severity::Fail,
                format!(
                    "may only issue for {} (nameConstraints), but the certificate names {name}{cn_note}",
                    permitted_dns.join(", ")
                ),
            );
        }
    }
    for ip in &ips {
        let excluded_hit = excluded
            .iter()
            .any(|s| matches!(s.base, GeneralName::IPAddress(n) if ip_within(ip, n)));
        if excluded_hit || (!permitted_ip.is_empty() && !permitted_ip.iter().any(|n| ip_within(ip, n))) {
            add(
                Rule::NameConstraints,
                Severity::Fail,
                format!("does not allow the address {ip} the certificate names (nameConstraints)"),
            );
        }
    }
}

/// A time inside the validity of every certificate `chain` sends (leaf and intermediates), as close to `now`
/// as possible, so that webpki's verdict on the rest is not hidden by an expiry reported elsewhere; `now`
/// when the periods do not overlap.
pub fn judging_time(chain: &[CertificateDer<'_>], now: OffsetDateTime) -> OffsetDateTime {
    let infos: Vec<CertInfo> = chain.iter().filter_map(|c| parse_certificate(c).ok()).collect();
    let (Some(start), Some(end)) = (
        infos.iter().map(|i| i.not_before).max(),
        infos.iter().map(|i| i.not_after).min(),
    ) else {
        return now;
    };
    if start > end {
        return now;
    }
    let margin = time::Duration::hours(1).min((end - start) / 2);
    if now > end {
        end - margin
    } else if now < start {
        start + margin
    } else {
        now
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dns_constraints_follow_rfc_5280() {
        assert!(dns_within("mail.contoso.com", "contoso.com"));
        assert!(dns_within("contoso.com", "contoso.com"));
        assert!(!dns_within("contoso.com", ".contoso.com"));
        assert!(dns_within("a.contoso.com", ".contoso.com"));
        assert!(!dns_within("evilcontoso.com", "contoso.com"));
        assert!(dns_within("*.contoso.com", "contoso.com"));
        assert!(!dns_within("mail.fabrikam.com", "contoso.com"));
    }

    #[test]
    fn ip_constraints_use_the_mask() {
        let ip: std::net::IpAddr = "10.1.2.3".parse().unwrap();
        assert!(ip_within(&ip, &[10, 0, 0, 0, 255, 0, 0, 0]));
        assert!(!ip_within(&ip, &[192, 168, 0, 0, 255, 255, 0, 0]));
        assert!(!ip_within(&ip, &[10, 0, 0, 0]));
    }

    #[test]
    fn dates_and_durations_are_words() {
        let mut info = crate::ca::LabCa::generate(time::macros::datetime!(2026-11-28 12:00 UTC))
            .and_then(|ca| {
                ca.issue(&crate::ca::LeafSpec::server(
                    "m.contoso.com",
                    ["m.contoso.com"],
                    time::macros::datetime!(2026-11-28 12:00 UTC),
                ))
            })
            .map(|l| parse_certificate(&l.leaf).unwrap())
            .unwrap();
        info.not_after = time::macros::datetime!(2026-11-27 00:00 UTC);
        let now = time::macros::datetime!(2026-12-02 08:00 UTC);
        assert_eq!(validity_words(&info, now), "expired 5 days ago (2026-11-27)");
        info.not_after = time::macros::datetime!(2026-12-02 07:00 UTC);
        assert_eq!(validity_words(&info, now), "expired today (2026-12-02)");
        info.not_after = time::macros::datetime!(2026-12-03 09:00 UTC);
        assert_eq!(validity_words(&info, now), "valid until 2026-12-03, 1 day left");
    }

    #[test]
    fn words_have_no_debug_output() {
        let e = rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer);
        let w = crate::cert::verifier_words(&e);
        assert!(
            !w.contains("UnknownIssuer") && w.contains("neither sent nor trusted"),
            "{w}"
        );
    }
}
