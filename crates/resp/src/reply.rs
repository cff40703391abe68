//! The one reply value of larder. Every command returns a [`Reply`]; the RESP encoder in this crate and the
//! Upstash JSON encoder in the server are its only two renderings.

use std::borrow::Cow;

use bytes::Bytes;

/// A command's reply, complete for RESP3. The RESP2 rendering downgrades in one place (`encode`).
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    /// The null bulk string: RESP2 `$-1`, RESP3 `_`, JSON `null`.
    Nil,
    /// The null array: RESP2 `*-1` (BLPOP timeout, EXEC after a failed WATCH), RESP3 `_`, JSON `null`.
    NilArray,
    /// A simple string such as `OK`, `PONG`, `QUEUED` or a type name: `+...`.
    Simple(Cow<'static, str>),
    /// An integer: `:n`.
    Int(i64),
    /// A bulk string: `$len\r\n...`.
    Bulk(Bytes),
    /// A double. RESP2 and JSON render it as a bulk string in Redis's format ([`format_double`]); RESP3 as `,`.
    Double(f64),
    /// A boolean. RESP2 and JSON render it as `:1`/`:0`; RESP3 as `#t`/`#f`.
    Bool(bool),
    /// An array: `*n`.
    Array(Vec<Reply>),
    /// A map. RESP2 and JSON render it as a flat array `[k1, v1, k2, v2, ...]`; RESP3 as `%n`.
    Map(Vec<(Reply, Reply)>),
    /// A set. RESP2 and JSON render it as an array; RESP3 as `~n`.
    Set(Vec<Reply>),
    /// A verbatim string (INFO, CLIENT INFO in RESP3): RESP2 and JSON render it as a bulk string; RESP3 as
    /// `=len\r\ntxt:...`.
    Verbatim(Bytes),
    /// An error reply: the whole line including its prefix, e.g. `ERR syntax error` or `WRONGTYPE ...`.
    /// Top-level command errors and errors nested in arrays (EXEC, scripts) both use it.
    Error(Cow<'static, str>),
}

impl Reply {
    /// `+OK`.
    pub const OK: Reply = Reply::Simple(Cow::Borrowed("OK"));

    /// A simple string from a static str.
    pub const fn simple(s: &'static str) -> Reply {
        Reply::Simple(Cow::Borrowed(s))
    }

    /// A bulk string copied from a byte slice.
    pub fn bulk(b: impl AsRef<[u8]>) -> Reply {
        Reply::Bulk(Bytes::copy_from_slice(b.as_ref()))
    }

    /// A bulk string or `Nil`.
    pub fn bulk_or_nil(b: Option<Bytes>) -> Reply {
        match b {
            Some(b) => Reply::Bulk(b),
            None => Reply::Nil,
        }
    }

    /// Whether this is an error reply.
    pub fn is_error(&self) -> bool {
        matches!(self, Reply::Error(_))
    }
}

impl Reply {
    /// A simple string from an owned string.
    pub fn simple_owned(s: &str) -> Reply {
        Reply::Simple(Cow::Owned(s.to_owned()))
    }
}
