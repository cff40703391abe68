//! `Keyspace`: the map from keys to values with their expiry times, lazy expiry on access, the typed
//! accessors the families use (a value of another type is `WRONGTYPE`), SCAN with Redis's guarantee, and
//! the sampling that active expiry and `RANDOMKEY` need.
//!
//! Hash fields can expire too (Redis 7.4): every access to a hash first removes its expired fields (they
//! are collected for propagation as `HDEL`), a hash whose fields have all expired counts as an expired
//! key, and active expiry also samples the hashes that have field expiry times.

use bytes::Bytes;
use rand::Rng;

use crate::aof::rewrite::Snapshot;
use crate::compact::CompactBytes;
use crate::dict::Dict;
use crate::error::CommandError;
use crate::evict::AccessClock;
use crate::value::{Kind, Value};

/// `Entry::expire_at`'s value for a persistent key (no expiry time given through the API reaches it:
/// they are all below `i64::MAX`).
const PERSISTENT: u64 = u64::MAX;

/// One key's value and its absolute expiry time in Unix milliseconds.
///
/// Layout (see ARCHITECTURE.md, "memory layout"): 40 bytes, the 24-byte [`Value`], the expiry as a plain
/// `u64` with a sentinel for "none" (an `Option<u64>` would take 16), and a `u32` for eviction's access
/// stamp; with the 24-byte key and the `next` pointer the keyspace's dict node is 72 bytes.
#[derive(Debug, Clone)]
pub struct Entry {
    pub value: Value,
    /// Absolute expiry time in Unix ms, [`PERSISTENT`] for none.
    expire_at: u64,
    /// When the key was last accessed, for eviction (`evict`): a 24-bit LRU clock in seconds, or under
    /// an LFU policy the minute of the last access and an 8-bit frequency counter. Set by the keyspace.
    pub access: u32,
}

impl Entry {
    /// A persistent entry.
    pub fn new(value: Value) -> Entry {
        Entry { value, expire_at: PERSISTENT, access: 0 }
    }

    /// An entry expiring at `expire_at` (absolute Unix ms), persistent for `None`.
    pub fn with_expiry(value: Value, expire_at: Option<u64>) -> Entry {
        Entry { value, expire_at: expire_at.unwrap_or(PERSISTENT), access: 0 }
    }

    /// The absolute expiry time in Unix ms, `None` for a persistent key.
    #[inline]
    pub fn expire_at(&self) -> Option<u64> {
        (self.expire_at != PERSISTENT).then_some(self.expire_at)
    }

    /// Whether the key is gone at `now`: its expiry time passed, or it is a hash whose fields all expired.
    #[inline]
    pub(crate) fn is_expired(&self, now: u64) -> bool {
        self.expire_at <= now || matches!(&self.value, Value::Hash(h) if h.all_fields_expired(now))
    }

    /// Whether an access at `now` has work to do: the key is expired, or it is a hash with expired fields.
    #[inline]
    fn needs_expiry(&self, now: u64) -> bool {
        self.expire_at <= now || matches!(&self.value, Value::Hash(h) if h.has_expired_fields(now))
    }

    /// Whether it is a hash with fields that have an expiry time.
    fn has_field_ttls(&self) -> bool {
        matches!(&self.value, Value::Hash(h) if h.has_field_ttls())
    }
}

/// A key as the keyspace stores it: a copy (argument bytes are slices of the request buffer, and keeping
/// one would pin the whole buffer), inline in the dict node when it is short (most keys are).
fn own(key: &[u8]) -> CompactBytes {
    CompactBytes::new(key)
}

/// One database: keys, values, expiry.
#[derive(Debug, Default)]
pub struct Keyspace {
    map: Dict<CompactBytes, Entry>,
    /// Keys that have an expiry time, for sampling by active expiry (copies of the keys: a short key is
    /// inline in the node, like the shared pointer Redis's `expires` dict stores).
    volatile: Dict<CompactBytes, ()>,
    /// Keys deleted by expiry or eviction since the last drain, to be propagated as `DEL` (AOF, replicas).
    expired: Vec<Bytes>,
    /// Hashes that may have fields with an expiry time, for sampling by active expiry (entries may be
    /// stale; sampling drops them).
    field_volatile: Dict<CompactBytes, ()>,
    /// Hash fields deleted by expiry since the last drain, per key, to be propagated as `HDEL`.
    expired_fields: Vec<(Bytes, Vec<Bytes>)>,
    /// Number of keys deleted by expiry since start (INFO `expired_keys`).
    pub expired_total: u64,
    /// The copy-on-write snapshot of an AOF rewrite in progress (see `aof::rewrite`). Every `&mut` path
    /// that can change, create or delete a key calls [`cow`] first; `None` (the usual case) costs one test.
    snapshot: Option<Box<Snapshot>>,
    /// Stamps entries' `access` on every lookup (LRU clock or LFU counter).
    clock: AccessClock,
}

