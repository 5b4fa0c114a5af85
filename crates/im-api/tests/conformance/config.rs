//! Checklist 139–145: optional configuration (USER_DB, ADMIN_USER,
//! REST_ROOT_PATH, CORS, STATIC_FILES_DIR, BOOT_MODE, the blocking-call
//! guard), plus database failures.

use std::sync::Arc;
use std::time::Duration;

use im_api::ApiConfig;
use im_auth::{AdminUser, UserDb};
use im_core::{BootMode, Settings};

use crate::common::*;

fn users() -> UserDb {
    UserDb::from_json_text(
        r#"{"users":[{"username":"user","password":"pass"},{"username":"admin","password":"adminpass"}]}"#,
    )
}

#[tokio::test]
async fn a_user_db_refuses_unknown_passwords_with_route_dependent_statuses() {
    // 139
    let mut settings = Settings::default();
    settings.auth.user_db = Some(users());
    let app = app_with(settings, ApiConfig::default()).await;
    let id = app.create(A, R1).await;
    let wrong = "type = InfrastructureManager; username = user; password = wrong";
    let r = app.get("/infrastructures").auth(wrong).send().await;
    assert_eq!(
        r.triple(),
        (
            401,
            TEXT,
            "Error Getting Inf. List: Invalid InfrastructureManager credentials"
        )
    );
    let r = app
        .get(&format!("/infrastructures/{id}"))
        .auth(wrong)
        .send()
        .await;
    assert_eq!(
        r.triple(),
        (
            400,
            TEXT,
            "Error Getting Inf. info: Invalid InfrastructureManager credentials"
        )
    );
}

#[tokio::test]
async fn an_admin_sees_every_infrastructure_and_every_stats_row() {
    // 140
    let mut settings = Settings::default();
    settings.auth.user_db = Some(users());
    settings.auth.admin_users = vec![AdminUser {
        username: Some("admin".into()),
        password: Some("adminpass".into()),
    }];
    let app = app_with(settings, ApiConfig::default()).await;
    let id = app.create(A, R1).await;
    let admin = "type = InfrastructureManager; username = admin; password = adminpass";
    let r = app.get("/infrastructures").auth(admin).send().await;
    assert!(r.body.contains(&id), "{}", r.body);
    assert_eq!(app.state(admin, &id).await, "configured");
    let r = app.get("/stats").auth(admin).send().await;
    assert_eq!(r.json()["stats"].as_array().map(Vec::len), Some(1));
}

#[tokio::test]
async fn a_root_path_prefixes_the_uris_and_routes_answer_with_and_without_it() {
    // 141
    let app = app_with(
        Settings::default(),
        ApiConfig {
            root_path: "/im".into(),
            ..Default::default()
        },
    )
    .await;
    for path in ["/im/version", "/version"] {
        let r = app.get(path).send().await;
        assert_eq!(r.triple(), (200, TEXT, "2.0.0"), "{path}");
    }
    let r = app
        .post("/im/infrastructures")
        .auth(A)
        .body(R1)
        .send()
        .await;
    let id = r.header("infid").expect("infid").to_string();
    assert_eq!(r.body, format!("{}/im/infrastructures/{id}", app.base));
    let r = app.get("/infrastructures").auth(A).send().await;
    assert_eq!(r.body, format!("{}/im/infrastructures/{id}", app.base));
    let r = app.get("/im/infrastructures/").send().await;
    assert_eq!(
        (r.status, r.header("location")),
        (
            307,
            Some(format!("{}/im/infrastructures", app.base).as_str())
        )
    );
    let r = app.get("/imx/version").send().await;
    assert_eq!(r.status, 404);
}

fn cors_app_config(origin: &str) -> ApiConfig {
    ApiConfig {
        enable_cors: true,
        cors_origin: origin.into(),
        ..Default::default()
    }
}

#[tokio::test]
async fn cors_echoes_the_origin_with_credentials() {
    // 142
    let app = app_with(Settings::default(), cors_app_config("*")).await;
    let r = app
        .get("/version")
        .header("Origin", "http://example.com")
        .send()
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.header("access-control-allow-origin"),
        Some("http://example.com")
    );
    assert_eq!(r.header("access-control-allow-credentials"), Some("true"));
    assert_eq!(r.header("vary"), Some("Origin"));
    let r = app
        .get("/nonexistent")
        .header("Origin", "http://e.org")
        .send()
        .await;
    assert_eq!(
        (r.status, r.header("access-control-allow-origin")),
        (404, Some("http://e.org"))
    );
}

