//! Checklist 111–125: owners, export, import and destruction.

use crate::common::*;

const USER4: &str = "type = InfrastructureManager; username = user4; password = pass4";

async fn owners(app: &App, auth: &str, id: &str) -> crate::common::Resp {
    app.get(&format!("/infrastructures/{id}/authorization"))
        .auth(auth)
        .send()
        .await
}

#[tokio::test]
async fn adding_an_owner_lets_them_in_once() {
    // 111, 112
    let app = app().await;
    let id = app.create(A, R1).await;
    let path = format!("/infrastructures/{id}/authorization");
    for _ in 0..2 {
        let r = app
            .post(&path)
            .auth(A)
            .body(r#"{"username": "user2", "password": "pass2"}"#)
            .send()
            .await;
        assert_eq!(r.triple(), (200, TEXT, ""));
        assert_eq!(owners(&app, A, &id).await.body, "user\nuser2");
    }
    let r = app
        .get(&path)
        .auth(B)
        .accept("application/json")
        .send()
        .await;
    assert_eq!(
        r.triple(),
        (200, JSON, "{\"authorization\":[\"user\",\"user2\"]}")
    );
}

#[tokio::test]
async fn overwriting_the_owners_locks_the_previous_ones_out() {
    // 113
    let app = app().await;
    let id = app.create(A, R1).await;
    let path = format!("/infrastructures/{id}/authorization");
    app.post(&path)
        .auth(A)
        .body(r#"{"username": "user2", "password": "pass2"}"#)
        .send()
        .await;
    let r = app
        .post(&format!("{path}?overwrite=yes"))
        .auth(B)
        .body(r#"{"username": "user4", "password": "pass4"}"#)
        .send()
        .await;
    assert_eq!(r.triple(), (200, TEXT, ""));
    for who in [A, B] {
        let r = owners(&app, who, &id).await;
        assert_eq!(
            r.triple(),
            (
                403,
                TEXT,
                "Error Getting Inf. prop: Access to this infrastructure not granted."
            )
        );
    }
    assert_eq!(owners(&app, USER4, &id).await.body, "user4");
}

#[tokio::test]
async fn a_new_owner_without_username_nor_token_is_refused() {
    // 114
    let app = app().await;
    let id = app.create(A, R1).await;
    let r = app
        .post(&format!("/infrastructures/{id}/authorization"))
        .auth(A)
        .body(r#"{"password": "x"}"#)
        .send()
        .await;
    assert_eq!(
        r.triple(),
        (
            400,
            TEXT,
            "Error modifying infrastructure owner: Invalid new infrastructure data provided: No username nor token for the InfrastructureManager."
        )
    );
}

#[tokio::test]
async fn the_owner_body_must_be_json() {
    // 115
    let app = app().await;
    let id = app.create(A, R1).await;
    let path = format!("/infrastructures/{id}/authorization");
    let r = app
        .post(&path)
        .auth(A)
        .ctype("text/plain")
        .body(r#"{"username": "u"}"#)
        .send()
        .await;
    assert_eq!(
        r.triple(),
        (415, TEXT, "Unsupported Media Type ['text/plain']")
    );
    let r = app.post(&path).auth(A).body("notjson").send().await;
    assert_eq!((r.status, r.ctype()), (400, TEXT));
    assert!(
        r.body.starts_with("Error parsing auth data: "),
        "{}",
        r.body
    );
    // The body comes before the credentials.
    let r = app.post(&path).body("notjson").send().await;
    assert_eq!(r.status, 400);
}

#[tokio::test]
async fn owner_changes_on_unknown_or_foreign_infrastructures_are_404_and_403() {
    // 116
    let app = app().await;
    let id = app.create(A, R1).await;
    let body = r#"{"username": "user2", "password": "pass2"}"#;
    let r = app
        .post("/infrastructures/nonexistent/authorization")
        .auth(A)
        .body(body)
        .send()
        .await;
    assert_eq!(
        r.triple(),
        (
            404,
            TEXT,
            "Error modifying infrastructure owners: Invalid infrastructure ID or access not granted."
        )
    );
    let r = app
        .post(&format!("/infrastructures/{id}/authorization"))
        .auth(B)
        .body(body)
        .send()
        .await;
    assert_eq!(
        r.triple(),
        (
            403,
            TEXT,
            "Error modifying infrastructure owner: Access to this infrastructure not granted."
        )
    );
}

#[tokio::test]
async fn an_invalid_overwrite_flag_is_a_422() {
    // 117
    let app = app().await;
    let id = app.create(A, R1).await;
    let r = app
        .post(&format!(
            "/infrastructures/{id}/authorization?overwrite=maybe"
        ))
        .auth(A)
        .body(r#"{"username": "user2", "password": "pass2"}"#)
        .send()
        .await;
    assert_eq!(r.status, 422);
    assert_eq!(r.json()["detail"][0]["loc"][1], "overwrite");
}

async fn export(app: &App, id: &str, delete: bool) -> String {
    let q = if delete { "?delete=yes" } else { "" };
    let r = app
        .get(&format!("/infrastructures/{id}/data{q}"))
        .auth(A)
        .send()
        .await;
    assert_eq!((r.status, r.ctype()), (200, JSON), "{}", r.body);
    r.json()["data"].as_str().expect("data").to_string()
}

#[tokio::test]
async fn exporting_with_delete_forgets_the_infrastructure() {
    // 118
    let app = app().await;
    let id = app.create(A, R1).await;
    export(&app, &id, true).await;
    let r = app
        .get(&format!("/infrastructures/{id}"))
        .auth(A)
        .send()
        .await;
    assert_eq!(
        r.triple(),
        (
            404,
            TEXT,
            "Error Getting Inf. info: Invalid infrastructure ID or access not granted."
        )
    );
    let r = app.get("/infrastructures").auth(A).send().await;
    assert!(!r.body.contains(&id));
}

#[tokio::test]
async fn importing_an_export_brings_back_the_same_id_for_the_importer() {
    // 119, 120
    let app = app().await;
    let id = app.create(A, R1).await;
    let data = export(&app, &id, true).await;
    let r = app
        .put("/infrastructures")
        .auth(A)
        .ctype("application/json")
        .body(&data)
        .send()
        .await;
    assert_eq!(
        r.triple(),
        (
            200,
            URILIST,
            format!("{}/infrastructures/{id}", app.base).as_str()
        )
    );
    assert_eq!(r.header("infid"), None);
    assert_eq!(app.state(A, &id).await, "configured");
    assert_eq!(owners(&app, A, &id).await.body, "user");
    let r = app
        .put("/infrastructures")
        .auth(B)
        .accept("application/json")
        .body(&data)
        .send()
        .await;
    assert_eq!(
        r.triple(),
        (
            400,
            JSON,
            "{\"message\":\"Error Importing Inf.: Trying to add an existing infrastructure ID.\",\"code\":400}"
        )
    );
}

#[tokio::test]
async fn import_errors_are_400_with_the_import_prefix() {
    // 121
    let app = app().await;
    let r = app
        .put("/infrastructures")
        .auth(A)
        .ctype("text/plain")
        .body("{}")
        .send()
        .await;
    assert_eq!(
        r.triple(),
        (
            400,
            TEXT,
            "Error Importing Inf.: 415: Unsupported Media Type ['text/plain']"
        )
    );
    let r = app
        .put("/infrastructures")
        .auth(A)
        .body("garbage")
        .send()
        .await;
    assert_eq!(r.status, 400);
    assert!(
        r.body.starts_with(
            "Error Importing Inf.: Error importing the infrastructure, incorrect data: "
        ),
        "{}",
        r.body
    );
    let r = app
        .put("/infrastructures")
        .auth(A)
        .body(r#"{"a": 1}"#)
        .send()
        .await;
    assert_eq!(r.status, 400);
    assert!(r.body.starts_with("Error Importing Inf.: "), "{}", r.body);
    let r = app.put("/infrastructures").body("{}").send().await;
    assert_eq!(r.status, 401);
    let r = app
        .put("/infrastructures")
        .auth(A)
        .bytes(b"\xff")
        .send()
        .await;
    assert_eq!(
        r.triple(),
        (
            400,
            TEXT,
            "Error Importing Inf.: 'utf-8' codec can't decode byte 0xff in position 0: invalid start byte"
        )
    );
}

#[tokio::test]
async fn a_destroyed_infrastructure_is_gone_for_every_route() {
    // 122
    let app = app().await;
    let id = app.create(A, R1).await;
    let r = app
        .delete(&format!("/infrastructures/{id}"))
        .auth(A)
        .send()
        .await;
    assert_eq!(r.triple(), (200, TEXT, ""));
    let r = app
        .delete(&format!("/infrastructures/{id}"))
        .auth(A)
        .send()
        .await;
    assert_eq!(
        r.triple(),
        (
            404,
            TEXT,
            "Error Destroying Inf: Invalid infrastructure ID or access not granted."
        )
    );
    let r = app
        .get(&format!("/infrastructures/{id}/state"))
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
}

#[tokio::test]
async fn destroying_another_users_infrastructure_is_403() {
    // 123
    let app = app().await;
    let id = app.create(A, R1).await;
    let r = app
        .delete(&format!("/infrastructures/{id}"))
        .auth(B)
        .send()
        .await;
    assert_eq!(
        r.triple(),
        (
            403,
            TEXT,
            "Error Destroying Inf: Access to this infrastructure not granted."
        )
    );
}

#[tokio::test]
async fn an_asynchronous_destroy_answers_at_once() {
    // 124
    let app = app().await;
    let id = app.create(A, R1).await;
    let r = app
        .delete(&format!("/infrastructures/{id}?async=yes"))
        .auth(A)
        .send()
        .await;
    assert_eq!(r.triple(), (200, TEXT, ""));
    let r = app
        .get(&format!("/infrastructures/{id}/state"))
        .auth(A)
        .send()
        .await;
    // `deleting` while the destroy runs; the Dummy cloud often finishes
    // before the next request, and then the infrastructure is gone.
    assert!(
        (r.status == 200 && r.json()["state"]["state"] == "deleting")
            || r.triple()
                == (
                    404,
                    TEXT,
                    "Error Getting Inf. prop: Invalid infrastructure ID or access not granted."
                ),
        "{}",
        r.body
    );
}

#[tokio::test]
async fn an_invalid_force_flag_is_a_422() {
    // 125
    let app = app().await;
    let id = app.create(A, R1).await;
    let r = app
        .delete(&format!("/infrastructures/{id}?force=maybe"))
        .auth(A)
        .send()
        .await;
    assert_eq!(r.status, 422);
    assert_eq!(r.json()["detail"][0]["loc"][1], "force");
    assert_eq!(app.state(A, &id).await, "configured");
}
