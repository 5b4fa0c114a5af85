//! The one error type of the core. The API maps each variant to an HTTP status
//! once (`im-api`); the `Display` texts are the reference's messages.

use im_auth::AuthError;
use im_radl::RadlError;

/// Why an operation failed.
#[derive(Debug, thiserror::Error)]
pub enum ImError {
    /// Missing or invalid IM credentials (`InvaliddUserException` in the
    /// reference: 401 on list/create/import/clouds, 400 elsewhere).
    #[error("{0}")]
    InvalidUser(String),
    /// Malformed auth data (bad `id`, undecodable token): 400.
    #[error("{0}")]
    BadAuth(String),
    /// Unknown infrastructure, or one the caller cannot see: 404.
    #[error("Invalid infrastructure ID or access not granted.")]
    IncorrectInfrastructure,
    /// The infrastructure was destroyed: 404.
    #[error("Deleted infrastructure.")]
    DeletedInfrastructure,
    /// Known infrastructure, other owner: 403.
    #[error("Access to this infrastructure not granted.")]
    UnauthorizedUser,
    /// `BOOT_MODE` forbids the operation: 403.
    #[error("Function currently disabled.")]
    DisabledFunction,
    /// Unknown VM: 404.
    #[error("Invalid VM ID")]
    IncorrectVm,
    /// Destroyed VM: 404.
    #[error("Deleted VM.")]
    DeletedVm,
    /// The infrastructure is busy in a way that forbids the operation: 409.
    #[error("Invalid State to perform this operation.")]
    IncorrectState,
    /// A RADL document failed to parse or check: 400.
    #[error("{0}")]
    Radl(#[from] RadlError),
    /// Any other failure the caller caused or must know about: 400.
    #[error("{0}")]
    Failed(String),
    /// The database failed: 503 (never the caller's fault).
    #[error("Database error: {0}")]
    Store(String),
}

impl ImError {
    /// A generic failure with a message.
    pub fn failed(msg: impl Into<String>) -> Self {
        ImError::Failed(msg.into())
    }
}

impl From<AuthError> for ImError {
    fn from(e: AuthError) -> Self {
        if e.is_credentials_error() {
            ImError::InvalidUser(e.to_string())
        } else {
            ImError::BadAuth(e.to_string())
        }
    }
}

impl From<crate::store::StoreError> for ImError {
    fn from(e: crate::store::StoreError) -> Self {
        ImError::Store(e.to_string())
    }
}
