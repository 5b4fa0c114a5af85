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
