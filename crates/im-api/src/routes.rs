//! Route matching and the handlers, in the reference's registration order.

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::Response;
use im_auth::AuthData;
use im_core::{Deployment, ImError};
use im_radl::{Radl, parse_radl, parse_radl_json, radl_to_json};
use serde_json::{Value, json};

use crate::AppState;
use crate::errors::{Route, answer};
use crate::negotiate::{self, Repr, choose, media_types};
use crate::params::{Query, literal, parse_int};

/// One path pattern: literal segments and `{}` captures.
struct Pattern {
    methods: &'static [Method],
    segments: &'static [&'static str],
}

const P: &str = "{}";

/// The reference's routes, in registration order (docs first).
static ROUTES: &[Pattern] = &[
    Pattern {
        methods: &[Method::GET],
        segments: &[],
    },
    Pattern {
        methods: &[Method::GET],
        segments: &["openapi.json"],
    },
    Pattern {
        methods: &[Method::GET],
        segments: &["infrastructures"],
    },
    Pattern {
        methods: &[Method::POST],
        segments: &["infrastructures"],
    },
    Pattern {
        methods: &[Method::PUT],
        segments: &["infrastructures"],
    },
    Pattern {
        methods: &[Method::GET],
        segments: &["infrastructures", P],
    },
    Pattern {
        methods: &[Method::DELETE],
        segments: &["infrastructures", P],
    },
    Pattern {
        methods: &[Method::GET],
        segments: &["infrastructures", P, P],
    },
    Pattern {
        methods: &[Method::POST],
        segments: &["infrastructures", P],
    },
    Pattern {
        methods: &[Method::PUT],
        segments: &["infrastructures", P, "reconfigure"],
    },
    Pattern {
        methods: &[Method::PUT],
        segments: &["infrastructures", P, P],
    },
    Pattern {
        methods: &[Method::POST],
        segments: &["infrastructures", P, "authorization"],
    },
    Pattern {
        methods: &[Method::GET],
        segments: &["infrastructures", P, "vms", P],
    },
    Pattern {
        methods: &[Method::DELETE],
        segments: &["infrastructures", P, "vms", P],
    },
    Pattern {
        methods: &[Method::PUT],
        segments: &["infrastructures", P, "vms", P],
    },
    Pattern {
        methods: &[Method::GET],
        segments: &["infrastructures", P, "vms", P, P],
    },
    Pattern {
        methods: &[Method::PUT],
        segments: &["infrastructures", P, "vms", P, P],
    },
    Pattern {
        methods: &[Method::PUT],
        segments: &["infrastructures", P, "vms", P, "disks", P, "snapshot"],
    },
    Pattern {
        methods: &[Method::GET],
        segments: &["clouds", P, P],
    },
    Pattern {
        methods: &[Method::GET],
        segments: &["stats"],
    },
    Pattern {
        methods: &[Method::GET, Method::POST],
        segments: &["oai"],
    },
    Pattern {
        methods: &[Method::GET],
        segments: &["version"],
    },
    Pattern {
        methods: &[Method::GET],
        segments: &["static", P],
    },
];

fn matches(p: &Pattern, segs: &[String]) -> Option<Vec<String>> {
    if p.segments.len() != segs.len() {
        return None;
    }
    let mut caps = Vec::new();
    for (pat, seg) in p.segments.iter().zip(segs) {
        if *pat == P {
            caps.push(seg.clone());
        } else if pat != seg {
            return None;
        }
    }
    Some(caps)
}

/// Everything a handler reads from the request.
struct Req {
    headers: HeaderMap,
    query: Query,
    body: Bytes,
    accept: Vec<String>,
    base: String,
}

impl Req {
    fn auth_header(&self) -> Option<&str> {
        self.headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .filter(|v| !v.trim().is_empty())
    }
}

fn percent_decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .into_owned()
}

