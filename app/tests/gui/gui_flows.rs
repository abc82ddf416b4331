//! The GUI driven like a person would, through AccessKit (egui_kittest), against the real lab on a real
//! tokio runtime: pick a scenario, run, find the failing hop, its check and its remediation; switch
//! views; cancel a slow diagnosis.

use crate::common;

use std::time::{Duration, Instant};

use egui::accesskit::Role;
use egui_kittest::kittest::{NodeT as _, Queryable as _};
use mailpath_app::gui::MailpathApp;
use mailpath_app::gui::app::GuiOptions;
use mailpath_app::gui::state::{Activity, Command, Selection, View};
use mailpath_core::check::Attachment;

#[test]
fn pick_a_scenario_run_it_and_read_the_failing_hops_remediation() {
    let rt = common::runtime();
    let mut h = common::harness(rt.handle().clone(), GuiOptions::default());

    // Empty state first: no profile.
    h.get_by_label_contains("No profile yet");

    // Pick the scenario in the top bar's picker.
    h.get_by_label("Lab scenario").click();
    h.run_steps(2);
    h.get_by_label("port-closed").click_accesskit();
    h.run_steps(2);
    common::wait_until(&mut h, Duration::from_secs(30), "the lab to start", |app| {
        app.state.profile.is_some() && !app.state.busy()
    });
    assert_eq!(h.state().state.scenario, "port-closed");

    // Run (the button), wait for the result.
    h.get_by_role_and_label(Role::Button, "▶ Run").click();
    // (Not asserting "running" here: against the lab on loopback it may already be over.)
    common::wait_until(&mut h, Duration::from_secs(60), "the diagnosis", common::finished);
    let d = h.state().state.diagnosis.clone().unwrap();
    assert!(d.counts.fail > 0, "port-closed fails: {:?}", d.counts);

    // The failing hop is labelled with its status; click it.
    let failing = d
        .path
        .hops
        .iter()
        .find(|hop| hop.status == mailpath_core::check::Status::Fail)
        .unwrap();
    let hop_label = format!("Hop {} (", failing.id);
    let hop = h.get_by_label_contains(&hop_label);
    assert!(
        hop.accesskit_node()
            .label()
            .unwrap_or_default()
            .contains(": fail")
    );
    // Hovering shows its summary: the failing check in one line.
    hop.hover();
    h.run_steps(60);
    assert!(
        h.query_all_by_label_contains("tcp.smtp.reachable: the on-premises endpoint")
            .count()
            >= 1,
        "the hover summary names the failing check"
    );
    h.get_by_label_contains(&hop_label).click();
    h.run_steps(3);
    assert_eq!(
        h.state().state.selection,
        Some(Selection::Hop(failing.id.clone()))
    );

    // The detail panel shows the failing check, its remediation and a copy button.
    h.get_by_label("Close the detail panel");
    h.get_by_label("tcp.smtp.reachable");
    h.get_by_label_contains("Get-ReceiveConnector | Format-List Name,Bindings");
    h.get_by_label("Copy the remediation of tcp.smtp.reachable")
        .click();
    h.run_steps(2);

    // Esc closes the panel.
    h.key_press(egui::Key::Escape);
    h.run_steps(2);
    assert_eq!(h.state().state.selection, None);
}

