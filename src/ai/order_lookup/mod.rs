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

/// Calls the tenant's order endpoint for `number`; returns the fields a customer may hear.
pub async fn order_status(l: &OrderLookup, number: &str) -> Result<Value, String> {
    order_status_with(reqwest::Client::builder(), l, number).await
}

/// [`order_status`] with a client builder of the caller's (tests add their own CA).
async fn order_status_with(
    builder: reqwest::ClientBuilder,
    l: &OrderLookup,
    number: &str,
) -> Result<Value, String> {
    let url = l.url.replace("{order_number}", number);
    let parsed = url::Url::parse(&url).map_err(|_| "bad URL".to_owned())?;
    let host = parsed.host_str().unwrap_or_default().to_owned();
    if parsed.scheme() != "https"
        || !l
            .allowed_hosts
            .iter()
            .any(|h| h.eq_ignore_ascii_case(&host))
    {
        return Err("host not allowed".into());
    }
    let client = builder
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_millis(l.timeout_ms.min(10_000)))
        .build()
        .map_err(|e| e.to_string())?;
    let mut res = client.get(parsed).send().await.map_err(|e| {
        if e.is_timeout() {
            "timed out".to_owned()
        } else {
            "unreachable".to_owned()
        }
    })?;
    let status = res.status();
    if status == reqwest::StatusCode::NOT_FOUND {
        return Ok(json!({"found": false}));
    }
    if !status.is_success() {
        return Err(format!("status {}", status.as_u16()));
    }
    let mut body = Vec::new();
    while let Some(chunk) = res.chunk().await.map_err(|e| {
        if e.is_timeout() {
            "timed out".to_owned()
        } else {
            e.to_string()
        }
    })? {
        body.extend_from_slice(&chunk);
        if body.len() > MAX_LOOKUP_BYTES {
            return Err("answer too large".into());
        }
    }
    let v: Value = serde_json::from_slice(&body).map_err(|_| "answer is not JSON".to_owned())?;
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
