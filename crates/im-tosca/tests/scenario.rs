//! The reference's create → add → remove scenario (fixtures
//! `scenario_create_add_remove/`): the stored document is merged with each
//! posted one, deploys are deltas against the live VMs, scaling down yields the
//! removal list, and outputs read the live VMs.
//!
//! The fake infrastructure is the fixtures': VM N has public IP 158.42.1.(10+N)
//! on public interfaces, private IP 10.0.0.(10+N), credentials cloudadm/passN.

use std::path::{Path, PathBuf};

use im_radl::parse_radl;
use im_tosca::{DirFetcher, InfraView, ParseOptions, Tosca, VmView, yaml};
use serde_json::json;

fn fixtures() -> PathBuf {
    Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/fixtures/tosca"
    ))
    .to_path_buf()
}

fn read(name: &str) -> String {
    std::fs::read_to_string(fixtures().join(name)).expect("fixture")
}

fn parse(name: &str, f: &DirFetcher) -> Tosca {
    let mut opts = ParseOptions::new(f);
    opts.id = Some("12345678");
    Tosca::parse(&read(name), &opts).expect(name)
}

fn vm(n: i64, system: &str, public: bool) -> VmView {
    VmView {
        im_id: n,
        cloud_id: format!("cloud-{n}"),
        system_name: system.into(),
        creation: n as f64,
        public_ip: public.then(|| format!("158.42.1.{}", 10 + n)),
        private_ip: Some(format!("10.0.0.{}", 10 + n)),
        user: Some("cloudadm".into()),
        password: Some(format!("pass{n}")),
        ..VmView::default()
    }
}

fn deploys(radl: &im_radl::Radl) -> Vec<(String, String)> {
    radl.deploys
        .iter()
        .map(|d| (d.system.clone(), d.vm_number.to_string()))
        .collect()
}

/// Features as sorted RADL text (positions are not part of the comparison).
fn shown(f: &im_radl::Features) -> Vec<String> {
    let mut v: Vec<String> = f
        .iter()
        .map(|r| match r {
            im_radl::FeatureRef::Feature(x) => im_radl::FeatureDisplay(x).to_string(),
            im_radl::FeatureRef::Soft(s) => format!("{s:?}"),
        })
        .collect();
    v.sort();
    v
}

/// Systems and configures equal to the reference step's RADL.
fn same_definitions(ours: &im_radl::Radl, step: &str) {
    let theirs =
        parse_radl(&read(&format!("scenario_create_add_remove/{step}.radl"))).expect("reference");
    for s in &theirs.systems {
        let mine = ours
            .get_system(&s.name)
            .unwrap_or_else(|| panic!("{step}: no system {}", s.name));
        assert_eq!(
            shown(&mine.features),
            shown(&s.features),
            "{step}: system {}",
            s.name
        );
    }
    assert_eq!(ours.systems.len(), theirs.systems.len(), "{step}");
    for c in &theirs.configures {
        let mine = ours
            .get_configure(&c.name)
            .unwrap_or_else(|| panic!("{step}: no configure {}", c.name));
        let p =
            |t: &Option<String>| yaml::parse_value(t.as_deref().unwrap_or_default()).expect("yaml");
        assert_eq!(
            p(&mine.recipes),
            p(&c.recipes),
            "{step}: configure {}",
            c.name
        );
    }
    assert_eq!(ours.configures.len(), theirs.configures.len(), "{step}");
    let steps = |r: &im_radl::Radl| {
        let mut v: Vec<String> = r
            .contextualize
            .items
            .iter()
            .flat_map(|m| m.values())
            .map(|i| format!("{} {} {}", i.system, i.configure, i.step))
            .collect();
        v.sort();
        v
    };
    assert_eq!(steps(ours), steps(&theirs), "{step}");
}

