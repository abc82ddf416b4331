//! The SMTP probe: connect, greeting, EHLO (HELO fallback), STARTTLS, TLS handshake, EHLO inside
//! TLS, QUIT, with a timestamped transcript of both directions and every step under its own timeout.
//!
//! Parsing is the sans-IO [`crate::smtp::reply`]; this module only moves bytes and keeps time. It
//! never returns an error: every way a server can misbehave ends as evidence in [`SmtpProbe`].

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::AsyncWriteExt as _;
use tokio::net::TcpStream;

use crate::evidence::{
    Connect, Direction, FailureKind, ProbeFailure, Reply, SmtpProbe, Stage, TlsEvidence, TranscriptLine,
};
use crate::smtp::client::{ClientError, Conversation};
use crate::smtp::io::BoxedIo;
use crate::smtp::reply::{RawReply, escape};
use crate::smtp::transcript::{LineObserver, Transcript};

/// Per-step time limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// TCP connect, per address.
    pub connect: Duration,
    /// Waiting for the greeting (RFC 5321 allows 5 minutes; tarpits use 10-30 s).
    pub greeting: Duration,
    /// Waiting for the reply to a command.
    pub command: Duration,
    /// The TLS handshake.
    pub tls: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            connect: Duration::from_secs(10),
            greeting: Duration::from_secs(30),
            command: Duration::from_secs(30),
            tls: Duration::from_secs(15),
        }
    }
}

/// What to probe and how.
#[derive(Debug, Clone)]
pub struct SmtpProbeRequest {
    /// The host name (for the id, SNI and the transcript).
    pub host: String,
    /// The port.
    pub port: u16,
    /// Addresses to try, in order (already resolved).
    pub addresses: Vec<IpAddr>,
    /// The name to present in EHLO.
    pub helo: String,
    /// The SNI to send (default: the host, when it is a name).
    pub sni: Option<String>,
    /// Limits.
    pub timeouts: Timeouts,
}

/// What a running probe is doing, as it happens: for a progress line that names what is pending, and for
/// a transcript streamed like swaks'.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProbeEvent {
    /// A step began and may take up to `limit`.
    Step {
        /// Which step.
        stage: Stage,
        /// Its time limit.
        limit: Duration,
    },
    /// A transcript line, the moment it is recorded.
    Line(TranscriptLine),
}

/// Where a probe reports its [`ProbeEvent`]s (unbounded: a transcript is bounded by the probe's own limits).
pub type ProbeObserver = tokio::sync::mpsc::UnboundedSender<ProbeEvent>;

/// Run the probe. Never fails: the outcome is in the evidence.
pub async fn probe_smtp(req: &SmtpProbeRequest) -> SmtpProbe {
    probe_smtp_observed(req, None).await
}

/// [`probe_smtp`], reporting each step and transcript line to `observer` as it happens.
pub async fn probe_smtp_observed(req: &SmtpProbeRequest, observer: Option<ProbeObserver>) -> SmtpProbe {
    let started = Instant::now();
    let mut probe = SmtpProbe::new(
        &req.host,
        req.port,
        req.addresses.clone(),
        &req.helo,
        Connect::NoAddress {
            error: "no address to connect to".into(),
        },
    );
    let mut session = Session::observed(observer);
    let (connect, stream) = connect(&req.addresses, req.port, req.timeouts.connect, &mut session).await;
    probe.connect = connect;
    if let Some(stream) = stream {
        let mut io: BoxedIo = Box::new(stream);
        run_dialogue(req, &mut probe, &mut session, &mut io).await;
        let _ = tokio::time::timeout(Duration::from_secs(1), io.shutdown()).await;
    }
    probe.ms = ms(started.elapsed());
    probe.transcript = session.into_transcript();
    probe
}

