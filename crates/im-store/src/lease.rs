//! Leases and open work in `inf_leases` (schema version 3): which instance
//! runs an infrastructure's background work, until when, and whether an
//! operation is open on it. Every statement is a single-row (or one owner's)
//! compare-and-set outside any transaction of the infrastructure tables, so
//! renewing a lease never touches an infrastructure's version.

use im_core::{Lease, StoreError};
use sqlx::Row;
use sqlx::any::AnyPoolOptions;

use crate::dialect::Dialect;
use crate::sql::{OpenOptions, SqlStore};

/// PostgreSQL: a small pool whose sessions commit without waiting for the
/// WAL to reach the disk, for lease writes. Losing the last of them in a
/// crash of the database server is harmless: every operation writes its
/// record durably *after* taking its lease, and that commit flushes the
/// WAL before it (one log, in order); a lost renewal or release only makes a
/// lease end later or sooner, and the versions still guard every write.
/// This spares two disk flushes per operation. MySQL has no per-session
/// setting: its leases use the main pool.
pub(crate) async fn lease_pool(
    dialect: Dialect,
    url: &str,
    opts: &OpenOptions,
) -> Result<Option<sqlx::AnyPool>, StoreError> {
    if dialect != Dialect::Postgres {
        return Ok(None);
    }
    let pool = crate::sql::ping_when_idle(AnyPoolOptions::new())
        .max_connections(4)
        .min_connections(0)
        .acquire_timeout(opts.acquire_timeout)
        .after_connect(|conn, _meta| {
            Box::pin(async move {
                sqlx::query("SET synchronous_commit = off")
                    .execute(&mut *conn)
                    .await?;
                Ok(())
            })
        })
        .connect_lazy(url)
        .map_err(|e| db_err("cannot set up the lease connections", e))?;
    Ok(Some(pool))
}

fn db_err(what: &str, e: sqlx::Error) -> StoreError {
    StoreError::Backend(format!("{what}: {e}"))
}

impl SqlStore {
    /// See [`im_core::Store::take_lease`].
    ///
    /// One conditional `UPDATE` (free, ours, or expired); when it finds no
    /// row, an `INSERT` (a concurrent insert of the same id fails on the
    /// primary key and loses); then the owner column says who won. Under
    /// READ COMMITTED (PostgreSQL, our MySQL sessions) a second `UPDATE`
    /// waiting on the row re-checks the condition against the winner's
    /// committed row, so two instances never both take an expired lease.
    pub(crate) async fn lease_take(
        &self,
        inf_id: &str,
        owner: &str,
        now_ms: i64,
        until_ms: i64,
        work: bool,
    ) -> Result<bool, StoreError> {
        let d = self.dialect();
        let updated = sqlx::query(sqlx::AssertSqlSafe(d.sql(
            "UPDATE inf_leases SET owner = ?, lease_until = ?, \
             work = CASE WHEN ? = 1 THEN 1 ELSE work END \
             WHERE inf_id = ? AND (owner = ? OR owner = '' OR lease_until < ?)",
        )))
        .bind(owner)
        .bind(until_ms)
        .bind(i64::from(work))
        .bind(inf_id)
        .bind(owner)
        .bind(now_ms)
        .execute(self.lease_writes())
        .await
        .map_err(|e| db_err("cannot take a lease", e))?;
        if updated.rows_affected() > 0 {
            return Ok(true);
        }
        let inserted = sqlx::query(sqlx::AssertSqlSafe(d.sql(
            "INSERT INTO inf_leases (inf_id, owner, lease_until, work) VALUES (?, ?, ?, ?)",
        )))
        .bind(inf_id)
        .bind(owner)
        .bind(until_ms)
        .bind(i64::from(work))
        .execute(self.lease_writes())
        .await;
        match inserted {
            Ok(_) => return Ok(true),
            Err(e)
                if e.as_database_error()
                    .is_some_and(|d| d.is_unique_violation()) => {}
            Err(e) => return Err(db_err("cannot take a lease", e)),
        }
        // The row exists: MySQL counts only changed rows, so an UPDATE that
        // matched our own lease with the same values reports 0; the owner
        // column is the truth.
        let row = sqlx::query(sqlx::AssertSqlSafe(
            d.sql("SELECT owner FROM inf_leases WHERE inf_id = ?"),
        ))
        .bind(inf_id)
        .fetch_optional(self.lease_writes())
        .await
        .map_err(|e| db_err("cannot read a lease", e))?;
        Ok(match row {
            Some(r) => {
                let who: String = r
                    .try_get("owner")
                    .map_err(|e| StoreError::Backend(format!("column owner: {e}")))?;
                who == owner
            }
            None => false,
        })
    }

