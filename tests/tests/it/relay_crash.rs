//! Durability: `kill -9` the relay while Postfix's smtp-source and Python clients load it, restart
//! it on the same spool, and check that every message a client saw acknowledged with 250 is there,
//! whole. Also a plain load run: every message smtp-source sent is in the spool.

use crate::relay_support;

use std::collections::BTreeMap;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use mailpath_tests::require;
use relay_support::{RelayProcess, spawn_listening, spool_ids, spool_metas};

/// Python clients: sessions of 20 messages each, every acknowledged queue id written (and flushed)
/// with the sequence number the message carries, until the relay goes away.
const ACKER: &str = r#"
import smtplib, sys, threading
host, port, out_path, threads = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
lock = threading.Lock()
out = open(out_path, "a")
seq = [0]
def worker():
    while True:
        try:
            s = smtplib.SMTP(host, port, timeout=10)
            s.ehlo("acker.test")
            for _ in range(20):
                with lock:
                    seq[0] += 1
                    n = seq[0]
                msg = ("Subject: crash %d\r\nX-Seq: %d\r\n\r\n" % (n, n) + "line of the body\r\n" * 40 + "sequence %d end\r\n" % n).encode()
                if s.mail("acker@python.test")[0] != 250 or s.rcpt("x@contoso.com")[0] != 250:
                    return
                code, resp = s.data(msg)
                if code != 250:
                    return
                qid = resp.decode().split("<", 1)[1].split("@", 1)[0]
                with lock:
                    out.write("%s %d\n" % (qid, n))
                    out.flush()
            s.quit()
        except Exception:
            return
ts = [threading.Thread(target=worker) for _ in range(threads)]
for t in ts: t.start()
for t in ts: t.join()
"#;

/// Parallel smtp-source sessions.
const SOURCE_SESSIONS: u64 = 12;

/// smtp-source's `-c` counter: the last number it printed.
fn last_counter(output: &str) -> u64 {
    output
        .split(['\r', '\n'])
        .filter_map(|t| t.trim().parse::<u64>().ok())
        .next_back()
        .unwrap_or(0)
}

