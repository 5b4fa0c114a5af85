//! Differential check against reference conversions made elsewhere:
//! `cargo run -p im-tosca --example compare -- DIR MIRROR_DIR`.
//!
//! For every `DIR/NAME.yml` with a `NAME.radl` (the reference's RADL) the
//! conversion must be equivalent (networks, systems and features, configure
//! recipes as parsed YAML, deploys, contextualize steps); with a `NAME.err`
//! (the reference refused it) ours must refuse it too. Prints one line per
//! document and the differences; exits 1 when any.

use std::collections::BTreeSet;

use im_radl::{FeatureDisplay, FeatureRef, Features, Radl, parse_radl};
use im_tosca::{DirFetcher, ParseOptions, Tosca, yaml};

fn features(f: &Features) -> BTreeSet<String> {
    f.iter()
        .map(|r| match r {
            FeatureRef::Feature(x) => FeatureDisplay(x).to_string(),
            FeatureRef::Soft(s) => format!("soft {s:?}"),
        })
        .collect()
}

fn diff(what: &str, ours: &BTreeSet<String>, theirs: &BTreeSet<String>, out: &mut Vec<String>) {
    out.extend(
        theirs
            .difference(ours)
            .map(|x| format!("{what}: missing {x}")),
    );
    out.extend(
        ours.difference(theirs)
            .map(|x| format!("{what}: extra {x}")),
    );
}

fn compare(ours: &Radl, theirs: &Radl) -> Vec<String> {
    let mut out = Vec::new();
    let nets = |r: &Radl| {
        r.networks
            .iter()
            .map(|n| n.id.clone())
            .collect::<BTreeSet<_>>()
    };
    diff("networks", &nets(ours), &nets(theirs), &mut out);
    for n in &theirs.networks {
        if let Some(m) = ours.get_network(&n.id) {
            diff(
                &format!("network {}", n.id),
                &features(&m.features),
                &features(&n.features),
                &mut out,
            );
        }
    }
    let systems = |r: &Radl| {
        r.systems
            .iter()
            .map(|s| s.name.clone())
            .collect::<BTreeSet<_>>()
    };
    diff("systems", &systems(ours), &systems(theirs), &mut out);
    for s in &theirs.systems {
        if let Some(m) = ours.get_system(&s.name) {
            diff(
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
    diff("configures", &confs(ours), &confs(theirs), &mut out);
    for c in &theirs.configures {
        let Some(m) = ours.get_configure(&c.name) else {
            continue;
        };
        let p = |t: &Option<String>| t.as_deref().map(|t| yaml::parse_value(t).ok());
        if p(&m.recipes) != p(&c.recipes) {
            out.push(format!(
                "configure {}: recipes differ\n--- ours\n{}\n--- reference\n{}",
                c.name,
                m.recipes.as_deref().unwrap_or("<none>"),
                c.recipes.as_deref().unwrap_or("<none>")
            ));
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
            .map(|i| format!("{} {} {}", i.system, i.configure, i.step))
            .collect::<BTreeSet<_>>()
    };
    diff("contextualize", &items(ours), &items(theirs), &mut out);
    let desc = |r: &Radl| {
        r.description
            .as_ref()
            .map(|d| features(&d.features))
            .unwrap_or_default()
    };
    diff("description", &desc(ours), &desc(theirs), &mut out);
    out
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (Some(dir), Some(mirror)) = (args.get(1), args.get(2)) else {
        eprintln!("usage: compare DIR MIRROR_DIR");
        std::process::exit(2);
    };
    let fetcher = DirFetcher::new(mirror);
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{dir}: {e}"))
        .filter_map(|e| {
            e.ok()?
                .file_name()
                .to_str()?
                .strip_suffix(".yml")
                .map(str::to_string)
        })
        .collect();
    names.sort();
    let (mut same, mut different) = (0, 0);
    for name in names {
        let read = |ext: &str| std::fs::read_to_string(format!("{dir}/{name}.{ext}")).ok();
        let Some(text) = read("yml") else { continue };
        let mut opts = ParseOptions::new(&fetcher);
        opts.id = Some("12345678-0000-0000-0000-000000000000");
        let ours = Tosca::parse(&text, &opts).and_then(|t| t.to_radl(None, &fetcher));
        let problems = match (ours, read("radl"), read("err")) {
            (Ok(c), Some(r), _) => match parse_radl(&r) {
                Ok(theirs) => compare(&c.radl, &theirs),
                Err(e) => vec![format!("the reference RADL does not parse: {e}")],
            },
            (Err(e), Some(_), _) => vec![format!("we refuse it: {e}")],
            (Ok(_), None, Some(e)) => vec![format!(
                "the reference refused it: {}",
                e.lines().take(4).collect::<Vec<_>>().join(" | ")
            )],
            (Err(_), None, Some(_)) => Vec::new(),
            (_, None, None) => continue,
        };
        if problems.is_empty() {
            same += 1;
            println!("same      {name}");
        } else {
            different += 1;
            println!("DIFFERENT {name}\n  {}", problems.join("\n  "));
        }
    }
    println!("{same} same, {different} different");
    std::process::exit(i32::from(different > 0));
}
