//! The Relay view: start and stop the bundled relay (`mailpath relay`), watch its sessions and messages
//! arrive live, read a session's transcript and client certificate or a message's verdict and checks, and
//! send a test message. The relay runs on the worker; its events arrive through [`RelayState::apply`].

use std::net::SocketAddr;
use std::path::PathBuf;

use eframe::egui::{self, RichText};
use egui_extras::{Column, TableBuilder};
use mailpath_core::cert::CapturedCert;
use mailpath_core::check::{CheckResult, Counts, Status};
use mailpath_core::evidence::{Direction, TranscriptLine};
use mailpath_core::headers::{Classification, Verdict};
use mailpath_core::relay::inspect::MessageReport;
use mailpath_core::relay::{RelayConfig, RelayEvent, Role, TlsSource};
use mailpath_core::smtp::server::{SessionEvent, SessionInfo, TlsInfo};
use time::OffsetDateTime;

use super::app::Command;
use super::evidence_view::{cert_ui, short_name, transcript_rows};
use super::path_view::{check_card, counts_words};
use super::theme;
use super::worker::{TestSend, TestSendRequest};

/// Sessions and messages kept in the lists (the oldest go first).
pub const MAX_ROWS: usize = 500;
/// Where the relay listens unless told otherwise (as `mailpath relay`).
pub const DEFAULT_LISTEN: &str = "127.0.0.1:2525";
const ROLES: [Role; 4] = [Role::Sink, Role::Eop, Role::Edge, Role::Mailbox];
const ROW_HEIGHT: f32 = 22.0;

/// The relay's settings as typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelayForm {
    /// The role.
    pub role: Role,
    /// `IP:PORT` (port 0: any free port).
    pub listen: String,
    /// Names the client certificate must match (comma separated; required for `eop`).
    pub expect_cert_names: String,
    /// Recipient domains accepted (comma separated; empty: all).
    pub accept_domains: String,
    /// A PEM file of the CAs client certificates must chain to (`--client-ca`; empty: the system store).
    pub client_ca: String,
    /// The spool directory.
    pub spool: String,
}

impl Default for RelayForm {
    fn default() -> Self {
        RelayForm {
            role: Role::Sink,
            listen: DEFAULT_LISTEN.to_string(),
            expect_cert_names: String::new(),
            accept_domains: String::new(),
            client_ca: String::new(),
            spool: crate::cmd::relay::default_spool().display().to_string(),
        }
    }
}

