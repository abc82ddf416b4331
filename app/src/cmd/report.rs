//! `mailpath report`: render a saved diagnosis into HTML/JSON/Markdown, or compare two of them.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use mailpath_core::bounded::{self, Limit};
use mailpath_core::report::{self, Format as ReportFormat, Report, ReportOptions, compare};

use crate::Outcome;
use crate::cli::{Format, ReportCommand};

/// Run `mailpath report render|compare`.
///
/// # Errors
/// A file that cannot be read, is not a diagnosis of this schema, or a report that cannot be written
/// (all exit 3).
pub fn run(cmd: &ReportCommand) -> anyhow::Result<Outcome> {
    match cmd {
        ReportCommand::Render {
            diagnosis,
            report,
            redact,
        } => render(diagnosis, report, *redact),
        ReportCommand::Compare { old, new, format } => compare_files(old, new, *format),
    }
}

fn render(diagnosis: &Path, reports: &[PathBuf], redact: bool) -> anyhow::Result<Outcome> {
    for path in reports {
        ReportFormat::from_path(path)?;
    }
    let d = report::load(diagnosis)?;
    let r = Report::new(&d, &ReportOptions { redact, ran_on: None })?;
    for path in reports {
        let format = r.write(path)?;
        eprintln!("mailpath: wrote {} ({})", path.display(), format.as_str());
    }
    Ok(Outcome::Passed)
}

fn compare_files(old: &Path, new: &Path, format: Format) -> anyhow::Result<Outcome> {
    let old = report::load(old)?;
    let new = report::load(new)?;
    let c = compare::compare(&old, &new);
    let mut out = std::io::stdout().lock();
    match format {
        Format::Json => {
            serde_json::to_writer_pretty(&mut out, &c)?;
            writeln!(out)?;
        }
        Format::Text => {
            // The text quotes the saved files (names, summaries): escaped line by line.
            for l in compare::render_text(&c).lines() {
                crate::output::term_line!(&mut out, "{l}")?;
            }
        }
    }
    Ok(if c.broke {
        Outcome::Failures
    } else {
        Outcome::Passed
    })
}

/// The name of this machine, when cheaply known (`COMPUTERNAME` on Windows, `HOSTNAME`, `/etc/hostname`).
pub fn this_host() -> Option<String> {
    let from_env = ["COMPUTERNAME", "HOSTNAME"]
        .iter()
        .find_map(|k| std::env::var(k).ok());
    let small = Limit {
        what: "a host name file",
        bytes: 4096,
    };
    let name = from_env.or_else(|| bounded::read_to_string(Path::new("/etc/hostname"), small).ok())?;
    let name = name.trim();
    (!name.is_empty() && name.len() <= 253 && !name.chars().any(char::is_control)).then(|| name.to_string())
}
