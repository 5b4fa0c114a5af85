//! The shared `Store` suite: every backend must pass it.
//!
//! Each case is a generic async function over `Arc<dyn Store>` and uses ids
//! unique to its run, so the suite also runs on a shared server database
//! (PostgreSQL, MariaDB) that already holds other rows.

#![allow(dead_code, clippy::unwrap_used)] // shared by several test binaries; a panic is the report

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use im_auth::ImUser;
use im_core::{Store, StoreError, StoredInf, StoredVm, VmChanges};
use serde_json::{Map, Value, json};

/// Ids unique to one case of one run.
pub struct Ns(String);

impl Ns {
    pub fn new() -> Ns {
        static N: AtomicU64 = AtomicU64::new(0);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        Ns(format!(
            "t{:x}-{}-{}",
            nanos,
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        ))
    }

    pub fn id(&self, name: &str) -> String {
        format!("{}-{name}", self.0)
    }

    pub fn owns(&self, id: &str) -> bool {
        id.starts_with(&self.0)
    }
}

pub fn obj(v: Value) -> Map<String, Value> {
    v.as_object().cloned().unwrap()
}

pub fn vm(im_id: i64, state: &str) -> StoredVm {
    StoredVm {
        im_id,
        data: obj(json!({"id": format!("cloud-{im_id}"), "im_id": im_id, "state": state})),
    }
}

pub fn user(name: &str) -> ImUser {
    ImUser::new(name, Some(format!("{name}-pass")))
}

/// A version-1 infrastructure with `vms` running VMs (IM ids 0..vms).
pub fn inf(id: &str, created_at: i64, vms: i64) -> StoredInf {
    StoredInf {
        id: id.into(),
        version: 1,
        deleted: false,
        owners: vec![user("alice")],
        created_at,
        // Keys out of alphabetical order: their order must survive.
        data: obj(json!({"radl": "system front ()", "n": 0, "extra_info": {}, "cont_out": ""})),
        vms: (0..vms).map(|i| vm(i, "running")).collect(),
    }
}

/// The ids [`Store::list_owned`] answers for `username`, in its order.
pub async fn owned_ids<S: Store + ?Sized>(s: &S, username: &str) -> Vec<String> {
    s.list_owned(username)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.id)
        .collect()
}

async fn index_ids(s: &Arc<dyn Store>, ns: &Ns) -> Vec<String> {
    s.load_index()
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.id)
        .filter(|id| ns.owns(id))
        .collect()
}

pub async fn an_inserted_infrastructure_loads_back_whole(s: Arc<dyn Store>) {
    let ns = Ns::new();
    let mut a = inf(&ns.id("a"), 1_700_000_000, 0);
    a.owners = vec![
        user("alice"),
        ImUser {
            username: "__OPENID__bob".into(),
            password: Some("https://issuer/sub".into()),
            token: Some("eyJ.token".into()),
            admin: true,
        },
        ImUser::new("nopass", None),
    ];
    a.data.insert(
        "nested".into(),
        json!({"z": [1, 2.5, null, true], "a": "ünïcode ✓", "q": "it's \"quoted\""}),
    );
    // IM ids with gaps (destroyed VMs are kept, removed ones are not).
    a.vms = vec![vm(0, "running"), vm(2, "stopped"), vm(7, "off")];
    s.insert(&a).await.unwrap();
    let got = s.load(&a.id).await.unwrap().unwrap();
    assert_eq!(got, a);
    let keys: Vec<&String> = got.data.keys().collect();
    assert_eq!(keys, ["radl", "n", "extra_info", "cont_out", "nested"]);
    assert_eq!(s.load(&ns.id("missing")).await.unwrap(), None);
}

pub async fn a_large_infrastructure_round_trips(s: Arc<dyn Store>) {
    let ns = Ns::new();
    let mut a = inf(&ns.id("big"), 5, 0);
    // Over 64 KiB (MySQL's TEXT) per column.
    let radl = "system node (\n  memory.size >= 1g and\n  disk.0.image.url = 'one://x/1'\n)\n"
        .repeat(2_000);
    a.data.insert("radl".into(), json!(radl));
    a.vms = (0..20)
        .map(|i| StoredVm {
            im_id: i,
            data: obj(json!({"im_id": i, "info": radl.clone()})),
        })
        .collect();
    s.insert(&a).await.unwrap();
    assert_eq!(s.load(&a.id).await.unwrap().unwrap(), a);
}

