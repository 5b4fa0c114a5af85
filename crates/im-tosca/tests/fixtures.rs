//! Every TOSCA fixture with a reference RADL beside it converts to an
//! equivalent RADL: the same networks, systems and features, deploys (in
//! order), configure recipes (as parsed YAML) and contextualize steps.
//! Fixtures live in the project's `../shared/fixtures/tosca/`.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use im_radl::{FeatureDisplay, FeatureRef, Features, Radl, parse_radl};
use im_tosca::{DirFetcher, ParseOptions, Tosca, yaml};

fn fixtures() -> PathBuf {
    Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/fixtures/tosca"
    ))
    .to_path_buf()
}

fn fetcher() -> DirFetcher {
    DirFetcher::new(fixtures().join("remote"))
}

/// Templates whose conversion is not equivalent yet, with the reason.
const KNOWN_GAPS: &[(&str, &str)] = &[];

/// How the reference converted each fixture (see the fixtures' README).
fn convert(file: &str) -> Result<Radl, String> {
    let text = std::fs::read_to_string(fixtures().join(file)).map_err(|e| e.to_string())?;
    let f = fetcher();
    let mut opts = ParseOptions::new(&f);
    opts.id = Some("12345678-0000-0000-0000-000000000000");
    opts.access_token = Some("access_token");
    if file == "tosca_repo.yml" {
        opts.tosca_repo = Some("https://raw.githubusercontent.com/grycap/tosca/main/templates/");
    }
    let tosca = Tosca::parse(&text, &opts).map_err(|e| e.to_string())?;
    let conv = tosca.to_radl(None, &f).map_err(|e| e.to_string())?;
    // What we produce must also read back through the RADL parser.
    let printed = conv.radl.to_string();
    let again =
        parse_radl(&printed).map_err(|e| format!("our RADL does not parse: {e}\n{printed}"))?;
    again
        .check()
        .map_err(|e| format!("our RADL does not check: {e}\n{printed}"))?;
    Ok(conv.radl)
}

fn features(f: &Features) -> BTreeSet<String> {
    f.iter()
        .map(|r| match r {
            FeatureRef::Feature(x) => FeatureDisplay(x).to_string(),
            FeatureRef::Soft(s) => format!("soft {:?}", s),
        })
        .collect()
}

fn diff_sets(
    what: &str,
    ours: &BTreeSet<String>,
    theirs: &BTreeSet<String>,
    out: &mut Vec<String>,
) {
    for x in theirs.difference(ours) {
        out.push(format!("{what}: missing {x}"));
    }
    for x in ours.difference(theirs) {
        out.push(format!("{what}: extra {x}"));
    }
}

/// Every difference between our RADL and the reference's.
fn compare(ours: &Radl, theirs: &Radl) -> Vec<String> {
    let mut out = Vec::new();
    let ids = |r: &Radl| {
        r.networks
            .iter()
            .map(|n| n.id.clone())
            .collect::<BTreeSet<_>>()
    };
    diff_sets("networks", &ids(ours), &ids(theirs), &mut out);
    for n in &theirs.networks {
        if let Some(m) = ours.get_network(&n.id) {
            diff_sets(
                &format!("network {}", n.id),
                &features(&m.features),
                &features(&n.features),
                &mut out,
            );
        }
    }
    let names = |r: &Radl| {
        r.systems
            .iter()
            .map(|s| s.name.clone())
            .collect::<BTreeSet<_>>()
    };
    diff_sets("systems", &names(ours), &names(theirs), &mut out);
    for s in &theirs.systems {
        if let Some(m) = ours.get_system(&s.name) {
            diff_sets(
                &format!("system {}", s.name),
                &features(&m.features),
                &features(&s.features),
                &mut out,
            );
        }
    }
    let confs = |r: &Radl| {
        r.configures
            .iter()
            .map(|c| c.name.clone())
            .collect::<BTreeSet<_>>()
    };
    diff_sets("configures", &confs(ours), &confs(theirs), &mut out);
    for c in &theirs.configures {
        let Some(m) = ours.get_configure(&c.name) else {
            continue;
        };
        let parse = |t: &Option<String>| {
            t.as_deref()
                .map(|t| yaml::parse_value(t).map_err(|e| e.message))
        };
        match (parse(&m.recipes), parse(&c.recipes)) {
            (Some(Ok(a)), Some(Ok(b))) if a == b => {}
            (None, None) => {}
            (a, b) => out.push(format!(
                "configure {}: recipes differ\n--- ours\n{}\n--- reference\n{}\n(parsed: {:?} vs {:?})",
                c.name,
                m.recipes.as_deref().unwrap_or("<none>"),
                c.recipes.as_deref().unwrap_or("<none>"),
                a.map(|x| x.map(|v| v.py_str())),
                b.map(|x| x.map(|v| v.py_str()))
            )),
        }
    }
    let deploys = |r: &Radl| {
        r.deploys
            .iter()
            .map(|d| {
                format!(
                    "{} {} {}",
                    d.system,
                    d.vm_number,
                    d.cloud_id.clone().unwrap_or_default()
                )
            })
            .collect::<Vec<_>>()
    };
    if deploys(ours) != deploys(theirs) {
        out.push(format!(
            "deploys: ours {:?}, reference {:?}",
            deploys(ours),
            deploys(theirs)
        ));
    }
    let items = |r: &Radl| {
        r.contextualize
            .items
            .iter()
            .flat_map(|m| m.values())
            .map(|i| {
                format!(
                    "system {} configure {} step {}",
                    i.system, i.configure, i.step
                )
            })
            .collect::<BTreeSet<_>>()
    };
    diff_sets("contextualize", &items(ours), &items(theirs), &mut out);
    if ours.contextualize.is_present() != theirs.contextualize.is_present() {
        out.push("contextualize: presence differs".into());
    }
    let desc = |r: &Radl| {
        r.description
            .as_ref()
            .map(|d| features(&d.features))
            .unwrap_or_default()
    };
    diff_sets("description", &desc(ours), &desc(theirs), &mut out);
    let ansible = |r: &Radl| {
        r.ansible_hosts
            .iter()
            .flat_map(|a| {
                features(&a.features)
                    .into_iter()
                    .map(move |f| format!("{} {f}", a.id))
            })
            .collect::<BTreeSet<_>>()
    };
    diff_sets("ansible", &ansible(ours), &ansible(theirs), &mut out);
    out
}

