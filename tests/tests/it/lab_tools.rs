//! Every lab scenario's fault, observed with independent tools: dig, openssl s_client, swaks.
//!
//! These tools are installed by `.ci/run`; outside CI a test whose tool is missing skips loudly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;
use std::time::Duration;

use mailpath_tests::{LabProcess, require, run_with_timeout, text};

const T: Duration = Duration::from_secs(60);

fn dig(lab: &LabProcess, args: &[&str]) -> String {
    let mut cmd = Command::new("dig");
    cmd.arg(format!("@{}", lab.info.dns.ip()))
        .args(["-p", &lab.info.dns.port().to_string()]);
    cmd.args(["+time=2", "+tries=1"]).args(args);
    let (out, _) = run_with_timeout(&mut cmd, T);
    text(&out)
}

/// `openssl s_client -starttls smtp` against an endpoint, verifying against the lab CA and `name`.
fn s_client(lab: &LabProcess, role: &str, name: &str, extra: &[&str]) -> String {
    let e = lab.info.endpoint(role);
    let mut cmd = Command::new("openssl");
    cmd.args([
        "s_client",
        "-starttls",
        "smtp",
        "-connect",
        &e.address.to_string(),
    ]);
    cmd.args(["-servername", name, "-verify_hostname", name, "-CAfile"])
        .arg(&lab.info.ca_file);
    cmd.args(extra);
    let (out, _) = run_with_timeout(&mut cmd, T);
    text(&out)
}

fn swaks(lab: &LabProcess, role: &str, extra: &[&str]) -> (String, Duration) {
    let e = lab.info.endpoint(role);
    let mut cmd = Command::new("swaks");
    cmd.args([
        "--server",
        &e.address.ip().to_string(),
        "--port",
        &e.address.port().to_string(),
    ]);
    cmd.args([
        "--to",
        "user@contoso.com",
        "--from",
        "probe@contoso.com",
        "--helo",
        "probe.contoso.com",
    ]);
    cmd.args(extra);
    let (out, took) = run_with_timeout(&mut cmd, T);
    (text(&out), took)
}

#[test]
fn healthy_edge_dns_answers_like_a_hybrid_deployment() {
    if !require("dig") {
        return;
    }
    let lab = LabProcess::start("healthy-edge", &[]);
    let mx = dig(&lab, &["contoso.com", "MX", "+short"]);
    assert_eq!(mx.trim(), "0 contoso-com.mail.protection.outlook.com.");
    let routing = dig(&lab, &["contoso.mail.onmicrosoft.com", "MX", "+short", "+tcp"]);
    assert_eq!(routing.trim(), "0 contoso-com.mail.protection.outlook.com.");
    let spf = dig(&lab, &["contoso.com", "TXT", "+short"]);
    assert!(spf.contains("include:spf.protection.outlook.com"), "{spf}");
    let dkim = dig(&lab, &["selector1._domainkey.contoso.com", "CNAME", "+short"]);
    assert_eq!(
        dkim.trim(),
        "selector1-contoso-com._domainkey.contoso.onmicrosoft.com."
    );
    let dmarc = dig(&lab, &["_dmarc.contoso.com", "TXT", "+short"]);
    assert!(dmarc.contains("v=DMARC1"), "{dmarc}");
    let ptr = dig(&lab, &["-x", "127.0.0.1", "+short"]);
    assert_eq!(ptr.trim(), "mail.contoso.com.");
    let a = dig(&lab, &["mail.contoso.com", "A", "+short"]);
    assert_eq!(a.trim(), "127.0.0.1");
    let full = dig(&lab, &["contoso.com", "MX"]);
    assert!(
        full.contains("flags: qr aa"),
        "lab answers are authoritative: {full}"
    );
    let nx = dig(&lab, &["nothing.contoso.com", "A"]);
    assert!(nx.contains("status: NXDOMAIN"), "{nx}");
    let outside = dig(&lab, &["example.org", "A"]);
    assert!(
        !outside.contains("status: NOERROR") || !outside.contains("ANSWER: 1"),
        "no recursion: {outside}"
    );
}

#[test]
fn wrong_mx_and_spf_missing_eop_are_visible_in_dns() {
    if !require("dig") {
        return;
    }
    let lab = LabProcess::start("wrong-mx", &[]);
    let routing = dig(&lab, &["contoso.mail.onmicrosoft.com", "MX", "+short"]);
    assert_eq!(routing.trim(), "0 mail.messaging.microsoft.com.");
    drop(lab);
    let lab = LabProcess::start("spf-missing-eop", &[]);
    let spf = dig(&lab, &["contoso.com", "TXT", "+short"]);
    assert!(spf.contains("v=spf1"), "{spf}");
    assert!(!spf.contains("include:spf.protection.outlook.com"), "{spf}");
}

