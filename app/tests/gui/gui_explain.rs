//! The Explain view driven through AccessKit (egui_kittest): paste a message trace detail, Explain, read
//! the code, hops and verdict; text without a reply says so; with the lab's diagnosis the causes are
//! re-ranked by its checks ("This is it"), the confirming check opens in the detail panel with one
//! click, and the hop is highlighted on the Path view.

use crate::common;

use std::path::PathBuf;
use std::time::Duration;

use egui::accesskit::Role;
use egui_kittest::kittest::Queryable as _;
use mailpath_app::gui::app::GuiOptions;
use mailpath_app::gui::state::{Command, Selection, View};
use mailpath_core::explain::{CauseVerdict, EvidenceSource};

fn fixture(name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures/explain")
        .join(name);
    std::fs::read_to_string(path).expect("read the fixture")
}

fn explained(app: &mailpath_app::gui::MailpathApp) -> bool {
    !app.state.explain.busy() && app.state.explain.explanation.is_some()
}

#[test]
fn paste_a_message_trace_explain_and_read_the_hop_and_causes() {
    let rt = common::runtime();
    let mut h = common::harness(rt.handle().clone(), GuiOptions::default());
    h.get_by_role_and_label(Role::Button, "Explain").click();
    h.run_steps(2);
    assert_eq!(h.state().state.view, View::Explain);
    h.get_by_label_contains("Paste an NDR, a queue error or a message trace and press Explain");

    let text = fixture("trace-4.7.320-subject-mismatch.txt");
    h.get_by_label("Text to explain").click();
    h.run_steps(2);
    h.event(egui::Event::Paste(text.clone()));
    h.run_steps(2);
    assert_eq!(h.state().state.explain.text.trim_end(), text.trim_end());

    h.get_by_label("Explain the text").click();
    common::wait_until(&mut h, Duration::from_secs(20), "the explanation", explained);
    let e = h.state().state.explain.explanation.clone().unwrap();
    let main = e.main().unwrap();
    assert_eq!(main.code, "450 4.7.320");
    assert_eq!(main.entry.as_deref(), Some("4.7.320-subject-mismatch"));
    assert_eq!(e.evidence.source, EvidenceSource::None);
    // Without a profile both topologies' hops are offered, each a button to the Path view.
    h.get_by_label("Show in.eop-edge on the Path");
    h.get_by_label("Show in.eop-mailbox on the Path");
    h.get_by_label_contains("Verdict: Most likely: The on-premises certificate lacks the name");
    h.get_by_label("Copy the fix of cause 1");
    h.get_by_label_contains("No evidence: open a profile or a diagnosis");

    // Text with no SMTP reply is said to have none.
    h.state_mut().state.explain.text = "Hello, my mail does not arrive since Monday.".into();
    h.run_steps(1);
    h.get_by_label("Explain the text").click();
    common::wait_until(&mut h, Duration::from_secs(20), "the second explanation", |app| {
        explained(app) && !app.state.explain.explanation.as_ref().unwrap().found
    });
    h.get_by_label_contains("Found no SMTP reply or status code");
}

#[test]
fn a_diagnosis_reranks_the_causes_and_the_check_and_hop_are_one_click_away() {
    let rt = common::runtime();
    let mut h = common::harness(rt.handle().clone(), GuiOptions::default());
    h.get_by_role_and_label(Role::Button, "Explain").click();
    h.run_steps(2);
    h.state_mut().state.explain.text = fixture("trace-4.7.320-subject-mismatch.txt");
    h.run_steps(1);
    h.get_by_label("Explain the text").click();
    common::wait_until(&mut h, Duration::from_secs(20), "the explanation", explained);
    assert_eq!(
        h.state()
            .state
            .explain
            .explanation
            .as_ref()
            .unwrap()
            .evidence
            .source,
        EvidenceSource::None
    );

    // Open the lab whose Edge certificate lacks the name, and run: the explanation is re-ranked.
    h.state_mut().send(Command::OpenLab("name-mismatch".into()));
    common::wait_until(&mut h, Duration::from_secs(30), "the lab to start", |app| {
        app.state.profile.is_some() && !app.state.busy()
    });
    h.state_mut().send(Command::Run);
    common::wait_until(&mut h, Duration::from_secs(60), "the diagnosis", common::finished);
    common::wait_until(&mut h, Duration::from_secs(20), "the re-ranking", |app| {
        explained(app)
            && app.state.explain.explanation.as_ref().unwrap().evidence.source == EvidenceSource::Diagnosis
    });
    let e = h.state().state.explain.explanation.clone().unwrap();
    let main = e.main().unwrap();
    assert_eq!(main.hops, ["in.eop-edge"], "the lab has an Edge");
    assert_eq!(main.causes[0].verdict, CauseVerdict::Confirmed);
    h.get_by_label_contains("Verdict: This is it:");
    h.get_by_label_contains("Causes ranked by the last diagnosis of");

    // The confirming check, one click away: it opens in the detail panel (two causes name it).
    assert_eq!(
        h.query_all_by_label("Check tls.cert.name on in.eop-edge: fail")
            .count(),
        2
    );
    h.query_all_by_label("Check tls.cert.name on in.eop-edge: fail")
        .next()
        .unwrap()
        .click();
    h.run_steps(3);
    let selection = h.state().state.selection.clone();
    let Some(Selection::Check(i)) = selection else {
        panic!("no check selected: {selection:?}");
    };
    let d = h.state().state.diagnosis.clone().unwrap();
    assert_eq!(d.checks[i].id, "tls.cert.name");
    assert_eq!(d.checks[i].status, mailpath_core::check::Status::Fail);
    h.get_by_label("Close the detail panel");

    // The hop, highlighted on the Path view.
    h.get_by_label("Show in.eop-edge on the Path").click();
    h.run_steps(3);
    assert_eq!(h.state().state.view, View::Path);
    assert_eq!(
        h.state().state.selection,
        Some(Selection::Hop("in.eop-edge".into()))
    );
    h.get_by_label_contains("explained: 450 4.7.320");
    assert_eq!(
        h.query_all_by_label_contains("explained: 450 4.7.320").count(),
        1,
        "only that hop"
    );
}

