//! The transcript of an SMTP conversation, with one bounded policy for every side of mailpath that
//! records one: the probe, the relay's forwarding client and the server behind the lab and the relay.
//!
//! At most [`MAX_LINES`] lines are kept (further lines are counted, not kept) and each line holds at most
//! [`MAX_TEXT`] characters (longer lines are cut and marked), so a server or client that talks without
//! end costs a bounded amount of memory and of report.

use std::fmt;
use std::time::Instant;

use crate::evidence::{Direction, TranscriptLine};

/// Most transcript lines kept per conversation (the rest is counted, not kept).
pub const MAX_LINES: usize = 500;
/// Longest transcript line kept, in characters (longer lines are cut and marked).
pub const MAX_TEXT: usize = 512;

/// Called with each line the moment it is kept (a transcript streamed like swaks').
pub type LineObserver = Box<dyn FnMut(&TranscriptLine) + Send + Sync>;

/// A bounded, timestamped transcript.
pub struct Transcript {
    started: Instant,
    tls: bool,
    lines: Vec<TranscriptLine>,
    dropped: usize,
    observer: Option<LineObserver>,
}

impl fmt::Debug for Transcript {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Transcript")
            .field("tls", &self.tls)
            .field("lines", &self.lines.len())
            .field("dropped", &self.dropped)
            .finish_non_exhaustive()
    }
}

impl Transcript {
    /// An empty transcript whose times count from `started`.
    pub fn new(started: Instant) -> Self {
        Transcript {
            started,
            tls: false,
            lines: Vec::new(),
            dropped: 0,
            observer: None,
        }
    }

    /// Report every kept line to `observer` as it is recorded.
    #[must_use]
    pub fn observed(mut self, observer: Option<LineObserver>) -> Self {
        self.observer = observer;
        self
    }

    /// Whether the lines recorded from now on travel inside TLS.
    pub fn set_tls(&mut self, tls: bool) {
        self.tls = tls;
    }

    /// Whether the conversation is inside TLS.
    pub fn tls(&self) -> bool {
        self.tls
    }

    /// Record a line (inside TLS or not, as [`Transcript::set_tls`] last said).
    pub fn push(&mut self, dir: Direction, text: &str) {
        self.push_at(dir, self.tls, text);
    }

    /// Record a line, saying whether it travelled inside TLS.
    pub fn push_at(&mut self, dir: Direction, tls: bool, text: &str) {
        if self.lines.len() >= MAX_LINES {
            self.dropped = self.dropped.saturating_add(1);
            return;
        }
        let text = match text.char_indices().nth(MAX_TEXT) {
            Some((cut, _)) => format!("{}... ({} bytes)", &text[..cut], text.len()),
            None => text.to_string(),
        };
        let ms = u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX);
        let line = TranscriptLine { ms, dir, tls, text };
        if let Some(observer) = &mut self.observer {
            observer(&line);
        }
        self.lines.push(line);
    }

    /// The lines kept so far.
    pub fn lines(&self) -> &[TranscriptLine] {
        &self.lines
    }

    /// Lines left out because of the bound.
    pub fn dropped(&self) -> usize {
        self.dropped
    }

    /// The kept lines and the number left out.
    pub fn into_parts(self) -> (Vec<TranscriptLine>, usize) {
        (self.lines, self.dropped)
    }

    /// The kept lines, ending with a note of how many were left out when some were (for evidence that
    /// has no field for the count).
    pub fn into_lines(self) -> Vec<TranscriptLine> {
        let (mut lines, dropped) = self.into_parts();
        if dropped > 0 {
            let ms = lines.last().map_or(0, |l| l.ms);
            lines.push(TranscriptLine {
                ms,
                dir: Direction::Info,
                tls: false,
                text: format!("{dropped} more line(s) not kept (a transcript keeps {MAX_LINES})"),
            });
        }
        lines
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_and_their_length_are_bounded() {
        let mut t = Transcript::new(Instant::now());
        t.push(Direction::Client, &"x".repeat(MAX_TEXT + 10));
        assert!(
            t.lines()[0]
                .text
                .ends_with(&format!("... ({} bytes)", MAX_TEXT + 10))
        );
        assert_eq!(
            t.lines()[0].text.chars().count(),
            MAX_TEXT + " (522 bytes)".len() + 3
        );
        t.set_tls(true);
        for i in 0..MAX_LINES + 7 {
            t.push(Direction::Server, &format!("250 line {i}"));
        }
        assert_eq!(t.lines().len(), MAX_LINES);
        assert!(t.lines()[1].tls);
        assert_eq!(t.dropped(), 8);
        let lines = t.into_lines();
        assert_eq!(lines.len(), MAX_LINES + 1);
        assert_eq!(
            lines.last().map(|l| l.text.as_str()),
            Some("8 more line(s) not kept (a transcript keeps 500)")
        );
    }

    #[test]
    fn the_observer_sees_each_kept_line_once() {
        let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let sink = std::sync::Arc::clone(&seen);
        let mut t = Transcript::new(Instant::now()).observed(Some(Box::new(move |l: &TranscriptLine| {
            sink.lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .push(l.text.clone());
        })));
        t.push(Direction::Client, "EHLO a");
        t.push_at(Direction::Server, true, "250 b");
        let seen = seen
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        assert_eq!(seen, ["EHLO a", "250 b"]);
    }
}
