//! The GUI's plain state: what the views read ([`AppState`]) and the intents they send back
//! ([`Command`]). Views depend on this module only (and on [`super::widgets`]); the app
//! ([`super::app`]) is the one that mutates the state, once per frame.

pub mod explain;
pub mod headers;
pub mod relay;

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use eframe::egui::{Key, KeyboardShortcut, Modifiers};
use mailpath_core::check::{CheckResult, Status};
use mailpath_core::diagnose::Diagnosis;
use mailpath_core::profile::Profile;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::theme::ThemeChoice;
use super::worker::Source;
use headers::HeadersState;
use relay::{RelaySelection, RelayState};

/// Open a profile.
pub const SHORTCUT_OPEN: KeyboardShortcut = KeyboardShortcut::new(Modifiers::COMMAND, Key::O);
/// Run the diagnosis.
pub const SHORTCUT_RUN: KeyboardShortcut = KeyboardShortcut::new(Modifiers::COMMAND, Key::R);
/// Most recent profiles remembered.
pub(crate) const MAX_RECENT: usize = 8;
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
    /// Explain an NDR, a queue error or a message trace.
    Explain,
    /// The profile editor.
    Profile,
}

impl View {
    /// Every view, in tab order.
    pub const ALL: [View; 7] = [
        View::Path,
        View::Checks,
        View::Evidence,
        View::Relay,
        View::Headers,
        View::Explain,
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
            View::Explain => "Explain",
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
    /// Explain this text (a relay refusal, a queue's LastError) in the Explain view; the second field says
    /// where it came from.
    ExplainText(String, String),
    /// Run a full TLS scan of this SMTP endpoint (evidence id) and put it into the diagnosis.
    FullTlsScan(String),
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
    /// Show the TLS versions and suites (takes precedence over `certificates`).
    pub tls: bool,
    /// The endpoint whose full TLS scan runs.
    pub scanning: Option<String>,
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
    /// The Explain view.
    pub explain: explain::ExplainState,
    /// The Exchange configuration export of the current profile (audited by each run).
    pub export: Option<Arc<mailpath_core::exchange::Export>>,
    /// Where each profile value came from, when the profile was imported from an export.
    pub settings_read: Vec<mailpath_core::exchange::import::Setting>,
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

    pub(crate) fn notify_error(&mut self, text: impl Into<String>) {
        let text = text.into();
        tracing::warn!("{text}");
        self.notices.push(Notice { error: true, text });
    }

    pub(crate) fn notify(&mut self, text: impl Into<String>) {
        self.notices.push(Notice {
            error: false,
            text: text.into(),
        });
    }
}
