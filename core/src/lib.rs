//! mailpath-core: everything in mailpath that is not drawing.
//!
//! - [`profile`]: the hybrid profile (TOML), loaded and validated with precise errors.
//! - [`cloud`]: Microsoft's clouds (commercial, GCC High, DoD, 21Vianet) and the names each gives EOP and the tenant.
//! - [`exchange`]: an Exchange configuration export (assets/Export-MailpathConfig.ps1), read tolerantly.
//! - [`ip_ranges`]: IP ranges as Exchange writes them, and EOP's published ranges (data with date and source).
//! - [`topology`]: what the profile means on the mail path (servers, public names, hops), below probes and checks.
//! - [`dns`]: DNS evidence types and the resolver used by probes.
//! - [`smtp`]: sans-IO SMTP parsing and the SMTP server (lab endpoints, later the bundled relay).
//! - [`ca`]: the CA that issues the lab endpoints' certificates and the relay's own.
//! - [`lab`]: the embedded hybrid lab: DNS server, SMTP endpoints, faults.
//! - [`report`]: HTML, JSON and Markdown reports of a diagnosis, redaction, and comparing two diagnoses.
//! - [`relay`]: the bundled test relay (durable spool, roles, capture, forwarding).
//! - [`headers`]: message header analysis (hops, hybrid headers, internal/anonymous verdict).
//! - [`verdict`]: a diagnosis's verdict and exit code, the JSON document and its compact form.
//! - [`tls_scan`]: the TLS handshake scanner (versions, suites, groups, the chain of servers rustls cannot talk to).
//! - [`bounded`]: reading files with a size cap (every file mailpath reads).
#![forbid(unsafe_code)]

pub mod bounded;
pub mod ca;
pub mod catalog;
pub mod cert;
pub mod chain_rules;
pub mod check;
pub mod checks;
pub mod cloud;
pub mod diagnose;
pub mod dns;
pub mod encoding;
pub mod evidence;
pub mod exchange;
pub mod explain;
pub mod headers;
pub mod ip_ranges;
pub mod lab;
pub mod path;
pub mod probe;
pub mod profile;
pub mod relay;
pub mod report;
pub mod smtp;
pub mod spf;
pub mod tls;
pub mod tls_scan;
pub mod tls_suites;
pub mod topology;
pub mod verdict;

/// The version of mailpath-core (and of the mailpath binary built with it).
pub fn version() -> &'static str {
    env!("CARGO_PKG_VERSION")
}
