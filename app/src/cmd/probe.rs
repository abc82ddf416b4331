//! `mailpath probe HOST[:PORT]`: one endpoint, its transcript and its verdicts (swaks and
//! posttls-finger together).

use std::io::Write as _;
use std::net::IpAddr;

use anyhow::{Context as _, bail};
use mailpath_core::cert::Trust;
use mailpath_core::check::{Attachment, CheckResult, Counts};
use mailpath_core::checks::cert::{CertCheckContext, ExpectedName, cert_checks};
use mailpath_core::checks::smtp::{EndpointContext, smtp_checks};
use mailpath_core::dns::{RecordType, Resolver};
use mailpath_core::evidence::SmtpProbe;
use mailpath_core::probe::{SmtpProbeRequest, Timeouts};
use mailpath_core::tls_scan::{ScanOptions, probe_smtp_scanned};
use serde::{Deserialize, Serialize};

use crate::Outcome;
use crate::cli::{Format, ProbeArgs, Target};
use crate::output;

/// The JSON document of `probe --format json`.
#[derive(Debug, Serialize, Deserialize)]
pub struct ProbeReport {
    /// `mailpath/probe/1`.
    pub schema: String,
    /// The evidence.
    pub probe: SmtpProbe,
    /// The verdicts.
    pub checks: Vec<CheckResult>,
    /// Counts per status.
    pub counts: Counts,
}

fn split_endpoint(endpoint: &str) -> anyhow::Result<(String, Option<u16>)> {
    if let Ok(addr) = endpoint.parse::<std::net::SocketAddr>() {
        return Ok((addr.ip().to_string(), Some(addr.port())));
    }
    if endpoint.parse::<IpAddr>().is_ok() {
        return Ok((endpoint.to_string(), None));
    }
    match endpoint.rsplit_once(':') {
        Some((host, port)) => {
            let port: u16 = port
                .parse()
                .with_context(|| format!("{endpoint}: {port:?} is not a port number"))?;
            Ok((host.to_string(), Some(port)))
        }
        None => Ok((endpoint.to_string(), None)),
    }
}

pub fn run(runtime: &tokio::runtime::Runtime, target: &Target, args: &ProbeArgs) -> anyhow::Result<Outcome> {
    let (host, port) = split_endpoint(&args.endpoint)?;
    if host.is_empty() {
        bail!("{}: no host name", args.endpoint);
    }
    let report = runtime.block_on(async {
        // With --lab, the lab's DNS, CA and ports stand in for the real ones.
        let lab = match &target.lab {
            Some(name) => Some(
                mailpath_core::lab::Lab::start_named(name, mailpath_core::lab::LabOptions::default())
                    .await
                    .context("could not start the lab")?,
            ),
            None => None,
        };
        let mut trust = match (&lab, &args.ca) {
            (Some(_), _) => Trust::empty(),
            (None, _) => Trust::system().context("could not load the system trust store")?,
        };
        if let Some(lab) = &lab {
            trust.add_pem_file(&lab.info().ca_file).context("lab CA")?;
        }
        if let Some(ca) = &args.ca {
            trust
                .add_pem_file(ca)
                .with_context(|| format!("could not load {}", ca.display()))?;
        }
        let profile_port = lab
            .as_ref()
            .and_then(|lab| mailpath_core::profile::Profile::load(&lab.info().profile_file).ok())
            .map(|p| p.smtp_port_for(&host));
        let port = port.or(profile_port).unwrap_or(25);
        let addresses = match host.parse::<IpAddr>() {
            Ok(ip) => vec![ip],
            Err(_) => {
                let timeout = std::time::Duration::from_secs(5);
                let resolver = match (args.dns, &lab) {
                    (Some(dns), _) => Resolver::with_servers(&[dns], timeout),
                    (None, Some(lab)) => Resolver::with_servers(&[lab.info().dns], timeout),
                    (None, None) => Resolver::system(timeout),
                };
                let (a, aaaa) = tokio::join!(
                    resolver.lookup(&host, RecordType::A),
                    resolver.lookup(&host, RecordType::Aaaa)
                );
                let mut ips = a.ips();
                ips.extend(aaaa.ips());
                if ips.is_empty() {
                    bail!(
                        "{host} does not resolve ({}: A {}, AAAA {})",
                        resolver.label(),
                        a.outcome,
                        aaaa.outcome
                    );
                }
                ips
            }
        };
        let req = SmtpProbeRequest {
            host: host.clone(),
            port,
            addresses,
            helo: "mailpath.invalid".into(),
            sni: None,
            timeouts: Timeouts::default(),
        };
        let probe = probe_smtp_scanned(&req, &ScanOptions::new(args.tls_scan.mode())).await;
        let ctx = EndpointContext {
            attachment: Attachment::None,
            external_service: false,
            role: host.clone(),
            vantage: mailpath_core::checks::smtp::Vantage::default(),
        };
        let mut checks = smtp_checks(&probe, &ctx);
        checks.push(mailpath_core::checks::ciphers::cipher_check(&probe, &ctx));
        let names: Vec<ExpectedName> = if args.tls_names.is_empty() {
            vec![ExpectedName {
                name: host.clone(),
                source: "the probed host name".into(),
            }]
        } else {
            args.tls_names
                .iter()
                .map(|n| ExpectedName {
                    name: n.clone(),
                    source: "--tls-name".into(),
                })
                .collect()
        };
        let chain = probe.tls.as_ref().map(|t| t.chain.clone()).unwrap_or_default();
        if !chain.is_empty() {
            let target = format!("{host}:{port}");
            let cctx = CertCheckContext {
                target: &target,
                evidence_id: &probe.id,
                expected: &names,
                trust: &trust,
                now: time::OffsetDateTime::now_utc(),
                used_as_client: false,
                attachment: Attachment::None,
            };
            checks.extend(cert_checks(&chain, &cctx));
        }
        if let Some(lab) = lab {
            lab.shutdown().await;
        }
        let counts = Counts::of(&checks);
        anyhow::Ok(ProbeReport {
            schema: "mailpath/probe/1".into(),
            probe,
            checks,
            counts,
        })
    })?;
    let mut out = std::io::stdout().lock();
    match args.format {
        Format::Json => {
            serde_json::to_writer_pretty(&mut out, &report)?;
            writeln!(out)?;
        }
        Format::Text => {
            output::print_transcript(&mut out, &report.probe)?;
            writeln!(out)?;
            if let Some(scan) = &report.probe.tls_scan {
                for line in scan.text_lines() {
                    writeln!(out, "{line}")?;
                }
                writeln!(out)?;
            }
            let all: Vec<&CheckResult> = report.checks.iter().collect();
            output::print_checks(&mut out, &all, output::colour(), "")?;
            writeln!(out, "\n{}", output::summary_line(&report.counts))?;
        }
    }
    Ok(output::outcome(&report.counts))
}
