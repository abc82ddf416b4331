//! The command line, as PRODUCT.md defines it. Scripts and monitoring depend on it: keep it stable.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Diagnose mail flow in Exchange hybrid deployments (on-premises Exchange + Exchange Online).
///
/// Without a subcommand, opens the desktop app (with --profile or --lab: on that target).
#[derive(Debug, Parser)]
#[command(
    name = "mailpath",
    version,
    about,
    propagate_version = true,
    args_conflicts_with_subcommands = true,
    after_help = EXAMPLES_GUI
)]
pub struct Cli {
    /// More detail: -v lists every check (diagnose, probe, cert), skipped ones with their reason; -vv adds
    /// info logging on stderr, -vvv debug, -vvvv trace. RUST_LOG works too.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,

    #[command(subcommand)]
    pub command: Option<Command>,

    #[command(flatten)]
    pub target: Target,
}

/// The embedded lab's scenarios (those that break the deployment, then those that break only its
/// configuration), for `--lab` and `mailpath lab`: a mistyped name gets "did you mean".
fn scenario_parser() -> clap::builder::PossibleValuesParser {
    let probed = mailpath_core::lab::SCENARIOS.iter().map(|s| s.name);
    let configured = mailpath_core::lab::export::EXPORT_SCENARIOS
        .iter()
        .map(|s| s.name)
        .filter(|n| !mailpath_core::lab::SCENARIOS.iter().any(|s| s.name == *n));
    clap::builder::PossibleValuesParser::new(probed.chain(configured).map(clap::builder::PossibleValue::new))
}

/// What to work on: a profile of a real deployment, or a scenario of the embedded lab (optional).
#[derive(Debug, Clone, Args, Default)]
pub struct Target {
    /// A hybrid profile (TOML) describing the deployment.
    #[arg(long, value_name = "FILE", conflicts_with = "lab")]
    pub profile: Option<PathBuf>,
    /// Use the embedded lab (default scenario: healthy-edge; `mailpath lab --list` lists them).
    #[arg(long, value_name = "SCENARIO", num_args = 0..=1, default_missing_value = "healthy-edge",
          value_parser = scenario_parser(), hide_possible_values = true)]
    pub lab: Option<String>,
}

/// What to diagnose: exactly one of a profile or a lab scenario (shown as required in the usage line).
#[derive(Debug, Clone, Args, Default)]
#[group(required = true, multiple = false)]
pub struct RequiredTarget {
    /// A hybrid profile (TOML) describing the deployment.
    #[arg(long, value_name = "FILE")]
    pub profile: Option<PathBuf>,
    /// Use the embedded lab (default scenario: healthy-edge; `mailpath lab --list` lists them).
    #[arg(long, value_name = "SCENARIO", num_args = 0..=1, default_missing_value = "healthy-edge",
          value_parser = scenario_parser(), hide_possible_values = true)]
    pub lab: Option<String>,
}

impl From<&RequiredTarget> for Target {
    fn from(t: &RequiredTarget) -> Target {
        Target {
            profile: t.profile.clone(),
            lab: t.lab.clone(),
        }
    }
}

/// `--lab` alone (probe: the lab's DNS, CA and ports stand in for the real ones).
#[derive(Debug, Clone, Args, Default)]
pub struct LabOnly {
    /// Probe inside the embedded lab: its DNS server, its CA and its ports (default scenario: healthy-edge).
    #[arg(long, value_name = "SCENARIO", num_args = 0..=1, default_missing_value = "healthy-edge",
          value_parser = scenario_parser(), hide_possible_values = true)]
    pub lab: Option<String>,
}

const EXAMPLES_GUI: &str = "Examples:
  mailpath                                  # the desktop app; pick a profile or a lab scenario
  mailpath --profile contoso.toml           # open this profile and run it
  mailpath gui --lab expired-cert --screenshot shot.png";
const EXAMPLES_DIAGNOSE: &str = "Examples:
  mailpath diagnose --lab expired-cert
  mailpath diagnose --profile contoso.toml --report mailpath.html --report mailpath.json
  mailpath diagnose --profile contoso.toml --format nagios        # one plugin line, exit 0/1/2/3";
const EXAMPLES_PROBE: &str = "Examples:
  mailpath probe mail.contoso.com --tls-name mail.contoso.com
  mailpath probe contoso-com.mail.protection.outlook.com --format json
  mailpath probe mail.contoso.com --lab tarpit";
const EXAMPLES_CERT: &str = "Examples:
  mailpath cert mail.pem --name mail.contoso.com
  mailpath cert new.pfx --password-env PFXPASS --profile contoso.toml     # preview a renewal
  mailpath cert mail.pem --at 2027-01-01";
const EXAMPLES_LAB: &str = "Examples:
  mailpath lab --list
  mailpath lab expired-cert --write-profile lab.toml
  mailpath lab tarpit --format json";
