//! `mailpath cert FILE`: the certificate checks on a chain file, offline; with `--profile` or `--lab`, judged
//! against the names the deployment's connectors expect, plus what replacing the current certificate
//! with it changes (`tls.renewal.*`: connector TlsCertificateName, TLSA records).

use std::io::Write as _;

use anyhow::Context as _;
use mailpath_core::cert::Trust;
use mailpath_core::check::{CheckResult, Counts};
use mailpath_core::checks::cert::{ExpectedName, check_certificate_chain};
use mailpath_core::checks::renewal;
use mailpath_core::dns::RecordType;
use mailpath_core::topology::{Topology, tlsa_name};

use crate::Outcome;
use crate::cli::{CertArgs, Format, Target};
use crate::output;

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
        let text = std::fs::read_to_string(file)
            .with_context(|| format!("--password-file: could not read {}", file.display()))?;
        return Ok(Some(text.lines().next().unwrap_or_default().to_string()));
    }
    Ok(None)
}

pub fn run(runtime: &tokio::runtime::Runtime, target: &Target, args: &CertArgs) -> anyhow::Result<Outcome> {
    let now = match &args.at {
        Some(text) => time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
            .with_context(|| format!("--at {text:?} is not an RFC 3339 time such as 2026-12-01T00:00:00Z"))?,
        None => time::OffsetDateTime::now_utc(),
    };
    let password = password(args)?;
    let chain = mailpath_core::cert::load_chain_file_with_password(&args.file, password.as_deref())
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut expected: Vec<ExpectedName> = args
        .name
        .iter()
        .map(|n| ExpectedName {
            name: n.clone(),
            source: "--name".into(),
        })
        .collect();
    let file = args.file.display().to_string();
    let with_profile = target.profile.is_some() || target.lab.is_some();
    let (trust, renewal_checks) = if with_profile {
        // The deployment's expectations, its trust anchors, and the TLSA records of its public names
        // (looked up with its resolvers; the lab keeps running until they are in).
        runtime.block_on(async {
            let loaded = crate::cmd::diagnose::load_target(target).await?;
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
                let state = match c.validity(now) {
                    mailpath_core::cert::Validity::Valid { days_left } => {
                        format!("{} left", mailpath_core::chain_rules::days_words(days_left))
                    }
                    _ => mailpath_core::chain_rules::validity_words(c, now),
                };
                writeln!(
                    out,
                    "    valid   {} .. {} ({state})",
                    c.not_before.date(),
                    c.not_after.date()
                )?;
            }
            writeln!(out)?;
            let all: Vec<&CheckResult> = report.checks.iter().collect();
            output::print_checks(&mut out, &all, output::colour(), "")?;
            writeln!(out, "\n{}", output::summary_line(&counts))?;
        }
    }
    Ok(output::outcome(&counts))
}