fn list(text: &str) -> Vec<String> {
    text.split([',', ' ', ';'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

impl RelayForm {
    /// The relay configuration, or what is wrong with the form.
    ///
    /// # Errors
    /// When the listen address does not parse or the spool is empty.
    pub fn config(&self) -> Result<RelayConfig, String> {
        let listen: SocketAddr = self.listen.trim().parse().map_err(|_| {
            format!(
                "The listen address {:?} is not IP:PORT (for example {DEFAULT_LISTEN}, or 127.0.0.1:0 for any free port).",
                self.listen.trim()
            )
        })?;
        let spool = self.spool.trim();
        if spool.is_empty() {
            return Err("The spool directory is empty.".into());
        }
        let mut config = RelayConfig::new(listen, PathBuf::from(spool));
        config.role = self.role;
        config.accepted_domains = list(&self.accept_domains);
        config.expected_cert_names = list(&self.expect_cert_names);
        config.tls = TlsSource::Generate;
        Ok(config)
    }

    /// The client CA file to load (on the worker) before the relay starts, when one is given.
    pub fn client_ca_file(&self) -> Option<PathBuf> {
        let path = self.client_ca.trim();
        (!path.is_empty()).then(|| PathBuf::from(path))
    }
}

/// Whether the relay runs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum RelayStatus {
    /// Not running.
    #[default]
    Stopped,
    /// Starting (spool, certificate, listener).
    Starting,
    /// Listening.
    Running {
        /// The bound address (the real port when 0 was asked for).
        address: SocketAddr,
        /// The role.
        role: Role,
        /// The banner/EHLO name.
        hostname: String,
        /// Whether STARTTLS is offered.
        tls: bool,
        /// The generated CA certificate clients can trust.
        ca_file: Option<PathBuf>,
    },
    /// Stopping.
    Stopping,
}

/// One SMTP session as the relay saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRow {
    /// The session id (`S000017`); empty for a connection refused before a session began.
    pub id: String,
    /// The client's address.
    pub peer: String,
    /// When it began.
    pub started: Option<OffsetDateTime>,
    /// The EHLO name.
    pub helo: Option<String>,
    /// TLS parameters and the client certificate chain.
    pub tls: Option<TlsInfo>,
    /// Why it ended, once it has.
    pub closed: Option<String>,
    /// The reply of a connection refused outright (too many sessions).
    pub refused: Option<String>,
    /// Messages accepted in it.
    pub messages: usize,
    /// Milliseconds from accept to close.
    pub ms: u64,
    /// The dialogue, once closed.
    pub transcript: Vec<TranscriptLine>,
    /// Lines left out of the transcript.
    pub transcript_dropped: usize,
    /// Its `relay.*` checks (after STARTTLS).
    pub checks: Vec<CheckResult>,
}

impl SessionRow {
    fn new(info: &SessionInfo) -> SessionRow {
        SessionRow {
            id: info.id.clone(),
            peer: info.peer.to_string(),
            started: Some(info.started),
            helo: info.helo.clone(),
            tls: info.tls.clone(),
            closed: None,
            refused: None,
            messages: 0,
            ms: 0,
            transcript: Vec::new(),
            transcript_dropped: 0,
            checks: Vec::new(),
        }
    }

    /// The last 4xx/5xx reply the server gave (`550 5.7.64 TenantAttribution; ...`).
    pub fn last_refusal(&self) -> Option<&str> {
        if let Some(r) = &self.refused {
            return Some(r);
        }
        self.transcript
            .iter()
            .rev()
            .filter(|l| l.dir == Direction::Server)
            .map(|l| l.text.as_str())
            .find(|t| t.starts_with('4') || t.starts_with('5'))
    }

    /// The client certificate's subject CN and names, or "none".
    pub fn cert_words(&self) -> String {
        let Some(tls) = &self.tls else {
            return "no TLS".into();
        };
        match tls.client_chain().first().map(|der| CapturedCert::read(der)) {
            None => "none".into(),
            Some(CapturedCert::Parsed(c)) => {
                let mut words = short_name(&c.subject).to_string();
                let names = c.alt_names();
                if !names.is_empty() {
                    words.push_str(&format!(" ({})", names.join(", ")));
                }
                words
            }
            Some(CapturedCert::Unparsed { reason }) => format!("unreadable: {reason}"),
        }
    }

    /// `open`, `closed: quit`, `refused: 550 ...`.
    pub fn status_words(&self) -> String {
        match (&self.closed, self.last_refusal()) {
            (_, Some(r)) if self.messages == 0 => format!("refused: {r}"),
            (Some(reason), _) => format!("closed: {reason}"),
            (None, _) => "open".into(),
        }
    }
}

/// What the detail pane shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RelaySelection {
    /// A session, by id.
    Session(String),
    /// A message, by spool id.
    Message(String),
}

/// The "Send test message" form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendForm {
    /// The recipient.
    pub to: String,
    /// The sender.
    pub from: String,
    /// `host:port`; empty: the running relay.
    pub via: String,
    /// Require STARTTLS.
    pub tls: bool,
}

impl Default for SendForm {
    fn default() -> Self {
        SendForm {
            to: "user@contoso.com".into(),
            from: "mailpath@contoso.com".into(),
            via: String::new(),
            tls: true,
        }
    }
}

/// Everything the Relay view shows.
#[derive(Debug, Clone, Default)]
pub struct RelayState {
    /// The settings.
    pub form: RelayForm,
    /// Running or not.
    pub status: RelayStatus,
    /// Sessions, oldest first.
    pub sessions: Vec<SessionRow>,
    /// Messages, oldest first.
    pub messages: Vec<MessageReport>,
    /// The detail pane's subject.
    pub selected: Option<RelaySelection>,
    /// The test message form.
    pub send: SendForm,
    /// A test message is on its way.
    pub sending: bool,
    /// The last test message's result.
    pub last_send: Option<Result<TestSend, String>>,
    /// Events the relay dropped because the UI did not keep up.
    pub dropped: u64,
}

fn trim_front<T>(v: &mut Vec<T>) {
    if v.len() > MAX_ROWS {
        let extra = v.len() - MAX_ROWS;
        v.drain(..extra);
    }
}

