//! Query parameters and path values with the reference's (pydantic's) rules
//! and 422 bodies: lax booleans, integers, literals, required values.

use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

use crate::negotiate;

/// The decoded query string; a repeated parameter keeps its last value.
pub struct Query(Vec<(String, String)>);

impl Query {
    /// Parses `a=1&b=2`.
    pub fn parse(q: Option<&str>) -> Self {
        Query(
            form_urlencoded::parse(q.unwrap_or("").as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        )
    }

    /// The last value of a parameter.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// A boolean parameter: `1 true t yes y on` / `0 false f no n off`.
    pub fn bool(&self, name: &str, default: bool) -> Result<bool, Response> {
        let Some(v) = self.get(name) else {
            return Ok(default);
        };
        match v.to_ascii_lowercase().as_str() {
            "1" | "true" | "t" | "yes" | "y" | "on" => Ok(true),
            "0" | "false" | "f" | "no" | "n" | "off" => Ok(false),
            _ => Err(unprocessable(json!({
                "type": "bool_parsing",
                "loc": ["query", name],
                "msg": "Input should be a valid boolean, unable to interpret input",
                "input": v,
            }))),
        }
    }

    /// An integer parameter.
    pub fn int(&self, name: &str, default: i64) -> Result<i64, Response> {
        match self.get(name) {
            None => Ok(default),
            Some(v) => parse_int(v, "query", name),
        }
    }

    /// A required parameter.
    pub fn required(&self, name: &str) -> Result<&str, Response> {
        self.get(name).ok_or_else(|| {
            unprocessable(json!({
                "type": "missing",
                "loc": ["query", name],
                "msg": "Field required",
                "input": null,
            }))
        })
    }
}

/// An integer from a path or query value, or the 422 answer.
pub fn parse_int(v: &str, loc: &str, name: &str) -> Result<i64, Response> {
    v.trim().parse::<i64>().map_err(|_| {
        unprocessable(json!({
            "type": "int_parsing",
            "loc": [loc, name],
            "msg": "Input should be a valid integer, unable to parse string as an integer",
            "input": v,
        }))
    })
}

/// A path value that must be one of `allowed`, or the 422 answer.
pub fn literal<'a>(v: &str, name: &str, allowed: &[&'a str]) -> Result<&'a str, Response> {
    allowed.iter().find(|a| **a == v).copied().ok_or_else(|| {
        let quoted: Vec<String> = allowed.iter().map(|a| format!("'{a}'")).collect();
        let expected = match quoted.split_last() {
            Some((last, rest)) if !rest.is_empty() => format!("{} or {last}", rest.join(", ")),
            Some((last, _)) => last.clone(),
            None => String::new(),
        };
        unprocessable(json!({
            "type": "literal_error",
            "loc": ["path", name],
            "msg": format!("Input should be {expected}"),
            "input": v,
            "ctx": {"expected": expected},
        }))
    })
}

fn unprocessable(item: Value) -> Response {
    negotiate::detail(StatusCode::UNPROCESSABLE_ENTITY, json!([item]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn booleans_are_read_as_pydantic_reads_them() {
        let q = Query::parse(Some("a=YES&b=off&c=maybe&d=&a=0"));
        assert_eq!(q.bool("a", true).ok(), Some(false));
        assert_eq!(q.bool("b", true).ok(), Some(false));
        assert!(q.bool("c", true).is_err());
        assert!(q.bool("d", true).is_err());
        assert_eq!(q.bool("e", true).ok(), Some(true));
    }
}
