//! SPF (RFC 7208), pure: parse a record and evaluate it for an IP address over DNS answers that were
//! gathered beforehand (see [`crate::probe::dns`]), so that the judgement needs no network.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::dns::{DnsAnswer, DnsOutcome, RecordType};

/// RFC 7208 4.6.4: at most 10 terms that cause DNS queries.
pub const MAX_LOOKUPS: usize = 10;

/// The result of an evaluation (RFC 7208 2.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SpfResult {
    /// The address is authorised.
    Pass,
    /// Explicitly not authorised (`-`).
    Fail,
    /// Probably not authorised (`~`).
    SoftFail,
    /// No assertion (`?`, or no match without `all`).
    Neutral,
    /// No SPF record.
    None,
    /// The record is broken (syntax, two records, too many lookups).
    PermError,
    /// A DNS answer needed is missing or failed.
    TempError,
}

/// A qualifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Qualifier {
    /// `+`.
    Pass,
    /// `-`.
    Fail,
    /// `~`.
    SoftFail,
    /// `?`.
    Neutral,
}

impl Qualifier {
    fn result(self) -> SpfResult {
        match self {
            Qualifier::Pass => SpfResult::Pass,
            Qualifier::Fail => SpfResult::Fail,
            Qualifier::SoftFail => SpfResult::SoftFail,
            Qualifier::Neutral => SpfResult::Neutral,
        }
    }
}

/// A mechanism.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mechanism {
    /// `all`.
    All,
    /// `include:domain`.
    Include(String),
    /// `a[:domain][/cidr]`.
    A(Option<String>, Option<u8>, Option<u8>),
    /// `mx[:domain][/cidr]`.
    Mx(Option<String>, Option<u8>, Option<u8>),
    /// `ptr[:domain]` (deprecated; evaluated as no match).
    Ptr(Option<String>),
    /// `ip4:net[/cidr]` / `ip6:net[/cidr]`.
    Ip(IpAddr, u8),
    /// `exists:domain`.
    Exists(String),
}

/// Why the text of a record does not parse (a permerror, RFC 7208 4.6): the term and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParseError {
    /// The text is not an SPF record.
    #[error("does not start with v=spf1")]
    NotSpf,
    /// `include` or `exists` without a domain.
    #[error("{term}: {mechanism} needs a domain")]
    MissingDomain {
        /// The term as written.
        term: String,
        /// `include` or `exists`.
        mechanism: &'static str,
    },
    /// `a` or `mx` with a CIDR length out of range.
    #[error("{term}: bad CIDR length")]
    BadCidr {
        /// The term as written.
        term: String,
    },
    /// `ip4`/`ip6` without an address.
    #[error("{term}: needs an address")]
    MissingAddress {
        /// The term as written.
        term: String,
    },
    /// `ip4`/`ip6` with a prefix length that is no number.
    #[error("{term}: bad prefix length")]
    BadPrefix {
        /// The term as written.
        term: String,
    },
    /// `ip4`/`ip6` with something that is no IP address.
    #[error("{term}: {address:?} is not an IP address")]
    BadAddress {
        /// The term as written.
        term: String,
        /// What stood where the address belongs.
        address: String,
    },
    /// `ip4` with an IPv6 address (or the reverse), or a prefix longer than the address.
    #[error("{term}: bad network")]
    BadNetwork {
        /// The term as written.
        term: String,
    },
    /// A mechanism RFC 7208 does not define.
    #[error("{term}: unknown mechanism")]
    UnknownMechanism {
        /// The term as written.
        term: String,
    },
}

/// Why an SPF question cannot be answered from the DNS answers gathered (a temperror, RFC 7208 4.4).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LookupError {
    /// The probes did not look this up (the evaluation needed more than they gathered).
    #[error("no {rtype} answer for {name} was gathered")]
    NotGathered {
        /// The name asked for.
        name: String,
        /// The record type.
        rtype: RecordType,
    },
    /// The lookup failed (timeout, SERVFAIL, ...).
    #[error("{rtype} {name}: {outcome}")]
    Failed {
        /// The name asked for.
        name: String,
        /// The record type.
        rtype: RecordType,
        /// What came back.
        outcome: DnsOutcome,
    },
}

/// A parsed record.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Record {
    /// Mechanisms with their qualifiers, in order.
    pub terms: Vec<(Qualifier, Mechanism)>,
    /// The `redirect=` modifier.
    pub redirect: Option<String>,
    /// Whether a macro (`%{...}`) appears: such records are not evaluated.
    pub has_macros: bool,
}

