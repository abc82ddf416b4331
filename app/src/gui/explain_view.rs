//! The Explain view: paste (or open) an NDR, a queue's LastError, a message trace detail or protocol log
//! lines, and see the code pinned on the mail path: what it means, the hop (highlighted on the Path
//! view), the likely causes ranked by the current diagnosis (or the profile's configuration checks),
//! the checks that confirm each cause one click away (they open in the detail panel), and the fix.
//!
//! The explanation is pure and bounded; it runs on a named thread (reading a file, opening the file
//! dialog, explaining) and comes back over a channel that wakes the UI, so a 10 MiB paste never freezes
//! the window. A new diagnosis (Run) re-ranks the causes by its checks.

use std::sync::Arc;

use eframe::egui::{self, RichText};
use mailpath_core::check::{Attachment, CheckResult, Status};
use mailpath_core::diagnose::Diagnosis;
use mailpath_core::explain::{CauseVerdict, Context, EvidenceSource, Explained, Explanation, Observed};
use mailpath_core::profile::Profile;

use super::state::explain::Job;
use super::state::{AppState, Command, Selection, View};
use super::theme;

/// The evidence the current state offers: the diagnosis shown, else the profile's configuration
/// checks, else none.
struct Evidence<'a> {
    diagnosis: Option<&'a Arc<Diagnosis>>,
    opened: bool,
    profile: Option<&'a Profile>,
}

impl Evidence<'_> {
    /// An identity that changes when the evidence does (a new diagnosis, another profile).
    fn identity(&self) -> usize {
        if let Some(d) = self.diagnosis {
            return Arc::as_ptr(d) as usize;
        }
        self.profile.map_or(0, |p| {
            use std::hash::{Hash as _, Hasher as _};
            let mut h = std::collections::hash_map::DefaultHasher::new();
            p.name.hash(&mut h);
            p.uses_edge().hash(&mut h);
            usize::try_from(h.finish() | 1).unwrap_or(1)
        })
    }

    fn words(&self) -> String {
        if let Some(d) = self.diagnosis {
            let who = if self.opened {
                "the opened diagnosis"
            } else {
                "the last diagnosis"
            };
            return format!(
                "Causes ranked by {who} of {} ({} checks)",
                d.profile.name,
                d.checks.len()
            );
        }
        if let Some(p) = self.profile {
            return format!(
                "Causes ranked by the configuration checks of {}: press Run (Ctrl+R) to probe the path",
                p.name
            );
        }
        "No evidence: open a profile or a diagnosis, or pick a lab scenario, and Run to rank the causes"
            .into()
    }

    fn context(&self) -> Context {
        match (self.diagnosis, self.profile) {
            (Some(d), _) => Context::for_diagnosis(d, EvidenceSource::Diagnosis),
            (None, Some(p)) => Context::for_profile(p),
            (None, None) => Context::default(),
        }
    }
}

