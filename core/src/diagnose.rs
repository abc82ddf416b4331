//! The diagnosis engine: plan the probes from the profile and DNS, run them concurrently, judge the
//! evidence with the checks, and lay the results on the mail path.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use tokio::sync::{Semaphore, mpsc, watch};

use crate::cert::Trust;
use crate::check::{Attachment, CheckResult, Counts};
use crate::checks;
use crate::checks::cert::{CertCheckContext, ExpectedName};
use crate::checks::smtp::EndpointContext;
use crate::dns::{DnsAnswer, RecordType, Resolver};
use crate::evidence::{Evidence, SmtpProbe, TlsPortProbe};
use crate::path::Destination;
use crate::path::MailPath;
use crate::probe::{SmtpProbeRequest, Timeouts};
use crate::profile::Profile;
use crate::topology::{Listener, MxTargets, Topology, hop};

/// The schema id of a saved diagnosis.
pub const SCHEMA: &str = "mailpath/diagnosis/1";

/// A whole diagnosis: what was probed, what was found, and the path it was laid on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Diagnosis {
    /// Always [`SCHEMA`].
    pub schema: String,
    /// The mailpath version that ran it.
    pub mailpath_version: String,
    /// When it started.
    #[serde(with = "time::serde::rfc3339")]
    pub started_at: OffsetDateTime,
    /// How long it took.
    pub duration_ms: u64,
    /// Whether it was cancelled before finishing (the results are then partial).
    pub cancelled: bool,
    /// The profile it ran on.
    pub profile: Profile,
    /// The mail path with statuses.
    pub path: MailPath,
    /// Every check result.
    pub checks: Vec<CheckResult>,
    /// Counts per status.
    pub counts: Counts,
    /// Everything observed.
    pub evidence: Evidence,
    /// The string `mailpath explain --run` explained with this diagnosis and its verdict (absent in a
    /// plain diagnosis, and in diagnoses saved before it existed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub explained: Option<Headline>,
}

/// Progress events, for a progress bar or the GUI.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "kebab-case")]
pub enum Progress {
    /// A phase began.
    Phase {
        /// Its name (`dns`, `probes`, `checks`).
        name: String,
    },
    /// A probe finished.
    Probed {
        /// The probe id.
        id: String,
        /// Probes finished so far.
        done: usize,
        /// Probes in all.
        total: usize,
        /// What could be judged from this probe alone (its SMTP dialogue and certificate, or the EdgeSync
        /// port), attached to the hops that use it: a preview the final diagnosis replaces.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        checks: Vec<CheckResult>,
    },
    /// A probe began a step (connect, greeting, TLS handshake, ...), which may take up to `limit_ms`:
    /// what a progress line names as pending.
    Step {
        /// The probe id (`smtp:HOST:PORT`, `ldaps:HOST:PORT`).
        id: String,
        /// The step.
        stage: crate::evidence::Stage,
        /// Its time limit, in milliseconds.
        limit_ms: u64,
    },
    /// The diagnosis finished.
    Finished,
}

/// How to run a diagnosis.
#[derive(Debug, Clone)]
pub struct DiagnoseOptions {
    /// "Now", for certificate validity (injected, so tests are deterministic).
    pub now: OffsetDateTime,
    /// The trust anchors certificates are judged against.
    pub trust: Arc<Trust>,
    /// The EHLO name to present.
    pub helo: String,
    /// DNS servers to use instead of the profile's.
    pub dns_override: Vec<SocketAddr>,
    /// Most probes in flight at once.
    pub concurrency: usize,
    /// Where progress goes.
    pub progress: Option<mpsc::Sender<Progress>>,
    /// Set to true to cancel.
    pub cancel: Option<watch::Receiver<bool>>,
    /// How much the TLS handshake scanner does per SMTP endpoint (default: one extra connection).
    pub tls_scan: crate::tls_scan::ScanOptions,
    /// An Exchange configuration export to audit with the probes (`config.*` of [`checks::audit`]).
    pub export: Option<Arc<crate::exchange::Export>>,
}

impl DiagnoseOptions {
    /// Options with the given trust, now = the system clock, EHLO `mailpath.invalid`.
    pub fn new(trust: Trust) -> Self {
        DiagnoseOptions {
            now: OffsetDateTime::now_utc(),
            trust: Arc::new(trust),
            helo: "mailpath.invalid".into(),
            dns_override: Vec::new(),
            concurrency: 32,
            progress: None,
            cancel: None,
            tls_scan: crate::tls_scan::ScanOptions::default(),
            export: None,
        }
    }
}

/// Build the trust a profile asks for: the system store and/or its CA files.
///
/// # Errors
/// When a CA file cannot be read or holds no certificate, or the system store cannot be loaded.
pub fn trust_for(profile: &Profile) -> Result<Trust, crate::cert::CertError> {
    let mut trust = if profile.trust.system_store {
        Trust::system()?
    } else {
        Trust::empty()
    };
    for file in &profile.trust.ca_files {
        trust.add_pem_file(file)?;
    }
    Ok(trust)
}

/// One SMTP endpoint to probe, and how to judge it.
#[derive(Debug, Clone)]
struct Target {
    host: String,
    port: u16,
    /// The one address to connect to, when each address behind a name is probed on its own.
    pinned: Option<IpAddr>,
    attachment: Attachment,
    role: String,
    external_service: bool,
    expected: Vec<ExpectedName>,
    used_as_client: bool,
    /// What kind of listener it is: what this workstation can be expected to reach.
    listener: Listener,
    /// How Exchange trusts its certificate on this hop.
    trust: CertTrust,
    /// The receive connector it is, when it receives mail from Exchange Online.
    receiver: Option<(String, String)>,
}

