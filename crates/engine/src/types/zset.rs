//! `ZSet`, a sorted set: members ordered by score, with rank queries. Placeholder until its family lands.

/// a sorted set: members ordered by score, with rank queries
#[derive(Debug, Clone, Default)]
pub struct ZSet {
    len: usize,
}

impl ZSet {
    /// Number of elements.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether it has no elements.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}
