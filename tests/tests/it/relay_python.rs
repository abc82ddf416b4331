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
    let relay = RelayProcess::start(
        spool.path(),
        &[
            "--role",
            "eop",
            "--expect-cert-name",
            "mail.contoso.com",
            "--client-ca",
            ca_file.to_str().unwrap(),
        ],
    );
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
