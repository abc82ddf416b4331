//! The window's chrome around the views: the top bar (profile, Run, progress, Export, theme), the notices
//! under it and the status bar. Like the views, functions over the state that send [`Command`]s.

use std::path::PathBuf;

use eframe::egui::{self, Key, RichText};
use mailpath_core::check::Status;
use mailpath_core::lab::SCENARIOS;

use super::state::{Activity, AppState, Command, SHORTCUT_OPEN, SHORTCUT_RUN, View};
use super::theme::{self, ThemeChoice};
use super::worker::Source;

pub fn top_bar(ui: &mut egui::Ui, state: &mut AppState, out: &mut Vec<Command>) {
    egui::Panel::top("top-bar").show(ui, |ui| {
        ui.add_space(4.0);
        ui.horizontal_wrapped(|ui| {
            ui.heading(RichText::new("mailpath").strong());
            ui.separator();
            let open = ui.button("📂 Open profile…").on_hover_text(format!(
                "Open a profile (TOML), an Exchange export (Export-MailpathConfig.ps1) or a saved diagnosis (JSON), or drop one on the window ({})",
                ui.ctx().format_shortcut(&SHORTCUT_OPEN)
            ));
            if open.clicked() {
                out.push(Command::OpenDialog);
            }
            ui.menu_button("Recent", |ui| {
                if state.settings.recent.is_empty() {
                    ui.label(RichText::new("No recent profiles").weak());
                }
                for path in &state.settings.recent {
                    if ui.button(path.display().to_string()).clicked() {
                        out.push(Command::OpenFile(path.clone()));
                        ui.close();
                    }
                }
                ui.separator();
                ui.horizontal(|ui| {
                    let label = ui.label("Path:");
                    let edit = ui
                        .add(
                            egui::TextEdit::singleline(&mut state.open_path)
                                .hint_text("profile.toml or diagnosis.json"),
                        )
                        .labelled_by(label.id);
                    let enter = edit.lost_focus() && ui.input(|i| i.key_pressed(Key::Enter));
                    let typed = state.open_path.trim();
                    if (ui
                        .add_enabled(!typed.is_empty(), egui::Button::new("Open"))
                        .clicked()
                        || enter)
                        && !typed.is_empty()
                    {
                        out.push(Command::OpenFile(PathBuf::from(typed)));
                        ui.close();
                    }
                });
            });
            let mut scenario = state.scenario.clone();
            let combo = egui::ComboBox::from_id_salt("lab-scenario")
                .selected_text(format!("Lab: {scenario}"))
                .width(190.0)
                .show_ui(ui, |ui| {
                    for s in SCENARIOS {
                        ui.selectable_value(&mut scenario, s.name.to_string(), s.name)
                            .on_hover_text(s.summary);
                    }
                    // The configuration-only scenarios: a healthy lab whose export the run audits.
                    for s in mailpath_core::lab::export::EXPORT_SCENARIOS {
                        if !SCENARIOS.iter().any(|p| p.name == s.name) {
                            ui.selectable_value(&mut scenario, s.name.to_string(), s.name)
                                .on_hover_text(s.summary);
                        }
                    }
                });
            let combo_label = "Lab scenario";
            combo
                .response
                .widget_info(|| egui::WidgetInfo::labeled(egui::Role::ComboBox, true, combo_label));
            if scenario != state.scenario {
                out.push(Command::OpenLab(scenario));
            }
            ui.separator();
            match &state.activity {
                Activity::Running(p) => {
                    if ui
                        .button("⏹ Cancel")
                        .on_hover_text("Stop the diagnosis (Esc)")
                        .clicked()
                    {
                        out.push(Command::Cancel);
                    }
                    ui.add(
                        egui::ProgressBar::new(p.fraction())
                            .desired_width(110.0)
                            .show_percentage(),
                    );
                    ui.label(RichText::new(format!("{:.1} s", p.started.elapsed().as_secs_f32())).weak());
                    // Bounded, so that a long probe id never runs under the buttons on the right.
                    let height = ui.spacing().interact_size.y;
                    ui.add_sized([230.0, height], egui::Label::new(p.step_text()).truncate());
                }
                Activity::Loading { what } => {
                    ui.add_enabled(false, egui::Button::new("▶ Run"));
                    ui.spinner();
                    let height = ui.spacing().interact_size.y;
                    ui.add_sized(
                        [300.0, height],
                        egui::Label::new(format!("opening {what}…")).truncate(),
                    );
                }
                Activity::Idle => {
                    let run = ui.add_enabled(state.profile.is_some(), egui::Button::new("▶ Run"));
                    let run = run.on_hover_text(format!(
                        "Diagnose every hop ({})",
                        ui.ctx().format_shortcut(&SHORTCUT_RUN)
                    ));
                    if run.clicked() {
                        out.push(Command::Run);
                    }
                    if let Some(d) = &state.diagnosis {
                        ui.label(
                            RichText::new(format!(
                                "{} checks in {:.1} s{}",
                                d.checks.len(),
                                d.duration_ms as f64 / 1000.0,
                                if d.cancelled { " (cancelled)" } else { "" }
                            ))
                            .weak(),
                        );
                    }
                }
            }
            ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                let mut choice = state.settings.theme;
                egui::ComboBox::from_id_salt("theme")
                    .selected_text(choice.label())
                    .show_ui(ui, |ui| {
                        for c in ThemeChoice::ALL {
                            ui.selectable_value(&mut choice, c, c.label());
                        }
                    })
                    .response
                    .widget_info(|| egui::WidgetInfo::labeled(egui::Role::ComboBox, true, "Theme"));
                if choice != state.settings.theme {
                    out.push(Command::SetTheme(choice));
                }
                let mut redact = state.settings.redact;
                ui.add_enabled(state.diagnosis.is_some(), egui::Checkbox::new(&mut redact, "Redact"))
                    .on_hover_text(
                        "Export with host names, domains, addresses and certificate subjects replaced by stable placeholders, to share the report",
                    );
                if redact != state.settings.redact {
                    out.push(Command::SetRedact(redact));
                }
                let export = ui
                    .add_enabled(state.diagnosis.is_some(), egui::Button::new("⬇ Export…"))
                    .on_hover_text(
                        "Save a report: HTML (self-contained, with the path diagram), Markdown (for tickets) or JSON (the whole diagnosis, which Open reads back), by the file's extension",
                    )
                    .on_disabled_hover_text("Run a diagnosis (or open a saved one) first.");
                if export.clicked() {
                    out.push(Command::Export);
                }
            });
        });
        ui.add_space(2.0);
        ui.horizontal(|ui| {
            for view in View::ALL {
                let selected = state.view == view;
                if ui.selectable_label(selected, view.title()).clicked() && !selected {
                    out.push(Command::SetView(view));
                }
            }
            if let Some(source) = &state.source {
                ui.separator();
                let name = state
                    .profile
                    .as_ref()
                    .map(|p| p.name.as_str())
                    .unwrap_or_default();
                let text = match source {
                    Source::File(path) => format!("{name} — {}", path.display()),
                    Source::Lab(_) => name.to_string(),
                };
                ui.label(RichText::new(text).weak());
            }
        });
        ui.add_space(2.0);
    });
}

