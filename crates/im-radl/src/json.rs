//! The JSON form of RADL (`radl_json` in the reference): an array of objects,
//! one per sentence, with feature values in base units.
//!
//! Two decisions differ from the reference (see docs/compat.md): a numeric
//! interval with both bounds is written as `name_min` *and* `name_max` (the
//! reference drops the upper bound), and the description's `id` is its name
//! (the reference writes a Python object address).

use indexmap::IndexMap;
use serde_json::{Map, Value as J};

use crate::error::{ErrorKind, RadlError};
use crate::model::{
    Ansible, Aspect, Configure, Contextualize, ContextualizeItem, Deploy, Description, Feature,
    FeatureItem, Features, IfPresent, Network, Operator, Prop, Radl, SoftFeatures, System, Value,
};
use crate::units::Number;

fn number_json(n: Number) -> J {
    match n {
        Number::Int(i) => J::from(i),
        Number::Float(f) => serde_json::Number::from_f64(f).map_or(J::Null, J::Number),
    }
}

fn feature_json(f: &Feature) -> J {
    match &f.value {
        Value::Number(n) => number_json(n.in_base_units(&f.unit)),
        Value::Str(s) => J::from(s.as_str()),
        Value::List(l) => J::from(l.clone()),
        Value::Features(inner) => J::Object(features_json(inner)),
    }
}

/// The features of a set as JSON keys (`featuresToSimple`).
fn features_json(fs: &Features) -> Map<String, J> {
    let mut m = Map::new();
    for (name, prop) in &fs.props {
        match prop {
            Prop::Soft(list) => {
                let softs = list
                    .iter()
                    .map(|s| {
                        let mut o = Map::new();
                        o.insert("weight".into(), number_json(s.weight));
                        o.insert("items".into(), J::Object(features_json(&s.features)));
                        J::Object(o)
                    })
                    .collect();
                m.insert("softs".into(), J::Array(softs));
            }
            Prop::Interval(ends) => match &**ends {
                (Some(a), Some(b)) if a.value == b.value => {
                    m.insert(name.clone(), feature_json(a));
                }
                (lo, hi) => {
                    if let Some(a) = lo {
                        m.insert(format!("{name}_min"), feature_json(a));
                    }
                    if let Some(b) = hi {
                        m.insert(format!("{name}_max"), feature_json(b));
                    }
                }
            },
            Prop::Simple(f) => {
                m.insert(name.clone(), feature_json(f));
            }
            Prop::Contains(map) => {
                m.insert(
                    name.clone(),
                    J::Array(map.values().map(feature_json).collect()),
                );
            }
        }
    }
    m
}

fn head(class: &str, id: &str) -> Map<String, J> {
    let mut m = Map::new();
    m.insert("class".into(), J::from(class));
    m.insert("id".into(), J::from(id));
    m
}

fn cfeatures(class: &str, id: &str, reference: bool, fs: &Features) -> J {
    let mut m = head(class, id);
    if reference {
        m.insert("reference".into(), J::Bool(true));
    } else {
        m.extend(features_json(fs));
    }
    J::Object(m)
}

/// The JSON form of a system (as `GET …/vms/<id>` returns it).
pub fn system_to_json(s: &System) -> J {
    cfeatures("system", &s.name, s.reference, &s.features)
}

fn contextualize_json(c: &Contextualize) -> J {
    let mut m = Map::new();
    m.insert("class".into(), J::from("contextualize"));
    if !c.max_time.is_zero() {
        m.insert("max_time".into(), number_json(c.max_time));
    }
    if let Some(items) = c.items.as_ref().filter(|i| !i.is_empty()) {
        let arr = items
            .values()
            .map(|i| {
                let mut o = Map::new();
                o.insert("system".into(), J::from(i.system.as_str()));
                o.insert("configure".into(), J::from(i.configure.as_str()));
                if !i.step.is_zero() {
                    o.insert("step".into(), number_json(i.step));
                }
                if let Some(t) = &i.ctxt_tool {
                    o.insert("ctxt_tool".into(), J::from(t.as_str()));
                }
                J::Object(o)
            })
            .collect();
        m.insert("items".into(), J::Array(arr));
    }
    if let Some(opts) = c.options.as_ref().filter(|o| !o.is_empty()) {
        let mut fs = Features::new();
        for f in opts.values() {
            // Options are keyed by name, so re-adding them cannot conflict.
            let _ = fs.add(
                FeatureItem::Feature(f.clone()),
                crate::model::Conflict::Other,
                crate::model::Missing::Other,
            );
        }
        m.insert("options".into(), J::Object(features_json(&fs)));
    }
    J::Object(m)
}

