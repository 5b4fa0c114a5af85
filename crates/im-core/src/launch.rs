//! AddResource: completing a request's RADL with the stored one, choosing a
//! cloud for each group of deploys, launching with retries, and recording the
//! new VMs (spec core.md §1.4). Also the dry-run estimate (§1.11).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use im_auth::{AuthData, CloudInfo};
use im_radl::{Conflict, Deploy, Missing, Number, Radl, System, Value as RValue};
use serde_json::{Map, Value, json};

use crate::connector::CloudConnector;
use crate::error::ImError;
use crate::manager::Manager;
use crate::model::{Infrastructure, Vm, now_secs, vm_state};

/// A cloud with its connector, in auth order.
struct Cloud {
    info: CloudInfo,
    conn: Arc<dyn CloudConnector>,
}

/// The best concrete system of a system on a cloud, with its score.
type Concrete = HashMap<(usize, String), (System, f64)>;

/// One group of deploys that must go to the same cloud.
struct Group {
    deploys: Vec<Deploy>,
    cloud: Option<usize>,
}

const NO_SCORE: f64 = -1e9;

impl Manager {
    /// Replaces references by the stored definitions (`complete_radl`).
    fn complete_radl(&self, inf: &Infrastructure, radl: &mut Radl) -> Result<(), ImError> {
        let unknown = |class: &str, id: &str| {
            ImError::failed(format!(
                "Unknown reference in RADL to <class 'radl.radl.{class}'> '{id}'"
            ))
        };
        for n in radl.networks.iter_mut().filter(|n| n.reference) {
            *n = inf
                .radl
                .get_network(&n.id)
                .cloned()
                .ok_or_else(|| unknown("network", &n.id))?;
        }
        for s in radl.systems.iter_mut().filter(|s| s.reference) {
            *s = inf
                .radl
                .get_system(&s.name)
                .cloned()
                .ok_or_else(|| unknown("system", &s.name))?;
        }
        for c in radl.configures.iter_mut().filter(|c| c.reference) {
            *c = inf
                .radl
                .get_configure(&c.name)
                .cloned()
                .ok_or_else(|| unknown("configure", &c.name))?;
        }
        Ok(())
    }

    /// The request's clouds with their connectors, in auth order.
    fn clouds(&self, auth: &AuthData) -> Result<Vec<Cloud>, ImError> {
        auth.clouds()
            .into_iter()
            .map(|info| {
                let conn = self.connector(&info)?;
                Ok(Cloud { info, conn })
            })
            .collect()
    }

    /// A system ready for matching: no applications, the default requirements.
    fn system_for_matching(&self, s: &System) -> System {
        let mut s = s.clone();
        s.features.del_value("disk.0.applications");
        let defaults: [(&str, im_radl::Operator, RValue, &str); 3] = [
            (
                "cpu.count",
                im_radl::Operator::Ge,
                RValue::Number(Number::Int(self.settings.default_vm_cpus)),
                "",
            ),
            (
                "memory.size",
                im_radl::Operator::Ge,
                RValue::Number(Number::Int(self.settings.default_vm_memory)),
                &self.settings.default_vm_memory_unit,
            ),
            (
                "cpu.arch",
                im_radl::Operator::Eq,
                RValue::Str(self.settings.default_vm_cpu_arch.clone()),
                "",
            ),
        ];
        for (name, op, value, unit) in defaults {
            if !s.features.has_feature(name, true) {
                let mut f = im_radl::Feature::new(name, op, value);
                f.unit = unit.to_string();
                let _ = s.features.add(
                    im_radl::FeatureItem::Feature(f),
                    Conflict::Other,
                    Missing::Other,
                );
            }
        }
        s
    }

