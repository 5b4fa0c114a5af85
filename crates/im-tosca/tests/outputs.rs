//! Outputs against live VMs for containers and functions (spec/tosca.md §4.3):
//! a container's `endpoints`, an OSCAR function's `endpoint` and `credential`.

use std::path::{Path, PathBuf};

use im_tosca::{CloudView, DirFetcher, InfraView, ParseOptions, Tosca, VmPort, VmView};
use serde_json::json;

fn fixtures() -> PathBuf {
    Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/fixtures/tosca"
    ))
    .to_path_buf()
}

fn parse(name: &str) -> Tosca {
    let f = DirFetcher::new(fixtures().join("remote"));
    let mut opts = ParseOptions::new(&f);
    opts.id = Some("12345678-0000");
    let text = std::fs::read_to_string(fixtures().join(name)).expect("fixture");
    Tosca::parse(&text, &opts).expect(name)
}

#[test]
fn container_endpoints_are_the_published_dns_name_or_the_service_name_and_port() {
    let tosca = parse("tosca_k8s.yml");
    let infra = InfraView {
        vms: vec![
            VmView {
                im_id: 0,
                system_name: "im-container-12345678".into(),
                public_ip: Some("8.8.8.8".into()),
                dns_name: Some("https://im.domain.com/im".into()),
                outports: vec![VmPort {
                    public: true,
                    remote: 30880,
                    local: 8800,
                }],
                ..VmView::default()
            },
            VmView {
                im_id: 1,
                system_name: "mysql-container-12345678".into(),
                outports: vec![VmPort {
                    public: false,
                    remote: 3306,
                    local: 3306,
                }],
                ..VmView::default()
            },
        ],
    };
    let out = tosca.outputs(Some(&infra)).expect("outputs");
    assert_eq!(
        out["im_service_endpoint"],
        json!("https://im.domain.com/im")
    );
    assert_eq!(
        out["mysql_service_endpoint"],
        json!("mysql-container-12345678:3306")
    );
}

#[test]
fn a_function_on_an_oscar_cluster_of_the_document_answers_with_the_cluster() {
    let tosca = parse("tosca_oscar_host.yml");
    let infra = InfraView {
        vms: vec![VmView {
            im_id: 0,
            system_name: "server".into(),
            public_ip: Some("8.8.8.8".into()),
            ..VmView::default()
        }],
    };
    let out = tosca.outputs(Some(&infra)).expect("outputs");
    assert_eq!(out["oscar_service_url"], json!("https://cluster.oscar.com"));
    assert_eq!(
        out["oscar_service_cred"],
        json!({"user": "oscar", "token_type": "password", "token": "oscar_password"})
    );
}

#[test]
fn a_standalone_function_answers_with_its_cloud() {
    let tosca = parse("tosca_oscar.yml");
    let vm = |cloud: CloudView| InfraView {
        vms: vec![VmView {
            im_id: 0,
            system_name: "plants".into(),
            cloud: Some(cloud),
            function_api_url: Some("https://lambda.example/plants".into()),
            ..VmView::default()
        }],
    };
    let oscar = vm(CloudView {
        kind: "OSCAR".into(),
        url: Some("https://oscar.example".into()),
        username: Some("u".into()),
        password: Some("p".into()),
        token: None,
    });
    let out = tosca.outputs(Some(&oscar)).expect("outputs");
    assert_eq!(out["oscar_service_url"], json!("https://oscar.example"));
    assert_eq!(
        out["oscar_service_cred"],
        json!({"user": "u", "token_type": "password", "token": "p"})
    );
    let bearer = vm(CloudView {
        kind: "OSCAR".into(),
        token: Some("t".into()),
        ..CloudView::default()
    });
    let out = tosca.outputs(Some(&bearer)).expect("outputs");
    assert_eq!(
        out["oscar_service_cred"],
        json!({"user": "", "token_type": "bearer", "token": "t"})
    );
    let lambda = vm(CloudView {
        kind: "Lambda".into(),
        ..CloudView::default()
    });
    let out = tosca.outputs(Some(&lambda)).expect("outputs");
    assert_eq!(
        out["oscar_service_url"],
        json!("https://lambda.example/plants")
    );
    assert_eq!(out["oscar_service_cred"], json!(null));
}

#[test]
fn an_output_of_a_node_without_vms_is_null() {
    let tosca = parse("tosca_create.yml");
    let out = tosca.outputs(Some(&InfraView::default())).expect("outputs");
    assert!(out.values().all(serde_json::Value::is_null), "{out:?}");
}
