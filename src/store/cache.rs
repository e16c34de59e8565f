//! Short-lived per-tenant copies of rows that the call path reads on every call (the tenant,
//! its queues, its extensions) and admins change rarely.
//!
//! A write through this store forgets the tenant's copy at once; another instance's write
//! (PostgreSQL, several instances) is seen within `FRESH_FOR`. A read that raced a write
//! never stores what it read (the epoch check), so a forgotten copy cannot come back stale.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::domain::TenantId;

use super::extensions::ExtensionRecord;
use super::queues::QueueRecord;
use super::tenants::Tenant;

/// How long a copy is trusted without a local write telling otherwise.
const FRESH_FOR: Duration = Duration::from_secs(2);

/// The cached kinds of rows, one map each.
#[derive(Debug, Default)]
pub(crate) struct Caches {
    pub(crate) tenants: TenantCache<Option<Tenant>>,
    pub(crate) queues: TenantCache<Vec<QueueRecord>>,
    pub(crate) extensions: TenantCache<Vec<ExtensionRecord>>,
}

#[derive(Debug)]
pub(crate) struct TenantCache<T> {
    inner: Mutex<Inner<T>>,
}

#[derive(Debug)]
struct Inner<T> {
    /// Bumped by every `forget`: a read begun before it must not store its result.
    epoch: u64,
    entries: HashMap<TenantId, (Instant, Arc<T>)>,
}

impl<T> Default for TenantCache<T> {
    fn default() -> Self {
        Self {
            inner: Mutex::new(Inner {
                epoch: 0,
                entries: HashMap::new(),
            }),
        }
    }
}

impl<T> TenantCache<T> {
    /// The fresh copy, or the epoch to hand to `put` after reading the database.
    pub(crate) fn get(&self, tenant: TenantId) -> Result<Arc<T>, u64> {
        let inner = self.inner.lock().expect("cache lock");
        match inner.entries.get(&tenant) {
            Some((at, value)) if at.elapsed() < FRESH_FOR => Ok(value.clone()),
            _ => Err(inner.epoch),
        }
    }

    pub(crate) fn put(&self, tenant: TenantId, epoch: u64, value: Arc<T>) {
        let mut inner = self.inner.lock().expect("cache lock");
        if inner.epoch == epoch {
            inner.entries.insert(tenant, (Instant::now(), value));
        }
    }

    /// The fresh copy, else what `load` reads (kept unless a write raced it).
    pub(crate) async fn get_or_load<E>(
        &self,
        tenant: TenantId,
        load: impl std::future::Future<Output = Result<T, E>>,
    ) -> Result<Arc<T>, E> {
        match self.get(tenant) {
            Ok(copy) => Ok(copy),
            Err(epoch) => {
                let value = Arc::new(load.await?);
                self.put(tenant, epoch, value.clone());
                Ok(value)
            }
        }
    }

    pub(crate) fn forget(&self, tenant: TenantId) {
        let mut inner = self.inner.lock().expect("cache lock");
        inner.epoch += 1;
        inner.entries.remove(&tenant);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_copy_is_served_until_forgotten() {
        let cache = TenantCache::<u32>::default();
        let t = TenantId(1);
        let epoch = cache.get(t).unwrap_err();
        cache.put(t, epoch, Arc::new(7));
        assert_eq!(*cache.get(t).unwrap(), 7);
        cache.forget(t);
        assert!(cache.get(t).is_err());
    }

    #[test]
    fn a_read_that_raced_a_write_is_not_kept() {
        let cache = TenantCache::<u32>::default();
        let t = TenantId(1);
        let epoch = cache.get(t).unwrap_err();
        // A write lands while the read is in flight…
        cache.forget(t);
        // …so what the read saw may predate it.
        cache.put(t, epoch, Arc::new(7));
        assert!(cache.get(t).is_err());
    }

    #[test]
    fn tenants_are_kept_apart() {
        let cache = TenantCache::<u32>::default();
        let epoch = cache.get(TenantId(1)).unwrap_err();
        cache.put(TenantId(1), epoch, Arc::new(1));
        assert!(cache.get(TenantId(2)).is_err());
        cache.forget(TenantId(2));
        // Forgetting another tenant bumps the epoch but keeps this copy.
        assert_eq!(*cache.get(TenantId(1)).unwrap(), 1);
    }
}
