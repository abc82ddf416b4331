//! The relay end to end, in process: roles, attribution, events, forwarding, retries, bounces.

use std::time::Duration;

use time::OffsetDateTime;

use super::client::{self, ClientOptions, RcptOutcome, TlsPolicy};
use super::*;
use crate::ca::{LabCa, LeafSpec};
use crate::headers::Classification;

fn client_options(tls: TlsPolicy, cert: Option<Arc<rustls::sign::CertifiedKey>>) -> ClientOptions {
    ClientOptions {
        helo: "EX01.contoso.com".into(),
        tls,
        tls_name: Some("localhost".into()),
        roots: Vec::new(),
        client_cert: cert,
        timeouts: client::Timeouts {
            connect: Duration::from_secs(5),
            command: Duration::from_secs(5),
            data: Duration::from_secs(5),
        },
    }
}

/// The CA the on-premises certificates of these tests come from (given as `--client-ca`).
fn test_ca() -> &'static LabCa {
    static CA: std::sync::OnceLock<LabCa> = std::sync::OnceLock::new();
    CA.get_or_init(|| LabCa::generate(OffsetDateTime::now_utc()).unwrap())
}

fn client_cert(name: &str) -> Arc<rustls::sign::CertifiedKey> {
    let now = OffsetDateTime::now_utc();
    test_ca()
        .issue(&LeafSpec::server(name, vec![name.to_string()], now))
        .unwrap()
        .certified_key(true)
        .unwrap()
}

/// A certificate with the right name, issued by a CA nobody trusts.
fn stranger_cert(name: &str) -> Arc<rustls::sign::CertifiedKey> {
    let now = OffsetDateTime::now_utc();
    LabCa::generate(now)
        .unwrap()
        .issue(&LeafSpec::server(name, vec![name.to_string()], now))
        .unwrap()
        .certified_key(true)
        .unwrap()
}

const MESSAGE: &[u8] = b"From: adele@contoso.com\r\nTo: megan@contoso.mail.onmicrosoft.com\r\n\
Subject: hybrid test\r\nX-MS-Exchange-CrossPremises-AuthAs: Internal\r\n\
X-MS-Exchange-CrossPremises-AuthSource: EX01.contoso.com\r\n\r\nHello.\r\n";

async fn next_message(rx: &mut mpsc::Receiver<RelayEvent>) -> MessageReport {
    loop {
        let event = tokio::time::timeout(Duration::from_secs(10), rx.recv())
            .await
            .expect("an event within 10 s")
            .expect("the channel stays open");
        if let RelayEvent::Message(report) = event {
            return report;
        }
    }
}

#[tokio::test]
async fn eop_role_attributes_by_client_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = RelayConfig::new("127.0.0.1:0".parse().unwrap(), dir.path());
    config.role = Role::Eop;
    config.expected_cert_names = vec!["mail.contoso.com".into()];
    config.client_roots = Some(vec![test_ca().root_der()]);
    let (tx, mut rx) = mpsc::channel(256);
    let relay = Relay::start(config, Some(tx)).await.unwrap();
    let addr = relay.local_addr();
    let Some(RelayEvent::Listening { ca_file, role, .. }) = rx.recv().await else {
        panic!("the first event is listening");
    };
    assert_eq!(role, Role::Eop);
    assert!(ca_file.unwrap().exists());
    let rcpt = vec!["megan@contoso.mail.onmicrosoft.com".to_string()];
    let send = |options: ClientOptions| {
        let rcpt = rcpt.clone();
        async move {
            client::send(
                "127.0.0.1",
                addr.port(),
                &options,
                "adele@contoso.com",
                &rcpt,
                MESSAGE,
            )
            .await
        }
    };

    // The right certificate: accepted, captured with the chain, judged internal.
    let ok = send(client_options(
        TlsPolicy::Required,
        Some(client_cert("mail.contoso.com")),
    ))
    .await;
    assert!(ok.all_delivered(), "{ok:#?}");
    assert!(ok.tls.as_deref().unwrap().starts_with("TLSv1."));
    let report = next_message(&mut rx).await;
    assert_eq!(
        report.verdict.classification,
        Classification::Internal,
        "{report:#?}"
    );
    assert_eq!(
        report.client_cert.as_ref().unwrap().common_names,
        ["mail.contoso.com"]
    );
    let status = |id: &str| report.checks.iter().find(|c| c.id == id).map(|c| c.status);
    assert_eq!(status("relay.client-cert.name"), Some(crate::check::Status::Pass));
    assert_eq!(status("relay.verdict"), Some(crate::check::Status::Pass));
    let meta = relay.spool().meta(&report.id).unwrap();
    assert_eq!(meta.session.tls.as_ref().unwrap().client_chain_der_b64.len(), 2);
    assert_eq!(meta.delivery.state, DeliveryState::Captured);

    // A wrong name, or none: 550 5.7.64 at RCPT.
    let wrong = send(client_options(
        TlsPolicy::Required,
        Some(client_cert("mail.fabrikam.com")),
    ))
    .await;
    let RcptOutcome::Failed(reply) = &wrong.recipients[0].1 else {
        panic!("{wrong:#?}");
    };
    assert!(
        reply.starts_with("550 5.7.64 TenantAttribution; Relay Access Denied"),
        "{reply}"
    );
    // The right name from a CA that is not trusted: anyone can make one.
    let untrusted = send(client_options(
        TlsPolicy::Required,
        Some(stranger_cert("mail.contoso.com")),
    ))
    .await;
    assert!(
        matches!(&untrusted.recipients[0].1, RcptOutcome::Failed(r)
            if r.starts_with("550 5.7.64") && r.contains("not trusted")),
        "{untrusted:#?}"
    );
    let none = send(client_options(TlsPolicy::Required, None)).await;
    assert!(
        matches!(&none.recipients[0].1, RcptOutcome::Failed(r) if r.contains("no client certificate")),
        "{none:#?}"
    );

    // No TLS: refused before MAIL is accepted.
    let plain = send(client_options(TlsPolicy::None, None)).await;
    assert!(
        matches!(&plain.recipients[0].1, RcptOutcome::Deferred(r) if r.contains("451 5.7.3 STARTTLS is required")),
        "{plain:#?}"
    );
    assert_eq!(relay.spool().ids().unwrap().len(), 1);
    relay.shutdown().await;
}

