//! Memory accounting: the process's used-memory figure, the memory settings (`maxmemory`,
//! `maxmemory-policy`, `maxmemory-samples`), Redis's memory units, and the allocator size classes
//! `MEMORY USAGE` rounds to.
//!
//! `used_memory` is the heap the process has allocated and not freed, counted by [`Counting`], a thin
//! wrapper around the real allocator that the binary (and the test binaries that test limits) declares as
//! `#[global_allocator]`. Every allocation adds its size (rounded to jemalloc's size class when the
//! wrapper wraps jemalloc) to one relaxed atomic counter, every free subtracts it, so reading the figure
//! before a command is one relaxed load, and it is exact at any instant, like Redis's zmalloc counter.
//! Without a counting allocator the figure is unknown ([`allocated`] is `None`) and limits are disabled.
//!
//! Why not jemalloc's own `stats.allocated`: it is only refreshed by an `epoch` write (a `mallctl` call
//! that merges every arena's statistics, microseconds), too slow before every write and stale between
//! refreshes; a counter in the allocation path costs one uncontended atomic add per allocation.

// The allocator wrapper implements `GlobalAlloc`, an unsafe trait; the unsafe is confined to forwarding
// calls to the wrapped allocator.
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout};
use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Bytes allocated through [`Counting`] and not yet freed.
static ALLOCATED: AtomicUsize = AtomicUsize::new(0);

/// The name `INFO memory` reports as `mem_allocator` (set by the binary).
static ALLOCATOR_NAME: std::sync::OnceLock<&'static str> = std::sync::OnceLock::new();

/// A global allocator that counts the bytes in use (see the module documentation).
///
/// ```ignore
/// #[global_allocator]
/// static ALLOC: larder_engine::memory::Counting<tikv_jemallocator::Jemalloc> =
///     larder_engine::memory::Counting::with_size_classes(tikv_jemallocator::Jemalloc);
/// ```
#[derive(Debug)]
pub struct Counting<A> {
    inner: A,
    /// Count jemalloc's size class of each allocation instead of the requested size.
    size_classes: bool,
}

impl<A> Counting<A> {
    /// Counts requested sizes (for allocators whose size classes are unknown, e.g. `System`).
    pub const fn new(inner: A) -> Counting<A> {
        Counting { inner, size_classes: false }
    }

    /// Counts jemalloc's size class of each allocation (what the allocation really occupies).
    pub const fn with_size_classes(inner: A) -> Counting<A> {
        Counting { inner, size_classes: true }
    }

    #[inline(always)]
    fn charge(&self, layout: &Layout) -> usize {
        if self.size_classes {
            size_class(layout.size().max(layout.align()))
        } else {
            layout.size()
        }
    }
}

// SAFETY: every method forwards to the wrapped allocator with the caller's arguments unchanged; the
// counter has no effect on the memory handed out.
unsafe impl<A: GlobalAlloc> GlobalAlloc for Counting<A> {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded with the caller's guarantees.
        let p = unsafe { self.inner.alloc(layout) };
        if !p.is_null() {
            ALLOCATED.fetch_add(self.charge(&layout), Ordering::Relaxed);
        }
        p
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded with the caller's guarantees.
        let p = unsafe { self.inner.alloc_zeroed(layout) };
        if !p.is_null() {
            ALLOCATED.fetch_add(self.charge(&layout), Ordering::Relaxed);
        }
        p
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { self.inner.dealloc(ptr, layout) };
        ALLOCATED.fetch_sub(self.charge(&layout), Ordering::Relaxed);
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: forwarded with the caller's guarantees.
        let p = unsafe { self.inner.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            let old = self.charge(&layout);
            // SAFETY: `realloc`'s contract makes this a valid layout (same alignment, non-overflowing size).
            let new = self
                .charge(&unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) });
            if new >= old {
                ALLOCATED.fetch_add(new - old, Ordering::Relaxed);
            } else {
                ALLOCATED.fetch_sub(old - new, Ordering::Relaxed);
            }
        }
        p
    }
}

/// The heap in use in bytes, counted by [`Counting`]; `None` when no counting allocator is installed
/// (then memory limits are disabled). One relaxed atomic load.
#[inline]
pub fn allocated() -> Option<u64> {
    match ALLOCATED.load(Ordering::Relaxed) {
        0 => None,
        n => Some(n as u64),
    }
}

