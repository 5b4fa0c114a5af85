//! The operations of the core on the Dummy cloud, with an in-memory store that

#![allow(clippy::unwrap_used)] // a panic is the failure report
//! behaves like the real ones (compare-and-set versions, tombstones).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use im_auth::{AuthData, parse_auth_header};
use im_core::{
    Deployment, ImError, IndexEntry, Manager, Settings, Store, StoreError, StoredInf, VmChanges,
};
use im_radl::parse_radl;

#[derive(Default)]
struct MemStore {
    rows: Mutex<HashMap<String, StoredInf>>,
    order: Mutex<Vec<String>>,
    loads: std::sync::atomic::AtomicUsize,
}

#[async_trait]
impl Store for MemStore {
    async fn load_index(&self) -> Result<Vec<IndexEntry>, StoreError> {
        let rows = self.rows.lock().unwrap();
        Ok(self
            .order
            .lock()
            .unwrap()
            .iter()
            .rev()
            .filter_map(|id| rows.get(id))
            .filter(|r| !r.deleted)
            .map(|r| IndexEntry {
                id: r.id.clone(),
                owners: r.owners.clone(),
                created_at: r.created_at,
            })
            .collect())
    }
    async fn load(&self, id: &str) -> Result<Option<StoredInf>, StoreError> {
        self.loads.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Ok(self.rows.lock().unwrap().get(id).cloned())
    }
    async fn insert(&self, inf: &StoredInf) -> Result<(), StoreError> {
        let mut rows = self.rows.lock().unwrap();
        if rows.contains_key(&inf.id) {
            return Err(StoreError::Exists(inf.id.clone()));
        }
        rows.insert(inf.id.clone(), inf.clone());
        self.order.lock().unwrap().push(inf.id.clone());
        Ok(())
    }
    async fn update(&self, inf: &StoredInf, _vms: VmChanges<'_>) -> Result<(), StoreError> {
        let mut rows = self.rows.lock().unwrap();
        match rows.get(&inf.id) {
            Some(old) if old.version == inf.version - 1 => {
                rows.insert(inf.id.clone(), inf.clone());
                Ok(())
            }
            _ => Err(StoreError::Conflict(inf.id.clone())),
        }
    }
    async fn load_all(&self) -> Result<Vec<StoredInf>, StoreError> {
        Ok(self.rows.lock().unwrap().values().cloned().collect())
    }
    async fn ping(&self) -> Result<(), StoreError> {
        Ok(())
    }
}

const AUTH: &str =
    r"type = InfrastructureManager; username = user; password = pass\nid = dummy; type = Dummy";
const OTHER: &str =
    r"type = InfrastructureManager; username = other; password = pass\nid = dummy; type = Dummy";

fn auth(h: &str) -> AuthData {
    parse_auth_header(h).unwrap().into_auth_data(None).unwrap()
}

fn settings() -> Settings {
    Settings {
        delay_between_vm_retries: 0,
        ..Settings::default()
    }
}

async fn manager_on(store: Arc<MemStore>) -> Arc<Manager> {
    Manager::start(settings(), store, im_connectors::Factory::new())
        .await
        .unwrap()
}

async fn manager() -> Arc<Manager> {
    manager_on(Arc::new(MemStore::default())).await
}

/// A manager on `store` with `connectors`, and one synchronous create of
/// [`NO_CTXT`] by the [`AUTH`] user: the manager, that user and the new id.
async fn started_with_one_create(
    s: Settings,
    store: Arc<MemStore>,
    connectors: Arc<dyn im_core::ConnectorFactory>,
) -> (Arc<Manager>, AuthData, String) {
    let m = Manager::start(s, store, connectors).await.unwrap();
    let a = auth(AUTH);
    let id = m
        .create_infrastructure(dep(NO_CTXT), &a, false)
        .await
        .unwrap();
    (m, a, id)
}

fn dep(text: &str) -> Deployment {
    Deployment::radl(parse_radl(text).unwrap())
}

const NO_CTXT: &str = "network publica (outbound = 'yes')\nsystem front (cpu.count >= 1 and memory.size >= 512M and net_interface.0.connection = 'publica')\ncontextualize ()\ndeploy front 1";

