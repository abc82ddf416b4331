//! The SMTP server: one listener, one task per session, bounded in every dimension. This module holds
//! the configuration, the session's types and the listener; the session itself (over any byte stream,
//! [`serve_session`]) is in `server/session.rs`, the time it reads comes from [`ServerConfig::clock`].
//!
//! It serves the lab's Exchange-like and EOP-like endpoints, with switchable faults (masked banner,
//! stripped STARTTLS, tarpit, slow drip, garbage, legacy-only TLS), and it is the server of the
//! bundled relay (`mailpath relay`): sessions are recorded ([`SessionInfo`], a bounded transcript,
//! the TLS parameters and the client certificate chain), reported to an optional
//! [`SessionObserver`], judged by an optional [`SessionPolicy`] (the EOP role's certificate
//! attribution) and accepted messages go to a [`MessageSink`] whose [`MessageWriter::commit`]
//! completes before the `250` reply.
//!
//! Input handling: command lines are cut by the session itself (bounded by [`Limits::max_line`]) and
//! parsed one at a time with [`smtp_proto`]'s sans-IO parser, except MAIL and RCPT, whose addresses
//! are parsed by [`address`] (RFC 5321 paths, quoted local parts kept); message content goes through
//! [`super::data`] (only `<CRLF>.<CRLF>` ends it, dots are unstuffed, a bare CR or LF refuses the
//! message with `550 5.6.11`) and is handed to the sink's [`MessageWriter`] as it arrives, so a
//! session holds a bounded amount of it whatever the message size. Bytes a client pipelines after a
//! command or after the end of data stay buffered for the next command, except across STARTTLS,
//! where they are dropped (RFC 3207, STARTTLS command injection).

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use smtp_proto::Request;
use time::OffsetDateTime;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::address::{self, Domain, EnvelopeCommand, Mailbox, Path, Routing};
use super::data::{BARE_LINE_END_REPLY, BareLineEnd, DataReader, LineEnds};
use super::io::BoxedIo;
use super::personality::Personality;
use super::reply::escape;
use super::transcript::Transcript;
use crate::evidence::{Direction, TranscriptLine};

/// Connections being refused (`421 4.3.2`) at once; further ones wait in the listen backlog, so a
/// flood of connections cannot use up file descriptors and each still gets its 421.
pub const MAX_REFUSING: usize = 8;

/// Answers a TLS ClientHello itself after STARTTLS, up to the end of the server's first flight, and says
/// in words what it did (the lab's servers of TLS versions and suites rustls does not serve:
/// `tls_scan::stub::HandshakeOnlyServer`).
pub trait HandshakeResponder: Send + Sync {
    /// Read the ClientHello from `io` and answer it, within `limit`.
    fn respond<'a>(
        &'a self,
        io: &'a mut BoxedIo,
        limit: Duration,
    ) -> Pin<Box<dyn Future<Output = String> + Send + 'a>>;
}

/// A [`HandshakeResponder`] a listener hands its STARTTLS sessions to (equal when it is the same one).
#[derive(Clone)]
pub struct HandshakeOnly(pub Arc<dyn HandshakeResponder>);

impl std::fmt::Debug for HandshakeOnly {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HandshakeOnly(..)")
    }
}

impl PartialEq for HandshakeOnly {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for HandshakeOnly {}

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
    pub handshake_only: Option<HandshakeOnly>,
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
        /// The dialogue (bounded by [`super::transcript::MAX_LINES`]); message data is summarised.
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

/// A message a session accepted (its envelope; the content went to the sink's [`MessageWriter`]).
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
    /// The size of the content in bytes (dot-unstuffed, without the final `.`).
    pub size: usize,
    /// The session it arrived in (TLS parameters, client certificate).
    pub session: SessionInfo,
    /// When the end of data arrived.
    pub received_at: OffsetDateTime,
}

/// What a [`MessageSink`] or [`MessageWriter`] returns: `Err(text)` becomes `451 4.3.0 <text>`.
pub type SinkFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, String>> + Send + 'a>>;

/// Where accepted messages go. The content is handed over as it arrives, to one [`MessageWriter`]
/// per message, so that a session never holds more than a bounded part of a message; the reply to
/// the end of data is sent only after [`MessageWriter::commit`] returns, so a durable sink makes
/// "250 queued" mean "on disk".
pub trait MessageSink: Send + Sync {
    /// A writer for the content of a new message (at `DATA`, or at the first `BDAT` chunk). Dropping
    /// it without [`MessageWriter::commit`] discards what it holds (client gone, message refused,
    /// `RSET`).
    fn writer(&self) -> Box<dyn MessageWriter>;
}

/// The content of one message on its way into a [`MessageSink`].
pub trait MessageWriter: Send {
    /// The next bytes of the content, in order (dot-unstuffed). An error ends the transaction: the
    /// rest of the content is read and dropped, and the reply is `451 4.3.0 <text>`.
    fn write<'a>(&'a mut self, bytes: &'a [u8]) -> SinkFuture<'a, ()>;

    /// The content is complete: take the message. `Ok(id)` becomes
    /// `250 2.6.0 <id> Queued mail for delivery`.
    fn commit(self: Box<Self>, message: ReceivedMessage) -> SinkFuture<'static, String>;
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
    /// The time of the greeting's date, of a session's start and of a message's arrival (the system
    /// clock unless a test fixes it, as the checks' clock is).
    pub clock: Clock,
}

/// Where a server reads the time.
pub type Clock = Arc<dyn Fn() -> OffsetDateTime + Send + Sync>;

/// The system clock.
pub fn system_clock() -> Clock {
    Arc::new(OffsetDateTime::now_utc)
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
            clock: system_clock(),
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
        let refusing = Arc::new(tokio::sync::Semaphore::new(MAX_REFUSING));
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
                        let Ok(refusal) = Arc::clone(&refusing).acquire_owned().await else {
                            break;
                        };
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
                            drop(stream);
                            drop(refusal);
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

/// Whether `address` (a mailbox as the session stores it, see [`address::Mailbox`]) is in one of
/// `domains` (empty = every address is accepted). An address that does not parse is in none.
pub fn domain_accepted(domains: &[String], address: &str) -> bool {
    domains.is_empty() || Mailbox::parse(address).is_ok_and(|m| m.in_domains(domains))
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

mod session;

use session::run_session;
pub use session::serve_session;
#[cfg(test)]
use session::transcript_text;

#[cfg(test)]
mod tests;
