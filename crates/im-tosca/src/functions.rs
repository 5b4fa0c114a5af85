//! Intrinsic functions, evaluated as the reference does (`_final_function_result`):
//! `get_input` gives the input's default, `get_property` follows tosca-parser,
//! `get_attribute` gives Jinja text for Ansible at deploy time and live values
//! from the infrastructure's VMs in outputs, `concat`/`token` join Python `str()`
//! forms, and `join` (TOSCA 1.3) joins a list.

use indexmap::IndexMap;

use crate::error::ToscaError;
use crate::infra::{InfraView, VmView};
use crate::template::{Cap, NodeTpl, RelTpl, Topology, is_function};
use crate::types::NODE;
use crate::yaml::{Map, Value};

/// How deep functions may call functions (a property referring to itself would
/// recurse forever in the reference).
const MAX_DEPTH: usize = 64;

/// The entity a function is evaluated for (`SELF`).
#[derive(Debug, Clone, Copy)]
pub(crate) enum Ctx<'a> {
    /// No entity (outputs).
    None,
    /// A node template.
    Node(&'a NodeTpl),
    /// A relationship template (its `SOURCE` and `TARGET` are nodes).
    Rel(&'a RelTpl),
}

impl<'a> Ctx<'a> {
    fn name(&self) -> &'a str {
        match self {
            Ctx::None => "",
            Ctx::Node(n) => &n.name,
            Ctx::Rel(r) => &r.name,
        }
    }
}

/// Evaluates functions against a topology and, for outputs, a live infrastructure.
pub(crate) struct Eval<'a> {
    pub topo: &'a Topology,
    /// The live infrastructure, when values must be real (outputs).
    pub infra: Option<&'a InfraView>,
    /// The document id whose first 8 characters suffix container system names.
    pub id: &'a str,
    /// Where remote files (Kubernetes config files) are read from.
    pub fetcher: Option<&'a dyn crate::fetch::Fetcher>,
}

fn err(msg: impl Into<String>) -> ToscaError {
    ToscaError::convert(msg)
}

impl<'a> Eval<'a> {
    /// The final value of `v`: functions resolved (recursively), lists and maps
    /// resolved element by element.
    pub(crate) fn resolve(&self, v: &Value, ctx: Ctx<'a>) -> Result<Value, ToscaError> {
        self.resolve_at(v, ctx, 0)
    }

    fn resolve_at(&self, v: &Value, ctx: Ctx<'a>, depth: usize) -> Result<Value, ToscaError> {
        if depth > MAX_DEPTH {
            return Err(err(
                "Functions nest too deeply (a property refers to itself?).",
            ));
        }
        match v {
            Value::List(l) => l
                .iter()
                .map(|x| self.resolve_at(x, ctx, depth + 1))
                .collect::<Result<Vec<_>, _>>()
                .map(Value::List),
            Value::Map(m) if is_function(v) => {
                let Some((name, args)) = m.iter().next() else {
                    return Ok(Value::Null);
                };
                let out = self.call(name, args, ctx, depth)?;
                self.resolve_at(&out, ctx, depth + 1)
            }
            Value::Map(m) => {
                let mut out = Map::new();
                for (k, x) in m {
                    out.insert(k.clone(), self.resolve_at(x, ctx, depth + 1)?);
                }
                Ok(Value::Map(out))
            }
            scalar => Ok(scalar.clone()),
        }
    }

