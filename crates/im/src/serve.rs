//! `im serve`: configuration, logging, the store, the manager and the REST
//! server, with a graceful stop on SIGTERM/SIGINT.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::Args;

use crate::config::Config;

/// `im serve` options.
#[derive(Args)]
pub struct ServeArgs {
    /// An `im.cfg` file (default: the reference's search paths).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Address to listen on, `ADDR:PORT` (overrides REST_ADDRESS/REST_PORT).
    #[arg(long)]
    listen: Option<String>,
    /// Database URL (overrides DATA_DB and IM_DATA_DB).
    #[arg(long)]
    db: Option<String>,
}

/// Runs the service until a stop signal.
pub fn run(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let mut cfg = Config::load(args.config.as_deref())?;
    if let Some(db) = &args.db {
        cfg.set("DATA_DB", db.clone());
    }
    let filter = std::env::var("RUST_LOG").unwrap_or_else(|_| cfg.log_level());
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
        .with_target(false)
        .with_ansi(false)
        .init();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(serve(cfg, args.listen))
}

async fn serve(cfg: Config, listen: Option<String>) -> anyhow::Result<ExitCode> {
    if cfg.ssl()? {
        anyhow::bail!("REST_SSL is not supported by this version yet: terminate TLS in a proxy");
    }
    let settings = cfg.settings()?;
    let api = cfg.api()?;
    let addr = match listen {
        Some(l) => l,
        None => cfg.listen()?,
    };
    let url = cfg.data_db();
    let store = match im_store::open(&url).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("im: cannot open the database {url}: {e}");
            return Ok(ExitCode::from(2));
        }
    };
    if store.ping().await.is_err() {
        eprintln!("im: the database {url} does not answer");
        return Ok(ExitCode::from(2));
    }
    if !cfg.files.is_empty() {
        tracing::info!("configuration read from {:?}", cfg.files);
    }
    let manager = im_core::Manager::start(settings, store, im_connectors::Factory::new())
        .await
        .context("cannot start the manager")?;
    let app = im_api::router(manager.clone(), api);
    let listener = tokio::net::TcpListener::bind(&addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))?;
    let local = listener.local_addr()?;
    // Tests and scripts read this line to find the port.
    println!("im listening on http://{local}");
    tracing::info!(database = %url, "im listening on http://{local}");
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(stop_signal())
    .await
    .context("the server failed")?;
    // In-flight requests are done; let background operations finish, bounded.
    if tokio::time::timeout(Duration::from_secs(10), manager.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("background operations still running at exit");
    }
    tracing::info!("im stopped");
    Ok(ExitCode::SUCCESS)
}

async fn stop_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("stop signal received: finishing in-flight requests");
}
