//! Forwarding: queued messages go to one smart host, or to each recipient domain's MX hosts
//! ([`Route::Mx`]), under a TLS policy, with retries and backoff, a bounce when a recipient fails
//! for good or runs out of attempts, and a delivery log per message.
//!
//! The queue is the spool: a message is queued while its metadata says so, and every change of
//! state is written (synced, atomically renamed) before it is acted upon further. In memory there is
//! only a schedule (a heap of due times), rebuilt from the spool at start. Delivery is at least once:
//! a relay killed after the smart host accepted a message but before the spool recorded it sends
//! that message again after the restart.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use time::OffsetDateTime;
use time::format_description::well_known::Rfc2822;
use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;

use super::client::{self, ClientOptions, RcptOutcome, SendOutcome};
use super::spool::{
    Attempt, Delivery, DeliveryState, MAX_LOG_IN_META, META_SCHEMA, MessageMeta, RecipientFailure, Spool,
};
use super::{EventTx, RelayEvent};
use crate::dns::{DnsOutcome, RecordType, Resolver};
use crate::smtp::server::SessionInfo;

/// Where forwarded mail goes.
#[derive(Debug, Clone)]
pub enum Route {
    /// Every message to one smart host.
    SmartHost {
        /// The host name or address.
        host: String,
        /// Its port.
        port: u16,
    },
    /// Per recipient domain, to its MX hosts in preference order (RFC 5321 5.1).
    Mx(MxRoute),
}

impl Route {
    /// `host:port`, or `MX (via <resolver>)`.
    pub fn describe(&self) -> String {
        match self {
            Route::SmartHost { host, port } => format!("{host}:{port}"),
            Route::Mx(mx) => format!("MX (DNS {})", mx.resolver.label()),
        }
    }
}

/// Delivery by MX: the resolver to ask and the SMTP port of the MX hosts.
#[derive(Debug, Clone)]
pub struct MxRoute {
    /// Where MX and address records come from (the system's servers, or explicit ones such as a
    /// lab's DNS server).
    pub resolver: Resolver,
    /// The port of every MX host (25 outside labs and tests).
    pub port: u16,
    /// Per MX host name, a different port: for labs, where every host listens on loopback on a
    /// port of its own.
    pub port_overrides: Vec<(String, u16)>,
}

impl MxRoute {
    /// The port to use for `host`.
    pub fn port_for(&self, host: &str) -> u16 {
        let host = crate::dns::normalize_name(host);
        self.port_overrides
            .iter()
            .find(|(h, _)| crate::dns::normalize_name(h) == host)
            .map_or(self.port, |(_, p)| *p)
    }
}

/// Where and how to forward.
#[derive(Debug, Clone)]
pub struct ForwardConfig {
    /// Where to.
    pub route: Route,
    /// EHLO name, TLS policy, trust, client certificate, timeouts.
    pub client: ClientOptions,
    /// The wait after the first failed attempt; doubled after each further one.
    pub retry_base: Duration,
    /// The longest wait between attempts.
    pub retry_max: Duration,
    /// Attempts before a recipient is given up on and bounced.
    pub max_attempts: u32,
    /// Deliveries in parallel.
    pub concurrency: usize,
}

/// The delay before attempt `attempts + 1`, after `attempts` failed ones.
pub fn backoff(config: &ForwardConfig, attempts: u32) -> Duration {
    let factor = 1u32 << attempts.saturating_sub(1).min(20);
    config.retry_base.saturating_mul(factor).min(config.retry_max)
}

#[derive(Debug, Default)]
struct Schedule {
    heap: Mutex<BinaryHeap<Reverse<(tokio::time::Instant, String)>>>,
    notify: Notify,
}

impl Schedule {
    fn push(&self, due: tokio::time::Instant, id: String) {
        if let Ok(mut heap) = self.heap.lock() {
            heap.push(Reverse((due, id)));
        }
        self.notify.notify_one();
    }

    /// The next due id, or how long to wait for one.
    fn next(&self) -> Result<String, Option<Duration>> {
        let Ok(mut heap) = self.heap.lock() else {
            return Err(None);
        };
        let now = tokio::time::Instant::now();
        match heap.peek() {
            Some(Reverse((due, _))) if *due <= now => heap.pop().map(|Reverse((_, id))| id).ok_or(None),
            Some(Reverse((due, _))) => Err(Some(*due - now)),
            None => Err(None),
        }
    }

