//! The events WebSocket, `/ari/events?app=…`: auth checked on the upgrade, then every event
//! the world emits, until the test drops the socket.

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;
use tokio::sync::broadcast::error::RecvError;

use super::rest::{authorised, parse_query, unauthorised};
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
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return,
                Some(Ok(_)) => {}
            },
        }
    }
}
