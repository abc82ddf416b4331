//! The eframe app: plain state ([`AppState`]), the intents the views send ([`Command`]), the top bar,
//! and the glue to the [`Worker`]. Views are functions over the state, one per file.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use eframe::egui::{self, Key, KeyboardShortcut, Modifiers, RichText};
use mailpath_core::check::{CheckResult, Status};
use mailpath_core::diagnose::{Diagnosis, Progress};
use mailpath_core::lab::{Lab, SCENARIOS};
use mailpath_core::profile::Profile;
use mailpath_core::report;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use tokio::runtime::Handle;

use super::headers_view::{self, HeadersState};
use super::relay_view::{self, RelaySelection, RelayState, RelayStatus};
use super::theme::{self, ThemeChoice};
use super::worker::{Loaded, Pick, Source, Worker, WorkerEvent};
use super::{checks_view, evidence_view, path_view, profile_view};

/// Open a profile.
pub const SHORTCUT_OPEN: KeyboardShortcut = KeyboardShortcut::new(Modifiers::COMMAND, Key::O);
/// Run the diagnosis.
pub const SHORTCUT_RUN: KeyboardShortcut = KeyboardShortcut::new(Modifiers::COMMAND, Key::R);
/// Most recent profiles remembered.
const MAX_RECENT: usize = 8;
/// The key of the persisted settings (eframe storage).
pub const STORAGE_KEY: &str = "mailpath-gui";

/// The views (tabs).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum View {
    /// The mail path diagram.
    #[default]
    Path,
    /// The table of every check.
    Checks,
    /// Transcripts, DNS answers and certificates.
    Evidence,
    /// The bundled relay: start it, watch sessions and messages arrive.
    Relay,
    /// The header analyser.
    Headers,
    /// The profile editor.
    Profile,
}

impl View {
    /// Every view, in tab order.
    pub const ALL: [View; 6] = [
        View::Path,
        View::Checks,
        View::Evidence,
        View::Relay,
        View::Headers,
        View::Profile,
    ];

    /// The tab's title.
    pub fn title(self) -> &'static str {
        match self {
            View::Path => "Path",
            View::Checks => "Checks",
            View::Evidence => "Evidence",
            View::Relay => "Relay",
            View::Headers => "Headers",
            View::Profile => "Profile",
        }
    }
}

/// What the detail panel shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selection {
    /// A node of the path, by id.
    Node(String),
    /// A hop of the path, by id.
    Hop(String),
    /// One check, by index in the diagnosis.
    Check(usize),
}

/// Intents from the views, handled once per frame by the app.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// Show the open-file dialog.
    OpenDialog,
    /// Open this profile (or saved diagnosis) file.
    OpenFile(PathBuf),
    /// Start this lab scenario and load its profile.
    OpenLab(String),
    /// Run the diagnosis of the current profile.
    Run,
    /// Cancel the running diagnosis.
    Cancel,
    /// Export the diagnosis (asks where).
    Export,
    /// Export the diagnosis to this file: HTML, Markdown or JSON by its extension (HTML without one).
    ExportTo(PathBuf),
    /// Redact exported reports (or not).
    SetRedact(bool),
    /// Switch views.
    SetView(View),
    /// Show a node, hop or check in the detail panel (`None` closes it).
    Select(Option<Selection>),
    /// Show this evidence id (`smtp:host:port`, `ldaps:...`, `dns:...`) in the Evidence view.
    ShowEvidence(String),
    /// Use the edited profile text as the current profile.
    ApplyProfileText,
    /// Save the edited profile to its file.
    SaveProfile,
    /// Save the edited profile, asking where.
    SaveProfileAs,
    /// Switch theme.
    SetTheme(ThemeChoice),
    /// Copy text to the clipboard.
    Copy(String),
    /// Dismiss the notice at this index.
    Dismiss(usize),
    /// Start the relay with the Relay view's settings.
    StartRelay,
    /// Stop the relay.
    StopRelay,
    /// Show a relay session or message in the Relay view's detail pane (`None` closes it).
    SelectRelay(Option<RelaySelection>),
    /// Send the Relay view's test message.
    SendTestMessage,
    /// Analyse the Headers view's text.
    AnalyseHeaders,
    /// Show the file dialog for a headers file.
    HeadersOpenDialog,
    /// Read this file into the Headers view and analyse it.
    HeadersOpenFile(PathBuf),
}

/// Whether work is going on.
#[derive(Debug, Clone, Default, PartialEq)]
pub enum Activity {
    /// Nothing running.
    #[default]
    Idle,
    /// Opening a profile or starting the lab.
    Loading {
        /// What.
        what: String,
    },
    /// A diagnosis runs.
    Running(RunProgress),
}

/// The progress of a running diagnosis.
#[derive(Debug, Clone, PartialEq)]
pub struct RunProgress {
    /// Its id.
    pub run: u64,
    /// The phase (`dns`, `probes`, `checks`).
    pub phase: String,
    /// Probes finished.
    pub done: usize,
    /// Probes in all (0 until known).
    pub total: usize,
    /// The last probe that finished.
    pub last: Option<String>,
    /// Every probe finished so far (ids like `smtp:host:port`).
    pub probed: BTreeSet<String>,
    /// The checks judged so far from finished probes alone (SMTP dialogue, certificate, EdgeSync).
    pub live: Vec<CheckResult>,
    /// The profile's path with `live` rolled up: the Path view while the diagnosis runs.
    pub live_path: Option<mailpath_core::path::MailPath>,
    /// Whether Cancel was pressed.
    pub cancelling: bool,
    /// When it started (for the elapsed time).
    pub started: Instant,
}

