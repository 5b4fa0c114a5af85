//! Persistence: the `Store` trait the core writes through, and the records it
//! exchanges. Backends live in `im-store` (SQLite, PostgreSQL, MySQL).
//!
//! An infrastructure is one row (its own fields, as the reference's export JSON
//! without `vm_list`) plus one row per VM, each with a version, so that a VM
//! state change rewrites one small row and concurrent writers are detected.

use async_trait::async_trait;
use im_auth::ImUser;
use serde_json::{Map, Value};

/// A persistence failure.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A compare-and-set update lost: someone else wrote a newer version.
    #[error("version conflict on infrastructure {0}")]
    Conflict(String),
    /// An insert of an id that exists.
    #[error("infrastructure {0} already exists")]
    Exists(String),
    /// The backend failed (connection, SQL, corrupt row).
    #[error("{0}")]
    Backend(String),
}

/// One VM as stored: its IM id and the reference's VM dict.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredVm {
    /// IM id, unique in the infrastructure, never reused.
    pub im_id: i64,
    /// The reference's serialized VM (`id`, `im_id`, `state`, `info`, …).
    pub data: Map<String, Value>,
}

/// One infrastructure as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredInf {
    /// Infrastructure id (a UUID).
    pub id: String,
    /// Version for compare-and-set; 1 on insert, +1 on each update.
    pub version: i64,
    /// Destroyed (kept as a tombstone).
    pub deleted: bool,
    /// Owners: the validated IM credentials of the creator (and later additions).
    pub owners: Vec<ImUser>,
    /// Creation time, seconds since the epoch.
    pub created_at: i64,
    /// The infrastructure's fields in the reference's export JSON, without
    /// `vm_list` and `auth`.
    pub data: Map<String, Value>,
    /// Every VM, destroyed ones included, in IM id order.
    pub vms: Vec<StoredVm>,
}

/// What listing and authorization need without loading bodies.
#[derive(Debug, Clone, PartialEq)]
pub struct IndexEntry {
    /// Infrastructure id.
    pub id: String,
    /// Owners.
    pub owners: Vec<ImUser>,
    /// Creation time, seconds since the epoch.
    pub created_at: i64,
}

/// Which VM rows an update rewrites.
#[derive(Debug, Clone, Copy)]
pub enum VmChanges<'a> {
    /// Only the infrastructure row.
    None,
    /// These VMs (by IM id), inserted or replaced.
    Some(&'a [i64]),
    /// Every VM.
    All,
}

