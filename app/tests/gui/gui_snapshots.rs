//! Snapshots of the GUI rendered with wgpu (lavapipe, Mesa's CPU Vulkan driver, in CI), written to
//! `screenshots/` for the README. The diagnoses are fixtures made from the lab at a fixed time
//! (`tests/fixtures/*.json`, `MAILPATH_UPDATE_FIXTURES=1` regenerates them) and the clock is mocked,
//! so that dates and days left are the same on every run. `UPDATE_SNAPSHOTS=1` rewrites changed PNGs.

use crate::common;

use egui_kittest::SnapshotResults;
use mailpath_app::gui::app::GuiOptions;
use mailpath_app::gui::state::relay::RelaySelection;
use mailpath_app::gui::state::{Activity, Command, RunProgress, Selection, View};
use mailpath_app::gui::theme::ThemeChoice;
use mailpath_core::relay::RelayEvent;
use mailpath_core::smtp::server::SessionEvent;

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

/// The Relay view's recorded events: `app/tests/fixtures/relay-eop.json`, made once from a real `eop`
/// relay on loopback (`MAILPATH_UPDATE_FIXTURES=1` records them again), so that the snapshots never
/// depend on ports, keys or times of the run.
#[derive(serde::Serialize, serde::Deserialize)]
struct RelayFixture {
    /// When it was recorded (the clock of the snapshot, for the certificates' days left).
    #[serde(with = "time::serde::rfc3339")]
    recorded: time::OffsetDateTime,
    events: Vec<RelayEvent>,
}

#[allow(clippy::unwrap_used)] // test helper: a failure is the test failing
fn relay_fixture() -> RelayFixture {
    let path = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/relay-eop.json");
    if std::env::var_os("MAILPATH_UPDATE_FIXTURES").is_none()
        && let Ok(text) = std::fs::read_to_string(&path)
    {
        return serde_json::from_str(&text).expect("relay fixture parses");
    }
    let fixture = common::runtime().block_on(record_relay());
    std::fs::write(&path, serde_json::to_string_pretty(&fixture).unwrap()).expect("write relay fixture");
    fixture
}

/// An `eop` relay expecting mail.contoso.com: an on-premises message with a matching certificate, a
/// second one without organization headers, and a sender without a certificate (550 5.7.64).
#[allow(clippy::unwrap_used)] // test helper: a failure is the test failing
async fn record_relay() -> RelayFixture {
    use mailpath_core::relay::client::{self, ClientOptions, TlsPolicy};
    use mailpath_core::relay::{Relay, RelayConfig, Role, tls};

    let dir = tempfile::tempdir().unwrap();
    // The on-premises certificate, from a CA the relay trusts for client certificates (--client-ca).
    let cert = tls::generate_certified_key(
        "mail.contoso.com",
        &["mail.contoso.com".into(), "autodiscover.contoso.com".into()],
        &dir.path().join("client-ca.pem"),
    )
    .unwrap();
    let mut config = RelayConfig::new("127.0.0.1:0".parse().unwrap(), dir.path().join("spool"));
    config.role = Role::Eop;
    config.expected_cert_names = vec!["mail.contoso.com".into()];
    config.accepted_domains = vec!["contoso.com".into()];
    config.client_roots =
        Some(mailpath_core::cert::load_chain_file(&dir.path().join("client-ca.pem")).unwrap());
    let (tx, mut rx) = tokio::sync::mpsc::channel(1024);
    let relay = Relay::start(config, Some(tx)).await.unwrap();
    let addr = relay.local_addr();
    let options = |cert: Option<std::sync::Arc<_>>| ClientOptions {
        helo: "EX01.contoso.com".into(),
        tls: TlsPolicy::Required,
        tls_name: None,
        roots: Vec::new(),
        client_cert: cert,
        timeouts: client::Timeouts::default(),
    };
    let date = time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc2822)
        .unwrap();
    let on_prem = [
        format!(
            "Received: from EX02.contoso.com (10.0.0.6) by EX01.contoso.com (10.0.0.5) with Microsoft SMTP \
             Server (version=TLS1_2, cipher=TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384) id 15.2.1118.40; {date}"
        ),
        "X-MS-Exchange-Organization-AuthAs: Internal".into(),
        "X-MS-Exchange-Organization-AuthSource: EX02.contoso.com".into(),
        "X-MS-Exchange-Organization-AuthMechanism: 04".into(),
        "X-MS-Exchange-CrossPremises-AuthAs: Internal".into(),
        "X-MS-Exchange-CrossPremises-AuthSource: EX02.contoso.com".into(),
        "X-MS-Exchange-CrossPremises-AuthMechanism: 04".into(),
    ];
    let sends: [(&str, &str, &str, Option<_>, &[String]); 3] = [
        (
            "adele@contoso.com",
            "megan@contoso.com",
            "Quarterly numbers",
            Some(std::sync::Arc::clone(&cert)),
            &on_prem,
        ),
        (
            "scanner@contoso.com",
            "megan@contoso.com",
            "Scanned document",
            Some(cert),
            &[],
        ),
        (
            "adele@contoso.com",
            "lee@fabrikam.com",
            "No certificate",
            None,
            &[],
        ),
    ];
    for (i, (from, to, subject, cert, extra)) in sends.into_iter().enumerate() {
        let tracking = format!("mp-snapshot-{}", i + 1);
        let data = client::test_message(from, to, subject, &tracking, extra);
        client::send(
            &addr.ip().to_string(),
            addr.port(),
            &options(cert),
            from,
            &[to.to_string()],
            &data,
        )
        .await;
    }
    let mut events = Vec::new();
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(20);
    let complete = |events: &[RelayEvent]| {
        let closed = events
            .iter()
            .filter(|e| matches!(e, RelayEvent::Session(SessionEvent::Closed { .. })))
            .count();
        let checked = events
            .iter()
            .filter(|e| matches!(e, RelayEvent::SessionChecks { .. }))
            .count();
        let messages = events
            .iter()
            .filter(|e| matches!(e, RelayEvent::Message(_)))
            .count();
        closed == 3 && checked == 3 && messages == 2
    };
    while !complete(&events) {
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Some(e)) => events.push(e),
            _ => panic!("the relay did not report everything: {events:#?}"),
        }
    }
    relay.shutdown().await;
    // The port the snapshot shows is the relay's default, not the one of this run.
    let json = serde_json::to_string(&events)
        .unwrap()
        .replace(&format!("127.0.0.1:{}", addr.port()), "127.0.0.1:2525");
    RelayFixture {
        recorded: time::OffsetDateTime::now_utc(),
        events: serde_json::from_str(&json).unwrap(),
    }
}

