//! RADL parsing benchmark (`harness = false`, std only).
//!
//! What it measures (the reference's numbers come from
//! `scripts/bench_radl_reference.py`; `scripts/bench-radl` runs both and prints
//! the comparison, see `docs/benchmarks.md`):
//!
//! 1. the fixture corpus (`../shared/fixtures/radl/*.radl` and `extra/*.radl`,
//!    without `glusterfs.radl`, which neither implementation parses): parse +
//!    `check()` of every document, repeated; per pass and per file;
//! 2. generated documents with N systems (one `deploy` each, ~500 bytes per
//!    system, ≈5 MB at N = 10,000): parse and `check()` times per size. The
//!    files are written to `--gen-dir` so that the reference reads the very
//!    same bytes;
//! 3. `--parse-file PATH`: parse (+ check) one file once and print the
//!    process's RSS high-water mark (`VmHWM`), for the peak-memory figure.
//!
//! `cargo bench` without `--full` (and `cargo test --all-targets`, which runs
//! this binary in test mode) only does a quick smoke run of well under 2 s.
//!
//! ```text
//! parse [--bench] [--full] [--json OUT] [--gen-dir DIR] [--fixtures DIR]
//!       [--sizes 1000,2500,5000,10000] [--corpus-seconds S] [--size-seconds S]
//! parse --generate N PATH          write the generated document and exit
//! parse --parse-file PATH [--no-check]
//! ```

use std::fmt::Write as _;
use std::fs;
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use im_radl::{Radl, RadlError, parse_radl};

/// Sizes (number of systems) of the generated documents in a full run.
const FULL_SIZES: &[usize] = &[1_000, 2_500, 5_000, 10_000];

/// Files of the corpus that the reference itself cannot parse.
const SKIPPED: &[&str] = &["glusterfs.radl"];

/// Files whose `check()` fails in the reference (and must fail in ours too).
const CHECK_FAILS: &[&str] = &["oscar.radl"];

struct Opts {
    full: bool,
    json: Option<PathBuf>,
    gen_dir: PathBuf,
    fixtures: PathBuf,
    sizes: Vec<usize>,
    corpus_seconds: f64,
    size_seconds: f64,
    parse_file: Option<PathBuf>,
    no_check: bool,
    generate: Option<(usize, PathBuf)>,
}

fn usage(msg: &str) -> ExitCode {
    eprintln!("parse bench: {msg}");
    eprintln!(
        "usage: parse [--full] [--json OUT] [--gen-dir DIR] [--fixtures DIR] [--sizes N,N,..] \
         [--corpus-seconds S] [--size-seconds S] | --generate N PATH | --parse-file PATH [--no-check]"
    );
    ExitCode::from(2)
}

fn parse_args() -> Result<Opts, String> {
    let mut o = Opts {
        full: false,
        json: None,
        gen_dir: PathBuf::from("/var/tmp/im-radl-bench"),
        fixtures: Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures/radl"),
        sizes: Vec::new(),
        corpus_seconds: 5.0,
        size_seconds: 3.0,
        parse_file: None,
        no_check: false,
        generate: None,
    };
    let mut args = std::env::args().skip(1);
    let need = |a: Option<String>, name: &str| a.ok_or_else(|| format!("{name} needs a value"));
    let num = |s: String, name: &str| -> Result<f64, String> {
        s.parse::<f64>()
            .map_err(|_| format!("{name}: not a number: {s}"))
    };
    while let Some(a) = args.next() {
        match a.as_str() {
            // Passed by `cargo bench`; and libtest-style flags passed by tools.
            "--bench" | "--nocapture" | "--quiet" | "-q" | "--test" => {}
            "--full" => o.full = true,
            "--json" => o.json = Some(need(args.next(), "--json")?.into()),
            "--gen-dir" => o.gen_dir = need(args.next(), "--gen-dir")?.into(),
            "--fixtures" => o.fixtures = need(args.next(), "--fixtures")?.into(),
            "--sizes" => {
                let v = need(args.next(), "--sizes")?;
                o.sizes = v
                    .split(',')
                    .map(|s| s.trim().replace('_', "").parse::<usize>())
                    .collect::<Result<_, _>>()
                    .map_err(|_| format!("--sizes: bad list {v}"))?;
            }
            "--corpus-seconds" => {
                o.corpus_seconds = num(need(args.next(), "--corpus-seconds")?, "--corpus-seconds")?
            }
            "--size-seconds" => {
                o.size_seconds = num(need(args.next(), "--size-seconds")?, "--size-seconds")?
            }
            "--parse-file" => o.parse_file = Some(need(args.next(), "--parse-file")?.into()),
            "--no-check" => o.no_check = true,
            "--generate" => {
                let n = need(args.next(), "--generate")?;
                let n = n
                    .parse::<usize>()
                    .map_err(|_| format!("--generate: bad N {n}"))?;
                let p = need(args.next(), "--generate N")?;
                o.generate = Some((n, p.into()));
            }
            "-h" | "--help" => return Err("help".into()),
            // A libtest name filter (`cargo test -- name`): ignored.
            other if !other.starts_with('-') => {}
            other => return Err(format!("unknown argument {other}")),
        }
    }
    if o.sizes.is_empty() {
        o.sizes = if o.full {
            FULL_SIZES.to_vec()
        } else {
            vec![200]
        };
    }
    Ok(o)
}