    fn call(
        &self,
        name: &str,
        args: &Value,
        ctx: Ctx<'a>,
        depth: usize,
    ) -> Result<Value, ToscaError> {
        let list: Vec<Value> = match args {
            Value::List(l) => l.clone(),
            other => vec![other.clone()],
        };
        match name {
            "get_input" => Ok(self.get_input(&list)),
            "get_property" => self.get_property(&list, ctx),
            "get_attribute" => self.get_attribute(&list, ctx, depth),
            "concat" => {
                let mut out = String::new();
                for item in &list {
                    if is_function(item) {
                        out.push_str(&self.resolve_at(item, ctx, depth + 1)?.py_str());
                    } else {
                        out.push_str(&item.py_str());
                    }
                }
                Ok(Value::Str(out))
            }
            "token" => {
                if list.len() != 3 {
                    return Ok(Value::Null);
                }
                let text = if is_function(&list[0]) {
                    self.resolve_at(&list[0], ctx, depth + 1)?.py_str()
                } else {
                    list[0].py_str()
                };
                let sep = list[1].py_str();
                let index = match &list[2] {
                    Value::Int(i) => *i,
                    other => other.py_str().trim().parse().map_err(|_| {
                        err(format!("token: \"{}\" is not an index.", other.py_str()))
                    })?,
                };
                if sep.is_empty() {
                    return Err(err("token: the separator is empty."));
                }
                let parts: Vec<&str> = text.split(sep.as_str()).collect();
                Ok(usize::try_from(index)
                    .ok()
                    .and_then(|i| parts.get(i))
                    .map_or(Value::Null, |p| Value::str(*p)))
            }
            "join" => {
                // IM-compat: the reference passes `join` through unevaluated.
                let items = match list.first() {
                    Some(v) => self.resolve_at(v, ctx, depth + 1)?,
                    None => Value::List(Vec::new()),
                };
                let delim = match list.get(1) {
                    Some(d) => self.resolve_at(d, ctx, depth + 1)?.py_str(),
                    None => String::new(),
                };
                let parts: Vec<String> = match items {
                    Value::List(l) => l.iter().map(Value::py_str).collect(),
                    other => vec![other.py_str()],
                };
                Ok(Value::Str(parts.join(&delim)))
            }
            "get_operation_output" => {
                Err(err("Function \"get_operation_output\" is not supported."))
            }
            // `get_artifact` only means something as an interface input; the
            // reference leaves it as a plain map elsewhere.
            _ => {
                let mut m = Map::new();
                m.insert(name.to_string(), args.clone());
                Ok(Value::Map(m))
            }
        }
    }

    fn get_input(&self, args: &[Value]) -> Value {
        let Some(name) = args.first() else {
            return Value::Null;
        };
        self.topo
            .inputs
            .get(&name.py_str())
            .and_then(|d| d.get("default"))
            .cloned()
            .unwrap_or(Value::Null)
    }

    /// The node a `get_property` argument names.
    fn named(&self, arg: &Value, ctx: Ctx<'a>, args: &[Value]) -> Result<Entity<'a>, ToscaError> {
        let name = match arg {
            Value::Map(m) => m.get("node").map(Value::py_str).unwrap_or_default(),
            other => other.py_str(),
        };
        let missing = |n: &str| {
            err(format!(
                "Node template \"{n}\" was not found. referenced from node template {}",
                ctx.name()
            ))
        };
        match name.as_str() {
            "SELF" => match ctx {
                Ctx::Node(n) => Ok(Entity::Node(n)),
                Ctx::Rel(r) => Ok(Entity::Rel(r)),
                Ctx::None => Err(err("\"SELF\" cannot be used here.")),
            },
            "SOURCE" | "TARGET" => match ctx {
                Ctx::Rel(r) => {
                    let n = if name == "SOURCE" {
                        &r.source
                    } else {
                        &r.target
                    };
                    self.topo.node(n).map(Entity::Raw).ok_or_else(|| missing(n))
                }
                _ => Err(err(format!(
                    "\"{name}\" keyword can only be used in context to \"Relationships\" {} node",
                    name.to_lowercase()
                ))),
            },
            "HOST" => {
                let Ctx::Node(n) = ctx else {
                    return Err(err("\"HOST\" cannot be used here."));
                };
                self.host_with_property(n, args, 0)
                    .map(Entity::Node)
                    .ok_or_else(|| {
                        err(format!(
                            "Property '{}' not found in capability/requirement '{}' referenced from node template {}",
                            args.get(2).map(Value::py_str).unwrap_or_default(),
                            args.get(1).map(Value::py_str).unwrap_or_default(),
                            n.name
                        ))
                    })
            }
            other => self
                .topo
                .node(other)
                .map(Entity::Node)
                .ok_or_else(|| missing(other)),
        }
    }

    /// tosca-parser's `_find_host_containing_property`.
    fn host_with_property(
        &self,
        node: &'a NodeTpl,
        args: &[Value],
        depth: usize,
    ) -> Option<&'a NodeTpl> {
        if depth > self.topo.nodes.len() {
            return None;
        }
        let prop = args.get(1).map(Value::py_str).unwrap_or_default();
        for (_, value) in &node.reqs {
            let target = match value {
                Value::Map(m) => m.get("node").map(Value::py_str),
                other => Some(other.py_str()),
            }?;
            let target = self.topo.node(&target)?;
            let hostable = target.caps.values().any(|c| {
                self.topo.types.derives_from(
                    &c.type_name,
                    "tosca.capabilities.Container",
                    crate::types::CAPABILITY,
                )
            });
            if hostable {
                if self
                    .topo
                    .types
                    .definitions(&target.type_name, NODE, "properties")
                    .contains_key(&prop)
                {
                    return Some(target);
                }
                if args.len() > 2
                    && let Some(cap) = target.caps.get(&prop)
                    && cap
                        .props
                        .get(&args[2].py_str())
                        .is_some_and(|v| !v.is_null())
                {
                    return Some(target);
                }
                return self.host_with_property(target, args, depth + 1);
            }
        }
        None
    }

