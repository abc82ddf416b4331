//! `mailpath cert NEW --profile FILE`: a certificate judged against the deployment before it is installed,
//! and what installing it changes (connector TlsCertificateName, TLSA records), against a running lab.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;
use std::time::Duration;

use mailpath_core::ca::{LabCa, LeafSpec};
use mailpath_tests::{LabProcess, mailpath, require, run_with_timeout, text};

const T: Duration = Duration::from_secs(60);

use mailpath_tests::checks_with_id as check;

/// The status of the checks with this id: one check, or several that agree (`tls.renewal.connectors` of
/// the send and of the receive connector, which the lab profile both names, as the HCW leaves them).
fn status(v: &serde_json::Value, id: &str) -> String {
    let found = check(v, id);
    assert!(!found.is_empty(), "no {id}");
    let first = found[0]["status"].as_str().unwrap().to_string();
    assert!(
        found.iter().all(|c| c["status"] == first.as_str()),
        "{id} disagree: {found:?}"
    );
    first
}

#[test]
fn a_renewal_is_previewed_against_the_profile_and_its_tlsa_records() {
    let lab = LabProcess::start("dane-mismatch", &[]);
    let dir = tempfile::tempdir().unwrap();
    // The profile as the HCW would leave it: the send connector names the current certificate.
    let current = std::fs::read(&lab.info.onprem_cert_file).unwrap();
    let current_chain = mailpath_core::cert::load_chain_file(&lab.info.onprem_cert_file).unwrap();
    let info = mailpath_core::cert::parse_certificate(&current_chain[0]).unwrap();
    let profile_text = std::fs::read_to_string(&lab.info.profile_file).unwrap().replace(
        "[connectors.send]\n",
        &format!(
            "[connectors.send]\ntls_certificate_name = \"<I>{}<S>{}\"\n",
            info.issuer, info.subject
        ),
    );
    let profile = dir.path().join("contoso.toml");
    std::fs::write(&profile, profile_text).unwrap();
    let run = |file: &std::path::Path, extra: &[&str]| {
        let (out, _) = run_with_timeout(
            mailpath()
                .arg("cert")
                .arg(file)
                .arg("--profile")
                .arg(&profile)
                .args(["--format", "json"])
                .args(extra),
            T,
        );
        let v: serde_json::Value =
            serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&out)));
        (out.status.code(), v)
    };

    // Re-installing the current certificate: names, trust (the profile's lab CA) and the connector are
    // fine, but the TLSA record of mail.contoso.com does not match it: publish the record first.
    let current_file = dir.path().join("current.pem");
    std::fs::write(&current_file, &current).unwrap();
    let (code, v) = run(&current_file, &[]);
    assert_eq!(status(&v, "tls.cert.name"), "pass", "{v:#}");
    assert_eq!(status(&v, "tls.cert.trusted"), "pass", "{v:#}");
    assert_eq!(status(&v, "tls.renewal.connectors"), "pass", "{v:#}");
    assert_eq!(status(&v, "tls.renewal.dane"), "warn", "{v:#}");
    assert_eq!(code, Some(1), "warnings only");
    let dane = check(&v, "tls.renewal.dane")[0];
    let remediation = dane["remediation"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["kind"] == "command" && s["place"] == "dns")
        .expect("the record to publish, as a DNS step")["text"]
        .as_str()
        .unwrap();
    assert!(
        remediation.starts_with("_25._tcp.mail.contoso.com. 3600 IN TLSA 3 1 1 "),
        "{remediation}"
    );
    // The record proposed is the SHA-256 of the key, as OpenSSL computes it.
    if require("openssl") {
        let spki_sha256 = openssl_spki_sha256(&current_file);
        assert!(
            remediation.contains(&spki_sha256),
            "{remediation} vs openssl {spki_sha256}"
        );
    }

    // A certificate from another CA for the same name: the connector must be told (with the thumbprint).
    let now = time::OffsetDateTime::now_utc();
    let other = LabCa::generate(now).unwrap();
    let renewed = other
        .issue(&LeafSpec::server(
            "mail.contoso.com",
            ["mail.contoso.com", "autodiscover.contoso.com"],
            now,
        ))
        .unwrap();
    let renewed_file = dir.path().join("renewed.pem");
    std::fs::write(&renewed_file, renewed.chain_pem(true)).unwrap();
    let other_ca = dir.path().join("other-ca.pem");
    std::fs::write(&other_ca, other.root_pem()).unwrap();
    // Exchange matches TlsCertificateName by issuer and subject: a renewal from a CA with the same name,
    // for the same subject, needs no connector change.
    let (_, v) = run(&renewed_file, &["--ca", other_ca.to_str().unwrap()]);
    assert_eq!(status(&v, "tls.cert.name"), "pass", "{v:#}");
    assert_eq!(status(&v, "tls.renewal.connectors"), "pass", "{v:#}");
    // A new subject (the common name changed): the connector must be told, with the new thumbprint.
    let renamed = other
        .issue(&LeafSpec::server(
            "hybrid.contoso.com",
            ["hybrid.contoso.com", "mail.contoso.com"],
            now,
        ))
        .unwrap();
    std::fs::write(&renewed_file, renamed.chain_pem(true)).unwrap();
    let (_, v) = run(&renewed_file, &["--ca", other_ca.to_str().unwrap()]);
    assert_eq!(status(&v, "tls.cert.name"), "pass", "{v:#}");
    assert_eq!(status(&v, "tls.renewal.connectors"), "warn", "{v:#}");
    let thumb = mailpath_core::cert::parse_certificate(&renamed.chain(false)[0])
        .unwrap()
        .sha1_thumbprint;
    let conn = check(&v, "tls.renewal.connectors")[0];
    assert!(
        conn["remediation"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["kind"] == "command" && s["text"].as_str().unwrap().contains(&thumb)),
        "{conn:#}"
    );

    // A certificate without the name Exchange Online's inbound connector expects fails, and says which
    // setting expects it.
    let wrong = other
        .issue(&LeafSpec::server("mail.fabrikam.com", ["mail.fabrikam.com"], now))
        .unwrap();
    let wrong_file = dir.path().join("wrong.pem");
    std::fs::write(&wrong_file, wrong.chain_pem(true)).unwrap();
    let (code, v) = run(&wrong_file, &["--ca", other_ca.to_str().unwrap()]);
    assert_eq!(status(&v, "tls.cert.name"), "fail", "{v:#}");
    assert_eq!(code, Some(2));
    let name = serde_json::to_string(check(&v, "tls.cert.name")[0]).unwrap();
    assert!(name.contains("TlsSenderCertificateName"), "{name}");
}

