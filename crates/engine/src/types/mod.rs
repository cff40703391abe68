//! The collection types, one file each, owned by their command families.

mod hash;
pub(crate) mod hll;
mod list;
mod set;
pub(crate) mod stream;
mod zset;

pub use hash::Hash;
pub use list::{End, List};
pub(crate) use set::Member;
pub use set::Set;
pub use stream::{Consumer, Group, Nack, Stream, StreamId, Trim};
pub use zset::{LexBound, LexRange, ScoreRange, ZSet};
