//! Infrastructures and VMs as the core holds them, and their JSON form: the
//! reference's export `data` document (`InfrastructureInfo.serialize`), which is
//! also what the store keeps, so that an export of the Python IM imports here
//! and back.

use im_auth::{CloudInfo, ImUser};
use im_radl::{Radl, parse_radl};
use indexmap::IndexMap;
use serde_json::{Map, Value, json};

use crate::error::ImError;
use crate::store::{StoredInf, StoredVm};

/// The state strings of a VM.
pub mod vm_state {
    /// Launched, not running yet.
    pub const PENDING: &str = "pending";
    /// Running; contextualization not finished.
    pub const RUNNING: &str = "running";
    /// Stopped by the user.
    pub const STOPPED: &str = "stopped";
    /// Powered off or destroyed.
    pub const OFF: &str = "off";
    /// Failed (launch or cloud error).
    pub const FAILED: &str = "failed";
    /// Running and contextualized.
    pub const CONFIGURED: &str = "configured";
    /// Running, contextualization failed.
    pub const UNCONFIGURED: &str = "unconfigured";
    /// No news from the cloud for too long.
    pub const UNKNOWN: &str = "unknown";
    /// Being destroyed.
    pub const DELETING: &str = "deleting";
}

/// Seconds since the epoch.
pub fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// A UUID (version 4 in form) that no other call in this process returns,
/// for ids that must be unique but need not be unpredictable (request ids,
/// the Dummy cloud's VM ids): a random key drawn once per process, then a
/// counter, instead of a `getrandom` system call per id. Never for secrets.
pub fn unique_uuid() -> uuid::Uuid {
    static KEY: std::sync::OnceLock<[u8; 8]> = std::sync::OnceLock::new();
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let key = KEY.get_or_init(|| {
        let b = uuid::Uuid::new_v4().into_bytes();
        [b[0], b[1], b[2], b[3], b[4], b[5], b[7], b[9]]
    });
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(key);
    // The counter's top two bits go to the variant: unique below 2^62 ids.
    bytes[8..].copy_from_slice(&n.to_be_bytes());
    uuid::Builder::from_random_bytes(bytes).into_uuid()
}

/// One VM of an infrastructure.
#[derive(Debug, Clone)]
pub struct Vm {
    /// IM id: the position in the infrastructure's VM list, never reused.
    pub im_id: i64,
    /// The IM id it had while being created.
    pub creation_im_id: i64,
    /// The cloud's id (`None` for a failed launch).
    pub cloud_id: Option<String>,
    /// Cloud state (`pending`, `running`, …) before the contextualization overlay.
    pub state: String,
    /// Last successful refresh from the cloud (seconds since the epoch).
    pub last_update: i64,
    /// Destroyed.
    pub destroy: bool,
    /// Being destroyed.
    pub deleting: bool,
    /// Being created.
    pub creating: bool,
    /// The cloud it runs on.
    pub cloud: CloudInfo,
    /// The VM's RADL as observed (networks + its concrete system).
    pub info: Radl,
    /// The RADL the user asked for this VM.
    pub requested_radl: Radl,
    /// Contextualization log.
    pub cont_out: String,
    /// Contextualization result: `None` running/not run, `Some(true)` ok.
    pub configured: Option<bool>,
    /// Launch error text (failed VMs).
    pub error_msg: Option<String>,
    /// Creation time.
    pub creation_date: i64,
    /// Fields written by other implementations, kept as they came.
    pub extra: Map<String, Value>,
}

impl Vm {
    /// The name of the VM's system (the first system of its RADL).
    pub fn system_name(&self) -> Option<&str> {
        self.info.systems.first().map(|s| s.name.as_str())
    }

