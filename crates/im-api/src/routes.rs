//! Route matching in the reference's registration order (spec §1.1–1.2):
//! the first route whose path and method match handles the request; a path
//! that only matches with another method is a 405; nothing at all is a 404; a
//! trailing slash on a path that would match without it is a 307 to that
//! path. Paths are matched after percent-decoding, under `REST_ROOT_PATH` or
//! without it.
//!
//! IM-compat deviation: a 405's `allow` lists every method of the path, as
//! `/openapi.json` has them (where a path with a fixed last segment, such as
//! `…/reconfigure`, is not the templated `…/{prop}`), not only the first
//! matching route's.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{ConnectInfo, Request};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::Response;
use serde_json::json;

use crate::AppState;
use crate::cors::Cors;
use crate::handlers::{self, Ctx};
use crate::negotiate::{self, header_text, media_types};
use crate::params::Query;

/// What a matched route does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    /// `GET /`: a page pointing to the OpenAPI document.
    Home,
    /// `GET /openapi.json`.
    OpenApi,
    /// `GET /infrastructures`.
    List,
    /// `POST /infrastructures`.
    Create,
    /// `PUT /infrastructures`.
    Import,
    /// `GET /infrastructures/{infid}`.
    InfInfo,
    /// `DELETE /infrastructures/{infid}`.
    Destroy,
    /// `GET /infrastructures/{infid}/authorization`.
    Owners,
    /// `GET /infrastructures/{infid}/{prop}`.
    InfProp,
    /// `POST /infrastructures/{infid}`.
    Add,
    /// `PUT /infrastructures/{infid}/reconfigure`.
    Reconfigure,
    /// `PUT /infrastructures/{infid}/{op}`.
    InfOp,
    /// `POST /infrastructures/{infid}/authorization`.
    ChangeAuth,
    /// `GET /infrastructures/{infid}/vms/{vmid}`.
    VmInfo,
    /// `DELETE /infrastructures/{infid}/vms/{vmid}`.
    Remove,
    /// `PUT /infrastructures/{infid}/vms/{vmid}`.
    Alter,
    /// `GET /infrastructures/{infid}/vms/{vmid}/{prop}`.
    VmProp,
    /// `PUT /infrastructures/{infid}/vms/{vmid}/{op}`.
    VmOp,
    /// `PUT /infrastructures/{infid}/vms/{vmid}/disks/{disknum}/snapshot`.
    Snapshot,
    /// `GET /clouds/{cloudid}/{param}`.
    Clouds,
    /// `GET /stats`.
    Stats,
    /// `GET|POST /oai`.
    Oai,
    /// `GET /version`.
    Version,
    /// `GET /static/{filename}`.
    Static,
    /// `GET /health` (not in the reference): whether the database answers.
    Health,
    /// `GET /metrics` (not in the reference): Prometheus metrics.
    Metrics,
}

impl Endpoint {
    /// The route template, as the `route` label of the metrics (bounded:
    /// never the concrete path).
    pub fn template(self) -> &'static str {
        match self {
            Endpoint::Home => "/",
            Endpoint::OpenApi => "/openapi.json",
            Endpoint::List | Endpoint::Create | Endpoint::Import => "/infrastructures",
            Endpoint::InfInfo | Endpoint::Destroy | Endpoint::Add => "/infrastructures/{infid}",
            Endpoint::Owners | Endpoint::ChangeAuth => "/infrastructures/{infid}/authorization",
            Endpoint::Reconfigure => "/infrastructures/{infid}/reconfigure",
            Endpoint::InfProp => "/infrastructures/{infid}/{prop}",
            Endpoint::InfOp => "/infrastructures/{infid}/{op}",
            Endpoint::VmInfo | Endpoint::Remove | Endpoint::Alter => {
                "/infrastructures/{infid}/vms/{vmid}"
            }
            Endpoint::VmProp => "/infrastructures/{infid}/vms/{vmid}/{prop}",
            Endpoint::VmOp => "/infrastructures/{infid}/vms/{vmid}/{op}",
            Endpoint::Snapshot => "/infrastructures/{infid}/vms/{vmid}/disks/{disknum}/snapshot",
            Endpoint::Clouds => "/clouds/{cloudid}/{param}",
            Endpoint::Stats => "/stats",
            Endpoint::Oai => "/oai",
            Endpoint::Version => "/version",
            Endpoint::Static => "/static/{filename}",
            Endpoint::Health => "/health",
            Endpoint::Metrics => "/metrics",
        }
    }
}

