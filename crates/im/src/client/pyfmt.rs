//! The few pieces of Python that show in `im_client`'s output: `json.dumps`
//! (with and without `indent=4`), `str()`/`repr()` of decoded JSON values,
//! `int()` of a command-line argument and `os.path.basename`.

use serde_json::Value;

use im_radl::python_float_repr;

/// Python's `json.dumps(value)` (`indent` `None`: separators `", "` and `": "`)
/// or `json.dumps(value, indent=N)` (separators `","` and `": "`, one item a
/// line); `ensure_ascii` as Python's default, so non-ASCII text is `\uXXXX`.
pub fn json_dumps(value: &Value, indent: Option<usize>) -> String {
    let mut out = String::new();
    dump(value, indent, 0, &mut out);
    out
}

fn dump(value: &Value, indent: Option<usize>, level: usize, out: &mut String) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&json_number(n)),
        Value::String(s) => json_string(s, out),
        Value::Array(items) => {
            if items.is_empty() {
                out.push_str("[]");
                return;
            }
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                separator(i, indent, level + 1, out);
                dump(item, indent, level + 1, out);
            }
            close(indent, level, out);
            out.push(']');
        }
        Value::Object(map) => {
            if map.is_empty() {
                out.push_str("{}");
                return;
            }
            out.push('{');
            for (i, (key, item)) in map.iter().enumerate() {
                separator(i, indent, level + 1, out);
                json_string(key, out);
                out.push_str(": ");
                dump(item, indent, level + 1, out);
            }
            close(indent, level, out);
            out.push('}');
        }
    }
}

fn separator(i: usize, indent: Option<usize>, level: usize, out: &mut String) {
    match indent {
        Some(n) => {
            if i > 0 {
                out.push(',');
            }
            out.push('\n');
            out.push_str(&" ".repeat(n * level));
        }
        None => {
            if i > 0 {
                out.push_str(", ");
            }
        }
    }
}

fn close(indent: Option<usize>, level: usize, out: &mut String) {
    if let Some(n) = indent {
        out.push('\n');
        out.push_str(&" ".repeat(n * level));
    }
}

fn json_number(n: &serde_json::Number) -> String {
    if n.is_i64() || n.is_u64() {
        return n.to_string();
    }
    match n.as_f64() {
        Some(f) if f.is_nan() => "NaN".into(),
        Some(f) if f.is_infinite() => {
            if f > 0.0 {
                "Infinity".into()
            } else {
                "-Infinity".into()
            }
        }
        Some(f) => python_float_repr(f),
        None => n.to_string(),
    }
}

/// A JSON string as Python writes it with `ensure_ascii=True`.
fn json_string(s: &str, out: &mut String) {
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
            ' '..='~' => out.push(c),
            c => {
                let mut buf = [0u16; 2];
                for unit in c.encode_utf16(&mut buf) {
                    out.push_str(&format!("\\u{unit:04x}"));
                }
            }
        }
    }
    out.push('"');
}

/// Python's `str()` of a decoded JSON value: a string is itself, anything else
/// its `repr()` (`None`, `True`, `{'a': 1}`, `['x', 'y']`).
pub fn py_str(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => py_repr(other),
    }
}

/// Python's `repr()` of a decoded JSON value.
pub fn py_repr(value: &Value) -> String {
    match value {
        Value::Null => "None".into(),
        Value::Bool(true) => "True".into(),
        Value::Bool(false) => "False".into(),
        Value::Number(n) => {
            if n.is_i64() || n.is_u64() {
                n.to_string()
            } else {
                n.as_f64().map_or_else(|| n.to_string(), python_float_repr)
            }
        }
        Value::String(s) => py_repr_str(s),
        Value::Array(items) => {
            let parts: Vec<String> = items.iter().map(py_repr).collect();
            format!("[{}]", parts.join(", "))
        }
        Value::Object(map) => {
            let parts: Vec<String> = map
                .iter()
                .map(|(k, v)| format!("{}: {}", py_repr_str(k), py_repr(v)))
                .collect();
            format!("{{{}}}", parts.join(", "))
        }
    }
}

