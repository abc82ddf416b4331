//! Message content through the real `mailpath relay`, over TCP: SMTP smuggling both ways (lone CR
//! and LF around the final dot never end a message; content with a bare CR or LF is refused with
//! `550 5.6.11` and never reaches the smart host), the corner cases of the end of data, memory that
//! stays bounded while 16 sessions each send 34 MiB, file descriptor limits, and the spool's files.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::relay_support;

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use mailpath_tests::{mailpath, require, run_with_timeout, text};
use relay_support::{RelayProcess, spawn_listening, spool_ids};

/// A Python client: per case, a fresh session that sends EHLO, MAIL, RCPT, the case's command
/// (`DATA` or a `BDAT` line) and its raw bytes, then QUIT, and records every reply line after the
/// recipient's. Prints `[[reply lines...], ...]` as JSON.
const RAW_CLIENT: &str = r#"
import json, socket, sys
host, port = sys.argv[1], int(sys.argv[2])
cases = json.loads(sys.stdin.read())
results = []
for case in cases:
    s = socket.create_connection((host, port), timeout=20)
    f = s.makefile("rb")
    def reply():
        lines = []
        while True:
            line = f.readline()
            if not line:
                return lines
            lines.append(line.decode("latin-1").rstrip("\r\n"))
            if len(line) < 4 or line[3:4] != b"-":
                return lines
    reply()
    for cmd in (b"EHLO python.test\r\n", b"MAIL FROM:<a@fabrikam.example>\r\n", b"RCPT TO:<megan@contoso.com>\r\n"):
        s.sendall(cmd)
        reply()
    s.sendall(case["command"].encode() + b"\r\n")
    got = []
    if case["command"] == "DATA":
        got += reply()
    s.sendall(bytes.fromhex(case["hex"]) + b"QUIT\r\n")
    while True:
        r = reply()
        if not r:
            break
        got += r
    s.close()
    results.append(got)
print(json.dumps(results))
"#;

/// Run `cases` (command, raw bytes) through the Python client; the reply lines of each.
/// `BDAT` stands for `BDAT <size of the bytes> LAST`.
fn python_cases(addr: SocketAddr, cases: &[(&str, Vec<u8>)]) -> Vec<Vec<String>> {
    let input = serde_json::to_string(
        &cases
            .iter()
            .map(|(command, bytes)| {
                let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
                let command = if *command == "BDAT" {
                    format!("BDAT {} LAST", bytes.len())
                } else {
                    (*command).to_string()
                };
                serde_json::json!({ "command": command, "hex": hex })
            })
            .collect::<Vec<_>>(),
    )
    .unwrap();
    let mut child = Command::new("/usr/bin/python3")
        .args(["-c", RAW_CLIENT, "127.0.0.1", &addr.port().to_string()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", text(&out));
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&out)))
}

/// Every lone CR or LF around a dot that a smuggling attack may use as an end of data.
const FAKE_ENDS: [&[u8]; 9] = [
    b"\n.\n",
    b"\r\n.\n",
    b"\n.\r\n",
    b"\r.\r",
    b"\r.\r\n",
    b"\r\n.\r",
    b"\n.\r",
    b"\r.\n",
    b"\r\n.\rX\r\n",
];

/// A message that hides a second one behind `fake`, then really ends.
fn smuggling(fake: &[u8]) -> Vec<u8> {
    let mut bytes = b"From: a@fabrikam.example\r\nSubject: outer\r\n\r\nhello".to_vec();
    bytes.extend_from_slice(fake);
    bytes.extend_from_slice(
        b"MAIL FROM:<ceo@contoso.com>\r\nRCPT TO:<victim@contoso.com>\r\nDATA\r\nSubject: smuggled\r\n\r\nPay now.\r\n.\r\n",
    );
    bytes
}

