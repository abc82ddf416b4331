//! `mailpath explain`: read the string an admin holds when hybrid mail fails (an NDR, a queue's
//! LastError, an Exchange Online message trace detail, SMTP protocol log lines), find every SMTP reply
//! and enhanced status code in it and the servers it names, and pin the failure on the mail path: what
//! the code means, the hop it belongs to, the likely causes ranked, the checks that would confirm each
//! cause, and the fix.
//!
//! Three layers, all sans-IO: [`extract`] turns bytes into lines, servers and codes (bounded, escaped);
//! [`catalogue`] is the one table of codes and strings with their sources; [`explain`] matches the
//! findings against the table (a code not in it is explained from the RFC 3463 tables, said as such)
//! and ranks the causes by the evidence in a [`Context`]: a saved or fresh diagnosis, or the
//! configuration checks of a profile. Text with no SMTP reply, no status code and no known error string
//! gets `found: false` and "found no SMTP reply or status code", never a guess.
//!
//! ```
//! use mailpath_core::explain::{Context, explain};
//! let e = explain(b"450 4.4.316 Connection refused [Message=Socket error code 10061]", &Context::default());
//! assert!(e.found);
//! assert_eq!(e.explained[0].status.as_deref(), Some("4.4.316"));
//! assert_eq!(e.explained[0].hops, ["in.eop-edge", "in.eop-mailbox"]);
//! ```

pub mod catalogue;
pub mod extract;
pub mod rfc3463;

use serde::{Deserialize, Serialize};

use crate::check::{Attachment, CheckResult, Status};
use crate::diagnose::Diagnosis;
use crate::profile::Profile;
use catalogue::{Cause, ENTRIES, Entry};
use extract::{Extracted, Finding, InputKind, LogType};
use rfc3463::StatusCode;

/// The schema id of `mailpath explain --format json`.
pub const SCHEMA: &str = "mailpath/explain/1";
/// Other failures listed besides the main one, at most.
pub const MAX_OTHERS: usize = 10;

/// Which way the failing delivery went, as far as the text tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Direction {
    /// On-premises -> Exchange Online (the hop into EOP): an on-premises queue or send log, a refusal
    /// by a Microsoft server.
    ToMicrosoft,
    /// Exchange Online -> on-premises (the hop from EOP): Exchange Online's message trace or NDR about
    /// an on-premises server, an on-premises receive log.
    FromMicrosoft,
    /// The text does not say.
    Unknown,
}

/// Where the evidence to rank causes came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EvidenceSource {
    /// None: causes are in the catalogue's order.
    None,
    /// The configuration checks of a profile (no probes ran).
    Profile,
    /// A saved diagnosis.
    Diagnosis,
    /// A diagnosis run for this explanation (`--run`).
    Run,
}

/// What was explained against: the topology and the check results to rank causes with.
#[derive(Debug, Clone)]
pub struct Context {
    /// Whether the deployment routes hybrid mail through an Edge (`None`: unknown, both topologies).
    pub edge: Option<bool>,
    /// Check results (a diagnosis's, or a profile's configuration checks).
    pub checks: Vec<CheckResult>,
    /// Where they came from.
    pub source: EvidenceSource,
    /// The on-premises host names (to tell which way a failure went).
    pub onprem_names: Vec<String>,
    /// The tenant's cloud: the causes and fixes name its EOP, routing domain and SPF include.
    pub cloud: crate::cloud::Cloud,
}

impl Default for Context {
    fn default() -> Self {
        Context {
            edge: None,
            checks: Vec::new(),
            source: EvidenceSource::None,
            onprem_names: Vec::new(),
            cloud: crate::cloud::Cloud::Commercial,
        }
    }
}

impl Context {
    /// The context of a diagnosis: its topology and every check result.
    pub fn for_diagnosis(d: &Diagnosis, source: EvidenceSource) -> Context {
        Context {
            edge: Some(d.path.node("edge").is_some()),
            checks: d.checks.clone(),
            source,
            onprem_names: onprem_names(&d.profile),
            cloud: d.profile.tenant.cloud,
        }
    }

