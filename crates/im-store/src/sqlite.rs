//! The SQLite store: a WAL-mode file with a small connection pool.
//!
//! Durability: `synchronous = FULL`, so a write acknowledged to a client
//! survives a kill -9 of the server and a power loss.

use std::str::FromStr;

use async_trait::async_trait;
use im_auth::ImUser;
use im_core::{IndexEntry, Store, StoreError, StoredInf, StoredVm, VmChanges, now_secs};
use serde_json::{Map, Value};
use sqlx::Row;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

const SCHEMA_VERSION: i64 = 1;

const SCHEMA: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)",
    "CREATE TABLE IF NOT EXISTS infrastructures (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        id TEXT NOT NULL UNIQUE,
        version INTEGER NOT NULL,
        deleted INTEGER NOT NULL,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        owners TEXT NOT NULL,
        data TEXT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS infrastructures_live ON infrastructures (deleted, created_at)",
    "CREATE TABLE IF NOT EXISTS vms (
        inf_id TEXT NOT NULL,
        im_id INTEGER NOT NULL,
        data TEXT NOT NULL,
        PRIMARY KEY (inf_id, im_id))",
];

fn backend(e: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(e.to_string())
}

/// Infrastructures in one SQLite file.
pub struct SqliteStore {
    pool: SqlitePool,
}

impl SqliteStore {
    /// Opens (creating the file and its directory when missing) and migrates.
    pub async fn open(path: &str) -> Result<Self, StoreError> {
        let memory = path == ":memory:";
        if !memory
            && let Some(dir) = std::path::Path::new(path).parent()
            && !dir.as_os_str().is_empty()
        {
            std::fs::create_dir_all(dir)
                .map_err(|e| backend(format!("cannot create {}: {e}", dir.display())))?;
        }
        let opts = if memory {
            SqliteConnectOptions::from_str("sqlite::memory:").map_err(backend)?
        } else {
            SqliteConnectOptions::new()
                .filename(path)
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
        }
        .synchronous(SqliteSynchronous::Full)
        .busy_timeout(std::time::Duration::from_secs(10))
        .foreign_keys(false);
        // One connection for an in-memory database: each connection would be
        // a different database.
        let pool = SqlitePoolOptions::new()
            .max_connections(if memory { 1 } else { 4 })
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            .connect_with(opts)
            .await
            .map_err(|e| backend(format!("cannot open the database {path}: {e}")))?;
        let store = SqliteStore { pool };
        store.migrate().await?;
        Ok(store)
    }

    async fn migrate(&self) -> Result<(), StoreError> {
        for stmt in SCHEMA {
            sqlx::query(*stmt)
                .execute(&self.pool)
                .await
                .map_err(backend)?;
        }
        let v: Option<i64> = sqlx::query("SELECT max(version) AS v FROM schema_version")
            .fetch_one(&self.pool)
            .await
            .map_err(backend)?
            .try_get("v")
            .map_err(backend)?;
        match v {
            None => {
                sqlx::query("INSERT INTO schema_version (version) VALUES (?)")
                    .bind(SCHEMA_VERSION)
                    .execute(&self.pool)
                    .await
                    .map_err(backend)?;
            }
            Some(v) if v > SCHEMA_VERSION => {
                return Err(backend(format!(
                    "the database has schema version {v}, newer than this server's {SCHEMA_VERSION}"
                )));
            }
            Some(_) => {}
        }
        Ok(())
    }
}

fn owners_json(o: &[ImUser]) -> Result<String, StoreError> {
    serde_json::to_string(o).map_err(backend)
}

fn parse_owners(s: &str) -> Result<Vec<ImUser>, StoreError> {
    serde_json::from_str(s).map_err(|e| backend(format!("corrupt owners: {e}")))
}

fn parse_map(s: &str) -> Result<Map<String, Value>, StoreError> {
    serde_json::from_str(s).map_err(|e| backend(format!("corrupt row: {e}")))
}

async fn write_vms(
    tx: &mut sqlx::SqliteConnection,
    inf: &StoredInf,
    vms: VmChanges<'_>,
) -> Result<(), StoreError> {
    let selected: Vec<&StoredVm> = match vms {
        VmChanges::None => return Ok(()),
        VmChanges::All => {
            sqlx::query("DELETE FROM vms WHERE inf_id = ?")
                .bind(&inf.id)
                .execute(&mut *tx)
                .await
                .map_err(backend)?;
            inf.vms.iter().collect()
        }
        VmChanges::Some(ids) => inf.vms.iter().filter(|v| ids.contains(&v.im_id)).collect(),
    };
    for vm in selected {
        sqlx::query("INSERT OR REPLACE INTO vms (inf_id, im_id, data) VALUES (?, ?, ?)")
            .bind(&inf.id)
            .bind(vm.im_id)
            .bind(Value::Object(vm.data.clone()).to_string())
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
    }
    Ok(())
}

