//! The `im` client commands against a canned IM REST API on loopback: the
//! requests they send (method, path, query, `Authorization`, `Accept`,
//! `Content-Type`, body) and what they print, with the reference client's words.

#![allow(clippy::unwrap_used)] // a panic is the failure report

mod client_stub;

use client_stub::{
    AUTH_HEADER, INF, Out, RADL, Recorded, Scratch, Stub, VM_INFO, json, text, uri_list,
};

fn infra_uri(url: &str, id: &str) -> String {
    format!("{url}/infrastructures/{id}")
}

/// Runs `im -r URL -a auth.dat ARGS`.
fn im(s: &Scratch, stub: &Stub, args: &[&str]) -> Out {
    let mut all = vec!["-r", &stub.url, "-a", "auth.dat"];
    all.extend_from_slice(args);
    s.im(&all)
}

fn connected(stub: &Stub) -> String {
    format!("Connected with: {}\n", stub.url)
}

fn only(stub: &Stub) -> Recorded {
    let reqs = stub.requests();
    assert_eq!(reqs.len(), 1, "{reqs:#?}");
    reqs[0].clone()
}

#[test]
fn list_prints_the_infrastructure_ids_and_sends_the_auth_file_as_the_header() {
    let stub = Stub::table(vec![(
        "GET",
        "/infrastructures",
        json(
            200,
            &format!(
                r#"{{"uri-list":[{{"uri":"{}"}},{{"uri":"{}"}}]}}"#,
                infra_uri("http://h", "a1"),
                infra_uri("http://h", "b2")
            ),
        ),
    )]);
    let s = Scratch::new();
    let out = im(&s, &stub, &["list"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(
        out.stdout,
        format!("{}Infrastructure IDs: \n  a1\n  b2\n", connected(&stub))
    );
    let req = only(&stub);
    assert_eq!(req.line(), "GET /infrastructures");
    assert_eq!(req.header("authorization"), Some(AUTH_HEADER));
    assert_eq!(req.header("accept"), Some("application/json"));
}

#[test]
fn list_in_quiet_mode_prints_a_json_array_and_nothing_when_empty() {
    let stub = Stub::table(vec![(
        "GET",
        "/infrastructures",
        json(
            200,
            r#"{"uri-list":[{"uri":"http://h/infrastructures/a1"}]}"#,
        ),
    )]);
    let s = Scratch::new();
    let out = im(&s, &stub, &["-q", "list"]);
    assert_eq!((out.code, out.stdout.as_str()), (0, "[\n    \"a1\"\n]\n"));

    let empty = Stub::table(vec![(
        "GET",
        "/infrastructures",
        json(200, r#"{"uri-list":[]}"#),
    )]);
    let out = im(&s, &empty, &["list"]);
    assert_eq!(
        out.stdout,
        format!("{}No Infrastructures.\n", connected(&empty))
    );
    let out = im(&s, &empty, &["-q", "list"]);
    assert_eq!((out.code, out.stdout.as_str()), (0, ""));
}

#[test]
fn list_with_a_filter_sends_it_and_with_names_reads_each_radl_description() {
    let stub = Stub::table(vec![
        (
            "GET",
            "/infrastructures",
            json(
                200,
                r#"{"uri-list":[{"uri":"http://h/infrastructures/a1"},{"uri":"http://h/infrastructures/b2"}]}"#,
            ),
        ),
        (
            "GET",
            "/infrastructures/a1/radl",
            json(
                200,
                r#"{"radl":"description d (name = 'web farm')\nsystem s ()"}"#,
            ),
        ),
        (
            "GET",
            "/infrastructures/b2/radl",
            json(403, r#"{"message":"no","code":403}"#),
        ),
    ]);
    let s = Scratch::new();
    let out = im(&s, &stub, &["-n", "list", "name = 'x y'"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(
        out.stdout,
        format!(
            "{}Infrastructure ID                       Name\n====================================    ====\na1    web farm\nb2    N/A\n",
            connected(&stub)
        )
    );
    let reqs = stub.requests();
    assert_eq!(reqs[0].line(), "GET /infrastructures?filter=name = 'x y'");
    assert_eq!(reqs[1].line(), "GET /infrastructures/a1/radl");
    assert_eq!(reqs[1].header("accept"), Some("application/json"));
}

#[test]
fn create_posts_the_radl_asynchronously_and_prints_the_new_id() {
    let stub = Stub::table(vec![(
        "POST",
        "/infrastructures",
        uri_list(&infra_uri("http://127.0.0.1:8800", INF)),
    )]);
    let s = Scratch::new();
    s.write("infra.radl", RADL);
    let out = im(&s, &stub, &["create", "infra.radl"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(
        out.stdout,
        format!(
            "{}Infrastructure successfully created with ID: {INF}\n",
            connected(&stub)
        )
    );
    let req = only(&stub);
    assert_eq!(req.line(), "POST /infrastructures?async=yes");
    assert_eq!(req.header("authorization"), Some(AUTH_HEADER));
    assert_eq!(req.header("content-type"), None);
    assert_eq!(req.body, RADL);
}

#[test]
fn create_sends_tosca_as_text_yaml_and_json_radl_as_application_json_and_waits_with_flag_0() {
    let stub = Stub::table(vec![(
        "POST",
        "/infrastructures",
        uri_list("http://h/infrastructures/x"),
    )]);
    let s = Scratch::new();
    s.write(
        "t.yaml",
        "tosca_definitions_version: tosca_simple_yaml_1_0\n",
    );
    s.write("r.json", r#"[{"class":"system","id":"s"}]"#);
    assert_eq!(im(&s, &stub, &["create", "t.yaml", "0"]).code, 0);
    assert_eq!(im(&s, &stub, &["create", "r.json"]).code, 0);
    let reqs = stub.requests();
    assert_eq!(reqs[0].line(), "POST /infrastructures");
    assert_eq!(reqs[0].header("content-type"), Some("text/yaml"));
    assert_eq!(
        reqs[0].body,
        "tosca_definitions_version: tosca_simple_yaml_1_0\n"
    );
    assert_eq!(reqs[1].line(), "POST /infrastructures?async=yes");
    assert_eq!(reqs[1].header("content-type"), Some("application/json"));
}

#[test]
fn create_reports_a_radl_error_with_its_line_and_column_without_calling_the_server() {
    let stub = Stub::table(vec![]);
    let s = Scratch::new();
    s.write(
        "bad.radl",
        "system front (\ncpu.count >= 1 and\nmemory.size >>= 5\n)\n",
    );
    let out = im(&s, &stub, &["create", "bad.radl"]);
    assert_eq!(out.code, 1, "{out:?}");
    let last = out.stdout.lines().last().unwrap();
    assert!(last.starts_with("bad.radl:3:"), "{last}");
    assert!(last.contains("Line 3: Parse error in:"), "{last}");
    assert!(stub.requests().is_empty());
}

#[test]
fn create_reports_a_missing_file_and_the_error_of_the_server() {
    let stub = Stub::table(vec![(
        "POST",
        "/infrastructures",
        text(400, "Error Creating Inf.: No cloud provider available"),
    )]);
    let s = Scratch::new();
    let out = im(&s, &stub, &["create", "nope.radl"]);
    assert_eq!(
        (out.code, out.stdout),
        (
            1,
            format!("{}RADL file 'nope.radl' does not exist\n", connected(&stub))
        )
    );
    let out = im(&s, &stub, &["create"]);
    assert_eq!(
        (out.code, out.stdout),
        (1, format!("{}RADL file not specified\n", connected(&stub)))
    );
    s.write("infra.radl", RADL);
    let out = im(&s, &stub, &["create", "infra.radl"]);
    assert_eq!(
        (out.code, out.stdout),
        (
            1,
            format!(
                "{}ERROR creating the infrastructure: Error Creating Inf.: No cloud provider available\n",
                connected(&stub)
            )
        )
    );
}

#[test]
fn create_asks_the_value_of_each_input_parameter() {
    let stub = Stub::table(vec![(
        "POST",
        "/infrastructures",
        uri_list("http://h/infrastructures/x"),
    )]);
    let s = Scratch::new();
    s.write("in.radl", &RADL.replace("'linux'", "'@input.os@'"));
    let out = s.im_stdin(
        &["-r", &stub.url, "-a", "auth.dat", "create", "in.radl"],
        "linux\n",
    );
    assert_eq!(out.code, 0, "{out:?}");
    assert!(
        out.stdout.contains("Specify parameter os: "),
        "{}",
        out.stdout
    );
    assert_eq!(only(&stub).body, RADL);
}

#[test]
fn getstate_prints_the_state_of_the_infrastructure_and_of_each_vm() {
    let stub = Stub::table(vec![(
        "GET",
        &format!("/infrastructures/{INF}/state"),
        json(
            200,
            r#"{"state":{"state":"running","vm_states":{"0":"configured","1":"running"}}}"#,
        ),
    )]);
    let s = Scratch::new();
    let out = im(&s, &stub, &["getstate", INF]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(
        out.stdout,
        format!(
            "{}The infrastructure is in state: running\nVM ID: 0 is in state: configured.\nVM ID: 1 is in state: running.\n",
            connected(&stub)
        )
    );
    let req = only(&stub);
    assert_eq!(req.header("accept"), Some("application/json"));
    let out = im(&s, &stub, &["-q", "getstate", INF]);
    assert_eq!(
        out.stdout,
        "{\n    \"state\": \"running\",\n    \"vm_states\": {\n        \"0\": \"configured\",\n        \"1\": \"running\"\n    }\n}\n"
    );
}

#[test]
fn an_error_of_the_server_is_printed_after_the_reference_prefix_with_exit_1() {
    let body = r#"{"message":"Error Getting Inf. prop: Invalid infrastructure ID or access not granted.","code":404}"#;
    let stub = Stub::table(vec![("GET", "/infrastructures/x/state", json(404, body))]);
    let s = Scratch::new();
    let out = im(&s, &stub, &["getstate", "x"]);
    assert_eq!(
        (out.code, out.stdout),
        (
            1,
            format!(
                "{}Error getting infrastructure state: {body}\n",
                connected(&stub)
            )
        )
    );
}

#[test]
fn getinfo_prints_the_radl_of_every_vm_asked_as_text() {
    let stub = Stub::table(vec![
        (
            "GET",
            &format!("/infrastructures/{INF}"),
            json(
                200,
                &format!(
                    r#"{{"uri-list":[{{"uri":"http://h/infrastructures/{INF}/vms/0"}},{{"uri":"http://h/infrastructures/{INF}/vms/1"}}]}}"#
                ),
            ),
        ),
        (
            "GET",
            &format!("/infrastructures/{INF}/vms/0"),
            text(200, VM_INFO),
        ),
        (
            "GET",
            &format!("/infrastructures/{INF}/vms/1"),
            text(404, "Error Getting VM. info: Deleted VM."),
        ),
    ]);
    let s = Scratch::new();
    let out = im(&s, &stub, &["getinfo", INF]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(
        out.stdout,
        format!(
            "{}Info about VM with ID: 0\n{VM_INFO}\nInfo about VM with ID: 1\nERROR getting the information about the VM: Error Getting VM. info: Deleted VM.\n",
            connected(&stub)
        )
    );
    let reqs = stub.requests();
    assert_eq!(reqs[0].header("accept"), Some("application/json"));
    assert_ne!(reqs[1].header("accept"), Some("application/json"));
}

#[test]
fn getinfo_with_a_system_name_reads_the_attribute_from_the_radl_of_that_system() {
    let stub = Stub::table(vec![
        (
            "GET",
            "/infrastructures/i",
            json(
                200,
                r#"{"uri-list":[{"uri":"http://h/infrastructures/i/vms/0"}]}"#,
            ),
        ),
        ("GET", "/infrastructures/i/vms/0", text(200, VM_INFO)),
    ]);
    let s = Scratch::new();
    let out = im(&s, &stub, &["-s", "node", "getinfo", "i", "memory.size"]);
    assert_eq!(
        out.stdout,
        format!("{}Info about VM with ID: 0\n512000000\n", connected(&stub))
    );
    let out = im(&s, &stub, &["-s", "other", "-q", "getinfo", "i"]);
    assert_eq!((out.code, out.stdout.as_str()), (0, ""));
}

#[test]
fn getvminfo_with_an_attribute_asks_for_that_property_and_prints_errors_twice() {
    let stub = Stub::table(vec![
        (
            "GET",
            "/infrastructures/i/vms/0/net_interface.0.ip",
            text(200, "10.0.0.1"),
        ),
        (
            "GET",
            "/infrastructures/i/vms/7",
            text(404, "Error Getting VM. info: Invalid VM ID"),
        ),
    ]);
    let s = Scratch::new();
    let out = im(&s, &stub, &["getvminfo", "i", "0", "net_interface.0.ip"]);
    assert_eq!(out.stdout, format!("{}10.0.0.1\n", connected(&stub)));
    let out = im(&s, &stub, &["getvminfo", "i", "7"]);
    assert_eq!(
        (out.code, out.stdout),
        (
            1,
            format!(
                "{}ERROR getting the VM info: Error Getting VM. info: Invalid VM ID\nError Getting VM. info: Invalid VM ID\n",
                connected(&stub)
            )
        )
    );
    let out = im(&s, &stub, &["getvminfo", "i"]);
    assert_eq!(
        (out.code, out.stdout),
        (1, format!("{}VM ID not specified\n", connected(&stub)))
    );
}

#[test]
fn getcontmsg_getradl_and_getvmcontmsg_print_the_texts() {
    let stub = Stub::table(vec![
        (
            "GET",
            "/infrastructures/i/contmsg",
            json(200, r#"{"contmsg":"log\n\n"}"#),
        ),
        (
            "GET",
            "/infrastructures/e/contmsg",
            json(200, r#"{"contmsg":""}"#),
        ),
        (
            "GET",
            "/infrastructures/i/radl",
            json(200, r#"{"radl":"system s ()\n"}"#),
        ),
        (
            "GET",
            "/infrastructures/i/vms/0/contmsg",
            text(200, "vm log"),
        ),
    ]);
    let s = Scratch::new();
    let c = connected(&stub);
    assert_eq!(
        im(&s, &stub, &["getcontmsg", "i"]).stdout,
        format!("{c}Msg Contextualizator: \n\nlog\n\n\n")
    );
    assert_eq!(
        im(&s, &stub, &["getcontmsg", "e"]).stdout,
        format!("{c}No Msg Contextualizator avaliable\n\n")
    );
    assert_eq!(
        im(&s, &stub, &["getradl", "i"]).stdout,
        format!("{c}system s ()\n\n")
    );
    assert_eq!(
        im(&s, &stub, &["getvmcontmsg", "i", "0"]).stdout,
        format!("{c}vm log\n")
    );
}

#[test]
fn destroy_asks_for_confirmation_and_cancels_unless_yes() {
    let stub = Stub::table(vec![("DELETE", "/infrastructures/i", text(200, ""))]);
    let s = Scratch::new();
    let prompt =
        "Are you sure you want to destroy Inf:i?\nThis process cannot be undone!!.\n(yes/no):";
    let out = s.im_stdin(&["-r", &stub.url, "-a", "auth.dat", "destroy", "i"], "no\n");
    assert_eq!(
        (out.code, out.stdout),
        (
            1,
            format!(
                "{}{prompt}ERROR destroying the infrastructure: Canceled by the user.\n",
                connected(&stub)
            )
        )
    );
    let out = s.im_stdin(&["-r", &stub.url, "-a", "auth.dat", "destroy", "i"], "");
    assert_eq!(
        (out.code, out.stdout),
        (
            1,
            format!("{}{prompt}EOF when reading a line\n", connected(&stub))
        )
    );
    assert!(stub.requests().is_empty());
    let out = s.im_stdin(
        &["-r", &stub.url, "-a", "auth.dat", "destroy", "i"],
        " YES \n",
    );
    assert_eq!(
        (out.code, out.stdout),
        (
            0,
            format!(
                "{}{prompt}Infrastructure successfully destroyed\n",
                connected(&stub)
            )
        )
    );
    assert_eq!(only(&stub).line(), "DELETE /infrastructures/i");
}

#[test]
fn destroy_with_yes_and_force_sends_force_yes() {
    let stub = Stub::table(vec![("DELETE", "/infrastructures/i", text(200, ""))]);
    let s = Scratch::new();
    let out = im(&s, &stub, &["-y", "-f", "destroy", "i"]);
    assert_eq!(
        (out.code, out.stdout),
        (
            0,
            format!(
                "{}Infrastructure successfully destroyed\n",
                connected(&stub)
            )
        )
    );
    let req = only(&stub);
    assert_eq!(req.line(), "DELETE /infrastructures/i?force=yes");
    assert_eq!(req.header("authorization"), Some(AUTH_HEADER));
}

#[test]
fn addresource_posts_the_radl_and_prints_the_new_vm_ids() {
    let stub = Stub::table(vec![(
        "POST",
        "/infrastructures/i",
        json(
            200,
            r#"{"uri-list":[{"uri":"http://h/infrastructures/i/vms/1"},{"uri":"http://h/infrastructures/i/vms/2"}]}"#,
        ),
    )]);
    let s = Scratch::new();
    s.write("add.radl", RADL);
    let out = im(&s, &stub, &["addresource", "i", "add.radl", "0"]);
    assert_eq!(
        (out.code, out.stdout),
        (
            0,
            format!(
                "{}Resources with IDs: 1,2 successfully added.\n",
                connected(&stub)
            )
        )
    );
    let req = only(&stub);
    assert_eq!(req.line(), "POST /infrastructures/i?context=0");
    assert_eq!(req.header("accept"), Some("application/json"));
    assert_eq!(req.body, RADL);
    let out = im(&s, &stub, &["-q", "addresource", "i", "add.radl"]);
    assert_eq!(out.stdout, "[\n    \"1\",\n    \"2\"\n]\n");
    let out = im(&s, &stub, &["addresource", "i", "add.radl", "x"]);
    assert_eq!(
        (out.code, out.stdout),
        (
            1,
            format!(
                "{}ERROR adding resources to infrastructure: The ctxt flag must be 0 or 1\n",
                connected(&stub)
            )
        )
    );
}

#[test]
fn removeresource_deletes_the_listed_vms_and_reports_a_failure_as_a_failure() {
    let stub = Stub::table(vec![
        ("DELETE", "/infrastructures/i/vms/1,2", text(200, "")),
        (
            "DELETE",
            "/infrastructures/i/vms/9",
            text(404, "Error Removing resources: Invalid VM ID"),
        ),
    ]);
    let s = Scratch::new();
    let out = im(&s, &stub, &["removeresource", "i", "1,02", "0"]);
    assert_eq!(
        (out.code, out.stdout),
        (
            0,
            format!(
                "{}Resources with IDs: 1,2 successfully deleted.\n",
                connected(&stub)
            )
        )
    );
    assert_eq!(
        only(&stub).line(),
        "DELETE /infrastructures/i/vms/1,2?context=0"
    );
    let out = im(&s, &stub, &["removeresource", "i", "9"]);
    assert_eq!(
        (out.code, out.stdout),
        (
            1,
            format!(
                "{}ERROR deleting resources from the infrastructure: Error Removing resources: Invalid VM ID\n",
                connected(&stub)
            )
        )
    );
    let out = im(&s, &stub, &["removeresource", "i", "a"]);
    assert_eq!(
        (out.code, out.stdout),
        (
            1,
            format!(
                "{}invalid literal for int() with base 10: 'a'\n",
                connected(&stub)
            )
        )
    );
}

#[test]
fn alter_puts_the_radl_of_the_vm_and_reconfigure_sends_the_vm_list() {
    let stub = Stub::table(vec![
        ("PUT", "/infrastructures/i/vms/1", text(200, VM_INFO)),
        ("PUT", "/infrastructures/i/reconfigure", text(200, "")),
    ]);
    let s = Scratch::new();
    let alter = "system node (\ncpu.count = 2 and\nmemory.size = 2048m\n)\n";
    s.write("alter.radl", alter);
    s.write("conf.radl", RADL);
    let c = connected(&stub);
    assert_eq!(
        im(&s, &stub, &["alter", "i", "1", "alter.radl"]).stdout,
        format!("{c}VM successfully modified.\n")
    );
    assert_eq!(
        im(&s, &stub, &["reconfigure", "i"]).stdout,
        format!("{c}Infrastructure successfully reconfigured.\n")
    );
    assert_eq!(
        im(&s, &stub, &["reconfigure", "i", "conf.radl", "0,1"]).stdout,
        format!("{c}Infrastructure successfully reconfigured.\n")
    );
    let reqs = stub.requests();
    assert_eq!(reqs[0].line(), "PUT /infrastructures/i/vms/1");
    assert_eq!(reqs[0].body, alter);
    assert_eq!(reqs[1].line(), "PUT /infrastructures/i/reconfigure");
    assert_eq!(reqs[1].body, "");
    assert_eq!(
        reqs[2].line(),
        "PUT /infrastructures/i/reconfigure?vm_list=0,1"
    );
    assert_eq!(reqs[2].body, RADL);
}

#[test]
fn start_stop_and_the_vm_operations_are_puts() {
    let stub = Stub::table(vec![
        ("PUT", "/infrastructures/i/start", text(200, "")),
        (
            "PUT",
            "/infrastructures/i/stop",
            text(400, "Error in stop operation: boom"),
        ),
        ("PUT", "/infrastructures/i/vms/1/start", text(200, "")),
        ("PUT", "/infrastructures/i/vms/1/stop", text(200, "")),
        (
            "PUT",
            "/infrastructures/i/vms/1/reboot",
            text(404, "Error in reboot op in VM: Invalid VM ID"),
        ),
    ]);
    let s = Scratch::new();
    let c = connected(&stub);
    let out = im(&s, &stub, &["start", "i"]);
    assert_eq!(
        (out.code, out.stdout),
        (0, format!("{c}Infrastructure successfully started\n"))
    );
    let out = im(&s, &stub, &["stop", "i"]);
    assert_eq!(
        (out.code, out.stdout),
        (
            1,
            format!("{c}ERROR stopping the infrastructure: Error in stop operation: boom\n")
        )
    );
    let out = im(&s, &stub, &["startvm", "i", "1"]);
    assert_eq!(
        (out.code, out.stdout),
        (0, format!("{c}VM successfully started\n"))
    );
    let out = im(&s, &stub, &["stopvm", "i", "1"]);
    assert_eq!(
        (out.code, out.stdout),
        (0, format!("{c}VM successfully stopped\n"))
    );
    let out = im(&s, &stub, &["rebootvm", "i", "1"]);
    assert_eq!(
        (out.code, out.stdout),
        (
            1,
            format!("{c}Error rebooting VM: Error in reboot op in VM: Invalid VM ID\n")
        )
    );
    let lines: Vec<String> = stub.requests().iter().map(Recorded::line).collect();
    assert_eq!(
        lines,
        [
            "PUT /infrastructures/i/start",
            "PUT /infrastructures/i/stop",
            "PUT /infrastructures/i/vms/1/start",
            "PUT /infrastructures/i/vms/1/stop",
            "PUT /infrastructures/i/vms/1/reboot"
        ]
    );
}

#[test]
fn getversion_needs_no_auth_file_and_sends_no_authorization() {
    let stub = Stub::table(vec![("GET", "/version", text(200, "2.0.0"))]);
    let s = Scratch::new();
    let out = s.im(&["-r", &stub.url, "getversion"]);
    assert_eq!(
        (out.code, out.stdout),
        (
            0,
            format!("{}IM service version: 2.0.0\n", connected(&stub))
        )
    );
    assert_eq!(only(&stub).header("authorization"), None);
    let out = s.im(&["getversion", "-q", "-r", &stub.url]);
    assert_eq!(out.stdout, "2.0.0\n");
}

#[test]
fn export_prints_the_data_as_python_does_and_import_reads_that_file_back() {
    let data = r#"{"id": "i", "vm_list": [], "name": "caf\u00e9"}"#;
    let stub = Stub::table(vec![
        (
            "GET",
            "/infrastructures/i/data",
            json(200, &serde_json::json!({ "data": data }).to_string()),
        ),
        (
            "PUT",
            "/infrastructures",
            uri_list("http://h/infrastructures/i"),
        ),
    ]);
    let s = Scratch::new();
    let out = im(&s, &stub, &["-q", "export", "i", "1"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(
        out.stdout,
        "\"{\\\"id\\\": \\\"i\\\", \\\"vm_list\\\": [], \\\"name\\\": \\\"caf\\\\u00e9\\\"}\"\n"
    );
    assert_eq!(only(&stub).line(), "GET /infrastructures/i/data?delete=yes");
    s.write("exported.json", &out.stdout);
    stub.clear();
    let out = im(&s, &stub, &["import", "exported.json"]);
    assert_eq!(
        (out.code, out.stdout),
        (0, format!("{}New Inf: i\n", connected(&stub)))
    );
    let req = only(&stub);
    assert_eq!(req.line(), "PUT /infrastructures");
    assert_eq!(req.body, data);
    assert_eq!(req.header("content-type"), None);
    let out = im(&s, &stub, &["import", "missing.json"]);
    assert_eq!(
        (out.code, out.stdout),
        (
            1,
            format!(
                "{}ERROR importing data: JSON file 'missing.json' does not exist\n",
                connected(&stub)
            )
        )
    );
}

#[test]
fn getoutputs_prints_each_output_as_python_prints_it() {
    let stub = Stub::table(vec![
        (
            "GET",
            "/infrastructures/i/outputs",
            json(
                200,
                r#"{"outputs":{"server":null,"ips":["10.0.0.1","10.0.0.2"],"ok":true,"n":1.5,"s":"x"}}"#,
            ),
        ),
        (
            "GET",
            "/infrastructures/r/outputs",
            json(
                403,
                r#"{"message":"'outputs' infrastructure property is not valid in this infrastructure","code":403}"#,
            ),
        ),
    ]);
    let s = Scratch::new();
    let c = connected(&stub);
    let out = im(&s, &stub, &["getoutputs", "i"]);
    assert_eq!(
        out.stdout,
        format!(
            "{c}The infrastructure outputs:\n\nserver = None\nips = ['10.0.0.1', '10.0.0.2']\nok = True\nn = 1.5\ns = x\n"
        )
    );
    let out = im(&s, &stub, &["-q", "getoutputs", "i"]);
    assert_eq!(
        out.stdout,
        "{\n    \"server\": null,\n    \"ips\": [\n        \"10.0.0.1\",\n        \"10.0.0.2\"\n    ],\n    \"ok\": true,\n    \"n\": 1.5,\n    \"s\": \"x\"\n}\n"
    );
    let out = im(&s, &stub, &["getoutputs", "r"]);
    assert_eq!(out.code, 1);
    assert!(
        out.stdout.contains("is not valid in this infrastructure"),
        "{}",
        out.stdout
    );
}

#[test]
fn cloudimages_and_cloudusage_print_the_json_of_the_cloud() {
    let stub = Stub::table(vec![
        (
            "GET",
            "/clouds/dummy/images",
            json(
                200,
                r#"{"images":[{"uri":"mock0://linux.for.ev.er/image1","name":"Image Name1"}]}"#,
            ),
        ),
        (
            "GET",
            "/clouds/dummy/quotas",
            json(200, r#"{"quotas":{"cores":{"used":1,"limit":10}}}"#),
        ),
        (
            "GET",
            "/clouds/other/images",
            text(400, "Error getting cloud info: Cloud ID other not found."),
        ),
    ]);
    let s = Scratch::new();
    let c = connected(&stub);
    assert_eq!(
        im(&s, &stub, &["cloudimages", "dummy"]).stdout,
        format!(
            "{c}[\n    {{\n        \"uri\": \"mock0://linux.for.ev.er/image1\",\n        \"name\": \"Image Name1\"\n    }}\n]\n"
        )
    );
    let usage = format!(
        "{c}{{\n    \"cores\": {{\n        \"used\": 1,\n        \"limit\": 10\n    }}\n}}\n"
    );
    assert_eq!(im(&s, &stub, &["cloudusage", "dummy"]).stdout, usage);
    assert_eq!(im(&s, &stub, &["cloudquotas", "dummy"]).stdout, usage);
    let out = im(&s, &stub, &["cloudimages", "other"]);
    assert_eq!(
        (out.code, out.stdout),
        (
            1,
            format!(
                "{c}ERROR getting cloud image list: Error getting cloud info: Cloud ID other not found.\n"
            )
        )
    );
    let out = im(&s, &stub, &["cloudusage"]);
    assert_eq!(
        (out.code, out.stdout),
        (
            1,
            format!("{c}ERROR getting cloud usage: Cloud ID not specified\n")
        )
    );
    assert_eq!(
        stub.requests()[0].header("accept"),
        Some("application/json")
    );
}

/// A stub whose `state` answers walk through `states`, then stay on the last.
fn state_stub(states: &'static [&'static str]) -> Stub {
    let n = std::sync::atomic::AtomicUsize::new(0);
    Stub::start(move |req| match req.path.as_str() {
        "/infrastructures/i/state" => {
            let i = n.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let st = states[i.min(states.len() - 1)];
            if st == "404" {
                json(404, r#"{"message":"gone","code":404}"#)
            } else {
                json(
                    200,
                    &format!(r#"{{"state":{{"state":"{st}","vm_states":{{}}}}}}"#),
                )
            }
        }
        "/infrastructures" => uri_list("http://h/infrastructures/i"),
        "/infrastructures/i/outputs" => json(200, r#"{"outputs":{"ip":"1.2.3.4"}}"#),
        _ => json(404, r#"{"detail":"Not Found"}"#),
    })
}

#[test]
fn wait_polls_the_state_until_the_infrastructure_is_configured() {
    let stub = state_stub(&["pending", "running", "configured"]);
    let s = Scratch::new();
    let out = im(&s, &stub, &["--poll-interval", "0", "wait", "i"]);
    assert_eq!(
        (out.code, out.stdout),
        (
            0,
            format!(
                "{}The infrastructure is in state: pending. Wait ...\nThe infrastructure is in state: running. Wait ...\nThe infrastructure is in state: configured\n",
                connected(&stub)
            )
        )
    );
    assert_eq!(stub.requests().len(), 3);
}

#[test]
fn wait_gives_up_after_three_unknown_states_or_on_timeout() {
    let stub = state_stub(&["404"]);
    let s = Scratch::new();
    let out = im(&s, &stub, &["-q", "--poll-interval", "0", "wait", "i"]);
    assert_eq!(
        (out.code, out.stdout.as_str()),
        (1, "The infrastructure is in state: unknown\n")
    );
    let stub = state_stub(&["pending"]);
    let out = im(
        &s,
        &stub,
        &["-q", "--poll-interval", "0", "wait", "i", "60"],
    );
    assert_eq!((out.code, out.stdout.as_str()), (1, "Timeout waiting.\n"));
    assert_eq!(stub.requests().len(), 2);
    let stub = state_stub(&["failed"]);
    let out = im(&s, &stub, &["-q", "wait", "i"]);
    assert_eq!(
        (out.code, out.stdout.as_str()),
        (1, "The infrastructure is in state: failed\n")
    );
}

#[test]
fn create_wait_outputs_prints_the_outputs_and_the_id_as_json() {
    let stub = state_stub(&["pending", "configured"]);
    let s = Scratch::new();
    s.write(
        "t.yml",
        "tosca_definitions_version: tosca_simple_yaml_1_0\n",
    );
    let out = im(
        &s,
        &stub,
        &["-q", "--poll-interval", "0", "create_wait_outputs", "t.yml"],
    );
    assert_eq!(
        (out.code, out.stdout.as_str()),
        (0, "{\"ip\": \"1.2.3.4\", \"infid\": \"i\"}\n")
    );
}

#[test]
fn change_auth_posts_the_new_im_credentials_as_json() {
    let stub = Stub::table(vec![(
        "POST",
        "/infrastructures/i/authorization",
        text(200, ""),
    )]);
    let s = Scratch::new();
    s.write("new.dat", "id = os; type = OpenStack; host = h\ntype = InfrastructureManager; username = u2; password = p2\n");
    let out = im(&s, &stub, &["change_auth", "i", "new.dat", "1"]);
    assert_eq!(
        (out.code, out.stdout),
        (
            0,
            format!("{}Auth data successfully changed.\n", connected(&stub))
        )
    );
    let req = only(&stub);
    assert_eq!(
        req.line(),
        "POST /infrastructures/i/authorization?overwrite=1"
    );
    assert_eq!(
        req.body,
        r#"{"type": "InfrastructureManager", "username": "u2", "password": "p2"}"#
    );
    assert_eq!(req.header("authorization"), Some(AUTH_HEADER));
}

#[test]
fn sshvm_with_show_only_prints_the_ssh_command() {
    let stub = Stub::table(vec![(
        "GET",
        "/infrastructures/i/vms/0",
        text(200, VM_INFO),
    )]);
    let s = Scratch::new();
    let out = im(&s, &stub, &["sshvm", "i", "0", "1"]);
    assert_eq!(
        (out.code, out.stdout),
        (
            0,
            format!(
                "{}sshpass -ppassword ssh -p 22 -o UserKnownHostsFile=/dev/null -o StrictHostKeyChecking=no username@10.0.0.1 ",
                connected(&stub)
            )
        )
    );
    let out = im(
        &s,
        &stub,
        &["-q", "getvm", "i", "0", "1", "/etc/hosts", "h"],
    );
    assert_eq!(
        out.stdout,
        "sshpass -ppassword scp -r -P 22 -o UserKnownHostsFile=/dev/null -o StrictHostKeyChecking=no username@10.0.0.1:/etc/hosts h "
    );
    let out = im(&s, &stub, &["sshvm", "i", "0", "2"]);
    assert_eq!(
        (out.code, out.stdout),
        (
            1,
            format!("{}The show_only flag must be 0 or 1\n", connected(&stub))
        )
    );
}

#[test]
fn a_missing_infrastructure_id_is_reported_as_the_reference_does() {
    let stub = Stub::table(vec![]);
    let s = Scratch::new();
    let out = im(&s, &stub, &["getstate"]);
    assert_eq!(
        (out.code, out.stdout),
        (
            1,
            format!("{}Infrastructure ID not specified\n", connected(&stub))
        )
    );
}

#[test]
fn without_an_auth_file_the_client_stops_with_a_usage_error() {
    let stub = Stub::table(vec![]);
    let s = Scratch::new();
    let out = s.im(&["-r", &stub.url, "list"]);
    assert_eq!(out.code, 2);
    assert_eq!(out.stdout, "");
    assert!(
        out.stderr.contains("Auth file not specified"),
        "{}",
        out.stderr
    );
    let out = s.im(&["-r", &stub.url, "-a", "missing.dat", "list"]);
    assert_eq!(
        (out.code, out.stdout.as_str()),
        (1, "[Errno 2] No such file or directory: 'missing.dat'\n")
    );
}

#[test]
fn the_xmlrpc_transport_is_refused_with_a_clear_message() {
    let s = Scratch::new();
    let out = s.im(&["-u", "http://127.0.0.1:8899", "-a", "auth.dat", "list"]);
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("only the REST API"), "{}", out.stderr);
    s.write(
        "im_client.cfg",
        "[im_client]\nxmlrpc_url = http://127.0.0.1:8899\n",
    );
    let out = s.im(&["-a", "auth.dat", "list"]);
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("xmlrpc_url"), "{}", out.stderr);
}

#[test]
fn the_defaults_come_from_im_client_cfg_and_the_home_file_wins() {
    let stub = Stub::table(vec![(
        "GET",
        "/infrastructures",
        json(200, r#"{"uri-list":[]}"#),
    )]);
    let s = Scratch::new();
    s.write(
        "other.dat",
        "type = InfrastructureManager; username = cfg; password = x\n",
    );
    s.write(
        "im_client.cfg",
        "[im_client]\nauth_file = auth.dat\nrestapi_url = http://127.0.0.1:1\n",
    );
    // HOME is the same directory: write the home file there too.
    s.write(
        ".im_client.cfg",
        &format!(
            "[im_client]\nrestapi_url = {}\nauth_file = other.dat\n",
            stub.url
        ),
    );
    let out = s.im(&["list"]);
    assert_eq!(
        (out.code, out.stdout),
        (0, format!("{}No Infrastructures.\n", connected(&stub)))
    );
    assert_eq!(
        only(&stub).header("authorization"),
        Some(r"type = InfrastructureManager;username = cfg;password = x;\n")
    );
}

#[test]
fn options_may_follow_the_operation_and_its_arguments() {
    let stub = Stub::table(vec![(
        "GET",
        "/infrastructures/i/state",
        json(200, r#"{"state":{"state":"configured","vm_states":{}}}"#),
    )]);
    let s = Scratch::new();
    let out = s.im(&[
        "getstate",
        "i",
        "-q",
        "--auth_file",
        "auth.dat",
        "--rest-url",
        &stub.url,
    ]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(
        out.stdout,
        "{\n    \"state\": \"configured\",\n    \"vm_states\": {}\n}\n"
    );
}

#[test]
fn a_bearer_file_and_file_values_are_sent_as_im_client_sends_them() {
    let stub = Stub::table(vec![(
        "GET",
        "/infrastructures",
        json(200, r#"{"uri-list":[]}"#),
    )]);
    let s = Scratch::new();
    s.write("token.dat", "Bearer eyJhbGciOi.x.y\n");
    s.write("pw.txt", "secret;1\n");
    s.write(
        "file.dat",
        &format!(
            "type = InfrastructureManager; username = u; password = file({})\n",
            s.path().join("pw.txt").display()
        ),
    );
    assert_eq!(s.im(&["-r", &stub.url, "-a", "token.dat", "list"]).code, 0);
    assert_eq!(s.im(&["-r", &stub.url, "-a", "file.dat", "list"]).code, 0);
    let reqs = stub.requests();
    assert_eq!(
        reqs[0].header("authorization"),
        Some("Bearer eyJhbGciOi.x.y")
    );
    assert_eq!(
        reqs[1].header("authorization"),
        Some(r"type = InfrastructureManager;username = u;password = 'secret;1';\n")
    );
}

#[test]
fn an_unreachable_server_is_an_error_and_https_urls_say_secure_connection() {
    let s = Scratch::new();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let url = format!("http://127.0.0.1:{port}");
    let out = s.im(&["-r", &url, "-a", "auth.dat", "list"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stdout.starts_with(&format!(
            "Connected with: {url}\nError connecting with {url}/infrastructures"
        )),
        "{}",
        out.stdout
    );
    let url = format!("https://127.0.0.1:{port}");
    let out = s.im(&["-r", &url, "-a", "auth.dat", "--timeout", "5", "getversion"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stdout
            .starts_with(&format!("Secure connection with: {url}\n")),
        "{}",
        out.stdout
    );
}

/// A throwaway self-signed certificate for 127.0.0.1 (test only).
const TEST_CERT: &str = "-----BEGIN CERTIFICATE-----
MIIBjTCCATOgAwIBAgIUbqsD1jH+7NDujfnmTQBnVB7DgSgwCgYIKoZIzj0EAwIw
FDESMBAGA1UEAwwJbG9jYWxob3N0MCAXDTI2MTEyODA3MjAxN1oYDzIxMjYxMTA0
MDcyMDE3WjAUMRIwEAYDVQQDDAlsb2NhbGhvc3QwWTATBgcqhkjOPQIBBggqhkjO
PQMBBwNCAARkZ2DBJPnZ/0Gij3uuF+Eoao7PhkwG76eqOTKfebm/vwP6Jf0ykvTM
FQN+U1rr4TGzJHdXF1LrqNViRTHA3oq1o2EwXzAdBgNVHQ4EFgQUWgA+o9mwU1A/
ycnMfw7BMoFrlKEwHwYDVR0jBBgwFoAUWgA+o9mwU1A/ycnMfw7BMoFrlKEwDAYD
VR0TAQH/BAIwADAPBgNVHREECDAGhwR/AAABMAoGCCqGSM49BAMCA0gAMEUCIQDJ
KA7PXYlP1E+QbFEuVWoGMi02YfFKipjKVkeY8FaNSAIgIPRNr7H19Dk+KqWjv8oK
O69/wcej4Y3mg9vjE8tcx3s=
-----END CERTIFICATE-----
";
/// Its private key.
const TEST_KEY: &str = "-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg7rq4lwOB91A2Im8H
LGCE8AG2s7lfY2MMSNQcH2QmimGhRANCAARkZ2DBJPnZ/0Gij3uuF+Eoao7PhkwG
76eqOTKfebm/vwP6Jf0ykvTMFQN+U1rr4TGzJHdXF1LrqNViRTHA3oq1
-----END PRIVATE KEY-----
";

/// An HTTPS `GET /version` server (Python's `ssl`), killed on drop.
struct TlsServer(std::process::Child, String);

impl Drop for TlsServer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn tls_server(s: &Scratch) -> Option<TlsServer> {
    use std::io::BufRead;
    s.write("tls/cert.pem", TEST_CERT);
    s.write("tls/key.pem", TEST_KEY);
    let script = "import http.server, ssl, sys\n\
class H(http.server.BaseHTTPRequestHandler):\n    \
def do_GET(self):\n        \
b = b'2.0.0'\n        \
self.send_response(200); self.send_header('content-length', str(len(b))); self.end_headers(); self.wfile.write(b)\n    \
def log_message(self, *a): pass\n\
srv = http.server.HTTPServer(('127.0.0.1', 0), H)\n\
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER); ctx.load_cert_chain('tls/cert.pem', 'tls/key.pem')\n\
srv.socket = ctx.wrap_socket(srv.socket, server_side=True)\n\
print(srv.server_address[1], flush=True)\n\
srv.serve_forever()\n";
    let mut child = std::process::Command::new("python3")
        .current_dir(s.path())
        .args(["-c", script])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .ok()?;
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take()?)
        .read_line(&mut line)
        .ok()?;
    let port = line.trim().to_string();
    let server = TlsServer(child, format!("https://127.0.0.1:{port}"));
    (!port.is_empty()).then_some(server)
}

#[test]
fn https_certificates_are_not_verified_unless_verify_ssl_is_given() {
    let s = Scratch::new();
    let Some(server) = tls_server(&s) else {
        eprintln!("SKIPPED: python3 with ssl is needed for the HTTPS server");
        return;
    };
    let url = &server.1;
    let out = s.im(&["-r", url, "getversion"]);
    assert_eq!(
        (out.code, out.stdout),
        (
            0,
            format!("Secure connection with: {url}\nIM service version: 2.0.0\n")
        )
    );
    let out = s.im(&["-r", url, "-v", "getversion"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stdout.contains("certificate"),
        "a self-signed certificate is refused with -v: {}",
        out.stdout
    );
}