    /// The context of a profile without probing: its topology and its configuration checks (pure
    /// functions of the profile; the served certificate is not known, so the checks that compare with
    /// it skip).
    pub fn for_profile(profile: &Profile) -> Context {
        let ctx = crate::checks::config::ConfigContext {
            served_certificate: None,
        };
        Context {
            edge: Some(profile.uses_edge()),
            checks: crate::checks::config::config_checks(profile, &ctx),
            source: EvidenceSource::Profile,
            onprem_names: onprem_names(profile),
            cloud: profile.tenant.cloud,
        }
    }
}

fn onprem_names(p: &Profile) -> Vec<String> {
    let mut names: Vec<String> = p.mailboxes.iter().map(|m| m.fqdn.clone()).collect();
    for e in &p.edges {
        names.push(e.fqdn.clone());
        names.push(e.external_fqdn.clone());
    }
    names.extend(p.connectors.send.fqdn.iter().cloned());
    names.extend(p.connectors.exo_outbound.smart_hosts.iter().cloned());
    names.retain(|n| !n.trim().is_empty());
    names
}

/// The whole answer: what was read, what was found, and each failure explained (the main one first).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Explanation {
    /// Always [`SCHEMA`].
    pub schema: String,
    /// What was read.
    pub input: InputSummary,
    /// Whether a failure (a 4xx/5xx reply, a class 4/5 status code, or a catalogued error string) was
    /// found.
    pub found: bool,
    /// One line: the main failure and its verdict, or why nothing was explained.
    pub summary: String,
    /// The server that wrote the report, when the text names it.
    pub reporting_server: Option<String>,
    /// The server that refused, when the text names it.
    pub remote_server: Option<String>,
    /// The remote address, when the text gives one.
    pub remote_ip: Option<String>,
    /// Which way the failing delivery went.
    pub direction: Direction,
    /// The failures, the main one first (at most 1 + [`MAX_OTHERS`]).
    pub explained: Vec<Explained>,
    /// What ranked the causes.
    pub evidence: EvidenceNote,
}

/// What was read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InputSummary {
    /// What kind of text it was.
    pub kind: InputKind,
    /// Bytes read.
    pub bytes: usize,
    /// Whether only part of it was looked at (bounds).
    pub truncated: bool,
    /// The line of the main failure (or the start of the text), bounded and cleaned.
    pub excerpt: String,
}

/// What ranked the causes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EvidenceNote {
    /// Where the evidence came from.
    pub source: EvidenceSource,
    /// Check results it had.
    pub checks: usize,
    /// In words.
    pub note: String,
}

/// One failure explained.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Explained {
    /// As found: `450 4.7.320`, `5.4.14`, or the catalogue's code for an error string.
    pub code: String,
    /// The basic reply code, when the text has one.
    pub reply: Option<u16>,
    /// The enhanced status code, when the text has one.
    pub status: Option<String>,
    /// The text from the code to the end of its clause (bounded, cleaned).
    pub text: String,
    /// Whether the catalogue knows it (otherwise it is explained from the RFC 3463 tables).
    pub catalogued: bool,
    /// The catalogue entry's id.
    pub entry: Option<String>,
    /// A short title.
    pub title: String,
    /// What it means.
    pub meaning: String,
    /// The RFC 3463 class, subject and detail of the status code, in words.
    pub rfc3463: Option<Rfc3463>,
    /// The hops of the mail path it belongs to (of this deployment's topology when known).
    pub hops: Vec<String>,
    /// The likely causes, ranked.
    pub causes: Vec<RankedCause>,
    /// One line: what the evidence says ("This is it: ...").
    pub verdict: String,
    /// Where it is documented.
    pub sources: Vec<String>,
}

/// A status code in RFC 3463's words.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rfc3463 {
    /// The class (`Persistent transient failure: ...`).
    pub class: String,
    /// The subject (`Security or policy status ...`).
    pub subject: String,
    /// The detail, when RFC 3463 (or a later RFC mailpath knows) defines it.
    pub detail: Option<String>,
}

