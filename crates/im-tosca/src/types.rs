//! The type system: the normative TOSCA 1.0 definitions (tosca-parser 2.15.0's
//! copy, embedded), the custom type files the IM's templates import (embedded,
//! keyed by their URLs), and `derived_from` inheritance with tosca-parser's
//! lookup and merging rules.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, OnceLock};

use indexmap::IndexMap;

use crate::yaml::{Map, Value};

/// Prefix of node type names.
pub const NODE: &str = "tosca.nodes.";
/// Prefix of relationship type names.
pub const RELATIONSHIP: &str = "tosca.relationships.";
/// Prefix of capability type names.
pub const CAPABILITY: &str = "tosca.capabilities.";
/// Prefix of data type names.
pub const DATATYPE: &str = "tosca.datatypes.";
/// Prefix of policy type names.
pub const POLICY: &str = "tosca.policies.";

/// The sections of a definitions file that hold types.
pub(crate) const TYPE_SECTIONS: [&str; 8] = [
    "node_types",
    "capability_types",
    "relationship_types",
    "data_types",
    "interface_types",
    "policy_types",
    "group_types",
    "artifact_types",
];

const NORMATIVE_TEXT: &str = include_str!("../types/TOSCA_definition_1_0.yaml");

/// The custom type files shipped with the crate, by the URLs templates import
/// them from (see `types/README.md`).
const SHIPPED: &[(&str, &str)] = &[
    (
        "https://raw.githubusercontent.com/indigo-dc/tosca-types/master/custom_types.yaml",
        include_str!("../types/indigo-dc_tosca-types_master.yaml"),
    ),
    (
        "https://raw.githubusercontent.com/indigo-dc/tosca-types/devel/custom_types.yaml",
        include_str!("../types/indigo-dc_tosca-types_devel.yaml"),
    ),
    (
        "https://raw.githubusercontent.com/indigo-dc/tosca-types/v4.0.0/custom_types.yaml",
        include_str!("../types/indigo-dc_tosca-types_v4.0.0.yaml"),
    ),
    (
        "https://raw.githubusercontent.com/grycap/tosca/main/custom_types.yaml",
        include_str!("../types/grycap_tosca_main.yaml"),
    ),
    (
        "https://raw.githubusercontent.com/grycap/ec3/tosca/tosca/custom_types.yaml",
        include_str!("../types/grycap_ec3_tosca.yaml"),
    ),
];

/// The parsed types of a shipped type file (parsed once per process).
pub(crate) fn shipped_types(url: &str) -> Option<&'static IndexMap<String, Map>> {
    static PARSED: OnceLock<Vec<IndexMap<String, Map>>> = OnceLock::new();
    let all = PARSED.get_or_init(|| {
        SHIPPED
            .iter()
            .map(|(_, text)| {
                let mut out = IndexMap::new();
                // Checked by a test: every shipped file parses.
                if let Ok(doc) = crate::yaml::parse_value(text) {
                    collect_types(&doc, &mut out);
                }
                out
            })
            .collect()
    });
    SHIPPED
        .iter()
        .position(|(u, _)| *u == url)
        .and_then(|i| all.get(i))
}

/// The text of a type file shipped with the crate for `url`, if any.
pub fn shipped_type_file(url: &str) -> Option<&'static str> {
    SHIPPED.iter().find(|(u, _)| *u == url).map(|(_, t)| *t)
}

/// The URLs whose type files ship with the crate.
pub fn shipped_type_urls() -> impl Iterator<Item = &'static str> {
    SHIPPED.iter().map(|(u, _)| *u)
}

/// Collects the type definitions of a definitions document, section by section.
pub(crate) fn collect_types(doc: &Value, into: &mut IndexMap<String, Map>) {
    for section in TYPE_SECTIONS {
        if let Some(Value::Map(types)) = doc.get(section) {
            for (name, def) in types {
                let def = match def {
                    Value::Map(m) => m.clone(),
                    _ => Map::new(),
                };
                into.insert(name.clone(), def);
            }
        }
    }
}

fn normative() -> &'static IndexMap<String, Map> {
    static DEFS: OnceLock<IndexMap<String, Map>> = OnceLock::new();
    DEFS.get_or_init(|| {
        let mut out = IndexMap::new();
        // The embedded file is checked by a test; an unreadable copy would give
        // no types at all, which every conversion reports.
        if let Ok(doc) = crate::yaml::parse_value(NORMATIVE_TEXT) {
            collect_types(&doc, &mut out);
        }
        out
    })
}

