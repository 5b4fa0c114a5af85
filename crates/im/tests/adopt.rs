//! Adopting a database of the Python IM 2.0: infrastructures created by the
//! reference's own code (`tests/adopt/reference_infrastructures.py`, run with
//! the peer's Python) in its SQLite `inf_list` table are listed, read and
//! managed by our server started on the same file, and `inf_list` is left as
//! it was (a rollback to the Python IM stays possible).
//!
//! The same on MySQL/MariaDB when `IM_TEST_MYSQL_URL` names a server and the
//! peer's Python can import `pymysql` (the reference's MySQL driver; not in
//! the peer's venv: `pip install --target DIR pymysql` and name DIR in
//! `IM_PEER_PYTHONPATH`). A database `<name>_adopt_<pid>` is made for it.
//!
//! Needs the peer's venv (`$PEER_DIR/venv`, default `/var/tmp/im-peer`, made
//! by `../shared/peer/setup.sh`); without it a case says so and does
//! nothing.

#![allow(clippy::unwrap_used)] // a panic is the failure report

mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use common::{A, Server, req};
use serde_json::Value;

/// The credentials the reference script used.
const REF_AUTH: &str = r"type = InfrastructureManager; username = refuser; password = refpass\nid = dummy; type = Dummy";

const ONE_MORE: &str = "network publica (outbound = 'yes')\nsystem front (cpu.count>=1 and memory.size>=512m and net_interface.0.connection = 'publica' and disk.0.os.name = 'linux' and disk.0.image.url = 'mock0://linux.for.ev.er')\ndeploy front 1";

/// The peer's Python, when it can import `module` (with `IM_PEER_PYTHONPATH`).
fn peer_python(module: &str) -> Option<PathBuf> {
    let dir = std::env::var("PEER_DIR").unwrap_or_else(|_| "/var/tmp/im-peer".into());
    let py = Path::new(&dir).join("venv/bin/python");
    let ok = python(&py)
        .args(["-c", &format!("import {module}")])
        .output()
        .is_ok_and(|o| o.status.success());
    ok.then_some(py)
}

/// A command running the peer's Python with `IM_PEER_PYTHONPATH`.
fn python(py: &Path) -> Command {
    let mut c = Command::new(py);
    if let Ok(p) = std::env::var("IM_PEER_PYTHONPATH") {
        c.env("PYTHONPATH", p);
    }
    c
}

/// Runs the reference script on `db`: {"running": [id, state], "stopped":
/// [id, state], "destroyed": [id, null]}.
fn reference_infrastructures(py: &Path, db: &str, cwd: &Path) -> Value {
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/adopt/reference_infrastructures.py"
    );
    let out = python(py)
        .arg(script)
        .arg(db)
        .current_dir(cwd)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let last = stdout.lines().last().unwrap_or_default();
    serde_json::from_str(last)
        .unwrap_or_else(|e| panic!("{e}: {stdout}\n{}", String::from_utf8_lossy(&out.stderr)))
}

/// The rows of `inf_list`, as the reference's own database layer reads them.
fn inf_list_rows(py: &Path, db: &str) -> String {
    let out = python(py)
        .args([
            "-c",
            "import json, sys\nfrom IM.db import DataBase\nd = DataBase(sys.argv[1])\nassert d.connect()\n\
             print(json.dumps(d.select('SELECT id, deleted, date, data, auth FROM inf_list ORDER BY id'), default=str))",
        ])
        .arg(db)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    String::from_utf8(out.stdout).unwrap()
}

