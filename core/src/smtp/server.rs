//! The SMTP server: one listener, one task per session, bounded in every dimension.
//!
//! It serves the lab's Exchange-like and EOP-like endpoints, with switchable faults (masked banner,
//! stripped STARTTLS, tarpit, slow drip, garbage, legacy-only TLS). The bundled relay grows from it.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use smtp_proto::Request;
use smtp_proto::request::receiver::{BdatReceiver, DataReceiver, RequestReceiver};
use time::OffsetDateTime;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::io::BoxedIo;
use super::personality::Personality;

/// Bytes a garbage-speaking server sends instead of a greeting: binary noise and a stray HTTP line.
const GARBAGE: &[u8] =
    b"\x00\xff\xfe\x1b[2J\x16\x03\x01\xde\xad\xbe\xefHTTP/1.0 400 Bad Request\r\n\xc3\x28\x80\x81\r\n";

/// The TLS alert a TLS-1.0-only server sends to a client that offers nothing it accepts:
/// a fatal `protocol_version` alert in a TLS 1.0 record.
pub const PROTOCOL_VERSION_ALERT: [u8; 7] = [0x15, 0x03, 0x01, 0x00, 0x02, 0x02, 0x46];

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
    /// Accept STARTTLS, then refuse the TLS handshake with a `protocol_version` alert
    /// (a server that only speaks TLS 1.0/1.1).
    pub legacy_tls_only: bool,
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
        }
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
    /// The reverse path.
    pub mail_from: String,
    /// The forward paths.
    pub rcpt_to: Vec<String>,
    /// The message as sent, dot-unstuffed, without the final `.`.
    pub data: Vec<u8>,
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
    /// The certificate to offer with STARTTLS; `None` = no STARTTLS.
    pub tls: Option<Arc<rustls::ServerConfig>>,
    /// Recipient domains accepted; empty = accept every recipient.
    pub accepted_domains: Vec<String>,
    /// Switched-on faults.
    pub faults: Faults,
    /// Bounds.
    pub limits: Limits,
    /// Where accepted messages go; `None` = discard them.
    pub sink: Option<Arc<dyn MessageSink>>,
}

impl std::fmt::Debug for ServerConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerConfig")
            .field("hostname", &self.hostname)
            .field("personality", &self.personality)
            .field("tls", &self.tls.is_some())
            .field("accepted_domains", &self.accepted_domains)
            .field("faults", &self.faults)
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

