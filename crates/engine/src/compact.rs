//! `CompactBytes`: the owned byte string the keyspace stores keys and string values in, and hashes their
//! fields and values in. It is 24 bytes, like a `Vec`, but keeps up to [`INLINE`] bytes inside itself, so
//! a short key or value (most of them) costs no allocation of its own; longer ones get one exact-size
//! allocation; very long ones are kept as a shared [`Bytes`] so that reading them (`GET` of a large value)
//! hands out the same buffer instead of copying it.

use std::borrow::Borrow;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::ops::Deref;

use bytes::Bytes;

/// The longest byte string kept inline.
pub const INLINE: usize = 22;

/// Byte strings at least this long are kept as a shared [`Bytes`] (reads clone it instead of copying).
pub const SHARED: usize = 512;

/// An owned byte string, inline when short; see the [module documentation](self).
#[derive(Clone)]
pub enum CompactBytes {
    /// Up to [`INLINE`] bytes: `len` of `buf` are used.
    Inline { len: u8, buf: [u8; INLINE] },
    /// One exact-size allocation.
    Boxed(Box<[u8]>),
    /// A long string, shared with the readers that hold it (boxed to keep this type 24 bytes).
    Shared(Box<Bytes>),
}

impl CompactBytes {
    /// The empty string.
    pub const EMPTY: CompactBytes = CompactBytes::Inline { len: 0, buf: [0; INLINE] };

    /// A copy of `b`.
    #[inline]
    pub fn new(b: &[u8]) -> CompactBytes {
        if b.len() <= INLINE {
            let mut buf = [0; INLINE];
            buf[..b.len()].copy_from_slice(b);
            CompactBytes::Inline { len: b.len() as u8, buf }
        } else if b.len() < SHARED {
            CompactBytes::Boxed(b.into())
        } else {
            CompactBytes::Shared(Box::new(Bytes::copy_from_slice(b)))
        }
    }

    /// A copy of `b` (never `b` itself: an argument's `Bytes` is a slice of its request's buffer, and
    /// keeping it would pin the whole buffer).
    pub fn from_bytes(b: &Bytes) -> CompactBytes {
        CompactBytes::new(b)
    }

    /// Takes `v` over, copying it only when it is short enough to be inline.
    pub fn from_vec(v: Vec<u8>) -> CompactBytes {
        if v.len() <= INLINE {
            CompactBytes::new(&v)
        } else if v.len() < SHARED {
            CompactBytes::Boxed(v.into_boxed_slice())
        } else {
            CompactBytes::Shared(Box::new(Bytes::from(v)))
        }
    }

    /// The bytes.
    #[inline]
    pub fn as_bytes(&self) -> &[u8] {
        match self {
            CompactBytes::Inline { len, buf } => &buf[..*len as usize],
            CompactBytes::Boxed(b) => b,
            CompactBytes::Shared(b) => b,
        }
    }

    /// The bytes as a [`Bytes`] for a reply: a copy, or for a long string the shared buffer itself.
    #[inline]
    pub fn to_bytes(&self) -> Bytes {
        match self {
            CompactBytes::Shared(b) => Bytes::clone(b),
            _ => Bytes::copy_from_slice(self.as_bytes()),
        }
    }

    /// The bytes as a `Vec`, without copying when they have their own allocation (and, for a shared
    /// string, nobody else holds it).
    pub fn into_vec(self) -> Vec<u8> {
        match self {
            CompactBytes::Boxed(b) => b.into_vec(),
            CompactBytes::Shared(b) => Vec::from(*b),
            inline => inline.as_bytes().to_vec(),
        }
    }

    /// Runs `f` on the bytes, mutably, after growing them with zero bytes to at least `min_len` (never
    /// shrinks). For the bitmap commands: growing a long string one byte at a time is amortised O(1), since
    /// a shared string turns into a `Vec` with spare room and back without copying when nobody else holds
    /// its buffer (when a reader does, it is copied first, so the reader keeps the old bytes).
    pub fn edit<R>(&mut self, min_len: usize, f: impl FnOnce(&mut [u8]) -> R) -> R {
        match self {
            CompactBytes::Inline { len, buf } if min_len <= INLINE => {
                let n = (*len as usize).max(min_len);
                buf[*len as usize..n].fill(0);
                *len = n as u8;
                f(&mut buf[..n])
            }
            CompactBytes::Boxed(b) if b.len() >= min_len => f(b),
            CompactBytes::Shared(b) => {
                let mut v = Vec::from(std::mem::take(&mut **b));
                if v.len() < min_len {
                    v.resize(min_len, 0);
                }
                let r = f(&mut v);
                **b = Bytes::from(v);
                r
            }
            _ => {
                let mut v = std::mem::take(self).as_bytes().to_vec();
                v.resize(min_len, 0);
                let r = f(&mut v);
                *self = CompactBytes::from_vec(v);
                r
            }
        }
    }

