//! JSON RADL: parse, then JSON form, check(), text printer.
//!
//! Invariants: nothing panics; the JSON form of a document read from JSON reads
//! back (`parse_radl_json`) to a document with the same JSON form.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(radl) = im_radl::parse_radl_json(text) else {
        return;
    };
    let json = im_radl::radl_to_json(&radl);
    let _ = radl.check();
    // The text form of a JSON document need not parse (JSON allows names the
    // text grammar does not), but printing and parsing it must not panic.
    let _ = im_radl::parse_radl(&radl.to_string());

    let json_text = json.to_string();
    let back = match im_radl::parse_radl_json(&json_text) {
        Ok(r) => r,
        Err(e) => panic!("JSON form does not read back: {e}\n--- json ---\n{json_text}"),
    };
    assert_eq!(im_radl::radl_to_json(&back), json, "JSON form not stable");
});
