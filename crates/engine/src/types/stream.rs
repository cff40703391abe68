//! `Stream`, a Redis stream: entries in ID order, the stream's counters (last ID, first ID, largest deleted
//! ID, entries ever added) and its consumer groups, each with a pending entries list (PEL) and consumers.
//!
//! Entries live in a `BTreeMap` keyed by ID: O(log n) appends, deletes and range seeks like Redis's radix
//! tree. Beside it, `nodes` models how Redis packs entries into radix-tree nodes (listpacks of at most 100
//! entries or 4096 bytes, with their exact listpack size): approximate trimming (`MAXLEN ~`, `MINID ~`)
//! only removes whole nodes, and `XINFO STREAM` reports the node counts, so both answer as Redis does.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use bytes::Bytes;

use crate::command::args::parse_i64;

/// Redis's `stream-node-max-entries` default.
const NODE_MAX_ENTRIES: u32 = 100;
/// Redis's `stream-node-max-bytes` default.
const NODE_MAX_BYTES: usize = 4096;
/// Redis refuses an entry whose fields and values add up to more than this (a listpack's limit).
pub const ENTRY_MAX_BYTES: usize = 1 << 30;
/// Approximate trimming without `LIMIT` removes at most this many entries (100 nodes).
pub const DEFAULT_TRIM_LIMIT: u64 = 100 * NODE_MAX_ENTRIES as u64;

/// A stream entry ID: milliseconds and sequence number, ordered as a 128-bit number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct StreamId {
    pub ms: u64,
    pub seq: u64,
}

impl StreamId {
    /// `0-0`.
    pub const MIN: StreamId = StreamId { ms: 0, seq: 0 };
    /// The largest ID, `+`.
    pub const MAX: StreamId = StreamId { ms: u64::MAX, seq: u64::MAX };

    /// An ID.
    pub const fn new(ms: u64, seq: u64) -> StreamId {
        StreamId { ms, seq }
    }

    /// The next ID, or `None` after the largest.
    pub fn incr(self) -> Option<StreamId> {
        match (self.ms, self.seq) {
            (u64::MAX, u64::MAX) => None,
            (ms, u64::MAX) => Some(StreamId::new(ms + 1, 0)),
            (ms, seq) => Some(StreamId::new(ms, seq + 1)),
        }
    }

    /// The previous ID, or `None` before `0-0`.
    pub fn decr(self) -> Option<StreamId> {
        match (self.ms, self.seq) {
            (0, 0) => None,
            (ms, 0) => Some(StreamId::new(ms - 1, u64::MAX)),
            (ms, seq) => Some(StreamId::new(ms, seq - 1)),
        }
    }

    /// Whether it is `0-0`.
    pub fn is_zero(self) -> bool {
        self == StreamId::MIN
    }

    /// `<ms>-<seq>` as bytes.
    pub fn to_bytes(self) -> Bytes {
        Bytes::from(self.to_string())
    }
}

impl fmt::Display for StreamId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.ms, self.seq)
    }
}

/// A pending entry of a consumer group: delivered to `consumer`, not yet acknowledged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Nack {
    /// Unix ms of the last delivery.
    pub delivery_time: u64,
    pub delivery_count: u64,
    /// The owner's name (a key of the group's `consumers`).
    pub consumer: Bytes,
}

/// A consumer of a group.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Consumer {
    /// Unix ms of the consumer's last interaction (Redis 7.0's `seen-time`).
    pub seen_time: u64,
    /// The IDs of the group's pending entries this consumer owns.
    pub pel: BTreeSet<StreamId>,
}

/// A consumer group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    /// The last ID delivered to the group.
    pub last_id: StreamId,
    /// The group's logical read counter; `None` when unknown (Redis's -1).
    pub entries_read: Option<u64>,
    /// Every pending entry, by ID.
    pub pel: BTreeMap<StreamId, Nack>,
    /// Consumers by name (bytewise order, like Redis's radix tree).
    pub consumers: BTreeMap<Bytes, Consumer>,
}

impl Group {
    /// A group whose last delivered ID is `last_id`.
    pub fn new(last_id: StreamId, entries_read: Option<u64>) -> Group {
        Group { last_id, entries_read, pel: BTreeMap::new(), consumers: BTreeMap::new() }
    }

    /// Removes the pending entry `id` from the group and its owner. Returns it.
    pub fn remove_pending(&mut self, id: StreamId) -> Option<Nack> {
        let nack = self.pel.remove(&id)?;
        if let Some(c) = self.consumers.get_mut(&nack.consumer) {
            c.pel.remove(&id);
        }
        Some(nack)
    }

