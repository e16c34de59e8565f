//! Writes calls' timelines in batches.
//!
//! A call setup adds a dozen timeline entries; written one by one they were most of the
//! database work of a call. Call tasks hand entries to one writer task and go on at once; the
//! writer stores whatever has gathered meanwhile in one statement per tenant, in order. A
//! call flushes before its row says it ended, and the call API flushes before reading, so
//! nobody sees a timeline that is behind the call.

use std::collections::BTreeMap;
use std::sync::Mutex as StdMutex;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::{mpsc, oneshot};

use crate::domain::TenantId;
use crate::store::{self, Store, calls::NewCallEvent};

/// Entries written in one go at most (a burst beyond that waits for the next round).
const MAX_BATCH: usize = 512;

/// How long the writer lets entries gather after the first one: a call setup adds its
/// entries within a few milliseconds, and nobody waits on them (a flush skips the wait).
const GATHER: Duration = Duration::from_millis(5);

enum Entry {
    Event(TenantId, NewCallEvent),
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

    /// Returns once every entry added before is stored (or failed to be).
    pub(crate) async fn flush(&self) {
        let running = self.rx.lock().unwrap_or_else(|p| p.into_inner()).is_none();
        if !running {
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
        if !batch.iter().any(|e| matches!(e, Entry::Flush(_))) {
            tokio::time::sleep(GATHER).await;
            while batch.len() < MAX_BATCH {
                match rx.try_recv() {
                    Ok(entry) => batch.push(entry),
                    Err(_) => break,
                }
            }
        }
        let mut per_tenant: BTreeMap<TenantId, Vec<NewCallEvent>> = BTreeMap::new();
        let mut flushed = Vec::new();
        for entry in batch.drain(..) {
            match entry {
                Entry::Event(tenant, event) => per_tenant.entry(tenant).or_default().push(event),
                Entry::Flush(done) => flushed.push(done),
            }
        }
        for (tenant, events) in per_tenant {
            write(&store, tenant, &events).await;
        }
        for done in flushed {
            let _ = done.send(());
        }
    }
}

/// One retry after a short pause (a busy database); then the entries are logged as lost,
/// as a single failed insert was before batching.
async fn write(store: &Store, tenant: TenantId, events: &[NewCallEvent]) {
    let mut last = None;
    for attempt in 0..2 {
        if attempt > 0 {
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        match store::calls::add_events(store, tenant, events).await {
            Ok(()) => return,
            Err(e) => last = Some(e),
        }
    }
    if let Some(e) = last {
        tracing::warn!(tenant.id = %tenant, lost = events.len(), error = %e, "call timeline entries not stored");
    }
}
