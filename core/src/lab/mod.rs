//! The embedded hybrid lab: a simulated Exchange hybrid deployment on loopback, unprivileged.
//!
//! One [`Lab`] runs, in the current tokio runtime: an authoritative DNS server for the lab zones,
//! SMTP endpoints that behave like an Exchange Mailbox server, an Edge Transport server (internal and
//! external listeners, plus EdgeSync's LDAPS port) and EOP, a lab CA that issued their certificates,
//! and the fault of the chosen [`Scenario`]. Everything binds to 127.0.0.1 on ports the OS picks;
//! the generated profile maps each host name to its port. State (CA certificate, profile, the
//! on-premises certificate and its key) lives in a private temporary directory (0700, files 0600)
//! that disappears with the lab: when it is dropped, and when the process is stopped by SIGINT
//! (Ctrl+C), SIGTERM or SIGHUP ([`LabOptions::remove_on_signal`]).

pub mod dns_server;
pub mod export;
mod handshake_only;
mod listeners;
pub mod scenario;
mod zones;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use time::OffsetDateTime;

pub use scenario::{DEFAULT_SCENARIO, Fault, SCENARIOS, Scenario, scenario};

use crate::ca::{self, IssuedCert, LabCa, LeafIssuer, LeafKey, LeafSpec};
use crate::cloud::Cloud;
use crate::profile::Profile;
use crate::smtp::{Faults, Personality, ServerConfig, SmtpServer};
use dns_server::LabDnsServer;

/// The lab's organisation: names every scenario shares.
pub mod names {
    /// The accepted domain.
    pub const DOMAIN: &str = "contoso.com";
    /// The tenant name.
    pub const TENANT: &str = "contoso";
    /// The tenant's routing (coexistence) domain.
    pub const ROUTING_DOMAIN: &str = "contoso.mail.onmicrosoft.com";
    /// The tenant's initial domain.
    pub const ONMICROSOFT_DOMAIN: &str = "contoso.onmicrosoft.com";
    /// The on-premises hybrid endpoint: the Edge's external name, or the Mailbox server's.
    pub const PUBLIC_HOST: &str = "mail.contoso.com";
    /// The Mailbox server.
    pub const MAILBOX_HOST: &str = "ex01.contoso.com";
    /// The Edge Transport server's internal name.
    pub const EDGE_HOST: &str = "edge01.contoso.com";
    /// The tenant's EOP endpoint.
    pub const EOP_HOST: &str = "contoso-com.mail.protection.outlook.com";
    /// The name an EOP front-end server gives in its banner.
    pub const EOP_FRONTEND: &str = "LO2PEPF00001A2B.mail.protection.outlook.com";
    /// The name EOP's certificate is issued to (and the send connector's TlsDomain).
    pub const EOP_TLS_DOMAIN: &str = "mail.protection.outlook.com";
    /// Where the `wrong-mx` scenario points the routing domain's MX: a retired Office 365 endpoint.
    pub const LEGACY_MX_HOST: &str = "mail.messaging.microsoft.com";
    /// The second Mailbox server of the `receive-cert-stale` scenario.
    pub const MAILBOX2_HOST: &str = "ex02.contoso.com";
    /// The Edge's NetBIOS name: the subject of its self-signed certificate.
    pub const EDGE_NETBIOS: &str = "EDGE01";
    /// Where the `mx-third-party` scenario points the accepted domain's MX: a mail gateway in front of
    /// Exchange Online (a reserved `.example` name, never resolved outside the lab).
    pub const GATEWAY_MX_HOST: &str = "mx1.gateway.example";
    /// The public address public DNS gives the public name in the `lan-vantage` scenario (TEST-NET-3:
    /// never connected to; the workstation's internal DNS answers with the lab's address).
    pub const PUBLIC_VIEW_ADDRESS: std::net::Ipv4Addr = std::net::Ipv4Addr::new(203, 0, 113, 10);
}

/// The Microsoft side of the lab's organisation in the scenario's cloud ([`crate::cloud::CLOUDS`]): the
/// [`names`] constants are the commercial cloud's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabNames {
    /// The cloud.
    pub cloud: Cloud,
    /// The tenant's routing (coexistence) domain.
    pub routing_domain: String,
    /// The tenant's initial domain.
    pub onmicrosoft_domain: String,
    /// The tenant's EOP endpoint.
    pub eop_host: String,
    /// The name an EOP front-end server gives in its banner.
    pub eop_frontend: String,
    /// The name EOP's certificate is issued to (and the send connector's TlsDomain).
    pub eop_tls_domain: &'static str,
    /// The DNS zone that holds the EOP endpoints and the SPF record to include (`protection.outlook.com`).
    pub protection_zone: String,
    /// The SPF record to include.
    pub spf_include: &'static str,
}

impl LabNames {
    /// The lab's names in `cloud`.
    pub fn of(cloud: Cloud) -> LabNames {
        let c = cloud.names();
        LabNames {
            cloud,
            routing_domain: c.routing_domain(names::TENANT),
            onmicrosoft_domain: c.initial_domain(names::TENANT),
            eop_host: c.eop_endpoint(names::TENANT, Some(names::DOMAIN)),
            eop_frontend: format!("LO2PEPF00001A2B.{}", c.eop_zone),
            eop_tls_domain: c.eop_tls_domain,
            protection_zone: c.eop_zone.strip_prefix("mail.").unwrap_or(c.eop_zone).to_string(),
            spf_include: c.spf_include,
        }
    }