#[test]
fn kill_9_under_load_loses_no_acknowledged_message() {
    if !require("smtp-source") || !require("/usr/bin/python3") {
        return;
    }
    let spool = tempfile::tempdir().unwrap();
    let work = tempfile::tempdir().unwrap();
    let relay = RelayProcess::start(spool.path(), &["--quiet", "--max-sessions", "512"]);
    let port = relay.addr.port().to_string();

    let acks_file = work.path().join("acks.txt");
    let mut acker = Command::new("/usr/bin/python3")
        .args(["-c", ACKER, "127.0.0.1", &port])
        .arg(&acks_file)
        .arg("8")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let source_out = work.path().join("smtp-source.out");
    let mut source = Command::new("smtp-source")
        .args([
            "-c",
            "-s",
            &SOURCE_SESSIONS.to_string(),
            "-m",
            "1000000",
            "-l",
            "4096",
        ])
        .args(["-f", "load@source.test", "-t", "x@contoso.com"])
        .arg(format!("127.0.0.1:{port}"))
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&source_out).unwrap())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();

    // Let the load run, then kill the relay without warning.
    std::thread::sleep(Duration::from_millis(2500));
    let before_kill = spool_ids(spool.path()).len();
    relay.kill9();

    // Both give up when the relay is gone (connection refused); do not wait forever if one does not.
    let deadline = Instant::now() + Duration::from_secs(10);
    let waiting = Instant::now();
    for child in [&mut acker, &mut source] {
        while Instant::now() < deadline && child.try_wait().unwrap().is_none() {
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = child.kill();
        let _ = child.wait();
    }

    eprintln!(
        "clients ended {} ms after the kill",
        waiting.elapsed().as_millis()
    );
    // What the clients saw acknowledged.
    let acks: BTreeMap<String, u64> = std::fs::read_to_string(&acks_file)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| {
            let (id, n) = l.split_once(' ')?;
            Some((id.to_string(), n.parse().ok()?))
        })
        .collect();
    let source_counted = last_counter(&std::fs::read_to_string(&source_out).unwrap());
    assert!(
        acks.len() >= 20,
        "the Python clients got too few 250s to prove anything: {}",
        acks.len()
    );
    assert!(
        source_counted >= 20,
        "smtp-source sent too few messages: {source_counted}"
    );
    assert!(before_kill > 0);

    // Restart on the same spool: leftovers of interrupted writes are discarded, nothing else.
    let restarted = RelayProcess::start(spool.path(), &["--quiet"]);
    let recovery = restarted.listening["recovery"].clone();
    assert!(restarted.stop().success());
    let ids = spool_ids(spool.path());
    assert_eq!(
        recovery["messages"].as_u64(),
        Some(ids.len() as u64),
        "{recovery}"
    );

    let mut missing = Vec::new();
    for (id, n) in &acks {
        let eml = spool.path().join("messages").join(format!("{id}.eml"));
        match std::fs::read_to_string(&eml) {
            Ok(body) if body.ends_with(&format!("sequence {n} end\r\n")) => {}
            Ok(body) => panic!("message {id} (sequence {n}) is damaged: {} bytes", body.len()),
            Err(_) => missing.push((id.clone(), *n)),
        }
    }
    assert!(missing.is_empty(), "acknowledged but lost: {missing:?}");
    let from_source = spool_metas(spool.path())
        .values()
        .filter(|meta| meta["mail_from"] == "load@source.test")
        .count() as u64;
    // smtp-source's counter counts DATA commands answered with 354, before the message is sent
    // and acknowledged: at most one message per session (12) can be counted and not acknowledged.
    assert!(
        from_source + SOURCE_SESSIONS >= source_counted,
        "smtp-source counted {source_counted} messages, the spool has only {from_source} of them"
    );
    eprintln!(
        "kill -9 under load: {} Python acknowledgements (all found whole), smtp-source counted {source_counted} \
         ({from_source} in the spool), {} messages in the spool after restart ({} seen before the kill), \
         recovery {recovery}",
        acks.len(),
        ids.len(),
        before_kill
    );
}

#[test]
fn smtp_source_load_is_fully_spooled() {
    if !require("smtp-source") {
        return;
    }
    let spool = tempfile::tempdir().unwrap();
    let relay = RelayProcess::start(spool.path(), &["--quiet"]);
    let started = Instant::now();
    let out = Command::new("smtp-source")
        .args([
            "-s",
            "20",
            "-m",
            "500",
            "-l",
            "10240",
            "-f",
            "load@source.test",
            "-t",
            "x@contoso.com",
        ])
        .arg(format!("127.0.0.1:{}", relay.addr.port()))
        .output()
        .unwrap();
    let elapsed = started.elapsed();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(spool_ids(spool.path()).len(), 500);
    eprintln!(
        "500 x 10 KB over 20 sessions into the durable spool (debug build): {:.0} msg/s",
        500.0 / elapsed.as_secs_f64()
    );
    assert!(relay.stop().success());
}

