//! The Path view: the mail path as lanes (outbound, inbound, internet MX), nodes as cards, hops as
//! arrows with check badges and protocol facts; and the detail panel of a node, hop or check.

use std::borrow::Cow;

use eframe::egui::{
    self, Align2, Color32, CornerRadius, FontId, Pos2, Rect, RichText, Sense, Shape, Stroke, StrokeKind, Vec2,
};
use egui::text::{LayoutJob, TextFormat, TextWrapping};
use mailpath_core::check::{CheckResult, Counts, Status};
use mailpath_core::path::{Hop, MailPath, Node, NodeKind, Way};
use mailpath_core::profile::Profile;
use mailpath_core::topology::{MxTargets, Topology};

use super::state::{Activity, AppState, Command, Selection};
use super::theme;
use super::widgets::{check_card, counts_words, empty_state};

const CARD_HEIGHT: f32 = 104.0;

/// Draw the Path view.
pub fn show(ui: &mut egui::Ui, state: &AppState, out: &mut Vec<Command>) {
    let running = match &state.activity {
        Activity::Running(p) => Some(p),
        _ => None,
    };
    let judged = running.is_none() && state.diagnosis.as_ref().is_some_and(|d| !d.cancelled);
    let live = running.and_then(|p| p.live_path.as_ref());
    let path: Cow<'_, MailPath> = match (&state.diagnosis, &state.profile, live) {
        (_, _, Some(live)) => Cow::Borrowed(live),
        (Some(d), _, _) if judged => Cow::Borrowed(&d.path),
        (_, Some(profile), _) => Cow::Owned(preview(profile)),
        (Some(d), None, _) => Cow::Borrowed(&d.path),
        (None, None, None) => {
            let what = match &state.activity {
                Activity::Loading { what } => format!("Opening {what}…"),
                _ => "No profile yet: open one or try the lab".into(),
            };
            empty_state(
                ui,
                &what,
                "Open a hybrid profile (Ctrl+O), or pick a lab scenario in the top bar and press Run (Ctrl+R).",
            );
            return;
        }
    };
    let ctx = DrawContext {
        judged,
        probed: running.map(|p| &p.probed),
        selection: state.selection.as_ref(),
        checks: match running {
            Some(p) => p.live.as_slice(),
            None if judged => state.diagnosis.as_ref().map_or(&[], |d| d.checks.as_slice()),
            None => &[],
        },
        explained: state.explain.highlight(),
    };
    egui::ScrollArea::both().auto_shrink([false, false]).show(ui, |ui| {
        if !judged {
            let hint = if running.is_some() {
                "Probing… each hop shows its SMTP and certificate checks as its probe finishes; DNS and configuration checks follow when the diagnosis completes."
            } else if state.diagnosis.as_ref().is_some_and(|d| d.cancelled) {
                "The last diagnosis was cancelled before it judged anything. Press Run (Ctrl+R) to try again."
            } else {
                "Not diagnosed yet: press Run (Ctrl+R)."
            };
            ui.label(RichText::new(hint).weak());
        }
        for lane in &path.lanes {
            ui.add_space(8.0);
            ui.label(RichText::new(&lane.title).strong().size(15.0));
            ui.add_space(4.0);
            lane_ui(ui, &path, lane, &ctx, out);
        }
        ui.add_space(12.0);
        legend(ui);
    });
}

struct DrawContext<'a> {
    judged: bool,
    probed: Option<&'a std::collections::BTreeSet<String>>,
    selection: Option<&'a Selection>,
    /// The checks of the judged diagnosis, or those judged so far (for hover summaries).
    checks: &'a [CheckResult],
    /// The hops the Explain view pins its failure on, and its code (highlighted).
    explained: Option<(&'a [String], &'a str)>,
}

impl DrawContext<'_> {
    /// Whether these counts are results to show: the diagnosis is judged, or a running one has judged
    /// the probes this node or hop depends on.
    fn shows(&self, counts: &Counts) -> bool {
        (self.judged || self.probed.is_some()) && total(counts) > 0
    }
}