/// Whether Python's `str.isprintable()` is false for a non-ASCII character
/// (control, format and separator characters other than the space, private use).
fn non_printable(c: char) -> bool {
    c.is_control()
        || matches!(c,
            '\u{a0}' | '\u{ad}' | '\u{1680}' | '\u{2000}'..='\u{200f}' | '\u{2028}'..='\u{202f}'
            | '\u{205f}'..='\u{2064}' | '\u{2066}'..='\u{206f}' | '\u{3000}' | '\u{feff}'
            | '\u{fff9}'..='\u{fffb}' | '\u{e000}'..='\u{f8ff}' | '\u{f0000}'..)
}

/// Python's `repr()` of a `str`.
pub fn py_repr_str(s: &str) -> String {
    let quote = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::with_capacity(s.len() + 2);
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if non_printable(c) => {
                let v = c as u32;
                if v <= 0xff {
                    out.push_str(&format!("\\x{v:02x}"));
                } else if v <= 0xffff {
                    out.push_str(&format!("\\u{v:04x}"));
                } else {
                    out.push_str(&format!("\\U{v:08x}"));
                }
            }
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

/// Python's `int(s)` for a command-line argument, with its error text
/// (`invalid literal for int() with base 10: 'x'`).
pub fn py_int(s: &str) -> Result<i128, String> {
    let err = || format!("invalid literal for int() with base 10: {}", py_repr_str(s));
    let t = s.trim();
    let (neg, digits) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    if digits.is_empty()
        || digits.starts_with('_')
        || digits.ends_with('_')
        || digits.contains("__")
        || !digits.chars().all(|c| c.is_ascii_digit() || c == '_')
    {
        return Err(err());
    }
    let v: i128 = digits.replace('_', "").parse().map_err(|_| err())?;
    Ok(if neg { -v } else { v })
}

/// Python's `os.path.basename`: the text after the last `/`.
pub fn basename(s: &str) -> &str {
    s.rsplit('/').next().unwrap_or(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn json_dumps_matches_python_with_and_without_indent() {
        let v = json!({"a": [1, 2.5, "é"], "b": {}, "c": [], "d": null, "e": true});
        assert_eq!(
            json_dumps(&v, None),
            r#"{"a": [1, 2.5, "\u00e9"], "b": {}, "c": [], "d": null, "e": true}"#
        );
        assert_eq!(
            json_dumps(&v, Some(4)),
            "{\n    \"a\": [\n        1,\n        2.5,\n        \"\\u00e9\"\n    ],\n    \"b\": {},\n    \"c\": [],\n    \"d\": null,\n    \"e\": true\n}"
        );
        assert_eq!(
            json_dumps(&json!("x\"\n\u{1f600}"), Some(4)),
            "\"x\\\"\\n\\ud83d\\ude00\""
        );
        assert_eq!(json_dumps(&json!(1e16), None), "1e+16");
    }

    #[test]
    fn py_str_prints_values_as_python_does() {
        assert_eq!(py_str(&json!("a'b")), "a'b");
        assert_eq!(
            py_str(&json!({"k": "v", "n": null, "b": false, "l": [1, 1.0, "it's"]})),
            r#"{'k': 'v', 'n': None, 'b': False, 'l': [1, 1.0, "it's"]}"#
        );
        assert_eq!(py_repr_str("a\u{a0}\u{7f}\u{200b}"), r"'a\xa0\x7f\u200b'");
    }

    #[test]
    fn py_int_accepts_what_python_accepts() {
        assert_eq!(py_int(" 1_0 "), Ok(10));
        assert_eq!(py_int("-3"), Ok(-3));
        assert_eq!(
            py_int("x"),
            Err("invalid literal for int() with base 10: 'x'".into())
        );
        assert!(py_int("1__0").is_err());
        assert!(py_int("").is_err());
    }

    #[test]
    fn basename_is_the_last_path_segment() {
        assert_eq!(basename("http://h:1/infrastructures/abc"), "abc");
        assert_eq!(basename("abc"), "abc");
        assert_eq!(basename("a/"), "");
    }
}
