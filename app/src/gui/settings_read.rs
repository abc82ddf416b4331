//! The settings read from Exchange for the selected node or hop: each profile value an imported
//! export gave, with the cmdlet and property it came from (or "set by hand", "assumed").

use eframe::egui::{self, RichText};
use mailpath_core::exchange::import::{Origin, Setting};
use mailpath_core::exchange::{SectionInfo, same_server};
use mailpath_core::topology::Topology;

use super::state::{AppState, Selection};

/// Which profile keys belong to a node or hop of the path.
pub fn settings_for<'a>(state: &'a AppState, selection: &Selection) -> Vec<&'a Setting> {
    let Some(profile) = &state.profile else {
        return Vec::new();
    };
    let topology = Topology::of(profile);
    let edge = topology.uses_edge();
    let prefixes: Vec<&str> = match selection {
        Selection::Node(id) => match id.as_str() {
            "mailbox" if edge => vec!["mailbox["],
            "mailbox" => vec!["mailbox[", "connectors.send.", "connectors.receive."],
            "edge" => vec!["edge[", "connectors.send.", "connectors.receive."],
            "eop" => vec!["tenant.", "connectors.exo_inbound."],
            "exo" => vec!["tenant.", "connectors.exo_outbound.", "connectors.exo_inbound."],
            _ => Vec::new(),
        },
        Selection::Hop(id) if id == topology.hop_to_eop => {
            vec!["connectors.send.", "connectors.exo_inbound."]
        }
        Selection::Hop(id) if id == topology.hop_from_eop => {
            vec!["connectors.receive.", "connectors.exo_outbound."]
        }
        Selection::Hop(_) | Selection::Check(_) => Vec::new(),
    };
    state
        .settings_read
        .iter()
        .filter(|s| prefixes.iter().any(|p| s.key.starts_with(p)))
        .collect()
}

/// The export's sections behind a node or hop: the per-server cmdlets of its servers, the connector
/// cmdlets of a hop, Exchange Online's for EOP and Exchange Online.
pub fn sections_for<'a>(state: &'a AppState, selection: &Selection) -> Vec<&'a SectionInfo> {
    let (Some(profile), Some(export)) = (&state.profile, &state.export) else {
        return Vec::new();
    };
    let topology = Topology::of(profile);
    let servers: Vec<&str> = match selection {
        Selection::Node(id) if id == "mailbox" => profile.mailboxes.iter().map(|m| m.fqdn.as_str()).collect(),
        Selection::Node(id) if id == "edge" => profile.edges.iter().map(|e| e.fqdn.as_str()).collect(),
        _ => Vec::new(),
    };
    let names: &[&str] = match selection {
        Selection::Node(id) if id == "mailbox" || id == "edge" => {
            &["exchange_certificates", "receive_connectors", "queues"]
        }
        Selection::Node(id) if id == "eop" || id == "exo" => &[
            "exo_inbound_connectors",
            "exo_outbound_connectors",
            "exo_accepted_domains",
            "exo_organization_config",
        ],
        Selection::Hop(id) if id == topology.hop_to_eop => &["send_connectors", "exo_inbound_connectors"],
        Selection::Hop(id) if id == topology.hop_from_eop => {
            &["receive_connectors", "exo_outbound_connectors"]
        }
        Selection::Hop(id) if id == mailpath_core::topology::hop::MAILBOX_EDGE => {
            &["edge_subscriptions", "edge_synchronization"]
        }
        _ => &[],
    };
    export
        .sections
        .iter()
        .filter(|s| names.contains(&s.from.section.as_str()))
        .filter(|s| {
            servers.is_empty()
                || s.from
                    .server
                    .as_deref()
                    .is_some_and(|h| servers.iter().any(|w| same_server(h, w)))
        })
        .collect()
}

/// The "Settings read from Exchange" section of the detail panel (nothing without an export).
pub fn settings_ui(ui: &mut egui::Ui, state: &AppState, selection: &Selection) {
    let sections = sections_for(state, selection);
    if !sections.is_empty() {
        egui::CollapsingHeader::new(format!("Read from Exchange ({} cmdlets)", sections.len()))
            .id_salt("sections-read")
            .default_open(false)
            .show(ui, |ui| {
                for s in sections {
                    let what = match &s.error {
                        Some(e) => format!("{}: failed: {e}", s.from.describe()),
                        None => format!("{}: {} item(s)", s.from.describe(), s.items),
                    };
                    ui.label(RichText::new(what).small());
                }
            });
    }
    let settings = settings_for(state, selection);
    if settings.is_empty() {
        return;
    }
    egui::CollapsingHeader::new(format!("Settings read from Exchange ({})", settings.len()))
        .id_salt("settings-read")
        .default_open(true)
        .show(ui, |ui| {
            egui::Grid::new("settings-read-grid")
                .num_columns(2)
                .striped(true)
                .show(ui, |ui| {
                    for s in settings {
                        ui.monospace(&s.key);
                        ui.vertical(|ui| {
                            if !s.value.is_empty() {
                                ui.label(&s.value);
                            }
                            let origin = RichText::new(s.origin.to_string()).small();
                            ui.label(match s.origin {
                                Origin::Observed { .. } => origin,
                                Origin::ByHand | Origin::Assumed(_) => origin.weak(),
                            });
                        });
                        ui.end_row();
                    }
                });
        });
}