#[test]
fn healthy_endpoints_verify_with_openssl() {
    if !require("openssl") {
        return;
    }
    for scenario in ["healthy-edge", "healthy-direct"] {
        let lab = LabProcess::start(scenario, &[]);
        let out = s_client(&lab, "eop", "mail.protection.outlook.com", &["-brief"]);
        assert!(out.contains("Verification: OK"), "{scenario} eop: {out}");
        let public = lab
            .info
            .endpoints
            .iter()
            .find(|e| e.host == "mail.contoso.com")
            .expect("public endpoint");
        let out = s_client(&lab, &public.role, "mail.contoso.com", &["-brief"]);
        assert!(out.contains("Verification: OK"), "{scenario}: {out}");
        assert!(out.contains("Protocol version: TLSv1.3"), "{scenario}: {out}");
        let out = s_client(&lab, &public.role, "mail.contoso.com", &["-brief", "-tls1_2"]);
        assert!(out.contains("Protocol version: TLSv1.2"), "{scenario}: {out}");
    }
}

#[test]
fn certificate_faults_are_seen_by_openssl() {
    if !require("openssl") {
        return;
    }
    let cases = [
        ("expired-cert", "certificate has expired"),
        ("not-yet-valid", "certificate is not yet valid"),
        ("name-mismatch", "hostname mismatch"),
        ("self-signed", "self-signed certificate"),
        ("missing-intermediate", "unable to get local issuer certificate"),
        ("weak-key", "EE certificate key too weak"),
    ];
    for (scenario, expected) in cases {
        let lab = LabProcess::start(scenario, &[]);
        let out = s_client(&lab, "edge-external", "mail.contoso.com", &["-brief"]);
        assert!(
            out.contains(expected),
            "{scenario}: expected {expected:?} in {out}"
        );
        assert!(!out.contains("Verification: OK"), "{scenario}: {out}");
    }
}

#[test]
fn expiring_soon_verifies_but_expires_within_two_weeks() {
    if !require("openssl") {
        return;
    }
    let lab = LabProcess::start("expiring-soon", &[]);
    let out = s_client(&lab, "edge-external", "mail.contoso.com", &["-showcerts"]);
    assert!(out.contains("Verify return code: 0 (ok)"), "{out}");
    let leaf_start = out.find("-----BEGIN CERTIFICATE-----").expect("a certificate");
    let leaf_end = out[leaf_start..].find("-----END CERTIFICATE-----").expect("end") + leaf_start + 25;
    let dir = tempfile::tempdir().unwrap();
    let leaf = dir.path().join("leaf.pem");
    std::fs::write(&leaf, &out[leaf_start..leaf_end]).unwrap();
    let check = |seconds: &str| {
        let (o, _) = run_with_timeout(
            Command::new("openssl")
                .args(["x509", "-noout", "-checkend", seconds, "-in"])
                .arg(&leaf),
            T,
        );
        text(&o)
    };
    assert!(check(&(9 * 86400).to_string()).contains("will not expire"));
    assert!(check(&(11 * 86400).to_string()).contains("will expire"));
}

#[test]
fn legacy_tls_refuses_modern_clients_with_protocol_version() {
    if !require("openssl") {
        return;
    }
    let lab = LabProcess::start("legacy-tls", &[]);
    // A client that requires TLS 1.2 or newer (it says so in supported_versions, as rustls does).
    let out = s_client(
        &lab,
        "edge-external",
        "mail.contoso.com",
        &["-brief", "-no_tls1", "-no_tls1_1"],
    );
    assert!(out.contains("alert protocol version"), "{out}");
}

#[test]
fn starttls_stripped_masks_the_banner_and_hides_starttls() {
    if !require("swaks") {
        return;
    }
    let lab = LabProcess::start("starttls-stripped", &[]);
    let (out, _) = swaks(&lab, "edge-external", &["--quit-after", "EHLO"]);
    assert!(out.contains("<-  220 ****"), "{out}");
    assert!(!out.contains("STARTTLS"), "{out}");
    assert!(out.contains("250-XXXXXXXA"), "{out}");
    let (out, _) = swaks(&lab, "edge-external", &["--tls", "--quit-after", "TLS"]);
    assert!(
        out.contains("STARTTLS") && out.contains("not"),
        "swaks --tls must fail: {out}"
    );
    // The same Edge seen from inside (Mailbox -> Edge) still offers STARTTLS: the device is in front.
    let (inside, _) = swaks(&lab, "edge-internal", &["--quit-after", "EHLO"]);
    assert!(inside.contains("STARTTLS"), "{inside}");
}

