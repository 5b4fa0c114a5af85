//! Every RADL document under `../shared/fixtures/radl/` against what the
//! reference (`radl==1.3.5`) produced for it.

#![allow(clippy::unwrap_used)] // test helpers: a panic is the failure report

use std::fs;
use std::path::{Path, PathBuf};

use im_radl::{ErrorKind, Radl, parse_radl, parse_radl_json, radl_to_json, sort_keys};
use serde_json::Value as J;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures/radl")
}

fn read(p: &Path) -> String {
    fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// The valid documents: `(radl path, json path, str path)`.
fn valid_documents() -> Vec<(PathBuf, PathBuf, Option<PathBuf>)> {
    let mut out = Vec::new();
    for dir in [fixtures(), fixtures().join("extra")] {
        let mut entries: Vec<_> = fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "radl"))
            .collect();
        entries.sort();
        for p in entries {
            let json = p.with_extension("json");
            if !json.exists() {
                continue;
            }
            let stem = p.file_stem().unwrap().to_str().unwrap().to_string();
            let txt = if dir.ends_with("extra") {
                p.with_extension("txt")
            } else {
                fixtures().join("str").join(format!("{stem}.txt"))
            };
            out.push((p, json, txt.exists().then_some(txt)));
        }
    }
    assert!(out.len() >= 35, "fixture corpus not found: {}", out.len());
    out
}

/// Our JSON differs from the reference's in one documented way
/// (docs/compat.md): an interval with both bounds also keeps `name_max`.
/// Drop those keys to compare with the reference.
fn as_reference_json(v: J) -> J {
    match v {
        J::Object(m) => {
            let keys: Vec<String> = m.keys().cloned().collect();
            J::Object(
                m.into_iter()
                    .filter(|(k, _)| {
                        !k.strip_suffix("_max")
                            .is_some_and(|base| keys.contains(&format!("{base}_min")))
                    })
                    .map(|(k, v)| (k, as_reference_json(v)))
                    .collect(),
            )
        }
        J::Array(a) => J::Array(a.into_iter().map(as_reference_json).collect()),
        other => other,
    }
}

/// Recipes modulo surrounding newlines: each reference `str()`/parse cycle
/// adds one newline at both ends.
fn trim_recipes(v: &mut J) {
    if let J::Array(items) = v {
        for item in items {
            if item["class"] == "configure"
                && let Some(J::String(r)) = item.get_mut("recipes")
            {
                *r = r.trim_matches('\n').to_string();
            }
        }
    }
}

fn canonical(radl: &Radl) -> J {
    sort_keys(as_reference_json(radl_to_json(radl)))
}

#[test]
fn every_valid_document_gives_the_reference_json() {
    for (radl_path, json_path, _) in valid_documents() {
        let radl = parse_radl(&read(&radl_path))
            .unwrap_or_else(|e| panic!("{}: {e}", radl_path.display()));
        let expected: J = serde_json::from_str(&read(&json_path)).unwrap();
        assert_eq!(canonical(&radl), expected, "{}", radl_path.display());
    }
}

#[test]
fn valid_documents_pass_check_except_the_upstream_broken_one() {
    for (radl_path, _, _) in valid_documents() {
        let radl = parse_radl(&read(&radl_path)).unwrap();
        let res = radl.check();
        if radl_path.ends_with("oscar.radl") {
            let err = res.expect_err("oscar.radl deploys an undefined system");
            // The reference says line 22: it does not count the newline inside
            // the multi-line `script` string (docs/compat.md).
            assert_eq!(err.to_string(), "Line 23: Invalid system id in the deploy.");
        } else {
            res.unwrap_or_else(|e| panic!("{}: {e}", radl_path.display()));
        }
    }
}

#[test]
fn the_broken_glusterfs_example_fails_with_the_reference_message() {
    let err = parse_radl(&read(&fixtures().join("glusterfs.radl"))).unwrap_err();
    let expected: J =
        serde_json::from_str(&read(&fixtures().join("glusterfs.error.json"))).unwrap();
    assert_eq!(err.to_string(), expected["error"].as_str().unwrap());
}

#[test]
fn the_reference_str_form_parses_to_the_same_document() {
    for (radl_path, json_path, txt) in valid_documents() {
        let Some(txt) = txt else { continue };
        if radl_path.ends_with("e03_strings.radl") {
            // The reference prints `\'` unescaped, so its own str() of this
            // document cannot be parsed by either implementation.
            assert!(parse_radl(&read(&txt)).is_err());
            continue;
        }
        let radl = parse_radl(&read(&txt)).unwrap_or_else(|e| panic!("{}: {e}", txt.display()));
        let mut ours = canonical(&radl);
        let mut expected: J = serde_json::from_str(&read(&json_path)).unwrap();
        trim_recipes(&mut ours);
        trim_recipes(&mut expected);
        assert_eq!(ours, expected, "{}", radl_path.display());
    }
}