/// Try each address until one connects. Returns the outcome of the connected one, or of the last.
pub async fn connect(
    addresses: &[IpAddr],
    port: u16,
    limit: Duration,
    session: &mut Session,
) -> (Connect, Option<TcpStream>) {
    let mut outcome = Connect::NoAddress {
        error: "the host has no address".into(),
    };
    for ip in addresses {
        let address = SocketAddr::new(*ip, port);
        let t0 = Instant::now();
        session.step(Stage::Connect, limit);
        session.info(format!("Trying {address}..."));
        match tokio::time::timeout(limit, TcpStream::connect(address)).await {
            Ok(Ok(stream)) => {
                let _ = stream.set_nodelay(true);
                let took = ms(t0.elapsed());
                session.info(format!("Connected to {address} in {took} ms"));
                return (Connect::Connected { address, ms: took }, Some(stream));
            }
            Ok(Err(e)) => {
                session.error(format!("Connecting to {address}: {e}"));
                outcome = match e.kind() {
                    std::io::ErrorKind::ConnectionRefused => Connect::Refused { address },
                    std::io::ErrorKind::HostUnreachable | std::io::ErrorKind::NetworkUnreachable => {
                        Connect::Unreachable {
                            address,
                            error: e.to_string(),
                        }
                    }
                    _ => Connect::Failed {
                        address: Some(address),
                        error: e.to_string(),
                    },
                };
            }
            Err(_) => {
                let took = ms(t0.elapsed());
                session.error(format!("Connecting to {address}: no answer in {took} ms"));
                outcome = Connect::TimedOut { address, ms: took };
            }
        }
    }
    (outcome, None)
}

async fn run_dialogue(
    req: &SmtpProbeRequest,
    probe: &mut SmtpProbe,
    session: &mut Session,
    io: &mut BoxedIo,
) {
    let t = req.timeouts;
    // Greeting.
    session.step(Stage::Banner, t.greeting);
    match session.read_reply(io, t.greeting).await {
        Ok(reply) => {
            let code = reply.code;
            probe.banner = Some(reply);
            if code != 220 {
                probe.failure = Some(failure(
                    Stage::Banner,
                    FailureKind::Rejected,
                    format!("greeting code {code}"),
                ));
                let _ = session.command(io, "QUIT", t.command).await;
                return;
            }
        }
        Err(fail) => {
            probe.partial = partial(session);
            probe.failure = Some(fail.at(Stage::Banner));
            return;
        }
    }
    // EHLO, HELO when EHLO is refused.
    let ehlo = format!("EHLO {}", req.helo);
    session.step(Stage::Ehlo, t.command);
    match session.command(io, &ehlo, t.command).await {
        Ok(reply) if reply.code == 250 => probe.ehlo = Some(reply),
        Ok(reply) => {
            probe.ehlo = Some(reply);
            match session
                .command(io, &format!("HELO {}", req.helo), t.command)
                .await
            {
                Ok(helo) => {
                    probe.used_helo = true;
                    let ok = helo.code == 250;
                    probe.ehlo = Some(helo);
                    if !ok {
                        probe.failure = Some(failure(
                            Stage::Ehlo,
                            FailureKind::Rejected,
                            "EHLO and HELO refused",
                        ));
                        return;
                    }
                }
                Err(fail) => {
                    probe.partial = partial(session);
                    probe.failure = Some(fail.at(Stage::Ehlo));
                    return;
                }
            }
        }
        Err(fail) => {
            probe.partial = partial(session);
            probe.failure = Some(fail.at(Stage::Ehlo));
            return;
        }
    }
    if !probe.extensions().iter().any(|e| e == "STARTTLS") {
        quit(session, io, t.command).await;
        return;
    }
    session.step(Stage::StartTls, t.command);
    match session.command(io, "STARTTLS", t.command).await {
        Ok(reply) => {
            let ok = reply.code == 220;
            probe.starttls = Some(reply);
            if !ok {
                probe.failure = Some(failure(
                    Stage::StartTls,
                    FailureKind::Rejected,
                    "STARTTLS refused",
                ));
                quit(session, io, t.command).await;
                return;
            }
        }
        Err(fail) => {
            probe.partial = partial(session);
            probe.failure = Some(fail.at(Stage::StartTls));
            return;
        }
    }
    // TLS.
    let sni = req.sni.clone().unwrap_or_else(|| req.host.clone());
    let (tls, stream) = handshake(std::mem::replace(io, placeholder()), &sni, t.tls, session).await;
    let completed = tls.completed();
    let tls_error = tls.error.clone();
    probe.tls = Some(tls);
    let Some(stream) = stream else {
        probe.failure = Some(failure(
            Stage::TlsHandshake,
            FailureKind::Tls,
            tls_error.unwrap_or_else(|| "TLS handshake failed".into()),
        ));
        return;
    };
    *io = stream;
    if !completed {
        return;
    }
    session.step(Stage::EhloTls, t.command);
    match session.command(io, &ehlo, t.command).await {
        Ok(reply) => probe.ehlo_tls = Some(reply),
        Err(fail) => {
            probe.failure = Some(fail.at(Stage::EhloTls));
            return;
        }
    }
    quit(session, io, t.command).await;
}

