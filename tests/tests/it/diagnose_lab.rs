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
    Expect {
        scenario: "edge-subscription-stale",
        fail: &["tls.cert.direct_trust"],
        may_fail: &[],
        warn: &[],
        code: 2,
    },
    Expect {
        scenario: "receive-cert-stale",
        // The probes see ex02 without STARTTLS; the audit of the scenario's export sees the expired
        // certificate its receive connector still names.
        fail: &[
            "config.receive.tls_certificate_name",
            "smtp.starttls",
            "config.cert.expiry",
            "config.cert.usable",
        ],
        may_fail: &[],
        // The two servers name different certificates, and the one served is not the one ex02 names.
        warn: &["config.cert.same_everywhere", "config.cert.served"],
        code: 2,
    },
    Expect {
        scenario: "lan-vantage",
        fail: &[],
        may_fail: &[],
        warn: &[],
        code: 0,
    },
    Expect {
        scenario: "mx-third-party",
        fail: &[],
        may_fail: &[],
        warn: &[],
        code: 0,
    },
    Expect {
        scenario: "mx-on-premises",
        fail: &[],
        may_fail: &[],
        warn: &[],
        code: 0,
    },
    Expect {
        scenario: "smart-host-legacy",
        fail: &["config.send.smart_hosts"],
        may_fail: &["tls.cert.name"],
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

fn run_case(case: &Expect) -> serde_json::Value {
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
    v
}

/// The scenario's case run, its diagnosis returned for further assertions.
fn diagnose_case(scenario: &str) -> serde_json::Value {
    run_case(CASES.iter().find(|c| c.scenario == scenario).expect("case"))
}

use mailpath_tests::checks_with_id as checks;

/// The nodes of the lane of this way.
fn lane_nodes(v: &serde_json::Value, way: &str) -> Vec<String> {
    let lane = v["path"]["lanes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["way"] == way)
        .unwrap_or_else(|| panic!("no {way} lane: {}", v["path"]["lanes"]));
    lane["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap().to_string())
        .collect()
}

fn node<'a>(v: &'a serde_json::Value, id: &str) -> &'a serde_json::Value {
    v["path"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["id"] == id)
        .unwrap_or_else(|| panic!("no node {id}: {}", v["path"]["nodes"]))
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
    port_filtered => "port-filtered",
    tarpit => "tarpit",
    legacy_tls => "legacy-tls",
    cbc_only => "cbc-only",
    rsa_kex_only => "rsa-kex-only",
    spf_missing_eop => "spf-missing-eop",
    edgesync_blocked => "edgesync-blocked",
    garbage_server => "garbage-server",
    slow_drip => "slow-drip",
    dane_mismatch => "dane-mismatch",
}

/// Issue 13 item 2: the Edge's internal listener serves its self-signed certificate (as real Edges do);
/// Mailbox -> Edge is judged by direct trust (the Edge subscription's certificate), not by public trust.
#[test]
fn healthy_edge() {
    let v = diagnose_case("healthy-edge");
    let direct: Vec<_> = checks(&v, "tls.cert.direct_trust")
        .into_iter()
        .filter(|c| c["target"].as_str().unwrap().starts_with("edge01.contoso.com"))
        .collect();
    assert_eq!(direct.len(), 1, "{direct:?}");
    assert_eq!(direct[0]["status"], "pass", "{}", direct[0]);
    assert!(
        direct[0]["summary"].as_str().unwrap().contains("self-signed"),
        "{}",
        direct[0]
    );
    assert!(
        !checks(&v, "tls.cert.trusted")
            .iter()
            .any(|c| c["target"].as_str().unwrap().starts_with("edge01.contoso.com")),
        "public trust is not asked of the Edge's internal listener"
    );
}

/// Issue 13 item 2: the subscription publishes a certificate the Edge no longer serves.
#[test]
fn edge_subscription_stale() {
    let v = diagnose_case("edge-subscription-stale");
    let direct = checks(&v, "tls.cert.direct_trust");
    let fail = direct
        .iter()
        .find(|c| c["status"] == "fail")
        .expect("a failing direct trust");
    assert!(
        fail["remediation"].to_string().contains("New-EdgeSubscription"),
        "{fail}"
    );
}

/// Issue 13 item 5: one of two Mailbox servers behind the public name lost STARTTLS after a renewal.
#[test]
fn receive_cert_stale() {
    let v = diagnose_case("receive-cert-stale");
    let receive = checks(&v, "config.receive.tls_certificate_name");
    let status = |server: &str| {
        receive
            .iter()
            .find(|c| c["target"].as_str().unwrap().starts_with(server))
            .unwrap_or_else(|| panic!("no check of {server}: {receive:?}"))
    };
    assert_eq!(status("EX01\\")["status"], "pass", "{receive:?}");
    let ex02 = status("EX02\\");
    assert_eq!(ex02["status"], "fail", "{ex02}");
    let steps = ex02["remediation"].as_array().expect("steps");
    assert!(
        steps.iter().any(|s| s["kind"] == "command"
            && s["text"].as_str().unwrap_or_default().starts_with(
                "Set-ReceiveConnector \"EX02\\Default Frontend EX02\" -TlsCertificateName \"<I>"
            )),
        "{ex02}"
    );
    // Each address behind the public name was probed, not only the first.
    let starttls: Vec<String> = checks(&v, "smtp.starttls")
        .iter()
        .filter(|c| c["status"] == "fail")
        .map(|c| c["target"].as_str().unwrap().to_string())
        .collect();
    assert!(starttls.iter().any(|t| t.contains("(127.0.0.2)")), "{starttls:?}");
}

/// Issue 13 item 1: from the LAN the Edge's internal ports are out of sight (skip with why, not fail),
/// and split DNS is recognised.
#[test]
fn lan_vantage() {
    let v = diagnose_case("lan-vantage");
    for id in ["tcp.smtp.reachable", "tcp.edgesync.reachable"] {
        let edge = checks(&v, id)
            .into_iter()
            .find(|c| c["target"].as_str().unwrap().starts_with("edge01.contoso.com"))
            .unwrap_or_else(|| panic!("no {id} of the Edge"));
        assert_eq!(edge["status"], "skip", "{edge}");
        assert!(
            edge["summary"]
                .as_str()
                .unwrap()
                .contains("not reachable from this workstation (expected from the LAN: only Mailbox servers reach the Edge)"),
            "{edge}"
        );
    }
    let vantage = checks(&v, "path.vantage");
    assert!(
        vantage[0]["summary"].as_str().unwrap().contains("split DNS"),
        "{}",
        vantage[0]
    );
    assert_eq!(checks(&v, "dns.split_brain")[0]["status"], "info");
}

/// Issue 13 item 1: a reachability failure says from where it was tried.
#[test]
fn port_closed() {
    let v = diagnose_case("port-closed");
    let fail = checks(&v, "tcp.smtp.reachable")
        .into_iter()
        .find(|c| c["status"] == "fail")
        .expect("a reachability failure");
    assert!(
        fail["summary"]
            .as_str()
            .unwrap()
            .contains("tried from this workstation on the LAN"),
        "{fail}"
    );
}

/// Issue 13 item 11: the MX lane ends at what the MX reaches.
#[test]
fn mx_third_party() {
    let v = diagnose_case("mx-third-party");
    assert_eq!(lane_nodes(&v, "internet-mx"), ["internet", "mx-gateway"]);
    assert_eq!(node(&v, "mx-gateway")["hosts"][0], "mx1.gateway.example");
    let mx = checks(&v, "dns.mx.accepted_domain");
    assert!(
        mx[0]["summary"].as_str().unwrap().contains("third-party gateway"),
        "{}",
        mx[0]
    );
    // The other lanes are unchanged, and Exchange Online's mail to the internet has its lane.
    assert_eq!(lane_nodes(&v, "outbound"), ["mailbox", "edge", "eop", "exo"]);
    assert_eq!(lane_nodes(&v, "to-internet"), ["exo", "eop", "internet"]);
}

/// Issue 13 item 11: an MX on-premises draws Internet -> on-premises, not Internet -> EOP.
#[test]
fn mx_on_premises() {
    let v = diagnose_case("mx-on-premises");
    assert_eq!(lane_nodes(&v, "internet-mx"), ["internet", "edge"]);
    let mx = checks(&v, "dns.mx.accepted_domain");
    assert!(
        mx[0]["summary"].as_str().unwrap().contains("enters on-premises"),
        "{}",
        mx[0]
    );
    assert!(
        node(&v, "eop")["hosts"][0] == "contoso-com.mail.protection.outlook.com",
        "EOP stays on the hybrid lanes"
    );
}

/// Issue 13 item 11: the wrong MX of the routing domain is drawn as what it reaches.
#[test]
fn wrong_mx() {
    let v = diagnose_case("wrong-mx");
    assert_eq!(lane_nodes(&v, "outbound"), ["mailbox", "edge", "legacy"]);
    let legacy = node(&v, "legacy");
    assert_eq!(legacy["label"], "Retired Office 365 endpoint");
    assert_eq!(legacy["hosts"][0], "mail.messaging.microsoft.com");
}

/// Issue 13 item 11: ATTR35 from the send connector's smart host stated in the profile.
#[test]
fn smart_host_legacy() {
    let v = diagnose_case("smart-host-legacy");
    let smart = checks(&v, "config.send.smart_hosts");
    assert!(
        smart[0]["summary"].as_str().unwrap().contains("ATTR35"),
        "{}",
        smart[0]
    );
    assert_eq!(lane_nodes(&v, "outbound"), ["mailbox", "edge", "legacy"]);
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

/// Issue 13 item 5: a server behind the public name that the profile does not list is probed and judged
/// too (the profile of `receive-cert-stale` without ex02).
#[test]
fn an_unlisted_server_behind_the_public_name_is_judged() {
    let dir = tempfile::tempdir().unwrap();
    let written = dir.path().join("lab.toml");
    let lab = mailpath_tests::LabProcess::start(
        "receive-cert-stale",
        &["--write-profile", written.to_str().unwrap()],
    );
    let mut profile = mailpath_core::profile::Profile::load(&written).unwrap();
    profile.mailboxes.retain(|m| m.fqdn != "ex02.contoso.com");
    assert_eq!(profile.mailboxes.len(), 1);
    let path = dir.path().join("without-ex02.toml");
    std::fs::write(&path, profile.to_toml_string().unwrap()).unwrap();
    let (out, _) = run_with_timeout(
        mailpath().args([
            "diagnose",
            "--profile",
            path.to_str().unwrap(),
            "--format",
            "json",
        ]),
        Duration::from_secs(120),
    );
    let v: serde_json::Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&out)));
    let receive = checks(&v, "config.receive.tls_certificate_name");
    let unlisted = receive
        .iter()
        .find(|c| c["target"].as_str().unwrap().contains("(127.0.0.2)"))
        .unwrap_or_else(|| panic!("the address behind the public name is judged: {receive:?}"));
    assert_eq!(unlisted["status"], "fail", "{unlisted}");
    assert!(
        unlisted["summary"]
            .as_str()
            .unwrap()
            .contains("the server at 127.0.0.2"),
        "{unlisted}"
    );
    assert_eq!(out.status.code(), Some(2));
    drop(lab);
}
