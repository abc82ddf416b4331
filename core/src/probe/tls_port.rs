//! A TLS-only port (EdgeSync's LDAPS on 50636): TCP connect, then a TLS handshake.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use tokio::io::AsyncWriteExt as _;

use super::smtp::{Session, connect, handshake};
use crate::evidence::TlsPortProbe;

/// Probe `host:port` at `addresses`: connect within `connect_limit`, handshake within `tls_limit`.
pub async fn probe_tls_port(
    host: &str,
    port: u16,
    addresses: &[IpAddr],
    connect_limit: Duration,
    tls_limit: Duration,
) -> TlsPortProbe {
    probe_tls_port_observed(host, port, addresses, connect_limit, tls_limit, None).await
}

/// [`probe_tls_port`], reporting each step and transcript line to `observer` as it happens.
pub async fn probe_tls_port_observed(
    host: &str,
    port: u16,
    addresses: &[IpAddr],
    connect_limit: Duration,
    tls_limit: Duration,
    observer: Option<super::smtp::ProbeObserver>,
) -> TlsPortProbe {
    let started = Instant::now();
    let mut session = Session::observed(observer);
    let (outcome, stream) = connect(addresses, port, connect_limit, &mut session).await;
    let mut tls = None;
    if let Some(stream) = stream {
        let (evidence, stream) = handshake(Box::new(stream), host, tls_limit, &mut session).await;
        tls = Some(evidence);
        if let Some(mut stream) = stream {
            let _ = tokio::time::timeout(Duration::from_secs(1), stream.shutdown()).await;
        }
    }
    TlsPortProbe {
        id: format!("ldaps:{host}:{port}"),
        host: host.to_string(),
        port,
        connect: outcome,
        tls,
        ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
    }
}