/// The JSON array of a document (`radlToSimple`), in the reference's order:
/// ansible hosts, networks, systems, configures, deploys, contextualize,
/// description.
pub fn radl_to_json(r: &Radl) -> J {
    let mut out = Vec::new();
    for a in &r.ansible_hosts {
        out.push(cfeatures("ansible", &a.id, false, &a.features));
    }
    for n in &r.networks {
        out.push(cfeatures("network", &n.id, n.reference, &n.features));
    }
    for s in &r.systems {
        out.push(system_to_json(s));
    }
    for c in &r.configures {
        let mut m = head("configure", &c.name);
        if c.reference {
            m.insert("reference".into(), J::Bool(true));
        } else {
            m.insert(
                "recipes".into(),
                c.recipes.as_deref().map_or(J::Null, J::from),
            );
        }
        out.push(J::Object(m));
    }
    for d in &r.deploys {
        let mut m = Map::new();
        m.insert("class".into(), J::from("deploy"));
        m.insert("system".into(), J::from(d.system.as_str()));
        m.insert("vm_number".into(), number_json(d.vm_number));
        if let Some(c) = &d.cloud_id {
            m.insert("cloud".into(), J::from(c.as_str()));
        }
        out.push(J::Object(m));
    }
    if r.contextualize.is_present() {
        out.push(contextualize_json(&r.contextualize));
    }
    if let Some(d) = &r.description {
        out.push(cfeatures("description", &d.id, d.reference, &d.features));
    }
    J::Array(out)
}

/// Returns the value with every object's keys sorted (the reference's
/// `dump_radl` default, used by the fixtures and `im radl json`).
pub fn sort_keys(v: J) -> J {
    match v {
        J::Object(m) => {
            let mut entries: Vec<(String, J)> = m.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            J::Object(
                entries
                    .into_iter()
                    .map(|(k, v)| (k, sort_keys(v)))
                    .collect(),
            )
        }
        J::Array(a) => J::Array(a.into_iter().map(sort_keys).collect()),
        other => other,
    }
}

fn jerr(msg: impl Into<String>) -> RadlError {
    RadlError::new(ErrorKind::Json, msg, None)
}

fn as_number(v: &J) -> Option<Number> {
    match v {
        J::Bool(b) => Some(Number::Int(i64::from(*b))),
        J::Number(n) => Some(match n.as_i64() {
            Some(i) => Number::Int(i),
            None => Number::Float(n.as_f64().unwrap_or(f64::NAN)),
        }),
        _ => None,
    }
}

fn str_field<'a>(o: &'a Map<String, J>, key: &str, class: &str) -> Result<&'a str, RadlError> {
    match o.get(key) {
        Some(J::String(s)) => Ok(s),
        Some(_) => Err(jerr(format!(
            "'{key}' of a JSON RADL {class} must be a string"
        ))),
        None => Err(jerr(format!("A JSON RADL {class} needs '{key}'"))),
    }
}

