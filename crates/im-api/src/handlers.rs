//! The handlers: one per route, each in the reference's order of checks
//! (spec §2.9): the request body first on the routes that take a RADL or an
//! owner, then the `Authorization` header, then path and query validation
//! (422), then the operation and its representation.
//!
//! `Accept` is negotiated *before* the operations that change something
//! (create, import, add, alter), so a bad `Accept` has no side effect; the
//! reads negotiate after their operation, as the reference does, so that
//! every answer — which error wins included — is the reference's.

use std::future::Future;
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use im_auth::{AuthData, AuthError};
use im_core::{ImError, Manager, ToscaAdd};
use im_radl::{Radl, radl_to_json};
use serde_json::{Value, json};

use crate::AppState;
use crate::body;
use crate::detached::{Detached, Panicked};
use crate::errors::{Failure, Route, answer, http_error, unsupported_accept};
use crate::negotiate::{
    self, Repr, choose, empty_ok, header_text, json_acceptable, json_response, media_types,
    py_list_repr,
};
use crate::params::{Checks, Query};
use crate::routes::Endpoint;
use crate::stats::{self, DateError};

/// The version clients see: the reference's, whose API this server speaks.
/// im_client prints it and the IM Dashboard shows it; keeping `2.0.0` tells
/// them which API revision to expect (docs/compat.md).
pub const VERSION: &str = "2.0.0";

/// Handlers answer with `Ok(answer)` or, for a failure, `Err(answer)`.
type Answer = Result<Response, Response>;

/// One request, as the handlers read it.
pub(crate) struct Ctx<'a> {
    /// The shared state.
    pub state: &'a Arc<AppState>,
    /// Request headers.
    pub headers: HeaderMap,
    /// The query string.
    pub query: Query,
    /// The `Accept` list.
    pub accept: Vec<String>,
    /// `scheme://host` + root path.
    pub base: String,
    /// The body, until read.
    pub body: Option<Body>,
}

/// The `Authorization` header once read: malformed data that the reference
/// reports from inside the operation (a JSON object instead of a list) is
/// kept until the parameters are validated, as there.
pub(crate) struct PendingAuth(Result<AuthData, String>);

impl PendingAuth {
    /// The auth data, or the route's 400 for malformed data.
    fn get(self, route: Route, accept: &[String]) -> Result<AuthData, Response> {
        self.0
            .map_err(|msg| answer(route, &Failure::Core(ImError::BadAuth(msg)), accept))
    }
}

impl Ctx<'_> {
    fn manager(&self) -> Arc<Manager> {
        self.state.manager.clone()
    }

    /// The body, within `body_limit` (413 beyond).
    async fn read_body(&mut self) -> Result<Bytes, Response> {
        let Some(b) = self.body.take() else {
            return Ok(Bytes::new());
        };
        let limit = self.state.config.body_limit;
        axum::body::to_bytes(b, limit).await.map_err(|_| {
            negotiate::error(
                StatusCode::PAYLOAD_TOO_LARGE,
                &format!("Request body too large: the limit is {limit} bytes"),
                &self.accept,
            )
        })
    }

    /// The `Authorization` header (`get_auth_header`): missing or empty →
    /// 401; malformed → 400.
    fn auth(&self) -> Result<PendingAuth, Response> {
        let value =
            header_text(&self.headers, &header::AUTHORIZATION).filter(|v| !v.trim().is_empty());
        let no_auth = || {
            negotiate::error(
                StatusCode::UNAUTHORIZED,
                "No authentication data provided",
                &self.accept,
            )
        };
        let Some(value) = value else {
            return Err(no_auth());
        };
        let parsed = im_auth::parse_auth_header(&value)
            .and_then(|a| a.into_auth_data(self.state.config.vault.as_ref()));
        match parsed {
            Ok(a) => Ok(PendingAuth(Ok(a))),
            Err(AuthError::NoAuthData) => Err(no_auth()),
            Err(e @ AuthError::Malformed(_)) => Ok(PendingAuth(Err(e.to_string()))),
            // IM-compat deviation: the reference answers 500 here (a bad auth
            // `id`, a token it cannot decode for Vault); the data is the
            // caller's: 400, same message.
            Err(e) => Err(negotiate::error(
                StatusCode::BAD_REQUEST,
                &e.to_string(),
                &self.accept,
            )),
        }
    }

    /// A RADL/TOSCA body ([`body::deployment`]).
    // `&mut`: a `Ctx` is `Send` but not `Sync` (its body).
    async fn deployment(&mut self, raw: &[u8]) -> Result<im_core::Deployment, Response> {
        let vault = self.state.config.vault.as_ref();
        body::deployment(&self.state.manager, vault, &self.headers, raw, &self.accept).await
    }

    fn uri(&self, path: &str) -> String {
        format!("{}/{path}", self.base)
    }
}