fn lane_ui(
    ui: &mut egui::Ui,
    path: &MailPath,
    lane: &mailpath_core::path::Lane,
    ctx: &DrawContext<'_>,
    out: &mut Vec<Command>,
) {
    let avail = ui.available_width().max(560.0);
    let n = lane.nodes.len().max(2) as f32;
    let card_w = ((avail - 3.0 * 90.0) / 4.0).clamp(120.0, 220.0);
    let arrow_w = ((avail - n * card_w) / (n - 1.0)).clamp(84.0, 300.0);
    let width = n * card_w + (n - 1.0) * arrow_w;
    let (row, _) = ui.allocate_exact_size(Vec2::new(width, CARD_HEIGHT), Sense::hover());
    let way = match lane.way {
        Way::Outbound => "outbound",
        Way::Inbound => "inbound",
        Way::InternetMx => "internet MX",
        Way::ToInternet => TO_INTERNET,
    };
    let mut x = row.left();
    for (i, node_id) in lane.nodes.iter().enumerate() {
        let rect = Rect::from_min_size(Pos2::new(x, row.top()), Vec2::new(card_w, CARD_HEIGHT));
        if let Some(node) = path.node(node_id) {
            node_card(ui, rect, node, way, ctx, out);
        }
        x += card_w;
        if let Some(hop) = lane.hops.get(i).and_then(|h| path.hop(h)) {
            let rect = Rect::from_min_size(Pos2::new(x, row.top()), Vec2::new(arrow_w, CARD_HEIGHT));
            hop_arrow(ui, rect, hop, path, ctx, out);
        }
        x += arrow_w;
    }
}

fn node_card(
    ui: &mut egui::Ui,
    rect: Rect,
    node: &Node,
    way: &str,
    ctx: &DrawContext<'_>,
    out: &mut Vec<Command>,
) {
    // A node nothing was judged on is not "pass": it is drawn neutral (`Node::judged`: its checks, or a
    // problem in what it serves).
    let judged = (ctx.judged || ctx.probed.is_some()) && node.judged();
    let id = ui.scope_id().with(("node", &node.id, way));
    let response = ui.interact(rect, id, Sense::click());
    let label = if judged {
        format!("Node {} ({way}): {}", node.label, node.status)
    } else {
        format!("Node {} ({way})", node.label)
    };
    response.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Button, true, &label));
    let visuals = ui.visuals();
    let colour = if judged {
        theme::status_color(ui, node.status)
    } else {
        theme::pending_color(ui)
    };
    let selected = ctx.selection == Some(&Selection::Node(node.id.clone()));
    let fill = if response.hovered() {
        visuals.widgets.hovered.weak_bg_fill
    } else {
        visuals.extreme_bg_color
    };
    let stroke = if selected {
        Stroke::new(2.5, visuals.selection.stroke.color)
    } else {
        Stroke::new(1.5, colour)
    };
    let painter = ui.painter_at(rect.expand(2.0));
    let card = rect.shrink(2.0);
    painter.rect(card, CornerRadius::same(8), fill, stroke, StrokeKind::Inside);
    painter.rect_filled(
        Rect::from_min_size(card.min, Vec2::new(6.0, card.height())),
        CornerRadius {
            nw: 8,
            sw: 8,
            ne: 0,
            se: 0,
        },
        colour,
    );
    let text = visuals.text_color();
    let weak = visuals.weak_text_color();
    let left = card.left() + 14.0;
    let inner_w = card.width() - 20.0;
    let icon = if judged {
        theme::status_icon(node.status)
    } else if ctx.judged {
        // Judged, but no check is attached to the node itself: its hops carry them.
        ""
    } else {
        "…"
    };
    painter.text(
        Pos2::new(card.right() - 8.0, card.top() + 8.0),
        Align2::RIGHT_TOP,
        icon,
        FontId::proportional(16.0),
        colour,
    );
    // Narrow cards (detail panel open) use the short name rather than truncating the long one.
    let name = if card.width() < 175.0 {
        short_label(node.kind)
    } else {
        node.label.as_str()
    };
    let title = one_line(name, FontId::proportional(14.5), text, inner_w - 22.0);
    painter.galley(Pos2::new(left, card.top() + 8.0), painter.layout_job(title), text);
    let role = match node.kind {
        NodeKind::Mailbox => "on-premises Mailbox",
        NodeKind::Edge => "on-premises Edge (perimeter)",
        NodeKind::Eop => "Microsoft 365 (EOP)",
        NodeKind::ExchangeOnline => "Microsoft 365 mailboxes",
        NodeKind::Internet if way == TO_INTERNET => "recipients on the internet",
        NodeKind::Internet => "senders on the internet",
        NodeKind::Gateway => "not Exchange Online Protection",
        NodeKind::Unknown => "not resolved yet",
    };
    painter.galley(
        Pos2::new(left, card.top() + 28.0),
        painter.layout_job(one_line(role, FontId::proportional(12.0), weak, inner_w)),
        weak,
    );
    let mut y = card.top() + 46.0;
    for host in node.hosts.iter().take(2) {
        painter.galley(
            Pos2::new(left, y),
            painter.layout_job(one_line(host, FontId::monospace(11.5), text, inner_w)),
            text,
        );
        y += 16.0;
    }
    if node.hosts.len() > 2 {
        painter.text(
            Pos2::new(left, y),
            Align2::LEFT_TOP,
            format!("+{} more", node.hosts.len() - 2),
            FontId::proportional(11.0),
            weak,
        );
    }
    if judged && total(&node.counts) > 0 {
        let job = badges(ui, &node.counts, FontId::proportional(12.0));
        painter.galley(
            Pos2::new(left, card.bottom() - 20.0),
            painter.layout_job(job),
            text,
        );
    }
    let response = response.on_hover_ui(|ui| {
        ui.strong(&node.label);
        ui.label(role);
        for h in &node.hosts {
            ui.monospace(h);
        }
        if judged {
            ui.label(counts_words(&node.counts));
            worst_summaries(
                ui,
                ctx.checks,
                &mailpath_core::check::Attachment::Node(node.id.clone()),
            );
        }
        ui.label(RichText::new("Click for its checks").weak());
    });
    if response.clicked() {
        out.push(Command::Select(Some(Selection::Node(node.id.clone()))));
    }
}

