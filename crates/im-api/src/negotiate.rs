//! Media types and bodies: `Accept`/`Content-Type` lists, the reference's
//! `format_output` choice between a route's default representation and JSON,
//! and its error bodies (JSON, HTML or text by `Accept`, spec §2.1–2.5).

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use serde_json::{Value, json};

/// A header value as the reference's server reads it: bytes as Latin-1, which
/// is how Python's HTTP clients encode non-ASCII header text.
pub fn header_text(headers: &HeaderMap, name: &header::HeaderName) -> Option<String> {
    headers
        .get(name)
        .map(|v| v.as_bytes().iter().map(|&b| char::from(b)).collect())
}

/// A media-type list as the reference reads it (`get_media_type`): split on
/// `,`, parameters dropped, whitespace stripped, YAML types normalised to
/// `text/yaml`; order and case kept (matching is case-sensitive). A missing
/// or empty header is an empty list.
pub fn media_types(headers: &HeaderMap, name: &header::HeaderName) -> Vec<String> {
    let Some(v) = header_text(headers, name) else {
        return Vec::new();
    };
    if v.is_empty() {
        return Vec::new();
    }
    v.split(',')
        .map(|i| i.split(';').next().unwrap_or("").trim().to_string())
        .map(|i| match i.as_str() {
            "text/x-yaml" | "application/yaml" => "text/yaml".to_string(),
            _ => i,
        })
        .collect()
}

/// Python's `repr()` of a list of strings (`['a', 'b']`), which some of the
/// reference's messages contain.
pub fn py_list_repr(items: &[String]) -> String {
    let parts: Vec<String> = items.iter().map(|s| py_str_repr(s)).collect();
    format!("[{}]", parts.join(", "))
}

/// Python's `repr()` of a string.
pub fn py_str_repr(s: &str) -> String {
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
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

/// Which representation `format_output` picks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Repr {
    /// `application/json`.
    Json,
    /// The route's default type (a `text/*` type).
    Default,
}

/// `format_output`'s choice: the first acceptable item of `accept` (an empty
/// list means the default type), or the 415 message
/// `Unsupported Accept Media Types: a,b`.
pub fn choose(accept: &[String], default_type: &str) -> Result<Repr, String> {
    let as_default = || {
        if default_type == "application/json" {
            Repr::Json
        } else {
            Repr::Default
        }
    };
    if accept.is_empty() {
        return Ok(as_default());
    }
    for a in accept {
        match a.as_str() {
            "application/json" | "application/*" => return Ok(Repr::Json),
            "*/*" | "text/*" => return Ok(as_default()),
            t if t == default_type => return Ok(as_default()),
            _ => {}
        }
    }
    Err(format!(
        "Unsupported Accept Media Types: {}",
        accept.join(",")
    ))
}

/// Whether `Accept` allows a JSON-only answer (`state`, `outputs`, `data`,
/// `/stats`): empty, or containing `application/json`, `*/*` or
/// `application/*` anywhere.
pub fn json_acceptable(accept: &[String]) -> bool {
    accept.is_empty()
        || accept
            .iter()
            .any(|t| t == "application/json" || t == "*/*" || t == "application/*")
}

/// A response with a body and a content type.
pub fn body(status: StatusCode, content_type: &str, content: impl Into<Body>) -> Response {
    let mut r = Response::new(content.into());
    *r.status_mut() = status;
    if let Ok(v) = HeaderValue::from_str(content_type) {
        r.headers_mut().insert(header::CONTENT_TYPE, v);
    }
    r
}

/// A text response: `<type>; charset=utf-8`, as Starlette writes every
/// `text/*` type.
pub fn text(status: StatusCode, content_type: &str, content: impl Into<String>) -> Response {
    body(
        status,
        &format!("{content_type}; charset=utf-8"),
        content.into(),
    )
}

/// The empty `text/plain` answer of the operations that return nothing.
pub fn empty_ok() -> Response {
    text(StatusCode::OK, "text/plain", "")
}

/// A compact JSON response, as Starlette's `JSONResponse` writes it
/// (separators `,` and `:`, non-ASCII kept, insertion order).
pub fn json_response(status: StatusCode, v: &Value) -> Response {
    body(status, "application/json", v.to_string())
}

/// The reference's `return_error`: JSON when `application/json` is anywhere
/// in `Accept`, else its HTML page when `text/html` is, else plain text.
pub fn error(status: StatusCode, msg: &str, accept: &[String]) -> Response {
    let code = status.as_u16();
    if accept.iter().any(|a| a == "application/json") {
        json_response(status, &json!({"message": msg, "code": code}))
    } else if accept.iter().any(|a| a == "text/html") {
        text(
            status,
            "text/html",
            format!(
                "<!DOCTYPE HTML PUBLIC \"-//IETF//DTD HTML 2.0//EN\">\n<html>\n    <head>\n        <title>Error {code}.</title>\n    </head>\n    <body>\n        <h1>Code: {code}.</h1>\n        <h1>Message: {msg}</h1>\n    </body>\n</html>\n"
            ),
        )
    } else {
        text(status, "text/plain", msg)
    }
}

/// The framework's own bodies (`{"detail": …}`), JSON whatever `Accept` says.
pub fn detail(status: StatusCode, detail: Value) -> Response {
    json_response(status, &json!({ "detail": detail }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(s: &str) -> Vec<String> {
        let mut h = HeaderMap::new();
        h.insert(header::ACCEPT, HeaderValue::from_str(s).expect("ascii"));
        media_types(&h, &header::ACCEPT)
    }

    #[test]
    fn the_first_acceptable_type_wins_and_q_values_are_ignored() {
        assert_eq!(
            choose(&list("text/plain;q=0.1, application/json"), "text/plain"),
            Ok(Repr::Default)
        );
        assert_eq!(
            choose(&list("application/json"), "text/plain"),
            Ok(Repr::Json)
        );
        assert_eq!(
            choose(&list("TEXT/PLAIN"), "text/plain"),
            Err("Unsupported Accept Media Types: TEXT/PLAIN".into())
        );
        assert_eq!(choose(&[], "application/json"), Ok(Repr::Json));
        assert_eq!(
            choose(&list("text/plain, text/html"), "text/uri-list"),
            Err("Unsupported Accept Media Types: text/plain,text/html".into())
        );
    }

    #[test]
    fn yaml_types_are_normalised_and_parameters_dropped() {
        assert_eq!(
            list("application/yaml; charset=utf-8, text/x-yaml,text/plain"),
            vec!["text/yaml", "text/yaml", "text/plain"]
        );
    }

    #[test]
    fn lists_are_printed_as_python_prints_them() {
        assert_eq!(py_list_repr(&["text/plain".into()]), "['text/plain']");
        assert_eq!(py_list_repr(&["a'b".into(), "c".into()]), "[\"a'b\", 'c']");
        assert_eq!(py_list_repr(&[]), "[]");
    }

    #[test]
    fn non_ascii_header_bytes_are_read_as_latin_1() {
        let mut h = HeaderMap::new();
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_bytes(b"pass\xf1").expect("opaque bytes"),
        );
        assert_eq!(
            header_text(&h, &header::AUTHORIZATION).as_deref(),
            Some("pass\u{f1}")
        );
    }
}