#[test]
fn healthy_edge_accepts_a_message_over_tls_with_swaks() {
    if !require("swaks") {
        return;
    }
    let lab = LabProcess::start("healthy-edge", &[]);
    let (out, _) = swaks(&lab, "edge-external", &["--tls"]);
    assert!(
        out.contains("<~  250 2.6.0"),
        "message accepted inside TLS: {out}"
    );
    let (out, _) = swaks(
        &lab,
        "edge-external",
        &["--to", "someone@fabrikam.com", "--quit-after", "RCPT"],
    );
    assert!(out.contains("550 5.7.54"), "not an open relay: {out}");
}

#[test]
fn port_closed_refuses_and_port_filtered_times_out() {
    if !require("swaks") {
        return;
    }
    let lab = LabProcess::start("port-closed", &[]);
    let (out, _) = swaks(
        &lab,
        "edge-external",
        &["--quit-after", "CONNECT", "--timeout", "5"],
    );
    assert!(out.contains("Connection refused"), "{out}");
    drop(lab);
    let lab = LabProcess::start("port-filtered", &[]);
    let (out, took) = swaks(
        &lab,
        "edge-external",
        &["--quit-after", "CONNECT", "--timeout", "3"],
    );
    assert!(!out.contains("Connection refused"), "{out}");
    assert!(
        out.contains("Timeout") || out.contains("timed out") || out.contains("Error connecting"),
        "{out}"
    );
    assert!(
        took >= Duration::from_secs(2),
        "a filtered port takes the whole timeout, took {took:?}: {out}"
    );
}

#[test]
fn edgesync_blocked_closes_50636_but_keeps_25() {
    if !require("openssl") || !require("swaks") {
        return;
    }
    let lab = LabProcess::start("healthy-edge", &[]);
    let sync = lab.info.endpoint("edge-sync").address.to_string();
    let (out, _) = run_with_timeout(
        Command::new("openssl")
            .args(["s_client", "-brief", "-connect", &sync, "-CAfile"])
            .arg(&lab.info.ca_file),
        T,
    );
    // The Edge's self-signed certificate (direct trust, published by the Edge subscription), as real
    // Edges serve on their internal listeners: no lab CA chain.
    assert!(text(&out).contains("CONNECTION ESTABLISHED"), "{}", text(&out));
    assert!(text(&out).contains("CN = EDGE01"), "{}", text(&out));
    drop(lab);
    let lab = LabProcess::start("edgesync-blocked", &[]);
    let sync = lab.info.endpoint("edge-sync").address.to_string();
    let (out, _) = run_with_timeout(
        Command::new("openssl").args(["s_client", "-brief", "-connect", &sync]),
        T,
    );
    assert!(
        text(&out).contains("Connection refused") || text(&out).contains("connect:errno=111"),
        "{}",
        text(&out)
    );
    let (smtp, _) = swaks(&lab, "edge-internal", &["--quit-after", "EHLO"]);
    assert!(smtp.contains("<-  250"), "{smtp}");
}

#[test]
fn tarpit_delays_the_greeting_then_behaves() {
    if !require("swaks") {
        return;
    }
    let lab = LabProcess::start("tarpit", &[]);
    let (out, took) = swaks(
        &lab,
        "edge-external",
        &["--quit-after", "EHLO", "--timeout", "40"],
    );
    assert!(took >= Duration::from_secs(19), "greeting came after {took:?}");
    assert!(
        out.contains("STARTTLS"),
        "after the delay the server behaves: {out}"
    );
}

#[test]
fn garbage_server_speaks_no_smtp() {
    if !require("swaks") {
        return;
    }
    let lab = LabProcess::start("garbage-server", &[]);
    let (out, _) = swaks(&lab, "edge-external", &["--quit-after", "EHLO", "--timeout", "5"]);
    assert!(!out.contains("<-  220"), "{out}");
    // swaks finds no reply line among the noise and gives up waiting for one.
    assert!(
        out.contains("<** Timeout") || out.contains("***"),
        "swaks reports an error: {out}"
    );
}