    /// Heap bytes this string owns beyond its own 24 (its allocation, if any; allocator overhead not
    /// included).
    pub fn heap_size(&self) -> usize {
        match self {
            CompactBytes::Inline { .. } => 0,
            CompactBytes::Boxed(b) => b.len(),
            CompactBytes::Shared(b) => size_of::<Bytes>() + b.len(),
        }
    }
}

impl Default for CompactBytes {
    fn default() -> Self {
        CompactBytes::EMPTY
    }
}

impl Deref for CompactBytes {
    type Target = [u8];
    #[inline]
    fn deref(&self) -> &[u8] {
        self.as_bytes()
    }
}

impl AsRef<[u8]> for CompactBytes {
    #[inline]
    fn as_ref(&self) -> &[u8] {
        self.as_bytes()
    }
}

impl Borrow<[u8]> for CompactBytes {
    #[inline]
    fn borrow(&self) -> &[u8] {
        self.as_bytes()
    }
}

impl PartialEq for CompactBytes {
    #[inline]
    fn eq(&self, other: &Self) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl Eq for CompactBytes {}

impl PartialEq<[u8]> for CompactBytes {
    fn eq(&self, other: &[u8]) -> bool {
        self.as_bytes() == other
    }
}

impl PartialOrd for CompactBytes {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for CompactBytes {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.as_bytes().cmp(other.as_bytes())
    }
}

/// Hashes exactly like `[u8]`, so a dict keyed by `CompactBytes` can be looked up with a `&[u8]`.
impl Hash for CompactBytes {
    #[inline]
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_bytes().hash(state);
    }
}

impl fmt::Debug for CompactBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&Bytes::copy_from_slice(self.as_bytes()), f)
    }
}

impl From<&[u8]> for CompactBytes {
    fn from(b: &[u8]) -> Self {
        CompactBytes::new(b)
    }
}

impl From<&Bytes> for CompactBytes {
    fn from(b: &Bytes) -> Self {
        CompactBytes::from_bytes(b)
    }
}

impl From<Bytes> for CompactBytes {
    fn from(b: Bytes) -> Self {
        CompactBytes::from_bytes(&b)
    }
}

impl From<Vec<u8>> for CompactBytes {
    fn from(v: Vec<u8>) -> Self {
        CompactBytes::from_vec(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::hash::BuildHasher;

    #[test]
    fn layout_and_round_trips() {
        assert_eq!(size_of::<CompactBytes>(), 24);
        for n in [0, 1, INLINE, INLINE + 1, SHARED - 1, SHARED, 4 * SHARED] {
            let v: Vec<u8> = (0..n).map(|i| i as u8).collect();
            let a = CompactBytes::new(&v);
            let b = CompactBytes::from_vec(v.clone());
            assert_eq!(a.as_bytes(), &v[..]);
            assert_eq!(b.as_bytes(), &v[..]);
            assert_eq!(a, b);
            assert_eq!(a.to_bytes(), Bytes::from(v.clone()));
            let kind = |c: &CompactBytes| match c {
                CompactBytes::Inline { .. } => 0,
                CompactBytes::Boxed(_) => 1,
                CompactBytes::Shared(_) => 2,
            };
            let want = if n <= INLINE {
                0
            } else if n < SHARED {
                1
            } else {
                2
            };
            assert_eq!((kind(&a), kind(&b)), (want, want), "length {n}");
        }
    }

    #[test]
    fn hashes_and_orders_like_a_slice() {
        let s = foldhash::fast::FixedState::default();
        for v in [&b""[..], b"abc", &[7u8; 40][..], &[9u8; 600][..]] {
            assert_eq!(s.hash_one(CompactBytes::new(v)), s.hash_one(v));
        }
        assert!(CompactBytes::new(b"ab") < CompactBytes::new(b"abc"));
        assert!(CompactBytes::new(&[1; 30]) > CompactBytes::new(b"\x01"));
    }

    #[test]
    fn edit_grows_with_zeros_across_representations() {
        let mut c = CompactBytes::new(b"ab");
        for n in [3, 5, INLINE, INLINE + 3, SHARED + 10, 3 * SHARED] {
            c.edit(n, |b| {
                assert_eq!(b.len(), n);
                b[n - 1] = 7;
            });
            assert_eq!(c.len(), n);
            assert_eq!(&c[..2], b"ab");
            assert_eq!(c[n - 1], 7);
            assert!(c[2..n - 1].iter().all(|&x| x == 0 || x == 7));
        }
        // A reader holding the shared buffer keeps the old bytes.
        let held = c.to_bytes();
        c.edit(0, |b| b[0] = b'z');
        assert_eq!((held[0], c[0]), (b'a', b'z'));
        // Never shrinks.
        c.edit(1, |b| assert_eq!(b.len(), 3 * SHARED));
    }

    #[test]
    fn a_shared_string_is_handed_out_without_copying() {
        let c = CompactBytes::new(&[5; SHARED]);
        assert_eq!(c.to_bytes().as_ptr(), c.to_bytes().as_ptr());
    }
}