impl ServerConfig {
    /// A configuration with default limits, no faults and no sink.
    pub fn new(hostname: impl Into<String>, personality: Personality) -> Self {
        ServerConfig {
            hostname: hostname.into(),
            personality,
            tls: None,
            accepted_domains: Vec::new(),
            faults: Faults::default(),
            limits: Limits::default(),
            sink: None,
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
                            let mut stream = stream;
                            let _ = stream
                                .write_all(b"421 4.3.2 Too many sessions, try again later\r\n")
                                .await;
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

/// A session's protocol state, kept across the STARTTLS boundary (minus what RFC 3207 resets).
struct Session<'a> {
    config: &'a ServerConfig,
    peer: SocketAddr,
    io: BoxedIo,
    in_tls: bool,
    helo: Option<String>,
    mail_from: Option<String>,
    rcpt_to: Vec<String>,
    commands: usize,
    errors: usize,
}

async fn run_session(stream: TcpStream, peer: SocketAddr, config: &ServerConfig) {
    let _ = stream.set_nodelay(true);
    let mut session = Session {
        config,
        peer,
        io: Box::new(stream),
        in_tls: false,
        helo: None,
        mail_from: None,
        rcpt_to: Vec::new(),
        commands: 0,
        errors: 0,
    };
    if let Some(delay) = config.faults.greeting_delay {
        tokio::time::sleep(delay).await;
    }
    if config.faults.garbage {
        session.garbage().await;
        return;
    }
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
    if session.send(&greeting).await.is_err() {
        return;
    }
    loop {
        match session.phase().await {
            PhaseEnd::Close => break,
            PhaseEnd::StartTls => {
                if session.config.faults.legacy_tls_only {
                    session.refuse_modern_tls().await;
                    break;
                }
                let Some(tls) = session.config.tls.clone() else {
                    break;
                };
                let plain = std::mem::replace(
                    &mut session.io,
                    Box::new(tokio::io::join(tokio::io::empty(), tokio::io::sink())),
                );
                let acceptor = tokio_rustls::TlsAcceptor::from(tls);
                let handshake =
                    tokio::time::timeout(config.limits.idle_timeout, acceptor.accept(plain)).await;
                let Ok(Ok(tls_stream)) = handshake else { break };
                session.io = Box::new(tls_stream);
                session.in_tls = true;
                // RFC 3207 4.2: forget everything learnt before TLS.
                session.helo = None;
                session.mail_from = None;
                session.rcpt_to.clear();
            }
        }
    }
    let _ = session.io.shutdown().await;
}

impl Session<'_> {
    /// Write one reply line (or several, already joined with CRLF), honouring the drip fault.
    async fn send(&mut self, reply: &str) -> std::io::Result<()> {
        let mut bytes = reply.as_bytes().to_vec();
        bytes.extend_from_slice(b"\r\n");
        self.send_raw(&bytes).await
    }

    async fn send_raw(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        if let Some(delay) = self.config.faults.reply_delay {
            tokio::time::sleep(delay).await;
        }
        if let Some(every) = self.config.faults.drip {
            for byte in bytes {
                self.io.write_all(std::slice::from_ref(byte)).await?;
                self.io.flush().await?;
                tokio::time::sleep(every).await;
            }
            return Ok(());
        }
        self.io.write_all(bytes).await?;
        self.io.flush().await
    }

    async fn read_some(&mut self, buf: &mut [u8]) -> Option<usize> {
        match tokio::time::timeout(self.config.limits.idle_timeout, self.io.read(buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => None,
            Ok(Ok(n)) => Some(n),
            Err(_) => {
                let _ = self.send("421 4.4.2 Connection timed out (idle)").await;
                None
            }
        }
    }

    /// A garbage server: noise instead of a greeting, noise for every line the client sends.
    async fn garbage(&mut self) {
        if self.send_raw(GARBAGE).await.is_err() {
            return;
        }
        let mut buf = [0u8; 1024];
        for _ in 0..16 {
            if self.read_some(&mut buf).await.is_none() {
                return;
            }
            if self.send_raw(GARBAGE).await.is_err() {
                return;
            }
        }
    }

    /// A TLS-1.0-only server meeting a client that requires TLS 1.2+: read the ClientHello,
    /// answer with a fatal protocol_version alert, hang up.
    async fn refuse_modern_tls(&mut self) {
        let mut buf = [0u8; 4096];
        if self.read_some(&mut buf).await.is_some() {
            let _ = self.io.write_all(&PROTOCOL_VERSION_ALERT).await;
            let _ = self.io.flush().await;
        }
    }

    /// Serve commands until the session ends or STARTTLS succeeds.
    async fn phase(&mut self) -> PhaseEnd {
        let mut receiver = RequestReceiver::default();
        let mut buf = vec![0u8; 8192];
        loop {
            let Some(n) = self.read_some(&mut buf).await else {
                return PhaseEnd::Close;
            };
            let chunk = buf[..n].to_vec();
            let mut bytes = chunk.iter();
            loop {
                let request = match receiver.ingest(&mut bytes) {
                    Ok(request) => request.into_owned(),
                    Err(smtp_proto::Error::NeedsMoreData { .. }) => break,
                    Err(error) => {
                        if self.protocol_error(&error).await {
                            return PhaseEnd::Close;
                        }
                        continue;
                    }
                };
                self.commands += 1;
                if self.commands > self.config.limits.max_commands {
                    let _ = self.send("421 4.7.0 Too many commands").await;
                    return PhaseEnd::Close;
                }
                match self.handle(request, &mut bytes).await {
                    Step::Continue => {}
                    Step::Close => return PhaseEnd::Close,
                    // Whatever the client pipelined after STARTTLS is dropped (STARTTLS injection).
                    Step::StartTls => return PhaseEnd::StartTls,
                }
            }
        }
    }

    /// Reply to a line that did not parse; `true` when the session should end.
    async fn protocol_error(&mut self, error: &smtp_proto::Error) -> bool {
        self.errors += 1;
        let reply = match error {
            smtp_proto::Error::ResponseTooLong => "500 5.5.2 Line too long".to_string(),
            smtp_proto::Error::UnknownCommand => "500 5.3.3 Unrecognized command".to_string(),
            smtp_proto::Error::InvalidSenderAddress => "501 5.1.7 Invalid address".to_string(),
            smtp_proto::Error::InvalidRecipientAddress => "501 5.1.3 Invalid address".to_string(),
            smtp_proto::Error::SyntaxError { syntax } => format!("501 5.5.4 Syntax: {syntax}"),
            smtp_proto::Error::InvalidParameter { param } => format!("501 5.5.4 Invalid parameter {param}"),
            smtp_proto::Error::UnsupportedParameter { .. } => "504 5.5.4 Unsupported parameter".to_string(),
            _ => "500 5.5.2 Syntax error".to_string(),
        };
        if self.send(&reply).await.is_err() {
            return true;
        }
        if self.errors >= self.config.limits.max_errors {
            let _ = self.send("421 4.7.0 Too many errors").await;
            return true;
        }
        false
    }

    async fn handle(&mut self, request: Request<String>, rest: &mut std::slice::Iter<'_, u8>) -> Step {
        let reply = match request {
            Request::Ehlo { host } => {
                let mut lines = vec![
                    self.config
                        .personality
                        .ehlo_greeting(&self.config.hostname, self.peer.ip()),
                ];
                let tls_available = self.config.tls.is_some() || self.config.faults.legacy_tls_only;
                let mut ext = self.config.personality.extensions(
                    tls_available,
                    self.in_tls,
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
                self.helo = Some(host);
                self.reset_transaction();
                multiline(250, &lines)
            }
            Request::Helo { host } | Request::Lhlo { host } => {
                self.helo = Some(host);
                self.reset_transaction();
                format!("250 {} Hello [{}]", self.config.hostname, self.peer.ip())
            }
            Request::StartTls => {
                let can = (self.config.tls.is_some() || self.config.faults.legacy_tls_only)
                    && !self.config.faults.strip_starttls;
                if self.in_tls {
                    "503 5.5.1 TLS already active".to_string()
                } else if !can {
                    "500 5.3.3 Unrecognized command".to_string()
                } else {
                    if self.send("220 2.0.0 SMTP server ready").await.is_err() {
                        return Step::Close;
                    }
                    return Step::StartTls;
                }
            }
            Request::Mail { from } => {
                if self.helo.is_none() {
                    "503 5.5.1 Send hello first".to_string()
                } else if self.mail_from.is_some() {
                    "503 5.5.1 Sender already specified".to_string()
                } else if from.size > self.config.limits.max_message_size {
                    "552 5.3.4 Message size exceeds fixed maximum message size".to_string()
                } else {
                    let reply = format!("250 2.1.0 Sender OK <{}>", from.address);
                    self.mail_from = Some(from.address);
                    reply
                }
            }
            Request::Rcpt { to } => {
                if self.mail_from.is_none() {
                    "503 5.5.1 Need MAIL command".to_string()
                } else if self.rcpt_to.len() >= self.config.limits.max_recipients {
                    "452 4.5.3 Too many recipients".to_string()
                } else if !self.accepts(&to.address) {
                    self.config.personality.relay_denied().to_string()
                } else {
                    let reply = format!("250 2.1.5 Recipient OK <{}>", to.address);
                    self.rcpt_to.push(to.address);
                    reply
                }
            }
            Request::Data => {
                if self.rcpt_to.is_empty() {
                    "503 5.5.1 Need RCPT command".to_string()
                } else {
                    if self
                        .send("354 Start mail input; end with <CRLF>.<CRLF>")
                        .await
                        .is_err()
                    {
                        return Step::Close;
                    }
                    return self.receive_data(rest).await;
                }
            }
            Request::Bdat { chunk_size, is_last } => {
                if self.rcpt_to.is_empty() {
                    "503 5.5.1 Need RCPT command".to_string()
                } else {
                    return self.receive_bdat(chunk_size, is_last, rest).await;
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
                return Step::Close;
            }
            Request::Vrfy { .. } => "252 2.1.5 Cannot VRFY user".to_string(),
            Request::Help { .. } => "214 2.0.0 See RFC 5321".to_string(),
            Request::Auth { .. } => "504 5.7.4 Unrecognized authentication type".to_string(),
            _ => "502 5.3.3 Command not implemented".to_string(),
        };
        if self.send(&reply).await.is_err() {
            Step::Close
        } else {
            Step::Continue
        }
    }

    fn accepts(&self, address: &str) -> bool {
        if self.config.accepted_domains.is_empty() {
            return true;
        }
        let Some((_, domain)) = address.rsplit_once('@') else {
            return false;
        };
        self.config
            .accepted_domains
            .iter()
            .any(|d| d.eq_ignore_ascii_case(domain))
    }

    fn reset_transaction(&mut self) {
        self.mail_from = None;
        self.rcpt_to.clear();
    }

    /// Read the DATA body (dot-unstuffed by smtp-proto), bounded by the size limit.
    async fn receive_data(&mut self, rest: &mut std::slice::Iter<'_, u8>) -> Step {
        let mut receiver = DataReceiver::new();
        let mut message = Vec::new();
        let mut too_big = false;
        let mut scratch = Vec::new();
        let mut buf = vec![0u8; 16 * 1024];
        // Bytes already read after the DATA line come first.
        let mut pending: Vec<u8> = rest.as_slice().to_vec();
        *rest = [].iter();
        loop {
            let mut bytes = pending.iter();
            let target = if too_big { &mut scratch } else { &mut message };
            let done = receiver.ingest(&mut bytes, target);
            if !too_big && message.len() > self.config.limits.max_message_size {
                too_big = true;
                message = Vec::new();
            }
            scratch.clear();
            if done {
                let leftover = bytes.as_slice().to_vec();
                if !leftover.is_empty() {
                    // Pipelined commands after the end of data are served in a later phase loop;
                    // keep it simple and bounded: reply, then let the caller continue.
                    tracing::debug!(bytes = leftover.len(), "data followed by pipelined bytes");
                }
                return self.finish_message(message, too_big).await;
            }
            let Some(n) = self.read_some(&mut buf).await else {
                return Step::Close;
            };
            pending = buf[..n].to_vec();
        }
    }

    async fn receive_bdat(
        &mut self,
        size: usize,
        is_last: bool,
        rest: &mut std::slice::Iter<'_, u8>,
    ) -> Step {
        if size > self.config.limits.max_message_size {
            let _ = self
                .send("552 5.3.4 Message size exceeds fixed maximum message size")
                .await;
            return Step::Close;
        }
        let mut receiver = BdatReceiver::new(size, is_last);
        let mut chunk = Vec::with_capacity(size.min(1 << 20));
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            if receiver.ingest(rest, &mut chunk) {
                break;
            }
            let Some(n) = self.read_some(&mut buf).await else {
                return Step::Close;
            };
            let pending = buf[..n].to_vec();
            let mut bytes = pending.iter();
            if receiver.ingest(&mut bytes, &mut chunk) {
                break;
            }
        }
        if !is_last {
            let reply = format!("250 2.0.0 {size} bytes received");
            return if self.send(&reply).await.is_err() {
                Step::Close
            } else {
                Step::Continue
            };
        }
        self.finish_message(chunk, false).await
    }

    async fn finish_message(&mut self, data: Vec<u8>, too_big: bool) -> Step {
        let reply = if too_big {
            "552 5.3.4 Message size exceeds fixed maximum message size".to_string()
        } else {
            let message = ReceivedMessage {
                peer: self.peer,
                helo: self.helo.clone().unwrap_or_default(),
                tls: self.in_tls,
                mail_from: self.mail_from.clone().unwrap_or_default(),
                rcpt_to: self.rcpt_to.clone(),
                data,
            };
            match &self.config.sink {
                None => format!(
                    "250 2.6.0 <{}@{}> Queued mail for delivery",
                    message_id(),
                    self.config.hostname
                ),
                Some(sink) => match sink.accept(message).await {
                    Ok(id) => format!("250 2.6.0 <{id}> Queued mail for delivery"),
                    Err(why) => format!("451 4.3.0 {why}"),
                },
            }
        };
        self.reset_transaction();
        if self.send(&reply).await.is_err() {
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
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(1);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let t = OffsetDateTime::now_utc().unix_timestamp();
    format!("{t:x}.{n:04x}")
}
