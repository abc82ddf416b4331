//! The Profile view: the profile's TOML, editable, validated as you type with the loader's own messages
//! (line:column, key, what was expected), applied to the next run and saved.

use eframe::egui::{self, RichText};
use mailpath_core::profile::{NetworkLocation, Profile, ProfileError};

use super::state::{AppState, Command};
use super::theme;
use super::widgets::empty_state;

/// One line per problem: `line:col: key: message (expected ...)`.
pub fn problem_lines(error: &ProfileError) -> Vec<String> {
    let problems = error.problems();
    if problems.is_empty() {
        return vec![error.to_string()];
    }
    problems
        .iter()
        .map(|p| match (p.line(), p.column()) {
            (Some(l), Some(c)) => format!("{l}:{c}: {p}"),
            _ => p.to_string(),
        })
        .collect()
}

/// Validate `text` as a profile: the problems, empty when valid.
pub fn validate(text: &str, origin: &str) -> Vec<String> {
    match Profile::from_toml_str(text, origin, None) {
        Ok(_) => Vec::new(),
        Err(e) => problem_lines(&e),
    }
}

/// Draw the Profile view.
pub fn show(ui: &mut egui::Ui, state: &mut AppState, out: &mut Vec<Command>) {
    if state.profile.is_none() && state.editor.text.is_empty() {
        empty_state(
            ui,
            "No profile yet: open one or try the lab",
            "Open a profile (Ctrl+O) or pick a lab scenario; its TOML shows here, ready to edit.",
        );
        return;
    }
    let editor = &mut state.editor;
    ui.horizontal_wrapped(|ui| {
        let path = editor
            .path
            .as_ref()
            .map_or_else(|| "(not saved)".to_string(), |p| p.display().to_string());
        ui.label(RichText::new(path).monospace());
        if editor.dirty {
            ui.label(RichText::new("edited").italics());
        }
        ui.separator();
        let valid = editor.problems.is_empty();
        if ui
            .add_enabled(editor.dirty && valid, egui::Button::new("✔ Use for the next run"))
            .on_hover_text("Make the edited profile the current one")
            .clicked()
        {
            out.push(Command::ApplyProfileText);
        }
        if ui
            .add_enabled(editor.path.is_some(), egui::Button::new("💾 Save"))
            .clicked()
        {
            out.push(Command::SaveProfile);
        }
        if ui.button("Save as…").clicked() {
            out.push(Command::SaveProfileAs);
        }
    });
    ui.add_space(4.0);
    let current = if editor.dirty {
        mailpath_core::profile::location_in(&editor.text)
    } else {
        state
            .profile
            .as_ref()
            .map(|p| p.workstation.location)
            .or_else(|| mailpath_core::profile::location_in(&editor.text))
    };
    if let Some(chosen) = location_control(ui, current) {
        match mailpath_core::profile::set_location(&editor.text, chosen) {
            Ok(text) => {
                editor.text = text;
                editor.dirty = true;
                editor.problems = validate(&editor.text, &origin_of(editor));
                editor.validated = true;
                if editor.problems.is_empty() {
                    out.push(Command::ApplyProfileText);
                }
            }
            Err(e) => editor.problems = vec![format!("workstation location: {e}")],
        }
    }
    ui.add_space(4.0);
    if editor.problems.is_empty() {
        ui.label(
            RichText::new("✔ valid profile")
                .color(theme::status_color(ui, mailpath_core::check::Status::Pass)),
        );
    } else {
        ui.label(
            RichText::new(format!("✖ {} problem(s):", editor.problems.len()))
                .color(theme::error_color(ui))
                .strong(),
        );
        egui::ScrollArea::vertical()
            .id_salt("problems")
            .max_height(120.0)
            .show(ui, |ui| {
                for p in &editor.problems {
                    ui.label(RichText::new(p).monospace().color(theme::error_color(ui)));
                }
            });
    }
    if let Some(profile) = &state.profile {
        profile_facts(ui, profile);
    }
    ui.separator();
    let label = ui.label(RichText::new("Profile TOML").weak());
    egui::ScrollArea::both()
        .id_salt("profile-text")
        .auto_shrink([false, false])
        .show(ui, |ui| {
            let edit = egui::TextEdit::multiline(&mut editor.text)
                .code_editor()
                .desired_width(f32::INFINITY)
                .desired_rows(30);
            let response = ui.add(edit).labelled_by(label.id);
            if response.changed() {
                editor.dirty = true;
                editor.problems = validate(&editor.text, &origin_of(editor));
                editor.validated = true;
            }
        });
}

/// What the checks take from the profile besides its text: the Microsoft cloud that names EOP, the routing
/// domain and SPF, and the connector settings it leaves out, which mailpath assumes (HCW defaults, shown as
/// information by the checks, never passed on).
fn profile_facts(ui: &mut egui::Ui, profile: &mailpath_core::profile::Profile) {
    let info = theme::status_color(ui, mailpath_core::check::Status::Info);
    let cloud = profile.tenant.cloud_names();
    ui.label(format!(
        "Cloud: {} (cloud = \"{}\"): EOP {}, routing domain {}",
        cloud.label,
        cloud.key,
        profile.tenant.eop_endpoint(),
        profile.tenant.routing_domain()
    ));
    let assumed = profile.connectors.assumed();
    if !assumed.is_empty() {
        ui.label(
            RichText::new(format!(
                "ℹ assumed the HCW default; not read from Exchange: {}",
                assumed.join(", ")
            ))
            .color(info),
        )
        .on_hover_text(
            "The profile does not state these connector settings. The checks show the value the Hybrid \
             Configuration Wizard sets as information and never pass on it; write what Get-SendConnector and \
             the like show to have them judged.",
        );
    }
}

/// The name problems are reported against: the profile's file name, or `profile`.
fn origin_of(editor: &super::state::Editor) -> String {
    editor
        .path
        .as_deref()
        .and_then(|p| p.file_name())
        .map_or_else(|| "profile".to_string(), |n| n.to_string_lossy().into_owned())
}

/// "This workstation is on: LAN | DMZ | internet" (`[workstation] location`): the location chosen this
/// frame, if any. `current` is `None` when the text does not say (it does not parse).
fn location_control(ui: &mut egui::Ui, current: Option<NetworkLocation>) -> Option<NetworkLocation> {
    let mut chosen = None;
    ui.horizontal_wrapped(|ui| {
        ui.label("This workstation is on:")
            .on_hover_text("[workstation] location: where mailpath runs from. A hop that cannot be reached from here (from the LAN, the Edge's ports 25 and 50636) is skipped with why, never failed.");
        for location in NetworkLocation::ALL {
            let text = match location {
                NetworkLocation::Lan => "LAN",
                NetworkLocation::Dmz => "DMZ",
                NetworkLocation::Internet => "internet",
            };
            let hover = match location {
                NetworkLocation::Lan => "The internal network, with the Mailbox servers: the Edge's internal ports are usually closed to it, DNS is the internal view",
                NetworkLocation::Dmz => "The perimeter network, with the Edge servers: the Mailbox servers are usually closed to it",
                NetworkLocation::Internet => "Outside the organisation: only the public endpoints answer, DNS is the public view",
            };
            let response = ui
                .selectable_label(current == Some(location), text)
                .on_hover_text(hover);
            if response.clicked() && current != Some(location) {
                chosen = Some(location);
            }
        }
    });
    chosen
}
