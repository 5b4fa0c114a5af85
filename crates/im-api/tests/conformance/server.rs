//! Checklist 1–13: version, negotiation, framework answers, static files and
//! OAI-PMH when not configured; plus the documentation routes.

use crate::common::*;

#[tokio::test]
async fn version_without_auth_is_plain_text_2_0_0() {
    // 1
    let app = app().await;
    let r = app.get("/version").send().await;
    assert_eq!(r.triple(), (200, TEXT, "2.0.0"));
}

#[tokio::test]
async fn version_in_json_is_an_object_with_the_version() {
    // 2, 3
    let app = app().await;
    for accept in ["application/json", "application/*"] {
        let r = app.get("/version").accept(accept).send().await;
        assert_eq!(
            r.triple(),
            (200, JSON, "{\"version\":\"2.0.0\"}"),
            "{accept}"
        );
    }
}

#[tokio::test]
async fn version_with_text_or_any_wildcard_is_plain_text() {
    // 4
    let app = app().await;
    for accept in ["text/*", "*/*"] {
        let r = app.get("/version").accept(accept).send().await;
        assert_eq!(r.triple(), (200, TEXT, "2.0.0"), "{accept}");
    }
}

#[tokio::test]
async fn the_first_acceptable_media_type_wins_whatever_its_q_value() {
    // 5
    let app = app().await;
    let r = app
        .get("/version")
        .accept("text/html, application/json;q=0.9")
        .send()
        .await;
    assert_eq!(r.triple(), (200, JSON, "{\"version\":\"2.0.0\"}"));
    let r = app
        .get("/version")
        .accept("text/plain;q=0.1, application/json")
        .send()
        .await;
    assert_eq!(r.triple(), (200, TEXT, "2.0.0"));
}

#[tokio::test]
async fn an_unsupported_accept_on_version_is_a_400_html_page_when_html_is_accepted() {
    // 6
    let app = app().await;
    let r = app.get("/version").accept("text/html").send().await;
    assert_eq!(r.status, 400);
    assert_eq!(r.ctype(), HTML);
    assert_eq!(
        r.body,
        "<!DOCTYPE HTML PUBLIC \"-//IETF//DTD HTML 2.0//EN\">\n<html>\n    <head>\n        <title>Error 400.</title>\n    </head>\n    <body>\n        <h1>Code: 400.</h1>\n        <h1>Message: Error getting IM version: 415: Unsupported Accept Media Types: text/html</h1>\n    </body>\n</html>\n"
    );
}

#[tokio::test]
async fn media_types_are_case_sensitive() {
    // 7
    let app = app().await;
    let r = app.get("/version").accept("TEXT/PLAIN").send().await;
    assert_eq!(
        r.triple(),
        (
            400,
            TEXT,
            "Error getting IM version: 415: Unsupported Accept Media Types: TEXT/PLAIN"
        )
    );
}

#[tokio::test]
async fn a_known_path_with_another_method_is_405_with_the_allowed_methods() {
    // 8
    let app = app().await;
    let r = app.post("/version").send().await;
    assert_eq!(
        r.triple(),
        (405, JSON, "{\"detail\":\"Method Not Allowed\"}")
    );
    assert_eq!(r.header("allow"), Some("GET"));
    // IM-compat deviation: `allow` lists every method of the path (the
    // reference: only the first matching route's).
    let r = app.call("PATCH", "/infrastructures").auth(A).send().await;
    assert_eq!((r.status, r.header("allow")), (405, Some("GET, POST, PUT")));
    let r = app.post("/infrastructures/x/state").auth(A).send().await;
    assert_eq!((r.status, r.header("allow")), (405, Some("GET, PUT")));
    let r = app.call("DELETE", "/oai").send().await;
    assert_eq!((r.status, r.header("allow")), (405, Some("GET, POST")));
}

#[tokio::test]
async fn head_is_not_supported() {
    // 9
    let app = app().await;
    let r = app.call("HEAD", "/version").send().await;
    assert_eq!(
        (r.status, r.header("allow"), r.body.as_str()),
        (405, Some("GET"), "")
    );
}

#[tokio::test]
async fn options_without_cors_is_405() {
    let app = app().await;
    let r = app.call("OPTIONS", "/infrastructures").send().await;
    assert_eq!(
        r.triple(),
        (405, JSON, "{\"detail\":\"Method Not Allowed\"}")
    );
}

#[tokio::test]
async fn an_unknown_path_is_a_json_404_whatever_the_accept() {
    // 10
    let app = app().await;
    let r = app.get("/nonexistent").accept("text/html").send().await;
    assert_eq!(r.triple(), (404, JSON, "{\"detail\":\"Not Found\"}"));
    let r = app.get("/clouds/x").auth(A).send().await;
    assert_eq!(r.triple(), (404, JSON, "{\"detail\":\"Not Found\"}"));
}