#[tokio::test]
async fn a_create_with_contextualization_disabled_ends_configured() {
    let m = manager().await;
    let a = auth(AUTH);
    let id = m
        .create_infrastructure(dep(NO_CTXT), &a, false)
        .await
        .unwrap();
    let st = m.get_state(&id, &a).await.unwrap();
    assert_eq!(st.state, "configured");
    assert_eq!(
        st.vm_states.get("0").map(String::as_str),
        Some("configured")
    );
    assert_eq!(m.get_infrastructure_info(&id, &a).await.unwrap(), vec![0]);
    assert_eq!(
        m.get_contmsg(&id, &a, true).await.unwrap(),
        "Contextualization disabled by the RADL/TOSCA template.\n\n"
    );
    let dns = m
        .get_vm_property(&id, "0", "net_interface.0.dns_name", &a)
        .await
        .unwrap();
    assert_eq!(dns, Some(serde_json::json!("vnode-0")));
}

#[tokio::test]
async fn a_create_that_asks_for_contextualization_ends_unconfigured_and_says_why() {
    let m = manager().await;
    let a = auth(AUTH);
    let id = m
        .create_infrastructure(
            dep("system front (cpu.count >= 1)\ndeploy front 2"),
            &a,
            false,
        )
        .await
        .unwrap();
    let st = m.get_state(&id, &a).await.unwrap();
    assert_eq!(st.state, "unconfigured");
    let msg = m.get_contmsg(&id, &a, false).await.unwrap();
    assert!(msg.contains("never"), "{msg}");
    assert!(
        m.get_vm_contmsg(&id, "1", &a)
            .await
            .unwrap()
            .contains("Dummy")
    );
}

#[tokio::test]
async fn an_asynchronous_create_returns_at_once_and_finishes_in_the_background() {
    let m = manager().await;
    let a = auth(AUTH);
    let id = m
        .create_infrastructure(dep(NO_CTXT), &a, true)
        .await
        .unwrap();
    m.shutdown().await;
    assert_eq!(m.get_state(&id, &a).await.unwrap().state, "configured");
}

#[tokio::test]
async fn vm_ids_are_never_reused_after_a_removal() {
    let m = manager().await;
    let a = auth(AUTH);
    let id = m
        .create_infrastructure(dep(NO_CTXT), &a, false)
        .await
        .unwrap();
    let added = m
        .add_resource(
            &id,
            dep("network publica\nsystem front\ndeploy front 2"),
            &a,
            true,
        )
        .await
        .unwrap();
    assert_eq!(added, vec![1, 2]);
    assert_eq!(m.remove_resource(&id, "1,2", &a, true).await.unwrap(), 2);
    let again = m
        .add_resource(
            &id,
            dep("network publica\nsystem front\ndeploy front 1"),
            &a,
            true,
        )
        .await
        .unwrap();
    assert_eq!(again, vec![3]);
    assert_eq!(
        m.get_infrastructure_info(&id, &a).await.unwrap(),
        vec![0, 3]
    );
    let err = m.get_vm_info(&id, "1", &a).await.unwrap_err();
    assert!(matches!(err, ImError::DeletedVm), "{err}");
    let err = m.get_vm_info(&id, "9", &a).await.unwrap_err();
    assert!(matches!(err, ImError::IncorrectVm), "{err}");
}

#[tokio::test]
async fn other_users_are_refused_and_unknown_ids_are_not_found() {
    let m = manager().await;
    let id = m
        .create_infrastructure(dep(NO_CTXT), &auth(AUTH), false)
        .await
        .unwrap();
    let err = m.get_state(&id, &auth(OTHER)).await.unwrap_err();
    assert!(matches!(err, ImError::UnauthorizedUser), "{err}");
    let err = m.get_state("nope", &auth(AUTH)).await.unwrap_err();
    assert!(matches!(err, ImError::IncorrectInfrastructure), "{err}");
    assert!(
        m.list_infrastructures(&auth(OTHER), None)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        m.list_infrastructures(&auth(AUTH), None).await.unwrap(),
        vec![id]
    );
}

