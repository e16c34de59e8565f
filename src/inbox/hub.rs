//! `EventHub`: persist an event, then fan it out to every connected socket of this process.
//!
//! Events are stored by one writer task: what gathered while it was writing goes in the next
//! statement, with consecutive numbers (a call setup publishes half a dozen events; under
//! load they share statements instead of each taking the database's single writer).

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

use chrono::{DateTime, Utc};
use serde::Serialize;
use tokio::sync::{broadcast, mpsc, oneshot};

use crate::domain::TenantId;
use crate::store::events::{ContactChange, EventRecord, NewEvent};
use crate::store::{self, Store, StoreError};

/// Events stored in one statement at most.
const MAX_BATCH: usize = 256;

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
    // Started by the first publish (a runtime is running by then).
    writer: Arc<OnceLock<mpsc::UnboundedSender<Item>>>,
}

/// What the writer takes: an event, or a caller waiting for the events ahead of it.
enum Item {
    Event(Pending),
    Flush(oneshot::Sender<()>),
}

struct Pending {
    event: Unstored,
    done: oneshot::Sender<Result<Arc<LiveEvent>, StoreError>>,
}

impl EventHub {
    /// A hub over `store`.
    pub fn new(store: Store) -> Self {
        // A socket that falls this far behind re-reads the log instead (see ws.rs).
        let (tx, _) = broadcast::channel(4096);
        EventHub {
            store,
            tx,
            writer: Arc::new(OnceLock::new()),
        }
    }

    /// The one writer task's queue, started by the first publish (a runtime runs by then).
    fn writer(&self) -> &mpsc::UnboundedSender<Item> {
        self.writer.get_or_init(|| {
            let (queue, pending) = mpsc::unbounded_channel();
            tokio::spawn(write_events(self.store.clone(), self.tx.clone(), pending));
            queue
        })
    }

    /// Hands an event to the writer (in order with every other); the event comes back if the
    /// writer is gone, which happens only when the runtime is shutting down.
    fn hand_over(
        &self,
        tenant: TenantId,
        kind: &str,
        user_id: Option<i64>,
        payload: serde_json::Value,
        contact: Option<ContactChange>,
    ) -> (Queued, Option<Pending>) {
        let (done, stored) = oneshot::channel();
        let pending = Pending {
            event: Unstored {
                tenant,
                kind: kind.to_owned(),
                user_id,
                payload,
                contact,
            },
            done,
        };
        let unsent = match self.writer().send(Item::Event(pending)) {
            Ok(()) => None,
            Err(mpsc::error::SendError(Item::Event(p))) => Some(p),
            Err(_) => None,
        };
        (Queued(stored), unsent)
    }

    /// Stores the event, then pushes it to live sockets; returns once it is stored.
    pub async fn publish(
        &self,
        tenant: TenantId,
        kind: &str,
        user_id: Option<i64>,
        payload: serde_json::Value,
    ) -> Result<Arc<LiveEvent>, StoreError> {
        match self.hand_over(tenant, kind, user_id, payload, None) {
            (stored, None) => stored.stored().await,
            // No writer any more: store it here.
            (_, Some(p)) => store_one(&self.store, &self.tx, p.event).await,
        }
    }

    /// Hands the event to the writer, in order with every other, and returns at once; the
    /// returned [`Queued`] resolves once it is stored. For publishers that must not wait
    /// while they hold a lock but must not answer before their events are in the log.
    pub fn queue(
        &self,
        tenant: TenantId,
        kind: &str,
        user_id: Option<i64>,
        payload: serde_json::Value,
    ) -> Queued {
        // Unsent (the runtime stopping), the event is dropped with its `done`: `stored` says so.
        self.hand_over(tenant, kind, user_id, payload, None).0
    }

    /// [`queue`](Self::queue) for an event that tells a routing contact's new status: the
    /// contact's row changes with the event, in the same round trip to the database (and in
    /// order with every other event's change).
    pub fn queue_with_contact(
        &self,
        tenant: TenantId,
        kind: &str,
        user_id: Option<i64>,
        payload: serde_json::Value,
        contact: ContactChange,
    ) -> Queued {
        self.hand_over(tenant, kind, user_id, payload, Some(contact))
            .0
    }

    /// Like [`publish`](Self::publish) without waiting for the number: for notices whose
    /// publisher has nothing to do with the stored event (a call's cards). They keep their
    /// place among the others (one writer, in order), and while the writer is busy they
    /// gather and share its next statement. A failure is logged by the writer.
    pub fn publish_detached(
        &self,
        tenant: TenantId,
        kind: &str,
        user_id: Option<i64>,
        payload: serde_json::Value,
    ) {
        if self
            .hand_over(tenant, kind, user_id, payload, None)
            .1
            .is_some()
        {
            tracing::warn!(tenant.id = %tenant, kind, "event not stored: the service is stopping");
        }
    }

