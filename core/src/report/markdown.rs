//! The Markdown report, for tickets and chat: the verdict, the path hop by hop, and every failure and
//! warning with its remediation. Untrusted text is escaped so that it cannot become markup, links or
//! HTML in a Markdown renderer.

use std::fmt::Write as _;

use crate::check::{CheckResult, Place, Remediation, Status, StepKind};

use super::svg::{badge_text, style};
use super::{Report, attachment_label, format_ms, format_time, problems, validity_note};

/// Escape text for inline Markdown (never at the start of a line): characters that could start emphasis,
/// code, links, tables or headings are backslash-escaped, `<` `>` `&` become entities (no raw HTML), line
/// breaks become spaces. Dots, hyphens and colons stay, so host names read normally.
pub fn md(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\\' | '`' | '*' | '_' | '[' | ']' | '#' | '!' | '|' | '~' => {
                out.push('\\');
                out.push(c);
            }
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '\r' | '\n' => out.push(' '),
            c if c.is_control() => {
                let _ = write!(out, "\\\\x{:02x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out
}

/// Inline code with a backtick fence longer than any run inside.
fn code(s: &str) -> String {
    let s = s.replace(['\r', '\n'], " ");
    let longest = s.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest + 1);
    let pad = if s.starts_with('`') || s.ends_with('`') || s.is_empty() {
        " "
    } else {
        ""
    };
    format!("{fence}{pad}{s}{pad}{fence}")
}

/// A fenced block with a fence longer than any backtick run inside.
fn block(s: &str, lang: &str) -> String {
    let longest = s.split(|c| c != '`').map(str::len).max().unwrap_or(0).max(2);
    let fence = "`".repeat(longest + 1);
    format!("{fence}{lang}\n{}\n{fence}\n", s.trim_end())
}

/// A remediation in Markdown: prose as text (the place in italics whenever it changes), only commands in
/// code blocks: consecutive commands at one place share a block, `powershell` (or `text` for a device's
/// command line), one command per line; confirming commands follow "To confirm:".
pub fn remediation(r: &Remediation) -> String {
    let mut out = String::new();
    let mut place: Option<Place> = None;
    let mut pending: Vec<&str> = Vec::new();
    let mut pending_lang = "powershell";
    let flush = |out: &mut String, pending: &mut Vec<&str>, lang: &str| {
        if !pending.is_empty() {
            out.push_str(&block(&pending.join("\n"), lang));
            out.push('\n');
            pending.clear();
        }
    };
    for (at, step) in r.placed() {
        if at.is_some() && at != place {
            flush(&mut out, &mut pending, pending_lang);
            place = at;
            if let Some(p) = place {
                let _ = writeln!(out, "*In {}:*\n", md(p.label()));
            }
        }
        if step.kind != StepKind::Command {
            flush(&mut out, &mut pending, pending_lang);
        }
        match step.kind {
            StepKind::Prose => {
                let _ = writeln!(out, "{}\n", md(&step.text));
                continue;
            }
            StepKind::Confirm => out.push_str("To confirm:\n\n"),
            StepKind::Command => {}
        }
        let lang = place.unwrap_or(Place::Workstation).language_of(&step.text);
        if lang != pending_lang {
            flush(&mut out, &mut pending, pending_lang);
            pending_lang = lang;
        }
        pending.push(&step.text);
    }
    flush(&mut out, &mut pending, pending_lang);
    out
}

fn tag(status: Status) -> String {
    let st = style(status);
    format!("{} **{}**", st.glyph, st.word)
}

