//! Message content as it arrives after `DATA` or in `BDAT` chunks: sans-IO, streaming (state is
//! kept between calls, so content may arrive in pieces of any size) and strict.
//!
//! - The end of `DATA` is `<CRLF>.<CRLF>` and nothing else (RFC 5321 4.1.1.4), where the first
//!   `<CRLF>` may be the one that ended the `DATA` command: `DATA` then `.` is an empty message. A
//!   lone LF or CR before or after the dot (`\n.\n`, `\r\n.\n`, `\n.\r\n`, `\r.\r`, ...) never ends
//!   the message: that is the ambiguity SMTP smuggling exploits (CVE-2023-51764 and kin).
//! - Dot-unstuffing (RFC 5321 4.5.2) applies to the first character of every line, the first line
//!   included (`..x` is `.x`). A dot followed by a lone CR or LF is not a stuffing dot and is kept.
//! - A CR not followed by LF, or an LF not preceded by CR, is a bare line end. RFC 5321 2.3.8 forbids
//!   them in content; [`DataReader`] and [`LineEnds`] report the first one so that the server can
//!   refuse the message (`550 5.6.11`, see [`BARE_LINE_END_REPLY`]) instead of storing or relaying
//!   bytes that the next hop could read as a line end.

/// The reply to a message whose content holds a bare CR or LF. 5.6.11 is the enhanced status code
/// Exchange uses for bare line feeds (`SMTPSEND.BareLinefeedsAreIllegal`); Postfix (`smtpd_forbid_bare_newline`),
/// Sendmail 8.18 and KumoMTA refuse such content too rather than rewrite it, which would break DKIM
/// signatures.
pub const BARE_LINE_END_REPLY: &str =
    "550 5.6.11 Message contains a bare CR or LF; lines must end with CRLF (RFC 5321 2.3.8)";

/// The first bare line end found in some content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BareLineEnd {
    /// A CR not followed by LF.
    Cr,
    /// An LF not preceded by CR.
    Lf,
}

/// Where the reader stands between two bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// At the start of a line (after CRLF, or at the start of the content).
    LineStart,
    /// Inside a line.
    Text,
    /// After a CR inside a line (already copied out); a LF next makes a line end.
    Cr,
    /// After a dot at the start of a line (not copied out yet).
    Dot,
    /// After `.` CR at the start of a line (neither copied out yet).
    DotCr,
}

/// Reads the content of `DATA`: finds the end of data, unstuffs dots, notes bare line ends.
#[derive(Debug, Clone)]
pub struct DataReader {
    state: State,
    bare: Option<BareLineEnd>,
}

impl Default for DataReader {
    fn default() -> Self {
        DataReader::new()
    }
}

impl DataReader {
    /// A reader at the start of the content (just after the `DATA` command line).
    pub fn new() -> DataReader {
        DataReader {
            state: State::LineStart,
            bare: None,
        }
    }

    /// The first bare CR or LF seen so far.
    pub fn bare(&self) -> Option<BareLineEnd> {
        self.bare
    }

    fn note(&mut self, bare: BareLineEnd) {
        self.bare.get_or_insert(bare);
    }

