//! Query parameters and path values read with the reference's (pydantic's)
//! rules, and its 422 bodies (spec §2.7–2.8): lax booleans, integers,
//! literals, required values. As in FastAPI, every invalid parameter of a
//! request is reported in one body, path parameters first, then the query
//! parameters in declaration order.

use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

use crate::negotiate;

/// The decoded query string; a repeated parameter keeps its last value.
pub struct Query(Vec<(String, String)>);

impl Query {
    /// Parses `a=1&b=2` (`+` is a space, percent-escapes decoded).
    pub fn parse(q: Option<&str>) -> Self {
        Query(
            form_urlencoded::parse(q.unwrap_or("").as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        )
    }

    /// Every parameter, in order, repeats included.
    pub fn pairs(&self) -> &[(String, String)] {
        &self.0
    }

    /// The last value of a parameter.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// The validation of one request's parameters: each check returns a value
/// (a placeholder when invalid) and records the error; [`Checks::finish`]
/// gives the 422 answer when any failed.
#[derive(Default)]
pub struct Checks {
    errors: Vec<Value>,
}

impl Checks {
    /// A boolean query parameter: `1 true t yes y on` / `0 false f no n off`,
    /// case-insensitive; anything else (the empty string too) is invalid.
    pub fn bool(&mut self, q: &Query, name: &str, default: bool) -> bool {
        let Some(v) = q.get(name) else {
            return default;
        };
        match parse_bool(v) {
            Some(b) => b,
            None => {
                self.errors.push(json!({
                    "type": "bool_parsing",
                    "loc": ["query", name],
                    "msg": "Input should be a valid boolean, unable to interpret input",
                    "input": v,
                }));
                default
            }
        }
    }

    /// An integer query parameter.
    pub fn query_int(&mut self, q: &Query, name: &str, default: i64) -> i64 {
        match q.get(name) {
            None => default,
            Some(v) => self.int(v, "query", name).unwrap_or(default),
        }
    }

    /// An integer from a path or query value.
    pub fn int(&mut self, v: &str, loc: &str, name: &str) -> Option<i64> {
        match parse_int(v) {
            Some(i) => Some(i),
            None => {
                self.errors.push(json!({
                    "type": "int_parsing",
                    "loc": [loc, name],
                    "msg": "Input should be a valid integer, unable to parse string as an integer",
                    "input": v,
                }));
                None
            }
        }
    }

    /// A required query parameter.
    pub fn required<'q>(&mut self, q: &'q Query, name: &str) -> &'q str {
        match q.get(name) {
            Some(v) => v,
            None => {
                self.errors.push(json!({
                    "type": "missing",
                    "loc": ["query", name],
                    "msg": "Field required",
                    "input": null,
                }));
                ""
            }
        }
    }

    /// A path value that must be one of `allowed` (a `Literal[...]`).
    pub fn literal(&mut self, v: &str, name: &str, allowed: &[&'static str]) -> &'static str {
        if let Some(a) = allowed.iter().find(|a| **a == v) {
            return a;
        }
        let quoted: Vec<String> = allowed.iter().map(|a| format!("'{a}'")).collect();
        let expected = match quoted.split_last() {
            Some((last, rest)) if !rest.is_empty() => format!("{} or {last}", rest.join(", ")),
            Some((last, _)) => last.clone(),
            None => String::new(),
        };
        self.errors.push(json!({
            "type": "literal_error",
            "loc": ["path", name],
            "msg": format!("Input should be {expected}"),
            "input": v,
            "ctx": {"expected": expected},
        }));
        allowed.first().copied().unwrap_or("")
    }

    /// `Ok` when every check passed, else the 422 answer listing the errors.
    pub fn finish(self) -> Result<(), Response> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(negotiate::detail(
                StatusCode::UNPROCESSABLE_ENTITY,
                Value::Array(self.errors),
            ))
        }
    }
}

/// pydantic's lax boolean.
fn parse_bool(v: &str) -> Option<bool> {
    match v.to_ascii_lowercase().as_str() {
        "1" | "true" | "t" | "yes" | "y" | "on" => Some(true),
        "0" | "false" | "f" | "no" | "n" | "off" => Some(false),
        _ => None,
    }
}

/// pydantic's lax integer from a string: surrounding whitespace and `_`
/// between digits allowed, an optional sign. pydantic's integers have no
/// bound: one beyond 64 bits is valid and read as the nearest `i64`.
fn parse_int(v: &str) -> Option<i64> {
    let t = v.trim();
    let digits = t.strip_prefix(['+', '-']).unwrap_or(t);
    if digits.is_empty()
        || digits.starts_with('_')
        || digits.ends_with('_')
        || digits.contains("__")
        || !digits.chars().all(|c| c.is_ascii_digit() || c == '_')
    {
        return None;
    }
    let saturated = if t.starts_with('-') {
        i64::MIN
    } else {
        i64::MAX
    };
    Some(t.replace('_', "").parse::<i64>().unwrap_or(saturated))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn booleans_are_read_as_pydantic_reads_them() {
        let q = Query::parse(Some("a=YES&b=off&c=maybe&d=&a=0"));
        let mut c = Checks::default();
        assert!(!c.bool(&q, "a", true));
        assert!(!c.bool(&q, "b", true));
        assert!(c.bool(&q, "e", true));
        assert!(c.finish().is_ok());
        let mut c = Checks::default();
        c.bool(&q, "c", true);
        c.bool(&q, "d", true);
        assert_eq!(c.errors.len(), 2);
        assert!(c.finish().is_err());
    }

    #[test]
    fn integers_accept_signs_spaces_and_underscores() {
        assert_eq!(parse_int(" 2 "), Some(2));
        assert_eq!(parse_int("-3"), Some(-3));
        assert_eq!(parse_int("1_000"), Some(1000));
        assert_eq!(parse_int("x"), None);
        assert_eq!(parse_int("1.5"), None);
        assert_eq!(parse_int(""), None);
        assert_eq!(parse_int("_1"), None);
        assert_eq!(parse_int("123456789012345678901234567890"), Some(i64::MAX));
        assert_eq!(parse_int("-123456789012345678901234567890"), Some(i64::MIN));
    }

    #[test]
    fn literal_errors_list_the_allowed_values_as_pydantic_does() {
        let mut c = Checks::default();
        c.literal("foo", "op", &["start", "stop", "reboot"]);
        assert_eq!(
            c.errors[0]["msg"],
            "Input should be 'start', 'stop' or 'reboot'"
        );
        let mut c = Checks::default();
        c.literal("foo", "param", &["images", "quotas"]);
        assert_eq!(c.errors[0]["ctx"]["expected"], "'images' or 'quotas'");
    }
}
