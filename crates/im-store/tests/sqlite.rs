//! The shared suite on SQLite (a file and in memory), plus what only SQLite
//! has: URL forms, file creation, WAL, migration of older layouts, and the
//! reference's `inf_list` left alone.

#![allow(clippy::unwrap_used)] // a panic is the failure report

#[macro_use]
mod suite;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use im_core::{IndexEntry, Lease, Store, StoreError, StoredInf, VmChanges};
use im_store::{Dialect, OpenOptions, SqlStore};
use sqlx::Row;
use sqlx::sqlite::SqlitePool;
use tempfile::TempDir;

use suite::{Ns, inf, user};

/// A store on a file in its own temporary directory, removed with the store.
struct FileStore {
    inner: SqlStore,
    _dir: TempDir,
}

#[async_trait]
impl Store for FileStore {
    async fn load_index(&self) -> Result<Vec<IndexEntry>, StoreError> {
        self.inner.load_index().await
    }
    async fn load(&self, id: &str) -> Result<Option<StoredInf>, StoreError> {
        self.inner.load(id).await
    }
    async fn insert(&self, inf: &StoredInf) -> Result<(), StoreError> {
        self.inner.insert(inf).await
    }
    async fn insert_provisional(&self, inf: &StoredInf) -> Result<(), StoreError> {
        self.inner.insert_provisional(inf).await
    }
    async fn update(&self, inf: &StoredInf, vms: VmChanges<'_>) -> Result<(), StoreError> {
        self.inner.update(inf, vms).await
    }
    async fn load_all(&self) -> Result<Vec<StoredInf>, StoreError> {
        self.inner.load_all().await
    }
    async fn load_page(&self, after: &str, limit: usize) -> Result<Vec<StoredInf>, StoreError> {
        self.inner.load_page(after, limit).await
    }
    async fn ping(&self) -> Result<(), StoreError> {
        self.inner.ping().await
    }
    async fn version_of(&self, id: &str) -> Result<Option<(i64, bool)>, StoreError> {
        self.inner.version_of(id).await
    }
    async fn take_lease(
        &self,
        inf_id: &str,
        owner: &str,
        now_ms: i64,
        until_ms: i64,
        work: bool,
    ) -> Result<bool, StoreError> {
        self.inner
            .take_lease(inf_id, owner, now_ms, until_ms, work)
            .await
    }
    async fn renew_leases(&self, owner: &str, until_ms: i64) -> Result<u64, StoreError> {
        self.inner.renew_leases(owner, until_ms).await
    }
    async fn release_lease(
        &self,
        inf_id: &str,
        owner: &str,
        work: Option<bool>,
    ) -> Result<(), StoreError> {
        self.inner.release_lease(inf_id, owner, work).await
    }
    async fn expired_work(&self, now_ms: i64) -> Result<Vec<Lease>, StoreError> {
        self.inner.expired_work(now_ms).await
    }
    async fn open_operations(&self) -> Result<Vec<String>, StoreError> {
        self.inner.open_operations().await
    }
}

fn url_of(path: &Path) -> String {
    format!("sqlite://{}", path.display())
}

async fn open_file() -> Option<Arc<dyn Store>> {
    let dir = tempfile::tempdir().unwrap();
    let inner = SqlStore::open(&url_of(&dir.path().join("im.db")))
        .await
        .unwrap();
    Some(Arc::new(FileStore { inner, _dir: dir }))
}

async fn open_memory() -> Option<Arc<dyn Store>> {
    Some(im_store::open("sqlite::memory:").await.unwrap())
}

mod on_a_sqlite_file {
    store_suite!(super::open_file);
}

mod on_an_in_memory_sqlite {
    store_suite!(super::open_memory);
}

/// A raw connection to a SQLite file, to look at or prepare it behind the store.
async fn raw(path: &Path) -> SqlitePool {
    let opts = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(true);
    SqlitePool::connect_with(opts).await.unwrap()
}

