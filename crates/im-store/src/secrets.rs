//! Secrets at rest: with a server key, the JSON columns that hold credentials
//! (`infrastructures.owners` and `.data`, `vms.data`) are encrypted with
//! ChaCha20-Poly1305 and the owner index holds HMAC-SHA256 keys of the
//! usernames instead of an unkeyed hash.
//!
//! A sealed value is `enc1:` + base64(nonce ‖ ciphertext ‖ tag). The nonce is
//! synthetic (an HMAC of the associated data and the plaintext, as in
//! AES-SIV): the same text in the same place always seals to the same value,
//! so the store's "did it change?" comparisons of stored text keep working,
//! and two different texts never share a nonce. The associated data names
//! the row and column (`owners:<inf id>`, `vm:<inf id>:<im id>`), so a sealed
//! value copied to another row does not open. Values without the prefix are
//! read as plaintext (a database written before the key was configured).
//!
//! The database records a check value of the key (`store_key` table): a
//! server started with another key, or without a key on an encrypted
//! database, refuses to start instead of failing on every row. The first
//! start with a key encrypts what is in clear and rebuilds the owner index
//! ([`enable`]).

use std::borrow::Cow;
use std::path::Path;

use aws_lc_rs::aead::{Aad, CHACHA20_POLY1305, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use aws_lc_rs::hmac;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use im_core::StoreError;
use sqlx::Row;

use crate::sql::SqlStore;

/// The prefix of a sealed value.
const PREFIX: &str = "enc1:";

/// Why a key was refused.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The text is not base64 of 32 bytes.
    #[error("the database key must be 32 bytes, base64-encoded (e.g. `openssl rand -base64 32`)")]
    Malformed,
    /// The key file cannot be read.
    #[error("cannot read the database key file {0}: {1}")]
    File(String, std::io::Error),
}

/// The server key and the keys derived from it.
pub struct Secrets {
    aead: LessSafeKey,
    nonce: hmac::Key,
    owner: hmac::Key,
    check: String,
}

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secrets(…)")
    }
}

/// HMAC-SHA256 of `data` under `key`.
fn mac(key: &hmac::Key, data: &[u8]) -> hmac::Tag {
    hmac::sign(key, data)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl Secrets {
    /// A key from its 32 bytes.
    pub fn new(key: &[u8; 32]) -> Result<Secrets, KeyError> {
        // One key per purpose, derived from the server key by HMAC with a label.
        let master = hmac::Key::new(hmac::HMAC_SHA256, key);
        let derive = |label: &str| mac(&master, label.as_bytes());
        let aead_key = derive("im-store aead v1");
        let aead = UnboundKey::new(&CHACHA20_POLY1305, aead_key.as_ref())
            .map_err(|_| KeyError::Malformed)?;
        Ok(Secrets {
            aead: LessSafeKey::new(aead),
            nonce: hmac::Key::new(hmac::HMAC_SHA256, derive("im-store nonce v1").as_ref()),
            owner: hmac::Key::new(hmac::HMAC_SHA256, derive("im-store owner v1").as_ref()),
            check: hex(derive("im-store key check v1").as_ref()),
        })
    }

    /// A key from its base64 text (surrounding whitespace ignored).
    pub fn from_base64(text: &str) -> Result<Secrets, KeyError> {
        let bytes = B64.decode(text.trim()).map_err(|_| KeyError::Malformed)?;
        let key: [u8; 32] = bytes.try_into().map_err(|_| KeyError::Malformed)?;
        Self::new(&key)
    }

    /// A key from a file: base64 text, or exactly 32 raw bytes.
    pub fn from_file(path: &Path) -> Result<Secrets, KeyError> {
        let bytes =
            std::fs::read(path).map_err(|e| KeyError::File(path.display().to_string(), e))?;
        if let Ok(key) = <[u8; 32]>::try_from(bytes.as_slice()) {
            return Self::new(&key);
        }
        let text = std::str::from_utf8(&bytes).map_err(|_| KeyError::Malformed)?;
        Self::from_base64(text)
    }

    /// The owner-index key of a username: hex HMAC-SHA256 (64 digits).
    pub fn owner_key(&self, username: &str) -> String {
        hex(mac(&self.owner, username.as_bytes()).as_ref())
    }

    /// Encrypts `plain`, bound to `aad` (where it is stored).
    pub fn seal(&self, plain: &str, aad: &str) -> Result<String, StoreError> {
        let mut ctx = hmac::Context::with_key(&self.nonce);
        ctx.update(&(aad.len() as u64).to_be_bytes());
        ctx.update(aad.as_bytes());
        ctx.update(plain.as_bytes());
        let tag = ctx.sign();
        let mut nonce = [0u8; NONCE_LEN];
        nonce.copy_from_slice(&tag.as_ref()[..NONCE_LEN]);
        let mut buf = plain.as_bytes().to_vec();
        self.aead
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(aad.as_bytes()),
                &mut buf,
            )
            .map_err(|_| StoreError::Backend("cannot encrypt a value".into()))?;
        let mut out = Vec::with_capacity(NONCE_LEN + buf.len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&buf);
        Ok(format!("{PREFIX}{}", B64.encode(out)))
    }

    /// Decrypts a sealed value; a value without the prefix is returned as is.
    pub fn open<'a>(&self, stored: &'a str, aad: &str) -> Result<Cow<'a, str>, StoreError> {
        let Some(b64) = stored.strip_prefix(PREFIX) else {
            return Ok(Cow::Borrowed(stored));
        };
        let bad = || {
            StoreError::Backend(format!(
                "cannot decrypt the stored {aad}: corrupt, or sealed with another key"
            ))
        };
        let mut bytes = B64.decode(b64).map_err(|_| bad())?;
        if bytes.len() < NONCE_LEN {
            return Err(bad());
        }
        let mut nonce = [0u8; NONCE_LEN];
        nonce.copy_from_slice(&bytes[..NONCE_LEN]);
        let plain = self
            .aead
            .open_in_place(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(aad.as_bytes()),
                &mut bytes[NONCE_LEN..],
            )
            .map_err(|_| bad())?;
        String::from_utf8(plain.to_vec())
            .map(Cow::Owned)
            .map_err(|_| bad())
    }
}