#[allow(clippy::unwrap_used)] // test helper: a failure is the test failing
fn relay_shot(
    fixture: &RelayFixture,
    select: RelaySelection,
) -> egui_kittest::Harness<'static, mailpath_app::gui::MailpathApp> {
    let rt = common::runtime();
    let mut h = common::harness(rt.handle().clone(), GuiOptions::default());
    {
        let state = &mut h.state_mut().state;
        state.clock.mock_now = Some(fixture.recorded);
        state.view = View::Relay;
        let relay = &mut state.relay;
        relay.form.role = mailpath_core::relay::Role::Eop;
        relay.form.expect_cert_names = "mail.contoso.com".into();
        relay.form.accept_domains = "contoso.com".into();
        relay.form.spool = "~/.local/state/mailpath/spool".into();
        for event in fixture.events.iter().cloned() {
            relay.apply(event);
        }
        relay.selected = Some(select);
    }
    h.run_steps(6);
    h
}

#[test]
fn relay_and_headers_snapshots() {
    let mut results = SnapshotResults::new();
    let fixture = relay_fixture();
    let internal = fixture
        .events
        .iter()
        .find_map(|e| match e {
            RelayEvent::Message(m) if m.mail_from.starts_with("adele") => Some(m.id.clone()),
            _ => None,
        })
        .expect("the on-premises message");
    let refused = fixture
        .events
        .iter()
        .find_map(|e| match e {
            RelayEvent::Session(SessionEvent::Closed {
                session, messages: 0, ..
            }) => Some(session.id.clone()),
            _ => None,
        })
        .expect("the refused session");

    let mut h = relay_shot(&fixture, RelaySelection::Message(internal));
    results.add(h.try_snapshot("relay-eop-message"));

    let mut h = relay_shot(&fixture, RelaySelection::Session(refused));
    results.add(h.try_snapshot("relay-eop-refused-session"));

    let rt = common::runtime();
    let mut h = common::harness(rt.handle().clone(), GuiOptions::default());
    {
        let headers = &mut h.state_mut().state.headers;
        headers.text = std::fs::read_to_string(
            std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("../tests/fixtures/headers/anonymous-hybrid.eml"),
        )
        .unwrap();
        headers.source = Some("anonymous-hybrid.eml".into());
        headers.org_domains = "contoso.com".into();
        headers.analyse();
    }
    h.state_mut().send(Command::SetView(View::Headers));
    h.run_steps(6);
    results.add(h.try_snapshot("headers-anonymous-hybrid"));
}
