//! The `mailpath` binary: the GUI and the command line over mailpath-core.
#![forbid(unsafe_code)]

use std::process::ExitCode;

use clap::Parser as _;
use mailpath_app::Outcome;
use mailpath_app::cli::{Cli, Command};
use mailpath_app::cmd;

fn main() -> ExitCode {
    let started = std::time::Instant::now();
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
    match run(cli, started) {
        Ok(outcome) => outcome.into(),
        Err(err) => {
            eprintln!("mailpath: error: {err:#}");
            Outcome::CouldNotRun.into()
        }
    }
}

fn run(cli: Cli, started: std::time::Instant) -> anyhow::Result<Outcome> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("mailpath-tokio")
        .build()?;
    match cli.command {
        Some(Command::Lab(args)) => cmd::lab::run(&runtime, &args),
        None => mailpath_app::gui::run(runtime.handle(), &cli.target, None, started),
        Some(Command::Gui(args)) => {
            mailpath_app::gui::run(runtime.handle(), &cli.target, args.screenshot, started)
        }
        Some(Command::Diagnose(args)) => cmd::diagnose::run(&runtime, &cli.target, &args),
        Some(Command::Probe(args)) => cmd::probe::run(&runtime, &cli.target, &args),
        Some(Command::Cert(args)) => cmd::cert::run(&runtime, &cli.target, &args),
        Some(Command::Relay(args)) => cmd::relay::run(&runtime, &args),
        Some(Command::Headers(args)) => cmd::headers::run(&args),
        Some(Command::Explain(args)) => cmd::explain::run(&runtime, &cli.target, &args),
        Some(Command::Report(cmd)) => cmd::report::run(&cmd),
        Some(Command::Import(args)) => cmd::import::run(&args),
    }
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
