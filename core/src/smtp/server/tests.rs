//! Session tests over an in-memory duplex stream with a minimal raw client ([`serve_session`], as the
//! listener runs it for each connection); the listener's own limits over real loopback sockets.

use std::sync::Mutex;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use super::*;
use crate::smtp::reply::{LineEvent, LineSplitter, RawReply, ReplyParser};

/// A raw SMTP client: writes bytes, reads whole replies.
struct Client {
    stream: BoxedIo,
    lines: LineSplitter,
    parser: ReplyParser,
}

impl Client {
    async fn connect(addr: SocketAddr) -> Client {
        Client::over(Box::new(TcpStream::connect(addr).await.unwrap()))
    }

    fn over(stream: BoxedIo) -> Client {
        Client {
            stream,
            lines: LineSplitter::default(),
            parser: ReplyParser::default(),
        }
    }

    async fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).await.unwrap();
    }

    /// The next reply; `None` when the server closed the connection.
    async fn reply(&mut self) -> Option<RawReply> {
        loop {
            while let Some(LineEvent::Line(line)) = self.lines.next_line() {
                if let Some(reply) = self.parser.feed_line(&line).unwrap() {
                    return Some(reply);
                }
            }
            let mut buf = [0u8; 4096];
            let n = tokio::time::timeout(Duration::from_secs(10), self.stream.read(&mut buf))
                .await
                .expect("reply within 10 s")
                .ok()?;
            if n == 0 {
                return None;
            }
            self.lines.feed(&buf[..n]);
        }
    }

    async fn code(&mut self) -> u16 {
        self.reply().await.map_or(0, |r| r.code)
    }

    async fn cmd(&mut self, line: &str) -> RawReply {
        self.send(format!("{line}\r\n").as_bytes()).await;
        self.reply().await.expect("a reply")
    }
}

/// Messages with their content.
type Collected = Arc<Mutex<Vec<(ReceivedMessage, Vec<u8>)>>>;

/// Messages with their content, in memory.
#[derive(Default)]
struct Collect(Collected);

struct CollectWriter {
    all: Collected,
    data: Vec<u8>,
}

impl MessageSink for Collect {
    fn writer(&self) -> Box<dyn MessageWriter> {
        Box::new(CollectWriter {
            all: Arc::clone(&self.0),
            data: Vec::new(),
        })
    }
}

impl MessageWriter for CollectWriter {
    fn write<'a>(&'a mut self, bytes: &'a [u8]) -> SinkFuture<'a, ()> {
        self.data.extend_from_slice(bytes);
        Box::pin(async { Ok(()) })
    }

    fn commit(self: Box<Self>, message: ReceivedMessage) -> SinkFuture<'static, String> {
        Box::pin(async move {
            assert_eq!(message.size, self.data.len());
            let mut all = self.all.lock().unwrap();
            all.push((message, self.data));
            Ok(format!("id{}", all.len()))
        })
    }
}

impl Collect {
    fn messages(&self) -> Vec<(ReceivedMessage, Vec<u8>)> {
        self.0.lock().unwrap().clone()
    }
}

#[derive(Default)]
struct Events(Mutex<Vec<SessionEvent>>);

impl SessionObserver for Events {
    fn event(&self, event: SessionEvent) {
        self.0.lock().unwrap().push(event);
    }
}

/// Sessions served over in-memory streams, each as the listener would serve a connection.
struct InMemory {
    config: Arc<ServerConfig>,
    sessions: Vec<JoinHandle<()>>,
}

impl InMemory {
    fn connect(&mut self) -> Client {
        let (client, server) = tokio::io::duplex(64 * 1024);
        let config = Arc::clone(&self.config);
        let peer: SocketAddr = "192.0.2.10:40000".parse().unwrap();
        let local: SocketAddr = "192.0.2.1:25".parse().unwrap();
        self.sessions.push(tokio::spawn(async move {
            serve_session(Box::new(server), peer, local, &config).await;
        }));
        Client::over(Box::new(client))
    }

