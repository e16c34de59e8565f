//! The website widget channel: admins create widgets and copy the snippet; visitors' browsers
//! load `/widget.js`, read `/widget/config` and talk over `/widget/ws`.
//!
//! Visitors are anonymous: the server issues a visitor id with an HMAC signature (a key derived
//! from the master key), the browser keeps that token and presents it on every connection, so
//! the conversation survives reloads and tabs without any account.
//!
//! Widget socket frames are documented in the README ("Website widget").

use std::collections::BTreeMap;

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use chrono::{DateTime, Utc};
use futures::{SinkExt, StreamExt};
use hmac::{Hmac, Mac};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::Sha256;
use tokio::sync::broadcast::error::RecvError;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::conversation::{Body, ChatError, widget_message_frame};
use crate::admin::audit;
use crate::app::AppState;
use crate::auth::{Admin, TenantScope};
use crate::domain::{TenantId, UserId};
use crate::http::error::{ApiError, ApiResult, ErrorBody, envelope};
use crate::http::extract::{AppJson, AppPath};
use crate::secrets::MasterKey;
use crate::store::widgets::WidgetRecord;
use crate::store::{self, StoreError};

/// The routes of this module.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_widgets, create_widget))
        .routes(routes!(get_widget, update_widget, delete_widget))
        .routes(routes!(widget_config))
        .routes(routes!(widget_socket))
}

impl From<ChatError> for ApiError {
    fn from(e: ChatError) -> Self {
        match e {
            ChatError::Store(StoreError::NotFound) => ApiError::not_found("conversation"),
            ChatError::Store(s) => s.into(),
            ChatError::Routing(r) => r.into(),
            ChatError::BadMessage => {
                ApiError::validation("content", ChatError::BadMessage.to_string())
            }
            ChatError::Closed => ApiError::Conflict {
                code: "conversation_closed",
                message: "the conversation is closed; reopen it first".into(),
            },
        }
    }
}

// ---------------------------------------------------------------- settings

/// How a widget looks and behaves.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct WidgetSettings {
    /// Header title.
    pub title: String,
    /// Accent colour, `#rrggbb`.
    pub colour: String,
    /// `right` or `left` (bottom corner).
    pub position: String,
    /// First line the visitor sees.
    pub welcome_message: String,
    /// Shown when no agent is available (messages are still accepted).
    pub away_message: String,
    /// Asked before the first message: any of `name`, `email`.
    pub prechat_fields: Vec<String>,
    /// Pages allowed to embed the widget (`https://shop.example`); empty = any.
    pub allowed_origins: Vec<String>,
}

impl Default for WidgetSettings {
    fn default() -> Self {
        WidgetSettings {
            title: "Chat with us".into(),
            colour: "#4f46e5".into(),
            position: "right".into(),
            welcome_message: "Hi! How can we help?".into(),
            away_message: "We're away right now. Leave a message and we'll reply here.".into(),
            prechat_fields: Vec::new(),
            allowed_origins: Vec::new(),
        }
    }
}

impl WidgetSettings {
    fn check(&self) -> ApiResult<()> {
        let hex = self.colour.len() == 7
            && self.colour.starts_with('#')
            && self.colour[1..].chars().all(|c| c.is_ascii_hexdigit());
        if !hex {
            return Err(ApiError::validation("settings.colour", "must be #rrggbb"));
        }
        if !matches!(self.position.as_str(), "right" | "left") {
            return Err(ApiError::validation(
                "settings.position",
                "must be right or left",
            ));
        }
        for (field, text, max) in [
            ("settings.title", &self.title, 60),
            ("settings.welcome_message", &self.welcome_message, 500),
            ("settings.away_message", &self.away_message, 500),
        ] {
            if text.chars().count() > max {
                return Err(ApiError::validation(
                    field,
                    format!("must be at most {max} characters"),
                ));
            }
        }
        if let Some(f) = self
            .prechat_fields
            .iter()
            .find(|f| !matches!(f.as_str(), "name" | "email"))
        {
            return Err(ApiError::validation(
                "settings.prechat_fields",
                format!("unknown field `{f}` (name, email)"),
            ));
        }
        for o in &self.allowed_origins {
            let ok = url::Url::parse(o).is_ok_and(|u| {
                matches!(u.scheme(), "http" | "https") && u.host_str().is_some() && u.path() == "/"
            });
            if !ok {
                return Err(ApiError::validation(
                    "settings.allowed_origins",
                    format!("`{o}` is not an origin like https://shop.example"),
                ));
            }
        }
        Ok(())
    }

