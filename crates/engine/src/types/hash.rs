//! `Hash`, a hash: fields and values, with optional per-field expiry (Redis 7.4's hash-field expiration).
//!
//! Like Redis, a hash has two encodings. A small one (at most [`MAX_PACKED_FIELDS`] fields, each field and
//! value at most [`MAX_PACKED_LEN`] bytes, no field expiry) is one packed buffer, like Redis's listpack:
//! `len field len value ...`, each length one byte, in insertion order, read by a linear scan. A hash that
//! outgrows it (or gets a field expiry time) is converted to the table form, never back, as in Redis: a
//! [`Dict`], so `HSCAN` has Redis's SCAN guarantee and `HRANDFIELD` picks in O(1). Field expiry times live
//! in a side table that only hashes using them allocate (`Option<Box<..>>`: a plain hash pays one null
//! pointer). The side table indexes expiry times both by field and in time order, so the next expiry is
//! O(1) to read and expired fields are removed in O(k log n).
//!
//! `Hash` itself is 16 bytes (the packed buffer's pointer and length, or the boxed table), so it sits in
//! a [`crate::Value`] without making every string key pay for it.
//!
//! Expired fields are removed by [`Hash::remove_expired`], which the keyspace calls on every access to the
//! key (and active expiry calls on sampled keys): commands never see an expired field.

use std::collections::{BTreeSet, HashMap};

use bytes::Bytes;
use rand::Rng;

use crate::compact::CompactBytes;
use crate::dict::{self, Dict};

/// Redis's `hash-max-listpack-entries`: the most fields a packed hash holds.
pub const MAX_PACKED_FIELDS: usize = 128;

/// Redis's `hash-max-listpack-value`: the longest field or value a packed hash holds.
pub const MAX_PACKED_LEN: usize = 64;

/// a hash: fields and values (with optional per-field expiry)
#[derive(Debug, Clone)]
pub struct Hash(Repr);

#[derive(Debug, Clone)]
enum Repr {
    /// `len field len value ...` (each `len` one byte), in insertion order; empty for an empty hash.
    Packed(Box<[u8]>),
    Table(Box<Table>),
}

/// The table form.
#[derive(Debug, Clone, Default)]
struct Table {
    fields: Dict<CompactBytes, CompactBytes>,
    /// Expiry times of the fields that have one; `None` when no field has one.
    ttls: Option<Box<FieldTtls>>,
}

/// Per-field expiry times (absolute Unix ms).
#[derive(Debug, Clone, Default)]
struct FieldTtls {
    by_field: HashMap<CompactBytes, u64, foldhash::fast::RandomState>,
    by_time: BTreeSet<(u64, CompactBytes)>,
}

impl FieldTtls {
    fn remove(&mut self, field: &[u8]) -> Option<u64> {
        let (f, at) = self.by_field.remove_entry(field)?;
        self.by_time.remove(&(at, f));
        Some(at)
    }
}

impl Default for Hash {
    fn default() -> Self {
        Hash(Repr::Packed(Box::default()))
    }
}

/// Whether a field or value of this length fits the packed form.
#[inline]
fn packable(b: &[u8]) -> bool {
    b.len() <= MAX_PACKED_LEN
}

/// The element at `pos` of a packed buffer and the position after it.
#[inline]
fn element(buf: &[u8], pos: usize) -> (&[u8], usize) {
    let start = pos + 1;
    let end = start + buf[pos] as usize;
    (&buf[start..end], end)
}

/// Where `field`'s pair is in a packed buffer: (start of the pair, start of its value, end of the pair).
fn find_packed(buf: &[u8], field: &[u8]) -> Option<(usize, usize, usize)> {
    let mut pos = 0;
    while pos < buf.len() {
        let (f, vpos) = element(buf, pos);
        let (_, end) = element(buf, vpos);
        if f == field {
            return Some((pos, vpos, end));
        }
        pos = end;
    }
    None
}

/// Number of pairs in a packed buffer.
fn packed_len(buf: &[u8]) -> usize {
    let mut n = 0;
    let mut pos = 0;
    while pos < buf.len() {
        pos = element(buf, element(buf, pos).1).1;
        n += 1;
    }
    n
}