/// Runs one core operation under `REST_MAX_BLOCKING_CALLS` and
/// `REST_BLOCKING_CALL_TIMEOUT`. A timeout or a client that goes away never
/// interrupts the operation halfway: it goes on in a task of its own (see
/// [`crate::detached`]), as in the reference, whose timed-out calls keep
/// running; the timeout covers the
/// wait for a slot too, and an operation that never got one never starts.
///
/// Not an `async fn`: the operation is boxed at the call, so that the
/// request's future holds a pointer to it rather than the operation's
/// kilobytes, which the router's layers would copy each time they box or move
/// the request's future (a tenth of the server's instructions per create).
fn run<T, F>(state: &AppState, op: F) -> impl Future<Output = Result<T, Failure>> + Send + use<T, F>
where
    T: Send + 'static,
    F: Future<Output = Result<T, ImError>> + Send + 'static,
{
    let op = Box::pin(op);
    let slots = state.calls.clone();
    let timeout = state.config.blocking_call_timeout;
    let work = async move {
        let permit = slots.acquire_owned().await.map_err(|_| Failure::Crashed)?;
        // Run here, finished in a task of its own if this request is dropped.
        let op = Detached::new(async move {
            let _permit = permit;
            op.await
        });
        match op.await {
            Ok(r) => r.map_err(Failure::Core),
            Err(Panicked(why)) => {
                tracing::error!("an operation panicked: {why}");
                Err(Failure::Crashed)
            }
        }
    };
    async move {
        match timeout {
            Some(t) => tokio::time::timeout(t, work)
                .await
                .unwrap_or(Err(Failure::Timeout)),
            None => work.await,
        }
    }
}

/// `format_output`: the route's default representation or JSON, by `Accept`.
fn render(
    route: Route,
    accept: &[String],
    default_type: &str,
    text: impl FnOnce() -> String,
    json: impl FnOnce() -> Value,
) -> Response {
    match choose(accept, default_type) {
        Ok(Repr::Json) => json_response(StatusCode::OK, &json()),
        Ok(Repr::Default) => negotiate::text(StatusCode::OK, default_type, text()),
        Err(msg) => unsupported_accept(route, &msg, accept),
    }
}

/// Fails early when `format_output` would fail later (operations with side
/// effects).
fn negotiate_first(route: Route, accept: &[String], default_type: &str) -> Result<(), Response> {
    choose(accept, default_type)
        .map(|_| ())
        .map_err(|msg| unsupported_accept(route, &msg, accept))
}

/// A list of URIs (`text/uri-list` or `{"uri-list":[{"uri":…}]}`).
fn uri_list(route: Route, accept: &[String], uris: Vec<String>) -> Response {
    let joined = uris.join("\n");
    render(
        route,
        accept,
        "text/uri-list",
        || joined,
        || json!({"uri-list": uris.iter().map(|u| json!({"uri": u})).collect::<Vec<_>>()}),
    )
}

/// One URI (`text/uri-list` or `{"uri":…}`).
fn one_uri(route: Route, accept: &[String], uri: String) -> Response {
    let j = uri.clone();
    render(
        route,
        accept,
        "text/uri-list",
        || uri,
        || json!({ "uri": j }),
    )
}

/// A RADL: its text or `{"radl":[…JSON RADL…]}`.
fn radl_output(route: Route, accept: &[String], radl: &Radl) -> Response {
    render(
        route,
        accept,
        "text/plain",
        || radl.to_string(),
        || json!({ "radl": radl_to_json(radl) }),
    )
}

/// A string property: the text or `{field: text}`.
fn text_property(route: Route, accept: &[String], field: &str, s: String) -> Response {
    let j = s.clone();
    render(route, accept, "text/plain", || s, || json!({ field: j }))
}

fn with_infid(mut r: Response, id: &str) -> Response {
    if r.status().is_success()
        && let Ok(v) = HeaderValue::from_str(id)
    {
        r.headers_mut().insert("infid", v);
    }
    r
}

/// A VM property value in text: Python's `str()` of numbers and strings.
fn value_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
            (Some(i), _, _) => i.to_string(),
            (_, Some(u), _) => u.to_string(),
            (_, _, Some(f)) => im_radl::python_float_repr(f),
            _ => n.to_string(),
        },
        Value::Bool(true) => "True".into(),
        Value::Bool(false) => "False".into(),
        Value::Null => "None".into(),
        // IM-compat deviation: the reference prints Python object reprs for
        // a `contains` property (`{'app1': <radl.radl.Feature object at …>}`);
        // its JSON is printed instead.
        other => other.to_string(),
    }
}

