//! The TLS handshake scanner and `tls.ciphers` against a real, independent TLS stack: `openssl
//! s_server` configured CBC-only, RSA-key-exchange-only and DHE-only on loopback, behind a tiny
//! SMTP front that answers EHLO and STARTTLS and then hands every byte to OpenSSL (s_server has no
//! STARTTLS of its own). `mailpath probe --tls-scan full` must judge the certificate, give the
//! `tls.ciphers` verdict Microsoft's list implies (warn while Exchange Online can negotiate a suite,
//! fail when it cannot) and never fail `tls.handshake`; `openssl s_client` must agree on what is
//! negotiable.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use mailpath_core::ca::{LabCa, LeafKey, LeafSpec};
use mailpath_tests::{mailpath, require, run_with_timeout, text};

const T: Duration = Duration::from_secs(60);

/// A lab-CA RSA certificate for mail.contoso.com, its key and the CA, as PEM files.
struct Pki {
    _dir: tempfile::TempDir,
    chain: PathBuf,
    intermediate: PathBuf,
    key: PathBuf,
    ca: PathBuf,
}

fn pki() -> Pki {
    let dir = tempfile::tempdir().unwrap();
    let now = time::OffsetDateTime::now_utc();
    let ca = LabCa::generate(now).unwrap();
    let leaf = ca
        .issue(&LeafSpec::server("mail.contoso.com", ["mail.contoso.com"], now).with_key(LeafKey::Rsa2048))
        .unwrap();
    let write = |name: &str, body: String| {
        let path = dir.path().join(name);
        std::fs::write(&path, body).unwrap();
        path
    };
    let intermediate = leaf.chain_pem(true).replacen(&leaf.leaf_pem(), "", 1);
    Pki {
        chain: write("leaf.pem", leaf.leaf_pem()),
        intermediate: write("intermediate.pem", intermediate),
        key: write("key.pem", leaf.key_pem()),
        ca: write("ca.pem", ca.root_pem()),
        _dir: dir,
    }
}

/// `openssl s_server` on a loopback port, killed when dropped.
struct SServer {
    child: Child,
    addr: SocketAddr,
}

impl SServer {
    fn start(pki: &Pki, args: &[&str]) -> SServer {
        let mut child = Command::new("openssl")
            // -rev answers text at once (reversed), so a client that completed the handshake and sent
            // EHLO is not left waiting: s_server serves one connection at a time.
            .args(["s_server", "-accept", "127.0.0.1:0", "-rev", "-cert"])
            .arg(&pki.chain)
            .arg("-cert_chain")
            .arg(&pki.intermediate)
            .arg("-key")
            .arg(&pki.key)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start openssl s_server");
        let mut out = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        let addr = loop {
            line.clear();
            assert!(
                out.read_line(&mut line).unwrap() > 0,
                "s_server ended before ACCEPT"
            );
            if let Some(a) = line.trim().strip_prefix("ACCEPT ") {
                break a.parse().unwrap();
            }
        };
        // Keep draining its output so it never blocks.
        std::thread::spawn(move || {
            let mut sink = String::new();
            while out.read_line(&mut sink).unwrap_or(0) > 0 {
                sink.clear();
            }
        });
        SServer { child, addr }
    }
}

impl Drop for SServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An SMTP front: greeting, EHLO with STARTTLS, `220` to STARTTLS, then a plain byte pipe to the
/// TLS server behind it. Stops accepting when dropped.
struct StartTlsFront {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
}

impl StartTlsFront {
    fn start(backend: SocketAddr) -> StartTlsFront {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                if flag.load(Ordering::SeqCst) {
                    break;
                }
                if let Ok(conn) = conn {
                    std::thread::spawn(move || front_session(conn, backend));
                }
            }
        });
        StartTlsFront { addr, stop }
    }
}

impl Drop for StartTlsFront {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.addr);
    }
}