#[tokio::test]
async fn a_destroyed_infrastructure_is_not_found_any_more() {
    let m = manager().await;
    let a = auth(AUTH);
    let id = m
        .create_infrastructure(dep(NO_CTXT), &a, false)
        .await
        .unwrap();
    m.destroy_infrastructure(&id, &a, false, false)
        .await
        .unwrap();
    let err = m.get_state(&id, &a).await.unwrap_err();
    assert!(matches!(err, ImError::IncorrectInfrastructure), "{err}");
    let err = m
        .destroy_infrastructure(&id, &a, false, false)
        .await
        .unwrap_err();
    assert!(matches!(err, ImError::IncorrectInfrastructure), "{err}");
    assert!(m.list_infrastructures(&a, None).await.unwrap().is_empty());
}

#[tokio::test]
async fn an_export_imports_back_with_its_id_and_vms() {
    let m = manager().await;
    let a = auth(AUTH);
    let id = m
        .create_infrastructure(dep(NO_CTXT), &a, false)
        .await
        .unwrap();
    let data = m.export_infrastructure(&id, &a, true).await.unwrap();
    assert!(matches!(
        m.get_state(&id, &a).await.unwrap_err(),
        ImError::IncorrectInfrastructure
    ));
    let other = manager().await;
    let b = auth(OTHER);
    assert_eq!(other.import_infrastructure(&data, &b).await.unwrap(), id);
    assert_eq!(other.get_state(&id, &b).await.unwrap().state, "configured");
    assert_eq!(other.get_owners(&id, &b).await.unwrap(), vec!["other"]);
    let err = other.import_infrastructure(&data, &b).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "Trying to add an existing infrastructure ID."
    );
}

#[tokio::test]
async fn a_restarted_manager_finds_every_infrastructure_in_the_store() {
    let store = Arc::new(MemStore::default());
    let a = auth(AUTH);
    let id = {
        let m = manager_on(store.clone()).await;
        m.create_infrastructure(dep(NO_CTXT), &a, false)
            .await
            .unwrap()
    };
    let m = manager_on(store).await;
    assert_eq!(
        m.list_infrastructures(&a, None).await.unwrap(),
        vec![id.clone()]
    );
    assert_eq!(m.get_state(&id, &a).await.unwrap().state, "configured");
    let radl = m.get_radl(&id, &a).await.unwrap();
    assert!(radl.contains("system front"), "{radl}");
}

#[tokio::test]
async fn cloud_selection_errors_use_the_reference_messages() {
    let m = manager().await;
    let only_im = auth("type = InfrastructureManager; username = user; password = pass");
    let err = m
        .create_infrastructure(
            dep("system a (disk.0.image.url = 'one://x/1')\ndeploy a 1"),
            &only_im,
            false,
        )
        .await
        .unwrap_err();
    assert_eq!(err.to_string(), "No cloud provider available");
    let err = m
        .create_infrastructure(dep("system a ()\ndeploy a 1"), &only_im, false)
        .await
        .unwrap_err();
    assert_eq!(err.to_string(), "No VMI obtained from Sites to system 'a'");
    let err = m
        .create_infrastructure(
            dep("system a ()\ndeploy a 1 othercloud"),
            &auth(AUTH),
            false,
        )
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "No auth data for cloud with ID: othercloud"
    );
    let err = m
        .create_infrastructure(
            dep("system a (cpu.count = 'x')\ndeploy a 1"),
            &auth(AUTH),
            false,
        )
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "Line 1: Invalid type; expected <class 'float'>"
    );
}

#[tokio::test]
async fn vm_operations_change_what_the_vm_reports() {
    let m = manager().await;
    let a = auth(AUTH);
    let id = m
        .create_infrastructure(dep(NO_CTXT), &a, false)
        .await
        .unwrap();
    m.stop_vm(&id, "0", &a).await.unwrap();
    assert_eq!(m.get_state(&id, &a).await.unwrap().state, "stopped");
    m.start_vm(&id, "0", &a).await.unwrap();
    assert_eq!(m.get_state(&id, &a).await.unwrap().state, "configured");
    let info = m
        .alter_vm(
            &id,
            "0",
            dep("system front (cpu.count = 4 and memory.size = 2G)"),
            &a,
        )
        .await
        .unwrap();
    assert_eq!(
        info.systems[0].features.get_number("cpu.count", ""),
        Some(im_radl::Number::Int(4))
    );
    let cpu = m.get_vm_property(&id, "0", "cpu.count", &a).await.unwrap();
    assert_eq!(cpu, Some(serde_json::json!(4)));
    let mem = m
        .get_vm_property(&id, "0", "memory.size", &a)
        .await
        .unwrap();
    assert_eq!(mem, Some(serde_json::json!(2_000_000_000)));
    assert_eq!(m.get_vm_property(&id, "0", "nope", &a).await.unwrap(), None);
    let err = m
        .alter_vm(&id, "0", dep("system other (cpu.count = 4)"), &a)
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "Incorrect RADL no system with name front provided."
    );
}

