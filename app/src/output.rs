//! Text rendering shared by the commands: statuses with colour on a terminal, check lists,
//! transcripts, the path by lane.

use std::borrow::Cow;
use std::fmt::Write as _;
use std::io::{IsTerminal as _, Write};

use mailpath_core::check::{Attachment, CheckResult, Counts, Status};
use mailpath_core::diagnose::Diagnosis;
use mailpath_core::evidence::{Direction, SmtpProbe, TranscriptLine};
use mailpath_core::path::MailPath;
use mailpath_core::verdict::Verdict;

use crate::Outcome;

/// Text from outside (the network, a file, a certificate) made safe for a terminal: every control
/// character shows as a visible escape instead of acting (ESC as `\x1b`, BEL as `\x07`, CR as `\r`,
/// LF as `\n`, TAB as `\t`, C1 controls and bidirectional overrides as `\u{9b}`, `\u{202e}`), so that a
/// Subject, a banner or a certificate subject can neither move the cursor, recolour, retitle the window,
/// overwrite a line nor reorder what is shown. Borrowed when there is nothing to escape.
///
/// Every place that prints such text goes through this function (directly, or through [`line()`]).
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

/// A date and time as every command prints it: `2026-11-27 14:03 UTC` (the core's one form, which the
/// export import and the reports use too).
pub fn date(t: time::OffsetDateTime) -> String {
    mailpath_core::exchange::short_time(t)
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
    Verdict::of_counts(counts).into()
}

/// The status counts in one line, worst first (fail, warn, skip, info, pass): the order every command
/// and report uses.
pub fn summary_line(counts: &Counts) -> String {
    counts
        .worst_first()
        .iter()
        .map(|(n, s)| format!("{n} {}", s.as_str()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Write `bytes` to stdout and flush. A reader that went away (`| head`) is not an error: the command
/// still ends with its own exit code, quietly.
///
/// # Errors
/// Any other write error.
pub fn emit(bytes: &[u8]) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other,
    }
}

/// Whether an error is a closed pipe on stdout.
pub fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// An error and its causes in one line, each said once: a cause whose words the message already holds (an
/// OS error that a context or the error's own text repeats) is not repeated.
pub fn error_chain(err: &anyhow::Error) -> String {
    let mut text = String::new();
    for cause in err.chain() {
        let words = cause.to_string();
        if words.is_empty() || text.contains(&words) {
            continue;
        }
        if !text.is_empty() {
            text.push_str(": ");
        }
        text.push_str(&words);
    }
    text
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
            out.write_all(remediation_text(c, &format!("{indent}       ")).as_bytes())?;
        }
    }
    Ok(())
}

/// A problem: one or more check results that say the same thing (the same certificate failing on two
/// hops is one problem listing both).
pub struct Problem<'a> {
    /// The first result (id, status, words, fix).
    pub check: &'a CheckResult,
    /// Where: `hop-or-node (target)` of every result it stands for.
    pub places: Vec<String>,
}

/// Where a result sits, in words: `in.eop-edge (mail.contoso.com:25)`.
pub fn place(c: &CheckResult) -> String {
    let on = match &c.attachment {
        Attachment::Node(id) | Attachment::Hop(id) => id.as_str(),
        Attachment::None => "",
    };
    match (on.is_empty(), c.target.is_empty()) {
        (true, _) => c.target.clone(),
        (false, true) => on.to_string(),
        (false, false) => format!("{on} ({})", c.target),
    }
}

/// The warnings and failures, worst first, each said once: results with the same id, status, summary and
/// remediation are one problem with every place they were found.
pub fn problems(checks: &[CheckResult]) -> Vec<Problem<'_>> {
    let mut out: Vec<Problem<'_>> = Vec::new();
    for c in checks.iter().filter(|c| c.status >= Status::Warn) {
        let same = out.iter_mut().find(|p| {
            p.check.id == c.id
                && p.check.status == c.status
                && p.check.summary == c.summary
                && p.check.remediation == c.remediation
        });
        match same {
            Some(p) => {
                let at = place(c);
                if !p.places.contains(&at) {
                    p.places.push(at);
                }
            }
            None => out.push(Problem {
                check: c,
                places: vec![place(c)],
            }),
        }
    }
    // Stable: within a status, the order of the path.
    out.sort_by_key(|p| std::cmp::Reverse(p.check.status));
    out
}

