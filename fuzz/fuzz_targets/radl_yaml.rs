//! Recipe YAML (`configure` bodies): the quick well-formedness check never
//! accepts a text that serde-saphyr refuses.
//!
//! im-radl is built with its `yaml-cross-check` feature here, so every text the
//! quick check accepts is parsed by serde-saphyr too, which panics on a
//! refusal; the other RADL targets get the same check for the recipes they
//! reach.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = im_radl::check_recipe_yaml(text);
    }
});
