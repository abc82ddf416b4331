//! `mailpath cert FILE`: the certificate checks on a chain file, offline.

use std::io::Write as _;

use anyhow::Context as _;
use mailpath_core::cert::Trust;
use mailpath_core::check::{CheckResult, Counts};
use mailpath_core::checks::cert::check_certificate_file;

use crate::Outcome;
use crate::cli::{CertArgs, Format};
use crate::output;

pub fn run(args: &CertArgs) -> anyhow::Result<Outcome> {
    let now = match &args.at {
        Some(text) => time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
            .with_context(|| format!("--at {text:?} is not an RFC 3339 time such as 2026-12-01T00:00:00Z"))?,
        None => time::OffsetDateTime::now_utc(),
    };
    let mut trust = match &args.ca {
        Some(_) => Trust::empty(),
        None => Trust::system().context("could not load the system trust store")?,
    };
    if let Some(ca) = &args.ca {
        trust.add_pem_file(ca).with_context(|| format!("could not load the CA file {}", ca.display()))?;
    }
    let report = check_certificate_file(&args.file, &args.name, &trust, now).map_err(|e| anyhow::anyhow!("{e}"))?;
    let counts = Counts::of(&report.checks);
    let mut out = std::io::stdout().lock();
    match args.format {
        Format::Json => {
            serde_json::to_writer_pretty(&mut out, &report)?;
            writeln!(out)?;
        }
        Format::Text => {
            for (i, c) in report.chain.iter().enumerate() {
                writeln!(out, "[{i}] {}", c.subject)?;
                writeln!(out, "    issuer  {}", c.issuer)?;
                writeln!(out, "    names   {}", c.dns_names.join(", "))?;
                writeln!(out, "    valid   {} .. {}", c.not_before, c.not_after)?;
            }
            writeln!(out)?;
            let all: Vec<&CheckResult> = report.checks.iter().collect();
            output::print_checks(&mut out, &all, output::colour(), "")?;
            writeln!(out, "\n{}", output::summary_line(&counts))?;
        }
    }
    Ok(output::outcome(&counts))
}