#[test]
fn lone_cr_or_lf_never_ends_data_and_such_content_is_refused() {
    if !require("/usr/bin/python3") {
        return;
    }
    let spool = tempfile::tempdir().unwrap();
    let relay = RelayProcess::start(spool.path(), &["--no-tls", "--accept-domain", "contoso.com"]);
    let mut cases: Vec<(&str, Vec<u8>)> = FAKE_ENDS.iter().map(|f| ("DATA", smuggling(f))).collect();
    // BDAT has no end marker to fake, but the content would still go on by DATA: refused too.
    cases.push(("BDAT", b"Subject: x\n\nbare LF".to_vec()));
    cases.push(("BDAT", b"Subject: x\r\n\r\r".to_vec()));
    let results = python_cases(relay.addr, &cases);
    for ((_, bytes), replies) in cases.iter().zip(&results) {
        let codes: Vec<&str> = replies.iter().map(|r| &r[..3]).collect();
        let expected: &[&str] = if bytes.starts_with(b"From") {
            &["354", "550", "221"]
        } else {
            &["550", "221"]
        };
        assert_eq!(
            codes,
            expected,
            "{:?}: one refusal, no reply to smuggled commands: {replies:?}",
            String::from_utf8_lossy(bytes)
        );
        let refusal = replies.iter().find(|r| r.starts_with("550")).unwrap();
        assert!(refusal.starts_with("550 5.6.11 "), "{refusal}");
    }
    assert!(spool_ids(spool.path()).is_empty(), "nothing was stored");
    assert!(relay.stop().success());
}

#[test]
fn empty_messages_and_dot_stuffed_first_lines_are_stored_exactly() {
    if !require("/usr/bin/python3") {
        return;
    }
    let spool = tempfile::tempdir().unwrap();
    let relay = RelayProcess::start(spool.path(), &["--no-tls"]);
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("DATA", b".\r\n".to_vec()),
        ("DATA", b"..x\r\n..\r\n...y\r\nbody\r\n.\r\n".to_vec()),
        ("BDAT", Vec::new()),
    ];
    let results = python_cases(relay.addr, &cases);
    for replies in &results {
        assert!(replies.iter().any(|r| r.starts_with("250 2.6.0")), "{replies:?}");
    }
    let mut stored: Vec<Vec<u8>> = spool_ids(spool.path())
        .iter()
        .map(|id| std::fs::read(spool.path().join("messages").join(format!("{id}.eml"))).unwrap())
        .collect();
    stored.sort();
    assert_eq!(
        stored,
        [b"".to_vec(), b"".to_vec(), b".x\r\n.\r\n..y\r\nbody\r\n".to_vec()]
    );
    assert!(relay.stop().success());
}

/// A smart host that records every byte it receives (plain SMTP, accepts everything).
const CAPTURE: &str = r#"
import socket, sys, threading
out = open(sys.argv[1], "ab")
srv = socket.socket()
srv.bind(("127.0.0.1", 0))
srv.listen(16)
print(srv.getsockname()[1], flush=True)
lock = threading.Lock()
def serve(c):
    c.sendall(b"220 capture.test ESMTP\r\n")
    buf = b""
    data = False
    while True:
        chunk = c.recv(65536)
        if not chunk:
            return
        with lock:
            out.write(chunk)
            out.flush()
        buf += chunk
        while True:
            if data:
                end = buf.find(b"\r\n.\r\n")
                if end < 0 and buf.startswith(b".\r\n"):
                    end = -2
                if end == -1:
                    break
                buf = buf[end + 5:]
                data = False
                c.sendall(b"250 2.0.0 captured\r\n")
                continue
            line, sep, rest = buf.partition(b"\r\n")
            if not sep:
                break
            buf = rest
            verb = line[:4].upper()
            if verb == b"DATA":
                data = True
                c.sendall(b"354 go ahead\r\n")
            elif verb == b"QUIT":
                c.sendall(b"221 bye\r\n")
                c.close()
                return
            elif verb == b"EHLO":
                c.sendall(b"250-capture.test\r\n250 8BITMIME\r\n")
            else:
                c.sendall(b"250 2.0.0 ok\r\n")
while True:
    conn, _ = srv.accept()
    threading.Thread(target=serve, args=(conn,), daemon=True).start()
"#;

/// The positions of bare CRs and LFs in `bytes`.
fn bare_line_ends(bytes: &[u8]) -> Vec<usize> {
    (0..bytes.len())
        .filter(|&i| match bytes[i] {
            b'\r' => bytes.get(i + 1) != Some(&b'\n'),
            b'\n' => i == 0 || bytes[i - 1] != b'\r',
            _ => false,
        })
        .collect()
}

