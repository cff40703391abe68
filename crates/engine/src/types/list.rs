//! `List`, a list: a double-ended queue of elements. A ring buffer (`VecDeque`): O(1) at both ends and O(1)
//! by index (Redis's quicklist is O(n) by index), O(n) to insert or remove in the middle, like Redis.

use std::collections::VecDeque;

use bytes::Bytes;

/// Which end of a list (Redis's `LEFT`/`RIGHT`, `LIST_HEAD`/`LIST_TAIL`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    /// The head: index 0.
    Left,
    /// The tail: index -1.
    Right,
}

impl End {
    /// `LEFT` or `RIGHT`, as Redis spells them when it propagates `LMOVE`.
    pub fn name(self) -> &'static str {
        match self {
            End::Left => "LEFT",
            End::Right => "RIGHT",
        }
    }
}

/// a list: a double-ended queue of elements
#[derive(Debug, Clone, Default)]
pub struct List {
    items: VecDeque<Bytes>,
}

impl List {
    /// Number of elements.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether it has no elements.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Adds `v` at `end`.
    pub fn push(&mut self, end: End, v: Bytes) {
        match end {
            End::Left => self.items.push_front(v),
            End::Right => self.items.push_back(v),
        }
    }

    /// Removes the element at `end`.
    pub fn pop(&mut self, end: End) -> Option<Bytes> {
        match end {
            End::Left => self.items.pop_front(),
            End::Right => self.items.pop_back(),
        }
    }

    /// Removes up to `n` elements from `end`, in pop order.
    pub fn pop_many(&mut self, end: End, n: usize) -> Vec<Bytes> {
        let n = n.min(self.items.len());
        match end {
            End::Left => self.items.drain(..n).collect(),
            End::Right => {
                let at = self.items.len() - n;
                let mut v: Vec<Bytes> = self.items.drain(at..).collect();
                v.reverse();
                v
            }
        }
    }

    /// The position of Redis index `index` (negative counts from the tail), if in range.
    pub fn position(&self, index: i64) -> Option<usize> {
        let len = self.items.len() as i64;
        let i = if index < 0 { len.checked_add(index)? } else { index };
        (0..len).contains(&i).then_some(i as usize)
    }

    /// The element at position `i`.
    pub fn get(&self, i: usize) -> Option<&Bytes> {
        self.items.get(i)
    }

    /// The element at position `i`, mutably.
    pub fn get_mut(&mut self, i: usize) -> Option<&mut Bytes> {
        self.items.get_mut(i)
    }

    /// Inserts `v` at position `i` (0..=len), shifting the shorter side.
    pub fn insert(&mut self, i: usize, v: Bytes) {
        self.items.insert(i, v);
    }

    /// Elements from head to tail.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &Bytes> + ExactSizeIterator {
        self.items.iter()
    }

    /// Elements at positions `start..=end` (both in range, `start <= end`).
    pub fn range(
        &self,
        start: usize,
        end: usize,
    ) -> impl DoubleEndedIterator<Item = &Bytes> + ExactSizeIterator {
        self.items.range(start..=end)
    }

    /// Keeps only positions `start..=end`; `None` empties the list. Returns how many were removed.
    pub fn trim(&mut self, keep: Option<(usize, usize)>) -> usize {
        let len = self.items.len();
        match keep {
            None => {
                self.items.clear();
                len
            }
            Some((start, end)) => {
                self.items.truncate(end + 1);
                self.items.drain(..start);
                len - self.items.len()
            }
        }
    }

    /// Removes elements equal to `v`: the first `limit` from `from` (all of them when `limit` is 0), in
    /// one pass. Returns how many were removed.
    pub fn remove_matching(&mut self, v: &[u8], limit: usize, from: End) -> usize {
        let len = self.items.len();
        // The positions to remove are those of matches on the `from` side of `cut`.
        let cut = if limit == 0 {
            None
        } else {
            let is_match = |(_, e): &(usize, &Bytes)| e.as_ref() == v;
            let it = self.items.iter().enumerate();
            match from {
                End::Left => it.filter(is_match).nth(limit - 1),
                End::Right => it.rev().filter(is_match).nth(limit - 1),
            }
            .map(|(i, _)| i)
        };
        let mut i = 0;
        self.items.retain(|e| {
            let keep_side = match (cut, from) {
                (None, _) => false,
                (Some(c), End::Left) => i > c,
                (Some(c), End::Right) => i < c,
            };
            i += 1;
            keep_side || e.as_ref() != v
        });
        len - self.items.len()
    }
}

/// Memory accounting (`MEMORY USAGE`).
impl List {
    /// Heap bytes: the ring buffer of handles and the elements' bytes (`samples` elements measured,
    /// the rest estimated from their average).
    pub(crate) fn heap_usage(&self, samples: usize) -> usize {
        use crate::memory::{bytes_heap, sampled, size_class};
        let ring = self.items.capacity() * std::mem::size_of::<Bytes>();
        (if ring == 0 { 0 } else { size_class(ring) })
            + sampled(self.items.iter().map(|b| bytes_heap(b.len())), self.items.len(), samples)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(items: &[&str]) -> List {
        let mut l = List::default();
        for i in items {
            l.push(End::Right, Bytes::copy_from_slice(i.as_bytes()));
        }
        l
    }

    fn items(l: &List) -> Vec<&str> {
        l.iter().map(|b| std::str::from_utf8(b).unwrap()).collect()
    }

    #[test]
    fn remove_matching_counts_from_either_end() {
        let base = ["a", "b", "a", "c", "a", "a"];
        let mut l = list(&base);
        assert_eq!(l.remove_matching(b"a", 2, End::Left), 2);
        assert_eq!(items(&l), ["b", "c", "a", "a"]);
        let mut l = list(&base);
        assert_eq!(l.remove_matching(b"a", 3, End::Right), 3);
        assert_eq!(items(&l), ["a", "b", "c"]);
        let mut l = list(&base);
        assert_eq!(l.remove_matching(b"a", 0, End::Left), 4);
        assert_eq!(items(&l), ["b", "c"]);
        let mut l = list(&base);
        assert_eq!(l.remove_matching(b"a", 10, End::Right), 4);
        assert_eq!(l.remove_matching(b"zz", 1, End::Left), 0);
        assert_eq!(items(&l), ["b", "c"]);
    }

    #[test]
    fn pop_many_and_trim() {
        let mut l = list(&["a", "b", "c", "d"]);
        assert_eq!(l.pop_many(End::Right, 2), [Bytes::from("d"), Bytes::from("c")]);
        assert_eq!(l.pop_many(End::Left, 5), [Bytes::from("a"), Bytes::from("b")]);
        let mut l = list(&["a", "b", "c", "d", "e"]);
        assert_eq!(l.trim(Some((1, 2))), 3);
        assert_eq!(items(&l), ["b", "c"]);
        assert_eq!(l.trim(None), 2);
        assert!(l.is_empty());
    }

    #[test]
    fn positions() {
        let l = list(&["a", "b", "c"]);
        assert_eq!(l.position(0), Some(0));
        assert_eq!(l.position(-1), Some(2));
        assert_eq!(l.position(-3), Some(0));
        assert_eq!(l.position(-4), None);
        assert_eq!(l.position(3), None);
        assert_eq!(l.position(i64::MIN), None);
    }
}