impl RunProgress {
    /// The words next to the progress bar.
    pub fn step_text(&self) -> String {
        if self.cancelling {
            return "cancelling…".into();
        }
        match (self.phase.as_str(), &self.last) {
            ("probes", Some(last)) => format!("probes {}/{}: {last} done", self.done, self.total),
            ("probes", None) => "probes: connecting…".into(),
            ("dns", _) => "resolving DNS names…".into(),
            ("checks", _) => "judging the evidence…".into(),
            (other, _) => format!("{other}…"),
        }
    }

    /// A fraction for the progress bar: DNS 0-10 %, probes 10-90 %, checks 90-100 %.
    pub fn fraction(&self) -> f32 {
        match self.phase.as_str() {
            "dns" => 0.05,
            "probes" if self.total > 0 => 0.1 + 0.8 * (self.done as f32 / self.total as f32),
            "probes" => 0.1,
            "checks" => 0.95,
            _ => 0.0,
        }
    }
}

/// A message shown in the UI (errors never go to stderr only).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    /// Whether it is an error (red) or information.
    pub error: bool,
    /// The text.
    pub text: String,
}

/// "Now", mockable so that snapshots of dates and days left are deterministic.
#[derive(Debug, Clone, Copy, Default)]
pub struct Clock {
    /// When set, the time the GUI shows and judges against.
    pub mock_now: Option<OffsetDateTime>,
}

impl Clock {
    /// The current time (or the mock).
    pub fn now(&self) -> OffsetDateTime {
        self.mock_now.unwrap_or_else(OffsetDateTime::now_utc)
    }
}

/// Settings kept between runs (eframe persistence).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Persisted {
    /// Recently opened profiles, newest first.
    pub recent: Vec<PathBuf>,
    /// The profile open when the app last closed.
    pub last_profile: Option<PathBuf>,
    /// The theme.
    pub theme: ThemeChoice,
    /// Export reports with names and addresses replaced by placeholders.
    pub redact: bool,
}

/// The profile editor's state.
#[derive(Debug, Clone, Default)]
pub struct Editor {
    /// The TOML text.
    pub text: String,
    /// The file it came from or goes to.
    pub path: Option<PathBuf>,
    /// Problems of the text as last validated (empty: valid).
    pub problems: Vec<String>,
    /// The text differs from the current profile.
    pub dirty: bool,
    /// The text validated since the last edit.
    pub validated: bool,
}

/// The Checks view's sorting and filters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChecksFilter {
    /// Statuses shown.
    pub statuses: BTreeSet<Status>,
    /// The family shown (`tls`, `smtp`, ...), or all.
    pub family: Option<String>,
    /// Text searched in id, target, summary.
    pub search: String,
    /// The sort column.
    pub sort: SortBy,
    /// Descending.
    pub descending: bool,
}

impl Default for ChecksFilter {
    fn default() -> Self {
        ChecksFilter {
            statuses: [
                Status::Pass,
                Status::Info,
                Status::Skip,
                Status::Warn,
                Status::Fail,
            ]
            .into_iter()
            .collect(),
            family: None,
            search: String::new(),
            sort: SortBy::Status,
            descending: true,
        }
    }
}

/// Columns of the Checks table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortBy {
    /// Worst first (when descending).
    Status,
    /// The check id.
    Id,
    /// The target.
    Target,
    /// The summary.
    Summary,
}

/// The Evidence view's selection.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EvidenceState {
    /// The evidence id shown (`smtp:host:port`, `ldaps:host:port`, `dns`).
    pub selected: Option<String>,
    /// Show the certificate chain rather than the transcript.
    pub certificates: bool,
}

/// All the GUI's plain state. Views read it and send [`Command`]s; only the app mutates it.
#[derive(Debug, Default)]
pub struct AppState {
    /// The view shown.
    pub view: View,
    /// Where the current profile came from.
    pub source: Option<Source>,
    /// The current profile.
    pub profile: Option<Profile>,
    /// The last diagnosis (finished, cancelled or opened).
    pub diagnosis: Option<Arc<Diagnosis>>,
    /// The diagnosis was opened from a file (it ran somewhere else, some other time).
    pub diagnosis_opened: bool,
    /// What runs.
    pub activity: Activity,
    /// The detail panel's subject.
    pub selection: Option<Selection>,
    /// The Checks view's filters.
    pub checks: ChecksFilter,
    /// The Evidence view's selection.
    pub evidence: EvidenceState,
    /// The profile editor.
    pub editor: Editor,
    /// Errors and notes shown under the top bar.
    pub notices: Vec<Notice>,
    /// Persisted settings.
    pub settings: Persisted,
    /// The clock for dates and days left.
    pub clock: Clock,
    /// The lab scenario in the picker.
    pub scenario: String,
    /// Run as soon as the next profile is loaded (command line targets).
    pub run_after_load: bool,
    /// A path typed under Recent (for systems without a file dialog).
    pub open_path: String,
    /// The Relay view.
    pub relay: RelayState,
    /// The Headers view.
    pub headers: HeadersState,
}

impl AppState {
    /// Whether a diagnosis or a load is in progress.
    pub fn busy(&self) -> bool {
        !matches!(self.activity, Activity::Idle)
    }

