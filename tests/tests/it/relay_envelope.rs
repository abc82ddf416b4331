//! The envelope through the real `mailpath relay` over TCP, checked at a capturing smart host: quoted
//! local parts are judged and forwarded as one address (never unquoted into another), `SIZE=` that
//! overflows is too large, duplicate recipients are delivered once, non-ASCII addresses travel only
//! with SMTPUTF8 (RFC 6531), and no bounce goes to a sender outside the accepted domains unless
//! `--bounce-external` is given.

use std::time::Duration;

use crate::relay_capture::{CaptureHost, Tls, Transaction, message, smtp_client};
use crate::relay_support::{RelayProcess, spool_ids, spool_meta, spool_metas};

fn forwarding_relay(spool: &std::path::Path, capture: &CaptureHost, extra: &[&str]) -> RelayProcess {
    let mut args = vec!["--role", "mailbox", "--accept-domain", "contoso.com", "--forward"];
    let forward = capture.address();
    args.push(&forward);
    args.extend(["--retry-base", "0.2"]);
    args.extend(extra);
    RelayProcess::start(spool, &args)
}

#[test]
fn quoted_local_parts_are_judged_and_forwarded_as_one_address() {
    let capture = CaptureHost::start(&[]);
    let spool = tempfile::tempdir().unwrap();
    let relay = forwarding_relay(spool.path(), &capture, &[]);
    let transactions = [
        Transaction {
            mail: "MAIL FROM:<\"adele vance\"@fabrikam.com>".into(),
            rcpt: vec![
                // The injection: accepted for contoso.com, it went out unquoted as
                // `RCPT TO:<victim@evil.example> ORCPT=...>`.
                "RCPT TO:<\"victim@evil.example> ORCPT=rfc822;x\"@contoso.com>".into(),
                "RCPT TO:<\"user@evil.com\"@contoso.com>".into(),
                "RCPT TO:<user%evil.com@contoso.com>".into(),
                "RCPT TO:<evil.com!user@contoso.com>".into(),
                "RCPT TO:<@contoso.com:user@evil.com>".into(),
                "RCPT TO:<\"megan smith\"@contoso.com>".into(),
            ],
            data: message("quoted", "quoted"),
        },
        Transaction {
            mail: "MAIL FROM:<\"victim@evil.example> ORCPT=rfc822;x\"@contoso.com>".into(),
            rcpt: vec!["RCPT TO:<megan@contoso.com>".into()],
            data: message("quoted", "sender"),
        },
    ];
    let Some(outcomes) = smtp_client(relay.addr.port(), Tls::default(), &transactions) else {
        return;
    };
    let replies: Vec<String> = outcomes[0]
        .rcpt
        .iter()
        .map(|r| format!("{} {}", r.code, r.text))
        .collect();
    assert!(replies[0].starts_with("501 5.1.3 "), "{replies:#?}");
    for routed in &replies[1..5] {
        assert!(
            routed.starts_with("550 5.7.1 Relay access denied: sender-specified routing"),
            "{replies:#?}"
        );
    }
    assert_eq!(replies[5], "250 2.1.5 Recipient OK <\"megan smith\"@contoso.com>");
    assert_eq!(outcomes[0].data.as_ref().map(|r| r.code), Some(250));
    assert_eq!(outcomes[1].mail.code, 501, "{:?}", outcomes[1]);
    assert!(outcomes[1].mail.text.starts_with("5.1.7 "), "{:?}", outcomes[1]);

    let seen = capture.wait_for(Duration::from_secs(30), |seen| !seen.is_empty());
    assert_eq!(seen.len(), 1, "{seen:#?}");
    assert_eq!(seen[0].rcpt, ["RCPT TO:<\"megan smith\"@contoso.com>"]);
    assert!(
        seen[0]
            .mail
            .starts_with("MAIL FROM:<\"adele vance\"@fabrikam.com> SIZE="),
        "{seen:#?}"
    );
    assert_eq!(
        capture.lines().iter().filter(|l| l.starts_with("RCPT")).count(),
        1
    );
    assert!(relay.stop().success());
}