    /// Gives pending entry `id` to `consumer` (which must exist), creating the entry (delivered once, now)
    /// if needed, and returns it for its times and counts to be set.
    pub fn assign(&mut self, id: StreamId, consumer: &[u8], now: u64) -> &mut Nack {
        // The stored name, never the argument's bytes (they would pin a request buffer).
        let consumer = match self.consumers.get_key_value(consumer) {
            Some((k, _)) => k.clone(),
            None => Bytes::copy_from_slice(consumer),
        };
        let consumer = &consumer;
        let old = self.pel.get(&id).map(|n| n.consumer.clone());
        if let Some(old) = old.filter(|o| o != consumer)
            && let Some(c) = self.consumers.get_mut(&old)
        {
            c.pel.remove(&id);
        }
        if let Some(c) = self.consumers.get_mut(consumer) {
            c.pel.insert(id);
        }
        let nack = self.pel.entry(id).or_insert_with(|| Nack {
            delivery_time: now,
            delivery_count: 1,
            consumer: consumer.clone(),
        });
        nack.consumer = consumer.clone();
        nack
    }

    /// Deletes consumer `name` and its pending entries. Returns how many entries it had pending, or
    /// `None` if there is no such consumer.
    pub fn delete_consumer(&mut self, name: &[u8]) -> Option<usize> {
        let c = self.consumers.remove(name)?;
        for id in &c.pel {
            self.pel.remove(id);
        }
        Some(c.pel.len())
    }
}

/// How Redis packed a run of entries into one radix-tree node (a listpack), as far as trimming and
/// `XINFO` can tell.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Node {
    /// Live entries.
    live: u32,
    /// Entries marked deleted but still in the listpack.
    deleted: u32,
    /// The last ID ever appended to the node (deleted or not).
    last: StreamId,
    /// The listpack's size in bytes.
    bytes: usize,
    /// The master entry's field names (the node's first entry's).
    master_fields: Box<[Bytes]>,
}

/// What to trim to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trim {
    /// Keep at most this many entries.
    MaxLen(u64),
    /// Keep no entry below this ID.
    MinId(StreamId),
}

/// A stream.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stream {
    /// Entries by ID: fields and values alternating.
    entries: BTreeMap<StreamId, Box<[Bytes]>>,
    /// Redis's radix-tree nodes, keyed by their master ID.
    nodes: BTreeMap<StreamId, Node>,
    /// The last ID generated or set (`last-generated-id`).
    pub last_id: StreamId,
    /// The first entry's ID as Redis records it (`recorded-first-entry-id`).
    pub first_id: StreamId,
    /// The largest ID deleted with XDEL (`max-deleted-entry-id`).
    pub max_deleted_id: StreamId,
    /// Entries ever added (`entries-added`).
    pub entries_added: u64,
    /// Consumer groups by name.
    pub groups: BTreeMap<Bytes, Group>,
}

impl Stream {
    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether it has no entries (an empty stream still exists as a key).
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The ID `XADD *` uses at `now`: `now-0`, or the last ID's successor when the clock is not ahead.
    /// `None` when the last ID is the largest.
    pub fn next_id(&self, now: u64) -> Option<StreamId> {
        if now > self.last_id.ms { Some(StreamId::new(now, 0)) } else { self.last_id.incr() }
    }

    /// Appends an entry with `id`, which must be greater than the last ID.
    pub fn append(&mut self, id: StreamId, fields: Box<[Bytes]>) {
        let numfields = fields.len() / 2;
        let raw: usize = fields.iter().map(Bytes::len).sum();
        let tail = self.nodes.iter_mut().next_back().filter(|(_, n)| {
            n.bytes + raw < NODE_MAX_BYTES && n.live + n.deleted < NODE_MAX_ENTRIES
        });
        let (master, node) = match tail {
            Some((master, node)) => (*master, node),
            None => {
                let names: Box<[Bytes]> = fields.iter().step_by(2).cloned().collect();
                let mut bytes = 6 + 1 + int_size(1) + int_size(0) + int_size(numfields as i64);
                bytes += names.iter().map(|f| str_size(f)).sum::<usize>() + int_size(0);
                let node = Node { live: 0, deleted: 0, last: id, bytes, master_fields: names };
                (id, self.nodes.entry(id).or_insert(node))
            }
        };
        let same = node.master_fields.len() == numfields
            && node.master_fields.iter().zip(fields.iter().step_by(2)).all(|(a, b)| a == b);
        let mut size = int_size(if same { 2 } else { 0 })
            + int_size(id.ms.wrapping_sub(master.ms) as i64)
            + int_size(id.seq.wrapping_sub(master.seq) as i64);
        let lp_count = if same { numfields + 3 } else { 2 * numfields + 4 };
        if !same {
            size += int_size(numfields as i64);
            size += fields.iter().step_by(2).map(|f| str_size(f)).sum::<usize>();
        }
        size += fields.iter().skip(1).step_by(2).map(|v| str_size(v)).sum::<usize>();
        size += int_size(lp_count as i64);
        node.bytes += size;
        node.live += 1;
        node.last = id;
        self.entries.insert(id, fields);
        self.entries_added += 1;
        self.last_id = id;
        if self.entries.len() == 1 {
            self.first_id = id;
        }
    }

