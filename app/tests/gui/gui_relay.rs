//! The Relay view driven through AccessKit (egui_kittest) with the real relay on a real tokio runtime, on
//! loopback: start a sink on a free port, send it a message with an independent client (Python's
//! smtplib), find the message, its verdict and its relay.* check, read the session's transcript, stop;
//! the eop role refusing a session without a client certificate with 550 5.7.64; start errors shown as
//! notices.

use crate::common;

use std::net::SocketAddr;
use std::process::Command as Process;
use std::time::Duration;

use egui::accesskit::Role;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable as _;
use mailpath_app::gui::MailpathApp;
use mailpath_app::gui::app::GuiOptions;
use mailpath_app::gui::state::View;
use mailpath_app::gui::state::relay::{RelaySelection, RelayStatus};
use mailpath_core::headers::Classification;
use mailpath_core::relay::Role as RelayRole;

/// Python 3 with smtplib, or `None` (a test then skips with a note, except in CI where it fails).
fn python() -> Option<&'static str> {
    let ok = Process::new("python3")
        .args(["-c", "import smtplib, ssl"])
        .output()
        .is_ok_and(|o| o.status.success());
    if ok {
        return Some("python3");
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "python3 (smtplib) is needed for the relay GUI tests in CI"
    );
    eprintln!("skipping: python3 with smtplib is not installed");
    None
}

/// Run an SMTP dialogue in Python against `addr`; returns its standard output.
fn smtp_client(python: &str, addr: SocketAddr, script: &str) -> String {
    let prelude = format!(
        "import smtplib, ssl\nctx = ssl.create_default_context()\nctx.check_hostname = False\n\
         ctx.verify_mode = ssl.CERT_NONE\ns = smtplib.SMTP('{}', {}, local_hostname='sender.fabrikam.test', timeout=20)\n",
        addr.ip(),
        addr.port()
    );
    let out = Process::new(python)
        .args(["-c", &format!("{prelude}{script}")])
        .output()
        .expect("run python3");
    assert!(
        out.status.success(),
        "the SMTP client failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn open_relay_view(h: &mut Harness<'_, MailpathApp>, spool: &std::path::Path) {
    h.get_by_role_and_label(Role::Button, "Relay").click();
    h.run_steps(2);
    assert_eq!(h.state().state.view, View::Relay);
    let form = &mut h.state_mut().state.relay.form;
    // Any free port: the view shows the one bound.
    form.listen = "127.0.0.1:0".into();
    form.spool = spool.display().to_string();
    h.run_steps(2);
}

fn start(h: &mut Harness<'_, MailpathApp>) -> SocketAddr {
    h.get_by_label("▶ Start relay").click();
    h.run_steps(2);
    assert_ne!(
        h.state().state.relay.status,
        RelayStatus::Stopped,
        "Start was pressed"
    );
    common::wait_until(h, Duration::from_secs(30), "the relay to listen", |app| {
        matches!(app.state.relay.status, RelayStatus::Running { .. })
    });
    let addr = h.state().state.relay.address().expect("listening");
    assert_ne!(addr.port(), 0, "the bound port, not the asked one");
    h.get_by_label_contains(&format!("Listening on {addr} as "));
    addr
}

fn stop(h: &mut Harness<'_, MailpathApp>, addr: SocketAddr) {
    h.get_by_label("⏹ Stop relay").click();
    h.run_steps(2);
    common::wait_until(h, Duration::from_secs(30), "the relay to stop", |app| {
        app.state.relay.status == RelayStatus::Stopped
    });
    h.get_by_label("▶ Start relay");
    assert!(
        std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(2)).is_err(),
        "nothing listens on {addr} after Stop"
    );
    assert!(
        h.state().state.notices.iter().all(|n| !n.error),
        "no errors: {:?}",
        h.state().state.notices
    );
}