    fn allows(&self, origin: Option<&str>) -> bool {
        match origin {
            _ if self.allowed_origins.is_empty() => true,
            None => true,
            Some(o) => self
                .allowed_origins
                .iter()
                .any(|a| a.trim_end_matches('/') == o.trim_end_matches('/')),
        }
    }
}

fn settings_of(w: &WidgetRecord) -> WidgetSettings {
    serde_json::from_str(&w.settings).unwrap_or_default()
}

// ---------------------------------------------------------------- admin API

/// A widget as admins see it.
#[derive(Debug, Serialize, ToSchema)]
pub struct WidgetView {
    /// Id.
    pub id: i64,
    /// Id in the embed snippet.
    pub public_id: String,
    /// Name.
    pub name: String,
    /// Queue new conversations wait in.
    pub queue_id: Option<i64>,
    /// Appearance and behaviour.
    pub settings: WidgetSettings,
    /// The tag to paste into the site.
    pub snippet: String,
    /// Created (UTC).
    pub created_at: DateTime<Utc>,
    /// Last change (UTC).
    pub updated_at: DateTime<Utc>,
    /// Secret for identity verification of logged-in users: shown only when created.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub identity_secret: Option<String>,
}

fn public_base(state: &AppState, headers: &HeaderMap) -> String {
    match &state.config.public_url {
        Some(u) => u.trim_end_matches('/').to_owned(),
        None => {
            let host = headers
                .get(header::HOST)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("localhost");
            format!("http://{host}")
        }
    }
}

fn view(state: &AppState, headers: &HeaderMap, w: WidgetRecord) -> WidgetView {
    let base = public_base(state, headers);
    WidgetView {
        snippet: format!(
            "<script src=\"{base}/widget.js\" data-widget=\"{}\" async></script>",
            w.public_id
        ),
        settings: settings_of(&w),
        id: w.id,
        public_id: w.public_id,
        name: w.name,
        queue_id: w.queue_id,
        created_at: w.created_at,
        updated_at: w.updated_at,
        identity_secret: None,
    }
}

/// A list of widgets.
#[derive(Debug, Serialize, ToSchema)]
pub struct WidgetList {
    /// Widgets.
    pub items: Vec<WidgetView>,
}

/// A widget to create.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewWidget {
    /// Name.
    pub name: String,
    /// Queue for new conversations.
    pub queue_id: Option<i64>,
    /// Appearance and behaviour (defaults for what is omitted).
    #[serde(default)]
    pub settings: Option<Value>,
}

/// Changes to a widget; omitted fields stay.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WidgetPatch {
    /// Name.
    pub name: Option<String>,
    /// Queue (null keeps it; use 0 to clear).
    pub queue_id: Option<i64>,
    /// Settings to change.
    pub settings: Option<Value>,
}

fn merged_settings(base: &WidgetSettings, patch: Option<&Value>) -> ApiResult<WidgetSettings> {
    let mut doc = serde_json::to_value(base).map_err(ApiError::internal)?;
    if let Some(p) = patch {
        let Some(obj) = p.as_object() else {
            return Err(ApiError::validation("settings", "must be an object"));
        };
        if let Some(d) = doc.as_object_mut() {
            for (k, v) in obj {
                d.insert(k.clone(), v.clone());
            }
        }
    }
    let s: WidgetSettings = serde_path_to_error::deserialize(&doc).map_err(|e| {
        let path = e.path().to_string();
        ApiError::validation(&format!("settings.{path}"), e.into_inner().to_string())
    })?;
    s.check()?;
    Ok(s)
}

