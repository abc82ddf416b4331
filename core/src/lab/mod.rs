//! The embedded hybrid lab.
pub mod ca;
pub mod dns_server;
