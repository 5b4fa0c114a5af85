//! Group commit for a SQLite file: one task owns every write and commits the
//! writes that queued up while the previous commit was syncing as one
//! transaction, so N concurrent writers cost one disk sync instead of N, and
//! nobody sleeps in SQLite's busy handler (whose back-off, up to 100 ms per
//! try, made the tail of concurrent creates hundreds of milliseconds).
//!
//! Each write runs inside its own savepoint: a write that fails (a version
//! conflict, an existing id) is rolled back alone and gets its error; the
//! others commit. If the commit itself fails, every write of the batch gets
//! the error. A batch in which no write asked for durability (provisional
//! inserts) is committed on a connection with `synchronous = NORMAL`: in the
//! log, not yet synced; the next durable commit syncs it.

use im_core::{StoreError, StoredInf, VmChanges};
use sqlx::{AnyConnection, Connection as _};
use tokio::sync::{mpsc, oneshot};

use crate::sql::SqlStore;

/// The most writes committed together.
const MAX_BATCH: usize = 128;

/// One write, owned so it can cross to the writer task.
#[derive(Debug)]
pub(crate) enum WriteOp {
    /// [`im_core::Store::insert`].
    Insert(StoredInf),
    /// [`im_core::Store::update`].
    Update(StoredInf, OwnedVmChanges),
}

/// [`VmChanges`] without the borrow.
#[derive(Debug)]
pub(crate) enum OwnedVmChanges {
    None,
    Some(Vec<i64>),
    All,
}

impl From<VmChanges<'_>> for OwnedVmChanges {
    fn from(v: VmChanges<'_>) -> Self {
        match v {
            VmChanges::None => OwnedVmChanges::None,
            VmChanges::Some(ids) => OwnedVmChanges::Some(ids.to_vec()),
            VmChanges::All => OwnedVmChanges::All,
        }
    }
}

impl OwnedVmChanges {
    pub(crate) fn as_changes(&self) -> VmChanges<'_> {
        match self {
            OwnedVmChanges::None => VmChanges::None,
            OwnedVmChanges::Some(ids) => VmChanges::Some(ids),
            OwnedVmChanges::All => VmChanges::All,
        }
    }
}

struct Job {
    op: WriteOp,
    durable: bool,
    reply: oneshot::Sender<Result<(), StoreError>>,
}

/// The sending side of the writer task; the task ends when this is dropped
/// (after the writes already queued).
#[derive(Debug)]
pub(crate) struct WriterHandle {
    tx: mpsc::UnboundedSender<Job>,
}

impl WriterHandle {
    /// Queues a write and waits for its commit.
    pub(crate) async fn submit(&self, op: WriteOp, durable: bool) -> Result<(), StoreError> {
        let (reply, answer) = oneshot::channel();
        self.tx
            .send(Job { op, durable, reply })
            .map_err(|_| StoreError::Backend("the database writer has stopped".into()))?;
        answer
            .await
            .map_err(|_| StoreError::Backend("the database writer has stopped".into()))?
    }
}

/// Starts the writer task of `store` (which must write directly).
pub(crate) fn spawn(store: SqlStore) -> WriterHandle {
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(run(store, rx));
    WriterHandle { tx }
}

async fn run(store: SqlStore, mut rx: mpsc::UnboundedReceiver<Job>) {
    // The writer keeps its own connections (out of the pool): one that syncs
    // every commit and, when the store does, one that does not (for batches
    // of provisional writes), so no batch pays for a pool checkout or a
    // PRAGMA switch. A connection that failed is replaced on the next batch.
    let mut durable: Option<AnyConnection> = None;
    let mut relaxed: Option<AnyConnection> = None;
    let mut batch = Vec::new();
    while let Some(first) = rx.recv().await {
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let relax = store.syncs_every_commit() && batch.iter().all(|j| !j.durable);
        let slot = if relax { &mut relaxed } else { &mut durable };
        let results = match connection(&store, slot, relax).await {
            Ok(conn) => {
                let results = commit_on(&store, conn, &batch).await;
                if results
                    .iter()
                    .any(|r| matches!(r, Err(StoreError::Backend(_))))
                {
                    *slot = None;
                }
                results
            }
            Err(e) => batch
                .iter()
                .map(|_| Err(StoreError::Backend(e.clone())))
                .collect(),
        };
        for (job, result) in batch.drain(..).zip(results) {
            // The caller may have given up waiting; its write stands anyway.
            let _ = job.reply.send(result);
        }
    }
}

/// The writer's connection of one kind, opened when missing.
async fn connection<'a>(
    store: &SqlStore,
    slot: &'a mut Option<AnyConnection>,
    relaxed: bool,
) -> Result<&'a mut AnyConnection, String> {
    if slot.is_none() {
        let mut conn = store
            .pool()
            .acquire()
            .await
            .map_err(|e| format!("cannot get a connection: {e}"))?
            .detach();
        if relaxed {
            sqlx::query("PRAGMA synchronous = NORMAL")
                .execute(&mut conn)
                .await
                .map_err(|e| format!("cannot relax the commit: {e}"))?;
        }
        *slot = Some(conn);
    }
    slot.as_mut()
        .ok_or_else(|| "no database connection".to_string())
}

/// Commits a batch on `conn`; one result per job, in order. A batch of one
/// needs no savepoint: its failure rolls back the transaction.
async fn commit_on(
    store: &SqlStore,
    conn: &mut AnyConnection,
    batch: &[Job],
) -> Vec<Result<(), StoreError>> {
    let fail_all = |what: &str, e: sqlx::Error| -> Vec<Result<(), StoreError>> {
        batch
            .iter()
            .map(|_| Err(StoreError::Backend(format!("{what}: {e}"))))
            .collect()
    };
    let mut tx = match conn.begin_with(store.begin_write_sql()).await {
        Ok(tx) => tx,
        Err(e) => return fail_all("cannot begin a write", e),
    };
    if let [job] = batch {
        let result = store.apply(&mut tx, &job.op).await;
        if result.is_err() {
            // Dropping the transaction rolls it back.
            return vec![result];
        }
        if let Err(e) = tx.commit().await {
            return fail_all("cannot commit a write", e);
        }
        return vec![result];
    }
    let mut results = Vec::with_capacity(batch.len());
    for job in batch {
        let mut sp = match tx.begin().await {
            Ok(sp) => sp,
            Err(e) => return fail_all("cannot open a savepoint", e),
        };
        let result = store.apply(&mut sp, &job.op).await;
        let ended = if result.is_ok() {
            sp.commit().await
        } else {
            sp.rollback().await
        };
        if let Err(e) = ended {
            return fail_all("cannot close a savepoint", e);
        }
        results.push(result);
    }
    if let Err(e) = tx.commit().await {
        return fail_all("cannot commit a write", e);
    }
    results
}
