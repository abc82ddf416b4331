//! `mailpath cert FILE`: the certificate checks on a chain file, offline.

use std::io::Write as _;

use anyhow::Context as _;
use mailpath_core::cert::Trust;
use mailpath_core::check::{CheckResult, Counts};
use mailpath_core::checks::cert::check_certificate_file;

use crate::Outcome;
use crate::cli::{CertArgs, Format};
use crate::output;

/// The PKCS#12 password, from the environment variable or file named (not the command line, where other
/// users and the shell history would see it).
fn password(args: &CertArgs) -> anyhow::Result<Option<String>> {
    if let Some(var) = &args.password_env {
        let value = std::env::var(var).with_context(|| {
            format!("--password-env {var}: the environment variable {var} is not set (or not UTF-8)")
        })?;
        return Ok(Some(value));
    }
    if let Some(file) = &args.password_file {
        let text = std::fs::read_to_string(file)
            .with_context(|| format!("--password-file: could not read {}", file.display()))?;
        return Ok(Some(text.lines().next().unwrap_or_default().to_string()));
    }
    Ok(None)
}

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
        trust
            .add_pem_file(ca)
            .with_context(|| format!("could not load the CA file {}", ca.display()))?;
    }
    let password = password(args)?;
    let report = check_certificate_file(&args.file, password.as_deref(), &args.name, &trust, now)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
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
