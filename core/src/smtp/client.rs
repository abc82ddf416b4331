//! The client side of an SMTP conversation, shared by the probe ([`crate::probe::smtp`]) and the relay's
//! forwarding client ([`crate::relay::client`]): commands out, replies in, every line in one bounded
//! [`Transcript`].
//!
//! [`Conversation`] is sans-IO: [`Conversation::command_bytes`] records a command and gives the bytes to
//! send, [`Conversation::feed`] takes what arrived and [`Conversation::next_reply`] returns each complete
//! reply (lines bounded by [`crate::smtp::reply::MAX_LINE`], replies by
//! [`crate::smtp::reply::MAX_REPLY_LINES`]). [`Conversation::command`] and [`Conversation::read_reply`]
//! drive it over a stream under a time limit, for the callers that have one.

use std::time::Duration;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use super::io::BoxedIo;
use super::reply::{LineEvent, LineSplitter, MAX_LINE, RawReply, ReplyParser, escape};
use super::transcript::Transcript;
use crate::evidence::Direction;

/// Why no reply was read (or a command not sent).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ClientError {
    /// The server closed the connection.
    #[error("connection closed after {received} bytes of this reply")]
    Closed {
        /// Bytes of the awaited reply that had arrived.
        received: usize,
    },
    /// Reading or writing failed.
    #[error("{0}")]
    Io(String),
    /// The command could not be written within the time limit.
    #[error("could not send within the timeout")]
    WriteTimeout,
    /// Nothing arrived within the time limit.
    #[error("no reply in {secs:.0} s")]
    Timeout {
        /// The limit, in seconds.
        secs: f64,
    },
    /// Some of the reply arrived, not all of it, within the time limit.
    #[error("only {received} bytes arrived in {secs:.0} s ({pending} bytes of an unfinished line)")]
    TooSlow {
        /// Bytes that arrived.
        received: usize,
        /// Bytes of a line without its end.
        pending: usize,
        /// The limit, in seconds.
        secs: f64,
    },
    /// A line longer than [`MAX_LINE`].
    #[error("a line longer than {MAX_LINE} bytes")]
    TooLong,
    /// Lines that are not an SMTP reply.
    #[error("{0}")]
    NotSmtp(String),
}

/// The state of a client conversation: buffered bytes, the reply being read, the transcript.
#[derive(Debug)]
pub struct Conversation {
    lines: LineSplitter,
    parser: ReplyParser,
    /// Bytes of the reply being read that have arrived.
    received: usize,
    /// Everything said, both ways.
    pub transcript: Transcript,
}

impl Conversation {
    /// A conversation recording into `transcript`.
    pub fn new(transcript: Transcript) -> Self {
        Conversation {
            lines: LineSplitter::default(),
            parser: ReplyParser::default(),
            received: 0,
            transcript,
        }
    }

    /// Record a command line and return the bytes to send (the line and CRLF).
    pub fn command_bytes(&mut self, line: &str) -> Vec<u8> {
        self.transcript.push(Direction::Client, line);
        let mut bytes = Vec::with_capacity(line.len() + 2);
        bytes.extend_from_slice(line.as_bytes());
        bytes.extend_from_slice(b"\r\n");
        bytes
    }

    /// Take bytes that arrived from the server.
    pub fn feed(&mut self, bytes: &[u8]) {
        self.received = self.received.saturating_add(bytes.len());
        self.lines.feed(bytes);
    }

    /// The next complete reply among the bytes fed, each of its lines recorded as it is parsed; `None`
    /// until one is complete.
    ///
    /// # Errors
    /// A line too long, or lines that are not an SMTP reply (recorded as an error line).
    pub fn next_reply(&mut self) -> Option<Result<RawReply, ClientError>> {
        while let Some(event) = self.lines.next_line() {
            match event {
                LineEvent::Line(line) => {
                    let text = escape(&line);
                    match self.parser.feed_line(&line) {
                        Ok(done) => {
                            self.transcript.push(Direction::Server, &text);
                            if let Some(reply) = done {
                                self.received = 0;
                                return Some(Ok(reply));
                            }
                        }
                        Err(e) => {
                            self.transcript.push(Direction::Error, &text);
                            return Some(Err(ClientError::NotSmtp(e.to_string())));
                        }
                    }
                }
                LineEvent::TooLong => {
                    self.transcript
                        .push(Direction::Error, &format!("Line longer than {MAX_LINE} bytes"));
                    return Some(Err(ClientError::TooLong));
                }
            }
        }
        None
    }

    /// Bytes received that are not a complete line yet.
    pub fn pending(&self) -> &[u8] {
        self.lines.pending()
    }

    /// The conversation continues inside TLS: nothing received before it may be used after it (RFC
    /// 3207, STARTTLS response injection), and the transcript marks what follows as TLS.
    pub fn start_tls(&mut self) {
        self.lines.clear();
        self.parser = ReplyParser::default();
        self.received = 0;
        self.transcript.set_tls(true);
    }

