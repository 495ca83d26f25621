use fyncall_cache::CacheError;

/// Why a sync step did not finish. Nothing queued is lost by any of them.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// No answer from the server (down, no network, timed out). Retry later.
    #[error("{0}")]
    Unreachable(String),
    /// The server failed (5xx). Retry later.
    #[error("the server failed: {0}")]
    Server(String),
    /// The token is missing, revoked or the password was wrong: sign in again.
    #[error("{0}")]
    Unauthorized(String),
    /// The server refused the request itself (not one mutation of a push);
    /// `fields` names what to fix in which field.
    #[error("{message}")]
    Refused {
        code: String,
        message: String,
        fields: std::collections::BTreeMap<String, String>,
    },
    /// Input this client cannot use.
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Cache(#[from] CacheError),
}

impl SyncError {
    /// Whether trying again later can help without the user doing anything.
    pub fn is_transient(&self) -> bool {
        matches!(self, SyncError::Unreachable(_) | SyncError::Server(_))
    }
}

pub type Result<T, E = SyncError> = std::result::Result<T, E>;
