//! `mailpath lab`: run the embedded hybrid lab until SIGINT/SIGTERM or until stdin closes (when it is a
//! pipe: see [`super::stop`]).

use std::io::Write as _;

use anyhow::Context as _;
use mailpath_core::lab::export::EXPORT_SCENARIOS;
use mailpath_core::lab::{DEFAULT_SCENARIO, LabInfo, LabOptions, SCENARIOS};

use crate::Outcome;
use crate::cli::{Format, LabArgs};
use crate::output::term_line;

pub fn run(runtime: &tokio::runtime::Runtime, args: &LabArgs) -> anyhow::Result<Outcome> {
    if args.list {
        return list(args.format);
    }
    let name = args.scenario.as_deref().unwrap_or(DEFAULT_SCENARIO);
    runtime.block_on(async {
        let watch_stdin = super::stop::watch_stdin(args.ignore_stdin);
        let stop = super::stop::StopSignals::listen(watch_stdin);
        // The stop signals are handled here (the lab is dropped on the way out, its files with it).
        let options = LabOptions {
            remove_on_signal: false,
            ..LabOptions::default()
        };
        let lab = mailpath_core::lab::export::start(name, options)
            .await
            .context("could not start the lab")?;
        if let Some(path) = &args.write_profile {
            lab.write_profile(path)
                .with_context(|| format!("could not write the profile {}", path.display()))?;
        }
        if let Some(path) = &args.write_export {
            mailpath_core::lab::export::write(&lab, name, path, time::OffsetDateTime::now_utc())
                .with_context(|| format!("could not write the export {}", path.display()))?;
        }
        let mut out = std::io::stdout().lock();
        match args.format {
            Format::Json => {
                writeln!(out, "{}", serde_json::to_string(lab.info())?)?;
            }
            Format::Text => print_text(&mut out, lab.info(), lab.scenario().summary, watch_stdin)?,
        }
        out.flush()?;
        drop(out);
        if let Some(why) = stop.wait().await {
            tracing::info!("lab stopping: {why}");
        }
        lab.shutdown().await;
        anyhow::Ok(())
    })?;
    Ok(Outcome::Passed)
}

fn list(format: Format) -> anyhow::Result<Outcome> {
    let mut out = std::io::stdout().lock();
    match format {
        Format::Json => writeln!(out, "{}", serde_json::to_string(SCENARIOS)?)?,
        Format::Text => {
            // The configuration-only scenarios (found by the audit of the lab's export) follow,
            // unless a probe scenario of the same name already listed them.
            let extra: Vec<(&str, &str)> = EXPORT_SCENARIOS
                .iter()
                .filter(|e| !SCENARIOS.iter().any(|s| s.name == e.name))
                .map(|e| (e.name, e.summary))
                .collect();
            let all: Vec<(&str, &str)> = SCENARIOS
                .iter()
                .map(|s| (s.name, s.summary))
                .chain(extra)
                .collect();
            let width = all.iter().map(|(n, _)| n.len()).max().unwrap_or(0);
            for (name, summary) in all {
                writeln!(out, "{name:width$}  {summary}")?;
            }
        }
    }
    Ok(Outcome::Passed)
}

fn print_text(
    out: &mut impl std::io::Write,
    info: &LabInfo,
    summary: &str,
    watch_stdin: bool,
) -> std::io::Result<()> {
    term_line!(out, "mailpath lab: {} ({summary})", info.scenario)?;
    term_line!(out, "  dns      {} (UDP and TCP)", info.dns)?;
    term_line!(out, "  ca       {}", info.ca_file.display())?;
    term_line!(out, "  profile  {}", info.profile_file.display())?;
    term_line!(out, "  endpoints:")?;
    for e in &info.endpoints {
        let role = serde_json::to_value(e.role)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        term_line!(
            out,
            "    {role:14} {:42} {:22} {}",
            e.host,
            e.address.to_string(),
            e.tls_names.join(", ")
        )?;
    }
    term_line!(out, "  try:")?;
    term_line!(
        out,
        "    dig @{} -p {} contoso.com MX",
        info.dns.ip(),
        info.dns.port()
    )?;
    if let Some(e) = info.endpoints.iter().find(|e| e.host == "mail.contoso.com") {
        term_line!(
            out,
            "    openssl s_client -starttls smtp -connect {} -CAfile {} -servername {}",
            e.address,
            info.ca_file.display(),
            e.host
        )?;
    }
    term_line!(out, "{}", super::stop::serving_until(watch_stdin))
}
