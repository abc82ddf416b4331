//! The command line an admin trusts at a glance (issue 16), driving the real binary on lab scenarios:
//! problems first, progress that names what is pending, Ctrl+C, honest exit codes (the table in
//! docs/exit-codes.md), `--profile`/`--lab` only where used, relay send, the small ones, and the
//! monitoring formats.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use mailpath_tests::checks_with_id as checks;
use mailpath_tests::{LabProcess, mailpath, mailpath_bin, run_with_timeout, text, workspace_root};
use serde_json::Value;

use crate::relay_support::RelayProcess;

fn run(args: &[&str], limit: u64) -> std::process::Output {
    run_with_timeout(
        mailpath().args(args).current_dir(workspace_root()),
        Duration::from_secs(limit),
    )
    .0
}

/// Run, expect the exit code and words in the output; the output.
fn expect(args: &[&str], code: i32, says: &str) -> String {
    let out = run(args, 60);
    let shown = text(&out);
    assert_eq!(out.status.code(), Some(code), "{args:?}: {shown}");
    assert!(shown.contains(says), "{args:?} should say {says:?}: {shown}");
    shown
}

fn json(out: &std::process::Output) -> Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not one JSON document ({e}): {}", text(out)))
}

/// Split a command line of the docs into words (no quoting is used there).
fn words(cmd: &str) -> Vec<String> {
    cmd.split_whitespace().map(str::to_string).collect()
}

#[test]
fn exit_code_table_is_true() {
    let doc = std::fs::read_to_string(workspace_root().join("docs/exit-codes.md")).unwrap();
    let mut tried = 0;
    for row in doc
        .lines()
        .filter(|l| l.starts_with("| ") && !l.starts_with("| code"))
    {
        let cells: Vec<&str> = row.split('|').map(str::trim).collect();
        let code: i32 = cells[1].parse().unwrap_or_else(|_| panic!("a code in {row}"));
        let examples = cells[4];
        for cmd in examples.split(';') {
            let cmd = cmd.trim().trim_matches('`');
            let w = words(cmd);
            assert_eq!(w[0], "mailpath", "{cmd}");
            let args: Vec<&str> = w[1..].iter().map(String::as_str).collect();
            let out = run(&args, 120);
            assert_eq!(
                out.status.code(),
                Some(code),
                "`{cmd}` in docs/exit-codes.md:\n{}",
                text(&out)
            );
            tried += 1;
        }
    }
    assert!(tried >= 10, "the table's examples ran: {tried}");
}

#[test]
fn diagnose_text_puts_the_problems_first_once_each() {
    let out = run(&["diagnose", "--lab", "expired-cert"], 120);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let shown = String::from_utf8_lossy(&out.stdout).to_string();
    let lines: Vec<&str> = shown.lines().collect();
    assert!(
        lines[1].starts_with("FAIL: 1 failure(s), 0 warning(s)"),
        "{shown}"
    );
    assert!(lines[1].contains("1 fail, 0 warn, "), "{shown}");
    // The problem, with where it was found, before the path. (The Mailbox -> Edge hop serves the Edge's
    // self-signed certificate, judged by direct trust: only the public hop sees the expired one. Identical
    // results on several hops are one problem: output::tests.)
    let problems = shown.find("Problems, worst first:").expect("a problems section");
    let path = shown.find("On-premises -> Exchange Online").expect("the path");
    assert!(problems < path, "{shown}");
    assert_eq!(shown.matches(". FAIL tls.cert.validity").count(), 1, "{shown}");
    let place = lines
        .iter()
        .find(|l| l.trim_start().starts_with("where:"))
        .unwrap();
    assert!(place.contains("in.eop-edge (mail.contoso.com:"), "{place}");
    assert!(!place.contains("out.mailbox-edge"), "{place}");
    assert!(
        shown.contains("fix:\n") && shown.contains("# Renew it"),
        "{shown}"
    );
    // Compact lanes: no counts on passing hops, and a node whose certificate fails is not shown passing.
    assert!(!shown.contains("0 pass, 0 info"), "{shown}");
    assert!(!shown.contains("[PASS] Edge Transport"), "{shown}");
    assert!(shown.contains("[FAIL] Edge Transport"), "{shown}");
    assert!(shown.contains("tls.cert.validity (problem 1)"), "{shown}");
    // --verbose lists every check, skipped ones with their reason.
    let out = run(&["diagnose", "--lab", "expired-cert", "--verbose"], 120);
    let verbose = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(verbose.contains("PASS tls.version"), "{verbose}");
    assert!(
        verbose.contains("SKIP tls.cert.expiry") && verbose.contains("already expired"),
        "{verbose}"
    );
}

