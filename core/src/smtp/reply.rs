//! Sans-IO parsing of what an SMTP server sends: bounded lines, then multi-line replies.
//!
//! The client side of mailpath wants every byte the server said (including extension keywords no
//! registry knows, like `X-ANONYMOUSTLS` or a firewall's `XXXXXXXA`), so it parses replies itself
//! rather than into a fixed capability set.

/// The longest line accepted (RFC 5321 says 512 for replies; real servers exceed it, stay generous).
pub const MAX_LINE: usize = 4096;
/// The most lines in one reply.
pub const MAX_REPLY_LINES: usize = 128;

/// Splits a byte stream into lines without ever holding more than [`MAX_LINE`] bytes of one line.
#[derive(Debug, Default)]
pub struct LineSplitter {
    buf: Vec<u8>,
}

/// One step of [`LineSplitter::next_line`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LineEvent {
    /// A complete line, without its CRLF (or bare LF).
    Line(Vec<u8>),
    /// More than [`MAX_LINE`] bytes arrived without a line end.
    TooLong,
}

impl LineSplitter {
    /// Add received bytes.
    pub fn feed(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// The next complete line, if one is buffered.
    pub fn next_line(&mut self) -> Option<LineEvent> {
        match self.buf.iter().position(|&b| b == b'\n') {
            Some(pos) if pos <= MAX_LINE => {
                let mut line: Vec<u8> = self.buf.drain(..=pos).collect();
                line.pop();
                if line.last() == Some(&b'\r') {
                    line.pop();
                }
                Some(LineEvent::Line(line))
            }
            Some(_) => Some(LineEvent::TooLong),
            None if self.buf.len() > MAX_LINE => Some(LineEvent::TooLong),
            None => None,
        }
    }

    /// Bytes received that are not a complete line yet.
    pub fn pending(&self) -> &[u8] {
        &self.buf
    }

    /// Forget everything buffered (after STARTTLS: nothing sent before TLS may be used after it).
    pub fn clear(&mut self) {
        self.buf.clear();
    }
}

/// Why reply lines do not make a reply.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReplyError {
    /// A line that does not start with a three-digit code and a separator.
    #[error("not an SMTP reply line: {0}")]
    NotSmtp(String),
    /// A continuation line with another code than the first line.
    #[error("reply code changed from {first} to {this} inside a multi-line reply")]
    CodeChanged {
        /// The first line's code.
        first: u16,
        /// This line's code.
        this: u16,
    },
    /// More lines than [`MAX_REPLY_LINES`].
    #[error("reply has more than {MAX_REPLY_LINES} lines")]
    TooManyLines,
}

/// A complete reply: the code and the text of every line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawReply {
    /// The three-digit code.
    pub code: u16,
    /// Each line's text, without code and separator.
    pub lines: Vec<String>,
}

/// Whether the lines of an EHLO reply list the extension `keyword` (the first word of a line after the
/// greeting line, in any case: RFC 5321 4.1.1.1).
pub fn ehlo_offers(lines: &[String], keyword: &str) -> bool {
    lines.iter().skip(1).any(|l| {
        l.split_whitespace()
            .next()
            .is_some_and(|k| k.eq_ignore_ascii_case(keyword))
    })
}

/// Accumulates reply lines into one reply (`250-...`, `250 ...`).
#[derive(Debug, Default)]
pub struct ReplyParser {
    code: Option<u16>,
    lines: Vec<String>,
}

impl ReplyParser {
    /// Take one line; `Ok(Some(reply))` when the reply is complete.
    ///
    /// # Errors
    /// When the line is not an SMTP reply line or breaks the reply's bounds.
    pub fn feed_line(&mut self, line: &[u8]) -> Result<Option<RawReply>, ReplyError> {
        let text = escape(line);
        let (code, last, rest) = split_reply_line(line).ok_or_else(|| ReplyError::NotSmtp(text.clone()))?;
        if let Some(first) = self.code
            && first != code
        {
            return Err(ReplyError::CodeChanged { first, this: code });
        }
        self.code = Some(code);
        if self.lines.len() >= MAX_REPLY_LINES {
            return Err(ReplyError::TooManyLines);
        }
        self.lines.push(escape(rest));
        if last {
            self.code = None;
            return Ok(Some(RawReply {
                code,
                lines: std::mem::take(&mut self.lines),
            }));
        }
        Ok(None)
    }

    /// Whether part of a reply has been read.
    pub fn in_progress(&self) -> bool {
        self.code.is_some()
    }
}

