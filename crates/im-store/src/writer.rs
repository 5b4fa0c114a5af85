//! Writes of a SQLite file: one connection of their own, driven in place
//! with rusqlite (the same bundled libsqlite3 as sqlx's). Whoever finds it
//! free commits every write queued so far as one transaction (flat
//! combining): an uncontended write runs in its caller's task without a
//! thread hand-off, and the writes that queue up while a commit is syncing
//! go together in the next one (group commit): N concurrent writers cost one
//! disk sync instead of N, and nobody sleeps in SQLite's busy handler.
//!
//! Why not a sqlx connection: sqlx runs each SQLite connection on a worker
//! thread of its own and every statement is a round trip to it (two thread
//! wake-ups); a create's half-dozen statements cost more in hand-offs than in
//! SQLite. Here statements are prepared once and cached, and a write wakes
//! no thread (the combiner sends one reply per write it committed for
//! others). The commit blocks its caller's runtime thread for as long as it
//! takes (a disk sync, well under a millisecond here), as a dedicated
//! thread's wake-ups cost about as much.
//!
//! Each write of a batch runs inside its own savepoint: a write that fails (a
//! version conflict, an existing id) is rolled back alone and gets its error;
//! the others commit. If the commit itself fails, every write of the batch
//! gets the error and the connection is reopened for the next batch. A batch
//! in which no write asked for durability (provisional inserts) is committed
//! with `synchronous = NORMAL`: in the log, not yet synced; the next durable
//! commit syncs it (one log, written in order).
//!
//! The rows written are [`Prepared`]: serialized in the caller's task (so
//! concurrent writers do their JSON in parallel), the same for every backend
//! (the PostgreSQL/MySQL path in [`crate::sql`] writes them through sqlx).

use std::collections::{HashMap, VecDeque};
use std::path::PathBuf;
use std::time::Duration;

use im_auth::ImUser;
use im_core::{StoreError, StoredInf, VmChanges, now_secs};
use rusqlite::{Connection, OpenFlags, OptionalExtension as _, params};
use tokio::sync::oneshot;

use crate::sql::owner_key;

/// The most writes committed together.
const MAX_BATCH: usize = 128;

/// One write of an infrastructure, serialized: the rows to store.
#[derive(Debug)]
pub(crate) struct Prepared {
    /// Infrastructure id.
    pub id: String,
    /// The version written (1 on insert; an update expects `version - 1`).
    pub version: i64,
    /// Tombstone flag.
    pub deleted: bool,
    /// Creation time, seconds since the epoch.
    pub created_at: i64,
    /// The owners as JSON.
    pub owners: String,
    /// Their distinct owner-index keys.
    pub owner_keys: Vec<String>,
    /// The infrastructure's fields as JSON.
    pub data: String,
    /// Insert or update, with the VM rows.
    pub kind: Kind,
    /// An insert of an id that may have been stored before (an import):
    /// owner keys and VM rows of that id that a manual purge of
    /// `infrastructures` left behind are deleted first. A create's id is new
    /// (a time-based UUID of this server), and skipping the two deletes
    /// spares a twentieth of a create on PostgreSQL.
    pub replace_left_rows: bool,
}

/// What a [`Prepared`] write does.
#[derive(Debug)]
pub(crate) enum Kind {
    /// A new infrastructure with these VM rows (`im_id`, JSON).
    Insert(Vec<(i64, String)>),
    /// A compare-and-set update.
    Update(VmRows),
}

/// The VM rows an update writes.
#[derive(Debug)]
pub(crate) enum VmRows {
    /// These rows inserted or replaced, these deleted; others untouched.
    Some {
        upsert: Vec<(i64, String)>,
        delete: Vec<i64>,
    },
    /// Exactly these rows: unchanged ones are not rewritten, the others
    /// deleted.
    All(Vec<(i64, String)>),
}

fn to_json<T: serde::Serialize + ?Sized>(v: &T) -> Result<String, StoreError> {
    serde_json::to_string(v).map_err(|e| StoreError::Backend(format!("cannot serialize: {e}")))
}

/// The distinct owner keys of an owner list.
pub(crate) fn owner_keys(owners: &[ImUser]) -> Vec<String> {
    let mut keys: Vec<String> = Vec::with_capacity(owners.len());
    for o in owners {
        let k = owner_key(&o.username);
        if !keys.contains(&k) {
            keys.push(k);
        }
    }
    keys
}