#[test]
fn progress_names_the_endpoint_still_pending() {
    if !mailpath_tests::require("script") {
        return;
    }
    // `script` gives the diagnosis a terminal; the tarpit Edge keeps its greeting for 20 s.
    let log = tempfile::NamedTempFile::new().unwrap();
    let cmd = format!("{} diagnose --lab tarpit", mailpath_bin().display());
    let mut child = Command::new("script")
        .args(["-qfec", &cmd])
        .arg(log.path())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut seen = String::new();
    while Instant::now() < deadline {
        seen = String::from_utf8_lossy(&std::fs::read(log.path()).unwrap()).to_string();
        if seen.contains("(greeting, 3/") {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        seen.contains("waiting for mail.contoso.com:") || seen.contains("waiting for edge01.contoso.com:"),
        "the pending endpoint is named: {seen:?}"
    );
    assert!(
        seen.contains("(greeting, 3/30 s)"),
        "its step and for how long: {seen:?}"
    );
}

fn interrupt(pid: u32) {
    let status = Command::new("kill")
        .args(["-INT", &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

#[cfg(unix)]
#[test]
fn ctrl_c_ends_a_diagnosis_with_what_it_has() {
    let dir = tempfile::tempdir().unwrap();
    let json_report = dir.path().join("partial.json");
    let md_report = dir.path().join("partial.md");
    let child = mailpath()
        .args(["diagnose", "--lab", "tarpit", "--report"])
        .arg(&json_report)
        .arg("--report")
        .arg(&md_report)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_secs(4));
    let t0 = Instant::now();
    interrupt(child.id());
    let out = child.wait_with_output().unwrap();
    assert!(t0.elapsed() < Duration::from_secs(10), "stopped promptly");
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let shown = text(&out);
    assert!(shown.contains("INCOMPLETE: cancelled"), "{shown}");
    assert!(shown.contains("diagnosis cancelled"), "{shown}");
    let doc: Value = serde_json::from_slice(&std::fs::read(&json_report).unwrap()).unwrap();
    assert_eq!(doc["cancelled"], true);
    assert_eq!(
        (doc["verdict"].as_str(), doc["exit_code"].as_u64()),
        (Some("incomplete"), Some(3))
    );
    // What finished is there: the Mailbox server answered at once, the tarpit Edge did not.
    let smtp: Vec<&str> = doc["evidence"]["smtp"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["host"].as_str().unwrap())
        .collect();
    assert!(smtp.contains(&"ex01.contoso.com"), "{smtp:?}");
    let cancelled = doc["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["summary"].as_str().unwrap_or_default().contains("cancelled"))
        .count();
    assert!(cancelled > 0, "the endpoints not probed say so");
    assert!(std::fs::read_to_string(&md_report).unwrap().contains("mailpath"));
    // The lab's temporary directory (its CA lives there) is gone.
    let ca = doc["profile"]["trust"]["ca_files"][0].as_str().unwrap();
    let lab_dir = std::path::Path::new(ca).parent().unwrap();
    assert!(lab_dir.to_string_lossy().contains("mailpath-lab-"), "{ca}");
    assert!(!lab_dir.exists(), "{} removed", lab_dir.display());
}

#[test]
fn a_dns_server_that_does_not_answer_fails_dns_resolver() {
    // The only resolver: nothing can be looked up, exit 3, and the check names the server.
    let t0 = Instant::now();
    let out = run(
        &[
            "diagnose",
            "--lab",
            "healthy-direct",
            "--dns",
            "127.0.0.1:1",
            "--format",
            "json",
        ],
        120,
    );
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(
        t0.elapsed() < Duration::from_secs(30),
        "not every lookup's timeout in turn"
    );
    let doc = json(&out);
    assert_eq!(doc["verdict"], "incomplete");
    let r = checks(&doc, "dns.resolver");
    assert_eq!(r.len(), 1);
    assert_eq!(r[0]["status"], "fail");
    assert!(
        r[0]["summary"].as_str().unwrap().contains("127.0.0.1:1"),
        "{}",
        r[0]
    );
    crate::report_common::assert_valid(&doc);

    // Next to one that answers: a failing check naming it, exit 2.
    let lab = LabProcess::start("healthy-direct", &[]);
    let dns = lab.info.dns.to_string();
    let profile = lab.info.profile_file.to_str().unwrap();
    let out = run(
        &[
            "diagnose",
            "--profile",
            profile,
            "--dns",
            &dns,
            "--dns",
            "127.0.0.1:1",
            "--format",
            "json",
        ],
        120,
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let doc = json(&out);
    let r = checks(&doc, "dns.resolver");
    let by_server: Vec<(&str, &str)> = r
        .iter()
        .map(|c| (c["target"].as_str().unwrap(), c["status"].as_str().unwrap()))
        .collect();
    assert_eq!(by_server, vec![(dns.as_str(), "pass"), ("127.0.0.1:1", "fail")]);
    assert!(
        checks(&doc, "dns.host.resolves")
            .iter()
            .all(|c| c["status"] == "pass")
    );
}

#[test]
fn nxdomain_for_a_stated_name_fails_alike_in_probe_and_diagnose() {
    let out = run(
        &[
            "probe",
            "nope.contoso.com",
            "--lab",
            "healthy-direct",
            "--format",
            "json",
        ],
        60,
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let doc = json(&out);
    let probe_check = checks(&doc, "dns.host.resolves")[0].clone();
    assert_eq!(probe_check["status"], "fail");

    // The same name stated in a profile: the lab's profile whose Exchange Online outbound connector names
    // it as its smart host.
    let lab = LabProcess::start("healthy-direct", &[]);
    let dir = tempfile::tempdir().unwrap();
    let text_profile = std::fs::read_to_string(&lab.info.profile_file).unwrap().replace(
        "smart_hosts = [\"mail.contoso.com\"]",
        "smart_hosts = [\"nope.contoso.com\"]",
    );
    let profile = dir.path().join("renamed.toml");
    std::fs::write(&profile, text_profile).unwrap();
    let out = run(
        &[
            "diagnose",
            "--profile",
            profile.to_str().unwrap(),
            "--format",
            "json",
        ],
        120,
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let doc = json(&out);
    let diag_check = checks(&doc, "dns.host.resolves")
        .into_iter()
        .find(|c| c["target"] == "nope.contoso.com")
        .expect("the renamed server is judged")
        .clone();
    assert_eq!(diag_check["status"], "fail");
    assert_eq!(diag_check["summary"], probe_check["summary"]);

    // A DNS server that does not answer leaves nothing to probe: exit 3, naming it.
    expect(
        &["probe", "mail.contoso.com", "--dns", "127.0.0.1:1"],
        3,
        "127.0.0.1:1 did not answer",
    );
}

#[test]
fn profile_and_lab_only_where_they_are_used() {
    for (args, says) in [
        (&["lab", "expired-cert", "--lab", "tarpit"][..], "--lab"),
        (
            &["probe", "mail.contoso.com", "--profile", "x.toml"][..],
            "--profile",
        ),
        (&["headers", "x.eml", "--lab"][..], "--lab"),
        (
            &["report", "compare", "a.json", "b.json", "--profile", "p.toml"][..],
            "--profile",
        ),
        (&["relay", "--lab", "tarpit"][..], "--lab"),
    ] {
        expect(args, 3, says);
    }
    // A mistyped scenario: did you mean.
    expect(&["diagnose", "--lab", "expird-cert"], 3, "'expired-cert'");
    expect(&["lab", "tarpitt"], 3, "'tarpit'");
    // The required choice shows in the usage line.
    expect(
        &["diagnose"],
        3,
        "mailpath diagnose <--profile <FILE>|--lab [<SCENARIO>]>",
    );
}

#[test]
fn every_help_is_truthful_and_ends_with_examples() {
    for sub in [
        &["gui"][..],
        &["diagnose"],
        &["probe"],
        &["cert"],
        &["lab"],
        &["relay"],
        &["relay", "send"],
        &["headers"],
        &["explain"],
        &["report"],
        &["report", "render"],
        &["report", "compare"],
    ] {
        let mut args = sub.to_vec();
        args.push("--help");
        let out = run(&args, 30);
        assert_eq!(out.status.code(), Some(0), "{args:?}");
        let help = String::from_utf8_lossy(&out.stdout).to_string();
        let tail: Vec<&str> = help
            .trim_end()
            .lines()
            .rev()
            .take_while(|l| !l.starts_with("Examples:"))
            .collect();
        assert!(
            (2..=3).contains(&tail.len())
                && tail
                    .iter()
                    .all(|l| l.trim_start().starts_with("mailpath") || l.contains("| mailpath")),
            "{args:?} ends with two or three examples:\n{help}"
        );
    }
    let help = String::from_utf8_lossy(&run(&["diagnose", "--help"], 30).stdout).to_string();
    let help = help.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(help.contains("instead of the profile's resolvers"), "{help}");
    assert!(!help.contains("Extra DNS server"), "{help}");
    let help = String::from_utf8_lossy(&run(&["relay", "--help"], 30).stdout).to_string();
    let help = help.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        help.contains("instead of the system trust store (the default)"),
        "{help}"
    );
}

#[cfg(all(unix, not(target_os = "macos")))]
#[test]
fn without_a_display_the_gui_says_what_to_run() {
    let (out, _) = run_with_timeout(
        mailpath()
            .args(["--lab", "expired-cert"])
            .env_remove("DISPLAY")
            .env_remove("WAYLAND_DISPLAY"),
        Duration::from_secs(30),
    );
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let said = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(
        said.contains("no display: use `mailpath diagnose --lab expired-cert`"),
        "{said}"
    );
    assert!(!said.to_lowercase().contains("winit"), "{said}");
}

#[test]
fn relay_send_is_honest_about_the_spool_the_refusal_and_the_certificate() {
    let spool = tempfile::tempdir().unwrap();
    let relay = RelayProcess::start(spool.path(), &["--accept-domain", "contoso.com"]);
    let via = format!("127.0.0.1:{}", relay.addr.port());
    // Not a spool: refused at once, not after the timeout.
    let not_spool = tempfile::tempdir().unwrap();
    let t0 = Instant::now();
    let out = run(
        &[
            "relay",
            "send",
            "--to",
            "megan@contoso.com",
            "--via",
            &via,
            "--await-spool",
            not_spool.path().to_str().unwrap(),
        ],
        60,
    );
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(text(&out).contains("not a relay spool"), "{}", text(&out));
    assert!(t0.elapsed() < Duration::from_secs(10));
    // A refused recipient shows its reply.
    let out = run(
        &["relay", "send", "--to", "x@elsewhere.example", "--via", &via],
        60,
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).contains("550 5.7.1"), "{}", text(&out));
    let out = run(
        &[
            "relay",
            "send",
            "--to",
            "x@elsewhere.example",
            "--via",
            &via,
            "--format",
            "json",
        ],
        60,
    );
    assert!(
        json(&out)["result"].to_string().contains("550 5.7.1"),
        "{}",
        text(&out)
    );

    // A client certificate the relay's checks fail (the lab CA is not trusted here): not "internal, exit 0".
    let lab = LabProcess::start("healthy-edge", &[]);
    let out = run(
        &[
            "relay",
            "send",
            "--to",
            "megan@contoso.com",
            "--via",
            &via,
            "--tls",
            "--cert",
            lab.info.onprem_cert_file.to_str().unwrap(),
            "--key",
            lab.info.onprem_key_file.to_str().unwrap(),
            "--header",
            "X-MS-Exchange-CrossPremises-AuthAs: Internal",
            "--await-spool",
            spool.path().to_str().unwrap(),
            "--timeout",
            "30",
            "--format",
            "json",
        ],
        90,
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let doc = json(&out);
    assert!(doc["arrived_after_ms"].is_u64(), "{doc}");
    let failed: Vec<&str> = doc["arrived_problems"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["status"] == "fail")
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert!(failed.contains(&"relay.client-cert.trust"), "{doc}");
    assert!(relay.stop().success());
}

#[test]
fn the_small_ones() {
    let lab = LabProcess::start("expired-cert", &[]);
    // cert: dates as 2026-11-27 14:03 UTC; --at takes a date (midnight UTC).
    let cert = lab.info.onprem_cert_file.to_str().unwrap();
    let out = run(&["cert", cert, "--at", "2026-01-01"], 30);
    let shown = String::from_utf8_lossy(&out.stdout).to_string();
    let valid = shown
        .lines()
        .find(|l| l.trim_start().starts_with("valid"))
        .expect("a validity line");
    let date = |s: &str| {
        let b = s.as_bytes();
        s.len() == 20 && b[4] == b'-' && b[10] == b' ' && b[13] == b':' && s.ends_with(" UTC")
    };
    // `valid FROM .. TO (330 days left)`: the dates, then their state in words.
    let range = valid.trim_start()["valid".len()..].trim();
    let range = range.split_once(" (").map_or(range, |(dates, _)| dates);
    let (from, to) = range.split_once(" .. ").unwrap();
    assert!(date(from) && date(to), "{valid}");
    // One order of counts everywhere: fail, warn, skip, info, pass; one casing of statuses.
    let order = |s: &str| {
        s.lines().any(|l| {
            let w: Vec<&str> = l.split(", ").map(|p| p.split(' ').nth(1).unwrap_or("")).collect();
            w == ["fail", "warn", "skip", "info", "pass"]
        })
    };
    assert!(order(&shown), "cert: {shown}");
    let headers = run(&["headers", "tests/fixtures/headers/anonymous-hybrid.eml"], 30);
    let hs = String::from_utf8_lossy(&headers.stdout).to_string();
    assert!(order(&hs), "headers: {hs}");
    assert!(hs.contains("  FAIL  headers.authas"), "{hs}");
    assert!(!hs.contains("  fail  "), "{hs}");
    let probe = run(&["probe", "mail.contoso.com", "--lab", "expired-cert"], 60);
    assert!(order(&String::from_utf8_lossy(&probe.stdout)), "{}", text(&probe));

    // OS errors appear once.
    for args in [
        &["cert", "/nonexistent/x.pem"][..],
        &["headers", "/nonexistent/x.eml"],
        &["report", "render", "/nonexistent/x.json", "--report", "x.html"],
        &["diagnose", "--profile", "/nonexistent/x.toml"],
    ] {
        let out = run(args, 30);
        assert_eq!(out.status.code(), Some(3));
        let said = String::from_utf8_lossy(&out.stderr).to_string();
        assert_eq!(said.matches("(os error 2)").count(), 1, "{args:?}: {said}");
    }

    // --redact: one placeholder per tenant, whichever of its names.
    let out = run(
        &[
            "diagnose",
            "--lab",
            "healthy-edge",
            "--redact",
            "--format",
            "json",
        ],
        120,
    );
    let red = String::from_utf8_lossy(&out.stdout).to_string();
    let mut tenants = BTreeSet::new();
    for suffix in [".mail.onmicrosoft.com", ".onmicrosoft.com"] {
        for (i, _) in red.match_indices(suffix) {
            let start = red[..i]
                .rfind(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
                .unwrap()
                + 1;
            tenants.insert(red[start..i].to_string());
        }
    }
    tenants.remove("mail");
    assert_eq!(
        tenants.into_iter().collect::<Vec<_>>(),
        vec!["tenant-1".to_string()]
    );
    assert!(
        red.contains("\"tenant-1.mail.protection.outlook.com:"),
        "the EOP endpoint is the tenant's too"
    );

    // compare: the counts are of what is listed.
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a.json"), dir.path().join("b.json"));
    run(
        &[
            "diagnose",
            "--lab",
            "healthy-edge",
            "--report",
            a.to_str().unwrap(),
        ],
        120,
    );
    run(
        &[
            "diagnose",
            "--lab",
            "expired-cert",
            "--report",
            b.to_str().unwrap(),
        ],
        120,
    );
    let out = run(
        &["report", "compare", a.to_str().unwrap(), b.to_str().unwrap()],
        30,
    );
    let shown = String::from_utf8_lossy(&out.stdout).to_string();
    for section in shown.split("\n\n").filter(|s| s.contains("):\n")) {
        let (head, body) = section.split_once(":\n").unwrap();
        let n: usize = head
            .rsplit('(')
            .next()
            .unwrap()
            .trim_end_matches(')')
            .parse()
            .unwrap();
        let listed = body
            .lines()
            .filter(|l| l.starts_with("  ") && !l.starts_with("    "))
            .count();
        assert_eq!(n, listed, "{section}");
    }

    // A closed pipe ends quietly, with the diagnosis's own exit code.
    let cmd = format!(
        "{} diagnose --lab healthy-edge --format json | head -c 10 >/dev/null; echo \"rc=${{PIPESTATUS[0]}}\"",
        mailpath_bin().display()
    );
    let (out, _) = run_with_timeout(Command::new("bash").args(["-c", &cmd]), Duration::from_secs(120));
    let said = text(&out);
    assert!(said.trim_end().ends_with("rc=0"), "{said}");
    assert!(!said.contains("error") && !said.contains("panicked"), "{said}");
}

#[test]
fn json_carries_the_verdict_and_the_monitoring_formats_read_the_same() {
    let out = run(&["diagnose", "--lab", "expired-cert", "--format", "json"], 120);
    assert_eq!(out.status.code(), Some(2));
    let doc = json(&out);
    assert_eq!(
        (doc["verdict"].as_str(), doc["exit_code"].as_u64()),
        (Some("fail"), Some(2))
    );
    crate::report_common::assert_valid(&doc);
    let full_len = out.stdout.len();

    let out = run(
        &[
            "diagnose",
            "--lab",
            "expired-cert",
            "--format",
            "json",
            "--compact",
        ],
        120,
    );
    let doc = json(&out);
    assert!(out.stdout.len() < full_len, "{} vs {full_len}", out.stdout.len());
    assert!(
        !String::from_utf8_lossy(&out.stdout).contains("MII"),
        "no DER left"
    );
    assert_eq!(doc["compact"], true);
    for p in doc["evidence"]["smtp"].as_array().unwrap() {
        assert_eq!(p["transcript"], serde_json::json!([]));
        if p["tls"].is_object() {
            assert_eq!(p["tls"]["chain_der_b64"], serde_json::json!([]));
            assert!(!p["tls"]["chain_sha256"].as_array().unwrap().is_empty(), "{p}");
        }
    }
    crate::report_common::assert_valid(&doc);

    let out = run(&["diagnose", "--lab", "expired-cert", "--format", "nagios"], 120);
    assert_eq!(out.status.code(), Some(2));
    let line = String::from_utf8_lossy(&out.stdout).to_string();
    assert_eq!(line.lines().count(), 1, "{line}");
    assert!(line.starts_with("MAILPATH CRITICAL - "), "{line}");
    let perf = line.split_once(" | ").unwrap().1;
    for want in ["fail=1;", "warn=0;", "cert_days_left=-5;30;0", "slowest_hop="] {
        assert!(perf.contains(want), "{want}: {perf}");
    }
    assert!(perf.split_whitespace().all(|p| p.contains('=')), "{perf}");
    let out = run(&["diagnose", "--lab", "expiring-soon", "--format", "nagios"], 120);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("MAILPATH WARNING - "));

    let out = run(
        &["diagnose", "--lab", "expired-cert", "--format", "prometheus"],
        120,
    );
    assert_eq!(out.status.code(), Some(2));
    let text_out = String::from_utf8_lossy(&out.stdout).to_string();
    let mut series = BTreeSet::new();
    for l in text_out.lines().filter(|l| !l.starts_with('#')) {
        let (name_labels, value) = l.rsplit_once(' ').unwrap();
        value.parse::<f64>().unwrap_or_else(|_| panic!("a number: {l}"));
        assert!(
            series.insert(name_labels.to_string()),
            "one sample per series: {l}"
        );
    }
    let expired = text_out
        .lines()
        .find(|l| {
            l.starts_with("mailpath_check_status{")
                && l.contains("id=\"tls.cert.validity\"")
                && l.contains("target=\"mail.contoso.com:")
        })
        .unwrap();
    assert!(expired.ends_with(" 4"), "{expired}");
    let expiry: Vec<i64> = text_out
        .lines()
        .filter(|l| l.starts_with("mailpath_certificate_expiry_timestamp_seconds{"))
        .map(|l| l.rsplit(' ').next().unwrap().parse().unwrap())
        .collect();
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    assert!(
        expiry
            .iter()
            .any(|t| (now - 6 * 86_400..now - 4 * 86_400).contains(t)),
        "{expiry:?}"
    );
    assert!(text_out.contains("mailpath_exit_code{profile=\"mailpath lab: expired-cert\"} 2"));
}

#[test]
fn probe_streams_its_transcript_as_it_happens() {
    use std::io::{BufRead as _, BufReader};
    // The tarpit Edge holds its greeting for 20 s: the lines before it must be out long before that.
    let mut child = mailpath()
        .args(["probe", "mail.contoso.com", "--lab", "tarpit"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send((Instant::now(), line)).is_err() {
                break;
            }
        }
    });
    let t0 = Instant::now();
    let (at, line) = loop {
        let (at, line) = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("a transcript line");
        if line.contains("Connected to 127.0.0.1:") {
            break (at, line);
        }
    };
    assert!(
        at - t0 < Duration::from_secs(10),
        "streamed, not after the 20 s greeting: {line}"
    );
    assert!(
        child.try_wait().unwrap().is_none(),
        "still waiting for the greeting"
    );
    let _ = child.kill();
    let _ = child.wait();
}

/// Whether a line is one command: a cmdlet, an assignment, or a tool (what a code block may hold).
fn is_command_line(line: &str) -> bool {
    let word = line.split_whitespace().next().unwrap_or_default();
    let cmdlet = word.split_once('-').is_some_and(|(verb, noun)| {
        verb.chars().next().is_some_and(|c| c.is_ascii_uppercase())
            && noun.chars().next().is_some_and(|c| c.is_ascii_uppercase())
    });
    cmdlet
        || word.starts_with('$')
        || ["dig", "nslookup", "openssl", "mailpath", "no", "policy-map"].contains(&word)
}

#[test]
fn fixes_are_pasteable_in_every_format() {
    // A diagnosis saved before remediations had steps (one string each) still loads and renders.
    let dir = tempfile::tempdir().unwrap();
    // (tests/fixtures/diagnosis-string-remediations.json: the expired-cert lab as saved by mailpath 0.1.0 at
    // e252641, before remediations were steps; kept as it was, never regenerated.)
    let fixture = workspace_root().join("tests/fixtures/diagnosis-string-remediations.json");
    let old: Value = serde_json::from_slice(&std::fs::read(&fixture).unwrap()).unwrap();
    assert!(
        old["checks"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["remediation"].as_str().is_some_and(|r| !r.is_empty()))
    );
    crate::report_common::assert_valid(&old);
    let (md, html, json_out) = (
        dir.path().join("r.md"),
        dir.path().join("r.html"),
        dir.path().join("r.json"),
    );
    let out = run(
        &[
            "report",
            "render",
            fixture.to_str().unwrap(),
            "--report",
            md.to_str().unwrap(),
            "--report",
            html.to_str().unwrap(),
            "--report",
            json_out.to_str().unwrap(),
        ],
        60,
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let doc: Value = serde_json::from_slice(&std::fs::read(&json_out).unwrap()).unwrap();
    crate::report_common::assert_valid(&doc);
    let validity = checks(&doc, "tls.cert.validity")
        .into_iter()
        .find(|c| c["status"] == "fail")
        .expect("the failing validity check")
        .clone();
    let steps = validity["remediation"].as_array().expect("steps");
    assert!(steps.iter().any(|s| s["kind"] == "command"), "{validity}");

    // Markdown: only commands in code blocks, each on its own line.
    let markdown = std::fs::read_to_string(&md).unwrap();
    let mut blocks = 0;
    let mut inside = None;
    for line in markdown.lines() {
        if let Some(lang) = line.strip_prefix("```") {
            inside = if inside.is_some() {
                None
            } else {
                Some(lang.to_string())
            };
            if inside.is_some() {
                blocks += 1;
            }
            continue;
        }
        if let Some(lang) = &inside
            && (lang == "powershell" || lang == "text")
            && markdown.contains("**Fix:**")
        {
            assert!(
                is_command_line(line),
                "prose in a {lang} block: {line:?}\n{markdown}"
            );
        }
    }
    assert!(blocks >= 1, "{markdown}");
    assert!(markdown.contains("*In Exchange Management Shell"), "{markdown}");

    // HTML: one command per box, never broken inside a token, selected whole by one click; no script.
    let page = std::fs::read_to_string(&html).unwrap();
    crate::report_common::assert_safe_html(&page);
    let parsed = scraper::Html::parse_document(&page);
    let sel = scraper::Selector::parse(".fix code.copy").unwrap();
    let commands: Vec<String> = parsed.select(&sel).map(|e| e.text().collect()).collect();
    assert!(!commands.is_empty());
    for c in &commands {
        assert!(!c.contains('\n') && is_command_line(c), "{c:?}");
    }
    let css = page.split("</style>").next().unwrap();
    let rule = css
        .lines()
        .find(|l| l.starts_with(".fix code.copy {"))
        .expect("a rule for commands");
    assert!(
        rule.contains("user-select: all") && rule.contains("word-break: normal"),
        "{rule}"
    );
    assert!(
        !rule.contains("break-all") && !rule.contains("anywhere"),
        "{rule}"
    );

    // Text: each command alone on its line under `fix:`.
    let out = run(&["diagnose", "--lab", "expired-cert"], 120);
    let shown = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        shown.lines().any(|l| l
            .trim_start()
            .starts_with("Enable-ExchangeCertificate -Thumbprint <new> -Services SMTP")
            && l.trim_end().ends_with("-Services SMTP")),
        "{shown}"
    );
}

#[test]
fn no_fix_repeats_an_argument_and_reading_commands_only_confirm() {
    for scenario in [
        "weak-key",
        "name-mismatch",
        "expired-cert",
        "port-closed",
        "starttls-stripped",
        "tarpit",
    ] {
        let out = run(&["diagnose", "--lab", scenario, "--format", "json"], 120);
        let doc = json(&out);
        for c in doc["checks"].as_array().unwrap() {
            for step in c["remediation"].as_array().unwrap() {
                let text = step["text"].as_str().unwrap();
                if step["kind"] == "prose" {
                    continue;
                }
                for token in text.split(' ').filter(|t| t.contains(',') && !t.contains('"')) {
                    let items: Vec<String> = token.split(',').map(str::to_ascii_lowercase).collect();
                    let unique: BTreeSet<&String> = items.iter().collect();
                    assert_eq!(
                        unique.len(),
                        items.len(),
                        "{scenario}: {} repeats an argument: {text}",
                        c["id"]
                    );
                }
                let reads = text.split('|').all(|stage| {
                    let w = stage.split_whitespace().next().unwrap_or_default();
                    w.starts_with("Get-")
                        || w.starts_with("Test-")
                        || w.starts_with("Resolve-")
                        || ["fl", "ft", "dig"].contains(&w)
                });
                if reads {
                    assert_eq!(
                        step["kind"], "confirm",
                        "{scenario}: {} changes nothing: {text}",
                        c["id"]
                    );
                }
            }
        }
    }
}
