//! The shared suite with a server key (secrets at rest) on SQLite, and on
//! PostgreSQL and MySQL/MariaDB when `IM_TEST_POSTGRES_URL` /
//! `IM_TEST_MYSQL_URL` name a server (a database `<name>_secrets` is created
//! next to the named one: a key turns a database encrypted for good, so the
//! unkeyed suites must not share it). Plus what only a key changes: values
//! sealed in the rows, a wrong key refused.

#![allow(clippy::unwrap_used)] // a panic is the failure report

#[macro_use]
mod suite;

use std::sync::Arc;

use im_core::Store;
use im_store::{OpenOptions, Secrets, SqlStore};
use sqlx::Row;

use suite::{Ns, inf};

fn key(byte: u8) -> Option<Arc<Secrets>> {
    Some(Arc::new(Secrets::new(&[byte; 32]).unwrap()))
}

fn opts(byte: u8) -> OpenOptions {
    OpenOptions {
        secrets: key(byte),
        ..Default::default()
    }
}

async fn open_memory() -> Option<Arc<dyn Store>> {
    Some(Arc::new(
        SqlStore::open_with("sqlite::memory:", &opts(3))
            .await
            .unwrap(),
    ))
}

/// `URL` with its database renamed `<db>_secrets`, created if missing.
async fn secrets_url(var: &str) -> Option<String> {
    let url = match std::env::var(var) {
        Ok(u) if !u.is_empty() => u,
        _ => {
            eprintln!("{var} is not set: case skipped");
            return None;
        }
    };
    let (server, db) = url.rsplit_once('/').unwrap();
    let name = format!("{db}_secrets");
    sqlx::any::install_default_drivers();
    if url.starts_with("mysql") || url.starts_with("mariadb") {
        let mut c = <sqlx::AnyConnection as sqlx::Connection>::connect(&url)
            .await
            .unwrap();
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            "CREATE DATABASE IF NOT EXISTS {name}"
        )))
        .execute(&mut c)
        .await
        .unwrap();
    } else {
        let mut c =
            <sqlx::AnyConnection as sqlx::Connection>::connect(&format!("{server}/postgres"))
                .await
                .unwrap();
        let exists = sqlx::query("SELECT COUNT(*) AS n FROM pg_database WHERE datname = $1")
            .bind(&name)
            .fetch_one(&mut c)
            .await
            .unwrap()
            .get::<i64, _>("n");
        if exists == 0 {
            // Two test processes may race here: the loser's error is harmless.
            let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                .execute(&mut c)
                .await;
        }
    }
    Some(format!("{server}/{name}"))
}

async fn open_env(var: &str) -> Option<Arc<dyn Store>> {
    let url = secrets_url(var).await?;
    Some(Arc::new(SqlStore::open_with(&url, &opts(3)).await.unwrap()))
}

async fn open_postgres() -> Option<Arc<dyn Store>> {
    open_env("IM_TEST_POSTGRES_URL").await
}

async fn open_mysql() -> Option<Arc<dyn Store>> {
    open_env("IM_TEST_MYSQL_URL").await
}

mod with_a_key_on_sqlite {
    store_suite!(super::open_memory);
}

mod with_a_key_on_postgresql {
    store_suite!(super::open_postgres);
}

mod with_a_key_on_mysql {
    store_suite!(super::open_mysql);
}

#[tokio::test]
async fn with_a_key_the_rows_hold_no_credential_and_another_key_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("im.db").display());
    let store = SqlStore::open_with(&url, &opts(5)).await.unwrap();
    let ns = Ns::new();
    let mut i = inf(&ns.id("a"), 1_700_000_000, 2);
    i.owners = vec![im_auth::ImUser::new(
        "owner-u",
        Some("secret-pw".to_string()),
    )];
    i.data.insert(
        "radl".into(),
        "disk.0.os.credentials.password = 'vm-pw'".into(),
    );
    store.insert(&i).await.unwrap();
    assert_eq!(store.load(&i.id).await.unwrap().unwrap().owners, i.owners);
    assert_eq!(store.list_owned("owner-u").await.unwrap().len(), 1);
    store.close().await;

    let pool = sqlx::sqlite::SqlitePool::connect(&url).await.unwrap();
    for (table, column) in [
        ("infrastructures", "owners"),
        ("infrastructures", "data"),
        ("vms", "data"),
    ] {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {column} AS v FROM {table}"
        )))
        .fetch_all(&pool)
        .await
        .unwrap();
        for r in rows {
            let v: String = r.get("v");
            assert!(v.starts_with("enc1:"), "{table}.{column}: {v}");
            for secret in ["secret-pw", "owner-u", "vm-pw"] {
                assert!(!v.contains(secret), "{table}.{column}");
            }
        }
    }
    let keys: Vec<String> = sqlx::query("SELECT owner_key FROM inf_owners")
        .fetch_all(&pool)
        .await
        .unwrap()
        .iter()
        .map(|r| r.get("owner_key"))
        .collect();
    assert_eq!(keys, [Secrets::new(&[5; 32]).unwrap().owner_key("owner-u")]);
    pool.close().await;

    let err = SqlStore::open_with(&url, &opts(6)).await.unwrap_err();
    assert!(err.to_string().contains("not the key"), "{err}");
    let err = SqlStore::open(&url).await.unwrap_err();
    assert!(err.to_string().contains("encrypted"), "{err}");
}
