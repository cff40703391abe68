//! `Set`, a set of unique members, with Redis's two representations: a small sorted array of integers
//! (Redis's intset) while every member is the canonical text of a 64-bit integer and there are at most
//! [`MAX_INTSET_ENTRIES`] of them, and a [`Dict`] otherwise (never converted back). Like Redis, the
//! integer form answers SMEMBERS and friends in ascending order and SSCAN in one page.

use std::cmp::Ordering;

use bytes::Bytes;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

use crate::command::args::parse_i64;
use crate::dict::Dict;

/// Redis's `set-max-intset-entries`: the integer form converts to a table beyond this many members.
pub const MAX_INTSET_ENTRIES: usize = 512;

/// How many members a fair random pick samples (Redis's `GETFAIR_NUM_ENTRIES`).
const FAIR_SAMPLE: usize = 20;

/// A member as stored: an integer of the integer form, or the bytes of a table member.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Member<'a> {
    Int(i64),
    Bytes(&'a Bytes),
}

impl Member<'_> {
    /// The member's bytes (the decimal text of an integer; a shared handle for table members).
    pub fn to_bytes(self) -> Bytes {
        match self {
            Member::Int(n) => Bytes::from(n.to_string()),
            Member::Bytes(b) => b.clone(),
        }
    }
}

#[derive(Debug, Clone)]
enum Repr {
    /// Sorted, distinct.
    Ints(Vec<i64>),
    Table(Dict<Bytes, ()>),
}

/// A set of unique members.
#[derive(Debug, Clone)]
pub struct Set {
    repr: Repr,
}

impl Default for Set {
    fn default() -> Set {
        Set { repr: Repr::Ints(Vec::new()) }
    }
}

impl Set {
    /// Number of elements.
    pub fn len(&self) -> usize {
        match &self.repr {
            Repr::Ints(v) => v.len(),
            Repr::Table(d) => d.len(),
        }
    }

    /// Whether it has no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether it uses the compact integer form.
    pub fn is_intset(&self) -> bool {
        matches!(self.repr, Repr::Ints(_))
    }

    /// Whether `m` is a member.
    pub fn contains(&self, m: &[u8]) -> bool {
        match &self.repr {
            Repr::Ints(v) => parse_i64(m).is_some_and(|n| v.binary_search(&n).is_ok()),
            Repr::Table(d) => d.contains_key(m),
        }
    }

    /// Whether `m` (a member of another set) is a member, without formatting integers on the heap.
    pub fn contains_member(&self, m: Member<'_>) -> bool {
        match (m, &self.repr) {
            (Member::Int(n), Repr::Ints(v)) => v.binary_search(&n).is_ok(),
            (Member::Int(n), Repr::Table(d)) => d.contains_key(IntText::new(n).as_bytes()),
            (Member::Bytes(b), _) => self.contains(b),
        }
    }

    /// Adds `m`, copying its bytes only when it is new. Returns whether it was new.
    pub fn insert(&mut self, m: &[u8]) -> bool {
        if self.is_intset()
            && let Some(n) = parse_i64(m)
        {
            return self.insert_int(n);
        }
        let d = self.table();
        if d.contains_key(m) {
            return false;
        }
        d.insert(Bytes::copy_from_slice(m), ());
        true
    }

    /// Adds an owned member (taken from another set: its bytes are shared, not copied).
    pub fn insert_owned(&mut self, m: Bytes) -> bool {
        if self.is_intset()
            && let Some(n) = parse_i64(&m)
        {
            return self.insert_int(n);
        }
        self.table().insert(m, ()).is_none()
    }

    /// Adds a member of another set (shared bytes, no reparsing between integer forms).
    pub fn insert_member(&mut self, m: Member<'_>) -> bool {
        match m {
            Member::Int(n) if self.is_intset() => self.insert_int(n),
            Member::Int(n) => self.table().insert(Bytes::from(n.to_string()), ()).is_none(),
            Member::Bytes(b) => self.insert_owned(b.clone()),
        }
    }

    /// Removes `m`. Returns whether it was a member.
    pub fn remove(&mut self, m: &[u8]) -> bool {
        match &mut self.repr {
            Repr::Ints(v) => match parse_i64(m).map(|n| v.binary_search(&n)) {
                Some(Ok(i)) => {
                    v.remove(i);
                    true
                }
                _ => false,
            },
            Repr::Table(d) => d.remove(m).is_some(),
        }
    }

    /// Removes a member of another set. Returns whether it was a member here.
    pub fn remove_member(&mut self, m: Member<'_>) -> bool {
        match (m, &mut self.repr) {
            (Member::Int(n), Repr::Ints(v)) => match v.binary_search(&n) {
                Ok(i) => {
                    v.remove(i);
                    true
                }
                Err(_) => false,
            },
            (Member::Int(n), Repr::Table(d)) => d.remove(IntText::new(n).as_bytes()).is_some(),
            (Member::Bytes(b), _) => self.remove(b),
        }
    }

