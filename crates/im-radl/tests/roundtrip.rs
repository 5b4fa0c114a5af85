//! Property tests: generated documents survive parse → print → parse, and no
//! input makes the parsers panic.

use im_radl::{parse_radl, parse_radl_json, radl_to_json};
use proptest::prelude::*;

/// A string value: quotes, `#`, newlines, unicode, but no backslash (RADL
/// cannot write a backslash right before a quote or at the end of a string).
fn string_value() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9 '#\n\";é=(),@._-]{0,16}"
}

fn number() -> impl Strategy<Value = String> {
    prop_oneof![
        (0u64..10_000_000_000).prop_map(|n| n.to_string()),
        (0u32..100_000, 0u32..1000).prop_map(|(a, b)| format!("{a}.{b}")),
        (0u32..1000).prop_map(|a| format!("{a}.")),
    ]
}

fn unit() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec!["", "", "M", "GiB", "KB", "g", "ECU", " T"])
}

fn comparator() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec!["=", "<", ">", "<=", ">="])
}

/// One feature named `name`, of any kind.
fn feature(name: String) -> impl Strategy<Value = String> {
    let n1 = name.clone();
    let n2 = name.clone();
    let n3 = name.clone();
    let n4 = name.clone();
    prop_oneof![
        (comparator(), number(), unit()).prop_map(move |(c, n, u)| format!("{n1} {c} {n}{u}")),
        string_value().prop_map(move |s| format!("{n2} = '{}'", s.replace('\'', "\\'"))),
        prop::collection::vec(string_value(), 0..3).prop_map(move |l| {
            let items: Vec<String> = l
                .iter()
                .map(|s| format!("'{}'", s.replace('\'', "\\'")))
                .collect();
            format!("{n3} = [{}]", items.join(","))
        }),
        (number(), number()).prop_map(move |(a, b)| format!("{n4} >= {a} and {n4} <= {a}{b}")),
        (string_value(), string_value()).prop_map(move |(app, v)| format!(
            "{name} contains (name = '{}' and version = '{}')",
            app.replace('\'', "\\'"),
            v.replace('\'', "\\'")
        )),
    ]
}

fn features(prefix: &'static str) -> impl Strategy<Value = String> {
    (0usize..6).prop_flat_map(move |n| {
        let feats: Vec<_> = (0..n)
            .map(|i| feature(format!("{prefix}.f{i}")).boxed())
            .collect();
        (
            feats,
            prop::option::of((0u32..100, feature("soft.x".into()))),
        )
            .prop_map(|(fs, soft)| {
                let mut all = fs;
                if let Some((w, f)) = soft {
                    all.push(format!("soft {w} ( {f} )"));
                }
                all.join(" and\n")
            })
    })
}

fn recipe() -> impl Strategy<Value = String> {
    prop::collection::vec("[a-z :'#\"-]{0,20}", 0..4).prop_map(|lines| {
        let mut r = String::from("\n");
        for l in lines {
            r.push_str(&l);
            r.push('\n');
        }
        r
    })
}

fn document() -> impl Strategy<Value = String> {
    (
        prop::option::of(features("desc")),
        prop::collection::vec(features("net"), 0..3),
        prop::collection::vec(features("sys"), 1..4),
        prop::collection::vec(prop::option::of(recipe()), 0..3),
        prop::option::of((0u32..5000, prop::bool::ANY)),
        prop::collection::vec((0u32..5, prop::bool::ANY), 0..3),
    )
        .prop_map(|(desc, nets, systems, confs, ctxt, deploys)| {
            let mut doc = String::new();
            if let Some(d) = desc {
                doc += &format!("description d (\n{d}\n)\n");
            }
            for (i, n) in nets.iter().enumerate() {
                doc += &format!("network n{i} ({n})\n");
            }
            doc += "network referenced\n";
            for (i, s) in systems.iter().enumerate() {
                doc += &format!("system s{i} (\n{s}\n)\n");
            }
            for (i, c) in confs.iter().enumerate() {
                match c {
                    Some(r) => doc += &format!("configure c{i} (\n@begin{r}@end\n)\n"),
                    None => doc += &format!("configure c{i} ()\n"),
                }
            }
            if let Some((t, items)) = ctxt {
                doc += &format!("contextualize {t} (\noption ansible_version = '2.9'\n");
                if items {
                    doc +=
                        "system s0 configure c0 step 2\nsystem s0 configure c1 with cloud_init\n";
                }
                doc += ")\n";
            }
            for (i, (n, cloud)) in deploys.iter().enumerate() {
                let cloud = if *cloud { " one" } else { "" };
                doc += &format!("deploy s{} {n}{cloud}\n", i % systems.len());
            }
            doc
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, max_global_rejects: 50_000, ..ProptestConfig::default() })]

    #[test]
    fn printing_a_parsed_document_parses_back_to_the_same_model(doc in document()) {
        let first = parse_radl(&doc).map_err(|e| TestCaseError::fail(format!("{e}\n{doc}")))?;
        let printed = first.to_string();
        let second = parse_radl(&printed).map_err(|e| TestCaseError::fail(format!("{e}\n{printed}")))?;
        prop_assert_eq!(&second, &first);
        prop_assert_eq!(second.to_string(), printed);
    }

    #[test]
    fn the_json_form_of_a_generated_document_reads_back_to_the_same_json(doc in document()) {
        // Lists of plain strings are only valid JSON RADL for image.url and
        // additional_dns_names, which the generator does not name.
        prop_assume!(!doc.contains("= ["));
        let radl = parse_radl(&doc).map_err(|e| TestCaseError::fail(format!("{e}\n{doc}")))?;
        // Recipes that are not YAML are refused by the JSON parser (check() does the same).
        prop_assume!(radl.configures.iter().all(|c| c.check().is_ok()));
        let json = radl_to_json(&radl);
        let back = parse_radl_json(&json.to_string())
            .map_err(|e| TestCaseError::fail(format!("{e}\n{json}")))?;
        prop_assert_eq!(radl_to_json(&back), json);
    }

    #[test]
    fn arbitrary_text_never_panics_the_parser(text in any::<String>()) {
        if let Ok(r) = parse_radl(&text) {
            let _ = r.check();
            let _ = parse_radl(&r.to_string());
        }
    }

    #[test]
    fn radl_shaped_noise_never_panics_the_parser(
        parts in prop::collection::vec(prop::sample::select(vec![
            "system", "network", "deploy", "configure", "contextualize", "description", "ansible",
            "soft", "and", "contains", "step", "with", "option", "(", ")", "[", "]", ",", "=", "<=",
            ">=", "<", ">", "'x'", "'random(3)'", "'random(99999999999)'", "12", "1.5", "M", "a", "b.c",
            "@begin\n", "@end", "\n", "#c\n", "'", "\\", "disk.0.applications", "net_interface.0.connection",
        ]), 0..40)
    ) {
        let text = parts.join(" ");
        if let Ok(r) = parse_radl(&text) {
            let _ = r.check();
            let _ = radl_to_json(&r);
        }
    }

    #[test]
    fn arbitrary_json_never_panics_the_json_parser(text in any::<String>()) {
        let _ = parse_radl_json(&text);
    }
}
