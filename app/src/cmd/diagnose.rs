//! `mailpath diagnose`: probe every hop of the active path, both directions, and judge it.

use std::collections::BTreeMap;
use std::io::IsTerminal as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use mailpath_core::diagnose::{DiagnoseOptions, Progress, diagnose, trust_for};
use mailpath_core::evidence::Stage;
use mailpath_core::exchange::Export;
use mailpath_core::exchange::import::{load_exports, load_profile};
use mailpath_core::lab::export::{self as lab_export, ExportFault};
use mailpath_core::lab::{Lab, LabOptions};
use mailpath_core::profile::Profile;
use mailpath_core::report::{Format as ReportFormat, Report, ReportOptions, monitor};
use mailpath_core::verdict::{self, Verdict};

use crate::Outcome;
use crate::cli::{DiagnoseArgs, DiagnoseFormat, Target};
use crate::output;

/// Where the profile comes from: a file, or a lab started for the run.
pub struct Loaded {
    /// The profile.
    pub profile: Profile,
    /// The lab, when one was started (kept alive for the run).
    pub lab: Option<Lab>,
    /// The Exchange export the profile was built from or imports, when there is one.
    pub export: Option<Arc<Export>>,
}

/// Load the profile named by `--profile` (a profile, a profile with `import = "export.json"`, or an
/// export itself), or start the lab named by `--lab` (with `lab_options`: a caller that handles stop
/// signals itself turns off the lab's own removal on them) and load its profile.
///
/// # Errors
/// No target given, an unreadable or invalid profile or export, a lab that does not start.
pub async fn load_target(target: &Target, lab_options: LabOptions) -> anyhow::Result<Loaded> {
    match (&target.profile, &target.lab) {
        (Some(path), _) => {
            let loaded = load_profile(path).map_err(|e| anyhow::anyhow!("{e}"))?;
            for note in &loaded.notes {
                tracing::info!("import: {note}");
            }
            Ok(Loaded {
                profile: loaded.profile,
                lab: None,
                export: loaded.export,
            })
        }
        (None, Some(name)) => {
            let lab = lab_export::start(name, lab_options)
                .await
                .context("could not start the lab")?;
            let mut profile =
                Profile::load(&lab.info().profile_file).map_err(|e| anyhow::anyhow!("lab profile: {e}"))?;
            // A configuration-only scenario is diagnosed with its export (the audit finds it), under its
            // own name (its lab is the healthy one it is based on).
            let export = if lab_export::export_fault(name) == ExportFault::None {
                None
            } else {
                let doc = lab_export::export(&lab, name, time::OffsetDateTime::now_utc())?;
                let parsed = Export::parse(doc.to_string().as_bytes(), &format!("lab {name} export"))?;
                profile.name = format!("mailpath lab: {name}");
                Some(Arc::new(parsed))
            };
            Ok(Loaded {
                profile,
                lab: Some(lab),
                export,
            })
        }
        (None, None) => {
            bail!("say what to diagnose: --profile FILE, or --lab [SCENARIO] for the embedded lab")
        }
    }
}

/// What the progress line knows: the phase, and each probe step still pending.
struct Pending {
    phase: String,
    phase_started: Instant,
    dns: String,
    done: usize,
    total: usize,
    steps: BTreeMap<String, (Stage, Instant, Duration)>,
}

impl Pending {
    fn new(dns: String) -> Self {
        Pending {
            phase: "starting".into(),
            phase_started: Instant::now(),
            dns,
            done: 0,
            total: 0,
            steps: BTreeMap::new(),
        }
    }

    fn apply(&mut self, event: Progress) {
        match event {
            Progress::Phase { name } => {
                self.phase = name;
                self.phase_started = Instant::now();
            }
            Progress::Step { id, stage, limit_ms } => {
                self.steps
                    .insert(id, (stage, Instant::now(), Duration::from_millis(limit_ms)));
            }
            Progress::Probed { id, done, total, .. } => {
                self.steps.remove(&id);
                (self.done, self.total) = (done, total);
            }
            Progress::Finished => self.steps.clear(),
        }
    }

