//! `mailpath import` and `diagnose --export` on the Exchange export fixtures (tests/fixtures/exchange)
//! and on the lab's own export: the profile written, the origins, bad input named by section and field.

use std::path::PathBuf;
use std::time::Duration;

use mailpath_tests::{mailpath, run_with_timeout, text, workspace_root};

fn fixture(name: &str) -> PathBuf {
    workspace_root().join("tests/fixtures/exchange").join(name)
}

const LIMIT: Duration = Duration::from_secs(60);

#[test]
fn import_writes_a_profile_with_where_each_value_came_from() {
    let dir = tempfile::tempdir().unwrap();
    let toml = dir.path().join("contoso.toml");
    let (out, _) = run_with_timeout(
        mailpath()
            .arg("import")
            .arg(fixture("onprem-two-mailbox.json"))
            .arg(fixture("exo.json"))
            .arg("--write-profile")
            .arg(&toml),
        LIMIT,
    );
    // The fixture's failed Test-EdgeSynchronization is a warning: exit 1, everything else used.
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let shown = String::from_utf8(out.stdout.clone()).unwrap();
    assert!(
        shown.contains("warning: ")
            && shown.contains("section edge_synchronization (Test-EdgeSynchronization): the cmdlet failed"),
        "{shown}"
    );
    assert!(shown.contains("connectors.send.tls_certificate_name"), "{shown}");
    let written = std::fs::read_to_string(&toml).unwrap();
    assert!(
        written.contains("name = \"contoso\"  # observed: Get-AcceptedDomain"),
        "{written}"
    );
    assert!(
        written.contains("smart_hosts = [\"mail.contoso.com\"]  # observed: Get-OutboundConnector"),
        "{written}"
    );
    assert!(
        written.contains("# assumed: ") || written.contains("# observed: "),
        "{written}"
    );
    // The written profile is a valid profile: `cert --profile`/`diagnose --profile` read it. Its
    // reading is checked through `import --format json` of the same files and the core's tests; here
    // the CLI must accept it as a profile for `explain`, which validates without probing.
    let (out, _) = run_with_timeout(
        mailpath()
            .args(["explain", "454 4.7.5 certificate"])
            .arg("--profile")
            .arg(&toml),
        LIMIT,
    );
    assert_ne!(out.status.code(), Some(3), "{}", text(&out));
}

#[test]
fn import_json_names_origins_and_problems() {
    let (out, _) = run_with_timeout(
        mailpath()
            .arg("import")
            .arg(fixture("ps51-shapes.json"))
            .args(["--format", "json"]),
        LIMIT,
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["schema"], "mailpath/import/1");
    let problems: Vec<&str> = doc["problems"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p.as_str())
        .collect();
    assert!(
        problems.iter().any(|p| p.contains("section send_connectors (Get-SendConnector), item \"Outbound to Office 365\", field TlsCertificateName")),
        "{problems:#?}"
    );
    assert!(
        problems.iter().any(|p| p.contains("0.9.0, older")),
        "{problems:#?}"
    );
    let settings = doc["settings"].as_array().unwrap();
    let fqdn = settings
        .iter()
        .find(|s| s["key"] == "connectors.send.fqdn")
        .unwrap();
    assert!(
        fqdn["origin"]
            .as_str()
            .unwrap()
            .starts_with("observed: Get-SendConnector"),
        "{fqdn}"
    );
}

#[test]
fn import_refuses_what_is_not_an_export_and_a_cut_file_keeps_its_sections() {
    let dir = tempfile::tempdir().unwrap();
    let not = dir.path().join("profile.toml");
    std::fs::write(&not, "name = \"x\"\n").unwrap();
    let (out, _) = run_with_timeout(mailpath().arg("import").arg(&not), LIMIT);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(
        text(&out).contains("not a mailpath Exchange export"),
        "{}",
        text(&out)
    );

    let full = std::fs::read_to_string(fixture("onprem-two-mailbox.json")).unwrap();
    let at = full.find("\"hybrid_configuration\"").unwrap();
    let cut = dir.path().join("cut.json");
    std::fs::write(&cut, &full[..at + 30]).unwrap();
    let (out, _) = run_with_timeout(mailpath().arg("import").arg(&cut), LIMIT);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let shown = text(&out);
    assert!(shown.contains("the file is cut short"), "{shown}");
    assert!(shown.contains("connectors.send.fqdn"), "{shown}");
}

fn checks(out: &std::process::Output) -> Vec<serde_json::Value> {
    let doc: serde_json::Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {}", text(out)));
    doc["checks"].as_array().cloned().unwrap_or_default()
}

