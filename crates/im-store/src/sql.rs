//! [`SqlStore`]: the [`Store`] on SQLite, PostgreSQL or MySQL through sqlx `Any`.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use im_auth::ImUser;
use im_core::{IndexEntry, Lease, Store, StoreError, StoredInf, StoredVm, VmChanges, now_secs};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde_json::{Map, Value};
use sqlx::any::{AnyArguments, AnyPoolOptions, AnyRow};
use sqlx::{Any, AnyConnection, AnyPool, AssertSqlSafe, Row, SqlStr};

use crate::conns::{Conns, DbConn};
use crate::dialect::Dialect;
use crate::secrets::{Secrets, aad_data, aad_owners, aad_vm, is_sealed};
use crate::url::{Target, UrlError};
use crate::writer::{Kind, Prepared, VmRows, WriterConfig, WriterHandle};

/// How hard SQLite works to keep an acknowledged write (PostgreSQL and MySQL
/// follow their server's configuration).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Durability {
    /// WAL with `synchronous = FULL` (the default): every commit syncs the WAL
    /// to disk before it returns, so an acknowledged write survives a kill -9
    /// of the server *and* a power loss or kernel crash. Costs one `fsync` per
    /// write.
    #[default]
    Full,
    /// WAL with `synchronous = NORMAL`: a commit returns once the WAL is in the
    /// OS page cache. An acknowledged write survives a kill -9 of the server,
    /// but a power loss may roll back the last commits (the file stays
    /// consistent). Faster on slow disks.
    Normal,
}

/// Connection settings for [`SqlStore::open_with`].
#[derive(Debug, Clone)]
pub struct OpenOptions {
    /// Pool size; 0 picks the default (8 for a SQLite file, 10 for a server).
    /// An in-memory SQLite database always uses exactly one connection.
    pub max_connections: u32,
    /// How long a SQLite statement waits for another connection's write lock
    /// before failing with "database is locked".
    pub busy_timeout: Duration,
    /// How long a request waits for a free pooled connection.
    pub acquire_timeout: Duration,
    /// SQLite durability (see [`Durability`]).
    pub durability: Durability,
    /// The server key: credentials encrypted at rest, keyed owner index
    /// (see [`crate::secrets`]). `None`: stored in clear.
    pub secrets: Option<Arc<Secrets>>,
}

impl Default for OpenOptions {
    fn default() -> Self {
        OpenOptions {
            max_connections: 0,
            busy_timeout: Duration::from_secs(10),
            acquire_timeout: Duration::from_secs(30),
            durability: Durability::Full,
            secrets: None,
        }
    }
}

/// The owner-index key of a username: 16 hex digits of its 64-bit FNV-1a hash.
/// Stable across versions (it is stored). Different usernames may share a key;
/// [`SqlStore::list_owned`] filters the rows it finds by the real username.
pub fn owner_key(username: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in username.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016x}")
}

/// The statements of one dialect, built once at open.
struct Queries {
    load_index: SqlStr,
    list_owned: SqlStr,
    load_inf: SqlStr,
    load_vms: SqlStr,
    load_all_infs: SqlStr,
    load_all_vms: SqlStr,
    load_page_infs: SqlStr,
    load_page_vms: SqlStr,
    insert_inf: SqlStr,
    update_inf: SqlStr,
    update_owners: SqlStr,
    delete_owner_keys: SqlStr,
    insert_owner_key: SqlStr,
    select_vm_data: SqlStr,
    upsert_vm: SqlStr,
    delete_vm: SqlStr,
    delete_vms_of: SqlStr,
    set_schema_version: SqlStr,
    owners_of_all: SqlStr,
    delete_all_owner_keys: SqlStr,
}

pub(crate) fn sql_str(text: String) -> SqlStr {
    sqlx::SqlSafeStr::into_sql_str(AssertSqlSafe(Arc::<str>::from(text)))
}

impl Queries {
    fn new(d: Dialect) -> Self {
        let q = |t: &str| sql_str(d.sql(t));
        Queries {
            load_index: q("SELECT id, owners, created_at FROM infrastructures \
                 WHERE deleted = 0 ORDER BY created_at DESC, {seq} DESC"),
            list_owned: q(&format!(
                "SELECT i.id, i.owners, i.created_at FROM inf_owners o \
                 {} infrastructures i ON i.id = o.inf_id \
                 WHERE o.owner_key = ? AND i.deleted = 0 \
                 ORDER BY i.created_at DESC, i.{} DESC",
                d.owned_join(),
                d.seq_column()
            )),
            load_inf: q("SELECT id, version, deleted, owners, created_at, data \
                 FROM infrastructures WHERE id = ?"),
            load_vms: q("SELECT im_id, data FROM vms WHERE inf_id = ? ORDER BY im_id"),
            load_all_infs: q("SELECT id, version, deleted, owners, created_at, data \
                 FROM infrastructures ORDER BY created_at DESC, {seq} DESC"),
            load_all_vms: q("SELECT inf_id, im_id, data FROM vms ORDER BY inf_id, im_id"),
            load_page_infs: q("SELECT id, version, deleted, owners, created_at, data \
                 FROM infrastructures WHERE id > ? ORDER BY id LIMIT ?"),
            load_page_vms: q("SELECT inf_id, im_id, data FROM vms \
                 WHERE inf_id >= ? AND inf_id <= ? ORDER BY inf_id, im_id"),
            insert_inf: q("INSERT INTO infrastructures \
                 (id, version, deleted, created_at, updated_at, owners, data) \
                 VALUES (?, ?, ?, ?, ?, ?, ?)"),
            update_inf: q("UPDATE infrastructures \
                 SET version = ?, deleted = ?, updated_at = ?, data = ? \
                 WHERE id = ? AND version = ?"),
            update_owners: q("UPDATE infrastructures SET owners = ? WHERE id = ? AND owners <> ?"),
            delete_owner_keys: q("DELETE FROM inf_owners WHERE inf_id = ?"),
            insert_owner_key: q("INSERT INTO inf_owners (owner_key, inf_id) VALUES (?, ?)"),
            select_vm_data: q("SELECT im_id, data FROM vms WHERE inf_id = ?"),
            upsert_vm: sql_str(d.upsert_vm().into_owned()),
            delete_vm: q("DELETE FROM vms WHERE inf_id = ? AND im_id = ?"),
            delete_vms_of: q("DELETE FROM vms WHERE inf_id = ?"),
            set_schema_version: q("UPDATE schema_version SET version = ?"),
            owners_of_all: q("SELECT id, owners FROM infrastructures"),
            delete_all_owner_keys: q("DELETE FROM inf_owners"),
        }
    }
}

