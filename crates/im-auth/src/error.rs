//! The error type of the crate.
//!
//! Display strings are the reference server's messages (grycap/im:
//! `IM/InfrastructureManager.py` `check_auth_data`, `check_oidc_token`;
//! `IM/auth.py`; `IM/CloudInfo.py`; `IM/rest/routers/__init__.py`), so that the REST
//! layer can put them in error bodies unchanged.
//!
//! The variants fall in two groups, told apart by [`AuthError::is_credentials_error`]:
//! * **invalid or missing credentials** (the reference's `InvaliddUserException`):
//!   the REST layer answers 401;
//! * **malformed authorization data** (bad `id`, JSON that is not a list of objects,
//!   an undecodable OIDC token, an invalid cloud type): the REST layer answers 400.

/// Everything that can go wrong while reading or validating authorization data.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    // --- malformed authorization data (400) ---
    /// An auth item has a non-empty `id` that does not fully match
    /// `[a-zA-Z_.][\w.-]*`.
    #[error("Incorrect value in auth item id: {0}")]
    InvalidId(String),
    /// The authorization data is JSON but not a list of flat objects with scalar
    /// values (the reference crashes later with a Python `TypeError`).
    #[error("Incorrect auth data: {0}")]
    Malformed(String),
    /// The payload of an OIDC token could not be decoded (base64url + JSON).
    #[error("Error trying to decode OIDC auth token: {0}")]
    TokenDecode(String),
    /// A cloud `type` longer than 15 characters or containing a `.`.
    #[error("Not valid cloud provider.")]
    InvalidCloudType,

    // --- invalid or missing credentials (401) ---
    /// No (or an empty) `Authorization` header.
    #[error("No authentication data provided")]
    NoAuthData,
    /// No item with `type = InfrastructureManager`.
    #[error("No credentials provided for the InfrastructureManager.")]
    NoImCredentials,
    /// `FORCE_OIDC_AUTH` is set and an IM item has no `token`.
    #[error("No token provided for the InfrastructureManager.")]
    TokenRequired,
    /// A user/password IM item uses the reserved `__OPENID__` username prefix.
    #[error("Invalid username used for the InfrastructureManager.")]
    ReservedUsername,
    /// The (username, password) pair is not in `USER_DB`.
    #[error("Invalid InfrastructureManager credentials")]
    InvalidUser,
    /// An IM item has neither `username` nor `token`.
    #[error("No username nor token for the InfrastructureManager.")]
    NoUsernameNorToken,
    /// The OIDC token was rejected; the payload is the reason, e.g.
    /// `OIDC auth Token expired.` or `Issuer not accepted.`.
    #[error("Invalid InfrastructureManager credentials. {0}")]
    OidcRejected(String),
}

impl AuthError {
    /// `true` for invalid or missing credentials (HTTP 401), `false` for malformed
    /// authorization data (HTTP 400).
    pub fn is_credentials_error(&self) -> bool {
        matches!(
            self,
            AuthError::NoAuthData
                | AuthError::NoImCredentials
                | AuthError::TokenRequired
                | AuthError::ReservedUsername
                | AuthError::InvalidUser
                | AuthError::NoUsernameNorToken
                | AuthError::OidcRejected(_)
        )
    }

    /// `true` for malformed authorization data (HTTP 400); the negation of
    /// [`AuthError::is_credentials_error`].
    pub fn is_malformed(&self) -> bool {
        !self.is_credentials_error()
    }
}