#[test]
fn no_bare_cr_or_lf_ever_reaches_the_smart_host() {
    if !require("/usr/bin/python3") {
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let captured = work.path().join("captured.bin");
    let mut smart_host = Command::new("/usr/bin/python3")
        .args(["-c", CAPTURE])
        .arg(&captured)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut port = String::new();
    BufReader::new(smart_host.stdout.take().unwrap())
        .read_line(&mut port)
        .unwrap();
    let forward = format!("127.0.0.1:{}", port.trim());
    let spool = tempfile::tempdir().unwrap();
    let relay = RelayProcess::start(
        spool.path(),
        &[
            "--no-tls",
            "--accept-domain",
            "contoso.com",
            "--forward",
            &forward,
            "--retry-base",
            "0.2",
        ],
    );
    let mut cases: Vec<(&str, Vec<u8>)> = FAKE_ENDS.iter().map(|f| ("DATA", smuggling(f))).collect();
    cases.push((
        "DATA",
        b"Subject: clean\r\n\r\n..leading dot, stuffed again on the way out\r\nend\r\n.\r\n".to_vec(),
    ));
    let results = python_cases(relay.addr, &cases);
    let accepted = results
        .iter()
        .filter(|r| r.iter().any(|l| l.starts_with("250 2.6.0")))
        .count();
    assert_eq!(accepted, 1, "only the clean message is accepted: {results:?}");
    relay
        .wait_for(Duration::from_secs(30), |e| {
            e["event"] == "delivery" && e["state"] == "delivered"
        })
        .expect("the clean message is delivered");
    let wire = std::fs::read(&captured).unwrap();
    assert!(
        wire.windows(b"Subject: clean".len())
            .any(|w| w == b"Subject: clean"),
        "{}",
        String::from_utf8_lossy(&wire)
    );
    assert_eq!(
        bare_line_ends(&wire),
        Vec::<usize>::new(),
        "{}",
        String::from_utf8_lossy(&wire)
    );
    assert!(
        !wire.windows(9).any(|w| w == b"smuggled\r" || w == b"Pay now.\r"),
        "nothing of the smuggled messages went out"
    );
    assert!(
        wire.windows(7).any(|w| w == b"\r\n..lea"),
        "dots are stuffed again when forwarded"
    );
    assert!(relay.stop().success());
    let _ = smart_host.kill();
    let _ = smart_host.wait();
}

/// `VmHWM` (peak resident set) and `VmRSS` of a process, KiB.
fn memory_kib(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    (field("VmHWM:"), field("VmRSS:"))
}

/// Open a session and start a message: EHLO, MAIL, RCPT, DATA.
fn start_data(addr: SocketAddr) -> (TcpStream, BufReader<TcpStream>) {
    let stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut w = stream.try_clone().unwrap();
    let mut reply = || loop {
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        if line.len() < 4 || line.as_bytes()[3] != b'-' {
            return line[..3.min(line.len())].to_string();
        }
    };
    assert_eq!(reply(), "220");
    for (cmd, code) in [
        ("EHLO big.test", "250"),
        ("MAIL FROM:<a@fabrikam.example>", "250"),
        ("RCPT TO:<megan@contoso.com>", "250"),
        ("DATA", "354"),
    ] {
        w.write_all(format!("{cmd}\r\n").as_bytes()).unwrap();
        assert_eq!(reply(), code, "{cmd}");
    }
    (stream, reader)
}

/// Sessions and message size of the memory benchmark.
pub(crate) const BIG_SESSIONS: usize = 16;
pub(crate) const BIG_SIZE: usize = 34 * 1024 * 1024;

/// What [`big_messages`] measured.
pub(crate) struct BigMessages {
    /// The relay's peak resident set (`VmHWM`) once every byte was taken in, KiB.
    pub peak_kib: u64,
    /// Its resident set then (`VmRSS`), KiB.
    pub rss_kib: u64,
    /// Bytes sent, and bytes the relay had streamed to `tmp/` by then.
    pub sent: u64,
    pub in_tmp: u64,
    /// Bytes left in `tmp/` once the clients went away.
    pub left_in_tmp: u64,
    /// How long the relay took to take everything in.
    pub elapsed: Duration,
}

/// [`BIG_SESSIONS`] sessions each send [`BIG_SIZE`] bytes of message content to the relay at
/// `addr` (process `pid`, spool `spool`) without the final dot; measure its memory once it has
/// taken everything in, then let the clients go away.
pub(crate) fn big_messages(addr: SocketAddr, pid: u32, spool: &Path) -> BigMessages {
    let started = Instant::now();
    let line = b"0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz0123456789\r\n";
    let block = line.repeat(1024 * 1024 / line.len());
    let senders: Vec<_> = (0..BIG_SESSIONS)
        .map(|_| {
            let block = block.clone();
            std::thread::spawn(move || {
                let (mut stream, reader) = start_data(addr);
                let mut sent = 0;
                while sent < BIG_SIZE {
                    stream.write_all(&block).unwrap();
                    sent += block.len();
                }
                // No final dot: the session stays open with all of it received.
                (stream, reader, sent)
            })
        })
        .collect();
    let sessions: Vec<_> = senders.into_iter().map(|s| s.join().unwrap()).collect();
    let sent: u64 = sessions.iter().map(|(_, _, n)| *n as u64).sum();
    // Wait until the relay has taken every byte in (it streams them to tmp/); each session may
    // still hold up to a few hundred KiB in memory.
    let tmp = spool.join("tmp");
    let in_tmp = || -> u64 {
        std::fs::read_dir(&tmp)
            .map(|d| {
                d.flatten()
                    .filter_map(|e| e.metadata().ok())
                    .map(|m| m.len())
                    .sum()
            })
            .unwrap_or(0)
    };
    let slack = (BIG_SESSIONS as u64) * 512 * 1024;
    let deadline = Instant::now() + Duration::from_secs(300);
    while in_tmp() + slack < sent && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    let elapsed = started.elapsed();
    let (peak_kib, rss_kib) = memory_kib(pid);
    let streamed = in_tmp();
    // The clients go away without finishing: nothing is kept.
    drop(sessions);
    let deadline = Instant::now() + Duration::from_secs(30);
    while in_tmp() > 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    BigMessages {
        peak_kib,
        rss_kib,
        sent,
        in_tmp: streamed,
        left_in_tmp: in_tmp(),
        elapsed,
    }
}

#[test]
fn memory_stays_bounded_while_16_sessions_each_send_34_mib() {
    let spool = tempfile::tempdir().unwrap();
    let relay = RelayProcess::start(spool.path(), &["--no-tls", "--quiet"]);
    let m = big_messages(relay.addr, relay.pid(), spool.path());
    eprintln!(
        "{BIG_SESSIONS} sessions x {} MiB without the final dot: {} MiB in tmp/ after {:.1} s, relay VmHWM {} KiB, \
         VmRSS {} KiB",
        BIG_SIZE >> 20,
        m.in_tmp >> 20,
        m.elapsed.as_secs_f64(),
        m.peak_kib,
        m.rss_kib
    );
    assert!(
        m.in_tmp + (BIG_SESSIONS as u64) * 512 * 1024 >= m.sent,
        "the content streams to tmp/ as it arrives: {} of {} bytes there",
        m.in_tmp,
        m.sent
    );
    assert!(m.peak_kib > 0, "VmHWM readable");
    assert!(m.peak_kib < 64 * 1024, "peak RSS {} KiB >= 64 MiB", m.peak_kib);
    assert_eq!(m.left_in_tmp, 0, "unfinished messages are removed from tmp/");
    assert!(spool_ids(spool.path()).is_empty());
    assert!(relay.stop().success());
}

/// The soft and hard `Max open files` of a process.
fn nofile(pid: u32) -> (u64, u64) {
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).unwrap();
    let line = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .unwrap()
        .to_string();
    let mut words = line.split_whitespace().skip(3);
    (
        words.next().unwrap().parse().unwrap(),
        words.next().unwrap().parse().unwrap(),
    )
}