#[tokio::test]
async fn the_listing_filter_is_a_regex_over_the_radl() {
    let m = manager().await;
    let a = auth(AUTH);
    let one = m
        .create_infrastructure(
            dep(&format!("description d (name = 'alpha')\n{NO_CTXT}")),
            &a,
            false,
        )
        .await
        .unwrap();
    let _two = m
        .create_infrastructure(dep(NO_CTXT), &a, false)
        .await
        .unwrap();
    assert_eq!(
        m.list_infrastructures(&a, Some("name = 'al.ha'"))
            .await
            .unwrap(),
        vec![one]
    );
    assert!(matches!(
        m.list_infrastructures(&a, Some("(")).await.unwrap_err(),
        ImError::Failed(_)
    ));
}

#[tokio::test]
async fn an_empty_create_is_failed_and_a_dry_run_estimates_per_cloud() {
    let m = manager().await;
    let a = auth(AUTH);
    let id = m
        .create_infrastructure(Deployment::default(), &a, false)
        .await
        .unwrap();
    assert_eq!(m.get_state(&id, &a).await.unwrap().state, "failed");
    let est = m
        .estimate_resources(
            dep("network p (outbound = 'yes')\nsystem s (cpu.count = 2 and memory.size = 1g and net_interface.0.connection = 'p')\ndeploy s 2"),
            &a,
        )
        .await
        .unwrap();
    assert_eq!(
        est,
        serde_json::json!({"dummy": {"cloudType": "Dummy", "cloudEndpoint": "http://:80",
            "compute": [{"cpuCores": 2, "memoryInMegabytes": 1000, "publicIP": 1},
                        {"cpuCores": 2, "memoryInMegabytes": 1000, "publicIP": 1}],
            "storage": []}})
    );
}

/// With `INF_CACHE_TIME = 1` an infrastructure nobody uses leaves memory at the
/// next background pass, and the next request reads it back whole.
#[tokio::test]
async fn an_idle_infrastructure_is_unloaded_and_reads_back_the_same() {
    let store = Arc::new(MemStore::default());
    let s = Settings {
        inf_cache_time: 1,
        vm_info_update_frequency: 1,
        ..settings()
    };
    let (m, a, id) = started_with_one_create(s, store.clone(), im_connectors::Factory::new()).await;
    let before = m.get_radl(&id, &a).await.unwrap();
    let loads = || store.loads.load(std::sync::atomic::Ordering::SeqCst);
    let loads_before = loads();
    tokio::time::sleep(std::time::Duration::from_millis(3500)).await;
    assert_eq!(m.get_radl(&id, &a).await.unwrap(), before);
    assert_eq!(loads(), loads_before + 1, "read back from the store once");
    assert_eq!(m.get_state(&id, &a).await.unwrap().state, "configured");
    assert_eq!(loads(), loads_before + 1, "then kept while in use");
}

/// The Dummy cloud as a cloud whose launches make VMs outside the IM: it
/// records, at each launch, what the store held for the infrastructure.
struct External {
    inner: Arc<dyn im_core::CloudConnector>,
    store: Arc<MemStore>,
    seen_at_launch: Arc<Mutex<Vec<Option<StoredInf>>>>,
}

