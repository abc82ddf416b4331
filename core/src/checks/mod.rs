//! Checks: pure functions of profile + evidence (+ an injected clock and trust) with stable ids.

pub mod smtp;
