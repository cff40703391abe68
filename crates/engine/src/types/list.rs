//! `List`, a list: a double-ended queue of elements. Placeholder until its family lands.

/// a list: a double-ended queue of elements
#[derive(Debug, Clone, Default)]
pub struct List {
    len: usize,
}

impl List {
    /// Number of elements.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether it has no elements.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}
