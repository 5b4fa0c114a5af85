//! `im serve`: the configuration, logging to standard output, the store, the
//! manager and the REST API over HTTP or HTTPS (`REST_SSL`), until SIGTERM,
//! SIGINT or SIGHUP (the reference's stop signals); then new connections are refused, requests in flight finish
//! (within [`DRAIN_DEADLINE`]; a second signal cuts it short), background
//! work is saved (within [`SHUTDOWN_DEADLINE`]) and the process exits 0.
//!
//! The first line of standard output is `im listening on URL` with the port
//! really bound (scripts and tests read it).

use std::io::{IsTerminal, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;
use clap::Args;
use tokio::sync::watch;

use crate::config::{Config, redact_url};

/// How long requests in flight may run on after a stop signal.
pub const DRAIN_DEADLINE: Duration = Duration::from_secs(10);
/// How long background work may take to save itself after the drain.
pub const SHUTDOWN_DEADLINE: Duration = Duration::from_secs(5);

/// `im serve` options.
#[derive(Args)]
pub struct ServeArgs {
    /// An `im.cfg` file (default: `<install>/im.cfg`, `<install>/etc/im.cfg`
    /// and `/etc/im/im.cfg`, later ones winning).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Address to listen on (overrides REST_ADDRESS and REST_PORT); port 0
    /// picks a free one.
    #[arg(long, value_name = "ADDR:PORT")]
    listen: Option<String>,
    /// Database URL (overrides DATA_DB and IM_DATA_DB): `sqlite:///path`,
    /// `postgres://…`, `mysql://…`.
    #[arg(long, value_name = "URL")]
    db: Option<String>,
    /// Seconds an instance's lease on an infrastructure's work lasts without
    /// a renewal, with several instances on one PostgreSQL or MySQL database
    /// (overrides LEASE_SECS; 0: a single server).
    #[arg(long, value_name = "SECS")]
    lease_secs: Option<u32>,
    /// Serve the remote documents of TOSCA templates (`https://HOST/PATH`)
    /// from `DIR/HOST/PATH` when there, before downloading them.
    #[arg(long, value_name = "DIR")]
    tosca_mirror: Option<PathBuf>,
}

/// Runs the service until a stop signal.
pub fn run(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let mut cfg = Config::load(args.config.as_deref())?;
    cfg.apply_cli(args.listen.as_deref(), args.db.as_deref())?;
    if let Some(secs) = args.lease_secs {
        cfg.im.lease_secs = i64::from(secs);
    }
    init_logging(&cfg);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let result = runtime.block_on(serve(cfg, args.tosca_mirror));
    // Blocking work still running (a stuck cloud call) does not hold the exit.
    runtime.shutdown_timeout(Duration::from_secs(1));
    result
}

/// Logs to standard output: `LOG_LEVEL`, or `RUST_LOG` when set.
fn init_logging(cfg: &Config) {
    let filter = std::env::var("RUST_LOG")
        .ok()
        .filter(|f| !f.trim().is_empty())
        .and_then(|f| tracing_subscriber::EnvFilter::try_new(f).ok())
        .unwrap_or_else(|| tracing_subscriber::EnvFilter::new(cfg.log_filter()));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stdout)
        .with_ansi(std::io::stdout().is_terminal())
        .init();
}