    /// Iterates the members (ascending in the integer form).
    pub fn iter(&self) -> Iter<'_> {
        Iter(match &self.repr {
            Repr::Ints(v) => IterInner::Ints(v.iter()),
            Repr::Table(d) => IterInner::Table(d.keys()),
        })
    }

    /// Consumes the set, yielding owned members.
    pub fn into_members(self) -> impl Iterator<Item = Bytes> {
        let (ints, table) = match self.repr {
            Repr::Ints(v) => (Some(v), None),
            Repr::Table(d) => (None, Some(d)),
        };
        ints.into_iter()
            .flatten()
            .map(|n| Bytes::from(n.to_string()))
            .chain(table.into_iter().flat_map(|d| d.into_iter().map(|(k, ())| k)))
    }

    /// A random member, close to uniformly chosen (like Redis's `dictGetFairRandomKey`: a random pick
    /// among a sample of up to 20 members, so chain lengths bias it little). `None` when empty.
    pub fn random<R: Rng + ?Sized>(&self, rng: &mut R) -> Option<Bytes> {
        match &self.repr {
            Repr::Ints(v) if v.is_empty() => None,
            Repr::Ints(v) => Some(Bytes::from(v[rng.random_range(0..v.len())].to_string())),
            Repr::Table(d) => {
                // Reservoir of size one over the sample, with its own generator because `sample`
                // holds `rng`: each sampled member is equally likely, and only replacements clone.
                let mut local = SmallRng::seed_from_u64(rng.next_u64());
                let mut pick: Option<Bytes> = None;
                let mut seen = 0usize;
                d.sample(FAIR_SAMPLE, rng, |k, _| {
                    seen += 1;
                    if local.random_range(0..seen) == 0 {
                        pick = Some(k.clone());
                    }
                });
                pick.or_else(|| d.random(rng).map(|(k, _)| k.clone()))
            }
        }
    }

    /// Removes and returns a random member (as [`Set::random`] picks it).
    pub fn pop_random<R: Rng + ?Sized>(&mut self, rng: &mut R) -> Option<Bytes> {
        match &mut self.repr {
            Repr::Ints(v) if v.is_empty() => None,
            Repr::Ints(v) => {
                let n = v.remove(rng.random_range(0..v.len()));
                Some(Bytes::from(n.to_string()))
            }
            Repr::Table(_) => {
                let k = self.random(rng)?;
                let Repr::Table(d) = &mut self.repr else { unreachable!("matched above") };
                d.remove_entry(&k).map(|(k, ())| k)
            }
        }
    }

    /// One step of an `SSCAN`: calls `f` on the members of the buckets from `cursor` on until at least
    /// `count` members were visited (or `10 * count` buckets), and returns the next cursor, `0` when the
    /// scan is complete. A member present for the whole scan is returned at least once. The integer form
    /// is returned whole in one call, as Redis does.
    pub fn scan(&self, cursor: u64, count: usize, mut f: impl FnMut(Member<'_>)) -> u64 {
        match &self.repr {
            Repr::Ints(v) => {
                v.iter().for_each(|&n| f(Member::Int(n)));
                0
            }
            Repr::Table(d) => {
                let mut cursor = cursor;
                let mut visited = 0;
                let mut budget = count.saturating_mul(10);
                loop {
                    cursor = d.scan(cursor, |k, _| {
                        visited += 1;
                        f(Member::Bytes(k));
                    });
                    budget = budget.saturating_sub(1);
                    if cursor == 0 || visited >= count || budget == 0 {
                        return cursor;
                    }
                }
            }
        }
    }

    fn insert_int(&mut self, n: i64) -> bool {
        let Repr::Ints(v) = &mut self.repr else { unreachable!("integer form only") };
        // Members usually arrive in ascending order when a set is built from another one.
        let pos = match v.last().map(|last| n.cmp(last)) {
            None | Some(Ordering::Greater) => v.len(),
            Some(Ordering::Equal) => return false,
            Some(Ordering::Less) => match v.binary_search(&n) {
                Ok(_) => return false,
                Err(i) => i,
            },
        };
        v.insert(pos, n);
        if v.len() > MAX_INTSET_ENTRIES {
            self.table();
        }
        true
    }

    /// The table form, converting the integer form first if needed.
    fn table(&mut self) -> &mut Dict<Bytes, ()> {
        if let Repr::Ints(v) = &self.repr {
            let mut d = Dict::with_capacity(v.len() + 1);
            for n in v {
                d.insert(Bytes::from(n.to_string()), ());
            }
            self.repr = Repr::Table(d);
        }
        match &mut self.repr {
            Repr::Table(d) => d,
            Repr::Ints(_) => unreachable!("converted above"),
        }
    }
}

/// Iterator over a set's members; see [`Set::iter`].
pub struct Iter<'a>(IterInner<'a>);