async fn check_queue(state: &AppState, tenant: TenantId, queue: Option<i64>) -> ApiResult<()> {
    if let Some(q) = queue
        && store::queues::find_queue(&state.store, tenant, q)
            .await?
            .is_none()
    {
        return Err(ApiError::validation(
            "queue_id",
            format!("no queue {q} in this tenant"),
        ));
    }
    Ok(())
}

fn random_id(bytes: usize) -> String {
    let mut b = vec![0u8; bytes];
    rand::rngs::OsRng.fill_bytes(&mut b);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
}

/// Lists the tenant's widgets.
#[utoipa::path(get, path = "/api/v1/tenants/{tid}/widgets", tag = "widget",
    params(("tid" = i64, Path, description = "tenant id")),
    responses((status = 200, body = WidgetList), (status = 403, body = ErrorBody)))]
async fn list_widgets(
    State(state): State<AppState>,
    headers: HeaderMap,
    scope: TenantScope<Admin>,
) -> ApiResult<AppJson<WidgetList>> {
    let items = store::widgets::list_widgets(&state.store, scope.id())
        .await?
        .into_iter()
        .map(|w| view(&state, &headers, w))
        .collect();
    Ok(AppJson(WidgetList { items }))
}

/// Creates a widget; the response carries the identity secret once.
#[utoipa::path(post, path = "/api/v1/tenants/{tid}/widgets", tag = "widget", request_body = NewWidget,
    params(("tid" = i64, Path, description = "tenant id")),
    responses((status = 201, body = WidgetView), (status = 422, body = ErrorBody)))]
async fn create_widget(
    State(state): State<AppState>,
    headers: HeaderMap,
    scope: TenantScope<Admin>,
    AppJson(req): AppJson<NewWidget>,
) -> ApiResult<(StatusCode, AppJson<WidgetView>)> {
    let name = crate::admin::check_name("name", &req.name)?;
    let settings = merged_settings(&WidgetSettings::default(), req.settings.as_ref())?;
    check_queue(&state, scope.id(), req.queue_id).await?;
    let secret = random_id(32);
    let doc = serde_json::to_value(&settings).map_err(ApiError::internal)?;
    let w = store::widgets::insert_widget(
        &state.store,
        scope.id(),
        &random_id(12),
        &name,
        &doc,
        req.queue_id,
        &state.master_key.seal(&secret),
    )
    .await?;
    audit(
        &state.store,
        scope.id(),
        &scope.actor(),
        "widget.create",
        "widget",
        w.id,
        json!({"name": name}),
    )
    .await?;
    let mut v = view(&state, &headers, w);
    v.identity_secret = Some(secret);
    Ok((StatusCode::CREATED, AppJson(v)))
}

/// One widget.
#[utoipa::path(get, path = "/api/v1/tenants/{tid}/widgets/{wid}", tag = "widget",
    params(("tid" = i64, Path, description = "tenant id"), ("wid" = i64, Path, description = "widget id")),
    responses((status = 200, body = WidgetView), (status = 404, body = ErrorBody)))]
async fn get_widget(
    State(state): State<AppState>,
    headers: HeaderMap,
    scope: TenantScope<Admin>,
    AppPath(path): AppPath<(i64, i64)>,
) -> ApiResult<AppJson<WidgetView>> {
    let w = store::widgets::find_widget(&state.store, scope.id(), path.1)
        .await?
        .ok_or_else(|| ApiError::not_found("widget"))?;
    Ok(AppJson(view(&state, &headers, w)))
}