/// A `mailpath relay` started under `prlimit --nofile=SOFT:HARD`.
fn relay_with_nofile(spool: &Path, soft: u32, hard: u32) -> (std::process::Child, serde_json::Value) {
    spawn_listening(
        Command::new("prlimit")
            .arg(format!("--nofile={soft}:{hard}"))
            .arg(mailpath_tests::mailpath_bin())
            .args([
                "relay",
                "--listen",
                "127.0.0.1:0",
                "--no-tls",
                "--quiet",
                "--format",
                "json",
            ])
            .args(["--max-sessions", "1000", "--spool"])
            .arg(spool)
            .stderr(Stdio::inherit()),
    )
}

#[test]
fn file_descriptor_limits_refuse_sessions_cleanly_and_never_fail_spool_writes() {
    if !require("prlimit") {
        return;
    }
    // The soft limit is raised to the hard one.
    let spool = tempfile::tempdir().unwrap();
    let (mut raised, _) = relay_with_nofile(spool.path(), 64, 4096);
    let pid = raised.id();
    // prlimit execs mailpath in place: same pid.
    assert_eq!(nofile(pid), (4096, 4096));
    drop(raised.stdin.take());
    let _ = raised.wait();

    // With 64 descriptors and no room to raise, --max-sessions 1000 is capped to what fits.
    let spool = tempfile::tempdir().unwrap();
    let (mut relay, listening) = relay_with_nofile(spool.path(), 64, 64);
    let max = listening["max_sessions"]
        .as_u64()
        .expect("max_sessions in the listening event");
    assert!((1..20).contains(&max), "capped: {listening}");
    let addr: SocketAddr = listening["address"].as_str().unwrap().parse().unwrap();
    let mut served = Vec::new();
    let mut refused = 0;
    for _ in 0..80 {
        let stream = TcpStream::connect(addr).unwrap();
        // Generous: other tests may load the disk the spool syncs to.
        stream.set_read_timeout(Some(Duration::from_secs(120))).unwrap();
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut greeting = String::new();
        reader.read_line(&mut greeting).unwrap();
        if greeting.starts_with("220") {
            served.push((stream, reader));
        } else {
            assert!(greeting.starts_with("421 4.3.2"), "{greeting:?}");
            refused += 1;
        }
    }
    assert_eq!(served.len() as u64, max);
    assert_eq!(refused, 80 - max);
    // Every session that was let in can store a message, all at once (no EMFILE).
    for (stream, _) in &mut served {
        stream
            .write_all(
                b"EHLO fd.test\r\nMAIL FROM:<a@fabrikam.example>\r\nRCPT TO:<b@contoso.com>\r\nDATA\r\n",
            )
            .unwrap();
    }
    // Larger than what a session keeps in memory: each message streams to a file in tmp/.
    let big = b"large enough to be streamed to tmp/ first\r\n".repeat(8 * 1024);
    for (stream, _) in &mut served {
        stream.write_all(&big).unwrap();
    }
    for (stream, _) in &mut served {
        stream.write_all(b".\r\nQUIT\r\n").unwrap();
    }
    for (_, reader) in &mut served {
        let mut all = String::new();
        let _ = reader.read_to_string(&mut all);
        assert!(all.contains("250 2.6.0"), "{all}");
        assert!(!all.contains("451"), "{all}");
    }
    assert_eq!(spool_ids(spool.path()).len() as u64, max);
    drop(relay.stdin.take());
    assert!(relay.wait().unwrap().success());
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::symlink_metadata(path).unwrap().permissions().mode() & 0o777
}

