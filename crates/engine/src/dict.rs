//! A hash map with Redis `dict.c` semantics.
//!
//! [`Dict`] is a separately chained hash table over power-of-two bucket
//! arrays. It exists because `std`/`hashbrown` maps cannot provide three
//! things the server needs:
//!
//! * **A stateless, resize-tolerant `SCAN` cursor** ([`Dict::scan`]). The
//!   cursor is a bucket index incremented in *reverse-bit* order (the
//!   algorithm by Pieter Noordhuis used by Redis). Because higher-order bits
//!   are incremented first, every bucket already covered maps onto a set of
//!   buckets in a larger or smaller power-of-two table that is also covered, so
//!   an element present for the whole scan is returned at least once even if
//!   the table grows or shrinks between calls. While two tables exist (during
//!   a rehash) a call visits the smaller table's bucket and all of its
//!   expansions in the larger table.
//! * **O(1) random element selection** ([`Dict::random`], [`Dict::sample`]):
//!   pick a random non-empty bucket, then a random element of its chain, like
//!   `dictGetRandomKey` / `dictGetSomeKeys`.
//! * **Incremental rehashing.** Growing (load factor 1) or shrinking (load
//!   below 1/8, never below [`MIN_BUCKETS`]) allocates the new bucket array and
//!   then moves a bounded number of buckets per mutating operation, so no
//!   single insert pays O(n) element moves. Lookups and removals consult both
//!   tables while a rehash is in progress.
//!
//! Chains are singly linked lists of boxed nodes (`Option<Box<Node>>`, which
//! is one pointer thanks to the null niche, so an empty bucket costs 8 bytes).
//! A node holds `next`, the key and the value, like Redis's `dictEntry`: the
//! per-entry overhead beyond the `(K, V)` pair is the 8-byte `next` pointer in
//! the node plus the allocator header plus 8-16 bytes of bucket array. The hash
//! is not cached in the node (that would cost 8 bytes per element, a tenth of a
//! small string key): chain walks compare keys, which are short and usually
//! inline in the node, and rehashing hashes each moved key again, as Redis does.
//! Moving an element between tables only relinks its node (no copy).
//!
//! Rehash work is only done from `&mut self` methods (`insert`, `remove`,
//! `remove_entry`, `get_mut`, `get_or_insert_with`) and from
//! [`Dict::rehash_step`], meant for a background "active rehash" timer.

#[cfg(test)]
mod tests;

use std::borrow::Borrow;
use std::collections::HashSet;
use std::fmt;
use std::hash::{BuildHasher, Hash};
use std::iter::FusedIterator;
use std::mem;

use rand::Rng;

/// The default hash builder: foldhash's fast, randomly seeded hasher.
pub type DefaultHashBuilder = foldhash::fast::RandomState;

/// Smallest bucket array a non-empty table is given, and the floor for shrinking.
pub const MIN_BUCKETS: usize = 4;

/// A table shrinks when `len * SHRINK_RATIO < buckets`.
const SHRINK_RATIO: usize = 8;

/// Empty buckets a single rehash step may skip before giving up (as in Redis).
const EMPTY_VISITS_PER_STEP: usize = 10;

/// Rehash steps taken per mutating operation when the rehash target table is
/// already fuller than its bucket count (only happens when a shrink is
/// followed by many inserts); otherwise one step is taken.
const CATCH_UP_STEPS: usize = 8;

type Link<K, V> = Option<Box<Node<K, V>>>;

struct Node<K, V> {
    next: Link<K, V>,
    key: K,
    value: V,
}

/// One bucket array. `buckets.len()` is zero or a power of two.
struct Table<K, V> {
    buckets: Box<[Link<K, V>]>,
    len: usize,
}

impl<K, V> Default for Table<K, V> {
    fn default() -> Self {
        Table { buckets: Box::default(), len: 0 }
    }
}

impl<K, V> Table<K, V> {
    fn with_buckets(n: usize) -> Self {
        debug_assert!(n.is_power_of_two());
        Table { buckets: std::iter::repeat_with(|| None).take(n).collect(), len: 0 }
    }

    #[inline]
    fn size(&self) -> usize {
        self.buckets.len()
    }

    /// Bucket index of `hash`. The table must have buckets.
    #[inline]
    fn index(&self, hash: u64) -> usize {
        (hash as usize) & (self.buckets.len() - 1)
    }
}

impl<K, V> Drop for Table<K, V> {
    /// Unlinks chains iteratively so a pathological chain cannot overflow the
    /// stack through recursive `Box` drops.
    fn drop(&mut self) {
        let mut remaining = self.len;
        for bucket in self.buckets.iter_mut() {
            if remaining == 0 {
                break;
            }
            let mut link = bucket.take();
            while let Some(mut node) = link {
                link = node.next.take();
                remaining = remaining.saturating_sub(1);
            }
        }
    }
}

