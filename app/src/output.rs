//! Text rendering shared by the commands: statuses with colour on a terminal, check lists,
//! transcripts, the path by lane.

use std::borrow::Cow;
use std::fmt::Write as _;
use std::io::{IsTerminal as _, Write};

use mailpath_core::check::{CheckResult, Counts, Status};
use mailpath_core::evidence::{Direction, SmtpProbe};
use mailpath_core::path::MailPath;

use crate::Outcome;

/// Text from outside (the network, a file, a certificate) made safe for a terminal: every control
/// character shows as a visible escape instead of acting (ESC as `\x1b`, BEL as `\x07`, CR as `\r`,
/// LF as `\n`, TAB as `\t`, C1 controls and bidirectional overrides as `\u{9b}`, `\u{202e}`), so that a
/// Subject, a banner or a certificate subject can neither move the cursor, recolour, retitle the window,
/// overwrite a line nor reorder what is shown. Borrowed when there is nothing to escape.
///
/// Every place that prints such text goes through this function (directly, or through [`line`]).
pub fn escape(text: &str) -> Cow<'_, str> {
    if !text.chars().any(needs_escape) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\r' => out.push_str("\\r"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x80 && needs_escape(c) => {
                let _ = write!(out, "\\x{:02x}", u32::from(c));
            }
            c if needs_escape(c) => {
                let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// Control characters (C0, DEL, C1) and the Unicode bidirectional controls.
fn needs_escape(c: char) -> bool {
    c.is_control() || matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// Write one line of text output, every character of it passed through [`escape`] (the line must not
/// carry colour: use [`escape`] on each field where it does).
pub fn line(out: &mut impl Write, args: std::fmt::Arguments<'_>) -> std::io::Result<()> {
    let text = args
        .as_str()
        .map_or_else(|| Cow::Owned(args.to_string()), Cow::Borrowed);
    writeln!(out, "{}", escape(&text))
}

/// `writeln!` through [`line`]: the whole line escaped for the terminal.
macro_rules! term_line {
    ($out:expr) => {
        writeln!($out)
    };
    ($out:expr, $($arg:tt)*) => {
        $crate::output::line($out, format_args!($($arg)*))
    };
}
pub(crate) use term_line;

/// Longest line of an error message shown before it is cut.
const MAX_ERROR_LINE: usize = 300;

/// An error message for the terminal: each line escaped ([`escape`]) and cut to a short excerpt when
/// it is long (an error may quote what it could not parse: a hostile file must not flood the terminal).
pub fn error_text(message: &str) -> String {
    let mut out = String::new();
    for (i, l) in message.split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
        }
        out.push_str(&excerpt(&escape(l), MAX_ERROR_LINE));
    }
    out
}

/// The first `max` characters of `text`, and how many more were left out.
pub fn excerpt(text: &str, max: usize) -> Cow<'_, str> {
    match text.char_indices().nth(max) {
        None => Cow::Borrowed(text),
        Some((cut, _)) => {
            let rest = text[cut..].chars().count();
            Cow::Owned(format!("{}... ({rest} more characters)", &text[..cut]))
        }
    }
}

/// Whether to colour stdout: a terminal, and `NO_COLOR` unset.
pub fn colour() -> bool {
    std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none()
}

/// A status as a fixed-width tag, coloured when asked.
pub fn tag(status: Status, colour: bool) -> String {
    let (text, code) = match status {
        Status::Pass => ("PASS", "32"),
        Status::Info => ("INFO", "36"),
        Status::Skip => ("SKIP", "90"),
        Status::Warn => ("WARN", "33"),
        Status::Fail => ("FAIL", "31;1"),
    };
    if colour {
        format!("\x1b[{code}m{text}\x1b[0m")
    } else {
        text.to_string()
    }
}

/// The exit code of a set of results (PRODUCT.md): 2 failures, 1 warnings, 0 otherwise.
pub fn outcome(counts: &Counts) -> Outcome {
    if counts.fail > 0 {
        Outcome::Failures
    } else if counts.warn > 0 {
        Outcome::Warnings
    } else {
        Outcome::Passed
    }
}

/// One line per status count.
pub fn summary_line(counts: &Counts) -> String {
    format!(
        "{} pass, {} info, {} skip, {} warn, {} fail",
        counts.pass, counts.info, counts.skip, counts.warn, counts.fail
    )
}

