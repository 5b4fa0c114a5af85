//! The cloud side: the `CloudConnector` trait every cloud implements, and the
//! factory that builds one from a cloud of the auth data. Implementations live
//! in `im-connectors`; they return plain data and the core applies it.

use async_trait::async_trait;
use im_auth::{AuthData, CloudInfo};
use im_radl::{Radl, System};
use serde_json::Value;

/// The VM a connector acts on: what it needs to find it in the cloud.
#[derive(Debug, Clone)]
pub struct VmRef {
    /// Infrastructure id.
    pub inf_id: String,
    /// IM id.
    pub im_id: i64,
    /// The cloud's id for the VM.
    pub cloud_id: String,
    /// The VM's current RADL (networks + its system).
    pub info: Radl,
}

/// A VM a launch produced.
#[derive(Debug, Clone)]
pub struct LaunchedVm {
    /// The cloud's id for the VM.
    pub cloud_id: String,
    /// The VM's RADL as the cloud made it (networks + the system, with IPs,
    /// credentials and `provider.*` features).
    pub info: Radl,
    /// Cloud state right after launch (`pending`, `running`, …).
    pub state: String,
}

/// What a refresh observed.
#[derive(Debug, Clone)]
pub struct VmStatus {
    /// Cloud state: `pending`, `running`, `stopped`, `off`, `failed`, `unknown`.
    pub state: String,
    /// The updated RADL, when the cloud changed it.
    pub info: Option<Radl>,
}

/// One cloud endpoint with the credentials of one request.
#[async_trait]
pub trait CloudConnector: Send + Sync {
    /// The cloud this connector talks to.
    fn cloud(&self) -> &CloudInfo;

    /// The concrete systems this cloud can run for a requested system (empty:
    /// it cannot). The core merges each into the request and scores them.
    fn concrete_systems(&self, system: &System, auth: &AuthData) -> Vec<System>;

    /// Whether `launch` makes something outside the IM's own records (a VM in
    /// a cloud, which a crash must not orphan). A create records itself
    /// before such a launch; when every cloud of a request launches nothing
    /// outside (the Dummy cloud), a synchronous create is written once, when
    /// it ends.
    fn launch_is_external(&self) -> bool {
        true
    }

    /// Launches `num` VMs of the single system of `radl`; one result per VM.
    async fn launch(
        &self,
        inf_id: &str,
        radl: &Radl,
        requested: &Radl,
        num: usize,
        auth: &AuthData,
    ) -> Vec<Result<LaunchedVm, String>>;

    /// Reads the VM's state from the cloud.
    async fn update_vm_info(&self, vm: &VmRef, auth: &AuthData) -> Result<VmStatus, String>;

    /// Resizes a VM to the system given; returns its new system.
    async fn alter_vm(
        &self,
        vm: &VmRef,
        system: &System,
        auth: &AuthData,
    ) -> Result<System, String>;

    /// Deletes a VM (and the shared resources when `last`).
    async fn finalize(&self, vm: &VmRef, last: bool, auth: &AuthData) -> Result<(), String>;

    /// Starts a stopped VM.
    async fn start(&self, vm: &VmRef, auth: &AuthData) -> Result<(), String>;

    /// Stops a VM.
    async fn stop(&self, vm: &VmRef, auth: &AuthData) -> Result<(), String>;

    /// Reboots a VM.
    async fn reboot(&self, vm: &VmRef, auth: &AuthData) -> Result<(), String>;

    /// Snapshots a disk; returns the new image URL.
    async fn create_snapshot(
        &self,
        vm: &VmRef,
        disk: u32,
        image_name: &str,
        auto_delete: bool,
        auth: &AuthData,
    ) -> Result<String, String>;

    /// Deletes an image made by `create_snapshot`.
    async fn delete_image(&self, url: &str, auth: &AuthData) -> Result<(), String>;

    /// The images of the cloud (`[{"uri", "name", …}]`).
    async fn list_images(
        &self,
        auth: &AuthData,
        filters: &[(String, String)],
    ) -> Result<Vec<Value>, String>;

    /// The quotas (`{"cores": {"used", "limit"}, …}`).
    async fn get_quotas(&self, auth: &AuthData) -> Result<Value, String>;
}

/// Builds connectors by cloud type.
pub trait ConnectorFactory: Send + Sync + 'static {
    /// A connector for `cloud`, or `Cloud provider not supported: <type> …`.
    fn connector(&self, cloud: &CloudInfo) -> Result<std::sync::Arc<dyn CloudConnector>, String>;
}