/// The rewrite hook: before `key` changes, a snapshot in progress serializes its old value (once).
#[inline(always)]
fn cow(
    snapshot: &mut Option<Box<Snapshot>>,
    map: &Dict<CompactBytes, Entry>,
    key: &[u8],
    creating: bool,
) {
    if let Some(s) = snapshot {
        s.before_write(map, key, creating);
    }
}

impl Keyspace {
    /// Bytes of the dict node each key costs (the key's and the value's own allocations not included).
    pub const fn node_size() -> usize {
        Dict::<CompactBytes, Entry>::node_size()
    }

    /// Number of keys, including expired ones not yet reclaimed.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether there are no keys.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Number of keys with an expiry time.
    pub fn volatile_len(&self) -> usize {
        self.volatile.len()
    }

    /// Deletes `key` if it is expired at `now`, or else removes the expired fields of the hash it holds.
    /// Returns whether the key was deleted.
    fn expire_if_needed(&mut self, key: &[u8], now: u64) -> bool {
        let Some(e) = self.map.get(key) else { return false };
        if e.is_expired(now) {
            cow(&mut self.snapshot, &self.map, key, false);
            if let Some((k, _)) = self.map.remove_entry(key) {
                self.volatile.remove(key);
                self.field_volatile.remove(key);
                self.expired.push(k.to_bytes());
                self.expired_total += 1;
            }
            return true;
        }
        if matches!(&e.value, Value::Hash(h) if h.has_expired_fields(now)) {
            cow(&mut self.snapshot, &self.map, key, false);
            self.expire_fields(key, now);
        }
        false
    }

    /// Removes the expired fields of the hash at `key` (not all of them are expired).
    fn expire_fields(&mut self, key: &[u8], now: u64) {
        if let Some(Entry { value: Value::Hash(h), .. }) = self.map.get_mut(key) {
            let fields = h.remove_expired(now);
            if !fields.is_empty() {
                self.expired_fields.push((Bytes::copy_from_slice(key), fields));
            }
        }
    }

    /// The live entry at `key`.
    pub fn get(&mut self, key: &[u8], now: u64) -> Option<&Entry> {
        // One lookup in the usual case (nothing to expire): the position is read again without hashing.
        let mut pos = self.map.position(key)?;
        if self.map.at(pos).is_some_and(|(_, e)| e.needs_expiry(now)) {
            self.expire_if_needed(key, now);
            pos = self.map.position(key)?;
        }
        let (_, e) = self.map.at_mut(pos)?;
        self.clock.touch(&mut e.access, now);
        Some(e)
    }

    /// The live entry at `key`, mutably. Changing `expire_at` through it must go through [`Keyspace::set_expire`].
    pub fn get_mut(&mut self, key: &[u8], now: u64) -> Option<&mut Entry> {
        cow(&mut self.snapshot, &self.map, key, false);
        self.expire_if_needed(key, now);
        let e = self.map.get_mut(key)?;
        self.clock.touch(&mut e.access, now);
        Some(e)
    }

    /// The live entry at `key` without reclaiming it if expired: for reading several keys at once after
    /// each was looked up (and so reclaimed) with [`Keyspace::get`] at the same `now`.
    pub fn peek(&self, key: &[u8], now: u64) -> Option<&Entry> {
        self.map.get(key).filter(|e| !e.is_expired(now))
    }

    /// The value of type `T` at `key`: `Ok(None)` if missing, `WRONGTYPE` if it holds another type.
    pub fn get_as<T: Kind>(&mut self, key: &[u8], now: u64) -> Result<Option<&T>, CommandError> {
        match self.get(key, now) {
            None => Ok(None),
            Some(e) => T::of(&e.value).map(Some).ok_or(CommandError::WrongType),
        }
    }

    /// The value of type `T` at `key`, mutably. After changing a collection, call
    /// [`Keyspace::remove_if_empty`] so an emptied collection's key disappears as in Redis.
    pub fn get_mut_as<T: Kind>(
        &mut self,
        key: &[u8],
        now: u64,
    ) -> Result<Option<&mut T>, CommandError> {
        match self.get_mut(key, now) {
            None => Ok(None),
            Some(e) => T::of_mut(&mut e.value).map(Some).ok_or(CommandError::WrongType),
        }
    }