#[cfg(unix)]
#[test]
fn spool_files_are_private_and_planted_links_are_not_followed() {
    if !require("swaks") {
        return;
    }
    let spool = tempfile::tempdir().unwrap();
    let elsewhere = tempfile::tempdir().unwrap();
    let victim = elsewhere.path().join("victim");
    std::fs::write(&victim, b"precious").unwrap();
    std::os::unix::fs::symlink(&victim, spool.path().join("relay-ca.pem")).unwrap();
    std::os::unix::fs::symlink(&victim, spool.path().join("delivery.log")).unwrap();
    std::fs::create_dir_all(spool.path().join("tmp/stray-dir")).unwrap();
    let relay = RelayProcess::start(spool.path(), &["--accept-domain", "contoso.com"]);
    assert_eq!(
        relay.listening["recovery"]["skipped"],
        serde_json::json!(["tmp/stray-dir"]),
        "{}",
        relay.listening
    );
    let (out, _) = run_with_timeout(
        Command::new("swaks")
            .args(["--server", "127.0.0.1", "--port", &relay.addr.port().to_string()])
            .args(["--to", "megan@contoso.com"]),
        Duration::from_secs(60),
    );
    assert!(out.status.success(), "{}", text(&out));
    assert!(relay.stop().success());
    assert_eq!(std::fs::read(&victim).unwrap(), b"precious");
    let ca = spool.path().join("relay-ca.pem");
    assert!(!std::fs::symlink_metadata(&ca).unwrap().file_type().is_symlink());
    assert!(
        std::fs::read_to_string(&ca)
            .unwrap()
            .starts_with("-----BEGIN CERTIFICATE-----")
    );
    assert_eq!(mode(&ca), 0o600);
    for dir in ["", "tmp", "messages", "journal"] {
        assert_eq!(mode(&spool.path().join(dir)), 0o700, "{dir}/");
    }
    let id = &spool_ids(spool.path())[0];
    assert_eq!(mode(&spool.path().join(format!("messages/{id}.eml"))), 0o600);
    let journal: Vec<_> = std::fs::read_dir(spool.path().join("journal"))
        .unwrap()
        .flatten()
        .collect();
    assert!(!journal.is_empty());
    for file in journal {
        assert_eq!(mode(&file.path()), 0o600, "{}", file.path().display());
    }
}