impl<K: Clone, V: Clone> Clone for Table<K, V> {
    fn clone(&self) -> Self {
        // Chains are rebuilt back to front, preserving order, without recursion.
        let mut stack: Vec<&Node<K, V>> = Vec::new();
        let buckets = self
            .buckets
            .iter()
            .map(|bucket| {
                stack.clear();
                let mut cur = bucket.as_deref();
                while let Some(node) = cur {
                    stack.push(node);
                    cur = node.next.as_deref();
                }
                let mut link = None;
                for node in stack.iter().rev() {
                    link = Some(Box::new(Node {
                        next: link,
                        key: node.key.clone(),
                        value: node.value.clone(),
                    }));
                }
                link
            })
            .collect();
        Table { buckets, len: self.len }
    }
}

/// Walks `cur`'s chain to the link holding `key`, or to the empty link at its tail.
fn seek<'a, K, V, Q>(mut cur: &'a mut Link<K, V>, key: &Q) -> &'a mut Link<K, V>
where
    K: Borrow<Q>,
    Q: ?Sized + Eq,
{
    while cur.as_ref().is_some_and(|node| node.key.borrow() != key) {
        if let Some(node) = cur {
            cur = &mut node.next;
        }
    }
    cur
}

fn find_in_chain<'a, K, V, Q>(mut cur: Option<&'a Node<K, V>>, key: &Q) -> Option<&'a Node<K, V>>
where
    K: Borrow<Q>,
    Q: ?Sized + Eq,
{
    while let Some(node) = cur {
        if node.key.borrow() == key {
            return Some(node);
        }
        cur = node.next.as_deref();
    }
    None
}

/// Reverse-binary increment of a scan cursor whose unmasked bits are all set.
#[inline]
fn rev_increment(v: u64) -> u64 {
    v.reverse_bits().wrapping_add(1).reverse_bits()
}

/// Where an element sits in a [`Dict`] (see [`Dict::position`]); meaningful until the dict changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pos {
    /// In the rehash target table rather than the main one.
    second: bool,
    bucket: usize,
    depth: usize,
}

/// Redis-style hash table; see the [module documentation](self).
pub struct Dict<K, V, S = DefaultHashBuilder> {
    hash_builder: S,
    /// Main table. While rehashing, its buckets `..rehash_idx` are empty.
    t0: Table<K, V>,
    /// Rehash target; has no buckets when no rehash is in progress.
    t1: Table<K, V>,
    /// Next `t0` bucket to move into `t1` (meaningful only while rehashing).
    rehash_idx: usize,
}

impl<K, V> Dict<K, V, DefaultHashBuilder> {
    /// An empty dict. Allocates nothing until the first insert.
    pub fn new() -> Self {
        Self::with_hasher(DefaultHashBuilder::default())
    }

    /// An empty dict whose table can hold `capacity` elements without growing.
    pub fn with_capacity(capacity: usize) -> Self {
        Self::with_capacity_and_hasher(capacity, DefaultHashBuilder::default())
    }
}

impl<K, V, S> Dict<K, V, S> {
    /// An empty dict using `hash_builder`. Allocates nothing.
    pub fn with_hasher(hash_builder: S) -> Self {
        Dict { hash_builder, t0: Table::default(), t1: Table::default(), rehash_idx: 0 }
    }

    /// An empty dict using `hash_builder` that can hold `capacity` elements
    /// without growing.
    pub fn with_capacity_and_hasher(capacity: usize, hash_builder: S) -> Self {
        let mut dict = Self::with_hasher(hash_builder);
        if capacity > 0 {
            dict.t0 = Table::with_buckets(capacity.next_power_of_two().max(MIN_BUCKETS));
        }
        dict
    }

    /// The dict's hash builder.
    pub fn hasher(&self) -> &S {
        &self.hash_builder
    }

    /// Number of elements.
    #[inline]
    pub fn len(&self) -> usize {
        self.t0.len + self.t1.len
    }

    /// Whether the dict has no elements.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Total buckets allocated across both tables (each is one pointer), for
    /// memory accounting. Each element additionally costs one heap node of
    /// [`Dict::node_size`] bytes (plus allocator overhead).
    pub fn bucket_count(&self) -> usize {
        self.t0.size() + self.t1.size()
    }

    /// Size in bytes of the heap node allocated per element: the key, the
    /// value and a `next` pointer (allocator headers and size-class rounding
    /// not included).
    pub const fn node_size() -> usize {
        mem::size_of::<Node<K, V>>()
    }

    /// Whether an incremental rehash (grow or shrink) is in progress.
    #[inline]
    pub fn is_rehashing(&self) -> bool {
        self.t1.size() != 0
    }

    /// The element at `pos`, a [`Dict::position`] taken since the dict was last changed (`None` for a
    /// position that no longer points at an element).
    #[inline]
    pub fn at(&self, pos: Pos) -> Option<(&K, &V)> {
        let table = if pos.second { &self.t1 } else { &self.t0 };
        let mut node = table.buckets.get(pos.bucket)?.as_deref()?;
        for _ in 0..pos.depth {
            node = node.next.as_deref()?;
        }
        Some((&node.key, &node.value))
    }

