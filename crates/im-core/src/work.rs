//! Crash-safe operations and several instances on one database.
//!
//! **Operation records.** A long operation (create, add, remove, destroy,
//! stop/start, alter…) writes a record into its infrastructure (`im_op` in
//! the stored row, never exported) *before* it calls a cloud, and the write
//! that publishes its result clears it. A record left behind by a crash is
//! ended by whichever instance next holds the infrastructure's lease
//! ([`Manager::recover_locked`]): a destroy or a removal is finished (their
//! record keeps the credentials they need), an asynchronous create that had
//! not launched anything is launched, and anything else is closed with a
//! message saying what was cut; so nothing stays transient for ever.
//!
//! **Leases** (only with a database several instances share, see
//! [`crate::Store::is_shared`]): an instance takes an infrastructure's lease
//! in the `inf_leases` table before it mutates it or refreshes it, so exactly
//! one instance at a time runs its work; a heartbeat renews the leases of the
//! instance every third of `LEASE_SECS`; a lease that covers an open
//! operation is marked, and when its holder dies (the lease ends without a
//! renewal) another instance takes it over within about one lease time and
//! ends the operation as above. A single server (SQLite, or `LEASE_SECS = 0`)
//! needs no lease: at start it ends the operations its previous run left.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use im_auth::{AuthData, Credential};
use serde_json::{Map, Value, json};

use crate::error::ImError;
use crate::manager::{Manager, Slot};
use crate::model::{Infrastructure, now_secs};
use crate::store::VmChanges;

/// Milliseconds since the epoch.
pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// What an instance knows about its own leases and operations.
pub(crate) struct Work {
    /// This process's instance id (a random UUID per start).
    pub(crate) instance: String,
    /// Whether other instances may share the database (leases on).
    pub(crate) shared: bool,
    /// `LEASE_SECS` in milliseconds.
    pub(crate) lease_ms: i64,
    /// Infrastructures whose operation runs in this process right now.
    running: Mutex<HashSet<String>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Work {
    pub(crate) fn new(shared: bool, lease_secs: u64) -> Work {
        Work {
            instance: uuid::Uuid::new_v4().simple().to_string(),
            shared,
            lease_ms: i64::try_from(lease_secs.max(1))
                .unwrap_or(30)
                .saturating_mul(1000),
            running: Mutex::new(HashSet::new()),
        }
    }

    fn is_running(&self, id: &str) -> bool {
        lock(&self.running).contains(id)
    }
}

/// Marks an operation as running in this process while alive.
pub(crate) struct Running<'a> {
    work: &'a Work,
    id: String,
}

impl Drop for Running<'_> {
    fn drop(&mut self) {
        lock(&self.work.running).remove(&self.id);
    }
}

/// A new operation record: its kind, this instance, the time, and extra fields.
pub(crate) fn op_record(
    m: &Manager,
    kind: &str,
    auth: Option<&AuthData>,
    extra: &[(&str, Value)],
) -> Map<String, Value> {
    let mut op = Map::new();
    op.insert("kind".into(), json!(kind));
    op.insert("instance".into(), json!(m.work.instance));
    op.insert("started".into(), json!(now_secs()));
    if let Some(a) = auth {
        // The credentials a resumed operation needs (kept only while it is
        // open: the write that ends it removes them).
        op.insert(
            "auth".into(),
            serde_json::to_value(a.items()).unwrap_or(Value::Null),
        );
    }
    for (k, v) in extra {
        op.insert((*k).to_string(), v.clone());
    }
    op
}

fn op_auth(op: &Map<String, Value>) -> Option<AuthData> {
    let items: Vec<Credential> = serde_json::from_value(op.get("auth")?.clone()).ok()?;
    AuthData::new(items).ok()
}

fn op_str<'a>(op: &'a Map<String, Value>, key: &str) -> &'a str {
    op.get(key).and_then(Value::as_str).unwrap_or_default()
}