#[test]
fn size_overflow_is_too_large_and_duplicates_are_delivered_once() {
    let capture = CaptureHost::start(&[]);
    let spool = tempfile::tempdir().unwrap();
    let relay = forwarding_relay(spool.path(), &capture, &[]);
    let sized = |size: &str| Transaction {
        mail: format!("MAIL FROM:<adele@fabrikam.com> SIZE={size}"),
        rcpt: vec!["RCPT TO:<megan@contoso.com>".into()],
        data: message("size", size),
    };
    let transactions = [
        // 2^64 * 10: wrapped to 0 by a saturating parser that restarts after overflowing.
        sized("184467440737095516160"),
        sized("18446744073709551616"),
        sized("99999999999999999999999999999999"),
        sized("37748737"),
        sized("1000"),
        Transaction {
            mail: "MAIL FROM:<adele@fabrikam.com>".into(),
            rcpt: vec![
                "RCPT TO:<megan@contoso.com>".into(),
                "RCPT TO:<megan@contoso.com>".into(),
                "RCPT TO:<Megan@CONTOSO.com>".into(),
                "RCPT TO:<alex@contoso.com>".into(),
                "RCPT TO:<\"megan\"@contoso.com>".into(),
            ],
            data: message("size", "duplicates"),
        },
    ];
    let Some(outcomes) = smtp_client(relay.addr.port(), Tls::default(), &transactions) else {
        return;
    };
    for (i, o) in outcomes[..4].iter().enumerate() {
        assert_eq!(o.mail.code, 552, "{i}: {o:?}");
        assert!(o.mail.text.starts_with("5.3.4 "), "{i}: {o:?}");
    }
    assert_eq!(outcomes[4].mail.code, 250, "{:?}", outcomes[4]);
    let dup = &outcomes[5];
    assert!(dup.rcpt.iter().all(|r| r.code == 250), "{dup:?}");
    assert!(dup.rcpt[1].text.contains("duplicate"), "{dup:?}");
    assert_eq!(dup.data.as_ref().map(|r| r.code), Some(250));

    let seen = capture.wait_for(Duration::from_secs(30), |seen| seen.len() >= 2);
    let dups: Vec<_> = seen
        .iter()
        .filter(|t| t.header("X-Case").as_deref() == Some("duplicates"))
        .collect();
    assert_eq!(dups.len(), 1, "{seen:#?}");
    assert_eq!(
        dups[0].rcpt,
        ["RCPT TO:<megan@contoso.com>", "RCPT TO:<alex@contoso.com>"]
    );
    let stored: Vec<_> = spool_metas(spool.path())
        .into_values()
        .map(|meta| meta["rcpt_to"].clone())
        .collect();
    assert!(
        stored.contains(&serde_json::json!(["megan@contoso.com", "alex@contoso.com"])),
        "{stored:?}"
    );
    assert_eq!(seen.len(), 2, "only SIZE=1000 and the duplicates: {seen:#?}");
    assert!(relay.stop().success());
}

#[test]
fn non_ascii_addresses_travel_only_with_smtputf8() {
    let utf8 = |case: &str, smtputf8: bool| Transaction {
        mail: format!(
            "MAIL FROM:<j\u{fc}rgen@fabrikam.example>{}",
            if smtputf8 { " SMTPUTF8" } else { "" }
        ),
        rcpt: vec!["RCPT TO:<zo\u{eb}@contoso.com>".into()],
        data: message("utf8", case),
    };
    // A smart host that offers SMTPUTF8 gets the message with it.
    let capture = CaptureHost::start(&[]);
    let spool = tempfile::tempdir().unwrap();
    let relay = forwarding_relay(spool.path(), &capture, &[]);
    let Some(outcomes) = smtp_client(
        relay.addr.port(),
        Tls::default(),
        &[utf8("without", false), utf8("with", true)],
    ) else {
        return;
    };
    // RFC 6531 3.4: without SMTPUTF8 on MAIL, a non-ASCII sender is refused.
    assert_eq!(outcomes[0].mail.code, 553, "{outcomes:?}");
    assert!(outcomes[0].mail.text.starts_with("5.6.7 "), "{outcomes:?}");
    assert_eq!(
        outcomes[1].data.as_ref().map(|r| r.code),
        Some(250),
        "{outcomes:?}"
    );
    let seen = capture.wait_for(Duration::from_secs(30), |seen| !seen.is_empty());
    assert_eq!(seen.len(), 1, "{seen:#?}");
    assert_eq!(seen[0].rcpt, ["RCPT TO:<zo\u{eb}@contoso.com>"]);
    let mail = &seen[0].mail;
    assert!(
        mail.starts_with("MAIL FROM:<j\u{fc}rgen@fabrikam.example> SIZE=") && mail.ends_with(" SMTPUTF8"),
        "{mail}"
    );
    assert!(relay.stop().success());

    // One that does not: the message is not sent there as it is (a permanent failure, X.6.7).
    let capture = CaptureHost::start_with(&[], false);
    let spool = tempfile::tempdir().unwrap();
    let relay = forwarding_relay(spool.path(), &capture, &["--max-attempts", "1"]);
    let Some(outcomes) = smtp_client(relay.addr.port(), Tls::default(), &[utf8("no-utf8-host", true)]) else {
        return;
    };
    assert_eq!(
        outcomes[0].data.as_ref().map(|r| r.code),
        Some(250),
        "{outcomes:?}"
    );
    relay
        .wait_for(Duration::from_secs(30), |e| {
            e["event"] == "delivery" && e["state"] == "failed"
        })
        .expect("the delivery fails");
    let log = std::fs::read_to_string(spool.path().join("delivery.log")).unwrap();
    assert!(log.contains("does not offer SMTPUTF8"), "{log}");
    assert!(
        capture.lines().iter().all(|l| !l.starts_with("MAIL")),
        "{:?}",
        capture.lines()
    );
    assert!(relay.stop().success());
}

