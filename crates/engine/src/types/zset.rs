//! `ZSet`, a sorted set: a [`Dict`] from member to score (O(1) `ZSCORE`, `ZSCAN` with the SCAN guarantee)
//! and a skiplist ordered by (score, member) whose links carry spans, as in Redis's `t_zset.c`, for
//! O(log n) ranks and O(log n + m) range walks and range deletions.
//!
//! The skiplist is an arena of nodes addressed by `u32` indices (safe Rust, no pointers). A node's first
//! link is stored inline; only the ~25% of nodes taller than one level allocate their upper links. Freed
//! slots are reused, and the arena is compacted (renumbered in order) when more than half of it is free,
//! so memory follows the live size.
//!
//! `compact` mirrors Redis's listpack encoding (small sets: at most 128 members of at most 64 bytes),
//! because two things clients can see depend on it: `ZSCAN` answers a small set in one page, in order,
//! and a listpack cannot keep the sign of a zero score (`ZADD k -0 m` then `ZSCORE` says `0`). As in
//! Redis, a set leaves the compact form when it grows past those limits and never goes back, except for
//! the destination of a store command, which is converted when small.

use std::cmp::Ordering;

use bytes::Bytes;

use crate::dict::Dict;

/// Redis's `zset-max-listpack-entries` default.
const COMPACT_MAX_ENTRIES: usize = 128;
/// Redis's `zset-max-listpack-value` default.
const COMPACT_MAX_VALUE: usize = 64;

/// Levels of the skiplist (Redis's `ZSKIPLIST_MAXLEVEL`).
const MAX_LEVEL: usize = 32;
/// The "no node" index.
const NIL: u32 = u32::MAX;
/// The header, as a node index (never stored in `nodes`).
const HEAD: u32 = u32::MAX - 1;

/// A score interval: `min`/`max` with exclusive flags (`(1.5`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScoreRange {
    pub min: f64,
    pub max: f64,
    pub minex: bool,
    pub maxex: bool,
}

impl ScoreRange {
    fn gte_min(&self, v: f64) -> bool {
        if self.minex { v > self.min } else { v >= self.min }
    }

    fn lte_max(&self, v: f64) -> bool {
        if self.maxex { v < self.max } else { v <= self.max }
    }

    /// Whether `v` is inside.
    pub fn contains(&self, v: f64) -> bool {
        self.gte_min(v) && self.lte_max(v)
    }

    fn is_empty(&self) -> bool {
        self.min > self.max || (self.min == self.max && (self.minex || self.maxex))
    }
}

/// One end of a lexicographic interval: `-`, `+`, or a member (with `(`/`[` kept in `LexRange`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LexBound {
    /// `-`: below every member.
    Min,
    /// `+`: above every member.
    Max,
    Value(Bytes),
}

impl LexBound {
    /// Redis's `sdscmplex`: `-` and `+` compare below and above everything, and equal to themselves.
    fn cmp_bound(&self, other: &LexBound) -> Ordering {
        match (self, other) {
            (LexBound::Min, LexBound::Min) | (LexBound::Max, LexBound::Max) => Ordering::Equal,
            (LexBound::Min, _) | (_, LexBound::Max) => Ordering::Less,
            (LexBound::Max, _) | (_, LexBound::Min) => Ordering::Greater,
            (LexBound::Value(a), LexBound::Value(b)) => a.cmp(b),
        }
    }

    /// `member` compared to this bound.
    fn cmp_member(&self, member: &[u8]) -> Ordering {
        match self {
            LexBound::Min => Ordering::Greater,
            LexBound::Max => Ordering::Less,
            LexBound::Value(b) => member.cmp(b),
        }
    }
}

/// A lexicographic interval over members (meaningful when all scores are equal, as in Redis).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LexRange {
    pub min: LexBound,
    pub max: LexBound,
    pub minex: bool,
    pub maxex: bool,
}

impl LexRange {
    fn gte_min(&self, m: &[u8]) -> bool {
        let c = self.min.cmp_member(m);
        if self.minex { c == Ordering::Greater } else { c != Ordering::Less }
    }

    fn lte_max(&self, m: &[u8]) -> bool {
        let c = self.max.cmp_member(m);
        if self.maxex { c == Ordering::Less } else { c != Ordering::Greater }
    }

    /// Whether `m` is inside.
    pub fn contains(&self, m: &[u8]) -> bool {
        self.gte_min(m) && self.lte_max(m)
    }

    fn is_empty(&self) -> bool {
        let c = self.min.cmp_bound(&self.max);
        c == Ordering::Greater || (c == Ordering::Equal && (self.minex || self.maxex))
    }
}

/// (score, member) order: by score, then by member bytes. Scores are never NaN; `-0.0 == 0.0`.
fn key_cmp(s1: f64, m1: &[u8], s2: f64, m2: &[u8]) -> Ordering {
    match s1.partial_cmp(&s2) {
        Some(Ordering::Equal) | None => m1.cmp(m2),
        Some(o) => o,
    }
}

#[derive(Debug, Clone, Copy)]
struct Link {
    next: u32,
    /// Number of level-0 steps from this node to `next` (Redis's `span`).
    span: u32,
}

const NO_LINK: Link = Link { next: NIL, span: 0 };

#[derive(Debug, Clone)]
struct Node {
    member: Bytes,
    score: f64,
    prev: u32,
    level0: Link,
    upper: Box<[Link]>,
}