/// How the evidence judged a cause.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CauseVerdict {
    /// A check that confirms it fails: this is it.
    Confirmed,
    /// The input itself names it (a send log's `UnknownCredentials`).
    Named,
    /// A check that confirms it warns.
    Likely,
    /// Nothing observed says yes or no (no evidence, or the checks could not run or are not in it).
    Unverified,
    /// No check can observe it from here (a tenant setting, a directory object).
    NotObservable,
    /// Every check that would confirm it passes.
    RuledOut,
}

impl CauseVerdict {
    /// Lower-case words.
    pub fn as_str(self) -> &'static str {
        match self {
            CauseVerdict::Confirmed => "confirmed",
            CauseVerdict::Named => "named in the input",
            CauseVerdict::Likely => "likely",
            CauseVerdict::Unverified => "unverified",
            CauseVerdict::NotObservable => "not observable",
            CauseVerdict::RuledOut => "ruled out",
        }
    }
}

/// A cause with its rank and the evidence about it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RankedCause {
    /// 1 = most likely.
    pub rank: usize,
    /// The cause.
    pub cause: String,
    /// The check references that would confirm it (`tls.cert.name`, `tls.cert.name@onprem`).
    pub checks: Vec<String>,
    /// What to type.
    pub fix: String,
    /// What the evidence says.
    pub verdict: CauseVerdict,
    /// The check results looked at.
    pub observed: Vec<Observed>,
}

/// A check result looked at for a cause.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Observed {
    /// The check id.
    pub id: String,
    /// Its status.
    pub status: Status,
    /// The hop it is attached to.
    pub hop: Option<String>,
    /// Its target.
    pub target: String,
    /// Its summary.
    pub summary: String,
}

pub use crate::diagnose::Headline;

impl Explanation {
    /// The main failure, when one was found.
    pub fn main(&self) -> Option<&Explained> {
        self.explained.first()
    }

    /// The headline a diagnosis carries, when something was explained.
    pub fn headline(&self) -> Option<Headline> {
        let m = self.main()?;
        Some(Headline {
            input: self.input.excerpt.clone(),
            code: m.code.clone(),
            title: m.title.clone(),
            entry: m.entry.clone(),
            hops: m.hops.clone(),
            verdict: m.verdict.clone(),
        })
    }
}

/// A candidate: a finding (or a line with an error string) and the catalogue entry it matches.
struct Candidate {
    finding: Option<Finding>,
    entry: Option<&'static Entry>,
    line: usize,
    pos: usize,
    specificity: u32,
}

/// Explain `input` in `ctx`. Never fails: text with nothing in it gives `found: false`.
pub fn explain(input: &[u8], ctx: &Context) -> Explanation {
    let x = extract::extract(input);
    let direction = direction(&x, ctx);
    let mut candidates = candidates(&x);
    candidates.sort_by_key(|c| {
        let catalogued = c.entry.is_some_and(|e| !e.wrapper);
        let wrapper = c.entry.is_some_and(|e| e.wrapper);
        (
            std::cmp::Reverse(catalogued),
            std::cmp::Reverse(wrapper),
            std::cmp::Reverse(c.specificity),
            std::cmp::Reverse(c.finding.as_ref().and_then(|f| f.reply).map_or(0, |r| r / 100)),
            c.line,
            c.pos,
        )
    });
    let mut seen: Vec<String> = Vec::new();
    let mut explained = Vec::new();
    let mut main_line = None;
    for c in &candidates {
        let key = c.entry.map_or_else(
            || c.finding.as_ref().map(Finding::code).unwrap_or_default(),
            |e| e.id.to_string(),
        );
        if seen.contains(&key) {
            continue;
        }
        seen.push(key);
        if main_line.is_none() {
            main_line = Some(c.line);
        }
        let mut one = explain_one(c, &x, direction, ctx);
        localize(&mut one, ctx.cloud);
        explained.push(one);
        if explained.len() > MAX_OTHERS {
            break;
        }
    }
    let excerpt = main_line
        .and_then(|l| x.lines.get(l))
        .or_else(|| x.lines.first())
        .map(|l| extract::clean(l.trim(), extract::MAX_TEXT))
        .unwrap_or_default();
    let found = !explained.is_empty();
    let summary = match explained.first() {
        Some(m) => format!("{}: {}. {}", m.code, m.title, m.verdict),
        None if x.findings.iter().any(|f| !f.is_failure()) => {
            "found only successful SMTP replies (2xx), no failure to explain".to_string()
        }
        None => "found no SMTP reply or status code".to_string(),
    };
    Explanation {
        schema: SCHEMA.into(),
        input: InputSummary {
            kind: x.kind.unwrap_or(InputKind::Text),
            bytes: x.bytes,
            truncated: x.truncated,
            excerpt,
        },
        found,
        summary,
        reporting_server: x.reporting_server.clone(),
        remote_server: x.remote_server.clone(),
        remote_ip: x.remote_ip.clone(),
        direction,
        explained,
        evidence: evidence_note(ctx),
    }
}

