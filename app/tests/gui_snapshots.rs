//! Snapshots of the GUI rendered with wgpu (lavapipe, Mesa's CPU Vulkan driver, in CI), written to
//! `screenshots/` for the README. The diagnoses are fixtures made from the lab at a fixed time
//! (`tests/fixtures/*.json`, `MAILPATH_UPDATE_FIXTURES=1` regenerates them) and the clock is mocked,
//! so that dates and days left are the same on every run. `UPDATE_SNAPSHOTS=1` rewrites changed PNGs.

mod common;

use egui_kittest::SnapshotResults;
use mailpath_app::gui::app::{Command, GuiOptions, Selection, View};
use mailpath_app::gui::theme::ThemeChoice;

fn shot(
    scenario: &str,
    setup: impl FnOnce(&mut egui_kittest::Harness<'_, mailpath_app::gui::MailpathApp>),
) -> egui_kittest::Harness<'static, mailpath_app::gui::MailpathApp> {
    let rt = common::runtime();
    let mut h = common::harness(rt.handle().clone(), GuiOptions::default());
    common::show_fixture(&mut h, scenario);
    setup(&mut h);
    h.run_steps(4);
    h
}

#[test]
fn snapshots() {
    let mut results = SnapshotResults::new();

    let mut h = shot("healthy-edge", |_| {});
    results.add(h.try_snapshot("path-healthy-edge"));

    let mut h = shot("expired-cert", |_| {});
    results.add(h.try_snapshot("path-expired-cert"));

    let mut h = shot("healthy-direct", |_| {});
    results.add(h.try_snapshot("path-healthy-direct"));

    let mut h = shot("starttls-stripped", |h| {
        h.state_mut()
            .send(Command::Select(Some(Selection::Hop("in.eop-edge".into()))));
    });
    results.add(h.try_snapshot("hop-detail-starttls-stripped"));

    let mut h = shot("port-closed", |h| {
        h.state_mut().send(Command::SetView(View::Checks));
    });
    results.add(h.try_snapshot("checks-table-port-closed"));

    let mut h = shot("expired-cert", |h| {
        let app = h.state_mut();
        app.send(Command::ShowEvidence("smtp:mail.contoso.com:25".into()));
        app.state.evidence.certificates = true;
    });
    results.add(h.try_snapshot("certificate-viewer-expired-cert"));

    let mut h = shot("starttls-stripped", |h| {
        h.state_mut().send(Command::SetTheme(ThemeChoice::Light));
        h.state_mut()
            .send(Command::Select(Some(Selection::Hop("in.eop-edge".into()))));
    });
    results.add(h.try_snapshot("path-light-theme"));

    let mut h = shot("starttls-stripped", |h| {
        h.state_mut()
            .send(Command::ShowEvidence("smtp:mail.contoso.com:25".into()));
    });
    results.add(h.try_snapshot("transcript-starttls-stripped"));
}