/// The Explain view for the README: an expired-certificate message trace against the expired-cert
/// diagnosis fixture (`UPDATE_SNAPSHOTS=1` rewrites `screenshots/explain-expired-cert.png`).
#[test]
fn explain_snapshot() {
    let rt = common::runtime();
    let mut h = common::harness(rt.handle().clone(), GuiOptions::default());
    common::show_fixture(&mut h, "expired-cert");
    h.state_mut().send(Command::SetView(View::Explain));
    h.run_steps(2);
    h.state_mut().state.explain.text = fixture("trace-4.7.320-expired.txt");
    h.run_steps(1);
    h.get_by_label("Explain the text").click();
    common::wait_until(&mut h, Duration::from_secs(20), "the explanation", explained);
    let e = h.state().state.explain.explanation.clone().unwrap();
    assert_eq!(
        e.main().unwrap().causes[0].verdict,
        CauseVerdict::Confirmed,
        "{e:#?}"
    );
    h.run_steps(4);
    h.snapshot("explain-expired-cert");
}

/// A relay session's refusal is one click from its explanation.
#[test]
fn a_relay_refusal_is_explained_from_the_relay_view() {
    use mailpath_app::gui::state::relay::RelaySelection;
    use mailpath_core::relay::RelayEvent;
    use mailpath_core::smtp::server::SessionEvent;

    let rt = common::runtime();
    let mut h = common::harness(rt.handle().clone(), GuiOptions::default());
    h.state_mut()
        .state
        .relay
        .apply(RelayEvent::Session(SessionEvent::Refused {
            peer: "127.0.0.1:50123".parse().unwrap(),
            reply: "421 4.3.2 Too many sessions, try again later".into(),
        }));
    h.state_mut().send(Command::SetView(View::Relay));
    h.state_mut()
        .send(Command::SelectRelay(Some(RelaySelection::Session(String::new()))));
    h.run_steps(3);
    h.get_by_label_contains("Last refusal: 421 4.3.2");
    h.get_by_label("Explain the refusal").click();
    h.run_steps(2);
    assert_eq!(h.state().state.view, View::Explain);
    common::wait_until(&mut h, Duration::from_secs(20), "the explanation", explained);
    let e = h.state().state.explain.explanation.clone().unwrap();
    assert_eq!(
        e.main().unwrap().entry.as_deref(),
        Some("4.3.2-service-not-available")
    );
    h.get_by_label_contains("the relay's refusal");
}

/// Issue 15: a queue's LastError read from an imported configuration (`config.queue.last_error`) is one click
/// from its explanation, on the hop it belongs to.
#[test]
fn a_queue_error_from_the_export_is_explained_from_its_hop() {
    use mailpath_app::gui::state::Selection;
    use mailpath_core::check::{Attachment, CheckResult, Status};

    let rt = common::runtime();
    let mut h = common::harness(rt.handle().clone(), GuiOptions::default());
    common::show_fixture(&mut h, "healthy-direct");
    {
        let state = &mut h.state_mut().state;
        let mut d = (**state.diagnosis.as_ref().unwrap()).clone();
        d.checks.push(
            CheckResult::new(
                &mailpath_core::checks::audit::QUEUE_ERROR,
                Status::Fail,
                "EX01\\3 (contoso.mail.onmicrosoft.com)",
                "Retry, 12 message(s): 451 4.4.0 Primary target IP address responded with: \"451 5.7.3 \
                 STARTTLS is required to send mail\"",
            )
            .on(Attachment::Hop("out.mailbox-eop".into())),
        );
        state.diagnosis = Some(std::sync::Arc::new(d));
    }
    h.state_mut()
        .send(Command::Select(Some(Selection::Hop("out.mailbox-eop".into()))));
    h.run_steps(4);
    h.get_by_label("Explain the queue error of EX01\\3 (contoso.mail.onmicrosoft.com)")
        .click();
    h.run_steps(2);
    assert_eq!(h.state().state.view, View::Explain);
    common::wait_until(&mut h, Duration::from_secs(20), "the explanation", explained);
    let e = h.state().state.explain.explanation.clone().unwrap();
    assert!(e.found, "{e:#?}");
    let main = e.main().expect("an explained code");
    assert!(
        main.code.contains("5.7.3") || main.code.contains("4.4.0"),
        "{}",
        main.code
    );
    h.get_by_label_contains("the queue EX01\\3");
}
