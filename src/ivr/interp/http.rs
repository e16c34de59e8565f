//! The `http` node: the interpreter builds and checks the request (https only, allow-listed
//! host, timeout at most 10 s), the adapter performs it, and the interpreter judges the
//! response (status exits, 64 KiB cap, JSONPath `extract` into typed variables).

use chrono::{DateTime, Utc};
use serde_json_path::JsonPath;

use super::prompts::Mode;
use super::session::{Leave, Step, Wait};
use super::*;
use crate::ivr::catalog::Catalog;
use crate::ivr::expr::Value;
use crate::ivr::model::{Body, Http, NodeKind, VarType};
use crate::ivr::parse_duration_ms;

const DEFAULT_TIMEOUT_MS: u64 = 3_000;
const MAX_TIMEOUT_MS: u64 = 10_000;

/// A request in flight.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct Pending {
    pub(super) filler_timer: Option<TimerId>,
    pub(super) filler_playback: Option<PlaybackId>,
}

/// The same allow-list rule the validator applies at publish (IVR023): exact names or
/// `*.example.com` for subdomains, so a flow that validates is not refused at run time.
fn allowed(host: &str, allow: &[String]) -> bool {
    crate::ivr::checks::host_allowed(host, allow)
}

/// Checks a rendered URL against the egress rules; the error says why it was refused.
pub(super) fn check_url(url: &str, allow: &[String]) -> Result<(), String> {
    let parsed = url::Url::parse(url).map_err(|e| format!("bad URL: {e}"))?;
    if parsed.scheme() != "https" {
        return Err(format!("refused: {} is not https", parsed.scheme()));
    }
    let host = parsed.host_str().unwrap_or_default();
    if !allowed(host, allow) {
        return Err(format!(
            "refused: host {host} is not on the egress allowlist"
        ));
    }
    Ok(())
}

fn json_text(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Null => String::new(),
        other => other.to_string(),
    }
}

impl Session {
    pub(super) fn enter_http(
        &mut self,
        cat: &Catalog,
        h: &Http,
        now: DateTime<Utc>,
        out: &mut Vec<Action>,
    ) -> Step {
        let (url, _) = self.render_text(&h.url, Mode::Url);
        if let Err(why) = check_url(&url, &self.config.http_allow_hosts) {
            self.record(cat, now, out, Leave::exit("on_error").detail(why));
            return Step::Go(h.on_error.clone());
        }
        let headers = h
            .headers
            .iter()
            .map(|(k, v)| (k.clone(), self.render_text(v, Mode::Header).0))
            .collect();
        let body = match &h.body {
            None => None,
            Some(Body::Text(t)) => Some(self.render_text(t, Mode::Plain).0),
            Some(Body::Fields(fields)) => {
                let map: serde_json::Map<String, serde_json::Value> = fields
                    .iter()
                    .map(|(k, v)| (k.clone(), self.render_text(v, Mode::Plain).0.into()))
                    .collect();
                Some(serde_json::Value::Object(map).to_string())
            }
        };
        let method = serde_json::to_value(h.method)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_else(|| "GET".into());
        let retries = if method == "GET" {
            h.retries.unwrap_or(0).min(1)
        } else {
            0
        };
        out.push(Action::Http(HttpRequest {
            method,
            url,
            headers,
            body,
            timeout_ms: h
                .timeout
                .as_deref()
                .and_then(parse_duration_ms)
                .unwrap_or(DEFAULT_TIMEOUT_MS)
                .min(MAX_TIMEOUT_MS),
            retries,
            max_body_bytes: MAX_HTTP_BODY,
        }));
        let filler_timer = h
            .filler
            .as_ref()
            .and_then(|f| parse_duration_ms(&f.after))
            .map(|after| self.timer(after, out));
        self.wait = Wait::Http(Pending {
            filler_timer,
            filler_playback: None,
        });
        Step::Wait
    }

    /// The filler's delay ran out before the response: cover the silence.
    pub(super) fn http_filler(&mut self, cat: &Catalog, out: &mut Vec<Action>) {
        let Some(NodeKind::Http(h)) = self.node(cat).map(|n| &n.kind) else {
            return;
        };
        let Some(filler) = &h.filler else { return };
        let items = self.render_prompt(cat, &filler.prompt, None, None);
        let id = self.play(items, out);
        if let Wait::Http(p) = &mut self.wait {
            p.filler_timer = None;
            p.filler_playback = Some(id);
        }
    }