    fn get_property(&self, args: &[Value], ctx: Ctx<'a>) -> Result<Value, ToscaError> {
        if args.len() < 2 {
            return Err(err(
                "Expected arguments: \"node-template-name\", \"req-or-cap\" (optional), \"property name\".",
            ));
        }
        let entity = self.named(&args[0], ctx, args)?;
        let props = entity.props();
        let first = args[1].py_str();
        let (mut value, rest) = if let Some(v) = props.get(&first) {
            (v.clone(), &args[2..])
        } else if args.len() >= 3 {
            let prop = args[2].py_str();
            let cap = match entity {
                Entity::Node(n) | Entity::Raw(n) => {
                    let via_req = n.reqs.iter().find(|(r, _)| *r == first).and_then(|(_, t)| {
                        let t = match t {
                            Value::Map(m) => m.get("node").map(Value::py_str),
                            other => Some(other.py_str()),
                        }?;
                        self.topo.node(&t)
                    });
                    via_req.unwrap_or(n).caps.get(&first)
                }
                Entity::Rel(_) => None,
            };
            (
                cap.and_then(|c: &Cap| c.props.get(&prop))
                    .cloned()
                    .unwrap_or(Value::Null),
                &args[3..],
            )
        } else {
            (Value::Null, &args[2..])
        };
        for key in rest {
            value = match &value {
                Value::List(l) => {
                    let i: i64 = key.py_str().trim().parse().unwrap_or(-1);
                    usize::try_from(i)
                        .ok()
                        .and_then(|i| l.get(i))
                        .cloned()
                        .unwrap_or(Value::Null)
                }
                Value::Map(m) => m.get(&key.py_str()).cloned().unwrap_or(Value::Null),
                _ => Value::Null,
            };
        }
        Ok(value)
    }

