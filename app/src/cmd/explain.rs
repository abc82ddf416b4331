//! `mailpath explain [TEXT | FILE | -]`: an NDR, a queue's LastError, a message trace detail or SMTP
//! protocol log lines, pinned on the mail path: the code, what it means, the hop, the likely causes
//! (ranked by evidence with --profile/--lab/--diagnosis, probed now with --run) and the fix.
//!
//! Exit codes: 0 something was explained; 3 nothing found (no SMTP reply, status code or known error
//! string), or could not run (an unreadable file, bad arguments, a lab that does not start).

use std::io::{IsTerminal as _, Write as _};
use std::path::Path;

use anyhow::{Context as _, bail};
use mailpath_core::bounded::{self, Limit};
use mailpath_core::check::Status;
use mailpath_core::diagnose::{DiagnoseOptions, Diagnosis, diagnose, trust_for};
use mailpath_core::explain::extract::clean;
use mailpath_core::explain::{CauseVerdict, Context, EvidenceSource, Explanation, explain};
use mailpath_core::report::{self, Format as ReportFormat, Report, ReportOptions};

use crate::Outcome;
use crate::cli::{ExplainArgs, Format, Target};
use crate::cmd::diagnose::load_target;
use crate::output;

/// Bytes read from a file or standard input at most; the extractor looks at less still.
pub const MAX_INPUT: u64 = Limit::EXPLAIN_INPUT.bytes;

/// Run `mailpath explain`.
///
/// # Errors
/// An unreadable input, conflicting arguments, a profile or lab that cannot be loaded, a report that
/// cannot be written (all exit 3).
pub fn run(
    runtime: &tokio::runtime::Runtime,
    target: &Target,
    args: &ExplainArgs,
) -> anyhow::Result<Outcome> {
    let has_target = target.profile.is_some() || target.lab.is_some();
    if args.diagnosis.is_some() && has_target {
        bail!(
            "--diagnosis and --profile/--lab exclude each other: rank by a saved diagnosis, or by a profile or the lab"
        );
    }
    if args.run && !has_target {
        bail!("--run needs --profile FILE or --lab [SCENARIO]: what to diagnose");
    }
    for path in &args.report {
        ReportFormat::from_path(path)?;
    }
    let (data, truncated_at) = read_input(args.input.as_deref())?;
    if truncated_at {
        eprintln!(
            "mailpath: the input is larger than {MAX_INPUT} bytes: only its first {MAX_INPUT} bytes are explained"
        );
    }
    // Nothing to explain: say so at once, before loading a profile or starting a lab.
    let bare = explain(&data, &Context::default());
    if !bare.found {
        print(&bare, args.format, None)?;
        return Ok(Outcome::CouldNotRun);
    }
    let (ctx, diagnosis) = if let Some(path) = &args.diagnosis {
        let d = report::load(path)?;
        (Context::for_diagnosis(&d, EvidenceSource::Diagnosis), None)
    } else if has_target {
        runtime.block_on(async {
            let loaded = load_target(target, mailpath_core::lab::LabOptions::default()).await?;
            let out = if args.run {
                let trust =
                    trust_for(&loaded.profile).context("could not load the trust anchors of the profile")?;
                if args.format == Format::Text && std::io::stderr().is_terminal() {
                    eprintln!("mailpath: running the diagnosis of {} ...", loaded.profile.name);
                }
                let mut options = DiagnoseOptions::new(trust);
                options.export.clone_from(&loaded.export);
                let d = diagnose(&loaded.profile, options).await;
                (Context::for_diagnosis(&d, EvidenceSource::Run), Some(d))
            } else {
                (Context::for_profile(&loaded.profile), None)
            };
            if let Some(lab) = loaded.lab {
                lab.shutdown().await;
            }
            anyhow::Ok(out)
        })?
    } else {
        (Context::default(), None)
    };
    let explanation = if ctx.source == EvidenceSource::None {
        bare
    } else {
        explain(&data, &ctx)
    };
    let diagnosis = diagnosis.map(|mut d| {
        d.explained = explanation.headline();
        d
    });
    if let Some(d) = &diagnosis {
        let r = Report::new(
            d,
            &ReportOptions {
                redact: false,
                ran_on: crate::cmd::report::this_host(),
            },
        )?;
        for path in &args.report {
            r.write(path)
                .with_context(|| format!("could not write the report {}", path.display()))?;
        }
    }
    print(&explanation, args.format, diagnosis.as_ref())?;
    if args.format == Format::Text {
        for path in &args.report {
            println!("report: {}", path.display());
        }
    }
    Ok(Outcome::Passed)
}

/// The input's bytes (at most [`MAX_INPUT`]) and whether there was more: standard input for `-` (or no
/// argument when standard input is not a terminal), a file when the argument names one, else the
/// argument itself.
fn read_input(arg: Option<&str>) -> anyhow::Result<(Vec<u8>, bool)> {
    let stdin = match arg {
        None if std::io::stdin().is_terminal() => {
            bail!("give the text to explain, a FILE holding it, or - to read standard input")
        }
        None | Some("-") => true,
        Some(_) => false,
    };
    let (data, whole) = if stdin {
        bounded::read_prefix(std::io::stdin().lock(), Limit::EXPLAIN_INPUT)
            .context("could not read standard input")?
    } else if let Some(arg) = arg {
        let path = Path::new(arg);
        if path.is_file() {
            bounded::read_start(path, Limit::EXPLAIN_INPUT)
                .with_context(|| format!("could not read {arg}"))?
        } else if looks_like_a_path(arg) {
            bail!("could not read {arg}: no such file (to explain a text, quote it whole)");
        } else {
            (arg.as_bytes().to_vec(), true)
        }
    } else {
        (Vec::new(), true)
    };
    Ok((data, !whole))
}

