//! The lease ownership the metrics report: live leases of the `inf_leases`
//! table (several instances sharing a database), counted per holding
//! instance. Read only, and only when the table exists.

use im_core::{StoreError, now_secs};
use sqlx::Row;

use crate::Dialect;
use crate::sql::{SqlStore, sql_str};

fn db_err(e: sqlx::Error) -> StoreError {
    StoreError::Backend(format!("cannot count the leases: {e}"))
}

/// (instance, leases held, of which with open work), by instance.
pub(crate) async fn lease_owners(store: &SqlStore) -> Result<Vec<(String, i64, i64)>, StoreError> {
    if !crate::adopt::table_exists(store, "inf_leases").await? {
        return Ok(Vec::new());
    }
    let int = match store.dialect() {
        Dialect::MySql => "SIGNED",
        Dialect::Sqlite | Dialect::Postgres => "BIGINT",
    };
    let sql = store.dialect().sql(&format!(
        "SELECT owner, CAST(COUNT(*) AS {int}) AS held, \
         CAST(SUM(CASE WHEN work <> 0 THEN 1 ELSE 0 END) AS {int}) AS with_work \
         FROM inf_leases WHERE owner <> '' AND lease_until >= ? GROUP BY owner ORDER BY owner"
    ));
    let now_ms = now_secs().saturating_mul(1000);
    let rows = sqlx::query(sql_str(sql))
        .bind(now_ms)
        .fetch_all(store.pool())
        .await
        .map_err(db_err)?;
    rows.iter()
        .map(|r| {
            Ok((
                r.try_get("owner").map_err(db_err)?,
                r.try_get("held").map_err(db_err)?,
                r.try_get::<Option<i64>, _>("with_work")
                    .map_err(db_err)?
                    .unwrap_or(0),
            ))
        })
        .collect()
}