    fn get_attribute(
        &self,
        args: &[Value],
        ctx: Ctx<'a>,
        depth: usize,
    ) -> Result<Value, ToscaError> {
        if args.len() < 2 {
            return Ok(Value::Null);
        }
        let node_name = args[0].py_str();
        let node: &NodeTpl = match node_name.as_str() {
            "HOST" => match ctx {
                Ctx::Node(n) => match self.topo.compute_of(n) {
                    Some(h) => h,
                    None => return Ok(Value::Null),
                },
                _ => return Ok(Value::Null),
            },
            "SELF" => match ctx {
                Ctx::Node(n) => n,
                _ => return Ok(Value::Null),
            },
            "SOURCE" | "TARGET" => match ctx {
                Ctx::Rel(r) => {
                    let n = if node_name == "SOURCE" {
                        &r.source
                    } else {
                        &r.target
                    };
                    match self.topo.node(n) {
                        Some(n) => n,
                        None => return Ok(Value::Null),
                    }
                }
                _ => return Ok(Value::Null),
            },
            other => match self.topo.node(other) {
                Some(n) => n,
                None => return Ok(Value::Null),
            },
        };
        // A capability or requirement name as second argument is consumed; a
        // requirement switches to its target.
        let second = args[1].py_str();
        let mut node = node;
        let mut rest = &args[1..];
        let mut capability: Option<String> = None;
        let is_req = node.reqs.iter().any(|(r, _)| *r == second);
        if node.caps.contains_key(&second) || is_req {
            if args.len() < 3 {
                return Ok(Value::Null);
            }
            capability = Some(second.clone());
            rest = &args[2..];
            if let Some((_, t)) = node.reqs.iter().rev().find(|(r, _)| *r == second) {
                let t = match t {
                    Value::Map(m) => m.get("node").map(Value::py_str).unwrap_or_default(),
                    other => other.py_str(),
                };
                if let Some(t) = self.topo.node(&t) {
                    node = t;
                }
            }
        }
        let attribute = rest[0].py_str();
        let mut params: Vec<Value> = rest[1..].to_vec();
        let mut index: Option<i64> = None;
        if let Some(first) = params.first() {
            let parsed = match first {
                Value::Int(i) => Some(*i),
                Value::Float(f) => Some(f.trunc() as i64),
                Value::Bool(b) => Some(i64::from(*b)),
                Value::Str(s) => s.trim().parse().ok(),
                _ => None,
            };
            if parsed.is_some() {
                index = parsed;
                params.remove(0);
            }
        }
        if let Some(default) = self.attribute_default(node, &attribute, depth)? {
            return Ok(default);
        }
        let root = self.topo.root_type(node);
        let docker = node.type_name == "tosca.nodes.Container.Application.Docker";
        let host = match self.topo.compute_of(node) {
            Some(h) => Some(h),
            None if root == "tosca.nodes.aisprint.FaaS.Function" || docker => Some(node),
            None => None,
        };
        let indigo = node.type_name == "tosca.nodes.indigo.Compute";
        let self_ref = node_name == "HOST" || node_name == "SELF";
        let keys: Vec<String> = params.iter().map(Value::py_str).collect();
        if let Some(infra) = self.infra {
            return Ok(self.live_attribute(
                infra,
                node,
                host,
                &attribute,
                capability.as_deref(),
                index,
                &keys,
            ));
        }
        let Some(host) = host else {
            return Ok(Value::Null);
        };
        let h = &host.name;
        let group0 = |var: &str| format!("{{{{ hostvars[groups['{h}'][0]]['{var}'] }}}}");
        let out = match attribute.as_str() {
            "tosca_id" if self_ref => "{{ IM_NODE_VMID }}".to_string(),
            "tosca_id" => group0("IM_NODE_VMID"),
            "tosca_name" => node.name.clone(),
            "tls_certificates" if capability.as_deref() == Some("endpoint") => {
                let mut expr = if self_ref {
                    "IM_NODE_TLS_CERTIFICATES".to_string()
                } else {
                    format!("hostvars[groups['{h}'][0]]['IM_NODE_TLS_CERTIFICATES']")
                };
                // The index, when a key looked like a number, is a key too.
                if let Some(i) = index {
                    expr.push_str(&format!("['{i}']"));
                }
                for k in &keys {
                    expr.push_str(&format!("['{}']", k.replace('\'', "\\'")));
                }
                format!("{{{{ {expr} }}}}")
            }
            "private_address" | "public_address" => {
                let var = if attribute == "private_address" {
                    "IM_NODE_PRIVATE_IP"
                } else {
                    "IM_NODE_PUBLIC_IP"
                };
                if indigo {
                    match index {
                        Some(i) => format!("{{{{ hostvars[groups['{h}'][{i}]]['{var}'] }}}}"),
                        None => format!(
                            "{{{{ groups['{h}']|map('extract', hostvars,'{var}')|list if '{h}' in groups else []}}}}"
                        ),
                    }
                } else if self_ref {
                    format!("{{{{ {var} }}}}")
                } else {
                    group0(var)
                }
            }
            "ip_address" if root == "tosca.nodes.network.Port" => {
                let order = node
                    .props
                    .get("order")
                    .map(Value::py_str)
                    .unwrap_or_else(|| "0".into());
                format!("{{{{ hostvars[groups['{h}'][0]]['IM_NODE_NET_{order}_IP'] }}}}")
            }
            "ip_address" if node_name == "HOST" => "{{ IM_NODE_PUBLIC_IP }}".to_string(),
            "ip_address" => format!(
                "{{{{ hostvars[groups['{h}'][0]]['IM_NODE_PUBLIC_IP'] if 'IM_NODE_PUBLIC_IP' in hostvars[groups['{h}'][0]] else hostvars[groups['{h}'][0]]['IM_NODE_PRIVATE_IP']}}}}"
            ),
            "endpoint" if root == "tosca.nodes.aisprint.FaaS.Function" => {
                match self.oscar_dns_host(node, host)? {
                    Some(dns) => format!("https://{dns}"),
                    None => return Ok(Value::Null),
                }
            }
            "endpoints" if docker => return self.container_endpoints(node, index),
            _ => return Ok(Value::Null),
        };
        Ok(Value::Str(out))
    }