/// A relay accepting contoso.com and forwarding as `forward` says, with its event stream.
async fn forwarding_relay(
    dir: &std::path::Path,
    forward: ForwardConfig,
    bounce_external: bool,
) -> (Relay, mpsc::Receiver<RelayEvent>) {
    let mut config = RelayConfig::new("127.0.0.1:0".parse().unwrap(), dir);
    config.accepted_domains = vec!["contoso.com".into()];
    config.forward = Some(forward);
    config.bounce_external = bounce_external;
    let (tx, rx) = mpsc::channel(256);
    (Relay::start(config, Some(tx)).await.unwrap(), rx)
}

/// Send [`MESSAGE`] from `from` to megan@contoso.com through `relay`.
async fn send_to_megan(relay: &Relay, from: &str) -> client::SendOutcome {
    let opts = client_options(TlsPolicy::Opportunistic, None);
    let rcpt = ["megan@contoso.com".to_string()];
    client::send(
        "127.0.0.1",
        relay.local_addr().port(),
        &opts,
        from,
        &rcpt,
        MESSAGE,
    )
    .await
}

#[tokio::test]
async fn forwarding_delivers_retries_and_bounces() {
    // The final destination: a sink.
    let far_dir = tempfile::tempdir().unwrap();
    let far = Relay::start(
        RelayConfig::new("127.0.0.1:0".parse().unwrap(), far_dir.path()),
        None,
    )
    .await
    .unwrap();

    let near_dir = tempfile::tempdir().unwrap();
    let forward = |port: u16, attempts: u32| ForwardConfig {
        route: forward::Route::SmartHost {
            host: "127.0.0.1".into(),
            port,
        },
        client: client_options(TlsPolicy::Required, None),
        retry_base: Duration::from_millis(100),
        retry_max: Duration::from_millis(200),
        max_attempts: attempts,
        concurrency: 2,
    };
    let (near, mut rx) = forwarding_relay(near_dir.path(), forward(far.local_addr().port(), 3), false).await;
    let opts = client_options(TlsPolicy::Opportunistic, None);
    // Open relay attempt: refused.
    let relay_attempt = client::send(
        "127.0.0.1",
        near.local_addr().port(),
        &opts,
        "a@fabrikam.com",
        &["victim@elsewhere.example".to_string()],
        MESSAGE,
    )
    .await;
    assert!(
        matches!(&relay_attempt.recipients[0].1, RcptOutcome::Failed(r) if r.starts_with("550 5.7.1")),
        "{relay_attempt:#?}"
    );
    let sent = send_to_megan(&near, "a@fabrikam.com").await;
    assert!(sent.all_delivered(), "{sent:#?}");
    let delivered = loop {
        match tokio::time::timeout(Duration::from_secs(10), rx.recv()).await {
            Ok(Some(RelayEvent::Delivery {
                id, state, attempt, ..
            })) => break (id, state, attempt),
            Ok(Some(_)) => {}
            other => panic!("no delivery event: {other:?}"),
        }
    };
    assert_eq!(delivered.1, DeliveryState::Delivered, "{delivered:#?}");
    assert!(delivered.2.tls.is_some());
    let far_ids = far.spool().ids().unwrap();
    assert_eq!(far_ids.len(), 1);
    let copy = String::from_utf8(far.spool().data(&far_ids[0]).unwrap()).unwrap();
    assert!(
        copy.starts_with("Received: from EX01.contoso.com (127.0.0.1) by relay.mailpath.test"),
        "{copy}"
    );
    assert!(copy.contains("with ESMTPS"), "{copy}");
    assert!(copy.ends_with("Hello.\r\n"));
    let meta = near.spool().meta(&delivered.0).unwrap();
    assert_eq!(meta.delivery.delivered, ["megan@contoso.com"]);
    assert_eq!(meta.delivery.log.len(), 1);
    near.shutdown().await;
    far.shutdown().await;

    // A smart host that is down: retried with backoff, then bounced to the sender (outside the
    // accepted domains: only with --bounce-external).
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let closed_port = closed.local_addr().unwrap().port();
    drop(closed);
    let dir = tempfile::tempdir().unwrap();
    let (near, mut rx) = forwarding_relay(dir.path(), forward(closed_port, 2), true).await;
    assert!(send_to_megan(&near, "a@fabrikam.com").await.all_delivered());
    // Events of the original message (its bounce, also undeliverable here, has its own).
    let mut states = Vec::new();
    let mut first_id = None;
    while states.last() != Some(&DeliveryState::Failed) {
        match tokio::time::timeout(Duration::from_secs(10), rx.recv()).await {
            Ok(Some(RelayEvent::Delivery { id, state, .. })) => {
                if first_id.get_or_insert_with(|| id.clone()) == &id {
                    states.push(state);
                }
            }
            Ok(Some(_)) => {}
            other => panic!("no delivery event: {other:?} after {states:?}"),
        }
    }
    assert_eq!(states, [DeliveryState::Queued, DeliveryState::Failed]);
    let ids = near.spool().ids().unwrap();
    assert_eq!(ids.len(), 2, "the message and its bounce");
    let original = ids
        .iter()
        .map(|id| near.spool().meta(id).unwrap())
        .find(|m| !m.mail_from.is_empty())
        .unwrap();
    let bounce_id = original.delivery.bounce_id.clone().unwrap();
    assert!(
        original.delivery.failed[0]
            .reason
            .contains("gave up after 2 attempts")
    );
    let bounce = near.spool().meta(&bounce_id).unwrap();
    assert_eq!(
        (bounce.mail_from.as_str(), bounce.rcpt_to.as_slice()),
        ("", &["a@fabrikam.com".to_string()][..])
    );
    let text = String::from_utf8(near.spool().data(&bounce_id).unwrap()).unwrap();
    assert!(
        text.contains("Final-Recipient: rfc822; megan@contoso.com"),
        "{text}"
    );
    assert!(
        std::fs::read_to_string(dir.path().join("delivery.log"))
            .unwrap()
            .lines()
            .count()
            >= 2
    );
    near.shutdown().await;

    // Without --bounce-external: no backscatter; the failure is logged and the message kept.
    let dir = tempfile::tempdir().unwrap();
    let (near, mut rx) = forwarding_relay(dir.path(), forward(closed_port, 1), false).await;
    assert!(send_to_megan(&near, "forged@fabrikam.com").await.all_delivered());
    let (id, attempt) = loop {
        match tokio::time::timeout(Duration::from_secs(10), rx.recv()).await {
            Ok(Some(RelayEvent::Delivery {
                id,
                state: DeliveryState::Failed,
                attempt,
                ..
            })) => break (id, attempt),
            Ok(Some(_)) => {}
            other => panic!("no failed delivery: {other:?}"),
        }
    };
    assert!(
        attempt
            .detail
            .starts_with("no bounce sent to <forged@fabrikam.com>"),
        "{attempt:#?}"
    );
    assert_eq!(
        near.spool().ids().unwrap(),
        std::slice::from_ref(&id),
        "no bounce was queued"
    );
    let meta = near.spool().meta(&id).unwrap();
    assert_eq!(meta.delivery.bounce_id, None);
    assert!(meta.delivery.log[0].detail.contains("--bounce-external"));
    let log = std::fs::read_to_string(dir.path().join("delivery.log")).unwrap();
    assert!(log.contains("no bounce sent to <forged@fabrikam.com>"), "{log}");
    near.shutdown().await;
}

