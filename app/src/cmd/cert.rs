//! `mailpath cert FILE`: the certificate checks on a chain file, offline; with `--profile` or `--lab`, judged
//! against the names the deployment's connectors expect, plus what replacing the current certificate
//! with it changes (`tls.renewal.*`: connector TlsCertificateName, TLSA records).

use std::io::Write as _;

use anyhow::Context as _;
use mailpath_core::bounded::{self, Limit};
use mailpath_core::cert::Trust;
use mailpath_core::check::{CheckResult, Counts};
use mailpath_core::checks::cert::{ExpectedName, check_certificate_chain};
use mailpath_core::checks::renewal;
use mailpath_core::dns::RecordType;
use mailpath_core::topology::{Topology, tlsa_name};

use crate::Outcome;
use crate::cli::{CertArgs, Format};
use crate::output::{self, term_line};

/// `--ca` alone, or the system store.
fn ca_trust(args: &CertArgs) -> anyhow::Result<Trust> {
    let Some(ca) = &args.ca else {
        return Trust::system().context("could not load the system trust store");
    };
    let mut trust = Trust::empty();
    trust
        .add_pem_file(ca)
        .with_context(|| format!("could not load the CA file {}", ca.display()))?;
    Ok(trust)
}

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
        let text = bounded::read_to_string(file, Limit::PASSWORD_FILE)
            .with_context(|| format!("--password-file: could not read {}", file.display()))?;
        return Ok(Some(text.lines().next().unwrap_or_default().to_string()));
    }
    Ok(None)
}

/// `--at`: an RFC 3339 time, or a date alone (midnight UTC).
pub fn parse_at(text: &str) -> anyhow::Result<time::OffsetDateTime> {
    if let Ok(t) = time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339) {
        return Ok(t);
    }
    let date_only = time::macros::format_description!("[year]-[month]-[day]");
    time::Date::parse(text, &date_only)
        .map(|d| d.midnight().assume_utc())
        .map_err(|_| {
            anyhow::anyhow!(
                "--at {text:?} is neither an RFC 3339 time (2026-12-01T08:00:00Z) nor a date (2026-12-01)"
            )
        })
}

pub fn run(runtime: &tokio::runtime::Runtime, args: &CertArgs, _verbose: u8) -> anyhow::Result<Outcome> {
    let target = &args.target;
    let now = match &args.at {
        Some(text) => parse_at(text)?,
        None => time::OffsetDateTime::now_utc(),
    };
    let password = password(args)?;
    let chain = mailpath_core::cert::load_chain_file_with_password(&args.file, password.as_deref())
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut expected: Vec<ExpectedName> = args
        .name
        .iter()
        .map(|n| ExpectedName::host(n.clone(), "--name"))
        .collect();
    let file = args.file.display().to_string();
    let with_profile = target.profile.is_some() || target.lab.is_some();
    let (trust, renewal_checks) = if with_profile {
        // The deployment's expectations, its trust anchors, and the TLSA records of its public names
        // (looked up with its resolvers; the lab keeps running until they are in).
        runtime.block_on(async {
            let loaded =
                crate::cmd::diagnose::load_target(target, mailpath_core::lab::LabOptions::default()).await?;
            let profile = &loaded.profile;
            for e in renewal::expected_names(profile) {
                if !expected.iter().any(|x| x.name.eq_ignore_ascii_case(&e.name)) {
                    expected.push(e);
                }
            }
            let trust = match &args.ca {
                Some(_) => ca_trust(args)?,
                None => mailpath_core::diagnose::trust_for(profile)
                    .context("could not load the trust anchors of the profile")?,
            };
            let resolver = mailpath_core::diagnose::primary_resolver(profile);
            let mut tlsa = Vec::new();
            for host in Topology::of(profile).inbound_hosts {
                tlsa.push(resolver.lookup(&tlsa_name(&host), RecordType::Tlsa).await);
            }
            let checks = renewal::renewal_checks(profile, &chain, Some(&tlsa), &file);
            if let Some(lab) = loaded.lab {
                lab.shutdown().await;
            }
            anyhow::Ok((trust, checks))
        })?
    } else {
        (ca_trust(args)?, Vec::new())
    };
    let mut report = check_certificate_chain(&chain, &file, &expected, &trust, now);
    report.checks.extend(renewal_checks);
    let counts = Counts::of(&report.checks);
    let mut out = Vec::new();
    match args.format {
        Format::Json => {
            serde_json::to_writer_pretty(&mut out, &report)?;
            writeln!(out)?;
        }
        Format::Text => {
            for (i, c) in report.chain.iter().enumerate() {
                term_line!(&mut out, "[{i}] {}", c.subject)?;
                term_line!(&mut out, "    issuer  {}", c.issuer)?;
                term_line!(&mut out, "    names   {}", c.dns_names.join(", "))?;
                let state = match c.validity(now) {
                    mailpath_core::cert::Validity::Valid { days_left } => {
                        format!("{} left", mailpath_core::chain_rules::days_words(days_left))
                    }
                    _ => mailpath_core::chain_rules::validity_words(c, now),
                };
                term_line!(
                    &mut out,
                    "    valid   {} .. {} ({state})",
                    output::date(c.not_before),
                    output::date(c.not_after)
                )?;
            }
            writeln!(out)?;
            let all: Vec<&CheckResult> = report.checks.iter().collect();
            output::print_checks(&mut out, &all, output::colour(), "")?;
            writeln!(out, "\n{}", output::summary_line(&counts))?;
        }
    }
    output::emit(&out)?;
    Ok(output::outcome(&counts))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn at_takes_a_time_or_a_date_at_midnight_utc() {
        let t = parse_at("2026-01-01").unwrap();
        assert_eq!(t, time::macros::datetime!(2026-01-01 00:00 UTC));
        let t = parse_at("2026-01-01T08:30:00+01:00").unwrap();
        assert_eq!(t, time::macros::datetime!(2026-01-01 07:30 UTC));
        let e = parse_at("01/01/2026").unwrap_err().to_string();
        assert!(e.contains("2026-12-01"), "{e}");
    }
}
