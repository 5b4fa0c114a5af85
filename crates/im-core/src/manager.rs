//! The `Manager`: every operation of the IM API, on infrastructures held in
//! memory and persisted through the [`Store`].
//!
//! Concurrency: each infrastructure has an async operation lock that serializes
//! its mutations (cloud calls included) and a snapshot (`Arc<Infrastructure>`)
//! that reads take without waiting; a mutation works on a copy, writes it to
//! the store with compare-and-set, then publishes it. Reads never call a cloud
//! and never write the database.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use im_auth::{AuthData, BoxFuture, ImUser, OidcVerifier, is_authorized};
use im_radl::{Conflict, Feature, FeatureItem, Missing, Operator, Radl, System, Value as RValue};
use indexmap::IndexMap;
use serde_json::{Value, json};
use tokio::sync::Mutex as AsyncMutex;

use crate::connector::{CloudConnector, ConnectorFactory, VmRef};
use crate::error::ImError;
use crate::model::{Infrastructure, Vm, now_secs};
use crate::settings::{BootMode, Settings};
use crate::store::{Store, StoreError, VmChanges};

/// A request body: the RADL to apply and, when it came as TOSCA, the template.
#[derive(Debug, Clone, Default)]
pub struct Deployment {
    /// The RADL (converted from TOSCA when `tosca` is set).
    pub radl: Radl,
    /// The TOSCA template, when the body was TOSCA (`radl` is its conversion).
    pub tosca: Option<Arc<im_tosca::Tosca>>,
}

impl Deployment {
    /// A RADL-only deployment.
    pub fn radl(radl: Radl) -> Self {
        Deployment { radl, tosca: None }
    }
}

/// `GET …/state`: the infrastructure state and each VM's.
#[derive(Debug, Clone, serde::Serialize)]
pub struct InfState {
    /// Aggregated state.
    pub state: String,
    /// State per VM id.
    pub vm_states: IndexMap<String, String>,
}

/// One infrastructure: its mutation lock and its current snapshot.
pub(crate) struct Slot {
    pub(crate) op: AsyncMutex<()>,
    pub(crate) snap: RwLock<Arc<Infrastructure>>,
    /// When a request last asked for it (seconds since the epoch), for the
    /// unloading of idle infrastructures.
    last_used: AtomicI64,
}

impl Slot {
    pub(crate) fn new(inf: Infrastructure) -> Slot {
        Slot {
            op: AsyncMutex::new(()),
            snap: RwLock::new(Arc::new(inf)),
            last_used: AtomicI64::new(now_secs()),
        }
    }

    fn touch(&self) {
        self.last_used.store(now_secs(), Ordering::Relaxed);
    }

    pub(crate) fn get(&self) -> Arc<Infrastructure> {
        match self.snap.read() {
            Ok(g) => g.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }

    pub(crate) fn set(&self, inf: Infrastructure) {
        let inf = Arc::new(inf);
        match self.snap.write() {
            Ok(mut g) => *g = inf,
            Err(p) => *p.into_inner() = inf,
        }
    }
}

/// The OIDC verifier used until the service wires an HTTP one: every token
/// is refused with a clear reason.
struct NoOidc;

impl OidcVerifier for NoOidc {
    fn user_info<'a>(&'a self, _: &'a str, _: &'a str) -> BoxFuture<'a, Result<Value, String>> {
        Box::pin(async { Err("OIDC token validation is not configured on this server".into()) })
    }

    fn introspect<'a>(
        &'a self,
        _: &'a str,
        _: &'a str,
        _: &'a str,
        _: &'a str,
    ) -> BoxFuture<'a, Result<Value, String>> {
        Box::pin(async { Err("OIDC token validation is not configured on this server".into()) })
    }
}

