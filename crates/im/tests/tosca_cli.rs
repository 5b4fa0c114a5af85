//! `im tosca check|radl`, run as a user runs them, against the shared
//! fixtures (remote files served from their local mirror).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures/tosca")
}

fn im(args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_im"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the im binary runs");
    let mut input = child.stdin.take().expect("stdin is piped");
    input
        .write_all(stdin.as_bytes())
        .expect("stdin accepts the document");
    drop(input);
    child.wait_with_output().expect("im finishes")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn path(name: &str) -> String {
    fixtures().join(name).to_string_lossy().into_owned()
}

#[test]
fn tosca_radl_prints_the_radl_of_a_document() {
    let mirror = path("remote");
    let out = im(
        &[
            "tosca",
            "radl",
            "--mirror",
            &mirror,
            &path("tosca_create.yml"),
        ],
        "",
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let radl = im_radl::parse_radl(&text(&out.stdout)).expect("the output is RADL");
    assert_eq!(radl.deploys.len(), 2);
    assert!(radl.get_configure("test_db_db_server_conf").is_some());
}

#[test]
fn tosca_check_accepts_a_valid_document_read_from_standard_input() {
    let doc = std::fs::read_to_string(path("tosca_simple.yml")).expect("fixture");
    let out = im(&["tosca", "check", "--offline", "-"], &doc);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("valid TOSCA (1 systems, 1 networks, 0 configures, 1 deploys)"),
        "{}",
        text(&out.stdout)
    );
}

#[test]
fn tosca_check_names_the_line_of_each_problem() {
    let out = im(&["tosca", "check", "--offline", &path("tosca.yml")], "");
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains("tosca.yml:30: InvalidTypeError: Type \"tosca.nodes.WebServer.Apache\" is not a valid type."),
        "{err}"
    );
    let bad = "tosca_definitions_version: tosca_simple_yaml_1_0\ntopology_template:\n  node_templates:\n    v:\n      type: tosca.nodes.BlockStorage\n      properties:\n        size: 1 XB\n";
    let out = im(&["tosca", "check", "--offline", "-"], bad);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).starts_with("<stdin>:7: ValueError: The unit \"XB\" is not valid."),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn tosca_check_offline_reports_a_playbook_it_cannot_read() {
    let out = im(
        &["tosca", "check", "--offline", &path("tosca_create.yml")],
        "",
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("Error downloading the implementation script"),
        "{}",
        text(&out.stderr)
    );
}
