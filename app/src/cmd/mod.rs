//! One module per subcommand.
pub mod cert;
pub mod diagnose;
pub mod explain;
pub mod headers;
pub mod import;
pub mod lab;
pub mod probe;
pub mod relay;
pub mod report;
pub mod stop;
