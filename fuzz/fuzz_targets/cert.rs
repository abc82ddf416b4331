//! Certificate files (`mailpath cert`, CA files, the trust of a profile): PEM, DER and PKCS#12 contents
//! give certificates or an error, never a panic; each certificate loaded parses.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use mailpath_core::cert;

fuzz_target!(|data: &[u8]| {
    let Some((&first, data)) = data.split_first() else { return };
    // Both paths of PKCS#12: without a password (the empty one) and with one.
    let password = (first & 1 == 1).then_some("mailpath");
    match cert::load_chain_bytes(data, Path::new("fuzz.pem"), password) {
        Ok(chain) => {
            assert!(!chain.is_empty());
            for der in &chain {
                let info = cert::parse_certificate(der.as_ref()).expect("a loaded certificate parses");
                let _ = cert::cert_names(&info);
            }
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
    let _ = cert::parse_certificate(data);
});
