//! Reading a server's answer to one ClientHello, sans-IO: feed it the bytes as they arrive, it says
//! when it has seen enough. Enough is an alert, a HelloRetryRequest, a TLS 1.3 ServerHello (the rest
//! is encrypted), or a TLS 1.0-1.2 ServerHello followed by its Certificate, ServerKeyExchange and
//! ServerHelloDone. Bounded: records of at most [`MAX_RECORD`] bytes, handshake messages of at most
//! [`MAX_HANDSHAKE_MESSAGE`], [`MAX_ANSWER`] bytes in all.

use super::wire::{
    self, Cursor, KeyExchange, MAX_HANDSHAKE_MESSAGE, MAX_RECORD, ServerHello, WireError, content, handshake,
};
use crate::tls_suites::{self as suites, Kex};

/// Most bytes read from one answer.
pub const MAX_ANSWER: usize = 256 * 1024;
/// How many bytes of a non-TLS answer are kept to show.
const SHOWN: usize = 64;

/// What the server answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// A ServerHello (possibly a HelloRetryRequest), and what followed it.
    Hello(Negotiated),
    /// An alert instead of a ServerHello.
    Alert {
        /// 1 warning, 2 fatal.
        level: u8,
        /// The alert description.
        description: u8,
    },
    /// The connection ended before an answer (`bytes` of an unfinished one were read).
    Closed {
        /// Bytes received.
        bytes: usize,
    },
    /// Bytes that are not TLS (an SMTP reply, an HTTP error page), shown escaped.
    NotTls {
        /// The first bytes, escaped.
        shown: String,
    },
    /// TLS records that break the protocol.
    Malformed {
        /// What was wrong.
        error: String,
    },
}

/// What a ServerHello and the messages after it showed.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Negotiated {
    /// The version (wire value).
    pub version: u16,
    /// The suite.
    pub suite: u16,
    /// The named group (TLS 1.3 key share, HelloRetryRequest, or a TLS 1.2 ServerKeyExchange).
    pub group: Option<u16>,
    /// Bits of the DH prime of a DHE ServerKeyExchange.
    pub dh_bits: Option<usize>,
    /// Whether a TLS 1.2 ServerKeyExchange used explicit curve parameters.
    pub explicit_curve: bool,
    /// Whether this was a HelloRetryRequest.
    pub retry: bool,
    /// The certificates sent (TLS 1.0-1.2 only; TLS 1.3 encrypts them).
    pub chain: Vec<Vec<u8>>,
    /// Certificates beyond the kept ones.
    pub dropped_certificates: usize,
    /// Whether the answer ran to its natural end (ServerHelloDone, or the TLS 1.3 ServerHello).
    pub complete: bool,
    /// The server asked for a client certificate.
    pub certificate_request: bool,
    /// The server sent renegotiation_info.
    pub secure_renegotiation: bool,
}

/// Feeds on the bytes of one answer.
#[derive(Debug, Default)]
pub struct AnswerReader {
    /// Bytes not yet framed into records.
    pending: Vec<u8>,
    /// Handshake bytes not yet framed into messages.
    handshake: Vec<u8>,
    /// Bytes of the current handshake record still to come.
    in_record: Option<usize>,
    received: usize,
    hello: Option<Negotiated>,
    done: Option<Answer>,
}

impl AnswerReader {
    /// A reader for a fresh answer.
    pub fn new() -> Self {
        AnswerReader::default()
    }

    /// Feed bytes; `Some` once the answer is complete (further bytes are ignored).
    pub fn feed(&mut self, bytes: &[u8]) -> Option<Answer> {
        if let Some(done) = &self.done {
            return Some(done.clone());
        }
        self.received = self.received.saturating_add(bytes.len());
        let room = MAX_ANSWER.saturating_sub(self.pending.len());
        self.pending.extend_from_slice(&bytes[..bytes.len().min(room)]);
        let answer = self.step();
        if answer.is_none() && self.received > MAX_ANSWER {
            return self.finish_with(Answer::Malformed {
                error: format!("more than {MAX_ANSWER} bytes without the end of the server's first flight"),
            });
        }
        answer
    }

    /// The answer when the connection ended (or the time ran out) now.
    pub fn end(&mut self) -> Answer {
        if let Some(done) = &self.done {
            return done.clone();
        }
        match self.hello.take() {
            Some(hello) => Answer::Hello(hello),
            None => Answer::Closed { bytes: self.received },
        }
    }

    /// Bytes received so far.
    pub fn received(&self) -> usize {
        self.received
    }

    fn finish_with(&mut self, answer: Answer) -> Option<Answer> {
        self.done = Some(answer.clone());
        Some(answer)
    }