/// Appends one element (its one-byte length, then its bytes) to a packed buffer being built.
#[inline]
fn push_element(out: &mut Vec<u8>, b: &[u8]) {
    out.push(b.len() as u8);
    out.extend_from_slice(b);
}

/// Iterates a hash's fields and values: in insertion order for a packed hash, in table order otherwise.
#[derive(Clone)]
pub enum Iter<'a> {
    #[doc(hidden)]
    Packed { buf: &'a [u8], pos: usize },
    #[doc(hidden)]
    Table(dict::Iter<'a, CompactBytes, CompactBytes>),
}

impl<'a> Iterator for Iter<'a> {
    type Item = (&'a [u8], &'a [u8]);

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        match self {
            Iter::Packed { buf, pos } => {
                if *pos >= buf.len() {
                    return None;
                }
                let (f, vpos) = element(buf, *pos);
                let (v, end) = element(buf, vpos);
                *pos = end;
                Some((f, v))
            }
            Iter::Table(it) => it.next().map(|(f, v)| (f.as_bytes(), v.as_bytes())),
        }
    }
}

impl Hash {
    /// Number of fields.
    pub fn len(&self) -> usize {
        match &self.0 {
            Repr::Packed(buf) => packed_len(buf),
            Repr::Table(t) => t.fields.len(),
        }
    }

    /// Whether it has no fields.
    pub fn is_empty(&self) -> bool {
        match &self.0 {
            Repr::Packed(buf) => buf.is_empty(),
            Repr::Table(t) => t.fields.is_empty(),
        }
    }

    /// Whether it uses the packed (listpack-like) form.
    pub fn is_packed(&self) -> bool {
        matches!(self.0, Repr::Packed(_))
    }