    /// The checks shown: those judged so far while a diagnosis runs, else the diagnosis's.
    pub fn current_checks(&self) -> &[CheckResult] {
        match (&self.activity, &self.diagnosis) {
            (Activity::Running(p), _) => &p.live,
            (_, Some(d)) => &d.checks,
            _ => &[],
        }
    }

    /// The checks attached to a node or hop, worst first.
    pub fn checks_of(&self, selection: &Selection) -> Vec<(usize, &CheckResult)> {
        let checks = self.current_checks();
        let attachment = match selection {
            Selection::Node(id) => mailpath_core::check::Attachment::Node(id.clone()),
            Selection::Hop(id) => mailpath_core::check::Attachment::Hop(id.clone()),
            Selection::Check(i) => return checks.get(*i).map(|c| vec![(*i, c)]).unwrap_or_default(),
        };
        let mut list: Vec<(usize, &CheckResult)> = checks
            .iter()
            .enumerate()
            .filter(|(_, c)| c.attachment == attachment)
            .collect();
        list.sort_by(|a, b| b.1.status.cmp(&a.1.status).then_with(|| a.1.id.cmp(&b.1.id)));
        list
    }

    fn notify_error(&mut self, text: impl Into<String>) {
        let text = text.into();
        tracing::warn!("{text}");
        self.notices.push(Notice { error: true, text });
    }

    fn notify(&mut self, text: impl Into<String>) {
        self.notices.push(Notice {
            error: false,
            text: text.into(),
        });
    }
}

/// How the GUI was started.
#[derive(Debug, Clone, Default)]
pub struct GuiOptions {
    /// `--profile FILE`.
    pub profile: Option<PathBuf>,
    /// `--lab [SCENARIO]`.
    pub lab: Option<String>,
    /// `--screenshot FILE.png`: run, wait, save a screenshot, exit.
    pub screenshot: Option<PathBuf>,
    /// When the process started (for the first-frame log line).
    pub started: Option<Instant>,
    /// Don't restore the last profile (tests, screenshots).
    pub ignore_persisted: bool,
}

/// The outcome of a `--screenshot` run, for the exit code.
pub type ScreenshotOutcome = Arc<Mutex<Option<Result<PathBuf, String>>>>;

/// State of a `--screenshot` run.
struct ScreenshotJob {
    path: PathBuf,
    stage: ShotStage,
    deadline: Instant,
    outcome: ScreenshotOutcome,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ShotStage {
    /// Waiting for the diagnosis (and one frame showing it).
    Waiting { settled_frames: u8 },
    /// The screenshot was requested.
    Requested,
    /// The PNG is being written.
    Saving,
}

/// The mailpath GUI.
pub struct MailpathApp {
    /// The plain state (tests read and poke it).
    pub state: AppState,
    worker: Worker,
    lab: Option<Lab>,
    commands: Vec<Command>,
    screenshot: Option<ScreenshotJob>,
    shot_rx: Option<std::sync::mpsc::Receiver<Arc<egui::ColorImage>>>,
    started: Option<Instant>,
    first_frame_logged: bool,
    dialog_since: Option<Instant>,
}

impl MailpathApp {
    /// Build the app inside eframe (restores persisted settings, applies the theme, starts the
    /// command line's target).
    pub fn new(cc: &eframe::CreationContext<'_>, handle: Handle, options: GuiOptions) -> Self {
        let mut settings = Persisted::default();
        if !options.ignore_persisted
            && let Some(storage) = cc.storage
            && let Some(saved) = eframe::get_value::<Persisted>(storage, STORAGE_KEY)
        {
            settings = saved;
        }
        let outcome = ScreenshotOutcome::default();
        let app = Self::with_context(&cc.egui_ctx, handle, options, settings, outcome);
        app.apply_theme(&cc.egui_ctx);
        app
    }

    /// Build the app for a given context (the tests use this through `new`, `--screenshot` reads
    /// the outcome).
    pub fn with_context(
        ctx: &egui::Context,
        handle: Handle,
        options: GuiOptions,
        settings: Persisted,
        outcome: ScreenshotOutcome,
    ) -> Self {
        let worker = Worker::new(handle, Worker::repaint_waker(ctx));
        let mut state = AppState {
            settings,
            scenario: mailpath_core::lab::DEFAULT_SCENARIO.to_string(),
            ..AppState::default()
        };
        let mut commands = Vec::new();
        if let Some(path) = options.profile.clone() {
            commands.push(Command::OpenFile(path));
            state.run_after_load = true;
        } else if let Some(name) = options.lab.clone() {
            state.scenario.clone_from(&name);
            commands.push(Command::OpenLab(name));
            state.run_after_load = true;
        } else if !options.ignore_persisted
            && let Some(last) = state.settings.last_profile.clone()
        {
            commands.push(Command::OpenFile(last));
        }
        let screenshot = options.screenshot.clone().map(|path| ScreenshotJob {
            path,
            stage: ShotStage::Waiting { settled_frames: 0 },
            deadline: Instant::now() + Duration::from_secs(180),
            outcome,
        });
        MailpathApp {
            state,
            worker,
            lab: None,
            commands,
            screenshot,
            shot_rx: None,
            started: options.started,
            first_frame_logged: false,
            dialog_since: None,
        }
    }