async fn tables(path: &Path) -> Vec<String> {
    let pool = raw(path).await;
    let rows = sqlx::query("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        .fetch_all(&pool)
        .await
        .unwrap();
    pool.close().await;
    rows.iter().map(|r| r.get::<String, _>("name")).collect()
}

#[tokio::test]
async fn a_reopened_file_keeps_everything() {
    let dir = tempfile::tempdir().unwrap();
    let url = url_of(&dir.path().join("restart.db"));
    suite::reopening_the_database_keeps_everything(async || im_store::open(&url).await.unwrap())
        .await;
}

#[tokio::test]
async fn every_open_of_memory_is_a_new_empty_database() {
    let a = im_store::open("sqlite::memory:").await.unwrap();
    a.insert(&inf("only-in-a", 1, 0)).await.unwrap();
    let b = im_store::open("sqlite::memory:").await.unwrap();
    assert_eq!(b.load("only-in-a").await.unwrap(), None);
    assert_eq!(a.load_index().await.unwrap().len(), 1);
}

#[tokio::test]
async fn a_sqlite_url_to_a_missing_directory_creates_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("x/y/z.db");
    let url = format!("sqlite://{}", path.display());
    assert!(url.starts_with("sqlite:///"));
    let s = im_store::open(&url).await.unwrap();
    s.insert(&inf("one", 1, 0)).await.unwrap();
    assert!(path.is_file());
}

#[tokio::test]
async fn every_reference_url_form_opens_the_same_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("im data/inf.dat");
    let first = im_store::open(&format!("sqlite://{}", path.display()))
        .await
        .unwrap();
    first.insert(&inf("shared", 1, 0)).await.unwrap();
    // A path relative to the working directory, written with `..` steps.
    let depth = std::env::current_dir().unwrap().components().count() - 1;
    let relative = format!(
        "{}{}",
        "../".repeat(depth),
        path.display().to_string().trim_start_matches('/')
    );
    for url in [
        format!("file://{}", path.display()),
        format!("file://localhost{}", path.display()),
        format!("sqlite://{}?mode=ro#x", path.display()),
        path.display().to_string(),
        format!("sqlite://{relative}"),
        format!("sqlite:{relative}"),
        relative.clone(),
    ] {
        let s = im_store::open(&url).await.unwrap();
        assert!(s.load("shared").await.unwrap().is_some(), "{url}");
    }
}

#[tokio::test]
async fn a_path_with_url_characters_is_a_plain_file_name() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a%20b ü+c.db");
    let s = im_store::open(&path.display().to_string()).await.unwrap();
    s.insert(&inf("odd", 1, 0)).await.unwrap();
    assert!(path.is_file(), "{}", path.display());
}

#[tokio::test]
async fn the_file_is_in_wal_mode() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("wal.db");
    let s = SqlStore::open(&url_of(&path)).await.unwrap();
    assert_eq!(s.dialect(), Dialect::Sqlite);
    s.insert(&inf("w", 1, 0)).await.unwrap();
    s.close().await;
    // Header bytes 18 and 19 (read and write format versions) are 2 in WAL mode.
    let bytes = std::fs::read(&path).unwrap();
    assert_eq!(&bytes[18..20], &[2, 2]);
}

#[tokio::test]
async fn a_fresh_database_has_the_latest_schema_and_no_inf_list() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fresh.db");
    let s = SqlStore::open(&url_of(&path)).await.unwrap();
    assert_eq!(s.schema_version().await.unwrap(), 4);
    s.close().await;
    assert_eq!(
        tables(&path).await,
        [
            "inf_leases",
            "inf_owners",
            "infrastructures",
            "schema_version",
            "vms"
        ]
    );
    // The owner index is its own primary key (one b-tree fewer per write).
    let pool = raw(&path).await;
    let ddl: String = sqlx::query_scalar("SELECT sql FROM sqlite_schema WHERE name = 'inf_owners'")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert!(ddl.ends_with("WITHOUT ROWID"), "{ddl}");
}

