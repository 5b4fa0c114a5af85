//! schemathesis (PyPI `schemathesis`, pinned in scripts/test, which exports
//! `IM_SCHEMATHESIS` as the path of its `st`) against our `/openapi.json`:
//! every check it has, on every operation, in all its phases (the document's
//! examples, coverage of each parameter's edges, fuzzing, and stateful runs
//! along the document's links), with a fixed seed and a bounded number of
//! examples. It fails on any finding: a 5xx, a status, content type,
//! header or body the document does not declare, a schema-valid request
//! refused or a schema-invalid one accepted, a wrong 405 or `allow`, a
//! request that hangs, an operation that ignores its credentials, and one
//! user reading another user's infrastructure (two users, `user` and
//! `user2`, are its peers).
//!
//! The few checks that contradict the reference IM on purpose are switched
//! off where they do, in [`config`], each with its reason.
//!
//! `IM_SCHEMATHESIS_SEED` and `IM_SCHEMATHESIS_EXAMPLES` change the seed and
//! the number of examples, to explore further by hand.
//!
//! Two more tests walk the same document without schemathesis: every
//! operation on an infrastructure is a 403 for another user and a 404 for an
//! id that does not exist; malformed credentials get a 4xx on every
//! operation, and bodies of every kind and content type never a 5xx.

#![allow(clippy::unwrap_used)] // a panic is the failure report

mod common;

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{A, B, Server};

/// How long schemathesis may run before the test gives up on it.
const DEADLINE: Duration = Duration::from_secs(600);

/// The `Authorization` values of the two users, as a Web Fuzzing Commons
/// auth file (how schemathesis learns about several identities).
fn wfc_auth() -> String {
    serde_json::json!({"auth": [
        {"name": "user", "fixedHeaders": [{"name": "Authorization", "value": A}]},
        {"name": "user2", "fixedHeaders": [{"name": "Authorization", "value": B}]},
    ]})
    .to_string()
}

/// The schemathesis configuration: the two users, and the checks switched off
/// where the reference IM's behaviour, which we keep, contradicts them.
fn config(wfc: &str, inf: &str) -> String {
    format!(
        r#"
# Hypothesis's timing health check depends on the machine's load, not on
# the server: a busy CI machine must not fail the test.
suppress-health-check = ["too_slow"]

[auth.wfc]
path = "{wfc}"
peers = ["user", "user2"]

[cache]
enabled = false

# Every check; `ignored_auth` and `max_response_time` are off unless named.
[checks]
ignored_auth.enabled = true
max_response_time = 15

# IM-compat: data without InfrastructureManager credentials, or with invalid
# ones, is a 400 on these routes (401 only on GET/POST/PUT /infrastructures
# and /clouds), as in the reference (rest-api.md §3.6, checklist 26, 138);
# `ignored_auth` wants 401 or 403. A missing header is a 401 everywhere.
[[operations]]
include-path-regex = "^/(infrastructures/|stats)"
checks.ignored_auth.enabled = false

# IM-compat: PUT …/authorization reaches PUT …/{{prop}} and GET …/reconfigure
# reaches GET …/{{prop}}, as in the reference: the 422 of an invalid `prop`
# (rest-api.md §1.2, checklist 109), where `unsupported_method` wants a 405.
[[operations]]
include-operation-id = ["reconfigure_infrastructure", "get_infrastructure_owners", "change_infrastructure_auth"]
checks.unsupported_method.enabled = false

# A schema cannot say which texts are RADL, TOSCA, an export, IM credentials,
# a regular expression (`filter`) or the id of a cloud of the caller's auth
# data, nor whether OAI-PMH is configured: those schema-valid requests get the
# documented 400 that says what is wrong.
[[operations]]
include-operation-id = ["create_infrastructure", "add_resource", "reconfigure_infrastructure", "alter_vm", "import_infrastructure", "change_infrastructure_auth", "list_infrastructures", "get_cloud_images", "get_cloud_quotas", "oai_get", "oai_post"]
checks.positive_data_acceptance.expected-statuses = ["2xx", "400", "401", "403", "404", "409"]

# The VM operations work on the VMs of an infrastructure made for them (the
# answer that creates one does not name its VMs, so links cannot reach them).
[[operations]]
include-operation-id = ["get_vm_info", "alter_vm", "get_vm_property", "operate_vm", "create_disk_snapshot"]
parameters = {{ infid = "{inf}", vmid = "0" }}

[[operations]]
include-operation-id = "static_file"
parameters = {{ filename = "hello.txt" }}
"#
    )
}

/// An environment variable, or a default. `IM_SCHEMATHESIS_SEED` and
/// `IM_SCHEMATHESIS_EXAMPLES` let a developer explore beyond the fixed run.
fn env_or(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_string())
}

