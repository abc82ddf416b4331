//! One module per subcommand.
pub mod headers;
pub mod lab;
pub mod relay;