    /// [`Dict::at`], with the value mutable.
    pub fn at_mut(&mut self, pos: Pos) -> Option<(&K, &mut V)> {
        let table = if pos.second { &mut self.t1 } else { &mut self.t0 };
        let mut node = table.buckets.get_mut(pos.bucket)?.as_deref_mut()?;
        for _ in 0..pos.depth {
            node = node.next.as_deref_mut()?;
        }
        Some((&node.key, &mut node.value))
    }

    /// Removes every element and frees both bucket arrays.
    pub fn clear(&mut self) {
        self.t0 = Table::default();
        self.t1 = Table::default();
        self.rehash_idx = 0;
    }

    /// Iterates over `(&K, &V)` in unspecified order, each element exactly once.
    pub fn iter(&self) -> Iter<'_, K, V> {
        let live_t0 = if self.is_rehashing() {
            &self.t0.buckets[self.rehash_idx..]
        } else {
            &self.t0.buckets[..]
        };
        Iter {
            buckets: live_t0.iter().chain(self.t1.buckets.iter()),
            node: None,
            remaining: self.len(),
        }
    }

    /// Iterates over `(&K, &mut V)` in unspecified order.
    pub fn iter_mut(&mut self) -> IterMut<'_, K, V> {
        let remaining = self.len();
        let live_t0 = if self.t1.size() != 0 {
            &mut self.t0.buckets[self.rehash_idx..]
        } else {
            &mut self.t0.buckets[..]
        };
        IterMut {
            buckets: live_t0.iter_mut().chain(self.t1.buckets.iter_mut()),
            node: None,
            remaining,
        }
    }

    /// Iterates over the keys.
    pub fn keys(&self) -> Keys<'_, K, V> {
        Keys(self.iter())
    }

    /// Iterates over the values.
    pub fn values(&self) -> Values<'_, K, V> {
        Values(self.iter())
    }

    /// Iterates over mutable references to the values.
    pub fn values_mut(&mut self) -> ValuesMut<'_, K, V> {
        ValuesMut(self.iter_mut())
    }

    /// Removes all elements, returning them as an owning iterator. The dict
    /// is left empty with no buckets allocated.
    pub fn drain(&mut self) -> IntoIter<K, V> {
        let t0 = mem::take(&mut self.t0);
        let t1 = mem::take(&mut self.t1);
        self.rehash_idx = 0;
        IntoIter::new(t0, t1)
    }

    /// Keeps only the elements for which `f` returns `true`. May start a shrink.
    pub fn retain(&mut self, mut f: impl FnMut(&K, &mut V) -> bool) {
        for table in [&mut self.t0, &mut self.t1] {
            for bucket in table.buckets.iter_mut() {
                let mut cur = bucket;
                loop {
                    let keep = match cur {
                        None => break,
                        Some(node) => f(&node.key, &mut node.value),
                    };
                    if keep {
                        if let Some(node) = cur {
                            cur = &mut node.next;
                        }
                    } else if let Some(mut node) = cur.take() {
                        *cur = node.next.take();
                        table.len -= 1;
                    }
                }
            }
        }
        if self.is_rehashing() && self.t0.len == 0 {
            self.finish_rehash();
        }
        self.shrink_if_needed();
    }

    /// Scans one cursor position: calls `f` on every element of the bucket(s)
    /// the cursor designates and returns the next cursor, `0` when the scan
    /// is complete. Start with cursor `0`.
    ///
    /// Every element present from the first to the last call is passed to
    /// `f` at least once, even if the dict grows, shrinks or is mid-rehash
    /// between calls. Elements may be returned more than once if the table was
    /// resized (or a rehash progressed) during the scan; with no mutation
    /// between calls each element is returned exactly once. A call visits at
    /// least one bucket, so it may call `f` zero times and still return a
    /// non-zero cursor.
    pub fn scan<'a>(&'a self, cursor: u64, mut f: impl FnMut(&'a K, &'a V)) -> u64 {
        if self.is_empty() {
            return 0;
        }
        let mut emit = |bucket: &'a Link<K, V>| {
            let mut cur = bucket.as_deref();
            while let Some(node) = cur {
                f(&node.key, &node.value);
                cur = node.next.as_deref();
            }
        };
        let mut v = cursor;
        if !self.is_rehashing() {
            let m0 = (self.t0.size() - 1) as u64;
            emit(&self.t0.buckets[(v & m0) as usize]);
            // Set the unmasked bits so the reversed increment carries through
            // them and only the masked bits advance.
            v |= !m0;
            v = rev_increment(v);
        } else {
            let (small, large) = if self.t0.size() <= self.t1.size() {
                (&self.t0, &self.t1)
            } else {
                (&self.t1, &self.t0)
            };
            let m0 = (small.size() - 1) as u64;
            let m1 = (large.size() - 1) as u64;
            emit(&small.buckets[(v & m0) as usize]);
            // Visit every bucket of the larger table that is an expansion of
            // the smaller table's bucket.
            loop {
                emit(&large.buckets[(v & m1) as usize]);
                v |= !m1;
                v = rev_increment(v);
                if v & (m0 ^ m1) == 0 {
                    break;
                }
            }
        }
        v
    }

    /// A random element: a uniformly chosen non-empty bucket, then a uniformly
    /// chosen element of its chain (so elements in longer chains are slightly
    /// less likely, as in Redis's `dictGetRandomKey`). `None` if empty.
    ///
    /// Expected cost is O(buckets / non-empty buckets) probes: about 1-2 at
    /// normal load, around 10 while a shrink is in progress (load < 1/8), and
    /// unbounded for a table presized by `with_capacity` far beyond its
    /// length (no shrink happens until an element is removed), as in Redis.
    pub fn random<R: Rng + ?Sized>(&self, rng: &mut R) -> Option<(&K, &V)> {
        if self.is_empty() {
            return None;
        }
        let head = if self.is_rehashing() {
            // t0 buckets below rehash_idx are known to be empty.
            let s0 = self.t0.size();
            let total = s0 + self.t1.size();
            loop {
                let h = rng.random_range(self.rehash_idx..total);
                let bucket = if h < s0 { &self.t0.buckets[h] } else { &self.t1.buckets[h - s0] };
                if let Some(node) = bucket.as_deref() {
                    break node;
                }
            }
        } else {
            let mask = self.t0.size() - 1;
            loop {
                let h = (rng.next_u64() as usize) & mask;
                if let Some(node) = self.t0.buckets[h].as_deref() {
                    break node;
                }
            }
        };
        let mut chain_len = 0;
        let mut cur = Some(head);
        while let Some(node) = cur {
            chain_len += 1;
            cur = node.next.as_deref();
        }
        let mut node = head;
        if chain_len > 1 {
            for _ in 0..rng.random_range(0..chain_len) {
                node = node.next.as_deref().unwrap_or(node);
            }
        }
        Some((&node.key, &node.value))
    }

    /// Calls `f` on up to `count` distinct elements taken from a run of
    /// consecutive buckets starting at a random position (jumping elsewhere
    /// after long runs of empty buckets), like Redis's `dictGetSomeKeys`.
    ///
    /// Fast but not uniformly distributed; may produce fewer than `count`
    /// elements (it gives up after `10 * count` bucket positions), never more,
    /// and never the same element twice within one call. When the last
    /// visited chain overflows `count`, reservoir sampling picks among it.
    pub fn sample<R: Rng + ?Sized>(&self, count: usize, rng: &mut R, mut f: impl FnMut(&K, &V)) {
        let count = count.min(self.len());
        if count == 0 {
            return;
        }
        let tables = [&self.t0, &self.t1];
        let ntables = if self.is_rehashing() { 2 } else { 1 };
        let s1 = self.t1.size();
        let max_mask = self.t0.size().max(s1) - 1;
        let mut max_steps = count.saturating_mul(10);
        let mut i = (rng.next_u64() as usize) & max_mask;
        let mut empty_run = 0usize;
        let mut picked: Vec<(&K, &V)> = Vec::with_capacity(count);
        let mut seen = 0usize;
        let mut visited = VisitedBuckets::default();
        // Set once the walk wrapped around or jumped, i.e. when a bucket could
        // be visited a second time; only then are visited buckets looked up.
        let mut may_revisit = false;
        'walk: while seen < count && max_steps > 0 {
            max_steps -= 1;
            for (j, table) in tables.iter().enumerate().take(ntables) {
                if ntables == 2 && j == 0 && i < self.rehash_idx {
                    // Buckets of t0 below rehash_idx are empty. If t1 is also
                    // out of range here (shrinking), jump straight past them.
                    if i >= s1 {
                        i = self.rehash_idx;
                    } else {
                        continue;
                    }
                }
                if i >= table.size() {
                    continue;
                }
                let Some(mut node) = table.buckets[i].as_deref() else {
                    empty_run += 1;
                    if empty_run >= 5 && empty_run > count {
                        i = (rng.next_u64() as usize) & max_mask;
                        empty_run = 0;
                        may_revisit = true;
                    }
                    continue;
                };
                empty_run = 0;
                if !visited.first_visit(i * 2 + j, may_revisit) {
                    continue;
                }
                loop {
                    if seen < count {
                        picked.push((&node.key, &node.value));
                    } else {
                        let r = rng.random_range(0..=seen);
                        if r < count {
                            picked[r] = (&node.key, &node.value);
                        }
                    }
                    seen += 1;
                    match node.next.as_deref() {
                        Some(next) => node = next,
                        None => break,
                    }
                }
                if seen >= count {
                    break 'walk;
                }
            }
            i = (i + 1) & max_mask;
            if i == 0 {
                may_revisit = true;
            }
        }
        for (k, v) in picked {
            f(k, v);
        }
    }

    /// Starts a resize to `new_size` buckets (a power of two). Requires that
    /// no rehash is in progress. Allocates the new (zeroed) bucket array but
    /// moves no elements; an empty dict just swaps in the new array.
    fn start_resize(&mut self, new_size: usize) {
        debug_assert!(!self.is_rehashing());
        if self.t0.len == 0 {
            self.t0 = Table::with_buckets(new_size);
        } else {
            self.t1 = Table::with_buckets(new_size);
            self.rehash_idx = 0;
        }
    }

    /// Installs the rehash target as the main table once the old one is
    /// empty, then immediately starts the next resize if the element count
    /// moved past a threshold while rehashing (no resize can start during a
    /// rehash, so without this a dict could stay oversized or overloaded).
    fn finish_rehash(&mut self) {
        debug_assert_eq!(self.t0.len, 0);
        self.t0 = mem::take(&mut self.t1);
        self.rehash_idx = 0;
        self.grow_if_needed();
        self.shrink_if_needed();
    }

    /// Starts growing if the load factor reached 1 and no rehash is running.
    fn grow_if_needed(&mut self) {
        if !self.is_rehashing() && self.t0.len >= self.t0.size() {
            self.start_resize((self.t0.len + 1).next_power_of_two().max(MIN_BUCKETS));
        }
    }

    /// Starts shrinking if the load factor fell below 1/8 (and the table is
    /// above the minimum size) and no rehash is running.
    fn shrink_if_needed(&mut self) {
        if self.is_rehashing() {
            return;
        }
        let size = self.t0.size();
        let len = self.t0.len;
        if size > MIN_BUCKETS && len * SHRINK_RATIO < size {
            self.start_resize((len + 1).next_power_of_two().max(MIN_BUCKETS));
        }
    }
}

