//! Converts a TOSCA file to RADL, reading remote files from a local mirror:
//! `cargo run -p im-tosca --example convert -- FILE [MIRROR_DIR]`.

use im_tosca::{DirFetcher, ParseOptions, Tosca};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (Some(file), mirror) = (args.get(1), args.get(2)) else {
        eprintln!("usage: convert FILE [MIRROR_DIR]");
        std::process::exit(2);
    };
    let text = std::fs::read_to_string(file).unwrap_or_else(|e| {
        eprintln!("{file}: {e}");
        std::process::exit(2);
    });
    let fetcher = DirFetcher::new(mirror.cloned().unwrap_or_default());
    let mut opts = ParseOptions::new(&fetcher);
    opts.id = Some("12345678");
    match Tosca::parse(&text, &opts).and_then(|t| t.to_radl(None, &fetcher)) {
        Ok(c) => println!("{}", c.radl),
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1);
        }
    }
}
