//! Everything the GUI does that waits: loading profiles, starting the lab, running a diagnosis, file
//! dialogs, reading and writing files. It all runs on the tokio runtime (never on the UI thread); results
//! come back as [`WorkerEvent`]s over one bounded channel, and each send calls the waker, which asks egui
//! for a repaint. The UI drains the channel once per frame with [`Worker::try_recv`].

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context as _;
use eframe::egui;
use mailpath_core::bounded::{self, Limit};
use mailpath_core::diagnose::{DiagnoseOptions, Diagnosis, Progress, diagnose, trust_for};
use mailpath_core::exchange::Export;
use mailpath_core::exchange::import::{Setting, annotated_toml, load_profile};
use mailpath_core::lab::Lab;
use mailpath_core::profile::Profile;
use mailpath_core::relay::client::{self, ClientOptions, RcptOutcome, TlsPolicy};
use mailpath_core::relay::{Relay, RelayConfig, RelayEvent};
use mailpath_core::report;
use tokio::runtime::Handle;
use tokio::sync::{mpsc, oneshot, watch};

use crate::cli::Target;
use crate::cmd::diagnose::load_target;

/// Wakes the UI: called after every event sent. The GUI passes `ctx.request_repaint()`.
pub type Waker = Arc<dyn Fn() + Send + Sync>;

/// How many events may wait for the UI before senders wait (back-pressure, never unbounded).
const EVENT_CAPACITY: usize = 256;
/// How many progress events the diagnosis may queue before it waits for the forwarder.
const PROGRESS_CAPACITY: usize = 64;
/// How many relay events may wait for the forwarder; the relay drops (and counts) what does not fit.
const RELAY_EVENT_CAPACITY: usize = 1024;

/// What the worker tells the UI.
#[derive(Debug)]
pub enum WorkerEvent {
    /// A profile (from a file or a freshly started lab) is ready.
    Loaded(Box<Loaded>),
    /// A saved diagnosis (JSON) was opened.
    DiagnosisOpened {
        /// The file.
        path: PathBuf,
        /// The diagnosis.
        diagnosis: Box<Diagnosis>,
    },
    /// Loading failed.
    LoadFailed {
        /// What was being opened (a path or `lab SCENARIO`).
        what: String,
        /// Why, with causes.
        error: String,
    },
    /// The running diagnosis made progress.
    Progress {
        /// Which run.
        run: u64,
        /// The event.
        progress: Progress,
    },
    /// A diagnosis finished (possibly cancelled).
    Finished {
        /// Which run.
        run: u64,
        /// The result.
        diagnosis: Box<Diagnosis>,
    },
    /// A diagnosis could not start.
    RunFailed {
        /// Which run.
        run: u64,
        /// Why.
        error: String,
    },
    /// A file dialog closed.
    Picked {
        /// What the dialog was for.
        purpose: Pick,
        /// The chosen file, or `None` when cancelled.
        path: Option<PathBuf>,
    },
    /// A file was written.
    Saved {
        /// What was written.
        what: String,
        /// The file.
        path: PathBuf,
        /// `Err` with the reason when writing failed.
        result: Result<(), String>,
    },
    /// Something the running relay did.
    Relay {
        /// Which start of the relay.
        run: u64,
        /// The event.
        event: Box<RelayEvent>,
    },
    /// The relay could not start (bad configuration, port in use, spool not writable).
    RelayFailed {
        /// Which start of the relay.
        run: u64,
        /// Why, with causes.
        error: String,
    },
    /// The relay stopped (asked to, or the UI went away).
    RelayStopped {
        /// Which start of the relay.
        run: u64,
        /// Events the relay dropped because the UI did not keep up.
        dropped: u64,
    },
    /// A test message was sent (or could not be).
    TestSent(Box<Result<TestSend, String>>),
    /// A full TLS scan of one endpoint finished.
    TlsScanned {
        /// The SMTP probe's evidence id.
        id: String,
        /// What it saw.
        scan: Box<mailpath_core::tls_scan::TlsScan>,
    },
    /// A headers file was read.
    HeadersRead {
        /// The file.
        path: PathBuf,
        /// Its text (lossy UTF-8), or why it could not be read.
        result: Result<String, String>,
    },
}

