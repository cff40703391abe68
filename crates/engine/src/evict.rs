//! Eviction, like Redis's `evict.c`: keys' access stamps (a 24-bit LRU clock in seconds, or an LFU
//! counter with its decay time packed into the same 24 bits), the 16-entry eviction pool fed by
//! `maxmemory-samples` sampled keys per round, and [`perform`], which deletes the best candidates until
//! used memory is under `maxmemory`.
//!
//! The stamps live in each keyspace `Entry` (`access`) and are updated on every lookup by the keyspace's
//! [`AccessClock`]. Candidates come from the whole keyspace (`allkeys-*`) or from the keys with an expiry
//! time (`volatile-*`), with the same O(1) sampling active expiry uses. Evicted keys are deleted through
//! the keyspace like expired ones, so they reach the AOF as `DEL`.

use bytes::Bytes;
use rand::Rng;

use crate::keyspace::{Entry, Keyspace};
use crate::memory::{MemoryConfig, Policy};

/// The largest LRU clock value (24 bits; the clock wraps every 194 days, like Redis's).
pub(crate) const LRU_CLOCK_MAX: u64 = (1 << 24) - 1;
/// The LRU clock's resolution in ms.
const LRU_CLOCK_RESOLUTION: u64 = 1000;
/// A new key's LFU counter, so it is not evicted before it had a chance to be accessed.
const LFU_INIT_VAL: u32 = 5;
/// Redis's default `lfu-log-factor`: about a million accesses saturate the 8-bit counter.
const LFU_LOG_FACTOR: f64 = 10.0;
/// Redis's default `lfu-decay-time` in minutes: the counter loses one per idle minute.
const LFU_DECAY_TIME: u64 = 1;
/// Entries in the eviction pool.
const POOL_SIZE: usize = 16;
/// Most keys one call of [`perform`] evicts; a command arriving while memory is still over the limit
/// continues (Redis bounds the time instead and continues in a timer).
const MAX_EVICTIONS_PER_CALL: usize = 4096;

/// The LRU clock at `now` (Unix ms): seconds, 24 bits.
#[inline]
fn lru_clock(now: u64) -> u32 {
    ((now / LRU_CLOCK_RESOLUTION) & LRU_CLOCK_MAX) as u32
}

/// The LFU time at `now`: minutes, 16 bits.
#[inline]
fn lfu_minutes(now: u64) -> u32 {
    ((now / 60_000) & 0xFFFF) as u32
}

/// How long ago (ms) a key with LRU stamp `stamp` was last accessed, at `now` (handles the wrap).
pub(crate) fn lru_idle_ms(stamp: u32, now: u64) -> u64 {
    let clock = lru_clock(now) as u64;
    let stamp = stamp as u64 & LRU_CLOCK_MAX;
    let ticks = if clock >= stamp { clock - stamp } else { clock + (LRU_CLOCK_MAX - stamp) };
    ticks * LRU_CLOCK_RESOLUTION
}

/// The LFU counter of `stamp` at `now`, after the decay for the minutes since its last access.
pub(crate) fn lfu_counter(stamp: u32, now: u64) -> u32 {
    let last = stamp >> 8;
    let counter = stamp & 255;
    let minutes = lfu_minutes(now);
    let elapsed = if minutes >= last { minutes - last } else { 65535 - last + minutes };
    let periods = elapsed as u64 / LFU_DECAY_TIME;
    counter.saturating_sub(periods.min(255) as u32)
}

/// Stamps keys' accesses: LRU clocks, or LFU counters when the policy is an LFU one. Owned by the
/// keyspace, which calls it on every lookup.
#[derive(Debug)]
pub(crate) struct AccessClock {
    lfu: bool,
    /// xorshift state for the LFU counter's probabilistic increment.
    rng: u64,
}

impl Default for AccessClock {
    fn default() -> AccessClock {
        AccessClock { lfu: false, rng: 0x9E37_79B9_7F4A_7C15 }
    }
}