/// Infrastructures in a SQL database (SQLite, PostgreSQL or MySQL/MariaDB).
///
/// Schema (created and migrated at open; version in `schema_version`):
///
/// ```text
/// schema_version(version)                      -- one row; 4 = this layout
/// infrastructures(id PRIMARY KEY, version, deleted, created_at, updated_at,
///                 owners /* JSON list of ImUser */, data /* JSON object */)
///     + insertion order: SQLite rowid, elsewhere a `seq` identity column
///     + index (deleted, created_at)
/// vms(inf_id, im_id, data /* JSON object */, PRIMARY KEY (inf_id, im_id))
/// inf_owners(owner_key /* owner_key(username) */, inf_id,
///            PRIMARY KEY (owner_key, inf_id)) + index (inf_id)
///     (SQLite: WITHOUT ROWID, the key is the table)
/// ```
///
/// Figures (release build, shared 2-core box, SQLite file): `load_index` of
/// 98,000 live rows 250–470 ms; `insert` of a 3-VM, 20 KB infrastructure
/// 1.3 ms, a one-VM `update` 0.9 ms, `load` 0.35 ms with [`Durability::Full`]
/// (0.5 / 0.3 / 0.27 ms with [`Durability::Normal`]).
///
/// Writes: [`Store::insert`] and [`Store::update`] write the infrastructure
/// row, its owner keys and its VM rows in one transaction; `update` is a
/// compare-and-set on `version`. A SQLite file is opened in WAL mode with
/// [`Durability::Full`] unless told otherwise.
pub struct SqlStore {
    pool: AnyPool,
    /// PostgreSQL/MySQL: the connections of reads and writes (see
    /// [`crate::conns`]); the pool serves the rest (migrations, leases on
    /// MySQL, listings by owner).
    conns: Option<Conns>,
    dialect: Dialect,
    q: Arc<Queries>,
    /// The group-commit writer of a SQLite file (see [`crate::writer`]);
    /// `None` for PostgreSQL/MySQL, whose servers take concurrent writers,
    /// and for an in-memory database.
    writer: Option<WriterHandle>,
    /// The SQLite file, read in place by [`Store::load_index`].
    sqlite_path: Option<PathBuf>,
    /// The server key, when configured (see [`crate::secrets`]).
    secrets: Option<Arc<Secrets>>,
    /// PostgreSQL: a few connections whose commits do not wait for the disk,
    /// for lease writes (see [`crate::lease`]).
    lease_pool: Option<AnyPool>,
}

impl std::fmt::Debug for SqlStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqlStore")
            .field("dialect", &self.dialect)
            .finish_non_exhaustive()
    }
}

/// The infrastructure row of an insert: the seven parameters of
/// `insert_inf`, in its order.
fn bind_inf_row<'q>(
    q: sqlx::query::Query<'q, Any, AnyArguments>,
    w: &'q Prepared,
) -> sqlx::query::Query<'q, Any, AnyArguments> {
    q.bind(&w.id)
        .bind(w.version)
        .bind(i64::from(w.deleted))
        .bind(w.created_at)
        .bind(now_secs())
        .bind(&w.owners)
        .bind(&w.data)
}

/// An insert as one statement (see [`Dialect::insert_at_once`]).
async fn insert_at_once(
    conn: &mut AnyConnection,
    stmt: &'static str,
    w: &Prepared,
    vms: &[(i64, String)],
) -> Result<(), StoreError> {
    let keys = serde_json::to_string(&w.owner_keys)
        .map_err(|e| StoreError::Backend(format!("cannot serialize: {e}")))?;
    let rows = serde_json::to_string(vms)
        .map_err(|e| StoreError::Backend(format!("cannot serialize: {e}")))?;
    let answer = bind_inf_row(sqlx::query(stmt), w)
        .bind(keys)
        .bind(rows)
        .fetch_optional(conn)
        .await;
    inserted(w, answer)
}

/// An insert as one statement with its rows bound one by one (see
/// [`Dialect::insert_with_values`]).
async fn insert_with_values(
    conn: &mut AnyConnection,
    stmt: &'static str,
    w: &Prepared,
    vms: &[(i64, String)],
) -> Result<(), StoreError> {
    let mut q = bind_inf_row(sqlx::query(stmt), w);
    for key in &w.owner_keys {
        q = q.bind(key);
    }
    for (im_id, data) in vms {
        q = q.bind(*im_id).bind(data);
    }
    inserted(w, q.fetch_optional(conn).await)
}

/// The outcome of a one-statement insert from its answer: one row when the
/// infrastructure was inserted.
fn inserted<R>(w: &Prepared, answer: Result<Option<R>, sqlx::Error>) -> Result<(), StoreError> {
    match answer.map_err(|e| insert_error(w, e))? {
        Some(_) => Ok(()),
        None => Err(StoreError::Backend(format!(
            "infrastructure {} was not inserted",
            w.id
        ))),
    }
}

/// The error of a failed insert: [`StoreError::Exists`] for a taken id.
fn insert_error(w: &Prepared, e: sqlx::Error) -> StoreError {
    if e.as_database_error()
        .is_some_and(|d| d.is_unique_violation())
    {
        return StoreError::Exists(w.id.clone());
    }
    db_err("cannot insert an infrastructure", e)
}