#[tokio::test]
async fn a_trailing_slash_redirects_to_the_path_without_it_before_any_auth_check() {
    // 11
    let app = app().await;
    let r = app.get("/infrastructures/").send().await;
    assert_eq!((r.status, r.body.as_str()), (307, ""));
    assert_eq!(
        r.header("location"),
        Some(format!("{}/infrastructures", app.base).as_str())
    );
    let r = app.get("/version/?x=1").send().await;
    assert_eq!(
        (r.status, r.header("location")),
        (307, Some(format!("{}/version?x=1", app.base).as_str()))
    );
    let r = app.get("/nonexistent/").send().await;
    assert_eq!(r.status, 404);
}

#[tokio::test]
async fn static_files_are_not_enabled_by_default() {
    // 12
    let app = app().await;
    let r = app.get("/static/x").send().await;
    assert_eq!(r.triple(), (404, TEXT, "Static files not enabled."));
    let r = app.get("/static/x").accept("application/json").send().await;
    assert_eq!(
        r.triple(),
        (
            404,
            JSON,
            "{\"message\":\"Static files not enabled.\",\"code\":404}"
        )
    );
}

#[tokio::test]
async fn oai_pmh_is_not_enabled_by_default() {
    // 13
    let app = app().await;
    for method in ["GET", "POST"] {
        let r = app.call(method, "/oai").send().await;
        assert_eq!(r.triple(), (400, TEXT, "OAI-PMH not enabled."), "{method}");
    }
}

#[tokio::test]
async fn the_openapi_document_describes_every_route() {
    let app = app().await;
    let r = app.get("/openapi.json").send().await;
    assert_eq!((r.status, r.ctype()), (200, JSON));
    let d = r.json();
    assert_eq!(d["openapi"], "3.1.0");
    assert_eq!(d["info"]["title"], "Infrastructure Manager API");
    let paths = d["paths"].as_object().expect("paths");
    for (path, method) in [
        ("/infrastructures", "get"),
        ("/infrastructures", "post"),
        ("/infrastructures", "put"),
        ("/infrastructures/{infid}", "get"),
        ("/infrastructures/{infid}", "delete"),
        ("/infrastructures/{infid}", "post"),
        ("/infrastructures/{infid}/{prop}", "get"),
        ("/infrastructures/{infid}/reconfigure", "put"),
        ("/infrastructures/{infid}/{prop}", "put"),
        ("/infrastructures/{infid}/authorization", "get"),
        ("/infrastructures/{infid}/authorization", "post"),
        ("/infrastructures/{infid}/vms/{vmid}", "get"),
        ("/infrastructures/{infid}/vms/{vmid}", "delete"),
        ("/infrastructures/{infid}/vms/{vmid}", "put"),
        ("/infrastructures/{infid}/vms/{vmid}/{prop}", "get"),
        ("/infrastructures/{infid}/vms/{vmid}/{prop}", "put"),
        (
            "/infrastructures/{infid}/vms/{vmid}/disks/{disknum}/snapshot",
            "put",
        ),
        ("/clouds/{cloudid}/images", "get"),
        ("/clouds/{cloudid}/quotas", "get"),
        ("/stats", "get"),
        ("/oai", "get"),
        ("/oai", "post"),
        ("/version", "get"),
        ("/static/{filename}", "get"),
    ] {
        assert!(
            paths
                .get(path)
                .and_then(|p| p.get(method))
                .is_some_and(|o| o["responses"]["200"].is_object()),
            "{method} {path}"
        );
    }
    let create = &d["paths"]["/infrastructures"]["post"]["responses"];
    for code in ["400", "401", "403", "415", "422"] {
        assert!(create[code].is_object(), "{code}");
    }
    assert!(
        d["paths"]["/infrastructures/{infid}/{prop}"]["get"]["parameters"][1]["schema"]["enum"]
            .as_array()
            .is_some_and(|a| a.len() == 6)
    );
}

#[tokio::test]
async fn the_home_page_links_to_the_openapi_document() {
    let app = app().await;
    let r = app.get("/").send().await;
    assert_eq!((r.status, r.ctype()), (200, HTML));
    assert!(r.body.contains("href=\"/openapi.json\""), "{}", r.body);
}

#[tokio::test]
async fn every_answer_carries_a_request_id_and_the_server_name() {
    let app = app().await;
    let r = app.get("/version").send().await;
    assert_eq!(r.header("server"), Some("im-rust"));
    assert_eq!(r.header("x-request-id").map(str::len), Some(36));
    let r = app
        .get("/version")
        .header("X-Request-Id", "abc-123")
        .send()
        .await;
    assert_eq!(r.header("x-request-id"), Some("abc-123"));
}

#[tokio::test]
async fn percent_encoded_slashes_change_the_route() {
    let app = app().await;
    let r = app.get("/static/..%2Fx").send().await;
    assert_eq!(r.triple(), (404, JSON, "{\"detail\":\"Not Found\"}"));
    let r = app.get("/vers%69on").send().await;
    assert_eq!(r.triple(), (200, TEXT, "2.0.0"));
}