/// Routes one request.
pub(crate) async fn dispatch(state: &Arc<AppState>, req: Request<Body>) -> Response {
    let (parts, body) = req.into_parts();
    let accept = media_types(&parts.headers, header::ACCEPT);
    let mut path = parts.uri.path().to_string();
    let root = state.config.root_path.trim_end_matches('/');
    if !root.is_empty()
        && let Some(rest) = path.strip_prefix(root)
        && (rest.is_empty() || rest.starts_with('/'))
    {
        path = if rest.is_empty() {
            "/".into()
        } else {
            rest.to_string()
        };
    }
    let host = parts
        .headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost");
    let base = format!("http://{host}{root}");

    if state.config.enable_cors
        && parts.method == Method::OPTIONS
        && parts.headers.contains_key(header::ORIGIN)
        && parts
            .headers
            .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD)
    {
        return cors(state, &parts.headers, preflight(&parts.headers));
    }

    // Trailing slash: redirect to the path without it.
    if path.len() > 1 && path.ends_with('/') {
        let mut r = negotiate::body(StatusCode::TEMPORARY_REDIRECT, "text/plain", "");
        r.headers_mut().remove(header::CONTENT_TYPE);
        let q = parts
            .uri
            .query()
            .map(|q| format!("?{q}"))
            .unwrap_or_default();
        if let Ok(v) = HeaderValue::from_str(&format!("{base}{}{q}", path.trim_end_matches('/'))) {
            r.headers_mut().insert(header::LOCATION, v);
        }
        return r;
    }
    let segs: Vec<String> = path
        .split('/')
        .filter(|s| !s.is_empty())
        .map(percent_decode)
        .collect();
    let mut partial: Option<&Pattern> = None;
    let mut found = None;
    for (i, p) in ROUTES.iter().enumerate() {
        if let Some(caps) = matches(p, &segs) {
            if p.methods.contains(&parts.method) {
                found = Some((i, caps));
                break;
            }
            partial.get_or_insert(p);
        }
    }
    let Some((route, caps)) = found else {
        let resp = match partial {
            Some(p) => {
                let mut r =
                    negotiate::detail(StatusCode::METHOD_NOT_ALLOWED, json!("Method Not Allowed"));
                let allow: Vec<&str> = p.methods.iter().map(Method::as_str).collect();
                if let Ok(v) = HeaderValue::from_str(&allow.join(", ")) {
                    r.headers_mut().insert(header::ALLOW, v);
                }
                r
            }
            None => negotiate::detail(StatusCode::NOT_FOUND, json!("Not Found")),
        };
        return cors(state, &parts.headers, resp);
    };
    let body = match axum::body::to_bytes(body, state.config.body_limit).await {
        Ok(b) => b,
        Err(_) => {
            return negotiate::error(
                StatusCode::PAYLOAD_TOO_LARGE,
                &format!(
                    "Request body too large: the limit is {} bytes",
                    state.config.body_limit
                ),
                &accept,
            );
        }
    };
    let r = Req {
        query: Query::parse(parts.uri.query()),
        headers: parts.headers,
        body,
        accept,
        base,
    };
    let resp = handle(state, route, &caps, &r).await;
    cors(state, &r.headers, resp)
}

fn preflight(headers: &HeaderMap) -> Response {
    const ALLOWED: [&str; 6] = [
        "accept",
        "accept-language",
        "authorization",
        "content-language",
        "content-type",
        "origin",
    ];
    let requested = headers
        .get(header::ACCESS_CONTROL_REQUEST_HEADERS)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let bad = requested
        .split(',')
        .map(|h| h.trim().to_ascii_lowercase())
        .any(|h| !h.is_empty() && !ALLOWED.contains(&h.as_str()));
    if bad {
        return negotiate::body(
            StatusCode::BAD_REQUEST,
            "text/plain; charset=utf-8",
            "Disallowed CORS headers",
        );
    }
    let mut r = negotiate::text(StatusCode::OK, "text/plain", "OK");
    let h = r.headers_mut();
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
    r
}

/// CORS headers (`ENABLE_CORS`): with credentials allowed, the origin is
/// echoed when `CORS_ORIGIN` is `*`, as the reference's middleware does.
fn cors(state: &AppState, headers: &HeaderMap, mut r: Response) -> Response {
    if !state.config.enable_cors {
        return r;
    }
    r.headers_mut()
        .insert(header::VARY, HeaderValue::from_static("Origin"));
    if let Some(origin) = headers.get(header::ORIGIN) {
        let allowed = state.config.cors_origin == "*"
            || origin.to_str().ok() == Some(state.config.cors_origin.as_str());
        if allowed {
            let o = origin.clone();
            r.headers_mut()
                .insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, o);
            r.headers_mut().insert(
                header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
                HeaderValue::from_static("true"),
            );
        }
    }
    r
}

/// `format_output` with JSON wrapping.
fn output(
    accept: &[String],
    default_type: &str,
    text_body: impl FnOnce() -> String,
    json_body: impl FnOnce() -> Value,
) -> Response {
    match choose(accept, default_type) {
        Ok(Repr::Json) => negotiate::json_response(StatusCode::OK, &json_body()),
        Ok(Repr::Default) => negotiate::text(StatusCode::OK, default_type, text_body()),
        Err(msg) => negotiate::error(StatusCode::UNSUPPORTED_MEDIA_TYPE, &msg, accept),
    }
}

