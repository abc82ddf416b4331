//! The SMTP server: one listener, one task per session, bounded in every dimension.
//!
//! It serves the lab's Exchange-like and EOP-like endpoints, with switchable faults (masked banner,
//! stripped STARTTLS, tarpit, slow drip, garbage, legacy-only TLS), and it is the server of the
//! bundled relay (`mailpath relay`): sessions are recorded ([`SessionInfo`], a bounded transcript,
//! the TLS parameters and the client certificate chain), reported to an optional
//! [`SessionObserver`], judged by an optional [`SessionPolicy`] (the EOP role's certificate
//! attribution) and accepted messages go to a [`MessageSink`] whose `accept` completes before the
//! `250` reply.
//!
//! Input handling: command lines are cut by the session itself (bounded by [`Limits::max_line`]) and
//! parsed one at a time with [`smtp_proto`]'s sans-IO parser, except MAIL and RCPT, whose addresses
//! are parsed by [`address`] (RFC 5321 paths, quoted local parts kept); message data goes through its
//! `DataReceiver`/`BdatReceiver` (dot-unstuffing). Bytes a client pipelines after a command or after
//! the end of data stay buffered for the next command, except across STARTTLS, where they are
//! dropped (RFC 3207, STARTTLS command injection).

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use smtp_proto::Request;
use smtp_proto::request::receiver::{BdatReceiver, DataReceiver};
use time::OffsetDateTime;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::address::{self, Domain, EnvelopeCommand, Mailbox, Path, Routing};
use super::io::BoxedIo;
use super::personality::Personality;
use super::reply::escape;
use crate::evidence::{Direction, TranscriptLine};

/// Bytes a garbage-speaking server sends instead of a greeting: binary noise and a stray HTTP line.
const GARBAGE: &[u8] =
    b"\x00\xff\xfe\x1b[2J\x16\x03\x01\xde\xad\xbe\xefHTTP/1.0 400 Bad Request\r\n\xc3\x28\x80\x81\r\n";

/// Most transcript lines kept per session (the rest is counted, not kept).
pub const MAX_TRANSCRIPT_LINES: usize = 500;
/// Longest transcript line kept, in characters (longer lines are cut and marked).
pub const MAX_TRANSCRIPT_TEXT: usize = 512;
/// How much is read from the socket at once while message data flows.
const READ_CHUNK: usize = 16 * 1024;
/// How much is read at once while waiting for a command: idle sessions stay small.
const COMMAND_READ: usize = 1024;

/// Misbehaviour a listener can be switched into, one per lab fault.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Faults {
    /// Wait this long before sending the greeting (a tarpit or anti-spam greeting delay).
    pub greeting_delay: Option<Duration>,
    /// Replace the greeting text with asterisks, as a Cisco ASA "mask-banner" does.
    pub mask_banner: bool,
    /// Remove STARTTLS from the EHLO reply and refuse the command, as an SMTP-inspecting firewall does.
    pub strip_starttls: bool,
    /// Speak non-SMTP bytes instead of SMTP.
    pub garbage: bool,
    /// Send every byte this long after the previous one.
    pub drip: Option<Duration>,
    /// Accept STARTTLS, then answer the ClientHello like a server with other versions and suites
    /// than rustls serves (TLS 1.0/1.1 only, CBC only, RSA key exchange only), up to ServerHelloDone.
    pub handshake_only: Option<std::sync::Arc<crate::tls_scan::stub::HandshakeOnlyServer>>,
    /// Wait this long before every reply (simulated latency, for benchmarks).
    pub reply_delay: Option<Duration>,
}

/// Bounds on what a client may make a session do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Largest message accepted (advertised in SIZE and enforced).
    pub max_message_size: usize,
    /// Most recipients per message.
    pub max_recipients: usize,
    /// Most commands per session.
    pub max_commands: usize,
    /// Most protocol errors before the session is dropped.
    pub max_errors: usize,
    /// How long a session may stay silent.
    pub idle_timeout: Duration,
    /// Most sessions at once; further connections get a 421.
    pub max_sessions: usize,
    /// Longest command line, CRLF included (RFC 5321 4.5.3.1.4 says 512; be a little generous).
    pub max_line: usize,
    /// Longest a whole session may last, however busy (a slow drip of bytes cannot hold it forever).
    pub max_session_time: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_message_size: 36 * 1024 * 1024,
            max_recipients: 200,
            max_commands: 1000,
            max_errors: 10,
            idle_timeout: Duration::from_secs(120),
            max_sessions: 256,
            max_line: 2048,
            max_session_time: Duration::from_secs(30 * 60),
        }
    }
}

/// The TLS parameters of a session, as the server negotiated them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TlsInfo {
    /// The protocol version (`TLSv1.3`).
    pub version: String,
    /// The cipher suite (`TLS13_AES_256_GCM_SHA384`).
    pub cipher: String,
    /// The server name the client asked for (SNI), when it sent one.
    pub sni: Option<String>,
    /// The certificates the client presented, leaf first, DER as base64 (empty: none).
    pub client_chain_der_b64: Vec<String>,
}

impl TlsInfo {
    /// The client certificate chain as DER (entries that do not decode are skipped).
    pub fn client_chain(&self) -> Vec<Vec<u8>> {
        self.client_chain_der_b64
            .iter()
            .filter_map(|c| data_encoding::BASE64.decode(c.as_bytes()).ok())
            .collect()
    }

