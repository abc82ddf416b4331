//! The Headers view driven through AccessKit (egui_kittest): paste a fixture's headers, Analyse, find the
//! verdict and the failing headers.* check with its remediation; open a file by its typed path (read on
//! the worker); text that is not headers is an error shown in the view.

use crate::common;

use std::path::PathBuf;
use std::time::Duration;

use egui::accesskit::Role;
use egui_kittest::kittest::Queryable as _;
use mailpath_app::gui::app::GuiOptions;
use mailpath_app::gui::state::View;
use mailpath_core::check::Status;
use mailpath_core::headers::Classification;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures/headers")
        .join(name)
}

#[test]
fn paste_headers_analyse_and_read_the_verdict_and_failing_check() {
    let rt = common::runtime();
    let mut h = common::harness(rt.handle().clone(), GuiOptions::default());
    h.get_by_role_and_label(Role::Button, "Headers").click();
    h.run_steps(2);
    assert_eq!(h.state().state.view, View::Headers);
    h.get_by_label_contains("Paste a message's headers and press Analyse");

    // Paste the fixture into the text area.
    let text = std::fs::read_to_string(fixture("anonymous-hybrid.eml")).unwrap();
    h.get_by_label("Message headers").click();
    h.run_steps(2);
    h.event(egui::Event::Paste(text.clone()));
    h.run_steps(2);
    assert_eq!(
        h.state().state.headers.text.replace("\r\n", "\n"),
        text.replace("\r\n", "\n")
    );

    h.get_by_label("Analyse").click();
    h.run_steps(4);
    let a = h.state().state.headers.analysis.clone().expect("analysed");
    assert_eq!(a.verdict.classification, Classification::Anonymous);
    assert_eq!(a.hops.len(), 3);

    // The verdict, prominently, and its deciding header.
    h.get_by_label("Verdict: anonymous");
    h.get_by_label_contains("decided by X-MS-Exchange-Organization-AuthAs");
    // The path, oldest hop first: on-premises, then EOP.
    assert_eq!(a.hops[0].from.as_deref(), Some("EX01.contoso.com"));
    assert_eq!(a.hops[0].role, mailpath_core::headers::HopRole::OnPremises);
    assert!(h.query_all_by_label("EX01.contoso.com").count() >= 1);
    h.get_by_label("DM6NAM11FT058.mail.protection.outlook.com");
    assert_eq!(h.query_all_by_label("on-prem Exchange").count(), 1);
    assert_eq!(h.query_all_by_label("EOP").count(), 1);
    h.get_by_label("X-MS-Exchange-CrossPremises-AuthAs");
    // The failing check, with its remediation open.
    let failing = a
        .checks
        .iter()
        .find(|c| c.status == Status::Fail)
        .expect("a failing check");
    assert_eq!(failing.id, "headers.authas");
    h.get_by_label("headers.authas");
    h.get_by_label(&format!("Copy the remediation of {}", failing.id));
    h.get_by_label_contains("Set-InboundConnector \"Inbound from <GUID>\" -ConnectorType OnPremises");
}

#[test]
fn open_a_typed_path_and_reject_text_that_is_not_headers() {
    let rt = common::runtime();
    let mut h = common::harness(rt.handle().clone(), GuiOptions::default());
    h.get_by_role_and_label(Role::Button, "Headers").click();
    h.run_steps(2);

    h.state_mut().state.headers.path = fixture("internal-hybrid.eml").display().to_string();
    h.run_steps(1);
    h.get_by_label("Open the typed path").click();
    common::wait_until(
        &mut h,
        Duration::from_secs(10),
        "the file to be read and analysed",
        |app| app.state.headers.analysis.is_some(),
    );
    let a = h.state().state.headers.analysis.clone().unwrap();
    assert_eq!(a.verdict.classification, Classification::Internal);
    assert_eq!(a.counts.fail, 0);
    h.get_by_label("Verdict: internal");
    assert!(
        h.state()
            .state
            .headers
            .text
            .contains("X-MS-Exchange-Organization-AuthAs")
    );

    // A missing file is a notice.
    h.state_mut().state.headers.path = "/nonexistent/headers.eml".into();
    h.run_steps(1);
    h.get_by_label("Open the typed path").click();
    common::wait_until(&mut h, Duration::from_secs(10), "the read error", |app| {
        app.state.notices.iter().any(|n| n.error)
    });
    h.get_by_label_contains("could not read /nonexistent/headers.eml");

    // Text that is not a header block.
    h.state_mut().state.headers.text = "hello, this is not a header block".into();
    h.run_steps(1);
    h.get_by_label("Analyse").click();
    h.run_steps(3);
    assert!(h.state().state.headers.analysis.is_none());
    h.get_by_label_contains("does not start with header fields");
}