impl Prepared {
    fn new(inf: &StoredInf, kind: Kind) -> Result<Prepared, StoreError> {
        Ok(Prepared {
            id: inf.id.clone(),
            version: inf.version,
            deleted: inf.deleted,
            created_at: inf.created_at,
            owners: to_json(&inf.owners)?,
            owner_keys: owner_keys(&inf.owners),
            data: to_json(&inf.data)?,
            kind,
            replace_left_rows: false,
        })
    }

    /// The rows of a [`im_core::Store::insert`].
    pub(crate) fn insert(inf: &StoredInf) -> Result<Prepared, StoreError> {
        let vms = inf
            .vms
            .iter()
            .map(|v| Ok((v.im_id, to_json(&v.data)?)))
            .collect::<Result<_, StoreError>>()?;
        Self::new(inf, Kind::Insert(vms))
    }

    /// The rows of a [`im_core::Store::insert_imported`].
    pub(crate) fn import(inf: &StoredInf) -> Result<Prepared, StoreError> {
        let mut p = Self::insert(inf)?;
        p.replace_left_rows = true;
        Ok(p)
    }

    /// The rows of a [`im_core::Store::update`].
    pub(crate) fn update(inf: &StoredInf, changes: VmChanges<'_>) -> Result<Prepared, StoreError> {
        let rows = match changes {
            VmChanges::None => VmRows::Some {
                upsert: Vec::new(),
                delete: Vec::new(),
            },
            VmChanges::Some(ids) => {
                let (mut upsert, mut delete) = (Vec::new(), Vec::new());
                for (n, &im_id) in ids.iter().enumerate() {
                    if ids[..n].contains(&im_id) {
                        continue;
                    }
                    match inf.vms.iter().rev().find(|v| v.im_id == im_id) {
                        Some(vm) => upsert.push((im_id, to_json(&vm.data)?)),
                        // Named but gone from the infrastructure: the row goes too.
                        None => delete.push(im_id),
                    }
                }
                VmRows::Some { upsert, delete }
            }
            VmChanges::All => VmRows::All(
                inf.vms
                    .iter()
                    .map(|v| Ok((v.im_id, to_json(&v.data)?)))
                    .collect::<Result<_, StoreError>>()?,
            ),
        };
        Self::new(inf, Kind::Update(rows))
    }
}

#[derive(Debug)]
struct Job {
    write: Prepared,
    durable: bool,
    reply: oneshot::Sender<Result<(), StoreError>>,
}

/// The writes of a SQLite file: a queue and the connection, shared by the
/// store's tasks. Whoever finds the connection free commits what is queued
/// (flat combining): an uncontended write runs in its caller's task without
/// waking any thread, and writes that queue up while a commit is syncing go
/// together in the next one (group commit).
#[derive(Debug)]
pub(crate) struct WriterHandle {
    config: WriterConfig,
    queue: std::sync::Mutex<VecDeque<Job>>,
    conn: std::sync::Mutex<Option<Writer>>,
    /// Batches committed so far (one transaction each).
    batches: std::sync::atomic::AtomicU64,
}

impl WriterHandle {
    /// The writer of a SQLite file; its connection opens at the first write.
    pub(crate) fn new(config: WriterConfig) -> WriterHandle {
        WriterHandle {
            config,
            queue: std::sync::Mutex::new(VecDeque::new()),
            conn: std::sync::Mutex::new(None),
            batches: std::sync::atomic::AtomicU64::new(0),
        }
    }

