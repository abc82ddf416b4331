//! Probes: the I/O that gathers evidence. Each returns evidence, never an error.

pub mod dns;
pub mod smtp;
pub mod tls_port;

pub use smtp::{ProbeEvent, ProbeObserver, SmtpProbeRequest, Timeouts, probe_smtp, probe_smtp_observed};
pub use tls_port::{probe_tls_port, probe_tls_port_observed};
