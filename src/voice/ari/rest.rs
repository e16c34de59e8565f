//! The ARI REST client: one per Asterisk server, cheap to clone, over a small pool of
//! keep-alive connections with bounded concurrency. Asterisk caps HTTP sessions (100 by
//! default) and a client that opens them without bound sees its requests hang, so every
//! request waits for one of `max_in_flight` permits and has a timeout.
//!
//! Requests are built only from the operation table in [`super::ops`]; the typed methods are
//! in `channels.rs` and `resources.rs`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine;
use reqwest::header::{AUTHORIZATION, HeaderValue};
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use tokio::sync::Semaphore;
use url::Url;

use super::error::AriError;
use super::ops::Op;
use super::socket_rest::RestLink;
use crate::config::AsteriskConfig;

/// A typed client for one Asterisk server's ARI.
#[derive(Clone)]
pub struct AriClient {
    inner: Arc<Inner>,
}

struct Inner {
    name: String,
    app: String,
    base: Url,
    http: reqwest::Client,
    auth: HeaderValue,
    permits: Semaphore,
    timeout: Duration,
    /// The events socket, when requests may go over it.
    link: Arc<RestLink>,
}

impl std::fmt::Debug for AriClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AriClient")
            .field("name", &self.inner.name)
            .field("base", &self.inner.base.as_str())
            .finish_non_exhaustive()
    }
}

impl AriClient {
    /// A client for one `[[voice.asterisk]]` entry.
    pub fn new(server: &AsteriskConfig) -> Result<Self, AriError> {
        let base = Url::parse(&server.url)
            .map_err(|e| AriError::Config(format!("url `{}`: {e}", server.url)))?;
        if !matches!(base.scheme(), "http" | "https") || base.cannot_be_a_base() {
            return Err(AriError::Config(format!(
                "url `{}` must be http(s)://HOST:PORT/ari",
                server.url
            )));
        }
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(server.request_timeout_secs.max(1)))
            .connect_timeout(Duration::from_secs(5))
            .pool_max_idle_per_host(server.max_in_flight)
            .build()
            .map_err(|e| AriError::Config(e.to_string()))?;
        Ok(AriClient {
            inner: Arc::new(Inner {
                name: server.name.clone(),
                app: server.app.clone(),
                base,
                http,
                auth: basic_auth(&server.username, &server.password)?,
                permits: Semaphore::new(server.max_in_flight.max(1)),
                timeout: Duration::from_secs(server.request_timeout_secs.max(1)),
                link: Arc::default(),
            }),
        })
    }

    /// The server's name from the configuration.
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// The Stasis application this client works for.
    pub fn app(&self) -> &str {
        &self.inner.app
    }

    /// The base URL (`http://HOST:8088/ari`).
    pub fn base_url(&self) -> &Url {
        &self.inner.base
    }

    /// Shared with this server's events stream, which offers its socket for requests.
    pub(super) fn rest_link(&self) -> Arc<RestLink> {
        self.inner.link.clone()
    }

    /// Whether requests go over the events socket now (instead of HTTP).
    pub fn rest_over_socket(&self) -> bool {
        self.inner.link.current().is_some()
    }

    /// Starts a request for `op`, filling its path placeholders in order.
    pub(super) fn call(&self, op: &'static Op, path: &[&str]) -> Call<'_> {
        Call {
            client: self,
            op,
            path: path.iter().map(|s| (*s).to_owned()).collect(),
            query: Vec::new(),
            body: Map::new(),
        }
    }
}

/// The `Authorization: Basic …` value, marked sensitive so it never shows in debug output.
pub(crate) fn basic_auth(username: &str, password: &SecretString) -> Result<HeaderValue, AriError> {
    let raw = format!("{username}:{}", password.expose_secret());
    let encoded = base64::engine::general_purpose::STANDARD.encode(raw);
    let mut value = HeaderValue::from_str(&format!("Basic {encoded}"))
        .map_err(|_| AriError::Config("username or password cannot be sent".into()))?;
    value.set_sensitive(true);
    Ok(value)
}