    /// Wait for every session to end.
    async fn shutdown(self) {
        for session in self.sessions {
            let _ = tokio::time::timeout(Duration::from_secs(10), session).await;
        }
    }
}

/// A server configuration with an in-memory sink, `tweak`ed, serving in-memory sessions.
fn in_memory(tweak: impl FnOnce(&mut ServerConfig)) -> (InMemory, Arc<Collect>) {
    let sink = Arc::new(Collect::default());
    let mut config = ServerConfig::new("relay.test", Personality::Generic);
    config.sink = Some(sink.clone());
    tweak(&mut config);
    let server = InMemory {
        config: Arc::new(config),
        sessions: Vec::new(),
    };
    (server, sink)
}

/// The same, behind a real listener on loopback.
async fn start(tweak: impl FnOnce(&mut ServerConfig)) -> (SmtpServer, Arc<Collect>) {
    let sink = Arc::new(Collect::default());
    let mut config = ServerConfig::new("relay.test", Personality::Generic);
    config.sink = Some(sink.clone());
    tweak(&mut config);
    let server = SmtpServer::bind("127.0.0.1:0".parse().unwrap(), config)
        .await
        .unwrap();
    (server, sink)
}

#[tokio::test]
async fn pipelined_transaction_and_data_followed_by_quit() {
    let events = Arc::new(Events::default());
    let observer = events.clone();
    let (mut server, sink) = in_memory(|c| c.observer = Some(observer));
    let mut c = server.connect();
    assert_eq!(c.code().await, 220);
    // Everything in one write, as a PIPELINING client may do, with dot-stuffing and QUIT after the dot.
    c.send(
        b"EHLO client.test\r\nMAIL FROM:<a@x.test>\r\nRCPT TO:<b@y.test>\r\nRCPT TO:<c@y.test>\r\nDATA\r\n",
    )
    .await;
    for expected in [250, 250, 250, 250, 354] {
        assert_eq!(c.code().await, expected);
    }
    c.send(b"Subject: t\r\n\r\n..leading dot\r\nbody\r\n.\r\nQUIT\r\n")
        .await;
    let queued = c.reply().await.unwrap();
    assert_eq!(queued.code, 250, "{queued:?}");
    assert!(queued.lines[0].contains("<id1>"), "{queued:?}");
    assert_eq!(c.code().await, 221);
    assert!(c.reply().await.is_none());
    let got = sink.messages();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].0.mail_from, "a@x.test");
    assert_eq!(got[0].0.rcpt_to, ["b@y.test", "c@y.test"]);
    assert_eq!(got[0].1, b"Subject: t\r\n\r\n.leading dot\r\nbody\r\n");
    assert_eq!(got[0].0.session.helo.as_deref(), Some("client.test"));
    // The observer saw the session open and close, with the transcript.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let events = events.0.lock().unwrap().clone();
    assert!(matches!(events[0], SessionEvent::Connected { .. }), "{events:?}");
    let Some(SessionEvent::Closed {
        reason,
        messages,
        transcript,
        ..
    }) = events.last()
    else {
        panic!("no close event: {events:?}");
    };
    assert_eq!((reason.as_str(), *messages), ("quit", 1));
    let texts: Vec<&str> = transcript.iter().map(|l| l.text.as_str()).collect();
    assert!(texts.contains(&"MAIL FROM:<a@x.test>"), "{texts:#?}");
    assert!(
        texts.iter().any(|t| t.contains("bytes of message data")),
        "{texts:#?}"
    );
    server.shutdown().await;
}

#[tokio::test]
async fn overlong_lines_are_refused_and_the_session_goes_on() {
    let (mut server, _) = in_memory(|_| {});
    let mut c = server.connect();
    assert_eq!(c.code().await, 220);
    let mut long = b"NOOP ".to_vec();
    long.extend(std::iter::repeat_n(b'x', 10_000));
    long.extend_from_slice(b"\r\n");
    c.send(&long).await;
    let r = c.reply().await.unwrap();
    assert_eq!((r.code, r.lines[0].as_str()), (500, "5.5.2 Line too long"));
    // Exactly one error for one long line; the next command works.
    assert_eq!(c.cmd("NOOP").await.code, 250);
    server.shutdown().await;
}

