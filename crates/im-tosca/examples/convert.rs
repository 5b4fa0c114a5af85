//! Converts a TOSCA file to RADL, reading remote files from a local mirror:
//! `cargo run -p im-tosca --example convert -- FILE [MIRROR_DIR] [PARENT...]`.
//!
//! With parents (IM Dashboard templates name them in `metadata.parents`), FILE
//! is merged over them first, as the Dashboard combines its templates.

use im_tosca::{DirFetcher, ParseOptions, Tosca, merge_documents, yaml};

fn read(path: &str) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| {
        eprintln!("{path}: {e}");
        std::process::exit(2);
    })
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let Some(file) = args.get(1) else {
        eprintln!("usage: convert FILE [MIRROR_DIR] [PARENT...]");
        std::process::exit(2);
    };
    let mut text = read(file);
    if args.len() > 3 {
        let mut doc = yaml::Value::Null;
        for parent in &args[3..] {
            let p = yaml::parse_value(&read(parent)).unwrap_or_default();
            doc = merge_documents(&doc, &p);
        }
        let child = yaml::parse_value(&text).unwrap_or_default();
        text = yaml::to_yaml(&merge_documents(&doc, &child), false, false);
    }
    let fetcher = DirFetcher::new(args.get(2).cloned().unwrap_or_default());
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
