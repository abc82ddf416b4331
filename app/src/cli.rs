//! The command line, as PRODUCT.md defines it. Scripts and monitoring depend on it: keep it stable.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Diagnose mail flow in Exchange hybrid deployments (on-premises Exchange + Exchange Online).
#[derive(Debug, Parser)]
#[command(name = "mailpath", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    /// More logging on stderr (-v info, -vv debug, -vvv trace). RUST_LOG works too.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,

    #[command(subcommand)]
    pub command: Option<Command>,

    #[command(flatten)]
    pub target: Target,
}

/// What to diagnose: a profile of a real deployment, or a scenario of the embedded lab.
#[derive(Debug, Clone, Args, Default)]
pub struct Target {
    /// A hybrid profile (TOML) describing the deployment.
    #[arg(long, value_name = "FILE", conflicts_with = "lab", global = true)]
    pub profile: Option<PathBuf>,
    /// Run against the embedded lab (default scenario: healthy-edge).
    #[arg(long, value_name = "SCENARIO", num_args = 0..=1, default_missing_value = "healthy-edge", global = true)]
    pub lab: Option<String>,
}

/// Output formats of the commands that print results.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum Format {
    /// Human-readable text (colour and progress on a terminal).
    #[default]
    Text,
    /// One versioned JSON document on stdout, nothing else.
    Json,
}

/// Roles the bundled relay can play.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum RelayRole {
    /// Accept and capture everything.
    #[default]
    Sink,
    /// Behave like Exchange Online Protection receiving from on-premises.
    Eop,
    /// Behave like an Edge Transport server.
    Edge,
    /// Behave like an Exchange Mailbox server.
    Mailbox,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Open the GUI (the default with no subcommand).
    Gui(GuiArgs),
    /// Probe every hop of the active mail path, both directions, and judge it.
    Diagnose(DiagnoseArgs),
    /// Probe one SMTP endpoint: transcript, STARTTLS, certificate verdicts.
    Probe(ProbeArgs),
    /// Check a certificate file offline, as the probes would judge it.
    Cert(CertArgs),
    /// Run the embedded hybrid lab on loopback.
    Lab(LabArgs),
    /// Run the bundled test relay: capture and inspect what Exchange sends.
    Relay(RelayArgs),
    /// Analyse message headers into the path the message really took.
    Headers(HeadersArgs),
    /// Render or compare saved diagnoses.
    #[command(subcommand)]
    Report(ReportCommand),
}

/// `mailpath gui`.
#[derive(Debug, Args, Default)]
pub struct GuiArgs {
    /// Run the diagnosis of --lab/--profile, wait for it, save a PNG of the window to FILE and exit.
    #[arg(long, value_name = "FILE.png")]
    pub screenshot: Option<PathBuf>,
}

/// `mailpath diagnose`.
#[derive(Debug, Args)]
pub struct DiagnoseArgs {
    /// Extra DNS server(s) to use instead of the profile's.
    #[arg(long, value_name = "ADDR")]
    pub dns: Vec<SocketAddr>,
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
    /// Write a report (format from the extension: .html, .json, .md); repeatable.
    #[arg(long, value_name = "FILE")]
    pub report: Vec<PathBuf>,
    /// Replace host names, domains, addresses, certificate names and e-mail addresses with stable
    /// placeholders in the reports and the output, so they can be shared.
    #[arg(long)]
    pub redact: bool,
}

/// `mailpath probe`.
#[derive(Debug, Args)]
pub struct ProbeArgs {
    /// The endpoint, HOST or HOST:PORT (port 25 by default).
    pub endpoint: String,
    /// A name the certificate must carry (repeatable; default: the host).
    #[arg(long = "tls-name", value_name = "NAME")]
    pub tls_names: Vec<String>,
    /// Trust this CA file (PEM) in addition to the system store.
    #[arg(long, value_name = "FILE")]
    pub ca: Option<PathBuf>,
    /// Resolve the host with this DNS server.
    #[arg(long, value_name = "ADDR")]
    pub dns: Option<SocketAddr>,
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

/// `mailpath cert`.
#[derive(Debug, Args)]
pub struct CertArgs {
    /// A certificate chain file (PEM or DER).
    pub file: PathBuf,
    /// A name the certificate must carry (repeatable).
    #[arg(long, value_name = "NAME")]
    pub name: Vec<String>,
    /// Trust this CA file (PEM) in addition to the system store.
    #[arg(long, value_name = "FILE")]
    pub ca: Option<PathBuf>,
    /// Judge validity at this time instead of now (RFC 3339).
    #[arg(long, value_name = "RFC3339")]
    pub at: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

/// `mailpath lab`.
#[derive(Debug, Args)]
pub struct LabArgs {
    /// The scenario to run (default: healthy-edge).
    pub scenario: Option<String>,
    /// List the scenarios and what each breaks.
    #[arg(long)]
    pub list: bool,
    /// Output format (json: one line once the lab is ready).
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
    /// Also write a profile pointing at the running lab to FILE.
    #[arg(long, value_name = "FILE")]
    pub write_profile: Option<PathBuf>,
    /// Keep serving when standard input closes (stop only on SIGINT/SIGTERM).
    #[arg(long)]
    pub ignore_stdin: bool,
}

/// `mailpath relay`.
#[derive(Debug, Args)]
pub struct RelayArgs {
    /// Where to listen.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:2525")]
    pub listen: SocketAddr,
    /// Which server to behave like.
    #[arg(long, value_enum, default_value_t)]
    pub role: RelayRole,
    /// Forward accepted mail to this smart host.
    #[arg(long, value_name = "HOST[:PORT]")]
    pub forward: Option<String>,
    /// Spool directory for captured and queued messages.
    #[arg(long, value_name = "DIR")]
    pub spool: Option<PathBuf>,
}

/// `mailpath headers`.
#[derive(Debug, Args)]
pub struct HeadersArgs {
    /// A file with the message or its headers, or - for standard input.
    pub file: String,
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

/// `mailpath report`.
#[derive(Debug, Subcommand)]
pub enum ReportCommand {
    /// Render a saved diagnosis (JSON) into a report file.
    Render {
        /// The diagnosis JSON.
        diagnosis: PathBuf,
        /// The report to write (format from the extension: .html, .json, .md); repeatable.
        #[arg(long, value_name = "FILE", required = true)]
        report: Vec<PathBuf>,
        /// Replace host names, domains, addresses, certificate names and e-mail addresses with stable
        /// placeholders, so the report can be shared.
        #[arg(long)]
        redact: bool,
    },
    /// Compare two saved diagnoses: what got fixed, what broke, what changed. Exit 2 when something broke.
    Compare {
        /// The older diagnosis.
        old: PathBuf,
        /// The newer diagnosis.
        new: PathBuf,
        /// Output format.
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
}
