//! OIDC tokens against the real `im serve` and a loopback OpenID provider.
//!
//! The provider below signs its access tokens (HS256 with its own secret) and,
//! like a real one, checks signature, issuer, expiry and revocation when a
//! token comes back to its userinfo (OpenID Connect Core §5.3, errors as in
//! RFC 6750 §3.1) or introspection endpoint (RFC 7662: client authentication
//! with HTTP Basic, `{"active": false}` for a token it does not vouch for). It
//! publishes both endpoints in its discovery document (OpenID Connect Discovery
//! 1.0 §4). The IM, like the reference, does not check signatures itself: it
//! asks the provider.
//!
//! Realms of the provider behave differently: `main` and `other` are normal,
//! `broken` answers 500 on userinfo, `slow` never answers userinfo and
//! `nodisc` never answers its discovery document.

#![allow(clippy::unwrap_used)]

mod common;

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Form;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use common::{R1, Server};
use hmac::{Hmac, KeyInit, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

const CLIENT_ID: &str = "im-service";
const CLIENT_SECRET: &str = "client-s3cret";

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// The loopback OpenID provider.
struct Provider {
    base: String,
    key: Vec<u8>,
    /// Userinfo claims by `sub`.
    users: HashMap<String, Value>,
    revoked: Mutex<HashSet<String>>,
    /// Calls by "realm endpoint".
    calls: Mutex<HashMap<String, usize>>,
}

impl Provider {
    async fn start() -> Arc<Provider> {
        Self::start_on(None).await
    }

    /// The provider over HTTPS with this certificate and key, or plain HTTP.
    async fn start_on(tls: Option<(&std::path::Path, &std::path::Path)>) -> Arc<Provider> {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let scheme = if tls.is_some() { "https" } else { "http" };
        let base = format!("{scheme}://{}", listener.local_addr().unwrap());
        let mut users = HashMap::new();
        for (sub, name, groups) in [
            ("a1", "alice", json!(["im-users"])),
            ("b2", "bob", json!(["other"])),
            ("c3", "carol", json!(["im-users", "im-admins"])),
        ] {
            users.insert(
                sub.to_string(),
                json!({"sub": sub, "preferred_username": name, "name": name.to_uppercase(), "groups": groups}),
            );
        }
        let provider = Arc::new(Provider {
            base,
            key: b"the provider's signing key".to_vec(),
            users,
            revoked: Mutex::new(HashSet::new()),
            calls: Mutex::new(HashMap::new()),
        });
        let app = axum::Router::new()
            .route(
                "/realms/{realm}/.well-known/openid-configuration",
                get(discovery),
            )
            .route("/realms/{realm}/userinfo", get(userinfo))
            .route("/realms/{realm}/introspect", post(introspect))
            .with_state(provider.clone());
        match tls {
            None => {
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
            }
            Some((cert, key)) => {
                let config = axum_server::tls_rustls::RustlsConfig::from_pem_file(cert, key)
                    .await
                    .unwrap();
                let server = axum_server::from_tcp_rustls(listener, config).unwrap();
                tokio::spawn(async move { server.serve(app.into_make_service()).await.unwrap() });
            }
        }
        provider
    }

    fn issuer(&self, realm: &str) -> String {
        format!("{}/realms/{realm}", self.base)
    }

    fn count(&self, realm: &str, endpoint: &str) -> usize {
        let calls = self.calls.lock().unwrap();
        calls
            .get(&format!("{realm} {endpoint}"))
            .copied()
            .unwrap_or(0)
    }

    fn record(&self, realm: &str, endpoint: &str) {
        *self
            .calls
            .lock()
            .unwrap()
            .entry(format!("{realm} {endpoint}"))
            .or_default() += 1;
    }

    fn mac(&self) -> Hmac<Sha256> {
        <Hmac<Sha256> as KeyInit>::new_from_slice(&self.key).unwrap()
    }

    /// An access token of `realm` for `sub`, valid for `valid_for` seconds
    /// (negative: already expired), with `extra` claims on top of the usual.
    fn token(&self, realm: &str, sub: &str, valid_for: i64, extra: Value) -> String {
        let mut claims = json!({
            "iss": self.issuer(realm),
            "sub": sub,
            "aud": "im",
            "scope": "openid profile email",
            "iat": now(),
            "exp": now() + valid_for,
            "jti": format!("{sub}-{}", std::process::id()),
        });
        for (k, v) in extra.as_object().unwrap() {
            claims[k] = v.clone();
        }
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
        let payload = URL_SAFE_NO_PAD.encode(claims.to_string());
        let signed = format!("{header}.{payload}");
        let mut mac = self.mac();
        mac.update(signed.as_bytes());
        let sig = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
        format!("{signed}.{sig}")
    }

    /// The claims of a token this provider issued for `realm` and still
    /// honours (signature, issuer, expiry, not revoked).
    fn verify(&self, realm: &str, token: &str) -> Option<Value> {
        let (signed, sig) = token.rsplit_once('.')?;
        let mut mac = self.mac();
        mac.update(signed.as_bytes());
        mac.verify_slice(&URL_SAFE_NO_PAD.decode(sig).ok()?).ok()?;
        let payload = URL_SAFE_NO_PAD.decode(signed.split('.').nth(1)?).ok()?;
        let claims: Value = serde_json::from_slice(&payload).ok()?;
        let valid = claims["iss"] == self.issuer(realm)
            && claims["exp"].as_i64()? > now()
            && !self.revoked.lock().unwrap().contains(token);
        valid.then_some(claims)
    }
}

fn json_response(status: StatusCode, body: Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

async fn discovery(State(p): State<Arc<Provider>>, Path(realm): Path<String>) -> Response {
    p.record(&realm, "discovery");
    if realm == "nodisc" {
        tokio::time::sleep(Duration::from_secs(3600)).await;
    }
    let iss = p.issuer(&realm);
    json_response(
        StatusCode::OK,
        json!({
            "issuer": iss,
            "authorization_endpoint": format!("{iss}/auth"),
            "token_endpoint": format!("{iss}/token"),
            "userinfo_endpoint": format!("{iss}/userinfo"),
            "introspection_endpoint": format!("{iss}/introspect"),
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["HS256"],
        }),
    )
}

async fn userinfo(
    State(p): State<Arc<Provider>>,
    Path(realm): Path<String>,
    headers: HeaderMap,
) -> Response {
    p.record(&realm, "userinfo");
    match realm.as_str() {
        "broken" => return (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response(),
        "slow" => tokio::time::sleep(Duration::from_secs(3600)).await,
        "lagging" => tokio::time::sleep(Duration::from_millis(1000)).await,
        _ => {}
    }
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    match token.and_then(|t| p.verify(&realm, t)) {
        Some(claims) => {
            let sub = claims["sub"].as_str().unwrap_or_default();
            json_response(StatusCode::OK, p.users[sub].clone())
        }
        None => {
            let mut r = json_response(
                StatusCode::UNAUTHORIZED,
                json!({"error": "invalid_token", "error_description": "Token verification failed"}),
            );
            r.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                "Bearer error=\"invalid_token\"".parse().unwrap(),
            );
            r
        }
    }
}

async fn introspect(
    State(p): State<Arc<Provider>>,
    Path(realm): Path<String>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    p.record(&realm, "introspect");
    let client = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b| STANDARD.decode(b).ok());
    if client.as_deref() != Some(format!("{CLIENT_ID}:{CLIENT_SECRET}").as_bytes()) {
        return json_response(StatusCode::UNAUTHORIZED, json!({"error": "invalid_client"}));
    }
    let claims = form.get("token").and_then(|t| p.verify(&realm, t));
    match claims {
        Some(c) => {
            let sub = c["sub"].as_str().unwrap_or_default();
            json_response(
                StatusCode::OK,
                json!({
                    "active": true,
                    "iss": c["iss"],
                    "sub": sub,
                    "exp": c["exp"],
                    "aud": c["aud"],
                    "scope": c["scope"],
                    "client_id": CLIENT_ID,
                    "username": p.users[sub]["preferred_username"],
                    "token_type": "Bearer",
                }),
            )
        }
        None => json_response(StatusCode::OK, json!({"active": false})),
    }
}

/// The IM auth header of a token (plus the Dummy cloud).
fn auth(token: &str) -> String {
    format!(r"type = InfrastructureManager; token = {token}\nid = dummy; type = Dummy")
}

/// One request to the IM (no `Accept`: text answers); a generous timeout so that a
/// hang fails the test instead of blocking it.
async fn call(
    base: &str,
    method: &str,
    path: &str,
    auth: &str,
    body: Option<&str>,
) -> (u16, String) {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(120))
        .build()
        .unwrap();
    let mut r = client
        .request(method.parse().unwrap(), format!("{base}{path}"))
        .header("Authorization", auth);
    if let Some(b) = body {
        r = r.header("Content-Type", "text/plain").body(b.to_string());
    }
    let resp = r.send().await.unwrap();
    (resp.status().as_u16(), resp.text().await.unwrap())
}

