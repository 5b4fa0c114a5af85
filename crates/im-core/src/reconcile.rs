//! The background refresh of VM states (`VM_INFO_UPDATE_FREQUENCY`): reads
//! never call a cloud, so this task keeps the snapshots fresh. It uses the
//! credentials of the last request on each infrastructure, kept in memory only.
//! With several instances on one database, an infrastructure is refreshed by
//! the instance that takes its lease (see `crate::work`).

use std::sync::Arc;
use std::time::Duration;

use crate::manager::{Manager, vm_ref};
use crate::model::{now_secs, vm_state};
use crate::store::VmChanges;

impl Manager {
    /// Starts the refresh loop; it stops at [`Manager::shutdown`].
    pub(crate) fn spawn_reconciler(self: &Arc<Self>) {
        let period = self.settings.vm_info_update_frequency.max(1);
        let weak = Arc::downgrade(self);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(period));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                let Some(me) = weak.upgrade() else { break };
                if me.is_shutting_down() {
                    break;
                }
                me.refresh_all().await;
                let unloaded = me.unload_idle();
                if unloaded > 0 {
                    tracing::debug!("unloaded {unloaded} idle infrastructures");
                }
            }
        });
    }

    /// One pass: every loaded infrastructure with known credentials.
    async fn refresh_all(&self) {
        for (id, auth) in self.refresh_targets() {
            let Some(slot) = self.loaded_slot(&id) else {
                continue;
            };
            // Skip infrastructures busy with a mutation: they are refreshed next time.
            let Ok(_op) = slot.op.try_lock() else {
                continue;
            };
            // Instances sharing the database: only the lease holder refreshes
            // (one try: a busy infrastructure is refreshed next time), from
            // the stored version, and not while an operation is open on it.
            if !self.try_lease(&id).await {
                continue;
            }
            if self.shared() && self.sync_slot(&slot).await.is_err() {
                self.release_lease(&id, false).await;
                continue;
            }
            let mut inf = (*slot.get()).clone();
            if inf.deleted || inf.op.is_some() {
                self.release_lease(&id, false).await;
                continue;
            }
            let now = now_secs();
            let grace = self.settings.vm_info_update_error_grace_period as i64;
            let mut changed = Vec::new();
            for vm in inf
                .vms
                .iter_mut()
                .filter(|v| !v.destroy && v.cloud_id.is_some())
            {
                let Ok(conn) = self.vm_connector(vm, &auth) else {
                    continue;
                };
                match conn.update_vm_info(&vm_ref(&id, vm), &auth).await {
                    Ok(status) => {
                        let mut dirty = status.state != vm.state;
                        vm.state = status.state;
                        if let Some(info) = status.info {
                            vm.info = info;
                            dirty = true;
                        }
                        vm.last_update = now;
                        if dirty {
                            changed.push(vm.im_id);
                        }
                    }
                    Err(e) => {
                        tracing::debug!(inf = %id, vm = vm.im_id, "refresh failed: {e}");
                        if now - vm.last_update > grace && vm.state != vm_state::UNKNOWN {
                            vm.state = vm_state::UNKNOWN.into();
                            changed.push(vm.im_id);
                        }
                    }
                }
            }
            if !changed.is_empty()
                && let Err(e) = self.commit(&slot, inf, VmChanges::Some(&changed)).await
            {
                tracing::warn!(inf = %id, "cannot save refreshed VM states: {e}");
            }
            self.release_lease(&id, false).await;
        }
    }
}
