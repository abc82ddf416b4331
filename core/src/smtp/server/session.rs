//! One SMTP session, over any byte stream: the greeting, the command loop (bounded lines, one command
//! parsed at a time), STARTTLS, MAIL/RCPT judged by the configuration and its policy, message content
//! streamed to the sink, the transcript. The listener ([`super::SmtpServer`]) runs one per connection;
//! tests and the fuzz target run it over in-memory streams.

use super::*;

/// Bytes a garbage-speaking server sends instead of a greeting: binary noise and a stray HTTP line.
const GARBAGE: &[u8] =
    b"\x00\xff\xfe\x1b[2J\x16\x03\x01\xde\xad\xbe\xefHTTP/1.0 400 Bad Request\r\n\xc3\x28\x80\x81\r\n";

/// How much is read from the socket at once while message data flows.
const READ_CHUNK: usize = 16 * 1024;
/// How much is read at once while waiting for a command: idle sessions stay small.
const COMMAND_READ: usize = 1024;

/// Why a session phase ended.
enum PhaseEnd {
    /// The client quit, timed out or misbehaved; the connection closes.
    Close,
    /// The client asked for STARTTLS and got 220: run the handshake, then a new phase.
    StartTls,
}

/// A bounded, timestamped record of the dialogue.
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
    /// The transaction's MAIL gave `SMTPUTF8` (RFC 6531): its addresses may be non-ASCII.
    smtputf8: bool,
    rcpt_to: Vec<String>,
    /// The content of the current BDAT transaction, between chunks.
    bdat: Option<Content>,
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

pub(super) async fn run_session(stream: TcpStream, peer: SocketAddr, config: &ServerConfig) {
    let _ = stream.set_nodelay(true);
    let local = stream.local_addr().unwrap_or(peer);
    serve_session(Box::new(stream), peer, local, config).await;
}

