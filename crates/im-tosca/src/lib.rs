//! TOSCA Simple Profile in YAML → RADL, as the Infrastructure Manager converts
//! it (grycap/im `IM/tosca/Tosca.py` on tosca-parser 2.15.0).
//!
//! ```
//! use im_tosca::{NoFetcher, ParseOptions, Tosca};
//!
//! let doc = "tosca_definitions_version: tosca_simple_yaml_1_0\n\
//!            topology_template:\n  node_templates:\n    vm:\n      type: tosca.nodes.Compute\n";
//! let tosca = Tosca::parse(doc, &ParseOptions::new(&NoFetcher))?;
//! let conv = tosca.to_radl(None, &NoFetcher)?;
//! assert_eq!(conv.radl.deploys[0].system, "vm");
//! # Ok::<(), im_tosca::ToscaError>(())
//! ```
//!
//! The service's flow (spec/tosca.md §1, §6):
//! * create: [`Tosca::parse`], [`Tosca::to_radl`] with no infrastructure; store
//!   [`Tosca::to_yaml`] and [`Tosca::id`];
//! * add resources: parse the posted document, [`Tosca::merge`] it into the stored
//!   one, [`Tosca::to_radl`] with the live VMs ([`InfraView`]): remove
//!   [`Conversion::removal_list`] first, then add the RADL; store
//!   [`Tosca::without_removal_lists`] of the merged document;
//! * outputs: [`Tosca::outputs`] with the live VMs.
//!
//! The type files the documents import from the INDIGO and GRyCAP repositories
//! ship with the crate; anything else remote goes through the caller's
//! [`Fetcher`]. Nothing here does network or file I/O.

mod containers;
mod convert;
mod error;
mod fetch;
mod functions;
mod imports;
mod infra;
mod memo;
mod recipes;
mod template;
mod types;
mod units;
pub mod yaml;

use indexmap::IndexMap;

pub use convert::Conversion;
pub use error::{Issue, IssueKind, ToscaError};
pub use fetch::{CachedFetcher, DirFetcher, Fetcher, MapFetcher, NoFetcher};
pub use infra::{CloudView, InfraView, VmPort, VmView};
pub use types::{shipped_type_file, shipped_type_urls};
pub use yaml::Value;

use crate::functions::{Ctx, Eval};
use crate::template::Topology;
use crate::yaml::Spans;

/// The most characters a `random(N)` input may ask for.
const MAX_RANDOM: usize = 4096;

/// How to read a document.
#[derive(Clone, Copy)]
pub struct ParseOptions<'a> {
    /// Reads imports that do not ship with the crate, and `template_file`s.
    pub fetcher: &'a dyn Fetcher,
    /// The TOSCA repository base URL `template_file` imports are read from
    /// (the reference's `OAIPMH_REPO_BASE_IDENTIFIER_URL`).
    pub tosca_repo: Option<&'a str>,
    /// The token of the user's `InfrastructureManager` credentials, which
    /// replaces inputs whose default is `access_token()`.
    pub access_token: Option<&'a str>,
    /// The document's id (its first 8 characters suffix Kubernetes system
    /// names); a stored document must keep its id. A new one is made when unset.
    pub id: Option<&'a str>,
}

impl<'a> ParseOptions<'a> {
    /// Options with only a fetcher.
    pub fn new(fetcher: &'a dyn Fetcher) -> Self {
        ParseOptions {
            fetcher,
            tosca_repo: None,
            access_token: None,
            id: None,
        }
    }
}

/// A parsed and validated TOSCA document.
#[derive(Debug, Clone)]
pub struct Tosca {
    doc: Value,
    spans: Spans,
    id: String,
    topo: Topology,
}

