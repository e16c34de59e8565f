//! `EventHub`: persist an event, then fan it out to every connected socket of this process.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::Serialize;
use tokio::sync::broadcast;

use crate::domain::TenantId;
use crate::store::events::EventRecord;
use crate::store::{self, Store, StoreError};

/// An event as sockets receive it.
#[derive(Debug, Clone, Serialize)]
pub struct LiveEvent {
    /// Its tenant.
    #[serde(skip)]
    pub tenant: TenantId,
    /// Per-tenant sequence number.
    pub seq: i64,
    /// Kind, e.g. `offer`, `assigned`, `presence`.
    pub kind: String,
    /// The one user it is for (`None`: every member). Supervisors see all, so their pages
    /// need it to tell their own offers and calls from their agents'.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_id: Option<i64>,
    /// What happened.
    pub payload: serde_json::Value,
    /// When (UTC).
    pub at: DateTime<Utc>,
}

impl LiveEvent {
    /// Rebuilds a stored event.
    pub fn from_record(tenant: TenantId, r: EventRecord) -> Self {
        LiveEvent {
            tenant,
            seq: r.seq,
            kind: r.kind,
            user_id: r.user_id,
            payload: serde_json::from_str(&r.payload).unwrap_or(serde_json::Value::Null),
            at: r.created_at,
        }
    }
}

/// Publishes events; cheap to clone.
#[derive(Clone)]
pub struct EventHub {
    store: Store,
    tx: broadcast::Sender<Arc<LiveEvent>>,
}

impl EventHub {
    /// A hub over `store`.
    pub fn new(store: Store) -> Self {
        // A socket that falls this far behind re-reads the log instead (see ws.rs).
        let (tx, _) = broadcast::channel(4096);
        EventHub { store, tx }
    }

    /// Stores the event, then pushes it to live sockets.
    pub async fn publish(
        &self,
        tenant: TenantId,
        kind: &str,
        user_id: Option<i64>,
        payload: serde_json::Value,
    ) -> Result<Arc<LiveEvent>, StoreError> {
        let record =
            store::events::append_event(&self.store, tenant, kind, user_id, &payload).await?;
        let event = Arc::new(LiveEvent {
            tenant,
            seq: record.seq,
            kind: record.kind,
            user_id,
            payload,
            at: record.created_at,
        });
        // No socket listening is fine: the event is in the log.
        let _ = self.tx.send(event.clone());
        Ok(event)
    }

    /// Live events of every tenant (filter by `tenant`).
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<LiveEvent>> {
        self.tx.subscribe()
    }

    /// The store the log lives in.
    pub fn store(&self) -> &Store {
        &self.store
    }
}
