//! The validated list of auth items of one request.
//!
//! Mirrors grycap/im: `IM/auth.py` `Authentication` (constructor `id` check,
//! `getAuthInfo`, `getAuthInfoByID`, `delAuthInfo`) and the cloud-related helpers
//! of `IM/CloudInfo.py`.

use std::sync::LazyLock;

use regex::Regex;
use serde_json::{Value, json};

use crate::cloud::{CloudInfo, CredentialSelection, cloud_list};
use crate::{AuthError, Credential, mask_secrets};

/// The type of IM identity items.
pub const IM_TYPE: &str = "InfrastructureManager";

/// `[a-zA-Z_.][\w\d_.-]*` as a full match, with Python's Unicode `\w`
/// (letters and numbers of every script, and `_`).
static ID_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\A[a-zA-Z_.][\p{L}\p{N}_.\-]*\z").expect("the id pattern is a valid regex")
});

/// Checks the `id` rule: an empty id is allowed; a non-empty one must fully match
/// `[a-zA-Z_.][\w.-]*` (`\w` as in Python: Unicode letters and numbers and `_`),
/// else `Incorrect value in auth item id: <id>`.
pub fn validate_id(id: &str) -> Result<(), AuthError> {
    if id.is_empty() {
        return Ok(());
    }
    if ID_RE.is_match(id) {
        Ok(())
    } else {
        Err(AuthError::InvalidId(id.to_string()))
    }
}

/// Checks the `id` of every item (the reference's `Authentication` constructor).
pub fn validate_ids(items: &[Credential]) -> Result<(), AuthError> {
    items
        .iter()
        .filter_map(Credential::id)
        .try_for_each(validate_id)
}

/// The auth items of a request, with valid ids.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AuthData {
    items: Vec<Credential>,
}

impl AuthData {
    /// Wraps `items` after checking every `id` ([`validate_id`]).
    pub fn new(items: Vec<Credential>) -> Result<Self, AuthError> {
        validate_ids(&items)?;
        Ok(AuthData { items })
    }

    /// All items, in order.
    pub fn items(&self) -> &[Credential] {
        &self.items
    }

    /// Consumes the data, returning the items.
    pub fn into_items(self) -> Vec<Credential> {
        self.items
    }

    /// The `InfrastructureManager` items (type compared case-sensitively).
    pub fn im_credentials(&self) -> Vec<&Credential> {
        self.get_auth_by_type(IM_TYPE)
    }

    /// `getAuthInfo(type)`: every item with that `type`, in order.
    pub fn get_auth_by_type(&self, type_: &str) -> Vec<&Credential> {
        self.items.iter().filter(|c| c.is_type(type_)).collect()
    }

    /// `getAuthInfo(type, host)`: the items of that type whose `host` contains
    /// `host` as a substring; every item of the type when `host` is empty.
    pub fn get_auth_by_type_and_host(&self, type_: &str, host: &str) -> Vec<&Credential> {
        if host.is_empty() {
            return self.get_auth_by_type(type_);
        }
        self.items
            .iter()
            .filter(|c| c.is_type(type_) && c.get("host").is_some_and(|h| h.contains(host)))
            .collect()
    }

    /// `getAuthInfoByID(id)`: every item with that `id`.
    pub fn get_auth_by_id(&self, id: &str) -> Vec<&Credential> {
        self.items.iter().filter(|c| c.id() == Some(id)).collect()
    }

    /// `delAuthInfo(type, host)`: removes the first item of that type (whose `host`
    /// contains `host`, when non-empty). Returns it.
    pub fn remove_auth(&mut self, type_: &str, host: &str) -> Option<Credential> {
        let position = self.items.iter().position(|c| {
            c.is_type(type_) && (host.is_empty() || c.get("host").is_some_and(|h| h.contains(host)))
        })?;
        Some(self.items.remove(position))
    }

    /// Appends an item after checking its `id`.
    pub fn push(&mut self, item: Credential) -> Result<(), AuthError> {
        validate_ids(std::slice::from_ref(&item))?;
        self.items.push(item);
        Ok(())
    }

    /// `CloudInfo.get_cloud_list`: the cloud descriptors of the items.
    pub fn clouds(&self) -> Vec<CloudInfo> {
        cloud_list(&self.items)
    }

    /// The candidate credentials for `cloud`, in order, following its connector's
    /// rule ([`CredentialSelection::for_type`]). Connectors use the first one
    /// (OpenStack filters further by `auth_version`, tenant or domain).
    pub fn credentials_for_cloud(&self, cloud: &CloudInfo) -> Vec<&Credential> {
        match CredentialSelection::for_type(&cloud.type_) {
            CredentialSelection::TypeOnly => self.get_auth_by_type(&cloud.type_),
            CredentialSelection::HostSubstring => {
                self.get_auth_by_type_and_host(&cloud.type_, &cloud.server)
            }
            CredentialSelection::HostSubstringOrAny => {
                let matching = self.get_auth_by_type_and_host(&cloud.type_, &cloud.server);
                if matching.is_empty() {
                    self.get_auth_by_type(&cloud.type_)
                } else {
                    matching
                }
            }
        }
    }

    /// The first of [`AuthData::credentials_for_cloud`].
    pub fn credential_for_cloud(&self, cloud: &CloudInfo) -> Option<&Credential> {
        self.credentials_for_cloud(cloud).into_iter().next()
    }
}

/// A JSON summary of parsed auth items, in the shape of the project's auth oracle
/// (`shared/oracle/auth_oracle.py`): `{"items": [...], "valid_ids": bool,
/// "id_error": "..."}` when an id is invalid, else `{"items", "valid_ids": true,
/// "clouds": [...]}`. With `mask`, secret values are replaced by `***`
/// ([`mask_secrets`]); used by `im auth check FILE`.
pub fn describe(items: &[Credential], mask: bool) -> Value {
    let shown: Vec<Value> = items
        .iter()
        .map(|c| {
            if mask {
                mask_secrets(c).to_json()
            } else {
                c.to_json()
            }
        })
        .collect();
    match validate_ids(items) {
        Err(err) => json!({"items": shown, "valid_ids": false, "id_error": err.to_string()}),
        Ok(()) => {
            let clouds: Vec<Value> = cloud_list(items)
                .iter()
                .map(|c| serde_json::to_value(c).unwrap_or(Value::Null))
                .collect();
            json!({"items": shown, "valid_ids": true, "clouds": clouds})
        }
    }
}
