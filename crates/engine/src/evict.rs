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
        u64::MAX - entry.expire_at().unwrap_or(u64::MAX)
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
    use std::sync::{Arc, Mutex};

    use larder_resp::Reply;

    use super::*;
    use crate::client::ClientState;
    use crate::memory::{Gauge, MemoryConfig, OOM_ERROR};
    use crate::test_util::{Recorder as Sink, argv};
    use crate::{Engine, ManualClock, ServerInfo};

    /// An engine whose used memory is 100 bytes per key, limited to `max_keys` keys.
    struct Fixture {
        engine: Engine,
        client: ClientState,
        clock: ManualClock,
        log: Arc<Mutex<Vec<String>>>,
    }

    impl Fixture {
        fn new(policy: Policy, max_keys: u64, samples: usize) -> Fixture {
            let clock = ManualClock::new(1_700_000_000_000);
            let mut engine = Engine::new(Arc::new(clock.clone()), ServerInfo::default());
            engine.set_gauge(Gauge::PerKey { base: 0, per_key: 100 });
            engine.set_memory(MemoryConfig { maxmemory: max_keys * 100, policy, samples });
            let log = Arc::new(Mutex::new(Vec::new()));
            engine.set_propagation(Box::new(Sink(log.clone())));
            let client = engine.new_client("test".into());
            Fixture { engine, client, clock, log }
        }

        fn run(&mut self, line: &str) -> Reply {
            self.engine.execute(&mut self.client, &argv(line))
        }

        fn exists(&mut self, key: &str) -> bool {
            self.run(&format!("EXISTS {key}")) == Reply::Int(1)
        }

        /// A field of `INFO`.
        fn info(&mut self, field: &str) -> String {
            let Reply::Verbatim(info) = self.run("INFO") else { panic!("INFO") };
            let info = String::from_utf8_lossy(&info).into_owned();
            let prefix = format!("{field}:");
            let line = info.lines().find_map(|l| l.strip_prefix(&prefix));
            line.unwrap_or_else(|| panic!("{field} in {info}")).to_string()
        }

        fn evicted(&mut self) -> u64 {
            self.info("evicted_keys").parse().unwrap()
        }
    }

    fn error(r: Reply) -> String {
        match r {
            Reply::Error(e) => e.into_owned(),
            other => panic!("expected an error, got {other:?}"),
        }
    }

    #[test]
    fn lru_evicts_the_least_recently_used() {
        let mut f = Fixture::new(Policy::AllKeysLru, 10, 16);
        for i in 0..10 {
            f.run(&format!("SET k{i} v"));
            f.clock.advance(1000);
        }
        f.run("GET k0"); // now the most recent
        f.run("SET k10 v"); // at the limit before it: nothing evicted yet
        assert_eq!(f.engine.dbsize(), 11);
        assert!(!f.exists("k1"), "k1 is the least recently used");
        assert!(f.exists("k0"));
        assert_eq!(f.evicted(), 1);
        assert_eq!(f.engine.dbsize(), 10);
        assert!(f.log.lock().unwrap().contains(&"DEL k1".to_string()));
        f.run("SET k11 v");
        assert!(!f.exists("k2"));
    }

    #[test]
    fn lfu_keeps_hot_keys() {
        let mut f = Fixture::new(Policy::AllKeysLfu, 10, 5);
        for i in 0..5 {
            f.run(&format!("SET hot{i} v"));
            f.run(&format!("SET cold{i} v"));
        }
        for _ in 0..50 {
            for i in 0..5 {
                f.run(&format!("GET hot{i}"));
            }
        }
        for i in 0..5 {
            f.run(&format!("SET new{i} v"));
        }
        f.run("PING");
        assert_eq!(f.evicted(), 5);
        for i in 0..5 {
            assert!(f.exists(&format!("hot{i}")), "hot{i} was evicted");
        }
    }

    #[test]
    fn volatile_ttl_evicts_the_soonest_to_expire() {
        let mut f = Fixture::new(Policy::VolatileTtl, 4, 5);
        f.run("SET a v PX 50000");
        f.run("SET b v PX 10000");
        f.run("SET c v PX 30000");
        f.run("SET d v");
        f.run("SET e v");
        assert!(!f.exists("b"));
        f.run("SET g v");
        assert!(!f.exists("c"));
        assert!(f.exists("a") && f.exists("d") && f.exists("e") && f.exists("g"));
        let log = f.log.lock().unwrap();
        assert_eq!(
            log.iter().filter(|l| l.starts_with("DEL")).collect::<Vec<_>>(),
            ["DEL b", "DEL c"]
        );
    }

    #[test]
    fn volatile_without_volatile_keys_is_oom() {
        let mut f = Fixture::new(Policy::VolatileLru, 2, 5);
        f.run("SET a v");
        f.run("SET b v");
        f.run("SET c v"); // allowed: the limit is checked before a command
        assert_eq!(error(f.run("SET d v")), OOM_ERROR);
        assert_eq!(f.evicted(), 0);
        assert_eq!(f.run("GET a"), Reply::Bulk(Bytes::from_static(b"v")));
        assert_eq!(f.run("EXPIRE a 100"), Reply::Int(1));
        // Now a has an expiry time: it is the one candidate.
        assert_eq!(f.run("SET d v"), Reply::OK);
        assert!(!f.exists("a"));
        assert_eq!(f.evicted(), 1);
    }

    #[test]
    fn noeviction_refuses_writes_that_may_grow_memory_only() {
        let mut f = Fixture::new(Policy::NoEviction, 2, 5);
        for k in ["a", "b", "c"] {
            f.run(&format!("SET {k} 1"));
        }
        assert_eq!(
            error(f.run("SET x v")),
            "OOM command not allowed when used memory > 'maxmemory'."
        );
        assert_eq!(error(f.run("INCR a")), OOM_ERROR);
        assert_eq!(error(f.run("LPUSH l x")), OOM_ERROR);
        assert_eq!(f.run("GET a"), Reply::Bulk(Bytes::from_static(b"1")));
        assert_eq!(f.run("EXPIRE a 100"), Reply::Int(1));
        assert_eq!(f.run("LPOP l"), Reply::Nil);
        assert_eq!(f.run("DEL a b"), Reply::Int(2));
        assert_eq!(f.run("SET x v"), Reply::OK);
        assert_eq!(f.evicted(), 0);
        assert_eq!(f.info("rejected_calls"), "3");
    }

    #[test]
    fn scripts_follow_redis_7() {
        let mut f = Fixture::new(Policy::NoEviction, 1, 5);
        f.run("SET a 1");
        f.run("SET b 1");
        let eval = |f: &mut Fixture, body: &str| {
            let argv = [
                Bytes::from_static(b"EVAL"),
                Bytes::copy_from_slice(body.as_bytes()),
                Bytes::from_static(b"0"),
            ];
            f.engine.execute(&mut f.client, &argv)
        };
        // Without a shebang the script runs, and its first command that may grow memory fails.
        let body = "return redis.call('SET', 'k', 'v')";
        let sha = sha1_smol::Sha1::from(body).digest().to_string();
        let e = error(eval(&mut f, body));
        assert_eq!(e, format!("{OOM_ERROR} script: {sha}, on @user_script:1."));
        // ... unless it wrote before (Redis does not stop a script half-way).
        assert_eq!(
            eval(&mut f, "redis.call('DEL', 'nokey'); return redis.call('SET', 'k', 'v')"),
            Reply::OK
        );
        // With flags: refused before it starts unless no-writes or allow-oom.
        assert_eq!(error(eval(&mut f, "#!lua\nreturn redis.call('GET', 'a')")), OOM_ERROR);
        assert_eq!(
            eval(&mut f, "#!lua flags=no-writes\nreturn redis.call('GET', 'a')"),
            Reply::Bulk(Bytes::from_static(b"1"))
        );
        assert_eq!(
            eval(&mut f, "#!lua flags=allow-oom\nreturn redis.call('SET', 'k2', 'v')"),
            Reply::OK
        );
        f.run("CONFIG SET maxmemory 0");
        let lib = "#!lua name=lib\nredis.register_function('f', function() return 1 end)\nredis.register_function{function_name='g', callback=function() return 2 end, flags={'no-writes'}}";
        let argv = [
            Bytes::from_static(b"FUNCTION"),
            Bytes::from_static(b"LOAD"),
            Bytes::copy_from_slice(lib.as_bytes()),
        ];
        assert_eq!(f.engine.execute(&mut f.client, &argv), Reply::Bulk(Bytes::from_static(b"lib")));
        f.run("CONFIG SET maxmemory 100");
        assert_eq!(error(f.run("FCALL f 0")), OOM_ERROR);
        assert_eq!(f.run("FCALL g 0"), Reply::Int(2));
        assert_eq!(error(f.engine.execute(&mut f.client, &argv)), OOM_ERROR);
    }

    #[test]
    fn transactions_follow_redis_7_4() {
        let mut f = Fixture::new(Policy::NoEviction, 1, 5);
        f.run("SET a 1");
        f.run("SET b 1");
        // A command that may grow memory is refused when queued, and the transaction is flagged.
        assert_eq!(f.run("MULTI"), Reply::OK);
        assert_eq!(error(f.run("SET x 1")), OOM_ERROR);
        assert_eq!(f.run("GET a"), Reply::simple("QUEUED"));
        assert_eq!(
            error(f.run("EXEC")),
            "EXECABORT Transaction discarded because of previous errors."
        );
        // Reads only: runs.
        f.run("MULTI");
        f.run("GET a");
        assert_eq!(f.run("EXEC"), Reply::Array(vec![Reply::Bulk(Bytes::from_static(b"1"))]));
        // Queued before the limit was reached: EXEC is refused and the transaction discarded.
        f.run("DEL b");
        f.run("MULTI");
        assert_eq!(f.run("SET x 1"), Reply::simple("QUEUED"));
        let mut other = f.engine.new_client("other".into());
        let set = ["SET", "y", "1"].map(|w| Bytes::copy_from_slice(w.as_bytes()));
        assert_eq!(f.engine.execute(&mut other, &set), Reply::OK);
        assert_eq!(
            error(f.run("EXEC")),
            format!("EXECABORT Transaction discarded because of: {OOM_ERROR}")
        );
        assert_eq!(error(f.run("EXEC")), "ERR EXEC without MULTI");
        assert!(!f.exists("x"));
    }

    #[test]
    fn random_policies_evict_only_candidates() {
        let mut f = Fixture::new(Policy::VolatileRandom, 3, 5);
        f.run("SET p1 v");
        f.run("SET p2 v");
        f.run("SET t1 v EX 100");
        f.run("SET t2 v EX 100");
        f.run("PING");
        assert_eq!(f.evicted(), 1);
        assert!(f.exists("p1") && f.exists("p2"));
        let mut f = Fixture::new(Policy::AllKeysRandom, 3, 5);
        for i in 0..10 {
            f.run(&format!("SET k{i} v"));
        }
        f.run("PING");
        assert_eq!(f.engine.dbsize(), 3);
        assert_eq!(f.evicted(), 7);
    }

    #[test]
    fn config_get_and_set() {
        let mut f = Fixture::new(Policy::NoEviction, 10, 5);
        assert_eq!(
            f.run("CONFIG SET maxmemory 2mb maxmemory-policy ALLKEYS-LFU maxmemory-samples 10"),
            Reply::OK
        );
        let cfg = f.engine.info().memory;
        assert_eq!((cfg.maxmemory, cfg.policy, cfg.samples), (2 << 20, Policy::AllKeysLfu, 10));
        let get = f.run("CONFIG GET maxmemory*");
        let Reply::Map(pairs) = get else { panic!("{get:?}") };
        assert_eq!(pairs.len(), 3);
        assert_eq!(
            error(f.run("CONFIG SET maxmemory abc")),
            "ERR CONFIG SET failed (possibly related to argument 'maxmemory') - argument must be a memory value"
        );
        assert_eq!(
            error(f.run("CONFIG SET maxmemory 1 maxmemory 2")),
            "ERR CONFIG SET failed (possibly related to argument 'maxmemory') - duplicate parameter"
        );
        assert_eq!(
            error(f.run("CONFIG SET foo 1")),
            "ERR Unknown option or number of arguments for CONFIG SET - 'foo'"
        );
        assert_eq!(
            error(f.run("CONFIG SET maxmemory-samples 0")),
            "ERR CONFIG SET failed (possibly related to argument 'maxmemory-samples') - argument must be between 1 and 2147483647 inclusive"
        );
        assert_eq!(
            error(f.run("CONFIG SET maxmemory")),
            "ERR wrong number of arguments for 'config|set' command"
        );
        // A failed CONFIG SET changes nothing, even the pairs before the bad one.
        f.run("CONFIG SET maxmemory 5mb maxmemory-policy bogus");
        assert_eq!(f.engine.info().memory.maxmemory, 2 << 20);
    }

    #[test]
    fn memory_usage_counts_the_key_the_entry_and_the_value() {
        let mut f = Fixture::new(Policy::NoEviction, 1000, 5);
        f.run("SET s x");
        let small = f.run("MEMORY USAGE s");
        f.run(&format!("SET s {}", "x".repeat(1000)));
        let big = f.run("MEMORY USAGE s");
        match (small, big) {
            (Reply::Int(a), Reply::Int(b)) => {
                assert!(a > 8 && a < 200, "{a}");
                // A 1-byte value is inline in the entry (no heap); a 1000-byte one is a shared buffer
                // (its 1024-byte size class) behind a boxed 32-byte handle.
                assert_eq!(b - a, 1024 + 32, "the long value's allocations are counted");
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(f.run("MEMORY USAGE nokey"), Reply::Nil);
        for i in 0..100 {
            f.run(&format!("RPUSH l {i:0>20}"));
        }
        let (Reply::Int(sampled), Reply::Int(all)) =
            (f.run("MEMORY USAGE l"), f.run("MEMORY USAGE l SAMPLES 0"))
        else {
            panic!()
        };
        assert_eq!(sampled, all, "same-size elements: the estimate is exact");
        assert!(all > 100 * 24, "{all}");
        assert_eq!(error(f.run("MEMORY USAGE l SAMPLES -1")), "ERR syntax error");
        assert_eq!(
            error(f.run("MEMORY USAGE l SAMPLES x")),
            "ERR value is not an integer or out of range"
        );
        assert_eq!(error(f.run("MEMORY USAGE l FOO")), "ERR syntax error");
        assert_eq!(
            error(f.run("MEMORY USAGE")),
            "ERR wrong number of arguments for 'memory|usage' command"
        );
        assert_eq!(error(f.run("MEMORY FOO")), "ERR unknown subcommand 'FOO'. Try MEMORY HELP.");
    }

    #[test]
    fn info_reports_memory_and_evictions() {
        let mut f = Fixture::new(Policy::AllKeysLru, 2, 5);
        for i in 0..4 {
            f.run(&format!("SET k{i} v"));
        }
        let Reply::Verbatim(info) = f.run("INFO") else { panic!() };
        let info = String::from_utf8_lossy(&info);
        for line in [
            "used_memory:200\r\n",
            "used_memory_human:200B",
            "used_memory_peak:300\r\n",
            "maxmemory:200\r\n",
            "maxmemory_human:200B",
            "maxmemory_policy:allkeys-lru",
            "evicted_keys:2\r\n",
            "mem_allocator:",
        ] {
            assert!(info.contains(line), "{line} in {info}");
        }
    }

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
