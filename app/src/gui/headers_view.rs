//! The Headers view: paste a message's headers (Outlook's "Internet headers") or open a file, and see the
//! path the message took (oldest hop first), the hybrid headers, the internal/anonymous verdict and the
//! `headers.*` checks. The analysis is pure and bounded ([`headers::MAX_HEADER_BYTES`]); files are read
//! on the worker.

use eframe::egui::{self, RichText};
use egui_extras::{Column, TableBuilder};
use mailpath_core::check::{CheckResult, Counts};
use mailpath_core::headers::{self, HeaderAnalysis, HopRole, TlsSeen};

use super::state::Command;
use super::state::headers::HeadersState;
use super::theme;
use super::widgets::{check_card, counts_words, verdict_ui};

/// Words for a hop's role.
pub fn role_words(role: HopRole) -> &'static str {
    match role {
        HopRole::OnPremises => "on-prem Exchange",
        HopRole::Eop => "EOP",
        HopRole::ExchangeOnline => "Exchange Online",
        HopRole::Other => "other",
    }
}

/// The view.
pub fn show(ui: &mut egui::Ui, state: &mut HeadersState, out: &mut Vec<Command>) {
    ui.horizontal_wrapped(|ui| {
        if ui
            .button("📂 Open file…")
            .on_hover_text("Open a message (.eml) or a text file with its headers")
            .clicked()
        {
            out.push(Command::HeadersOpenDialog);
        }
        let l = ui.label("Path");
        let edit = ui
            .add(
                egui::TextEdit::singleline(&mut state.path)
                    .hint_text("message.eml")
                    .desired_width(220.0),
            )
            .labelled_by(l.id);
        let enter = edit.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
        let typed = state.path.trim().to_string();
        let open = ui.add_enabled(!typed.is_empty(), egui::Button::new("Open"));
        open.widget_info(|| {
            egui::WidgetInfo::labeled(egui::Role::Button, !typed.is_empty(), "Open the typed path")
        });
        if (open.clicked() || enter) && !typed.is_empty() {
            out.push(Command::HeadersOpenFile(typed.into()));
        }
        ui.separator();
        let l = ui.label("Organization domains");
        ui.add(
            egui::TextEdit::singleline(&mut state.org_domains)
                .hint_text("contoso.com (optional)")
                .desired_width(180.0),
        )
        .labelled_by(l.id);
        ui.separator();
        let analyse = ui.add_enabled(!state.text.trim().is_empty(), egui::Button::new("🔍 Analyse"));
        analyse.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Button, true, "Analyse"));
        if analyse.clicked() {
            out.push(Command::AnalyseHeaders);
        }
        if let Some(source) = &state.source {
            ui.label(RichText::new(source).weak());
        }
    });
    ui.separator();
    egui::Panel::left("headers-input")
        .resizable(true)
        .default_size(430.0)
        .size_range(260.0..=800.0)
        .show(ui, |ui| {
            ui.label(RichText::new("Internet headers").strong());
            egui::ScrollArea::both()
                .id_salt("headers-text")
                .auto_shrink([false, false])
                .show(ui, |ui| {
                    let edit = egui::TextEdit::multiline(&mut state.text)
                        .code_editor()
                        .desired_width(f32::INFINITY)
                        .desired_rows(30)
                        .hint_text("Paste the Internet headers here (Received: …, X-MS-Exchange-…)");
                    let r = ui.add(edit);
                    r.widget_info(|| {
                        egui::WidgetInfo::labeled(egui::Role::MultilineTextInput, true, "Message headers")
                    });
                });
        });
    egui::ScrollArea::vertical()
        .id_salt("headers-result")
        .auto_shrink([false, false])
        .show(ui, |ui| {
            if let Some(e) = &state.error {
                ui.label(RichText::new(e).color(theme::error_color(ui)));
            }
            match &state.analysis {
                Some(a) => analysis_ui(ui, a, out),
                None if state.error.is_none() => {
                    ui.add_space(40.0);
                    ui.vertical_centered(|ui| {
                        ui.heading("Paste a message's headers and press Analyse");
                        ui.label(
                            RichText::new(
                                "The path it took (oldest hop first), how Exchange treated it (internal or \
                                 anonymous) and why.",
                            )
                            .weak(),
                        );
                    });
                }
                None => {}
            }
        });
}

fn analysis_ui(ui: &mut egui::Ui, a: &HeaderAnalysis, out: &mut Vec<Command>) {
    let s = &a.summary;
    verdict_ui(ui, &a.verdict);
    ui.add_space(6.0);
    egui::Grid::new("headers-summary")
        .num_columns(2)
        .spacing([12.0, 2.0])
        .show(ui, |ui| {
            for (k, v) in [
                ("Subject", &s.subject),
                ("From", &s.from),
                ("To", &s.to),
                ("Date", &s.date),
                ("Message-ID", &s.message_id),
                ("Tracking id", &s.tracking_id),
            ] {
                if let Some(v) = v {
                    ui.label(RichText::new(k).weak());
                    ui.add(egui::Label::new(v).truncate());
                    ui.end_row();
                }
            }
        });
    ui.add_space(8.0);
    let total = a
        .total_delay_secs
        .map(|t| format!(", {t} s in all"))
        .unwrap_or_default();
    ui.label(RichText::new(format!("Path, oldest hop first ({} hops{total})", a.hops.len())).strong());
    hops_table(ui, a);
    if a.hops_dropped > 0 {
        ui.label(RichText::new(format!("({} more Received fields not analysed)", a.hops_dropped)).weak());
    }
    ui.add_space(8.0);
    ui.label(RichText::new(format!("Checks ({})", counts_words(&Counts::of(&a.checks)))).strong());
    let mut sorted: Vec<&CheckResult> = a.checks.iter().collect();
    sorted.sort_by(|x, y| y.status.cmp(&x.status).then_with(|| x.id.cmp(&y.id)));
    for c in sorted {
        check_card(ui, c, out);
        ui.add_space(4.0);
    }
    ui.add_space(8.0);
    ui.label(RichText::new("Hybrid headers").strong());
    hybrid_headers(ui, a);
}

