//! Three `im serve` processes on one database (PostgreSQL, then MariaDB),
//! each request sent to whichever instance the test picks, as a round-robin
//! balancer without sticky sessions would:
//!
//! - each step of many lifecycles on a different instance (create on one,
//!   add on another, state on the third, destroy on the first) is consistent
//!   everywhere;
//! - `kill -9` of instances at random moments under a load of creates and
//!   asynchronous creates and destroys (then a restart): every acknowledged
//!   create exists and ends `configured`, every acknowledged destroy stays
//!   destroyed on every instance, no VM id or cloud VM appears twice, and
//!   nothing stays transient: the survivors end a dead instance's work once
//!   its leases (2 s here) run out;
//! - sixteen clients racing add, remove, alter, stop, start and destroy on
//!   the same infrastructures through the three instances: no acknowledged
//!   VM is lost, no VM id is handed out twice, nothing comes back after a
//!   destroy.
//!
//! Each test creates a database of its own (`IM_TEST_POSTGRES_URL`,
//! `IM_TEST_MYSQL_URL` name the server; without them a case says so on
//! stderr and does nothing).

#![allow(clippy::unwrap_used)] // a panic is the failure report

mod common;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::process::{Child, Command};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const AUTH: &str = r"id = im; type = InfrastructureManager; username = multi; password = p\nid = dummy; type = Dummy";
/// One Dummy VM, contextualization disabled: `configured` once created.
const RADL: &str = "network publica (outbound = 'yes')\nsystem node (cpu.count>=1 and memory.size>=512m and net_interface.0.connection = 'publica' and disk.0.image.url = 'mock0://linux.for.ev.er')\ndeploy node 1\ncontextualize ()";
/// One more VM of the same system.
const ADD: &str = "network publica\nsystem node\ndeploy node 1\n";
/// A resize of the system.
const ALTER: &str = "system node (cpu.count>=2 and memory.size>=1024m)";
/// Seconds of a lease in these tests.
const LEASE_SECS: &str = "2";

// ----- databases --------------------------------------------------------------

#[derive(Clone, Copy, Debug)]
enum Engine {
    Postgres,
    MySql,
}

/// A fresh database on the test server; dropped at the end.
struct Db {
    engine: Engine,
    /// The server URL without a database name.
    server: String,
    name: String,
}

impl Db {
    fn create(engine: Engine, test: &str) -> Option<Db> {
        let var = match engine {
            Engine::Postgres => "IM_TEST_POSTGRES_URL",
            Engine::MySql => "IM_TEST_MYSQL_URL",
        };
        let url = match std::env::var(var) {
            Ok(u) if !u.is_empty() => u,
            _ => {
                eprintln!("{var} is not set: case skipped");
                return None;
            }
        };
        let server = url.rsplit_once('/').unwrap().0.to_string();
        let name = format!("im_multi_{test}_{}", std::process::id());
        let db = Db {
            engine,
            server,
            name,
        };
        db.admin(&format!("DROP DATABASE IF EXISTS {}", db.name));
        db.admin(&format!("CREATE DATABASE {}", db.name));
        Some(db)
    }

    fn url(&self) -> String {
        format!("{}/{}", self.server, self.name)
    }

    /// host of the server URL (`scheme://user@host[:port]`).
    fn host_user(&self) -> (String, String) {
        let rest = self.server.split_once("://").unwrap().1;
        let (user, host) = rest.split_once('@').unwrap_or(("root", rest));
        let user = user.split(':').next().unwrap().to_string();
        (host.split(':').next().unwrap().to_string(), user)
    }

    fn admin(&self, sql: &str) {
        self.sql_in(None, sql);
    }

