//! Checklist 59–76: reading an infrastructure and its properties.

use crate::common::*;

#[tokio::test]
async fn an_infrastructure_is_the_list_of_its_vm_uris() {
    // 59, 60
    let app = app().await;
    let id = app.create(A, R1).await;
    let r = app
        .get(&format!("/infrastructures/{id}"))
        .auth(A)
        .send()
        .await;
    assert_eq!(
        r.triple(),
        (
            200,
            URILIST,
            format!("{}/infrastructures/{id}/vms/0", app.base).as_str()
        )
    );
    let r = app
        .get(&format!("/infrastructures/{id}"))
        .auth(A)
        .accept("application/json")
        .send()
        .await;
    assert_eq!(
        r.triple(),
        (
            200,
            JSON,
            format!(
                "{{\"uri-list\":[{{\"uri\":\"{}/infrastructures/{id}/vms/0\"}}]}}",
                app.base
            )
            .as_str()
        )
    );
}

#[tokio::test]
async fn text_plain_is_not_acceptable_for_an_infrastructure() {
    // 61
    let app = app().await;
    let id = app.create(A, R1).await;
    let r = app
        .get(&format!("/infrastructures/{id}"))
        .auth(A)
        .accept("text/plain")
        .send()
        .await;
    assert_eq!(
        r.triple(),
        (
            400,
            TEXT,
            "Error Getting Inf. info: 415: Unsupported Accept Media Types: text/plain"
        )
    );
}

#[tokio::test]
async fn an_unknown_infrastructure_is_404() {
    // 62
    let app = app().await;
    let r = app.get("/infrastructures/nonexistent").auth(A).send().await;
    assert_eq!(
        r.triple(),
        (
            404,
            TEXT,
            "Error Getting Inf. info: Invalid infrastructure ID or access not granted."
        )
    );
    let r = app
        .get("/infrastructures/nonexistent")
        .auth(A)
        .accept("application/json")
        .send()
        .await;
    assert_eq!(
        r.triple(),
        (
            404,
            JSON,
            "{\"message\":\"Error Getting Inf. info: Invalid infrastructure ID or access not granted.\",\"code\":404}"
        )
    );
}

#[tokio::test]
async fn another_users_infrastructure_is_403() {
    // 63
    let app = app().await;
    let id = app.create(A, R1).await;
    let r = app
        .get(&format!("/infrastructures/{id}"))
        .auth(B)
        .send()
        .await;
    assert_eq!(
        r.triple(),
        (
            403,
            TEXT,
            "Error Getting Inf. info: Access to this infrastructure not granted."
        )
    );
}

#[tokio::test]
async fn the_state_is_json_with_every_vm_state() {
    // 64, 65
    let app = app().await;
    let id = app.create(A, R1).await;
    let path = format!("/infrastructures/{id}/state");
    let expected = "{\"state\":{\"state\":\"configured\",\"vm_states\":{\"0\":\"configured\"}}}";
    let r = app.get(&path).auth(A).send().await;
    assert_eq!(r.triple(), (200, JSON, expected));
    let r = app.get(&path).auth(A).accept("*/*").send().await;
    assert_eq!(r.triple(), (200, JSON, expected));
    let r = app.get(&path).auth(A).accept("text/plain").send().await;
    assert_eq!(
        r.triple(),
        (415, TEXT, "Unsupported Accept Media Types: ['text/plain']")
    );
}

#[tokio::test]
async fn the_json_only_guard_runs_before_the_infrastructure_lookup() {
    let app = app().await;
    let r = app
        .get("/infrastructures/nonexistent/data")
        .auth(A)
        .accept("text/plain, text/html")
        .send()
        .await;
    assert_eq!(r.status, 415);
    assert!(
        r.body
            .contains("Unsupported Accept Media Types: ['text/plain', 'text/html']"),
        "{}",
        r.body
    );
}