    /// What is still pending, and for how long: the step waited on longest first.
    fn line(&self) -> String {
        match self.phase.as_str() {
            "dns" => format!(
                "looking up the path's DNS records with {} ({} s)",
                self.dns,
                self.phase_started.elapsed().as_secs()
            ),
            "probes" => {
                let mut waiting: Vec<_> = self.steps.iter().collect();
                waiting.sort_by_key(|(_, (_, since, _))| *since);
                let Some((id, (stage, since, limit))) = waiting.first() else {
                    return format!("[{}/{}] probing", self.done, self.total);
                };
                let more = match waiting.len() - 1 {
                    0 => String::new(),
                    n => format!(" and {n} more"),
                };
                format!(
                    "[{}/{}] waiting for {} ({}, {}/{} s){more}",
                    self.done,
                    self.total,
                    endpoint_of(id),
                    stage.label(),
                    since.elapsed().as_secs(),
                    limit.as_secs()
                )
            }
            "checks" => "judging the evidence".into(),
            other => format!("{other}..."),
        }
    }
}

/// `smtp:HOST:PORT` as `HOST:PORT`, `ldaps:HOST:PORT` as `HOST:PORT (LDAPS)`.
fn endpoint_of(id: &str) -> String {
    if let Some(rest) = id.strip_prefix("smtp:") {
        rest.to_string()
    } else if let Some(rest) = id.strip_prefix("ldaps:") {
        format!("{rest} (EdgeSync LDAPS)")
    } else {
        id.to_string()
    }
}

/// The target of `diagnose`: `--profile`/`--lab`, with `--export` files added (the export alone when
/// neither is given).
///
/// # Errors
/// As [`load_target`], and an unusable export.
pub async fn load_with_exports(
    target: &Target,
    exports: &[PathBuf],
    lab_options: LabOptions,
) -> anyhow::Result<Loaded> {
    if exports.is_empty() {
        return load_target(target, lab_options).await;
    }
    let paths: Vec<&Path> = exports.iter().map(PathBuf::as_path).collect();
    if target.profile.is_none() && target.lab.is_none() {
        let loaded = load_exports(&paths).map_err(|e| anyhow::anyhow!("{e}"))?;
        return Ok(Loaded {
            profile: loaded.profile,
            lab: None,
            export: loaded.export,
        });
    }
    let mut loaded = load_target(target, lab_options).await?;
    let export = Export::load(&paths).map_err(|e| anyhow::anyhow!("{e}"))?;
    loaded.export = Some(Arc::new(export));
    Ok(loaded)
}