/// A capture in a pattern: one non-empty path segment.
const P: &str = "{}";

/// One route: its methods and its path segments.
struct Pattern {
    endpoint: Endpoint,
    methods: &'static [Method],
    segments: &'static [&'static str],
}

const fn route(
    endpoint: Endpoint,
    methods: &'static [Method],
    segments: &'static [&'static str],
) -> Pattern {
    Pattern {
        endpoint,
        methods,
        segments,
    }
}

const GET: &[Method] = &[Method::GET];
const POST: &[Method] = &[Method::POST];
const PUT: &[Method] = &[Method::PUT];
const DELETE: &[Method] = &[Method::DELETE];
const INF: &str = "infrastructures";

/// The routes, in the reference's registration order (docs first).
static ROUTES: &[Pattern] = &[
    route(Endpoint::OpenApi, GET, &["openapi.json"]),
    route(Endpoint::Home, GET, &[]),
    route(Endpoint::List, GET, &[INF]),
    route(Endpoint::Create, POST, &[INF]),
    route(Endpoint::Import, PUT, &[INF]),
    route(Endpoint::InfInfo, GET, &[INF, P]),
    route(Endpoint::Destroy, DELETE, &[INF, P]),
    // The reference's `GET …/{prop}` with `prop = authorization`, named so
    // that `…/authorization` is a path of its own as for POST.
    route(Endpoint::Owners, GET, &[INF, P, "authorization"]),
    route(Endpoint::InfProp, GET, &[INF, P, P]),
    route(Endpoint::Add, POST, &[INF, P]),
    route(Endpoint::Reconfigure, PUT, &[INF, P, "reconfigure"]),
    route(Endpoint::InfOp, PUT, &[INF, P, P]),
    route(Endpoint::ChangeAuth, POST, &[INF, P, "authorization"]),
    route(Endpoint::VmInfo, GET, &[INF, P, "vms", P]),
    route(Endpoint::Remove, DELETE, &[INF, P, "vms", P]),
    route(Endpoint::Alter, PUT, &[INF, P, "vms", P]),
    route(Endpoint::VmProp, GET, &[INF, P, "vms", P, P]),
    route(Endpoint::VmOp, PUT, &[INF, P, "vms", P, P]),
    route(
        Endpoint::Snapshot,
        PUT,
        &[INF, P, "vms", P, "disks", P, "snapshot"],
    ),
    route(Endpoint::Clouds, GET, &["clouds", P, P]),
    route(Endpoint::Stats, GET, &["stats"]),
    route(Endpoint::Oai, &[Method::GET, Method::POST], &["oai"]),
    route(Endpoint::Version, GET, &["version"]),
    route(Endpoint::Static, GET, &["static", P]),
    route(Endpoint::Health, GET, &["health"]),
    route(Endpoint::Metrics, GET, &["metrics"]),
];

/// Every (method, endpoint) the router has.
#[cfg(test)]
pub(crate) fn operations() -> Vec<(Method, Endpoint)> {
    ROUTES
        .iter()
        .flat_map(|r| r.methods.iter().map(|m| (m.clone(), r.endpoint)))
        .collect()
}

/// The endpoint a request reaches, if any (for the document's tests).
#[cfg(test)]
pub(crate) fn endpoint_for(method: &Method, path: &str) -> Option<Endpoint> {
    match find(method, path) {
        Match::Found(e, _) => Some(e),
        _ => None,
    }
}

impl Pattern {
    /// How many fixed segments the pattern has: among the routes matching a
    /// path, those with the most give the `allow` of a 405.
    fn fixed_segments(&self) -> usize {
        self.segments.iter().filter(|s| **s != P).count()
    }
}

/// The captures of `p` in `segs`, when the path matches.
fn captures(p: &Pattern, segs: &[&str]) -> Option<Vec<String>> {
    if p.segments.len() != segs.len() {
        return None;
    }
    let mut caps = Vec::new();
    for (pat, seg) in p.segments.iter().zip(segs) {
        if *pat == P {
            if seg.is_empty() {
                return None;
            }
            caps.push((*seg).to_string());
        } else if pat != seg {
            return None;
        }
    }
    Some(caps)
}

/// The path segments of a decoded path (`/` is none).
fn segments(path: &str) -> Vec<&str> {
    match path.strip_prefix('/').unwrap_or(path) {
        "" => Vec::new(),
        p => p.split('/').collect(),
    }
}