/// Whether a stored value is sealed.
pub(crate) fn is_sealed(stored: &str) -> bool {
    stored.starts_with(PREFIX)
}

/// The associated data of a column value.
pub(crate) fn aad_owners(id: &str) -> String {
    format!("owners:{id}")
}

/// The associated data of an infrastructure's `data`.
pub(crate) fn aad_data(id: &str) -> String {
    format!("data:{id}")
}

/// The associated data of a VM's `data`.
pub(crate) fn aad_vm(id: &str, im_id: i64) -> String {
    format!("vm:{id}:{im_id}")
}

fn db_err(what: &str, e: sqlx::Error) -> StoreError {
    StoreError::Backend(format!("{what}: {e}"))
}

/// Checks the configured key against the database, and on the first start
/// with a key encrypts every value in clear and rebuilds the owner index with
/// keyed hashes. Without a key, refuses a database whose values are sealed.
pub(crate) async fn enable(store: &SqlStore) -> Result<(), StoreError> {
    // Without a key, only look: a database never keyed gets no new table.
    let exists = crate::adopt::table_exists(store, "store_key").await?;
    if store.secrets().is_none() && !exists {
        return Ok(());
    }
    // Servers starting together check (and maybe encrypt) one after the
    // other, under the schema migration's lock.
    let mut conn = store
        .pool()
        .acquire()
        .await
        .map_err(|e| db_err("cannot connect for the key check", e))?;
    let Some((lock, unlock)) = store.dialect().session_migration_lock() else {
        return enable_locked(store, &mut conn).await;
    };
    let taken = sqlx::query(lock)
        .fetch_one(&mut *conn)
        .await
        .map_err(|e| db_err("cannot lock for the key check", e))?;
    if taken.try_get::<Option<i64>, _>("taken").ok().flatten() != Some(1) {
        return Err(StoreError::Backend(
            "timed out waiting for another server to check the database key".into(),
        ));
    }
    let result = enable_locked(store, &mut conn).await;
    let released = sqlx::query(unlock).execute(&mut *conn).await;
    result?;
    released
        .map(|_| ())
        .map_err(|e| db_err("cannot unlock after the key check", e))
}

