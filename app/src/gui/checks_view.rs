//! The Checks view: every check in a sortable, filterable table (virtualised: only visible rows are laid out).

use std::cmp::Ordering;

use eframe::egui::{self, RichText};
use egui_extras::{Column, TableBuilder};
use mailpath_core::check::{CheckResult, Status};

use super::state::{AppState, ChecksFilter, Command, Selection, SortBy};
use super::theme;
use super::widgets::empty_state;

const ROW_HEIGHT: f32 = 22.0;
const STATUSES: [Status; 5] = [
    Status::Fail,
    Status::Warn,
    Status::Skip,
    Status::Info,
    Status::Pass,
];

/// The family of a check id: its first dotted segment (`tls` for `tls.cert.expiry`).
pub fn family(id: &str) -> &str {
    id.split('.').next().unwrap_or(id)
}

/// Indices of the checks the filter lets through, sorted.
pub fn filtered(checks: &[CheckResult], filter: &ChecksFilter) -> Vec<usize> {
    let needle = filter.search.trim().to_lowercase();
    let mut rows: Vec<usize> = checks
        .iter()
        .enumerate()
        .filter(|(_, c)| filter.statuses.contains(&c.status))
        .filter(|(_, c)| filter.family.as_deref().is_none_or(|f| family(&c.id) == f))
        .filter(|(_, c)| {
            needle.is_empty()
                || [&c.id, &c.target, &c.summary, &c.title]
                    .iter()
                    .any(|s| s.to_lowercase().contains(&needle))
        })
        .map(|(i, _)| i)
        .collect();
    let key = |a: &CheckResult, b: &CheckResult| -> Ordering {
        match filter.sort {
            SortBy::Status => a.status.cmp(&b.status).then_with(|| b.id.cmp(&a.id)),
            SortBy::Id => a.id.cmp(&b.id).then_with(|| a.target.cmp(&b.target)),
            SortBy::Target => a.target.cmp(&b.target).then_with(|| a.id.cmp(&b.id)),
            SortBy::Summary => a.summary.cmp(&b.summary),
        }
    };
    rows.sort_by(|&a, &b| {
        let o = key(&checks[a], &checks[b]);
        if filter.descending { o.reverse() } else { o }
    });
    rows
}

/// Draw the Checks view.
pub fn show(ui: &mut egui::Ui, state: &mut AppState, out: &mut Vec<Command>) {
    let Some(d) = state.diagnosis.clone() else {
        empty_state(
            ui,
            "No checks yet",
            "Run a diagnosis (Ctrl+R) to fill this table; open a profile or pick a lab scenario first.",
        );
        return;
    };
    let filter = &mut state.checks;
    ui.horizontal_wrapped(|ui| {
        for s in STATUSES {
            let n = d.checks.iter().filter(|c| c.status == s).count();
            let on = filter.statuses.contains(&s);
            let text = RichText::new(format!("{} {} ({n})", theme::status_icon(s), s.as_str()))
                .color(theme::status_color(ui, s));
            let toggle = ui.selectable_label(on, text);
            let label = format!("Show {} checks", s.as_str());
            toggle.widget_info(|| egui::WidgetInfo::selected(egui::Role::CheckBox, true, on, &label));
            if toggle.clicked() {
                if on {
                    filter.statuses.remove(&s);
                } else {
                    filter.statuses.insert(s);
                }
            }
        }
        ui.separator();
        let mut families: Vec<&str> = d.checks.iter().map(|c| family(&c.id)).collect();
        families.sort_unstable();
        families.dedup();
        let shown = filter.family.clone().unwrap_or_else(|| "all families".into());
        egui::ComboBox::from_id_salt("family")
            .selected_text(shown)
            .show_ui(ui, |ui| {
                ui.selectable_value(&mut filter.family, None, "all families");
                for f in families {
                    ui.selectable_value(&mut filter.family, Some(f.to_string()), f);
                }
            })
            .response
            .widget_info(|| egui::WidgetInfo::labeled(egui::Role::ComboBox, true, "Check family"));
        ui.separator();
        let label = ui.label("Search checks");
        ui.add(
            egui::TextEdit::singleline(&mut filter.search)
                .hint_text("id, target, summary")
                .desired_width(220.0),
        )
        .labelled_by(label.id);
    });
    let rows = filtered(&d.checks, filter);
    ui.label(
        RichText::new(format!(
            "{} of {} checks · click a row for its detail",
            rows.len(),
            d.checks.len()
        ))
        .weak(),
    );
    ui.add_space(4.0);
    if rows.is_empty() {
        ui.label(RichText::new("No check matches the filters.").weak());
        return;
    }
    let selected = match &state.selection {
        Some(Selection::Check(i)) => Some(*i),
        _ => None,
    };
    let text_height = ROW_HEIGHT;
    TableBuilder::new(ui)
        .id_salt("checks-table")
        .striped(true)
        .resizable(true)
        .sense(egui::Sense::click())
        .cell_layout(egui::Layout::left_to_right(egui::Align::Center))
        .column(Column::exact(72.0))
        .column(Column::initial(240.0).at_least(120.0).clip(true))
        .column(Column::initial(220.0).at_least(100.0).clip(true))
        .column(Column::remainder().at_least(200.0).clip(true))
        .header(24.0, |mut header| {
            for (col, title) in [
                (SortBy::Status, "Status"),
                (SortBy::Id, "Id"),
                (SortBy::Target, "Target"),
                (SortBy::Summary, "Summary"),
            ] {
                header.col(|ui| {
                    let arrow = if filter.sort == col {
                        if filter.descending { " ⏷" } else { " ⏶" }
                    } else {
                        ""
                    };
                    let button = ui.add(
                        egui::Button::new(RichText::new(format!("{title}{arrow}")).strong()).frame(false),
                    );
                    let label = format!("Sort by {}", title.to_lowercase());
                    button.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Button, true, &label));
                    if button.clicked() {
                        if filter.sort == col {
                            filter.descending = !filter.descending;
                        } else {
                            filter.sort = col;
                            filter.descending = col == SortBy::Status;
                        }
                    }
                });
            }
        })
        .body(|body| {
            body.rows(text_height, rows.len(), |mut row| {
                let Some(&index) = rows.get(row.index()) else {
                    return;
                };
                let Some(c) = d.checks.get(index) else { return };
                row.set_selected(selected == Some(index));
                row.col(|ui| {
                    ui.label(theme::status_text(ui, c.status));
                });
                row.col(|ui| {
                    ui.add(egui::Label::new(RichText::new(&c.id).monospace()).truncate());
                });
                row.col(|ui| {
                    ui.add(egui::Label::new(&c.target).truncate());
                });
                row.col(|ui| {
                    ui.add(egui::Label::new(&c.summary).truncate());
                });
                if row.response().clicked() {
                    out.push(Command::Select(Some(Selection::Check(index))));
                }
            });
        });
}