impl Node {
    #[cfg(test)]
    fn height(&self) -> usize {
        1 + self.upper.len()
    }
}

/// The skiplist part of a `ZSet`: (score, member) in order, with spans.
#[derive(Debug, Clone)]
struct SkipList {
    nodes: Vec<Node>,
    free: Vec<u32>,
    /// The header's links, one per level reached so far (at least `level`; the links above `level` have no
    /// next node). Grown on demand rather than `MAX_LEVEL` inline: a small set reaches 2 or 3 levels.
    head: Vec<Link>,
    tail: u32,
    len: usize,
    level: usize,
    rng: u64,
}

impl Default for SkipList {
    fn default() -> Self {
        SkipList {
            nodes: Vec::new(),
            free: Vec::new(),
            head: vec![NO_LINK],
            tail: NIL,
            len: 0,
            level: 1,
            rng: 0,
        }
    }
}

impl SkipList {
    fn node(&self, x: u32) -> &Node {
        &self.nodes[x as usize]
    }

    fn link(&self, x: u32, i: usize) -> Link {
        if x == HEAD {
            self.head[i]
        } else {
            let n = &self.nodes[x as usize];
            if i == 0 { n.level0 } else { n.upper[i - 1] }
        }
    }

    fn link_mut(&mut self, x: u32, i: usize) -> &mut Link {
        if x == HEAD {
            &mut self.head[i]
        } else {
            let n = &mut self.nodes[x as usize];
            if i == 0 { &mut n.level0 } else { &mut n.upper[i - 1] }
        }
    }

    fn first(&self) -> u32 {
        self.head[0].next
    }

    fn next(&self, x: u32) -> u32 {
        self.node(x).level0.next
    }

    #[cfg(test)]
    fn prev(&self, x: u32) -> u32 {
        self.node(x).prev
    }

    /// A level for a new node: 1 + k with probability 4^-k (Redis's p = 0.25), at most `MAX_LEVEL`.
    fn random_level(&mut self) -> usize {
        if self.rng == 0 {
            self.rng = rand::random::<u64>() | 1;
        }
        // xorshift64*
        let mut x = self.rng;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.rng = x;
        let r = x.wrapping_mul(0x2545_f491_4f6c_dd1d);
        (1 + r.trailing_zeros() as usize / 2).min(MAX_LEVEL)
    }

    fn alloc(&mut self, member: Bytes, score: f64, height: usize) -> u32 {
        let node = Node {
            member,
            score,
            prev: NIL,
            level0: NO_LINK,
            upper: vec![NO_LINK; height - 1].into_boxed_slice(),
        };
        match self.free.pop() {
            Some(i) => {
                self.nodes[i as usize] = node;
                i
            }
            None => {
                assert!(self.nodes.len() < HEAD as usize, "sorted set too large");
                // A small set's arena grows by a quarter at a time instead of doubling, so it stays
                // close to its size (most sorted sets are small).
                let len = self.nodes.len();
                if len == self.nodes.capacity() && len < COMPACT_MAX_ENTRIES {
                    self.nodes.reserve_exact((len / 4).max(1));
                }
                self.nodes.push(node);
                (self.nodes.len() - 1) as u32
            }
        }
    }

    /// Releases a node's slot, returning its member.
    fn release(&mut self, x: u32) -> Bytes {
        let n = &mut self.nodes[x as usize];
        n.upper = Box::default();
        self.free.push(x);
        std::mem::take(&mut n.member)
    }

    /// The predecessors of (score, member) at every level (`update` in Redis) and, if asked, their ranks.
    fn find_update(
        &self,
        score: f64,
        member: &[u8],
        mut ranks: Option<&mut [u32; MAX_LEVEL]>,
    ) -> [u32; MAX_LEVEL] {
        let mut update = [HEAD; MAX_LEVEL];
        let mut x = HEAD;
        let mut rank = 0u32;
        for i in (0..self.level).rev() {
            loop {
                let l = self.link(x, i);
                if l.next == NIL {
                    break;
                }
                let n = self.node(l.next);
                if key_cmp(n.score, &n.member, score, member) != Ordering::Less {
                    break;
                }
                rank += l.span;
                x = l.next;
            }
            update[i] = x;
            if let Some(r) = ranks.as_deref_mut() {
                r[i] = rank;
            }
        }
        update
    }

    /// Inserts (score, member), which must not be present.
    fn insert(&mut self, score: f64, member: Bytes) {
        let mut rank = [0u32; MAX_LEVEL];
        let mut update = self.find_update(score, &member, Some(&mut rank));
        let height = self.random_level();
        if height > self.level {
            if self.head.len() < height {
                self.head.resize(height, NO_LINK);
            }
            for i in self.level..height {
                rank[i] = 0;
                update[i] = HEAD;
                self.head[i].span = self.len as u32;
            }
            self.level = height;
        }
        let x = self.alloc(member, score, height);
        for i in 0..height {
            let u = self.link(update[i], i);
            let steps = rank[0] - rank[i];
            *self.link_mut(x, i) = Link { next: u.next, span: u.span - steps };
            *self.link_mut(update[i], i) = Link { next: x, span: steps + 1 };
        }
        for (i, &u) in update.iter().enumerate().take(self.level).skip(height) {
            self.link_mut(u, i).span += 1;
        }
        let prev = if update[0] == HEAD { NIL } else { update[0] };
        self.nodes[x as usize].prev = prev;
        let next = self.nodes[x as usize].level0.next;
        if next == NIL {
            self.tail = x;
        } else {
            self.nodes[next as usize].prev = x;
        }
        self.len += 1;
    }