/// sqlx pings a pooled connection every time it hands it out: a round trip
/// to the database in front of every statement. Only a connection that sat
/// idle can have been cut meanwhile (a restarted database server, a
/// firewall's idle timeout; a restart takes longer than
/// [`crate::conns::IDLE_BEFORE_PING`]): those are pinged, the others used at
/// once. A broken connection still fails its statement with a clear error.
pub(crate) fn ping_when_idle(opts: AnyPoolOptions) -> AnyPoolOptions {
    opts.test_before_acquire(false)
        .before_acquire(|conn, meta| {
            Box::pin(async move {
                if meta.idle_for >= crate::conns::IDLE_BEFORE_PING {
                    sqlx::Connection::ping(conn).await?;
                }
                Ok(true)
            })
        })
}

fn db_err(what: &str, e: sqlx::Error) -> StoreError {
    StoreError::Backend(format!("{what}: {e}"))
}

fn get<'r, T>(row: &'r AnyRow, col: &str) -> Result<T, StoreError>
where
    T: sqlx::Decode<'r, Any> + sqlx::Type<Any>,
{
    row.try_get(col)
        .map_err(|e| StoreError::Backend(format!("column {col}: {e}")))
}

fn parse_owners(s: &str) -> Result<Vec<ImUser>, StoreError> {
    serde_json::from_str(s).map_err(|e| StoreError::Backend(format!("corrupt owners: {e}")))
}

fn parse_map(s: &str) -> Result<Map<String, Value>, StoreError> {
    serde_json::from_str(s).map_err(|e| StoreError::Backend(format!("corrupt row: {e}")))
}

/// Characters kept as they are in the path of a `sqlite://` URL for sqlx
/// (which percent-decodes the path); everything else is escaped, `?`, `#`
/// and `%` included.
const PATH_KEEP: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'/')
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// Makes `path` absolute with a canonical directory (created if missing), so
/// the sqlx URL holds no `.`/`..` segments that URL parsing would rewrite.
async fn prepare_sqlite_file(path: &Path) -> Result<PathBuf, StoreError> {
    let abs = std::path::absolute(path)
        .map_err(|e| StoreError::Backend(format!("bad database path {}: {e}", path.display())))?;
    let name = abs
        .file_name()
        .ok_or_else(|| UrlError::NoPath(path.display().to_string()))?
        .to_owned();
    let dir = abs.parent().unwrap_or(Path::new("/"));
    tokio::fs::create_dir_all(dir)
        .await
        .map_err(|e| StoreError::Backend(format!("cannot create {}: {e}", dir.display())))?;
    let dir = tokio::fs::canonicalize(dir)
        .await
        .map_err(|e| StoreError::Backend(format!("cannot resolve {}: {e}", dir.display())))?;
    Ok(dir.join(name))
}

fn sqlite_url(path: &Path) -> Result<String, StoreError> {
    let text = path.to_str().ok_or_else(|| {
        StoreError::Backend(format!("the database path {} is not UTF-8", path.display()))
    })?;
    Ok(format!(
        "sqlite://{}?mode=rwc",
        utf8_percent_encode(text, PATH_KEEP)
    ))
}

/// Runs a statement without binds.
async fn exec(
    conn: &mut AnyConnection,
    sql: &SqlStr,
    what: &str,
) -> Result<sqlx::any::AnyQueryResult, StoreError> {
    sqlx::query(sql.clone())
        .execute(conn)
        .await
        .map_err(|e| db_err(what, e))
}

/// Runs a statement whose one bind is an infrastructure id.
async fn exec_id(
    conn: &mut AnyConnection,
    sql: &SqlStr,
    id: &str,
    what: &str,
) -> Result<sqlx::any::AnyQueryResult, StoreError> {
    sqlx::query(sql.clone())
        .bind(id)
        .execute(conn)
        .await
        .map_err(|e| db_err(what, e))
}

impl SqlStore {
    /// Opens a `DATA_DB` URL (see [`Target::parse`]) with default options.
    pub async fn open(url: &str) -> Result<SqlStore, StoreError> {
        Self::open_with(url, &OpenOptions::default()).await
    }

    /// Opens a `DATA_DB` URL: creates a missing SQLite file and its directory,
    /// sets SQLite to WAL mode, and creates or migrates the schema. Refuses a
    /// database whose schema is newer than this version knows.
    pub async fn open_with(url: &str, opts: &OpenOptions) -> Result<SqlStore, StoreError> {
        Self::open_target(Target::parse(url)?, opts).await
    }