    fn step(&mut self) -> Option<Answer> {
        loop {
            // Inside a handshake record: its bytes are a stream of messages, used as they arrive (a
            // connection cut in the middle of a long Certificate still shows the ServerHello).
            if let Some(left) = self.in_record {
                let n = left.min(self.pending.len());
                if n == 0 {
                    return None;
                }
                if self.handshake.len() + n > MAX_HANDSHAKE_MESSAGE + 4 {
                    return self.malformed(format!(
                        "a handshake message longer than {MAX_HANDSHAKE_MESSAGE} bytes"
                    ));
                }
                self.handshake.extend(self.pending.drain(..n));
                self.in_record = (left > n).then_some(left - n);
                if let Some(answer) = self.messages() {
                    return Some(answer);
                }
                continue;
            }
            if self.pending.len() < 5 {
                // A non-TLS answer shows itself in its first bytes.
                if !self.pending.is_empty() && self.hello.is_none() && !plausible_start(&self.pending) {
                    return self.not_tls();
                }
                return None;
            }
            if !wire::plausible_record(&self.pending[..3]) {
                if self.hello.is_none() && self.handshake.is_empty() {
                    return self.not_tls();
                }
                return self.malformed(format!(
                    "a record of type {} after the ServerHello",
                    self.pending[0]
                ));
            }
            let len = usize::from(u16::from_be_bytes([self.pending[3], self.pending[4]]));
            if len > MAX_RECORD {
                return self.malformed(format!("a record of {len} bytes (at most {MAX_RECORD})"));
            }
            let kind = self.pending[0];
            if kind == content::HANDSHAKE {
                self.pending.drain(..5);
                self.in_record = (len > 0).then_some(len);
                continue;
            }
            if self.pending.len() < 5 + len {
                return None;
            }
            let payload: Vec<u8> = self.pending[5..5 + len].to_vec();
            self.pending.drain(..5 + len);
            match kind {
                content::ALERT => {
                    if payload.len() < 2 {
                        return self.malformed("a truncated alert".into());
                    }
                    if let Some(hello) = self.hello.take() {
                        // An alert after the ServerHello: keep what was negotiated.
                        return self.finish_with(Answer::Hello(hello));
                    }
                    return self.finish_with(Answer::Alert {
                        level: payload[0],
                        description: payload[1],
                    });
                }
                content::CHANGE_CIPHER_SPEC | content::APPLICATION_DATA => {
                    // TLS 1.3 compatibility CCS, or encrypted records: the plaintext part is over.
                    return match self.hello.take() {
                        Some(hello) => self.finish_with(Answer::Hello(hello)),
                        None => self.malformed(format!("a record of type {kind} before the ServerHello")),
                    };
                }
                other => return self.malformed(format!("a record of unknown type {other}")),
            }
        }
    }

    /// Consume the complete handshake messages buffered.
    fn messages(&mut self) -> Option<Answer> {
        loop {
            if self.handshake.len() < 4 {
                return None;
            }
            let kind = self.handshake[0];
            let len = usize::from(self.handshake[1]) << 16
                | usize::from(self.handshake[2]) << 8
                | usize::from(self.handshake[3]);
            if len > MAX_HANDSHAKE_MESSAGE {
                return self.malformed(format!("a handshake message of {len} bytes"));
            }
            if self.handshake.len() < 4 + len {
                return None;
            }
            let body: Vec<u8> = self.handshake[4..4 + len].to_vec();
            self.handshake.drain(..4 + len);
            if let Some(answer) = self.message(kind, &body) {
                return Some(answer);
            }
        }
    }