impl RelayState {
    /// The bound address, while running.
    pub fn address(&self) -> Option<SocketAddr> {
        match &self.status {
            RelayStatus::Running { address, .. } => Some(*address),
            _ => None,
        }
    }

    /// The session with this id.
    pub fn session(&self, id: &str) -> Option<&SessionRow> {
        self.sessions.iter().find(|s| s.id == id)
    }

    fn upsert(&mut self, info: &SessionInfo) -> Option<&mut SessionRow> {
        let i = match self.sessions.iter().position(|s| s.id == info.id) {
            Some(i) => i,
            None => {
                self.sessions.push(SessionRow::new(info));
                trim_front(&mut self.sessions);
                self.sessions.len().saturating_sub(1)
            }
        };
        self.sessions.get_mut(i)
    }

    /// Take one event of the relay.
    pub fn apply(&mut self, event: RelayEvent) {
        match event {
            RelayEvent::Listening {
                address,
                role,
                hostname,
                tls,
                ca_file,
                ..
            } => {
                self.status = RelayStatus::Running {
                    address,
                    role,
                    hostname,
                    tls,
                    ca_file,
                };
            }
            RelayEvent::Session(SessionEvent::Connected { session }) => {
                self.upsert(&session);
            }
            RelayEvent::Session(SessionEvent::Refused { peer, reply }) => {
                self.sessions.push(SessionRow {
                    id: String::new(),
                    peer: peer.to_string(),
                    started: None,
                    helo: None,
                    tls: None,
                    closed: Some("refused".into()),
                    refused: Some(reply),
                    messages: 0,
                    ms: 0,
                    transcript: Vec::new(),
                    transcript_dropped: 0,
                    checks: Vec::new(),
                });
                trim_front(&mut self.sessions);
            }
            RelayEvent::Session(SessionEvent::Tls { session_id, tls }) => {
                if let Some(row) = self.sessions.iter_mut().find(|s| s.id == session_id) {
                    row.tls = Some(tls);
                }
            }
            RelayEvent::Session(SessionEvent::Closed {
                session,
                reason,
                messages,
                ms,
                transcript,
                transcript_dropped,
            }) => {
                if let Some(row) = self.upsert(&session) {
                    row.helo.clone_from(&session.helo);
                    row.tls.clone_from(&session.tls);
                    row.closed = Some(reason);
                    row.messages = messages;
                    row.ms = ms;
                    row.transcript = transcript;
                    row.transcript_dropped = transcript_dropped;
                }
            }
            RelayEvent::SessionChecks { session_id, checks } => {
                if let Some(row) = self.sessions.iter_mut().find(|s| s.id == session_id) {
                    row.checks = checks;
                }
            }
            RelayEvent::Message(report) => {
                self.messages.push(report);
                trim_front(&mut self.messages);
            }
            RelayEvent::Delivery { .. } => {}
        }
    }

    /// The test message as asked for, sent via the relay when no host is given.
    ///
    /// # Errors
    /// When there is nowhere to send it.
    pub fn send_request(&self) -> Result<TestSendRequest, String> {
        let via = match (self.send.via.trim(), self.address()) {
            ("", Some(address)) => address.to_string(),
            ("", None) => {
                return Err("Start the relay, or give a host:port to send the test message via.".into());
            }
            (via, _) => via.to_string(),
        };
        Ok(TestSendRequest {
            via,
            from: self.send.from.clone(),
            to: self.send.to.clone(),
            tls: self.send.tls,
        })
    }
}

fn hms(t: OffsetDateTime) -> String {
    t.format(&time::macros::format_description!("[hour]:[minute]:[second]"))
        .unwrap_or_default()
}

fn full_time(t: OffsetDateTime) -> String {
    t.format(&time::macros::format_description!(
        "[year]-[month]-[day] [hour]:[minute]:[second] UTC"
    ))
    .unwrap_or_default()
}

fn labelled_edit(ui: &mut egui::Ui, label: &str, text: &mut String, width: f32, hint: &str, enabled: bool) {
    let l = ui.label(label);
    ui.add_enabled(
        enabled,
        egui::TextEdit::singleline(text)
            .desired_width(width)
            .hint_text(hint),
    )
    .labelled_by(l.id);
}

