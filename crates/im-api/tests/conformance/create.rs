//! Checklist 35–58: listing and creation, request bodies and their media
//! types, query flags, dry runs.

use crate::common::*;

#[tokio::test]
async fn the_list_in_json_has_the_uris_newest_first() {
    // 35
    let app = app().await;
    let first = app.create(A, R1).await;
    let second = app.create(A, R1).await;
    let r = app
        .get("/infrastructures")
        .auth(A)
        .accept("application/json")
        .send()
        .await;
    assert_eq!((r.status, r.ctype()), (200, JSON));
    assert_eq!(
        r.body,
        format!(
            "{{\"uri-list\":[{{\"uri\":\"{b}/infrastructures/{second}\"}},{{\"uri\":\"{b}/infrastructures/{first}\"}}]}}",
            b = app.base
        )
    );
    let r = app.get("/infrastructures").auth(A).send().await;
    assert_eq!(
        r.triple(),
        (
            200,
            URILIST,
            format!(
                "{b}/infrastructures/{second}\n{b}/infrastructures/{first}",
                b = app.base
            )
            .as_str()
        )
    );
}

#[tokio::test]
async fn another_user_sees_an_empty_list() {
    // 36, 37
    let app = app().await;
    app.create(A, R1).await;
    let r = app
        .get("/infrastructures")
        .auth(B)
        .accept("application/json")
        .send()
        .await;
    assert_eq!(r.triple(), (200, JSON, "{\"uri-list\":[]}"));
    let r = app.get("/infrastructures").auth(B).send().await;
    assert_eq!(r.triple(), (200, URILIST, ""));
}

#[tokio::test]
async fn text_plain_is_not_acceptable_for_the_list_and_the_415_is_wrapped_in_a_400() {
    // 38
    let app = app().await;
    let r = app
        .get("/infrastructures")
        .auth(A)
        .accept("text/plain")
        .send()
        .await;
    assert_eq!(
        r.triple(),
        (
            400,
            TEXT,
            "Error Getting Inf. List: 415: Unsupported Accept Media Types: text/plain"
        )
    );
}

#[tokio::test]
async fn an_unknown_type_before_json_in_accept_is_skipped() {
    // 39
    let app = app().await;
    let r = app
        .get("/infrastructures")
        .auth(A)
        .accept("application/xml, application/json")
        .send()
        .await;
    assert_eq!(r.triple(), (200, JSON, "{\"uri-list\":[]}"));
}

#[tokio::test]
async fn the_filter_parameter_selects_infrastructures_by_a_regex_on_their_radl() {
    // 40 (deviation: the reference ignores `filter`)
    let app = app().await;
    let id = app.create(A, R1).await;
    let other = app
        .create(A, "network n ()\nsystem wn (net_interface.0.connection = 'n' and disk.0.image.url = 'mock0://x')\ndeploy wn 1")
        .await;
    let r = app
        .get("/infrastructures?filter=NOMATCH")
        .auth(A)
        .send()
        .await;
    assert_eq!(r.triple(), (200, URILIST, ""));
    let r = app
        .get("/infrastructures?filter=system%20fr.nt")
        .auth(A)
        .send()
        .await;
    assert_eq!(
        r.body,
        format!("{}/infrastructures/{id}", app.base),
        "only {id}, not {other}"
    );
    let r = app.get("/infrastructures?filter=").auth(A).send().await;
    assert_eq!(r.body.lines().count(), 2);
}

#[tokio::test]
async fn an_invalid_filter_regex_is_a_400() {
    let app = app().await;
    let r = app.get("/infrastructures?filter=(").auth(A).send().await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(
        r.body.starts_with("Error Getting Inf. List: "),
        "{}",
        r.body
    );
}

#[tokio::test]
async fn creating_with_json_accept_answers_the_uri_object_and_infid() {
    // 41
    let app = app().await;
    let r = app
        .post("/infrastructures")
        .auth(A)
        .accept("application/json")
        .body(R1)
        .send()
        .await;
    assert_eq!((r.status, r.ctype()), (200, JSON));
    let id = r.header("infid").expect("infid");
    assert_eq!(
        r.body,
        format!("{{\"uri\":\"{}/infrastructures/{id}\"}}", app.base)
    );
}