fn main() -> ExitCode {
    let opts = match parse_args() {
        Ok(o) => o,
        Err(e) => return usage(&e),
    };
    let result = if let Some(p) = &opts.parse_file {
        parse_file(p, !opts.no_check)
    } else if let Some((n, p)) = &opts.generate {
        write_if_changed(p, &generate(*n)).map(|()| println!("{}", p.display()))
    } else {
        run(&opts)
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("parse bench: {e}");
            ExitCode::FAILURE
        }
    }
}

// ---------------------------------------------------------------------------
// The generated document

/// Networks of the generated document; system `i` is connected to
/// `private{i % 4}` and every tenth system also to `public`.
const PRIVATE_NETS: usize = 4;

/// A deterministic RADL document with `n` systems (`node00001`…), one
/// `deploy` per system, five networks, three configures with a recipe and a
/// small `contextualize`. About 500 bytes per system (≈5 MB for 10,000).
///
/// `scripts/bench_radl_reference.py` reads the file this writes; it never
/// generates its own, so both sides parse the same bytes.
pub fn generate(n: usize) -> String {
    let width = n.to_string().len().max(5);
    let mut s = String::with_capacity(600 * n + 4096);
    s.push_str("# Generated by crates/im-radl/benches/parse.rs (deterministic).\n");
    s.push_str(
        "network public (outbound = 'yes' and outports = '22/tcp-22/tcp,80/tcp-8080/tcp,443/tcp')\n",
    );
    for k in 0..PRIVATE_NETS {
        let _ = writeln!(s, "network private{k} (outbound = 'no')");
    }
    s.push('\n');
    for (name, body) in [
        (
            "common",
            "---\n- tasks:\n  - name: Install the base packages\n    package: name=ntp,curl,git state=present\n  - name: Set the time zone\n    timezone: name=Europe/Madrid\n",
        ),
        (
            "front",
            "---\n- roles:\n  - role: 'grycap.slurm'\n    slurm_type_of_node: 'front'\n    slurm_wn_nodes: 16\n",
        ),
        (
            "worker",
            "---\n- vars:\n    front: '{{ groups[\"front\"][0] }}'\n  roles:\n  - role: 'grycap.slurm'\n    slurm_type_of_node: 'wn'\n    slurm_server_name: '{{ front }}'\n",
        ),
    ] {
        let _ = write!(s, "configure {name} (\n@begin\n{body}@end\n)\n\n");
    }
    for i in 1..=n {
        let name = format!("node{i:0width$}");
        let cpus = 1 << (i % 4);
        let mem = 1024 * (1 + i % 8);
        let net = i % PRIVATE_NETS;
        let _ = write!(
            s,
            "system {name} (\n\
             cpu.count >= {cpus} and\n\
             memory.size >= {mem}M and\n\
             net_interface.0.connection = 'private{net}' and\n\
             net_interface.0.dns_name = '{name}' and\n"
        );
        if i % 10 == 0 {
            s.push_str("net_interface.1.connection = 'public' and\n");
        }
        let _ = write!(
            s,
            "disk.0.image.url = 'one://one.example.org/{img}' and\n\
             disk.0.os.credentials.username = 'cloudadm' and\n\
             disk.0.os.credentials.new.password = 'Pass+{i:0width$}' and\n\
             disk.0.applications contains (name = 'ansible.roles.grycap.docker' and version = '1.{minor}.0') and\n\
             disk.0.applications contains (name = 'ansible.roles.geerlingguy.ntp') and\n\
             disk.1.size = {disk}G\n\
             )\n\
             deploy {name} 1\n",
            img = 1000 + i % 37,
            minor = i % 10,
            disk = 10 * (1 + i % 5),
        );
    }
    let first = format!("node{:0width$}", 1);
    let _ = write!(
        s,
        "\ncontextualize 3600 (\n    system {first} configure common step 1\n    system {first} configure front step 2\n)\n"
    );
    s
}