    /// The default of an attribute definition of the node's type, if any.
    fn attribute_default(
        &self,
        node: &'a NodeTpl,
        attribute: &str,
        depth: usize,
    ) -> Result<Option<Value>, ToscaError> {
        let defs = self
            .topo
            .types
            .merged_value(&node.type_name, NODE, "attributes")
            .and_then(|v| v.as_map().cloned())
            .unwrap_or_default();
        match defs.get(attribute).and_then(|d| d.get("default")) {
            Some(d) => {
                let v = self.resolve_at(d, Ctx::Node(node), depth + 1)?;
                Ok(v.truthy().then_some(v))
            }
            None => Ok(None),
        }
    }

    /// The `dns_host` of the OSCAR node hosting a FaaS function, when set.
    fn oscar_dns_host(
        &self,
        node: &'a NodeTpl,
        host: &NodeTpl,
    ) -> Result<Option<String>, ToscaError> {
        if std::ptr::eq(host, node) {
            return Ok(None);
        }
        let Some(oscar) = self
            .topo
            .find_host(node, "tosca.nodes.SoftwareComponent", None)
        else {
            return Ok(None);
        };
        let dns = match oscar.raw_props.get("dns_host") {
            Some(v) => self.resolve(v, Ctx::Node(oscar))?,
            None => Value::Null,
        };
        let text = dns.py_str();
        Ok((dns.truthy() && !text.trim_matches(['\'', '"']).is_empty()).then_some(text))
    }

    /// `endpoints` of a Docker container at deploy time: its published ports.
    fn container_endpoints(
        &self,
        node: &'a NodeTpl,
        index: Option<i64>,
    ) -> Result<Value, ToscaError> {
        let sys = crate::containers::k8s_system(self, node)?;
        let Some(net) = sys.networks.first() else {
            return Ok(if index.is_some() {
                Value::Null
            } else {
                Value::List(Vec::new())
            });
        };
        let outports = net
            .features
            .get_str("outports")
            .map(im_radl::parse_outports)
            .transpose()
            .ok()
            .flatten()
            .unwrap_or_default();
        let mut res = Vec::new();
        if net.is_public() {
            let dns = sys
                .system
                .features
                .get_str("net_interface.0.dns_name")
                .map(str::to_string);
            for p in &outports {
                match &dns {
                    Some(d) if res.is_empty() => res.push(Value::str(d.clone())),
                    _ => res.push(Value::Str(format!(
                        "{{{{ hostvars[groups['{}'][0]]['IM_NODE_PUBLIC_IP'] }}}}:{}",
                        sys.system.name, p.port_init
                    ))),
                }
            }
        } else {
            for p in &outports {
                res.push(Value::Str(format!("{}:{}", sys.system.name, p.port_end)));
            }
        }
        Ok(match index {
            Some(i) => usize::try_from(i)
                .ok()
                .and_then(|i| res.get(i).cloned())
                .unwrap_or(Value::Null),
            None => Value::List(res),
        })
    }

