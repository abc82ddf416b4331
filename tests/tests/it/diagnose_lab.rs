//! Every lab scenario through `mailpath diagnose --lab SCENARIO --format json`: the right check fails
//! (or warns), nothing else fails that is not caused by it, and healthy scenarios are clean.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::time::Duration;

use mailpath_tests::{mailpath, run_with_timeout, text};

struct Expect {
    scenario: &'static str,
    /// Must fail (every one of them).
    fail: &'static [&'static str],
    /// May also fail (caused by the same fault).
    may_fail: &'static [&'static str],
    /// Must warn.
    warn: &'static [&'static str],
    /// The exit code.
    code: i32,
}

const CASES: &[Expect] = &[
    Expect {
        scenario: "dane-mismatch",
        fail: &["tls.dane"],
        may_fail: &[],
        warn: &[],
        code: 2,
    },
    Expect {
        scenario: "healthy-edge",
        fail: &[],
        may_fail: &[],
        warn: &[],
        code: 0,
    },
    Expect {
        scenario: "healthy-direct",
        fail: &[],
        may_fail: &[],
        warn: &[],
        code: 0,
    },
    Expect {
        scenario: "gcc-high",
        fail: &[],
        may_fail: &[],
        warn: &[],
        code: 0,
    },
    Expect {
        scenario: "wildcard-connectors",
        fail: &[],
        may_fail: &[],
        warn: &[],
        code: 0,
    },
    Expect {
        scenario: "expired-cert",
        fail: &["tls.cert.validity"],
        may_fail: &[],
        warn: &[],
        code: 2,
    },
    Expect {
        scenario: "not-yet-valid",
        fail: &["tls.cert.validity"],
        may_fail: &[],
        warn: &[],
        code: 2,
    },
    Expect {
        scenario: "name-mismatch",
        fail: &["tls.cert.name"],
        may_fail: &[],
        warn: &[],
        code: 2,
    },
    Expect {
        scenario: "self-signed",
        fail: &["tls.cert.trusted"],
        may_fail: &[],
        warn: &[],
        code: 2,
    },
    Expect {
        scenario: "missing-intermediate",
        fail: &["tls.cert.chain_complete"],
        may_fail: &["tls.cert.trusted"],
        warn: &[],
        code: 2,
    },
    Expect {
        scenario: "weak-key",
        fail: &["tls.cert.key"],
        may_fail: &[],
        warn: &[],
        code: 2,
    },
    Expect {
        scenario: "expiring-soon",
        fail: &[],
        may_fail: &[],
        // The renewal is due, and the renewed public certificate will lack clientAuth (issue 12).
        warn: &["tls.cert.expiry", "tls.cert.eku"],
        code: 1,
    },
    Expect {
        scenario: "starttls-stripped",
        fail: &["smtp.banner.masked", "smtp.starttls"],
        may_fail: &[],
        warn: &[],
        code: 2,
    },
    Expect {
        scenario: "port-closed",
        fail: &["tcp.smtp.reachable"],
        may_fail: &[],
        warn: &[],
        code: 2,
    },
    Expect {
        scenario: "port-filtered",
        fail: &["tcp.smtp.reachable"],
        may_fail: &[],
        warn: &[],
        code: 2,
    },
    Expect {
        scenario: "tarpit",
        fail: &[],
        may_fail: &[],
        warn: &["smtp.banner.delay"],
        code: 1,
    },
    Expect {
        scenario: "legacy-tls",
        fail: &["tls.version"],
        may_fail: &[],
        warn: &[],
        code: 2,
    },
    Expect {
        scenario: "cbc-only",
        fail: &[],
        may_fail: &[],
        warn: &["tls.ciphers"],
        code: 1,
    },
    Expect {
        scenario: "rsa-kex-only",
        fail: &[],
        may_fail: &[],
        warn: &["tls.ciphers"],
        code: 1,
    },
    Expect {
        scenario: "wrong-mx",
        fail: &["dns.mx.routing_domain"],
        may_fail: &["tls.cert.name"],
        warn: &[],
        code: 2,
    },
    Expect {
        scenario: "spf-missing-eop",
        fail: &["dns.spf.eop"],
        may_fail: &[],
        warn: &[],
        code: 2,
    },
    Expect {
        scenario: "edgesync-blocked",
        fail: &["tcp.edgesync.reachable"],
        may_fail: &[],
        warn: &[],
        code: 2,
    },
    Expect {
        scenario: "garbage-server",
        fail: &["smtp.banner"],
        may_fail: &[],
        warn: &[],
        code: 2,
    },
    Expect {
        scenario: "slow-drip",
        fail: &["smtp.banner"],
        may_fail: &[],
        warn: &[],
        code: 2,
    },
];

fn ids(v: &serde_json::Value, status: &str) -> BTreeSet<String> {
    v["checks"]
        .as_array()
        .expect("checks array")
        .iter()
        .filter(|c| c["status"] == status)
        .map(|c| c["id"].as_str().expect("id").to_string())
        .collect()
}