/// What the GUI asks of a test message (`mailpath relay send`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestSendRequest {
    /// `host:port` to hand it to.
    pub via: String,
    /// The envelope sender and From.
    pub from: String,
    /// The recipient.
    pub to: String,
    /// Require STARTTLS (otherwise: when offered).
    pub tls: bool,
}

/// The result of a test message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestSend {
    /// The `X-Mailpath-Tracking` id.
    pub tracking_id: String,
    /// Where it went.
    pub via: String,
    /// The recipient.
    pub to: String,
    /// `version cipher` when TLS was used.
    pub tls: Option<String>,
    /// Whether the recipient was accepted.
    pub delivered: bool,
    /// The server's last word on the recipient.
    pub reply: String,
    /// Milliseconds the session took.
    pub ms: u64,
}

/// A loaded profile with everything the GUI shows about where it came from.
#[derive(Debug)]
pub struct Loaded {
    /// Where it came from.
    pub source: Source,
    /// The profile.
    pub profile: Profile,
    /// The profile file (for a lab: the generated profile in the lab's state directory).
    pub path: PathBuf,
    /// The file's text, for the profile editor.
    pub text: String,
    /// The lab, when one was started; it serves until dropped or shut down.
    pub lab: Option<Lab>,
    /// The Exchange export the profile was built from or imports (audited by the run).
    pub export: Option<Arc<Export>>,
    /// Where each profile value came from, for an imported profile.
    pub settings: Vec<Setting>,
}

/// Where the current profile came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A profile file.
    File(PathBuf),
    /// A scenario of the embedded lab.
    Lab(String),
}

impl Source {
    /// Words for the top bar and messages.
    pub fn describe(&self) -> String {
        match self {
            Source::File(path) => path.display().to_string(),
            Source::Lab(name) => format!("lab: {name}"),
        }
    }
}

/// What a file dialog is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pick {
    /// Open a profile (TOML) or a saved diagnosis (JSON).
    Open,
    /// Where to export the diagnosis as JSON.
    Export,
    /// Where to save the edited profile.
    SaveProfile,
    /// A message's headers to analyse.
    Headers,
}

/// The UI's handle on background work.
pub struct Worker {
    handle: Handle,
    tx: mpsc::Sender<WorkerEvent>,
    rx: mpsc::Receiver<WorkerEvent>,
    waker: Waker,
    cancel: Option<watch::Sender<bool>>,
    run: u64,
    relay_stop: Option<oneshot::Sender<()>>,
    relay_run: u64,
}

impl Worker {
    /// A worker spawning on `handle` and waking the UI with `waker`.
    pub fn new(handle: Handle, waker: Waker) -> Self {
        let (tx, rx) = mpsc::channel(EVENT_CAPACITY);
        Worker {
            handle,
            tx,
            rx,
            waker,
            cancel: None,
            run: 0,
            relay_stop: None,
            relay_run: 0,
        }
    }

    /// A waker that repaints `ctx`.
    pub fn repaint_waker(ctx: &egui::Context) -> Waker {
        let ctx = ctx.clone();
        Arc::new(move || ctx.request_repaint())
    }

    /// The next event, if one is waiting. Never blocks.
    pub fn try_recv(&mut self) -> Option<WorkerEvent> {
        self.rx.try_recv().ok()
    }

    /// The id of the latest run (events of older runs are stale).
    pub fn current_run(&self) -> u64 {
        self.run
    }

    /// The runtime handle (to shut a lab down off the UI thread).
    pub fn handle(&self) -> &Handle {
        &self.handle
    }