/// Parse the text of a `v=spf1` record.
///
/// # Errors
/// The first term that does not parse, and why.
pub fn parse(text: &str) -> Result<Record, ParseError> {
    let mut words = text.split_ascii_whitespace();
    if !words.next().is_some_and(|v| v.eq_ignore_ascii_case("v=spf1")) {
        return Err(ParseError::NotSpf);
    }
    let mut record = Record::default();
    for word in words {
        if word.contains('%') {
            record.has_macros = true;
        }
        let lower = word.to_ascii_lowercase();
        if let Some(target) = lower.strip_prefix("redirect=") {
            record.redirect = Some(target.to_string());
            continue;
        }
        if lower.starts_with("exp=") || (lower.contains('=') && !lower.contains(':')) {
            continue; // exp= and unknown modifiers are ignored (RFC 7208 6)
        }
        let (qualifier, rest) = match lower.chars().next() {
            Some('+') => (Qualifier::Pass, &lower[1..]),
            Some('-') => (Qualifier::Fail, &lower[1..]),
            Some('~') => (Qualifier::SoftFail, &lower[1..]),
            Some('?') => (Qualifier::Neutral, &lower[1..]),
            _ => (Qualifier::Pass, &lower[..]),
        };
        let (name, arg) = match rest.find([':', '/']) {
            Some(i) => (&rest[..i], Some(&rest[i..])),
            None => (rest, None),
        };
        let term = || word.to_string();
        let mechanism = match name {
            "all" if arg.is_none() => Mechanism::All,
            "include" => Mechanism::Include(domain_arg(arg).ok_or_else(|| ParseError::MissingDomain {
                term: term(),
                mechanism: "include",
            })?),
            "exists" => Mechanism::Exists(domain_arg(arg).ok_or_else(|| ParseError::MissingDomain {
                term: term(),
                mechanism: "exists",
            })?),
            "ptr" => Mechanism::Ptr(domain_arg(arg)),
            "a" | "mx" => {
                let (domain, v4, v6) =
                    domain_cidr(arg).ok_or_else(|| ParseError::BadCidr { term: term() })?;
                if name == "a" {
                    Mechanism::A(domain, v4, v6)
                } else {
                    Mechanism::Mx(domain, v4, v6)
                }
            }
            "ip4" | "ip6" => {
                let spec = arg
                    .and_then(|a| a.strip_prefix(':'))
                    .ok_or_else(|| ParseError::MissingAddress { term: term() })?;
                let (addr, len) = match spec.split_once('/') {
                    Some((a, l)) => (
                        a,
                        Some(
                            l.parse::<u8>()
                                .map_err(|_| ParseError::BadPrefix { term: term() })?,
                        ),
                    ),
                    None => (spec, None),
                };
                let ip: IpAddr = addr.parse().map_err(|_| ParseError::BadAddress {
                    term: term(),
                    address: addr.to_string(),
                })?;
                let max = if ip.is_ipv4() { 32 } else { 128 };
                let len = len.unwrap_or(max);
                if len > max || (name == "ip4") != ip.is_ipv4() {
                    return Err(ParseError::BadNetwork { term: term() });
                }
                Mechanism::Ip(ip, len)
            }
            _ => return Err(ParseError::UnknownMechanism { term: term() }),
        };
        record.terms.push((qualifier, mechanism));
    }
    Ok(record)
}

fn domain_arg(arg: Option<&str>) -> Option<String> {
    let d = arg?.strip_prefix(':')?;
    (!d.is_empty()).then(|| d.to_string())
}

#[allow(clippy::type_complexity)]
fn domain_cidr(arg: Option<&str>) -> Option<(Option<String>, Option<u8>, Option<u8>)> {
    let Some(arg) = arg else {
        return Some((None, None, None));
    };
    let (domain, cidr) = match arg.strip_prefix(':') {
        Some(rest) => match rest.find('/') {
            Some(i) => (Some(rest[..i].to_string()), &rest[i..]),
            None => (Some(rest.to_string()), ""),
        },
        None => (None, arg),
    };
    let (v4_text, v6_text) = match cidr.split_once("//") {
        Some((v4, v6)) => (v4, Some(v6)),
        None => (cidr, None),
    };
    let v4 = match v4_text.strip_prefix('/') {
        Some(p) => Some(p.parse().ok().filter(|n| *n <= 32)?),
        None if v4_text.is_empty() => None,
        None => return None,
    };
    let v6 = match v6_text {
        Some(p) => Some(p.parse().ok().filter(|n| *n <= 128)?),
        None => None,
    };
    Some((domain, v4, v6))
}

/// The outcome of an evaluation, with how it was reached.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpfEvaluation {
    /// The result.
    pub result: SpfResult,
    /// The term that decided it.
    pub matched: Option<String>,
    /// What was looked at, in order.
    pub trace: Vec<String>,
    /// DNS-querying terms used.
    pub lookups: usize,
}

/// Look up an answer gathered earlier.
pub type Lookup<'a> = dyn Fn(&str, RecordType) -> Option<&'a DnsAnswer> + 'a;

