//! Profile parsing (`--profile FILE`): any text gives a profile or problems with a message, never a
//! panic; a profile that parses writes back to TOML that parses to the same profile.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mailpath_core::profile::Profile;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    match Profile::from_toml_str(text, "fuzz.toml", None) {
        Ok(profile) => {
            let written = profile.to_toml_string().expect("a parsed profile writes back");
            let again = Profile::from_toml_str(&written, "written.toml", None)
                .unwrap_or_else(|e| panic!("the written profile does not parse: {e}\n{written}"));
            assert_eq!(profile, again, "the written profile reads back differently:\n{written}");
        }
        Err(e) => {
            let message = e.to_string();
            assert!(!message.is_empty());
        }
    }
});
