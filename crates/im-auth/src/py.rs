//! Small emulations of Python built-ins that the reference code relies on.
//!
//! The reference (grycap/im, Python 3.11) strips, splits and compares strings with
//! Python semantics; where those differ from Rust's, the difference is observable in
//! parsed credentials. Everything here is private to the crate.

use serde_json::Value;

/// Python's `str.isspace()`: Rust's `White_Space` plus the four information
/// separators U+001C..U+001F (bidirectional classes B/S).
pub(crate) fn is_space(c: char) -> bool {
    matches!(
        c,
        '\t'..='\r'
            | '\u{1c}'..='\u{20}'
            | '\u{85}'
            | '\u{a0}'
            | '\u{1680}'
            | '\u{2000}'..='\u{200a}'
            | '\u{2028}'
            | '\u{2029}'
            | '\u{202f}'
            | '\u{205f}'
            | '\u{3000}'
    )
}

/// Python's `str.strip()` with no argument.
pub(crate) fn strip(s: &str) -> &str {
    s.trim_matches(is_space)
}

/// Runs of Unicode decimal digits (general category `Nd`) as known to Python 3.11
/// (Unicode 14.0): `(first code point, length)`. Every run is made of whole groups
/// of ten digits starting at zero, so a digit's value is `(cp - first) % 10`.
const DECIMAL_RUNS: &[(u32, u32)] = &[
    (0x30, 10),
    (0x660, 10),
    (0x6F0, 10),
    (0x7C0, 10),
    (0x966, 10),
    (0x9E6, 10),
    (0xA66, 10),
    (0xAE6, 10),
    (0xB66, 10),
    (0xBE6, 10),
    (0xC66, 10),
    (0xCE6, 10),
    (0xD66, 10),
    (0xDE6, 10),
    (0xE50, 10),
    (0xED0, 10),
    (0xF20, 10),
    (0x1040, 10),
    (0x1090, 10),
    (0x17E0, 10),
    (0x1810, 10),
    (0x1946, 10),
    (0x19D0, 10),
    (0x1A80, 10),
    (0x1A90, 10),
    (0x1B50, 10),
    (0x1BB0, 10),
    (0x1C40, 10),
    (0x1C50, 10),
    (0xA620, 10),
    (0xA8D0, 10),
    (0xA900, 10),
    (0xA9D0, 10),
    (0xA9F0, 10),
    (0xAA50, 10),
    (0xABF0, 10),
    (0xFF10, 10),
    (0x104A0, 10),
    (0x10D30, 10),
    (0x11066, 10),
    (0x110F0, 10),
    (0x11136, 10),
    (0x111D0, 10),
    (0x112F0, 10),
    (0x11450, 10),
    (0x114D0, 10),
    (0x11650, 10),
    (0x116C0, 10),
    (0x11730, 10),
    (0x118E0, 10),
    (0x11950, 10),
    (0x11C50, 10),
    (0x11D50, 10),
    (0x11DA0, 10),
    (0x16A60, 10),
    (0x16AC0, 10),
    (0x16B50, 10),
    (0x1D7CE, 50),
    (0x1E140, 10),
    (0x1E2F0, 10),
    (0x1E950, 10),
    (0x1FBF0, 10),
];

/// The decimal value of `c` if Python's `int()` accepts it as a digit.
pub(crate) fn decimal_value(c: char) -> Option<u32> {
    let cp = u32::from(c);
    DECIMAL_RUNS
        .iter()
        .find(|(first, len)| cp >= *first && cp < first + len)
        .map(|(first, _)| (cp - first) % 10)
}

/// `int(s)` for a string that passed `s.isdigit()`: only decimal digits (no sign,
/// no spaces, no underscores). `None` when Python would raise (empty, non-decimal
/// digit such as a superscript) or when the value does not fit in an `i64`.
pub(crate) fn parse_decimal(s: &str) -> Option<i64> {
    if s.is_empty() {
        return None;
    }
    let mut value: i64 = 0;
    for c in s.chars() {
        let digit = decimal_value(c)?;
        value = value.checked_mul(10)?.checked_add(i64::from(digit))?;
    }
    Some(value)
}

