//! Checks: pure functions of profile + evidence (+ an injected clock and trust) with stable ids.
//!
//! Every check id, of these families and of the others (`headers.*`, `relay.*`), is listed in
//! [`crate::catalog`].

pub mod audit;
pub mod cert;
pub mod chain;
pub mod ciphers;
pub mod config;
pub mod dane;
pub mod dns;
pub mod eku;
pub mod receive;
pub mod renewal;
pub mod resolver;
pub mod routing;
pub mod smtp;
pub mod vantage;
