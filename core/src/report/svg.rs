//! The mail path as an SVG picture: one lane per direction (and the internet MX lane), nodes as cards,
//! hops as arrows carrying a badge with their check counts. The colours and glyphs ([`style`]) are the
//! ones the GUI uses, so a report looks like the screen.

use std::fmt::Write as _;

use crate::check::{Counts, Status};
use crate::path::{Hop, MailPath, Node, Way};

use super::html::esc;

/// How a status is drawn: stroke/text colour, a light background, a glyph and a word.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatusStyle {
    /// The main colour (`#rrggbb`): strokes, badges, text.
    pub colour: &'static str,
    /// A light tint (`#rrggbb`) for card and row backgrounds.
    pub background: &'static str,
    /// A one-character glyph for badges.
    pub glyph: &'static str,
    /// The word (`PASS`).
    pub word: &'static str,
}

/// The palette: pass green, info cyan-blue, skip grey, warn amber, fail red.
pub fn style(status: Status) -> StatusStyle {
    match status {
        Status::Pass => StatusStyle {
            colour: "#1a7f37",
            background: "#dafbe1",
            glyph: "\u{2713}",
            word: "PASS",
        },
        Status::Info => StatusStyle {
            colour: "#0a7ea4",
            background: "#ddf4ff",
            glyph: "i",
            word: "INFO",
        },
        Status::Skip => StatusStyle {
            colour: "#6e7781",
            background: "#eaeef2",
            glyph: "?",
            word: "SKIP",
        },
        Status::Warn => StatusStyle {
            colour: "#b35900",
            background: "#fff1d6",
            glyph: "!",
            word: "WARN",
        },
        Status::Fail => StatusStyle {
            colour: "#cf222e",
            background: "#ffebe9",
            glyph: "\u{2715}",
            word: "FAIL",
        },
    }
}

/// The neutral style of something with no checks.
pub const NEUTRAL: StatusStyle = StatusStyle {
    colour: "#8c959f",
    background: "#f6f8fa",
    glyph: "\u{00b7}",
    word: "NONE",
};

/// The style of something carrying `counts`: its worst status, or neutral without checks.
pub fn style_of(counts: &Counts) -> StatusStyle {
    if total(counts) == 0 {
        NEUTRAL
    } else {
        style(counts.worst())
    }
}

fn total(c: &Counts) -> usize {
    c.pass + c.info + c.skip + c.warn + c.fail
}

/// A badge's text: the glyph and count of the two worst statuses present (`✕2 !1`), `✓ 9` when all
/// pass, `no checks` when empty.
pub fn badge_text(c: &Counts) -> String {
    if total(c) == 0 {
        return "no checks".into();
    }
    let mut parts = Vec::new();
    for (n, s) in c.worst_first() {
        if n > 0 && parts.len() < 2 {
            parts.push(format!("{}{n}", style(s).glyph));
        }
    }
    parts.join(" ")
}

const W: f64 = 1200.0;
const MARGIN: f64 = 16.0;
const CARD_W: f64 = 180.0;
const CARD_H: f64 = 66.0;
const LANE_TITLE_H: f64 = 26.0;
const LANE_H: f64 = 158.0;

fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let t: String = s.chars().take(max.saturating_sub(1)).collect();
        let mut t = t.trim_end().to_string();
        t.push('\u{2026}');
        t
    }
}