/// A table of custom types shared between documents: a shipped file's (parsed
/// once per process) or a fetched file's (parsed once per distinct text).
#[derive(Debug, Clone)]
pub(crate) enum Table {
    Shipped(&'static IndexMap<String, Map>),
    Shared(Arc<IndexMap<String, Map>>),
}

impl Table {
    fn get(&self, name: &str) -> Option<&Map> {
        match self {
            Table::Shipped(t) => t.get(name),
            Table::Shared(t) => t.get(name),
        }
    }
}

/// One source of custom types: a table, with its names under a namespace
/// prefix (`PREFIX.NAME`) when the import gave one.
#[derive(Debug, Clone)]
pub(crate) struct Layer {
    pub table: Table,
    pub prefix: Option<String>,
}

impl Layer {
    fn get(&self, name: &str) -> Option<&Map> {
        match &self.prefix {
            None => self.table.get(name),
            Some(p) => name
                .strip_prefix(p.as_str())
                .and_then(|rest| rest.strip_prefix('.'))
                .and_then(|rest| self.table.get(rest)),
        }
    }
}

/// The types a document can use: the normative ones and its custom ones.
///
/// The custom ones are layers looked up from the last to the first, which
/// answers as one table filled layer by layer (a later definition of a name
/// replacing an earlier one) would, without copying the imported tables into
/// every document's.
///
/// The tables never change once built, so what is derived from them (chains,
/// merged values, inherited definitions) is kept per `Types`: the same few
/// types are asked about for every node, relationship and capability.
#[derive(Debug, Default)]
pub struct Types {
    layers: Vec<Layer>,
    derived: Mutex<Derived>,
}

/// What was derived from the tables, by `prefix`, `key` and type name.
#[derive(Debug, Default)]
struct Derived {
    chains: HashMap<(String, String), Arc<[String]>>,
    merged: HashMap<(String, String, String), Option<Arc<Value>>>,
    definitions: HashMap<(String, String, String), Arc<IndexMap<String, Map>>>,
}

/// At most this many answers are kept per kind of derived value.
const MAX_DERIVED: usize = 4096;

/// The types of documents with no custom types.
fn normative_only() -> &'static Types {
    static TYPES: OnceLock<Types> = OnceLock::new();
    TYPES.get_or_init(Types::default)
}

impl Clone for Types {
    fn clone(&self) -> Self {
        Types::layered(self.layers.clone())
    }
}

impl Types {
    /// The normative types plus custom layers, later ones winning.
    pub(crate) fn layered(layers: Vec<Layer>) -> Self {
        Types {
            layers,
            derived: Mutex::new(Derived::default()),
        }
    }

    /// `make()`, kept in the cache `pick` selects under `key`. The lock is
    /// not held while making (making may ask for other derived values).
    ///
    /// A document with no custom types (nothing imported, nothing defined)
    /// gets the same answers as any other such document: those are kept once
    /// per process, in the cache of a `Types` without layers.
    fn derived<K, V>(
        &self,
        pick: impl Fn(&mut Derived) -> &mut HashMap<K, V>,
        key: K,
        make: impl FnOnce() -> V,
    ) -> V
    where
        K: std::hash::Hash + Eq,
        V: Clone,
    {
        let cache = if self.layers.is_empty() {
            &normative_only().derived
        } else {
            &self.derived
        };
        if let Ok(mut d) = cache.lock()
            && let Some(v) = pick(&mut d).get(&key)
        {
            return v.clone();
        }
        let v = make();
        if let Ok(mut d) = cache.lock() {
            let map = pick(&mut d);
            // Type names come from the documents: the process-wide cache
            // must not grow without end.
            if map.len() >= MAX_DERIVED {
                map.clear();
            }
            map.insert(key, v.clone());
        }
        v
    }

    fn custom(&self, name: &str) -> Option<&Map> {
        self.layers.iter().rev().find_map(|l| l.get(name))
    }

    /// Whether a custom (imported or inline) type of this exact name exists.
    pub fn is_custom(&self, name: &str) -> bool {
        self.custom(name).is_some()
    }

    /// Whether `name` names any type (custom, or normative by its full name).
    pub fn is_type_name(&self, name: &str) -> bool {
        self.is_custom(name) || normative().contains_key(name)
    }

    /// Resolves a type name as tosca-parser does: `tosca:X` and names that do not
    /// start with `tosca` get the section's prefix; custom definitions are looked
    /// up by the name as written first, then the normative ones by the full name.
    pub fn resolve(&self, name: &str, prefix: &str) -> Option<(String, &Map)> {
        let mut short = name;
        let mut full = name.to_string();
        if let Some(rest) = name.strip_prefix("tosca:") {
            short = rest;
            full = format!("{prefix}{rest}");
        }
        if !short.starts_with("tosca") {
            full = format!("{prefix}{short}");
        }
        if let Some(def) = self.custom(short) {
            return Some((short.to_string(), def));
        }
        normative().get(&full).map(|d| (full, d))
    }

    /// The definition of a resolved (full) type name.
    pub fn def(&self, full: &str) -> Option<&Map> {
        self.custom(full).or_else(|| normative().get(full))
    }

    /// The parent of a resolved type, resolved with the same prefix.
    pub fn parent(&self, full: &str, prefix: &str) -> Option<String> {
        let def = self.def(full)?;
        let parent = def.get("derived_from")?.as_str()?;
        self.resolve(parent, prefix).map(|(n, _)| n)
    }