/// Features from the keys of a JSON object (`p_features`).
fn json_features(o: &Map<String, J>, skip_reference: bool) -> Result<Features, RadlError> {
    let mut items = Vec::new();
    for (k, v) in o {
        if k == "class" || k == "id" || (skip_reference && k == "reference") {
            continue;
        }
        if k == "softs" {
            let list = v
                .as_array()
                .ok_or_else(|| jerr("'softs' must be a list of objects"))?;
            for s in list {
                let s = s
                    .as_object()
                    .ok_or_else(|| jerr("'softs' must be a list of objects"))?;
                let weight = match s.get("weight") {
                    None => Number::Int(0),
                    Some(w) => {
                        as_number(w).ok_or_else(|| jerr("a soft 'weight' must be a number"))?
                    }
                };
                let inner = match s.get("items") {
                    None => Features::new(),
                    Some(J::Object(i)) => json_features(i, false)?,
                    Some(_) => return Err(jerr("soft 'items' must be an object")),
                };
                items.push(FeatureItem::Soft(SoftFeatures {
                    weight,
                    features: inner,
                    pos: None,
                }));
            }
            continue;
        }
        if let Some(n) = as_number(v) {
            let (name, op) = if let Some(b) = k.strip_suffix("_min") {
                (b, Operator::Ge)
            } else if let Some(b) = k.strip_suffix("_max") {
                (b, Operator::Le)
            } else {
                (k.as_str(), Operator::Eq)
            };
            items.push(FeatureItem::Feature(Feature::new(
                name,
                op,
                Value::Number(n),
            )));
            continue;
        }
        match v {
            J::String(s) => items.push(FeatureItem::Feature(Feature::new(
                k.as_str(),
                Operator::Eq,
                Value::Str(s.clone()),
            ))),
            J::Array(list) => {
                let string_list = (k.starts_with("disk") && k.ends_with("image.url"))
                    || (k.starts_with("net_interface") && k.ends_with("additional_dns_names"));
                if string_list {
                    let strings = list
                        .iter()
                        .map(|x| x.as_str().map(str::to_string))
                        .collect::<Option<Vec<_>>>()
                        .ok_or_else(|| jerr(format!("'{k}' must be a list of strings")))?;
                    items.push(FeatureItem::Feature(Feature::new(
                        k.as_str(),
                        Operator::Eq,
                        Value::List(strings),
                    )));
                } else {
                    for x in list {
                        let obj = x.as_object().filter(|o| !o.contains_key("class")).ok_or_else(|| {
                            jerr(format!(
                                "'{k}' must be a list of objects (a list of strings is only valid for disk.N.image.url and net_interface.N.additional_dns_names)"
                            ))
                        })?;
                        items.push(FeatureItem::Feature(Feature::new(
                            k.as_str(),
                            Operator::Contains,
                            Value::Features(Box::new(json_features(obj, false)?)),
                        )));
                    }
                }
            }
            J::Null => return Err(jerr(format!("Feature '{k}' has a null value"))),
            _ => {
                return Err(jerr(format!(
                    "Feature '{k}' must be a string, a number or a list"
                )));
            }
        }
    }
    Features::from_items(items)
}

