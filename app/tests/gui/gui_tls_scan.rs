//! The Evidence view's TLS tab and its "Full TLS scan" button, driven through AccessKit against the
//! `cbc-only` lab: the quick scan's one suite first, then the full enumeration the button runs off the
//! UI thread, put into the diagnosis and judged again.

use crate::common;

use std::time::Duration;

use egui::accesskit::Role;
use egui_kittest::kittest::Queryable as _;
use mailpath_app::gui::app::GuiOptions;
use mailpath_app::gui::state::Command;
use mailpath_core::check::Status;
use mailpath_core::tls_scan::ScanMode;

#[test]
fn the_full_tls_scan_button_enumerates_the_cbc_only_edge() {
    let rt = common::runtime();
    let mut h = common::harness(
        rt.handle().clone(),
        GuiOptions {
            lab: Some("cbc-only".into()),
            ..GuiOptions::default()
        },
    );
    common::wait_until(
        &mut h,
        Duration::from_secs(60),
        "the lab's diagnosis",
        common::finished,
    );
    let d = h.state().state.diagnosis.clone().unwrap();
    let edge = d
        .evidence
        .smtp
        .iter()
        .find(|p| p.host == "mail.contoso.com")
        .expect("the Edge's external endpoint");
    assert_eq!(edge.tls_scan.as_ref().map(|s| s.mode), Some(ScanMode::Quick));
    let id = edge.id.clone();
    let ciphers = |d: &mailpath_core::diagnose::Diagnosis| {
        d.checks
            .iter()
            .find(|c| c.id == "tls.ciphers" && c.evidence.contains(&id))
            .cloned()
            .expect("tls.ciphers of the Edge")
    };
    assert_eq!(ciphers(&d).status, Status::Warn);

    h.state_mut().send(Command::ShowEvidence(id.clone()));
    h.run_steps(3);
    h.get_by_label("TLS versions and suites").click();
    h.run_steps(3);
    h.get_by_label_contains("quick scan, 1 connection");
    h.get_by_label("TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384");
    assert!(h.query_by_label("TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA").is_none());

    h.get_by_role_and_label(Role::Button, "Full TLS scan").click();
    h.run_steps(2);
    common::wait_until(&mut h, Duration::from_secs(60), "the full scan", |app| {
        app.state.evidence.scanning.is_none()
            && app
                .state
                .diagnosis
                .as_ref()
                .and_then(|d| d.evidence.smtp(&id))
                .and_then(|p| p.tls_scan.as_ref())
                .is_some_and(|s| s.mode == ScanMode::Full)
    });
    h.run_steps(3);
    // Every CBC suite of the Edge, in its order, and the verdict judged on all of them.
    for suite in [
        "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384",
        "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256",
        "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA",
        "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA",
    ] {
        h.get_by_label(suite);
    }
    h.get_by_label("Cipher order: the server's own");
    let d = h.state().state.diagnosis.clone().unwrap();
    let after = ciphers(&d);
    assert_eq!(after.status, Status::Warn);
    assert!(after.detail.contains("a full scan"), "{}", after.detail);
    assert!(
        after.summary.contains("TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA"),
        "{}",
        after.summary
    );
    assert_eq!(d.counts, mailpath_core::check::Counts::of(&d.checks));
}