    /// The entry `id`'s fields and values.
    pub fn get(&self, id: StreamId) -> Option<&[Bytes]> {
        self.entries.get(&id).map(|f| &f[..])
    }

    /// Entries from `start` to `end` inclusive, in ID order (empty when `start > end`).
    pub fn range(
        &self,
        start: StreamId,
        end: StreamId,
    ) -> impl DoubleEndedIterator<Item = (StreamId, &[Bytes])> {
        let r = if start <= end { Some(self.entries.range(start..=end)) } else { None };
        r.into_iter().flatten().map(|(id, f)| (*id, &f[..]))
    }

    /// The first entry.
    pub fn first(&self) -> Option<(StreamId, &[Bytes])> {
        self.entries.first_key_value().map(|(id, f)| (*id, &f[..]))
    }

    /// The last entry.
    pub fn last(&self) -> Option<(StreamId, &[Bytes])> {
        self.entries.last_key_value().map(|(id, f)| (*id, &f[..]))
    }

    /// Deletes entry `id` (XDEL): its node drops it, and goes when it held nothing else. Does not update
    /// the stream's first or largest deleted ID (XDEL does, once for all its IDs).
    pub fn delete(&mut self, id: StreamId) -> bool {
        if self.entries.remove(&id).is_none() {
            return false;
        }
        let (&master, node) =
            self.nodes.range_mut(..=id).next_back().expect("every entry is in a node");
        if node.live == 1 {
            self.nodes.remove(&master);
        } else {
            node.live -= 1;
            node.deleted += 1;
        }
        true
    }

    /// Resets the recorded first ID after entries were removed.
    pub fn refresh_first_id(&mut self) {
        self.first_id = self.first().map_or(StreamId::MIN, |(id, _)| id);
    }

    /// Trims like Redis's `streamTrim`: whole nodes from the head while that keeps the condition, then
    /// (exact trimming only) single entries of the next node; `limit` (0 = none) bounds the entries
    /// removed. Returns how many entries were removed.
    pub fn trim(&mut self, trim: Trim, approx: bool, limit: u64) -> u64 {
        let mut deleted = 0u64;
        loop {
            if let Trim::MaxLen(max) = trim
                && self.len() as u64 <= max
            {
                break;
            }
            let Some((&master, node)) = self.nodes.first_key_value() else { break };
            let entries = u64::from(node.live);
            if limit != 0 && deleted + entries > limit {
                break;
            }
            let remove_node = match trim {
                Trim::MaxLen(max) => self.len() as u64 - entries >= max,
                Trim::MinId(min) => node.last < min,
            };
            if remove_node {
                let next = self.nodes.keys().nth(1).copied();
                let gone: Vec<StreamId> = match next {
                    Some(n) => self.entries.range(..n).map(|(id, _)| *id).collect(),
                    None => self.entries.keys().copied().collect(),
                };
                for id in gone {
                    self.entries.remove(&id);
                }
                self.nodes.remove(&master);
                deleted += entries;
                continue;
            }
            if approx {
                break;
            }
            // Exact: mark entries of this node deleted while the condition holds.
            let end = self.nodes.keys().nth(1).copied().unwrap_or(StreamId::MAX);
            let mut removed = 0u32;
            while let Some((&id, _)) = self.entries.range(master..).next() {
                if id >= end {
                    break;
                }
                let stop = match trim {
                    Trim::MaxLen(max) => self.len() as u64 <= max,
                    Trim::MinId(min) => id >= min,
                };
                if stop {
                    break;
                }
                self.entries.remove(&id);
                removed += 1;
            }
            let node = self.nodes.get_mut(&master).expect("still there");
            node.live -= removed;
            node.deleted += removed;
            deleted += u64::from(removed);
            break;
        }
        if self.is_empty() {
            self.first_id = StreamId::MIN;
        } else if deleted > 0 {
            self.refresh_first_id();
        }
        deleted
    }