#[test]
fn sink_captures_a_message_and_shows_its_verdict_checks_and_transcript() {
    let Some(python) = python() else { return };
    let rt = common::runtime();
    let spool = tempfile::tempdir().unwrap();
    let mut h = common::harness(rt.handle().clone(), GuiOptions::default());
    open_relay_view(&mut h, spool.path());
    h.get_by_label_contains("No sessions yet");
    let addr = start(&mut h);

    let script = "s.ehlo()\ns.starttls(context=ctx)\ns.ehlo()\n\
        msg = 'From: alice@fabrikam.test\\r\\nTo: bob@contoso.com\\r\\nSubject: hello relay\\r\\n\\r\\nHi.\\r\\n'\n\
        s.sendmail('alice@fabrikam.test', ['bob@contoso.com'], msg)\ns.quit()\nprint('sent')\n";
    assert!(smtp_client(python, addr, script).contains("sent"));

    common::wait_until(
        &mut h,
        Duration::from_secs(30),
        "the message and the closed session",
        |app| {
            let r = &app.state.relay;
            !r.messages.is_empty()
                && r.sessions
                    .iter()
                    .any(|s| s.closed.is_some() && !s.checks.is_empty())
        },
    );
    let relay = &h.state().state.relay;
    assert_eq!(relay.messages.len(), 1);
    let m = relay.messages[0].clone();
    assert_eq!(m.mail_from, "alice@fabrikam.test");
    assert_eq!(m.rcpt_to, vec!["bob@contoso.com".to_string()]);
    assert!(m.tls.is_some(), "the client used STARTTLS: {m:?}");
    // Nothing attributes this message to an organization: it cannot be internal.
    assert_ne!(m.verdict.classification, Classification::Internal);
    let session = relay
        .sessions
        .iter()
        .find(|s| s.id == m.session_id)
        .unwrap()
        .clone();
    assert_eq!(session.helo.as_deref(), Some("sender.fabrikam.test"));
    assert_eq!(session.cert_words(), "none");

    // The message row, by its accessible label; click it.
    h.get_by_label_contains("from alice@fabrikam.test to bob@contoso.com")
        .click();
    h.run_steps(3);
    assert_eq!(
        h.state().state.relay.selected,
        Some(RelaySelection::Message(m.id.clone()))
    );
    h.get_by_label(&format!("Message {}", m.id));
    h.get_by_label(&format!("Verdict: {}", m.verdict.classification.as_str()));
    h.get_by_label("relay.verdict");
    h.get_by_label_contains("hello relay");

    // The session: TLS, no client certificate, its relay.* checks and the transcript.
    h.get_by_label_contains(&format!("Session {} from ", session.id))
        .click();
    h.run_steps(3);
    h.get_by_label(&format!("Session {}", session.id));
    h.get_by_label_contains("none: the client presented no certificate");
    h.get_by_label("relay.client-cert");
    h.get_by_label_contains("FROM:<alice@fabrikam.test>");
    h.get_by_label_contains("TLS from here on: TLSv1.");

    // A test message through the GUI's own client, via the running relay (Via empty).
    h.get_by_label("Send test message").click();
    h.run_steps(2);
    common::wait_until(&mut h, Duration::from_secs(30), "the test message", |app| {
        app.state.relay.last_send.is_some() && app.state.relay.messages.len() == 2
    });
    let sent = h.state().state.relay.last_send.clone().unwrap().unwrap();
    assert!(sent.delivered, "{sent:?}");
    assert_eq!(sent.via, addr.to_string());
    assert_eq!(
        h.state().state.relay.messages[1].tracking_id.as_deref(),
        Some(sent.tracking_id.as_str())
    );
    h.get_by_label_contains(&format!("tracking id {}", sent.tracking_id));

    stop(&mut h, addr);
}

#[test]
fn eop_refuses_a_session_without_client_certificate_with_5_7_64() {
    let Some(python) = python() else { return };
    let rt = common::runtime();
    let spool = tempfile::tempdir().unwrap();
    let mut h = common::harness(rt.handle().clone(), GuiOptions::default());
    open_relay_view(&mut h, spool.path());

    // The role picker, through AccessKit.
    h.get_by_label("Relay role").click();
    h.run_steps(2);
    h.get_by_label("eop").click_accesskit();
    h.run_steps(2);
    // The picker stays open after an AccessKit click; close it like a person would.
    h.key_press(egui::Key::Escape);
    h.run_steps(2);
    assert!(h.query_by_label("mailbox").is_none(), "the role picker closed");
    assert_eq!(h.state().state.relay.form.role, RelayRole::Eop);
    {
        let form = &mut h.state_mut().state.relay.form;
        form.expect_cert_names = "mail.contoso.com".into();
        form.accept_domains = "contoso.com".into();
    }
    let addr = start(&mut h);
    h.get_by_label_contains("as eop (eop.mailpath.test)");

    let script = "s.ehlo()\ns.starttls(context=ctx)\ns.ehlo()\ns.mail('adele@contoso.com')\n\
        code, text = s.rcpt('user@fabrikam.com')\nprint(code, text.decode())\ns.quit()\n";
    let said = smtp_client(python, addr, script);
    assert!(said.starts_with("550"), "EOP refused the recipient: {said}");
    assert!(said.contains("5.7.64"), "{said}");

    common::wait_until(&mut h, Duration::from_secs(30), "the session to close", |app| {
        app.state.relay.sessions.iter().any(|s| s.closed.is_some())
    });
    let session = h.state().state.relay.sessions[0].clone();
    assert!(h.state().state.relay.messages.is_empty());
    assert!(
        session.last_refusal().is_some_and(|r| r.contains("5.7.64")),
        "{:?}",
        session.transcript
    );
    // The row says it was refused; its detail shows the reply and the failing certificate check.
    h.get_by_label_contains(&format!("Session {} from ", session.id))
        .click();
    h.run_steps(3);
    h.get_by_label_contains("Last refusal: 550 5.7.64 TenantAttribution");
    h.get_by_label("relay.client-cert");
    let failing = session
        .checks
        .iter()
        .find(|c| c.id == "relay.client-cert")
        .unwrap();
    assert_eq!(failing.status, mailpath_core::check::Status::Fail);

    stop(&mut h, addr);
}