/// Changes a widget.
#[utoipa::path(patch, path = "/api/v1/tenants/{tid}/widgets/{wid}", tag = "widget", request_body = WidgetPatch,
    params(("tid" = i64, Path, description = "tenant id"), ("wid" = i64, Path, description = "widget id")),
    responses((status = 200, body = WidgetView), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update_widget(
    State(state): State<AppState>,
    headers: HeaderMap,
    scope: TenantScope<Admin>,
    AppPath(path): AppPath<(i64, i64)>,
    AppJson(req): AppJson<WidgetPatch>,
) -> ApiResult<AppJson<WidgetView>> {
    let w = store::widgets::find_widget(&state.store, scope.id(), path.1)
        .await?
        .ok_or_else(|| ApiError::not_found("widget"))?;
    let name = match &req.name {
        Some(n) => crate::admin::check_name("name", n)?,
        None => w.name.clone(),
    };
    let settings = merged_settings(&settings_of(&w), req.settings.as_ref())?;
    let queue = match req.queue_id {
        Some(0) => None,
        Some(q) => Some(q),
        None => w.queue_id,
    };
    check_queue(&state, scope.id(), queue).await?;
    let doc = serde_json::to_value(&settings).map_err(ApiError::internal)?;
    store::widgets::update_widget(&state.store, scope.id(), w.id, &name, &doc, queue).await?;
    audit(
        &state.store,
        scope.id(),
        &scope.actor(),
        "widget.update",
        "widget",
        w.id,
        json!({"name": req.name, "queue_id": req.queue_id, "settings": req.settings}),
    )
    .await?;
    let w = store::widgets::find_widget(&state.store, scope.id(), w.id)
        .await?
        .ok_or_else(|| ApiError::not_found("widget"))?;
    Ok(AppJson(view(&state, &headers, w)))
}

/// Deletes a widget (conversations stay; the snippet stops working).
#[utoipa::path(delete, path = "/api/v1/tenants/{tid}/widgets/{wid}", tag = "widget",
    params(("tid" = i64, Path, description = "tenant id"), ("wid" = i64, Path, description = "widget id")),
    responses((status = 204), (status = 404, body = ErrorBody)))]