    fn len(&self) -> usize {
        self.heap.lock().map(|h| h.len()).unwrap_or(0)
    }
}

/// The running forwarder.
#[derive(Debug)]
pub struct Forwarder {
    schedule: Arc<Schedule>,
    stop: watch::Sender<bool>,
    workers: Mutex<Vec<JoinHandle<()>>>,
}

struct Worker {
    config: Arc<ForwardConfig>,
    spool: Arc<Spool>,
    hostname: String,
    events: EventTx,
    schedule: Arc<Schedule>,
}

impl Forwarder {
    /// Start `config.concurrency` workers; `queued` are the ids found queued in the spool at start
    /// (each is scheduled at its recorded next attempt).
    pub fn start(
        config: ForwardConfig,
        spool: Arc<Spool>,
        hostname: String,
        events: EventTx,
        queued: &[String],
    ) -> Forwarder {
        let schedule = Arc::new(Schedule::default());
        let now = OffsetDateTime::now_utc();
        for id in queued {
            let due = spool
                .meta(id)
                .ok()
                .and_then(|m| m.delivery.next_attempt)
                .map_or(Duration::ZERO, |next| {
                    Duration::try_from(next - now).unwrap_or(Duration::ZERO)
                });
            schedule.push(tokio::time::Instant::now() + due, id.clone());
        }
        let (stop, stopped) = watch::channel(false);
        let worker = Arc::new(Worker {
            config: Arc::new(config.clone()),
            spool,
            hostname,
            events,
            schedule: Arc::clone(&schedule),
        });
        let workers = (0..config.concurrency.max(1))
            .map(|_| {
                let worker = Arc::clone(&worker);
                let mut stopped = stopped.clone();
                tokio::spawn(async move {
                    loop {
                        match worker.schedule.next() {
                            Ok(id) => worker.deliver(&id).await,
                            Err(wait) => {
                                let wait = wait.unwrap_or(Duration::from_secs(3600));
                                tokio::select! {
                                    _ = stopped.changed() => break,
                                    () = worker.schedule.notify.notified() => {}
                                    () = tokio::time::sleep(wait) => {}
                                }
                            }
                        }
                        if *stopped.borrow() {
                            break;
                        }
                    }
                })
            })
            .collect();
        Forwarder {
            schedule,
            stop,
            workers: Mutex::new(workers),
        }
    }

    /// Schedule a newly stored message now.
    pub fn enqueue(&self, id: String) {
        self.schedule.push(tokio::time::Instant::now(), id);
    }

    /// Messages waiting in the schedule (not counting those being delivered).
    pub fn scheduled(&self) -> usize {
        self.schedule.len()
    }

    /// Stop the workers (a delivery in progress is abandoned; it stays queued in the spool).
    pub async fn shutdown(&self) {
        let _ = self.stop.send(true);
        let workers = self
            .workers
            .lock()
            .map(|mut w| std::mem::take(&mut *w))
            .unwrap_or_default();
        for worker in workers {
            worker.abort();
            let _ = worker.await;
        }
    }
}

