//! Checklist 126–138: cloud images and quotas, usage statistics.

use crate::common::*;

const IMAGES: &str = "{\"images\":[{\"uri\":\"mock0://linux.for.ev.er/image1\",\"name\":\"Image Name1\"},{\"uri\":\"mock0://linux.for.ev.er/image2\",\"name\":\"Image Name2\"}]}";

#[tokio::test]
async fn the_dummy_cloud_lists_two_images_whatever_the_filters() {
    // 126
    let app = app().await;
    for q in ["", "?filters=region=r1,x=y", "?filters="] {
        let r = app
            .get(&format!("/clouds/dummy/images{q}"))
            .auth(A)
            .send()
            .await;
        assert_eq!(r.triple(), (200, JSON, IMAGES), "{q}");
    }
}

#[tokio::test]
async fn the_dummy_cloud_quotas_are_the_references() {
    // 127
    let app = app().await;
    let r = app.get("/clouds/dummy/quotas").auth(A).send().await;
    assert_eq!(
        r.triple(),
        (
            200,
            JSON,
            "{\"quotas\":{\"cores\":{\"used\":1,\"limit\":10},\"ram\":{\"used\":1,\"limit\":10},\"instances\":{\"used\":1,\"limit\":10},\"floating_ips\":{\"used\":1,\"limit\":10},\"security_groups\":{\"used\":1,\"limit\":10}}}"
        )
    );
}

#[tokio::test]
async fn malformed_filters_are_a_400() {
    // 128
    let app = app().await;
    for f in ["bad", "a=b=c"] {
        let r = app
            .get(&format!("/clouds/dummy/images?filters={f}"))
            .auth(A)
            .send()
            .await;
        assert_eq!(
            r.triple(),
            (400, TEXT, "Invalid format in filters parameter."),
            "{f}"
        );
    }
}

#[tokio::test]
async fn an_unknown_cloud_id_is_a_400() {
    // 129
    let app = app().await;
    let r = app.get("/clouds/other/quotas").auth(A).send().await;
    assert_eq!(
        r.triple(),
        (
            400,
            TEXT,
            "Error getting cloud info: Cloud ID other not found."
        )
    );
}

#[tokio::test]
async fn cloud_information_is_json_only() {
    // 130
    let app = app().await;
    let r = app
        .get("/clouds/dummy/images")
        .auth(A)
        .accept("text/plain")
        .send()
        .await;
    assert_eq!(
        r.triple(),
        (415, TEXT, "Unsupported Accept Media Types: text/plain")
    );
    let r = app
        .get("/clouds/dummy/images")
        .auth(A)
        .accept("text/*")
        .send()
        .await;
    assert_eq!(r.triple(), (200, JSON, IMAGES));
}

#[tokio::test]
async fn an_unknown_cloud_parameter_is_a_literal_422_and_a_short_path_a_404() {
    // 131
    let app = app().await;
    let r = app.get("/clouds/dummy/foo").auth(A).send().await;
    assert_eq!(r.status, 422);
    assert_eq!(
        r.json()["detail"][0]["msg"],
        "Input should be 'images' or 'quotas'"
    );
    let r = app.get("/clouds/x").auth(A).send().await;
    assert_eq!(r.triple(), (404, JSON, "{\"detail\":\"Not Found\"}"));
}

#[tokio::test]
async fn cloud_routes_answer_401_without_im_credentials() {
    // 132
    let app = app().await;
    let r = app
        .get("/clouds/dummy/images")
        .auth("id = dummy; type = Dummy")
        .send()
        .await;
    assert_eq!(
        r.triple(),
        (
            401,
            TEXT,
            "Error getting cloud info: No credentials provided for the InfrastructureManager."
        )
    );
}

const STATS_KEYS: [&str; 12] = [
    "creation_date",
    "tosca_name",
    "vm_count",
    "cpu_count",
    "memory_size",
    "cloud_type",
    "cloud_host",
    "hybrid",
    "deleted",
    "im_user",
    "inf_id",
    "last_date",
];

