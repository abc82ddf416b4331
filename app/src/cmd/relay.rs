//! `mailpath relay`: run the bundled test relay until SIGINT/SIGTERM or until stdin closes, printing
//! its events; `mailpath relay send`: send a tracked test message and wait for it to arrive.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};

use anyhow::{Context as _, bail};
use mailpath_core::bounded::{self, Limit};
use mailpath_core::check::Status;
use mailpath_core::dns::Resolver;
use mailpath_core::relay::client::{self, ClientOptions, RcptOutcome, TlsPolicy};
use mailpath_core::relay::forward::{ForwardConfig, MxRoute, Route};
use mailpath_core::relay::spool::find_tracking;
use mailpath_core::relay::{Relay, RelayConfig, RelayEvent, Role, TlsSource, tls};
use mailpath_core::smtp::server::{Limits, SessionEvent};
use serde::Serialize;

use crate::Outcome;
use crate::cli::{Format, ForwardTls, RelayAction, RelayArgs, RelayRole, RelaySendArgs};
use crate::output::term_line;

/// Events buffered between the relay and the printer.
const EVENT_BUFFER: usize = 4096;

pub fn run(runtime: &tokio::runtime::Runtime, args: &RelayArgs) -> anyhow::Result<Outcome> {
    match &args.action {
        Some(RelayAction::Send(send)) => runtime.block_on(send_test(send)),
        None => runtime.block_on(serve(args)),
    }
}

/// `HOST`, `HOST:PORT`, `[V6]:PORT` or a bare IPv6 address; port 25 by default.
pub(crate) fn host_port(text: &str) -> anyhow::Result<(String, u16)> {
    if let Some(rest) = text.strip_prefix('[') {
        let (host, after) = rest
            .split_once(']')
            .with_context(|| format!("{text:?}: missing ']'"))?;
        let port = match after.strip_prefix(':') {
            Some(p) => p.parse().with_context(|| format!("{text:?}: bad port"))?,
            None if after.is_empty() => 25,
            None => bail!("{text:?}: expected :PORT after ']'"),
        };
        return Ok((host.to_string(), port));
    }
    match text.rsplit_once(':') {
        Some((host, port)) if !host.contains(':') => Ok((
            host.to_string(),
            port.parse().with_context(|| format!("{text:?}: bad port"))?,
        )),
        _ if text.is_empty() => bail!("empty host"),
        _ => Ok((text.to_string(), 25)),
    }
}

/// `--mx-port` values: the default port (25 unless one `PORT` is given) and `HOST=PORT` overrides.
fn mx_ports(values: &[String]) -> anyhow::Result<(u16, Vec<(String, u16)>)> {
    let mut port = 25;
    let mut overrides = Vec::new();
    for value in values {
        match value.split_once('=') {
            Some((host, p)) if !host.is_empty() => overrides.push((
                host.to_string(),
                p.parse()
                    .with_context(|| format!("--mx-port {value:?}: bad port"))?,
            )),
            Some(_) => bail!("--mx-port {value:?}: expected PORT or HOST=PORT"),
            None => {
                port = value
                    .parse()
                    .with_context(|| format!("--mx-port {value:?}: bad port"))?
            }
        }
    }
    Ok((port, overrides))
}

