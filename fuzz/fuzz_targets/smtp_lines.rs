//! The SMTP line splitter (what the probe and the relay's client read replies with): however the bytes
//! are cut into reads, the same lines come out, none longer than MAX_LINE, none holding a line end.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mailpath_core::smtp::reply::{LineEvent, LineSplitter, MAX_LINE};

/// Every line (or the overlong-line stop) from `chunks` fed one after the other.
fn lines<'a>(chunks: impl Iterator<Item = &'a [u8]>) -> Vec<LineEvent> {
    let mut splitter = LineSplitter::default();
    let mut out = Vec::new();
    for chunk in chunks {
        splitter.feed(chunk);
        while let Some(event) = splitter.next_line() {
            let stop = event == LineEvent::TooLong;
            out.push(event);
            if stop {
                // What every caller does: the session ends.
                return out;
            }
        }
    }
    out
}

fuzz_target!(|data: &[u8]| {
    let Some((&first, data)) = data.split_first() else { return };
    let chunk = usize::from(first).max(1);
    let whole = lines(std::iter::once(data));
    let cut = lines(data.chunks(chunk));
    assert_eq!(whole, cut, "the cut into reads changed the lines");
    for event in &whole {
        if let LineEvent::Line(line) = event {
            assert!(line.len() <= MAX_LINE);
            assert!(!line.contains(&b'\n'));
        }
    }
});