    /// Whether the range from `start` (`None`: the beginning) to the end may hold a deleted entry
    /// (Redis's `streamRangeHasTombstones`).
    pub fn range_has_tombstones(&self, start: Option<StreamId>) -> bool {
        if self.is_empty() || self.max_deleted_id.is_zero() || self.first_id > self.max_deleted_id {
            return false;
        }
        start.unwrap_or(StreamId::MIN) <= self.max_deleted_id
    }

    /// The logical read counter of `id` when it can be known (`streamEstimateDistanceFromFirstEverEntry`).
    pub fn estimate_distance(&self, id: StreamId) -> Option<u64> {
        if self.entries_added == 0 {
            return Some(0);
        }
        if self.is_empty() && id <= self.last_id {
            return Some(self.entries_added);
        }
        match id.cmp(&self.last_id) {
            std::cmp::Ordering::Equal => return Some(self.entries_added),
            std::cmp::Ordering::Greater => return None,
            std::cmp::Ordering::Less => {}
        }
        if self.max_deleted_id.is_zero() || self.max_deleted_id < self.first_id {
            let base = self.entries_added - self.len() as u64;
            match id.cmp(&self.first_id) {
                std::cmp::Ordering::Less => return Some(base),
                std::cmp::Ordering::Equal => return Some(base + 1),
                std::cmp::Ordering::Greater => {}
            }
        }
        None
    }

    /// A group's lag: entries not yet delivered to it, when that can be known.
    pub fn lag(&self, g: &Group) -> Option<u64> {
        if self.entries_added == 0 {
            return Some(0);
        }
        if let Some(read) = g.entries_read
            && !self.range_has_tombstones(Some(g.last_id))
        {
            return Some(self.entries_added.wrapping_sub(read));
        }
        self.estimate_distance(g.last_id).map(|read| self.entries_added.wrapping_sub(read))
    }

    /// Moves a group's last delivered ID forward to `id` (an entry delivered to it), keeping its read
    /// counter as Redis does.
    pub fn advance_group(&mut self, group: &[u8], id: StreamId) {
        let tombstones = self.range_has_tombstones(Some(id));
        let estimate = self.estimate_distance(id);
        let added = self.entries_added;
        let Some(g) = self.groups.get_mut(group) else { return };
        if id <= g.last_id {
            return;
        }
        match g.entries_read {
            Some(n) if !tombstones => g.entries_read = Some(n + 1),
            _ if added > 0 => g.entries_read = estimate,
            _ => {}
        }
        g.last_id = id;
    }

    /// Number of radix-tree keys (Redis's listpack nodes).
    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }

    /// Number of nodes of the radix tree Redis would hold for these keys (`radix-tree-nodes`).
    pub fn rax_node_count(&self) -> usize {
        let keys: Vec<[u8; 16]> = self
            .nodes
            .keys()
            .map(|id| {
                let mut k = [0u8; 16];
                k[..8].copy_from_slice(&id.ms.to_be_bytes());
                k[8..].copy_from_slice(&id.seq.to_be_bytes());
                k
            })
            .collect();
        if keys.is_empty() {
            return 1;
        }
        rax_nodes(&keys, 0)
    }
}

/// Rax nodes for the sorted, distinct `keys` sharing their first `depth` bytes, starting at a node.
fn rax_nodes(keys: &[[u8; 16]], depth: usize) -> usize {
    let first = &keys[0];
    let last = &keys[keys.len() - 1];
    let common = (depth..16).take_while(|&i| first[i] == last[i]).count();
    if depth + common == 16 {
        // One key: a compressed node with the rest (if any) and the key's leaf.
        return if common > 0 { 2 } else { 1 };
    }
    if common > 0 {
        // A compressed node down to the branch.
        return 1 + branch_nodes(keys, depth + common);
    }
    branch_nodes(keys, depth)
}

/// A branching node at `depth` and its children.
fn branch_nodes(keys: &[[u8; 16]], depth: usize) -> usize {
    let mut n = 1;
    for group in keys.chunk_by(|a, b| a[depth] == b[depth]) {
        n += rax_nodes(group, depth + 1);
    }
    n
}

/// Bytes an integer takes in a listpack (encoding and back-length).
fn int_size(v: i64) -> usize {
    let enc = match v {
        0..=127 => 1,
        -4096..=4095 => 2,
        -32768..=32767 => 3,
        -8_388_608..=8_388_607 => 4,
        -2_147_483_648..=2_147_483_647 => 5,
        _ => 9,
    };
    enc + backlen(enc)
}