fn hop_arrow(
    ui: &mut egui::Ui,
    rect: Rect,
    hop: &Hop,
    path: &MailPath,
    ctx: &DrawContext<'_>,
    out: &mut Vec<Command>,
) {
    let id = ui.scope_id().with(("hop", &hop.id));
    let response = ui.interact(rect, id, Sense::click());
    let from = path
        .node(&hop.from)
        .map_or(hop.from.as_str(), |n| n.label.as_str());
    let to = path.node(&hop.to).map_or(hop.to.as_str(), |n| n.label.as_str());
    let hop_judged = ctx.judged || ctx.shows(&hop.counts);
    let explained = ctx
        .explained
        .filter(|(hops, _)| hops.contains(&hop.id))
        .map(|(_, code)| code);
    let mut label = if hop_judged {
        format!(
            "Hop {} ({from} ➡ {to}): {}, {}",
            hop.id,
            hop.status,
            counts_words(&hop.counts)
        )
    } else {
        format!("Hop {} ({from} ➡ {to})", hop.id)
    };
    if let Some(code) = explained {
        label.push_str(&format!(", explained: {code}"));
    }
    response.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Button, true, &label));
    let visuals = ui.visuals();
    // Judged live counts as probed: a hop to EOP knows its endpoint only once the MX is resolved.
    let probed = hop_probed(hop, ctx) || ctx.shows(&hop.counts);
    let colour = if ctx.shows(&hop.counts) {
        theme::status_color(ui, hop.status)
    } else if probed {
        visuals.text_color()
    } else {
        theme::pending_color(ui)
    };
    let selected = ctx.selection == Some(&Selection::Hop(hop.id.clone()));
    let painter = ui.painter_at(rect);
    if selected || response.hovered() {
        let fill = if selected {
            visuals.selection.bg_fill.gamma_multiply(0.35)
        } else {
            visuals.widgets.hovered.weak_bg_fill
        };
        painter.rect_filled(rect.shrink2(Vec2::new(4.0, 6.0)), CornerRadius::same(6), fill);
    }
    if explained.is_some() {
        // The hop the Explain view pins its failure on.
        painter.rect_stroke(
            rect.shrink2(Vec2::new(3.0, 5.0)),
            CornerRadius::same(6),
            Stroke::new(2.0, theme::status_color(ui, Status::Warn)),
            StrokeKind::Inside,
        );
    }
    let y = rect.center().y;
    let (x0, x1) = (rect.left() + 8.0, rect.right() - 8.0);
    let width = if hop_judged && hop.status >= Status::Warn {
        3.0
    } else {
        2.0
    };
    let stroke = Stroke::new(width, colour);
    if hop.observable && (ctx.judged || probed) {
        painter.line_segment([Pos2::new(x0, y), Pos2::new(x1 - 8.0, y)], stroke);
    } else {
        painter.extend(Shape::dashed_line(
            &[Pos2::new(x0, y), Pos2::new(x1 - 8.0, y)],
            stroke,
            6.0,
            4.0,
        ));
    }
    painter.add(Shape::convex_polygon(
        vec![
            Pos2::new(x1, y),
            Pos2::new(x1 - 11.0, y - 6.0),
            Pos2::new(x1 - 11.0, y + 6.0),
        ],
        colour,
        Stroke::NONE,
    ));
    let inner_w = rect.width() - 16.0;
    // Above the arrow: the badges (or what is going on).
    let above = if hop_judged {
        if total(&hop.counts) == 0 {
            one_line(
                "no checks",
                FontId::proportional(12.0),
                visuals.weak_text_color(),
                inner_w,
            )
        } else {
            badges(ui, &hop.counts, FontId::proportional(13.0))
        }
    } else if ctx.probed.is_some() {
        let words = if probed {
            "probed"
        } else if hop.observable {
            "probing…"
        } else {
            "not observable"
        };
        one_line(
            words,
            FontId::proportional(12.0),
            visuals.weak_text_color(),
            inner_w,
        )
    } else {
        LayoutJob::default()
    };
    let galley = painter.layout_job(above);
    painter.galley(
        Pos2::new(
            rect.center().x - galley.size().x / 2.0,
            y - 10.0 - galley.size().y,
        ),
        galley,
        colour,
    );
    // Below: the protocol facts, or why the hop cannot be seen.
    let facts = if !hop.facts.is_empty() {
        hop.facts.join(" · ")
    } else if !hop.observable && hop.to == "internet" {
        "from Microsoft's network".to_string()
    } else if !hop.observable {
        "inside Microsoft".to_string()
    } else {
        hop.endpoint.clone().unwrap_or_default()
    };
    let mut job = LayoutJob::single_section(
        facts,
        TextFormat::simple(FontId::proportional(11.5), visuals.weak_text_color()),
    );
    job.wrap = TextWrapping {
        max_width: inner_w,
        max_rows: 2,
        break_anywhere: false,
        overflow_character: Some('…'),
    };
    job.halign = egui::Align::Center;
    let galley = painter.layout_job(job);
    painter.galley(Pos2::new(rect.center().x, y + 8.0), galley, visuals.text_color());
    let response = response.on_hover_ui(|ui| {
        ui.strong(format!("{from} ➡ {to}"));
        ui.monospace(&hop.id);
        if let Some(code) = explained {
            ui.label(format!(
                "The explained {code} is pinned on this hop (Explain view)"
            ));
        }
        match &hop.endpoint {
            Some(e) => ui.label(format!("endpoint {e}")),
            None if !hop.observable && hop.to == "internet" => {
                ui.label("leaves from Microsoft's network: not observable from here (message trace shows it)")
            }
            None if !hop.observable => ui.label("runs inside Microsoft's network: not observable from here"),
            None => ui.label("endpoint not known yet"),
        };
        if !hop.facts.is_empty() {
            ui.label(hop.facts.join(", "));
        }
        if ctx.judged || ctx.shows(&hop.counts) {
            ui.label(counts_words(&hop.counts));
            worst_summaries(
                ui,
                ctx.checks,
                &mailpath_core::check::Attachment::Hop(hop.id.clone()),
            );
        }
        ui.label(RichText::new("Click for its checks").weak());
    });
    if response.clicked() {
        out.push(Command::Select(Some(Selection::Hop(hop.id.clone()))));
    }
}