/// Serve one session over any byte stream (TCP, TLS, an in-memory duplex): what the listener does for
/// each connection it accepts, for tests and fuzzing. It ends when the client quits, the stream ends or a
/// limit is reached.
pub async fn serve_session(io: BoxedIo, peer: SocketAddr, local: SocketAddr, config: &ServerConfig) {
    let started = Instant::now();
    let mut session = Session {
        config,
        info: SessionInfo {
            id: next_session_id(),
            peer,
            local,
            started: (config.clock)(),
            helo: None,
            tls: None,
        },
        io,
        inbuf: Vec::new(),
        skipping: false,
        mail_from: None,
        smtputf8: false,
        rcpt_to: Vec::new(),
        bdat: None,
        commands: 0,
        errors: 0,
        messages: 0,
        transcript: Transcript::new(started),
        deadline: tokio::time::Instant::now() + config.limits.max_session_time,
        end_reason: "client closed the connection",
    };
    session.serve().await;
    let _ = tokio::time::timeout(Duration::from_secs(5), session.io.shutdown()).await;
    let (transcript, transcript_dropped) =
        std::mem::replace(&mut session.transcript, Transcript::new(started)).into_parts();
    config.notify(SessionEvent::Closed {
        session: session.info.clone(),
        reason: session.end_reason.to_string(),
        messages: session.messages,
        ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        transcript,
        transcript_dropped,
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
        self.transcript.push_at(
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
                config.personality.banner(&config.hostname, (config.clock)())
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
                        let what = server.0.respond(&mut self.io, limit).await;
                        self.transcript.push_at(Direction::Info, false, &what);
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
                    .push_at(Direction::Error, false, &format!("TLS handshake failed: {error}"));
                self.end_reason = "TLS handshake failed";
                return false;
            }
            Err(_) => {
                self.transcript
                    .push_at(Direction::Error, false, "TLS handshake timed out");
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
        self.transcript.push_at(
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
            self.transcript.push_at(Direction::Server, tls, line);
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
                    self.transcript.push_at(
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
            self.transcript.push_at(Direction::Client, tls, &shown);
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
                    Ok(EnvelopeCommand::Mail { path, size, smtputf8 }) => self.mail(path, size, smtputf8),
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

    fn mail(&mut self, path: Path, size: Option<u64>, smtputf8: bool) -> String {
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
        if !smtputf8 && !address.is_ascii() {
            return non_ascii_refused("sender");
        }
        if let Some(policy) = &self.config.policy
            && let Some(refusal) = policy.mail(&self.info, &address)
        {
            return refusal;
        }
        let reply = format!("250 2.1.0 Sender OK <{address}>");
        self.mail_from = Some(address);
        self.smtputf8 = smtputf8;
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
        if !self.smtputf8 && !address.is_ascii() {
            return non_ascii_refused("recipient");
        }
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
        self.smtputf8 = false;
        self.rcpt_to.clear();
        self.bdat = None;
    }

    /// Read the content after `DATA` (strict end of data, dot-unstuffing: [`DataReader`]) and hand
    /// it to the sink as it arrives. An oversized message is read to its end and refused with 552; a
    /// message with a bare CR or LF with 550 5.6.11.
    async fn receive_data(&mut self) -> Step {
        let mut reader = DataReader::new();
        let mut content = Content::new(self.config);
        let mut piece = Vec::new();
        let mut total = 0usize;
        loop {
            piece.clear();
            let (consumed, done) = reader.feed(&self.inbuf, &mut piece);
            self.inbuf.drain(..consumed);
            total = total.saturating_add(consumed);
            content.bare = content.bare.or(reader.bare());
            content.push(&piece, self.config.limits.max_message_size).await;
            if done {
                let tls = self.in_tls();
                self.transcript.push_at(
                    Direction::Client,
                    tls,
                    &format!("({total} bytes of message data)"),
                );
                return self.finish_message(content).await;
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
        let mut content = self.bdat.take().unwrap_or_else(|| Content::new(self.config));
        if content.size.saturating_add(size) > max {
            content.discard_too_big();
        }
        let mut left = size;
        loop {
            let take = left.min(self.inbuf.len());
            if take > 0 {
                let bytes = &self.inbuf[..take];
                content.ends.scan(bytes);
                content.push(bytes, max).await;
                self.inbuf.drain(..take);
                left -= take;
            }
            if left == 0 {
                break;
            }
            if !self.fill(READ_CHUNK).await {
                return Step::Close;
            }
        }
        let tls = self.in_tls();
        self.transcript
            .push_at(Direction::Client, tls, &format!("({size} bytes of BDAT chunk)"));
        if !is_last {
            let reply = if content.too_big {
                "552 5.3.4 Message size exceeds fixed maximum message size".to_string()
            } else {
                format!("250 2.0.0 {size} bytes received")
            };
            self.bdat = Some(content);
            return if self.send(&reply).await.is_err() {
                self.end_reason = "connection error";
                Step::Close
            } else {
                Step::Continue
            };
        }
        content.bare = content.bare.or(content.ends.finish());
        self.finish_message(content).await
    }

    async fn finish_message(&mut self, content: Content) -> Step {
        // Back to command size: a session that carried a large message does not keep its buffer.
        self.inbuf.shrink_to(COMMAND_READ);
        let tls = self.in_tls();
        let reply = if content.too_big {
            "552 5.3.4 Message size exceeds fixed maximum message size".to_string()
        } else if let Some(bare) = content.bare {
            let what = match bare {
                BareLineEnd::Cr => "a bare CR",
                BareLineEnd::Lf => "a bare LF",
            };
            self.transcript.push_at(
                Direction::Error,
                tls,
                &format!("message refused: its content holds {what} (RFC 5321 2.3.8)"),
            );
            BARE_LINE_END_REPLY.to_string()
        } else if let Some(why) = content.failed {
            format!("451 4.3.0 {why}")
        } else {
            let message = ReceivedMessage {
                peer: self.info.peer,
                helo: self.info.helo.clone().unwrap_or_default(),
                tls,
                mail_from: self.mail_from.clone().unwrap_or_default(),
                rcpt_to: self.rcpt_to.clone(),
                size: content.size,
                session: self.info.clone(),
                received_at: (self.config.clock)(),
            };
            match content.writer {
                None => {
                    self.messages += 1;
                    format!(
                        "250 2.6.0 <{}@{}> Queued mail for delivery",
                        message_id(),
                        self.config.hostname
                    )
                }
                Some(writer) => match writer.commit(message).await {
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

/// The content of the message being received and what became of it.
struct Content {
    /// Where it goes: `None` without a sink, or once the content is discarded.
    writer: Option<Box<dyn MessageWriter>>,
    /// Bytes of content so far.
    size: usize,
    /// Over the size limit: read to its end and refused.
    too_big: bool,
    /// The first bare CR or LF: read to its end and refused.
    bare: Option<BareLineEnd>,
    /// The sink failed: read to its end, answered with 451.
    failed: Option<String>,
    /// Line ends across BDAT chunks.
    ends: LineEnds,
}

impl Content {
    fn new(config: &ServerConfig) -> Content {
        Content {
            writer: config.sink.as_ref().map(|sink| sink.writer()),
            size: 0,
            too_big: false,
            bare: None,
            failed: None,
            ends: LineEnds::default(),
        }
    }

    fn discard_too_big(&mut self) {
        self.too_big = true;
        self.writer = None;
    }

    /// Take the next bytes: count them, and pass them on unless the message is already refused.
    async fn push(&mut self, bytes: &[u8], max: usize) {
        self.size = self.size.saturating_add(bytes.len());
        if self.size > max && !self.too_big {
            self.discard_too_big();
        }
        self.bare = self.bare.or(self.ends.bare());
        if self.bare.is_some() || self.failed.is_some() {
            // Refused at the end anyway: nothing more is stored.
            self.writer = None;
        }
        if bytes.is_empty() {
            return;
        }
        if let Some(writer) = &mut self.writer
            && let Err(why) = writer.write(bytes).await
        {
            self.failed = Some(why);
            self.writer = None;
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
pub(super) fn transcript_text(line: &[u8]) -> String {
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

/// The refusal of sender-specified routing, as Postfix's `reject_unauth_destination` refuses it
/// (`allow_untrusted_routing = no`): a relay must not let a client route through it to a host of its
/// choosing.
fn routing_refused(routing: Routing) -> String {
    format!(
        "550 5.7.1 Relay access denied: sender-specified routing ({}) is not accepted",
        routing.describe()
    )
}

/// A non-ASCII address in a transaction whose MAIL did not give `SMTPUTF8`: RFC 6531 3.4 lets a
/// client send one only with it, and 3.5 gives the reply (X.6.7, as Postfix answers).
fn non_ascii_refused(what: &str) -> String {
    format!("553 5.6.7 Non-ASCII {what} address without SMTPUTF8 on MAIL FROM (RFC 6531)")
}

fn message_id() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let t = OffsetDateTime::now_utc().unix_timestamp();
    format!("{t:x}.{n:04x}")
}
