//! The bundled test relay (`mailpath relay`): a local SMTP server that captures what Exchange (or
//! anything else) sends, durably, judges it, and optionally behaves like EOP, an Edge or a Mailbox
//! server and forwards to a smart host.
//!
//! - [`spool`]: the durable spool; `250 queued` means the message is synced to disk.
//! - [`files`]: private files and directories (0600/0700, never through a symbolic link).
//! - [`tls`]: the server certificate (files or generated), client certificate capture, name matching.
//! - [`inspect`]: `relay.*` checks of sessions and messages, EOP's certificate attribution.
//! - [`forward`] and [`client`]: forwarding to a smart host or by MX, with retries, bounces and a
//!   delivery log.
//!
//! [`Relay::start`] wires them around [`crate::smtp::server`]. Everything observable is sent as a
//! [`RelayEvent`] to an optional bounded channel (events that do not fit are dropped and counted,
//! never waited for), so a GUI can list sessions and messages live.

pub mod client;
pub mod files;
pub mod forward;
pub mod inspect;
pub mod spool;
pub mod tls;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use rustls_pki_types::CertificateDer;
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::check::CheckResult;
use crate::smtp::personality::Personality;
use crate::smtp::server::{Limits, ServerConfig, SessionEvent, SessionObserver, SmtpServer};
use forward::{BouncePolicy, ForwardConfig, Forwarder};
use inspect::{EopAttribution, Inspector, MessageReport};
use spool::{Attempt, DeliveryState, MessageMeta, RecipientFailure, Recovery, Spool, SpoolError, SpoolSink};
use tls::TlsSetupError;

/// The schema tag of the relay's `listening` event.
pub const SCHEMA: &str = "mailpath/relay/1";
/// Capacity of the queue between the spool and the message inspector.
const INSPECT_QUEUE: usize = 1024;
/// File descriptors one session may hold at once: its socket, its message streaming to `tmp/`, and
/// the metadata file while the message is committed.
pub const FDS_PER_SESSION: u64 = 3;
/// File descriptors kept for everything but sessions: standard streams, the runtime, the listener,
/// connections being refused ([`crate::smtp::server::MAX_REFUSING`]), forwarding connections and the
/// messages they read, DNS, directory syncs, signal handling.
pub const FDS_RESERVED: u64 = 40;

/// Raise the soft `RLIMIT_NOFILE` of this process to its hard limit where the system allows it.
/// Returns the soft limit in force afterwards (`None`: unlimited, or not a Unix system).
pub fn raise_fd_limit() -> Option<u64> {
    #[cfg(unix)]
    {
        use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
        let limit = getrlimit(Resource::Nofile);
        if limit.current != limit.maximum {
            let raised = Rlimit {
                current: limit.maximum,
                maximum: limit.maximum,
            };
            if let Err(error) = setrlimit(Resource::Nofile, raised) {
                tracing::warn!(%error, "could not raise the open file limit to the hard limit");
            }
        }
        getrlimit(Resource::Nofile).current
    }
    #[cfg(not(unix))]
    {
        None
    }
}

/// The most sessions that fit in `fd_limit` file descriptors (at least one).
pub fn sessions_that_fit(fd_limit: u64) -> usize {
    let fit = fd_limit.saturating_sub(FDS_RESERVED) / FDS_PER_SESSION;
    usize::try_from(fit).unwrap_or(usize::MAX).max(1)
}

/// The server the relay imitates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    /// Accept and capture everything (within the accepted domains, when given).
    #[default]
    Sink,
    /// Exchange Online Protection receiving from on-premises: TLS required before MAIL; recipients in
    /// the accepted domains from anyone (attributed by certificate = internal, else anonymous);
    /// relaying to any other domain only with a client certificate matching the inbound
    /// connector's TlsSenderCertificateName, or `550 5.7.64`.
    Eop,
    /// An Edge Transport server's receive connector.
    Edge,
    /// An Exchange Mailbox server's Default Frontend receive connector.
    Mailbox,
}