fn evidence_note(ctx: &Context) -> EvidenceNote {
    let note = match ctx.source {
        EvidenceSource::None => {
            "no evidence: the catalogue's order; give --profile, --lab or --diagnosis to rank by evidence"
                .to_string()
        }
        EvidenceSource::Profile => format!(
            "ranked by the profile's {} configuration checks; no probes ran, add --run to probe the path",
            ctx.checks.len()
        ),
        EvidenceSource::Diagnosis => {
            format!("ranked by the {} checks of the saved diagnosis", ctx.checks.len())
        }
        EvidenceSource::Run => format!(
            "ranked by a diagnosis run now, {} checks; mailpath runs the whole diagnosis, not only the checks of this hop",
            ctx.checks.len()
        ),
    };
    EvidenceNote {
        source: ctx.source,
        checks: ctx.checks.len(),
        note,
    }
}

/// Every failure finding with its best entry, and every line that carries an error string.
fn candidates(x: &Extracted) -> Vec<Candidate> {
    let mut out = Vec::new();
    for f in x.findings.iter().filter(|f| f.is_failure()) {
        let best = ENTRIES
            .iter()
            .filter(|e| !e.codes.is_empty())
            .filter_map(|e| code_match(e, f.status?).map(|exact| (e, exact)))
            .filter(|(e, _)| e.needles.iter().all(|n| x.find_in_line(f.line, n).is_some()))
            .max_by_key(|(e, exact)| (specificity(e, *exact), std::cmp::Reverse(e.id)));
        out.push(Candidate {
            specificity: best.map_or(0, |(e, exact)| specificity(e, exact)),
            entry: best.map(|(e, _)| e),
            finding: Some(f.clone()),
            line: f.line,
            pos: f.pos,
        });
    }
    for n in 0..x.lines.len() {
        for e in ENTRIES.iter().filter(|e| e.codes.is_empty()) {
            if e.needles.iter().all(|needle| x.find_in_line(n, needle).is_some()) {
                let pos = e
                    .needles
                    .first()
                    .and_then(|needle| x.find_in_line(n, needle))
                    .unwrap_or(0);
                out.push(Candidate {
                    finding: None,
                    entry: Some(e),
                    line: n,
                    pos,
                    specificity: specificity(e, false),
                });
            }
        }
    }
    out
}

fn specificity(e: &Entry, exact: bool) -> u32 {
    let needles = u32::try_from(e.needles.len()).unwrap_or(0) * 2;
    let code = if e.codes.is_empty() {
        0
    } else if exact {
        2
    } else {
        1
    };
    needles + code
}

/// Whether entry `e` matches status `s`: `Some(true)` exactly, `Some(false)` by a range.
fn code_match(e: &Entry, s: StatusCode) -> Option<bool> {
    let mut found = None;
    for c in e.codes {
        if let Some((base, hi)) = c.split_once('-') {
            let (Some(lo), Ok(hi)) = (StatusCode::parse(base), hi.parse::<u16>()) else {
                continue;
            };
            if lo.class == s.class && lo.subject == s.subject && (lo.detail..=hi).contains(&s.detail) {
                found = found.or(Some(false));
            }
        } else if StatusCode::parse(c) == Some(s) {
            return Some(true);
        }
    }
    found
}