/// The view.
pub fn show(ui: &mut egui::Ui, state: &mut AppState, out: &mut Vec<Command>) {
    let x = &mut state.explain;
    x.poll();
    let ev = Evidence {
        diagnosis: state.diagnosis.as_ref().filter(|d| !d.cancelled),
        opened: state.diagnosis_opened,
        profile: state.profile.as_ref(),
    };
    let identity = ev.identity();
    if std::mem::take(&mut x.queued) && !x.busy() && !x.text.trim().is_empty() {
        let bytes = Arc::new(x.text.clone().into_bytes());
        x.input = Some(Arc::clone(&bytes));
        x.start(Job::Bytes(bytes), ev.context(), identity, ui.ctx());
    }
    // A new diagnosis (or profile) re-ranks the last explanation.
    if x.explanation.is_some()
        && !x.busy()
        && identity != x.ranked_with
        && let Some(input) = x.input.clone()
    {
        x.start(Job::Bytes(input), ev.context(), identity, ui.ctx());
    }
    ui.horizontal_wrapped(|ui| {
        let open = ui
            .add_enabled(!x.busy(), egui::Button::new("📂 Open file…"))
            .on_hover_text(
                "Open an NDR (.eml, .html, .txt), Get-Queue output, a message trace or a protocol log",
            );
        if open.clicked() {
            x.start(Job::Dialog, ev.context(), identity, ui.ctx());
        }
        let l = ui.label("Path");
        let edit = ui
            .add(
                egui::TextEdit::singleline(&mut x.path)
                    .hint_text("ndr.eml")
                    .desired_width(220.0),
            )
            .labelled_by(l.id);
        let enter = edit.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
        let typed = x.path.trim().to_string();
        let open = ui.add_enabled(!typed.is_empty() && !x.busy(), egui::Button::new("Open"));
        open.widget_info(|| {
            egui::WidgetInfo::labeled(
                egui::Role::Button,
                !typed.is_empty(),
                "Open the typed path to explain",
            )
        });
        if (open.clicked() || enter) && !typed.is_empty() {
            x.start(Job::File(typed.into()), ev.context(), identity, ui.ctx());
        }
        ui.separator();
        let can = !x.text.trim().is_empty() && !x.busy();
        let go = ui.add_enabled(can, egui::Button::new("🔍 Explain"));
        go.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Button, can, "Explain the text"));
        if go.clicked() {
            let bytes = Arc::new(x.text.clone().into_bytes());
            x.input = Some(Arc::clone(&bytes));
            if x.source.is_none() {
                x.source = Some("pasted text".into());
            }
            x.start(Job::Bytes(bytes), ev.context(), identity, ui.ctx());
        }
        if x.busy() {
            ui.spinner();
        }
        if let Some(source) = &x.source {
            ui.label(RichText::new(source).weak());
        }
    });
    ui.label(RichText::new(ev.words()).weak());
    ui.separator();
    egui::Panel::left("explain-input")
        .resizable(true)
        .default_size(400.0)
        .size_range(260.0..=800.0)
        .show(ui, |ui| {
            ui.label(RichText::new("NDR, queue error, message trace or log lines").strong());
            egui::ScrollArea::both()
                .id_salt("explain-text")
                .auto_shrink([false, false])
                .show(ui, |ui| {
                    let edit = egui::TextEdit::multiline(&mut x.text)
                        .code_editor()
                        .desired_width(f32::INFINITY)
                        .desired_rows(30)
                        .hint_text(
                            "Paste an NDR's \"Diagnostic information for administrators\", a queue's LastError, a message trace detail ({LED=...}) or protocol log lines",
                        );
                    let r = ui.add(edit);
                    if r.changed() {
                        // Typed or pasted text replaces a loaded file.
                        x.input = None;
                        x.source = None;
                    }
                    r.widget_info(|| {
                        egui::WidgetInfo::labeled(egui::Role::MultilineTextInput, true, "Text to explain")
                    });
                });
        });
    let checks: &[CheckResult] = ev.diagnosis.map_or(&[], |d| d.checks.as_slice());
    egui::ScrollArea::vertical()
        .id_salt("explain-result")
        .auto_shrink([false, false])
        .show(ui, |ui| {
            if let Some(e) = &x.error {
                ui.label(RichText::new(e).color(theme::error_color(ui)));
            }
            match &x.explanation {
                Some(e) if e.found => explanation_ui(ui, e, checks, out),
                Some(e) => {
                    ui.add_space(20.0);
                    ui.heading(capitalised(&e.summary));
                    ui.label(
                        RichText::new(format!(
                            "Looked at {} bytes of {}. Paste the NDR's \"Diagnostic information for administrators\", a queue's LastError (Get-Queue | fl), a message trace detail or protocol log lines.",
                            e.input.bytes,
                            e.input.kind.label()
                        ))
                        .weak(),
                    );
                }
                None if x.error.is_none() => {
                    ui.add_space(40.0);
                    ui.vertical_centered(|ui| {
                        ui.heading("Paste an NDR, a queue error or a message trace and press Explain");
                        ui.label(
                            RichText::new(
                                "The code and what it means, the hop of the mail path it belongs to, the likely causes ranked by the checks, and the fix.",
                            )
                            .weak(),
                        );
                    });
                }
                None => {}
            }
        });
}

