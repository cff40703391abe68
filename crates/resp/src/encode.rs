//! The RESP encoder: a [`Reply`] to RESP2 or RESP3 bytes, with RESP2's downgrades in one place.

use crate::double::double_repr;
use crate::reply::Reply;

/// The protocol a connection speaks, chosen by `HELLO`. New connections speak RESP2.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Protocol {
    /// RESP2: the default. Nil, doubles, booleans, maps, sets and verbatim strings are downgraded.
    #[default]
    Resp2,
    /// RESP3 (`HELLO 3`).
    Resp3,
}

/// Appends the RESP encoding of `reply` to `out`.
///
/// RESP2 downgrades: `Nil` → `$-1`, `NilArray` → `*-1`, `Double` → bulk string ([`crate::format_double`]),
/// `Bool` → `:1`/`:0`, `Map` → flat array of `2n`, `Set` → array, `Verbatim` → bulk string of the payload.
/// RESP3: `Nil` and `NilArray` → `_`, `Double` → `,`, `Bool` → `#t`/`#f`, `Map` → `%`, `Set` → `~`,
/// `Verbatim` → `=len\r\ntxt:...`. CR and LF inside simple strings and errors are replaced by spaces (as
/// Redis does for errors) so a reply can never break framing.
pub fn encode(reply: &Reply, proto: Protocol, out: &mut Vec<u8>) {
    let resp3 = proto == Protocol::Resp3;
    match reply {
        Reply::Nil => out.extend_from_slice(if resp3 { b"_\r\n" } else { b"$-1\r\n" }),
        Reply::NilArray => out.extend_from_slice(if resp3 { b"_\r\n" } else { b"*-1\r\n" }),
        Reply::Simple(s) => line(b'+', s.as_bytes(), out),
        Reply::Error(s) => line(b'-', s.as_bytes(), out),
        Reply::Int(n) => {
            out.push(b':');
            write_i64(*n, out);
            out.extend_from_slice(b"\r\n");
        }
        Reply::Bulk(b) => bulk(b, out),
        Reply::Double(d) => {
            let repr = double_repr(*d);
            if resp3 {
                out.push(b',');
                out.extend_from_slice(repr.as_bytes());
                out.extend_from_slice(b"\r\n");
            } else {
                bulk(repr.as_bytes(), out);
            }
        }
        Reply::Bool(b) => out.extend_from_slice(match (resp3, b) {
            (true, true) => b"#t\r\n",
            (true, false) => b"#f\r\n",
            (false, true) => b":1\r\n",
            (false, false) => b":0\r\n",
        }),
        Reply::Array(items) => {
            header(b'*', items.len(), out);
            for item in items {
                encode(item, proto, out);
            }
        }
        Reply::Map(pairs) => {
            if resp3 {
                header(b'%', pairs.len(), out);
            } else {
                header(b'*', pairs.len() * 2, out);
            }
            for (k, v) in pairs {
                encode(k, proto, out);
                encode(v, proto, out);
            }
        }
        Reply::Set(items) => {
            header(if resp3 { b'~' } else { b'*' }, items.len(), out);
            for item in items {
                encode(item, proto, out);
            }
        }
        Reply::Verbatim(b) => {
            if resp3 {
                out.reserve(b.len() + 20);
                header(b'=', b.len() + 4, out);
                out.extend_from_slice(b"txt:");
                out.extend_from_slice(b);
                out.extend_from_slice(b"\r\n");
            } else {
                bulk(b, out);
            }
        }
    }
}

/// `<prefix><text>\r\n`, with CR and LF in `text` replaced by spaces.
fn line(prefix: u8, text: &[u8], out: &mut Vec<u8>) {
    out.reserve(text.len() + 3);
    out.push(prefix);
    if text.iter().any(|&b| b == b'\r' || b == b'\n') {
        out.extend(text.iter().map(|&b| if b == b'\r' || b == b'\n' { b' ' } else { b }));
    } else {
        out.extend_from_slice(text);
    }
    out.extend_from_slice(b"\r\n");
}

/// `$<len>\r\n<data>\r\n`.
fn bulk(data: &[u8], out: &mut Vec<u8>) {
    out.reserve(data.len() + 16);
    header(b'$', data.len(), out);
    out.extend_from_slice(data);
    out.extend_from_slice(b"\r\n");
}

/// `<prefix><n>\r\n`.
fn header(prefix: u8, n: usize, out: &mut Vec<u8>) {
    out.push(prefix);
    let mut buf = [0u8; 20];
    out.extend_from_slice(u64_digits(n as u64, &mut buf));
    out.extend_from_slice(b"\r\n");
}

/// Appends the decimal form of `n`.
fn write_i64(n: i64, out: &mut Vec<u8>) {
    if n < 0 {
        out.push(b'-');
    }
    let mut buf = [0u8; 20];
    out.extend_from_slice(u64_digits(n.unsigned_abs(), &mut buf));
}

/// The decimal digits of `n`, written at the end of `buf` (20 bytes hold `u64::MAX`).
pub(crate) fn u64_digits(mut n: u64, buf: &mut [u8; 20]) -> &[u8] {
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            return &buf[i..];
        }
    }
}
