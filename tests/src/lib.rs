//! Helpers for the cross-crate integration tests: build and find the `mailpath` binary, run the
//! embedded lab as a child process, and run independent tools (dig, openssl, swaks) against it.
#![forbid(unsafe_code)]

use std::io::{BufRead as _, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde::Deserialize;

/// The `mailpath` binary of this workspace, built once per test process (debug profile).
///
/// # Panics
/// When the binary cannot be built.
pub fn mailpath_bin() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        // The same selection as `cargo test --workspace` (every package, its test targets, so that
        // dev-dependencies take part in feature unification): a nested `cargo build -p mailpath` would
        // resolve other features (serde_json, hashbrown, regex, ...) and build much of the tree a second
        // time on a cold target directory. After `cargo test --workspace` this finds everything fresh.
        let mut build = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
        build
            .args([
                "build",
                "--workspace",
                "--tests",
                "--bin",
                "mailpath",
                "--message-format=json",
            ])
            .arg("--manifest-path")
            .arg(workspace_root().join("Cargo.toml"))
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        // `cargo test` gives the test the package's variables (CARGO_PKG_NAME, CARGO_MANIFEST_DIR, ...). A
        // nested cargo that inherits them rebuilds ring and what depends on it (its build script tracks
        // them), and the next `cargo test` rebuilds everything back: drop them.
        for (key, _) in std::env::vars_os() {
            let key = key.to_string_lossy();
            let package_var = key.starts_with("CARGO_PKG_")
                || key.starts_with("CARGO_MANIFEST_")
                || key.starts_with("CARGO_BIN_")
                || matches!(
                    &*key,
                    "CARGO_CRATE_NAME"
                        | "CARGO_PRIMARY_PACKAGE"
                        | "CARGO_TARGET_TMPDIR"
                        | "CARGO_RUSTC_CURRENT_DIR"
                );
            if package_var {
                build.env_remove(&*key);
            }
        }
        let out = build.output().expect("run cargo build");
        assert!(out.status.success(), "cargo build of the mailpath binary failed");
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
            .filter(|m| {
                m["reason"] == "compiler-artifact"
                    && m["target"]["name"] == "mailpath"
                    && m["target"]["kind"] == serde_json::json!(["bin"])
                    && m["profile"]["test"] == false
            })
            .find_map(|m| m["executable"].as_str().map(PathBuf::from))
            .expect("cargo built the mailpath binary")
    })
}

/// The workspace's root directory.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

/// A `Command` for the mailpath binary.
pub fn mailpath() -> Command {
    let mut cmd = Command::new(mailpath_bin());
    cmd.env_remove("RUST_LOG");
    cmd
}

/// One endpoint, as `mailpath lab --format json` prints it.
#[derive(Debug, Clone, Deserialize)]
pub struct Endpoint {
    /// Its role (mailbox, edge-internal, edge-external, edge-sync, eop, legacy-mx).
    pub role: String,
    /// The host name it answers for.
    pub host: String,
    /// Where it listens.
    pub address: SocketAddr,
    /// The names on its certificate.
    pub tls_names: Vec<String>,
}

/// The line `mailpath lab --format json` prints once ready.
#[derive(Debug, Clone, Deserialize)]
pub struct LabInfo {
    /// The scenario.
    pub scenario: String,
    /// The lab DNS server.
    pub dns: SocketAddr,
    /// The lab root CA (PEM).
    pub ca_file: PathBuf,
    /// The generated profile.
    pub profile_file: PathBuf,
    /// The on-premises hybrid certificate chain (PEM), what the send connector presents to EOP.
    pub onprem_cert_file: PathBuf,
    /// Its private key (PEM).
    pub onprem_key_file: PathBuf,
    /// Every endpoint.
    pub endpoints: Vec<Endpoint>,
}

impl LabInfo {
    /// The endpoint with this role (the first one, when several share it).
    ///
    /// # Panics
    /// When the lab has no such endpoint.
    pub fn endpoint(&self, role: &str) -> &Endpoint {
        self.endpoints
            .iter()
            .find(|e| e.role == role)
            .unwrap_or_else(|| panic!("no {role} endpoint in {self:#?}"))
    }
}

/// A `mailpath lab` child process; closing its stdin (on drop) stops it.
pub struct LabProcess {
    child: Child,
    stdin: Option<ChildStdin>,
    /// What the lab printed when it became ready.
    pub info: LabInfo,
    /// The raw JSON line.
    pub line: String,
}