/// The view.
pub fn show(ui: &mut egui::Ui, state: &mut RelayState, now: OffsetDateTime, out: &mut Vec<Command>) {
    controls(ui, state, out);
    send_area(ui, state, out);
    ui.separator();
    if state.selected.is_some() {
        egui::Panel::right("relay-detail")
            .resizable(true)
            .default_size(470.0)
            .size_range(300.0..=760.0)
            .show(ui, |ui| detail(ui, state, now, out));
    }
    lists(ui, state, out);
}

fn controls(ui: &mut egui::Ui, state: &mut RelayState, out: &mut Vec<Command>) {
    let stopped = matches!(state.status, RelayStatus::Stopped);
    let form = &mut state.form;
    ui.horizontal_wrapped(|ui| {
        ui.label("Role");
        let mut role = form.role;
        ui.add_enabled_ui(stopped, |ui| {
            egui::ComboBox::from_id_salt("relay-role")
                .selected_text(role_name(role))
                .width(90.0)
                .show_ui(ui, |ui| {
                    for r in ROLES {
                        ui.selectable_value(&mut role, r, role_name(r))
                            .on_hover_text(role_hint(r));
                    }
                })
                .response
                .widget_info(|| egui::WidgetInfo::labeled(egui::Role::ComboBox, stopped, "Relay role"));
        });
        form.role = role;
        labelled_edit(ui, "Listen", &mut form.listen, 150.0, DEFAULT_LISTEN, stopped);
        labelled_edit(
            ui,
            "Accepted domains",
            &mut form.accept_domains,
            160.0,
            "all (contoso.com, …)",
            stopped,
        );
        labelled_edit(ui, "Spool", &mut form.spool, 240.0, "directory", stopped);
    });
    // What the client certificate is judged against (the eop role refuses relaying without a match).
    ui.horizontal_wrapped(|ui| {
        labelled_edit(
            ui,
            "Expected certificate name",
            &mut form.expect_cert_names,
            200.0,
            if form.role == Role::Eop {
                "required for eop: mail.contoso.com"
            } else {
                "optional"
            },
            stopped,
        );
        labelled_edit(
            ui,
            "Client CA",
            &mut form.client_ca,
            260.0,
            "PEM file (default: the system store)",
            stopped,
        );
    });
    ui.horizontal(|ui| {
        match &state.status {
            RelayStatus::Stopped => {
                if ui
                    .button("▶ Start relay")
                    .on_hover_text("Listen with these settings")
                    .clicked()
                {
                    out.push(Command::StartRelay);
                }
                ui.label(RichText::new("Stopped").weak());
            }
            RelayStatus::Starting => {
                ui.add_enabled(false, egui::Button::new("▶ Start relay"));
                ui.spinner();
                ui.label("Starting…");
            }
            RelayStatus::Running {
                address,
                role,
                hostname,
                tls,
                ca_file,
            } => {
                if ui
                    .button("⏹ Stop relay")
                    .on_hover_text("Stop listening; captured messages stay in the spool")
                    .clicked()
                {
                    out.push(Command::StopRelay);
                }
                let tls = if *tls { "STARTTLS offered" } else { "no STARTTLS" };
                let text = format!(
                    "Listening on {address} as {} ({hostname}), {tls}",
                    role_name(*role)
                );
                let status = ui.label(RichText::new(text).color(theme::status_color(ui, Status::Pass)));
                if let Some(ca) = ca_file {
                    status.on_hover_text(format!("Clients can trust {}", ca.display()));
                }
            }
            RelayStatus::Stopping => {
                ui.add_enabled(false, egui::Button::new("⏹ Stop relay"));
                ui.spinner();
                ui.label("Stopping…");
            }
        }
        if state.dropped > 0 {
            ui.label(
                RichText::new(format!("{} events dropped (the UI fell behind)", state.dropped))
                    .color(theme::status_color(ui, Status::Warn)),
            );
        }
    });
}

