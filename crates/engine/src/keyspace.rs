//! `Keyspace`: the map from keys to values with their expiry times, lazy expiry on access and the
//! sampling that active expiry and `RANDOMKEY` need. Typed accessors return `WRONGTYPE` like Redis's
//! `checkType`.

use std::collections::HashMap;

use bytes::Bytes;
use rand::Rng;

use crate::value::Value;

/// One key's value and its absolute expiry time in Unix milliseconds (`None` = persistent).
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub value: Value,
    pub expire_at: Option<u64>,
}

impl Entry {
    /// A persistent entry.
    pub fn new(value: Value) -> Entry {
        Entry { value, expire_at: None }
    }

    fn is_expired(&self, now: u64) -> bool {
        matches!(self.expire_at, Some(t) if t <= now)
    }
}

type Map<K, V> = HashMap<K, V, foldhash::fast::RandomState>;

/// One database: keys, values, expiry.
#[derive(Debug, Default)]
pub struct Keyspace {
    map: Map<Bytes, Entry>,
    /// Keys that have an expiry time, for sampling by active expiry.
    volatile: Map<Bytes, ()>,
    /// Keys deleted by expiry since the last drain, to be propagated as `DEL` (AOF, replicas).
    expired: Vec<Bytes>,
    /// Number of keys deleted by expiry since start (INFO `expired_keys`).
    pub expired_total: u64,
}

impl Keyspace {
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

    /// Deletes `key` if it is expired at `now`. Returns whether it was.
    fn expire_if_needed(&mut self, key: &[u8], now: u64) -> bool {
        let expired = self.map.get(key).is_some_and(|e| e.is_expired(now));
        if expired && let Some((k, _)) = self.map.remove_entry(key) {
            self.volatile.remove(key);
            self.expired.push(k);
            self.expired_total += 1;
        }
        expired
    }

    /// The live entry at `key`.
    pub fn get(&mut self, key: &[u8], now: u64) -> Option<&Entry> {
        self.expire_if_needed(key, now);
        self.map.get(key)
    }

    /// The live entry at `key`, mutably. Changing `expire_at` through it must go through [`Keyspace::set_expire`].
    pub fn get_mut(&mut self, key: &[u8], now: u64) -> Option<&mut Entry> {
        self.expire_if_needed(key, now);
        self.map.get_mut(key)
    }

    /// Whether `key` holds a live value.
    pub fn contains(&mut self, key: &[u8], now: u64) -> bool {
        self.get(key, now).is_some()
    }

    /// Stores `entry` at `key`, replacing any value and expiry. Returns the previous live entry.
    pub fn insert(&mut self, key: Bytes, entry: Entry, now: u64) -> Option<Entry> {
        self.expire_if_needed(&key, now);
        if entry.expire_at.is_some() {
            self.volatile.insert(key.clone(), ());
        } else {
            self.volatile.remove(&key[..]);
        }
        self.map.insert(key, entry)
    }

    /// Removes `key`, returning its live entry.
    pub fn remove(&mut self, key: &[u8], now: u64) -> Option<Entry> {
        self.expire_if_needed(key, now);
        let e = self.map.remove(key)?;
        if e.expire_at.is_some() {
            self.volatile.remove(key);
        }
        Some(e)
    }

    /// Sets or clears the expiry of an existing live key. Returns false if the key does not exist.
    pub fn set_expire(&mut self, key: &[u8], at: Option<u64>, now: u64) -> bool {
        self.expire_if_needed(key, now);
        let Some((k, e)) = self.map.get_key_value(key) else { return false };
        let k = k.clone();
        let had = e.expire_at.is_some();
        if let Some(e) = self.map.get_mut(key) {
            e.expire_at = at;
        }
        match (had, at.is_some()) {
            (false, true) => {
                self.volatile.insert(k, ());
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
        self.map = Map::default();
        self.volatile = Map::default();
    }

    /// Keys deleted by expiry since the last call, for propagation as `DEL`.
    pub fn drain_expired(&mut self) -> Vec<Bytes> {
        std::mem::take(&mut self.expired)
    }

    /// Whether expiry deleted keys that were not drained yet.
    pub fn has_expired(&self) -> bool {
        !self.expired.is_empty()
    }

    /// Iterates live and not-yet-reclaimed entries (callers filter on `now` themselves).
    pub fn iter(&self) -> impl Iterator<Item = (&Bytes, &Entry)> {
        self.map.iter()
    }

    /// One step of a `SCAN`: visits entries from `cursor`, calling `f` for each live one, until `count`
    /// entries were visited. Returns the next cursor, `0` when the scan is complete.
    pub fn scan(
        &self,
        cursor: u64,
        count: usize,
        now: u64,
        mut f: impl FnMut(&Bytes, &Entry),
    ) -> u64 {
        // Placeholder ordering until the scan-safe dict lands: position in iteration order.
        let start = cursor as usize;
        let mut next = 0;
        for (seen, (i, (k, e))) in self.map.iter().enumerate().skip(start).enumerate() {
            if seen >= count {
                next = i as u64;
                break;
            }
            if !e.is_expired(now) {
                f(k, e);
            }
        }
        next
    }

    /// A random live key, or `None` when the keyspace is empty.
    pub fn random_key(&mut self, now: u64, rng: &mut impl Rng) -> Option<Bytes> {
        for _ in 0..100 {
            if self.map.is_empty() {
                return None;
            }
            let i = rng.random_range(0..self.map.len());
            let (k, e) = self.map.iter().nth(i).expect("index below len");
            if !e.is_expired(now) {
                return Some(k.clone());
            }
            let k = k.clone();
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
        let n = self.volatile.len();
        if n == 0 {
            return (0, 0);
        }
        let start = rng.random_range(0..n);
        let keys: Vec<Bytes> =
            self.volatile.keys().cycle().skip(start).take(samples.min(n)).cloned().collect();
        let mut deleted = 0;
        for k in &keys {
            if self.expire_if_needed(k, now) {
                deleted += 1;
            }
        }
        (keys.len(), deleted)
    }
}
