//! The public operations of the [`Manager`], one method per IM API call
//! (spec core.md §1). Each validates the credentials first, then finds the
//! infrastructure (404/403), then mutates under the infrastructure's lock or
//! reads its snapshot.

use std::sync::Arc;

use im_auth::{AuthData, Credential, ImUser, is_authorized};
use im_radl::Radl;
use indexmap::IndexMap;
use serde_json::{Value, json};

use crate::error::ImError;
use crate::manager::{
    Deployment, InfState, Manager, NewRecord, Slot, find_vm, property_json, set_system_str, vm_ref,
};
use crate::model::{Infrastructure, now_secs, vm_state};
use crate::store::VmChanges;

/// A date `(year, month, day)`.
pub type Date = (i32, u32, u32);

impl Manager {
    /// `GET /infrastructures[?filter=REGEX]`: ids visible to the caller,
    /// newest first; a filter keeps those whose RADL or TOSCA matches.
    pub async fn list_infrastructures(
        &self,
        auth: &AuthData,
        filter: Option<&str>,
    ) -> Result<Vec<String>, ImError> {
        let users = self.check_auth(auth).await?;
        let ids = self.visible_ids_now(&users).await?;
        let Some(filter) = filter.filter(|f| !f.is_empty()) else {
            return Ok(ids);
        };
        let re = regex_lite(filter)?;
        let mut out = Vec::new();
        for id in ids {
            let Ok(slot) = self.slot(&id, &users).await else {
                continue;
            };
            let inf = slot.get();
            let tosca = inf
                .extra_info
                .get("TOSCA")
                .and_then(Value::as_str)
                .unwrap_or_default();
            if re(&inf.radl.to_string()) || re(tosca) {
                out.push(id);
            }
        }
        Ok(out)
    }

    /// `POST /infrastructures`: creates an infrastructure and deploys it
    /// (synchronously unless `async_call`). Returns its id.
    pub async fn create_infrastructure(
        self: &Arc<Self>,
        d: Deployment,
        auth: &AuthData,
        async_call: bool,
    ) -> Result<String, ImError> {
        self.check_boot_mode(false)?;
        let users = self.check_auth(auth).await?;
        d.radl.check()?;
        let id = uuid::Uuid::now_v1(&node_id()).to_string();
        let mut inf = Infrastructure::new(id.clone(), users);
        let radl = crate::tosca::create_radl(self, &mut inf, d).await?;
        self.mark_running(&id);
        let running = self.running_guard(&id);
        if !async_call && !self.launches_external(auth) {
            // Nothing outside the IM is made, so nothing can be orphaned by a
            // crash before the create ends, and nobody knows the id before it
            // is answered: the create is written once, when it ends (the
            // first commit of a never-stored version inserts), with no
            // operation record.
            // IM-compat: so it is not listed while it runs (docs/compat.md).
            let slot = Arc::new(Slot::new(inf));
            let res = {
                let _op = slot.op.lock().await;
                self.deploy_locked(&slot, radl, auth, true).await
            };
            let done = slot.get();
            if done.version > 0 && !done.deleted {
                self.register(slot.clone());
                self.remember_creds(&id, auth);
            }
            drop(running);
            return res.map(|()| id);
        }
        // The record of the operation goes with the infrastructure's first
        // write; an asynchronous create keeps what it needs to be launched by
        // another instance (or the next start) if this one dies first.
        let extra = if async_call {
            vec![("async", json!(true)), ("radl", json!(radl.to_string()))]
        } else {
            Vec::new()
        };
        inf.op = Some(crate::work::op_record(
            self,
            "create",
            async_call.then_some(auth),
            &extra,
        ));
        self.take_lease(&id, true).await?;
        let how = if async_call {
            NewRecord::Created
        } else {
            NewRecord::Provisional
        };
        let slot = match self.insert(inf, how).await {
            Ok(s) => s,
            Err(e) => {
                self.release_lease(&id, true).await;
                return Err(e);
            }
        };
        self.remember_creds(&id, auth);
        if async_call {
            // The task unmarks it when done.
            std::mem::forget(running);
            let me = self.clone();
            let auth = auth.clone();
            let id2 = id.clone();
            self.spawn(async move {
                let _running = me.running_guard(&id2);
                let res = {
                    let _op = slot.op.lock().await;
                    me.deploy_locked(&slot, radl, &auth, false).await
                };
                if let Err(e) = &res {
                    tracing::warn!(inf = %id2, "asynchronous create failed: {e}");
                }
                me.release_lease(&id2, slot.get().op.is_none()).await;
            });
            return Ok(id);
        }
        let res = {
            let _op = slot.op.lock().await;
            self.deploy_locked(&slot, radl, auth, true).await
        };
        self.release_lease(&id, slot.get().op.is_none()).await;
        drop(running);
        res.map(|()| id)
    }