fn json_aspect(v: &J) -> Result<Aspect, RadlError> {
    let o = v
        .as_object()
        .ok_or_else(|| jerr("Every element of a JSON RADL must be an object"))?;
    let class = match o.get("class") {
        Some(J::String(c)) => c.as_str(),
        _ => return Err(jerr("A JSON RADL element needs a string 'class'")),
    };
    let reference = o.get("reference").is_some_and(|r| match r {
        J::Bool(b) => *b,
        J::Null => false,
        J::Number(n) => n.as_f64() != Some(0.0),
        J::String(s) => !s.is_empty(),
        _ => true,
    });
    match class {
        "configure" => {
            let name = str_field(o, "id", class)?.to_string();
            if reference {
                return Ok(Aspect::Configure(Configure {
                    name,
                    recipes: None,
                    reference: true,
                    pos: None,
                }));
            }
            let recipes = match o.get("recipes") {
                Some(J::String(r)) => {
                    crate::yaml::validate(r)
                        .map_err(|e| jerr(format!("Error parsing YAML: {e}")))?;
                    Some(r.clone())
                }
                Some(J::Null) => None,
                Some(_) => return Err(jerr("'recipes' of a configure must be a string or null")),
                None => return Err(jerr(format!("Configure '{name}' needs 'recipes'"))),
            };
            Ok(Aspect::Configure(Configure {
                name,
                recipes,
                reference: false,
                pos: None,
            }))
        }
        "deploy" => {
            let system = str_field(o, "system", class)?.to_string();
            let vm_number = o
                .get("vm_number")
                .and_then(as_number)
                .ok_or_else(|| jerr("A JSON RADL deploy needs a numeric 'vm_number'"))?;
            let cloud_id = match o.get("cloud") {
                None | Some(J::Null) => None,
                Some(J::String(c)) => Some(c.clone()),
                Some(_) => return Err(jerr("'cloud' of a deploy must be a string")),
            };
            Ok(Aspect::Deploy(Deploy {
                system,
                vm_number,
                cloud_id,
                pos: None,
            }))
        }
        "contextualize" => {
            let max_time = match o.get("max_time") {
                None => Number::Int(0),
                Some(m) => as_number(m).ok_or_else(|| jerr("'max_time' must be a number"))?,
            };
            let mut items = IndexMap::new();
            if let Some(list) = o.get("items") {
                let list = list
                    .as_array()
                    .ok_or_else(|| jerr("contextualize 'items' must be a list"))?;
                for i in list {
                    let io = i
                        .as_object()
                        .ok_or_else(|| jerr("contextualize items must be objects"))?;
                    let item = ContextualizeItem {
                        system: str_field(io, "system", "contextualize item")?.to_string(),
                        configure: str_field(io, "configure", "contextualize item")?.to_string(),
                        step: match io.get("step") {
                            None => Number::Int(0),
                            Some(s) => {
                                as_number(s).ok_or_else(|| jerr("'step' must be a number"))?
                            }
                        },
                        ctxt_tool: match io.get("ctxt_tool") {
                            None | Some(J::Null) => None,
                            Some(J::String(t)) => Some(t.clone()),
                            Some(_) => return Err(jerr("'ctxt_tool' must be a string")),
                        },
                        pos: None,
                    };
                    items.insert((item.system.clone(), item.configure.clone()), item);
                }
            }
            let mut options = IndexMap::new();
            match o.get("options") {
                None => {}
                Some(J::Object(opts)) => {
                    for item in json_features(opts, false)?.into_items() {
                        if let FeatureItem::Feature(f) = item {
                            options.insert(f.name.clone(), f);
                        }
                    }
                }
                Some(_) => return Err(jerr("contextualize 'options' must be an object")),
            }
            Ok(Aspect::Contextualize(Contextualize {
                max_time,
                items: Some(items),
                options: Some(options),
                pos: None,
            }))
        }
        "network" | "system" | "ansible" | "description" => {
            let id = match o.get("id") {
                Some(J::String(s)) if !s.is_empty() => s.clone(),
                _ => {
                    return Err(jerr(format!(
                        "A JSON RADL {class} needs a non-empty string 'id'"
                    )));
                }
            };
            let features = if reference {
                Features::new()
            } else {
                json_features(o, true)?
            };
            Ok(match class {
                "network" => Aspect::Network(Network {
                    id,
                    reference,
                    features,
                    pos: None,
                }),
                "system" => Aspect::System(System {
                    name: id,
                    reference,
                    features,
                    pos: None,
                }),
                "description" => Aspect::Description(Description {
                    id,
                    reference,
                    features,
                    pos: None,
                }),
                _ if reference => {
                    return Err(jerr("An ansible element cannot be a reference"));
                }
                _ => Aspect::Ansible(Ansible {
                    id,
                    features,
                    pos: None,
                }),
            })
        }
        other => Err(jerr(format!("Unknown JSON RADL class '{other}'"))),
    }
}

/// Builds a document from an already-parsed JSON value (an array of objects).
pub fn radl_from_json(v: &J) -> Result<Radl, RadlError> {
    let list = v
        .as_array()
        .ok_or_else(|| jerr("A JSON RADL document must be a list of objects"))?;
    let mut radl = Radl::new();
    for item in list {
        radl.add(json_aspect(item)?, IfPresent::Error)?;
    }
    Ok(radl)
}

/// Parses the JSON form of RADL.
pub fn parse_radl_json(text: &str) -> Result<Radl, RadlError> {
    let v: J = serde_json::from_str(text).map_err(|e| jerr(format!("Invalid JSON: {e}")))?;
    radl_from_json(&v)
}