/// The default spool: the user's state directory (XDG on Unix, LOCALAPPDATA on Windows).
pub(crate) fn default_spool() -> PathBuf {
    let var = |name: &str| {
        std::env::var_os(name)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    if cfg!(windows)
        && let Some(local) = var("LOCALAPPDATA")
    {
        return local.join("mailpath").join("spool");
    }
    if let Some(state) = var("XDG_STATE_HOME") {
        return state.join("mailpath").join("spool");
    }
    if let Some(home) = var("HOME") {
        return home.join(".local").join("state").join("mailpath").join("spool");
    }
    PathBuf::from("mailpath-spool")
}

fn role(role: RelayRole) -> Role {
    match role {
        RelayRole::Sink => Role::Sink,
        RelayRole::Eop => Role::Eop,
        RelayRole::Edge => Role::Edge,
        RelayRole::Mailbox => Role::Mailbox,
    }
}

fn config(args: &RelayArgs) -> anyhow::Result<RelayConfig> {
    let spool = args.spool.clone().unwrap_or_else(default_spool);
    let mut config = RelayConfig::new(args.listen, spool);
    config.role = role(args.role);
    config.hostname = args.hostname.clone();
    config.accepted_domains = args.accept_domains.clone();
    config.expected_cert_names = args.expect_cert_names.clone();
    config.client_roots = match &args.client_ca {
        Some(path) => Some(tls::load_certs(path).context("--client-ca")?),
        None => None,
    };
    config.tls = match (&args.tls_cert, &args.tls_key, args.no_tls) {
        (_, _, true) => TlsSource::Disabled,
        (Some(cert), Some(key), false) => TlsSource::Files {
            cert: cert.clone(),
            key: key.clone(),
        },
        _ => TlsSource::Generate,
    };
    config.request_client_cert = !args.no_client_cert;
    config.bounce_external = args.bounce_external;
    config.limits = Limits {
        max_message_size: args.max_size,
        max_recipients: args.max_recipients.max(1),
        max_sessions: args.max_sessions.max(1),
        idle_timeout: Duration::from_secs(args.idle_timeout.max(1)),
        ..Limits::default()
    };
    if args.forward.is_none() && (!args.dns.is_empty() || !args.mx_ports.is_empty()) {
        bail!("--dns and --mx-port only apply to --forward mx");
    }
    if let Some(forward) = &args.forward {
        let route = if forward.eq_ignore_ascii_case("mx") {
            if args.forward_name.is_some() {
                bail!(
                    "--forward-name does not apply to --forward mx: each MX host is verified by its own name"
                );
            }
            let (port, port_overrides) = mx_ports(&args.mx_ports)?;
            let timeout = Duration::from_secs(5);
            let resolver = if args.dns.is_empty() {
                Resolver::try_system(timeout).context("--forward mx: the system DNS configuration")?
            } else {
                Resolver::with_servers(&args.dns, timeout)
            };
            Route::Mx(MxRoute {
                resolver,
                port,
                port_overrides,
            })
        } else {
            if !args.dns.is_empty() || !args.mx_ports.is_empty() {
                bail!("--dns and --mx-port only apply to --forward mx");
            }
            let (host, port) = host_port(forward).context("--forward")?;
            Route::SmartHost { host, port }
        };
        let client_cert = match (&args.forward_cert, &args.forward_key) {
            (Some(cert), Some(key)) => Some(tls::load_certified_key(cert, key).context("--forward-cert")?),
            _ => None,
        };
        let roots = match &args.forward_ca {
            Some(path) => tls::load_certs(path).context("--forward-ca")?,
            None => Vec::new(),
        };
        let policy = match args.forward_tls {
            ForwardTls::Opportunistic => TlsPolicy::Opportunistic,
            ForwardTls::Required => TlsPolicy::Required,
            ForwardTls::Verify => {
                if roots.is_empty() {
                    bail!("--forward-tls verify needs --forward-ca");
                }
                TlsPolicy::Verify
            }
        };
        if !(args.retry_base.is_finite() && args.retry_base > 0.0) {
            bail!("--retry-base must be a positive number of seconds");
        }
        config.forward = Some(ForwardConfig {
            route,
            client: ClientOptions {
                helo: config
                    .hostname
                    .clone()
                    .unwrap_or_else(|| config.role.default_hostname().to_string()),
                tls: policy,
                tls_name: args.forward_name.clone(),
                roots,
                client_cert,
                timeouts: client::Timeouts::default(),
            },
            retry_base: Duration::from_secs_f64(args.retry_base),
            retry_max: Duration::from_secs(3600),
            max_attempts: args.max_attempts.max(1),
            concurrency: 4,
        });
    }
    Ok(config)
}

async fn serve(args: &RelayArgs) -> anyhow::Result<Outcome> {
    let config = config(args)?;
    let watch_stdin = super::stop::watch_stdin(args.ignore_stdin);
    let stop = super::stop::StopSignals::listen(watch_stdin);
    let spool = config.spool_dir.clone();
    let (tx, mut rx) = tokio::sync::mpsc::channel(EVENT_BUFFER);
    let relay = Relay::start(config, Some(tx))
        .await
        .with_context(|| format!("could not start the relay (spool {})", spool.display()))?;
    let printer = Printer::spawn(args.format, args.quiet, watch_stdin)?;
    let dropped = Arc::clone(&printer.dropped);
    // The relay's events go to the printer's thread without ever waiting for it: when standard output
    // does not keep up (a full pipe nobody reads, a terminal on XOFF), they are dropped and counted.
    let forward = {
        let queue = printer.queue.clone();
        tokio::spawn(async move {
            while let Some(event) = rx.recv().await {
                match queue.try_send(event) {
                    Ok(()) => {}
                    Err(std::sync::mpsc::TrySendError::Full(_)) => {
                        dropped.fetch_add(1, Ordering::Relaxed);
                    }
                    // --quiet: the printer is done. Closing the channel also spares the relay judging
                    // every message for nobody.
                    Err(std::sync::mpsc::TrySendError::Disconnected(_)) => break,
                }
            }
        })
    };
    if let Some(why) = stop.wait().await {
        tracing::info!("relay stopping: {why}");
    }
    let relay_dropped = relay.dropped_events();
    relay.shutdown().await;
    // What is queued is still printed, when the output takes it within a bound.
    let mut forward = forward;
    if tokio::time::timeout(PRINT_AT_EXIT, &mut forward).await.is_err() {
        forward.abort();
    }
    let dropped = printer.finish(PRINT_AT_EXIT).await + if args.quiet { 0 } else { relay_dropped };
    if dropped > 0 && !args.quiet {
        eprintln!("mailpath relay: {dropped} event(s) were not printed (output too slow)");
    }
    Ok(Outcome::Passed)
}

/// Events waiting for the printer: a few hundred, so that a stalled output holds little memory and the
/// drops start soon.
const PRINT_QUEUE: usize = 256;

/// How long the printer may take to print what is queued when the relay stops.
const PRINT_AT_EXIT: Duration = Duration::from_secs(2);

/// The event printer: its own thread, so that a blocked standard output blocks nothing else.
struct Printer {
    queue: std::sync::mpsc::SyncSender<RelayEvent>,
    dropped: Arc<AtomicU64>,
    thread: std::thread::JoinHandle<()>,
}

impl Printer {
    fn spawn(format: Format, quiet: bool, watch_stdin: bool) -> anyhow::Result<Printer> {
        let (queue, events) = std::sync::mpsc::sync_channel::<RelayEvent>(PRINT_QUEUE);
        let dropped = Arc::new(AtomicU64::new(0));
        let seen = Arc::clone(&dropped);
        let thread = std::thread::Builder::new()
            .name("mailpath-events".into())
            .spawn(move || {
                let mut reported = 0;
                for event in events {
                    let mut out = std::io::stdout().lock();
                    // Drops are told in the stream itself, before the next event that gets through.
                    let lost = seen.load(Ordering::Relaxed);
                    let mut written = Ok(());
                    if lost > reported {
                        written = print_dropped(&mut out, format, lost - reported);
                        reported = lost;
                    }
                    let written = written.and_then(|()| match format {
                        Format::Json => serde_json::to_string(&event)
                            .map_err(std::io::Error::other)
                            .and_then(|line| writeln!(out, "{line}")),
                        Format::Text => print_event(&mut out, &event, watch_stdin),
                    });
                    let _ = written.and_then(|()| out.flush());
                    if quiet {
                        // Only the ready line.
                        break;
                    }
                }
            })
            .context("could not start the event printer")?;
        Ok(Printer {
            queue,
            dropped,
            thread,
        })
    }

    /// Close the queue and give the printer `limit` to print what is left; events dropped in all.
    async fn finish(self, limit: Duration) -> u64 {
        drop(self.queue);
        let deadline = Instant::now() + limit;
        while !self.thread.is_finished() && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        // A printer still blocked on its output is left behind: the process exits without it.
        self.dropped.load(Ordering::Relaxed)
    }
}

/// The line that says events were dropped: `{"event":"dropped","count":N}` in JSON.
fn print_dropped(out: &mut impl std::io::Write, format: Format, count: u64) -> std::io::Result<()> {
    match format {
        Format::Json => writeln!(
            out,
            "{}",
            serde_json::json!({ "event": "dropped", "count": count })
        ),
        Format::Text => writeln!(
            out,
            "{} {count} event(s) not printed: the output did not keep up",
            clock()
        ),
    }
}

/// `HH:MM:SS` (UTC) of now.
fn clock() -> String {
    let secs = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let day = secs % 86_400;
    format!("{:02}:{:02}:{:02}", day / 3600, day / 60 % 60, day % 60)
}

fn print_event(out: &mut impl std::io::Write, event: &RelayEvent, watch_stdin: bool) -> std::io::Result<()> {
    let t = clock();
    match event {
        RelayEvent::Listening {
            address,
            role,
            hostname,
            spool,
            ca_file,
            tls,
            forward,
            accepted_domains,
            expected_cert_names,
            recovery,
            ..
        } => {
            let role = serde_json::to_value(role)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default();
            term_line!(out, "mailpath relay: {role} on {address} as {hostname}")?;
            term_line!(out, "  spool     {}", spool.display())?;
            term_line!(
                out,
                "  recovered {} message(s), {} queued; removed {} unacknowledged partial write(s)",
                recovery.messages,
                recovery.queued.len(),
                recovery.removed_tmp + recovery.removed_partial + recovery.torn
            )?;
            if recovery.damaged > 0 {
                term_line!(
                    out,
                    "  damaged   {} metadata file(s) or journal record(s) without their message, kept in {}",
                    recovery.damaged,
                    spool.join("damaged").display()
                )?;
            }
            term_line!(
                out,
                "  tls       {}",
                if *tls { "STARTTLS offered" } else { "off" }
            )?;
            if let Some(ca) = ca_file {
                term_line!(
                    out,
                    "  ca        {} (generated; trust it in test clients)",
                    ca.display()
                )?;
            }
            let domains = if accepted_domains.is_empty() {
                "all (capture only)".to_string()
            } else {
                accepted_domains.join(", ")
            };
            term_line!(out, "  accepts   {domains}")?;
            if !expected_cert_names.is_empty() {
                term_line!(
                    out,
                    "  expects   client certificate {}",
                    expected_cert_names.join(", ")
                )?;
            }
            if let Some(forward) = forward {
                term_line!(out, "  forwards  to {forward}")?;
            }
            let tls_flags = ca_file
                .as_ref()
                .map(|ca| format!(" --tls --tls-ca-path {}", ca.display()))
                .unwrap_or_default();
            term_line!(
                out,
                "  try:      swaks --server {} --port {} --to test@{}{tls_flags}",
                address.ip(),
                address.port(),
                accepted_domains.first().map_or("contoso.com", String::as_str)
            )?;
            term_line!(out, "{}", super::stop::serving_until(watch_stdin))
        }
        RelayEvent::Session(SessionEvent::Connected { session }) => {
            term_line!(out, "{t} {} connected from {}", session.id, session.peer)
        }
        RelayEvent::Session(SessionEvent::Refused { peer, reply }) => {
            term_line!(out, "{t} refused {peer}: {reply}")
        }
        RelayEvent::Session(SessionEvent::Tls { session_id, tls }) => term_line!(
            out,
            "{t} {session_id} TLS {} {}{}, {} client certificate(s)",
            tls.version,
            tls.cipher,
            tls.sni
                .as_deref()
                .map(|s| format!(" SNI {s}"))
                .unwrap_or_default(),
            tls.client_chain_der_b64.len()
        ),
        RelayEvent::Session(SessionEvent::Closed {
            session,
            reason,
            messages,
            ms,
            ..
        }) => term_line!(
            out,
            "{t} {} closed ({reason}) after {ms} ms, {messages} message(s), EHLO {}",
            session.id,
            session.helo.as_deref().unwrap_or("-")
        ),
        RelayEvent::SessionChecks { session_id, checks } => {
            for c in checks.iter().filter(|c| c.status >= Status::Warn) {
                let status = crate::output::tag(c.status, false);
                term_line!(out, "{t} {session_id}   {status} {}: {}", c.id, c.summary)?;
            }
            Ok(())
        }
        RelayEvent::Message(report) => {
            term_line!(
                out,
                "{t} {} message {} from <{}> to {} ({} bytes, {}): {}",
                report.session_id,
                report.id,
                report.mail_from,
                report
                    .rcpt_to
                    .iter()
                    .map(|r| format!("<{r}>"))
                    .collect::<Vec<_>>()
                    .join(", "),
                report.size,
                report.tls.as_deref().unwrap_or("no TLS"),
                report.verdict.classification.as_str()
            )?;
            if let Some(cert) = &report.client_cert {
                term_line!(
                    out,
                    "{t}   client certificate {} (issuer {})",
                    cert.subject,
                    cert.issuer
                )?;
            }
            for reason in &report.verdict.reasons {
                term_line!(out, "{t}   - {reason}")?;
            }
            for c in report.checks.iter().filter(|c| c.status >= Status::Warn) {
                let status = crate::output::tag(c.status, false);
                term_line!(out, "{t}   {status} {}: {}", c.id, c.summary)?;
            }
            Ok(())
        }
        RelayEvent::Delivery {
            id,
            state,
            attempt,
            pending,
            ..
        } => term_line!(
            out,
            "{t} delivery {id} to {}: {} ({:?}{}), {} pending: {}",
            attempt.host,
            attempt.outcome,
            state,
            attempt
                .tls
                .as_deref()
                .map(|t| format!(", {t}"))
                .unwrap_or_default(),
            pending.len(),
            attempt.detail
        ),
    }
}

/// What `mailpath relay send --format json` prints.
#[derive(Debug, Serialize)]
struct SendReport {
    schema: &'static str,
    tracking_id: String,
    via: String,
    from: String,
    to: String,
    tls: Option<String>,
    /// `delivered`, `failed` or `deferred`, with the server's reply.
    result: RcptOutcome,
    send_ms: u64,
    /// Where it was awaited (a spool directory or a listen address).
    awaited_at: Option<String>,
    /// Milliseconds from the start of sending to the arrival, when it arrived.
    arrived_after_ms: Option<u64>,
    /// The spool id at the destination.
    arrived_id: Option<String>,
    /// Received fields in the arrived copy.
    arrived_hops: Option<usize>,
    /// Internal/anonymous verdict of the arrived copy.
    arrived_verdict: Option<String>,
    /// The warnings and failures of the relay's judgement of the arrived copy (`relay.*`, `headers.*`): a
    /// failure here (a client certificate that does not verify, say) makes the exit code 2.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    arrived_problems: Vec<mailpath_core::check::CheckResult>,
    transcript: Vec<mailpath_core::evidence::TranscriptLine>,
}

/// `--await-spool DIR` must be a relay spool (it has `messages/`): said at once, not after the timeout.
fn check_spool(dir: &Path) -> anyhow::Result<()> {
    if !dir.is_dir() {
        bail!("--await-spool {}: no such directory", dir.display());
    }
    if !dir.join("messages").is_dir() {
        bail!(
            "--await-spool {}: not a relay spool (no messages/ directory; give the --spool of a running `mailpath relay`)",
            dir.display()
        );
    }
    Ok(())
}

/// The warnings and failures of the relay's judgement of an arrived message, worst first.
fn problems_of(checks: Vec<mailpath_core::check::CheckResult>) -> Vec<mailpath_core::check::CheckResult> {
    let mut problems: Vec<_> = checks.into_iter().filter(|c| c.status >= Status::Warn).collect();
    problems.sort_by_key(|c| std::cmp::Reverse(c.status));
    problems
}

async fn send_test(args: &RelaySendArgs) -> anyhow::Result<Outcome> {
    let (host, port) = host_port(&args.via).context("--via")?;
    if let Some(dir) = &args.await_spool {
        check_spool(dir)?;
    }
    let roots = match &args.ca {
        Some(path) => tls::load_certs(path).context("--ca")?,
        None => Vec::new(),
    };
    let client_cert = match (&args.cert, &args.key) {
        (Some(cert), Some(key)) => Some(tls::load_certified_key(cert, key).context("--cert")?),
        _ => None,
    };
    let policy = if !roots.is_empty() {
        TlsPolicy::Verify
    } else if args.tls {
        TlsPolicy::Required
    } else {
        TlsPolicy::Opportunistic
    };
    let options = ClientOptions {
        helo: args.helo.clone(),
        tls: policy,
        tls_name: args.tls_name.clone(),
        roots,
        client_cert,
        timeouts: client::Timeouts {
            connect: Duration::from_secs(15),
            command: Duration::from_secs(30),
            data: Duration::from_secs(60),
        },
    };
    let tracking = client::new_tracking_id();
    let subject = args
        .subject
        .clone()
        .unwrap_or_else(|| format!("mailpath test {tracking}"));
    let message = client::test_message(&args.from, &args.to, &subject, &tracking, &args.headers);

    // A local sink to await the message at, when asked.
    let mut local = None;
    if let Some(listen) = args.await_listen {
        let dir = std::env::temp_dir().join(format!("mailpath-send-{tracking}"));
        let (tx, rx) = tokio::sync::mpsc::channel(EVENT_BUFFER);
        let relay = Relay::start(RelayConfig::new(listen, &dir), Some(tx))
            .await
            .with_context(|| format!("could not start the sink on {listen}"))?;
        local = Some((relay, rx, dir));
    }

    let started = Instant::now();
    let since = SystemTime::now() - Duration::from_secs(2);
    let outcome = client::send(
        &host,
        port,
        &options,
        &args.from,
        std::slice::from_ref(&args.to),
        &message,
    )
    .await;
    let result = outcome
        .recipients
        .first()
        .map(|(_, o)| o.clone())
        .unwrap_or_else(|| RcptOutcome::Deferred("no result".into()));
    let mut report = SendReport {
        schema: "mailpath/relay-send/1",
        tracking_id: tracking.clone(),
        via: format!("{host}:{port}"),
        from: args.from.clone(),
        to: args.to.clone(),
        tls: outcome.tls.clone(),
        result: result.clone(),
        send_ms: outcome.ms,
        awaited_at: None,
        arrived_after_ms: None,
        arrived_id: None,
        arrived_hops: None,
        arrived_verdict: None,
        arrived_problems: Vec::new(),
        transcript: outcome.transcript.clone(),
    };
    let delivered = matches!(result, RcptOutcome::Delivered(_));
    let deadline = Duration::from_secs(args.timeout);
    if delivered {
        if let Some(dir) = &args.await_spool {
            report.awaited_at = Some(dir.display().to_string());
            if let Some((meta, ms)) = await_spool(dir, &tracking, since, started, deadline).await {
                // Only its header block is analysed; judged as the relay judges a capture: the
                // session's certificate with the headers.
                let eml = dir.join("messages").join(format!("{}.eml", meta.id));
                let (data, _) = bounded::read_start(&eml, Limit::MESSAGE).unwrap_or_default();
                let judged = mailpath_core::relay::inspect::Inspector::default().message_report(&meta, &data);
                report.arrived_after_ms = Some(ms);
                report.arrived_id = Some(meta.id);
                report.arrived_hops = Some(judged.hops);
                report.arrived_verdict = Some(judged.verdict.classification.as_str().to_string());
                report.arrived_problems = problems_of(judged.checks);
            }
        } else if let Some((_, rx, _)) = local.as_mut() {
            report.awaited_at = args.await_listen.map(|a| a.to_string());
            let wait = async {
                while let Some(event) = rx.recv().await {
                    if let RelayEvent::Message(m) = event
                        && m.tracking_id.as_deref() == Some(tracking.as_str())
                    {
                        return Some(m);
                    }
                }
                None
            };
            if let Ok(Some(m)) = tokio::time::timeout(deadline, wait).await {
                report.arrived_after_ms =
                    Some(u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX));
                report.arrived_id = Some(m.id);
                report.arrived_hops = Some(m.hops);
                report.arrived_verdict = Some(m.verdict.classification.as_str().to_string());
                report.arrived_problems = problems_of(m.checks);
            }
        }
    }
    if let Some((relay, _, dir)) = local {
        relay.shutdown().await;
        let _ = std::fs::remove_dir_all(dir);
    }
    let awaited = report.awaited_at.is_some() || args.await_listen.is_some() || args.await_spool.is_some();
    let arrived = report.arrived_after_ms.is_some();
    let judged_failing = report.arrived_problems.iter().any(|c| c.status == Status::Fail);
    let outcome = if !delivered || (awaited && !arrived) || judged_failing {
        Outcome::Failures
    } else {
        Outcome::Passed
    };
    let mut out = std::io::stdout().lock();
    match args.format {
        Format::Json => writeln!(out, "{}", serde_json::to_string(&report)?)?,
        Format::Text => print_send(&mut out, &report, awaited, deadline)?,
    }
    Ok(outcome)
}