/// The negotiation failure of a route, before running its operation. Routes
/// that wrap it answer 400 with their prefix (the reference's behaviour).
fn negotiation_error(route: Route, wraps: bool, msg: &str, accept: &[String]) -> Response {
    if wraps {
        negotiate::error(
            StatusCode::BAD_REQUEST,
            &format!("{}415: {msg}", route.prefix()),
            accept,
        )
    } else {
        negotiate::error(StatusCode::UNSUPPORTED_MEDIA_TYPE, msg, accept)
    }
}

fn with_infid(mut r: Response, id: &str) -> Response {
    if let Ok(v) = HeaderValue::from_str(id) {
        r.headers_mut().insert("infid", v);
    }
    r
}

fn empty_ok() -> Response {
    negotiate::text(StatusCode::OK, "text/plain", "")
}

/// The `Authorization` header as auth data, or the answer to give.
fn auth(state: &AppState, r: &Req) -> Result<AuthData, Response> {
    let Some(h) = r.auth_header() else {
        return Err(negotiate::error(
            StatusCode::UNAUTHORIZED,
            "No authentication data provided",
            &r.accept,
        ));
    };
    im_auth::parse_auth_header(h)
        .and_then(|a| a.into_auth_data(state.config.vault.as_ref()))
        // IM-compat: the reference answers 500 for a bad id or a malformed
        // Basic header; it is the client's data, so 400.
        .map_err(|e| negotiate::error(StatusCode::BAD_REQUEST, &e.to_string(), &r.accept))
}

/// A RADL/TOSCA request body by `Content-Type` (`parse_deployment`).
fn deployment(r: &Req) -> Result<Deployment, Response> {
    let ct = {
        let c = media_types(&r.headers, header::CONTENT_TYPE);
        if c.is_empty() {
            vec!["text/plain".to_string()]
        } else {
            c
        }
    };
    let text = std::str::from_utf8(&r.body).map_err(|e| {
        // IM-compat: the reference answers 500 for a body that is not UTF-8.
        negotiate::error(
            StatusCode::BAD_REQUEST,
            &format!("Error parsing request body: the body is not UTF-8: {e}"),
            &r.accept,
        )
    })?;
    if text.trim().is_empty() {
        return Ok(Deployment::default());
    }
    let parsed = if ct.iter().any(|c| c == "application/json") {
        parse_radl_json(text)
    } else if ct.iter().any(|c| c == "text/yaml") {
        // TOSCA conversion arrives with the TOSCA issue.
        return Err(negotiate::error(
            StatusCode::BAD_REQUEST,
            "Error parsing request body: TOSCA templates are not supported by this version yet",
            &r.accept,
        ));
    } else if ct
        .iter()
        .any(|c| c == "text/plain" || c == "*/*" || c == "text/*")
    {
        parse_radl(text)
    } else {
        let list: Vec<String> = ct.iter().map(|c| format!("'{c}'")).collect();
        return Err(negotiate::error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            &format!("Unsupported Media Type [{}]", list.join(", ")),
            &r.accept,
        ));
    };
    parsed.map(Deployment::radl).map_err(|e| {
        negotiate::error(
            StatusCode::BAD_REQUEST,
            &format!("Error parsing request body: {e}"),
            &r.accept,
        )
    })
}

/// Runs one core call under the `REST_MAX_BLOCKING_CALLS` limit and timeout.
async fn call<T>(
    state: &AppState,
    fut: impl std::future::Future<Output = Result<T, ImError>>,
) -> Result<T, CallError> {
    let _permit = state
        .calls
        .acquire()
        .await
        .map_err(|_| CallError::Timeout)?;
    match state.config.blocking_call_timeout {
        Some(t) => match tokio::time::timeout(t, fut).await {
            Ok(r) => r.map_err(CallError::Im),
            Err(_) => Err(CallError::Timeout),
        },
        None => fut.await.map_err(CallError::Im),
    }
}

enum CallError {
    Im(ImError),
    Timeout,
}

fn fail(route: Route, wraps: bool, e: CallError, accept: &[String]) -> Response {
    match e {
        CallError::Im(e) => answer(route, &e, accept),
        CallError::Timeout if wraps => negotiate::error(
            StatusCode::BAD_REQUEST,
            &format!("{}504: Operation timed out", route.prefix()),
            accept,
        ),
        CallError::Timeout => {
            negotiate::error(StatusCode::GATEWAY_TIMEOUT, "Operation timed out", accept)
        }
    }
}