    /// The names EOP's certificate carries: its TlsDomain and every endpoint of the zone.
    fn eop_certificate_names(&self) -> Vec<String> {
        let zone = self.cloud.names().eop_zone;
        let mut v = vec![self.eop_tls_domain.to_string()];
        let wildcard = format!("*.{zone}");
        if !v.contains(&wildcard) {
            v.push(wildcard);
        }
        v
    }
}

/// What an endpoint is in the deployment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum EndpointRole {
    /// An Exchange Mailbox server's receive connector.
    Mailbox,
    /// The Edge's internal listener (Mailbox -> Edge).
    EdgeInternal,
    /// The Edge's internet-facing listener (EOP -> Edge).
    EdgeExternal,
    /// EdgeSync's LDAPS port on the Edge (Mailbox -> Edge, 50636).
    EdgeSync,
    /// Exchange Online Protection.
    Eop,
    /// The endpoint the `wrong-mx` scenario's MX (and the `smart-host-legacy` scenario's smart host)
    /// points to.
    LegacyMx,
    /// The third-party mail gateway the `mx-third-party` scenario's MX points to.
    GatewayMx,
}

/// One endpoint the lab serves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LabEndpoint {
    /// What it is.
    pub role: EndpointRole,
    /// The host name it answers for.
    pub host: String,
    /// Where it listens (or, for a closed/filtered fault, where it would).
    pub address: SocketAddr,
    /// The DNS names on the certificate it serves (empty without TLS).
    pub tls_names: Vec<String>,
}

/// What a running lab tells the world (printed by `mailpath lab --format json`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LabInfo {
    /// The scenario's name.
    pub scenario: String,
    /// The lab DNS server (UDP and TCP).
    pub dns: SocketAddr,
    /// The lab root CA, PEM: the only trust anchor a lab diagnosis uses.
    pub ca_file: PathBuf,
    /// A profile that points at this lab.
    pub profile_file: PathBuf,
    /// The on-premises hybrid certificate chain (the Edge's, or the Mailbox server's without an
    /// Edge), PEM: what the send connector presents to EOP (`mailpath relay send --cert`).
    pub onprem_cert_file: PathBuf,
    /// Its private key, PEM.
    pub onprem_key_file: PathBuf,
    /// Every endpoint.
    pub endpoints: Vec<LabEndpoint>,
    /// The thumbprint of the certificate the Edge subscription published (the Edge's self-signed
    /// internal certificate, or, in `edge-subscription-stale`, the one it replaced).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub edge_subscription_thumbprint: Option<String>,
    /// The receive connectors' TlsCertificateName (`<I>issuer<S>subject` of the on-premises certificate).
    pub receive_tls_certificate_name: String,
    /// A second lab DNS server that answers as public DNS does (`lan-vantage`: split DNS).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external_dns: Option<SocketAddr>,
}

/// Knobs for tests and benchmarks.
#[derive(Debug, Clone)]
pub struct LabOptions {
    /// The loopback address to bind.
    pub bind: IpAddr,
    /// The greeting delay of the `tarpit` scenario.
    pub tarpit_delay: Duration,
    /// The byte interval of the `slow-drip` scenario.
    pub drip_interval: Duration,
    /// Added before every SMTP reply of every endpoint (benchmarks).
    pub reply_delay: Option<Duration>,
    /// "Now" for certificate validity (tests pin it).
    pub now: OffsetDateTime,
    /// On SIGINT, SIGTERM or SIGHUP (Ctrl+C or closing the console on Windows), remove the state
    /// directory of every running lab and end the process (exit status 128 + the signal number).
    /// Turn it off in a program that handles those signals itself and drops the lab on the way out
    /// (`mailpath lab`).
    pub remove_on_signal: bool,
}

impl Default for LabOptions {
    fn default() -> Self {
        LabOptions {
            bind: IpAddr::V4(Ipv4Addr::LOCALHOST),
            tarpit_delay: Duration::from_secs(20),
            drip_interval: Duration::from_secs(1),
            reply_delay: None,
            now: OffsetDateTime::now_utc(),
            remove_on_signal: true,
        }
    }
}

/// Why the lab could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LabError {
    /// No scenario has that name.
    #[error("unknown lab scenario {0:?} (see `mailpath lab --list`)")]
    UnknownScenario(String),
    /// The lab CA failed.
    #[error("lab CA: {0}")]
    Ca(#[from] ca::CaError),
    /// The lab DNS server failed.
    #[error("lab DNS server: {0}")]
    Dns(#[from] dns_server::LabDnsError),
    /// TLS configuration failed.
    #[error("TLS configuration for {host}: {source}")]
    Tls {
        /// The endpoint.
        host: String,
        /// The error.
        source: rustls::Error,
    },
    /// The EOP endpoint's TLS (client certificate capture) could not be set up.
    #[error("EOP TLS: {0}")]
    EopTls(#[from] crate::relay::tls::TlsSetupError),
    /// A file or socket operation failed.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The error.
        source: std::io::Error,
    },
}

impl LabError {
    fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> LabError {
        let what = what.into();
        move |source| LabError::Io { what, source }
    }
}

/// A running lab. Dropping it stops every server and removes its state directory.
pub struct Lab {
    info: LabInfo,
    scenario: &'static Scenario,
    _dir: StateDir,
    dns: Option<LabDnsServer>,
    external_dns: Option<LabDnsServer>,
    servers: Vec<SmtpServer>,
    background: Vec<listeners::Background>,
}

impl std::fmt::Debug for Lab {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lab")
            .field("info", &self.info)
            .finish_non_exhaustive()
    }
}

