//! Nothing is lost and nothing comes back, against the real `im serve` on a
//! loopback port with its SQLite file in a temporary directory:
//!
//! - sixteen clients destroying five hundred infrastructures at once (with
//!   duplicate DELETEs and GETs racing them, right after a restart so that
//!   every body loads lazily) leave none alive, neither before nor after
//!   another restart; the reference resurrects 6–17 % of them (spec/peer.md §6);
//! - `kill -9` of the server under a create load, at random moments, loses no
//!   infrastructure whose POST was answered 200: after each restart on the same
//!   database every one of them is there, `configured`, and usable (add a VM,
//!   remove it, stop, start, destroy); and no infrastructure, acknowledged or
//!   not, is left in a transient state that nothing will ever finish.

#![allow(clippy::unwrap_used)] // a panic is the failure report

mod common;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use common::Server;

const AUTH: &str = r"id = im; type = InfrastructureManager; username = durable; password = p\nid = dummy; type = Dummy";
/// One Dummy VM, contextualization disabled: `configured` once created.
const RADL: &str = "network publica (outbound = 'yes')\nsystem node (cpu.count>=1 and memory.size>=512m and net_interface.0.connection = 'publica' and disk.0.image.url = 'mock0://linux.for.ev.er')\ndeploy node 1\ncontextualize ()";
/// One more VM of the same system.
const ADD: &str = "network publica\nsystem node\ndeploy node 1\n";

use common::{Answer, client};

async fn call(c: &reqwest::Client, base: &str, method: &str, path: &str, body: &str) -> Answer {
    common::call_as(c, base, AUTH, method, path, body).await
}

/// A request the test expects an answer to.
async fn ok_call(
    c: &reqwest::Client,
    base: &str,
    method: &str,
    path: &str,
    body: &str,
) -> (u16, String) {
    call(c, base, method, path, body)
        .await
        .unwrap_or_else(|e| panic!("{method} {path}: {e}"))
}

/// Creates one infrastructure; its id.
async fn create(c: &reqwest::Client, base: &str) -> Answer {
    let (status, body) = call(c, base, "POST", "/infrastructures", RADL).await?;
    if status != 200 {
        return Ok((status, body));
    }
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    let uri = v["uri"].as_str().unwrap();
    let id = uri.rsplit('/').next().unwrap().to_string();
    Ok((200, id))
}

/// The ids `GET /infrastructures` lists.
async fn list(c: &reqwest::Client, base: &str) -> Vec<String> {
    let (status, body) = ok_call(c, base, "GET", "/infrastructures", "").await;
    assert_eq!(status, 200, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    v["uri-list"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| {
            u["uri"]
                .as_str()
                .unwrap()
                .rsplit('/')
                .next()
                .unwrap()
                .to_string()
        })
        .collect()
}

/// `GET …/state`: (status, infrastructure state, VM states) or the error body.
async fn state(
    c: &reqwest::Client,
    base: &str,
    id: &str,
) -> Result<(String, BTreeMap<String, String>), (u16, String)> {
    let (status, body) = ok_call(c, base, "GET", &format!("/infrastructures/{id}/state"), "").await;
    if status != 200 {
        return Err((status, body));
    }
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    let vms = v["state"]["vm_states"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, s)| (k.clone(), s.as_str().unwrap().to_string()))
        .collect();
    Ok((v["state"]["state"].as_str().unwrap().to_string(), vms))
}

/// Asserts that an id is gone for good: every way of reaching it is a 404.
async fn assert_gone(c: &reqwest::Client, base: &str, id: &str) {
    for (method, path) in [
        ("GET", format!("/infrastructures/{id}/state")),
        ("GET", format!("/infrastructures/{id}")),
        ("GET", format!("/infrastructures/{id}/vms/0")),
        ("DELETE", format!("/infrastructures/{id}")),
    ] {
        let (status, body) = ok_call(c, base, method, &path, "").await;
        assert_eq!(
            status, 404,
            "{method} {path} of a destroyed infrastructure: {body}"
        );
        assert!(
            body.contains("Invalid infrastructure ID or access not granted.")
                || body.contains("Deleted infrastructure."),
            "{method} {path}: {body}"
        );
    }
}

