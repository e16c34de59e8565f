//! `GET /api/v1/ws?tenant=ID&since=SEQ`: one WebSocket per agent or supervisor.
//!
//! Server → client text frames (JSON):
//! - `{"type":"event","seq":N,"kind":"…","payload":{…},"at":"…"}` for each event the caller may
//!   see, in sequence order: first those after `since` from the log, then live ones; an event
//!   addressed to one user (an offer, a call on their phone) also carries `"user_id":U`;
//! - `{"type":"ready","seq":N}` once the missed events have been replayed;
//! - `{"type":"pong"}` in answer to `{"type":"ping"}`.
//!
//! Agents see events for everyone and those addressed to them (their offers); supervisors and
//! above see every event. Browsers send cookies with the upgrade, so the `Origin` must be this
//! service's own (cross-site WebSocket hijacking).

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, header};
use axum::response::Response;
use futures::{SinkExt, StreamExt};
use serde::Deserialize;
use tokio::sync::broadcast::error::RecvError;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::hub::{EventHub, LiveEvent};
use crate::app::AppState;
use crate::auth::{Authenticated, enter_tenant};
use crate::domain::{Role, TenantId};
use crate::http::error::{ApiError, ErrorBody};
use crate::store;

/// The routes of this module.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(socket))
}

/// Which tenant's stream, from where.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SocketParams {
    /// Tenant id.
    pub tenant: i64,
    /// The last sequence number the client saw; events after it are replayed first.
    /// Omitted: only new events.
    pub since: Option<i64>,
}

/// The real-time event stream (WebSocket upgrade).
#[utoipa::path(get, path = "/api/v1/ws", tag = "realtime", params(SocketParams),
    responses((status = 101, description = "switching to the WebSocket protocol"),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn socket(
    State(state): State<AppState>,
    Authenticated(principal): Authenticated,
    Query(params): Query<SocketParams>,
    headers: HeaderMap,
    upgrade: WebSocketUpgrade,
) -> Result<Response, ApiError> {
    check_origin(&headers)?;
    let tenant = TenantId(params.tenant);
    let (_, role) = enter_tenant(&state, &principal, tenant).await?;
    let user = principal.user_id();
    let queues = match user {
        Some(u) if role < Role::Supervisor => {
            store::queues::queues_of_member(&state.store, tenant, u).await?
        }
        _ => Vec::new(),
    };
    let participating = match user {
        Some(u) if role < Role::Supervisor => {
            store::conversations::participating_in(&state.store, tenant, u.get()).await?
        }
        _ => Vec::new(),
    };
    let mut viewer = Viewer {
        user: user.map(|u| u.get()),
        // API keys act for integrations, which follow everything they are allowed into.
        sees_all: role >= Role::Supervisor || user.is_none(),
        queues,
        participating,
    };
    let since = match params.since {
        Some(s) => s.max(0),
        None => store::events::latest_seq(&state.store, tenant).await?,
    };
    let hub = state.events.clone();
    Ok(upgrade.on_upgrade(move |ws| async move {
        if let Err(e) = serve(ws, hub, tenant, &mut viewer, since).await {
            tracing::debug!(tenant.id = %tenant, error = %e, "event socket closed");
        }
    }))
}

fn check_origin(headers: &HeaderMap) -> Result<(), ApiError> {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        // Not a browser (API clients): nothing ambient to abuse.
        return Ok(());
    };
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let origin_host = origin.split("://").nth(1).unwrap_or_default();
    if !host.is_empty() && origin_host == host {
        Ok(())
    } else {
        Err(ApiError::forbidden("cross-origin WebSocket refused"))
    }
}

#[derive(Debug, Clone)]
struct Viewer {
    user: Option<i64>,
    sees_all: bool,
    /// The queues an agent serves (read at connect; a reconnect picks up changes).
    queues: Vec<i64>,
    /// Conversations a colleague @mentioned this agent in; grows as mentions arrive.
    participating: Vec<i64>,
}

impl Viewer {
    /// Supervisors and above see everything. Agents see what is addressed to them, and events
    /// about a conversation only when it is theirs, in one of their queues, or in no queue and
    /// unassigned (so someone can pick it up).
    fn may_see(&mut self, e: &LiveEvent) -> bool {
        if self.sees_all {
            return true;
        }
        if e.user_id.is_some_and(|u| Some(u) == self.user) {
            if e.kind == "mention"
                && let Some(c) = e.payload["conversation_id"].as_i64()
                && !self.participating.contains(&c)
            {
                self.participating.push(c);
            }
            return true;
        }
        if e.user_id.is_some() {
            return false;
        }
        if e.payload.get("conversation_id").is_none() {
            return true;
        }
        let assigned = e.payload["assigned_agent_id"].as_i64();
        let queue = e.payload["queue_id"].as_i64();
        (assigned.is_some() && assigned == self.user)
            || queue.is_some_and(|q| self.queues.contains(&q))
            || (assigned.is_none() && queue.is_none())
            || e.payload["conversation_id"]
                .as_i64()
                .is_some_and(|c| self.participating.contains(&c))
    }
}

