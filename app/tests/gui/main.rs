//! The GUI tests, one binary (one link, one wgpu device set-up per process): kittest flows, models,
//! lavapipe snapshots, the real window under Xvfb.

mod common;
mod gui_exchange;
mod gui_explain;
mod gui_flows;
mod gui_glyphs;
mod gui_headers;
mod gui_models;
mod gui_perf;
mod gui_relay;
mod gui_smoke;
mod gui_snapshots;
mod gui_tls_scan;