#[tokio::test]
async fn cors_preflights_are_answered_ok_or_refused_in_plain_text() {
    // 142
    let app = app_with(Settings::default(), cors_app_config("*")).await;
    let preflight = |headers: &'static str| {
        app.call("OPTIONS", "/infrastructures")
            .header("Origin", "http://example.com")
            .header("Access-Control-Request-Method", "POST")
            .header("Access-Control-Request-Headers", headers)
            .send()
    };
    let r = preflight("Authorization, Content-Type").await;
    assert_eq!(r.triple(), (200, TEXT, "OK"));
    assert_eq!(r.header("access-control-max-age"), Some("600"));
    assert_eq!(
        r.header("access-control-allow-origin"),
        Some("http://example.com")
    );
    assert_eq!(r.header("access-control-allow-credentials"), Some("true"));
    assert_eq!(
        r.header("access-control-allow-methods"),
        Some("DELETE, GET, HEAD, OPTIONS, PATCH, POST, PUT")
    );
    let r = preflight("X-Custom").await;
    assert_eq!(r.triple(), (400, TEXT, "Disallowed CORS headers"));
    let r = app.call("OPTIONS", "/infrastructures").send().await;
    assert_eq!(r.status, 405);
}

#[tokio::test]
async fn cors_with_a_fixed_origin_refuses_others() {
    let app = app_with(Settings::default(), cors_app_config("https://dash.example")).await;
    let r = app
        .call("OPTIONS", "/version")
        .header("Origin", "http://evil.example")
        .header("Access-Control-Request-Method", "GET")
        .send()
        .await;
    assert_eq!(r.triple(), (400, TEXT, "Disallowed CORS origin"));
    let r = app
        .get("/version")
        .header("Origin", "http://evil.example")
        .send()
        .await;
    assert_eq!(r.header("access-control-allow-origin"), None);
    let r = app
        .get("/version")
        .header("Origin", "https://dash.example")
        .send()
        .await;
    assert_eq!(
        r.header("access-control-allow-origin"),
        Some("https://dash.example")
    );
}

#[tokio::test]
async fn static_files_are_served_from_their_directory_only() {
    // 143
    let dir = tempfile::tempdir().expect("dir");
    std::fs::write(dir.path().join("hello.txt"), "hi there").expect("write");
    let outside = tempfile::tempdir().expect("dir");
    std::fs::write(outside.path().join("secret.txt"), "secret").expect("write");
    let app = app_with(
        Settings::default(),
        ApiConfig {
            static_files_dir: Some(dir.path().to_path_buf()),
            ..Default::default()
        },
    )
    .await;
    let r = app.get("/static/hello.txt").send().await;
    assert_eq!(r.triple(), (200, TEXT, "hi there"));
    assert!(r.header("etag").is_some());
    assert!(
        r.header("last-modified")
            .is_some_and(|d| d.ends_with(" GMT"))
    );
    assert_eq!(r.header("accept-ranges"), Some("bytes"));
    let r = app
        .get("/static/hello.txt")
        .header("Range", "bytes=3-")
        .send()
        .await;
    assert_eq!((r.status, r.body.as_str()), (206, "there"));
    let r = app.get("/static/nothere.txt").send().await;
    assert_eq!(r.triple(), (404, TEXT, "File not found"));
    let r = app.get("/static/..").send().await;
    assert_eq!(r.status, 404);
    let secret = outside.path().join("secret.txt");
    let r = app
        .get(&format!("/static/..%2F{}", secret.display()))
        .send()
        .await;
    assert_eq!(r.status, 404);
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink(&secret, dir.path().join("link.txt")).expect("symlink");
        let r = app.get("/static/link.txt").send().await;
        assert_eq!(r.triple(), (404, TEXT, "File not found"));
    }
}

#[tokio::test]
async fn a_read_only_boot_mode_disables_changes_but_not_reads() {
    // 144
    let app = app().await;
    let id = app.create(A, R1).await;
    let data = {
        let r = app
            .get(&format!("/infrastructures/{id}/data"))
            .auth(A)
            .send()
            .await;
        r.json()["data"].as_str().expect("data").to_string()
    };
    let settings = Settings {
        boot_mode: BootMode::ReadOnly,
        ..Settings::default()
    };
    let ro = app_with(settings, ApiConfig::default()).await;
    let r = ro.post("/infrastructures").auth(A).body(R1).send().await;
    assert_eq!(
        r.triple(),
        (
            403,
            TEXT,
            "Error Creating Inf.: Function currently disabled."
        )
    );
    let r = ro.post("/infrastructures?dry_run=1").auth(A).send().await;
    assert_eq!(r.triple(), (200, JSON, "{}"));
    let r = ro.put("/infrastructures").auth(A).body(&data).send().await;
    assert_eq!(
        r.triple(),
        (
            403,
            TEXT,
            "Error Importing Inf.: Function currently disabled."
        )
    );
    let r = ro
        .delete("/infrastructures/whatever")
        .auth(A)
        .accept("application/json")
        .send()
        .await;
    assert_eq!(
        r.triple(),
        (
            403,
            JSON,
            "{\"message\":\"Error Destroying Inf: Function currently disabled.\",\"code\":403}"
        )
    );
    let r = ro
        .put("/infrastructures/whatever/stop")
        .auth(A)
        .send()
        .await;
    assert_eq!(
        r.triple(),
        (
            403,
            TEXT,
            "Error in stop operation: Function currently disabled."
        )
    );
}