    fn message(&mut self, kind: u8, body: &[u8]) -> Option<Answer> {
        let Some(hello) = self.hello.as_mut() else {
            if kind != handshake::SERVER_HELLO {
                return self.malformed(format!("handshake message {kind} before the ServerHello"));
            }
            let sh = match ServerHello::parse(body) {
                Ok(sh) => sh,
                Err(e) => return self.malformed(format!("ServerHello: {e}")),
            };
            let negotiated = Negotiated {
                version: sh.version,
                suite: sh.suite,
                group: sh.group,
                retry: sh.retry,
                secure_renegotiation: sh.renegotiation_info,
                ..Negotiated::default()
            };
            if sh.retry || sh.version >= 0x0304 {
                // Everything after a TLS 1.3 ServerHello is encrypted; a retry request ends the flight.
                return self.finish_with(Answer::Hello(Negotiated {
                    complete: true,
                    ..negotiated
                }));
            }
            self.hello = Some(negotiated);
            return None;
        };
        match kind {
            handshake::CERTIFICATE => match wire::parse_certificates(body) {
                Ok((chain, dropped)) => {
                    hello.chain = chain;
                    hello.dropped_certificates = dropped;
                }
                Err(e) => return self.malformed(format!("Certificate: {e}")),
            },
            handshake::SERVER_KEY_EXCHANGE => {
                let kex = wire::kex_of(hello.suite);
                if !matches!(kex, Kex::Rsa | Kex::Tls13) {
                    match wire::parse_server_key_exchange(body, kex) {
                        Ok(KeyExchange::Named(group)) => hello.group = Some(group),
                        Ok(KeyExchange::ExplicitCurve) => hello.explicit_curve = true,
                        Ok(KeyExchange::Dh { bits }) => hello.dh_bits = Some(bits),
                        Err(e) => return self.malformed(format!("ServerKeyExchange: {e}")),
                    }
                }
            }
            handshake::CERTIFICATE_REQUEST => hello.certificate_request = true,
            handshake::SERVER_HELLO_DONE => {
                let mut done = hello.clone();
                done.complete = true;
                self.hello = None;
                return self.finish_with(Answer::Hello(done));
            }
            handshake::CERTIFICATE_STATUS => {}
            other => {
                return self.malformed(format!(
                    "unexpected handshake message {other} after the ServerHello"
                ));
            }
        }
        None
    }

    fn malformed(&mut self, error: String) -> Option<Answer> {
        match self.hello.take() {
            // What was negotiated stands; the rest of the flight was broken.
            Some(hello) => self.finish_with(Answer::Hello(hello)),
            None => self.finish_with(Answer::Malformed { error }),
        }
    }

    fn not_tls(&mut self) -> Option<Answer> {
        let shown = crate::smtp::reply::escape(&self.pending[..self.pending.len().min(SHOWN)]);
        self.finish_with(Answer::NotTls { shown })
    }
}

/// Whether the first bytes could still become a TLS record header.
fn plausible_start(bytes: &[u8]) -> bool {
    let ok_type = (20..=23).contains(&bytes[0]);
    let ok_major = bytes.get(1).is_none_or(|b| *b == 3);
    ok_type && ok_major
}

impl Answer {
    /// Words for what the server answered (`ServerHello TLSv1.2 TLS_RSA_WITH_AES_256_GCM_SHA384`,
    /// `alert handshake_failure (40)`).
    pub fn words(&self) -> String {
        match self {
            Answer::Hello(n) => {
                let mut s = format!(
                    "{} {} {}",
                    if n.retry {
                        "HelloRetryRequest"
                    } else {
                        "ServerHello"
                    },
                    suites::version_name(n.version),
                    suites::suite_name(n.suite)
                );
                if let Some(g) = n.group {
                    s.push_str(&format!(", group {}", suites::group_name(g)));
                }
                if let Some(bits) = n.dh_bits {
                    s.push_str(&format!(", DH {bits} bits"));
                }
                if !n.chain.is_empty() {
                    s.push_str(&format!(", {} certificate(s)", n.chain.len()));
                }
                s
            }
            Answer::Alert { level, description } => format!(
                "{} alert {} ({description})",
                if *level == 2 { "fatal" } else { "warning" },
                suites::alert_name(*description)
            ),
            Answer::Closed { bytes: 0 } => "the connection was closed without an answer".to_string(),
            Answer::Closed { bytes } => format!("the connection was closed after {bytes} bytes of an answer"),
            Answer::NotTls { shown } => format!("not TLS: {shown}"),
            Answer::Malformed { error } => format!("malformed TLS: {error}"),
        }
    }
}

/// Read a whole answer from `bytes` in one go (tests and fuzzing).
pub fn read_all(bytes: &[u8]) -> Answer {
    let mut reader = AnswerReader::new();
    reader.feed(bytes).unwrap_or_else(|| reader.end())
}

