//! Forwarding and `mailpath relay send` as commands: a tracked test message goes through one relay
//! (playing a Mailbox server, forwarding with verified TLS) to a capturing sink, and its arrival is
//! reported; open-relay attempts through `relay send` are refused.

use crate::relay_support;

use std::time::Duration;

use mailpath_tests::{mailpath, run_with_timeout, text};
use relay_support::{RelayProcess, spool_ids};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

#[test]
fn relay_send_through_a_forwarding_relay_arrives_at_the_sink() {
    let far_spool = tempfile::tempdir().unwrap();
    let far = RelayProcess::start(far_spool.path(), &["--accept-domain", "contoso.com"]);
    let far_ca = far.ca_file.clone().unwrap();

    let near_spool = tempfile::tempdir().unwrap();
    let forward = format!("127.0.0.1:{}", far.addr.port());
    let near = RelayProcess::start(
        near_spool.path(),
        &[
            "--role",
            "mailbox",
            "--accept-domain",
            "contoso.com",
            "--forward",
            &forward,
            "--forward-tls",
            "verify",
            "--forward-ca",
            far_ca.to_str().unwrap(),
            "--forward-name",
            "localhost",
            "--retry-base",
            "0.2",
        ],
    );
    assert_eq!(near.listening["forward"], forward);

    let (out, _) = run_with_timeout(
        mailpath()
            .args([
                "relay",
                "send",
                "--to",
                "megan@contoso.com",
                "--tls",
                "--format",
                "json",
            ])
            .args(["--via", &format!("127.0.0.1:{}", near.addr.port())])
            .args(["--header", "X-MS-Exchange-CrossPremises-AuthAs: Internal"])
            .arg("--await-spool")
            .arg(far_spool.path())
            .args(["--timeout", "30"]),
        Duration::from_secs(90),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["schema"], "mailpath/relay-send/1");
    assert_eq!(report["result"]["outcome"], "delivered", "{report}");
    assert!(report["tls"].as_str().unwrap().starts_with("TLSv1."));
    assert!(report["arrived_after_ms"].as_u64().is_some(), "{report}");
    assert_eq!(
        report["arrived_hops"], 1,
        "the forwarding relay added its Received field: {report}"
    );
    assert_eq!(report["arrived_verdict"], "internal");

    // The forwarding relay logged the delivery, verified TLS included.
    let delivery = near
        .wait_for(Duration::from_secs(10), |e| e["event"] == "delivery")
        .expect("a delivery event");
    assert_eq!(delivery["state"], "delivered", "{delivery}");
    assert!(delivery["attempt"]["tls"].as_str().unwrap().starts_with("TLSv1."));
    let ids = spool_ids(near_spool.path());
    assert_eq!(ids.len(), 1);
    let log = std::fs::read_to_string(near_spool.path().join("delivery.log")).unwrap();
    assert!(log.contains("\"outcome\":\"delivered\""), "{log}");

    // Not an open relay, not even for its own test messages.
    let (out, _) = run_with_timeout(
        mailpath()
            .args(["relay", "send", "--to", "victim@elsewhere.example"])
            .args(["--via", &format!("127.0.0.1:{}", near.addr.port())]),
        Duration::from_secs(60),
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("550 5.7.54"), "{}", text(&out));
    assert!(near.stop().success());
    assert!(far.stop().success());
}

#[test]
fn relay_send_can_await_at_its_own_sink() {
    let sink_port = free_port();
    let spool = tempfile::tempdir().unwrap();
    let forward = format!("127.0.0.1:{sink_port}");
    let relay = RelayProcess::start(
        spool.path(),
        &[
            "--accept-domain",
            "contoso.com",
            "--forward",
            &forward,
            "--retry-base",
            "0.2",
        ],
    );
    let (out, _) = run_with_timeout(
        mailpath()
            .args(["relay", "send", "--to", "megan@contoso.com"])
            .args(["--via", &format!("127.0.0.1:{}", relay.addr.port())])
            .args(["--await-listen", &forward, "--timeout", "30"]),
        Duration::from_secs(90),
    );
    let shown = text(&out);
    assert_eq!(out.status.code(), Some(0), "{shown}");
    assert!(shown.contains("arrived at 127.0.0.1:"), "{shown}");
    assert!(relay.stop().success());
}