/// Certificates the lab's endpoints serve.
struct Certs {
    ca_pem: String,
    ca_der: rustls_pki_types::CertificateDer<'static>,
    eop: LabCert,
    edge: LabCert,
    mailbox: LabCert,
    legacy: LabCert,
    gateway: LabCert,
    /// The Edge's self-signed certificate for its internal listeners (created at Edge setup).
    edge_internal: LabCert,
    /// The thumbprint of the certificate the Edge subscription published.
    edge_published: String,
}

/// An issued certificate and the names it carries.
struct LabCert {
    cert: IssuedCert,
    names: Vec<String>,
}

fn issue(ca: &LabCa, spec: &LeafSpec) -> Result<LabCert, LabError> {
    Ok(LabCert {
        cert: ca.issue(spec)?,
        names: spec.dns_names.clone(),
    })
}

/// The lab's private state directory, registered for removal on a stop signal while it exists.
struct StateDir(tempfile::TempDir);

/// State directories of the labs running in this process.
static STATE_DIRS: std::sync::Mutex<Vec<PathBuf>> = std::sync::Mutex::new(Vec::new());

fn state_dirs() -> std::sync::MutexGuard<'static, Vec<PathBuf>> {
    STATE_DIRS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl StateDir {
    /// A new private directory (0700 on Unix).
    fn create(remove_on_signal: bool) -> Result<StateDir, LabError> {
        let dir = StateDir(
            tempfile::Builder::new()
                .prefix("mailpath-lab-")
                .tempdir()
                .map_err(LabError::io("create the lab state directory"))?,
        );
        state_dirs().push(dir.0.path().to_path_buf());
        crate::relay::files::private_dir(dir.0.path())
            .map_err(LabError::io("make the lab state directory private"))?;
        if remove_on_signal {
            remove_state_dirs_on_signal();
        }
        Ok(dir)
    }

    /// Write a new private file (0600, never through a link) in the directory.
    fn write(&self, name: &str, bytes: &[u8]) -> Result<PathBuf, LabError> {
        let path = self.0.path().join(name);
        crate::relay::files::write_new(&path, bytes)
            .map_err(LabError::io(format!("write {}", path.display())))?;
        Ok(path)
    }
}

impl Drop for StateDir {
    fn drop(&mut self) {
        state_dirs().retain(|p| p != self.0.path());
    }
}

/// Remove every registered state directory (what a stop signal does before the process ends).
fn remove_state_dirs() {
    for dir in state_dirs().drain(..) {
        let _ = std::fs::remove_dir_all(&dir);
    }
}

/// Once per process: on a stop signal, remove the labs' state directories and end the process as
/// the signal would have (exit status 128 + its number).
fn remove_state_dirs_on_signal() {
    static INSTALLED: std::sync::Once = std::sync::Once::new();
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        return;
    };
    INSTALLED.call_once(|| {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            for (kind, number) in [
                (SignalKind::interrupt(), 2),
                (SignalKind::terminate(), 15),
                (SignalKind::hangup(), 1),
            ] {
                // Registered now, synchronously, so that a signal right after the lab started is
                // caught; only the waiting happens in the task.
                let _guard = runtime.enter();
                if let Ok(mut stream) = signal(kind) {
                    runtime.spawn(async move {
                        if stream.recv().await.is_some() {
                            remove_state_dirs();
                            std::process::exit(128 + number);
                        }
                    });
                }
            }
        }
        #[cfg(windows)]
        {
            let _guard = runtime.enter();
            if let Ok(mut stream) = tokio::signal::windows::ctrl_c() {
                runtime.spawn(async move {
                    if stream.recv().await.is_some() {
                        remove_state_dirs();
                        std::process::exit(128 + 2);
                    }
                });
            }
            if let Ok(mut stream) = tokio::signal::windows::ctrl_close() {
                runtime.spawn(async move {
                    if stream.recv().await.is_some() {
                        remove_state_dirs();
                        std::process::exit(128 + 1);
                    }
                });
            }
        }
    });
}

impl Lab {
    /// Start the named scenario.
    ///
    /// # Errors
    /// Unknown scenario, or a server that could not start.
    pub async fn start_named(name: &str, options: LabOptions) -> Result<Lab, LabError> {
        let scenario = scenario(name).ok_or_else(|| LabError::UnknownScenario(name.to_string()))?;
        Lab::start(scenario, options).await
    }