/// How the sending side of a hop trusts the certificate of its receiving side.
#[derive(Debug, Clone, PartialEq, Eq)]
enum CertTrust {
    /// Public trust: a chain to a trusted root and the names the connectors expect (the hops EOP sees).
    Public,
    /// Direct trust between Exchange servers: the certificate published by the Edge subscription (or in
    /// Active Directory), compared by thumbprint.
    Direct {
        /// Who published the certificate Exchange accepts.
        publisher: String,
        /// Its thumbprint, when the profile gives it.
        thumbprint: Option<String>,
    },
}

impl Target {
    /// The id of its probe's evidence: `smtp:host:port`, or `smtp:host:port@address` for one pinned address.
    fn evidence_id(&self) -> String {
        match self.pinned {
            None => format!("smtp:{}:{}", self.host, self.port),
            Some(ip) => format!("smtp:{}:{}@{ip}", self.host, self.port),
        }
    }

    /// `host:port`, or `host:port (address)` for one pinned address: the subject of its checks.
    fn label(&self) -> String {
        match self.pinned {
            None => format!("{}:{}", self.host, self.port),
            Some(ip) => format!("{}:{} ({ip})", self.host, self.port),
        }
    }

    fn new(host: &str, port: u16, attachment: Attachment, role: String, listener: Listener) -> Target {
        Target {
            host: host.to_string(),
            port,
            pinned: None,
            attachment,
            role,
            external_service: false,
            expected: Vec::new(),
            used_as_client: false,
            listener,
            trust: CertTrust::Public,
            receiver: None,
        }
    }
}

/// Run a diagnosis of `profile`. Never fails: problems are findings. Cancelled (`options.cancel`), it
/// stops waiting, judges what it has (endpoints not probed yet are skipped as cancelled) and says
/// `cancelled`.
pub async fn diagnose(profile: &Profile, options: DiagnoseOptions) -> Diagnosis {
    let started_at = OffsetDateTime::now_utc();
    let t0 = Instant::now();
    let (path, checks, evidence, cancelled) = run(profile, &options).await;
    if let Some(tx) = &options.progress {
        let _ = tx.send(Progress::Finished).await;
    }
    let counts = Counts::of(&checks);
    Diagnosis {
        schema: SCHEMA.into(),
        mailpath_version: crate::version().into(),
        started_at,
        duration_ms: u64::try_from(t0.elapsed().as_millis()).unwrap_or(u64::MAX),
        cancelled,
        profile: profile.clone(),
        path,
        checks,
        counts,
        evidence,
        explained: None,
    }
}

/// Resolves when `cancel` says so; never without one.
async fn cancelled(cancel: Option<watch::Receiver<bool>>) {
    match cancel {
        Some(mut rx) => wait_cancelled(&mut rx).await,
        None => std::future::pending().await,
    }
}

async fn wait_cancelled(rx: &mut watch::Receiver<bool>) {
    loop {
        if *rx.borrow() {
            return;
        }
        if rx.changed().await.is_err() {
            // The sender is gone: nobody can cancel any more.
            std::future::pending::<()>().await;
        }
    }
}

async fn progress(options: &DiagnoseOptions, event: Progress) {
    if let Some(tx) = &options.progress {
        let _ = tx.send(event).await;
    }
}

/// The resolver a profile asks for first (its internal DNS servers, or the system's).
pub fn primary_resolver(profile: &Profile) -> Resolver {
    if profile.resolvers.internal.is_empty() {
        Resolver::system(profile.timeouts.dns)
    } else {
        Resolver::with_servers(&profile.resolvers.internal, profile.timeouts.dns)
    }
}

fn resolvers(profile: &Profile, options: &DiagnoseOptions) -> (Resolver, Option<Resolver>) {
    let timeout = profile.timeouts.dns;
    if !options.dns_override.is_empty() {
        return (Resolver::with_servers(&options.dns_override, timeout), None);
    }
    let primary = primary_resolver(profile);
    let external = (!profile.resolvers.external.is_empty())
        .then(|| Resolver::with_servers(&profile.resolvers.external, timeout));
    (primary, external)
}

/// Ask one query of each DNS server on its own, concurrently: which of them answer at all
/// (`dns.resolver`). A resolver without explicit servers (an unusable system configuration) is asked as it is.
pub async fn ask_each_server(resolvers: &[&Resolver], name: &str) -> Vec<DnsAnswer> {
    let mut set = tokio::task::JoinSet::new();
    let mut order = Vec::new();
    for resolver in resolvers {
        let servers = resolver.servers();
        if servers.is_empty() {
            let (r, name) = ((*resolver).clone(), name.to_string());
            order.push(r.label());
            set.spawn(async move { r.lookup(&name, RecordType::Soa).await });
        }
        for server in servers {
            let r = Resolver::with_servers(&[server], resolver.timeout());
            let name = name.to_string();
            order.push(server.to_string());
            set.spawn(async move { r.lookup(&name, RecordType::Soa).await });
        }
    }
    let mut answers: Vec<DnsAnswer> = Vec::new();
    while let Some(joined) = set.join_next().await {
        if let Ok(a) = joined
            && !answers.iter().any(|b| b.server == a.server)
        {
            answers.push(a);
        }
    }
    answers.sort_by_key(|a| order.iter().position(|o| *o == a.server).unwrap_or(usize::MAX));
    answers
}