#[test]
fn slow_drip_sends_about_one_byte_per_second() {
    let lab = LabProcess::start("slow-drip", &[]);
    let addr = lab.info.endpoint("edge-external").address;
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(Duration::from_millis(200))).unwrap();
    let started = std::time::Instant::now();
    let mut got = Vec::new();
    while started.elapsed() < Duration::from_millis(3500) {
        let mut buf = [0u8; 64];
        if let Ok(n) = std::io::Read::read(&mut stream, &mut buf) {
            got.extend_from_slice(&buf[..n]);
        }
    }
    assert!(
        (2..=5).contains(&got.len()),
        "{} bytes in 3.5 s: {:?}",
        got.len(),
        String::from_utf8_lossy(&got)
    );
    assert!(got.starts_with(b"22"), "{got:?}");
    drop(stream);
    // An independent client gives up waiting for a whole reply, although bytes keep arriving.
    if require("swaks") {
        let (out, _) = swaks(
            &lab,
            "edge-external",
            &["--quit-after", "CONNECT", "--timeout", "3"],
        );
        assert!(
            out.contains("<** Timeout (3 secs) waiting for server response"),
            "{out}"
        );
    }
}

/// `dane-mismatch`: dig reads the TLSA records from the lab, and OpenSSL's own DANE verifier
/// (`s_client -dane_tlsa_rrdata`) agrees with mailpath: EOP's record matches what EOP serves, the
/// Edge's stale one matches nothing.
#[test]
fn dane_mismatch_tlsa_records_judged_by_openssl() {
    if !require("dig") || !require("openssl") {
        return;
    }
    let lab = LabProcess::start("dane-mismatch", &[]);
    let rr = |host: &str| -> String {
        let out = dig(&lab, &[&format!("_25._tcp.{host}"), "TLSA", "+short"]);
        let line = out.lines().next().unwrap_or_default().to_string();
        // dig prints the data in groups: "3 1 1 ABCD... EF..."; OpenSSL wants it joined.
        let mut parts = line.split_whitespace();
        let head: Vec<&str> = parts.by_ref().take(3).collect();
        assert_eq!(head.len(), 3, "TLSA of {host}: {out}");
        format!("{} {}", head.join(" "), parts.collect::<String>())
    };
    let dane = |role: &str, host: &str, rrdata: &str| -> String {
        let e = lab.info.endpoint(role);
        let mut cmd = Command::new("openssl");
        cmd.args([
            "s_client",
            "-brief",
            "-starttls",
            "smtp",
            "-connect",
            &e.address.to_string(),
        ])
        .args([
            "-servername",
            host,
            "-dane_tlsa_domain",
            host,
            "-dane_tlsa_rrdata",
            rrdata,
        ]);
        let (out, _) = run_with_timeout(cmd.stdin(std::process::Stdio::null()), T);
        text(&out)
    };
    let eop_host = "contoso-com.mail.protection.outlook.com";
    let eop_rr = rr(eop_host);
    assert!(eop_rr.starts_with("3 1 1 "), "{eop_rr}");
    let out = dane("eop", eop_host, &eop_rr);
    assert!(
        out.contains("Verification: OK") && out.contains("DANE TLSA 3 1 1"),
        "EOP: {out}"
    );
    let edge_rr = rr("mail.contoso.com");
    let public = lab
        .info
        .endpoints
        .iter()
        .find(|e| e.host == "mail.contoso.com")
        .expect("public endpoint");
    let out = dane(&public.role, "mail.contoso.com", &edge_rr);
    assert!(
        !out.contains("Verification: OK"),
        "the stale record must not verify: {out}"
    );

    // mailpath says the same, with the record to publish.
    let (out, _) = run_with_timeout(
        mailpath_tests::mailpath().args(["diagnose", "--lab", "dane-mismatch", "--format", "json"]),
        T,
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let dane_checks: Vec<&serde_json::Value> = v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["id"] == "tls.dane")
        .collect();
    let status_of = |host: &str| {
        dane_checks
            .iter()
            .find(|c| c["target"].as_str().unwrap_or_default().starts_with(host))
            .map(|c| c["status"].as_str().unwrap_or_default().to_string())
    };
    assert_eq!(status_of(eop_host).as_deref(), Some("pass"), "{dane_checks:?}");
    assert_eq!(
        status_of("mail.contoso.com").as_deref(),
        Some("fail"),
        "{dane_checks:?}"
    );
}
