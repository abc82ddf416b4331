//! A TLS handshake scanner, as testssl.sh and sslscan do with raw sockets: ClientHellos with chosen
//! versions and suites, and the server's answer read up to ServerHelloDone (the certificate chain
//! travels in clear up to TLS 1.2), without any key exchange. It sees servers that mailpath's TLS
//! library cannot talk to (rustls speaks TLS 1.2 only with ECDHE and AES-GCM/ChaCha20), and what
//! Exchange Online would negotiate with them.
//!
//! Layers, each testable alone: [`crate::tls_suites`] (what the scanner knows: versions, suites,
//! groups, Microsoft's list), [`wire`] (the bytes, both directions), [`answer`] (reading one answer,
//! sans-IO), [`plan`] (which hello next, sans-IO), [`net`] (the connections, with caps),
//! [`crate::evidence::tls_scan`] (the evidence), [`stub`] (the lab's handshake-only server). The
//! tables and the evidence live below the SMTP code and the probes, which this scanner uses.
//!
//! Politeness: a quick scan (the default of `diagnose` and `probe`) is one extra connection per
//! endpoint; a full scan (`--tls-scan full`) is sequential, one connection at a time, and capped
//! ([`ScanLimits`]); the evidence records the caps and where it stopped.

pub mod answer;
pub mod net;
pub mod plan;
pub mod stub;
pub mod wire;

pub use crate::evidence::tls_scan::{ScanMode, TlsScan, Transport};
pub use net::{ScanLimits, ScanOptions, ScanTarget, scan};

use crate::evidence::SmtpProbe;
use crate::probe::SmtpProbeRequest;

/// The SMTP probe and, unless `options.mode` is off, a scan of the same endpoint, run side by side
/// (the scan's one hello does not lengthen the probe). When the probe's handshake failed before
/// the certificate, the chain the scan read is put into the probe's TLS evidence
/// (`chain_from_scan`), where the certificate checks judge it.
pub async fn probe_smtp_scanned(req: &SmtpProbeRequest, options: &ScanOptions) -> SmtpProbe {
    probe_smtp_scanned_observed(req, options, None).await
}

/// [`probe_smtp_scanned`], the probe reporting its steps and transcript lines to `observer` as they happen.
pub async fn probe_smtp_scanned_observed(
    req: &SmtpProbeRequest,
    options: &ScanOptions,
    observer: Option<crate::probe::ProbeObserver>,
) -> SmtpProbe {
    if options.mode == ScanMode::Off {
        return crate::probe::probe_smtp_observed(req, observer).await;
    }
    let target = ScanTarget::smtp(req);
    let (mut probe, scan) = tokio::join!(
        crate::probe::probe_smtp_observed(req, observer),
        net::scan(&target, options)
    );
    attach(&mut probe, scan);
    probe
}

/// Add `scan` to `probe`'s evidence, and its certificate chain when the probe's own handshake did
/// not get one.
pub fn attach(probe: &mut SmtpProbe, scan: TlsScan) {
    if let Some(tls) = probe.tls.as_mut()
        && tls.chain.is_empty()
        && !tls.completed()
        && !scan.chain.is_empty()
    {
        tls.chain.clone_from(&scan.chain);
        tls.chain_from_scan = true;
    }
    probe.tls_scan = Some(scan);
}