/// The lab's state directories under `tmp`.
fn lab_dirs(tmp: &Path) -> Vec<std::path::PathBuf> {
    std::fs::read_dir(tmp)
        .map(|d| {
            d.flatten()
                .map(|e| e.path())
                .filter(|p| {
                    p.file_name()
                        .is_some_and(|n| n.to_string_lossy().starts_with("mailpath-lab-"))
                })
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(unix)]
fn interrupt(child: &std::process::Child) {
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

#[cfg(unix)]
#[test]
fn lab_keys_are_private_and_removed_on_ctrl_c() {
    // `mailpath lab`: the key is 0600 while it runs, and gone after Ctrl+C.
    let tmp = tempfile::tempdir().unwrap();
    let mut lab = mailpath()
        .args(["lab", "--format", "json"])
        .env("TMPDIR", tmp.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(lab.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let info: serde_json::Value = serde_json::from_str(&line).unwrap();
    let key = Path::new(info["onprem_key_file"].as_str().unwrap()).to_path_buf();
    assert!(key.starts_with(tmp.path()), "{key:?}");
    assert_eq!(mode(&key), 0o600);
    assert_eq!(mode(key.parent().unwrap()), 0o700);
    for file in std::fs::read_dir(key.parent().unwrap()).unwrap().flatten() {
        assert_eq!(mode(&file.path()), 0o600, "{:?}", file.path());
    }
    interrupt(&lab);
    let deadline = Instant::now() + Duration::from_secs(20);
    while lab.try_wait().unwrap().is_none() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = lab.kill();
    let _ = lab.wait();
    assert_eq!(lab_dirs(tmp.path()), Vec::<std::path::PathBuf>::new());

    // `mailpath diagnose --lab`, interrupted while it probes a tarpit: the lab's files go too.
    let tmp = tempfile::tempdir().unwrap();
    let mut diagnose = mailpath()
        .args(["diagnose", "--lab", "tarpit", "--format", "json"])
        .env("TMPDIR", tmp.path())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while lab_dirs(tmp.path()).is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let dirs = lab_dirs(tmp.path());
    assert_eq!(dirs.len(), 1, "the lab started");
    let key = dirs[0].join("onprem-key.pem");
    while !key.exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(300));
    assert!(diagnose.try_wait().unwrap().is_none(), "still probing the tarpit");
    interrupt(&diagnose);
    let status = diagnose.wait().unwrap();
    assert!(!status.success());
    assert_eq!(lab_dirs(tmp.path()), Vec::<std::path::PathBuf>::new());
}