    #[allow(clippy::too_many_arguments)]
    fn live_attribute(
        &self,
        infra: &InfraView,
        node: &NodeTpl,
        host: Option<&NodeTpl>,
        attribute: &str,
        capability: Option<&str>,
        index: Option<i64>,
        keys: &[String],
    ) -> Value {
        let docker = node.type_name == "tosca.nodes.Container.Application.Docker";
        let sys_name = if docker {
            let prefix = format!("{}-", crate::containers::k8s_name(&node.name));
            infra
                .system_names()
                .into_iter()
                .find(|n| n.starts_with(&prefix))
                .map(str::to_string)
        } else {
            host.map(|h| h.name.clone())
        };
        let Some(sys_name) = sys_name else {
            return Value::Null;
        };
        let vms = infra.vms_of(&sys_name);
        let Some(vm) = vms.first() else {
            return Value::Null;
        };
        let indigo = node.type_name == "tosca.nodes.indigo.Compute";
        let pick = |list: Vec<Value>| -> Value {
            match index {
                // IM-compat: out of range gives null (the reference raises).
                Some(i) => {
                    let i = if i < 0 { list.len() as i64 + i } else { i };
                    usize::try_from(i)
                        .ok()
                        .and_then(|i| list.get(i).cloned())
                        .unwrap_or(Value::Null)
                }
                None => Value::List(list),
            }
        };
        let ip = |v: &Option<String>| v.clone().map_or(Value::Null, Value::Str);
        match attribute {
            "tosca_id" => Value::str(vm.cloud_id.clone()),
            "tosca_name" => Value::str(node.name.clone()),
            "ctxt_log" if indigo => Value::str(vm.cont_out.clone()),
            "tls_certificates" if capability == Some("endpoint") && indigo => {
                let certs = Value::Map(
                    vm.tls_certificates
                        .iter()
                        .map(|(k, v)| (k.clone(), json_to_value(v)))
                        .collect(),
                );
                let mut all = keys.to_vec();
                if let Some(i) = index {
                    all.insert(0, i.to_string());
                }
                object_values(&certs, &all)
            }
            "ansible_output" if indigo => {
                let mut all = keys.to_vec();
                if let Some(i) = index {
                    all.insert(0, i.to_string());
                }
                object_values(&ansible_output(&vm.cont_out), &all)
            }
            "credential" if capability == Some("endpoint") && indigo => {
                let list = vms
                    .iter()
                    .map(|vm| object_values(&credential(vm), keys))
                    .collect();
                pick(list)
            }
            "private_address" if indigo => pick(vms.iter().map(|v| ip(&v.private_ip)).collect()),
            "public_address" if indigo => pick(vms.iter().map(|v| ip(&v.public_ip)).collect()),
            "private_address" => ip(&vm.private_ip),
            "public_address" => ip(&vm.public_ip),
            "endpoint" if self.topo.root_type(node) == "tosca.nodes.aisprint.FaaS.Function" => {
                self.faas_endpoint(node, host, vm)
            }
            "credential" if self.topo.root_type(node) == "tosca.nodes.aisprint.FaaS.Function" => {
                object_values(&self.faas_credential(node, host, vm), keys)
            }
            "endpoints" if docker => {
                let mut res = Vec::new();
                let public_ip = vm.public_ip.clone().unwrap_or_else(|| "None".into());
                for p in vm.outports.iter().filter(|p| p.public) {
                    match &vm.dns_name {
                        Some(d) if res.is_empty() => res.push(Value::str(d.clone())),
                        _ => res.push(Value::Str(format!("{public_ip}:{}", p.remote))),
                    }
                }
                for p in vm.outports.iter().filter(|p| !p.public) {
                    res.push(Value::Str(format!("{}:{}", vm.system_name, p.local)));
                }
                pick(res)
            }
            // IM-compat: the reference looks the Port's order up as a network
            // id and so gives null; the port's own interface IP is not known
            // here either, so null it stays.
            "ip_address" if self.topo.root_type(node) == "tosca.nodes.network.Port" => Value::Null,
            "ip_address" => match (&vm.public_ip, &vm.private_ip) {
                (Some(p), _) => Value::str(p.clone()),
                (None, p) => ip(p),
            },
            _ => Value::Null,
        }
    }
}