    /// Unlinks `x` given its predecessors (Redis's `zslDeleteNode`); the slot is not released.
    fn unlink(&mut self, x: u32, update: &[u32; MAX_LEVEL]) {
        for (i, &u) in update.iter().enumerate().take(self.level) {
            let ul = self.link(u, i);
            if ul.next == x {
                let xl = self.link(x, i);
                *self.link_mut(u, i) = Link { next: xl.next, span: ul.span + xl.span - 1 };
            } else {
                self.link_mut(u, i).span -= 1;
            }
        }
        let (prev, next) = (self.node(x).prev, self.node(x).level0.next);
        if next == NIL {
            self.tail = prev;
        } else {
            self.nodes[next as usize].prev = prev;
        }
        while self.level > 1 && self.head[self.level - 1].next == NIL {
            self.level -= 1;
        }
        self.len -= 1;
    }

    /// Removes (score, member) if present, returning its member.
    fn remove(&mut self, score: f64, member: &[u8]) -> Option<Bytes> {
        let update = self.find_update(score, member, None);
        let x = self.link(update[0], 0).next;
        if x == NIL {
            return None;
        }
        let n = self.node(x);
        if n.score != score || n.member != member {
            return None;
        }
        self.unlink(x, &update);
        Some(self.release(x))
    }

    /// Moves `member` from `old` to `new` score (Redis's `zslUpdateScore`): in place when the order does not
    /// change, otherwise unlinked and inserted again (keeping the member's bytes).
    fn update_score(&mut self, old: f64, member: &[u8], new: f64) {
        let update = self.find_update(old, member, None);
        let x = self.link(update[0], 0).next;
        debug_assert!(x != NIL && self.node(x).member == member);
        let n = self.node(x);
        let prev_ok = n.prev == NIL || {
            let p = self.node(n.prev);
            key_cmp(p.score, &p.member, new, member) == Ordering::Less
        };
        let next_ok = n.level0.next == NIL || {
            let q = self.node(n.level0.next);
            key_cmp(new, member, q.score, &q.member) == Ordering::Less
        };
        if prev_ok && next_ok {
            self.nodes[x as usize].score = new;
            return;
        }
        self.unlink(x, &update);
        let m = self.release(x);
        self.insert(new, m);
    }

    /// 1-based rank of (score, member), 0 if absent (Redis's `zslGetRank`).
    fn rank(&self, score: f64, member: &[u8]) -> usize {
        let mut x = HEAD;
        let mut rank = 0usize;
        for i in (0..self.level).rev() {
            loop {
                let l = self.link(x, i);
                if l.next == NIL {
                    break;
                }
                let n = self.node(l.next);
                if key_cmp(n.score, &n.member, score, member) == Ordering::Greater {
                    break;
                }
                rank += l.span as usize;
                x = l.next;
            }
            if x != HEAD && self.node(x).member == member {
                return rank;
            }
        }
        0
    }

    /// The node at 1-based `rank`, or `NIL`.
    fn by_rank(&self, rank: usize) -> u32 {
        if rank == 0 || rank > self.len {
            return NIL;
        }
        let mut x = HEAD;
        let mut traversed = 0usize;
        for i in (0..self.level).rev() {
            loop {
                let l = self.link(x, i);
                if l.next == NIL || traversed + l.span as usize > rank {
                    break;
                }
                traversed += l.span as usize;
                x = l.next;
            }
            if traversed == rank {
                return x;
            }
        }
        NIL
    }

    fn score_in_range(&self, r: &ScoreRange) -> bool {
        !r.is_empty()
            && self.tail != NIL
            && r.gte_min(self.node(self.tail).score)
            && r.lte_max(self.node(self.first()).score)
    }

    /// The first node inside `r`, or `NIL`.
    fn first_in_score_range(&self, r: &ScoreRange) -> u32 {
        if !self.score_in_range(r) {
            return NIL;
        }
        let mut x = HEAD;
        for i in (0..self.level).rev() {
            loop {
                let n = self.link(x, i).next;
                if n == NIL || r.gte_min(self.node(n).score) {
                    break;
                }
                x = n;
            }
        }
        let x = self.link(x, 0).next;
        if x == NIL || !r.lte_max(self.node(x).score) { NIL } else { x }
    }

    /// The last node inside `r`, or `NIL`.
    fn last_in_score_range(&self, r: &ScoreRange) -> u32 {
        if !self.score_in_range(r) {
            return NIL;
        }
        let mut x = HEAD;
        for i in (0..self.level).rev() {
            loop {
                let n = self.link(x, i).next;
                if n == NIL || !r.lte_max(self.node(n).score) {
                    break;
                }
                x = n;
            }
        }
        if x == HEAD || !r.gte_min(self.node(x).score) { NIL } else { x }
    }

    fn lex_in_range(&self, r: &LexRange) -> bool {
        !r.is_empty()
            && self.tail != NIL
            && r.gte_min(&self.node(self.tail).member)
            && r.lte_max(&self.node(self.first()).member)
    }