#[tokio::test]
async fn size_is_enforced_before_and_during_data() {
    let (mut server, sink) = in_memory(|c| c.limits.max_message_size = 1000);
    let mut c = server.connect();
    assert_eq!(c.code().await, 220);
    let ehlo = c.cmd("EHLO c").await;
    assert!(ehlo.lines.iter().any(|l| l == "SIZE 1000"), "{ehlo:?}");
    let r = c.cmd("MAIL FROM:<a@x.test> SIZE=5000").await;
    assert_eq!((r.code, r.lines[0].starts_with("5.3.4")), (552, true));
    assert_eq!(c.cmd("MAIL FROM:<a@x.test>").await.code, 250);
    assert_eq!(c.cmd("RCPT TO:<b@y.test>").await.code, 250);
    assert_eq!(c.cmd("DATA").await.code, 354);
    let mut body = Vec::new();
    for _ in 0..100 {
        body.extend_from_slice(b"0123456789012345678901234567890123456789\r\n");
    }
    body.extend_from_slice(b".\r\n");
    c.send(&body).await;
    assert_eq!(c.code().await, 552);
    assert!(sink.messages().is_empty());
    // The session survives and a small message goes through.
    assert_eq!(c.cmd("MAIL FROM:<a@x.test>").await.code, 250);
    assert_eq!(c.cmd("RCPT TO:<b@y.test>").await.code, 250);
    assert_eq!(c.cmd("DATA").await.code, 354);
    assert_eq!(c.cmd("small\r\n.").await.code, 250);
    server.shutdown().await;
}

#[tokio::test]
async fn recipients_domains_and_tls_requirement() {
    let (mut server, _) = in_memory(|c| {
        c.limits.max_recipients = 2;
        c.accepted_domains = vec!["contoso.com".into()];
    });
    let mut c = server.connect();
    assert_eq!(c.code().await, 220);
    assert_eq!(c.cmd("MAIL FROM:<a@x.test>").await.code, 503);
    assert_eq!(c.cmd("EHLO c").await.code, 250);
    assert_eq!(c.cmd("MAIL FROM:<a@x.test>").await.code, 250);
    let open_relay = c.cmd("RCPT TO:<victim@elsewhere.test>").await;
    assert_eq!(open_relay.code, 550);
    assert!(open_relay.lines[0].starts_with("5.7.1"), "{open_relay:?}");
    assert_eq!(c.cmd("RCPT TO:<a@CONTOSO.com>").await.code, 250);
    assert_eq!(c.cmd("RCPT TO:<b@contoso.com>").await.code, 250);
    assert_eq!(c.cmd("RCPT TO:<c@contoso.com>").await.code, 452);
    drop(c);
    server.shutdown().await;

    let (mut server, _) = in_memory(|c| c.require_tls = true);
    let mut c = server.connect();
    assert_eq!(c.code().await, 220);
    assert_eq!(c.cmd("EHLO c").await.code, 250);
    let r = c.cmd("MAIL FROM:<a@x.test>").await;
    assert_eq!(
        (r.code, r.lines[0].as_str()),
        (451, "5.7.3 STARTTLS is required to send mail")
    );
    server.shutdown().await;
}