    /// Candidate systems per system name: the system itself when it names an
    /// image, else one per cloud image that matches its OS (`search_vm`).
    async fn candidates(
        &self,
        radl: &Radl,
        clouds: &[Cloud],
        auth: &AuthData,
    ) -> Result<HashMap<String, Vec<System>>, ImError> {
        let mut out = HashMap::new();
        for d in radl.deploys.iter().filter(|d| d.vm_number.as_f64() > 0.0) {
            if out.contains_key(&d.system) {
                continue;
            }
            let Some(sys) = radl.get_system(&d.system) else {
                continue;
            };
            let base = self.system_for_matching(sys);
            if base.features.get("disk.0.image.url").is_some() {
                out.insert(d.system.clone(), vec![base]);
                continue;
            }
            let flavour = base
                .features
                .get_str("disk.0.os.flavour")
                .map(str::to_lowercase);
            let version = base
                .features
                .get_str("disk.0.os.version")
                .map(str::to_lowercase);
            let mut found = Vec::new();
            for c in clouds {
                let Ok(images) = c.conn.list_images(auth, &[]).await else {
                    continue;
                };
                let hit = images.iter().find(|img| {
                    let name = img
                        .get("name")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_lowercase();
                    flavour.as_ref().is_none_or(|f| name.contains(f.as_str()))
                        && version.as_ref().is_none_or(|v| name.contains(v.as_str()))
                });
                if let Some(uri) = hit.and_then(|i| i.get("uri")).and_then(Value::as_str) {
                    let mut s = base.clone();
                    s.features
                        .set_value("disk.0.image.url", RValue::Str(uri.to_string()), "");
                    found.push(s);
                }
            }
            if found.is_empty() {
                return Err(ImError::failed(format!(
                    "No VMI obtained from Sites to system '{}'",
                    d.system
                )));
            }
            out.insert(d.system.clone(), found);
        }
        Ok(out)
    }

    /// The best concrete system of every (cloud, system).
    fn concrete_systems(
        &self,
        candidates: &HashMap<String, Vec<System>>,
        clouds: &[Cloud],
        auth: &AuthData,
    ) -> Concrete {
        let mut best: Concrete = HashMap::new();
        for (ci, c) in clouds.iter().enumerate() {
            for (name, systems) in candidates {
                for s in systems {
                    for s0 in c.conn.concrete_systems(s, auth) {
                        let mut merged = s.clone();
                        if merged
                            .features
                            .apply_features(&s0.features, Conflict::Other, Missing::Other)
                            .is_err()
                        {
                            continue;
                        }
                        let Ok((sys, score)) = merged.concrete(None) else {
                            continue;
                        };
                        let score = score * 10000.0;
                        let key = (ci, name.clone());
                        if best.get(&key).is_none_or(|(_, b)| score > *b) {
                            best.insert(key, (sys, score));
                        }
                    }
                }
            }
        }
        best
    }

