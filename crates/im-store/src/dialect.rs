//! The SQL differences between SQLite, PostgreSQL and MySQL/MariaDB.
//!
//! Statements are written once with `?` placeholders and a `{seq}` token for the
//! insertion-order column; [`Dialect::sql`] turns them into the backend's text.
//! DDL and the VM upsert are per dialect.

use std::borrow::Cow;
use std::sync::OnceLock;

/// Which SQL a backend speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// SQLite 3.35+ (bundled by sqlx): `?`, `ON CONFLICT … DO UPDATE`, `rowid`.
    Sqlite,
    /// PostgreSQL 12+: `$1`, `ON CONFLICT … DO UPDATE`, an identity `seq` column.
    Postgres,
    /// MySQL 8 / MariaDB 10.5+: `?`, `ON DUPLICATE KEY UPDATE`, an
    /// `AUTO_INCREMENT` `seq` column, binary collation.
    MySql,
}

/// One schema migration: DDL run in order, then (for some) a data backfill.
pub(crate) struct Migration {
    /// The schema version this migration brings the database to.
    pub version: i64,
    /// DDL statements, each idempotent (`IF NOT EXISTS`), so a migration that
    /// was interrupted on MySQL (where DDL commits implicitly) can run again.
    pub ddl: Vec<&'static str>,
    /// Whether the owner index must be filled from `infrastructures.owners`.
    pub backfill_owners: bool,
}

