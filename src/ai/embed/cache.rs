//! The vectors of recent customer messages, so a message many customers send word for word
//! ("where is my order?") costs one model pass, not one per customer. Keyed by tenant as well
//! as text: how fast a reply comes must not tell one tenant what another's customers write.
//! `switchboard ai eval` does not use it, so its latencies are those of a model pass.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::domain::TenantId;

/// At most `capacity` vectors; the least recently used goes first.
#[derive(Debug)]
pub struct QueryCache {
    capacity: usize,
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    clock: u64,
    vectors: HashMap<(TenantId, String), (Vec<f32>, u64)>,
}

impl QueryCache {
    /// An empty cache of `capacity` vectors (0 keeps none).
    pub fn new(capacity: usize) -> Self {
        QueryCache {
            capacity,
            inner: Mutex::default(),
        }
    }

    /// The vector of `text` for `tenant`, if it is kept.
    pub fn get(&self, tenant: TenantId, text: &str) -> Option<Vec<f32>> {
        let mut inner = self.lock();
        inner.clock += 1;
        let now = inner.clock;
        let (vector, used) = inner.vectors.get_mut(&(tenant, text.to_owned()))?;
        *used = now;
        Some(vector.clone())
    }

    /// Keeps `vector` as the vector of `text` for `tenant`.
    pub fn put(&self, tenant: TenantId, text: &str, vector: Vec<f32>) {
        if self.capacity == 0 {
            return;
        }
        let mut inner = self.lock();
        inner.clock += 1;
        let now = inner.clock;
        let key = (tenant, text.to_owned());
        if !inner.vectors.contains_key(&key) && inner.vectors.len() >= self.capacity {
            // A scan of a few hundred stamps is microseconds, against milliseconds for the
            // model pass a hit saves.
            if let Some(oldest) = inner
                .vectors
                .iter()
                .min_by_key(|(_, (_, used))| *used)
                .map(|(k, _)| k.clone())
            {
                inner.vectors.remove(&oldest);
            }
        }
        inner.vectors.insert(key, (vector, now));
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_recently_used_and_separates_tenants() {
        let cache = QueryCache::new(2);
        let (a, b) = (TenantId(1), TenantId(2));
        cache.put(a, "where is my order", vec![1.0]);
        cache.put(a, "refund", vec![2.0]);
        assert_eq!(cache.get(a, "where is my order"), Some(vec![1.0]));
        assert_eq!(cache.get(b, "where is my order"), None);
        // "refund" is now the least recently used and makes room.
        cache.put(b, "where is my order", vec![3.0]);
        assert_eq!(cache.get(a, "refund"), None);
        assert_eq!(cache.get(a, "where is my order"), Some(vec![1.0]));
        assert_eq!(cache.get(b, "where is my order"), Some(vec![3.0]));
        // Storing a kept text again replaces it without evicting another.
        cache.put(b, "where is my order", vec![4.0]);
        assert_eq!(cache.get(a, "where is my order"), Some(vec![1.0]));
        assert_eq!(cache.get(b, "where is my order"), Some(vec![4.0]));

        let none = QueryCache::new(0);
        none.put(a, "x", vec![1.0]);
        assert_eq!(none.get(a, "x"), None);
    }
}