/// Python's `int()` of one `vm_list` item.
fn py_int(s: &str) -> bool {
    let t = s.trim();
    let d = t.strip_prefix(['+', '-']).unwrap_or(t);
    !d.is_empty()
        && !d.starts_with('_')
        && !d.ends_with('_')
        && !d.contains("__")
        && d.chars().all(|c| c.is_ascii_digit() || c == '_')
}

/// Handles one matched request.
pub(crate) async fn handle(cx: &mut Ctx<'_>, e: Endpoint, caps: &[String]) -> Response {
    let r = match e {
        Endpoint::Home => Ok(home(cx)),
        Endpoint::OpenApi => Ok(json_response(
            StatusCode::OK,
            &crate::openapi::document(&cx.state.root),
        )),
        Endpoint::List => list(cx).await,
        Endpoint::Create => create(cx).await,
        Endpoint::Import => import(cx).await,
        Endpoint::InfInfo => inf_info(cx, &caps[0]).await,
        Endpoint::Destroy => destroy(cx, &caps[0]).await,
        Endpoint::Owners => inf_prop(cx, &caps[0], "authorization").await,
        Endpoint::InfProp => inf_prop(cx, &caps[0], &caps[1]).await,
        Endpoint::Add => add(cx, &caps[0]).await,
        Endpoint::Reconfigure => reconfigure(cx, &caps[0]).await,
        Endpoint::InfOp => inf_op(cx, &caps[0], &caps[1]).await,
        Endpoint::ChangeAuth => change_auth(cx, &caps[0]).await,
        Endpoint::VmInfo => vm_info(cx, &caps[0], &caps[1]).await,
        Endpoint::Remove => remove(cx, &caps[0], &caps[1]).await,
        Endpoint::Alter => alter(cx, &caps[0], &caps[1]).await,
        Endpoint::VmProp => vm_prop(cx, &caps[0], &caps[1], &caps[2]).await,
        Endpoint::VmOp => vm_op(cx, &caps[0], &caps[1], &caps[2]).await,
        Endpoint::Snapshot => snapshot(cx, &caps[0], &caps[1], &caps[2]).await,
        Endpoint::Clouds => clouds(cx, &caps[0], &caps[1]).await,
        Endpoint::Stats => get_stats(cx).await,
        Endpoint::Oai => Ok(oai(cx).await),
        Endpoint::Version => Ok(version(cx)),
        Endpoint::Health => Ok(crate::metrics::health(&cx.state.manager).await),
        Endpoint::Metrics => {
            Ok(crate::metrics::metrics(&cx.state.metrics, &cx.state.manager).await)
        }
        Endpoint::Static => Ok(crate::files::serve(
            cx.state.config.static_files_dir.as_deref(),
            &caps[0],
            &cx.headers,
            &cx.accept,
        )
        .await),
    };
    r.unwrap_or_else(|e| e)
}

fn home(cx: &Ctx<'_>) -> Response {
    let root = &cx.state.root;
    negotiate::text(
        StatusCode::OK,
        "text/html",
        format!(
            "<!DOCTYPE html>\n<html>\n<head><meta charset=\"utf-8\"><title>Infrastructure Manager API</title></head>\n<body>\n<h1>Infrastructure Manager API {VERSION}</h1>\n<p>The OpenAPI 3.1 description of this API is at <a href=\"{root}/openapi.json\">{root}/openapi.json</a>.</p>\n</body>\n</html>\n"
        ),
    )
}

fn version(cx: &Ctx<'_>) -> Response {
    render(
        Route::Version,
        &cx.accept,
        "text/plain",
        || VERSION.into(),
        || json!({ "version": VERSION }),
    )
}

/// `GET|POST /oai`: the arguments are the query string's, then (a POST's)
/// urlencoded form's, as the reference merges them.
async fn oai(cx: &mut Ctx<'_>) -> Response {
    let state = cx.state.clone();
    let Some(settings) = &state.config.oaipmh else {
        return negotiate::error(StatusCode::BAD_REQUEST, "OAI-PMH not enabled.", &cx.accept);
    };
    let mut args: Vec<(String, String)> = cx.query.pairs().to_vec();
    let is_form = cx
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|t| {
            t.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        });
    let body = match cx.read_body().await {
        Ok(b) => b,
        Err(r) => return r,
    };
    // A body that is not a form is ignored, as Starlette's `form()` does.
    if is_form {
        args.extend(form_urlencoded::parse(&body).map(|(k, v)| (k.into_owned(), v.into_owned())));
    }
    crate::oaipmh::answer(settings, &cx.base, &args, &cx.accept).await
}