    /// Runs SQL with the engine's command-line client; its output rows.
    fn sql_in(&self, db: Option<&str>, sql: &str) -> Vec<String> {
        let (host, user) = self.host_user();
        let mut cmd = match self.engine {
            Engine::Postgres => {
                let mut c = Command::new("psql");
                c.args(["-h", &host, "-U", &user, "-At", "-v", "ON_ERROR_STOP=1"]);
                c.args(["-d", db.unwrap_or("postgres"), "-c", sql]);
                c
            }
            Engine::MySql => {
                let mut c = Command::new("mysql");
                c.args(["-h", &host, "-u", &user, "-N", "-B", "-e", sql]);
                if let Some(d) = db {
                    c.arg(d);
                }
                c
            }
        };
        let out = cmd.output().unwrap();
        assert!(
            out.status.success(),
            "{sql}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(str::to_string)
            .collect()
    }

    /// The cloud id of every VM row of the database (destroyed ones included).
    fn cloud_ids(&self) -> Vec<String> {
        let sql = match self.engine {
            Engine::Postgres => "SELECT data::json->>'id' FROM vms",
            Engine::MySql => "SELECT JSON_UNQUOTE(JSON_EXTRACT(data, '$.id')) FROM vms",
        };
        self.sql_in(Some(&self.name), sql)
            .into_iter()
            .filter(|l| !l.is_empty() && l != "NULL")
            .collect()
    }
}

impl Drop for Db {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            self.admin(&format!("DROP DATABASE IF EXISTS {}", self.name));
        }
    }
}

// ----- servers ----------------------------------------------------------------

/// One `im serve` on the shared database.
struct Instance {
    child: Child,
    base: String,
    _dir: tempfile::TempDir,
}

impl Instance {
    fn start(db_url: &str) -> Instance {
        let dir = tempfile::tempdir().unwrap();
        let cfg = dir.path().join("im.cfg");
        // A fast refresh, so that refreshes race the operations too.
        std::fs::write(&cfg, "[im]\nVM_INFO_UPDATE_FREQUENCY = 1\n").unwrap();
        let (child, base) =
            common::spawn_serve(&["--db", db_url, "--lease-secs", LEASE_SECS], &cfg);
        Instance {
            child,
            base,
            _dir: dir,
        }
    }

