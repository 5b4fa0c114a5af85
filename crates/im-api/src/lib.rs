//! The IM 2.0 REST API over `im-core`.
//!
//! [`router`] gives the axum router `im serve` runs. What a client observes is
//! the reference's (spec `rest-api.md`): routes in its registration order,
//! 404/405 `{"detail": …}` bodies with the `allow` of the first route whose
//! path matches, pydantic-shaped 422s, 307 on a trailing slash, the order
//! "body, then auth, then parameters" of the RADL routes, `Accept`
//! negotiation, error bodies in text/JSON/HTML, the message prefixes. The
//! deliberate departures are in `docs/compat.md` ("REST API") and marked
//! `IM-compat deviation` in the code.
//!
//! Modules: `routes` matches requests, `handlers` holds one function per
//! route, `errors` maps every failure to a status and message (the only
//! place that does), `negotiate` does media types and bodies, `params` the
//! 422s, `oaipmh` the OAI-PMH catalogue of TOSCA templates, `body` the request
//! bodies, `cors`, `files` (static files), `stats`, `metrics` (`/metrics` and
//! `/health`) and `openapi`.

// Handlers return the finished answer as their error: boxing it would only
// add an allocation on the error path.
#![allow(clippy::result_large_err)]

mod body;
mod cors;
mod detached;
mod errors;
mod files;
mod handlers;
mod metrics;
mod negotiate;
mod oaipmh;
mod openapi;
mod params;
mod routes;
mod stats;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use im_core::Manager;
use tokio::sync::Semaphore;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{
    MakeRequestId, PropagateRequestIdLayer, RequestId, SetRequestIdLayer,
};
use tower_http::trace::TraceLayer;

pub use handlers::VERSION;
pub use oaipmh::{ListFuture, OaiSettings, OaiSource, OaiTemplate, TemplateLister};

/// The REST options of `im.cfg`.
#[derive(Debug, Clone)]
pub struct ApiConfig {
    /// `REST_ROOT_PATH`: `""` (for `/`) or a prefix such as `/im`. The routes
    /// answer with and without it; the URIs the server writes include it.
    pub root_path: String,
    /// `REST_MAX_BLOCKING_CALLS`: core operations running at once (min 1).
    pub max_blocking_calls: usize,
    /// `REST_BLOCKING_CALL_TIMEOUT` (`None`: no limit): beyond it the caller
    /// gets `504 Operation timed out` and the operation goes on.
    pub blocking_call_timeout: Option<Duration>,
    /// `ENABLE_CORS`.
    pub enable_cors: bool,
    /// `CORS_ORIGIN` (`*`: any origin, echoed since credentials are allowed).
    pub cors_origin: String,
    /// `STATIC_FILES_DIR`: the directory `GET /static/{file}` serves.
    pub static_files_dir: Option<PathBuf>,
    /// Largest request body accepted, in bytes (413 beyond).
    pub body_limit: usize,
    /// Vault settings for `Bearer` headers (`VAULT_URL` …).
    pub vault: Option<im_auth::VaultSettings>,
    /// The OAI-PMH repository (`OAIPMH_REPO_*`); `None`: `/oai` answers
    /// `OAI-PMH not enabled.`
    pub oaipmh: Option<OaiSettings>,
}

impl Default for ApiConfig {
    fn default() -> Self {
        ApiConfig {
            root_path: String::new(),
            max_blocking_calls: 32,
            blocking_call_timeout: None,
            enable_cors: false,
            cors_origin: "*".into(),
            static_files_dir: None,
            body_limit: 16 * 1024 * 1024,
            vault: None,
            oaipmh: None,
        }
    }
}

/// What every handler shares.
pub(crate) struct AppState {
    pub(crate) manager: Arc<Manager>,
    pub(crate) config: ApiConfig,
    /// The normalised root path (`""` or `/x`).
    pub(crate) root: String,
    /// `REST_MAX_BLOCKING_CALLS` slots.
    pub(crate) calls: Arc<Semaphore>,
    /// Request counters and durations for `GET /metrics`.
    pub(crate) metrics: metrics::Metrics,
}

/// The API as an axum router, with request ids (`x-request-id`, generated
/// when absent and echoed), request tracing and a last-resort 500 for a
/// panicking handler (no details in the body).
///
/// Serve it with `into_make_service_with_connect_info::<SocketAddr>()` for
/// `X-Forwarded-Proto` from loopback proxies to be honoured in the URIs the
/// server writes; with `axum::serve(listener, router)` it is ignored.
pub fn router(manager: Arc<Manager>, config: ApiConfig) -> Router {
    let calls = Arc::new(Semaphore::new(config.max_blocking_calls.max(1)));
    let root = routes::normalise_root(&config.root_path);
    let state = Arc::new(AppState {
        manager,
        config,
        root,
        calls,
        metrics: metrics::Metrics::default(),
    });
    Router::new()
        .fallback(handle)
        .with_state(state)
        .layer(CatchPanicLayer::custom(|_| panic_answer()))
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(
            TraceLayer::new_for_http().make_span_with(|req: &Request<Body>| {
                let id = req
                    .headers()
                    .get("x-request-id")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("");
                tracing::debug_span!("request", method = %req.method(), uri = %req.uri().path(), id)
            }),
        )
        .layer(SetRequestIdLayer::x_request_id(NewRequestId))
}

/// A new request's id: a UUID unique in this process, made without a
/// system call (see [`im_core::unique_uuid`]).
#[derive(Clone, Copy)]
struct NewRequestId;

impl MakeRequestId for NewRequestId {
    fn make_request_id<B>(&mut self, _request: &Request<B>) -> Option<RequestId> {
        let id = im_core::unique_uuid().hyphenated().to_string();
        HeaderValue::from_str(&id).ok().map(RequestId::new)
    }
}

async fn handle(State(state): State<Arc<AppState>>, req: Request<Body>) -> Response {
    let mut resp = routes::dispatch(state, req).await;
    resp.headers_mut()
        .insert(header::SERVER, HeaderValue::from_static("im-rust"));
    resp
}

fn panic_answer() -> Response {
    let mut r = Response::new(Body::from("Internal server error"));
    *r.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r
}
