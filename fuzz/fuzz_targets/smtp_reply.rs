//! The SMTP reply parser over the line splitter: replies have a valid code, a bounded number of lines,
//! and text without control characters (but TAB).
#![no_main]

use libfuzzer_sys::fuzz_target;
use mailpath_core::smtp::reply::{LineEvent, LineSplitter, MAX_REPLY_LINES, ReplyParser};

fuzz_target!(|data: &[u8]| {
    let mut splitter = LineSplitter::default();
    splitter.feed(data);
    let mut parser = ReplyParser::default();
    while let Some(LineEvent::Line(line)) = splitter.next_line() {
        match parser.feed_line(&line) {
            Ok(Some(reply)) => {
                assert!((200..600).contains(&reply.code), "code {}", reply.code);
                assert!(!reply.lines.is_empty() && reply.lines.len() <= MAX_REPLY_LINES);
                for text in &reply.lines {
                    // reply::escape keeps TAB (RFC 5321 text may hold it); every other control is escaped.
                    let raw = text.chars().any(|c| c.is_control() && c != '\t');
                    assert!(!raw, "control character in {text:?}");
                }
                assert!(!parser.in_progress());
            }
            Ok(None) => assert!(parser.in_progress()),
            Err(e) => {
                let _ = e.to_string();
                parser = ReplyParser::default();
            }
        }
    }
});