enum IterInner<'a> {
    Ints(std::slice::Iter<'a, i64>),
    Table(crate::dict::Keys<'a, Bytes, ()>),
}

impl<'a> Iterator for Iter<'a> {
    type Item = Member<'a>;

    fn next(&mut self) -> Option<Member<'a>> {
        match &mut self.0 {
            IterInner::Ints(it) => it.next().map(|&n| Member::Int(n)),
            IterInner::Table(it) => it.next().map(Member::Bytes),
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        match &self.0 {
            IterInner::Ints(it) => it.size_hint(),
            IterInner::Table(it) => it.size_hint(),
        }
    }
}

impl ExactSizeIterator for Iter<'_> {}

/// The decimal text of an integer on the stack, for looking integers up in a table.
struct IntText {
    buf: [u8; 20],
    start: usize,
}

impl IntText {
    fn new(n: i64) -> IntText {
        let mut buf = [0u8; 20];
        let mut i = buf.len();
        let mut u = n.unsigned_abs();
        loop {
            i -= 1;
            buf[i] = b'0' + (u % 10) as u8;
            u /= 10;
            if u == 0 {
                break;
            }
        }
        if n < 0 {
            i -= 1;
            buf[i] = b'-';
        }
        IntText { buf, start: i }
    }

    fn as_bytes(&self) -> &[u8] {
        &self.buf[self.start..]
    }
}

/// Memory accounting (`MEMORY USAGE`).
impl Set {
    /// Heap bytes: the sorted integer array, or the dict (buckets and one node per member) and the
    /// members' bytes (`samples` members measured, the rest estimated from their average).
    pub(crate) fn heap_usage(&self, samples: usize) -> usize {
        use crate::memory::{bytes_heap, dict_heap, sampled, size_class};
        match &self.repr {
            Repr::Ints(v) if v.capacity() == 0 => 0,
            Repr::Ints(v) => size_class(v.capacity() * std::mem::size_of::<i64>()),
            Repr::Table(d) => {
                dict_heap(d.len(), d.bucket_count(), Dict::<Bytes, ()>::node_size())
                    + sampled(d.keys().map(|m| bytes_heap(m.len())), d.len(), samples)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn members(s: &Set) -> Vec<Bytes> {
        let mut v: Vec<Bytes> = s.iter().map(Member::to_bytes).collect();
        v.sort();
        v
    }

    #[test]
    fn int_text() {
        for n in [0, 1, -1, 42, -907, i64::MAX, i64::MIN] {
            assert_eq!(IntText::new(n).as_bytes(), n.to_string().as_bytes());
        }
    }

    #[test]
    fn integer_form_until_a_string_or_too_many() {
        let mut s = Set::default();
        assert!(s.insert(b"3"));
        assert!(s.insert(b"-1"));
        assert!(!s.insert(b"3"));
        assert!(s.is_intset());
        // Not canonical integers: stored as strings.
        assert!(s.insert(b"03"));
        assert!(!s.is_intset());
        assert!(s.contains(b"3") && s.contains(b"03") && s.contains(b"-1"));
        assert!(!s.contains(b"+3"));
        assert_eq!(s.len(), 3);

        let mut s = Set::default();
        for i in 0..MAX_INTSET_ENTRIES as i64 {
            assert!(s.insert(i.to_string().as_bytes()));
        }
        assert!(s.is_intset());
        assert!(s.insert(b"-5"));
        assert!(!s.is_intset());
        assert_eq!(s.len(), MAX_INTSET_ENTRIES + 1);
        assert!(s.contains_member(Member::Int(511)));
        assert!(s.remove_member(Member::Int(511)));
        assert!(!s.contains(b"511"));
    }

    #[test]
    fn ascending_integers() {
        let mut s = Set::default();
        for m in ["5", "-2", "9", "0", "5"] {
            s.insert(m.as_bytes());
        }
        let v: Vec<Bytes> = s.iter().map(Member::to_bytes).collect();
        assert_eq!(v, ["-2", "0", "5", "9"].map(|m| Bytes::from_static(m.as_bytes())));
        assert!(s.remove(b"0"));
        assert!(!s.remove(b"0"));
        assert!(!s.remove(b"x"));
        assert_eq!(s.len(), 3);
    }

    #[test]
    fn pop_and_random_cover_everything() {
        let mut rng = SmallRng::seed_from_u64(7);
        for n in [10usize, 1000] {
            let mut s = Set::default();
            for i in 0..n {
                s.insert(format!("m{i}").as_bytes());
            }
            s.insert(b"1");
            let all = members(&s);
            let mut popped = Vec::new();
            while let Some(m) = s.pop_random(&mut rng) {
                assert!(!s.contains(&m));
                popped.push(m);
            }
            popped.sort();
            assert_eq!(popped, all);
            assert!(s.random(&mut rng).is_none());
        }
    }

    #[test]
    fn scan_visits_every_member() {
        let mut s = Set::default();
        for i in 0..2000 {
            s.insert(format!("m{i}").as_bytes());
        }
        let mut seen = Vec::new();
        let mut cursor = 0;
        loop {
            cursor = s.scan(cursor, 10, |m| seen.push(m.to_bytes()));
            if cursor == 0 {
                break;
            }
        }
        seen.sort();
        seen.dedup();
        assert_eq!(seen, members(&s));
    }
}
