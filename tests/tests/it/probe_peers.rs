//! `mailpath probe` against independent SMTP servers (Python's aiosmtpd with STARTTLS), and
//! `mailpath cert` on certificate files.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use mailpath_core::ca::{LabCa, LeafSpec};
use mailpath_tests::DEBIAN_PYTHON as PYTHON;
use mailpath_tests::{mailpath, require, run_with_timeout, text};

fn have_aiosmtpd() -> bool {
    mailpath_tests::require_python_module("aiosmtpd", "python3-aiosmtpd")
}

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn wait_listening(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("aiosmtpd did not start on {port}");
}

/// A directory with a lab CA's root (`ca.pem`), a leaf for `host` with its intermediate (`chain`) and the
/// leaf's key (`key.pem`).
fn pki_files(host: &str, chain: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let now = time::OffsetDateTime::now_utc();
    let ca = LabCa::generate(now).unwrap();
    let leaf = ca.issue(&LeafSpec::server(host, [host], now)).unwrap();
    std::fs::write(dir.path().join(chain), leaf.chain_pem(true)).unwrap();
    std::fs::write(dir.path().join("key.pem"), leaf.key_pem()).unwrap();
    std::fs::write(dir.path().join("ca.pem"), ca.root_pem()).unwrap();
    dir
}

#[test]
fn probe_reads_aiosmtpd_with_starttls_and_judges_its_certificate() {
    if !have_aiosmtpd() {
        return;
    }
    let dir = pki_files("smtp.peer.test", "cert.pem");
    let port = free_port();
    let child = Command::new(PYTHON)
        .args([
            "-m",
            "aiosmtpd",
            "-n",
            "-l",
            &format!("127.0.0.1:{port}"),
            "--tlscert",
        ])
        .arg(dir.path().join("cert.pem"))
        .arg("--tlskey")
        .arg(dir.path().join("key.pem"))
        .args(["-c", "aiosmtpd.handlers.Sink"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start aiosmtpd");
    let _server = Server(child);
    wait_listening(port);

    let (out, took) = run_with_timeout(
        mailpath()
            .args([
                "probe",
                &format!("127.0.0.1:{port}"),
                "--tls-name",
                "smtp.peer.test",
                "--format",
                "json",
                "--ca",
            ])
            .arg(dir.path().join("ca.pem")),
        Duration::from_secs(60),
    );
    let v: serde_json::Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&out)));
    assert_eq!(v["schema"], "mailpath/probe/1");
    assert_eq!(v["probe"]["banner"]["code"], 220);
    assert_eq!(v["probe"]["tls"]["version"], "TLSv1.3", "{}", text(&out));
    assert_eq!(v["probe"]["tls"]["chain_der_b64"].as_array().unwrap().len(), 2);
    let status = |id: &str| {
        v["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == id)
            .map(|c| c["status"].as_str().unwrap().to_string())
    };
    for id in [
        "tcp.smtp.reachable",
        "smtp.banner",
        "smtp.ehlo",
        "smtp.starttls",
        "tls.version",
        "tls.cert.trusted",
        "tls.cert.name",
    ] {
        assert_eq!(status(id).as_deref(), Some("pass"), "{id}: {}", text(&out));
    }
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(took < Duration::from_secs(10), "probe took {took:?}");

    // A name the certificate does not carry fails the name check, and only that.
    let (out, _) = run_with_timeout(
        mailpath()
            .args([
                "probe",
                &format!("127.0.0.1:{port}"),
                "--tls-name",
                "mail.contoso.com",
                "--format",
                "json",
                "--ca",
            ])
            .arg(dir.path().join("ca.pem")),
        Duration::from_secs(60),
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let fails: Vec<&str> = v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["status"] == "fail")
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(fails, ["tls.cert.name"]);
    assert_eq!(out.status.code(), Some(2));

    // The text output is a swaks-like transcript.
    let (out, _) = run_with_timeout(
        mailpath()
            .args([
                "probe",
                &format!("127.0.0.1:{port}"),
                "--tls-name",
                "smtp.peer.test",
                "--ca",
            ])
            .arg(dir.path().join("ca.pem")),
        Duration::from_secs(60),
    );
    let s = String::from_utf8_lossy(&out.stdout);
    assert!(s.contains(" -> STARTTLS"), "{s}");
    assert!(s.contains(" ~> EHLO"), "{s}");
}