impl Worker {
    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Spool) -> Result<T, super::spool::SpoolError> + Send + 'static,
    ) -> Option<T> {
        let spool = Arc::clone(&self.spool);
        match tokio::task::spawn_blocking(move || f(&spool)).await {
            Ok(Ok(v)) => Some(v),
            Ok(Err(error)) => {
                tracing::error!(%error, "spool operation failed in the forwarder");
                None
            }
            Err(error) => {
                tracing::error!(%error, "spool task failed in the forwarder");
                None
            }
        }
    }

    async fn deliver(&self, id: &str) {
        let key = id.to_string();
        let Some((mut meta, data)) = self.blocking(move |s| Ok((s.meta(&key)?, s.data(&key)?))).await else {
            return;
        };
        if meta.delivery.state != DeliveryState::Queued || meta.delivery.pending.is_empty() {
            return;
        }
        let config = &self.config;
        let at = OffsetDateTime::now_utc();
        let mut wire = received_header(&meta, &self.hostname, at).into_bytes();
        wire.extend_from_slice(&data);
        let (outcome, host_desc) = match &config.route {
            Route::SmartHost { host, port } => (
                client::send(
                    host,
                    *port,
                    &config.client,
                    &meta.mail_from,
                    &meta.delivery.pending,
                    &wire,
                )
                .await,
                format!("{host}:{port}"),
            ),
            Route::Mx(mx) => {
                deliver_by_mx(mx, &config.client, &meta.mail_from, &meta.delivery.pending, &wire).await
            }
        };
        let delivery = &mut meta.delivery;
        delivery.attempts += 1;
        let mut still = Vec::new();
        let mut newly_failed = Vec::new();
        let mut details = Vec::new();
        for (rcpt, result) in outcome.recipients {
            match result {
                RcptOutcome::Delivered(reply) => {
                    details.push(format!("{rcpt}: {reply}"));
                    delivery.delivered.push(rcpt);
                }
                RcptOutcome::Failed(reason) => {
                    details.push(format!("{rcpt}: {reason}"));
                    newly_failed.push(RecipientFailure { rcpt, reason });
                }
                RcptOutcome::Deferred(reason) => {
                    details.push(format!("{rcpt}: {reason}"));
                    still.push((rcpt, reason));
                }
            }
        }
        if !still.is_empty() && delivery.attempts >= config.max_attempts {
            for (rcpt, reason) in still.drain(..) {
                newly_failed.push(RecipientFailure {
                    rcpt,
                    reason: format!("gave up after {} attempts: {reason}", delivery.attempts),
                });
            }
        }
        let word = if !still.is_empty() {
            "deferred"
        } else if newly_failed.is_empty() {
            "delivered"
        } else if delivery.delivered.is_empty() {
            "failed"
        } else {
            "partly failed"
        };
        delivery.pending = still.into_iter().map(|(r, _)| r).collect();
        delivery.failed.extend(newly_failed.iter().cloned());
        if delivery.pending.is_empty() {
            delivery.next_attempt = None;
            delivery.state = if delivery.failed.is_empty() {
                DeliveryState::Delivered
            } else {
                DeliveryState::Failed
            };
        } else {
            let wait = backoff(config, delivery.attempts);
            delivery.next_attempt = Some(at + wait);
        }
        let attempt = Attempt {
            at,
            host: host_desc,
            outcome: word.to_string(),
            detail: details.join("; ").chars().take(2000).collect(),
            tls: outcome.tls.clone(),
            ms: outcome.ms,
        };
        delivery.log.push(attempt.clone());
        let excess = delivery.log.len().saturating_sub(MAX_LOG_IN_META);
        delivery.log.drain(..excess);

        // A bounce for what failed, stored (durably) before the original's new state.
        if !newly_failed.is_empty() && !meta.mail_from.is_empty() {
            let bounce = bounce_message(&meta, &newly_failed, &data, &self.hostname, self.spool.new_id());
            let (bounce_meta, bounce_data) = bounce;
            let stored = bounce_meta.clone();
            if self
                .blocking(move |s| s.store(&stored, &bounce_data))
                .await
                .is_some()
            {
                meta.delivery.bounce_id = Some(bounce_meta.id.clone());
                self.schedule
                    .push(tokio::time::Instant::now(), bounce_meta.id.clone());
            }
        }
        let updated = meta.clone();
        let log_id = meta.id.clone();
        let log_attempt = attempt.clone();
        if self
            .blocking(move |s| {
                s.update(&updated)?;
                s.log_attempt(&log_id, &log_attempt);
                Ok(())
            })
            .await
            .is_none()
        {
            // Not recorded: try again later rather than lose track.
            self.schedule.push(
                tokio::time::Instant::now() + self.config.retry_base,
                meta.id.clone(),
            );
            return;
        }
        self.events.send(RelayEvent::Delivery {
            id: meta.id.clone(),
            state: meta.delivery.state,
            attempt,
            pending: meta.delivery.pending.clone(),
            delivered: meta.delivery.delivered.clone(),
            failed: meta.delivery.failed.clone(),
        });
        if meta.delivery.state == DeliveryState::Queued {
            let wait = backoff(&self.config, meta.delivery.attempts);
            self.schedule.push(tokio::time::Instant::now() + wait, meta.id);
        }
    }
}

/// What the MX lookup of a recipient domain gave: hosts to try in order, or an outcome for every
/// recipient of the domain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MxTargets {
    /// MX hosts by preference (or the domain itself when it has no MX, RFC 5321 5.1).
    Hosts(Vec<String>),
    /// No delivery is possible or possible now: the outcome for each recipient.
    Outcome(RcptOutcome),
}