const EXAMPLES_RELAY: &str = "Examples:
  mailpath relay --spool ./spool
  mailpath relay --role eop --expect-cert-name mail.contoso.com --accept-domain contoso.com
  mailpath relay send --to megan@contoso.com --via mail.contoso.com --tls --await-spool ./spool";
const EXAMPLES_SEND: &str = "Examples:
  mailpath relay send --to megan@contoso.com --via 127.0.0.1:2525 --await-spool ./spool
  mailpath relay send --to megan@contoso.com --via mail.contoso.com --tls --ca ca.pem
  mailpath relay send --to x@contoso.com --via 127.0.0.1:2525 --cert mail.pem --key mail.key";
const EXAMPLES_HEADERS: &str = "Examples:
  mailpath headers message.eml --org-domain contoso.com
  Get-Clipboard | mailpath headers -          (PowerShell: the headers Outlook copied)
  mailpath headers message.eml --format json";
const EXAMPLES_EXPLAIN: &str = "Examples:
  mailpath explain \"450 4.7.320 Certificate validation failed\" --profile contoso.toml
  mailpath explain ndr.eml --lab name-mismatch --run
  Get-Clipboard | mailpath explain -          (PowerShell: an NDR or a queue's LastError)";
const EXAMPLES_REPORT: &str = "Examples:
  mailpath report render mailpath.json --report mailpath.html
  mailpath report render mailpath.json --report for-support.html --redact
  mailpath report compare before.json after.json";
const EXAMPLES_IMPORT: &str = "Examples:
  mailpath import export.json --write-profile contoso.toml
  mailpath import onprem.json exo.json --write-profile contoso.toml
  mailpath import export.json --format json";

/// Output formats of `diagnose`: besides text and JSON, the monitoring formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum DiagnoseFormat {
    /// Human-readable text (colour and progress on a terminal).
    #[default]
    Text,
    /// One versioned JSON document on stdout (with `verdict` and `exit_code`), nothing else.
    Json,
    /// One Nagios/Icinga plugin line with performance data; the exit code is the plugin state.
    Nagios,
    /// A Prometheus text exposition for node_exporter's textfile collector.
    Prometheus,
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
    #[command(after_help = EXAMPLES_GUI)]
    Gui(GuiArgs),
    /// Probe every hop of the active mail path, both directions, and judge it.
    #[command(after_help = EXAMPLES_DIAGNOSE)]
    Diagnose(DiagnoseArgs),
    /// Probe one SMTP endpoint: transcript, STARTTLS, certificate verdicts.
    #[command(after_help = EXAMPLES_PROBE)]
    Probe(ProbeArgs),
    /// Check a certificate file offline, as the probes would judge it; with --profile/--lab, preview a renewal.
    #[command(after_help = EXAMPLES_CERT)]
    Cert(CertArgs),
    /// Run the embedded hybrid lab on loopback.
    ///
    /// Serves until SIGINT (Ctrl+C) or SIGTERM. When standard input is a pipe, its end stops the lab too
    /// (close it to stop; --ignore-stdin keeps serving). A terminal, /dev/null or a closed standard input
    /// are never read, so `mailpath lab &`, nohup and systemd keep it running.
    #[command(after_help = EXAMPLES_LAB)]
    Lab(LabArgs),
    /// Run the bundled test relay: capture and inspect what Exchange sends.
    ///
    /// Serves until SIGINT (Ctrl+C) or SIGTERM. When standard input is a pipe, its end stops the relay too
    /// (close it to stop; --ignore-stdin keeps serving). A terminal, /dev/null or a closed standard input
    /// are never read, so `mailpath relay &`, nohup and systemd keep it running.
    ///
    /// Events are printed as they come; when standard output does not keep up (a full pipe nobody
    /// reads), events are dropped and counted rather than waited for, and the relay keeps serving.
    #[command(after_help = EXAMPLES_RELAY)]
    Relay(Box<RelayArgs>),
    /// Analyse message headers into the path the message really took.
    #[command(after_help = EXAMPLES_HEADERS)]
    Headers(HeadersArgs),
    /// Explain an NDR, a queue LastError, a message trace detail or a protocol log line: the code, the hop
    /// of the mail path, the likely causes (ranked by evidence with --profile/--lab/--diagnosis) and the fix.
    #[command(after_help = EXAMPLES_EXPLAIN)]
    Explain(ExplainArgs),
    /// Render or compare saved diagnoses.
    #[command(subcommand, after_help = EXAMPLES_REPORT)]
    Report(ReportCommand),
    /// Build a profile from an Exchange configuration export (assets/Export-MailpathConfig.ps1), every
    /// value marked with where it came from.
    #[command(after_help = EXAMPLES_IMPORT)]
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
    /// What to open.
    #[command(flatten)]
    pub target: Target,
    /// Run the diagnosis of --lab/--profile, wait for it, save a PNG of the window to FILE and exit.
    #[arg(long, value_name = "FILE.png")]
    pub screenshot: Option<PathBuf>,
}