impl LabProcess {
    /// Start `mailpath lab SCENARIO --format json` plus `extra` arguments and wait until it is ready.
    ///
    /// # Panics
    /// When the lab does not start or prints something else than its JSON line.
    pub fn start(scenario: &str, extra: &[&str]) -> LabProcess {
        let mut child = mailpath()
            .args(["lab", scenario, "--format", "json"])
            .args(extra)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn mailpath lab");
        let stdout = child.stdout.take().expect("piped stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("read the lab's ready line");
        let info: LabInfo = serde_json::from_str(line.trim())
            .unwrap_or_else(|e| panic!("lab printed {line:?}, not its JSON line: {e}"));
        let stdin = child.stdin.take();
        LabProcess {
            child,
            stdin,
            info,
            line,
        }
    }

    /// Close stdin and wait for the lab to exit, returning how long that took and its status.
    ///
    /// # Panics
    /// When waiting fails.
    pub fn stop(mut self) -> (Duration, std::process::ExitStatus) {
        let started = Instant::now();
        self.stdin.take();
        let status = self.child.wait().expect("wait for the lab");
        (started.elapsed(), status)
    }

    /// The child's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for LabProcess {
    fn drop(&mut self) {
        self.stdin.take();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Whether an external tool is installed (the tests that need it skip, loudly, when it is not).
pub fn have(tool: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Skip the calling test when `tool` is missing, unless running in CI, where that is a failure.
///
/// # Panics
/// In CI (`CI` set) when the tool is missing: `.ci/run` installs every tool the tests use.
pub fn require(tool: &str) -> bool {
    if have(tool) {
        return true;
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "{tool} is not installed, but .ci/run should have installed it"
    );
    eprintln!("SKIPPED: {tool} is not installed");
    false
}

/// Debian's python3: the Python modules the tests use are Debian packages (python3-aiosmtpd,
/// python3-jsonschema), not in other Pythons that may come first on PATH.
pub const DEBIAN_PYTHON: &str = "/usr/bin/python3";

/// Skip the calling test when Debian's python3 cannot import `module` (Debian package `package`), unless
/// running in CI, where that is a failure. Python is asked once per module and test binary.
///
/// # Panics
/// In CI (`CI` set) when the module is missing: `.ci/run` installs every package the tests use.
pub fn require_python_module(module: &str, package: &str) -> bool {
    static KNOWN: std::sync::Mutex<Vec<(String, bool)>> = std::sync::Mutex::new(Vec::new());
    let known = KNOWN
        .lock()
        .ok()
        .and_then(|k| k.iter().find(|(m, _)| m == module).map(|(_, ok)| *ok));
    let ok = known.unwrap_or_else(|| {
        let ok = Command::new(DEBIAN_PYTHON)
            .args(["-c", &format!("import {module}")])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if let Ok(mut k) = KNOWN.lock() {
            k.push((module.to_string(), ok));
        }
        ok
    });
    if !ok {
        assert!(
            std::env::var_os("CI").is_none(),
            "{package} should be installed by .ci/run"
        );
        eprintln!("SKIPPED: {package} is not installed");
    }
    ok
}

/// Run a command with a deadline; kill it when the deadline passes. stdin is /dev/null.
///
/// # Panics
/// When the command cannot be started.
pub fn run_with_timeout(cmd: &mut Command, limit: Duration) -> (Output, Duration) {
    use std::io::Read as _;
    let started = Instant::now();
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("spawn {cmd:?}: {e}"));
    // Drain both pipes while waiting, so a chatty child never blocks on a full pipe.
    let mut out_pipe = child.stdout.take().expect("piped stdout");
    let mut err_pipe = child.stderr.take().expect("piped stderr");
    let out_reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = out_pipe.read_to_end(&mut buf);
        buf
    });
    let err_reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = err_pipe.read_to_end(&mut buf);
        buf
    });
    let status = loop {
        if let Some(status) = child.try_wait().expect("poll child") {
            break status;
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            break child.wait().expect("wait for the killed child");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let took = started.elapsed();
    let stdout = out_reader.join().unwrap_or_default();
    let stderr = err_reader.join().unwrap_or_default();
    (
        Output {
            status,
            stdout,
            stderr,
        },
        took,
    )
}

/// stdout and stderr of an `Output`, joined, lossily decoded.
pub fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// A self-signed certificate (P-256) for `subject` (`/CN=...`, UTF-8, any bytes) made by openssl in `dir`;
/// `None` (the test skips) when openssl is missing outside CI.
///
/// # Panics
/// When openssl fails.
pub fn self_signed_cert(dir: &Path, subject: &str) -> Option<PathBuf> {
    if !require("openssl") {
        return None;
    }
    let pem = dir.join("self-signed.pem");
    let status = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
        ])
        .args(["-days", "30", "-utf8", "-subj", subject, "-keyout"])
        .arg(dir.join("self-signed.key"))
        .arg("-out")
        .arg(&pem)
        .stderr(Stdio::null())
        .status()
        .expect("run openssl");
    assert!(status.success(), "openssl req -subj {subject:?} failed");
    Some(pem)
}

/// Every check with this id in a JSON diagnosis (or `cert`/`probe` output): `{"checks": [{"id": ...}]}`.
///
/// # Panics
/// When the document has no `checks` array.
pub fn checks_with_id<'a>(v: &'a serde_json::Value, id: &str) -> Vec<&'a serde_json::Value> {
    v["checks"]
        .as_array()
        .unwrap_or_else(|| panic!("no checks array in {v}"))
        .iter()
        .filter(|c| c["id"] == id)
        .collect()
}
