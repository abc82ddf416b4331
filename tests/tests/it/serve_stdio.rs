//! `mailpath relay` and `mailpath lab` as long-running servers under hostile standard streams: a stdout
//! nobody reads never stalls them (events are dropped and counted), and standard input stops them only
//! when it is a pipe that closes; a terminal, /dev/null or a closed stdin leave them serving until
//! SIGINT/SIGTERM.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use mailpath_tests::{mailpath, mailpath_bin, run_with_timeout, text};

/// A child killed on drop, whatever the test did.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Server {
    /// Wait up to `limit` for the exit.
    fn exited_within(&mut self, limit: Duration) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if let Some(status) = self.0.try_wait().unwrap() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }

    fn sigterm(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.0.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }
}

/// One SMTP session: greeting, EHLO, QUIT, each reply within `limit`. How long it took.
fn session(addr: SocketAddr, limit: Duration) -> Result<Duration, String> {
    let started = Instant::now();
    let stream = TcpStream::connect_timeout(&addr, limit).map_err(|e| format!("connect: {e}"))?;
    stream.set_read_timeout(Some(limit)).unwrap();
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut writer = stream;
    let mut reply = |what: &str| -> Result<(), String> {
        loop {
            let mut line = String::new();
            reader
                .read_line(&mut line)
                .map_err(|e| format!("{what}: no reply within {limit:?}: {e}"))?;
            if line.is_empty() {
                return Err(format!("{what}: connection closed"));
            }
            if line.as_bytes().get(3) != Some(&b'-') {
                return Ok(());
            }
        }
    };
    reply("greeting")?;
    writer.write_all(b"EHLO client.example\r\n").unwrap();
    reply("EHLO")?;
    writer.write_all(b"QUIT\r\n").unwrap();
    reply("QUIT")?;
    Ok(started.elapsed())
}

/// The first line of `stdout` (the ready line), leaving the rest unread.
fn ready_line(stdout: &mut ChildStdout) -> String {
    let mut line = Vec::new();
    let mut byte = [0u8; 1];
    while stdout.read(&mut byte).unwrap() == 1 && byte[0] != b'\n' {
        line.push(byte[0]);
    }
    String::from_utf8(line).unwrap()
}

/// Spawn a server with stdout piped; the server, its unread stdout after the ready line, its stdin (when
/// piped) and the ready line.
fn start(cmd: &mut Command) -> (Server, ChildStdout, Option<ChildStdin>, String) {
    let mut child = cmd.stdout(Stdio::piped()).spawn().unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let stdin = child.stdin.take();
    let server = Server(child);
    let ready = ready_line(&mut stdout);
    assert!(!ready.is_empty(), "{cmd:?} exited before it was ready");
    (server, stdout, stdin, ready)
}

fn lab(stdin: Stdio) -> Command {
    let mut cmd = mailpath();
    cmd.args(["lab", "healthy-direct", "--format", "json"])
        .stdin(stdin)
        .stderr(Stdio::inherit());
    cmd
}

/// Still serving after a while (nothing stopped it), answering at `addr`; then SIGTERM stops it.
fn serves_until_sigterm(mut server: Server, addr: SocketAddr) {
    assert!(
        server.exited_within(Duration::from_millis(1500)).is_none(),
        "it stopped by itself"
    );
    session(addr, Duration::from_secs(5)).unwrap();
    server.sigterm();
    let status = server
        .exited_within(Duration::from_secs(10))
        .expect("SIGTERM stops it");
    assert!(status.success(), "{status:?}");
}