/// One word that names a file (a separator, or a file extension an NDR or a log comes in).
fn looks_like_a_path(arg: &str) -> bool {
    !arg.contains(char::is_whitespace)
        && (arg.contains(['/', '\\'])
            || [".eml", ".msg", ".txt", ".log", ".html", ".htm", ".csv", ".json"]
                .iter()
                .any(|ext| arg.to_ascii_lowercase().ends_with(ext)))
}

fn print(e: &Explanation, format: Format, diagnosis: Option<&Diagnosis>) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    match format {
        Format::Json => {
            serde_json::to_writer_pretty(&mut out, e)?;
            writeln!(out)?;
        }
        Format::Text => print_text(&mut out, e, diagnosis)?,
    }
    Ok(())
}

/// Text from the input or the evidence, safe for a terminal (no control characters) and bounded.
fn safe(s: &str) -> String {
    clean(s, 2000)
}

fn verdict_tag(v: CauseVerdict, colour: bool) -> String {
    let status = match v {
        CauseVerdict::Confirmed => Status::Fail,
        CauseVerdict::Named | CauseVerdict::Likely => Status::Warn,
        CauseVerdict::RuledOut => Status::Pass,
        CauseVerdict::Unverified | CauseVerdict::NotObservable => Status::Skip,
    };
    let text = match v {
        CauseVerdict::Confirmed => "THIS IS IT",
        CauseVerdict::Named => "NAMED",
        CauseVerdict::Likely => "LIKELY",
        CauseVerdict::Unverified => "?",
        CauseVerdict::NotObservable => "NOT SEEN",
        CauseVerdict::RuledOut => "RULED OUT",
    };
    if colour {
        output::tag(status, true).replace(status.as_str().to_uppercase().as_str(), text)
    } else {
        text.to_string()
    }
}

fn print_text(
    out: &mut impl std::io::Write,
    e: &Explanation,
    diagnosis: Option<&Diagnosis>,
) -> std::io::Result<()> {
    let colour = output::colour();
    if !e.found {
        writeln!(
            out,
            "mailpath: {} in the {} ({} bytes).",
            e.summary,
            e.input.kind.label(),
            e.input.bytes
        )?;
        writeln!(
            out,
            "Paste the NDR's \"Diagnostic information for administrators\", a queue's LastError (Get-Queue | fl), a message trace detail or protocol log lines."
        )?;
        return Ok(());
    }
    let Some(main) = e.main() else { return Ok(()) };
    writeln!(out, "Found:    {}  ({})", safe(&main.text), e.input.kind.label())?;
    if let Some(r) = &e.reporting_server {
        writeln!(out, "Reported by: {}", safe(r))?;
    }
    if e.remote_server.is_some() || e.remote_ip.is_some() {
        writeln!(
            out,
            "Remote server: {}{}",
            safe(e.remote_server.as_deref().unwrap_or("?")),
            e.remote_ip
                .as_deref()
                .map(|ip| format!(" ({})", safe(ip)))
                .unwrap_or_default()
        )?;
    }
    writeln!(out)?;
    writeln!(out, "{}  {}", main.code, main.title)?;
    writeln!(out, "  {}", main.meaning)?;
    if let Some(r) = &main.rfc3463 {
        writeln!(
            out,
            "  RFC 3463: {}; {}{}",
            r.class,
            r.subject,
            r.detail.as_deref().map(|d| format!("; {d}")).unwrap_or_default()
        )?;
    }
    if main.hops.is_empty() {
        writeln!(out, "Hop:      the code alone does not say which hop")?;
    } else {
        writeln!(out, "Hop:      {}", main.hops.join(" or "))?;
    }
    writeln!(out, "Verdict:  {}", safe(&main.verdict))?;
    writeln!(out, "\nLikely causes, most likely first ({}):", e.evidence.note)?;
    for c in &main.causes {
        writeln!(
            out,
            "  {}. [{}] {}",
            c.rank,
            verdict_tag(c.verdict, colour),
            c.cause
        )?;
        if c.checks.is_empty() {
            writeln!(out, "       checks: none observes it from here")?;
        } else {
            writeln!(out, "       checks: {}", c.checks.join(", "))?;
        }
        for o in &c.observed {
            writeln!(
                out,
                "         {} {} {}: {}",
                output::tag(o.status, colour),
                o.id,
                o.hop.as_deref().map_or_else(|| safe(&o.target), str::to_string),
                safe(&o.summary)
            )?;
        }
        writeln!(out, "       fix: {}", c.fix)?;
    }
    if !main.sources.is_empty() {
        writeln!(out, "\nSources:")?;
        for s in &main.sources {
            writeln!(out, "  {s}")?;
        }
    }
    if e.explained.len() > 1 {
        writeln!(out, "\nAlso found:")?;
        for x in &e.explained[1..] {
            let hops = if x.hops.is_empty() {
                String::new()
            } else {
                format!(" [{}]", x.hops.join(", "))
            };
            writeln!(out, "  {}  {}{hops}", x.code, x.title)?;
        }
    }
    if e.input.truncated {
        writeln!(
            out,
            "\n(only the first part of the input was looked at: it exceeds mailpath's bounds)"
        )?;
    }
    if let Some(d) = diagnosis {
        writeln!(
            out,
            "\nDiagnosis of {}: {} checks, {}",
            d.profile.name,
            d.checks.len(),
            output::summary_line(&d.counts)
        )?;
    }
    Ok(())
}
