//! The Relay view's state: the settings as typed, whether the relay runs, the sessions and messages it
//! reported (the newest [`MAX_ROWS`] of each), the selection and the test message form. Events of the
//! relay arrive through [`RelayState::apply`].

use std::net::SocketAddr;
use std::path::PathBuf;

use mailpath_core::cert::CapturedCert;
use mailpath_core::check::CheckResult;
use mailpath_core::evidence::{Direction, TranscriptLine};
use mailpath_core::relay::inspect::MessageReport;
use mailpath_core::relay::{RelayConfig, RelayEvent, Role, TlsSource};
use mailpath_core::smtp::server::{SessionEvent, SessionInfo, TlsInfo};
use time::OffsetDateTime;

use crate::gui::worker::{TestSend, TestSendRequest};

/// Sessions and messages kept in the lists (the oldest go first).
pub const MAX_ROWS: usize = 500;
/// Where the relay listens unless told otherwise (as `mailpath relay`).
pub const DEFAULT_LISTEN: &str = "127.0.0.1:2525";

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
                let mut words = c.short_subject().to_string();
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
