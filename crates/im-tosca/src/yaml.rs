//! The YAML value model of the crate: parsing with line numbers (so errors can
//! point at the template line), Python's `str()`/`repr()` of values (what the
//! reference writes into Jinja text, `concat` results and playbook vars) and a
//! block-style emitter for recipes and stored documents.
//!
//! Values follow PyYAML's `safe_load` where it matters for TOSCA: maps keep their
//! key order, integers and floats stay distinct, `yes`/`no` are booleans.

use std::fmt::Write as _;

use im_radl::py_repr_str;
use indexmap::IndexMap;
use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::Spanned;

/// A YAML map with string keys, in document order.
pub type Map = IndexMap<String, Value>;

/// A parsed YAML value.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Value {
    /// `~`, `null` or nothing.
    #[default]
    Null,
    /// `true`/`false` (and YAML 1.1 `yes`/`no`/`on`/`off`).
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A float.
    Float(f64),
    /// A string.
    Str(String),
    /// A sequence.
    List(Vec<Value>),
    /// A mapping.
    Map(Map),
}

impl Value {
    /// A string value.
    pub fn str(s: impl Into<String>) -> Value {
        Value::Str(s.into())
    }

    /// The string, if this is one.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The map, if this is one.
    pub fn as_map(&self) -> Option<&Map> {
        match self {
            Value::Map(m) => Some(m),
            _ => None,
        }
    }

    /// The map, mutable, if this is one.
    pub fn as_map_mut(&mut self) -> Option<&mut Map> {
        match self {
            Value::Map(m) => Some(m),
            _ => None,
        }
    }

    /// The list, if this is one.
    pub fn as_list(&self) -> Option<&[Value]> {
        match self {
            Value::List(l) => Some(l),
            _ => None,
        }
    }

    /// The entry `key` of a map (`None` for other values).
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.as_map().and_then(|m| m.get(key))
    }

    /// Whether this is `Null`.
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// Python truthiness (`if value:`).
    pub fn truthy(&self) -> bool {
        match self {
            Value::Null => false,
            Value::Bool(b) => *b,
            Value::Int(i) => *i != 0,
            Value::Float(f) => *f != 0.0,
            Value::Str(s) => !s.is_empty(),
            Value::List(l) => !l.is_empty(),
            Value::Map(m) => !m.is_empty(),
        }
    }

    /// Whether this is an integer or a float (Python `int`/`float`, bools excluded).
    pub fn is_number(&self) -> bool {
        matches!(self, Value::Int(_) | Value::Float(_))
    }

    /// Python's `str(value)`.
    pub fn py_str(&self) -> String {
        match self {
            Value::Str(s) => s.clone(),
            other => other.py_repr(),
        }
    }

    /// Python's `repr(value)`.
    pub fn py_repr(&self) -> String {
        let mut out = String::new();
        write_repr(self, &mut out);
        out
    }

    /// The JSON form (`serde_json::Value`), for the service's answers.
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Value::Null => serde_json::Value::Null,
            Value::Bool(b) => serde_json::Value::Bool(*b),
            Value::Int(i) => serde_json::Value::from(*i),
            Value::Float(f) => serde_json::Number::from_f64(*f)
                .map(serde_json::Value::Number)
                .unwrap_or(serde_json::Value::Null),
            Value::Str(s) => serde_json::Value::String(s.clone()),
            Value::List(l) => serde_json::Value::Array(l.iter().map(Value::to_json).collect()),
            Value::Map(m) => {
                serde_json::Value::Object(m.iter().map(|(k, v)| (k.clone(), v.to_json())).collect())
            }
        }
    }

    /// Python's `json.dumps(value)` (`", "` and `": "` separators, ASCII only).
    pub fn py_json(&self) -> String {
        let mut out = String::new();
        write_py_json(self, &mut out);
        out
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Value {
        Value::Str(s.to_string())
    }
}

impl From<String> for Value {
    fn from(s: String) -> Value {
        Value::Str(s)
    }
}