pub async fn a_duplicate_insert_is_refused_and_changes_nothing(s: Arc<dyn Store>) {
    let ns = Ns::new();
    let a = inf(&ns.id("dup"), 10, 2);
    s.insert(&a).await.unwrap();
    let mut other = inf(&a.id, 11, 5);
    other.owners = vec![user("mallory")];
    match s.insert(&other).await {
        Err(StoreError::Exists(id)) => assert_eq!(id, a.id),
        r => panic!("expected Exists, got {r:?}"),
    }
    assert_eq!(s.load(&a.id).await.unwrap().unwrap(), a);
}

pub async fn an_update_needs_the_next_version_and_a_stale_one_conflicts(s: Arc<dyn Store>) {
    let ns = Ns::new();
    let mut a = inf(&ns.id("cas"), 10, 1);
    s.insert(&a).await.unwrap();
    a.version = 2;
    a.data.insert("n".into(), json!(1));
    s.update(&a, VmChanges::None).await.unwrap();
    // A writer that loaded version 1 writes version 2 too: it lost.
    let mut stale = inf(&a.id, 10, 1);
    stale.version = 2;
    stale.data.insert("n".into(), json!(99));
    match s.update(&stale, VmChanges::All).await {
        Err(StoreError::Conflict(id)) => assert_eq!(id, a.id),
        r => panic!("expected Conflict, got {r:?}"),
    }
    // Skipping a version conflicts too.
    a.version = 4;
    assert!(matches!(
        s.update(&a, VmChanges::None).await,
        Err(StoreError::Conflict(_))
    ));
    // An unknown id conflicts (there is no version to follow).
    let mut ghost = inf(&ns.id("ghost"), 1, 0);
    ghost.version = 2;
    assert!(matches!(
        s.update(&ghost, VmChanges::None).await,
        Err(StoreError::Conflict(_))
    ));
    let got = s.load(&a.id).await.unwrap().unwrap();
    assert_eq!(got.version, 2);
    assert_eq!(got.data["n"], json!(1));
}

pub async fn naming_some_vms_rewrites_only_those_rows(s: Arc<dyn Store>) {
    let ns = Ns::new();
    let mut a = inf(&ns.id("some"), 10, 3);
    s.insert(&a).await.unwrap();
    a.version = 2;
    for v in &mut a.vms {
        v.data.insert("state".into(), json!("stopped"));
    }
    a.vms.push(vm(3, "pending"));
    s.update(&a, VmChanges::Some(&[1, 3])).await.unwrap();
    let got = s.load(&a.id).await.unwrap().unwrap();
    let states: Vec<(i64, &Value)> = got
        .vms
        .iter()
        .map(|v| (v.im_id, &v.data["state"]))
        .collect();
    assert_eq!(
        states,
        [
            (0, &json!("running")),
            (1, &json!("stopped")),
            (2, &json!("running")),
            (3, &json!("pending"))
        ]
    );
    // A named VM that the infrastructure no longer has loses its row.
    a.version = 3;
    a.vms.retain(|v| v.im_id != 2);
    s.update(&a, VmChanges::Some(&[2])).await.unwrap();
    let ids: Vec<i64> = s
        .load(&a.id)
        .await
        .unwrap()
        .unwrap()
        .vms
        .iter()
        .map(|v| v.im_id)
        .collect();
    assert_eq!(ids, [0, 1, 3]);
}

pub async fn no_vm_changes_leave_the_vm_rows_alone(s: Arc<dyn Store>) {
    let ns = Ns::new();
    let mut a = inf(&ns.id("none"), 10, 2);
    s.insert(&a).await.unwrap();
    a.version = 2;
    a.vms.clear();
    a.data.insert("n".into(), json!(5));
    s.update(&a, VmChanges::None).await.unwrap();
    let got = s.load(&a.id).await.unwrap().unwrap();
    assert_eq!(got.data["n"], json!(5));
    assert_eq!(got.vms, inf(&a.id, 10, 2).vms);
}

