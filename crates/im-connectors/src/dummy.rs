//! The Dummy cloud: VMs that exist only in the IM's records (spec core.md
//! §5.3). It accepts any image, never fails, and never runs anything; used for
//! tests and demos. Unlike the reference, its VM ids are unique.

use async_trait::async_trait;
use im_auth::{AuthData, CloudInfo};
use im_core::{CloudConnector, LaunchedVm, VmRef, VmStatus, vm_state};
use im_radl::{Radl, System, Value};
use serde_json::{Value as J, json};

/// The Dummy connector.
#[derive(Debug, Clone)]
pub struct Dummy {
    cloud: CloudInfo,
}

impl Dummy {
    /// A connector for one Dummy cloud of the auth data.
    pub fn new(cloud: CloudInfo) -> Self {
        Dummy { cloud }
    }
}

fn set_str(s: &mut System, name: &str, value: &str) {
    s.features
        .set_value(name, Value::Str(value.to_string()), "");
}

#[async_trait]
impl CloudConnector for Dummy {
    fn cloud(&self) -> &CloudInfo {
        &self.cloud
    }

    /// Dummy VMs exist only in the IM's records.
    fn launch_is_external(&self) -> bool {
        false
    }

    /// Any system, image or none: the system itself, with a default user name.
    fn concrete_systems(&self, system: &System, _auth: &AuthData) -> Vec<System> {
        let mut s = system.clone();
        if s.features.get("disk.0.os.credentials.username").is_none() {
            set_str(&mut s, "disk.0.os.credentials.username", "username");
        }
        vec![s]
    }

    /// VMs whose info is the *requested* RADL (as the reference), running at once,
    /// with IP `10.0.0.1` on interface 0 and the credentials `username`/`password`.
    async fn launch(
        &self,
        _inf_id: &str,
        _radl: &Radl,
        requested: &Radl,
        num: usize,
        _auth: &AuthData,
    ) -> Vec<Result<LaunchedVm, String>> {
        (0..num)
            .map(|_| {
                let mut info = requested.clone();
                if let Some(s) = info.systems.first_mut() {
                    set_str(s, "provider.type", "Dummy");
                    set_str(s, "net_interface.0.ip", "10.0.0.1");
                    set_str(s, "disk.0.os.credentials.username", "username");
                    set_str(s, "disk.0.os.credentials.password", "password");
                    set_str(s, "state", vm_state::RUNNING);
                }
                Ok(LaunchedVm {
                    // IM-compat: the reference uses centiseconds since the epoch,
                    // which repeat for VMs launched together; a UUID never does.
                    cloud_id: im_core::unique_uuid().simple().to_string(),
                    info,
                    state: vm_state::RUNNING.into(),
                })
            })
            .collect()
    }

    async fn update_vm_info(&self, vm: &VmRef, _auth: &AuthData) -> Result<VmStatus, String> {
        let state = vm
            .info
            .systems
            .first()
            .and_then(|s| s.features.get_str("state"))
            .unwrap_or(vm_state::RUNNING)
            .to_string();
        Ok(VmStatus { state, info: None })
    }

    /// Takes `cpu.count` and `memory.size` from the request.
    async fn alter_vm(
        &self,
        vm: &VmRef,
        system: &System,
        _auth: &AuthData,
    ) -> Result<System, String> {
        let mut s = vm
            .info
            .systems
            .first()
            .cloned()
            .ok_or_else(|| "the VM has no system".to_string())?;
        if let Some(n) = system.features.get_number("cpu.count", "") {
            s.features.set_value("cpu.count", Value::Number(n), "");
        }
        match system.features.get_number("memory.size", "M") {
            Some(m) => s.features.set_value("memory.size", Value::Number(m), "M"),
            None if system.features.get("cpu.count").is_none() => {
                return Err("No memory.size nor cpu.count given".into());
            }
            None => {}
        }
        Ok(s)
    }

    async fn finalize(&self, _vm: &VmRef, _last: bool, _auth: &AuthData) -> Result<(), String> {
        Ok(())
    }

    async fn start(&self, _vm: &VmRef, _auth: &AuthData) -> Result<(), String> {
        Ok(())
    }

    async fn stop(&self, _vm: &VmRef, _auth: &AuthData) -> Result<(), String> {
        Ok(())
    }

    async fn reboot(&self, _vm: &VmRef, _auth: &AuthData) -> Result<(), String> {
        Ok(())
    }

    async fn create_snapshot(
        &self,
        _vm: &VmRef,
        _disk: u32,
        image_name: &str,
        _auto_delete: bool,
        _auth: &AuthData,
    ) -> Result<String, String> {
        Ok(format!("mock0://linux.for.ev.er/{image_name}"))
    }

    async fn delete_image(&self, _url: &str, _auth: &AuthData) -> Result<(), String> {
        Ok(())
    }

    async fn list_images(
        &self,
        _auth: &AuthData,
        _filters: &[(String, String)],
    ) -> Result<Vec<J>, String> {
        Ok(vec![
            json!({"uri": "mock0://linux.for.ev.er/image1", "name": "Image Name1"}),
            json!({"uri": "mock0://linux.for.ev.er/image2", "name": "Image Name2"}),
        ])
    }

    async fn get_quotas(&self, _auth: &AuthData) -> Result<J, String> {
        let q = json!({"used": 1, "limit": 10});
        Ok(json!({
            "cores": q, "ram": q, "instances": q, "floating_ips": q, "security_groups": q
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use im_radl::Number;

    fn dummy() -> Dummy {
        Dummy::new(
            CloudInfo::from_credential(0, &{
                let mut c = im_auth::Credential::new();
                c.insert("type", "Dummy");
                c.insert("id", "dummy");
                c
            })
            .expect("a Dummy cloud"),
        )
    }

    fn no_auth() -> AuthData {
        AuthData::new(Vec::new()).expect("empty auth data is valid")
    }

    #[tokio::test]
    async fn launched_vms_run_at_once_with_unique_ids() {
        let radl = im_radl::parse_radl("system s (cpu.count = 1)\ndeploy s 3").expect("valid");
        let vms = dummy().launch("i", &radl, &radl, 3, &no_auth()).await;
        let ids: std::collections::HashSet<String> = vms
            .iter()
            .map(|v| v.as_ref().expect("dummy never fails").cloud_id.clone())
            .collect();
        assert_eq!(ids.len(), 3);
        let info = &vms[0].as_ref().expect("launched").info;
        assert_eq!(
            info.systems[0].features.get_str("net_interface.0.ip"),
            Some("10.0.0.1")
        );
    }

    #[tokio::test]
    async fn alter_takes_cpu_and_memory_from_the_request() {
        let radl =
            im_radl::parse_radl("system s (cpu.count = 1 and memory.size = 1G)").expect("valid");
        let vm = VmRef {
            inf_id: "i".into(),
            im_id: 0,
            cloud_id: "x".into(),
            info: radl.clone(),
        };
        let req =
            im_radl::parse_radl("system s (cpu.count = 4 and memory.size = 2G)").expect("valid");
        let s = dummy()
            .alter_vm(&vm, &req.systems[0], &no_auth())
            .await
            .expect("dummy alters");
        assert_eq!(s.features.get_number("cpu.count", ""), Some(Number::Int(4)));
        assert_eq!(
            s.features.get_number("memory.size", "M"),
            Some(Number::Int(2000))
        );
    }
}
