//! The visitor's side: the public configuration, signed visitor tokens and the widget socket.

use super::*;

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(widget_config))
        .routes(routes!(widget_socket))
}

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
    /// Within business hours (always true without hours).
    pub open: bool,
    /// Outside business hours: when the widget opens again (UTC), if within two weeks.
    pub opens_at: Option<chrono::DateTime<chrono::Utc>>,
    /// Shown outside business hours.
    pub closed_message: String,
}

pub(crate) fn origin(headers: &HeaderMap) -> Option<&str> {
    headers.get(header::ORIGIN).and_then(|v| v.to_str().ok())
}

pub(super) async fn public_widget(
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
pub(super) async fn widget_config(
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
        Some(queue) => state.routing.queue_staffed(tenant, queue).await,
        None => false,
    };
    let (open, opens_at) = s.open_now(chrono::Utc::now());
    let body = PublicConfig {
        title: s.title,
        colour: s.colour,
        position: s.position,
        welcome_message: s.welcome_message,
        away_message: s.away_message,
        prechat_fields: s.prechat_fields,
        online,
        open,
        opens_at,
        closed_message: s.closed_message,
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

pub(super) type HmacSha256 = Hmac<Sha256>;

pub(super) fn sign(key: &MasterKey, widget: &str, visitor: &str) -> String {
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
pub(super) fn new_visitor(key: &MasterKey, widget: &str) -> (String, String) {
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
pub(super) fn verify_user(
    key: &MasterKey,
    widget: &WidgetRecord,
    user_id: &str,
    hash: &str,
) -> bool {
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
pub(super) async fn widget_socket(
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
pub(super) enum VisitorFrame {
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
        /// E.164; kept only for a verified user (below), since calls from the number are then
        /// shown as this customer.
        phone: Option<String>,
        /// The site's own id for a signed-in user, with `user_hash` =
        /// hex(HMAC-SHA256(identity secret, user_id)) computed by the site's server.
        user_id: Option<String>,
        user_hash: Option<String>,
    },
    Ping,
}

#[derive(Debug, thiserror::Error)]
pub(super) enum SessionError {
    #[error("socket: {0}")]
    Socket(#[from] axum::Error),
    #[error("chat: {0}")]
    Chat(#[from] ChatError),
    #[error("store: {0}")]
    Store(#[from] StoreError),
}

pub(super) type Sink = futures::stream::SplitSink<WebSocket, Message>;

pub(super) async fn send(sink: &mut Sink, v: Value) -> Result<(), SessionError> {
    sink.send(Message::Text(v.to_string().into())).await?;
    Ok(())
}

pub(super) async fn replay(
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
        if let Some(top) = page
            .iter()
            .filter(|m| m.sender != "customer" && m.delivery_status == "sent")
            .map(|m| m.seq)
            .max()
        {
            state.chat.delivered(tenant, conversation, top).await?;
        }
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

pub(super) async fn visitor_session(
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
    // The open conversation, or else the latest closed one so a returning visitor sees the
    // history (their next message starts a new conversation).
    let mut conversation = match &contact {
        Some(c) => {
            store::conversations::find_latest_conversation(&state.store, tenant, c.id, "widget")
                .await?
        }
        None => None,
    };
    let agent_name = match conversation.as_ref().and_then(|c| c.assigned_agent_id) {
        Some(a) => store::users::find_user(&state.store, UserId(a))
            .await?
            .map(|u| u.name),
        None => None,
    };
    send(
        &mut sink,
        json!({
            "type": "hello", "visitor_token": token,
            "conversation_id": conversation.as_ref().map(|c| c.id),
            "status": conversation.as_ref().map(|c| c.status.clone()),
            "agent_name": agent_name,
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
                                // Catch up (the message itself included) in order, then acknowledge;
                                // the usual case is just this message, sent without a read.
                                if m.seq == last + 1 {
                                    last = m.seq;
                                    send(&mut sink, widget_message_frame(&m, None)).await?;
                                } else {
                                    replay(&mut sink, &state, tenant, conv.id, &mut last).await?;
                                }
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
                    VisitorFrame::Identify { name, email, phone, user_id, user_hash } => {
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
                        // Anyone can type a name; a phone number also says who is calling, so
                        // only a user the site vouched for (a matching user_hash) sets one.
                        let verified = user_id.is_some() && user_hash.is_some();
                        let phone = phone
                            .map(|p| p.chars().filter(|c| !matches!(c, ' ' | '-' | '(' | ')' | '.')).collect::<String>())
                            .filter(|p| verified && crate::ivr::is_e164(p));
                        let details = store::contacts::ContactDetails {
                            name: name.as_deref(),
                            email: email.as_deref(),
                            phone: phone.as_deref(),
                            metadata: None,
                        };
                        store::contacts::update_contact_details(&state.store, tenant, c.id, &details).await?;
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
                    // Only messages are numbered; receipts, typing and status frames pass straight on.
                    let seq = if p.frame["type"] == "message" { p.frame["seq"].as_i64() } else { None };
                    match seq {
                        // Messages come in sequence; anything out of order is read from the store.
                        Some(seq) if seq <= last => {}
                        Some(seq) if seq == last + 1 => {
                            last = seq;
                            if p.frame["sender"] != "customer" {
                                // Handed to the visitor's socket: delivered (read comes from the widget).
                                // Recorded first, so whoever sees the message also sees the status.
                                state.chat.delivered(tenant, c.id, seq).await?;
                            }
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
