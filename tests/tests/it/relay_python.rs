//! The `eop` role against Python's smtplib (an independent client, with OpenSSL underneath)
//! presenting client certificates, as an on-premises send connector does: the right name is
//! accepted and judged internal, a wrong or untrusted one gets `550 5.7.64 TenantAttribution`, and
//! no STARTTLS gets `451 5.7.3`.

use crate::relay_support;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use mailpath_core::ca::{LabCa, LeafIssuer, LeafSpec};
use mailpath_tests::{require, run_with_timeout, text};
use relay_support::{RelayProcess, spool_ids};
use time::OffsetDateTime;

const CLIENT: &str = r#"
import json, smtplib, ssl, sys
host, port, ca, cert, key, rcpt, use_tls = sys.argv[1:8]
out = {}
s = smtplib.SMTP(host, int(port), local_hostname="EX01.contoso.com", timeout=20)
s.ehlo()
if use_tls == "1":
    ctx = ssl.create_default_context(cafile=ca)
    if cert:
        ctx.load_cert_chain(cert, key)
    code, resp = s.starttls(context=ctx)
    out["starttls"] = code
    out["tls"] = s.sock.version()
    s.ehlo()
code, resp = s.mail("adele@contoso.com")
out["mail"] = [code, resp.decode()]
if code == 250:
    code, resp = s.rcpt(rcpt)
    out["rcpt"] = [code, resp.decode()]
    if code == 250:
        msg = ("From: adele@contoso.com\r\nTo: " + rcpt + "\r\nSubject: from python\r\n"
               "X-MS-Exchange-CrossPremises-AuthAs: Internal\r\n"
               "X-MS-Exchange-CrossPremises-AuthSource: EX01.contoso.com\r\n\r\nHi.\r\n")
        code, resp = s.data(msg)
        out["data"] = [code, resp.decode()]
s.quit()
print(json.dumps(out))
"#;

fn python(relay: &RelayProcess, cert: Option<(&Path, &Path)>, tls: bool) -> serde_json::Value {
    let ca = relay.ca_file.clone().expect("generated CA");
    let (cert, key) = cert.map_or((String::new(), String::new()), |(c, k)| {
        (c.display().to_string(), k.display().to_string())
    });
    let (out, _) = run_with_timeout(
        Command::new("/usr/bin/python3")
            .args(["-c", CLIENT, "127.0.0.1"])
            .arg(relay.addr.port().to_string())
            .arg(&ca)
            .args([
                cert.as_str(),
                key.as_str(),
                "megan@contoso.mail.onmicrosoft.com",
                if tls { "1" } else { "0" },
            ]),
        Duration::from_secs(60),
    );
    assert!(out.status.success(), "{}", text(&out));
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&out)))
}

/// An `eop` relay expecting mail.contoso.com, trusting the roots in `client_ca` for client chains.
fn eop_relay(spool: &Path, client_ca: &Path) -> RelayProcess {
    let ca = client_ca.to_str().expect("a UTF-8 path");
    RelayProcess::start(
        spool,
        &[
            "--role",
            "eop",
            "--expect-cert-name",
            "mail.contoso.com",
            "--client-ca",
            ca,
        ],
    )
}

pub(crate) fn write_cert(
    dir: &Path,
    stem: &str,
    ca: &LabCa,
    spec: &LeafSpec,
) -> (std::path::PathBuf, std::path::PathBuf) {
    let issued = ca.issue(spec).expect("issue a client certificate");
    let cert = dir.join(format!("{stem}.pem"));
    let key = dir.join(format!("{stem}.key"));
    std::fs::write(&cert, issued.chain_pem(true)).expect("write the certificate");
    std::fs::write(&key, issued.key_pem()).expect("write the key");
    (cert, key)
}