#[tokio::test]
async fn an_asynchronous_create_answers_at_once_and_ends_configured() {
    // 42
    let app = app().await;
    let r = app
        .post("/infrastructures?async=1")
        .auth(A)
        .body(R1)
        .send()
        .await;
    assert_eq!((r.status, r.ctype()), (200, URILIST));
    let id = r.header("infid").expect("infid").to_string();
    app.wait_state(A, &id, "configured").await;
}

#[tokio::test]
async fn an_empty_body_creates_an_empty_failed_infrastructure() {
    // 43
    let app = app().await;
    let r = app.post("/infrastructures").auth(A).send().await;
    assert_eq!(r.status, 200, "{}", r.body);
    let id = r.header("infid").expect("infid");
    let r = app
        .get(&format!("/infrastructures/{id}/state"))
        .auth(A)
        .send()
        .await;
    assert_eq!(
        r.triple(),
        (
            200,
            JSON,
            "{\"state\":{\"state\":\"failed\",\"vm_states\":{}}}"
        )
    );
}

#[tokio::test]
async fn a_dry_run_estimates_the_resources_and_creates_nothing() {
    // 44
    let app = app().await;
    let radl = R1
        .replace("cpu.count>=1", "cpu.count>=2")
        .replace("memory.size>=512m", "memory.size>=1g")
        .replace("deploy front 1", "deploy front 2");
    let r = app
        .post("/infrastructures?dry_run=yes")
        .auth(A)
        .body(&radl)
        .send()
        .await;
    assert_eq!(
        r.triple(),
        (
            200,
            JSON,
            "{\"dummy\":{\"cloudType\":\"Dummy\",\"cloudEndpoint\":\"http://:80\",\"compute\":[{\"cpuCores\":2,\"memoryInMegabytes\":1000,\"publicIP\":1},{\"cpuCores\":2,\"memoryInMegabytes\":1000,\"publicIP\":1}],\"storage\":[]}}"
        )
    );
    assert_eq!(r.header("infid"), None);
    let r = app.get("/infrastructures").auth(A).send().await;
    assert_eq!(r.body, "");
}

#[tokio::test]
async fn a_dry_run_of_nothing_is_an_empty_object() {
    // 45
    let app = app().await;
    let r = app.post("/infrastructures?dry_run=1").auth(A).send().await;
    assert_eq!(r.triple(), (200, JSON, "{}"));
}

#[tokio::test]
async fn a_dry_run_answers_only_json() {
    // 46
    let app = app().await;
    let r = app
        .post("/infrastructures?dry_run=true")
        .auth(A)
        .accept("text/plain")
        .body(R1)
        .send()
        .await;
    assert_eq!(
        r.triple(),
        (415, TEXT, "Unsupported Accept Media Types: text/plain")
    );
}

#[tokio::test]
async fn an_unsupported_content_type_is_415_with_the_python_list() {
    // 47
    let app = app().await;
    let r = app
        .post("/infrastructures")
        .auth(A)
        .ctype("application/pdf")
        .body("x")
        .send()
        .await;
    assert_eq!(
        r.triple(),
        (415, TEXT, "Unsupported Media Type ['application/pdf']")
    );
    let r = app
        .post("/infrastructures")
        .auth(A)
        .ctype("application/pdf")
        .accept("application/json")
        .body("x")
        .send()
        .await;
    assert_eq!(
        r.triple(),
        (
            415,
            JSON,
            "{\"message\":\"Unsupported Media Type ['application/pdf']\",\"code\":415}"
        )
    );
}

#[tokio::test]
async fn the_body_is_checked_before_the_credentials() {
    // 48
    let app = app().await;
    let r = app
        .post("/infrastructures")
        .ctype("application/pdf")
        .body("x")
        .send()
        .await;
    assert_eq!(r.status, 415);
    let r = app.post("/infrastructures").body("system ((").send().await;
    assert_eq!(r.status, 400);
}