/// The catalogue's texts of `one` in `cloud`'s names ([`crate::cloud::CloudNames::localize`]).
fn localize(one: &mut Explained, cloud: crate::cloud::Cloud) {
    let names = cloud.names();
    one.meaning = names.localize(&one.meaning);
    for cause in &mut one.causes {
        cause.cause = names.localize(&cause.cause);
        cause.fix = names.localize(&cause.fix);
    }
}

fn is_microsoft(host: &str) -> bool {
    let h = host.to_ascii_lowercase();
    [
        ".outlook.com",
        ".mx.microsoft",
        ".office365.us",
        ".outlook.cn",
        ".onmicrosoft.com",
        ".microsoft.com",
        ".messaging.microsoft.com",
        ".frontbridge.com",
    ]
    .iter()
    .any(|s| h.ends_with(s))
        || h == "outlook.com"
}

/// Which way the failing delivery went, from the servers the text names and the kind of text.
fn direction(x: &Extracted, ctx: &Context) -> Direction {
    let onprem = |h: &str| {
        ctx.onprem_names
            .iter()
            .any(|n| n.eq_ignore_ascii_case(h.trim_end_matches('.')))
    };
    if let Some(remote) = &x.remote_server {
        if is_microsoft(remote) {
            return Direction::ToMicrosoft;
        }
        if onprem(remote) {
            return Direction::FromMicrosoft;
        }
    }
    match x.log_type {
        Some(LogType::Send) => return Direction::ToMicrosoft,
        Some(LogType::Receive) if x.mentions(".outlook.com") => return Direction::FromMicrosoft,
        _ => {}
    }
    let reported_by_microsoft = x.reporting_server.as_deref().is_some_and(is_microsoft);
    if x.remote_server.is_some() && (reported_by_microsoft || x.kind == Some(InputKind::MessageTrace)) {
        // Exchange Online reports a server that is not Microsoft's: its delivery to on-premises failed.
        return Direction::FromMicrosoft;
    }
    if x.kind == Some(InputKind::QueueError)
        && crate::cloud::CLOUDS.iter().any(|c| {
            x.mentions(&format!(".{}", c.routing_domain_suffix)) || x.mentions(&format!(".{}", c.eop_zone))
        })
    {
        return Direction::ToMicrosoft;
    }
    if x.mentions("LastAttemptedServerName") || x.mentions("OutboundProxyTarget") {
        return Direction::FromMicrosoft;
    }
    Direction::Unknown
}

/// The hops of `hops` that fit the direction and the topology (all of them when the filter would
/// leave none).
fn resolve_hops(hops: &[&str], direction: Direction, edge: Option<bool>) -> Vec<String> {
    let mut out: Vec<&str> = hops.to_vec();
    let by_direction: Vec<&str> = out
        .iter()
        .copied()
        .filter(|h| match direction {
            Direction::ToMicrosoft => h.starts_with("out."),
            Direction::FromMicrosoft => h.starts_with("in."),
            Direction::Unknown => true,
        })
        .collect();
    if !by_direction.is_empty() {
        out = by_direction;
    }
    if let Some(edge) = edge {
        let fits: Vec<&str> = out.iter().copied().filter(|h| topology_has(h, edge)).collect();
        if !fits.is_empty() {
            out = fits;
        }
    }
    out.into_iter().map(str::to_string).collect()
}

/// Whether the hop exists in a deployment with (or without) an Edge.
fn topology_has(hop: &str, edge: bool) -> bool {
    if edge {
        !(hop.contains("mailbox-eop") || hop.contains("eop-mailbox"))
    } else {
        !hop.contains("edge")
    }
}