#[tokio::test]
async fn the_client_sends_the_parsed_address_or_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let sink = Relay::start(RelayConfig::new("127.0.0.1:0".parse().unwrap(), dir.path()), None)
        .await
        .unwrap();
    let rcpt = vec![
        "\"john smith\"@contoso.com".to_string(),
        "victim@evil.example> ORCPT=rfc822;x@contoso.com".to_string(),
        "user@evil.example@contoso.com".to_string(),
    ];
    let sent = client::send(
        "127.0.0.1",
        sink.local_addr().port(),
        &client_options(TlsPolicy::None, None),
        "adele@contoso.com",
        &rcpt,
        MESSAGE,
    )
    .await;
    assert!(
        matches!(sent.recipients[0].1, RcptOutcome::Delivered(_)),
        "{sent:#?}"
    );
    for (_, outcome) in &sent.recipients[1..] {
        assert!(
            matches!(outcome, RcptOutcome::Failed(r) if r.starts_with("553 5.1.3 not sent")),
            "{sent:#?}"
        );
    }
    let lines: Vec<&str> = sent
        .transcript
        .iter()
        .filter(|l| l.text.starts_with("RCPT"))
        .map(|l| l.text.as_str())
        .collect();
    assert_eq!(lines, ["RCPT TO:<\"john smith\"@contoso.com>"]);
    let ids = sink.spool().ids().unwrap();
    assert_eq!(
        sink.spool().meta(&ids[0]).unwrap().rcpt_to,
        ["\"john smith\"@contoso.com"]
    );
    // A sender that does not parse: nothing is sent at all.
    let bad_sender = client::send(
        "127.0.0.1",
        sink.local_addr().port(),
        &client_options(TlsPolicy::None, None),
        "a\"b@contoso.com",
        &rcpt[..1],
        MESSAGE,
    )
    .await;
    assert!(bad_sender.transcript.is_empty(), "{bad_sender:#?}");
    assert!(matches!(&bad_sender.recipients[0].1, RcptOutcome::Failed(r) if r.starts_with("553 5.1.7")));
    sink.shutdown().await;
}