impl Manager {
    /// Marks `id`'s operation as running here until the guard drops.
    pub(crate) fn running(&self, id: &str) -> Running<'_> {
        self.mark_running(id);
        self.running_guard(id)
    }

    /// Marks `id`'s operation as running here (before a task that will run
    /// it is spawned: nothing else may take it for a dead one meanwhile).
    pub(crate) fn mark_running(&self, id: &str) {
        lock(&self.work.running).insert(id.to_string());
    }

    /// The guard that unmarks `id` when dropped.
    pub(crate) fn running_guard(&self, id: &str) -> Running<'_> {
        Running {
            work: &self.work,
            id: id.to_string(),
        }
    }

    /// Whether an operation on `id` runs in this process.
    pub(crate) fn is_running_here(&self, id: &str) -> bool {
        self.work.is_running(id)
    }

    /// Whether leases are in use (several instances may share the database).
    pub(crate) fn shared(&self) -> bool {
        self.work.shared
    }

    /// Takes `id`'s lease, waiting while another live instance holds it
    /// (its operation runs). `work` marks the lease as covering an operation.
    /// Nothing to do on a single server.
    pub(crate) async fn take_lease(&self, id: &str, work: bool) -> Result<(), ImError> {
        if !self.work.shared {
            return Ok(());
        }
        // An operation of another instance takes as long as its cloud calls;
        // a dead holder's lease ends within one lease time.
        let deadline = tokio::time::Instant::now()
            + Duration::from_millis(u64::try_from(self.work.lease_ms).unwrap_or(30_000) * 4)
            + Duration::from_secs(120);
        let mut pause = 5u64;
        loop {
            let now = now_ms();
            if self
                .store
                .take_lease(id, &self.work.instance, now, now + self.work.lease_ms, work)
                .await?
            {
                return Ok(());
            }
            if tokio::time::Instant::now() > deadline {
                return Err(ImError::failed(
                    "The infrastructure is busy with an operation on another IM server; retry later.",
                ));
            }
            // Jittered back-off, 5 ms to 100 ms.
            let jitter = u64::from(uuid::Uuid::new_v4().as_bytes()[0]) % pause.max(1);
            tokio::time::sleep(Duration::from_millis(pause + jitter)).await;
            pause = (pause * 2).min(100);
        }
    }

    /// Tries once to take `id`'s lease (for background refresh).
    pub(crate) async fn try_lease(&self, id: &str) -> bool {
        if !self.work.shared {
            return true;
        }
        let now = now_ms();
        self.store
            .take_lease(
                id,
                &self.work.instance,
                now,
                now + self.work.lease_ms,
                false,
            )
            .await
            .unwrap_or(false)
    }

    /// Gives `id`'s lease back; `work_done` clears its open-work mark.
    pub(crate) async fn release_lease(&self, id: &str, work_done: bool) {
        if !self.work.shared {
            return;
        }
        let work = if work_done { Some(false) } else { None };
        if let Err(e) = self
            .store
            .release_lease(id, &self.work.instance, work)
            .await
        {
            // It ends by itself within one lease time.
            tracing::warn!(inf = %id, "cannot release the lease: {e}");
        }
    }

    /// With the operation lock and the lease held: makes the snapshot the
    /// stored version when another instance wrote since (one indexed read of
    /// the version), and ends an operation a dead instance left open.
    /// Returns `Err(IncorrectInfrastructure)` when it was destroyed meanwhile.
    pub(crate) async fn refresh_locked(&self, slot: &Slot) -> Result<(), ImError> {
        if self.work.shared {
            self.sync_slot(slot).await?;
        }
        let inf = slot.get();
        if inf.op.is_some() && !self.work.is_running(&inf.id) {
            self.recover_locked(slot).await?;
        }
        Ok(())
    }

    /// Reloads a slot whose stored version moved (another instance wrote).
    pub(crate) async fn sync_slot(&self, slot: &Slot) -> Result<(), ImError> {
        let inf = slot.get();
        match self.store.version_of(&inf.id).await? {
            Some((v, _)) if v == inf.version => Ok(()),
            Some(_) => {
                let stored = self
                    .store
                    .load(&inf.id)
                    .await?
                    .ok_or(ImError::IncorrectInfrastructure)?;
                let fresh = Infrastructure::from_stored(&stored).map_err(|e| {
                    ImError::Store(format!("infrastructure {} cannot be read: {e}", inf.id))
                })?;
                slot.set(fresh);
                Ok(())
            }
            None => Err(ImError::IncorrectInfrastructure),
        }
    }

    /// Ends the operation recorded in the slot's infrastructure, left open
    /// by a crash or a dead instance. Called with the operation lock (and on
    /// a shared database the lease) held.
    pub(crate) async fn recover_locked(&self, slot: &Slot) -> Result<(), ImError> {
        let mut inf = (*slot.get()).clone();
        let Some(op) = inf.op.take() else {
            return Ok(());
        };
        let _running = self.running(&inf.id);
        let kind = op_str(&op, "kind").to_string();
        let who = op_str(&op, "instance").to_string();
        tracing::info!(inf = %inf.id, "ending the {kind} operation left open by instance {who}");
        let auth = op_auth(&op);
        match (kind.as_str(), auth) {
            ("create", Some(auth)) if inf.vms.is_empty() && op.get("radl").is_some() => {
                // Nothing was launched yet: launch it now.
                let radl = im_radl::parse_radl(op_str(&op, "radl"))?;
                slot.set(inf);
                self.remember_creds(&slot.get().id, &auth);
                return self.deploy_locked(slot, radl, &auth, false).await;
            }
            ("destroy", Some(auth)) => {
                let force = op.get("force").and_then(Value::as_bool).unwrap_or(false);
                slot.set(inf);
                return self.destroy_locked(slot, &auth, force).await.or_else(|e| {
                    tracing::warn!("resumed destroy failed: {e}");
                    Ok(())
                });
            }
            ("remove", Some(auth)) => {
                let targets: Vec<i64> = op
                    .get("vms")
                    .and_then(Value::as_array)
                    .map(|a| a.iter().filter_map(Value::as_i64).collect())
                    .unwrap_or_default();
                let (_, errors) = self.finalize_vms(&mut inf, &targets, &auth, true).await;
                if !errors.is_empty() {
                    inf.add_cont_msg(&format!(
                        "Error removing resources (resumed after the stop of the server running it): {}",
                        errors.join("\n")
                    ));
                }
            }
            ("create", _) => {
                if inf.live_vms().next().is_none() {
                    inf.configured = Some(false);
                }
                inf.add_cont_msg(&format!(
                    "Error creating the infrastructure: interrupted by the stop of the IM server running it ({who})."
                ));
            }
            (other, _) => {
                if inf.live_vms().next().is_none() && inf.configured.is_none() {
                    inf.configured = Some(false);
                }
                inf.add_cont_msg(&format!(
                    "Operation {other} interrupted by the stop of the IM server running it ({who})."
                ));
            }
        }
        inf.deleting = false;
        self.commit(slot, inf, VmChanges::All).await
    }

    /// Ends the operations a previous run of this (single) server left open.
    async fn recover_at_start(self: &Arc<Self>) {
        let ids = match self.store.open_operations().await {
            Ok(ids) => ids,
            Err(e) => {
                tracing::warn!("cannot list the operations left open: {e}");
                return;
            }
        };
        for id in ids {
            self.recover_one(&id).await;
        }
    }

    /// Takes the lease of an infrastructure with open work, and ends it.
    async fn recover_one(&self, id: &str) {
        if self.work.is_running(id) {
            return;
        }
        let slot = match self.load_any_slot(id).await {
            Ok(Some(s)) => s,
            Ok(None) => {
                // Gone (or the lease of a create that never wrote its record).
                self.release_lease(id, true).await;
                return;
            }
            Err(e) => {
                tracing::warn!(inf = %id, "cannot load it to end its operation: {e}");
                return;
            }
        };
        let _op = slot.op.lock().await;
        let res = async {
            if self.work.shared {
                self.sync_slot(&slot).await?;
            }
            if slot.get().op.is_some() && !self.work.is_running(id) {
                self.recover_locked(&slot).await?;
            }
            Ok::<(), ImError>(())
        }
        .await;
        match res {
            Ok(()) => self.release_lease(id, true).await,
            Err(ImError::IncorrectInfrastructure) => self.release_lease(id, true).await,
            Err(e) => {
                tracing::warn!(inf = %id, "cannot end its operation: {e}");
                self.release_lease(id, false).await;
            }
        }
    }

    /// Starts the background tasks of leases and operations: on a single
    /// server, the end of the operations left by its previous run; with
    /// leases, the heartbeat and the takeover of dead instances' work.
    pub(crate) fn spawn_work(self: &Arc<Self>) {
        let weak = Arc::downgrade(self);
        if !self.work.shared {
            tokio::spawn(async move {
                if let Some(me) = weak.upgrade() {
                    me.recover_at_start().await;
                }
            });
            return;
        }
        let period = Duration::from_millis(u64::try_from(self.work.lease_ms / 3).unwrap_or(10_000));
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(period.max(Duration::from_millis(100)));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                let Some(me) = weak.upgrade() else { break };
                if me.is_shutting_down() {
                    break;
                }
                let now = now_ms();
                if let Err(e) = me
                    .store
                    .renew_leases(&me.work.instance, now + me.work.lease_ms)
                    .await
                {
                    tracing::warn!("cannot renew the leases: {e}");
                }
                let expired = match me.store.expired_work(now).await {
                    Ok(l) => l,
                    Err(e) => {
                        tracing::warn!("cannot list the expired leases: {e}");
                        continue;
                    }
                };
                for l in expired {
                    if me.work.is_running(&l.inf_id) {
                        continue;
                    }
                    let t = now_ms();
                    let taken = me
                        .store
                        .take_lease(&l.inf_id, &me.work.instance, t, t + me.work.lease_ms, true)
                        .await
                        .unwrap_or(false);
                    if taken {
                        let me2 = me.clone();
                        me.spawn(async move { me2.recover_one(&l.inf_id).await });
                    }
                }
            }
        });
    }
}