#[test]
fn forward_mx_delivers_to_the_lab_mx_with_verified_tls() {
    let lab = mailpath_tests::LabProcess::start("healthy-edge", &[]);
    let eop = lab.info.endpoint("eop").clone();
    let dns = lab.info.dns.to_string();
    let mx_port = format!("{}={}", eop.host, eop.address.port());
    let ca = lab.info.ca_file.to_str().unwrap().to_string();
    let spool = tempfile::tempdir().unwrap();
    let relay = RelayProcess::start(
        spool.path(),
        &[
            "--role",
            "mailbox",
            "--accept-domain",
            "contoso.com",
            "--forward",
            "mx",
            "--dns",
            &dns,
            "--mx-port",
            &mx_port,
            "--forward-tls",
            "verify",
            "--forward-ca",
            &ca,
            "--retry-base",
            "0.2",
        ],
    );
    assert!(
        relay.listening["forward"]
            .as_str()
            .unwrap()
            .starts_with(&format!("MX (DNS {dns}")),
        "{}",
        relay.listening
    );
    let (out, _) = run_with_timeout(
        mailpath()
            .args(["relay", "send", "--to", "megan@contoso.com"])
            .args(["--via", &format!("127.0.0.1:{}", relay.addr.port())]),
        Duration::from_secs(60),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let delivery = relay
        .wait_for(Duration::from_secs(20), |e| e["event"] == "delivery")
        .expect("a delivery event");
    assert_eq!(delivery["state"], "delivered", "{delivery}");
    let host = delivery["attempt"]["host"].as_str().unwrap();
    assert_eq!(
        host,
        format!("MX {}[127.0.0.1]:{}", eop.host, eop.address.port()),
        "contoso.com's MX is the tenant's EOP endpoint: {delivery}"
    );
    assert!(delivery["attempt"]["tls"].as_str().unwrap().starts_with("TLSv1."));
    assert!(relay.stop().success());

    // The MX options belong to --forward mx only.
    let (out, _) = run_with_timeout(
        mailpath()
            .args([
                "relay",
                "--forward",
                "127.0.0.1:2",
                "--accept-domain",
                "contoso.com",
            ])
            .args(["--dns", &dns]),
        Duration::from_secs(30),
    );
    assert_ne!(out.status.code(), Some(0), "{}", text(&out));
    assert!(text(&out).contains("--forward mx"), "{}", text(&out));
    lab.stop();
}

#[test]
fn the_lab_eop_relays_only_for_the_hybrid_certificate() {
    let lab = mailpath_tests::LabProcess::start("healthy-edge", &[]);
    let eop = lab.info.endpoint("eop").clone();
    let via = eop.address.to_string();
    let ca = lab.info.ca_file.to_str().unwrap().to_string();
    let cert = lab.info.onprem_cert_file.to_str().unwrap().to_string();
    let key = lab.info.onprem_key_file.to_str().unwrap().to_string();
    let send = |to: &str, with_cert: bool| {
        let mut cmd = mailpath();
        cmd.args(["relay", "send", "--to", to, "--from", "adele@contoso.com"])
            .args(["--via", &via, "--ca", &ca, "--tls-name", &eop.host])
            .args(["--helo", "mail.contoso.com"]);
        if with_cert {
            cmd.args(["--cert", &cert, "--key", &key]);
        }
        run_with_timeout(&mut cmd, Duration::from_secs(60)).0
    };
    // Relaying to the internet with the on-premises hybrid certificate: accepted.
    let out = send("partner@fabrikam.com", true);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    // Without it: 550 5.7.64 TenantAttribution.
    let out = send("partner@fabrikam.com", false);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("550 5.7.64 TenantAttribution; Relay Access Denied"),
        "{}",
        text(&out)
    );
    // Mail for the tenant's own domains comes from anyone.
    let out = send("megan@contoso.com", false);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    lab.stop();
}