pub async fn rewriting_all_vms_removes_the_missing_ones(s: Arc<dyn Store>) {
    let ns = Ns::new();
    let mut a = inf(&ns.id("all"), 10, 4);
    s.insert(&a).await.unwrap();
    a.version = 2;
    a.vms.retain(|v| v.im_id == 0 || v.im_id == 3);
    a.vms[1].data.insert("state".into(), json!("off"));
    a.vms.push(vm(4, "pending"));
    s.update(&a, VmChanges::All).await.unwrap();
    assert_eq!(s.load(&a.id).await.unwrap().unwrap(), a);
    a.version = 3;
    a.vms.clear();
    s.update(&a, VmChanges::All).await.unwrap();
    assert_eq!(s.load(&a.id).await.unwrap().unwrap().vms, []);
}

pub async fn changed_owners_are_stored(s: Arc<dyn Store>) {
    let ns = Ns::new();
    let mut a = inf(&ns.id("owners"), 10, 0);
    s.insert(&a).await.unwrap();
    a.version = 2;
    a.owners = vec![user("carol"), user("dave")];
    s.update(&a, VmChanges::None).await.unwrap();
    assert_eq!(s.load(&a.id).await.unwrap().unwrap().owners, a.owners);
    let entry = s
        .load_index()
        .await
        .unwrap()
        .into_iter()
        .find(|e| e.id == a.id)
        .unwrap();
    assert_eq!(entry.owners, a.owners);
    assert_eq!(entry.created_at, 10);
}

pub async fn deleted_infrastructures_leave_the_index_but_stay_loadable(s: Arc<dyn Store>) {
    let ns = Ns::new();
    s.insert(&inf(&ns.id("old"), 1, 0)).await.unwrap();
    s.insert(&inf(&ns.id("new"), 2, 0)).await.unwrap();
    let mut gone = inf(&ns.id("gone"), 3, 1);
    s.insert(&gone).await.unwrap();
    gone.version = 2;
    gone.deleted = true;
    s.update(&gone, VmChanges::None).await.unwrap();
    assert_eq!(index_ids(&s, &ns).await, [ns.id("new"), ns.id("old")]);
    let loaded = s.load(&gone.id).await.unwrap().unwrap();
    assert!(loaded.deleted);
    assert_eq!(loaded.vms.len(), 1);
    let all: Vec<StoredInf> = s
        .load_all()
        .await
        .unwrap()
        .into_iter()
        .filter(|i| ns.owns(&i.id))
        .collect();
    let ids: Vec<&str> = all.iter().map(|i| i.id.as_str()).collect();
    assert_eq!(ids, [ns.id("gone"), ns.id("new"), ns.id("old")]);
    assert_eq!(all[0], gone);
}

pub async fn pages_walk_the_infrastructures_in_id_order_with_their_vms(s: Arc<dyn Store>) {
    let ns = Ns::new();
    // Names out of order, VM counts that differ, and one deleted.
    for (name, vms) in [("e", 2), ("a", 1), ("d", 0), ("b", 3), ("c", 1)] {
        s.insert(&inf(&ns.id(name), 10, vms)).await.unwrap();
    }
    let mut gone = inf(&ns.id("bb"), 10, 1);
    s.insert(&gone).await.unwrap();
    gone.version = 2;
    gone.deleted = true;
    s.update(&gone, VmChanges::None).await.unwrap();
    // Pages of 2 from just before this case's ids (the database may hold
    // other cases' rows: those after ours end the walk).
    let mut after = ns.id("");
    let mut seen = Vec::new();
    loop {
        let page = s.load_page(&after, 2).await.unwrap();
        assert!(page.len() <= 2);
        let Some(last) = page.last() else { break };
        after = last.id.clone();
        let ours: Vec<_> = page.into_iter().filter(|i| ns.owns(&i.id)).collect();
        let done = ours.len() < 2;
        seen.extend(ours);
        if done {
            break;
        }
    }
    let ids: Vec<String> = seen.iter().map(|i| i.id.clone()).collect();
    let want: Vec<String> = ["a", "b", "bb", "c", "d", "e"]
        .iter()
        .map(|n| ns.id(n))
        .collect();
    assert_eq!(ids, want);
    let deleted: Vec<bool> = seen.iter().map(|i| i.deleted).collect();
    assert_eq!(deleted, [false, false, true, false, false, false]);
    let vm_counts: Vec<usize> = seen.iter().map(|i| i.vms.len()).collect();
    assert_eq!(vm_counts, [1, 3, 1, 1, 0, 2]);
    assert_eq!(seen[5], inf(&ns.id("e"), 10, 2));
}

