//! The shared auth fixtures (`shared/fixtures/auth/`) against the outputs of the
//! reference code (`expected/*.json`, produced by `oracle/auth_oracle.py`).
//!
//! The only allowed deviation is `file(...)` values, which the reference reads from
//! disk when the file exists; none of the fixture files exist, so the outputs must
//! match exactly.

use im_auth::{build_auth_header, describe, parse_auth_file, parse_auth_header};
use serde_json::Value;

use crate::support::fixture;

fn expected(name: &str) -> Value {
    let text = fixture(&format!("expected/{name}.json"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("bad expected JSON {name}: {e}"))
}

fn assert_file_matches_reference(file: &str) {
    let items = parse_auth_file(&fixture(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
    let stem = file.rsplit_once('.').map_or(file, |(stem, _)| stem);
    let want = expected(&format!("file_{stem}"));
    assert_eq!(describe(&items, false), want, "fixture {file}");
}

fn assert_header_matches_reference(name: &str) {
    let raw = fixture(&format!("headers/{name}.txt"));
    let value = raw.trim_end_matches(['\r', '\n']);
    let header = parse_auth_header(value).unwrap_or_else(|e| panic!("{name}: {e}"));
    let want = expected(&format!("header_{name}"));
    assert_eq!(describe(header.credentials(), false), want, "header {name}");
}

#[test]
fn doc_examples_file_matches_the_reference() {
    assert_file_matches_reference("doc_examples.dat");
}

#[test]
fn im_test_auth_line_file_matches_the_reference() {
    // No expected file exists for the .dat (its name clashes with the JSON one);
    // this is `auth_oracle.py file im_test_auth.dat`.
    let items = parse_auth_file(&fixture("im_test_auth.dat")).unwrap_or_default();
    let want = serde_json::json!({
        "clouds": [{"extra": {}, "id": "one2", "path": "", "port": 2633, "protocol": "",
                    "server": "server1.com", "type": "OpenNebula"}],
        "items": [
            {"password": "somepass", "type": "InfrastructureManager", "username": "someurser"},
            {"host": "http://server:8080/vmrc/vmrc", "password": "pass", "type": "VMRC",
             "username": "user"},
            {"host": "server1.com:2633", "id": "one2", "password": "pass", "type": "OpenNebula",
             "username": "user"}
        ],
        "valid_ids": true
    });
    assert_eq!(describe(&items, false), want);
}

#[test]
fn im_test_auth_json_file_matches_the_reference() {
    // expected/file_im_test_auth.json is the output for the JSON file.
    let items = parse_auth_file(&fixture("im_test_auth.json")).unwrap_or_default();
    assert_eq!(describe(&items, false), expected("file_im_test_auth"));
}

#[test]
fn imclient_auth_file_matches_the_reference() {
    assert_file_matches_reference("imclient_auth.dat");
}

#[test]
fn invalid_id_file_matches_the_reference() {
    assert_file_matches_reference("invalid_id.dat");
}

#[test]
fn quoting_file_matches_the_reference() {
    assert_file_matches_reference("quoting.dat");
}

#[test]
fn valid_ids_file_matches_the_reference() {
    assert_file_matches_reference("valid_ids.dat");
}

#[test]
fn header_with_two_lines_matches_the_reference() {
    assert_header_matches_reference("h01_two_lines");
}

#[test]
fn header_with_client_style_multiline_values_matches_the_reference() {
    assert_header_matches_reference("h02_multiline_values_client_style");
}

#[test]
fn header_with_a_json_list_matches_the_reference() {
    assert_header_matches_reference("h03_json");
}

#[test]
fn header_json_with_backslash_n_escape_is_split_like_the_reference() {
    assert_header_matches_reference("h04_json_with_backslash_n_breaks");
}

#[test]
fn header_json_with_u000a_escape_matches_the_reference() {
    assert_header_matches_reference("h05_json_newline_as_u000a");
}

#[test]
fn bearer_header_without_vault_matches_the_reference() {
    assert_header_matches_reference("h06_bearer_without_vault");
}

#[test]
fn basic_header_matches_the_reference() {
    assert_header_matches_reference("h07_basic_is_not_supported");
}

#[test]
fn header_with_im_token_matches_the_reference() {
    assert_header_matches_reference("h08_im_token");
}

#[test]
fn header_with_invalid_id_matches_the_reference() {
    assert_header_matches_reference("h09_invalid_id");
}

#[test]
fn header_without_im_credentials_matches_the_reference() {
    assert_header_matches_reference("h10_no_im_credentials");
}

#[test]
fn header_split_ignores_quotes_like_the_reference() {
    assert_header_matches_reference("h11_quoted_separator_still_splits");
}

#[test]
fn every_expected_output_is_covered_by_a_test() {
    let dir = crate::support::fixture_path("expected");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot list {dir}: {e}"))
        .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
        .collect();
    names.sort();
    let covered = [
        "build_im_test_auth.txt",
        "file_doc_examples.json",
        "file_im_test_auth.json",
        "file_imclient_auth.json",
        "file_invalid_id.json",
        "file_quoting.json",
        "file_valid_ids.json",
        "header_h01_two_lines.json",
        "header_h02_multiline_values_client_style.json",
        "header_h03_json.json",
        "header_h04_json_with_backslash_n_breaks.json",
        "header_h05_json_newline_as_u000a.json",
        "header_h06_bearer_without_vault.json",
        "header_h07_basic_is_not_supported.json",
        "header_h08_im_token.json",
        "header_h09_invalid_id.json",
        "header_h10_no_im_credentials.json",
        "header_h11_quoted_separator_still_splits.json",
    ];
    assert_eq!(names, covered);
}

#[test]
fn im_client_header_for_im_test_auth_matches_the_reference() {
    let items = parse_auth_file(&fixture("im_test_auth.dat")).unwrap_or_default();
    let want = fixture("expected/build_im_test_auth.txt");
    // The oracle printed the header followed by one newline.
    let want = want.strip_suffix('\n').unwrap_or(&want);
    assert_eq!(build_auth_header(&items), want);
}

#[test]
fn header_built_by_im_client_parses_back_to_the_same_credentials() {
    for file in [
        "im_test_auth.dat",
        "doc_examples.dat",
        "imclient_auth.dat",
        "im_test_auth.json",
    ] {
        let items = parse_auth_file(&fixture(file)).unwrap_or_default();
        let header = build_auth_header(&items);
        let back = parse_auth_header(&header).map(|h| h.credentials().to_vec());
        assert_eq!(back, Ok(items), "round trip of {file}");
    }
}