/// The SPF record(s) of `domain` from the answers (none: no record).
///
/// # Errors
/// When the TXT lookup is missing or failed.
pub fn records<'a>(domain: &str, lookup: &Lookup<'a>) -> Result<Vec<String>, LookupError> {
    let answer = gathered(lookup, domain, RecordType::Txt)?;
    if answer.is_failure() {
        return Err(failed(domain, RecordType::Txt, answer));
    }
    Ok(answer
        .txt()
        .into_iter()
        .filter(|t| t.to_ascii_lowercase().starts_with("v=spf1") && (t.len() == 6 || t.as_bytes()[6] == b' '))
        .map(str::to_owned)
        .collect())
}

/// Evaluate SPF for `ip` sending as `domain`.
pub fn evaluate<'a>(domain: &str, ip: IpAddr, lookup: &Lookup<'a>) -> SpfEvaluation {
    let mut eval = SpfEvaluation {
        result: SpfResult::None,
        matched: None,
        trace: Vec::new(),
        lookups: 0,
    };
    eval.result = check_host(domain, ip, lookup, &mut eval, 0);
    eval
}

fn check_host<'a>(
    domain: &str,
    ip: IpAddr,
    lookup: &Lookup<'a>,
    eval: &mut SpfEvaluation,
    depth: usize,
) -> SpfResult {
    if depth > MAX_LOOKUPS {
        return SpfResult::PermError;
    }
    let texts = match records(domain, lookup) {
        Ok(t) => t,
        Err(e) => {
            eval.trace.push(e.to_string());
            return SpfResult::TempError;
        }
    };
    let text = match texts.as_slice() {
        [] => {
            eval.trace.push(format!("{domain}: no SPF record"));
            return SpfResult::None;
        }
        [one] => one,
        _ => {
            eval.trace
                .push(format!("{domain}: {} SPF records (permerror)", texts.len()));
            return SpfResult::PermError;
        }
    };
    eval.trace.push(format!("{domain}: {text}"));
    let record = match parse(text) {
        Ok(r) => r,
        Err(e) => {
            eval.trace.push(format!("{domain}: {e}"));
            return SpfResult::PermError;
        }
    };
    if record.has_macros {
        eval.trace.push(format!("{domain}: macros are not evaluated"));
        return SpfResult::Neutral;
    }
    for (qualifier, mechanism) in &record.terms {
        let counts = matches!(
            mechanism,
            Mechanism::Include(_)
                | Mechanism::A(..)
                | Mechanism::Mx(..)
                | Mechanism::Ptr(_)
                | Mechanism::Exists(_)
        );
        if counts {
            eval.lookups += 1;
            if eval.lookups > MAX_LOOKUPS {
                eval.trace
                    .push("more than 10 DNS-querying terms (permerror)".into());
                return SpfResult::PermError;
            }
        }
        let hit = match mechanism {
            Mechanism::All => Ok(true),
            Mechanism::Ip(net, len) => Ok(in_network(ip, *net, *len)),
            Mechanism::Include(target) => match check_host(target, ip, lookup, eval, depth + 1) {
                SpfResult::Pass => Ok(true),
                SpfResult::Fail | SpfResult::SoftFail | SpfResult::Neutral => Ok(false),
                SpfResult::TempError => return SpfResult::TempError,
                SpfResult::PermError | SpfResult::None => return SpfResult::PermError,
            },
            Mechanism::A(d, v4, v6) => addresses(d.as_deref().unwrap_or(domain), lookup)
                .map(|ips| ips.iter().any(|a| in_network(ip, *a, cidr(*a, *v4, *v6)))),
            Mechanism::Mx(d, v4, v6) => {
                let name = d.as_deref().unwrap_or(domain);
                match lookup(name, RecordType::Mx) {
                    Some(mx) if !mx.is_failure() => {
                        let mut hit = Ok(false);
                        for (_, host) in mx.mx() {
                            match addresses(host, lookup) {
                                Ok(ips) if ips.iter().any(|a| in_network(ip, *a, cidr(*a, *v4, *v6))) => {
                                    hit = Ok(true);
                                    break;
                                }
                                Ok(_) => {}
                                Err(e) => hit = Err(e),
                            }
                        }
                        hit
                    }
                    Some(mx) => Err(failed(name, RecordType::Mx, mx)),
                    None => Err(LookupError::NotGathered {
                        name: name.to_string(),
                        rtype: RecordType::Mx,
                    }),
                }
            }
            Mechanism::Ptr(_) | Mechanism::Exists(_) => Ok(false),
        };
        match hit {
            Ok(true) => {
                if eval.matched.is_none() || !matches!(mechanism, Mechanism::Include(_)) {
                    eval.matched = Some(format!("{domain}: {}", term_text(*qualifier, mechanism)));
                }
                return qualifier.result();
            }
            Ok(false) => {}
            Err(e) => {
                eval.trace.push(e.to_string());
                return SpfResult::TempError;
            }
        }
    }
    if let Some(target) = &record.redirect {
        // redirect= counts towards the limit like the DNS-querying mechanisms (RFC 7208 4.6.4).
        eval.lookups += 1;
        if eval.lookups > MAX_LOOKUPS {
            eval.trace
                .push("more than 10 DNS-querying terms (permerror)".into());
            return SpfResult::PermError;
        }
        return match check_host(target, ip, lookup, eval, depth + 1) {
            SpfResult::None => SpfResult::PermError,
            other => other,
        };
    }
    SpfResult::Neutral
}

