//! The topology of a TOSCA document as tosca-parser builds it: node templates
//! with their properties (template values, then type defaults), capabilities,
//! requirements and relationships, relationship templates, inputs, groups,
//! policies and outputs; and its validation against the types.
//!
//! The relationship rules follow tosca-parser's `NodeTemplate.relationships`:
//! a requirement gives one relationship for every requirement definition of the
//! node type whose relationship type matches (so a node can relate twice to the
//! same target), and an inline relationship of a custom type derived from a
//! matching type creates a relationship template of that custom type.

use indexmap::IndexMap;

use crate::error::{Issue, IssueKind, ToscaError};
use crate::fetch::Fetcher;
use crate::imports::{custom_types, repositories};
use crate::types::{self, CAPABILITY, DATATYPE, NODE, RELATIONSHIP, Types};
use crate::units::{ScalarKind, parse_scalar};
use crate::yaml::{Map, Spans, Value};

/// The TOSCA versions tosca-parser accepts.
const VERSIONS: [&str; 5] = [
    "tosca_simple_yaml_1_0",
    "tosca_simple_yaml_1_2",
    "tosca_simple_yaml_1_3",
    "tosca_simple_profile_for_nfv_1_0_0",
    "tosca_simple_profile_for_mec_1_0_0",
];

const TOP_SECTIONS: [&str; 21] = [
    "tosca_definitions_version",
    "tosca_default_namespace",
    "template_name",
    "topology_template",
    "template_author",
    "template_version",
    "description",
    "imports",
    "dsl_definitions",
    "node_types",
    "relationship_types",
    "relationship_templates",
    "capability_types",
    "artifact_types",
    "data_types",
    "interface_types",
    "policy_types",
    "group_types",
    "repositories",
    "metadata",
    "workflows",
];

const TOPOLOGY_SECTIONS: [&str; 10] = [
    "description",
    "inputs",
    "node_templates",
    "relationship_templates",
    "outputs",
    "groups",
    "substitution_mappings",
    "policies",
    "workflows",
    "metadata",
];

const NODE_SECTIONS: [&str; 13] = [
    "derived_from",
    "properties",
    "requirements",
    "interfaces",
    "capabilities",
    "type",
    "description",
    "directives",
    "attributes",
    "artifacts",
    "node_filter",
    "copy",
    "metadata",
];

/// The names of the intrinsic functions (a one-key map with one of them is a call).
pub(crate) const FUNCTIONS: [&str; 8] = [
    "get_property",
    "get_input",
    "get_attribute",
    "get_operation_output",
    "concat",
    "token",
    "join",
    "get_artifact",
];

/// Whether a value is a function call.
pub(crate) fn is_function(v: &Value) -> bool {
    match v {
        Value::Map(m) if m.len() == 1 => m.keys().all(|k| FUNCTIONS.contains(&k.as_str())),
        _ => false,
    }
}

/// A relationship template (named in `relationship_templates`, or made from an
/// inline requirement).
#[derive(Debug, Clone)]
pub(crate) struct RelTpl {
    /// Its name, lower-cased (tosca-parser does so; inline ones are named after
    /// their type).
    pub name: String,
    /// The resolved relationship type.
    pub type_name: String,
    /// Properties: the template's (defined ones), then the type's defaults.
    pub props: IndexMap<String, Value>,
    /// Template-level interfaces (`interfaces:` of the inline relationship).
    pub interfaces: Map,
    /// The source node.
    pub source: String,
    /// The target node.
    pub target: String,
}

/// One relationship of a node.
#[derive(Debug, Clone)]
pub(crate) struct Rel {
    /// The relationship type as the node type's requirement defines it (what
    /// the reference tests with `_is_derived_from`).
    pub rtype: String,
    /// The target node's name.
    pub target: String,
    /// The relationship template.
    pub tpl: RelTpl,
}

/// A capability of a node template.
#[derive(Debug, Clone)]
pub(crate) struct Cap {
    /// Its resolved capability type.
    pub type_name: String,
    /// Its properties: the type's own defaults, then the template's values.
    pub props: IndexMap<String, Value>,
}

/// A node template.
#[derive(Debug, Clone)]
pub(crate) struct NodeTpl {
    /// Its name.
    pub name: String,
    /// Its resolved type.
    pub type_name: String,
    /// The template as written.
    pub tpl: Map,
    /// Properties: the template's (defined ones), then the type's defaults;
    /// values of `string` properties as their Python `str()`, as tosca-parser's
    /// validation leaves them.
    pub props: IndexMap<String, Value>,
    /// The same properties as written: tosca-parser reaches relationship
    /// targets through node objects it never validated.
    pub raw_props: IndexMap<String, Value>,
    /// Capabilities: the template's, then the type's.
    pub caps: IndexMap<String, Cap>,
    /// The template's requirements, one entry per `- name: target`.
    pub reqs: Vec<(String, Value)>,
    /// Its relationships, in requirement order.
    pub rels: Vec<Rel>,
}

/// A policy.
#[derive(Debug, Clone)]
pub(crate) struct Policy {
    /// Its resolved type.
    pub type_name: String,
    /// Its properties.
    pub props: Map,
    /// The node names it targets (groups expanded to their members).
    pub targets: Vec<String>,
}

/// The parsed and validated topology of a document.
#[derive(Debug, Clone)]
pub(crate) struct Topology {
    /// The types the document can use.
    pub types: Types,
    /// Input definitions.
    pub inputs: IndexMap<String, Map>,
    /// Node templates in document order.
    pub nodes: Vec<NodeTpl>,
    /// Policies in document order.
    pub policies: Vec<Policy>,
    /// Outputs: name → value expression.
    pub outputs: IndexMap<String, Value>,
    /// Repositories: name → URL.
    pub repositories: IndexMap<String, String>,
    /// `metadata` of the document.
    pub metadata: Map,
}

/// Collects validation problems with their template lines.
pub(crate) struct Issues<'a> {
    spans: &'a Spans,
    pub list: Vec<Issue>,
}

impl<'a> Issues<'a> {
    fn new(spans: &'a Spans) -> Self {
        Issues {
            spans,
            list: Vec::new(),
        }
    }

    pub(crate) fn add(&mut self, kind: IssueKind, message: impl Into<String>, path: &[&str]) {
        let line = match self.spans.locate(path).0 {
            0 => None,
            l => Some(l),
        };
        let issue = Issue {
            kind,
            message: message.into(),
            line,
        };
        if !self.list.contains(&issue) {
            self.list.push(issue);
        }
    }
}

fn map_of(v: Option<&Value>) -> Map {
    v.and_then(Value::as_map).cloned().unwrap_or_default()
}

