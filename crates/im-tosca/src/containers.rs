//! Nodes that are not VMs: Docker containers on Kubernetes
//! (`tosca.nodes.Container.Application.Docker` on a `Container.Runtime.Docker`)
//! and OSCAR functions (`tosca.nodes.aisprint.FaaS.Function`), hosted on an
//! OSCAR cluster of the same document or deployed by an OSCAR/Lambda cloud.

use im_radl::{Configure, ContextualizeItem, Deploy, Network, Number, Radl, System};

use crate::convert::{Converter, err, format_outports, item, radl_value, set, set_str};
use crate::error::ToscaError;
use crate::functions::{Ctx, Eval};
use crate::template::NodeTpl;
use crate::units::{size_in, size_in_bytes};
use crate::yaml::{Map, Value};

/// A Kubernetes name for a node: every punctuation character, `_` and space
/// replaced by `-`.
pub(crate) fn k8s_name(node: &str) -> String {
    node.chars()
        .map(|c| {
            if c == ' ' || "!\"#$%&'()*+,/:;<=>?@[\\]^`{|}~_".contains(c) {
                '-'
            } else {
                c
            }
        })
        .collect()
}

/// A container's system and the networks of its published/exposed ports.
pub(crate) struct K8sSystem {
    pub system: System,
    pub networks: Vec<Network>,
}

fn bytes_value(v: &Value) -> Result<Number, ToscaError> {
    let mut text = v.py_str();
    if !text.ends_with('B') {
        text.push('B');
    }
    size_in_bytes(&text).map_err(err)
}