async fn quit(session: &mut Session, io: &mut BoxedIo, limit: Duration) {
    session.step(Stage::Quit, limit.min(Duration::from_secs(5)));
    let _ = session
        .command(io, "QUIT", limit.min(Duration::from_secs(5)))
        .await;
}

/// Run a TLS client handshake on `io`, capturing the chain whatever it is.
pub async fn handshake(
    io: BoxedIo,
    sni: &str,
    limit: Duration,
    session: &mut Session,
) -> (TlsEvidence, Option<BoxedIo>) {
    let capture = Arc::new(crate::tls::Capture::default());
    let mut evidence = TlsEvidence {
        sni: Some(sni.to_string()),
        ..TlsEvidence::default()
    };
    let config = match crate::tls::probe_client_config(Arc::clone(&capture)) {
        Ok(config) => config,
        Err(e) => {
            evidence.error = Some(format!("TLS configuration: {e}"));
            return (evidence, None);
        }
    };
    let server_name = match rustls_pki_types::ServerName::try_from(sni.to_string()) {
        Ok(name) => name,
        Err(_) => rustls_pki_types::ServerName::IpAddress(
            sni.parse::<IpAddr>()
                .map(Into::into)
                .unwrap_or(std::net::Ipv4Addr::LOCALHOST.into()),
        ),
    };
    let connector = tokio_rustls::TlsConnector::from(config);
    let t0 = Instant::now();
    session.step(Stage::TlsHandshake, limit);
    session.info(format!("Starting TLS (SNI {sni})"));
    let result = tokio::time::timeout(limit, connector.connect(server_name, io)).await;
    evidence.ms = Some(ms(t0.elapsed()));
    evidence.chain = capture.chain();
    match result {
        Ok(Ok(stream)) => {
            let (_, conn) = stream.get_ref();
            evidence.version = conn.protocol_version().map(crate::tls::version_name);
            evidence.cipher = conn.negotiated_cipher_suite().map(|s| format!("{:?}", s.suite()));
            if let Some(sig) = capture.signature_error() {
                session.error(format!("Server's handshake signature did not verify: {sig}"));
            }
            session.info(format!(
                "TLS established: {} {} ({} certificate(s) received)",
                evidence.version.as_deref().unwrap_or("?"),
                evidence.cipher.as_deref().unwrap_or("?"),
                evidence.chain.len()
            ));
            session.conv.start_tls();
            (evidence, Some(Box::new(stream)))
        }
        Ok(Err(e)) => {
            let text = e.to_string();
            if let Some(alert) = e
                .get_ref()
                .and_then(|inner| inner.downcast_ref::<rustls::Error>())
                .and_then(|r| {
                    if let rustls::Error::AlertReceived(a) = r {
                        Some(format!("{a:?}"))
                    } else {
                        None
                    }
                })
            {
                evidence.alert = Some(alert);
            }
            session.error(format!("TLS handshake failed: {text}"));
            evidence.error = Some(text);
            (evidence, None)
        }
        Err(_) => {
            let text = format!("no TLS handshake within {} s", limit.as_secs());
            session.error(text.clone());
            evidence.error = Some(text);
            (evidence, None)
        }
    }
}