/// Render the Markdown report.
pub fn render(r: &Report) -> String {
    let d = &r.diagnosis;
    let mut m = String::with_capacity(8 * 1024 + d.checks.len() * 256);
    let _ = writeln!(m, "# mailpath report: {}\n", md(&d.profile.name));
    let worst = match d.counts.worst() {
        _ if d.cancelled => Status::Skip,
        Status::Info => Status::Pass,
        w => w,
    };
    let _ = writeln!(m, "{}: {}\n", tag(worst), md(super::verdict(d)));
    if let Some(x) = &d.explained {
        // `mailpath explain --run`: the string it explained and its verdict come first.
        let _ = writeln!(m, "- **Explained**: {} {}", code(&x.code), md(&x.title));
        let _ = writeln!(m, "- **Input**: {}", code(&x.input));
        let _ = writeln!(
            m,
            "- **Verdict** (on {}): {}",
            md(&x.hops.join(", ")),
            md(&x.verdict)
        );
    }
    let c = &d.counts;
    let _ = writeln!(
        m,
        "- **Checks**: {} \u{2014} {} fail, {} warn, {} skip, {} info, {} pass",
        d.checks.len(),
        c.fail,
        c.warn,
        c.skip,
        c.info,
        c.pass
    );
    let _ = writeln!(
        m,
        "- **Started**: {} ({})",
        format_time(d.started_at),
        format_ms(d.duration_ms)
    );
    if let Some(host) = &r.ran_on {
        let _ = writeln!(m, "- **Ran on**: {}", md(host));
    }
    let _ = writeln!(
        m,
        "- **Tenant**: {} (accepted domains: {})",
        md(&d.profile.tenant.name),
        md(&d.profile.tenant.accepted_domains.join(", "))
    );
    let _ = writeln!(
        m,
        "- **mailpath**: {} ({})",
        md(&d.mailpath_version),
        md(&d.schema)
    );
    if r.redacted {
        m.push_str("- **Redacted**: names and addresses are replaced by placeholders\n");
    }
    if d.cancelled {
        m.push_str("- **Cancelled**: the results are partial\n");
    }

    m.push_str("\n## Path\n\n| Hop | Status | Endpoint | Facts |\n|---|---|---|---|\n");
    for lane in &d.path.lanes {
        for hid in &lane.hops {
            let Some(hop) = d.path.hop(hid) else { continue };
            let from = d
                .path
                .node(&hop.from)
                .map_or(hop.from.as_str(), |n| n.label.as_str());
            let to = d.path.node(&hop.to).map_or(hop.to.as_str(), |n| n.label.as_str());
            let facts = if hop.observable {
                hop.facts.join(", ")
            } else {
                "not observable from here".into()
            };
            let _ = writeln!(
                m,
                "| {} \u{2192} {} | {} | {} | {} |",
                md(from),
                md(to),
                md(&badge_text(&hop.counts)),
                hop.endpoint.as_deref().map_or_else(String::new, code),
                md(&facts)
            );
        }
    }

    let probs = problems(d);
    m.push_str("\n## Failures and warnings\n\n");
    if probs.is_empty() {
        m.push_str("None.\n");
    }
    for c in &probs {
        problem(&mut m, r, c);
    }
    let skipped: Vec<&CheckResult> = d.checks.iter().filter(|c| c.status == Status::Skip).collect();
    if !skipped.is_empty() {
        m.push_str("\n## Could not be checked from here\n\n");
        for c in skipped {
            let _ = writeln!(m, "- {} {}: {}", code(&c.id), code(&c.target), md(&c.summary));
        }
    }
    // Certificates that expire, or expired, around the run: the usual cause.
    let mut notes = Vec::new();
    for ec in &r.certs {
        if let Some(leaf) = ec.leaf() {
            let validity = leaf.validity(d.started_at);
            if validity.is_invalid() || validity.expires_within(30) {
                notes.push(format!(
                    "- {}: {} \u{2014} {}",
                    code(&ec.evidence_id),
                    md(&leaf.subject),
                    md(&validity_note(leaf, d.started_at))
                ));
            }
        }
    }
    if !notes.is_empty() {
        m.push_str("\n## Certificates to look at\n\n");
        for n in notes {
            m.push_str(&n);
            m.push('\n');
        }
    }
    let scans: Vec<(&str, &crate::tls_scan::TlsScan)> = d
        .evidence
        .smtp
        .iter()
        .filter_map(|p| p.tls_scan.as_ref().map(|s| (p.id.as_str(), s)))
        .collect();
    super::tls_scan::markdown(&mut m, &scans);
    let _ = writeln!(
        m,
        "\n---\nWritten by mailpath {}. The HTML report has the path diagram, every check and the evidence.",
        md(&d.mailpath_version)
    );
    m
}

fn problem(m: &mut String, r: &Report, c: &CheckResult) {
    let _ = writeln!(
        m,
        "### {} {} \u{2014} {}\n",
        tag(c.status),
        code(&c.id),
        md(&c.title)
    );
    let _ = writeln!(
        m,
        "- **Where**: {} ({})",
        md(&attachment_label(&r.diagnosis.path, &c.attachment)),
        code(&c.target)
    );
    let _ = writeln!(m, "- **Found**: {}", md(&c.summary));
    if !c.detail.is_empty() {
        let _ = writeln!(m, "- **Detail**: {}", md(&c.detail));
    }
    if !c.evidence.is_empty() {
        let _ = writeln!(
            m,
            "- **Evidence**: {}",
            c.evidence.iter().map(|e| code(e)).collect::<Vec<_>>().join(", ")
        );
    }
    for u in &c.references {
        if u.starts_with("https://")
            && !u.contains(|ch: char| {
                ch.is_whitespace() || ch.is_control() || matches!(ch, '<' | '>' | '"' | '\'')
            })
        {
            let _ = writeln!(m, "- **Docs**: <{u}>");
        } else {
            let _ = writeln!(m, "- **Docs**: {}", md(u));
        }
    }
    if !c.remediation.is_empty() {
        let _ = write!(m, "\n**Fix:**\n\n{}", remediation(&c.remediation));
    }
    m.push('\n');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn untrusted_text_cannot_become_markup() {
        assert_eq!(md("<script>x</script>"), "&lt;script&gt;x&lt;/script&gt;");
        assert_eq!(md("[a](javascript:x) *b*"), "\\[a\\](javascript:x) \\*b\\*");
        assert_eq!(md("a\nb"), "a b");
        assert_eq!(code("a`b"), "``a`b``");
        assert_eq!(
            block("x\n```\ny", "powershell"),
            "````powershell\nx\n```\ny\n````\n"
        );
    }
}
