//! Everything the converter reads from outside the document goes through a
//! [`Fetcher`] the caller supplies: type files that do not ship with the crate,
//! playbooks named by operation implementations, `template_file` imports and
//! Kubernetes config files. The crate itself does no network I/O.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Reads remote documents for the converter.
///
/// The service implements it with an HTTP client (a timeout and a cache, as the
/// reference's one-hour `requests_cache`); tests map URLs to local files.
pub trait Fetcher {
    /// The body of `url`, or a one-line reason why it cannot be had.
    fn fetch(&self, url: &str) -> Result<String, String>;
}

/// A fetcher that has nothing: every remote read fails. Templates that only use
/// the shipped type files and inline recipes still convert.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoFetcher;

impl Fetcher for NoFetcher {
    fn fetch(&self, url: &str) -> Result<String, String> {
        Err(format!("no access to {url} (offline)"))
    }
}

/// A fetcher over a fixed set of documents, by URL.
#[derive(Debug, Clone, Default)]
pub struct MapFetcher {
    docs: HashMap<String, String>,
}

impl MapFetcher {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds (or replaces) the document of `url`.
    pub fn insert(&mut self, url: impl Into<String>, body: impl Into<String>) {
        self.docs.insert(url.into(), body.into());
    }
}

impl Fetcher for MapFetcher {
    fn fetch(&self, url: &str) -> Result<String, String> {
        self.docs
            .get(url)
            .cloned()
            .ok_or_else(|| "Not Found".to_string())
    }
}

/// A fetcher that serves `https://HOST/PATH` from `ROOT/HOST/PATH` on disk (the
/// layout of the fixtures' `remote/` mirror).
#[derive(Debug, Clone)]
pub struct DirFetcher {
    root: PathBuf,
}

impl DirFetcher {
    /// Serves URLs from files under `root`.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        DirFetcher { root: root.into() }
    }
}

impl Fetcher for DirFetcher {
    fn fetch(&self, url: &str) -> Result<String, String> {
        let rest = url
            .strip_prefix("https://")
            .or_else(|| url.strip_prefix("http://"))
            .ok_or_else(|| "Not Found".to_string())?;
        if rest.split('/').any(|p| p == "..") {
            return Err("Not Found".into());
        }
        std::fs::read_to_string(self.root.join(rest)).map_err(|_| "Not Found".to_string())
    }
}

/// Keeps what another fetcher read for a while (the reference caches
/// downloads for an hour). Failures are not kept.
#[derive(Debug)]
pub struct CachedFetcher<F> {
    inner: F,
    ttl: Duration,
    max_entries: usize,
    cache: Mutex<HashMap<String, (Instant, String)>>,
}

impl<F: Fetcher> CachedFetcher<F> {
    /// Caches `inner`'s answers for `ttl`, at most `max_entries` documents.
    pub fn new(inner: F, ttl: Duration, max_entries: usize) -> Self {
        CachedFetcher {
            inner,
            ttl,
            max_entries,
            cache: Mutex::new(HashMap::new()),
        }
    }
}

impl<F: Fetcher> Fetcher for CachedFetcher<F> {
    fn fetch(&self, url: &str) -> Result<String, String> {
        let now = Instant::now();
        if let Ok(cache) = self.cache.lock()
            && let Some((at, body)) = cache.get(url)
            && now.duration_since(*at) < self.ttl
        {
            return Ok(body.clone());
        }
        // The lock is not held while reading: a slow download blocks no one else.
        let body = self.inner.fetch(url)?;
        if let Ok(mut cache) = self.cache.lock() {
            cache.retain(|_, (at, _)| now.duration_since(*at) < self.ttl);
            if cache.len() < self.max_entries {
                cache.insert(url.to_string(), (now, body.clone()));
            }
        }
        Ok(body)
    }
}

impl<F: Fetcher + ?Sized> Fetcher for &F {
    fn fetch(&self, url: &str) -> Result<String, String> {
        (**self).fetch(url)
    }
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use super::*;

    struct Counting<'a>(&'a Cell<usize>);

    impl Fetcher for Counting<'_> {
        fn fetch(&self, url: &str) -> Result<String, String> {
            self.0.set(self.0.get() + 1);
            if url.ends_with("missing") {
                Err("Not Found".into())
            } else {
                Ok(format!("body of {url}"))
            }
        }
    }

    #[test]
    fn the_cache_reads_a_document_once_and_failures_every_time() {
        let calls = Cell::new(0);
        let f = CachedFetcher::new(Counting(&calls), Duration::from_secs(3600), 10);
        assert_eq!(f.fetch("https://h/a").as_deref(), Ok("body of https://h/a"));
        assert_eq!(f.fetch("https://h/a").as_deref(), Ok("body of https://h/a"));
        assert_eq!(calls.get(), 1);
        assert!(f.fetch("https://h/missing").is_err());
        assert!(f.fetch("https://h/missing").is_err());
        assert_eq!(calls.get(), 3);
        let expired = CachedFetcher::new(Counting(&calls), Duration::ZERO, 10);
        let _ = expired.fetch("https://h/a");
        let _ = expired.fetch("https://h/a");
        assert_eq!(calls.get(), 5);
    }

    #[test]
    fn the_directory_fetcher_never_leaves_its_directory() {
        let f = DirFetcher::new("/nonexistent");
        assert!(f.fetch("https://h/../../etc/passwd").is_err());
        assert!(f.fetch("file:///etc/passwd").is_err());
    }
}