    /// Opens an already parsed [`Target`].
    pub async fn open_target(target: Target, opts: &OpenOptions) -> Result<SqlStore, StoreError> {
        sqlx::any::install_default_drivers();
        let mut sqlite_path = None;
        let (dialect, conn_url, memory) = match target {
            Target::SqliteFile(path) => {
                let path = prepare_sqlite_file(&path).await?;
                let url = sqlite_url(&path)?;
                sqlite_path = Some(path);
                (Dialect::Sqlite, url, false)
            }
            Target::SqliteMemory => (Dialect::Sqlite, "sqlite::memory:".to_string(), true),
            Target::Postgres(url) => (
                Dialect::Postgres,
                crate::url::plain_on_loopback(&url),
                false,
            ),
            Target::MySql(url) => (Dialect::MySql, crate::url::plain_on_loopback(&url), false),
        };
        let max = match (memory, opts.max_connections, dialect) {
            // Every connection to `sqlite::memory:` is a different database.
            (true, _, _) => 1,
            (false, 0, Dialect::Sqlite) => 8,
            (false, 0, _) => 10,
            (false, n, _) => n,
        };
        let mut pool = ping_when_idle(AnyPoolOptions::new())
            .max_connections(max)
            .acquire_timeout(opts.acquire_timeout);
        if memory {
            // Closing the only connection would drop the database.
            pool = pool
                .min_connections(1)
                .idle_timeout(None)
                .max_lifetime(None);
        }
        let mut setup: Vec<SqlStr> = dialect
            .session_setup()
            .iter()
            .map(|stmt| sql_str((*stmt).to_string()))
            .collect();
        if dialect == Dialect::Sqlite {
            setup.push(sql_str(format!(
                "PRAGMA busy_timeout = {}",
                opts.busy_timeout.as_millis()
            )));
            setup.push(sql_str(
                match opts.durability {
                    Durability::Full => "PRAGMA synchronous = FULL",
                    Durability::Normal => "PRAGMA synchronous = NORMAL",
                }
                .to_string(),
            ));
        }
        let setup: Arc<[SqlStr]> = Arc::from(setup);
        let conns = (dialect != Dialect::Sqlite)
            .then(|| Conns::new(conn_url.clone(), setup.clone(), max, opts.acquire_timeout));
        if !setup.is_empty() {
            pool = pool.after_connect(move |conn, _meta| {
                let setup = setup.clone();
                Box::pin(async move { crate::conns::run_setup(conn, &setup).await })
            });
        }
        let pool = pool
            .connect(&conn_url)
            .await
            .map_err(|e| db_err("cannot connect to the database", e))?;
        if dialect == Dialect::Sqlite && !memory {
            // Persistent in the file; needs no other connection in a transaction,
            // which holds at open.
            sqlx::query("PRAGMA journal_mode = WAL")
                .execute(&pool)
                .await
                .map_err(|e| db_err("cannot switch SQLite to WAL mode", e))?;
        }
        let lease_pool = crate::lease::lease_pool(dialect, &conn_url, opts).await?;
        let mut store = SqlStore {
            pool,
            conns,
            dialect,
            q: Arc::new(Queries::new(dialect)),
            writer: None,
            sqlite_path: None,
            secrets: opts.secrets.clone(),
            lease_pool,
        };
        store.migrate().await?;
        crate::secrets::enable(&store).await?;
        if let Some(path) = sqlite_path {
            store.writer = Some(WriterHandle::new(WriterConfig {
                path: path.clone(),
                busy_timeout: opts.busy_timeout,
                full: opts.durability == Durability::Full,
            }));
            store.sqlite_path = Some(path);
        }
        let adopted = crate::adopt::adopt(&store).await?;
        if adopted.adopted > 0 {
            tracing::info!(
                "adopted {} infrastructures from the Python IM's inf_list table \
                 ({} already ours; inf_list left as it was)",
                adopted.adopted,
                adopted.known
            );
        }
        for (id, why) in &adopted.unreadable {
            tracing::warn!("inf_list: infrastructure {id} not adopted: {why}");
        }
        Ok(store)
    }

    /// The SQL dialect of the database.
    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// Closes every pooled connection (waits for those in use).
    pub async fn close(&self) {
        if let Some(conns) = &self.conns {
            conns.close().await;
        }
        self.pool.close().await;
    }

    /// The schema version of the database (the latest after open).
    pub async fn schema_version(&self) -> Result<i64, StoreError> {
        let rows = sqlx::query("SELECT version FROM schema_version")
            .fetch_all(&self.pool)
            .await
            .map_err(|e| db_err("cannot read the schema version", e))?;
        let mut max = 0;
        for r in &rows {
            max = max.max(get::<i64>(r, "version")?);
        }
        Ok(max)
    }

    async fn migrate(&self) -> Result<(), StoreError> {
        let mut conn = self
            .pool
            .acquire()
            .await
            .map_err(|e| db_err("cannot connect for the migration", e))?;
        let Some((lock, unlock)) = self.dialect.session_migration_lock() else {
            return self.migrate_locked(&mut conn).await;
        };
        let taken = sqlx::query(lock)
            .fetch_one(&mut *conn)
            .await
            .map_err(|e| db_err("cannot lock the schema", e))?;
        if get::<Option<i64>>(&taken, "taken")? != Some(1) {
            return Err(StoreError::Backend(
                "timed out waiting for another server to migrate the schema".into(),
            ));
        }
        let result = self.migrate_locked(&mut conn).await;
        let released = sqlx::query(unlock).execute(&mut *conn).await;
        result?;
        released
            .map(|_| ())
            .map_err(|e| db_err("cannot unlock the schema", e))
    }

    async fn migrate_locked(&self, conn: &mut AnyConnection) -> Result<(), StoreError> {
        let d = self.dialect;
        let mut tx = sqlx::Connection::begin_with(conn, d.begin_write())
            .await
            .map_err(|e| db_err("cannot begin the migration", e))?;
        if let Some(lock) = d.migration_lock() {
            sqlx::query(lock)
                .execute(&mut *tx)
                .await
                .map_err(|e| db_err("cannot lock the schema", e))?;
        }
        sqlx::query(d.schema_version_ddl())
            .execute(&mut *tx)
            .await
            .map_err(|e| db_err("cannot create schema_version", e))?;
        let rows = sqlx::query(d.read_schema_version())
            .fetch_all(&mut *tx)
            .await
            .map_err(|e| db_err("cannot read the schema version", e))?;
        let mut current = None;
        for r in &rows {
            let v = get::<i64>(r, "version")?;
            current = Some(current.map_or(v, |c: i64| c.max(v)));
        }
        let current = match current {
            Some(v) => v,
            None => {
                sqlx::query("INSERT INTO schema_version (version) VALUES (0)")
                    .execute(&mut *tx)
                    .await
                    .map_err(|e| db_err("cannot seed the schema version", e))?;
                0
            }
        };
        let migrations = d.migrations();
        let latest = migrations.last().map_or(0, |m| m.version);
        if current > latest {
            return Err(StoreError::Backend(format!(
                "the database has schema version {current}, newer than this server's {latest}: \
                 upgrade the server"
            )));
        }
        for m in migrations.iter().filter(|m| m.version > current) {
            for stmt in &m.ddl {
                sqlx::query(*stmt).execute(&mut *tx).await.map_err(|e| {
                    db_err(&format!("schema migration to version {}", m.version), e)
                })?;
            }
            if m.backfill_owners {
                self.backfill_owners(&mut tx).await?;
            }
            sqlx::query(self.q.set_schema_version.clone())
                .bind(m.version)
                .execute(&mut *tx)
                .await
                .map_err(|e| db_err("cannot record the schema version", e))?;
        }
        tx.commit()
            .await
            .map_err(|e| db_err("cannot commit the migration", e))
    }