fn new_id() -> String {
    let mut bytes = [0u8; 16];
    // Without an entropy source the id is only less unique; it names nothing secret.
    let _ = getrandom::fill(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Replaces `random(N)` and `access_token()` input defaults (string inputs).
fn special_inputs(doc: &mut Value, token: Option<&str>) {
    let Some(inputs) = doc
        .as_map_mut()
        .and_then(|m| m.get_mut("topology_template"))
        .and_then(Value::as_map_mut)
        .and_then(|t| t.get_mut("inputs"))
        .and_then(Value::as_map_mut)
    else {
        return;
    };
    for def in inputs.values_mut() {
        let Some(def) = def.as_map_mut() else {
            continue;
        };
        if def.get("type").and_then(Value::as_str) != Some("string") {
            continue;
        }
        let Some(Value::Str(default)) = def.get("default") else {
            continue;
        };
        if default == "access_token()" {
            if let Some(t) = token.filter(|t| !t.is_empty()) {
                def.insert("default".into(), Value::str(t));
            }
        } else if let Some(rest) = default.strip_prefix("random(") {
            let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
            if !digits.is_empty() && rest[digits.len()..].starts_with(')') {
                // IM-compat: N is capped; the reference builds any length.
                let n = digits
                    .parse::<usize>()
                    .unwrap_or(MAX_RANDOM)
                    .min(MAX_RANDOM);
                def.insert("default".into(), Value::Str(im_radl::random_string(n)));
            }
        }
    }
}

/// The reference's `_merge_yaml`: maps merged key by key, lists by index,
/// anything else replaced by the new value.
pub fn merge_documents(old: &Value, new: &Value) -> Value {
    match (old, new) {
        (_, Value::Null) => old.clone(),
        (Value::Map(a), Value::Map(b)) => {
            let mut out = a.clone();
            for (k, v) in b {
                let merged = match out.get(k) {
                    Some(x) => merge_documents(x, v),
                    None => v.clone(),
                };
                out.insert(k.clone(), merged);
            }
            Value::Map(out)
        }
        (Value::List(a), Value::List(b)) => {
            let mut out = a.clone();
            for (i, v) in b.iter().enumerate() {
                if i < out.len() {
                    out[i] = merge_documents(&out[i], v);
                } else {
                    out.push(v.clone());
                }
            }
            Value::List(out)
        }
        (_, v) => v.clone(),
    }
}

impl Tosca {
    /// Reads, completes (`template_file`, special inputs) and validates a document.
    pub fn parse(text: &str, opts: &ParseOptions<'_>) -> Result<Tosca, ToscaError> {
        let (doc, spans) = yaml::parse(text).map_err(|e| ToscaError::Syntax {
            message: e.message,
            line: e.line,
            column: e.column,
        })?;
        if !matches!(doc, Value::Map(_)) {
            return Err(ToscaError::Syntax {
                message: "a TOSCA template must be a YAML map".into(),
                line: Some(1),
                column: Some(1),
            });
        }
        let mut doc = imports::apply_template_file(doc, opts.tosca_repo, opts.fetcher)?;
        special_inputs(&mut doc, opts.access_token);
        let topo = Topology::build(&doc, &spans, opts.fetcher)?;
        Ok(Tosca {
            doc,
            spans,
            id: opts.id.map_or_else(new_id, str::to_string),
            topo,
        })
    }

    /// Reads a stored document again (the service's `deserialize`): no
    /// `template_file` to resolve and no special inputs left to replace.
    pub fn from_stored(text: &str, id: &str, fetcher: &dyn Fetcher) -> Result<Tosca, ToscaError> {
        let mut opts = ParseOptions::new(fetcher);
        opts.id = Some(id);
        Tosca::parse(text, &opts)
    }

    /// The same document under another id (the service derives it from the
    /// infrastructure's, so that Kubernetes system names stay the same for
    /// the life of the infrastructure without storing anything more).
    pub fn with_id(mut self, id: &str) -> Tosca {
        self.id = id.to_string();
        self
    }

    /// The document's id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The document as stored (imports resolved, special inputs replaced).
    pub fn document(&self) -> &Value {
        &self.doc
    }

    /// The stored document as YAML text (keys sorted, as the reference's
    /// `yaml.safe_dump` gives `GET /infrastructures/<id>/tosca`).
    pub fn to_yaml(&self) -> String {
        yaml::to_yaml(&self.doc, true, false)
    }

    /// The RADL of the document. With `infra` (an AddResource), deploy counts
    /// are deltas against its live VMs and scaling down fills the removal list.
    pub fn to_radl(
        &self,
        infra: Option<&InfraView>,
        fetcher: &dyn Fetcher,
    ) -> Result<Conversion, ToscaError> {
        let conv = convert::Converter {
            ev: Eval {
                topo: &self.topo,
                infra: None,
                id: &self.id,
                fetcher: Some(fetcher),
            },
            topo: &self.topo,
            infra,
            fetcher,
        };
        conv.run()
    }

    /// This document with `other` merged in (maps by key, lists by index,
    /// scalars replaced), validated again. `self` is left as it was.
    pub fn merge(&self, other: &Tosca, fetcher: &dyn Fetcher) -> Result<Tosca, ToscaError> {
        let doc = merge_documents(&self.doc, &other.doc);
        let topo = Topology::build(&doc, &Spans::default(), fetcher)?;
        Ok(Tosca {
            doc,
            spans: Spans::default(),
            id: self.id.clone(),
            topo,
        })
    }

    /// A copy without the `removal_list` of any `scalable` capability: once the
    /// VMs are removed, keeping the list would remove the same ids again on the
    /// next post (IM-compat: the reference keeps it).
    pub fn without_removal_lists(&self) -> Tosca {
        let mut out = self.clone();
        let nodes = out
            .doc
            .as_map_mut()
            .and_then(|m| m.get_mut("topology_template"))
            .and_then(Value::as_map_mut)
            .and_then(|t| t.get_mut("node_templates"))
            .and_then(Value::as_map_mut);
        if let Some(nodes) = nodes {
            for node in nodes.values_mut() {
                if let Some(props) = node
                    .as_map_mut()
                    .and_then(|n| n.get_mut("capabilities"))
                    .and_then(Value::as_map_mut)
                    .and_then(|c| c.get_mut("scalable"))
                    .and_then(Value::as_map_mut)
                    .and_then(|s| s.get_mut("properties"))
                    .and_then(Value::as_map_mut)
                {
                    props.shift_remove("removal_list");
                }
            }
        }
        for node in &mut out.topo.nodes {
            if let Some(cap) = node.caps.get_mut("scalable") {
                cap.props.shift_remove("removal_list");
            }
        }
        out
    }

    /// The outputs of the document. With `infra`, attributes are the live
    /// values of its VMs; without, the deploy-time (Jinja) forms.
    pub fn outputs(
        &self,
        infra: Option<&InfraView>,
    ) -> Result<IndexMap<String, serde_json::Value>, ToscaError> {
        let ev = Eval {
            topo: &self.topo,
            infra,
            id: &self.id,
            fetcher: None,
        };
        let mut out = IndexMap::new();
        for (name, expr) in &self.topo.outputs {
            let v = ev.resolve(expr, Ctx::None)?;
            out.insert(name.clone(), v.to_json());
        }
        Ok(out)
    }

    /// The line of the document where a node template is defined (for messages).
    pub fn node_line(&self, node: &str) -> Option<u64> {
        match self
            .spans
            .locate(&["topology_template", "node_templates", node])
            .0
        {
            0 => None,
            l => Some(l),
        }
    }

    /// The names of the document's inputs with their (possibly replaced) defaults.
    pub fn inputs(&self) -> IndexMap<String, Value> {
        self.topo
            .inputs
            .iter()
            .map(|(k, d)| (k.clone(), d.get("default").cloned().unwrap_or_default()))
            .collect()
    }
}

/// Whether a request body of this `Content-Type` is TOSCA (the reference's
/// test: `text/yaml`, `text/x-yaml` or `application/yaml` anywhere in it).
pub fn is_tosca_media_type(content_type: &str) -> bool {
    let ct = content_type.to_ascii_lowercase();
    ["text/yaml", "text/x-yaml", "application/yaml"]
        .iter()
        .any(|t| ct.contains(t))
}

/// Reads a document and converts it in one go (a create, no infrastructure).
pub fn to_radl(text: &str, fetcher: &dyn Fetcher) -> Result<Conversion, ToscaError> {
    Tosca::parse(text, &ParseOptions::new(fetcher))?.to_radl(None, fetcher)
}