    fn sender(&self) -> EventSender {
        EventSender {
            tx: self.tx.clone(),
            waker: Arc::clone(&self.waker),
        }
    }

    /// Open a profile file, an Exchange configuration export, or a saved diagnosis (another `.json`).
    pub fn open_file(&self, path: PathBuf) {
        let out = self.sender();
        self.handle.spawn(async move {
            let is_json = path.extension().is_some_and(|e| e.eq_ignore_ascii_case("json"));
            let is_export = is_json && is_export(&path).await;
            let event = if is_json && !is_export {
                match read_diagnosis(path.clone()).await {
                    Ok(diagnosis) => WorkerEvent::DiagnosisOpened {
                        path,
                        diagnosis: Box::new(diagnosis),
                    },
                    Err(e) => WorkerEvent::LoadFailed {
                        what: path.display().to_string(),
                        error: format!("{e:#}"),
                    },
                }
            } else {
                let target = Target {
                    profile: Some(path.clone()),
                    lab: None,
                };
                match load(&target, Source::File(path.clone()), path.clone()).await {
                    Ok(loaded) => WorkerEvent::Loaded(Box::new(loaded)),
                    Err(e) => WorkerEvent::LoadFailed {
                        what: path.display().to_string(),
                        error: format!("{e:#}"),
                    },
                }
            };
            out.send(event).await;
        });
    }

    /// Start the lab scenario `name` and load its profile.
    pub fn open_lab(&self, name: String) {
        let out = self.sender();
        self.handle.spawn(async move {
            let target = Target {
                profile: None,
                lab: Some(name.clone()),
            };
            let event = match load_lab(&target, &name).await {
                Ok(loaded) => WorkerEvent::Loaded(Box::new(loaded)),
                Err(e) => WorkerEvent::LoadFailed {
                    what: format!("lab {name}"),
                    error: format!("{e:#}"),
                },
            };
            out.send(event).await;
        });
    }

    /// Run a diagnosis of `profile` (with the configuration audit of `export`, when given); returns
    /// its run id. Cancels the one running, if any.
    pub fn start_run(&mut self, profile: Profile, export: Option<Arc<Export>>) -> u64 {
        self.cancel();
        self.run += 1;
        let run = self.run;
        let (cancel_tx, cancel_rx) = watch::channel(false);
        self.cancel = Some(cancel_tx);
        let out = self.sender();
        self.handle.spawn(async move {
            let trust = {
                let profile = profile.clone();
                tokio::task::spawn_blocking(move || trust_for(&profile)).await
            };
            let trust = match trust {
                Ok(Ok(trust)) => trust,
                Ok(Err(e)) => {
                    let error = format!("could not load the trust anchors of the profile: {e}");
                    out.send(WorkerEvent::RunFailed { run, error }).await;
                    return;
                }
                Err(e) => {
                    out.send(WorkerEvent::RunFailed {
                        run,
                        error: format!("trust loader: {e}"),
                    })
                    .await;
                    return;
                }
            };
            let (ptx, mut prx) = mpsc::channel(PROGRESS_CAPACITY);
            let mut options = DiagnoseOptions::new(trust);
            options.export = export;
            options.progress = Some(ptx);
            options.cancel = Some(cancel_rx);
            let forward = {
                let out = out.clone();
                tokio::spawn(async move {
                    while let Some(progress) = prx.recv().await {
                        out.send(WorkerEvent::Progress { run, progress }).await;
                    }
                })
            };
            let diagnosis = diagnose(&profile, options).await;
            // The progress sender went with the options: the forwarder ends once it has sent everything.
            let _ = forward.await;
            out.send(WorkerEvent::Finished {
                run,
                diagnosis: Box::new(diagnosis),
            })
            .await;
        });
        run
    }

    /// Ask the running diagnosis to stop; it then finishes with `cancelled: true`.
    pub fn cancel(&mut self) {
        if let Some(cancel) = self.cancel.take() {
            let _ = cancel.send(true);
        }
    }

