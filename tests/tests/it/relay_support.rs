//! Shared by the relay_* tests: a `mailpath relay` child process that prints its events as JSON
//! lines, collected by a reader thread.
#![allow(dead_code)]

use std::io::{BufRead as _, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use mailpath_tests::mailpath;
use serde_json::Value;

/// A running `mailpath relay --format json`.
pub struct RelayProcess {
    child: Child,
    stdin: Option<ChildStdin>,
    events: Arc<Mutex<Vec<Value>>>,
    /// The `listening` event.
    pub listening: Value,
    /// Where it listens.
    pub addr: SocketAddr,
    /// Its spool.
    pub spool: PathBuf,
    /// The generated CA file, when TLS is on.
    pub ca_file: Option<PathBuf>,
}

impl RelayProcess {
    /// Start on 127.0.0.1 (a free port) with `spool` and the `extra` arguments; wait for `listening`.
    pub fn start(spool: &Path, extra: &[&str]) -> RelayProcess {
        RelayProcess::start_with_env(spool, extra, &[])
    }

    /// [`RelayProcess::start`] with these environment variables set.
    pub fn start_with_env(spool: &Path, extra: &[&str], env: &[(&str, &std::ffi::OsStr)]) -> RelayProcess {
        let mut child = mailpath()
            .args(["relay", "--listen", "127.0.0.1:0", "--format", "json", "--spool"])
            .arg(spool)
            .args(extra)
            .envs(env.iter().copied())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn mailpath relay");
        let stdout = child.stdout.take().expect("piped stdout");
        let events = Arc::new(Mutex::new(Vec::new()));
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        {
            let events = Arc::clone(&events);
            std::thread::spawn(move || {
                let mut ready = Some(ready_tx);
                for line in BufReader::new(stdout).lines() {
                    let Ok(line) = line else { break };
                    let value: Value = serde_json::from_str(&line)
                        .unwrap_or_else(|e| panic!("relay printed {line:?}, not JSON: {e}"));
                    if value["event"] == "listening"
                        && let Some(tx) = ready.take()
                    {
                        let _ = tx.send(value.clone());
                    }
                    events.lock().expect("event lock").push(value);
                }
            });
        }
        let listening = ready_rx
            .recv_timeout(Duration::from_secs(60))
            .expect("the relay prints its listening event");
        let addr = listening["address"]
            .as_str()
            .and_then(|a| a.parse().ok())
            .expect("an address in the listening event");
        let ca_file = listening["ca_file"].as_str().map(PathBuf::from);
        let stdin = child.stdin.take();
        RelayProcess {
            child,
            stdin,
            events,
            listening,
            addr,
            spool: spool.to_path_buf(),
            ca_file,
        }
    }

    /// Every event so far.
    pub fn events(&self) -> Vec<Value> {
        self.events.lock().expect("event lock").clone()
    }

    /// Wait for an event matching `pred`.
    pub fn wait_for(&self, timeout: Duration, pred: impl Fn(&Value) -> bool) -> Option<Value> {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Some(v) = self.events().into_iter().find(|v| pred(v)) {
                return Some(v);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGKILL, no goodbye.
    pub fn kill9(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.stdin.take();
    }

    /// Close stdin and wait for a clean exit.
    pub fn stop(mut self) -> std::process::ExitStatus {
        self.stdin.take();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        self.child.wait().expect("wait")
    }
}

impl Drop for RelayProcess {
    fn drop(&mut self) {
        self.stdin.take();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Spawn `command`, a `mailpath relay --format json` (under a wrapper such as strace or prlimit),
/// with stdin and stdout piped; return it and its first line (the `listening` event).
pub fn spawn_listening(command: &mut Command) -> (Child, Value) {
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn mailpath relay");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("piped stdout"))
        .read_line(&mut line)
        .expect("the listening line");
    let listening = serde_json::from_str(&line).unwrap_or_else(|e| panic!("{line:?}: {e}"));
    (child, listening)
}

/// Ids of the complete messages (an `.eml` with its commit record) in a spool, read as a running
/// relay leaves it.
pub fn spool_ids(spool: &Path) -> Vec<String> {
    mailpath_core::relay::spool::scan(spool).into_keys().collect()
}

/// Every complete message's metadata, by id (the spool read once).
pub fn spool_metas(spool: &Path) -> std::collections::BTreeMap<String, Value> {
    mailpath_core::relay::spool::scan(spool)
        .into_iter()
        .map(|(id, meta)| (id, serde_json::to_value(meta).expect("metadata is JSON")))
        .collect()
}

/// A message's metadata.
pub fn spool_meta(spool: &Path, id: &str) -> Value {
    let meta = mailpath_core::relay::spool::scan(spool)
        .remove(id)
        .unwrap_or_else(|| panic!("no message {id} in {}", spool.display()));
    serde_json::to_value(meta).expect("metadata is JSON")
}
