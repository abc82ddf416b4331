//! SMTP: the server behind the lab's endpoints (and, later, the bundled relay), and the sans-IO
//! pieces both sides share.
//!
//! Request parsing on the server side is [`smtp_proto`]'s bounded, sans-IO receiver (lines are
//! capped at 4096 bytes), except for MAIL and RCPT, whose paths [`address`] parses (RFC 5321, quoted
//! local parts kept, sender-specified routing recognised); the session loop only moves bytes.

pub mod address;
pub mod io;
pub mod personality;
pub mod reply;
pub mod server;

pub use personality::Personality;
pub use server::{Faults, Limits, ServerConfig, SmtpServer};