async fn run(profile: &Profile, options: &DiagnoseOptions) -> (MailPath, Vec<CheckResult>, Evidence, bool) {
    let topology = Topology::of(profile);
    let (primary, external) = resolvers(profile, options);
    progress(options, Progress::Phase { name: "dns".into() }).await;
    let plan = crate::probe::dns::DnsPlan::for_topology(&topology);
    let mut asked = vec![&primary];
    asked.extend(external.as_ref());
    // The path's lookups and one query per server run together; when no server answers that one, the
    // path's lookups are not waited for (they would only time out too): `dns.resolver` says why.
    let gathered = async {
        let each = ask_each_server(&asked, &topology.routing_domain);
        let gather = crate::probe::dns::gather(&plan, &primary, external.as_ref());
        tokio::pin!(each, gather);
        let mut dns = None;
        let resolvers = tokio::select! {
            r = &mut each => r,
            d = &mut gather => {
                dns = Some(d);
                each.await
            }
        };
        let any_answered = resolvers.iter().any(checks::resolver::answered);
        let dns = match dns {
            Some(d) => d,
            None if any_answered || resolvers.is_empty() => gather.await,
            None => Vec::new(),
        };
        (dns, resolvers)
    };
    let (dns, resolvers) = tokio::select! {
        done = gathered => done,
        () = cancelled(options.cancel.clone()) => {
            // Nothing judged yet: the path as the profile draws it, no verdicts.
            let path = MailPath::build(&topology.path_spec(&MxTargets::default()));
            return (path, Vec::new(), Evidence::default(), true);
        }
    };
    let mut evidence = Evidence {
        dns,
        resolvers,
        ..Evidence::default()
    };

    // Where each host resolves, per the primary resolver (address overrides from the profile first).
    let mut addresses: BTreeMap<String, Vec<IpAddr>> = BTreeMap::new();
    let primary_label = primary.label();
    for a in &evidence.dns {
        if matches!(a.rtype, RecordType::A | RecordType::Aaaa)
            && (a.server == primary_label || external.is_none())
        {
            addresses
                .entry(a.name.to_ascii_lowercase())
                .or_default()
                .extend(a.ips());
        }
    }
    // The profile's addresses replace DNS's (every one of them: several Edges may share a public name).
    let mut given: BTreeMap<String, Vec<IpAddr>> = BTreeMap::new();
    for (host, ip) in &topology.given_addresses {
        let v = given.entry(host.to_ascii_lowercase()).or_default();
        if !v.contains(ip) {
            v.push(*ip);
        }
    }
    addresses.extend(given);
    let mx_targets = topology.mx_targets(&evidence.dns);
    let targets = plan_targets(profile, &topology, &mx_targets, &addresses);

    progress(
        options,
        Progress::Phase {
            name: "probes".into(),
        },
    )
    .await;
    let timeouts = Timeouts {
        connect: profile.timeouts.connect,
        greeting: profile.timeouts.greeting,
        command: profile.timeouts.command,
        tls: profile.timeouts.tls,
    };
    let (smtp, ldaps, cancelled) = run_probes(
        profile,
        &topology,
        options,
        &targets,
        &addresses,
        timeouts,
        &evidence.dns,
    )
    .await;
    evidence.smtp = smtp;
    evidence.tls_ports = ldaps;

    progress(
        options,
        Progress::Phase {
            name: "checks".into(),
        },
    )
    .await;
    let mut results =
        checks::resolver::resolver_checks(&evidence.resolvers, &Attachment::Node("mailbox".into()));
    results.extend(judge(profile, &topology, options, &targets, &evidence));
    if cancelled {
        for c in &mut results {
            if c.id == checks::smtp::TCP_SMTP.id
                && c.status == crate::check::Status::Skip
                && c.evidence.is_empty()
            {
                c.summary = "not probed: the diagnosis was cancelled before this endpoint answered".into();
            }
        }
    }
    let mut path = MailPath::build(&topology.path_spec(&mx_targets));
    add_facts(&mut path, &targets, &evidence);
    if let Some(export) = options.export.as_deref() {
        for (hop_id, fact) in checks::audit::hop_facts(profile, export) {
            if let Some(hop) = path.hop_mut(hop_id) {
                hop.facts.push(fact);
            }
        }
    }
    path.roll_up(&results);
    (path, results, evidence, cancelled)
}