fn addresses<'a>(name: &str, lookup: &Lookup<'a>) -> Result<Vec<IpAddr>, LookupError> {
    let mut out = Vec::new();
    for rtype in [RecordType::A, RecordType::Aaaa] {
        match lookup(name, rtype) {
            Some(a) if a.is_timeout() || a.error().is_some() => return Err(failed(name, rtype, a)),
            Some(a) => out.extend(a.ips()),
            None if rtype == RecordType::A => {
                return Err(LookupError::NotGathered {
                    name: name.to_string(),
                    rtype,
                });
            }
            None => {}
        }
    }
    Ok(out)
}

/// The answer for `name`/`rtype`, or that it was not gathered.
fn gathered<'a>(lookup: &Lookup<'a>, name: &str, rtype: RecordType) -> Result<&'a DnsAnswer, LookupError> {
    lookup(name, rtype).ok_or_else(|| LookupError::NotGathered {
        name: name.to_string(),
        rtype,
    })
}

fn failed(name: &str, rtype: RecordType, answer: &DnsAnswer) -> LookupError {
    LookupError::Failed {
        name: name.to_string(),
        rtype,
        outcome: answer.outcome.clone(),
    }
}

fn cidr(addr: IpAddr, v4: Option<u8>, v6: Option<u8>) -> u8 {
    if addr.is_ipv4() {
        v4.unwrap_or(32)
    } else {
        v6.unwrap_or(128)
    }
}

/// Whether `ip` is in the network `net`/`len` (false across families).
pub(crate) fn in_network(ip: IpAddr, net: IpAddr, len: u8) -> bool {
    match (ip, net) {
        (IpAddr::V4(a), IpAddr::V4(n)) => {
            let mask = if len == 0 {
                0
            } else {
                u32::MAX << (32 - u32::from(len.min(32)))
            };
            u32::from(a) & mask == u32::from(n) & mask
        }
        (IpAddr::V6(a), IpAddr::V6(n)) => {
            let mask = if len == 0 {
                0
            } else {
                u128::MAX << (128 - u32::from(len.min(128)))
            };
            u128::from(a) & mask == u128::from(n) & mask
        }
        _ => false,
    }
}

fn term_text(q: Qualifier, m: &Mechanism) -> String {
    let q = match q {
        Qualifier::Pass => "",
        Qualifier::Fail => "-",
        Qualifier::SoftFail => "~",
        Qualifier::Neutral => "?",
    };
    let m = match m {
        Mechanism::All => "all".to_string(),
        Mechanism::Include(d) => format!("include:{d}"),
        Mechanism::A(d, ..) => d.as_ref().map_or("a".into(), |d| format!("a:{d}")),
        Mechanism::Mx(d, ..) => d.as_ref().map_or("mx".into(), |d| format!("mx:{d}")),
        Mechanism::Ptr(_) => "ptr".into(),
        Mechanism::Ip(ip, len) => format!("{}:{ip}/{len}", if ip.is_ipv4() { "ip4" } else { "ip6" }),
        Mechanism::Exists(d) => format!("exists:{d}"),
    };
    format!("{q}{m}")
}

/// Whether the SPF record of `domain` reaches `target` through include:/redirect= (directly or not).
pub fn includes<'a>(domain: &str, target: &str, lookup: &Lookup<'a>) -> bool {
    /// Follows includes and redirects within the whole record's budget of DNS lookups (RFC 7208 4.6.4:
    /// ten, counted over the evaluation, not per branch), each domain once: a record whose includes fan
    /// out into each other cannot make the walk exponential.
    fn walk<'a>(
        domain: &str,
        target: &str,
        lookup: &Lookup<'a>,
        budget: &mut usize,
        seen: &mut Vec<String>,
    ) -> bool {
        let key = domain.to_ascii_lowercase();
        if seen.contains(&key) {
            return false;
        }
        seen.push(key);
        let Ok(texts) = records(domain, lookup) else {
            return false;
        };
        let Some(Ok(record)) = texts.first().map(|t| parse(t)) else {
            return false;
        };
        let nested: Vec<String> = record
            .terms
            .iter()
            .filter_map(|(_, m)| {
                if let Mechanism::Include(d) = m {
                    Some(d.clone())
                } else {
                    None
                }
            })
            .chain(record.redirect.clone())
            .collect();
        if nested.iter().any(|d| d.eq_ignore_ascii_case(target)) {
            return true;
        }
        for d in &nested {
            if *budget == 0 {
                return false;
            }
            *budget -= 1;
            if walk(d, target, lookup, budget, seen) {
                return true;
            }
        }
        false
    }
    let mut budget = MAX_LOOKUPS;
    walk(domain, target, lookup, &mut budget, &mut Vec::new())
}