async fn list(cx: &mut Ctx<'_>) -> Answer {
    let route = Route::List;
    let a = cx.auth()?.get(route, &cx.accept)?;
    // IM-compat deviation: the reference ignores `filter`; it is applied (a
    // regular expression searched in each infrastructure's RADL and TOSCA).
    let filter = cx.query.get("filter").map(str::to_string);
    let m = cx.manager();
    let ids = run(cx.state, async move {
        m.list_infrastructures(&a, filter.as_deref()).await
    })
    .await
    .map_err(|f| answer(route, &f, &cx.accept))?;
    Ok(infrastructure_list(route, &cx.accept, &cx.base, &ids))
}

/// The list of infrastructure URIs, written straight into its body (a user
/// may have tens of thousands: no URI strings, no JSON tree). The same
/// bodies as [`uri_list`] with `{base}/infrastructures/{id}` URIs.
fn infrastructure_list(route: Route, accept: &[String], base: &str, ids: &[String]) -> Response {
    const PATH: &str = "/infrastructures/";
    match choose(accept, "text/uri-list") {
        Ok(Repr::Json) => {
            let esc = |s: &str| {
                let quoted = serde_json::Value::from(s).to_string();
                quoted[1..quoted.len() - 1].to_string()
            };
            let base = esc(base);
            let per = base.len() + PATH.len() + 16;
            let mut out =
                String::with_capacity(16 + ids.iter().map(|i| i.len() + per).sum::<usize>());
            out.push_str("{\"uri-list\":[");
            for (n, id) in ids.iter().enumerate() {
                if n > 0 {
                    out.push(',');
                }
                out.push_str("{\"uri\":\"");
                out.push_str(&base);
                out.push_str(PATH);
                // Ids are UUIDs, except imported ones, which are escaped.
                if id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
                    out.push_str(id);
                } else {
                    out.push_str(&esc(id));
                }
                out.push_str("\"}");
            }
            out.push_str("]}");
            negotiate::body(StatusCode::OK, "application/json", out)
        }
        Ok(Repr::Default) => {
            let per = base.len() + PATH.len() + 1;
            let mut out = String::with_capacity(ids.iter().map(|i| i.len() + per).sum());
            for (n, id) in ids.iter().enumerate() {
                if n > 0 {
                    out.push('\n');
                }
                out.push_str(base);
                out.push_str(PATH);
                out.push_str(id);
            }
            negotiate::text(StatusCode::OK, "text/uri-list", out)
        }
        Err(msg) => unsupported_accept(route, &msg, accept),
    }
}

async fn create(cx: &mut Ctx<'_>) -> Answer {
    let route = Route::Create;
    let raw = cx.read_body().await?;
    let d = cx.deployment(&raw).await?;
    let pending = cx.auth()?;
    let mut c = Checks::default();
    let async_call = c.bool(&cx.query, "async", false);
    let dry_run = c.bool(&cx.query, "dry_run", false);
    c.finish()?;
    let a = pending.get(route, &cx.accept)?;
    let m = cx.manager();
    if dry_run {
        let v = run(cx.state, async move { m.estimate_resources(d, &a).await })
            .await
            .map_err(|f| answer(route, &f, &cx.accept))?;
        return Ok(render(
            route,
            &cx.accept,
            "application/json",
            || v.to_string(),
            || v.clone(),
        ));
    }
    negotiate_first(route, &cx.accept, "text/uri-list")?;
    let id = run(cx.state, async move {
        m.create_infrastructure(d, &a, async_call).await
    })
    .await
    .map_err(|f| answer(route, &f, &cx.accept))?;
    let uri = cx.uri(&format!("infrastructures/{id}"));
    Ok(with_infid(one_uri(route, &cx.accept, uri), &id))
}

async fn import(cx: &mut Ctx<'_>) -> Answer {
    let route = Route::Import;
    let a = cx.auth()?.get(route, &cx.accept)?;
    let ct = media_types(&cx.headers, &header::CONTENT_TYPE);
    let raw = cx.read_body().await?;
    let bad = |msg: String| {
        negotiate::error(
            StatusCode::BAD_REQUEST,
            &format!("{}{msg}", route.prefix()),
            &cx.accept,
        )
    };
    let data = body::utf8(&raw).map_err(bad)?.to_string();
    if !ct.is_empty() && !ct.iter().any(|c| c == "application/json") {
        return Err(bad(format!(
            "415: Unsupported Media Type {}",
            py_list_repr(&ct)
        )));
    }
    negotiate_first(route, &cx.accept, "text/uri-list")?;
    let m = cx.manager();
    let id = run(
        cx.state,
        async move { m.import_infrastructure(&data, &a).await },
    )
    .await
    .map_err(|f| answer(route, &f, &cx.accept))?;
    let uri = cx.uri(&format!("infrastructures/{id}"));
    Ok(one_uri(route, &cx.accept, uri))
}