impl Topology {
    /// Builds and validates the topology of a document.
    pub(crate) fn build(
        doc: &Value,
        spans: &Spans,
        fetcher: &dyn Fetcher,
    ) -> Result<Topology, ToscaError> {
        let mut issues = Issues::new(spans);
        let Some(root) = doc.as_map() else {
            return Err(ToscaError::Syntax {
                message: "a TOSCA template must be a YAML map".into(),
                line: None,
                column: None,
            });
        };
        match root.get("tosca_definitions_version") {
            None => issues.add(
                IssueKind::MissingRequiredField,
                "Template is missing required field \"tosca_definitions_version\".",
                &[],
            ),
            Some(v) if !VERSIONS.contains(&v.py_str().as_str()) => issues.add(
                IssueKind::Value,
                format!(
                    "The template version \"{}\" is invalid. Valid versions are \"{}\".",
                    v.py_str(),
                    VERSIONS.join(", ")
                ),
                &["tosca_definitions_version"],
            ),
            Some(_) => {}
        }
        for key in root.keys() {
            if !TOP_SECTIONS.contains(&key.as_str()) {
                issues.add(
                    IssueKind::UnknownField,
                    format!("Template contains unknown field \"{key}\"."),
                    &[key],
                );
            }
        }
        let types = custom_types(doc, fetcher)?;
        let null = Value::Null;
        let empty = Map::new();
        let topo = root.get("topology_template").unwrap_or(&null);
        if !matches!(topo, Value::Map(_) | Value::Null) {
            issues.add(
                IssueKind::TypeMismatch,
                "topology_template must be of type \"map\".",
                &["topology_template"],
            );
        }
        for key in topo.as_map().unwrap_or(&empty).keys() {
            if !TOPOLOGY_SECTIONS.contains(&key.as_str()) {
                issues.add(
                    IssueKind::UnknownField,
                    format!("Template contains unknown field \"{key}\"."),
                    &["topology_template", key],
                );
            }
        }
        let mut inputs = IndexMap::new();
        for (name, def) in map_of(topo.get("inputs")) {
            let def = match def {
                Value::Map(m) => m,
                // A bare value is taken as the default (what template_file
                // merging produces).
                other => {
                    let mut m = Map::new();
                    m.insert("default".into(), other);
                    m
                }
            };
            inputs.insert(name, def);
        }
        let mut t = Topology {
            types,
            inputs,
            nodes: Vec::new(),
            policies: Vec::new(),
            outputs: IndexMap::new(),
            repositories: repositories(doc),
            metadata: map_of(root.get("metadata")),
        };
        t.check_inputs(&mut issues);
        let section = |key: &str| topo.get(key).and_then(Value::as_map).unwrap_or(&empty);
        let node_tpls = section("node_templates");
        let rel_tpls = t.named_rel_templates(section("relationship_templates"), &mut issues);
        for (name, tpl) in node_tpls {
            if let Some(node) = t.build_node(name, tpl, node_tpls, &rel_tpls, &mut issues) {
                t.nodes.push(node);
            }
        }
        for (name, out) in map_of(topo.get("outputs")) {
            match out.get("value") {
                Some(v) => {
                    t.outputs.insert(name, v.clone());
                }
                None => issues.add(
                    IssueKind::MissingRequiredField,
                    format!("Output \"{name}\" is missing required field \"value\"."),
                    &["topology_template", "outputs", &name],
                ),
            }
        }
        t.build_policies(topo, &mut issues);
        t.check_functions(topo, &mut issues);
        if issues.list.is_empty() {
            Ok(t)
        } else {
            Err(ToscaError::Invalid(issues.list))
        }
    }

    fn check_inputs(&self, issues: &mut Issues) {
        for (name, def) in &self.inputs {
            let path = ["topology_template", "inputs", name.as_str(), "default"];
            let (Some(ty), Some(default)) =
                (def.get("type").and_then(Value::as_str), def.get("default"))
            else {
                continue;
            };
            // Only the default's type is checked, as the reference does:
            // input constraints are not enforced (the IM Dashboard's own
            // htcondor_cluster template has a default outside its valid_values).
            if !default.is_null() && !is_function(default) {
                let mut schema = def.clone();
                schema.shift_remove("constraints");
                self.check_type(ty, default, &schema, name, &path, issues);
            }
        }
    }

    fn named_rel_templates(&self, tpls: &Map, issues: &mut Issues) -> Vec<RelTpl> {
        let mut out = Vec::new();
        for (name, tpl) in tpls {
            let path = ["topology_template", "relationship_templates", name.as_str()];
            let Some(ty) = tpl.get("type").and_then(Value::as_str) else {
                issues.add(
                    IssueKind::MissingRequiredField,
                    format!("Template \"{name}\" is missing required field \"type\"."),
                    &path,
                );
                continue;
            };
            let Some((type_name, _)) = self.types.resolve(ty, RELATIONSHIP) else {
                issues.add(
                    IssueKind::InvalidType,
                    format!("Type \"{ty}\" is not a valid type."),
                    &path,
                );
                continue;
            };
            let given = map_of(tpl.get("properties"));
            out.push(RelTpl {
                name: name.to_lowercase(),
                props: self.rel_props(&type_name, &given),
                type_name,
                interfaces: map_of(tpl.get("interfaces")),
                source: String::new(),
                target: String::new(),
            });
        }
        out
    }

    /// Relationship properties: the given ones the type defines, then defaults.
    fn rel_props(&self, type_name: &str, given: &Map) -> IndexMap<String, Value> {
        let defs = self
            .types
            .definitions(type_name, RELATIONSHIP, "properties");
        let mut out = IndexMap::new();
        for (k, v) in given {
            if defs.contains_key(k) {
                out.insert(k.clone(), v.clone());
            }
        }
        for (k, schema) in defs.iter() {
            if let Some(d) = schema.get("default")
                && !d.is_null()
                && !given.contains_key(k)
            {
                out.insert(k.clone(), d.clone());
            }
        }
        out
    }

    fn build_node(
        &self,
        name: &str,
        tpl: &Value,
        all: &Map,
        rel_tpls: &[RelTpl],
        issues: &mut Issues,
    ) -> Option<NodeTpl> {
        let path = ["topology_template", "node_templates", name];
        let Some(tpl) = tpl.as_map() else {
            issues.add(
                IssueKind::MissingRequiredField,
                format!("Template \"{name}\" is missing required field \"type\"."),
                &path,
            );
            return None;
        };
        let Some(ty) = tpl.get("type") else {
            issues.add(
                IssueKind::MissingRequiredField,
                format!("Template \"{name}\" is missing required field \"type\"."),
                &path,
            );
            return None;
        };
        let ty = ty.py_str();
        let Some((type_name, _)) = self.types.resolve(&ty, NODE) else {
            issues.add(
                IssueKind::InvalidType,
                format!("Type \"{ty}\" is not a valid type."),
                &[path[0], path[1], name, "type"],
            );
            return None;
        };
        for key in tpl.keys() {
            if !NODE_SECTIONS.contains(&key.as_str()) {
                issues.add(
                    IssueKind::UnknownField,
                    format!("Node template \"{name}\" contains unknown field \"{key}\"."),
                    &[path[0], path[1], name, key],
                );
            }
        }
        let raw_props = self.node_props(name, &type_name, tpl, issues);
        let defs = self.types.definitions(&type_name, NODE, "properties");
        let props = raw_props
            .iter()
            .map(|(k, v)| {
                let string = defs
                    .get(k)
                    .and_then(|d| d.get("type"))
                    .and_then(Value::as_str)
                    == Some("string");
                let v = match v {
                    Value::Str(_) | Value::Null => v.clone(),
                    _ if string && !is_function(v) => Value::Str(v.py_str()),
                    _ => v.clone(),
                };
                (k.clone(), v)
            })
            .collect();
        let caps = self.node_caps(name, &type_name, tpl, issues);
        let reqs = self.node_reqs(name, tpl, issues);
        let mut node = NodeTpl {
            name: name.to_string(),
            type_name,
            tpl: tpl.clone(),
            props,
            raw_props,
            caps,
            reqs,
            rels: Vec::new(),
        };
        node.rels = self.relationships(&node, all, rel_tpls, issues);
        self.check_interfaces(&node, issues);
        Some(node)
    }