    /// The public state string: the cloud state with the contextualization
    /// overlay (`running` → `configured`/`unconfigured`). As in the reference,
    /// a VM of an infrastructure whose contextualization failed
    /// (`inf_configured == Some(false)`) reads `unconfigured`.
    pub fn public_state(&self, inf_configured: Option<bool>) -> &str {
        if self.destroy {
            return vm_state::OFF;
        }
        if self.deleting {
            return vm_state::DELETING;
        }
        match self.state.as_str() {
            vm_state::RUNNING | vm_state::CONFIGURED | vm_state::UNCONFIGURED => {
                let configured = if inf_configured == Some(false) {
                    Some(false)
                } else {
                    self.configured
                };
                match configured {
                    None => vm_state::RUNNING,
                    Some(true) => vm_state::CONFIGURED,
                    Some(false) => vm_state::UNCONFIGURED,
                }
            }
            s => s,
        }
    }

    /// The VM's RADL with its `state` feature set (what `GET …/vms/<id>` shows).
    pub fn info_with_state(&self, inf_configured: Option<bool>) -> Radl {
        let mut info = self.info.clone();
        let state = self.public_state(inf_configured).to_string();
        if let Some(s) = info.systems.first_mut() {
            s.features
                .set_value("state", im_radl::Value::Str(state), "");
        }
        info
    }

    fn to_json(&self) -> Map<String, Value> {
        // Sized for the 17 fields: no regrowth of the map on the create path.
        let mut m = Map::with_capacity(17 + self.extra.len());
        m.insert(
            "id".into(),
            self.cloud_id.clone().map_or(Value::Null, Value::from),
        );
        m.insert("im_id".into(), json!(self.im_id));
        m.insert("creation_im_id".into(), json!(self.creation_im_id));
        m.insert("state".into(), json!(self.state));
        m.insert("last_update".into(), json!(self.last_update));
        m.insert("destroy".into(), json!(self.destroy));
        m.insert("deleting".into(), json!(self.deleting));
        m.insert("creating".into(), json!(self.creating));
        m.insert(
            "cloud".into(),
            serde_json::to_value(&self.cloud).unwrap_or(Value::Null),
        );
        m.insert("info".into(), json!(self.info.to_string()));
        m.insert(
            "requested_radl".into(),
            json!(self.requested_radl.to_string()),
        );
        m.insert("cont_out".into(), json!(self.cont_out));
        m.insert("configured".into(), json!(self.configured));
        m.insert("ctxt_pid".into(), Value::Null);
        m.insert("ssh_connect_errors".into(), json!(0));
        m.insert(
            "error_msg".into(),
            self.error_msg.clone().map_or(Value::Null, Value::from),
        );
        m.insert("creation_date".into(), json!(self.creation_date));
        for (k, v) in &self.extra {
            m.entry(k.clone()).or_insert_with(|| v.clone());
        }
        m
    }

    fn from_json(m: &Map<String, Value>, fallback_id: i64) -> Result<Vm, String> {
        let radl = |key: &str| -> Result<Radl, String> {
            match m.get(key) {
                Some(Value::String(t)) => parse_radl(t).map_err(|e| format!("VM {key}: {e}")),
                _ => Ok(Radl::new()),
            }
        };
        let int = |key: &str| m.get(key).and_then(Value::as_f64).map(|f| f as i64);
        let boolean = |key: &str| m.get(key).and_then(Value::as_bool).unwrap_or(false);
        let im_id = int("im_id").unwrap_or(fallback_id);
        let cloud: CloudInfo = match m.get("cloud") {
            Some(c) if !c.is_null() => {
                serde_json::from_value(c.clone()).map_err(|e| format!("VM cloud: {e}"))?
            }
            _ => return Err("VM without 'cloud'".into()),
        };
        const KNOWN: [&str; 17] = [
            "id",
            "im_id",
            "creation_im_id",
            "state",
            "last_update",
            "destroy",
            "deleting",
            "creating",
            "cloud",
            "info",
            "requested_radl",
            "cont_out",
            "configured",
            "ctxt_pid",
            "ssh_connect_errors",
            "error_msg",
            "creation_date",
        ];
        let extra = m
            .iter()
            .filter(|(k, _)| !KNOWN.contains(&k.as_str()) && k.as_str() != "inf")
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        Ok(Vm {
            im_id,
            creation_im_id: int("creation_im_id").unwrap_or(im_id),
            cloud_id: match m.get("id") {
                Some(Value::String(s)) => Some(s.clone()),
                Some(Value::Number(n)) => Some(n.to_string()),
                _ => None,
            },
            state: m
                .get("state")
                .and_then(Value::as_str)
                .unwrap_or(vm_state::UNKNOWN)
                .to_string(),
            last_update: int("last_update").unwrap_or(0),
            destroy: boolean("destroy"),
            deleting: false,
            creating: false,
            cloud,
            info: radl("info")?,
            requested_radl: radl("requested_radl")?,
            cont_out: m
                .get("cont_out")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
            // The reference turns an unfinished contextualization into a failure on load.
            configured: Some(
                m.get("configured")
                    .and_then(Value::as_bool)
                    .unwrap_or(false),
            ),
            error_msg: m
                .get("error_msg")
                .and_then(Value::as_str)
                .map(str::to_string),
            creation_date: int("creation_date").unwrap_or(0),
            extra,
        })
    }
}

