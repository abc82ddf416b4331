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

/// How much the TLS handshake scanner does per SMTP endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum TlsScanArg {
    /// Only the probe's own handshake.
    Off,
    /// One extra connection: one ClientHello with Exchange Online's suites first (and the
    /// certificate chain when mailpath's TLS library cannot complete the handshake).
    #[default]
    Quick,
    /// Every version, suite, the server's order and named groups: sequential connections, capped
    /// at 40 connections and 60 seconds per endpoint.
    Full,
}

impl TlsScanArg {
    /// The core's scan mode.
    pub fn mode(self) -> mailpath_core::tls_scan::ScanMode {
        match self {
            TlsScanArg::Off => mailpath_core::tls_scan::ScanMode::Off,
            TlsScanArg::Quick => mailpath_core::tls_scan::ScanMode::Quick,
            TlsScanArg::Full => mailpath_core::tls_scan::ScanMode::Full,
        }
    }
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
    /// Check a certificate file offline, as the probes would judge it; with --profile/--lab, preview a renewal.
    Cert(CertArgs),
    /// Run the embedded hybrid lab on loopback.
    Lab(LabArgs),
    /// Run the bundled test relay: capture and inspect what Exchange sends.
    Relay(Box<RelayArgs>),
    /// Analyse message headers into the path the message really took.
    Headers(HeadersArgs),
    /// Explain an NDR, a queue LastError, a message trace detail or a protocol log line: the code, the hop
    /// of the mail path, the likely causes (ranked by evidence with --profile/--lab/--diagnosis) and the fix.
    Explain(ExplainArgs),
    /// Render or compare saved diagnoses.
    #[command(subcommand)]
    Report(ReportCommand),
    /// Build a profile from an Exchange configuration export (assets/Export-MailpathConfig.ps1), every
    /// value marked with where it came from.
    Import(ImportArgs),
}

/// `mailpath import`.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The export (the on-premises half, or both halves merged with -Append).
    pub export: PathBuf,
    /// The Exchange Online half, when it is a separate file (-ExchangeOnline).
    pub exo: Option<PathBuf>,
    /// Write the profile (TOML, each value with a comment saying where it came from) to FILE.
    #[arg(long, value_name = "FILE")]
    pub write_profile: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
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
    /// The TLS handshake scan per endpoint: off, quick (one extra connection) or full.
    #[arg(long, value_enum, value_name = "MODE", default_value_t)]
    pub tls_scan: TlsScanArg,
    /// An Exchange configuration export (assets/Export-MailpathConfig.ps1) to audit with the probes
    /// (repeatable: the on-premises and the Exchange Online halves). Without --profile/--lab, the
    /// profile is built from it.
    #[arg(long, value_name = "FILE")]
    pub export: Vec<PathBuf>,
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
    /// The TLS handshake scan: off, quick (one extra connection) or full.
    #[arg(long, value_enum, value_name = "MODE", default_value_t)]
    pub tls_scan: TlsScanArg,
}

/// `mailpath cert`.
#[derive(Debug, Args)]
pub struct CertArgs {
    /// A certificate chain file: PEM, DER, or PKCS#12 (.pfx/.p12, as Export-ExchangeCertificate writes).
    pub file: PathBuf,
    /// A name the certificate must carry (repeatable).
    #[arg(long, value_name = "NAME")]
    pub name: Vec<String>,
    /// Trust only this CA file (PEM) instead of the system store (or, with --profile/--lab, the profile's trust).
    #[arg(long, value_name = "FILE")]
    pub ca: Option<PathBuf>,
    /// The PKCS#12 password is in this environment variable (never on the command line).
    #[arg(long, value_name = "VAR", conflicts_with = "password_file")]
    pub password_env: Option<String>,
    /// The PKCS#12 password is the first line of this file.
    #[arg(long, value_name = "FILE")]
    pub password_file: Option<PathBuf>,
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
    /// Also write the Exchange configuration export the lab's deployment would produce to FILE (as
    /// assets/Export-MailpathConfig.ps1 writes it; for `diagnose --export` and `import`).
    #[arg(long, value_name = "FILE")]
    pub write_export: Option<PathBuf>,
    /// Keep serving when standard input closes (stop only on SIGINT/SIGTERM).
    #[arg(long)]
    pub ignore_stdin: bool,
}