fn uri_list(accept: &[String], uris: Vec<String>, json_key: &str) -> Response {
    let j = uris.clone();
    output(
        accept,
        "text/uri-list",
        || uris.join("\n"),
        || {
            if json_key == "uri" {
                json!({"uri": j.first().cloned().unwrap_or_default()})
            } else {
                json!({"uri-list": j.iter().map(|u| json!({"uri": u})).collect::<Vec<_>>()})
            }
        },
    )
}

macro_rules! tryr {
    ($e:expr) => {
        match $e {
            Ok(v) => v,
            Err(resp) => return resp,
        }
    };
}

async fn handle(state: &Arc<AppState>, route: usize, caps: &[String], r: &Req) -> Response {
    let m = &state.manager;
    let acc = &r.accept;
    match route {
        0 => negotiate::text(
            StatusCode::OK,
            "text/html",
            "<!DOCTYPE html><html><head><title>Infrastructure Manager API</title></head><body><h1>Infrastructure Manager API</h1><p>The OpenAPI description is at <a href=\"openapi.json\">openapi.json</a>.</p></body></html>",
        ),
        1 => negotiate::json_response(StatusCode::OK, &crate::openapi::document()),
        // GET /infrastructures
        2 => {
            let a = tryr!(auth(state, r));
            if let Err(msg) = choose(acc, "text/uri-list") {
                return negotiation_error(Route::List, true, &msg, acc);
            }
            let filter = r.query.get("filter").map(str::to_string);
            match call(state, m.list_infrastructures(&a, filter.as_deref())).await {
                Ok(ids) => uri_list(
                    acc,
                    ids.iter()
                        .map(|i| format!("{}/infrastructures/{i}", r.base))
                        .collect(),
                    "uri-list",
                ),
                Err(e) => fail(Route::List, true, e, acc),
            }
        }
        // POST /infrastructures
        3 => {
            let d = tryr!(deployment(r));
            let a = tryr!(auth(state, r));
            let async_call = tryr!(r.query.bool("async", false));
            let dry_run = tryr!(r.query.bool("dry_run", false));
            if dry_run {
                if let Err(msg) = choose(acc, "application/json") {
                    return negotiation_error(Route::Create, false, &msg, acc);
                }
                return match call(state, m.estimate_resources(d, &a)).await {
                    Ok(v) => negotiate::json_response(StatusCode::OK, &v),
                    Err(e) => fail(Route::Create, false, e, acc),
                };
            }
            if let Err(msg) = choose(acc, "text/uri-list") {
                return negotiation_error(Route::Create, false, &msg, acc);
            }
            match call(state, m.create_infrastructure(d, &a, async_call)).await {
                Ok(id) => with_infid(
                    uri_list(acc, vec![format!("{}/infrastructures/{id}", r.base)], "uri"),
                    &id,
                ),
                Err(e) => fail(Route::Create, false, e, acc),
            }
        }
        // PUT /infrastructures (import)
        4 => {
            let a = tryr!(auth(state, r));
            let ct = media_types(&r.headers, header::CONTENT_TYPE);
            if !ct.is_empty() && !ct.iter().any(|c| c == "application/json") {
                let list: Vec<String> = ct.iter().map(|c| format!("'{c}'")).collect();
                return negotiate::error(
                    StatusCode::BAD_REQUEST,
                    &format!(
                        "{}415: Unsupported Media Type [{}]",
                        Route::Import.prefix(),
                        list.join(", ")
                    ),
                    acc,
                );
            }
            if let Err(msg) = choose(acc, "text/uri-list") {
                return negotiation_error(Route::Import, true, &msg, acc);
            }
            let data = String::from_utf8_lossy(&r.body).into_owned();
            match call(state, m.import_infrastructure(&data, &a)).await {
                Ok(id) => uri_list(acc, vec![format!("{}/infrastructures/{id}", r.base)], "uri"),
                Err(e) => fail(Route::Import, true, e, acc),
            }
        }
        // GET /infrastructures/{id}
        5 => {
            let a = tryr!(auth(state, r));
            if let Err(msg) = choose(acc, "text/uri-list") {
                return negotiation_error(Route::InfInfo, true, &msg, acc);
            }
            let id = &caps[0];
            match call(state, m.get_infrastructure_info(id, &a)).await {
                Ok(vms) => uri_list(
                    acc,
                    vms.iter()
                        .map(|v| format!("{}/infrastructures/{id}/vms/{v}", r.base))
                        .collect(),
                    "uri-list",
                ),
                Err(e) => fail(Route::InfInfo, true, e, acc),
            }
        }
        // DELETE /infrastructures/{id}
        6 => {
            let a = tryr!(auth(state, r));
            let force = tryr!(r.query.bool("force", false));
            let async_call = tryr!(r.query.bool("async", false));
            match call(
                state,
                m.destroy_infrastructure(&caps[0], &a, force, async_call),
            )
            .await
            {
                Ok(()) => empty_ok(),
                Err(e) => fail(Route::Destroy, false, e, acc),
            }
        }
        // GET /infrastructures/{id}/{prop}
        7 => {
            let a = tryr!(auth(state, r));
            let prop = tryr!(literal(
                &caps[1],
                "prop",
                &[
                    "contmsg",
                    "radl",
                    "tosca",
                    "state",
                    "outputs",
                    "data",
                    "authorization"
                ],
            ));
            let headeronly = tryr!(r.query.bool("headeronly", false));
            let delete = tryr!(r.query.bool("delete", false));
            inf_prop(state, &caps[0], prop, headeronly, delete, &a, acc).await
        }
        // POST /infrastructures/{id}
        8 => {
            let d = tryr!(deployment(r));
            let a = tryr!(auth(state, r));
            let context = tryr!(r.query.bool("context", true));
            if let Err(msg) = choose(acc, "text/uri-list") {
                return negotiation_error(Route::Add, false, &msg, acc);
            }
            let id = &caps[0];
            match call(state, m.add_resource(id, d, &a, context)).await {
                Ok(vms) => {
                    let resp = uri_list(
                        acc,
                        vms.iter()
                            .map(|v| format!("{}/infrastructures/{id}/vms/{v}", r.base))
                            .collect(),
                        "uri-list",
                    );
                    if context { with_infid(resp, id) } else { resp }
                }
                Err(e) => fail(Route::Add, false, e, acc),
            }
        }
        // PUT /infrastructures/{id}/reconfigure
        9 => {
            let d = tryr!(deployment(r));
            let a = tryr!(auth(state, r));
            let vm_list = r.query.get("vm_list").map(str::to_string);
            if let Some(l) = &vm_list
                && l.split(',').any(|v| v.trim().parse::<i64>().is_err())
            {
                return negotiate::error(StatusCode::BAD_REQUEST, "Incorrect vm_list format.", acc);
            }
            let id = &caps[0];
            match call(state, m.reconfigure(id, d, &a, vm_list.as_deref())).await {
                Ok(()) => with_infid(empty_ok(), id),
                Err(e) => fail(Route::Reconfigure, false, e, acc),
            }
        }
        // PUT /infrastructures/{id}/{op}
        10 => {
            let a = tryr!(auth(state, r));
            let op = tryr!(literal(&caps[1], "op", &["start", "stop"]));
            let res = if op == "start" {
                call(state, m.start_infrastructure(&caps[0], &a)).await
            } else {
                call(state, m.stop_infrastructure(&caps[0], &a)).await
            };
            match res {
                Ok(()) => empty_ok(),
                Err(e) => fail(Route::InfOp(op), false, e, acc),
            }
        }
        // POST /infrastructures/{id}/authorization
        11 => {
            let ct = media_types(&r.headers, header::CONTENT_TYPE);
            if !ct.is_empty() && !ct.iter().any(|c| c == "application/json") {
                let list: Vec<String> = ct.iter().map(|c| format!("'{c}'")).collect();
                return negotiate::error(
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    &format!("Unsupported Media Type [{}]", list.join(", ")),
                    acc,
                );
            }
            let cred = match serde_json::from_slice::<Value>(&r.body)
                .map_err(|e| e.to_string())
                .and_then(|v| {
                    let mut v = v;
                    if let Some(o) = v.as_object_mut() {
                        o.entry("type").or_insert(json!("InfrastructureManager"));
                    }
                    im_auth::Credential::from_json(&v).map_err(|e| e.to_string())
                }) {
                Ok(c) => c,
                Err(e) => {
                    return negotiate::error(
                        StatusCode::BAD_REQUEST,
                        &format!("Error parsing auth data: {e}"),
                        acc,
                    );
                }
            };
            let a = tryr!(auth(state, r));
            let overwrite = tryr!(r.query.bool("overwrite", false));
            match call(state, m.change_auth(&caps[0], cred, overwrite, &a)).await {
                Ok(()) => empty_ok(),
                Err(e) => fail(Route::ChangeAuth, false, e, acc),
            }
        }
        // GET …/vms/{vm}
        12 => {
            let a = tryr!(auth(state, r));
            if let Err(msg) = choose(acc, "text/plain") {
                return negotiate::error(
                    StatusCode::BAD_REQUEST,
                    &format!("Error Getting VM info: 415: {msg}"),
                    acc,
                );
            }
            match call(state, m.get_vm_info(&caps[0], &caps[1], &a)).await {
                Ok(radl) => radl_output(acc, &radl),
                Err(e) => fail(Route::VmInfo, true, e, acc),
            }
        }
        // DELETE …/vms/{vm}
        13 => {
            let a = tryr!(auth(state, r));
            let context = tryr!(r.query.bool("context", true));
            match call(state, m.remove_resource(&caps[0], &caps[1], &a, context)).await {
                Ok(_) => empty_ok(),
                Err(e) => fail(Route::Remove, false, e, acc),
            }
        }
        // PUT …/vms/{vm}
        14 => {
            let d = tryr!(deployment(r));
            let a = tryr!(auth(state, r));
            if let Err(msg) = choose(acc, "text/plain") {
                return negotiation_error(Route::Alter, false, &msg, acc);
            }
            match call(state, m.alter_vm(&caps[0], &caps[1], d, &a)).await {
                Ok(radl) => radl_output(acc, &radl),
                Err(e) => fail(Route::Alter, false, e, acc),
            }
        }
        // GET …/vms/{vm}/{prop}
        15 => {
            let a = tryr!(auth(state, r));
            let step = tryr!(r.query.int("step", 1));
            let (id, vm, prop) = (&caps[0], &caps[1], caps[2].as_str());
            if let Err(msg) = choose(acc, "text/plain") {
                return negotiation_error(Route::VmProp, false, &msg, acc);
            }
            let res: Result<Option<Value>, CallError> = match prop {
                "contmsg" => call(state, m.get_vm_contmsg(id, vm, &a))
                    .await
                    .map(|s| Some(json!(s))),
                "command" => call(state, m.get_vm_command(id, vm, step, &r.base, &a))
                    .await
                    .map(|s| s.map(Value::String)),
                _ => call(state, m.get_vm_property(id, vm, prop, &a)).await,
            };
            match res {
                Ok(Some(v)) => output(
                    acc,
                    "text/plain",
                    || match &v {
                        Value::String(s) => s.clone(),
                        // IM-compat: the reference prints Python reprs here.
                        other => other.to_string(),
                    },
                    || json!({ prop: v }),
                ),
                Ok(None) => negotiate::error(
                    StatusCode::NOT_FOUND,
                    &format!("Incorrect property {prop} for VM ID {vm}"),
                    acc,
                ),
                Err(e) => fail(Route::VmProp, false, e, acc),
            }
        }
        // PUT …/vms/{vm}/{op}
        16 => {
            let a = tryr!(auth(state, r));
            let op = tryr!(literal(&caps[2], "op", &["start", "stop", "reboot"]));
            let (id, vm) = (&caps[0], &caps[1]);
            let res = match op {
                "start" => call(state, m.start_vm(id, vm, &a)).await,
                "stop" => call(state, m.stop_vm(id, vm, &a)).await,
                _ => call(state, m.reboot_vm(id, vm, &a)).await,
            };
            match res {
                Ok(()) => empty_ok(),
                Err(e) => fail(Route::VmOp(op), false, e, acc),
            }
        }
        // PUT …/disks/{n}/snapshot
        17 => {
            let a = tryr!(auth(state, r));
            let disk = tryr!(parse_int(&caps[2], "path", "disknum"));
            let image = tryr!(r.query.required("image_name")).to_string();
            let auto_delete = tryr!(r.query.bool("auto_delete", false));
            let disk = u32::try_from(disk).unwrap_or(u32::MAX);
            match call(
                state,
                m.create_disk_snapshot(&caps[0], &caps[1], disk, &image, auto_delete, &a),
            )
            .await
            {
                Ok(url) => negotiate::text(StatusCode::OK, "text/plain", url),
                Err(e) => fail(Route::Snapshot, false, e, acc),
            }
        }
        // GET /clouds/{id}/{param}
        18 => {
            let a = tryr!(auth(state, r));
            let param = tryr!(literal(&caps[1], "param", &["images", "quotas"]));
            let mut filters = Vec::new();
            if param == "images"
                && let Some(f) = r.query.get("filters")
            {
                for item in f.split(',') {
                    let parts: Vec<&str> = item.split('=').collect();
                    if parts.len() != 2 {
                        return negotiate::error(
                            StatusCode::BAD_REQUEST,
                            "Invalid format in filters parameter.",
                            acc,
                        );
                    }
                    filters.push((parts[0].to_string(), parts[1].to_string()));
                }
            }
            if let Err(msg) = choose(acc, "application/json") {
                return negotiation_error(Route::Clouds, false, &msg, acc);
            }
            let res = if param == "images" {
                call(state, m.get_cloud_images(&caps[0], &a, &filters))
                    .await
                    .map(|i| json!({ "images": i }))
            } else {
                call(state, m.get_cloud_quotas(&caps[0], &a))
                    .await
                    .map(|q| json!({ "quotas": q }))
            };
            match res {
                Ok(v) => negotiate::json_response(StatusCode::OK, &v),
                Err(e) => fail(Route::Clouds, false, e, acc),
            }
        }
        // GET /stats
        19 => {
            let a = tryr!(auth(state, r));
            let init = match date_param(
                r.query.get("init_date").filter(|d| !d.is_empty()),
                "init_date",
                acc,
            ) {
                Ok(d) => d.unwrap_or((1970, 1, 1)),
                Err(resp) => return resp,
            };
            let end = tryr!(date_param(
                r.query.get("end_date").filter(|d| !d.is_empty()),
                "end_date",
                acc
            ));
            let csv = !acc.is_empty()
                && !acc
                    .iter()
                    .any(|t| t == "application/json" || t == "*/*" || t == "application/*")
                && acc.iter().any(|t| t == "text/csv" || t == "text/*");
            if !acc.is_empty()
                && !csv
                && !acc
                    .iter()
                    .any(|t| t == "application/json" || t == "*/*" || t == "application/*")
            {
                // IM-compat: the reference answers 200 with a `null` body here.
                return negotiate::error(
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    &format!("Unsupported Accept Media Types: {}", acc.join(",")),
                    acc,
                );
            }
            match call(state, m.get_stats(&a, init, end)).await {
                Ok(rows) if csv => negotiate::text(StatusCode::OK, "text/csv", stats_csv(&rows)),
                Ok(rows) => negotiate::json_response(StatusCode::OK, &json!({ "stats": rows })),
                Err(e) => fail(Route::Stats, false, e, acc),
            }
        }
        // /oai
        20 => negotiate::error(StatusCode::BAD_REQUEST, "OAI-PMH not enabled.", acc),
        // GET /version
        21 => {
            if let Err(msg) = choose(acc, "text/plain") {
                return negotiation_error(Route::Version, true, &msg, acc);
            }
            output(
                acc,
                "text/plain",
                || VERSION.into(),
                || json!({ "version": VERSION }),
            )
        }
        // GET /static/{file}
        22 => static_file(state, &caps[0], acc).await,
        _ => negotiate::detail(StatusCode::NOT_FOUND, json!("Not Found")),
    }
}