fn run_case(case: &Expect) {
    let (out, took) = run_with_timeout(
        mailpath().args(["diagnose", "--lab", case.scenario, "--format", "json"]),
        Duration::from_secs(120),
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{}: not JSON ({e}): {}", case.scenario, text(&out)));
    assert_eq!(v["schema"], "mailpath/diagnosis/1");
    let fails = ids(&v, "fail");
    let warns = ids(&v, "warn");
    for id in case.fail {
        assert!(
            fails.contains(*id),
            "{}: {id} should fail; fails: {fails:?}",
            case.scenario
        );
    }
    for id in &fails {
        assert!(
            case.fail.contains(&id.as_str()) || case.may_fail.contains(&id.as_str()),
            "{}: {id} fails but the fault does not explain it; fails: {fails:?}",
            case.scenario
        );
    }
    let expected_warns: BTreeSet<String> = case.warn.iter().map(|s| (*s).to_string()).collect();
    assert_eq!(warns, expected_warns, "{}: warnings", case.scenario);
    assert_eq!(out.status.code(), Some(case.code), "{}: exit code", case.scenario);
    // Every check is on the path (or explicitly nowhere) and the path rolled up.
    let path_fails = v["path"]["hops"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|h| h["status"] == "fail")
        .count();
    assert_eq!(
        path_fails > 0,
        !fails.is_empty(),
        "{}: the path shows failures iff checks fail",
        case.scenario
    );
    eprintln!("{}: {:?} fails={fails:?} warns={warns:?}", case.scenario, took);
}

macro_rules! scenario_tests {
    ($($name:ident => $scenario:literal,)*) => {$(
        #[test]
        fn $name() {
            let case = CASES.iter().find(|c| c.scenario == $scenario).expect("case");
            run_case(case);
        }
    )*};
}

scenario_tests! {
    healthy_edge => "healthy-edge",
    healthy_direct => "healthy-direct",
    gcc_high => "gcc-high",
    wildcard_connectors => "wildcard-connectors",
    expired_cert => "expired-cert",
    not_yet_valid => "not-yet-valid",
    name_mismatch => "name-mismatch",
    self_signed => "self-signed",
    missing_intermediate => "missing-intermediate",
    weak_key => "weak-key",
    expiring_soon => "expiring-soon",
    starttls_stripped => "starttls-stripped",
    port_closed => "port-closed",
    port_filtered => "port-filtered",
    tarpit => "tarpit",
    legacy_tls => "legacy-tls",
    cbc_only => "cbc-only",
    rsa_kex_only => "rsa-kex-only",
    wrong_mx => "wrong-mx",
    spf_missing_eop => "spf-missing-eop",
    edgesync_blocked => "edgesync-blocked",
    garbage_server => "garbage-server",
    slow_drip => "slow-drip",
    dane_mismatch => "dane-mismatch",
}

#[test]
fn every_scenario_has_a_case() {
    let (out, _) = run_with_timeout(
        mailpath().args(["lab", "--list", "--format", "json"]),
        Duration::from_secs(60),
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let listed: BTreeSet<&str> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    let cased: BTreeSet<&str> = CASES.iter().map(|c| c.scenario).collect();
    assert_eq!(listed, cased);
}

#[test]
fn text_output_shows_the_failing_hop_and_its_fix() {
    let (out, _) = run_with_timeout(
        mailpath().args(["diagnose", "--lab", "expired-cert"]),
        Duration::from_secs(120),
    );
    let s = String::from_utf8_lossy(&out.stdout);
    assert!(s.contains("On-premises -> Exchange Online"), "{s}");
    assert!(s.contains("FAIL tls.cert.validity"), "{s}");
    assert!(s.contains("     fix:\n"), "{s}");
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn diagnose_without_a_target_exits_3() {
    let (out, _) = run_with_timeout(mailpath().args(["diagnose"]), Duration::from_secs(60));
    assert_eq!(out.status.code(), Some(3));
    // The required choice, as the usage line shows it.
    assert!(
        text(&out).contains("<--profile <FILE>|--lab [<SCENARIO>]>"),
        "{}",
        text(&out)
    );
    let (out, _) = run_with_timeout(
        mailpath().args(["diagnose", "--profile", "/nonexistent/profile.toml"]),
        Duration::from_secs(60),
    );
    assert_eq!(out.status.code(), Some(3));
    assert!(text(&out).contains("/nonexistent/profile.toml"), "{}", text(&out));
}

#[test]
fn diagnose_a_running_lab_through_its_written_profile() {
    let dir = tempfile::tempdir().unwrap();
    let profile = dir.path().join("lab.toml");
    let lab =
        mailpath_tests::LabProcess::start("name-mismatch", &["--write-profile", profile.to_str().unwrap()]);
    let (out, _) = run_with_timeout(
        mailpath().args([
            "diagnose",
            "--profile",
            profile.to_str().unwrap(),
            "--format",
            "json",
        ]),
        Duration::from_secs(120),
    );
    let v: serde_json::Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&out)));
    assert_eq!(ids(&v, "fail").into_iter().collect::<Vec<_>>(), ["tls.cert.name"]);
    assert_eq!(v["profile"]["name"], "mailpath lab: name-mismatch");
    let hop = v["path"]["hops"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["id"] == "in.eop-edge")
        .unwrap();
    assert_eq!(
        hop["status"], "fail",
        "the failure sits on the EOP -> Edge hop: {hop}"
    );
    drop(lab);
}
