//! Operations: `/metrics`, `/health` and secrets at rest, against the real
//! server (`im serve` on a loopback port) and real databases.
//!
//! The PostgreSQL case needs `IM_TEST_POSTGRES_URL` (as `scripts/test` sets
//! it) and `psql`; without them it says so and does nothing.

#![allow(clippy::unwrap_used)] // a panic is the failure report

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use common::{A, R1, Resp, Server, req};

/// A started server and the rest of its standard output, line by line.
struct Started {
    server: Server,
    lines: mpsc::Receiver<String>,
}

/// Starts `im serve` on `db` with extra environment variables; `Err` with
/// the exit status and standard error when it refuses to start.
fn start(
    dir: tempfile::TempDir,
    db: &str,
    env: &[(&str, &str)],
) -> Result<Started, (std::process::ExitStatus, String)> {
    let cfg = dir.path().join("im.cfg");
    std::fs::write(&cfg, "[im]\n").unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_im"));
    cmd.args(["serve", "--listen", "127.0.0.1:0", "--db", db, "--config"])
        .arg(&cfg)
        .env("RUST_LOG", "info")
        .env_remove("IM_DATA_DB_KEY")
        .env_remove("IM_DATA_DB_KEY_FILE")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    // The first line says where it listens; a refused start exits instead.
    for line in rx.iter() {
        if let Some(base) = line.strip_prefix("im listening on ") {
            let server = Server {
                child,
                base: base.trim().to_string(),
                dir,
            };
            return Ok(Started { server, lines: rx });
        }
    }
    let status = child.wait().unwrap();
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
    Err((status, err))
}

fn sqlite_url(dir: &tempfile::TempDir) -> String {
    format!("sqlite://{}/im.db", dir.path().display())
}