impl Eval<'_> {
    /// The OSCAR host of a function deployed on a VM of the document, with its
    /// property value.
    fn oscar_prop(&self, node: &NodeTpl, host: Option<&NodeTpl>, prop: &str) -> Option<Value> {
        let host = host?;
        if std::ptr::eq(host, node) {
            return None;
        }
        let oscar = self
            .topo
            .find_host(node, "tosca.nodes.SoftwareComponent", None)?;
        let v = oscar.raw_props.get(prop)?;
        self.resolve(v, Ctx::Node(oscar)).ok()
    }

    /// The live `endpoint` of a FaaS function.
    fn faas_endpoint(&self, node: &NodeTpl, host: Option<&NodeTpl>, vm: &VmView) -> Value {
        let cloud = vm.cloud.clone().unwrap_or_default();
        if cloud.kind == "Lambda" {
            return vm.function_api_url.clone().map_or(Value::Null, Value::Str);
        }
        let hosted = host.is_some_and(|h| !std::ptr::eq(h, node))
            && self
                .topo
                .find_host(node, "tosca.nodes.SoftwareComponent", None)
                .is_some();
        if hosted {
            if let Some(dns) = self.oscar_prop(node, host, "dns_host")
                && dns.truthy()
                && !dns.py_str().trim_matches(['\'', '"']).is_empty()
            {
                return Value::Str(format!("https://{}", dns.py_str()));
            }
            return match (&vm.public_ip, &vm.private_ip) {
                (Some(p), _) => Value::Str(format!("http://{p}")),
                (None, Some(p)) => Value::Str(format!("http://{p}")),
                (None, None) => Value::str("http://None"),
            };
        }
        cloud.url.map_or(Value::Null, Value::Str)
    }

    /// The live `credential` of a FaaS function.
    fn faas_credential(&self, node: &NodeTpl, host: Option<&NodeTpl>, vm: &VmView) -> Value {
        let cloud = vm.cloud.clone().unwrap_or_default();
        if cloud.kind == "Lambda" {
            return Value::Null;
        }
        let cred = |user: &str, kind: &str, token: String| {
            let mut m = Map::new();
            m.insert("user".into(), Value::str(user));
            m.insert("token_type".into(), Value::str(kind));
            m.insert("token".into(), Value::Str(token));
            Value::Map(m)
        };
        let hosted = host.is_some_and(|h| !std::ptr::eq(h, node))
            && self
                .topo
                .find_host(node, "tosca.nodes.SoftwareComponent", None)
                .is_some();
        if hosted {
            return match self.oscar_prop(node, host, "password") {
                Some(p) if p.truthy() && !p.py_str().trim_matches(['\'', '"']).is_empty() => {
                    cred("oscar", "password", p.py_str())
                }
                _ => Value::Null,
            };
        }
        match (cloud.username, cloud.password, cloud.token) {
            (Some(u), Some(p), _) => cred(&u, "password", p),
            (_, _, Some(t)) => cred("", "bearer", t),
            _ => Value::Null,
        }
    }
}

