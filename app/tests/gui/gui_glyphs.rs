//! Every non-ASCII character the GUI's source draws has a glyph in the bundled fonts (egui would draw
//! tofu, and the snapshot tests panic on it). Catches a new icon before a screenshot does.

use std::collections::BTreeSet;

#[test]
fn every_icon_in_the_gui_sources_has_a_glyph() {
    // Every source file under src/gui, its subdirectories (gui/state) included.
    let mut dirs = vec![std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/gui")];
    let mut files = Vec::new();
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                files.push(path);
            }
        }
    }
    assert!(files.iter().any(|f| f.ends_with("state/relay.rs")), "{files:?}");
    let mut chars = BTreeSet::new();
    for file in files {
        let text = std::fs::read_to_string(file).unwrap();
        // Doc comments are not drawn.
        for line in text.lines().filter(|l| !l.trim_start().starts_with("//")) {
            chars.extend(line.chars().filter(|c| !c.is_ascii()));
        }
    }
    assert!(!chars.is_empty());
    let ctx = egui::Context::default();
    ctx.set_fonts(egui::FontDefinitions::default());
    let mut output = ctx.run_ui(egui::RawInput::default(), |_| {});
    output.textures_delta.clear();
    let missing: Vec<char> = ctx.fonts_mut(|f| {
        chars
            .iter()
            .copied()
            .filter(|c| {
                !f.has_glyph(&egui::FontId::proportional(14.0), *c)
                    || !f.has_glyph(&egui::FontId::monospace(14.0), *c)
            })
            .collect()
    });
    assert!(missing.is_empty(), "no glyph for {missing:?}");
}