    fn node_props(
        &self,
        name: &str,
        type_name: &str,
        tpl: &Map,
        issues: &mut Issues,
    ) -> IndexMap<String, Value> {
        let defs = self.types.definitions(type_name, NODE, "properties");
        let given = match tpl.get("properties") {
            None | Some(Value::Null) => Map::new(),
            Some(Value::Map(m)) => m.clone(),
            Some(_) => {
                issues.add(
                    IssueKind::TypeMismatch,
                    format!("\"properties\" of template \"{name}\" must be of type \"map\"."),
                    &["topology_template", "node_templates", name, "properties"],
                );
                Map::new()
            }
        };
        self.check_props(
            &format!("\"properties\" of template \"{name}\""),
            &defs,
            &given,
            &["topology_template", "node_templates", name, "properties"],
            issues,
        );
        let mut out = IndexMap::new();
        for (k, v) in &given {
            if defs.contains_key(k) {
                out.insert(k.clone(), v.clone());
            }
        }
        for (k, schema) in defs.iter() {
            if let Some(d) = schema.get("default")
                && !d.is_null()
                && !given.contains_key(k)
            {
                out.insert(k.clone(), d.clone());
            }
        }
        out
    }

    /// Checks given property values against their definitions: unknown names,
    /// missing required ones, literal types and constraints.
    fn check_props(
        &self,
        what: &str,
        defs: &IndexMap<String, Map>,
        given: &Map,
        path: &[&str],
        issues: &mut Issues,
    ) {
        self.check_fields(what, defs, given, path, issues, |d| {
            d.is_some_and(|d| !d.is_null())
        });
    }