fn placeholder() -> BoxedIo {
    Box::new(tokio::io::join(tokio::io::empty(), tokio::io::sink()))
}

fn partial(session: &Session) -> Option<String> {
    let pending = session.conv.pending();
    (!pending.is_empty()).then(|| escape(pending))
}

fn failure(stage: Stage, kind: FailureKind, message: impl Into<String>) -> ProbeFailure {
    ProbeFailure {
        stage,
        kind,
        message: message.into(),
    }
}

/// A failure before its stage is known.
#[derive(Debug)]
pub struct StepFailure {
    kind: FailureKind,
    pub(crate) message: String,
}

impl StepFailure {
    fn at(self, stage: Stage) -> ProbeFailure {
        ProbeFailure {
            stage,
            kind: self.kind,
            message: self.message,
        }
    }
}

/// The dialogue state shared by the steps: the conversation (transcript, TLS or not,
/// buffered bytes), who is told of each step.
#[derive(Debug)]
pub struct Session {
    conv: Conversation,
    observer: Option<ProbeObserver>,
}

impl Session {
    /// A fresh session whose clock starts now.
    pub fn new() -> Self {
        Session::observed(None)
    }

    /// A fresh session that reports its steps and lines to `observer`.
    pub fn observed(observer: Option<ProbeObserver>) -> Self {
        let lines = observer.clone().map(|tx| {
            Box::new(move |line: &TranscriptLine| {
                let _ = tx.send(ProbeEvent::Line(line.clone()));
            }) as LineObserver
        });
        Session {
            conv: Conversation::new(Transcript::new(Instant::now()).observed(lines)),
            observer,
        }
    }

    fn step(&self, stage: Stage, limit: Duration) {
        if let Some(observer) = &self.observer {
            let _ = observer.send(ProbeEvent::Step { stage, limit });
        }
    }

    /// The transcript so far (bounded: see [`crate::smtp::transcript`]).
    pub fn into_transcript(self) -> Vec<TranscriptLine> {
        self.conv.transcript.into_lines()
    }

    fn info(&mut self, text: String) {
        self.conv.transcript.push(Direction::Info, &text);
    }

    fn error(&mut self, text: String) {
        self.conv.transcript.push(Direction::Error, &text);
    }

    /// Send a command line and read its reply.
    pub(crate) async fn command(
        &mut self,
        io: &mut BoxedIo,
        line: &str,
        limit: Duration,
    ) -> Result<Reply, StepFailure> {
        let t0 = Instant::now();
        let raw = self.conv.command(io, line, limit).await?;
        Ok(reply(raw, t0))
    }

    /// Read one complete reply within `limit`.
    pub(crate) async fn read_reply(
        &mut self,
        io: &mut BoxedIo,
        limit: Duration,
    ) -> Result<Reply, StepFailure> {
        let t0 = Instant::now();
        let raw = self.conv.read_reply(io, limit).await?;
        Ok(reply(raw, t0))
    }
}

fn reply(raw: RawReply, t0: Instant) -> Reply {
    Reply {
        code: raw.code,
        lines: raw.lines,
        ms: ms(t0.elapsed()),
    }
}

impl From<ClientError> for StepFailure {
    fn from(e: ClientError) -> Self {
        let kind = match &e {
            ClientError::Closed { .. } | ClientError::Io(_) => FailureKind::Closed,
            ClientError::WriteTimeout | ClientError::Timeout { .. } => FailureKind::Timeout,
            ClientError::TooSlow { .. } => FailureKind::TooSlow,
            ClientError::TooLong => FailureKind::TooLong,
            ClientError::NotSmtp(_) => FailureKind::NotSmtp,
        };
        StepFailure {
            kind,
            message: e.to_string(),
        }
    }
}