#[test]
fn create_add_and_remove_follow_the_reference_scenario() {
    let f = DirFetcher::new(fixtures().join("remote"));

    // 1. create: absolute counts.
    let stored = parse("tosca_create.yml", &f);
    let step1 = stored.to_radl(None, &f).expect("create");
    assert_eq!(
        deploys(&step1.radl),
        [
            ("web_server".into(), "1".into()),
            ("db_server".into(), "1".into())
        ]
    );
    assert!(step1.removal_list.is_empty());
    same_definitions(&step1.radl, "step1_create");
    let mut infra = InfraView {
        vms: vec![vm(0, "web_server", true), vm(1, "db_server", false)],
    };
    let outputs = stored.outputs(Some(&infra)).expect("outputs");
    assert_eq!(outputs["server_url"], json!(["158.42.1.10"]));
    assert_eq!(
        outputs["server_creds"],
        json!({"user": "cloudadm", "token": "pass0", "token_type": "password"})
    );
    assert_eq!(outputs["server_creds_password"], json!("pass0"));
    assert_eq!(outputs["ansible_output"], json!(null));

    // 2. add: db_server becomes indigo.Compute with count 2 → one more VM.
    let posted = parse("tosca_add.yml", &f);
    let stored = stored.merge(&posted, &f).expect("merge add");
    let step2 = stored.to_radl(Some(&infra), &f).expect("add");
    assert_eq!(deploys(&step2.radl), [("db_server".into(), "1".into())]);
    assert!(step2.removal_list.is_empty());
    same_definitions(&step2.radl, "step2_add");
    infra.vms.push(vm(2, "db_server", false));

    // 3. remove: count 1 with removal_list ['2'].
    let posted = parse("tosca_remove.yml", &f);
    let stored = stored.merge(&posted, &f).expect("merge remove");
    let step3 = stored.to_radl(Some(&infra), &f).expect("remove");
    assert!(step3.radl.deploys.is_empty());
    assert_eq!(step3.removal_list, [2]);
    same_definitions(&step3.radl, "step3_remove");
    infra.vms.retain(|v| v.im_id != 2);

    // The merged document is the reference's stored one, minus the applied
    // removal list (IM-compat: the reference keeps it).
    let stored = stored.without_removal_lists();
    let mut expected =
        yaml::parse_value(&read("scenario_create_add_remove/stored_after_remove.yml"))
            .expect("yaml");
    if let Some(props) = expected
        .as_map_mut()
        .and_then(|m| m.get_mut("topology_template"))
        .and_then(yaml::Value::as_map_mut)
        .and_then(|m| m.get_mut("node_templates"))
        .and_then(yaml::Value::as_map_mut)
        .and_then(|m| m.get_mut("db_server"))
        .and_then(yaml::Value::as_map_mut)
        .and_then(|m| m.get_mut("capabilities"))
        .and_then(yaml::Value::as_map_mut)
        .and_then(|m| m.get_mut("scalable"))
        .and_then(yaml::Value::as_map_mut)
        .and_then(|m| m.get_mut("properties"))
        .and_then(yaml::Value::as_map_mut)
    {
        props.shift_remove("removal_list");
    }
    assert_eq!(stored.document(), &expected);
    assert_eq!(
        yaml::parse_value(&stored.to_yaml()).expect("yaml"),
        expected
    );
    let outputs = stored.outputs(Some(&infra)).expect("outputs");
    assert_eq!(outputs["server_url"], json!(["158.42.1.10"]));
    assert_eq!(outputs["server_creds_password"], json!("pass0"));

    // 4. re-posting with count 0 and no list removes the oldest live db_server
    // (the reference would pick the stale id 2 again).
    let posted = parse("tosca_remove_no_list.yml", &f);
    let mut doc = posted.document().clone();
    let count = doc
        .as_map_mut()
        .and_then(|m| m.get_mut("topology_template"))
        .and_then(yaml::Value::as_map_mut)
        .and_then(|m| m.get_mut("node_templates"))
        .and_then(yaml::Value::as_map_mut)
        .and_then(|m| m.get_mut("db_server"))
        .and_then(yaml::Value::as_map_mut)
        .and_then(|m| m.get_mut("capabilities"))
        .and_then(yaml::Value::as_map_mut)
        .and_then(|m| m.get_mut("scalable"))
        .and_then(yaml::Value::as_map_mut)
        .and_then(|m| m.get_mut("properties"))
        .and_then(yaml::Value::as_map_mut)
        .expect("scalable properties");
    count.insert("count".into(), yaml::Value::Int(0));
    let mut opts = ParseOptions::new(&f);
    opts.id = Some("12345678");
    let posted = Tosca::parse(&yaml::to_yaml(&doc, false, false), &opts).expect("count 0");
    let stored = stored.merge(&posted, &f).expect("merge count 0");
    let step4 = stored.to_radl(Some(&infra), &f).expect("count 0");
    assert_eq!(step4.removal_list, [1]);
    assert!(step4.radl.deploys.is_empty());
}

#[test]
fn a_partial_document_scales_one_node() {
    let f = DirFetcher::new(fixtures().join("remote"));
    let stored = parse("tosca_create.yml", &f);
    let partial = "tosca_definitions_version: tosca_simple_yaml_1_0\n\
imports:\n  - indigo_custom_types: https://raw.githubusercontent.com/indigo-dc/tosca-types/master/custom_types.yaml\n\
topology_template:\n  node_templates:\n    db_server:\n      type: tosca.nodes.indigo.Compute\n      capabilities:\n        scalable:\n          properties:\n            count: 3\n";
    let posted = Tosca::parse(partial, &ParseOptions::new(&f)).expect("partial");
    let merged = stored.merge(&posted, &f).expect("merge");
    let infra = InfraView {
        vms: vec![vm(0, "web_server", true), vm(1, "db_server", false)],
    };
    let conv = merged.to_radl(Some(&infra), &f).expect("convert");
    assert_eq!(deploys(&conv.radl), [("db_server".into(), "2".into())]);
    // Every system and configure is sent again.
    assert_eq!(conv.radl.systems.len(), 2);
    assert!(conv.radl.get_configure("test_db_db_server_conf").is_some());
}