impl Dialect {
    /// The column that orders rows by insertion (`rowid` on SQLite, `seq` elsewhere).
    pub fn seq_column(self) -> &'static str {
        match self {
            Dialect::Sqlite => "rowid",
            Dialect::Postgres | Dialect::MySql => "seq",
        }
    }

    /// `template` in this dialect: `{seq}` replaced by [`Dialect::seq_column`]
    /// and, for PostgreSQL, the n-th `?` by `$n`. Templates hold no string
    /// literals, so every `?` is a placeholder.
    pub fn sql(self, template: &str) -> String {
        let text = template.replace("{seq}", self.seq_column());
        if self != Dialect::Postgres {
            return text;
        }
        let mut out = String::with_capacity(text.len() + 16);
        let mut n = 0;
        for c in text.chars() {
            if c == '?' {
                n += 1;
                out.push('$');
                out.push_str(&n.to_string());
            } else {
                out.push(c);
            }
        }
        out
    }

    /// The join from `inf_owners` to `infrastructures` in the by-owner listing.
    /// SQLite's planner (without `ANALYZE` statistics) would drive the join
    /// from the `(deleted, created_at)` index to skip the sort, visiting every
    /// row (1 s for 100,000); `CROSS JOIN` makes it start from the owner's
    /// index entries. PostgreSQL and MySQL plan from statistics.
    pub fn owned_join(self) -> &'static str {
        match self {
            Dialect::Sqlite => "CROSS JOIN",
            Dialect::Postgres | Dialect::MySql => "JOIN",
        }
    }

    /// The statement that opens a write transaction. SQLite takes the write
    /// lock at once (`BEGIN IMMEDIATE`), so a transaction never has to upgrade
    /// a read snapshot, which can fail with `SQLITE_BUSY` whatever the timeout.
    pub fn begin_write(self) -> &'static str {
        match self {
            Dialect::Sqlite => "BEGIN IMMEDIATE",
            Dialect::Postgres | Dialect::MySql => "BEGIN",
        }
    }

    /// The statement that opens a read transaction seeing one snapshot (an
    /// infrastructure row and its VM rows must agree).
    pub fn begin_read(self) -> &'static str {
        match self {
            Dialect::Sqlite => "BEGIN",
            Dialect::Postgres => "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
            Dialect::MySql => "START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY",
        }
    }

    /// Inserts or replaces one VM row (binds: `inf_id`, `im_id`, `data`).
    pub fn upsert_vm(self) -> Cow<'static, str> {
        match self {
            Dialect::Sqlite => Cow::Borrowed(
                "INSERT INTO vms (inf_id, im_id, data) VALUES (?, ?, ?) \
                 ON CONFLICT (inf_id, im_id) DO UPDATE SET data = excluded.data",
            ),
            Dialect::Postgres => Cow::Borrowed(
                "INSERT INTO vms (inf_id, im_id, data) VALUES ($1, $2, $3) \
                 ON CONFLICT (inf_id, im_id) DO UPDATE SET data = excluded.data",
            ),
            // `VALUES(col)` is deprecated in MySQL 8.0.20+ but still works, and is
            // the only form MariaDB knows.
            Dialect::MySql => Cow::Borrowed(
                "INSERT INTO vms (inf_id, im_id, data) VALUES (?, ?, ?) \
                 ON DUPLICATE KEY UPDATE data = VALUES(data)",
            ),
        }
    }

    /// The `schema_version` table: one row (the first version of this crate
    /// wrote it so; concurrent first starts may leave two equal rows, and the
    /// version is their maximum).
    pub fn schema_version_ddl(self) -> &'static str {
        match self {
            Dialect::Sqlite => {
                "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)"
            }
            Dialect::Postgres => {
                "CREATE TABLE IF NOT EXISTS schema_version (version BIGINT NOT NULL)"
            }
            Dialect::MySql => {
                "CREATE TABLE IF NOT EXISTS schema_version (version BIGINT NOT NULL) ENGINE=InnoDB"
            }
        }
    }

    /// A statement run first in the migration transaction so that two servers
    /// starting together migrate one after the other (PostgreSQL: a
    /// transaction-scoped advisory lock; SQLite is serialized by
    /// `BEGIN IMMEDIATE`).
    pub fn migration_lock(self) -> Option<&'static str> {
        match self {
            Dialect::Postgres => Some("SELECT pg_advisory_xact_lock(7305662817)"),
            Dialect::Sqlite | Dialect::MySql => None,
        }
    }

    /// MySQL's DDL commits the transaction it runs in, so its migration lock is
    /// a session lock taken before (`GET_LOCK`, answers 1 when taken) and
    /// released after (`RELEASE_LOCK`).
    pub fn session_migration_lock(self) -> Option<(&'static str, &'static str)> {
        match self {
            Dialect::MySql => Some((
                "SELECT GET_LOCK('im_store_schema', 60) AS taken",
                "SELECT RELEASE_LOCK('im_store_schema') AS released",
            )),
            Dialect::Sqlite | Dialect::Postgres => None,
        }
    }

    /// Statements run on every new connection (SQLite's pragmas depend on the
    /// options and are added by the store).
    ///
    /// MySQL/MariaDB sessions use READ COMMITTED: under InnoDB's default
    /// REPEATABLE READ, a `DELETE` or an upsert that finds no row takes gap
    /// locks, and concurrent inserts of different infrastructures deadlock
    /// (seen at once with 12 parallel writers). The compare-and-set
    /// `UPDATE … WHERE version = ?` is still exact under READ COMMITTED: InnoDB
    /// re-checks the `WHERE` against the latest committed row after waiting.
    pub fn session_setup(self) -> &'static [&'static str] {
        match self {
            Dialect::MySql => &["SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED"],
            Dialect::Sqlite | Dialect::Postgres => &[],
        }
    }

    /// A statement, run first in a write transaction, that lets its commit
    /// return before the log reaches the disk (the next synchronous commit
    /// flushes it). SQLite does it per batch in the writer; MySQL has no
    /// per-transaction form.
    pub fn relaxed_commit(self) -> Option<&'static str> {
        match self {
            Dialect::Postgres => Some("SET LOCAL synchronous_commit = off"),
            Dialect::Sqlite | Dialect::MySql => None,
        }
    }

    /// A whole [`im_core::Store::insert`] as one statement, so that it costs
    /// one round trip to the server instead of one per row (PostgreSQL: the
    /// rows go in data-modifying `WITH` clauses, one implicit transaction).
    /// Binds: `$1..$7` the infrastructure row as `insert_inf`, `$8` the owner
    /// keys as a JSON list, `$9` the VM rows as a JSON list of
    /// `[im_id, data]`. Unless `durable`, its commit does not wait for the
    /// disk (see [`Dialect::relaxed_commit`]); the durable one leaves the
    /// setting alone, which spares the server a little work. With
    /// `replace_left_rows` (an import), rows of the same id left by a manual
    /// purge of `infrastructures` are replaced, as the statement-per-row path
    /// does. Answers one row when the infrastructure was inserted.
    pub fn insert_at_once(self, durable: bool, replace_left_rows: bool) -> Option<&'static str> {
        macro_rules! insert {
            ($stale:expr, $select:expr) => {
                concat!(
                    "WITH inf AS (
                       INSERT INTO infrastructures
                         (id, version, deleted, created_at, updated_at, owners, data)
                       VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id),
                     keys AS (SELECT json_array_elements_text($8::json) AS k),
                     rows AS (SELECT (e->>0)::bigint AS im_id, e->>1 AS data
                              FROM json_array_elements($9::json) AS e),
                     ",
                    $stale,
                    "new_keys AS (INSERT INTO inf_owners (owner_key, inf_id)
                                  SELECT k, $1 FROM keys ON CONFLICT DO NOTHING),
                     new_vms AS (INSERT INTO vms (inf_id, im_id, data)
                                 SELECT $1, im_id, data FROM rows
                                 ON CONFLICT (inf_id, im_id) DO UPDATE SET data = excluded.data)
                     ",
                    $select
                )
            };
        }
        macro_rules! stale {
            () => {
                "stale_keys AS (DELETE FROM inf_owners WHERE inf_id = $1
                                AND owner_key NOT IN (SELECT k FROM keys)),
                 stale_vms AS (DELETE FROM vms WHERE inf_id = $1
                               AND im_id NOT IN (SELECT im_id FROM rows)),
                 "
            };
        }
        macro_rules! relaxed {
            () => {
                "SELECT set_config('synchronous_commit', 'off', true) FROM inf"
            };
        }
        if self != Dialect::Postgres {
            return None;
        }
        Some(match (durable, replace_left_rows) {
            (true, false) => insert!("", "SELECT id FROM inf"),
            (true, true) => insert!(stale!(), "SELECT id FROM inf"),
            (false, false) => insert!("", relaxed!()),
            (false, true) => insert!(stale!(), relaxed!()),
        })
    }

    /// [`Dialect::insert_at_once`] with the owner keys and the VM rows bound
    /// one by one instead of as two JSON lists, for an insert of up to
    /// `VALUES_MAX_KEYS` keys and `VALUES_MAX_VMS` VMs that replaces no
    /// rows (not an import): PostgreSQL then parses no JSON, and no VM's data
    /// arrives escaped twice (0.03–0.05 ms less per create under `pgbench`,
    /// a tenth of the statement). Binds: `$1..$7` as `insert_inf`, then the
    /// `keys` owner keys, then `im_id` and `data` of each of the `vms` VMs.
    /// Answers one row when the infrastructure was inserted.
    pub fn insert_with_values(
        self,
        durable: bool,
        replace_left_rows: bool,
        keys: usize,
        vms: usize,
    ) -> Option<&'static str> {
        if self != Dialect::Postgres
            || replace_left_rows
            || keys > VALUES_MAX_KEYS
            || vms > VALUES_MAX_VMS
        {
            return None;
        }
        // Every shape made once: the statement texts stay the same, so each
        // connection prepares each shape once.
        static STATEMENTS: OnceLock<Vec<String>> = OnceLock::new();
        let all = STATEMENTS.get_or_init(|| {
            let mut all = Vec::new();
            for durable in [false, true] {
                for keys in 0..=VALUES_MAX_KEYS {
                    for vms in 0..=VALUES_MAX_VMS {
                        all.push(values_insert(durable, keys, vms));
                    }
                }
            }
            all
        });
        let at = (usize::from(durable) * (VALUES_MAX_KEYS + 1) + keys) * (VALUES_MAX_VMS + 1) + vms;
        all.get(at).map(String::as_str)
    }

    /// A statement run right before [`Dialect::begin_read`] on the same
    /// connection (MySQL: the next transaction only, back to REPEATABLE READ so
    /// that `WITH CONSISTENT SNAPSHOT` takes effect).
    pub fn before_read(self) -> Option<&'static str> {
        match self {
            Dialect::MySql => Some("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ"),
            Dialect::Sqlite | Dialect::Postgres => None,
        }
    }

    /// Reads the schema version rows, locking them where the backend can.
    pub fn read_schema_version(self) -> &'static str {
        match self {
            Dialect::Sqlite => "SELECT version FROM schema_version",
            Dialect::Postgres | Dialect::MySql => "SELECT version FROM schema_version FOR UPDATE",
        }
    }

    /// The migrations, oldest first. Integers are 64-bit everywhere (SQLite's
    /// `INTEGER` is), so binds of `i64` match the column types on PostgreSQL.
    pub(crate) fn migrations(self) -> Vec<Migration> {
        let (v1, v2): (Vec<&'static str>, Vec<&'static str>) = match self {
            Dialect::Sqlite => (
                vec![
                    // An implicit `rowid` gives the insertion order; `UPDATE` keeps it.
                    "CREATE TABLE IF NOT EXISTS infrastructures (
                        id TEXT PRIMARY KEY,
                        version INTEGER NOT NULL,
                        deleted INTEGER NOT NULL,
                        created_at INTEGER NOT NULL,
                        updated_at INTEGER NOT NULL,
                        owners TEXT NOT NULL,
                        data TEXT NOT NULL)",
                    "CREATE INDEX IF NOT EXISTS infrastructures_live
                        ON infrastructures (deleted, created_at)",
                    "CREATE TABLE IF NOT EXISTS vms (
                        inf_id TEXT NOT NULL,
                        im_id INTEGER NOT NULL,
                        data TEXT NOT NULL,
                        PRIMARY KEY (inf_id, im_id))",
                ],
                vec![
                    "CREATE TABLE IF NOT EXISTS inf_owners (
                        owner_key TEXT NOT NULL,
                        inf_id TEXT NOT NULL,
                        PRIMARY KEY (owner_key, inf_id))",
                    "CREATE INDEX IF NOT EXISTS inf_owners_inf ON inf_owners (inf_id)",
                ],
            ),
            Dialect::Postgres => (
                vec![
                    "CREATE TABLE IF NOT EXISTS infrastructures (
                        id VARCHAR(255) PRIMARY KEY,
                        seq BIGINT GENERATED ALWAYS AS IDENTITY,
                        version BIGINT NOT NULL,
                        deleted BIGINT NOT NULL,
                        created_at BIGINT NOT NULL,
                        updated_at BIGINT NOT NULL,
                        owners TEXT NOT NULL,
                        data TEXT NOT NULL)",
                    "CREATE INDEX IF NOT EXISTS infrastructures_live
                        ON infrastructures (deleted, created_at, seq)",
                    "CREATE TABLE IF NOT EXISTS vms (
                        inf_id VARCHAR(255) NOT NULL,
                        im_id BIGINT NOT NULL,
                        data TEXT NOT NULL,
                        PRIMARY KEY (inf_id, im_id))",
                ],
                vec![
                    "CREATE TABLE IF NOT EXISTS inf_owners (
                        owner_key VARCHAR(64) NOT NULL,
                        inf_id VARCHAR(255) NOT NULL,
                        PRIMARY KEY (owner_key, inf_id))",
                    "CREATE INDEX IF NOT EXISTS inf_owners_inf ON inf_owners (inf_id)",
                ],
            ),
            // Binary collation: ids and the `owners <> ?` change test must
            // compare exactly (utf8mb4's default collation ignores case).
            Dialect::MySql => (
                vec![
                    "CREATE TABLE IF NOT EXISTS infrastructures (
                        id VARCHAR(255) NOT NULL PRIMARY KEY,
                        seq BIGINT NOT NULL AUTO_INCREMENT UNIQUE,
                        version BIGINT NOT NULL,
                        deleted BIGINT NOT NULL,
                        created_at BIGINT NOT NULL,
                        updated_at BIGINT NOT NULL,
                        owners LONGTEXT NOT NULL,
                        data LONGTEXT NOT NULL,
                        INDEX infrastructures_live (deleted, created_at, seq))
                     ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin",
                    "CREATE TABLE IF NOT EXISTS vms (
                        inf_id VARCHAR(255) NOT NULL,
                        im_id BIGINT NOT NULL,
                        data LONGTEXT NOT NULL,
                        PRIMARY KEY (inf_id, im_id))
                     ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin",
                ],
                vec![
                    "CREATE TABLE IF NOT EXISTS inf_owners (
                        owner_key VARCHAR(64) NOT NULL,
                        inf_id VARCHAR(255) NOT NULL,
                        PRIMARY KEY (owner_key, inf_id),
                        INDEX inf_owners_inf (inf_id))
                     ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin",
                ],
            ),
        };
        // Leases and open work (several instances, crash-safe operations):
        // a table of its own, so that renewing a lease never touches an
        // infrastructure's row or version.
        let v3: Vec<&'static str> = match self {
            Dialect::Sqlite => vec![
                "CREATE TABLE IF NOT EXISTS inf_leases (
                    inf_id TEXT PRIMARY KEY,
                    owner TEXT NOT NULL,
                    lease_until INTEGER NOT NULL,
                    work INTEGER NOT NULL)",
                "CREATE INDEX IF NOT EXISTS inf_leases_work ON inf_leases (work, lease_until)",
                "CREATE INDEX IF NOT EXISTS inf_leases_owner ON inf_leases (owner)",
            ],
            Dialect::Postgres => vec![
                "CREATE TABLE IF NOT EXISTS inf_leases (
                    inf_id VARCHAR(255) PRIMARY KEY,
                    owner VARCHAR(64) NOT NULL,
                    lease_until BIGINT NOT NULL,
                    work BIGINT NOT NULL)",
                "CREATE INDEX IF NOT EXISTS inf_leases_work ON inf_leases (work, lease_until)",
                "CREATE INDEX IF NOT EXISTS inf_leases_owner ON inf_leases (owner)",
            ],
            Dialect::MySql => vec![
                "CREATE TABLE IF NOT EXISTS inf_leases (
                    inf_id VARCHAR(255) NOT NULL PRIMARY KEY,
                    owner VARCHAR(64) NOT NULL,
                    lease_until BIGINT NOT NULL,
                    work BIGINT NOT NULL,
                    INDEX inf_leases_work (work, lease_until),
                    INDEX inf_leases_owner (owner))
                 ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin",
            ],
        };
        // The owner index without its rowid b-tree on SQLite: the primary key
        // is the table, so a create writes one page fewer to the log (of
        // about ten). PostgreSQL's and MySQL's are already clustered or need
        // no change. Not idempotent statement by statement, and need not be:
        // SQLite's DDL is transactional, so the migration applies whole or not.
        let v4: Vec<&'static str> = match self {
            Dialect::Sqlite => vec![
                "CREATE TABLE IF NOT EXISTS inf_owners_v4 (
                    owner_key TEXT NOT NULL,
                    inf_id TEXT NOT NULL,
                    PRIMARY KEY (owner_key, inf_id)) WITHOUT ROWID",
                "INSERT OR IGNORE INTO inf_owners_v4 (owner_key, inf_id)
                    SELECT owner_key, inf_id FROM inf_owners",
                "DROP TABLE inf_owners",
                "ALTER TABLE inf_owners_v4 RENAME TO inf_owners",
                "CREATE INDEX IF NOT EXISTS inf_owners_inf ON inf_owners (inf_id)",
            ],
            Dialect::Postgres | Dialect::MySql => Vec::new(),
        };
        vec![
            Migration {
                version: 1,
                ddl: v1,
                backfill_owners: false,
            },
            Migration {
                version: 2,
                ddl: v2,
                backfill_owners: true,
            },
            Migration {
                version: 3,
                ddl: v3,
                backfill_owners: false,
            },
            Migration {
                version: 4,
                ddl: v4,
                backfill_owners: false,
            },
        ]
    }
}