    /// Read `input`, appending the unstuffed content to `out`. Returns how many bytes were consumed
    /// and whether the end of data was reached; bytes after the end of data are not consumed (they
    /// are the client's next commands). `out` grows by at most `input.len()` bytes.
    pub fn feed(&mut self, input: &[u8], out: &mut Vec<u8>) -> (usize, bool) {
        let mut i = 0;
        while i < input.len() {
            if self.state == State::Text {
                // The common case: copy the run up to the next CR or LF at once.
                let rest = &input[i..];
                match memchr::memchr2(b'\r', b'\n', rest) {
                    None => {
                        out.extend_from_slice(rest);
                        return (input.len(), false);
                    }
                    Some(at) => {
                        out.extend_from_slice(&rest[..=at]);
                        i += at + 1;
                        if rest[at] == b'\r' {
                            self.state = State::Cr;
                        } else {
                            self.note(BareLineEnd::Lf);
                        }
                        continue;
                    }
                }
            }
            let byte = input[i];
            i += 1;
            self.state = match (self.state, byte) {
                (State::LineStart, b'.') => State::Dot,
                (State::LineStart | State::Text, b'\r') => {
                    out.push(b'\r');
                    State::Cr
                }
                (State::LineStart | State::Text, b'\n') => {
                    self.note(BareLineEnd::Lf);
                    out.push(b'\n');
                    State::Text
                }
                (State::Cr, b'\n') => {
                    out.push(b'\n');
                    State::LineStart
                }
                (State::Cr, b'\r') => {
                    self.note(BareLineEnd::Cr);
                    out.push(b'\r');
                    State::Cr
                }
                (State::Cr, _) => {
                    self.note(BareLineEnd::Cr);
                    out.push(byte);
                    State::Text
                }
                (State::Dot, b'\r') => State::DotCr,
                (State::Dot, b'\n') => {
                    // `.` then a bare LF: no stuffing dot, and not an end of data either.
                    self.note(BareLineEnd::Lf);
                    out.extend_from_slice(b".\n");
                    State::Text
                }
                (State::DotCr, b'\n') => {
                    self.state = State::LineStart;
                    return (i, true);
                }
                (State::DotCr, b'\r') => {
                    self.note(BareLineEnd::Cr);
                    out.extend_from_slice(b".\r\r");
                    State::Cr
                }
                (State::DotCr, _) => {
                    self.note(BareLineEnd::Cr);
                    out.extend_from_slice(b".\r");
                    out.push(byte);
                    State::Text
                }
                // A stuffed dot: the dot goes, the byte after it stays.
                (State::Dot | State::LineStart | State::Text, _) => {
                    out.push(byte);
                    State::Text
                }
            };
        }
        (input.len(), false)
    }
}

/// Notes bare CR and LF in content that has no end marker (`BDAT` chunks), across chunk
/// boundaries.
#[derive(Debug, Clone, Default)]
pub struct LineEnds {
    after_cr: bool,
    bare: Option<BareLineEnd>,
}

impl LineEnds {
    /// Look at the next bytes of the content.
    pub fn scan(&mut self, bytes: &[u8]) {
        if self.bare.is_some() {
            return;
        }
        let mut from = 0;
        if self.after_cr && !bytes.is_empty() {
            if bytes[0] != b'\n' {
                self.bare = Some(BareLineEnd::Cr);
                return;
            }
            from = 1;
        }
        for at in memchr::memchr2_iter(b'\r', b'\n', &bytes[from..]).map(|p| p + from) {
            let ok = if bytes[at] == b'\r' {
                bytes.get(at + 1).is_none_or(|&next| next == b'\n')
            } else {
                at > 0 && bytes[at - 1] == b'\r'
            };
            if !ok {
                self.bare = Some(if bytes[at] == b'\r' {
                    BareLineEnd::Cr
                } else {
                    BareLineEnd::Lf
                });
                return;
            }
        }
        if !bytes.is_empty() {
            self.after_cr = bytes[bytes.len() - 1] == b'\r';
        }
    }

    /// The first bare line end seen so far (a CR at the very end is not judged yet).
    pub fn bare(&self) -> Option<BareLineEnd> {
        self.bare
    }

