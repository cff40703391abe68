//! `Hash`, a hash: fields and values, with optional per-field expiry (Redis 7.4's hash-field expiration).
//!
//! Fields live in a [`Dict`], so `HSCAN` has Redis's SCAN guarantee and `HRANDFIELD` picks in O(1). Field
//! expiry times live in a side table that only hashes using them allocate (`Option<Box<..>>`: a plain hash
//! pays one null pointer). The side table indexes expiry times both by field and in time order, so the
//! next expiry is O(1) to read and expired fields are removed in O(k log n).
//!
//! Expired fields are removed by [`Hash::remove_expired`], which the keyspace calls on every access to the
//! key (and active expiry calls on sampled keys): commands never see an expired field.

use std::collections::{BTreeSet, HashMap};

use bytes::Bytes;

use crate::dict::Dict;

/// a hash: fields and values (with optional per-field expiry)
#[derive(Debug, Clone, Default)]
pub struct Hash {
    fields: Dict<Bytes, Bytes>,
    /// Expiry times of the fields that have one; `None` when no field has one.
    ttls: Option<Box<FieldTtls>>,
}

/// Per-field expiry times (absolute Unix ms). Field bytes are shared with the `fields` dict.
#[derive(Debug, Clone, Default)]
struct FieldTtls {
    by_field: HashMap<Bytes, u64, foldhash::fast::RandomState>,
    by_time: BTreeSet<(u64, Bytes)>,
}

impl FieldTtls {
    fn remove(&mut self, field: &[u8]) -> Option<u64> {
        let (f, at) = self.by_field.remove_entry(field)?;
        self.by_time.remove(&(at, f));
        Some(at)
    }
}

impl Hash {
    /// Number of elements.
    pub fn len(&self) -> usize {
        self.fields.len()
    }

    /// Whether it has no elements.
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    /// The fields and values, for iteration, `HSCAN` and random picks.
    pub fn fields(&self) -> &Dict<Bytes, Bytes> {
        &self.fields
    }

    /// The value of `field`.
    pub fn get(&self, field: &[u8]) -> Option<&Bytes> {
        self.fields.get(field)
    }

    /// Whether `field` exists.
    pub fn contains(&self, field: &[u8]) -> bool {
        self.fields.contains_key(field)
    }

    /// Sets `field` to `value`, discarding any expiry time the field had (as `HSET` does). Returns whether
    /// the field is new. A new field's name is copied into its own allocation.
    pub fn set(&mut self, field: &[u8], value: Bytes) -> bool {
        if self.ttls.is_some() {
            self.clear_ttl(field);
        }
        self.set_keep_ttl(field, value)
    }

    /// Sets `field` to `value`, keeping any expiry time the field had (as `HINCRBY` does). Returns whether
    /// the field is new.
    pub fn set_keep_ttl(&mut self, field: &[u8], value: Bytes) -> bool {
        match self.fields.get_mut(field) {
            Some(v) => {
                *v = value;
                false
            }
            None => {
                self.fields.insert(Bytes::copy_from_slice(field), value);
                true
            }
        }
    }

    /// Removes `field` (and its expiry time), returning its value.
    pub fn remove(&mut self, field: &[u8]) -> Option<Bytes> {
        let v = self.fields.remove(field)?;
        if self.ttls.is_some() {
            self.clear_ttl(field);
        }
        Some(v)
    }

    /// The expiry time of `field` in Unix ms, if it has one.
    pub fn expire_at(&self, field: &[u8]) -> Option<u64> {
        self.ttls.as_ref()?.by_field.get(field).copied()
    }

    /// Sets the expiry time of an existing field. Returns false (and does nothing) if the field is missing.
    pub fn set_expire_at(&mut self, field: &[u8], at: u64) -> bool {
        let Some((f, _)) = self.fields.get_key_value(field) else { return false };
        let f = f.clone();
        let ttls = self.ttls.get_or_insert_with(Box::default);
        if let Some(old) = ttls.by_field.insert(f.clone(), at) {
            ttls.by_time.remove(&(old, f.clone()));
        }
        ttls.by_time.insert((at, f));
        true
    }

    /// Removes the expiry time of `field`. Returns whether it had one.
    pub fn persist(&mut self, field: &[u8]) -> bool {
        self.clear_ttl(field)
    }

    /// Whether some field has an expiry time.
    pub fn has_field_ttls(&self) -> bool {
        self.ttls.is_some()
    }

    /// Whether some field is expired at `now` (its expiry time is `<= now`).
    pub fn has_expired_fields(&self, now: u64) -> bool {
        self.ttls.as_ref().is_some_and(|t| t.by_time.first().is_some_and(|(at, _)| *at <= now))
    }