    /// Start a scenario.
    ///
    /// # Errors
    /// When the CA, the DNS server, a listener or the state directory cannot be set up.
    pub async fn start(scenario: &'static Scenario, options: LabOptions) -> Result<Lab, LabError> {
        let dir = StateDir::create(options.remove_on_signal)?;
        let certs = issue_certificates(scenario, &options)?;
        let ca_file = dir.write("lab-ca.pem", certs.ca_pem.as_bytes())?;

        let bind = options.bind;
        let fault = scenario.fault;
        let lab_names = LabNames::of(scenario.cloud);
        let mut servers = Vec::new();
        let mut background = Vec::new();
        let mut endpoints = Vec::new();
        let base_faults = Faults {
            reply_delay: options.reply_delay,
            ..Faults::default()
        };

        let onprem = if scenario.edge {
            &certs.edge
        } else {
            &certs.mailbox
        };
        let onprem_cert_file = dir.write("onprem-cert.pem", onprem.cert.chain_pem(true).as_bytes())?;
        let onprem_key_file = dir.write("onprem-key.pem", onprem.cert.key_pem().as_bytes())?;

        // EOP: always healthy, it is Microsoft's. It behaves as the relay's eop role: mail for the
        // tenant's accepted domains from anyone, relaying only for a session whose client
        // certificate matches the inbound connector's TlsSenderCertificateName (else 5.7.64).
        // TLS is not required: EOP also takes internet mail in plain text.
        let eop_tls = crate::relay::tls::server_config(certs.eop.cert.certified_key(true)?, true)?;
        let mut eop = ServerConfig::new(&lab_names.eop_frontend, Personality::Eop);
        eop.tls = Some(eop_tls);
        eop.faults = base_faults.clone();
        eop.accepted_domains = accepted_domains(&lab_names);
        eop.policy = Some(Arc::new(crate::relay::inspect::EopAttribution {
            inspector: crate::relay::inspect::Inspector {
                role: crate::relay::Role::Eop,
                expected_names: vec![tls_sender_certificate_name(scenario).to_string()],
                client_roots: Some(vec![certs.ca_der.clone()]),
                org_domains: accepted_domains(&lab_names),
            },
        }));
        let eop = SmtpServer::bind(SocketAddr::new(bind, 0), eop)
            .await
            .map_err(LabError::io("bind the EOP endpoint"))?;
        endpoints.push(endpoint(
            EndpointRole::Eop,
            &lab_names.eop_host,
            eop.local_addr(),
            &certs.eop,
        ));
        servers.push(eop);

        if matches!(fault, Fault::WrongMx | Fault::SmartHostLegacy) {
            let legacy = Outsider {
                role: EndpointRole::LegacyMx,
                host: names::LEGACY_MX_HOST,
                cert: &certs.legacy,
                accepted_domains: Vec::new(),
            };
            legacy
                .start(bind, &base_faults, &mut servers, &mut endpoints)
                .await?;
        }
        if fault == Fault::MxThirdParty {
            let gateway = Outsider {
                role: EndpointRole::GatewayMx,
                host: names::GATEWAY_MX_HOST,
                cert: &certs.gateway,
                accepted_domains: accepted_domains(&lab_names),
            };
            gateway
                .start(bind, &base_faults, &mut servers, &mut endpoints)
                .await?;
        }

        // The Mailbox server.
        let mailbox_host = names::MAILBOX_HOST;
        let mut mailbox = ServerConfig::new(mailbox_host, Personality::ExchangeMailbox);
        mailbox.tls = Some(server_tls(&certs.mailbox, true, mailbox_host)?);
        mailbox.accepted_domains = accepted_domains(&lab_names);
        mailbox.faults = base_faults.clone();
        if !scenario.edge {
            // Without an Edge, the Mailbox server is the hybrid endpoint and carries the public name.
            mailbox.hostname = names::PUBLIC_HOST.to_string();
        }
        let mailbox = SmtpServer::bind(SocketAddr::new(bind, 0), mailbox)
            .await
            .map_err(LabError::io("bind the Mailbox endpoint"))?;
        endpoints.push(endpoint(
            EndpointRole::Mailbox,
            mailbox_host,
            mailbox.local_addr(),
            &certs.mailbox,
        ));
        if !scenario.edge {
            endpoints.push(endpoint(
                EndpointRole::Mailbox,
                names::PUBLIC_HOST,
                mailbox.local_addr(),
                &certs.mailbox,
            ));
        }
        let mailbox_port = mailbox.local_addr().port();
        servers.push(mailbox);

        if fault == Fault::ReceiveCertStale {
            // A second Mailbox server behind the public name, on the next loopback address and the same
            // port. Its receive connector names the certificate replaced at the renewal: Exchange finds no
            // certificate for it (event 12014) and offers no STARTTLS.
            let second = second_address(bind)?;
            let mut ex02 = ServerConfig::new(names::PUBLIC_HOST, Personality::ExchangeMailbox);
            ex02.tls = None;
            ex02.accepted_domains = accepted_domains(&lab_names);
            ex02.faults = base_faults.clone();
            let ex02 = SmtpServer::bind(SocketAddr::new(second, mailbox_port), ex02)
                .await
                .map_err(LabError::io(format!(
                    "bind the second Mailbox endpoint on {second}"
                )))?;
            endpoints.push(LabEndpoint {
                role: EndpointRole::Mailbox,
                host: names::MAILBOX2_HOST.to_string(),
                address: ex02.local_addr(),
                tls_names: Vec::new(),
            });
            servers.push(ex02);
        }

        if scenario.edge {
            let send_intermediate = fault != Fault::MissingIntermediate;
            let edge_tls = server_tls(&certs.edge, send_intermediate, names::PUBLIC_HOST)?;

            // Internal listener (Mailbox -> Edge): the Edge's self-signed certificate, which the Edge
            // subscription published (direct trust), as real Edges serve.
            let internal_tls = server_tls(&certs.edge_internal, false, names::EDGE_HOST)?;
            let internal_addr = if fault == Fault::LanVantage {
                // The DMZ firewall drops the workstation's packets: only the Mailbox servers get in.
                filtered(bind, &mut background).await?
            } else {
                let mut internal = ServerConfig::new(names::EDGE_HOST, Personality::ExchangeEdgeInternal);
                internal.tls = Some(Arc::clone(&internal_tls));
                internal.accepted_domains = accepted_domains(&lab_names);
                internal.faults = base_faults.clone();
                let internal = SmtpServer::bind(SocketAddr::new(bind, 0), internal)
                    .await
                    .map_err(LabError::io("bind the Edge internal endpoint"))?;
                let addr = internal.local_addr();
                servers.push(internal);
                addr
            };
            endpoints.push(endpoint(
                EndpointRole::EdgeInternal,
                names::EDGE_HOST,
                internal_addr,
                &certs.edge_internal,
            ));

            // External listener (EOP -> Edge): where most faults live.
            let external_addr = match fault {
                Fault::PortClosed => listeners::closed_port(bind)
                    .await
                    .map_err(LabError::io("reserve a closed port"))?,
                Fault::PortFiltered => filtered(bind, &mut background).await?,
                _ => {
                    let mut external =
                        ServerConfig::new(names::PUBLIC_HOST, Personality::ExchangeEdgeExternal);
                    external.tls = Some(Arc::clone(&edge_tls));
                    external.accepted_domains = accepted_domains(&lab_names);
                    external.faults = edge_faults(fault, &options, base_faults.clone());
                    external.faults.handshake_only =
                        handshake_only::edge_server(fault, certs.edge.cert.certified_key(send_intermediate)?)
                            .map(|s| crate::smtp::server::HandshakeOnly(s));
                    let external = SmtpServer::bind(SocketAddr::new(bind, 0), external)
                        .await
                        .map_err(LabError::io("bind the Edge external endpoint"))?;
                    let addr = external.local_addr();
                    servers.push(external);
                    addr
                }
            };
            endpoints.push(endpoint(
                EndpointRole::EdgeExternal,
                names::PUBLIC_HOST,
                external_addr,
                &certs.edge,
            ));

            let edgesync_addr = if fault == Fault::EdgeSyncBlocked {
                listeners::closed_port(bind)
                    .await
                    .map_err(LabError::io("reserve a closed port"))?
            } else if fault == Fault::LanVantage {
                filtered(bind, &mut background).await?
            } else {
                let (addr, task) = listeners::ldaps(SocketAddr::new(bind, 0), Arc::clone(&internal_tls))
                    .await
                    .map_err(LabError::io("bind the EdgeSync endpoint"))?;
                background.push(task);
                addr
            };
            endpoints.push(endpoint(
                EndpointRole::EdgeSync,
                names::EDGE_HOST,
                edgesync_addr,
                &certs.edge_internal,
            ));
        }

        let mut lab_zones = zones::zones(scenario, &lab_names, bind, &certs.ca_pem);
        let eop_leaf = certs.eop.cert.chain(false);
        let eop_leaf = eop_leaf.first().map(|c| c.as_ref()).unwrap_or_default();
        for (origin, record) in zones::dane_records(fault, &lab_names, eop_leaf) {
            if let Some(zone) = lab_zones.iter_mut().find(|z| z.origin == origin) {
                zone.records.push(record);
            }
        }
        let external_dns = if fault == Fault::LanVantage {
            Some(LabDnsServer::start(bind, zones::public_view(&lab_zones)).await?)
        } else {
            None
        };
        let dns = LabDnsServer::start(bind, lab_zones).await?;
        let profile_file = dir.0.path().join("lab-profile.toml");
        let info = LabInfo {
            scenario: scenario.name.to_string(),
            dns: dns.local_addr(),
            ca_file,
            profile_file: profile_file.clone(),
            onprem_cert_file,
            onprem_key_file,
            endpoints,
            edge_subscription_thumbprint: scenario.edge.then(|| certs.edge_published.clone()),
            receive_tls_certificate_name: x500_name(onprem)?,
            external_dns: external_dns.as_ref().map(LabDnsServer::local_addr),
        };
        let profile = lab_profile(scenario, &info)?;
        dir.write("lab-profile.toml", profile.as_bytes())?;
        Ok(Lab {
            info,
            scenario,
            _dir: dir,
            dns: Some(dns),
            external_dns,
            servers,
            background,
        })
    }