/// Up to three warnings or failures attached here, one line each.
fn worst_summaries(ui: &mut egui::Ui, checks: &[CheckResult], at: &mailpath_core::check::Attachment) {
    let mut bad: Vec<&CheckResult> = checks
        .iter()
        .filter(|c| &c.attachment == at && c.status >= Status::Warn)
        .collect();
    bad.sort_by_key(|c| std::cmp::Reverse(c.status));
    for c in bad.iter().take(3) {
        ui.label(
            RichText::new(format!(
                "{} {}: {}",
                theme::status_icon(c.status),
                c.id,
                c.summary
            ))
            .color(theme::status_color(ui, c.status)),
        );
    }
    if bad.len() > 3 {
        ui.label(RichText::new(format!("and {} more", bad.len() - 3)).weak());
    }
}

/// The words of the lane of Exchange Online's mail to the internet.
const TO_INTERNET: &str = "to the internet";

fn short_label(kind: NodeKind) -> &'static str {
    match kind {
        NodeKind::Mailbox => "Mailbox",
        NodeKind::Edge => "Edge",
        NodeKind::Eop => "EOP",
        NodeKind::ExchangeOnline => "Exchange Online",
        NodeKind::Internet => "Internet",
        NodeKind::Gateway => "Gateway",
        NodeKind::Unknown => "MX",
    }
}