fn front_session(conn: TcpStream, backend: SocketAddr) {
    let _ = conn.set_read_timeout(Some(Duration::from_secs(20)));
    let mut writer = conn.try_clone().unwrap();
    let mut reader = BufReader::new(conn.try_clone().unwrap());
    if writer.write_all(b"220 tls.test ESMTP\r\n").is_err() {
        return;
    }
    let mut line = String::new();
    loop {
        line.clear();
        match (&mut reader).take(1024).read_line(&mut line) {
            Ok(n) if n > 0 => {}
            _ => return,
        }
        let verb = line.trim().to_ascii_uppercase();
        let reply: &[u8] = if verb.starts_with("EHLO") {
            b"250-tls.test\r\n250 STARTTLS\r\n"
        } else if verb == "STARTTLS" {
            let _ = writer.write_all(b"220 2.0.0 ready to start TLS\r\n");
            break;
        } else if verb == "QUIT" {
            let _ = writer.write_all(b"221 bye\r\n");
            return;
        } else {
            b"502 5.5.2 not here\r\n"
        };
        if writer.write_all(reply).is_err() {
            return;
        }
    }
    let Ok(tls) = TcpStream::connect(backend) else {
        return;
    };
    let mut up = tls.try_clone().unwrap();
    let mut down = conn;
    let mut from_tls = tls;
    let mut to_client = down.try_clone().unwrap();
    let a = std::thread::spawn(move || {
        let _ = std::io::copy(&mut down, &mut up);
        let _ = up.shutdown(std::net::Shutdown::Write);
    });
    let _ = std::io::copy(&mut from_tls, &mut to_client);
    let _ = to_client.shutdown(std::net::Shutdown::Both);
    let _ = a.join();
}

/// `mailpath probe` of the front, full scan, JSON.
fn probe(front: &StartTlsFront, pki: &Pki, mode: &str) -> serde_json::Value {
    let (out, _) = run_with_timeout(
        mailpath()
            .args([
                "probe",
                &front.addr.to_string(),
                "--tls-name",
                "mail.contoso.com",
                "--ca",
            ])
            .arg(&pki.ca)
            .args(["--tls-scan", mode, "--format", "json"]),
        T,
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&out)))
}

fn status<'a>(v: &'a serde_json::Value, id: &str) -> (&'a str, &'a str) {
    let c = v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id)
        .unwrap_or_else(|| panic!("no {id} in {v:#}"));
    (c["status"].as_str().unwrap(), c["summary"].as_str().unwrap())
}

fn accepted(v: &serde_json::Value) -> Vec<String> {
    v["probe"]["tls_scan"]["suites"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap().to_string())
        .collect()
}

/// IANA name -> OpenSSL name, from `openssl ciphers -stdname`.
fn openssl_name(iana: &str) -> String {
    let (out, _) = run_with_timeout(
        Command::new("openssl").args(["ciphers", "-stdname", "ALL:@SECLEVEL=0"]),
        T,
    );
    text(&out)
        .lines()
        .find_map(|l| {
            let mut parts = l.split(" - ");
            let std = parts.next()?.trim();
            let ossl = parts.next()?.split_whitespace().next()?;
            (std == iana).then(|| ossl.to_string())
        })
        .unwrap_or_else(|| panic!("OpenSSL does not know {iana}"))
}

/// Whether `openssl s_client` completes a TLS 1.2 handshake with `server` offering only `cipher`.
fn s_client_negotiates(server: SocketAddr, cipher: &str, ca: &Path) -> bool {
    let (out, _) = run_with_timeout(
        Command::new("openssl")
            .args([
                "s_client",
                "-brief",
                "-tls1_2",
                "-connect",
                &server.to_string(),
                "-cipher",
            ])
            .arg(format!("{cipher}:@SECLEVEL=0"))
            .arg("-CAfile")
            .arg(ca),
        T,
    );
    let all = text(&out);
    all.contains("Ciphersuite:") && !all.contains("alert")
}

fn assert_certificate_judged(v: &serde_json::Value) {
    for id in [
        "tls.cert.present",
        "tls.cert.trusted",
        "tls.cert.name",
        "tls.cert.key",
    ] {
        assert_eq!(status(v, id).0, "pass", "{id}: {}", status(v, id).1);
    }
    assert_eq!(
        v["probe"]["tls"]["chain_from_scan"], true,
        "{:#}",
        v["probe"]["tls"]
    );
}