    /// The batches committed so far: one transaction, one disk sync each.
    #[cfg(test)]
    pub(crate) fn batches(&self) -> u64 {
        self.batches.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Queues a write and waits for its commit.
    pub(crate) async fn submit(&self, write: Prepared, durable: bool) -> Result<(), StoreError> {
        let (reply, answer) = oneshot::channel();
        lock(&self.queue).push_back(Job {
            write,
            durable,
            reply,
        });
        // The tasks that are ready run first, so that those about to write
        // join this commit: on a runtime with one worker nobody else could
        // queue a write while it syncs. Costs one turn of the scheduler.
        tokio::task::yield_now().await;
        self.combine();
        answer
            .await
            .map_err(|_| StoreError::Backend("the database writer has stopped".into()))?
    }

    /// Commits the queued writes if nobody else is: batch after batch until
    /// the queue is empty. A write queued while the connection is busy is
    /// committed by its holder, who looks at the queue again after letting
    /// the connection go, so no write is left waiting: the owner of a queued
    /// job either takes the connection or found it held by someone whose
    /// next look at the queue comes after the push.
    fn combine(&self) {
        loop {
            let Ok(mut conn) = self.conn.try_lock() else {
                return;
            };
            loop {
                let batch: Vec<Job> = {
                    let mut q = lock(&self.queue);
                    let n = q.len().min(MAX_BATCH);
                    q.drain(..n).collect()
                };
                if batch.is_empty() {
                    break;
                }
                self.commit_batch(&mut conn, batch);
            }
            drop(conn);
            if lock(&self.queue).is_empty() {
                return;
            }
        }
    }

    /// Commits one batch on the connection (opened if needed) and answers
    /// every job of it.
    fn commit_batch(&self, writer: &mut Option<Writer>, batch: Vec<Job>) {
        if writer.is_none() {
            match open(&self.config) {
                Ok(w) => *writer = Some(w),
                Err(e) => {
                    for job in batch {
                        let _ = job.reply.send(Err(StoreError::Backend(e.to_string())));
                    }
                    return;
                }
            }
        }
        self.batches
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let relax = self.config.full && batch.iter().all(|j| !j.durable);
        let results = match writer.as_mut() {
            Some(w) => {
                let results = w.commit(&batch, relax);
                if results
                    .iter()
                    .any(|r| matches!(r, Err(StoreError::Backend(_))))
                {
                    // A connection in an unknown state is not reused.
                    *writer = None;
                }
                results
            }
            None => batch
                .iter()
                .map(|_| Err(StoreError::Backend("no database connection".into())))
                .collect(),
        };
        for (job, result) in batch.into_iter().zip(results) {
            // The caller may have given up waiting; its write stands anyway.
            let _ = job.reply.send(result);
        }
    }
}

/// Locks a mutex whose holder may have panicked (what it guards stays
/// usable: a queue, or a connection reopened after a failed batch).
fn lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// How the writer opens its connection.
#[derive(Debug, Clone)]
pub(crate) struct WriterConfig {
    /// The database file (exists: the store opened and migrated it).
    pub path: PathBuf,
    /// SQLite's busy timeout.
    pub busy_timeout: Duration,
    /// Whether commits sync (`synchronous = FULL`), so that a batch of
    /// provisional writes may skip it.
    pub full: bool,
}

/// The writer's connection and the `synchronous` setting it has now.
struct Writer {
    conn: Connection,
    relaxed: bool,
}

impl std::fmt::Debug for Writer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Writer")
            .field("relaxed", &self.relaxed)
            .finish_non_exhaustive()
    }
}

fn backend(what: &str, e: rusqlite::Error) -> StoreError {
    StoreError::Backend(format!("{what}: {e}"))
}

fn open(config: &WriterConfig) -> Result<Writer, StoreError> {
    let conn = Connection::open_with_flags(
        &config.path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| backend("cannot open the database for writing", e))?;
    conn.busy_timeout(config.busy_timeout)
        .map_err(|e| backend("cannot set the busy timeout", e))?;
    conn.set_prepared_statement_cache_capacity(32);
    let sync = if config.full { "FULL" } else { "NORMAL" };
    conn.execute_batch(&format!("PRAGMA synchronous = {sync}"))
        .map_err(|e| backend("cannot set the commit mode", e))?;
    Ok(Writer {
        conn,
        relaxed: false,
    })
}

impl Writer {
    fn exec(&self, sql: &str, what: &str) -> Result<(), StoreError> {
        self.conn
            .prepare_cached(sql)
            .and_then(|mut s| s.execute([]))
            .map(|_| ())
            .map_err(|e| backend(what, e))
    }

