//! `Hash`, a hash: fields and values (with optional per-field expiry). Placeholder until its family lands.

/// a hash: fields and values (with optional per-field expiry)
#[derive(Debug, Clone, Default)]
pub struct Hash {
    len: usize,
}

impl Hash {
    /// Number of elements.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether it has no elements.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}
