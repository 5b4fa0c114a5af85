//! Times TOSCA -> RADL conversions in-process, for `scripts/bench-tosca`:
//! `cargo run --release -p im-tosca --example bench -- MIRROR ITERATIONS FILE...`
//!
//! For each FILE, `Tosca::parse` + `to_radl` (what a create does) runs once
//! to warm up, then ITERATIONS times; one JSON line per file gives the minimum
//! and the median in microseconds. Remote reads come from MIRROR
//! (`https://HOST/PATH` -> `MIRROR/HOST/PATH`), as in the reference's run;
//! `tosca_repo.yml` gets the grycap/tosca repository, as in the fixtures.

use std::time::Instant;

use im_tosca::{DirFetcher, ParseOptions, Tosca};

const REPO: &str = "https://raw.githubusercontent.com/grycap/tosca/main/templates/";

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(mirror), Some(iterations)) = (args.first(), args.get(1)) else {
        eprintln!("usage: bench MIRROR ITERATIONS FILE...");
        std::process::exit(2);
    };
    let iterations: usize = iterations.parse().unwrap_or(100).max(1);
    let fetcher = DirFetcher::new(mirror);
    for path in &args[2..] {
        let name = path.rsplit('/').next().unwrap_or(path);
        let Ok(text) = std::fs::read_to_string(path) else {
            eprintln!("{path}: cannot read");
            std::process::exit(2);
        };
        let mut opts = ParseOptions::new(&fetcher);
        if name == "tosca_repo.yml" {
            opts.tosca_repo = Some(REPO);
        }
        let convert = || Tosca::parse(&text, &opts).and_then(|t| t.to_radl(None, &fetcher));
        if let Err(e) = convert() {
            let msg = e.to_string().replace('"', "'");
            println!(
                "{{\"file\": \"{name}\", \"error\": \"{}\"}}",
                msg.lines().next().unwrap_or("")
            );
            continue;
        }
        let mut times = Vec::with_capacity(iterations);
        for _ in 0..iterations {
            let t0 = Instant::now();
            let r = convert();
            times.push(t0.elapsed().as_secs_f64() * 1e6);
            std::hint::black_box(r.is_ok());
        }
        times.sort_by(f64::total_cmp);
        let median = if iterations % 2 == 1 {
            times[iterations / 2]
        } else {
            (times[iterations / 2 - 1] + times[iterations / 2]) / 2.0
        };
        println!(
            "{{\"file\": \"{name}\", \"min_us\": {:.1}, \"median_us\": {median:.1}, \"runs\": {iterations}}}",
            times[0]
        );
    }
}