    /// The AddResource of a create, with the infrastructure's operation lock
    /// held. A synchronous create that fails marks the infrastructure deleted
    /// (the reference's behaviour); an asynchronous one keeps it, failed, with
    /// the error in its messages. The write of the result ends the create's
    /// operation record.
    pub(crate) async fn deploy_locked(
        &self,
        slot: &Slot,
        radl: Radl,
        auth: &AuthData,
        delete_on_error: bool,
    ) -> Result<(), ImError> {
        let mut inf = (*slot.get()).clone();
        let res = self.add_resource_to(&mut inf, radl, auth, true).await;
        if let Err(e) = &res {
            inf.configured = Some(false);
            if delete_on_error {
                inf.deleted = true;
            } else {
                inf.add_cont_msg(&format!("Error creating the infrastructure: {e}"));
            }
        }
        inf.op = None;
        self.commit(slot, inf, VmChanges::All).await?;
        res.map(|_| ())
    }

    /// `POST /infrastructures?dry_run`: what a deployment would use per cloud.
    pub async fn estimate_resources(
        &self,
        d: Deployment,
        auth: &AuthData,
    ) -> Result<Value, ImError> {
        self.check_auth(auth).await?;
        self.estimate(&d.radl, auth).await
    }

    /// `PUT /infrastructures`: imports an exported infrastructure, keeping its
    /// id; the caller becomes its owner.
    pub async fn import_infrastructure(
        &self,
        data: &str,
        auth: &AuthData,
    ) -> Result<String, ImError> {
        self.check_boot_mode(false)?;
        let users = self.check_auth(auth).await?;
        let v: Value = serde_json::from_str(data).map_err(|e| {
            ImError::failed(format!(
                "Error importing the infrastructure, incorrect data: {e}"
            ))
        })?;
        // im_client's `export` writes the document as a JSON string; its
        // `import` sends that file back as is: read through one level of quoting.
        let v = match v {
            Value::String(inner) => serde_json::from_str(&inner).map_err(|e| {
                ImError::failed(format!(
                    "Error importing the infrastructure, incorrect data: {e}"
                ))
            })?,
            other => other,
        };
        let mut inf = Infrastructure::from_export_json(&v)?;
        inf.owners = users;
        inf.deleted = false;
        let id = inf.id.clone();
        match self.store.load(&id).await? {
            // A live infrastructure with this id: refused.
            Some(old) if !old.deleted => {
                return Err(ImError::failed(
                    "Trying to add an existing infrastructure ID.",
                ));
            }
            // A tombstone (destroyed, or exported with `delete`): the import
            // takes its place, as in the reference.
            Some(old) => self.revive(inf, old.version).await?,
            None => {
                self.insert(inf, NewRecord::Imported)
                    .await
                    .map_err(|e| match e {
                        ImError::Store(_) => {
                            ImError::failed("Trying to add an existing infrastructure ID.")
                        }
                        other => other,
                    })?;
            }
        }
        self.remember_creds(&id, auth);
        Ok(id)
    }

    /// `GET /infrastructures/<id>`: the ids of its VMs that are not destroyed.
    pub async fn get_infrastructure_info(
        &self,
        id: &str,
        auth: &AuthData,
    ) -> Result<Vec<i64>, ImError> {
        let inf = self.read(id, auth).await?;
        Ok(inf.live_vms().map(|v| v.im_id).collect())
    }

    /// The snapshot of an infrastructure the caller may read.
    async fn read(&self, id: &str, auth: &AuthData) -> Result<Arc<Infrastructure>, ImError> {
        let users = self.check_auth(auth).await?;
        let slot = self.slot(id, &users).await?;
        if self.shared() {
            // Another instance may have written since: one indexed read of
            // the version says whether the snapshot is still the latest.
            if let Err(e) = self.sync_slot(&slot).await {
                if matches!(e, ImError::IncorrectInfrastructure) {
                    self.forget(id);
                }
                return Err(e);
            }
            let inf = slot.get();
            if inf.deleted {
                self.forget(id);
                return Err(ImError::IncorrectInfrastructure);
            }
            if !is_authorized(&inf.owners, &users) {
                return Err(ImError::UnauthorizedUser);
            }
            return Ok(inf);
        }
        Ok(slot.get())
    }

    /// Runs `f` on a copy of the infrastructure under its lock and commits it.
    pub(crate) async fn mutate<T>(
        &self,
        id: &str,
        users: &[ImUser],
        vms: VmChanges<'_>,
        f: impl AsyncFnOnce(&mut Infrastructure) -> Result<T, ImError>,
    ) -> Result<T, ImError> {
        self.mutate_op(id, users, vms, |_| Ok(None), f).await
    }

    /// [`Manager::mutate`] for an operation that calls a cloud: `record`
    /// gives its operation record, written before `f` runs and cleared by
    /// the write of `f`'s result (see `crate::work`). On a shared database
    /// the infrastructure's lease is held throughout.
    pub(crate) async fn mutate_op<T>(
        &self,
        id: &str,
        users: &[ImUser],
        vms: VmChanges<'_>,
        record: impl FnOnce(&Infrastructure) -> Result<Option<serde_json::Map<String, Value>>, ImError>,
        f: impl AsyncFnOnce(&mut Infrastructure) -> Result<T, ImError>,
    ) -> Result<T, ImError> {
        let slot = self.slot(id, users).await?;
        let _op = slot.op.lock().await;
        self.take_lease(id, true).await?;
        let res = self.mutate_leased(&slot, users, vms, record, f).await;
        if matches!(res, Err(ImError::IncorrectInfrastructure)) {
            self.forget(id);
        }
        self.release_lease(id, slot.get().op.is_none()).await;
        res
    }