/// Parse the ClientHello at the start of `bytes` (one or more handshake records), for the lab's
/// server. `Ok(None)` while more bytes are needed.
///
/// # Errors
/// When the bytes are not a ClientHello.
pub fn read_client_hello(bytes: &[u8]) -> Result<Option<wire::ClientHello>, WireError> {
    let mut c = Cursor::new(bytes);
    let mut handshake_bytes = Vec::new();
    while c.left() >= 5 {
        let header = c.take(5, "record header")?;
        if header[0] != content::HANDSHAKE || header[1] != 3 {
            return Err(WireError::Invalid(format!(
                "expected a handshake record, got type {} version {}.{}",
                header[0], header[1], header[2]
            )));
        }
        let len = usize::from(u16::from_be_bytes([header[3], header[4]]));
        if len > MAX_RECORD {
            return Err(WireError::TooLong {
                what: "record",
                len,
                max: MAX_RECORD,
            });
        }
        if c.left() < len {
            return Ok(None);
        }
        handshake_bytes.extend_from_slice(c.take(len, "record")?);
        if handshake_bytes.len() >= 4 {
            let mut h = Cursor::new(&handshake_bytes);
            let kind = h.u8("handshake type")?;
            if kind != handshake::CLIENT_HELLO {
                return Err(WireError::Invalid(format!(
                    "expected a ClientHello, got message {kind}"
                )));
            }
            let need = h.u24("handshake length")?;
            if need > MAX_HANDSHAKE_MESSAGE {
                return Err(WireError::TooLong {
                    what: "ClientHello",
                    len: need,
                    max: MAX_HANDSHAKE_MESSAGE,
                });
            }
            if h.left() >= need {
                return wire::ClientHello::parse(h.take(need, "ClientHello")?).map(Some);
            }
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tls_scan::wire::{
        alert_record, certificate_message, ecdhe_params, records, server_hello_done,
        server_key_exchange_message,
    };

    fn flight() -> Vec<u8> {
        let sh = ServerHello {
            version: 0x0303,
            random: [1; 32],
            suite: 0xC028,
            group: None,
            retry: false,
            renegotiation_info: true,
        };
        let mut hs = sh.encode(&[], &[(wire::ext::RENEGOTIATION_INFO, vec![0])]);
        hs.extend(certificate_message(&[&[0x30; 1500], &[0x31; 1200]]));
        hs.extend(server_key_exchange_message(
            &ecdhe_params(0x001D, &[9; 32]),
            Some(0x0401),
            &[2; 256],
        ));
        hs.extend(server_hello_done());
        records(content::HANDSHAKE, 0x0303, &hs)
    }

    #[test]
    fn a_tls12_flight_gives_suite_chain_and_group_in_any_chunking() {
        let bytes = flight();
        let whole = read_all(&bytes);
        let Answer::Hello(n) = &whole else {
            panic!("{whole:?}")
        };
        assert_eq!((n.version, n.suite, n.group), (0x0303, 0xC028, Some(0x001D)));
        assert_eq!(n.chain.len(), 2);
        assert!(n.complete && n.secure_renegotiation);
        for size in [1, 3, 5, 7, 100] {
            let mut r = AnswerReader::new();
            let mut got = None;
            for chunk in bytes.chunks(size) {
                if let Some(a) = r.feed(chunk) {
                    got = Some(a);
                    break;
                }
            }
            assert_eq!(got.as_ref(), Some(&whole), "chunks of {size}");
        }
        assert!(
            whole
                .words()
                .contains("TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384, group x25519, 2 certificate(s)")
        );
    }

    #[test]
    fn alerts_smtp_replies_and_silence() {
        assert_eq!(
            read_all(&alert_record(0x0303, 2, 40)),
            Answer::Alert {
                level: 2,
                description: 40
            }
        );
        assert_eq!(
            read_all(&alert_record(0x0303, 2, 40)).words(),
            "fatal alert handshake_failure (40)"
        );
        let a = read_all(b"454 4.7.0 TLS not available due to local problem\r\n");
        assert!(
            matches!(&a, Answer::NotTls { shown } if shown.starts_with("454 4.7.0")),
            "{a:?}"
        );
        assert_eq!(read_all(b""), Answer::Closed { bytes: 0 });
        assert_eq!(read_all(&[22, 3, 3]), Answer::Closed { bytes: 3 });
    }

    #[test]
    fn a_truncated_flight_keeps_what_was_negotiated() {
        let bytes = flight();
        let a = read_all(&bytes[..200]);
        let Answer::Hello(n) = a else { panic!("{a:?}") };
        assert_eq!(n.suite, 0xC028);
        assert!(!n.complete);
    }

    #[test]
    fn oversized_records_are_refused() {
        let a = read_all(&[22, 3, 3, 0xff, 0xff]);
        assert!(matches!(a, Answer::Malformed { .. }), "{a:?}");
    }

    #[test]
    fn client_hellos_are_read_back() {
        let hello = wire::ClientHello {
            legacy_version: 0x0303,
            versions: Vec::new(),
            random: [0; 32],
            session_id: Vec::new(),
            suites: vec![0xC030],
            groups: vec![0x001D],
            signature_algorithms: vec![0x0401],
            server_name: Some("x".into()),
            key_shares: Vec::new(),
            renegotiation_info: false,
        };
        let rec = hello.to_records();
        assert_eq!(read_client_hello(&rec[..rec.len() - 1]), Ok(None));
        assert_eq!(read_client_hello(&rec), Ok(Some(hello)));
        assert!(read_client_hello(b"EHLO x\r\n").is_err());
    }
}