#[test]
fn views_switch_and_show_the_diagnosis() {
    let rt = common::runtime();
    let mut h = common::harness(
        rt.handle().clone(),
        GuiOptions {
            lab: Some("healthy-edge".into()),
            ..GuiOptions::default()
        },
    );
    // --lab runs as soon as the lab is up.
    common::wait_until(
        &mut h,
        Duration::from_secs(60),
        "the command line's lab to run",
        common::finished,
    );
    let total = h.state().state.diagnosis.as_ref().unwrap().checks.len();

    h.get_by_role_and_label(Role::Button, "Checks").click();
    h.run_steps(3);
    assert_eq!(h.state().state.view, View::Checks);
    h.get_by_label_contains(&format!("of {total} checks"));
    h.get_by_label("Sort by id").click();
    h.run_steps(2);
    // Filter: search narrows the table.
    h.get_by_label("Search checks").focus();
    h.step();
    h.get_by_label("Search checks").type_text("starttls");
    h.run_steps(3);
    let shown = h.query_all_by_label("smtp.starttls").count();
    assert!(shown >= 1, "the search finds smtp.starttls");
    assert!(
        h.query_by_label("tcp.smtp.reachable").is_none(),
        "and hides the rest"
    );

    h.get_by_role_and_label(Role::Button, "Evidence").click();
    h.run_steps(3);
    assert_eq!(h.state().state.view, View::Evidence);
    h.get_by_label_contains("Trying 127.0.0.1");
    h.get_by_label("Certificate chain").click();
    h.run_steps(3);
    h.get_by_label_contains("SHA-256");

    h.get_by_role_and_label(Role::Button, "Profile").click();
    h.run_steps(3);
    h.get_by_label_contains("valid profile");

    h.get_by_role_and_label(Role::Button, "Path").click();
    h.run_steps(3);
    h.get_by_label_contains("Node Edge Transport (outbound)");

    // Ctrl+R runs again: a new diagnosis replaces the first.
    let first = h.state().state.diagnosis.clone().unwrap();
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::R);
    common::wait_until(&mut h, Duration::from_secs(60), "the second run", |app| {
        app.state
            .diagnosis
            .as_ref()
            .is_some_and(|d| !std::sync::Arc::ptr_eq(d, &first))
            && !app.state.busy()
    });
}

#[test]
fn a_slow_diagnosis_can_be_cancelled() {
    let rt = common::runtime();
    let mut h = common::harness(
        rt.handle().clone(),
        GuiOptions {
            lab: Some("tarpit".into()),
            ..GuiOptions::default()
        },
    );
    // The tarpit delays its greeting by 20 s: wait until the probes are out.
    common::wait_until(
        &mut h,
        Duration::from_secs(30),
        "the probes to start",
        |app| matches!(&app.state.activity, Activity::Running(p) if p.phase == "probes"),
    );
    h.get_by_label_contains("probes");
    // Live: the hops whose endpoint answered (EOP, the Mailbox) show their checks while the Edge is
    // still silent; the Edge's hops are still probing.
    common::wait_until(
        &mut h,
        Duration::from_secs(10),
        "the first endpoints' checks",
        |app| {
            matches!(&app.state.activity, Activity::Running(p) if p.live_path.is_some()
                && p.live.iter().any(|c| c.attachment == Attachment::Hop("out.edge-eop".into())))
        },
    );
    h.run_steps(2);
    let to_eop =
        h.get_by_label_contains("Hop out.edge-eop (Edge Transport ➡ Exchange Online Protection): pass");
    assert!(
        to_eop
            .accesskit_node()
            .label()
            .unwrap_or_default()
            .contains(" pass"),
        "the EOP hop is judged live"
    );
    h.get_by_label_contains("Hop in.eop-edge (Exchange Online Protection ➡ Edge Transport)");
    assert_eq!(
        h.query_all_by_label_contains("Hop in.eop-edge (Exchange Online Protection ➡ Edge Transport):")
            .count(),
        0,
        "the tarpitting Edge is not judged yet"
    );
    assert!(
        matches!(&h.state().state.activity, Activity::Running(_)),
        "still running"
    );
    let pressed = Instant::now();
    h.get_by_role_and_label(Role::Button, "⏹ Cancel").click();
    h.step();
    common::wait_until(&mut h, Duration::from_secs(5), "the cancel", common::finished);
    let waited = pressed.elapsed();
    let d = h.state().state.diagnosis.clone().unwrap();
    assert!(d.cancelled, "the diagnosis says it was cancelled");
    assert!(
        waited < Duration::from_secs(5),
        "cancelled in {waited:?}, well before the 20 s tarpit"
    );
    assert!(
        h.query_all_by_label_contains("was cancelled").count() >= 1,
        "the UI says so"
    );
}

