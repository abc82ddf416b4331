//! Snapshots of the GUI rendered with wgpu (lavapipe, Mesa's CPU Vulkan driver, in CI), written to
//! `screenshots/` for the README. The diagnoses are fixtures made from the lab at a fixed time
//! (`tests/fixtures/*.json`, `MAILPATH_UPDATE_FIXTURES=1` regenerates them) and the clock is mocked,
//! so that dates and days left are the same on every run. `UPDATE_SNAPSHOTS=1` rewrites changed PNGs.

mod common;

use egui_kittest::SnapshotResults;
use mailpath_app::gui::app::{Activity, Command, GuiOptions, RunProgress, Selection, View};
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

    // While a diagnosis runs: the endpoints that answered (EOP, the Mailbox) are judged, the Edge is
    // still being probed (as with the tarpit scenario).
    let mut h = shot("expired-cert", |h| {
        let state = &mut h.state_mut().state;
        let d = state.diagnosis.take().unwrap();
        let answered =
            |e: &String| e.starts_with("smtp:") && !e.contains("mail.contoso.com") && !e.contains("edge01");
        let live: Vec<_> = d
            .checks
            .iter()
            .filter(|c| c.evidence.iter().any(answered))
            .filter(|c| ["smtp.", "tls.", "tcp."].iter().any(|p| c.id.starts_with(p)))
            .cloned()
            .collect();
        assert!(!live.is_empty());
        let probed = d
            .evidence
            .smtp
            .iter()
            .map(|p| p.id.clone())
            .filter(answered)
            .collect();
        let mut path = mailpath_app::gui::path_view::preview(&d.profile);
        path.roll_up(&live);
        state.activity = Activity::Running(RunProgress {
            run: 1,
            phase: "probes".into(),
            done: 2,
            total: 5,
            last: Some("smtp:contoso-com.mail.protection.outlook.com:25".into()),
            probed,
            live,
            live_path: Some(path),
            cancelling: false,
            // In the future: `elapsed()` saturates at zero, so the top bar shows "0.0 s" however slow the
            // machine rendering the snapshot.
            started: std::time::Instant::now() + std::time::Duration::from_secs(3600),
        });
    });
    results.add(h.try_snapshot("path-live-expired-cert"));
}