fn relay(spool: &std::path::Path, stdin: Stdio, format: &str) -> Command {
    let mut cmd = mailpath();
    cmd.args(["relay", "--listen", "127.0.0.1:0", "--no-tls", "--format", format])
        .arg("--spool")
        .arg(spool)
        .stdin(stdin)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

fn address(ready: &str) -> SocketAddr {
    let v: serde_json::Value = serde_json::from_str(ready).unwrap_or_else(|e| panic!("{ready:?}: {e}"));
    v["address"].as_str().unwrap().parse().unwrap()
}

#[test]
fn relay_keeps_answering_when_nobody_reads_its_stdout() {
    let spool = tempfile::tempdir().unwrap();
    let (mut server, mut stdout, stdin, ready) = start(&mut relay(spool.path(), Stdio::piped(), "json"));
    let stderr = server.0.stderr.take().unwrap();
    let addr = address(&ready);

    // Each session prints a few events (its `closed` event carries the transcript): 600 sessions are
    // several times the 64 KiB a pipe holds.
    let mut slowest = Duration::ZERO;
    for i in 0..600 {
        let took = session(addr, Duration::from_secs(5))
            .unwrap_or_else(|e| panic!("session {i} with stdout unread: {e}"));
        slowest = slowest.max(took);
    }
    assert!(slowest < Duration::from_secs(2), "slowest session {slowest:?}");

    // Once stdout is read again, the events go on, the drop counted in the stream first.
    let drain = std::thread::spawn(move || {
        let mut out = String::new();
        let _ = stdout.read_to_string(&mut out);
        out
    });
    std::thread::sleep(Duration::from_millis(500));
    session(addr, Duration::from_secs(5)).unwrap();
    std::thread::sleep(Duration::from_millis(500));
    drop(stdin);
    let status = server
        .exited_within(Duration::from_secs(10))
        .expect("exits when stdin closes");
    assert!(status.success(), "{status:?}");
    let out = drain.join().unwrap();
    let dropped: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap_or_else(|e| panic!("{l:?}: {e}")))
        .filter(|v| v["event"] == "dropped")
        .collect();
    assert!(
        dropped.iter().any(|v| v["count"].as_u64().unwrap_or(0) > 0),
        "a dropped event with its count: {}",
        &out[out.len().saturating_sub(2000)..]
    );
    let mut err = String::new();
    BufReader::new(stderr).read_to_string(&mut err).unwrap();
    assert!(err.contains("event(s) were not printed"), "{err}");
}

#[test]
fn relay_text_output_unread_does_not_stall_either() {
    let spool = tempfile::tempdir().unwrap();
    let (_server, _stdout, _stdin, first) = start(&mut relay(spool.path(), Stdio::piped(), "text"));
    let addr: SocketAddr = first
        .split_whitespace()
        .find_map(|w| w.parse().ok())
        .unwrap_or_else(|| panic!("an address in {first:?}"));
    for i in 0..1500 {
        session(addr, Duration::from_secs(5))
            .unwrap_or_else(|e| panic!("session {i} with stdout unread: {e}"));
    }
}

#[test]
fn lab_keeps_answering_when_nobody_reads_its_stdout() {
    let (mut server, _stdout, stdin, ready) = start(&mut lab(Stdio::piped()));
    let info: mailpath_tests::LabInfo = serde_json::from_str(&ready).unwrap();
    let addr = info.endpoint("mailbox").address;
    for i in 0..300 {
        session(addr, Duration::from_secs(5))
            .unwrap_or_else(|e| panic!("session {i} with stdout unread: {e}"));
    }
    drop(stdin);
    let status = server.exited_within(Duration::from_secs(10)).expect("exits");
    assert!(status.success(), "{status:?}");
}

/// `relay` with this stdin (or, `closed`, none at all): it serves until SIGTERM.
fn relay_serves_until_sigterm(stdin: Stdio, closed: bool) {
    let spool = tempfile::tempdir().unwrap();
    let mut cmd = relay(spool.path(), stdin, "json");
    if closed {
        // `<&-`: descriptor 0 closed when mailpath starts.
        let mut shell = Command::new("sh");
        shell
            .args(["-c", "exec \"$0\" \"$@\" <&-"])
            .arg(mailpath_bin())
            .args(cmd.get_args())
            .stdin(Stdio::piped())
            .stderr(Stdio::piped());
        cmd = shell;
    }
    let (server, _stdout, _stdin, ready) = start(&mut cmd);
    serves_until_sigterm(server, address(&ready));
}

#[test]
fn relay_with_stdin_dev_null_serves_until_sigterm() {
    relay_serves_until_sigterm(Stdio::null(), false);
}