impl<K, V, S> Dict<K, V, S>
where
    K: Hash + Eq,
    S: BuildHasher,
{
    #[inline]
    fn hash<Q: ?Sized + Hash>(&self, key: &Q) -> u64 {
        self.hash_builder.hash_one(key)
    }

    /// Moves up to `n_buckets` non-empty buckets from the old table to the new
    /// one, skipping at most `10 * n_buckets` empty buckets. Returns whether a
    /// rehash is still in progress afterwards (a finished rehash may chain
    /// into the next resize, see `finish_rehash`). Cheap no-op when not
    /// rehashing.
    pub fn rehash_step(&mut self, n_buckets: usize) -> bool {
        if !self.is_rehashing() {
            return false;
        }
        let mut empty_visits = n_buckets.saturating_mul(EMPTY_VISITS_PER_STEP);
        let mut moved = 0;
        while moved < n_buckets && self.t0.len > 0 {
            // t0.len > 0 guarantees a non-empty bucket at or after rehash_idx.
            while self.t0.buckets[self.rehash_idx].is_none() {
                self.rehash_idx += 1;
                empty_visits -= 1;
                if empty_visits == 0 {
                    return true;
                }
            }
            let mut link = self.t0.buckets[self.rehash_idx].take();
            while let Some(mut node) = link {
                link = node.next.take();
                let i1 = self.t1.index(self.hash_builder.hash_one(&node.key));
                let slot = &mut self.t1.buckets[i1];
                node.next = slot.take();
                *slot = Some(node);
                self.t0.len -= 1;
                self.t1.len += 1;
            }
            self.rehash_idx += 1;
            moved += 1;
        }
        if self.t0.len == 0 {
            self.finish_rehash();
        }
        self.is_rehashing()
    }

    /// The per-operation rehash step of mutating methods.
    #[inline]
    fn rehash_tick(&mut self) {
        if self.is_rehashing() {
            let steps = if self.len() >= self.t1.size() { CATCH_UP_STEPS } else { 1 };
            self.rehash_step(steps);
        }
    }

    /// Rehash tick, then start growing if the load factor reached 1.
    #[inline]
    fn prepare_insert(&mut self) {
        self.rehash_tick();
        self.grow_if_needed();
    }

    /// The link holding `key`, or the empty tail link where it would be
    /// inserted (in the rehash target while rehashing), plus the length
    /// counter of the table that link belongs to. Requires allocated buckets.
    fn slot_mut<Q>(&mut self, hash: u64, key: &Q) -> (&mut Link<K, V>, &mut usize)
    where
        K: Borrow<Q>,
        Q: ?Sized + Eq,
    {
        if self.t1.size() != 0 {
            let i0 = self.t0.index(hash);
            if i0 >= self.rehash_idx {
                let slot = seek(&mut self.t0.buckets[i0], key);
                if slot.is_some() {
                    return (slot, &mut self.t0.len);
                }
            }
            let i1 = self.t1.index(hash);
            (seek(&mut self.t1.buckets[i1], key), &mut self.t1.len)
        } else {
            let i0 = self.t0.index(hash);
            (seek(&mut self.t0.buckets[i0], key), &mut self.t0.len)
        }
    }

    fn find<Q>(&self, key: &Q) -> Option<&Node<K, V>>
    where
        K: Borrow<Q>,
        Q: ?Sized + Hash + Eq,
    {
        if self.is_empty() {
            return None;
        }
        let hash = self.hash(key);
        if self.is_rehashing() {
            let i1 = self.t1.index(hash);
            if let Some(node) = find_in_chain(self.t1.buckets[i1].as_deref(), key) {
                return Some(node);
            }
        }
        let i0 = self.t0.index(hash);
        find_in_chain(self.t0.buckets[i0].as_deref(), key)
    }

    /// Where `key` is, for reaching it again with [`Dict::at`] without hashing or comparing keys (a
    /// caller that may have to mutate the dict in between looks up once, then reads through the position
    /// when it did not).
    pub fn position<Q>(&self, key: &Q) -> Option<Pos>
    where
        K: Borrow<Q>,
        Q: ?Sized + Hash + Eq,
    {
        if self.is_empty() {
            return None;
        }
        let hash = self.hash(key);
        let depth_in = |mut cur: Option<&Node<K, V>>| {
            let mut depth = 0;
            while let Some(node) = cur {
                if node.key.borrow() == key {
                    return Some(depth);
                }
                depth += 1;
                cur = node.next.as_deref();
            }
            None
        };
        if self.is_rehashing() {
            let bucket = self.t1.index(hash);
            if let Some(depth) = depth_in(self.t1.buckets[bucket].as_deref()) {
                return Some(Pos { second: true, bucket, depth });
            }
        }
        let bucket = self.t0.index(hash);
        depth_in(self.t0.buckets[bucket].as_deref()).map(|depth| Pos {
            second: false,
            bucket,
            depth,
        })
    }

    /// The value for `key`.
    pub fn get<Q>(&self, key: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
        Q: ?Sized + Hash + Eq,
    {
        self.find(key).map(|node| &node.value)
    }

    /// The stored key and value for `key`.
    pub fn get_key_value<Q>(&self, key: &Q) -> Option<(&K, &V)>
    where
        K: Borrow<Q>,
        Q: ?Sized + Hash + Eq,
    {
        self.find(key).map(|node| (&node.key, &node.value))
    }

    /// Whether `key` is present.
    pub fn contains_key<Q>(&self, key: &Q) -> bool
    where
        K: Borrow<Q>,
        Q: ?Sized + Hash + Eq,
    {
        self.find(key).is_some()
    }

    /// Mutable access to the value for `key`. Advances a pending rehash.
    pub fn get_mut<Q>(&mut self, key: &Q) -> Option<&mut V>
    where
        K: Borrow<Q>,
        Q: ?Sized + Hash + Eq,
    {
        if self.is_empty() {
            return None;
        }
        let hash = self.hash(key);
        self.rehash_tick();
        let (slot, _) = self.slot_mut(hash, key);
        slot.as_mut().map(|node| &mut node.value)
    }

    /// Inserts `key -> value`. If the key was present, replaces the value
    /// (keeping the stored key) and returns the old one.
    pub fn insert(&mut self, key: K, value: V) -> Option<V> {
        let hash = self.hash(&key);
        self.prepare_insert();
        let (slot, len) = self.slot_mut(hash, &key);
        match slot {
            Some(node) => Some(mem::replace(&mut node.value, value)),
            None => {
                *slot = Some(Box::new(Node { next: None, key, value }));
                *len += 1;
                None
            }
        }
    }

    /// The value for `key`, inserting `default()` first if absent. Hashes the
    /// key once; `default` is only called when inserting.
    pub fn get_or_insert_with(&mut self, key: K, default: impl FnOnce() -> V) -> &mut V {
        let hash = self.hash(&key);
        self.prepare_insert();
        let (slot, len) = self.slot_mut(hash, &key);
        let inserting = slot.is_none();
        let node = slot.get_or_insert_with(|| Box::new(Node { next: None, key, value: default() }));
        // Counted only once `default()` returned, so a panicking `default`
        // leaves the length consistent.
        if inserting {
            *len += 1;
        }
        &mut node.value
    }

    /// The value for `key`, inserting `default()` under the stored key `make_key(key)` first if absent:
    /// the stored key is only built when inserting.
    pub fn get_or_insert_with_key<Q>(
        &mut self,
        key: &Q,
        make_key: impl FnOnce(&Q) -> K,
        default: impl FnOnce() -> V,
    ) -> &mut V
    where
        K: Borrow<Q>,
        Q: ?Sized + Hash + Eq,
    {
        let hash = self.hash(key);
        self.prepare_insert();
        let (slot, len) = self.slot_mut(hash, key);
        let inserting = slot.is_none();
        let node = slot.get_or_insert_with(|| {
            Box::new(Node { next: None, key: make_key(key), value: default() })
        });
        if inserting {
            *len += 1;
        }
        &mut node.value
    }

    /// Removes `key`, returning its value. May start a shrink.
    pub fn remove<Q>(&mut self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: ?Sized + Hash + Eq,
    {
        self.remove_entry(key).map(|(_, v)| v)
    }

    /// Removes `key`, returning the stored key and value. May start a shrink.
    pub fn remove_entry<Q>(&mut self, key: &Q) -> Option<(K, V)>
    where
        K: Borrow<Q>,
        Q: ?Sized + Hash + Eq,
    {
        if self.is_empty() {
            return None;
        }
        let hash = self.hash(key);
        self.rehash_tick();
        let (slot, len) = self.slot_mut(hash, key);
        let mut node = slot.take()?;
        *slot = node.next.take();
        *len -= 1;
        self.shrink_if_needed();
        let Node { key, value, .. } = *node;
        Some((key, value))
    }
}

/// Records which buckets `sample` already collected, so a walk that wraps
/// around or jumps never yields an element twice.
#[derive(Default)]
struct VisitedBuckets {
    list: Vec<usize>,
    set: Option<HashSet<usize, foldhash::fast::FixedState>>,
}

impl VisitedBuckets {
    /// Records `id`; returns false if it was already recorded. Lookups are
    /// only performed when `may_revisit` (before that, ids are just pushed).
    fn first_visit(&mut self, id: usize, may_revisit: bool) -> bool {
        if let Some(set) = &mut self.set {
            return set.insert(id);
        }
        if may_revisit {
            if self.list.len() > 32 {
                let mut set: HashSet<usize, _> = self.list.drain(..).collect();
                let new = set.insert(id);
                self.set = Some(set);
                return new;
            }
            if self.list.contains(&id) {
                return false;
            }
        }
        self.list.push(id);
        true
    }
}

impl<K, V, S: Default> Default for Dict<K, V, S> {
    fn default() -> Self {
        Self::with_hasher(S::default())
    }
}

impl<K: Clone, V: Clone, S: Clone> Clone for Dict<K, V, S> {
    fn clone(&self) -> Self {
        Dict {
            hash_builder: self.hash_builder.clone(),
            t0: self.t0.clone(),
            t1: self.t1.clone(),
            rehash_idx: self.rehash_idx,
        }
    }
}

impl<K: fmt::Debug, V: fmt::Debug, S> fmt::Debug for Dict<K, V, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl<K, V, S> PartialEq for Dict<K, V, S>
where
    K: Hash + Eq,
    V: PartialEq,
    S: BuildHasher,
{
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().all(|(k, v)| other.get(k) == Some(v))
    }
}

impl<K: Hash + Eq, V: Eq, S: BuildHasher> Eq for Dict<K, V, S> {}

impl<K, V, S> FromIterator<(K, V)> for Dict<K, V, S>
where
    K: Hash + Eq,
    S: BuildHasher + Default,
{
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        let mut dict = Self::default();
        dict.extend(iter);
        dict
    }
}

