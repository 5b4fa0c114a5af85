//! Store backends: where infrastructures live between requests and restarts.
//!
//! One implementation of [`im_core::Store`], [`SqlStore`], runs on SQLite (the
//! embedded default), PostgreSQL and MySQL/MariaDB through sqlx's `Any` driver;
//! the differences (placeholders, DDL types, upsert form, order column) are a
//! [`Dialect`] switch. SQLite is what this version tests; the other two share the
//! code and the test suite (`tests/suite`) but are exercised only when a test
//! database URL is given (see `tests/other_backends.rs`).
//!
//! The schema is normalized (see [`SqlStore`]): one row per infrastructure with a
//! version for compare-and-set, one row per VM, and an owner index. The
//! reference's own `inf_list` table is never created or written; when it
//! exists, its infrastructures are adopted at open (`adopt`). With a server
//! key the credentials are encrypted at rest (`secrets`).
//!
//! ```no_run
//! # async fn demo() -> Result<(), im_core::StoreError> {
//! let store = im_store::open("sqlite:///var/lib/im/im.db").await?;
//! store.ping().await?;
//! # Ok(()) }
//! ```

mod adopt;
mod conns;
mod dialect;
mod lease;
mod lease_view;
mod secrets;
mod sql;
mod url;
mod writer;

use std::sync::Arc;

use im_core::{Store, StoreError};

pub use adopt::Adoption;
pub use dialect::Dialect;
pub use secrets::{KeyError, Secrets};
pub use sql::{Durability, OpenOptions, SqlStore, owner_key};
pub use url::{Target, UrlError, redact};

/// Opens the store of a `DATA_DB` URL with default [`OpenOptions`].
///
/// Accepted forms (see [`Target::parse`]): `sqlite:///abs/path`,
/// `sqlite://relative/path`, `file:///abs/path`, a plain path (`/etc/im/inf.dat`,
/// `./im-data/im.db`), `sqlite::memory:`, `postgres://…`/`postgresql://…` and
/// `mysql://…`/`mariadb://…`. A missing SQLite file and its directory are
/// created; the schema is created or migrated before this returns.
pub async fn open(url: &str) -> Result<Arc<dyn Store>, StoreError> {
    Ok(Arc::new(SqlStore::open(url).await?))
}

/// [`open`] with [`OpenOptions`] (a server key for secrets at rest, …).
pub async fn open_with_options(
    url: &str,
    opts: &OpenOptions,
) -> Result<Arc<dyn Store>, StoreError> {
    Ok(Arc::new(SqlStore::open_with(url, opts).await?))
}