impl Default for Session {
    fn default() -> Self {
        Session::new()
    }
}

fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ca::{LabCa, LeafSpec};
    use crate::smtp::{Faults, Personality, ServerConfig, SmtpServer};
    use tokio::io::AsyncReadExt as _;
    use tokio::net::TcpListener;

    fn quick() -> Timeouts {
        Timeouts {
            connect: Duration::from_secs(2),
            greeting: Duration::from_millis(800),
            command: Duration::from_millis(800),
            tls: Duration::from_secs(2),
        }
    }

    fn request(addr: SocketAddr, timeouts: Timeouts) -> SmtpProbeRequest {
        SmtpProbeRequest {
            host: "mail.contoso.com".into(),
            port: addr.port(),
            addresses: vec![addr.ip()],
            helo: "probe.test".into(),
            sni: None,
            timeouts,
        }
    }

    /// A raw server that runs `behave` on each accepted connection.
    async fn raw_server<F, Fut>(behave: F) -> SocketAddr
    where
        F: Fn(TcpStream) -> Fut + Send + 'static,
        Fut: std::future::Future<Output = ()> + Send + 'static,
    {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(behave(stream));
            }
        });
        addr
    }

    async fn lab_server(faults: Faults) -> (SmtpServer, LabCa) {
        let ca = LabCa::generate(time::OffsetDateTime::now_utc()).unwrap();
        let cert = ca
            .issue(&LeafSpec::server(
                "mail.contoso.com",
                ["mail.contoso.com"],
                time::OffsetDateTime::now_utc(),
            ))
            .unwrap();
        let mut config = ServerConfig::new("mail.contoso.com", Personality::ExchangeEdgeExternal);
        config.tls = Some(crate::tls::server_config(cert.certified_key(true).unwrap()).unwrap());
        config.faults = faults;
        (
            SmtpServer::bind("127.0.0.1:0".parse().unwrap(), config)
                .await
                .unwrap(),
            ca,
        )
    }

    #[tokio::test]
    async fn full_dialogue_with_starttls_captures_chain_and_transcript() {
        let (server, _ca) = lab_server(Faults::default()).await;
        let p = probe_smtp(&request(server.local_addr(), quick())).await;
        assert!(p.failure.is_none(), "{:?}", p.failure);
        assert_eq!(p.banner.as_ref().unwrap().code, 220);
        assert!(p.extensions().contains(&"STARTTLS".to_string()));
        let tls = p.tls.as_ref().unwrap();
        assert_eq!(tls.version.as_deref(), Some("TLSv1.3"));
        assert_eq!(tls.chain.len(), 2, "leaf and intermediate");
        assert!(!p.extensions_tls().contains(&"STARTTLS".to_string()));
        assert!(
            p.transcript
                .iter()
                .any(|l| l.tls && l.dir == Direction::Client && l.text.starts_with("EHLO"))
        );
        assert!(
            p.transcript
                .iter()
                .any(|l| !l.tls && l.dir == Direction::Client && l.text == "STARTTLS")
        );
        assert!(p.transcript.iter().any(|l| l.tls && l.text.starts_with("221")));
    }

    #[tokio::test]
    async fn silent_server_times_out_at_the_greeting() {
        let addr = raw_server(|s| async move {
            tokio::time::sleep(Duration::from_secs(30)).await;
            drop(s);
        })
        .await;
        let t0 = Instant::now();
        let p = probe_smtp(&request(addr, quick())).await;
        assert!(t0.elapsed() < Duration::from_secs(3));
        let f = p.failure.unwrap();
        assert_eq!((f.stage, f.kind), (Stage::Banner, FailureKind::Timeout));
    }

    #[tokio::test]
    async fn garbage_is_not_smtp() {
        let addr = raw_server(|mut s| async move {
            let _ = s
                .write_all(b"\x16\x03\x01\x00\xa5HTTP/1.1 400 Bad Request\r\n")
                .await;
            tokio::time::sleep(Duration::from_secs(2)).await;
        })
        .await;
        let p = probe_smtp(&request(addr, quick())).await;
        let f = p.failure.unwrap();
        assert_eq!((f.stage, f.kind), (Stage::Banner, FailureKind::NotSmtp));
        assert!(
            p.transcript.iter().any(|l| l.text.contains("\\x16\\x03")),
            "{:?}",
            p.transcript
        );
    }

    #[tokio::test]
    async fn huge_lines_are_cut_off() {
        let addr = raw_server(|mut s| async move {
            let _ = s.write_all(b"220 ").await;
            let _ = s.write_all(&[b'x'; 64 * 1024]).await;
            tokio::time::sleep(Duration::from_secs(2)).await;
        })
        .await;
        let p = probe_smtp(&request(addr, quick())).await;
        assert_eq!(p.failure.unwrap().kind, FailureKind::TooLong);
    }

    #[tokio::test]
    async fn slow_drip_is_too_slow_not_silent() {
        let faults = Faults {
            drip: Some(Duration::from_millis(100)),
            ..Faults::default()
        };
        let (server, _ca) = lab_server(faults).await;
        let p = probe_smtp(&request(server.local_addr(), quick())).await;
        let f = p.failure.unwrap();
        assert_eq!(
            (f.stage, f.kind),
            (Stage::Banner, FailureKind::TooSlow),
            "{}",
            f.message
        );
        assert!(p.partial.unwrap().starts_with("220 "));
    }

    #[tokio::test]
    async fn reset_during_tls_is_a_tls_failure() {
        let addr = raw_server(|mut s| async move {
            let _ = s.write_all(b"220 x ESMTP\r\n").await;
            let mut buf = [0u8; 1024];
            let _ = s.read(&mut buf).await;
            let _ = s.write_all(b"250-x\r\n250 STARTTLS\r\n").await;
            let _ = s.read(&mut buf).await;
            let _ = s.write_all(b"220 go ahead\r\n").await;
            let _ = s.read(&mut buf).await; // the ClientHello
            // Abortive close: a reset in the middle of the handshake.
            let std = s.into_std().unwrap();
            let _ = socket2::SockRef::from(&std).set_linger(Some(Duration::ZERO));
            drop(std);
        })
        .await;
        let p = probe_smtp(&request(addr, quick())).await;
        let f = p.failure.unwrap();
        assert_eq!((f.stage, f.kind), (Stage::TlsHandshake, FailureKind::Tls));
        assert!(p.tls.unwrap().error.is_some());
    }

    #[tokio::test]
    async fn legacy_tls_records_the_protocol_version_alert() {
        let now = time::OffsetDateTime::now_utc();
        let ca = LabCa::generate(now).unwrap();
        let spec = LeafSpec::server("mail.contoso.com", ["mail.contoso.com"], now)
            .with_key(crate::ca::LeafKey::Rsa2048);
        let key = ca.issue(&spec).unwrap().certified_key(true).unwrap();
        let legacy = crate::tls_scan::stub::HandshakeOnlyServer::new(
            &[
                crate::tls_suites::Version::Tls10,
                crate::tls_suites::Version::Tls11,
            ],
            &[0x0035],
            &[],
            key,
        );
        let faults = Faults {
            handshake_only: Some(crate::smtp::server::HandshakeOnly(Arc::new(legacy))),
            ..Faults::default()
        };
        let (server, _ca) = lab_server(faults).await;
        let p = probe_smtp(&request(server.local_addr(), quick())).await;
        let tls = p.tls.unwrap();
        assert_eq!(tls.alert.as_deref(), Some("ProtocolVersion"), "{:?}", tls.error);
    }

    #[tokio::test]
    async fn refused_port_is_refused() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        drop(listener);
        let p = probe_smtp(&request(addr, quick())).await;
        assert!(matches!(p.connect, Connect::Refused { .. }), "{:?}", p.connect);
        assert!(p.banner.is_none());
    }
}
