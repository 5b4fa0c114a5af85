//! Request bodies (spec §2.6): RADL / JSON-RADL / TOSCA deployments chosen by
//! `Content-Type` (`parse_deployment`), the owner body of
//! `POST …/authorization` (`parse_auth`), and the import body.

use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use std::sync::Arc;

use im_core::{Deployment, Manager};
use im_radl::{parse_radl, parse_radl_json};
use im_tosca::{ParseOptions, Tosca};
use serde_json::{Value, json};

use crate::negotiate::{self, media_types, py_list_repr};

/// Python's message for bytes that are not UTF-8
/// (`'utf-8' codec can't decode byte 0xff in position 0: invalid start byte`).
pub fn utf8_error_message(bytes: &[u8], e: &std::str::Utf8Error) -> String {
    let pos = e.valid_up_to();
    let first = bytes.get(pos).copied().unwrap_or(0);
    match e.error_len() {
        None => {
            let end = bytes.len();
            if end - pos > 1 {
                format!(
                    "'utf-8' codec can't decode bytes in position {pos}-{}: unexpected end of data",
                    end - 1
                )
            } else {
                format!(
                    "'utf-8' codec can't decode byte 0x{first:02x} in position {pos}: unexpected end of data"
                )
            }
        }
        Some(_) => {
            let start_ok = matches!(first, 0xc2..=0xf4);
            let what = if start_ok {
                "invalid continuation byte"
            } else {
                "invalid start byte"
            };
            format!("'utf-8' codec can't decode byte 0x{first:02x} in position {pos}: {what}")
        }
    }
}

/// The body as UTF-8 text, or Python's decoding message.
pub fn utf8(bytes: &[u8]) -> Result<&str, String> {
    std::str::from_utf8(bytes).map_err(|e| utf8_error_message(bytes, &e))
}

/// A RADL/TOSCA request body by `Content-Type` (`parse_deployment`): empty →
/// empty RADL (any type); `application/json` → JSON RADL; a YAML type →
/// TOSCA, validated and converted (the template is kept in
/// [`Deployment::tosca`]); `text/plain`, `*/*`, `text/*` (or no type) → RADL
/// text; else 415.
pub async fn deployment(
    manager: &Manager,
    vault: Option<&im_auth::VaultSettings>,
    headers: &HeaderMap,
    raw: &[u8],
    accept: &[String],
) -> Result<Deployment, Response> {
    let mut ct = media_types(headers, &header::CONTENT_TYPE);
    if ct.is_empty() {
        ct.push("text/plain".to_string());
    }
    let bad_request = |msg: String| {
        negotiate::error(
            StatusCode::BAD_REQUEST,
            &format!("Error parsing request body: {msg}"),
            accept,
        )
    };
    // IM-compat deviation: the reference decodes outside its error guard and
    // answers 500 for a body that is not UTF-8; it is the caller's error: 400.
    let text = utf8(raw).map_err(bad_request)?;
    if text.is_empty() {
        return Ok(Deployment::default());
    }
    let has = |t: &str| ct.iter().any(|c| c == t);
    let parsed = if has("application/json") {
        parse_radl_json(text)
    } else if has("text/yaml") {
        return tosca(manager, vault, headers, text)
            .await
            .map_err(bad_request);
    } else if has("text/plain") || has("*/*") || has("text/*") {
        parse_radl(text)
    } else {
        return Err(negotiate::error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            &format!("Unsupported Media Type {}", py_list_repr(&ct)),
            accept,
        ));
    };
    parsed
        .map(Deployment::radl)
        .map_err(|e| bad_request(e.to_string()))
}

/// The token of the first `InfrastructureManager` credentials of the
/// request, which replaces `access_token()` input defaults.
fn im_token(headers: &HeaderMap, vault: Option<&im_auth::VaultSettings>) -> Option<String> {
    let value = negotiate::header_text(headers, &header::AUTHORIZATION)?;
    let auth = im_auth::parse_auth_header(&value)
        .and_then(|a| a.into_auth_data(vault))
        .ok()?;
    auth.im_credentials()
        .first()
        .and_then(|c| c.get_non_empty("token"))
        .map(str::to_string)
}

/// A TOSCA body: read, validated and converted to RADL as for a create, on a
/// blocking thread (imports and playbooks may be downloaded).
async fn tosca(
    manager: &Manager,
    vault: Option<&im_auth::VaultSettings>,
    headers: &HeaderMap,
    text: &str,
) -> Result<Deployment, String> {
    let settings = manager.tosca_settings();
    let token = im_token(headers, vault);
    let text = text.to_string();
    let work = tokio::task::spawn_blocking(move || {
        let fetcher = settings.fetcher.as_ref();
        let mut opts = ParseOptions::new(fetcher);
        opts.tosca_repo = settings.repo.as_deref();
        opts.access_token = token.as_deref();
        let tosca = Tosca::parse(&text, &opts).map_err(|e| e.to_string())?;
        let conv = tosca.to_radl(None, fetcher).map_err(|e| e.to_string())?;
        Ok(Deployment {
            radl: conv.radl,
            tosca: Some(Arc::new(tosca)),
        })
    });
    work.await
        .map_err(|e| format!("the TOSCA conversion stopped: {e}"))?
}

/// The body of `POST …/authorization` (`parse_auth`): a JSON object whose
/// `type` defaults to `InfrastructureManager`. A missing `Content-Type` means
/// JSON; one without `application/json` is a 415.
pub fn new_owner(
    headers: &HeaderMap,
    raw: &[u8],
    accept: &[String],
) -> Result<im_auth::Credential, Response> {
    let mut ct = media_types(headers, &header::CONTENT_TYPE);
    if ct.is_empty() {
        ct.push("application/json".to_string());
    }
    if !ct.iter().any(|c| c == "application/json") {
        return Err(negotiate::error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            &format!("Unsupported Media Type {}", py_list_repr(&ct)),
            accept,
        ));
    }
    let parsed = utf8(raw).and_then(|text| {
        let mut v: Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
        if let Some(o) = v.as_object_mut() {
            o.entry("type").or_insert(json!("InfrastructureManager"));
        }
        im_auth::Credential::from_json(&v).map_err(|e| e.to_string())
    });
    parsed.map_err(|e| {
        negotiate::error(
            StatusCode::BAD_REQUEST,
            &format!("Error parsing auth data: {e}"),
            accept,
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(bytes: &[u8]) -> String {
        match std::str::from_utf8(bytes) {
            Ok(_) => String::new(),
            Err(e) => utf8_error_message(bytes, &e),
        }
    }

    #[test]
    fn utf8_errors_read_as_python_writes_them() {
        assert_eq!(
            msg(b"\xff\xfe"),
            "'utf-8' codec can't decode byte 0xff in position 0: invalid start byte"
        );
        assert_eq!(
            msg(b"ab\xc3("),
            "'utf-8' codec can't decode byte 0xc3 in position 2: invalid continuation byte"
        );
        assert_eq!(
            msg(b"ab\xe2\x82"),
            "'utf-8' codec can't decode bytes in position 2-3: unexpected end of data"
        );
        assert_eq!(
            msg(b"ab\xe2"),
            "'utf-8' codec can't decode byte 0xe2 in position 2: unexpected end of data"
        );
    }
}