/// Bytes a string takes in a listpack (integers in canonical form are stored as integers).
fn str_size(s: &[u8]) -> usize {
    if let Some(v) = parse_i64(s) {
        return int_size(v);
    }
    let enc = match s.len() {
        0..64 => 1 + s.len(),
        64..4096 => 2 + s.len(),
        _ => 5 + s.len(),
    };
    enc + backlen(enc)
}

fn backlen(l: usize) -> usize {
    match l {
        0..=127 => 1,
        128..16383 => 2,
        16383..2097151 => 3,
        2097151..268435455 => 4,
        _ => 5,
    }
}

/// Memory accounting (`MEMORY USAGE`).
impl Stream {
    /// Heap bytes, estimated: a B-tree slot per entry (its ID and boxed fields), the fields' and values'
    /// bytes (`samples` entries measured, the rest estimated from their average), the node index, and
    /// the groups with their pending entries and consumers.
    pub(crate) fn heap_usage(&self, samples: usize) -> usize {
        use crate::memory::{bytes_heap, sampled, size_class};
        use std::mem::size_of;
        // B-tree nodes hold up to 11 slots and run about two-thirds full: ~1.5 slots per element.
        fn btree<K, V>(len: usize) -> usize {
            len * (size_of::<K>() + size_of::<V>()) * 3 / 2
        }
        let fields = |f: &[Bytes]| {
            size_class(std::mem::size_of_val(f))
                + f.iter().map(|b| bytes_heap(b.len())).sum::<usize>()
        };
        let entries = btree::<StreamId, Box<[Bytes]>>(self.entries.len())
            + sampled(self.entries.values().map(|f| fields(f)), self.entries.len(), samples);
        let nodes = btree::<StreamId, Node>(self.nodes.len())
            + self.nodes.values().map(|n| fields(&n.master_fields)).sum::<usize>();
        let groups: usize = self
            .groups
            .iter()
            .map(|(name, g)| {
                btree::<Bytes, Group>(1)
                    + bytes_heap(name.len())
                    + btree::<StreamId, Nack>(g.pel.len())
                    + g.consumers
                        .iter()
                        .map(|(n, c)| {
                            btree::<Bytes, Consumer>(1)
                                + bytes_heap(n.len())
                                + btree::<StreamId, ()>(c.pel.len())
                        })
                        .sum::<usize>()
            })
            .sum();
        entries + nodes + groups
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(n: usize) -> Box<[Bytes]> {
        (0..n).flat_map(|i| [Bytes::from(format!("f{i}")), Bytes::from("v")]).collect()
    }

    #[test]
    fn ids_step_and_order() {
        assert_eq!(StreamId::new(1, u64::MAX).incr(), Some(StreamId::new(2, 0)));
        assert_eq!(StreamId::MAX.incr(), None);
        assert_eq!(StreamId::new(2, 0).decr(), Some(StreamId::new(1, u64::MAX)));
        assert_eq!(StreamId::MIN.decr(), None);
        assert!(StreamId::new(1, 9) < StreamId::new(2, 0));
        assert_eq!(StreamId::new(5, 3).to_string(), "5-3");
    }

    #[test]
    fn nodes_hold_100_entries_and_approximate_trims_whole_nodes() {
        let mut s = Stream::default();
        for i in 1..=250 {
            s.append(StreamId::new(i, 0), fields(1));
        }
        assert_eq!(s.node_count(), 3);
        assert_eq!(s.trim(Trim::MaxLen(180), true, 0), 0);
        assert_eq!(s.trim(Trim::MaxLen(150), true, 0), 100);
        assert_eq!(s.len(), 150);
        assert_eq!(s.first_id, StreamId::new(101, 0));
        assert_eq!(s.trim(Trim::MaxLen(10), false, 0), 140);
        assert_eq!(s.first().unwrap().0, StreamId::new(241, 0));
        assert_eq!(s.node_count(), 1);
    }

    #[test]
    fn big_entries_fill_nodes_by_bytes() {
        let mut s = Stream::default();
        let big: Box<[Bytes]> = vec![Bytes::from("f"), Bytes::from(vec![b'x'; 1000])].into();
        for i in 1..=10 {
            s.append(StreamId::new(i, 0), big.clone());
        }
        assert!(s.node_count() >= 3, "{}", s.node_count());
    }

    #[test]
    fn deleting_the_last_live_entry_of_a_node_removes_it() {
        let mut s = Stream::default();
        s.append(StreamId::new(1, 0), fields(1));
        assert!(s.delete(StreamId::new(1, 0)));
        assert!(!s.delete(StreamId::new(1, 0)));
        assert_eq!(s.node_count(), 0);
        assert_eq!(s.rax_node_count(), 1);
    }
}