/// How a path matches the table.
enum Match {
    /// A route for this method, with its captures.
    Found(Endpoint, Vec<String>),
    /// Only routes for other methods: their methods.
    OtherMethod(Vec<Method>),
    /// Nothing.
    None,
}

fn find(method: &Method, path: &str) -> Match {
    let segs = segments(path);
    let matching: Vec<(&Pattern, Vec<String>)> = ROUTES
        .iter()
        .filter_map(|p| captures(p, &segs).map(|c| (p, c)))
        .collect();
    let Some(most) = matching.iter().map(|(p, _)| p.fixed_segments()).max() else {
        return Match::None;
    };
    let mut allow: Vec<Method> = Vec::new();
    for (p, _) in matching.iter().filter(|(p, _)| p.fixed_segments() == most) {
        for m in p.methods {
            if !allow.contains(m) {
                allow.push(m.clone());
            }
        }
    }
    match matching
        .into_iter()
        .find(|(p, _)| p.methods.contains(method))
    {
        Some((p, caps)) => Match::Found(p.endpoint, caps),
        None => Match::OtherMethod(allow),
    }
}

/// `scheme://host` + root path: the base of every URI the server writes
/// (spec §1.4). `X-Forwarded-Proto` is honoured only from a loopback peer,
/// as uvicorn's default proxy-header trust does, and only when the server
/// was started with connection info (`into_make_service_with_connect_info`).
fn base_url(req: &Request<Body>, root: &str) -> String {
    let headers = req.headers();
    let loopback_peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .is_some_and(|ConnectInfo(a)| a.ip().is_loopback());
    let scheme = headers
        .get("x-forwarded-proto")
        .filter(|_| loopback_peer)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|p| matches!(*p, "http" | "https"))
        .unwrap_or("http");
    let host = header_text(headers, &header::HOST)
        .or_else(|| req.uri().authority().map(|a| a.to_string()))
        .unwrap_or_else(|| "localhost".to_string());
    format!("{scheme}://{host}{root}")
}

/// `REST_ROOT_PATH` as a prefix: `""` or `/x` (no trailing slash).
pub fn normalise_root(root: &str) -> String {
    let r = root.trim().trim_end_matches('/');
    if r.is_empty() || r.starts_with('/') {
        r.to_string()
    } else {
        format!("/{r}")
    }
}

/// Routes one request and adds the CORS headers.
pub(crate) async fn dispatch(state: Arc<AppState>, req: Request<Body>) -> Response {
    let cors = state.config.enable_cors.then(|| Cors {
        origin: &state.config.cors_origin,
    });
    if let Some(c) = &cors
        && Cors::is_preflight(req.method(), req.headers())
    {
        return c.preflight(req.headers());
    }
    let origin = cors
        .as_ref()
        .and_then(|_| req.headers().get(header::ORIGIN).cloned());
    let started = std::time::Instant::now();
    let method = req.method().clone();
    let (endpoint, resp) = route_request(&state, req).await;
    state.metrics.record(
        endpoint.map_or(crate::metrics::UNMATCHED, Endpoint::template),
        &method,
        resp.status().as_u16(),
        started.elapsed(),
    );
    match &cors {
        Some(c) => c.decorate(origin, resp),
        None => resp,
    }
}

/// Routes one request: the endpoint reached (for the metrics) and the answer.
async fn route_request(state: &Arc<AppState>, req: Request<Body>) -> (Option<Endpoint>, Response) {
    let root = state.root.as_str();
    let base = base_url(&req, root);
    let raw_path = req.uri().path();
    let decoded = percent_encoding::percent_decode_str(raw_path)
        .decode_utf8_lossy()
        .into_owned();
    // The routes answer under the root path and without it.
    let path = match decoded.strip_prefix(root) {
        Some(rest) if !root.is_empty() && rest.is_empty() => "/".to_string(),
        Some(rest) if !root.is_empty() && rest.starts_with('/') => rest.to_string(),
        _ => decoded,
    };
    let (endpoint, caps) = match find(req.method(), &path) {
        Match::Found(e, caps) => (e, caps),
        Match::OtherMethod(methods) => {
            let mut r =
                negotiate::detail(StatusCode::METHOD_NOT_ALLOWED, json!("Method Not Allowed"));
            let allow: Vec<&str> = methods.iter().map(Method::as_str).collect();
            if let Ok(v) = HeaderValue::from_str(&allow.join(", ")) {
                r.headers_mut().insert(header::ALLOW, v);
            }
            return (None, r);
        }
        Match::None => {
            let r = redirect_slash(req.method(), &path, &base, req.uri().query())
                .unwrap_or_else(|| negotiate::detail(StatusCode::NOT_FOUND, json!("Not Found")));
            return (None, r);
        }
    };
    let (parts, body) = req.into_parts();
    let mut cx = Ctx {
        state,
        accept: media_types(&parts.headers, &header::ACCEPT),
        query: Query::parse(parts.uri.query()),
        headers: parts.headers,
        base,
        body: Some(body),
    };
    (
        Some(endpoint),
        handlers::handle(&mut cx, endpoint, &caps).await,
    )
}