/// The diagram as an `<svg>` element (inline; no external references).
pub fn render(path: &MailPath) -> String {
    // Columns: the outbound lane's node order; nodes not in it (Internet) take the last column.
    let mut columns: Vec<String> = path
        .lanes
        .iter()
        .find(|l| l.way == Way::Outbound)
        .map(|l| l.nodes.clone())
        .unwrap_or_default();
    for lane in &path.lanes {
        for n in &lane.nodes {
            if !columns.contains(n) && n != "internet" {
                columns.push(n.clone());
            }
        }
    }
    let ncols = columns.len().max(2);
    let step = (W - 2.0 * MARGIN - CARD_W) / (ncols as f64 - 1.0);
    let col_x = |id: &str| -> f64 {
        let col = columns.iter().position(|c| c == id).unwrap_or(ncols - 1);
        MARGIN + col as f64 * step
    };
    let legend_h = 34.0;
    let h = path.lanes.len() as f64 * LANE_H + legend_h + MARGIN;
    let mut s = String::with_capacity(16 * 1024);
    let _ = write!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" class="path-diagram" viewBox="0 0 {W} {h}" width="100%" role="img" aria-labelledby="path-title path-desc" font-family="Segoe UI, Helvetica, Arial, sans-serif">"#
    );
    s.push_str("<title id=\"path-title\">Mail path</title>");
    let _ = write!(s, "<desc id=\"path-desc\">{}</desc>", esc(&describe(path)));
    s.push_str("<defs>");
    for st in [
        Status::Pass,
        Status::Info,
        Status::Skip,
        Status::Warn,
        Status::Fail,
    ] {
        marker(&mut s, st.as_str(), style(st).colour);
    }
    marker(&mut s, "none", NEUTRAL.colour);
    s.push_str("</defs>");
    for (li, lane) in path.lanes.iter().enumerate() {
        let y0 = li as f64 * LANE_H + 4.0;
        let _ = write!(
            s,
            r##"<g class="lane"><rect x="2" y="{y0}" width="{}" height="{}" rx="10" fill="#fbfcfd" stroke="#d0d7de"/>"##,
            W - 4.0,
            LANE_H - 10.0
        );
        let arrow = match lane.way {
            Way::Outbound => "outbound",
            Way::Inbound => "inbound",
            Way::InternetMx => "internet MX",
            Way::ToInternet => "to the internet",
        };
        let _ = write!(
            s,
            r##"<text x="{}" y="{}" font-size="14" font-weight="600" fill="#24292f">{}</text><text x="{}" y="{}" font-size="11" fill="#57606a" text-anchor="end">{arrow}</text>"##,
            MARGIN,
            y0 + 19.0,
            esc(&lane.title.replace("->", "\u{2192}")),
            W - MARGIN,
            y0 + 19.0
        );
        let cy = y0 + LANE_TITLE_H + 8.0;
        for id in &lane.nodes {
            if let Some(n) = path.node(id) {
                card(&mut s, n, col_x(id), cy);
            }
        }
        for hid in &lane.hops {
            if let Some(hop) = path.hop(hid) {
                arrow_for(&mut s, hop, col_x(&hop.from), col_x(&hop.to), cy + CARD_H / 2.0);
            }
        }
        s.push_str("</g>");
    }
    legend(&mut s, path.lanes.len() as f64 * LANE_H + 8.0);
    s.push_str("</svg>");
    s
}

fn describe(path: &MailPath) -> String {
    let mut d = String::new();
    for lane in &path.lanes {
        let _ = write!(d, "{}: ", lane.title);
        let hops: Vec<String> = lane
            .hops
            .iter()
            .filter_map(|h| path.hop(h))
            .map(|h| {
                format!(
                    "{} {}",
                    h.id,
                    if total(&h.counts) == 0 {
                        "no checks"
                    } else {
                        h.status.as_str()
                    }
                )
            })
            .collect();
        let _ = write!(d, "{}. ", hops.join(", "));
    }
    d
}

fn marker(s: &mut String, name: &str, colour: &str) {
    let _ = write!(
        s,
        r#"<marker id="arrow-{name}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="{colour}"/></marker>"#
    );
}

/// Split `text` into at most `lines` lines of at most `max` characters, at spaces where possible; the
/// last line is truncated.
fn wrap(text: &str, max: usize, lines: usize) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut current = String::new();
    for word in text.split(' ') {
        let fits = current.is_empty() || current.chars().count() + 1 + word.chars().count() <= max;
        if fits {
            if !current.is_empty() {
                current.push(' ');
            }
            current.push_str(word);
        } else if out.len() + 1 < lines {
            out.push(std::mem::take(&mut current));
            current.push_str(word);
        } else {
            current.push(' ');
            current.push_str(word);
        }
    }
    if !current.is_empty() || out.is_empty() {
        out.push(current);
    }
    out.into_iter().map(|l| truncate(&l, max)).collect()
}