    async fn mutate_leased<T>(
        &self,
        slot: &Slot,
        users: &[ImUser],
        vms: VmChanges<'_>,
        record: impl FnOnce(&Infrastructure) -> Result<Option<serde_json::Map<String, Value>>, ImError>,
        f: impl AsyncFnOnce(&mut Infrastructure) -> Result<T, ImError>,
    ) -> Result<T, ImError> {
        self.refresh_locked(slot).await?;
        let current = slot.get();
        if current.deleted {
            return Err(ImError::IncorrectInfrastructure);
        }
        if !is_authorized(&current.owners, users) {
            return Err(ImError::UnauthorizedUser);
        }
        let _running = self.running(&current.id);
        if let Some(op) = record(&current)? {
            let mut inf = (*current).clone();
            inf.op = Some(op);
            self.commit(slot, inf, VmChanges::None).await?;
        }
        let mut inf = (*slot.get()).clone();
        let res = f(&mut inf).await;
        inf.op = None;
        self.commit(slot, inf, vms).await?;
        res
    }

    /// `DELETE /infrastructures/<id>`: destroys every VM, then marks the
    /// infrastructure deleted. With `force`, cloud errors do not stop it.
    pub async fn destroy_infrastructure(
        self: &Arc<Self>,
        id: &str,
        auth: &AuthData,
        force: bool,
        async_call: bool,
    ) -> Result<(), ImError> {
        self.check_boot_mode(true)?;
        let users = self.check_auth(auth).await?;
        let slot = self.slot(id, &users).await?;
        let running = self.running(id);
        // Recorded before anything is destroyed (and before an asynchronous
        // destroy answers, so that the state reads `deleting`), with what
        // another instance needs to finish it if this one dies.
        let op_guard = slot.op.lock().await;
        self.take_lease(id, true).await?;
        let recorded = async {
            self.refresh_locked(&slot).await?;
            let mut inf = (*slot.get()).clone();
            if inf.deleted {
                return Err(ImError::IncorrectInfrastructure);
            }
            if !is_authorized(&inf.owners, &users) {
                return Err(ImError::UnauthorizedUser);
            }
            inf.deleting = true;
            inf.op = Some(crate::work::op_record(
                self,
                "destroy",
                Some(auth),
                &[("force", json!(force)), ("async", json!(async_call))],
            ));
            self.commit(&slot, inf, VmChanges::None).await
        }
        .await;
        if let Err(e) = recorded {
            if matches!(e, ImError::IncorrectInfrastructure) {
                self.forget(id);
            }
            self.release_lease(id, slot.get().op.is_none()).await;
            return Err(e);
        }
        if async_call {
            drop(op_guard);
            // The task unmarks it when done.
            std::mem::forget(running);
            let me = self.clone();
            let auth = auth.clone();
            let id = id.to_string();
            self.spawn(async move {
                let _running = me.running_guard(&id);
                let res = {
                    let _op = slot.op.lock().await;
                    me.destroy_locked(&slot, &auth, force).await
                };
                if let Err(e) = res {
                    tracing::warn!(inf = %id, "asynchronous destroy failed: {e}");
                }
                me.release_lease(&id, slot.get().op.is_none()).await;
            });
            return Ok(());
        }
        let res = self.destroy_locked(&slot, auth, force).await;
        drop(op_guard);
        self.release_lease(id, slot.get().op.is_none()).await;
        drop(running);
        res
    }

    /// Destroys every VM, then marks the infrastructure deleted, with its
    /// operation lock held; the write of the result ends the operation record.
    pub(crate) async fn destroy_locked(
        &self,
        slot: &Slot,
        auth: &AuthData,
        force: bool,
    ) -> Result<(), ImError> {
        let mut inf = (*slot.get()).clone();
        if inf.deleted {
            return Err(ImError::DeletedInfrastructure);
        }
        let mut errors = Vec::new();
        let live: Vec<usize> = (0..inf.vms.len())
            .rev()
            .filter(|&i| !inf.vms[i].destroy)
            .collect();
        for (n, &i) in live.iter().enumerate() {
            let vm = &inf.vms[i];
            if vm.cloud_id.is_none() {
                inf.vms[i].destroy = true;
                continue;
            }
            let last = n + 1 == live.len();
            let res = match self.vm_connector(vm, auth) {
                Ok(c) => c.finalize(&vm_ref(&inf.id, vm), last, auth).await,
                Err(e) => Err(e.to_string()),
            };
            match res {
                Ok(()) => inf.vms[i].destroy = true,
                Err(e) => errors.push(e),
            }
        }
        inf.op = None;
        if !errors.is_empty() && !force {
            inf.deleting = false;
            self.commit(slot, inf, VmChanges::All).await?;
            return Err(ImError::failed(format!(
                "Error destroying the infrastructure: {}",
                errors.join("\n")
            )));
        }
        inf.deleting = false;
        inf.deleted = true;
        self.commit(slot, inf, VmChanges::All).await
    }

    /// `GET …/contmsg`: the contextualization log, and each VM's unless
    /// `headeronly`.
    pub async fn get_contmsg(
        &self,
        id: &str,
        auth: &AuthData,
        headeronly: bool,
    ) -> Result<String, ImError> {
        let inf = self.read(id, auth).await?;
        let mut out = inf.cont_out.clone();
        if !headeronly {
            for vm in inf.live_vms() {
                let msg = vm_contmsg(vm);
                if !msg.is_empty() {
                    out.push_str(&format!("VM {}:\n{}\n", vm.im_id, msg));
                    out.push_str(&"*".repeat(75));
                    out.push('\n');
                }
            }
        }
        Ok(out)
    }