async fn delete_widget(
    State(state): State<AppState>,
    scope: TenantScope<Admin>,
    AppPath(path): AppPath<(i64, i64)>,
) -> ApiResult<StatusCode> {
    store::widgets::delete_widget(&state.store, scope.id(), path.1)
        .await
        .map_err(|e| match e {
            StoreError::NotFound => ApiError::not_found("widget"),
            other => other.into(),
        })?;
    audit(
        &state.store,
        scope.id(),
        &scope.actor(),
        "widget.delete",
        "widget",
        path.1,
        json!({}),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

// ---------------------------------------------------------------- public side

/// Which widget.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ConfigParams {
    /// The widget's public id (`data-widget`).
    pub widget: String,
}

/// What the widget script needs to draw itself.
#[derive(Debug, Serialize, ToSchema)]
pub struct PublicConfig {
    /// Header title.
    pub title: String,
    /// Accent colour.
    pub colour: String,
    /// `right` or `left`.
    pub position: String,
    /// First line shown.
    pub welcome_message: String,
    /// Shown when nobody is available.
    pub away_message: String,
    /// Pre-chat form fields.
    pub prechat_fields: Vec<String>,
    /// At least one member of the widget's queue is available.
    pub online: bool,
}

fn origin(headers: &HeaderMap) -> Option<&str> {
    headers.get(header::ORIGIN).and_then(|v| v.to_str().ok())
}

async fn public_widget(
    state: &AppState,
    public_id: &str,
    headers: &HeaderMap,
) -> Result<(WidgetRecord, WidgetSettings), Response> {
    let w = match store::widgets::find_widget_by_public_id(&state.store, public_id).await {
        Ok(Some(w)) => w,
        Ok(None) => {
            return Err(envelope(
                StatusCode::NOT_FOUND,
                "not_found",
                "widget not found",
            ));
        }
        Err(e) => return Err(ApiError::from(e).into_response()),
    };
    let settings = settings_of(&w);
    if !settings.allows(origin(headers)) {
        return Err(envelope(
            StatusCode::FORBIDDEN,
            "origin_not_allowed",
            "this site may not embed the widget",
        ));
    }
    Ok((w, settings))
}

/// The widget's public configuration (CORS-enabled for the embedding site).
#[utoipa::path(get, path = "/widget/config", tag = "widget", params(ConfigParams),
    responses((status = 200, body = PublicConfig), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn widget_config(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<ConfigParams>,
) -> Response {
    let (w, s) = match public_widget(&state, &q.widget, &headers).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let tenant = TenantId(w.tenant_id);
    let online = match w.queue_id {
        Some(queue) => state
            .routing
            .live(tenant, queue)
            .await
            .ok()
            .flatten()
            .is_some_and(|(stats, _)| {
                stats.agents.available
                    + stats.agents.busy
                    + stats.agents.ringing
                    + stats.agents.wrapup
                    > 0
            }),
        None => false,
    };
    let body = PublicConfig {
        title: s.title,
        colour: s.colour,
        position: s.position,
        welcome_message: s.welcome_message,
        away_message: s.away_message,
        prechat_fields: s.prechat_fields,
        online,
    };
    let mut res = AppJson(body).into_response();
    if let Some(o) = origin(&headers).and_then(|o| HeaderValue::from_str(o).ok()) {
        res.headers_mut()
            .insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, o);
        res.headers_mut()
            .insert(header::VARY, HeaderValue::from_static("Origin"));
    }
    res
}

type HmacSha256 = Hmac<Sha256>;

fn sign(key: &MasterKey, widget: &str, visitor: &str) -> String {
    let mut mac = match HmacSha256::new_from_slice(&key.derive("widget-visitor")) {
        Ok(m) => m,
        Err(_) => return String::new(),
    };
    mac.update(widget.as_bytes());
    mac.update(b":");
    mac.update(visitor.as_bytes());
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
}

/// A new visitor id and its signed token.
fn new_visitor(key: &MasterKey, widget: &str) -> (String, String) {
    let visitor = random_id(16);
    let token = format!("{visitor}.{}", sign(key, widget, &visitor));
    (visitor, token)
}

/// The visitor id inside a token, if the signature is ours (constant-time comparison).
pub(crate) fn verify_visitor(key: &MasterKey, widget: &str, token: &str) -> Option<String> {
    let (visitor, sig) = token.split_once('.')?;
    let sig = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(sig)
        .ok()?;
    let mut mac = HmacSha256::new_from_slice(&key.derive("widget-visitor")).ok()?;
    mac.update(widget.as_bytes());
    mac.update(b":");
    mac.update(visitor.as_bytes());
    mac.verify_slice(&sig).ok()?;
    Some(visitor.to_owned())
}

/// True when `hash` is hex(HMAC-SHA256(widget identity secret, user_id)).
fn verify_user(key: &MasterKey, widget: &WidgetRecord, user_id: &str, hash: &str) -> bool {
    let Ok(secret) = key.open(&widget.hmac_secret) else {
        return false;
    };
    let Ok(expected) = hex::decode(hash.trim()) else {
        return false;
    };
    let Ok(mut mac) = HmacSha256::new_from_slice(secret.as_bytes()) else {
        return false;
    };
    mac.update(user_id.as_bytes());
    mac.verify_slice(&expected).is_ok()
}

/// Which widget, which visitor, from where.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SocketParams {
    /// The widget's public id.
    pub widget: String,
    /// The visitor token from an earlier `hello`; omitted or invalid = a new visitor.
    pub token: Option<String>,
    /// The last message sequence number shown; later ones are replayed.
    pub since: Option<i64>,
}