    /// The encoding's name as Redis's `OBJECT ENCODING` reports it: `listpack` or `hashtable`.
    pub fn encoding(&self) -> &'static str {
        match &self.0 {
            Repr::Packed(_) => "listpack",
            Repr::Table(_) => "hashtable",
        }
    }

    /// The fields and values (packed hashes in insertion order, as Redis's listpack).
    pub fn iter(&self) -> Iter<'_> {
        match &self.0 {
            Repr::Packed(buf) => Iter::Packed { buf, pos: 0 },
            Repr::Table(t) => Iter::Table(t.fields.iter()),
        }
    }

    /// Calls `f` on every field and value (in [`Hash::iter`]'s order) as [`Bytes`] that are all slices of
    /// one buffer copied at once: a reply of the whole hash costs one allocation, not one per element (a
    /// packed hash is copied as it is, length bytes included).
    pub fn for_each_shared(&self, mut f: impl FnMut(Bytes, Bytes)) {
        let (buf, packed) = match &self.0 {
            Repr::Packed(buf) => (Bytes::copy_from_slice(buf), true),
            Repr::Table(t) => {
                let total = t.fields.iter().map(|(k, v)| k.len() + v.len()).sum();
                let mut buf = Vec::with_capacity(total);
                for (k, v) in t.fields.iter() {
                    buf.extend_from_slice(k);
                    buf.extend_from_slice(v);
                }
                (Bytes::from(buf), false)
            }
        };
        let mut pos = 0;
        for (klen, vlen) in self.iter().map(|(k, v)| (k.len(), v.len())) {
            let k = pos + usize::from(packed);
            let v = k + klen + usize::from(packed);
            pos = v + vlen;
            f(buf.slice(k..k + klen), buf.slice(v..v + vlen));
        }
    }

    /// A uniformly random field and its value, `None` when empty.
    pub fn random<R: Rng + ?Sized>(&self, rng: &mut R) -> Option<(&[u8], &[u8])> {
        match &self.0 {
            Repr::Packed(_) => {
                let n = self.len();
                if n == 0 {
                    return None;
                }
                self.iter().nth(rng.random_range(0..n))
            }
            Repr::Table(t) => t.fields.random(rng).map(|(f, v)| (f.as_bytes(), v.as_bytes())),
        }
    }

    /// One step of an `HSCAN` from `cursor` (see [`Dict::scan`]): a packed hash is returned whole, with
    /// the next cursor 0, as Redis does for a listpack.
    pub fn scan<'a>(&'a self, cursor: u64, mut f: impl FnMut(&'a [u8], &'a [u8])) -> u64 {
        match &self.0 {
            Repr::Packed(_) => {
                self.iter().for_each(|(k, v)| f(k, v));
                0
            }
            Repr::Table(t) => t.fields.scan(cursor, |k, v| f(k, v)),
        }
    }

    /// The value of `field`.
    pub fn get(&self, field: &[u8]) -> Option<&[u8]> {
        match &self.0 {
            Repr::Packed(buf) => find_packed(buf, field).map(|(_, vpos, _)| element(buf, vpos).0),
            Repr::Table(t) => t.fields.get(field).map(CompactBytes::as_bytes),
        }
    }

    /// Whether `field` exists.
    pub fn contains(&self, field: &[u8]) -> bool {
        match &self.0 {
            Repr::Packed(buf) => find_packed(buf, field).is_some(),
            Repr::Table(t) => t.fields.contains_key(field),
        }
    }

    /// The table form, converting a packed hash first (for good: Redis never converts back either).
    fn table(&mut self) -> &mut Table {
        if let Repr::Packed(buf) = &self.0 {
            let mut t = Table::default();
            let mut pos = 0;
            while pos < buf.len() {
                let (f, vpos) = element(buf, pos);
                let (v, end) = element(buf, vpos);
                t.fields.insert(CompactBytes::new(f), CompactBytes::new(v));
                pos = end;
            }
            self.0 = Repr::Table(Box::new(t));
        }
        match &mut self.0 {
            Repr::Table(t) => t,
            Repr::Packed(_) => unreachable!("converted above"),
        }
    }

    /// Sets `field` to `value`, discarding any expiry time the field had (as `HSET` does). Returns whether
    /// the field is new.
    pub fn set(&mut self, field: &[u8], value: &[u8]) -> bool {
        if let Repr::Table(t) = &mut self.0
            && t.ttls.is_some()
        {
            t.clear_ttl(field);
        }
        self.set_keep_ttl(field, value)
    }

    /// Sets `field` to `value`, keeping any expiry time the field had (as `HINCRBY` does). Returns whether
    /// the field is new.
    pub fn set_keep_ttl(&mut self, field: &[u8], value: &[u8]) -> bool {
        if let Repr::Packed(buf) = &mut self.0
            && packable(field)
            && packable(value)
        {
            match find_packed(buf, field) {
                Some((_, vpos, end)) => {
                    if buf[vpos] as usize == value.len() {
                        buf[vpos + 1..end].copy_from_slice(value);
                    } else {
                        let mut out =
                            Vec::with_capacity(buf.len() + value.len() + 1 - (end - vpos));
                        out.extend_from_slice(&buf[..vpos]);
                        push_element(&mut out, value);
                        out.extend_from_slice(&buf[end..]);
                        *buf = out.into_boxed_slice();
                    }
                    return false;
                }
                None if packed_len(buf) < MAX_PACKED_FIELDS => {
                    let mut out = Vec::with_capacity(buf.len() + field.len() + value.len() + 2);
                    out.extend_from_slice(buf);
                    push_element(&mut out, field);
                    push_element(&mut out, value);
                    *buf = out.into_boxed_slice();
                    return true;
                }
                None => {}
            }
        }
        let t = self.table();
        match t.fields.get_mut(field) {
            Some(v) => {
                *v = CompactBytes::new(value);
                false
            }
            None => {
                t.fields.insert(CompactBytes::new(field), CompactBytes::new(value));
                true
            }
        }
    }

    /// Removes `field` (and its expiry time). Returns whether it existed.
    pub fn remove(&mut self, field: &[u8]) -> bool {
        match &mut self.0 {
            Repr::Packed(buf) => {
                let Some((start, _, end)) = find_packed(buf, field) else { return false };
                let mut out = Vec::with_capacity(buf.len() - (end - start));
                out.extend_from_slice(&buf[..start]);
                out.extend_from_slice(&buf[end..]);
                *buf = out.into_boxed_slice();
                true
            }
            Repr::Table(t) => {
                if t.fields.remove(field).is_none() {
                    return false;
                }
                if t.ttls.is_some() {
                    t.clear_ttl(field);
                }
                true
            }
        }
    }

    /// Removes `field` (and its expiry time), returning its value.
    pub fn take(&mut self, field: &[u8]) -> Option<Bytes> {
        let v = Bytes::copy_from_slice(self.get(field)?);
        self.remove(field);
        Some(v)
    }

    /// The expiry time of `field` in Unix ms, if it has one.
    pub fn expire_at(&self, field: &[u8]) -> Option<u64> {
        match &self.0 {
            Repr::Packed(_) => None,
            Repr::Table(t) => t.ttls.as_ref()?.by_field.get(field).copied(),
        }
    }

    /// Sets the expiry time of an existing field (converting a packed hash to the table form). Returns
    /// false (and does nothing) if the field is missing.
    pub fn set_expire_at(&mut self, field: &[u8], at: u64) -> bool {
        if !self.contains(field) {
            return false;
        }
        let t = self.table();
        let f = CompactBytes::new(field);
        let ttls = t.ttls.get_or_insert_with(Box::default);
        if let Some(old) = ttls.by_field.insert(f.clone(), at) {
            ttls.by_time.remove(&(old, f.clone()));
        }
        ttls.by_time.insert((at, f));
        true
    }

    /// Removes the expiry time of `field`. Returns whether it had one.
    pub fn persist(&mut self, field: &[u8]) -> bool {
        match &mut self.0 {
            Repr::Packed(_) => false,
            Repr::Table(t) => t.clear_ttl(field),
        }
    }

    fn ttls(&self) -> Option<&FieldTtls> {
        match &self.0 {
            Repr::Packed(_) => None,
            Repr::Table(t) => t.ttls.as_deref(),
        }
    }

    /// Whether some field has an expiry time.
    pub fn has_field_ttls(&self) -> bool {
        self.ttls().is_some()
    }

    /// Whether some field is expired at `now` (its expiry time is `<= now`).
    pub fn has_expired_fields(&self, now: u64) -> bool {
        self.ttls().is_some_and(|t| t.by_time.first().is_some_and(|(at, _)| *at <= now))
    }

    /// Whether every field is expired at `now` (the hash is logically gone).
    pub fn all_fields_expired(&self, now: u64) -> bool {
        self.ttls().is_some_and(|t| {
            t.by_time.len() == self.len() && t.by_time.last().is_some_and(|(at, _)| *at <= now)
        })
    }

    /// Removes the fields expired at `now`, returning their names (for propagation as `HDEL`).
    pub fn remove_expired(&mut self, now: u64) -> Vec<Bytes> {
        let mut out = Vec::new();
        let Repr::Table(t) = &mut self.0 else { return out };
        let Some(ttls) = t.ttls.as_mut() else { return out };
        while ttls.by_time.first().is_some_and(|(at, _)| *at <= now) {
            let Some((_, f)) = ttls.by_time.pop_first() else { break };
            ttls.by_field.remove(&f);
            t.fields.remove(&f);
            out.push(f.to_bytes());
        }
        if ttls.by_field.is_empty() {
            t.ttls = None;
        }
        out
    }
}

