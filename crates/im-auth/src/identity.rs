//! IM identity: validation of the `InfrastructureManager` items, OIDC tokens, and
//! the ownership rule (spec `radl-auth.md` A6, `rest-api.md` §3.3–3.5).
//!
//! Mirrors grycap/im: `IM/InfrastructureManager.py` (`check_auth_data`,
//! `check_im_user`, `check_oidc_token`) and `IM/InfrastructureInfo.py`
//! (`is_authorized`, `_is_authorized`).
//!
//! This module does no I/O: the server reads `USER_DB` and passes its content
//! ([`UserDb`]), and performs the two OIDC network calls (userinfo and token
//! introspection) through the [`OidcVerifier`] trait.

use std::fmt;
use std::future::Future;
use std::pin::Pin;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::jwt::{check_claims_expiry, decode_jwt_payload};
use crate::{AuthData, AuthError, Credential, py};

/// Prefix of the usernames derived from OIDC tokens; refused in user/password items.
pub const OPENID_USER_PREFIX: &str = "__OPENID__";

/// A validated IM identity: what the reference stores as an infrastructure owner
/// (the IM item after `check_auth_data`, with `admin` set).
///
/// `Debug` hides the password and the token.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImUser {
    /// The username (for OIDC users: `__OPENID__` + the user's name).
    pub username: String,
    /// The password (for OIDC users: issuer with a trailing `/` + `sub`); `None`
    /// when a user/password item had no password (allowed without `USER_DB`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    /// The OIDC token, for OIDC users.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    /// Whether the identity is an administrator (`ADMIN_USER`, `OIDC_ADMIN_GROUPS`).
    #[serde(default)]
    pub admin: bool,
}

impl fmt::Debug for ImUser {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hide = |v: &Option<String>| v.as_ref().map(|_| crate::MASK);
        f.debug_struct("ImUser")
            .field("username", &self.username)
            .field("password", &hide(&self.password))
            .field("token", &hide(&self.token))
            .field("admin", &self.admin)
            .finish()
    }
}

impl ImUser {
    /// A user/password identity (not admin).
    pub fn new(username: impl Into<String>, password: Option<String>) -> Self {
        ImUser {
            username: username.into(),
            password,
            token: None,
            admin: false,
        }
    }

    /// Whether this identity came from an OIDC token.
    pub fn is_oidc(&self) -> bool {
        self.token.is_some()
    }

    /// The identity as an IM auth item (`type`, `username`, `password`?, `token`?).
    /// `admin` is not a string and is left out.
    pub fn to_credential(&self) -> Credential {
        let mut cred = Credential::new();
        cred.insert("type", crate::IM_TYPE);
        cred.insert("username", self.username.clone());
        if let Some(password) = &self.password {
            cred.insert("password", password.clone());
        }
        if let Some(token) = &self.token {
            cred.insert("token", token.clone());
        }
        cred
    }
}

/// The ownership rule (`InfrastructureInfo.is_authorized`): `true` if, for some
/// stored owner `S` and some request identity `R`, `R` is an admin, or
/// `(S has no token or R has a token) and S.username == R.username and
/// S.password == R.password`.
///
/// As in the reference, an infrastructure without owners grants nothing, not even
/// to admins (the admin test sits inside the loop over owners).
pub fn is_authorized(owners: &[ImUser], request: &[ImUser]) -> bool {
    owners.iter().any(|owner| {
        request.iter().any(|req| {
            req.admin
                || ((owner.token.is_none() || req.token.is_some())
                    && owner.username == req.username
                    && owner.password == req.password)
        })
    })
}

/// One `ADMIN_USER` entry (a missing field matches a missing one, as Python's
/// `dict.get` comparisons do).
#[derive(Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct AdminUser {
    /// The admin's username.
    #[serde(default)]
    pub username: Option<String>,
    /// The admin's password.
    #[serde(default)]
    pub password: Option<String>,
}

impl fmt::Debug for AdminUser {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AdminUser")
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| crate::MASK))
            .finish()
    }
}