/// `250-text` -> (250, false, "text"); `250 text` or `250` -> (250, true, ...).
fn split_reply_line(line: &[u8]) -> Option<(u16, bool, &[u8])> {
    let digits = line.get(..3)?;
    if !digits.iter().all(u8::is_ascii_digit) || !(b'2'..=b'5').contains(&digits[0]) {
        return None;
    }
    let code = digits.iter().fold(0u16, |n, d| n * 10 + u16::from(d - b'0'));
    match line.get(3) {
        None => Some((code, true, &[])),
        Some(b' ') => Some((code, true, &line[4..])),
        Some(b'-') => Some((code, false, &line[4..])),
        Some(_) => None,
    }
}

/// Printable text of received bytes: valid UTF-8 as is (control characters escaped), other bytes
/// as `\xNN`.
pub fn escape(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            if c.is_control() && c != '\t' {
                out.push_str(&format!("\\x{:02x}", u32::from(c)));
            } else {
                out.push(c);
            }
        }
        for b in chunk.invalid() {
            out.push_str(&format!("\\x{b:02x}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_all(input: &[u8]) -> Vec<Result<Option<RawReply>, ReplyError>> {
        let mut s = LineSplitter::default();
        s.feed(input);
        let mut p = ReplyParser::default();
        let mut out = Vec::new();
        while let Some(LineEvent::Line(l)) = s.next_line() {
            out.push(p.feed_line(&l));
        }
        out
    }

    #[test]
    fn ehlo_extensions_are_keywords_after_the_greeting_line_in_any_case() {
        let lines: Vec<String> = [
            "mx.contoso.com Hello STARTTLS",
            "SIZE 1000",
            "starttls",
            "SMTPUTF8x",
        ]
        .map(String::from)
        .to_vec();
        assert!(ehlo_offers(&lines, "STARTTLS"));
        assert!(ehlo_offers(&lines, "size"));
        // Neither the greeting line nor a longer keyword counts.
        assert!(!ehlo_offers(&lines[..1], "STARTTLS"));
        assert!(!ehlo_offers(&lines, "SMTPUTF8"));
    }

    #[test]
    fn replies_parse_in_a_table() {
        let r = |code, lines: &[&str]| {
            Ok(Some(RawReply {
                code,
                lines: lines.iter().map(|l| (*l).to_string()).collect(),
            }))
        };
        let cases: [(&[u8], Result<_, ReplyError>); 7] = [
            (
                b"220 mail.contoso.com ESMTP\r\n",
                r(220, &["mail.contoso.com ESMTP"]),
            ),
            (b"250\r\n", r(250, &[""])),
            (b"421 4.4.2 bye\n", r(421, &["4.4.2 bye"])),
            (
                b"HTTP/1.0 400 Bad\r\n",
                Err(ReplyError::NotSmtp("HTTP/1.0 400 Bad".into())),
            ),
            (b"\x00\xff\r\n", Err(ReplyError::NotSmtp("\\x00\\xff".into()))),
            (b"2500 x\r\n", Err(ReplyError::NotSmtp("2500 x".into()))),
            (b"099 x\r\n", Err(ReplyError::NotSmtp("099 x".into()))),
        ];
        for (input, expected) in cases {
            let got = parse_all(input).pop().unwrap();
            assert_eq!(got, expected, "{}", escape(input));
        }
    }

    #[test]
    fn multiline_reply_completes_on_the_space_line() {
        let got = parse_all(b"250-a Hello\r\n250-STARTTLS\r\n250 XXXXXXXA\r\n");
        assert_eq!(got[0], Ok(None));
        assert_eq!(
            got[2],
            Ok(Some(RawReply {
                code: 250,
                lines: vec!["a Hello".into(), "STARTTLS".into(), "XXXXXXXA".into()]
            }))
        );
        let mixed = parse_all(b"250-a\r\n251 b\r\n");
        assert_eq!(
            mixed[1],
            Err(ReplyError::CodeChanged {
                first: 250,
                this: 251
            })
        );
    }

    #[test]
    fn lines_are_bounded() {
        let mut s = LineSplitter::default();
        s.feed(&vec![b'2'; MAX_LINE + 1]);
        assert_eq!(s.next_line(), Some(LineEvent::TooLong));
        let mut p = ReplyParser::default();
        for _ in 0..MAX_REPLY_LINES {
            assert_eq!(p.feed_line(b"250-x"), Ok(None));
        }
        assert_eq!(p.feed_line(b"250-x"), Err(ReplyError::TooManyLines));
    }

    #[test]
    fn partial_lines_wait_for_more() {
        let mut s = LineSplitter::default();
        s.feed(b"22");
        assert_eq!(s.next_line(), None);
        s.feed(b"0 hi\r\n");
        assert_eq!(s.next_line(), Some(LineEvent::Line(b"220 hi".to_vec())));
        assert!(s.pending().is_empty());
    }
}