#[test]
fn our_printer_uses_the_reference_layout() {
    for (radl_path, _, txt) in valid_documents() {
        let Some(txt) = txt else { continue };
        let radl = parse_radl(&read(&radl_path)).unwrap();
        // The two documented fixes: recipes keep their newlines, quotes are escaped.
        let reference = read(&txt)
            .replace("@begin\n", "@begin")
            .replace("\n@end", "@end");
        let ours = format!("{radl}\n").replace("\\'", "'");
        assert_eq!(ours, reference, "{}", radl_path.display());
    }
}

#[test]
fn printing_then_parsing_gives_the_same_model() {
    for (radl_path, _, _) in valid_documents() {
        let radl = parse_radl(&read(&radl_path)).unwrap();
        let printed = radl.to_string();
        let again = parse_radl(&printed)
            .unwrap_or_else(|e| panic!("{}: {e}\n{printed}", radl_path.display()));
        assert_eq!(again, radl, "{}", radl_path.display());
        assert_eq!(
            again.to_string(),
            printed,
            "printing is stable: {}",
            radl_path.display()
        );
    }
}

#[test]
fn the_json_form_reads_back_to_the_same_json() {
    for (radl_path, json_path, _) in valid_documents() {
        let stem = radl_path.file_stem().unwrap().to_str().unwrap();
        let text = read(&json_path);
        let parsed = parse_radl_json(&text);
        if stem == "lambda" || stem == "oscar" {
            // Lists of plain strings are only valid for image.url and
            // additional_dns_names (the reference crashes on these too).
            let err = parsed.expect_err("string lists elsewhere are rejected");
            assert_eq!(err.kind, ErrorKind::Json);
            continue;
        }
        let radl = parsed.unwrap_or_else(|e| panic!("{}: {e}", json_path.display()));
        let expected: J = serde_json::from_str(&text).unwrap();
        assert_eq!(canonical(&radl), expected, "{}", json_path.display());
    }
}

/// How our message relates to the reference's for one invalid document.
enum Expect {
    /// Our message starts with the reference's (we may add what was expected).
    SameWords,
    /// A documented deviation: our message starts with this text.
    Ours(&'static str),
    /// A documented deviation: the document is valid for us.
    Accepted,
}

fn deviation(file: &str) -> Expect {
    match file {
        // Real line numbers: newlines inside strings are counted.
        "53.radl" => Expect::Ours("Line 5: Invalid value; expected one of ['I386', 'X86_64']"),
        // 'random(N)' works for every N.
        "13.radl" => Expect::Accepted,
        // Python crashes in the reference: our own messages.
        "56.radl" => Expect::Ours("Line 1: Parse error: unbalanced ')'"),
        "43.radl" => Expect::Ours("Line 2: Invalid type; expected a string or a list of strings"),
        "37.radl" => Expect::Ours("Line 2: Invalid YAML code: "),
        "j01.json" => Expect::Ours("A JSON RADL element needs a string 'class'"),
        "j02.json" => Expect::Ours("Unknown JSON RADL class 'vm'"),
        "j03.json" => Expect::Ours("Feature "),
        "j04.json" => Expect::Ours("'"),
        "j05.json" => Expect::Ours("Configure "),
        "j06.json" => Expect::Ours("Error parsing YAML: "),
        "j07.json" => Expect::Ours("A JSON RADL deploy needs a numeric 'vm_number'"),
        "j08.json" => Expect::Ours("A JSON RADL document must be a list of objects"),
        "j10.json" => Expect::Ours("An ansible element cannot be a reference"),
        "j11.json" => Expect::SameWords,
        "j12.json" => Expect::Ours("Invalid JSON: "),
        _ => Expect::SameWords,
    }
}

#[test]
fn every_invalid_document_is_rejected_with_the_reference_words() {
    let dir = fixtures().join("invalid");
    let expected: J = serde_json::from_str(&read(&dir.join("expected.json"))).unwrap();
    let cases = expected.as_object().unwrap();
    assert!(cases.len() >= 60);
    for (file, case) in cases {
        let text = read(&dir.join(file));
        let parsed = if case["input"] == "json" {
            parse_radl_json(&text)
        } else {
            parse_radl(&text)
        };
        let result = parsed.and_then(|r| r.check().map(|()| r));
        let reference = case["error"].as_str().unwrap();
        match deviation(file) {
            Expect::Accepted => {
                let radl = result.unwrap_or_else(|e| panic!("{file}: {e}"));
                let pw = radl.systems[0]
                    .features
                    .get_str("disk.0.os.credentials.password")
                    .unwrap();
                assert_eq!(pw.len(), 12, "{file}");
            }
            Expect::SameWords => {
                let err = result
                    .err()
                    .unwrap_or_else(|| panic!("{file} was accepted"));
                let msg = err.to_string();
                assert!(
                    msg.starts_with(reference),
                    "{file}: {msg:?} vs {reference:?}"
                );
                let stage = if err.kind == ErrorKind::Check {
                    "check"
                } else {
                    "parse"
                };
                assert_eq!(stage, case["stage"], "{file}: {msg}");
            }
            Expect::Ours(prefix) => {
                let err = result
                    .err()
                    .unwrap_or_else(|| panic!("{file} was accepted"));
                let msg = err.to_string();
                assert!(
                    msg.starts_with(prefix),
                    "{file}: {msg:?} should start with {prefix:?}"
                );
            }
        }
    }
}