#[test]
fn outputs_without_an_infrastructure_are_the_deploy_time_forms() {
    let f = DirFetcher::new(fixtures().join("remote"));
    let report: serde_json::Value =
        serde_json::from_str(&read("_generation_report.json")).expect("report json");
    for (file, entry) in report.as_object().expect("object") {
        let Some(expected) = entry.get("outputs_without_infra") else {
            continue;
        };
        let mut opts = ParseOptions::new(&f);
        opts.id = Some("12345678-0000");
        opts.access_token = Some("access_token");
        if file == "tosca_repo.yml" {
            opts.tosca_repo =
                Some("https://raw.githubusercontent.com/grycap/tosca/main/templates/");
        }
        let tosca = Tosca::parse(&read(file), &opts).expect(file);
        let mut outputs = serde_json::to_value(tosca.outputs(None).expect(file)).expect("json");
        // random(8) gave 'aaaaaaaa' in the reference run.
        if file == "tosca_input_funcs.yml" {
            let pass = outputs["some_pass"].as_str().expect("string").to_string();
            assert_eq!(pass.len(), 8);
            assert!(pass.chars().all(|c| c.is_ascii_alphanumeric()));
            outputs["some_pass"] = json!("aaaaaaaa");
        }
        assert_eq!(&outputs, expected, "{file}");
    }
}

/// A VM of a hybrid infrastructure: its image's cloud and its networks.
fn hybrid_vm(n: i64, system: &str, image: &str, net: &str, public: bool) -> VmView {
    VmView {
        im_id: n,
        system_name: system.into(),
        creation: n as f64,
        image_url: Some(image.into()),
        networks: vec![(net.into(), public)],
        ..VmView::default()
    }
}

#[test]
fn a_private_network_is_split_when_systems_of_another_cloud_join_it() {
    let f = DirFetcher::new(fixtures().join("remote"));
    // The reference's test_tosca_add_hybrid1 (its mocked networks read as public).
    let tosca = parse("tosca_add_hybrid_l2.yml", &f);
    let infra = InfraView {
        vms: vec![
            hybrid_vm(
                0,
                "lrms_server",
                "ost://cloud1.com/image1",
                "network1",
                true,
            ),
            hybrid_vm(1, "lrms_wn", "ost://cloud1.com/image1", "network1", true),
        ],
    };
    let radl = tosca.to_radl(Some(&infra), &f).expect("add").radl;
    let wn = radl.get_system("lrms_wn").expect("lrms_wn");
    assert_eq!(
        wn.features.get_str("net_interface.0.connection"),
        Some("network2")
    );
    // test_tosca_add_hybrid2: the deployed VMs' private networks count.
    let tosca = parse("tosca_add_hybrid.yml", &f);
    let infra = InfraView {
        vms: vec![
            hybrid_vm(
                0,
                "lrms_server",
                "ost://cloud1.com/image1",
                "private_net",
                false,
            ),
            hybrid_vm(
                1,
                "lrms_wn",
                "ost://cloud3.com/image1",
                "private.cloud3.com",
                false,
            ),
        ],
    };
    let radl = tosca.to_radl(Some(&infra), &f).expect("add").radl;
    let wn = radl.get_system("lrms_wn").expect("lrms_wn");
    assert_eq!(
        wn.features.get_str("net_interface.0.connection"),
        Some("private.cloud2.com")
    );
}

#[test]
fn attributes_stay_jinja_text_in_recipes_even_when_vms_exist() {
    // The reference's test_tosca_param_get_att.
    let f = DirFetcher::new(fixtures().join("remote"));
    let tosca = parse("tosca_param_get_att.yml", &f);
    let mut server = vm(0, "server", true);
    server.public_ip = Some("8.8.8.8".into());
    let infra = InfraView { vms: vec![server] };
    let radl = tosca.to_radl(Some(&infra), &f).expect("add").radl;
    let conf = radl
        .get_configure("test_server_conf")
        .expect("test_server_conf");
    let recipe = yaml::parse_value(conf.recipes.as_deref().unwrap_or_default()).expect("yaml");
    let wn_ips = recipe
        .as_list()
        .and_then(|l| l[0].get("vars"))
        .and_then(|v| v.get("wn_ips"))
        .cloned();
    assert_eq!(
        wn_ips,
        Some(yaml::Value::List(vec![yaml::Value::str(
            "{{ hostvars[groups['server'][0]]['IM_NODE_PUBLIC_IP'] }}"
        )]))
    );
    // One VM of the two requested exists: one more is deployed.
    assert_eq!(deploys(&radl), [("server".into(), "1".into())]);
}