pub async fn the_index_lists_newest_first_then_latest_inserted_first(s: Arc<dyn Store>) {
    let ns = Ns::new();
    for (name, created) in [("a", 100), ("b", 300), ("c", 200), ("d", 300), ("e", 100)] {
        s.insert(&inf(&ns.id(name), created, 0)).await.unwrap();
    }
    // An update does not move a row.
    let mut a = inf(&ns.id("a"), 100, 0);
    a.version = 2;
    s.update(&a, VmChanges::None).await.unwrap();
    let want: Vec<String> = ["d", "b", "c", "e", "a"].iter().map(|n| ns.id(n)).collect();
    assert_eq!(index_ids(&s, &ns).await, want);
}

/// 16 tasks each add 1 to a counter 5 times with load–modify–update loops
/// that retry on `Conflict`: no increment is lost.
pub async fn concurrent_writers_with_cas_retries_lose_no_increment(s: Arc<dyn Store>) {
    let ns = Ns::new();
    let id = ns.id("counter");
    s.insert(&inf(&id, 1, 2)).await.unwrap();
    let mut tasks = Vec::new();
    for t in 0..16 {
        let s = s.clone();
        let id = id.clone();
        tasks.push(tokio::spawn(async move {
            let mut conflicts = 0;
            for _ in 0..5 {
                loop {
                    let mut cur = s.load(&id).await.unwrap().unwrap();
                    let n = cur.data["n"].as_i64().unwrap();
                    cur.data.insert("n".into(), json!(n + 1));
                    cur.vms[t % 2].data.insert("last".into(), json!(t));
                    cur.version += 1;
                    let vm_id = [(t % 2) as i64];
                    match s.update(&cur, VmChanges::Some(&vm_id)).await {
                        Ok(()) => break,
                        Err(StoreError::Conflict(_)) => conflicts += 1,
                        Err(e) => panic!("{e}"),
                    }
                }
            }
            conflicts
        }));
    }
    let mut conflicts = 0;
    for t in tasks {
        conflicts += t.await.unwrap();
    }
    let got = s.load(&id).await.unwrap().unwrap();
    assert_eq!(got.data["n"], json!(80), "after {conflicts} conflicts");
    assert_eq!(got.version, 81);
}

/// Many writes at once (as the SQLite writer commits them together): new
/// inserts succeed, a duplicate insert gets `Exists` and a stale update gets
/// `Conflict`, each alone, and what succeeded is all stored.
pub async fn concurrent_writes_each_get_their_own_answer(s: Arc<dyn Store>) {
    let ns = Ns::new();
    let base = inf(&ns.id("base"), 1, 1);
    s.insert(&base).await.unwrap();
    let mut tasks = Vec::new();
    for i in 0..48 {
        let s = s.clone();
        let fresh = inf(&ns.id(&format!("n{i}")), 2, 1);
        let base = base.clone();
        tasks.push(tokio::spawn(async move {
            match i % 3 {
                0 => (i, s.insert(&fresh).await),
                1 => (i, s.insert(&base).await),
                _ => {
                    let mut stale = base.clone();
                    stale.version += 5;
                    (i, s.update(&stale, VmChanges::All).await)
                }
            }
        }));
    }
    for t in tasks {
        let (i, r) = t.await.unwrap();
        match (i % 3, r) {
            (0, Ok(())) => {}
            (1, Err(StoreError::Exists(id))) => assert_eq!(id, base.id),
            (2, Err(StoreError::Conflict(id))) => assert_eq!(id, base.id),
            (k, r) => panic!("write {i} (kind {k}) answered {r:?}"),
        }
    }
    for i in (0..48).filter(|i| i % 3 == 0) {
        let id = ns.id(&format!("n{i}"));
        assert_eq!(s.load(&id).await.unwrap().unwrap().id, id);
    }
    assert_eq!(s.load(&base.id).await.unwrap().unwrap(), base);
}

