//! The real window: the `mailpath` binary under Xvfb (`xvfb-run`), rendering with wgpu on whatever
//! Vulkan driver there is (lavapipe in CI), runs a lab diagnosis and saves a screenshot with
//! `gui --screenshot`. The PNG must be a real picture. Skips with a note when `xvfb-run` is missing,
//! except in CI (`CI` set), where `.ci/run` installs it.

use std::collections::HashMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn have(tool: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|d| d.join(tool).is_file()))
}

#[test]
fn the_real_window_runs_the_lab_and_saves_a_screenshot() {
    if !have("xvfb-run") {
        assert!(
            std::env::var_os("CI").is_none(),
            "xvfb-run is missing in CI: .ci/run must install xvfb and xauth"
        );
        eprintln!(
            "note: skipping the real-window smoke test: xvfb-run is not installed (apt-get install xvfb xauth)"
        );
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let png = dir.path().join("window.png");
    let runtime_dir = dir.path().join("run");
    std::fs::create_dir(&runtime_dir).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&runtime_dir, std::fs::Permissions::from_mode(0o700)).unwrap();
    }
    let started = Instant::now();
    let mut child = Command::new("xvfb-run")
        .args(["-a", "-s", "-screen 0 1400x900x24"])
        .arg(env!("CARGO_BIN_EXE_mailpath"))
        .args(["gui", "--lab", "healthy-edge", "--screenshot"])
        .arg(&png)
        .env("XDG_RUNTIME_DIR", &runtime_dir)
        .env("XDG_DATA_HOME", dir.path().join("data"))
        .env("XDG_CONFIG_HOME", dir.path().join("config"))
        .env_remove("WAYLAND_DISPLAY")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("xvfb-run starts");
    let deadline = started + Duration::from_secs(120);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!(
                "no screenshot within 120 s; stderr:\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        status.success(),
        "mailpath gui --screenshot failed ({status}):\n{stderr}"
    );
    eprintln!("screenshot in {:?}", started.elapsed());
    check_picture(&png);
}

/// Not empty, window-sized, and not one colour: at least a few hundred colours, none covering
/// nearly all of it, and some of the status colours the path is drawn with.
fn check_picture(path: &Path) {
    let img = image::open(path).expect("a PNG").to_rgba8();
    let (w, h) = img.dimensions();
    assert!(w >= 1000 && h >= 600, "window-sized: {w}x{h}");
    let mut colours: HashMap<[u8; 4], u32> = HashMap::new();
    for p in img.pixels() {
        *colours.entry(p.0).or_default() += 1;
    }
    let total = w * h;
    let top = colours.values().max().copied().unwrap_or(0);
    assert!(colours.len() > 200, "only {} colours", colours.len());
    assert!(
        f64::from(top) / f64::from(total) < 0.9,
        "one colour covers {top} of {total} pixels"
    );
    let greenish = img
        .pixels()
        .filter(|p| p.0[1] > 150 && p.0[0] < 120 && p.0[2] < 140)
        .count();
    assert!(
        greenish > 200,
        "the healthy path is drawn in green: {greenish} green pixels"
    );
}