pub fn notices(ui: &mut egui::Ui, state: &AppState, out: &mut Vec<Command>) {
    if state.notices.is_empty() {
        return;
    }
    egui::Panel::top("notices").show(ui, |ui| {
        for (i, notice) in state.notices.iter().enumerate().rev().take(4) {
            ui.horizontal(|ui| {
                let close = ui.small_button("×").on_hover_text("Dismiss");
                close.widget_info(|| {
                    egui::WidgetInfo::labeled(egui::Role::Button, true, format!("Dismiss notice {}", i + 1))
                });
                if close.clicked() {
                    out.push(Command::Dismiss(i));
                }
                let text = RichText::new(&notice.text);
                if notice.error {
                    ui.label(text.color(theme::error_color(ui)));
                } else {
                    ui.label(text);
                }
            });
        }
    });
}

pub fn status_bar(ui: &mut egui::Ui, state: &AppState) {
    egui::Panel::bottom("status-bar").show(ui, |ui| {
        ui.horizontal(|ui| match &state.diagnosis {
            Some(d) => {
                for status in [
                    Status::Fail,
                    Status::Warn,
                    Status::Skip,
                    Status::Info,
                    Status::Pass,
                ] {
                    let n = match status {
                        Status::Pass => d.counts.pass,
                        Status::Info => d.counts.info,
                        Status::Skip => d.counts.skip,
                        Status::Warn => d.counts.warn,
                        Status::Fail => d.counts.fail,
                    };
                    ui.label(
                        RichText::new(format!("{} {n} {}", theme::status_icon(status), status.as_str()))
                            .color(theme::status_color(ui, status)),
                    );
                }
                ui.separator();
                let started = d
                    .started_at
                    .format(&time::macros::format_description!(
                        "[year]-[month]-[day] [hour]:[minute]:[second] UTC"
                    ))
                    .unwrap_or_default();
                ui.label(RichText::new(format!("started {started}, mailpath {}", d.mailpath_version)).weak());
            }
            None => {
                ui.label(RichText::new("No diagnosis yet").weak());
            }
        });
    });
}
