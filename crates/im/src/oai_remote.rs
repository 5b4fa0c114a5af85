//! The OAI-PMH catalogue read from a GitHub repository, as the reference
//! reads it (`IM/oaipmh/utils.py`): the `OAIPMH_REPO_BASE_IDENTIFIER_URL`
//! names a folder of a branch (`https://github.com/OWNER/REPO/tree/BRANCH/PATH`
//! or `https://raw.githubusercontent.com/OWNER/REPO/BRANCH/PATH`), the GitHub
//! tree API lists it and each template is read raw. Every call has a timeout;
//! a complete listing is kept for an hour (the reference's `requests_cache`
//! expiry), and a failed one is not kept.

use std::sync::Arc;
use std::time::{Duration, Instant};

use im_api::{ListFuture, OaiTemplate, TemplateLister};
use serde_json::Value;
use tokio::sync::Mutex;

/// Per HTTP request.
const TIMEOUT: Duration = Duration::from_secs(30);
/// How long a listing is reused.
const CACHE_FOR: Duration = Duration::from_secs(3600);

/// Where the templates live on GitHub.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GitHubFolder {
    owner: String,
    repo: String,
    branch: String,
    /// The folder, without slashes at either end (`""`: the whole branch).
    path: String,
}

impl GitHubFolder {
    /// Reads the reference's two URL shapes; anything else is `None`.
    pub fn parse(url: &str) -> Option<GitHubFolder> {
        let rest = url
            .strip_prefix("https://")
            .or_else(|| url.strip_prefix("http://"))?;
        let (host, path) = rest.split_once('/')?;
        let parts: Vec<&str> = path.trim_end_matches('/').split('/').collect();
        let (owner, repo, branch, folder) = match host {
            "raw.githubusercontent.com" if parts.len() >= 3 => {
                (parts[0], parts[1], parts[2], &parts[3..])
            }
            "github.com" | "www.github.com" if parts.len() >= 4 => {
                (parts[0], parts[1], parts[3], &parts[4..])
            }
            _ => return None,
        };
        if [owner, repo, branch].iter().any(|p| p.is_empty()) {
            return None;
        }
        Some(GitHubFolder {
            owner: owner.into(),
            repo: repo.into(),
            branch: branch.into(),
            path: folder.join("/"),
        })
    }

    /// The blobs under the folder, from the tree API's answer, as (path in
    /// the repository, path under the folder).
    fn blobs(&self, tree: &Value) -> Result<Vec<(String, String)>, String> {
        let entries = tree
            .get("tree")
            .and_then(Value::as_array)
            .ok_or("the GitHub tree API answered without a tree")?;
        let prefix = if self.path.is_empty() {
            String::new()
        } else {
            format!("{}/", self.path)
        };
        Ok(entries
            .iter()
            .filter(|e| e.get("type").and_then(Value::as_str) == Some("blob"))
            .filter_map(|e| e.get("path").and_then(Value::as_str))
            .filter_map(|p| Some((p.to_string(), p.strip_prefix(&prefix)?.to_string())))
            // The reference also reads README files and images (and fails on
            // them); only the YAML files are templates.
            .filter(|(_, name)| name.ends_with(".yaml") || name.ends_with(".yml"))
            .collect())
    }
}

/// A [`TemplateLister`] over a GitHub folder.
pub struct GitHubLister {
    folder: Option<GitHubFolder>,
    url: String,
    client: Result<reqwest::Client, String>,
    cache: Mutex<Option<(Instant, Arc<Vec<OaiTemplate>>)>>,
}

impl GitHubLister {
    /// A lister for `OAIPMH_REPO_BASE_IDENTIFIER_URL`; a URL of another shape
    /// fails each request with a message saying so.
    pub fn new(url: &str) -> GitHubLister {
        let client = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .user_agent(concat!("im-rust/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {e}"));
        GitHubLister {
            folder: GitHubFolder::parse(url),
            url: url.to_string(),
            client,
            cache: Mutex::new(None),
        }
    }

    async fn get(&self, url: &str) -> Result<String, String> {
        let client = self.client.as_ref().map_err(String::clone)?;
        let resp = client
            .get(url)
            .send()
            .await
            .map_err(|e| format!("{url}: {e}"))?;
        let status = resp.status();
        let text = resp.text().await.map_err(|e| format!("{url}: {e}"))?;
        if status.is_success() {
            Ok(text)
        } else {
            Err(format!("{url}: HTTP {}", status.as_u16()))
        }
    }

    async fn fetch_all(&self, f: &GitHubFolder) -> Result<Vec<OaiTemplate>, String> {
        let tree_url = format!(
            "https://api.github.com/repos/{}/{}/git/trees/{}?recursive=1",
            f.owner, f.repo, f.branch
        );
        let tree: Value = serde_json::from_str(&self.get(&tree_url).await?)
            .map_err(|e| format!("{tree_url}: {e}"))?;
        let mut out = Vec::new();
        for (path, name) in f.blobs(&tree)? {
            let raw = format!(
                "https://raw.githubusercontent.com/{}/{}/{}/{path}",
                f.owner, f.repo, f.branch
            );
            out.push(OaiTemplate {
                name,
                text: self.get(&raw).await?,
            });
        }
        Ok(out)
    }
}

impl TemplateLister for GitHubLister {
    fn list(&self) -> ListFuture<'_> {
        Box::pin(async move {
            let Some(folder) = &self.folder else {
                return Err(format!(
                    "{} is not a GitHub folder URL (https://github.com/OWNER/REPO/tree/BRANCH/PATH)",
                    self.url
                ));
            };
            // One listing at a time: concurrent requests wait for it.
            let mut cache = self.cache.lock().await;
            if let Some((at, list)) = cache.as_ref()
                && at.elapsed() < CACHE_FOR
            {
                return Ok(list.as_ref().clone());
            }
            let list = Arc::new(self.fetch_all(folder).await?);
            *cache = Some((Instant::now(), list.clone()));
            Ok(list.as_ref().clone())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn both_github_url_shapes_name_the_same_folder() {
        let a =
            GitHubFolder::parse("https://github.com/grycap/tosca/blob/main/templates/").unwrap();
        let b =
            GitHubFolder::parse("https://raw.githubusercontent.com/grycap/tosca/main/templates")
                .unwrap();
        assert_eq!(a, b);
        assert_eq!(
            (
                a.owner.as_str(),
                a.repo.as_str(),
                a.branch.as_str(),
                a.path.as_str()
            ),
            ("grycap", "tosca", "main", "templates")
        );
        assert_eq!(GitHubFolder::parse("https://example.org/a/b/c/d"), None);
        assert_eq!(GitHubFolder::parse("https://github.com/grycap/tosca"), None);
    }

    #[test]
    fn only_yaml_blobs_under_the_folder_are_templates() {
        let f = GitHubFolder::parse("https://github.com/o/r/tree/main/templates").unwrap();
        let tree = json!({"tree": [
            {"path": "templates", "type": "tree"},
            {"path": "templates/a.yaml", "type": "blob"},
            {"path": "templates/sub/b.yml", "type": "blob"},
            {"path": "templates/README.md", "type": "blob"},
            {"path": "other/c.yaml", "type": "blob"},
            {"path": "templates-old/d.yaml", "type": "blob"}
        ]});
        assert_eq!(
            f.blobs(&tree).unwrap(),
            vec![
                ("templates/a.yaml".to_string(), "a.yaml".to_string()),
                ("templates/sub/b.yml".to_string(), "sub/b.yml".to_string())
            ]
        );
        assert!(f.blobs(&json!({"message": "rate limited"})).is_err());
    }
}