/// `mailpath diagnose`.
#[derive(Debug, Args)]
pub struct DiagnoseArgs {
    /// What to diagnose.
    #[command(flatten)]
    pub target: RequiredTarget,
    /// Ask this DNS server (IP:PORT) instead of the profile's resolvers, internal and external alike
    /// (repeatable: asked in order). A server that does not answer fails `dns.resolver`; when no server
    /// answers, the exit code is 3.
    #[arg(long, value_name = "ADDR")]
    pub dns: Vec<SocketAddr>,
    /// Output format (nagios, prometheus: for monitoring).
    #[arg(long, value_enum, default_value_t)]
    pub format: DiagnoseFormat,
    /// With --format json: drop the evidence blobs (certificates as SHA-256 fingerprints, no transcripts).
    #[arg(long)]
    pub compact: bool,
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
    /// The endpoint, HOST or HOST:PORT (port 25 by default; with --lab, the lab's port for that host).
    pub endpoint: String,
    #[command(flatten)]
    pub target: LabOnly,
    /// A name the certificate must carry (repeatable; default: the host).
    #[arg(long = "tls-name", value_name = "NAME")]
    pub tls_names: Vec<String>,
    /// Trust this CA file (PEM) in addition to the system store (with --lab: in addition to the lab CA).
    #[arg(long, value_name = "FILE")]
    pub ca: Option<PathBuf>,
    /// Resolve the host with this DNS server (IP:PORT) instead of the system's (or the lab's).
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
    /// Judge it against the names and trust of this deployment, and preview the renewal (tls.renewal.*).
    #[command(flatten)]
    pub target: Target,
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
    /// Judge validity at this time instead of now: RFC 3339 (2026-12-01T08:00:00Z), or a date
    /// (2026-12-01, midnight UTC).
    #[arg(long, value_name = "TIME")]
    pub at: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

/// `mailpath lab`.
#[derive(Debug, Args)]
pub struct LabArgs {
    /// The scenario to run (default: healthy-edge; --list lists them).
    #[arg(value_parser = scenario_parser(), hide_possible_values = true)]
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
    /// When standard input is a pipe, keep serving at its end (stop only on SIGINT/SIGTERM).
    #[arg(long)]
    pub ignore_stdin: bool,
}

/// `mailpath relay`: serve (the default), or `mailpath relay send`.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true, after_help = RELAY_HELP)]
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
    /// Verify client certificate chains against this CA file (PEM) instead of the system trust store
    /// (the default). The eop role attributes a session (relays for it) only when the chain verifies, and
    /// refuses to forward without a trust anchor.
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
    /// When standard input is a pipe, keep serving at its end (stop only on SIGINT/SIGTERM).
    #[arg(long)]
    pub ignore_stdin: bool,
}

/// What `mailpath relay --help` adds after the options: how message content is handled.
const RELAY_HELP: &str = "\
Message content: only <CRLF>.<CRLF> ends DATA (a lone CR or LF around the dot never does); a message whose
content holds a bare CR or LF (one not part of a CRLF pair, RFC 5321 2.3.8), by DATA or BDAT, is refused with
550 5.6.11, as Postfix (smtpd_forbid_bare_newline = yes) and Sendmail 8.18 refuse it and Exchange Online does with
5.6.11: it is neither stored nor forwarded, nor rewritten (that would break DKIM signatures). So the relay is
never a hop for SMTP smuggling.

Memory and files: past 128 KiB a message streams to SPOOL/tmp/ as it arrives (16 MiB of content in memory for
all sessions together). Spool directories are 0700 and files 0600, never written through a symbolic link. The
open file limit is raised to its hard limit at start and --max-sessions is capped to what it leaves room for
(3 descriptors per session), so that every refused connection still gets 421 4.3.2.";

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
    #[command(after_help = EXAMPLES_SEND)]
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
    /// The subject (default: "mailpath test" and the tracking id).
    #[arg(long)]
    pub subject: Option<String>,
    /// An extra header line, "Name: value" (repeatable).
    #[arg(long = "header", value_name = "LINE")]
    pub headers: Vec<String>,
    /// Wait for the message in this relay spool (a `mailpath relay` sink at the end of the path; it must
    /// exist and be a spool, with its messages/ directory).
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
    /// The deployment whose configuration (or, with --run, whose diagnosis) ranks the causes.
    #[command(flatten)]
    pub target: Target,
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
    #[command(after_help = "Examples:
  mailpath report render mailpath.json --report mailpath.html
  mailpath report render mailpath.json --report for-support.html --redact")]
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
    #[command(after_help = "Examples:
  mailpath report compare before.json after.json
  mailpath report compare before.json after.json --format json")]
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