    /// Whether every field is expired at `now` (the hash is logically gone).
    pub fn all_fields_expired(&self, now: u64) -> bool {
        self.ttls.as_ref().is_some_and(|t| {
            t.by_time.len() == self.fields.len()
                && t.by_time.last().is_some_and(|(at, _)| *at <= now)
        })
    }

    /// Removes the fields expired at `now`, returning their names (for propagation as `HDEL`).
    pub fn remove_expired(&mut self, now: u64) -> Vec<Bytes> {
        let mut out = Vec::new();
        let Some(ttls) = self.ttls.as_mut() else { return out };
        while ttls.by_time.first().is_some_and(|(at, _)| *at <= now) {
            let Some((_, f)) = ttls.by_time.pop_first() else { break };
            ttls.by_field.remove(&f);
            self.fields.remove(&f);
            out.push(f);
        }
        if ttls.by_field.is_empty() {
            self.ttls = None;
        }
        out
    }

    fn clear_ttl(&mut self, field: &[u8]) -> bool {
        let Some(ttls) = self.ttls.as_mut() else { return false };
        let had = ttls.remove(field).is_some();
        if ttls.by_field.is_empty() {
            self.ttls = None;
        }
        had
    }
}

/// Memory accounting (`MEMORY USAGE`).
impl Hash {
    /// Heap bytes: the dict (buckets and one node per field), the fields' and values' bytes (`samples`
    /// fields measured, the rest estimated from their average), and the field expiry index if any
    /// (estimated from its length: a hash table slot and a B-tree slot per field).
    pub(crate) fn heap_usage(&self, samples: usize) -> usize {
        use crate::memory::{bytes_heap, dict_heap, sampled, size_class};
        let fields = &self.fields;
        let mut n =
            dict_heap(fields.len(), fields.bucket_count(), Dict::<Bytes, Bytes>::node_size())
                + sampled(
                    fields.iter().map(|(f, v)| bytes_heap(f.len()) + bytes_heap(v.len())),
                    fields.len(),
                    samples,
                );
        if let Some(t) = &self.ttls {
            let slot = std::mem::size_of::<(Bytes, u64)>() + 1;
            n += size_class(std::mem::size_of::<FieldTtls>())
                + t.by_field.capacity() * slot
                + t.by_time.len() * std::mem::size_of::<(u64, Bytes)>() * 3 / 2;
        }
        n
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(s: &str) -> Bytes {
        Bytes::copy_from_slice(s.as_bytes())
    }

    #[test]
    fn plain_hash_allocates_no_ttl_table() {
        let mut h = Hash::default();
        assert!(h.set(b"a", b("1")));
        assert!(!h.set(b"a", b("2")));
        assert_eq!(h.get(b"a"), Some(&b("2")));
        assert!(!h.has_field_ttls());
        assert_eq!(h.remove(b"a"), Some(b("2")));
        assert!(h.is_empty());
    }

    #[test]
    fn field_expiry_lifecycle() {
        let mut h = Hash::default();
        h.set(b"a", b("1"));
        h.set(b"b", b("2"));
        h.set(b"c", b("3"));
        assert!(!h.set_expire_at(b"missing", 5));
        assert!(h.set_expire_at(b"a", 10));
        assert!(h.set_expire_at(b"b", 20));
        assert!(h.set_expire_at(b"b", 30));
        assert_eq!(h.expire_at(b"b"), Some(30));
        assert!(!h.has_expired_fields(9));
        assert!(h.has_expired_fields(10));
        assert!(!h.all_fields_expired(100));
        // HSET discards the TTL, set_keep_ttl keeps it.
        h.set_keep_ttl(b"a", b("x"));
        assert_eq!(h.expire_at(b"a"), Some(10));
        h.set(b"a", b("y"));
        assert_eq!(h.expire_at(b"a"), None);
        assert!(h.persist(b"b"));
        assert!(!h.persist(b"b"));
        assert!(!h.has_field_ttls());
        h.set_expire_at(b"a", 10);
        h.set_expire_at(b"b", 20);
        h.set_expire_at(b"c", 20);
        assert!(h.all_fields_expired(20));
        assert_eq!(h.remove_expired(15), vec![b("a")]);
        assert_eq!(h.len(), 2);
        let mut gone = h.remove_expired(20);
        gone.sort();
        assert_eq!(gone, vec![b("b"), b("c")]);
        assert!(h.is_empty());
        assert!(!h.has_field_ttls());
    }

    #[test]
    fn removing_a_field_drops_its_ttl() {
        let mut h = Hash::default();
        h.set(b"a", b("1"));
        h.set_expire_at(b"a", 10);
        h.remove(b"a");
        assert!(!h.has_field_ttls());
        h.set(b"a", b("1"));
        assert_eq!(h.expire_at(b"a"), None);
        assert!(h.remove_expired(100).is_empty());
    }
}