/// The hosts to try for `domain`: its MX hosts by preference; the domain itself when it has no MX
/// records but exists (the implicit MX); a permanent failure for a null MX (RFC 7505) or a domain
/// that does not exist; a deferral when DNS fails.
pub async fn mx_targets(resolver: &Resolver, domain: &str) -> MxTargets {
    let answer = resolver.lookup(domain, RecordType::Mx).await;
    match &answer.outcome {
        DnsOutcome::Records(_) if answer.has_records() => {
            let mx = answer.mx();
            if mx.iter().any(|(_, host)| host.is_empty() || *host == ".") {
                return MxTargets::Outcome(RcptOutcome::Failed(format!(
                    "556 5.1.10 {domain} does not accept mail (null MX, RFC 7505)"
                )));
            }
            let mut hosts: Vec<String> = Vec::new();
            for (_, host) in mx {
                if !hosts.iter().any(|h| h == host) {
                    hosts.push(host.to_string());
                }
            }
            MxTargets::Hosts(hosts)
        }
        DnsOutcome::NxDomain => MxTargets::Outcome(RcptOutcome::Failed(format!(
            "550 5.1.2 {domain}: no such domain (NXDOMAIN from {})",
            answer.server
        ))),
        DnsOutcome::Records(_) | DnsOutcome::NoData => MxTargets::Hosts(vec![domain.to_string()]),
        DnsOutcome::Timeout => MxTargets::Outcome(RcptOutcome::Deferred(format!(
            "451 4.4.3 MX lookup for {domain} timed out ({})",
            answer.server
        ))),
        DnsOutcome::Error(e) => MxTargets::Outcome(RcptOutcome::Deferred(format!(
            "451 4.4.3 MX lookup for {domain} failed: {e}"
        ))),
    }
}

/// The domain of an address, lower-case.
fn domain_of(address: &str) -> String {
    address
        .rsplit_once('@')
        .map(|(_, d)| d)
        .unwrap_or_default()
        .trim_end_matches('.')
        .to_ascii_lowercase()
}

/// Deliver to `rcpt_to` by MX: grouped by recipient domain, each group tried at its MX hosts in
/// order (every address of a host, then the next host) until no recipient is left deferred. The TLS
/// name verified is the MX host's name. Returns the combined outcome and the hosts tried.
pub async fn deliver_by_mx(
    route: &MxRoute,
    options: &ClientOptions,
    mail_from: &str,
    rcpt_to: &[String],
    data: &[u8],
) -> (SendOutcome, String) {
    let started = std::time::Instant::now();
    let mut groups: Vec<(String, Vec<String>)> = Vec::new();
    for rcpt in rcpt_to {
        let domain = domain_of(rcpt);
        match groups.iter_mut().find(|(d, _)| *d == domain) {
            Some((_, list)) => list.push(rcpt.clone()),
            None => groups.push((domain, vec![rcpt.clone()])),
        }
    }
    let mut results: Vec<(String, RcptOutcome)> = Vec::new();
    let mut tried: Vec<String> = Vec::new();
    let mut tls = None;
    let mut transcript = Vec::new();
    for (domain, rcpts) in groups {
        let hosts = match mx_targets(&route.resolver, &domain).await {
            MxTargets::Outcome(outcome) => {
                tried.push(format!("{domain}: {}", rcpt_reason(&outcome)));
                results.extend(rcpts.into_iter().map(|r| (r, outcome.clone())));
                continue;
            }
            MxTargets::Hosts(hosts) => hosts,
        };
        let mut pending = rcpts;
        let mut last: Vec<(String, RcptOutcome)> = Vec::new();
        'hosts: for host in &hosts {
            let port = route.port_for(host);
            let mut ips = Vec::new();
            for rtype in [RecordType::A, RecordType::Aaaa] {
                let answer = route.resolver.lookup(host, rtype).await;
                ips.extend(answer.ips());
            }
            if ips.is_empty() {
                tried.push(format!("{host}: no address"));
                last = pending
                    .iter()
                    .map(|r| {
                        let why = format!("451 4.4.4 MX host {host} of {domain} has no address");
                        (r.clone(), RcptOutcome::Deferred(why))
                    })
                    .collect();
                continue;
            }
            for ip in ips {
                let mut opts = options.clone();
                opts.tls_name = Some(host.clone());
                let outcome = client::send(&ip.to_string(), port, &opts, mail_from, &pending, data).await;
                tried.push(format!("{host}[{ip}]:{port}"));
                if outcome.tls.is_some() {
                    tls.clone_from(&outcome.tls);
                }
                transcript = outcome.transcript;
                let mut still = Vec::new();
                last.clear();
                for (rcpt, result) in outcome.recipients {
                    match result {
                        RcptOutcome::Deferred(_) => {
                            still.push(rcpt.clone());
                            last.push((rcpt, result));
                        }
                        done => results.push((rcpt, done)),
                    }
                }
                pending = still;
                if pending.is_empty() {
                    break 'hosts;
                }
            }
        }
        results.extend(last.into_iter().filter(|(r, _)| pending.contains(r)));
        if hosts.is_empty() {
            results.extend(pending.into_iter().map(|r| {
                let why = format!("451 4.4.4 no MX host for {domain}");
                (r, RcptOutcome::Deferred(why))
            }));
        }
    }
    // Envelope order.
    let recipients = rcpt_to
        .iter()
        .filter_map(|r| results.iter().find(|(x, _)| x == r).cloned())
        .collect();
    let outcome = SendOutcome {
        tls,
        recipients,
        transcript,
        ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
    };
    (outcome, format!("MX {}", tried.join(", ")))
}

