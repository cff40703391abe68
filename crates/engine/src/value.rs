//! The values a key can hold, and `Kind`, the typed view the families use to reach their own type (a
//! value of another type is `WRONGTYPE`, like Redis's `checkType`).
//!
//! `Value` is 24 bytes, the size of its string variant (a [`CompactBytes`], short strings inline): every
//! key pays for the largest variant, so the collections that are bigger than a pointer are boxed, and a
//! hash is itself a 16-byte handle (see [`Hash`]).

pub use crate::compact::CompactBytes;
pub use crate::types::{Hash, List, Set, Stream, ZSet};

/// A key's value.
#[derive(Debug, Clone)]
pub enum Value {
    /// A string (also integers and floats, which Redis stores as strings).
    Str(CompactBytes),
    List(Box<List>),
    Hash(Hash),
    Set(Box<Set>),
    ZSet(Box<ZSet>),
    Stream(Box<Stream>),
}

const _: () = assert!(size_of::<Value>() == 24);

impl Value {
    /// A string value holding a copy of `b`.
    pub fn string(b: &[u8]) -> Value {
        Value::Str(CompactBytes::new(b))
    }

    /// The name `TYPE` reports.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Str(_) => "string",
            Value::List(_) => "list",
            Value::Hash(_) => "hash",
            Value::Set(_) => "set",
            Value::ZSet(_) => "zset",
            Value::Stream(_) => "stream",
        }
    }

    /// Whether this is an empty collection (Redis deletes a key whose collection becomes empty).
    pub fn is_empty_collection(&self) -> bool {
        match self {
            Value::Str(_) => false,
            Value::List(v) => v.is_empty(),
            Value::Hash(v) => v.is_empty(),
            Value::Set(v) => v.is_empty(),
            Value::ZSet(v) => v.is_empty(),
            // An empty stream is still a key (XDEL and XTRIM never delete it).
            Value::Stream(_) => false,
        }
    }
}

/// A value type a family works with: how to find it inside a [`Value`] and how to wrap it.
pub trait Kind: Sized {
    /// The type inside `v`, or `None` if `v` holds another type.
    fn of(v: &Value) -> Option<&Self>;
    /// The type inside `v`, mutably.
    fn of_mut(v: &mut Value) -> Option<&mut Self>;
    /// Wraps it into a `Value`.
    fn wrap(self) -> Value;
}

macro_rules! kind {
    ($t:ty, $variant:ident) => {
        impl Kind for $t {
            fn of(v: &Value) -> Option<&Self> {
                match v {
                    Value::$variant(x) => Some(x),
                    _ => None,
                }
            }
            fn of_mut(v: &mut Value) -> Option<&mut Self> {
                match v {
                    Value::$variant(x) => Some(x),
                    _ => None,
                }
            }
            fn wrap(self) -> Value {
                Value::$variant(self)
            }
        }
    };
    (boxed $t:ty, $variant:ident) => {
        impl Kind for $t {
            fn of(v: &Value) -> Option<&Self> {
                match v {
                    Value::$variant(x) => Some(&**x),
                    _ => None,
                }
            }
            fn of_mut(v: &mut Value) -> Option<&mut Self> {
                match v {
                    Value::$variant(x) => Some(&mut **x),
                    _ => None,
                }
            }
            fn wrap(self) -> Value {
                Value::$variant(Box::new(self))
            }
        }
    };
}

kind!(CompactBytes, Str);
kind!(boxed List, List);
kind!(Hash, Hash);
kind!(boxed Set, Set);
kind!(boxed ZSet, ZSet);
kind!(boxed Stream, Stream);