/// One `OIDC_ADMIN_GROUPS` entry: members of `group` at `issuer` are admins.
#[derive(Clone, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct OidcAdminGroup {
    /// The issuer, compared with the token's issuer *with* a trailing `/`.
    pub issuer: String,
    /// The group name.
    pub group: String,
}

/// The content of the `USER_DB` file: `{"users": [{"username": .., "password": ..}]}`.
///
/// A missing, unreadable or malformed file rejects every user (the reference
/// catches the error and answers "not found").
#[derive(Clone, PartialEq, Default)]
pub struct UserDb {
    data: Option<Value>,
}

impl fmt::Debug for UserDb {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UserDb")
            .field("available", &self.data.is_some())
            .finish_non_exhaustive()
    }
}

impl UserDb {
    /// A database that rejects everyone (the file is missing or unreadable).
    pub fn unavailable() -> Self {
        UserDb { data: None }
    }

    /// Parses the file content; text that is not JSON gives [`UserDb::unavailable`].
    pub fn from_json_text(text: &str) -> Self {
        UserDb {
            data: serde_json::from_str(text).ok(),
        }
    }

    /// Wraps already-parsed JSON.
    pub fn from_value(value: Value) -> Self {
        UserDb { data: Some(value) }
    }

    /// `check_im_user`: whether `(username, password)` is listed. Entries are
    /// scanned in order like the reference, which gives up (rejects) at the first
    /// entry that is not an object with `username` (and, once the username matches,
    /// `password`); a missing request password rejects.
    pub fn contains(&self, username: &str, password: Option<&str>) -> bool {
        let Some(Value::Array(users)) = self.data.as_ref().and_then(|d| d.get("users")) else {
            return false;
        };
        for user in users {
            let Some(user) = user.as_object() else {
                return false;
            };
            let Some(user_name) = user.get("username") else {
                return false;
            };
            if user_name.as_str() != Some(username) {
                continue;
            }
            let (Some(user_password), Some(password)) = (user.get("password"), password) else {
                return false;
            };
            if user_password.as_str() == Some(password) {
                return true;
            }
        }
        false
    }
}

/// OIDC server settings (`OIDC_*` options of `im.cfg`).
#[derive(Clone, PartialEq, Eq)]
pub struct OidcSettings {
    /// `OIDC_ISSUERS`: accepted issuers (exact `iss` values).
    pub issuers: Vec<String>,
    /// `OIDC_AUDIENCE`: required audience (empty or `None`: no check).
    pub audience: Option<String>,
    /// `OIDC_CLIENT_ID` (introspection is used when id and secret are set and there
    /// is exactly one issuer).
    pub client_id: Option<String>,
    /// `OIDC_CLIENT_SECRET`.
    pub client_secret: Option<String>,
    /// `OIDC_SCOPES`: scopes that must all be in the token's `scope`.
    pub scopes: Vec<String>,
    /// `OIDC_GROUPS`: groups the user must all belong to.
    pub groups: Vec<String>,
    /// `OIDC_GROUPS_CLAIM` (default `groups`).
    pub groups_claim: String,
    /// `OIDC_ADMIN_GROUPS`.
    pub admin_groups: Vec<OidcAdminGroup>,
}

impl Default for OidcSettings {
    fn default() -> Self {
        OidcSettings {
            issuers: Vec::new(),
            audience: None,
            client_id: None,
            client_secret: None,
            scopes: Vec::new(),
            groups: Vec::new(),
            groups_claim: "groups".to_string(),
            admin_groups: Vec::new(),
        }
    }
}

impl fmt::Debug for OidcSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OidcSettings")
            .field("issuers", &self.issuers)
            .field("audience", &self.audience)
            .field("client_id", &self.client_id)
            .field(
                "client_secret",
                &self.client_secret.as_ref().map(|_| crate::MASK),
            )
            .field("scopes", &self.scopes)
            .field("groups", &self.groups)
            .field("groups_claim", &self.groups_claim)
            .field("admin_groups", &self.admin_groups)
            .finish()
    }
}