/// The reference's `_gen_k8s_system`.
pub(crate) fn k8s_system(ev: &Eval<'_>, node: &NodeTpl) -> Result<K8sSystem, ToscaError> {
    let topo = ev.topo;
    let ctx = Ctx::Node(node);
    let id8: String = ev.id.chars().take(8).collect();
    let mut sys = System::new(format!("{}-{id8}", k8s_name(&node.name)));
    let mut nets = Vec::new();
    let mut image: Option<(Value, Option<String>)> = None;
    let mut config_maps = Vec::new();
    for art in topo.node_artifacts(node).values() {
        match art.get("type").and_then(Value::as_str) {
            Some("tosca.artifacts.Deployment.Image.Container.Docker") => {
                let file = match art.get("file") {
                    Some(f) => ev.resolve(f, ctx)?,
                    None => Value::Null,
                };
                image = Some((file, art.get("repository").map(Value::py_str)));
            }
            Some("tosca.artifacts.File") if art.get("deploy_path").is_some_and(Value::truthy) => {
                config_maps.push(art.clone());
            }
            _ => {}
        }
    }
    let Some((image, repo)) = image.filter(|(i, _)| i.truthy()) else {
        return Err(err("No image specified for K8s container."));
    };
    let mut k = 1;
    for cm in &config_maps {
        let mount = cm.get("deploy_path").cloned().unwrap_or_default();
        let file = cm.get("file").filter(|f| f.truthy()).map(Value::py_str);
        let content = match cm.get("properties").and_then(|p| p.get("content")) {
            Some(c) => ev.resolve(c, ctx)?,
            None => Value::Null,
        };
        let mut written = false;
        if content.truthy() {
            set(
                &mut sys.features,
                &format!("disk.{k}.content"),
                radl_value(&content),
                "",
            );
            written = true;
        } else if let Some(url) = &file {
            let text = ev_fetch(ev, url)?;
            set_str(&mut sys.features, &format!("disk.{k}.content"), text);
            written = true;
        }
        if written {
            set(
                &mut sys.features,
                &format!("disk.{k}.mount_path"),
                radl_value(&mount),
                "",
            );
            k += 1;
        }
    }
    let mut image = image.py_str();
    // IM-compat: the reference takes the repository of the last artifact it
    // looked at, not of the image's.
    if let Some(repo) = repo
        && let Some(url) = topo.repositories.get(&repo)
    {
        let without_scheme = url.split_once("://").map_or(url.as_str(), |(_, r)| r);
        image = format!("{without_scheme}/{image}");
    }
    set_str(
        &mut sys.features,
        "disk.0.image.url",
        format!("docker://{image}"),
    );
    for (name, raw) in &node.props {
        let value = ev.resolve(raw, ctx)?;
        if !value.truthy()
            && !matches!(
                value,
                Value::Bool(_) | Value::Int(_) | Value::Float(_) | Value::Str(_)
            )
        {
            continue;
        }
        match name.as_str() {
            "environment" => {
                let Value::Map(env) = &value else { continue };
                let text = env
                    .iter()
                    .map(|(k, v)| {
                        let v = v.py_str();
                        if v.contains(',') {
                            format!("{k}=\"{v}\"")
                        } else {
                            format!("{k}={v}")
                        }
                    })
                    .collect::<Vec<_>>()
                    .join(",");
                if !text.is_empty() {
                    set_str(&mut sys.features, "environment.variables", text);
                }
            }
            "command" if value.truthy() => {
                set(&mut sys.features, "command", radl_value(&value), "")
            }
            _ => {}
        }
    }
    let runtime = topo.find_host(
        node,
        "tosca.nodes.Compute",
        Some("tosca.nodes.Container.Runtime.Docker"),
    );
    if let Some(runtime) = runtime
        && let Some(cap) = runtime.caps.get("host")
    {
        for (name, raw) in &cap.props {
            let value = ev.resolve(raw, ctx)?;
            if value.is_null()
                || matches!(&value, Value::List(l) if l.is_empty())
                || matches!(&value, Value::Map(m) if m.is_empty())
            {
                continue;
            }
            let f = &mut sys.features;
            match name.as_str() {
                "num_cpus" => {
                    let n = match &value {
                        Value::Int(i) => *i as f64,
                        Value::Float(x) => *x,
                        other => other.py_str().parse().unwrap_or(0.0),
                    };
                    set(f, "cpu.count", im_radl::Value::Number(Number::Float(n)), "");
                }
                "num_gpus" => {
                    let n = match &value {
                        Value::Int(i) => *i,
                        Value::Float(x) => x.trunc() as i64,
                        other => other.py_str().parse().unwrap_or(0),
                    };
                    set(f, "gpu.count", im_radl::Value::Number(Number::Int(n)), "");
                }
                "mem_size" => set(
                    f,
                    "memory.size",
                    im_radl::Value::Number(bytes_value(&value)?),
                    "B",
                ),
                "volumes" => {
                    for vol in value.as_list().unwrap_or_default() {
                        let vol = vol.py_str();
                        let mut parts = vol.split(':');
                        let vname = parts.next().unwrap_or_default().to_string();
                        let mount: String = parts.collect::<Vec<_>>().concat();
                        let mut size = None;
                        let mut volume_id = Value::Null;
                        for n in &topo.nodes {
                            if n.name == vname && topo.root_type(n) == "tosca.nodes.BlockStorage" {
                                if let Some(s) = n.props.get("size") {
                                    let s = ev.resolve(s, Ctx::Node(n))?;
                                    if s.truthy() {
                                        size = Some(bytes_value(&s)?);
                                    }
                                }
                                if let Some(v) = n.props.get("volume_id") {
                                    volume_id = ev.resolve(v, Ctx::Node(n))?;
                                }
                            }
                        }
                        let f = &mut sys.features;
                        if volume_id.truthy() {
                            set(
                                f,
                                &format!("disk.{k}.image.url"),
                                radl_value(&volume_id),
                                "",
                            );
                        }
                        if let Some(s) = size.filter(|s| !s.is_zero()) {
                            set(f, &format!("disk.{k}.size"), im_radl::Value::Number(s), "B");
                        }
                        if !mount.is_empty() {
                            set_str(f, &format!("disk.{k}.mount_path"), mount);
                        }
                        k += 1;
                    }
                }
                "publish_ports" => {
                    let ports = value.as_list().unwrap_or_default().to_vec();
                    let id = format!("{}_pub", sys.name);
                    let mut net = crate::convert::new_network(&id, true);
                    set_str(
                        &mut net.features,
                        "outports",
                        format_outports(&ports, false)?,
                    );
                    nets.push(net);
                    set_str(&mut sys.features, "net_interface.0.connection", id);
                    if let Some(ep) = ports.first().and_then(|p| p.get("endpoint")) {
                        set(
                            &mut sys.features,
                            "net_interface.0.dns_name",
                            radl_value(ep),
                            "",
                        );
                        set(
                            &mut sys.features,
                            "net_interface.0.dns.0.name",
                            radl_value(ep),
                            "",
                        );
                    }
                }
                "expose_ports" => {
                    let ports = value.as_list().unwrap_or_default().to_vec();
                    let id = format!("{}_priv", sys.name);
                    let mut net = crate::convert::new_network(&id, false);
                    set_str(
                        &mut net.features,
                        "outports",
                        format_outports(&ports, true)?,
                    );
                    nets.push(net);
                    set_str(&mut sys.features, "net_interface.0.connection", id);
                }
                _ => {}
            }
        }
    }
    Ok(K8sSystem {
        system: sys,
        networks: nets,
    })
}

