//! TOSCA through the REST API of a real `im serve` on the Dummy cloud: the
//! reference's create → add → remove scenario (fixtures
//! `tosca/scenario_create_add_remove`), the TOSCA items of the conformance
//! checklist (spec rest-api.md §11, 146–147), outputs, the stored template
//! through export and import, re-posting (reconfigure, removal lists),
//! `PUT …/reconfigure` and `PUT …/vms/<n>` with TOSCA bodies, imports over
//! loopback HTTP (cached), and templates that do not validate.
//!
//! Remote documents of the fixtures (type files, playbooks) come from the
//! fixtures' offline mirror (`im serve --tosca-mirror`): no test leaves the
//! machine.

#![allow(clippy::unwrap_used)] // a panic is the failure report

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use common::{A, Resp, Server, req};
use serde_json::{Value, json};

const FIXTURES: &str = "../../../shared/fixtures/tosca";

fn fixture(name: &str) -> String {
    let path = format!("{}/{FIXTURES}/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// `im serve` with the fixtures' mirror of remote TOSCA documents.
fn server() -> Server {
    server_with("")
}

/// [`server`] with `im.cfg` lines.
fn server_with(cfg: &str) -> Server {
    let dir = tempfile::tempdir().unwrap();
    let cfg_path = dir.path().join("im.cfg");
    std::fs::write(&cfg_path, format!("[im]\n{cfg}\n")).unwrap();
    let db = format!("sqlite://{}/im.db", dir.path().display());
    let mirror = format!("{}/{FIXTURES}/remote", env!("CARGO_MANIFEST_DIR"));
    let mut child = Command::new(env!("CARGO_BIN_EXE_im"))
        .args(["serve", "--listen", "127.0.0.1:0", "--db", &db, "--config"])
        .arg(&cfg_path)
        .args(["--tosca-mirror", &mirror])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let base = line
        .trim()
        .strip_prefix("im listening on ")
        .unwrap_or_else(|| panic!("unexpected first line: {line:?}"))
        .to_string();
    Server { child, base, dir }
}

async fn post_yaml(s: &Server, path: &str, body: &str) -> Resp {
    req(
        &s.base,
        "POST",
        path,
        &[("Authorization", A), ("Content-Type", "text/yaml")],
        Some(body),
    )
    .await
}

async fn get(s: &Server, path: &str, accept: Option<&str>) -> Resp {
    let mut h = vec![("Authorization", A)];
    if let Some(a) = accept {
        h.push(("Accept", a));
    }
    req(&s.base, "GET", path, &h, None).await
}

/// Creates an infrastructure from a template; returns its id.
async fn create(s: &Server, body: &str) -> String {
    let r = post_yaml(s, "/infrastructures", body).await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.header("infid").unwrap().to_string()
}

/// The ids of the live VMs.
async fn vm_ids(s: &Server, id: &str) -> Vec<String> {
    let r = get(s, &format!("/infrastructures/{id}"), None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body
        .lines()
        .filter(|l| !l.is_empty())
        .map(|l| l.rsplit('/').next().unwrap().to_string())
        .collect()
}

async fn outputs(s: &Server, id: &str) -> Value {
    let r = get(
        s,
        &format!("/infrastructures/{id}/outputs"),
        Some("application/json"),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.json()["outputs"].clone()
}

/// A fixture of the scenario with an image for each VM: the Dummy cloud has
/// no image of Ubuntu 22.04 to choose (the reference's run used a fake
/// infrastructure that needed none). An `indigo.Compute` gets `os.image`; a
/// plain `tosca.nodes.Compute` (no such property) loses its distribution and
/// version instead, so that any image fits. Nothing else changes.
fn with_image(text: &str) -> String {
    let mut out = String::new();
    let mut plain = false;
    let mut skip_version = false;
    for line in text.lines() {
        let t = line.trim();
        if t.starts_with("type: tosca.nodes.") {
            plain = t == "type: tosca.nodes.Compute";
        }
        if skip_version && t.starts_with("version:") {
            skip_version = false;
            continue;
        }
        if t == "distribution: ubuntu" && plain {
            skip_version = true;
            continue;
        }
        out.push_str(line);
        out.push('\n');
        if t == "distribution: ubuntu" {
            let indent = &line[..line.len() - line.trim_start().len()];
            out.push_str(&format!(
                "{indent}image: mock0://linux.for.ev.er/ubuntu-22.04\n"
            ));
        }
    }
    out
}

fn yaml(text: &str) -> im_tosca::Value {
    im_tosca::yaml::parse_value(text).unwrap()
}

/// Gives each VM of an export the addresses and credentials of the fake
/// infrastructure the reference's scenario ran on (fixtures README): VM N
/// has `158.42.1.(10+N)` on its public interface, `10.0.0.(10+N)` on its
/// private one, and the credentials `cloudadm` / `passN`.
fn as_reference_vms(data: &str) -> String {
    let mut v: Value = serde_json::from_str(data).unwrap();
    for vm in v["vm_list"].as_array_mut().unwrap() {
        let n = vm["im_id"].as_i64().unwrap();
        let mut info = im_radl::parse_radl(vm["info"].as_str().unwrap()).unwrap();
        let nets = info.networks.clone();
        let sys = &mut info.systems[0];
        let set = |s: &mut im_radl::System, k: &str, v: String| {
            s.features.set_value(k, im_radl::Value::Str(v), "");
        };
        for i in 0..4 {
            let Some(net) = sys
                .features
                .get_str(&format!("net_interface.{i}.connection"))
                .map(str::to_string)
            else {
                break;
            };
            let public = nets.iter().any(|x| x.id == net && x.is_public());
            let ip = if public {
                format!("158.42.1.{}", 10 + n)
            } else {
                format!("10.0.0.{}", 10 + n)
            };
            set(sys, &format!("net_interface.{i}.ip"), ip);
        }
        set(sys, "disk.0.os.credentials.username", "cloudadm".into());
        set(sys, "disk.0.os.credentials.password", format!("pass{n}"));
        vm["info"] = json!(info.to_string());
    }
    v.to_string()
}

#[tokio::test]
async fn the_reference_scenario_creates_scales_out_and_scales_in_with_the_same_vms_and_outputs() {
    let s = server();
    let summary: Value =
        serde_json::from_str(&fixture("scenario_create_add_remove/scenario_summary.json")).unwrap();

    // 1. create: web_server (VM 0) and db_server (VM 1).
    let id = create(&s, &with_image(&fixture("tosca_create.yml"))).await;
    assert_eq!(vm_ids(&s, &id).await, ["0", "1"]);

    // The VMs get the reference run's addresses and credentials: the
    // infrastructure goes out (export with delete) and comes back (import)
    // with its template.
    let r = get(
        &s,
        &format!("/infrastructures/{id}/data?delete=true"),
        Some("application/json"),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let data = r.json()["data"].as_str().unwrap().to_string();
    let exported: Value = serde_json::from_str(&data).unwrap();
    let stored = exported["extra_info"]["TOSCA"].as_str().unwrap();
    assert_eq!(
        yaml(stored),
        yaml(&im_tosca::yaml::to_yaml(
            &yaml(&with_image(&fixture("tosca_create.yml"))),
            true,
            false
        ))
    );
    let r = req(
        &s.base,
        "PUT",
        "/infrastructures",
        &[("Authorization", A), ("Content-Type", "application/json")],
        Some(&as_reference_vms(&data)),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(outputs(&s, &id).await, summary["outputs_after_create"]);

    // 2. add: one more db_server (VM 2).
    let r = post_yaml(
        &s,
        &format!("/infrastructures/{id}"),
        &with_image(&fixture("tosca_add.yml")),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body, format!("{}/infrastructures/{id}/vms/2", s.base));
    assert_eq!(vm_ids(&s, &id).await, ["0", "1", "2"]);
    let radl = get(&s, &format!("/infrastructures/{id}/radl"), None)
        .await
        .body;
    assert!(radl.contains("db_server_conf"), "{radl}");

    // 3. remove: removal_list ['2'].
    let r = post_yaml(
        &s,
        &format!("/infrastructures/{id}"),
        &with_image(&fixture("tosca_remove.yml")),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body, "");
    assert_eq!(vm_ids(&s, &id).await, ["0", "1"]);
    assert_eq!(outputs(&s, &id).await, summary["outputs_after_remove"]);

    // The stored template is the reference's merged one, without the
    // removal list it applied (docs/compat.md).
    let mut expected = yaml(&with_image(&fixture(
        "scenario_create_add_remove/stored_after_remove.yml",
    )));
    let props = expected
        .as_map_mut()
        .and_then(|m| m.get_mut("topology_template"))
        .and_then(|m| m.as_map_mut())
        .and_then(|m| m.get_mut("node_templates"))
        .and_then(|m| m.as_map_mut())
        .and_then(|m| m.get_mut("db_server"))
        .and_then(|m| m.as_map_mut())
        .and_then(|m| m.get_mut("capabilities"))
        .and_then(|m| m.as_map_mut())
        .and_then(|m| m.get_mut("scalable"))
        .and_then(|m| m.as_map_mut())
        .and_then(|m| m.get_mut("properties"))
        .and_then(|m| m.as_map_mut())
        .unwrap();
    assert!(props.shift_remove("removal_list").is_some());
    let r = get(&s, &format!("/infrastructures/{id}/tosca"), None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(yaml(&r.body), expected);

    // 4. the reference re-applies the stored removal_list ['2'] here (VM 2 is
    // gone: 404); here count 0 removes the oldest db_server, VM 1.
    let no_list = with_image(&fixture("tosca_remove_no_list.yml")).replace("count: 1", "count: 0");
    let r = post_yaml(&s, &format!("/infrastructures/{id}"), &no_list).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(vm_ids(&s, &id).await, ["0"]);
    assert_eq!(outputs(&s, &id).await, summary["outputs_after_remove"]);
}

const SIMPLE: &str = "tosca_definitions_version: tosca_simple_yaml_1_0
topology_template:
  node_templates:
    server:
      type: tosca.nodes.Compute
      capabilities:
        host:
          properties:
            num_cpus: 1
            mem_size: 1 GB
        os:
          properties:
            type: linux
  outputs:
    server_ip:
      value: { get_attribute: [ server, public_address ] }
    const:
      value: hello
";

#[tokio::test]
async fn a_template_is_deployed_and_its_outputs_template_and_radl_are_served() {
    let s = server();
    let id = create(&s, SIMPLE).await; // 146
    let r = get(
        &s,
        &format!("/infrastructures/{id}/outputs"),
        Some("application/json"),
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body, r#"{"outputs":{"server_ip":null,"const":"hello"}}"#);
    let r = get(&s, &format!("/infrastructures/{id}/tosca"), None).await;
    assert_eq!(r.status, 200);
    assert!(
        r.content_type.starts_with("text/plain"),
        "{}",
        r.content_type
    );
    let keys: Vec<&str> = r
        .body
        .lines()
        .filter(|l| !l.starts_with(' ') && !l.is_empty())
        .collect();
    assert_eq!(
        keys,
        [
            "topology_template:",
            "tosca_definitions_version: tosca_simple_yaml_1_0"
        ]
    );
    assert!(
        r.body.find("const:").unwrap() < r.body.find("server_ip:").unwrap(),
        "{}",
        r.body
    );
    assert_eq!(yaml(&r.body), yaml(SIMPLE));
    let r = get(
        &s,
        &format!("/infrastructures/{id}/tosca"),
        Some("application/json"),
    )
    .await;
    assert_eq!(yaml(r.json()["tosca"].as_str().unwrap()), yaml(SIMPLE));
    let radl = get(&s, &format!("/infrastructures/{id}/radl"), None)
        .await
        .body;
    assert!(radl.contains("system server ("), "{radl}");
    assert!(radl.contains("contextualize ()"), "{radl}");
    // Outputs are JSON only, like the reference's.
    let r = get(
        &s,
        &format!("/infrastructures/{id}/outputs"),
        Some("text/plain"),
    )
    .await;
    assert_eq!(r.status, 415, "{}", r.body);
}

#[tokio::test]
async fn yaml_that_does_not_parse_is_a_400_in_the_references_words() {
    let s = server();
    let r = req(
        &s.base,
        "POST",
        "/infrastructures",
        &[("Authorization", A), ("Content-Type", "application/yaml")],
        Some("foo: ["),
    )
    .await; // 147
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(
        r.content_type.starts_with("text/plain"),
        "{}",
        r.content_type
    );
    assert!(
        r.body.starts_with(
            "Error parsing request body: Error parsing TOSCA template: while parsing a flow node"
        ),
        "{}",
        r.body
    );
    assert!(r.body.contains("line 1"), "{}", r.body);
    // The other YAML types are TOSCA too.
    for ct in ["text/x-yaml", "text/yaml; charset=utf-8"] {
        let r = req(
            &s.base,
            "POST",
            "/infrastructures",
            &[("Authorization", A), ("Content-Type", ct)],
            Some(SIMPLE),
        )
        .await;
        assert_eq!(r.status, 200, "{ct}: {}", r.body);
    }
}

#[tokio::test]
async fn a_template_that_does_not_validate_is_a_400_naming_the_node_the_property_and_the_line() {
    let s = server();
    let missing = "tosca_definitions_version: tosca_simple_yaml_1_0
topology_template:
  node_templates:
    vol:
      type: tosca.nodes.BlockStorage
      properties:
        volume_id: abc
";
    let r = post_yaml(&s, "/infrastructures", missing).await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(
        r.body
            .starts_with("Error parsing request body: Error parsing TOSCA template: "),
        "{}",
        r.body
    );
    assert!(
        r.body.contains(
            "MissingRequiredFieldError: \"properties\" of template \"vol\" is missing required field \"['size']\""
        ),
        "{}",
        r.body
    );
    assert!(
        r.body.contains("(line 4)") || r.body.contains("(line 6)"),
        "{}",
        r.body
    );

    let unknown = SIMPLE.replace("num_cpus: 1", "num_cpus: 1\n            cpus: 2");
    let r = post_yaml(&s, "/infrastructures", &unknown).await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(r.body.contains("\"server\""), "{}", r.body);
    assert!(r.body.contains("\"cpus\""), "{}", r.body);
    assert!(r.body.contains("(line 10)"), "{}", r.body);

    let bad_value = SIMPLE.replace("num_cpus: 1", "num_cpus: many");
    let r = post_yaml(&s, "/infrastructures", &bad_value).await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(r.body.contains("\"many\" is not an integer."), "{}", r.body);
    assert!(r.body.contains("(line 9)"), "{}", r.body);

    // No traceback, no 500, with JSON errors too.
    let r = req(
        &s.base,
        "POST",
        "/infrastructures",
        &[
            ("Authorization", A),
            ("Content-Type", "text/yaml"),
            ("Accept", "application/json"),
        ],
        Some("tosca_definitions_version: tosca_simple_yaml_9_9\n"),
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(r.json()["code"], 400);
    assert!(!r.body.contains("Traceback"), "{}", r.body);
    // Nothing was created by any of them.
    assert_eq!(get(&s, "/infrastructures", None).await.body, "");
}

/// A one-file HTTP server on a loopback port: `/types.yaml` is `body`, any
/// other path is a 404; counts the requests for `/types.yaml`.
fn type_file_server(body: &'static str) -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut buf = [0u8; 4096];
            let mut got = Vec::new();
            while !got.windows(4).any(|w| w == b"\r\n\r\n") {
                match stream.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => got.extend_from_slice(&buf[..n]),
                }
            }
            let head = String::from_utf8_lossy(&got);
            let answer = if head.starts_with("GET /types.yaml ") {
                counter.fetch_add(1, Ordering::SeqCst);
                format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: text/yaml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                )
            } else {
                "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".into()
            };
            let _ = stream.write_all(answer.as_bytes());
        }
    });
    (base, hits)
}

const TYPES: &str = "tosca_definitions_version: tosca_simple_yaml_1_0
node_types:
  my.nodes.Server:
    derived_from: tosca.nodes.Compute
    properties:
      flavour_name:
        type: string
        default: small
";

fn importing(url: &str) -> String {
    format!(
        "tosca_definitions_version: tosca_simple_yaml_1_0
imports:
  - {url}
topology_template:
  node_templates:
    vm:
      type: my.nodes.Server
      capabilities:
        host:
          properties:
            num_cpus: 2
  outputs:
    flavour:
      value: {{ get_property: [ vm, flavour_name ] }}
"
    )
}

#[tokio::test]
async fn imports_are_fetched_over_http_once_and_an_import_that_cannot_be_had_is_a_clear_400() {
    let s = server();
    let (base, hits) = type_file_server(TYPES);
    let doc = importing(&format!("{base}/types.yaml"));
    let id = create(&s, &doc).await;
    assert_eq!(outputs(&s, &id).await, json!({"flavour": "small"}));
    let radl = get(&s, &format!("/infrastructures/{id}/radl"), None)
        .await
        .body;
    assert!(radl.contains("cpu.count >= 2"), "{radl}");
    // A second template importing the same URL, and the stored template read
    // again: the type file was downloaded once.
    create(&s, &doc).await;
    assert_eq!(hits.load(Ordering::SeqCst), 1);

    // A file the server does not have.
    let r = post_yaml(
        &s,
        "/infrastructures",
        &importing(&format!("{base}/none.yaml")),
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(r.body.contains(&format!("{base}/none.yaml")), "{}", r.body);
    assert!(r.body.contains("Not Found"), "{}", r.body);

    // A server that is not there.
    let closed = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/types.yaml", closed.local_addr().unwrap());
    drop(closed);
    let r = post_yaml(&s, "/infrastructures", &importing(&url)).await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(
        r.body
            .starts_with("Error parsing request body: Error parsing TOSCA template: "),
        "{}",
        r.body
    );
    assert!(r.body.contains(&url), "{}", r.body);
}

#[tokio::test]
async fn an_import_from_a_server_that_never_answers_is_a_400_after_the_download_timeout() {
    let s = server();
    // Accepts connections (the backlog) and never answers.
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/types.yaml", silent.local_addr().unwrap());
    let r = post_yaml(&s, "/infrastructures", &importing(&url)).await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(r.body.contains(&url), "{}", r.body);
    assert!(r.body.contains("no answer within 20 s"), "{}", r.body);
    drop(silent);
}

const BASE_TEMPLATE: &str = "tosca_definitions_version: tosca_simple_yaml_1_0
topology_template:
  inputs:
    cpus:
      type: integer
      default: 1
  node_templates:
    vm:
      type: tosca.nodes.Compute
      capabilities:
        host:
          properties:
            num_cpus: { get_input: cpus }
  outputs:
    cpus:
      value: { get_input: cpus }
";

#[tokio::test]
async fn a_template_file_import_comes_from_the_configured_tosca_repository() {
    let (base, hits) = type_file_server(BASE_TEMPLATE);
    let s = server_with(&format!(
        "OAIPMH_REPO_BASE_IDENTIFIER_URL = {base}/\nOAIPMH_REPO_NAME = r\nOAIPMH_REPO_DESCRIPTION = d"
    ));
    let child = "tosca_definitions_version: tosca_simple_yaml_1_0
imports:
  - template_file: types.yaml
topology_template:
  inputs:
    cpus: 4
";
    let id = create(&s, child).await;
    assert!(hits.load(Ordering::SeqCst) >= 1);
    assert_eq!(outputs(&s, &id).await, json!({"cpus": 4}));
    let radl = get(&s, &format!("/infrastructures/{id}/radl"), None)
        .await
        .body;
    assert!(radl.contains("cpu.count >= 4"), "{radl}");
    // Only from that repository.
    let elsewhere = child.replace("types.yaml", "http://127.0.0.1:9/types.yaml");
    let r = post_yaml(&s, "/infrastructures", &elsewhere).await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(
        r.body
            .contains("The TOSCA template must be imported from the TOSCA repository"),
        "{}",
        r.body
    );
}

const SCALABLE: &str = "tosca_definitions_version: tosca_simple_yaml_1_0
imports:
  - indigo_custom_types: https://raw.githubusercontent.com/indigo-dc/tosca-types/master/custom_types.yaml
topology_template:
  node_templates:
    node:
      type: tosca.nodes.indigo.Compute
      capabilities:
        scalable:
          properties:
            count: COUNT
        host:
          properties:
            num_cpus: 1
            mem_size: 1 GB
  outputs:
    ips:
      value: { get_attribute: [ node, private_address ] }
";

fn scalable(count: usize) -> String {
    SCALABLE.replace("COUNT", &count.to_string())
}

#[tokio::test]
async fn re_posting_a_template_scales_to_its_count_and_reconfigures_when_nothing_changes() {
    let s = server();
    let id = create(&s, &scalable(1)).await;
    assert_eq!(vm_ids(&s, &id).await, ["0"]);
    let path = format!("/infrastructures/{id}");

    let r = post_yaml(&s, &path, &scalable(3)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.header("infid"), Some(id.as_str()));
    assert_eq!(r.body, format!("{0}{path}/vms/1\n{0}{path}/vms/2", s.base));
    assert_eq!(
        outputs(&s, &id).await,
        json!({"ips": ["10.0.0.1", "10.0.0.1", "10.0.0.1"]})
    );

    // The same count again: nothing added or removed, a reconfiguration.
    let r = post_yaml(&s, &path, &scalable(3)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body, "");
    assert_eq!(vm_ids(&s, &id).await, ["0", "1", "2"]);

    // Scaling in removes the oldest VMs.
    let r = post_yaml(&s, &path, &scalable(1)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(vm_ids(&s, &id).await, ["2"]);

    // A removal list names VMs that are not there: nothing removed, nothing
    // added, the reference's 404.
    let with_list = scalable(0).replace("count: 0", "count: 0\n            removal_list: ['7']");
    let r = post_yaml(&s, &path, &with_list).await;
    assert_eq!(r.status, 404, "{}", r.body);
    assert_eq!(r.body, "Error deleting resources [7] (removed 0)");
    assert_eq!(vm_ids(&s, &id).await, ["2"]);
    // That failed post did not store its removal list: count 0 removes VM 2.
    let tosca = get(&s, &format!("{path}/tosca"), None).await.body;
    assert!(!tosca.contains("removal_list"), "{tosca}");
    let r = post_yaml(&s, &path, &scalable(0)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(vm_ids(&s, &id).await.is_empty());
    let tosca = get(&s, &format!("{path}/tosca"), None).await.body;
    assert!(tosca.contains("count: 0"), "{tosca}");
}

#[tokio::test]
async fn reconfigure_and_alter_take_tosca_bodies_and_leave_the_stored_template_alone() {
    let s = server();
    let id = create(&s, SIMPLE).await;
    let path = format!("/infrastructures/{id}");
    let before = get(&s, &format!("{path}/tosca"), None).await.body;
    let bigger = SIMPLE.replace("num_cpus: 1", "num_cpus: 2");

    let r = req(
        &s.base,
        "PUT",
        &format!("{path}/reconfigure"),
        &[("Authorization", A), ("Content-Type", "text/yaml")],
        Some(&bigger),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.header("infid"), Some(id.as_str()));

    let r = req(
        &s.base,
        "PUT",
        &format!("{path}/vms/0"),
        &[("Authorization", A), ("Content-Type", "text/yaml")],
        Some(&bigger),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = get(&s, &format!("{path}/vms/0/cpu.count"), None).await;
    assert_eq!(r.body, "2");

    assert_eq!(get(&s, &format!("{path}/tosca"), None).await.body, before);

    // A bad template on these routes is the same 400.
    let r = req(
        &s.base,
        "PUT",
        &format!("{path}/reconfigure"),
        &[("Authorization", A), ("Content-Type", "text/yaml")],
        Some("foo: ["),
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(
        r.body
            .starts_with("Error parsing request body: Error parsing TOSCA template: ")
    );
}

#[tokio::test]
async fn an_infrastructure_not_made_from_tosca_has_no_template_and_no_outputs() {
    let s = server();
    let r = req(
        &s.base,
        "POST",
        "/infrastructures",
        &[("Authorization", A)],
        Some(common::R1),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let id = r.header("infid").unwrap().to_string();
    let r = get(
        &s,
        &format!("/infrastructures/{id}/outputs"),
        Some("application/json"),
    )
    .await;
    assert_eq!(r.status, 403);
    assert_eq!(
        r.json()["message"],
        "'outputs' infrastructure property is not valid in this infrastructure"
    );
    // A template posted to it is merged into nothing: it becomes its template.
    let r = post_yaml(&s, &format!("/infrastructures/{id}"), SIMPLE).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(vm_ids(&s, &id).await, ["0", "1"]);
    assert_eq!(
        outputs(&s, &id).await,
        json!({"server_ip": null, "const": "hello"})
    );
}

#[tokio::test]
async fn the_template_survives_a_restart_of_the_service() {
    let s = server();
    let id = create(&s, &scalable(2)).await;
    let (_, dir) = s.stop();
    // Same data directory, same mirror.
    let cfg_path = dir.path().join("im.cfg");
    let db = format!("sqlite://{}/im.db", dir.path().display());
    let mirror = format!("{}/{FIXTURES}/remote", env!("CARGO_MANIFEST_DIR"));
    let mut child = Command::new(env!("CARGO_BIN_EXE_im"))
        .args(["serve", "--listen", "127.0.0.1:0", "--db", &db, "--config"])
        .arg(&cfg_path)
        .args(["--tosca-mirror", &mirror])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let base = line
        .trim()
        .strip_prefix("im listening on ")
        .unwrap()
        .to_string();
    let s = Server { child, base, dir };
    assert_eq!(
        outputs(&s, &id).await,
        json!({"ips": ["10.0.0.1", "10.0.0.1"]})
    );
    let r = post_yaml(&s, &format!("/infrastructures/{id}"), &scalable(1)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(vm_ids(&s, &id).await, ["1"]);
}

#[test]
fn the_reference_client_creates_an_infrastructure_from_a_yaml_file() {
    let s = server();
    let dir = s.dir.path().to_path_buf();
    std::fs::write(
        dir.join("auth.dat"),
        "id = im; type = InfrastructureManager; username = user; password = pass\nid = dummy; type = Dummy\n",
    )
    .unwrap();
    std::fs::write(dir.join("infra.yaml"), SIMPLE).unwrap();
    let exe = std::env::var("IM_CLIENT")
        .unwrap_or_else(|_| "/var/tmp/im-client-venv/bin/im_client".into());
    let run = |args: &[&str]| {
        let out = Command::new(&exe)
            .current_dir(&dir)
            .args(["-r", &s.base, "-a", "auth.dat"])
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("cannot run {exe} ({e}); scripts/test installs it"));
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(!stderr.contains("Traceback"), "{args:?}: {stderr}");
        assert!(out.status.success(), "{args:?}: {stdout}{stderr}");
        stdout
    };
    let out = run(&["create", "infra.yaml"]);
    let id = out
        .lines()
        .find_map(|l| l.strip_prefix("Infrastructure successfully created with ID: "))
        .unwrap_or_else(|| panic!("{out}"))
        .trim()
        .to_string();
    let out = run(&["getoutputs", &id]);
    assert!(out.contains("const = hello"), "{out}");
    let out = run(&["getinfo", &id]);
    assert!(out.contains("system server"), "{out}");
}