    /// Show a file dialog (on a blocking thread of the runtime).
    pub fn pick(&self, purpose: Pick, suggested: Option<PathBuf>) {
        let out = self.sender();
        self.handle.spawn(async move {
            let path = tokio::task::spawn_blocking(move || dialog(purpose, suggested))
                .await
                .ok()
                .flatten();
            out.send(WorkerEvent::Picked { purpose, path }).await;
        });
    }

    /// Write `contents` to `path`.
    pub fn write_file(&self, what: String, path: PathBuf, contents: Vec<u8>) {
        let out = self.sender();
        self.handle.spawn(async move {
            let result = tokio::fs::write(&path, contents)
                .await
                .map_err(|e| format!("could not write {}: {e}", path.display()));
            out.send(WorkerEvent::Saved { what, path, result }).await;
        });
    }

    /// Render `diagnosis` as a report in `format` (redacted when asked) and write it to `path`, off the UI
    /// thread: rendering a large diagnosis takes tens of milliseconds.
    pub fn export_report(
        &self,
        diagnosis: Arc<Diagnosis>,
        path: PathBuf,
        format: report::Format,
        redact: bool,
        ran_here: bool,
    ) {
        let out = self.sender();
        let what = format!(
            "{} report{}",
            match format {
                report::Format::Html => "HTML",
                report::Format::Json => "JSON",
                report::Format::Markdown => "Markdown",
            },
            if redact { " (redacted)" } else { "" }
        );
        self.handle.spawn(async move {
            let rendered = tokio::task::spawn_blocking(move || {
                // The workstation the GUI runs on ran the diagnosis, unless it was opened from a file.
                let options = report::ReportOptions {
                    redact,
                    ran_on: ran_here.then(crate::cmd::report::this_host).flatten(),
                };
                report::Report::new(&diagnosis, &options).and_then(|r| r.render(format))
            })
            .await;
            let result = match rendered {
                Ok(Ok(text)) => tokio::fs::write(&path, text)
                    .await
                    .map_err(|e| format!("could not write {}: {e}", path.display())),
                Ok(Err(e)) => Err(e.to_string()),
                Err(e) => Err(format!("the report could not be rendered: {e}")),
            };
            out.send(WorkerEvent::Saved { what, path, result }).await;
        });
    }

    /// Encode `image` as PNG and write it to `path`.
    pub fn save_png(&self, image: Arc<egui::ColorImage>, path: PathBuf) {
        let out = self.sender();
        self.handle.spawn(async move {
            let target = path.clone();
            let result = tokio::task::spawn_blocking(move || write_png(&image, &target))
                .await
                .map_err(|e| e.to_string())
                .and_then(|r| r.map_err(|e| format!("{e:#}")));
            out.send(WorkerEvent::Saved {
                what: "screenshot".into(),
                path,
                result,
            })
            .await;
        });
    }
}

impl Worker {
    /// The id of the latest relay start (events of older ones are stale).
    pub fn current_relay_run(&self) -> u64 {
        self.relay_run
    }

    /// Start the relay; returns the id of this start. Its events come back as
    /// [`WorkerEvent::Relay`], then [`WorkerEvent::RelayStopped`] after [`Worker::stop_relay`] (or
    /// [`WorkerEvent::RelayFailed`] when it could not start). Stops the running one first.
    pub fn start_relay(&mut self, config: RelayConfig, client_ca: Option<PathBuf>) -> u64 {
        self.stop_relay();
        self.relay_run += 1;
        let run = self.relay_run;
        let (stop_tx, stop_rx) = oneshot::channel();
        self.relay_stop = Some(stop_tx);
        let out = self.sender();
        self.handle
            .spawn(serve_relay(run, config, client_ca, stop_rx, out));
        run
    }