fn plan_targets(
    profile: &Profile,
    topology: &Topology,
    mx: &MxTargets,
    addresses: &BTreeMap<String, Vec<IpAddr>>,
) -> Vec<Target> {
    let tls_domain = profile.connectors.send.tls_domain(profile.tenant.cloud);
    let send_tls = ExpectedName::host(
        tls_domain.value,
        format!(
            "TlsDomain of the on-premises send connector ({})",
            tls_domain.provenance.words()
        ),
    );
    let mut targets = Vec::new();
    for e in &topology.edges {
        let mut t = Target::new(
            &e.fqdn,
            topology.smtp_port(&e.fqdn),
            Attachment::Hop(hop::MAILBOX_EDGE.into()),
            "the Edge's internal listener".into(),
            Listener::EdgeInternal,
        );
        t.expected = vec![ExpectedName::host(e.fqdn.clone(), "the Edge's internal FQDN")];
        t.trust = CertTrust::Direct {
            publisher: "the Edge subscription".into(),
            thumbprint: e.subscription_thumbprint.clone(),
        };
        targets.push(t);
    }
    if let Some(host) = topology.cloud_target(mx) {
        let role = if topology.send_smart_hosts.is_empty() {
            format!("the MX of {}", topology.routing_domain)
        } else {
            "the send connector's smart host".to_string()
        };
        let on_premises = topology.destination(&host) == Destination::OnPremises;
        let mut t = Target::new(
            &host,
            topology.smtp_port(&host),
            Attachment::Hop(topology.hop_to_eop.into()),
            role,
            if on_premises {
                Listener::Public
            } else {
                Listener::External
            },
        );
        t.external_service = !on_premises;
        t.expected = vec![send_tls.clone()];
        targets.push(t);
    }
    let mut inbound_expected = Vec::new();
    let out_conn = &profile.connectors.exo_outbound;
    if let Some(d) = &out_conn.tls_domain {
        ExpectedName::add_to(
            &mut inbound_expected,
            ExpectedName::connector_domain(d.clone(), "TlsDomain of the Exchange Online outbound connector"),
        );
    }
    if let Some(n) = &profile.connectors.exo_inbound.tls_sender_certificate_name {
        ExpectedName::add_to(
            &mut inbound_expected,
            ExpectedName::connector_domain(
                n.clone(),
                "TlsSenderCertificateName of the Exchange Online inbound connector",
            ),
        );
    }
    let inbound = |host: &str, role: &str, listener: Listener| {
        let mut t = Target::new(
            host,
            topology.smtp_port(host),
            Attachment::Hop(topology.hop_from_eop.into()),
            role.to_string(),
            listener,
        );
        t.expected.clone_from(&inbound_expected);
        if t.expected.is_empty() {
            t.expected
                .push(ExpectedName::host(host.to_string(), "the public host name"));
        }
        t.used_as_client = true;
        t
    };
    for host in &topology.inbound_hosts {
        targets.push(inbound(
            host,
            "the on-premises endpoint Exchange Online connects to",
            Listener::Public,
        ));
        // Every address behind the public name receives from Exchange Online: a load balancer or DNS
        // round robin may lead to a server that serves another certificate, or none.
        let behind = addresses
            .get(&host.to_ascii_lowercase())
            .map(Vec::as_slice)
            .unwrap_or_default();
        if behind.len() > 1 {
            for ip in &behind[1..] {
                let mut t = inbound(
                    host,
                    &format!("the on-premises endpoint Exchange Online connects to, at {ip}"),
                    Listener::Public,
                );
                t.pinned = Some(*ip);
                targets.push(t);
            }
        }
    }
    // Every server that receives from Exchange Online, each with its own receive connector.
    let receivers = topology.receivers();
    for r in &receivers {
        let shared = receivers
            .iter()
            .filter(|o| o.host.eq_ignore_ascii_case(&r.host))
            .count()
            > 1;
        let mut t = inbound(&r.host, &format!("{}'s receive connector", r.server), r.listener);
        if shared {
            t.pinned = r.address;
        }
        let server = Some((r.server.clone(), r.connector.clone()));
        match targets
            .iter_mut()
            .find(|o| o.evidence_id() == t.evidence_id() && o.attachment == t.attachment)
        {
            Some(existing) => existing.receiver = server,
            None => {
                t.receiver = server;
                targets.push(t);
            }
        }
    }
    if topology.uses_edge() {
        for m in &topology.mailboxes {
            let mut t = Target::new(
                &m.fqdn,
                topology.smtp_port(&m.fqdn),
                Attachment::Hop(hop::EDGE_MAILBOX.into()),
                "the Mailbox server's receive connector".into(),
                Listener::Mailbox,
            );
            t.expected = vec![ExpectedName::host(m.fqdn.clone(), "the Mailbox server's FQDN")];
            t.trust = CertTrust::Direct {
                publisher: "the Mailbox server (in Active Directory, replicated to the Edge by EdgeSync)"
                    .into(),
                thumbprint: None,
            };
            targets.push(t);
        }
    }
    if let Some(host) = &mx.accepted {
        let destination = topology.destination(host);
        let eop = destination == Destination::Eop;
        let on_premises = destination == Destination::OnPremises;
        let mut t = Target::new(
            host,
            topology.smtp_port(host),
            Attachment::Hop(hop::INTERNET_EOP.into()),
            format!(
                "the MX of {}",
                topology.accepted_domains.first().cloned().unwrap_or_default()
            ),
            if on_premises {
                Listener::Public
            } else {
                Listener::External
            },
        );
        t.external_service = !on_premises;
        t.expected = vec![if eop {
            send_tls
        } else {
            ExpectedName::host(host.clone(), "the MX host name")
        }];
        targets.push(t);
    }
    targets
}

async fn run_probes(
    profile: &Profile,
    topology: &Topology,
    options: &DiagnoseOptions,
    targets: &[Target],
    addresses: &BTreeMap<String, Vec<IpAddr>>,
    timeouts: Timeouts,
    dns: &[DnsAnswer],
) -> (Vec<SmtpProbe>, Vec<TlsPortProbe>, bool) {
    // One probe per host:port (and pinned address), however many hops use it.
    let mut unique: Vec<&Target> = Vec::new();
    for t in targets {
        if !unique
            .iter()
            .any(|u| u.evidence_id().eq_ignore_ascii_case(&t.evidence_id()))
        {
            unique.push(t);
        }
    }
    let edgesync: Vec<(String, u16)> = topology
        .edges
        .iter()
        .map(|e| (e.fqdn.clone(), topology.edgesync_port(&e.fqdn)))
        .collect();
    let total = unique.len() + edgesync.len();
    let limit = Arc::new(Semaphore::new(options.concurrency.max(1)));
    let mut set = tokio::task::JoinSet::new();
    for t in unique {
        let host = t.host.clone();
        let resolved = match (t.pinned, host.parse::<IpAddr>()) {
            (Some(ip), _) | (None, Ok(ip)) => vec![ip],
            (None, Err(_)) => addresses
                .get(&host.to_ascii_lowercase())
                .cloned()
                .unwrap_or_default(),
        };
        let evidence_id = t.evidence_id();
        let req = SmtpProbeRequest {
            addresses: resolved,
            helo: options.helo.clone(),
            sni: None,
            timeouts,
            host,
            port: t.port,
        };
        let limit = Arc::clone(&limit);
        // A scan never outlives the diagnosis: at most half of its total time.
        let mut scan = options.tls_scan;
        scan.limits.max_time = scan.limits.max_time.min(profile.timeouts.total / 2);
        let observer = step_observer(options, format!("smtp:{}:{}", req.host, req.port));
        set.spawn(async move {
            let _permit = limit.acquire_owned().await;
            let mut probe = crate::tls_scan::probe_smtp_scanned_observed(&req, &scan, observer).await;
            probe.id = evidence_id;
            Either::Smtp(Box::new(probe))
        });
    }
    for (host, port) in edgesync {
        let addrs = addresses
            .get(&host.to_ascii_lowercase())
            .cloned()
            .unwrap_or_default();
        let limit = Arc::clone(&limit);
        let (connect, tls) = (timeouts.connect, timeouts.tls);
        let observer = step_observer(options, format!("ldaps:{host}:{port}"));
        set.spawn(async move {
            let _permit = limit.acquire_owned().await;
            Either::Tls(Box::new(
                crate::probe::probe_tls_port_observed(&host, port, &addrs, connect, tls, observer).await,
            ))
        });
    }
    let mut smtp = Vec::new();
    let mut tls = Vec::new();
    let deadline = tokio::time::Instant::now() + profile.timeouts.total.max(Duration::from_secs(1));
    let cancel = cancelled(options.cancel.clone());
    tokio::pin!(cancel);
    let mut was_cancelled = false;
    loop {
        let joined = tokio::select! {
            next = tokio::time::timeout_at(deadline, set.join_next()) => match next {
                Ok(Some(joined)) => joined,
                _ => break,
            },
            () = &mut cancel => {
                was_cancelled = true;
                break;
            }
        };
        let Ok(result) = joined else { continue };
        // Judge what this probe alone shows only when someone watches (the GUI lights the hop up).
        let watched = options.progress.is_some();
        let mut checks = Vec::new();
        let id = match result {
            Either::Smtp(p) => {
                if watched {
                    for t in targets
                        .iter()
                        .filter(|t| t.evidence_id().eq_ignore_ascii_case(&p.id))
                    {
                        let vantage = vantage(topology, t.listener, &t.host, None);
                        checks.extend(endpoint_checks(options, t, &p, &vantage));
                        checks.extend(dane_checks(topology, t, dns, Some(&p)));
                    }
                }
                let id = p.id.clone();
                smtp.push(*p);
                id
            }
            Either::Tls(p) => {
                if watched {
                    let vantage = vantage(topology, Listener::EdgeSync, &p.host, None);
                    checks.push(checks::smtp::edgesync_check(
                        &p,
                        Attachment::Hop(hop::MAILBOX_EDGE.into()),
                        &vantage,
                    ));
                }
                let id = p.id.clone();
                tls.push(*p);
                id
            }
        };
        progress(
            options,
            Progress::Probed {
                id,
                done: smtp.len() + tls.len(),
                total,
                checks,
            },
        )
        .await;
    }
    set.abort_all();
    smtp.sort_by(|a, b| a.id.cmp(&b.id));
    tls.sort_by(|a, b| a.id.cmp(&b.id));
    (smtp, tls, was_cancelled)
}