impl Table {
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
        use crate::memory::{bytes_heap, compact_heap, dict_heap, sampled, size_class};
        let t = match &self.0 {
            // The packed form is one allocation holding every field and value.
            Repr::Packed(buf) => return bytes_heap(buf.len()),
            Repr::Table(t) => t,
        };
        let fields = &t.fields;
        let mut n = size_class(std::mem::size_of::<Table>())
            + dict_heap(
                fields.len(),
                fields.bucket_count(),
                Dict::<CompactBytes, CompactBytes>::node_size(),
            )
            + sampled(
                fields.iter().map(|(f, v)| compact_heap(f) + compact_heap(v)),
                fields.len(),
                samples,
            );
        if let Some(t) = &t.ttls {
            let slot = std::mem::size_of::<(CompactBytes, u64)>() + 1;
            n += size_class(std::mem::size_of::<FieldTtls>())
                + t.by_field.capacity() * slot
                + t.by_time.len() * std::mem::size_of::<(u64, CompactBytes)>() * 3 / 2;
        }
        n
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn fields(h: &Hash) -> Vec<(String, String)> {
        h.iter()
            .map(|(f, v)| {
                (String::from_utf8_lossy(f).into_owned(), String::from_utf8_lossy(v).into_owned())
            })
            .collect()
    }