/// One request being built. Parameter names must be declared by the operation: the table,
/// not the call site, is what the spec test checks.
pub(super) struct Call<'c> {
    client: &'c AriClient,
    op: &'static Op,
    path: Vec<String>,
    query: Vec<(&'static str, String)>,
    body: Map<String, Value>,
}

impl Call<'_> {
    /// The query of a playback, the same on a channel and on a bridge.
    pub(super) fn with_play(self, play: &super::params::Play) -> Self {
        self.query_list("media", &play.media)
            .query_opt("lang", play.lang.as_ref())
            .query_opt("offsetms", play.offset_ms)
            .query_opt("skipms", play.skip_ms)
    }

    /// The query of a recording, the same on a channel and on a bridge.
    pub(super) fn with_record(self, r: &super::params::Record) -> Self {
        self.query("name", &r.name)
            .query("format", &r.format)
            .query_opt("maxDurationSeconds", r.max_duration_secs)
            .query_opt("maxSilenceSeconds", r.max_silence_secs)
            .query_opt("ifExists", r.if_exists.as_ref())
            .query_opt("beep", r.beep)
            .query_opt("terminateOn", r.terminate_on.as_ref())
    }

    /// Adds a query parameter.
    pub(super) fn query(mut self, name: &'static str, value: impl ToString) -> Self {
        debug_assert!(
            self.op.query.contains(&name),
            "{} does not declare query parameter {name}",
            self.op.name
        );
        self.query.push((name, value.to_string()));
        self
    }

    /// Adds a query parameter when it has a value.
    pub(super) fn query_opt<T: ToString>(self, name: &'static str, value: Option<T>) -> Self {
        match value {
            Some(v) => self.query(name, v),
            None => self,
        }
    }

    /// Adds a list parameter. Asterisk splits query lists on commas, so a list whose items
    /// contain one goes as a JSON array in the body, where Asterisk reads it as the same
    /// query parameter.
    pub(super) fn query_list<S: AsRef<str>>(mut self, name: &'static str, items: &[S]) -> Self {
        if items.is_empty() {
            return self;
        }
        if items.iter().any(|s| s.as_ref().contains(',')) {
            debug_assert!(self.op.query.contains(&name));
            let list = items.iter().map(|s| Value::from(s.as_ref())).collect();
            self.body.insert(name.to_owned(), Value::Array(list));
            return self;
        }
        let joined = items
            .iter()
            .map(AsRef::as_ref)
            .collect::<Vec<_>>()
            .join(",");
        self.query(name, joined)
    }

    /// Adds a body parameter.
    pub(super) fn body(mut self, name: &'static str, value: Value) -> Self {
        debug_assert!(
            self.op.body.contains(&name),
            "{} does not declare body parameter {name}",
            self.op.name
        );
        self.body.insert(name.to_owned(), value);
        self
    }

    /// Sets a body parameter that the spec declares as the whole body (`filter` of
    /// `applications.filter`): Asterisk reads its keys from the top of the body.
    pub(super) fn whole_body(
        mut self,
        name: &'static str,
        value: serde_json::Map<String, Value>,
    ) -> Self {
        debug_assert!(
            self.op.body.contains(&name),
            "{} does not declare body parameter {name}",
            self.op.name
        );
        self.body.extend(value);
        self
    }

    fn url(&self) -> Result<Url, AriError> {
        let mut url = self.client.inner.base.clone();
        {
            let mut segments = url
                .path_segments_mut()
                .map_err(|_| AriError::Config("base URL cannot carry a path".into()))?;
            segments.pop_if_empty();
            let mut args = self.path.iter();
            for part in self.op.path.trim_start_matches('/').split('/') {
                if part.starts_with('{') {
                    let arg = args.next().ok_or_else(|| {
                        AriError::Config(format!("{} needs a value for {part}", self.op.name))
                    })?;
                    // Percent-encoded, `/` included: Asterisk decodes after splitting, so
                    // `deviceStates/PJSIP%2F1001` names device `PJSIP/1001`.
                    segments.push(arg);
                } else {
                    segments.push(part);
                }
            }
        }
        if !self.query.is_empty() {
            url.query_pairs_mut()
                .extend_pairs(self.query.iter().map(|(k, v)| (*k, v.as_str())));
        }
        Ok(url)
    }

    /// Sends the request, over the events socket when it takes requests and the operation
    /// suits it (`socket_rest::suits_socket`), else over HTTP; a non-2xx answer becomes the
    /// matching [`AriError`].
    async fn execute(self) -> Result<Vec<u8>, AriError> {
        let url = self.url()?;
        let inner = &self.client.inner;
        let _permit = inner
            .permits
            .acquire()
            .await
            .map_err(|_| AriError::Transport("client closed".into()))?;
        let started = Instant::now();
        let socket = super::socket_rest::suits_socket(self.op)
            .then(|| inner.link.current())
            .flatten();
        let over_socket = match socket {
            None => None,
            Some(socket) => {
                // The path as sent over HTTP, relative to the base (`channels/ID/answer`).
                let uri = url
                    .path()
                    .strip_prefix(inner.base.path().trim_end_matches('/'))
                    .unwrap_or(url.path())
                    .trim_start_matches('/');
                let query: Vec<(&str, &str)> =
                    self.query.iter().map(|(k, v)| (*k, v.as_str())).collect();
                let body = (!self.body.is_empty())
                    .then(|| serde_json::to_string(&self.body))
                    .transpose()
                    .map_err(|e| AriError::Config(e.to_string()))?;
                socket
                    .send(self.op.method, uri, &query, body.as_deref(), inner.timeout)
                    .await?
                    .map(|answer| (answer.status, answer.body))
            }
        };
        let (status, body) = match over_socket {
            Some(answer) => answer,
            None => {
                let method = reqwest::Method::from_bytes(self.op.method.as_bytes())
                    .map_err(|e| AriError::Config(e.to_string()))?;
                let mut request = inner
                    .http
                    .request(method, url)
                    .header(AUTHORIZATION, inner.auth.clone());
                if !self.body.is_empty() {
                    request = request.json(&self.body);
                }
                let response = request.send().await.map_err(AriError::from_reqwest)?;
                let status = response.status().as_u16();
                let body = response.bytes().await.map_err(AriError::from_reqwest)?;
                (status, body.to_vec())
            }
        };
        tracing::debug!(
            ari.server = %inner.name,
            ari.op = self.op.name,
            status,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "ARI request"
        );
        if (200..300).contains(&status) {
            Ok(body)
        } else {
            Err(AriError::from_status(
                status,
                &String::from_utf8_lossy(&body),
            ))
        }
    }

    /// Sends and reads the answer as `T`.
    pub(super) async fn json<T: DeserializeOwned>(self) -> Result<T, AriError> {
        let name = self.op.name;
        let body = self.execute().await?;
        decode(name, &body)
    }

    /// Sends and ignores the answer body.
    pub(super) async fn void(self) -> Result<(), AriError> {
        self.execute().await.map(drop)
    }

    /// Sends and returns the raw answer body.
    pub(super) async fn bytes(self) -> Result<Vec<u8>, AriError> {
        self.execute().await
    }
}

/// Reads a body as `T`, naming the operation and the JSON path that did not fit.
pub(crate) fn decode<T: DeserializeOwned>(op: &str, body: &[u8]) -> Result<T, AriError> {
    let de = &mut serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize(de)
        .map_err(|e| AriError::Decode(format!("{op}: {}", without_values(&e.to_string()))))
}

/// An error text with quoted values blanked: serde quotes the offending value, which may be
/// a caller's number, and these texts end up in logs.
pub(crate) fn without_values(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut quoted = false;
    for c in text.chars() {
        if c == '"' {
            if quoted {
                out.push_str("…\"");
            } else {
                out.push('"');
            }
            quoted = !quoted;
        } else if !quoted {
            out.push(c);
        }
    }
    out
}