impl OidcSettings {
    /// The introspection endpoint is used (instead of the issuer list and
    /// userinfo) when client id and secret are set and there is exactly one issuer.
    pub fn uses_introspection(&self) -> Option<(&str, &str, &str)> {
        let id = self.client_id.as_deref().filter(|s| !s.is_empty())?;
        let secret = self.client_secret.as_deref().filter(|s| !s.is_empty())?;
        match self.issuers.as_slice() {
            [issuer] => Some((issuer.as_str(), id, secret)),
            _ => None,
        }
    }
}

/// The server settings that credential validation depends on.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AuthSettings {
    /// `USER_DB`: `None` when not configured (every username is accepted).
    pub user_db: Option<UserDb>,
    /// `ADMIN_USER` (one entry or a list).
    pub admin_users: Vec<AdminUser>,
    /// `FORCE_OIDC_AUTH`: IM items must carry a token.
    pub force_oidc_auth: bool,
    /// The `OIDC_*` options.
    pub oidc: OidcSettings,
}

impl AuthSettings {
    /// Whether `(username, password)` equals an `ADMIN_USER` entry.
    pub fn is_admin_user(&self, username: Option<&str>, password: Option<&str>) -> bool {
        self.admin_users
            .iter()
            .any(|a| a.username.as_deref() == username && a.password.as_deref() == password)
    }
}

/// A boxed, `Send` future (what `#[async_trait]` would generate), so that
/// [`OidcVerifier`] stays dyn-compatible without extra dependencies.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The network side of OIDC validation, implemented by the server.
///
/// Errors are plain messages that end up in
/// `Invalid InfrastructureManager credentials. <message>.`; the reference's are
/// `Code: <status>. Message: <body>.` for a non-200 answer, or the exception text.
pub trait OidcVerifier: Send + Sync {
    /// `GET` the userinfo endpoint of `issuer` (from its
    /// `/.well-known/openid-configuration`) with `Authorization: Bearer <token>`;
    /// the JSON answer on 200.
    fn user_info<'a>(
        &'a self,
        token: &'a str,
        issuer: &'a str,
    ) -> BoxFuture<'a, Result<Value, String>>;

    /// `POST` the token to the introspection endpoint of `issuer` with HTTP Basic
    /// client credentials (`token=<token>&token_type_hint=access_token`); the JSON
    /// answer on 200.
    fn introspect<'a>(
        &'a self,
        token: &'a str,
        issuer: &'a str,
        client_id: &'a str,
        client_secret: &'a str,
    ) -> BoxFuture<'a, Result<Value, String>>;
}

/// The identity derived from a validated OIDC token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OidcIdentity {
    /// `__OPENID__` + `preferred_username` | `name` | `sub` from userinfo, else the
    /// token's `username` | `sub`.
    pub username: String,
    /// Issuer with a trailing `/`, followed by the token's `sub`.
    pub password: String,
    /// The issuer with a trailing `/`.
    pub issuer: String,
}

/// Python's `str(x)` of an optional claim (`None` when absent).
fn claim_str(value: Option<&Value>) -> String {
    py::to_str(value.unwrap_or(&Value::Null))
}

/// Derives the IM identity of an OIDC user (end of `check_oidc_token`).
///
/// `claims` are the token's claims (or the introspection answer), `userinfo` the
/// userinfo answer if any, `issuer` the token's issuer (`str(claims['iss'])`).
/// Python's `str()` rules apply: a missing `sub` gives the text `None`.
pub fn derive_oidc_identity(
    issuer: &str,
    claims: &Value,
    userinfo: Option<&Value>,
) -> OidcIdentity {
    let mut name = claim_str(claims.get("username").or_else(|| claims.get("sub")));
    if let Some(info) = userinfo.filter(|u| u.is_object() && py::truthy(u)) {
        name = claim_str(
            info.get("preferred_username")
                .or_else(|| info.get("name"))
                .or_else(|| info.get("sub")),
        );
    }
    let mut issuer = issuer.to_string();
    if !issuer.ends_with('/') {
        issuer.push('/');
    }
    OidcIdentity {
        username: format!("{OPENID_USER_PREFIX}{name}"),
        password: format!("{issuer}{}", claim_str(claims.get("sub"))),
        issuer,
    }
}