#[tokio::test]
async fn an_invalid_json_radl_is_a_400_parsing_error() {
    // 49 (the JSON parser's words follow the prefix)
    let app = app().await;
    let r = app
        .post("/infrastructures")
        .auth(A)
        .ctype("application/json")
        .body("notjson")
        .send()
        .await;
    assert_eq!((r.status, r.ctype()), (400, TEXT));
    assert!(
        r.body.starts_with("Error parsing request body: "),
        "{}",
        r.body
    );
}

#[tokio::test]
async fn an_invalid_radl_is_a_400_with_the_parser_message() {
    // 50
    let app = app().await;
    let r = app
        .post("/infrastructures")
        .auth(A)
        .body("system ((")
        .send()
        .await;
    assert_eq!((r.status, r.ctype()), (400, TEXT));
    assert!(
        r.body.starts_with(
            "Error parsing request body: Line 1: Parse error in: LexToken(LPAREN,'(',1,7)"
        ),
        "{}",
        r.body
    );
}

#[tokio::test]
async fn content_types_are_case_sensitive() {
    // 51
    let app = app().await;
    let r = app
        .post("/infrastructures")
        .auth(A)
        .ctype("TEXT/PLAIN")
        .body("system a ()")
        .send()
        .await;
    assert_eq!(
        r.triple(),
        (415, TEXT, "Unsupported Media Type ['TEXT/PLAIN']")
    );
}

#[tokio::test]
async fn an_invalid_boolean_flag_is_a_pydantic_422() {
    // 52
    let app = app().await;
    let r = app
        .post("/infrastructures?async=maybe")
        .auth(A)
        .send()
        .await;
    assert_eq!(
        r.triple(),
        (
            422,
            JSON,
            "{\"detail\":[{\"type\":\"bool_parsing\",\"loc\":[\"query\",\"async\"],\"msg\":\"Input should be a valid boolean, unable to interpret input\",\"input\":\"maybe\"}]}"
        )
    );
}

#[tokio::test]
async fn every_invalid_parameter_is_listed_in_one_422() {
    let app = app().await;
    let r = app
        .post("/infrastructures?async=maybe&dry_run=x")
        .auth(A)
        .send()
        .await;
    assert_eq!(r.status, 422);
    let d = r.json();
    assert_eq!(d["detail"][0]["loc"][1], "async");
    assert_eq!(d["detail"][1]["loc"][1], "dry_run");
}

#[tokio::test]
async fn credentials_are_checked_before_the_query_flags() {
    // 53
    let app = app().await;
    let r = app.post("/infrastructures?async=maybe").send().await;
    assert_eq!(r.triple(), (401, TEXT, "No authentication data provided"));
}

#[tokio::test]
async fn deploying_to_a_cloud_without_credentials_is_a_400() {
    // 54
    let app = app().await;
    let r = app
        .post("/infrastructures")
        .auth(A)
        .body(&R1.replace("deploy front 1", "deploy front 1 othercloud"))
        .send()
        .await;
    assert_eq!(
        r.triple(),
        (
            400,
            TEXT,
            "Error Creating Inf.: No auth data for cloud with ID: othercloud"
        )
    );
}

#[tokio::test]
async fn creating_without_any_cloud_is_a_400() {
    // 55
    let app = app().await;
    let r = app.post("/infrastructures").auth(IMO).body(R1).send().await;
    assert_eq!(
        r.triple(),
        (
            400,
            TEXT,
            "Error Creating Inf.: No cloud provider available"
        )
    );
    let r = app
        .post("/infrastructures")
        .auth(IMO)
        .body("system a (cpu.count = 1)\ndeploy a 1")
        .send()
        .await;
    assert_eq!(
        r.triple(),
        (
            400,
            TEXT,
            "Error Creating Inf.: No VMI obtained from Sites to system 'a'"
        )
    );
}

