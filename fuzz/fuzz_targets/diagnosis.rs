//! The saved-diagnosis reader (`mailpath report render|compare`, the GUI's Open): any bytes give a
//! diagnosis or an error; a diagnosis that loads renders in every format, redacted or not, and compares
//! with itself without changes.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use mailpath_core::report::{self, Format, Report, ReportOptions, compare};

fuzz_target!(|data: &[u8]| {
    let Some((&first, data)) = data.split_first() else { return };
    let Ok(diagnosis) = report::parse(data, Path::new("fuzz.json")) else { return };
    let options = ReportOptions {
        redact: first & 1 == 1,
        ran_on: None,
    };
    if let Ok(r) = Report::new(&diagnosis, &options) {
        for format in [Format::Html, Format::Json, Format::Markdown] {
            let _ = r.render(format);
        }
    }
    let c = compare::compare(&diagnosis, &diagnosis);
    assert!(!c.broke, "a diagnosis compared with itself broke nothing");
    let _ = compare::render_text(&c);
});