#[tokio::test]
async fn queued_messages_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let mut config = RelayConfig::new("127.0.0.1:0".parse().unwrap(), dir.path());
    config.accepted_domains = vec!["contoso.com".into()];
    config.forward = Some(ForwardConfig {
        route: forward::Route::SmartHost {
            host: "127.0.0.1".into(),
            port,
        },
        client: client_options(TlsPolicy::Opportunistic, None),
        retry_base: Duration::from_secs(3600),
        retry_max: Duration::from_secs(3600),
        max_attempts: 10,
        concurrency: 1,
    });
    let relay = Relay::start(config.clone(), None).await.unwrap();
    let opts = client_options(TlsPolicy::None, None);
    let sent = client::send(
        "127.0.0.1",
        relay.local_addr().port(),
        &opts,
        "a@fabrikam.com",
        &["megan@contoso.com".to_string()],
        MESSAGE,
    )
    .await;
    assert!(sent.all_delivered());
    relay.shutdown().await;
    let (tx, mut rx) = mpsc::channel(16);
    let relay = Relay::start(config, Some(tx)).await.unwrap();
    let Some(RelayEvent::Listening { recovery, .. }) = rx.recv().await else {
        panic!("listening first");
    };
    assert_eq!(recovery.messages, 1);
    assert_eq!(recovery.queued.len(), 1);
    relay.shutdown().await;
}

#[test]
fn events_serialise_flat_with_an_event_tag() {
    let event = RelayEvent::Session(SessionEvent::Refused {
        peer: "127.0.0.1:1".parse().unwrap(),
        reply: "421".into(),
    });
    let json = serde_json::to_value(&event).unwrap();
    assert_eq!(json["event"], "refused");
    let back: RelayEvent = serde_json::from_value(json).unwrap();
    assert_eq!(back, event);
    let checks = RelayEvent::SessionChecks {
        session_id: "S1".into(),
        checks: Vec::new(),
    };
    assert_eq!(serde_json::to_value(&checks).unwrap()["event"], "session-checks");
}