    /// Whether the negotiated version is TLS 1.2 or newer.
    pub fn is_modern(&self) -> bool {
        matches!(self.version.as_str(), "TLSv1.2" | "TLSv1.3")
    }
}

/// What is known about a session at a point in time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionInfo {
    /// Unique within the process (`S000017`).
    pub id: String,
    /// The client's address.
    pub peer: SocketAddr,
    /// The address the client connected to.
    pub local: SocketAddr,
    /// When the connection was accepted.
    #[serde(with = "time::serde::rfc3339")]
    pub started: OffsetDateTime,
    /// The name the client gave in EHLO/HELO (the latest; reset by STARTTLS).
    pub helo: Option<String>,
    /// The TLS parameters, once STARTTLS completed.
    pub tls: Option<TlsInfo>,
}

/// Something that happened in a session, for observers (the relay's event stream, the GUI).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "kebab-case")]
pub enum SessionEvent {
    /// A connection was accepted and greeted.
    Connected {
        /// The session.
        session: SessionInfo,
    },
    /// A connection was refused because too many sessions were open.
    Refused {
        /// The client's address.
        peer: SocketAddr,
        /// The reply it got.
        reply: String,
    },
    /// STARTTLS completed.
    Tls {
        /// The session id.
        session_id: String,
        /// What was negotiated.
        tls: TlsInfo,
    },
    /// The session ended.
    Closed {
        /// The session as it ended.
        session: SessionInfo,
        /// Why it ended (`quit`, `client closed`, `idle timeout`, ...).
        reason: String,
        /// Messages accepted in it.
        messages: usize,
        /// Milliseconds from accept to close.
        ms: u64,
        /// The dialogue (bounded by [`MAX_TRANSCRIPT_LINES`]); message data is summarised.
        transcript: Vec<TranscriptLine>,
        /// Lines left out of `transcript` because of the bound.
        transcript_dropped: usize,
    },
}

/// Receives [`SessionEvent`]s. Must not block: it is called from the session tasks.
pub trait SessionObserver: Send + Sync {
    /// Take one event.
    fn event(&self, event: SessionEvent);
}

/// A bounded channel is an observer: events that do not fit are dropped, never waited for.
impl SessionObserver for tokio::sync::mpsc::Sender<SessionEvent> {
    fn event(&self, event: SessionEvent) {
        let _ = self.try_send(event);
    }
}

/// Decisions a role makes about a session beyond accepted domains (e.g. EOP's attribution of a
/// connection to a tenant by its client certificate). `Some(reply)` refuses with that reply.
pub trait SessionPolicy: Send + Sync {
    /// Judge `MAIL FROM` (`from`: the parsed mailbox written back, [`address::Mailbox`]; empty for
    /// `<>`).
    fn mail(&self, _session: &SessionInfo, _from: &str) -> Option<String> {
        None
    }
    /// Judge `RCPT TO` (`rcpt`: the parsed mailbox written back; sender-specified routing was
    /// refused before).
    fn rcpt(&self, _session: &SessionInfo, _rcpt: &str) -> Option<String> {
        None
    }
    /// Whether a recipient outside the accepted domains may be relayed in this session (EOP: the
    /// session is attributed to the tenant by its certificate). Asked only after [`Self::rcpt`]
    /// did not refuse; `false` (the default) gives the personality's relay-denied reply.
    fn relays(&self, _session: &SessionInfo, _rcpt: &str) -> bool {
        false
    }
}

/// A message a session accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedMessage {
    /// The client's address.
    pub peer: SocketAddr,
    /// The name the client gave in EHLO/HELO.
    pub helo: String,
    /// Whether the message travelled inside TLS.
    pub tls: bool,
    /// The reverse path, as [`address::Mailbox`] writes it (empty: the null path).
    pub mail_from: String,
    /// The forward paths, as [`address::Mailbox`] writes them, each once.
    pub rcpt_to: Vec<String>,
    /// The message as sent, dot-unstuffed, without the final `.`.
    pub data: Vec<u8>,
    /// The session it arrived in (TLS parameters, client certificate).
    pub session: SessionInfo,
    /// When the end of data arrived.
    pub received_at: OffsetDateTime,
}

/// Where accepted messages go. The reply to DATA is sent only after `accept` returns, so a durable
/// sink makes "250 queued" mean "on disk".
pub trait MessageSink: Send + Sync {
    /// Take a message; `Ok(id)` becomes `250 2.6.0 <id> Queued mail for delivery`, `Err(text)`
    /// becomes `451 4.3.0 <text>`.
    fn accept(
        &self,
        message: ReceivedMessage,
    ) -> Pin<Box<dyn Future<Output = Result<String, String>> + Send + '_>>;
}

/// Everything a listener needs to know.
#[derive(Clone)]
pub struct ServerConfig {
    /// The name in the greeting and the EHLO reply.
    pub hostname: String,
    /// Which server it imitates.
    pub personality: Personality,
    /// The certificate to offer with STARTTLS; `None` = no STARTTLS. Whether a client certificate is
    /// requested is part of this configuration (its client certificate verifier).
    pub tls: Option<Arc<rustls::ServerConfig>>,
    /// Recipient domains accepted; empty = accept every recipient.
    pub accepted_domains: Vec<String>,
    /// Refuse MAIL outside TLS with `451 5.7.3 STARTTLS is required to send mail` (as EOP and
    /// connectors with RequireTLS do).
    pub require_tls: bool,
    /// Switched-on faults.
    pub faults: Faults,
    /// Bounds.
    pub limits: Limits,
    /// Where accepted messages go; `None` = discard them.
    pub sink: Option<Arc<dyn MessageSink>>,
    /// Extra judgement of MAIL/RCPT; `None` = accepted domains only.
    pub policy: Option<Arc<dyn SessionPolicy>>,
    /// Who hears about sessions; `None` = nobody.
    pub observer: Option<Arc<dyn SessionObserver>>,
}

