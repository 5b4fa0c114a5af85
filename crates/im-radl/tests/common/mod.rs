//! Generators of RADL documents shared by the property and differential tests.

#![allow(dead_code)] // each test file uses a subset

use proptest::prelude::*;

/// A string value: quotes, `#`, newlines, unicode, but no backslash (RADL
/// cannot write a backslash right before a quote or at the end of a string).
pub fn string_value() -> impl Strategy<Value = String> {
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

pub fn document() -> impl Strategy<Value = String> {
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
