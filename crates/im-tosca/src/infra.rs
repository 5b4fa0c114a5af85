//! What the converter needs to know about a live infrastructure: its VMs by
//! requested system name (for scaling deltas, removal ids and outputs) and its
//! stored RADL (for the hybrid private-network check). The service fills these
//! views from its own records; the crate never sees the service's types.

use indexmap::IndexMap;

/// One live (not destroyed) VM of an infrastructure.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct VmView {
    /// The IM id of the VM (the `/vms/<n>` number).
    pub im_id: i64,
    /// The cloud's id of the VM (`tosca_id`).
    pub cloud_id: String,
    /// The system name the VM was requested as (the RADL `deploy` system).
    pub system_name: String,
    /// When it was created (any increasing measure; oldest VMs are removed first).
    pub creation: f64,
    /// Its public IP, if any.
    pub public_ip: Option<String>,
    /// Its private IP, if any.
    pub private_ip: Option<String>,
    /// The user of its credentials.
    pub user: Option<String>,
    /// Its password, if any.
    pub password: Option<String>,
    /// Its private key, if any.
    pub private_key: Option<String>,
    /// Its contextualization log.
    pub cont_out: String,
    /// Its TLS certificates: DNS name → `{cert, key}`.
    pub tls_certificates: IndexMap<String, serde_json::Value>,
    /// `disk.0.image.url` of its system (the hybrid-cloud check groups VMs by
    /// the image's scheme and host).
    pub image_url: Option<String>,
    /// The network ids of its interfaces, in interface order, with whether each
    /// network is public.
    pub networks: Vec<(String, bool)>,
    /// The DNS name of its interface 0 (`net_interface.0.dns_name`, else
    /// `net_interface.0.dns.0.name`): the first endpoint of a published container.
    pub dns_name: Option<String>,
    /// The opened ports of the networks it is connected to.
    pub outports: Vec<VmPort>,
    /// The cloud it runs on (FaaS functions read their endpoint and
    /// credentials from it).
    pub cloud: Option<CloudView>,
    /// `function.api_url` of its system (AWS Lambda functions).
    pub function_api_url: Option<String>,
}

/// One opened port of a VM's network.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct VmPort {
    /// Whether the network is public.
    pub public: bool,
    /// The port seen from outside.
    pub remote: u32,
    /// The port on the VM (or container).
    pub local: u32,
}

/// The cloud a VM runs on, as far as outputs need it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CloudView {
    /// The connector type (`OSCAR`, `Lambda`, `OpenStack`, …).
    pub kind: String,
    /// The cloud's URL (an OSCAR cluster's endpoint).
    pub url: Option<String>,
    /// The user of the cloud credentials.
    pub username: Option<String>,
    /// The password of the cloud credentials.
    pub password: Option<String>,
    /// The token of the cloud credentials.
    pub token: Option<String>,
}

/// A live infrastructure, as seen by the converter.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct InfraView {
    /// Its live VMs, in creation order.
    pub vms: Vec<VmView>,
}

impl InfraView {
    /// The live VMs requested as `system`, in creation order.
    pub fn vms_of(&self, system: &str) -> Vec<&VmView> {
        self.vms
            .iter()
            .filter(|v| v.system_name == system)
            .collect()
    }

    /// The system names of the live VMs, in order of first appearance.
    pub fn system_names(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        for v in &self.vms {
            if !out.contains(&v.system_name.as_str()) {
                out.push(&v.system_name);
            }
        }
        out
    }
}