fn ev_fetch(ev: &Eval<'_>, url: &str) -> Result<String, ToscaError> {
    match ev.fetcher {
        Some(f) => f
            .fetch(url)
            .map_err(|e| err(format!("Error downloading file {url}: {e}"))),
        None => Err(err(format!("Error downloading file {url}: no access"))),
    }
}

/// A container node: its system, networks, empty configure and deploy.
pub(crate) fn k8s(
    conv: &Converter<'_>,
    node: &NodeTpl,
    radl: &mut Radl,
    removal: &mut Vec<i64>,
    items: &mut Vec<ContextualizeItem>,
) -> Result<(), ToscaError> {
    let K8sSystem { system, networks } = k8s_system(&conv.ev, node)?;
    let (requested, removal_list) = conv.scalable(node)?;
    if requested != 0 && requested != 1 {
        return Err(err(
            "Scalability values of tosca.nodes.Container.Application only allows 0 or 1.",
        ));
    }
    let delta = requested - conv.current(&system.name);
    if delta < 0 {
        removal.extend(conv.removal_ids(&system.name, &removal_list, -delta));
        return Ok(());
    }
    let name = system.name.clone();
    radl.systems.push(system);
    radl.networks.extend(networks);
    radl.configures.push(Configure {
        name: name.clone(),
        recipes: None,
        reference: false,
        pos: None,
    });
    items.push(item(&name, &name, conv.topo.level(node)));
    radl.deploys.push(Deploy {
        system: name.clone(),
        vm_number: Number::Int(delta),
        cloud_id: conv.placement(&node.name, "cloud_id")?.map(|v| v.py_str()),
        pos: None,
    });
    Ok(())
}