    /// The outcome of `--screenshot`, shared with `main`.
    pub fn screenshot_outcome(&self) -> Option<ScreenshotOutcome> {
        self.screenshot.as_ref().map(|s| Arc::clone(&s.outcome))
    }

    /// Queue a command, as a view would.
    pub fn send(&mut self, command: Command) {
        self.commands.push(command);
    }

    fn apply_theme(&self, ctx: &egui::Context) {
        ctx.set_theme(self.state.settings.theme.preference());
    }

    /// Drain worker events and queued commands (no drawing).
    fn process(&mut self, ctx: &egui::Context) {
        while let Some(event) = self.worker.try_recv() {
            self.on_event(ctx, event);
        }
        for command in std::mem::take(&mut self.commands) {
            self.on_command(ctx, command);
        }
        self.drive_screenshot(ctx);
    }

    fn on_event(&mut self, ctx: &egui::Context, event: WorkerEvent) {
        let state = &mut self.state;
        match event {
            WorkerEvent::Loaded(loaded) => {
                let Loaded {
                    source,
                    profile,
                    path,
                    text,
                    lab,
                } = *loaded;
                if let Some(old) = self.lab.take() {
                    self.worker.handle().spawn(old.shutdown());
                }
                self.lab = lab;
                if let Source::File(p) = &source {
                    state.settings.recent.retain(|r| r != p);
                    state.settings.recent.insert(0, p.clone());
                    state.settings.recent.truncate(MAX_RECENT);
                    state.settings.last_profile = Some(p.clone());
                }
                state.source = Some(source);
                state.profile = Some(profile);
                state.diagnosis = None;
                state.selection = None;
                state.evidence = EvidenceState::default();
                state.editor = Editor {
                    text,
                    path: Some(path),
                    problems: Vec::new(),
                    dirty: false,
                    validated: true,
                };
                state.activity = Activity::Idle;
                if std::mem::take(&mut state.run_after_load) {
                    self.commands.push(Command::Run);
                }
            }
            WorkerEvent::DiagnosisOpened { path, diagnosis } => {
                state.activity = Activity::Idle;
                state.source = Some(Source::File(path));
                state.profile = Some(diagnosis.profile.clone());
                state.editor = Editor {
                    text: diagnosis.profile.to_toml_string().unwrap_or_default(),
                    ..Editor::default()
                };
                state.diagnosis = Some(Arc::new(*diagnosis));
                state.diagnosis_opened = true;
                state.selection = None;
            }
            WorkerEvent::LoadFailed { what, error } => {
                state.activity = Activity::Idle;
                state.run_after_load = false;
                state.notify_error(format!("Could not open {what}: {error}"));
            }
            WorkerEvent::Progress { run, progress } => {
                if let Activity::Running(p) = &mut state.activity
                    && p.run == run
                {
                    match progress {
                        Progress::Phase { name } => p.phase = name,
                        Progress::Probed {
                            id,
                            done,
                            total,
                            checks,
                        } => {
                            p.done = done;
                            p.total = total;
                            p.probed.insert(id.clone());
                            p.last = Some(id);
                            if !checks.is_empty()
                                && let Some(profile) = &state.profile
                            {
                                p.live.extend(checks);
                                let mut path = path_view::preview(profile);
                                path.roll_up(&p.live);
                                p.live_path = Some(path);
                            }
                        }
                        Progress::Finished => p.phase = "finishing".into(),
                        Progress::Step { .. } => {}
                    }
                }
            }
            WorkerEvent::Finished { run, diagnosis } => {
                if run != self.worker.current_run() {
                    return;
                }
                let previous = std::mem::replace(&mut state.activity, Activity::Idle);
                let picked_live = matches!(&previous, Activity::Running(p) if !p.live.is_empty());
                if diagnosis.cancelled {
                    state.notify("The diagnosis was cancelled: nothing was judged.");
                }
                // Keep the selection when it still exists (a check picked among the live ones is
                // numbered differently in the finished diagnosis).
                if let Some(Selection::Check(i)) = &state.selection
                    && (*i >= diagnosis.checks.len() || picked_live)
                {
                    state.selection = None;
                }
                state.diagnosis = Some(Arc::new(*diagnosis));
                state.diagnosis_opened = false;
            }
            WorkerEvent::RunFailed { run, error } => {
                if run == self.worker.current_run() {
                    state.activity = Activity::Idle;
                    state.notify_error(format!("The diagnosis could not start: {error}"));
                }
            }
            WorkerEvent::Picked { purpose, path } => {
                let opened = self.dialog_since.take();
                let Some(path) = path else {
                    // A person takes longer than this to cancel: no dialog could be shown.
                    if opened.is_some_and(|t| t.elapsed() < Duration::from_millis(500)) {
                        let where_ = if purpose == Pick::Headers {
                            "in the Headers view's Path field"
                        } else {
                            "under Recent"
                        };
                        state.notify_error(format!(
                            "No file dialog could be shown (no XDG desktop portal, no zenity): type the path {where_}."
                        ));
                    }
                    return;
                };
                match purpose {
                    Pick::Open => self.commands.push(Command::OpenFile(path)),
                    Pick::Export => self.commands.push(Command::ExportTo(path)),
                    Pick::SaveProfile => {
                        state.editor.path = Some(path);
                        self.commands.push(Command::SaveProfile);
                    }
                    Pick::Headers => self.commands.push(Command::HeadersOpenFile(path)),
                }
            }
            WorkerEvent::Relay { run, event } => {
                if run == self.worker.current_relay_run() {
                    state.relay.apply(*event);
                }
            }
            WorkerEvent::RelayFailed { run, error } => {
                if run == self.worker.current_relay_run() {
                    state.relay.status = RelayStatus::Stopped;
                    state.notify_error(format!("The relay could not start: {error}"));
                }
            }
            WorkerEvent::RelayStopped { run, dropped } => {
                if run == self.worker.current_relay_run() {
                    state.relay.status = RelayStatus::Stopped;
                }
                state.relay.dropped += dropped;
            }
            WorkerEvent::TestSent(result) => {
                state.relay.sending = false;
                if let Err(e) = result.as_ref() {
                    state.notify_error(format!("The test message could not be sent: {e}"));
                }
                state.relay.last_send = Some(*result);
            }
            WorkerEvent::HeadersRead { path, result } => match result {
                Ok(text) => {
                    let headers = &mut state.headers;
                    headers.text = text;
                    headers.source = Some(path.display().to_string());
                    headers.path = path.display().to_string();
                    headers.analyse();
                }
                Err(e) => state.notify_error(e),
            },
            WorkerEvent::Saved { what, path, result } => {
                let screenshot = what == "screenshot";
                match &result {
                    Ok(()) => state.notify(format!("Saved the {what} to {}", path.display())),
                    Err(e) => state.notify_error(format!("Could not save the {what}: {e}")),
                }
                if screenshot && let Some(job) = &self.screenshot {
                    if let Ok(mut slot) = job.outcome.lock() {
                        *slot = Some(result.map(|()| path));
                    }
                    ctx.send_viewport_cmd(egui::ViewportCommand::Close);
                }
            }
        }
    }

