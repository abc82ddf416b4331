//! The scanner's I/O: one TCP connection per ClientHello (after EHLO and STARTTLS for SMTP), the
//! answer read within the TLS timeout, then the connection closed. The [`Planner`] decides what to
//! send; this only moves bytes, keeps time and enforces the caps.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use super::answer::{Answer, AnswerReader};
use super::plan::{Exchange, Planner};
use super::wire::ClientHello;
use crate::evidence::tls_scan::{ScanMode, TlsScan, Transport};
use crate::probe::smtp::{Session, connect};
use crate::probe::{SmtpProbeRequest, Timeouts};
use crate::smtp::io::BoxedIo;
use crate::tls_suites::X25519;

/// Caps on a scan: it stops (and says so in the evidence) at whichever comes first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScanLimits {
    /// Most connections (one ClientHello each).
    pub max_connections: u32,
    /// Most time for the whole scan.
    pub max_time: Duration,
}

impl Default for ScanLimits {
    /// 40 connections and 60 seconds: a full scan of a typical server takes 10-20 connections, and
    /// Exchange's MaxInboundConnectionPerSource (20 by default) counts concurrent ones, which the
    /// sequential scan keeps at one.
    fn default() -> Self {
        ScanLimits {
            max_connections: 40,
            max_time: Duration::from_secs(60),
        }
    }
}

/// How much to scan, within which caps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ScanOptions {
    /// Off, quick (one hello) or full.
    pub mode: ScanMode,
    /// Caps.
    pub limits: ScanLimits,
}

impl ScanOptions {
    /// Options for `mode` with the default caps.
    pub fn new(mode: ScanMode) -> Self {
        ScanOptions {
            mode,
            limits: ScanLimits::default(),
        }
    }
}

/// Where to scan.
#[derive(Debug, Clone)]
pub struct ScanTarget {
    /// The host name (for SNI when `sni` is not set).
    pub host: String,
    /// The port.
    pub port: u16,
    /// Addresses to try, in order.
    pub addresses: Vec<IpAddr>,
    /// The SNI to send.
    pub sni: Option<String>,
    /// The EHLO name.
    pub helo: String,
    /// STARTTLS or direct TLS.
    pub transport: Transport,
    /// Per-step limits (connect, greeting, command, TLS answer).
    pub timeouts: Timeouts,
}

impl ScanTarget {
    /// The target of an SMTP probe request (STARTTLS).
    pub fn smtp(req: &SmtpProbeRequest) -> ScanTarget {
        ScanTarget {
            host: req.host.clone(),
            port: req.port,
            addresses: req.addresses.clone(),
            sni: req.sni.clone(),
            helo: req.helo.clone(),
            transport: Transport::StarttlsSmtp,
            timeouts: req.timeouts,
        }
    }
}

/// Scan `target`: one hello (quick) or the full enumeration, sequentially, within the caps.
pub async fn scan(target: &ScanTarget, options: &ScanOptions) -> TlsScan {
    let started = Instant::now();
    let limits = options.limits;
    let sni = target.sni.as_deref().unwrap_or(&target.host);
    let mut planner = Planner::new(
        options.mode,
        target.transport,
        Some(sni),
        fill_random,
        x25519_public_key(),
    );
    let deadline = tokio::time::Instant::now() + limits.max_time;
    while let Some(offer) = planner.next_offer() {
        if planner.connections() >= usize::try_from(limits.max_connections).unwrap_or(usize::MAX) {
            planner.stop(format!(
                "the cap of {} connections was reached",
                limits.max_connections
            ));
            break;
        }
        if tokio::time::Instant::now() >= deadline {
            planner.stop(format!(
                "the time cap of {} s was reached",
                limits.max_time.as_secs()
            ));
            break;
        }
        let t0 = Instant::now();
        let exchange = tokio::time::timeout_at(deadline, one_hello(target, &offer.hello)).await;
        let exchange = exchange.unwrap_or_else(|_| {
            planner.stop(format!(
                "the time cap of {} s was reached",
                limits.max_time.as_secs()
            ));
            Exchange::Timeout { bytes: 0 }
        });
        planner.record(&offer, &exchange, ms(t0.elapsed()));
    }
    let max_ms = u64::try_from(limits.max_time.as_millis()).unwrap_or(u64::MAX);
    planner.finish(limits.max_connections, max_ms, ms(started.elapsed()))
}

