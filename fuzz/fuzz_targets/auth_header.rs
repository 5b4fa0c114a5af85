//! The HTTP `Authorization` header parser: no input makes it panic, neither
//! parsing nor resolving it (with and without Vault, whose `#USER_SUB#` path
//! decodes the bearer token) into the request's auth data.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = std::str::from_utf8(data) {
        if let Ok(header) = im_auth::parse_auth_header(s) {
            let _ = header.bearer_token();
            let _ = header.clone().into_auth_data(None);
            let vault = im_auth::VaultSettings {
                url: "https://vault.example:8200".to_string(),
                path: Some("secret/#USER_SUB#/creds".to_string()),
                mount_point: Some("kv".to_string()),
                role: None,
            };
            if let Ok(auth) = header.into_auth_data(Some(&vault)) {
                let _ = auth.clouds();
            }
        }
    }
});