    /// [`Self::check_props`] with the rule for when a definition's default
    /// stands in for a missing required field (`fills`): tosca-parser's
    /// properties take any non-null default, its data types only a truthy one.
    fn check_fields(
        &self,
        what: &str,
        defs: &IndexMap<String, Map>,
        given: &Map,
        path: &[&str],
        issues: &mut Issues,
        fills: impl Fn(Option<&Value>) -> bool,
    ) {
        for k in given.keys() {
            if !defs.contains_key(k) {
                let mut p = path.to_vec();
                p.push(k);
                issues.add(
                    IssueKind::UnknownField,
                    format!("{what} contains unknown field \"{k}\"."),
                    &p,
                );
            }
        }
        let missing: Vec<&String> = defs
            .iter()
            .filter(|(k, schema)| {
                required(schema) && !fills(schema.get("default")) && !given.contains_key(*k)
            })
            .map(|(k, _)| k)
            .collect();
        if !missing.is_empty() {
            issues.add(
                IssueKind::MissingRequiredField,
                format!(
                    "{what} is missing required field \"[{}]\".",
                    missing
                        .iter()
                        .map(|m| format!("'{m}'"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                path,
            );
        }
        for (k, v) in given {
            if let Some(schema) = defs.get(k)
                && let Some(ty) = schema.get("type").and_then(Value::as_str)
            {
                let mut p = path.to_vec();
                p.push(k);
                self.check_type(ty, v, schema, k, &p, issues);
            }
        }
    }

    /// tosca-parser's `validate_datatype` plus the schema's constraints, for a
    /// literal value (functions are not checked).
    pub(crate) fn check_type(
        &self,
        ty: &str,
        v: &Value,
        schema: &Map,
        prop: &str,
        path: &[&str],
        issues: &mut Issues,
    ) {
        if is_function(v) {
            return;
        }
        let bad = |issues: &mut Issues, msg: String| issues.add(IssueKind::Value, msg, path);
        let mut checked = v.clone();
        match ty {
            // Strings take anything: tosca-parser turns the value into a string.
            "string" => checked = Value::Str(v.py_str()),
            "integer" => match v {
                Value::Int(_) | Value::Bool(_) | Value::Float(_) => {}
                Value::Str(s) if s.trim().parse::<i64>().is_ok() => {
                    checked = Value::Int(s.trim().parse().unwrap_or(0))
                }
                _ => return bad(issues, format!("\"{}\" is not an integer.", v.py_str())),
            },
            "float" => {
                if !matches!(v, Value::Float(_)) {
                    return bad(issues, format!("\"{}\" is not a float.", v.py_str()));
                }
            }
            "number" => {
                if !v.is_number() {
                    return bad(issues, format!("\"{}\" is not a numeric.", v.py_str()));
                }
            }
            "boolean" => match v {
                Value::Bool(_) => {}
                Value::Str(s)
                    if s.eq_ignore_ascii_case("true") || s.eq_ignore_ascii_case("false") => {}
                _ => return bad(issues, format!("\"{}\" is not a boolean.", v.py_str())),
            },
            "list" => {
                let Value::List(items) = v else {
                    return bad(issues, format!("\"{}\" is not a list.", v.py_str()));
                };
                if let Some(entry) = schema.get("entry_schema") {
                    for (i, item) in items.iter().enumerate() {
                        let i = i.to_string();
                        let mut p = path.to_vec();
                        p.push(&i);
                        self.check_entry(entry, item, prop, &p, issues);
                    }
                }
            }
            "map" => {
                let Value::Map(items) = v else {
                    return bad(issues, format!("\"{}\" is not a map.", v.py_str()));
                };
                if let Some(entry) = schema.get("entry_schema") {
                    for (k, item) in items {
                        let mut p = path.to_vec();
                        p.push(k);
                        self.check_entry(entry, item, prop, &p, issues);
                    }
                }
            }
            "range" => {
                let ok = matches!(v, Value::List(l) if l.len() == 2
                    && l.iter().all(|x| x.is_number() || x.as_str() == Some("UNBOUNDED")));
                if !ok {
                    return bad(issues, format!("\"{}\" is not a valid range.", v.py_str()));
                }
            }
            "timestamp" | "version" => {}
            "PortSpec" | "tosca.datatypes.network.PortSpec" => {
                self.check_data(DATATYPE_PORTSPEC, v, path, issues);
            }
            other => {
                if let Some(kind) = ScalarKind::of_type(other) {
                    if let Err(e) = parse_scalar(&v.py_str(), kind) {
                        return bad(issues, e);
                    }
                } else {
                    self.check_data(other, v, path, issues);
                    return;
                }
            }
        }
        self.check_constraints(ty, &checked, schema, prop, path, issues);
    }

    fn check_entry(
        &self,
        entry: &Value,
        item: &Value,
        prop: &str,
        path: &[&str],
        issues: &mut Issues,
    ) {
        let entry = match entry {
            Value::Str(t) => {
                let mut m = Map::new();
                m.insert("type".into(), Value::Str(t.clone()));
                m
            }
            Value::Map(m) => m.clone(),
            _ => return,
        };
        if let Some(ty) = entry.get("type").and_then(Value::as_str) {
            self.check_type(ty, item, &entry, prop, path, issues);
        }
    }

    /// A value of a complex data type: a map of its properties, or a value of
    /// the type it refines (`tosca.datatypes.network.PortDef` is an integer).
    fn check_data(&self, ty: &str, v: &Value, path: &[&str], issues: &mut Issues) {
        let Some((full, def)) = self.types.resolve(ty, DATATYPE) else {
            issues.add(
                IssueKind::InvalidType,
                format!("Type \"{ty}\" is not a valid type."),
                path,
            );
            return;
        };
        // A data type derived from a simple type (`type:` in its definition).
        let base = self.types.chain(&full, DATATYPE).iter().find_map(|t| {
            self.types
                .own(t, "type")
                .and_then(Value::as_str)
                .map(str::to_string)
        });
        if let Some(base) = base {
            let mut schema = def.clone();
            if let Some(c) = self
                .types
                .chain(&full, DATATYPE)
                .iter()
                .find_map(|t| self.types.own(t, "constraints").cloned())
            {
                schema.insert("constraints".into(), c);
            }
            let name = path.last().copied().unwrap_or_default().to_string();
            self.check_type(&base, v, &schema, &name, path, issues);
            return;
        }
        let Value::Map(given) = v else {
            issues.add(
                IssueKind::TypeMismatch,
                format!("{} must be of type \"{full}\".", v.py_str()),
                path,
            );
            return;
        };
        let defs = self.types.definitions(&full, DATATYPE, "properties");
        let what = format!("Data value of type \"{full}\"");
        // Defaults fill missing fields first (tosca-parser's DataEntity).
        self.check_fields(&what, &defs, given, path, issues, |d| {
            d.is_some_and(Value::truthy)
        });
        if full == DATATYPE_PORTSPEC
            && !given.contains_key("source")
            && !given.contains_key("target")
            && !given.contains_key("source_range")
            && !given.contains_key("target_range")
        {
            issues.add(
                IssueKind::Value,
                "source or target port must be specified in PortSpec type.",
                path,
            );
        }
    }

    fn check_constraints(
        &self,
        ty: &str,
        v: &Value,
        schema: &Map,
        prop: &str,
        path: &[&str],
        issues: &mut Issues,
    ) {
        let Some(Value::List(constraints)) = schema.get("constraints") else {
            return;
        };
        let scalar = ScalarKind::of_type(ty);
        // Comparable form: scalars in base units, numbers as they are.
        let num = |x: &Value| -> Option<f64> {
            match (scalar, x) {
                (Some(k), _) => parse_scalar(&x.py_str(), k)
                    .ok()
                    .map(|s| s.number * s.factor),
                (None, Value::Int(i)) => Some(*i as f64),
                (None, Value::Float(f)) => Some(*f),
                _ => None,
            }
        };
        let shown = v.py_str();
        for c in constraints {
            let Some((op, arg)) = c.as_map().and_then(|m| m.iter().next()) else {
                continue;
            };
            let cmp = |ok: fn(f64, f64) -> bool| match (num(v), num(arg)) {
                (Some(a), Some(b)) => ok(a, b),
                _ => true,
            };
            let msg = match op.as_str() {
                "equal" if *v != *arg && num(v).is_none_or(|a| Some(a) != num(arg)) => {
                    Some(format!(
                        "The value \"{shown}\" of property \"{prop}\" is not equal to \"{}\".",
                        arg.py_str()
                    ))
                }
                "greater_than" if !cmp(|a, b| a > b) => Some(format!(
                    "The value \"{shown}\" of property \"{prop}\" must be greater than \"{}\".",
                    arg.py_str()
                )),
                "greater_or_equal" if !cmp(|a, b| a >= b) => Some(format!(
                    "The value \"{shown}\" of property \"{prop}\" must be greater than or equal to \"{}\".",
                    arg.py_str()
                )),
                "less_than" if !cmp(|a, b| a < b) => Some(format!(
                    "The value \"{shown}\" of property \"{prop}\" must be less than \"{}\".",
                    arg.py_str()
                )),
                "less_or_equal" if !cmp(|a, b| a <= b) => Some(format!(
                    "The value \"{shown}\" of property \"{prop}\" must be less than or equal to \"{}\".",
                    arg.py_str()
                )),
                "in_range" => match (arg.as_list(), num(v)) {
                    (Some([lo, hi]), Some(x)) => {
                        let below = num(lo).is_some_and(|l| x < l);
                        let above = num(hi).is_some_and(|h| x > h);
                        (below || above).then(|| {
                            format!(
                                "The value \"{shown}\" of property \"{prop}\" is out of range \"(min:{}, max:{})\".",
                                lo.py_str(),
                                hi.py_str()
                            )
                        })
                    }
                    _ => None,
                },
                "valid_values" => match arg.as_list() {
                    Some(l)
                        if !l.contains(v)
                            && !l.iter().any(|x| num(x).is_some() && num(x) == num(v)) =>
                    {
                        Some(format!(
                            "The value \"{shown}\" of property \"{prop}\" is not valid. Expected a value from \"[{}]\".",
                            l.iter().map(Value::py_str).collect::<Vec<_>>().join(", ")
                        ))
                    }
                    _ => None,
                },
                "length" | "min_length" | "max_length" => {
                    let len = match v {
                        Value::Str(s) => Some(s.chars().count()),
                        Value::List(l) => Some(l.len()),
                        Value::Map(m) => Some(m.len()),
                        _ => None,
                    };
                    let want = match arg {
                        Value::Int(i) => Some(*i as usize),
                        _ => None,
                    };
                    match (len, want) {
                        (Some(len), Some(want)) => match op.as_str() {
                            "length" if len != want => Some(format!(
                                "Length of value \"{shown}\" of property \"{prop}\" must be equal to \"{want}\"."
                            )),
                            "min_length" if len < want => Some(format!(
                                "Length of value \"{shown}\" of property \"{prop}\" must be at least \"{want}\"."
                            )),
                            "max_length" if len > want => Some(format!(
                                "Length of value \"{shown}\" of property \"{prop}\" must be no greater than \"{want}\"."
                            )),
                            _ => None,
                        },
                        _ => None,
                    }
                }
                _ => None,
            };
            if let Some(msg) = msg {
                issues.add(IssueKind::Value, msg, path);
            }
        }
    }

    fn node_caps(
        &self,
        name: &str,
        type_name: &str,
        tpl: &Map,
        issues: &mut Issues,
    ) -> IndexMap<String, Cap> {
        let merged = self.types.merged_value(type_name, NODE, "capabilities");
        let empty = Map::new();
        let type_caps = merged.as_deref().and_then(Value::as_map).unwrap_or(&empty);
        let given = tpl
            .get("capabilities")
            .and_then(Value::as_map)
            .unwrap_or(&empty);
        let mut out = IndexMap::new();
        // The template's capabilities first, then the type's (tosca-parser's
        // `get_value(capabilities, template, parent=True)`).
        let mut names: Vec<String> = given.keys().cloned().collect();
        names.extend(
            type_caps
                .keys()
                .filter(|k| !given.contains_key(*k))
                .cloned(),
        );
        for cap_name in names {
            let path = [
                "topology_template",
                "node_templates",
                name,
                "capabilities",
                cap_name.as_str(),
            ];
            let Some(cap_def) = type_caps.get(&cap_name) else {
                issues.add(
                    IssueKind::UnknownField,
                    format!("\"capabilities\" of template \"{name}\" contains unknown field \"{cap_name}\"."),
                    &path,
                );
                continue;
            };
            let cap_type = match cap_def {
                Value::Map(m) => m.get("type").map(Value::py_str),
                Value::Str(s) => Some(s.clone()),
                _ => None,
            }
            .unwrap_or_default();
            let Some((cap_type, cap_type_def)) = self.types.resolve(&cap_type, CAPABILITY) else {
                issues.add(
                    IssueKind::InvalidType,
                    format!("Type \"{cap_type}\" is not a valid type."),
                    &path,
                );
                continue;
            };
            let mut props = IndexMap::new();
            // Defaults of the capability type's own properties only, as
            // tosca-parser does.
            if let Some(Value::Map(own)) = cap_type_def.get("properties") {
                for (k, schema) in own {
                    if let Some(d) = schema.get("default") {
                        props.insert(k.clone(), d.clone());
                    }
                }
            }
            let given_cap = given.get(&cap_name).or(Some(cap_def));
            let given_props = given_cap
                .and_then(|c| c.get("properties"))
                .and_then(Value::as_map)
                .cloned()
                .unwrap_or_default();
            if given.contains_key(&cap_name) {
                let defs = self.types.definitions(&cap_type, CAPABILITY, "properties");
                let mut ppath = path.to_vec();
                ppath.push("properties");
                self.check_props(
                    &format!("\"properties\" of template \"{name}\""),
                    &defs,
                    &given_props,
                    &ppath,
                    issues,
                );
            }
            for (k, v) in given_props {
                props.insert(k, v);
            }
            // Only properties the type defines are visible.
            let defs = self.types.definitions(&cap_type, CAPABILITY, "properties");
            props.retain(|k, _| defs.contains_key(k));
            out.insert(
                cap_name.clone(),
                Cap {
                    type_name: cap_type,
                    props,
                },
            );
        }
        out
    }

    fn node_reqs(&self, name: &str, tpl: &Map, issues: &mut Issues) -> Vec<(String, Value)> {
        let mut out = Vec::new();
        match tpl.get("requirements") {
            None | Some(Value::Null) => {}
            Some(Value::List(l)) => {
                for r in l {
                    match r {
                        Value::Map(m) => {
                            for (k, v) in m {
                                out.push((k.clone(), v.clone()));
                            }
                        }
                        other => issues.add(
                            IssueKind::TypeMismatch,
                            format!(
                                "\"requirements\" of template \"{name}\" must be a list of maps, found {}.",
                                other.py_repr()
                            ),
                            &["topology_template", "node_templates", name, "requirements"],
                        ),
                    }
                }
            }
            Some(_) => issues.add(
                IssueKind::TypeMismatch,
                format!("\"requirements\" of template \"{name}\" must be of type \"list\"."),
                &["topology_template", "node_templates", name, "requirements"],
            ),
        }
        out
    }

    /// The requirement definitions of a node type (own first, then ancestors').
    fn type_reqs(&self, type_name: &str) -> Vec<(String, Map)> {
        let mut out = Vec::new();
        if let Some(Value::List(l)) = self
            .types
            .merged_value(type_name, NODE, "requirements")
            .as_deref()
        {
            for r in l {
                if let Value::Map(m) = r {
                    for (k, v) in m {
                        out.push((k.clone(), v.as_map().cloned().unwrap_or_default()));
                    }
                }
            }
        }
        out
    }

    fn relationships(
        &self,
        node: &NodeTpl,
        all: &Map,
        rel_tpls: &[RelTpl],
        issues: &mut Issues,
    ) -> Vec<Rel> {
        let mut out = Vec::new();
        let type_reqs = self.type_reqs(&node.type_name);
        for (i, (req_name, value)) in node.reqs.iter().enumerate() {
            let i = i.to_string();
            let path = [
                "topology_template",
                "node_templates",
                node.name.as_str(),
                "requirements",
                i.as_str(),
            ];
            let allowed = type_reqs.iter().any(|(k, _)| k == req_name);
            if !allowed {
                issues.add(
                    IssueKind::UnknownField,
                    format!(
                        "\"requirements\" of template \"{}\" contains unknown field \"{req_name}\".",
                        node.name
                    ),
                    &path,
                );
            }
            let target = match value {
                Value::Map(m) => {
                    for k in m.keys() {
                        if ![
                            "node",
                            "capability",
                            "relationship",
                            "occurrences",
                            "node_filter",
                        ]
                        .contains(&k.as_str())
                        {
                            issues.add(
                                IssueKind::UnknownField,
                                format!(
                                    "\"requirements\" of template \"{}\" contains unknown field \"{k}\".",
                                    node.name
                                ),
                                &path,
                            );
                        }
                    }
                    m.get("node").map(Value::py_str)
                }
                Value::Null => None,
                other => Some(other.py_str()),
            };
            let Some(target) = target else { continue };
            if self.types.is_type_name(&target) {
                issues.add(
                    IssueKind::NotImplemented,
                    format!(
                        "Lookup by TOSCA types is not supported. Requirement node \"{target}\" for \"{}\" can not be full-filled.",
                        node.name
                    ),
                    &path,
                );
                continue;
            }
            if !all.contains_key(&target) {
                issues.add(
                    IssueKind::Key,
                    format!(
                        "Node template \"{target}\" was not found in \"{}\".",
                        node.name
                    ),
                    &path,
                );
                continue;
            }
            let mut relationship = value.get("relationship").cloned();
            if relationship.as_ref().is_none_or(|r| !r.truthy()) {
                relationship = type_reqs
                    .iter()
                    .find(|(k, _)| k == req_name)
                    .and_then(|(_, d)| d.get("relationship").cloned());
            }
            let Some(relationship) = relationship else {
                continue;
            };
            // A named relationship template.
            if let Value::Str(rname) = &relationship
                && let Some(named) = rel_tpls.iter().find(|t| t.name == rname.to_lowercase())
            {
                let mut tpl = named.clone();
                tpl.source = node.name.clone();
                tpl.target = target.clone();
                out.push(Rel {
                    rtype: tpl.type_name.clone(),
                    target: target.clone(),
                    tpl,
                });
                continue;
            }
            let (rel_type, rel_props, rel_ifaces) = match &relationship {
                Value::Map(m) => match m.get("type") {
                    Some(t) => (
                        t.py_str(),
                        map_of(m.get("properties")),
                        map_of(m.get("interfaces")),
                    ),
                    None => {
                        issues.add(
                            IssueKind::MissingRequiredField,
                            format!("\"relationship\" used in template \"{target}\" is missing required field \"type\"."),
                            &path,
                        );
                        continue;
                    }
                },
                other => (other.py_str(), Map::new(), Map::new()),
            };
            let Some((rel_type, _)) = self.types.resolve(&rel_type, RELATIONSHIP) else {
                issues.add(
                    IssueKind::InvalidType,
                    format!("Type \"{rel_type}\" is not a valid type."),
                    &path,
                );
                continue;
            };
            let custom_parent = if self.types.is_custom(&rel_type) {
                self.types.parent(&rel_type, RELATIONSHIP)
            } else {
                None
            };
            for (_, def) in &type_reqs {
                let Some(def_rel) = def.get("relationship") else {
                    continue;
                };
                let def_rel = match def_rel {
                    Value::Map(m) => m.get("type").map(Value::py_str).unwrap_or_default(),
                    other => other.py_str(),
                };
                let Some((def_rel, _)) = self.types.resolve(&def_rel, RELATIONSHIP) else {
                    continue;
                };
                if def_rel == rel_type || custom_parent.as_deref() == Some(def_rel.as_str()) {
                    out.push(Rel {
                        rtype: def_rel,
                        target: target.clone(),
                        tpl: RelTpl {
                            name: rel_type.to_lowercase(),
                            type_name: rel_type.clone(),
                            props: self.rel_props(&rel_type, &rel_props),
                            interfaces: rel_ifaces.clone(),
                            source: node.name.clone(),
                            target: target.clone(),
                        },
                    });
                }
            }
        }
        out
    }

    fn check_interfaces(&self, node: &NodeTpl, issues: &mut Issues) {
        let Some(ifaces) = node.tpl.get("interfaces") else {
            return;
        };
        let Some(ifaces) = ifaces.as_map() else {
            issues.add(
                IssueKind::TypeMismatch,
                format!(
                    "\"interfaces\" of template \"{}\" must be of type \"map\".",
                    node.name
                ),
                &[
                    "topology_template",
                    "node_templates",
                    &node.name,
                    "interfaces",
                ],
            );
            return;
        };
        for (iface, ops) in ifaces {
            let path = [
                "topology_template",
                "node_templates",
                node.name.as_str(),
                "interfaces",
                iface.as_str(),
            ];
            let allowed: &[&str] = match iface.as_str() {
                "Standard" | "tosca.interfaces.node.lifecycle.Standard" => {
                    &["create", "configure", "start", "stop", "delete"]
                }
                "Configure" | "tosca.interfaces.relationship.Configure" => &[
                    "pre_configure_source",
                    "pre_configure_target",
                    "post_configure_source",
                    "post_configure_target",
                    "add_target",
                    "add_source",
                    "target_changed",
                    "remove_target",
                ],
                _ => &[],
            };
            let Some(ops) = ops.as_map() else { continue };
            for (op, def) in ops {
                if !allowed.is_empty() && !allowed.contains(&op.as_str()) {
                    issues.add(
                        IssueKind::UnknownField,
                        format!(
                            "\"interfaces\" of template \"{}\" contains unknown field \"{op}\".",
                            node.name
                        ),
                        &path,
                    );
                }
                if let Value::Map(d) = def {
                    for k in d.keys() {
                        if !["implementation", "inputs", "outputs", "description"]
                            .contains(&k.as_str())
                        {
                            issues.add(
                                IssueKind::UnknownField,
                                format!("\"interfaces\" of template \"{}\" contains unknown field \"{k}\".", node.name),
                                &path,
                            );
                        }
                    }
                }
            }
        }
    }

    fn build_policies(&mut self, topo: &Value, issues: &mut Issues) {
        let groups: IndexMap<String, Vec<String>> = map_of(topo.get("groups"))
            .into_iter()
            .map(|(name, g)| {
                let members = g
                    .get("members")
                    .and_then(Value::as_list)
                    .map(|l| l.iter().map(Value::py_str).collect())
                    .unwrap_or_default();
                (name, members)
            })
            .collect();
        for (gname, members) in &groups {
            for m in members {
                if !self.nodes.iter().any(|n| &n.name == m) {
                    issues.add(
                        IssueKind::Key,
                        format!("Node template \"{m}\" of group \"{gname}\" was not found."),
                        &["topology_template", "groups", gname],
                    );
                }
            }
        }
        let mut entries: Vec<(String, Value)> = Vec::new();
        match topo.get("policies") {
            Some(Value::List(l)) => {
                for p in l {
                    if let Value::Map(m) = p {
                        for (k, v) in m {
                            entries.push((k.clone(), v.clone()));
                        }
                    }
                }
            }
            Some(Value::Map(m)) => entries.extend(m.iter().map(|(k, v)| (k.clone(), v.clone()))),
            _ => {}
        }
        for (pname, p) in entries {
            let Some(ty) = p.get("type").map(Value::py_str) else {
                issues.add(
                    IssueKind::Value,
                    format!("Policy definition of \"{pname}\" must have a \"type\" attribute."),
                    &["topology_template", "policies"],
                );
                continue;
            };
            let Some((type_name, _)) = self.types.resolve(&ty, types::POLICY) else {
                issues.add(
                    IssueKind::InvalidType,
                    format!("Type \"{ty}\" is not a valid type."),
                    &["topology_template", "policies"],
                );
                continue;
            };
            let mut targets = Vec::new();
            for t in p
                .get("targets")
                .and_then(Value::as_list)
                .unwrap_or_default()
            {
                let t = t.py_str();
                if let Some(members) = groups.get(&t) {
                    targets.extend(members.iter().cloned());
                } else if self.nodes.iter().any(|n| n.name == t) {
                    targets.push(t);
                } else {
                    issues.add(
                        IssueKind::Key,
                        format!("\"targets\" of policy \"{pname}\" refers to \"{t}\", which is neither a node template nor a group."),
                        &["topology_template", "policies"],
                    );
                }
            }
            self.policies.push(Policy {
                type_name,
                props: map_of(p.get("properties")),
                targets,
            });
        }
    }

    /// Checks the references of `get_input`, `get_property` and `get_attribute`
    /// everywhere in the topology, as tosca-parser validates its functions.
    fn check_functions(&self, topo: &Value, issues: &mut Issues) {
        let mut found = Vec::new();
        collect_calls(topo, &mut vec!["topology_template".to_string()], &mut found);
        for (path, name, args) in found {
            let p: Vec<&str> = path.iter().map(String::as_str).collect();
            match name.as_str() {
                "get_input" => {
                    let input = match &args {
                        Value::List(l) if l.len() == 1 => l[0].py_str(),
                        Value::List(_) => {
                            issues.add(
                                IssueKind::Value,
                                format!("Expected one argument for function \"get_input\" but received \"{}\".", args.py_str()),
                                &p,
                            );
                            continue;
                        }
                        other => other.py_str(),
                    };
                    if !self.inputs.contains_key(&input) {
                        issues.add(
                            IssueKind::UnknownInput,
                            format!("Unknown input \"{input}\"."),
                            &p,
                        );
                    }
                }
                "get_property" | "get_attribute" => {
                    let Some(l) = args.as_list() else {
                        issues.add(
                            IssueKind::Value,
                            format!("Illegal arguments for function \"{name}\". Expected arguments: \"node-template-name\", \"req-or-cap\"(optional), \"property name\""),
                            &p,
                        );
                        continue;
                    };
                    if l.len() < 2 {
                        issues.add(
                            IssueKind::Value,
                            format!("Illegal arguments for function \"{name}\". Expected arguments: \"node-template-name\", \"req-or-cap\"(optional), \"property name\""),
                            &p,
                        );
                        continue;
                    }
                    let target = match &l[0] {
                        Value::Map(m) => m.get("node").map(Value::py_str).unwrap_or_default(),
                        other => other.py_str(),
                    };
                    let keyword = ["SELF", "HOST", "SOURCE", "TARGET"].contains(&target.as_str());
                    if !keyword && !self.nodes.iter().any(|n| n.name == target) {
                        issues.add(
                            IssueKind::Key,
                            format!("Node template \"{target}\" was not found."),
                            &p,
                        );
                    }
                    let in_outputs = path.get(1).map(String::as_str) == Some("outputs");
                    if name == "get_attribute" && target == "HOST" && in_outputs {
                        issues.add(
                            IssueKind::Value,
                            "\"get_attribute: [ HOST, ... ]\" is not allowed in \"outputs\" section of the TOSCA template.",
                            &p,
                        );
                    }
                    if name == "get_property" && validated_position(&path) {
                        let context = match (path.get(1).map(String::as_str), path.get(2)) {
                            (Some("node_templates"), Some(n)) => n.clone(),
                            _ => String::new(),
                        };
                        let node_name = if target == "SELF" {
                            context.clone()
                        } else {
                            target.clone()
                        };
                        if let Some(node) = self.node(&node_name) {
                            self.check_property_ref(node, &context, l, &p, issues);
                        }
                    }
                    if name == "get_attribute" {
                        // SELF names the node the call sits in (none in outputs).
                        let context = match (path.get(1).map(String::as_str), path.get(2)) {
                            (Some("node_templates"), Some(n)) => n.clone(),
                            _ => String::new(),
                        };
                        let node_name = if target == "SELF" {
                            context.clone()
                        } else {
                            target.clone()
                        };
                        if let Some(node) = self.node(&node_name) {
                            self.check_attribute(node, &context, l, &p, issues);
                        } else if target == "SELF" && in_outputs {
                            issues.add(IssueKind::Key, "Node template \"SELF\" was not found.", &p);
                        }
                    }
                }
                "get_operation_output" => issues.add(
                    IssueKind::NotImplemented,
                    "Function \"get_operation_output\" is not supported.",
                    &p,
                ),
                _ => {}
            }
        }
    }

    /// tosca-parser's `GetProperty.validate`: the property must be set (or have
    /// a default) on the node, or on the capability the second argument names.
    fn check_property_ref(
        &self,
        node: &NodeTpl,
        context: &str,
        args: &[Value],
        path: &[&str],
        issues: &mut Issues,
    ) {
        let first = args[1].py_str();
        if node.props.contains_key(&first) {
            return;
        }
        if args.len() == 2 {
            issues.add(
                IssueKind::Key,
                format!(
                    "Property \"{first}\" was not found in node template \"{}\".",
                    node.name
                ),
                path,
            );
            return;
        }
        let prop = args[2].py_str();
        let owner = match node.reqs.iter().find(|(r, _)| *r == first) {
            Some((_, t)) => {
                let t = match t {
                    Value::Map(m) => m.get("node").map(Value::py_str).unwrap_or_default(),
                    other => other.py_str(),
                };
                match self.node(&t) {
                    Some(t) => t,
                    None => return,
                }
            }
            None => node,
        };
        match owner.caps.get(&first) {
            None => issues.add(
                IssueKind::Key,
                format!(
                    "Requirement/Capability \"{first}\" referenced from node template \"{context}\" was not found in node template \"{}\".",
                    owner.name
                ),
                path,
            ),
            Some(cap) if cap.props.get(&prop).is_none_or(Value::is_null) => issues.add(
                IssueKind::Key,
                format!(
                    "Property \"{prop}\" was not found in capability \"{first}\" of node template \"{}\" referenced from node template \"{context}\".",
                    owner.name
                ),
                path,
            ),
            Some(_) => {}
        }
    }

    /// tosca-parser's `GetAttribute.validate`: the attribute must be defined by
    /// the node's type (or be one of its properties), or by the capability the
    /// second argument names.
    fn check_attribute(
        &self,
        node: &NodeTpl,
        context: &str,
        args: &[Value],
        path: &[&str],
        issues: &mut Issues,
    ) {
        let attrs = self
            .types
            .merged_value(&node.type_name, NODE, "attributes")
            .and_then(|v| v.as_map().cloned())
            .unwrap_or_default();
        let first = args[1].py_str();
        if attrs.contains_key(&first) || (args.len() == 2 && node.props.contains_key(&first)) {
            return;
        }
        if args.len() == 2 {
            issues.add(
                IssueKind::Key,
                format!(
                    "Attribute \"{first}\" was not found in node template \"{}\".",
                    node.name
                ),
                path,
            );
            return;
        }
        let attr = args[2].py_str();
        let (owner, cap) = match node.reqs.iter().find(|(r, _)| *r == first) {
            Some((_, t)) => {
                let t = match t {
                    Value::Map(m) => m.get("node").map(Value::py_str).unwrap_or_default(),
                    other => other.py_str(),
                };
                match self.node(&t) {
                    Some(t) => (t, t.caps.get(&first)),
                    None => return,
                }
            }
            None => (node, node.caps.get(&first)),
        };
        let Some(cap) = cap else {
            issues.add(
                IssueKind::Key,
                format!(
                    "Requirement/Capability \"{first}\" referenced from node template \"{context}\" was not found in node template \"{}\".",
                    owner.name
                ),
                path,
            );
            return;
        };
        let cap_attrs = self
            .types
            .merged_value(&cap.type_name, CAPABILITY, "attributes")
            .and_then(|v| v.as_map().cloned())
            .unwrap_or_default();
        if !cap_attrs.contains_key(&attr) {
            issues.add(
                IssueKind::Key,
                format!(
                    "Attribute \"{attr}\" was not found in capability \"{first}\" of node template \"{}\" referenced from node template \"{context}\".",
                    owner.name
                ),
                path,
            );
        }
    }

    /// The node template of that name.
    pub(crate) fn node(&self, name: &str) -> Option<&NodeTpl> {
        self.nodes.iter().find(|n| n.name == name)
    }

    /// The IM's root type of a node.
    pub(crate) fn root_type(&self, node: &NodeTpl) -> String {
        self.types.root_type(&node.type_name, NODE)
    }

    /// Whether a relationship type is (or derives from) one of `ancestors`.
    pub(crate) fn rel_is(&self, rtype: &str, ancestors: &[&str]) -> bool {
        self.types
            .chain(rtype, RELATIONSHIP)
            .iter()
            .any(|t| ancestors.contains(&t.as_str()))
    }

    /// The IM's `_find_host_node`: the node itself when its root type is
    /// `base_root` (or its type is exactly `node_type`), else along the first
    /// `HostedOn`/`BindsTo` relationship.
    pub(crate) fn find_host<'a>(
        &'a self,
        node: &'a NodeTpl,
        base_root: &str,
        node_type: Option<&str>,
    ) -> Option<&'a NodeTpl> {
        let mut here = node;
        for _ in 0..=self.nodes.len() {
            if node_type.is_some_and(|t| here.type_name == t) || self.root_type(here) == base_root {
                return Some(here);
            }
            let next = here.rels.iter().find(|r| {
                self.rel_is(
                    &r.rtype,
                    &[
                        "tosca.relationships.HostedOn",
                        "tosca.relationships.network.BindsTo",
                    ],
                )
            })?;
            let target = self.node(&next.target)?;
            if self.root_type(target) == base_root {
                return Some(target);
            }
            here = target;
        }
        None
    }

    /// The host Compute of a node.
    pub(crate) fn compute_of<'a>(&'a self, node: &'a NodeTpl) -> Option<&'a NodeTpl> {
        self.find_host(node, "tosca.nodes.Compute", None)
    }

    /// The IM's contextualization level of a node: 1 without requirements,
    /// else 1 + the highest level among its HostedOn/DependsOn/ConnectsTo targets.
    pub(crate) fn level(&self, node: &NodeTpl) -> i64 {
        self.level_at(node, 0)
    }

    fn level_at(&self, node: &NodeTpl, depth: usize) -> i64 {
        if node.reqs.is_empty() {
            return 1;
        }
        if depth > self.nodes.len() {
            // A dependency cycle: the reference recurses forever.
            return 1;
        }
        let mut max = 0;
        for r in &node.rels {
            let level = if self.rel_is(
                &r.rtype,
                &[
                    "tosca.relationships.HostedOn",
                    "tosca.relationships.DependsOn",
                    "tosca.relationships.ConnectsTo",
                ],
            ) {
                self.node(&r.target)
                    .map_or(0, |t| self.level_at(t, depth + 1))
            } else {
                0
            };
            max = max.max(level);
        }
        max + 1
    }

    /// The artifacts of a node as the reference gathers them: the template's,
    /// the type's (and ancestors'), then those of each relationship type and
    /// each relationship target (later ones replace same-named earlier ones).
    pub(crate) fn node_artifacts(&self, node: &NodeTpl) -> IndexMap<String, Value> {
        let mut out = IndexMap::new();
        self.add_artifacts(&node.tpl, &node.type_name, &mut out);
        for r in &node.rels {
            if let Some(a) = self.types.own(&r.rtype, "artifacts") {
                merge_artifacts(a, &mut out);
            }
            if let Some(t) = self.node(&r.target) {
                self.add_artifacts(&t.tpl, &t.type_name, &mut out);
            }
        }
        out
    }

    /// The artifacts of a relationship template (those of its type).
    pub(crate) fn rel_artifacts(&self, rel: &RelTpl) -> IndexMap<String, Value> {
        let mut out = IndexMap::new();
        if let Some(a) = self
            .types
            .merged_value(&rel.type_name, RELATIONSHIP, "artifacts")
        {
            merge_artifacts(&a, &mut out);
        }
        out
    }

    fn add_artifacts(&self, tpl: &Map, type_name: &str, out: &mut IndexMap<String, Value>) {
        let mut value = tpl.get("artifacts").cloned();
        for t in self.types.chain(type_name, NODE).iter() {
            let Some(pv) = self.types.own(t, "artifacts") else {
                continue;
            };
            match &mut value {
                None => value = Some(pv.clone()),
                Some(Value::Map(m)) => {
                    if let Value::Map(pm) = pv {
                        for (k, v) in pm {
                            if !m.contains_key(k) {
                                m.insert(k.clone(), v.clone());
                            }
                        }
                    }
                }
                Some(v) if !v.truthy() => *v = pv.clone(),
                Some(_) => {}
            }
        }
        if let Some(v) = value {
            merge_artifacts(&v, out);
        }
    }
}

fn merge_artifacts(v: &Value, out: &mut IndexMap<String, Value>) {
    match v {
        Value::Map(m) => {
            for (k, a) in m {
                out.insert(k.clone(), a.clone());
            }
        }
        Value::List(l) => {
            for item in l {
                if let Value::Map(m) = item {
                    for (k, a) in m {
                        out.insert(k.clone(), a.clone());
                    }
                }
            }
        }
        _ => {}
    }
}

/// `required` of a property definition (true when not given).
fn required(schema: &Map) -> bool {
    match schema.get("required") {
        None => true,
        Some(Value::Bool(b)) => *b,
        Some(Value::Str(s)) => !matches!(s.to_ascii_lowercase().as_str(), "false" | "no"),
        Some(v) => v.truthy(),
    }
}

const DATATYPE_PORTSPEC: &str = "tosca.datatypes.network.PortSpec";

/// Whether tosca-parser validates a call at this path: the whole value of a
/// node or capability property, of a template operation input, or of an output.
fn validated_position(path: &[String]) -> bool {
    let p: Vec<&str> = path.iter().map(String::as_str).collect();
    matches!(
        p.as_slice(),
        ["topology_template", "node_templates", _, "properties", _]
            | [
                "topology_template",
                "node_templates",
                _,
                "capabilities",
                _,
                "properties",
                _
            ]
            | [
                "topology_template",
                "node_templates",
                _,
                "interfaces",
                _,
                _,
                "inputs",
                _
            ]
            | ["topology_template", "outputs", _, "value"]
    )
}

/// Every function call under `v`: (path, name, arguments).
fn collect_calls(v: &Value, path: &mut Vec<String>, out: &mut Vec<(Vec<String>, String, Value)>) {
    match v {
        Value::Map(m) => {
            if is_function(v)
                && let Some((k, args)) = m.iter().next()
            {
                out.push((path.clone(), k.clone(), args.clone()));
            }
            for (k, x) in m {
                path.push(k.clone());
                collect_calls(x, path, out);
                path.pop();
            }
        }
        Value::List(l) => {
            for (i, x) in l.iter().enumerate() {
                path.push(i.to_string());
                collect_calls(x, path, out);
                path.pop();
            }
        }
        _ => {}
    }
}