fn write_if_changed(path: &Path, text: &str) -> Result<(), String> {
    if fs::read(path).is_ok_and(|old| old == text.as_bytes()) {
        return Ok(());
    }
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()))
}

// ---------------------------------------------------------------------------
// Measuring

/// Timings of one measured operation, in seconds per call.
struct Stats {
    median: f64,
    min: f64,
    calls: u64,
}

/// Calls `f` in batches (each batch ≥ ~50 ms, or one call if a call is
/// slower) until `budget` seconds have passed and at least `min_batches`
/// batches ran; the median and the minimum of the per-call batch averages.
/// A zero budget (the quick run) means batches of one call.
fn measure(budget: f64, min_batches: usize, mut f: impl FnMut()) -> Stats {
    // Warm-up and calibration.
    let t = Instant::now();
    f();
    let first = t.elapsed().as_secs_f64().max(1e-9);
    let per_batch = if budget > 0.0 {
        ((0.05 / first).ceil() as u64).clamp(1, 1_000_000)
    } else {
        1
    };
    let mut samples = Vec::new();
    let start = Instant::now();
    let mut calls = 0;
    while samples.len() < min_batches || start.elapsed().as_secs_f64() < budget {
        let t = Instant::now();
        for _ in 0..per_batch {
            f();
        }
        samples.push(t.elapsed().as_secs_f64() / per_batch as f64);
        calls += per_batch;
        if samples.len() >= 10_000 {
            break;
        }
    }
    samples.sort_by(f64::total_cmp);
    Stats {
        median: samples[samples.len() / 2],
        min: samples[0],
        calls,
    }
}

fn parse_and_check(text: &str) -> (Result<Radl, RadlError>, Option<RadlError>) {
    match parse_radl(text) {
        Ok(r) => {
            let c = r.check().err();
            (Ok(r), c)
        }
        Err(e) => (Err(e), None),
    }
}

struct Doc {
    name: String,
    text: String,
    check_fails: bool,
}

fn load_corpus(dir: &Path) -> Result<Vec<Doc>, String> {
    let mut docs = Vec::new();
    for (sub, prefix) in [(dir.to_path_buf(), ""), (dir.join("extra"), "extra/")] {
        let rd = fs::read_dir(&sub).map_err(|e| format!("{}: {e}", sub.display()))?;
        for entry in rd {
            let p = entry.map_err(|e| e.to_string())?.path();
            let Some(file) = p.file_name().and_then(|f| f.to_str()) else {
                continue;
            };
            if !file.ends_with(".radl") || SKIPPED.contains(&file) {
                continue;
            }
            let text = fs::read_to_string(&p).map_err(|e| format!("{}: {e}", p.display()))?;
            docs.push(Doc {
                name: format!("{prefix}{file}"),
                check_fails: CHECK_FAILS.contains(&file),
                text,
            });
        }
    }
    // By size, then name: the order of the per-file table.
    docs.sort_by(|a, b| a.text.len().cmp(&b.text.len()).then(a.name.cmp(&b.name)));
    if docs.len() < 30 {
        return Err(format!(
            "fixture corpus not found or incomplete under {} ({} files)",
            dir.display(),
            docs.len()
        ));
    }
    // Every document must give the reference's verdict.
    for d in &docs {
        match parse_and_check(&d.text) {
            (Err(e), _) => return Err(format!("{}: parse failed: {e}", d.name)),
            (Ok(_), Some(e)) if !d.check_fails => {
                return Err(format!("{}: check failed: {e}", d.name));
            }
            (Ok(_), None) if d.check_fails => {
                return Err(format!("{}: check passed, the reference's fails", d.name));
            }
            _ => {}
        }
    }
    Ok(docs)
}

struct Corpus {
    docs: Vec<Doc>,
    bytes: usize,
    pass: Stats,
    pass_parse: Stats,
    pass_check: Stats,
    per_file: Vec<Stats>,
}

struct SizeResult {
    systems: usize,
    bytes: usize,
    file: Option<PathBuf>,
    parse: Stats,
    check: Stats,
    total: Stats,
}

