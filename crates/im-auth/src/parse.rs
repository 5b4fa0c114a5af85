//! The auth-file and `Authorization`-header grammar (spec `radl-auth.md` A2, A3).
//!
//! Mirrors grycap/im: `IM/auth.py` `Authentication.split_line` / `read_auth_data`
//! and `IM/rest/routers/__init__.py` `get_auth_header`, plus the header that the
//! Python `im_client` builds from an auth file.
//!
//! None of these functions panic, whatever the input (they are fuzzed by the
//! crate's property tests), and none of them touch the file system: a
//! `file(PATH)` value is kept literally (the reference server would read `PATH`
//! from its own disk, which discloses server files).

use serde_json::Value;

use crate::credential::json_kind;
use crate::{AuthData, AuthError, Credential, jwt, py};

/// The 2-character sequence (backslash, `n`) that separates credentials in the
/// `Authorization` header, and that stands for a newline inside a value.
pub const LINE_SEPARATOR: &str = "\\n";

/// The 3-character sequence (backslash, backslash, `n`) that stands for a newline
/// inside a header value.
pub const NEWLINE_IN_VALUE: &str = "\\\\n";

/// Splits `line` on `separator` outside `'…'` / `"…"` quotes (Python
/// `Authentication.split_line`). Quote characters are kept when `maintain_quotes`,
/// dropped otherwise. A trailing piece is dropped when it is blank and the line had
/// no quote at all.
fn split_line(line: &str, separator: char, maintain_quotes: bool) -> Vec<String> {
    let mut tokens = Vec::new();
    let mut token = String::new();
    let mut in_quotes = false;
    let mut in_dquotes = false;
    let mut has_quotes = false;
    for ch in line.chars() {
        if ch == '"' && !in_quotes {
            has_quotes = true;
            in_dquotes = !in_dquotes;
            if maintain_quotes {
                token.push(ch);
            }
        } else if ch == '\'' && !in_dquotes {
            has_quotes = true;
            in_quotes = !in_quotes;
            if maintain_quotes {
                token.push(ch);
            }
        } else if ch == separator && !in_quotes && !in_dquotes {
            tokens.push(std::mem::take(&mut token));
        } else {
            token.push(ch);
        }
    }
    if !py::strip(&token).is_empty() || has_quotes {
        tokens.push(token);
    }
    tokens
}

/// Parses one auth line (spec A2 steps 1–8). `None` for a blank line or a comment
/// (first non-blank character `#`); otherwise a credential, possibly empty.
pub fn parse_auth_line(line: &str) -> Option<Credential> {
    let line = py::strip(line);
    if line.is_empty() || line.starts_with('#') {
        return None;
    }
    let mut cred = Credential::new();
    for token in split_line(line, ';', true) {
        let key_value = split_line(&token, '=', false);
        // IM-compat: a piece that is not exactly `key=value` ends the line; the
        // pairs read so far are kept.
        let [key, value] = key_value.as_slice() else {
            break;
        };
        let value = py::strip(value).replace(LINE_SEPARATOR, "\n");
        // IM-compat deviation: the reference replaces `file(PATH)` by the content of
        // PATH on the server when readable. We never read server files.
        cred.insert(py::strip(key), value);
    }
    Some(cred)
}

/// Parses auth lines (already split), skipping blank and comment lines.
pub fn parse_auth_lines<S: AsRef<str>>(lines: &[S]) -> Vec<Credential> {
    lines
        .iter()
        .filter_map(|line| parse_auth_line(line.as_ref()))
        .collect()
}

/// Converts a parsed JSON value into credentials: it must be a list of objects
/// (see [`Credential::from_json`] for the values).
pub fn credentials_from_json(value: &Value) -> Result<Vec<Credential>, AuthError> {
    let Value::Array(items) = value else {
        return Err(AuthError::Malformed(format!(
            "JSON authorization data must be a list of objects, not {}",
            json_kind(value)
        )));
    };
    items
        .iter()
        .enumerate()
        .map(|(index, item)| {
            Credential::from_json(item).map_err(|err| match err {
                AuthError::Malformed(msg) => {
                    AuthError::Malformed(format!("item {} of the JSON list: {msg}", index + 1))
                }
                other => other,
            })
        })
        .collect()
}