    fn on_command(&mut self, ctx: &egui::Context, command: Command) {
        match command {
            Command::OpenDialog => {
                let suggested = self.state.settings.recent.first().cloned();
                self.dialog_since = Some(Instant::now());
                self.worker.pick(Pick::Open, suggested);
            }
            Command::OpenFile(path) => {
                self.state.activity = Activity::Loading {
                    what: path.display().to_string(),
                };
                self.worker.open_file(path);
            }
            Command::OpenLab(name) => {
                if let Activity::Running(_) = self.state.activity {
                    self.worker.cancel();
                }
                self.state.scenario.clone_from(&name);
                self.state.activity = Activity::Loading {
                    what: format!("lab {name}"),
                };
                self.worker.open_lab(name);
            }
            Command::Run => self.run(),
            Command::Cancel => {
                if let Activity::Running(p) = &mut self.state.activity {
                    p.cancelling = true;
                    self.worker.cancel();
                }
            }
            Command::Export => {
                if self.state.diagnosis.is_none() {
                    self.state
                        .notify_error("Nothing to export yet: run a diagnosis first.");
                } else {
                    let suggested = self
                        .state
                        .editor
                        .path
                        .as_ref()
                        .map(|p| p.with_extension("report.html"));
                    self.dialog_since = Some(Instant::now());
                    self.worker.pick(Pick::Export, suggested);
                }
            }
            Command::ExportTo(path) => self.export_to(path),
            Command::SetRedact(redact) => self.state.settings.redact = redact,
            Command::SetView(view) => self.state.view = view,
            Command::Select(selection) => self.state.selection = selection,
            Command::ShowEvidence(id) => {
                self.state.view = View::Evidence;
                self.state.evidence.selected = Some(id);
            }
            Command::ApplyProfileText => self.apply_profile_text(),
            Command::SaveProfile => self.save_profile(),
            Command::SaveProfileAs => {
                self.worker
                    .pick(Pick::SaveProfile, self.state.editor.path.clone());
            }
            Command::SetTheme(choice) => {
                self.state.settings.theme = choice;
                self.apply_theme(ctx);
            }
            Command::Copy(text) => ctx.copy_text(text),
            Command::Dismiss(i) => {
                if i < self.state.notices.len() {
                    self.state.notices.remove(i);
                }
            }
            Command::StartRelay => self.start_relay(),
            Command::StopRelay => {
                if matches!(
                    self.state.relay.status,
                    RelayStatus::Running { .. } | RelayStatus::Starting
                ) {
                    self.state.relay.status = RelayStatus::Stopping;
                    self.worker.stop_relay();
                }
            }
            Command::SelectRelay(selection) => self.state.relay.selected = selection,
            Command::SendTestMessage => match self.state.relay.send_request() {
                Ok(request) => {
                    self.state.relay.sending = true;
                    self.worker.send_test(request);
                }
                Err(e) => self.state.notify_error(e),
            },
            Command::AnalyseHeaders => {
                if self.state.headers.source.is_none() {
                    self.state.headers.source = Some("pasted headers".into());
                }
                self.state.headers.analyse();
            }
            Command::HeadersOpenDialog => {
                let typed = self.state.headers.path.trim();
                let suggested = (!typed.is_empty()).then(|| PathBuf::from(typed));
                self.dialog_since = Some(Instant::now());
                self.worker.pick(Pick::Headers, suggested);
            }
            Command::HeadersOpenFile(path) => self.worker.read_headers(path),
        }
    }