/// Runs `f` on every item with at most `n` at a time.
async fn for_each_concurrently<T, F, Fut>(items: Vec<T>, n: usize, f: F)
where
    T: Send + 'static,
    F: Fn(T) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let f = Arc::new(f);
    let queue = Arc::new(std::sync::Mutex::new(items));
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..n {
        let (f, queue) = (f.clone(), queue.clone());
        set.spawn(async move {
            loop {
                let next = queue.lock().unwrap().pop();
                let Some(item) = next else { break };
                f(item).await;
            }
        });
    }
    while let Some(r) = set.join_next().await {
        r.unwrap();
    }
}

/// A small deterministic generator (xorshift64*), so that a failing run can
/// be replayed from the seed it prints.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixteen_clients_destroying_five_hundred_infrastructures_leave_none_alive_even_after_a_restart()
 {
    const N: usize = 500;
    const CLIENTS: usize = 16;
    let c = client();
    let s = Server::start("");

    // Five hundred 1-VM infrastructures, created by sixteen clients.
    let ids = Arc::new(std::sync::Mutex::new(Vec::with_capacity(N)));
    {
        let (c, base, ids) = (c.clone(), s.base.clone(), ids.clone());
        for_each_concurrently((0..N).collect(), CLIENTS, move |_| {
            let (c, base, ids) = (c.clone(), base.clone(), ids.clone());
            async move {
                let (status, id) = create(&c, &base).await.unwrap();
                assert_eq!(status, 200, "{id}");
                ids.lock().unwrap().push(id);
            }
        })
        .await;
    }
    let mut ids = std::mem::take(&mut *ids.lock().unwrap());
    ids.sort();
    assert_eq!(ids.len(), N);
    assert_eq!(list(&c, &s.base).await.len(), N);

    // Restart, so that every body loads on first use while the destroys run
    // (the reference's resurrections also happened after a restart).
    let (status, dir) = s.stop();
    assert!(status.success());
    let s = Server::start_in(dir, "");

    // A fixed shuffle, so that neighbours in the list belong to different clients.
    let mut rng = Rng(0x5eed_1e55_d00d_f00d);
    for i in (1..ids.len()).rev() {
        ids.swap(i, rng.below(i as u64 + 1) as usize);
    }
    let ids = Arc::new(ids);
    // Every DELETE and GET answer, by id.
    let deletes: Arc<std::sync::Mutex<HashMap<String, Vec<u16>>>> = Arc::default();
    let gets: Arc<std::sync::Mutex<Vec<(String, u16, String)>>> = Arc::default();
    let mut set = tokio::task::JoinSet::new();
    for client_no in 0..CLIENTS {
        let (c, base, ids, deletes, gets) = (
            c.clone(),
            s.base.clone(),
            ids.clone(),
            deletes.clone(),
            gets.clone(),
        );
        set.spawn(async move {
            for j in (client_no..N).step_by(CLIENTS) {
                let id = &ids[j];
                // The client's own DELETE, raced by a GET of the same id, by
                // a second DELETE of it every third id, and every fourth id
                // by a DELETE of the next id, which is another client's.
                let next = &ids[(j + 1) % N];
                let (path, state_path, next_path) = (
                    format!("/infrastructures/{id}"),
                    format!("/infrastructures/{id}/state"),
                    format!("/infrastructures/{next}"),
                );
                let own = call(&c, &base, "DELETE", &path, "");
                let get = call(&c, &base, "GET", &state_path, "");
                let dup = async {
                    if j % 3 == 0 {
                        Some(call(&c, &base, "DELETE", &path, "").await)
                    } else {
                        None
                    }
                };
                let other = async {
                    if j % 4 == 0 {
                        Some(call(&c, &base, "DELETE", &next_path, "").await)
                    } else {
                        None
                    }
                };
                let (own, get, dup, other) = tokio::join!(own, get, dup, other);
                let mut d = deletes.lock().unwrap();
                d.entry(id.clone()).or_default().push(own.unwrap().0);
                if let Some(r) = dup {
                    d.entry(id.clone()).or_default().push(r.unwrap().0);
                }
                if let Some(r) = other {
                    d.entry(next.clone()).or_default().push(r.unwrap().0);
                }
                let (status, body) = get.unwrap();
                gets.lock().unwrap().push((id.clone(), status, body));
            }
        });
    }
    while let Some(r) = set.join_next().await {
        r.unwrap();
    }

    // Each id was destroyed exactly once; every other DELETE of it found it gone.
    let deletes = std::mem::take(&mut *deletes.lock().unwrap());
    assert_eq!(deletes.len(), N);
    for (id, statuses) in &deletes {
        let ok = statuses.iter().filter(|&&s| s == 200).count();
        assert_eq!(ok, 1, "{id}: DELETE answers {statuses:?}");
        assert!(
            statuses.iter().all(|&s| s == 200 || s == 404),
            "{id}: DELETE answers {statuses:?}"
        );
    }
    // A GET racing the destroy saw it alive or gone, never an error.
    for (id, status, body) in std::mem::take(&mut *gets.lock().unwrap()) {
        assert!(
            status == 404 || (status == 200 && body.contains("\"state\"")),
            "GET state of {id} while destroyed: {status} {body}"
        );
    }

    // None is listed, none answers.
    assert_eq!(list(&c, &s.base).await, Vec::<String>::new());
    let all: Vec<String> = ids.iter().cloned().collect();
    {
        let (c, base) = (c.clone(), s.base.clone());
        for_each_concurrently(all.clone(), 8, move |id| {
            let (c, base) = (c.clone(), base.clone());
            async move { assert_gone(&c, &base, &id).await }
        })
        .await;
    }

    // And none comes back after a restart.
    let (status, dir) = s.stop();
    assert!(status.success());
    let s = Server::start_in(dir, "");
    assert_eq!(list(&c, &s.base).await, Vec::<String>::new());
    let (c2, base) = (c.clone(), s.base.clone());
    for_each_concurrently(all, 8, move |id| {
        let (c, base) = (c2.clone(), base.clone());
        async move { assert_gone(&c, &base, &id).await }
    })
    .await;
}

