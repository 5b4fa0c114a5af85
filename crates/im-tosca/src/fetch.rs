//! Everything the converter reads from outside the document goes through a
//! [`Fetcher`] the caller supplies: type files that do not ship with the crate,
//! playbooks named by operation implementations, `template_file` imports and
//! Kubernetes config files. The crate itself does no network I/O.

use std::collections::HashMap;
use std::path::PathBuf;

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

impl<F: Fetcher + ?Sized> Fetcher for &F {
    fn fetch(&self, url: &str) -> Result<String, String> {
        (**self).fetch(url)
    }
}