impl AccessClock {
    /// Switches between LRU clocks and LFU counters (existing stamps are not converted, as in Redis).
    pub(crate) fn set_lfu(&mut self, lfu: bool) {
        self.lfu = lfu;
    }

    /// Whether stamps are LFU counters.
    pub(crate) fn is_lfu(&self) -> bool {
        self.lfu
    }

    /// The stamp of a key created at `now`.
    #[inline]
    pub(crate) fn fresh(&self, now: u64) -> u32 {
        if self.lfu { lfu_minutes(now) << 8 | LFU_INIT_VAL } else { lru_clock(now) }
    }

    /// Records an access at `now` to a key whose stamp is `stamp`.
    #[inline]
    pub(crate) fn touch(&mut self, stamp: &mut u32, now: u64) {
        if self.lfu {
            let counter = self.log_incr(lfu_counter(*stamp, now));
            *stamp = lfu_minutes(now) << 8 | counter;
        } else {
            let clock = lru_clock(now);
            if *stamp != clock {
                *stamp = clock;
            }
        }
    }

    /// Redis's `LFULogIncr`: the higher the counter, the less likely an access increments it.
    fn log_incr(&mut self, counter: u32) -> u32 {
        if counter >= 255 {
            return 255;
        }
        let base = counter.saturating_sub(LFU_INIT_VAL);
        if base == 0 {
            return counter + 1;
        }
        let p = 1.0 / (base as f64 * LFU_LOG_FACTOR + 1.0);
        // xorshift64*: cheap, and statistical quality is all this needs.
        self.rng ^= self.rng >> 12;
        self.rng ^= self.rng << 25;
        self.rng ^= self.rng >> 27;
        let r = (self.rng.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64;
        if r < p { counter + 1 } else { counter }
    }
}

/// Redis's eviction pool: the best candidates seen so far, sorted by ascending score (the last one is
/// evicted first). It persists across evictions, so every round's sample improves on earlier ones.
#[derive(Debug, Default)]
pub(crate) struct Pool {
    entries: Vec<(u64, Bytes)>,
}

impl Pool {
    /// Offers a sampled key with its score (higher = better to evict).
    fn offer(&mut self, score: u64, key: &[u8]) {
        if self.entries.iter().any(|(_, k)| k == key) {
            return;
        }
        let mut at = self.entries.partition_point(|(s, _)| *s < score);
        if self.entries.len() == POOL_SIZE {
            if at == 0 {
                return; // worse than everything in a full pool
            }
            self.entries.remove(0);
            at -= 1;
        }
        // A copy: the pool must not keep the keyspace's key allocation alive after the key is deleted.
        self.entries.insert(at, (score, Bytes::copy_from_slice(key)));
    }

    /// Takes the best candidate out.
    fn pop_best(&mut self) -> Option<Bytes> {
        self.entries.pop().map(|(_, k)| k)
    }

    /// Forgets every candidate (the policy changed, the keyspace was flushed).
    pub(crate) fn clear(&mut self) {
        self.entries.clear();
    }
}

/// A sampled key's score under `policy`: idle time (LRU), 255 minus the counter (LFU), or how soon it
/// expires (volatile-ttl). Higher is evicted first.
fn score(policy: Policy, entry: &Entry, now: u64) -> u64 {
    if policy.is_lfu() {
        255 - lfu_counter(entry.access, now) as u64
    } else if policy == Policy::VolatileTtl {
        u64::MAX - entry.expire_at.unwrap_or(u64::MAX)
    } else {
        lru_idle_ms(entry.access, now)
    }
}

/// What [`perform`] achieved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Outcome {
    /// Memory is still over the limit and nothing more can be evicted (Redis's `EVICT_FAIL`): commands
    /// that may grow memory are refused.
    pub oom: bool,
    /// Keys evicted by this call.
    pub evicted: u64,
}