fn send_area(ui: &mut egui::Ui, state: &mut RelayState, out: &mut Vec<Command>) {
    let via_hint = state
        .address()
        .map_or_else(|| "host:port".to_string(), |a| a.to_string());
    let send = &mut state.send;
    ui.horizontal_wrapped(|ui| {
        ui.label(RichText::new("Test message").strong());
        labelled_edit(ui, "To", &mut send.to, 170.0, "user@contoso.com", true);
        labelled_edit(ui, "From", &mut send.from, 170.0, "mailpath@contoso.com", true);
        labelled_edit(ui, "Via", &mut send.via, 150.0, &via_hint, true);
        ui.checkbox(&mut send.tls, "Require TLS");
        let button = ui.add_enabled(!state.sending, egui::Button::new("✉ Send"));
        button.widget_info(|| {
            egui::WidgetInfo::labeled(egui::Role::Button, !state.sending, "Send test message")
        });
        if button
            .on_hover_text("Send a tracked test message, like mailpath relay send")
            .clicked()
        {
            out.push(Command::SendTestMessage);
        }
        if state.sending {
            ui.spinner();
        }
    });
    if let Some(result) = &state.last_send {
        let (text, status) = match result {
            Ok(r) if r.delivered => (
                format!(
                    "✔ delivered to {} via {} in {} ms{} · tracking id {} · {}",
                    r.to,
                    r.via,
                    r.ms,
                    r.tls.as_deref().map(|t| format!(" ({t})")).unwrap_or_default(),
                    r.tracking_id,
                    r.reply
                ),
                Status::Pass,
            ),
            Ok(r) => (
                format!(
                    "✖ not delivered to {} via {}: {} · tracking id {}",
                    r.to, r.via, r.reply, r.tracking_id
                ),
                Status::Fail,
            ),
            Err(e) => (format!("✖ {e}"), Status::Fail),
        };
        ui.add(egui::Label::new(RichText::new(text).color(theme::status_color(ui, status))).truncate());
    }
}

fn role_name(role: Role) -> &'static str {
    match role {
        Role::Sink => "sink",
        Role::Eop => "eop",
        Role::Edge => "edge",
        Role::Mailbox => "mailbox",
    }
}

fn role_hint(role: Role) -> &'static str {
    match role {
        Role::Sink => "Accept and capture everything",
        Role::Eop => {
            "Exchange Online Protection: TLS and a client certificate matching the expected name, or 550 5.7.64"
        }
        Role::Edge => "An Edge Transport server's receive connector",
        Role::Mailbox => "A Mailbox server's Default Frontend receive connector",
    }
}

/// `internal`, `anonymous`, `unknown` with its colour.
pub fn verdict_status(v: &Verdict) -> Status {
    match v.classification {
        Classification::Internal => Status::Pass,
        Classification::Anonymous => Status::Fail,
        Classification::Unknown => Status::Warn,
    }
}

fn lists(ui: &mut egui::Ui, state: &RelayState, out: &mut Vec<Command>) {
    let half = ((ui.available_height() - 60.0) / 2.0).max(80.0);
    ui.label(RichText::new(format!("Sessions ({})", state.sessions.len())).strong());
    if state.sessions.is_empty() {
        ui.label(RichText::new("No sessions yet: point a sender at the relay.").weak());
    } else {
        ui.push_id("relay-sessions", |ui| {
            ui.set_max_height(half);
            sessions_table(ui, state, half, out);
        });
    }
    ui.add_space(6.0);
    ui.label(RichText::new(format!("Messages ({})", state.messages.len())).strong());
    if state.messages.is_empty() {
        ui.label(RichText::new("No messages yet.").weak());
    } else {
        ui.push_id("relay-messages", |ui| messages_table(ui, state, out));
    }
}

/// A striped, clickable table that follows new rows: one column per title, the first ones taking these
/// fractions of the width and the last one the rest.
fn live_table<'a>(
    ui: &'a mut egui::Ui,
    salt: &str,
    fractions: &[f32],
    titles: &[&str],
    max_height: Option<f32>,
) -> egui_extras::Table<'a> {
    let w = ui.available_width();
    let mut builder = TableBuilder::new(ui)
        .id_salt(salt)
        .striped(true)
        .sense(egui::Sense::click())
        .stick_to_bottom(true)
        .cell_layout(egui::Layout::left_to_right(egui::Align::Center));
    if let Some(h) = max_height {
        builder = builder.max_scroll_height(h);
    }
    for f in fractions {
        builder = builder.column(Column::exact((w * f).max(40.0)).clip(true));
    }
    builder
        .column(Column::remainder().at_least(40.0).clip(true))
        .header(ROW_HEIGHT, |mut header| {
            for title in titles {
                header.col(|ui| {
                    ui.strong(*title);
                });
            }
        })
}