/// Starts `clients` tasks that create in a loop until the server stops
/// answering, each recording the ids whose POST was answered 200.
fn create_until_the_server_dies(c: &reqwest::Client, base: &str, clients: usize) -> JoinCreators {
    let acked: Arc<std::sync::Mutex<Vec<String>>> = Arc::default();
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..clients {
        let (c, base, acked) = (c.clone(), base.to_string(), acked.clone());
        set.spawn(async move {
            loop {
                match create(&c, &base).await {
                    Ok((200, id)) => acked.lock().unwrap().push(id),
                    Ok((status, body)) => panic!("create answered {status}: {body}"),
                    Err(_) => break, // the server is gone
                }
            }
        });
    }
    JoinCreators { set, acked }
}

/// The creator tasks of [`create_until_the_server_dies`].
struct JoinCreators {
    set: tokio::task::JoinSet<()>,
    acked: Arc<std::sync::Mutex<Vec<String>>>,
}

impl JoinCreators {
    /// How many creates were acknowledged so far.
    fn count(&self) -> usize {
        self.acked.lock().unwrap().len()
    }

    /// Waits for every creator to see the server gone; the acknowledged ids.
    async fn finish(mut self) -> Vec<String> {
        while let Some(r) = self.set.join_next().await {
            r.unwrap();
        }
        std::mem::take(&mut *self.acked.lock().unwrap())
    }
}

/// Checks every infrastructure after a restart: each acknowledged one is
/// listed and `configured` with its VMs; any other one the list shows (a
/// create cut by the kill) is in a final state.
async fn check_after_restart(c: &reqwest::Client, base: &str, acked: &[String], round: usize) {
    let listed: HashSet<String> = list(c, base).await.into_iter().collect();
    for id in acked {
        assert!(
            listed.contains(id),
            "round {round}: acknowledged {id} is not listed"
        );
    }
    println!(
        "start {round}: {} acknowledged listed, and {} creates cut by a kill (failed)",
        acked.len(),
        listed.len() - acked.len()
    );
    let failures = Arc::new(std::sync::Mutex::new(Vec::new()));
    let (c2, base2, f2) = (c.clone(), base.to_string(), failures.clone());
    let acked_set: Arc<HashSet<String>> = Arc::new(acked.iter().cloned().collect());
    for_each_concurrently(listed.into_iter().collect(), 8, move |id| {
        let (c, base, f, acked) = (c2.clone(), base2.clone(), f2.clone(), acked_set.clone());
        async move {
            match state(&c, &base, &id).await {
                Ok((s, vms)) if acked.contains(&id) => {
                    if s != "configured"
                        || vms.is_empty()
                        || vms.values().any(|v| v != "configured")
                    {
                        f.lock()
                            .unwrap()
                            .push(format!("acknowledged {id}: {s} {vms:?}"));
                    }
                }
                Ok((s, vms)) => {
                    // Cut by the kill: it may exist, but must not wait forever.
                    if !["configured", "failed"].contains(&s.as_str()) {
                        f.lock()
                            .unwrap()
                            .push(format!("unacknowledged {id} stuck: {s} {vms:?}"));
                    }
                }
                Err((status, body)) => f.lock().unwrap().push(format!("{id}: {status} {body}")),
            }
        }
    })
    .await;
    let failures = std::mem::take(&mut *failures.lock().unwrap());
    assert!(failures.is_empty(), "round {round}: {failures:#?}");
}

