//! The IM 2.0 REST API over `im-core`.
//!
//! Routing is done here by hand, in the reference's registration order, so that
//! what clients observe matches it exactly: 404/405 `{"detail": …}` bodies with
//! the `allow` of the first route whose path matches, 422 bodies shaped like
//! pydantic's, 307 on a trailing slash, the order "body, then auth, then query"
//! of the RADL routes. `routes.rs` holds the handlers; errors are mapped to
//! statuses in one place (`errors.rs`).

// Handlers return the finished answer as their error: boxing it would only
// add an allocation on the error path.
#![allow(clippy::result_large_err)]

mod errors;
mod negotiate;
mod openapi;
mod params;
mod routes;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::Response;
use im_core::Manager;
use tokio::sync::Semaphore;

/// The REST options of `im.cfg`.
#[derive(Debug, Clone)]
pub struct ApiConfig {
    /// `REST_ROOT_PATH` without a trailing slash (`""` for `/`).
    pub root_path: String,
    /// `REST_MAX_BLOCKING_CALLS`: operations running at once.
    pub max_blocking_calls: usize,
    /// `REST_BLOCKING_CALL_TIMEOUT` (`None`: no limit) → 504.
    pub blocking_call_timeout: Option<Duration>,
    /// `ENABLE_CORS`.
    pub enable_cors: bool,
    /// `CORS_ORIGIN`.
    pub cors_origin: String,
    /// `STATIC_FILES_DIR`.
    pub static_files_dir: Option<PathBuf>,
    /// Largest request body accepted (413 beyond).
    pub body_limit: usize,
    /// Vault settings for `Bearer` headers.
    pub vault: Option<im_auth::VaultSettings>,
    /// Whether OAI-PMH is configured.
    pub oaipmh_enabled: bool,
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
            oaipmh_enabled: false,
        }
    }
}

/// What every handler shares.
pub(crate) struct AppState {
    pub(crate) manager: Arc<Manager>,
    pub(crate) config: ApiConfig,
    pub(crate) calls: Semaphore,
}

/// The API as an axum router.
pub fn router(manager: Arc<Manager>, config: ApiConfig) -> Router {
    let calls = Semaphore::new(config.max_blocking_calls.max(1));
    let state = Arc::new(AppState {
        manager,
        config,
        calls,
    });
    Router::new().fallback(handle).with_state(state)
}

async fn handle(State(state): State<Arc<AppState>>, req: Request<Body>) -> Response {
    let mut resp = routes::dispatch(&state, req).await;
    // Answers never carry credentials; the server name tells which IM this is.
    resp.headers_mut().insert(
        axum::http::header::SERVER,
        axum::http::HeaderValue::from_static("im-rust"),
    );
    resp
}