#[tokio::test]
async fn a_read_only_boot_mode_keeps_existing_infrastructures_readable() {
    // 144 (reads, export with delete, owners)
    let inner = im_store::open("sqlite::memory:").await.expect("store");
    let app = app_on(inner.clone(), Settings::default(), ApiConfig::default()).await;
    let id = app.create(A, R1).await;
    drop(app);
    let settings = Settings {
        boot_mode: BootMode::ReadOnly,
        ..Settings::default()
    };
    let ro = app_on(inner, settings, ApiConfig::default()).await;
    assert_eq!(ro.state(A, &id).await, "configured");
    let r = ro
        .get(&format!("/infrastructures/{id}/data?delete=1"))
        .auth(A)
        .send()
        .await;
    assert_eq!(
        r.triple(),
        (
            400,
            TEXT,
            "Error Getting Inf. prop: Function currently disabled."
        )
    );
    let r = ro
        .post(&format!("/infrastructures/{id}/authorization"))
        .auth(A)
        .body(r#"{"username": "user2", "password": "pass2"}"#)
        .send()
        .await;
    assert_eq!(r.triple(), (200, TEXT, ""));
}

fn slow_store(
    inner: Arc<dyn im_core::Store>,
    delay: Duration,
    broken: bool,
) -> Arc<dyn im_core::Store> {
    Arc::new(Wrapped {
        inner,
        stats_delay: delay,
        broken,
    })
}

#[tokio::test]
async fn a_core_call_over_the_timeout_is_504_or_a_wrapped_400() {
    // 145
    let inner = im_store::open("sqlite::memory:").await.expect("store");
    let app = app_on(
        slow_store(inner, Duration::from_secs(3), false),
        Settings::default(),
        ApiConfig {
            blocking_call_timeout: Some(Duration::from_millis(300)),
            ..Default::default()
        },
    )
    .await;
    let r = app
        .get("/stats")
        .auth(A)
        .accept("application/json")
        .send()
        .await;
    assert_eq!(
        r.triple(),
        (
            504,
            JSON,
            "{\"message\":\"Operation timed out\",\"code\":504}"
        )
    );
}

#[tokio::test]
async fn calls_beyond_the_blocking_limit_wait_for_a_slot_within_the_timeout() {
    // 145: one slot, taken by a slow /stats; a list must wait and times out
    // (wrapped into a 400 on that route).
    let inner = im_store::open("sqlite::memory:").await.expect("store");
    let app = app_on(
        slow_store(inner, Duration::from_secs(2), false),
        Settings::default(),
        ApiConfig {
            max_blocking_calls: 1,
            blocking_call_timeout: Some(Duration::from_millis(500)),
            ..Default::default()
        },
    )
    .await;
    let slow = app.get("/stats").auth(A).send();
    let slow = tokio::spawn(slow);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let r = app.get("/infrastructures").auth(A).send().await;
    assert_eq!(
        r.triple(),
        (
            400,
            TEXT,
            "Error Getting Inf. List: 504: Operation timed out"
        )
    );
    assert_eq!(slow.await.expect("join").status, 504);
    // The slot is released when the slow call ends.
    tokio::time::sleep(Duration::from_millis(2000)).await;
    let r = app.get("/infrastructures").auth(A).send().await;
    assert_eq!(r.status, 200, "{}", r.body);
}

#[tokio::test]
async fn a_database_failure_is_503() {
    let inner = im_store::open("sqlite::memory:").await.expect("store");
    let app = app_on(
        slow_store(inner, Duration::ZERO, true),
        Settings::default(),
        ApiConfig::default(),
    )
    .await;
    let r = app.get("/stats").auth(A).send().await;
    assert_eq!(
        r.triple(),
        (
            503,
            TEXT,
            "Error getting stats: Database error: the disk is on fire"
        )
    );
}

/// The `im_infrastructures` gauges and their age, from a `/metrics` body.
fn gauges(body: &str) -> (f64, f64) {
    let value = |prefix: &str| -> f64 {
        body.lines()
            .filter(|l| l.starts_with(prefix))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum()
    };
    (
        value("im_infrastructures{"),
        value("im_state_gauges_age_seconds "),
    )
}

#[tokio::test]
async fn a_costly_count_of_the_store_serves_metrics_for_ten_times_its_length() {
    // Every read of the store takes 200 ms: the walk is costly, so its
    // counts serve the scrapes of the next 2 s, then the store is read again.
    let inner = im_store::open("sqlite::memory:").await.expect("store");
    let app = app_on(
        slow_store(inner, Duration::from_millis(200), false),
        Settings::default(),
        ApiConfig::default(),
    )
    .await;
    let scrape = || async { app.get("/metrics").send().await };
    let first = scrape().await;
    assert_eq!(first.status, 200, "{}", first.body);
    assert_eq!(gauges(&first.body), (0.0, 0.0), "{}", first.body);
    app.create(A, R1).await;
    let reused = scrape().await;
    let (count, age) = gauges(&reused.body);
    assert_eq!(count, 0.0, "reused counts: {}", reused.body);
    assert!(age > 0.0, "{}", reused.body);
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let fresh = scrape().await;
    assert_eq!(gauges(&fresh.body), (1.0, 0.0), "{}", fresh.body);
}