fn card(s: &mut String, n: &Node, x: f64, y: f64) {
    let has_checks = total(&n.counts) > 0;
    // Drawn in its status when something was judged on it (its checks, or what it serves), else neutral.
    let (stroke, fill, mark) = if n.judged() {
        let st = style(n.status);
        (st.colour, st.background, n.status.as_str())
    } else {
        ("#8c959f", "#ffffff", "none")
    };
    let _ = write!(
        s,
        r#"<g class="node node-{} status-{}"><title>{}</title>"#,
        super::slug(&n.id),
        mark,
        esc(&node_title(n))
    );
    let _ = write!(
        s,
        r#"<rect x="{x}" y="{y}" width="{CARD_W}" height="{CARD_H}" rx="8" fill="{fill}" stroke="{stroke}" stroke-width="2"/>"#
    );
    let label = wrap(&n.label, 22, 2);
    for (i, l) in label.iter().enumerate() {
        let _ = write!(
            s,
            r##"<text x="{}" y="{}" font-size="13" font-weight="600" fill="#24292f">{}</text>"##,
            x + 10.0,
            y + 20.0 + 15.0 * i as f64,
            esc(l)
        );
    }
    let hosts = match n.hosts.len() {
        0 => String::new(),
        1 => truncate(&n.hosts[0], 28),
        k => format!("{} +{}", truncate(&n.hosts[0], 23), k - 1),
    };
    if !hosts.is_empty() {
        let _ = write!(
            s,
            r##"<text x="{}" y="{}" font-size="11" fill="#57606a">{}</text>"##,
            x + 10.0,
            y + 22.0 + 15.0 * label.len() as f64,
            esc(&hosts)
        );
    }
    if has_checks {
        // A badge on the card's top-right corner.
        // The badge counts the node's own checks, in their colour (the card's may be worse: what it serves).
        let text = badge_text(&n.counts);
        let bw = 14.0 + 7.0 * text.chars().count() as f64;
        let bx = x + CARD_W - bw - 8.0;
        let _ = write!(
            s,
            r##"<rect x="{bx}" y="{}" width="{bw}" height="18" rx="9" fill="{}" stroke="#ffffff"/><text x="{}" y="{}" font-size="11" font-weight="600" fill="#ffffff" text-anchor="middle">{}</text>"##,
            y - 9.0,
            style_of(&n.counts).colour,
            bx + bw / 2.0,
            y + 4.0,
            esc(&text)
        );
    }
    s.push_str("</g>");
}

fn node_title(n: &Node) -> String {
    let mut t = n.label.clone();
    if !n.hosts.is_empty() {
        let _ = write!(t, " ({})", n.hosts.join(", "));
    }
    if n.judged() {
        let _ = write!(t, ": {}", n.status.as_str());
    }
    t
}

fn arrow_for(s: &mut String, hop: &Hop, from_x: f64, to_x: f64, y: f64) {
    let (x1, x2) = if from_x < to_x {
        (from_x + CARD_W, to_x)
    } else {
        (from_x, to_x + CARD_W)
    };
    let has_checks = total(&hop.counts) > 0;
    let st = style_of(&hop.counts);
    let mk = if has_checks { hop.status.as_str() } else { "none" };
    let dash = if hop.observable {
        ""
    } else {
        r#" stroke-dasharray="6 5""#
    };
    let mut title = format!(
        "{}: {}",
        hop.id,
        if has_checks {
            hop.status.as_str()
        } else {
            "no checks"
        }
    );
    if let Some(e) = &hop.endpoint {
        let _ = write!(title, ", {e}");
    }
    if !hop.observable {
        title.push_str(", not observable from where mailpath ran");
    }
    let _ = write!(
        s,
        r#"<g class="hop hop-{} status-{mk}"><title>{}</title>"#,
        super::slug(&hop.id),
        esc(&title)
    );
    let (a, b) = if x1 < x2 {
        (x1 + 4.0, x2 - 6.0)
    } else {
        (x1 - 4.0, x2 + 6.0)
    };
    let _ = write!(
        s,
        r#"<line x1="{a}" y1="{y}" x2="{b}" y2="{y}" stroke="{}" stroke-width="3"{dash} marker-end="url(#arrow-{mk})"/>"#,
        st.colour
    );
    let mid = (x1 + x2) / 2.0;
    let text = badge_text(&hop.counts);
    let bw = 14.0 + 7.0 * text.chars().count() as f64;
    let _ = write!(
        s,
        r##"<rect x="{}" y="{}" width="{bw}" height="20" rx="10" fill="{}" stroke="{}"/><text x="{mid}" y="{}" font-size="12" font-weight="600" fill="{}" text-anchor="middle">{}</text>"##,
        mid - bw / 2.0,
        y - 32.0,
        if has_checks { st.colour } else { "#ffffff" },
        st.colour,
        y - 18.0,
        if has_checks { "#ffffff" } else { st.colour },
        esc(&text)
    );
    let span = (x2 - x1).abs();
    let max_chars = ((span - 8.0) / 6.2).max(8.0) as usize;
    let facts = if hop.observable {
        hop.facts.join(" \u{00b7} ")
    } else {
        "not observable".to_string()
    };
    let mut ty = y + 18.0;
    if !facts.is_empty() {
        for l in wrap(&facts, max_chars, 2) {
            let _ = write!(
                s,
                r##"<text x="{mid}" y="{ty}" font-size="11" fill="#24292f" text-anchor="middle">{}</text>"##,
                esc(&l)
            );
            ty += 13.0;
        }
    }
    if let Some(e) = &hop.endpoint {
        let _ = write!(
            s,
            r##"<text x="{mid}" y="{ty}" font-size="10" fill="#57606a" text-anchor="middle">{}</text>"##,
            esc(&truncate(e, max_chars + max_chars / 10))
        );
    }
    s.push_str("</g>");
}