fn write_repr(v: &Value, out: &mut String) {
    match v {
        Value::Null => out.push_str("None"),
        Value::Bool(true) => out.push_str("True"),
        Value::Bool(false) => out.push_str("False"),
        Value::Int(i) => {
            let _ = write!(out, "{i}");
        }
        Value::Float(f) => out.push_str(&im_radl::python_float_repr(*f)),
        Value::Str(s) => out.push_str(&py_repr_str(s)),
        Value::List(l) => {
            out.push('[');
            for (i, x) in l.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_repr(x, out);
            }
            out.push(']');
        }
        Value::Map(m) => {
            out.push('{');
            for (i, (k, x)) in m.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                out.push_str(&py_repr_str(k));
                out.push_str(": ");
                write_repr(x, out);
            }
            out.push('}');
        }
    }
}

fn write_json_str(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 || (c as u32) > 0x7e => {
                let mut buf = [0u16; 2];
                for unit in c.encode_utf16(&mut buf) {
                    let _ = write!(out, "\\u{unit:04x}");
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

fn write_py_json(v: &Value, out: &mut String) {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int(i) => {
            let _ = write!(out, "{i}");
        }
        Value::Float(f) if f.is_nan() => out.push_str("NaN"),
        Value::Float(f) if f.is_infinite() => {
            out.push_str(if *f > 0.0 { "Infinity" } else { "-Infinity" })
        }
        Value::Float(f) => out.push_str(&im_radl::python_float_repr(*f)),
        Value::Str(s) => write_json_str(s, out),
        Value::List(l) => {
            out.push('[');
            for (i, x) in l.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_py_json(x, out);
            }
            out.push(']');
        }
        Value::Map(m) => {
            out.push('{');
            for (i, (k, x)) in m.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_json_str(k, out);
                out.push_str(": ");
                write_py_json(x, out);
            }
            out.push('}');
        }
    }
}

// ---------------------------------------------------------------------------
// Parsing

/// Where each node of a parsed document starts, mirroring the value's shape.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Spans {
    /// 1-based line of the node (0 when unknown).
    pub line: u64,
    /// 1-based column of the node (0 when unknown).
    pub column: u64,
    kids: SpanKids,
}

#[derive(Debug, Clone, Default, PartialEq)]
enum SpanKids {
    #[default]
    None,
    List(Vec<Spans>),
    Map(IndexMap<String, Spans>),
}

impl Spans {
    /// The line and column of the node at `path` (map keys, or list indexes
    /// written as numbers), or of its deepest existing ancestor.
    pub fn locate(&self, path: &[&str]) -> (u64, u64) {
        let mut here = self;
        for step in path {
            let next = match &here.kids {
                SpanKids::Map(m) => m.get(*step),
                SpanKids::List(l) => step.parse::<usize>().ok().and_then(|i| l.get(i)),
                SpanKids::None => None,
            };
            match next {
                Some(n) if n.line > 0 => here = n,
                _ => break,
            }
        }
        (here.line, here.column)
    }
}

/// A YAML syntax error, with its position when the parser gave one.
#[derive(Debug, Clone, PartialEq)]
pub struct YamlError {
    /// The parser's message (no source snippet).
    pub message: String,
    /// 1-based line, when known.
    pub line: Option<u64>,
    /// 1-based column, when known.
    pub column: Option<u64>,
}

/// The raw tree the deserializer builds: every node with its location.
enum Tree {
    Scalar(Value),
    List(Vec<Spanned<Tree>>),
    Map(Vec<(Spanned<Key>, Spanned<Tree>)>),
}

impl<'de> Deserialize<'de> for Tree {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(TreeVisitor)
    }
}

struct TreeVisitor;

/// A map key: any scalar (shown as Python's `str()` would show it).
struct Key(Value);

impl<'de> Deserialize<'de> for Key {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match Tree::deserialize(d)? {
            Tree::Scalar(v) => Ok(Key(v)),
            _ => Err(de::Error::custom("a mapping key must be a scalar")),
        }
    }
}