fn start_on(db: &str) -> Server {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("im.cfg");
    std::fs::write(&cfg, "[im]\n").unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_im"))
        .args(["serve", "--listen", "127.0.0.1:0", "--config"])
        .arg(&cfg)
        .arg("--db")
        .arg(db)
        .env("RUST_LOG", "warn")
        .env_remove("IM_DATA_DB_KEY")
        .env_remove("IM_DATA_DB_KEY_FILE")
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

async fn get_json(base: &str, path: &str, auth: &str) -> (u16, Value) {
    let r = req(
        base,
        "GET",
        path,
        &[("Authorization", auth), ("Accept", "application/json")],
        None,
    )
    .await;
    let v = serde_json::from_str(&r.body).unwrap_or(Value::Null);
    (r.status, v)
}

fn uris(v: &Value) -> Vec<String> {
    v["uri-list"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["uri"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn infrastructures_of_the_python_im_are_managed_on_its_sqlite_database_which_stays_as_it_was()
{
    let Some(py) = peer_python("IM.InfrastructureManager") else {
        eprintln!("the peer's Python IM is not installed: adoption case skipped");
        return;
    };
    let data = tempfile::tempdir().unwrap();
    let db = data.path().join("inf.dat").display().to_string();
    adoption_case(&py, &db, &db, data.path()).await;
}

#[tokio::test]
async fn infrastructures_of_the_python_im_are_managed_on_its_mysql_database_which_stays_as_it_was()
{
    let Ok(url) = std::env::var("IM_TEST_MYSQL_URL") else {
        eprintln!("IM_TEST_MYSQL_URL not set: MySQL adoption case skipped");
        return;
    };
    let Some(py) = peer_python("IM.InfrastructureManager, pymysql") else {
        eprintln!("the peer's Python cannot import pymysql (IM_PEER_PYTHONPATH): case skipped");
        return;
    };
    let (server, name) = url.rsplit_once('/').unwrap();
    let name = format!("{name}_adopt_{}", std::process::id());
    let admin = |sql: &str| {
        let out = python(&py)
            .args([
                "-c",
                "import sys, pymysql\nfrom urllib.parse import urlparse\nu = urlparse(sys.argv[1])\n\
                 c = pymysql.connect(host=u.hostname, port=u.port or 3306, user=u.username, password=u.password or '')\n\
                 c.cursor().execute(sys.argv[2])",
            ])
            .arg(&url)
            .arg(sql)
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
    };
    admin(&format!("DROP DATABASE IF EXISTS {name}"));
    admin(&format!("CREATE DATABASE {name}"));
    let db = format!("{server}/{name}");
    let cwd = tempfile::tempdir().unwrap();
    adoption_case(&py, &db, &db, cwd.path()).await;
    admin(&format!("DROP DATABASE IF EXISTS {name}"));
}

/// The Python IM makes three infrastructures in `ref_db`; ours, started on
/// `our_db` (the same database), manages them; `inf_list` stays as it was.
async fn adoption_case(py: &Path, ref_db: &str, our_db: &str, cwd: &Path) {
    let made = reference_infrastructures(py, ref_db, cwd);
    let running = made["running"][0].as_str().unwrap().to_string();
    let stopped = made["stopped"][0].as_str().unwrap().to_string();
    let destroyed = made["destroyed"][0].as_str().unwrap().to_string();
    let rows_before = inf_list_rows(py, ref_db);

    let s = start_on(our_db);
    // Listed newest first, as the reference lists them; the destroyed one not.
    let (status, list) = get_json(&s.base, "/infrastructures", REF_AUTH).await;
    assert_eq!(status, 200, "{list}");
    let ids: Vec<String> = uris(&list)
        .iter()
        .map(|u| u.rsplit('/').next().unwrap().to_string())
        .collect();
    assert_eq!(ids, [stopped.clone(), running.clone()]);
    // Another user sees none of them.
    let (_, other) = get_json(&s.base, "/infrastructures", A).await;
    assert!(uris(&other).is_empty(), "{other}");

    // States and VM ids as the Python IM left them.
    for (id, want) in [
        (&running, &made["running"][1]),
        (&stopped, &made["stopped"][1]),
    ] {
        let (status, st) =
            get_json(&s.base, &format!("/infrastructures/{id}/state"), REF_AUTH).await;
        assert_eq!(status, 200, "{st}");
        assert_eq!(&st["state"], want, "{id}");
    }
    let (status, info) = get_json(&s.base, &format!("/infrastructures/{running}"), REF_AUTH).await;
    assert_eq!(status, 200, "{info}");
    let vms = uris(&info);
    assert_eq!(vms.len(), 2);
    assert!(
        vms[0].ends_with("/vms/0") && vms[1].ends_with("/vms/1"),
        "{vms:?}"
    );
    let (status, _) = get_json(
        &s.base,
        &format!("/infrastructures/{destroyed}/state"),
        REF_AUTH,
    )
    .await;
    assert_eq!(status, 404);

    // Managed: a VM added takes the next IM id, a start, a destroy.
    let r = req(
        &s.base,
        "POST",
        &format!("/infrastructures/{running}"),
        &[
            ("Authorization", REF_AUTH),
            ("Content-Type", "text/plain"),
            ("Accept", "application/json"),
        ],
        Some(ONE_MORE),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let added = uris(&r.json());
    assert_eq!(added.len(), 1);
    assert!(added[0].ends_with("/vms/2"), "{added:?}");
    let r = req(
        &s.base,
        "PUT",
        &format!("/infrastructures/{stopped}/start"),
        &[("Authorization", REF_AUTH)],
        None,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = req(
        &s.base,
        "DELETE",
        &format!("/infrastructures/{running}"),
        &[("Authorization", REF_AUTH)],
        None,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let (status, _) = get_json(
        &s.base,
        &format!("/infrastructures/{running}/state"),
        REF_AUTH,
    )
    .await;
    assert_eq!(status, 404);
    let (status, _) = s.stop();
    assert!(status.success());

    // inf_list untouched: the Python IM could take the database back.
    assert_eq!(inf_list_rows(py, ref_db), rows_before);

    // A restart does not adopt again what is ours: the destroy stays.
    let s = start_on(our_db);
    let (_, list) = get_json(&s.base, "/infrastructures", REF_AUTH).await;
    let ids: Vec<String> = uris(&list)
        .iter()
        .map(|u| u.rsplit('/').next().unwrap().to_string())
        .collect();
    assert_eq!(ids, [stopped]);
    let (status, _) = get_json(
        &s.base,
        &format!("/infrastructures/{running}/state"),
        REF_AUTH,
    )
    .await;
    assert_eq!(status, 404);
}