/// The visitor's WebSocket (see the README for frames).
#[utoipa::path(get, path = "/widget/ws", tag = "widget", params(SocketParams),
    responses((status = 101, description = "switching to the WebSocket protocol"), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn widget_socket(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<SocketParams>,
    upgrade: WebSocketUpgrade,
) -> Response {
    let (w, _) = match public_widget(&state, &q.widget, &headers).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let known = q
        .token
        .as_deref()
        .and_then(|t| verify_visitor(&state.master_key, &w.public_id, t));
    let (visitor, token) = match (known, &q.token) {
        (Some(v), Some(t)) => (v, t.clone()),
        _ => new_visitor(&state.master_key, &w.public_id),
    };
    let since = q.since.unwrap_or(0).max(0);
    upgrade
        // Visitors send short texts: small frames and small buffers keep the many idle
        // sockets cheap (tungstenite reserves 128 KiB per read buffer by default).
        .max_message_size(64 * 1024)
        .read_buffer_size(4 * 1024)
        .write_buffer_size(4 * 1024)
        .on_upgrade(move |ws| async move {
            if let Err(e) = visitor_session(ws, state, w, visitor, token, since).await {
                tracing::debug!(error = %e, "widget socket closed");
            }
        })
}

#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum VisitorFrame {
    Message {
        client_id: Option<String>,
        content: String,
    },
    Typing {
        on: bool,
    },
    Read {
        seq: i64,
    },
    Identify {
        name: Option<String>,
        email: Option<String>,
        /// The site's own id for a signed-in user, with `user_hash` =
        /// hex(HMAC-SHA256(identity secret, user_id)) computed by the site's server.
        user_id: Option<String>,
        user_hash: Option<String>,
    },
    Ping,
}