/// kill -9 leaves the page cache intact, so it cannot show that data reaches the disk before the
/// `250`. strace can: the message is written to a new file in messages/ (`O_EXCL`, never through a
/// link), its data then messages/ (its directory entry) are synced, then its record (the commit) is
/// appended to the journal and that file synced, and only then does the 250 go out.
#[test]
fn acknowledgement_follows_the_data_sync_and_the_journal_sync() {
    if !require("strace") || !require("swaks") {
        return;
    }
    let spool = tempfile::tempdir().unwrap();
    let trace = spool.path().join("strace.out");
    let (mut child, ready) = spawn_listening(
        Command::new("strace")
            .args([
                "-f",
                "-e",
                "trace=fsync,fdatasync,rename,renameat,renameat2,sendto,write,openat",
                "-s",
                "256",
                "-o",
            ])
            .arg(&trace)
            .arg(mailpath_tests::mailpath_bin())
            .args([
                "relay",
                "--listen",
                "127.0.0.1:0",
                "--no-tls",
                "--format",
                "json",
                "--spool",
            ])
            .arg(spool.path().join("s"))
            .stderr(Stdio::null()),
    );
    let port = ready["address"]
        .as_str()
        .unwrap()
        .rsplit(':')
        .next()
        .unwrap()
        .to_string();
    let out = Command::new("swaks")
        .args(["--server", "127.0.0.1", "--port", &port, "--to", "a@contoso.com"])
        .output()
        .unwrap();
    assert!(out.status.success());
    drop(child.stdin.take());
    let _ = child.wait();
    let calls = std::fs::read_to_string(&trace).unwrap();
    let lines: Vec<&str> = calls.lines().collect();
    let ack = lines
        .iter()
        .position(|l| l.contains("\"250 2.6.0 <"))
        .expect("the 250 reply in the trace");
    let id = lines[ack]
        .split("250 2.6.0 <")
        .nth(1)
        .and_then(|rest| rest.split('@').next())
        .unwrap()
        .to_string();
    let find = |needle: &str| {
        lines[..ack]
            .iter()
            .position(|l| l.contains(needle))
            .unwrap_or_else(|| panic!("{needle:?} before the 250 in:\n{calls}"))
    };
    // The descriptor a successful openat returned.
    let fd_of = |at: usize| -> String {
        let result = lines[at]
            .rsplit_once("= ")
            .map(|(_, fd)| fd.trim().to_string())
            .unwrap_or_default();
        assert!(result.parse::<u32>().is_ok(), "openat failed: {}", lines[at]);
        result
    };
    let pid_of = |at: usize| lines[at].split_whitespace().next().unwrap_or_default();
    // Where the sync of `fd` completed (`= 0`), looking from `after`.
    let synced = |fd: &str, after: usize| -> usize {
        let start = (after..ack)
            .find(|&i| {
                lines[i].contains(&format!("fdatasync({fd}")) || lines[i].contains(&format!("fsync({fd}"))
            })
            .unwrap_or_else(|| panic!("no sync of fd {fd} before the 250 in:\n{calls}"));
        if lines[start].ends_with("= 0") {
            return start;
        }
        (start + 1..ack)
            .find(|&i| {
                pid_of(i) == pid_of(start) && lines[i].contains("resumed>") && lines[i].ends_with("= 0")
            })
            .unwrap_or_else(|| panic!("the sync of fd {fd} did not complete before the 250:\n{calls}"))
    };
    let eml_open = find(&format!(
        "messages/{id}.eml\", O_WRONLY|O_CREAT|O_EXCL|O_NOFOLLOW"
    ));
    assert!(lines[eml_open].contains(", 0600)"), "{}", lines[eml_open]);
    // A batch of one message: its file synced, then messages/ (a batch under load is made durable
    // by one syncfs instead, see core's spool tests).
    let eml_synced = synced(&fd_of(eml_open), eml_open);
    let dir_open = (eml_synced..ack)
        .find(|&i| lines[i].contains("/messages\", O_RDONLY"))
        .unwrap_or_else(|| panic!("messages/ opened for its sync after the message's sync:\n{calls}"));
    let dir_synced = synced(&fd_of(dir_open), dir_open);
    // The record: a write of a line holding the id to a journal file, then that file synced.
    let journal_open = find("/journal/");
    assert!(
        lines[journal_open].contains("O_EXCL|O_NOFOLLOW") && lines[journal_open].contains(", 0600)"),
        "{}",
        lines[journal_open]
    );
    let journal_fd = fd_of(journal_open);
    let record = (dir_synced..ack)
        .find(|&i| {
            lines[i].contains(&format!("write({journal_fd}, \"{{\\\"schema\\\"")) && lines[i].contains(&id)
        })
        .unwrap_or_else(|| {
            panic!("no journal record for {id} after messages/ was synced, before the 250:\n{calls}")
        });
    synced(&journal_fd, record);
}