#[tokio::test]
async fn non_ascii_addresses_need_smtputf8_on_mail() {
    let (mut server, sink) = in_memory(|c| c.accepted_domains = vec!["contoso.com".into()]);
    let mut c = server.connect();
    assert_eq!(c.code().await, 220);
    let ehlo = c.cmd("EHLO c").await;
    assert!(ehlo.lines.iter().any(|l| l == "SMTPUTF8"), "{ehlo:?}");
    // RFC 6531 3.4: without SMTPUTF8, neither a sender nor a recipient may be non-ASCII.
    let r = c.cmd("MAIL FROM:<jürgen@fabrikam.test>").await;
    assert_eq!((r.code, r.lines[0].get(..5)), (553, Some("5.6.7")), "{r:?}");
    assert_eq!(c.cmd("MAIL FROM:<a@fabrikam.test>").await.code, 250);
    let r = c.cmd("RCPT TO:<zoë@contoso.com>").await;
    assert_eq!((r.code, r.lines[0].get(..5)), (553, Some("5.6.7")), "{r:?}");
    assert_eq!(c.cmd("RSET").await.code, 250);
    // With it, both are taken, and the flag ends with the transaction.
    assert_eq!(c.cmd("MAIL FROM:<jürgen@fabrikam.test> SMTPUTF8").await.code, 250);
    assert_eq!(c.cmd("RCPT TO:<zoë@contoso.com>").await.code, 250);
    assert_eq!(c.cmd("DATA").await.code, 354);
    assert_eq!(c.cmd("Subject: x\r\n\r\nhi\r\n.").await.code, 250);
    assert_eq!(c.cmd("MAIL FROM:<a@fabrikam.test>").await.code, 250);
    assert_eq!(c.cmd("RCPT TO:<zoë@contoso.com>").await.code, 553);
    drop(c);
    server.shutdown().await;
    let messages = sink.messages();
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0].0.rcpt_to, vec!["zoë@contoso.com".to_string()]);
}

#[tokio::test]
async fn idle_sessions_and_too_many_sessions_get_421() {
    let (server, _) = start(|c| {
        c.limits.idle_timeout = Duration::from_millis(300);
        c.limits.max_sessions = 1;
    })
    .await;
    let mut first = Client::connect(server.local_addr()).await;
    assert_eq!(first.code().await, 220);
    let mut second = Client::connect(server.local_addr()).await;
    let r = second.reply().await.unwrap();
    assert_eq!((r.code, r.lines[0].starts_with("4.3.2")), (421, true));
    let idle = first.reply().await.unwrap();
    assert_eq!((idle.code, idle.lines[0].starts_with("4.4.2")), (421, true));
    assert!(first.reply().await.is_none());
    server.shutdown().await;
}