/// Connect, reach TLS (STARTTLS for SMTP), send `hello`, read the answer, close.
async fn one_hello(target: &ScanTarget, hello: &ClientHello) -> Exchange {
    let t = target.timeouts;
    let mut session = Session::new();
    let (outcome, stream) = connect(&target.addresses, target.port, t.connect, &mut session).await;
    let Some(stream) = stream else {
        return Exchange::Connect(outcome.words());
    };
    let mut io: BoxedIo = Box::new(stream);
    if target.transport == Transport::StarttlsSmtp
        && let Err(why) = starttls(&mut session, &mut io, target).await
    {
        let _ = tokio::time::timeout(Duration::from_secs(1), io.shutdown()).await;
        return Exchange::Smtp(why.to_string());
    }
    let exchange = exchange(&mut io, hello, t.tls).await;
    let _ = tokio::time::timeout(Duration::from_secs(1), io.shutdown()).await;
    exchange
}

/// Send `hello` on `io` and read the answer within `limit`.
pub async fn exchange(io: &mut BoxedIo, hello: &ClientHello, limit: Duration) -> Exchange {
    let deadline = tokio::time::Instant::now() + limit;
    let write = async {
        io.write_all(&hello.to_records()).await?;
        io.flush().await
    };
    match tokio::time::timeout_at(deadline, write).await {
        Ok(Ok(())) => {}
        Ok(Err(_)) => return Exchange::Answer(Answer::Closed { bytes: 0 }),
        Err(_) => return Exchange::Timeout { bytes: 0 },
    }
    let mut reader = AnswerReader::new();
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        match tokio::time::timeout_at(deadline, io.read(&mut buf)).await {
            Ok(Ok(0) | Err(_)) => return Exchange::Answer(reader.end()),
            Ok(Ok(n)) => {
                if let Some(answer) = reader.feed(&buf[..n]) {
                    return Exchange::Answer(answer);
                }
            }
            Err(_) => {
                return match reader.end() {
                    hello @ Answer::Hello(_) => Exchange::Answer(hello),
                    _ => Exchange::Timeout {
                        bytes: reader.received(),
                    },
                };
            }
        }
    }
}

