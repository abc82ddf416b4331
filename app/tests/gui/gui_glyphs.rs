//! Every non-ASCII character the GUI's source draws has a glyph in the bundled fonts (egui would draw
//! tofu, and the snapshot tests panic on it). Catches a new icon before a screenshot does.

use std::collections::BTreeSet;

#[test]
fn every_icon_in_the_gui_sources_has_a_glyph() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/gui");
    let mut chars = BTreeSet::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
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
