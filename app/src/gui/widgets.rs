//! Widgets more than one view draws: an empty state, a check card, counts in words, an SMTP transcript,
//! a certificate's fields, a verdict. Functions over plain data, as egui's widgets are.

use eframe::egui::{self, RichText};
use mailpath_core::cert::CertInfo;
use mailpath_core::check::{CheckResult, Counts, Status};
use mailpath_core::evidence::{Direction, TranscriptLine};
use mailpath_core::headers::{Classification, Verdict};
use time::OffsetDateTime;

use super::state::Command;
use super::theme;

/// A centred message for a view with nothing to show.
pub fn empty_state(ui: &mut egui::Ui, title: &str, hint: &str) {
    ui.vertical_centered(|ui| {
        ui.add_space(ui.available_height() * 0.3);
        ui.heading(title);
        ui.add_space(6.0);
        ui.label(RichText::new(hint).weak());
    });
}

/// Counts as words: `1 fail, 3 pass`.
pub fn counts_words(c: &Counts) -> String {
    let parts: Vec<String> = [
        (c.fail, "fail"),
        (c.warn, "warn"),
        (c.skip, "skip"),
        (c.info, "info"),
        (c.pass, "pass"),
    ]
    .into_iter()
    .filter(|(n, _)| *n > 0)
    .map(|(n, w)| format!("{n} {w}"))
    .collect();
    if parts.is_empty() {
        "no checks".into()
    } else {
        parts.join(", ")
    }
}

/// A remediation's steps: where each is run (when the place changes), prose as text, each command in a
/// monospace box of its own with a copy button that copies exactly that command.
pub fn remediation_steps(
    ui: &mut egui::Ui,
    id: &str,
    r: &mailpath_core::check::Remediation,
    out: &mut Vec<Command>,
) {
    use mailpath_core::check::StepKind;
    let mut place = None;
    for (n, (at, step)) in r.placed().into_iter().enumerate() {
        if at.is_some() && at != place {
            place = at;
            if let Some(p) = place {
                ui.label(RichText::new(format!("In {}:", p.label())).weak().italics());
            }
        }
        match step.kind {
            StepKind::Prose => {
                ui.label(&step.text);
            }
            StepKind::Command | StepKind::Confirm => {
                if step.kind == StepKind::Confirm {
                    ui.label(RichText::new("to confirm:").weak());
                }
                ui.horizontal(|ui| {
                    let copy = ui.small_button("📋");
                    copy.widget_info(|| {
                        egui::WidgetInfo::labeled(
                            egui::Role::Button,
                            true,
                            format!("Copy step {} of {id}", n + 1),
                        )
                    });
                    if copy.on_hover_text("Copy this command").clicked() {
                        out.push(Command::Copy(step.text.clone()));
                    }
                    egui::Frame::new()
                        .fill(ui.visuals().code_bg_color)
                        .inner_margin(4.0)
                        .corner_radius(4.0)
                        .show(ui, |ui| {
                            ui.set_width(ui.available_width());
                            ui.add(egui::Label::new(RichText::new(&step.text).monospace()).selectable(true));
                        });
                });
            }
        }
    }
}

