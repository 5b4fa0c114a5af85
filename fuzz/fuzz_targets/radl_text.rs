//! Plain-text RADL: parse, then check(), JSON form, print and re-parse.
//!
//! Invariants:
//! * nothing panics, whatever the input;
//! * a document that parsed prints to text that parses back to the same model,
//!   and printing that model again gives the same text (the printer's contract,
//!   see im-radl's `print.rs`). This is asserted only when the input has no
//!   backslash (string escapes are where the reference's grammar is lossy) and
//!   no recipe holds a line starting with `@end` (it would close the recipe
//!   early once printed). Set `IM_FUZZ_STRICT=1` to assert it for every input.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;

fn strict() -> bool {
    static STRICT: OnceLock<bool> = OnceLock::new();
    *STRICT.get_or_init(|| std::env::var_os("IM_FUZZ_STRICT").is_some_and(|v| v == "1"))
}

fn recipe_has_end_line(radl: &im_radl::Radl) -> bool {
    radl.configures.iter().any(|c| {
        c.recipes
            .as_deref()
            .is_some_and(|r| r.starts_with("@end") || r.contains("\n@end"))
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(first) = im_radl::parse_radl(text) else {
        return;
    };
    let _ = first.check();
    let _ = im_radl::radl_to_json(&first);
    let printed = first.to_string();
    let reparsed = im_radl::parse_radl(&printed);

    let assert_roundtrip = strict() || !(text.contains('\\') || recipe_has_end_line(&first));
    if !assert_roundtrip {
        return;
    }
    let second = match reparsed {
        Ok(r) => r,
        Err(e) => panic!("printed RADL does not parse back: {e}\n--- printed ---\n{printed}"),
    };
    assert_eq!(
        second, first,
        "re-parse differs\n--- printed ---\n{printed}"
    );
    assert_eq!(second.to_string(), printed, "printing is not stable");
});