/// Creates an infrastructure; returns its id.
async fn create(base: &str, auth: &str) -> String {
    let (status, body) = call(base, "POST", "/infrastructures", auth, Some(R1)).await;
    assert_eq!(status, 200, "{body}");
    body.trim().rsplit('/').next().unwrap().to_string()
}

fn cfg(lines: &[String]) -> String {
    lines.join("\n")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_valid_token_creates_and_lists_infrastructures_that_other_users_cannot_open() {
    let p = Provider::start().await;
    let im = Server::start(&cfg(&[format!("OIDC_ISSUERS = {}", p.issuer("main"))]));
    let alice = auth(&p.token("main", "a1", 3600, json!({})));
    let bob = auth(&p.token("main", "b2", 3600, json!({})));

    let id = create(&im.base, &alice).await;
    let (status, list) = call(&im.base, "GET", "/infrastructures", &alice, None).await;
    assert_eq!(status, 200, "{list}");
    assert!(list.contains(&id), "{list}");
    let (status, owners) = call(
        &im.base,
        "GET",
        &format!("/infrastructures/{id}/authorization"),
        &alice,
        None,
    )
    .await;
    assert_eq!((status, owners.trim()), (200, "__OPENID__alice"));

    let (status, list) = call(&im.base, "GET", "/infrastructures", &bob, None).await;
    assert_eq!(status, 200, "{list}");
    assert!(!list.contains(&id), "{list}");
    for path in [
        format!("/infrastructures/{id}/state"),
        format!("/infrastructures/{id}"),
    ] {
        let (status, body) = call(&im.base, "GET", &path, &bob, None).await;
        assert_eq!(status, 403, "{path}: {body}");
    }
    let (status, body) = call(
        &im.base,
        "DELETE",
        &format!("/infrastructures/{id}"),
        &bob,
        None,
    )
    .await;
    assert_eq!(status, 403, "{body}");

    // The derived name cannot be used with a password.
    let imposter = r"type = InfrastructureManager; username = __OPENID__alice; password = x\nid = dummy; type = Dummy";
    let (status, body) = call(
        &im.base,
        "GET",
        &format!("/infrastructures/{id}/state"),
        imposter,
        None,
    )
    .await;
    assert_eq!(
        (status, body.as_str()),
        (
            400,
            "Error Getting Inf. prop: Invalid username used for the InfrastructureManager."
        )
    );

    let (status, body) = call(
        &im.base,
        "DELETE",
        &format!("/infrastructures/{id}"),
        &alice,
        None,
    )
    .await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeated_requests_with_one_token_do_not_ask_the_provider_each_time() {
    let p = Provider::start().await;
    let im = Server::start(&cfg(&[format!("OIDC_ISSUERS = {}", p.issuer("main"))]));
    let alice = auth(&p.token("main", "a1", 3600, json!({})));
    let requests = 10;
    for _ in 0..requests {
        let (status, body) = call(&im.base, "GET", "/infrastructures", &alice, None).await;
        assert_eq!(status, 200, "{body}");
    }
    assert_eq!(
        p.count("main", "discovery"),
        1,
        "the discovery document is reused"
    );
    let userinfo = p.count("main", "userinfo");
    assert!(
        (1..requests).contains(&userinfo),
        "{userinfo} userinfo calls for {requests} requests"
    );

    // Another token is checked with the provider, and a refusal is final.
    let bob = p.token("main", "b2", 3600, json!({}));
    p.revoked.lock().unwrap().insert(bob.clone());
    let (status, body) = call(&im.base, "GET", "/infrastructures", &auth(&bob), None).await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(p.count("main", "userinfo"), userinfo + 1);
    // Refusals are not remembered: the provider is asked again.
    let (status, _) = call(&im.base, "GET", "/infrastructures", &auth(&bob), None).await;
    assert_eq!(status, 401);
    assert_eq!(p.count("main", "userinfo"), userinfo + 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_requests_with_one_new_token_share_one_call_to_the_provider() {
    // The provider takes 1 s to answer: eight requests sent at once all
    // arrive while the first call is out.
    let p = Provider::start().await;
    let im = Server::start(&cfg(&[format!("OIDC_ISSUERS = {}", p.issuer("lagging"))]));
    let alice = auth(&p.token("lagging", "a1", 3600, json!({})));
    for (status, body) in concurrent_lists(&im.base, &alice, 8).await {
        assert_eq!(status, 200, "{body}");
    }
    assert_eq!(p.count("lagging", "userinfo"), 1);
    // A refusal is shared by those waiting for it, and not kept.
    let bob = p.token("lagging", "b2", 3600, json!({}));
    p.revoked.lock().unwrap().insert(bob.clone());
    let bob = auth(&bob);
    for (status, body) in concurrent_lists(&im.base, &bob, 4).await {
        assert_eq!(status, 401, "{body}");
    }
    assert_eq!(p.count("lagging", "userinfo"), 2);
    let (status, _) = call(&im.base, "GET", "/infrastructures", &bob, None).await;
    assert_eq!(status, 401);
    assert_eq!(p.count("lagging", "userinfo"), 3);
}

/// `n` concurrent `GET /infrastructures` with this Authorization header.
async fn concurrent_lists(base: &str, auth: &str, n: usize) -> Vec<(u16, String)> {
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..n {
        let (base, auth) = (base.to_string(), auth.to_string());
        set.spawn(async move { call(&base, "GET", "/infrastructures", &auth, None).await });
    }
    set.join_all().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_forged_and_foreign_tokens_get_the_reference_answers() {
    let p = Provider::start().await;
    let im = Server::start(&cfg(&[format!("OIDC_ISSUERS = {}", p.issuer("main"))]));
    let list = |token: String| {
        let base = im.base.clone();
        async move { call(&base, "GET", "/infrastructures", &auth(&token), None).await }
    };

    let expired = p.token("main", "a1", -10, json!({}));
    assert_eq!(
        list(expired).await,
        (
            401,
            "Error Getting Inf. List: Invalid InfrastructureManager credentials. OIDC auth Token expired."
                .to_string()
        )
    );

    let foreign = p.token("other", "a1", 3600, json!({}));
    assert_eq!(
        list(foreign).await,
        (
            401,
            "Error Getting Inf. List: Invalid InfrastructureManager credentials. Issuer not accepted."
                .to_string()
        )
    );
    assert_eq!(
        p.count("other", "discovery") + p.count("other", "userinfo"),
        0
    );

    // Same claims, signature not the provider's: the provider refuses it.
    let genuine = p.token("main", "a1", 3600, json!({}));
    let (signed, _) = genuine.rsplit_once('.').unwrap();
    let forged = format!("{signed}.{}", URL_SAFE_NO_PAD.encode([7u8; 32]));
    assert_eq!(
        list(forged).await,
        (
            401,
            "Error Getting Inf. List: Invalid InfrastructureManager credentials. Code: 401. Message: {\"error\":\"invalid_token\",\"error_description\":\"Token verification failed\"}.."
                .to_string()
        )
    );

    // A token that is no JWT: 400, as in the reference.
    let (status, body) = list("abc".into()).await;
    assert_eq!(
        (status, body.as_str()),
        (
            400,
            "Error Getting Inf. List: Error trying to decode OIDC auth token: list index out of range"
        )
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_provider_that_fails_hangs_or_is_down_gives_a_clear_401() {
    let p = Provider::start().await;
    // A port nothing listens on: bound, then released.
    let down = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}/realms/down", l.local_addr().unwrap())
    };
    let issuers = [
        p.issuer("broken"),
        p.issuer("slow"),
        p.issuer("nodisc"),
        down.clone(),
    ];
    let im = Server::start(&cfg(&[format!("OIDC_ISSUERS = {}", issuers.join(","))]));
    let try_issuer = |iss: String| {
        let base = im.base.clone();
        let claims = json!({"iss": iss});
        let token = p.token("main", "a1", 3600, claims);
        async move { call(&base, "GET", "/infrastructures", &auth(&token), None).await }
    };
    let (broken, slow, nodisc, gone) = tokio::join!(
        try_issuer(issuers[0].clone()),
        try_issuer(issuers[1].clone()),
        try_issuer(issuers[2].clone()),
        try_issuer(down.clone()),
    );
    let prefix = "Error Getting Inf. List: Invalid InfrastructureManager credentials. ";
    assert_eq!(
        broken,
        (401, format!("{prefix}Code: 500. Message: internal error.."))
    );
    assert_eq!(
        slow,
        (
            401,
            format!(
                "{prefix}The OIDC provider did not answer in 10 s (GET {}/userinfo).",
                issuers[1]
            )
        )
    );
    assert_eq!(
        nodisc,
        (
            401,
            format!(
                "{prefix}Error getting the OIDC configuration of {0}: The OIDC provider did not answer in 10 s (GET {0}/.well-known/openid-configuration).",
                issuers[2]
            )
        )
    );
    assert_eq!(gone.0, 401, "{}", gone.1);
    assert!(
        gone.1.starts_with(&format!(
            "{prefix}Error getting the OIDC configuration of {down}: Cannot connect to the OIDC provider (GET {down}/.well-known/openid-configuration): "
        )),
        "{}",
        gone.1
    );
    // A failed discovery is not remembered: the next request asks again.
    let (status, _) = try_issuer(issuers[0].clone()).await;
    assert_eq!(status, 401);
    assert_eq!(
        p.count("broken", "discovery"),
        1,
        "the good document is reused"
    );
    assert_eq!(p.count("broken", "userinfo"), 2, "failures are not reused");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn groups_audience_and_admin_groups_are_enforced() {
    let p = Provider::start().await;
    let iss = p.issuer("main");
    let im = Server::start(&cfg(&[
        format!("OIDC_ISSUERS = {iss}"),
        "OIDC_AUDIENCE = im".into(),
        "OIDC_GROUPS = im-users".into(),
        format!(r#"OIDC_ADMIN_GROUPS = [{{"issuer": "{iss}/", "group": "im-admins"}}]"#),
    ]));
    let prefix = "Error Getting Inf. List: Invalid InfrastructureManager credentials. ";
    let alice = auth(&p.token("main", "a1", 3600, json!({})));
    let id = create(&im.base, &alice).await;

    let bob = auth(&p.token("main", "b2", 3600, json!({})));
    assert_eq!(
        call(&im.base, "GET", "/infrastructures", &bob, None).await,
        (401, format!("{prefix}User not in configured groups."))
    );
    let elsewhere = auth(&p.token("main", "a1", 3600, json!({"aud": "another-service"})));
    assert_eq!(
        call(&im.base, "GET", "/infrastructures", &elsewhere, None).await,
        (401, format!("{prefix}Audience not accepted."))
    );
    let several = auth(&p.token("main", "a1", 3600, json!({"aud": "another-service,im"})));
    let (status, body) = call(&im.base, "GET", "/infrastructures", &several, None).await;
    assert_eq!(status, 200, "{body}");

    // carol is in im-admins: she may open alice's infrastructure.
    let carol = auth(&p.token("main", "c3", 3600, json!({})));
    let (status, body) = call(
        &im.base,
        "GET",
        &format!("/infrastructures/{id}/state"),
        &carol,
        None,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = call(
        &im.base,
        "DELETE",
        &format!("/infrastructures/{id}"),
        &carol,
        None,
    )
    .await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_client_credentials_tokens_are_introspected_and_scopes_checked() {
    let p = Provider::start().await;
    let iss = p.issuer("main");
    let start = |secret: &str| {
        Server::start(&cfg(&[
            format!("OIDC_ISSUERS = {iss}"),
            format!("OIDC_CLIENT_ID = {CLIENT_ID}"),
            format!("OIDC_CLIENT_SECRET = {secret}"),
            "OIDC_SCOPES = openid,profile".into(),
        ]))
    };
    let im = start(CLIENT_SECRET);
    let prefix = "Error Getting Inf. List: Invalid InfrastructureManager credentials. ";

    let alice_token = p.token("main", "a1", 3600, json!({}));
    let alice = auth(&alice_token);
    let id = create(&im.base, &alice).await;
    let (status, owners) = call(
        &im.base,
        "GET",
        &format!("/infrastructures/{id}/authorization"),
        &alice,
        None,
    )
    .await;
    assert_eq!((status, owners.trim()), (200, "__OPENID__alice"));
    let introspections = p.count("main", "introspect");
    assert!(
        (1..2).contains(&introspections),
        "{introspections} for 2 requests"
    );

    let narrow = auth(&p.token("main", "a1", 3600, json!({"scope": "openid email"})));
    assert_eq!(
        call(&im.base, "GET", "/infrastructures", &narrow, None).await,
        (
            401,
            format!("{prefix}Scopes openid profile not in introspection scopes: openid email")
        )
    );

    let revoked = p.token("main", "b2", 3600, json!({}));
    p.revoked.lock().unwrap().insert(revoked.clone());
    assert_eq!(
        call(&im.base, "GET", "/infrastructures", &auth(&revoked), None).await,
        (401, format!("{prefix}Invalid token or Client credentials."))
    );

    // The same valid token with the wrong client secret.
    let wrong = start("not-the-secret");
    assert_eq!(
        call(&wrong.base, "GET", "/infrastructures", &alice, None).await,
        (401, format!("{prefix}Invalid token or Client credentials."))
    );
}

/// A certificate authority and a certificate for 127.0.0.1 it signed
/// (`openssl` on the PATH): `(ca.pem, cert.pem, key.pem)`.
fn certificates(dir: &std::path::Path) -> (PathBuf, PathBuf, PathBuf) {
    let run = |args: &[&str]| {
        let out = Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .output()
            .expect("openssl is needed to make test certificates");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    run(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "1",
        "-subj",
        "/CN=im-test-ca",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
    ]);
    run(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-subj",
        "/CN=127.0.0.1",
        "-keyout",
        "key.pem",
        "-out",
        "cert.csr",
    ]);
    std::fs::write(
        dir.join("ext"),
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n",
    )
    .unwrap();
    run(&[
        "x509",
        "-req",
        "-in",
        "cert.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-days",
        "1",
        "-out",
        "cert.pem",
        "-extfile",
        "ext",
    ]);
    (
        dir.join("ca.pem"),
        dir.join("cert.pem"),
        dir.join("key.pem"),
    )
}

/// `im serve` with extra environment variables.
fn start_with_env(cfg: &str, env: &[(&str, &std::path::Path)]) -> Server {
    let dir = tempfile::tempdir().unwrap();
    let cfg_path = dir.path().join("im.cfg");
    std::fs::write(&cfg_path, format!("[im]\n{cfg}\n")).unwrap();
    let db = format!("sqlite://{}/im.db", dir.path().display());
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_im"));
    cmd.args(["serve", "--listen", "127.0.0.1:0", "--db", &db, "--config"])
        .arg(&cfg_path)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let base = line
        .trim()
        .strip_prefix("im listening on ")
        .unwrap()
        .to_string();
    Server { child, base, dir }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_provider_certificate_is_verified_even_without_verifi_ssl() {
    let certs = tempfile::tempdir().unwrap();
    let (ca, cert, key) = certificates(certs.path());
    let p = Provider::start_on(Some((&cert, &key))).await;
    let iss = p.issuer("main");
    let cfg = format!("OIDC_ISSUERS = {iss}\nVERIFI_SSL = False");
    let alice = auth(&p.token("main", "a1", 3600, json!({})));

    // Trusted through the system store (SSL_CERT_FILE): accepted.
    let trusting = start_with_env(&cfg, &[("SSL_CERT_FILE", &ca)]);
    let id = create(&trusting.base, &alice).await;
    let (status, owners) = call(
        &trusting.base,
        "GET",
        &format!("/infrastructures/{id}/authorization"),
        &alice,
        None,
    )
    .await;
    assert_eq!((status, owners.trim()), (200, "__OPENID__alice"));

    // The system store does not vouch for it: refused, and the token was
    // never sent.
    let calls = p.count("main", "userinfo");
    let distrusting = start_with_env(&cfg, &[]);
    let (status, body) = call(&distrusting.base, "GET", "/infrastructures", &alice, None).await;
    assert_eq!(status, 401, "{body}");
    assert!(
        body.starts_with(&format!(
            "Error Getting Inf. List: Invalid InfrastructureManager credentials. Error getting the OIDC configuration of {iss}: Cannot connect to the OIDC provider (GET {iss}/.well-known/openid-configuration): "
        )) && body.contains("certificate"),
        "{body}"
    );
    assert_eq!(p.count("main", "userinfo"), calls);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_and_the_client_secret_never_reach_the_log_even_at_trace_level() {
    let p = Provider::start().await;
    let dir = tempfile::tempdir().unwrap();
    let cfg_path = dir.path().join("im.cfg");
    std::fs::write(
        &cfg_path,
        format!(
            "[im]\nLOG_LEVEL = DEBUG\nOIDC_ISSUERS = {}\nOIDC_CLIENT_ID = {CLIENT_ID}\nOIDC_CLIENT_SECRET = {CLIENT_SECRET}\n",
            p.issuer("main")
        ),
    )
    .unwrap();
    let log = dir.path().join("out.log");
    let child = Command::new(env!("CARGO_BIN_EXE_im"))
        .args(["serve", "--listen", "127.0.0.1:0", "--config"])
        .arg(&cfg_path)
        .arg("--db")
        .arg(format!("sqlite://{}/im.db", dir.path().display()))
        .env("RUST_LOG", "trace")
        .stdout(std::fs::File::create(&log).unwrap())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    // Killed on failure too.
    struct Guard(std::process::Child);
    impl Drop for Guard {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let mut child = Guard(child);
    // (Trace lines of the start-up may come before it.)
    let base = loop {
        let text = std::fs::read_to_string(&log).unwrap();
        if let Some(url) = text
            .split_inclusive('\n')
            .filter(|l| l.ends_with('\n'))
            .find_map(|l| l.trim_end().strip_prefix("im listening on "))
        {
            break url.to_string();
        }
        assert!(child.0.try_wait().unwrap().is_none(), "im serve exited");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };

    let good = p.token("main", "a1", 3600, json!({}));
    let id = create(&base, &auth(&good)).await;
    let (status, _) = call(
        &base,
        "GET",
        &format!("/infrastructures/{id}"),
        &auth(&good),
        None,
    )
    .await;
    assert_eq!(status, 200);
    let revoked = p.token("main", "b2", 3600, json!({}));
    p.revoked.lock().unwrap().insert(revoked.clone());
    let (status, _) = call(&base, "GET", "/infrastructures", &auth(&revoked), None).await;
    assert_eq!(status, 401);

    Command::new("kill")
        .args(["-TERM", &child.0.id().to_string()])
        .status()
        .unwrap();
    child.0.wait().unwrap();
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.lines().count() > 10, "trace logging is on: {text}");
    let basic = STANDARD.encode(format!("{CLIENT_ID}:{CLIENT_SECRET}"));
    for token in [&good, &revoked] {
        for (i, part) in token.split('.').enumerate().skip(1) {
            assert!(!text.contains(part), "part {i} of a token is in the log");
        }
    }
    for secret in [CLIENT_SECRET, basic.as_str()] {
        assert!(!text.contains(secret), "the client secret is in the log");
    }
}