/// The Infrastructure Manager.
pub struct Manager {
    pub(crate) settings: Settings,
    pub(crate) store: Arc<dyn Store>,
    pub(crate) connectors: Arc<dyn ConnectorFactory>,
    verifier: Arc<dyn OidcVerifier>,
    /// Loaded infrastructures.
    slots: Mutex<HashMap<String, Arc<Slot>>>,
    /// Every infrastructure that is not deleted, oldest first, with its owners.
    index: RwLock<Index>,
    /// Background work (async create/destroy), awaited at shutdown.
    tasks: Mutex<tokio::task::JoinSet<()>>,
    /// The last credentials used on each infrastructure, for the background
    /// refresh (memory only, never stored).
    creds: Mutex<HashMap<String, Arc<AuthData>>>,
    /// One copy of each distinct credential set in `creds` (a user's
    /// infrastructures share it), by a hash of its items.
    interned: Mutex<Interner<AuthData>>,
    stopping: std::sync::atomic::AtomicBool,
    /// Leases and operations of this instance.
    pub(crate) work: crate::work::Work,
    /// What the TOSCA converter reads remote documents with.
    pub(crate) tosca: crate::tosca::ToscaCell,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Manager {
    /// Opens the manager on a store: reads the index of infrastructures (not
    /// their bodies, which load on first use).
    pub async fn start(
        settings: Settings,
        store: Arc<dyn Store>,
        connectors: Arc<dyn ConnectorFactory>,
    ) -> Result<Arc<Manager>, ImError> {
        Self::start_with_verifier(settings, store, connectors, Arc::new(NoOidc)).await
    }

    /// [`Manager::start`] with an OIDC verifier for token-based identities.
    pub async fn start_with_verifier(
        settings: Settings,
        store: Arc<dyn Store>,
        connectors: Arc<dyn ConnectorFactory>,
        verifier: Arc<dyn OidcVerifier>,
    ) -> Result<Arc<Manager>, ImError> {
        let shared = store.is_shared() && settings.lease_secs > 0;
        let work = crate::work::Work::new(shared, settings.lease_secs);
        let entries = if shared {
            // Listing reads the database each time: another instance may
            // have created or destroyed infrastructures since.
            Vec::new()
        } else {
            store.load_index().await?
        };
        let mut index = Index::with_capacity(entries.len());
        for e in entries.into_iter().rev() {
            index.set(e.id, e.owners);
        }
        let m = Arc::new(Manager {
            settings,
            store,
            connectors,
            verifier,
            slots: Mutex::new(HashMap::new()),
            index: RwLock::new(index),
            tasks: Mutex::new(tokio::task::JoinSet::new()),
            creds: Mutex::new(HashMap::new()),
            interned: Mutex::new(Interner::default()),
            stopping: std::sync::atomic::AtomicBool::new(false),
            work,
            tosca: Default::default(),
        });
        m.spawn_reconciler();
        m.spawn_work();
        Ok(m)
    }

    /// The settings.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// The store (for health checks and metrics, which read it directly).
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// Waits for background work (async creates and destroys) to finish and
    /// stops the background refresh.
    pub async fn shutdown(&self) {
        self.stopping
            .store(true, std::sync::atomic::Ordering::SeqCst);
        let mut set = std::mem::take(&mut *lock(&self.tasks));
        while set.join_next().await.is_some() {}
    }

    pub(crate) fn is_shutting_down(&self) -> bool {
        self.stopping.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Remembers the credentials of a request on an infrastructure.
    pub(crate) fn remember_creds(&self, id: &str, auth: &AuthData) {
        let shared = lock(&self.interned).share(auth_hash(auth), auth, || Arc::new(auth.clone()));
        lock(&self.creds).insert(id.to_string(), shared);
    }

    /// How long an unused infrastructure stays in memory: `INF_CACHE_TIME`,
    /// or [`DEFAULT_IDLE_UNLOAD`] when that is 0.
    fn idle_unload_secs(&self) -> i64 {
        match self.settings.inf_cache_time {
            0 => DEFAULT_IDLE_UNLOAD,
            t => i64::try_from(t).unwrap_or(i64::MAX),
        }
    }

    /// Unloads the infrastructures nobody asked for in the idle time and that
    /// nothing holds (no request, operation or background task): the next
    /// request reads them back from the store. Their credentials stay, shared.
    pub(crate) fn unload_idle(&self) -> usize {
        let limit = now_secs() - self.idle_unload_secs();
        let mut slots = lock(&self.slots);
        let before = slots.len();
        // Holding the map lock, a count of 1 means no one else has the slot
        // and no one can get it: removing it cannot split an infrastructure
        // into two copies.
        slots
            .retain(|_, s| Arc::strong_count(s) > 1 || s.last_used.load(Ordering::Relaxed) > limit);
        let unloaded = before - slots.len();
        drop(slots);
        self.write_index(|i| i.owners.prune());
        lock(&self.interned).prune();
        unloaded
    }

    /// Infrastructures with credentials to refresh them with.
    pub(crate) fn refresh_targets(&self) -> Vec<(String, Arc<AuthData>)> {
        lock(&self.creds)
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }

    /// The slot of an infrastructure if it is loaded.
    pub(crate) fn loaded_slot(&self, id: &str) -> Option<Arc<Slot>> {
        lock(&self.slots).get(id).cloned()
    }

    /// Runs `fut` in the background, tracked for shutdown.
    pub(crate) fn spawn(&self, fut: impl std::future::Future<Output = ()> + Send + 'static) {
        let mut tasks = lock(&self.tasks);
        // Reap finished tasks so the set does not grow.
        while tasks.try_join_next().is_some() {}
        tasks.spawn(fut);
    }

    // ----- identity ---------------------------------------------------------

    pub(crate) fn check_boot_mode(&self, allowed_in_read_delete: bool) -> Result<(), ImError> {
        match self.settings.boot_mode {
            BootMode::Normal => Ok(()),
            BootMode::ReadDelete if allowed_in_read_delete => Ok(()),
            _ => Err(ImError::DisabledFunction),
        }
    }

    /// Validates the IM credentials of a request (`check_auth_data`).
    pub(crate) async fn check_auth(&self, auth: &AuthData) -> Result<Vec<ImUser>, ImError> {
        Ok(
            im_auth::check_auth_data(auth, &self.settings.auth, now_secs(), &*self.verifier)
                .await?,
        )
    }

    // ----- loading ----------------------------------------------------------

    /// The slot of an infrastructure the caller may use.
    pub(crate) async fn slot(&self, id: &str, users: &[ImUser]) -> Result<Arc<Slot>, ImError> {
        let slot = self.load_slot(id).await?;
        let inf = slot.get();
        if !is_authorized(&inf.owners, users) {
            return Err(ImError::UnauthorizedUser);
        }
        if inf.deleted {
            return Err(ImError::DeletedInfrastructure);
        }
        Ok(slot)
    }

    async fn load_slot(&self, id: &str) -> Result<Arc<Slot>, ImError> {
        let loaded = lock(&self.slots).get(id).cloned();
        if let Some(s) = loaded {
            s.touch();
            self.end_previous_run_op(&s).await?;
            return Ok(s);
        }
        if self.shared() {
            return self
                .load_any_slot(id)
                .await?
                .ok_or(ImError::IncorrectInfrastructure);
        }
        let known = self.read_index(|i| i.contains(id));
        if !known {
            return Err(ImError::IncorrectInfrastructure);
        }
        let stored = self
            .store
            .load(id)
            .await?
            .ok_or(ImError::IncorrectInfrastructure)?;
        if stored.deleted {
            return Err(ImError::IncorrectInfrastructure);
        }
        let inf = Infrastructure::from_stored(&stored)
            .map_err(|e| ImError::Store(format!("infrastructure {id} cannot be read: {e}")))?;
        let slot = Arc::new(Slot::new(inf));
        // Another request may have loaded it meanwhile: keep the first. It may
        // also have been destroyed meanwhile (the destroy removes it from the
        // index, then from the slots): a body read before that must not be
        // published, or the destroyed infrastructure would answer again.
        let slot = {
            let mut slots = lock(&self.slots);
            let still_known = self.read_index(|i| i.contains(id));
            if !still_known {
                return Err(ImError::IncorrectInfrastructure);
            }
            slots.entry(id.to_string()).or_insert(slot).clone()
        };
        self.end_previous_run_op(&slot).await?;
        Ok(slot)
    }

    /// A single server runs every operation itself: a record of another
    /// instance id was left by its previous run. It ends (here, or by the
    /// start-up scan, which this waits for) before anyone sees the
    /// infrastructure.
    async fn end_previous_run_op(&self, slot: &Slot) -> Result<(), ImError> {
        let stale = |inf: &Infrastructure| {
            !self.shared()
                && inf.op.as_ref().is_some_and(|op| {
                    op.get("instance").and_then(Value::as_str) != Some(&self.work.instance)
                })
        };
        if stale(&slot.get()) {
            let _op = slot.op.lock().await;
            let inf = slot.get();
            if stale(&inf) && !self.is_running_here(&inf.id) {
                self.recover_locked(slot).await?;
            }
        }
        Ok(())
    }

    /// The slot of a live infrastructure, loaded from the store if needed
    /// whatever the in-memory index says (another instance may have created
    /// it; a single server resumes work with it); `None` when there is no
    /// such live infrastructure.
    pub(crate) async fn load_any_slot(&self, id: &str) -> Result<Option<Arc<Slot>>, ImError> {
        if let Some(s) = lock(&self.slots).get(id) {
            s.touch();
            return Ok(Some(s.clone()));
        }
        let Some(stored) = self.store.load(id).await? else {
            return Ok(None);
        };
        if stored.deleted {
            return Ok(None);
        }
        let inf = Infrastructure::from_stored(&stored)
            .map_err(|e| ImError::Store(format!("infrastructure {id} cannot be read: {e}")))?;
        let slot = Arc::new(Slot::new(inf));
        Ok(Some(
            lock(&self.slots)
                .entry(id.to_string())
                .or_insert(slot)
                .clone(),
        ))
    }

    /// Forgets a loaded infrastructure (destroyed by another instance).
    pub(crate) fn forget(&self, id: &str) {
        self.write_index(|i| i.remove(id));
        lock(&self.slots).remove(id);
        lock(&self.creds).remove(id);
    }

    // ----- writing ----------------------------------------------------------

    /// Persists a new infrastructure and registers it.
    pub(crate) async fn insert(
        &self,
        mut inf: Infrastructure,
        how: NewRecord,
    ) -> Result<Arc<Slot>, ImError> {
        inf.version = 1;
        let stored = inf.to_stored();
        match how {
            NewRecord::Provisional => self.store.insert_provisional(&stored).await?,
            NewRecord::Created => self.store.insert(&stored).await?,
            NewRecord::Imported => self.store.insert_imported(&stored).await?,
        }
        let slot = Arc::new(Slot::new(inf));
        self.register(slot.clone());
        Ok(slot)
    }

    /// Makes a stored infrastructure's slot the loaded one and lists it.
    pub(crate) fn register(&self, slot: Arc<Slot>) {
        let inf = slot.get();
        let (id, owners) = (inf.id.clone(), inf.owners.clone());
        lock(&self.slots).insert(id.clone(), slot);
        self.write_index(|i| i.set(id, owners));
    }

    /// Whether a request's clouds include one whose launches make something
    /// outside the IM (see [`crate::CloudConnector::launch_is_external`]);
    /// also when its clouds cannot be told (the create then fails as usual).
    pub(crate) fn launches_external(&self, auth: &AuthData) -> bool {
        let clouds = auth.clouds();
        clouds.is_empty()
            || clouds.iter().any(|info| {
                self.connector(info)
                    .map_or(true, |c| c.launch_is_external())
            })
    }

    /// Writes an infrastructure over the tombstone of the same id (stored at
    /// `prev_version`) and registers it.
    pub(crate) async fn revive(
        &self,
        mut inf: Infrastructure,
        prev_version: i64,
    ) -> Result<(), ImError> {
        inf.version = prev_version + 1;
        self.store.update(&inf.to_stored(), VmChanges::All).await?;
        let id = inf.id.clone();
        let owners = inf.owners.clone();
        let slot = Arc::new(Slot::new(inf));
        lock(&self.slots).insert(id.clone(), slot);
        self.write_index(|i| i.set(id, owners));
        Ok(())
    }

    /// Writes a modified copy with compare-and-set and publishes it. Must be
    /// called with the slot's operation lock held.
    pub(crate) async fn commit(
        &self,
        slot: &Slot,
        mut inf: Infrastructure,
        vms: VmChanges<'_>,
    ) -> Result<(), ImError> {
        // A version never stored (a create written once, when it ends) is
        // inserted.
        let first = inf.version == 0;
        inf.version += 1;
        let written = if first {
            self.store.insert(&inf.to_stored()).await
        } else {
            self.store.update(&inf.to_stored(), vms).await
        };
        match written {
            Ok(()) => {}
            Err(StoreError::Conflict(id)) => {
                if self.shared() {
                    // The next attempt starts from what the other writer stored.
                    let _ = self.sync_slot(slot).await;
                }
                return Err(ImError::Store(format!(
                    "infrastructure {id} was modified by another writer; retry"
                )));
            }
            Err(e) => return Err(e.into()),
        }
        if inf.deleted {
            self.write_index(|i| i.remove(&inf.id));
            lock(&self.slots).remove(&inf.id);
            lock(&self.creds).remove(&inf.id);
        } else {
            let changed =
                self.read_index(|i| i.owners_of(&inf.id).is_some_and(|o| **o != *inf.owners));
            if changed {
                self.write_index(|i| {
                    if i.contains(&inf.id) {
                        i.set(inf.id.clone(), inf.owners.clone());
                    }
                });
            }
        }
        slot.set(inf);
        Ok(())
    }

    /// The ids of the infrastructures the caller may see, newest first: from
    /// the database when other instances share it (they create and destroy
    /// too), else from the in-memory index.
    pub(crate) async fn visible_ids_now(&self, users: &[ImUser]) -> Result<Vec<String>, ImError> {
        if !self.shared() {
            return Ok(self.visible_ids(users));
        }
        // One non-admin identity (the usual request): its rows of the owner
        // index. Admins see everything, and several usernames would need a
        // merge in the database's order: those read the whole index.
        let entries = match users {
            [one] if !one.admin => self.store.list_owned(&one.username).await?,
            _ => self.store.load_index().await?,
        };
        Ok(entries
            .into_iter()
            .filter(|e| is_authorized(&e.owners, users))
            .map(|e| e.id)
            .collect())
    }

    /// The ids of the infrastructures the caller may see, newest first.
    pub(crate) fn visible_ids(&self, users: &[ImUser]) -> Vec<String> {
        self.read_index(|i| i.visible(users))
    }

    fn read_index<T>(&self, f: impl FnOnce(&Index) -> T) -> T {
        match self.index.read() {
            Ok(i) => f(&i),
            Err(p) => f(&p.into_inner()),
        }
    }

    fn write_index<T>(&self, f: impl FnOnce(&mut Index) -> T) -> T {
        match self.index.write() {
            Ok(mut i) => f(&mut i),
            Err(p) => f(&mut p.into_inner()),
        }
    }

    /// The connector for a cloud of the request.
    pub(crate) fn connector(
        &self,
        cloud: &im_auth::CloudInfo,
    ) -> Result<Arc<dyn CloudConnector>, ImError> {
        self.connectors.connector(cloud).map_err(ImError::Failed)
    }

    /// The connector for the cloud of an existing VM, with the request's
    /// credentials for that cloud.
    pub(crate) fn vm_connector(
        &self,
        vm: &Vm,
        auth: &AuthData,
    ) -> Result<Arc<dyn CloudConnector>, ImError> {
        // The VM's cloud must still be among the request's clouds.
        let cloud = auth
            .clouds()
            .into_iter()
            .find(|c| c.type_ == vm.cloud.type_ && c.server == vm.cloud.server)
            .unwrap_or_else(|| vm.cloud.clone());
        self.connector(&cloud)
    }
}

/// A shared owner list: most infrastructures share theirs with many others.
type Owners = Arc<[ImUser]>;

/// The infrastructures that are not deleted, with their owners, in
/// creation order, and per owner username: a listing visits the caller's
/// infrastructures only, not every one (10,000 of 100,000 in a few
/// milliseconds).
struct Index {
    /// Insertion number (creation order) and owners of each id.
    by_id: HashMap<Arc<str>, (u64, Owners)>,
    /// Every entry by insertion number (an admin's listing).
    all: BTreeMap<u64, Entry>,
    /// The entries with an owner of each username: the only ones a
    /// non-admin of that name may see.
    by_user: HashMap<Box<str>, BTreeMap<u64, Entry>>,
    /// The next insertion number.
    next: u64,
    /// One copy of each distinct owner list.
    owners: Interner<[ImUser]>,
}

/// An id and its owners, as the listing reads them.
type Entry = (Arc<str>, Owners);

impl Index {
    fn with_capacity(n: usize) -> Index {
        Index {
            by_id: HashMap::with_capacity(n),
            all: BTreeMap::new(),
            by_user: HashMap::new(),
            next: 0,
            owners: Interner::default(),
        }
    }

    fn contains(&self, id: &str) -> bool {
        self.by_id.contains_key(id)
    }

    fn owners_of(&self, id: &str) -> Option<&Owners> {
        self.by_id.get(id).map(|(_, o)| o)
    }

    /// Registers `id` with a shared copy of `owners`: a new id after every
    /// other, a known one keeps its place.
    fn set(&mut self, id: String, owners: Vec<ImUser>) {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        for u in &owners {
            u.username.hash(&mut h);
            u.password.hash(&mut h);
            u.admin.hash(&mut h);
        }
        let shared = self
            .owners
            .share(h.finish(), &owners, || Arc::from(owners.as_slice()));
        let (seq, id) = match self.by_id.get_key_value(id.as_str()) {
            Some((key, (seq, old))) => {
                let (seq, key, old) = (*seq, key.clone(), old.clone());
                self.unlink_users(seq, &old);
                (seq, key)
            }
            None => {
                self.next += 1;
                (self.next, Arc::from(id))
            }
        };
        for name in usernames(&shared) {
            self.by_user
                .entry(name.into())
                .or_default()
                .insert(seq, (id.clone(), shared.clone()));
        }
        self.all.insert(seq, (id.clone(), shared.clone()));
        self.by_id.insert(id, (seq, shared));
    }

    /// Forgets `id`.
    fn remove(&mut self, id: &str) {
        if let Some((seq, owners)) = self.by_id.remove(id) {
            self.all.remove(&seq);
            self.unlink_users(seq, &owners);
        }
    }

    fn unlink_users(&mut self, seq: u64, owners: &[ImUser]) {
        for name in usernames(owners) {
            if let Some(list) = self.by_user.get_mut(name) {
                list.remove(&seq);
                if list.is_empty() {
                    self.by_user.remove(name);
                }
            }
        }
    }

    /// The ids `users` may see (`is_authorized`), newest first. A non-admin
    /// matches an owner of the same username only, so the candidates are
    /// the entries of the callers' usernames; an admin sees every entry
    /// with an owner.
    fn visible(&self, users: &[ImUser]) -> Vec<String> {
        // Owner lists are shared: decide once per distinct list.
        let mut decided: HashMap<*const ImUser, bool> = HashMap::new();
        let mut keep = |owners: &Owners| {
            *decided
                .entry(owners.as_ptr())
                .or_insert_with(|| is_authorized(owners, users))
        };
        let collect = |entries: &mut dyn Iterator<Item = &Entry>,
                       keep: &mut dyn FnMut(&Owners) -> bool| {
            entries
                .filter(|(_, owners)| keep(owners))
                .map(|(id, _)| id.to_string())
                .collect()
        };
        if users.iter().any(|u| u.admin) {
            return collect(&mut self.all.values().rev(), &mut keep);
        }
        let mut lists = users
            .iter()
            .filter_map(|u| self.by_user.get(u.username.as_str()));
        let (Some(first), None) = (lists.next(), lists.next()) else {
            // Several usernames: merge their entries, each once.
            let mut merged: BTreeMap<u64, &Entry> = BTreeMap::new();
            for u in users {
                if let Some(list) = self.by_user.get(u.username.as_str()) {
                    merged.extend(list.iter().map(|(s, e)| (*s, e)));
                }
            }
            return collect(&mut merged.into_values().rev(), &mut keep);
        };
        collect(&mut first.values().rev(), &mut keep)
    }
}

/// The distinct usernames of an owner list.
fn usernames(owners: &[ImUser]) -> impl Iterator<Item = &str> {
    owners
        .iter()
        .enumerate()
        .filter(|(n, u)| !owners[..*n].iter().any(|o| o.username == u.username))
        .map(|(_, u)| u.username.as_str())
}

/// One shared copy of each distinct value, found by a caller-given hash and
/// compared by equality (so a hash collision costs a comparison, nothing more).
struct Interner<T: ?Sized> {
    buckets: HashMap<u64, Vec<Arc<T>>>,
}

impl<T: ?Sized> Default for Interner<T> {
    fn default() -> Self {
        Interner {
            buckets: HashMap::new(),
        }
    }
}

impl<T: ?Sized + PartialEq> Interner<T> {
    /// The kept copy equal to `value`, or a new one made by `make` and kept.
    fn share(&mut self, hash: u64, value: &T, make: impl FnOnce() -> Arc<T>) -> Arc<T> {
        let bucket = self.buckets.entry(hash).or_default();
        if let Some(kept) = bucket.iter().find(|k| ***k == *value) {
            return kept.clone();
        }
        let kept = make();
        bucket.push(kept.clone());
        kept
    }

    /// Forgets the copies nobody else holds any more.
    fn prune(&mut self) {
        self.buckets.retain(|_, bucket| {
            bucket.retain(|k| Arc::strong_count(k) > 1);
            !bucket.is_empty()
        });
    }
}

/// How long an unused infrastructure stays in memory when `INF_CACHE_TIME`
/// is 0, in seconds. Reading one back from the store takes about a
/// millisecond; a client polling every few seconds keeps it loaded.
pub const DEFAULT_IDLE_UNLOAD: i64 = 60;

/// A hash of a credential set, to find an equal one already kept.
fn auth_hash(auth: &AuthData) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    for c in auth.items() {
        for (k, v) in c.iter() {
            k.hash(&mut h);
            v.hash(&mut h);
        }
        0xffu8.hash(&mut h);
    }
    h.finish()
}

/// A reference to a VM for connector calls.
pub(crate) fn vm_ref(inf_id: &str, vm: &Vm) -> VmRef {
    VmRef {
        inf_id: inf_id.to_string(),
        im_id: vm.im_id,
        cloud_id: vm.cloud_id.clone().unwrap_or_default(),
        info: vm.info.clone(),
    }
}

/// Finds a VM by its id text: unknown → `Invalid VM ID`, destroyed → `Deleted VM.`
pub(crate) fn find_vm<'a>(inf: &'a Infrastructure, vm: &str) -> Result<&'a Vm, ImError> {
    let id: i64 = vm.trim().parse().map_err(|_| ImError::IncorrectVm)?;
    let v = inf
        .vms
        .iter()
        .find(|v| v.im_id == id)
        .ok_or(ImError::IncorrectVm)?;
    if v.destroy {
        return Err(ImError::DeletedVm);
    }
    Ok(v)
}