pub fn run(runtime: &tokio::runtime::Runtime, args: &DiagnoseArgs, verbose: u8) -> anyhow::Result<Outcome> {
    for report in &args.report {
        ReportFormat::from_path(report)?;
    }
    if args.compact && args.format != DiagnoseFormat::Json {
        bail!("--compact applies to --format json");
    }
    let target = Target::from(&args.target);
    let diagnosis = runtime.block_on(async {
        // Ctrl+C (SIGINT), SIGTERM: stop waiting, keep what was found.
        let stop = super::stop::StopSignals::listen(false);
        // The stop signals are handled here: the lab is shut down on the way out, its files with it.
        let lab_options = LabOptions {
            remove_on_signal: false,
            ..LabOptions::default()
        };
        let loaded = load_with_exports(&target, &args.export, lab_options).await?;
        let trust = trust_for(&loaded.profile).context("could not load the trust anchors of the profile")?;
        let mut options = DiagnoseOptions::new(trust);
        if let Some(export) = &loaded.export {
            for p in &export.problems {
                eprintln!("mailpath: export: {p}");
            }
        }
        options.export = loaded.export.clone();
        options.dns_override.clone_from(&args.dns);
        options.tls_scan.mode = args.tls_scan.mode();
        let (cancel_tx, cancel_rx) = tokio::sync::watch::channel(false);
        options.cancel = Some(cancel_rx);
        let show_progress = args.format == DiagnoseFormat::Text && std::io::stderr().is_terminal();
        let (tx, mut rx) = tokio::sync::mpsc::channel(256);
        options.progress = Some(tx);
        let dns_label = dns_label(&loaded.profile, &args.dns);
        let (stopped_tx, mut stopped_rx) = tokio::sync::oneshot::channel::<&'static str>();
        let watcher = tokio::spawn(async move {
            if let Some(why) = stop.wait().await {
                let _ = cancel_tx.send(true);
                let _ = stopped_tx.send(why);
            }
        });
        let printer = tokio::spawn(async move {
            let bar = if show_progress {
                let bar = indicatif::ProgressBar::new_spinner();
                bar.set_style(
                    indicatif::ProgressStyle::with_template("{spinner} {msg}")
                        .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
                );
                bar
            } else {
                indicatif::ProgressBar::hidden()
            };
            let mut pending = Pending::new(dns_label);
            let mut tick = tokio::time::interval(Duration::from_millis(200));
            loop {
                tokio::select! {
                    event = rx.recv() => match event {
                        Some(event) => pending.apply(event),
                        None => break,
                    },
                    _ = tick.tick() => {}
                }
                bar.set_message(pending.line());
                bar.tick();
            }
            bar.finish_and_clear();
            pending
        });
        let diagnosis = diagnose(&loaded.profile, options).await;
        let pending = printer.await.ok();
        watcher.abort();
        if diagnosis.cancelled {
            let why = stopped_rx.try_recv().unwrap_or("cancelled");
            let what = pending.map(|p| p.line()).unwrap_or_default();
            eprintln!("mailpath: {why}: diagnosis cancelled; {what}; printing what was found");
        }
        if let Some(lab) = loaded.lab {
            lab.shutdown().await;
        }
        anyhow::Ok(diagnosis)
    })?;
    // Redaction (when asked) happens once, before anything is written: reports and stdout alike.
    let report = Report::new(
        &diagnosis,
        &ReportOptions {
            redact: args.redact,
            ran_on: crate::cmd::report::this_host(),
        },
    )?;
    for path in &args.report {
        report
            .write(path)
            .with_context(|| format!("could not write the report {}", path.display()))?;
    }
    let diagnosis = &report.diagnosis;
    let (verdict, reason) = Verdict::of(diagnosis);
    if let Some(reason) = &reason
        && args.format != DiagnoseFormat::Nagios
    {
        eprintln!("mailpath: incomplete: {reason}");
    }
    let text = match args.format {
        DiagnoseFormat::Json => {
            let mut s = serde_json::to_string_pretty(&verdict::to_json(diagnosis, args.compact)?)?;
            s.push('\n');
            s
        }
        DiagnoseFormat::Nagios => monitor::nagios(diagnosis),
        DiagnoseFormat::Prometheus => monitor::prometheus(diagnosis),
        DiagnoseFormat::Text => {
            let mut s = output::diagnosis_text(diagnosis, output::colour(), verbose > 0);
            for path in &args.report {
                s.push_str(&format!("report: {}\n", path.display()));
            }
            s
        }
    };
    output::emit(text.as_bytes())?;
    Ok(verdict.into())
}

/// The DNS servers the diagnosis asks, in words, for the progress line.
fn dns_label(profile: &Profile, dns: &[std::net::SocketAddr]) -> String {
    let servers = if dns.is_empty() {
        &profile.resolvers.internal
    } else {
        dns
    };
    if servers.is_empty() {
        "the system resolver".into()
    } else {
        servers
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_progress_line_names_the_step_waited_on_longest() {
        let mut p = Pending::new("127.0.0.1:53".into());
        p.apply(Progress::Phase { name: "dns".into() });
        assert!(
            p.line()
                .starts_with("looking up the path's DNS records with 127.0.0.1:53 (")
        );
        p.apply(Progress::Phase {
            name: "probes".into(),
        });
        p.apply(Progress::Step {
            id: "smtp:mail.contoso.com:25".into(),
            stage: Stage::Banner,
            limit_ms: 30_000,
        });
        p.apply(Progress::Step {
            id: "ldaps:edge01.contoso.com:50636".into(),
            stage: Stage::Connect,
            limit_ms: 10_000,
        });
        assert_eq!(
            p.line(),
            "[0/0] waiting for mail.contoso.com:25 (greeting, 0/30 s) and 1 more"
        );
        // A probe that finished is no longer pending, whatever finished last.
        p.apply(Progress::Probed {
            id: "smtp:mail.contoso.com:25".into(),
            done: 1,
            total: 2,
            checks: Vec::new(),
        });
        assert_eq!(
            p.line(),
            "[1/2] waiting for edge01.contoso.com:50636 (EdgeSync LDAPS) (connect, 0/10 s)"
        );
    }
}
