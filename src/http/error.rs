//! `ApiError`: the one error type at the HTTP edge, and its JSON envelope
//! `{ "error": { "code": "...", "message": "..." } }`.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use crate::domain::ValidationError;
use crate::store::StoreError;

/// The error envelope every failure answers with.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorDetail,
}

/// Machine-readable code and human-readable message.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable code clients can branch on, e.g. `not_found`, `validation`.
    pub code: String,
    /// What went wrong, safe to show to the user.
    pub message: String,
}

/// A failed request.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400 with a code such as `invalid_json` or `bad_request`.
    #[error("{message}")]
    BadRequest {
        /// Code.
        code: &'static str,
        /// Message.
        message: String,
    },
    /// 422: a field's value is not acceptable.
    #[error("{0}")]
    Validation(ValidationError),
    /// 401: no valid credentials.
    #[error("{message}")]
    Unauthenticated {
        /// Code.
        code: &'static str,
        /// Message.
        message: String,
    },
    /// 403: authenticated but not allowed.
    #[error("{0}")]
    Forbidden(String),
    /// 404.
    #[error("{0}")]
    NotFound(String),
    /// 409.
    #[error("{message}")]
    Conflict {
        /// Code.
        code: &'static str,
        /// Message.
        message: String,
    },
    /// 422: a tenant resource limit would be exceeded.
    #[error("{0}")]
    LimitReached(String),
    /// 429 with a `Retry-After`.
    #[error("too many attempts; try again in {retry_after_secs} s")]
    RateLimited {
        /// Seconds until the next attempt is accepted.
        retry_after_secs: u64,
    },
    /// A status and code decided by the caller (framework rejections).
    #[error("{message}")]
    Status {
        /// HTTP status.
        status: StatusCode,
        /// Code.
        code: &'static str,
        /// Message.
        message: String,
    },
    /// 500: logged here, never shown.
    #[error("internal error: {0}")]
    Internal(String),
}

impl ApiError {
    /// 404 naming what was not found.
    pub fn not_found(what: &str) -> Self {
        ApiError::NotFound(format!("{what} not found"))
    }

    /// For `map_err`: a store's `NotFound` becomes a 404 naming `what`; other errors convert as usual.
    pub fn missing(what: &str) -> impl Fn(StoreError) -> ApiError + '_ {
        move |e| match e {
            StoreError::NotFound => ApiError::not_found(what),
            other => other.into(),
        }
    }

    /// 403 with a reason.
    pub fn forbidden(why: impl Into<String>) -> Self {
        ApiError::Forbidden(why.into())
    }

    /// 422 naming the field.
    pub fn validation(field: &str, message: impl Into<String>) -> Self {
        ApiError::Validation(ValidationError::new(field, message))
    }

    /// 409.
    pub fn conflict(message: impl Into<String>) -> Self {
        ApiError::Conflict {
            code: "conflict",
            message: message.into(),
        }
    }

    /// 500, keeping the cause for the log only.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        ApiError::Internal(cause.to_string())
    }

    fn parts(&self) -> (StatusCode, &'static str, String) {
        match self {
            ApiError::BadRequest { code, message } => (StatusCode::BAD_REQUEST, code, message.clone()),
            ApiError::Validation(v) => (StatusCode::UNPROCESSABLE_ENTITY, "validation", v.to_string()),
            ApiError::Unauthenticated { code, message } => (StatusCode::UNAUTHORIZED, code, message.clone()),
            ApiError::Forbidden(m) => (StatusCode::FORBIDDEN, "forbidden", m.clone()),
            ApiError::NotFound(m) => (StatusCode::NOT_FOUND, "not_found", m.clone()),
            ApiError::Conflict { code, message } => (StatusCode::CONFLICT, code, message.clone()),
            ApiError::LimitReached(m) => (StatusCode::UNPROCESSABLE_ENTITY, "limit_reached", m.clone()),
            ApiError::RateLimited { .. } => (StatusCode::TOO_MANY_REQUESTS, "rate_limited", self.to_string()),
            ApiError::Status { status, code, message } => (*status, code, message.clone()),
            ApiError::Internal(_) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "internal server error; the request id in the x-request-id header identifies it in the logs".into(),
            ),
        }
    }
}

/// Builds the envelope response for a status, code and message.
pub fn envelope(status: StatusCode, code: &str, message: impl Into<String>) -> Response {
    let body = ErrorBody {
        error: ErrorDetail {
            code: code.to_owned(),
            message: message.into(),
        },
    };
    (status, axum::Json(body)).into_response()
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let ApiError::Internal(cause) = &self {
            // Logged once, here, inside the request's span (which carries the request id).
            tracing::error!(error = %cause, "request failed");
        }
        let (status, code, message) = self.parts();
        let mut res = envelope(status, code, message);
        if let ApiError::RateLimited { retry_after_secs } = self
            && let Ok(v) = HeaderValue::from_str(&retry_after_secs.to_string())
        {
            res.headers_mut().insert(header::RETRY_AFTER, v);
        }
        res
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => ApiError::NotFound("not found".into()),
            StoreError::Conflict(what) => ApiError::conflict(format!("{what} already exists")),
            other => ApiError::internal(other),
        }
    }
}

impl From<ValidationError> for ApiError {
    fn from(e: ValidationError) -> Self {
        ApiError::Validation(e)
    }
}

/// Shorthand for handler results.
pub type ApiResult<T> = Result<T, ApiError>;
