//! Adopting a database of the Python IM 2.0: its `inf_list` table (SQLite or
//! MySQL form, spec core.md §3) is read at open and every infrastructure that
//! is not in our tables yet is copied into them, keeping its id, its VMs (IM
//! ids, cloud ids, states, contextualization results) and its owners (the
//! document's `auth`). Destroyed ones (`deleted = 1`) come in as tombstones,
//! so their ids stay known and are never reused.
//!
//! `inf_list` itself is only read, never written: stopping this server and
//! starting the Python IM again on the same database gives back the
//! infrastructures as they were at adoption (what this server changed since
//! is not in `inf_list`). Rows whose id is already ours are skipped, so each
//! start adopts only what the Python IM created since the last one.

use std::collections::HashSet;

use im_core::{Infrastructure, Store, StoreError};
use serde_json::Value;
use sqlx::Row;

use crate::Dialect;
use crate::sql::{SqlStore, sql_str};

/// What an adoption did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Adoption {
    /// Infrastructures copied in (live ones and tombstones).
    pub adopted: usize,
    /// Rows skipped because the id is already in our tables.
    pub known: usize,
    /// Rows that could not be read (not JSON: a pickled blob of IM 1.x, or
    /// corrupt), with the reason; they stay in `inf_list` only.
    pub unreadable: Vec<(String, String)>,
}

fn db_err(what: &str, e: sqlx::Error) -> StoreError {
    StoreError::Backend(format!("{what}: {e}"))
}

/// Whether the database has a table `name` (a plain identifier).
pub(crate) async fn table_exists(store: &SqlStore, name: &str) -> Result<bool, StoreError> {
    let sql = match store.dialect() {
        Dialect::Sqlite => {
            "SELECT COUNT(*) AS n FROM sqlite_master WHERE type = 'table' AND name = ?"
        }
        Dialect::Postgres => {
            "SELECT COUNT(*) AS n FROM information_schema.tables \
             WHERE table_schema = current_schema() AND table_name = $1"
        }
        Dialect::MySql => {
            "SELECT CAST(COUNT(*) AS SIGNED) AS n FROM information_schema.tables \
             WHERE table_schema = DATABASE() AND table_name = ?"
        }
    };
    let what = format!("cannot look for the table {name}");
    let row = sqlx::query(sql)
        .bind(name)
        .fetch_one(store.pool())
        .await
        .map_err(|e| db_err(&what, e))?;
    let n: i64 = row.try_get("n").map_err(|e| db_err(&what, e))?;
    Ok(n > 0)
}

/// One reference document as our record (version 1).
fn convert(id: &str, deleted: bool, data: &str) -> Result<im_core::StoredInf, String> {
    let v: Value = serde_json::from_str(data).map_err(|e| format!("not JSON: {e}"))?;
    let mut inf = Infrastructure::from_export_json(&v).map_err(|e| e.to_string())?;
    if inf.id != id {
        return Err(format!("the document's id is {:?}", inf.id));
    }
    // Unlike an import, the adopted VMs keep their contextualization result.
    if let Some(list) = v.get("vm_list").and_then(Value::as_array) {
        for (vm, doc) in inf.vms.iter_mut().zip(list) {
            vm.configured = doc.get("configured").and_then(Value::as_bool);
        }
    }
    inf.deleted = deleted;
    inf.version = 1;
    Ok(inf.to_stored())
}