/// Python's `"%g" % x`.
fn py_g(x: f64) -> String {
    if x == 0.0 {
        return "0".into();
    }
    let exp = x.abs().log10().floor() as i32;
    if !(-4..6).contains(&exp) {
        let s = format!("{:.5e}", x);
        let (m, e) = s.split_once('e').unwrap_or((&s, "0"));
        let m = m.trim_end_matches('0').trim_end_matches('.');
        let e: i32 = e.parse().unwrap_or(0);
        return format!("{m}e{}{:02}", if e < 0 { '-' } else { '+' }, e.abs());
    }
    let decimals = usize::try_from(5 - exp).unwrap_or(0);
    let s = format!("{x:.decimals$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

/// The OSCAR service definition of a function.
fn oscar_service(ev: &Eval<'_>, node: &NodeTpl) -> Result<Map, ToscaError> {
    let mut res = Map::new();
    for (name, raw) in &node.props {
        let value = ev.resolve(raw, Ctx::Node(node))?;
        if value.is_null()
            || matches!(&value, Value::List(l) if l.is_empty())
            || matches!(&value, Value::Map(m) if m.is_empty())
        {
            continue;
        }
        match name.as_str() {
            "name" | "script" | "alpine" | "input" | "output" | "storage_providers"
            | "enable_gpu" => {
                res.insert(name.clone(), value);
            }
            "cpu" => {
                let x = match &value {
                    Value::Int(i) => *i as f64,
                    Value::Float(f) => *f,
                    other => other.py_str().parse().unwrap_or(0.0),
                };
                res.insert("cpu".into(), Value::Str(py_g(x)));
            }
            "memory" => {
                let mut text = value.py_str();
                if !text.ends_with('B') {
                    text.push('B');
                }
                let mib = size_in(&text, "MiB").map_err(err)?;
                res.insert(
                    "memory".into(),
                    Value::Str(format!("{}Mi", mib.trunc() as i64)),
                );
            }
            "image" => {
                let s = value.py_str();
                if let Some(rest) = s.strip_prefix("oscar://") {
                    if let Some((_, path)) = rest.split_once('/')
                        && !path.is_empty()
                    {
                        res.insert("image".into(), Value::str(path));
                    }
                } else if let Some(rest) = s.strip_prefix("docker://") {
                    res.insert("image".into(), Value::str(rest));
                } else {
                    res.insert("image".into(), Value::Str(s));
                }
            }
            "env_variables" => {
                let mut env = Map::new();
                env.insert("Variables".into(), value);
                res.insert("environment".into(), Value::Map(env));
            }
            "image_pull_secrets" => {
                let list = match value {
                    Value::List(l) => l,
                    other => vec![other],
                };
                res.insert("image_pull_secrets".into(), Value::List(list));
            }
            _ => {}
        }
    }
    Ok(res)
}

/// The system of a function deployed by an OSCAR or Lambda cloud.
fn oscar_system(conv: &Converter<'_>, node: &NodeTpl) -> Result<System, ToscaError> {
    let ev = &conv.ev;
    let mut sys = System::new(node.name.clone());
    for (name, raw) in &node.props {
        let value = ev.resolve(raw, Ctx::Node(node))?;
        if value.is_null()
            || matches!(&value, Value::List(l) if l.is_empty())
            || matches!(&value, Value::Map(m) if m.is_empty())
        {
            continue;
        }
        let f = &mut sys.features;
        match name.as_str() {
            "name" => set(f, "name", radl_value(&value), ""),
            "cpu" => set(f, "cpu.count", radl_value(&value), ""),
            "image" => set(f, "disk.0.image.url", radl_value(&value), ""),
            "script" => set(f, "script", radl_value(&value), ""),
            "image_pull_secrets" => set(f, "image_pull_secrets", radl_value(&value), ""),
            "alpine" => set(
                f,
                "alpine",
                im_radl::Value::Number(Number::Int(i64::from(value.truthy()))),
                "",
            ),
            "enable_gpu" if value.truthy() => {
                set(f, "gpu.count", im_radl::Value::Number(Number::Int(1)), "")
            }
            "enable_sgx" if value.truthy() => {
                set(f, "cpu.sgx", im_radl::Value::Number(Number::Int(1)), "")
            }
            "memory" => set(
                f,
                "memory.size",
                im_radl::Value::Number(bytes_value(&value)?),
                "B",
            ),
            "env_variables" => {
                if let Value::Map(m) = &value {
                    let vars: Vec<String> = m
                        .iter()
                        .map(|(k, v)| format!("{k}:{}", v.py_str()))
                        .collect();
                    set(f, "environment.variables", im_radl::Value::List(vars), "");
                }
            }
            "input" | "output" => {
                for (i, elem) in value.as_list().unwrap_or_default().iter().enumerate() {
                    let g = |k: &str| elem.get(k).cloned().unwrap_or(Value::Null);
                    set(
                        f,
                        &format!("{name}.{i}.provider"),
                        radl_value(&g("storage_provider")),
                        "",
                    );
                    set(f, &format!("{name}.{i}.path"), radl_value(&g("path")), "");
                    for extra in ["suffix", "prefix"] {
                        let v = g(extra);
                        if v.truthy() {
                            set(f, &format!("{name}.{i}.{extra}"), radl_value(&v), "");
                        }
                    }
                }
            }
            "storage_providers" => {
                for kind in ["minio", "s3", "onedata"] {
                    let Some(Value::Map(providers)) = value.get(kind) else {
                        continue;
                    };
                    for (i, (id, provider)) in providers.iter().enumerate() {
                        let prefix = format!("{kind}.{i}");
                        set_str(f, &format!("{prefix}.id"), id.clone());
                        for key in [
                            "access_key",
                            "secret_key",
                            "region",
                            "endpoint",
                            "verify",
                            "oneprovider_host",
                            "token",
                            "space",
                        ] {
                            if let Some(v) = provider.get(key).filter(|v| v.truthy()) {
                                set(f, &format!("{prefix}.{key}"), radl_value(v), "");
                            }
                        }
                    }
                }
            }
            "exposed" => {
                // IM-compat: the reference sets each `expose.*` to the whole map.
                for key in ["min_scale", "max_scale", "port", "cpu_threshold"] {
                    if let Some(v) = value.get(key) {
                        set(f, &format!("expose.{key}"), radl_value(v), "");
                    }
                }
            }
            _ => {}
        }
    }
    let mut deps = Vec::new();
    for r in &node.rels {
        if conv
            .topo
            .rel_is(&r.rtype, &["tosca.relationships.DependsOn"])
            && let Some(t) = conv.topo.node(&r.target)
            && let Some(c) = conv.topo.compute_of(t)
        {
            deps.push(c.name.clone());
        }
    }
    if !deps.is_empty() {
        set(
            &mut sys.features,
            "dependencies",
            im_radl::Value::List(deps),
            "",
        );
    }
    Ok(sys)
}

/// A FaaS function: a recipe on its OSCAR cluster's VM, or a system of its own.
pub(crate) fn faas(
    conv: &Converter<'_>,
    node: &NodeTpl,
    radl: &mut Radl,
    removal: &mut Vec<i64>,
    items: &mut Vec<ContextualizeItem>,
) -> Result<(), ToscaError> {
    let (requested, removal_list) = conv.scalable(node)?;
    if requested != 0 && requested != 1 {
        return Err(err(
            "Scalability values of tosca.nodes.aisprint.FaaS.Function only allows 0 or 1.",
        ));
    }
    let topo = conv.topo;
    let oscar = topo.find_host(node, "tosca.nodes.SoftwareComponent", None);
    let compute = topo.compute_of(node);
    if let (Some(oscar), Some(compute)) = (oscar, compute) {
        let ev = &conv.ev;
        let service = oscar_service(ev, node)?;
        let dns = match oscar.raw_props.get("dns_host") {
            Some(v) => ev.resolve(v, Ctx::Node(oscar))?,
            None => Value::Null,
        };
        let endpoint = if dns.truthy() && !dns.py_str().trim_matches(['\'', '"']).is_empty() {
            format!("https://{}", dns.py_str())
        } else {
            "http://{{ IM_NODE_PUBLIC_IP }}".to_string()
        };
        let password = match oscar.raw_props.get("password") {
            Some(v) => ev.resolve(v, Ctx::Node(oscar))?.py_str(),
            None => "None".to_string(),
        };
        let mut vars = Map::new();
        vars.insert("oscar_endpoint".into(), Value::Str(endpoint));
        vars.insert("oscar_username".into(), Value::str("oscar"));
        vars.insert("oscar_password".into(), Value::Str(password));
        let tasks_file = if requested <= 0 {
            let name = service.get("name").map(Value::py_str).unwrap_or_default();
            vars.insert("oscar_service_name".into(), Value::Str(name));
            "utils/tasks/del_oscar_function.yml"
        } else {
            vars.insert(
                "oscar_service_json".into(),
                Value::Str(Value::Map(service).py_json()),
            );
            "utils/tasks/oscar_function.yml"
        };
        let mut task = Map::new();
        task.insert("include_tasks".into(), Value::str(tasks_file));
        task.insert("vars".into(), Value::Map(vars));
        let mut play = Map::new();
        play.insert("tasks".into(), Value::List(vec![Value::Map(task)]));
        let recipe = format!(
            "\n{}",
            crate::yaml::to_yaml(&Value::List(vec![Value::Map(play)]), false, false)
        );
        let name = format!("oscar_{}", node.name);
        radl.configures.push(Configure {
            name: name.clone(),
            recipes: Some(recipe),
            reference: false,
            pos: None,
        });
        items.push(item(&compute.name, &name, topo.level(node)));
        return Ok(());
    }
    let sys = oscar_system(conv, node)?;
    let delta = requested - conv.current(&sys.name);
    if delta < 0 {
        removal.extend(conv.removal_ids(&sys.name, &removal_list, -delta));
        return Ok(());
    }
    let name = sys.name.clone();
    radl.systems.push(sys);
    radl.configures.push(Configure {
        name: node.name.clone(),
        recipes: None,
        reference: false,
        pos: None,
    });
    items.push(item(&node.name, &node.name, topo.level(node)));
    // IM-compat: the reference deploys the function again on every post of
    // the document, even when it already exists.
    if delta > 0 {
        radl.deploys.push(Deploy {
            system: name,
            vm_number: Number::Int(1),
            cloud_id: conv.placement(&node.name, "cloud_id")?.map(|v| v.py_str()),
            pos: None,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_g_format_is_reproduced() {
        assert_eq!(py_g(0.5), "0.5");
        assert_eq!(py_g(1.0), "1");
        assert_eq!(py_g(2.25), "2.25");
        assert_eq!(py_g(1234567.0), "1.23457e+06");
    }

    #[test]
    fn kubernetes_names_replace_punctuation() {
        assert_eq!(k8s_name("mysql_container"), "mysql-container");
        assert_eq!(k8s_name("a b.c"), "a-b.c");
    }
}