#[tokio::test]
async fn slow_drip_cannot_outlast_the_session_limit() {
    let (mut server, _) = in_memory(|c| {
        c.limits.idle_timeout = Duration::from_secs(5);
        c.limits.max_session_time = Duration::from_millis(400);
    });
    let mut c = server.connect();
    assert_eq!(c.code().await, 220);
    let started = Instant::now();
    for _ in 0..20 {
        if c.stream.write_all(b"N").await.is_err() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let r = c.reply().await.unwrap();
    assert_eq!(r.code, 421, "{r:?}");
    assert!(started.elapsed() < Duration::from_secs(3));
    server.shutdown().await;
}

#[tokio::test]
async fn bdat_chunks_are_joined_and_too_many_commands_end_the_session() {
    let (mut server, sink) = in_memory(|c| c.limits.max_commands = 8);
    let mut c = server.connect();
    assert_eq!(c.code().await, 220);
    c.send(b"EHLO c\r\nMAIL FROM:<a@x.test>\r\nRCPT TO:<b@y.test>\r\nBDAT 5\r\nHelloBDAT 7 LAST\r\n, world")
        .await;
    for expected in [250, 250, 250, 250, 250] {
        assert_eq!(c.code().await, expected);
    }
    assert_eq!(sink.messages()[0].1, b"Hello, world");
    for _ in 0..3 {
        assert_eq!(c.cmd("NOOP").await.code, 250);
    }
    assert_eq!(c.cmd("NOOP").await.code, 421);
    server.shutdown().await;
}

#[tokio::test]
async fn garbage_commands_are_answered_then_the_session_ends() {
    let (mut server, _) = in_memory(|c| c.limits.max_errors = 3);
    let mut c = server.connect();
    assert_eq!(c.code().await, 220);
    c.send(b"\x00\xff\xfe\r\nGET / HTTP/1.1\r\nMAIL FROM:<<<\r\n")
        .await;
    let codes = [c.code().await, c.code().await, c.code().await, c.code().await];
    assert_eq!(codes[3], 421, "{codes:?}");
    assert!(codes[..3].iter().all(|&c| c >= 500), "{codes:?}");
    server.shutdown().await;
}

#[test]
fn auth_credentials_never_reach_the_transcript() {
    assert_eq!(
        transcript_text(b"AUTH PLAIN AGFkZWxlAHNlY3JldA==\r\n"),
        "AUTH PLAIN ***"
    );
    assert_eq!(transcript_text(b"auth login\r\n"), "auth login");
    assert_eq!(transcript_text(b"MAIL FROM:<a@b>\r\n"), "MAIL FROM:<a@b>");
}

#[tokio::test]
async fn random_bytes_never_crash_a_session() {
    let (mut server, _) = in_memory(|c| {
        c.limits.max_errors = 1000;
        c.limits.idle_timeout = Duration::from_millis(150);
    });
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let pieces: [&[u8]; 8] = [
        b"EHLO x\r\n",
        b"MAIL FROM:<a@b.c>\r\n",
        b"RCPT TO:<d@e.f>\r\n",
        b"DATA\r\n",
        b"BDAT 3\r\n",
        b"\r\n.\r\n",
        b"STARTTLS\r\n",
        b"\xff\x00\xfe",
    ];
    for _ in 0..30 {
        let mut c = server.connect();
        let mut bytes = Vec::new();
        for _ in 0..(next() % 30) {
            if next() % 2 == 0 {
                bytes.extend_from_slice(pieces[(next() % 8) as usize]);
            } else {
                bytes.extend((0..(next() % 64)).map(|_| (next() & 0xff) as u8));
            }
        }
        let _ = c.stream.write_all(&bytes).await;
        // Whatever was said, the server answers or closes; it never hangs past its idle timeout.
        tokio::time::timeout(Duration::from_secs(5), async {
            let mut buf = [0u8; 4096];
            while let Ok(n) = c.stream.read(&mut buf).await {
                if n == 0 {
                    break;
                }
            }
        })
        .await
        .expect("the session ends within the idle timeout");
    }
    // And the server still serves.
    let mut c = server.connect();
    assert_eq!(c.code().await, 220);
    server.shutdown().await;
}

#[tokio::test]
async fn the_server_reads_time_from_its_injected_clock() {
    let fixed = time::macros::datetime!(2026-01-15 09:00 UTC);
    let events = Arc::new(Events::default());
    let observer = events.clone();
    let (mut server, sink) = in_memory(|c| {
        c.personality = Personality::ExchangeMailbox;
        c.clock = Arc::new(move || fixed);
        c.observer = Some(observer);
    });
    let mut c = server.connect();
    let banner = c.reply().await.expect("a greeting");
    assert!(
        banner.lines[0].contains("15 Jan 2026 09:00:00 +0000"),
        "{banner:?}"
    );
    assert_eq!(server.config.clock.as_ref()(), fixed);
    for line in ["EHLO c", "MAIL FROM:<a@x.test>", "RCPT TO:<b@y.test>", "DATA"] {
        c.cmd(line).await;
    }
    c.send(b"Subject: t\r\n\r\nbody\r\n.\r\nQUIT\r\n").await;
    assert_eq!(c.code().await, 250);
    assert_eq!(c.code().await, 221);
    server.shutdown().await;
    let got = sink.messages();
    assert_eq!(got[0].0.received_at, fixed);
    assert_eq!(got[0].0.session.started, fixed);
    let events = events.0.lock().unwrap().clone();
    assert!(events.iter().all(|e| match e {
        SessionEvent::Connected { session } | SessionEvent::Closed { session, .. } =>
            session.started == fixed,
        _ => true,
    }));
}
