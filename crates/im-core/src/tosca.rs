//! TOSCA in the service (spec tosca.md §1, §5, §6): the template kept with an
//! infrastructure (`extra_info['TOSCA']`, as the reference stores and exports
//! it), scaling by re-posting a template (merge, delta against the live VMs,
//! removals first), and the outputs evaluated against the live VMs.
//!
//! The converter (`im-tosca`) is synchronous and may download imports and
//! playbooks through the [`Fetcher`] the binary installs, so every call into
//! it runs on a blocking thread.

use std::sync::{Arc, RwLock};

use im_auth::AuthData;
use im_radl::Radl;
use im_tosca::{Fetcher, InfraView, NoFetcher, Tosca, VmView};
use serde_json::{Value, json};

use crate::error::ImError;
use crate::manager::{Deployment, Manager};
use crate::model::{Infrastructure, Vm};
use crate::store::VmChanges;

/// The key of the template in `extra_info` (the reference's).
pub const TOSCA_KEY: &str = "TOSCA";

/// A fetcher shared by the requests of the service.
pub type SharedFetcher = Arc<dyn Fetcher + Send + Sync>;

/// Where the converter reads what is not in the document.
#[derive(Clone)]
pub struct ToscaSettings {
    /// Reads imports that do not ship with `im-tosca`, playbooks and
    /// `template_file`s (the binary's: HTTP with a timeout and a cache).
    pub fetcher: SharedFetcher,
    /// The TOSCA repository `template_file` imports come from
    /// (`OAIPMH_REPO_BASE_IDENTIFIER_URL`).
    pub repo: Option<String>,
}

impl Default for ToscaSettings {
    fn default() -> Self {
        ToscaSettings {
            fetcher: Arc::new(NoFetcher),
            repo: None,
        }
    }
}

impl std::fmt::Debug for ToscaSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ToscaSettings")
            .field("repo", &self.repo)
            .finish_non_exhaustive()
    }
}

/// The service's [`ToscaSettings`], replaceable after start.
#[derive(Default)]
pub(crate) struct ToscaCell(RwLock<ToscaSettings>);

impl ToscaCell {
    fn get(&self) -> ToscaSettings {
        match self.0.read() {
            Ok(g) => g.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }

    fn set(&self, s: ToscaSettings) {
        match self.0.write() {
            Ok(mut g) => *g = s,
            Err(p) => *p.into_inner() = s,
        }
    }
}

/// What re-posting a template did (`POST /infrastructures/<id>` with TOSCA).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ToscaAdd {
    /// The ids of the VMs added.
    pub added: Vec<i64>,
    /// The VM ids the template asked to remove (`removal_list`, or the
    /// oldest VMs of a system whose `count` went down).
    pub removal_list: Vec<i64>,
    /// How many of them were removed.
    pub removed: usize,
}

/// The id the converter gives the template of an infrastructure: the
/// infrastructure's own, so that Kubernetes system names (`<node>-<8 chars>`)
/// stay the same for its whole life, across restarts, without storing more
/// than the reference stores.
fn tosca_id(inf_id: &str) -> String {
    inf_id.replace('-', "")
}

/// The template as kept with the infrastructure: YAML in the document's own
/// order, so that outputs keep their order when it is read again (the
/// reference keeps the parsed object; `GET …/tosca` sorts the keys).
fn stored_form(tosca: &Tosca) -> String {
    im_tosca::yaml::to_yaml(tosca.document(), false, false)
}

/// The stored template as `GET …/tosca` shows it: keys sorted, as the
/// reference's `yaml.safe_dump` writes it.
pub(crate) fn sorted_yaml(text: &str) -> String {
    match im_tosca::yaml::parse_value(text) {
        Ok(v) => im_tosca::yaml::to_yaml(&v, true, false),
        Err(_) => text.to_string(),
    }
}

/// A converter error as the reference's parse guard words it.
fn tosca_failed(e: &im_tosca::ToscaError) -> ImError {
    ImError::failed(e.to_string())
}

/// Runs converter work on a blocking thread.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ImError> + Send + 'static,
) -> Result<T, ImError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ImError::failed(format!("the TOSCA conversion stopped: {e}")))?
}

