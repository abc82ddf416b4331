//! The HTML report: one self-contained file (inline CSS and SVG, no scripts, nothing loaded from
//! anywhere; documentation links are plain anchors), light and print-friendly. Everything that comes
//! from a server, a profile or a file is escaped. The markup is also well-formed XML.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt::Write as _;

use crate::check::{CheckResult, Remediation, Status, StepKind};
use crate::evidence::{Connect, Direction, SmtpProbe, TlsEvidence, TlsPortProbe};

use super::certs::EndpointCerts;
use super::svg::{self, style};
use super::{Report, format_ms, format_time, groups, problems, validity_note};
use crate::cert::{CapturedCert, CertInfo};

/// Escape text for HTML (and XML): `& < > " '`, and control characters shown as `\xNN`.
pub fn esc(s: &str) -> Cow<'_, str> {
    let needs = s.bytes().any(|b| {
        matches!(b, b'&' | b'<' | b'>' | b'"' | b'\'')
            || (b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r'))
            || b == 0x7f
    }) || s
        .chars()
        .any(|c| ('\u{80}'..='\u{9f}').contains(&c) || c == '\u{fffe}' || c == '\u{ffff}');
    if !needs {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || ('\u{7f}'..='\u{9f}').contains(&c) => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            '\u{fffe}' | '\u{ffff}' => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// A documentation link: an anchor for `https://` URLs, plain text for anything else.
fn link(url: &str) -> String {
    let ok = url.starts_with("https://")
        && !url
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '"' || c == '<' || c == '>');
    if ok {
        format!(r#"<a href="{0}">{0}</a>"#, esc(url))
    } else {
        esc(url).into_owned()
    }
}

fn pill(status: Status) -> String {
    let st = style(status);
    format!(
        r#"<span class="pill s-{}">{} {}</span>"#,
        status.as_str(),
        st.glyph,
        st.word
    )
}

const CSS: &str = r#"
:root { color-scheme: light; }
* { box-sizing: border-box; -webkit-print-color-adjust: exact; print-color-adjust: exact; }
body { font: 14px/1.45 "Segoe UI", Helvetica, Arial, sans-serif; color: #24292f; background: #ffffff; margin: 0 auto; max-width: 1240px; padding: 24px; }
h1 { font-size: 24px; margin: 0 0 2px; }
h2 { font-size: 19px; border-bottom: 1px solid #d0d7de; padding-bottom: 4px; margin: 32px 0 12px; }
h3 { font-size: 16px; margin: 22px 0 8px; }
h4 { font-size: 14px; margin: 14px 0 6px; }
.sub { color: #57606a; margin: 0 0 16px; }
a { color: #0969da; }
code, pre, .mono { font-family: Consolas, "SFMono-Regular", Menlo, "Liberation Mono", monospace; font-size: 12.5px; }
pre { background: #f6f8fa; border: 1px solid #d0d7de; border-radius: 6px; padding: 8px 10px; white-space: pre-wrap; word-break: break-all; margin: 6px 0; }
table { border-collapse: collapse; width: 100%; margin: 6px 0; }
th, td { text-align: left; vertical-align: top; padding: 4px 8px; border-bottom: 1px solid #eaeef2; }
th { color: #57606a; font-weight: 600; white-space: nowrap; }
table.kv th { width: 170px; }
.pill { display: inline-block; padding: 1px 8px; border-radius: 10px; font-size: 12px; font-weight: 600; color: #ffffff; white-space: nowrap; }
.s-pass { background: #1a7f37; } .s-info { background: #0a7ea4; } .s-skip { background: #6e7781; } .s-warn { background: #b35900; } .s-fail { background: #cf222e; } .s-none { background: #8c959f; }
.verdict { padding: 12px 16px; border-radius: 8px; border-left: 8px solid; font-size: 16px; font-weight: 600; margin: 12px 0; }
.v-pass { background: #dafbe1; border-color: #1a7f37; } .v-info { background: #ddf4ff; border-color: #0a7ea4; } .v-skip { background: #eaeef2; border-color: #6e7781; } .v-warn { background: #fff1d6; border-color: #b35900; } .v-fail { background: #ffebe9; border-color: #cf222e; }
.counts .pill { margin-right: 6px; }
ol.problems { padding-left: 22px; } ol.problems li { margin: 4px 0; }
.group { margin: 18px 0; }
.group h3 .pill { vertical-align: 2px; margin-right: 6px; }
.hopmeta { color: #57606a; margin: 0 0 6px; }
.check { border: 1px solid #d0d7de; border-left: 6px solid #8c959f; border-radius: 6px; padding: 8px 12px; margin: 8px 0; break-inside: avoid; page-break-inside: avoid; }
.check.st-fail { border-left-color: #cf222e; } .check.st-warn { border-left-color: #b35900; } .check.st-skip { border-left-color: #6e7781; } .check.st-info { border-left-color: #0a7ea4; } .check.st-pass { border-left-color: #1a7f37; }
.check .head { font-weight: 600; } .check .head code { margin: 0 6px; }
.check .target { color: #57606a; font-weight: 400; }
.check p { margin: 4px 0; }
.detail { white-space: pre-wrap; color: #32383f; }
.fix .label { font-weight: 600; color: #0969da; margin-top: 6px; }
.fix pre { border-left: 4px solid #0969da; }
.fix .where { color: #57606a; font-size: 12.5px; margin: 6px 0 2px; }
.fix p.step { margin: 3px 0; }
.fix .cmd { display: flex; align-items: flex-start; gap: 6px; margin: 4px 0; }
.fix .cmd .confirm { color: #57606a; font-size: 12px; white-space: nowrap; padding-top: 6px; }
.fix code.copy { flex: 1; display: block; background: #f6f8fa; border: 1px solid #d0d7de; border-left: 4px solid #0969da; border-radius: 6px; padding: 5px 8px; white-space: pre-wrap; word-break: normal; overflow-wrap: normal; overflow-x: auto; user-select: all; -webkit-user-select: all; cursor: copy; }
.fix code.copy:hover { background: #ddf4ff; }
.fix .copyhint { color: #8c959f; font-size: 11px; white-space: nowrap; padding-top: 7px; }
.refs { color: #57606a; font-size: 12.5px; }
table.compact td:first-child { width: 70px; }
.transcript span.l { display: block; }
.transcript .ms { color: #8c959f; }
.transcript .d-client { color: #0550ae; } .transcript .d-server { color: #24292f; } .transcript .d-info { color: #57606a; } .transcript .d-error { color: #cf222e; font-weight: 600; }
.transcript .tls { background: #eaf5ea; }
.legend { color: #57606a; font-size: 12.5px; }
.cert { border: 1px solid #d0d7de; border-radius: 6px; padding: 4px 10px; margin: 8px 0; break-inside: avoid; page-break-inside: avoid; }
.bad { color: #cf222e; font-weight: 600; } .soon { color: #b35900; font-weight: 600; }
.diagram { border: 1px solid #d0d7de; border-radius: 8px; padding: 6px; }
footer { margin-top: 36px; color: #57606a; font-size: 12px; border-top: 1px solid #d0d7de; padding-top: 8px; }
@page { size: A4; margin: 14mm; }
@media print {
  body { max-width: none; padding: 0; font-size: 10.5pt; }
  h2 { break-before: page; page-break-before: always; }
  h2.first { break-before: auto; page-break-before: auto; }
  h2, h3, h4 { break-after: avoid; page-break-after: avoid; }
  tr, .check, .cert, .diagram { break-inside: avoid; page-break-inside: avoid; }
  a { color: inherit; text-decoration: none; }
  .refs a[href^="https"]::after { content: " (" attr(href) ")"; }
  pre { white-space: pre-wrap; }
  .fix .copyhint { display: none; }
}
"#;

/// Anchors for evidence ids (`smtp:host:port` -> `ev-smtp-1`).
struct Anchors(HashMap<String, String>);

impl Anchors {
    fn new(r: &Report) -> Anchors {
        let e = &r.diagnosis.evidence;
        let mut m = HashMap::new();
        for (i, p) in e.smtp.iter().enumerate() {
            m.entry(p.id.clone())
                .or_insert_with(|| format!("ev-smtp-{}", i + 1));
        }
        for (i, p) in e.tls_ports.iter().enumerate() {
            m.entry(p.id.clone())
                .or_insert_with(|| format!("ev-tls-{}", i + 1));
        }
        for (i, a) in e.dns.iter().enumerate() {
            m.entry(format!("dns:{}/{}", a.name, a.rtype))
                .or_insert_with(|| format!("ev-dns-{}", i + 1));
        }
        Anchors(m)
    }

    fn link(&self, id: &str) -> String {
        match self.0.get(id) {
            Some(a) => format!(r##"<a href="#{a}" class="mono">{}</a>"##, esc(id)),
            None => format!(r#"<span class="mono">{}</span>"#, esc(id)),
        }
    }
}

/// Render the HTML report.
pub fn render(r: &Report) -> String {
    let d = &r.diagnosis;
    let anchors = Anchors::new(r);
    let check_index: HashMap<*const CheckResult, usize> = d
        .checks
        .iter()
        .enumerate()
        .map(|(i, c)| (c as *const CheckResult, i))
        .collect();
    let anchor_of = |c: &CheckResult| {
        check_index
            .get(&(c as *const CheckResult))
            .map_or_else(String::new, |i| format!("check-{}", i + 1))
    };
    let mut h = String::with_capacity(64 * 1024 + d.checks.len() * 1024);
    h.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n");
    h.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"/>\n");
    h.push_str("<meta name=\"generator\" content=\"mailpath\"/>\n");
    let _ = writeln!(h, "<title>mailpath report: {}</title>", esc(&d.profile.name));
    let _ = writeln!(h, "<style>{CSS}</style>\n</head>\n<body>");

    // Header and verdict.
    let worst = match d.counts.worst() {
        _ if d.cancelled => Status::Skip,
        Status::Info => Status::Pass,
        w => w,
    };
    let _ = writeln!(h, "<header>\n<h1>mailpath report: {}</h1>", esc(&d.profile.name));
    h.push_str("<p class=\"sub\">Exchange hybrid mail flow diagnosis: every hop of the active path, both directions.</p>\n");
    let _ = writeln!(
        h,
        "<div class=\"verdict v-{}\">{} {}</div>",
        worst.as_str(),
        pill(worst),
        esc(super::verdict(d))
    );
    h.push_str("<table class=\"kv\">\n");
    let mut kv = |k: &str, v: String| {
        let _ = writeln!(h, "<tr><th>{}</th><td>{v}</td></tr>", esc(k));
    };
    if let Some(x) = &d.explained {
        // `mailpath explain --run`: the string it explained and its verdict come first.
        kv(
            "Explained",
            format!("<span class=\"mono\">{}</span> {}", esc(&x.code), esc(&x.title)),
        );
        kv("Input", format!("<span class=\"mono\">{}</span>", esc(&x.input)));
        kv(
            "Verdict",
            format!(
                "{} <span class=\"legend\">(on {})</span>",
                esc(&x.verdict),
                esc(&x.hops.join(", "))
            ),
        );
    }
    kv("Profile", esc(&d.profile.name).into_owned());
    kv(
        "Tenant",
        format!(
            "{} (accepted domains: {})",
            esc(&d.profile.tenant.name),
            esc(&d.profile.tenant.accepted_domains.join(", "))
        ),
    );
    kv("Started", esc(&format_time(d.started_at)).into_owned());
    kv(
        "Duration",
        format!(
            "{}{}",
            esc(&format_ms(d.duration_ms)),
            if d.cancelled {
                " (cancelled: partial results)"
            } else {
                ""
            }
        ),
    );
    if let Some(host) = &r.ran_on {
        kv("Ran on", esc(host).into_owned());
    }
    kv(
        "mailpath",
        format!(
            "{} <span class=\"legend\">({})</span>",
            esc(&d.mailpath_version),
            esc(&d.schema)
        ),
    );
    kv("Checks", counts_html(&d.counts, d.checks.len()));
    if r.redacted {
        kv(
            "Redacted",
            "yes: host names, domains, addresses, certificate names, banner names and e-mail addresses are replaced by placeholders (the same value, the same placeholder); certificates are shown by their parsed details only".into(),
        );
    }
    h.push_str("</table>\n</header>\n");

    // Summary.
    h.push_str("<section id=\"summary\">\n<h2 class=\"first\">Summary</h2>\n");
    let probs = problems(d);
    if probs.is_empty() {
        h.push_str("<p>No failures or warnings.</p>\n");
    } else {
        let _ = writeln!(
            h,
            "<h3>Problems, worst first ({})</h3>\n<ol class=\"problems\">",
            probs.len()
        );
        for c in &probs {
            let _ = writeln!(
                h,
                "<li>{} <a href=\"#{}\"><code>{}</code></a> <span class=\"mono\">{}</span>: {} <span class=\"legend\">({})</span></li>",
                pill(c.status),
                anchor_of(c),
                esc(&c.id),
                esc(&c.target),
                esc(&c.summary),
                esc(&super::attachment_label(&d.path, &c.attachment))
            );
        }
        h.push_str("</ol>\n");
    }
    let skipped: Vec<&CheckResult> = d.checks.iter().filter(|c| c.status == Status::Skip).collect();
    if !skipped.is_empty() {
        let _ = writeln!(
            h,
            "<h3>Could not be checked from here ({})</h3>\n<ul>",
            skipped.len()
        );
        for c in skipped {
            let _ = writeln!(
                h,
                "<li><a href=\"#{}\"><code>{}</code></a> <span class=\"mono\">{}</span>: {}</li>",
                anchor_of(c),
                esc(&c.id),
                esc(&c.target),
                esc(&c.summary)
            );
        }
        h.push_str("</ul>\n");
    }
    certificate_overview(&mut h, r, &anchors);
    h.push_str("</section>\n");

    // The path.
    h.push_str("<section id=\"path\">\n<h2>Mail path</h2>\n");
    h.push_str("<p class=\"legend\">Each lane is one direction; cards are nodes, arrows are hops, badges count the checks attached to them. Dashed hops run inside Microsoft's network and cannot be observed from here.</p>\n");
    let _ = writeln!(h, "<div class=\"diagram\">{}</div>", svg::render(&d.path));
    h.push_str("</section>\n");

    // Checks by hop.
    h.push_str("<section id=\"checks\">\n<h2>Checks by hop and node</h2>\n");
    for g in groups(d) {
        let status = g.status();
        let _ = writeln!(h, "<section class=\"group\" id=\"{}\">", g.anchor());
        let _ = writeln!(h, "<h3>{}{}</h3>", pill(status), esc(&g.title));
        let mut meta = Vec::new();
        if let Some(e) = &g.endpoint {
            meta.push(format!("endpoint <span class=\"mono\">{}</span>", esc(e)));
        }
        if !g.facts.is_empty() {
            meta.push(esc(&g.facts.join(" \u{00b7} ")).into_owned());
        }
        if !g.observable {
            meta.push("not observable from where mailpath ran".into());
        }
        meta.push(counts_text(&g.checks));
        let _ = writeln!(h, "<p class=\"hopmeta\">{}</p>", meta.join(" \u{00b7} "));
        let mut cards: Vec<&&CheckResult> = g.checks.iter().filter(|c| c.status >= Status::Skip).collect();
        cards.sort_by_key(|c| std::cmp::Reverse(c.status));
        for c in cards {
            check_card(&mut h, c, &anchor_of(c), &anchors);
        }
        let fine: Vec<&&CheckResult> = g.checks.iter().filter(|c| c.status < Status::Skip).collect();
        if !fine.is_empty() {
            h.push_str("<table class=\"compact\">\n");
            for c in fine {
                let _ = writeln!(
                    h,
                    "<tr id=\"{}\"><td>{}</td><td><code>{}</code></td><td class=\"mono\">{}</td><td>{}{}</td></tr>",
                    anchor_of(c),
                    pill(c.status),
                    esc(&c.id),
                    esc(&c.target),
                    esc(&c.summary),
                    if c.status == Status::Info && !c.detail.is_empty() {
                        format!("<br/><span class=\"legend\">{}</span>", esc(&c.detail))
                    } else {
                        String::new()
                    }
                );
            }
            h.push_str("</table>\n");
        }
        h.push_str("</section>\n");
    }
    h.push_str("</section>\n");

    // Evidence appendix.
    h.push_str("<section id=\"evidence\">\n<h2>Appendix: evidence</h2>\n");
    let certs: HashMap<&str, &EndpointCerts> = r.certs.iter().map(|c| (c.evidence_id.as_str(), c)).collect();
    let e = &d.evidence;
    if !e.smtp.is_empty() {
        h.push_str("<h3>SMTP endpoints</h3>\n");
        h.push_str("<p class=\"legend\">Transcripts, swaks-style: <code>-&gt;</code> sent, <code>&lt;-</code> received, <code>~&gt;</code> and <code>&lt;~</code> inside TLS (shaded), <code>===</code> notes, <code>***</code> errors; times since the probe started.</p>\n");
    }
    for p in &e.smtp {
        smtp_evidence(
            &mut h,
            r,
            p,
            anchors.0.get(&p.id).map_or("", String::as_str),
            certs.get(p.id.as_str()).copied(),
        );
    }
    if !e.tls_ports.is_empty() {
        h.push_str("<h3>TLS ports</h3>\n");
        for p in &e.tls_ports {
            tls_port_evidence(
                &mut h,
                r,
                p,
                anchors.0.get(&p.id).map_or("", String::as_str),
                certs.get(p.id.as_str()).copied(),
            );
        }
    }
    if !e.dns.is_empty() {
        h.push_str("<h3>DNS answers</h3>\n<table>\n<tr><th>Name</th><th>Type</th><th>Server</th><th>Answer</th><th>Time</th></tr>\n");
        let mut seen = std::collections::HashSet::new();
        for (i, a) in e.dns.iter().enumerate() {
            let key = format!("dns:{}/{}", a.name, a.rtype);
            let id = if seen.insert(key) {
                format!(" id=\"ev-dns-{}\"", i + 1)
            } else {
                String::new()
            };
            let _ = writeln!(
                h,
                "<tr{id}><td class=\"mono\">{}</td><td>{}</td><td class=\"mono\">{}</td><td class=\"mono\">{}</td><td>{}</td></tr>",
                esc(&a.name),
                esc(a.rtype.as_str()),
                esc(&a.server),
                esc(&a.outcome.to_string()),
                esc(&format_ms(a.elapsed_ms))
            );
        }
        h.push_str("</table>\n");
    }
    h.push_str("<h3>Profile</h3>\n");
    let profile_text = toml::to_string_pretty(&d.profile)
        .or_else(|_| serde_json::to_string_pretty(&d.profile).map_err(|e| e.to_string()))
        .unwrap_or_else(|e| format!("(the profile could not be shown: {e})"));
    let _ = writeln!(h, "<pre>{}</pre>", esc(&profile_text));
    h.push_str("</section>\n");

    let _ = writeln!(
        h,
        "<footer>Written by mailpath {} from a {} document. This file is self-contained: it loads nothing from the network and runs no scripts.</footer>\n</body>\n</html>",
        esc(&d.mailpath_version),
        esc(&d.schema)
    );
    h
}

fn counts_html(c: &crate::check::Counts, total: usize) -> String {
    let mut s = format!("<span class=\"counts\">{total} checks: ");
    for (n, st) in c.worst_first() {
        let _ = write!(
            s,
            "<span class=\"pill s-{}\">{} {n} {}</span>",
            st.as_str(),
            style(st).glyph,
            st.as_str()
        );
    }
    s.push_str("</span>");
    s
}

fn counts_text(checks: &[&CheckResult]) -> String {
    let c = crate::check::Counts::of(checks.iter().copied());
    let mut parts = Vec::new();
    for (n, st) in c.worst_first() {
        if n > 0 {
            parts.push(format!("{n} {}", st.as_str()));
        }
    }
    parts.join(", ")
}

/// A remediation in HTML: prose as paragraphs, each command in a box of its own that never breaks inside a
/// token and is selected whole by one click (CSS `user-select: all`; then Ctrl+C). The report has no
/// script (it is a file mailed to colleagues and support, opened from anywhere), so "copy" is one click to
/// select rather than a button that writes the clipboard. The place heads the steps whenever it changes.
pub fn remediation(r: &Remediation) -> String {
    let mut out = String::from("<div class=\"steps\">");
    let mut place = None;
    for (at, step) in r.placed() {
        if at.is_some() && at != place {
            place = at;
            if let Some(p) = place {
                let _ = write!(out, "<div class=\"where\">In {}:</div>", esc(p.label()));
            }
        }
        match step.kind {
            StepKind::Prose => {
                let _ = write!(out, "<p class=\"step\">{}</p>", esc(&step.text));
            }
            StepKind::Command | StepKind::Confirm => {
                let confirm = if step.kind == StepKind::Confirm {
                    "<span class=\"confirm\">to confirm</span>"
                } else {
                    ""
                };
                let _ = write!(
                    out,
                    "<div class=\"cmd\">{confirm}<code class=\"copy\" title=\"one click selects the whole command; Ctrl+C copies it\">{}</code><span class=\"copyhint\" aria-hidden=\"true\">click to select</span></div>",
                    esc(&step.text)
                );
            }
        }
    }
    out.push_str("</div>");
    out
}

fn check_card(h: &mut String, c: &CheckResult, anchor: &str, anchors: &Anchors) {
    let _ = writeln!(
        h,
        "<div class=\"check st-{}\" id=\"{anchor}\">",
        c.status.as_str()
    );
    let _ = writeln!(
        h,
        "<div class=\"head\">{}<code>{}</code>{} <span class=\"target mono\">{}</span></div>",
        pill(c.status),
        esc(&c.id),
        esc(&c.title),
        esc(&c.target)
    );
    let _ = writeln!(h, "<p>{}</p>", esc(&c.summary));
    if !c.detail.is_empty() {
        let _ = writeln!(h, "<p class=\"detail\">{}</p>", esc(&c.detail));
    }
    if !c.remediation.is_empty() && c.status >= Status::Warn {
        let _ = writeln!(
            h,
            "<div class=\"fix\"><div class=\"label\">Fix</div>{}</div>",
            remediation(&c.remediation)
        );
    }
    let mut refs = Vec::new();
    if !c.evidence.is_empty() {
        refs.push(format!(
            "Evidence: {}",
            c.evidence
                .iter()
                .map(|e| anchors.link(e))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    if !c.references.is_empty() {
        refs.push(format!(
            "Documentation: {}",
            c.references
                .iter()
                .map(|u| link(u))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    if !refs.is_empty() {
        let _ = writeln!(h, "<p class=\"refs\">{}</p>", refs.join("<br/>"));
    }
    h.push_str("</div>\n");
}

fn connect_text(c: &Connect) -> String {
    match c {
        Connect::Connected { address, ms } => format!("connected to {address} in {}", format_ms(*ms)),
        Connect::Refused { address } => format!("refused by {address}"),
        Connect::TimedOut { address, ms } => format!(
            "no answer from {address} within {} (filtered or down)",
            format_ms(*ms)
        ),
        Connect::Unreachable { address, error } => format!("{address} unreachable: {error}"),
        Connect::NoAddress { error } => format!("no address: {error}"),
        Connect::Failed {
            address: Some(a),
            error,
        } => format!("{a}: {error}"),
        Connect::Failed { address: None, error } => error.clone(),
    }
}

fn worst_for(r: &Report, evidence_id: &str) -> Option<Status> {
    r.diagnosis
        .checks
        .iter()
        .filter(|c| c.evidence.iter().any(|e| e == evidence_id))
        .map(|c| c.status)
        .max()
}

fn tls_rows(h: &mut String, tls: &TlsEvidence) {
    let mut parts = Vec::new();
    if let Some(v) = &tls.version {
        parts.push(esc(v).into_owned());
    }
    if let Some(c) = &tls.cipher {
        parts.push(esc(c).into_owned());
    }
    if let Some(ms) = tls.ms {
        parts.push(format!("handshake {}", esc(&format_ms(ms))));
    }
    if let Some(sni) = &tls.sni {
        parts.push(format!("SNI <span class=\"mono\">{}</span>", esc(sni)));
    }
    let _ = writeln!(
        h,
        "<tr><th>TLS</th><td>{}</td></tr>",
        if parts.is_empty() {
            "no session".to_string()
        } else {
            parts.join(" \u{00b7} ")
        }
    );
    if let Some(e) = &tls.error {
        let _ = writeln!(h, "<tr><th>TLS error</th><td class=\"bad\">{}</td></tr>", esc(e));
    }
    if let Some(a) = &tls.alert {
        let _ = writeln!(h, "<tr><th>TLS alert</th><td class=\"bad\">{}</td></tr>", esc(a));
    }
    if tls.chain_from_scan {
        h.push_str(
            "<tr><th>Certificates</th><td>read by the handshake scanner on its own connection</td></tr>\n",
        );
    }
}

fn smtp_evidence(h: &mut String, r: &Report, p: &SmtpProbe, anchor: &str, certs: Option<&EndpointCerts>) {
    let status = worst_for(r, &p.id);
    let _ = writeln!(
        h,
        "<h4 id=\"{anchor}\">{}SMTP <span class=\"mono\">{}:{}</span></h4>",
        status.map(|s| format!("{} ", pill(s))).unwrap_or_default(),
        esc(&p.host),
        p.port
    );
    h.push_str("<table class=\"kv\">\n");
    let addrs: Vec<String> = p.addresses.iter().map(ToString::to_string).collect();
    let _ = writeln!(
        h,
        "<tr><th>Addresses</th><td class=\"mono\">{}</td></tr>",
        esc(&addrs.join(", "))
    );
    let _ = writeln!(
        h,
        "<tr><th>Connect</th><td>{}</td></tr>",
        esc(&connect_text(&p.connect))
    );
    if let Some(b) = &p.banner {
        let _ = writeln!(
            h,
            "<tr><th>Banner</th><td class=\"mono\">{} {} <span class=\"legend\">after {}</span></td></tr>",
            b.code,
            esc(b.first()),
            esc(&format_ms(b.ms))
        );
    }
    let _ = writeln!(
        h,
        "<tr><th>EHLO name sent</th><td class=\"mono\">{}{}</td></tr>",
        esc(&p.helo),
        if p.used_helo { " (HELO, EHLO refused)" } else { "" }
    );
    if let Some(e) = &p.ehlo {
        let exts = p.extensions();
        let _ = writeln!(
            h,
            "<tr><th>EHLO reply</th><td class=\"mono\">{} {}<br/>{}</td></tr>",
            e.code,
            esc(e.first()),
            esc(&exts.join(" "))
        );
    }
    if let Some(s) = &p.starttls {
        let _ = writeln!(
            h,
            "<tr><th>STARTTLS</th><td class=\"mono\">{} {}</td></tr>",
            s.code,
            esc(s.first())
        );
    }
    if let Some(tls) = &p.tls {
        tls_rows(h, tls);
    }
    if let Some(f) = &p.failure {
        let _ = writeln!(
            h,
            "<tr><th>Stopped</th><td class=\"bad\">at {} ({}): {}</td></tr>",
            esc(&format!("{:?}", f.stage).to_ascii_lowercase()),
            esc(&format!("{:?}", f.kind).to_ascii_lowercase()),
            esc(&f.message)
        );
    }
    if let Some(partial) = &p.partial {
        let _ = writeln!(
            h,
            "<tr><th>Partial bytes</th><td><pre>{}</pre></td></tr>",
            esc(partial)
        );
    }
    let _ = writeln!(h, "<tr><th>Total</th><td>{}</td></tr>", esc(&format_ms(p.ms)));
    h.push_str("</table>\n");
    if let Some(scan) = &p.tls_scan {
        super::tls_scan::html(h, scan);
    }
    if let Some(c) = certs {
        cert_chain(h, r, c);
    }
    if !p.transcript.is_empty() {
        h.push_str("<pre class=\"transcript\">");
        for line in &p.transcript {
            let (prefix, dir) = match (line.dir, line.tls) {
                (Direction::Client, false) => (" -> ", "client"),
                (Direction::Client, true) => (" ~> ", "client"),
                (Direction::Server, false) => ("&lt;-  ", "server"),
                (Direction::Server, true) => ("&lt;~  ", "server"),
                (Direction::Info, _) => ("=== ", "info"),
                (Direction::Error, _) => ("*** ", "error"),
            };
            let _ = write!(
                h,
                "<span class=\"l d-{dir}{}\"><span class=\"ms\">{:>7.3}s</span> {prefix}{}</span>",
                if line.tls { " tls" } else { "" },
                line.ms as f64 / 1000.0,
                esc(&line.text)
            );
        }
        h.push_str("</pre>\n");
    }
}

fn tls_port_evidence(
    h: &mut String,
    r: &Report,
    p: &TlsPortProbe,
    anchor: &str,
    certs: Option<&EndpointCerts>,
) {
    let status = worst_for(r, &p.id);
    let _ = writeln!(
        h,
        "<h4 id=\"{anchor}\">{}TLS <span class=\"mono\">{}:{}</span></h4>",
        status.map(|s| format!("{} ", pill(s))).unwrap_or_default(),
        esc(&p.host),
        p.port
    );
    h.push_str("<table class=\"kv\">\n");
    let _ = writeln!(
        h,
        "<tr><th>Connect</th><td>{}</td></tr>",
        esc(&connect_text(&p.connect))
    );
    if let Some(tls) = &p.tls {
        tls_rows(h, tls);
    }
    let _ = writeln!(h, "<tr><th>Total</th><td>{}</td></tr>", esc(&format_ms(p.ms)));
    h.push_str("</table>\n");
    if let Some(c) = certs {
        cert_chain(h, r, c);
    }
}

fn cert_chain(h: &mut String, r: &Report, c: &EndpointCerts) {
    for (i, cert) in c.chain.iter().enumerate() {
        let role = if i == 0 { "leaf" } else { "chain" };
        h.push_str("<div class=\"cert\">\n");
        match cert {
            CapturedCert::Parsed(details) => cert_table(h, r, details, i + 1, role),
            CapturedCert::Unparsed { reason } => {
                let _ = writeln!(
                    h,
                    "<p><strong>Certificate {} ({role})</strong>: {}</p>",
                    i + 1,
                    esc(reason)
                );
            }
        }
        h.push_str("</div>\n");
    }
}

/// The class that colours a validity note: expired or not yet valid, within 30 days, fine.
fn validity_class(c: &CertInfo, at: time::OffsetDateTime) -> &'static str {
    let validity = c.validity(at);
    if validity.is_invalid() {
        "bad"
    } else if validity.expires_within(30) {
        "soon"
    } else {
        ""
    }
}

/// Every endpoint's leaf certificate, soonest expiry first: the renewal timeline at a glance.
fn certificate_overview(h: &mut String, r: &Report, anchors: &Anchors) {
    let at = r.diagnosis.started_at;
    let mut leaves: Vec<(&str, &CertInfo)> = r
        .certs
        .iter()
        .filter_map(|c| c.leaf().map(|l| (c.evidence_id.as_str(), l)))
        .collect();
    if leaves.is_empty() {
        return;
    }
    leaves.sort_by_key(|(id, l)| (l.not_after, *id));
    h.push_str("<h3>Certificates presented</h3>\n<table>\n<tr><th>Endpoint</th><th>Subject</th><th>Names</th><th>Issuer</th><th>Valid until</th></tr>\n");
    for (id, l) in leaves {
        let names = l.alt_names();
        let _ = writeln!(
            h,
            "<tr><td>{}</td><td class=\"mono\">{}</td><td class=\"mono\">{}</td><td class=\"mono\">{}</td><td>{} <span class=\"{}\">({})</span></td></tr>",
            anchors.link(id),
            esc(&l.subject),
            esc(&names.join(", ")),
            esc(&l.issuer),
            esc(&super::format_date(l.not_after)),
            validity_class(l, at),
            esc(&validity_note(l, at))
        );
    }
    h.push_str("</table>\n");
}

fn cert_table(h: &mut String, r: &Report, c: &CertInfo, n: usize, role: &str) {
    let at = r.diagnosis.started_at;
    let note = validity_note(c, at);
    let class = validity_class(c, at);
    let role = if c.is_ca { "CA" } else { role };
    let _ = writeln!(h, "<h4>Certificate {n} ({role})</h4>\n<table class=\"kv\">");
    let _ = writeln!(
        h,
        "<tr><th>Subject</th><td class=\"mono\">{}</td></tr>",
        esc(&c.subject)
    );
    let _ = writeln!(
        h,
        "<tr><th>Issuer</th><td class=\"mono\">{}</td></tr>",
        esc(&c.issuer)
    );
    let names = c.alt_names();
    if !names.is_empty() {
        let _ = writeln!(
            h,
            "<tr><th>Names (SAN)</th><td class=\"mono\">{}</td></tr>",
            esc(&names.join(", "))
        );
    }
    let _ = writeln!(
        h,
        "<tr><th>Valid from</th><td>{}</td></tr>",
        esc(&format_time(c.not_before))
    );
    let _ = writeln!(
        h,
        "<tr><th>Valid until</th><td>{} <span class=\"{class}\">({})</span></td></tr>",
        esc(&format_time(c.not_after)),
        esc(&note)
    );
    let _ = writeln!(
        h,
        "<tr><th>Key</th><td>{} \u{00b7} {}</td></tr>",
        esc(&c.key.to_string()),
        esc(&c.signature_algorithm)
    );
    if !c.eku.is_empty() {
        let _ = writeln!(
            h,
            "<tr><th>Extended key usage</th><td>{}</td></tr>",
            esc(&c.eku.join(", "))
        );
    }
    let mut flags = Vec::new();
    if c.is_ca {
        flags.push("CA");
    }
    if c.self_issued {
        flags.push("self-issued");
    }
    if !flags.is_empty() {
        let _ = writeln!(h, "<tr><th>Flags</th><td>{}</td></tr>", flags.join(", "));
    }
    let _ = writeln!(
        h,
        "<tr><th>Serial</th><td class=\"mono\">{}</td></tr>",
        esc(&c.serial)
    );
    let _ = writeln!(
        h,
        "<tr><th>SHA-256</th><td class=\"mono\">{}</td></tr>",
        esc(&c.sha256_colons())
    );
    h.push_str("</table>\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_quotes_and_controls() {
        assert_eq!(esc("plain"), "plain");
        assert_eq!(
            esc("<script>alert('x')</script> & \"q\""),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;"
        );
        assert_eq!(esc("a\u{1}b\u{7f}c\u{85}"), "a\\x01b\\x7fc\\x85");
        assert_eq!(esc("tab\tnew\nline"), "tab\tnew\nline");
    }

    #[test]
    fn only_https_references_become_links() {
        assert_eq!(
            link("https://learn.microsoft.com/x?a=1&b=2"),
            r#"<a href="https://learn.microsoft.com/x?a=1&amp;b=2">https://learn.microsoft.com/x?a=1&amp;b=2</a>"#
        );
        assert_eq!(link("javascript:alert(1)"), "javascript:alert(1)");
        assert_eq!(link("http://example.com"), "http://example.com");
        assert_eq!(
            link("https://x\" onmouseover=\"y"),
            "https://x&quot; onmouseover=&quot;y"
        );
    }
}