fn explain_one(c: &Candidate, x: &Extracted, direction: Direction, ctx: &Context) -> Explained {
    let f = c.finding.as_ref();
    let status = f.and_then(|f| f.status);
    let rfc = status.map(|s| Rfc3463 {
        class: rfc3463::class_meaning(s.class).to_string(),
        subject: rfc3463::subject_meaning(s.subject).to_string(),
        detail: rfc3463::detail_meaning(s.subject, s.detail).map(str::to_string),
    });
    let line = x.lines.get(c.line).map(String::as_str).unwrap_or_default();
    let text = f.map_or_else(
        || extract::clean(line.trim(), extract::MAX_TEXT),
        |f| f.text.clone(),
    );
    let code = f.map_or_else(
        || c.entry.map(|e| e.code.to_string()).unwrap_or_default(),
        Finding::code,
    );
    let (catalogued, title, meaning, hops, causes, sources) = match c.entry {
        Some(e) => (
            true,
            e.title.to_string(),
            e.meaning.to_string(),
            resolve_hops(e.hops, direction, ctx.edge),
            e.causes.to_vec(),
            e.sources.iter().map(|s| (*s).to_string()).collect(),
        ),
        None => fallback(f, direction, ctx.edge),
    };
    let ranked = rank(&causes, &hops, x, ctx);
    let verdict = verdict(&ranked, &hops, ctx.source);
    Explained {
        code,
        reply: f.and_then(|f| f.reply),
        status: status.map(|s| s.to_string()),
        text,
        catalogued,
        entry: c.entry.map(|e| e.id.to_string()),
        title,
        meaning,
        rfc3463: rfc,
        hops,
        causes: ranked,
        verdict,
        sources,
    }
}

type Fallback = (bool, String, String, Vec<String>, Vec<Cause>, Vec<String>);

