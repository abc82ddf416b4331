//! The `mailpath` application: the command line and the GUI over mailpath-core.
//!
//! The binary (`src/main.rs`) is a thin wrapper; the library exists so that the GUI tests
//! (`tests/gui/`) can drive the same app with egui_kittest. The desktop app is the `gui` feature (on by
//! default); without it the binary is the command line alone.
#![forbid(unsafe_code)]

pub mod cli;
pub mod cmd;
pub mod display;
#[cfg(feature = "gui")]
pub mod gui;
pub mod output;

use std::process::ExitCode;

/// Exit codes shared by diagnose, probe, cert and headers (PRODUCT.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Everything passed.
    Passed = 0,
    /// Warnings, no failures.
    Warnings = 1,
    /// At least one failure.
    Failures = 2,
    /// Could not run: bad arguments, bad profile, unreadable file.
    CouldNotRun = 3,
}

impl From<mailpath_core::verdict::Verdict> for Outcome {
    fn from(verdict: mailpath_core::verdict::Verdict) -> Outcome {
        use mailpath_core::verdict::Verdict;
        match verdict {
            Verdict::Pass => Outcome::Passed,
            Verdict::Warn => Outcome::Warnings,
            Verdict::Fail => Outcome::Failures,
            Verdict::Incomplete => Outcome::CouldNotRun,
        }
    }
}

impl From<Outcome> for ExitCode {
    fn from(outcome: Outcome) -> Self {
        ExitCode::from(outcome as u8)
    }
}
