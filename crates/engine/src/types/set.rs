//! `Set`, a set of unique members. Placeholder until its family lands.

/// a set of unique members
#[derive(Debug, Clone, Default)]
pub struct Set {
    len: usize,
}

impl Set {
    /// Number of elements.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether it has no elements.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}
