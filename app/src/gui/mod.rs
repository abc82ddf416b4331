//! The GUI: an eframe app over mailpath-core. All work runs on the tokio runtime (see [`worker`]); the
//! UI thread only draws and drains events. [`state`] holds the plain state and the commands the views
//! send; one view per file (`*_view`), the window's [`chrome`] and the shared [`widgets`] draw it; [`app`]
//! applies the commands and the worker's events.

pub mod app;
pub mod checks_view;
pub mod chrome;
pub mod evidence_view;
pub mod explain_view;
pub mod headers_view;
pub mod path_view;
pub mod profile_view;
pub mod relay_view;
pub mod settings_read;
pub mod state;
pub mod theme;
pub mod widgets;
pub mod worker;

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context as _;
use eframe::egui;
use tokio::runtime::Handle;

use crate::Outcome;
use crate::cli::Target;
pub use app::{GuiOptions, MailpathApp};

/// The window size used for screenshots and the first start.
pub const DEFAULT_SIZE: [f32; 2] = [1280.0, 800.0];

/// Open the GUI and block until its window closes. `handle` is the runtime all work runs on.
///
/// # Errors
/// When no window can be opened (no display, no GPU adapter), or `--screenshot` could not be saved.
pub fn run(
    handle: &Handle,
    target: &Target,
    screenshot: Option<PathBuf>,
    started: Instant,
) -> anyhow::Result<Outcome> {
    let shot_mode = screenshot.is_some();
    let options = GuiOptions {
        profile: target.profile.clone(),
        lab: target.lab.clone(),
        screenshot,
        started: Some(started),
        ignore_persisted: shot_mode,
    };
    let mut viewport = egui::ViewportBuilder::default()
        .with_title("mailpath")
        .with_app_id("mailpath")
        .with_inner_size(DEFAULT_SIZE)
        .with_min_inner_size([800.0, 500.0]);
    if shot_mode {
        viewport = viewport.with_resizable(false);
    }
    let native = eframe::NativeOptions {
        viewport,
        persist_window: !shot_mode,
        renderer: eframe::Renderer::Wgpu,
        ..eframe::NativeOptions::default()
    };
    let outcome = std::sync::Arc::new(std::sync::Mutex::new(None));
    let slot = std::sync::Arc::clone(&outcome);
    let handle = handle.clone();
    eframe::run_native(
        "mailpath",
        native,
        Box::new(move |cc| {
            let settings = if options.ignore_persisted {
                state::Persisted::default()
            } else {
                cc.storage
                    .and_then(|s| eframe::get_value(s, state::STORAGE_KEY))
                    .unwrap_or_default()
            };
            let app = MailpathApp::with_context(&cc.egui_ctx, handle, options, settings, slot);
            cc.egui_ctx.set_theme(app.state.settings.theme.preference());
            Ok(Box::new(app))
        }),
    )
    .map_err(|e| anyhow::anyhow!("{e}"))
    .context("could not open the GUI window")?;
    if !shot_mode {
        return Ok(Outcome::Passed);
    }
    let result = outcome.lock().ok().and_then(|mut s| s.take());
    match result {
        Some(Ok(path)) => {
            eprintln!("mailpath: screenshot saved to {}", path.display());
            Ok(Outcome::Passed)
        }
        Some(Err(e)) => anyhow::bail!("{e}"),
        None => anyhow::bail!("the window closed before the screenshot was taken"),
    }
}