fn rcpt_reason(outcome: &RcptOutcome) -> &str {
    match outcome {
        RcptOutcome::Delivered(r) | RcptOutcome::Failed(r) | RcptOutcome::Deferred(r) => r,
    }
}

/// The Received field the relay prepends when forwarding, in the form header analysis reads back
/// (`with ESMTPS` and `version=TLS1_3` when the message arrived over TLS).
pub fn received_header(meta: &MessageMeta, hostname: &str, at: OffsetDateTime) -> String {
    let date = at.format(&Rfc2822).unwrap_or_default();
    let helo = meta.session.helo.as_deref().unwrap_or("unknown");
    let (with, tls) = match &meta.session.tls {
        Some(t) => (
            "ESMTPS",
            format!(
                " (version={}, cipher={})",
                t.version.replace("TLSv", "TLS").replace('.', "_"),
                t.cipher
            ),
        ),
        None => ("ESMTP", String::new()),
    };
    let for_one = match meta.rcpt_to.as_slice() {
        [one] => format!("\r\n\tfor <{one}>"),
        _ => String::new(),
    };
    format!(
        "Received: from {helo} ({}) by {hostname} (mailpath relay) with {with}{tls}\r\n\tid {}{for_one}; {date}\r\n",
        meta.session.peer.ip(),
        meta.id
    )
}

fn enhanced_code(reason: &str) -> Option<String> {
    reason.split_whitespace().take(2).find_map(|w| {
        let parts: Vec<&str> = w.split('.').collect();
        (parts.len() == 3
            && matches!(parts[0], "4" | "5")
            && parts[1..]
                .iter()
                .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit())))
        .then(|| format!("5.{}.{}", parts[1], parts[2]))
    })
}