/// When someone watches the progress: an observer that turns a probe's steps into [`Progress::Step`].
fn step_observer(options: &DiagnoseOptions, id: String) -> Option<crate::probe::ProbeObserver> {
    let progress = options.progress.clone()?;
    let (tx, mut rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Some(event) = rx.recv().await {
            if let crate::probe::ProbeEvent::Step { stage, limit } = event {
                let limit_ms = u64::try_from(limit.as_millis()).unwrap_or(u64::MAX);
                let step = Progress::Step {
                    id: id.clone(),
                    stage,
                    limit_ms,
                };
                if progress.send(step).await.is_err() {
                    break;
                }
            }
        }
    });
    Some(tx)
}

enum Either {
    Smtp(Box<SmtpProbe>),
    Tls(Box<TlsPortProbe>),
}

/// Judge the evidence: every family of checks, in a stable order (dns, the endpoints, DANE, EdgeSync,
/// the hops inside Microsoft's network, the connector configuration).
fn judge(
    profile: &Profile,
    topology: &Topology,
    options: &DiagnoseOptions,
    targets: &[Target],
    evidence: &Evidence,
) -> Vec<CheckResult> {
    let j = Judging {
        profile,
        topology,
        options,
        targets,
        evidence,
        public_probe: targets
            .iter()
            .find(|t| t.attachment == Attachment::Hop(topology.hop_from_eop.into()))
            .and_then(|t| evidence.smtp(&t.evidence_id())),
    };
    [
        j.vantage(),
        j.dns(),
        j.endpoints(),
        j.dane(),
        j.edgesync(),
        j.unobservable(),
        j.config(),
        j.audit(),
    ]
    .concat()
}

/// Where this workstation is, for the reachability of a `listener` on `host`: from the profile's
/// location, and, once every probe has finished (`evidence`), from what answered. A host that answered on
/// another port is evidently reachable from here, so a port of it that does not answer is a failure, not
/// the vantage point.
fn vantage(
    topology: &Topology,
    listener: Listener,
    host: &str,
    evidence: Option<&Evidence>,
) -> checks::smtp::Vantage {
    let answered_elsewhere = evidence.is_some_and(|e| {
        e.smtp
            .iter()
            .filter(|p| p.host.eq_ignore_ascii_case(host))
            .map(|p| &p.connect)
            .chain(
                e.tls_ports
                    .iter()
                    .filter(|p| p.host.eq_ignore_ascii_case(host))
                    .map(|p| &p.connect),
            )
            .any(crate::evidence::Connect::is_connected)
    });
    checks::smtp::Vantage {
        from: Some(topology.location.words().to_string()),
        out_of_sight: topology
            .out_of_sight(listener)
            .filter(|_| !answered_elsewhere)
            .map(str::to_string),
    }
}

/// What the judging of a diagnosis reads.
struct Judging<'a> {
    profile: &'a Profile,
    topology: &'a Topology,
    options: &'a DiagnoseOptions,
    targets: &'a [Target],
    evidence: &'a Evidence,
    /// The probe of the on-premises endpoint Exchange Online delivers to.
    public_probe: Option<&'a SmtpProbe>,
}

