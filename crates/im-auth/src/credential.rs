//! One credential ("auth item"): an ordered map of string keys to string values.
//!
//! Mirrors the Python `dict`s in grycap/im: `IM/auth.py` `Authentication.auth_list`.
//! Keys are case-sensitive and keep their first-insertion order (a repeated key
//! replaces the value in place, like a Python dict). Also holds secret masking for
//! diagnostics ([`mask_secrets`]).

use std::fmt;

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::AuthError;

/// The value written in place of a secret by [`mask_secrets`].
pub const MASK: &str = "***";

/// One auth item, e.g. `id = one; type = OpenNebula; host = server:2633; ...`.
///
/// `Debug` masks secret values (see [`is_secret_key`]); use [`Credential::as_map`]
/// to see everything.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Credential(IndexMap<String, String>);

impl Credential {
    /// An empty credential (what a garbage auth line yields).
    pub fn new() -> Self {
        Self::default()
    }

    /// The value of `key`, if present.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(String::as_str)
    }

    /// The value of `key` if present and non-empty (Python truthiness of
    /// `'key' in auth and auth['key']`).
    pub fn get_non_empty(&self, key: &str) -> Option<&str> {
        self.get(key).filter(|v| !v.is_empty())
    }

    /// Whether `key` is present (even with an empty value).
    pub fn contains_key(&self, key: &str) -> bool {
        self.0.contains_key(key)
    }

    /// The `type` value (compared case-sensitively everywhere).
    pub fn type_(&self) -> Option<&str> {
        self.get("type")
    }

    /// The `id` value (may be empty).
    pub fn id(&self) -> Option<&str> {
        self.get("id")
    }

    /// Whether this item has `type = <type_>` exactly.
    pub fn is_type(&self, type_: &str) -> bool {
        self.type_() == Some(type_)
    }

    /// Sets `key` to `value`; an existing key keeps its position. Returns the old value.
    pub fn insert(&mut self, key: impl Into<String>, value: impl Into<String>) -> Option<String> {
        self.0.insert(key.into(), value.into())
    }

    /// Removes `key`, keeping the order of the remaining keys. Returns its value.
    pub fn remove(&mut self, key: &str) -> Option<String> {
        self.0.shift_remove(key)
    }

    /// Number of keys.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the credential has no keys.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The `(key, value)` pairs in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// The underlying ordered map.
    pub fn as_map(&self) -> &IndexMap<String, String> {
        &self.0
    }

    /// Consumes the credential, returning the underlying ordered map.
    pub fn into_map(self) -> IndexMap<String, String> {
        self.0
    }

    /// Builds a credential from one JSON object, as found in a JSON auth file or the
    /// body of `POST /infrastructures/<id>/authorization`.
    ///
    /// Strings are kept; numbers and booleans are converted to their JSON text
    /// (`2633`, `1.5`, `true`); `null`, lists and nested objects are rejected with
    /// [`AuthError::Malformed`], as is a value that is not an object.
    pub fn from_json(value: &Value) -> Result<Self, AuthError> {
        let Value::Object(map) = value else {
            return Err(AuthError::Malformed(format!(
                "an auth item must be a JSON object, not {}",
                json_kind(value)
            )));
        };
        let mut cred = Credential::new();
        for (key, val) in map {
            let text = match val {
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                Value::Bool(b) => b.to_string(),
                other => {
                    return Err(AuthError::Malformed(format!(
                        "the value of '{key}' must be a string, not {}",
                        json_kind(other)
                    )));
                }
            };
            cred.insert(key.clone(), text);
        }
        Ok(cred)
    }

    /// This credential as a JSON object (all values strings).
    pub fn to_json(&self) -> Value {
        Value::Object(
            self.iter()
                .map(|(k, v)| (k.to_string(), Value::String(v.to_string())))
                .collect(),
        )
    }
}

/// A short English name of a JSON value's kind, for error messages.
pub(crate) fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(mask_secrets(self).0.iter()).finish()
    }
}

impl<K: Into<String>, V: Into<String>> FromIterator<(K, V)> for Credential {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        let mut cred = Credential::new();
        for (k, v) in iter {
            cred.insert(k, v);
        }
        cred
    }
}

impl From<IndexMap<String, String>> for Credential {
    fn from(map: IndexMap<String, String>) -> Self {
        Credential(map)
    }
}

impl<'a> IntoIterator for &'a Credential {
    type Item = (&'a String, &'a String);
    type IntoIter = indexmap::map::Iter<'a, String, String>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

/// Key names whose values are always secret.
const SECRET_KEYS: &[&str] = &[
    "password",
    "token",
    "secret",
    "private_key",
    "proxy",
    "auth_token",
    "client_secret",
    "key",
    "access_token",
    "refresh_token",
];

/// Key fragments that make any key secret (`os_password`, `app_secret`,
/// `bearer_token_command`, ...): better mask too much than leak.
const SECRET_FRAGMENTS: &[&str] = &["password", "secret", "token", "private"];

/// Whether the value of `key` is a secret that must not be shown or logged.
///
/// Case-insensitive: an exact match with `password`, `token`, `secret`,
/// `private_key`, `proxy` (a VOMS proxy holds a private key), `auth_token`,
/// `client_secret`, `key`, `access_token`, `refresh_token`, or any key containing
/// `password`, `secret`, `token` or `private`. `public_key` (a certificate) is not a
/// secret.
pub fn is_secret_key(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    SECRET_KEYS.contains(&key.as_str()) || SECRET_FRAGMENTS.iter().any(|f| key.contains(f))
}

/// A copy of `cred` with every non-empty secret value (see [`is_secret_key`])
/// replaced by [`MASK`]. Empty values stay empty (that they are empty is useful
/// to a user checking a file and reveals nothing).
pub fn mask_secrets(cred: &Credential) -> Credential {
    cred.iter()
        .map(|(k, v)| {
            if is_secret_key(k) && !v.is_empty() {
                (k.to_string(), MASK.to_string())
            } else {
                (k.to_string(), v.to_string())
            }
        })
        .collect()
}