    /// Write `bytes` within `limit`.
    ///
    /// # Errors
    /// The write failed or did not finish in time (a failure is recorded).
    pub async fn send(&mut self, io: &mut BoxedIo, bytes: &[u8], limit: Duration) -> Result<(), ClientError> {
        let write = async {
            io.write_all(bytes).await?;
            io.flush().await
        };
        match tokio::time::timeout(limit, write).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => {
                self.transcript
                    .push(Direction::Error, &format!("Sending failed: {e}"));
                Err(ClientError::Io(format!("sending failed: {e}")))
            }
            Err(_) => Err(ClientError::WriteTimeout),
        }
    }

    /// Send a command line and read its reply, each within `limit`.
    ///
    /// # Errors
    /// See [`Conversation::send`] and [`Conversation::read_reply`].
    pub async fn command(
        &mut self,
        io: &mut BoxedIo,
        line: &str,
        limit: Duration,
    ) -> Result<RawReply, ClientError> {
        let bytes = self.command_bytes(line);
        self.send(io, &bytes, limit).await?;
        self.read_reply(io, limit).await
    }

    /// Read one complete reply within `limit`.
    ///
    /// # Errors
    /// The connection closed or failed, the limit passed (with or without part of a reply), or what
    /// arrived is not an SMTP reply; each is recorded in the transcript.
    pub async fn read_reply(&mut self, io: &mut BoxedIo, limit: Duration) -> Result<RawReply, ClientError> {
        let deadline = tokio::time::Instant::now() + limit;
        self.received = self.lines.pending().len();
        let mut buf = [0u8; 4096];
        loop {
            if let Some(reply) = self.next_reply() {
                return reply;
            }
            match tokio::time::timeout_at(deadline, io.read(&mut buf)).await {
                Ok(Ok(0)) => {
                    self.transcript
                        .push(Direction::Error, "Connection closed by the server");
                    return Err(ClientError::Closed {
                        received: self.received,
                    });
                }
                Ok(Ok(n)) => self.feed(&buf[..n]),
                Ok(Err(e)) => {
                    self.transcript
                        .push(Direction::Error, &format!("Reading failed: {e}"));
                    return Err(ClientError::Io(e.to_string()));
                }
                Err(_) => {
                    let secs = limit.as_secs_f64();
                    let (received, pending) = (self.received, self.lines.pending().len());
                    return Err(if received > 0 || self.parser.in_progress() {
                        self.transcript.push(
                            Direction::Error,
                            &format!("Only {received} bytes in {secs:.0} s: reply incomplete"),
                        );
                        ClientError::TooSlow {
                            received,
                            pending,
                            secs,
                        }
                    } else {
                        self.transcript
                            .push(Direction::Error, &format!("No reply in {secs:.0} s"));
                        ClientError::Timeout { secs }
                    });
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use tokio::io::AsyncWriteExt as _;

    use super::*;

    fn conversation() -> Conversation {
        Conversation::new(Transcript::new(Instant::now()))
    }

    #[test]
    fn replies_come_whole_from_any_cut_of_the_bytes() {
        let mut c = conversation();
        assert_eq!(c.command_bytes("EHLO probe.test"), b"EHLO probe.test\r\n");
        let wire = b"250-mail.contoso.com\r\n250-SIZE 1000\r\n250 STARTTLS\r\n220 ready\r\n";
        let mut replies = Vec::new();
        for b in wire {
            c.feed(&[*b]);
            while let Some(r) = c.next_reply() {
                replies.push(r.expect("a reply"));
            }
        }
        assert_eq!(replies.len(), 2);
        assert_eq!(replies[0].code, 250);
        assert_eq!(replies[0].lines, ["mail.contoso.com", "SIZE 1000", "STARTTLS"]);
        assert_eq!(replies[1].code, 220);
        let texts: Vec<&str> = c.transcript.lines().iter().map(|l| l.text.as_str()).collect();
        assert_eq!(
            texts,
            [
                "EHLO probe.test",
                "250-mail.contoso.com",
                "250-SIZE 1000",
                "250 STARTTLS",
                "220 ready"
            ]
        );
    }

    #[test]
    fn garbage_and_overlong_lines_are_errors_in_the_transcript() {
        let mut c = conversation();
        c.feed(b"HTTP/1.0 400 Bad Request\r\n");
        assert!(matches!(c.next_reply(), Some(Err(ClientError::NotSmtp(_)))));
        let mut c = conversation();
        c.feed(&vec![b'2'; MAX_LINE + 1]);
        assert_eq!(c.next_reply(), Some(Err(ClientError::TooLong)));
        assert_eq!(c.transcript.lines()[0].dir, Direction::Error);
    }

    #[test]
    fn nothing_read_before_tls_is_used_after_it() {
        let mut c = conversation();
        c.feed(b"220 go ahead\r\n250 injected\r\n");
        assert_eq!(c.next_reply().map(|r| r.map(|r| r.code)), Some(Ok(220)));
        c.start_tls();
        assert!(c.next_reply().is_none());
        c.feed(b"250 real\r\n");
        let reply = c.next_reply().map(|r| r.map(|r| r.lines));
        assert_eq!(reply, Some(Ok(vec!["real".to_string()])));
        assert!(c.transcript.lines().last().is_some_and(|l| l.tls));
    }

    #[tokio::test]
    async fn read_reply_tells_silence_from_a_slow_drip_and_a_close() {
        let limit = Duration::from_millis(200);
        let (client, mut server) = tokio::io::duplex(1024);
        let mut io: BoxedIo = Box::new(client);
        let mut c = conversation();
        assert!(matches!(
            c.read_reply(&mut io, limit).await,
            Err(ClientError::Timeout { .. })
        ));
        server.write_all(b"220 mail").await.expect("write");
        assert!(matches!(
            c.read_reply(&mut io, limit).await,
            Err(ClientError::TooSlow {
                received: 8,
                pending: 8,
                ..
            })
        ));
        server.write_all(b".contoso.com\r\n").await.expect("write");
        let reply = c.read_reply(&mut io, limit).await.expect("the reply");
        assert_eq!(reply.lines, ["mail.contoso.com"]);
        drop(server);
        assert_eq!(
            c.read_reply(&mut io, limit).await,
            Err(ClientError::Closed { received: 0 })
        );
    }
}