fn sessions_table(ui: &mut egui::Ui, state: &RelayState, height: f32, out: &mut Vec<Command>) {
    let selected = match &state.selected {
        Some(RelaySelection::Session(id)) => Some(id.as_str()),
        _ => None,
    };
    live_table(
        ui,
        "relay-sessions-table",
        &[0.165, 0.13, 0.14, 0.15, 0.175],
        &["Session", "Client", "EHLO", "TLS", "Client certificate", "Status"],
        Some(height),
    )
    .body(|body| {
        body.rows(ROW_HEIGHT, state.sessions.len(), |mut row| {
            let Some(s) = state.sessions.get(row.index()) else {
                return;
            };
            let is_selected = !s.id.is_empty() && selected == Some(s.id.as_str());
            row.set_selected(is_selected);
            let mut clicked = false;
            row.col(|ui| {
                let time = s.started.map(hms).unwrap_or_default();
                let text = if s.id.is_empty() {
                    format!("{time} refused")
                } else {
                    format!("{time} {}", s.id)
                };
                let r = ui.selectable_label(is_selected, text);
                let label = format!("Session {} from {}: {}", s.id, s.peer, s.status_words());
                r.widget_info(|| egui::WidgetInfo::selected(egui::Role::Button, true, is_selected, &label));
                clicked |= r.clicked();
            });
            row.col(|ui| {
                ui.add(egui::Label::new(&s.peer).truncate());
            });
            row.col(|ui| {
                ui.add(egui::Label::new(s.helo.as_deref().unwrap_or("—")).truncate());
            });
            row.col(|ui| {
                let text = s
                    .tls
                    .as_ref()
                    .map_or_else(|| "none".to_string(), |t| format!("{} {}", t.version, t.cipher));
                ui.add(egui::Label::new(text).truncate());
            });
            row.col(|ui| {
                ui.add(egui::Label::new(s.cert_words()).truncate());
            });
            row.col(|ui| {
                let words = s.status_words();
                let text = if words.starts_with("refused") {
                    RichText::new(words).color(theme::status_color(ui, Status::Fail))
                } else {
                    RichText::new(words)
                };
                ui.add(egui::Label::new(text).truncate());
            });
            if (clicked || row.response().clicked()) && !s.id.is_empty() {
                out.push(Command::SelectRelay(Some(RelaySelection::Session(s.id.clone()))));
            }
        });
    });
}

fn messages_table(ui: &mut egui::Ui, state: &RelayState, out: &mut Vec<Command>) {
    let selected = match &state.selected {
        Some(RelaySelection::Message(id)) => Some(id.as_str()),
        _ => None,
    };
    live_table(
        ui,
        "relay-messages-table",
        &[0.1, 0.2, 0.21, 0.08, 0.13],
        &["Time", "From", "To", "Size", "Verdict", "Checks"],
        None,
    )
    .body(|body| {
        body.rows(ROW_HEIGHT, state.messages.len(), |mut row| {
            let Some(m) = state.messages.get(row.index()) else {
                return;
            };
            let is_selected = selected == Some(m.id.as_str());
            row.set_selected(is_selected);
            let mut clicked = false;
            row.col(|ui| {
                let r = ui.selectable_label(is_selected, hms(m.received_at));
                let label = format!(
                    "Message {} from {} to {}: {}",
                    m.id,
                    m.mail_from,
                    m.rcpt_to.join(", "),
                    m.verdict.classification.as_str()
                );
                r.widget_info(|| egui::WidgetInfo::selected(egui::Role::Button, true, is_selected, &label));
                clicked |= r.clicked();
            });
            row.col(|ui| {
                ui.add(egui::Label::new(&m.mail_from).truncate());
            });
            row.col(|ui| {
                ui.add(egui::Label::new(m.rcpt_to.join(", ")).truncate());
            });
            row.col(|ui| {
                ui.label(size_words(m.size));
            });
            row.col(|ui| {
                let status = verdict_status(&m.verdict);
                let verdict = ui.label(
                    RichText::new(format!(
                        "{} {}",
                        theme::status_icon(status),
                        m.verdict.classification.as_str()
                    ))
                    .color(theme::status_color(ui, status)),
                );
                if !m.verdict.reasons.is_empty() {
                    verdict.on_hover_text(m.verdict.reasons.join("\n"));
                }
            });
            row.col(|ui| {
                ui.add(egui::Label::new(counts_words(&Counts::of(&m.checks))).truncate());
            });
            if clicked || row.response().clicked() {
                out.push(Command::SelectRelay(Some(RelaySelection::Message(m.id.clone()))));
            }
        });
    });
}