#[derive(Debug, thiserror::Error)]
enum SessionError {
    #[error("socket: {0}")]
    Socket(#[from] axum::Error),
    #[error("chat: {0}")]
    Chat(#[from] ChatError),
    #[error("store: {0}")]
    Store(#[from] StoreError),
}

type Sink = futures::stream::SplitSink<WebSocket, Message>;

async fn send(sink: &mut Sink, v: Value) -> Result<(), SessionError> {
    sink.send(Message::Text(v.to_string().into())).await?;
    Ok(())
}

async fn replay(
    sink: &mut Sink,
    state: &AppState,
    tenant: TenantId,
    conversation: i64,
    last: &mut i64,
) -> Result<(), SessionError> {
    let mut names: BTreeMap<i64, Option<String>> = BTreeMap::new();
    loop {
        let page = store::conversations::list_messages(
            &state.store,
            tenant,
            conversation,
            *last,
            200,
            false,
        )
        .await?;
        let full = page.len() == 200;
        for m in page {
            let name = match m.sender_id {
                Some(id) => match names.get(&id) {
                    Some(known) => known.clone(),
                    None => {
                        let n = store::users::find_user(&state.store, UserId(id))
                            .await?
                            .map(|u| u.name);
                        names.insert(id, n.clone());
                        n
                    }
                },
                None => None,
            };
            *last = m.seq;
            send(sink, widget_message_frame(&m, name.as_deref())).await?;
        }
        if !full {
            return Ok(());
        }
    }
}

async fn visitor_session(
    ws: WebSocket,
    state: AppState,
    widget: WidgetRecord,
    visitor: String,
    token: String,
    since: i64,
) -> Result<(), SessionError> {
    let tenant = TenantId(widget.tenant_id);
    let identity = format!("{}:{visitor}", widget.public_id);
    let (mut sink, mut stream) = ws.split();
    let mut pushes = state.chat.subscribe_widgets();
    let mut contact =
        store::contacts::find_by_identity(&state.store, tenant, "widget", &identity).await?;
    let mut conversation = match &contact {
        Some(c) => {
            store::conversations::find_open_conversation(&state.store, tenant, c.id, "widget")
                .await?
        }
        None => None,
    };
    send(
        &mut sink,
        json!({
            "type": "hello", "visitor_token": token,
            "conversation_id": conversation.as_ref().map(|c| c.id),
            "status": conversation.as_ref().map(|c| c.status.clone()),
            "last_seq": conversation.as_ref().map_or(0, |c| c.last_seq),
        }),
    )
    .await?;
    let mut last = since;
    if let Some(c) = &conversation {
        replay(&mut sink, &state, tenant, c.id, &mut last).await?;
        if c.status == "queued"
            && let Some(rc) = c.routing_contact_id
            && let Ok(st) = state.routing.contact_state(tenant, rc).await
            && let (Some(position), Some(ewt)) = (st.position, st.ewt_secs)
        {
            send(
                &mut sink,
                json!({"type": "queue", "position": position, "ewt_secs": ewt}),
            )
            .await?;
        }
    }
    send(&mut sink, json!({"type": "ready"})).await?;
    loop {
        tokio::select! {
            incoming = stream.next() => {
                let text = match incoming {
                    None | Some(Err(_)) | Some(Ok(Message::Close(_))) => return Ok(()),
                    Some(Ok(Message::Text(t))) => t,
                    Some(Ok(_)) => continue,
                };
                let frame: VisitorFrame = match serde_json::from_str(&text) {
                    Ok(f) => f,
                    Err(e) => {
                        send(&mut sink, json!({"type": "error", "code": "bad_frame", "message": e.to_string()})).await?;
                        continue;
                    }
                };
                match frame {
                    VisitorFrame::Ping => send(&mut sink, json!({"type": "pong"})).await?,
                    VisitorFrame::Message { client_id, content } => {
                        let c = match &contact {
                            Some(c) => c.clone(),
                            None => {
                                let c = store::contacts::find_or_create_by_identity(&state.store, tenant, "widget", &identity).await?;
                                contact = Some(c.clone());
                                c
                            }
                        };
                        match state.chat.customer_message(tenant, c.id, "widget", Some((widget.id, widget.queue_id)), client_id.as_deref(), Body::text(&content)).await {
                            Ok((conv, m, _)) => {
                                if conversation.as_ref().map(|c| c.id) != Some(conv.id) {
                                    // A new conversation: this socket follows it from now on.
                                    last = 0;
                                }
                                conversation = Some(conv.clone());
                                // Catch up (the message itself included) in order, then acknowledge.
                                replay(&mut sink, &state, tenant, conv.id, &mut last).await?;
                                send(&mut sink, json!({"type": "ack", "client_id": client_id, "seq": m.seq})).await?;
                            }
                            Err(ChatError::BadMessage) => {
                                send(&mut sink, json!({"type": "error", "code": "bad_message", "message": ChatError::BadMessage.to_string(), "client_id": client_id})).await?;
                            }
                            Err(e) => {
                                // Not stored: say so and keep the socket; the widget re-sends with the
                                // same client id, which the store de-duplicates.
                                tracing::error!(tenant.id = %tenant, error = %e, "storing a visitor message failed");
                                send(&mut sink, json!({"type": "error", "code": "not_saved", "message": "your message could not be saved; it will be retried", "client_id": client_id})).await?;
                            }
                        }
                    }
                    VisitorFrame::Typing { on } => {
                        if let Some(c) = &conversation {
                            state.chat.typing(tenant, c.id, true, on).await?;
                        }
                    }
                    VisitorFrame::Read { seq } => {
                        if let Some(c) = &conversation {
                            state.chat.read(tenant, c.id, true, seq).await?;
                        }
                    }
                    VisitorFrame::Identify { name, email, user_id, user_hash } => {
                        let mut c = store::contacts::find_or_create_by_identity(&state.store, tenant, "widget", &identity).await?;
                        if let (Some(uid), Some(hash)) = (user_id.as_deref(), user_hash.as_deref()) {
                            if !verify_user(&state.master_key, &widget, uid, hash) {
                                send(&mut sink, json!({"type": "error", "code": "identity_rejected", "message": "user_hash does not match user_id"})).await?;
                                continue;
                            }
                            // A verified user is one contact across browsers and devices.
                            let key = format!("{}:{uid}", widget.public_id);
                            match store::contacts::find_by_identity(&state.store, tenant, "widget-user", &key).await? {
                                Some(known) if known.id != c.id => {
                                    store::contacts::add_identity(&state.store, tenant, known.id, "widget", &identity).await?;
                                    c = known;
                                    let open = store::conversations::find_open_conversation(&state.store, tenant, c.id, "widget").await?;
                                    if open.as_ref().map(|o| o.id) != conversation.as_ref().map(|o| o.id) {
                                        conversation = open;
                                        last = 0;
                                        if let Some(o) = &conversation {
                                            send(&mut sink, json!({"type": "hello", "visitor_token": token, "conversation_id": o.id, "status": o.status, "last_seq": o.last_seq})).await?;
                                            replay(&mut sink, &state, tenant, o.id, &mut last).await?;
                                        }
                                    }
                                }
                                Some(_) => {}
                                None => store::contacts::add_identity(&state.store, tenant, c.id, "widget-user", &key).await?,
                            }
                        }
                        let name = name.map(|n| n.trim().chars().take(120).collect::<String>()).filter(|n| !n.is_empty());
                        let email = email.and_then(|e| crate::domain::Email::parse(&e).ok()).map(|e| e.to_string());
                        store::contacts::update_contact_details(&state.store, tenant, c.id, name.as_deref(), email.as_deref(), None).await?;
                        contact = Some(c);
                    }
                }
            }
            push = pushes.recv() => match push {
                Ok(p) => {
                    if p.visitor.as_deref() == Some(identity.as_str()) {
                        // This visitor's conversation started elsewhere (a file sent over HTTP).
                        if conversation.as_ref().map(|c| c.id) != Some(p.conversation_id) {
                            conversation = store::conversations::find_conversation(&state.store, tenant, p.conversation_id).await?;
                            last = 0;
                            contact = store::contacts::find_by_identity(&state.store, tenant, "widget", &identity).await?;
                        }
                        if let Some(c) = &conversation {
                            replay(&mut sink, &state, tenant, c.id, &mut last).await?;
                        }
                        continue;
                    }
                    let Some(c) = &conversation else { continue };
                    if p.conversation_id != c.id {
                        continue;
                    }
                    match p.frame["seq"].as_i64() {
                        // Messages come in sequence; anything out of order is read from the store.
                        Some(seq) if seq <= last => {}
                        Some(seq) if seq == last + 1 => {
                            last = seq;
                            send(&mut sink, p.frame.clone()).await?;
                        }
                        Some(_) => replay(&mut sink, &state, tenant, c.id, &mut last).await?,
                        None => send(&mut sink, p.frame.clone()).await?,
                    }
                }
                Err(RecvError::Lagged(_)) => {
                    if let Some(c) = &conversation {
                        replay(&mut sink, &state, tenant, c.id, &mut last).await?;
                    }
                }
                Err(RecvError::Closed) => return Ok(()),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn visitor_tokens_verify_for_their_widget_only() {
        let key = MasterKey::from_hex(&"ab".repeat(32)).unwrap();
        let (visitor, token) = new_visitor(&key, "w1");
        assert_eq!(
            verify_visitor(&key, "w1", &token).as_deref(),
            Some(visitor.as_str())
        );
        assert_eq!(verify_visitor(&key, "w2", &token), None);
        let forged = format!("{}x.{}", visitor, token.split_once('.').unwrap().1);
        assert_eq!(verify_visitor(&key, "w1", &forged), None);
        assert_eq!(verify_visitor(&key, "w1", "garbage"), None);
    }

    #[test]
    fn settings_are_checked_and_origins_enforced() {
        let mut s = WidgetSettings::default();
        s.check().unwrap();
        assert!(s.allows(Some("https://anything.example")));
        s.allowed_origins = vec!["https://shop.example".into()];
        s.check().unwrap();
        assert!(s.allows(Some("https://shop.example")));
        assert!(!s.allows(Some("https://evil.example")));
        s.colour = "red".into();
        assert!(s.check().is_err());
    }
}