#[test]
fn a_profile_with_problems_shows_them_with_line_and_column() {
    let rt = common::runtime();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("broken.toml");
    std::fs::write(
        &path,
        "name = \"x\"\n[tenant]\nname = \"contoso\"\naccepted_domains = [\"contoso..com\"]\n",
    )
    .unwrap();
    let mut h = common::harness(
        rt.handle().clone(),
        GuiOptions {
            profile: Some(path.clone()),
            ..GuiOptions::default()
        },
    );
    common::wait_until(&mut h, Duration::from_secs(10), "the load to fail", |app| {
        !app.state.busy()
    });
    // The error is in the UI, not only on stderr.
    let notice = h.get_by_label_contains("Could not open");
    let text = notice.accesskit_node().value().unwrap_or_default();
    assert!(
        text.contains("broken.toml:4:21: tenant.accepted_domains[0]"),
        "a located problem: {text}"
    );

    // The editor validates as you type, with line:column.
    let good = mailpath_core::profile::SAMPLE_DIRECT;
    h.state_mut().state.editor.text = good.to_string();
    h.state_mut().state.profile = None;
    h.get_by_role_and_label(Role::Button, "Profile").click();
    h.run_steps(2);
    h.get_by_label("Profile TOML").focus();
    h.step();
    h.get_by_label("Profile TOML").type_text("\n[bogus]\n");
    h.run_steps(3);
    let problems = &h.state().state.editor.problems;
    assert!(
        !problems.is_empty() && problems[0].contains("bogus"),
        "{problems:?}"
    );
    assert!(
        problems[0].split(':').next().unwrap().parse::<usize>().is_ok(),
        "starts with a line number: {problems:?}"
    );
}

#[test]
fn export_writes_json_that_opens_again_and_profiles_are_remembered() {
    let rt = common::runtime();
    let dir = tempfile::tempdir().unwrap();
    let profile = dir.path().join("contoso-direct.toml");
    std::fs::write(&profile, mailpath_core::profile::SAMPLE_DIRECT).unwrap();

    // Opening a profile file remembers it (recent, last profile) without running it.
    let mut h = common::harness(rt.handle().clone(), GuiOptions::default());
    h.state_mut().send(Command::OpenFile(profile.clone()));
    common::wait_until(&mut h, Duration::from_secs(10), "the profile", |app| {
        app.state.profile.is_some() && !app.state.busy()
    });
    assert_eq!(h.state().state.settings.recent, vec![profile.clone()]);
    assert_eq!(h.state().state.settings.last_profile.as_ref(), Some(&profile));
    assert!(h.state().state.diagnosis.is_none(), "opening does not run");
    h.get_by_label_contains("Not diagnosed yet");

    // A new app with those settings reopens the last profile.
    let settings = h.state().state.settings.clone();
    let handle = rt.handle().clone();
    let mut again = egui_kittest::Harness::builder()
        .with_size(egui::vec2(1280.0, 800.0))
        .build_eframe(move |cc| {
            MailpathApp::with_context(
                &cc.egui_ctx,
                handle,
                GuiOptions::default(),
                settings,
                Default::default(),
            )
        });
    common::wait_until(&mut again, Duration::from_secs(10), "the last profile", |app| {
        app.state.profile.is_some() && !app.state.busy()
    });

    // Export a lab diagnosis as JSON; Open reads it back.
    let mut h = common::harness(
        rt.handle().clone(),
        GuiOptions {
            lab: Some("healthy-edge".into()),
            ..GuiOptions::default()
        },
    );
    common::wait_until(&mut h, Duration::from_secs(60), "the diagnosis", common::finished);
    let json = dir.path().join("diagnosis.json");
    h.state_mut().send(Command::ExportTo(json.clone()));
    common::wait_until(&mut h, Duration::from_secs(10), "the export", |app| {
        app.state
            .notices
            .iter()
            .any(|n| n.text.starts_with("Saved the JSON report"))
    });
    h.get_by_label_contains("Saved the JSON report");

    // HTML and Markdown by the extension (HTML without one), redacted with the top bar's toggle.
    h.get_by_label("Redact").click();
    h.run_steps(2);
    assert!(h.state().state.settings.redact, "the toggle sets redaction");
    let html = dir.path().join("for-support");
    let md = dir.path().join("ticket.md");
    h.state_mut().send(Command::ExportTo(html.clone()));
    h.state_mut().send(Command::ExportTo(md.clone()));
    common::wait_until(&mut h, Duration::from_secs(20), "the redacted reports", |app| {
        let saved = |what: &str| app.state.notices.iter().any(|n| n.text.starts_with(what));
        saved("Saved the HTML report (redacted)") && saved("Saved the Markdown report (redacted)")
    });
    let html = std::fs::read_to_string(html.with_extension("html")).unwrap();
    let md = std::fs::read_to_string(&md).unwrap();
    assert!(
        html.starts_with("<!DOCTYPE html>") && html.contains("<svg"),
        "an HTML report with the path"
    );
    assert!(
        md.starts_with('#'),
        "a Markdown report: {}",
        &md[..md.len().min(200)]
    );
    for (format, text) in [("html", &html), ("markdown", &md)] {
        for secret in ["contoso", "127.0.0.1", "ex01"] {
            assert!(
                !text.to_ascii_lowercase().contains(secret),
                "{format} leaks {secret}"
            );
        }
    }
    // An unknown extension is refused with the formats it knows.
    h.state_mut()
        .send(Command::ExportTo(dir.path().join("report.pdf")));
    h.run_steps(2);
    h.get_by_label_contains("name the file .html, .md or .json");
    h.get_by_label("Redact").click();
    h.run_steps(2);
    let exported = h.state().state.diagnosis.clone().unwrap();
    // Typed under Recent (no file dialog needed).
    h.get_by_label("Recent").click();
    h.run_steps(2);
    h.get_by_label("Path:").focus();
    h.step();
    h.get_by_label("Path:").type_text(json.to_str().unwrap());
    h.run_steps(2);
    h.get_by_role_and_label(Role::Button, "Open").click();
    common::wait_until(&mut h, Duration::from_secs(10), "the JSON to open", |app| {
        app.state
            .diagnosis
            .as_ref()
            .is_some_and(|d| !std::sync::Arc::ptr_eq(d, &exported))
            && !app.state.busy()
    });
    assert_eq!(
        h.state().state.diagnosis.as_deref(),
        Some(exported.as_ref()),
        "the same diagnosis comes back"
    );
}

