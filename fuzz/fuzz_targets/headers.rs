//! Message header analysis (`mailpath headers`, the relay's verdicts): any bytes give an analysis that
//! serialises, within the documented bounds.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mailpath_core::headers::{self, Context, MAX_HOPS, Options};

fuzz_target!(|data: &[u8]| {
    let Some((&first, data)) = data.split_first() else { return };
    let options = Options {
        org_domains: vec!["contoso.com".into()],
        context: match first % 4 {
            0 => Context::Delivered,
            1 => Context::ArrivingAtEop,
            2 => Context::ArrivingOnPremises,
            _ => Context::Captured,
        },
        target: "fuzz".into(),
    };
    let _ = headers::looks_like_headers(data);
    let _ = headers::first_header(data, "subject");
    let _ = headers::summary(data);
    let analysis = headers::analyze(data, &options);
    assert!(analysis.hops.len() <= MAX_HOPS);
    serde_json::to_string(&analysis).expect("the analysis serialises");
});
