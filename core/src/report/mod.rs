//! Diagnostic reports: HTML (one self-contained file with the path diagram), JSON (the diagnosis as
//! is, `mailpath/diagnosis/1`), Markdown (for tickets), redaction, and the comparison of two saved
//! diagnoses.
//!
//! ```no_run
//! # use mailpath_core::report::{Report, ReportOptions};
//! # fn f(diagnosis: &mailpath_core::diagnose::Diagnosis) -> Result<(), mailpath_core::report::ReportError> {
//! let report = Report::new(diagnosis, &ReportOptions { redact: true, ran_on: None })?;
//! report.write(std::path::Path::new("mailpath.html"))?;
//! # Ok(()) }
//! ```

pub mod certs;
pub mod compare;
pub mod html;
pub mod markdown;
pub mod monitor;
pub mod redact;
pub mod svg;
mod tls_scan;

use std::path::{Path, PathBuf};

use time::{OffsetDateTime, UtcOffset};

use crate::cert::Validity;
use crate::check::{Attachment, CheckResult, Status};
use crate::diagnose::{Diagnosis, SCHEMA};
use crate::path::MailPath;
use certs::EndpointCerts;

/// Why a report could not be read, made or written.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// A file could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The file is not JSON.
    #[error("{}: not a mailpath diagnosis: not JSON ({source})", path.display())]
    NotJson {
        /// The file.
        path: PathBuf,
        /// The parser's words.
        source: serde_json::Error,
    },
    /// The file is JSON, but not a diagnosis.
    #[error("{}: not a mailpath diagnosis: {reason}", path.display())]
    NotADiagnosis {
        /// The file.
        path: PathBuf,
        /// What is missing.
        reason: String,
    },
    /// The file is a diagnosis of another schema version.
    #[error("{}: a diagnosis of schema {found:?}; this mailpath reads {SCHEMA:?}", path.display())]
    WrongSchema {
        /// The file.
        path: PathBuf,
        /// The schema it declares.
        found: String,
    },
    /// The file declares the right schema, but does not match it.
    #[error("{}: declares {SCHEMA:?} but does not match it: {source}", path.display())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// The parser's words (with the field).
        source: serde_json::Error,
    },
    /// The report file's extension names no known format.
    #[error("{}: unknown report format (use .html, .json or .md)", path.display())]
    UnknownFormat {
        /// The file.
        path: PathBuf,
    },
    /// Serializing or redacting failed (not expected).
    #[error("could not build the report: {0}")]
    Serialize(#[from] serde_json::Error),
}

/// A report format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// One self-contained HTML file.
    Html,
    /// The diagnosis as JSON (`mailpath/diagnosis/1`).
    Json,
    /// Markdown, for tickets and chat.
    Markdown,
}

impl Format {
    /// The format a file name asks for: `.html`/`.htm`, `.json`, `.md`/`.markdown` (any case).
    ///
    /// # Errors
    /// [`ReportError::UnknownFormat`] for any other extension.
    pub fn from_path(path: &Path) -> Result<Format, ReportError> {
        match path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            Some("html" | "htm") => Ok(Format::Html),
            Some("json") => Ok(Format::Json),
            Some("md" | "markdown") => Ok(Format::Markdown),
            _ => Err(ReportError::UnknownFormat {
                path: path.to_path_buf(),
            }),
        }
    }

    /// `html`, `json` or `markdown`.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Html => "html",
            Format::Json => "json",
            Format::Markdown => "markdown",
        }
    }
}

/// How to make a report.
#[derive(Debug, Clone, Default)]
pub struct ReportOptions {
    /// Replace names and addresses with placeholders ([`redact`]).
    pub redact: bool,
    /// The machine the diagnosis ran on, when known (shown in the summary).
    pub ran_on: Option<String>,
}

/// A diagnosis prepared for rendering: certificates parsed, and redacted when asked.
#[derive(Debug, Clone)]
pub struct Report {
    /// The diagnosis (redacted when [`Report::redacted`]).
    pub diagnosis: Diagnosis,
    /// The certificate chains of the evidence, parsed (and redacted).
    pub certs: Vec<EndpointCerts>,
    /// The machine it ran on.
    pub ran_on: Option<String>,
    /// Whether names and addresses were replaced.
    pub redacted: bool,
}

impl Report {
    /// Prepare `diagnosis`: parse its certificates, and redact everything when `options.redact`.
    ///
    /// # Errors
    /// Only when redaction produces a document that does not deserialize (not expected).
    pub fn new(diagnosis: &Diagnosis, options: &ReportOptions) -> Result<Report, ReportError> {
        let certs = certs::collect(&diagnosis.evidence);
        if !options.redact {
            return Ok(Report {
                diagnosis: diagnosis.clone(),
                certs,
                ran_on: options.ran_on.clone(),
                redacted: false,
            });
        }
        let mut r = redact::Redactor::for_diagnosis(diagnosis, &certs, options.ran_on.as_deref());
        let redacted = r.redact_diagnosis(diagnosis)?;
        let certs = r.redact_certs(&certs, diagnosis)?;
        Ok(Report {
            diagnosis: redacted,
            certs,
            ran_on: options.ran_on.as_deref().map(|h| r.apply(h)),
            redacted: true,
        })
    }