    /// Commits a batch; one result per job, in order. A batch of one needs no
    /// savepoint: its failure rolls back the transaction.
    fn commit(&mut self, batch: &[Job], relax: bool) -> Vec<Result<(), StoreError>> {
        let fail_all = |e: StoreError| -> Vec<Result<(), StoreError>> {
            batch
                .iter()
                .map(|_| Err(StoreError::Backend(e.to_string())))
                .collect()
        };
        if relax != self.relaxed {
            let sql = if relax {
                "PRAGMA synchronous = NORMAL"
            } else {
                "PRAGMA synchronous = FULL"
            };
            // Not a cached statement: SQLite applies `PRAGMA synchronous`
            // when it compiles it, so a re-run of a cached one changes
            // nothing (and would leave durable commits unsynced after a
            // re-compilation of the other one).
            if let Err(e) = self
                .conn
                .execute_batch(sql)
                .map_err(|e| backend("cannot set the commit mode", e))
            {
                return fail_all(e);
            }
            self.relaxed = relax;
        }
        if let Err(e) = self.exec("BEGIN IMMEDIATE", "cannot begin a write") {
            return fail_all(e);
        }
        let results = if let [job] = batch {
            let result = apply(&self.conn, &job.write);
            if result.is_err() {
                return match self.exec("ROLLBACK", "cannot roll back a write") {
                    Ok(()) => vec![result],
                    Err(e) => fail_all(e),
                };
            }
            vec![result]
        } else {
            let mut results = Vec::with_capacity(batch.len());
            for job in batch {
                if let Err(e) = self.exec("SAVEPOINT w", "cannot open a savepoint") {
                    return self.abort(batch, e);
                }
                let result = apply(&self.conn, &job.write);
                let ended = if result.is_ok() {
                    self.exec("RELEASE w", "cannot close a savepoint")
                } else {
                    self.exec("ROLLBACK TO w", "cannot roll back a savepoint")
                        .and_then(|()| self.exec("RELEASE w", "cannot close a savepoint"))
                };
                if let Err(e) = ended {
                    return self.abort(batch, e);
                }
                results.push(result);
            }
            results
        };
        match self.exec("COMMIT", "cannot commit a write") {
            Ok(()) => results,
            Err(e) => self.abort(batch, e),
        }
    }

    /// Rolls back what is left of a failed batch; every job gets `e`.
    fn abort(&self, batch: &[Job], e: StoreError) -> Vec<Result<(), StoreError>> {
        if !self.conn.is_autocommit() {
            let _ = self.conn.execute_batch("ROLLBACK");
        }
        batch
            .iter()
            .map(|_| Err(StoreError::Backend(e.to_string())))
            .collect()
    }
}

const INSERT_INF: &str = "INSERT INTO infrastructures \
    (id, version, deleted, created_at, updated_at, owners, data) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";
const UPDATE_INF: &str = "UPDATE infrastructures \
    SET version = ?1, deleted = ?2, updated_at = ?3, data = ?4 WHERE id = ?5 AND version = ?6";
const UPDATE_OWNERS: &str = "UPDATE infrastructures SET owners = ?1 WHERE id = ?2 AND owners <> ?1";
const DELETE_OWNER_KEYS: &str = "DELETE FROM inf_owners WHERE inf_id = ?1";
const INSERT_OWNER_KEY: &str = "INSERT INTO inf_owners (owner_key, inf_id) VALUES (?1, ?2)";
const DELETE_VMS_OF: &str = "DELETE FROM vms WHERE inf_id = ?1";
const SELECT_VMS: &str = "SELECT im_id, data FROM vms WHERE inf_id = ?1";
const UPSERT_VM: &str = "INSERT INTO vms (inf_id, im_id, data) VALUES (?1, ?2, ?3) \
    ON CONFLICT (inf_id, im_id) DO UPDATE SET data = excluded.data";
const DELETE_VM: &str = "DELETE FROM vms WHERE inf_id = ?1 AND im_id = ?2";

/// Runs a cached statement with parameters; the number of rows changed.
fn run_stmt(
    conn: &Connection,
    sql: &str,
    p: impl rusqlite::Params,
    what: &str,
) -> Result<usize, StoreError> {
    conn.prepare_cached(sql)
        .and_then(|mut s| s.execute(p))
        .map_err(|e| backend(what, e))
}