    /// The value of type `T` at `key`, created empty (and persistent) if the key is missing.
    pub fn get_or_create_as<T: Kind + Default>(
        &mut self,
        key: &[u8],
        now: u64,
    ) -> Result<&mut T, CommandError> {
        cow(&mut self.snapshot, &self.map, key, true);
        self.expire_if_needed(key, now);
        let clock = &mut self.clock;
        let mut created = false;
        let entry = self.map.get_or_insert_with_key(key, own, || {
            created = true;
            Entry { access: clock.fresh(now), ..Entry::new(T::default().wrap()) }
        });
        if !created {
            clock.touch(&mut entry.access, now);
        }
        T::of_mut(&mut entry.value).ok_or(CommandError::WrongType)
    }

    /// Deletes `key` if it holds an empty collection. Returns whether it did.
    pub fn remove_if_empty(&mut self, key: &[u8]) -> bool {
        if self.map.get(key).is_some_and(|e| e.value.is_empty_collection()) {
            cow(&mut self.snapshot, &self.map, key, false);
            if let Some(e) = self.map.remove(key)
                && e.expire_at().is_some()
            {
                self.volatile.remove(key);
            }
            self.field_volatile.remove(key);
            return true;
        }
        false
    }

    /// Records that the hash at `key` has fields with an expiry time, so active expiry visits it. Call it
    /// after giving a field an expiry time.
    pub fn track_field_expiry(&mut self, key: &[u8]) {
        if self.field_volatile.contains_key(key) || !self.map.contains_key(key) {
            return;
        }
        self.field_volatile.insert(own(key), ());
    }

    /// Whether `key` holds a live value.
    pub fn contains(&mut self, key: &[u8], now: u64) -> bool {
        self.get(key, now).is_some()
    }

    /// Stores `entry` at `key`, replacing any value and expiry. Returns the previous live entry.
    pub fn insert(&mut self, key: &[u8], mut entry: Entry, now: u64) -> Option<Entry> {
        cow(&mut self.snapshot, &self.map, key, true);
        self.expire_if_needed(key, now);
        let volatile = entry.expire_at().is_some();
        let field_ttls = entry.has_field_ttls();
        entry.access = self.clock.fresh(now);
        let old = match self.map.get_mut(key) {
            Some(slot) => {
                // Like Redis's `dbSetValue`, an overwritten key keeps its LFU counter (and counts this access).
                if self.clock.is_lfu() {
                    entry.access = slot.access;
                    self.clock.touch(&mut entry.access, now);
                }
                Some(std::mem::replace(slot, entry))
            }
            None => {
                self.map.insert(own(key), entry);
                None
            }
        };
        let had_ttl = old.as_ref().is_some_and(|e| e.expire_at().is_some());
        if volatile && !had_ttl {
            self.volatile.insert(own(key), ());
        } else if !volatile && had_ttl {
            self.volatile.remove(key);
        }
        if field_ttls {
            if !self.field_volatile.contains_key(key) {
                self.field_volatile.insert(own(key), ());
            }
        } else if !self.field_volatile.is_empty() {
            self.field_volatile.remove(key);
        }
        old
    }

    /// Removes `key`, returning its live entry.
    pub fn remove(&mut self, key: &[u8], now: u64) -> Option<Entry> {
        cow(&mut self.snapshot, &self.map, key, false);
        self.expire_if_needed(key, now);
        let e = self.map.remove(key)?;
        if e.expire_at().is_some() {
            self.volatile.remove(key);
        }
        self.field_volatile.remove(key);
        Some(e)
    }

    /// Sets or clears the expiry of an existing live key. Returns false if the key does not exist.
    pub fn set_expire(&mut self, key: &[u8], at: Option<u64>, now: u64) -> bool {
        cow(&mut self.snapshot, &self.map, key, false);
        self.expire_if_needed(key, now);
        let Some(e) = self.map.get_mut(key) else { return false };
        let had = e.expire_at().is_some();
        e.expire_at = at.unwrap_or(PERSISTENT);
        match (had, at.is_some()) {
            (false, true) => {
                self.volatile.insert(own(key), ());
            }
            (true, false) => {
                self.volatile.remove(key);
            }
            _ => {}
        }
        true
    }