#[tokio::test]
async fn forwarding_by_mx_follows_preference_fallback_and_null_mx() {
    use crate::dns::{RecordData, Resolver};
    use crate::lab::dns_server::{LabDnsServer, Zone};

    let far_dir = tempfile::tempdir().unwrap();
    let mut far_config = RelayConfig::new("127.0.0.1:0".parse().unwrap(), far_dir.path());
    far_config.accepted_domains = vec!["mx.test".into(), "implicit.test".into()];
    let far = Relay::start(far_config, None).await.unwrap();
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let closed_port = closed.local_addr().unwrap().port();
    drop(closed);

    let lo = RecordData::A("127.0.0.1".parse().unwrap());
    let mx = |preference: u16, exchange: &str| RecordData::Mx {
        preference,
        exchange: exchange.into(),
    };
    let zones = vec![
        Zone::new("mx.test")
            // Listed out of order: preference decides.
            .with("mx.test", 60, mx(20, "up.mx.test"))
            .with("mx.test", 60, mx(10, "down.mx.test"))
            .with("down.mx.test", 60, lo.clone())
            .with("up.mx.test", 60, lo.clone()),
        Zone::new("implicit.test").with("implicit.test", 60, lo.clone()),
        Zone::new("nullmx.test").with("nullmx.test", 60, mx(0, ".")),
    ];
    let dns = LabDnsServer::start("127.0.0.1".parse().unwrap(), zones)
        .await
        .unwrap();
    let resolver = Resolver::with_servers(&[dns.local_addr()], Duration::from_secs(2));
    assert_eq!(
        forward::mx_targets(&resolver, "mx.test").await,
        forward::MxTargets::Hosts(vec!["down.mx.test".into(), "up.mx.test".into()])
    );
    assert_eq!(
        forward::mx_targets(&resolver, "implicit.test").await,
        forward::MxTargets::Hosts(vec!["implicit.test".into()])
    );

    let far_port = far.local_addr().port();
    let near_dir = tempfile::tempdir().unwrap();
    let mut config = RelayConfig::new("127.0.0.1:0".parse().unwrap(), near_dir.path());
    config.accepted_domains = ["mx.test", "implicit.test", "nullmx.test", "gone.mx.test"]
        .map(String::from)
        .to_vec();
    let mut options = client_options(TlsPolicy::Required, None);
    options.tls_name = None;
    config.forward = Some(ForwardConfig {
        route: forward::Route::Mx(forward::MxRoute {
            resolver,
            port: closed_port,
            port_overrides: vec![
                ("up.mx.test".into(), far_port),
                ("implicit.test".into(), far_port),
            ],
        }),
        client: options,
        retry_base: Duration::from_secs(3600),
        retry_max: Duration::from_secs(3600),
        max_attempts: 3,
        concurrency: 1,
    });
    let (tx, mut rx) = mpsc::channel(256);
    let near = Relay::start(config, Some(tx)).await.unwrap();
    let Some(RelayEvent::Listening { forward, .. }) = rx.recv().await else {
        panic!("listening first");
    };
    assert!(forward.unwrap().starts_with("MX (DNS 127.0.0.1:"));
    let rcpts: Vec<String> = [
        "megan@mx.test",
        "alex@implicit.test",
        "nobody@nullmx.test",
        "ghost@gone.mx.test",
    ]
    .map(String::from)
    .to_vec();
    let sent = client::send(
        "127.0.0.1",
        near.local_addr().port(),
        &client_options(TlsPolicy::None, None),
        "adele@contoso.com",
        &rcpts,
        MESSAGE,
    )
    .await;
    assert!(sent.all_delivered(), "{sent:#?}");
    let (state, attempt, delivered, failed) = loop {
        match tokio::time::timeout(Duration::from_secs(20), rx.recv()).await {
            Ok(Some(RelayEvent::Delivery {
                state,
                attempt,
                delivered,
                failed,
                ..
            })) => break (state, attempt, delivered, failed),
            Ok(Some(_)) => {}
            other => panic!("no delivery event: {other:?}"),
        }
    };
    assert_eq!(state, DeliveryState::Failed, "{attempt:#?}");
    assert_eq!(delivered, ["megan@mx.test", "alex@implicit.test"], "{attempt:#?}");
    let reasons: Vec<(&str, &str)> = failed
        .iter()
        .map(|f| (f.rcpt.as_str(), f.reason.as_str()))
        .collect();
    assert_eq!(reasons.len(), 2, "{reasons:?}");
    assert_eq!(reasons[0].0, "nobody@nullmx.test");
    assert!(reasons[0].1.starts_with("556 5.1.10"), "{reasons:?}");
    assert_eq!(reasons[1].0, "ghost@gone.mx.test");
    assert!(reasons[1].1.starts_with("550 5.1.2"), "{reasons:?}");
    // The lower preference was tried first, then the next MX; TLS was required and used.
    let down = attempt
        .host
        .find(&format!("down.mx.test[127.0.0.1]:{closed_port}"));
    let up = attempt.host.find(&format!("up.mx.test[127.0.0.1]:{far_port}"));
    assert!(down.is_some() && up.is_some() && down < up, "{}", attempt.host);
    assert!(attempt.tls.is_some());
    // Both deliveries arrived at the far relay, one session per recipient domain.
    let ids = far.spool().ids().unwrap();
    let mut arrived: Vec<Vec<String>> = ids
        .iter()
        .map(|id| far.spool().meta(id).unwrap().rcpt_to)
        .collect();
    arrived.sort();
    assert_eq!(
        arrived,
        [
            vec!["alex@implicit.test".to_string()],
            vec!["megan@mx.test".to_string()]
        ]
    );
    near.shutdown().await;
    far.shutdown().await;
    dns.shutdown().await;
}

