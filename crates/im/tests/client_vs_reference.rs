//! Our client and the reference `im_client` (PyPI `IM-client==1.8.4`) run the
//! same commands against the same canned server: they must print the same
//! lines, exit with the same code and send the same requests. scripts/test
//! installs the reference in `/var/tmp/im-client-venv` (`IM_CLIENT` overrides).

#![allow(clippy::unwrap_used)] // a panic is the failure report

mod client_stub;

use client_stub::{Recorded, Scratch, Stub, VM_INFO, json, reference_client, text, uri_list};

/// Every route the scenarios touch; infrastructure `i1` exists, `i2` is gone.
fn stub() -> Stub {
    let vms = |ids: &[&str]| {
        let items: Vec<String> = ids
            .iter()
            .map(|v| format!(r#"{{"uri":"http://127.0.0.1:8800/infrastructures/i1/vms/{v}"}}"#))
            .collect();
        json(200, &format!(r#"{{"uri-list":[{}]}}"#, items.join(",")))
    };
    let gone = json(
        404,
        r#"{"message":"Error Getting Inf. prop: Invalid infrastructure ID or access not granted.","code":404}"#,
    );
    Stub::table(vec![
        ("GET", "/version", text(200, "2.0.0")),
        (
            "GET",
            "/infrastructures",
            json(
                200,
                r#"{"uri-list":[{"uri":"http://127.0.0.1:8800/infrastructures/i1"},{"uri":"http://127.0.0.1:8800/infrastructures/i2"}]}"#,
            ),
        ),
        (
            "POST",
            "/infrastructures",
            uri_list("http://127.0.0.1:8800/infrastructures/i1"),
        ),
        (
            "PUT",
            "/infrastructures",
            uri_list("http://127.0.0.1:8800/infrastructures/i1"),
        ),
        ("GET", "/infrastructures/i1", vms(&["0", "1"])),
        (
            "GET",
            "/infrastructures/i2",
            text(
                404,
                "Error Getting Inf. info: Invalid infrastructure ID or access not granted.",
            ),
        ),
        ("GET", "/infrastructures/i1/vms/0", text(200, VM_INFO)),
        (
            "GET",
            "/infrastructures/i1/vms/1",
            text(404, "Error Getting VM. info: Deleted VM."),
        ),
        (
            "GET",
            "/infrastructures/i1/vms/0/net_interface.0.ip",
            text(200, "10.0.0.1"),
        ),
        (
            "GET",
            "/infrastructures/i1/vms/1/net_interface.0.ip",
            text(404, "Error Getting VM. property: Deleted VM."),
        ),
        (
            "GET",
            "/infrastructures/i1/vms/0/contmsg",
            text(200, "vm log"),
        ),
        (
            "GET",
            "/infrastructures/i1/state",
            json(
                200,
                r#"{"state":{"state":"running","vm_states":{"0":"configured","1":"running"}}}"#,
            ),
        ),
        ("GET", "/infrastructures/i2/state", gone.clone()),
        (
            "GET",
            "/infrastructures/w1/state",
            json(
                200,
                r#"{"state":{"state":"configured","vm_states":{"0":"configured"}}}"#,
            ),
        ),
        (
            "GET",
            "/infrastructures/w2/state",
            json(
                200,
                r#"{"state":{"state":"failed","vm_states":{"0":"failed"}}}"#,
            ),
        ),
        (
            "GET",
            "/infrastructures/i1/contmsg",
            json(
                200,
                r#"{"contmsg":"Contextualization disabled by the RADL/TOSCA template.\n\n"}"#,
            ),
        ),
        (
            "GET",
            "/infrastructures/i2/contmsg",
            json(200, r#"{"contmsg":""}"#),
        ),
        (
            "GET",
            "/infrastructures/i1/radl",
            json(
                200,
                r#"{"radl":"description desc (\nname = 'web farm'\n)\nsystem node (\ncpu.count >= 1\n)\n\ncontextualize ()\ndeploy node 1"}"#,
            ),
        ),
        (
            "GET",
            "/infrastructures/i2/radl",
            json(200, r#"{"radl":"system node (\ncpu.count >= 1\n)\n"}"#),
        ),
        (
            "GET",
            "/infrastructures/i1/outputs",
            json(
                200,
                r#"{"outputs":{"server":null,"ips":["10.0.0.1","10.0.0.2"],"ok":true,"n":1.5,"d":{"a":1},"s":"x"}}"#,
            ),
        ),
        (
            "GET",
            "/infrastructures/i1/data",
            json(
                200,
                r#"{"data":"{\"id\": \"i1\", \"vm_list\": [], \"auth\": [{\"username\": \"user\"}], \"x\": \"caf\\u00e9\"}"}"#,
            ),
        ),
        ("GET", "/infrastructures/i2/data", gone),
        ("POST", "/infrastructures/i1", vms(&["2", "3"])),
        (
            "POST",
            "/infrastructures/i2",
            text(
                404,
                "Error Adding resources: Invalid infrastructure ID or access not granted.",
            ),
        ),
        ("DELETE", "/infrastructures/i1/vms/1,2", text(200, "")),
        ("PUT", "/infrastructures/i1/vms/0", text(200, VM_INFO)),
        (
            "PUT",
            "/infrastructures/i1/vms/1",
            text(
                400,
                "Error modifying resources: Incorrect RADL no system with name node provided.",
            ),
        ),
        ("PUT", "/infrastructures/i1/reconfigure", text(200, "")),
        ("PUT", "/infrastructures/i1/start", text(200, "")),
        (
            "PUT",
            "/infrastructures/i1/stop",
            text(
                400,
                "Error in stop operation: Error stopping the infrastructure: boom",
            ),
        ),
        ("PUT", "/infrastructures/i1/vms/0/start", text(200, "")),
        ("PUT", "/infrastructures/i1/vms/0/stop", text(200, "")),
        (
            "PUT",
            "/infrastructures/i1/vms/0/reboot",
            text(404, "Error in reboot op in VM: Invalid VM ID"),
        ),
        ("DELETE", "/infrastructures/i1", text(200, "")),
        (
            "DELETE",
            "/infrastructures/i2",
            text(
                404,
                "Error Destroying Inf: Invalid infrastructure ID or access not granted.",
            ),
        ),
        (
            "GET",
            "/clouds/dummy/images",
            json(
                200,
                r#"{"images":[{"uri":"mock0://linux.for.ev.er/image1","name":"Image Name1"},{"uri":"mock0://linux.for.ev.er/image2","name":"Image Name2"}]}"#,
            ),
        ),
        (
            "GET",
            "/clouds/dummy/quotas",
            json(
                200,
                r#"{"quotas":{"cores":{"used":1,"limit":10},"ram":{"used":1,"limit":10}}}"#,
            ),
        ),
        (
            "GET",
            "/clouds/other/images",
            json(
                400,
                r#"{"message":"Error getting cloud info: Cloud ID other not found.","code":400}"#,
            ),
        ),
        ("POST", "/infrastructures/i1/authorization", text(200, "")),
    ])
}

/// The canonical RADL text (as the reference's `str(radl)` writes it), so that
/// both clients send the same bytes.
const RADL: &str = "network public ( outbound = 'yes' )\nsystem node (\ncpu.count >= 1 and\nmemory.size >= 512m and\nnet_interface.0.connection = 'public' and\ndisk.0.os.name = 'linux' and\ndisk.0.image.url = 'dummy://image'\n)\n\ncontextualize ()\ndeploy node 1";

fn files(s: &Scratch) {
    s.write("infra.radl", RADL);
    s.write(
        "t.yaml",
        "tosca_definitions_version: tosca_simple_yaml_1_0\n",
    );
    s.write("r.json", r#"[{"class":"system","id":"node"}]"#);
    s.write(
        "alter.radl",
        "system node (\ncpu.count = 2 and\nmemory.size = 2048m\n)\n",
    );
    s.write("inner.json", r#"{"id": "i1", "vm_list": []}"#);
    s.write(
        "new.dat",
        "id = os; type = OpenStack; host = h\ntype = InfrastructureManager; username = u2; password = p2\n",
    );
    s.write("bad.radl", "system node (\ncpu.count >>= 1\n)\n");
    s.write("in.radl", &RADL.replace("'linux'", "'@input.os@'"));
}

/// The parts of a request both clients must agree on; RADL bodies are
/// compared as documents (the reference re-prints them).
fn same_request(a: &Recorded, b: &Recorded) -> Result<(), String> {
    let accept = |r: &Recorded| r.header("accept").unwrap_or("*/*").to_string();
    let fields = |r: &Recorded| {
        (
            r.line(),
            accept(r),
            r.header("content-type").map(String::from),
            r.header("authorization").map(String::from),
        )
    };
    if fields(a) != fields(b) {
        return Err(format!("{:?}\n  vs {:?}", fields(a), fields(b)));
    }
    if a.body != b.body {
        let doc = |t: &str| im_radl::parse_radl(t).ok();
        if a.header("content-type").is_some()
            || doc(&a.body).is_none()
            || doc(&a.body) != doc(&b.body)
        {
            return Err(format!("body {:?}\n  vs {:?}", a.body, b.body));
        }
    }
    Ok(())
}

#[test]
fn our_client_prints_and_sends_what_the_reference_client_does() {
    let Some(reference) = reference_client() else {
        eprintln!("SKIPPED: the reference im_client is not installed (scripts/test installs it)");
        return;
    };
    let stub = stub();
    let s = Scratch::new();
    files(&s);
    let scenarios: Vec<(Vec<&str>, &str)> = vec![
        (vec!["getversion"], ""),
        (vec!["-q", "getversion"], ""),
        (vec!["list"], ""),
        (vec!["-q", "list"], ""),
        (vec!["-n", "list"], ""),
        (vec!["-n", "-q", "list"], ""),
        (vec!["list", "node"], ""),
        (vec!["create", "infra.radl"], ""),
        (vec!["create", "infra.radl", "0"], ""),
        (vec!["create", "t.yaml"], ""),
        (vec!["create", "r.json", "1"], ""),
        (vec!["create", "missing.radl"], ""),
        (vec!["create"], ""),
        (vec!["create", "infra.radl", "x"], ""),
        (vec!["getstate", "i1"], ""),
        (vec!["-q", "getstate", "i1"], ""),
        (vec!["getstate", "i2"], ""),
        (vec!["getstate"], ""),
        (vec!["getinfo", "i1"], ""),
        (vec!["-q", "getinfo", "i1"], ""),
        (vec!["getinfo", "i1", "net_interface.0.ip"], ""),
        (vec!["-s", "node", "getinfo", "i1", "memory.size"], ""),
        (vec!["-s", "other", "getinfo", "i1"], ""),
        (vec!["getinfo", "i2"], ""),
        (vec!["getvminfo", "i1", "0"], ""),
        (vec!["getvminfo", "i1", "0", "net_interface.0.ip"], ""),
        (vec!["getvminfo", "i1", "1"], ""),
        (vec!["getvminfo", "i1"], ""),
        (vec!["getcontmsg", "i1"], ""),
        (vec!["-q", "getcontmsg", "i1"], ""),
        (vec!["getcontmsg", "i2"], ""),
        (vec!["getradl", "i1"], ""),
        (vec!["getvmcontmsg", "i1", "0"], ""),
        (vec!["addresource", "i1", "infra.radl"], ""),
        (vec!["-q", "addresource", "i1", "infra.radl", "0"], ""),
        (vec!["addresource", "i1", "infra.radl", "x"], ""),
        (vec!["addresource", "i2", "t.yaml"], ""),
        (vec!["addresource", "i1"], ""),
        (vec!["removeresource", "i1", "1,2"], ""),
        (vec!["removeresource", "i1", "1,2", "0"], ""),
        (vec!["removeresource", "i1"], ""),
        (vec!["removeresource", "i1", "1,x"], ""),
        (vec!["alter", "i1", "0", "alter.radl"], ""),
        (vec!["alter", "i1", "1", "alter.radl"], ""),
        (vec!["alter", "i1", "0"], ""),
        (vec!["reconfigure", "i1"], ""),
        (vec!["reconfigure", "i1", "infra.radl", "0,1"], ""),
        (vec!["reconfigure", "i1", "t.yaml"], ""),
        (vec!["start", "i1"], ""),
        (vec!["stop", "i1"], ""),
        (vec!["startvm", "i1", "0"], ""),
        (vec!["stopvm", "i1", "0"], ""),
        (vec!["rebootvm", "i1", "0"], ""),
        (vec!["-q", "startvm", "i1", "0"], ""),
        (vec!["destroy", "i1"], "yes\n"),
        (vec!["destroy", "i1"], "no\n"),
        (vec!["destroy", "i1"], ""),
        (vec!["-y", "destroy", "i1"], ""),
        (vec!["-y", "-f", "destroy", "i1"], ""),
        (vec!["-y", "destroy", "i2"], ""),
        (vec!["export", "i1"], ""),
        (vec!["-q", "export", "i1", "1"], ""),
        (vec!["export", "i2"], ""),
        (vec!["import", "inner.json"], ""),
        (vec!["-q", "import", "inner.json"], ""),
        (vec!["import", "missing.json"], ""),
        (vec!["import"], ""),
        (vec!["getoutputs", "i1"], ""),
        (vec!["-q", "getoutputs", "i1"], ""),
        (vec!["cloudimages", "dummy"], ""),
        (vec!["cloudusage", "dummy"], ""),
        (vec!["cloudimages", "other"], ""),
        (vec!["cloudusage"], ""),
        (vec!["wait", "w1"], ""),
        (vec!["wait", "w2"], ""),
        (vec!["-q", "wait", "w1"], ""),
        (vec!["change_auth", "i1", "new.dat"], ""),
        (vec!["change_auth", "i1", "new.dat", "1"], ""),
        (vec!["change_auth", "i1", "new.dat", "2"], ""),
        (vec!["change_auth", "i1", "auth.dat"], ""),
        (vec!["change_auth", "i1", "missing.dat"], ""),
        (vec!["sshvm", "i1", "0", "1"], ""),
        (vec!["sshvm", "i1", "0", "1", "uname", "x"], ""),
        (vec!["ssh", "i1", "1"], ""),
        (
            vec!["putvm", "i1", "0", "1", "local.txt", "/tmp/remote"],
            "",
        ),
        (vec!["get", "i1", "1", "/etc/hosts", "."], ""),
        (vec!["sshvm", "i1", "1", "1"], ""),
        (vec!["sshvm", "i1"], ""),
        (vec!["-n", "getstate", "web farm"], ""),
        (vec!["create", "in.radl"], "linux\n"),
        (vec!["-y", "destroy"], ""),
    ];
    // Where our line only adds to the reference's (a RADL error also gets the
    // file, line and column, and what was expected).
    let extended: Vec<(Vec<&str>, &str)> = vec![
        (vec!["create", "bad.radl"], ""),
        (vec!["addresource", "i1", "bad.radl"], ""),
    ];
    let mut failures = Vec::new();
    let all_scenarios = scenarios
        .iter()
        .map(|s| (s, true))
        .chain(extended.iter().map(|s| (s, false)));
    for ((args, stdin), exact) in all_scenarios {
        let mut all = vec!["-r", stub.url.as_str(), "-a", "auth.dat"];
        all.extend_from_slice(args);
        stub.clear();
        let theirs = s.run(&reference, &all, stdin);
        let their_reqs = stub.requests();
        stub.clear();
        let ours = s.run(env!("CARGO_BIN_EXE_im"), &all, stdin);
        let our_reqs = stub.requests();
        assert!(
            !theirs.stderr.contains("Traceback"),
            "{args:?}: {}",
            theirs.stderr
        );
        let same_output = if exact {
            ours.stdout == theirs.stdout
        } else {
            ours.stdout.lines().count() == theirs.stdout.lines().count()
                && ours
                    .stdout
                    .lines()
                    .zip(theirs.stdout.lines())
                    .all(|(o, t)| o.contains(t))
        };
        if ours.code != theirs.code || !same_output {
            failures.push(format!(
                "{args:?}: output differs\n--- reference (exit {}):\n{}\n--- ours (exit {}):\n{}\n{}",
                theirs.code, theirs.stdout, ours.code, ours.stdout, ours.stderr
            ));
            continue;
        }
        if their_reqs.len() != our_reqs.len() {
            failures.push(format!(
                "{args:?}: requests differ\n--- reference: {:#?}\n--- ours: {:#?}",
                their_reqs.iter().map(Recorded::line).collect::<Vec<_>>(),
                our_reqs.iter().map(Recorded::line).collect::<Vec<_>>()
            ));
            continue;
        }
        for (a, b) in their_reqs.iter().zip(&our_reqs) {
            if let Err(e) = same_request(a, b) {
                failures.push(format!("{args:?}: request differs: {e}"));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} scenarios differ:\n\n{}",
        failures.len(),
        scenarios.len() + extended.len(),
        failures.join("\n\n")
    );
}

#[test]
fn both_clients_report_a_usage_error_without_an_auth_file() {
    let Some(reference) = reference_client() else {
        eprintln!("SKIPPED: the reference im_client is not installed (scripts/test installs it)");
        return;
    };
    let s = Scratch::new();
    let theirs = s.run(&reference, &["-r", "http://127.0.0.1:9", "list"], "");
    let ours = s.im(&["-r", "http://127.0.0.1:9", "list"]);
    assert_eq!(
        (ours.code, ours.stdout.as_str()),
        (theirs.code, theirs.stdout.as_str())
    );
    assert!(theirs.stderr.contains("Auth file not specified"));
    assert!(ours.stderr.contains("Auth file not specified"));
}