#[tokio::test]
async fn the_contextualization_log_is_text_or_json() {
    // 66
    let app = app().await;
    let id = app.create(A, R1).await;
    let path = format!("/infrastructures/{id}/contmsg");
    let r = app.get(&path).auth(A).send().await;
    assert_eq!(
        r.triple(),
        (
            200,
            TEXT,
            "Contextualization disabled by the RADL/TOSCA template.\n\n"
        )
    );
    let r = app
        .get(&path)
        .auth(A)
        .accept("application/json")
        .send()
        .await;
    assert_eq!(
        r.triple(),
        (
            200,
            JSON,
            "{\"contmsg\":\"Contextualization disabled by the RADL/TOSCA template.\\n\\n\"}"
        )
    );
}

#[tokio::test]
async fn boolean_flags_are_case_insensitive_and_never_empty() {
    // 67
    let app = app().await;
    let id = app.create(A, R1).await;
    for q in ["headeronly=YES", "headeronly=off"] {
        let r = app
            .get(&format!("/infrastructures/{id}/contmsg?{q}"))
            .auth(A)
            .send()
            .await;
        assert_eq!(r.status, 200, "{q}");
    }
    let r = app
        .get(&format!("/infrastructures/{id}/contmsg?headeronly="))
        .auth(A)
        .send()
        .await;
    assert_eq!(
        r.triple(),
        (
            422,
            JSON,
            "{\"detail\":[{\"type\":\"bool_parsing\",\"loc\":[\"query\",\"headeronly\"],\"msg\":\"Input should be a valid boolean, unable to interpret input\",\"input\":\"\"}]}"
        )
    );
}

#[tokio::test]
async fn the_radl_is_the_submitted_document_as_text_or_a_json_string() {
    // 68
    let app = app().await;
    let id = app.create(A, R1).await;
    let path = format!("/infrastructures/{id}/radl");
    let r = app.get(&path).auth(A).send().await;
    assert_eq!((r.status, r.ctype()), (200, TEXT));
    assert!(
        r.body
            .starts_with("network publica ( outbound = 'yes' )\nsystem front (\n"),
        "{}",
        r.body
    );
    assert!(
        r.body.ends_with("contextualize ()\ndeploy front 1"),
        "{}",
        r.body
    );
    let text = r.body;
    let r = app
        .get(&path)
        .auth(A)
        .accept("application/json")
        .send()
        .await;
    assert_eq!((r.status, r.ctype()), (200, JSON));
    assert_eq!(r.json()["radl"], text.as_str());
}

#[tokio::test]
async fn the_radl_is_not_a_uri_list() {
    // 69
    let app = app().await;
    let id = app.create(A, R1).await;
    let r = app
        .get(&format!("/infrastructures/{id}/radl"))
        .auth(A)
        .accept("text/uri-list")
        .send()
        .await;
    assert_eq!(
        r.triple(),
        (415, TEXT, "Unsupported Accept Media Types: text/uri-list")
    );
}

#[tokio::test]
async fn tosca_and_outputs_are_not_valid_for_a_radl_infrastructure() {
    // 70, 71
    let app = app().await;
    let id = app.create(A, R1).await;
    let r = app
        .get(&format!("/infrastructures/{id}/tosca"))
        .auth(A)
        .send()
        .await;
    assert_eq!(
        r.triple(),
        (
            403,
            TEXT,
            "'tosca' infrastructure property is not valid in this infrastructure"
        )
    );
    let r = app
        .get(&format!("/infrastructures/{id}/outputs"))
        .auth(A)
        .accept("application/json")
        .send()
        .await;
    assert_eq!(
        r.triple(),
        (
            403,
            JSON,
            "{\"message\":\"'outputs' infrastructure property is not valid in this infrastructure\",\"code\":403}"
        )
    );
}