#[derive(Debug, thiserror::Error)]
enum SocketError {
    #[error("socket: {0}")]
    Socket(#[from] axum::Error),
    #[error("store: {0}")]
    Store(#[from] store::StoreError),
    #[error("encode: {0}")]
    Encode(#[from] serde_json::Error),
}

async fn send_event(
    ws: &mut futures::stream::SplitSink<WebSocket, Message>,
    e: &LiveEvent,
) -> Result<(), SocketError> {
    let mut v = serde_json::to_value(e)?;
    if let Some(o) = v.as_object_mut() {
        o.insert("type".into(), "event".into());
    }
    ws.send(Message::Text(v.to_string().into())).await?;
    Ok(())
}

/// Sends stored events after `*last` (as many pages as it takes), advancing `*last`.
async fn replay(
    sink: &mut futures::stream::SplitSink<WebSocket, Message>,
    hub: &EventHub,
    tenant: TenantId,
    viewer: &mut Viewer,
    last: &mut i64,
) -> Result<(), SocketError> {
    loop {
        let page = store::events::list_events_since(hub.store(), tenant, *last, 500).await?;
        let full = page.len() == 500;
        for r in page {
            let e = LiveEvent::from_record(tenant, r);
            *last = e.seq;
            if viewer.may_see(&e) {
                send_event(sink, &e).await?;
            }
        }
        if !full {
            return Ok(());
        }
    }
}

async fn serve(
    ws: WebSocket,
    hub: EventHub,
    tenant: TenantId,
    viewer: &mut Viewer,
    since: i64,
) -> Result<(), SocketError> {
    let (mut sink, mut stream) = ws.split();
    // Subscribe before reading the log so nothing published meanwhile is lost; duplicates
    // are skipped by sequence number.
    let mut live = hub.subscribe();
    let mut last = since;
    replay(&mut sink, &hub, tenant, viewer, &mut last).await?;
    sink.send(Message::Text(
        serde_json::json!({"type": "ready", "seq": last})
            .to_string()
            .into(),
    ))
    .await?;
    loop {
        tokio::select! {
            incoming = stream.next() => match incoming {
                None | Some(Err(_)) | Some(Ok(Message::Close(_))) => return Ok(()),
                Some(Ok(Message::Text(t))) => {
                    if serde_json::from_str::<serde_json::Value>(&t).ok().and_then(|v| v.get("type").cloned()) == Some("ping".into()) {
                        sink.send(Message::Text(r#"{"type":"pong"}"#.into())).await?;
                    }
                }
                Some(Ok(_)) => {}
            },
            event = live.recv() => match event {
                Ok(e) => {
                    if e.tenant != tenant || e.seq <= last {
                        continue;
                    }
                    if e.seq > last + 1 {
                        // Published by another writer out of order, or missed: read the gap from the log.
                        replay(&mut sink, &hub, tenant, viewer, &mut last).await?;
                        continue;
                    }
                    last = e.seq;
                    if viewer.may_see(&e) {
                        send_event(&mut sink, &e).await?;
                    }
                }
                // Too slow to keep up: catch up from the log instead of dropping anything.
                Err(RecvError::Lagged(_)) => replay(&mut sink, &hub, tenant, viewer, &mut last).await?,
                Err(RecvError::Closed) => return Ok(()),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(user: Option<i64>) -> LiveEvent {
        LiveEvent {
            tenant: TenantId(1),
            seq: 1,
            kind: "offer".into(),
            user_id: user,
            payload: serde_json::Value::Null,
            at: chrono::Utc::now(),
        }
    }

    #[test]
    fn agents_see_broadcasts_and_their_own_events_supervisors_see_all() {
        let mut agent = Viewer {
            user: Some(7),
            sees_all: false,
            queues: vec![3],
            participating: vec![],
        };
        let mut sup = Viewer {
            user: Some(8),
            sees_all: true,
            queues: vec![],
            participating: vec![],
        };
        assert!(agent.may_see(&event(None)));
        assert!(agent.may_see(&event(Some(7))));
        assert!(!agent.may_see(&event(Some(9))));
        assert!(sup.may_see(&event(Some(9))));
    }

    #[test]
    fn agents_see_conversation_events_of_their_queues_their_own_and_unrouted_ones() {
        let mut agent = Viewer {
            user: Some(7),
            sees_all: false,
            queues: vec![3],
            participating: vec![],
        };
        let about = |queue: Option<i64>, assigned: Option<i64>| LiveEvent {
            payload: serde_json::json!({"conversation_id": 1, "queue_id": queue, "assigned_agent_id": assigned}),
            ..event(None)
        };
        assert!(agent.may_see(&about(Some(3), None)), "waiting in my queue");
        assert!(agent.may_see(&about(Some(9), Some(7))), "assigned to me");
        assert!(agent.may_see(&about(None, None)), "nobody's yet");
        assert!(!agent.may_see(&about(Some(9), None)), "another queue");
        assert!(
            agent.may_see(&about(Some(3), Some(8))),
            "a colleague's, in my queue"
        );
        assert!(
            !agent.may_see(&about(Some(9), Some(8))),
            "a colleague's, elsewhere"
        );
    }

    #[test]
    fn a_foreign_origin_is_refused_and_a_missing_one_allowed() {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, "sb.example.com".parse().unwrap());
        assert!(check_origin(&h).is_ok());
        h.insert(header::ORIGIN, "https://sb.example.com".parse().unwrap());
        assert!(check_origin(&h).is_ok());
        h.insert(header::ORIGIN, "https://evil.example".parse().unwrap());
        assert!(check_origin(&h).is_err());
    }

    #[test]
    fn a_mention_lets_an_agent_follow_a_conversation_outside_their_queues() {
        let mut agent = Viewer {
            user: Some(7),
            sees_all: false,
            queues: vec![3],
            participating: vec![],
        };
        let message = LiveEvent {
            kind: "message".into(),
            payload: serde_json::json!({"conversation_id": 5, "queue_id": 9, "assigned_agent_id": 8}),
            ..event(None)
        };
        assert!(!agent.may_see(&message), "a colleague's, elsewhere");
        let mention = LiveEvent {
            kind: "mention".into(),
            payload: serde_json::json!({"conversation_id": 5, "user_id": 7}),
            ..event(Some(7))
        };
        assert!(agent.may_see(&mention));
        assert!(agent.may_see(&message), "followed since the mention");
    }
}
