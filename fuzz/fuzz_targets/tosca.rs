//! TOSCA documents: parse, validate, convert to RADL and compute outputs.
//!
//! Invariants:
//! * nothing panics, whatever the input (no network: only the shipped type
//!   files can be imported, playbooks are unavailable);
//! * a document that converts gives RADL text that the RADL parser reads back;
//! * a document that parses merges with itself into a document that parses.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let fetcher = im_tosca::NoFetcher;
    let mut opts = im_tosca::ParseOptions::new(&fetcher);
    opts.id = Some("12345678");
    let Ok(tosca) = im_tosca::Tosca::parse(text, &opts) else {
        return;
    };
    let _ = tosca.outputs(None);
    let _ = tosca.outputs(Some(&im_tosca::InfraView::default()));
    let stored = tosca.to_yaml();
    if let Err(e) = im_tosca::Tosca::from_stored(&stored, tosca.id(), &fetcher) {
        panic!("the stored form does not read back: {e}\n--- stored ---\n{stored}");
    }
    let _ = tosca.merge(&tosca, &fetcher);
    if let Ok(conv) = tosca.to_radl(None, &fetcher) {
        let printed = conv.radl.to_string();
        if let Err(e) = im_radl::parse_radl(&printed) {
            panic!("our RADL does not parse: {e}\n--- printed ---\n{printed}");
        }
    }
});