/// Print checks: one line each, and for warnings and failures the detail and remediation.
pub fn print_checks(
    out: &mut impl Write,
    checks: &[&CheckResult],
    colour: bool,
    indent: &str,
) -> std::io::Result<()> {
    for c in checks {
        writeln!(
            out,
            "{indent}{} {:32} {}",
            tag(c.status, colour),
            escape(&c.id),
            escape(&c.summary)
        )?;
        if c.status >= Status::Warn {
            for (i, l) in c.detail.lines().enumerate() {
                let l = escape(l);
                if i == 0 {
                    writeln!(out, "{indent}       {l}")?;
                } else {
                    writeln!(out, "{indent}         {l}")?;
                }
            }
            for (i, l) in c.remediation.lines().enumerate() {
                let l = escape(l);
                if i == 0 {
                    writeln!(out, "{indent}       fix: {l}")?;
                } else {
                    writeln!(out, "{indent}            {l}")?;
                }
            }
        }
    }
    Ok(())
}

/// The path, lane by lane, with the checks of each hop and node.
pub fn print_path(
    out: &mut impl Write,
    path: &MailPath,
    checks: &[CheckResult],
    colour: bool,
) -> std::io::Result<()> {
    for lane in &path.lanes {
        writeln!(out, "\n{}", escape(&lane.title))?;
        for (i, node_id) in lane.nodes.iter().enumerate() {
            if let Some(node) = path.node(node_id) {
                let hosts = if node.hosts.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", node.hosts.join(", "))
                };
                writeln!(
                    out,
                    "  [{}] {}{}",
                    tag(node.status, colour),
                    escape(&node.label),
                    escape(&hosts)
                )?;
                let attached: Vec<&CheckResult> = checks
                    .iter()
                    .filter(|c| c.attachment == mailpath_core::check::Attachment::Node(node_id.clone()))
                    .filter(|c| c.status >= Status::Warn)
                    .collect();
                print_checks(out, &attached, colour, "        ")?;
            }
            let Some(hop_id) = lane.hops.get(i) else { continue };
            let Some(hop) = path.hop(hop_id) else { continue };
            let endpoint = hop.endpoint.clone().unwrap_or_else(|| "not observable".into());
            let facts = if hop.facts.is_empty() {
                String::new()
            } else {
                format!("  {}", hop.facts.join(", "))
            };
            writeln!(
                out,
                "     |  [{}] {}  {}{}  ({})",
                tag(hop.status, colour),
                escape(&hop.id),
                escape(&endpoint),
                escape(&facts),
                summary_line(&hop.counts)
            )?;
            let attached: Vec<&CheckResult> = checks
                .iter()
                .filter(|c| c.attachment == mailpath_core::check::Attachment::Hop(hop_id.clone()))
                .filter(|c| c.status >= Status::Warn)
                .collect();
            print_checks(out, &attached, colour, "     |    ")?;
            writeln!(out, "     v")?;
        }
    }
    Ok(())
}

/// A swaks-like transcript: `->` sent, `<-` received, `~>`/`<~` inside TLS, `===` notes, `***` errors.
pub fn print_transcript(out: &mut impl Write, probe: &SmtpProbe) -> std::io::Result<()> {
    for line in &probe.transcript {
        let prefix = match (line.dir, line.tls) {
            (Direction::Client, false) => " -> ",
            (Direction::Client, true) => " ~> ",
            (Direction::Server, false) => "<-  ",
            (Direction::Server, true) => "<~  ",
            (Direction::Info, _) => "=== ",
            (Direction::Error, _) => "*** ",
        };
        writeln!(
            out,
            "{:>7.3}s {prefix}{}",
            line.ms as f64 / 1000.0,
            escape(&line.text)
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_show_as_escapes() {
        assert_eq!(escape("plain text, ünïcode"), "plain text, ünïcode");
        assert!(matches!(escape("plain"), Cow::Borrowed(_)));
        assert_eq!(
            escape("a\x1b[31mb\x07c\rd\ne\tf\x7fg"),
            r"a\x1b[31mb\x07c\rd\ne\tf\x7fg"
        );
        assert_eq!(escape("csi\u{9b}2J rlo\u{202e}x"), r"csi\u{9b}2J rlo\u{202e}x");
    }

    #[test]
    fn lines_are_escaped_whole() {
        let mut out = Vec::new();
        term_line!(&mut out, "EHLO {}", "evil\x1b]0;title\x07").unwrap();
        term_line!(&mut out).unwrap();
        assert_eq!(out, b"EHLO evil\\x1b]0;title\\x07\n\n");
    }

    #[test]
    fn long_error_lines_are_cut_to_an_excerpt() {
        let long = format!("file.toml:2:1: unknown key `{}`\nsecond line", "k".repeat(1000));
        let shown = error_text(&long);
        let mut lines = shown.lines();
        let first = lines.next().unwrap_or_default();
        assert!(first.len() < MAX_ERROR_LINE + 40, "{first}");
        assert!(first.ends_with("... (729 more characters)"), "{first}");
        assert_eq!(lines.next(), Some("second line"));
        assert_eq!(excerpt("short", 10), "short");
    }
}