    /// Fills `inf_owners` from `infrastructures.owners` (migration to v2).
    async fn backfill_owners(&self, conn: &mut AnyConnection) -> Result<(), StoreError> {
        exec(conn, &self.q.delete_all_owner_keys, "owner index backfill").await?;
        let rows = sqlx::query(self.q.owners_of_all.clone())
            .fetch_all(&mut *conn)
            .await
            .map_err(|e| db_err("owner index backfill", e))?;
        for r in &rows {
            let id: &str = get(r, "id")?;
            let owners = parse_owners(&self.unseal(get(r, "owners")?, || aad_owners(id))?)?;
            self.insert_owner_keys(conn, id, &owners).await?;
        }
        Ok(())
    }

    async fn insert_owner_keys(
        &self,
        conn: &mut AnyConnection,
        id: &str,
        owners: &[ImUser],
    ) -> Result<(), StoreError> {
        self.insert_keys(conn, id, &self.owner_keys(owners)).await
    }

    async fn insert_keys(
        &self,
        conn: &mut AnyConnection,
        id: &str,
        keys: &[String],
    ) -> Result<(), StoreError> {
        for key in keys {
            sqlx::query(self.q.insert_owner_key.clone())
                .bind(key)
                .bind(id)
                .execute(&mut *conn)
                .await
                .map_err(|e| db_err("cannot index the owners", e))?;
        }
        Ok(())
    }

    async fn upsert_vm(
        &self,
        conn: &mut AnyConnection,
        id: &str,
        im_id: i64,
        data: &str,
    ) -> Result<(), StoreError> {
        sqlx::query(self.q.upsert_vm.clone())
            .bind(id)
            .bind(im_id)
            .bind(data)
            .execute(&mut *conn)
            .await
            .map_err(|e| db_err("cannot write a VM", e))?;
        Ok(())
    }

    async fn delete_vm(
        &self,
        conn: &mut AnyConnection,
        id: &str,
        im_id: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(self.q.delete_vm.clone())
            .bind(id)
            .bind(im_id)
            .execute(&mut *conn)
            .await
            .map_err(|e| db_err("cannot delete a VM", e))?;
        Ok(())
    }

    /// Inserts the rows of `w` inside the caller's transaction.
    async fn insert_in(
        &self,
        tx: &mut AnyConnection,
        w: &Prepared,
        vms: &[(i64, String)],
    ) -> Result<(), StoreError> {
        bind_inf_row(sqlx::query(self.q.insert_inf.clone()), w)
            .execute(&mut *tx)
            .await
            .map_err(|e| insert_error(w, e))?;
        if w.replace_left_rows {
            exec_id(
                tx,
                &self.q.delete_owner_keys,
                &w.id,
                "cannot clean owner keys",
            )
            .await?;
            exec_id(tx, &self.q.delete_vms_of, &w.id, "cannot clean VMs").await?;
        }
        self.insert_keys(tx, &w.id, &w.owner_keys).await?;
        for (im_id, data) in vms {
            self.upsert_vm(tx, &w.id, *im_id, data).await?;
        }
        Ok(())
    }

    /// Compare-and-set update with the rows of `w` inside the caller's
    /// transaction.
    async fn update_in(
        &self,
        tx: &mut AnyConnection,
        w: &Prepared,
        vms: &VmRows,
    ) -> Result<(), StoreError> {
        let done = sqlx::query(self.q.update_inf.clone())
            .bind(w.version)
            .bind(i64::from(w.deleted))
            .bind(now_secs())
            .bind(&w.data)
            .bind(&w.id)
            .bind(w.version - 1)
            .execute(&mut *tx)
            .await
            .map_err(|e| db_err("cannot update an infrastructure", e))?;
        if done.rows_affected() == 0 {
            return Err(StoreError::Conflict(w.id.clone()));
        }
        // Owners rarely change: rewrite their index only when they did.
        let changed = sqlx::query(self.q.update_owners.clone())
            .bind(w.owners.as_str())
            .bind(&w.id)
            .bind(w.owners.as_str())
            .execute(&mut *tx)
            .await
            .map_err(|e| db_err("cannot update the owners", e))?;
        if changed.rows_affected() > 0 {
            exec_id(
                tx,
                &self.q.delete_owner_keys,
                &w.id,
                "cannot reindex the owners",
            )
            .await?;
            self.insert_keys(tx, &w.id, &w.owner_keys).await?;
        }
        match vms {
            VmRows::Some { upsert, delete } => {
                for (im_id, data) in upsert {
                    self.upsert_vm(tx, &w.id, *im_id, data).await?;
                }
                for im_id in delete {
                    self.delete_vm(tx, &w.id, *im_id).await?;
                }
            }
            VmRows::All(vms) => {
                // Rewrite only what changed: most updates touch few VMs.
                let rows = sqlx::query(self.q.select_vm_data.clone())
                    .bind(&w.id)
                    .fetch_all(&mut *tx)
                    .await
                    .map_err(|e| db_err("cannot read the VMs", e))?;
                let mut stored: HashMap<i64, &str> = HashMap::with_capacity(rows.len());
                for r in &rows {
                    stored.insert(get(r, "im_id")?, get(r, "data")?);
                }
                for (im_id, data) in vms {
                    if stored.remove(im_id) != Some(data.as_str()) {
                        self.upsert_vm(tx, &w.id, *im_id, data).await?;
                    }
                }
                for &im_id in stored.keys() {
                    self.delete_vm(tx, &w.id, im_id).await?;
                }
            }
        }
        Ok(())
    }

    /// Runs one write: through the writer of a SQLite file (committed with
    /// the writes queued beside it), or in a transaction of its own (one
    /// statement for an insert on PostgreSQL). A non-`durable` write (a provisional insert)
    /// may be acknowledged before it reaches the disk; the caller's next
    /// durable write makes it durable too (one log, written in order).
    async fn write(&self, w: Prepared, durable: bool) -> Result<(), StoreError> {
        if let Some(writer) = &self.writer {
            return writer.submit(w, durable).await;
        }
        let mut conn = self.conn().await?;
        let res = self.write_on(&mut conn, &w, durable).await;
        match &res {
            Ok(()) => conn.keep(),
            // Any other error may have left the connection anywhere: closed.
            Err(StoreError::Backend(_)) => {}
            // A refused write (a conflict, an existing id) left its rollback
            // queued on the connection; a ping sends it now, so that no lock
            // of the write outlives it on an idle connection.
            Err(_) => {
                if sqlx::Connection::ping(&mut *conn).await.is_ok() {
                    conn.keep();
                }
            }
        }
        res
    }