    /// What the lab serves and where.
    pub fn info(&self) -> &LabInfo {
        &self.info
    }

    /// The scenario it runs.
    pub fn scenario(&self) -> &'static Scenario {
        self.scenario
    }

    /// Write a profile that points at this running lab (its DNS, its CA as the only trust anchor,
    /// its ports).
    ///
    /// # Errors
    /// When the file cannot be written.
    pub fn write_profile(&self, path: &Path) -> Result<(), LabError> {
        std::fs::write(path, lab_profile(self.scenario, &self.info)?)
            .map_err(LabError::io(format!("write {}", path.display())))
    }

    /// Stop every server.
    pub async fn shutdown(mut self) {
        for server in self.servers.drain(..) {
            server.shutdown().await;
        }
        if let Some(dns) = self.dns.take() {
            dns.shutdown().await;
        }
        if let Some(dns) = self.external_dns.take() {
            dns.shutdown().await;
        }
        self.background.clear();
    }
}

/// A port where connections never complete (a firewall that drops packets), held open by `background`.
async fn filtered(bind: IpAddr, background: &mut Vec<listeners::Background>) -> Result<SocketAddr, LabError> {
    let (addr, holder) = listeners::filtered_port(bind)
        .await
        .map_err(LabError::io("set up a filtered port"))?;
    background.push(holder);
    Ok(addr)
}

