//! Media types and bodies: `Accept`/`Content-Type` lists, the reference's
//! `format_output` choice between the default representation and JSON, and
//! its error bodies (JSON, HTML or text by `Accept`).

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use serde_json::{Value, json};

/// A media-type list as the reference reads it: split on `,`, parameters
/// dropped, YAML types normalised to `text/yaml`, case kept (matching is
/// case-sensitive), order kept.
pub fn media_types(headers: &HeaderMap, name: header::HeaderName) -> Vec<String> {
    let Some(v) = headers.get(name).and_then(|v| v.to_str().ok()) else {
        return Vec::new();
    };
    v.split(',')
        .map(|i| i.split(';').next().unwrap_or("").trim().to_string())
        .filter(|i| !i.is_empty())
        .map(|i| match i.as_str() {
            "text/x-yaml" | "application/yaml" => "text/yaml".to_string(),
            _ => i,
        })
        .collect()
}

/// Which representation `format_output` picks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Repr {
    /// `application/json`.
    Json,
    /// The route's default type.
    Default,
}

/// The first acceptable item of `accept` (empty: the default), or the 415
/// message `Unsupported Accept Media Types: a,b`.
pub fn choose(accept: &[String], default_type: &str) -> Result<Repr, String> {
    if accept.is_empty() {
        return Ok(if default_type == "application/json" {
            Repr::Json
        } else {
            Repr::Default
        });
    }
    for a in accept {
        match a.as_str() {
            "application/json" | "application/*" => return Ok(Repr::Json),
            "*/*" | "text/*" => {
                return Ok(if default_type == "application/json" {
                    Repr::Json
                } else {
                    Repr::Default
                });
            }
            t if t == default_type => {
                return Ok(if default_type == "application/json" {
                    Repr::Json
                } else {
                    Repr::Default
                });
            }
            _ => {}
        }
    }
    Err(format!(
        "Unsupported Accept Media Types: {}",
        accept.join(",")
    ))
}

/// A response with a body and content type.
pub fn body(status: StatusCode, content_type: &str, text: impl Into<String>) -> Response {
    let mut r = Response::new(Body::from(text.into()));
    *r.status_mut() = status;
    if let Ok(v) = HeaderValue::from_str(content_type) {
        r.headers_mut().insert(header::CONTENT_TYPE, v);
    }
    r
}

/// A text response (`<type>; charset=utf-8`).
pub fn text(status: StatusCode, content_type: &str, text_body: impl Into<String>) -> Response {
    body(status, &format!("{content_type}; charset=utf-8"), text_body)
}

/// A compact JSON response, as Starlette writes it.
pub fn json_response(status: StatusCode, v: &Value) -> Response {
    body(status, "application/json", v.to_string())
}

/// The reference's `return_error`: JSON when `application/json` is anywhere
/// in `Accept`, else the HTML page when `text/html` is, else plain text.
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
        media_types(&h, header::ACCEPT)
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
}