/// The version clients see: the reference's, whose API this server speaks
/// (im_client and the dashboard compare it).
const VERSION: &str = "2.0.0";

fn radl_output(acc: &[String], radl: &Radl) -> Response {
    output(
        acc,
        "text/plain",
        || radl.to_string(),
        || json!({ "radl": radl_to_json(radl) }),
    )
}

async fn inf_prop(
    state: &Arc<AppState>,
    id: &str,
    prop: &str,
    headeronly: bool,
    delete: bool,
    a: &AuthData,
    acc: &[String],
) -> Response {
    let m = &state.manager;
    let json_only = matches!(prop, "state" | "outputs" | "data");
    if json_only {
        let ok = acc.is_empty()
            || acc
                .iter()
                .any(|t| t == "application/json" || t == "*/*" || t == "application/*");
        if !ok {
            let list: Vec<String> = acc.iter().map(|t| format!("'{t}'")).collect();
            return negotiate::error(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                &format!("Unsupported Accept Media Types: [{}]", list.join(", ")),
                acc,
            );
        }
    } else if let Err(msg) = choose(acc, "text/plain") {
        return negotiation_error(Route::InfProp, false, &msg, acc);
    }
    let not_valid = || {
        negotiate::error(
            StatusCode::FORBIDDEN,
            &format!("'{prop}' infrastructure property is not valid in this infrastructure"),
            acc,
        )
    };
    let res: Result<Response, CallError> = match prop {
        "contmsg" => call(state, m.get_contmsg(id, a, headeronly))
            .await
            .map(|s| text_or_json(acc, prop, s)),
        "radl" => call(state, m.get_radl(id, a))
            .await
            .map(|s| text_or_json(acc, prop, s)),
        "tosca" => call(state, m.get_tosca(id, a)).await.map(|t| match t {
            Some(t) => text_or_json(acc, prop, t),
            None => not_valid(),
        }),
        "state" => call(state, m.get_state(id, a))
            .await
            .map(|s| negotiate::json_response(StatusCode::OK, &json!({ "state": s }))),
        "outputs" => call(state, m.get_outputs(id, a)).await.map(|o| match o {
            Some(o) => negotiate::json_response(StatusCode::OK, &json!({ "outputs": o })),
            None => not_valid(),
        }),
        "data" => call(state, m.export_infrastructure(id, a, delete))
            .await
            .map(|d| negotiate::json_response(StatusCode::OK, &json!({ "data": d }))),
        _ => call(state, m.get_owners(id, a)).await.map(|o| {
            let joined = o.join("\n");
            output(
                acc,
                "text/plain",
                || joined,
                || json!({ "authorization": o }),
            )
        }),
    };
    res.unwrap_or_else(|e| fail(Route::InfProp, false, e, acc))
}

