//! The OIDC verifier of `im serve`: the two network calls of token validation
//! (userinfo and token introspection) over HTTP, with their caches.
//!
//! Mirrors grycap/im: `IM/openid/OpenIDClient.py` (`get_openid_configuration`,
//! `get_user_info_request`, `get_token_introspection`). The decisions (expiry,
//! issuer list, audience, scopes, groups, identity, admin) are made by
//! `im_auth::validate_oidc_token`; this module only fetches:
//!
//! * the issuer's discovery document (`<issuer>/.well-known/openid-configuration`),
//!   cached for [`DISCOVERY_TTL`] once it was read successfully;
//! * `GET userinfo_endpoint` with `Authorization: Bearer <token>`;
//! * `POST introspection_endpoint` (RFC 7662) with the client id and secret as
//!   HTTP Basic credentials and `token=<token>&token_type_hint=access_token`.
//!
//! Every call has a [`TIMEOUT`] (the reference's 10 s) and reads at most
//! [`MAX_BODY`] bytes. Positive answers (a userinfo object, an `active: true`
//! introspection) are kept for at most [`ANSWER_TTL`] and never past the
//! token's `exp`, keyed by a SHA-256 of the token (the cache holds no token),
//! in a cache of at most [`MAX_ANSWERS`] entries; failures are never cached.
//! Requests that need the same answer while it is being asked for (a client
//! firing many calls with a new token) share that one call and its outcome.
//! Only the issuers of `OIDC_ISSUERS` are ever contacted, and tokens are never
//! logged.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use im_auth::{BoxFuture, OidcSettings, OidcVerifier};
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HeaderValue};
use serde_json::Value;
use sha2::{Digest, Sha256};
use tokio::sync::watch;

/// Time allowed for each call to the provider, connection and body included
/// (the reference's `OpenIDClient.DEFAULT_TIMEOUT`).
pub const TIMEOUT: Duration = Duration::from_secs(10);
/// How long a discovery document is reused.
pub const DISCOVERY_TTL: Duration = Duration::from_secs(3600);
/// How long a positive userinfo or introspection answer is reused at most.
pub const ANSWER_TTL: Duration = Duration::from_secs(60);
/// How many positive answers are kept at most.
pub const MAX_ANSWERS: usize = 4096;
/// The largest answer read from a provider.
pub const MAX_BODY: usize = 1 << 20;
/// How much of an error answer is quoted in the message.
const MAX_QUOTED: usize = 1000;

/// The endpoints read from an issuer's discovery document.
#[derive(Clone)]
struct Endpoints {
    fetched: Instant,
    userinfo: Option<String>,
    introspection: Option<String>,
}

/// Which call an answer came from (part of the cache key).
#[derive(Clone, Copy)]
enum Kind {
    UserInfo,
    Introspection,
}

/// Positive answers by a hash of (kind, issuer, client id, token).
#[derive(Default)]
struct AnswerCache {
    entries: HashMap<[u8; 32], (Instant, Value)>,
}

impl AnswerCache {
    fn get(&self, key: &[u8; 32], now: Instant) -> Option<Value> {
        self.entries
            .get(key)
            .filter(|(until, _)| *until > now)
            .map(|(_, v)| v.clone())
    }

    /// Inserts, first dropping expired entries and then, if still full, the
    /// entry that would expire first.
    fn insert(&mut self, key: [u8; 32], until: Instant, value: Value, now: Instant) {
        if self.entries.len() >= MAX_ANSWERS && !self.entries.contains_key(&key) {
            self.entries.retain(|_, (u, _)| *u > now);
            if self.entries.len() >= MAX_ANSWERS
                && let Some(first) = self
                    .entries
                    .iter()
                    .min_by_key(|(_, (u, _))| *u)
                    .map(|(k, _)| *k)
            {
                self.entries.remove(&first);
            }
        }
        self.entries.insert(key, (until, value));
    }
}

/// The [`OidcVerifier`] of the service: HTTP calls to the configured issuers.
pub struct HttpOidcVerifier {
    client: reqwest::Client,
    /// `OIDC_ISSUERS`: the only providers contacted.
    issuers: Vec<String>,
    discovery: Mutex<HashMap<String, Endpoints>>,
    answers: Mutex<AnswerCache>,
    /// Calls to the provider in flight, by answer key: concurrent requests
    /// with the same new token share one call instead of each asking.
    flights: Mutex<HashMap<[u8; 32], Flight>>,
}