/// `mailpath relay`: serve (the default), or `mailpath relay send`.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct RelayArgs {
    /// Send a test message instead of serving.
    #[command(subcommand)]
    pub action: Option<RelayAction>,
    /// Where to listen.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:2525")]
    pub listen: SocketAddr,
    /// Which server to behave like.
    #[arg(long, value_enum, default_value_t)]
    pub role: RelayRole,
    /// Forward accepted mail to this smart host, or `mx` to deliver to each recipient domain's MX
    /// hosts (needs --accept-domain: never an open relay).
    #[arg(long, value_name = "HOST[:PORT]|mx")]
    pub forward: Option<String>,
    /// With --forward mx: resolve MX and address records with this DNS server (repeatable; default:
    /// the system's servers).
    #[arg(long, value_name = "ADDR")]
    pub dns: Vec<SocketAddr>,
    /// With --forward mx: the SMTP port of the MX hosts (PORT, default 25), or of one MX host
    /// (HOST=PORT, repeatable). For labs and tests, where every host listens on loopback.
    #[arg(long = "mx-port", value_name = "PORT|HOST=PORT")]
    pub mx_ports: Vec<String>,
    /// Spool directory for captured and queued messages (default: the user's state directory).
    #[arg(long, value_name = "DIR")]
    pub spool: Option<PathBuf>,
    /// The name in the banner and EHLO reply (default depends on the role).
    #[arg(long, value_name = "NAME")]
    pub hostname: Option<String>,
    /// Accept recipients only in this domain (repeatable; default without --forward: every domain).
    #[arg(long = "accept-domain", value_name = "DOMAIN")]
    pub accept_domains: Vec<String>,
    /// The name client certificates must match (repeatable): the EXO inbound connector's
    /// TlsSenderCertificateName for --role eop, mail.protection.outlook.com for edge/mailbox.
    #[arg(long = "expect-cert-name", value_name = "NAME")]
    pub expect_cert_names: Vec<String>,
    /// Verify client certificate chains against this CA file (PEM); default: the system trust store.
    /// The eop role attributes a session (relays for it) only when the chain verifies, and refuses to
    /// forward without a trust anchor.
    #[arg(long, value_name = "FILE")]
    pub client_ca: Option<PathBuf>,
    /// The TLS certificate chain (PEM); default: generated at start by a throw-away CA whose root is
    /// written to relay-ca.pem in the spool.
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// The private key of --tls-cert (PEM).
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Do not offer STARTTLS.
    #[arg(long, conflicts_with_all = ["tls_cert", "tls_key"])]
    pub no_tls: bool,
    /// Do not ask clients for a certificate during the TLS handshake.
    #[arg(long)]
    pub no_client_cert: bool,
    /// Largest message accepted, in bytes (advertised in SIZE, enforced).
    #[arg(long, value_name = "BYTES", default_value_t = 36 * 1024 * 1024)]
    pub max_size: usize,
    /// Most recipients per message.
    #[arg(long, value_name = "N", default_value_t = 200)]
    pub max_recipients: usize,
    /// Most sessions at once.
    #[arg(long, value_name = "N", default_value_t = 1024)]
    pub max_sessions: usize,
    /// Seconds a session may stay silent.
    #[arg(long, value_name = "SECS", default_value_t = 120)]
    pub idle_timeout: u64,
    /// TLS towards the smart host.
    #[arg(long, value_enum, default_value_t)]
    pub forward_tls: ForwardTls,
    /// Trust this CA (PEM) when verifying the smart host (--forward-tls verify).
    #[arg(long, value_name = "FILE")]
    pub forward_ca: Option<PathBuf>,
    /// The name the smart host's certificate must carry (default: its host name; with --forward mx
    /// always the MX host's name).
    #[arg(long, value_name = "NAME")]
    pub forward_name: Option<String>,
    /// A client certificate (PEM) to present to the smart host.
    #[arg(long, value_name = "FILE", requires = "forward_key")]
    pub forward_cert: Option<PathBuf>,
    /// The private key of --forward-cert (PEM).
    #[arg(long, value_name = "FILE", requires = "forward_cert")]
    pub forward_key: Option<PathBuf>,
    /// Seconds before the first retry (doubled after each failed attempt, at most an hour).
    #[arg(long, value_name = "SECS", default_value_t = 60.0)]
    pub retry_base: f64,
    /// Attempts before a recipient is bounced.
    #[arg(long, value_name = "N", default_value_t = 10)]
    pub max_attempts: u32,
    /// Also send bounces to senders outside --accept-domain (by default such a failure is only logged
    /// in delivery.log and the message's metadata, and the message kept in the spool: no backscatter
    /// to forged senders).
    #[arg(long)]
    pub bounce_external: bool,
    /// Output: text lines, or one JSON object per event.
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
    /// Print only the ready line, no per-event output (for benchmarks).
    #[arg(long)]
    pub quiet: bool,
    /// Keep serving when standard input closes (stop only on SIGINT/SIGTERM).
    #[arg(long)]
    pub ignore_stdin: bool,
}