impl<K, V, S> Extend<(K, V)> for Dict<K, V, S>
where
    K: Hash + Eq,
    S: BuildHasher,
{
    fn extend<I: IntoIterator<Item = (K, V)>>(&mut self, iter: I) {
        for (k, v) in iter {
            self.insert(k, v);
        }
    }
}

impl<'a, K, V, S> IntoIterator for &'a Dict<K, V, S> {
    type Item = (&'a K, &'a V);
    type IntoIter = Iter<'a, K, V>;
    fn into_iter(self) -> Iter<'a, K, V> {
        self.iter()
    }
}

impl<'a, K, V, S> IntoIterator for &'a mut Dict<K, V, S> {
    type Item = (&'a K, &'a mut V);
    type IntoIter = IterMut<'a, K, V>;
    fn into_iter(self) -> IterMut<'a, K, V> {
        self.iter_mut()
    }
}

impl<K, V, S> IntoIterator for Dict<K, V, S> {
    type Item = (K, V);
    type IntoIter = IntoIter<K, V>;
    fn into_iter(mut self) -> IntoIter<K, V> {
        self.drain()
    }
}

type BucketIter<'a, K, V> =
    std::iter::Chain<std::slice::Iter<'a, Link<K, V>>, std::slice::Iter<'a, Link<K, V>>>;