/// `decoded_token.get(claim, userinfo.get(claim, []))`.
fn groups_claim<'v>(
    claims: &'v Value,
    userinfo: Option<&'v Value>,
    claim: &str,
) -> Option<&'v Value> {
    claims
        .get(claim)
        .or_else(|| userinfo.and_then(|u| u.get(claim)))
}

fn rejected(reason: impl Into<String>) -> AuthError {
    AuthError::OidcRejected(reason.into())
}

/// Validates an OIDC token of an IM item (`check_oidc_token`) and returns the
/// derived identity (with the token and the admin flag).
///
/// Steps: decode the payload without verifying the signature
/// ([`AuthError::TokenDecode`] on failure); expiry against `now` (unix seconds);
/// then either introspection (client id+secret and exactly one issuer: must be
/// `active`) or issuer list + userinfo; then audience, scopes, groups; then the
/// identity ([`derive_oidc_identity`]) and the admin flag (`ADMIN_USER` or
/// `OIDC_ADMIN_GROUPS`).
pub async fn validate_oidc_token(
    token: &str,
    settings: &AuthSettings,
    now: i64,
    verifier: &dyn OidcVerifier,
) -> Result<ImUser, AuthError> {
    let oidc = &settings.oidc;
    let token_claims = decode_jwt_payload(token)?;
    check_claims_expiry(&token_claims, now)?;
    let token_issuer = token_claims.get("iss").and_then(Value::as_str);

    let mut userinfo: Option<Value> = None;
    let claims: Value;
    let issuer: String;
    if let Some((configured_issuer, client_id, client_secret)) = oidc.uses_introspection() {
        let answer = verifier
            .introspect(token, configured_issuer, client_id, client_secret)
            .await;
        match answer {
            Ok(answer) if answer.get("active").is_some_and(py::truthy) => claims = answer,
            _ => return Err(rejected("Invalid token or Client credentials.")),
        }
        // IM-compat deviation: the reference reads `iss` from the introspection
        // answer and crashes when it is absent (it is optional in RFC 7662); we fall
        // back to the issuer the token was introspected at.
        issuer = match claims.get("iss") {
            Some(iss) => py::to_str(iss),
            None => configured_issuer.to_string(),
        };
    } else {
        let Some(iss) = token_issuer.filter(|iss| oidc.issuers.iter().any(|i| i == iss)) else {
            return Err(rejected("Issuer not accepted."));
        };
        match verifier.user_info(token, iss).await {
            Ok(info) => userinfo = Some(info),
            Err(msg) => return Err(rejected(format!("{msg}."))),
        }
        issuer = iss.to_string();
        claims = token_claims.clone();
    }

    if let Some(audience) = oidc.audience.as_deref().filter(|a| !a.is_empty()) {
        let accepted = match claims.get("aud") {
            Some(Value::String(aud)) => aud.split(',').any(|a| a == audience),
            // IM-compat deviation: a list `aud` (allowed by RFC 7519) crashes the
            // reference; we accept it when it contains the audience.
            Some(Value::Array(auds)) => auds.iter().any(|a| a.as_str() == Some(audience)),
            _ => false,
        };
        if !accepted {
            return Err(rejected("Audience not accepted."));
        }
    }

    if !oidc.scopes.is_empty() {
        let scope = claims.get("scope").filter(|s| py::truthy(s));
        let Some(scope) = scope else {
            return Err(rejected("No scope obtained from introspection."));
        };
        let (granted, shown): (Vec<String>, String) = match scope {
            Value::String(s) => (s.split(' ').map(str::to_string).collect(), s.clone()),
            other => {
                let list = py::iter_strings(other).unwrap_or_default();
                let shown = list.join(" ");
                (list, shown)
            }
        };
        if !oidc.scopes.iter().all(|s| granted.contains(s)) {
            return Err(rejected(format!(
                "Scopes {} not in introspection scopes: {shown}",
                oidc.scopes.join(" ")
            )));
        }
    }

    if !oidc.groups.is_empty() {
        // IM-compat deviation: with introspection the reference evaluates
        // `userinfo.get(...)` on `None` and crashes; we just use the claims.
        let user_groups = groups_claim(&claims, userinfo.as_ref(), &oidc.groups_claim)
            .map_or_else(|| Some(Vec::new()), py::iter_strings)
            .unwrap_or_default();
        if !oidc.groups.iter().all(|g| user_groups.contains(g)) {
            return Err(rejected("User not in configured groups."));
        }
    }

    if !userinfo.as_ref().is_some_and(py::truthy)
        && let Some(iss) = token_issuer
    {
        // IM-compat deviation: a failure here is ignored (the reference then calls
        // `.get` on the error string and crashes).
        if let Ok(info) = verifier.user_info(token, iss).await {
            userinfo = Some(info);
        }
    }

    let identity = derive_oidc_identity(&issuer, &claims, userinfo.as_ref());
    let mut admin = settings.is_admin_user(Some(&identity.username), Some(&identity.password));
    if !admin && !oidc.admin_groups.is_empty() {
        let groups = groups_claim(&claims, userinfo.as_ref(), &oidc.groups_claim);
        admin = oidc.admin_groups.iter().any(|elem| {
            elem.issuer == identity.issuer
                && groups.is_some_and(|g| py::contains(g, &elem.group) == Some(true))
        });
    }
    Ok(ImUser {
        username: identity.username,
        password: Some(identity.password),
        token: Some(token.to_string()),
        admin,
    })
}

