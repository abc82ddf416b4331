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
use mailpath_core::tls_scan::{ScanOptions, probe_smtp_scanned_observed};
use serde::{Deserialize, Serialize};

use crate::Outcome;
use crate::cli::{Format, ProbeArgs};
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

pub fn run(runtime: &tokio::runtime::Runtime, args: &ProbeArgs, _verbose: u8) -> anyhow::Result<Outcome> {
    let target = &args.target;
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
        // A name that does not exist fails dns.host.resolves (as in diagnose, exit 2); a DNS server that
        // does not answer leaves nothing to probe (exit 3).
        let mut host_check = None;
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
                if ips.is_empty()
                    && !mailpath_core::checks::resolver::answered(&a)
                    && !mailpath_core::checks::resolver::answered(&aaaa)
                {
                    bail!(
                        "{host}: the DNS server {} did not answer (A: {}, AAAA: {})",
                        resolver.label(),
                        a.outcome,
                        aaaa.outcome
                    );
                }
                host_check = Some(mailpath_core::checks::resolver::host_resolution(&host, &a, &aaaa));
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
        // The transcript as it happens (swaks-style), on text output.
        let observer = (args.format == Format::Text).then(|| {
            let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
            let printer = tokio::spawn(async move {
                let mut started = false;
                while let Some(event) = rx.recv().await {
                    if let mailpath_core::probe::ProbeEvent::Line(line) = event {
                        started = true;
                        let _ = output::emit(output::transcript_line(&line).as_bytes());
                    }
                }
                started
            });
            (tx, printer)
        });
        let (tx, printer) = match observer {
            Some((tx, printer)) => (Some(tx), Some(printer)),
            None => (None, None),
        };
        let probe = probe_smtp_scanned_observed(&req, &ScanOptions::new(args.tls_scan.mode()), tx).await;
        let streamed = match printer {
            Some(p) => p.await.unwrap_or(false),
            None => false,
        };
        let ctx = EndpointContext {
            attachment: Attachment::None,
            external_service: false,
            role: host.clone(),
            vantage: mailpath_core::checks::smtp::Vantage::default(),
        };
        let mut checks: Vec<CheckResult> = host_check.into_iter().collect();
        checks.extend(smtp_checks(&probe, &ctx));
        checks.push(mailpath_core::checks::ciphers::cipher_check(&probe, &ctx));
        let names: Vec<ExpectedName> = if args.tls_names.is_empty() {
            vec![ExpectedName::host(host.clone(), "the probed host name")]
        } else {
            args.tls_names
                .iter()
                .map(|n| ExpectedName::host(n.clone(), "--tls-name"))
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
        anyhow::Ok((
            ProbeReport {
                schema: "mailpath/probe/1".into(),
                probe,
                checks,
                counts,
            },
            streamed,
        ))
    })?;
    let (report, streamed) = report;
    let mut out = Vec::new();
    match args.format {
        Format::Json => {
            serde_json::to_writer_pretty(&mut out, &report)?;
            writeln!(out)?;
        }
        Format::Text => {
            if !streamed {
                output::print_transcript(&mut out, &report.probe)?;
            }
            writeln!(out)?;
            if let Some(scan) = &report.probe.tls_scan {
                for line in scan.text_lines() {
                    output::term_line!(&mut out, "{line}")?;
                }
                writeln!(out)?;
            }
            let all: Vec<&CheckResult> = report.checks.iter().collect();
            output::print_checks(&mut out, &all, output::colour(), "")?;
            writeln!(out, "\n{}", output::summary_line(&report.counts))?;
        }
    }
    output::emit(&out)?;
    Ok(output::outcome(&report.counts))
}
