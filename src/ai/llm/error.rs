//! What can go wrong talking to a model, and the mapping from HTTP answers and transport
//! failures to it. The client never retries: [`LlmError::is_retryable`] lets the caller decide.

use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::HeaderMap;

/// Why a call to the model failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LlmError {
    /// No answer (or no next piece of a streamed answer) within the configured timeout.
    #[error("the model did not answer in time")]
    Timeout,
    /// HTTP 429, or a rate-limit error inside a stream.
    #[error("rate limited by the model provider{}", retry_hint(.retry_after))]
    RateLimited {
        /// What the provider's `retry-after` header asked for, when it sent one.
        retry_after: Option<Duration>,
    },
    /// HTTP 5xx (Anthropic's 529 "overloaded" included), or a server error inside a stream.
    #[error("model provider error {status}: {message}")]
    Server {
        /// The HTTP status (or the one the provider's error type stands for).
        status: u16,
        /// The provider's own explanation.
        message: String,
    },
    /// Any other 4xx (bad key, unknown model, invalid request). Retrying will not help.
    /// Status 0 means the client refused locally without sending anything.
    #[error("the model provider rejected the request ({status}): {message}")]
    Rejected {
        /// The HTTP status.
        status: u16,
        /// The provider's own explanation.
        message: String,
    },
    /// The provider answered something we cannot read.
    #[error("unreadable answer from the model provider: {0}")]
    Malformed(String),
    /// The connection failed (refused, reset, TLS, DNS).
    #[error("could not reach the model provider: {0}")]
    Transport(String),
    /// The client was configured with something unusable (a base URL that does not parse, an
    /// API key that cannot be a header value).
    #[error("invalid model client configuration: {0}")]
    Config(String),
}

fn retry_hint(retry_after: &Option<Duration>) -> String {
    match retry_after {
        Some(d) => format!(" (retry after {} s)", d.as_secs_f64()),
        None => String::new(),
    }
}

impl LlmError {
    /// Whether the same request may succeed later: timeouts, 429, 5xx and transport failures.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            LlmError::Timeout
                | LlmError::RateLimited { .. }
                | LlmError::Server { .. }
                | LlmError::Transport(_)
        )
    }
}

/// Maps a reqwest failure. The URL is dropped from the message: it is not secret today, but
/// a base URL is operator input and error texts end up in logs.
pub(super) fn from_reqwest(e: reqwest::Error) -> LlmError {
    if e.is_timeout() {
        return LlmError::Timeout;
    }
    let e = e.without_url();
    // reqwest's own Display stops at "error sending request"; the cause is in the chain.
    let mut message = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    LlmError::Transport(message)
}

/// The maximum length of a provider's error message we keep.
const MAX_MESSAGE: usize = 500;

/// Turns a non-success answer into the matching error. Reading the body is bounded on its
/// own (a stream has no request-wide timeout); without the body the status still decides.
pub(super) async fn from_response(response: reqwest::Response, body_timeout: Duration) -> LlmError {
    let status = response.status();
    let retry_after = retry_after(response.headers());
    let body = tokio::time::timeout(body_timeout, response.text())
        .await
        .ok()
        .and_then(Result::ok)
        .unwrap_or_default();
    from_status(status, retry_after, &body)
}

pub(super) fn from_status(
    status: StatusCode,
    retry_after: Option<Duration>,
    body: &str,
) -> LlmError {
    let code = status.as_u16();
    if code == 429 {
        return LlmError::RateLimited { retry_after };
    }
    let message =
        error_message(body).unwrap_or_else(|| status.canonical_reason().unwrap_or("").to_string());
    if status.is_server_error() {
        LlmError::Server {
            status: code,
            message,
        }
    } else {
        LlmError::Rejected {
            status: code,
            message,
        }
    }
}

/// The provider's explanation from an error body: `{"error": {"message"}}` (OpenAI, Azure,
/// Ollama, Anthropic's `{"type":"error","error":{…}}`), `{"error": "…"}` (llama.cpp, Ollama's
/// native API), `{"message": "…"}` (older vLLM), else the body itself, shortened.
pub(super) fn error_message(body: &str) -> Option<String> {
    let trimmed = body.trim();
    if trimmed.is_empty() {
        return None;
    }
    let message = match serde_json::from_str::<serde_json::Value>(trimmed) {
        Ok(v) => v
            .pointer("/error/message")
            .and_then(|m| m.as_str())
            .or_else(|| v.get("error").and_then(|m| m.as_str()))
            .or_else(|| v.get("message").and_then(|m| m.as_str()))
            .map(str::to_string)
            .unwrap_or_else(|| trimmed.to_string()),
        Err(_) => trimmed.to_string(),
    };
    Some(shorten(message))
}

