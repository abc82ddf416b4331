//! Text rendering shared by the commands: statuses with colour on a terminal, check lists,
//! transcripts, the path by lane.

use std::io::{IsTerminal as _, Write};

use mailpath_core::check::{CheckResult, Counts, Status};
use mailpath_core::evidence::{Direction, SmtpProbe};
use mailpath_core::path::MailPath;

use crate::Outcome;

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
    if colour { format!("\x1b[{code}m{text}\x1b[0m") } else { text.to_string() }
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
pub fn print_checks(out: &mut impl Write, checks: &[&CheckResult], colour: bool, indent: &str) -> std::io::Result<()> {
    for c in checks {
        writeln!(out, "{indent}{} {:32} {}", tag(c.status, colour), c.id, c.summary)?;
        if c.status >= Status::Warn {
            if !c.detail.is_empty() {
                writeln!(out, "{indent}       {}", c.detail)?;
            }
            if !c.remediation.is_empty() {
                writeln!(out, "{indent}       fix: {}", c.remediation)?;
            }
        }
    }
    Ok(())
}

/// The path, lane by lane, with the checks of each hop and node.
pub fn print_path(out: &mut impl Write, path: &MailPath, checks: &[CheckResult], colour: bool) -> std::io::Result<()> {
    for lane in &path.lanes {
        writeln!(out, "\n{}", lane.title)?;
        for (i, node_id) in lane.nodes.iter().enumerate() {
            if let Some(node) = path.node(node_id) {
                let hosts = if node.hosts.is_empty() { String::new() } else { format!(" ({})", node.hosts.join(", ")) };
                writeln!(out, "  [{}] {}{hosts}", tag(node.status, colour), node.label)?;
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
            let facts = if hop.facts.is_empty() { String::new() } else { format!("  {}", hop.facts.join(", ")) };
            writeln!(
                out,
                "     |  [{}] {}  {endpoint}{facts}  ({})",
                tag(hop.status, colour),
                hop.id,
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
        writeln!(out, "{:>7.3}s {prefix}{}", line.ms as f64 / 1000.0, line.text)?;
    }
    Ok(())
}