/// Copies the infrastructures of `inf_list` that are not ours yet. Does
/// nothing (and reads nothing) when the table does not exist.
pub(crate) async fn adopt(store: &SqlStore) -> Result<Adoption, StoreError> {
    let mut report = Adoption::default();
    if !table_exists(store, "inf_list").await? {
        return Ok(report);
    }
    let ours: HashSet<String> = sqlx::query("SELECT id FROM infrastructures")
        .fetch_all(store.pool())
        .await
        .map_err(|e| db_err("cannot list our infrastructures", e))?
        .iter()
        .map(|r| r.try_get::<String, _>("id"))
        .collect::<Result<_, _>>()
        .map_err(|e| db_err("cannot list our infrastructures", e))?;
    // Ids first (cheap at every start once adopted), the documents of the
    // new ones only. Oldest first (SQLite rowid, MySQL's `rowid` column), as
    // the Python IM saved them.
    let ids_sql = match store.dialect() {
        Dialect::MySql | Dialect::Sqlite => "SELECT id FROM inf_list ORDER BY rowid",
        Dialect::Postgres => "SELECT id FROM inf_list",
    };
    let ids: Vec<String> = sqlx::query(ids_sql)
        .fetch_all(store.pool())
        .await
        .map_err(|e| db_err("cannot read the reference's inf_list table", e))?
        .iter()
        .map(|r| r.try_get::<String, _>("id"))
        .collect::<Result<_, _>>()
        .map_err(|e| db_err("inf_list.id", e))?;
    // The reference's columns are INTEGER/TEXT: read them as 64-bit and text
    // on every engine.
    let int = match store.dialect() {
        Dialect::MySql => "SIGNED",
        Dialect::Sqlite | Dialect::Postgres => "BIGINT",
    };
    let one = sql_str(store.dialect().sql(&format!(
        "SELECT CAST(COALESCE(deleted, 0) AS {int}) AS deleted, data FROM inf_list WHERE id = ?"
    )));
    for id in ids {
        if ours.contains(&id) {
            report.known += 1;
            continue;
        }
        let Some(r) = sqlx::query(one.clone())
            .bind(&id)
            .fetch_optional(store.pool())
            .await
            .map_err(|e| db_err("cannot read the reference's inf_list table", e))?
        else {
            continue;
        };
        let deleted: i64 = r
            .try_get("deleted")
            .map_err(|e| db_err("inf_list.deleted", e))?;
        let data: Option<String> = r.try_get("data").map_err(|e| db_err("inf_list.data", e))?;
        let stored = match data
            .as_deref()
            .ok_or_else(|| "no data".to_string())
            .and_then(|d| convert(&id, deleted != 0, d))
        {
            Ok(s) => s,
            Err(why) => {
                report.unreadable.push((id, why));
                continue;
            }
        };
        match store.insert(&stored).await {
            Ok(()) => report.adopted += 1,
            // Another server adopting at the same time.
            Err(StoreError::Exists(_)) => report.known += 1,
            Err(e) => return Err(e),
        }
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::convert;

    #[test]
    fn a_reference_document_keeps_its_vm_states_and_owners() {
        let doc = serde_json::json!({
            "id": "a1", "auth": [{"type": "InfrastructureManager", "username": "u", "password": "p"}],
            "radl": "", "vm_master": null, "private_networks": {}, "deleted": false,
            "configured": true, "ansible_configured": null, "cont_out": "", "extra_info": {},
            "snapshots": [], "creation_date": 1700000000, "system_counter": 0, "vm_id": 1,
            "vm_list": [{"id": "c-1", "im_id": 0, "creation_im_id": 0, "state": "stopped",
                "last_update": 0, "destroy": false, "deleting": false, "creating": false,
                "cloud": {"id": "d", "type": "Dummy", "server": "", "port": -1, "protocol": "",
                    "path": "", "extra": {}},
                "info": "", "requested_radl": "", "cont_out": "", "configured": true,
                "ctxt_pid": null, "ssh_connect_errors": 0, "error_msg": null, "creation_date": 0}]
        });
        let s = convert("a1", false, &doc.to_string()).expect("converted");
        assert_eq!(s.version, 1);
        assert_eq!(s.owners[0].username, "u");
        assert_eq!(s.created_at, 1_700_000_000);
        assert_eq!(s.vms[0].data["state"], "stopped");
        assert_eq!(s.vms[0].data["configured"], true);
        assert!(convert("other", false, &doc.to_string()).is_err());
        assert!(convert("a1", false, "(dp0\nS'pickled'").is_err());
    }
}
