//! Special input values, `template_file` imports, the stored form and the
//! document id (spec/tosca.md §2.3, §2.4, §3.14).

use im_tosca::{MapFetcher, NoFetcher, ParseOptions, Tosca, is_tosca_media_type, yaml};

const DOC: &str = "tosca_definitions_version: tosca_simple_yaml_1_0
topology_template:
  inputs:
    pass: {type: string, default: random(12)}
    token: {type: string, default: access_token()}
    not_string: {type: integer, default: 3}
  node_templates:
    vm:
      type: tosca.nodes.Compute
  outputs:
    pass: {value: {get_input: pass}}
    token: {value: {get_input: token}}
";

#[test]
fn random_inputs_get_a_value_once_and_it_is_stored() {
    let tosca = Tosca::parse(DOC, &ParseOptions::new(&NoFetcher)).expect("parses");
    let out = tosca.outputs(None).expect("outputs");
    let pass = out["pass"].as_str().expect("a string").to_string();
    assert_eq!(pass.len(), 12);
    assert!(pass.chars().all(|c| c.is_ascii_alphanumeric()));
    // Without IM credentials the token input keeps its text.
    assert_eq!(out["token"], "access_token()");
    // The stored document holds the value, so reading it again keeps it.
    let again = Tosca::from_stored(&tosca.to_yaml(), tosca.id(), &NoFetcher).expect("stored");
    assert_eq!(again.outputs(None).expect("outputs")["pass"], pass.as_str());
    assert_eq!(again.id(), tosca.id());
}

#[test]
fn the_access_token_input_takes_the_user_s_token() {
    let mut opts = ParseOptions::new(&NoFetcher);
    opts.access_token = Some("the-token");
    let tosca = Tosca::parse(DOC, &opts).expect("parses");
    assert_eq!(tosca.outputs(None).expect("outputs")["token"], "the-token");
    assert!(tosca.to_yaml().contains("the-token"));
}

#[test]
fn a_template_file_import_builds_on_a_template_of_the_repository() {
    let repo = "https://repo.example/templates/";
    let mut f = MapFetcher::new();
    f.insert(
        "https://repo.example/templates/base.yml",
        "tosca_definitions_version: tosca_simple_yaml_1_0
topology_template:
  inputs:
    cpus: {type: integer, default: 1}
  node_templates:
    vm:
      type: tosca.nodes.Compute
      capabilities:
        host:
          properties:
            num_cpus: {get_input: cpus}
",
    );
    let child = "tosca_definitions_version: tosca_simple_yaml_1_0
imports:
  - template_file: base.yml
topology_template:
  inputs:
    cpus: 16
";
    let mut opts = ParseOptions::new(&f);
    opts.tosca_repo = Some(repo);
    let conv = Tosca::parse(child, &opts)
        .and_then(|t| t.to_radl(None, &f))
        .expect("converts");
    let vm = conv.radl.get_system("vm").expect("system vm");
    assert_eq!(
        vm.features.get_number("cpu.count", ""),
        Some(im_radl::Number::Int(16))
    );

    let err = Tosca::parse(child, &ParseOptions::new(&f)).expect_err("no repository");
    assert!(
        err.to_string()
            .contains("Relative file name \"base.yml\" cannot be used"),
        "{err}"
    );
    let outside = child.replace("base.yml", "https://elsewhere.example/base.yml");
    let err = Tosca::parse(&outside, &opts).expect_err("outside the repository");
    assert!(
        err.to_string()
            .contains("The TOSCA template must be imported from the TOSCA repository: https://repo.example/templates/"),
        "{err}"
    );
}

#[test]
fn container_system_names_keep_the_document_id() {
    let doc = "tosca_definitions_version: tosca_simple_yaml_1_0
imports:
  - g: https://raw.githubusercontent.com/grycap/tosca/main/custom_types.yaml
topology_template:
  node_templates:
    web_app:
      type: tosca.nodes.Container.Application.Docker
      artifacts:
        image:
          file: nginx
          type: tosca.artifacts.Deployment.Image.Container.Docker
";
    let mut opts = ParseOptions::new(&NoFetcher);
    opts.id = Some("abcdef0123456789");
    let tosca = Tosca::parse(doc, &opts).expect("parses");
    let name = |t: &Tosca| {
        t.to_radl(None, &NoFetcher).expect("converts").radl.systems[0]
            .name
            .clone()
    };
    assert_eq!(name(&tosca), "web-app-abcdef01");
    let again = Tosca::from_stored(&tosca.to_yaml(), tosca.id(), &NoFetcher).expect("stored");
    assert_eq!(name(&again), "web-app-abcdef01");
    // A new document gets a fresh id.
    let other = Tosca::parse(doc, &ParseOptions::new(&NoFetcher)).expect("parses");
    assert_ne!(other.id(), tosca.id());
}

#[test]
fn the_stored_form_reads_back_to_the_same_document() {
    let tosca = Tosca::parse(DOC, &ParseOptions::new(&NoFetcher)).expect("parses");
    assert_eq!(
        &yaml::parse_value(&tosca.to_yaml()).expect("yaml"),
        tosca.document()
    );
}

#[test]
fn tosca_bodies_are_recognised_by_their_media_type() {
    for ct in [
        "text/yaml",
        "application/yaml; charset=utf-8",
        "text/x-yaml",
        "Text/YAML",
    ] {
        assert!(is_tosca_media_type(ct), "{ct}");
    }
    for ct in ["text/plain", "application/json", "*/*"] {
        assert!(!is_tosca_media_type(ct), "{ct}");
    }
}
