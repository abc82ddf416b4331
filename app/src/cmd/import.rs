//! `mailpath import`: build a profile from an Exchange configuration export, every value marked with
//! where it came from.

use std::io::Write as _;

use anyhow::Context as _;
use mailpath_core::exchange::Export;
use mailpath_core::exchange::import::{annotated_toml, profile_from_export};
use serde::Serialize;

use crate::Outcome;
use crate::cli::{Format, ImportArgs};

/// The JSON output of `mailpath import` (`"schema": "mailpath/import/1"`).
#[derive(Debug, Serialize)]
struct ImportReport<'a> {
    schema: &'static str,
    files: Vec<String>,
    settings: Vec<SettingOut>,
    notes: &'a [String],
    problems: Vec<String>,
    profile_problems: Vec<String>,
    written: Option<String>,
}

#[derive(Debug, Serialize)]
struct SettingOut {
    key: String,
    value: String,
    origin: String,
}

pub fn run(args: &ImportArgs) -> anyhow::Result<Outcome> {
    let mut paths = vec![args.export.as_path()];
    if let Some(exo) = &args.exo {
        paths.push(exo.as_path());
    }
    let export = Export::load(&paths)?;
    let imported = profile_from_export(&export);
    let profile_problems: Vec<String> = imported
        .profile
        .validate()
        .iter()
        .map(ToString::to_string)
        .collect();
    if let Some(path) = &args.write_profile {
        let text = annotated_toml(&imported, &export)?;
        std::fs::write(path, text)
            .with_context(|| format!("could not write the profile {}", path.display()))?;
    }
    let problems: Vec<String> = export.problems.iter().map(ToString::to_string).collect();
    match args.format {
        Format::Json => {
            let report = ImportReport {
                schema: "mailpath/import/1",
                files: export.files.iter().map(|f| f.origin.clone()).collect(),
                settings: imported
                    .settings
                    .iter()
                    .map(|s| SettingOut {
                        key: s.key.clone(),
                        value: s.value.clone(),
                        origin: s.origin.to_string(),
                    })
                    .collect(),
                notes: &imported.notes,
                problems: problems.clone(),
                profile_problems: profile_problems.clone(),
                written: args.write_profile.as_ref().map(|p| p.display().to_string()),
            };
            let mut out = std::io::stdout().lock();
            serde_json::to_writer_pretty(&mut out, &report)?;
            writeln!(out)?;
        }
        Format::Text => {
            let mut out = std::io::stdout().lock();
            for f in &export.files {
                writeln!(
                    out,
                    "read {} ({}{})",
                    f.origin,
                    f.schema,
                    f.script_version
                        .as_deref()
                        .map(|v| format!(", script {v}"))
                        .unwrap_or_default()
                )?;
            }
            let width = imported.settings.iter().map(|s| s.key.len()).max().unwrap_or(0);
            for s in &imported.settings {
                writeln!(out, "  {:width$}  {}  ({})", s.key, s.value, s.origin)?;
            }
            for n in &imported.notes {
                writeln!(out, "note: {n}")?;
            }
            for p in &problems {
                writeln!(out, "warning: {p}")?;
            }
            for p in &profile_problems {
                writeln!(out, "incomplete: {p}")?;
            }
            if let Some(path) = &args.write_profile {
                writeln!(out, "profile: {}", path.display())?;
            }
        }
    }
    Ok(if problems.is_empty() && profile_problems.is_empty() {
        Outcome::Passed
    } else {
        Outcome::Warnings
    })
}
