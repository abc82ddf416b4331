//! `mailpath headers FILE|-`: the path a message took and how Exchange treated it, from its headers.

use std::io::Write as _;
use std::path::Path;

use anyhow::{Context as _, bail};
use mailpath_core::bounded::{self, Limit};
use mailpath_core::check::Status;
use mailpath_core::headers::{self, HeaderAnalysis, HopRole, TlsSeen};

use crate::Outcome;
use crate::cli::{Format, HeadersArgs};
use crate::output::term_line;

pub fn run(args: &HeadersArgs) -> anyhow::Result<Outcome> {
    // Only the header block is analysed (at most headers::MAX_HEADER_BYTES of it): the start of a large
    // message is enough, its body is never read into memory.
    let (data, _) = if args.file == "-" {
        bounded::read_prefix(std::io::stdin().lock(), Limit::MESSAGE)
            .context("could not read standard input")?
    } else {
        bounded::read_start(Path::new(&args.file), Limit::MESSAGE)
            .with_context(|| format!("could not read {}", args.file))?
    };
    if !headers::looks_like_headers(&data) {
        bail!("{} does not start with header fields (Name: value)", args.file);
    }
    let target = if args.file == "-" {
        "stdin".to_string()
    } else {
        args.file.clone()
    };
    let analysis = headers::analyze(
        &data,
        &headers::Options {
            org_domains: args.org_domains.clone(),
            context: headers::Context::Delivered,
            target,
        },
    );
    let mut out = std::io::stdout().lock();
    match args.format {
        Format::Json => writeln!(out, "{}", serde_json::to_string(&analysis)?)?,
        Format::Text => print_text(&mut out, &analysis)?,
    }
    Ok(match analysis.counts.worst() {
        Status::Fail => Outcome::Failures,
        Status::Warn => Outcome::Warnings,
        _ => Outcome::Passed,
    })
}

fn role(role: HopRole) -> &'static str {
    match role {
        HopRole::OnPremises => "on-premises",
        HopRole::Eop => "EOP",
        HopRole::ExchangeOnline => "Exchange Online",
        HopRole::Other => "other",
    }
}

fn print_text(out: &mut impl std::io::Write, a: &HeaderAnalysis) -> std::io::Result<()> {
    let s = &a.summary;
    for (label, value) in [
        ("Subject", &s.subject),
        ("From", &s.from),
        ("To", &s.to),
        ("Date", &s.date),
        ("Message-ID", &s.message_id),
    ] {
        if let Some(v) = value {
            term_line!(out, "{label:11} {v}")?;
        }
    }
    term_line!(out)?;
    term_line!(out, "Path, oldest hop first:")?;
    if a.hops.is_empty() {
        term_line!(out, "  (no Received fields)")?;
    }
    for h in &a.hops {
        let tls = match h.tls {
            TlsSeen::Yes => h.tls_version.clone().unwrap_or_else(|| "TLS".into()),
            TlsSeen::No => "NO TLS".into(),
            TlsSeen::Unknown => "-".into(),
        };
        let delay = h
            .delay_secs
            .map(|d| format!("{d:+} s"))
            .unwrap_or_else(|| "?".into());
        term_line!(
            out,
            "  {:>2}  {} -> {}  [{}]  {}  {}  {}",
            h.index,
            h.from.as_deref().unwrap_or("?"),
            h.by.as_deref().unwrap_or("?"),
            role(h.role),
            h.with.as_deref().unwrap_or("?"),
            tls,
            delay
        )?;
    }
    if a.hops_dropped > 0 {
        term_line!(out, "  ({} more Received fields not analysed)", a.hops_dropped)?;
    }
    if let Some(total) = a.total_delay_secs {
        term_line!(out, "  total {total} s")?;
    }
    term_line!(out)?;
    let v = &a.verdict;
    term_line!(
        out,
        "Verdict: {}{}",
        v.classification.as_str().to_uppercase(),
        v.basis
            .as_deref()
            .map(|b| format!(" (from {b})"))
            .unwrap_or_default()
    )?;
    for reason in &v.reasons {
        term_line!(out, "  - {reason}")?;
    }
    term_line!(out)?;
    term_line!(out, "Checks:")?;
    for c in &a.checks {
        term_line!(
            out,
            "  {}  {:34} {}",
            crate::output::tag(c.status, false),
            c.id,
            c.summary
        )?;
        if c.status >= Status::Warn {
            out.write_all(crate::output::remediation_text(c, "        ").as_bytes())?;
        }
    }
    term_line!(out, "\n{}", crate::output::summary_line(&a.counts))
}