    /// The first node inside `r`, or `NIL`.
    fn first_in_lex_range(&self, r: &LexRange) -> u32 {
        if !self.lex_in_range(r) {
            return NIL;
        }
        let mut x = HEAD;
        for i in (0..self.level).rev() {
            loop {
                let n = self.link(x, i).next;
                if n == NIL || r.gte_min(&self.node(n).member) {
                    break;
                }
                x = n;
            }
        }
        let x = self.link(x, 0).next;
        if x == NIL || !r.lte_max(&self.node(x).member) { NIL } else { x }
    }

    /// The last node inside `r`, or `NIL`.
    fn last_in_lex_range(&self, r: &LexRange) -> u32 {
        if !self.lex_in_range(r) {
            return NIL;
        }
        let mut x = HEAD;
        for i in (0..self.level).rev() {
            loop {
                let n = self.link(x, i).next;
                if n == NIL || !r.lte_max(&self.node(n).member) {
                    break;
                }
                x = n;
            }
        }
        if x == HEAD || !r.gte_min(&self.node(x).member) { NIL } else { x }
    }

    /// Predecessors of the first node for which `before` is false (the nodes are walked in order, so
    /// `before` must hold for a prefix of them).
    fn update_until(&self, before: impl Fn(&Node) -> bool) -> [u32; MAX_LEVEL] {
        let mut update = [HEAD; MAX_LEVEL];
        let mut x = HEAD;
        for i in (0..self.level).rev() {
            loop {
                let n = self.link(x, i).next;
                if n == NIL || !before(self.node(n)) {
                    break;
                }
                x = n;
            }
            update[i] = x;
        }
        update
    }

    /// Deletes nodes from the one after `update[0]` while `keep_going` holds and at most `limit` of them,
    /// calling `removed` with each member (Redis's `zslDeleteRangeBy*`: O(log n) found `update`, then O(1)
    /// per deletion).
    fn delete_run(
        &mut self,
        update: &[u32; MAX_LEVEL],
        limit: usize,
        keep_going: impl Fn(&Node) -> bool,
        mut removed: impl FnMut(Bytes),
    ) -> usize {
        let mut n = 0;
        let mut x = self.link(update[0], 0).next;
        while x != NIL && n < limit && keep_going(self.node(x)) {
            let next = self.next(x);
            self.unlink(x, update);
            removed(self.release(x));
            n += 1;
            x = next;
        }
        n
    }

    /// Renumbers the arena in order when more than half of it is free slots.
    fn maybe_compact(&mut self) {
        if self.len == 0 {
            *self = SkipList { rng: self.rng, ..SkipList::default() };
            return;
        }
        if self.nodes.len() < 64 || self.free.len() * 2 <= self.nodes.len() {
            return;
        }
        let mut remap = vec![NIL; self.nodes.len()];
        let mut order = Vec::with_capacity(self.len);
        let mut x = self.first();
        while x != NIL {
            remap[x as usize] = order.len() as u32;
            order.push(x);
            x = self.next(x);
        }
        let tr = |i: u32| if i == NIL { NIL } else { remap[i as usize] };
        let mut old = std::mem::take(&mut self.nodes);
        let mut nodes = Vec::with_capacity(self.len);
        for &i in &order {
            let mut n = std::mem::replace(
                &mut old[i as usize],
                Node {
                    member: Bytes::new(),
                    score: 0.0,
                    prev: NIL,
                    level0: NO_LINK,
                    upper: Box::default(),
                },
            );
            n.prev = tr(n.prev);
            n.level0.next = tr(n.level0.next);
            for l in n.upper.iter_mut() {
                l.next = tr(l.next);
            }
            nodes.push(n);
        }
        for l in self.head.iter_mut() {
            l.next = tr(l.next);
        }
        self.tail = tr(self.tail);
        self.nodes = nodes;
        self.free = Vec::new();
    }
}

/// A sorted set: members ordered by score, with rank queries.
#[derive(Debug, Clone)]
pub struct ZSet {
    dict: Dict<Bytes, f64>,
    list: SkipList,
    /// Whether Redis would hold this set as a listpack (see the module docs).
    compact: bool,
}

impl Default for ZSet {
    fn default() -> Self {
        ZSet { dict: Dict::new(), list: SkipList::default(), compact: true }
    }
}

/// Iterates members and scores in order (or reverse order) from a position.
#[derive(Debug, Clone)]
pub struct Iter<'a> {
    list: &'a SkipList,
    cur: u32,
    rev: bool,
}

impl<'a> Iterator for Iter<'a> {
    type Item = (&'a Bytes, f64);

    fn next(&mut self) -> Option<Self::Item> {
        if self.cur == NIL {
            return None;
        }
        let n = self.list.node(self.cur);
        self.cur = if self.rev { n.prev } else { n.level0.next };
        Some((&n.member, n.score))
    }
}

impl ZSet {
    /// The most members a compact set holds (Redis's `zset-max-listpack-entries` default).
    pub const COMPACT_MAX_ENTRIES: usize = COMPACT_MAX_ENTRIES;

    /// An empty set that starts in the compact form or not (`ZRANGESTORE` of more than 128 members starts
    /// as a skiplist in Redis).
    pub fn with_compact(compact: bool) -> ZSet {
        ZSet { compact, ..ZSet::default() }
    }