    fn start_relay(&mut self) {
        if !matches!(self.state.relay.status, RelayStatus::Stopped) {
            return;
        }
        match self.state.relay.form.config() {
            Ok(config) => {
                self.state.relay.status = RelayStatus::Starting;
                let client_ca = self.state.relay.form.client_ca_file();
                self.worker.start_relay(config, client_ca);
            }
            Err(e) => self.state.notify_error(e),
        }
    }

    fn run(&mut self) {
        if matches!(
            self.state.activity,
            Activity::Running(_) | Activity::Loading { .. }
        ) {
            return;
        }
        if self.state.editor.dirty {
            self.apply_profile_text();
        }
        let Some(profile) = self.state.profile.clone() else {
            self.state
                .notify_error("No profile yet: open one (Ctrl+O) or pick a lab scenario.");
            return;
        };
        let run = self.worker.start_run(profile);
        self.state.activity = Activity::Running(RunProgress {
            run,
            phase: "starting".into(),
            done: 0,
            total: 0,
            last: None,
            probed: BTreeSet::new(),
            live: Vec::new(),
            live_path: None,
            cancelling: false,
            started: Instant::now(),
        });
    }

    fn export_to(&mut self, path: PathBuf) {
        let Some(d) = &self.state.diagnosis else {
            self.state
                .notify_error("Nothing to export yet: run a diagnosis first.");
            return;
        };
        // A name without an extension (a dialog's filter chosen, a name typed) gets the HTML report.
        let path = if path.extension().is_none() {
            path.with_extension("html")
        } else {
            path
        };
        match report::Format::from_path(&path) {
            Ok(format) => {
                let ran_here = !self.state.diagnosis_opened;
                self.worker
                    .export_report(Arc::clone(d), path, format, self.state.settings.redact, ran_here);
            }
            Err(e) => self
                .state
                .notify_error(format!("{e}: name the file .html, .md or .json")),
        }
    }

    fn apply_profile_text(&mut self) {
        let editor = &mut self.state.editor;
        let origin = editor
            .path
            .as_deref()
            .and_then(|p| p.file_name())
            .map_or_else(|| "profile".to_string(), |n| n.to_string_lossy().into_owned());
        let base = editor.path.as_deref().and_then(|p| p.parent());
        match Profile::from_toml_str(&editor.text, &origin, base) {
            Ok(profile) => {
                editor.problems.clear();
                editor.dirty = false;
                editor.validated = true;
                self.state.profile = Some(profile);
            }
            Err(e) => {
                editor.problems = profile_view::problem_lines(&e);
                editor.validated = true;
                self.state.notify_error("The edited profile has problems (see the Profile view); the last valid one stays in use.");
            }
        }
    }

    fn save_profile(&mut self) {
        let Some(path) = self.state.editor.path.clone() else {
            self.worker.pick(Pick::SaveProfile, None);
            return;
        };
        self.worker.write_file(
            "profile".into(),
            path,
            self.state.editor.text.clone().into_bytes(),
        );
    }

    fn drive_screenshot(&mut self, ctx: &egui::Context) {
        let busy = self.state.busy() || !self.commands.is_empty();
        let Some(job) = &mut self.screenshot else { return };
        match job.stage {
            ShotStage::Waiting { settled_frames } => {
                let done = !busy && (self.state.diagnosis.is_some() || !self.state.notices.is_empty());
                if done || Instant::now() > job.deadline {
                    // Let the results be laid out and drawn twice before taking the picture.
                    if settled_frames >= 2 {
                        let (tx, rx) = std::sync::mpsc::sync_channel(1);
                        let waker = Worker::repaint_waker(ctx);
                        ctx.request_screenshot(move |image| {
                            let _ = tx.try_send(image);
                            waker();
                        });
                        self.shot_rx = Some(rx);
                        job.stage = ShotStage::Requested;
                    } else {
                        job.stage = ShotStage::Waiting {
                            settled_frames: settled_frames + 1,
                        };
                    }
                    ctx.request_repaint();
                } else {
                    // The worker wakes us on progress; also look again now and then for the deadline.
                    ctx.request_repaint_after(Duration::from_millis(500));
                }
            }
            ShotStage::Requested => {
                if let Some(image) = self.shot_rx.as_ref().and_then(|rx| rx.try_recv().ok()) {
                    job.stage = ShotStage::Saving;
                    self.worker.save_png(image, job.path.clone());
                }
            }
            ShotStage::Saving => {}
        }
    }