/// Runs `cmd` to its end or until [`DEADLINE`]; returns (success, output).
fn run_bounded(mut cmd: Command) -> (bool, String) {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run schemathesis ({e}); scripts/test installs it"));
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let out = std::thread::spawn(move || {
        let mut s = String::new();
        stdout.read_to_string(&mut s).unwrap();
        s
    });
    let err = std::thread::spawn(move || {
        let mut s = String::new();
        stderr.read_to_string(&mut s).unwrap();
        s
    });
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if start.elapsed() > DEADLINE {
            child.kill().unwrap();
            child.wait().unwrap();
            break None;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let output = format!("{}{}", out.join().unwrap(), err.join().unwrap());
    match status {
        Some(s) => (s.success(), output),
        None => (
            false,
            format!("{output}\nschemathesis ran for over {DEADLINE:?}"),
        ),
    }
}

#[test]
fn schemathesis_finds_nothing_the_openapi_document_does_not_allow() {
    let Some(st) = std::env::var_os("IM_SCHEMATHESIS") else {
        eprintln!("SKIPPED: IM_SCHEMATHESIS is not set (scripts/test installs schemathesis)");
        return;
    };
    // A static file, for GET /static/{filename}.
    let data = tempfile::tempdir().unwrap();
    let files = data.path().join("static");
    std::fs::create_dir(&files).unwrap();
    std::fs::write(files.join("hello.txt"), "hello\n").unwrap();
    let s = Server::start_in(data, &format!("STATIC_FILES_DIR = {}", files.display()));
    let rt = tokio::runtime::Runtime::new().unwrap();
    let three_vms = common::R1.replace("deploy front 1", "deploy front 3");
    let r = rt.block_on(common::req(
        &s.base,
        "POST",
        "/infrastructures",
        &[("Authorization", A)],
        Some(&three_vms),
    ));
    assert_eq!(r.status, 200, "{}", r.body);
    let inf = r.header("infid").unwrap().to_string();

    let dir = s.dir.path();
    let wfc = dir.join("wfc.json");
    std::fs::write(&wfc, wfc_auth()).unwrap();
    let cfg = dir.join("schemathesis.toml");
    std::fs::write(&cfg, config(&wfc.display().to_string(), &inf)).unwrap();

    let mut cmd = Command::new(st);
    cmd.current_dir(dir)
        .arg("--config-file")
        .arg(&cfg)
        .arg("run")
        .arg(format!("{}/openapi.json", s.base))
        .args(["--seed", &env_or("IM_SCHEMATHESIS_SEED", "20261128")])
        .args(["--max-examples", &env_or("IM_SCHEMATHESIS_EXAMPLES", "50")])
        // One worker: hypothesis's `ast.parse` from several threads trips a
        // CPython 3.11 bug ("AST constructor recursion depth mismatch").
        .args(["--request-timeout", "20", "--workers", "1"])
        .args(["--generation-database", "none", "--no-color"])
        .args(["--output-sanitize", "false"]);
    let started = Instant::now();
    let (ok, output) = run_bounded(cmd);
    eprintln!("schemathesis ran for {:?}", started.elapsed());
    assert!(ok, "schemathesis found problems:\n{output}");
    let summary = output.find("SUMMARY").map_or("", |i| &output[i..]);
    eprintln!("{summary}");
}

/// One request per documented operation on an infrastructure (with
/// `every`, per operation that needs credentials), built from the document:
/// its path with `infid` filled in, the first value of each enumerated path
/// parameter, the required query parameters and the body example.
fn requests_on(
    doc: &serde_json::Value,
    infid: &str,
    every: bool,
) -> Vec<(String, String, Option<String>, String)> {
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        if !every && !path.contains("{infid}") {
            continue;
        }
        for (method, op) in item.as_object().unwrap() {
            if op["security"] == serde_json::json!([]) {
                continue;
            }
            let params = op["parameters"].as_array().unwrap();
            let mut concrete = path.replace("{infid}", infid);
            let mut query = Vec::new();
            for p in params {
                let name = p["name"].as_str().unwrap();
                let value = p["schema"]["enum"][0].as_str().unwrap_or(match name {
                    "prop" => "state",
                    _ => "0",
                });
                match p["in"].as_str().unwrap() {
                    "path" => concrete = concrete.replace(&format!("{{{name}}}"), value),
                    "query" if p["required"] == true => query.push(format!("{name}=x")),
                    _ => {}
                }
            }
            if !query.is_empty() {
                concrete = format!("{concrete}?{}", query.join("&"));
            }
            let content = &op["requestBody"]["content"];
            let (ctype, body) = ["text/plain", "application/json"]
                .iter()
                .find_map(|t| {
                    let ex = &content[*t]["example"];
                    let body = ex.as_str().map_or_else(|| ex.to_string(), str::to_string);
                    (!ex.is_null()).then(|| (t.to_string(), body))
                })
                .map_or((None, String::new()), |(t, b)| (Some(t), b));
            out.push((method.to_uppercase(), concrete, ctype, body));
        }
    }
    out
}