    /// [`Self::write`] on a connection of a database server or of the pool.
    async fn write_on(
        &self,
        conn: &mut AnyConnection,
        w: &Prepared,
        durable: bool,
    ) -> Result<(), StoreError> {
        if let Kind::Insert(vms) = &w.kind {
            let d = self.dialect;
            if let Some(stmt) =
                d.insert_with_values(durable, w.replace_left_rows, w.owner_keys.len(), vms.len())
            {
                return insert_with_values(conn, stmt, w, vms).await;
            }
            if let Some(stmt) = d.insert_at_once(durable, w.replace_left_rows) {
                return insert_at_once(conn, stmt, w, vms).await;
            }
        }
        let mut tx = sqlx::Connection::begin_with(&mut *conn, self.dialect.begin_write())
            .await
            .map_err(|e| db_err("cannot begin a write", e))?;
        if !durable && let Some(stmt) = self.dialect.relaxed_commit() {
            sqlx::query(stmt)
                .execute(&mut *tx)
                .await
                .map_err(|e| db_err("cannot relax the commit", e))?;
        }
        match &w.kind {
            Kind::Insert(vms) => self.insert_in(&mut tx, w, vms).await?,
            Kind::Update(vms) => self.update_in(&mut tx, w, vms).await?,
        }
        tx.commit()
            .await
            .map_err(|e| db_err("cannot commit a write", e))
    }