    /// Deploys grouped by shared private networks; deploys with no private
    /// network become one group per VM.
    fn deploy_groups(&self, inf: &Infrastructure, radl: &Radl) -> Vec<Group> {
        let private = |net: &str| {
            inf.radl
                .get_network(net)
                .or_else(|| radl.get_network(net))
                .is_some_and(|n| !n.is_public())
        };
        let mut groups: Vec<(Vec<String>, Vec<Deploy>)> = Vec::new();
        let mut singles = Vec::new();
        for d in &radl.deploys {
            let nets: Vec<String> = radl
                .get_system(&d.system)
                .map(|s| {
                    s.network_ids()
                        .into_iter()
                        .filter(|n| private(n))
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default();
            if nets.is_empty() {
                let n = d.vm_number.as_f64().max(0.0) as i64;
                for _ in 0..n {
                    let mut one = d.clone();
                    one.vm_number = Number::Int(1);
                    singles.push(Group {
                        deploys: vec![one],
                        cloud: None,
                    });
                }
                continue;
            }
            // Merge every group sharing one of these networks.
            let mut merged_nets = nets.clone();
            let mut merged_deploys = vec![d.clone()];
            groups.retain(|(gn, gd)| {
                if gn.iter().any(|n| nets.contains(n)) {
                    merged_nets.extend(gn.iter().cloned());
                    merged_deploys.splice(0..0, gd.iter().cloned());
                    false
                } else {
                    true
                }
            });
            merged_nets.sort();
            merged_nets.dedup();
            groups.push((merged_nets, merged_deploys));
        }
        let mut out: Vec<Group> = groups
            .into_iter()
            .map(|(nets, deploys)| {
                // A private network already used in a cloud pins the group there.
                let pinned = nets
                    .iter()
                    .find_map(|n| inf.private_networks.get(n).cloned());
                let mut g = Group {
                    deploys,
                    cloud: None,
                };
                if let Some(cloud) = pinned {
                    for d in g.deploys.iter_mut().filter(|d| d.cloud_id.is_none()) {
                        d.cloud_id = Some(cloud.clone());
                    }
                }
                g
            })
            .collect();
        out.extend(singles);
        out
    }

    /// Chooses the cloud of each group (`sort_by_score`).
    fn choose_clouds(
        &self,
        groups: &mut [Group],
        clouds: &[Cloud],
        concrete: &Concrete,
    ) -> Result<(), ImError> {
        for g in groups.iter_mut() {
            let mut wanted: Vec<&str> = g
                .deploys
                .iter()
                .filter_map(|d| d.cloud_id.as_deref())
                .collect();
            wanted.sort();
            wanted.dedup();
            if wanted.len() > 1 {
                return Err(ImError::failed(format!(
                    "Two deployments that have to be launched in the same cloud provider are asked to be deployed in different cloud providers: {}",
                    wanted.join(", ")
                )));
            }
            if let Some(w) = wanted.first() {
                let i = clouds.iter().position(|c| c.info.id == *w).ok_or_else(|| {
                    ImError::failed(format!("No auth data for cloud with ID: {w}"))
                })?;
                g.cloud = Some(i);
                continue;
            }
            if clouds.is_empty() {
                return Err(ImError::failed("No cloud provider available"));
            }
            let mut best: Option<(usize, f64)> = None;
            for ci in 0..clouds.len() {
                let mut total = 0.0;
                for d in &g.deploys {
                    let n = d.vm_number.as_f64();
                    if n <= 0.0 {
                        total += 1.0;
                        continue;
                    }
                    let score = concrete
                        .get(&(ci, d.system.clone()))
                        .map_or(NO_SCORE, |(_, s)| *s);
                    total += n * score;
                }
                // Ties go to the cloud listed first in the auth data.
                if best.is_none_or(|(_, b)| total > b) {
                    best = Some((ci, total));
                }
            }
            g.cloud = best.map(|(ci, _)| ci);
        }
        Ok(())
    }

    /// Launches `n` VMs with up to `MAX_VM_FAILS` attempts; returns the VMs
    /// launched and, per VM that could not be, its attempt messages.
    async fn launch_with_retry(
        &self,
        conn: &Arc<dyn CloudConnector>,
        inf_id: &str,
        launch_radl: &Radl,
        requested: &Radl,
        n: usize,
        auth: &AuthData,
    ) -> (Vec<crate::connector::LaunchedVm>, Vec<String>) {
        let mut ok = Vec::new();
        let mut msgs: Vec<String> = Vec::new();
        let mut missing = n;
        for attempt in 1..=self.settings.max_vm_fails.max(1) {
            if missing == 0 {
                break;
            }
            if attempt > 1 && self.settings.delay_between_vm_retries > 0 {
                tokio::time::sleep(Duration::from_secs(self.settings.delay_between_vm_retries))
                    .await;
            }
            let results = conn
                .launch(inf_id, launch_radl, requested, missing, auth)
                .await;
            let mut errors = Vec::new();
            for r in results.into_iter().take(missing) {
                match r {
                    Ok(vm) => ok.push(vm),
                    Err(e) => errors.push(e),
                }
            }
            missing = n - ok.len();
            for (i, e) in errors.iter().enumerate().take(missing) {
                let line = format!("Attempt {attempt}: Error: {e}");
                match msgs.get_mut(i) {
                    Some(m) => {
                        m.push('\n');
                        m.push_str(&line);
                    }
                    None => msgs.push(line),
                }
            }
        }
        msgs.truncate(missing);
        while msgs.len() < missing {
            msgs.push("Attempt: Error: the cloud returned no VM".into());
        }
        (ok, msgs)
    }

    /// AddResource on a working copy of the infrastructure: returns the IM ids
    /// of the new VMs. On error the copy is left as the reference leaves the
    /// infrastructure (messages added, failures recorded).
    pub(crate) async fn add_resource_to(
        &self,
        inf: &mut Infrastructure,
        mut radl: Radl,
        auth: &AuthData,
        context: bool,
    ) -> Result<Vec<i64>, ImError> {
        if inf.deleted {
            return Ok(Vec::new());
        }
        radl.check()?;
        // The references completed from the stored RADL must check too; a
        // RADL without references is what was just checked.
        let completed = radl.has_references();
        if let Err(e) = self.complete_radl(inf, &mut radl).and_then(|()| {
            if completed {
                radl.check().map_err(ImError::from)
            } else {
                Ok(())
            }
        }) {
            inf.configured.get_or_insert(false);
            inf.add_cont_msg(&format!("Error parsing RADL: {e}"));
            return Err(e);
        }
        // Merged into an empty RADL (a create), every sentence of the result
        // is one of `radl`'s, which checked: only a merge needs a check.
        if inf.radl.is_empty() {
            inf.radl.update_with(&radl);
        } else {
            let backup = inf.radl.clone();
            inf.radl.update_with(&radl);
            if let Err(e) = inf.radl.check() {
                inf.radl = backup;
                return Err(e.into());
            }
        }
        if radl.deploys.is_empty() {
            inf.add_cont_msg("Infrastructure without any deploy. Exiting.");
            inf.configured.get_or_insert(false);
            return Ok(Vec::new());
        }
        let result = self.launch_all(inf, &radl, auth).await;
        let new_ids = match result {
            Ok(ids) => ids,
            Err(e) => {
                inf.configured.get_or_insert(false);
                return Err(e);
            }
        };
        let launched: Vec<i64> = new_ids
            .iter()
            .copied()
            .filter(|id| {
                inf.vms
                    .iter()
                    .any(|v| v.im_id == *id && v.state != vm_state::FAILED)
            })
            .collect();
        if launched.is_empty() && !new_ids.is_empty() {
            let errors: Vec<String> = inf
                .vms
                .iter_mut()
                .filter(|v| new_ids.contains(&v.im_id))
                .map(|v| {
                    v.destroy = true;
                    v.error_msg.clone().unwrap_or_default()
                })
                .collect();
            inf.add_cont_msg("All VMs failed. No contextualize.");
            inf.add_cont_msg(&format!("Error launching the VMs: {}", errors.join("\n")));
            if inf.live_vms().next().is_none() {
                inf.configured = Some(false);
            }
            return Err(ImError::failed(format!(
                "Error adding VMs: {}",
                errors.join("\n")
            )));
        }
        if context && !launched.is_empty() {
            self.contextualize(inf, None);
        }
        Ok(new_ids)
    }

    async fn launch_all(
        &self,
        inf: &mut Infrastructure,
        radl: &Radl,
        auth: &AuthData,
    ) -> Result<Vec<i64>, ImError> {
        let clouds = self.clouds(auth)?;
        let candidates = self.candidates(radl, &clouds, auth).await?;
        let concrete = self.concrete_systems(&candidates, &clouds, auth);
        let mut groups = self.deploy_groups(inf, radl);
        self.choose_clouds(&mut groups, &clouds, &concrete)?;
        let mut new_ids = Vec::new();
        // Deploys that launch something: after each but the last, the VMs
        // the cloud returned are written at once (the write of the result
        // follows the last), so a crash in a later deploy forgets none.
        let mut to_launch = groups
            .iter()
            .filter(|g| g.cloud.is_some())
            .flat_map(|g| &g.deploys)
            .filter(|d| d.vm_number.as_f64() > 0.0)
            .count();
        for g in &groups {
            let Some(ci) = g.cloud else { continue };
            let cloud = &clouds[ci];
            for d in &g.deploys {
                let n = d.vm_number.as_f64().max(0.0) as usize;
                if n == 0 {
                    continue;
                }
                to_launch -= 1;
                let first_new = new_ids.len();
                let requested_system = radl.get_system(&d.system).cloned();
                let concrete_system = concrete.get(&(ci, d.system.clone())).map(|(s, _)| s);
                let failure = match (&requested_system, concrete_system) {
                    (None, _) | (_, None) => Some(format!(
                        "Error, no concrete system to deploy: {} in cloud: {}. Check if a correct image is being used",
                        d.system, cloud.info.id
                    )),
                    (_, Some(s)) if s.features.get("disk.0.os.credentials.username").is_none() => {
                        Some(format!("No username for deploy: {}", d.system))
                    }
                    _ => None,
                };
                let (launched, errors) = match (failure, requested_system, concrete_system) {
                    (None, Some(req), Some(conc)) => {
                        let launch_radl = single_system(&inf.radl, conc.clone(), d);
                        let requested = single_system(&inf.radl, req, d);
                        let (ok, errs) = self
                            .launch_with_retry(
                                &cloud.conn,
                                &inf.id,
                                &launch_radl,
                                &requested,
                                n,
                                auth,
                            )
                            .await;
                        let now = now_secs();
                        // The last VM takes the requested RADL, the others a copy.
                        let mut requested = Some(requested);
                        let last = ok.len().saturating_sub(1);
                        let vms: Vec<Vm> = ok
                            .into_iter()
                            .enumerate()
                            .map(|(i, l)| {
                                let requested_radl = if i == last {
                                    requested.take()
                                } else {
                                    requested.clone()
                                };
                                let mut info = l.info;
                                new_password_if_needed(&mut info);
                                Vm {
                                    im_id: 0,
                                    creation_im_id: 0,
                                    cloud_id: Some(l.cloud_id),
                                    state: l.state,
                                    last_update: now,
                                    destroy: false,
                                    deleting: false,
                                    creating: false,
                                    cloud: cloud.info.clone(),
                                    info,
                                    requested_radl: requested_radl.unwrap_or_default(),
                                    cont_out: String::new(),
                                    configured: None,
                                    error_msg: None,
                                    creation_date: now,
                                    extra: Map::new(),
                                }
                            })
                            .collect();
                        (vms, errs)
                    }
                    (Some(msg), _, _) => (Vec::new(), vec![msg; n]),
                    _ => (Vec::new(), Vec::new()),
                };
                for mut vm in launched {
                    vm.im_id = inf.vms.len() as i64;
                    vm.creation_im_id = vm.im_id;
                    replace_dns_names(&mut vm.info, vm.im_id, &self.settings.default_vm_name);
                    for net in vm
                        .info
                        .systems
                        .first()
                        .map(System::network_ids)
                        .unwrap_or_default()
                    {
                        if inf.radl.get_network(net).is_some_and(|n| !n.is_public()) {
                            inf.private_networks
                                .entry(net.to_string())
                                .or_insert_with(|| cloud.info.id.clone());
                        }
                    }
                    new_ids.push(vm.im_id);
                    inf.vms.push(vm);
                }
                for e in errors {
                    let im_id = inf.vms.len() as i64;
                    let requested = requested_radl_or_empty(radl, d, &inf.radl);
                    inf.vms.push(Vm {
                        im_id,
                        creation_im_id: im_id,
                        cloud_id: None,
                        state: vm_state::FAILED.into(),
                        last_update: now_secs(),
                        destroy: false,
                        deleting: false,
                        creating: false,
                        cloud: cloud.info.clone(),
                        info: requested.clone(),
                        requested_radl: requested,
                        cont_out: String::new(),
                        configured: None,
                        error_msg: Some(format!(
                            "Error launching the VMs of type {} to cloud ID {} of type {}. {}",
                            d.system, cloud.info.id, cloud.info.type_, e
                        )),
                        creation_date: now_secs(),
                        extra: Map::new(),
                    });
                    new_ids.push(im_id);
                }
                if to_launch > 0 {
                    self.checkpoint(inf, &new_ids[first_new..]).await;
                }
            }
        }
        Ok(new_ids)
    }

    /// Writes the VMs just launched into the infrastructure being changed
    /// (its operation lock is held by the caller), its operation record
    /// still open; the working copy follows the stored version.
    async fn checkpoint(&self, inf: &mut Infrastructure, vms: &[i64]) {
        let Some(slot) = self.loaded_slot(&inf.id) else {
            return;
        };
        match self
            .commit(&slot, inf.clone(), crate::store::VmChanges::Some(vms))
            .await
        {
            Ok(()) => inf.version = slot.get().version,
            Err(e) => tracing::warn!(inf = %inf.id, "cannot record the VMs launched: {e}"),
        }
    }

    /// Contextualization of the VMs (the reference's `Contextualize`): it is
    /// disabled by `contextualize ()`, by items none of which uses Ansible, or
    /// by `configure <system> ()` for every VM; then every VM is configured at
    /// once. Otherwise VMs with `configure <system> ()` are configured, and the
    /// rest need Ansible over SSH — which VMs of the Dummy cloud never offer:
    /// they end unconfigured with a message saying why. `vm_list` limits the
    /// VMs whose recipes run.
    pub(crate) fn contextualize(&self, inf: &mut Infrastructure, vm_list: Option<&[i64]>) {
        let items = inf.radl.contextualize.items.as_ref();
        let mut ctxt = match items {
            Some(i) if i.is_empty() => false,
            Some(i) => i
                .values()
                .any(|it| it.ctxt_tool.as_deref().unwrap_or("Ansible") == "Ansible"),
            None => true,
        };
        let vm_ctxt = |inf: &Infrastructure, vm: &Vm| {
            let system = vm.system_name().unwrap_or_default();
            !inf.radl
                .get_configure(system)
                .is_some_and(|c| !c.reference && c.recipes.is_none())
        };
        let live: Vec<usize> = (0..inf.vms.len())
            .filter(|&i| !inf.vms[i].destroy && inf.vms[i].cloud_id.is_some())
            .collect();
        if live.iter().all(|&i| !vm_ctxt(inf, &inf.vms[i])) {
            ctxt = false;
        }
        if !ctxt {
            inf.cont_out = "Contextualization disabled by the RADL/TOSCA template.\n\n".into();
            for &i in &live {
                inf.vms[i].cont_out.clear();
                inf.vms[i].configured = Some(true);
            }
            inf.configured = Some(true);
            return;
        }
        inf.cont_out.clear();
        let mut unreachable = Vec::new();
        for &i in &live {
            let wanted = vm_ctxt(inf, &inf.vms[i]);
            let vm = &mut inf.vms[i];
            if vm_list.is_some_and(|l| !l.contains(&vm.im_id)) && vm.configured.is_some() {
                continue;
            }
            if !wanted {
                vm.configured = Some(true);
                vm.cont_out = "Contextualization disabled".into();
            } else {
                vm.configured = Some(false);
                vm.cont_out = format!(
                    "Contextualization is not possible: VMs of the {} cloud are never contacted over the network.\n",
                    vm.cloud.type_
                );
                unreachable.push(vm.im_id.to_string());
            }
        }
        if unreachable.is_empty() {
            inf.configured = Some(true);
        } else {
            inf.configured = Some(false);
            inf.add_cont_msg(&format!(
                "Contextualization not possible for VMs {}: their cloud (Dummy) never runs real VMs. Use `contextualize ()` or `configure <system> ()` to disable it.",
                unreachable.join(", ")
            ));
        }
    }

    /// The dry-run estimate of a deployment (`EstimateResources`).
    pub(crate) async fn estimate(&self, radl: &Radl, auth: &AuthData) -> Result<Value, ImError> {
        radl.check()?;
        if radl.deploys.is_empty() {
            return Ok(json!({}));
        }
        let inf = Infrastructure::new(String::new(), Vec::new());
        let clouds = self.clouds(auth)?;
        let candidates = self.candidates(radl, &clouds, auth).await?;
        let concrete = self.concrete_systems(&candidates, &clouds, auth);
        let mut groups = self.deploy_groups(&inf, radl);
        self.choose_clouds(&mut groups, &clouds, &concrete)?;
        let mut out = Map::new();
        for g in &groups {
            let Some(ci) = g.cloud else { continue };
            let cloud = &clouds[ci];
            let entry = out.entry(cloud.info.id.clone()).or_insert_with(|| {
                json!({
                    "cloudType": cloud.info.type_,
                    "cloudEndpoint": cloud.info.get_url(),
                    "compute": [],
                    "storage": [],
                })
            });
            for d in &g.deploys {
                let Some(s) = radl.get_system(&d.system) else {
                    continue;
                };
                let public = s
                    .network_ids()
                    .iter()
                    .any(|n| radl.get_network(n).is_some_and(|n| n.is_public()));
                for _ in 0..(d.vm_number.as_f64().max(0.0) as usize) {
                    let mut c = Map::new();
                    if let Some(n) = s.features.get_number("cpu.count", "") {
                        c.insert("cpuCores".into(), number_json(n));
                    }
                    if let Some(n) = s.features.get_number("memory.size", "M") {
                        c.insert("memoryInMegabytes".into(), number_json(n));
                    }
                    if let Some(n) = s.features.get_number("gpu.count", "") {
                        c.insert("GPU".into(), number_json(n));
                    }
                    let disk = s
                        .features
                        .get_number("disk.0.free_size", "G")
                        .map_or(0.0, Number::as_f64)
                        + s.features
                            .get_number("disk.0.size", "G")
                            .map_or(0.0, Number::as_f64);
                    if disk > 0.0 {
                        c.insert("diskSizeInGigabytes".into(), json!(disk as i64));
                    }
                    if public {
                        c.insert("publicIP".into(), json!(1));
                    }
                    if let Some(arr) = entry.get_mut("compute").and_then(Value::as_array_mut) {
                        arr.push(Value::Object(c));
                    }
                    let mut i = 0;
                    while let Some(size) = s.features.get_number(&format!("disk.{i}.size"), "G") {
                        let mut st = Map::new();
                        st.insert("sizeInGigabytes".into(), number_json(size));
                        if let Some(t) = s.features.get_str(&format!("disk.{i}.type")) {
                            st.insert("type".into(), json!(t));
                        }
                        if let Some(arr) = entry.get_mut("storage").and_then(Value::as_array_mut) {
                            arr.push(Value::Object(st));
                        }
                        i += 1;
                    }
                }
            }
        }
        Ok(Value::Object(out))
    }
}

fn number_json(n: Number) -> Value {
    match n {
        Number::Int(i) => json!(i),
        Number::Float(f) => json!(f),
    }
}

/// The stored RADL with only one system and its deploy (a VM's `info`).
fn single_system(stored: &Radl, system: System, d: &Deploy) -> Radl {
    // Field by field: a clone of `stored` would copy every system only to
    // drop them (a third of a Dummy create's RADL work).
    Radl {
        description: stored.description.clone(),
        ansible_hosts: stored.ansible_hosts.clone(),
        networks: stored.networks.clone(),
        systems: vec![system],
        configures: stored.configures.clone(),
        deploys: vec![d.clone()],
        contextualize: stored.contextualize.clone(),
    }
}

fn requested_radl_or_empty(radl: &Radl, d: &Deploy, stored: &Radl) -> Radl {
    match radl.get_system(&d.system) {
        Some(s) => single_system(stored, s.clone(), d),
        None => Radl::new(),
    }
}

/// `#N#` in the DNS names of each interface becomes the IM id; interface 0
/// gets `DEFAULT_VM_NAME` when it has none (the reference's `replace_dns_name`).
fn replace_dns_names(info: &mut Radl, im_id: i64, default_name: &str) {
    let Some(s) = info.systems.first_mut() else {
        return;
    };
    let mut i = 0;
    while s
        .features
        .get_str(&format!("net_interface.{i}.connection"))
        .is_some()
    {
        let dns0 = format!("net_interface.{i}.dns.0.name");
        let dns = format!("net_interface.{i}.dns_name");
        let mut name = s
            .features
            .get_str(&dns0)
            .filter(|n| !n.is_empty())
            .or_else(|| s.features.get_str(&dns))
            .map(str::to_string);
        if i == 0 && name.is_none() {
            name = Some(default_name.to_string());
        }
        if let Some(n) = name.filter(|n| n.contains("#N#")) {
            let n = n.replace("#N#", &im_id.to_string());
            s.features.set_value(&dns, RValue::Str(n.clone()), "");
            s.features.set_value(&dns0, RValue::Str(n), "");
        }
        i += 1;
    }
}

/// A VM launched with an image password and no new one requested gets a
/// random `disk.0.os.credentials.new.password`, as in the reference.
fn new_password_if_needed(info: &mut Radl) {
    let Some(s) = info.systems.first_mut() else {
        return;
    };
    if s.features.get("disk.0.os.credentials.password").is_some()
        && s.features
            .get("disk.0.os.credentials.new.password")
            .is_none()
    {
        let pw = im_radl::random_string(8);
        s.features
            .set_value("disk.0.os.credentials.new.password", RValue::Str(pw), "");
    }
}