    /// A set of `dict`'s members and scores (none NaN), not compact (see [`ZSet::compact_if_small`]).
    pub fn from_dict(dict: Dict<Bytes, f64>) -> ZSet {
        let mut list = SkipList::default();
        for (m, &s) in dict.iter() {
            debug_assert!(!s.is_nan());
            list.insert(s, m.clone());
        }
        ZSet { dict, list, compact: false }
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        self.list.len
    }

    /// Whether it has no elements.
    pub fn is_empty(&self) -> bool {
        self.list.len == 0
    }

    /// Whether Redis would hold this set as a listpack.
    pub fn is_compact(&self) -> bool {
        self.compact
    }

    /// The score of `member`.
    pub fn score(&self, member: &[u8]) -> Option<f64> {
        self.dict.get(member).copied()
    }

    /// Adds `member`, which must not be present, with `score` (not NaN). A compact set becomes a skiplist
    /// first if this member makes it too big; a compact set stores `-0` as `0`, like a listpack.
    pub fn insert(&mut self, member: Bytes, score: f64) {
        debug_assert!(!score.is_nan());
        if self.compact
            && (self.len() + 1 > COMPACT_MAX_ENTRIES || member.len() > COMPACT_MAX_VALUE)
        {
            self.compact = false;
        }
        let score = self.stored(score);
        self.dict.insert(member.clone(), score);
        self.list.insert(score, member);
    }

    /// Changes the score of `member`, which must be present.
    pub fn set_score(&mut self, member: &[u8], score: f64) {
        debug_assert!(!score.is_nan());
        let score = self.stored(score);
        let Some(cur) = self.dict.get_mut(member) else { return };
        let old = std::mem::replace(cur, score);
        self.list.update_score(old, member, score);
    }

    /// Removes `member`, returning its score.
    pub fn remove(&mut self, member: &[u8]) -> Option<f64> {
        let score = self.dict.remove(member)?;
        self.list.remove(score, member);
        self.list.maybe_compact();
        Some(score)
    }

    /// The 0-based rank of `member` (from the highest score when `rev`) and its score.
    pub fn rank(&self, member: &[u8], rev: bool) -> Option<(usize, f64)> {
        let score = self.score(member)?;
        let r = self.list.rank(score, member);
        debug_assert!(r > 0);
        Some((if rev { self.len() - r } else { r - 1 }, score))
    }

    /// The element at 0-based `rank` in ascending order.
    pub fn get_by_rank(&self, rank: usize) -> Option<(&Bytes, f64)> {
        let x = self.list.by_rank(rank + 1);
        (x != NIL).then(|| {
            let n = self.list.node(x);
            (&n.member, n.score)
        })
    }

    /// All elements in ascending order.
    pub fn iter(&self) -> Iter<'_> {
        Iter { list: &self.list, cur: self.list.first(), rev: false }
    }