/// Issue 13 items 4 and 10: the profile view shows the cloud the profile names and, as information, the
/// connector settings mailpath assumed (HCW defaults, not read from Exchange).
#[test]
fn the_profile_view_shows_the_cloud_and_the_assumed_settings() {
    let rt = common::runtime();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("gcc.toml");
    std::fs::write(
        &path,
        "name = \"gcc\"\n[tenant]\nname = \"contoso\"\ncloud = \"gcc-high\"\naccepted_domains = [\"contoso.com\"]\n\
         [[mailbox]]\nfqdn = \"ex01.contoso.com\"\n[connectors.send]\ntls_auth_level = \"DomainValidation\"\n",
    )
    .unwrap();
    let mut h = common::harness(
        rt.handle().clone(),
        GuiOptions {
            profile: Some(path),
            ..GuiOptions::default()
        },
    );
    common::wait_until(&mut h, Duration::from_secs(10), "the profile", |app| {
        app.state.profile.is_some() && !app.state.busy()
    });
    h.get_by_role_and_label(Role::Button, "Profile").click();
    h.run_steps(2);
    h.get_by_label_contains(
        "Office 365 GCC High (cloud = \"gcc-high\"): EOP contoso.mail.protection.office365.us",
    );
    let assumed = h.get_by_label_contains("assumed the HCW default; not read from Exchange");
    let node = assumed.accesskit_node();
    let text = node.label().or_else(|| node.value()).unwrap_or_default();
    assert!(text.contains("send.tls_domain"), "{text}");
    assert!(
        !text.contains("send.tls_auth_level"),
        "stated, not assumed: {text}"
    );
}

/// Issue 13 item 1: the Profile view's workstation-location control edits `[workstation] location` in the
/// text (keeping the rest) and applies it to the next run.
#[test]
fn the_workstation_location_is_chosen_in_the_profile_view() {
    let rt = common::runtime();
    let mut h = common::harness(rt.handle().clone(), GuiOptions::default());
    let text = format!("# kept\n{}", mailpath_core::profile::SAMPLE_EDGE);
    h.state_mut().state.profile =
        Some(mailpath_core::profile::Profile::from_toml_str(&text, "p.toml", None).unwrap());
    h.state_mut().state.editor.text = text;
    h.get_by_role_and_label(Role::Button, "Profile").click();
    h.run_steps(2);
    h.get_by_label_contains("This workstation is on");
    h.get_by_label("DMZ").click();
    h.run_steps(3);
    let state = &h.state().state;
    assert!(state.editor.text.starts_with("# kept\n"), "{}", state.editor.text);
    assert!(
        state.editor.text.contains("[workstation]\nlocation = \"dmz\""),
        "{}",
        state.editor.text
    );
    assert_eq!(
        state.profile.as_ref().map(|p| p.workstation.location),
        Some(mailpath_core::profile::NetworkLocation::Dmz),
        "applied to the next run"
    );
    assert!(!state.editor.dirty);
}
