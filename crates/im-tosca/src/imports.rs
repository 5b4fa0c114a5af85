//! `imports` and `repositories`: where a document's custom types come from, and
//! the IM's `template_file` import (a template built on a template from a TOSCA
//! repository).

use std::collections::HashSet;
use std::sync::Arc;

use indexmap::IndexMap;

use crate::error::ToscaError;
use crate::fetch::Fetcher;
use crate::memo::Memo;
use crate::types::{Layer, Table, Types, collect_types, shipped_type_file};
use crate::yaml::{self, Map, Value};

/// How deep imports may nest (tosca-parser has no limit; a cycle would loop).
const MAX_DEPTH: usize = 8;

/// The `repositories` of a document: name → URL without its trailing `/`
/// (`name: {url: …}` or `name: "<url>"`).
pub(crate) fn repositories(doc: &Value) -> IndexMap<String, String> {
    let mut out = IndexMap::new();
    if let Some(Value::Map(repos)) = doc.get("repositories") {
        for (name, def) in repos {
            let url = match def {
                Value::Map(m) => m.get("url").and_then(Value::as_str),
                Value::Str(s) => Some(s.as_str()),
                _ => None,
            };
            if let Some(url) = url {
                out.insert(name.clone(), url.trim().trim_end_matches('/').to_string());
            }
        }
    }
    out
}

fn is_url(s: &str) -> bool {
    ["http://", "https://", "ftp://", "file://"]
        .iter()
        .any(|p| s.starts_with(p))
}

/// Joins a relative name to the URL of the document that names it.
fn join_url(base: &str, name: &str) -> String {
    match base.rfind('/') {
        Some(i) => format!("{}/{}", &base[..i], name.trim_start_matches("./")),
        None => name.to_string(),
    }
}

/// One import: its URL and the namespace prefix of its types.
struct Import {
    url: String,
    prefix: Option<String>,
}

/// The URL of a file named by an import (`file` + `repository`, a URL, or a
/// name relative to the importing document).
fn resolve_file(
    file: &str,
    repo: Option<&str>,
    repos: &IndexMap<String, String>,
    base: Option<&str>,
) -> Result<String, ToscaError> {
    if let Some(repo) = repo {
        return match repos.get(repo) {
            Some(url) => Ok(format!("{url}/{}", file.trim_start_matches('/'))),
            None => Err(ToscaError::Import(format!(
                "ValidationError: Repository \"{repo}\" used in an import is not defined in \"repositories\"."
            ))),
        };
    }
    if is_url(file) {
        return Ok(file.to_string());
    }
    match base {
        Some(b) => Ok(join_url(b, file)),
        None => Err(ToscaError::Import(format!(
            "ImportError: Relative file name \"{file}\" cannot be used in a pre-parsed input template."
        ))),
    }
}

/// The imports of one `imports` entry: a URL, a map of names to URLs or to
/// `{file, repository, namespace_prefix}` (several names per entry are
/// allowed, as tosca-parser allows them), or `{file, repository}` itself.
fn entry_imports(
    entry: &Value,
    repos: &IndexMap<String, String>,
    base: Option<&str>,
    names: &mut Vec<String>,
) -> Result<Vec<Import>, ToscaError> {
    let invalid = || {
        ToscaError::Import(format!(
            "ValidationError: Invalid import definition: {}",
            entry.py_str()
        ))
    };
    match entry {
        Value::Str(s) => Ok(vec![Import {
            url: resolve_file(s, None, repos, base)?,
            prefix: None,
        }]),
        Value::Map(m) if m.contains_key("file") => {
            let file = m.get("file").map(Value::py_str).unwrap_or_default();
            let repo = m.get("repository").map(Value::py_str);
            Ok(vec![Import {
                url: resolve_file(&file, repo.as_deref(), repos, base)?,
                prefix: m.get("namespace_prefix").map(Value::py_str),
            }])
        }
        Value::Map(m) => {
            let mut out = Vec::new();
            for (name, def) in m {
                if names.contains(name) {
                    return Err(ToscaError::Import(format!(
                        "ValidationError: Duplicate import name \"{name}\" was found."
                    )));
                }
                names.push(name.clone());
                let import = match def {
                    Value::Str(s) => Import {
                        url: resolve_file(s, None, repos, base)?,
                        prefix: None,
                    },
                    Value::Map(d) => {
                        let Some(file) = d.get("file") else {
                            return Err(ToscaError::Import(format!(
                                "ValidationError: Import \"{name}\" must have a \"file\" key."
                            )));
                        };
                        let repo = d.get("repository").map(Value::py_str);
                        Import {
                            url: resolve_file(&file.py_str(), repo.as_deref(), repos, base)?,
                            prefix: d.get("namespace_prefix").map(Value::py_str),
                        }
                    }
                    _ => return Err(invalid()),
                };
                out.push(import);
            }
            Ok(out)
        }
        _ => Err(invalid()),
    }
}

