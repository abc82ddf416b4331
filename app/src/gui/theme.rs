//! Colours, icons and the theme preference: the one place the GUI picks a colour.

use eframe::egui::{self, Color32, RichText};
use mailpath_core::check::Status;
use serde::{Deserialize, Serialize};

/// Light, dark, or whatever the system says.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum ThemeChoice {
    /// Follow the operating system.
    #[default]
    System,
    /// Always light.
    Light,
    /// Always dark.
    Dark,
}

impl ThemeChoice {
    /// Every choice, in menu order.
    pub const ALL: [ThemeChoice; 3] = [ThemeChoice::System, ThemeChoice::Light, ThemeChoice::Dark];

    /// The word shown in the menu.
    pub fn label(self) -> &'static str {
        match self {
            ThemeChoice::System => "System theme",
            ThemeChoice::Light => "Light theme",
            ThemeChoice::Dark => "Dark theme",
        }
    }

    /// egui's preference.
    pub fn preference(self) -> egui::ThemePreference {
        match self {
            ThemeChoice::System => egui::ThemePreference::System,
            ThemeChoice::Light => egui::ThemePreference::Light,
            ThemeChoice::Dark => egui::ThemePreference::Dark,
        }
    }
}

/// A status's icon: a glyph the default fonts carry.
pub fn status_icon(status: Status) -> &'static str {
    match status {
        Status::Pass => "✔",
        Status::Info => "ℹ",
        Status::Skip => "⏭",
        Status::Warn => "⚠",
        Status::Fail => "✖",
    }
}

/// A status's colour, readable on the theme's background.
pub fn status_color(ui: &egui::Ui, status: Status) -> Color32 {
    let dark = ui.visuals().dark_mode;
    match (status, dark) {
        (Status::Pass, true) => Color32::from_rgb(0x4c, 0xc3, 0x6a),
        (Status::Pass, false) => Color32::from_rgb(0x1a, 0x7f, 0x37),
        (Status::Info, true) => Color32::from_rgb(0x6c, 0xb6, 0xff),
        (Status::Info, false) => Color32::from_rgb(0x09, 0x69, 0xda),
        (Status::Skip, true) => Color32::from_rgb(0x9a, 0xa0, 0xa6),
        (Status::Skip, false) => Color32::from_rgb(0x65, 0x6d, 0x76),
        (Status::Warn, true) => Color32::from_rgb(0xe3, 0xb3, 0x41),
        (Status::Warn, false) => Color32::from_rgb(0x9a, 0x67, 0x00),
        (Status::Fail, true) => Color32::from_rgb(0xff, 0x6b, 0x6b),
        (Status::Fail, false) => Color32::from_rgb(0xcf, 0x22, 0x2e),
    }
}

/// The colour of things not judged yet (before a run).
pub fn pending_color(ui: &egui::Ui) -> Color32 {
    ui.visuals().weak_text_color()
}

/// Icon and word of a status, coloured.
pub fn status_text(ui: &egui::Ui, status: Status) -> RichText {
    RichText::new(format!("{} {}", status_icon(status), status.as_str())).color(status_color(ui, status))
}

/// Colours of transcript lines.
pub fn client_color(ui: &egui::Ui) -> Color32 {
    if ui.visuals().dark_mode {
        Color32::from_rgb(0x79, 0xc0, 0xff)
    } else {
        Color32::from_rgb(0x05, 0x50, 0xae)
    }
}

/// The server's lines.
pub fn server_color(ui: &egui::Ui) -> Color32 {
    ui.visuals().text_color()
}

/// mailpath's own notes.
pub fn note_color(ui: &egui::Ui) -> Color32 {
    ui.visuals().weak_text_color()
}

/// The TLS boundary and lines inside TLS.
pub fn tls_color(ui: &egui::Ui) -> Color32 {
    if ui.visuals().dark_mode {
        Color32::from_rgb(0xd2, 0xa8, 0xff)
    } else {
        Color32::from_rgb(0x82, 0x50, 0xdf)
    }
}

/// Error notices.
pub fn error_color(ui: &egui::Ui) -> Color32 {
    status_color(ui, Status::Fail)
}