/// Why a scan connection did not get to TLS through STARTTLS.
#[derive(Debug, thiserror::Error)]
enum StarttlsError {
    /// The server said nothing readable, or too late.
    #[error("no SMTP greeting: {0}")]
    NoGreeting(String),
    /// A greeting, but not 220.
    #[error("the greeting was {0} {1}")]
    Greeting(u16, String),
    /// A command went unanswered or the connection failed.
    #[error("{0}: {1}")]
    NoReply(&'static str, String),
    /// EHLO or STARTTLS answered with something other than success.
    #[error("{0} was refused: {1} {2}")]
    Refused(&'static str, u16, String),
    /// The EHLO reply does not list STARTTLS.
    #[error("STARTTLS is not offered")]
    NotOffered,
}

/// Greeting, EHLO, STARTTLS; `Err` with the reason when the server does not get there.
async fn starttls(session: &mut Session, io: &mut BoxedIo, target: &ScanTarget) -> Result<(), StarttlsError> {
    let t = target.timeouts;
    let banner = session
        .read_reply(io, t.greeting)
        .await
        .map_err(|f| StarttlsError::NoGreeting(f.message))?;
    if banner.code != 220 {
        return Err(StarttlsError::Greeting(banner.code, banner.first().to_string()));
    }
    let ehlo = session
        .command(io, &format!("EHLO {}", target.helo), t.command)
        .await
        .map_err(|f| StarttlsError::NoReply("EHLO", f.message))?;
    if ehlo.code != 250 {
        return Err(StarttlsError::Refused(
            "EHLO",
            ehlo.code,
            ehlo.first().to_string(),
        ));
    }
    if !crate::smtp::reply::ehlo_offers(&ehlo.lines, "STARTTLS") {
        let _ = session
            .command(io, "QUIT", t.command.min(Duration::from_secs(5)))
            .await;
        return Err(StarttlsError::NotOffered);
    }
    let reply = session
        .command(io, "STARTTLS", t.command)
        .await
        .map_err(|f| StarttlsError::NoReply("STARTTLS", f.message))?;
    if reply.code != 220 {
        return Err(StarttlsError::Refused(
            "STARTTLS",
            reply.code,
            reply.first().to_string(),
        ));
    }
    Ok(())
}

/// Random bytes from the crypto provider (client randoms, session ids).
pub fn fill_random(buf: &mut [u8]) {
    if crate::tls::provider().secure_random.fill(buf).is_err() {
        // Not a secret: a scanner's random only has to look like one.
        for (i, b) in buf.iter_mut().enumerate() {
            *b = u8::try_from(i % 251).unwrap_or(0) ^ 0x5a;
        }
    }
}

/// A real x25519 public key for TLS 1.3 hellos (the private half is dropped: the scanner never
/// completes a handshake).
fn x25519_public_key() -> Vec<u8> {
    crate::tls::provider()
        .kx_groups
        .iter()
        .find(|g| u16::from(g.name()) == X25519)
        .and_then(|g| g.start().ok())
        .map(|kx| kx.pub_key().to_vec())
        .unwrap_or_else(|| {
            let mut key = vec![0u8; 32];
            fill_random(&mut key);
            key
        })
}

fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::ca::{LabCa, LeafKey, LeafSpec};
    use crate::tls_scan::stub::HandshakeOnlyServer;
    use crate::tls_suites::Version;

    /// A direct-TLS port (like SMTPS or LDAPS) served by the handshake-only server.
    async fn direct_server(versions: &[Version], suites: &[u16]) -> std::net::SocketAddr {
        let now = time::OffsetDateTime::now_utc();
        let ca = LabCa::generate(now).unwrap();
        let spec = LeafSpec::server("ldap.contoso.com", ["ldap.contoso.com"], now).with_key(LeafKey::Rsa2048);
        let key = ca.issue(&spec).unwrap().certified_key(true).unwrap();
        let server = Arc::new(HandshakeOnlyServer::new(versions, suites, &[0x0017], key));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let server = Arc::clone(&server);
                tokio::spawn(async move {
                    let mut io: BoxedIo = Box::new(stream);
                    server.serve(&mut io, Duration::from_secs(5)).await;
                });
            }
        });
        addr
    }

    fn target(addr: std::net::SocketAddr) -> ScanTarget {
        ScanTarget {
            host: "ldap.contoso.com".into(),
            port: addr.port(),
            addresses: vec![addr.ip()],
            sni: None,
            helo: "scan.invalid".into(),
            transport: Transport::Direct,
            timeouts: Timeouts {
                connect: Duration::from_secs(2),
                greeting: Duration::from_secs(2),
                command: Duration::from_secs(2),
                tls: Duration::from_secs(2),
            },
        }
    }

    #[tokio::test]
    async fn a_direct_tls_port_is_enumerated_within_its_caps() {
        let addr = direct_server(&[Version::Tls12], &[0x009D, 0xC028, 0x002F]).await;
        let scan = scan(&target(addr), &ScanOptions::new(ScanMode::Full)).await;
        assert!(scan.complete, "{:?} {:#?}", scan.stopped, scan.hellos);
        let ids: Vec<u16> = scan.suites.iter().map(|s| s.id).collect();
        assert_eq!(ids, [0x009D, 0xC028, 0x002F], "in the server's order");
        assert_eq!(scan.server_order, Some(true));
        assert_eq!(scan.groups, ["secp256r1"]);
        assert_eq!(scan.chain.len(), 2);
        assert_eq!(scan.sni.as_deref(), Some("ldap.contoso.com"));
        // The caps stop it, and say so.
        let capped = ScanOptions {
            mode: ScanMode::Full,
            limits: ScanLimits {
                max_connections: 3,
                max_time: Duration::from_secs(60),
            },
        };
        let scan = super::scan(&target(addr), &capped).await;
        assert_eq!(scan.connections(), 3);
        assert!(!scan.complete);
        assert_eq!(
            scan.stopped.as_deref(),
            Some("the cap of 3 connections was reached")
        );
        assert_eq!(scan.max_connections, 3);
    }

    #[tokio::test]
    async fn silence_and_refusal_end_the_scan_with_the_reason() {
        // Nothing listens: the one quick hello records the refusal and the scan stops.
        let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = closed.local_addr().unwrap();
        drop(closed);
        let scan = super::scan(&target(addr), &ScanOptions::new(ScanMode::Full)).await;
        assert_eq!(scan.connections(), 1);
        assert!(
            scan.stopped.as_deref().is_some_and(|s| s.contains("refused")),
            "{:?}",
            scan.stopped
        );
        // A server that accepts and says nothing: the TLS timeout, then stop.
        let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = silent.local_addr().unwrap();
        tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((s, _)) = silent.accept().await {
                held.push(s);
            }
        });
        let t0 = Instant::now();
        let scan = super::scan(&target(addr), &ScanOptions::new(ScanMode::Full)).await;
        assert!(t0.elapsed() < Duration::from_secs(5));
        assert_eq!(scan.connections(), 1);
        assert_eq!(
            scan.hellos[0].outcome,
            crate::evidence::tls_scan::OutcomeKind::Timeout
        );
    }
}