/// Python truthiness of a JSON value (`bool(x)` on what `json.loads` returns).
pub(crate) fn truthy(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
    }
}

/// Python's `str(x)` for a value produced by `json.loads` (close approximation for
/// floats, lists and dicts, exact for strings, integers, booleans and `None`).
pub(crate) fn to_str(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => repr(other),
    }
}

/// Python's `repr(x)` for a value produced by `json.loads` (approximation).
fn repr(value: &Value) -> String {
    match value {
        Value::Null => "None".to_string(),
        Value::Bool(true) => "True".to_string(),
        Value::Bool(false) => "False".to_string(),
        Value::Number(n) => {
            if n.is_f64() {
                match n.as_f64() {
                    Some(f) if f.is_finite() && f.fract() == 0.0 && f.abs() < 1e16 => {
                        format!("{f:.1}")
                    }
                    _ => n.to_string(),
                }
            } else {
                n.to_string()
            }
        }
        Value::String(s) => {
            let escaped = s.replace('\\', "\\\\").replace('\'', "\\'");
            format!("'{escaped}'")
        }
        Value::Array(items) => {
            let inner: Vec<String> = items.iter().map(repr).collect();
            format!("[{}]", inner.join(", "))
        }
        Value::Object(map) => {
            let inner: Vec<String> = map
                .iter()
                .map(|(k, v)| format!("{}: {}", repr(&Value::String(k.clone())), repr(v)))
                .collect();
            format!("{{{}}}", inner.join(", "))
        }
    }
}

/// Python's `needle in haystack` where `haystack` is a JSON value and `needle` a
/// string: list membership, dict-key membership or substring. `None` when Python
/// would raise `TypeError` (`None`, numbers, booleans).
pub(crate) fn contains(haystack: &Value, needle: &str) -> Option<bool> {
    match haystack {
        Value::Array(items) => Some(items.iter().any(|v| v.as_str() == Some(needle))),
        Value::Object(map) => Some(map.contains_key(needle)),
        Value::String(s) => Some(s.contains(needle)),
        _ => None,
    }
}

/// The elements Python gets when it turns a JSON value into a set with
/// `set(x)`/`issubset(x)`: list elements, dict keys, or the characters of a
/// string. Non-string list elements can never equal a configured group, so they
/// are dropped. `None` when Python would raise `TypeError`.
pub(crate) fn iter_strings(value: &Value) -> Option<Vec<String>> {
    match value {
        Value::Array(items) => Some(
            items
                .iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect(),
        ),
        Value::Object(map) => Some(map.keys().cloned().collect()),
        Value::String(s) => Some(s.chars().map(String::from).collect()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strip_removes_python_whitespace_including_separators() {
        assert_eq!(strip("\u{1c}\u{1f} a b\u{3000}\u{85}"), "a b");
        assert_eq!(strip("\u{200b}x"), "\u{200b}x");
    }

    #[test]
    fn decimal_digits_follow_python_int() {
        assert_eq!(parse_decimal("2633"), Some(2633));
        assert_eq!(parse_decimal("\u{663}\u{664}"), Some(34));
        assert_eq!(parse_decimal("\u{1D7D8}"), Some(0));
        assert_eq!(parse_decimal("\u{1D7FF}"), Some(9));
        assert_eq!(parse_decimal("\u{b2}"), None);
        assert_eq!(parse_decimal(""), None);
        assert_eq!(parse_decimal("+1"), None);
        assert_eq!(parse_decimal("99999999999999999999"), None);
    }

    #[test]
    fn python_str_of_json_values() {
        assert_eq!(to_str(&Value::Null), "None");
        assert_eq!(to_str(&serde_json::json!(true)), "True");
        assert_eq!(to_str(&serde_json::json!(12)), "12");
        assert_eq!(to_str(&serde_json::json!(1.0)), "1.0");
        assert_eq!(to_str(&serde_json::json!("x")), "x");
        assert_eq!(to_str(&serde_json::json!(["a", 1])), "['a', 1]");
    }
}
