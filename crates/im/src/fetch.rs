//! How the service reads the remote documents of TOSCA templates (imports
//! that do not ship with `im-tosca`, playbooks, `template_file`s): over HTTP
//! with a timeout and a size limit, cached for an hour as the reference's
//! `requests_cache` does, optionally from a local mirror first
//! (`im serve --tosca-mirror DIR`, the layout of the fixtures' `remote/`).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use im_core::{SharedFetcher, ToscaSettings};
use im_tosca::{CachedFetcher, DirFetcher, Fetcher};

/// How long one download may take (the reference's `GET_TIMEOUT`).
pub const TIMEOUT: Duration = Duration::from_secs(20);
/// How long a downloaded document is reused (the reference's cache).
const CACHE_TTL: Duration = Duration::from_secs(3600);
/// How many documents the cache holds.
const CACHE_ENTRIES: usize = 512;
/// The largest document read (type files and playbooks are a few hundred KB).
const MAX_BYTES: usize = 8 * 1024 * 1024;

/// Downloads over HTTP(S) from blocking threads of the service's runtime (the
/// converter is synchronous and always runs on one).
pub struct HttpFetcher {
    handle: tokio::runtime::Handle,
    client: reqwest::Client,
}

impl HttpFetcher {
    /// A fetcher that runs its requests on `handle`'s runtime.
    pub fn new(handle: tokio::runtime::Handle) -> anyhow::Result<Self> {
        let client = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .connect_timeout(TIMEOUT)
            .build()?;
        Ok(HttpFetcher { handle, client })
    }

    async fn get(&self, url: &str) -> Result<String, String> {
        let mut resp = self.client.get(url).send().await.map_err(|e| {
            if e.is_timeout() {
                format!("no answer within {} s", TIMEOUT.as_secs())
            } else {
                e.to_string()
            }
        })?;
        let status = resp.status();
        if !status.is_success() {
            return Err(status
                .canonical_reason()
                .unwrap_or(status.as_str())
                .to_string());
        }
        let mut body = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(|e| e.to_string())? {
            if body.len() + chunk.len() > MAX_BYTES {
                return Err(format!("larger than {MAX_BYTES} bytes"));
            }
            body.extend_from_slice(&chunk);
        }
        String::from_utf8(body).map_err(|_| "not UTF-8 text".to_string())
    }
}

impl Fetcher for HttpFetcher {
    fn fetch(&self, url: &str) -> Result<String, String> {
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(format!("unsupported URL {url}"));
        }
        // Called from a blocking thread, never from a task: blocking on the
        // runtime's handle is allowed there.
        self.handle.block_on(self.get(url))
    }
}

/// A local mirror first, then the network.
struct MirrorFirst {
    mirror: DirFetcher,
    http: HttpFetcher,
}

impl Fetcher for MirrorFirst {
    fn fetch(&self, url: &str) -> Result<String, String> {
        self.mirror.fetch(url).or_else(|_| self.http.fetch(url))
    }
}

/// The service's TOSCA settings: HTTP (after `mirror` when given), cached;
/// `repo` is where `template_file` imports come from.
pub fn tosca_settings(
    handle: tokio::runtime::Handle,
    mirror: Option<PathBuf>,
    repo: Option<String>,
) -> anyhow::Result<ToscaSettings> {
    let http = HttpFetcher::new(handle)?;
    let fetcher: SharedFetcher = match mirror {
        Some(dir) => Arc::new(CachedFetcher::new(
            MirrorFirst {
                mirror: DirFetcher::new(dir),
                http,
            },
            CACHE_TTL,
            CACHE_ENTRIES,
        )),
        None => Arc::new(CachedFetcher::new(http, CACHE_TTL, CACHE_ENTRIES)),
    };
    Ok(ToscaSettings {
        fetcher,
        repo: repo.filter(|r| !r.trim().is_empty()),
    })
}