fn hops_table(ui: &mut egui::Ui, a: &HeaderAnalysis) {
    if a.hops.is_empty() {
        ui.label(RichText::new("No Received fields.").weak());
        return;
    }
    let w = ui.available_width();
    let col = |f: f32| Column::exact((w * f).max(36.0)).clip(true);
    ui.push_id("headers-hops", |ui| {
        TableBuilder::new(ui)
            .id_salt("headers-hops-table")
            .striped(true)
            .vscroll(false)
            .cell_layout(egui::Layout::left_to_right(egui::Align::Center))
            .column(Column::exact(20.0))
            .column(col(0.23))
            .column(col(0.23))
            .column(col(0.13))
            .column(col(0.17))
            .column(col(0.06))
            .column(Column::remainder().at_least(40.0).clip(true))
            .header(20.0, |mut header| {
                for title in ["#", "From", "By", "Role", "Time", "Delay", "TLS"] {
                    header.col(|ui| {
                        ui.strong(title);
                    });
                }
            })
            .body(|mut body| {
                for h in &a.hops {
                    body.row(20.0, |mut row| {
                        row.col(|ui| {
                            ui.label(h.index.to_string());
                        });
                        row.col(|ui| {
                            let from = h.from.as_deref().unwrap_or("?");
                            ui.add(egui::Label::new(from).truncate()).on_hover_text(&h.raw);
                        });
                        row.col(|ui| {
                            ui.add(egui::Label::new(h.by.as_deref().unwrap_or("?")).truncate())
                                .on_hover_text(&h.raw);
                        });
                        row.col(|ui| {
                            ui.label(role_words(h.role));
                        });
                        row.col(|ui| {
                            ui.add(egui::Label::new(h.date.as_deref().unwrap_or("?")).truncate());
                        });
                        row.col(|ui| {
                            let slow = h.delay_secs.is_some_and(|d| d > headers::SLOW_HOP_SECS);
                            let text = h.delay_secs.map_or_else(|| "?".into(), |d| format!("{d} s"));
                            if slow {
                                ui.label(
                                    RichText::new(text)
                                        .color(theme::status_color(ui, mailpath_core::check::Status::Warn)),
                                );
                            } else {
                                ui.label(text);
                            }
                        });
                        row.col(|ui| {
                            let (text, status) = match h.tls {
                                TlsSeen::Yes => (
                                    format!("🔒 {}", h.tls_version.clone().unwrap_or_else(|| "TLS".into())),
                                    mailpath_core::check::Status::Pass,
                                ),
                                TlsSeen::No => ("no TLS".into(), mailpath_core::check::Status::Fail),
                                TlsSeen::Unknown => ("—".into(), mailpath_core::check::Status::Info),
                            };
                            let mut label =
                                ui.label(RichText::new(text).color(theme::status_color(ui, status)));
                            if let Some(c) = &h.tls_cipher {
                                label = label.on_hover_text(c);
                            }
                            let _ = label;
                        });
                    });
                }
            });
    });
}

fn hybrid_headers(ui: &mut egui::Ui, a: &HeaderAnalysis) {
    let x = &a.exchange;
    let mut rows: Vec<(String, String)> = Vec::new();
    let mut one = |name: &str, v: &Option<String>| {
        if let Some(v) = v {
            rows.push((name.to_string(), v.clone()));
        }
    };
    one("X-MS-Exchange-Organization-AuthAs", &x.auth_as);
    one("X-MS-Exchange-Organization-AuthSource", &x.auth_source);
    one("X-MS-Exchange-Organization-AuthMechanism", &x.auth_mechanism);
    one("X-MS-Exchange-Organization-SCL", &x.scl);
    one(
        "X-MS-Exchange-Organization-MessageDirectionality",
        &x.directionality,
    );
    one(
        "X-CrossPremisesHeadersFilteredBySendConnector",
        &x.filtered_by_send_connector,
    );
    one("Cross-premises headers promoted", &x.promoted);
    one("X-EOPTenantAttributedMessage", &x.tenant_attributed);
    one("X-OriginatorOrg", &x.originator_org);
    rows.extend(x.cross_premises.iter().cloned());
    rows.extend(x.cross_tenant.iter().cloned());
    if let Some(r) = &x.antispam {
        let fields: Vec<String> = r
            .fields
            .iter()
            .filter(|(k, _)| matches!(k.as_str(), "SCL" | "SFV" | "CAT" | "DIR" | "IPV" | "CIP"))
            .map(|(k, v)| format!("{k}:{v}"))
            .collect();
        rows.push(("X-Forefront-Antispam-Report".into(), fields.join("; ")));
    }
    if let Some(r) = &x.antispam_untrusted {
        let fields: Vec<String> = r.fields.iter().map(|(k, v)| format!("{k}:{v}")).collect();
        rows.push(("X-Forefront-Antispam-Report-Untrusted".into(), fields.join("; ")));
    }
    if rows.is_empty() {
        ui.label(RichText::new("None: no Exchange organization or cross-premises headers.").weak());
        return;
    }
    egui::Grid::new("headers-hybrid")
        .num_columns(2)
        .spacing([12.0, 2.0])
        .striped(true)
        .show(ui, |ui| {
            for (k, v) in rows {
                ui.label(RichText::new(k).monospace().weak());
                ui.add(egui::Label::new(RichText::new(v).monospace()).truncate());
                ui.end_row();
            }
        });
}