async fn enable_locked(store: &SqlStore, conn: &mut sqlx::AnyConnection) -> Result<(), StoreError> {
    let d = store.dialect();
    let ddl = match d {
        crate::Dialect::MySql => {
            "CREATE TABLE IF NOT EXISTS store_key (purpose VARCHAR(64) NOT NULL PRIMARY KEY, \
             check_value VARCHAR(128) NOT NULL) ENGINE=InnoDB"
        }
        _ => {
            "CREATE TABLE IF NOT EXISTS store_key (purpose VARCHAR(64) NOT NULL PRIMARY KEY, \
             check_value VARCHAR(128) NOT NULL)"
        }
    };
    if d == crate::Dialect::MySql {
        // MySQL's DDL commits implicitly: outside the transaction.
        sqlx::query(ddl)
            .execute(&mut *conn)
            .await
            .map_err(|e| db_err("cannot create store_key", e))?;
    }
    let mut tx = sqlx::Connection::begin_with(conn, d.begin_write())
        .await
        .map_err(|e| db_err("cannot begin the key check", e))?;
    if let Some(lock) = d.migration_lock() {
        sqlx::query(lock)
            .execute(&mut *tx)
            .await
            .map_err(|e| db_err("cannot lock for the key check", e))?;
    }
    if d != crate::Dialect::MySql {
        sqlx::query(ddl)
            .execute(&mut *tx)
            .await
            .map_err(|e| db_err("cannot create store_key", e))?;
    }
    let select = crate::sql::sql_str(d.sql("SELECT check_value FROM store_key WHERE purpose = ?"));
    let row = sqlx::query(select)
        .bind("secrets")
        .fetch_optional(&mut *tx)
        .await
        .map_err(|e| db_err("cannot read the key check", e))?;
    let stored: Option<String> = match &row {
        Some(r) => Some(
            r.try_get("check_value")
                .map_err(|e| db_err("cannot read the key check", e))?,
        ),
        None => None,
    };
    match (store.secrets(), stored) {
        (None, None) => return Ok(()),
        (None, Some(_)) => {
            return Err(StoreError::Backend(
                "the credentials in this database are encrypted: start the server with its key \
                 (IM_DATA_DB_KEY or IM_DATA_DB_KEY_FILE)"
                    .into(),
            ));
        }
        (Some(s), Some(check)) if check == s.check => return Ok(()),
        (Some(_), Some(_)) => {
            return Err(StoreError::Backend(
                "the database key (IM_DATA_DB_KEY / IM_DATA_DB_KEY_FILE) is not the key this \
                 database was encrypted with"
                    .into(),
            ));
        }
        (Some(_), None) => {}
    }
    let sealed = store.seal_all(&mut tx).await?;
    let insert =
        crate::sql::sql_str(d.sql("INSERT INTO store_key (purpose, check_value) VALUES (?, ?)"));
    let check = store.secrets().map(|s| s.check.clone()).unwrap_or_default();
    sqlx::query(insert)
        .bind("secrets")
        .bind(check)
        .execute(&mut *tx)
        .await
        .map_err(|e| db_err("cannot record the key check", e))?;
    tx.commit()
        .await
        .map_err(|e| db_err("cannot commit the encryption of the database", e))?;
    tracing::info!("database key configured: {sealed} stored values encrypted");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_value_opens_only_in_its_place_and_with_its_key() {
        let s = Secrets::new(&[7u8; 32]).expect("key");
        let sealed = s
            .seal("{\"password\":\"hunter2\"}", "owners:a")
            .expect("seal");
        assert!(sealed.starts_with(PREFIX));
        assert!(!sealed.contains("hunter2"));
        assert_eq!(
            s.open(&sealed, "owners:a").expect("open"),
            "{\"password\":\"hunter2\"}"
        );
        assert!(s.open(&sealed, "owners:b").is_err());
        let other = Secrets::new(&[8u8; 32]).expect("key");
        assert!(other.open(&sealed, "owners:a").is_err());
        // Deterministic: the store compares stored text to detect changes.
        assert_eq!(
            sealed,
            s.seal("{\"password\":\"hunter2\"}", "owners:a")
                .expect("seal")
        );
        assert_ne!(
            sealed,
            s.seal("{\"password\":\"hunter3\"}", "owners:a")
                .expect("seal")
        );
        assert_eq!(s.open("[1]", "owners:a").expect("clear"), "[1]");
    }

    #[test]
    fn a_key_must_be_32_bytes_of_base64() {
        assert!(Secrets::from_base64("c2hvcnQ=").is_err());
        assert!(Secrets::from_base64("not base64!").is_err());
        assert!(Secrets::from_base64(&B64.encode([1u8; 32])).is_ok());
        let a = Secrets::new(&[1u8; 32]).expect("key");
        let b = Secrets::new(&[2u8; 32]).expect("key");
        assert_eq!(a.owner_key("user").len(), 64);
        assert_ne!(a.owner_key("user"), b.owner_key("user"));
    }
}