    /// Elements from 0-based `rank` counted in the walking direction: ascending from the lowest, or
    /// descending from the highest when `rev`.
    pub fn iter_from_rank(&self, rank: usize, rev: bool) -> Iter<'_> {
        let cur = match (rank, rev) {
            (0, false) => self.list.first(),
            (0, true) => self.list.tail,
            (r, false) => self.list.by_rank(r + 1),
            (r, true) => self.list.by_rank(self.len().saturating_sub(r)),
        };
        Iter { list: &self.list, cur, rev }
    }

    /// Elements inside `r`, ascending (from its lowest) or descending (from its highest).
    pub fn range_by_score<'a>(
        &'a self,
        r: &ScoreRange,
        rev: bool,
    ) -> impl Iterator<Item = (&'a Bytes, f64)> {
        let cur =
            if rev { self.list.last_in_score_range(r) } else { self.list.first_in_score_range(r) };
        let r = *r;
        Iter { list: &self.list, cur, rev }
            .take_while(move |(_, s)| if rev { r.gte_min(*s) } else { r.lte_max(*s) })
    }

    /// Elements inside `r`, ascending or descending.
    pub fn range_by_lex<'a>(
        &'a self,
        r: &LexRange,
        rev: bool,
    ) -> impl Iterator<Item = (&'a Bytes, f64)> {
        let cur =
            if rev { self.list.last_in_lex_range(r) } else { self.list.first_in_lex_range(r) };
        Iter { list: &self.list, cur, rev }
            .take_while(move |(m, _)| if rev { r.gte_min(m) } else { r.lte_max(m) })
    }

    /// Number of elements inside `r`, in O(log n).
    pub fn count_by_score(&self, r: &ScoreRange) -> usize {
        let first = self.list.first_in_score_range(r);
        if first == NIL {
            return 0;
        }
        let last = self.list.last_in_score_range(r);
        self.rank_of(last) - self.rank_of(first) + 1
    }

    /// Number of elements inside `r`, in O(log n).
    pub fn count_by_lex(&self, r: &LexRange) -> usize {
        let first = self.list.first_in_lex_range(r);
        if first == NIL {
            return 0;
        }
        let last = self.list.last_in_lex_range(r);
        self.rank_of(last) - self.rank_of(first) + 1
    }

    fn rank_of(&self, x: u32) -> usize {
        let n = self.list.node(x);
        self.list.rank(n.score, &n.member)
    }

    /// Removes the elements of 0-based ranks `start..=end` (both valid, `start <= end`). Returns how many.
    pub fn remove_range_by_rank(&mut self, start: usize, end: usize) -> usize {
        let mut traversed = 0usize;
        let update = {
            let list = &self.list;
            let mut update = [HEAD; MAX_LEVEL];
            let mut x = HEAD;
            for i in (0..list.level).rev() {
                loop {
                    let l = list.link(x, i);
                    if l.next == NIL || traversed + l.span as usize > start {
                        break;
                    }
                    traversed += l.span as usize;
                    x = l.next;
                }
                update[i] = x;
            }
            update
        };
        let dict = &mut self.dict;
        let n = self.list.delete_run(
            &update,
            end + 1 - start,
            |_| true,
            |m| {
                dict.remove(&m);
            },
        );
        self.list.maybe_compact();
        n
    }

    /// Removes the elements inside `r`. Returns how many.
    pub fn remove_range_by_score(&mut self, r: &ScoreRange) -> usize {
        let update = self.list.update_until(|n| !r.gte_min(n.score));
        let dict = &mut self.dict;
        let n = self.list.delete_run(
            &update,
            usize::MAX,
            |n| r.lte_max(n.score),
            |m| {
                dict.remove(&m);
            },
        );
        self.list.maybe_compact();
        n
    }

    /// Removes the elements inside `r`. Returns how many.
    pub fn remove_range_by_lex(&mut self, r: &LexRange) -> usize {
        if r.is_empty() {
            return 0;
        }
        let update = self.list.update_until(|n| !r.gte_min(&n.member));
        let dict = &mut self.dict;
        let n = self.list.delete_run(
            &update,
            usize::MAX,
            |n| r.lte_max(&n.member),
            |m| {
                dict.remove(&m);
            },
        );
        self.list.maybe_compact();
        n
    }

    /// Removes and returns the element with the lowest (or, with `max`, highest) score.
    pub fn pop(&mut self, max: bool) -> Option<(Bytes, f64)> {
        let x = if max { self.list.tail } else { self.list.first() };
        if x == NIL {
            return None;
        }
        let n = self.list.node(x);
        let (member, score) = (n.member.clone(), n.score);
        self.dict.remove(&member[..]);
        self.list.remove(score, &member);
        self.list.maybe_compact();
        Some((member, score))
    }

    /// One step of a scan of the members (see [`Dict::scan`]): calls `f` with members and scores.
    pub fn scan(&self, cursor: u64, f: impl FnMut(&Bytes, &f64)) -> u64 {
        self.dict.scan(cursor, f)
    }

    /// Converts to the compact form if the set is small enough (a store command's destination, Redis's
    /// `zsetConvertToListpackIfNeeded`).
    pub fn compact_if_small(&mut self) {
        if self.compact
            || self.len() > COMPACT_MAX_ENTRIES
            || self.iter().any(|(m, _)| m.len() > COMPACT_MAX_VALUE)
        {
            return;
        }
        self.compact = true;
        // A listpack stores zero as "0": `-0` loses its sign. Equal keys, so the order is unchanged.
        for v in self.dict.values_mut() {
            if *v == 0.0 {
                *v = 0.0;
            }
        }
        for n in self.list.nodes.iter_mut() {
            if n.score == 0.0 {
                n.score = 0.0;
            }
        }
    }

    /// The score as stored: a compact set turns `-0` into `0`.
    fn stored(&self, score: f64) -> f64 {
        if self.compact && score == 0.0 { 0.0 } else { score }
    }

    /// Checks the skiplist's links, spans and back links and the dict against each other (tests).
    #[cfg(test)]
    fn check(&self) {
        let l = &self.list;
        let mut order = Vec::new();
        let mut x = l.first();
        let mut prev = NIL;
        while x != NIL {
            assert_eq!(l.prev(x), prev);
            order.push(x);
            prev = x;
            x = l.next(x);
        }
        assert_eq!(l.tail, prev);
        assert_eq!(order.len(), l.len);
        assert_eq!(self.dict.len(), l.len);
        assert_eq!(l.nodes.len() - l.free.len(), l.len);
        let mut pos = vec![usize::MAX; l.nodes.len()];
        for (i, &x) in order.iter().enumerate() {
            pos[x as usize] = i + 1;
            let n = l.node(x);
            assert_eq!(self.dict.get(&n.member[..]), Some(&n.score));
            assert!(n.height() <= l.level);
        }
        for w in order.windows(2) {
            let (a, b) = (l.node(w[0]), l.node(w[1]));
            assert_eq!(key_cmp(a.score, &a.member, b.score, &b.member), Ordering::Less);
        }
        for i in 0..l.level {
            let mut x = HEAD;
            let mut p = 0usize;
            loop {
                let link = l.link(x, i);
                if link.next == NIL {
                    break;
                }
                let q = pos[link.next as usize];
                assert_eq!(q - p, link.span as usize, "span at level {i}");
                p = q;
                x = link.next;
            }
        }
    }
}