/// Parses the content of an auth file (spec A2): if the whole text is JSON it must
/// be a list of objects (any other JSON value is [`AuthError::Malformed`]);
/// otherwise one credential per line (`\r\n` and `\r` count as line ends, as in
/// Python's text mode).
///
/// `file(...)` and `command(...)` values are kept literally.
pub fn parse_auth_file(text: &str) -> Result<Vec<Credential>, AuthError> {
    if let Ok(value) = serde_json::from_str::<Value>(text) {
        return credentials_from_json(&value);
    }
    let normalized = text.replace("\r\n", "\n").replace('\r', "\n");
    let lines: Vec<&str> = normalized.split('\n').collect();
    Ok(parse_auth_lines(&lines))
}

/// Server-side Vault settings (`VAULT_URL`, `VAULT_PATH`, `VAULT_MOUNT_POINT`,
/// `VAULT_ROLE`), used for `Bearer` headers.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct VaultSettings {
    /// `VAULT_URL` (the `host` of the generated `Vault` item).
    pub url: String,
    /// `VAULT_PATH`; `#USER_SUB#` is replaced by the token's `sub`.
    pub path: Option<String>,
    /// `VAULT_MOUNT_POINT`.
    pub mount_point: Option<String>,
    /// `VAULT_ROLE`.
    pub role: Option<String>,
}

/// A parsed `Authorization` header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AuthHeader {
    /// Credentials written inline (auth lines or a one-line JSON list). A `Basic …`
    /// header also lands here: the reference never honours it and parses the whole
    /// value as an auth line.
    Inline(Vec<Credential>),
    /// `Bearer <token>`. Meaningful only when the server has Vault configured (see
    /// [`AuthHeader::resolve`]); otherwise the reference parses the whole value as an
    /// auth line, which is `credentials` (normally `[{}]`: no IM credentials).
    Bearer {
        /// The token (text after `Bearer `, stripped).
        token: String,
        /// What the value yields when parsed as auth lines (no Vault).
        credentials: Vec<Credential>,
    },
}

impl AuthHeader {
    /// The credentials as the reference sees them when Vault is not configured.
    pub fn credentials(&self) -> &[Credential] {
        match self {
            AuthHeader::Inline(creds) => creds,
            AuthHeader::Bearer { credentials, .. } => credentials,
        }
    }

    /// The bearer token, if the header was `Bearer <token>`.
    pub fn bearer_token(&self) -> Option<&str> {
        match self {
            AuthHeader::Inline(_) => None,
            AuthHeader::Bearer { token, .. } => Some(token),
        }
    }

    /// The credentials of the request. With `vault` configured and a non-empty bearer
    /// token: `[{type: InfrastructureManager, token}, {type: Vault, host, token,
    /// path?, mount_point?, role?}]` (`#USER_SUB#` in the path replaced by the token's
    /// `sub`, which needs a decodable token). Otherwise [`AuthHeader::credentials`].
    pub fn resolve(self, vault: Option<&VaultSettings>) -> Result<Vec<Credential>, AuthError> {
        let (token, credentials) = match self {
            AuthHeader::Inline(creds) => return Ok(creds),
            AuthHeader::Bearer { token, credentials } => (token, credentials),
        };
        let Some(vault) = vault.filter(|v| !v.url.is_empty()) else {
            return Ok(credentials);
        };
        if token.is_empty() {
            return Ok(credentials);
        }
        let im: Credential = [("type", "InfrastructureManager"), ("token", token.as_str())]
            .into_iter()
            .collect();
        let mut vault_item: Credential = [
            ("type", "Vault"),
            ("host", vault.url.as_str()),
            ("token", token.as_str()),
        ]
        .into_iter()
        .collect();
        if let Some(path) = vault.path.as_deref().filter(|p| !p.is_empty()) {
            let path = if path.contains("#USER_SUB#") {
                let claims = jwt::decode_jwt_payload(&token)?;
                // IM-compat deviation: a token without `sub` crashes the reference
                // (`str.replace(.., None)`); here it is a decode error (400).
                let sub = claims.get("sub").filter(|s| !s.is_null()).ok_or_else(|| {
                    AuthError::TokenDecode("the token has no 'sub' claim".to_string())
                })?;
                path.replace("#USER_SUB#", &py::to_str(sub))
            } else {
                path.to_string()
            };
            vault_item.insert("path", path);
        }
        if let Some(mount_point) = vault.mount_point.as_deref().filter(|p| !p.is_empty()) {
            vault_item.insert("mount_point", mount_point);
        }
        if let Some(role) = vault.role.as_deref().filter(|p| !p.is_empty()) {
            vault_item.insert("role", role);
        }
        Ok(vec![im, vault_item])
    }