/// A provisional insert (a synchronous create's first record) is readable at
/// once and the update that follows it stores the final state.
pub async fn a_provisional_insert_then_an_update_stores_both(s: Arc<dyn Store>) {
    let ns = Ns::new();
    let mut a = inf(&ns.id("prov"), 3, 0);
    s.insert_provisional(&a).await.unwrap();
    assert_eq!(s.load(&a.id).await.unwrap().unwrap(), a);
    a.version += 1;
    a.vms = vec![vm(0, "running")];
    s.update(&a, VmChanges::All).await.unwrap();
    assert_eq!(s.load(&a.id).await.unwrap().unwrap(), a);
}

pub async fn the_database_answers_a_ping(s: Arc<dyn Store>) {
    s.ping().await.unwrap();
}

/// Writes through one store, then checks a second one opened on the same
/// database (a restart) sees everything.
pub async fn reopening_the_database_keeps_everything(open: impl AsyncFn() -> Arc<dyn Store>) {
    let ns = Ns::new();
    let mut a = inf(&ns.id("kept"), 5, 3);
    let mut gone = inf(&ns.id("gone"), 6, 0);
    {
        let s = open().await;
        s.insert(&a).await.unwrap();
        s.insert(&gone).await.unwrap();
        a.version = 2;
        a.vms[1].data.insert("state".into(), json!("stopped"));
        s.update(&a, VmChanges::Some(&[1])).await.unwrap();
        gone.version = 2;
        gone.deleted = true;
        s.update(&gone, VmChanges::None).await.unwrap();
    }
    let s = open().await;
    assert_eq!(s.load(&a.id).await.unwrap().unwrap(), a);
    assert_eq!(s.load(&gone.id).await.unwrap().unwrap(), gone);
    assert_eq!(index_ids(&s, &ns).await, [a.id.clone()]);
    // And it goes on from the stored version.
    a.version = 3;
    s.update(&a, VmChanges::None).await.unwrap();
}

/// Sixteen instances ask for the same free lease at once: exactly one gets
/// it; it keeps it while its time runs, loses it to another after.
pub async fn exactly_one_instance_holds_a_lease(s: Arc<dyn Store>) {
    let ns = Ns::new();
    let id = ns.id("lease");
    let mut set = tokio::task::JoinSet::new();
    for i in 0..16 {
        let (s, id) = (s.clone(), id.clone());
        set.spawn(async move {
            let me = format!("inst-{i}");
            (
                me.clone(),
                s.take_lease(&id, &me, 1_000, 31_000, false).await.unwrap(),
            )
        });
    }
    let mut winners = Vec::new();
    while let Some(r) = set.join_next().await {
        let (me, won) = r.unwrap();
        if won {
            winners.push(me);
        }
    }
    assert_eq!(winners.len(), 1, "{winners:?}");
    let holder = winners.pop().unwrap();
    let other = if holder == "inst-0" {
        "inst-1"
    } else {
        "inst-0"
    };
    // The holder takes it again (a renewal); nobody else does in time.
    assert!(
        s.take_lease(&id, &holder, 2_000, 32_000, false)
            .await
            .unwrap()
    );
    assert!(
        !s.take_lease(&id, other, 31_999, 61_999, false)
            .await
            .unwrap()
    );
    // After its end, another instance takes it, and the old holder lost it.
    assert!(
        s.take_lease(&id, other, 32_001, 62_001, false)
            .await
            .unwrap()
    );
    assert!(
        !s.take_lease(&id, &holder, 32_002, 62_002, false)
            .await
            .unwrap()
    );
    // Released, it is free at once.
    s.release_lease(&id, other, None).await.unwrap();
    assert!(
        s.take_lease(&id, &holder, 32_003, 62_003, false)
            .await
            .unwrap()
    );
}