fn shorten(mut s: String) -> String {
    if s.len() > MAX_MESSAGE {
        let mut end = MAX_MESSAGE;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
        s.push('…');
    }
    s
}

/// `retry-after-ms` (OpenAI sends it) or `retry-after` in seconds or as an HTTP date.
pub(super) fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    };
    if let Some(ms) = header("retry-after-ms").and_then(|v| v.parse::<f64>().ok()) {
        return seconds(ms / 1000.0);
    }
    let value = header("retry-after")?;
    if let Ok(secs) = value.parse::<f64>() {
        return seconds(secs);
    }
    let at = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    let wait = at.with_timezone(&chrono::Utc) - chrono::Utc::now();
    Some(wait.to_std().unwrap_or(Duration::ZERO))
}

fn seconds(secs: f64) -> Option<Duration> {
    (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs))
}

/// Maps an error reported inside a stream (Anthropic's `error` event, or an OpenAI-compatible
/// server's `{"error": …}` chunk) by its type name, as if it had come as an HTTP status.
pub(super) fn from_stream_error(kind: &str, message: String) -> LlmError {
    let status = match kind {
        "rate_limit_error" | "rate_limit_exceeded" => {
            return LlmError::RateLimited { retry_after: None };
        }
        "invalid_request_error" => 400,
        "authentication_error" => 401,
        "permission_error" => 403,
        "not_found_error" => 404,
        "request_too_large" => 413,
        "overloaded_error" => 529,
        _ => 500,
    };
    from_status(
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        None,
        &serde_json::json!({ "error": { "message": message } }).to_string(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn statuses_map_to_the_right_variant() {
        assert_eq!(
            from_status(
                StatusCode::TOO_MANY_REQUESTS,
                Some(Duration::from_secs(3)),
                ""
            ),
            LlmError::RateLimited {
                retry_after: Some(Duration::from_secs(3))
            }
        );
        let e = from_status(StatusCode::BAD_GATEWAY, None, "");
        assert_eq!(
            e,
            LlmError::Server {
                status: 502,
                message: "Bad Gateway".into()
            }
        );
        assert!(e.is_retryable());
        let e = from_status(
            StatusCode::UNAUTHORIZED,
            None,
            r#"{"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key"}}"#,
        );
        assert_eq!(
            e,
            LlmError::Rejected {
                status: 401,
                message: "invalid x-api-key".into()
            }
        );
        assert!(!e.is_retryable());
    }

    #[test]
    fn error_messages_are_found_in_every_known_shape() {
        assert_eq!(
            error_message(r#"{"error":{"message":"m1","type":"x"}}"#).as_deref(),
            Some("m1")
        );
        assert_eq!(error_message(r#"{"error":"m2"}"#).as_deref(), Some("m2"));
        assert_eq!(
            error_message(r#"{"object":"error","message":"m3","code":400}"#).as_deref(),
            Some("m3")
        );
        assert_eq!(error_message("plain text").as_deref(), Some("plain text"));
        assert_eq!(error_message("  "), None);
        let long = "é".repeat(400);
        assert!(error_message(&long).is_some_and(|m| m.len() <= MAX_MESSAGE + 3));
    }

    #[test]
    fn retry_after_reads_seconds_milliseconds_and_dates() {
        let mut h = HeaderMap::new();
        assert_eq!(retry_after(&h), None);
        h.insert("retry-after", HeaderValue::from_static("7"));
        assert_eq!(retry_after(&h), Some(Duration::from_secs(7)));
        h.insert("retry-after-ms", HeaderValue::from_static("1500"));
        assert_eq!(retry_after(&h), Some(Duration::from_millis(1500)));
        let mut h = HeaderMap::new();
        h.insert(
            "retry-after",
            HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT"),
        );
        assert_eq!(retry_after(&h), Some(Duration::ZERO));
        h.insert("retry-after", HeaderValue::from_static("soon"));
        assert_eq!(retry_after(&h), None);
    }

    #[test]
    fn stream_errors_map_by_type() {
        assert!(matches!(
            from_stream_error("overloaded_error", "Overloaded".into()),
            LlmError::Server { status: 529, .. }
        ));
        assert!(matches!(
            from_stream_error("rate_limit_error", "slow down".into()),
            LlmError::RateLimited { retry_after: None }
        ));
    }
}
