//! Checklist 98–110: adding and removing VMs, reconfiguring, starting and
//! stopping infrastructures.

use crate::common::*;

const ADD2: &str = "network publica\nsystem front\ndeploy front 2";

#[tokio::test]
async fn adding_without_context_answers_the_new_uris_and_no_infid() {
    // 98
    let app = app().await;
    let id = app.create(A, R1).await;
    let r = app
        .post(&format!("/infrastructures/{id}?context=0"))
        .auth(A)
        .body(ADD2)
        .send()
        .await;
    assert_eq!(
        r.triple(),
        (
            200,
            URILIST,
            format!(
                "{b}/infrastructures/{id}/vms/1\n{b}/infrastructures/{id}/vms/2",
                b = app.base
            )
            .as_str()
        )
    );
    assert_eq!(r.header("infid"), None);
}

#[tokio::test]
async fn adding_with_context_sends_the_infid_header() {
    // 99
    let app = app().await;
    let id = app.create(A, R1).await;
    let r = app
        .post(&format!("/infrastructures/{id}"))
        .auth(A)
        .accept("application/json")
        .body(ADD2)
        .send()
        .await;
    assert_eq!((r.status, r.ctype()), (200, JSON), "{}", r.body);
    assert_eq!(r.header("infid"), Some(id.as_str()));
    assert_eq!(
        r.body,
        format!(
            "{{\"uri-list\":[{{\"uri\":\"{b}/infrastructures/{id}/vms/1\"}},{{\"uri\":\"{b}/infrastructures/{id}/vms/2\"}}]}}",
            b = app.base
        )
    );
}

#[tokio::test]
async fn adding_nothing_answers_an_empty_list() {
    // 100
    let app = app().await;
    let id = app.create(A, R1).await;
    let r = app
        .post(&format!("/infrastructures/{id}?context=false"))
        .auth(A)
        .send()
        .await;
    assert_eq!(r.triple(), (200, URILIST, ""));
    assert_eq!(r.header("infid"), None);
    let r = app
        .post(&format!("/infrastructures/{id}"))
        .auth(A)
        .send()
        .await;
    assert_eq!(r.triple(), (200, URILIST, ""));
    assert_eq!(r.header("infid"), Some(id.as_str()));
}

#[tokio::test]
async fn adding_an_unknown_system_is_a_400() {
    // 101, 102
    let app = app().await;
    let id = app.create(A, R1).await;
    let r = app
        .post(&format!("/infrastructures/{id}"))
        .auth(A)
        .body("system wnno deploy wnno 1")
        .send()
        .await;
    assert_eq!(
        r.triple(),
        (
            400,
            TEXT,
            "Error Adding resources: Unknown reference in RADL to <class 'radl.radl.system'> 'wnno'"
        )
    );
    let r = app
        .post(&format!("/infrastructures/{id}"))
        .auth(A)
        .body("system front\ndeploy nonexistent 1")
        .send()
        .await;
    assert_eq!(
        r.triple(),
        (
            400,
            TEXT,
            "Error Adding resources: Line 2: Invalid system id in the deploy."
        )
    );
}

#[tokio::test]
async fn adding_to_an_unknown_or_foreign_infrastructure_is_404_or_403() {
    // 103
    let app = app().await;
    let id = app.create(A, R1).await;
    let r = app
        .post("/infrastructures/nonexistent")
        .auth(A)
        .body(R1)
        .send()
        .await;
    assert_eq!(
        r.triple(),
        (
            404,
            TEXT,
            "Error Adding resources: Invalid infrastructure ID or access not granted."
        )
    );
    let r = app
        .post(&format!("/infrastructures/{id}"))
        .auth(B)
        .body(R1)
        .send()
        .await;
    assert_eq!(
        r.triple(),
        (
            403,
            TEXT,
            "Error Adding resources: Access to this infrastructure not granted."
        )
    );
}

#[tokio::test]
async fn a_removed_vm_is_deleted_and_no_longer_listed() {
    // 104
    let app = app().await;
    let id = app.create(A, R1).await;
    app.post(&format!("/infrastructures/{id}?context=0"))
        .auth(A)
        .body(ADD2)
        .send()
        .await;
    let r = app
        .delete(&format!("/infrastructures/{id}/vms/2"))
        .auth(A)
        .send()
        .await;
    assert_eq!(r.triple(), (200, TEXT, ""));
    let r = app
        .delete(&format!("/infrastructures/{id}/vms/2"))
        .auth(A)
        .send()
        .await;
    assert_eq!(
        r.triple(),
        (404, TEXT, "Error Removing resources: Deleted VM.")
    );
    let r = app
        .get(&format!("/infrastructures/{id}/vms/2"))
        .auth(A)
        .send()
        .await;
    assert_eq!(
        r.triple(),
        (404, TEXT, "Error Getting VM. info: Deleted VM.")
    );
    let r = app
        .get(&format!("/infrastructures/{id}"))
        .auth(A)
        .send()
        .await;
    assert!(!r.body.contains("/vms/2"), "{}", r.body);
}