    /// Ask the running relay to stop (it finishes its sessions' shutdown on the runtime).
    pub fn stop_relay(&mut self) {
        if let Some(stop) = self.relay_stop.take() {
            let _ = stop.send(());
        }
    }

    /// Send a test message like `mailpath relay send`.
    pub fn send_test(&self, request: TestSendRequest) {
        let out = self.sender();
        self.handle.spawn(async move {
            let result = send_test(request).await;
            out.send(WorkerEvent::TestSent(Box::new(result))).await;
        });
    }

    /// Run a full TLS scan of the endpoint `probe` observed (sequential and capped, like
    /// `--tls-scan full`); the result comes back as [`WorkerEvent::TlsScanned`].
    pub fn full_tls_scan(
        &self,
        probe: &mailpath_core::evidence::SmtpProbe,
        timeouts: mailpath_core::probe::Timeouts,
    ) {
        use mailpath_core::tls_scan::{ScanMode, ScanOptions, ScanTarget, Transport};
        let out = self.sender();
        let target = ScanTarget {
            host: probe.host.clone(),
            port: probe.port,
            addresses: probe.addresses.clone(),
            sni: probe.tls.as_ref().and_then(|t| t.sni.clone()),
            helo: probe.helo.clone(),
            transport: Transport::StarttlsSmtp,
            timeouts,
        };
        let id = probe.id.clone();
        self.handle.spawn(async move {
            let scan = mailpath_core::tls_scan::scan(&target, &ScanOptions::new(ScanMode::Full)).await;
            out.send(WorkerEvent::TlsScanned {
                id,
                scan: Box::new(scan),
            })
            .await;
        });
    }

    /// Read a headers file (bounded).
    pub fn read_headers(&self, path: PathBuf) {
        let out = self.sender();
        self.handle.spawn(async move {
            let result = read_file(&path, |p| bounded::read_start(p, Limit::MESSAGE))
                .await
                .map(|(bytes, _)| String::from_utf8_lossy(&bytes).into_owned())
                .map_err(|e| format!("could not read {}: {e}", path.display()));
            out.send(WorkerEvent::HeadersRead { path, result }).await;
        });
    }
}

/// A file read with the core's size cap ([`bounded`]), off the runtime's threads.
async fn read_file<T: Send + 'static>(
    path: &std::path::Path,
    read: impl FnOnce(&std::path::Path) -> Result<T, bounded::ReadError> + Send + 'static,
) -> std::io::Result<T> {
    let path = path.to_path_buf();
    match tokio::task::spawn_blocking(move || read(&path)).await {
        Ok(result) => result.map_err(std::io::Error::from),
        Err(e) => Err(std::io::Error::other(e)),
    }
}

/// Run the relay until `stop` fires (or its sender is dropped), forwarding its events to the UI.
async fn serve_relay(
    run: u64,
    mut config: RelayConfig,
    client_ca: Option<PathBuf>,
    mut stop: oneshot::Receiver<()>,
    out: EventSender,
) {
    if let Some(path) = client_ca {
        let loaded = tokio::task::spawn_blocking(move || mailpath_core::cert::load_chain_file(&path))
            .await
            .map_err(|e| e.to_string())
            .and_then(|r| r.map_err(|e| format!("client CA: {e}")));
        match loaded {
            Ok(roots) => config.client_roots = Some(roots),
            Err(error) => {
                out.send(WorkerEvent::RelayFailed { run, error }).await;
                return;
            }
        }
    }
    let (tx, mut rx) = mpsc::channel(RELAY_EVENT_CAPACITY);
    let relay = match Relay::start(config, Some(tx)).await {
        Ok(relay) => relay,
        Err(e) => {
            let error = format!("{:#}", anyhow::Error::from(e));
            out.send(WorkerEvent::RelayFailed { run, error }).await;
            return;
        }
    };
    loop {
        tokio::select! {
            _ = &mut stop => break,
            event = rx.recv() => match event {
                Some(event) => out.send(WorkerEvent::Relay { run, event: Box::new(event) }).await,
                None => break,
            },
        }
    }
    let dropped = relay.dropped_events();
    relay.shutdown().await;
    // What the sessions said while closing.
    while let Ok(event) = rx.try_recv() {
        out.send(WorkerEvent::Relay {
            run,
            event: Box::new(event),
        })
        .await;
    }
    out.send(WorkerEvent::RelayStopped { run, dropped }).await;
}

