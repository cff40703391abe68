//! The ephemeral in-process cache (`ephemeralCache` in `@upstash/ratelimit`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

/// An in-process cache of identifiers known to be blocked, so that a rejected caller does not cost
/// a Redis call until its window ends (`ephemeralCache` in `@upstash/ratelimit`).
///
/// - After a rejection, `prefix:identifier` is blocked until the response's `reset`; `limit` answers
///   `success: false, reason: CacheBlock` without calling Redis until then. Refunds (`rate <= 0`)
///   are never blocked, and a successful refund unblocks.
/// - `cached_fixed_window` also keeps its window counters here.
/// - [`Ratelimit::reset_used_tokens`](crate::Ratelimit::reset_used_tokens) clears the identifier.
///
/// Every limiter gets its own cache unless you give several limiters the same one (it is cheap to
/// clone; clones share the entries). Unlike the JavaScript `Map`, expired entries are pruned, so the
/// cache does not grow without bound.
///
/// ```no_run
/// use std::time::Duration;
/// use larder_ratelimit::{EphemeralCache, Ratelimit};
/// # fn run(redis: larder_redis::Redis) -> larder_ratelimit::Result<()> {
/// // Two limiters sharing one cache of blocked identifiers.
/// let cache = EphemeralCache::new();
/// let minute = Duration::from_secs(60);
/// let burst = Ratelimit::builder(redis.clone(), Ratelimit::fixed_window(20, minute))
///     .prefix("burst")
///     .ephemeral_cache(cache.clone())
///     .build()?;
/// let daily = Ratelimit::builder(redis, Ratelimit::fixed_window(1000, minute * 60 * 24))
///     .prefix("daily")
///     .ephemeral_cache(cache.clone())
///     .build()?;
/// // After raising the limits, forget every local block:
/// cache.clear();
/// # Ok(()) }
/// ```
#[derive(Clone, Default)]
pub struct EphemeralCache {
    inner: Arc<Mutex<State>>,
}

#[derive(Default)]
struct State {
    /// `prefix:identifier` -> blocked until (epoch ms).
    blocked: HashMap<String, u64>,
    /// `prefix:identifier:window` -> (count, the window's end in epoch ms).
    counters: HashMap<String, (i64, u64)>,
    /// Inserts since the last prune.
    inserts: usize,
}

const PRUNE_EVERY: usize = 1024;

impl std::fmt::Debug for EphemeralCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = self.lock();
        f.debug_struct("EphemeralCache")
            .field("blocked", &s.blocked.len())
            .field("counters", &s.counters.len())
            .finish()
    }
}

impl EphemeralCache {
    /// An empty cache.
    pub fn new() -> EphemeralCache {
        EphemeralCache::default()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// If `key` is blocked at `now`, until when (epoch ms). Expired entries are removed.
    pub fn blocked_until(&self, key: &str, now: u64) -> Option<u64> {
        let mut s = self.lock();
        match s.blocked.get(key) {
            Some(&until) if until >= now => Some(until),
            Some(_) => {
                s.blocked.remove(key);
                None
            }
            None => None,
        }
    }

    /// Blocks `key` until `until` (epoch ms).
    pub fn block_until(&self, key: &str, until: u64, now: u64) {
        let mut s = self.lock();
        s.blocked.insert(key.to_owned(), until);
        s.note_insert(now);
    }

    /// Unblocks `key`.
    pub fn unblock(&self, key: &str) {
        self.lock().blocked.remove(key);
    }

    /// How many identifiers are blocked (including entries not yet pruned).
    pub fn len(&self) -> usize {
        self.lock().blocked.len()
    }

    /// Whether nothing is blocked.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Forgets everything.
    pub fn clear(&self) {
        let mut s = self.lock();
        s.blocked.clear();
        s.counters.clear();
    }

    pub(crate) fn counter(&self, key: &str) -> Option<i64> {
        // `get` treats 0 as missing in the JavaScript cache.
        self.lock().counters.get(key).map(|&(n, _)| n).filter(|&n| n != 0)
    }

    pub(crate) fn set_counter(&self, key: &str, value: i64, window_end: u64, now: u64) {
        let mut s = self.lock();
        s.counters.insert(key.to_owned(), (value, window_end));
        s.note_insert(now);
    }

    /// Adds `by` to a cached counter that exists; `None` (and no change) when it does not.
    pub(crate) fn incr_counter(&self, key: &str, by: i64) -> Option<i64> {
        let mut s = self.lock();
        let entry = s.counters.get_mut(key).filter(|(n, _)| *n != 0)?;
        entry.0 += by;
        Some(entry.0)
    }

    pub(crate) fn remove_counter(&self, key: &str) {
        self.lock().counters.remove(key);
    }
}

impl State {
    fn note_insert(&mut self, now: u64) {
        self.inserts += 1;
        if self.inserts >= PRUNE_EVERY {
            self.inserts = 0;
            self.blocked.retain(|_, until| *until >= now);
            self.counters.retain(|_, (_, end)| *end >= now);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_until_reset_then_forgets() {
        let c = EphemeralCache::new();
        c.block_until("p:a", 1000, 0);
        assert_eq!(c.blocked_until("p:a", 999), Some(1000));
        assert_eq!(c.blocked_until("p:a", 1000), Some(1000));
        assert_eq!(c.blocked_until("p:a", 1001), None);
        assert!(c.is_empty());
        let shared = c.clone();
        shared.block_until("p:b", 5, 0);
        assert_eq!(c.blocked_until("p:b", 1), Some(5));
        c.unblock("p:b");
        assert_eq!(shared.blocked_until("p:b", 1), None);
    }

    #[test]
    fn counters() {
        let c = EphemeralCache::new();
        assert_eq!(c.incr_counter("k", 1), None);
        c.set_counter("k", 3, 100, 0);
        assert_eq!(c.incr_counter("k", 2), Some(5));
        assert_eq!(c.counter("k"), Some(5));
        c.set_counter("z", 0, 100, 0);
        assert_eq!(c.counter("z"), None);
        c.remove_counter("k");
        assert_eq!(c.counter("k"), None);
    }

    #[test]
    fn prunes_expired_entries() {
        let c = EphemeralCache::new();
        for i in 0..PRUNE_EVERY - 1 {
            c.block_until(&format!("k{i}"), 10, 0);
        }
        c.block_until("late", 100, 50);
        assert_eq!(c.len(), 1);
    }
}