    /// The first bare line end of the whole content (a CR at its very end is one).
    pub fn finish(&self) -> Option<BareLineEnd> {
        self.bare.or(self.after_cr.then_some(BareLineEnd::Cr))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feed `input` in pieces of `step` bytes: (content, consumed, ended, bare).
    fn read(input: &[u8], step: usize) -> (Vec<u8>, usize, bool, Option<BareLineEnd>) {
        let mut reader = DataReader::new();
        let mut out = Vec::new();
        let mut consumed = 0;
        for piece in input.chunks(step.max(1)) {
            let (n, done) = reader.feed(piece, &mut out);
            consumed += n;
            if done {
                return (out, consumed, true, reader.bare());
            }
            assert_eq!(n, piece.len());
        }
        (out, consumed, false, reader.bare())
    }

    /// Same result whatever the piece size.
    fn read_all_ways(input: &[u8]) -> (Vec<u8>, usize, bool, Option<BareLineEnd>) {
        let whole = read(input, input.len());
        for step in [1, 2, 3, 7] {
            assert_eq!(read(input, step), whole, "pieces of {step} of {input:?}");
        }
        whole
    }

    #[test]
    fn only_crlf_dot_crlf_ends_the_data() {
        let (out, n, done, bare) = read_all_ways(b"Subject: x\r\n\r\nbody\r\n.\r\nQUIT\r\n");
        assert_eq!(
            (out.as_slice(), n, done, bare),
            (&b"Subject: x\r\n\r\nbody\r\n"[..], 23, true, None)
        );
        // Every smuggling variant: the message goes on; the real end comes later.
        for fake in [
            &b"\n.\n"[..],
            b"\r\n.\n",
            b"\n.\r\n",
            b"\r.\r",
            b"\r.\r\n",
            b"\r\n.\r",
            b"\r\n.\rX",
            b"\n.\r",
            b"\r.\n",
        ] {
            let mut input = b"a".to_vec();
            input.extend_from_slice(fake);
            input.extend_from_slice(b"MAIL FROM:<x@evil.test>\r\n.\r\n");
            let (out, n, done, bare) = read_all_ways(&input);
            assert!(done, "{fake:?}");
            assert_eq!(n, input.len(), "{fake:?}: the fake end did not end the data");
            assert!(bare.is_some(), "{fake:?} is reported as a bare line end");
            assert!(
                out.windows(4).any(|w| w == b"MAIL"),
                "{fake:?}: the smuggled command stays content"
            );
        }
    }

    #[test]
    fn a_dot_before_a_lone_line_end_is_kept() {
        let (out, _, done, bare) = read_all_ways(b"a\r\n.\nb\r\n.\r\n");
        assert!(done);
        assert_eq!(out, b"a\r\n.\nb\r\n");
        assert_eq!(bare, Some(BareLineEnd::Lf));
        let (out, _, _, bare) = read_all_ways(b"a\r\n.\rb\r\n.\r\n");
        assert_eq!(out, b"a\r\n.\rb\r\n");
        assert_eq!(bare, Some(BareLineEnd::Cr));
        let (out, _, _, _) = read_all_ways(b"a\r\n.\r\rb\r\n.\r\n");
        assert_eq!(out, b"a\r\n.\r\rb\r\n");
    }

    #[test]
    fn empty_message_and_unstuffing_of_the_first_line() {
        assert_eq!(read_all_ways(b".\r\n"), (Vec::new(), 3, true, None));
        let (out, _, done, bare) = read_all_ways(b"..x\r\n..\r\n.y\r\n.\r\n");
        assert!(done);
        assert_eq!(out, b".x\r\n.\r\ny\r\n");
        assert_eq!(bare, None);
        // Unfinished: everything is consumed, nothing ends.
        let (out, n, done, _) = read_all_ways(b"abc\r\n.");
        assert_eq!((out.as_slice(), n, done), (&b"abc\r\n"[..], 6, false));
    }

    #[test]
    fn line_ends_across_bdat_chunks() {
        let check = |chunks: &[&[u8]]| {
            let mut ends = LineEnds::default();
            for c in chunks {
                ends.scan(c);
            }
            ends.finish()
        };
        assert_eq!(check(&[b"a\r\nb\r\n"]), None);
        assert_eq!(check(&[b"a\r", b"\nb\r\n"]), None);
        assert_eq!(check(&[b"a\r", b"", b"\nb"]), None);
        assert_eq!(check(&[b"a\r", b"b"]), Some(BareLineEnd::Cr));
        assert_eq!(check(&[b"a\nb"]), Some(BareLineEnd::Lf));
        assert_eq!(check(&[b"\nb"]), Some(BareLineEnd::Lf));
        assert_eq!(check(&[b"a\r"]), Some(BareLineEnd::Cr));
        assert_eq!(check(&[b"a\r\r\n"]), Some(BareLineEnd::Cr));
        assert_eq!(check(&[b"a\r\n", b"\n"]), Some(BareLineEnd::Lf));
    }
}
