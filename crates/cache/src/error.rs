use fyncall_domain::Refusal;

/// Why a cache operation did not happen. Nothing is written when one is returned.
#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    /// The rules refuse the action (RULES.md); the message says why.
    #[error("{}", .0.message)]
    Refused(Refusal),
    /// No such ticket, conversation, agent or problem in the cache.
    #[error("{0}")]
    NotFound(String),
    /// The action needs a signed-in agent.
    #[error("not signed in: run `fyncall login --server URL --email EMAIL` first")]
    NotSignedIn,
    /// Input the cache cannot use; the message says what to do.
    #[error("{0}")]
    Invalid(String),
    /// The file holds something this build cannot read.
    #[error("the cache file is damaged: {0}")]
    Corrupt(String),
    /// No reading connection came free in time (`Readers`).
    #[error("the cache cannot be read now: {0}")]
    Busy(String),
    #[error("{}", db_words(.0))]
    Db(#[from] rusqlite::Error),
}

/// A database error in words; a full disk (SQLite says `SQLITE_FULL`, or
/// an I/O error when its log or shared memory cannot grow) says what to do.
fn db_words(e: &rusqlite::Error) -> String {
    match e.sqlite_error_code() {
        Some(rusqlite::ErrorCode::DiskFull) => "this computer's disk is full: free some space \
             and try again (nothing was changed; changes already queued are kept)"
            .into(),
        Some(rusqlite::ErrorCode::SystemIoFailure) => format!(
            "the cache could not write to this computer's disk ({e}; is it full?): free some \
             space and try again (nothing was changed; changes already queued are kept)"
        ),
        _ => format!("cache database error: {e}"),
    }
}

impl From<Refusal> for CacheError {
    fn from(r: Refusal) -> Self {
        CacheError::Refused(r)
    }
}

impl From<serde_json::Error> for CacheError {
    fn from(e: serde_json::Error) -> Self {
        CacheError::Corrupt(e.to_string())
    }
}

pub type Result<T, E = CacheError> = std::result::Result<T, E>;