/// Owners as the reference stores them: IM auth items with `admin`.
pub fn owners_to_json(owners: &[ImUser]) -> Value {
    Value::Array(
        owners
            .iter()
            .map(|o| {
                let mut m = Map::new();
                m.insert("type".into(), json!("InfrastructureManager"));
                m.insert("username".into(), json!(o.username));
                if let Some(p) = &o.password {
                    m.insert("password".into(), json!(p));
                }
                if let Some(t) = &o.token {
                    m.insert("token".into(), json!(t));
                }
                m.insert("admin".into(), json!(o.admin));
                Value::Object(m)
            })
            .collect(),
    )
}

/// Owners from the reference's `auth` list (items of other types skipped).
pub fn owners_from_json(v: Option<&Value>) -> Vec<ImUser> {
    v.and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .filter(|i| {
                    i.get("type")
                        .and_then(Value::as_str)
                        .is_none_or(|t| t == "InfrastructureManager")
                })
                .filter_map(|i| serde_json::from_value::<ImUser>(i.clone()).ok())
                .collect()
        })
        .unwrap_or_default()
}

/// One infrastructure.
#[derive(Debug, Clone)]
pub struct Infrastructure {
    /// Id (a UUID v1 string, as the reference makes them).
    pub id: String,
    /// Version in the store (compare-and-set).
    pub version: i64,
    /// Owners.
    pub owners: Vec<ImUser>,
    /// The merged RADL of every request.
    pub radl: Radl,
    /// Every VM, destroyed ones included; index = IM id.
    pub vms: Vec<Vm>,
    /// IM id of the contextualization master.
    pub vm_master: Option<i64>,
    /// Private networks pinned to a cloud id.
    pub private_networks: IndexMap<String, String>,
    /// Destroyed.
    pub deleted: bool,
    /// Being destroyed.
    pub deleting: bool,
    /// Resources being added.
    pub adding: bool,
    /// Contextualization result of the infrastructure.
    pub configured: Option<bool>,
    /// Whether Ansible was installed on the master.
    pub ansible_configured: Option<bool>,
    /// Infrastructure-level contextualization log.
    pub cont_out: String,
    /// `{"TOSCA": <yaml>}` when created from TOSCA.
    pub extra_info: Map<String, Value>,
    /// Images to delete with the infrastructure.
    pub snapshots: Vec<String>,
    /// Creation time.
    pub creation_date: i64,
    /// The long operation open on it, recorded before the operation starts
    /// and cleared by the write that ends it (see `crate::work`); stored as
    /// `im_op`, never exported.
    pub op: Option<Map<String, Value>>,
}