/// The IP of a VM on its first public (or first private) interface.
fn vm_ip(vm: &Vm, public: bool) -> Option<String> {
    let sys = vm.info.systems.first()?;
    (0..)
        .map_while(|i| {
            sys.features
                .get_str(&format!("net_interface.{i}.connection"))
                .map(|net| (i, net))
        })
        .find_map(|(i, net)| {
            let is_public = vm.info.get_network(net).is_some_and(|n| n.is_public());
            if is_public != public {
                return None;
            }
            sys.features
                .get_str(&format!("net_interface.{i}.ip"))
                .map(str::to_string)
        })
}

/// What the converter sees of a VM.
fn vm_view(vm: &Vm) -> VmView {
    let sys = vm.info.systems.first();
    let feature = |name: &str| {
        sys.and_then(|s| s.features.get_str(name))
            .map(str::to_string)
    };
    let system_name = vm
        .requested_radl
        .systems
        .first()
        .or(sys)
        .map(|s| s.name.clone())
        .unwrap_or_default();
    let networks = sys
        .map(|s| {
            (0..)
                .map_while(|i| s.features.get_str(&format!("net_interface.{i}.connection")))
                .map(|net| {
                    let public = vm.info.get_network(net).is_some_and(|n| n.is_public());
                    (net.to_string(), public)
                })
                .collect()
        })
        .unwrap_or_default();
    VmView {
        im_id: vm.im_id,
        cloud_id: vm.cloud_id.clone().unwrap_or_default(),
        system_name,
        // IM ids are given in creation order and never reused: the oldest VM
        // has the smallest (creation dates tie within a second).
        creation: vm.im_id as f64,
        public_ip: vm_ip(vm, true),
        private_ip: vm_ip(vm, false),
        user: feature("disk.0.os.credentials.username"),
        password: feature("disk.0.os.credentials.password"),
        private_key: feature("disk.0.os.credentials.private_key"),
        cont_out: vm.cont_out.clone(),
        image_url: feature("disk.0.image.url"),
        networks,
        dns_name: feature("net_interface.0.dns_name")
            .or_else(|| feature("net_interface.0.dns.0.name")),
        cloud: Some(im_tosca::CloudView {
            kind: vm.cloud.type_.clone(),
            url: None,
            username: None,
            password: None,
            token: None,
        }),
        function_api_url: feature("function.api_url"),
        ..VmView::default()
    }
}

/// The live VMs of an infrastructure, as the converter sees them.
pub(crate) fn infra_view(inf: &Infrastructure) -> InfraView {
    InfraView {
        vms: inf.live_vms().map(vm_view).collect(),
    }
}

impl Manager {
    /// Installs what the TOSCA converter reads remote documents with.
    pub fn set_tosca_settings(&self, settings: ToscaSettings) {
        self.tosca.set(settings);
    }

    /// What the TOSCA converter reads remote documents with.
    pub fn tosca_settings(&self) -> ToscaSettings {
        self.tosca.get()
    }

    /// The template stored with an infrastructure, read again.
    async fn stored_tosca(&self, inf: &Infrastructure) -> Result<Option<Tosca>, ImError> {
        let Some(text) = inf.extra_info.get(TOSCA_KEY).and_then(Value::as_str) else {
            return Ok(None);
        };
        let (text, id) = (text.to_string(), tosca_id(&inf.id));
        let fetcher = self.tosca_settings().fetcher;
        blocking(move || {
            Tosca::from_stored(&text, &id, fetcher.as_ref())
                .map(Some)
                .map_err(|e| {
                    ImError::failed(format!("The stored TOSCA template cannot be read: {e}"))
                })
        })
        .await
    }

    /// The RADL of a create from TOSCA, converted under the id of the new
    /// infrastructure; the template is kept with it.
    pub(crate) async fn tosca_create_radl(
        &self,
        inf: &mut Infrastructure,
        tosca: &Arc<Tosca>,
    ) -> Result<Radl, ImError> {
        let tosca = Tosca::clone(tosca).with_id(&tosca_id(&inf.id));
        let fetcher = self.tosca_settings().fetcher;
        let (radl, yaml) = blocking(move || {
            let conv = tosca
                .to_radl(None, fetcher.as_ref())
                .map_err(|e| tosca_failed(&e))?;
            Ok((conv.radl, stored_form(&tosca)))
        })
        .await?;
        inf.extra_info.insert(TOSCA_KEY.into(), json!(yaml));
        Ok(radl)
    }

