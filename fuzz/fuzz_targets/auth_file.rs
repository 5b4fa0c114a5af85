//! The auth-file parser (line format or JSON list): no input makes it panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = std::str::from_utf8(data) {
        if let Ok(creds) = im_auth::parse_auth_file(s) {
            let _ = im_auth::build_auth_header(&creds);
        }
    }
});