    /// The report as text.
    ///
    /// # Errors
    /// When JSON serialization fails (not expected).
    pub fn render(&self, format: Format) -> Result<String, ReportError> {
        Ok(match format {
            Format::Html => html::render(self),
            Format::Markdown => markdown::render(self),
            Format::Json => {
                let mut s = serde_json::to_string_pretty(&crate::verdict::to_json(&self.diagnosis, false)?)?;
                s.push('\n');
                s
            }
        })
    }

    /// Write the report to `path`, in the format its extension names.
    ///
    /// # Errors
    /// An unknown extension, or the file cannot be written.
    pub fn write(&self, path: &Path) -> Result<Format, ReportError> {
        let format = Format::from_path(path)?;
        let text = self.render(format)?;
        std::fs::write(path, text).map_err(|source| ReportError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Ok(format)
    }
}

/// Read a saved diagnosis (JSON), checking that it is one and of this schema.
///
/// # Errors
/// Unreadable, not JSON, not a diagnosis, another schema, or not matching the schema.
pub fn load(path: &Path) -> Result<Diagnosis, ReportError> {
    let text = crate::bounded::read(path, crate::bounded::Limit::DIAGNOSIS).map_err(|e| ReportError::Io {
        path: path.to_path_buf(),
        source: e.into(),
    })?;
    parse(&text, path)
}

/// Parse a saved diagnosis; `path` names it in errors.
///
/// # Errors
/// As [`load`].
pub fn parse(bytes: &[u8], path: &Path) -> Result<Diagnosis, ReportError> {
    let value: serde_json::Value = serde_json::from_slice(bytes).map_err(|source| ReportError::NotJson {
        path: path.to_path_buf(),
        source,
    })?;
    let Some(obj) = value.as_object() else {
        return Err(ReportError::NotADiagnosis {
            path: path.to_path_buf(),
            reason: "the document is not a JSON object".into(),
        });
    };
    match obj.get("schema") {
        None => {
            return Err(ReportError::NotADiagnosis {
                path: path.to_path_buf(),
                reason: "it has no \"schema\" field".into(),
            });
        }
        Some(serde_json::Value::String(s)) if s == SCHEMA => {}
        Some(serde_json::Value::String(s)) => {
            return Err(ReportError::WrongSchema {
                path: path.to_path_buf(),
                found: s.clone(),
            });
        }
        Some(other) => {
            return Err(ReportError::NotADiagnosis {
                path: path.to_path_buf(),
                reason: format!("its \"schema\" is {other}, not a string"),
            });
        }
    }
    let mut d: Diagnosis = serde_json::from_value(value).map_err(|source| ReportError::Invalid {
        path: path.to_path_buf(),
        source,
    })?;
    // The path's statuses are judgement, the checks are the record: a file saved by an older mailpath
    // (or edited by hand) shows the path this one would draw from the same checks.
    d.path.roll_up(&d.checks);
    Ok(d)
}

/// The checks attached to one node or hop, in path order.
#[derive(Debug, Clone)]
pub struct Group<'a> {
    /// Where.
    pub attachment: Attachment,
    /// A heading (`Hop: Edge Transport -> Exchange Online Protection`).
    pub title: String,
    /// The endpoint, for hops that have one.
    pub endpoint: Option<String>,
    /// Protocol facts of a hop.
    pub facts: Vec<String>,
    /// Whether the hop can be observed from where mailpath ran.
    pub observable: bool,
    /// The checks.
    pub checks: Vec<&'a CheckResult>,
}

impl Group<'_> {
    /// The worst status of its checks (Pass when it has none).
    pub fn status(&self) -> Status {
        self.checks.iter().map(|c| c.status).max().unwrap_or(Status::Pass)
    }

    /// An HTML id for it.
    pub fn anchor(&self) -> String {
        match &self.attachment {
            Attachment::Node(id) => format!("node-{}", slug(id)),
            Attachment::Hop(id) => format!("hop-{}", slug(id)),
            Attachment::None => "unattached".into(),
        }
    }
}

/// Letters, digits and hyphens only (for HTML ids).
pub fn slug(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect()
}

fn node_label(path: &MailPath, id: &str) -> String {
    path.node(id).map_or_else(|| id.to_string(), |n| n.label.clone())
}