async fn serve(cfg: Config, tosca_mirror: Option<PathBuf>) -> anyhow::Result<ExitCode> {
    // What to log once the listening line is out (it is the first line).
    let mut warnings = cfg.warnings.clone();
    let (settings, more) = cfg.settings()?;
    warnings.extend(more);
    let api = cfg.api_config();
    let (host, port) = cfg.listen_addr()?;
    let tls = if cfg.im.rest_ssl {
        let (cert, key) = (&cfg.im.rest_ssl_certfile, &cfg.im.rest_ssl_keyfile);
        Some(
            axum_server::tls_rustls::RustlsConfig::from_pem_file(cert, key)
                .await
                .with_context(|| {
                    format!("REST_SSL: cannot load the certificate {cert} and the key {key}")
                })?,
        )
    } else {
        None
    };
    let listener = std::net::TcpListener::bind((host.as_str(), port))
        .with_context(|| format!("cannot listen on {host}:{port}"))?;
    listener.set_nonblocking(true)?;
    let local = listener.local_addr()?;

    let db = redact_url(&cfg.im.data_db);
    let secrets = match database_key() {
        Ok(k) => k,
        Err(e) => return Ok(fatal(&e)),
    };
    if secrets.is_none() {
        warnings.push(
            "no database key (IM_DATA_DB_KEY or IM_DATA_DB_KEY_FILE): the IM credentials of the \
             owners and the infrastructure data are stored in clear in the database"
                .into(),
        );
    }
    let opts = im_store::OpenOptions {
        secrets,
        ..Default::default()
    };
    let store = match im_store::open_with_options(&cfg.im.data_db, &opts).await {
        Ok(s) => s,
        Err(e) => return Ok(fatal(&format!("cannot open the database {db}: {e}"))),
    };
    if let Err(e) = store.ping().await {
        return Ok(fatal(&format!("the database {db} does not answer: {e}")));
    }
    let verifier = match crate::oidc::HttpOidcVerifier::new(&settings.auth.oidc) {
        Ok(v) => std::sync::Arc::new(v),
        Err(e) => return Ok(fatal(&format!("cannot create the OIDC HTTP client: {e}"))),
    };
    let manager = match im_core::Manager::start_with_verifier(
        settings,
        store,
        im_connectors::Factory::new(),
        verifier,
    )
    .await
    {
        Ok(m) => m,
        Err(e) => return Ok(fatal(&format!("cannot read the database {db}: {e}"))),
    };
    manager.set_tosca_settings(crate::fetch::tosca_settings(
        tokio::runtime::Handle::current(),
        tosca_mirror,
        cfg.im.oaipmh_repo_base_identifier_url.clone(),
    )?);
    let app = im_api::router(manager.clone(), api);
    let stops = stop_signals()?;

    let scheme = if tls.is_some() { "https" } else { "http" };
    // Scripts and tests read this line to find the port.
    let _ = writeln!(std::io::stdout(), "im listening on {scheme}://{local}");
    for w in &warnings {
        tracing::warn!("{w}");
    }
    let files: Vec<String> = cfg.files.iter().map(|f| f.display().to_string()).collect();
    tracing::info!(
        "im {} serving on {scheme}://{local}; configuration: {}; database: {db}",
        env!("CARGO_PKG_VERSION"),
        if files.is_empty() {
            "defaults".to_string()
        } else {
            files.join(", ")
        }
    );

    match tls {
        None => {
            let listener = tokio::net::TcpListener::from_std(listener)?;
            let mut first = stops.clone();
            let server = crate::http::serve(listener, app, async move {
                wait_for(&mut first, 1).await;
            });
            let mut rx = stops.clone();
            let deadline = async move {
                wait_for(&mut rx, 1).await;
                tokio::select! {
                    () = tokio::time::sleep(DRAIN_DEADLINE) => {}
                    () = wait_for(&mut rx, 2) => {}
                }
            };
            tokio::select! {
                () = server => {}
                () = deadline => tracing::warn!("requests still in flight were cut off"),
            }
        }
        Some(tls) => {
            let handle = axum_server::Handle::new();
            let h = handle.clone();
            let mut rx = stops.clone();
            tokio::spawn(async move {
                wait_for(&mut rx, 1).await;
                h.graceful_shutdown(Some(DRAIN_DEADLINE));
                wait_for(&mut rx, 2).await;
                h.shutdown();
            });
            axum_server::from_tcp_rustls(listener, tls)?
                .handle(handle)
                .serve(app.into_make_service_with_connect_info::<SocketAddr>())
                .await
                .context("the server failed")?;
        }
    }

    tracing::info!("no more requests: saving the background work");
    if tokio::time::timeout(SHUTDOWN_DEADLINE, manager.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("background work still running at exit (it resumes at the next start)");
    }
    tracing::info!("im stopped");
    Ok(ExitCode::SUCCESS)
}

/// The server key for secrets at rest: `IM_DATA_DB_KEY` (32 bytes in
/// base64) or `IM_DATA_DB_KEY_FILE` (a file holding that text, or the 32 raw
/// bytes). Environment only, so that the key is never in `im.cfg`, which
/// other tools read.
fn database_key() -> Result<Option<std::sync::Arc<im_store::Secrets>>, String> {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    let key = match (var("IM_DATA_DB_KEY"), var("IM_DATA_DB_KEY_FILE")) {
        (Some(_), Some(_)) => {
            return Err("set IM_DATA_DB_KEY or IM_DATA_DB_KEY_FILE, not both".into());
        }
        (Some(text), None) => {
            im_store::Secrets::from_base64(&text).map_err(|e| format!("IM_DATA_DB_KEY: {e}"))?
        }
        (None, Some(path)) => im_store::Secrets::from_file(std::path::Path::new(&path))
            .map_err(|e| format!("IM_DATA_DB_KEY_FILE: {e}"))?,
        (None, None) => return Ok(None),
    };
    Ok(Some(std::sync::Arc::new(key)))
}

/// A start-up failure the operator must fix: said on standard error and in
/// the log; exit code 2.
fn fatal(msg: &str) -> ExitCode {
    tracing::error!("{msg}");
    eprintln!("im: {msg}");
    ExitCode::from(2)
}

/// Counts SIGTERM, SIGINT and SIGHUP signals from now on.
fn stop_signals() -> anyhow::Result<watch::Receiver<u32>> {
    #[cfg(unix)]
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .context("cannot handle SIGTERM")?;
    #[cfg(unix)]
    let mut hup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
        .context("cannot handle SIGHUP")?;
    let (tx, rx) = watch::channel(0u32);
    tokio::spawn(async move {
        loop {
            #[cfg(unix)]
            let name = tokio::select! {
                _ = term.recv() => "SIGTERM",
                _ = tokio::signal::ctrl_c() => "SIGINT",
                _ = hup.recv() => "SIGHUP",
            };
            #[cfg(not(unix))]
            let name = match tokio::signal::ctrl_c().await {
                Ok(()) => "Ctrl-C",
                Err(_) => std::future::pending().await,
            };
            let n = *tx.borrow() + 1;
            if n == 1 {
                tracing::info!(
                    "{name}: stopping; requests in flight have {} s to finish",
                    DRAIN_DEADLINE.as_secs()
                );
            } else {
                tracing::warn!("{name} again: stopping now");
            }
            tx.send_replace(n);
        }
    });
    Ok(rx)
}

/// Resolves once `n` stop signals have arrived (never if the signal task is gone).
async fn wait_for(rx: &mut watch::Receiver<u32>, n: u32) {
    if rx.wait_for(|&c| c >= n).await.is_err() {
        std::future::pending::<()>().await;
    }
}