impl std::fmt::Debug for ServerConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerConfig")
            .field("hostname", &self.hostname)
            .field("personality", &self.personality)
            .field("tls", &self.tls.is_some())
            .field("accepted_domains", &self.accepted_domains)
            .field("require_tls", &self.require_tls)
            .field("faults", &self.faults)
            .field("limits", &self.limits)
            .field("sink", &self.sink.is_some())
            .field("policy", &self.policy.is_some())
            .field("observer", &self.observer.is_some())
            .finish()
    }
}

impl ServerConfig {
    /// A configuration with default limits, no faults, no sink, no policy and no observer.
    pub fn new(hostname: impl Into<String>, personality: Personality) -> Self {
        ServerConfig {
            hostname: hostname.into(),
            personality,
            tls: None,
            accepted_domains: Vec::new(),
            require_tls: false,
            faults: Faults::default(),
            limits: Limits::default(),
            sink: None,
            policy: None,
            observer: None,
        }
    }

    fn notify(&self, event: SessionEvent) {
        if let Some(observer) = &self.observer {
            observer.event(event);
        }
    }
}

/// A running SMTP listener. Dropping it stops accepting; [`SmtpServer::shutdown`] also waits.
#[derive(Debug)]
pub struct SmtpServer {
    local_addr: SocketAddr,
    stop: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
}

impl SmtpServer {
    /// Bind `addr` and start serving.
    ///
    /// # Errors
    /// When the address cannot be bound.
    pub async fn bind(addr: SocketAddr, config: ServerConfig) -> std::io::Result<SmtpServer> {
        let listener = TcpListener::bind(addr).await?;
        SmtpServer::from_listener(listener, config)
    }

    /// Serve on an already bound listener.
    ///
    /// # Errors
    /// When the listener's address cannot be read.
    pub fn from_listener(listener: TcpListener, config: ServerConfig) -> std::io::Result<SmtpServer> {
        let local_addr = listener.local_addr()?;
        let (stop, mut stopped) = watch::channel(false);
        let config = Arc::new(config);
        let sessions = Arc::new(tokio::sync::Semaphore::new(config.limits.max_sessions));
        let task = tokio::spawn(async move {
            loop {
                let accepted = tokio::select! {
                    _ = stopped.changed() => break,
                    accepted = listener.accept() => accepted,
                };
                let Ok((stream, peer)) = accepted else {
                    // Out of file descriptors and the like: back off instead of spinning.
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                };
                let config = Arc::clone(&config);
                let mut stop_session = stopped.clone();
                match Arc::clone(&sessions).try_acquire_owned() {
                    Ok(permit) => {
                        tokio::spawn(async move {
                            tokio::select! {
                                _ = stop_session.changed() => {}
                                _ = run_session(stream, peer, &config) => {}
                            }
                            drop(permit);
                        });
                    }
                    Err(_) => {
                        tokio::spawn(async move {
                            let reply = "421 4.3.2 Too many sessions, try again later";
                            config.notify(SessionEvent::Refused {
                                peer,
                                reply: reply.to_string(),
                            });
                            let mut stream = stream;
                            let line = format!("{reply}\r\n");
                            let write = stream.write_all(line.as_bytes());
                            let _ = tokio::time::timeout(Duration::from_secs(5), write).await;
                        });
                    }
                }
            }
        });
        Ok(SmtpServer {
            local_addr,
            stop,
            task: Some(task),
        })
    }

    /// The address the listener is bound to.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Stop accepting and end every session.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

/// Why a session phase ended.
enum PhaseEnd {
    /// The client quit, timed out or misbehaved; the connection closes.
    Close,
    /// The client asked for STARTTLS and got 220: run the handshake, then a new phase.
    StartTls,
}

/// A bounded, timestamped record of the dialogue.
struct Transcript {
    started: Instant,
    lines: Vec<TranscriptLine>,
    dropped: usize,
}

impl Transcript {
    fn push(&mut self, dir: Direction, tls: bool, text: &str) {
        if self.lines.len() >= MAX_TRANSCRIPT_LINES {
            self.dropped += 1;
            return;
        }
        let text = if text.chars().count() > MAX_TRANSCRIPT_TEXT {
            let cut: String = text.chars().take(MAX_TRANSCRIPT_TEXT).collect();
            format!("{cut}... ({} bytes)", text.len())
        } else {
            text.to_string()
        };
        let ms = u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.lines.push(TranscriptLine { ms, dir, tls, text });
    }
}

/// A line read by [`Session::next_line`].
enum LineRead {
    /// A command line, with its line end.
    Line(Vec<u8>),
    /// More than [`Limits::max_line`] bytes without a line end; the rest of the line is skipped.
    TooLong,
    /// The session is over (closed, idle, time limit).
    End,
}

/// A session's protocol state, kept across the STARTTLS boundary (minus what RFC 3207 resets).
struct Session<'a> {
    config: &'a ServerConfig,
    info: SessionInfo,
    io: BoxedIo,
    /// Received bytes not consumed yet (pipelined commands, data after a command line).
    inbuf: Vec<u8>,
    /// Discarding the rest of an overlong line.
    skipping: bool,
    mail_from: Option<String>,
    rcpt_to: Vec<String>,
    /// BDAT chunks of the current transaction, and whether they overflowed the size limit.
    bdat: Option<(Vec<u8>, bool)>,
    commands: usize,
    errors: usize,
    messages: usize,
    transcript: Transcript,
    deadline: tokio::time::Instant,
    end_reason: &'static str,
}

