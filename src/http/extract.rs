//! Extractors whose rejections use the error envelope: `AppJson`, `AppQuery`, `AppPath`.

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::error::ApiError;

/// `axum::Json` whose rejections are enveloped: 400 `invalid_json` naming the field,
/// 413 `payload_too_large`, 415 `unsupported_media_type`.
#[derive(Debug, Clone, Copy, Default, FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct AppJson<T>(pub T);

impl<T: serde::Serialize> IntoResponse for AppJson<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

impl From<JsonRejection> for ApiError {
    fn from(r: JsonRejection) -> Self {
        let status = r.status();
        let (status, code) = match status {
            StatusCode::PAYLOAD_TOO_LARGE => (status, "payload_too_large"),
            StatusCode::UNSUPPORTED_MEDIA_TYPE => (status, "unsupported_media_type"),
            // Syntax and shape errors alike are the client's malformed JSON.
            _ => (StatusCode::BAD_REQUEST, "invalid_json"),
        };
        let message = match status {
            StatusCode::UNSUPPORTED_MEDIA_TYPE => {
                "expected `Content-Type: application/json`".to_owned()
            }
            StatusCode::PAYLOAD_TOO_LARGE => {
                "request body is larger than the configured limit".to_owned()
            }
            _ => r.body_text(),
        };
        ApiError::Status {
            status,
            code,
            message,
        }
    }
}

/// `axum::extract::Query` with enveloped rejections (400 `invalid_query`).
#[derive(Debug, Clone, Copy, Default, FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub struct AppQuery<T>(pub T);

impl From<QueryRejection> for ApiError {
    fn from(r: QueryRejection) -> Self {
        ApiError::BadRequest {
            code: "invalid_query",
            message: r.body_text(),
        }
    }
}

/// `axum::extract::Path` with enveloped rejections (400 `invalid_path`).
#[derive(Debug, Clone, Copy, FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(ApiError))]
pub struct AppPath<T>(pub T);

impl From<PathRejection> for ApiError {
    fn from(r: PathRejection) -> Self {
        ApiError::BadRequest {
            code: "invalid_path",
            message: r.body_text(),
        }
    }
}

/// `?limit=&cursor=` of every list endpoint.
#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    /// Page size, 1–200 (default 50).
    pub limit: Option<i64>,
    /// Opaque cursor from the previous page's `next_cursor`.
    pub cursor: Option<String>,
}

impl PageParams {
    /// The cursor as the id it encodes.
    pub fn cursor_id(&self) -> Result<Option<i64>, ApiError> {
        match &self.cursor {
            None => Ok(None),
            Some(c) if c.is_empty() => Ok(None),
            Some(c) => c.parse().map(Some).map_err(|_| ApiError::BadRequest {
                code: "invalid_cursor",
                message: "cursor is not valid".into(),
            }),
        }
    }
}

/// A page of items with the cursor of the next page (null on the last one).
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct Page<T> {
    /// The items.
    pub items: Vec<T>,
    /// Pass as `cursor` to get the next page.
    pub next_cursor: Option<String>,
}

impl<T> Page<T> {
    /// Builds a page: a full page has a next cursor from `key` of its last item.
    pub fn new(items: Vec<T>, limit: i64, key: impl Fn(&T) -> i64) -> Self {
        let next_cursor = if items.len() as i64 >= limit {
            items.last().map(|i| key(i).to_string())
        } else {
            None
        };
        Self { items, next_cursor }
    }
}