#[test]
fn start_errors_are_notices() {
    let rt = common::runtime();
    let spool = tempfile::tempdir().unwrap();
    let mut h = common::harness(rt.handle().clone(), GuiOptions::default());
    open_relay_view(&mut h, spool.path());

    // A bad address never reaches the worker.
    h.state_mut().state.relay.form.listen = "localhost:twentyfive".into();
    h.get_by_label("▶ Start relay").click();
    h.run_steps(3);
    h.get_by_label_contains("is not IP:PORT");
    assert_eq!(h.state().state.relay.status, RelayStatus::Stopped);

    // A port in use: the bind error comes back from the runtime.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap();
    h.state_mut().state.relay.form.listen = addr.to_string();
    h.get_by_label("▶ Start relay").click();
    h.run_steps(2);
    common::wait_until(&mut h, Duration::from_secs(30), "the bind error", |app| {
        app.state
            .notices
            .iter()
            .any(|n| n.error && n.text.contains("could not listen"))
    });
    assert_eq!(h.state().state.relay.status, RelayStatus::Stopped);
    h.get_by_label_contains(&format!("The relay could not start: could not listen on {addr}"));

    // eop without the expected certificate name is refused by the relay itself.
    h.state_mut().state.relay.form.listen = "127.0.0.1:0".into();
    h.state_mut().state.relay.form.role = RelayRole::Eop;
    h.get_by_label("▶ Start relay").click();
    h.run_steps(2);
    common::wait_until(
        &mut h,
        Duration::from_secs(30),
        "the eop configuration error",
        |app| {
            app.state
                .notices
                .iter()
                .any(|n| n.error && n.text.contains("--expect-cert-name"))
        },
    );
    assert_eq!(h.state().state.relay.status, RelayStatus::Stopped);

    // A client CA file that cannot be read: said before anything listens, with the file's name.
    h.state_mut().state.relay.form.expect_cert_names = "mail.contoso.com".into();
    let missing = spool.path().join("no-such-ca.pem");
    h.state_mut().state.relay.form.client_ca = missing.display().to_string();
    h.get_by_label("▶ Start relay").click();
    h.run_steps(2);
    common::wait_until(&mut h, Duration::from_secs(30), "the client CA error", |app| {
        app.state
            .notices
            .iter()
            .any(|n| n.error && n.text.contains("client CA") && n.text.contains("no-such-ca.pem"))
    });
    assert_eq!(h.state().state.relay.status, RelayStatus::Stopped);
}

/// The view's model alone: the recorded events of an eop relay (the snapshots' fixture) fill the lists,
/// in order, with the bound address, the refusal and the checks.
#[test]
fn recorded_events_fill_the_sessions_and_messages() {
    #[derive(serde::Deserialize)]
    struct Recorded {
        events: Vec<mailpath_core::relay::RelayEvent>,
    }
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/relay-eop.json");
    let recorded: Recorded = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let mut state = mailpath_app::gui::state::relay::RelayState::default();
    for event in recorded.events {
        state.apply(event);
    }
    assert_eq!(state.address(), Some("127.0.0.1:2525".parse().unwrap()));
    assert_eq!(state.sessions.len(), 3);
    assert_eq!(state.messages.len(), 2);
    let [accepted, second, refused] = [&state.sessions[0], &state.sessions[1], &state.sessions[2]];
    assert!(accepted.cert_words().starts_with("CN=mail.contoso.com"));
    assert_eq!(accepted.messages, 1);
    assert_eq!(accepted.status_words(), "closed: quit");
    assert_eq!(second.messages, 1);
    assert_eq!(refused.cert_words(), "none");
    assert!(refused.status_words().starts_with("refused: 550 5.7.64"));
    assert!(refused.checks.iter().any(|c| c.id == "relay.client-cert"));
    assert_eq!(state.messages[0].verdict.classification, Classification::Internal);
    assert_eq!(state.messages[0].session_id, accepted.id);
    // The lists are bounded.
    for _ in 0..600 {
        state.apply(mailpath_core::relay::RelayEvent::Message(
            state.messages[0].clone(),
        ));
    }
    assert_eq!(state.messages.len(), mailpath_app::gui::state::relay::MAX_ROWS);
}
