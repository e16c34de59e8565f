//! Failed-login throttling per account and per client address, with exponential backoff.
//!
//! State is in memory, so it is per instance: with several instances behind a balancer an
//! attacker gets one budget per instance. That is still bounded, and a shared store can
//! take over when multi-instance deployments need it.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::config::AuthConfig;

#[derive(Debug, Clone, Copy)]
struct Entry {
    failures: u32,
    locked_until: Option<Instant>,
    last_failure: Instant,
}

/// Counts failures and locks keys out for `base × 2^(failures − max)` (capped).
#[derive(Debug)]
pub struct LoginThrottle {
    entries: Mutex<HashMap<String, Entry>>,
    max_per_account: u32,
    max_per_ip: u32,
    base: Duration,
    cap: Duration,
}

impl LoginThrottle {
    /// From `[auth]` settings.
    pub fn new(cfg: &AuthConfig) -> Self {
        Self {
            entries: Mutex::new(HashMap::new()),
            max_per_account: cfg.max_failed_logins,
            max_per_ip: cfg.max_failed_logins_per_ip,
            base: Duration::from_secs(cfg.lockout_base_secs),
            cap: Duration::from_secs(cfg.lockout_max_secs.max(cfg.lockout_base_secs)),
        }
    }

    /// Seconds to wait if the account or the address is locked out now.
    pub fn check(&self, account: &str, ip: &str, now: Instant) -> Option<u64> {
        let map = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        [account_key(account), ip_key(ip)]
            .iter()
            .filter_map(|k| map.get(k).and_then(|e| e.locked_until))
            .filter(|until| *until > now)
            .map(|until| (until - now).as_secs().max(1))
            .max()
    }

    /// Records a failed attempt for both keys.
    pub fn failed(&self, account: &str, ip: &str, now: Instant) {
        let mut map = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() > 100_000 {
            // Forget entries idle for longer than the longest lockout.
            let cap = self.cap;
            map.retain(|_, e| now.duration_since(e.last_failure) < cap);
        }
        for (key, max) in [
            (account_key(account), self.max_per_account),
            (ip_key(ip), self.max_per_ip),
        ] {
            let e = map.entry(key).or_insert(Entry {
                failures: 0,
                locked_until: None,
                last_failure: now,
            });
            // A long quiet period starts the count afresh.
            if now.duration_since(e.last_failure) > self.cap {
                e.failures = 0;
            }
            e.failures += 1;
            e.last_failure = now;
            if e.failures >= max {
                let exp = (e.failures - max).min(16);
                let lock = self.base.saturating_mul(1 << exp).min(self.cap);
                e.locked_until = Some(now + lock);
            }
        }
    }

    /// A successful login clears the account's count (not the address's).
    pub fn succeeded(&self, account: &str) {
        let mut map = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        map.remove(&account_key(account));
    }
}

fn account_key(a: &str) -> String {
    format!("a:{a}")
}

fn ip_key(ip: &str) -> String {
    format!("i:{ip}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn throttle() -> LoginThrottle {
        LoginThrottle::new(&AuthConfig {
            max_failed_logins: 3,
            max_failed_logins_per_ip: 5,
            lockout_base_secs: 10,
            lockout_max_secs: 60,
            ..AuthConfig::default()
        })
    }

    #[test]
    fn an_account_is_locked_after_max_failures_and_backs_off_exponentially() {
        let t = throttle();
        let now = Instant::now();
        for _ in 0..2 {
            t.failed("ana@x", "1.1.1.1", now);
        }
        assert_eq!(t.check("ana@x", "9.9.9.9", now), None);
        t.failed("ana@x", "1.1.1.1", now);
        assert_eq!(t.check("ana@x", "9.9.9.9", now), Some(10));
        t.failed("ana@x", "1.1.1.1", now);
        assert_eq!(t.check("ana@x", "9.9.9.9", now), Some(20));
        for _ in 0..5 {
            t.failed("ana@x", "2.2.2.2", now);
        }
        assert_eq!(t.check("ana@x", "9.9.9.9", now), Some(60), "capped");
        assert_eq!(
            t.check("ana@x", "9.9.9.9", now + Duration::from_secs(61)),
            None,
            "lock expires"
        );
    }

    #[test]
    fn an_address_is_locked_across_accounts() {
        let t = throttle();
        let now = Instant::now();
        for i in 0..5 {
            t.failed(&format!("u{i}@x"), "6.6.6.6", now);
        }
        assert!(t.check("fresh@x", "6.6.6.6", now).is_some());
        assert!(t.check("fresh@x", "7.7.7.7", now).is_none());
    }

    #[test]
    fn success_clears_the_account_count() {
        let t = throttle();
        let now = Instant::now();
        t.failed("ana@x", "1.1.1.1", now);
        t.failed("ana@x", "1.1.1.1", now);
        t.succeeded("ana@x");
        t.failed("ana@x", "1.1.1.1", now);
        assert_eq!(t.check("ana@x", "3.3.3.3", now), None);
    }
}