    #[test]
    fn plain_hash_allocates_no_ttl_table() {
        let mut h = Hash::default();
        assert!(h.set(b"a", b"1"));
        assert!(!h.set(b"a", b"2"));
        assert_eq!(h.get(b"a"), Some(&b"2"[..]));
        assert!(!h.has_field_ttls());
        assert_eq!(h.take(b"a"), Some(Bytes::from_static(b"2")));
        assert!(h.is_empty());
        assert_eq!(size_of::<Hash>(), 16);
    }

    #[test]
    fn packed_hash_keeps_insertion_order_and_edits_in_place() {
        let mut h = Hash::default();
        for (f, v) in [("a", "1"), ("b", "22"), ("c", "333")] {
            assert!(h.set(f.as_bytes(), v.as_bytes()));
        }
        assert_eq!(h.encoding(), "listpack");
        // Same length, longer, shorter, empty values; a field removed from the middle.
        assert!(!h.set(b"a", b"9"));
        assert!(!h.set(b"b", b"longer value"));
        assert!(!h.set(b"c", b""));
        assert!(h.set(b"", b"empty field"));
        assert!(h.remove(b"b"));
        assert!(!h.remove(b"b"));
        assert_eq!(
            fields(&h),
            [("a", "9"), ("c", ""), ("", "empty field")]
                .map(|(f, v)| (f.to_string(), v.to_string()))
        );
        assert_eq!(h.len(), 3);
        assert_eq!(h.get(b""), Some(&b"empty field"[..]));
        assert_eq!(h.get(b"zz"), None);
        let mut seen = Vec::new();
        assert_eq!(h.scan(0, |f, _| seen.push(f.to_vec())), 0);
        assert_eq!(seen.len(), 3);
        assert!(h.remove(b"a") && h.remove(b"c") && h.remove(b""));
        assert!(h.is_empty());
        assert_eq!(h.encoding(), "listpack");
    }

    #[test]
    fn converts_to_a_table_past_redis_limits_and_never_back() {
        // Too many fields.
        let mut h = Hash::default();
        for i in 0..MAX_PACKED_FIELDS {
            h.set(format!("f{i}").as_bytes(), b"v");
        }
        assert_eq!(h.encoding(), "listpack");
        h.set(b"f0", b"updated");
        assert_eq!(h.encoding(), "listpack");
        h.set(b"one more", b"v");
        assert_eq!(h.encoding(), "hashtable");
        assert_eq!(h.len(), MAX_PACKED_FIELDS + 1);
        assert_eq!(h.get(b"f0"), Some(&b"updated"[..]));
        for i in 0..MAX_PACKED_FIELDS {
            h.remove(format!("f{i}").as_bytes());
        }
        assert_eq!((h.len(), h.encoding()), (1, "hashtable"));
        // A long value, a long field: 64 bytes still fit, 65 do not.
        let mut h = Hash::default();
        h.set(b"f", &[b'x'; MAX_PACKED_LEN]);
        h.set(&[b'k'; MAX_PACKED_LEN], b"v");
        assert_eq!(h.encoding(), "listpack");
        h.set(b"g", &[b'x'; MAX_PACKED_LEN + 1]);
        assert_eq!(h.encoding(), "hashtable");
        assert_eq!(h.get(b"f"), Some(&[b'x'; MAX_PACKED_LEN][..]));
        let mut h = Hash::default();
        h.set(b"a", b"1");
        h.set(&[b'k'; MAX_PACKED_LEN + 1], b"v");
        assert_eq!((h.len(), h.encoding()), (2, "hashtable"));
        // A field expiry time converts too.
        let mut h = Hash::default();
        h.set(b"a", b"1");
        assert!(!h.set_expire_at(b"missing", 5));
        assert_eq!(h.encoding(), "listpack");
        assert!(h.set_expire_at(b"a", 5));
        assert_eq!(h.encoding(), "hashtable");
    }