impl Judging<'_> {
    /// `path.vantage`: where mailpath runs from, and whether what it saw agrees.
    fn vantage(&self) -> Vec<CheckResult> {
        vec![checks::vantage::vantage_check(self.profile, self.evidence)]
    }

    /// `dns.*`, with where on-premises mail leaves from (the profile's egress addresses and send FQDN).
    fn dns(&self) -> Vec<CheckResult> {
        let dns_ctx = crate::checks::dns::DnsContext {
            egress: self.topology.egress(),
            send_fqdn: self.topology.send_fqdn.clone(),
        };
        crate::checks::dns::dns_checks(self.profile, self.evidence, &dns_ctx)
    }

    /// `tcp.smtp.*`, `smtp.*` and `tls.*` of every target (a skip for a target the diagnosis had no time
    /// to probe).
    fn endpoints(&self) -> Vec<CheckResult> {
        let mut results = Vec::new();
        for t in self.targets {
            let Some(probe) = self.evidence.smtp(&t.evidence_id()) else {
                results.push(
                    CheckResult::new(
                        &checks::smtp::TCP_SMTP,
                        crate::check::Status::Skip,
                        t.label(),
                        "not probed: the diagnosis ran out of time",
                    )
                    .on(t.attachment.clone()),
                );
                continue;
            };
            let vantage = vantage(self.topology, t.listener, &t.host, Some(self.evidence));
            results.extend(endpoint_checks(self.options, t, probe, &vantage));
        }
        results
    }

    /// `tls.dane` where senders on the internet (Exchange Online among them) connect: the on-premises
    /// public endpoint and the MX hosts; once a host and hop.
    fn dane(&self) -> Vec<CheckResult> {
        let mut dane_seen = std::collections::BTreeSet::new();
        let mut results = Vec::new();
        for t in self.targets {
            if !dane_seen.insert((t.host.to_ascii_lowercase(), format!("{:?}", t.attachment))) {
                continue;
            }
            let probe = self.evidence.smtp(&t.evidence_id());
            results.extend(dane_checks(self.topology, t, &self.evidence.dns, probe));
        }
        results
    }

    /// `tcp.edgesync.reachable` of every Edge.
    fn edgesync(&self) -> Vec<CheckResult> {
        self.evidence
            .tls_ports
            .iter()
            .map(|p| {
                let vantage = vantage(self.topology, Listener::EdgeSync, &p.host, Some(self.evidence));
                checks::smtp::edgesync_check(p, Attachment::Hop(hop::MAILBOX_EDGE.into()), &vantage)
            })
            .collect()
    }

    /// The hops inside Microsoft's network, which no probe can see, and the lane of Exchange Online's
    /// mail to the internet.
    fn unobservable(&self) -> Vec<CheckResult> {
        let mut results = Vec::new();
        // Mail reaches Exchange Online only when the hop into the cloud reaches EOP.
        let cloud = self
            .topology
            .cloud_target(&self.topology.mx_targets(&self.evidence.dns))
            .map(|h| self.topology.destination(&h));
        if cloud.is_none_or(|d| d == Destination::Eop) {
            results.push(checks::smtp::unobservable(
                hop::EOP_EXO,
                "EOP -> Exchange Online runs inside Microsoft's network",
            ));
        }
        results.push(checks::smtp::unobservable(
            hop::EXO_EOP,
            "Exchange Online -> EOP runs inside Microsoft's network",
        ));
        results.extend(checks::routing::internet_lane_checks(self.topology));
        results
    }

    /// The configuration audit of an imported export, with the certificates the probes were served.
    fn audit(&self) -> Vec<CheckResult> {
        let Some(export) = self.options.export.as_deref() else {
            return Vec::new();
        };
        let served: Vec<checks::audit::Served> = self
            .evidence
            .smtp
            .iter()
            .filter_map(|p| {
                let der = p.tls.as_ref()?.chain.first()?;
                Some(checks::audit::Served {
                    host: p.host.clone(),
                    leaf: crate::cert::parse_certificate(der).ok()?,
                })
            })
            .collect();
        checks::audit::audit(&checks::audit::AuditInput {
            profile: self.profile,
            export,
            now: self.options.now,
            served: &served,
            probed: true,
        })
    }

    /// `config.*`, with the certificate the public endpoint served.
    fn config(&self) -> Vec<CheckResult> {
        let served = self
            .public_probe
            .and_then(|p| p.tls.as_ref())
            .and_then(|tls| tls.chain.first())
            .and_then(|der| {
                let info = crate::cert::parse_certificate(der).ok()?;
                Some((info.issuer, info.subject))
            });
        let config_ctx = crate::checks::config::ConfigContext {
            served_certificate: served,
        };
        let mut results = checks::config::config_checks(self.profile, &config_ctx);
        results.push(checks::routing::send_smart_hosts_check(self.profile));
        results.extend(checks::receive::receive_certificate_checks(
            self.profile,
            &self.receivers(),
            Attachment::Hop(self.topology.hop_from_eop.into()),
        ));
        results
    }

    /// Every server that receives from Exchange Online and what it showed: the servers of the profile,
    /// then each other address behind the public name (a server the profile does not list).
    fn receivers(&self) -> Vec<checks::receive::ReceiverSeen> {
        let connected = |t: &Target| {
            t.pinned.or_else(
                || match self.evidence.smtp(&t.evidence_id()).map(|p| &p.connect) {
                    Some(crate::evidence::Connect::Connected { address, .. }) => Some(address.ip()),
                    _ => None,
                },
            )
        };
        let seen = |t: &Target, server: String, connector: String| checks::receive::ReceiverSeen {
            server,
            connector,
            target: t.label(),
            evidence_id: t.evidence_id(),
            observed: checks::receive::observed(self.evidence.smtp(&t.evidence_id())),
        };
        let mut known: Vec<IpAddr> = self
            .topology
            .receivers()
            .iter()
            .filter_map(|r| r.address)
            .collect();
        let mut receivers = Vec::new();
        for t in self.targets {
            if let Some((server, connector)) = t.receiver.clone() {
                known.extend(connected(t));
                receivers.push(seen(t, server, connector));
            }
        }
        let from_eop = Attachment::Hop(self.topology.hop_from_eop.into());
        for t in self.targets {
            if t.receiver.is_some() || t.listener != Listener::Public || t.attachment != from_eop {
                continue;
            }
            let Some(ip) = connected(t) else { continue };
            if known.contains(&ip) {
                continue;
            }
            known.push(ip);
            let connector = if self.topology.uses_edge() {
                "<EDGE>\\Default internal receive connector <EDGE>"
            } else {
                "<SERVER>\\Default Frontend <SERVER>"
            };
            receivers.push(seen(t, format!("the server at {ip}"), connector.to_string()));
        }
        receivers
    }
}