impl SqliteStore {
    async fn vms_of(&self, id: &str) -> Result<Vec<StoredVm>, StoreError> {
        let rows = sqlx::query("SELECT im_id, data FROM vms WHERE inf_id = ? ORDER BY im_id")
            .bind(id)
            .fetch_all(&self.pool)
            .await
            .map_err(backend)?;
        rows.iter()
            .map(|r| {
                Ok(StoredVm {
                    im_id: r.try_get("im_id").map_err(backend)?,
                    data: parse_map(r.try_get("data").map_err(backend)?)?,
                })
            })
            .collect()
    }

    fn row_to_inf(
        r: &sqlx::sqlite::SqliteRow,
        vms: Vec<StoredVm>,
    ) -> Result<StoredInf, StoreError> {
        Ok(StoredInf {
            id: r.try_get("id").map_err(backend)?,
            version: r.try_get("version").map_err(backend)?,
            deleted: r.try_get::<i64, _>("deleted").map_err(backend)? != 0,
            owners: parse_owners(r.try_get("owners").map_err(backend)?)?,
            created_at: r.try_get("created_at").map_err(backend)?,
            data: parse_map(r.try_get("data").map_err(backend)?)?,
            vms,
        })
    }
}

#[async_trait]
impl Store for SqliteStore {
    async fn load_index(&self) -> Result<Vec<IndexEntry>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, owners, created_at FROM infrastructures WHERE deleted = 0 ORDER BY created_at DESC, seq DESC",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        rows.iter()
            .map(|r| {
                Ok(IndexEntry {
                    id: r.try_get("id").map_err(backend)?,
                    owners: parse_owners(r.try_get("owners").map_err(backend)?)?,
                    created_at: r.try_get("created_at").map_err(backend)?,
                })
            })
            .collect()
    }

    async fn load(&self, id: &str) -> Result<Option<StoredInf>, StoreError> {
        let row = sqlx::query(
            "SELECT id, version, deleted, owners, created_at, data FROM infrastructures WHERE id = ?",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await
        .map_err(backend)?;
        match row {
            None => Ok(None),
            Some(r) => {
                let vms = self.vms_of(id).await?;
                Ok(Some(Self::row_to_inf(&r, vms)?))
            }
        }
    }

    async fn insert(&self, inf: &StoredInf) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await.map_err(backend)?;
        let res = sqlx::query(
            "INSERT INTO infrastructures (id, version, deleted, created_at, updated_at, owners, data) VALUES (?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&inf.id)
        .bind(inf.version)
        .bind(i64::from(inf.deleted))
        .bind(inf.created_at)
        .bind(now_secs())
        .bind(owners_json(&inf.owners)?)
        .bind(Value::Object(inf.data.clone()).to_string())
        .execute(&mut *tx)
        .await;
        if let Err(e) = res {
            if e.as_database_error()
                .is_some_and(|d| d.is_unique_violation())
            {
                return Err(StoreError::Exists(inf.id.clone()));
            }
            return Err(backend(e));
        }
        write_vms(&mut tx, inf, VmChanges::All).await?;
        tx.commit().await.map_err(backend)
    }

    async fn update(&self, inf: &StoredInf, vms: VmChanges<'_>) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await.map_err(backend)?;
        let done = sqlx::query(
            "UPDATE infrastructures SET version = ?, deleted = ?, updated_at = ?, owners = ?, data = ? WHERE id = ? AND version = ?",
        )
        .bind(inf.version)
        .bind(i64::from(inf.deleted))
        .bind(now_secs())
        .bind(owners_json(&inf.owners)?)
        .bind(Value::Object(inf.data.clone()).to_string())
        .bind(&inf.id)
        .bind(inf.version - 1)
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        if done.rows_affected() == 0 {
            return Err(StoreError::Conflict(inf.id.clone()));
        }
        write_vms(&mut tx, inf, vms).await?;
        tx.commit().await.map_err(backend)
    }

    async fn load_all(&self) -> Result<Vec<StoredInf>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, version, deleted, owners, created_at, data FROM infrastructures ORDER BY created_at DESC, seq DESC",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            let id: String = r.try_get("id").map_err(backend)?;
            let vms = self.vms_of(&id).await?;
            out.push(Self::row_to_inf(r, vms)?);
        }
        Ok(out)
    }

    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map(|_| ())
            .map_err(backend)
    }
}