/// Bounces for a recipient the smart host refuses (`nobody@contoso.com`).
#[test]
fn no_backscatter_to_senders_outside_the_accepted_domains() {
    let capture = CaptureHost::start(&["nobody@"]);
    let bounces = |capture: &CaptureHost| -> Vec<crate::relay_capture::Captured> {
        capture
            .transactions()
            .into_iter()
            .filter(|t| t.mail.starts_with("MAIL FROM:<> "))
            .collect()
    };
    let failing = |sender: &str, case: &str, subject: &str| Transaction {
        mail: format!("MAIL FROM:<{sender}>"),
        rcpt: vec!["RCPT TO:<nobody@contoso.com>".into()],
        data: format!("From: <{sender}>\r\nSubject: {subject}\r\nX-Case: {case}\r\n\r\nHello."),
    };

    // By default: a forged external sender gets nothing; the failure is logged, the message kept.
    let spool = tempfile::tempdir().unwrap();
    let relay = forwarding_relay(spool.path(), &capture, &["--max-attempts", "1"]);
    let Some(outcomes) = smtp_client(
        relay.addr.port(),
        Tls::default(),
        &[failing("spammer@evil.example", "external", "hello")],
    ) else {
        return;
    };
    assert_eq!(
        outcomes[0].data.as_ref().map(|r| r.code),
        Some(250),
        "{outcomes:?}"
    );
    let failed = relay
        .wait_for(Duration::from_secs(30), |e| {
            e["event"] == "delivery" && e["state"] == "failed"
        })
        .expect("the delivery fails");
    let id = failed["id"].as_str().unwrap().to_string();
    assert!(
        failed["attempt"]["detail"]
            .as_str()
            .unwrap()
            .starts_with("no bounce sent to <spammer@evil.example>"),
        "{failed}"
    );
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(bounces(&capture).len(), 0, "{:#?}", capture.transactions());
    assert_eq!(
        spool_ids(spool.path()),
        std::slice::from_ref(&id),
        "kept, and no bounce queued"
    );
    let meta = spool_meta(spool.path(), &id);
    assert_eq!(meta["delivery"]["state"], "failed");
    assert!(meta["delivery"]["bounce_id"].is_null(), "{meta}");
    assert!(
        meta["delivery"]["log"][0]["detail"]
            .as_str()
            .unwrap()
            .contains("--bounce-external"),
        "{meta}"
    );
    let log = std::fs::read_to_string(spool.path().join("delivery.log")).unwrap();
    assert!(log.contains("no bounce sent to <spammer@evil.example>"), "{log}");

    // A sender in the accepted domain gets its bounce, and a Subject with a bare CR cannot add a
    // header to it.
    let Some(outcomes) = smtp_client(
        relay.addr.port(),
        Tls::default(),
        &[failing(
            "adele@contoso.com",
            "internal",
            "hi\rBcc: victim@evil.example",
        )],
    ) else {
        return;
    };
    let data = outcomes[0].data.clone().expect("DATA was sent");
    // A relay that refuses bare CR in the data (550 5.6.11) leaves nothing to bounce.
    if data.code == 250 {
        let seen = capture.wait_for(Duration::from_secs(30), |_| !bounces(&capture).is_empty());
        let bounce = seen
            .iter()
            .find(|t| t.mail.starts_with("MAIL FROM:<> "))
            .expect("a bounce to the internal sender");
        assert_eq!(bounce.rcpt, ["RCPT TO:<adele@contoso.com>"]);
        let head_end = bounce
            .data
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .expect("a header section");
        let head = &bounce.data[..head_end + 2];
        for (i, b) in head.iter().enumerate() {
            let bare = match b {
                b'\r' => head.get(i + 1) != Some(&b'\n'),
                b'\n' => i == 0 || head[i - 1] != b'\r',
                _ => false,
            };
            assert!(
                !bare,
                "bare CR/LF in the bounce's headers: {:?}",
                String::from_utf8_lossy(head)
            );
        }
        let head = String::from_utf8_lossy(head);
        assert!(
            !head.lines().any(|l| l.to_ascii_lowercase().starts_with("bcc:")),
            "{head}"
        );
    } else {
        assert!(data.text.starts_with("5.6.11"), "{data:?}");
    }
    assert!(relay.stop().success());

    // With --bounce-external: the external sender gets its bounce.
    let spool = tempfile::tempdir().unwrap();
    let relay = forwarding_relay(
        spool.path(),
        &capture,
        &["--max-attempts", "1", "--bounce-external"],
    );
    let before = bounces(&capture).len();
    smtp_client(
        relay.addr.port(),
        Tls::default(),
        &[failing("partner@fabrikam.com", "external-allowed", "hello")],
    )
    .expect("python");
    capture.wait_for(Duration::from_secs(30), |_| bounces(&capture).len() > before);
    assert!(
        bounces(&capture)
            .iter()
            .any(|t| t.rcpt == ["RCPT TO:<partner@fabrikam.com>"]),
        "{:#?}",
        capture.transactions()
    );
    assert!(relay.stop().success());
}