/// The most owner keys an insert binds one by one (see
/// [`Dialect::insert_with_values`]); an infrastructure has one owner but for
/// shared ones.
pub const VALUES_MAX_KEYS: usize = 4;
/// The most VMs an insert binds one by one (see [`Dialect::insert_with_values`]).
pub const VALUES_MAX_VMS: usize = 16;

/// The text of one [`Dialect::insert_with_values`] statement.
fn values_insert(durable: bool, keys: usize, vms: usize) -> String {
    let mut sql = String::from(
        "WITH inf AS (INSERT INTO infrastructures \
         (id, version, deleted, created_at, updated_at, owners, data) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id)",
    );
    let mut n = 7;
    let mut next = || {
        n += 1;
        n
    };
    if keys > 0 {
        let rows: Vec<String> = (0..keys).map(|_| format!("(${}, $1)", next())).collect();
        sql.push_str(&format!(
            ", new_keys AS (INSERT INTO inf_owners (owner_key, inf_id) VALUES {} \
             ON CONFLICT DO NOTHING)",
            rows.join(", ")
        ));
    }
    if vms > 0 {
        let rows: Vec<String> = (0..vms)
            .map(|_| format!("($1, ${}, ${})", next(), next()))
            .collect();
        sql.push_str(&format!(
            ", new_vms AS (INSERT INTO vms (inf_id, im_id, data) VALUES {} \
             ON CONFLICT (inf_id, im_id) DO UPDATE SET data = excluded.data)",
            rows.join(", ")
        ));
    }
    sql.push_str(if durable {
        " SELECT id FROM inf"
    } else {
        " SELECT set_config('synchronous_commit', 'off', true) FROM inf"
    });
    sql
}

