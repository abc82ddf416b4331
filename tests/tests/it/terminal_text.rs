//! Text from the network or a file never reaches the terminal with its control characters: ESC, BEL, CR
//! in a Subject, a Received host, a certificate subject, a banner, an EHLO name or an error show as
//! visible escapes (`\x1b`), so they can neither recolour, retitle, clear nor overwrite what is shown.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::process::Stdio;
use std::time::Duration;

use mailpath_tests::{mailpath, run_with_timeout, text};

/// The output has no control character but line ends (and the `\r` of none).
fn assert_no_controls(what: &str, output: &[u8]) {
    let bad: Vec<(usize, u8)> = output
        .iter()
        .copied()
        .enumerate()
        .filter(|&(_, b)| (b < 0x20 && b != b'\n') || b == 0x7f)
        .collect();
    assert!(
        bad.is_empty(),
        "{what}: control bytes {bad:?} in {:?}",
        String::from_utf8_lossy(output)
    );
}

#[test]
fn headers_escape_subject_and_received_hosts() {
    let dir = tempfile::tempdir().unwrap();
    let eml = dir.path().join("evil.eml");
    std::fs::write(
        &eml,
        b"Received: from evil\x1b[31m.example (evil.example [192.0.2.1]) by mx.contoso.com with ESMTPS;\r\n \
          Mon, 1 Jan 2024 00:00:00 +0000\r\n\
          Subject: hello \x1b]0;pwned\x07 world\rX\r\n\
          From: a@b.example\r\n\
          To: =?utf-8?q?=1B[2J?= <c@contoso.com>\r\n\r\nbody\r\n",
    )
    .unwrap();
    let (out, _) = run_with_timeout(mailpath().arg("headers").arg(&eml), Duration::from_secs(60));
    assert!(out.status.code().is_some_and(|c| c < 3), "{}", text(&out));
    assert_no_controls("headers", &out.stdout);
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(
        shown.contains(r"hello \x1b]0;pwned\x07 world\rX"),
        "the subject is shown, escaped: {shown}"
    );
    assert!(shown.contains(r"evil\x1b"), "the Received host, escaped: {shown}");
    // JSON keeps the text as it was (JSON escapes it by itself).
    let (json, _) = run_with_timeout(
        mailpath().arg("headers").arg(&eml).args(["--format", "json"]),
        Duration::from_secs(60),
    );
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(v["summary"]["subject"], "hello \u{1b}]0;pwned\u{7} world\rX");
}

#[test]
fn cert_escapes_the_subject() {
    let dir = tempfile::tempdir().unwrap();
    let Some(pem) = mailpath_tests::self_signed_cert(dir.path(), "/CN=evil\x1b]0;pwned\x07x\rY/O=Bad\x1b[2J")
    else {
        return;
    };
    let (out, _) = run_with_timeout(mailpath().arg("cert").arg(&pem), Duration::from_secs(60));
    assert!(out.status.code().is_some_and(|c| c < 3), "{}", text(&out));
    assert_no_controls("cert", &out.stdout);
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(
        shown.contains(r"CN=evil\x1b]0;pwned\x07x\rY, O=Bad\x1b[2J"),
        "the subject, escaped: {shown}"
    );
}

/// A server whose banner and replies carry terminal escapes, for one session.
fn hostile_server() -> (u16, std::thread::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let handle = std::thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        stream.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut writer = stream;
        writer
            .write_all(b"220 evil\x1b]0;pwned\x07.example ESMTP \x1b[2Jready\r\n")
            .unwrap();
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                break;
            }
            let reply: &[u8] = match line.get(..4).map(str::to_ascii_uppercase).as_deref() {
                Some("EHLO" | "HELO") => b"250-evil\x1b[31m.example hello\r\n250 8BITMIME\x07\r\n",
                Some("QUIT") => b"221 bye\x1b[0m\r\n",
                _ => b"502 no\x1b[5m\r\n",
            };
            if writer.write_all(reply).is_err() || line.starts_with("QUIT") {
                break;
            }
        }
    });
    (port, handle)
}

#[test]
fn probe_escapes_the_banner_and_replies() {
    let (port, server) = hostile_server();
    let (out, _) = run_with_timeout(
        mailpath().args(["probe", &format!("127.0.0.1:{port}")]),
        Duration::from_secs(60),
    );
    server.join().unwrap();
    assert!(out.status.code().is_some_and(|c| c < 3), "{}", text(&out));
    assert_no_controls("probe", &out.stdout);
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(
        shown.contains(r"220 evil\x1b]0;pwned\x07.example ESMTP \x1b[2Jready"),
        "{shown}"
    );
}

#[test]
fn relay_text_events_escape_what_clients_send() {
    let spool = tempfile::tempdir().unwrap();
    let mut child = mailpath()
        .args(["relay", "--listen", "127.0.0.1:0", "--no-tls", "--spool"])
        .arg(spool.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    stdout.read_line(&mut first).unwrap();
    let addr: std::net::SocketAddr = first
        .split_whitespace()
        .find_map(|w| w.parse().ok())
        .unwrap_or_else(|| panic!("an address in {first:?}"));

    let stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut writer = stream;
    let mut reply = || loop {
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        if line.as_bytes().get(3) != Some(&b'-') {
            return line;
        }
    };
    reply();
    for command in [
        &b"EHLO evil\x1b[31m.example\x07\r\n"[..],
        b"MAIL FROM:<a@b.example>\r\n",
        b"RCPT TO:<c@contoso.com>\r\n",
        b"DATA\r\n",
    ] {
        writer.write_all(command).unwrap();
        reply();
    }
    writer
        .write_all(b"Subject: hi \x1b]0;x\x07\r\nX-MS-Exchange-Organization-AuthAs: In\x1b[1mternal\r\n\r\nbody\r\n.\r\n")
        .unwrap();
    assert!(reply().starts_with("250"));
    writer.write_all(b"QUIT\r\n").unwrap();
    reply();
    std::thread::sleep(Duration::from_millis(500));
    drop(child.stdin.take());
    let mut rest = Vec::new();
    stdout.read_to_end(&mut rest).unwrap();
    let _ = child.wait();
    assert_no_controls("relay events", &rest);
    let shown = String::from_utf8_lossy(&rest);
    assert!(shown.contains(r"EHLO evil\x1b[31m.example\x07"), "{shown}");
}

#[test]
fn error_messages_escape_what_they_quote() {
    let dir = tempfile::tempdir().unwrap();
    let profile = dir.path().join("escape.toml");
    // A quoted key holding ESC and BEL: the error names it.
    std::fs::write(&profile, "name = \"x\"\n\"bad\\u001b]0;pwned\\u0007key\" = 1\n").unwrap();
    let (out, _) = run_with_timeout(
        mailpath().args(["diagnose", "--profile"]).arg(&profile),
        Duration::from_secs(60),
    );
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert_no_controls("error", &out.stderr);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(r"bad\x1b]0;pwned\x07key"), "{err}");
}
