//! Checklist 14–34: the `Authorization` header, its grammar and the
//! credential errors, with the reference's per-route statuses.

use serde_json::json;

use crate::common::*;

#[tokio::test]
async fn a_request_without_authorization_is_401_in_the_accepted_format() {
    // 14, 15, 16
    let app = app().await;
    let r = app.get("/infrastructures").send().await;
    assert_eq!(r.triple(), (401, TEXT, "No authentication data provided"));
    let r = app
        .get("/infrastructures")
        .accept("application/json")
        .send()
        .await;
    assert_eq!(
        r.triple(),
        (
            401,
            JSON,
            "{\"message\":\"No authentication data provided\",\"code\":401}"
        )
    );
    let r = app.get("/infrastructures").accept("text/html").send().await;
    assert_eq!((r.status, r.ctype()), (401, HTML));
    assert!(r.body.contains("<title>Error 401.</title>"));
    assert!(
        r.body
            .contains("<h1>Message: No authentication data provided</h1>")
    );
}

#[tokio::test]
async fn an_empty_authorization_header_is_no_authentication_data() {
    let app = app().await;
    let r = app.get("/infrastructures").auth("").send().await;
    assert_eq!(r.triple(), (401, TEXT, "No authentication data provided"));
}

#[tokio::test]
async fn garbage_credentials_are_no_im_credentials() {
    // 17
    let app = app().await;
    let r = app
        .get("/infrastructures")
        .auth("garbage")
        .accept("application/json")
        .send()
        .await;
    assert_eq!(
        r.triple(),
        (
            401,
            JSON,
            "{\"message\":\"Error Getting Inf. List: No credentials provided for the InfrastructureManager.\",\"code\":401}"
        )
    );
}

#[tokio::test]
async fn bearer_and_basic_headers_without_vault_carry_no_im_credentials() {
    // 18
    let app = app().await;
    for h in ["Bearer abc.def.ghi", "Basic dXNlcjpwYXNz"] {
        let r = app.get("/infrastructures").auth(h).send().await;
        assert_eq!(
            r.triple(),
            (
                401,
                TEXT,
                "Error Getting Inf. List: No credentials provided for the InfrastructureManager."
            ),
            "{h}"
        );
    }
}

#[tokio::test]
async fn an_im_item_without_username_nor_token_is_refused() {
    // 19
    let app = app().await;
    let r = app
        .get("/infrastructures")
        .auth("type = InfrastructureManager; password = x")
        .send()
        .await;
    assert_eq!(
        r.triple(),
        (
            401,
            TEXT,
            "Error Getting Inf. List: No username nor token for the InfrastructureManager."
        )
    );
}

#[tokio::test]
async fn creating_returns_the_uri_and_the_infid_header() {
    // 20
    let app = app().await;
    let r = app.post("/infrastructures").auth(A).body(R1).send().await;
    assert_eq!((r.status, r.ctype()), (200, URILIST));
    let id = r.header("infid").expect("infid").to_string();
    assert_eq!(id.len(), 36);
    assert_eq!(r.body, format!("{}/infrastructures/{id}", app.base));
}

#[tokio::test]
async fn the_openid_username_prefix_is_reserved() {
    // 21
    let app = app().await;
    let r = app
        .get("/infrastructures")
        .auth("type = InfrastructureManager; username = __OPENID__x; password = x")
        .send()
        .await;
    assert_eq!(
        r.triple(),
        (
            401,
            TEXT,
            "Error Getting Inf. List: Invalid username used for the InfrastructureManager."
        )
    );
}

#[tokio::test]
async fn a_bad_auth_id_is_a_400_with_the_references_message_instead_of_its_500() {
    // 22 (deviation: the reference answers 500)
    let app = app().await;
    let r = app
        .get("/infrastructures")
        .auth(r"id = 1bad; type = Dummy\ntype = InfrastructureManager; username = a; password = b")
        .accept("application/json")
        .send()
        .await;
    assert_eq!(
        r.triple(),
        (
            400,
            JSON,
            "{\"message\":\"Incorrect value in auth item id: 1bad\",\"code\":400}"
        )
    );
}

#[tokio::test]
async fn a_malformed_basic_header_is_a_401_instead_of_the_references_500() {
    // 23 (deviation: the reference answers 500 `list index out of range`)
    let app = app().await;
    let r = app
        .get("/infrastructures")
        .auth("Basic dXNlcg==")
        .send()
        .await;
    assert_eq!(
        r.triple(),
        (
            401,
            TEXT,
            "Error Getting Inf. List: No credentials provided for the InfrastructureManager."
        )
    );
}

#[tokio::test]
async fn an_undecodable_token_is_a_400() {
    // 24
    let app = app().await;
    let r = app
        .get("/infrastructures")
        .auth("type = InfrastructureManager; token = abc")
        .accept("application/json")
        .send()
        .await;
    assert_eq!(r.status, 400);
    let msg = r.json()["message"].as_str().expect("message").to_string();
    assert!(
        msg.starts_with("Error Getting Inf. List: Error trying to decode OIDC auth token: "),
        "{msg}"
    );
}