#[tokio::test]
async fn eop_role_takes_accepted_domains_from_anyone_and_relays_only_by_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = RelayConfig::new("127.0.0.1:0".parse().unwrap(), dir.path());
    config.role = Role::Eop;
    config.expected_cert_names = vec!["mail.contoso.com".into()];
    config.accepted_domains = vec!["contoso.com".into()];
    config.client_roots = Some(vec![test_ca().root_der()]);
    let (tx, mut rx) = mpsc::channel(256);
    let relay = Relay::start(config, Some(tx)).await.unwrap();
    let port = relay.local_addr().port();
    let send = |cert: Option<Arc<rustls::sign::CertifiedKey>>, rcpt: &'static str| async move {
        client::send(
            "127.0.0.1",
            port,
            &client_options(TlsPolicy::Required, cert),
            "adele@contoso.com",
            &[rcpt.to_string()],
            MESSAGE,
        )
        .await
    };
    // Inbound to an accepted domain without a certificate: taken, but anonymous.
    let anonymous = send(None, "megan@contoso.com").await;
    assert!(anonymous.all_delivered(), "{anonymous:#?}");
    let report = next_message(&mut rx).await;
    assert_eq!(report.verdict.classification, Classification::Anonymous);
    // Relaying elsewhere: only with the certificate the connector expects.
    let relayed = send(Some(client_cert("mail.contoso.com")), "partner@fabrikam.com").await;
    assert!(relayed.all_delivered(), "{relayed:#?}");
    for cert in [
        None,
        Some(client_cert("mail.fabrikam.com")),
        Some(stranger_cert("mail.contoso.com")),
    ] {
        let refused = send(cert, "partner@fabrikam.com").await;
        assert!(
            matches!(&refused.recipients[0].1, RcptOutcome::Failed(r)
                if r.starts_with("550 5.7.64 TenantAttribution; Relay Access Denied")),
            "{refused:#?}"
        );
    }
    assert_eq!(relay.spool().ids().unwrap().len(), 2);
    relay.shutdown().await;
}

/// The `relay.client-cert.*` statuses of the checks, in order, without pass/skip ones.
fn not_passing(checks: &[crate::check::CheckResult]) -> Vec<(String, crate::check::Status)> {
    use crate::check::Status;
    checks
        .iter()
        .filter(|c| c.id.starts_with("relay.client-cert") && !matches!(c.status, Status::Pass | Status::Skip))
        .map(|c| (c.id.clone(), c.status))
        .collect()
}

