//! IM authorization data.
//!
//! What a client sends to prove who it is and which clouds it may use, in the
//! formats of the Infrastructure Manager 2.0 (spec `radl-auth.md` PART 2 and
//! `rest-api.md` §3):
//!
//! * [`parse_auth_file`] / [`parse_auth_header`] read the auth-file grammar (one
//!   credential per line, or a JSON list) and the HTTP `Authorization` header;
//!   [`build_auth_header`] writes the header as the Python `im_client` does.
//! * [`AuthData`] is the list of [`Credential`]s of a request with valid `id`s; it
//!   derives the cloud list ([`CloudInfo`]) and picks the credentials of a cloud.
//! * [`check_auth_data`] validates the `InfrastructureManager` items into
//!   [`ImUser`]s (user/password, `USER_DB`, admins, OIDC tokens through an
//!   [`OidcVerifier`] supplied by the server), and [`is_authorized`] is the
//!   ownership rule.
//! * [`mask_secrets`] and [`describe`] support diagnostics without leaking secrets.
//!
//! The crate does no I/O. Deliberate differences from the reference are marked
//! `IM-compat deviation` in the code:
//!
//! * `file(PATH)` values are kept literally, never read from the server's disk.
//! * JSON auth data that is not a list of objects is [`AuthError::Malformed`]
//!   (the reference crashes later); number and boolean values become their JSON
//!   text, `null`/list/object values are rejected.
//! * A malformed `Basic` header is treated like a well-formed one (an auth line, so
//!   no IM credentials) instead of a 500; a bad `id` and an undecodable token in a
//!   Vault `#USER_SUB#` path are malformed data (400) instead of a 500.
//! * OIDC: cases where the reference crashes (list `aud`, introspection answer
//!   without `iss`, `OIDC_GROUPS` with introspection, failing second userinfo call,
//!   groups claim of an odd type, no `iss`) get a defined answer.
//! * Token decode errors keep the reference's prefix but do not echo token bytes.
//! * A port too large for an `i64` counts as an invalid port (`-1`).
//!
//! ```
//! use im_auth::{AuthData, parse_auth_header};
//!
//! let header = r"type = InfrastructureManager; username = user; password = pass\nid = one; type = OpenNebula; host = server:2633; username = u; password = p";
//! let auth = parse_auth_header(header)?.into_auth_data(None)?;
//! assert_eq!(auth.im_credentials().len(), 1);
//! let clouds = auth.clouds();
//! assert_eq!((clouds[0].id.as_str(), clouds[0].server.as_str(), clouds[0].port), ("one", "server", 2633));
//! # Ok::<(), im_auth::AuthError>(())
//! ```

mod auth_data;
mod cloud;
mod credential;
mod error;
mod identity;
mod jwt;
mod parse;
mod py;

pub use auth_data::{AuthData, IM_TYPE, describe, validate_id, validate_ids};
pub use cloud::{
    CloudInfo, CredentialSelection, KNOWN_CLOUD_TYPES, NON_CLOUD_TYPES, cloud_list,
    validate_cloud_type,
};
pub use credential::{Credential, MASK, is_secret_key, mask_secrets};
pub use error::AuthError;
pub use identity::{
    AdminUser, AuthSettings, BoxFuture, ImUser, OPENID_USER_PREFIX, OidcAdminGroup, OidcIdentity,
    OidcSettings, OidcVerifier, UserDb, check_auth_data, check_im_credential, check_user_password,
    derive_oidc_identity, is_authorized, validate_oidc_token,
};
pub use jwt::{check_claims_expiry, check_token_expiry, decode_jwt_payload};
pub use parse::{
    AuthHeader, LINE_SEPARATOR, NEWLINE_IN_VALUE, VaultSettings, build_auth_header,
    credentials_from_json, parse_auth_file, parse_auth_header, parse_auth_line, parse_auth_lines,
};
