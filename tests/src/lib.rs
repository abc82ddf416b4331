//! Helpers for the cross-crate integration tests.
#![forbid(unsafe_code)]