#[tokio::test]
async fn client_certificates_are_judged_by_the_probes_certificate_checks() {
    use crate::ca::{LeafIssuer, LeafKey};
    use crate::check::Status;

    let now = OffsetDateTime::now_utc();
    let day = time::Duration::days(1);
    let ca = LabCa::generate(now).unwrap();
    let stranger = LabCa::generate(now).unwrap();
    // A CA made six years ago: its intermediate (five years) has expired, its root (ten) has not.
    let old = LabCa::generate(now - 6 * 365 * day).unwrap();
    let spec = || LeafSpec::server("mail.contoso.com", ["mail.contoso.com"], now);
    let key = |ca: &LabCa, spec: LeafSpec| ca.issue(&spec).unwrap().certified_key(true).unwrap();
    let mut expired = spec();
    expired.not_before = now - 400 * day;
    expired.not_after = now - 3 * day;
    let mut soon = spec();
    soon.not_before = now - 300 * day;
    soon.not_after = now + 20 * day;
    let mut weak = spec();
    weak.key = LeafKey::Rsa1024;
    type Case = (
        &'static str,
        Arc<rustls::sign::CertifiedKey>,
        Vec<(&'static str, Status)>,
    );
    let cases: Vec<Case> = vec![
        ("good", key(&ca, spec()), vec![]),
        (
            "expired",
            key(&ca, expired),
            vec![("relay.client-cert.validity", Status::Fail)],
        ),
        (
            "expiring",
            key(&ca, soon),
            vec![("relay.client-cert.expiry", Status::Warn)],
        ),
        (
            "wrong name",
            key(
                &ca,
                LeafSpec::server("mail.fabrikam.com", ["mail.fabrikam.com"], now),
            ),
            vec![("relay.client-cert.name", Status::Fail)],
        ),
        (
            // Every lab CA has the same names, as a CA re-keyed under its old name: the key identifiers
            // say why the chain does not reach the trusted root of that name.
            "untrusted",
            key(&stranger, spec()),
            vec![
                ("relay.client-cert.trust", Status::Fail),
                ("relay.client-cert.chain.key_ids", Status::Fail),
            ],
        ),
        (
            "self-signed",
            key(&ca, spec().with_issuer(LeafIssuer::SelfSigned)),
            vec![("relay.client-cert.trust", Status::Fail)],
        ),
        (
            "weak key",
            key(&ca, weak),
            vec![("relay.client-cert.key", Status::Fail)],
        ),
        (
            "expired intermediate",
            key(&old, spec()),
            vec![("relay.client-cert.chain.ca_validity", Status::Fail)],
        ),
    ];
    let inspector = inspect::Inspector {
        role: Role::Eop,
        expected_names: vec!["mail.contoso.com".into()],
        client_roots: Some(vec![ca.root_der(), old.root_der()]),
        org_domains: vec!["contoso.com".into()],
    };
    // Pure: the captured chain, judged as the probes judge a server's (one fault, one check).
    for (name, key, want) in &cases {
        let tls = crate::smtp::server::TlsInfo {
            version: "TLSv1.3".into(),
            cipher: "TLS13_AES_256_GCM_SHA384".into(),
            sni: None,
            client_chain_der_b64: key.cert.iter().map(|c| data_encoding::BASE64.encode(c)).collect(),
        };
        let session = crate::smtp::server::SessionInfo {
            id: "S1".into(),
            peer: "127.0.0.1:1".parse().unwrap(),
            local: "127.0.0.1:25".parse().unwrap(),
            started: now,
            helo: Some("mail.contoso.com".into()),
            tls: Some(tls),
        };
        let checks = inspector.session_checks(&session, now);
        let got = not_passing(&checks);
        let want: Vec<(String, Status)> = want.iter().map(|(i, s)| (i.to_string(), *s)).collect();
        assert_eq!(got, want, "{name}: {checks:#?}");
        let ids: Vec<&str> = checks.iter().map(|c| c.id.as_str()).collect();
        assert_eq!(
            ids.len(),
            20,
            "{name}: relay.tls, nine client-cert checks and ten chain rules"
        );
        let failed = checks.iter().find(|c| c.status == Status::Fail);
        if let Some(failed) = failed {
            assert!(!failed.remediation.is_empty(), "{name}: {failed:#?}");
        }
        assert_eq!(
            matches!(inspector.attribution(&session), inspect::Attribution::Matched(_)),
            matches!(*name, "good" | "expiring" | "weak key"),
            "{name}"
        );
    }

    // Over the wire, captured by a running relay: the same verdicts (RSA 1024 cannot complete a
    // handshake with ring, so it is judged from a captured chain above only).
    let dir = tempfile::tempdir().unwrap();
    let mut config = RelayConfig::new("127.0.0.1:0".parse().unwrap(), dir.path());
    config.role = Role::Edge;
    config.expected_cert_names = vec!["mail.contoso.com".into()];
    config.client_roots = Some(vec![ca.root_der(), old.root_der()]);
    let (tx, mut rx) = mpsc::channel(256);
    let relay = Relay::start(config, Some(tx)).await.unwrap();
    for (name, key, want) in cases {
        let sent = client::send(
            "127.0.0.1",
            relay.local_addr().port(),
            &client_options(TlsPolicy::Required, Some(key)),
            "adele@contoso.com",
            &["megan@contoso.com".to_string()],
            MESSAGE,
        )
        .await;
        if name == "weak key" {
            // The relay refuses the handshake signature of a 1024-bit key (ring): nothing stored.
            assert!(
                matches!(&sent.recipients[0].1, RcptOutcome::Deferred(r) if r.contains("DecryptError")),
                "{sent:#?}"
            );
            continue;
        }
        assert!(sent.all_delivered(), "{name}: {sent:#?}");
        let report = next_message(&mut rx).await;
        // On-premises roles warn about a name mismatch rather than fail.
        let want: Vec<(String, Status)> = want
            .iter()
            .map(|(i, s)| {
                let s = if *i == "relay.client-cert.name" {
                    Status::Warn
                } else {
                    *s
                };
                (i.to_string(), s)
            })
            .collect();
        assert_eq!(not_passing(&report.checks), want, "{name}: {:#?}", report.checks);
    }
    relay.shutdown().await;
}

/// Issue 13 item 12: the relay's edge and mailbox roles judge the verdict as the header analysis does:
/// internet mail that EOP delivers on-premises arrives anonymous by design (not a failure); the
/// organization's own mail arriving anonymous is one.
#[test]
fn edge_and_mailbox_roles_fail_anonymous_only_for_the_organizations_mail() {
    use crate::check::Status;
    use crate::relay::spool::{Delivery, META_SCHEMA, MessageMeta};
    use crate::smtp::server::SessionInfo;

    let internet = std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../tests/fixtures/headers/internet-via-eop-to-onprem.eml"),
    )
    .unwrap();
    let own = String::from_utf8(internet.clone())
        .unwrap()
        .replace(
            "Someone <someone@gmail.example>",
            "Adele Vance <adele@contoso.com>",
        )
        .into_bytes();
    let now = OffsetDateTime::now_utc();
    let peer = "127.0.0.1:40000".parse().unwrap();
    let meta = MessageMeta {
        schema: META_SCHEMA.into(),
        id: "m1".into(),
        received_at: now,
        mail_from: "someone@gmail.example".into(),
        rcpt_to: vec!["megan@contoso.com".into()],
        size: internet.len(),
        session: SessionInfo {
            id: "S1".into(),
            peer,
            local: peer,
            started: now,
            helo: Some("DM6NAM11FT058.eop-nam11.prod.protection.outlook.com".into()),
            tls: None,
        },
        subject: None,
        message_id: None,
        tracking_id: None,
        delivery: Delivery::queued(&["megan@contoso.com".to_string()]),
    };
    for role in [Role::Edge, Role::Mailbox] {
        let inspector = inspect::Inspector {
            role,
            expected_names: Vec::new(),
            client_roots: None,
            org_domains: vec!["contoso.com".into()],
        };
        let verdict = |data: &[u8]| {
            let report = inspector.message_report(&meta, data);
            report
                .checks
                .iter()
                .find(|c| c.id == "relay.verdict")
                .map(|c| c.status)
                .unwrap()
        };
        assert_eq!(verdict(&internet), Status::Info, "{role:?}: internet mail");
        assert_eq!(verdict(&own), Status::Fail, "{role:?}: the organization's mail");
    }
}

