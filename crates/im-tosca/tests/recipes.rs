//! Recipes from operations: inputs become play vars with the values
//! tosca-parser leaves (string properties as text), playbooks are merged into
//! one play, artifacts are downloaded first.

use im_tosca::{MapFetcher, ParseOptions, Tosca, yaml};

const DOC: &str = "tosca_definitions_version: tosca_simple_yaml_1_0
repositories:
  files: https://files.example/data/
topology_template:
  node_templates:
    db:
      type: tosca.nodes.Database
      properties:
        user: 5
        port: 3306
      artifacts:
        dump:
          file: dump.sql
          repository: files
          type: tosca.artifacts.File
      requirements:
        - host: dbms
      interfaces:
        Standard:
          create:
            implementation: https://pb.example/create.yml
            inputs:
              user: { get_property: [ SELF, user ] }
              port: { get_property: [ SELF, port ] }
              data: { get_artifact: [ SELF, dump ] }
          start: https://pb.example/start.yml
    dbms:
      type: tosca.nodes.DBMS
      requirements:
        - host: vm
    vm:
      type: tosca.nodes.Compute
";

#[test]
fn operations_become_one_play_with_typed_vars_and_artifact_downloads() {
    let mut f = MapFetcher::new();
    f.insert(
        "https://pb.example/create.yml",
        "- hosts: localhost\n  connection: local\n  tasks:\n  - debug: msg={{ user }}\n",
    );
    f.insert(
        "https://pb.example/start.yml",
        "- hosts: all\n  tasks:\n  - service: name=db state=started\n",
    );
    let conv = Tosca::parse(DOC, &ParseOptions::new(&f))
        .and_then(|t| t.to_radl(None, &f))
        .expect("converts");
    let conf = conv
        .radl
        .get_configure("db_vm_conf")
        .expect("configure db_vm_conf");
    let recipe = yaml::parse_value(conf.recipes.as_deref().unwrap_or_default()).expect("yaml");
    let expected = yaml::parse_value(
        "- vars:
    user: '5'
    port: 3306
    data: /tmp/dump.sql
  tasks:
  - name: Download artifact https://files.example/data/dump.sql
    get_url: dest=/tmp/dump.sql url='https://files.example/data/dump.sql'
  - debug: msg={{ user }}
  - service: name=db state=started
",
    )
    .expect("yaml");
    assert_eq!(recipe, expected);
    let steps: Vec<String> = conv
        .radl
        .contextualize
        .items
        .iter()
        .flat_map(|m| m.values())
        .map(|i| format!("{} {} {}", i.system, i.configure, i.step))
        .collect();
    assert_eq!(steps, ["vm db_vm_conf 3"]);
}

#[test]
fn an_input_that_resolves_to_nothing_is_an_error_naming_it() {
    let doc = DOC
        .replace(
            "user: { get_property: [ SELF, user ] }",
            "user: { get_input: missing }",
        )
        .replace(
            "topology_template:\n",
            "topology_template:\n  inputs:\n    missing: {type: string}\n",
        );
    let mut f = MapFetcher::new();
    f.insert("https://pb.example/create.yml", "- tasks: []\n");
    f.insert("https://pb.example/start.yml", "- tasks: []\n");
    let err = Tosca::parse(&doc, &ParseOptions::new(&f))
        .and_then(|t| t.to_radl(None, &f))
        .expect_err("null input");
    assert_eq!(
        err.to_string(),
        "input value for user in interface create of node db not valid"
    );
}

#[test]
fn a_playbook_that_cannot_be_downloaded_is_named() {
    let f = MapFetcher::new();
    let err = Tosca::parse(DOC, &ParseOptions::new(&f))
        .and_then(|t| t.to_radl(None, &f))
        .expect_err("no playbook");
    assert_eq!(
        err.to_string(),
        "Error downloading the implementation script 'https://pb.example/create.yml': Not Found"
    );
}