type BucketIterMut<'a, K, V> =
    std::iter::Chain<std::slice::IterMut<'a, Link<K, V>>, std::slice::IterMut<'a, Link<K, V>>>;

/// Iterator over `(&K, &V)`; see [`Dict::iter`].
pub struct Iter<'a, K, V> {
    buckets: BucketIter<'a, K, V>,
    node: Option<&'a Node<K, V>>,
    remaining: usize,
}

impl<K, V> Clone for Iter<'_, K, V> {
    fn clone(&self) -> Self {
        Iter { buckets: self.buckets.clone(), node: self.node, remaining: self.remaining }
    }
}

impl<'a, K, V> Iterator for Iter<'a, K, V> {
    type Item = (&'a K, &'a V);

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(node) = self.node {
                self.node = node.next.as_deref();
                self.remaining -= 1;
                return Some((&node.key, &node.value));
            }
            if self.remaining == 0 {
                return None;
            }
            self.node = self.buckets.next()?.as_deref();
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.remaining, Some(self.remaining))
    }
}

impl<K, V> ExactSizeIterator for Iter<'_, K, V> {}
impl<K, V> FusedIterator for Iter<'_, K, V> {}

/// Iterator over `(&K, &mut V)`; see [`Dict::iter_mut`].
pub struct IterMut<'a, K, V> {
    buckets: BucketIterMut<'a, K, V>,
    node: Option<&'a mut Node<K, V>>,
    remaining: usize,
}

