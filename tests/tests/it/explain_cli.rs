//! `mailpath explain` as a command: every fixture of tests/fixtures/explain explained with its expected
//! code, hop and first cause; text, stdin and file input; nothing found is exit 3; hostile input stays
//! bounded and escaped; causes ranked by a saved diagnosis and by one run now against the lab, whose
//! reports carry the explained string at their top.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write as _;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use mailpath_tests::{mailpath, run_with_timeout, text, workspace_root};

fn fixtures() -> PathBuf {
    workspace_root().join("tests/fixtures/explain")
}

fn json_of(args: &[&str]) -> (serde_json::Value, Option<i32>) {
    let (out, _) = run_with_timeout(
        mailpath().arg("explain").args(args).args(["--format", "json"]),
        Duration::from_secs(120),
    );
    let doc = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{args:?}: not one JSON document ({e}): {}", text(&out)));
    (doc, out.status.code())
}

#[test]
fn every_fixture_is_explained_with_its_code_hop_and_first_cause() {
    let expected: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(fixtures().join("expected.json")).unwrap()).unwrap();
    let cases = expected.as_array().unwrap();
    assert!(cases.len() >= 25);
    for case in cases {
        let file = case["file"].as_str().unwrap();
        let path = fixtures().join(file);
        let (doc, code) = json_of(&[path.to_str().unwrap()]);
        assert_eq!(code, Some(0), "{file}: {doc}");
        assert_eq!(doc["schema"], "mailpath/explain/1");
        assert_eq!(doc["found"], true, "{file}");
        assert_eq!(doc["input"]["kind"], case["kind"], "{file}");
        let main = &doc["explained"][0];
        assert_eq!(main["code"], case["code"], "{file}");
        assert_eq!(main["entry"], case["entry"], "{file}");
        let hop = case["hop"].as_str().unwrap();
        assert!(
            main["hops"].as_array().unwrap().iter().any(|h| h == hop),
            "{file}: {hop} not in {}",
            main["hops"]
        );
        let first = main["causes"][0]["cause"].as_str().unwrap();
        assert!(
            first.contains(case["first_cause"].as_str().unwrap()),
            "{file}: {first}"
        );
        assert!(!main["sources"].as_array().unwrap().is_empty(), "{file}");
    }
}

#[test]
fn text_output_pins_the_code_on_the_hop_with_its_fix() {
    let (out, _) = run_with_timeout(
        mailpath()
            .arg("explain")
            .arg(fixtures().join("queue-4.7.5-tlscertificatename.txt")),
        Duration::from_secs(60),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let shown = String::from_utf8(out.stdout).unwrap();
    assert!(
        shown.contains(
            "454 4.7.5  The certificate in the send connector's TlsCertificateName could not be found"
        ),
        "{shown}"
    );
    assert!(
        shown.contains("Hop:      out.edge-eop or out.mailbox-eop"),
        "{shown}"
    );
    assert!(shown.contains("fix: $c = Get-ExchangeCertificate"), "{shown}");
    assert!(shown.contains("config.send.tls_certificate_name@eop"), "{shown}");
}

#[test]
fn the_text_itself_and_stdin_are_read_too() {
    let (doc, code) = json_of(&["550 5.7.64 TenantAttribution; Relay Access Denied"]);
    assert_eq!(code, Some(0));
    assert_eq!(doc["explained"][0]["entry"], "5.7.64-tenant-attribution");
    assert_eq!(doc["input"]["kind"], "text");

    let mut child = mailpath()
        .args(["explain", "-", "--format", "json"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let data = std::fs::read(fixtures().join("ndr-5.7.64-tenant-attribution.eml")).unwrap();
    child.stdin.take().unwrap().write_all(&data).unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["input"]["kind"], "delivery-report");
    assert_eq!(doc["reporting_server"], "EX01.contoso.com");
    assert_eq!(doc["remote_server"], "contoso-com.mail.protection.outlook.com");
    assert_eq!(doc["direction"], "to-microsoft");
}

#[test]
fn nothing_found_and_could_not_run_are_exit_3() {
    let (out, _) = run_with_timeout(
        mailpath().args(["explain", "Hi, my mail stopped arriving on Monday, any idea?"]),
        Duration::from_secs(60),
    );
    assert_eq!(out.status.code(), Some(3));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("found no SMTP reply or status code"),
        "{}",
        text(&out)
    );
    let (doc, code) = json_of(&["250 2.6.0 Queued mail for delivery"]);
    assert_eq!(code, Some(3));
    assert_eq!(doc["found"], false);
    for args in [
        vec!["explain", "/nonexistent/ndr.eml"],
        vec!["explain", "550 5.7.1 x", "--run"],
        vec![
            "explain",
            "550 5.7.1 x",
            "--diagnosis",
            "/nonexistent.json",
            "--lab",
        ],
    ] {
        let (out, _) = run_with_timeout(mailpath().args(&args), Duration::from_secs(60));
        assert_eq!(out.status.code(), Some(3), "{args:?}: {}", text(&out));
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("mailpath: error"),
            "{args:?}: {}",
            text(&out)
        );
    }
}