/// One check: status, id, title, summary, detail, remediation (monospace, copyable), references, evidence.
pub fn check_card(ui: &mut egui::Ui, c: &CheckResult, out: &mut Vec<Command>) {
    egui::Frame::group(ui.style()).show(ui, |ui| {
        ui.set_width(ui.available_width());
        ui.horizontal_wrapped(|ui| {
            ui.label(theme::status_text(ui, c.status).strong());
            ui.label(RichText::new(&c.id).monospace().strong());
        });
        ui.label(RichText::new(&c.title).weak());
        ui.label(format!("{}: {}", c.target, c.summary));
        // A queue's LastError from an imported configuration is one click from its explanation.
        if c.id == mailpath_core::checks::audit::QUEUE_ERROR.id && c.status >= Status::Warn {
            let explain = ui.small_button("Explain").on_hover_text(
                "What this queue error means, the hop it belongs to and its causes (Explain view)",
            );
            explain.widget_info(|| {
                egui::WidgetInfo::labeled(
                    egui::Role::Button,
                    true,
                    format!("Explain the queue error of {}", c.target),
                )
            });
            if explain.clicked() {
                out.push(Command::ExplainText(
                    c.summary.clone(),
                    format!("the queue {}", c.target),
                ));
            }
        }
        let open = c.status >= Status::Warn;
        egui::CollapsingHeader::new("Details")
            .id_salt(("check-details", &c.id, &c.target))
            .default_open(open)
            .show(ui, |ui| {
                if !c.detail.is_empty() {
                    ui.label(&c.detail);
                }
                if !c.remediation.is_empty() {
                    ui.add_space(4.0);
                    ui.horizontal(|ui| {
                        ui.strong("Remediation");
                        let copy = ui.small_button("📋 Copy all");
                        copy.widget_info(|| {
                            egui::WidgetInfo::labeled(
                                egui::Role::Button,
                                true,
                                format!("Copy the remediation of {}", c.id),
                            )
                        });
                        if copy
                            .on_hover_text("Copy every step to the clipboard (prose as # comments)")
                            .clicked()
                        {
                            out.push(Command::Copy(c.remediation.to_text()));
                        }
                    });
                    remediation_steps(ui, &c.id, &c.remediation, out);
                }
                if !c.references.is_empty() {
                    ui.add_space(4.0);
                    ui.strong("References");
                    for r in &c.references {
                        ui.hyperlink(r);
                    }
                }
                if !c.evidence.is_empty() {
                    ui.add_space(4.0);
                    ui.horizontal_wrapped(|ui| {
                        ui.strong("Evidence");
                        for e in &c.evidence {
                            if ui.link(e).on_hover_text("Show in the Evidence view").clicked() {
                                out.push(Command::ShowEvidence(e.clone()));
                            }
                        }
                    });
                }
            });
    });
}

/// An SMTP transcript (of a probe, or of a relay session), the TLS boundary marked with `tls_words`.
pub fn transcript_lines_ui(ui: &mut egui::Ui, transcript: &[TranscriptLine], tls_words: &str) {
    if transcript.is_empty() {
        ui.label(RichText::new("Empty transcript.").weak());
        return;
    }
    egui::ScrollArea::both()
        .auto_shrink([false, false])
        .show(ui, |ui| transcript_rows(ui, transcript, tls_words));
}

/// The lines of a transcript, without a scroll area of their own.
pub fn transcript_rows(ui: &mut egui::Ui, transcript: &[TranscriptLine], tls_words: &str) {
    let mut in_tls = false;
    for line in transcript {
        if line.tls && !in_tls {
            in_tls = true;
            ui.add_space(2.0);
            ui.label(
                RichText::new(format!("———— 🔒 TLS from here on: {tls_words} ————"))
                    .monospace()
                    .color(theme::tls_color(ui)),
            );
            ui.add_space(2.0);
        }
        let (prefix, colour) = match (line.dir, line.tls) {
            (Direction::Client, false) => (" -> ", theme::client_color(ui)),
            (Direction::Client, true) => (" ~> ", theme::client_color(ui)),
            (Direction::Server, false) => ("<-  ", theme::server_color(ui)),
            (Direction::Server, true) => ("<~  ", theme::server_color(ui)),
            (Direction::Info, _) => ("==  ", theme::note_color(ui)),
            (Direction::Error, _) => ("**  ", theme::error_color(ui)),
        };
        let text = format!("{:>7.3}s {prefix}{}", line.ms as f64 / 1000.0, line.text);
        ui.add(egui::Label::new(RichText::new(text).monospace().color(colour)).extend());
    }
}