/// Counts as words, worst first, leaving out the zeros (`1 fail, 16 pass`).
pub fn counts_words(counts: &Counts) -> String {
    let words: Vec<String> = counts
        .worst_first()
        .iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, s)| format!("{n} {}", s.as_str()))
        .collect();
    if words.is_empty() {
        "no checks".into()
    } else {
        words.join(", ")
    }
}

fn indent_lines(out: &mut String, text: &str, prefix: &str) {
    for line in text.lines() {
        out.push_str(prefix);
        out.push_str(&escape(line));
        out.push('\n');
    }
}

/// The remediation of a check, for a terminal: `fix:`, then one step per line under it, each command alone
/// on its line (triple-click copies it), the place in brackets whenever it changes.
pub fn remediation_text(c: &CheckResult, prefix: &str) -> String {
    let mut out = String::new();
    if !c.remediation.is_empty() {
        out.push_str(prefix);
        out.push_str("fix:\n");
        indent_lines(&mut out, &c.remediation.to_text(), &format!("{prefix}  "));
    }
    out
}

/// The text of a diagnosis: the verdict; the problems worst first, deduplicated, each with where, what
/// and the fix; then the path lane by lane, one line per node and hop. `verbose` lists every check under
/// its node or hop (skipped ones with their reason).
pub fn diagnosis_text(d: &Diagnosis, colour: bool, verbose: bool) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let (verdict, reason) = Verdict::of(d);
    let _ = writeln!(
        out,
        "mailpath {}: {} ({} ms)",
        d.mailpath_version,
        escape(&d.profile.name),
        d.duration_ms
    );
    let problems = problems(&d.checks);
    let fails = problems.iter().filter(|p| p.check.status == Status::Fail).count();
    let warns = problems.len() - fails;
    let headline = match verdict {
        Verdict::Pass => "PASS: no problems found".to_string(),
        Verdict::Warn => format!("WARN: {warns} warning(s)"),
        Verdict::Fail => format!("FAIL: {fails} failure(s), {warns} warning(s)"),
        Verdict::Incomplete => format!(
            "INCOMPLETE: {}; {fails} failure(s), {warns} warning(s) in what was found",
            reason.as_deref().unwrap_or("the diagnosis did not finish")
        ),
    };
    let status = match verdict {
        Verdict::Pass => Status::Pass,
        Verdict::Warn => Status::Warn,
        Verdict::Fail | Verdict::Incomplete => Status::Fail,
    };
    let _ = writeln!(
        out,
        "{} ({} checks: {})",
        paint(&headline, status, colour),
        d.checks.len(),
        summary_line(&d.counts)
    );
    if !problems.is_empty() {
        let _ = writeln!(out, "\nProblems, worst first:");
        for (i, p) in problems.iter().enumerate() {
            let c = p.check;
            let _ = writeln!(
                out,
                "{:>3}. {} {}  {}",
                i + 1,
                tag(c.status, colour),
                escape(&c.id),
                escape(&c.summary)
            );
            let _ = writeln!(out, "     where: {}", escape(&p.places.join(", ")));
            if !c.detail.is_empty() {
                indent_lines(&mut out, &c.detail, "     ");
            }
            out.push_str(&remediation_text(c, "     "));
        }
    }
    let _ = write!(
        out,
        "{}",
        path_text(&d.path, &d.checks, &problems, colour, verbose)
    );
    out
}

fn paint(text: &str, status: Status, colour: bool) -> String {
    if !colour {
        return text.to_string();
    }
    let code = match status {
        Status::Pass => "32;1",
        Status::Warn => "33;1",
        _ => "31;1",
    };
    format!("\x1b[{code}m{text}\x1b[0m")
}

fn attached<'a>(checks: &'a [CheckResult], a: &'a Attachment) -> impl Iterator<Item = &'a CheckResult> {
    checks.iter().filter(move |c| c.attachment == *a)
}