async fn inf_info(cx: &mut Ctx<'_>, id: &str) -> Answer {
    let route = Route::InfInfo;
    let a = cx.auth()?.get(route, &cx.accept)?;
    let (m, inf) = (cx.manager(), id.to_string());
    let vms = run(cx.state, async move {
        m.get_infrastructure_info(&inf, &a).await
    })
    .await
    .map_err(|f| answer(route, &f, &cx.accept))?;
    let uris = vms
        .iter()
        .map(|v| cx.uri(&format!("infrastructures/{id}/vms/{v}")))
        .collect();
    Ok(uri_list(route, &cx.accept, uris))
}

async fn destroy(cx: &mut Ctx<'_>, id: &str) -> Answer {
    let route = Route::Destroy;
    let pending = cx.auth()?;
    let mut c = Checks::default();
    let force = c.bool(&cx.query, "force", false);
    let async_call = c.bool(&cx.query, "async", false);
    c.finish()?;
    let a = pending.get(route, &cx.accept)?;
    let (m, inf) = (cx.manager(), id.to_string());
    run(cx.state, async move {
        m.destroy_infrastructure(&inf, &a, force, async_call).await
    })
    .await
    .map_err(|f| answer(route, &f, &cx.accept))?;
    Ok(empty_ok())
}

const INF_PROPS: [&str; 7] = [
    "contmsg",
    "radl",
    "tosca",
    "state",
    "outputs",
    "data",
    "authorization",
];

async fn inf_prop(cx: &mut Ctx<'_>, id: &str, prop: &str) -> Answer {
    let route = Route::InfProp;
    let pending = cx.auth()?;
    let mut c = Checks::default();
    let prop = c.literal(prop, "prop", &INF_PROPS);
    let headeronly = c.bool(&cx.query, "headeronly", false);
    let delete = c.bool(&cx.query, "delete", false);
    c.finish()?;
    let a = pending.get(route, &cx.accept)?;
    let acc = &cx.accept;
    let (m, inf) = (cx.manager(), id.to_string());
    let fail = |f: Failure| answer(route, &f, acc);
    let not_valid = || {
        negotiate::error(
            StatusCode::FORBIDDEN,
            &format!("'{prop}' infrastructure property is not valid in this infrastructure"),
            acc,
        )
    };
    match prop {
        "contmsg" => {
            let s = run(cx.state, async move {
                m.get_contmsg(&inf, &a, headeronly).await
            })
            .await
            .map_err(fail)?;
            return Ok(text_property(route, acc, prop, s));
        }
        "radl" => {
            let s = run(cx.state, async move { m.get_radl(&inf, &a).await })
                .await
                .map_err(fail)?;
            return Ok(text_property(route, acc, prop, s));
        }
        "tosca" => {
            let t = run(cx.state, async move { m.get_tosca(&inf, &a).await })
                .await
                .map_err(fail)?;
            return t
                .map(|t| text_property(route, acc, prop, t))
                .ok_or_else(not_valid);
        }
        "authorization" => {
            let owners = run(cx.state, async move { m.get_owners(&inf, &a).await })
                .await
                .map_err(fail)?;
            let joined = owners.join("\n");
            return Ok(render(
                route,
                acc,
                "text/plain",
                || joined,
                || json!({ "authorization": owners }),
            ));
        }
        _ => {}
    }
    // `state`, `outputs` and `data` are JSON only, checked before the lookup.
    if !json_acceptable(acc) {
        return Err(negotiate::error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            &format!("Unsupported Accept Media Types: {}", py_list_repr(acc)),
            acc,
        ));
    }
    let v = match prop {
        "state" => {
            let s = run(cx.state, async move { m.get_state(&inf, &a).await })
                .await
                .map_err(fail)?;
            serde_json::to_value(s).map_err(|_| fail(Failure::Crashed))?
        }
        "outputs" => run(cx.state, async move { m.get_outputs(&inf, &a).await })
            .await
            .map_err(fail)?
            .ok_or_else(not_valid)?,
        _ => Value::String(
            run(cx.state, async move {
                m.export_infrastructure(&inf, &a, delete).await
            })
            .await
            .map_err(fail)?,
        ),
    };
    Ok(json_response(StatusCode::OK, &json!({ prop: v })))
}