#[test]
fn hostile_input_is_bounded_and_escaped() {
    let dir = tempfile::tempdir().unwrap();
    // 12 MiB: more than the command reads; binary, escape sequences, a script, and one real reply.
    let mut data = b"<html><script>alert('550 5.7.64')</script><p>\x1b]0;owned\x07\x1b[2J 450 4.4.316 Connection refused [Message=Socket error code 10061]</p>".to_vec();
    data.extend((0..12 * 1024 * 1024).map(|i| (i % 251) as u8));
    let path = dir.path().join("huge.html");
    std::fs::write(&path, &data).unwrap();
    let (out, took) = run_with_timeout(mailpath().arg("explain").arg(&path), Duration::from_secs(60));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(took < Duration::from_secs(30), "{took:?}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        !stdout.contains('\x1b') && !stdout.contains('\x07'),
        "control characters reached the terminal"
    );
    assert!(stdout.contains("450 4.4.316"), "{stdout}");
    assert!(
        !stdout.contains("TenantAttribution"),
        "the script was read: {stdout}"
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("only its first"),
        "{}",
        text(&out)
    );
}

#[test]
fn a_saved_diagnosis_and_a_run_rank_the_causes_and_the_report_carries_the_verdict() {
    let dir = tempfile::tempdir().unwrap();
    let saved = dir.path().join("name-mismatch.json");
    let (out, _) = run_with_timeout(
        mailpath()
            .args(["diagnose", "--lab", "name-mismatch", "--report"])
            .arg(&saved),
        Duration::from_secs(120),
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let trace = fixtures().join("trace-4.7.320-subject-mismatch.txt");
    let (doc, code) = json_of(&[trace.to_str().unwrap(), "--diagnosis", saved.to_str().unwrap()]);
    assert_eq!(code, Some(0));
    let main = &doc["explained"][0];
    assert_eq!(doc["evidence"]["source"], "diagnosis");
    assert_eq!(
        main["hops"],
        serde_json::json!(["in.eop-edge"]),
        "the lab has an Edge"
    );
    assert_eq!(main["causes"][0]["verdict"], "confirmed", "{main}");
    assert!(
        main["verdict"].as_str().unwrap().starts_with("This is it"),
        "{main}"
    );

    // On a healthy lab the same string is not this hop's certificate: the checks pass and say so.
    let html = dir.path().join("explained.html");
    let json = dir.path().join("explained.json");
    let md = dir.path().join("explained.md");
    let (out, _) = run_with_timeout(
        mailpath()
            .arg("explain")
            .arg(&trace)
            .args(["--lab", "healthy-edge", "--run", "--format", "json", "--report"])
            .arg(&html)
            .arg("--report")
            .arg(&json)
            .arg("--report")
            .arg(&md),
        Duration::from_secs(120),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["evidence"]["source"], "run");
    let main = &doc["explained"][0];
    assert_eq!(main["causes"][0]["verdict"], "ruled-out", "{main}");
    assert!(
        !main["verdict"].as_str().unwrap().starts_with("This is it"),
        "{main}"
    );

    let saved: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    crate::report_common::assert_valid(&saved);
    assert_eq!(saved["explained"]["code"], "450 4.7.320");
    assert_eq!(saved["explained"]["entry"], "4.7.320-subject-mismatch");
    let page = std::fs::read_to_string(&html).unwrap();
    crate::report_common::assert_safe_html(&page);
    assert!(
        page.contains("<th>Explained</th>") && page.contains("450 4.7.320"),
        "the HTML report lacks the explained string"
    );
    let markdown = std::fs::read_to_string(&md).unwrap();
    assert!(markdown.contains("- **Explained**: `450 4.7.320`"), "{markdown}");
    // The saved report still reads back, and an old diagnosis without the field still loads.
    let (out, _) = run_with_timeout(
        mailpath()
            .args(["report", "render"])
            .arg(&json)
            .arg("--report")
            .arg(dir.path().join("again.md")),
        Duration::from_secs(60),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
}