impl Infrastructure {
    /// A new, empty infrastructure owned by `owners`.
    pub fn new(id: String, owners: Vec<ImUser>) -> Self {
        Infrastructure {
            id,
            version: 0,
            owners,
            radl: Radl::new(),
            vms: Vec::new(),
            vm_master: None,
            private_networks: IndexMap::new(),
            deleted: false,
            deleting: false,
            adding: false,
            configured: None,
            ansible_configured: None,
            cont_out: String::new(),
            extra_info: Map::new(),
            snapshots: Vec::new(),
            creation_date: now_secs(),
            op: None,
        }
    }

    /// Appends a line to the contextualization log, as the reference does
    /// (`<YYYY-MM-DD HH:MM:SS.ffffff>: msg`).
    pub fn add_cont_msg(&mut self, msg: &str) {
        self.cont_out
            .push_str(&format!("{}: {}\n", crate::time::timestamp_micros(), msg));
    }

    /// The VMs that are not destroyed.
    pub fn live_vms(&self) -> impl Iterator<Item = &Vm> {
        self.vms.iter().filter(|v| !v.destroy)
    }

    /// The infrastructure's fields in the reference's export form, without
    /// `vm_list` and `auth`.
    fn fields_json(&self) -> Map<String, Value> {
        // The 14 fields and the operation's record (see `to_stored`).
        let mut m = Map::with_capacity(15);
        m.insert("id".into(), json!(self.id));
        m.insert("radl".into(), json!(self.radl.to_string()));
        m.insert("vm_master".into(), json!(self.vm_master));
        m.insert(
            "private_networks".into(),
            serde_json::to_value(&self.private_networks).unwrap_or_else(|_| json!({})),
        );
        m.insert("deleted".into(), json!(self.deleted));
        m.insert("configured".into(), json!(self.configured));
        m.insert("ansible_configured".into(), json!(self.ansible_configured));
        m.insert("cont_out".into(), json!(self.cont_out));
        m.insert("extra_info".into(), Value::Object(self.extra_info.clone()));
        m.insert("snapshots".into(), json!(self.snapshots));
        m.insert("creation_date".into(), json!(self.creation_date));
        m.insert("system_counter".into(), json!(0));
        m.insert("vm_id".into(), json!(self.vms.len()));
        m
    }