fn next_session_id() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    format!("S{:06}", NEXT.fetch_add(1, Ordering::Relaxed))
}

async fn run_session(stream: TcpStream, peer: SocketAddr, config: &ServerConfig) {
    let _ = stream.set_nodelay(true);
    let local = stream.local_addr().unwrap_or(peer);
    let started = Instant::now();
    let mut session = Session {
        config,
        info: SessionInfo {
            id: next_session_id(),
            peer,
            local,
            started: OffsetDateTime::now_utc(),
            helo: None,
            tls: None,
        },
        io: Box::new(stream),
        inbuf: Vec::new(),
        skipping: false,
        mail_from: None,
        rcpt_to: Vec::new(),
        bdat: None,
        commands: 0,
        errors: 0,
        messages: 0,
        transcript: Transcript {
            started,
            lines: Vec::new(),
            dropped: 0,
        },
        deadline: tokio::time::Instant::now() + config.limits.max_session_time,
        end_reason: "client closed the connection",
    };
    session.serve().await;
    let _ = tokio::time::timeout(Duration::from_secs(5), session.io.shutdown()).await;
    config.notify(SessionEvent::Closed {
        session: session.info.clone(),
        reason: session.end_reason.to_string(),
        messages: session.messages,
        ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        transcript: std::mem::take(&mut session.transcript.lines),
        transcript_dropped: session.transcript.dropped,
    });
}