async fn await_spool(
    dir: &Path,
    tracking: &str,
    since: SystemTime,
    started: Instant,
    deadline: Duration,
) -> Option<(mailpath_core::relay::spool::MessageMeta, u64)> {
    loop {
        let (d, t) = (dir.to_path_buf(), tracking.to_string());
        let found = tokio::task::spawn_blocking(move || find_tracking(&d, &t, since))
            .await
            .ok()
            .flatten();
        if let Some(meta) = found {
            return Some((
                meta,
                u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
            ));
        }
        if started.elapsed() >= deadline {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn print_send(
    out: &mut impl std::io::Write,
    r: &SendReport,
    awaited: bool,
    deadline: Duration,
) -> std::io::Result<()> {
    term_line!(out, "tracking id {}", r.tracking_id)?;
    let tls = r.tls.as_deref().unwrap_or("no TLS");
    match &r.result {
        RcptOutcome::Delivered(reply) => term_line!(
            out,
            "sent to <{}> via {} ({tls}) in {} ms: {reply}",
            r.to,
            r.via,
            r.send_ms
        )?,
        RcptOutcome::Failed(reply) => term_line!(out, "REFUSED by {} ({tls}): {reply}", r.via)?,
        RcptOutcome::Deferred(reason) => term_line!(out, "NOT SENT via {} ({tls}): {reason}", r.via)?,
    }
    if awaited {
        let at = r.awaited_at.as_deref().unwrap_or("the sink");
        match (r.arrived_after_ms, &r.arrived_id) {
            (Some(ms), Some(id)) => {
                let failed: Vec<&str> = r
                    .arrived_problems
                    .iter()
                    .filter(|c| c.status == Status::Fail)
                    .map(|c| c.id.as_str())
                    .collect();
                let verdict = r.arrived_verdict.as_deref().unwrap_or("unknown");
                let verdict = if failed.is_empty() {
                    verdict.to_string()
                } else {
                    format!(
                        "{verdict} by its headers, but the relay's checks FAILED: {}",
                        failed.join(", ")
                    )
                };
                term_line!(
                    out,
                    "arrived at {at} after {ms} ms as {id}: {} hop(s), {verdict}",
                    r.arrived_hops.unwrap_or(0)
                )?;
                for c in &r.arrived_problems {
                    term_line!(
                        out,
                        "  {} {}: {}",
                        crate::output::tag(c.status, false),
                        c.id,
                        c.summary
                    )?;
                }
            }
            _ if matches!(r.result, RcptOutcome::Delivered(_)) => {
                term_line!(out, "did NOT arrive at {at} within {} s", deadline.as_secs())?
            }
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mx_port_forms() {
        assert_eq!(mx_ports(&[]).unwrap(), (25, Vec::new()));
        let (port, overrides) = mx_ports(&["2525".into(), "mx1.contoso.com=2626".into()]).unwrap();
        assert_eq!(
            (port, overrides),
            (2525, vec![("mx1.contoso.com".to_string(), 2626)])
        );
        assert!(mx_ports(&["=1".into()]).is_err());
        assert!(mx_ports(&["a=b".into()]).is_err());
    }

    #[test]
    fn host_port_forms() {
        assert_eq!(host_port("mx.example").unwrap(), ("mx.example".into(), 25));
        assert_eq!(host_port("mx.example:2525").unwrap(), ("mx.example".into(), 2525));
        assert_eq!(host_port("[::1]:26").unwrap(), ("::1".into(), 26));
        assert_eq!(host_port("::1").unwrap(), ("::1".into(), 25));
        assert!(host_port("mx:notaport").is_err());
        assert!(host_port("").is_err());
    }
}