/// The scenario of one server: its suites as mailpath enumerates them, and s_client's agreement.
fn check_openssl_agrees(server: &SServer, pki: &Pki, v: &serde_json::Value, not_negotiable: &str) {
    let suites = accepted(v);
    assert!(!suites.is_empty());
    for iana in &suites {
        assert!(
            s_client_negotiates(server.addr, &openssl_name(iana), &pki.ca),
            "mailpath saw {iana} accepted, openssl s_client could not negotiate it"
        );
    }
    assert!(
        !s_client_negotiates(server.addr, not_negotiable, &pki.ca),
        "openssl negotiated {not_negotiable}, which mailpath did not list: {suites:?}"
    );
}

#[test]
fn cbc_only_openssl_is_judged_and_warns_never_a_failed_handshake() {
    if !require("openssl") {
        return;
    }
    let pki = pki();
    let server = SServer::start(
        &pki,
        &[
            "-tls1_2",
            "-serverpref",
            "-cipher",
            "ECDHE-RSA-AES256-SHA384:ECDHE-RSA-AES128-SHA",
        ],
    );
    let front = StartTlsFront::start(server.addr);
    let v = probe(&front, &pki, "full");
    assert_eq!(
        accepted(&v),
        [
            "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384",
            "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA"
        ]
    );
    assert_eq!(v["probe"]["tls_scan"]["server_order"], true);
    assert_eq!(
        v["probe"]["tls_scan"]["complete"], true,
        "{:#}",
        v["probe"]["tls_scan"]
    );
    let (s, summary) = status(&v, "tls.ciphers");
    assert_eq!(s, "warn", "{summary}");
    assert!(summary.contains("only CBC"), "{summary}");
    let (s, summary) = status(&v, "tls.handshake");
    assert_eq!(s, "info", "{summary}");
    assert!(summary.contains("our limit"), "{summary}");
    assert_certificate_judged(&v);
    check_openssl_agrees(&server, &pki, &v, "ECDHE-RSA-AES256-GCM-SHA384");
}

#[test]
fn rsa_kex_only_openssl_warns_about_forward_secrecy() {
    if !require("openssl") {
        return;
    }
    let pki = pki();
    let server = SServer::start(
        &pki,
        &["-tls1_2", "-cipher", "AES256-GCM-SHA384:AES128-GCM-SHA256"],
    );
    let front = StartTlsFront::start(server.addr);
    let v = probe(&front, &pki, "full");
    assert_eq!(
        accepted(&v),
        [
            "TLS_RSA_WITH_AES_256_GCM_SHA384",
            "TLS_RSA_WITH_AES_128_GCM_SHA256"
        ]
    );
    assert_eq!(
        v["probe"]["tls_scan"]["server_order"], false,
        "s_server follows the client by default"
    );
    let (s, summary) = status(&v, "tls.ciphers");
    assert_eq!(s, "warn", "{summary}");
    assert!(summary.contains("forward secrecy"), "{summary}");
    assert_eq!(status(&v, "tls.handshake").0, "info");
    assert_certificate_judged(&v);
    check_openssl_agrees(&server, &pki, &v, "ECDHE-RSA-AES128-GCM-SHA256");
    // The default (one ClientHello) already warns, with one connection more than the probe.
    let quick = probe(&front, &pki, "quick");
    assert_eq!(status(&quick, "tls.ciphers").0, "warn");
    assert_eq!(quick["probe"]["tls_scan"]["hellos"].as_array().unwrap().len(), 1);
}

#[test]
fn a_server_without_any_of_microsofts_suites_fails_once_enumerated() {
    if !require("openssl") {
        return;
    }
    let pki = pki();
    // DHE with AES-GCM: forward secret and AEAD, but not in Microsoft's list.
    let server = SServer::start(&pki, &["-tls1_2", "-cipher", "DHE-RSA-AES256-GCM-SHA384"]);
    let front = StartTlsFront::start(server.addr);
    let v = probe(&front, &pki, "full");
    assert_eq!(accepted(&v), ["TLS_DHE_RSA_WITH_AES_256_GCM_SHA384"]);
    let (s, summary) = status(&v, "tls.ciphers");
    assert_eq!(s, "fail", "{summary}");
    assert!(summary.contains("no cipher suite in common"), "{summary}");
    assert_ne!(status(&v, "tls.handshake").0, "fail");
    assert_certificate_judged(&v);
    check_openssl_agrees(&server, &pki, &v, "ECDHE-RSA-AES256-GCM-SHA384");
    // One hello cannot prove the absence: a warning that says how to find out.
    let quick = probe(&front, &pki, "quick");
    let (s, summary) = status(&quick, "tls.ciphers");
    assert_eq!(s, "warn", "{summary}");
}