    /// Returns once every event handed over before is stored (or failed to be): at shutdown,
    /// before the database closes, since some carry routing contacts' changes.
    pub async fn flush(&self) {
        let Some(writer) = self.writer.get() else {
            return;
        };
        let (done, wait) = oneshot::channel();
        if writer.send(Item::Flush(done)).is_ok() {
            let _ = wait.await;
        }
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

/// An event handed to the writer (see [`EventHub::queue`]).
pub struct Queued(oneshot::Receiver<Result<Arc<LiveEvent>, StoreError>>);

impl Queued {
    /// Waits until the event is stored.
    pub async fn stored(self) -> Result<Arc<LiveEvent>, StoreError> {
        self.0.await.map_err(|_| {
            StoreError::Database(sqlx::Error::Protocol("event writer stopped".into()))
        })?
    }
}

async fn write_events(
    store: Store,
    tx: broadcast::Sender<Arc<LiveEvent>>,
    mut pending: mpsc::UnboundedReceiver<Item>,
) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while pending.recv_many(&mut batch, MAX_BATCH).await > 0 {
        // Let the tasks already waiting to run have their turn first: under load they publish
        // too, and their events then share this statement. No timer is armed; with nothing
        // else ready this returns at once.
        tokio::task::yield_now().await;
        while batch.len() < MAX_BATCH {
            match pending.try_recv() {
                Ok(p) => batch.push(p),
                Err(_) => break,
            }
        }
        let mut per_tenant: BTreeMap<TenantId, Vec<Pending>> = BTreeMap::new();
        let mut flushed = Vec::new();
        for item in batch.drain(..) {
            match item {
                Item::Event(p) => per_tenant.entry(p.event.tenant).or_default().push(p),
                Item::Flush(done) => flushed.push(done),
            }
        }
        for (tenant, events) in per_tenant {
            write_tenant(&store, &tx, tenant, events).await;
        }
        for done in flushed {
            let _ = done.send(());
        }
    }
}

async fn write_tenant(
    store: &Store,
    tx: &broadcast::Sender<Arc<LiveEvent>>,
    tenant: TenantId,
    events: Vec<Pending>,
) {
    if events.len() > 1 {
        let rows: Vec<NewEvent> = events
            .iter()
            .map(|p| NewEvent {
                kind: p.event.kind.clone(),
                user_id: p.event.user_id,
                payload: p.event.payload.to_string(),
                contact: p.event.contact.clone(),
            })
            .collect();
        match store::events::append_events(store, tenant, &rows).await {
            Ok(records) => {
                // One statement stores all or nothing; a short answer would be a driver fault,
                // told to the publishers it left out rather than stored twice.
                let mut records = records.into_iter();
                for p in events {
                    let stored = records
                        .next()
                        .map(|r| announce(tx, tenant, r, p.event.payload))
                        .ok_or_else(|| StoreError::Corrupt("event batch answered short".into()));
                    deliver(p.done, tenant, stored);
                }
                return;
            }
            // Another instance took the numbers, or the batch failed: one by one, each with
            // its own retry and its own error.
            Err(e) => {
                tracing::debug!(tenant.id = %tenant, error = %e, "event batch refused; storing one by one")
            }
        }
    }
    for p in events {
        deliver(p.done, tenant, store_one(store, tx, p.event).await);
    }
}

/// Hands the publisher its stored event; a detached publisher is gone, so its failure is
/// logged here.
fn deliver(
    done: oneshot::Sender<Result<Arc<LiveEvent>, StoreError>>,
    tenant: TenantId,
    stored: Result<Arc<LiveEvent>, StoreError>,
) {
    if let Err(Err(e)) = done.send(stored) {
        tracing::warn!(tenant.id = %tenant, error = %e, "event not stored");
    }
}

/// An event to store by itself.
struct Unstored {
    tenant: TenantId,
    kind: String,
    user_id: Option<i64>,
    payload: serde_json::Value,
    contact: Option<ContactChange>,
}

async fn store_one(
    store: &Store,
    tx: &broadcast::Sender<Arc<LiveEvent>>,
    p: Unstored,
) -> Result<Arc<LiveEvent>, StoreError> {
    let record = store::events::append_event(
        store,
        p.tenant,
        &p.kind,
        p.user_id,
        &p.payload,
        p.contact.as_ref(),
    )
    .await?;
    Ok(announce(tx, p.tenant, record, p.payload))
}

fn announce(
    tx: &broadcast::Sender<Arc<LiveEvent>>,
    tenant: TenantId,
    record: EventRecord,
    payload: serde_json::Value,
) -> Arc<LiveEvent> {
    let event = Arc::new(LiveEvent {
        tenant,
        seq: record.seq,
        kind: record.kind,
        user_id: record.user_id,
        payload,
        at: record.created_at,
    });
    // No socket listening is fine: the event is in the log.
    let _ = tx.send(event.clone());
    event
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Slug;
    use crate::store::tenants::{self, TenantFeatures, TenantLimits};

    #[tokio::test]
    async fn a_flush_returns_once_every_event_handed_over_before_is_stored() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("hub.db").display());
        let store = Store::connect(&url, 2).await.unwrap();
        store.migrate().await.unwrap();
        let slug = Slug::parse("hub").unwrap();
        let tenant = tenants::insert_tenant(
            &store,
            "Hub",
            &slug,
            TenantLimits::default(),
            TenantFeatures::default(),
        )
        .await
        .unwrap();
        let hub = EventHub::new(store.clone());
        // Nothing handed over yet, no writer: at once.
        hub.flush().await;
        for n in 0..50 {
            hub.publish_detached(tenant.id, "note", None, serde_json::json!({"n": n}));
        }
        hub.flush().await;
        let stored = store::events::list_events_since(&store, tenant.id, 0, 100)
            .await
            .unwrap();
        assert_eq!(stored.len(), 50);
        assert_eq!(stored.last().unwrap().payload, r#"{"n":49}"#);
    }
}