/// Reads a document by URL: a shipped type file, or through the fetcher.
pub(crate) fn read_url(url: &str, fetcher: &dyn Fetcher) -> Result<String, ToscaError> {
    if let Some(text) = shipped_type_file(url) {
        return Ok(text.to_string());
    }
    if url.starts_with("file://") {
        // Never read the server's own disk for a user's document.
        return Err(ToscaError::Import(format!(
            "URLException: Failed to reach server \"{url}\". Reason is: local files are not read."
        )));
    }
    fetcher.fetch(url).map_err(|reason| {
        ToscaError::Import(format!(
            "URLException: Failed to reach server \"{url}\". Reason is: {reason}."
        ))
    })
}

/// A fetched definitions document as parsed once per distinct text: the
/// document (for its own imports and repositories) and its type table.
struct Imported {
    doc: Value,
    types: Arc<IndexMap<String, Map>>,
}

/// The parsed fetched definitions documents, by text.
static IMPORTED: Memo<Imported> = Memo::new();
/// The parsed `template_file` bases, by text.
static BASES: Memo<Value> = Memo::new();

/// The custom types of a document: those of its imports (recursively, later
/// imports overriding earlier ones), then its own type sections.
pub(crate) fn custom_types(doc: &Value, fetcher: &dyn Fetcher) -> Result<Types, ToscaError> {
    let mut layers = Vec::new();
    let mut seen = HashSet::new();
    load_imports(doc, None, fetcher, &mut layers, &mut seen, 0)?;
    let mut own = IndexMap::new();
    collect_types(doc, &mut own);
    if !own.is_empty() {
        layers.push(Layer {
            table: Table::Shared(Arc::new(own)),
            prefix: None,
        });
    }
    Ok(Types::layered(layers))
}

fn load_imports(
    doc: &Value,
    base: Option<&str>,
    fetcher: &dyn Fetcher,
    out: &mut Vec<Layer>,
    seen: &mut HashSet<String>,
    depth: usize,
) -> Result<(), ToscaError> {
    let entries = match doc.get("imports") {
        None | Some(Value::Null) => return Ok(()),
        Some(Value::List(l)) => l.clone(),
        Some(Value::Map(m)) => m
            .iter()
            .map(|(k, v)| {
                let mut one = Map::new();
                one.insert(k.clone(), v.clone());
                Value::Map(one)
            })
            .collect(),
        Some(other) => {
            return Err(ToscaError::Import(format!(
                "TypeMismatchError: imports must be of type \"list\", not {}.",
                other.py_repr()
            )));
        }
    };
    if depth > MAX_DEPTH {
        return Err(ToscaError::Import(
            "ValidationError: imports are nested too deeply.".into(),
        ));
    }
    let repos = repositories(doc);
    let mut names = Vec::new();
    for entry in &entries {
        for import in entry_imports(entry, &repos, base, &mut names)? {
            let url = import.url;
            if !seen.insert(url.clone()) {
                continue;
            }
            // The shipped files import nothing; their parsed types are cached.
            if let Some(types) = crate::types::shipped_types(&url) {
                out.push(Layer {
                    table: Table::Shipped(types),
                    prefix: import.prefix,
                });
                continue;
            }
            let text = read_url(&url, fetcher)?;
            let imported = IMPORTED
                .get_or_try(&text, |t| {
                    yaml::parse_value(t).map(|doc| {
                        let mut types = IndexMap::new();
                        collect_types(&doc, &mut types);
                        Imported {
                            doc,
                            types: Arc::new(types),
                        }
                    })
                })
                .map_err(|e| {
                    ToscaError::Import(format!(
                        "ImportError: \"{url}\" is not a valid YAML document: {}",
                        e.message
                    ))
                })?;
            if !matches!(imported.doc, Value::Map(_)) {
                return Err(ToscaError::Import(format!(
                    "ImportError: \"{url}\" is not a TOSCA definitions document."
                )));
            }
            load_imports(&imported.doc, Some(&url), fetcher, out, seen, depth + 1)?;
            out.push(Layer {
                table: Table::Shared(Arc::clone(&imported.types)),
                prefix: import.prefix,
            });
        }
    }
    Ok(())
}