/// Memory accounting (`MEMORY USAGE`).
impl ZSet {
    /// Heap bytes: the dict (buckets and one node per member), the skiplist (its header, node arena,
    /// free list and each node's upper levels) and the members' bytes, shared by both (`samples` nodes
    /// measured, the rest estimated from their average).
    pub(crate) fn heap_usage(&self, samples: usize) -> usize {
        use crate::memory::{bytes_heap, dict_heap, sampled, size_class};
        let heap = |bytes: usize| if bytes == 0 { 0 } else { size_class(bytes) };
        let list = &self.list;
        dict_heap(self.dict.len(), self.dict.bucket_count(), Dict::<Bytes, f64>::node_size())
            + size_class(std::mem::size_of::<SkipList>())
            + heap(list.nodes.capacity() * std::mem::size_of::<Node>())
            + heap(list.free.capacity() * std::mem::size_of::<u32>())
            + sampled(
                list.nodes.iter().map(|n| {
                    bytes_heap(n.member.len()) + heap(n.upper.len() * std::mem::size_of::<Link>())
                }),
                list.nodes.len(),
                samples,
            )
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[derive(Debug, Clone)]
    enum Op {
        Insert(u8, i8),
        Remove(u8),
        Update(u8, i8),
        Pop(bool),
        RemoveRank(u8, u8),
        RemoveScore(i8, i8, bool, bool),
        RemoveLex(u8, u8, bool, bool),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            6 => (any::<u8>(), -20i8..20).prop_map(|(m, s)| Op::Insert(m, s)),
            3 => any::<u8>().prop_map(Op::Remove),
            3 => (any::<u8>(), -20i8..20).prop_map(|(m, s)| Op::Update(m, s)),
            1 => any::<bool>().prop_map(Op::Pop),
            1 => (any::<u8>(), any::<u8>()).prop_map(|(a, b)| Op::RemoveRank(a, b)),
            1 => (-20i8..20, -20i8..20, any::<bool>(), any::<bool>())
                .prop_map(|(a, b, x, y)| Op::RemoveScore(a, b, x, y)),
            1 => (any::<u8>(), any::<u8>(), any::<bool>(), any::<bool>())
                .prop_map(|(a, b, x, y)| Op::RemoveLex(a, b, x, y)),
        ]
    }

    fn member(m: u8) -> Bytes {
        Bytes::from(format!("m{:03}", m))
    }

    /// The model: (score, member) sorted.
    fn sort(v: &mut [(f64, Bytes)]) {
        v.sort_by(|a, b| key_cmp(a.0, &a.1, b.0, &b.1));
    }

    fn lex(a: u8, b: u8, minex: bool, maxex: bool) -> LexRange {
        let bound = |x: u8| match x {
            0 => LexBound::Min,
            255 => LexBound::Max,
            x => LexBound::Value(member(x)),
        };
        LexRange { min: bound(a), max: bound(b), minex, maxex }
    }

    fn check_queries(z: &ZSet, model: &[(f64, Bytes)]) {
        z.check();
        let all: Vec<(f64, Bytes)> = z.iter().map(|(m, s)| (s, m.clone())).collect();
        assert_eq!(all, model);
        let rev: Vec<(f64, Bytes)> =
            z.iter_from_rank(0, true).map(|(m, s)| (s, m.clone())).collect();
        assert_eq!(rev, model.iter().rev().cloned().collect::<Vec<_>>());
        for (i, (s, m)) in model.iter().enumerate() {
            assert_eq!(z.rank(m, false), Some((i, *s)));
            assert_eq!(z.rank(m, true), Some((model.len() - 1 - i, *s)));
            assert_eq!(z.get_by_rank(i).map(|(m, s)| (s, m.clone())), Some((*s, m.clone())));
            let from: Vec<_> = z.iter_from_rank(i, false).map(|(m, _)| m.clone()).collect();
            assert_eq!(from, model[i..].iter().map(|x| x.1.clone()).collect::<Vec<_>>());
            let from: Vec<_> = z.iter_from_rank(i, true).map(|(m, _)| m.clone()).collect();
            let want: Vec<_> = model[..model.len() - i].iter().rev().map(|x| x.1.clone()).collect();
            assert_eq!(from, want);
        }
        assert!(z.get_by_rank(model.len()).is_none());
        for a in [-21i8, -5, 0, 3, 21] {
            for b in [-21i8, -5, 0, 3, 21] {
                for (minex, maxex) in [(false, false), (true, false), (false, true), (true, true)] {
                    let r = ScoreRange { min: a as f64, max: b as f64, minex, maxex };
                    let want: Vec<_> =
                        model.iter().filter(|(s, _)| r.contains(*s)).map(|x| x.1.clone()).collect();
                    let got: Vec<_> = z.range_by_score(&r, false).map(|(m, _)| m.clone()).collect();
                    assert_eq!(got, want);
                    let got: Vec<_> = z.range_by_score(&r, true).map(|(m, _)| m.clone()).collect();
                    assert_eq!(got, want.iter().rev().cloned().collect::<Vec<_>>());
                    assert_eq!(z.count_by_score(&r), want.len());
                }
            }
        }
    }