/// An SMTP endpoint outside the organisation and Microsoft's tenant endpoint: a retired Office 365 host, a
/// third-party gateway.
struct Outsider<'a> {
    role: EndpointRole,
    host: &'static str,
    cert: &'a LabCert,
    accepted_domains: Vec<String>,
}

impl Outsider<'_> {
    async fn start(
        self,
        bind: IpAddr,
        faults: &Faults,
        servers: &mut Vec<SmtpServer>,
        endpoints: &mut Vec<LabEndpoint>,
    ) -> Result<(), LabError> {
        let mut config = ServerConfig::new(self.host, Personality::Generic);
        config.tls = Some(server_tls(self.cert, true, self.host)?);
        config.accepted_domains = self.accepted_domains;
        config.faults = faults.clone();
        let server = SmtpServer::bind(SocketAddr::new(bind, 0), config)
            .await
            .map_err(LabError::io(format!("bind the {} endpoint", self.host)))?;
        endpoints.push(endpoint(self.role, self.host, server.local_addr(), self.cert));
        servers.push(server);
        Ok(())
    }
}

/// The EXO inbound connector's TlsSenderCertificateName in the lab profile, which the lab's EOP
/// endpoint attributes sessions by.
const TLS_SENDER_CERTIFICATE_NAME: &str = names::PUBLIC_HOST;

/// The name the Exchange Online connectors of `scenario` expect on the on-premises certificate
/// (TlsSenderCertificateName, and TlsDomain of the outbound connector): the public host name, or
/// `*.contoso.com` (the domain and all its subdomains) with [`Scenario::wildcard_connectors`].
fn tls_sender_certificate_name(scenario: &Scenario) -> &'static str {
    if scenario.wildcard_connectors {
        "*.contoso.com"
    } else {
        TLS_SENDER_CERTIFICATE_NAME
    }
}

fn accepted_domains(lab_names: &LabNames) -> Vec<String> {
    vec![
        names::DOMAIN.to_string(),
        lab_names.routing_domain.clone(),
        lab_names.onmicrosoft_domain.clone(),
    ]
}

fn edge_faults(fault: Fault, options: &LabOptions, base: Faults) -> Faults {
    match fault {
        Fault::StartTlsStripped => Faults {
            mask_banner: true,
            strip_starttls: true,
            ..base
        },
        Fault::Tarpit => Faults {
            greeting_delay: Some(options.tarpit_delay),
            ..base
        },
        Fault::GarbageServer => Faults {
            garbage: true,
            ..base
        },
        Fault::SlowDrip => Faults {
            drip: Some(options.drip_interval),
            ..base
        },
        _ => base,
    }
}

fn endpoint(role: EndpointRole, host: &str, address: SocketAddr, cert: &LabCert) -> LabEndpoint {
    LabEndpoint {
        role,
        host: host.to_string(),
        address,
        tls_names: cert.names.clone(),
    }
}

fn server_tls(
    cert: &LabCert,
    send_intermediate: bool,
    host: &str,
) -> Result<Arc<rustls::ServerConfig>, LabError> {
    let key = cert.cert.certified_key(send_intermediate)?;
    crate::tls::server_config(key).map_err(|source| LabError::Tls {
        host: host.to_string(),
        source,
    })
}