#[tokio::test]
async fn the_owners_are_listed_by_username() {
    // 72
    let app = app().await;
    let id = app.create(A, R1).await;
    let path = format!("/infrastructures/{id}/authorization");
    let r = app.get(&path).auth(A).send().await;
    assert_eq!(r.triple(), (200, TEXT, "user"));
    let r = app
        .get(&path)
        .auth(A)
        .accept("application/json")
        .send()
        .await;
    assert_eq!(r.triple(), (200, JSON, "{\"authorization\":[\"user\"]}"));
}

#[tokio::test]
async fn the_export_is_a_json_string_with_the_references_fields() {
    // 73
    let app = app().await;
    let id = app.create(A, R1).await;
    let r = app
        .get(&format!("/infrastructures/{id}/data"))
        .auth(A)
        .send()
        .await;
    assert_eq!((r.status, r.ctype()), (200, JSON));
    let data: serde_json::Value =
        serde_json::from_str(r.json()["data"].as_str().expect("a string")).expect("JSON");
    assert_eq!(data["id"], id.as_str());
    assert_eq!(data["vm_list"].as_array().map(Vec::len), Some(1));
    assert_eq!(
        data["auth"],
        serde_json::json!([{"type": "InfrastructureManager", "username": "user", "password": "pass", "admin": false}])
    );
}

#[tokio::test]
async fn an_unknown_property_is_a_literal_422_after_the_auth_check() {
    // 74, 75
    let app = app().await;
    let id = app.create(A, R1).await;
    let r = app
        .get(&format!("/infrastructures/{id}/foo"))
        .auth(A)
        .send()
        .await;
    assert_eq!(
        r.triple(),
        (
            422,
            JSON,
            "{\"detail\":[{\"type\":\"literal_error\",\"loc\":[\"path\",\"prop\"],\"msg\":\"Input should be 'contmsg', 'radl', 'tosca', 'state', 'outputs', 'data' or 'authorization'\",\"input\":\"foo\",\"ctx\":{\"expected\":\"'contmsg', 'radl', 'tosca', 'state', 'outputs', 'data' or 'authorization'\"}}]}"
        )
    );
    let r = app.get(&format!("/infrastructures/{id}/foo")).send().await;
    assert_eq!(r.status, 401);
    let r = app
        .get(&format!("/infrastructures/{id}/vms"))
        .auth(A)
        .send()
        .await;
    assert_eq!(r.status, 422);
    let r = app
        .get(&format!("/infrastructures/{id}/foo?headeronly=x"))
        .auth(A)
        .send()
        .await;
    assert_eq!(
        r.json()["detail"].as_array().map(Vec::len),
        Some(2),
        "path and query errors together"
    );
}

#[tokio::test]
async fn property_errors_use_the_property_prefix() {
    // 76
    let app = app().await;
    let id = app.create(A, R1).await;
    let r = app
        .get("/infrastructures/nonexistent/state")
        .auth(A)
        .send()
        .await;
    assert_eq!(
        r.triple(),
        (
            404,
            TEXT,
            "Error Getting Inf. prop: Invalid infrastructure ID or access not granted."
        )
    );
    let r = app
        .get(&format!("/infrastructures/{id}/state"))
        .auth(B)
        .send()
        .await;
    assert_eq!(
        r.triple(),
        (
            403,
            TEXT,
            "Error Getting Inf. prop: Access to this infrastructure not granted."
        )
    );
}

#[tokio::test]
async fn a_bad_accept_on_a_read_of_an_unknown_infrastructure_reports_the_404_first() {
    // Reads negotiate after the operation, as the reference does.
    let app = app().await;
    let r = app
        .get("/infrastructures/nonexistent/radl")
        .auth(A)
        .accept("image/png")
        .send()
        .await;
    assert_eq!(r.status, 404);
    let r = app
        .get("/infrastructures/nonexistent")
        .auth(A)
        .accept("image/png")
        .send()
        .await;
    assert_eq!(r.status, 404);
}