impl Session<'_> {
    async fn serve(&mut self) {
        let config = self.config;
        if let Some(delay) = config.faults.greeting_delay {
            tokio::time::sleep(delay).await;
        }
        if config.faults.garbage {
            self.garbage().await;
            return;
        }
        config.notify(SessionEvent::Connected {
            session: self.info.clone(),
        });
        self.transcript.push(
            Direction::Info,
            false,
            &format!("connection from {} to {}", self.info.peer, self.info.local),
        );
        let greeting = if config.faults.mask_banner {
            // What a masking firewall leaves of "220 host Microsoft ESMTP MAIL Service ready at ...".
            "220 ****************************************************0*2******0***********2*****".to_string()
        } else {
            format!(
                "220 {}",
                config
                    .personality
                    .banner(&config.hostname, OffsetDateTime::now_utc())
            )
        };
        if self.send(&greeting).await.is_err() {
            return;
        }
        loop {
            match self.phase().await {
                PhaseEnd::Close => break,
                PhaseEnd::StartTls => {
                    if let Some(server) = config.faults.handshake_only.clone() {
                        self.inbuf.clear();
                        let limit = self.config.limits.idle_timeout.min(self.time_left());
                        let what = server.serve(&mut self.io, limit).await;
                        self.transcript.push(Direction::Info, false, &what);
                        self.end_reason = "handshake-only TLS (lab fault)";
                        break;
                    }
                    if !self.start_tls().await {
                        break;
                    }
                }
            }
        }
    }

    /// Run the TLS handshake after `220` to STARTTLS; `false` when it failed.
    async fn start_tls(&mut self) -> bool {
        let Some(tls) = self.config.tls.clone() else {
            return false;
        };
        // RFC 3207: nothing the client sent before the handshake may be used after it.
        self.inbuf.clear();
        let plain = std::mem::replace(
            &mut self.io,
            Box::new(tokio::io::join(tokio::io::empty(), tokio::io::sink())),
        );
        let acceptor = tokio_rustls::TlsAcceptor::from(tls);
        let limit = self.config.limits.idle_timeout.min(self.time_left());
        let tls_stream = match tokio::time::timeout(limit, acceptor.accept(plain)).await {
            Ok(Ok(stream)) => stream,
            Ok(Err(error)) => {
                self.transcript
                    .push(Direction::Error, false, &format!("TLS handshake failed: {error}"));
                self.end_reason = "TLS handshake failed";
                return false;
            }
            Err(_) => {
                self.transcript
                    .push(Direction::Error, false, "TLS handshake timed out");
                self.end_reason = "TLS handshake timed out";
                return false;
            }
        };
        let (_, conn) = tls_stream.get_ref();
        let info = TlsInfo {
            version: conn
                .protocol_version()
                .map(crate::tls::version_name)
                .unwrap_or_default(),
            cipher: conn
                .negotiated_cipher_suite()
                .map(|s| format!("{:?}", s.suite()))
                .unwrap_or_default(),
            sni: conn.server_name().map(str::to_string),
            client_chain_der_b64: conn
                .peer_certificates()
                .map(|chain| chain.iter().map(|c| data_encoding::BASE64.encode(c)).collect())
                .unwrap_or_default(),
        };
        self.io = Box::new(tls_stream);
        self.transcript.push(
            Direction::Info,
            true,
            &format!(
                "TLS established: {} {}{}, client certificates: {}",
                info.version,
                info.cipher,
                info.sni
                    .as_deref()
                    .map(|s| format!(", SNI {s}"))
                    .unwrap_or_default(),
                info.client_chain_der_b64.len()
            ),
        );
        self.config.notify(SessionEvent::Tls {
            session_id: self.info.id.clone(),
            tls: info.clone(),
        });
        self.info.tls = Some(info);
        // RFC 3207 4.2: forget everything learnt before TLS.
        self.info.helo = None;
        self.reset_transaction();
        true
    }

    fn in_tls(&self) -> bool {
        self.info.tls.is_some()
    }

    fn time_left(&self) -> Duration {
        self.deadline
            .saturating_duration_since(tokio::time::Instant::now())
    }

    /// Write one reply line (or several, already joined with CRLF), honouring the drip fault.
    async fn send(&mut self, reply: &str) -> std::io::Result<()> {
        let tls = self.in_tls();
        for line in reply.split("\r\n") {
            self.transcript.push(Direction::Server, tls, line);
        }
        let mut bytes = reply.as_bytes().to_vec();
        bytes.extend_from_slice(b"\r\n");
        self.send_raw(&bytes).await
    }

    async fn send_raw(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        if let Some(delay) = self.config.faults.reply_delay {
            tokio::time::sleep(delay).await;
        }
        let limit = self.config.limits.idle_timeout;
        if let Some(every) = self.config.faults.drip {
            for byte in bytes {
                write_bounded(&mut self.io, std::slice::from_ref(byte), limit).await?;
                tokio::time::sleep(every).await;
            }
            return Ok(());
        }
        write_bounded(&mut self.io, bytes, limit).await
    }

    /// Read more bytes (up to about `chunk`) into `inbuf`; `false` when the session is over (and why
    /// is noted).
    async fn fill(&mut self, chunk: usize) -> bool {
        let left = self.time_left();
        if left.is_zero() {
            let _ = self.send("421 4.4.2 Session time limit exceeded").await;
            self.end_reason = "session time limit";
            return false;
        }
        let limit = self.config.limits.idle_timeout.min(left);
        self.inbuf.reserve(chunk);
        match tokio::time::timeout(limit, self.io.read_buf(&mut self.inbuf)).await {
            Ok(Ok(0)) => {
                self.end_reason = "client closed the connection";
                false
            }
            Ok(Err(_)) => {
                self.end_reason = "connection error";
                false
            }
            Ok(Ok(_)) => true,
            Err(_) if limit < self.config.limits.idle_timeout => {
                let _ = self.send("421 4.4.2 Session time limit exceeded").await;
                self.end_reason = "session time limit";
                false
            }
            Err(_) => {
                let _ = self.send("421 4.4.2 Connection timed out (idle)").await;
                self.end_reason = "idle timeout";
                false
            }
        }
    }

    /// The next command line, bounded by [`Limits::max_line`].
    async fn next_line(&mut self) -> LineRead {
        let max = self.config.limits.max_line;
        loop {
            if let Some(pos) = self.inbuf.iter().position(|&b| b == b'\n') {
                let line: Vec<u8> = self.inbuf.drain(..=pos).collect();
                if self.skipping {
                    // The tail of an overlong line: already answered.
                    self.skipping = false;
                    continue;
                }
                if line.len() > max {
                    return LineRead::TooLong;
                }
                return LineRead::Line(line);
            }
            if self.skipping {
                self.inbuf.clear();
            } else if self.inbuf.len() > max {
                self.inbuf.clear();
                self.skipping = true;
                return LineRead::TooLong;
            }
            if !self.fill(COMMAND_READ).await {
                return LineRead::End;
            }
        }
    }

    /// A garbage server: noise instead of a greeting, noise for every line the client sends.
    async fn garbage(&mut self) {
        if self.send_raw(GARBAGE).await.is_err() {
            return;
        }
        for _ in 0..16 {
            self.inbuf.clear();
            if !self.fill(COMMAND_READ).await {
                return;
            }
            if self.send_raw(GARBAGE).await.is_err() {
                return;
            }
        }
    }

    /// A TLS-1.0-only server meeting a client that requires TLS 1.2+: read the ClientHello,
    /// answer with a fatal protocol_version alert, hang up.
    /// Serve commands until the session ends or STARTTLS succeeds.
    async fn phase(&mut self) -> PhaseEnd {
        loop {
            let line = match self.next_line().await {
                LineRead::Line(line) => line,
                LineRead::End => return PhaseEnd::Close,
                LineRead::TooLong => {
                    let tls = self.in_tls();
                    self.transcript.push(
                        Direction::Error,
                        tls,
                        &format!("command line longer than {} bytes", self.config.limits.max_line),
                    );
                    if self.error_reply("500 5.5.2 Line too long").await {
                        return PhaseEnd::Close;
                    }
                    continue;
                }
            };
            let tls = self.in_tls();
            let shown = transcript_text(&line);
            self.transcript.push(Direction::Client, tls, &shown);
            self.commands += 1;
            if self.commands > self.config.limits.max_commands {
                let _ = self.send("421 4.7.0 Too many commands").await;
                self.end_reason = "too many commands";
                return PhaseEnd::Close;
            }
            // MAIL and RCPT are parsed by our address parser, never by smtp-proto's (which drops
            // quotes and source routes): what is judged is what is stored and forwarded.
            if let Some(command) = address::parse_command(&line) {
                let reply = match command {
                    Ok(EnvelopeCommand::Mail { path, size }) => self.mail(path, size),
                    Ok(EnvelopeCommand::Rcpt { path }) => self.rcpt(path),
                    Err(error) => {
                        if self.error_reply(&error.reply()).await {
                            return PhaseEnd::Close;
                        }
                        continue;
                    }
                };
                if self.send(&reply).await.is_err() {
                    self.end_reason = "connection error";
                    return PhaseEnd::Close;
                }
                continue;
            }
            let request = match Request::parse(&mut line.iter()) {
                Ok(request) => request.into_owned(),
                Err(error) => {
                    if self.error_reply(&protocol_error_reply(&error)).await {
                        return PhaseEnd::Close;
                    }
                    continue;
                }
            };
            match self.handle(request).await {
                Step::Continue => {}
                Step::Close => return PhaseEnd::Close,
                Step::StartTls => return PhaseEnd::StartTls,
            }
        }
    }

    /// Send an error reply and count it; `true` when the session should end.
    async fn error_reply(&mut self, reply: &str) -> bool {
        self.errors += 1;
        if self.send(reply).await.is_err() {
            self.end_reason = "connection error";
            return true;
        }
        if self.errors >= self.config.limits.max_errors {
            let _ = self.send("421 4.7.0 Too many errors").await;
            self.end_reason = "too many errors";
            return true;
        }
        false
    }

    async fn handle(&mut self, request: Request<String>) -> Step {
        let reply = match request {
            Request::Ehlo { host } => {
                let mut lines = vec![
                    self.config
                        .personality
                        .ehlo_greeting(&self.config.hostname, self.info.peer.ip()),
                ];
                let tls_available = self.config.tls.is_some() || self.config.faults.handshake_only.is_some();
                let mut ext = self.config.personality.extensions(
                    tls_available,
                    self.in_tls(),
                    self.config.limits.max_message_size,
                );
                if self.config.faults.strip_starttls {
                    // An inspecting firewall rewrites the keywords it does not allow.
                    for e in &mut ext {
                        if e == "STARTTLS" || e == "X-ANONYMOUSTLS" || e.starts_with("X-EXPS") {
                            *e = "XXXXXXXA".to_string();
                        }
                    }
                }
                lines.extend(ext);
                self.info.helo = Some(host);
                self.reset_transaction();
                multiline(250, &lines)
            }
            Request::Helo { host } | Request::Lhlo { host } => {
                self.info.helo = Some(host);
                self.reset_transaction();
                format!("250 {} Hello [{}]", self.config.hostname, self.info.peer.ip())
            }
            Request::StartTls => {
                let can = (self.config.tls.is_some() || self.config.faults.handshake_only.is_some())
                    && !self.config.faults.strip_starttls;
                if self.in_tls() {
                    "503 5.5.1 TLS already active".to_string()
                } else if !can {
                    "500 5.3.3 Unrecognized command".to_string()
                } else {
                    if self.send("220 2.0.0 SMTP server ready").await.is_err() {
                        self.end_reason = "connection error";
                        return Step::Close;
                    }
                    return Step::StartTls;
                }
            }
            // Parsed before smtp-proto sees them (see `phase`); a line only smtp-proto reads as MAIL or
            // RCPT is not one.
            Request::Mail { .. } | Request::Rcpt { .. } => "500 5.5.2 Syntax error".to_string(),
            Request::Data => {
                if self.bdat.is_some() {
                    "503 5.5.1 DATA not allowed after BDAT".to_string()
                } else if self.rcpt_to.is_empty() {
                    "503 5.5.1 Need RCPT command".to_string()
                } else {
                    if self
                        .send("354 Start mail input; end with <CRLF>.<CRLF>")
                        .await
                        .is_err()
                    {
                        self.end_reason = "connection error";
                        return Step::Close;
                    }
                    return self.receive_data().await;
                }
            }
            Request::Bdat { chunk_size, is_last } => {
                if self.rcpt_to.is_empty() {
                    // The chunk still has to be read past, or its bytes would be taken as commands.
                    if !self.skip_chunk(chunk_size).await {
                        return Step::Close;
                    }
                    "503 5.5.1 Need RCPT command".to_string()
                } else {
                    return self.receive_bdat(chunk_size, is_last).await;
                }
            }
            Request::Rset => {
                self.reset_transaction();
                "250 2.0.0 Resetting".to_string()
            }
            Request::Noop { .. } => "250 2.0.0 OK".to_string(),
            Request::Quit => {
                let _ = self
                    .send(&format!(
                        "221 2.0.0 {} Service closing transmission channel",
                        self.config.hostname
                    ))
                    .await;
                self.end_reason = "quit";
                return Step::Close;
            }
            Request::Vrfy { .. } => "252 2.1.5 Cannot VRFY user".to_string(),
            Request::Help { .. } => "214 2.0.0 See RFC 5321".to_string(),
            Request::Auth { .. } => "504 5.7.4 Unrecognized authentication type".to_string(),
            _ => "502 5.3.3 Command not implemented".to_string(),
        };
        if self.send(&reply).await.is_err() {
            self.end_reason = "connection error";
            Step::Close
        } else {
            Step::Continue
        }
    }

    fn mail(&mut self, path: Path, size: Option<u64>) -> String {
        if self.info.helo.is_none() {
            return "503 5.5.1 Send hello first".to_string();
        }
        if self.mail_from.is_some() {
            return "503 5.5.1 Sender already specified".to_string();
        }
        if self.config.require_tls && !self.in_tls() {
            return "451 5.7.3 STARTTLS is required to send mail".to_string();
        }
        let max = u64::try_from(self.config.limits.max_message_size).unwrap_or(u64::MAX);
        if size.is_some_and(|size| size > max) {
            return "552 5.3.4 Message size exceeds fixed maximum message size".to_string();
        }
        // A source route in the reverse-path is ignored (RFC 5321 appendix C): bounces go to the
        // mailbox.
        let address = match path {
            Path::Mailbox { mailbox, .. } => mailbox.to_string(),
            Path::Null | Path::Postmaster => String::new(),
        };
        if let Some(policy) = &self.config.policy
            && let Some(refusal) = policy.mail(&self.info, &address)
        {
            return refusal;
        }
        let reply = format!("250 2.1.0 Sender OK <{address}>");
        self.mail_from = Some(address);
        reply
    }

    fn rcpt(&mut self, path: Path) -> String {
        if self.mail_from.is_none() {
            return "503 5.5.1 Need MAIL command".to_string();
        }
        let mailbox = match path {
            Path::Mailbox {
                source_route: true, ..
            } => return routing_refused(Routing::SourceRoute),
            Path::Mailbox { mailbox, .. } => mailbox,
            // RFC 5321 4.5.1: <Postmaster> is the organisation's postmaster, as Exchange resolves it
            // (its default accepted domain; the server's own name when every domain is accepted).
            Path::Postmaster | Path::Null => {
                let domain = self
                    .config
                    .accepted_domains
                    .first()
                    .map_or(self.config.hostname.as_str(), String::as_str);
                match Domain::parse(domain.strip_suffix('.').unwrap_or(domain))
                    .and_then(|d| Mailbox::new("Postmaster", d))
                {
                    Ok(mailbox) => mailbox,
                    Err(_) => return "550 5.1.1 No postmaster here".to_string(),
                }
            }
        };
        if let Some(routing) = mailbox.routing() {
            return routing_refused(routing);
        }
        let address = mailbox.to_string();
        // The same recipient twice in one transaction is accepted and delivered once. Written
        // forms of the same recipient differ at most in ASCII case (`Mailbox::same_recipient`).
        if self.rcpt_to.iter().any(|r| r.eq_ignore_ascii_case(&address)) {
            return format!("250 2.1.5 Recipient OK <{address}> (duplicate, delivered once)");
        }
        if self.rcpt_to.len() >= self.config.limits.max_recipients {
            return "452 4.5.3 Too many recipients".to_string();
        }
        if let Some(policy) = &self.config.policy
            && let Some(refusal) = policy.rcpt(&self.info, &address)
        {
            return refusal;
        }
        if !self.accepts(&mailbox)
            && !self
                .config
                .policy
                .as_ref()
                .is_some_and(|p| p.relays(&self.info, &address))
        {
            return self.config.personality.relay_denied().to_string();
        }
        let reply = format!("250 2.1.5 Recipient OK <{address}>");
        self.rcpt_to.push(address);
        reply
    }

    fn accepts(&self, mailbox: &Mailbox) -> bool {
        self.config.accepted_domains.is_empty() || mailbox.in_domains(&self.config.accepted_domains)
    }

    fn reset_transaction(&mut self) {
        self.mail_from = None;
        self.rcpt_to.clear();
        self.bdat = None;
    }

    /// Read the DATA body (dot-unstuffed by smtp-proto), bounded by the size limit: an oversized
    /// message is read to its end and discarded, then refused with 552.
    async fn receive_data(&mut self) -> Step {
        let max = self.config.limits.max_message_size;
        let mut receiver = DataReceiver::new();
        let mut message = Vec::new();
        let mut scratch = Vec::new();
        let mut too_big = false;
        let mut total = 0usize;
        loop {
            let mut bytes = self.inbuf.iter();
            let target = if too_big { &mut scratch } else { &mut message };
            let done = receiver.ingest(&mut bytes, target);
            let consumed = self.inbuf.len() - bytes.as_slice().len();
            self.inbuf.drain(..consumed);
            total = total.saturating_add(consumed);
            if !too_big && message.len() > max {
                too_big = true;
                message = Vec::new();
            }
            scratch.clear();
            if done {
                let tls = self.in_tls();
                self.transcript.push(
                    Direction::Client,
                    tls,
                    &format!("({total} bytes of message data)"),
                );
                return self.finish_message(message, too_big).await;
            }
            if !self.fill(READ_CHUNK).await {
                return Step::Close;
            }
        }
    }

    /// Read past a BDAT chunk that is refused.
    async fn skip_chunk(&mut self, size: usize) -> bool {
        let mut left = size;
        loop {
            let take = left.min(self.inbuf.len());
            self.inbuf.drain(..take);
            left -= take;
            if left == 0 {
                return true;
            }
            if !self.fill(READ_CHUNK).await {
                return false;
            }
        }
    }

    async fn receive_bdat(&mut self, size: usize, is_last: bool) -> Step {
        let max = self.config.limits.max_message_size;
        let (mut data, mut too_big) = self.bdat.take().unwrap_or_default();
        if too_big || data.len().saturating_add(size) > max {
            too_big = true;
            data = Vec::new();
            if !self.skip_chunk(size).await {
                return Step::Close;
            }
        } else {
            let mut receiver = BdatReceiver::new(size, is_last);
            loop {
                let mut bytes = self.inbuf.iter();
                let done = receiver.ingest(&mut bytes, &mut data);
                let consumed = self.inbuf.len() - bytes.as_slice().len();
                self.inbuf.drain(..consumed);
                if done {
                    break;
                }
                if !self.fill(READ_CHUNK).await {
                    return Step::Close;
                }
            }
        }
        let tls = self.in_tls();
        self.transcript
            .push(Direction::Client, tls, &format!("({size} bytes of BDAT chunk)"));
        if !is_last {
            let reply = if too_big {
                "552 5.3.4 Message size exceeds fixed maximum message size".to_string()
            } else {
                format!("250 2.0.0 {size} bytes received")
            };
            self.bdat = Some((data, too_big));
            return if self.send(&reply).await.is_err() {
                self.end_reason = "connection error";
                Step::Close
            } else {
                Step::Continue
            };
        }
        self.finish_message(data, too_big).await
    }

    async fn finish_message(&mut self, data: Vec<u8>, too_big: bool) -> Step {
        // Back to command size: a session that carried a large message does not keep its buffer.
        self.inbuf.shrink_to(COMMAND_READ);
        let reply = if too_big {
            "552 5.3.4 Message size exceeds fixed maximum message size".to_string()
        } else {
            let message = ReceivedMessage {
                peer: self.info.peer,
                helo: self.info.helo.clone().unwrap_or_default(),
                tls: self.in_tls(),
                mail_from: self.mail_from.clone().unwrap_or_default(),
                rcpt_to: self.rcpt_to.clone(),
                data,
                session: self.info.clone(),
                received_at: OffsetDateTime::now_utc(),
            };
            match &self.config.sink {
                None => {
                    self.messages += 1;
                    format!(
                        "250 2.6.0 <{}@{}> Queued mail for delivery",
                        message_id(),
                        self.config.hostname
                    )
                }
                Some(sink) => match sink.accept(message).await {
                    Ok(id) => {
                        self.messages += 1;
                        format!("250 2.6.0 <{id}> Queued mail for delivery")
                    }
                    Err(why) => format!("451 4.3.0 {why}"),
                },
            }
        };
        self.reset_transaction();
        if self.send(&reply).await.is_err() {
            self.end_reason = "connection error";
            Step::Close
        } else {
            Step::Continue
        }
    }
}

