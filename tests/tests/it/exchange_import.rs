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