/// A lease marked with open work is listed for takeover once its holder's
/// time ended (or it was released with the work still open), and no more
/// once the work is done.
pub async fn expired_leases_with_open_work_are_listed_for_takeover(s: Arc<dyn Store>) {
    let ns = Ns::new();
    let (busy, idle) = (ns.id("busy"), ns.id("idle"));
    let mine = async |now: i64| -> Vec<String> {
        s.expired_work(now)
            .await
            .unwrap()
            .into_iter()
            .map(|l| l.inf_id)
            .filter(|id| ns.owns(id))
            .collect()
    };
    assert!(s.take_lease(&busy, "a", 1_000, 11_000, true).await.unwrap());
    assert!(
        s.take_lease(&idle, "a", 1_000, 11_000, false)
            .await
            .unwrap()
    );
    assert!(mine(10_999).await.is_empty());
    assert_eq!(mine(11_001).await, std::slice::from_ref(&busy));
    // The heartbeat keeps it.
    assert!(s.renew_leases("a", 21_000).await.unwrap() >= 2);
    assert!(mine(11_001).await.is_empty());
    // Taken over by b: b's now.
    assert!(
        s.take_lease(&busy, "b", 21_001, 31_001, false)
            .await
            .unwrap()
    );
    assert!(mine(31_000).await.is_empty());
    let listed = s.expired_work(31_002).await.unwrap();
    let l = listed.iter().find(|l| l.inf_id == busy).unwrap();
    assert_eq!((l.owner.as_str(), l.until_ms, l.work), ("b", 31_001, true));
    // Released with the work open: anyone takes it over at once.
    s.release_lease(&busy, "b", None).await.unwrap();
    assert_eq!(mine(0).await.len(), 0, "lease_until is 0, not before 0");
    assert_eq!(mine(1).await, std::slice::from_ref(&busy));
    // Done: never listed again.
    assert!(s.take_lease(&busy, "c", 1, 100, false).await.unwrap());
    s.release_lease(&busy, "c", Some(false)).await.unwrap();
    assert!(mine(i64::MAX).await.is_empty());
    // Renewing is per owner.
    assert_eq!(s.renew_leases("nobody-has-this-one", 5).await.unwrap(), 0);
}

/// The cheap version probe sees every write.
pub async fn the_version_probe_follows_every_write(s: Arc<dyn Store>) {
    let ns = Ns::new();
    let mut a = inf(&ns.id("probe"), 1, 1);
    assert_eq!(s.version_of(&a.id).await.unwrap(), None);
    s.insert(&a).await.unwrap();
    assert_eq!(s.version_of(&a.id).await.unwrap(), Some((1, false)));
    a.version = 2;
    a.deleted = true;
    s.update(&a, VmChanges::None).await.unwrap();
    assert_eq!(s.version_of(&a.id).await.unwrap(), Some((2, true)));
}

/// Records holding an open operation (`im_op`) are found; others, and
/// deleted ones, are not.
pub async fn records_with_an_open_operation_are_found(s: Arc<dyn Store>) {
    let ns = Ns::new();
    let mut open = inf(&ns.id("open"), 1, 0);
    open.data.insert("im_op".into(), json!({"kind": "create"}));
    let closed = inf(&ns.id("closed"), 1, 0);
    let mut gone = inf(&ns.id("gone"), 1, 0);
    gone.data.insert("im_op".into(), json!({"kind": "destroy"}));
    gone.deleted = true;
    for i in [&open, &closed, &gone] {
        s.insert(i).await.unwrap();
    }
    let found: Vec<String> = s
        .open_operations()
        .await
        .unwrap()
        .into_iter()
        .filter(|id| ns.owns(id))
        .collect();
    assert_eq!(found, [open.id.clone()]);
}