async fn send_test(request: TestSendRequest) -> Result<TestSend, String> {
    let (host, port) = crate::cmd::relay::host_port(request.via.trim()).map_err(|e| format!("{e:#}"))?;
    let to = request.to.trim().to_string();
    let from = request.from.trim().to_string();
    if to.is_empty() || !to.contains('@') {
        return Err(format!("{to:?} is not a recipient address"));
    }
    let options = ClientOptions {
        helo: "mailpath-gui.local".into(),
        tls: if request.tls {
            TlsPolicy::Required
        } else {
            TlsPolicy::Opportunistic
        },
        tls_name: None,
        roots: Vec::new(),
        client_cert: None,
        timeouts: client::Timeouts {
            connect: std::time::Duration::from_secs(15),
            command: std::time::Duration::from_secs(30),
            data: std::time::Duration::from_secs(60),
        },
    };
    let tracking_id = client::new_tracking_id();
    let subject = format!("mailpath test {tracking_id}");
    let message = client::test_message(&from, &to, &subject, &tracking_id, &[]);
    let outcome = client::send(&host, port, &options, &from, std::slice::from_ref(&to), &message).await;
    let (delivered, reply) = match outcome.recipients.first().map(|(_, o)| o) {
        Some(RcptOutcome::Delivered(r)) => (true, r.clone()),
        Some(RcptOutcome::Failed(r) | RcptOutcome::Deferred(r)) => (false, r.clone()),
        None => (false, "no result".to_string()),
    };
    Ok(TestSend {
        tracking_id,
        via: format!("{host}:{port}"),
        to,
        tls: outcome.tls,
        delivered,
        reply,
        ms: outcome.ms,
    })
}

impl Drop for Worker {
    fn drop(&mut self) {
        self.cancel();
        self.stop_relay();
    }
}

/// A clone of the event sender plus the waker: send, then wake.
#[derive(Clone)]
struct EventSender {
    tx: mpsc::Sender<WorkerEvent>,
    waker: Waker,
}

impl EventSender {
    async fn send(&self, event: WorkerEvent) {
        // The UI may be gone (window closed): then nobody listens, and that is fine.
        if self.tx.send(event).await.is_ok() {
            (self.waker)();
        }
    }
}

async fn load(target: &Target, source: Source, path: PathBuf) -> anyhow::Result<Loaded> {
    let Some(file) = target.profile.clone() else {
        anyhow::bail!("no profile to open")
    };
    let loaded = tokio::task::spawn_blocking(move || load_profile(&file))
        .await
        .context("the profile loader stopped")?
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let text = if is_export(&path).await {
        // An export opens as the profile built from it, each value with where it came from.
        let export = loaded.export.as_deref().cloned().unwrap_or_default();
        let imported = mailpath_core::exchange::import::profile_from_export(&export);
        annotated_toml(&imported, &export)?
    } else {
        read_file(&path, |p| bounded::read_to_string(p, Limit::PROFILE))
            .await
            .with_context(|| format!("could not read {}", path.display()))?
    };
    Ok(Loaded {
        source,
        profile: loaded.profile,
        path,
        text,
        lab: None,
        export: loaded.export,
        settings: loaded.settings,
    })
}

