//! The `check_order_status` tool's call to the tenant's own order endpoint. The endpoint is
//! outside our control and its answer goes to a model, so the call is fenced: https only, an
//! allow-listed host, no redirects, a timeout, a size cap, and only short scalar fields of the
//! answer passed on. A missing order is `{"found": false}`; anything else that goes wrong is
//! an error the bot reports, never a status it makes up.

use std::time::Duration;

use serde_json::{Value, json};

use super::config::OrderLookup;

/// Largest order-status answer read.
const MAX_LOOKUP_BYTES: usize = 64 * 1024;

/// Longest order number looked up.
const MAX_NUMBER_CHARS: usize = 40;

/// Why no status could be told.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LookupError {
    /// The number could reach another path or query of the host: never sent.
    #[error("an order number has only letters, digits and dashes (at most 40)")]
    BadNumber,
    /// The configured URL does not parse once the number is in.
    #[error("bad URL")]
    BadUrl,
    /// Not https, or not an allow-listed host: never called.
    #[error("host not allowed")]
    HostNotAllowed,
    /// No answer within the tenant's timeout.
    #[error("timed out")]
    TimedOut,
    /// No connection (refused, DNS, TLS).
    #[error("unreachable")]
    Unreachable,
    /// An answer other than 2xx or 404 (redirects included: they are not followed).
    #[error("status {0}")]
    Status(u16),
    /// Over 64 KiB.
    #[error("answer too large")]
    TooLarge,
    /// Not a JSON document.
    #[error("answer is not JSON")]
    NotJson,
    /// The HTTP client could not be built or the body could not be read.
    #[error("{0}")]
    Client(String),
}

/// Calls the tenant's order endpoint for `number`; returns the fields a customer may hear.
pub async fn order_status(l: &OrderLookup, number: &str) -> Result<Value, LookupError> {
    order_status_with(reqwest::Client::builder(), l, number).await
}

/// [`order_status`] with a client builder of the caller's (tests add their own CA).
async fn order_status_with(
    builder: reqwest::ClientBuilder,
    l: &OrderLookup,
    number: &str,
) -> Result<Value, LookupError> {
    // The number comes from a model that read the customer: it goes into the URL only when it
    // cannot change the path or add a query ("../admin", "1?x=", "1#").
    if number.is_empty()
        || number.chars().count() > MAX_NUMBER_CHARS
        || !number
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-')
    {
        return Err(LookupError::BadNumber);
    }
    let url = l.url.replace("{order_number}", number);
    let parsed = url::Url::parse(&url).map_err(|_| LookupError::BadUrl)?;
    let host = parsed.host_str().unwrap_or_default().to_owned();
    if parsed.scheme() != "https"
        || !l
            .allowed_hosts
            .iter()
            .any(|h| h.eq_ignore_ascii_case(&host))
    {
        return Err(LookupError::HostNotAllowed);
    }
    let client = builder
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_millis(l.timeout_ms.min(10_000)))
        .build()
        .map_err(|e| LookupError::Client(e.to_string()))?;
    let mut res = client.get(parsed).send().await.map_err(|e| {
        if e.is_timeout() {
            LookupError::TimedOut
        } else {
            LookupError::Unreachable
        }
    })?;
    let status = res.status();
    if status == reqwest::StatusCode::NOT_FOUND {
        return Ok(json!({"found": false}));
    }
    if !status.is_success() {
        return Err(LookupError::Status(status.as_u16()));
    }
    let mut body = Vec::new();
    while let Some(chunk) = res.chunk().await.map_err(|e| {
        if e.is_timeout() {
            LookupError::TimedOut
        } else {
            LookupError::Client(e.to_string())
        }
    })? {
        body.extend_from_slice(&chunk);
        if body.len() > MAX_LOOKUP_BYTES {
            return Err(LookupError::TooLarge);
        }
    }
    let v: Value = serde_json::from_slice(&body).map_err(|_| LookupError::NotJson)?;
    // Only short scalar fields pass, so markup or long text from the endpoint never reaches
    // the model as instructions.
    let mut out = serde_json::Map::new();
    out.insert("found".into(), true.into());
    if let Some(o) = v.as_object() {
        for (k, val) in o.iter().take(20) {
            let keep = match val {
                Value::String(s) => s.chars().count() <= 200,
                Value::Number(_) | Value::Bool(_) => true,
                _ => false,
            };
            if keep && k.chars().count() <= 40 {
                out.insert(k.clone(), val.clone());
            }
        }
    }
    Ok(Value::Object(out))
}

#[cfg(test)]
mod tests;