/// Applies one write inside the open transaction (the same statements as
/// the sqlx path of [`crate::sql::SqlStore`]).
fn apply(conn: &Connection, w: &Prepared) -> Result<(), StoreError> {
    match &w.kind {
        Kind::Insert(vms) => {
            let inserted = conn.prepare_cached(INSERT_INF).and_then(|mut s| {
                s.execute(params![
                    w.id,
                    w.version,
                    i64::from(w.deleted),
                    w.created_at,
                    now_secs(),
                    w.owners,
                    w.data
                ])
            });
            if let Err(e) = inserted {
                if matches!(
                    e.sqlite_error_code(),
                    Some(rusqlite::ErrorCode::ConstraintViolation)
                ) {
                    return Err(StoreError::Exists(w.id.clone()));
                }
                return Err(backend("cannot insert an infrastructure", e));
            }
            if w.replace_left_rows {
                run_stmt(conn, DELETE_OWNER_KEYS, [&w.id], "cannot clean owner keys")?;
                run_stmt(conn, DELETE_VMS_OF, [&w.id], "cannot clean VMs")?;
            }
            insert_owner_keys(conn, w)?;
            for (im_id, data) in vms {
                run_stmt(
                    conn,
                    UPSERT_VM,
                    params![w.id, im_id, data],
                    "cannot write a VM",
                )?;
            }
        }
        Kind::Update(rows) => {
            let done = run_stmt(
                conn,
                UPDATE_INF,
                params![
                    w.version,
                    i64::from(w.deleted),
                    now_secs(),
                    w.data,
                    w.id,
                    w.version - 1
                ],
                "cannot update an infrastructure",
            )?;
            if done == 0 {
                return Err(StoreError::Conflict(w.id.clone()));
            }
            // Owners rarely change: rewrite their index only when they did.
            let changed = run_stmt(
                conn,
                UPDATE_OWNERS,
                params![w.owners, w.id],
                "cannot update the owners",
            )?;
            if changed > 0 {
                run_stmt(
                    conn,
                    DELETE_OWNER_KEYS,
                    [&w.id],
                    "cannot reindex the owners",
                )?;
                insert_owner_keys(conn, w)?;
            }
            match rows {
                VmRows::Some { upsert, delete } => {
                    for (im_id, data) in upsert {
                        run_stmt(
                            conn,
                            UPSERT_VM,
                            params![w.id, im_id, data],
                            "cannot write a VM",
                        )?;
                    }
                    for im_id in delete {
                        run_stmt(conn, DELETE_VM, params![w.id, im_id], "cannot delete a VM")?;
                    }
                }
                VmRows::All(vms) => write_all_vms(conn, &w.id, vms)?,
            }
        }
    }
    Ok(())
}

fn insert_owner_keys(conn: &Connection, w: &Prepared) -> Result<(), StoreError> {
    for key in &w.owner_keys {
        run_stmt(
            conn,
            INSERT_OWNER_KEY,
            params![key, w.id],
            "cannot index the owners",
        )?;
    }
    Ok(())
}

/// Makes the VM rows of `id` exactly `vms`, rewriting only those that
/// changed (most updates touch few VMs).
fn write_all_vms(conn: &Connection, id: &str, vms: &[(i64, String)]) -> Result<(), StoreError> {
    let mut stored: HashMap<i64, String> = HashMap::new();
    {
        let mut stmt = conn
            .prepare_cached(SELECT_VMS)
            .map_err(|e| backend("cannot read the VMs", e))?;
        let mut rows = stmt
            .query([id])
            .map_err(|e| backend("cannot read the VMs", e))?;
        while let Some(r) = rows.next().map_err(|e| backend("cannot read the VMs", e))? {
            let im_id: i64 = r.get(0).map_err(|e| backend("cannot read the VMs", e))?;
            let data: String = r.get(1).map_err(|e| backend("cannot read the VMs", e))?;
            stored.insert(im_id, data);
        }
    }
    for (im_id, data) in vms {
        if stored.remove(im_id).as_deref() != Some(data.as_str()) {
            run_stmt(
                conn,
                UPSERT_VM,
                params![id, im_id, data],
                "cannot write a VM",
            )?;
        }
    }
    for im_id in stored.keys() {
        run_stmt(conn, DELETE_VM, params![id, im_id], "cannot delete a VM")?;
    }
    Ok(())
}