#[tokio::test]
async fn an_expired_token_is_401_on_the_list_and_400_on_an_infrastructure() {
    // 25, 26
    let app = app().await;
    let id = app.create(A, R1).await;
    let token = jwt(&json!({"iss": "https://issuer.example", "sub": "u1", "exp": now() - 100}));
    let h = format!("type = InfrastructureManager; token = {token}");
    let r = app
        .get("/infrastructures")
        .auth(&h)
        .accept("application/json")
        .send()
        .await;
    assert_eq!(r.status, 401);
    assert_eq!(
        r.json()["message"],
        "Error Getting Inf. List: Invalid InfrastructureManager credentials. OIDC auth Token expired."
    );
    let r = app
        .get(&format!("/infrastructures/{id}"))
        .auth(&h)
        .send()
        .await;
    assert_eq!(
        r.triple(),
        (
            400,
            TEXT,
            "Error Getting Inf. info: Invalid InfrastructureManager credentials. OIDC auth Token expired."
        )
    );
}

#[tokio::test]
async fn a_token_from_an_issuer_not_accepted_is_401() {
    // 27
    let mut settings = im_core::Settings::default();
    settings.auth.oidc.issuers = vec!["https://aai.egi.eu/auth/realms/egi".into()];
    let app = app_with(settings, im_api::ApiConfig::default()).await;
    let token = jwt(&json!({"iss": "https://other.example", "sub": "u1", "exp": now() + 3600}));
    let r = app
        .get("/infrastructures")
        .auth(&format!("type = InfrastructureManager; token = {token}"))
        .send()
        .await;
    assert_eq!(
        r.triple(),
        (
            401,
            TEXT,
            "Error Getting Inf. List: Invalid InfrastructureManager credentials. Issuer not accepted."
        )
    );
}

async fn lists(app: &App, auth: &str, id: &str) -> bool {
    let r = app.get("/infrastructures").auth(auth).send().await;
    assert_eq!(r.status, 200, "{auth}: {}", r.body);
    r.body.contains(id)
}

#[tokio::test]
async fn the_auth_grammar_allows_no_spaces_quotes_and_comment_lines() {
    // 28, 29, 30
    let app = app().await;
    let id = app.create(A, R1).await;
    assert!(
        lists(
            &app,
            "type=InfrastructureManager;username=user;password=pass",
            &id
        )
        .await
    );
    assert!(
        lists(
            &app,
            "type = InfrastructureManager; username = 'user'; password = \"pass\"",
            &id
        )
        .await
    );
    assert!(
        lists(
            &app,
            r"#c\ntype = InfrastructureManager; username = user; password = pass",
            &id
        )
        .await
    );
}

#[tokio::test]
async fn the_type_value_is_case_sensitive() {
    // 31
    let app = app().await;
    let r = app
        .get("/infrastructures")
        .auth("type = infrastructuremanager; username = user; password = pass")
        .send()
        .await;
    assert_eq!(
        r.triple(),
        (
            401,
            TEXT,
            "Error Getting Inf. List: No credentials provided for the InfrastructureManager."
        )
    );
}

#[tokio::test]
async fn a_token_without_equals_sign_ends_the_line() {
    // 32
    let app = app().await;
    let r = app
        .get("/infrastructures")
        .auth("type = InfrastructureManager; garbage; username = user; password = pass")
        .send()
        .await;
    assert_eq!(
        r.triple(),
        (
            401,
            TEXT,
            "Error Getting Inf. List: No username nor token for the InfrastructureManager."
        )
    );
}

#[tokio::test]
async fn a_json_list_of_auth_items_is_accepted() {
    // 33
    let app = app().await;
    let id = app.create(A, R1).await;
    let r = app
        .get("/infrastructures")
        .auth(r#"[{"type": "InfrastructureManager", "username": "user", "password": "pass"}]"#)
        .accept("application/json")
        .send()
        .await;
    assert_eq!((r.status, r.ctype()), (200, JSON));
    assert_eq!(
        r.json()["uri-list"][0]["uri"],
        format!("{}/infrastructures/{id}", app.base)
    );
}

#[tokio::test]
async fn a_json_object_instead_of_a_list_is_a_400_with_the_route_prefix() {
    // 34 (the message names the problem instead of Python's TypeError text)
    let app = app().await;
    let r = app
        .get("/infrastructures")
        .auth(r#"{"type": "InfrastructureManager", "username": "user", "password": "pass"}"#)
        .accept("application/json")
        .send()
        .await;
    assert_eq!(r.status, 400);
    let msg = r.json()["message"].as_str().expect("message").to_string();
    assert!(
        msg.starts_with("Error Getting Inf. List: Incorrect auth data: "),
        "{msg}"
    );
}

#[tokio::test]
async fn a_json_scalar_as_auth_data_is_a_400_instead_of_the_references_500() {
    let app = app().await;
    let r = app.get("/infrastructures").auth("42").send().await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(
        r.body.starts_with("Error Getting Inf. List: "),
        "{}",
        r.body
    );
}

#[tokio::test]
async fn non_ascii_credentials_are_read_as_latin_1_like_the_reference() {
    let app = app().await;
    // `ñ` as the single Latin-1 byte, as Python clients send it.
    let header: &[u8] = b"type = InfrastructureManager; username = user; password = contrase\xf1a\\nid = dummy; type = Dummy";
    let r = app
        .post("/infrastructures")
        .header_bytes("Authorization", header)
        .body(R1)
        .send()
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let id = r.header("infid").expect("infid").to_string();
    let r = app
        .get(&format!("/infrastructures/{id}/data"))
        .header_bytes("Authorization", header)
        .send()
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let data: serde_json::Value =
        serde_json::from_str(r.json()["data"].as_str().expect("data")).expect("json");
    assert_eq!(data["auth"][0]["password"], "contrase\u{f1}a");
    let r = app.get("/infrastructures").auth(A).send().await;
    assert!(!r.body.contains(&id), "another password is another user");
}