    fn check_lex(z: &ZSet, model: &[(f64, Bytes)]) {
        for a in [0u8, 10, 100, 200, 255] {
            for b in [0u8, 10, 100, 200, 255] {
                for (minex, maxex) in [(false, false), (true, true)] {
                    let r = lex(a, b, minex, maxex);
                    let want: Vec<_> =
                        model.iter().filter(|(_, m)| r.contains(m)).map(|x| x.1.clone()).collect();
                    let got: Vec<_> = z.range_by_lex(&r, false).map(|(m, _)| m.clone()).collect();
                    assert_eq!(got, want);
                    let got: Vec<_> = z.range_by_lex(&r, true).map(|(m, _)| m.clone()).collect();
                    assert_eq!(got, want.iter().rev().cloned().collect::<Vec<_>>());
                    assert_eq!(z.count_by_lex(&r), want.len());
                }
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]

        #[test]
        fn skiplist_matches_sorted_vec(ops in proptest::collection::vec(op(), 1..400)) {
            let mut z = ZSet::default();
            let mut model: Vec<(f64, Bytes)> = Vec::new();
            for op in ops {
                match op {
                    Op::Insert(m, s) => {
                        let m = member(m);
                        if z.score(&m).is_none() {
                            z.insert(m.clone(), s as f64);
                            model.push((s as f64, m));
                        }
                    }
                    Op::Remove(m) => {
                        let m = member(m);
                        let want = model.iter().position(|x| x.1 == m).map(|i| model.remove(i).0);
                        prop_assert_eq!(z.remove(&m), want);
                    }
                    Op::Update(m, s) => {
                        let m = member(m);
                        if let Some(i) = model.iter().position(|x| x.1 == m) {
                            z.set_score(&m, s as f64);
                            model[i].0 = s as f64;
                        }
                    }
                    Op::Pop(max) => {
                        sort(&mut model);
                        let want = if max { model.pop() } else if model.is_empty() { None } else { Some(model.remove(0)) };
                        prop_assert_eq!(z.pop(max).map(|(m, s)| (s, m)), want);
                    }
                    Op::RemoveRank(a, b) => {
                        sort(&mut model);
                        let (a, b) = (a as usize, b as usize);
                        if a <= b && b < model.len() {
                            prop_assert_eq!(z.remove_range_by_rank(a, b), b - a + 1);
                            model.drain(a..=b);
                        }
                    }
                    Op::RemoveScore(a, b, minex, maxex) => {
                        let r = ScoreRange { min: a as f64, max: b as f64, minex, maxex };
                        let before = model.len();
                        model.retain(|(s, _)| !r.contains(*s));
                        prop_assert_eq!(z.remove_range_by_score(&r), before - model.len());
                    }
                    Op::RemoveLex(a, b, minex, maxex) => {
                        // Lex ranges need equal scores: test on a copy where every score is 0.
                        let mut flat = ZSet::default();
                        let mut fm: Vec<(f64, Bytes)> = model.iter().map(|(_, m)| (0.0, m.clone())).collect();
                        for (_, m) in &fm {
                            flat.insert(m.clone(), 0.0);
                        }
                        sort(&mut fm);
                        check_lex(&flat, &fm);
                        let r = lex(a, b, minex, maxex);
                        let before = fm.len();
                        fm.retain(|(_, m)| !r.contains(m));
                        prop_assert_eq!(flat.remove_range_by_lex(&r), before - fm.len());
                        flat.check();
                        let rest: Vec<_> = flat.iter().map(|(m, s)| (s, m.clone())).collect();
                        prop_assert_eq!(rest, fm);
                    }
                }
                sort(&mut model);
                z.check();
            }
            check_queries(&z, &model);
        }
    }

    #[test]
    fn arena_is_compacted_and_reused() {
        let mut z = ZSet::default();
        for i in 0..1000 {
            z.insert(Bytes::from(i.to_string()), i as f64);
        }
        z.check();
        assert_eq!(z.remove_range_by_rank(0, 899), 900);
        z.check();
        assert!(z.list.nodes.len() <= 200, "{}", z.list.nodes.len());
        assert_eq!(z.get_by_rank(0).map(|(m, _)| m.clone()), Some(Bytes::from("900")));
        while z.pop(false).is_some() {}
        assert!(z.list.nodes.is_empty() && z.dict.is_empty());
    }

    #[test]
    fn a_small_set_has_a_small_header() {
        // Boxed inside a `Value`, with the skiplist inline: one allocation of this size per sorted set,
        // whose header links grow with the levels reached instead of taking `MAX_LEVEL` up front.
        assert!(std::mem::size_of::<ZSet>() <= 192, "{}", std::mem::size_of::<ZSet>());
        let mut z = ZSet::default();
        for i in 0..10 {
            z.insert(Bytes::from(format!("m{i}")), f64::from(i));
        }
        assert_eq!(z.list.head.len(), z.list.level);
        assert!(z.list.nodes.capacity() <= 12, "{}", z.list.nodes.capacity());
    }

    #[test]
    fn compact_form_follows_redis_listpack_rules() {
        let mut z = ZSet::default();
        z.insert(Bytes::from("a"), -0.0);
        assert!(z.is_compact());
        assert!(z.score(b"a").unwrap().is_sign_positive());
        z.insert(Bytes::from(vec![b'x'; 65]), 1.0);
        assert!(!z.is_compact());
        z.insert(Bytes::from("b"), -0.0);
        assert!(z.score(b"b").unwrap().is_sign_negative());
        z.remove(&[b'x'; 65]);
        assert!(!z.is_compact());
        z.compact_if_small();
        assert!(z.is_compact());
        assert!(z.score(b"b").unwrap().is_sign_positive());
        let mut big = ZSet::default();
        for i in 0..=COMPACT_MAX_ENTRIES {
            big.insert(Bytes::from(i.to_string()), i as f64);
        }
        assert!(!big.is_compact());
    }
}