enum Step {
    Continue,
    Close,
    StartTls,
}

async fn write_bounded(io: &mut BoxedIo, bytes: &[u8], limit: Duration) -> std::io::Result<()> {
    let write = async {
        io.write_all(bytes).await?;
        io.flush().await
    };
    match tokio::time::timeout(limit, write).await {
        Ok(result) => result,
        Err(_) => Err(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            "the client does not read",
        )),
    }
}

/// A command line as the transcript shows it: escaped, without its line end, AUTH credentials
/// masked.
fn transcript_text(line: &[u8]) -> String {
    let shown = escape(line.strip_suffix(b"\n").unwrap_or(line));
    let shown = shown.strip_suffix("\\x0d").unwrap_or(&shown);
    let mut words = shown.splitn(3, ' ');
    match (words.next(), words.next(), words.next()) {
        (Some(cmd), Some(mechanism), Some(_)) if cmd.eq_ignore_ascii_case("AUTH") => {
            format!("{cmd} {mechanism} ***")
        }
        _ => shown.to_string(),
    }
}

/// The reply to a command line that did not parse.
fn protocol_error_reply(error: &smtp_proto::Error) -> String {
    match error {
        smtp_proto::Error::ResponseTooLong => "500 5.5.2 Line too long".to_string(),
        smtp_proto::Error::UnknownCommand => "500 5.3.3 Unrecognized command".to_string(),
        smtp_proto::Error::InvalidSenderAddress => "501 5.1.7 Invalid address".to_string(),
        smtp_proto::Error::InvalidRecipientAddress => "501 5.1.3 Invalid address".to_string(),
        smtp_proto::Error::SyntaxError { syntax } => format!("501 5.5.4 Syntax: {syntax}"),
        smtp_proto::Error::InvalidParameter { param } => format!("501 5.5.4 Invalid parameter {param}"),
        smtp_proto::Error::UnsupportedParameter { .. } => "504 5.5.4 Unsupported parameter".to_string(),
        _ => "500 5.5.2 Syntax error".to_string(),
    }
}

