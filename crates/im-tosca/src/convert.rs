//! TOSCA topology → RADL, the reference's `Tosca.to_radl`: networks first, then
//! every node by its root type (Compute → `system` + `deploy`, software → a
//! `configure` on its host, containers and functions → their own systems),
//! contextualization steps from the dependency levels, deploy ordering, the
//! hybrid-cloud private network check and the final network completion.

use std::sync::Arc;

use im_radl::{
    Ansible, Configure, Conflict, Contextualize, ContextualizeItem, Deploy, Description, Feature,
    FeatureItem, Features, Missing, Network, Number, Operator, Radl, System,
};
use indexmap::IndexMap;

use crate::error::ToscaError;
use crate::fetch::Fetcher;
use crate::functions::{Ctx, Eval};
use crate::infra::InfraView;
use crate::recipes;
use crate::template::{Cap, NodeTpl, Topology};
use crate::types::CAPABILITY;
use crate::units::size_in_bytes;
use crate::yaml::{Map, Value};

/// The result of a conversion.
#[derive(Debug, Clone, PartialEq)]
pub struct Conversion {
    /// The RADL document.
    pub radl: Radl,
    /// IM ids of the VMs to remove first (scaling down on AddResource).
    pub removal_list: Vec<i64>,
}

pub(crate) fn err(msg: impl Into<String>) -> ToscaError {
    ToscaError::convert(msg)
}

/// A RADL value for a TOSCA value (lists become string lists, maps their
/// Python text, booleans `True`/`False` as the reference's `str()` would).
pub(crate) fn radl_value(v: &Value) -> im_radl::Value {
    match v {
        Value::Int(i) => im_radl::Value::Number(Number::Int(*i)),
        Value::Float(f) => im_radl::Value::Number(Number::Float(*f)),
        Value::Str(s) => im_radl::Value::Str(s.clone()),
        Value::List(l) => im_radl::Value::List(l.iter().map(Value::py_str).collect()),
        other => im_radl::Value::Str(other.py_str()),
    }
}

pub(crate) fn set(f: &mut Features, name: &str, v: im_radl::Value, unit: &str) {
    f.set_value(name, v, unit);
}

pub(crate) fn set_str(f: &mut Features, name: &str, v: impl Into<String>) {
    f.set_value(name, im_radl::Value::Str(v.into()), "");
}

fn add(
    f: &mut Features,
    name: &str,
    op: Operator,
    v: im_radl::Value,
    unit: &str,
) -> Result<(), ToscaError> {
    let mut feat = Feature::new(name, op, v);
    feat.unit = unit.to_string();
    f.add(FeatureItem::Feature(feat), Conflict::Error, Missing::Other)
        .map_err(|e| err(e.message))
}

pub(crate) fn new_network(id: &str, public: bool) -> Network {
    let mut features = Features::new();
    set_str(&mut features, "outbound", if public { "yes" } else { "no" });
    Network {
        id: id.to_string(),
        reference: false,
        features,
        pos: None,
    }
}

fn num_ifaces(s: &System) -> usize {
    (0..)
        .take_while(|i| {
            s.features
                .has_feature(&format!("net_interface.{i}.connection"), false)
        })
        .count()
}

fn iface_with(s: &System, net: &str) -> Option<usize> {
    for i in 0.. {
        match s.features.get_str(&format!("net_interface.{i}.connection")) {
            Some(c) if !c.is_empty() => {
                if c == net {
                    return Some(i);
                }
            }
            _ => return None,
        }
    }
    None
}

pub(crate) fn has_public_net(radl: &Radl, system: &str) -> bool {
    let public: Vec<&str> = radl
        .networks
        .iter()
        .filter(|n| n.is_public())
        .map(|n| n.id.as_str())
        .collect();
    radl.get_system(system)
        .is_some_and(|s| s.network_ids().iter().any(|id| public.contains(id)))
}

/// The reference's `_format_outports`.
pub(crate) fn format_outports(
    ports: &[Value],
    local_to_remote: bool,
) -> Result<String, ToscaError> {
    let mut res: Vec<String> = Vec::new();
    for port in ports {
        let get = |k: &str| port.get(k).filter(|v| !v.is_null());
        let protocol = get("protocol").map_or("tcp".to_string(), Value::py_str);
        let cidr = get("remote_cidr").map_or(String::new(), |c| format!("{}-", c.py_str()));
        if let Some(range) = get("source_range").filter(|r| r.truthy()) {
            let l = range.as_list().unwrap_or_default();
            let a = l.first().map(Value::py_str).unwrap_or_default();
            let b = l.get(1).map(Value::py_str).unwrap_or_default();
            res.push(format!("{cidr}{a}:{b}/{protocol}"));
            continue;
        }
        let mut remote = get("source").cloned().unwrap_or(Value::Int(0));
        let mut local = Value::Int(0);
        if let Some(t) = get("target") {
            local = t.clone();
        } else if remote.truthy() && local_to_remote {
            local = remote.clone();
        }
        if !remote.truthy() && local.truthy() && local_to_remote {
            remote = local.clone();
        }
        if !remote.truthy() && !local.truthy() {
            return Err(err(
                "source or target port must be specified in PortSpec type.",
            ));
        }
        res.push(format!(
            "{cidr}{}/{protocol}-{}/{protocol}",
            remote.py_str(),
            local.py_str()
        ));
    }
    Ok(res.join(","))
}

fn append_outports(net: &mut Network, ports: &str) {
    let value = match net.features.get_str("outports") {
        Some(old) if !old.is_empty() => format!("{old},{ports}"),
        _ => ports.to_string(),
    };
    set_str(&mut net.features, "outports", value);
}

/// One operation to run for a node.
#[derive(Clone)]
pub(crate) struct Op<'a> {
    pub implementation: Value,
    pub inputs: Map,
    pub ctx: Ctx<'a>,
}

fn op_from<'a>(def: &Value, ctx: Ctx<'a>) -> Op<'a> {
    let (implementation, inputs) = match def {
        Value::Map(m) => (
            m.get("implementation").cloned().unwrap_or(Value::Null),
            m.get("inputs")
                .and_then(Value::as_map)
                .cloned()
                .unwrap_or_default(),
        ),
        other => (other.clone(), Map::new()),
    };
    Op {
        implementation,
        inputs,
        ctx,
    }
}

const NODE_STEPS: [&str; 5] = ["create", "configure", "start", "stop", "delete"];

/// The operations of one interface map (`{op: def}`), `operations:` unwrapped.
fn iface_ops(iface: &Value) -> Vec<(String, Value)> {
    let ops = match iface.get("operations") {
        Some(o) => o,
        None => iface,
    };
    ops.as_map()
        .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default()
}

pub(crate) struct Converter<'a> {
    pub ev: Eval<'a>,
    pub topo: &'a Topology,
    pub infra: Option<&'a InfraView>,
    pub fetcher: &'a dyn Fetcher,
}