#[tokio::test]
async fn the_reference_inf_list_table_is_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("inf.dat");
    let pool = raw(&path).await;
    sqlx::query(
        "CREATE TABLE inf_list (id VARCHAR(255) PRIMARY KEY, deleted INTEGER, date TIMESTAMP, data TEXT, auth TEXT)",
    )
    .execute(&pool)
    .await
    .unwrap();
    sqlx::query("INSERT INTO inf_list VALUES ('ref-1', 0, '2026-11-28', '{}', '[]')")
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
    let s = im_store::open(&path.display().to_string()).await.unwrap();
    assert!(s.load_index().await.unwrap().is_empty());
    s.insert(&inf("ours", 1, 0)).await.unwrap();
    let pool = raw(&path).await;
    let rows = sqlx::query("SELECT id, data FROM inf_list")
        .fetch_all(&pool)
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].get::<String, _>("id"), "ref-1");
}

/// The first layout of this crate (schema version 1): a `seq` column as rowid,
/// no owner index. Opening it adds and fills the index.
#[tokio::test]
async fn a_version_one_database_is_migrated_and_its_owners_indexed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v1.db");
    let pool = raw(&path).await;
    for stmt in [
        "CREATE TABLE schema_version (version INTEGER NOT NULL)",
        "INSERT INTO schema_version (version) VALUES (1)",
        "CREATE TABLE infrastructures (seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE,
            version INTEGER NOT NULL, deleted INTEGER NOT NULL, created_at INTEGER NOT NULL,
            updated_at INTEGER NOT NULL, owners TEXT NOT NULL, data TEXT NOT NULL)",
        "CREATE TABLE vms (inf_id TEXT NOT NULL, im_id INTEGER NOT NULL, data TEXT NOT NULL,
            PRIMARY KEY (inf_id, im_id))",
        r#"INSERT INTO infrastructures (id, version, deleted, created_at, updated_at, owners, data)
            VALUES ('old-a', 3, 0, 10, 10, '[{"username":"alice","password":"alice-pass","admin":false}]', '{"n":1}'),
                   ('old-b', 1, 0, 20, 20, '[{"username":"bob","password":"bob-pass","admin":false}]', '{}')"#,
        r#"INSERT INTO vms VALUES ('old-a', 0, '{"im_id":0}')"#,
    ] {
        sqlx::query(stmt).execute(&pool).await.unwrap();
    }
    pool.close().await;

    let s = SqlStore::open(&url_of(&path)).await.unwrap();
    assert_eq!(s.schema_version().await.unwrap(), 4);
    assert_eq!(suite::owned_ids(&s, "alice").await, ["old-a"]);
    let a = s.load("old-a").await.unwrap().unwrap();
    assert_eq!((a.version, a.vms.len()), (3, 1));
    let index: Vec<String> = s
        .load_index()
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.id)
        .collect();
    assert_eq!(index, ["old-b", "old-a"]);
    // New rows go on after the old ones.
    s.insert(&inf("new-c", 20, 0)).await.unwrap();
    let index: Vec<String> = s
        .load_index()
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.id)
        .collect();
    assert_eq!(index, ["new-c", "old-b", "old-a"]);
}

#[tokio::test]
async fn a_database_from_a_newer_server_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("future.db");
    SqlStore::open(&url_of(&path)).await.unwrap().close().await;
    let pool = raw(&path).await;
    sqlx::query("UPDATE schema_version SET version = 99")
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
    let err = SqlStore::open(&url_of(&path))
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("schema version 99"), "{err}");
}