    /// `kill -9`.
    fn kill(&mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// ----- HTTP -------------------------------------------------------------------

use common::{Answer, client};

async fn call(c: &reqwest::Client, base: &str, method: &str, path: &str, body: &str) -> Answer {
    common::call_as(c, base, AUTH, method, path, body).await
}

async fn ok_call(
    c: &reqwest::Client,
    base: &str,
    method: &str,
    path: &str,
    body: &str,
) -> (u16, String) {
    call(c, base, method, path, body)
        .await
        .unwrap_or_else(|e| panic!("{method} {base}{path}: {e}"))
}

fn last_segments(body: &str, key: &str) -> Vec<String> {
    let v: serde_json::Value = serde_json::from_str(body).unwrap();
    v[key]
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

async fn create(c: &reqwest::Client, base: &str, async_call: bool) -> Answer {
    let path = if async_call {
        "/infrastructures?async=1"
    } else {
        "/infrastructures"
    };
    let (status, body) = call(c, base, "POST", path, RADL).await?;
    if status != 200 {
        return Ok((status, body));
    }
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    let id = v["uri"].as_str().unwrap().rsplit('/').next().unwrap();
    Ok((200, id.to_string()))
}

async fn list(c: &reqwest::Client, base: &str) -> HashSet<String> {
    let (status, body) = ok_call(c, base, "GET", "/infrastructures", "").await;
    assert_eq!(status, 200, "{body}");
    last_segments(&body, "uri-list").into_iter().collect()
}

/// `GET …/state`: (infrastructure state, VM states) or (status, body).
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

/// The live VM ids of an infrastructure, or the error status.
async fn vm_ids(c: &reqwest::Client, base: &str, id: &str) -> Result<Vec<i64>, u16> {
    let (status, body) = ok_call(c, base, "GET", &format!("/infrastructures/{id}"), "").await;
    if status != 200 {
        return Err(status);
    }
    Ok(last_segments(&body, "uri-list")
        .iter()
        .map(|s| s.parse().unwrap())
        .collect())
}

/// Waits (polling, bounded) until the infrastructure is in a final state on
/// `base`; the state.
async fn settled(c: &reqwest::Client, base: &str, id: &str) -> Result<String, (u16, String)> {
    for _ in 0..600 {
        let (s, _) = state(c, base, id).await?;
        if s != "pending" && s != "deleting" && s != "running" {
            return Ok(s);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok("never settled".into())
}

/// Waits (polling, bounded) until the infrastructure answers 404 on `base`.
async fn gone(c: &reqwest::Client, base: &str, id: &str) -> bool {
    for _ in 0..600 {
        let (status, _) =
            ok_call(c, base, "GET", &format!("/infrastructures/{id}/state"), "").await;
        if status == 404 {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

/// A small deterministic generator (the seed is printed).
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n.max(1)
    }
}

fn seed() -> u64 {
    let s = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
        | 1;
    println!("seed: {s:#x}");
    s
}

// ----- the cases ----------------------------------------------------------------

/// Create on one instance, add on the next, state on the third, remove,
/// stop and start around, destroy on the first: everything agrees
/// everywhere, at every step.
async fn lifecycles_spread_over_three_instances(engine: Engine) {
    let Some(db) = Db::create(engine, "life") else {
        return;
    };
    let url = db.url();
    let inst: Vec<Instance> = (0..3).map(|_| Instance::start(&url)).collect();
    let bases: Arc<Vec<String>> = Arc::new(inst.iter().map(|i| i.base.clone()).collect());
    let c = client();
    let mut set = tokio::task::JoinSet::new();
    for k in 0..12usize {
        let (c, b) = (c.clone(), bases.clone());
        set.spawn(async move {
            let at = |n: usize| b[(k + n) % 3].as_str();
            let (status, id) = create(&c, at(0), false).await.unwrap();
            assert_eq!(status, 200, "{id}");
            for base in b.iter() {
                assert!(
                    list(&c, base).await.contains(&id),
                    "{id} not listed on {base}"
                );
            }
            let inf = format!("/infrastructures/{id}");
            let (status, body) = ok_call(&c, at(1), "POST", &inf, ADD).await;
            assert_eq!(status, 200, "add: {body}");
            assert_eq!(last_segments(&body, "uri-list"), ["1"]);
            let (s, vms) = state(&c, at(2), &id).await.unwrap();
            assert_eq!(s, "configured", "{vms:?}");
            assert_eq!(vms.keys().collect::<Vec<_>>(), ["0", "1"]);
            let (status, body) = ok_call(&c, at(2), "DELETE", &format!("{inf}/vms/0"), "").await;
            assert_eq!(status, 200, "remove: {body}");
            for n in 0..3 {
                assert_eq!(vm_ids(&c, at(n), &id).await.unwrap(), [1]);
            }
            let (status, body) = ok_call(&c, at(1), "PUT", &format!("{inf}/stop"), "").await;
            assert_eq!(status, 200, "stop: {body}");
            assert_eq!(state(&c, at(0), &id).await.unwrap().0, "stopped");
            let (status, body) = ok_call(&c, at(2), "PUT", &format!("{inf}/start"), "").await;
            assert_eq!(status, 200, "start: {body}");
            assert_eq!(state(&c, at(1), &id).await.unwrap().0, "configured");
            let (status, body) = ok_call(&c, at(0), "DELETE", &inf, "").await;
            assert_eq!(status, 200, "destroy: {body}");
            for n in 0..3 {
                let (status, _) = ok_call(&c, at(n), "GET", &inf, "").await;
                assert_eq!(status, 404, "destroyed {id} answers on instance {n}");
                assert!(!list(&c, at(n)).await.contains(&id));
            }
            let (status, _) = ok_call(&c, at(1), "POST", &inf, ADD).await;
            assert_eq!(status, 404, "an add brought {id} back");
        });
    }
    while let Some(r) = set.join_next().await {
        r.unwrap();
    }
    let ids = db.cloud_ids();
    assert_eq!(ids.len(), 24, "two VMs launched per lifecycle");
    assert_eq!(ids.iter().collect::<HashSet<_>>().len(), ids.len());
}

/// Rounds of: clients creating (sync and async) and destroying (async)
/// through the three instances while one instance is killed with `kill -9`
/// at a random moment and started again. Then every acknowledged create is
/// there and ends `configured` on every instance (a dead instance's
/// asynchronous creates are launched by another), every acknowledged destroy
/// is gone everywhere, nothing stays transient, no cloud VM twice.
async fn kill_nine_of_instances_under_load_loses_and_duplicates_nothing(engine: Engine) {
    let Some(db) = Db::create(engine, "kill") else {
        return;
    };
    let url = db.url();
    let mut rng = Rng(seed());
    let mut inst: Vec<Instance> = (0..3).map(|_| Instance::start(&url)).collect();
    let c = client();
    let created: Arc<Mutex<Vec<String>>> = Arc::default();
    let destroyed: Arc<Mutex<Vec<String>>> = Arc::default();
    // Destroys sent but not acknowledged (the instance died under them):
    // the infrastructure may or may not be gone afterwards.
    let maybe_destroyed: Arc<Mutex<Vec<String>>> = Arc::default();
    for round in 0..4 {
        let bases: Arc<Vec<String>> = Arc::new(inst.iter().map(|i| i.base.clone()).collect());
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let mut set = tokio::task::JoinSet::new();
        for k in 0..6usize {
            let (c, b, stop) = (c.clone(), bases.clone(), stop.clone());
            let (created, destroyed) = (created.clone(), destroyed.clone());
            let maybe_destroyed = maybe_destroyed.clone();
            set.spawn(async move {
                let mut n = k;
                while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                    n += 1;
                    let base = &b[n % 3];
                    match create(&c, base, n % 2 == 0).await {
                        Ok((200, id)) => created.lock().unwrap().push(id),
                        Ok((s, body)) => panic!("create answered {s}: {body}"),
                        Err(_) => {}
                    }
                    // Destroy (asynchronously) an earlier one now and then.
                    if n % 3 == 0 {
                        let victim = created.lock().unwrap().pop();
                        if let Some(id) = victim {
                            let base = &b[(n + 1) % 3];
                            let path = format!("/infrastructures/{id}?async=1");
                            match call(&c, base, "DELETE", &path, "").await {
                                Ok((200, _)) => destroyed.lock().unwrap().push(id),
                                // Not acknowledged: it may or may not be destroyed.
                                _ => {
                                    maybe_destroyed.lock().unwrap().push(id.clone());
                                    created.lock().unwrap().push(id);
                                }
                            }
                        }
                    }
                }
            });
        }
        tokio::time::sleep(Duration::from_millis(300 + rng.below(1500))).await;
        let victim = rng.below(3) as usize;
        inst[victim].kill();
        tokio::time::sleep(Duration::from_millis(rng.below(300))).await;
        stop.store(true, std::sync::atomic::Ordering::SeqCst);
        while let Some(r) = set.join_next().await {
            r.unwrap();
        }
        println!(
            "round {round}: instance {victim} killed; {} created, {} destroyed so far",
            created.lock().unwrap().len(),
            destroyed.lock().unwrap().len()
        );
        inst[victim] = Instance::start(&url);
    }
    let bases: Vec<String> = inst.iter().map(|i| i.base.clone()).collect();
    let created = std::mem::take(&mut *created.lock().unwrap());
    let destroyed = std::mem::take(&mut *destroyed.lock().unwrap());
    let maybe_destroyed = std::mem::take(&mut *maybe_destroyed.lock().unwrap());
    let mut failures = Vec::new();
    for (n, id) in created.iter().enumerate() {
        // An unacknowledged destroy may have happened: then it is gone.
        let base = &bases[n % 3];
        match settled(&c, base, id).await {
            Ok(s) if s == "configured" => {}
            Ok(s) => failures.push(format!("created {id}: {s}")),
            Err((404, _)) if destroyed.contains(id) || maybe_destroyed.contains(id) => {}
            Err(e) => failures.push(format!("created {id}: {e:?}")),
        }
    }
    for id in &destroyed {
        for base in &bases {
            if !gone(&c, base, id).await {
                failures.push(format!("destroyed {id} still answers on {base}"));
            }
        }
    }
    // Anything listed (creates cut by a kill included) ends in a final state.
    for base in &bases {
        for id in list(&c, base).await {
            if destroyed.contains(&id) {
                failures.push(format!("destroyed {id} listed on {base}"));
                continue;
            }
            match settled(&c, base, &id).await {
                Ok(s) if s == "configured" || s == "failed" => {}
                other => failures.push(format!("{id} on {base}: {other:?}")),
            }
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
    let ids = db.cloud_ids();
    let distinct: HashSet<&String> = ids.iter().collect();
    assert_eq!(distinct.len(), ids.len(), "a cloud VM recorded twice");
    println!(
        "{} acknowledged creates, {} acknowledged destroys, {} VM rows",
        created.len(),
        destroyed.len(),
        ids.len()
    );
}

/// Sixteen clients on three instances racing add, remove, alter, stop and
/// start on two infrastructures, then destroy. Every acknowledged add's VM
/// is there unless an acknowledged remove took it; no VM id is handed out
/// twice; after the destroys nothing answers and nothing comes back.
async fn sixteen_clients_racing_on_the_same_infrastructures(engine: Engine) {
    let Some(db) = Db::create(engine, "race") else {
        return;
    };
    let url = db.url();
    let inst: Vec<Instance> = (0..3).map(|_| Instance::start(&url)).collect();
    let bases: Arc<Vec<String>> = Arc::new(inst.iter().map(|i| i.base.clone()).collect());
    let c = client();
    let mut infs = Vec::new();
    for b in bases.iter().take(2) {
        let (status, id) = create(&c, b, false).await.unwrap();
        assert_eq!(status, 200, "{id}");
        infs.push(id);
    }
    let infs = Arc::new(infs);
    // Per infrastructure: VM ids acknowledged by adds, and by removes.
    let added: Arc<Mutex<HashMap<String, Vec<i64>>>> = Arc::default();
    let removed: Arc<Mutex<HashMap<String, Vec<i64>>>> = Arc::default();
    let mut rng = Rng(seed());
    let mut set = tokio::task::JoinSet::new();
    for k in 0..16u64 {
        let (c, b, infs) = (c.clone(), bases.clone(), infs.clone());
        let (added, removed) = (added.clone(), removed.clone());
        let mut r = Rng(rng.below(u64::MAX) | 1);
        set.spawn(async move {
            for step in 0..8u64 {
                let base = &b[((k + step) % 3) as usize];
                let id = &infs[r.below(2) as usize];
                let inf = format!("/infrastructures/{id}");
                match r.below(5) {
                    0 | 1 => {
                        let (status, body) = ok_call(&c, base, "POST", &inf, ADD).await;
                        assert_eq!(status, 200, "add: {body}");
                        let ids: Vec<i64> = last_segments(&body, "uri-list")
                            .iter()
                            .map(|s| s.parse().unwrap())
                            .collect();
                        added
                            .lock()
                            .unwrap()
                            .entry(id.clone())
                            .or_default()
                            .extend(ids);
                    }
                    2 => {
                        let live = vm_ids(&c, base, id).await.unwrap();
                        if live.len() > 1 {
                            let vm = live[r.below(live.len() as u64) as usize];
                            let path = format!("{inf}/vms/{vm}");
                            let (status, body) = ok_call(&c, base, "DELETE", &path, "").await;
                            // Another client may have removed it first.
                            if status == 200 {
                                removed
                                    .lock()
                                    .unwrap()
                                    .entry(id.clone())
                                    .or_default()
                                    .push(vm);
                            } else {
                                assert_eq!(status, 404, "remove: {body}");
                            }
                        }
                    }
                    3 => {
                        let live = vm_ids(&c, base, id).await.unwrap();
                        // Racing removals may have left none.
                        if live.is_empty() {
                            continue;
                        }
                        let vm = live[r.below(live.len() as u64) as usize];
                        let path = format!("{inf}/vms/{vm}");
                        let (status, body) = ok_call(&c, base, "PUT", &path, ALTER).await;
                        assert!(status == 200 || status == 404, "alter: {status} {body}");
                    }
                    _ => {
                        let op = if r.below(2) == 0 { "stop" } else { "start" };
                        let path = format!("{inf}/{op}");
                        let (status, body) = ok_call(&c, base, "PUT", &path, "").await;
                        assert_eq!(status, 200, "{op}: {body}");
                    }
                }
            }
        });
    }
    while let Some(r) = set.join_next().await {
        r.unwrap();
    }
    let added = std::mem::take(&mut *added.lock().unwrap());
    let removed = std::mem::take(&mut *removed.lock().unwrap());
    for id in infs.iter() {
        let adds = added.get(id).cloned().unwrap_or_default();
        let rems = removed.get(id).cloned().unwrap_or_default();
        let distinct: HashSet<&i64> = adds.iter().collect();
        assert_eq!(
            distinct.len(),
            adds.len(),
            "{id}: a VM id handed out twice: {adds:?}"
        );
        assert_eq!(
            rems.iter().collect::<HashSet<_>>().len(),
            rems.len(),
            "{id}: removed twice"
        );
        let mut expected: Vec<i64> = std::iter::once(0)
            .chain(adds.iter().copied())
            .filter(|v| !rems.contains(v))
            .collect();
        expected.sort_unstable();
        for base in bases.iter() {
            let mut live = vm_ids(&c, base, id).await.unwrap();
            live.sort_unstable();
            assert_eq!(live, expected, "{id} on {base}");
        }
    }
    // Everybody destroys at once, through every instance.
    let mut set = tokio::task::JoinSet::new();
    for k in 0..16usize {
        let (c, b, infs) = (c.clone(), bases.clone(), infs.clone());
        set.spawn(async move {
            let id = &infs[k % 2];
            let (status, body) = ok_call(
                &c,
                &b[k % 3],
                "DELETE",
                &format!("/infrastructures/{id}"),
                "",
            )
            .await;
            assert!(status == 200 || status == 404, "destroy: {status} {body}");
            status == 200
        });
    }
    let mut ok = 0;
    while let Some(r) = set.join_next().await {
        ok += usize::from(r.unwrap());
    }
    assert_eq!(ok, 2, "each infrastructure is destroyed exactly once");
    for id in infs.iter() {
        for base in bases.iter() {
            let (status, _) = ok_call(&c, base, "GET", &format!("/infrastructures/{id}"), "").await;
            assert_eq!(status, 404);
            let (status, _) =
                ok_call(&c, base, "POST", &format!("/infrastructures/{id}"), ADD).await;
            assert_eq!(status, 404, "an add brought {id} back");
        }
    }
    let ids = db.cloud_ids();
    assert_eq!(ids.iter().collect::<HashSet<_>>().len(), ids.len());
}

/// The auth items of [`AUTH`] as an operation record keeps them.
const AUTH_JSON: &str = r#"[{"id":"im","type":"InfrastructureManager","username":"multi","password":"p"},{"id":"dummy","type":"Dummy"}]"#;

impl Db {
    /// Leaves the database as an instance killed in the middle of an
    /// operation leaves it: the operation's record in the infrastructure's
    /// row (a new version) and a lease with open work, held by an instance
    /// that will never renew it.
    fn leave_open_operation(&self, id: &str, op: &str) {
        let op = op.replace('\'', "''");
        // MySQL reads backslashes in string literals as escapes.
        let op = match self.engine {
            Engine::Postgres => op,
            Engine::MySql => op.replace('\\', "\\\\"),
        };
        let set = match self.engine {
            Engine::Postgres => format!(
                "UPDATE infrastructures SET version = version + 1, \
                 data = (data::jsonb || jsonb_build_object('im_op', '{op}'::jsonb))::text \
                 WHERE id = '{id}'"
            ),
            Engine::MySql => format!(
                "UPDATE infrastructures SET version = version + 1, \
                 data = JSON_SET(data, '$.im_op', JSON_EXTRACT('{op}', '$')) WHERE id = '{id}'"
            ),
        };
        self.sql_in(Some(&self.name), &set);
        // One statement: a live instance's refresh may take the lease meanwhile.
        let upsert = match self.engine {
            Engine::Postgres => {
                "ON CONFLICT (inf_id) DO UPDATE SET \
                 owner = 'dead-instance', lease_until = 1, work = 1"
            }
            Engine::MySql => {
                "ON DUPLICATE KEY UPDATE \
                 owner = 'dead-instance', lease_until = 1, work = 1"
            }
        };
        self.sql_in(
            Some(&self.name),
            &format!(
                "INSERT INTO inf_leases (inf_id, owner, lease_until, work) \
                 VALUES ('{id}', 'dead-instance', 1, 1) {upsert}"
            ),
        );
    }
}

/// What a dead instance left half done is finished by the live ones: an
/// asynchronous destroy is completed, an asynchronous create that had not
/// launched anything is launched, each exactly once.
async fn work_left_by_a_dead_instance_is_finished_by_the_others(engine: Engine) {
    let Some(db) = Db::create(engine, "takeover") else {
        return;
    };
    let url = db.url();
    let inst: Vec<Instance> = (0..2).map(|_| Instance::start(&url)).collect();
    let c = client();
    let (status, doomed) = create(&c, &inst[0].base, false).await.unwrap();
    assert_eq!(status, 200, "{doomed}");
    // A create whose launch had not started: its RADL deploys nothing yet.
    let no_deploy = RADL.replace("deploy node 1\n", "");
    let (status, body) = ok_call(&c, &inst[1].base, "POST", "/infrastructures", &no_deploy).await;
    assert_eq!(status, 200, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    let pending = v["uri"]
        .as_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_string();
    assert_eq!(
        vm_ids(&c, &inst[0].base, &pending).await.unwrap(),
        Vec::<i64>::new()
    );
    let radl = serde_json::to_string(RADL).unwrap();
    db.leave_open_operation(
        &doomed,
        &format!(
            r#"{{"kind":"destroy","instance":"dead-instance","started":1,"force":false,"async":true,"auth":{AUTH_JSON}}}"#
        ),
    );
    db.leave_open_operation(
        &pending,
        &format!(
            r#"{{"kind":"create","instance":"dead-instance","started":1,"async":true,"radl":{radl},"auth":{AUTH_JSON}}}"#
        ),
    );
    for i in &inst {
        assert!(gone(&c, &i.base, &doomed).await, "{doomed} not destroyed");
        // It reads `failed` (nothing deployed) until the takeover launches it.
        let mut s = String::new();
        for _ in 0..600 {
            s = state(&c, &i.base, &pending).await.unwrap().0;
            if s == "configured" {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(s, "configured", "{pending} never launched");
        assert_eq!(vm_ids(&c, &i.base, &pending).await.unwrap(), [0]);
    }
    let ids = db.cloud_ids();
    assert_eq!(ids.len(), 2, "one VM destroyed, one launched once: {ids:?}");
}

/// `GET /infrastructures` as another identity.
async fn list_as(c: &reqwest::Client, base: &str, auth: &str) -> HashSet<String> {
    let resp = c
        .get(format!("{base}/infrastructures"))
        .header("Authorization", auth)
        .header("Accept", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    last_segments(&resp.text().await.unwrap(), "uri-list")
        .into_iter()
        .collect()
}

/// Listing on a shared database reads the caller's rows of the owner index:
/// an owner added on one instance lists it on the others at once, a wrong
/// password or another user does not, and the creator still does.
async fn owners_changed_on_one_instance_list_on_the_others(engine: Engine) {
    let Some(db) = Db::create(engine, "owners") else {
        return;
    };
    let url = db.url();
    let inst: Vec<Instance> = (0..3).map(|_| Instance::start(&url)).collect();
    let at = |n: usize| inst[n].base.as_str();
    let c = client();
    let (status, id) = create(&c, at(0), false).await.unwrap();
    assert_eq!(status, 200, "{id}");
    let other = r"id = im; type = InfrastructureManager; username = other; password = q";
    let wrong = r"id = im; type = InfrastructureManager; username = multi; password = nope";
    for n in 0..3 {
        assert!(!list_as(&c, at(n), other).await.contains(&id));
    }
    let path = format!("/infrastructures/{id}/authorization");
    let resp = c
        .post(format!("{}{path}", at(1)))
        .header("Authorization", AUTH)
        .header("Content-Type", "application/json")
        .body(r#"{"username": "other", "password": "q"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(
        resp.status().as_u16(),
        200,
        "{}",
        resp.text().await.unwrap()
    );
    for n in 0..3 {
        assert!(
            list_as(&c, at(n), other).await.contains(&id),
            "instance {n}"
        );
        assert!(list(&c, at(n)).await.contains(&id), "instance {n}");
        assert!(
            !list_as(&c, at(n), wrong).await.contains(&id),
            "instance {n}"
        );
    }
}

mod on_postgresql {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn work_left_by_a_dead_instance_is_finished_by_the_others() {
        super::work_left_by_a_dead_instance_is_finished_by_the_others(Engine::Postgres).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn each_step_of_a_lifecycle_on_a_different_instance_agrees_everywhere() {
        lifecycles_spread_over_three_instances(Engine::Postgres).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn kill_nine_of_instances_under_load_loses_and_duplicates_nothing() {
        super::kill_nine_of_instances_under_load_loses_and_duplicates_nothing(Engine::Postgres)
            .await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn sixteen_clients_racing_lose_no_update_and_resurrect_nothing() {
        sixteen_clients_racing_on_the_same_infrastructures(Engine::Postgres).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn owners_changed_on_one_instance_list_on_the_others() {
        super::owners_changed_on_one_instance_list_on_the_others(Engine::Postgres).await;
    }
}

mod on_mariadb {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn work_left_by_a_dead_instance_is_finished_by_the_others() {
        super::work_left_by_a_dead_instance_is_finished_by_the_others(Engine::MySql).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn each_step_of_a_lifecycle_on_a_different_instance_agrees_everywhere() {
        lifecycles_spread_over_three_instances(Engine::MySql).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn kill_nine_of_instances_under_load_loses_and_duplicates_nothing() {
        super::kill_nine_of_instances_under_load_loses_and_duplicates_nothing(Engine::MySql).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn sixteen_clients_racing_lose_no_update_and_resurrect_nothing() {
        sixteen_clients_racing_on_the_same_infrastructures(Engine::MySql).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn owners_changed_on_one_instance_list_on_the_others() {
        super::owners_changed_on_one_instance_list_on_the_others(Engine::MySql).await;
    }
}