/// The fields of one certificate as a grid.
pub fn cert_ui(ui: &mut egui::Ui, c: &CertInfo, now: OffsetDateTime) {
    let fmt = |t: OffsetDateTime| {
        t.format(&time::macros::format_description!(
            "[year]-[month]-[day] [hour]:[minute]:[second] UTC"
        ))
        .unwrap_or_default()
    };
    egui::Grid::new(("cert-grid", &c.sha256))
        .num_columns(2)
        .spacing([12.0, 4.0])
        .striped(true)
        .show(ui, |ui| {
            let row = |ui: &mut egui::Ui, k: &str, v: RichText| {
                ui.label(RichText::new(k).weak());
                ui.add(egui::Label::new(v).wrap());
                ui.end_row();
            };
            row(ui, "Subject", RichText::new(&c.subject));
            row(ui, "Issuer", RichText::new(&c.issuer));
            let names = c.alt_names();
            let sans = if names.is_empty() {
                "none".to_string()
            } else {
                names.join(", ")
            };
            row(ui, "Names (SAN)", RichText::new(sans).monospace());
            let validity = c.validity(now);
            let status = if validity.is_invalid() {
                Status::Fail
            } else if validity.expires_within(30) {
                Status::Warn
            } else {
                Status::Pass
            };
            row(ui, "Valid from", RichText::new(fmt(c.not_before)));
            row(ui, "Valid until", RichText::new(fmt(c.not_after)));
            row(
                ui,
                "Validity",
                RichText::new(validity.to_string())
                    .color(theme::status_color(ui, status))
                    .strong(),
            );
            row(ui, "Key", RichText::new(c.key.to_string()));
            row(ui, "Signature", RichText::new(&c.signature_algorithm));
            let mut kind = if c.is_ca {
                "CA".to_string()
            } else {
                "end entity".to_string()
            };
            if c.self_issued {
                kind.push_str(", self-issued");
            }
            row(ui, "Kind", RichText::new(kind));
            if !c.eku.is_empty() {
                row(ui, "Extended key usage", RichText::new(c.eku.join(", ")));
            }
            row(ui, "Serial", RichText::new(&c.serial).monospace());
            row(ui, "SHA-256", RichText::new(c.sha256_colons()).monospace());
            row(
                ui,
                "SHA-1 (thumbprint)",
                RichText::new(&c.sha1_thumbprint).monospace(),
            );
        });
}

/// `internal`, `anonymous`, `partner`, `unknown` with its colour: [`Verdict::status`] (anonymous internet
/// mail is information, not a fault), unknown in warning colour.
pub fn verdict_status(v: &Verdict) -> Status {
    match v.classification {
        Classification::Unknown => Status::Warn,
        _ => v.status(),
    }
}

/// The verdict, prominent: INTERNAL or ANONYMOUS in its colour, the deciding header and the reasons.
pub fn verdict_ui(ui: &mut egui::Ui, v: &Verdict) {
    let status = verdict_status(v);
    egui::Frame::group(ui.style())
        .stroke(egui::Stroke::new(1.5, theme::status_color(ui, status)))
        .show(ui, |ui| {
            ui.set_width(ui.available_width());
            ui.horizontal_wrapped(|ui| {
                let label = ui.label(
                    RichText::new(format!(
                        "{} {}",
                        theme::status_icon(status),
                        v.classification.as_str().to_uppercase()
                    ))
                    .size(20.0)
                    .strong()
                    .color(theme::status_color(ui, status)),
                );
                let words = format!("Verdict: {}", v.classification.as_str());
                label.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Label, true, &words));
            });
            let mut how = Vec::new();
            if let Some(basis) = &v.basis {
                how.push(format!("decided by {basis}"));
            }
            if v.hybrid {
                how.push("crossed between on-premises and Exchange Online".to_string());
            }
            if !how.is_empty() {
                ui.label(RichText::new(how.join(" · ")).weak());
            }
            for reason in &v.reasons {
                ui.label(format!("• {reason}"));
            }
        });
}