    #[test]
    fn shared_copies_match_iteration_in_both_forms() {
        let mut h = Hash::default();
        for (f, v) in [("a", ""), ("", "x"), ("long field", "some value")] {
            h.set(f.as_bytes(), v.as_bytes());
        }
        for _ in 0..2 {
            let mut shared = Vec::new();
            h.for_each_shared(|f, v| shared.push((f.to_vec(), v.to_vec())));
            let plain: Vec<(Vec<u8>, Vec<u8>)> =
                h.iter().map(|(f, v)| (f.to_vec(), v.to_vec())).collect();
            assert_eq!(shared, plain, "{}", h.encoding());
            assert_eq!(shared.len(), 3);
            h.set_expire_at(b"a", u64::MAX - 1);
            assert_eq!(h.encoding(), "hashtable");
        }
    }

    #[derive(Debug, Clone)]
    enum Op {
        Set(u8, u8),
        SetKeepTtl(u8, u8),
        Remove(u8),
        Expire(u8, u8),
        Persist(u8),
        RemoveExpired(u8),
    }

    /// Field `i` of the model: mostly short, a few longer than the packed limit.
    fn field(i: u8) -> Vec<u8> {
        if i % 50 == 49 { vec![b'F'; MAX_PACKED_LEN + 1] } else { format!("f{i}").into_bytes() }
    }

    /// A value of `n` bytes: up to one past the packed limit.
    fn value(n: u8) -> Vec<u8> {
        vec![b'a' + n % 26; usize::from(n) % (MAX_PACKED_LEN + 2)]
    }

    proptest! {
        /// The packed and table forms against a model (insertion-ordered pairs plus expiry times): same
        /// contents, insertion order while packed, and the conversion exactly when Redis converts.
        #[test]
        fn matches_a_model(ops in proptest::collection::vec(
            prop_oneof![
                (0..150u8, any::<u8>()).prop_map(|(f, v)| Op::Set(f, v)),
                (0..150u8, any::<u8>()).prop_map(|(f, v)| Op::SetKeepTtl(f, v)),
                (0..150u8).prop_map(Op::Remove),
                (0..150u8, 1..20u8).prop_map(|(f, t)| Op::Expire(f, t)),
                (0..150u8).prop_map(Op::Persist),
                (0..20u8).prop_map(Op::RemoveExpired),
            ],
            1..400,
        )) {
            let mut h = Hash::default();
            let mut pairs: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
            let mut ttls: HashMap<Vec<u8>, u64> = HashMap::new();
            let mut packed = true;
            for op in ops {
                match op {
                    Op::Set(f, v) | Op::SetKeepTtl(f, v) => {
                        let (f, v, keep) = (field(f), value(v), matches!(op, Op::SetKeepTtl(..)));
                        let new = if keep { h.set_keep_ttl(&f, &v) } else { h.set(&f, &v) };
                        let pos = pairs.iter().position(|(k, _)| *k == f);
                        prop_assert_eq!(new, pos.is_none());
                        match pos {
                            Some(i) => pairs[i].1 = v.clone(),
                            None => pairs.push((f.clone(), v.clone())),
                        }
                        if !keep {
                            ttls.remove(&f);
                        }
                        if f.len() > MAX_PACKED_LEN || v.len() > MAX_PACKED_LEN
                            || pairs.len() > MAX_PACKED_FIELDS
                        {
                            packed = false;
                        }
                    }
                    Op::Remove(f) => {
                        let f = field(f);
                        let pos = pairs.iter().position(|(k, _)| *k == f);
                        prop_assert_eq!(h.remove(&f), pos.is_some());
                        if let Some(i) = pos {
                            pairs.remove(i);
                        }
                        ttls.remove(&f);
                    }
                    Op::Expire(f, t) => {
                        let f = field(f);
                        let present = pairs.iter().any(|(k, _)| *k == f);
                        prop_assert_eq!(h.set_expire_at(&f, u64::from(t)), present);
                        if present {
                            ttls.insert(f, u64::from(t));
                            packed = false;
                        }
                    }
                    Op::Persist(f) => {
                        let f = field(f);
                        prop_assert_eq!(h.persist(&f), ttls.remove(&f).is_some());
                    }
                    Op::RemoveExpired(now) => {
                        let mut gone: Vec<Vec<u8>> =
                            h.remove_expired(u64::from(now)).iter().map(|b| b.to_vec()).collect();
                        let mut want: Vec<Vec<u8>> = ttls
                            .iter()
                            .filter(|(_, at)| **at <= u64::from(now))
                            .map(|(f, _)| f.clone())
                            .collect();
                        gone.sort();
                        want.sort();
                        prop_assert_eq!(&gone, &want);
                        pairs.retain(|(f, _)| !want.contains(f));
                        ttls.retain(|_, at| *at > u64::from(now));
                    }
                }
                prop_assert_eq!(h.is_packed(), packed);
                prop_assert_eq!(h.len(), pairs.len());
                prop_assert_eq!(h.is_empty(), pairs.is_empty());
                prop_assert_eq!(h.has_field_ttls(), !ttls.is_empty());
                let got: Vec<(Vec<u8>, Vec<u8>)> =
                    h.iter().map(|(f, v)| (f.to_vec(), v.to_vec())).collect();
                if packed {
                    prop_assert_eq!(&got, &pairs);
                } else {
                    let (mut got, mut want) = (got, pairs.clone());
                    got.sort();
                    want.sort();
                    prop_assert_eq!(got, want);
                }
                for (f, v) in &pairs {
                    prop_assert_eq!(h.get(f), Some(&v[..]));
                    prop_assert_eq!(h.expire_at(f), ttls.get(f).copied());
                }
            }
        }
    }