/// Records the allocator's name for `INFO memory` (`mem_allocator`), e.g. `jemalloc-5.3.0`.
pub fn set_allocator_name(name: &'static str) {
    let _ = ALLOCATOR_NAME.set(name);
}

/// The allocator's name for `INFO memory`: what the binary recorded, `libc` otherwise.
pub(crate) fn allocator_name() -> &'static str {
    ALLOCATOR_NAME.get().copied().unwrap_or("libc")
}

/// The resident set size of the process in bytes (`VmRSS` from `/proc/self/status`, which is in kB and so
/// needs no page size), or 0 where there is no procfs.
pub(crate) fn rss() -> u64 {
    let Ok(status) = std::fs::read_to_string("/proc/self/status") else { return 0 };
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

/// The size class jemalloc serves a request of `n` bytes from (its default configuration on 64-bit:
/// 8, then multiples of 16 up to 128, then four classes per doubling: 160, 192, 224, 256, 320, ...).
#[inline]
pub const fn size_class(n: usize) -> usize {
    if n <= 8 {
        return 8;
    }
    if n <= 128 {
        return (n + 15) & !15;
    }
    let lg = usize::BITS - 1 - (n - 1).leading_zeros(); // floor(log2(n - 1))
    let delta = 1usize << (lg - 2);
    (n + delta - 1) & !(delta - 1)
}

/// The heap bytes of an owned byte string of `len` bytes (nothing for an empty one).
#[inline]
pub(crate) fn bytes_heap(len: usize) -> usize {
    if len == 0 { 0 } else { size_class(len) }
}

/// Heap bytes of a [`Dict`](crate::dict::Dict) itself with `len` entries over `buckets` buckets and
/// nodes of `node_size` bytes: the bucket arrays and one node per entry (not what keys and values own).
pub(crate) fn dict_heap(len: usize, buckets: usize, node_size: usize) -> usize {
    let table = buckets * std::mem::size_of::<usize>();
    (if table == 0 { 0 } else { size_class(table) }) + len * size_class(node_size)
}

/// The sum of per-element sizes of a collection of `len` elements, like Redis's `objectComputeSize`: the
/// first `samples` elements are measured and the rest estimated from their average.
pub(crate) fn sampled(sizes: impl Iterator<Item = usize>, len: usize, samples: usize) -> usize {
    let (mut n, mut sum) = (0usize, 0usize);
    for s in sizes.take(samples.max(1)) {
        n += 1;
        sum += s;
    }
    if n == 0 || n >= len { sum } else { (sum as f64 / n as f64 * len as f64) as usize }
}

/// `MEMORY USAGE`: the bytes a key costs: its node in the keyspace dict (holding the `Entry`), the key's
/// bytes, the value's heap, and its node in the expiry index if it has an expiry time.
pub(crate) fn entry_usage(key: &[u8], entry: &crate::keyspace::Entry, samples: usize) -> usize {
    use crate::compact::CompactBytes;
    use crate::dict::Dict;
    use crate::value::Value;
    // The boxed collections also own their box.
    fn boxed<T>(_: &T) -> usize {
        size_class(std::mem::size_of::<T>())
    }
    let value = match &entry.value {
        Value::Str(s) => compact_heap(s),
        Value::List(l) => boxed(&**l) + l.heap_usage(samples),
        Value::Hash(h) => h.heap_usage(samples),
        Value::Set(s) => boxed(&**s) + s.heap_usage(samples),
        Value::ZSet(z) => boxed(&**z) + z.heap_usage(samples),
        Value::Stream(x) => boxed(&**x) + x.heap_usage(samples),
    };
    // The key's own bytes, in the keyspace and (a copy) in the expiry index.
    let key_heap = compact_heap(&CompactBytes::new(key));
    let expiry = if entry.expire_at().is_some() {
        size_class(Dict::<CompactBytes, ()>::node_size()) + key_heap
    } else {
        0
    };
    size_class(Dict::<CompactBytes, crate::keyspace::Entry>::node_size())
        + key_heap
        + value
        + expiry
}

/// Heap bytes a [`CompactBytes`](crate::compact::CompactBytes) owns: none when inline, else its
/// allocation (and a shared one's `Bytes` handle).
pub(crate) fn compact_heap(b: &crate::compact::CompactBytes) -> usize {
    use crate::compact::CompactBytes;
    match b {
        CompactBytes::Inline { .. } => 0,
        CompactBytes::Boxed(x) => bytes_heap(x.len()),
        CompactBytes::Shared(x) => {
            size_class(std::mem::size_of::<bytes::Bytes>()) + bytes_heap(x.len())
        }
    }
}

/// Redis's human-readable byte count (`bytesToHuman`): `512B`, `1.50K`, `2.00M`, `1.00G`, ...
pub fn human(n: u64) -> String {
    const UNITS: [(u64, &str); 5] =
        [(1 << 10, "K"), (1 << 20, "M"), (1 << 30, "G"), (1 << 40, "T"), (1 << 50, "P")];
    if n < 1024 {
        return format!("{n}B");
    }
    for (i, (unit, name)) in UNITS.iter().enumerate() {
        if i + 1 == UNITS.len() || n < unit * 1024 {
            return format!("{:.2}{name}", n as f64 / *unit as f64);
        }
    }
    format!("{n}B")
}

/// Parses a memory amount like Redis's config (`memtoull`): digits and an optional case-insensitive unit,
/// `b`, `k` (1000), `kb` (1024), `m`, `mb`, `g`, `gb`. `None` for anything else.
pub fn parse_bytes(s: &str) -> Option<u64> {
    let digits = s.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 {
        return None;
    }
    let (num, unit) = s.split_at(digits);
    let mul: u64 = match unit.to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" => 1000,
        "kb" => 1024,
        "m" => 1000 * 1000,
        "mb" => 1024 * 1024,
        "g" => 1000 * 1000 * 1000,
        "gb" => 1024 * 1024 * 1024,
        _ => return None,
    };
    num.parse::<u64>().ok()?.checked_mul(mul)
}