fn legend(s: &mut String, y: f64) {
    let mut x = MARGIN;
    s.push_str(r#"<g class="legend" font-size="11">"#);
    for st in [
        Status::Pass,
        Status::Info,
        Status::Skip,
        Status::Warn,
        Status::Fail,
    ] {
        let c = style(st);
        let _ = write!(
            s,
            r##"<rect x="{x}" y="{y}" width="26" height="16" rx="8" fill="{}"/><text x="{}" y="{}" fill="#ffffff" text-anchor="middle" font-weight="600">{}</text><text x="{}" y="{}" fill="#24292f">{}</text>"##,
            c.colour,
            x + 13.0,
            y + 12.0,
            esc(c.glyph),
            x + 32.0,
            y + 12.0,
            c.word.to_ascii_lowercase()
        );
        x += 84.0;
    }
    let _ = write!(
        s,
        r##"<line x1="{x}" y1="{}" x2="{}" y2="{}" stroke="{}" stroke-width="3" stroke-dasharray="6 5"/><text x="{}" y="{}" fill="#24292f">not observable from here</text>"##,
        y + 8.0,
        x + 40.0,
        y + 8.0,
        NEUTRAL.colour,
        x + 48.0,
        y + 12.0
    );
    x += 220.0;
    let _ = write!(
        s,
        r##"<text x="{x}" y="{}" fill="#57606a">badges: {} fail {} warn {} skip {} info {} pass (counts of checks)</text>"##,
        y + 12.0,
        style(Status::Fail).glyph,
        style(Status::Warn).glyph,
        style(Status::Skip).glyph,
        style(Status::Info).glyph,
        style(Status::Pass).glyph
    );
    s.push_str("</g>");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::path::PathSpec;

    #[test]
    fn labels_wrap_at_spaces_and_truncate() {
        assert_eq!(
            wrap("Exchange Online Protection", 22, 2),
            ["Exchange Online", "Protection"]
        );
        assert_eq!(
            wrap("SMTP 25 \u{b7} TLSv1.3 \u{b7} LDAPS 50636", 20, 2),
            ["SMTP 25 \u{b7} TLSv1.3 \u{b7}", "LDAPS 50636"]
        );
        assert_eq!(wrap("a b c d e f", 3, 2), ["a b", "c\u{2026}"]);
        assert_eq!(wrap("", 3, 2), [""]);
    }

    #[test]
    fn badges_show_the_two_worst_statuses() {
        let c = Counts {
            pass: 9,
            info: 1,
            skip: 0,
            warn: 1,
            fail: 2,
        };
        assert_eq!(badge_text(&c), "\u{2715}2 !1");
        assert_eq!(
            badge_text(&Counts {
                pass: 9,
                ..Counts::default()
            }),
            "\u{2713}9"
        );
        assert_eq!(badge_text(&Counts::default()), "no checks");
    }

    #[test]
    fn a_card_shows_what_its_node_serves_and_is_neutral_when_nothing_was_judged() {
        use crate::check::{Attachment, CheckResult};
        let (mut path, def) = crate::path::tests::edge_path();
        path.roll_up(&[
            CheckResult::new(&def("smtp.banner"), Status::Pass, "x", "s").on(Attachment::Node("edge".into())),
            CheckResult::new(&def("tls.cert.validity"), Status::Fail, "x", "s")
                .on(Attachment::Hop("in.eop-edge".into())),
        ]);
        let svg = render(&path);
        assert!(svg.contains(r#"class="node node-edge status-fail""#), "{svg}");
        assert!(svg.contains(r#"class="node node-exo status-none""#), "{svg}");
        assert!(!svg.contains("status-pass\"><title>Exchange Online"), "{svg}");
    }

    #[test]
    fn diagram_has_every_lane_node_and_hop_and_escapes_names() {
        let p = MailPath::build(&PathSpec {
            mailbox_hosts: vec!["<ex01>&co".into()],
            edge_hosts: vec!["edge01".into()],
            eop_host: "x.mail.protection.outlook.com".into(),
            ..PathSpec::default()
        });
        let svg = render(&p);
        assert_eq!(svg.matches("class=\"lane\"").count(), 4);
        assert!(svg.contains("hop-out-mailbox-edge") && svg.contains("hop-mx-internet-eop"));
        assert!(svg.contains("&lt;ex01&gt;&amp;co") && !svg.contains("<ex01>"));
        assert!(
            svg.contains("stroke-dasharray"),
            "the hops inside Microsoft are dashed"
        );
    }
}