#[tokio::test]
async fn a_json_radl_with_a_charset_is_understood() {
    // 56
    let app = app().await;
    let r = app
        .post("/infrastructures?dry_run=1")
        .auth(A)
        .ctype("application/json; charset=utf-8")
        .body(r#"[{"class":"network","id":"n"},{"class":"system","id":"a","net_interface.0.connection":"n","cpu.count_min":2,"memory.size_min":2147483648},{"class":"deploy","system":"a","vm_number":1}]"#)
        .send()
        .await;
    assert_eq!(
        r.triple(),
        (
            200,
            JSON,
            "{\"dummy\":{\"cloudType\":\"Dummy\",\"cloudEndpoint\":\"http://:80\",\"compute\":[{\"cpuCores\":2,\"memoryInMegabytes\":2147}],\"storage\":[]}}"
        )
    );
}

#[tokio::test]
async fn json_is_preferred_when_the_content_type_lists_several_types() {
    let app = app().await;
    let r = app
        .post("/infrastructures?dry_run=1")
        .auth(A)
        .ctype("text/plain, application/json")
        .body("system a (")
        .send()
        .await;
    assert_eq!(r.status, 400);
    assert!(
        !r.body.contains("LexToken"),
        "parsed as JSON, not RADL: {}",
        r.body
    );
}

#[tokio::test]
async fn uris_use_the_host_header() {
    // 57
    let app = app().await;
    let r = app
        .post("/infrastructures")
        .auth(A)
        .header("Host", "im.example.org:9999")
        .body(R1)
        .send()
        .await;
    let id = r.header("infid").expect("infid");
    assert_eq!(
        r.body,
        format!("http://im.example.org:9999/infrastructures/{id}")
    );
}

#[tokio::test]
async fn x_forwarded_proto_from_a_loopback_peer_makes_https_uris() {
    let app = app().await;
    let r = app
        .post("/infrastructures")
        .auth(A)
        .header("Host", "im.example.org")
        .header("X-Forwarded-Proto", "https")
        .body(R1)
        .send()
        .await;
    let id = r.header("infid").expect("infid");
    assert_eq!(
        r.body,
        format!("https://im.example.org/infrastructures/{id}")
    );
}

#[tokio::test]
async fn a_body_that_is_not_utf8_is_a_400_instead_of_the_references_500() {
    // 58 (deviation: the reference answers 500 with the same Python text)
    let app = app().await;
    let r = app
        .post("/infrastructures")
        .auth(A)
        .bytes(b"\xff\xfe")
        .send()
        .await;
    assert_eq!(
        r.triple(),
        (
            400,
            TEXT,
            "Error parsing request body: 'utf-8' codec can't decode byte 0xff in position 0: invalid start byte"
        )
    );
}

#[tokio::test]
async fn a_body_of_any_yaml_type_is_tosca() {
    let app = app().await;
    for ct in ["text/yaml", "text/x-yaml", "application/yaml"] {
        let r = app
            .post("/infrastructures")
            .auth(A)
            .ctype(ct)
            .body("tosca_definitions_version: tosca_simple_yaml_1_0\n")
            .send()
            .await;
        assert_eq!(r.triple().0, 200, "{ct}");
        let r = app
            .post("/infrastructures")
            .auth(A)
            .ctype(ct)
            .body("foo: [")
            .send()
            .await;
        let (status, ty, body) = r.triple();
        assert_eq!((status, ty), (400, TEXT), "{ct}");
        assert!(
            body.starts_with(
                "Error parsing request body: Error parsing TOSCA template: while parsing a flow node"
            ),
            "{ct}: {body}"
        );
    }
}

#[tokio::test]
async fn a_body_over_the_limit_is_413() {
    let app = app_with(
        im_core::Settings::default(),
        im_api::ApiConfig {
            body_limit: 1000,
            ..Default::default()
        },
    )
    .await;
    let r = app
        .post("/infrastructures")
        .auth(A)
        .body(&"#".repeat(5000))
        .send()
        .await;
    assert_eq!(
        r.triple(),
        (413, TEXT, "Request body too large: the limit is 1000 bytes")
    );
}

#[tokio::test]
async fn a_bad_accept_on_create_is_refused_before_anything_is_created() {
    // deviation: the reference answers the same 415 but has created the infrastructure
    let app = app().await;
    let r = app
        .post("/infrastructures")
        .auth(A)
        .accept("application/xml")
        .body(R1)
        .send()
        .await;
    assert_eq!(
        r.triple(),
        (415, TEXT, "Unsupported Accept Media Types: application/xml")
    );
    let r = app.get("/infrastructures").auth(A).send().await;
    assert_eq!(r.body, "");
}
