//! The offline commands `im radl` and `im auth`, run as a user runs them.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;

fn shared(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared")
        .join(rel)
}

fn im(args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_im"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the im binary runs");
    let mut input = child.stdin.take().expect("stdin is piped");
    input
        .write_all(stdin.unwrap_or("").as_bytes())
        .expect("stdin accepts the document");
    drop(input);
    child.wait_with_output().expect("im finishes")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn radl_check_accepts_a_valid_document_and_says_what_it_holds() {
    let file = shared("fixtures/radl/test.radl");
    let out = im(&["radl", "check", file.to_str().expect("utf-8 path")], None);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("valid RADL (3 systems, 2 networks, 4 configures, 2 deploys)")
    );
}

#[test]
fn radl_check_reports_the_line_and_column_of_a_syntax_error() {
    let file = shared("fixtures/radl/invalid/01.radl");
    let out = im(&["radl", "check", file.to_str().expect("utf-8 path")], None);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains("01.radl:3:13: Line 3: Parse error in: LexToken(GE,'>=',3,41)"),
        "{err}"
    );
    assert!(err.contains("expected 'and' or ')'"), "{err}");
}

#[test]
fn radl_check_runs_the_semantic_checks_too() {
    let out = im(
        &["radl", "check", "-"],
        Some("system a (cpu.arch = 'i686')\ndeploy a 1\n"),
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr)
            .contains("<stdin>:1:11: Line 1: Invalid value; expected one of ['I386', 'X86_64']"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn radl_json_prints_the_reference_json() {
    let file = shared("fixtures/radl/simple.radl");
    let out = im(&["radl", "json", file.to_str().expect("utf-8 path")], None);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let ours: Value = serde_json::from_slice(&out.stdout).expect("stdout is JSON");
    let expected: Value = serde_json::from_str(
        &std::fs::read_to_string(shared("fixtures/radl/simple.json")).expect("fixture"),
    )
    .expect("fixture is JSON");
    assert_eq!(ours, expected);
}

#[test]
fn radl_fmt_output_is_read_back_to_the_same_document() {
    let file = shared("fixtures/radl/test.radl");
    let path = file.to_str().expect("utf-8 path");
    let formatted = im(&["radl", "fmt", path], None);
    assert!(formatted.status.success());
    let again = im(&["radl", "json", "-"], Some(&text(&formatted.stdout)));
    let direct = im(&["radl", "json", path], None);
    assert!(again.status.success(), "{}", text(&again.stderr));
    assert_eq!(text(&again.stdout), text(&direct.stdout));
}

#[test]
fn radl_commands_read_the_json_form_too() {
    let file = shared("fixtures/radl/test.json");
    let out = im(&["radl", "fmt", file.to_str().expect("utf-8 path")], None);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("system front ("));
}

#[test]
fn auth_check_prints_the_entries_with_secrets_masked() {
    let file = shared("fixtures/auth/quoting.dat");
    let out = im(&["auth", "check", file.to_str().expect("utf-8 path")], None);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let report: Value = serde_json::from_slice(&out.stdout).expect("stdout is JSON");
    let first = &report["items"][0];
    assert_eq!(first["username"], "user");
    assert_eq!(first["password"], "***");
    assert!(
        !text(&out.stdout).contains("semi;colon"),
        "a password leaked"
    );
    assert_eq!(report["clouds"][0]["id"], "q1");
}

#[test]
fn auth_check_rejects_an_invalid_cloud_id() {
    let out = im(
        &["auth", "check", "-"],
        Some(
            "type = InfrastructureManager; username = u; password = p\nid = 2cloud; type = Dummy\n",
        ),
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("Incorrect value in auth item id: 2cloud"));
}

#[test]
fn a_missing_file_is_a_clear_error() {
    let out = im(&["radl", "check", "/nonexistent/x.radl"], None);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("cannot read /nonexistent/x.radl"));
}