    /// The reference's export document (`InfrastructureInfo.serialize`).
    pub fn to_export_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("id".into(), json!(self.id));
        m.insert("auth".into(), owners_to_json(&self.owners));
        for (k, v) in self.fields_json() {
            if k != "id" {
                m.insert(k, v);
            }
        }
        m.insert(
            "vm_list".into(),
            Value::Array(
                self.vms
                    .iter()
                    .map(|v| Value::Object(v.to_json()))
                    .collect(),
            ),
        );
        Value::Object(m)
    }

    /// Reads an export document (ours or the reference's). Owners come from
    /// the document's `auth` (the importer replaces them).
    pub fn from_export_json(v: &Value) -> Result<Infrastructure, ImError> {
        let bad = |msg: String| {
            ImError::failed(format!(
                "Error importing the infrastructure, incorrect data: {msg}"
            ))
        };
        let m = v
            .as_object()
            .ok_or_else(|| bad("not a JSON object".into()))?;
        let vm_list = m
            .get("vm_list")
            .and_then(Value::as_array)
            .ok_or_else(|| bad("'vm_list'".into()))?;
        let id = m
            .get("id")
            .and_then(Value::as_str)
            .ok_or_else(|| bad("'id'".into()))?
            .to_string();
        let owners = owners_from_json(m.get("auth"));
        let mut inf = Infrastructure::from_fields(id, owners, m).map_err(bad)?;
        for (i, vm) in vm_list.iter().enumerate() {
            let vm = vm
                .as_object()
                .ok_or_else(|| bad("VM is not an object".into()))?;
            inf.vms.push(Vm::from_json(vm, i as i64).map_err(bad)?);
        }
        Ok(inf)
    }

    fn from_fields(
        id: String,
        owners: Vec<ImUser>,
        m: &Map<String, Value>,
    ) -> Result<Infrastructure, String> {
        let mut inf = Infrastructure::new(id, owners);
        if let Some(Value::String(t)) = m.get("radl") {
            inf.radl = parse_radl(t).map_err(|e| format!("radl: {e}"))?;
        }
        inf.vm_master = m.get("vm_master").and_then(Value::as_i64);
        if let Some(Value::Object(p)) = m.get("private_networks") {
            inf.private_networks = p
                .iter()
                .filter_map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_string())))
                .collect();
        }
        inf.deleted = m.get("deleted").and_then(Value::as_bool).unwrap_or(false);
        inf.configured = m.get("configured").and_then(Value::as_bool);
        inf.ansible_configured = m.get("ansible_configured").and_then(Value::as_bool);
        inf.cont_out = m
            .get("cont_out")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        if let Some(Value::Object(e)) = m.get("extra_info") {
            inf.extra_info = e.clone();
        }
        if let Some(Value::Array(s)) = m.get("snapshots") {
            inf.snapshots = s
                .iter()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect();
        }
        inf.creation_date = m
            .get("creation_date")
            .and_then(Value::as_f64)
            .map_or_else(now_secs, |f| f as i64);
        Ok(inf)
    }

    /// The store record.
    pub fn to_stored(&self) -> StoredInf {
        StoredInf {
            id: self.id.clone(),
            version: self.version,
            deleted: self.deleted,
            owners: self.owners.clone(),
            created_at: self.creation_date,
            data: {
                let mut data = self.fields_json();
                if let Some(op) = &self.op {
                    data.insert("im_op".into(), Value::Object(op.clone()));
                }
                data
            },
            vms: self
                .vms
                .iter()
                .map(|v| StoredVm {
                    im_id: v.im_id,
                    data: v.to_json(),
                })
                .collect(),
        }
    }

    /// Rebuilds an infrastructure from its store record.
    pub fn from_stored(s: &StoredInf) -> Result<Infrastructure, String> {
        let mut inf = Infrastructure::from_fields(s.id.clone(), s.owners.clone(), &s.data)?;
        inf.version = s.version;
        inf.deleted = s.deleted;
        inf.creation_date = s.created_at;
        for vm in &s.vms {
            let mut v = Vm::from_json(&vm.data, vm.im_id)?;
            // Unlike an import, a reload keeps the contextualization result.
            v.configured = vm.data.get("configured").and_then(Value::as_bool);
            inf.vms.push(v);
        }
        // An operation cut short by a crash keeps its record: the instance
        // that takes the infrastructure's lease resumes or ends it
        // (`crate::work`); meanwhile a destroy reads `deleting`.
        if let Some(Value::Object(op)) = s.data.get("im_op") {
            inf.deleting = op.get("kind").and_then(Value::as_str) == Some("destroy");
            inf.op = Some(op.clone());
        } else if !inf.deleted && inf.vms.is_empty() && inf.configured.is_none() {
            // A create cut short before operations were recorded (a database
            // of an earlier version): nothing will ever finish it.
            inf.configured = Some(false);
            inf.add_cont_msg(
                "Error creating the infrastructure: interrupted by a stop of the service.",
            );
        }
        Ok(inf)
    }
}

#[cfg(test)]
mod tests {
    use super::unique_uuid;

    #[test]
    fn unique_uuids_are_version_4_and_never_repeat_in_a_process() {
        let ids: Vec<uuid::Uuid> = (0..1000).map(|_| unique_uuid()).collect();
        let distinct: std::collections::HashSet<_> = ids.iter().collect();
        assert_eq!(distinct.len(), ids.len());
        for id in &ids {
            assert_eq!(id.get_version_num(), 4, "{id}");
            assert_eq!(id.get_variant(), uuid::Variant::RFC4122, "{id}");
        }
        // One process key: ids differ in their counter half only.
        assert_eq!(ids[0].as_bytes()[..6], ids[999].as_bytes()[..6]);
    }
}
