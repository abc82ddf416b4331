//! Shared by the GUI tests: one harness builder (fixed size and theme, mocked clock), waiting for the
//! worker on a real tokio runtime, and the diagnosis fixtures the snapshots render.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use egui_kittest::Harness;
use mailpath_app::gui::app::GuiOptions;
use mailpath_app::gui::state::{Command, Persisted};
use mailpath_app::gui::theme::ThemeChoice;
use mailpath_app::gui::worker::Source;
use mailpath_app::gui::{DEFAULT_SIZE, MailpathApp};
use mailpath_core::diagnose::{DiagnoseOptions, Diagnosis, diagnose, trust_for};
use mailpath_core::lab::{EndpointRole, Lab, LabOptions};
use mailpath_core::profile::Profile;
use time::OffsetDateTime;
use time::macros::datetime;

/// "Now" of the fixtures and of the snapshots' clock.
pub const FIXED_NOW: OffsetDateTime = datetime!(2026-01-15 09:00:00 UTC);

/// A multi-thread runtime like `main`'s, named threads.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .thread_name("test-tokio")
        .build()
        .expect("tokio runtime")
}

/// The app in a harness of the default window size, dark theme, nothing persisted.
pub fn harness(handle: tokio::runtime::Handle, options: GuiOptions) -> Harness<'static, MailpathApp> {
    let options = GuiOptions {
        ignore_persisted: true,
        ..options
    };
    let mut harness = Harness::builder()
        .with_size(egui::Vec2::new(DEFAULT_SIZE[0], DEFAULT_SIZE[1]))
        .with_max_steps(64)
        .build_eframe(move |cc| {
            MailpathApp::with_context(
                &cc.egui_ctx,
                handle,
                options,
                Persisted::default(),
                Default::default(),
            )
        });
    harness.state_mut().send(Command::SetTheme(ThemeChoice::Dark));
    harness.step();
    harness
}

/// Step the harness (with real time passing for the worker) until `done` holds.
///
/// # Panics
/// After `timeout`.
pub fn wait_until(
    harness: &mut Harness<'_, MailpathApp>,
    timeout: Duration,
    what: &str,
    done: impl Fn(&MailpathApp) -> bool,
) {
    let deadline = Instant::now() + timeout;
    loop {
        harness.step();
        if done(harness.state()) {
            harness.step();
            return;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}; notices: {:?}",
            harness.state().state.notices
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Idle and showing a diagnosis.
pub fn finished(app: &MailpathApp) -> bool {
    !app.state.busy() && app.state.diagnosis.is_some()
}

/// A saved diagnosis of a lab scenario, made deterministic (see [`make_fixture`]).
/// `MAILPATH_UPDATE_FIXTURES=1` regenerates it from the lab.
pub fn fixture(scenario: &str) -> Diagnosis {
    // Made once per process when updating: every snapshot of a scenario must show the same lab run
    // (the lab CA, and so every fingerprint, is new each run).
    static MADE: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());
    let path = fixture_path(scenario);
    let mut made = MADE.lock().unwrap();
    let fresh = made.iter().any(|s| s == scenario);
    if (fresh || std::env::var_os("MAILPATH_UPDATE_FIXTURES").is_none())
        && let Ok(text) = std::fs::read(&path)
    {
        // Read as the app opens a saved diagnosis (the path's statuses judged again from the checks).
        return mailpath_core::report::parse(&text, &path).expect("fixture parses");
    }
    let d = runtime().block_on(make_fixture(scenario));
    std::fs::write(&path, serde_json::to_string_pretty(&d).unwrap()).expect("write fixture");
    made.push(scenario.to_string());
    d
}

fn fixture_path(scenario: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(format!("{scenario}.json"))
}

/// Run the lab scenario at [`FIXED_NOW`] and diagnose it, then replace what differs from run to run
/// and means nothing to a reader: the lab's ephemeral ports become the ports they stand for (25 for
/// SMTP, 50636 for EdgeSync, 53 for DNS), and the start time becomes [`FIXED_NOW`].
pub async fn make_fixture(scenario: &str) -> Diagnosis {
    let lab = Lab::start_named(
        scenario,
        LabOptions {
            now: FIXED_NOW,
            ..LabOptions::default()
        },
    )
    .await
    .expect("lab starts");
    let profile = Profile::load(&lab.info().profile_file).expect("lab profile");
    let mut options = DiagnoseOptions::new(trust_for(&profile).expect("trust"));
    options.now = FIXED_NOW;
    let d = diagnose(&profile, options).await;
    let mut ports: Vec<(u16, u16)> = lab
        .info()
        .endpoints
        .iter()
        .map(|e| {
            (
                e.address.port(),
                if e.role == EndpointRole::EdgeSync {
                    50636
                } else {
                    25
                },
            )
        })
        .collect();
    ports.push((lab.info().dns.port(), 53));
    lab.shutdown().await;
    let mut value = serde_json::to_value(&d).unwrap();
    rewrite(&mut value, &ports);
    let mut d: Diagnosis = serde_json::from_value(value).expect("normalised diagnosis");
    d.started_at = FIXED_NOW;
    d
}

fn rewrite(v: &mut serde_json::Value, ports: &[(u16, u16)]) {
    match v {
        serde_json::Value::String(s) => *s = replace_ports(s, ports),
        serde_json::Value::Number(n) => {
            if let Some(x) = n.as_u64()
                && let Some((_, to)) = ports.iter().find(|(from, _)| u64::from(*from) == x)
            {
                *n = (*to).into();
            }
        }
        serde_json::Value::Array(a) => a.iter_mut().for_each(|x| rewrite(x, ports)),
        serde_json::Value::Object(o) => {
            for (k, x) in o.iter_mut() {
                // Only ports are numbers worth rewriting; durations and counts stay.
                if x.is_number() && !matches!(k.as_str(), "port" | "smtp" | "edgesync") {
                    continue;
                }
                rewrite(x, ports);
            }
        }
        _ => {}
    }
}

/// Replace whole digit runs equal to a lab port.
fn replace_ports(s: &str, ports: &[(u16, u16)]) -> String {
    let mut out = String::with_capacity(s.len());
    let mut digits = String::new();
    let flush = |digits: &mut String, out: &mut String| {
        if !digits.is_empty() {
            let mapped = digits
                .parse::<u16>()
                .ok()
                .and_then(|p| ports.iter().find(|(f, _)| *f == p))
                .map(|(_, t)| t.to_string());
            out.push_str(mapped.as_deref().unwrap_or(digits));
            digits.clear();
        }
    };
    for c in s.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
        } else {
            flush(&mut digits, &mut out);
            out.push(c);
        }
    }
    flush(&mut digits, &mut out);
    out
}

/// Show a fixture diagnosis in the harness as if it had just run, with the clock at [`FIXED_NOW`].
pub fn show_fixture(harness: &mut Harness<'_, MailpathApp>, scenario: &str) {
    let d = fixture(scenario);
    let state = &mut harness.state_mut().state;
    state.clock.mock_now = Some(FIXED_NOW);
    state.scenario = scenario.to_string();
    state.source = Some(Source::Lab(scenario.to_string()));
    state.profile = Some(d.profile.clone());
    state.editor.text = d.profile.to_toml_string().unwrap_or_default();
    state.diagnosis = Some(Arc::new(d));
    harness.run_steps(4);
}