#[cfg(unix)]
#[test]
fn relay_with_stdin_closed_serves_until_sigterm() {
    relay_serves_until_sigterm(Stdio::null(), true);
}

#[cfg(unix)]
#[test]
fn lab_with_stdin_dev_null_serves_until_sigterm() {
    let (server, _stdout, _stdin, ready) = start(&mut lab(Stdio::null()));
    let info: mailpath_tests::LabInfo = serde_json::from_str(&ready).unwrap();
    serves_until_sigterm(server, info.endpoint("mailbox").address);
}

#[test]
fn relay_stops_when_its_stdin_pipe_closes() {
    let spool = tempfile::tempdir().unwrap();
    let (mut server, _stdout, stdin, ready) = start(&mut relay(spool.path(), Stdio::piped(), "json"));
    let addr = address(&ready);
    session(addr, Duration::from_secs(5)).unwrap();
    let closed = Instant::now();
    drop(stdin);
    let status = server
        .exited_within(Duration::from_secs(10))
        .expect("the end of the pipe stops it");
    assert!(status.success(), "{status:?}");
    assert!(
        closed.elapsed() < Duration::from_secs(5),
        "{:?}",
        closed.elapsed()
    );
}

/// `mailpath lab &` from an interactive shell: a background job whose stdin is the terminal. Reading
/// it would stop the whole process with SIGTTIN; the lab must keep serving.
#[cfg(target_os = "linux")]
#[test]
fn lab_in_the_background_of_a_terminal_keeps_serving() {
    if !mailpath_tests::require("python3") {
        return;
    }
    // The Python child gets a pseudo-terminal as its controlling terminal (pty.fork), starts the lab in a
    // process group of its own (a background job, stdin = the terminal), and reports.
    let script = r#"
import json, os, pty, socket, subprocess, sys, time
pid, master = pty.fork()
if pid == 0:
    lab = subprocess.Popen([sys.argv[1], "lab", "healthy-direct", "--format", "json"],
                           stdout=subprocess.PIPE, preexec_fn=os.setpgrp)
    try:
        info = json.loads(lab.stdout.readline())
        time.sleep(1.5)
        state = open(f"/proc/{lab.pid}/stat").read().rsplit(")", 1)[1].split()[0]
        mailbox = next(e for e in info["endpoints"] if e["role"] == "mailbox")
        host, port = mailbox["address"].rsplit(":", 1)
        s = socket.create_connection((host, int(port)), timeout=5)
        banner = s.recv(512).decode(errors="replace").strip()
        print(f"RESULT state={state} banner={banner[:3]}", flush=True)
    except Exception as e:
        print(f"RESULT error {e!r}", flush=True)
    finally:
        lab.kill()
        lab.wait()
    os._exit(0)
out = b""
while True:
    try:
        chunk = os.read(master, 4096)
    except OSError:
        break
    if not chunk:
        break
    out += chunk
os.waitpid(pid, 0)
sys.stdout.write(out.decode(errors="replace"))
"#;
    let (out, _) = run_with_timeout(
        Command::new("python3").args(["-c", script]).arg(mailpath_bin()),
        Duration::from_secs(120),
    );
    let output = text(&out);
    let result = output
        .lines()
        .find(|l| l.starts_with("RESULT"))
        .unwrap_or_else(|| panic!("no result: {output}"));
    assert!(
        result.contains("state=S") || result.contains("state=R"),
        "the lab is not stopped (T = stopped by SIGTTIN): {result}"
    );
    assert!(result.contains("banner=220"), "{result}");
}

#[test]
fn help_states_when_stdin_stops_the_server() {
    for command in ["lab", "relay"] {
        let (out, _) = run_with_timeout(mailpath().args([command, "--help"]), Duration::from_secs(60));
        assert!(out.status.success());
        let help = String::from_utf8_lossy(&out.stdout)
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        for needle in [
            "SIGINT (Ctrl+C) or SIGTERM",
            "When standard input is a pipe, its end stops",
            "/dev/null or a closed standard input are never read",
            "--ignore-stdin",
        ] {
            assert!(help.contains(needle), "{command} --help lacks {needle:?}: {help}");
        }
    }
}