    /// See [`im_core::Store::renew_leases`].
    pub(crate) async fn lease_renew(&self, owner: &str, until_ms: i64) -> Result<u64, StoreError> {
        let done = sqlx::query(sqlx::AssertSqlSafe(
            self.dialect()
                .sql("UPDATE inf_leases SET lease_until = ? WHERE owner = ?"),
        ))
        .bind(until_ms)
        .bind(owner)
        .execute(self.lease_writes())
        .await
        .map_err(|e| db_err("cannot renew the leases", e))?;
        Ok(done.rows_affected())
    }

    /// See [`im_core::Store::release_lease`].
    pub(crate) async fn lease_release(
        &self,
        inf_id: &str,
        owner: &str,
        work: Option<bool>,
    ) -> Result<(), StoreError> {
        let d = self.dialect();
        let q = match work {
            Some(w) => sqlx::query(sqlx::AssertSqlSafe(d.sql(
                "UPDATE inf_leases SET owner = '', lease_until = 0, work = ? \
                 WHERE inf_id = ? AND owner = ?",
            )))
            .bind(i64::from(w)),
            None => sqlx::query(sqlx::AssertSqlSafe(d.sql(
                "UPDATE inf_leases SET owner = '', lease_until = 0 \
                 WHERE inf_id = ? AND owner = ?",
            ))),
        };
        q.bind(inf_id)
            .bind(owner)
            .execute(self.lease_writes())
            .await
            .map_err(|e| db_err("cannot release a lease", e))?;
        Ok(())
    }

    /// See [`im_core::Store::expired_work`].
    pub(crate) async fn lease_expired_work(&self, now_ms: i64) -> Result<Vec<Lease>, StoreError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(self.dialect().sql(
            "SELECT inf_id, owner, lease_until FROM inf_leases \
             WHERE work = 1 AND lease_until < ? ORDER BY lease_until",
        )))
        .bind(now_ms)
        .fetch_all(self.pool())
        .await
        .map_err(|e| db_err("cannot list the expired leases", e))?;
        rows.iter()
            .map(|r| {
                let col = |e: sqlx::Error| StoreError::Backend(format!("inf_leases: {e}"));
                Ok(Lease {
                    inf_id: r.try_get("inf_id").map_err(col)?,
                    owner: r.try_get("owner").map_err(col)?,
                    until_ms: r.try_get("lease_until").map_err(col)?,
                    work: true,
                })
            })
            .collect()
    }

    /// See [`im_core::Store::version_of`].
    pub(crate) async fn version_probe(&self, id: &str) -> Result<Option<(i64, bool)>, StoreError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(
            self.dialect()
                .sql("SELECT version, deleted FROM infrastructures WHERE id = ?"),
        ))
        .bind(id)
        .fetch_optional(self.pool())
        .await
        .map_err(|e| db_err("cannot read a version", e))?;
        let Some(r) = row else { return Ok(None) };
        let col = |e: sqlx::Error| StoreError::Backend(format!("infrastructures: {e}"));
        let version: i64 = r.try_get("version").map_err(col)?;
        let deleted: i64 = r.try_get("deleted").map_err(col)?;
        Ok(Some((version, deleted != 0)))
    }

    /// See [`im_core::Store::open_operations`]: a scan of the live rows for
    /// the `im_op` key the core writes (at start of a single server only).
    pub(crate) async fn open_operation_ids(&self) -> Result<Vec<String>, StoreError> {
        if self.secrets().is_some() {
            // Sealed data cannot be searched in SQL: open each live row.
            return self.open_operation_ids_sealed().await;
        }
        let rows = sqlx::query(
            "SELECT id FROM infrastructures WHERE deleted = 0 AND data LIKE '%\"im_op\"%'",
        )
        .fetch_all(self.pool())
        .await
        .map_err(|e| db_err("cannot list the open operations", e))?;
        rows.iter()
            .map(|r| {
                r.try_get("id")
                    .map_err(|e| StoreError::Backend(format!("infrastructures: {e}")))
            })
            .collect()
    }

    /// [`SqlStore::open_operation_ids`] with a server key: every live row's
    /// data is opened and looked at (start-up and takeover scans only).
    async fn open_operation_ids_sealed(&self) -> Result<Vec<String>, StoreError> {
        let rows = sqlx::query("SELECT id, data FROM infrastructures WHERE deleted = 0")
            .fetch_all(self.pool())
            .await
            .map_err(|e| db_err("cannot list the open operations", e))?;
        let mut out = Vec::new();
        for r in &rows {
            let col = |c: &str| -> Result<String, StoreError> {
                r.try_get(c)
                    .map_err(|e| StoreError::Backend(format!("infrastructures: {e}")))
            };
            let id = col("id")?;
            let data = col("data")?;
            if self.data_has_open_op(&id, &data)? {
                out.push(id);
            }
        }
        Ok(out)
    }
}