async fn add(cx: &mut Ctx<'_>, id: &str) -> Answer {
    let route = Route::Add;
    let raw = cx.read_body().await?;
    let d = cx.deployment(&raw).await?;
    let pending = cx.auth()?;
    let mut c = Checks::default();
    let context = c.bool(&cx.query, "context", true);
    c.finish()?;
    let a = pending.get(route, &cx.accept)?;
    negotiate_first(route, &cx.accept, "text/uri-list")?;
    let (m, inf) = (cx.manager(), id.to_string());
    let res = run(cx.state, async move {
        match d.tosca {
            Some(t) => m.add_resource_tosca(&inf, t, &a, context).await,
            None => m
                .add_resource(&inf, d, &a, context)
                .await
                .map(|added| ToscaAdd {
                    added,
                    ..ToscaAdd::default()
                }),
        }
    })
    .await
    .map_err(|f| answer(route, &f, &cx.accept))?;
    if res.added.is_empty() && res.removed != res.removal_list.len() {
        // The reference's raw 404 (no prefix), its list in Python's repr.
        let ids: Vec<String> = res.removal_list.iter().map(i64::to_string).collect();
        return Err(negotiate::error(
            StatusCode::NOT_FOUND,
            &format!(
                "Error deleting resources [{}] (removed {})",
                ids.join(", "),
                res.removed
            ),
            &cx.accept,
        ));
    }
    let vms = res.added;
    let uris = vms
        .iter()
        .map(|v| cx.uri(&format!("infrastructures/{id}/vms/{v}")))
        .collect();
    let r = uri_list(route, &cx.accept, uris);
    // The id lets a load balancer keep the reconfiguration on this server.
    Ok(if context { with_infid(r, id) } else { r })
}

async fn reconfigure(cx: &mut Ctx<'_>, id: &str) -> Answer {
    let route = Route::Reconfigure;
    let raw = cx.read_body().await?;
    let d = cx.deployment(&raw).await?;
    let a = cx.auth()?.get(route, &cx.accept)?;
    let vm_list = cx
        .query
        .get("vm_list")
        .filter(|l| !l.is_empty())
        .map(str::to_string);
    let vm_list = match vm_list {
        Some(l) if !l.split(',').all(py_int) => {
            return Err(negotiate::error(
                StatusCode::BAD_REQUEST,
                "Incorrect vm_list format.",
                &cx.accept,
            ));
        }
        // The ids as Python's `int()` reads them (` 1`, `+2`, `1_0`).
        Some(l) => Some(
            l.split(',')
                .map(|v| {
                    v.trim()
                        .replace('_', "")
                        .trim_start_matches('+')
                        .to_string()
                })
                .collect::<Vec<_>>()
                .join(","),
        ),
        None => None,
    };
    let (m, inf) = (cx.manager(), id.to_string());
    run(cx.state, async move {
        m.reconfigure(&inf, d, &a, vm_list.as_deref()).await
    })
    .await
    .map_err(|f| answer(route, &f, &cx.accept))?;
    Ok(with_infid(empty_ok(), id))
}

async fn inf_op(cx: &mut Ctx<'_>, id: &str, op: &str) -> Answer {
    let pending = cx.auth()?;
    let mut c = Checks::default();
    let op = c.literal(op, "op", &["start", "stop"]);
    c.finish()?;
    let route = Route::InfOp(op);
    let a = pending.get(route, &cx.accept)?;
    let (m, inf) = (cx.manager(), id.to_string());
    let res = if op == "start" {
        run(
            cx.state,
            async move { m.start_infrastructure(&inf, &a).await },
        )
        .await
    } else {
        run(
            cx.state,
            async move { m.stop_infrastructure(&inf, &a).await },
        )
        .await
    };
    res.map_err(|f| answer(route, &f, &cx.accept))?;
    Ok(empty_ok())
}

async fn change_auth(cx: &mut Ctx<'_>, id: &str) -> Answer {
    let route = Route::ChangeAuth;
    let raw = cx.read_body().await?;
    let cred = body::new_owner(&cx.headers, &raw, &cx.accept)?;
    let pending = cx.auth()?;
    let mut c = Checks::default();
    let overwrite = c.bool(&cx.query, "overwrite", false);
    c.finish()?;
    let a = pending.get(route, &cx.accept)?;
    let (m, inf) = (cx.manager(), id.to_string());
    run(cx.state, async move {
        m.change_auth(&inf, cred, overwrite, &a).await
    })
    .await
    .map_err(|f| answer(route, &f, &cx.accept))?;
    Ok(empty_ok())
}