/// The IM's `template_file` import: when a document has exactly one import and
/// it is `{template_file: NAME}`, the named template becomes the base and the
/// document's inputs, outputs and node templates are laid over it.
pub(crate) fn apply_template_file(
    mut doc: Value,
    tosca_repo: Option<&str>,
    fetcher: &dyn Fetcher,
) -> Result<Value, ToscaError> {
    let Some(file) = template_file_import(&doc) else {
        return Ok(doc);
    };
    if let Some(repo) = tosca_repo
        && is_url(&file)
        && !file.starts_with(repo)
    {
        return Err(ToscaError::Import(format!(
            "The TOSCA template must be imported from the TOSCA repository: {repo}"
        )));
    }
    let url = if is_url(&file) {
        file.clone()
    } else {
        match tosca_repo {
            Some(repo) if repo.ends_with('/') => format!("{repo}{file}"),
            Some(repo) => format!("{repo}/{file}"),
            None => {
                return Err(ToscaError::Import(format!(
                    "Relative file name \"{file}\" cannot be used in a pre-parsed input template."
                )));
            }
        }
    };
    let text = read_url(&url, fetcher)?;
    let base = BASES.get_or_try(&text, yaml::parse_value).map_err(|e| {
        ToscaError::Import(format!(
            "ImportError: \"{url}\" is not a valid YAML document: {}",
            e.message
        ))
    })?;
    let base_topology = base
        .get("topology_template")
        .and_then(Value::as_map)
        .cloned()
        .unwrap_or_default();
    let base_imports = base
        .get("imports")
        .and_then(Value::as_list)
        .map(<[Value]>::to_vec);
    let Some(root) = doc.as_map_mut() else {
        return Ok(doc);
    };
    let child = root
        .get("topology_template")
        .and_then(Value::as_map)
        .cloned()
        .unwrap_or_default();
    let section = |m: &Map, key: &str| {
        m.get(key)
            .and_then(Value::as_map)
            .cloned()
            .unwrap_or_default()
    };

    // Inputs: a child input given as a map with a truthy default sets that
    // default; any other child value becomes the default; new inputs are added.
    let mut inputs = section(&base_topology, "inputs");
    for (name, new) in section(&child, "inputs") {
        if !new.truthy() {
            continue;
        }
        match inputs.get_mut(&name) {
            Some(imported) if imported.truthy() => {
                let default = match &new {
                    Value::Map(m) if m.get("default").is_some_and(Value::truthy) => {
                        m.get("default").cloned().unwrap_or_default()
                    }
                    other => other.clone(),
                };
                if let Value::Map(im) = imported {
                    im.insert("default".into(), default);
                }
            }
            _ => {
                inputs.insert(name, new);
            }
        }
    }
    let mut outputs = section(&base_topology, "outputs");
    for (name, new) in section(&child, "outputs") {
        if new.truthy() {
            outputs.insert(name, new);
        }
    }
    let mut nodes = section(&base_topology, "node_templates");
    for (name, new) in section(&child, "node_templates") {
        if new.truthy() {
            nodes.insert(name, new);
        }
    }
    let mut topology = Map::new();
    topology.insert("inputs".into(), Value::Map(inputs));
    topology.insert("outputs".into(), Value::Map(outputs));
    topology.insert("node_templates".into(), Value::Map(nodes));
    // The child's other topology sections are kept (the reference keeps them too).
    for (k, v) in child {
        if !topology.contains_key(&k) {
            topology.insert(k, v);
        }
    }
    root.insert("topology_template".into(), Value::Map(topology));
    let mut imports = Vec::new();
    imports.extend(base_imports.unwrap_or_default());
    root.insert("imports".into(), Value::List(imports));
    Ok(doc)
}

fn template_file_import(doc: &Value) -> Option<String> {
    doc.get("tosca_definitions_version")?;
    match doc.get("imports")? {
        Value::List(l) if l.len() == 1 => match l[0].get("template_file")? {
            Value::Null => None,
            v => Some(v.py_str()),
        },
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn imports_resolve_through_repositories_and_relative_names() {
        let doc = yaml::parse_value(
            "repositories:\n  r: {url: 'https://h/x/'}\n  s: https://h/y\nimports:\n  - a: {file: t.yaml, repository: r}\n  - b: {file: u.yaml, repository: s}\n",
        )
        .unwrap();
        let repos = repositories(&doc);
        let entries = doc.get("imports").unwrap().as_list().unwrap();
        let url = |e: &Value, base: Option<&str>| {
            entry_imports(e, &repos, base, &mut Vec::new()).map(|v| v[0].url.clone())
        };
        assert_eq!(url(&entries[0], None).unwrap(), "https://h/x/t.yaml");
        assert_eq!(url(&entries[1], None).unwrap(), "https://h/y/u.yaml");
        assert_eq!(
            url(&Value::str("z.yaml"), Some("https://h/a/b.yaml")).unwrap(),
            "https://h/a/z.yaml"
        );
        assert!(url(&Value::str("z.yaml"), None).is_err());
        let two = yaml::parse_value("{a: 'https://h/1.yaml', b: 'https://h/2.yaml'}").unwrap();
        let both = entry_imports(&two, &repos, None, &mut Vec::new()).unwrap();
        assert_eq!(both.len(), 2);
    }
}
