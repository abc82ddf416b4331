//! One module per subcommand.
pub mod cert;
pub mod diagnose;
pub mod lab;
pub mod probe;
pub mod report;