/// Evicts keys while `used(db)` is over `cfg.maxmemory`, like Redis's `performEvictions`. Evicted keys are
/// collected by the keyspace for propagation as `DEL`. Stops after [`MAX_EVICTIONS_PER_CALL`] keys (not an
/// OOM: the next command continues).
pub(crate) fn perform(
    db: &mut Keyspace,
    pool: &mut Pool,
    cfg: &MemoryConfig,
    now: u64,
    rng: &mut impl Rng,
    mut used: impl FnMut(&Keyspace) -> u64,
) -> Outcome {
    let mut out = Outcome { oom: false, evicted: 0 };
    let volatile = cfg.policy.volatile_only();
    while used(db) > cfg.maxmemory {
        if cfg.policy == Policy::NoEviction {
            out.oom = true;
            return out;
        }
        if out.evicted as usize >= MAX_EVICTIONS_PER_CALL {
            return out;
        }
        let best = match cfg.policy {
            Policy::AllKeysRandom | Policy::VolatileRandom => db.random_candidate(volatile, rng),
            policy => best_from_pool(db, pool, policy, cfg.samples, now, rng),
        };
        let Some(key) = best else {
            out.oom = true;
            return out;
        };
        if db.evict(&key, volatile) {
            out.evicted += 1;
        }
    }
    out
}

/// Fills the pool with a sample and takes its best candidate that still exists (Redis's inner loop of
/// `performEvictions`). `None` when there are no candidates at all.
fn best_from_pool(
    db: &Keyspace,
    pool: &mut Pool,
    policy: Policy,
    samples: usize,
    now: u64,
    rng: &mut impl Rng,
) -> Option<Bytes> {
    let volatile = policy.volatile_only();
    // A sample may come back empty from a sparse table; a few more tries find keys when there are any.
    for _ in 0..64 {
        let total = if volatile { db.volatile_len() } else { db.len() };
        if total == 0 {
            return None;
        }
        db.sample_candidates(volatile, samples, rng, |k, e| pool.offer(score(policy, e, now), k));
        while let Some(k) = pool.pop_best() {
            if db.is_candidate(&k, volatile) {
                return Some(k);
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lru_idle_handles_the_wrap() {
        let now = 5_000; // clock 5
        assert_eq!(lru_idle_ms(lru_clock(now), now), 0);
        assert_eq!(lru_idle_ms(2, now), 3000);
        // Stamped just before the 24-bit clock wrapped.
        assert_eq!(lru_idle_ms(LRU_CLOCK_MAX as u32 - 1, now), 6000);
    }

    #[test]
    fn lfu_counter_grows_logarithmically_and_decays_per_minute() {
        let mut clock = AccessClock::default();
        clock.set_lfu(true);
        let now = 10 * 60_000;
        let mut stamp = clock.fresh(now);
        assert_eq!(lfu_counter(stamp, now), LFU_INIT_VAL);
        for _ in 0..100 {
            clock.touch(&mut stamp, now);
        }
        let hot = lfu_counter(stamp, now);
        // The first accesses past the initial value always count, later ones less and less.
        assert!(hot > 6 && hot < 40, "counter after 100 accesses: {hot}");
        assert_eq!(lfu_counter(stamp, now + 3 * 60_000), hot - 3);
        assert_eq!(lfu_counter(stamp, now + 1000 * 60_000), 0);
    }

    #[test]
    fn pool_keeps_the_best_sixteen_in_order() {
        let mut pool = Pool::default();
        for i in 0..40u64 {
            pool.offer(i * 7 % 40, format!("k{i}").as_bytes());
        }
        assert_eq!(pool.entries.len(), POOL_SIZE);
        let scores: Vec<u64> = pool.entries.iter().map(|(s, _)| *s).collect();
        assert_eq!(scores, (24..40).collect::<Vec<_>>());
        // A worse candidate is not taken into a full pool; the same key is not taken twice.
        pool.offer(3, b"low");
        pool.offer(39, b"k17");
        assert_eq!(pool.entries.len(), POOL_SIZE);
        assert!(!pool.entries.iter().any(|(_, k)| &k[..] == b"low"));
        assert_eq!(pool.pop_best().as_deref(), Some(&b"k17"[..])); // 17 * 7 % 40 == 39
    }
}