/// What happens when used memory is over `maxmemory` (Redis's `maxmemory-policy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Policy {
    /// Evict nothing: commands that may grow memory are refused with `OOM`.
    #[default]
    NoEviction,
    AllKeysLru,
    AllKeysLfu,
    AllKeysRandom,
    VolatileLru,
    VolatileLfu,
    VolatileRandom,
    VolatileTtl,
}

impl Policy {
    /// Every policy, in the order `--help` lists them.
    pub const ALL: [Policy; 8] = [
        Policy::NoEviction,
        Policy::AllKeysLru,
        Policy::AllKeysLfu,
        Policy::AllKeysRandom,
        Policy::VolatileLru,
        Policy::VolatileLfu,
        Policy::VolatileRandom,
        Policy::VolatileTtl,
    ];

    /// The name Redis uses.
    pub const fn name(self) -> &'static str {
        match self {
            Policy::NoEviction => "noeviction",
            Policy::AllKeysLru => "allkeys-lru",
            Policy::AllKeysLfu => "allkeys-lfu",
            Policy::AllKeysRandom => "allkeys-random",
            Policy::VolatileLru => "volatile-lru",
            Policy::VolatileLfu => "volatile-lfu",
            Policy::VolatileRandom => "volatile-random",
            Policy::VolatileTtl => "volatile-ttl",
        }
    }

    /// Whether the access stamps hold LFU counters (else LRU clocks).
    pub const fn is_lfu(self) -> bool {
        matches!(self, Policy::AllKeysLfu | Policy::VolatileLfu)
    }

    /// Whether only keys with an expiry time are candidates.
    pub const fn volatile_only(self) -> bool {
        matches!(
            self,
            Policy::VolatileLru
                | Policy::VolatileLfu
                | Policy::VolatileRandom
                | Policy::VolatileTtl
        )
    }
}

impl std::str::FromStr for Policy {
    type Err = String;

    fn from_str(s: &str) -> Result<Policy, String> {
        Policy::ALL.into_iter().find(|p| p.name().eq_ignore_ascii_case(s)).ok_or_else(|| {
            format!(
                "unknown maxmemory policy {s:?}: expected one of {}",
                Policy::ALL.map(Policy::name).join(", ")
            )
        })
    }
}

impl fmt::Display for Policy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The memory limit and how it is enforced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemoryConfig {
    /// The limit in bytes; 0 = none.
    pub maxmemory: u64,
    pub policy: Policy,
    /// Keys sampled per eviction round (Redis's `maxmemory-samples`).
    pub samples: usize,
}

impl Default for MemoryConfig {
    fn default() -> MemoryConfig {
        MemoryConfig { maxmemory: 0, policy: Policy::NoEviction, samples: 5 }
    }
}

/// Redis's error for a command that may grow memory while used memory is over the limit.
pub const OOM_ERROR: &str = "OOM command not allowed when used memory > 'maxmemory'.";

