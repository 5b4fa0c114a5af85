//! Adopting a database of the Python IM 2.0: infrastructures created by the
//! reference's own code (`tests/adopt/reference_infrastructures.py`, run with
//! the peer's Python) in its SQLite `inf_list` table are listed, read and
//! managed by our server started on the same file, and `inf_list` is left as
//! it was (a rollback to the Python IM stays possible).
//!
//! Needs the peer's venv (`$PEER_DIR/venv`, default `/var/tmp/im-peer`, made
//! by `../shared/peer/setup.sh`); without it the case says so and does
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

/// The peer's Python, when it has the IM installed.
fn peer_python() -> Option<PathBuf> {
    let dir = std::env::var("PEER_DIR").unwrap_or_else(|_| "/var/tmp/im-peer".into());
    let py = Path::new(&dir).join("venv/bin/python");
    let ok = Command::new(&py)
        .args(["-c", "import IM.InfrastructureManager"])
        .output()
        .is_ok_and(|o| o.status.success());
    ok.then_some(py)
}

/// Runs the reference script on `db`: {"running": [id, state], "stopped":
/// [id, state], "destroyed": [id, null]}.
fn reference_infrastructures(py: &Path, db: &Path) -> Value {
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/adopt/reference_infrastructures.py"
    );
    let out = Command::new(py)
        .arg(script)
        .arg(db)
        .current_dir(db.parent().unwrap())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let last = stdout.lines().last().unwrap_or_default();
    serde_json::from_str(last)
        .unwrap_or_else(|e| panic!("{e}: {stdout}\n{}", String::from_utf8_lossy(&out.stderr)))
}

/// The rows of `inf_list`, as the reference's sqlite3 module reads them.
fn inf_list_rows(py: &Path, db: &Path) -> String {
    let out = Command::new(py)
        .args([
            "-c",
            "import sqlite3, json, sys; c = sqlite3.connect(sys.argv[1]); \
             print(json.dumps(list(c.execute('SELECT id, deleted, date, data, auth FROM inf_list ORDER BY rowid'))))",
        ])
        .arg(db)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    String::from_utf8(out.stdout).unwrap()
}

fn start_on(db: &Path) -> Server {
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
async fn infrastructures_of_the_python_im_are_managed_on_its_database_which_stays_as_it_was() {
    let Some(py) = peer_python() else {
        eprintln!("the peer's Python IM is not installed: adoption case skipped");
        return;
    };
    let data = tempfile::tempdir().unwrap();
    let db = data.path().join("inf.dat");
    let made = reference_infrastructures(&py, &db);
    let running = made["running"][0].as_str().unwrap().to_string();
    let stopped = made["stopped"][0].as_str().unwrap().to_string();
    let destroyed = made["destroyed"][0].as_str().unwrap().to_string();
    let rows_before = inf_list_rows(&py, &db);

    let s = start_on(&db);
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
    assert_eq!(inf_list_rows(&py, &db), rows_before);

    // A restart does not adopt again what is ours: the destroy stays.
    let s = start_on(&db);
    let (_, list) = get_json(&s.base, "/infrastructures", REF_AUTH).await;
    let ids: Vec<String> = uris(&list)
        .iter()
        .map(|u| u.rsplit('/').next().unwrap().to_string())
        .collect();
    assert_eq!(ids, [stopped.clone()]);
    let (status, _) = get_json(
        &s.base,
        &format!("/infrastructures/{running}/state"),
        REF_AUTH,
    )
    .await;
    assert_eq!(status, 404);
}