/// The checks of one probed SMTP endpoint as one target of the path uses it: the SMTP dialogue and the
/// certificate. They depend on nothing else, so they are judged as soon as the probe ends (live progress).
fn endpoint_checks(
    options: &DiagnoseOptions,
    t: &Target,
    probe: &SmtpProbe,
    vantage: &checks::smtp::Vantage,
) -> Vec<CheckResult> {
    let id = t.evidence_id();
    let mut results = Vec::new();
    let ctx = EndpointContext {
        attachment: t.attachment.clone(),
        external_service: t.external_service,
        role: t.role.clone(),
        vantage: vantage.clone(),
    };
    results.extend(checks::smtp::smtp_checks(probe, &ctx));
    results.push(checks::ciphers::cipher_check(probe, &ctx));
    let chain = probe
        .tls
        .as_ref()
        .map(|tls| tls.chain.clone())
        .unwrap_or_default();
    let label = t.label();
    let cert_ctx = CertCheckContext {
        target: &label,
        evidence_id: &id,
        expected: &t.expected,
        trust: &options.trust,
        now: options.now,
        used_as_client: t.used_as_client,
        attachment: t.attachment.clone(),
    };
    if probe.tls.as_ref().is_some_and(|tls| !tls.chain.is_empty()) {
        match &t.trust {
            CertTrust::Public => {
                let mut certs = checks::cert::cert_checks(&chain, &cert_ctx);
                if t.external_service {
                    checks::cert::on_microsoft_endpoint(&mut certs, &t.host);
                }
                results.extend(certs);
            }
            CertTrust::Direct {
                publisher,
                thumbprint,
            } => {
                let direct = checks::cert::DirectTrust {
                    publisher,
                    thumbprint: thumbprint.as_deref(),
                    profile_key: (t.listener == Listener::EdgeInternal)
                        .then_some("[[edge]] subscription_thumbprint"),
                };
                results.extend(checks::cert::direct_trust_checks(&chain, &cert_ctx, &direct));
            }
        }
    } else {
        let why = if probe.tls.is_some() {
            "no certificate received"
        } else {
            "no TLS session"
        };
        let defs = match t.trust {
            CertTrust::Public => checks::cert::SERVER_DEFS,
            CertTrust::Direct { .. } => checks::cert::DIRECT_TRUST_SERVER_DEFS,
        };
        for def in defs.all() {
            results.push(
                CheckResult::new(def, crate::check::Status::Skip, t.label(), why)
                    .evidence(id.clone())
                    .on(t.attachment.clone()),
            );
        }
    }
    results
}

/// `tls.dane` of a target senders on the internet connect to (the on-premises public endpoint, the MX
/// hosts); nothing for internal hops.
fn dane_checks(
    topology: &Topology,
    t: &Target,
    dns: &[DnsAnswer],
    probe: Option<&SmtpProbe>,
) -> Option<CheckResult> {
    let internet_facing = matches!(&t.attachment, Attachment::Hop(h)
        if h == topology.hop_from_eop || h == topology.hop_to_eop || h == hop::INTERNET_EOP);
    // An internal server probed on its own name (each receiving Mailbox server) is not a name senders
    // look up.
    if !internet_facing || t.listener == Listener::Mailbox {
        return None;
    }
    let name = crate::topology::tlsa_name(&t.host);
    let answer = dns
        .iter()
        .find(|a| a.rtype == RecordType::Tlsa && a.name.eq_ignore_ascii_case(&name));
    Some(checks::dane::dane_check(
        &t.host,
        answer,
        probe,
        t.attachment.clone(),
    ))
}

fn add_facts(path: &mut MailPath, targets: &[Target], evidence: &Evidence) {
    for t in targets {
        let Attachment::Hop(hop_id) = &t.attachment else {
            continue;
        };
        let Some(probe) = evidence.smtp(&t.evidence_id()) else {
            continue;
        };
        let Some(hop) = path.hop_mut(hop_id) else { continue };
        let mut facts = vec![format!("SMTP {}", t.port)];
        if let Some(v) = probe.tls.as_ref().and_then(|tls| tls.version.clone()) {
            facts.push(v);
        } else if probe.connect.is_connected() && probe.extensions().iter().all(|e| e != "STARTTLS") {
            facts.push("no STARTTLS".into());
        }
        // Several servers behind one hop: each fact once.
        for fact in facts {
            if !hop.facts.contains(&fact) {
                hop.facts.push(fact);
            }
        }
    }
    for p in &evidence.tls_ports {
        if let Some(hop) = path.hop_mut(hop::MAILBOX_EDGE) {
            hop.facts.push(format!("LDAPS {}", p.port));
        }
    }
}

/// Put a new scan of one endpoint into a finished diagnosis (the GUI's "Full TLS scan"): the probe's
/// evidence, its `tls.ciphers` results, the counts and the path's statuses. `false` when the
/// diagnosis has no SMTP probe `probe_id`.
pub fn apply_scan(diagnosis: &mut Diagnosis, probe_id: &str, scan: crate::tls_scan::TlsScan) -> bool {
    let Some(probe) = diagnosis.evidence.smtp.iter_mut().find(|p| p.id == probe_id) else {
        return false;
    };
    crate::tls_scan::attach(probe, scan);
    let probe = probe.clone();
    let judged = diagnosis
        .checks
        .iter_mut()
        .filter(|c| c.id == crate::checks::ciphers::CIPHERS.id && c.evidence.iter().any(|e| e == probe_id));
    for check in judged {
        let ctx = crate::checks::smtp::EndpointContext {
            attachment: check.attachment.clone(),
            external_service: false,
            role: String::new(),
            vantage: crate::checks::smtp::Vantage::default(),
        };
        *check = crate::checks::ciphers::cipher_check(&probe, &ctx);
    }
    diagnosis.counts = crate::check::Counts::of(&diagnosis.checks);
    diagnosis.path.roll_up(&diagnosis.checks);
    true
}

