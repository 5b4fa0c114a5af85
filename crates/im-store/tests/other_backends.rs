//! The shared suite on PostgreSQL and MySQL/MariaDB, when a test database is
//! named: `IM_TEST_POSTGRES_URL` (e.g. `postgres://postgres@127.0.0.1/test`)
//! and `IM_TEST_MYSQL_URL` (e.g. `mysql://root@127.0.0.1/test`). Without the
//! variable, each case passes without doing anything and says so on stderr.
//! The cases use ids unique to the run, so the database may hold other rows.

#![allow(clippy::unwrap_used)] // a panic is the failure report

#[macro_use]
mod suite;

use std::sync::Arc;

use im_core::Store;
use sqlx::Connection;

async fn open_env(var: &str) -> Option<Arc<dyn Store>> {
    match std::env::var(var) {
        Ok(url) if !url.is_empty() => Some(im_store::open(&url).await.unwrap()),
        _ => {
            eprintln!("{var} is not set: case skipped");
            None
        }
    }
}

async fn open_postgres() -> Option<Arc<dyn Store>> {
    open_env("IM_TEST_POSTGRES_URL").await
}

async fn open_mysql() -> Option<Arc<dyn Store>> {
    open_env("IM_TEST_MYSQL_URL").await
}

mod on_postgresql {
    store_suite!(super::open_postgres);

    #[tokio::test]
    async fn reopening_the_database_keeps_everything() {
        if super::open_postgres().await.is_some() {
            crate::suite::reopening_the_database_keeps_everything(async || {
                super::open_postgres().await.unwrap()
            })
            .await;
        }
    }
}

mod on_mysql {
    store_suite!(super::open_mysql);

    #[tokio::test]
    async fn reopening_the_database_keeps_everything() {
        if super::open_mysql().await.is_some() {
            crate::suite::reopening_the_database_keeps_everything(async || {
                super::open_mysql().await.unwrap()
            })
            .await;
        }
    }
}

/// Connections the database server cut while they sat idle (a restarted
/// server, a firewall's idle timeout) are replaced: the store's next reads
/// and writes succeed. PostgreSQL only, where a test can name the store's
/// sessions (by `application_name`) and cut them without touching others.
#[tokio::test]
async fn on_postgresql_connections_cut_while_idle_are_replaced() {
    let Ok(base) = std::env::var("IM_TEST_POSTGRES_URL") else {
        eprintln!("IM_TEST_POSTGRES_URL is not set: case skipped");
        return;
    };
    let ns = suite::Ns::new();
    let app = format!("im_cut_{}", ns.id("x").replace(['-', '.'], "_"));
    let sep = if base.contains('?') { '&' } else { '?' };
    let s = im_store::open(&format!("{base}{sep}application_name={app}"))
        .await
        .unwrap();
    let first = suite::inf(&ns.id("first"), 1, 1);
    s.insert(&first).await.unwrap();
    assert!(s.load(&first.id).await.unwrap().is_some());

    sqlx::any::install_default_drivers();
    let mut admin = sqlx::AnyConnection::connect(&base).await.unwrap();
    let cut = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = '{app}'"
    )))
    .fetch_all(&mut admin)
    .await
    .unwrap();
    assert!(!cut.is_empty(), "the store had no session to cut");
    tokio::time::sleep(std::time::Duration::from_millis(1200)).await;

    let second = suite::inf(&ns.id("second"), 2, 1);
    s.insert(&second).await.unwrap();
    assert_eq!(s.load(&first.id).await.unwrap().unwrap(), first);
    assert_eq!(s.load(&second.id).await.unwrap().unwrap(), second);
}

/// An import under an id whose `infrastructures` row an operator purged by
/// hand stores only what it brings: the VM rows and owner index entries the
/// purge left behind are replaced, not merged in.
async fn an_import_replaces_what_a_manual_purge_left(var: &str) {
    let Ok(url) = std::env::var(var) else {
        eprintln!("{var} is not set: case skipped");
        return;
    };
    let s = im_store::open(&url).await.unwrap();
    let ns = suite::Ns::new();
    let id = ns.id("purged");
    s.insert(&suite::inf(&id, 1, 3)).await.unwrap();

    sqlx::any::install_default_drivers();
    let mut admin = sqlx::AnyConnection::connect(&url).await.unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "DELETE FROM infrastructures WHERE id = '{id}'"
    )))
    .execute(&mut admin)
    .await
    .unwrap();

    let mut imported = suite::inf(&id, 2, 1);
    imported.owners = vec![suite::user("bob")];
    s.insert_imported(&imported).await.unwrap();
    assert_eq!(s.load(&id).await.unwrap().unwrap(), imported);
    assert!(
        !suite::owned_ids(&*s, "alice").await.contains(&id),
        "the purged owner still lists it"
    );
}

#[tokio::test]
async fn on_postgresql_an_import_replaces_what_a_manual_purge_left() {
    an_import_replaces_what_a_manual_purge_left("IM_TEST_POSTGRES_URL").await;
}

#[tokio::test]
async fn on_mysql_an_import_replaces_what_a_manual_purge_left() {
    an_import_replaces_what_a_manual_purge_left("IM_TEST_MYSQL_URL").await;
}