#[test]
fn every_operation_on_another_users_or_an_unknown_infrastructure_is_refused() {
    let s = Server::start("");
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let r = common::req(
            &s.base,
            "POST",
            "/infrastructures",
            &[("Authorization", A)],
            Some(common::R1),
        )
        .await;
        let inf = r.header("infid").unwrap().to_string();
        let doc = common::req(&s.base, "GET", "/openapi.json", &[], None)
            .await
            .json();
        let mut n = 0;
        for (who, id, expected) in [(B, inf.as_str(), 403), (A, "nonexistent", 404)] {
            for (method, path, ctype, body) in requests_on(&doc, id, false) {
                let mut headers = vec![("Authorization", who)];
                if let Some(t) = &ctype {
                    headers.push(("Content-Type", t.as_str()));
                }
                let r = common::req(&s.base, &method, &path, &headers, Some(&body)).await;
                assert_eq!(r.status, expected, "{method} {path}: {}", r.body);
                n += 1;
            }
        }
        assert!(n >= 28, "only {n} requests");
        // Nothing of user's infrastructure changed.
        let r = common::req(
            &s.base,
            "GET",
            &format!("/infrastructures/{inf}/state"),
            &[("Authorization", A)],
            None,
        )
        .await;
        assert_eq!(
            r.body,
            "{\"state\":{\"state\":\"configured\",\"vm_states\":{\"0\":\"configured\"}}}"
        );
    });
}

/// `Authorization` values that carry no usable credentials: malformed
/// `Basic`, a bad auth `id`, JSON that is not a list of objects, bytes that
/// are not UTF-8, a huge one.
const BAD_AUTH: &[&[u8]] = &[
    b"garbage",
    b"Basic !!!",
    b"Basic dXNlcg==",
    b"Bearer a.b.c",
    b"type = InfrastructureManager; token = abc",
    b"id = 1bad; type = Dummy\\ntype = InfrastructureManager; username = a; password = b",
    b"{}",
    b"42",
    b"[1]",
    b"[{\"type\": [\"InfrastructureManager\"]}]",
    b"=;=;=",
    b"type = Infrastructure\xffManager; username = us\xe9r",
];

/// Bodies of every kind, for every content type.
const BODIES: &[&[u8]] = &[
    b"",
    b"\xff\xfe not UTF-8",
    b"system ((",
    b"42",
    b"{\"a\": [1, {\"b\": null}]}",
    b"foo: [",
];

const CONTENT_TYPES: &[Option<&str>] = &[
    None,
    Some("text/plain"),
    Some("application/json"),
    Some("text/yaml"),
    Some("application/pdf"),
    Some("garbage"),
    Some("multipart/form-data; boundary=x"),
];

#[test]
fn malformed_credentials_and_bodies_of_any_type_get_a_4xx_on_every_operation() {
    let s = Server::start("");
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let r = common::req(
            &s.base,
            "POST",
            "/infrastructures",
            &[("Authorization", A)],
            Some(common::R1),
        )
        .await;
        let inf = r.header("infid").unwrap().to_string();
        let doc = common::req(&s.base, "GET", "/openapi.json", &[], None)
            .await
            .json();
        let client = reqwest::Client::new();
        let send =
            async |method: &str, path: &str, auth: &[u8], ctype: Option<&str>, body: &[u8]| {
                let mut r = client
                    .request(method.parse().unwrap(), format!("{}{path}", s.base))
                    .header(
                        "Authorization",
                        reqwest::header::HeaderValue::from_bytes(auth).unwrap(),
                    )
                    .timeout(Duration::from_secs(20))
                    .body(body.to_vec());
                if let Some(t) = ctype {
                    r = r.header("Content-Type", t);
                }
                let resp = r
                    .send()
                    .await
                    .unwrap_or_else(|e| panic!("{method} {path}: {e}"));
                resp.status().as_u16()
            };
        let huge = format!("type = {}", "u".repeat(60_000));
        let mut n = 0;
        for (method, path, _, _) in requests_on(&doc, &inf, true) {
            for auth in BAD_AUTH.iter().copied().chain([huge.as_bytes()]) {
                let status = send(&method, &path, auth, None, b"").await;
                assert!(
                    (400..500).contains(&status),
                    "{method} {path} with {:?}: {status}",
                    String::from_utf8_lossy(&auth[..auth.len().min(60)])
                );
                n += 1;
            }
        }
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                if op.get("requestBody").is_none() {
                    continue;
                }
                let path = path.replace("{infid}", &inf).replace("{vmid}", "0");
                let method = method.to_uppercase();
                for ctype in CONTENT_TYPES {
                    for body in BODIES {
                        let status = send(&method, &path, A.as_bytes(), *ctype, body).await;
                        assert!(
                            status < 500,
                            "{method} {path} {ctype:?} {:?}: {status}",
                            String::from_utf8_lossy(body)
                        );
                        n += 1;
                    }
                }
            }
        }
        assert!(n >= 400, "only {n} requests");
    });
}