/// `text` with `include:<include>` added and every other term kept, in order: the include goes before the
/// first `all` mechanism (whatever its qualifier), else before the modifiers (`redirect=`, `exp=`), else at
/// the end. A record that already includes it is returned as it is (spaces normalised).
///
/// ```
/// assert_eq!(
///     mailpath_core::spf::with_include("v=spf1 mx a:smtp.contoso.com ip4:203.0.113.10 ~all", "spf.protection.outlook.com"),
///     "v=spf1 mx a:smtp.contoso.com ip4:203.0.113.10 include:spf.protection.outlook.com ~all"
/// );
/// ```
pub fn with_include(text: &str, include: &str) -> String {
    let words: Vec<&str> = text.split_ascii_whitespace().collect();
    let term = format!("include:{include}");
    let already = words.iter().any(|w| {
        let w = w.trim_start_matches(['+', '-', '~', '?']);
        w.eq_ignore_ascii_case(&term)
    });
    if already || words.is_empty() {
        return words.join(" ");
    }
    let is_all = |w: &str| {
        w.trim_start_matches(['+', '-', '~', '?'])
            .eq_ignore_ascii_case("all")
    };
    let is_modifier = |w: &str| {
        let lower = w.to_ascii_lowercase();
        lower.contains('=') && !lower.contains(':') && !lower.starts_with("v=")
    };
    let at = words[1..]
        .iter()
        .position(|w| is_all(w))
        .or_else(|| words[1..].iter().position(|w| is_modifier(w)))
        .map_or(words.len(), |i| i + 1);
    let mut out: Vec<&str> = words[..at].to_vec();
    out.push(&term);
    out.extend_from_slice(&words[at..]);
    out.join(" ")
}

/// How many DNS-querying terms a whole SPF record holds, includes and redirects followed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LookupCount {
    /// The terms that cause a DNS query (`include`, `a`, `mx`, `ptr`, `exists`, `redirect=`), over the whole
    /// tree: the RFC 7208 4.6.4 limit is [`MAX_LOOKUPS`].
    pub count: usize,
    /// Each counted term, as `domain: term`.
    pub terms: Vec<String>,
    /// Include or redirect targets whose record was not gathered (or did not parse): their own terms are not
    /// counted, so [`LookupCount::count`] is then a lower bound.
    pub unresolved: Vec<String>,
}

/// Counts the DNS-querying terms of `domain`'s SPF record over the whole record: every include and
/// redirect followed, whatever an evaluation for one address would reach. A receiver evaluating an address
/// that is listed late, or not at all, walks this far and returns permerror past [`MAX_LOOKUPS`]
/// (RFC 7208 4.6.4), even when an evaluation for the on-premises address stops early.
pub fn count_lookups<'a>(domain: &str, lookup: &Lookup<'a>) -> LookupCount {
    /// Enough to tell "more than 10" even through loops, and bounded.
    const MAX_COUNTED: usize = 4 * MAX_LOOKUPS;
    fn walk<'a>(domain: &str, lookup: &Lookup<'a>, out: &mut LookupCount, depth: usize) {
        if depth > MAX_LOOKUPS || out.count > MAX_COUNTED {
            return;
        }
        let record = match records(domain, lookup) {
            Ok(texts) => match texts.as_slice() {
                [one] => parse(one).ok(),
                _ => None,
            },
            Err(_) => None,
        };
        let Some(record) = record else {
            if depth > 0 {
                out.unresolved.push(domain.to_string());
            }
            return;
        };
        for (qualifier, mechanism) in &record.terms {
            let target = match mechanism {
                Mechanism::Include(d) => Some(d.clone()),
                Mechanism::A(..) | Mechanism::Mx(..) | Mechanism::Ptr(_) | Mechanism::Exists(_) => None,
                Mechanism::All | Mechanism::Ip(..) => continue,
            };
            out.count += 1;
            out.terms
                .push(format!("{domain}: {}", term_text(*qualifier, mechanism)));
            if let Some(target) = target {
                walk(&target, lookup, out, depth + 1);
            }
        }
        if let Some(target) = &record.redirect {
            out.count += 1;
            out.terms.push(format!("{domain}: redirect={target}"));
            walk(target, lookup, out, depth + 1);
        }
    }
    let mut out = LookupCount::default();
    walk(domain, lookup, &mut out, 0);
    out
}