    /// The type and its ancestors, nearest first (cycles are cut).
    pub fn chain(&self, full: &str, prefix: &str) -> Arc<[String]> {
        self.derived(
            |d| &mut d.chains,
            (full.to_string(), prefix.to_string()),
            || self.make_chain(full, prefix).into(),
        )
    }

    fn make_chain(&self, full: &str, prefix: &str) -> Vec<String> {
        let mut out = vec![full.to_string()];
        let mut seen: HashSet<String> = out.iter().cloned().collect();
        let mut here = full.to_string();
        while let Some(p) = self.parent(&here, prefix) {
            if !seen.insert(p.clone()) {
                break;
            }
            out.push(p.clone());
            here = p;
        }
        out
    }

    /// Whether `full` is `ancestor` or derives from it.
    pub fn derives_from(&self, full: &str, ancestor: &str, prefix: &str) -> bool {
        self.chain(full, prefix).iter().any(|t| t == ancestor)
    }

    /// The IM's "root type": the type just below a `*.Root` type in the chain
    /// (the type itself when it has no parent).
    pub fn root_type(&self, full: &str, prefix: &str) -> String {
        let chain = self.chain(full, prefix);
        for pair in chain.windows(2) {
            if pair[1].ends_with(".Root") {
                return pair[0].clone();
            }
        }
        chain.last().cloned().unwrap_or_else(|| full.to_string())
    }

    /// tosca-parser's `get_value(key, parent=True)`: the type's own value, with
    /// the ancestors' map keys (or list items) that it lacks appended.
    pub fn merged_value(&self, full: &str, prefix: &str, key: &str) -> Option<Arc<Value>> {
        self.derived(
            |d| &mut d.merged,
            (full.to_string(), prefix.to_string(), key.to_string()),
            || self.make_merged_value(full, prefix, key).map(Arc::new),
        )
    }

    fn make_merged_value(&self, full: &str, prefix: &str, key: &str) -> Option<Value> {
        let mut value: Option<Value> = None;
        for t in self.chain(full, prefix).iter() {
            let Some(parent_value) = self.def(t).and_then(|d| d.get(key)) else {
                continue;
            };
            match &mut value {
                None => value = Some(parent_value.clone()),
                Some(Value::Map(m)) => {
                    if let Value::Map(pm) = parent_value {
                        for (k, v) in pm {
                            if !m.contains_key(k) {
                                m.insert(k.clone(), v.clone());
                            }
                        }
                    }
                }
                Some(Value::List(l)) => {
                    if let Value::List(pl) = parent_value {
                        for v in pl {
                            if !l.contains(v) {
                                l.push(v.clone());
                            }
                        }
                    }
                }
                Some(v) if !v.truthy() => *v = parent_value.clone(),
                Some(_) => {}
            }
        }
        value
    }

    /// The property (or attribute) definitions of a type and its ancestors
    /// (tosca-parser's `get_definition`): the nearest definition of each name
    /// wins; names appear in the type's own order, then the ancestors' new ones.
    pub fn definitions(&self, full: &str, prefix: &str, key: &str) -> Arc<IndexMap<String, Map>> {
        self.derived(
            |d| &mut d.definitions,
            (full.to_string(), prefix.to_string(), key.to_string()),
            || Arc::new(self.make_definitions(full, prefix, key)),
        )
    }

    fn make_definitions(&self, full: &str, prefix: &str, key: &str) -> IndexMap<String, Map> {
        let mut out: IndexMap<String, Map> = IndexMap::new();
        for t in self.chain(full, prefix).iter() {
            if let Some(Value::Map(defs)) = self.def(t).and_then(|d| d.get(key)) {
                for (name, schema) in defs {
                    if !out.contains_key(name) {
                        out.insert(name.clone(), schema.as_map().cloned().unwrap_or_default());
                    }
                }
            }
        }
        out
    }

    /// The own (not inherited) entries of `key` in a type's definition.
    pub fn own(&self, full: &str, key: &str) -> Option<&Value> {
        self.def(full).and_then(|d| d.get(key))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_type_files_are_readable_yaml() {
        assert!(normative().contains_key("tosca.nodes.Compute"));
        for (url, text) in SHIPPED {
            let doc = crate::yaml::parse_value(text).expect(url);
            let mut types = IndexMap::new();
            collect_types(&doc, &mut types);
            assert!(types.len() > 10, "{url}");
        }
    }

    #[test]
    fn short_names_resolve_to_normative_types() {
        let t = Types::default();
        assert_eq!(
            t.resolve("AttachesTo", RELATIONSHIP).map(|x| x.0),
            Some("tosca.relationships.AttachesTo".to_string())
        );
        assert_eq!(
            t.resolve("tosca:Compute", NODE).map(|x| x.0),
            Some("tosca.nodes.Compute".to_string())
        );
        assert!(t.resolve("tosca.nodes.indigo.Compute", NODE).is_none());
        assert_eq!(
            t.root_type("tosca.nodes.DBMS", NODE),
            "tosca.nodes.SoftwareComponent"
        );
        assert_eq!(t.root_type("tosca.nodes.Root", NODE), "tosca.nodes.Root");
    }
}