/// Uses an infrastructure as a user would: add a VM, remove it, stop, start,
/// then destroy it.
async fn use_and_destroy(c: &reqwest::Client, base: &str, id: &str) {
    let inf = format!("/infrastructures/{id}");
    let (status, body) = ok_call(c, base, "POST", &inf, ADD).await;
    assert_eq!(status, 200, "add to {id}: {body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    let uris = v["uri-list"].as_array().unwrap();
    assert_eq!(uris.len(), 1, "{body}");
    assert!(
        uris[0]["uri"]
            .as_str()
            .unwrap()
            .ends_with(&format!("{inf}/vms/1")),
        "{body}"
    );
    let (s, vms) = state(c, base, id).await.unwrap();
    assert_eq!(s, "configured", "{id}: {vms:?}");
    assert_eq!(vms.keys().collect::<Vec<_>>(), ["0", "1"]);
    let (status, body) = ok_call(c, base, "DELETE", &format!("{inf}/vms/1"), "").await;
    assert_eq!(status, 200, "remove from {id}: {body}");
    let (status, body) = ok_call(c, base, "GET", &inf, "").await;
    assert_eq!(status, 200, "{body}");
    assert!(
        body.ends_with(&format!("{inf}/vms/0\"}}]}}")),
        "{id}: {body}"
    );
    for op in ["stop", "start"] {
        let (status, body) = ok_call(c, base, "PUT", &format!("{inf}/{op}"), "").await;
        assert_eq!(status, 200, "{op} {id}: {body}");
    }
    let (s, vms) = state(c, base, id).await.unwrap();
    assert_eq!(s, "configured", "{id} after stop and start: {vms:?}");
    let (status, body) = ok_call(c, base, "DELETE", &inf, "").await;
    assert_eq!(status, 200, "destroy {id}: {body}");
    assert_gone(c, base, id).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn kill_nine_under_a_create_load_loses_no_acknowledged_infrastructure() {
    const ROUNDS: usize = 4;
    const CREATORS: usize = 6;
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
        | 1;
    println!("kill moments seed: {seed:#x}");
    let mut rng = Rng(seed);
    let c = client();
    let mut dir = tempfile::tempdir().unwrap();
    // Every id acknowledged so far and not destroyed by the test.
    let mut acked: Vec<String> = Vec::new();
    for round in 0..ROUNDS {
        let s = Server::start_in(dir, "");
        check_after_restart(&c, &s.base, &acked, round).await;
        // Use (and destroy) a few of the survivors, so that later rounds
        // restart over destroyed ones too.
        for id in acked.drain(..acked.len().min(5)) {
            use_and_destroy(&c, &s.base, &id).await;
        }
        let creators = create_until_the_server_dies(&c, &s.base, CREATORS);
        // Wait for some creates to be acknowledged, then a random moment more.
        while creators.count() < 3 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        tokio::time::sleep(Duration::from_millis(rng.below(1500))).await;
        dir = s.kill();
        let new = creators.finish().await;
        println!(
            "round {round}: {} creates acknowledged before kill -9",
            new.len()
        );
        acked.extend(new);
    }
    let s = Server::start_in(dir, "");
    check_after_restart(&c, &s.base, &acked, ROUNDS).await;
    let n = acked.len();
    let (c2, base) = (c.clone(), s.base.clone());
    for_each_concurrently(acked, 4, move |id| {
        let (c, base) = (c2.clone(), base.clone());
        async move { use_and_destroy(&c, &base, &id).await }
    })
    .await;
    println!("{n} acknowledged infrastructures used and destroyed after the last kill");
    let left = list(&c, &s.base).await;
    // Only creates cut by a kill may remain, and they are in a final state.
    for id in &left {
        let (st, _) = state(&c, &s.base, id).await.unwrap();
        assert!(st == "configured" || st == "failed", "{id}: {st}");
    }
}

/// The auth items of [`AUTH`] as an operation record keeps them.
const AUTH_JSON: &str = r#"[{"id":"im","type":"InfrastructureManager","username":"durable","password":"p"},{"id":"dummy","type":"Dummy"}]"#;

/// Writes an operation record into a stopped server's SQLite file, as a
/// `kill -9` in the middle of that operation leaves it (a new version of
/// the row holding the record).
fn leave_open_operation(dir: &std::path::Path, id: &str, op: &str) {
    let sql = format!(
        "UPDATE infrastructures SET version = version + 1, \
         data = json_set(data, '$.im_op', json('{}')) WHERE id = '{id}'",
        op.replace('\'', "''")
    );
    let out = std::process::Command::new("sqlite3")
        .arg(dir.join("im.db"))
        .arg(&sql)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A server killed in the middle of an asynchronous destroy, of a removal,
/// of an asynchronous create that had not launched yet and of a synchronous
/// add ends each of them at its next start: the destroy and the removal are
/// finished, the create is launched, the add is closed with a message; none
/// stays transient.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn operations_cut_by_a_kill_are_ended_at_the_next_start() {
    let c = client();
    let s = Server::start("");
    let mut ids = Vec::new();
    for _ in 0..3 {
        let (status, id) = create(&c, &s.base).await.unwrap();
        assert_eq!(status, 200, "{id}");
        ids.push(id);
    }
    let (status, body) = ok_call(
        &c,
        &s.base,
        "POST",
        &format!("/infrastructures/{}", ids[1]),
        ADD,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let no_deploy = RADL.replace("deploy node 1\n", "");
    let (status, body) = ok_call(&c, &s.base, "POST", "/infrastructures", &no_deploy).await;
    assert_eq!(status, 200, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    let pending = v["uri"]
        .as_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_string();
    let (_, dir) = s.stop();
    let radl = serde_json::to_string(RADL).unwrap();
    let head = r#""instance":"gone","started":1"#;
    leave_open_operation(
        dir.path(),
        &ids[0],
        &format!(r#"{{"kind":"destroy",{head},"force":false,"async":true,"auth":{AUTH_JSON}}}"#),
    );
    leave_open_operation(
        dir.path(),
        &ids[1],
        &format!(r#"{{"kind":"remove",{head},"vms":[1],"auth":{AUTH_JSON}}}"#),
    );
    leave_open_operation(dir.path(), &ids[2], &format!(r#"{{"kind":"add",{head}}}"#));
    leave_open_operation(
        dir.path(),
        &pending,
        &format!(r#"{{"kind":"create",{head},"async":true,"radl":{radl},"auth":{AUTH_JSON}}}"#),
    );
    let s = Server::start_in(dir, "");
    // The server ends them in the background from its start (a read meanwhile
    // sees the operation in progress: `deleting`, `pending`, …).
    for (id, last) in [(&ids[0], "gone"), (&ids[1], "1 VM"), (&pending, "1 VM")] {
        let mut reached = false;
        for _ in 0..300 {
            reached = match (state(&c, &s.base, id).await, last) {
                (Err((404, _)), "gone") => true,
                (Ok((st, vms)), "1 VM") => st == "configured" && vms.len() == 1,
                _ => false,
            };
            if reached {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert!(reached, "{id} never {last}");
    }
    assert_gone(&c, &s.base, &ids[0]).await;
    let (st, vms) = state(&c, &s.base, &ids[1]).await.unwrap();
    assert_eq!(
        (
            st.as_str(),
            vms.keys().map(String::as_str).collect::<Vec<_>>()
        ),
        ("configured", vec!["0"])
    );
    let (st, _) = state(&c, &s.base, &ids[2]).await.unwrap();
    assert_eq!(st, "configured");
    let (status, msg) = ok_call(
        &c,
        &s.base,
        "GET",
        &format!("/infrastructures/{}/contmsg", ids[2]),
        "",
    )
    .await;
    assert_eq!(status, 200);
    assert!(
        msg.contains("Operation add interrupted by the stop of the IM server running it (gone)"),
        "{msg}"
    );
    let (st, vms) = state(&c, &s.base, &pending).await.unwrap();
    assert_eq!(
        (
            st.as_str(),
            vms.keys().map(String::as_str).collect::<Vec<_>>()
        ),
        ("configured", vec!["0"])
    );
    // And they stay so after another restart.
    let (_, dir) = s.stop();
    let s = Server::start_in(dir, "");
    assert_gone(&c, &s.base, &ids[0]).await;
    assert_eq!(state(&c, &s.base, &pending).await.unwrap().0, "configured");
    use_and_destroy(&c, &s.base, &ids[2]).await;
}
