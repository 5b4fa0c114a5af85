//! Store backends: where infrastructures live between requests and restarts.
//!
//! The schema is normalized (one row per infrastructure, one per VM, an owner
//! index) with a version column for compare-and-set. SQLite is the embedded
//! default; PostgreSQL and MySQL come with the scale-out issue and will share
//! this SQL behind a dialect switch.

mod sqlite;

use std::sync::Arc;

use im_core::{Store, StoreError};

pub use sqlite::SqliteStore;

/// Opens the store of a `DATA_DB` URL in the reference's forms:
/// `sqlite:///abs/path`, `file:///abs/path`, a plain path, or `sqlite::memory:`.
pub async fn open(url: &str) -> Result<Arc<dyn Store>, StoreError> {
    let url = url.trim();
    if url.starts_with("mysql://")
        || url.starts_with("postgresql://")
        || url.starts_with("postgres://")
        || url.starts_with("mongodb://")
    {
        return Err(StoreError::Backend(format!(
            "database URL '{}': only SQLite is supported in this version",
            url.split("://").next().unwrap_or(url)
        )));
    }
    Ok(Arc::new(SqliteStore::open(&sqlite_path(url)).await?))
}

/// The SQLite file of a URL (`:memory:` for an in-memory database).
pub fn sqlite_path(url: &str) -> String {
    if url == "sqlite::memory:" || url == ":memory:" {
        return ":memory:".into();
    }
    for prefix in ["sqlite://", "file://"] {
        if let Some(rest) = url.strip_prefix(prefix) {
            return rest.to_string();
        }
    }
    url.strip_prefix("sqlite:").unwrap_or(url).to_string()
}

#[cfg(test)]
mod tests {
    use super::sqlite_path;

    #[test]
    fn the_reference_url_forms_name_a_file() {
        assert_eq!(sqlite_path("sqlite:///etc/im/inf.dat"), "/etc/im/inf.dat");
        assert_eq!(sqlite_path("file:///var/im.db"), "/var/im.db");
        assert_eq!(sqlite_path("/etc/im/inf.dat"), "/etc/im/inf.dat");
        assert_eq!(sqlite_path("im-data/im.db"), "im-data/im.db");
        assert_eq!(sqlite_path("sqlite::memory:"), ":memory:");
    }
}
