//! Ansible recipes from interface operations: playbook headers stripped, inputs
//! turned into play `vars`, and playbooks merged into one play as the
//! reference's `merge_recipes` does (lists concatenate, maps update, clashing
//! scalars become a two-element list).

use std::sync::Arc;

use crate::error::ToscaError;
use crate::memo::Memo;
use crate::yaml::{self, Map, Value};

/// A playbook var for an interface input, as it reads back from the text the
/// reference writes: strings stay strings, other values are their Python
/// `str()` read as YAML (`True`, `['a', 'b']`, `{'k': 'v'}`).
pub(crate) fn var_value(v: &Value) -> Value {
    match v {
        Value::Str(s) if !s.starts_with('|') => v.clone(),
        Value::Str(_) | Value::Null => v.clone(),
        other => {
            let text = other.py_str().replace('\n', "\\n");
            match yaml::parse_value(&text) {
                // A float such as 1e+16 (or anything read back as a string
                // the value was not) keeps its own value.
                Ok(Value::Str(_)) | Err(_) => other.clone(),
                Ok(parsed) => parsed,
            }
        }
    }
}

/// The playbooks read so far, headers removed, by text.
static PLAYBOOKS: Memo<Value> = Memo::new();

/// Parses a playbook and drops `hosts` and `connection` from every play; a text
/// that is not a list of plays is kept as it is.
pub(crate) fn remove_header(text: &str) -> Result<Arc<Value>, ToscaError> {
    PLAYBOOKS
        .get_or_try(text, |t| yaml::parse_value(t).map(strip_header))
        .map_err(|e| {
            ToscaError::convert(format!(
                "Error parsing YAML: {text}\n. Error: {}",
                e.message
            ))
        })
}

fn strip_header(value: Value) -> Value {
    match value {
        Value::List(plays) => Value::List(
            plays
                .into_iter()
                .map(|p| match p {
                    Value::Map(mut m) => {
                        m.shift_remove("hosts");
                        m.shift_remove("connection");
                        Value::Map(m)
                    }
                    other => other,
                })
                .collect(),
        ),
        other => other,
    }
}

/// `merge_recipes(plays, playbook)`: every play of `playbook` merged into a copy
/// of the first play of `plays`.
pub(crate) fn merge(plays: &[Value], playbook: &Value) -> Vec<Value> {
    let base = match plays.first() {
        Some(Value::Map(m)) => m.clone(),
        _ => Map::new(),
    };
    let others: Vec<&Map> = match playbook {
        Value::List(l) if l.iter().all(|p| matches!(p, Value::Map(_))) => {
            l.iter().filter_map(Value::as_map).collect()
        }
        _ => Vec::new(),
    };
    if others.is_empty() && base.is_empty() {
        return Vec::new();
    }
    others
        .into_iter()
        .map(|other| {
            let mut play = base.clone();
            let mut keys: Vec<String> = play.keys().cloned().collect();
            keys.extend(other.keys().filter(|k| !play.contains_key(*k)).cloned());
            for key in keys {
                let mine = play.get(&key).filter(|v| v.truthy()).cloned();
                let theirs = other.get(&key).filter(|v| v.truthy()).cloned();
                match (mine, theirs) {
                    (Some(Value::Map(mut a)), Some(b)) => {
                        if let Value::Map(b) = b {
                            for (k, v) in b {
                                a.insert(k, v);
                            }
                        }
                        play.insert(key, Value::Map(a));
                    }
                    (Some(Value::List(mut a)), Some(b)) => {
                        match b {
                            Value::List(b) => a.extend(b),
                            Value::Map(b) => a.extend(b.into_keys().map(Value::Str)),
                            Value::Str(s) => a.extend(s.chars().map(|c| Value::Str(c.to_string()))),
                            other => a.push(other),
                        }
                        play.insert(key, Value::List(a));
                    }
                    (Some(a), Some(b)) => {
                        play.insert(key, Value::List(vec![a, b]));
                    }
                    (None, Some(b)) => {
                        play.insert(key, b);
                    }
                    (_, None) => {}
                }
            }
            Value::Map(play)
        })
        .collect()
}

/// A play that runs a shell script: the script copied to `/tmp` and run with
/// the inputs as environment.
pub(crate) fn shell_play(op: &str, path: &str, content: &str, env: &Map) -> Value {
    let base = path.rsplit('/').next().unwrap_or(path);
    let dest = format!("/tmp/{base}");
    let mut copy = Map::new();
    copy.insert("dest".into(), Value::Str(dest.clone()));
    copy.insert("content".into(), Value::str(content));
    copy.insert("mode".into(), Value::str("0755"));
    let mut t1 = Map::new();
    t1.insert(
        "name".into(),
        Value::Str(format!("Copy contents of script of interface {op}")),
    );
    t1.insert("copy".into(), Value::Map(copy));
    let mut t2 = Map::new();
    t2.insert("name".into(), Value::str(op));
    t2.insert("shell".into(), Value::Str(dest));
    if !env.is_empty() {
        t2.insert(
            "environment".into(),
            Value::Map(
                env.iter()
                    .map(|(k, v)| (k.clone(), Value::Str(v.py_str())))
                    .collect(),
            ),
        );
    }
    let mut play = Map::new();
    play.insert(
        "tasks".into(),
        Value::List(vec![Value::Map(t1), Value::Map(t2)]),
    );
    Value::List(vec![Value::Map(play)])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn playbooks_merge_into_the_first_play() {
        let base = vec![yaml::parse_value("{vars: {a: 1}, tasks: [t0]}").unwrap()];
        let pb = yaml::parse_value("- {tasks: [t1], vars: {b: 2}, become: yes}\n").unwrap();
        let out = merge(&base, &pb);
        assert_eq!(
            out,
            vec![yaml::parse_value("{vars: {a: 1, b: 2}, tasks: [t0, t1], become: true}").unwrap()]
        );
    }

    #[test]
    fn non_string_vars_read_back_as_python_wrote_them() {
        let v = yaml::parse_value("{k: [a, 1, null]}").unwrap();
        assert_eq!(
            var_value(&v),
            yaml::parse_value("{k: [a, 1, None]}").unwrap()
        );
        assert_eq!(var_value(&Value::Bool(true)), Value::Bool(true));
    }

    #[test]
    fn hosts_and_connection_are_removed() {
        let v = remove_header("- hosts: all\n  connection: local\n  tasks: []\n").unwrap();
        assert_eq!(*v, yaml::parse_value("[{tasks: []}]").unwrap());
    }
}
