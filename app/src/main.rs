//! The `mailpath` binary: the GUI and the command line over mailpath-core.
#![forbid(unsafe_code)]

mod cli;
mod cmd;

use std::process::ExitCode;

use clap::Parser as _;

use cli::{Cli, Command};

/// Exit codes shared by diagnose, probe, cert and headers (PRODUCT.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Everything passed.
    Passed = 0,
    /// Warnings, no failures.
    Warnings = 1,
    /// At least one failure.
    Failures = 2,
    /// Could not run: bad arguments, bad profile, unreadable file.
    CouldNotRun = 3,
}

impl From<Outcome> for ExitCode {
    fn from(outcome: Outcome) -> Self {
        ExitCode::from(outcome as u8)
    }
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            let _ = err.print();
            return match err.kind() {
                clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion => {
                    ExitCode::SUCCESS
                }
                _ => Outcome::CouldNotRun.into(),
            };
        }
    };
    init_tracing(cli.verbose);
    match run(cli) {
        Ok(outcome) => outcome.into(),
        Err(err) => {
            eprintln!("mailpath: error: {err:#}");
            Outcome::CouldNotRun.into()
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<Outcome> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("mailpath-tokio")
        .build()?;
    match cli.command {
        Some(Command::Lab(args)) => cmd::lab::run(&runtime, &args),
        None | Some(Command::Gui) => not_built("the GUI", 4),
        Some(Command::Diagnose(_)) => not_built("`mailpath diagnose`", 3),
        Some(Command::Probe(_)) => not_built("`mailpath probe`", 3),
        Some(Command::Cert(_)) => not_built("`mailpath cert`", 3),
        Some(Command::Relay(args)) => cmd::relay::run(&runtime, &args),
        Some(Command::Headers(args)) => cmd::headers::run(&args),
        Some(Command::Report(_)) => not_built("`mailpath report`", 6),
    }
}

/// A command of the stable surface that is not built yet: say so, exit 3.
fn not_built(what: &str, issue: u32) -> anyhow::Result<Outcome> {
    eprintln!("mailpath: {what} is not built yet (tracked in issue {issue}); try `mailpath lab --list`");
    Ok(Outcome::CouldNotRun)
}

fn init_tracing(verbose: u8) {
    let default = match verbose {
        0 => "warn",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}