async fn vm_info(cx: &mut Ctx<'_>, id: &str, vm: &str) -> Answer {
    let route = Route::VmInfo;
    let a = cx.auth()?.get(route, &cx.accept)?;
    let (m, inf, vm) = (cx.manager(), id.to_string(), vm.to_string());
    let radl = run(cx.state, async move { m.get_vm_info(&inf, &vm, &a).await })
        .await
        .map_err(|f| answer(route, &f, &cx.accept))?;
    Ok(radl_output(route, &cx.accept, &radl))
}

async fn remove(cx: &mut Ctx<'_>, id: &str, vm: &str) -> Answer {
    let route = Route::Remove;
    let pending = cx.auth()?;
    let mut c = Checks::default();
    let context = c.bool(&cx.query, "context", true);
    c.finish()?;
    let a = pending.get(route, &cx.accept)?;
    let (m, inf, vms) = (cx.manager(), id.to_string(), vm.to_string());
    run(cx.state, async move {
        m.remove_resource(&inf, &vms, &a, context).await
    })
    .await
    .map_err(|f| answer(route, &f, &cx.accept))?;
    Ok(empty_ok())
}

async fn alter(cx: &mut Ctx<'_>, id: &str, vm: &str) -> Answer {
    let route = Route::Alter;
    let raw = cx.read_body().await?;
    let d = cx.deployment(&raw).await?;
    let a = cx.auth()?.get(route, &cx.accept)?;
    negotiate_first(route, &cx.accept, "text/plain")?;
    let (m, inf, vm) = (cx.manager(), id.to_string(), vm.to_string());
    let radl = run(cx.state, async move { m.alter_vm(&inf, &vm, d, &a).await })
        .await
        .map_err(|f| answer(route, &f, &cx.accept))?;
    Ok(radl_output(route, &cx.accept, &radl))
}

async fn vm_prop(cx: &mut Ctx<'_>, id: &str, vm: &str, prop: &str) -> Answer {
    let route = Route::VmProp;
    let pending = cx.auth()?;
    let mut c = Checks::default();
    let step = c.query_int(&cx.query, "step", 1);
    c.finish()?;
    let a = pending.get(route, &cx.accept)?;
    let (m, inf, vmid, p) = (
        cx.manager(),
        id.to_string(),
        vm.to_string(),
        prop.to_string(),
    );
    let res = match prop {
        "contmsg" => run(
            cx.state,
            async move { m.get_vm_contmsg(&inf, &vmid, &a).await },
        )
        .await
        .map(|s| Some(Value::String(s))),
        "command" => {
            let base = cx.base.clone();
            run(cx.state, async move {
                m.get_vm_command(&inf, &vmid, step, &base, &a).await
            })
            .await
            .map(|s| s.map(Value::String))
        }
        _ => {
            run(cx.state, async move {
                m.get_vm_property(&inf, &vmid, &p, &a).await
            })
            .await
        }
    };
    let acc = &cx.accept;
    match res.map_err(|f| answer(route, &f, acc))? {
        Some(v) => Ok(render(
            route,
            acc,
            "text/plain",
            || value_text(&v),
            || json!({ prop: v }),
        )),
        None => Err(negotiate::error(
            StatusCode::NOT_FOUND,
            &format!("Incorrect property {prop} for VM ID {vm}"),
            acc,
        )),
    }
}

async fn vm_op(cx: &mut Ctx<'_>, id: &str, vm: &str, op: &str) -> Answer {
    let pending = cx.auth()?;
    let mut c = Checks::default();
    let op = c.literal(op, "op", &["start", "stop", "reboot"]);
    c.finish()?;
    let route = Route::VmOp(op);
    let a = pending.get(route, &cx.accept)?;
    let (m, inf, vm) = (cx.manager(), id.to_string(), vm.to_string());
    let res = match op {
        "start" => run(cx.state, async move { m.start_vm(&inf, &vm, &a).await }).await,
        "stop" => run(cx.state, async move { m.stop_vm(&inf, &vm, &a).await }).await,
        _ => run(cx.state, async move { m.reboot_vm(&inf, &vm, &a).await }).await,
    };
    res.map_err(|f| answer(route, &f, &cx.accept))?;
    Ok(empty_ok())
}