/// The path, lane by lane: one line per node and per hop with its status and counts, the problems on it by
/// number; with `verbose`, every check. A node shows its rolled-up status ([`MailPath::roll_up`]): its own
/// checks and what it serves, so that an Edge whose certificate fails is not shown as passing.
fn path_text(
    path: &MailPath,
    checks: &[CheckResult],
    problems: &[Problem<'_>],
    colour: bool,
    verbose: bool,
) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let number = |c: &CheckResult| {
        problems
            .iter()
            .position(|p| p.places.contains(&place(c)) && p.check.id == c.id && p.check.summary == c.summary)
            .map(|i| i + 1)
    };
    let list = |out: &mut String, a: &Attachment, prefix: &str| {
        for c in attached(checks, a) {
            if verbose {
                let _ = writeln!(
                    out,
                    "{prefix}{} {:32} {}",
                    tag(c.status, colour),
                    escape(&c.id),
                    escape(&c.summary)
                );
            } else if c.status >= Status::Warn {
                let n = number(c).map(|n| format!(" (problem {n})")).unwrap_or_default();
                let _ = writeln!(out, "{prefix}{} {}{n}", tag(c.status, colour), escape(&c.id));
            }
        }
    };
    for lane in &path.lanes {
        let _ = writeln!(out, "\n{}", escape(&lane.title));
        for (i, node_id) in lane.nodes.iter().enumerate() {
            if let Some(node) = path.node(node_id) {
                let hosts = if node.hosts.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", node.hosts.join(", "))
                };
                let _ = writeln!(
                    out,
                    "  [{}] {}{}",
                    tag(node.status, colour),
                    escape(&node.label),
                    escape(&hosts)
                );
                list(&mut out, &Attachment::Node(node_id.clone()), "        ");
            }
            let Some(hop_id) = lane.hops.get(i) else { continue };
            let Some(hop) = path.hop(hop_id) else { continue };
            let endpoint = hop.endpoint.clone().unwrap_or_else(|| "not observable".into());
            let facts = if hop.facts.is_empty() {
                String::new()
            } else {
                format!("  {}", hop.facts.join(", "))
            };
            let counts = if verbose || hop.status >= Status::Warn {
                format!("  ({})", counts_words(&hop.counts))
            } else {
                String::new()
            };
            let _ = writeln!(
                out,
                "     |  [{}] {}  {}{}{counts}",
                tag(hop.status, colour),
                escape(&hop.id),
                escape(&endpoint),
                escape(&facts)
            );
            list(&mut out, &Attachment::Hop(hop_id.clone()), "     |    ");
            let _ = writeln!(out, "     v");
        }
    }
    out
}

/// A swaks-like transcript: `->` sent, `<-` received, `~>`/`<~` inside TLS, `===` notes, `***` errors.
pub fn print_transcript(out: &mut impl Write, probe: &SmtpProbe) -> std::io::Result<()> {
    for line in &probe.transcript {
        out.write_all(transcript_line(line).as_bytes())?;
    }
    Ok(())
}

/// One transcript line, with its time and direction marker, ending in a newline.
pub fn transcript_line(line: &TranscriptLine) -> String {
    let prefix = match (line.dir, line.tls) {
        (Direction::Client, false) => " -> ",
        (Direction::Client, true) => " ~> ",
        (Direction::Server, false) => "<-  ",
        (Direction::Server, true) => "<~  ",
        (Direction::Info, _) => "=== ",
        (Direction::Error, _) => "*** ",
    };
    format!(
        "{:>7.3}s {prefix}{}\n",
        line.ms as f64 / 1000.0,
        escape(&line.text)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_result_on_several_hops_is_one_problem_listing_each_place() {
        use mailpath_core::checks::cert::VALIDITY;
        let on = |hop: &str, target: &str, status: Status| {
            CheckResult::new(&VALIDITY, status, target, "certificate expired 5 days ago")
                .remediation("Renew it")
                .on(Attachment::Hop(hop.into()))
        };
        let checks = [
            on("out.mailbox-edge", "edge01.contoso.com:25", Status::Warn),
            on("in.eop-edge", "mail.contoso.com:25", Status::Fail),
            on("out.edge-eop", "mail.contoso.com:25", Status::Fail),
            on("in.eop-edge", "mail.contoso.com:25", Status::Fail),
            on("mx.internet-edge", "mail.contoso.com:25", Status::Pass),
        ];
        let p = problems(&checks);
        assert_eq!(p.len(), 2, "a fail and a warn of the same words are two problems");
        assert_eq!(p[0].check.status, Status::Fail, "worst first");
        assert_eq!(
            p[0].places,
            [
                "in.eop-edge (mail.contoso.com:25)",
                "out.edge-eop (mail.contoso.com:25)"
            ],
            "each place once"
        );
        assert_eq!(p[1].places, ["out.mailbox-edge (edge01.contoso.com:25)"]);
    }

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
