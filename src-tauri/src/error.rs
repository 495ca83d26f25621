//! The one error shape commands return: `{code, message, refusal?}` with a
//! closed set of codes the UI branches on.

use fyncall_cache::CacheError;
use fyncall_domain::Refusal;
use fyncall_sync::SyncError;
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ts_rs::TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum IpcCode {
    /// The rules refuse it; `refusal` says why.
    Refused,
    NotFound,
    /// Sign in first.
    NotSignedIn,
    /// Input the app cannot use.
    Invalid,
    /// The server cannot be reached (the change stays queued).
    Unreachable,
    /// The sign-in was refused or expired: sign in again.
    Unauthorized,
    /// Something failed inside the app.
    Internal,
}

#[derive(Debug, Clone, PartialEq, Serialize, ts_rs::TS)]
#[ts(export)]
pub struct IpcError {
    pub code: IpcCode,
    pub message: String,
    #[ts(optional)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refusal: Option<Refusal>,
}

impl IpcError {
    pub fn new(code: IpcCode, message: impl Into<String>) -> IpcError {
        IpcError {
            code,
            message: message.into(),
            refusal: None,
        }
    }

    /// A refusal by the rules, its fields naming what to fix.
    pub fn refused(r: Refusal) -> IpcError {
        IpcError {
            code: IpcCode::Refused,
            message: r.message.clone(),
            refusal: Some(r),
        }
    }
}

impl From<CacheError> for IpcError {
    fn from(e: CacheError) -> Self {
        match e {
            CacheError::Refused(r) => IpcError {
                code: IpcCode::Refused,
                message: r.message.clone(),
                refusal: Some(r),
            },
            CacheError::NotFound(m) => IpcError::new(IpcCode::NotFound, m),
            CacheError::NotSignedIn => IpcError::new(IpcCode::NotSignedIn, "sign in first"),
            CacheError::Invalid(m) => IpcError::new(IpcCode::Invalid, m),
            other => IpcError::new(IpcCode::Internal, other.to_string()),
        }
    }
}

impl From<SyncError> for IpcError {
    fn from(e: SyncError) -> Self {
        match e {
            SyncError::Unreachable(m) | SyncError::Server(m) => {
                IpcError::new(IpcCode::Unreachable, m)
            }
            SyncError::Unauthorized(m) => IpcError::new(IpcCode::Unauthorized, m),
            // The server's refusal, its fields kept so a form can show each
            // next to its field.
            SyncError::Refused {
                code,
                message,
                fields,
            } if !fields.is_empty() || code == "forbidden" => {
                let code = if code == "forbidden" {
                    fyncall_domain::RefusalCode::Forbidden
                } else {
                    fyncall_domain::RefusalCode::Invalid
                };
                let mut r = Refusal::new(code, message);
                r.fields = fields;
                IpcError::refused(r)
            }
            SyncError::Refused { code, message, .. } if code == "not_found" => {
                IpcError::new(IpcCode::NotFound, message)
            }
            SyncError::Refused { message, .. } => IpcError::new(IpcCode::Invalid, message),
            SyncError::Invalid(m) => IpcError::new(IpcCode::Invalid, m),
            SyncError::Cache(c) => c.into(),
        }
    }
}

pub type IpcResult<T> = Result<T, IpcError>;

impl From<fyncall_signin::SigninError> for IpcError {
    fn from(e: fyncall_signin::SigninError) -> Self {
        match e {
            fyncall_signin::SigninError::Cache(c) => c.into(),
            unreadable => IpcError::new(IpcCode::NotSignedIn, unreadable.to_string()),
        }
    }
}