fn text_or_json(acc: &[String], field: &str, s: String) -> Response {
    let j = s.clone();
    output(acc, "text/plain", || s, || json!({ field: j }))
}

/// `YYYY-MM-DD` (or with `/`), the reference's date check.
fn date_param(
    v: Option<&str>,
    name: &str,
    acc: &[String],
) -> Result<Option<(i32, u32, u32)>, Response> {
    let Some(v) = v else { return Ok(None) };
    let bad = || {
        negotiate::error(
            StatusCode::BAD_REQUEST,
            &format!("Incorrect format in {name} parameter: YYYY/MM/dd"),
            acc,
        )
    };
    let norm = v.replace('/', "-");
    let parts: Vec<&str> = norm.split('-').collect();
    if parts.len() != 3 {
        return Err(bad());
    }
    let y: i32 = parts[0].parse().map_err(|_| bad())?;
    let mo: u32 = parts[1].parse().map_err(|_| bad())?;
    let d: u32 = parts[2].parse().map_err(|_| bad())?;
    let days_in_month = match mo {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        _ => return Err(bad()),
    };
    if d == 0 || d > days_in_month {
        return Err(bad());
    }
    Ok(Some((y, mo, d)))
}

fn stats_csv(rows: &[indexmap::IndexMap<String, Value>]) -> String {
    let Some(first) = rows.first() else {
        return "\r\n".into();
    };
    let cell = |v: &Value| -> String {
        let s = match v {
            Value::String(s) => s.clone(),
            Value::Bool(true) => "True".into(),
            Value::Bool(false) => "False".into(),
            Value::Null => String::new(),
            other => other.to_string(),
        };
        if s.contains(',') || s.contains('"') || s.contains('\n') {
            format!("\"{}\"", s.replace('"', "\"\""))
        } else {
            s
        }
    };
    let mut out = first.keys().cloned().collect::<Vec<_>>().join(",");
    out.push_str("\r\n");
    for row in rows {
        out.push_str(&row.values().map(cell).collect::<Vec<_>>().join(","));
        out.push_str("\r\n");
    }
    out
}

async fn static_file(state: &AppState, name: &str, acc: &[String]) -> Response {
    let Some(dir) = &state.config.static_files_dir else {
        return negotiate::error(StatusCode::NOT_FOUND, "Static files not enabled.", acc);
    };
    // One path segment only: never leave the directory.
    if name.contains('/') || name.contains('\\') || name == ".." || name == "." {
        return negotiate::error(StatusCode::NOT_FOUND, "File not found", acc);
    }
    match tokio::fs::read(dir.join(name)).await {
        Ok(bytes) => {
            let ct = match name.rsplit('.').next() {
                Some("html") => "text/html; charset=utf-8",
                Some("txt") => "text/plain; charset=utf-8",
                Some("json") => "application/json",
                Some("css") => "text/css; charset=utf-8",
                Some("js") => "text/javascript; charset=utf-8",
                Some("png") => "image/png",
                Some("svg") => "image/svg+xml",
                _ => "application/octet-stream",
            };
            let mut r = Response::new(Body::from(bytes));
            r.headers_mut()
                .insert(header::CONTENT_TYPE, HeaderValue::from_static(ct));
            r
        }
        Err(_) => negotiate::error(StatusCode::NOT_FOUND, "File not found", acc),
    }
}