impl<'a, K, V> Iterator for IterMut<'a, K, V> {
    type Item = (&'a K, &'a mut V);

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(node) = self.node.take() {
                let Node { next, key, value, .. } = node;
                self.node = next.as_deref_mut();
                self.remaining -= 1;
                return Some((key, value));
            }
            if self.remaining == 0 {
                return None;
            }
            self.node = self.buckets.next()?.as_deref_mut();
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.remaining, Some(self.remaining))
    }
}

impl<K, V> ExactSizeIterator for IterMut<'_, K, V> {}
impl<K, V> FusedIterator for IterMut<'_, K, V> {}

type BucketIntoIter<K, V> =
    std::iter::Chain<std::vec::IntoIter<Link<K, V>>, std::vec::IntoIter<Link<K, V>>>;

/// Owning iterator over `(K, V)`; see [`Dict::drain`] and `Dict::into_iter`.
pub struct IntoIter<K, V> {
    buckets: BucketIntoIter<K, V>,
    node: Link<K, V>,
    remaining: usize,
}

impl<K, V> IntoIter<K, V> {
    fn new(mut t0: Table<K, V>, mut t1: Table<K, V>) -> Self {
        let remaining = t0.len + t1.len;
        let b0 = Vec::from(mem::take(&mut t0.buckets));
        let b1 = Vec::from(mem::take(&mut t1.buckets));
        IntoIter { buckets: b0.into_iter().chain(b1), node: None, remaining }
    }
}

