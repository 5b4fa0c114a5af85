//! Rough timings, printed and not asserted; run by hand:
//! `cargo test -p im-store --test timing -- --ignored --nocapture`
//! (add `--release` for production-like figures).

#![allow(clippy::unwrap_used)] // a panic is the failure report

#[allow(unused_macros)]
mod suite;

use std::time::{Duration, Instant};

use im_core::{Store, StoredInf, StoredVm, VmChanges};
use im_store::{Durability, OpenOptions, SqlStore, owner_key};
use serde_json::json;
use sqlx::sqlite::{SqliteConnectOptions, SqlitePool};

const ROWS: usize = 100_000;
const HEAVY: usize = 10_000;

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// An infrastructure of realistic size: a 5 KB RADL and 3 VMs of 5 KB each.
fn realistic(id: &str) -> StoredInf {
    let radl = "network public (outbound = 'yes')\nsystem front (cpu.count >= 2)\n".repeat(80);
    let mut inf = suite::inf(id, 1_700_000_000, 0);
    inf.data.insert("radl".into(), json!(radl));
    inf.vms = (0..3)
        .map(|i| StoredVm {
            im_id: i,
            data: suite::obj(json!({"im_id": i, "state": "running", "info": radl})),
        })
        .collect();
    inf
}

/// Fills a fresh store file with `ROWS` infrastructures behind its back, in one
/// transaction: 100 users, one of whom (`heavy`) owns `HEAVY` of them.
async fn fill(path: &std::path::Path) {
    SqlStore::open(&path.display().to_string())
        .await
        .unwrap()
        .close()
        .await;
    let pool = SqlitePool::connect_with(SqliteConnectOptions::new().filename(path))
        .await
        .unwrap();
    let mut tx = pool.begin().await.unwrap();
    for i in 0..ROWS {
        let user = if i % (ROWS / HEAVY) == 0 {
            "heavy".to_string()
        } else {
            format!("user{}", i % 99)
        };
        let owners = serde_json::to_string(&[suite::user(&user)]).unwrap();
        let id = format!("{i:08}-0000-11ee-8000-0242ac120002");
        sqlx::query(
            "INSERT INTO infrastructures (id, version, deleted, created_at, updated_at, owners, data)
             VALUES (?, 1, ?, ?, ?, ?, '{\"radl\":\"system front ()\"}')",
        )
        .bind(&id)
        .bind(i64::from(i % 50 == 49))
        .bind(1_700_000_000 + i as i64)
        .bind(1_700_000_000 + i as i64)
        .bind(owners)
        .execute(&mut *tx)
        .await
        .unwrap();
        sqlx::query("INSERT INTO inf_owners (owner_key, inf_id) VALUES (?, ?)")
            .bind(owner_key(&user))
            .bind(&id)
            .execute(&mut *tx)
            .await
            .unwrap();
    }
    tx.commit().await.unwrap();
    pool.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "timing run, by hand"]
async fn timings_are_printed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.db");
    let t = Instant::now();
    fill(&path).await;
    println!("fill {ROWS} rows (one transaction): {:?}", t.elapsed());

    let t = Instant::now();
    let s = SqlStore::open(&path.display().to_string()).await.unwrap();
    println!("open + migrate check: {:?}", t.elapsed());
    let mut times = Vec::new();
    let mut n = 0;
    for _ in 0..5 {
        let t = Instant::now();
        n = s.load_index().await.unwrap().len();
        times.push(t.elapsed());
    }
    let first = times[0];
    println!(
        "load_index ({n} live rows): first {first:?}, median of 5 {:?}",
        median(times)
    );
    let mut times = Vec::new();
    for _ in 0..20 {
        let t = Instant::now();
        n = s.list_owned("heavy").await.unwrap().len();
        times.push(t.elapsed());
    }
    println!(
        "list_owned (one user, {n} rows): median of 20 {:?}",
        median(times)
    );
    s.close().await;

    for durability in [Durability::Full, Durability::Normal] {
        let opts = OpenOptions {
            durability,
            ..OpenOptions::default()
        };
        let s = SqlStore::open_with(&path.display().to_string(), &opts)
            .await
            .unwrap();
        let (mut ins, mut upd, mut upd_all, mut load) = (vec![], vec![], vec![], vec![]);
        for i in 0..50 {
            let mut inf = realistic(&format!("{durability:?}-{i}"));
            let t = Instant::now();
            s.insert(&inf).await.unwrap();
            ins.push(t.elapsed());
            inf.version = 2;
            inf.vms[1].data.insert("state".into(), json!("stopped"));
            let t = Instant::now();
            s.update(&inf, VmChanges::Some(&[1])).await.unwrap();
            upd.push(t.elapsed());
            inf.version = 3;
            inf.vms[2].data.insert("state".into(), json!("stopped"));
            let t = Instant::now();
            s.update(&inf, VmChanges::All).await.unwrap();
            upd_all.push(t.elapsed());
            let t = Instant::now();
            s.load(&inf.id).await.unwrap().unwrap();
            load.push(t.elapsed());
        }
        println!(
            "{durability:?}: insert {:?}, update (1 VM) {:?}, update (All, 1 changed) {:?}, load {:?} (medians of 50, 3 VMs, ~20 KB)",
            median(ins),
            median(upd),
            median(upd_all),
            median(load)
        );
        s.close().await;
    }
}

/// The same single-write figures on a server named by `IM_TEST_POSTGRES_URL`
/// or `IM_TEST_MYSQL_URL`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "timing run, by hand"]
async fn server_timings_are_printed() {
    for var in ["IM_TEST_POSTGRES_URL", "IM_TEST_MYSQL_URL"] {
        let Ok(url) = std::env::var(var) else {
            continue;
        };
        let s = im_store::open(&url).await.unwrap();
        let ns = suite::Ns::new();
        let (mut ins, mut upd, mut load) = (vec![], vec![], vec![]);
        for i in 0..50 {
            let mut inf = realistic(&ns.id(&i.to_string()));
            let t = Instant::now();
            s.insert(&inf).await.unwrap();
            ins.push(t.elapsed());
            inf.version = 2;
            inf.vms[1].data.insert("state".into(), json!("stopped"));
            let t = Instant::now();
            s.update(&inf, VmChanges::Some(&[1])).await.unwrap();
            upd.push(t.elapsed());
            let t = Instant::now();
            s.load(&inf.id).await.unwrap().unwrap();
            load.push(t.elapsed());
        }
        println!(
            "{var}: insert {:?}, update (1 VM) {:?}, load {:?} (medians of 50)",
            median(ins),
            median(upd),
            median(load)
        );
    }
}