    fn shortcuts(&mut self, ctx: &egui::Context) {
        let (open, run, escape) = ctx.input_mut(|i| {
            (
                i.consume_shortcut(&SHORTCUT_OPEN),
                i.consume_shortcut(&SHORTCUT_RUN),
                i.key_pressed(Key::Escape),
            )
        });
        if open {
            self.commands.push(Command::OpenDialog);
        }
        if run {
            self.commands.push(Command::Run);
        }
        if escape {
            if let Activity::Running(_) = self.state.activity {
                self.commands.push(Command::Cancel);
            } else if self.state.view == View::Relay && self.state.relay.selected.is_some() {
                self.commands.push(Command::SelectRelay(None));
            } else if self.state.selection.is_some() {
                self.commands.push(Command::Select(None));
            }
        }
    }
}

impl eframe::App for MailpathApp {
    fn logic(&mut self, ctx: &egui::Context, _frame: &mut eframe::Frame) {
        self.process(ctx);
    }

    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        if !self.first_frame_logged {
            self.first_frame_logged = true;
            if let Some(started) = self.started {
                tracing::info!(target: "mailpath::gui", "first frame after {} ms", started.elapsed().as_millis());
            }
        }
        let ctx = ui.ctx().clone();
        self.shortcuts(&ctx);
        let mut out = Vec::new();
        top_bar(ui, &mut self.state, &mut out);
        notices(ui, &self.state, &mut out);
        status_bar(ui, &self.state);
        let own_detail = matches!(self.state.view, View::Relay | View::Headers);
        if self.state.selection.is_some() && !own_detail {
            egui::Panel::right("detail")
                .resizable(true)
                .default_size(400.0)
                .size_range(280.0..=720.0)
                .show(ui, |ui| path_view::detail_panel(ui, &self.state, &mut out));
        }
        egui::CentralPanel::default().show(ui, |ui| match self.state.view {
            View::Path => path_view::show(ui, &self.state, &mut out),
            View::Checks => checks_view::show(ui, &mut self.state, &mut out),
            View::Evidence => evidence_view::show(ui, &mut self.state, &mut out),
            View::Profile => profile_view::show(ui, &mut self.state, &mut out),
            View::Relay => {
                let now = self.state.clock.now();
                relay_view::show(ui, &mut self.state.relay, now, &mut out);
            }
            View::Headers => headers_view::show(ui, &mut self.state.headers, &mut out),
        });
        self.commands.extend(out);
        if !self.commands.is_empty() {
            ctx.request_repaint();
        }
        if let Activity::Running(_) | Activity::Loading { .. } = self.state.activity {
            // The spinner and elapsed time move; progress events wake us anyway.
            ctx.request_repaint_after(Duration::from_millis(250));
        }
    }

    fn save(&mut self, storage: &mut dyn eframe::Storage) {
        if self.screenshot.is_none() {
            eframe::set_value(storage, STORAGE_KEY, &self.state.settings);
        }
    }

    fn persist_egui_memory(&self) -> bool {
        self.screenshot.is_none()
    }

    fn on_exit(&mut self) {
        self.worker.cancel();
        self.worker.stop_relay();
        if let Some(lab) = self.lab.take() {
            self.worker.handle().spawn(lab.shutdown());
        }
    }
}

/// A centred message for a view with nothing to show.
pub fn empty_state(ui: &mut egui::Ui, title: &str, hint: &str) {
    ui.vertical_centered(|ui| {
        ui.add_space(ui.available_height() * 0.3);
        ui.heading(title);
        ui.add_space(6.0);
        ui.label(RichText::new(hint).weak());
    });
}