/// Sets a string feature on the first system of a RADL.
pub(crate) fn set_system_str(radl: &mut Radl, name: &str, value: &str) {
    if let Some(s) = radl.systems.first_mut() {
        s.features
            .set_value(name, RValue::Str(value.to_string()), "");
    }
}

/// The JSON of one property of a system, as `GET …/vms/<id>/<prop>` shows it:
/// numbers in base units, strings, lists, `contains` blocks as `{name: {…}}`.
pub(crate) fn property_json(system: &System, prop: &str) -> Option<Value> {
    let apps = system.features.get_contains(prop);
    if !apps.is_empty() {
        let mut tmp = System::new("p");
        for app in apps {
            let f = Feature::new(
                prop,
                Operator::Contains,
                RValue::Features(Box::new(app.clone())),
            );
            let _ = tmp
                .features
                .add(FeatureItem::Feature(f), Conflict::Other, Missing::Other);
        }
        let j = im_radl::system_to_json(&tmp);
        let mut out = serde_json::Map::new();
        for item in j.get(prop)?.as_array()? {
            let name = item.get("name").and_then(Value::as_str).unwrap_or_default();
            out.insert(name.to_string(), item.clone());
        }
        return Some(Value::Object(out));
    }
    let f = system.features.get_feature(prop)?;
    Some(match &f.value {
        RValue::Number(_) => match f.base_number()? {
            im_radl::Number::Int(i) => json!(i),
            im_radl::Number::Float(x) => json!(x),
        },
        RValue::Str(s) => json!(s),
        RValue::List(l) => json!(l),
        RValue::Features(_) => return None,
    })
}

/// How [`Manager::insert`] writes a new infrastructure.
pub(crate) enum NewRecord {
    /// A create's record, committed again before anything is acknowledged (a
    /// synchronous create), so its first write need not wait for the disk
    /// (see [`Store::insert_provisional`]).
    Provisional,
    /// A create's record under its new id.
    Created,
    /// An import, under an id that may have been stored before (see
    /// [`Store::insert_imported`]).
    Imported,
}