/// A delivery status notification (RFC 3464) to the sender of `meta` about `failed`.
fn bounce_message(
    meta: &MessageMeta,
    failed: &[RecipientFailure],
    original: &[u8],
    hostname: &str,
    id: String,
) -> (MessageMeta, Vec<u8>) {
    let now = OffsetDateTime::now_utc();
    let date = now.format(&Rfc2822).unwrap_or_default();
    let arrival = meta.received_at.format(&Rfc2822).unwrap_or_default();
    let boundary = format!("mailpath-dsn-{id}");
    // Never a line break or other control from the client into the bounce's headers.
    let subject: String = meta
        .subject
        .as_deref()
        .unwrap_or("(no subject)")
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let mut text =
        format!("The mailpath relay {hostname} could not deliver your message to these recipients:\r\n\r\n");
    let mut status = String::new();
    for f in failed {
        text.push_str(&format!("  {}\r\n    {}\r\n", f.rcpt, f.reason));
        status.push_str(&format!(
            "\r\nFinal-Recipient: rfc822; {}\r\nAction: failed\r\nStatus: {}\r\nDiagnostic-Code: smtp; {}\r\n",
            f.rcpt,
            enhanced_code(&f.reason).unwrap_or_else(|| "5.4.7".into()),
            f.reason.replace(['\r', '\n'], " ")
        ));
    }
    let (headers, _) = crate::headers::header_section(original);
    let mut data = format!(
        "From: Mail Delivery System <MAILER-DAEMON@{hostname}>\r\n\
         To: <{to}>\r\n\
         Subject: Undeliverable: {subject}\r\n\
         Date: {date}\r\n\
         Message-ID: <{id}@{hostname}>\r\n\
         Auto-Submitted: auto-replied\r\n\
         MIME-Version: 1.0\r\n\
         Content-Type: multipart/report; report-type=delivery-status; boundary=\"{boundary}\"\r\n\
         \r\n\
         --{boundary}\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\
         \r\n\
         {text}\r\n\
         --{boundary}\r\n\
         Content-Type: message/delivery-status\r\n\
         \r\n\
         Reporting-MTA: dns; {hostname}\r\n\
         Arrival-Date: {arrival}\r\n\
         {status}\r\n\
         --{boundary}\r\n\
         Content-Type: text/rfc822-headers\r\n\
         \r\n",
        to = meta.mail_from,
    )
    .into_bytes();
    data.extend_from_slice(headers);
    data.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let bounce = MessageMeta {
        schema: META_SCHEMA.to_string(),
        id,
        received_at: now,
        mail_from: String::new(),
        rcpt_to: vec![meta.mail_from.clone()],
        size: data.len(),
        session: SessionInfo {
            id: format!("bounce-of-{}", meta.id),
            peer: meta.session.local,
            local: meta.session.local,
            started: now,
            helo: Some(hostname.to_string()),
            tls: None,
        },
        subject: Some(format!("Undeliverable: {subject}")),
        message_id: None,
        tracking_id: None,
        delivery: Delivery::queued(std::slice::from_ref(&meta.mail_from)),
    };
    (bounce, data)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let config = ForwardConfig {
            route: Route::SmartHost {
                host: "x".into(),
                port: 25,
            },
            client: ClientOptions {
                helo: "h".into(),
                tls: client::TlsPolicy::None,
                tls_name: None,
                roots: Vec::new(),
                client_cert: None,
                timeouts: client::Timeouts::default(),
            },
            retry_base: Duration::from_secs(60),
            retry_max: Duration::from_secs(600),
            max_attempts: 5,
            concurrency: 1,
        };
        let waits: Vec<u64> = (1..=6).map(|a| backoff(&config, a).as_secs()).collect();
        assert_eq!(waits, [60, 120, 240, 480, 600, 600]);
        assert_eq!(enhanced_code("550 5.1.1 unknown user").as_deref(), Some("5.1.1"));
        assert_eq!(enhanced_code("451 4.4.0 later").as_deref(), Some("5.4.0"));
        assert_eq!(enhanced_code("connection refused"), None);
    }

    #[test]
    fn bounces_never_copy_line_breaks_from_the_subject_into_their_headers() {
        let peer = "127.0.0.1:40000".parse().unwrap();
        let meta = MessageMeta {
            schema: META_SCHEMA.to_string(),
            id: "m1".into(),
            received_at: OffsetDateTime::UNIX_EPOCH,
            mail_from: "adele@contoso.com".into(),
            rcpt_to: vec!["x@contoso.com".into()],
            size: 10,
            session: SessionInfo {
                id: "S1".into(),
                peer,
                local: peer,
                started: OffsetDateTime::UNIX_EPOCH,
                helo: None,
                tls: None,
            },
            // As a spool written before bare line ends were refused may hold it.
            subject: Some("hi\r\nBcc: victim@evil.test\rX".into()),
            message_id: None,
            tracking_id: None,
            delivery: Delivery::queued(&["x@contoso.com".to_string()]),
        };
        let failed = [RecipientFailure {
            rcpt: "x@contoso.com".into(),
            reason: "550 5.1.1 unknown".into(),
        }];
        let (bounce, data) =
            bounce_message(&meta, &failed, b"Subject: hi\r\n\r\n", "relay.test", "b1".into());
        let text = String::from_utf8(data).unwrap();
        assert!(
            text.contains("\r\nSubject: Undeliverable: hi  Bcc: victim@evil.test X\r\n"),
            "{text}"
        );
        assert!(!text.contains("\nBcc:"), "{text}");
        assert!(!bounce.subject.unwrap().contains(['\r', '\n']));
    }
}
