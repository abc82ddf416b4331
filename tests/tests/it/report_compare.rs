//! `mailpath report compare OLD.json NEW.json`: a planted change (a check that broke, one that got fixed,
//! a new certificate and address on an endpoint) is found, in text and JSON, with exit code 2; two
//! healthy runs of the lab (new ports, a new lab CA) compare without anything broken.

use crate::report_common;

use std::path::Path;
use std::time::Duration;

use mailpath_tests::{mailpath, run_with_timeout, text};
use report_common::lab_reports;

fn compare(old: &Path, new: &Path, json: bool) -> (i32, String) {
    let mut cmd = mailpath();
    cmd.args(["report", "compare"]).arg(old).arg(new);
    if json {
        cmd.args(["--format", "json"]);
    }
    let (out, _) = run_with_timeout(&mut cmd, Duration::from_secs(60));
    (
        out.status.code().unwrap_or(-1),
        if json {
            String::from_utf8_lossy(&out.stdout).into_owned()
        } else {
            text(&out)
        },
    )
}

#[test]
fn compare_finds_a_planted_change() {
    let dir = tempfile::tempdir().expect("tempdir");
    let base = lab_reports("healthy-edge", dir.path(), "old", &[]);
    let mut old = base.json.clone();
    let mut new = base.json.clone();
    let checks = old["checks"].as_array().expect("checks").clone();
    let banner = checks
        .iter()
        .position(|c| c["id"] == "smtp.banner")
        .expect("a smtp.banner check");
    let starttls = checks
        .iter()
        .position(|c| c["id"] == "smtp.starttls")
        .expect("a smtp.starttls check");
    // Old: STARTTLS was failing; new: fixed. New: the banner fails.
    old["checks"][starttls]["status"] = "fail".into();
    new["checks"][banner]["status"] = "fail".into();
    new["checks"][banner]["summary"] = "no greeting within 30 s".into();
    // A new certificate on the public Edge endpoint (the Mailbox server's one, in fact) and a new address.
    let smtp = new["evidence"]["smtp"].as_array().expect("smtp").clone();
    let edge = smtp
        .iter()
        .position(|p| p["host"] == "mail.contoso.com")
        .expect("the public Edge probe");
    let mailbox = smtp
        .iter()
        .position(|p| p["host"] == "ex01.contoso.com")
        .expect("the Mailbox probe");
    new["evidence"]["smtp"][edge]["tls"]["chain_der_b64"] = smtp[mailbox]["tls"]["chain_der_b64"].clone();
    new["evidence"]["smtp"][edge]["addresses"] = serde_json::json!(["127.0.0.2"]);
    let (old_path, new_path) = (
        dir.path().join("old-planted.json"),
        dir.path().join("new-planted.json"),
    );
    std::fs::write(&old_path, serde_json::to_string_pretty(&old).expect("json")).expect("write");
    std::fs::write(&new_path, serde_json::to_string_pretty(&new).expect("json")).expect("write");

    let (code, out) = compare(&old_path, &new_path, false);
    assert_eq!(code, 2, "{out}");
    assert!(
        out.contains("Broke (1):")
            && out.contains("smtp.banner")
            && out.contains("(was pass) no greeting within 30 s"),
        "{out}"
    );
    assert!(
        out.contains("Fixed (1):") && out.contains("smtp.starttls"),
        "{out}"
    );
    assert!(out.contains("smtp mail.contoso.com"), "{out}");
    for field in [
        "certificate sha256:",
        "certificate subject: CN=mail.contoso.com -> CN=ex01.contoso.com",
        "addresses: 127.0.0.1 -> 127.0.0.2",
    ] {
        assert!(out.contains(field), "{field} missing:\n{out}");
    }
    assert!(out.contains("Result: something broke"), "{out}");

    let (code, out) = compare(&old_path, &new_path, true);
    assert_eq!(code, 2, "{out}");
    let v: serde_json::Value = serde_json::from_str(&out).expect("compare --format json prints JSON only");
    assert_eq!(v["schema"], "mailpath/compare/1");
    assert_eq!(v["broke"], true);
    assert_eq!(v["broken"][0]["id"], "smtp.banner");
    assert_eq!(v["broken"][0]["old"], "pass");
    assert_eq!(v["fixed"][0]["id"], "smtp.starttls");
    assert!(
        v["endpoints"]
            .as_array()
            .expect("endpoints")
            .iter()
            .any(|c| c["field"] == "certificate sha256" && c["endpoint"] == "smtp mail.contoso.com")
    );

    // Reversed: what broke is now fixed and nothing broke... except STARTTLS, which fails in "old".
    let (code, out) = compare(&new_path, &old_path, false);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("Fixed (1):") && out.contains("smtp.banner"), "{out}");

    // A file compared with itself: nothing.
    let (code, out) = compare(&base.json_path, &base.json_path, false);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("No differences.") && out.contains("Result: nothing broke"),
        "{out}"
    );
}

#[test]
fn two_healthy_lab_runs_compare_clean() {
    let dir = tempfile::tempdir().expect("tempdir");
    let a = lab_reports("healthy-edge", dir.path(), "a", &[]);
    let b = lab_reports("healthy-edge", dir.path(), "b", &[]);
    let (code, out) = compare(&a.json_path, &b.json_path, true);
    assert_eq!(code, 0, "{out}");
    let v: serde_json::Value = serde_json::from_str(&out).expect("json");
    // Checks are matched although every lab run listens on new ports.
    for k in ["broken", "fixed", "added", "removed"] {
        assert_eq!(v[k].as_array().map(Vec::len), Some(0), "{k}: {out}");
    }
    // The lab makes a new CA every run: certificates differ, banners (timestamps aside) do not.
    let fields: Vec<&str> = v["endpoints"]
        .as_array()
        .expect("endpoints")
        .iter()
        .filter_map(|c| c["field"].as_str())
        .collect();
    assert!(fields.contains(&"certificate sha256"), "{out}");
    assert!(!fields.contains(&"banner"), "{out}");
}

#[test]
fn compare_refuses_what_is_not_a_diagnosis() {
    let dir = tempfile::tempdir().expect("tempdir");
    let junk = dir.path().join("junk.json");
    std::fs::write(&junk, "{\"schema\": \"mailpath/cert/1\"}").expect("write");
    let (code, out) = compare(&junk, &junk, false);
    assert_eq!(code, 3, "{out}");
    assert!(
        out.contains("junk.json") && out.contains("mailpath/cert/1"),
        "{out}"
    );
}
