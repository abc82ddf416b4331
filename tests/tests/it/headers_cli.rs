//! `mailpath headers` as a command on the fixtures: exit codes, text and JSON output, stdin.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use mailpath_tests::{mailpath, run_with_timeout, text, workspace_root};

fn fixture(name: &str) -> PathBuf {
    workspace_root().join("tests/fixtures/headers").join(name)
}

#[test]
fn exit_codes_follow_the_worst_check() {
    for (name, code) in [
        ("internal-hybrid.eml", 0),
        ("internet-inbound.eml", 0),
        ("double-scan-untrusted.eml", 2),
        ("filtered-by-send-connector.eml", 2),
        ("anonymous-hybrid.eml", 2),
        ("third-party-hop.eml", 2),
        ("in-transit-to-eop.eml", 1),
    ] {
        let (out, _) = run_with_timeout(
            mailpath().arg("headers").arg(fixture(name)),
            Duration::from_secs(60),
        );
        assert_eq!(out.status.code(), Some(code), "{name}: {}", text(&out));
    }
    let (out, _) = run_with_timeout(
        mailpath().args(["headers", "/nonexistent/message.eml"]),
        Duration::from_secs(60),
    );
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
}

#[test]
fn text_shows_the_path_and_the_verdict() {
    let (out, _) = run_with_timeout(
        mailpath().arg("headers").arg(fixture("third-party-hop.eml")),
        Duration::from_secs(60),
    );
    let shown = String::from_utf8(out.stdout).unwrap();
    assert!(shown.contains("relay.filter-cloud.example  [other]"), "{shown}");
    assert!(shown.contains("NO TLS"), "{shown}");
    assert!(shown.contains("Verdict: ANONYMOUS"), "{shown}");
    assert!(shown.contains("FAIL  headers.third-party-hop"), "{shown}");
}

#[test]
fn json_from_stdin_is_one_versioned_document() {
    let mut child = mailpath()
        // The accepted domain tells that the organization sent it (so anonymous is a failure).
        .args(["headers", "-", "--format", "json", "--org-domain", "contoso.com"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let data = std::fs::read(fixture("filtered-by-send-connector.eml")).unwrap();
    child.stdin.take().unwrap().write_all(&data).unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["schema"], "mailpath/headers/1");
    assert_eq!(doc["verdict"]["classification"], "anonymous");
    assert_eq!(doc["exchange"]["filtered_by_send_connector"], "EX02.contoso.com");
    assert_eq!(doc["hops"].as_array().unwrap().len(), 3);
    let ids: Vec<&str> = doc["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert!(ids.iter().all(|id| id.starts_with("headers.")), "{ids:?}");
    assert_eq!(doc["counts"]["fail"], 2);
    assert_eq!(doc["verdict"]["originated"], true);
}

#[test]
fn non_header_input_could_not_run() {
    let mut child = mailpath()
        .args(["headers", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(b"\x00\x01 binary").unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(3));
}