#[tokio::test]
async fn stats_list_every_infrastructure_of_the_caller_deleted_ones_included() {
    // 133
    let app = app().await;
    let kept = app.create(A, R1).await;
    let gone = app.create(A, R1).await;
    app.delete(&format!("/infrastructures/{gone}"))
        .auth(A)
        .send()
        .await;
    let r = app.get("/stats").auth(A).send().await;
    assert_eq!((r.status, r.ctype()), (200, JSON));
    let rows = r.json()["stats"].as_array().expect("rows").clone();
    assert_eq!(rows.len(), 2);
    for row in &rows {
        let keys: Vec<&str> = row
            .as_object()
            .expect("row")
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(keys, STATS_KEYS);
    }
    let deleted = |id: &str| {
        rows.iter()
            .find(|r| r["inf_id"] == id)
            .map(|r| r["deleted"].clone())
    };
    assert_eq!(deleted(&gone), Some(serde_json::json!(true)));
    assert_eq!(deleted(&kept), Some(serde_json::json!(false)));
}

#[tokio::test]
async fn stats_of_a_user_without_infrastructures_are_empty() {
    // 134
    let app = app().await;
    app.create(A, R1).await;
    let r = app.get("/stats").auth(B).send().await;
    assert_eq!(r.triple(), (200, JSON, "{\"stats\":[]}"));
    let r = app.get("/stats").auth(B).accept("text/csv").send().await;
    assert_eq!(r.triple(), (200, "text/csv; charset=utf-8", "\r\n"));
}

#[tokio::test]
async fn stats_in_csv_have_a_header_and_python_booleans() {
    // 135
    let app = app().await;
    let id = app.create(A, R1).await;
    let r = app.get("/stats").auth(A).accept("text/csv").send().await;
    assert_eq!((r.status, r.ctype()), (200, "text/csv; charset=utf-8"));
    let mut lines = r.body.split("\r\n");
    assert_eq!(lines.next(), Some(STATS_KEYS.join(",").as_str()));
    let row = lines.next().expect("a row");
    assert!(
        row.contains(",False,False,user,") && row.contains(&id),
        "{row}"
    );
    let r = app.get("/stats").auth(A).accept("text/*").send().await;
    assert_eq!(r.ctype(), "text/csv; charset=utf-8");
}

#[tokio::test]
async fn invalid_dates_are_a_400() {
    // 136
    let app = app().await;
    let r = app.get("/stats?init_date=2020-13-01").auth(A).send().await;
    assert_eq!(
        r.triple(),
        (
            400,
            TEXT,
            "Incorrect format in init_date parameter: YYYY/MM/dd"
        )
    );
    let r = app.get("/stats?end_date=foo").auth(A).send().await;
    assert_eq!(
        r.triple(),
        (
            400,
            TEXT,
            "Incorrect format in end_date parameter: YYYY/MM/dd"
        )
    );
    let r = app
        .get("/stats?init_date=2020-01-01-05")
        .auth(A)
        .send()
        .await;
    assert_eq!(
        r.triple(),
        (
            400,
            TEXT,
            "Error getting stats: unconverted data remains: -05"
        )
    );
}

#[tokio::test]
async fn dates_bound_the_rows() {
    // 137
    let app = app().await;
    app.create(A, R1).await;
    for q in ["init_date=2030/01/01", "end_date=2000-01-01"] {
        let r = app.get(&format!("/stats?{q}")).auth(A).send().await;
        assert_eq!(r.triple(), (200, JSON, "{\"stats\":[]}"), "{q}");
    }
    let r = app.get("/stats?init_date=").auth(A).send().await;
    assert_eq!(r.json()["stats"].as_array().map(Vec::len), Some(1));
}

#[tokio::test]
async fn stats_answer_400_for_bad_credentials_and_401_without_any() {
    // 138
    let app = app().await;
    let r = app.get("/stats").auth("garbage").send().await;
    assert_eq!(
        r.triple(),
        (
            400,
            TEXT,
            "Error getting stats: No credentials provided for the InfrastructureManager."
        )
    );
    let r = app.get("/stats").send().await;
    assert_eq!(r.status, 401);
}

#[tokio::test]
async fn stats_with_an_unsupported_accept_are_415_instead_of_the_references_null() {
    // deviation: the reference answers 200 `null`
    let app = app().await;
    let r = app.get("/stats").auth(A).accept("text/plain").send().await;
    assert_eq!(
        r.triple(),
        (415, TEXT, "Unsupported Accept Media Types: text/plain")
    );
}