fn run(o: &Opts) -> Result<(), String> {
    let docs = load_corpus(&o.fixtures)?;
    let corpus_bytes: usize = docs.iter().map(|d| d.text.len()).sum();
    let (corpus_budget, file_budget, size_budget, min_batches) = if o.full {
        (o.corpus_seconds, 0.25, o.size_seconds, 5)
    } else {
        (0.0, 0.0, 0.0, 2)
    };

    // 1. The corpus, every document parsed and checked per pass.
    let pass = measure(corpus_budget, min_batches, || {
        for d in &docs {
            let _ = black_box(parse_and_check(black_box(&d.text)));
        }
    });
    // The same pass split by phase: parse only, then check only (pre-parsed).
    let parsed: Vec<Radl> = docs
        .iter()
        .filter_map(|d| parse_radl(&d.text).ok())
        .collect();
    let pass_parse = measure(corpus_budget / 2.0, min_batches, || {
        for d in &docs {
            let _ = black_box(parse_radl(black_box(&d.text)));
        }
    });
    let pass_check = measure(corpus_budget / 2.0, min_batches, || {
        for r in &parsed {
            let _ = black_box(black_box(r).check());
        }
    });
    let per_file: Vec<Stats> = docs
        .iter()
        .map(|d| {
            measure(file_budget, min_batches, || {
                let _ = black_box(parse_and_check(black_box(&d.text)));
            })
        })
        .collect();

    // 2. Generated documents.
    let mut sizes = Vec::new();
    for &n in &o.sizes {
        let text = generate(n);
        let file = if o.full {
            let p = o.gen_dir.join(format!("systems-{n}.radl"));
            write_if_changed(&p, &text)?;
            Some(p)
        } else {
            None
        };
        let radl = parse_radl(&text).map_err(|e| format!("generated {n}: parse: {e}"))?;
        radl.check()
            .map_err(|e| format!("generated {n}: check: {e}"))?;
        if radl.systems.len() != n || radl.deploys.len() != n {
            return Err(format!("generated {n}: {} systems", radl.systems.len()));
        }
        let parse = measure(size_budget, min_batches.min(3), || {
            black_box(parse_radl(black_box(&text)).ok());
        });
        let check = measure(size_budget, min_batches.min(3), || {
            black_box(radl.check().ok());
        });
        let total = measure(size_budget, min_batches.min(3), || {
            let _ = black_box(parse_and_check(black_box(&text)));
        });
        sizes.push(SizeResult {
            systems: n,
            bytes: text.len(),
            file,
            parse,
            check,
            total,
        });
    }

    let corpus = Corpus {
        docs,
        bytes: corpus_bytes,
        pass,
        pass_parse,
        pass_check,
        per_file,
    };
    print_human(o, &corpus, &sizes);
    if let Some(path) = &o.json {
        let json = to_json(o, &corpus, &sizes);
        fs::write(path, json).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    Ok(())
}

fn fmt_time(s: f64) -> String {
    if s >= 1.0 {
        format!("{s:.3} s")
    } else if s >= 1e-3 {
        format!("{:.3} ms", s * 1e3)
    } else {
        format!("{:.2} µs", s * 1e6)
    }
}

fn print_human(o: &Opts, c: &Corpus, sizes: &[SizeResult]) {
    let (docs, pass) = (&c.docs, &c.pass);
    let mode = if o.full { "full" } else { "quick (use --full)" };
    println!("RADL parse benchmark, im-radl, {mode} run");
    println!(
        "corpus: {} documents, {} bytes; parse+check per pass: median {}, min {} ({} passes); {:.0} documents/s",
        docs.len(),
        c.bytes,
        fmt_time(pass.median),
        fmt_time(pass.min),
        pass.calls,
        docs.len() as f64 / pass.median
    );
    println!(
        "        by phase: parse only {}, check only {}",
        fmt_time(c.pass_parse.median),
        fmt_time(c.pass_check.median)
    );
    if o.full {
        println!("{:<36} {:>7} {:>12}", "file", "bytes", "parse+check");
        for (d, s) in docs.iter().zip(&c.per_file) {
            println!(
                "{:<36} {:>7} {:>12}",
                d.name,
                d.text.len(),
                fmt_time(s.median)
            );
        }
    }
    let base = sizes.first().map(|s| s.total.median / s.systems as f64);
    println!(
        "{:>8} {:>10} {:>12} {:>12} {:>12} {:>12} {:>14}",
        "systems", "bytes", "parse", "check", "parse+check", "per MB", "per-system×"
    );
    for s in sizes {
        let per_sys = s.total.median / s.systems as f64;
        println!(
            "{:>8} {:>10} {:>12} {:>12} {:>12} {:>12} {:>14.2}",
            s.systems,
            s.bytes,
            fmt_time(s.parse.median),
            fmt_time(s.check.median),
            fmt_time(s.total.median),
            fmt_time(s.total.median / (s.bytes as f64 / 1e6)),
            base.map_or(1.0, |b| per_sys / b)
        );
    }
}

fn json_str(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn json_stats(s: &Stats) -> String {
    format!(
        "{{\"median_s\": {:e}, \"min_s\": {:e}, \"calls\": {}}}",
        s.median, s.min, s.calls
    )
}

fn to_json(o: &Opts, c: &Corpus, sizes: &[SizeResult]) -> String {
    let docs = &c.docs;
    let mut j = String::from("{\n  \"impl\": \"im-radl\",\n");
    let _ = writeln!(j, "  \"full\": {},", o.full);
    let _ = writeln!(
        j,
        "  \"corpus\": {{\"documents\": {}, \"bytes\": {}, \"pass\": {}, \"pass_parse\": {}, \"pass_check\": {}}},",
        docs.len(),
        c.bytes,
        json_stats(&c.pass),
        json_stats(&c.pass_parse),
        json_stats(&c.pass_check)
    );
    j.push_str("  \"files\": [\n");
    for (k, (d, s)) in docs.iter().zip(&c.per_file).enumerate() {
        let _ = write!(
            j,
            "    {{\"name\": {}, \"bytes\": {}, \"check_fails\": {}, \"parse_check\": {}}}",
            json_str(&d.name),
            d.text.len(),
            d.check_fails,
            json_stats(s)
        );
        j.push_str(if k + 1 < docs.len() { ",\n" } else { "\n" });
    }
    j.push_str("  ],\n  \"sizes\": [\n");
    for (k, s) in sizes.iter().enumerate() {
        let file = s
            .file
            .as_ref()
            .map_or("null".to_string(), |p| json_str(&p.display().to_string()));
        let _ = write!(
            j,
            "    {{\"systems\": {}, \"bytes\": {}, \"file\": {}, \"parse\": {}, \"check\": {}, \"total\": {}}}",
            s.systems,
            s.bytes,
            file,
            json_stats(&s.parse),
            json_stats(&s.check),
            json_stats(&s.total)
        );
        j.push_str(if k + 1 < sizes.len() { ",\n" } else { "\n" });
    }
    j.push_str("  ]\n}\n");
    j
}

// ---------------------------------------------------------------------------
// Peak memory

/// `VmHWM` and `VmRSS` of this process, in kB (Linux `/proc/self/status`).
fn vm_kb() -> (u64, u64) {
    let status = fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|rest| {
                rest.trim()
                    .trim_end_matches("kB")
                    .trim()
                    .parse::<u64>()
                    .ok()
            })
            .unwrap_or(0)
    };
    (field("VmHWM:"), field("VmRSS:"))
}