fn hop_probed(hop: &Hop, ctx: &DrawContext<'_>) -> bool {
    let (Some(probed), Some(endpoint)) = (ctx.probed, &hop.endpoint) else {
        return false;
    };
    probed.iter().any(|id| {
        id.split_once(':')
            .is_some_and(|(_, rest)| rest.eq_ignore_ascii_case(endpoint))
    })
}

fn legend(ui: &mut egui::Ui) {
    ui.horizontal_wrapped(|ui| {
        ui.label(RichText::new("Legend:").weak());
        for s in [
            Status::Pass,
            Status::Info,
            Status::Skip,
            Status::Warn,
            Status::Fail,
        ] {
            ui.label(theme::status_text(ui, s));
        }
        ui.label(
            RichText::new(
                "· dashed: not observable from this workstation · click a card or an arrow for its checks",
            )
            .weak(),
        );
    });
}

fn one_line(text: &str, font: FontId, colour: Color32, width: f32) -> LayoutJob {
    let mut job = LayoutJob::single_section(text.to_string(), TextFormat::simple(font, colour));
    job.wrap = TextWrapping::truncate_at_width(width);
    job
}

fn total(c: &Counts) -> usize {
    c.pass + c.info + c.skip + c.warn + c.fail
}

/// Badges: icon + count per non-zero status, worst first, each in its colour.
fn badges(ui: &egui::Ui, c: &Counts, font: FontId) -> LayoutJob {
    let mut job = LayoutJob::default();
    for (n, s) in c.worst_first() {
        if n == 0 {
            continue;
        }
        if !job.sections.is_empty() {
            job.append("  ", 0.0, TextFormat::simple(font.clone(), Color32::TRANSPARENT));
        }
        job.append(
            &format!("{} {n}", theme::status_icon(s)),
            0.0,
            TextFormat::simple(font.clone(), theme::status_color(ui, s)),
        );
    }
    job
}

/// The path a profile implies, before any probe: nodes, lanes and the endpoints known without DNS.
pub fn preview(profile: &Profile) -> MailPath {
    MailPath::build(&Topology::of(profile).path_spec(&MxTargets::default()))
}

/// The detail panel: the checks of the selected node or hop, or one check.
pub fn detail_panel(ui: &mut egui::Ui, state: &AppState, out: &mut Vec<Command>) {
    let Some(selection) = &state.selection else { return };
    ui.horizontal(|ui| {
        let close = ui.button("×").on_hover_text("Close (Esc)");
        close.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Button, true, "Close the detail panel"));
        if close.clicked() {
            out.push(Command::Select(None));
        }
        let title = match selection {
            Selection::Node(id) => {
                let label = state
                    .diagnosis
                    .as_ref()
                    .and_then(|d| d.path.node(id))
                    .map_or(id.as_str(), |n| n.label.as_str());
                format!("Node: {label}")
            }
            Selection::Hop(id) => format!("Hop: {id}"),
            Selection::Check(_) => "Check".to_string(),
        };
        ui.heading(title);
    });
    if let (Selection::Hop(id), Some(d)) = (selection, &state.diagnosis)
        && let Some(hop) = d.path.hop(id)
    {
        let from = d
            .path
            .node(&hop.from)
            .map_or(hop.from.as_str(), |n| n.label.as_str());
        let to = d.path.node(&hop.to).map_or(hop.to.as_str(), |n| n.label.as_str());
        ui.label(format!("{from} ➡ {to}"));
        if let Some(e) = &hop.endpoint {
            ui.monospace(e);
        }
        if !hop.facts.is_empty() {
            ui.label(RichText::new(hop.facts.join(" · ")).weak());
        }
    }
    super::settings_read::settings_ui(ui, state, selection);
    ui.separator();
    let checks = state.checks_of(selection);
    if state.diagnosis.is_none() || matches!(state.activity, Activity::Running(_)) {
        ui.label(RichText::new("No results yet: run the diagnosis (Ctrl+R).").weak());
        return;
    }
    if checks.is_empty() {
        ui.label(RichText::new("No checks are attached here.").weak());
        return;
    }
    egui::ScrollArea::vertical()
        .auto_shrink([false, false])
        .show(ui, |ui| {
            for (_, check) in checks {
                check_card(ui, check, out);
                ui.add_space(6.0);
            }
        });
}
