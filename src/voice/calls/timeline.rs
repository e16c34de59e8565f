//! Writes calls' timelines in batches.
//!
//! A call setup adds a dozen timeline entries; written one by one they were most of the
//! database work of a call. Call tasks hand entries to one writer task and go on at once; the
//! writer stores whatever has gathered meanwhile in one statement per tenant, in order. A
//! call's row says it is connected or ended through the writer too ([`Timeline::change_row`]),
//! after the entries added before, in the same round trip to the database, and the call API
//! flushes before reading, so nobody sees a timeline that is behind the call.

use std::collections::BTreeMap;
use std::sync::Mutex as StdMutex;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::{mpsc, oneshot};

use crate::domain::TenantId;
use crate::store::calls::{CallChange, NewCallEvent};
use crate::store::{self, Store};

/// Entries written in one go at most (a burst beyond that waits for the next round).
const MAX_BATCH: usize = 512;

/// How long the writer lets entries gather after the first one: a call setup adds its
/// entries within a few milliseconds, and nobody waits on them (a flush skips the wait).
const GATHER: Duration = Duration::from_millis(5);

enum Entry {
    Event(TenantId, NewCallEvent),
    Row(TenantId, CallChange, oneshot::Sender<()>),
    Flush(oneshot::Sender<()>),
}

pub(crate) struct Timeline {
    tx: mpsc::UnboundedSender<Entry>,
    // Taken by the writer when it starts.
    rx: StdMutex<Option<mpsc::UnboundedReceiver<Entry>>>,
}

impl Timeline {
    pub(crate) fn new() -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        Timeline {
            tx,
            rx: StdMutex::new(Some(rx)),
        }
    }

    /// Starts the writer (once); entries added before are written then.
    pub(crate) fn start(&self, store: Store) {
        let rx = self.rx.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(rx) = rx {
            tokio::spawn(write_batches(store, rx));
        }
    }

    pub(crate) fn add(
        &self,
        tenant: TenantId,
        call: i64,
        kind: &str,
        detail: &serde_json::Value,
        at: DateTime<Utc>,
    ) {
        let event = NewCallEvent {
            call,
            kind: kind.to_owned(),
            detail: detail.to_string(),
            at,
        };
        // The writer only stops with the runtime; nothing is left to write to then.
        let _ = self.tx.send(Entry::Event(tenant, event));
    }

    /// Changes a call's row after the entries added before it, in the same round trip to the
    /// database; returns once it is stored (or failed to be, which the writer logs). Calls
    /// only run once the writer has started; before, the change waits for it, as entries do.
    pub(crate) async fn change_row(&self, tenant: TenantId, change: CallChange) {
        let (done, wait) = oneshot::channel();
        match self.tx.send(Entry::Row(tenant, change, done)) {
            Ok(()) if self.running() => {
                let _ = wait.await;
            }
            Ok(()) => {}
            // The writer only stops with the runtime.
            Err(e) => {
                if let Entry::Row(tenant, change, _) = e.0 {
                    tracing::warn!(tenant.id = %tenant, ?change, "call row change not stored: the service is stopping");
                }
            }
        }
    }

    fn running(&self) -> bool {
        self.rx.lock().unwrap_or_else(|p| p.into_inner()).is_none()
    }

    /// Returns once every entry added before is stored (or failed to be).
    pub(crate) async fn flush(&self) {
        if !self.running() {
            return;
        }
        let (done, wait) = oneshot::channel();
        if self.tx.send(Entry::Flush(done)).is_ok() {
            let _ = wait.await;
        }
    }
}

async fn write_batches(store: Store, mut rx: mpsc::UnboundedReceiver<Entry>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while rx.recv_many(&mut batch, MAX_BATCH).await > 0 {
        // Somebody waits: no gathering.
        if !batch
            .iter()
            .any(|e| matches!(e, Entry::Flush(_) | Entry::Row(..)))
        {
            tokio::time::sleep(GATHER).await;
            while batch.len() < MAX_BATCH {
                match rx.try_recv() {
                    Ok(entry) => batch.push(entry),
                    Err(_) => break,
                }
            }
        }
        // A row change goes after every entry of its tenant in the batch: the ones added
        // before it, and some added after, which is harmless (nobody reads a row's change as
        // a promise that later entries are missing).
        let mut per_tenant: BTreeMap<TenantId, (Vec<NewCallEvent>, Vec<CallChange>)> =
            BTreeMap::new();
        let mut flushed = Vec::new();
        for entry in batch.drain(..) {
            match entry {
                Entry::Event(tenant, event) => per_tenant.entry(tenant).or_default().0.push(event),
                Entry::Row(tenant, change, done) => {
                    per_tenant.entry(tenant).or_default().1.push(change);
                    flushed.push(done);
                }
                Entry::Flush(done) => flushed.push(done),
            }
        }
        for (tenant, (events, changes)) in per_tenant {
            write(&store, tenant, &events, &changes).await;
        }
        for done in flushed {
            let _ = done.send(());
        }
    }
}

/// One retry after a short pause (a busy database); then the entries and changes are logged
/// as lost, as a single failed statement was before batching. A retry runs the changes again
/// (each sets the same values); should the database fail between the entries and the changes
/// of one command, it stores those entries twice.
async fn write(store: &Store, tenant: TenantId, events: &[NewCallEvent], changes: &[CallChange]) {
    let mut last = None;
    for attempt in 0..2 {
        if attempt > 0 {
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        match store::calls::add_events(store, tenant, events, changes).await {
            Ok(()) => return,
            Err(e) => last = Some(e),
        }
    }
    let Some(e) = last else { return };
    // The rows' changes matter more than the entries: a last try without them.
    if !changes.is_empty()
        && !events.is_empty()
        && store::calls::add_events(store, tenant, &[], changes)
            .await
            .is_ok()
    {
        tracing::warn!(tenant.id = %tenant, lost = events.len(), error = %e, "call timeline entries not stored");
        return;
    }
    tracing::warn!(tenant.id = %tenant, lost = events.len(), changes = ?changes, error = %e, "call timeline entries and row changes not stored");
}
