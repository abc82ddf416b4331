//! Frame time of the Checks table with a diagnosis of 500 checks: building the UI (egui's pass) plus
//! tessellating it, on the CPU, the way the real window does every frame it repaints. The goal is
//! under 16 ms in release builds (`cargo test --release -p mailpath --test gui gui_perf -- --nocapture`);
//! debug builds only get a sanity bound.

use crate::common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use mailpath_app::gui::app::GuiOptions;
use mailpath_app::gui::state::{Command, View};
use mailpath_core::check::Status;

const CHECKS: usize = 500;
const FRAMES: usize = 60;

#[test]
fn checks_table_with_500_checks_stays_within_a_frame() {
    let rt = common::runtime();
    let mut h = common::harness(rt.handle().clone(), GuiOptions::default());
    common::show_fixture(&mut h, "port-closed");
    let mut d = (**h.state().state.diagnosis.as_ref().unwrap()).clone();
    let base = d.checks.clone();
    let statuses = [
        Status::Pass,
        Status::Pass,
        Status::Pass,
        Status::Info,
        Status::Skip,
        Status::Warn,
        Status::Fail,
    ];
    d.checks = (0..CHECKS)
        .map(|i| {
            let mut c = base[i % base.len()].clone();
            c.target = format!("host{:03}.contoso.com:25", i / base.len());
            c.status = statuses[i % statuses.len()];
            c
        })
        .collect();
    d.counts = mailpath_core::check::Counts::of(&d.checks);
    h.state_mut().state.diagnosis = Some(Arc::new(d));
    h.state_mut().send(Command::SetView(View::Checks));
    h.run_steps(5);

    // The pointer rests over the table, so that the wheel scrolls it.
    h.event(egui::Event::PointerMoved(egui::pos2(640.0, 450.0)));
    h.step();
    let ppp = h.ctx.pixels_per_point();
    let mut ui_times = Vec::with_capacity(FRAMES);
    let mut tess_times = Vec::with_capacity(FRAMES);
    for i in 0..FRAMES {
        // Scroll a little every frame, like a user reading the table: new rows get laid out.
        h.event(egui::Event::MouseWheel {
            unit: egui::MouseWheelUnit::Point,
            delta: egui::vec2(0.0, if i < FRAMES / 2 { -40.0 } else { 40.0 }),
            modifiers: egui::Modifiers::NONE,
            phase: egui::TouchPhase::Move,
            source: egui::MouseWheelSource::Wheel,
        });
        let t = Instant::now();
        h.step();
        ui_times.push(t.elapsed());
        let shapes = h.output().shapes.clone();
        let t = Instant::now();
        let primitives = h.ctx.tessellate(shapes, ppp);
        tess_times.push(t.elapsed());
        assert!(!primitives.is_empty());
    }
    let stats = |v: &mut Vec<Duration>| {
        v.sort();
        let mean = v.iter().sum::<Duration>() / u32::try_from(v.len()).unwrap();
        (mean, v[v.len() * 95 / 100])
    };
    let (ui_mean, ui_p95) = stats(&mut ui_times);
    let (tess_mean, tess_p95) = stats(&mut tess_times);
    let total = ui_mean + tess_mean;
    let profile = if cfg!(debug_assertions) {
        "debug"
    } else {
        "release"
    };
    eprintln!(
        "{CHECKS} checks, {FRAMES} frames ({profile}): ui {ui_mean:?} mean / {ui_p95:?} p95, \
         tessellation {tess_mean:?} mean / {tess_p95:?} p95, total {total:?} mean"
    );
    if cfg!(debug_assertions) {
        assert!(
            total < Duration::from_millis(250),
            "debug sanity bound: {total:?}"
        );
    } else {
        assert!(total < Duration::from_millis(16), "a 60 fps frame: {total:?}");
    }
}
