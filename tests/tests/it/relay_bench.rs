//! Benchmark of the relay (release build): messages per second with Postfix's smtp-source
//! (20 sessions, 10 KB messages, 20000 messages) into the durable spool, against Postfix's smtp-sink
//! (no disk at all: the ceiling of the client and the loopback) in the same run; the memory of 1000
//! idle sessions; and the memory while 16 sessions each send 34 MiB without the final dot.
//!
//! Run: `cargo test -p mailpath-tests --release --test it relay_bench -- --ignored --nocapture`

use crate::{relay_data, relay_support};

use std::io::{BufRead as _, BufReader, Read as _};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use mailpath_tests::{require, workspace_root};
use relay_support::spool_ids;

const SESSIONS: &str = "20";
const SIZE: &str = "10240";
const MESSAGES: u32 = 20000;
const RUNS: usize = 3;
const IDLE: usize = 1000;

/// The release binary without the desktop app (the relay does not use it; building it in release
/// costs minutes).
fn release_bin() -> PathBuf {
    escargot::CargoBuild::new()
        .package("mailpath")
        .bin("mailpath")
        .no_default_features()
        .release()
        .manifest_path(workspace_root().join("Cargo.toml"))
        .run()
        .expect("build mailpath in release")
        .path()
        .to_path_buf()
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

fn smtp_source(port: u16, messages: u32) -> f64 {
    let started = Instant::now();
    let out = Command::new("smtp-source")
        .args(["-s", SESSIONS, "-l", SIZE, "-m", &messages.to_string()])
        .args(["-f", "bench@source.test", "-t", "x@contoso.com"])
        .arg(format!("127.0.0.1:{port}"))
        .output()
        .expect("run smtp-source");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    f64::from(messages) / started.elapsed().as_secs_f64()
}

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

struct Kill(Child);

impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_relay(bin: &Path, spool: &Path) -> (Kill, u16) {
    let mut child = Command::new(bin)
        .args(["relay", "--listen", "127.0.0.1:0", "--format", "json", "--quiet"])
        .args(["--max-sessions", "4096", "--spool"])
        .arg(spool)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start the relay");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("ready line");
    let ready: serde_json::Value = serde_json::from_str(&line).expect("JSON ready line");
    let port = ready["address"]
        .as_str()
        .and_then(|a| a.rsplit(':').next())
        .and_then(|p| p.parse().ok())
        .expect("port");
    (Kill(child), port)
}

/// A private Postfix instance (its own config, queue and port; discard transport) for comparison:
/// a real MTA with a durable queue. Needs root and the postfix user; stopped on drop.
struct Postfix {
    config: PathBuf,
    _dir: tempfile::TempDir,
    port: u16,
}

impl Postfix {
    fn start() -> Option<Postfix> {
        let root = Command::new("id").arg("-u").output().ok()?;
        if String::from_utf8_lossy(&root.stdout).trim() != "0" || !mailpath_tests::have("postfix") {
            return None;
        }
        let dir = tempfile::tempdir().ok()?;
        let base = dir.path();
        let config = base.join("etc");
        for sub in ["etc", "queue", "data"] {
            std::fs::create_dir_all(base.join(sub)).ok()?;
        }
        let port = free_port();
        let main = format!(
            "compatibility_level = 3.6\nqueue_directory = {q}\ndata_directory = {d}\nmeta_directory = {c}\n\
             command_directory = /usr/sbin\ndaemon_directory = /usr/lib/postfix/sbin\nshlib_directory = /usr/lib/postfix\n\
             mail_owner = postfix\nsetgid_group = postdrop\ninet_interfaces = 127.0.0.1\ninet_protocols = ipv4\n\
             myhostname = bench.mailpath.test\nmydestination =\nrelay_domains = contoso.com\n\
             default_transport = discard\nrelay_transport = discard\nlocal_transport = discard\n\
             mynetworks = 127.0.0.0/8\nsmtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination\n\
             maillog_file = {l}\nmaillog_file_prefixes = {b}\ndefault_process_limit = 200\n",
            q = base.join("queue").display(),
            d = base.join("data").display(),
            c = config.display(),
            l = base.join("maillog").display(),
            b = base.display(),
        );
        std::fs::write(config.join("main.cf"), main).ok()?;
        let master = std::fs::read_to_string("/usr/share/postfix/master.cf.dist").ok()?;
        let master = master.replace(
            "smtp      inet  n       -       y       -       -       smtpd",
            &format!("127.0.0.1:{port} inet n - n - - smtpd"),
        );
        std::fs::write(config.join("master.cf"), master).ok()?;
        for file in ["dynamicmaps.cf", "postfix-files"] {
            let _ = std::fs::copy(Path::new("/etc/postfix").join(file), config.join(file));
        }
        Command::new("chown")
            .arg("postfix")
            .arg(base.join("data"))
            .status()
            .ok()?;
        let started = Command::new("postfix")
            .arg("-c")
            .arg(&config)
            .arg("start")
            .status()
            .ok()?;
        let postfix = Postfix {
            config,
            _dir: dir,
            port,
        };
        if !started.success() {
            return None;
        }
        for _ in 0..50 {
            if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Some(postfix);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        None
    }
}

impl Drop for Postfix {
    fn drop(&mut self) {
        let _ = Command::new("postfix")
            .arg("-c")
            .arg(&self.config)
            .arg("stop")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

#[test]
#[ignore = "benchmark: cargo test -p mailpath-tests --release --test it relay_bench -- --ignored --nocapture"]
fn relay_throughput_and_idle_memory() {
    if !require("smtp-source") || !require("smtp-sink") {
        return;
    }
    let bin = release_bin();
    let spool = tempfile::tempdir().expect("spool dir");
    let (relay, port) = start_relay(&bin, spool.path());
    let pid = relay.0.id();
    let rss_start = rss_kib(pid);

    smtp_source(port, 200);
    let relay_rates: Vec<f64> = (0..RUNS).map(|_| smtp_source(port, MESSAGES)).collect();
    let spooled = spool_ids(spool.path()).len();
    assert_eq!(
        spooled,
        200 + RUNS * MESSAGES as usize,
        "every message is in the spool"
    );
    let rss_after_load = rss_kib(pid);

    // The ceiling: Postfix's smtp-sink (answers everything, keeps nothing).
    let sink_port = free_port();
    let _sink = Kill(
        Command::new("smtp-sink")
            // smtp-sink refuses to run as root without a user to switch to.
            .args(["-u", "nobody"])
            .arg(format!("127.0.0.1:{sink_port}"))
            .arg("1024")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start smtp-sink"),
    );
    std::thread::sleep(Duration::from_millis(300));
    smtp_source(sink_port, 200);
    let sink_rates: Vec<f64> = (0..RUNS).map(|_| smtp_source(sink_port, MESSAGES)).collect();

    // Postfix itself, with its durable queue (discarding after queueing).
    let postfix_rates: Option<Vec<f64>> = Postfix::start().map(|pf| {
        smtp_source(pf.port, 200);
        (0..RUNS).map(|_| smtp_source(pf.port, MESSAGES)).collect()
    });

    // 1000 idle sessions: connected, greeted, silent.
    let rss_before_idle = rss_kib(pid);
    let mut idle = Vec::with_capacity(IDLE);
    for _ in 0..IDLE {
        let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
        let mut banner = [0u8; 3];
        s.read_exact(&mut banner).expect("banner");
        assert_eq!(&banner, b"220");
        idle.push(s);
    }
    std::thread::sleep(Duration::from_millis(500));
    let rss_idle = rss_kib(pid);
    // Still serving while they sit there.
    let while_idle = smtp_source(port, 200);
    drop(idle);

    let r = median(relay_rates.clone());
    let k = median(sink_rates.clone());
    eprintln!("\nrelay benchmark: smtp-source -s {SESSIONS} -l {SIZE} -m {MESSAGES}, median of {RUNS}");
    eprintln!(
        "  mailpath relay (sink, durable spool): {r:>7.0} msg/s   runs {:?}",
        relay_rates.iter().map(|v| v.round()).collect::<Vec<_>>()
    );
    eprintln!(
        "  postfix smtp-sink (no disk):          {k:>7.0} msg/s   runs {:?}",
        sink_rates.iter().map(|v| v.round()).collect::<Vec<_>>()
    );
    match &postfix_rates {
        Some(rates) => eprintln!(
            "  postfix 3 (private instance, queue): {:>7.0} msg/s   runs {:?}",
            median(rates.clone()),
            rates.iter().map(|v| v.round()).collect::<Vec<_>>()
        ),
        None => eprintln!("  postfix itself: skipped (needs root and the postfix user)"),
    }
    eprintln!("  relay / smtp-sink: {:.0} %", r / k * 100.0);
    // Large messages, on a fresh relay (VmHWM is a peak over the process's life): memory stays bounded
    // while they stream to tmp/.
    drop(relay);
    let big_spool = tempfile::tempdir().expect("spool dir");
    let (big_relay, big_port) = start_relay(&bin, big_spool.path());
    let big = relay_data::big_messages(
        std::net::SocketAddr::from(([127, 0, 0, 1], big_port)),
        big_relay.0.id(),
        big_spool.path(),
    );
    eprintln!(
        "  {} sessions x {} MiB without the final dot: taken in (streamed to tmp/) in {:.1} s, relay VmHWM \
         {} KiB, VmRSS {} KiB; {} bytes left in tmp/ after the clients left",
        relay_data::BIG_SESSIONS,
        relay_data::BIG_SIZE >> 20,
        big.elapsed.as_secs_f64(),
        big.peak_kib,
        big.rss_kib,
        big.left_in_tmp
    );
    eprintln!("  relay with {IDLE} idle sessions open: {while_idle:.0} msg/s");
    eprintln!(
        "  RSS: start {rss_start} KiB, after {spooled} messages {rss_after_load} KiB, with {IDLE} idle \
         sessions {rss_idle} KiB (+{} KiB, {:.1} KiB per session)",
        rss_idle.saturating_sub(rss_before_idle),
        rss_idle.saturating_sub(rss_before_idle) as f64 / IDLE as f64
    );
}