/// A function's subject: a node, a relationship's end (read as written, as
/// tosca-parser reads these unvalidated node objects) or a relationship template.
#[derive(Clone, Copy)]
enum Entity<'a> {
    Node(&'a NodeTpl),
    Raw(&'a NodeTpl),
    Rel(&'a RelTpl),
}

impl<'a> Entity<'a> {
    fn props(&self) -> &'a IndexMap<String, Value> {
        match self {
            Entity::Node(n) => &n.props,
            Entity::Raw(n) => &n.raw_props,
            Entity::Rel(r) => &r.props,
        }
    }
}

fn credential(vm: &VmView) -> Value {
    let mut m = Map::new();
    m.insert(
        "user".into(),
        vm.user.clone().map_or(Value::Null, Value::Str),
    );
    if let Some(p) = vm.password.as_ref().filter(|p| !p.is_empty()) {
        m.insert("token".into(), Value::str(p.clone()));
        m.insert("token_type".into(), Value::str("password"));
    }
    if let Some(k) = vm.private_key.as_ref().filter(|k| !k.is_empty()) {
        m.insert("token_type".into(), Value::str("private_key"));
        m.insert("token".into(), Value::str(k.clone()));
    }
    Value::Map(m)
}

/// Walks map keys into a value; null when one is missing.
fn object_values(v: &Value, keys: &[String]) -> Value {
    let mut here = v;
    for k in keys {
        match here.get(k) {
            Some(x) => here = x,
            None => return Value::Null,
        }
    }
    here.clone()
}

pub(crate) fn json_to_value(v: &serde_json::Value) -> Value {
    match v {
        serde_json::Value::Null => Value::Null,
        serde_json::Value::Bool(b) => Value::Bool(*b),
        serde_json::Value::Number(n) => match n.as_i64() {
            Some(i) => Value::Int(i),
            None => Value::Float(n.as_f64().unwrap_or(0.0)),
        },
        serde_json::Value::String(s) => Value::str(s.clone()),
        serde_json::Value::Array(a) => Value::List(a.iter().map(json_to_value).collect()),
        serde_json::Value::Object(o) => Value::Map(
            o.iter()
                .map(|(k, v)| (k.clone(), json_to_value(v)))
                .collect(),
        ),
    }
}

/// The contextualization log as `{step: {tasks: {task: {state, output}}}}`.
pub(crate) fn ansible_output(log: &str) -> Value {
    let mut steps = Map::new();
    for step in log.split("Launch task: ").skip(1) {
        let step_name = step.split('\n').next().unwrap_or_default().to_string();
        let mut tasks = Map::new();
        let mut numbers: std::collections::HashMap<String, usize> =
            std::collections::HashMap::new();
        for (num, task) in step.split("\nTASK [").skip(1).enumerate() {
            let name = task.split("] **").next().unwrap_or_default().to_string();
            // IM-compat: the reference overwrites tasks of the same name, so the
            // name gives the last one; the earlier ones are kept as `<name>_<n>`.
            if let Some(old) = tasks.shift_remove(&name)
                && let Some(n) = numbers.get(&name)
            {
                tasks.insert(format!("{name}_{n}"), old);
            }
            numbers.insert(name.clone(), num);
            let mut state = Value::Null;
            let mut output = Value::Null;
            for line in task.split('\n').skip(1) {
                let Some((word, rest)) = line.split_once(": [") else {
                    continue;
                };
                if word.is_empty()
                    || !word.chars().all(|c| c.is_ascii_lowercase())
                    || !rest.contains(']')
                {
                    continue;
                }
                if state.is_null() {
                    state = Value::str(word);
                }
                if output.is_null()
                    && let Some(pos) = line.find("] => {")
                {
                    let start = line[..pos + 5].len();
                    let from = &task[task.find(line).unwrap_or(0) + start..];
                    let end = from.find("}\n").map_or(from.len(), |e| e + 1);
                    let text = &from[..end];
                    output = match serde_json::from_str::<serde_json::Value>(text) {
                        Ok(mut j) => {
                            if let Some(var) = j.get("var").cloned() {
                                j = var;
                            }
                            if let Some(msg) = j.get("msg") {
                                json_to_value(msg)
                            } else if let Some(o) = j.as_object().filter(|o| o.len() == 1) {
                                o.values().next().map(json_to_value).unwrap_or(Value::Null)
                            } else {
                                Value::str(text)
                            }
                        }
                        Err(_) => Value::str(text),
                    };
                }
            }
            let mut t = Map::new();
            t.insert("state".into(), state);
            t.insert("output".into(), output);
            tasks.insert(name, Value::Map(t));
        }
        let mut s = Map::new();
        s.insert("tasks".into(), Value::Map(tasks));
        steps.insert(step_name, Value::Map(s));
    }
    Value::Map(steps)
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOG: &str = "Contextualization agent output\nLaunch task: basic\nCall Ansible\n\nTASK [Wait] ***\nFriday\nfatal: [vm_0]: FAILED! => {\"msg\": \"boom\"}\n...ignoring\n\nTASK [debug] ***\nFriday\nok: [vm_0] => {\n\"changed\": false,\n\"msg\": \"first\"\n}\n\nTASK [debug] ***\nFriday\nok: [vm_0] => {\n\"changed\": false,\n\"msg\": \"second\"\n}\n\nTASK [one] ***\nFriday\nok: [vm_0] => {\"var\": {\"x\": 5}}\nLaunch task: main_front\nTASK [skipped] ***\nskipping: [vm_0]\n";

    #[test]
    fn the_contextualization_log_reads_as_the_reference_reads_it() {
        let out = ansible_output(LOG);
        let task = |step: &str, name: &str| {
            out.get(step)
                .and_then(|s| s.get("tasks"))
                .and_then(|t| t.get(name))
                .cloned()
                .unwrap_or(Value::Null)
        };
        let get = |v: &Value, k: &str| v.get(k).cloned().unwrap_or(Value::Null);
        // A failed task has a state but no output (no `] => {` on its line).
        assert_eq!(get(&task("basic", "Wait"), "state"), Value::str("fatal"));
        assert_eq!(get(&task("basic", "Wait"), "output"), Value::Null);
        // The name gives the last task of that name; the first is kept apart.
        assert_eq!(get(&task("basic", "debug"), "output"), Value::str("second"));
        assert_eq!(
            get(&task("basic", "debug_1"), "output"),
            Value::str("first")
        );
        // `var` is unwrapped, and a one-key result gives its value.
        assert_eq!(get(&task("basic", "one"), "output"), Value::Int(5));
        assert_eq!(
            get(&task("main_front", "skipped"), "state"),
            Value::str("skipping")
        );
    }
}