/// Starlette's `redirect_slashes`: a path ending in `/` that matches a route
/// without it is redirected there (307, absolute URL, query kept).
fn redirect_slash(
    method: &Method,
    path: &str,
    base: &str,
    query: Option<&str>,
) -> Option<Response> {
    if path.len() <= 1 || !path.ends_with('/') {
        return None;
    }
    let stripped = path.trim_end_matches('/');
    let stripped = if stripped.is_empty() { "/" } else { stripped };
    if matches!(find(method, stripped), Match::None) {
        return None;
    }
    let target = if stripped == "/" { "" } else { stripped };
    let q = query.map(|q| format!("?{q}")).unwrap_or_default();
    let location = format!("{base}{target}{q}");
    let mut r = Response::new(Body::empty());
    *r.status_mut() = StatusCode::TEMPORARY_REDIRECT;
    if let Ok(v) = HeaderValue::from_str(&location) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    Some(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn endpoint(method: Method, path: &str) -> Option<Endpoint> {
        match find(&method, path) {
            Match::Found(e, _) => Some(e),
            _ => None,
        }
    }

    #[test]
    fn the_first_matching_route_in_registration_order_wins() {
        assert_eq!(
            endpoint(Method::PUT, "/infrastructures/x/reconfigure"),
            Some(Endpoint::Reconfigure)
        );
        assert_eq!(
            endpoint(Method::PUT, "/infrastructures/x/foo"),
            Some(Endpoint::InfOp)
        );
        assert_eq!(
            endpoint(Method::GET, "/infrastructures/x/vms"),
            Some(Endpoint::InfProp)
        );
        assert_eq!(
            endpoint(Method::GET, "/infrastructures/x/authorization"),
            Some(Endpoint::Owners)
        );
        assert_eq!(endpoint(Method::GET, "/clouds/x"), None);
        assert_eq!(endpoint(Method::GET, "/infrastructures//state"), None);
    }

    #[test]
    fn a_path_with_a_fixed_last_segment_allows_only_its_own_methods() {
        let Match::OtherMethod(m) = find(&Method::DELETE, "/infrastructures/x/authorization")
        else {
            panic!("expected a 405");
        };
        assert_eq!(m, [Method::GET, Method::POST]);
        let Match::OtherMethod(m) = find(&Method::POST, "/infrastructures/x/reconfigure") else {
            panic!("expected a 405");
        };
        assert_eq!(m, [Method::PUT]);
        // IM-compat: the other methods of the templated route still reach it.
        assert_eq!(
            endpoint(Method::PUT, "/infrastructures/x/authorization"),
            Some(Endpoint::InfOp)
        );
        assert_eq!(
            endpoint(Method::GET, "/infrastructures/x/reconfigure"),
            Some(Endpoint::InfProp)
        );
    }

    #[test]
    fn a_path_matching_only_other_methods_reports_all_their_methods() {
        let Match::OtherMethod(m) = find(&Method::GET, "/infrastructures/x/vms/0/disks/0/snapshot")
        else {
            panic!("expected a 405");
        };
        assert_eq!(m, [Method::PUT]);
        let Match::OtherMethod(m) = find(&Method::POST, "/infrastructures/x/state") else {
            panic!("expected a 405");
        };
        assert_eq!(m, [Method::GET, Method::PUT]);
        let Match::OtherMethod(m) = find(&Method::PATCH, "/infrastructures") else {
            panic!("expected a 405");
        };
        assert_eq!(m, [Method::GET, Method::POST, Method::PUT]);
    }

    #[test]
    fn root_paths_are_normalised() {
        assert_eq!(normalise_root("/"), "");
        assert_eq!(normalise_root(""), "");
        assert_eq!(normalise_root("/im/"), "/im");
        assert_eq!(normalise_root("im"), "/im");
    }
}
