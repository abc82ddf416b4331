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
        // The reader went away (`mailpath ... | head`): nothing to say, nobody to say it to.
        Err(err) if mailpath_app::output::is_broken_pipe(&err) => Outcome::CouldNotRun.into(),
        Err(err) => {
            // Errors may quote a file or a server: escaped, and long lines cut to an excerpt.
            let message = mailpath_app::output::error_text(&mailpath_app::output::error_chain(&err));
            eprintln!("mailpath: error: {message}");
            Outcome::CouldNotRun.into()
        }
    }
}

#[cfg(feature = "gui")]
fn gui(
    runtime: &tokio::runtime::Runtime,
    target: &mailpath_app::cli::Target,
    screenshot: Option<std::path::PathBuf>,
    started: std::time::Instant,
) -> anyhow::Result<Outcome> {
    if !mailpath_app::display::available() {
        eprintln!(
            "mailpath: {}",
            mailpath_app::display::no_display_message(target.profile.as_deref(), target.lab.as_deref())
        );
        return Ok(Outcome::CouldNotRun);
    }
    mailpath_app::gui::run(runtime.handle(), target, screenshot, started)
}

/// Built without the `gui` feature: say so, and what does the same work on the command line.
#[cfg(not(feature = "gui"))]
fn gui(
    _runtime: &tokio::runtime::Runtime,
    target: &mailpath_app::cli::Target,
    _screenshot: Option<std::path::PathBuf>,
    _started: std::time::Instant,
) -> anyhow::Result<Outcome> {
    eprintln!(
        "mailpath: {}",
        mailpath_app::display::no_gui_message(target.profile.as_deref(), target.lab.as_deref())
    );
    Ok(Outcome::CouldNotRun)
}

fn run(cli: Cli, started: std::time::Instant) -> anyhow::Result<Outcome> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("mailpath-tokio")
        .build()?;
    match cli.command {
        Some(Command::Lab(args)) => cmd::lab::run(&runtime, &args),
        None => gui(&runtime, &cli.target, None, started),
        Some(Command::Gui(args)) => gui(&runtime, &args.target, args.screenshot, started),
        Some(Command::Diagnose(args)) => cmd::diagnose::run(&runtime, &args, cli.verbose),
        Some(Command::Probe(args)) => cmd::probe::run(&runtime, &args, cli.verbose),
        Some(Command::Cert(args)) => cmd::cert::run(&runtime, &args, cli.verbose),
        Some(Command::Relay(args)) => cmd::relay::run(&runtime, &args),
        Some(Command::Headers(args)) => cmd::headers::run(&args),
        Some(Command::Explain(args)) => cmd::explain::run(&runtime, &args.target, &args),
        Some(Command::Report(cmd)) => cmd::report::run(&cmd),
        Some(Command::Import(args)) => cmd::import::run(&args),
    }
}

fn init_tracing(verbose: u8) {
    // -v is for more output (every check); logging starts at -vv.
    let default = match verbose {
        0 | 1 => "warn",
        2 => "info",
        3 => "debug",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}