    /// [`AuthHeader::resolve`] followed by [`AuthData::new`] (the `id` check).
    pub fn into_auth_data(self, vault: Option<&VaultSettings>) -> Result<AuthData, AuthError> {
        AuthData::new(self.resolve(vault)?)
    }
}

/// Parses the value of the HTTP `Authorization` header (spec A3).
///
/// 1. An empty value is [`AuthError::NoAuthData`].
/// 2. Every `\\n` (3 characters) becomes a newline; the value is split on `\n`
///    (2 characters, quotes not respected).
/// 3. A single piece that is JSON must be a list of objects (else
///    [`AuthError::Malformed`]).
/// 4. Otherwise each piece is an auth line ([`parse_auth_line`]).
///
/// `Bearer <token>` gives [`AuthHeader::Bearer`] (with the line-parsed fallback);
/// `Basic …` is treated like the reference does for a well-formed one — as an auth
/// line (no IM credentials) — also when it is malformed (the reference answers 500).
/// The `id` rule is not checked here: see [`AuthHeader::into_auth_data`].
pub fn parse_auth_header(value: &str) -> Result<AuthHeader, AuthError> {
    if value.is_empty() {
        return Err(AuthError::NoAuthData);
    }
    let replaced = value.replace(NEWLINE_IN_VALUE, "\n");
    let lines: Vec<&str> = replaced.split(LINE_SEPARATOR).collect();
    let credentials = match lines.as_slice() {
        [single] => match serde_json::from_str::<Value>(single) {
            Ok(json) => credentials_from_json(&json)?,
            Err(_) => parse_auth_lines(&lines),
        },
        _ => parse_auth_lines(&lines),
    };
    match value.strip_prefix("Bearer ") {
        Some(rest) => Ok(AuthHeader::Bearer {
            token: py::strip(rest).to_string(),
            credentials,
        }),
        None => Ok(AuthHeader::Inline(credentials)),
    }
}

/// The `Authorization` header value the Python `im_client` sends for `creds`:
/// `key = value;` for every pair (newlines in values written as `\\n`), each
/// credential followed by `\n` (so the value ends with `\n`). Values are not
/// re-quoted, exactly like `im_client` (a value containing `;` or `=` does not
/// survive the trip).
pub fn build_auth_header(creds: &[Credential]) -> String {
    let mut out = String::new();
    for cred in creds {
        for (key, value) in cred.iter() {
            out.push_str(key);
            out.push_str(" = ");
            out.push_str(&value.replace('\n', NEWLINE_IN_VALUE));
            out.push(';');
        }
        out.push_str(LINE_SEPARATOR);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_line_keeps_or_drops_quotes() {
        assert_eq!(
            split_line("a = 'x;y'; b", ';', true),
            vec!["a = 'x;y'".to_string(), " b".to_string()]
        );
        assert_eq!(split_line("a='x=y'", '=', false), vec!["a", "x=y"]);
        assert_eq!(split_line("abc=", '=', false), vec!["abc"]);
        assert_eq!(split_line("k=''", '=', false), vec!["k", ""]);
    }
}