/// A database of infrastructures. Implementations must be safe to share
/// between tasks and, for PostgreSQL/MySQL, between processes.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Live leases by holding instance, for the metrics: (instance id,
    /// infrastructures whose lease it holds, of which with an open
    /// operation). Empty for a store without leases.
    async fn lease_owners(&self) -> Result<Vec<(String, i64, i64)>, StoreError> {
        Ok(Vec::new())
    }

    /// Every infrastructure that is not deleted: id, owners, creation time,
    /// newest first. Used at start-up and for listing; never loads bodies.
    async fn load_index(&self) -> Result<Vec<IndexEntry>, StoreError>;

    /// One infrastructure with its VMs (also a deleted one), or `None`.
    async fn load(&self, id: &str) -> Result<Option<StoredInf>, StoreError>;

    /// Inserts a new infrastructure (its `version` is stored as given) under
    /// an id never stored before (a create's).
    async fn insert(&self, inf: &StoredInf) -> Result<(), StoreError>;

    /// Inserts an infrastructure under an id that may have been stored
    /// before (an import keeps the exported id): what a manual purge of the
    /// database left of that id (owner index entries, VM rows) is replaced,
    /// never merged in.
    async fn insert_imported(&self, inf: &StoredInf) -> Result<(), StoreError> {
        self.insert(inf).await
    }

    /// Inserts a new infrastructure that the caller writes again with
    /// [`Store::update`] before it acknowledges anything to anyone (the record
    /// of a synchronous create, made before its VMs are launched). A backend
    /// may return before this insert is on disk: the durable update that
    /// follows makes it durable too, which saves one disk sync per create. A
    /// crash in between loses only an unacknowledged create.
    async fn insert_provisional(&self, inf: &StoredInf) -> Result<(), StoreError> {
        self.insert(inf).await
    }

    /// Writes `inf` if the stored version is `inf.version - 1`
    /// (else [`StoreError::Conflict`]); rewrites the VM rows named by `vms`.
    async fn update(&self, inf: &StoredInf, vms: VmChanges<'_>) -> Result<(), StoreError>;

    /// The index entries with an owner of this username, newest first as
    /// [`Store::load_index`] orders them; possibly more (the caller applies
    /// the ownership rule). Servers sharing a database list through it
    /// instead of reading every entry. The default filters
    /// [`Store::load_index`].
    async fn list_owned(&self, username: &str) -> Result<Vec<IndexEntry>, StoreError> {
        let mut entries = self.load_index().await?;
        entries.retain(|e| e.owners.iter().any(|o| o.username == username));
        Ok(entries)
    }

    /// Every infrastructure, deleted ones included, for `/stats`.
    async fn load_all(&self) -> Result<Vec<StoredInf>, StoreError>;

    /// Up to `limit` infrastructures, deleted ones included, whose id sorts
    /// after `after` (`""`: from the first), in id order, with their VMs: a
    /// walk over the whole store that never holds it all in memory (the
    /// `/metrics` gauges); a page shorter than `limit` is the last. The
    /// default filters [`Store::load_all`].
    async fn load_page(&self, after: &str, limit: usize) -> Result<Vec<StoredInf>, StoreError> {
        let mut page: Vec<StoredInf> = self
            .load_all()
            .await?
            .into_iter()
            .filter(|s| s.id.as_str() > after)
            .collect();
        page.sort_by(|a, b| a.id.cmp(&b.id));
        page.truncate(limit);
        Ok(page)
    }

    /// Whether the database answers (health checks).
    async fn ping(&self) -> Result<(), StoreError>;

    // ----- several instances, crash-safe work (see `crate::work`) ----------

    /// Whether several processes may share this database (PostgreSQL, MySQL),
    /// so that leases decide who runs an infrastructure's work.
    fn is_shared(&self) -> bool {
        false
    }

    /// The stored version of an infrastructure and whether it is deleted, in
    /// one indexed read (`None`: no such id). Instances sharing a database
    /// check it before answering from memory.
    async fn version_of(&self, id: &str) -> Result<Option<(i64, bool)>, StoreError> {
        Ok(self.load(id).await?.map(|s| (s.version, s.deleted)))
    }

    /// Takes the lease of an infrastructure for `owner` (an instance id) until
    /// `until_ms` (milliseconds since the epoch): granted when nobody holds it,
    /// when `owner` already does, or when the holder's lease ended before
    /// `now_ms`. Compare-and-set: of several instances asking at once,
    /// exactly one gets it. With `work`, the lease is marked as covering an
    /// open operation (kept until a release clears it), so that another
    /// instance resumes the operation if the holder dies. Returns whether
    /// `owner` holds the lease.
    async fn take_lease(
        &self,
        _inf_id: &str,
        _owner: &str,
        _now_ms: i64,
        _until_ms: i64,
        _work: bool,
    ) -> Result<bool, StoreError> {
        Ok(true)
    }

    /// Extends every lease `owner` holds to `until_ms` (the heartbeat);
    /// returns how many it holds.
    async fn renew_leases(&self, _owner: &str, _until_ms: i64) -> Result<u64, StoreError> {
        Ok(0)
    }

    /// Gives up `owner`'s lease of an infrastructure; `work` says whether an
    /// operation is still open on it (`None`: unchanged). A released lease
    /// with open work is taken over by the next instance that looks.
    async fn release_lease(
        &self,
        _inf_id: &str,
        _owner: &str,
        _work: Option<bool>,
    ) -> Result<(), StoreError> {
        Ok(())
    }

    /// The leases marked with open work whose holder's time ended before
    /// `now_ms` (a dead or stopped instance): work to take over.
    async fn expired_work(&self, _now_ms: i64) -> Result<Vec<Lease>, StoreError> {
        Ok(Vec::new())
    }

    /// The ids of the infrastructures (not deleted) whose record holds an
    /// open operation: what a single server resumes at start.
    async fn open_operations(&self) -> Result<Vec<String>, StoreError> {
        Ok(Vec::new())
    }
}

/// A lease row: who runs an infrastructure's background work, until when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    /// The infrastructure.
    pub inf_id: String,
    /// The holding instance (empty: released).
    pub owner: String,
    /// End of the lease, milliseconds since the epoch.
    pub until_ms: i64,
    /// Whether an operation is open on the infrastructure.
    pub work: bool,
}