async fn create(base: &str, auth: &str) -> String {
    let r = req(
        base,
        "POST",
        "/infrastructures",
        &[
            ("Authorization", auth),
            ("Content-Type", "text/plain"),
            ("Accept", "application/json"),
        ],
        Some(R1),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let uri = r.json()["uri"].as_str().unwrap().to_string();
    uri.rsplit('/').next().unwrap().to_string()
}

async fn metrics(base: &str) -> String {
    let r = req(base, "GET", "/metrics", &[], None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(
        r.content_type.starts_with("text/plain"),
        "{}",
        r.content_type
    );
    r.body
}

/// The value of the sample `series` (name and labels exactly as written), 0
/// when absent.
fn sample(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .map_or(0.0, |v| v.trim().parse().unwrap())
}

/// The sum of every sample of a metric (all label sets).
fn total(text: &str, name: &str) -> f64 {
    text.lines()
        .filter(|l| l.starts_with(&format!("{name}{{")))
        .map(|l| l.rsplit(' ').next().unwrap().parse::<f64>().unwrap())
        .sum()
}

#[tokio::test]
async fn metric_counts_move_after_requests_by_route_template_and_status() {
    let dir = tempfile::tempdir().unwrap();
    let db = sqlite_url(&dir);
    let s = start(dir, &db, &[]).unwrap().server;
    let creates = r#"im_http_requests_total{route="/infrastructures",method="POST",status="200"}"#;
    let missing = r#"im_http_requests_total{route="/infrastructures/{infid}/{prop}",method="GET",status="404"}"#;
    let unmatched = r#"im_http_requests_total{route="unmatched",method="GET",status="404"}"#;
    let durations =
        r#"im_http_request_duration_seconds_count{route="/infrastructures",method="POST"}"#;

    let before = metrics(&s.base).await;
    assert_eq!(sample(&before, creates), 0.0);
    assert_eq!(total(&before, "im_infrastructures"), 0.0);
    assert_eq!(sample(&before, "im_database_up"), 1.0);

    let id = create(&s.base, A).await;
    create(&s.base, A).await;
    let r = req(
        &s.base,
        "GET",
        "/infrastructures/no-such-id/state",
        &[("Authorization", A)],
        None,
    )
    .await;
    assert_eq!(r.status, 404);
    assert_eq!(req(&s.base, "GET", "/nowhere", &[], None).await.status, 404);

    let after = metrics(&s.base).await;
    assert_eq!(sample(&after, creates), 2.0, "{after}");
    assert_eq!(sample(&after, missing), 1.0, "{after}");
    assert_eq!(sample(&after, unmatched), 1.0, "{after}");
    assert_eq!(sample(&after, durations), 2.0, "{after}");
    let inf_bucket = r#"im_http_request_duration_seconds_bucket{route="/infrastructures",method="POST",le="+Inf"}"#;
    assert_eq!(sample(&after, inf_bucket), 2.0, "{after}");
    // The scrape before this one is counted too.
    assert_eq!(
        sample(
            &after,
            r#"im_http_requests_total{route="/metrics",method="GET",status="200"}"#
        ),
        1.0
    );
    // Two live infrastructures of one VM each, in the state `GET …/state` gives.
    let state = req(
        &s.base,
        "GET",
        &format!("/infrastructures/{id}/state"),
        &[("Authorization", A), ("Accept", "application/json")],
        None,
    )
    .await
    .json()["state"]["state"]
        .as_str()
        .unwrap()
        .to_string();
    let now = metrics(&s.base).await;
    assert_eq!(total(&now, "im_infrastructures"), 2.0, "{now}");
    assert_eq!(
        sample(&now, &format!("im_infrastructures{{state=\"{state}\"}}")),
        2.0,
        "{now}"
    );
    assert_eq!(total(&now, "im_vms"), 2.0, "{now}");

    // A destroyed infrastructure leaves the gauges.
    let r = req(
        &s.base,
        "DELETE",
        &format!("/infrastructures/{id}"),
        &[("Authorization", A)],
        None,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let last = metrics(&s.base).await;
    assert_eq!(total(&last, "im_infrastructures"), 1.0, "{last}");
    assert_eq!(total(&last, "im_vms"), 1.0, "{last}");
}

#[tokio::test]
async fn health_and_metrics_are_in_the_openapi_document() {
    let dir = tempfile::tempdir().unwrap();
    let db = sqlite_url(&dir);
    let s = start(dir, &db, &[]).unwrap().server;
    let doc = req(&s.base, "GET", "/openapi.json", &[], None).await.json();
    assert!(doc["paths"]["/health"]["get"]["responses"]["503"].is_object());
    assert!(doc["paths"]["/metrics"]["get"]["responses"]["200"].is_object());
    let r = req(&s.base, "GET", "/health", &[], None).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["status"], "ok");
}

fn psql(admin_url: &str, sql: &str) -> std::process::Output {
    Command::new("psql")
        .args([admin_url, "-v", "ON_ERROR_STOP=1", "-qAt", "-c", sql])
        .output()
        .unwrap()
}

/// Renames the database away, ending its sessions first (a rename needs
/// none); retried while a session comes back in between.
fn rename_database(admin_url: &str, from: &str, to: &str) {
    let mut last = String::new();
    for _ in 0..20 {
        let out = psql(
            admin_url,
            &format!(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{from}'"
            ),
        );
        assert!(out.status.success(), "{out:?}");
        let out = psql(admin_url, &format!("ALTER DATABASE {from} RENAME TO {to}"));
        if out.status.success() {
            return;
        }
        last = String::from_utf8_lossy(&out.stderr).into_owned();
        std::thread::sleep(Duration::from_millis(200));
    }
    panic!("cannot rename {from}: {last}");
}

#[tokio::test]
async fn health_is_503_while_the_postgresql_database_is_gone_and_200_when_it_is_back() {
    let Ok(url) = std::env::var("IM_TEST_POSTGRES_URL") else {
        eprintln!("IM_TEST_POSTGRES_URL not set: PostgreSQL health case skipped");
        return;
    };
    // The server of the test URL, database `postgres` for the administration.
    let (server, _) = url.rsplit_once('/').unwrap();
    let admin = format!("{server}/postgres");
    let name = format!("im_ops_health_{}", std::process::id());
    let gone = format!("{name}_gone");
    psql(
        &admin,
        &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
    );
    psql(
        &admin,
        &format!("DROP DATABASE IF EXISTS {gone} WITH (FORCE)"),
    );
    let out = psql(&admin, &format!("CREATE DATABASE {name}"));
    assert!(out.status.success(), "{out:?}");

    let dir = tempfile::tempdir().unwrap();
    let s = start(dir, &format!("{server}/{name}"), &[]).unwrap().server;
    let id = create(&s.base, A).await;
    assert_eq!(req(&s.base, "GET", "/health", &[], None).await.status, 200);

    rename_database(&admin, &name, &gone);
    let r: Resp = req(&s.base, "GET", "/health", &[], None).await;
    assert_eq!(r.status, 503, "{}", r.body);
    assert_eq!(r.json()["status"], "unavailable");
    assert!(!r.json()["database"].as_str().unwrap().is_empty());
    let m = metrics(&s.base).await;
    assert_eq!(sample(&m, "im_database_up"), 0.0, "{m}");

    rename_database(&admin, &gone, &name);
    let r = req(&s.base, "GET", "/health", &[], None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let m = metrics(&s.base).await;
    assert_eq!(sample(&m, "im_database_up"), 1.0, "{m}");
    assert_eq!(total(&m, "im_infrastructures"), 1.0, "{m}");
    let r = req(
        &s.base,
        "GET",
        &format!("/infrastructures/{id}/state"),
        &[("Authorization", A)],
        None,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);

    drop(s);
    psql(
        &admin,
        &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
    );
}

/// The credentials of the secrets tests: distinctive strings to look for.
const SECRET_AUTH: &str = r"type = InfrastructureManager; username = opsuser-7Q2; password = opspass-Zr81x\nid = dummy; type = Dummy; username = cloudu; password = cloudpw-K4v9";
const KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
const OTHER_KEY: &str = "HwAeAB0AHAAbABoAGQAYABcAFgAVABQAEwASABEAEAA=";

/// Every byte of the SQLite files (main file, WAL, shared memory).
fn database_bytes(dir: &std::path::Path) -> Vec<u8> {
    let mut all = Vec::new();
    for f in std::fs::read_dir(dir).unwrap() {
        let p = f.unwrap().path();
        if p.file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("im.db")
        {
            all.extend(std::fs::read(&p).unwrap());
        }
    }
    all
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

#[tokio::test]
async fn with_a_key_the_database_holds_no_credential_and_everything_works_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let db = sqlite_url(&dir);
    let key = [("IM_DATA_DB_KEY", KEY)];
    let s = start(dir, &db, &key).unwrap().server;
    let id = create(&s.base, SECRET_AUTH).await;
    let other = create(&s.base, A).await;
    let (status, dir) = s.stop();
    assert!(status.success());

    let bytes = database_bytes(dir.path());
    assert!(!bytes.is_empty());
    for secret in ["opspass-Zr81x", "opsuser-7Q2", "cloudpw-K4v9"] {
        assert!(
            !contains(&bytes, secret),
            "{secret} is in the database file"
        );
    }
    // The same check catches credentials in clear: without a key they are there.
    let clear_dir = tempfile::tempdir().unwrap();
    let clear_db = sqlite_url(&clear_dir);
    let c = start(clear_dir, &clear_db, &[]).unwrap().server;
    create(&c.base, SECRET_AUTH).await;
    let (_, clear_dir) = c.stop();
    assert!(contains(&database_bytes(clear_dir.path()), "opspass-Zr81x"));

    // Restart with the key: listing, state, export and destroy work.
    let s = start(dir, &db, &key).unwrap().server;
    let list = req(
        &s.base,
        "GET",
        "/infrastructures",
        &[
            ("Authorization", SECRET_AUTH),
            ("Accept", "application/json"),
        ],
        None,
    )
    .await;
    assert_eq!(list.status, 200, "{}", list.body);
    assert!(
        list.body.contains(&id) && !list.body.contains(&other),
        "{}",
        list.body
    );
    let r = req(
        &s.base,
        "GET",
        &format!("/infrastructures/{id}/state"),
        &[("Authorization", SECRET_AUTH)],
        None,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    // Another user is refused: the owner check works on the decrypted owners.
    let r = req(
        &s.base,
        "GET",
        &format!("/infrastructures/{id}/state"),
        &[("Authorization", A)],
        None,
    )
    .await;
    assert_eq!(r.status, 403, "{}", r.body);
    // Export gives the owner the reference's document, credentials included.
    let r = req(
        &s.base,
        "GET",
        &format!("/infrastructures/{id}/data"),
        &[
            ("Authorization", SECRET_AUTH),
            ("Accept", "application/json"),
        ],
        None,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let data: serde_json::Value = serde_json::from_str(r.json()["data"].as_str().unwrap()).unwrap();
    assert_eq!(data["id"], id.as_str());
    assert_eq!(data["auth"][0]["username"], "opsuser-7Q2");
    assert_eq!(data["auth"][0]["password"], "opspass-Zr81x");
    let r = req(
        &s.base,
        "DELETE",
        &format!("/infrastructures/{id}"),
        &[("Authorization", SECRET_AUTH)],
        None,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let (_, dir) = s.stop();
    assert!(!contains(&database_bytes(dir.path()), "opspass-Zr81x"));
}

#[tokio::test]
async fn a_wrong_or_missing_key_stops_the_start_with_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let db = sqlite_url(&dir);
    let s = start(dir, &db, &[("IM_DATA_DB_KEY", KEY)]).unwrap().server;
    create(&s.base, SECRET_AUTH).await;
    let (_, dir) = s.stop();

    let Err((status, err)) = start(
        tempfile::tempdir().unwrap(),
        &db,
        &[("IM_DATA_DB_KEY", OTHER_KEY)],
    ) else {
        panic!("started with the wrong key");
    };
    assert_eq!(status.code(), Some(2));
    assert!(
        err.contains("not the key this database was encrypted with"),
        "{err}"
    );

    let Err((status, err)) = start(tempfile::tempdir().unwrap(), &db, &[]) else {
        panic!("started without the key");
    };
    assert_eq!(status.code(), Some(2));
    assert!(err.contains("encrypted"), "{err}");

    let Err((status, err)) = start(
        tempfile::tempdir().unwrap(),
        &db,
        &[("IM_DATA_DB_KEY", "c2hvcnQ=")],
    ) else {
        panic!("started with a short key");
    };
    assert_eq!(status.code(), Some(2));
    assert!(
        err.contains("IM_DATA_DB_KEY") && err.contains("32 bytes"),
        "{err}"
    );

    // The right key, from a file, still opens it.
    let key_file = dir.path().join("db.key");
    std::fs::write(&key_file, format!("{KEY}\n")).unwrap();
    let key_file = key_file.display().to_string();
    let s = start(dir, &db, &[("IM_DATA_DB_KEY_FILE", &key_file)])
        .unwrap()
        .server;
    let r = req(
        &s.base,
        "GET",
        "/infrastructures",
        &[
            ("Authorization", SECRET_AUTH),
            ("Accept", "application/json"),
        ],
        None,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["uri-list"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn a_database_in_clear_is_encrypted_at_the_first_start_with_a_key() {
    let dir = tempfile::tempdir().unwrap();
    let db = sqlite_url(&dir);
    let started = start(dir, &db, &[]).unwrap();
    // Without a key the server says at start that secrets are stored in clear.
    let warning = (0..5)
        .map_while(|_| started.lines.recv_timeout(Duration::from_secs(30)).ok())
        .find(|l| l.contains("stored in clear"));
    assert!(warning.is_some());
    let s = started.server;
    let id = create(&s.base, SECRET_AUTH).await;
    let (_, dir) = s.stop();
    assert!(contains(&database_bytes(dir.path()), "opspass-Zr81x"));

    let s = start(dir, &db, &[("IM_DATA_DB_KEY", KEY)]).unwrap().server;
    let r = req(
        &s.base,
        "GET",
        &format!("/infrastructures/{id}/state"),
        &[("Authorization", SECRET_AUTH)],
        None,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let (_, dir) = s.stop();
    // SQLite keeps freed pages: vacuum before looking at the bytes.
    let out = Command::new("sqlite3")
        .arg(dir.path().join("im.db"))
        .arg("VACUUM")
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let bytes = database_bytes(dir.path());
    assert!(!contains(&bytes, "opspass-Zr81x"));
    assert!(!contains(&bytes, "opsuser-7Q2"));
}

#[tokio::test]
async fn lease_ownership_is_reported_per_instance_from_the_lease_table() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("im.db");
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let (live, dead) = (now_ms + 3_600_000, now_ms - 3_600_000);
    // The lease table as the servers sharing a database keep it (schema 3).
    let sql = format!(
        "CREATE TABLE inf_leases (inf_id TEXT PRIMARY KEY, owner TEXT NOT NULL, \
         lease_until INTEGER NOT NULL, work INTEGER NOT NULL);
         INSERT INTO inf_leases VALUES ('x1', 'i-a', {live}, 1), ('x2', 'i-a', {live}, 0), \
         ('x3', 'i-b', {dead}, 1), ('x4', '', {live}, 0), ('x5', 'i-c', {live}, 0);"
    );
    let out = Command::new("sqlite3")
        .arg(&file)
        .arg(sql)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let db = sqlite_url(&dir);
    let s = start(dir, &db, &[]).unwrap().server;
    let m = metrics(&s.base).await;
    assert_eq!(sample(&m, r#"im_leases_held{instance="i-a"}"#), 2.0, "{m}");
    assert_eq!(
        sample(&m, r#"im_leases_open_work{instance="i-a"}"#),
        1.0,
        "{m}"
    );
    assert_eq!(sample(&m, r#"im_leases_held{instance="i-c"}"#), 1.0, "{m}");
    assert_eq!(
        sample(&m, r#"im_leases_open_work{instance="i-c"}"#),
        0.0,
        "{m}"
    );
    // An expired lease and a released one belong to nobody.
    assert!(!m.contains("i-b"), "{m}");
    assert_eq!(total(&m, "im_leases_held"), 3.0, "{m}");
}