fn templates_with_reference() -> Vec<String> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(fixtures()).expect("the shared fixtures are beside the repository") {
        let name = e
            .expect("dir entry")
            .file_name()
            .to_string_lossy()
            .to_string();
        if (name.ends_with(".yml") || name.ends_with(".yaml"))
            && let Some(stem) = name.rsplit_once('.').map(|(s, _)| s)
            && fixtures().join(format!("{stem}.radl")).exists()
        {
            out.push(name);
        }
    }
    out.sort();
    out
}

#[test]
fn every_fixture_converts_to_a_radl_equivalent_to_the_reference() {
    let mut report = Vec::new();
    let mut equivalent = Vec::new();
    for file in templates_with_reference() {
        let stem = file.rsplit_once('.').map(|(s, _)| s).unwrap_or(&file);
        let reference = std::fs::read_to_string(fixtures().join(format!("{stem}.radl")))
            .expect("reference radl");
        let theirs = parse_radl(&reference).expect("the reference RADL parses");
        let problems = match convert(&file) {
            Ok(ours) => compare(&ours, &theirs),
            Err(e) => vec![format!("conversion failed: {e}")],
        };
        let gap = KNOWN_GAPS.iter().find(|(f, _)| *f == file);
        match (problems.is_empty(), gap) {
            (true, None) => equivalent.push(file),
            (true, Some(_)) => {
                report.push(format!("{file}: equivalent now; remove it from KNOWN_GAPS"))
            }
            (false, Some(_)) => {}
            (false, None) => report.push(format!("{file}:\n  {}", problems.join("\n  "))),
        }
    }
    assert!(
        equivalent.len() + KNOWN_GAPS.len() >= 19,
        "fixtures missing: {equivalent:?}"
    );
    assert!(report.is_empty(), "{}", report.join("\n\n"));
}

#[test]
fn templates_the_reference_rejects_are_rejected_with_its_reason() {
    let cases = [
        (
            "tosca.yml",
            "InvalidTypeError: Type \"tosca.nodes.WebServer.Apache\" is not a valid type.",
        ),
        (
            "galaxy_tosca.yml",
            "InvalidTypeError: Type \"tosca.nodes.indigo.GalaxyShedTool\" is not a valid type.",
        ),
        (
            "clues_tosca.yml",
            "InvalidTypeError: Type \"tosca.nodes.indigo.ElasticCluster\" is not a valid type.",
        ),
        ("tosca_radiomics.yaml", "ValueError: \"1\" is not a float."),
    ];
    for (file, expected) in cases {
        match convert(file) {
            Ok(_) => panic!("{file} should be rejected"),
            Err(e) => assert!(e.contains(expected), "{file}: {e}"),
        }
    }
}

#[test]
fn the_comparison_notices_a_changed_feature_recipe_or_deploy() {
    let ours = convert("tosca_create.yml").expect("converts");
    assert!(compare(&ours, &ours).is_empty());
    let mut changed = ours.clone();
    if let Some(s) = changed.get_system_mut("web_server") {
        s.features.set_value(
            "cpu.count",
            im_radl::Value::Number(im_radl::Number::Int(2)),
            "",
        );
    }
    changed.deploys.reverse();
    if let Some(c) = changed.configures.first_mut() {
        c.recipes = Some("- tasks: []\n".into());
    }
    let problems = compare(&changed, &ours);
    assert_eq!(problems.len(), 4, "{problems:#?}");
}