/// A code the catalogue does not know: explained from RFC 3463 (and RFC 5321 for a bare reply), with
/// the generic causes of its subject, and said to be.
fn fallback(f: Option<&Finding>, direction: Direction, edge: Option<bool>) -> Fallback {
    const NETWORK: &[Cause] = &[Cause {
        text: "The next hop cannot be reached, resolved or kept connected",
        checks: &["tcp.smtp.reachable", "dns.host.resolves", "smtp.banner"],
        fix: "Get-Queue | fl Identity,NextHopDomain,LastError (on-premises) or the message trace detail (Exchange Online); Test-NetConnection <next hop> -Port 25",
        signal: "",
    }];
    const SECURITY: &[Cause] = &[
        Cause {
            text: "TLS or the certificate failed between the two servers",
            checks: &[
                "smtp.starttls",
                "tls.handshake",
                "tls.cert.name",
                "tls.cert.trusted",
                "tls.cert.validity",
            ],
            fix: "Compare the certificate each side presents with what the connectors expect: Get-ExchangeCertificate | fl Thumbprint,Subject,CertificateDomains,Services,NotAfter; Get-SendConnector | fl Name,TlsCertificateName,TlsDomain; Get-OutboundConnector | fl Name,TlsDomain,TlsSettings",
            signal: "",
        },
        Cause {
            text: "The receiving side's policy refused the sender (attribution, relaying, a restriction)",
            checks: &[
                "config.exo_inbound.certificate_domain@eop",
                "config.receive.capabilities@onprem",
            ],
            fix: "Get-InboundConnector | fl Name,TlsSenderCertificateName,SenderIPAddresses (Exchange Online); Get-ReceiveConnector | fl Name,PermissionGroups,TlsDomainCapabilities (on-premises)",
            signal: "",
        },
    ];
    const PROTOCOL: &[Cause] = &[Cause {
        text: "The SMTP dialogue went wrong: a command the other side refused, possibly mangled by an inspecting device",
        checks: &["smtp.ehlo", "smtp.banner.masked"],
        fix: "Read the protocol log of the session (Set-SendConnector <name> -ProtocolLoggingLevel Verbose; Set-ReceiveConnector <name> -ProtocolLoggingLevel Verbose)",
        signal: "",
    }];
    const SYSTEM: &[Cause] = &[Cause {
        text: "The receiving system is unavailable, full or misconfigured",
        checks: &["smtp.banner"],
        fix: "Get-ServerComponentState <SERVER> | ft Component,State; check the transport event log and the queue database disk",
        signal: "",
    }];
    const OTHER: &[Cause] = &[Cause {
        text: "An addressing, mailbox or content problem: not a property of the mail path mailpath can observe",
        checks: &[],
        fix: "Read the full NDR and the message trace detail for the recipient concerned",
        signal: "",
    }];
    let status = f.and_then(|f| f.status);
    let reply = f.and_then(|f| f.reply);
    let causes = match status.map(|s| s.subject) {
        Some(4) => NETWORK,
        Some(7) => SECURITY,
        Some(5) => PROTOCOL,
        Some(3) => SYSTEM,
        Some(_) => OTHER,
        None => match reply {
            Some(421 | 450 | 451) => NETWORK,
            Some(454 | 530 | 535) => SECURITY,
            Some(500..=504) => PROTOCOL,
            _ => OTHER,
        },
    };
    let title = match status {
        Some(s) => format!(
            "Not in mailpath's catalogue: {} (from RFC 3463)",
            rfc3463::detail_meaning(s.subject, s.detail).unwrap_or(rfc3463::subject_meaning(s.subject))
        ),
        None => format!(
            "Not in mailpath's catalogue: {} (from RFC 5321)",
            reply.map_or("a failure", rfc3463::reply_meaning)
        ),
    };
    let meaning = match status {
        Some(s) => format!(
            "mailpath's catalogue does not know {s}; RFC 3463 says: {}. {}. {}.",
            rfc3463::class_meaning(s.class),
            rfc3463::subject_meaning(s.subject),
            rfc3463::detail_meaning(s.subject, s.detail).map_or_else(
                || format!(
                    "Detail {} is not in RFC 3463's table: only the class and subject say something",
                    s.detail
                ),
                |d| format!("Detail {}: {d}", s.detail)
            )
        ),
        None => format!(
            "mailpath's catalogue does not know this reply and it carries no enhanced status code; RFC 5321 says {}: {}.",
            reply.unwrap_or_default(),
            reply.map_or("a failure", rfc3463::reply_meaning)
        ),
    };
    let hops: &[&str] = match direction {
        Direction::ToMicrosoft => &["out.edge-eop", "out.mailbox-eop"],
        Direction::FromMicrosoft => &["in.eop-edge", "in.eop-mailbox"],
        Direction::Unknown => &[],
    };
    let hops = if hops.is_empty() {
        Vec::new()
    } else {
        resolve_hops(hops, direction, edge)
    };
    let sources = if status.is_some() {
        vec!["https://www.rfc-editor.org/rfc/rfc3463".to_string()]
    } else {
        vec!["https://www.rfc-editor.org/rfc/rfc5321".to_string()]
    };
    (false, title, meaning, hops, causes.to_vec(), sources)
}

/// The check results that speak about a check reference: on its hop(s), else on nodes or nothing.
fn observe(reference: &str, hops: &[String], ctx: &Context) -> Vec<Observed> {
    let (id, side) = catalogue::split_ref(reference);
    let look: Vec<String> = match side {
        Some(side) => side
            .iter()
            .filter(|h| ctx.edge.is_none_or(|edge| topology_has(h, edge)))
            .map(|h| (*h).to_string())
            .collect(),
        None => hops.to_vec(),
    };
    let of = |c: &CheckResult| Observed {
        id: c.id.clone(),
        status: c.status,
        hop: match &c.attachment {
            Attachment::Hop(h) => Some(h.clone()),
            _ => None,
        },
        target: c.target.clone(),
        summary: c.summary.clone(),
    };
    let same = |c: &&CheckResult| c.id == id;
    let on_hops: Vec<Observed> = ctx
        .checks
        .iter()
        .filter(same)
        .filter(|c| matches!(&c.attachment, Attachment::Hop(h) if look.is_empty() || look.contains(h)))
        .map(of)
        .collect();
    if !on_hops.is_empty() {
        return on_hops;
    }
    ctx.checks
        .iter()
        .filter(same)
        .filter(|c| !matches!(c.attachment, Attachment::Hop(_)))
        .map(of)
        .collect()
}