fn issue_certificates(scenario: &Scenario, options: &LabOptions) -> Result<Certs, LabError> {
    let now = options.now;
    let ca = LabCa::generate(now)?;
    let day = time::Duration::days(1);
    let lab_names = LabNames::of(scenario.cloud);
    let eop = issue(
        &ca,
        &LeafSpec::server(lab_names.eop_tls_domain, lab_names.eop_certificate_names(), now),
    )?;
    let legacy = issue(
        &ca,
        &LeafSpec::server(
            names::LEGACY_MX_HOST,
            vec![names::LEGACY_MX_HOST.to_string()],
            now,
        ),
    )?;
    let mailbox_names = if scenario.edge {
        vec![names::MAILBOX_HOST.to_string()]
    } else {
        vec![
            names::PUBLIC_HOST.to_string(),
            names::MAILBOX_HOST.to_string(),
            "autodiscover.contoso.com".to_string(),
        ]
    };
    let mailbox_cn = if scenario.edge {
        names::MAILBOX_HOST
    } else {
        names::PUBLIC_HOST
    };
    let mailbox = issue(&ca, &LeafSpec::server(mailbox_cn, mailbox_names, now))?;
    let gateway = issue(
        &ca,
        &LeafSpec::server(
            names::GATEWAY_MX_HOST,
            vec![names::GATEWAY_MX_HOST.to_string()],
            now,
        ),
    )?;
    // What Edge setup creates: a self-signed certificate named after the server, valid five years, which
    // the Edge subscription publishes for direct trust.
    let edge_self_signed = |not_before: OffsetDateTime| {
        LeafSpec::server(
            names::EDGE_NETBIOS,
            vec![names::EDGE_NETBIOS.to_string(), names::EDGE_HOST.to_string()],
            now,
        )
        .with_issuer(LeafIssuer::SelfSigned)
        .with_validity(not_before, not_before + 5 * 365 * day)
    };
    let edge_internal = issue(&ca, &edge_self_signed(now - 30 * day))?;
    let edge_published = if scenario.fault == Fault::EdgeSubscriptionStale {
        // The certificate the subscription was created with, replaced since on the Edge.
        let old = ca.issue(&edge_self_signed(now - 4 * 365 * day))?;
        thumbprint(&old.leaf)
    } else {
        thumbprint(&edge_internal.cert.leaf)
    };

    let mut edge = LeafSpec::server(
        names::PUBLIC_HOST,
        vec![names::PUBLIC_HOST.to_string(), names::EDGE_HOST.to_string()],
        now,
    );
    match scenario.fault {
        Fault::ExpiredCert => {
            edge.not_before = now - 370 * day;
            edge.not_after = now - 5 * day;
        }
        Fault::NotYetValid => {
            edge.not_before = now + 3 * day;
            edge.not_after = now + 368 * day;
        }
        Fault::ExpiringSoon => {
            edge.not_before = now - 355 * day;
            edge.not_after = now + 10 * day;
        }
        Fault::NameMismatch => {
            edge.common_name = names::EDGE_HOST.to_string();
            edge.dns_names = vec![names::EDGE_HOST.to_string(), "edge01.contoso.local".to_string()];
        }
        Fault::SelfSigned => edge.issuer = LeafIssuer::SelfSigned,
        Fault::WeakKey => edge.key = LeafKey::Rsa1024,
        f if handshake_only::needs_rsa(f) => edge.key = LeafKey::Rsa2048,
        _ => {}
    }
    let edge = issue(&ca, &edge)?;
    Ok(Certs {
        ca_pem: ca.root_pem(),
        ca_der: ca.root_der(),
        eop,
        edge,
        mailbox,
        legacy,
        gateway,
        edge_internal,
        edge_published,
    })
}

/// The SHA-1 thumbprint of a certificate, as Get-ExchangeCertificate prints it.
fn thumbprint(der: &[u8]) -> String {
    use sha1::Digest as _;
    data_encoding::HEXUPPER.encode(&sha1::Sha1::digest(der))
}

/// `<I>issuer<S>subject` of a certificate, as a connector's TlsCertificateName names it.
fn x500_name(cert: &LabCert) -> Result<String, LabError> {
    let info = crate::cert::parse_certificate(&cert.cert.leaf).map_err(|e| LabError::Io {
        what: "read a lab certificate".into(),
        source: std::io::Error::other(e.to_string()),
    })?;
    Ok(format!("<I>{}<S>{}", info.issuer, info.subject))
}

/// The loopback address after `bind` (127.0.0.2 after 127.0.0.1), for a second server behind one name.
fn second_address(bind: IpAddr) -> Result<IpAddr, LabError> {
    match bind {
        IpAddr::V4(v4) if v4.is_loopback() && v4.octets()[3] < 254 => {
            let [a, b, c, d] = v4.octets();
            Ok(IpAddr::V4(Ipv4Addr::new(a, b, c, d + 1)))
        }
        other => Err(LabError::Io {
            what: format!("a second server behind one name needs an IPv4 loopback address, not {other}"),
            source: std::io::Error::from(std::io::ErrorKind::AddrNotAvailable),
        }),
    }
}