    /// `POST /infrastructures/<id>` with a TOSCA body: the template is merged
    /// into the stored one (maps by key, lists by index, scalars replaced),
    /// converted against the live VMs; the VMs it removes go first, then the
    /// RADL is added (all systems and configures, only the new VMs); when
    /// nothing changes and `context`, the infrastructure is contextualized
    /// again. The merged template replaces the stored one once the add
    /// succeeds, without its `removal_list`s.
    pub async fn add_resource_tosca(
        &self,
        id: &str,
        tosca: Arc<Tosca>,
        auth: &AuthData,
        context: bool,
    ) -> Result<ToscaAdd, ImError> {
        self.check_boot_mode(false)?;
        let users = self.check_auth(auth).await?;
        self.remember_creds(id, auth);
        let record = |_: &Infrastructure| Ok(Some(crate::work::op_record(self, "add", None, &[])));
        self.mutate_op(id, &users, VmChanges::All, record, async |inf| {
            let stored = self.stored_tosca(inf).await?;
            let view = infra_view(inf);
            let new_id = tosca_id(&inf.id);
            let fetcher = self.tosca_settings().fetcher;
            let (merged, conv) = blocking(move || {
                let merged = match stored {
                    Some(s) => s
                        .merge(&tosca, fetcher.as_ref())
                        .map_err(|e| tosca_failed(&e))?,
                    None => Tosca::clone(&tosca).with_id(&new_id),
                };
                let conv = merged
                    .to_radl(Some(&view), fetcher.as_ref())
                    .map_err(|e| tosca_failed(&e))?;
                Ok((merged, conv))
            })
            .await?;
            let mut out = ToscaAdd {
                removal_list: conv.removal_list.clone(),
                ..ToscaAdd::default()
            };
            if !conv.removal_list.is_empty() {
                // Ids of VMs that are gone (or never were) remove nothing.
                let live: Vec<i64> = conv
                    .removal_list
                    .iter()
                    .copied()
                    .filter(|id| inf.live_vms().any(|v| v.im_id == *id))
                    .collect();
                let (removed, errors) = self.remove_vms(inf, &live, auth, context).await;
                out.removed = removed;
                if !errors.is_empty() {
                    return Err(ImError::failed(format!(
                        "Error removing resources: {errors:?}"
                    )));
                }
            }
            out.added = self.add_resource_to(inf, conv.radl, auth, context).await?;
            if out.removal_list.is_empty() && out.added.is_empty() && context {
                inf.ansible_configured = None;
                self.contextualize(inf, None);
            }
            // IM-compat: the reference keeps `removal_list` in the stored
            // template, so a later post removes the same ids again.
            let yaml = stored_form(&merged.without_removal_lists());
            inf.extra_info.insert(TOSCA_KEY.into(), json!(yaml));
            Ok(out)
        })
        .await
    }

    /// `GET …/outputs`: the template's outputs evaluated against the live
    /// VMs (`None` when the infrastructure was not made from TOSCA).
    pub async fn get_outputs(&self, id: &str, auth: &AuthData) -> Result<Option<Value>, ImError> {
        let users = self.check_auth(auth).await?;
        let inf = self.slot(id, &users).await?.get();
        let Some(tosca) = self.stored_tosca(&inf).await? else {
            return Ok(None);
        };
        let view = infra_view(&inf);
        let outputs = blocking(move || {
            tosca
                .outputs(Some(&view))
                .map_err(|e| ImError::failed(format!("Error getting the TOSCA outputs: {e}")))
        })
        .await?;
        Ok(Some(Value::Object(outputs.into_iter().collect())))
    }
}

/// The RADL of a deployment for a create: the TOSCA converted under the new
/// infrastructure's id, or the RADL as it came.
pub(crate) async fn create_radl(
    m: &Manager,
    inf: &mut Infrastructure,
    d: Deployment,
) -> Result<Radl, ImError> {
    match &d.tosca {
        Some(t) => m.tosca_create_radl(inf, t).await,
        None => Ok(d.radl),
    }
}