/// The OOM error as a [`CommandError`](crate::CommandError).
pub(crate) fn oom_error() -> crate::CommandError {
    crate::CommandError::custom(OOM_ERROR)
}

/// Where the engine reads used memory from.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) enum Gauge {
    /// The process's heap, counted by [`Counting`] ([`allocated`]).
    #[default]
    Process,
    /// For engine tests, which share their process with other tests: `base` plus `per_key` bytes per key.
    #[cfg(test)]
    PerKey { base: u64, per_key: u64 },
}

impl Gauge {
    /// Used memory in bytes; `None` when unknown (no counting allocator).
    #[inline]
    pub(crate) fn used(&self, db: &crate::keyspace::Keyspace) -> Option<u64> {
        let _ = db;
        match *self {
            Gauge::Process => allocated(),
            #[cfg(test)]
            Gauge::PerKey { base, per_key } => Some(base + per_key * db.len() as u64),
        }
    }
}

/// The engine's memory state between commands.
#[derive(Debug, Default)]
pub(crate) struct MemoryState {
    pub gauge: Gauge,
    /// Redis's eviction pool, kept across evictions.
    pub pool: crate::evict::Pool,
    /// Used memory was over the limit with nothing left to evict when the current command started
    /// (Redis's `pre_command_oom_state`); scripts check it before their first write.
    pub oom: bool,
    /// The highest used memory seen (`used_memory_peak`).
    pub peak: u64,
    /// The running script may grow memory over the limit (its `allow-oom` flag).
    pub script_allow_oom: bool,
    /// The running script called a write command (Redis's `SCRIPT_WRITE_DIRTY`): from then on it is not
    /// stopped half-way by the OOM check.
    pub script_wrote: bool,
}

impl MemoryState {
    /// Used memory in bytes (`None` when unknown), recording the peak.
    #[inline]
    pub(crate) fn used(&mut self, db: &crate::keyspace::Keyspace) -> Option<u64> {
        let used = self.gauge.used(db)?;
        self.peak = self.peak.max(used);
        Some(used)
    }
}

/// Applies new memory settings (start, `CONFIG SET`): the access stamps follow the policy's kind, and
/// the eviction pool starts afresh when the policy changes.
pub(crate) fn apply(
    cfg: MemoryConfig,
    db: &mut crate::keyspace::Keyspace,
    server: &mut crate::command::ServerState,
) {
    if cfg.policy != server.info.memory.policy {
        server.memory.pool.clear();
    }
    db.set_lfu(cfg.policy.is_lfu());
    server.info.memory = cfg;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn size_classes_follow_jemalloc() {
        let cases = [
            (1, 8),
            (8, 8),
            (9, 16),
            (17, 32),
            (100, 112),
            (128, 128),
            (129, 160),
            (257, 320),
            (1000, 1024),
            (4097, 5120),
            (16385, 20480),
        ];
        for (n, want) in cases {
            assert_eq!(size_class(n), want, "size_class({n})");
        }
    }

    #[test]
    fn memory_units_like_redis() {
        assert_eq!(parse_bytes("0"), Some(0));
        assert_eq!(parse_bytes("100"), Some(100));
        assert_eq!(parse_bytes("100b"), Some(100));
        assert_eq!(parse_bytes("1k"), Some(1000));
        assert_eq!(parse_bytes("1KB"), Some(1024));
        assert_eq!(parse_bytes("100mb"), Some(100 << 20));
        assert_eq!(parse_bytes("2Gb"), Some(2 << 30));
        assert_eq!(parse_bytes("3g"), Some(3_000_000_000));
        for bad in ["", "-1", "mb", "1.5mb", "1tb", "1 mb", "99999999999999999999"] {
            assert_eq!(parse_bytes(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn human_like_redis() {
        assert_eq!(human(0), "0B");
        assert_eq!(human(1023), "1023B");
        assert_eq!(human(1024), "1.00K");
        assert_eq!(human(1536), "1.50K");
        assert_eq!(human(100 << 20), "100.00M");
        assert_eq!(human(3 << 30), "3.00G");
    }

    #[test]
    fn policies_parse_case_insensitively() {
        for p in Policy::ALL {
            assert_eq!(p.name().to_ascii_uppercase().parse::<Policy>(), Ok(p));
        }
        assert!("lru".parse::<Policy>().is_err());
    }
}
