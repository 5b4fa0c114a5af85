//! CORS (`ENABLE_CORS`, `CORS_ORIGIN`, spec §1.3), answered as the
//! reference's Starlette middleware answers: credentials allowed, so the
//! request's origin is echoed when `CORS_ORIGIN` is `*`; preflights get
//! `200 OK` or `400 Disallowed CORS <what>` in plain text.
//!
//! tower-http's `CorsLayer` is not used: it cannot refuse a preflight with
//! Starlette's 400 bodies nor answer `OK`, which clients of the reference see.

use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::Response;

use crate::negotiate;

/// The request headers a preflight may ask for (Starlette's safelisted ones
/// plus the reference's `Origin, Accept, Content-Type, Authorization`).
const ALLOWED_HEADERS: [&str; 6] = [
    "accept",
    "accept-language",
    "authorization",
    "content-language",
    "content-type",
    "origin",
];

/// The CORS options.
pub struct Cors<'a> {
    /// `CORS_ORIGIN` (`*`: any).
    pub origin: &'a str,
}

impl Cors<'_> {
    fn allows(&self, origin: &str) -> bool {
        self.origin == "*" || self.origin == origin
    }

    /// Whether the request is a preflight (`OPTIONS` with `Origin` and
    /// `Access-Control-Request-Method`).
    pub fn is_preflight(method: &Method, headers: &HeaderMap) -> bool {
        method == Method::OPTIONS
            && headers.contains_key(header::ORIGIN)
            && headers.contains_key(header::ACCESS_CONTROL_REQUEST_METHOD)
    }

    /// The answer to a preflight.
    pub fn preflight(&self, headers: &HeaderMap) -> Response {
        let origin = headers
            .get(header::ORIGIN)
            .cloned()
            .unwrap_or(HeaderValue::from_static(""));
        let mut failures = Vec::new();
        let origin_ok = self.allows(origin.to_str().unwrap_or(""));
        if !origin_ok {
            failures.push("origin");
        }
        if let Some(requested) = headers
            .get(header::ACCESS_CONTROL_REQUEST_HEADERS)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).to_ascii_lowercase())
            && requested
                .split(',')
                .any(|h| !ALLOWED_HEADERS.contains(&h.trim()))
        {
            failures.push("headers");
        }
        let mut r = if failures.is_empty() {
            negotiate::text(StatusCode::OK, "text/plain", "OK")
        } else {
            negotiate::text(
                StatusCode::BAD_REQUEST,
                "text/plain",
                format!("Disallowed CORS {}", failures.join(", ")),
            )
        };
        let h = r.headers_mut();
        h.insert(header::VARY, HeaderValue::from_static("Origin"));
        h.insert(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static("DELETE, GET, HEAD, OPTIONS, PATCH, POST, PUT"),
        );
        h.insert(
            header::ACCESS_CONTROL_MAX_AGE,
            HeaderValue::from_static("600"),
        );
        h.insert(
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            HeaderValue::from_static(
                "Accept, Accept-Language, Authorization, Content-Language, Content-Type, Origin",
            ),
        );
        h.insert(
            header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
            HeaderValue::from_static("true"),
        );
        if origin_ok {
            h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        }
        r
    }

    /// The headers of an actual (non-preflight) answer to a request from
    /// `origin`.
    pub fn decorate(&self, origin: Option<HeaderValue>, mut r: Response) -> Response {
        let h = r.headers_mut();
        h.append(header::VARY, HeaderValue::from_static("Origin"));
        if let Some(origin) = origin {
            h.insert(
                header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
                HeaderValue::from_static("true"),
            );
            if self.allows(origin.to_str().unwrap_or("")) {
                h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
            }
        }
        r
    }
}