#[tokio::test]
async fn listing_by_owner_finds_only_that_owners_live_infrastructures_newest_first() {
    let s = SqlStore::open("sqlite::memory:").await.unwrap();
    let ns = Ns::new();
    let mut shared = inf(&ns.id("shared"), 30, 0);
    shared.owners = vec![user("alice"), user("bob"), user("alice")];
    s.insert(&shared).await.unwrap();
    s.insert(&inf(&ns.id("a1"), 10, 0)).await.unwrap();
    s.insert(&inf(&ns.id("a2"), 20, 0)).await.unwrap();
    let mut b = inf(&ns.id("b"), 40, 0);
    b.owners = vec![user("bob")];
    s.insert(&b).await.unwrap();
    let mut gone = inf(&ns.id("gone"), 50, 0);
    s.insert(&gone).await.unwrap();
    gone.version = 2;
    gone.deleted = true;
    s.update(&gone, VmChanges::None).await.unwrap();

    let ids = async |name: &str| suite::owned_ids(&s, name).await;
    assert_eq!(
        ids("alice").await,
        [ns.id("shared"), ns.id("a2"), ns.id("a1")]
    );
    assert_eq!(ids("bob").await, [ns.id("b"), ns.id("shared")]);
    assert!(ids("carol").await.is_empty());

    // A change of owners moves the infrastructure in the index.
    b.version = 2;
    b.owners = vec![user("carol")];
    s.update(&b, VmChanges::None).await.unwrap();
    assert_eq!(ids("bob").await, [ns.id("shared")]);
    assert_eq!(ids("carol").await, [ns.id("b")]);
}

#[tokio::test]
async fn owner_keys_are_stable_hashes_of_the_username() {
    assert_eq!(im_store::owner_key(""), "cbf29ce484222325");
    assert_eq!(im_store::owner_key("a"), "af63dc4c8601ec8c");
    assert_ne!(im_store::owner_key("alice"), im_store::owner_key("Alice"));
}

#[tokio::test]
async fn a_mongodb_url_is_refused_clearly() {
    let err = SqlStore::open("mongodb://u:p@localhost/im")
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("'mongodb' is not supported"), "{err}");
}

#[tokio::test]
async fn an_unreachable_server_is_an_error_not_a_hang() {
    let opts = OpenOptions {
        acquire_timeout: std::time::Duration::from_secs(3),
        ..OpenOptions::default()
    };
    let start = std::time::Instant::now();
    let err = SqlStore::open_with("postgres://im:secret@127.0.0.1:1/im", &opts)
        .await
        .unwrap_err()
        .to_string();
    assert!(start.elapsed().as_secs() < 10, "{:?}", start.elapsed());
    assert!(!err.contains("secret"), "{err}");
}

#[tokio::test]
async fn an_unwritable_location_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("plain-file");
    std::fs::write(&file, "x").unwrap();
    let path: PathBuf = file.join("sub/im.db");
    assert!(im_store::open(&path.display().to_string()).await.is_err());
}

/// A child process (this test binary again) inserts and updates, printing
/// `acked N` after each write returns; the parent kills it with SIGKILL
/// mid-stream, reopens the file and finds every acknowledged write.
#[test]
fn acknowledged_writes_survive_a_kill_9() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};

    const CHILD: &str = "IM_STORE_TEST_KILL_CHILD";
    if let Ok(url) = std::env::var(CHILD) {
        let rt = tokio::runtime::Runtime::new().unwrap();
        rt.block_on(async {
            let s = im_store::open(&url).await.unwrap();
            for i in 0..100_000 {
                let mut a = inf(&format!("k{i}"), i, 2);
                s.insert(&a).await.unwrap();
                a.version = 2;
                a.vms[1]
                    .data
                    .insert("state".into(), serde_json::json!("stopped"));
                s.update(&a, VmChanges::Some(&[1])).await.unwrap();
                println!("acked {i}");
            }
        });
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let url = url_of(&dir.path().join("kill.db"));
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "acknowledged_writes_survive_a_kill_9",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD, &url)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Kept open until the kill, so the child is still writing when it dies.
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut acked = None;
    for line in lines.by_ref() {
        if let Some(n) = line.unwrap().strip_prefix("acked ") {
            let n: i64 = n.parse().unwrap();
            acked = Some(n);
            if n == 40 {
                break;
            }
        }
    }
    child.kill().unwrap();
    child.wait().unwrap();
    drop(lines);
    let acked = acked.expect("the child acknowledged no write");
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let s = im_store::open(&url).await.unwrap();
        for i in 0..=acked {
            let got = s.load(&format!("k{i}")).await.unwrap().unwrap();
            assert_eq!(got.version, 2, "k{i}");
            assert_eq!(got.vms[1].data["state"], "stopped", "k{i}");
        }
    });
}