#[test]
fn without_a_profile_the_renewal_checks_are_not_run() {
    let dir = tempfile::tempdir().unwrap();
    let now = time::OffsetDateTime::now_utc();
    let ca = LabCa::generate(now).unwrap();
    let leaf = ca
        .issue(&LeafSpec::server("mail.contoso.com", ["mail.contoso.com"], now))
        .unwrap();
    let file = dir.path().join("leaf.pem");
    std::fs::write(&file, leaf.chain_pem(true)).unwrap();
    let ca_file = dir.path().join("ca.pem");
    std::fs::write(&ca_file, ca.root_pem()).unwrap();
    let (out, _) = run_with_timeout(
        mailpath()
            .arg("cert")
            .arg(&file)
            .arg("--ca")
            .arg(&ca_file)
            .args(["--format", "json"]),
        T,
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(check(&v, "tls.renewal.connectors").is_empty() && check(&v, "tls.renewal.dane").is_empty());
}

/// `openssl x509 -pubkey | openssl pkey -pubin -outform DER | openssl dgst -sha256`: the DANE `3 1 1` data.
fn openssl_spki_sha256(cert: &std::path::Path) -> String {
    let pubkey = Command::new("openssl")
        .args(["x509", "-noout", "-pubkey", "-in"])
        .arg(cert)
        .output()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let pem = dir.path().join("pub.pem");
    std::fs::write(&pem, &pubkey.stdout).unwrap();
    let der = dir.path().join("pub.der");
    let ok = Command::new("openssl")
        .args(["pkey", "-pubin", "-outform", "DER", "-in"])
        .arg(&pem)
        .arg("-out")
        .arg(&der)
        .status()
        .unwrap();
    assert!(ok.success());
    let out = Command::new("openssl")
        .args(["dgst", "-sha256", "-r"])
        .arg(&der)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .unwrap()
        .to_ascii_lowercase()
}

/// Issue 13 item 3: `cert --profile` judges a connector's `*.contoso.com` as Exchange Online does (the domain
/// and all its subdomains): a mail.contoso.com certificate satisfies the wildcard-connectors lab's connectors.
#[test]
fn cert_with_a_wildcard_connector_name_accepts_a_host_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let now = time::OffsetDateTime::now_utc();
    let ca = LabCa::generate(now).unwrap();
    let issue = |host: &str| {
        let file = dir.path().join(format!("{host}.pem"));
        let issued = ca.issue(&LeafSpec::server(host, [host], now)).unwrap();
        std::fs::write(&file, issued.chain_pem(true)).unwrap();
        file
    };
    let judge = |file: &std::path::Path| {
        let (out, _) = run_with_timeout(
            mailpath()
                .arg("cert")
                .arg(file)
                .args(["--lab", "wildcard-connectors", "--format", "json"]),
            T,
        );
        let v: serde_json::Value =
            serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&out)));
        v
    };
    let v = judge(&issue("mail.contoso.com"));
    assert_eq!(status(&v, "tls.cert.name"), "pass", "{v:#}");
    let name = check(&v, "tls.cert.name")[0]["summary"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(name.contains("*.contoso.com"), "{name}");
    // A certificate of another domain does not satisfy *.contoso.com.
    let v = judge(&issue("mail.fabrikam.com"));
    assert_eq!(status(&v, "tls.cert.name"), "fail", "{v:#}");
}