impl Role {
    /// The banner and EHLO personality.
    pub fn personality(self) -> Personality {
        match self {
            Role::Sink => Personality::Generic,
            Role::Eop => Personality::Eop,
            Role::Edge => Personality::ExchangeEdgeInternal,
            Role::Mailbox => Personality::ExchangeMailbox,
        }
    }

    /// The host name used when none is given.
    pub fn default_hostname(self) -> &'static str {
        match self {
            Role::Sink => "relay.mailpath.test",
            Role::Eop => "eop.mailpath.test",
            Role::Edge => "edge.mailpath.test",
            Role::Mailbox => "mailbox.mailpath.test",
        }
    }
}

/// Where the relay's TLS certificate comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TlsSource {
    /// PEM files: the chain (leaf first) and the private key.
    Files {
        /// The certificate chain.
        cert: PathBuf,
        /// The private key (PKCS#8, PKCS#1 or SEC1).
        key: PathBuf,
    },
    /// Generated at start by a fresh lab CA; its root is written to `relay-ca.pem` in the spool.
    Generate,
    /// No STARTTLS.
    Disabled,
}

/// Everything the relay needs to know.
#[derive(Debug, Clone)]
pub struct RelayConfig {
    /// Where to listen.
    pub listen: SocketAddr,
    /// The role.
    pub role: Role,
    /// The name in the banner and EHLO reply (default: [`Role::default_hostname`]).
    pub hostname: Option<String>,
    /// The spool directory.
    pub spool_dir: PathBuf,
    /// Recipient domains accepted; empty = every recipient (only allowed without forwarding).
    pub accepted_domains: Vec<String>,
    /// Names the client certificate must match (TlsSenderCertificateName for `eop`).
    pub expected_cert_names: Vec<String>,
    /// Trust anchors for client certificate chains (`--client-ca`); `None` = the system store.
    pub client_roots: Option<Vec<CertificateDer<'static>>>,
    /// The TLS certificate.
    pub tls: TlsSource,
    /// Ask clients for a certificate during the TLS handshake.
    pub request_client_cert: bool,
    /// Bounds.
    pub limits: Limits,
    /// Forwarding, when configured.
    pub forward: Option<ForwardConfig>,
    /// Send bounces to senders outside the accepted domains too (`--bounce-external`); by default
    /// such a failure is only logged and the message kept in the spool (no backscatter).
    pub bounce_external: bool,
}

impl RelayConfig {
    /// A sink on `listen` with a generated certificate, spooling to `spool_dir`.
    pub fn new(listen: SocketAddr, spool_dir: impl Into<PathBuf>) -> RelayConfig {
        RelayConfig {
            listen,
            role: Role::Sink,
            hostname: None,
            spool_dir: spool_dir.into(),
            accepted_domains: Vec::new(),
            expected_cert_names: Vec::new(),
            client_roots: None,
            tls: TlsSource::Generate,
            request_client_cert: true,
            limits: Limits::default(),
            forward: None,
            bounce_external: false,
        }
    }

    fn hostname(&self) -> String {
        self.hostname
            .clone()
            .unwrap_or_else(|| self.role.default_hostname().to_string())
    }
}

