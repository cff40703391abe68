//! The strict record parser shared by the loader, `check-aof` and the fuzz target: a record is a RESP
//! multibulk of bulk strings (`*<n>\r\n` then `n` times `$<len>\r\n<bytes>\r\n`), `n >= 1`. Anything else
//! is damage. A valid prefix cut short by the end of the buffer is [`Parsed::Incomplete`], which at the end
//! of a file is a torn tail.

/// The longest bulk string a record may hold (Redis's `proto-max-bulk-len`).
pub const MAX_BULK: u64 = 512 * 1024 * 1024;
/// The most arguments a record may hold.
pub const MAX_ARGS: u64 = i32::MAX as u64;
/// A length line has at most this many digits.
const MAX_DIGITS: usize = 10;

/// What the start of a buffer holds.
#[derive(Debug, PartialEq, Eq)]
pub enum Parsed<'a> {
    /// A whole record: its arguments (slices of the buffer) and its length in bytes.
    Record { args: Vec<&'a [u8]>, len: usize },
    /// A valid beginning of a record that needs more bytes.
    Incomplete,
    /// Not a record: the offset of the first bad byte (relative to the buffer start) and why.
    Invalid { at: usize, reason: String },
}

/// Parses the record at the start of `buf`.
pub fn parse(buf: &[u8]) -> Parsed<'_> {
    let mut pos = 0;
    let argc = match length(buf, &mut pos, b'*', MAX_ARGS) {
        Ok(Some(n)) => n,
        Ok(None) => return Parsed::Incomplete,
        Err((at, reason)) => return Parsed::Invalid { at, reason },
    };
    if argc == 0 {
        return Parsed::Invalid { at: 0, reason: "empty command (*0)".into() };
    }
    let mut args = Vec::with_capacity(argc.min(1024) as usize);
    for _ in 0..argc {
        let len = match length(buf, &mut pos, b'$', MAX_BULK) {
            Ok(Some(n)) => n as usize,
            Ok(None) => return Parsed::Incomplete,
            Err((at, reason)) => return Parsed::Invalid { at, reason },
        };
        let end = pos + len;
        if buf.len() < end {
            return Parsed::Incomplete;
        }
        for (i, want) in [b'\r', b'\n'].into_iter().enumerate() {
            match buf.get(end + i) {
                None => return Parsed::Incomplete,
                Some(&c) if c == want => {}
                Some(_) => {
                    return Parsed::Invalid {
                        at: end + i,
                        reason: format!("bulk string of {len} bytes not followed by CRLF"),
                    };
                }
            }
        }
        args.push(&buf[pos..end]);
        pos = end + 2;
    }
    Parsed::Record { args, len: pos }
}

/// Reads `<prefix><digits>\r\n` at `*pos`. `Ok(None)`: a valid prefix that ends early.
fn length(
    buf: &[u8],
    pos: &mut usize,
    prefix: u8,
    max: u64,
) -> Result<Option<u64>, (usize, String)> {
    let start = *pos;
    let what = if prefix == b'*' { "argument count" } else { "bulk length" };
    match buf.get(start) {
        None => return Ok(None),
        Some(&c) if c == prefix => {}
        Some(&c) => {
            return Err((start, format!("expected '{}', found {}", prefix as char, show_byte(c))));
        }
    }
    let mut n: u64 = 0;
    let mut i = start + 1;
    loop {
        let Some(&c) = buf.get(i) else { return Ok(None) };
        match c {
            b'0'..=b'9' => {
                if i - start > MAX_DIGITS {
                    return Err((start, format!("{what} too long")));
                }
                n = n * 10 + u64::from(c - b'0');
            }
            b'\r' if i > start + 1 => {
                match buf.get(i + 1) {
                    None => return Ok(None),
                    Some(b'\n') => {}
                    Some(&c) => {
                        return Err((
                            i + 1,
                            format!("expected LF after CR, found {}", show_byte(c)),
                        ));
                    }
                }
                if n > max {
                    return Err((start, format!("{what} {n} out of range")));
                }
                *pos = i + 2;
                return Ok(Some(n));
            }
            _ => return Err((i, format!("bad {what}: unexpected {}", show_byte(c)))),
        }
        i += 1;
    }
}

fn show_byte(c: u8) -> String {
    if c.is_ascii_graphic() { format!("'{}'", c as char) } else { format!("byte 0x{c:02x}") }
}

/// Whether `buf` (from a record boundary to the end of a file) is only a torn tail: the incomplete start of
/// a record, possibly followed by zero bytes (a file the filesystem extended but whose data never reached
/// the disk), or zero bytes alone.
pub fn is_torn_tail(buf: &[u8]) -> bool {
    let end = buf.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
    end == 0 || matches!(parse(&buf[..end]), Parsed::Incomplete)
}

/// Whether a well-formed record whose first argument satisfies `plausible` starts somewhere after the
/// first byte of `buf` at a line start: the sign that damage at the start of `buf` is in the middle of a
/// file, not at its tail.
pub fn record_follows(buf: &[u8], plausible: impl Fn(&[u8]) -> bool) -> Option<usize> {
    let mut i = 1;
    while i < buf.len() {
        let j = memchr(b'*', &buf[i..])?;
        let at = i + j;
        if buf[at - 1] == b'\n'
            && let Parsed::Record { args, .. } = parse(&buf[at..])
            && plausible(args[0])
        {
            return Some(at);
        }
        i = at + 1;
    }
    None
}

fn memchr(needle: u8, hay: &[u8]) -> Option<usize> {
    hay.iter().position(|&b| b == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_records_and_reports_prefixes() {
        let rec = b"*2\r\n$3\r\nDEL\r\n$1\r\nk\r\n";
        match parse(rec) {
            Parsed::Record { args, len } => {
                assert_eq!(args, vec![&b"DEL"[..], b"k"]);
                assert_eq!(len, rec.len());
            }
            other => panic!("{other:?}"),
        }
        for cut in 0..rec.len() {
            assert_eq!(parse(&rec[..cut]), Parsed::Incomplete, "cut at {cut}");
        }
        assert!(matches!(parse(b"*0\r\n"), Parsed::Invalid { .. }));
        assert!(matches!(parse(b"*\r\n"), Parsed::Invalid { at: 1, .. }));
        assert!(matches!(parse(b"+OK\r\n"), Parsed::Invalid { at: 0, .. }));
        assert!(matches!(parse(b"*1\r\n$3\r\nabcd\r\n"), Parsed::Invalid { at: 11, .. }));
        assert!(matches!(parse(b"*1\r\n$-1\r\n"), Parsed::Invalid { at: 5, .. }));
        assert!(matches!(parse(b"*1\r\n$99999999999\r\n"), Parsed::Invalid { .. }));
        assert!(matches!(parse(b"*1\r\n$999999999\r\n"), Parsed::Invalid { .. }));
        assert!(matches!(parse(b"*1\rx"), Parsed::Invalid { at: 3, .. }));
    }

    #[test]
    fn torn_tails() {
        assert!(is_torn_tail(b""));
        assert!(is_torn_tail(b"*2\r\n$3\r\nDE"));
        assert!(is_torn_tail(b"\0\0\0\0"));
        assert!(is_torn_tail(b"*2\r\n$3\r\nDE\0\0\0"));
        assert!(!is_torn_tail(b"\0\0*1"));
        assert!(!is_torn_tail(b"xyz"));
    }
}