/// Whether `address` (a mailbox as the session stores it, see [`address::Mailbox`]) is in one of
/// `domains` (empty = every address is accepted). An address that does not parse is in none.
pub fn domain_accepted(domains: &[String], address: &str) -> bool {
    domains.is_empty() || Mailbox::parse(address).is_ok_and(|m| m.in_domains(domains))
}

/// The refusal of sender-specified routing, as Postfix's `reject_unauth_destination` refuses it
/// (`allow_untrusted_routing = no`): a relay must not let a client route through it to a host of its
/// choosing.
fn routing_refused(routing: Routing) -> String {
    format!(
        "550 5.7.1 Relay access denied: sender-specified routing ({}) is not accepted",
        routing.describe()
    )
}

/// Join reply lines into one multi-line reply (`250-a`, `250-b`, `250 c`).
pub fn multiline(code: u16, lines: &[String]) -> String {
    let mut out = String::new();
    for (i, line) in lines.iter().enumerate() {
        if i > 0 {
            out.push_str("\r\n");
        }
        let sep = if i + 1 == lines.len() { ' ' } else { '-' };
        out.push_str(&format!("{code}{sep}{line}"));
    }
    out
}

fn message_id() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let t = OffsetDateTime::now_utc().unix_timestamp();
    format!("{t:x}.{n:04x}")
}

#[cfg(test)]
mod tests;