    /// Removes every key.
    pub fn clear(&mut self) {
        let old = std::mem::take(&mut self.map);
        if let Some(s) = &mut self.snapshot {
            s.freeze(old);
        }
        self.volatile = Dict::default();
        self.field_volatile = Dict::default();
    }

    /// Keys deleted by expiry or eviction since the last call, for propagation as `DEL`.
    pub fn drain_expired(&mut self) -> Vec<Bytes> {
        std::mem::take(&mut self.expired)
    }

    /// Hash fields deleted by expiry since the last call (key and fields), for propagation as `HDEL`.
    pub fn drain_expired_fields(&mut self) -> Vec<(Bytes, Vec<Bytes>)> {
        std::mem::take(&mut self.expired_fields)
    }

    /// Whether expiry deleted keys or hash fields that were not drained yet.
    pub fn has_expired(&self) -> bool {
        !self.expired.is_empty() || !self.expired_fields.is_empty()
    }

    /// Iterates live and not-yet-reclaimed entries (callers filter on `now` themselves).
    pub fn iter(&self) -> impl Iterator<Item = (&CompactBytes, &Entry)> {
        self.map.iter()
    }

    /// One step of a `SCAN`: visits buckets from `cursor`, calling `f` for each live entry, until at least
    /// `count` entries were visited or the scan completed. Returns the next cursor, `0` when complete. A key
    /// present for the whole scan is returned at least once, even if the table resizes between calls.
    pub fn scan(
        &self,
        cursor: u64,
        count: usize,
        now: u64,
        mut f: impl FnMut(&[u8], &Entry),
    ) -> u64 {
        let mut cursor = cursor;
        let mut visited = 0;
        // Like Redis, bound the empty buckets one call may walk over.
        let mut budget = count.saturating_mul(10).max(100);
        loop {
            cursor = self.map.scan(cursor, |k, e| {
                visited += 1;
                if !e.is_expired(now) {
                    f(k, e);
                }
            });
            budget = budget.saturating_sub(1);
            if cursor == 0 || visited >= count || budget == 0 {
                return cursor;
            }
        }
    }

    /// A random live key, or `None` when the keyspace is empty.
    pub fn random_key(&mut self, now: u64, rng: &mut impl Rng) -> Option<Bytes> {
        for _ in 0..100 {
            let (k, e) = self.map.random(rng)?;
            if !e.is_expired(now) {
                return Some(k.to_bytes());
            }
            let k = k.to_bytes();
            self.expire_if_needed(&k, now);
        }
        None
    }

    /// One round of active expiry: samples up to `samples` volatile keys and deletes the expired ones.
    /// Returns (sampled, deleted), so the caller can repeat while many sampled keys were expired.
    pub fn expire_sample(
        &mut self,
        samples: usize,
        now: u64,
        rng: &mut impl Rng,
    ) -> (usize, usize) {
        let mut keys = Vec::with_capacity(samples);
        self.volatile.sample(samples, rng, |k, _| keys.push(k.clone()));
        let mut deleted = 0;
        for k in &keys {
            if self.expire_if_needed(k, now) {
                deleted += 1;
            }
        }
        let mut sampled = keys.len();
        // Hashes with field expiry times: a hash with expired fields (or a stale entry) counts as a hit.
        keys.clear();
        self.field_volatile.sample(samples, rng, |k, _| keys.push(k.clone()));
        for k in &keys {
            let due = match self.map.get(&k[..]) {
                Some(e @ Entry { value: Value::Hash(h), .. }) if h.has_field_ttls() => {
                    e.is_expired(now) || h.has_expired_fields(now)
                }
                _ => {
                    self.field_volatile.remove(&k[..]);
                    deleted += 1;
                    continue;
                }
            };
            if due {
                self.expire_if_needed(k, now);
                deleted += 1;
                if !self.map.get(&k[..]).is_some_and(Entry::has_field_ttls) {
                    self.field_volatile.remove(&k[..]);
                }
            }
        }
        sampled += keys.len();
        (sampled, deleted)
    }

    /// Starts the copy-on-write snapshot of an AOF rewrite; its output starts with `prelude`.
    pub(crate) fn begin_snapshot(&mut self, prelude: Vec<u8>) {
        self.snapshot = Some(Box::new(Snapshot::new(prelude)));
    }

    /// One bounded step of the snapshot walk; true when every key of the snapshot has been serialized
    /// (or no snapshot runs).
    pub(crate) fn snapshot_step(&mut self, max_keys: usize, max_bytes: usize) -> bool {
        match &mut self.snapshot {
            Some(s) => s.step(&self.map, max_keys, max_bytes),
            None => true,
        }
    }