fn capitalised(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

fn verdict_status(v: CauseVerdict) -> Status {
    match v {
        CauseVerdict::Confirmed => Status::Fail,
        CauseVerdict::Named | CauseVerdict::Likely => Status::Warn,
        CauseVerdict::RuledOut => Status::Pass,
        CauseVerdict::Unverified | CauseVerdict::NotObservable => Status::Skip,
    }
}

fn explanation_ui(ui: &mut egui::Ui, e: &Explanation, checks: &[CheckResult], out: &mut Vec<Command>) {
    let Some(main) = e.main() else { return };
    explained_ui(ui, main, checks, out);
    ui.add_space(6.0);
    egui::Grid::new("explain-facts")
        .num_columns(2)
        .spacing([12.0, 2.0])
        .show(ui, |ui| {
            ui.label(RichText::new("Read as").weak());
            ui.label(e.input.kind.label());
            ui.end_row();
            if let Some(r) = &e.reporting_server {
                ui.label(RichText::new("Reported by").weak());
                ui.label(r);
                ui.end_row();
            }
            if let Some(r) = &e.remote_server {
                ui.label(RichText::new("Remote server").weak());
                ui.label(r);
                ui.end_row();
            }
            if let Some(ip) = &e.remote_ip {
                ui.label(RichText::new("Remote address").weak());
                ui.label(ip);
                ui.end_row();
            }
            ui.label(RichText::new("Evidence").weak());
            ui.label(&e.evidence.note);
            ui.end_row();
        });
    if e.explained.len() > 1 {
        ui.add_space(8.0);
        ui.label(RichText::new("Also found").strong());
        for other in &e.explained[1..] {
            ui.collapsing(format!("{}  {}", other.code, other.title), |ui| {
                explained_ui(ui, other, checks, out);
            });
        }
    }
}

fn explained_ui(ui: &mut egui::Ui, x: &Explained, checks: &[CheckResult], out: &mut Vec<Command>) {
    ui.horizontal_wrapped(|ui| {
        ui.label(RichText::new(&x.code).monospace().strong().size(16.0));
        ui.label(RichText::new(&x.title).strong().size(16.0));
    });
    ui.label(RichText::new(&x.text).monospace().weak());
    ui.label(&x.meaning);
    if let Some(r) = &x.rfc3463 {
        ui.label(
            RichText::new(format!(
                "RFC 3463: {}; {}{}",
                r.class,
                r.subject,
                r.detail.as_deref().map(|d| format!("; {d}")).unwrap_or_default()
            ))
            .weak(),
        );
    }
    ui.horizontal_wrapped(|ui| {
        ui.label(RichText::new("Hop").strong());
        if x.hops.is_empty() {
            ui.label(RichText::new("the code alone does not say which hop").weak());
        }
        for hop in &x.hops {
            let b = ui.button(RichText::new(hop).monospace());
            b.widget_info(|| {
                egui::WidgetInfo::labeled(egui::Role::Button, true, format!("Show {hop} on the Path"))
            });
            if b.on_hover_text("Show this hop and its checks on the Path view")
                .clicked()
            {
                out.push(Command::SetView(View::Path));
                out.push(Command::Select(Some(Selection::Hop(hop.clone()))));
            }
        }
    });
    let first = x.causes.first().map_or(CauseVerdict::Unverified, |c| c.verdict);
    let colour = match first {
        CauseVerdict::Confirmed | CauseVerdict::Named | CauseVerdict::Likely => {
            theme::status_color(ui, verdict_status(first))
        }
        _ => ui.visuals().text_color(),
    };
    let verdict = ui.label(
        RichText::new(format!("Verdict: {}", x.verdict))
            .color(colour)
            .strong(),
    );
    verdict.widget_info(|| {
        egui::WidgetInfo::labeled(egui::Role::Label, true, format!("Verdict: {}", x.verdict))
    });
    ui.add_space(6.0);
    ui.label(RichText::new("Likely causes, most likely first").strong());
    for c in &x.causes {
        egui::Frame::group(ui.style()).show(ui, |ui| {
            ui.set_width(ui.available_width());
            ui.horizontal_wrapped(|ui| {
                let status = verdict_status(c.verdict);
                ui.label(
                    RichText::new(format!("{}. {}", c.rank, c.verdict.as_str()))
                        .color(theme::status_color(ui, status))
                        .strong(),
                );
                ui.label(&c.cause);
            });
            ui.horizontal_wrapped(|ui| {
                ui.label(RichText::new("Confirmed by").weak());
                if c.checks.is_empty() {
                    ui.label(RichText::new("no check observes it from here").weak());
                }
                for r in &c.checks {
                    let id = r.split('@').next().unwrap_or(r);
                    let observed: Vec<&Observed> = c.observed.iter().filter(|o| o.id == id).collect();
                    if observed.is_empty() {
                        ui.label(RichText::new(r).monospace().weak())
                            .on_hover_text("not in the checks at hand");
                    }
                    for o in observed {
                        check_button(ui, o, checks, out);
                    }
                }
            });
            ui.horizontal(|ui| {
                ui.label(RichText::new("Fix").weak());
                let copy = ui.small_button("Copy");
                copy.widget_info(|| {
                    egui::WidgetInfo::labeled(
                        egui::Role::Button,
                        true,
                        format!("Copy the fix of cause {}", c.rank),
                    )
                });
                if copy.clicked() {
                    out.push(Command::Copy(c.fix.clone()));
                }
            });
            ui.add(egui::Label::new(RichText::new(&c.fix).monospace()).wrap());
        });
    }
    if !x.sources.is_empty() {
        ui.horizontal_wrapped(|ui| {
            ui.label(RichText::new("Sources").weak());
            for (i, s) in x.sources.iter().enumerate() {
                ui.hyperlink_to(format!("[{}]", i + 1), s).on_hover_text(s);
            }
        });
    }
}

/// A check the evidence holds for a cause: its status, id and hop; a click opens it in the detail panel.
fn check_button(ui: &mut egui::Ui, o: &Observed, checks: &[CheckResult], out: &mut Vec<Command>) {
    let at = o.hop.as_deref().unwrap_or(&o.target);
    let text = format!("{} {} on {at}", theme::status_icon(o.status), o.id);
    let index = checks.iter().position(|c| {
        c.id == o.id
            && c.target == o.target
            && match (&c.attachment, &o.hop) {
                (Attachment::Hop(h), Some(oh)) => h == oh,
                (Attachment::Hop(_), None) | (_, Some(_)) => false,
                (_, None) => true,
            }
    });
    let b = ui.add_enabled(
        index.is_some(),
        egui::Button::new(RichText::new(text).color(theme::status_color(ui, o.status))),
    );
    b.widget_info(|| {
        egui::WidgetInfo::labeled(
            egui::Role::Button,
            index.is_some(),
            format!("Check {} on {at}: {}", o.id, o.status),
        )
    });
    if b.on_hover_text(&o.summary).clicked()
        && let Some(i) = index
    {
        out.push(Command::Select(Some(Selection::Check(i))));
    }
}