#[cfg(test)]
mod tests {
    use super::{Dialect, VALUES_MAX_KEYS, VALUES_MAX_VMS};

    #[test]
    fn an_insert_binds_its_keys_then_its_vm_rows_in_order() {
        let stmt = Dialect::Postgres
            .insert_with_values(true, false, 2, 2)
            .unwrap();
        assert!(stmt.contains("VALUES ($8, $1), ($9, $1)"), "{stmt}");
        assert!(
            stmt.contains("VALUES ($1, $10, $11), ($1, $12, $13)"),
            "{stmt}"
        );
        assert!(stmt.ends_with(" SELECT id FROM inf"), "{stmt}");
        let relaxed = Dialect::Postgres
            .insert_with_values(false, false, 1, 0)
            .unwrap();
        assert!(!relaxed.contains("new_vms"), "{relaxed}");
        assert!(relaxed.ends_with("FROM inf") && relaxed.contains("set_config"));
        let last = Dialect::Postgres
            .insert_with_values(true, false, VALUES_MAX_KEYS, VALUES_MAX_VMS)
            .unwrap();
        let binds = 7 + VALUES_MAX_KEYS + 2 * VALUES_MAX_VMS;
        assert!(last.contains(&format!("${binds})")), "{last}");
        assert!(!last.contains(&format!("${}", binds + 1)), "{last}");
    }