    /// The snapshot's serialized bytes produced since the last call.
    pub(crate) fn take_snapshot_output(&mut self) -> Vec<u8> {
        self.snapshot.as_mut().map(|s| s.take_output()).unwrap_or_default()
    }

    /// Ends the snapshot (complete or abandoned), freeing its done set and any frozen table.
    pub(crate) fn end_snapshot(&mut self) -> u64 {
        self.snapshot.take().map_or(0, |s| s.keys)
    }

    /// Whether a rewrite snapshot is in progress.
    pub(crate) fn snapshot_active(&self) -> bool {
        self.snapshot.is_some()
    }

    /// Switches the access stamps between LRU clocks and LFU counters (the eviction policy changed).
    pub(crate) fn set_lfu(&mut self, lfu: bool) {
        self.clock.set_lfu(lfu);
    }

    /// Eviction sampling: calls `f` on up to `n` distinct keys taken from the whole keyspace, or from the
    /// keys with an expiry time when `volatile`.
    pub(crate) fn sample_candidates(
        &self,
        volatile: bool,
        n: usize,
        rng: &mut impl Rng,
        mut f: impl FnMut(&[u8], &Entry),
    ) {
        if volatile {
            self.volatile.sample(n, rng, |k, _| {
                if let Some(e) = self.map.get(k.as_bytes()) {
                    f(k, e);
                }
            });
        } else {
            self.map.sample(n, rng, |k, e| f(k, e));
        }
    }

    /// A random eviction candidate (from the keys with an expiry time when `volatile`).
    pub(crate) fn random_candidate(&self, volatile: bool, rng: &mut impl Rng) -> Option<Bytes> {
        if volatile {
            self.volatile.random(rng).map(|(k, _)| k.to_bytes())
        } else {
            self.map.random(rng).map(|(k, _)| k.to_bytes())
        }
    }

    /// Whether `key` is still an eviction candidate: it exists (with an expiry time when `volatile`).
    pub(crate) fn is_candidate(&self, key: &[u8], volatile: bool) -> bool {
        if volatile { self.volatile.contains_key(key) } else { self.map.contains_key(key) }
    }

    /// Evicts `key`: deletes it and collects it for propagation as `DEL`, like an expired key. Returns
    /// whether it existed (and, when `volatile`, had an expiry time).
    pub(crate) fn evict(&mut self, key: &[u8], volatile: bool) -> bool {
        if !self.is_candidate(key, volatile) {
            return false;
        }
        cow(&mut self.snapshot, &self.map, key, false);
        let Some((k, _)) = self.map.remove_entry(key) else { return false };
        self.volatile.remove(key);
        self.field_volatile.remove(key);
        self.expired.push(k.to_bytes());
        true
    }

    /// Incremental rehashing of the keyspace's tables from the server's background tick, like Redis's
    /// `incrementallyRehash`: steps of 100 buckets for up to about a millisecond in all. Writes also move
    /// buckets, but only while keys are written; without this a table resized by a big load (the 8 MB old
    /// table of a million keys) would stay allocated for minutes.
    pub fn rehash_step(&mut self) {
        fn for_a_while<V>(d: &mut Dict<CompactBytes, V>, deadline: std::time::Instant) {
            while d.rehash_step(100) && std::time::Instant::now() < deadline {}
        }
        let deadline = std::time::Instant::now() + std::time::Duration::from_millis(1);
        for_a_while(&mut self.map, deadline);
        for_a_while(&mut self.volatile, deadline);
        for_a_while(&mut self.field_volatile, deadline);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The background tick finishes a big table's rehash in a few calls: a millisecond of 100-bucket steps
    /// each, where one 100-bucket step per call would take over a thousand calls here.
    #[test]
    fn the_background_tick_rehashes_for_about_a_millisecond() {
        let mut db = Keyspace::default();
        let mut i = 0u32;
        // Fill until a growth past 100,000 buckets has just started.
        while !(db.map.is_rehashing() && db.len() > 100_000) {
            db.insert(format!("key:{i}").as_bytes(), Entry::new(Value::string(b"x")), 0);
            i += 1;
        }
        let mut calls = 0;
        while db.map.is_rehashing() {
            db.rehash_step();
            calls += 1;
            assert!(calls < 1_000, "still rehashing after {calls} ticks");
        }
        assert_eq!(db.len(), i as usize);
    }
}