/// The profile of the lab deployment, pointing at the running lab.
pub fn lab_profile_struct(scenario: &Scenario, info: &LabInfo) -> Profile {
    use crate::profile::{EdgeServer, MailboxServer, NetworkLocation, PortOverride};
    let ip = info.dns.ip();
    let mut profile = Profile {
        name: format!("mailpath lab: {}", scenario.name),
        ..Profile::default()
    };
    let lab_names = LabNames::of(scenario.cloud);
    profile.tenant.name = names::TENANT.to_string();
    profile.tenant.accepted_domains = vec![names::DOMAIN.to_string()];
    profile.tenant.eop_endpoint = Some(lab_names.eop_host.clone());
    profile.tenant.cloud = scenario.cloud;
    profile.mailboxes = vec![MailboxServer {
        fqdn: names::MAILBOX_HOST.to_string(),
        address: Some(ip),
    }];
    for e in info.endpoints.iter().filter(|e| e.host == names::MAILBOX2_HOST) {
        profile.mailboxes.push(MailboxServer {
            fqdn: names::MAILBOX2_HOST.to_string(),
            address: Some(e.address.ip()),
        });
    }
    if scenario.edge {
        profile.edges = vec![EdgeServer {
            fqdn: names::EDGE_HOST.to_string(),
            external_fqdn: names::PUBLIC_HOST.to_string(),
            address: Some(ip),
            external_address: Some(ip),
            hybrid: true,
            subscription_thumbprint: info.edge_subscription_thumbprint.clone(),
        }];
    }
    profile.workstation.location = NetworkLocation::Lan;
    // The lab's Exchange is configured as the HCW configures a real one; the profile states every
    // setting, so that the checks judge them rather than assume them.
    let c = &mut profile.connectors;
    c.send.fqdn = Some(names::PUBLIC_HOST.to_string());
    c.send.tls_domain = Some(lab_names.eop_tls_domain.to_string());
    c.send.tls_auth_level = Some(crate::profile::TlsAuthLevel::DomainValidation);
    c.send.require_tls = Some(true);
    c.send.cloud_services_mail_enabled = Some(true);
    c.receive.tls_domain_capabilities = Some(crate::profile::hcw_tls_domain_capabilities(scenario.cloud));
    c.exo_inbound.tls_sender_certificate_name = Some(tls_sender_certificate_name(scenario).to_string());
    c.exo_inbound.require_tls = Some(true);
    c.exo_inbound.cloud_services_mail_enabled = Some(true);
    // The lab's mail leaves from its loopback address (what its SPF and PTR records name).
    c.send.egress_addresses = vec![ip];
    c.receive.tls_certificate_name = Some(info.receive_tls_certificate_name.clone());
    if scenario.fault == Fault::SmartHostLegacy {
        c.send.smart_hosts = vec![names::LEGACY_MX_HOST.to_string()];
    }
    c.exo_outbound.smart_hosts = vec![names::PUBLIC_HOST.to_string()];
    c.exo_outbound.tls_domain = Some(tls_sender_certificate_name(scenario).to_string());
    c.exo_outbound.tls_settings = Some(crate::profile::TlsAuthLevel::DomainValidation);
    c.exo_outbound.route_all_via_on_premises = Some(false);
    c.exo_outbound.cloud_services_mail_enabled = Some(true);
    profile.resolvers.system = false;
    profile.resolvers.internal = vec![info.dns];
    profile.resolvers.external = info.external_dns.into_iter().collect();
    profile.trust.system_store = false;
    profile.trust.ca_files = vec![info.ca_file.clone()];
    // Every host name the lab serves, with its port(s): all endpoints share 127.0.0.1.
    for e in &info.endpoints {
        let slot = match profile.port_overrides.iter().position(|p| p.host == e.host) {
            Some(i) => &mut profile.port_overrides[i],
            None => {
                profile.port_overrides.push(PortOverride {
                    host: e.host.clone(),
                    smtp: None,
                    edgesync: None,
                });
                let last = profile.port_overrides.len() - 1;
                &mut profile.port_overrides[last]
            }
        };
        if e.role == EndpointRole::EdgeSync {
            slot.edgesync = Some(e.address.port());
        } else {
            slot.smtp = Some(e.address.port());
        }
    }
    profile
}

/// The lab profile as TOML, with a header saying where it comes from.
fn lab_profile(scenario: &Scenario, info: &LabInfo) -> Result<String, LabError> {
    let body = lab_profile_struct(scenario, info)
        .to_toml_string()
        .map_err(|e| LabError::Io {
            what: "serialize the lab profile".into(),
            source: std::io::Error::other(e.to_string()),
        })?;
    Ok(format!(
        "# mailpath profile for the embedded lab, scenario {:?}.\n# Generated by `mailpath lab`; valid while that lab runs.\n\n{body}",
        scenario.name
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn every_scenario_starts_and_writes_a_valid_profile() {
        for s in SCENARIOS {
            let options = LabOptions {
                tarpit_delay: Duration::from_millis(10),
                ..LabOptions::default()
            };
            let lab = Lab::start(s, options)
                .await
                .unwrap_or_else(|e| panic!("{}: {e}", s.name));
            let info = lab.info();
            let profile = Profile::load(&info.profile_file).unwrap_or_else(|e| panic!("{}: {e}", s.name));
            assert_eq!(profile.uses_edge(), s.edge, "{}", s.name);
            assert_eq!(profile.resolvers.internal, vec![info.dns]);
            let public = info
                .endpoints
                .iter()
                .find(|e| e.host == names::PUBLIC_HOST)
                .expect("public endpoint");
            assert_eq!(
                profile.smtp_port_for(names::PUBLIC_HOST),
                public.address.port(),
                "{}",
                s.name
            );
            assert_eq!(
                profile.smtp_port_for(&LabNames::of(s.cloud).eop_host),
                info.endpoints[0].address.port()
            );
            assert_eq!(profile.tenant.cloud, s.cloud, "{}", s.name);
            if s.edge {
                let sync = info
                    .endpoints
                    .iter()
                    .find(|e| e.role == EndpointRole::EdgeSync)
                    .expect("edgesync");
                assert_eq!(profile.edgesync_port_for(names::EDGE_HOST), sync.address.port());
            }
            lab.shutdown().await;
        }
    }
}