    /// `GET …/radl`: the infrastructure's merged RADL.
    pub async fn get_radl(&self, id: &str, auth: &AuthData) -> Result<String, ImError> {
        let inf = self.read(id, auth).await?;
        // The reference pins a private network to its cloud with a placeholder
        // system and a `deploy <it> 0 <cloud>` in the stored RADL; its
        // `get_radl` leaves them out, and so do we (they come with imports).
        const FAKE: &str = "F0000__FAKE_SYSTEM__";
        let mut radl = inf.radl.clone();
        radl.systems.retain(|s| !s.name.starts_with(FAKE));
        radl.deploys.retain(|d| !d.system.starts_with(FAKE));
        Ok(radl.to_string())
    }

    /// `GET …/tosca`: the TOSCA template it was created from (`None` when it
    /// was not created from TOSCA).
    pub async fn get_tosca(&self, id: &str, auth: &AuthData) -> Result<Option<String>, ImError> {
        let inf = self.read(id, auth).await?;
        Ok(inf
            .extra_info
            .get(crate::tosca::TOSCA_KEY)
            .and_then(Value::as_str)
            .map(crate::tosca::sorted_yaml))
    }

    /// `GET …/state`: the aggregated state and each VM's.
    pub async fn get_state(&self, id: &str, auth: &AuthData) -> Result<InfState, ImError> {
        let inf = self.read(id, auth).await?;
        Ok(InfState {
            state: crate::state::aggregate(&inf),
            vm_states: inf
                .live_vms()
                .map(|v| {
                    (
                        v.im_id.to_string(),
                        v.public_state(inf.configured).to_string(),
                    )
                })
                .collect(),
        })
    }

    /// `GET …/data[?delete]`: the export document; with `delete` the
    /// infrastructure is forgotten here (its VMs are left running).
    pub async fn export_infrastructure(
        &self,
        id: &str,
        auth: &AuthData,
        delete: bool,
    ) -> Result<String, ImError> {
        let users = self.check_auth(auth).await?;
        if !delete {
            let inf = self.slot(id, &users).await?.get();
            return Ok(inf.to_export_json().to_string());
        }
        self.check_boot_mode(true)?;
        self.mutate(id, &users, VmChanges::None, async |inf| {
            let data = inf.to_export_json().to_string();
            inf.deleted = true;
            Ok(data)
        })
        .await
    }

    /// `GET …/authorization`: the owners' user names.
    pub async fn get_owners(&self, id: &str, auth: &AuthData) -> Result<Vec<String>, ImError> {
        let inf = self.read(id, auth).await?;
        Ok(inf.owners.iter().map(|o| o.username.clone()).collect())
    }

    /// `POST …/authorization`: adds an owner (or replaces all with `overwrite`).
    pub async fn change_auth(
        &self,
        id: &str,
        new_auth: Credential,
        overwrite: bool,
        auth: &AuthData,
    ) -> Result<(), ImError> {
        let users = self.check_auth(auth).await?;
        let new_data = AuthData::new(vec![new_auth]).map_err(|e| {
            ImError::failed(format!("Invalid new infrastructure data provided: {e}"))
        })?;
        let new_users = self.check_auth(&new_data).await.map_err(|e| {
            ImError::failed(format!("Invalid new infrastructure data provided: {e}"))
        })?;
        self.mutate(id, &users, VmChanges::None, async |inf| {
            if overwrite {
                inf.owners = new_users;
            } else if !is_authorized(&inf.owners, &new_users) {
                inf.owners.extend(new_users);
            }
            Ok(())
        })
        .await
    }

    /// `POST /infrastructures/<id>`: adds resources; returns the new VM ids.
    pub async fn add_resource(
        &self,
        id: &str,
        d: Deployment,
        auth: &AuthData,
        context: bool,
    ) -> Result<Vec<i64>, ImError> {
        if let Some(t) = d.tosca {
            return Ok(self.add_resource_tosca(id, t, auth, context).await?.added);
        }
        self.check_boot_mode(false)?;
        let users = self.check_auth(auth).await?;
        self.remember_creds(id, auth);
        self.mutate_op(
            id,
            &users,
            VmChanges::All,
            |_| Ok(Some(crate::work::op_record(self, "add", None, &[]))),
            async |inf| self.add_resource_to(inf, d.radl, auth, context).await,
        )
        .await
    }