    fn index_entries(&self, rows: &[AnyRow]) -> Result<Vec<IndexEntry>, StoreError> {
        // Most infrastructures share a few owner lists: parse each text once.
        let mut parsed: HashMap<&str, Vec<ImUser>> = HashMap::new();
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            let text: &str = get(r, "owners")?;
            let id: String = get(r, "id")?;
            let owners = match parsed.get(text) {
                Some(o) => o.clone(),
                // Sealed lists are bound to their row: never shared.
                None if is_sealed(text) => parse_owners(&self.unseal(text, || aad_owners(&id))?)?,
                None => {
                    let o = parse_owners(text)?;
                    parsed.insert(text, o.clone());
                    o
                }
            };
            out.push(IndexEntry {
                id,
                owners,
                created_at: get(r, "created_at")?,
            });
        }
        Ok(out)
    }

    fn row_to_inf(&self, r: &AnyRow, vms: Vec<StoredVm>) -> Result<StoredInf, StoreError> {
        let id: String = get(r, "id")?;
        Ok(StoredInf {
            version: get(r, "version")?,
            deleted: get::<i64>(r, "deleted")? != 0,
            owners: parse_owners(&self.unseal(get(r, "owners")?, || aad_owners(&id))?)?,
            created_at: get(r, "created_at")?,
            data: parse_map(&self.unseal(get(r, "data")?, || aad_data(&id))?)?,
            vms,
            id,
        })
    }

    /// Infrastructure rows with their VMs, from rows of `infrastructures`
    /// and of `vms` (any order).
    fn assemble(
        &self,
        inf_rows: &[AnyRow],
        vm_rows: &[AnyRow],
    ) -> Result<Vec<StoredInf>, StoreError> {
        let mut vms: HashMap<&str, Vec<StoredVm>> = HashMap::new();
        for r in vm_rows {
            let inf_id: &str = get(r, "inf_id")?;
            vms.entry(inf_id)
                .or_default()
                .push(self.row_to_vm(inf_id, r)?);
        }
        inf_rows
            .iter()
            .map(|r| {
                let id: &str = get(r, "id")?;
                let own = vms.remove(id).unwrap_or_default();
                self.row_to_inf(r, own)
            })
            .collect()
    }

    fn row_to_vm(&self, inf_id: &str, r: &AnyRow) -> Result<StoredVm, StoreError> {
        let im_id: i64 = get(r, "im_id")?;
        Ok(StoredVm {
            im_id,
            data: parse_map(&self.unseal(get(r, "data")?, || aad_vm(inf_id, im_id))?)?,
        })
    }

    /// Whether an infrastructure's stored `data` (sealed or not) holds an
    /// open operation record (`im_op`).
    pub(crate) fn data_has_open_op(&self, id: &str, stored: &str) -> Result<bool, StoreError> {
        let data = parse_map(&self.unseal(stored, || aad_data(id))?)?;
        Ok(data.get("im_op").is_some_and(|v| !v.is_null()))
    }

    /// The server key, when configured.
    pub(crate) fn secrets(&self) -> Option<&Secrets> {
        self.secrets.as_deref()
    }

    /// The owner-index key of a username: keyed (HMAC-SHA256) with a server
    /// key, else [`owner_key`].
    fn key_of(&self, username: &str) -> String {
        match &self.secrets {
            Some(s) => s.owner_key(username),
            None => owner_key(username),
        }
    }

    /// The distinct owner keys of an owner list.
    fn owner_keys(&self, owners: &[ImUser]) -> Vec<String> {
        let mut seen = HashSet::new();
        owners
            .iter()
            .map(|o| self.key_of(&o.username))
            .filter(|k| seen.insert(k.clone()))
            .collect()
    }

    /// A column value as stored: sealed when a key is configured.
    fn seal(&self, text: String, aad: impl FnOnce() -> String) -> Result<String, StoreError> {
        match &self.secrets {
            Some(s) => s.seal(&text, &aad()),
            None => Ok(text),
        }
    }

    /// A stored column value in clear.
    fn unseal<'a>(
        &self,
        stored: &'a str,
        aad: impl FnOnce() -> String,
    ) -> Result<std::borrow::Cow<'a, str>, StoreError> {
        match &self.secrets {
            Some(s) => s.open(stored, &aad()),
            None if is_sealed(stored) => Err(StoreError::Backend(
                "an encrypted value and no database key configured".into(),
            )),
            None => Ok(std::borrow::Cow::Borrowed(stored)),
        }
    }

    /// Seals every value still in clear and rebuilds the owner index with
    /// keyed hashes (first start with a key); returns how many values were
    /// sealed.
    pub(crate) async fn seal_all(&self, tx: &mut AnyConnection) -> Result<u64, StoreError> {
        let d = self.dialect;
        let mut sealed = 0;
        let rows = sqlx::query("SELECT id, owners, data FROM infrastructures")
            .fetch_all(&mut *tx)
            .await
            .map_err(|e| db_err("cannot read the infrastructures to encrypt", e))?;
        let update_inf =
            sql_str(d.sql("UPDATE infrastructures SET owners = ?, data = ? WHERE id = ?"));
        for r in &rows {
            let id: &str = get(r, "id")?;
            let owners: &str = get(r, "owners")?;
            let data: &str = get(r, "data")?;
            if is_sealed(owners) && is_sealed(data) {
                continue;
            }
            let owners = self.seal(self.unseal(owners, || aad_owners(id))?.into_owned(), || {
                aad_owners(id)
            })?;
            let data = self.seal(self.unseal(data, || aad_data(id))?.into_owned(), || {
                aad_data(id)
            })?;
            sqlx::query(update_inf.clone())
                .bind(owners)
                .bind(data)
                .bind(id)
                .execute(&mut *tx)
                .await
                .map_err(|e| db_err("cannot encrypt an infrastructure", e))?;
            sealed += 2;
        }
        let vm_rows = sqlx::query("SELECT inf_id, im_id, data FROM vms")
            .fetch_all(&mut *tx)
            .await
            .map_err(|e| db_err("cannot read the VMs to encrypt", e))?;
        let update_vm = sql_str(d.sql("UPDATE vms SET data = ? WHERE inf_id = ? AND im_id = ?"));
        for r in &vm_rows {
            let data: &str = get(r, "data")?;
            if is_sealed(data) {
                continue;
            }
            let id: &str = get(r, "inf_id")?;
            let im_id: i64 = get(r, "im_id")?;
            let data = self.seal(data.to_string(), || aad_vm(id, im_id))?;
            sqlx::query(update_vm.clone())
                .bind(data)
                .bind(id)
                .bind(im_id)
                .execute(&mut *tx)
                .await
                .map_err(|e| db_err("cannot encrypt a VM", e))?;
            sealed += 1;
        }
        self.backfill_owners(tx).await?;
        Ok(sealed)
    }

    /// `w` as stored: its values sealed and its owner keys keyed when a
    /// server key is configured (sealing is deterministic, so an unchanged
    /// value stays equal and is not rewritten).
    fn sealed(&self, mut w: Prepared, owners: &[ImUser]) -> Result<Prepared, StoreError> {
        let Some(s) = &self.secrets else {
            return Ok(w);
        };
        let id = w.id.clone();
        w.owners = s.seal(&w.owners, &aad_owners(&id))?;
        w.data = s.seal(&w.data, &aad_data(&id))?;
        w.owner_keys = self.owner_keys(owners);
        let seal_vms = |vms: &mut Vec<(i64, String)>| -> Result<(), StoreError> {
            for (im_id, data) in vms.iter_mut() {
                *data = s.seal(data, &aad_vm(&id, *im_id))?;
            }
            Ok(())
        };
        match &mut w.kind {
            Kind::Insert(vms) | Kind::Update(VmRows::All(vms)) => seal_vms(vms)?,
            Kind::Update(VmRows::Some { upsert, .. }) => seal_vms(upsert)?,
        }
        Ok(w)
    }

    /// The pool (reads and lease queries).
    pub(crate) fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// The pool for lease writes (the main one unless PostgreSQL has its own).
    pub(crate) fn lease_writes(&self) -> &AnyPool {
        self.lease_pool.as_ref().unwrap_or(&self.pool)
    }

    /// A pooled connection ready for [`Dialect::begin_read`].
    async fn read_conn(&self) -> Result<DbConn<'_>, StoreError> {
        let mut conn = self.conn().await?;
        if let Some(stmt) = self.dialect.before_read() {
            sqlx::query(stmt)
                .execute(&mut *conn)
                .await
                .map_err(|e| db_err("cannot begin a read", e))?;
        }
        Ok(conn)
    }

    /// A connection of [`Self::conns`], or of the pool for SQLite.
    async fn conn(&self) -> Result<DbConn<'_>, StoreError> {
        match &self.conns {
            Some(conns) => Ok(DbConn::Own(conns.get().await?)),
            None => self
                .pool
                .acquire()
                .await
                .map(DbConn::Pooled)
                .map_err(|e| db_err("cannot get a connection", e)),
        }
    }

    /// The infrastructures (not deleted) with an owner named `username`,
    /// newest first, through the owner index. The caller still applies the
    /// ownership rule (password, token) to the returned owners.
    ///
    /// Measured for one user owning 10,000 of 100,000 rows (release build,
    /// shared 2-core box): about 60–100 ms on SQLite and on PostgreSQL, of
    /// which the database alone spends 30–80 ms. A single server should list
    /// from its in-memory index (from [`Store::load_index`]); this query is
    /// for servers sharing a database.
    pub async fn list_owned(&self, username: &str) -> Result<Vec<IndexEntry>, StoreError> {
        let rows = sqlx::query(self.q.list_owned.clone())
            .bind(self.key_of(username))
            .fetch_all(&self.pool)
            .await
            .map_err(|e| db_err("cannot list infrastructures", e))?;
        let mut entries = self.index_entries(&rows)?;
        entries.retain(|e| e.owners.iter().any(|o| o.username == username));
        Ok(entries)
    }
}

#[async_trait]
impl Store for SqlStore {
    async fn lease_owners(&self) -> Result<Vec<(String, i64, i64)>, StoreError> {
        crate::lease_view::lease_owners(self).await
    }

