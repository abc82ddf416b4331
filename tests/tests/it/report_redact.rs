//! `--redact`: no lab name, address, certificate name, file path or machine name survives in any format
//! (reports and stdout), the placeholders are stable across formats, the redacted JSON still matches the
//! schema and renders again.

use crate::report_common;

use std::time::Duration;

use mailpath_tests::{mailpath, run_with_timeout, text};
use report_common::{assert_safe_html, assert_valid, lab_reports};

/// What must not appear anywhere in a redacted report of the lab (lower-case).
fn secrets(json_unredacted: &serde_json::Value) -> Vec<String> {
    let mut s: Vec<String> = [
        "contoso",
        "127.0.0.1",
        "mailpath lab issuing",
        "mailpath lab root",
        "o=mailpath",
        "mailpath-lab-",
        "lab-ca.pem",
    ]
    .iter()
    .map(|s| (*s).to_string())
    .collect();
    // The machine it ran on, when its name is distinctive enough to search for.
    if let Ok(host) = std::fs::read_to_string("/etc/hostname") {
        let host = host.trim().to_ascii_lowercase();
        if host.len() >= 4 {
            s.push(host);
        }
    }
    // Every address the unredacted diagnosis saw.
    for p in json_unredacted["evidence"]["smtp"]
        .as_array()
        .into_iter()
        .flatten()
    {
        for a in p["addresses"].as_array().into_iter().flatten() {
            s.push(a.as_str().unwrap_or_default().to_string());
        }
    }
    s
}

#[test]
fn redacted_reports_leak_no_lab_name_or_address() {
    let dir = tempfile::tempdir().expect("tempdir");
    let plain = lab_reports("healthy-edge", dir.path(), "plain", &[]);
    let r = lab_reports(
        "healthy-edge",
        dir.path(),
        "redacted",
        &["--redact", "--format", "json"],
    );
    assert_eq!(r.code, 0, "{}", r.output);
    let stdout_json = r.output.trim();
    for (what, doc) in [
        ("html", &r.html),
        ("json", &r.json_text),
        ("md", &r.md),
        ("stdout", &stdout_json.to_string()),
    ] {
        let lower = doc.to_ascii_lowercase();
        for secret in secrets(&plain.json) {
            assert!(!lower.contains(&secret), "{what}: {secret:?} survived redaction");
        }
    }
    // Stable placeholders: the public Edge name is the same placeholder in the profile, the path, the evidence.
    let j = &r.json;
    let edge_public = j["profile"]["edge"][0]["external_fqdn"]
        .as_str()
        .expect("external_fqdn");
    assert!(
        edge_public.starts_with("host-") && edge_public.ends_with(".example"),
        "{edge_public}"
    );
    assert!(j["path"]["nodes"].as_array().expect("nodes").iter().any(|n| {
        n["hosts"]
            .as_array()
            .expect("hosts")
            .iter()
            .any(|h| h == edge_public)
    }));
    assert!(
        j["evidence"]["smtp"]
            .as_array()
            .expect("smtp")
            .iter()
            .any(|p| p["host"] == edge_public)
    );
    assert!(
        r.html.contains(edge_public) && r.md.contains(edge_public),
        "the same placeholder in every format"
    );
    // Addresses become documentation addresses; ports stay.
    let addr = j["evidence"]["smtp"][0]["addresses"][0]
        .as_str()
        .expect("address");
    assert!(addr.starts_with("192.0.2."), "{addr}");
    // Microsoft's public names stay; the tenant's EOP endpoint keeps its Microsoft suffix.
    assert!(
        j["profile"]["tenant"]["eop_endpoint"]
            .as_str()
            .expect("eop")
            .ends_with(".mail.protection.outlook.com")
    );
    assert_eq!(
        j["profile"]["connectors"]["send"]["tls_domain"],
        "mail.protection.outlook.com"
    );
    // Certificates are markers in the JSON, parsed details (redacted) in the HTML.
    let chain = j["evidence"]["smtp"][0]["tls"]["chain_der_b64"]
        .as_array()
        .expect("chain");
    assert!(
        chain
            .iter()
            .all(|c| c.as_str().is_some_and(|c| c.starts_with("redacted:cert-"))),
        "{chain:?}"
    );
    assert!(
        r.html.contains("Valid until") && r.html.contains("CN=host-"),
        "redacted certificate details"
    );
    // Check ids, statuses and the verdict are untouched.
    let ids = |v: &serde_json::Value| -> Vec<(String, String)> {
        v["checks"]
            .as_array()
            .expect("checks")
            .iter()
            .map(|c| (c["id"].to_string(), c["status"].to_string()))
            .collect()
    };
    assert_eq!(ids(&plain.json), ids(&r.json));
    assert_safe_html(&r.html);
    assert_valid(&r.json);
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(stdout_json).expect("stdout is JSON"),
        r.json,
        "stdout and the JSON report differ"
    );
}

#[test]
fn render_redacts_a_saved_diagnosis_the_same_way() {
    let dir = tempfile::tempdir().expect("tempdir");
    let plain = lab_reports("healthy-edge", dir.path(), "plain", &[]);
    let out_json = dir.path().join("r.json");
    let out_html = dir.path().join("r.html");
    let (out, _) = run_with_timeout(
        mailpath()
            .args(["report", "render", "--redact"])
            .arg(&plain.json_path)
            .arg("--report")
            .arg(&out_json)
            .arg("--report")
            .arg(&out_html),
        Duration::from_secs(60),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let json = std::fs::read_to_string(&out_json).expect("json");
    let html = std::fs::read_to_string(&out_html).expect("html");
    for secret in secrets(&plain.json) {
        for (what, doc) in [("json", &json), ("html", &html)] {
            let lower = doc.to_ascii_lowercase();
            if let Some(at) = lower.find(&secret) {
                panic!(
                    "{what}: {secret:?} survived redaction: ...{}...",
                    &doc[at.saturating_sub(80)..(at + 80).min(doc.len())]
                );
            }
        }
    }
    // A redacted JSON renders again (certificates show as redacted markers).
    let again = dir.path().join("again.html");
    let (out, _) = run_with_timeout(
        mailpath()
            .args(["report", "render"])
            .arg(&out_json)
            .arg("--report")
            .arg(&again),
        Duration::from_secs(60),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let again = std::fs::read_to_string(&again).expect("html");
    assert_safe_html(&again);
    assert!(
        again.contains("redacted (cert-1)"),
        "a redacted certificate is named as such"
    );
}