/// Rank causes: confirmed (a failing check), named in the input, likely (a warning), unverified, not
/// observable, ruled out (all checks pass); the catalogue's order within each.
fn rank(causes: &[Cause], hops: &[String], x: &Extracted, ctx: &Context) -> Vec<RankedCause> {
    let mut ranked: Vec<(usize, RankedCause)> = causes
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let observed: Vec<Observed> = c.checks.iter().flat_map(|r| observe(r, hops, ctx)).collect();
            let named = !c.signal.is_empty() && x.mentions(c.signal);
            let verdict = if observed.iter().any(|o| o.status == Status::Fail) {
                CauseVerdict::Confirmed
            } else if named {
                CauseVerdict::Named
            } else if observed.iter().any(|o| o.status == Status::Warn) {
                CauseVerdict::Likely
            } else if !observed.is_empty() && observed.iter().all(|o| o.status == Status::Pass) {
                CauseVerdict::RuledOut
            } else if c.checks.is_empty() {
                CauseVerdict::NotObservable
            } else {
                CauseVerdict::Unverified
            };
            (
                i,
                RankedCause {
                    rank: 0,
                    cause: c.text.to_string(),
                    checks: c.checks.iter().map(|s| (*s).to_string()).collect(),
                    fix: c.fix.to_string(),
                    verdict,
                    observed,
                },
            )
        })
        .collect();
    ranked.sort_by_key(|(i, r)| {
        let order = match r.verdict {
            CauseVerdict::Confirmed => 0,
            CauseVerdict::Named => 1,
            CauseVerdict::Likely => 2,
            CauseVerdict::Unverified | CauseVerdict::NotObservable => 3,
            CauseVerdict::RuledOut => 4,
        };
        (order, *i)
    });
    ranked
        .into_iter()
        .enumerate()
        .map(|(n, (_, mut r))| {
            r.rank = n + 1;
            r
        })
        .collect()
}

fn first_with(r: &RankedCause, status: Status) -> Option<&Observed> {
    r.observed.iter().find(|o| o.status == status)
}

fn at(o: &Observed) -> String {
    match &o.hop {
        Some(h) => format!("{} on {h}", o.id),
        None => format!("{} ({})", o.id, o.target),
    }
}

/// One line: what the evidence says about the causes.
fn verdict(ranked: &[RankedCause], hops: &[String], source: EvidenceSource) -> String {
    let Some(first) = ranked.first() else {
        return "no cause known".into();
    };
    match first.verdict {
        CauseVerdict::Confirmed => {
            let o = first_with(first, Status::Fail);
            format!(
                "This is it: {}{}",
                first.cause,
                o.map(|o| format!(" ({} fails: {})", at(o), o.summary))
                    .unwrap_or_default()
            )
        }
        CauseVerdict::Named => format!("The input names it: {}", first.cause),
        CauseVerdict::Likely => {
            let o = first_with(first, Status::Warn);
            format!(
                "Likely: {}{}",
                first.cause,
                o.map(|o| format!(" ({} warns: {})", at(o), o.summary))
                    .unwrap_or_default()
            )
        }
        _ if source == EvidenceSource::None => format!("Most likely: {}", first.cause),
        _ => {
            let ruled: Vec<String> = ranked
                .iter()
                .filter(|r| r.verdict == CauseVerdict::RuledOut)
                .flat_map(|r| r.observed.iter().map(at))
                .take(4)
                .collect();
            let where_ = if hops.is_empty() {
                "this hop".to_string()
            } else {
                hops.join(", ")
            };
            if first.verdict == CauseVerdict::RuledOut {
                format!(
                    "The checks of {where_} pass ({}): the cause is not one mailpath can see from here; look at the other side's logs and the message trace",
                    ruled.join(", ")
                )
            } else if ruled.is_empty() {
                format!(
                    "Not confirmed by the checks at hand: look first at: {}",
                    first.cause
                )
            } else {
                format!(
                    "Ruled out by passing checks ({}); look next at: {}",
                    ruled.join(", "),
                    first.cause
                )
            }
        }
    }
}

#[cfg(test)]
mod tests;