/// What a diagnosis run from `mailpath explain` carries at its top: the string and its verdict.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Headline {
    /// The explained text (the main failure's line, bounded).
    pub input: String,
    /// The code (`450 4.7.320`).
    pub code: String,
    /// Its title.
    pub title: String,
    /// The catalogue entry, when catalogued.
    pub entry: Option<String>,
    /// The hops it is pinned on.
    pub hops: Vec<String>,
    /// The verdict.
    pub verdict: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lab::{Lab, LabOptions};

    async fn lab(name: &str) -> (Lab, Profile, Trust) {
        let lab = Lab::start_named(name, LabOptions::default()).await.unwrap();
        let profile = Profile::load(&lab.info().profile_file).unwrap();
        let trust = trust_for(&profile).unwrap();
        (lab, profile, trust)
    }

    /// Issue 13 item 9: a certificate on EOP's endpoint that EOP would not serve (here: from a CA nobody
    /// trusts, as a TLS-inspecting firewall re-signs it) is a wrong route or an inspecting device, never a
    /// certificate for the admin to change.
    #[tokio::test]
    async fn a_bad_certificate_on_eops_endpoint_points_at_the_route_not_at_a_certificate() {
        let (lab, profile, _) = lab("healthy-direct").await;
        let d = diagnose(&profile, DiagnoseOptions::new(Trust::empty())).await;
        let eop = profile.tenant.eop_endpoint();
        let on_eop: Vec<&CheckResult> = d
            .checks
            .iter()
            .filter(|c| c.id == "tls.cert.trusted" && c.target.starts_with(&eop))
            .collect();
        assert!(!on_eop.is_empty(), "{:#?}", d.checks);
        for c in on_eop {
            assert_eq!(c.status, crate::check::Status::Fail);
            assert!(c.remediation.contains("inspects SMTP/TLS"), "{}", c.remediation);
            assert!(c.remediation.contains("SmartHosts"), "{}", c.remediation);
            assert!(
                !c.remediation.contains("Import-ExchangeCertificate"),
                "{}",
                c.remediation
            );
        }
        // The on-premises endpoints keep the certificate fix.
        let on_prem = d
            .checks
            .iter()
            .find(|c| c.id == "tls.cert.trusted" && c.target.starts_with("mail.contoso.com"))
            .unwrap();
        assert!(
            on_prem.remediation.contains("public CA"),
            "{}",
            on_prem.remediation
        );
        lab.shutdown().await;
    }

    #[tokio::test]
    async fn progress_reports_every_probe_and_the_end() {
        let (lab, profile, trust) = lab("healthy-direct").await;
        let (tx, mut rx) = mpsc::channel(256);
        let mut options = DiagnoseOptions::new(trust);
        options.progress = Some(tx);
        let d = diagnose(&profile, options).await;
        let mut events = Vec::new();
        while let Ok(e) = rx.try_recv() {
            events.push(e);
        }
        let probed = events
            .iter()
            .filter(|e| matches!(e, Progress::Probed { .. }))
            .count();
        assert_eq!(probed, d.evidence.smtp.len() + d.evidence.tls_ports.len());
        assert_eq!(events.last(), Some(&Progress::Finished));
        assert_eq!(
            d.counts.fail,
            0,
            "{:#?}",
            d.checks
                .iter()
                .filter(|c| c.status == crate::check::Status::Fail)
                .collect::<Vec<_>>()
        );
        assert!(!d.cancelled);
        // What each probe showed on its own is exactly what the final diagnosis says of those endpoints.
        let mut live: Vec<CheckResult> = events
            .iter()
            .filter_map(|e| match e {
                Progress::Probed { checks, .. } => Some(checks.clone()),
                _ => None,
            })
            .flatten()
            .collect();
        assert!(
            live.len() > 20,
            "the probes judged their endpoints: {}",
            live.len()
        );
        let mut final_of_endpoints: Vec<CheckResult> = d
            .checks
            .iter()
            .filter(|c| c.id.starts_with("smtp.") || c.id.starts_with("tls.") || c.id.starts_with("tcp."))
            .filter(|c| {
                c.evidence
                    .iter()
                    .any(|e| e.starts_with("smtp:") || e.starts_with("tls:"))
            })
            .cloned()
            .collect();
        let key = |c: &CheckResult| (c.id.clone(), c.target.clone(), format!("{:?}", c.attachment));
        live.sort_by_key(key);
        final_of_endpoints.sort_by_key(key);
        assert!(final_of_endpoints.len() > 20, "{}", final_of_endpoints.len());
        for c in &live {
            assert!(
                d.checks.contains(c),
                "a live check the diagnosis does not have: {c:#?}"
            );
        }
        assert!(
            final_of_endpoints.iter().all(|c| live.contains(c)),
            "every endpoint check was shown live"
        );
        // The JSON round-trips.
        let json = serde_json::to_string(&d).unwrap();
        let back: Diagnosis = serde_json::from_str(&json).unwrap();
        assert_eq!(back, d);
        lab.shutdown().await;
    }

    #[tokio::test]
    async fn a_diagnosis_can_be_cancelled() {
        let (lab, profile, trust) = lab("tarpit").await;
        let (cancel, rx) = watch::channel(false);
        let mut options = DiagnoseOptions::new(trust);
        options.cancel = Some(rx);
        let t0 = Instant::now();
        let task = tokio::spawn(async move { diagnose(&profile, options).await });
        tokio::time::sleep(Duration::from_millis(300)).await;
        cancel.send(true).unwrap();
        let d = task.await.unwrap();
        assert!(d.cancelled);
        assert!(
            t0.elapsed() < Duration::from_secs(5),
            "cancelled promptly, not after the 20 s tarpit"
        );
        lab.shutdown().await;
    }
}