    /// `DELETE …/vms/<ids>`: destroys VMs (`"1,2"`); returns how many.
    pub async fn remove_resource(
        &self,
        id: &str,
        vm_list: &str,
        auth: &AuthData,
        context: bool,
    ) -> Result<usize, ImError> {
        self.check_boot_mode(false)?;
        let users = self.check_auth(auth).await?;
        self.mutate_op(
            id,
            &users,
            VmChanges::All,
            |inf| {
                let mut targets = Vec::new();
                for v in vm_list.split(',') {
                    targets.push(find_vm(inf, v)?.im_id);
                }
                Ok(Some(crate::work::op_record(
                    self,
                    "remove",
                    Some(auth),
                    &[("vms", json!(targets))],
                )))
            },
            async |inf| {
                let mut targets = Vec::new();
                // An empty item (`0,`) is an invalid id, as in the reference.
                for v in vm_list.split(',') {
                    targets.push(find_vm(inf, v)?.im_id);
                }
                let (removed, errors) = self.remove_vms(inf, &targets, auth, context).await;
                if !errors.is_empty() {
                    return Err(ImError::failed(format!(
                        "Error removing resources: {errors:?}"
                    )));
                }
                Ok(removed)
            },
        )
        .await
    }

    /// Destroys the VMs of `targets` (ids that are not there are skipped);
    /// returns how many went and the cloud errors. With `context`
    /// and something removed, the infrastructure is contextualized again.
    pub(crate) async fn remove_vms(
        &self,
        inf: &mut Infrastructure,
        targets: &[i64],
        auth: &AuthData,
        context: bool,
    ) -> (usize, Vec<String>) {
        let (removed, errors) = self.finalize_vms(inf, targets, auth, false).await;
        if context && removed > 0 {
            self.contextualize(inf, None);
        }
        (removed, errors)
    }

    /// Finalizes the VMs `targets` in the cloud and marks them destroyed;
    /// the last VM of a cloud is told so (the connector then cleans what the
    /// infrastructure created there). Returns how many went and the errors.
    /// `skip_destroyed`: VMs already marked destroyed are left alone (the
    /// resumption of a removal cut by a crash).
    pub(crate) async fn finalize_vms(
        &self,
        inf: &mut Infrastructure,
        targets: &[i64],
        auth: &AuthData,
        skip_destroyed: bool,
    ) -> (usize, Vec<String>) {
        let mut removed = 0;
        let mut errors = Vec::new();
        for (n, im_id) in targets.iter().enumerate() {
            let Some(i) = inf
                .vms
                .iter()
                .position(|v| v.im_id == *im_id && !(skip_destroyed && v.destroy))
            else {
                continue;
            };
            let vm = &inf.vms[i];
            let res = if vm.cloud_id.is_none() {
                Ok(())
            } else {
                let same_cloud_left = inf.live_vms().any(|o| {
                    !targets.contains(&o.im_id)
                        && o.cloud.type_ == vm.cloud.type_
                        && o.cloud.server == vm.cloud.server
                });
                let last = !same_cloud_left && n + 1 == targets.len();
                match self.vm_connector(vm, auth) {
                    Ok(c) => c.finalize(&vm_ref(&inf.id, vm), last, auth).await,
                    Err(e) => Err(e.to_string()),
                }
            };
            match res {
                Ok(()) => {
                    inf.vms[i].destroy = true;
                    removed += 1;
                }
                Err(e) => errors.push(e),
            }
        }
        (removed, errors)
    }

    /// `PUT …/reconfigure`: new recipes and credentials, then contextualize.
    pub async fn reconfigure(
        &self,
        id: &str,
        d: Deployment,
        auth: &AuthData,
        vm_list: Option<&str>,
    ) -> Result<(), ImError> {
        self.check_boot_mode(false)?;
        let users = self.check_auth(auth).await?;
        self.mutate(id, &users, VmChanges::All, async |inf| {
            let list: Option<Vec<i64>> = match vm_list.filter(|l| !l.trim().is_empty()) {
                Some(l) => Some(
                    l.split(',')
                        .map(|v| find_vm(inf, v).map(|vm| vm.im_id))
                        .collect::<Result<_, _>>()?,
                ),
                None => None,
            };
            for c in &d.radl.configures {
                if let Some(r) = &c.recipes {
                    im_radl::Configure::check(c).map_err(|_| {
                        ImError::failed(format!(
                            "Error parsing YAML: {}",
                            r.lines().next().unwrap_or_default()
                        ))
                    })?;
                }
                let mut updated = inf.radl.clone();
                updated.configures.retain(|x| x.name != c.name);
                updated.configures.push(c.clone());
                inf.radl = updated;
            }
            if d.radl.contextualize.is_present() {
                inf.radl.contextualize.update(d.radl.contextualize.clone());
            }
            for s in &d.radl.systems {
                if let Some(stored) = inf.radl.get_system_mut(&s.name) {
                    stored.update_for_reconfigure(s);
                }
            }
            inf.ansible_configured = None;
            self.contextualize(inf, list.as_deref());
            Ok(())
        })
        .await
    }

    /// `PUT …/start`: starts every VM.
    pub async fn start_infrastructure(&self, id: &str, auth: &AuthData) -> Result<(), ImError> {
        self.all_vms_op(id, auth, VmOp::Start, "Error starting the infrastructure: ")
            .await
    }

    /// `PUT …/stop`: stops every VM.
    pub async fn stop_infrastructure(&self, id: &str, auth: &AuthData) -> Result<(), ImError> {
        self.all_vms_op(id, auth, VmOp::Stop, "Error stopping the infrastructure: ")
            .await
    }