#[test]
fn the_labs_export_is_audited_with_the_live_probes() {
    let dir = tempfile::tempdir().unwrap();
    let profile = dir.path().join("lab.toml");
    let export = dir.path().join("lab-export.json");
    let lab = mailpath_tests::LabProcess::start(
        "healthy-direct",
        &[
            "--write-profile",
            profile.to_str().unwrap(),
            "--write-export",
            export.to_str().unwrap(),
        ],
    );
    // The export imports without a problem.
    let (out, _) = run_with_timeout(mailpath().arg("import").arg(&export), LIMIT);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let (out, _) = run_with_timeout(
        mailpath()
            .args(["diagnose", "--format", "json", "--tls-scan", "off", "--profile"])
            .arg(&profile)
            .arg("--export")
            .arg(&export),
        Duration::from_secs(120),
    );
    let all = checks(&out);
    let audit: Vec<&serde_json::Value> = all
        .iter()
        .filter(|c| {
            let id = c["id"].as_str().unwrap_or_default();
            id.starts_with("config.cert.")
                || id.starts_with("config.receive.eop_ranges")
                || id.starts_with("config.exo_outbound.validated")
        })
        .collect();
    assert!(audit.len() >= 8, "{audit:#?}");
    for c in &audit {
        assert_eq!(c["status"], "pass", "{c:#?}");
    }
    // The served certificate is the one the connector names: a pass only with the probe's evidence.
    let served = audit.iter().find(|c| c["id"] == "config.cert.served").unwrap();
    assert!(
        served["summary"]
            .as_str()
            .unwrap()
            .contains("the certificate the connector names"),
        "{served}"
    );
    // A profile that imports the export (`import = ...`) is audited the same way, its own keys win, and
    // the diagnosis still matches its schema.
    let importing = dir.path().join("importing.toml");
    let lab_profile = std::fs::read_to_string(&profile).unwrap();
    std::fs::write(&importing, format!("import = \"lab-export.json\"\n{lab_profile}")).unwrap();
    let (out, _) = run_with_timeout(
        mailpath()
            .args(["diagnose", "--format", "json", "--tls-scan", "off", "--profile"])
            .arg(&importing),
        Duration::from_secs(120),
    );
    let doc: serde_json::Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&out)));
    crate::report_common::assert_valid(&doc);
    assert_eq!(doc["profile"]["import"], serde_json::json!(["lab-export.json"]));
    assert!(
        checks(&out)
            .iter()
            .any(|c| c["id"] == "config.cert.served" && c["status"] == "pass")
    );
    drop(lab);
}

#[test]
fn configuration_only_scenarios_are_found_by_the_audit() {
    for (scenario, id, status) in [
        ("attr36", "config.cert.accepted_domain", "fail"),
        ("cert-not-smtp", "config.cert.smtp", "fail"),
        ("exo-connector-drift", "config.cert.names", "fail"),
        ("receive-cert-stale", "config.cert.same_everywhere", "warn"),
    ] {
        let (out, _) = run_with_timeout(
            mailpath().args([
                "diagnose",
                "--lab",
                scenario,
                "--format",
                "json",
                "--tls-scan",
                "off",
            ]),
            Duration::from_secs(120),
        );
        let all = checks(&out);
        let found = all.iter().find(|c| c["id"] == id && c["status"] == status);
        assert!(
            found.is_some(),
            "{scenario}: no {status} {id}: {:#?}",
            all.iter()
                .filter(|c| c["id"].as_str().unwrap_or_default().starts_with("config."))
                .collect::<Vec<_>>()
        );
        // Every configuration finding comes with a command to run (not only words), each command a step
        // of its own with where to run it.
        for c in all.iter().filter(|c| {
            c["id"].as_str().unwrap_or_default().starts_with("config.")
                && (c["status"] == "fail" || c["status"] == "warn")
        }) {
            let steps = c["remediation"].as_array().cloned().unwrap_or_default();
            assert!(
                steps.iter().any(|s| s["kind"] == "command"),
                "{scenario}: {} {} has no command step: {:#}",
                c["id"],
                c["target"],
                c["remediation"]
            );
            for s in steps.iter().filter(|s| s["kind"] != "prose") {
                assert!(s["place"].is_string(), "{scenario}: {s}");
            }
        }
        // The same lab without its export passes these checks by absence: only the audit sees them.
        assert!(
            out.status.code().unwrap_or_default() >= 1,
            "{scenario}: {}",
            text(&out)
        );
    }
}