#[test]
fn probe_against_the_lab_uses_its_dns_ports_and_ca() {
    let (out, _) = run_with_timeout(
        mailpath().args([
            "probe",
            "mail.contoso.com",
            "--lab",
            "expired-cert",
            "--format",
            "json",
        ]),
        Duration::from_secs(60),
    );
    let v: serde_json::Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&out)));
    let validity = v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "tls.cert.validity")
        .unwrap();
    assert_eq!(validity["status"], "fail", "{validity}");
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn cert_command_judges_a_chain_file_offline() {
    let dir = tempfile::tempdir().unwrap();
    let now = time::OffsetDateTime::now_utc();
    let ca = LabCa::generate(now).unwrap();
    let good = ca
        .issue(&LeafSpec::server("mail.contoso.com", ["mail.contoso.com"], now))
        .unwrap();
    std::fs::write(dir.path().join("good.pem"), good.chain_pem(true)).unwrap();
    std::fs::write(dir.path().join("ca.pem"), ca.root_pem()).unwrap();
    let run = |file: &str, extra: &[&str]| {
        run_with_timeout(
            mailpath()
                .args([
                    "cert",
                    dir.path().join(file).to_str().unwrap(),
                    "--format",
                    "json",
                    "--ca",
                ])
                .arg(dir.path().join("ca.pem"))
                .args(extra),
            Duration::from_secs(60),
        )
    };
    let (out, _) = run("good.pem", &["--name", "mail.contoso.com"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let (out, _) = run("good.pem", &["--name", "mail.fabrikam.com"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    // Judged in 2 years, the certificate has expired.
    let (out, _) = run(
        "good.pem",
        &["--name", "mail.contoso.com", "--at", "2099-01-01T00:00:00Z"],
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    std::fs::write(dir.path().join("junk.pem"), "not a certificate").unwrap();
    let (out, _) = run("junk.pem", &[]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(text(&out).contains("junk.pem"), "{}", text(&out));
    let (out, _) = run("good.pem", &["--at", "yesterday"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
}

/// PKCS#12 files as OpenSSL writes them (AES-256 and PBKDF2 by default, the legacy RC2/3DES with
/// `-legacy`), as Export-ExchangeCertificate hands them to an admin: opened with the password from the
/// environment or a file, judged like the PEM; a wrong or missing password is a clear error (exit 3).
#[test]
fn cert_command_opens_pfx_files_written_by_openssl() {
    if !require("openssl") {
        return;
    }
    let dir = pki_files("mail.contoso.com", "chain.pem");
    std::fs::write(dir.path().join("password.txt"), "s3cret pass\n").unwrap();
    let export = |name: &str, extra: &[&str]| -> bool {
        let out = Command::new("openssl")
            .args(["pkcs12", "-export", "-passout", "pass:s3cret pass", "-in"])
            .arg(dir.path().join("chain.pem"))
            .arg("-inkey")
            .arg(dir.path().join("key.pem"))
            .arg("-out")
            .arg(dir.path().join(name))
            .args(extra)
            .output()
            .unwrap();
        if !out.status.success() {
            eprintln!(
                "openssl pkcs12 {extra:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        out.status.success()
    };
    assert!(export("modern.pfx", &[]), "openssl pkcs12 -export");
    let legacy = export("legacy.p12", &["-legacy"]);
    // A PFX named like anything else is still recognised.
    std::fs::copy(dir.path().join("modern.pfx"), dir.path().join("exported.bin")).unwrap();
    let run = |file: &str, extra: &[&str]| {
        run_with_timeout(
            mailpath()
                .env("MP_PFX", "s3cret pass")
                .args([
                    "cert",
                    dir.path().join(file).to_str().unwrap(),
                    "--format",
                    "json",
                    "--ca",
                ])
                .arg(dir.path().join("ca.pem"))
                .args(["--name", "mail.contoso.com"])
                .args(extra),
            Duration::from_secs(60),
        )
    };
    let mut files = vec!["modern.pfx", "exported.bin"];
    if legacy {
        files.push("legacy.p12");
    } else {
        eprintln!("note: this OpenSSL cannot write -legacy PKCS#12 (no legacy provider)");
    }
    for file in files {
        let (out, _) = run(file, &["--password-env", "MP_PFX"]);
        assert_eq!(out.status.code(), Some(0), "{file}: {}", text(&out));
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let chain = v["chain"].as_array().unwrap();
        assert_eq!(chain.len(), 2, "{file}: leaf and intermediate, leaf first: {v}");
        assert!(
            chain[0]["dns_names"].to_string().contains("mail.contoso.com"),
            "{file}: {v}"
        );
        assert!(
            !String::from_utf8_lossy(&out.stdout).contains("PRIVATE KEY"),
            "the key is never shown"
        );
    }
    let (out, _) = run(
        "modern.pfx",
        &[
            "--password-file",
            dir.path().join("password.txt").to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(0), "password file: {}", text(&out));
    // No password: says how to give one.
    let (out, _) = run("modern.pfx", &[]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(text(&out).contains("--password-env"), "{}", text(&out));
    // A wrong password: says so, and where.
    let (out, _) = run_with_timeout(
        mailpath().env("MP_PFX", "wrong").args([
            "cert",
            dir.path().join("modern.pfx").to_str().unwrap(),
            "--password-env",
            "MP_PFX",
        ]),
        Duration::from_secs(60),
    );
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(
        text(&out).contains("modern.pfx") && text(&out).contains("password does not open"),
        "{}",
        text(&out)
    );
    // An unset variable is named.
    let (out, _) = run("modern.pfx", &["--password-env", "MP_NOT_SET"]);
    assert_eq!(out.status.code(), Some(3));
    assert!(text(&out).contains("MP_NOT_SET"), "{}", text(&out));
}