/// Why the relay could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RelayError {
    /// The configuration would make an open relay or cannot work.
    #[error("{0}")]
    Config(String),
    /// The spool could not be opened or recovered.
    #[error("spool: {0}")]
    Spool(#[from] SpoolError),
    /// TLS could not be set up.
    #[error("TLS: {0}")]
    Tls(#[from] TlsSetupError),
    /// The listen address could not be bound.
    #[error("could not listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
}

/// Something the relay did, for the event stream (`mailpath relay --format json` prints one per
/// line, tagged by `event`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "kebab-case")]
pub enum RelayEvent {
    /// The relay is ready.
    Listening {
        /// [`SCHEMA`].
        schema: String,
        /// The bound address.
        address: SocketAddr,
        /// The role.
        role: Role,
        /// The banner/EHLO name.
        hostname: String,
        /// The spool directory.
        spool: PathBuf,
        /// The generated CA certificate clients can trust, when the certificate was generated.
        ca_file: Option<PathBuf>,
        /// Whether STARTTLS is offered.
        tls: bool,
        /// The smart host, when forwarding.
        forward: Option<String>,
        /// Recipient domains accepted (empty: all).
        accepted_domains: Vec<String>,
        /// Names client certificates are checked against.
        expected_cert_names: Vec<String>,
        /// What the spool recovery found.
        recovery: Recovery,
        /// Most sessions at once: `--max-sessions`, capped by the open file limit.
        #[serde(default)]
        max_sessions: usize,
        /// The open file limit (soft `RLIMIT_NOFILE`, raised to the hard one), when there is one.
        #[serde(default)]
        fd_limit: Option<u64>,
    },
    /// A session's `relay.*` checks (TLS and client certificate), when it closes after STARTTLS.
    SessionChecks {
        /// The session.
        session_id: String,
        /// The checks.
        checks: Vec<CheckResult>,
    },
    /// A message was stored and judged.
    Message(MessageReport),
    /// A forwarding attempt ended.
    Delivery {
        /// The spool id.
        id: String,
        /// The message's state after the attempt.
        state: DeliveryState,
        /// The attempt.
        attempt: Attempt,
        /// Recipients still to deliver.
        pending: Vec<String>,
        /// Recipients delivered so far.
        delivered: Vec<String>,
        /// Recipients given up on.
        failed: Vec<RecipientFailure>,
    },
    /// A session event from the server (connected, refused, tls, closed).
    #[serde(untagged)]
    Session(SessionEvent),
}

/// The sending side of the event stream: never blocks, counts what it drops.
#[derive(Debug, Clone, Default)]
pub struct EventTx {
    tx: Option<mpsc::Sender<RelayEvent>>,
    dropped: Arc<AtomicU64>,
}

impl EventTx {
    /// Events go to `tx` (or nowhere).
    pub fn new(tx: Option<mpsc::Sender<RelayEvent>>) -> EventTx {
        EventTx {
            tx,
            dropped: Arc::new(AtomicU64::new(0)),
        }
    }

    /// Whether anyone listens.
    pub fn active(&self) -> bool {
        self.tx.as_ref().is_some_and(|tx| !tx.is_closed())
    }

    /// Send without waiting; a full or closed channel drops the event.
    pub fn send(&self, event: RelayEvent) {
        if let Some(tx) = &self.tx
            && tx.try_send(event).is_err()
        {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Events dropped so far.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

struct Observer {
    events: EventTx,
    inspector: Arc<Inspector>,
}

impl SessionObserver for Observer {
    fn event(&self, event: SessionEvent) {
        if !self.events.active() {
            return;
        }
        let checks = match &event {
            SessionEvent::Closed { session, .. } if session.tls.is_some() => Some((
                session.id.clone(),
                self.inspector
                    .session_checks(session, time::OffsetDateTime::now_utc()),
            )),
            _ => None,
        };
        self.events.send(RelayEvent::Session(event));
        if let Some((session_id, checks)) = checks {
            self.events.send(RelayEvent::SessionChecks { session_id, checks });
        }
    }
}

struct Hook {
    inspect: Option<mpsc::Sender<(MessageMeta, Arc<Vec<u8>>)>>,
    forwarder: Option<Arc<Forwarder>>,
    events: EventTx,
}

impl spool::StoredHook for Hook {
    fn stored(&self, meta: &MessageMeta, head: Arc<Vec<u8>>) {
        if let Some(forwarder) = &self.forwarder
            && meta.delivery.state == DeliveryState::Queued
        {
            forwarder.enqueue(meta.id.clone());
        }
        // Judging a message costs a header parse: only when someone listens.
        if let Some(tx) = &self.inspect
            && self.events.active()
        {
            let _ = tx.try_send((meta.clone(), head));
        }
    }
}

/// A running relay.
pub struct Relay {
    server: SmtpServer,
    forwarder: Option<Arc<Forwarder>>,
    inspector_task: Option<JoinHandle<()>>,
    spool: Arc<Spool>,
    events: EventTx,
    ca_file: Option<PathBuf>,
    hostname: String,
}

impl std::fmt::Debug for Relay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Relay")
            .field("address", &self.server.local_addr())
            .field("hostname", &self.hostname)
            .field("spool", &self.spool.root())
            .finish_non_exhaustive()
    }
}

impl Relay {
    /// Open and recover the spool, set up TLS, start forwarding (when configured) and listen. The
    /// first event sent is [`RelayEvent::Listening`].
    ///
    /// # Errors
    /// When the configuration would make an open relay (forwarding without accepted domains), the
    /// `eop` role has no expected certificate name or forwards without a trust anchor to verify client
    /// certificates with, or the spool, TLS or the listener cannot be set up.
    pub async fn start(
        config: RelayConfig,
        events: Option<mpsc::Sender<RelayEvent>>,
    ) -> Result<Relay, RelayError> {
        if config.forward.is_some() && config.accepted_domains.is_empty() {
            return Err(RelayError::Config(
                "forwarding needs at least one accepted domain (--accept-domain): the relay is never an open \
                 relay"
                    .into(),
            ));
        }
        if config.role == Role::Eop && config.expected_cert_names.is_empty() {
            return Err(RelayError::Config(
                "the eop role needs the name the client certificate must match (--expect-cert-name, the \
                 inbound connector's TlsSenderCertificateName)"
                    .into(),
            ));
        }
        if config.role == Role::Eop && config.tls == TlsSource::Disabled {
            return Err(RelayError::Config("the eop role requires TLS".into()));
        }
        // EOP relays for a session its certificate attributes; with forwarding, that certificate must
        // be verifiable, or any self-signed one with the right name would open the relay.
        if config.role == Role::Eop && config.forward.is_some() {
            let trust = Inspector {
                client_roots: config.client_roots.clone(),
                ..Inspector::default()
            }
            .trust();
            if trust.is_empty() {
                return Err(RelayError::Config(format!(
                    "the eop role relays only for a client certificate whose chain verifies, and there is \
                     no trust anchor to verify one ({}): give --client-ca with the CA that issues the \
                     on-premises certificate",
                    trust.description()
                )));
            }
        }
        let mut config = config;
        let fd_limit = raise_fd_limit();
        if let Some(limit) = fd_limit {
            let fit = sessions_that_fit(limit);
            if config.limits.max_sessions > fit {
                tracing::warn!(
                    requested = config.limits.max_sessions,
                    fit,
                    limit,
                    "fewer sessions than asked: the open file limit leaves room for no more"
                );
                config.limits.max_sessions = fit;
            }
        }
        let events = EventTx::new(events);
        let hostname = config.hostname();
        let spool_dir = config.spool_dir.clone();
        let (spool, recovery) = tokio::task::spawn_blocking(move || Spool::open(&spool_dir))
            .await
            .map_err(|e| RelayError::Config(format!("spool task failed: {e}")))??;
        let spool = Arc::new(spool);

        let (tls, ca_file) = match &config.tls {
            TlsSource::Disabled => (None, None),
            TlsSource::Files { cert, key } => (Some(tls::load_certified_key(cert, key)?), None),
            TlsSource::Generate => {
                let mut names = vec![hostname.clone()];
                if config.role == Role::Eop {
                    names.push("mail.protection.outlook.com".into());
                    names.push("*.mail.protection.outlook.com".into());
                }
                names.push("localhost".into());
                if !config.listen.ip().is_unspecified() {
                    names.push(config.listen.ip().to_string());
                }
                let ca_file = config.spool_dir.join("relay-ca.pem");
                let key = tls::generate_certified_key(&hostname, &names, &ca_file)?;
                (Some(key), Some(ca_file))
            }
        };
        let tls = match tls {
            Some(key) => Some(tls::server_config(key, config.request_client_cert)?),
            None => None,
        };

        let inspector = Arc::new(Inspector {
            role: config.role,
            expected_names: config.expected_cert_names.clone(),
            client_roots: config.client_roots.clone(),
            org_domains: config.accepted_domains.clone(),
        });

        let forward_desc = config.forward.as_ref().map(|f| f.route.describe());
        let forwarder = config.forward.clone().map(|f| {
            Arc::new(Forwarder::start(
                f,
                BouncePolicy {
                    local_domains: config.accepted_domains.clone(),
                    external: config.bounce_external,
                },
                Arc::clone(&spool),
                hostname.clone(),
                events.clone(),
                &recovery.queued,
            ))
        });

        let (inspect_tx, inspector_task) = if events.active() {
            let (tx, mut rx) = mpsc::channel::<(MessageMeta, Arc<Vec<u8>>)>(INSPECT_QUEUE);
            let inspector = Arc::clone(&inspector);
            let events = events.clone();
            let task = tokio::spawn(async move {
                while let Some((meta, data)) = rx.recv().await {
                    if !events.active() {
                        continue;
                    }
                    let report = inspector.message_report(&meta, &data);
                    events.send(RelayEvent::Message(report));
                }
            });
            (Some(tx), Some(task))
        } else {
            (None, None)
        };

        let hook = Arc::new(Hook {
            inspect: inspect_tx,
            forwarder: forwarder.clone(),
            events: events.clone(),
        });
        let sink = SpoolSink::new(
            Arc::clone(&spool),
            hostname.clone(),
            config.forward.is_some(),
            Some(hook),
        );
        let mut server_config = ServerConfig::new(hostname.clone(), config.role.personality());
        server_config.tls = tls;
        server_config.accepted_domains = config.accepted_domains.clone();
        server_config.limits = config.limits.clone();
        server_config.sink = Some(Arc::new(sink));
        server_config.observer = Some(Arc::new(Observer {
            events: events.clone(),
            inspector: Arc::clone(&inspector),
        }));
        if config.role == Role::Eop {
            server_config.require_tls = true;
            server_config.policy = Some(Arc::new(EopAttribution {
                inspector: (*inspector).clone(),
            }));
        }
        let tls_on = server_config.tls.is_some();
        let server = SmtpServer::bind(config.listen, server_config)
            .await
            .map_err(|source| RelayError::Bind {
                addr: config.listen,
                source,
            })?;
        events.send(RelayEvent::Listening {
            schema: SCHEMA.to_string(),
            address: server.local_addr(),
            role: config.role,
            hostname: hostname.clone(),
            spool: config.spool_dir.clone(),
            ca_file: ca_file.clone(),
            tls: tls_on,
            forward: forward_desc,
            accepted_domains: config.accepted_domains.clone(),
            expected_cert_names: config.expected_cert_names.clone(),
            recovery,
            max_sessions: config.limits.max_sessions,
            fd_limit,
        });
        Ok(Relay {
            server,
            forwarder,
            inspector_task,
            spool,
            events,
            ca_file,
            hostname,
        })
    }

    /// The address the relay listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.server.local_addr()
    }

    /// The spool.
    pub fn spool(&self) -> &Arc<Spool> {
        &self.spool
    }

    /// The generated CA certificate file, when the certificate was generated.
    pub fn ca_file(&self) -> Option<&PathBuf> {
        self.ca_file.as_ref()
    }

    /// Events dropped because the channel was full.
    pub fn dropped_events(&self) -> u64 {
        self.events.dropped()
    }

    /// Stop listening, end the sessions and the forwarder. Every acknowledged message is in the
    /// spool already; queued ones are picked up again by the next start.
    pub async fn shutdown(self) {
        self.server.shutdown().await;
        if let Some(forwarder) = self.forwarder {
            forwarder.shutdown().await;
        }
        if let Some(task) = self.inspector_task {
            task.abort();
            let _ = task.await;
        }
    }
}

#[cfg(test)]
mod tests;