    #[test]
    fn larger_inserts_imports_and_other_engines_bind_json_lists() {
        let pg = Dialect::Postgres;
        assert_eq!(
            pg.insert_with_values(true, false, 1, VALUES_MAX_VMS + 1),
            None
        );
        assert_eq!(
            pg.insert_with_values(true, false, VALUES_MAX_KEYS + 1, 1),
            None
        );
        assert_eq!(pg.insert_with_values(true, true, 1, 1), None);
        assert_eq!(Dialect::MySql.insert_with_values(true, false, 1, 1), None);
    }

    #[test]
    fn postgres_numbers_its_placeholders() {
        assert_eq!(
            Dialect::Postgres.sql("UPDATE t SET a = ? WHERE id = ? AND v = ?"),
            "UPDATE t SET a = $1 WHERE id = $2 AND v = $3"
        );
        assert_eq!(Dialect::MySql.sql("SELECT ? FROM t"), "SELECT ? FROM t");
    }

    #[test]
    fn the_insertion_order_column_is_per_dialect() {
        let q = "SELECT id FROM infrastructures ORDER BY {seq} DESC";
        assert_eq!(
            Dialect::Sqlite.sql(q),
            "SELECT id FROM infrastructures ORDER BY rowid DESC"
        );
        assert_eq!(
            Dialect::Postgres.sql(q),
            "SELECT id FROM infrastructures ORDER BY seq DESC"
        );
    }

    #[test]
    fn every_dialect_migrates_to_the_same_version() {
        for d in [Dialect::Sqlite, Dialect::Postgres, Dialect::MySql] {
            let versions: Vec<i64> = d.migrations().iter().map(|m| m.version).collect();
            assert_eq!(versions, [1, 2, 3, 4], "{d:?}");
        }
    }
}
