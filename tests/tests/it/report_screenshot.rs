//! Screenshots of HTML reports rendered by headless Chromium, into `screenshots/report-*.png` (shown in
//! the README). Skips with a note when Chromium is not installed, in CI too: `.ci/run` does not install
//! it, to keep CI small. Refresh the pictures with
//! `UPDATE_SNAPSHOTS=1 cargo test -p mailpath-tests --test it report_screenshot` on a machine with Chromium
//! (`apt-get install chromium`); without `UPDATE_SNAPSHOTS` they are rendered into a temporary directory.

use crate::report_common;

use std::path::Path;
use std::time::Duration;

use mailpath_tests::{have, run_with_timeout, text, workspace_root};
use report_common::lab_reports;

fn chromium() -> Option<&'static str> {
    ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find(|c| have(c))
}

fn screenshot(browser: &str, html: &Path, png: &Path) {
    let profile = tempfile::tempdir().expect("tempdir");
    let (out, took) = run_with_timeout(
        std::process::Command::new(browser)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--hide-scrollbars",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg(format!("--screenshot={}", png.display()))
            .arg("--window-size=1280,2000")
            .arg(format!("file://{}", html.display())),
        Duration::from_secs(90),
    );
    let bytes = std::fs::read(png)
        .unwrap_or_else(|e| panic!("{browser} wrote no screenshot ({e}) in {took:?}: {}", text(&out)));
    assert!(
        bytes.starts_with(b"\x89PNG\r\n\x1a\n") && bytes.len() > 20_000,
        "not a real screenshot: {} bytes",
        bytes.len()
    );
}

#[test]
fn html_report_screenshots() {
    let Some(browser) = chromium() else {
        eprintln!("SKIPPED: chromium is not installed (the report screenshots are not refreshed)");
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    // The README's pictures are rewritten only when asked: a test run leaves the checkout as it was.
    let shots = if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        workspace_root().join("screenshots")
    } else {
        dir.path().join("screenshots")
    };
    std::fs::create_dir_all(&shots).expect("screenshots/");
    for scenario in ["expired-cert", "starttls-stripped"] {
        let r = lab_reports(scenario, dir.path(), scenario, &[]);
        assert!(matches!(r.code, 0..=2), "{}", r.output);
        screenshot(
            browser,
            &dir.path().join(format!("{scenario}.html")),
            &shots.join(format!("report-{scenario}.png")),
        );
    }
}