fn size_words(size: usize) -> String {
    if size < 10 * 1024 {
        format!("{size} B")
    } else {
        format!("{} KiB", size / 1024)
    }
}

fn detail(ui: &mut egui::Ui, state: &RelayState, now: OffsetDateTime, out: &mut Vec<Command>) {
    let Some(selected) = &state.selected else { return };
    ui.horizontal(|ui| {
        let close = ui.button("×").on_hover_text("Close");
        close.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Button, true, "Close the relay detail"));
        if close.clicked() {
            out.push(Command::SelectRelay(None));
        }
        let title = match selected {
            RelaySelection::Session(id) => format!("Session {id}"),
            RelaySelection::Message(id) => format!("Message {id}"),
        };
        ui.heading(title);
    });
    ui.separator();
    egui::ScrollArea::vertical()
        .auto_shrink([false, false])
        .show(ui, |ui| match selected {
            RelaySelection::Session(id) => match state.session(id) {
                Some(s) => session_detail(ui, s, now, out),
                None => {
                    ui.label(RichText::new("This session is no longer in the list.").weak());
                }
            },
            RelaySelection::Message(id) => match state.messages.iter().find(|m| &m.id == id) {
                Some(m) => message_detail(ui, m, state.session(&m.session_id), now, out),
                None => {
                    ui.label(RichText::new("This message is no longer in the list.").weak());
                }
            },
        });
}

fn grid(ui: &mut egui::Ui, id: &str, rows: &[(&str, String)]) {
    let width = ui.available_width();
    egui::Grid::new(id)
        .num_columns(2)
        .max_col_width(width * 0.72)
        .spacing([12.0, 4.0])
        .striped(true)
        .show(ui, |ui| {
            for (k, v) in rows {
                ui.label(RichText::new(*k).weak());
                ui.add(egui::Label::new(v).truncate()).on_hover_text(v);
                ui.end_row();
            }
        });
}

fn tls_words(tls: &TlsInfo) -> String {
    let mut words = format!("{} · {}", tls.version, tls.cipher);
    if let Some(sni) = &tls.sni {
        words.push_str(&format!(" · SNI {sni}"));
    }
    words
}

fn client_cert_ui(ui: &mut egui::Ui, tls: Option<&TlsInfo>, now: OffsetDateTime) {
    ui.add_space(6.0);
    ui.strong("Client certificate");
    let Some(tls) = tls else {
        ui.label(RichText::new("none (no TLS)").weak());
        return;
    };
    if tls.client_chain_der_b64.is_empty() {
        ui.label(RichText::new("none: the client presented no certificate").weak());
        return;
    }
    for (i, cert) in tls
        .client_chain()
        .iter()
        .map(|der| CapturedCert::read(der))
        .enumerate()
    {
        match cert {
            CapturedCert::Parsed(c) => {
                egui::CollapsingHeader::new(format!("#{i} {}", short_name(&c.subject)))
                    .id_salt(("relay-client-cert", i))
                    .default_open(i == 0)
                    .show(ui, |ui| cert_ui(ui, &c, now));
            }
            CapturedCert::Unparsed { reason } => {
                ui.label(RichText::new(format!("#{i}: {reason}")).color(theme::error_color(ui)));
            }
        }
    }
}

fn checks_ui(ui: &mut egui::Ui, checks: &[CheckResult], out: &mut Vec<Command>) {
    ui.add_space(6.0);
    ui.strong(format!("Checks ({})", counts_words(&Counts::of(checks))));
    if checks.is_empty() {
        ui.label(RichText::new("No checks (sessions are judged after STARTTLS, when they close).").weak());
        return;
    }
    let mut sorted: Vec<&CheckResult> = checks.iter().collect();
    sorted.sort_by(|a, b| b.status.cmp(&a.status).then_with(|| a.id.cmp(&b.id)));
    for c in sorted {
        check_card(ui, c, out);
        ui.add_space(4.0);
    }
}

