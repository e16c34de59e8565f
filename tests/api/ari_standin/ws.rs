//! The events WebSocket, `/ari/events?app=…`: auth checked on the upgrade, then every event
//! the world emits, until the test drops the socket. `RESTRequest` frames sent on it are
//! answered with `RESTResponse` frames, as Asterisk 20.14/21.9/22.4 and later do (unless the
//! test makes it an older Asterisk, which ignores them).

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;
use tokio::sync::broadcast::error::RecvError;

use super::rest::{answer, authorised, parse_query, unauthorised};
use super::state::Shared;

pub async fn events(State(shared): State<Arc<Shared>>, req: Request) -> Response {
    let (mut parts, _) = req.into_parts();
    let query = parse_query(parts.uri.query());
    if !authorised(&parts.headers, &query) {
        return unauthorised();
    }
    let app = shared.lock().app.clone();
    let apps: Vec<String> = query
        .iter()
        .filter(|(k, _)| k == "app")
        .flat_map(|(_, v)| v.split(',').map(str::to_owned).collect::<Vec<_>>())
        .collect();
    if apps.is_empty() {
        return (
            StatusCode::BAD_REQUEST,
            axum::Json(json!({"message": "missing param: [app]"})),
        )
            .into_response();
    }
    let ws = match WebSocketUpgrade::from_request_parts(&mut parts, &shared).await {
        Ok(ws) => ws,
        Err(e) => return e.into_response(),
    };
    let for_us = apps.contains(&app);
    // Subscribe before the upgrade completes so no event emitted after the client sees
    // the 101 is lost.
    let rx = for_us.then(|| shared.events.subscribe());
    let drop_rx = shared.drop_ws.subscribe();
    ws.on_upgrade(move |socket| serve(shared, socket, rx, drop_rx))
}

async fn serve(
    shared: Arc<Shared>,
    mut socket: WebSocket,
    rx: Option<tokio::sync::broadcast::Receiver<String>>,
    mut drop_rx: tokio::sync::watch::Receiver<u64>,
) {
    *shared.connections.lock().unwrap() += 1;
    *shared.open.lock().unwrap() += 1;
    // Counted down however the socket ends.
    struct Open(Arc<Shared>);
    impl Drop for Open {
        fn drop(&mut self) {
            *self.0.open.lock().unwrap() -= 1;
        }
    }
    let _open = Open(shared.clone());
    let Some(mut rx) = rx else {
        // Another app's socket: it hears nothing from ours.
        let _ = drop_rx.changed().await;
        return;
    };
    loop {
        tokio::select! {
            _ = drop_rx.changed() => {
                // As Asterisk does when a write times out: the socket just goes away.
                let _ = socket.send(Message::Close(None)).await;
                return;
            }
            ev = rx.recv() => match ev {
                Ok(text) => {
                    if socket.send(Message::Text(text.into())).await.is_err() {
                        return;
                    }
                }
                Err(RecvError::Lagged(_)) => continue,
                Err(RecvError::Closed) => return,
            },
            incoming = socket.recv() => match incoming {
                Some(Ok(Message::Ping(data))) => {
                    let _ = socket.send(Message::Pong(data)).await;
                }
                Some(Ok(Message::Text(text))) => {
                    if let Some(reply) = rest_request(&shared, text.as_str())
                        && socket.send(Message::Text(reply.into())).await.is_err()
                    {
                        return;
                    }
                }
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return,
                Some(Ok(_)) => {}
            },
        }
    }
}

#[derive(serde::Deserialize)]
struct RestRequest {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    transaction_id: String,
    #[serde(default)]
    request_id: String,
    method: String,
    uri: String,
    #[serde(default)]
    query_strings: Vec<QueryString>,
    #[serde(default)]
    content_type: Option<String>,
    #[serde(default)]
    message_body: Option<String>,
}

#[derive(serde::Deserialize)]
struct QueryString {
    name: String,
    value: String,
}

/// The `RESTResponse` frame for a `RESTRequest` frame; `None` for anything else, or when
/// playing an Asterisk older than REST over the socket.
fn rest_request(shared: &Arc<Shared>, text: &str) -> Option<String> {
    if !shared
        .rest_over_socket
        .load(std::sync::atomic::Ordering::Relaxed)
    {
        return None;
    }
    let request: RestRequest = serde_json::from_str(text).ok()?;
    if request.kind != "RESTRequest" {
        return None;
    }
    let mut query: Vec<(String, String)> = request
        .query_strings
        .into_iter()
        .map(|q| (q.name, q.value))
        .collect();
    let body = match (request.content_type.as_deref(), request.message_body) {
        (Some("application/x-www-form-urlencoded"), Some(form)) => {
            query.extend(parse_query(Some(&form)));
            None
        }
        (_, Some(text)) => serde_json::from_str(&text).ok(),
        (_, None) => None,
    };
    let method = axum::http::Method::from_bytes(request.method.as_bytes()).ok()?;
    let path = format!("/ari/{}", request.uri.trim_start_matches('/'));
    let reply = answer(shared, &method, &path, query, body, true);
    let status = StatusCode::from_u16(reply.status).unwrap();
    let mut frame = json!({
        "type": "RESTResponse",
        "transaction_id": request.transaction_id,
        "request_id": request.request_id,
        "status_code": reply.status,
        "reason_phrase": status.canonical_reason().unwrap_or_default(),
        "uri": request.uri,
        "application": shared.lock().app.clone(),
        "timestamp": super::events::timestamp(),
        "asterisk_id": super::events::ASTERISK_ID,
    });
    if let Some(body) = reply.body {
        frame["content_type"] = "application/json".into();
        frame["message_body"] = body.to_string().into();
    }
    Some(frame.to_string())
}