/// A boolean as PyYAML reads its source text: plain `y`, `n` (and other
/// spellings serde-saphyr accepts) are strings there.
fn pyyaml_bool(b: bool, span: serde_saphyr::Span, src: &str) -> Value {
    let text = span
        .byte_offset()
        .zip(span.byte_len())
        .and_then(|(o, l)| src.get(usize::try_from(o).ok()?..usize::try_from(o + l).ok()?))
        .map(str::trim);
    match text {
        Some(t)
            if !t.is_empty() && !PYYAML_BOOLS.contains(&t) && !t.starts_with(['!', '&', '*']) =>
        {
            Value::Str(t.to_string())
        }
        _ => Value::Bool(b),
    }
}

impl<'de> Visitor<'de> for TreeVisitor {
    type Value = Tree;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("any YAML value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Tree, E> {
        Ok(Tree::Scalar(Value::Bool(v)))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Tree, E> {
        Ok(Tree::Scalar(Value::Int(v)))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Tree, E> {
        Ok(Tree::Scalar(match i64::try_from(v) {
            Ok(i) => Value::Int(i),
            Err(_) => Value::Float(v as f64),
        }))
    }
    fn visit_i128<E>(self, v: i128) -> Result<Tree, E> {
        Ok(Tree::Scalar(match i64::try_from(v) {
            Ok(i) => Value::Int(i),
            Err(_) => Value::Float(v as f64),
        }))
    }
    fn visit_u128<E>(self, v: u128) -> Result<Tree, E> {
        Ok(Tree::Scalar(match i64::try_from(v) {
            Ok(i) => Value::Int(i),
            Err(_) => Value::Float(v as f64),
        }))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Tree, E> {
        Ok(Tree::Scalar(Value::Float(v)))
    }
    fn visit_str<E>(self, v: &str) -> Result<Tree, E> {
        Ok(Tree::Scalar(Value::Str(v.to_string())))
    }
    fn visit_string<E>(self, v: String) -> Result<Tree, E> {
        Ok(Tree::Scalar(Value::Str(v)))
    }
    fn visit_unit<E>(self) -> Result<Tree, E> {
        Ok(Tree::Scalar(Value::Null))
    }
    fn visit_none<E>(self) -> Result<Tree, E> {
        Ok(Tree::Scalar(Value::Null))
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Tree, D::Error> {
        Tree::deserialize(d)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Tree, A::Error> {
        let mut out = Vec::new();
        while let Some(x) = seq.next_element::<Spanned<Tree>>()? {
            out.push(x);
        }
        Ok(Tree::List(out))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Tree, A::Error> {
        let mut out: Vec<(Spanned<Key>, Spanned<Tree>)> = Vec::new();
        while let Some(k) = map.next_key::<Spanned<Key>>()? {
            let v = map.next_value::<Spanned<Tree>>()?;
            // PyYAML keeps the last of repeated keys, at the first one's place.
            match out
                .iter_mut()
                .find(|(key, _)| key.value.0 == k.value.0 && key.value.0 != Value::Null)
            {
                Some(slot) => slot.1 = v,
                None => out.push((k, v)),
            }
        }
        Ok(Tree::Map(out))
    }
}

/// PyYAML's booleans; serde-saphyr also reads `y`, `n` and other spellings.
const PYYAML_BOOLS: [&str; 18] = [
    "yes", "Yes", "YES", "no", "No", "NO", "true", "True", "TRUE", "false", "False", "FALSE", "on",
    "On", "ON", "off", "Off", "OFF",
];

fn split(node: Spanned<Tree>, src: &str) -> (Value, Spans) {
    split_at(node, src, None)
}

/// Splits a node into its value and locations; `at` is the location of the
/// map key the node is the value of (errors point at the key's line).
fn split_at(node: Spanned<Tree>, src: &str, at: Option<(u64, u64)>) -> (Value, Spans) {
    let (line, column) = at.unwrap_or((node.referenced.line(), node.referenced.column()));
    let span = node.referenced.span();
    match node.value {
        Tree::Scalar(Value::Bool(b)) => (
            pyyaml_bool(b, span, src),
            Spans {
                line,
                column,
                kids: SpanKids::None,
            },
        ),
        Tree::Scalar(v) => (
            v,
            Spans {
                line,
                column,
                kids: SpanKids::None,
            },
        ),
        Tree::List(items) => {
            let (vals, spans): (Vec<Value>, Vec<Spans>) =
                items.into_iter().map(|i| split(i, src)).unzip();
            (
                Value::List(vals),
                Spans {
                    line,
                    column,
                    kids: SpanKids::List(spans),
                },
            )
        }
        Tree::Map(entries) => {
            let mut vals = Map::new();
            let mut spans = IndexMap::new();
            for (k, v) in entries {
                let key_at = (k.referenced.line(), k.referenced.column());
                let key = match k.value.0 {
                    Value::Bool(b) => pyyaml_bool(b, k.referenced.span(), src),
                    other => other,
                }
                .py_str();
                let (v, s) = split_at(v, src, Some(key_at));
                vals.insert(key.clone(), v);
                spans.insert(key, s);
            }
            (
                Value::Map(vals),
                Spans {
                    line,
                    column,
                    kids: SpanKids::Map(spans),
                },
            )
        }
    }
}

/// Parses one YAML document into a value and the location of each node.
pub fn parse(text: &str) -> Result<(Value, Spans), YamlError> {
    if text
        .lines()
        .all(|l| l.trim().is_empty() || l.trim_start().starts_with('#'))
    {
        return Ok((Value::Null, Spans::default()));
    }
    let mut options = serde_saphyr::Options::default();
    // PyYAML accepts repeated keys (the last one wins).
    options.duplicate_keys = serde_saphyr::DuplicateKeyPolicy::LastWins;
    options.with_snippet = false;
    match serde_saphyr::from_str_with_options::<Spanned<Tree>>(text, options) {
        Ok(tree) => Ok(split(tree, text)),
        Err(e) => {
            let loc = e.location();
            let (line, column) = (loc.map(|l| l.line()), loc.map(|l| l.column()));
            Err(YamlError {
                message: pyyaml_words(&e.to_string(), text, line, column),
                line,
                column,
            })
        }
    }
}

/// A syntax error in PyYAML's words where the two parsers agree on what is
/// wrong (clients match on the start of the reference's message, e.g. `while
/// parsing a flow node` for an unclosed `[`); the location is given apart.
fn pyyaml_words(message: &str, text: &str, line: Option<u64>, column: Option<u64>) -> String {
    // The location is reported once, by the caller.
    let mut message = message.to_string();
    if let (Some(l), Some(c)) = (line, column) {
        let suffix = format!(" at line {l}, column {c}");
        if let Some(stripped) = message.strip_suffix(&suffix) {
            message = stripped.to_string();
        }
    }
    let lower = message.to_ascii_lowercase();
    let flow = if lower.contains("'{'") || lower.contains("brace") || lower.contains("mapping") {
        Some(("{", "mapping", "',' or '}'"))
    } else if lower.contains("bracket") || lower.contains("sequence") {
        Some(("[", "sequence", "',' or ']'"))
    } else {
        None
    };
    let unclosed =
        lower.contains("unclosed") || lower.contains("unterminated") || lower.contains("end of");
    match flow {
        Some((open, kind, expected)) if unclosed => {
            // Nothing after the opening character: PyYAML wanted a node there.
            let rest = text.rfind(open).map_or("", |i| &text[i + 1..]);
            let nothing_after = rest
                .lines()
                .all(|l| l.trim().is_empty() || l.trim_start().starts_with('#'));
            if nothing_after {
                "while parsing a flow node\nexpected the node content, but found '<stream end>'"
                    .to_string()
            } else {
                format!("while parsing a flow {kind}\nexpected {expected}, but got '<stream end>'")
            }
        }
        _ => message,
    }
}

/// Parses one YAML document into a value.
pub fn parse_value(text: &str) -> Result<Value, YamlError> {
    parse(text).map(|(v, _)| v)
}

// ---------------------------------------------------------------------------
// Emitting

/// Writes `value` as block-style YAML (as PyYAML's `safe_dump` with
/// `default_flow_style=False`), with map keys sorted when `sort_keys` is set.
/// `explicit_start` adds the leading `---`.
pub fn to_yaml(value: &Value, sort_keys: bool, explicit_start: bool) -> String {
    let mut out = String::new();
    if explicit_start {
        out.push_str("---\n");
    }
    match value {
        Value::List(l) if !l.is_empty() => emit_list(l, 0, sort_keys, &mut out),
        Value::Map(m) if !m.is_empty() => emit_map(m, 0, sort_keys, &mut out),
        scalar => {
            out.push_str(&scalar_text(scalar));
            out.push('\n');
        }
    }
    out
}

fn sorted(m: &Map, sort_keys: bool) -> Vec<(&String, &Value)> {
    let mut entries: Vec<(&String, &Value)> = m.iter().collect();
    if sort_keys {
        entries.sort_by(|a, b| a.0.cmp(b.0));
    }
    entries
}

fn emit_map(m: &Map, indent: usize, sort_keys: bool, out: &mut String) {
    for (i, (k, v)) in sorted(m, sort_keys).into_iter().enumerate() {
        // The first entry of a map inside a list item sits on the `- ` line.
        if i > 0 || !out.ends_with("- ") {
            out.push_str(&" ".repeat(indent));
        }
        out.push_str(&string_text(k));
        out.push(':');
        emit_child(v, indent, sort_keys, out);
    }
}

fn emit_list(l: &[Value], indent: usize, sort_keys: bool, out: &mut String) {
    for (i, v) in l.iter().enumerate() {
        if i > 0 || !out.ends_with("- ") {
            out.push_str(&" ".repeat(indent));
        }
        out.push_str("- ");
        match v {
            Value::Map(m) if !m.is_empty() => emit_map(m, indent + 2, sort_keys, out),
            Value::List(inner) if !inner.is_empty() => emit_list(inner, indent + 2, sort_keys, out),
            scalar => {
                out.push_str(&scalar_text(scalar));
                out.push('\n');
            }
        }
    }
}

/// The value of a `key:` line: inline for scalars and empty collections,
/// on the following lines otherwise (lists at the key's indentation, as PyYAML).
fn emit_child(v: &Value, indent: usize, sort_keys: bool, out: &mut String) {
    match v {
        Value::Map(m) if !m.is_empty() => {
            out.push('\n');
            emit_map(m, indent + 2, sort_keys, out);
        }
        Value::List(l) if !l.is_empty() => {
            out.push('\n');
            emit_list(l, indent, sort_keys, out);
        }
        scalar => {
            out.push(' ');
            out.push_str(&scalar_text(scalar));
            out.push('\n');
        }
    }
}

fn scalar_text(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => if *b { "true" } else { "false" }.into(),
        Value::Int(i) => i.to_string(),
        Value::Float(f) if f.is_nan() => ".nan".into(),
        Value::Float(f) if f.is_infinite() => if *f > 0.0 { ".inf" } else { "-.inf" }.into(),
        Value::Float(f) => im_radl::python_float_repr(*f),
        Value::Str(s) => string_text(s),
        Value::List(_) => "[]".into(),
        Value::Map(_) => "{}".into(),
    }
}

/// Whether a plain scalar would read back as something other than this string.
fn resolves_to_other_type(s: &str) -> bool {
    let lower = s.to_ascii_lowercase();
    if matches!(
        lower.as_str(),
        "null"
            | "~"
            | "true"
            | "false"
            | "yes"
            | "no"
            | "on"
            | "off"
            | "y"
            | "n"
            | ".inf"
            | "-.inf"
            | "+.inf"
            | ".nan"
            | "<<"
            | "="
    ) {
        return true;
    }
    let first = s.as_bytes()[0];
    // Anything that starts like a number, a date or a sexagesimal is quoted.
    first.is_ascii_digit()
        || ((first == b'+' || first == b'-' || first == b'.')
            && s.as_bytes()
                .get(1)
                .is_some_and(|c| c.is_ascii_digit() || *c == b'.'))
}

fn string_text(s: &str) -> String {
    let plain = !s.is_empty()
        && !s.starts_with(|c: char| " -?:,[]{}#&*!|>'\"%@`".contains(c))
        && !s.ends_with([' ', ':'])
        && !s.contains(": ")
        && !s.contains(" #")
        && !s.chars().any(|c| c.is_control() || c == '\u{feff}')
        && !resolves_to_other_type(s);
    if plain {
        s.to_string()
    } else if !s.chars().any(|c| c.is_control()) {
        format!("'{}'", s.replace('\'', "''"))
    } else {
        let mut out = String::new();
        write_json_str(s, &mut out);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scalars_are_read_as_pyyaml_reads_them() {
        let v = parse_value("a: 1\nb: 1.5\nc: yes\nd: ~\ne: '1'\nf: 22.04\ng: 1 GB\n").unwrap();
        assert_eq!(v.get("a"), Some(&Value::Int(1)));
        assert_eq!(v.get("b"), Some(&Value::Float(1.5)));
        assert_eq!(v.get("c"), Some(&Value::Bool(true)));
        assert_eq!(v.get("d"), Some(&Value::Null));
        assert_eq!(v.get("e"), Some(&Value::str("1")));
        assert_eq!(v.get("f").map(Value::py_str), Some("22.04".to_string()));
        assert_eq!(v.get("g"), Some(&Value::str("1 GB")));
        let v = parse_value("a: y\nb: N\nc: on\nd: 'yes'\ne: [y, true]\n").unwrap();
        assert_eq!(v.get("a"), Some(&Value::str("y")));
        assert_eq!(v.get("b"), Some(&Value::str("N")));
        assert_eq!(v.get("c"), Some(&Value::Bool(true)));
        assert_eq!(v.get("d"), Some(&Value::str("yes")));
        assert_eq!(
            v.get("e"),
            Some(&Value::List(vec![Value::str("y"), Value::Bool(true)]))
        );
    }

    #[test]
    fn every_node_knows_its_line() {
        let (_, spans) = parse("a:\n  b:\n    - x\n    - y: 1\n").unwrap();
        assert_eq!(spans.locate(&["a", "b", "1", "y"]).0, 4);
        assert_eq!(spans.locate(&["a", "b", "0"]).0, 3);
        assert_eq!(spans.locate(&["a", "b", "nope"]).0, 2);
        // A map value is located at its key.
        assert_eq!(spans.locate(&["a"]).0, 1);
    }

    #[test]
    fn python_str_of_values_matches_python() {
        let v = parse_value("[a, 1, 1.0, true, null, {k: v}, \"it's\"]").unwrap();
        assert_eq!(
            v.py_str(),
            "['a', 1, 1.0, True, None, {'k': 'v'}, \"it's\"]"
        );
    }

    #[test]
    fn emitted_yaml_reads_back_to_the_same_value() {
        let text = "- tasks:\n  - name: x\n    shell: \"echo 'a: b' # c\"\n  - {}\n  vars:\n    a: '1'\n    b: [x, [y, z]]\n    c: 'yes'\n    d: \"multi\\nline\"\n    e: -3\n    f: ''\n    g: '{{ x }}'\n";
        let v = parse_value(text).unwrap();
        let out = to_yaml(&v, true, true);
        assert_eq!(parse_value(&out).unwrap(), v, "{out}");
    }

    #[test]
    fn python_json_uses_python_separators() {
        let v = parse_value("{a: [1, 'x'], b: \"é\"}").unwrap();
        assert_eq!(v.py_json(), "{\"a\": [1, \"x\"], \"b\": \"\\u00e9\"}");
    }
}

#[cfg(test)]
mod pyyaml_words_tests {
    use super::*;

    #[test]
    fn syntax_errors_read_as_pyyaml_words_them() {
        for (text, start) in [
            ("foo: [", "while parsing a flow node"),
            ("foo: [a, b", "while parsing a flow sequence"),
            ("foo: {a: 1", "while parsing a flow mapping"),
        ] {
            let e = parse(text).expect_err(text);
            assert!(e.message.starts_with(start), "{text}: {}", e.message);
            assert!(!e.message.contains(" at line "), "{}", e.message);
            assert_eq!(e.line, Some(1), "{text}");
        }
        let e = parse("a: b: c").expect_err("bad");
        assert!(!e.message.contains(" at line "), "{}", e.message);
    }
}