/// The domains an SPF record makes a resolver look at (include/redirect targets, a/mx domains),
/// for gathering evidence.
pub fn referenced_domains(text: &str, domain: &str) -> (Vec<String>, Vec<String>, Vec<String>) {
    let Ok(record) = parse(text) else {
        return (Vec::new(), Vec::new(), Vec::new());
    };
    let mut txt = Vec::new();
    let mut a = Vec::new();
    let mut mx = Vec::new();
    for (_, m) in &record.terms {
        match m {
            Mechanism::Include(d) => txt.push(d.clone()),
            Mechanism::A(d, ..) => a.push(d.clone().unwrap_or_else(|| domain.to_string())),
            Mechanism::Mx(d, ..) => mx.push(d.clone().unwrap_or_else(|| domain.to_string())),
            _ => {}
        }
    }
    txt.extend(record.redirect);
    (txt, a, mx)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dns::{DnsOutcome, RecordData};

    fn answer(name: &str, rtype: RecordType, data: Vec<RecordData>) -> DnsAnswer {
        DnsAnswer {
            name: name.into(),
            rtype,
            server: "test".into(),
            outcome: if data.is_empty() {
                DnsOutcome::NoData
            } else {
                DnsOutcome::Records(data)
            },
            elapsed_ms: 0,
        }
    }

    fn world() -> Vec<DnsAnswer> {
        vec![
            answer(
                "contoso.com",
                RecordType::Txt,
                vec![RecordData::Txt(
                    "v=spf1 ip4:203.0.113.10 mx include:spf.protection.outlook.com -all".into(),
                )],
            ),
            answer(
                "contoso.com",
                RecordType::Mx,
                vec![RecordData::Mx {
                    preference: 0,
                    exchange: "mx.contoso.com".into(),
                }],
            ),
            answer(
                "mx.contoso.com",
                RecordType::A,
                vec![RecordData::A("198.51.100.7".parse().unwrap())],
            ),
            answer("mx.contoso.com", RecordType::Aaaa, vec![]),
            answer(
                "spf.protection.outlook.com",
                RecordType::Txt,
                vec![RecordData::Txt(
                    "v=spf1 ip4:40.92.0.0/15 ip6:2a01:111:f400::/48 -all".into(),
                )],
            ),
            answer(
                "soft.example",
                RecordType::Txt,
                vec![RecordData::Txt("v=spf1 ~all".into())],
            ),
            answer(
                "two.example",
                RecordType::Txt,
                vec![
                    RecordData::Txt("v=spf1 -all".into()),
                    RecordData::Txt("v=spf1 +all".into()),
                ],
            ),
            answer(
                "redir.example",
                RecordType::Txt,
                vec![RecordData::Txt("v=spf1 redirect=contoso.com".into())],
            ),
            answer(
                "loop.example",
                RecordType::Txt,
                vec![RecordData::Txt("v=spf1 include:loop.example -all".into())],
            ),
            answer(
                "none.example",
                RecordType::Txt,
                vec![RecordData::Txt("google-site-verification=x".into())],
            ),
        ]
    }

    fn eval(domain: &str, ip: &str) -> SpfEvaluation {
        let w = world();
        let lookup = |n: &str, t: RecordType| w.iter().find(|a| a.name == n && a.rtype == t);
        evaluate(domain, ip.parse().unwrap(), &lookup)
    }

    #[test]
    fn evaluation_table() {
        let cases = [
            ("contoso.com", "203.0.113.10", SpfResult::Pass),
            ("contoso.com", "198.51.100.7", SpfResult::Pass),
            ("contoso.com", "40.93.1.2", SpfResult::Pass),
            ("contoso.com", "2a01:111:f400::1", SpfResult::Pass),
            ("contoso.com", "192.0.2.1", SpfResult::Fail),
            ("soft.example", "192.0.2.1", SpfResult::SoftFail),
            ("two.example", "192.0.2.1", SpfResult::PermError),
            ("redir.example", "203.0.113.10", SpfResult::Pass),
            ("loop.example", "192.0.2.1", SpfResult::PermError),
            ("none.example", "192.0.2.1", SpfResult::None),
            ("missing.example", "192.0.2.1", SpfResult::TempError),
        ];
        for (d, ip, want) in cases {
            let e = eval(d, ip);
            assert_eq!(e.result, want, "{d} {ip}: {:?}", e.trace);
        }
        assert_eq!(
            eval("contoso.com", "40.93.1.2").matched.as_deref(),
            Some("spf.protection.outlook.com: ip4:40.92.0.0/15")
        );
    }

    /// Found by fuzzing (fuzz/fuzz_targets/spf.rs): a `redirect=` beyond the ten DNS-querying terms was
    /// followed instead of ending in permerror, so the count went past the limit and a record over it
    /// could still pass.
    #[test]
    fn a_redirect_past_ten_lookups_is_a_permerror() {
        let mut w = world();
        w.push(answer(
            "ten.example",
            RecordType::Txt,
            vec![RecordData::Txt(format!(
                "v=spf1{} redirect=contoso.com",
                " mx:contoso.com".repeat(10)
            ))],
        ));
        let lookup = |n: &str, t: RecordType| w.iter().find(|a| a.name == n && a.rtype == t);
        let e = evaluate("ten.example", "203.0.113.10".parse().unwrap(), &lookup);
        assert_eq!(e.result, SpfResult::PermError, "{:?}", e.trace);
        assert_eq!(e.lookups, MAX_LOOKUPS + 1);
        // Nine mechanisms and the redirect are within the limit: the redirect decides.
        w.push(answer(
            "nine.example",
            RecordType::Txt,
            vec![RecordData::Txt(format!(
                "v=spf1{} redirect=contoso.com",
                " mx:contoso.com".repeat(9)
            ))],
        ));
        let lookup = |n: &str, t: RecordType| w.iter().find(|a| a.name == n && a.rtype == t);
        let e = evaluate("nine.example", "203.0.113.10".parse().unwrap(), &lookup);
        assert_eq!(e.result, SpfResult::Pass, "{:?}", e.trace);
    }

    #[test]
    fn parse_rejects_bad_terms() {
        assert_eq!(
            parse("v=spf1 ip4:300.1.1.1 -all").map_err(|e| e.to_string()),
            Err("ip4:300.1.1.1: \"300.1.1.1\" is not an IP address".to_string())
        );
        assert_eq!(parse("spf2.0/pra"), Err(ParseError::NotSpf));
        assert_eq!(
            parse("v=spf1 include -all"),
            Err(ParseError::MissingDomain {
                term: "include".into(),
                mechanism: "include"
            })
        );
        assert!(parse("v=spf1 ip4:300.1.1.1 -all").is_err());
        assert!(parse("v=spf1 ip4:10.0.0.0/33").is_err());
        assert!(parse("v=spf1 frobnicate -all").is_err());
        assert!(parse("spf2.0/pra").is_err());
        let r = parse("v=spf1 a:mail.contoso.com/24 mx/24//64 -all exp=explain.contoso.com").unwrap();
        assert_eq!(r.terms.len(), 3);
        assert_eq!(r.terms[1].1, Mechanism::Mx(None, Some(24), Some(64)));
        assert!(
            parse("v=spf1 exists:%{i}.spf.contoso.com -all")
                .unwrap()
                .has_macros
        );
    }

    #[test]
    fn missing_and_failed_lookups_are_typed_with_the_old_words() {
        let none = |_: &str, _: RecordType| None;
        let e = records("contoso.com", &none).unwrap_err();
        assert_eq!(e.to_string(), "no TXT answer for contoso.com was gathered");
        let timeout = DnsAnswer {
            name: "contoso.com".into(),
            rtype: RecordType::Txt,
            server: "test".into(),
            outcome: DnsOutcome::Timeout,
            elapsed_ms: 1,
        };
        let failing = |_: &str, _: RecordType| Some(&timeout);
        let e = records("contoso.com", &failing).unwrap_err();
        assert!(
            matches!(
                &e,
                LookupError::Failed {
                    rtype: RecordType::Txt,
                    ..
                }
            ),
            "{e:?}"
        );
        assert_eq!(e.to_string(), format!("TXT contoso.com: {}", DnsOutcome::Timeout));
    }

    /// A realistic record that keeps `mx`, `a` and several includes (7 lookups), and one that takes 11.
    fn lookup_world() -> Vec<DnsAnswer> {
        let txt = |name: &str, text: &str| answer(name, RecordType::Txt, vec![RecordData::Txt(text.into())]);
        vec![
            txt(
                "contoso.com",
                "v=spf1 mx a include:spf.protection.outlook.com include:_spf.crm.example include:mail.zendesk.example -all",
            ),
            txt("spf.protection.outlook.com", "v=spf1 ip4:40.92.0.0/15 -all"),
            txt(
                "_spf.crm.example",
                "v=spf1 include:_netblocks.crm.example ip4:198.51.100.0/24 ~all",
            ),
            txt("_netblocks.crm.example", "v=spf1 ip4:192.0.2.0/24 -all"),
            txt("mail.zendesk.example", "v=spf1 a:out.zendesk.example -all"),
            txt(
                "fabrikam.com",
                "v=spf1 ip4:203.0.113.10 mx a ptr mx:fabrikam.net a:smtp.fabrikam.com \
                 include:spf.protection.outlook.com include:_spf.crm.example include:mail.zendesk.example \
                 exists:rbl.example -all",
            ),
            txt("loop.example", "v=spf1 include:loop.example -all"),
        ]
    }

    #[test]
    fn lookups_are_counted_over_the_whole_record() {
        let w = lookup_world();
        let lookup = |n: &str, t: RecordType| w.iter().find(|a| a.name == n && a.rtype == t);
        let c = count_lookups("contoso.com", &lookup);
        // mx, a, 3 includes, the crm's nested include, zendesk's a: 7.
        assert_eq!(c.count, 7, "{:#?}", c.terms);
        assert!(c.unresolved.is_empty());
        let f = count_lookups("fabrikam.com", &lookup);
        // mx, a, ptr, mx:, a:, 3 includes (+2 nested lookups inside them), exists: 11.
        assert_eq!(f.count, 11, "{:#?}", f.terms);
        assert!(f.count > MAX_LOOKUPS);
        // An evaluation for the first address stops at its ip4 term after no lookup at all.
        let e = evaluate("fabrikam.com", "203.0.113.10".parse().unwrap(), &lookup);
        assert_eq!((e.result, e.lookups), (SpfResult::Pass, 0));
        // A loop counts past the limit and stops.
        assert!(count_lookups("loop.example", &lookup).count > MAX_LOOKUPS);
        // An include that was not gathered makes the count a lower bound.
        let partial = |n: &str, t: RecordType| {
            w.iter()
                .find(|a| a.name == n && a.rtype == t && a.name != "_spf.crm.example")
        };
        let p = count_lookups("contoso.com", &partial);
        assert_eq!(
            (p.count, p.unresolved.as_slice()),
            (6, &["_spf.crm.example".to_string()][..])
        );
    }

    #[test]
    fn the_include_is_added_and_every_mechanism_kept() {
        let include = "spf.protection.outlook.com";
        let cases = [
            (
                "v=spf1 mx a ip4:203.0.113.10 include:_spf.crm.example -all",
                "v=spf1 mx a ip4:203.0.113.10 include:_spf.crm.example include:spf.protection.outlook.com -all",
            ),
            (
                "v=spf1  mx   ~all",
                "v=spf1 mx include:spf.protection.outlook.com ~all",
            ),
            (
                "v=spf1 mx redirect=_spf.contoso.com",
                "v=spf1 mx include:spf.protection.outlook.com redirect=_spf.contoso.com",
            ),
            ("v=spf1 mx", "v=spf1 mx include:spf.protection.outlook.com"),
            (
                "v=spf1 include:SPF.protection.outlook.com -all",
                "v=spf1 include:SPF.protection.outlook.com -all",
            ),
        ];
        for (record, want) in cases {
            let got = with_include(record, include);
            assert_eq!(got, want);
            let before = parse(record).unwrap();
            let after = parse(&got).unwrap();
            for term in &before.terms {
                assert!(after.terms.contains(term), "{term:?} lost from {got}");
            }
            assert_eq!(after.redirect, before.redirect);
        }
    }

    /// Found by fuzz/fuzz_targets/spf.rs: includes that fan out into each other (every domain including
    /// every later one) made the walk exponential; the whole record's ten lookups bound it now.
    #[test]
    fn includes_that_fan_out_stay_within_ten_lookups() {
        let names: Vec<String> = (0..40).map(|i| format!("d{i}.example")).collect();
        let w: Vec<DnsAnswer> = names
            .iter()
            .enumerate()
            .map(|(i, n)| {
                let includes: String = names[i + 1..].iter().map(|d| format!(" include:{d}")).collect();
                answer(
                    n,
                    RecordType::Txt,
                    vec![RecordData::Txt(format!("v=spf1{includes} -all"))],
                )
            })
            .collect();
        let asked = std::cell::Cell::new(0usize);
        let lookup = |n: &str, t: RecordType| {
            asked.set(asked.get() + 1);
            w.iter().find(|a| a.name == n && a.rtype == t)
        };
        let t0 = std::time::Instant::now();
        assert!(!includes("d0.example", "spf.protection.outlook.com", &lookup));
        assert!(asked.get() <= MAX_LOOKUPS + 1, "{} lookups", asked.get());
        assert!(t0.elapsed() < std::time::Duration::from_secs(1));
        // Within the budget, a deep include is still found.
        assert!(includes("d0.example", "d39.example", &lookup));
    }

    #[test]
    fn includes_follow_chains() {
        let w = world();
        let lookup = |n: &str, t: RecordType| w.iter().find(|a| a.name == n && a.rtype == t);
        assert!(includes("contoso.com", "spf.protection.outlook.com", &lookup));
        assert!(includes("redir.example", "spf.protection.outlook.com", &lookup));
        assert!(!includes("soft.example", "spf.protection.outlook.com", &lookup));
    }
}