    #[test]
    fn random_picks_every_packed_field() {
        let mut h = Hash::default();
        for f in ["a", "b", "c"] {
            h.set(f.as_bytes(), b"v");
        }
        let mut rng = rand::rng();
        let mut seen = std::collections::HashSet::new();
        for _ in 0..200 {
            seen.insert(h.random(&mut rng).expect("not empty").0.to_vec());
        }
        assert_eq!(seen.len(), 3);
        assert!(Hash::default().random(&mut rng).is_none());
    }

    #[test]
    fn field_expiry_lifecycle() {
        let mut h = Hash::default();
        h.set(b"a", b"1");
        h.set(b"b", b"2");
        h.set(b"c", b"3");
        assert!(!h.set_expire_at(b"missing", 5));
        assert!(h.set_expire_at(b"a", 10));
        assert!(h.set_expire_at(b"b", 20));
        assert!(h.set_expire_at(b"b", 30));
        assert_eq!(h.expire_at(b"b"), Some(30));
        assert!(!h.has_expired_fields(9));
        assert!(h.has_expired_fields(10));
        assert!(!h.all_fields_expired(100));
        // HSET discards the TTL, set_keep_ttl keeps it.
        h.set_keep_ttl(b"a", b"x");
        assert_eq!(h.expire_at(b"a"), Some(10));
        h.set(b"a", b"y");
        assert_eq!(h.expire_at(b"a"), None);
        assert!(h.persist(b"b"));
        assert!(!h.persist(b"b"));
        assert!(!h.has_field_ttls());
        h.set_expire_at(b"a", 10);
        h.set_expire_at(b"b", 20);
        h.set_expire_at(b"c", 20);
        assert!(h.all_fields_expired(20));
        assert_eq!(h.remove_expired(15), vec![Bytes::from_static(b"a")]);
        assert_eq!(h.len(), 2);
        let mut gone = h.remove_expired(20);
        gone.sort();
        assert_eq!(gone, vec![Bytes::from_static(b"b"), Bytes::from_static(b"c")]);
        assert!(h.is_empty());
        assert!(!h.has_field_ttls());
    }

    #[test]
    fn removing_a_field_drops_its_ttl() {
        let mut h = Hash::default();
        h.set(b"a", b"1");
        h.set_expire_at(b"a", 10);
        h.remove(b"a");
        assert!(!h.has_field_ttls());
        h.set(b"a", b"1");
        assert_eq!(h.expire_at(b"a"), None);
        assert!(h.remove_expired(100).is_empty());
    }
}