#[async_trait]
impl im_core::CloudConnector for External {
    fn cloud(&self) -> &im_auth::CloudInfo {
        self.inner.cloud()
    }
    fn concrete_systems(&self, s: &im_radl::System, a: &AuthData) -> Vec<im_radl::System> {
        self.inner.concrete_systems(s, a)
    }
    async fn launch(
        &self,
        inf_id: &str,
        radl: &im_radl::Radl,
        requested: &im_radl::Radl,
        num: usize,
        auth: &AuthData,
    ) -> Vec<Result<im_core::LaunchedVm, String>> {
        let stored = self.store.rows.lock().unwrap().get(inf_id).cloned();
        self.seen_at_launch.lock().unwrap().push(stored);
        self.inner.launch(inf_id, radl, requested, num, auth).await
    }
    async fn update_vm_info(
        &self,
        vm: &im_core::VmRef,
        a: &AuthData,
    ) -> Result<im_core::VmStatus, String> {
        self.inner.update_vm_info(vm, a).await
    }
    async fn alter_vm(
        &self,
        vm: &im_core::VmRef,
        s: &im_radl::System,
        a: &AuthData,
    ) -> Result<im_radl::System, String> {
        self.inner.alter_vm(vm, s, a).await
    }
    async fn finalize(&self, vm: &im_core::VmRef, last: bool, a: &AuthData) -> Result<(), String> {
        self.inner.finalize(vm, last, a).await
    }
    async fn start(&self, vm: &im_core::VmRef, a: &AuthData) -> Result<(), String> {
        self.inner.start(vm, a).await
    }
    async fn stop(&self, vm: &im_core::VmRef, a: &AuthData) -> Result<(), String> {
        self.inner.stop(vm, a).await
    }
    async fn reboot(&self, vm: &im_core::VmRef, a: &AuthData) -> Result<(), String> {
        self.inner.reboot(vm, a).await
    }
    async fn create_snapshot(
        &self,
        vm: &im_core::VmRef,
        disk: u32,
        name: &str,
        auto_delete: bool,
        a: &AuthData,
    ) -> Result<String, String> {
        self.inner
            .create_snapshot(vm, disk, name, auto_delete, a)
            .await
    }
    async fn delete_image(&self, url: &str, a: &AuthData) -> Result<(), String> {
        self.inner.delete_image(url, a).await
    }
    async fn list_images(
        &self,
        a: &AuthData,
        filters: &[(String, String)],
    ) -> Result<Vec<serde_json::Value>, String> {
        self.inner.list_images(a, filters).await
    }
    async fn get_quotas(&self, a: &AuthData) -> Result<serde_json::Value, String> {
        self.inner.get_quotas(a).await
    }
}

struct ExternalFactory {
    store: Arc<MemStore>,
    seen_at_launch: Arc<Mutex<Vec<Option<StoredInf>>>>,
}

impl im_core::ConnectorFactory for ExternalFactory {
    fn connector(
        &self,
        cloud: &im_auth::CloudInfo,
    ) -> Result<Arc<dyn im_core::CloudConnector>, String> {
        Ok(Arc::new(External {
            inner: im_connectors::Factory::new().connector(cloud)?,
            store: self.store.clone(),
            seen_at_launch: self.seen_at_launch.clone(),
        }))
    }
}

#[tokio::test]
async fn a_create_on_a_cloud_that_makes_vms_is_recorded_before_the_launch_and_a_dummy_one_once_at_its_end()
 {
    // A cloud whose VMs live outside the IM: the create's record, with its
    // open operation, is stored before the cloud is asked for anything.
    let store = Arc::new(MemStore::default());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let factory = Arc::new(ExternalFactory {
        store: store.clone(),
        seen_at_launch: seen.clone(),
    });
    let (_, a, id) = started_with_one_create(settings(), store.clone(), factory).await;
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 1, "one launch");
    let before = seen[0].as_ref().expect("recorded before the launch");
    assert_eq!(before.version, 1);
    assert!(
        before.data.contains_key("im_op"),
        "{:?}",
        before.data.keys()
    );
    let after = store.rows.lock().unwrap().get(&id).cloned().unwrap();
    assert_eq!(after.version, 2, "the result is a second write");
    assert!(!after.data.contains_key("im_op"));
    assert_eq!(after.vms.len(), 1);

    // The Dummy cloud makes nothing outside: one write, at the end, with the
    // VM and no open operation.
    let store = Arc::new(MemStore::default());
    let m = manager_on(store.clone()).await;
    let id = m
        .create_infrastructure(dep(NO_CTXT), &a, false)
        .await
        .unwrap();
    let row = store.rows.lock().unwrap().get(&id).cloned().unwrap();
    assert_eq!(row.version, 1, "written once");
    assert!(!row.data.contains_key("im_op"));
    assert_eq!(row.vms.len(), 1);
    assert_eq!(m.get_state(&id, &a).await.unwrap().state, "configured");
    assert_eq!(m.list_infrastructures(&a, None).await.unwrap(), vec![id]);
}