/// The outcome of a call in flight, once it is known.
type Flight = watch::Receiver<Option<Result<Value, String>>>;

/// Removes a flight when its leader ends, finished or dropped halfway (its
/// followers then ask the provider themselves).
struct Landing<'a> {
    flights: &'a Mutex<HashMap<[u8; 32], Flight>>,
    key: [u8; 32],
}

impl Drop for Landing<'_> {
    fn drop(&mut self) {
        lock(self.flights).remove(&self.key);
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The innermost cause of an error (reqwest's own text names the URL, which
/// the messages here already show).
fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut last: &(dyn std::error::Error + 'static) = e;
    while let Some(s) = last.source() {
        last = s;
    }
    last.to_string()
}

/// A text quoted in a message: at most [`MAX_QUOTED`] characters.
fn quoted(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    match text.char_indices().nth(MAX_QUOTED) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text.into_owned(),
    }
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// How long an answer about `token` may be reused: [`ANSWER_TTL`], never past
/// the token's `exp` nor past `answer_exp` (an introspection's `exp`); `None`
/// when not at all.
fn reuse_for(token: &str, answer_exp: Option<i64>) -> Option<Duration> {
    let now = unix_now();
    let mut secs = im_auth::check_token_expiry(token, now).ok()?;
    if let Some(exp) = answer_exp {
        secs = secs.min(exp.saturating_sub(now));
    }
    let secs = u64::try_from(secs).ok().filter(|s| *s > 0)?;
    Some(ANSWER_TTL.min(Duration::from_secs(secs)))
}

fn cache_key(kind: Kind, issuer: &str, client_id: &str, token: &str) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(match kind {
        Kind::UserInfo => b"userinfo\0".as_slice(),
        Kind::Introspection => b"introspection\0".as_slice(),
    });
    for part in [issuer, client_id, token] {
        h.update(part.as_bytes());
        h.update([0u8]);
    }
    h.finalize().into()
}

impl HttpOidcVerifier {
    /// A verifier for the issuers of `settings`.
    pub fn new(settings: &OidcSettings) -> Result<Self, reqwest::Error> {
        // IM-compat: the provider's TLS certificate is always verified (the
        // reference does not unless `VERIFI_SSL`): its answer decides who the
        // user is.
        let client = reqwest::Client::builder()
            .user_agent(concat!("im/", env!("CARGO_PKG_VERSION")))
            .timeout(TIMEOUT)
            .connect_timeout(TIMEOUT)
            .build()?;
        Ok(HttpOidcVerifier {
            client,
            issuers: settings.issuers.clone(),
            discovery: Mutex::new(HashMap::new()),
            answers: Mutex::new(AnswerCache::default()),
            flights: Mutex::new(HashMap::new()),
        })
    }

    /// Refuses issuers that are not configured, so a token cannot make the
    /// service call an address of its choosing.
    // IM-compat: the reference asks userinfo of the token's own `iss` after an
    // introspection, whatever it is.
    fn check_issuer(&self, issuer: &str) -> Result<(), String> {
        if self.issuers.iter().any(|i| i == issuer) {
            Ok(())
        } else {
            Err(format!("Issuer {issuer} is not in OIDC_ISSUERS"))
        }
    }

    /// Sends a request and reads its JSON answer: `Code: <status>. Message:
    /// <body>.` for a non-200 answer (the reference's words), a clear message
    /// for a timeout, an unreachable provider or an answer that is not JSON.
    async fn call(&self, req: reqwest::RequestBuilder, what: &str) -> Result<Value, String> {
        let failed = |e: reqwest::Error| {
            if e.is_timeout() {
                format!(
                    "The OIDC provider did not answer in {} s ({what})",
                    TIMEOUT.as_secs()
                )
            } else if e.is_connect() {
                format!(
                    "Cannot connect to the OIDC provider ({what}): {}",
                    root_cause(&e)
                )
            } else {
                format!(
                    "Error calling the OIDC provider ({what}): {}",
                    root_cause(&e)
                )
            }
        };
        let mut resp = req.send().await.map_err(failed)?;
        let status = resp.status();
        let mut body = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(failed)? {
            if body.len() + chunk.len() > MAX_BODY {
                return Err(format!(
                    "The answer of the OIDC provider ({what}) is larger than {MAX_BODY} bytes"
                ));
            }
            body.extend_from_slice(&chunk);
        }
        if status != reqwest::StatusCode::OK {
            tracing::warn!("OIDC provider answered {} to {what}", status.as_u16());
            return Err(format!(
                "Code: {}. Message: {}.",
                status.as_u16(),
                quoted(&body)
            ));
        }
        serde_json::from_slice(&body)
            .map_err(|e| format!("The OIDC provider's answer ({what}) is not JSON: {e}"))
    }

    /// The endpoints of `issuer`, from the cache or its discovery document.
    async fn endpoints(&self, issuer: &str) -> Result<Endpoints, String> {
        if let Some(e) = lock(&self.discovery).get(issuer)
            && e.fetched.elapsed() < DISCOVERY_TTL
        {
            return Ok(e.clone());
        }
        // IM-compat: a trailing `/` of the issuer is not doubled (OpenID
        // Connect Discovery 1.0 §4); the reference appends the path as is.
        let url = format!(
            "{}/.well-known/openid-configuration",
            issuer.trim_end_matches('/')
        );
        // IM-compat: a failed discovery is named; the reference then fails with
        // the text of a `KeyError` (`'userinfo_endpoint'`).
        let doc = self
            .call(self.client.get(&url), &format!("GET {url}"))
            .await
            .map_err(|e| format!("Error getting the OIDC configuration of {issuer}: {e}"))?;
        let Some(doc) = doc.as_object() else {
            return Err(format!(
                "The OIDC configuration of {issuer} is not a JSON object"
            ));
        };
        let endpoint = |name: &str| doc.get(name).and_then(Value::as_str).map(str::to_string);
        // IM-compat: cached for DISCOVERY_TTL even when one endpoint is missing;
        // the reference caches for ever, and only documents with both.
        let found = Endpoints {
            fetched: Instant::now(),
            userinfo: endpoint("userinfo_endpoint"),
            introspection: endpoint("introspection_endpoint"),
        };
        lock(&self.discovery).insert(issuer.to_string(), found.clone());
        Ok(found)
    }

    /// Runs `fetch` for `key` unless a call for the same key is in flight,
    /// and then waits for that call's outcome instead (success or failure:
    /// shared, not cached).
    async fn single_flight(
        &self,
        key: [u8; 32],
        fetch: impl Future<Output = Result<Value, String>>,
    ) -> Result<Value, String> {
        let follow = {
            let mut flights = lock(&self.flights);
            match flights.get(&key) {
                Some(rx) => Err(rx.clone()),
                None => {
                    let (tx, rx) = watch::channel(None);
                    flights.insert(key, rx);
                    Ok(tx)
                }
            }
        };
        match follow {
            Ok(tx) => {
                let _landing = Landing {
                    flights: &self.flights,
                    key,
                };
                let outcome = fetch.await;
                let _ = tx.send(Some(outcome.clone()));
                outcome
            }
            Err(mut rx) => {
                let shared = match rx.wait_for(Option::is_some).await {
                    Ok(v) => v.clone(),
                    Err(_) => None,
                };
                match shared {
                    Some(outcome) => outcome,
                    // The leader went away before it knew: ask ourselves.
                    None => fetch.await,
                }
            }
        }
    }

    async fn fetch_user_info(&self, token: &str, issuer: &str) -> Result<Value, String> {
        self.check_issuer(issuer)?;
        // IM-compat: positive answers are reused (ANSWER_TTL); the reference
        // asks the provider on every request.
        let key = cache_key(Kind::UserInfo, issuer, "", token);
        if let Some(v) = lock(&self.answers).get(&key, Instant::now()) {
            tracing::debug!("OIDC userinfo of {issuer}: reused");
            return Ok(v);
        }
        self.single_flight(key, self.ask_user_info(key, token, issuer))
            .await
    }

    async fn ask_user_info(
        &self,
        key: [u8; 32],
        token: &str,
        issuer: &str,
    ) -> Result<Value, String> {
        let url = self.endpoints(issuer).await?.userinfo.ok_or_else(|| {
            format!("The OIDC configuration of {issuer} has no userinfo_endpoint")
        })?;
        let bearer = HeaderValue::from_str(&format!("Bearer {token}"))
            .map_err(|_| "The OIDC token cannot be sent in an HTTP header".to_string())?;
        let info = self
            .call(
                self.client.get(&url).header(AUTHORIZATION, bearer),
                &format!("GET {url}"),
            )
            .await?;
        if !info.is_object() {
            return Err(format!(
                "The userinfo answer of {issuer} is not a JSON object"
            ));
        }
        if let Some(ttl) = reuse_for(token, None) {
            let now = Instant::now();
            lock(&self.answers).insert(key, now + ttl, info.clone(), now);
        }
        Ok(info)
    }

    async fn fetch_introspection(
        &self,
        token: &str,
        issuer: &str,
        client_id: &str,
        client_secret: &str,
    ) -> Result<Value, String> {
        self.check_issuer(issuer)?;
        let key = cache_key(Kind::Introspection, issuer, client_id, token);
        if let Some(v) = lock(&self.answers).get(&key, Instant::now()) {
            tracing::debug!("OIDC introspection at {issuer}: reused");
            return Ok(v);
        }
        self.single_flight(
            key,
            self.ask_introspection(key, token, issuer, client_id, client_secret),
        )
        .await
    }

    async fn ask_introspection(
        &self,
        key: [u8; 32],
        token: &str,
        issuer: &str,
        client_id: &str,
        client_secret: &str,
    ) -> Result<Value, String> {
        let url = self.endpoints(issuer).await?.introspection.ok_or_else(|| {
            format!("The OIDC configuration of {issuer} has no introspection_endpoint")
        })?;
        let form = form_urlencoded::Serializer::new(String::new())
            .append_pair("token", token)
            .append_pair("token_type_hint", "access_token")
            .finish();
        let answer = self
            .call(
                self.client
                    .post(&url)
                    .basic_auth(client_id, Some(client_secret))
                    .header(
                        CONTENT_TYPE,
                        HeaderValue::from_static("application/x-www-form-urlencoded"),
                    )
                    .body(form),
                &format!("POST {url}"),
            )
            .await?;
        if answer.get("active") == Some(&Value::Bool(true)) {
            let answer_exp = answer.get("exp").and_then(Value::as_i64);
            if let Some(ttl) = reuse_for(token, answer_exp) {
                let now = Instant::now();
                lock(&self.answers).insert(key, now + ttl, answer.clone(), now);
            }
        }
        Ok(answer)
    }
}

impl OidcVerifier for HttpOidcVerifier {
    fn user_info<'a>(
        &'a self,
        token: &'a str,
        issuer: &'a str,
    ) -> BoxFuture<'a, Result<Value, String>> {
        Box::pin(self.fetch_user_info(token, issuer))
    }

    fn introspect<'a>(
        &'a self,
        token: &'a str,
        issuer: &'a str,
        client_id: &'a str,
        client_secret: &'a str,
    ) -> BoxFuture<'a, Result<Value, String>> {
        Box::pin(self.fetch_introspection(token, issuer, client_id, client_secret))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_answer_cache_drops_the_entry_that_expires_first() {
        let now = Instant::now();
        let mut cache = AnswerCache::default();
        for i in 0..MAX_ANSWERS {
            let mut key = [0u8; 32];
            key[..8].copy_from_slice(&(i as u64).to_le_bytes());
            let until = now + Duration::from_secs(10 + i as u64);
            cache.insert(key, until, Value::from(i), now);
        }
        let newcomer = [0xff; 32];
        cache.insert(
            newcomer,
            now + Duration::from_secs(5),
            Value::from("new"),
            now,
        );
        assert_eq!(cache.entries.len(), MAX_ANSWERS);
        assert_eq!(cache.get(&newcomer, now), Some(Value::from("new")));
        assert_eq!(cache.get(&[0u8; 32], now), None, "the first to expire left");
    }

    #[test]
    fn an_expired_answer_is_not_reused() {
        let now = Instant::now();
        let mut cache = AnswerCache::default();
        cache.insert([1; 32], now + Duration::from_secs(1), Value::Null, now);
        assert_eq!(cache.get(&[1; 32], now + Duration::from_secs(2)), None);
    }

    #[test]
    fn cache_keys_differ_by_kind_issuer_client_and_token() {
        let base = cache_key(Kind::UserInfo, "https://i", "", "t");
        assert_ne!(base, cache_key(Kind::Introspection, "https://i", "", "t"));
        assert_ne!(base, cache_key(Kind::UserInfo, "https://j", "", "t"));
        assert_ne!(base, cache_key(Kind::UserInfo, "https://i", "c", "t"));
        assert_ne!(base, cache_key(Kind::UserInfo, "https://i", "", "u"));
        assert_ne!(
            cache_key(Kind::UserInfo, "ab", "", "c"),
            cache_key(Kind::UserInfo, "a", "", "bc")
        );
    }
}
