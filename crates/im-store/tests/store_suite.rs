//! The shared `Store` suite: every backend must pass it. Today it runs on
//! SQLite (a file, and in memory).

#![allow(clippy::unwrap_used)] // a panic is the failure report

use std::sync::Arc;

use im_auth::ImUser;
use im_core::{Store, StoreError, StoredInf, StoredVm, VmChanges};
use serde_json::{Map, Value, json};

fn obj(v: Value) -> Map<String, Value> {
    v.as_object().cloned().unwrap()
}

fn inf(id: &str, created: i64, vms: usize) -> StoredInf {
    StoredInf {
        id: id.into(),
        version: 1,
        deleted: false,
        owners: vec![ImUser::new("user", Some("pass".into()))],
        created_at: created,
        data: obj(json!({"radl": "system a ()", "n": 0})),
        vms: (0..vms as i64)
            .map(|i| StoredVm {
                im_id: i,
                data: obj(json!({"im_id": i, "state": "running"})),
            })
            .collect(),
    }
}

async fn an_inserted_infrastructure_loads_back_whole(s: Arc<dyn Store>) {
    let a = inf("a", 10, 3);
    s.insert(&a).await.unwrap();
    assert_eq!(s.load("a").await.unwrap(), Some(a));
    assert_eq!(s.load("nope").await.unwrap(), None);
    assert!(matches!(
        s.insert(&inf("a", 11, 0)).await,
        Err(StoreError::Exists(_))
    ));
}

async fn updates_are_compare_and_set(s: Arc<dyn Store>) {
    let mut a = inf("b", 10, 2);
    s.insert(&a).await.unwrap();
    a.version = 2;
    a.data.insert("n".into(), json!(1));
    s.update(&a, VmChanges::None).await.unwrap();
    // A writer still holding version 1 loses.
    let mut stale = inf("b", 10, 2);
    stale.version = 2;
    assert!(matches!(
        s.update(&stale, VmChanges::None).await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(s.load("b").await.unwrap().unwrap().data["n"], json!(1));
}

async fn only_the_named_vm_rows_are_rewritten(s: Arc<dyn Store>) {
    let mut a = inf("c", 10, 3);
    s.insert(&a).await.unwrap();
    a.version = 2;
    for vm in &mut a.vms {
        vm.data.insert("state".into(), json!("stopped"));
    }
    s.update(&a, VmChanges::Some(&[1])).await.unwrap();
    let got = s.load("c").await.unwrap().unwrap();
    let states: Vec<&Value> = got.vms.iter().map(|v| &v.data["state"]).collect();
    assert_eq!(
        states,
        [&json!("running"), &json!("stopped"), &json!("running")]
    );
    a.version = 3;
    a.vms.truncate(1);
    s.update(&a, VmChanges::All).await.unwrap();
    assert_eq!(s.load("c").await.unwrap().unwrap().vms.len(), 1);
}

async fn deleted_rows_leave_the_index_but_stay_for_stats(s: Arc<dyn Store>) {
    s.insert(&inf("old", 1, 0)).await.unwrap();
    s.insert(&inf("new", 2, 0)).await.unwrap();
    let mut gone = inf("gone", 3, 1);
    s.insert(&gone).await.unwrap();
    gone.version = 2;
    gone.deleted = true;
    s.update(&gone, VmChanges::None).await.unwrap();
    let ids: Vec<String> = s
        .load_index()
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.id)
        .collect();
    assert_eq!(ids, ["new", "old"]);
    assert!(s.load("gone").await.unwrap().unwrap().deleted);
    assert_eq!(s.load_all().await.unwrap().len(), 3);
    s.ping().await.unwrap();
}

async fn concurrent_writers_lose_no_update(s: Arc<dyn Store>) {
    s.insert(&inf("d", 1, 0)).await.unwrap();
    let mut tasks = Vec::new();
    for _ in 0..16 {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            for _ in 0..5 {
                loop {
                    let mut cur = s.load("d").await.unwrap().unwrap();
                    let n = cur.data["n"].as_i64().unwrap();
                    cur.data.insert("n".into(), json!(n + 1));
                    cur.version += 1;
                    match s.update(&cur, VmChanges::None).await {
                        Ok(()) => break,
                        Err(StoreError::Conflict(_)) => continue,
                        Err(e) => panic!("{e}"),
                    }
                }
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    assert_eq!(s.load("d").await.unwrap().unwrap().data["n"], json!(80));
}

async fn run_suite(open: impl AsyncFn() -> Arc<dyn Store>) {
    an_inserted_infrastructure_loads_back_whole(open().await).await;
    updates_are_compare_and_set(open().await).await;
    only_the_named_vm_rows_are_rewritten(open().await).await;
    deleted_rows_leave_the_index_but_stay_for_stats(open().await).await;
    concurrent_writers_lose_no_update(open().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_suite_passes_on_a_sqlite_file() {
    let dir = tempfile::tempdir().unwrap();
    let n = std::sync::atomic::AtomicUsize::new(0);
    run_suite(async || {
        let i = n.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let url = format!("sqlite://{}/db{i}/im.db", dir.path().display());
        im_store::open(&url).await.unwrap()
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_suite_passes_on_an_in_memory_sqlite() {
    run_suite(async || im_store::open("sqlite::memory:").await.unwrap()).await;
}

#[tokio::test]
async fn a_reopened_file_keeps_everything() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sub/dir/inf.dat");
    let url = path.display().to_string();
    {
        let s = im_store::open(&url).await.unwrap();
        s.insert(&inf("kept", 5, 2)).await.unwrap();
    }
    let s = im_store::open(&url).await.unwrap();
    assert_eq!(s.load("kept").await.unwrap(), Some(inf("kept", 5, 2)));
}

#[tokio::test]
async fn other_databases_are_refused_clearly() {
    let err = match im_store::open("mysql://u:p@localhost/im").await {
        Err(e) => e.to_string(),
        Ok(_) => panic!("mysql is not supported yet"),
    };
    assert!(err.contains("only SQLite"), "{err}");
}