#[test]
fn a_modern_openssl_passes_and_the_scanner_sees_tls13_too() {
    if !require("openssl") {
        return;
    }
    let pki = pki();
    let server = SServer::start(&pki, &[]);
    let front = StartTlsFront::start(server.addr);
    let v = probe(&front, &pki, "full");
    let (s, summary) = status(&v, "tls.ciphers");
    assert_eq!(s, "pass", "{summary}");
    assert_eq!(status(&v, "tls.handshake").0, "pass");
    let versions = v["probe"]["tls_scan"]["versions"].as_array().unwrap();
    let accepted_v = |name: &str| {
        versions
            .iter()
            .find(|x| x["version"] == name)
            .map(|x| x["accepted"].clone())
    };
    assert_eq!(accepted_v("TLSv1.3"), Some(serde_json::Value::Bool(true)));
    assert_eq!(accepted_v("TLSv1.2"), Some(serde_json::Value::Bool(true)));
    assert!(
        !v["probe"]["tls_scan"]["tls13_suites"]
            .as_array()
            .unwrap()
            .is_empty(),
        "{:#}",
        v["probe"]["tls_scan"]
    );
    assert!(!v["probe"]["tls_scan"]["groups"].as_array().unwrap().is_empty());
}

/// The lab's `cbc-only` and `rsa-kex-only` Edges through `mailpath diagnose`: the certificate is judged
/// from the scanner's chain, `tls.handshake` says it is mailpath's limit, `tls.ciphers` warns, and the
/// JSON (with a quick and a full scan in it) matches the schema.
#[test]
fn the_cbc_and_rsa_kex_lab_edges_are_judged_and_the_json_matches_the_schema() {
    for (scenario, mode, words) in [
        ("cbc-only", "full", "only CBC"),
        ("rsa-kex-only", "quick", "forward secrecy"),
    ] {
        let (out, _) = run_with_timeout(
            mailpath().args([
                "diagnose",
                "--lab",
                scenario,
                "--format",
                "json",
                "--tls-scan",
                mode,
            ]),
            T,
        );
        let v: serde_json::Value =
            serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{scenario}: {e}: {}", text(&out)));
        crate::report_common::assert_valid(&v);
        let on_edge = |id: &str| {
            v["checks"]
                .as_array()
                .unwrap()
                .iter()
                .find(|c| c["id"] == id && c["attachment"]["id"] == "in.eop-edge")
                .unwrap_or_else(|| panic!("{scenario}: no {id} on in.eop-edge"))
        };
        let ciphers = on_edge("tls.ciphers");
        assert_eq!(ciphers["status"], "warn", "{scenario}: {ciphers:#}");
        assert!(
            ciphers["summary"].as_str().unwrap().contains(words),
            "{scenario}: {ciphers:#}"
        );
        assert!(!ciphers["remediation"].as_array().unwrap().is_empty());
        assert_eq!(on_edge("tls.handshake")["status"], "info", "{scenario}");
        assert_eq!(on_edge("tls.version")["status"], "pass", "{scenario}");
        for id in [
            "tls.cert.present",
            "tls.cert.trusted",
            "tls.cert.name",
            "tls.cert.validity",
            "tls.cert.key",
        ] {
            assert_eq!(
                on_edge(id)["status"],
                "pass",
                "{scenario}: {id}: {:#}",
                on_edge(id)
            );
        }
        let edge = v["evidence"]["smtp"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["host"] == "mail.contoso.com")
            .unwrap();
        assert_eq!(edge["tls"]["chain_from_scan"], true, "{scenario}");
        assert_eq!(edge["tls_scan"]["mode"], mode, "{scenario}");
    }
}