    async fn load_index(&self) -> Result<Vec<IndexEntry>, StoreError> {
        // With a server key the owners are sealed: the sqlx path opens them.
        if let Some(path) = self.sqlite_path.as_ref().filter(|_| self.secrets.is_none()) {
            // In place: sqlx would hand each of 100,000 rows over from its
            // connection thread, and convert it to its `Any` form.
            let path = path.clone();
            return tokio::task::spawn_blocking(move || crate::writer::read_index(&path))
                .await
                .map_err(|e| StoreError::Backend(format!("the index reader failed: {e}")))?;
        }
        let rows = sqlx::query(self.q.load_index.clone())
            .fetch_all(&self.pool)
            .await
            .map_err(|e| db_err("cannot load the index", e))?;
        self.index_entries(&rows)
    }

    async fn load(&self, id: &str) -> Result<Option<StoredInf>, StoreError> {
        let mut conn = self.read_conn().await?;
        let mut tx = sqlx::Connection::begin_with(&mut *conn, self.dialect.begin_read())
            .await
            .map_err(|e| db_err("cannot begin a read", e))?;
        let row = sqlx::query(self.q.load_inf.clone())
            .bind(id)
            .fetch_optional(&mut *tx)
            .await
            .map_err(|e| db_err("cannot load an infrastructure", e))?;
        let vm_rows = match row {
            Some(_) => sqlx::query(self.q.load_vms.clone())
                .bind(id)
                .fetch_all(&mut *tx)
                .await
                .map_err(|e| db_err("cannot load the VMs", e))?,
            None => Vec::new(),
        };
        tx.commit()
            .await
            .map_err(|e| db_err("cannot end a read", e))?;
        conn.keep();
        let Some(row) = row else {
            return Ok(None);
        };
        let vms = vm_rows
            .iter()
            .map(|r| self.row_to_vm(id, r))
            .collect::<Result<_, _>>()?;
        Ok(Some(self.row_to_inf(&row, vms)?))
    }

    async fn insert(&self, inf: &StoredInf) -> Result<(), StoreError> {
        let w = self.sealed(Prepared::insert(inf)?, &inf.owners)?;
        self.write(w, true).await
    }

    async fn insert_provisional(&self, inf: &StoredInf) -> Result<(), StoreError> {
        let w = self.sealed(Prepared::insert(inf)?, &inf.owners)?;
        self.write(w, false).await
    }

    async fn insert_imported(&self, inf: &StoredInf) -> Result<(), StoreError> {
        let w = self.sealed(Prepared::import(inf)?, &inf.owners)?;
        self.write(w, true).await
    }

    async fn update(&self, inf: &StoredInf, vms: VmChanges<'_>) -> Result<(), StoreError> {
        let w = self.sealed(Prepared::update(inf, vms)?, &inf.owners)?;
        self.write(w, true).await
    }

    async fn load_all(&self) -> Result<Vec<StoredInf>, StoreError> {
        let mut conn = self.read_conn().await?;
        let mut tx = sqlx::Connection::begin_with(&mut *conn, self.dialect.begin_read())
            .await
            .map_err(|e| db_err("cannot begin a read", e))?;
        let inf_rows = sqlx::query(self.q.load_all_infs.clone())
            .fetch_all(&mut *tx)
            .await
            .map_err(|e| db_err("cannot load the infrastructures", e))?;
        let vm_rows = sqlx::query(self.q.load_all_vms.clone())
            .fetch_all(&mut *tx)
            .await
            .map_err(|e| db_err("cannot load the VMs", e))?;
        tx.commit()
            .await
            .map_err(|e| db_err("cannot end a read", e))?;
        conn.keep();
        self.assemble(&inf_rows, &vm_rows)
    }

    async fn load_page(&self, after: &str, limit: usize) -> Result<Vec<StoredInf>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let mut conn = self.read_conn().await?;
        let mut tx = sqlx::Connection::begin_with(&mut *conn, self.dialect.begin_read())
            .await
            .map_err(|e| db_err("cannot begin a read", e))?;
        let inf_rows = sqlx::query(self.q.load_page_infs.clone())
            .bind(after)
            .bind(limit)
            .fetch_all(&mut *tx)
            .await
            .map_err(|e| db_err("cannot load the infrastructures", e))?;
        // The VMs of the page: one range of the (inf_id, im_id) key.
        let range = match (inf_rows.first(), inf_rows.last()) {
            (Some(first), Some(last)) => Some((
                get::<&str>(first, "id")?.to_string(),
                get::<&str>(last, "id")?.to_string(),
            )),
            _ => None,
        };
        let vm_rows = match &range {
            Some((first, last)) => sqlx::query(self.q.load_page_vms.clone())
                .bind(first.as_str())
                .bind(last.as_str())
                .fetch_all(&mut *tx)
                .await
                .map_err(|e| db_err("cannot load the VMs", e))?,
            None => Vec::new(),
        };
        tx.commit()
            .await
            .map_err(|e| db_err("cannot end a read", e))?;
        conn.keep();
        self.assemble(&inf_rows, &vm_rows)
    }

    async fn list_owned(&self, username: &str) -> Result<Vec<IndexEntry>, StoreError> {
        SqlStore::list_owned(self, username).await
    }

    fn is_shared(&self) -> bool {
        self.dialect != Dialect::Sqlite
    }

    async fn version_of(&self, id: &str) -> Result<Option<(i64, bool)>, StoreError> {
        self.version_probe(id).await
    }

    async fn take_lease(
        &self,
        inf_id: &str,
        owner: &str,
        now_ms: i64,
        until_ms: i64,
        work: bool,
    ) -> Result<bool, StoreError> {
        self.lease_take(inf_id, owner, now_ms, until_ms, work).await
    }

    async fn renew_leases(&self, owner: &str, until_ms: i64) -> Result<u64, StoreError> {
        self.lease_renew(owner, until_ms).await
    }

    async fn release_lease(
        &self,
        inf_id: &str,
        owner: &str,
        work: Option<bool>,
    ) -> Result<(), StoreError> {
        self.lease_release(inf_id, owner, work).await
    }

    async fn expired_work(&self, now_ms: i64) -> Result<Vec<Lease>, StoreError> {
        self.lease_expired_work(now_ms).await
    }

    async fn open_operations(&self) -> Result<Vec<String>, StoreError> {
        self.open_operation_ids().await
    }

    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map(|_| ())
            .map_err(|e| db_err("the database does not answer", e))
    }
}