async fn snapshot(cx: &mut Ctx<'_>, id: &str, vm: &str, disk: &str) -> Answer {
    let route = Route::Snapshot;
    let pending = cx.auth()?;
    let mut c = Checks::default();
    let disk = c.int(disk, "path", "disknum");
    let image = c.required(&cx.query, "image_name").to_string();
    let auto_delete = c.bool(&cx.query, "auto_delete", false);
    c.finish()?;
    let a = pending.get(route, &cx.accept)?;
    let disk = disk.and_then(|d| u32::try_from(d).ok()).ok_or_else(|| {
        answer(
            route,
            &Failure::Core(ImError::failed("Incorrect disk number.")),
            &cx.accept,
        )
    })?;
    let (m, inf, vm) = (cx.manager(), id.to_string(), vm.to_string());
    let url = run(cx.state, async move {
        m.create_disk_snapshot(&inf, &vm, disk, &image, auto_delete, &a)
            .await
    })
    .await
    .map_err(|f| answer(route, &f, &cx.accept))?;
    Ok(negotiate::text(StatusCode::OK, "text/plain", url))
}

async fn clouds(cx: &mut Ctx<'_>, cloud: &str, param: &str) -> Answer {
    let route = Route::Clouds;
    let pending = cx.auth()?;
    let mut c = Checks::default();
    let param = c.literal(param, "param", &["images", "quotas"]);
    c.finish()?;
    let a = pending.get(route, &cx.accept)?;
    let acc = &cx.accept;
    let (m, cloud) = (cx.manager(), cloud.to_string());
    let v = if param == "images" {
        let mut filters = Vec::new();
        if let Some(f) = cx.query.get("filters").filter(|f| !f.is_empty()) {
            for item in f.split(',') {
                match item.split('=').collect::<Vec<_>>().as_slice() {
                    [k, v] => filters.push(((*k).to_string(), (*v).to_string())),
                    _ => {
                        return Err(negotiate::error(
                            StatusCode::BAD_REQUEST,
                            "Invalid format in filters parameter.",
                            acc,
                        ));
                    }
                }
            }
        }
        let images = run(cx.state, async move {
            m.get_cloud_images(&cloud, &a, &filters).await
        })
        .await
        .map_err(|f| answer(route, &f, acc))?;
        json!({ "images": images })
    } else {
        let quotas = run(
            cx.state,
            async move { m.get_cloud_quotas(&cloud, &a).await },
        )
        .await
        .map_err(|f| answer(route, &f, acc))?;
        json!({ "quotas": quotas })
    };
    Ok(render(
        route,
        acc,
        "application/json",
        || v.to_string(),
        || v.clone(),
    ))
}

async fn get_stats(cx: &mut Ctx<'_>) -> Answer {
    let route = Route::Stats;
    let a = cx.auth()?.get(route, &cx.accept)?;
    let acc = &cx.accept;
    let date = |name: &str| {
        stats::date_param(cx.query.get(name)).map_err(|e| match e {
            DateError::Format => negotiate::error(
                StatusCode::BAD_REQUEST,
                &format!("Incorrect format in {name} parameter: YYYY/MM/dd"),
                acc,
            ),
            DateError::Strptime(msg) => negotiate::error(
                StatusCode::BAD_REQUEST,
                &format!("{}{msg}", route.prefix()),
                acc,
            ),
        })
    };
    let init = date("init_date")?.unwrap_or((1970, 1, 1));
    let end = date("end_date")?;
    let m = cx.manager();
    let rows = run(cx.state, async move { m.get_stats(&a, init, end).await })
        .await
        .map_err(|f| answer(route, &f, acc))?;
    if json_acceptable(acc) {
        return Ok(json_response(StatusCode::OK, &json!({ "stats": rows })));
    }
    if acc.iter().any(|t| t == "text/csv" || t == "text/*") {
        return Ok(negotiate::text(
            StatusCode::OK,
            "text/csv",
            stats::csv(&rows),
        ));
    }
    // IM-compat deviation: the reference answers `200 null` here.
    Err(http_error(
        route,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        &format!("Unsupported Accept Media Types: {}", acc.join(",")),
        acc,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vm_property_values_print_as_python_prints_them() {
        assert_eq!(value_text(&json!("configured")), "configured");
        assert_eq!(value_text(&json!(1000000000)), "1000000000");
        assert_eq!(value_text(&json!(1.5)), "1.5");
        assert_eq!(value_text(&json!(2.0)), "2.0");
        assert_eq!(
            value_text(&json!({"app1": {"name": "app1"}})),
            "{\"app1\":{\"name\":\"app1\"}}"
        );
    }

    #[test]
    fn vm_lists_are_read_with_python_int() {
        assert!(py_int("1"));
        assert!(py_int(" 2 "));
        assert!(!py_int("a"));
        assert!(!py_int(""));
    }
}
