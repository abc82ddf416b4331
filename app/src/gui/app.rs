//! The eframe app: applies the intents the views send ([`Command`]) and the [`Worker`]'s events to the
//! state ([`AppState`]), once per frame, and lays out the chrome and the views.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use eframe::egui::{self, Key};
use mailpath_core::diagnose::Progress;
use mailpath_core::lab::Lab;
use mailpath_core::profile::Profile;
use mailpath_core::report;
use tokio::runtime::Handle;

use super::state::relay::RelayStatus;
use super::state::{
    Activity, AppState, Command, Editor, EvidenceState, MAX_RECENT, Persisted, RunProgress, SHORTCUT_OPEN,
    SHORTCUT_RUN, STORAGE_KEY, Selection, View,
};
use super::worker::{Loaded, Pick, Source, Worker, WorkerEvent};
use super::{checks_view, evidence_view, path_view, profile_view};
use super::{chrome, headers_view, relay_view};

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
        // A file dropped on the window opens like File -> Open (a profile, an export, a diagnosis).
        if let Some(path) = ctx.input(|i| i.raw.dropped_files.first().map(|f| f.path().to_path_buf())) {
            self.commands.push(Command::OpenFile(path));
        }
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
                    export,
                    settings,
                } = *loaded;
                state.export = export;
                state.settings_read = settings;
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
                    // A profile built from an export is saved where the user says, never over the export.
                    path: (!path.extension().is_some_and(|e| e.eq_ignore_ascii_case("json"))).then_some(path),
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
                state.export = None;
                state.settings_read.clear();
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
            WorkerEvent::TlsScanned { id, scan } => {
                if state.evidence.scanning.as_deref() == Some(id.as_str()) {
                    state.evidence.scanning = None;
                }
                let words = scan.summary();
                let applied = state
                    .diagnosis
                    .as_mut()
                    .is_some_and(|d| mailpath_core::diagnose::apply_scan(Arc::make_mut(d), &id, *scan));
                if applied {
                    state.notify(format!("Full TLS scan of {id}: {words}"));
                } else {
                    state.notify_error(format!(
                        "The scan of {id} finished after its diagnosis was replaced"
                    ));
                }
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
            Command::ExplainText(text, source) => {
                self.state.explain.queue(text, &source);
                self.state.view = View::Explain;
            }
            Command::FullTlsScan(id) => self.full_tls_scan(id),
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
        let run = self.worker.start_run(profile, self.state.export.clone());
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

    /// Scan one endpoint of the current diagnosis fully, with the profile's timeouts.
    fn full_tls_scan(&mut self, id: String) {
        if self.state.evidence.scanning.is_some() {
            return;
        }
        let Some(probe) = self
            .state
            .diagnosis
            .as_ref()
            .and_then(|d| d.evidence.smtp(&id))
            .cloned()
        else {
            return;
        };
        let timeouts = self
            .state
            .profile
            .as_ref()
            .map(|p| mailpath_core::probe::Timeouts {
                connect: p.timeouts.connect,
                greeting: p.timeouts.greeting,
                command: p.timeouts.command,
                tls: p.timeouts.tls,
            })
            .unwrap_or_default();
        self.state.evidence.scanning = Some(id);
        self.worker.full_tls_scan(&probe, timeouts);
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
        chrome::top_bar(ui, &mut self.state, &mut out);
        chrome::notices(ui, &self.state, &mut out);
        chrome::status_bar(ui, &self.state);
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
            View::Explain => super::explain_view::show(ui, &mut self.state, &mut out),
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