#[test]
fn eop_role_checks_the_client_certificate_like_an_inbound_connector() {
    if !require("/usr/bin/python3") {
        return;
    }
    let now = OffsetDateTime::now_utc();
    let dir = tempfile::tempdir().unwrap();
    let ca = LabCa::generate(now).unwrap();
    let ca_file = dir.path().join("client-ca.pem");
    std::fs::write(&ca_file, ca.root_pem()).unwrap();
    let good = write_cert(
        dir.path(),
        "good",
        &ca,
        &LeafSpec::server(
            "mail.contoso.com",
            ["mail.contoso.com", "autodiscover.contoso.com"],
            now,
        ),
    );
    let wildcard = write_cert(
        dir.path(),
        "wild",
        &ca,
        &LeafSpec::server("*.contoso.com", ["*.contoso.com"], now),
    );
    let wrong = write_cert(
        dir.path(),
        "wrong",
        &ca,
        &LeafSpec::server("mail.fabrikam.com", ["mail.fabrikam.com"], now),
    );
    let untrusted = write_cert(
        dir.path(),
        "self",
        &ca,
        &LeafSpec::server("mail.contoso.com", ["mail.contoso.com"], now).with_issuer(LeafIssuer::SelfSigned),
    );

    let spool = tempfile::tempdir().unwrap();
    let relay = eop_relay(spool.path(), &ca_file);
    assert!(
        relay.listening["hostname"].as_str().is_some(),
        "{}",
        relay.listening
    );

    let ok = python(&relay, Some((&good.0, &good.1)), true);
    assert_eq!(ok["data"][0], 250, "{ok}");
    assert!(ok["tls"].as_str().unwrap().starts_with("TLSv1."), "{ok}");
    let ok_wild = python(&relay, Some((&wildcard.0, &wildcard.1)), true);
    assert_eq!(
        ok_wild["data"][0], 250,
        "an RFC 6125 wildcard covers mail.contoso.com: {ok_wild}"
    );

    for (what, cert) in [
        ("wrong name", Some(&wrong)),
        ("untrusted", Some(&untrusted)),
        ("none", None),
    ] {
        let refused = python(&relay, cert.map(|(c, k)| (c.as_path(), k.as_path())), true);
        assert_eq!(refused["rcpt"][0], 550, "{what}: {refused}");
        let text = refused["rcpt"][1].as_str().unwrap();
        assert!(
            text.starts_with("5.7.64 TenantAttribution; Relay Access Denied"),
            "{what}: {text}"
        );
    }
    let plain = python(&relay, None, false);
    assert_eq!(plain["mail"][0], 451, "{plain}");
    assert_eq!(plain["mail"][1], "5.7.3 STARTTLS is required to send mail");

    // Two accepted messages, judged internal, with the client certificate and a verified chain.
    assert_eq!(spool_ids(spool.path()).len(), 2);
    let event = relay
        .wait_for(Duration::from_secs(10), |e| {
            e["event"] == "message" && e["client_cert"]["common_names"][0] == "mail.contoso.com"
        })
        .expect("a message event");
    assert_eq!(event["verdict"]["classification"], "internal", "{event}");
    let status = |id: &str| {
        event["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == id)
            .map(|c| c["status"].as_str().unwrap().to_string())
    };
    assert_eq!(status("relay.client-cert.trust").as_deref(), Some("pass"));
    assert_eq!(status("relay.client-cert.name").as_deref(), Some("pass"));
    assert_eq!(status("relay.tls").as_deref(), Some("pass"));
    // The refused sessions left their judgement too.
    assert!(
        relay
            .wait_for(Duration::from_secs(10), |e| {
                e["event"] == "session-checks"
                    && e["checks"].as_array().is_some_and(|c| {
                        c.iter()
                            .any(|c| c["id"] == "relay.client-cert.name" && c["status"] == "fail")
                    })
            })
            .is_some()
    );
    assert!(relay.stop().success());
}

/// A chain made with rcgen (not the lab CA), written as PEM: the leaf's key, the leaf then its intermediate,
/// and the root alone.
struct ClientChain {
    cert: std::path::PathBuf,
    key: std::path::PathBuf,
    leaf: std::path::PathBuf,
    intermediate: std::path::PathBuf,
}

fn client_chain(
    dir: &Path,
    stem: &str,
    root: (&rcgen::CertificateParams, &rcgen::KeyPair),
    inter_validity: (OffsetDateTime, OffsetDateTime),
    leaf_usage: Vec<rcgen::KeyUsagePurpose>,
) -> ClientChain {
    use rcgen::{
        BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
        KeyUsagePurpose,
    };
    let now = OffsetDateTime::now_utc();
    let root_issuer = Issuer::from_params(root.0, root.1);
    let mut inter = CertificateParams::default();
    inter
        .distinguished_name
        .push(DnType::OrganizationName, "Fabrikam Trust");
    inter
        .distinguished_name
        .push(DnType::CommonName, format!("Fabrikam Issuing CA {stem}"));
    inter.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    inter.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    inter.use_authority_key_identifier_extension = true;
    (inter.not_before, inter.not_after) = inter_validity;
    let inter_key = KeyPair::generate().expect("an intermediate key");
    let inter_cert = inter
        .signed_by(&inter_key, &root_issuer)
        .expect("sign the intermediate");
    let mut leaf = CertificateParams::new(vec!["mail.contoso.com".to_string()]).expect("leaf parameters");
    leaf.distinguished_name
        .push(DnType::CommonName, "mail.contoso.com");
    leaf.is_ca = IsCa::ExplicitNoCa;
    leaf.key_usages = leaf_usage;
    leaf.extended_key_usages = vec![
        ExtendedKeyUsagePurpose::ServerAuth,
        ExtendedKeyUsagePurpose::ClientAuth,
    ];
    leaf.use_authority_key_identifier_extension = true;
    leaf.not_before = now - time::Duration::days(30);
    leaf.not_after = now + time::Duration::days(300);
    let leaf_key = KeyPair::generate().expect("a leaf key");
    let leaf_cert = leaf
        .signed_by(&leaf_key, &Issuer::from_params(&inter, &inter_key))
        .expect("sign the leaf");
    let path = |ext: &str| dir.join(format!("{stem}.{ext}"));
    let out = ClientChain {
        cert: path("chain.pem"),
        key: path("key.pem"),
        leaf: path("leaf.pem"),
        intermediate: path("inter.pem"),
    };
    for (file, pem) in [
        (&out.cert, format!("{}{}", leaf_cert.pem(), inter_cert.pem())),
        (&out.key, leaf_key.serialize_pem()),
        (&out.leaf, leaf_cert.pem()),
        (&out.intermediate, inter_cert.pem()),
    ] {
        std::fs::write(file, pem).expect("write a PEM file");
    }
    out
}

/// OpenSSL's verdict on a client chain (`openssl verify -purpose sslclient`): `OK` or its error line.
fn openssl_verify_client(root: &Path, chain: &ClientChain) -> String {
    let (out, _) = run_with_timeout(
        Command::new("openssl")
            .args(["verify", "-purpose", "sslclient", "-CAfile"])
            .arg(root)
            .arg("-untrusted")
            .arg(&chain.intermediate)
            .arg(&chain.leaf),
        Duration::from_secs(30),
    );
    text(&out)
}

/// The eop role judges a client's chain by the same path-validation rules as a server's, under
/// `relay.client-cert.chain.*`, and attributes the session only when they hold, as the receiver's chain
/// engine would: an expired intermediate (the leaf itself valid) and a leaf whose keyUsage forbids signing
/// the handshake are refused with 5.7.64. OpenSSL (`verify -purpose sslclient`) judges the same chains.
#[test]
fn eop_role_judges_the_client_chain_by_the_path_rules_as_openssl_does() {
    if !require("/usr/bin/python3") || !require("openssl") {
        return;
    }
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, KeyUsagePurpose as Ku};
    let now = OffsetDateTime::now_utc();
    let day = time::Duration::days(1);
    let dir = tempfile::tempdir().unwrap();
    let mut root = CertificateParams::default();
    root.distinguished_name
        .push(DnType::OrganizationName, "Fabrikam Trust");
    root.distinguished_name
        .push(DnType::CommonName, "Fabrikam Root CA");
    root.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    root.key_usages = vec![Ku::KeyCertSign, Ku::CrlSign];
    root.not_before = now - 3650 * day;
    root.not_after = now + 3650 * day;
    let root_key = KeyPair::generate().unwrap();
    let root_cert = root.self_signed(&root_key).unwrap();
    let root_file = dir.path().join("root.pem");
    std::fs::write(&root_file, root_cert.pem()).unwrap();

    let current = (now - 365 * day, now + 1825 * day);
    let healthy = client_chain(
        dir.path(),
        "healthy",
        (&root, &root_key),
        current,
        vec![Ku::DigitalSignature],
    );
    let expired = client_chain(
        dir.path(),
        "expired",
        (&root, &root_key),
        (now - 1825 * day, now - 10 * day),
        vec![Ku::DigitalSignature],
    );
    let no_signing = client_chain(
        dir.path(),
        "nosign",
        (&root, &root_key),
        current,
        vec![Ku::KeyEncipherment],
    );

    // The independent judge first.
    assert!(
        openssl_verify_client(&root_file, &healthy).contains(": OK"),
        "healthy"
    );
    let v = openssl_verify_client(&root_file, &expired);
    assert!(v.contains("certificate has expired"), "expired intermediate: {v}");
    let v = openssl_verify_client(&root_file, &no_signing);
    assert!(v.contains("error 26 at 0 depth"), "keyEncipherment only: {v}");

    let spool = tempfile::tempdir().unwrap();
    let relay = eop_relay(spool.path(), &root_file);
    let ok = python(&relay, Some((&healthy.cert, &healthy.key)), true);
    assert_eq!(ok["data"][0], 250, "healthy: {ok}");
    let message = relay
        .wait_for(Duration::from_secs(10), |e| e["event"] == "message")
        .expect("a message event");
    let rules: Vec<&serde_json::Value> = message["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| {
            c["id"]
                .as_str()
                .is_some_and(|id| id.starts_with("relay.client-cert.chain."))
        })
        .collect();
    assert_eq!(rules.len(), 9, "{message}");
    assert!(rules.iter().all(|c| c["status"] == "pass"), "{rules:#?}");

    for (what, chain, id, words) in [
        (
            "expired intermediate",
            &expired,
            "relay.client-cert.chain.ca_validity",
            [
                "the intermediate CA \"CN=Fabrikam Issuing CA expired\"",
                "expired 10 days ago",
            ],
        ),
        (
            "keyEncipherment only",
            &no_signing,
            "relay.client-cert.chain.leaf_key_usage",
            [
                "the certificate \"CN=mail.contoso.com\"",
                "keyUsage without digitalSignature (keyEncipherment)",
            ],
        ),
    ] {
        let refused = python(&relay, Some((&chain.cert, &chain.key)), true);
        assert_eq!(refused["rcpt"][0], 550, "{what}: {refused}");
        let reply = refused["rcpt"][1].as_str().unwrap();
        assert!(reply.starts_with("5.7.64 TenantAttribution"), "{what}: {reply}");
        let event = relay
            .wait_for(Duration::from_secs(10), |e| {
                e["event"] == "session-checks"
                    && e["checks"]
                        .as_array()
                        .is_some_and(|c| c.iter().any(|c| c["id"] == id && c["status"] == "fail"))
            })
            .unwrap_or_else(|| panic!("{what}: no failing {id}: {:#?}", relay.events()));
        let check = event["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == id)
            .unwrap();
        let summary = check["summary"].as_str().unwrap();
        assert!(words.iter().all(|w| summary.contains(w)), "{what}: {summary}");
    }
    assert_eq!(spool_ids(spool.path()).len(), 1);
    assert!(relay.stop().success());
}