/// Whether the file at `path` is an Exchange configuration export (by its first bytes).
async fn is_export(path: &std::path::Path) -> bool {
    use tokio::io::AsyncReadExt as _;
    let Ok(mut file) = tokio::fs::File::open(path).await else {
        return false;
    };
    let mut head = vec![0u8; 4096];
    let Ok(n) = file.read(&mut head).await else {
        return false;
    };
    mailpath_core::exchange::looks_like_export(&head[..n])
}

async fn load_lab(target: &Target, name: &str) -> anyhow::Result<Loaded> {
    let loaded = load_target(target, mailpath_core::lab::LabOptions::default()).await?;
    let Some(lab) = loaded.lab else {
        anyhow::bail!("the lab did not start")
    };
    let path = lab.info().profile_file.clone();
    let text = read_file(&path, |p| bounded::read_to_string(p, Limit::PROFILE))
        .await
        .with_context(|| format!("could not read the lab profile {}", path.display()))?;
    Ok(Loaded {
        source: Source::Lab(name.to_string()),
        profile: loaded.profile,
        path,
        text,
        lab: Some(lab),
        export: loaded.export,
        settings: Vec::new(),
    })
}

async fn read_diagnosis(path: PathBuf) -> anyhow::Result<Diagnosis> {
    let text = read_file(&path, |p| bounded::read_to_string(p, Limit::DIAGNOSIS))
        .await
        .with_context(|| format!("could not read {}", path.display()))?;
    let diagnosis: Diagnosis = serde_json::from_str(&text)
        .with_context(|| format!("{} is not a mailpath diagnosis", path.display()))?;
    if diagnosis.schema != mailpath_core::diagnose::SCHEMA {
        anyhow::bail!(
            "{} has schema {:?}; this mailpath reads {:?}",
            path.display(),
            diagnosis.schema,
            mailpath_core::diagnose::SCHEMA
        );
    }
    Ok(diagnosis)
}

fn dialog(purpose: Pick, suggested: Option<PathBuf>) -> Option<PathBuf> {
    let mut dialog = rfd::FileDialog::new();
    if let Some(dir) = suggested
        .as_deref()
        .and_then(|p| p.parent())
        .filter(|d| d.is_dir())
    {
        dialog = dialog.set_directory(dir);
    }
    if let Some(name) = suggested
        .as_deref()
        .and_then(|p| p.file_name())
        .and_then(|n| n.to_str())
    {
        dialog = dialog.set_file_name(name);
    }
    match purpose {
        Pick::Open => dialog
            .set_title("Open a profile, an Exchange export or a saved diagnosis")
            .add_filter("Profiles, exports and diagnoses", &["toml", "json"])
            .add_filter("All files", &["*"])
            .pick_file(),
        Pick::Export => dialog
            .set_title("Export a report")
            .add_filter("HTML report", &["html", "htm"])
            .add_filter("Markdown", &["md"])
            .add_filter("JSON (the whole diagnosis)", &["json"])
            .save_file(),
        Pick::SaveProfile => dialog
            .set_title("Save the profile")
            .add_filter("TOML", &["toml"])
            .save_file(),
        Pick::Headers => dialog
            .set_title("Open a message or its headers")
            .add_filter("Messages and headers", &["eml", "txt", "msg"])
            .add_filter("All files", &["*"])
            .pick_file(),
    }
}

/// Write an egui image as a PNG file.
///
/// # Errors
/// When the image has no pixels or the file cannot be written.
pub fn write_png(image: &egui::ColorImage, path: &std::path::Path) -> anyhow::Result<()> {
    let [w, h] = image.size;
    let width = u32::try_from(w).context("image too wide")?;
    let height = u32::try_from(h).context("image too tall")?;
    let bytes: Vec<u8> = image
        .pixels
        .iter()
        .flat_map(|c| c.to_srgba_unmultiplied())
        .collect();
    let buffer = image::RgbaImage::from_raw(width, height, bytes).context("the screenshot has no pixels")?;
    buffer
        .save(path)
        .with_context(|| format!("could not write {}", path.display()))
}