/// Declares one `#[tokio::test]` per case of the suite, each on a store from
/// `$open`: an `async fn() -> Option<Arc<dyn Store>>` (`None` skips the case,
/// for a backend whose test database is not configured).
macro_rules! store_suite {
    ($open:path) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        async fn an_inserted_infrastructure_loads_back_whole() {
            if let Some(s) = $open().await {
                crate::suite::an_inserted_infrastructure_loads_back_whole(s).await;
            }
        }
        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        async fn a_large_infrastructure_round_trips() {
            if let Some(s) = $open().await {
                crate::suite::a_large_infrastructure_round_trips(s).await;
            }
        }
        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        async fn a_duplicate_insert_is_refused_and_changes_nothing() {
            if let Some(s) = $open().await {
                crate::suite::a_duplicate_insert_is_refused_and_changes_nothing(s).await;
            }
        }
        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        async fn an_update_needs_the_next_version_and_a_stale_one_conflicts() {
            if let Some(s) = $open().await {
                crate::suite::an_update_needs_the_next_version_and_a_stale_one_conflicts(s).await;
            }
        }
        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        async fn naming_some_vms_rewrites_only_those_rows() {
            if let Some(s) = $open().await {
                crate::suite::naming_some_vms_rewrites_only_those_rows(s).await;
            }
        }
        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        async fn concurrent_writes_each_get_their_own_answer() {
            if let Some(s) = $open().await {
                crate::suite::concurrent_writes_each_get_their_own_answer(s).await;
            }
        }
        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        async fn a_provisional_insert_then_an_update_stores_both() {
            if let Some(s) = $open().await {
                crate::suite::a_provisional_insert_then_an_update_stores_both(s).await;
            }
        }
        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        async fn no_vm_changes_leave_the_vm_rows_alone() {
            if let Some(s) = $open().await {
                crate::suite::no_vm_changes_leave_the_vm_rows_alone(s).await;
            }
        }
        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        async fn rewriting_all_vms_removes_the_missing_ones() {
            if let Some(s) = $open().await {
                crate::suite::rewriting_all_vms_removes_the_missing_ones(s).await;
            }
        }
        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        async fn changed_owners_are_stored() {
            if let Some(s) = $open().await {
                crate::suite::changed_owners_are_stored(s).await;
            }
        }
        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        async fn deleted_infrastructures_leave_the_index_but_stay_loadable() {
            if let Some(s) = $open().await {
                crate::suite::deleted_infrastructures_leave_the_index_but_stay_loadable(s).await;
            }
        }
        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        async fn pages_walk_the_infrastructures_in_id_order_with_their_vms() {
            if let Some(s) = $open().await {
                crate::suite::pages_walk_the_infrastructures_in_id_order_with_their_vms(s).await;
            }
        }
        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        async fn the_index_lists_newest_first_then_latest_inserted_first() {
            if let Some(s) = $open().await {
                crate::suite::the_index_lists_newest_first_then_latest_inserted_first(s).await;
            }
        }
        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        async fn concurrent_writers_with_cas_retries_lose_no_increment() {
            if let Some(s) = $open().await {
                crate::suite::concurrent_writers_with_cas_retries_lose_no_increment(s).await;
            }
        }
        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        async fn exactly_one_instance_holds_a_lease() {
            if let Some(s) = $open().await {
                crate::suite::exactly_one_instance_holds_a_lease(s).await;
            }
        }
        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        async fn expired_leases_with_open_work_are_listed_for_takeover() {
            if let Some(s) = $open().await {
                crate::suite::expired_leases_with_open_work_are_listed_for_takeover(s).await;
            }
        }
        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        async fn the_version_probe_follows_every_write() {
            if let Some(s) = $open().await {
                crate::suite::the_version_probe_follows_every_write(s).await;
            }
        }
        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        async fn records_with_an_open_operation_are_found() {
            if let Some(s) = $open().await {
                crate::suite::records_with_an_open_operation_are_found(s).await;
            }
        }
        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        async fn the_database_answers_a_ping() {
            if let Some(s) = $open().await {
                crate::suite::the_database_answers_a_ping(s).await;
            }
        }
    };
}
