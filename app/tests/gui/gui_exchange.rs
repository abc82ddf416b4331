//! An Exchange configuration export in the GUI: dropped on the window (or opened), it becomes the
//! profile, and the detail panel of a hop shows the settings read with the cmdlet each came from.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use egui_kittest::kittest::Queryable as _;
use mailpath_app::gui::app::GuiOptions;
use mailpath_app::gui::state::{Command, Selection};

use crate::common;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures/exchange")
        .join(name)
}

/// A file dropped on the window, as the windowing integration hands it to egui.
#[derive(Debug)]
struct Dropped(PathBuf);

impl egui::DroppedFile for Dropped {
    fn path(&self) -> &Path {
        &self.0
    }

    fn bytes(&self) -> Result<Vec<u8>, String> {
        std::fs::read(&self.0).map_err(|e| e.to_string())
    }
}

#[test]
fn a_dropped_export_opens_as_its_profile_and_shows_where_settings_came_from() {
    let rt = common::runtime();
    let mut h = common::harness(rt.handle().clone(), GuiOptions::default());
    // Both halves merged into one file, as the script's -Append writes them.
    let dir = tempfile::tempdir().unwrap();
    let merged = dir.path().join("contoso.json");
    let text = |name: &str| -> serde_json::Value {
        let t = std::fs::read_to_string(fixture(name)).unwrap();
        serde_json::from_str(t.trim_start_matches('\u{feff}')).unwrap()
    };
    let mut doc = text("onprem-two-mailbox.json");
    let exo = text("exo.json");
    let sections = doc["sections"].as_array_mut().unwrap();
    sections.extend(exo["sections"].as_array().unwrap().iter().cloned());
    std::fs::write(&merged, doc.to_string()).unwrap();

    h.input_mut()
        .dropped_files
        .push(Arc::new(Dropped(merged.clone())));
    common::wait_until(&mut h, Duration::from_secs(20), "the export to load", |app| {
        app.state.profile.is_some()
    });
    let state = &h.state().state;
    assert!(state.export.is_some(), "{:?}", state.notices);
    let profile = state.profile.as_ref().unwrap();
    assert_eq!(profile.tenant.name, "contoso");
    assert_eq!(profile.mailboxes.len(), 2);
    // The editor shows the profile built from the export, with each value's origin.
    assert!(
        state.editor.text.contains("# observed: Get-SendConnector"),
        "{}",
        state.editor.text
    );
    // Saving the profile built from the export asks where: never over the export.
    assert_eq!(state.editor.path, None);

    h.state_mut()
        .send(Command::Select(Some(Selection::Hop("in.eop-mailbox".into()))));
    h.run_steps(4);
    h.get_by_label_contains("Settings read from Exchange");
    h.get_by_label_contains(
        "observed: Get-ReceiveConnector \"EX01\\Default Frontend EX01\" .TlsCertificateName",
    );
    h.get_by_label_contains(
        "observed: Get-OutboundConnector \"Outbound to 2f0c7e0a-54f2-4b0e-9d3b-61a7c2e8d9f1\" .SmartHosts",
    );
    // The node of the Mailbox servers lists the per-server cmdlets read on them.
    h.state_mut()
        .send(Command::Select(Some(Selection::Node("mailbox".into()))));
    h.run_steps(4);
    h.get_by_label_contains("Read from Exchange (6 cmdlets)");
}

#[test]
fn a_configuration_only_scenario_picked_in_the_top_bar_is_found_by_the_audit() {
    let rt = common::runtime();
    let mut h = common::harness(rt.handle().clone(), GuiOptions::default());
    h.get_by_label("Lab scenario").click();
    h.run_steps(2);
    h.get_by_label("attr36").click_accesskit();
    h.run_steps(2);
    common::wait_until(&mut h, Duration::from_secs(30), "the lab to start", |app| {
        app.state.profile.is_some() && !app.state.busy()
    });
    assert!(
        h.state().state.export.is_some(),
        "the scenario's export goes with its lab"
    );
    h.state_mut().send(Command::Run);
    common::wait_until(&mut h, Duration::from_secs(60), "the diagnosis", common::finished);
    let d = h.state().state.diagnosis.clone().unwrap();
    let attr36 = d
        .checks
        .iter()
        .find(|c| c.id == "config.cert.accepted_domain")
        .expect("the audit ran");
    assert_eq!(attr36.status, mailpath_core::check::Status::Fail, "{attr36:#?}");
}