/// Issue 13 item 3: the relay's eop role attributes a session as Exchange Online does: a connector
/// expecting `*.contoso.com` (the domain and all its subdomains) takes a mail.contoso.com certificate, not a
/// certificate of another domain.
#[test]
fn eop_role_attributes_a_wildcard_sender_certificate_name_by_domain() {
    let now = OffsetDateTime::now_utc();
    let ca = LabCa::generate(now).unwrap();
    let inspector = inspect::Inspector {
        role: Role::Eop,
        expected_names: vec!["*.contoso.com".into()],
        client_roots: Some(vec![ca.root_der()]),
        org_domains: vec!["contoso.com".into()],
    };
    let session = |host: &str| {
        let key = ca
            .issue(&LeafSpec::server(host, [host], now))
            .unwrap()
            .certified_key(true)
            .unwrap();
        crate::smtp::server::SessionInfo {
            id: "S1".into(),
            peer: "127.0.0.1:1".parse().unwrap(),
            local: "127.0.0.1:25".parse().unwrap(),
            started: now,
            helo: Some(host.into()),
            tls: Some(crate::smtp::server::TlsInfo {
                version: "TLSv1.3".into(),
                cipher: "TLS13_AES_256_GCM_SHA384".into(),
                sni: None,
                client_chain_der_b64: key.cert.iter().map(|c| data_encoding::BASE64.encode(c)).collect(),
            }),
        }
    };
    for host in ["mail.contoso.com", "smtp.eu.contoso.com", "contoso.com"] {
        let s = session(host);
        assert!(
            matches!(inspector.attribution(&s), inspect::Attribution::Matched(_)),
            "{host}"
        );
        let name = inspector
            .session_checks(&s, now)
            .into_iter()
            .find(|c| c.id == "relay.client-cert.name")
            .unwrap();
        assert_eq!(name.status, crate::check::Status::Pass, "{host}: {name:#?}");
    }
    for host in ["mail.fabrikam.com", "contoso.com.evil.example"] {
        assert!(
            matches!(
                inspector.attribution(&session(host)),
                inspect::Attribution::Refused(_)
            ),
            "{host}"
        );
    }
}
