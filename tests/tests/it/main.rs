//! The cross-crate integration tests, one binary (one link) for all of them: each module drives the
//! mailpath binary or the core against the embedded lab and independent tools.

mod bounded_files;
mod cert_chain_cases;
mod cert_renewal;
mod cli_trust;
mod diagnose_lab;
mod exchange_import;
mod explain_cli;
mod fuzz_parsers;
mod fuzz_tls_scan;
mod headers_cli;
mod lab_cli;
mod lab_tools;
mod probe_peers;
mod relay_bench;
mod relay_capture;
mod relay_crash;
mod relay_data;
mod relay_envelope;
mod relay_forward;
mod relay_open_relay;
mod relay_python;
mod relay_support;
mod relay_swaks;
mod report_common;
mod report_compare;
mod report_formats;
mod report_redact;
mod report_screenshot;
mod serve_stdio;
mod terminal_text;
mod tls_scan_peers;