impl<'a> Converter<'a> {
    /// The reference's `_get_interfaces`: the template's operations (any
    /// interface), then the type chain's `Standard`/`Configure` ones in `steps`.
    fn node_ops(&self, node: &'a NodeTpl, steps: &[&str]) -> IndexMap<String, Op<'a>> {
        let mut out = IndexMap::new();
        if let Some(Value::Map(ifaces)) = node.tpl.get("interfaces") {
            for iface in ifaces.values() {
                for (op, def) in iface_ops(iface) {
                    let o = op_from(&def, Ctx::Node(node));
                    out.insert(op, o);
                }
            }
        }
        for t in self
            .topo
            .types
            .chain(&node.type_name, crate::types::NODE)
            .iter()
        {
            let Some(Value::Map(ifaces)) = self.topo.types.own(t, "interfaces") else {
                continue;
            };
            for iname in ["Standard", "Configure"] {
                let Some(iface) = ifaces.get(iname) else {
                    continue;
                };
                for (op, def) in iface_ops(iface) {
                    if steps.contains(&op.as_str()) && !out.contains_key(&op) {
                        let o = op_from(&def, Ctx::Node(node));
                        out.insert(op, o);
                    }
                }
            }
        }
        out
    }

    /// The `Standard` or `Configure` interface of a relationship type (with
    /// its ancestors'; `Configure` wins when both exist).
    fn rel_type_iface(&self, rel_type: &str) -> Map {
        let mut ifaces = Map::new();
        for t in self
            .topo
            .types
            .chain(rel_type, crate::types::RELATIONSHIP)
            .iter()
            .rev()
        {
            if let Some(Value::Map(own)) = self.topo.types.own(t, "interfaces") {
                for (k, v) in own {
                    ifaces.insert(k.clone(), v.clone());
                }
            }
        }
        let mut out = Map::new();
        for name in ["Standard", "Configure"] {
            if let Some(Value::Map(m)) = ifaces.get(name) {
                out = m.clone();
            }
        }
        out
    }

    /// The reference's `_get_relationships_interfaces` for `node`.
    fn rel_ops(&self, node: &'a NodeTpl) -> IndexMap<String, Op<'a>> {
        let mut res = IndexMap::new();
        for src in &self.topo.nodes {
            for rel in &src.rels {
                let Some(trgt) = self.topo.node(&rel.target) else {
                    continue;
                };
                let type_ops = self.rel_type_iface(&rel.tpl.type_name);
                let tpl_ops: Vec<(String, Value)> =
                    rel.tpl.interfaces.values().flat_map(iface_ops).collect();
                let (other, names): (&NodeTpl, &[&str]) = if src.name == node.name {
                    (
                        trgt,
                        &[
                            "pre_configure_source",
                            "post_configure_source",
                            "add_source",
                        ],
                    )
                } else if trgt.name == node.name {
                    (
                        src,
                        &[
                            "pre_configure_target",
                            "post_configure_target",
                            "add_target",
                            "target_changed",
                            "remove_target",
                        ],
                    )
                } else {
                    continue;
                };
                let other_ops = self.node_ops(other, &names[..2]);
                for name in names {
                    if let Some(o) = other_ops.get(*name) {
                        res.insert(name.to_string(), o.clone());
                    }
                    for (op, def) in &tpl_ops {
                        if op == name {
                            res.insert(name.to_string(), op_from(def, Ctx::Rel(&rel.tpl)));
                        }
                    }
                    if let Some(def) = type_ops.get(*name) {
                        res.insert(name.to_string(), op_from(def, Ctx::Rel(&rel.tpl)));
                    }
                }
            }
        }
        res
    }

    pub(crate) fn run(&self) -> Result<Conversion, ToscaError> {
        let mut radl = Radl::new();
        let mut removal = Vec::new();
        let mut items: Vec<ContextualizeItem> = Vec::new();
        for node in &self.topo.nodes {
            if self.topo.root_type(node) == "tosca.nodes.network.Network" {
                let net = self.gen_network(node)?;
                radl.networks.push(net);
            }
        }
        for node in &self.topo.nodes {
            let root = self.topo.root_type(node);
            match root.as_str() {
                "tosca.nodes.BlockStorage"
                | "tosca.nodes.network.Port"
                | "tosca.nodes.network.Network" => {}
                "tosca.nodes.im.AnsibleHost" => {
                    radl.ansible_hosts = vec![self.gen_ansible_host(node)?];
                }
                "tosca.nodes.aisprint.FaaS.Function" => {
                    crate::containers::faas(self, node, &mut radl, &mut removal, &mut items)?;
                }
                "tosca.nodes.Container.Application" => {
                    crate::containers::k8s(self, node, &mut radl, &mut removal, &mut items)?;
                }
                _ => {
                    let compute = if root == "tosca.nodes.Compute" {
                        let mut sys = self.gen_system(node)?;
                        self.add_node_nets(node, &mut radl, &mut sys)?;
                        radl.systems.push(sys);
                        let (requested, removal_list) = self.scalable(node)?;
                        let current = self.current(&node.name);
                        let delta = requested - current;
                        if delta < 0 {
                            removal.extend(self.removal_ids(&node.name, &removal_list, -delta));
                        }
                        if delta > 0 {
                            radl.deploys.push(Deploy {
                                system: node.name.clone(),
                                vm_number: Number::Int(delta),
                                cloud_id: self
                                    .placement(&node.name, "cloud_id")?
                                    .map(|v| v.py_str()),
                                pos: None,
                            });
                        }
                        Some(node)
                    } else {
                        self.topo.compute_of(node)
                    };
                    let mut ops = self.node_ops(node, &NODE_STEPS);
                    for (k, v) in self.rel_ops(node) {
                        ops.insert(k, v);
                    }
                    if let Some(conf) = self.gen_configure(node, compute, &ops)? {
                        let level = self.topo.level(node);
                        if let Some(c) = compute {
                            items.push(item(&c.name, &conf.name, level));
                        }
                        radl.configures.push(conf);
                    }
                }
            }
        }
        let mut ctxt = Contextualize::default();
        let mut map = IndexMap::new();
        for it in items {
            map.insert((it.system.clone(), it.configure.clone()), it);
        }
        ctxt.items = Some(map);
        radl.contextualize = ctxt;
        order_deploys(&mut radl);
        self.check_private_networks(&mut radl);
        let name = self.topo.metadata.get("infra_name").filter(|v| v.truthy());
        let namespace = self.topo.metadata.get("namespace").filter(|v| v.truthy());
        if name.is_some() || namespace.is_some() {
            let mut features = Features::new();
            if let Some(n) = name {
                set(&mut features, "name", radl_value(n), "");
            }
            if let Some(n) = namespace {
                set(&mut features, "namespace", radl_value(n), "");
            }
            radl.description = Some(Description {
                id: "desc".into(),
                reference: false,
                features,
                pos: None,
            });
        }
        complete_networks(&mut radl);
        check_ids(&radl)?;
        Ok(Conversion {
            radl,
            removal_list: removal,
        })
    }

    /// The number of live VMs requested as `system`.
    pub(crate) fn current(&self, system: &str) -> i64 {
        self.infra.map_or(0, |i| i.vms_of(system).len() as i64)
    }

    /// Which VMs to remove when scaling `system` down by `k`: the first `k`
    /// entries of `removal_list`, else its `k` oldest VMs.
    pub(crate) fn removal_ids(&self, system: &str, removal_list: &[Value], k: i64) -> Vec<i64> {
        let k = usize::try_from(k).unwrap_or(0);
        if !removal_list.is_empty() {
            return removal_list
                .iter()
                .take(k)
                .filter_map(|v| match v {
                    Value::Int(i) => Some(*i),
                    other => other.py_str().trim().parse().ok(),
                })
                .collect();
        }
        let Some(infra) = self.infra else {
            return Vec::new();
        };
        let mut vms = infra.vms_of(system);
        vms.sort_by(|a, b| a.creation.total_cmp(&b.creation));
        vms.iter().take(k).map(|v| v.im_id).collect()
    }

    /// The requested number of instances and the removal list of a node's
    /// `scalable` capability (count, else default_instances, else
    /// min_instances, else 1).
    pub(crate) fn scalable(&self, node: &'a NodeTpl) -> Result<(i64, Vec<Value>), ToscaError> {
        let (mut count, mut default, mut min) = (None, None, None);
        let mut removal = Vec::new();
        if let Some(cap) = node.caps.get("scalable") {
            for (name, v) in &cap.props {
                if v.is_null() {
                    continue;
                }
                let v = self.ev.resolve(v, Ctx::Node(node))?;
                match name.as_str() {
                    "count" => count = Some(v),
                    "default_instances" => default = Some(v),
                    "min_instances" => min = Some(v),
                    "removal_list" => {
                        removal = v.as_list().map(<[Value]>::to_vec).unwrap_or_default()
                    }
                    _ => {}
                }
            }
        }
        let n = count.or(default).or(min).unwrap_or(Value::Int(1));
        let n = match &n {
            Value::Int(i) => *i,
            Value::Float(f) => f.trunc() as i64,
            Value::Bool(b) => i64::from(*b),
            other => other.py_str().trim().parse().map_err(|_| {
                err(format!(
                    "The number of instances of {} must be an integer, not \"{}\".",
                    node.name,
                    other.py_str()
                ))
            })?,
        };
        Ok((n, removal))
    }

    /// A placement policy property of a node (the first policy that has it).
    pub(crate) fn placement(&self, node: &str, prop: &str) -> Result<Option<Value>, ToscaError> {
        for p in &self.topo.policies {
            if ![
                "tosca.policies.Placement",
                "tosca.policies.indigo.Placement",
            ]
            .contains(&p.type_name.as_str())
            {
                continue;
            }
            if p.targets.iter().any(|t| t == node)
                && let Some(v) = p.props.get(prop)
            {
                return Ok(Some(self.ev.resolve(v, Ctx::None)?));
            }
        }
        Ok(None)
    }

    fn gen_network(&self, node: &'a NodeTpl) -> Result<Network, ToscaError> {
        let mut net = Network {
            id: node.name.clone(),
            reference: false,
            features: Features::new(),
            pos: None,
        };
        let prop = |k: &str| -> Result<Value, ToscaError> {
            match node.props.get(k) {
                Some(v) => self.ev.resolve(v, Ctx::Node(node)),
                None => Ok(Value::Null),
            }
        };
        let f = &mut net.features;
        if prop("network_type")?
            .py_str()
            .eq_ignore_ascii_case("public")
        {
            set_str(f, "outbound", "yes");
        }
        let name = prop("network_name")?;
        if name.truthy() {
            set(f, "provider_id", radl_value(&name), "");
        }
        let cidr = prop("cidr")?;
        if cidr.truthy() {
            set(f, "cidr", radl_value(&cidr), "");
            set_str(f, "create", "yes");
        }
        let router = prop("gateway_ip")?;
        if router.truthy() {
            set(f, "router", radl_value(&router), "");
        }
        let proxy = prop("proxy_host")?;
        if proxy.truthy() {
            let cred = prop("proxy_credential")?;
            if !cred.truthy() {
                return Err(err(
                    "Property 'proxy_credential' must bet set if proxy_host is set.",
                ));
            }
            let Some(user) = cred.get("user") else {
                return Err(err("Property 'user' must bet set in proxy_credential."));
            };
            let (token_type, token) = credential_values(&cred);
            let host = match (&token, token_type.as_str()) {
                (Some(t), "password") => format!("{}:{}@{}", user.py_str(), t, proxy.py_str()),
                _ => format!("{}@{}", user.py_str(), proxy.py_str()),
            };
            set_str(f, "proxy_host", host);
            if token_type == "private_key"
                && let Some(t) = token
            {
                set_str(f, "proxy_key", t);
            }
        }
        Ok(net)
    }

    fn gen_ansible_host(&self, node: &'a NodeTpl) -> Result<Ansible, ToscaError> {
        let mut features = Features::new();
        if let Some(h) = node.props.get("host") {
            let h = self.ev.resolve(h, Ctx::Node(node))?;
            if h.truthy() {
                set(&mut features, "host", radl_value(&h), "");
            }
        }
        if let Some(c) = node.props.get("credential") {
            let c = self.ev.resolve(c, Ctx::Node(node))?;
            if let Some(u) = c.get("user") {
                set(&mut features, "credentials.username", radl_value(u), "");
            }
            let (token_type, token) = credential_values(&c);
            if let Some(t) = token {
                match token_type.as_str() {
                    "password" => set_str(&mut features, "credentials.password", t),
                    "private_key" => set_str(&mut features, "credentials.private_key", t),
                    _ => {}
                }
            }
        }
        Ok(Ansible {
            id: "ansible_host".into(),
            features,
            pos: None,
        })
    }

    fn gen_system(&self, node: &'a NodeTpl) -> Result<System, ToscaError> {
        let mut sys = System::new(node.name.clone());
        set_str(&mut sys.features, "instance_name", node.name.clone());
        for (name, v) in &node.props {
            match name.as_str() {
                "tags" if v.truthy() => {
                    let Value::Map(tags) = v else {
                        return Err(err("tags property must be a dictionary."));
                    };
                    let text = tags
                        .iter()
                        .map(|(k, v)| format!("{k}={}", v.py_str()))
                        .collect::<Vec<_>>()
                        .join(",");
                    set_str(&mut sys.features, "instance_tags", text);
                }
                "instance_name" if v.truthy() => {
                    set(&mut sys.features, "instance_name", radl_value(v), "");
                }
                _ => {}
            }
        }
        for cap_name in ["os", "host"] {
            if let Some(cap) = node.caps.get(cap_name) {
                self.cap_features(node, cap, &mut sys)?;
            }
        }
        for d in self.attached_disks(node)? {
            let f = &mut sys.features;
            let k = d.num;
            if let Some(vol) = d.volume_id.filter(Value::truthy) {
                set(f, &format!("disk.{k}.image.url"), radl_value(&vol), "");
            } else {
                if let Some(t) = d.vol_type.filter(Value::truthy) {
                    set(f, &format!("disk.{k}.type"), radl_value(&t), "");
                }
                if let Some(size) = d.size.filter(|s| !s.is_zero()) {
                    set(
                        f,
                        &format!("disk.{k}.size"),
                        im_radl::Value::Number(size),
                        "B",
                    );
                }
            }
            if let Some(dev) = d.device.filter(Value::truthy) {
                set(f, &format!("disk.{k}.device"), radl_value(&dev), "");
            }
            if let Some(loc) = d.location.filter(Value::truthy) {
                set(f, &format!("disk.{k}.mount_path"), radl_value(&loc), "");
                set(f, &format!("disk.{k}.fstype"), radl_value(&d.fs_type), "");
            }
        }
        self.add_ansible_roles(node, &mut sys)?;
        if let Some(zone) = self.placement(&node.name, "availability_zone")?
            && zone.truthy()
        {
            set(
                &mut sys.features,
                "availability_zone",
                radl_value(&zone),
                "",
            );
        }
        Ok(sys)
    }

    fn cap_features(
        &self,
        node: &'a NodeTpl,
        cap: &Cap,
        sys: &mut System,
    ) -> Result<(), ToscaError> {
        for (prop, raw) in &cap.props {
            let feature = match prop.as_str() {
                "architecture" => "cpu.arch",
                "type" => "disk.0.os.name",
                "distribution" => "disk.0.os.flavour",
                "version" => "disk.0.os.version",
                "image" => "disk.0.image.url",
                "credential" => "disk.0.os.credentials",
                "num_cpus" => "cpu.count",
                "disk_size" => "disk.0.size",
                "disk_type" => "disk.0.type",
                "mem_size" => "memory.size",
                "cpu_frequency" => "cpu.performance",
                "instance_type" => "instance_type",
                "preemtible_instance" => "spot",
                "num_gpus" => "gpu.count",
                "gpu_vendor" => "gpu.vendor",
                "gpu_model" => "gpu.model",
                "sgx" => "cpu.sgx",
                "sgx_epc_size" => "cpu.sgx.epc_size",
                _ => continue,
            };
            if raw.is_null() {
                continue;
            }
            let mut value = self.ev.resolve(raw, Ctx::Node(node))?;
            if value.is_null() {
                continue;
            }
            let mut name = feature.to_string();
            let mut unit = "";
            match prop.as_str() {
                "disk_size" | "mem_size" => {
                    let bytes = size_in_bytes(&value.py_str())
                        .map_err(|e| err(format!("{} of node {}: {e}", prop, node.name)))?;
                    value = match bytes {
                        Number::Int(i) => Value::Int(i),
                        Number::Float(f) => Value::Float(f),
                    };
                    unit = "B";
                }
                "version" => value = Value::Str(value.py_str()),
                "image" => {
                    let s = value.py_str();
                    value = Value::Str(if s.contains("://") {
                        s
                    } else {
                        format!("docker://{s}")
                    });
                }
                "credential" => {
                    let (token_type, token) = credential_values(&value);
                    if let Some(t) = token {
                        let key = match token_type.as_str() {
                            "password" => Some("disk.0.os.credentials.password"),
                            "private_key" => Some("disk.0.os.credentials.private_key"),
                            "public_key" => Some("disk.0.os.credentials.public_key"),
                            _ => None,
                        };
                        if let Some(key) = key {
                            add(
                                &mut sys.features,
                                key,
                                Operator::Eq,
                                im_radl::Value::Str(t),
                                "",
                            )?;
                        }
                    }
                    match value.get("user").filter(|u| u.truthy()) {
                        Some(u) => {
                            name = "disk.0.os.credentials.username".into();
                            value = u.clone();
                        }
                        None => {
                            return Err(err("User must be specified in the image credentials."));
                        }
                    }
                }
                "preemtible_instance" | "sgx" => {
                    value = Value::str(if value.truthy() { "yes" } else { "no" });
                }
                _ => {}
            }
            let (op, value) = operator(&value);
            add(&mut sys.features, &name, op, radl_value(&value), unit)?;
        }
        Ok(())
    }

    fn attached_disks(&self, node: &'a NodeTpl) -> Result<Vec<Disk>, ToscaError> {
        let mut out = Vec::new();
        let mut count = 1;
        for rel in &node.rels {
            if !rel.rtype.ends_with("AttachesTo") {
                continue;
            }
            let mut disk = Disk {
                num: count,
                fs_type: Value::str("ext4"),
                ..Disk::default()
            };
            for (name, v) in &rel.tpl.props {
                let v = self.ev.resolve(v, Ctx::Node(node))?;
                match name.as_str() {
                    "location" => disk.location = Some(v),
                    "device" => disk.device = Some(v),
                    "fs_type" => disk.fs_type = v,
                    _ => {}
                }
            }
            let Some(target) = self.topo.node(&rel.target) else {
                continue;
            };
            if !target.type_name.ends_with(".BlockStorage") {
                continue;
            }
            let prop = |k: &str| -> Result<Option<Value>, ToscaError> {
                match target.raw_props.get(k) {
                    Some(v) => {
                        Ok(Some(self.ev.resolve(v, Ctx::Node(target))?).filter(|v| !v.is_null()))
                    }
                    None => Ok(None),
                }
            };
            disk.vol_type = prop("type")?;
            disk.volume_id = prop("volume_id")?;
            let snapshot = prop("snapshot_id")?;
            disk.size = match prop("size")? {
                Some(s) => Some(
                    size_in_bytes(&s.py_str())
                        .map_err(|e| err(format!("size of node {}: {e}", target.name)))?,
                ),
                None => None,
            };
            let sized = disk.size.is_some_and(|s| !s.is_zero());
            if sized
                || disk.volume_id.as_ref().is_some_and(Value::truthy)
                || snapshot.as_ref().is_some_and(Value::truthy)
            {
                out.push(disk);
                count += 1;
            }
        }
        Ok(out)
    }

    /// Galaxy roles and collections of the node and every node hosted on it.
    fn add_ansible_roles(&self, node: &'a NodeTpl, sys: &mut System) -> Result<(), ToscaError> {
        let mut roles: Vec<String> = Vec::new();
        let mut collections: Vec<String> = Vec::new();
        for other in &self.topo.nodes {
            let compute = if self.topo.root_type(other) == "tosca.nodes.Compute" {
                Some(other)
            } else {
                self.topo.compute_of(other)
            };
            if compute.is_none_or(|c| c.name != node.name) {
                continue;
            }
            for art in self.topo.node_artifacts(other).values() {
                let Some(file) = art.get("file").filter(|f| f.truthy()) else {
                    continue;
                };
                let file = file.py_str();
                match art.get("type").and_then(Value::as_str) {
                    Some("tosca.artifacts.AnsibleGalaxy.role") if !roles.contains(&file) => {
                        roles.push(file)
                    }
                    // IM-compat: the reference checks collections against the
                    // roles list, so it never drops duplicate collections.
                    Some("tosca.artifacts.AnsibleGalaxy.collection")
                        if !collections.contains(&file) =>
                    {
                        collections.push(file)
                    }
                    _ => {}
                }
            }
        }
        let apps = collections
            .iter()
            .map(|c| format!("ansible.collections.{c}"))
            .chain(roles.iter().map(|r| format!("ansible.roles.{r}")));
        for app in apps {
            let mut inner = Features::new();
            set_str(&mut inner, "name", app);
            add(
                &mut sys.features,
                "disk.0.applications",
                Operator::Contains,
                im_radl::Value::Features(Box::new(inner)),
                "",
            )?;
        }
        Ok(())
    }

    /// The endpoints of a Compute: those of the nodes hosted on it, then its own.
    fn endpoints(&self, node: &'a NodeTpl) -> Vec<&'a Cap> {
        let mut out = Vec::new();
        for other in &self.topo.nodes {
            if self.topo.root_type(other) == "tosca.nodes.Compute" {
                continue;
            }
            if self
                .topo
                .compute_of(other)
                .is_some_and(|c| c.name == node.name)
            {
                for cap in other.caps.values() {
                    if self.topo.types.root_type(&cap.type_name, CAPABILITY)
                        == "tosca.capabilities.Endpoint"
                    {
                        out.push(cap);
                    }
                }
            }
        }
        if let Some(cap) = node.caps.get("endpoint") {
            out.push(cap);
        }
        out
    }

    fn add_node_nets(
        &self,
        node: &'a NodeTpl,
        radl: &mut Radl,
        sys: &mut System,
    ) -> Result<(), ToscaError> {
        let ctx = Ctx::Node(node);
        let mut public_ip = false;
        let mut private_ip = true;
        if let Some(v) = node.props.get("public_ip") {
            public_ip = self.ev.resolve(v, ctx)?.truthy();
        }
        let mut gen_tls = false;
        let mut provider_id: Option<String> = None;
        let mut pool_name: Option<String> = None;
        let mut dns_name = Value::Null;
        let mut additional_dns = Value::Null;
        let mut additional_ip = Value::Null;
        let mut ports: IndexMap<String, Value> = IndexMap::new();
        let mut serial = 0;
        for ep in self.endpoints(node) {
            let p = &ep.props;
            if let Some(v) = p.get("network_name") {
                let mut name = self.ev.resolve(v, ctx)?.py_str();
                let parts: Vec<String> = name.split(',').map(str::to_string).collect();
                if parts.len() > 1 {
                    name = parts[0].trim().to_string();
                    pool_name = Some(parts[1].trim().to_string());
                    public_ip = true;
                }
                if name == "PUBLIC" {
                    public_ip = true;
                } else if let Some(id) = name.strip_suffix(".PUBLIC") {
                    public_ip = true;
                    provider_id = Some(id.to_string());
                } else if let Some(id) = name.strip_suffix(".PRIVATE") {
                    provider_id = Some(id.to_string());
                } else if name != "PRIVATE" {
                    provider_id = Some(name);
                }
            }
            if let Some(v) = p.get("dns_name") {
                dns_name = self.ev.resolve(v, ctx)?;
            }
            if let Some(v) = p.get("additional_dns_names") {
                additional_dns = self.ev.resolve(v, ctx)?;
            }
            if let Some(v) = p.get("private_ip") {
                private_ip = self.ev.resolve(v, ctx)?.truthy();
            }
            if let Some(v) = p.get("ports") {
                let v = self.ev.resolve(v, ctx)?;
                if let Value::Map(m) = v {
                    for port in m.into_values() {
                        serial += 1;
                        ports.insert(format!("#{serial}"), port);
                    }
                }
            }
            if let Some(v) = p.get("port") {
                let port = self.ev.resolve(v, ctx)?;
                let protocol = match p.get("protocol") {
                    Some(x) => self.ev.resolve(x, ctx)?,
                    None => Value::str("tcp"),
                };
                let key = format!("im-{}-{}", protocol.py_str(), port.py_str());
                let mut spec = Map::new();
                spec.insert("protocol".into(), protocol);
                spec.insert("source".into(), port);
                if let Some(c) = p.get("remote_cidr") {
                    let c = self.ev.resolve(c, ctx)?;
                    if c.truthy() {
                        spec.insert("remote_cidr".into(), c);
                    }
                }
                ports.insert(key, Value::Map(spec));
            }
            if let Some(v) = p.get("additional_ip") {
                additional_ip = self.ev.resolve(v, ctx)?;
            }
            if let Some(v) = p.get("tls") {
                gen_tls = self.ev.resolve(v, ctx)?.truthy();
            }
        }
        let f = &mut sys.features;
        if dns_name.truthy() {
            set(f, "net_interface.0.dns_name", radl_value(&dns_name), "");
            set(f, "net_interface.0.dns.0.name", radl_value(&dns_name), "");
            if gen_tls {
                set_str(f, "net_interface.0.dns.0.tls", "true");
            }
        }
        if additional_ip.truthy() {
            set(
                f,
                "net_interface.0.additional_ip",
                radl_value(&additional_ip),
                "",
            );
        }
        let port_list: Vec<Value> = ports.into_values().collect();
        let dns_list: Vec<Value> = match &additional_dns {
            Value::List(l) => l.clone(),
            Value::Null => Vec::new(),
            other => vec![other.clone()],
        };
        let bound = self.bound_networks(node)?;
        if !bound.is_empty() {
            let mut port_net: Option<String> = None;
            for b in &bound {
                let Some(net) = radl.get_network(&b.network) else {
                    return Err(err(format!(
                        "Node {} with a port binded to a non existing network: {}.",
                        node.name, b.network
                    )));
                };
                let public = net.is_public();
                let n = &b.order;
                let f = &mut sys.features;
                set_str(
                    f,
                    &format!("net_interface.{n}.connection"),
                    b.network.clone(),
                );
                if b.ip.truthy() {
                    set(f, &format!("net_interface.{n}.ip"), radl_value(&b.ip), "");
                }
                if b.dns_name.truthy() {
                    set(
                        f,
                        &format!("net_interface.{n}.dns.0.name"),
                        radl_value(&b.dns_name),
                        "",
                    );
                    if b.tls {
                        set_str(f, &format!("net_interface.{n}.dns.0.tls"), "true");
                    }
                }
                if b.additional_ip.truthy() {
                    set(
                        f,
                        &format!("net_interface.{n}.additional_ip"),
                        radl_value(&b.additional_ip),
                        "",
                    );
                }
                if let Value::List(names) = &b.additional_dns {
                    for (i, name) in names.iter().enumerate() {
                        set(
                            f,
                            &format!("net_interface.{n}.dns.{i}.name"),
                            radl_value(name),
                            "",
                        );
                        if b.tls {
                            set_str(f, &format!("net_interface.{n}.dns.{i}.tls"), "true");
                        }
                    }
                }
                // The last public network, else the first network, gets the ports.
                if public || port_net.is_none() {
                    port_net = Some(b.network.clone());
                }
            }
            if let Some(id) = port_net
                && !port_list.is_empty()
            {
                let text = format_outports(&port_list, true)?;
                if let Some(net) = radl.networks.iter_mut().find(|n| n.id == id) {
                    append_outports(net, &text);
                }
            }
            return Ok(());
        }
        let mut private_net: Option<String> = None;
        if !public_ip || private_ip {
            let private: Vec<String> = radl
                .networks
                .iter()
                .filter(|n| !n.is_public())
                .map(|n| n.id.clone())
                .collect();
            let num;
            if private.is_empty() {
                radl.networks.push(new_network("private_net", false));
                private_net = Some("private_net".into());
                num = num_ifaces(sys);
            } else {
                let used = private
                    .iter()
                    .find_map(|id| iface_with(sys, id).map(|i| (id.clone(), i)));
                match used {
                    Some((id, i)) => {
                        private_net = Some(id);
                        num = i;
                    }
                    None => {
                        private_net = Some(private[0].clone());
                        num = num_ifaces(sys);
                    }
                }
            }
            let id = private_net.clone().unwrap_or_default();
            if !public_ip && !port_list.is_empty() {
                let text = format_outports(&port_list, true)?;
                if let Some(net) = radl.networks.iter_mut().find(|n| n.id == id) {
                    append_outports(net, &text);
                }
            }
            set_str(
                &mut sys.features,
                &format!("net_interface.{num}.connection"),
                id,
            );
        }
        let mut public_net: Option<String> = None;
        if public_ip {
            let mut name = "public_net".to_string();
            let mut i = 1;
            while radl.get_network(&name).is_some() {
                name = format!("public_net_{i}");
                i += 1;
            }
            let mut net = new_network(&name, true);
            let num = num_ifaces(sys);
            if !port_list.is_empty() {
                append_outports(&mut net, &format_outports(&port_list, true)?);
            }
            radl.networks.push(net);
            set_str(
                &mut sys.features,
                &format!("net_interface.{num}.connection"),
                name.clone(),
            );
            for (j, dns) in dns_list.iter().enumerate() {
                set(
                    &mut sys.features,
                    &format!("net_interface.{num}.dns.{j}.name"),
                    radl_value(dns),
                    "",
                );
                if gen_tls {
                    set_str(
                        &mut sys.features,
                        &format!("net_interface.{num}.dns.{j}.tls"),
                        "true",
                    );
                }
            }
            public_net = Some(name);
        }
        if let Some(pid) = provider_id {
            if let Some(id) = &private_net
                && let Some(net) = radl.networks.iter_mut().find(|n| &n.id == id)
            {
                set_str(&mut net.features, "provider_id", pid.clone());
            }
            if let Some(id) = &public_net {
                let value = match (&pool_name, &private_net) {
                    (Some(pool), _) => Some(pool.clone()),
                    (None, None) => Some(pid.clone()),
                    _ => None,
                };
                if let Some(value) = value
                    && let Some(net) = radl.networks.iter_mut().find(|n| &n.id == id)
                {
                    set_str(&mut net.features, "provider_id", value);
                }
            }
        }
        Ok(())
    }

    /// The Port nodes bound to this Compute.
    fn bound_networks(&self, node: &'a NodeTpl) -> Result<Vec<Bound>, ToscaError> {
        let mut out = Vec::new();
        for port in &self.topo.nodes {
            if self.topo.root_type(port) != "tosca.nodes.network.Port" {
                continue;
            }
            let mut binding = None;
            let mut link = None;
            for (req, v) in &port.reqs {
                let target = match v {
                    Value::Map(m) => match m.get("node") {
                        Some(n) => n.py_str(),
                        None => {
                            return Err(err(format!("Incorrect {req} in Port node {}", node.name)));
                        }
                    },
                    other => other.py_str(),
                };
                match req.as_str() {
                    "binding" => binding = Some(target),
                    "link" => link = Some(target),
                    _ => {}
                }
            }
            if binding.as_deref() != Some(node.name.as_str()) {
                continue;
            }
            let prop = |k: &str| -> Result<Value, ToscaError> {
                match port.props.get(k) {
                    Some(v) => self.ev.resolve(v, Ctx::Node(port)),
                    None => Ok(Value::Null),
                }
            };
            out.push(Bound {
                network: link.unwrap_or_default(),
                ip: prop("ip_address")?,
                dns_name: prop("dns_name")?,
                additional_dns: prop("additional_dns_names")?,
                order: prop("order")?.py_str(),
                additional_ip: prop("additional_ip")?,
                tls: prop("tls")?.truthy(),
            });
        }
        Ok(out)
    }

    /// The configure of a node's operations, as `_gen_configure_from_interfaces`.
    fn gen_configure(
        &self,
        node: &'a NodeTpl,
        compute: Option<&'a NodeTpl>,
        ops: &IndexMap<String, Op<'a>>,
    ) -> Result<Option<Configure>, ToscaError> {
        if ops.is_empty() {
            return Ok(None);
        }
        let Some(compute) = compute else {
            return Ok(None);
        };
        let mut vars = Map::new();
        let mut downloads: Vec<Value> = Vec::new();
        let mut playbooks: Vec<Arc<Value>> = Vec::new();
        let mut current: Ctx<'a> = Ctx::Node(node);
        let mut previous: Ctx<'a> = Ctx::Node(node);
        for step in [
            "create",
            "pre_configure_source",
            "pre_configure_target",
            "configure_rel",
            "configure",
            "post_configure_source",
            "post_configure_target",
            "start",
            "add_target",
            "add_source",
            "target_changed",
            "remove_target",
        ] {
            let Some(op) = ops.get(step) else { continue };
            previous = current;
            current = op.ctx;
            let owner = ctx_name(current);
            let mut env = Map::new();
            let mut artifacts: Vec<String> = Vec::new();
            for (param, value) in &op.inputs {
                let val = if let Some(name) = artifact_call(value) {
                    let uri = self.artifact_uri(current, &name)?;
                    let path = format!("/tmp/{}", basename(&uri));
                    artifacts.push(uri);
                    Value::Str(path)
                } else {
                    self.ev.resolve(value, current)?
                };
                if val.is_null() {
                    return Err(err(format!(
                        "input value for {param} in interface {step} of node {owner} not valid"
                    )));
                }
                env.insert(param.clone(), val);
            }
            for uri in &artifacts {
                let mut task = Map::new();
                task.insert(
                    "name".into(),
                    Value::Str(format!("Download artifact {uri}")),
                );
                task.insert(
                    "get_url".into(),
                    Value::Str(format!("dest=/tmp/{} url='{uri}'", basename(uri))),
                );
                downloads.push(Value::Map(task));
            }
            let implementation =
                self.implementation_url(current, &op.implementation, step, &owner)?;
            let (content, path) = self.read_implementation(&implementation)?;
            if path.ends_with(".yaml") || path.ends_with(".yml") {
                for (k, v) in env {
                    vars.insert(k, recipes::var_value(&v));
                }
                playbooks.push(recipes::remove_header(&content)?);
            } else {
                playbooks.push(Arc::new(recipes::shell_play(
                    &format!("{owner}_{step}"),
                    &path,
                    &content,
                    &env,
                )));
            }
        }
        if downloads.is_empty() && playbooks.is_empty() {
            return Ok(None);
        }
        let last = ctx_name(current);
        let before = ctx_name(previous);
        let mut name = last.clone();
        if last != compute.name {
            name.push('_');
            name.push_str(&compute.name);
        }
        if last != before {
            name.push('_');
            name.push_str(&before);
        }
        name.push_str("_conf");
        let mut base = Map::new();
        if !vars.is_empty() {
            base.insert("vars".into(), Value::Map(vars));
        }
        if !downloads.is_empty() {
            base.insert("tasks".into(), Value::List(downloads));
        }
        let mut plays = vec![Value::Map(base)];
        for pb in &playbooks {
            plays = recipes::merge(&plays, pb);
        }
        // The leading newline puts `---` on its own line after `@begin`.
        let text = if plays.is_empty() {
            "\n".to_string()
        } else {
            format!(
                "\n{}",
                crate::yaml::to_yaml(&Value::List(plays), true, true)
            )
        };
        Ok(Some(Configure {
            name,
            recipes: Some(text),
            reference: false,
            pos: None,
        }))
    }

    fn artifacts_of(&self, ctx: Ctx<'a>) -> IndexMap<String, Value> {
        match ctx {
            Ctx::Node(n) => self.topo.node_artifacts(n),
            Ctx::Rel(r) => self.topo.rel_artifacts(r),
            Ctx::None => IndexMap::new(),
        }
    }

    /// The URI of an artifact (its `file`, behind its repository's URL).
    fn artifact_uri(&self, ctx: Ctx<'a>, name: &str) -> Result<String, ToscaError> {
        let arts = self.artifacts_of(ctx);
        let Some(art) = arts.get(name) else {
            return Ok(name.to_string());
        };
        let Value::Map(def) = art else {
            return Ok(art.py_str());
        };
        let file = match def.get("file") {
            Some(f) => self.ev.resolve(f, ctx)?.py_str(),
            None => return Err(err(format!("Artifact {name} has no file."))),
        };
        if let Some(repo) = def.get("repository").map(Value::py_str)
            && let Some(url) = self.topo.repositories.get(&repo)
        {
            return Ok(format!("{url}/{file}"));
        }
        Ok(file)
    }

    fn implementation_url(
        &self,
        ctx: Ctx<'a>,
        imp: &Value,
        step: &str,
        owner: &str,
    ) -> Result<String, ToscaError> {
        let imp = match imp {
            Value::Map(m) => m.get("primary").cloned().unwrap_or(Value::Null),
            other => other.clone(),
        };
        if !imp.truthy() {
            return Err(err(format!(
                "Operation {step} of node {owner} has no implementation."
            )));
        }
        let imp = imp.py_str();
        if self.artifacts_of(ctx).contains_key(&imp) {
            return self.artifact_uri(ctx, &imp);
        }
        Ok(imp)
    }

    /// The text of an implementation and the path its type is judged by.
    fn read_implementation(&self, imp: &str) -> Result<(String, String), ToscaError> {
        let scheme = imp.split_once("://").map(|(s, _)| s.to_ascii_lowercase());
        match scheme.as_deref() {
            Some("http" | "https" | "ftp") => {
                let path = url_path(imp);
                let text = self.fetcher.fetch(imp).map_err(|e| {
                    err(format!(
                        "Error downloading the implementation script '{imp}': {e}"
                    ))
                })?;
                Ok((text, path))
            }
            // IM-compat: the reference reads `file://` paths from the server's disk.
            Some("file") => Err(err(format!(
                "Implementation file '{imp}': local files are not read."
            ))),
            _ => {
                let url = format!("{REMOTE_ARTIFACTS}{imp}");
                let text = self.fetcher.fetch(&url).map_err(|_| {
                    err(format!(
                        "Implementation file: '{imp}' is not located in the artifacts folder '' or in the artifacts remote url '{REMOTE_ARTIFACTS}'."
                    ))
                })?;
                Ok((text, imp.to_string()))
            }
        }
    }
}

/// Where relative implementation names are looked up.
const REMOTE_ARTIFACTS: &str = "https://raw.githubusercontent.com/grycap/tosca/main/artifacts/";

fn ctx_name(c: Ctx<'_>) -> String {
    match c {
        Ctx::Node(n) => n.name.clone(),
        Ctx::Rel(r) => r.name.clone(),
        Ctx::None => String::new(),
    }
}

fn url_path(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let path = rest.find('/').map_or("", |i| &rest[i..]);
    path.split(['?', '#'])
        .next()
        .unwrap_or_default()
        .to_string()
}

pub(crate) fn basename(uri: &str) -> String {
    uri.rsplit('/').next().unwrap_or(uri).to_string()
}

/// The artifact name of a direct `{get_artifact: [SELF, name]}` input.
fn artifact_call(v: &Value) -> Option<String> {
    let m = v.as_map().filter(|m| m.len() == 1)?;
    let args = m.get("get_artifact")?;
    args.as_list().and_then(|l| l.get(1)).map(Value::py_str)
}

/// `(token_type, token)` of a Credential value (password by default).
pub(crate) fn credential_values(c: &Value) -> (String, Option<String>) {
    let token_type = c
        .get("token_type")
        .filter(|t| t.truthy())
        .map_or("password".to_string(), Value::py_str);
    let token = c.get("token").filter(|t| t.truthy()).map(Value::py_str);
    (token_type, token)
}

/// The RADL operator of a capability value: a one-key operator map, else
/// `>=` for numbers and `=` for the rest.
fn operator(v: &Value) -> (Operator, Value) {
    if let Value::Map(m) = v
        && m.len() == 1
        && let Some((k, inner)) = m.iter().next()
    {
        let op = match k.as_str() {
            "equal" => Some(Operator::Eq),
            "greater_than" => Some(Operator::Gt),
            "greater_or_equal" => Some(Operator::Ge),
            "less_than" => Some(Operator::Lt),
            "less_or_equal" => Some(Operator::Le),
            _ => None,
        };
        let inner = inner.clone();
        return match op {
            Some(op) => (op, inner),
            None if inner.is_number() => (Operator::Ge, inner),
            None => (Operator::Eq, inner),
        };
    }
    if v.is_number() {
        (Operator::Ge, v.clone())
    } else {
        (Operator::Eq, v.clone())
    }
}

#[derive(Default)]
struct Disk {
    num: usize,
    size: Option<Number>,
    location: Option<Value>,
    device: Option<Value>,
    fs_type: Value,
    volume_id: Option<Value>,
    vol_type: Option<Value>,
}

struct Bound {
    network: String,
    ip: Value,
    dns_name: Value,
    additional_dns: Value,
    order: String,
    additional_ip: Value,
    tls: bool,
}

pub(crate) fn item(system: &str, configure: &str, step: i64) -> ContextualizeItem {
    ContextualizeItem {
        system: system.to_string(),
        configure: configure.to_string(),
        step: Number::Int(step),
        ctxt_tool: None,
        pos: None,
    }
}

/// Public systems first (those named `*wn*` after the other public ones), then
/// the rest, each group in document order.
fn order_deploys(radl: &mut Radl) {
    let deploys = std::mem::take(&mut radl.deploys);
    let (public, private): (Vec<Deploy>, Vec<Deploy>) = deploys
        .into_iter()
        .partition(|d| has_public_net(radl, &d.system));
    let (wn, fe): (Vec<Deploy>, Vec<Deploy>) =
        public.into_iter().partition(|d| d.system.contains("wn"));
    radl.deploys = fe.into_iter().chain(wn).chain(private).collect();
}

/// Every system without an interface 0 is connected to the first public
/// network (the last network when none is public); a document without
/// networks gets `network public (outbound = 'yes')`.
fn complete_networks(radl: &mut Radl) {
    if radl.networks.is_empty() {
        radl.networks.push(new_network("public", true));
    }
    let target = radl
        .networks
        .iter()
        .find(|n| n.is_public())
        .or(radl.networks.last())
        .map(|n| n.id.clone())
        .unwrap_or_default();
    for s in &mut radl.systems {
        if !s.features.has_feature("net_interface.0.connection", false) {
            set_str(
                &mut s.features,
                "net_interface.0.connection",
                target.clone(),
            );
        }
    }
}

impl Converter<'_> {
    /// The reference's `_check_private_networks`: a private network used by
    /// systems on two clouds (by image URL scheme and host) is split.
    fn check_private_networks(&self, radl: &mut Radl) {
        if radl.networks.is_empty() {
            return;
        }
        let mut cloud_of_net: IndexMap<String, String> = IndexMap::new();
        // Deployed VMs first: the last VM of each system.
        if let Some(infra) = self.infra {
            for name in infra.system_names() {
                let Some(vm) = infra.vms_of(name).last().copied() else {
                    continue;
                };
                let Some(image) = vm.image_url.as_deref().filter(|i| !i.is_empty()) else {
                    continue;
                };
                let cloud = cloud_key(image);
                for (net, public) in &vm.networks {
                    if !public && !cloud_of_net.contains_key(net) {
                        cloud_of_net.insert(net.clone(), cloud.clone());
                    }
                }
            }
        }
        let to_deploy: Vec<String> = radl.deploys.iter().map(|d| d.system.clone()).collect();
        let names: Vec<String> = radl
            .systems
            .iter()
            .filter(|s| to_deploy.contains(&s.name))
            .map(|s| s.name.clone())
            .collect();
        for sys_name in names {
            let Some(sys) = radl.get_system(&sys_name) else {
                continue;
            };
            let Some(image) = sys
                .features
                .get_str("disk.0.image.url")
                .filter(|i| !i.is_empty())
            else {
                continue;
            };
            let cloud = cloud_key(image);
            let host = cloud
                .split_once("://")
                .map_or(String::new(), |(_, h)| h.to_string());
            let net_ids: Vec<String> = sys.network_ids().iter().map(|s| s.to_string()).collect();
            for net_id in net_ids {
                let Some(net) = radl.get_network(&net_id) else {
                    continue;
                };
                if net.is_public() {
                    continue;
                }
                match cloud_of_net.get(&net_id) {
                    None => {
                        cloud_of_net.insert(net_id, cloud.clone());
                    }
                    Some(c) if *c == cloud => {}
                    Some(_) => {
                        let existing = cloud_of_net
                            .iter()
                            .find(|(_, v)| **v == cloud)
                            .map(|(k, _)| k.clone());
                        let new_id = match existing {
                            Some(id) => id,
                            None => {
                                let mut new_net = new_network(&format!("private.{host}"), false);
                                if let Some(old) = radl.networks.iter_mut().find(|n| n.id == net_id)
                                {
                                    for key in
                                        ["provider_id", "cidr", "create", "router", "outports"]
                                    {
                                        if let Some(v) =
                                            old.features.get(key).filter(|v| v.is_truthy()).cloned()
                                        {
                                            new_net.features.set_value(key, v, "");
                                            old.features.del_value(key);
                                        }
                                    }
                                }
                                let id = new_net.id.clone();
                                radl.networks.push(new_net);
                                id
                            }
                        };
                        if let Some(sys) = radl.get_system_mut(&sys_name) {
                            let mut i = 0;
                            while let Some(c) = sys
                                .features
                                .get_str(&format!("net_interface.{i}.connection"))
                            {
                                if c == net_id {
                                    set_str(
                                        &mut sys.features,
                                        &format!("net_interface.{i}.connection"),
                                        new_id.clone(),
                                    );
                                }
                                i += 1;
                            }
                        }
                        cloud_of_net.insert(new_id, cloud.clone());
                    }
                }
            }
        }
    }
}

/// The words RADL reserves.
const RADL_KEYWORDS: [&str; 13] = [
    "network",
    "ansible",
    "system",
    "soft",
    "and",
    "contains",
    "deploy",
    "configure",
    "contextualize",
    "step",
    "with",
    "option",
    "description",
];

/// Whether a name can be a RADL id (`[A-Za-z_.][\w.-]*`, not a keyword).
fn is_radl_id(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == '.')
        && chars.all(|c| c.is_alphanumeric() || "_.-".contains(c))
        && !RADL_KEYWORDS.contains(&name)
}

/// Node names become RADL ids; one RADL cannot read back is refused here
/// rather than stored (the reference stores it and fails later).
fn check_ids(radl: &Radl) -> Result<(), ToscaError> {
    let ids = radl
        .systems
        .iter()
        .map(|s| ("system", &s.name))
        .chain(radl.networks.iter().map(|n| ("network", &n.id)))
        .chain(radl.configures.iter().map(|c| ("configure", &c.name)));
    for (kind, id) in ids {
        if !is_radl_id(id) {
            return Err(err(format!(
                "\"{id}\" cannot be a RADL {kind} name: node template names must start with a letter, '_' or '.', and hold only letters, digits, '_', '.' and '-'."
            )));
        }
    }
    Ok(())
}

/// `scheme://host` of an image URL (the port dropped).
fn cloud_key(image: &str) -> String {
    let (scheme, rest) = image.split_once("://").unwrap_or(("", image));
    let host = rest.split('/').next().unwrap_or_default();
    let host = host.split(':').next().unwrap_or_default();
    format!("{scheme}://{host}")
}