    async fn all_vms_op(
        &self,
        id: &str,
        auth: &AuthData,
        op: VmOp,
        prefix: &str,
    ) -> Result<(), ImError> {
        self.check_boot_mode(false)?;
        let users = self.check_auth(auth).await?;
        self.mutate_op(
            id,
            &users,
            VmChanges::All,
            |_| Ok(Some(crate::work::op_record(self, op.name(), None, &[]))),
            async |inf| {
                let mut errors = Vec::new();
                for i in 0..inf.vms.len() {
                    if inf.vms[i].destroy || inf.vms[i].cloud_id.is_none() {
                        continue;
                    }
                    if let Err(e) = self.vm_op(inf, i, op, auth).await {
                        errors.push(e);
                    }
                }
                if errors.is_empty() {
                    Ok(())
                } else {
                    Err(ImError::failed(format!("{prefix}{}", errors.join("\n"))))
                }
            },
        )
        .await
    }

    async fn vm_op(
        &self,
        inf: &mut Infrastructure,
        i: usize,
        op: VmOp,
        auth: &AuthData,
    ) -> Result<(), String> {
        let vm = &inf.vms[i];
        let conn = self.vm_connector(vm, auth).map_err(|e| e.to_string())?;
        let r = vm_ref(&inf.id, vm);
        match op {
            VmOp::Start => conn.start(&r, auth).await?,
            VmOp::Stop => conn.stop(&r, auth).await?,
            VmOp::Reboot => conn.reboot(&r, auth).await?,
        }
        let vm = &mut inf.vms[i];
        vm.state = match op {
            VmOp::Stop => vm_state::STOPPED.into(),
            VmOp::Start | VmOp::Reboot => vm_state::RUNNING.into(),
        };
        // The VM's RADL says it too: a refresh that reads the state back
        // from it (the Dummy cloud) must not undo the operation.
        set_system_str(&mut vm.info, "state", &vm.state.clone());
        vm.last_update = now_secs();
        Ok(())
    }

    /// `GET …/vms/<vm>`: the VM's networks and system, with its state.
    pub async fn get_vm_info(&self, id: &str, vm: &str, auth: &AuthData) -> Result<Radl, ImError> {
        let inf = self.read(id, auth).await?;
        let v = find_vm(&inf, vm)?;
        let full = v.info_with_state(inf.configured);
        // As the reference's `get_vm_info`: every network of the VM's RADL
        // (not only those its system connects to) and its systems.
        let mut out = Radl::new();
        out.networks = full.networks;
        out.systems = full.systems;
        Ok(out)
    }

    /// `GET …/vms/<vm>/<prop>`: one feature of the VM's system, typed.
    pub async fn get_vm_property(
        &self,
        id: &str,
        vm: &str,
        prop: &str,
        auth: &AuthData,
    ) -> Result<Option<Value>, ImError> {
        let info = self.get_vm_info(id, vm, auth).await?;
        Ok(info.systems.first().and_then(|s| property_json(s, prop)))
    }

    /// `GET …/vms/<vm>/contmsg`: the VM's launch error and contextualization log.
    pub async fn get_vm_contmsg(
        &self,
        id: &str,
        vm: &str,
        auth: &AuthData,
    ) -> Result<String, ImError> {
        let inf = self.read(id, auth).await?;
        Ok(vm_contmsg(find_vm(&inf, vm)?))
    }

    /// `PUT …/vms/<vm>`: resizes a VM to the system of the same name in the
    /// body; returns the VM's RADL.
    pub async fn alter_vm(
        &self,
        id: &str,
        vm: &str,
        d: Deployment,
        auth: &AuthData,
    ) -> Result<Radl, ImError> {
        self.check_boot_mode(false)?;
        let users = self.check_auth(auth).await?;
        self.mutate_op(
            id,
            &users,
            VmChanges::All,
            |_| Ok(Some(crate::work::op_record(self, "alter", None, &[]))),
            async |inf| {
                let i = {
                    let v = find_vm(inf, vm)?;
                    inf.vms.iter().position(|x| x.im_id == v.im_id).unwrap_or(0)
                };
                let name = inf.vms[i].system_name().unwrap_or_default().to_string();
                let system = d.radl.get_system(&name).ok_or_else(|| {
                    ImError::failed(format!(
                        "Incorrect RADL no system with name {name} provided."
                    ))
                })?;
                let conn = self.vm_connector(&inf.vms[i], auth)?;
                let new_system = conn
                    .alter_vm(&vm_ref(&inf.id, &inf.vms[i]), system, auth)
                    .await
                    .map_err(|e| {
                        ImError::failed(format!(
                            "Error modifying the information about the VM {vm}: {e}"
                        ))
                    })?;
                let configured = inf.configured;
                let v = &mut inf.vms[i];
                if let Some(s) = v.info.systems.first_mut() {
                    *s = new_system;
                }
                v.last_update = now_secs();
                Ok(v.info_with_state(configured))
            },
        )
        .await
    }

    /// `PUT …/vms/<vm>/start`.
    pub async fn start_vm(&self, id: &str, vm: &str, auth: &AuthData) -> Result<(), ImError> {
        self.one_vm_op(id, vm, auth, VmOp::Start, "Error starting the VM: ")
            .await
    }

    /// `PUT …/vms/<vm>/stop`.
    pub async fn stop_vm(&self, id: &str, vm: &str, auth: &AuthData) -> Result<(), ImError> {
        self.one_vm_op(id, vm, auth, VmOp::Stop, "Error stopping the VM: ")
            .await
    }