/// Reads the index of a SQLite file (live infrastructures, newest first) on
/// a connection of its own, in place: `(id, owners JSON, created_at)` with
/// each distinct owners text parsed once.
pub(crate) fn read_index(path: &std::path::Path) -> Result<Vec<im_core::IndexEntry>, StoreError> {
    let err = |e: rusqlite::Error| backend("cannot load the index", e);
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(err)?;
    let count: i64 = conn
        .query_row(
            "SELECT count(*) FROM infrastructures WHERE deleted = 0",
            [],
            |r| r.get(0),
        )
        .optional()
        .map_err(err)?
        .unwrap_or(0);
    let mut stmt = conn
        .prepare(
            "SELECT id, owners, created_at FROM infrastructures \
             WHERE deleted = 0 ORDER BY created_at DESC, rowid DESC",
        )
        .map_err(err)?;
    let mut rows = stmt.query([]).map_err(err)?;
    let mut parsed: HashMap<String, Vec<ImUser>> = HashMap::new();
    let mut out = Vec::with_capacity(usize::try_from(count).unwrap_or(0));
    while let Some(r) = rows.next().map_err(err)? {
        let id = r
            .get_ref(0)
            .and_then(|v| Ok(v.as_str()?.to_string()))
            .map_err(err)?;
        let text = r.get_ref(1).and_then(|v| Ok(v.as_str()?)).map_err(err)?;
        let owners = match parsed.get(text) {
            Some(o) => o.clone(),
            None => {
                let o: Vec<ImUser> = serde_json::from_str(text)
                    .map_err(|e| StoreError::Backend(format!("corrupt owners: {e}")))?;
                parsed.insert(text.to_string(), o.clone());
                o
            }
        };
        let created_at: i64 = r.get(2).map_err(err)?;
        out.push(im_core::IndexEntry {
            id,
            owners,
            created_at,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn synchronous(w: &Writer) -> i64 {
        w.conn
            .query_row("PRAGMA synchronous", [], |r| r.get(0))
            .expect("PRAGMA synchronous")
    }

    fn prepared(id: &str) -> Prepared {
        Prepared {
            id: id.into(),
            version: 1,
            deleted: false,
            created_at: 0,
            owners: String::new(),
            owner_keys: Vec::new(),
            data: "{}".into(),
            kind: Kind::Insert(Vec::new()),
            replace_left_rows: false,
        }
    }

    fn job(id: &str) -> Job {
        let (reply, _answer) = oneshot::channel();
        Job {
            write: prepared(id),
            durable: false,
            reply,
        }
    }

    /// A database file with the tables the writer writes.
    fn database(dir: &tempfile::TempDir) -> WriterConfig {
        let path = dir.path().join("w.db");
        let conn = Connection::open(&path).expect("open");
        conn.execute_batch(
            "PRAGMA journal_mode = WAL;
             CREATE TABLE infrastructures (id TEXT PRIMARY KEY, version INTEGER, deleted INTEGER,
               created_at INTEGER, updated_at INTEGER, owners TEXT, data TEXT);
             CREATE TABLE inf_owners (owner_key TEXT, inf_id TEXT);
             CREATE TABLE vms (inf_id TEXT, im_id INTEGER, data TEXT, PRIMARY KEY (inf_id, im_id));",
        )
        .expect("schema");
        WriterConfig {
            path,
            busy_timeout: Duration::from_secs(1),
            full: true,
        }
    }

    #[test]
    fn concurrent_writes_on_a_single_threaded_runtime_share_one_commit() {
        let dir = tempfile::tempdir().expect("tempdir");
        let w = std::sync::Arc::new(WriterHandle::new(database(&dir)));
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime");
        rt.block_on(async {
            let tasks: Vec<_> = (0..16)
                .map(|i| {
                    let w = w.clone();
                    tokio::spawn(async move { w.submit(prepared(&format!("c{i}")), true).await })
                })
                .collect();
            for t in tasks {
                t.await.expect("task").expect("committed");
            }
        });
        // Each write yields before committing, so the 16 are queued when
        // the first one commits: one transaction, one disk sync.
        assert_eq!(w.batches(), 1);
        let conn = Connection::open(dir.path().join("w.db")).expect("open");
        let n: i64 = conn
            .query_row("SELECT count(*) FROM infrastructures", [], |r| r.get(0))
            .expect("count");
        assert_eq!(n, 16);
    }

    #[test]
    fn each_batch_commits_with_the_sync_mode_it_asks_for_however_often_it_alternates() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut w = open(&database(&dir)).expect("writer");
        for round in 0..3 {
            let provisional = w.commit(&[job(&format!("p{round}"))], true);
            assert!(provisional.iter().all(Result::is_ok), "{provisional:?}");
            assert_eq!(
                synchronous(&w),
                1,
                "round {round}: a provisional batch is NORMAL"
            );
            let durable = w.commit(&[job(&format!("d{round}"))], false);
            assert!(durable.iter().all(Result::is_ok), "{durable:?}");
            assert_eq!(synchronous(&w), 2, "round {round}: a durable batch is FULL");
        }
    }
}
