//! `mailpath diagnose`: probe every hop of the active path, both directions, and judge it.

use std::io::{IsTerminal as _, Write as _};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context as _, bail};
use mailpath_core::diagnose::{DiagnoseOptions, Diagnosis, Progress, diagnose, trust_for};
use mailpath_core::exchange::Export;
use mailpath_core::exchange::import::{load_exports, load_profile};
use mailpath_core::lab::export::{self as lab_export, ExportFault};
use mailpath_core::lab::{Lab, LabOptions};
use mailpath_core::profile::Profile;
use mailpath_core::report::{Format as ReportFormat, Report, ReportOptions};

use crate::Outcome;
use crate::cli::{DiagnoseArgs, Format, Target};
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
/// export itself), or start the lab named by `--lab` and load its profile.
///
/// # Errors
/// No target given, an unreadable or invalid profile or export, a lab that does not start.
pub async fn load_target(target: &Target) -> anyhow::Result<Loaded> {
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
            let lab = lab_export::start(name, LabOptions::default())
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

/// The target of `diagnose`: `--profile`/`--lab`, with `--export` files added (the export alone when
/// neither is given).
///
/// # Errors
/// As [`load_target`], and an unusable export.
pub async fn load_with_exports(target: &Target, exports: &[PathBuf]) -> anyhow::Result<Loaded> {
    if exports.is_empty() {
        return load_target(target).await;
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
    let mut loaded = load_target(target).await?;
    let export = Export::load(&paths).map_err(|e| anyhow::anyhow!("{e}"))?;
    loaded.export = Some(Arc::new(export));
    Ok(loaded)
}

pub fn run(
    runtime: &tokio::runtime::Runtime,
    target: &Target,
    args: &DiagnoseArgs,
) -> anyhow::Result<Outcome> {
    for report in &args.report {
        ReportFormat::from_path(report)?;
    }
    let diagnosis = runtime.block_on(async {
        let loaded = load_with_exports(target, &args.export).await?;
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
        let show_progress = args.format == Format::Text && std::io::stderr().is_terminal();
        let (tx, mut rx) = tokio::sync::mpsc::channel(64);
        options.progress = Some(tx);
        let printer = tokio::spawn(async move {
            while let Some(event) = rx.recv().await {
                if !show_progress {
                    continue;
                }
                let mut err = std::io::stderr().lock();
                match event {
                    Progress::Phase { name } => {
                        let _ = write!(err, "\r\x1b[2K{name}...");
                    }
                    Progress::Probed { id, done, total, .. } => {
                        let _ = write!(err, "\r\x1b[2K[{done}/{total}] {id}");
                    }
                    Progress::Finished => {
                        let _ = write!(err, "\r\x1b[2K");
                    }
                }
                let _ = err.flush();
            }
        });
        let diagnosis = diagnose(&loaded.profile, options).await;
        let _ = printer.await;
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
    match args.format {
        Format::Json => {
            let mut out = std::io::stdout().lock();
            serde_json::to_writer_pretty(&mut out, diagnosis)?;
            writeln!(out)?;
        }
        Format::Text => {
            print_text(diagnosis)?;
            for path in &args.report {
                println!("report: {}", path.display());
            }
        }
    }
    Ok(output::outcome(&diagnosis.counts))
}

fn print_text(d: &Diagnosis) -> anyhow::Result<()> {
    let colour = output::colour();
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "mailpath {}: {} ({} ms)",
        d.mailpath_version, d.profile.name, d.duration_ms
    )?;
    output::print_path(&mut out, &d.path, &d.checks, colour)?;
    writeln!(
        out,
        "\n{} checks: {}",
        d.checks.len(),
        output::summary_line(&d.counts)
    )?;
    Ok(())
}