    /// `PUT …/vms/<vm>/reboot`.
    pub async fn reboot_vm(&self, id: &str, vm: &str, auth: &AuthData) -> Result<(), ImError> {
        self.one_vm_op(id, vm, auth, VmOp::Reboot, "Error rebooting the VM: ")
            .await
    }

    async fn one_vm_op(
        &self,
        id: &str,
        vm: &str,
        auth: &AuthData,
        op: VmOp,
        prefix: &str,
    ) -> Result<(), ImError> {
        self.check_boot_mode(false)?;
        let users = self.check_auth(auth).await?;
        self.mutate_op(
            id,
            &users,
            VmChanges::All,
            |_| Ok(Some(crate::work::op_record(self, op.name(), None, &[]))),
            async |inf| {
                let im_id = find_vm(inf, vm)?.im_id;
                let i = inf.vms.iter().position(|x| x.im_id == im_id).unwrap_or(0);
                self.vm_op(inf, i, op, auth)
                    .await
                    .map_err(|e| ImError::failed(format!("{prefix}{e}")))
            },
        )
        .await
    }

    /// `PUT …/vms/<vm>/disks/<n>/snapshot`: returns the new image URL.
    pub async fn create_disk_snapshot(
        &self,
        id: &str,
        vm: &str,
        disk: u32,
        image_name: &str,
        auto_delete: bool,
        auth: &AuthData,
    ) -> Result<String, ImError> {
        self.check_boot_mode(false)?;
        let users = self.check_auth(auth).await?;
        self.mutate_op(
            id,
            &users,
            VmChanges::None,
            |_| Ok(Some(crate::work::op_record(self, "snapshot", None, &[]))),
            async |inf| {
                let v = find_vm(inf, vm)?;
                let conn = self.vm_connector(v, auth)?;
                let url = conn
                    .create_snapshot(&vm_ref(&inf.id, v), disk, image_name, auto_delete, auth)
                    .await
                    .map_err(|e| ImError::failed(format!("Error creating snapshot: {e}")))?;
                if auto_delete {
                    inf.snapshots.push(url.clone());
                }
                Ok(url)
            },
        )
        .await
    }

    /// `GET /clouds/<id>/images`.
    pub async fn get_cloud_images(
        &self,
        cloud_id: &str,
        auth: &AuthData,
        filters: &[(String, String)],
    ) -> Result<Vec<Value>, ImError> {
        self.check_auth(auth).await?;
        let cloud = self.cloud_by_id(cloud_id, auth)?;
        self.connector(&cloud)?
            .list_images(auth, filters)
            .await
            .map_err(ImError::Failed)
    }

    /// `GET /clouds/<id>/quotas`.
    pub async fn get_cloud_quotas(
        &self,
        cloud_id: &str,
        auth: &AuthData,
    ) -> Result<Value, ImError> {
        self.check_auth(auth).await?;
        let cloud = self.cloud_by_id(cloud_id, auth)?;
        self.connector(&cloud)?
            .get_quotas(auth)
            .await
            .map_err(ImError::Failed)
    }

    fn cloud_by_id(&self, cloud_id: &str, auth: &AuthData) -> Result<im_auth::CloudInfo, ImError> {
        auth.clouds()
            .into_iter()
            .find(|c| c.id == cloud_id)
            .ok_or_else(|| ImError::failed(format!("Cloud ID {cloud_id} not found.")))
    }

    /// `GET /stats`: one row per infrastructure of the caller (deleted ones
    /// included) created between the dates.
    pub async fn get_stats(
        &self,
        auth: &AuthData,
        init_date: Date,
        end_date: Option<Date>,
    ) -> Result<Vec<IndexMap<String, Value>>, ImError> {
        let users = self.check_auth(auth).await?;
        let init = crate::time::days_from_civil(init_date.0 as i64, init_date.1, init_date.2);
        let end = end_date.map(|d| crate::time::days_from_civil(d.0 as i64, d.1, d.2));
        let mut rows = Vec::new();
        let mut all = self.store.load_all().await?;
        all.sort_by_key(|s| std::cmp::Reverse(s.created_at));
        for s in all {
            if !is_authorized(&s.owners, &users) {
                continue;
            }
            if s.created_at < init || end.is_some_and(|e| s.created_at > e) {
                continue;
            }
            let Ok(inf) = Infrastructure::from_stored(&s) else {
                continue;
            };
            rows.push(stats_row(&inf, &s));
        }
        Ok(rows)
    }

