//! The collection types, one file each, owned by their command families.

mod hash;
mod list;
mod set;
mod zset;

pub use hash::Hash;
pub use list::{End, List};
pub(crate) use set::Member;
pub use set::Set;
pub use zset::{LexBound, LexRange, ScoreRange, ZSet};