#[tokio::test]
async fn removing_a_list_with_an_unknown_vm_removes_nothing() {
    // 105
    let app = app().await;
    let id = app.create(A, R1).await;
    app.post(&format!("/infrastructures/{id}?context=0"))
        .auth(A)
        .body(ADD2)
        .send()
        .await;
    // An empty item is an invalid id too (`int('')` in the reference).
    for list in ["1,77", "1,", ",", "1,,2"] {
        let r = app
            .delete(&format!("/infrastructures/{id}/vms/{list}"))
            .auth(A)
            .send()
            .await;
        assert_eq!(
            r.triple(),
            (404, TEXT, "Error Removing resources: Invalid VM ID"),
            "{list}"
        );
    }
    let r = app
        .get(&format!("/infrastructures/{id}"))
        .auth(A)
        .send()
        .await;
    assert!(r.body.contains("/vms/1"), "{}", r.body);
}

#[tokio::test]
async fn reconfiguring_answers_empty_text_with_the_infid() {
    // 106
    let app = app().await;
    let id = app.create(A, R1).await;
    for q in ["", "?vm_list=0", "?vm_list=", "?vm_list=%200"] {
        let r = app
            .put(&format!("/infrastructures/{id}/reconfigure{q}"))
            .auth(A)
            .send()
            .await;
        assert_eq!(r.triple(), (200, TEXT, ""), "{q}: {}", r.body);
        assert_eq!(r.header("infid"), Some(id.as_str()));
    }
}

#[tokio::test]
async fn a_vm_list_that_is_not_integers_is_a_400() {
    // 107
    let app = app().await;
    let id = app.create(A, R1).await;
    let path = format!("/infrastructures/{id}/reconfigure?vm_list=a,b");
    let r = app.put(&path).auth(A).send().await;
    assert_eq!(r.triple(), (400, TEXT, "Incorrect vm_list format."));
    let r = app
        .put(&path)
        .auth(A)
        .accept("application/json")
        .send()
        .await;
    assert_eq!(
        r.triple(),
        (
            400,
            JSON,
            "{\"message\":\"Incorrect vm_list format.\",\"code\":400}"
        )
    );
}

#[tokio::test]
async fn stopping_and_starting_an_infrastructure_change_every_vm() {
    // 108
    let app = app().await;
    let id = app.create(A, R1).await;
    let r = app
        .put(&format!("/infrastructures/{id}/stop"))
        .auth(A)
        .send()
        .await;
    assert_eq!(r.triple(), (200, TEXT, ""));
    let r = app
        .get(&format!("/infrastructures/{id}/state"))
        .auth(A)
        .send()
        .await;
    assert_eq!(
        r.body,
        "{\"state\":{\"state\":\"stopped\",\"vm_states\":{\"0\":\"stopped\"}}}"
    );
    let r = app
        .put(&format!("/infrastructures/{id}/start"))
        .auth(A)
        .send()
        .await;
    assert_eq!(r.triple(), (200, TEXT, ""));
}

#[tokio::test]
async fn an_unknown_infrastructure_operation_is_a_literal_422() {
    // 109
    let app = app().await;
    let id = app.create(A, R1).await;
    for op in ["foo", "authorization"] {
        let r = app
            .put(&format!("/infrastructures/{id}/{op}"))
            .auth(A)
            .send()
            .await;
        assert_eq!(
            r.triple(),
            (
                422,
                JSON,
                format!("{{\"detail\":[{{\"type\":\"literal_error\",\"loc\":[\"path\",\"op\"],\"msg\":\"Input should be 'start' or 'stop'\",\"input\":\"{op}\",\"ctx\":{{\"expected\":\"'start' or 'stop'\"}}}}]}}").as_str()
            )
        );
    }
}

#[tokio::test]
async fn operation_errors_name_the_operation() {
    // 110
    let app = app().await;
    let id = app.create(A, R1).await;
    let r = app
        .put("/infrastructures/nonexistent/start")
        .auth(A)
        .send()
        .await;
    assert_eq!(
        r.triple(),
        (
            404,
            TEXT,
            "Error in start operation: Invalid infrastructure ID or access not granted."
        )
    );
    let r = app
        .put(&format!("/infrastructures/{id}/stop"))
        .auth(B)
        .send()
        .await;
    assert_eq!(
        r.triple(),
        (
            403,
            TEXT,
            "Error in stop operation: Access to this infrastructure not granted."
        )
    );
    let r = app
        .put("/infrastructures/nonexistent/vms/0/start")
        .auth(A)
        .send()
        .await;
    assert_eq!(
        r.triple(),
        (
            404,
            TEXT,
            "Error in start op in VM: Invalid infrastructure ID or access not granted."
        )
    );
}