/// Parses (and checks) one file once; prints one JSON line with the timings
/// and the RSS high-water mark at each stage. An empty file gives the baseline
/// of an empty run.
fn parse_file(path: &Path, check: bool) -> Result<(), String> {
    let (hwm_start, rss_start) = vm_kb();
    let text = fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let (hwm_read, _) = vm_kb();
    let t = Instant::now();
    let radl = parse_radl(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    let parse_s = t.elapsed().as_secs_f64();
    let (hwm_parse, _) = vm_kb();
    let t = Instant::now();
    let checked = if check {
        Some(radl.check().is_ok())
    } else {
        None
    };
    let check_s = t.elapsed().as_secs_f64();
    let (hwm_check, rss_end) = vm_kb();
    println!(
        "{{\"impl\": \"im-radl\", \"file\": {}, \"bytes\": {}, \"systems\": {}, \"parse_s\": {:e}, \
         \"check_s\": {}, \"check_ok\": {}, \"hwm_start_kb\": {}, \"rss_start_kb\": {}, \
         \"hwm_after_read_kb\": {}, \"hwm_after_parse_kb\": {}, \"hwm_after_check_kb\": {}, \"rss_end_kb\": {}}}",
        json_str(&path.display().to_string()),
        text.len(),
        radl.systems.len(),
        parse_s,
        if check {
            format!("{check_s:e}")
        } else {
            "null".into()
        },
        checked.map_or("null".to_string(), |c| c.to_string()),
        hwm_start,
        rss_start,
        hwm_read,
        hwm_parse,
        hwm_check,
        rss_end
    );
    drop(black_box(radl));
    Ok(())
}
