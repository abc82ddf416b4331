//! Probes: the I/O that gathers evidence. Each returns evidence, never an error.

pub mod smtp;
pub mod dns;
pub mod tls_port;

pub use smtp::{SmtpProbeRequest, Timeouts, probe_smtp};
pub use tls_port::probe_tls_port;
