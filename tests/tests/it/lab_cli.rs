//! `mailpath lab` as a command: listing, the ready line, the written profile, stopping.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;
use std::time::Duration;

use mailpath_tests::{LabProcess, mailpath, run_with_timeout, text};

#[test]
fn list_prints_every_scenario_with_a_summary() {
    let (out, _) = run_with_timeout(mailpath().args(["lab", "--list"]), Duration::from_secs(60));
    assert!(out.status.success());
    let listing = String::from_utf8(out.stdout).unwrap();
    for name in [
        "healthy-edge",
        "healthy-direct",
        "expired-cert",
        "not-yet-valid",
        "name-mismatch",
        "self-signed",
        "missing-intermediate",
        "weak-key",
        "expiring-soon",
        "starttls-stripped",
        "port-closed",
        "port-filtered",
        "tarpit",
        "legacy-tls",
        "cbc-only",
        "rsa-kex-only",
        "wrong-mx",
        "spf-missing-eop",
        "gcc-high",
        "wildcard-connectors",
        "edgesync-blocked",
        "garbage-server",
        "slow-drip",
    ] {
        let line = listing
            .lines()
            .find(|l| l.split_whitespace().next() == Some(name));
        let line = line.unwrap_or_else(|| panic!("{name} missing from {listing}"));
        assert!(line.len() > name.len() + 10, "{name} has a summary: {line:?}");
    }
    let (json, _) = run_with_timeout(
        mailpath().args(["lab", "--list", "--format", "json"]),
        Duration::from_secs(60),
    );
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(v.as_array().unwrap().len(), mailpath_core::lab::SCENARIOS.len());
    assert!(v.as_array().unwrap().len() >= 20);
}

#[test]
fn ready_line_has_the_documented_shape_and_stdin_close_stops_the_lab() {
    let dir = tempfile::tempdir().unwrap();
    let written = dir.path().join("lab.toml");
    let lab = LabProcess::start("healthy-edge", &["--write-profile", written.to_str().unwrap()]);
    let v: serde_json::Value = serde_json::from_str(&lab.line).unwrap();
    for key in ["scenario", "dns", "ca_file", "profile_file", "endpoints"] {
        assert!(v.get(key).is_some(), "{key} missing in {}", lab.line);
    }
    assert_eq!(v["scenario"], "healthy-edge");
    let roles: Vec<&str> = lab.info.endpoints.iter().map(|e| e.role.as_str()).collect();
    for role in ["eop", "mailbox", "edge-internal", "edge-external", "edge-sync"] {
        assert!(roles.contains(&role), "{role} in {roles:?}");
    }
    for e in &lab.info.endpoints {
        assert!(e.address.ip().is_loopback(), "lab binds loopback only: {e:?}");
    }
    let eop = lab.info.endpoint("eop");
    assert!(
        eop.tls_names
            .contains(&"*.mail.protection.outlook.com".to_string()),
        "{eop:?}"
    );
    let ca = std::fs::read_to_string(&lab.info.ca_file).unwrap();
    assert!(ca.starts_with("-----BEGIN CERTIFICATE-----"));
    let profile = std::fs::read_to_string(&written).unwrap();
    assert!(profile.contains(&lab.info.dns.to_string()), "{profile}");
    assert!(
        profile.contains(&lab.info.endpoint("edge-external").address.port().to_string()),
        "{profile}"
    );
    assert_eq!(profile, std::fs::read_to_string(&lab.info.profile_file).unwrap());
    let state_dir = lab.info.ca_file.parent().unwrap().to_path_buf();
    let (took, status) = lab.stop();
    assert!(status.success(), "{status:?}");
    assert!(took < Duration::from_secs(5), "stopping took {took:?}");
    assert!(
        !state_dir.exists(),
        "lab state is removed on exit: {}",
        state_dir.display()
    );
}

#[cfg(unix)]
#[test]
fn sigterm_stops_the_lab() {
    let lab = LabProcess::start("healthy-direct", &["--ignore-stdin"]);
    let status = Command::new("kill")
        .args(["-TERM", &lab.pid().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let (took, status) = lab.stop();
    assert!(status.success(), "{status:?}");
    assert!(took < Duration::from_secs(5));
}

#[test]
fn unknown_scenario_exits_3_with_a_clear_message() {
    let (out, _) = run_with_timeout(
        mailpath().args(["lab", "no-such-scenario"]),
        Duration::from_secs(60),
    );
    assert_eq!(out.status.code(), Some(3));
    let err = text(&out);
    assert!(err.contains("invalid value 'no-such-scenario'"), "{err}");
    assert!(err.contains("expired-cert"), "the scenarios are listed: {err}");
}

#[test]
fn every_command_is_built_and_bad_arguments_exit_3() {
    for args in [
        &["diagnose", "--help"][..],
        &["probe", "--help"],
        &["cert", "--help"],
        &["relay", "--help"],
        &["headers", "--help"],
        &["report", "compare", "--help"],
        &["gui", "--help"],
    ] {
        let (out, _) = run_with_timeout(mailpath().args(args), Duration::from_secs(60));
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", text(&out));
        assert!(!text(&out).contains("not built yet"), "{args:?}: {}", text(&out));
    }
    let (out, _) = run_with_timeout(
        mailpath().args(["report", "compare", "no-such-old.json", "no-such-new.json"]),
        Duration::from_secs(60),
    );
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(text(&out).contains("no-such-old.json"), "{}", text(&out));
    let (out, _) = run_with_timeout(mailpath().args(["diagnose", "--bogus"]), Duration::from_secs(60));
    assert_eq!(out.status.code(), Some(3), "bad arguments exit 3");
}
