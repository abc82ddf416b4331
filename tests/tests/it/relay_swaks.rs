//! `mailpath relay` against swaks (an independent SMTP client): plain and STARTTLS with certificate
//! verification against the generated CA, open-relay attempts, oversize messages, overlong lines,
//! and what the spool and the event stream record.

use crate::relay_support;

use std::io::{BufRead as _, BufReader, Write as _};
use std::net::TcpStream;
use std::process::Command;
use std::time::Duration;

use mailpath_tests::{require, run_with_timeout, text};
use relay_support::{RelayProcess, spool_ids, spool_metas};

fn swaks(relay: &RelayProcess, args: &[&str]) -> (i32, String) {
    let (out, _) = run_with_timeout(
        Command::new("swaks")
            .args(["--server", "127.0.0.1", "--port"])
            .arg(relay.addr.port().to_string())
            .args(["--timeout", "20"])
            .args(args),
        Duration::from_secs(60),
    );
    (out.status.code().unwrap_or(-1), text(&out))
}

#[test]
fn swaks_plain_and_starttls_are_captured_with_tls_details() {
    if !require("swaks") {
        return;
    }
    let spool = tempfile::tempdir().unwrap();
    let relay = RelayProcess::start(spool.path(), &["--accept-domain", "contoso.com"]);
    let ca = relay.ca_file.clone().expect("a generated CA");

    let (code, out) = swaks(
        &relay,
        &["--to", "megan@contoso.com", "--from", "adele@fabrikam.example"],
    );
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("250 2.6.0 <"), "{out}");

    let (code, out) = swaks(
        &relay,
        &[
            "--to",
            "megan@contoso.com",
            "--tls",
            "--tls-verify",
            "--tls-ca-path",
            ca.to_str().unwrap(),
            "--tls-sni",
            "localhost",
            "--header",
            "X-MS-Exchange-CrossPremises-AuthAs: Internal",
        ],
    );
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("<~  250 2.6.0"),
        "the message went inside TLS: {out}"
    );

    let metas = spool_metas(spool.path());
    assert_eq!(metas.len(), 2, "{:?}", metas.keys());
    let tls: Vec<bool> = metas
        .values()
        .map(|meta| meta["session"]["tls"].is_object())
        .collect();
    assert_eq!(tls.iter().filter(|t| **t).count(), 1, "{tls:?}");

    // The event stream saw both sessions and both messages, the TLS one with its parameters.
    let tls_message = relay
        .wait_for(Duration::from_secs(10), |e| {
            e["event"] == "message" && e["tls"].as_str().is_some_and(|t| t.starts_with("TLSv1."))
        })
        .expect("a message event with TLS");
    assert_eq!(tls_message["verdict"]["classification"], "internal");
    assert!(
        relay
            .wait_for(Duration::from_secs(10), |e| e["event"] == "closed"
                && e["transcript"].as_array().is_some_and(|t| t.len() > 8))
            .is_some()
    );
    assert!(relay.stop().success());
}

#[test]
fn open_relay_oversize_and_overlong_are_refused() {
    if !require("swaks") {
        return;
    }
    let spool = tempfile::tempdir().unwrap();
    let relay = RelayProcess::start(
        spool.path(),
        &[
            "--accept-domain",
            "contoso.com",
            "--max-size",
            "4096",
            "--role",
            "edge",
        ],
    );
    // Open relay: a recipient outside the accepted domains, plain and inside TLS.
    for tls in [false, true] {
        let mut args = vec![
            "--to",
            "victim@elsewhere.example",
            "--from",
            "spammer@elsewhere.example",
        ];
        if tls {
            args.push("--tls");
        }
        let (code, out) = swaks(&relay, &args);
        assert_ne!(code, 0, "{out}");
        assert!(out.contains("550 5.7.54"), "{out}");
    }
    // Oversize: 552 after the data, nothing spooled.
    let body = "x".repeat(100) + "\n";
    let big = body.repeat(100);
    let (code, out) = swaks(&relay, &["--to", "megan@contoso.com", "--body", &big]);
    assert_ne!(code, 0, "{out}");
    assert!(out.contains("552 5.3.4"), "{out}");
    // Declared oversize: refused at MAIL FROM (swaks sends SIZE only when asked; use a raw line).
    let mut s = TcpStream::connect(relay.addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut r = BufReader::new(s.try_clone().unwrap());
    let mut line = String::new();
    let mut reply = |r: &mut BufReader<TcpStream>| -> String {
        let mut all = String::new();
        loop {
            line.clear();
            r.read_line(&mut line).unwrap();
            all.push_str(&line);
            if line.len() < 4 || line.as_bytes()[3] == b' ' {
                return all;
            }
        }
    };
    assert!(reply(&mut r).starts_with("220 "));
    s.write_all(b"EHLO raw.test\r\n").unwrap();
    let ehlo = reply(&mut r);
    assert!(
        ehlo.contains("X-ANONYMOUSTLS") && ehlo.contains("XEXCH50"),
        "{ehlo}"
    );
    s.write_all(b"MAIL FROM:<a@b.example> SIZE=999999\r\n").unwrap();
    assert!(reply(&mut r).starts_with("552 5.3.4"));
    // An overlong command line: one 500 5.5.2, and the session goes on.
    let mut long = b"NOOP ".to_vec();
    long.extend(std::iter::repeat_n(b'A', 100_000));
    long.extend_from_slice(b"\r\nNOOP\r\n");
    s.write_all(&long).unwrap();
    assert!(reply(&mut r).starts_with("500 5.5.2"));
    assert!(reply(&mut r).starts_with("250 "));
    s.write_all(b"QUIT\r\n").unwrap();
    assert!(reply(&mut r).starts_with("221 "));
    assert!(spool_ids(spool.path()).is_empty());
    assert!(relay.stop().success());
}

#[test]
fn forwarding_without_accepted_domains_is_refused_at_start() {
    let spool = tempfile::tempdir().unwrap();
    let (out, _) = run_with_timeout(
        mailpath_tests::mailpath()
            .args([
                "relay",
                "--listen",
                "127.0.0.1:0",
                "--forward",
                "127.0.0.1:25",
                "--spool",
            ])
            .arg(spool.path()),
        Duration::from_secs(60),
    );
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(text(&out).contains("never an open relay"), "{}", text(&out));
}