fn top_bar(ui: &mut egui::Ui, state: &mut AppState, out: &mut Vec<Command>) {
    egui::Panel::top("top-bar").show(ui, |ui| {
        ui.add_space(4.0);
        ui.horizontal_wrapped(|ui| {
            ui.heading(RichText::new("mailpath").strong());
            ui.separator();
            let open = ui.button("📂 Open profile…").on_hover_text(format!(
                "Open a profile (TOML) or a saved diagnosis (JSON) ({})",
                ui.ctx().format_shortcut(&SHORTCUT_OPEN)
            ));
            if open.clicked() {
                out.push(Command::OpenDialog);
            }
            ui.menu_button("Recent", |ui| {
                if state.settings.recent.is_empty() {
                    ui.label(RichText::new("No recent profiles").weak());
                }
                for path in &state.settings.recent {
                    if ui.button(path.display().to_string()).clicked() {
                        out.push(Command::OpenFile(path.clone()));
                        ui.close();
                    }
                }
                ui.separator();
                ui.horizontal(|ui| {
                    let label = ui.label("Path:");
                    let edit = ui
                        .add(
                            egui::TextEdit::singleline(&mut state.open_path)
                                .hint_text("profile.toml or diagnosis.json"),
                        )
                        .labelled_by(label.id);
                    let enter = edit.lost_focus() && ui.input(|i| i.key_pressed(Key::Enter));
                    let typed = state.open_path.trim();
                    if (ui
                        .add_enabled(!typed.is_empty(), egui::Button::new("Open"))
                        .clicked()
                        || enter)
                        && !typed.is_empty()
                    {
                        out.push(Command::OpenFile(PathBuf::from(typed)));
                        ui.close();
                    }
                });
            });
            let mut scenario = state.scenario.clone();
            let combo = egui::ComboBox::from_id_salt("lab-scenario")
                .selected_text(format!("Lab: {scenario}"))
                .width(190.0)
                .show_ui(ui, |ui| {
                    for s in SCENARIOS {
                        ui.selectable_value(&mut scenario, s.name.to_string(), s.name)
                            .on_hover_text(s.summary);
                    }
                });
            let combo_label = "Lab scenario";
            combo
                .response
                .widget_info(|| egui::WidgetInfo::labeled(egui::Role::ComboBox, true, combo_label));
            if scenario != state.scenario {
                out.push(Command::OpenLab(scenario));
            }
            ui.separator();
            match &state.activity {
                Activity::Running(p) => {
                    if ui
                        .button("⏹ Cancel")
                        .on_hover_text("Stop the diagnosis (Esc)")
                        .clicked()
                    {
                        out.push(Command::Cancel);
                    }
                    ui.add(
                        egui::ProgressBar::new(p.fraction())
                            .desired_width(110.0)
                            .show_percentage(),
                    );
                    ui.label(RichText::new(format!("{:.1} s", p.started.elapsed().as_secs_f32())).weak());
                    // Bounded, so that a long probe id never runs under the buttons on the right.
                    let height = ui.spacing().interact_size.y;
                    ui.add_sized([230.0, height], egui::Label::new(p.step_text()).truncate());
                }
                Activity::Loading { what } => {
                    ui.add_enabled(false, egui::Button::new("▶ Run"));
                    ui.spinner();
                    let height = ui.spacing().interact_size.y;
                    ui.add_sized(
                        [300.0, height],
                        egui::Label::new(format!("opening {what}…")).truncate(),
                    );
                }
                Activity::Idle => {
                    let run = ui.add_enabled(state.profile.is_some(), egui::Button::new("▶ Run"));
                    let run = run.on_hover_text(format!(
                        "Diagnose every hop ({})",
                        ui.ctx().format_shortcut(&SHORTCUT_RUN)
                    ));
                    if run.clicked() {
                        out.push(Command::Run);
                    }
                    if let Some(d) = &state.diagnosis {
                        ui.label(
                            RichText::new(format!(
                                "{} checks in {:.1} s{}",
                                d.checks.len(),
                                d.duration_ms as f64 / 1000.0,
                                if d.cancelled { " (cancelled)" } else { "" }
                            ))
                            .weak(),
                        );
                    }
                }
            }
            ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                let mut choice = state.settings.theme;
                egui::ComboBox::from_id_salt("theme")
                    .selected_text(choice.label())
                    .show_ui(ui, |ui| {
                        for c in ThemeChoice::ALL {
                            ui.selectable_value(&mut choice, c, c.label());
                        }
                    })
                    .response
                    .widget_info(|| egui::WidgetInfo::labeled(egui::Role::ComboBox, true, "Theme"));
                if choice != state.settings.theme {
                    out.push(Command::SetTheme(choice));
                }
                let mut redact = state.settings.redact;
                ui.add_enabled(state.diagnosis.is_some(), egui::Checkbox::new(&mut redact, "Redact"))
                    .on_hover_text(
                        "Export with host names, domains, addresses and certificate subjects replaced by stable placeholders, to share the report",
                    );
                if redact != state.settings.redact {
                    out.push(Command::SetRedact(redact));
                }
                let export = ui
                    .add_enabled(state.diagnosis.is_some(), egui::Button::new("⬇ Export…"))
                    .on_hover_text(
                        "Save a report: HTML (self-contained, with the path diagram), Markdown (for tickets) or JSON (the whole diagnosis, which Open reads back), by the file's extension",
                    )
                    .on_disabled_hover_text("Run a diagnosis (or open a saved one) first.");
                if export.clicked() {
                    out.push(Command::Export);
                }
            });
        });
        ui.add_space(2.0);
        ui.horizontal(|ui| {
            for view in View::ALL {
                let selected = state.view == view;
                if ui.selectable_label(selected, view.title()).clicked() && !selected {
                    out.push(Command::SetView(view));
                }
            }
            if let Some(source) = &state.source {
                ui.separator();
                let name = state
                    .profile
                    .as_ref()
                    .map(|p| p.name.as_str())
                    .unwrap_or_default();
                let text = match source {
                    Source::File(path) => format!("{name} — {}", path.display()),
                    Source::Lab(_) => name.to_string(),
                };
                ui.label(RichText::new(text).weak());
            }
        });
        ui.add_space(2.0);
    });
}

fn notices(ui: &mut egui::Ui, state: &AppState, out: &mut Vec<Command>) {
    if state.notices.is_empty() {
        return;
    }
    egui::Panel::top("notices").show(ui, |ui| {
        for (i, notice) in state.notices.iter().enumerate().rev().take(4) {
            ui.horizontal(|ui| {
                let close = ui.small_button("×").on_hover_text("Dismiss");
                close.widget_info(|| {
                    egui::WidgetInfo::labeled(egui::Role::Button, true, format!("Dismiss notice {}", i + 1))
                });
                if close.clicked() {
                    out.push(Command::Dismiss(i));
                }
                let text = RichText::new(&notice.text);
                if notice.error {
                    ui.label(text.color(theme::error_color(ui)));
                } else {
                    ui.label(text);
                }
            });
        }
    });
}

fn status_bar(ui: &mut egui::Ui, state: &AppState) {
    egui::Panel::bottom("status-bar").show(ui, |ui| {
        ui.horizontal(|ui| match &state.diagnosis {
            Some(d) => {
                for status in [
                    Status::Fail,
                    Status::Warn,
                    Status::Skip,
                    Status::Info,
                    Status::Pass,
                ] {
                    let n = match status {
                        Status::Pass => d.counts.pass,
                        Status::Info => d.counts.info,
                        Status::Skip => d.counts.skip,
                        Status::Warn => d.counts.warn,
                        Status::Fail => d.counts.fail,
                    };
                    ui.label(
                        RichText::new(format!("{} {n} {}", theme::status_icon(status), status.as_str()))
                            .color(theme::status_color(ui, status)),
                    );
                }
                ui.separator();
                let started = d
                    .started_at
                    .format(&time::macros::format_description!(
                        "[year]-[month]-[day] [hour]:[minute]:[second] UTC"
                    ))
                    .unwrap_or_default();
                ui.label(RichText::new(format!("started {started}, mailpath {}", d.mailpath_version)).weak());
            }
            None => {
                ui.label(RichText::new("No diagnosis yet").weak());
            }
        });
    });
}