    /// `GET …/vms/<vm>/command`: the reverse-SSH helper of the reference.
    /// Step 1 is the script a private VM runs to fetch step 2, authenticated
    /// with the first owner's credentials (the VM must call back the server);
    /// step 2 answers `wait` until the VM is reachable over SSH, which VMs of
    /// the clouds available so far never are. Other steps: `None`.
    pub async fn get_vm_command(
        &self,
        id: &str,
        vm: &str,
        step: i64,
        base_url: &str,
        auth: &AuthData,
    ) -> Result<Option<String>, ImError> {
        let inf = self.read(id, auth).await?;
        match step {
            1 => {
                let owner = inf.owners.first();
                let imauth = match owner {
                    Some(o) if o.token.is_some() => {
                        format!("token = {}", o.token.clone().unwrap_or_default())
                    }
                    Some(o) => format!(
                        "username = {}; password = {}",
                        o.username,
                        o.password.clone().unwrap_or_else(|| "None".into())
                    ),
                    None => String::new(),
                };
                let url = format!("{base_url}/infrastructures/{id}/vms/{vm}/command?step=2");
                let command = format!(
                    "curl --insecure -s -H \"Authorization: type = InfrastructureManager; {imauth}\" -H \"Accept: text/plain\" {url}"
                );
                let ps = "ps aux | grep -v grep | grep 'ssh -N -R'";
                Ok(Some(format!(
                    "\n        res=\"wait\"\n        while [ \"$res\" == \"wait\" ]\n        do\n            res=`{command}`\n            if [ \"$res\" != \"wait\" ]\n            then\n            echo \"$res\" > /var/tmp/reverse_ssh.sh\n            chmod a+x /var/tmp/reverse_ssh.sh\n            /var/tmp/reverse_ssh.sh\n            if [ \"$res\" != \"true\" ]\n            then\n                echo \"*/1 * * * * root {ps} || /var/tmp/reverse_ssh.sh\" > /etc/cron.d/reverse_ssh\n            fi\n            else\n            sleep 20\n            fi\n        done"
                )))
            }
            2 => Ok(Some("wait".into())),
            _ => Ok(None),
        }
    }

    /// Sets the `state` feature of a VM's RADL (used by connectors' tests).
    pub fn set_state_feature(radl: &mut Radl, state: &str) {
        set_system_str(radl, "state", state);
    }
}

#[derive(Clone, Copy)]
enum VmOp {
    Start,
    Stop,
    Reboot,
}

impl VmOp {
    /// Its name in operation records.
    fn name(self) -> &'static str {
        match self {
            VmOp::Start => "start",
            VmOp::Stop => "stop",
            VmOp::Reboot => "reboot",
        }
    }
}

fn vm_contmsg(vm: &crate::model::Vm) -> String {
    match &vm.error_msg {
        Some(e) if !e.is_empty() => format!("{e}\n{}", vm.cont_out),
        _ => vm.cont_out.clone(),
    }
}

fn stats_row(inf: &Infrastructure, s: &crate::store::StoredInf) -> IndexMap<String, Value> {
    let tosca_name = inf
        .extra_info
        .get("TOSCA")
        .and_then(Value::as_str)
        .and_then(|t| {
            t.lines().find_map(|l| {
                l.trim()
                    .strip_prefix("template_name:")
                    .map(|n| n.trim().to_string())
            })
        })
        .unwrap_or_default();
    let mut cpu = 0.0;
    let mut mem = 0.0;
    for vm in &inf.vms {
        if let Some(sys) = vm.info.systems.first() {
            cpu += sys
                .features
                .get_number("cpu.count", "")
                .map_or(0.0, im_radl::Number::as_f64);
            mem += sys
                .features
                .get_number("memory.size", "M")
                .map_or(0.0, im_radl::Number::as_f64);
        }
    }
    let first = inf.vms.first();
    let mut row = IndexMap::new();
    row.insert(
        "creation_date".into(),
        json!(crate::time::format_datetime(inf.creation_date)),
    );
    row.insert("tosca_name".into(), json!(tosca_name));
    row.insert("vm_count".into(), json!(inf.vms.len()));
    row.insert("cpu_count".into(), num(cpu));
    row.insert("memory_size".into(), num(mem));
    row.insert(
        "cloud_type".into(),
        first.map_or(Value::Null, |v| json!(v.cloud.type_)),
    );
    row.insert(
        "cloud_host".into(),
        first.map_or(Value::Null, |v| json!(v.cloud.server)),
    );
    row.insert(
        "hybrid".into(),
        json!(first.is_some_and(|f| inf.vms.iter().any(|v| v.cloud.server != f.cloud.server))),
    );
    row.insert("deleted".into(), json!(s.deleted));
    row.insert(
        "im_user".into(),
        inf.owners
            .first()
            .map_or(Value::Null, |o| json!(o.username)),
    );
    row.insert("inf_id".into(), json!(inf.id));
    row.insert(
        "last_date".into(),
        json!(crate::time::format_datetime(
            s.data
                .get("updated_at")
                .and_then(Value::as_i64)
                .unwrap_or(inf.creation_date)
        )),
    );
    row
}

fn num(x: f64) -> Value {
    if x.fract() == 0.0 && x.abs() < 9.0e15 {
        json!(x as i64)
    } else {
        json!(x)
    }
}

/// The `filter` of a listing: Python's `re.search` semantics over each text.
fn regex_lite(pattern: &str) -> Result<impl Fn(&str) -> bool + use<>, ImError> {
    let re = regex::Regex::new(pattern)
        .map_err(|e| ImError::failed(format!("Invalid filter regular expression: {e}")))?;
    Ok(move |text: &str| re.is_match(text))
}

/// A node id for UUID v1 (random per process, as Python does without a MAC).
fn node_id() -> [u8; 6] {
    static NODE: std::sync::OnceLock<[u8; 6]> = std::sync::OnceLock::new();
    *NODE.get_or_init(|| {
        let b = uuid::Uuid::new_v4().into_bytes();
        [b[0] | 0x01, b[1], b[2], b[3], b[4], b[5]]
    })
}
