//! What can go wrong talking to Asterisk over ARI, mapped from HTTP statuses and transport
//! failures. Asterisk explains its refusals as `{"message": …}` (or `{"error": …}` for
//! "Allocation failed"); that text is kept.

/// Why an ARI request failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AriError {
    /// 404: the channel, bridge, playback … is gone (often a normal hangup race), or a
    /// variable or configuration object does not exist.
    #[error("not found (404): {message}")]
    NotFound {
        /// Asterisk's explanation.
        message: String,
    },
    /// 409 or 412: the object is in the wrong state (not in Stasis, id taken, channel
    /// recording, not `Down` for dial …).
    #[error("wrong state ({status}): {message}")]
    Conflict {
        /// The HTTP status.
        status: u16,
        /// Asterisk's explanation.
        message: String,
    },
    /// 400 or 422: a parameter is missing or invalid (unknown config attribute, channel not in
    /// that bridge, redirect across technologies).
    #[error("bad request ({status}): {message}")]
    BadRequest {
        /// The HTTP status.
        status: u16,
        /// Asterisk's explanation.
        message: String,
    },
    /// 401: wrong ARI user or password.
    #[error("not authenticated (401): {message}")]
    Unauthorized {
        /// Asterisk's explanation.
        message: String,
    },
    /// 403: refused (read-only user, ACL, or a configuration object defined in a file).
    #[error("forbidden (403): {message}")]
    Forbidden {
        /// Asterisk's explanation.
        message: String,
    },
    /// 5xx. `500 Allocation failed` on originate means the endpoint has no registered
    /// contact (or does not exist): the agent is unreachable, Asterisk is fine.
    #[error("Asterisk failed ({status}): {message}")]
    Server {
        /// The HTTP status.
        status: u16,
        /// Asterisk's explanation.
        message: String,
    },
    /// Any other status.
    #[error("unexpected status {status}: {message}")]
    Status {
        /// The HTTP status.
        status: u16,
        /// Asterisk's explanation.
        message: String,
    },
    /// No answer within the request timeout.
    #[error("Asterisk did not answer in time")]
    Timeout,
    /// The connection failed (refused, reset, TLS, DNS).
    #[error("could not reach Asterisk: {0}")]
    Transport(String),
    /// A 2xx answer we cannot read as the model the operation returns.
    #[error("unreadable answer from Asterisk: {0}")]
    Decode(String),
    /// The client was given something unusable (a URL that cannot carry ARI paths …).
    #[error("invalid ARI client configuration: {0}")]
    Config(String),
}

impl AriError {
    /// The HTTP status, for errors that came with one.
    pub fn status(&self) -> Option<u16> {
        match self {
            AriError::NotFound { .. } => Some(404),
            AriError::Unauthorized { .. } => Some(401),
            AriError::Forbidden { .. } => Some(403),
            AriError::Conflict { status, .. }
            | AriError::BadRequest { status, .. }
            | AriError::Server { status, .. }
            | AriError::Status { status, .. } => Some(*status),
            AriError::Timeout
            | AriError::Transport(_)
            | AriError::Decode(_)
            | AriError::Config(_) => None,
        }
    }

    /// Asterisk's own explanation, for errors that came with one.
    pub fn message(&self) -> Option<&str> {
        match self {
            AriError::NotFound { message }
            | AriError::Unauthorized { message }
            | AriError::Forbidden { message }
            | AriError::Conflict { message, .. }
            | AriError::BadRequest { message, .. }
            | AriError::Server { message, .. }
            | AriError::Status { message, .. } => Some(message),
            _ => None,
        }
    }

    /// Whether the object is gone: callers treat this as "already done" for hangups and stops.
    pub fn is_not_found(&self) -> bool {
        matches!(self, AriError::NotFound { .. })
    }

    /// Maps a non-success status and its body.
    pub fn from_status(status: u16, body: &str) -> Self {
        let message = body_message(body).unwrap_or_else(|| {
            reqwest::StatusCode::from_u16(status)
                .ok()
                .and_then(|s| s.canonical_reason())
                .unwrap_or("")
                .to_owned()
        });
        match status {
            404 => AriError::NotFound { message },
            409 | 412 => AriError::Conflict { status, message },
            400 | 422 => AriError::BadRequest { status, message },
            401 => AriError::Unauthorized { message },
            403 => AriError::Forbidden { message },
            500..=599 => AriError::Server { status, message },
            _ => AriError::Status { status, message },
        }
    }

    /// Maps a reqwest failure, without the URL (it names ids, and ends up in logs).
    pub(crate) fn from_reqwest(e: reqwest::Error) -> Self {
        if e.is_timeout() {
            return AriError::Timeout;
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
        AriError::Transport(message)
    }
}

/// The longest error text we keep from a body that is not Asterisk's JSON.
const MAX_MESSAGE: usize = 300;

fn body_message(body: &str) -> Option<String> {
    if let Ok(serde_json::Value::Object(map)) = serde_json::from_str(body) {
        for key in ["message", "error"] {
            if let Some(text) = map.get(key).and_then(|v| v.as_str()) {
                return Some(text.to_owned());
            }
        }
    }
    let trimmed = body.trim();
    if trimmed.is_empty() {
        return None;
    }
    Some(trimmed.chars().take(MAX_MESSAGE).collect())
}
