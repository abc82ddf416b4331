//! SMTP: the server behind the lab's endpoints (and, later, the bundled relay), and the sans-IO
//! pieces both sides share.
//!
//! Request parsing on the server side is [`smtp_proto`]'s bounded, sans-IO parser, one command line
//! at a time (lines are capped at 4096 bytes), except for MAIL and RCPT, whose paths [`address`]
//! parses (RFC 5321, quoted local parts kept, sender-specified routing recognised); message content
//! goes through [`data`] (strict end of data, dot-unstuffing, bare line ends); the session loop only
//! moves bytes.

pub mod address;
pub mod client;
pub mod data;
pub mod io;
pub mod personality;
pub mod reply;
pub mod server;
pub mod transcript;

pub use personality::Personality;
pub use server::{Faults, Limits, ServerConfig, SmtpServer};
