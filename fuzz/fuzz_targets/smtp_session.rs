//! The SMTP server session (the lab's endpoints and `mailpath relay`) fed arbitrary client bytes in
//! memory, cut into reads at a size the input chooses: it never panics nor hangs, and everything it
//! sends is well-formed SMTP replies (a three-digit code, CRLF line ends, no client bytes that break a
//! line), with accepted messages in bounds.
#![no_main]

use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex, OnceLock};
use std::task::{Context, Poll};

use libfuzzer_sys::fuzz_target;
use mailpath_core::smtp::Personality;
use mailpath_core::smtp::reply::{LineEvent, LineSplitter, ReplyParser};
use mailpath_core::smtp::server::{
    Limits, MessageSink, MessageWriter, ReceivedMessage, ServerConfig, SinkFuture, serve_session,
};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// The client: `data` in reads of `chunk` bytes, then the end of the stream.
struct Client {
    data: Vec<u8>,
    at: usize,
    chunk: usize,
}

impl AsyncRead for Client {
    fn poll_read(mut self: Pin<&mut Self>, _: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let n = self.chunk.min(buf.remaining()).min(self.data.len() - self.at);
        let at = self.at;
        buf.put_slice(&self.data[at..at + n]);
        self.at += n;
        Poll::Ready(Ok(()))
    }
}

/// What the server sends.
#[derive(Clone, Default)]
struct Sent(Arc<Mutex<Vec<u8>>>);

impl AsyncWrite for Sent {
    fn poll_write(self: Pin<&mut Self>, _: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.0.lock().expect("lock").extend_from_slice(buf);
        Poll::Ready(Ok(buf.len()))
    }
    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

/// Accepts every message, checking it against the limits.
struct Sink {
    max_size: usize,
    max_recipients: usize,
}

impl MessageSink for Sink {
    fn writer(&self) -> Box<dyn MessageWriter> {
        Box::new(Writer {
            max_size: self.max_size,
            max_recipients: self.max_recipients,
            written: 0,
        })
    }
}

/// Counts the content streamed to it, and checks the message against the limits when it is committed.
struct Writer {
    max_size: usize,
    max_recipients: usize,
    written: usize,
}

impl MessageWriter for Writer {
    fn write<'a>(&'a mut self, bytes: &'a [u8]) -> SinkFuture<'a, ()> {
        self.written += bytes.len();
        assert!(self.written <= self.max_size, "{} bytes streamed", self.written);
        Box::pin(async { Ok(()) })
    }

    fn commit(self: Box<Self>, message: ReceivedMessage) -> SinkFuture<'static, String> {
        assert_eq!(message.size, self.written, "the size said is the size streamed");
        assert!(message.size <= self.max_size, "{} bytes accepted", message.size);
        assert!(!message.rcpt_to.is_empty() && message.rcpt_to.len() <= self.max_recipients);
        Box::pin(async { Ok("fuzz".to_string()) })
    }
}

fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        // Paused time: the session's timeouts pass at once instead of holding the fuzzer.
        tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .start_paused(true)
            .build()
            .expect("a runtime")
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&first, data)) = data.split_first() else { return };
    let personality = match first % 4 {
        0 => Personality::ExchangeMailbox,
        1 => Personality::Eop,
        2 => Personality::ExchangeEdgeExternal,
        _ => Personality::Generic,
    };
    let mut config = ServerConfig::new("mx.fuzz.test", personality);
    config.accepted_domains = vec!["contoso.com".into()];
    config.require_tls = first & 0x10 != 0;
    config.limits = Limits {
        max_message_size: 4096,
        max_recipients: 5,
        max_commands: 200,
        max_line: 512,
        ..Limits::default()
    };
    config.sink = Some(Arc::new(Sink {
        max_size: config.limits.max_message_size,
        max_recipients: config.limits.max_recipients,
    }));
    let chunk = usize::from(first >> 5) * 37 + 1;
    let client = Client {
        data: data.to_vec(),
        at: 0,
        chunk,
    };
    let sent = Sent::default();
    let io = Box::new(tokio::io::join(client, sent.clone()));
    let peer = "192.0.2.7:40000".parse().expect("an address");
    let local = "192.0.2.1:25".parse().expect("an address");
    runtime().block_on(serve_session(io, peer, local, &config));

    let sent = sent.0.lock().expect("lock").clone();
    assert!(sent.is_empty() || sent.ends_with(b"\r\n"), "output ends inside a line");
    let mut lines = LineSplitter::default();
    lines.feed(&sent);
    let mut parser = ReplyParser::default();
    while let Some(event) = lines.next_line() {
        let LineEvent::Line(line) = event else { panic!("an overlong reply line") };
        assert!(!line.contains(&b'\r'), "a bare CR in a reply: {:?}", String::from_utf8_lossy(&line));
        parser
            .feed_line(&line)
            .unwrap_or_else(|e| panic!("the server sent a malformed reply: {e}"));
    }
    assert!(lines.pending().is_empty());
    assert!(!parser.in_progress(), "a multi-line reply left unfinished");
});