/// TLS policies towards the smart host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum ForwardTls {
    /// STARTTLS when offered, any certificate.
    #[default]
    Opportunistic,
    /// STARTTLS always, any certificate.
    Required,
    /// STARTTLS always, certificate verified against --forward-ca and the name.
    Verify,
}

/// Sub-modes of `mailpath relay`.
#[derive(Debug, Subcommand)]
pub enum RelayAction {
    /// Send a test message with a tracking id through a host, and report when it arrives.
    Send(RelaySendArgs),
}

/// `mailpath relay send`.
#[derive(Debug, Args)]
pub struct RelaySendArgs {
    /// The recipient.
    #[arg(long, value_name = "ADDR")]
    pub to: String,
    /// The host to send through, HOST or HOST:PORT (port 25 by default).
    #[arg(long, value_name = "HOST[:PORT]")]
    pub via: String,
    /// The sender.
    #[arg(long, value_name = "ADDR", default_value = "mailpath@mailpath.test")]
    pub from: String,
    /// Require STARTTLS (with --ca: also verify the certificate).
    #[arg(long)]
    pub tls: bool,
    /// Verify the server certificate against this CA file (PEM); implies --tls.
    #[arg(long, value_name = "FILE")]
    pub ca: Option<PathBuf>,
    /// The name the server certificate must carry, and SNI (default: the host).
    #[arg(long, value_name = "NAME")]
    pub tls_name: Option<String>,
    /// A client certificate to present (PEM), as an Exchange send connector does.
    #[arg(long, value_name = "FILE", requires = "key")]
    pub cert: Option<PathBuf>,
    /// The private key of --cert (PEM).
    #[arg(long, value_name = "FILE", requires = "cert")]
    pub key: Option<PathBuf>,
    /// The EHLO name.
    #[arg(long, value_name = "NAME", default_value = "mailpath.test")]
    pub helo: String,
    /// The subject (default: "mailpath test <tracking id>").
    #[arg(long)]
    pub subject: Option<String>,
    /// An extra header line, "Name: value" (repeatable).
    #[arg(long = "header", value_name = "LINE")]
    pub headers: Vec<String>,
    /// Wait for the message in this relay spool (a `mailpath relay` sink at the end of the path).
    #[arg(long, value_name = "DIR")]
    pub await_spool: Option<PathBuf>,
    /// Run a capturing sink on this address for the duration and wait for the message there.
    #[arg(long, value_name = "ADDR", conflicts_with = "await_spool")]
    pub await_listen: Option<SocketAddr>,
    /// Seconds to wait for the arrival.
    #[arg(long, value_name = "SECS", default_value_t = 60)]
    pub timeout: u64,
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

/// `mailpath headers`.
#[derive(Debug, Args)]
pub struct HeadersArgs {
    /// A file with the message or its headers, or - for standard input.
    pub file: String,
    /// A domain of the on-premises organization (repeatable): its Exchange hosts are on-premises.
    #[arg(long = "org-domain", value_name = "DOMAIN")]
    pub org_domains: Vec<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

/// `mailpath explain`.
#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// The text itself, a FILE holding it (an NDR as .eml/.html/.txt, Get-Queue output, a message trace
    /// detail, protocol log lines), or - for standard input (the default when it is not a terminal).
    pub input: Option<String>,
    /// A saved diagnosis (JSON) whose checks rank the causes.
    #[arg(long, value_name = "FILE", conflicts_with = "run")]
    pub diagnosis: Option<PathBuf>,
    /// Run a diagnosis of --profile/--lab now and rank the causes by its checks (without --run, a
    /// profile ranks them by its configuration checks only).
    #[arg(long)]
    pub run: bool,
    /// With --run: write the diagnosis as a report (.html, .json, .md; repeatable), the explained
    /// string and its verdict at its top.
    #[arg(long, value_name = "FILE", requires = "run")]
    pub report: Vec<PathBuf>,
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