/// Validates a user/password IM item (the `elif "username" in im_auth_item` branch
/// of `check_auth_data`): reserved `__OPENID__` prefix, `USER_DB`, `ADMIN_USER`.
pub fn check_user_password(
    cred: &Credential,
    settings: &AuthSettings,
) -> Result<ImUser, AuthError> {
    let username = cred.get("username").ok_or(AuthError::NoUsernameNorToken)?;
    if username.starts_with(OPENID_USER_PREFIX) {
        return Err(AuthError::ReservedUsername);
    }
    let password = cred.get("password");
    if let Some(db) = &settings.user_db
        && !db.contains(username, password)
    {
        return Err(AuthError::InvalidUser);
    }
    Ok(ImUser {
        username: username.to_string(),
        password: password.map(str::to_string),
        token: None,
        admin: settings.is_admin_user(Some(username), password),
    })
}

/// Validates one IM item: `FORCE_OIDC_AUTH`, then the token (OIDC) if present,
/// else the username, else `No username nor token for the InfrastructureManager.`.
/// Also used for the body of `POST /infrastructures/<id>/authorization`.
pub async fn check_im_credential(
    cred: &Credential,
    settings: &AuthSettings,
    now: i64,
    verifier: &dyn OidcVerifier,
) -> Result<ImUser, AuthError> {
    if settings.force_oidc_auth && !cred.contains_key("token") {
        return Err(AuthError::TokenRequired);
    }
    if let Some(token) = cred.get("token") {
        validate_oidc_token(token, settings, now, verifier).await
    } else if cred.contains_key("username") {
        check_user_password(cred, settings)
    } else {
        Err(AuthError::NoUsernameNorToken)
    }
}

/// `check_auth_data` (identity part): validates every `InfrastructureManager` item
/// in order and returns their identities (the owners of a new infrastructure, or
/// the identities to test with [`is_authorized`]). No IM item is
/// `No credentials provided for the InfrastructureManager.`.
///
/// Vault, EGIIS and EGI expansion (network calls) are left to the caller.
pub async fn check_auth_data(
    auth: &AuthData,
    settings: &AuthSettings,
    now: i64,
    verifier: &dyn OidcVerifier,
) -> Result<Vec<ImUser>, AuthError> {
    let im_items = auth.im_credentials();
    if im_items.is_empty() {
        return Err(AuthError::NoImCredentials);
    }
    let mut users = Vec::with_capacity(im_items.len());
    for item in im_items {
        users.push(check_im_credential(item, settings, now, verifier).await?);
    }
    Ok(users)
}