impl<K, V> Iterator for IntoIter<K, V> {
    type Item = (K, V);

    fn next(&mut self) -> Option<(K, V)> {
        loop {
            if let Some(mut node) = self.node.take() {
                self.node = node.next.take();
                self.remaining -= 1;
                let Node { key, value, .. } = *node;
                return Some((key, value));
            }
            if self.remaining == 0 {
                return None;
            }
            self.node = self.buckets.next()?;
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.remaining, Some(self.remaining))
    }
}

impl<K, V> ExactSizeIterator for IntoIter<K, V> {}
impl<K, V> FusedIterator for IntoIter<K, V> {}

impl<K, V> Drop for IntoIter<K, V> {
    /// Drops the remaining elements one by one (no recursive chain drop).
    fn drop(&mut self) {
        for _ in self.by_ref() {}
    }
}

/// Iterator over keys; see [`Dict::keys`].
pub struct Keys<'a, K, V>(Iter<'a, K, V>);

impl<K, V> Clone for Keys<'_, K, V> {
    fn clone(&self) -> Self {
        Keys(self.0.clone())
    }
}

impl<'a, K, V> Iterator for Keys<'a, K, V> {
    type Item = &'a K;
    fn next(&mut self) -> Option<&'a K> {
        self.0.next().map(|(k, _)| k)
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        self.0.size_hint()
    }
}

impl<K, V> ExactSizeIterator for Keys<'_, K, V> {}
impl<K, V> FusedIterator for Keys<'_, K, V> {}

/// Iterator over values; see [`Dict::values`].
pub struct Values<'a, K, V>(Iter<'a, K, V>);

impl<K, V> Clone for Values<'_, K, V> {
    fn clone(&self) -> Self {
        Values(self.0.clone())
    }
}

impl<'a, K, V> Iterator for Values<'a, K, V> {
    type Item = &'a V;
    fn next(&mut self) -> Option<&'a V> {
        self.0.next().map(|(_, v)| v)
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        self.0.size_hint()
    }
}

impl<K, V> ExactSizeIterator for Values<'_, K, V> {}
impl<K, V> FusedIterator for Values<'_, K, V> {}

/// Iterator over mutable values; see [`Dict::values_mut`].
pub struct ValuesMut<'a, K, V>(IterMut<'a, K, V>);

impl<'a, K, V> Iterator for ValuesMut<'a, K, V> {
    type Item = &'a mut V;
    fn next(&mut self) -> Option<&'a mut V> {
        self.0.next().map(|(_, v)| v)
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        self.0.size_hint()
    }
}

impl<K, V> ExactSizeIterator for ValuesMut<'_, K, V> {}
impl<K, V> FusedIterator for ValuesMut<'_, K, V> {}