fn session_detail(ui: &mut egui::Ui, s: &SessionRow, now: OffsetDateTime, out: &mut Vec<Command>) {
    let rows = vec![
        ("Client", s.peer.clone()),
        ("Started", s.started.map(full_time).unwrap_or_default()),
        ("EHLO", s.helo.clone().unwrap_or_else(|| "—".into())),
        ("TLS", s.tls.as_ref().map_or_else(|| "none".into(), tls_words)),
        ("Client certificate", s.cert_words()),
        ("Status", s.status_words()),
        ("Messages", s.messages.to_string()),
        ("Duration", format!("{} ms", s.ms)),
    ];
    grid(ui, "relay-session-grid", &rows);
    if let Some(r) = s.last_refusal() {
        ui.add_space(4.0);
        ui.label(
            RichText::new(format!("Last refusal: {r}"))
                .monospace()
                .color(theme::status_color(ui, Status::Fail)),
        );
    }
    ui.add_space(6.0);
    ui.strong("Transcript");
    if s.closed.is_none() {
        ui.label(RichText::new("The transcript arrives when the session closes.").weak());
    } else {
        let words = s.tls.as_ref().map(tls_words).unwrap_or_default();
        // Long lines scroll sideways rather than widening the pane.
        egui::ScrollArea::horizontal()
            .id_salt("relay-transcript")
            .auto_shrink([false, true])
            .show(ui, |ui| transcript_rows(ui, &s.transcript, &words));
        if s.transcript_dropped > 0 {
            ui.label(RichText::new(format!("({} more lines left out)", s.transcript_dropped)).weak());
        }
    }
    client_cert_ui(ui, s.tls.as_ref(), now);
    checks_ui(ui, &s.checks, out);
}

fn message_detail(
    ui: &mut egui::Ui,
    m: &MessageReport,
    session: Option<&SessionRow>,
    now: OffsetDateTime,
    out: &mut Vec<Command>,
) {
    verdict_ui(ui, &m.verdict);
    ui.add_space(6.0);
    let mut rows = vec![
        ("Received", full_time(m.received_at)),
        ("Session", m.session_id.clone()),
        ("Client", m.peer.clone()),
        ("EHLO", m.helo.clone().unwrap_or_else(|| "—".into())),
        ("From", m.mail_from.clone()),
        ("To", m.rcpt_to.join(", ")),
        ("Subject", m.subject.clone().unwrap_or_else(|| "—".into())),
        ("Size", size_words(m.size)),
        ("TLS", m.tls.clone().unwrap_or_else(|| "none".into())),
        ("Received fields", m.hops.to_string()),
    ];
    if let Some(t) = &m.tracking_id {
        rows.push(("Tracking id", t.clone()));
    }
    grid(ui, "relay-message-grid", &rows);
    match session.and_then(|s| s.tls.as_ref()) {
        Some(tls) => client_cert_ui(ui, Some(tls), now),
        None => {
            ui.add_space(6.0);
            ui.strong("Client certificate");
            let words = match &m.client_cert {
                Some(c) => format!("{} ({})", c.subject, c.names().join(", ")),
                None => "none".into(),
            };
            ui.label(words);
        }
    }
    checks_ui(ui, &m.checks, out);
}

/// The verdict, prominent: INTERNAL or ANONYMOUS in its colour, the deciding header and the reasons.
pub fn verdict_ui(ui: &mut egui::Ui, v: &Verdict) {
    let status = verdict_status(v);
    egui::Frame::group(ui.style())
        .stroke(egui::Stroke::new(1.5, theme::status_color(ui, status)))
        .show(ui, |ui| {
            ui.set_width(ui.available_width());
            ui.horizontal_wrapped(|ui| {
                let label = ui.label(
                    RichText::new(format!(
                        "{} {}",
                        theme::status_icon(status),
                        v.classification.as_str().to_uppercase()
                    ))
                    .size(20.0)
                    .strong()
                    .color(theme::status_color(ui, status)),
                );
                let words = format!("Verdict: {}", v.classification.as_str());
                label.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Label, true, &words));
            });
            let mut how = Vec::new();
            if let Some(basis) = &v.basis {
                how.push(format!("decided by {basis}"));
            }
            if v.hybrid {
                how.push("crossed between on-premises and Exchange Online".to_string());
            }
            if !how.is_empty() {
                ui.label(RichText::new(how.join(" · ")).weak());
            }
            for reason in &v.reasons {
                ui.label(format!("• {reason}"));
            }
        });
}