/// How a check's attachment reads (`Hop out.edge-eop: Edge Transport -> Exchange Online Protection`).
pub fn attachment_label(path: &MailPath, a: &Attachment) -> String {
    match a {
        Attachment::Node(id) => format!("Node {id}: {}", node_label(path, id)),
        Attachment::Hop(id) => match path.hop(id) {
            Some(h) => format!(
                "Hop {id}: {} \u{2192} {}",
                node_label(path, &h.from),
                node_label(path, &h.to)
            ),
            None => format!("Hop {id}"),
        },
        Attachment::None => "Not on the path".into(),
    }
}

/// The checks grouped by node and hop, in the order the lanes draw them (nodes at their first
/// appearance), then anything not on the drawn path.
pub fn groups(d: &Diagnosis) -> Vec<Group<'_>> {
    let mut order: Vec<Attachment> = Vec::new();
    for lane in &d.path.lanes {
        for (i, n) in lane.nodes.iter().enumerate() {
            let a = Attachment::Node(n.clone());
            if !order.contains(&a) {
                order.push(a);
            }
            if let Some(h) = lane.hops.get(i) {
                let a = Attachment::Hop(h.clone());
                if !order.contains(&a) {
                    order.push(a);
                }
            }
        }
    }
    for n in &d.path.nodes {
        let a = Attachment::Node(n.id.clone());
        if !order.contains(&a) {
            order.push(a);
        }
    }
    for h in &d.path.hops {
        let a = Attachment::Hop(h.id.clone());
        if !order.contains(&a) {
            order.push(a);
        }
    }
    for c in &d.checks {
        if !order.contains(&c.attachment) && c.attachment != Attachment::None {
            order.push(c.attachment.clone());
        }
    }
    order.push(Attachment::None);
    let mut out = Vec::new();
    for a in order {
        let checks: Vec<&CheckResult> = d.checks.iter().filter(|c| c.attachment == a).collect();
        if checks.is_empty() {
            continue;
        }
        let hop = match &a {
            Attachment::Hop(id) => d.path.hop(id),
            _ => None,
        };
        out.push(Group {
            title: attachment_label(&d.path, &a),
            endpoint: hop.and_then(|h| h.endpoint.clone()),
            facts: hop.map(|h| h.facts.clone()).unwrap_or_default(),
            observable: hop.is_none_or(|h| h.observable),
            attachment: a,
            checks,
        });
    }
    out
}

/// The failures and warnings, worst first, then in path order.
pub fn problems(d: &Diagnosis) -> Vec<&CheckResult> {
    let gs = groups(d);
    let mut v: Vec<(usize, &CheckResult)> = Vec::new();
    for (gi, g) in gs.iter().enumerate() {
        v.extend(
            g.checks
                .iter()
                .filter(|c| c.status >= Status::Warn)
                .map(|c| (gi, *c)),
        );
    }
    v.sort_by(|a, b| b.1.status.cmp(&a.1.status).then(a.0.cmp(&b.0)));
    v.into_iter().map(|(_, c)| c).collect()
}

/// A time as `2026-11-28 13:25:46 UTC`.
pub fn format_time(t: OffsetDateTime) -> String {
    let t = t.to_offset(UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02} UTC",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// A date as `2026-11-28`.
pub fn format_date(t: OffsetDateTime) -> String {
    let t = t.to_offset(UtcOffset::UTC);
    format!("{:04}-{:02}-{:02}", t.year(), u8::from(t.month()), t.day())
}

/// Milliseconds as `8 ms` or `1.2 s`.
pub fn format_ms(ms: u64) -> String {
    if ms < 1000 {
        format!("{ms} ms")
    } else {
        format!("{:.1} s", ms as f64 / 1000.0)
    }
}

/// The verdict in words.
pub fn verdict(d: &Diagnosis) -> &'static str {
    if d.cancelled {
        return "cancelled: the results are partial";
    }
    match d.counts.worst() {
        Status::Fail => "mail flow is broken on at least one hop",
        Status::Warn => "mail flows, with warnings",
        Status::Skip => "no problem found, but some checks could not run",
        Status::Info | Status::Pass => "every check passed",
    }
}

/// How a certificate's validity relates to when the diagnosis ran.
/// ([`CertInfo::validity`](crate::cert::CertInfo::validity) in the words of a report read later than it ran.)
pub fn validity_note(c: &crate::cert::CertInfo, at: OffsetDateTime) -> String {
    match c.validity(at) {
        Validity::NotYetValid { days } => format!(
            "not yet valid: becomes valid {} after this run",
            plural(days, "day")
        ),
        Validity::Expired { days } => format!("EXPIRED {} before this run", plural(days, "day")),
        Validity::Valid { days_left } => format!("expires {} after this run", plural(days_left, "day")),
    }
}

fn plural(n: i64, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

#[cfg(test)]
mod tests;
