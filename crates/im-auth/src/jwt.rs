//! Unverified JWT payload decoding and the expiry check.
//!
//! Mirrors grycap/im: `IM/openid/JWT.py` `JWT.get_info` and
//! `IM/openid/OpenIDClient.py` `is_access_token_expired`. As in the reference, the
//! signature is **not** verified here: the token is accepted on the strength of the
//! issuer's userinfo or introspection endpoint (see [`crate::identity`]).

use base64::Engine;
use base64::alphabet::URL_SAFE;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use serde_json::Value;

use crate::AuthError;

/// URL-safe base64 that, like Python's non-strict `a2b_base64`, ignores the
/// padding and non-zero trailing bits (padding is checked separately).
const LENIENT_URL_SAFE: GeneralPurpose = GeneralPurpose::new(
    &URL_SAFE,
    GeneralPurposeConfig::new()
        .with_decode_allow_trailing_bits(true)
        .with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Decodes one dot-separated part of a token like `JWT.b64d`.
fn decode_part(part: &str) -> Result<Vec<u8>, String> {
    let data = part.trim_end_matches('=');
    let pads = part.len() - data.len();
    // (Python's regex also lets one trailing newline through, but such a part then
    // always fails to decode, so rejecting it here gives the same outcome.)
    if !data
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        // IM-compat deviation: the reference echoes the offending bytes; we do not
        // echo token material.
        return Err("base64-encoded data contains illegal characters".to_string());
    }
    match (data.len() % 4, pads) {
        (1, 0) => return Err("incorrect padding".to_string()),
        (1, _) => {
            return Err(format!(
                "Invalid base64-encoded string: number of data characters ({}) cannot be 1 more than a multiple of 4",
                data.len()
            ));
        }
        (2, 1) => return Err("Incorrect padding".to_string()),
        _ => {}
    }
    LENIENT_URL_SAFE.decode(data).map_err(|e| e.to_string())
}

/// Decodes the payload (second part) of a JWT **without verifying its signature**,
/// as the reference does. Lenient about padding (missing or present). Every part is
/// decoded, as in the reference, so a malformed signature part also fails.
///
/// The payload can be any JSON value; the checks that need an object treat
/// anything else as an unreadable token.
///
/// Errors: [`AuthError::TokenDecode`] (`Error trying to decode OIDC auth token: …`).
pub fn decode_jwt_payload(token: &str) -> Result<Value, AuthError> {
    let mut decoded = Vec::new();
    for part in token.split('.') {
        decoded.push(decode_part(part).map_err(AuthError::TokenDecode)?);
    }
    let payload = decoded
        .get(1)
        .ok_or_else(|| AuthError::TokenDecode("list index out of range".to_string()))?;
    let text = std::str::from_utf8(payload)
        .map_err(|e| AuthError::TokenDecode(format!("'utf-8' codec can't decode payload: {e}")))?;
    serde_json::from_str(text).map_err(|e| AuthError::TokenDecode(e.to_string()))
}

/// Reads `exp` like Python's `int(decoded_token['exp'])`.
fn expiry_of(claims: &Value) -> Option<i64> {
    match claims.get("exp")? {
        Value::Number(n) => n.as_i64().or_else(|| {
            n.as_f64()
                .filter(|f| f.is_finite())
                .map(|f| f.trunc() as i64)
        }),
        Value::Bool(b) => Some(i64::from(*b)),
        Value::String(s) => {
            let s = crate::py::strip(s).replace('_', "");
            s.parse::<i64>().ok()
        }
        _ => None,
    }
}

/// The expiry check of already-decoded claims against `now` (unix seconds): the
/// number of seconds the token is still valid (0 when it expires right now).
///
/// Errors ([`AuthError::OidcRejected`]): `… OIDC auth Token expired.` when `exp` is
/// in the past, `… OIDC auth Error getting token info.` when `exp` is missing or
/// not an integer (or the claims are not an object).
pub fn check_claims_expiry(claims: &Value, now: i64) -> Result<i64, AuthError> {
    let exp = expiry_of(claims)
        .ok_or_else(|| AuthError::OidcRejected("OIDC auth Error getting token info.".into()))?;
    let validity = exp.saturating_sub(now);
    if validity < 0 {
        Err(AuthError::OidcRejected("OIDC auth Token expired.".into()))
    } else {
        Ok(validity)
    }
}

/// `is_access_token_expired` as a check: like [`check_claims_expiry`] on the decoded
/// token; an empty token gives `… OIDC auth No token specified.` and an undecodable
/// one `… OIDC auth Error getting token info.`.
pub fn check_token_expiry(token: &str, now: i64) -> Result<i64, AuthError> {
    if token.is_empty() {
        return Err(AuthError::OidcRejected(
            "OIDC auth No token specified.".into(),
        ));
    }
    let claims = decode_jwt_payload(token)
        .map_err(|_| AuthError::OidcRejected("OIDC auth Error getting token info.".into()))?;
    check_claims_expiry(&claims, now)
}
