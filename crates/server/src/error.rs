//! The JSON error of API.md: `{"error": {"code", "message", "fields"?}}`.

use std::collections::BTreeMap;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use fyncall_domain::Refusal;
use fyncall_domain::wire::PushError;
use serde::Serialize;

/// The closed set of error codes of API.md: the wire type, defined once in
/// the domain.
pub use fyncall_domain::wire::ErrorCode;

/// The HTTP status of an answer with `code`.
fn status(code: ErrorCode) -> StatusCode {
    StatusCode::from_u16(code.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ApiError {
    pub code: ErrorCode,
    pub message: String,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub fields: BTreeMap<String, String>,
    /// With `conflict`: the server's current text of the conflicting fields.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub current: BTreeMap<String, Option<String>>,
    /// With `rate_limited`: seconds until a retry can succeed (the
    /// `Retry-After` header).
    #[serde(skip)]
    pub retry_after: Option<u64>,
}

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        ApiError {
            code,
            message: message.into(),
            fields: BTreeMap::new(),
            current: BTreeMap::new(),
            retry_after: None,
        }
    }
    /// `rate_limited`, retry after `seconds` (at least 1).
    pub fn rate_limited(message: impl Into<String>, seconds: u64) -> Self {
        let mut e = Self::new(ErrorCode::RateLimited, message);
        e.retry_after = Some(seconds.max(1));
        e
    }
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::BadRequest, message)
    }
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Unauthorized, message)
    }
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Forbidden, message)
    }
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::NotFound, message)
    }
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        let message = message.into();
        let mut e = Self::new(ErrorCode::Invalid, message.clone());
        e.fields.insert(field.to_owned(), message);
        e
    }
    /// The store cannot be reached or did not commit; nothing was written.
    pub fn unavailable() -> Self {
        Self::new(
            ErrorCode::Unavailable,
            "the server's database did not answer; nothing was written: try again in a moment",
        )
    }
    /// The rules' refusal this error carries, if it is one.
    pub fn refusal(&self) -> Option<Refusal> {
        use fyncall_domain::RefusalCode;
        let code = match self.code {
            ErrorCode::Forbidden => RefusalCode::Forbidden,
            ErrorCode::InvalidTransition => RefusalCode::InvalidTransition,
            ErrorCode::Invalid => RefusalCode::Invalid,
            ErrorCode::NotFound => RefusalCode::NotFound,
            ErrorCode::Conflict => RefusalCode::Conflict,
            _ => return None,
        };
        let mut r = Refusal::new(code, self.message.clone());
        r.fields = self.fields.clone();
        r.current = self.current.clone();
        Some(r)
    }

    pub fn internal() -> Self {
        Self::new(
            ErrorCode::Internal,
            "the server failed to complete the request; it was not applied, try again",
        )
    }
}

impl From<Refusal> for ApiError {
    fn from(r: Refusal) -> Self {
        ApiError {
            code: r.code.into(),
            message: r.message,
            fields: r.fields,
            current: r.current,
            retry_after: None,
        }
    }
}

impl From<crate::store::StoreError> for ApiError {
    fn from(e: crate::store::StoreError) -> Self {
        match e {
            crate::store::StoreError::Refused(r) => r.into(),
            crate::store::StoreError::Api(a) => a,
            crate::store::StoreError::Database(err) | crate::store::StoreError::Retry(err) => {
                tracing::error!(error = %err, "database error");
                ApiError::internal()
            }
        }
    }
}

impl From<ApiError> for PushError {
    fn from(e: ApiError) -> Self {
        PushError {
            code: e.code,
            message: e.message,
            fields: e.fields,
            current: e.current,
        }
    }
}

#[derive(Serialize)]
struct Envelope<'a> {
    error: &'a ApiError,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response =
            (status(self.code), axum::Json(Envelope { error: &self })).into_response();
        if let Some(seconds) = self.retry_after {
            response.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from(seconds),
            );
        }
        response
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}