    /// `Ok((status, body))` for a response, `Err(timed_out)` for none.
    pub(super) fn http_result(
        &mut self,
        cat: &Catalog,
        result: Result<(u16, Vec<u8>), bool>,
        now: DateTime<Utc>,
        out: &mut Vec<Action>,
    ) {
        let Wait::Http(pending) = &self.wait else {
            return;
        };
        if let Some(id) = pending.filler_timer {
            out.push(Action::CancelTimer { id });
        }
        if let Some(id) = pending.filler_playback {
            out.push(Action::StopPlayback { id });
        }
        let Some(NodeKind::Http(h)) = self.node(cat).map(|n| &n.kind) else {
            return;
        };
        let (status, body) = match result {
            Err(true) => {
                self.leave(
                    cat,
                    now,
                    out,
                    Leave::exit("on_timeout"),
                    h.on_timeout.clone(),
                );
                return;
            }
            Err(false) => {
                let leave = Leave::exit("on_error").detail("no response");
                self.leave(cat, now, out, leave, h.on_error.clone());
                return;
            }
            Ok(r) => r,
        };
        self.http_status = Some(status);
        if let Some(target) = h.on_status.get(&status.to_string()) {
            let leave = Leave::exit(format!("on_status.{status}")).detail(format!("HTTP {status}"));
            self.leave(cat, now, out, leave, Some(target.clone()));
            return;
        }
        if !(200..300).contains(&status) {
            let leave = Leave::exit("on_error").detail(format!("HTTP {status}"));
            self.leave(cat, now, out, leave, h.on_error.clone());
            return;
        }
        match self.extract(cat, h, &body) {
            Ok(values) => {
                self.frame_mut().vars.extend(values);
                let target = h.on_success.clone();
                let leave = Leave::exit("on_success").detail(format!("HTTP {status}"));
                self.leave(cat, now, out, leave, target);
            }
            Err(why) => {
                let leave = Leave::exit("on_error").detail(why);
                self.leave(cat, now, out, leave, h.on_error.clone());
            }
        }
    }

    /// Applies `extract`: the first match of each path, length-capped, typed. A path with no
    /// match leaves the variable null (a missing field is data, not a failure).
    fn extract(
        &self,
        cat: &Catalog,
        h: &Http,
        body: &[u8],
    ) -> Result<Vec<(String, Value)>, String> {
        if body.len() > MAX_HTTP_BODY {
            return Err(format!(
                "response of {} bytes exceeds the {MAX_HTTP_BODY}-byte cap",
                body.len()
            ));
        }
        if h.extract.is_empty() {
            return Ok(Vec::new());
        }
        let json: serde_json::Value =
            serde_json::from_slice(body).map_err(|e| format!("response is not JSON: {e}"))?;
        let def = self.flow(cat);
        let mut values = Vec::new();
        for (var, path) in &h.extract {
            let path = JsonPath::parse(path).map_err(|e| format!("bad JSONPath {path}: {e}"))?;
            let value = match path.query(&json).first() {
                None => Value::Null,
                Some(found) => {
                    let text: String = json_text(found).chars().take(MAX_EXTRACT_CHARS).collect();
                    let kind = def.and_then(|d| d.var_type(var)).unwrap_or(VarType::String);
                    Value::coerce(kind, &text).map_err(|e| self.type_error(var, e))?
                }
            };
            values.push((var.clone(), value));
        }
        Ok(values)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn egress_rules() {
        let allow = vec!["crm.acme.example".to_owned(), "*.orders.example".to_owned()];
        assert!(check_url("https://crm.acme.example/a", &allow).is_ok());
        assert!(check_url("https://eu.orders.example/a", &allow).is_ok());
        // As with TLS wildcards, `*.orders.example` does not cover the bare domain.
        assert!(check_url("https://orders.example/a", &allow).is_err());
        let http = check_url("http://crm.acme.example/a", &allow).unwrap_err();
        assert!(http.contains("not https"), "{http}");
        let host = check_url("https://evil.example/a", &allow).unwrap_err();
        assert!(host.contains("allowlist"), "{host}");
        assert!(check_url("https://xorders.example/a", &allow).is_err());
    }
}
