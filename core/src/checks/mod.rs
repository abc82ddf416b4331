//! Checks: pure functions of profile + evidence (+ an injected clock and trust) with stable ids.
//!
//! Every check id, of these families and of the others (`headers.*`, `relay.*`), is listed in
//! [`crate::catalog`].

pub mod cert;
pub mod ciphers;
pub mod config;
pub mod dane;
pub mod dns;
pub mod receive;
pub mod renewal;
pub mod routing;
pub mod smtp;
pub mod vantage;
