//! The RESP decoders: client requests (multibulk and inline forms) into `argv`, and RESP2/RESP3 replies
//! into [`Reply`].
//!
//! Both are stateless: they look at the front of a `BytesMut`, and only when one whole request (or reply)
//! is there split it off (`split_to(..).freeze()`) and slice the arguments out of it, so bulk data is
//! never copied. While a request is incomplete the buffer is left untouched and `Ok(None)` returned; the
//! next call re-scans the headers (cheap) but never the bulk data. Request errors carry Redis's exact
//! protocol error texts; after any error the buffer's contents are unspecified and the connection should be
//! answered with `-<error>` and closed, as Redis does.

use std::borrow::Cow;

use bytes::{Buf, Bytes, BytesMut};

use crate::reply::Reply;

/// Size limits for [`decode_request`], the `proto-max-bulk-len` family of Redis.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// The largest accepted bulk argument (`proto-max-bulk-len`, 512 MiB).
    pub max_bulk_len: usize,
    /// The largest accepted multibulk count (1024 × 1024 elements).
    pub max_multibulk_len: usize,
    /// The longest inline request or multibulk header line without a newline (`PROTO_INLINE_MAX_SIZE`,
    /// 64 KiB).
    pub max_inline_len: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_bulk_len: 512 * 1024 * 1024,
            max_multibulk_len: 1024 * 1024,
            max_inline_len: 64 * 1024,
        }
    }
}

/// A protocol error. `Display` is the whole error line a client sees (without the leading `-`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// `*<n>` with a malformed count or one above [`Limits::max_multibulk_len`].
    #[error("ERR Protocol error: invalid multibulk length")]
    InvalidMultibulkLength,
    /// `$<n>` with a malformed or negative length or one above [`Limits::max_bulk_len`]; in replies, a
    /// malformed length or a bulk string not followed by CRLF.
    #[error("ERR Protocol error: invalid bulk length")]
    InvalidBulkLength,
    /// A multibulk element that does not start with `$`. The byte is shown as a Latin-1 char (Redis's `%c`),
    /// CR and LF as a space (Redis's error sanitizing), so the text never breaks framing.
    #[error("ERR Protocol error: expected '$', got '{}'", shown_byte(*.0))]
    ExpectedBulk(u8),
    /// An inline request longer than [`Limits::max_inline_len`] without a newline.
    #[error("ERR Protocol error: too big inline request")]
    TooBigInline,
    /// An inline request with an unterminated quote, or a closing quote not followed by a space.
    #[error("ERR Protocol error: unbalanced quotes in request")]
    UnbalancedQuotes,
    /// A `*<n>` header longer than [`Limits::max_inline_len`] without a CR.
    #[error("ERR Protocol error: too big mbulk count string")]
    TooBigMultibulkCount,
    /// A `$<n>` header longer than [`Limits::max_inline_len`] without a CR.
    #[error("ERR Protocol error: too big bulk count string")]
    TooBigBulkCount,
    /// [`decode_reply`]: an unknown type byte.
    #[error("ERR Protocol error: invalid reply type")]
    InvalidReplyType,
    /// [`decode_reply`]: a malformed reply (bad integer, double, boolean, aggregate length, line ending...).
    #[error("ERR Protocol error: {0}")]
    InvalidReply(&'static str),
    /// [`decode_reply`]: aggregates nested more than 512 deep.
    #[error("ERR Protocol error: reply nesting too deep")]
    TooDeep,
}

/// A byte as a char for an error line: CR and LF become spaces.
fn shown_byte(b: u8) -> char {
    if b == b'\r' || b == b'\n' { ' ' } else { char::from(b) }
}

/// The deepest aggregate nesting [`decode_reply`] accepts.
const MAX_REPLY_DEPTH: usize = 512;

/// Decodes one request from the front of `buf`.
///
/// Returns `Ok(Some(argv))` and removes the request from `buf` when a whole one is there; `Ok(None)`,
/// leaving `buf` untouched, when more bytes are needed. A request starting with `*` is multibulk
/// (`*<n>\r\n$<len>\r\n<data>\r\n...`), anything else an inline line split like Redis's `sdssplitargs`.
/// An empty argv (`\r\n`, a blank line, `*0`, `*-1`) is returned as `Some(vec![])`: skip it.
///
/// Like Redis, the two bytes after each bulk's data are skipped without being checked, and a NUL byte in an
/// inline line is an ordinary byte.
pub fn decode_request(
    buf: &mut BytesMut,
    limits: &Limits,
) -> Result<Option<Vec<Bytes>>, DecodeError> {
    match buf.first() {
        None => Ok(None),
        Some(b'*') => decode_multibulk(buf, limits),
        Some(_) => decode_inline(buf, limits),
    }
}

fn decode_multibulk(
    buf: &mut BytesMut,
    limits: &Limits,
) -> Result<Option<Vec<Bytes>>, DecodeError> {
    let data: &[u8] = buf;
    let Some((cr, body)) =
        header_line(data, 0, limits.max_inline_len, DecodeError::TooBigMultibulkCount)?
    else {
        return Ok(None);
    };
    let count = match parse_ll(&data[1..cr]) {
        Some(n) if n <= 0 => {
            buf.advance(body);
            return Ok(Some(Vec::new()));
        }
        Some(n) if n as u64 <= limits.max_multibulk_len as u64 => n as usize,
        _ => return Err(DecodeError::InvalidMultibulkLength),
    };

    // Pass 1: is the whole request there? Validates every header, touches no data. The first arguments'
    // positions are kept for pass 2 (most commands have few), the others are parsed again there.
    const KEPT: usize = 16;
    let mut spans = [(0usize, 0usize); KEPT];
    let mut pos = body;
    for i in 0..count {
        let Some((start, len)) = bulk_header(data, pos, limits)? else {
            return Ok(None);
        };
        let avail = data.len() - start;
        if avail < len || avail - len < 2 {
            return Ok(None);
        }
        if let Some(span) = spans.get_mut(i) {
            *span = (start, len);
        }
        pos = start + len + 2;
    }

    // Pass 2: split the request off and slice the arguments out of it.
    let frame = buf.split_to(pos).freeze();
    let mut argv = Vec::with_capacity(count);
    let mut pos = body;
    for i in 0..count {
        let (start, len) = match spans.get(i) {
            Some(&span) => span,
            // Cannot fail or be incomplete: pass 1 checked these very bytes.
            None => bulk_header(&frame, pos, limits)?.ok_or(DecodeError::InvalidBulkLength)?,
        };
        argv.push(frame.slice(start..start + len));
        pos = start + len + 2;
    }
    Ok(Some(argv))
}

/// The header line starting at `start` (Redis: up to the first CR, which must have one byte after it).
/// Returns the CR's position and the position after the line ending.
fn header_line(
    data: &[u8],
    start: usize,
    max: usize,
    too_big: DecodeError,
) -> Result<Option<(usize, usize)>, DecodeError> {
    let rest = &data[start..];
    match rest.iter().position(|&b| b == b'\r') {
        None if rest.len() > max => Err(too_big),
        None => Ok(None),
        Some(i) if i + 2 > rest.len() => Ok(None),
        Some(i) => Ok(Some((start + i, start + i + 2))),
    }
}

/// A `$<len>\r\n` header at `pos`: returns where the data starts and its length.
fn bulk_header(
    data: &[u8],
    pos: usize,
    limits: &Limits,
) -> Result<Option<(usize, usize)>, DecodeError> {
    let Some((cr, next)) =
        header_line(data, pos, limits.max_inline_len, DecodeError::TooBigBulkCount)?
    else {
        return Ok(None);
    };
    if data[pos] != b'$' {
        return Err(DecodeError::ExpectedBulk(data[pos]));
    }
    match parse_ll(&data[pos + 1..cr]) {
        Some(n) if n >= 0 && n as u64 <= limits.max_bulk_len as u64 => Ok(Some((next, n as usize))),
        _ => Err(DecodeError::InvalidBulkLength),
    }
}

/// Redis's `string2ll`: an optional `-`, no `+`, no leading zeros, no spaces, at most 20 bytes, no overflow.
fn parse_ll(s: &[u8]) -> Option<i64> {
    if s.is_empty() || s.len() > 20 {
        return None;
    }
    if s == b"0" {
        return Some(0);
    }
    let (neg, digits) = match s.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, s),
    };
    if !matches!(digits.first(), Some(b'1'..=b'9')) {
        return None;
    }
    let mut v: u64 = 0;
    for &c in digits {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add(u64::from(c - b'0'))?;
    }
    if neg {
        if v == 1 << 63 { Some(i64::MIN) } else { i64::try_from(v).ok().map(|v| -v) }
    } else {
        i64::try_from(v).ok()
    }
}

fn decode_inline(buf: &mut BytesMut, limits: &Limits) -> Result<Option<Vec<Bytes>>, DecodeError> {
    let Some(nl) = buf.iter().position(|&b| b == b'\n') else {
        return if buf.len() > limits.max_inline_len {
            Err(DecodeError::TooBigInline)
        } else {
            Ok(None)
        };
    };
    let end = if nl > 0 && buf[nl - 1] == b'\r' { nl - 1 } else { nl };
    let frame = buf.split_to(nl + 1).freeze();
    split_args(&frame, end).map(Some)
}

/// C's `isspace`.
fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c)
}

/// One inline argument: a range of the line while it is a plain run of bytes, owned once it is not.
#[derive(Default)]
struct Token {
    start: usize,
    end: usize,
    owned: Option<Vec<u8>>,
}

impl Token {
    /// Appends `line[i]` as is.
    fn push_src(&mut self, line: &[u8], i: usize) {
        match &mut self.owned {
            Some(v) => v.push(line[i]),
            None if self.start == self.end => (self.start, self.end) = (i, i + 1),
            None if self.end == i => self.end += 1,
            None => self.push_byte(line, line[i]),
        }
    }

    /// Appends a byte that is not a copy of the next source byte (an escape, or after a gap).
    fn push_byte(&mut self, line: &[u8], b: u8) {
        self.owned.get_or_insert_with(|| line[self.start..self.end].to_vec()).push(b);
    }

    fn finish(self, frame: &Bytes) -> Bytes {
        match self.owned {
            Some(v) => Bytes::from(v),
            None => frame.slice(self.start..self.end),
        }
    }
}

/// Splits `frame[..end]` into arguments with `sdssplitargs`'s rules: blanks separate arguments; `"..."`
/// understands `\n \r \t \b \a \xHH` and `\<any>`; `'...'` understands only `\'`; a quote may open inside an
/// argument (`a"b c"` is `ab c`) but a closing quote must be followed by a blank or the end.
fn split_args(frame: &Bytes, end: usize) -> Result<Vec<Bytes>, DecodeError> {
    let line = &frame[..end];
    let at = |i: usize| line.get(i).copied();
    let mut argv = Vec::new();
    let mut i = 0;
    loop {
        while at(i).is_some_and(is_space) {
            i += 1;
        }
        if i >= line.len() {
            return Ok(argv);
        }
        let mut tok = Token::default();
        let mut quote = None;
        loop {
            match (quote, at(i)) {
                (Some(_), None) => return Err(DecodeError::UnbalancedQuotes),
                (None, None | Some(b' ' | b'\n' | b'\r' | b'\t')) => break,
                (None, Some(q @ (b'"' | b'\''))) => {
                    quote = Some(q);
                    i += 1;
                }
                (None, Some(_)) => {
                    tok.push_src(line, i);
                    i += 1;
                }
                (Some(q), Some(c)) if c == q => {
                    if at(i + 1).is_some_and(|b| !is_space(b)) {
                        return Err(DecodeError::UnbalancedQuotes);
                    }
                    i += 1;
                    break;
                }
                (Some(b'"'), Some(b'\\')) => match (at(i + 1), at(i + 2), at(i + 3)) {
                    (Some(b'x'), Some(h), Some(l))
                        if h.is_ascii_hexdigit() && l.is_ascii_hexdigit() =>
                    {
                        tok.push_byte(line, hex(h) << 4 | hex(l));
                        i += 4;
                    }
                    (Some(c), ..) => {
                        let b = match c {
                            b'n' => b'\n',
                            b'r' => b'\r',
                            b't' => b'\t',
                            b'b' => 0x08,
                            b'a' => 0x07,
                            other => other,
                        };
                        tok.push_byte(line, b);
                        i += 2;
                    }
                    // A trailing backslash: kept, then the missing closing quote is reported.
                    (None, ..) => {
                        tok.push_src(line, i);
                        i += 1;
                    }
                },
                (Some(b'\''), Some(b'\\')) if at(i + 1) == Some(b'\'') => {
                    tok.push_byte(line, b'\'');
                    i += 2;
                }
                (Some(_), Some(_)) => {
                    tok.push_src(line, i);
                    i += 1;
                }
            }
        }
        argv.push(tok.finish(frame));
    }
}

fn hex(c: u8) -> u8 {
    match c {
        b'0'..=b'9' => c - b'0',
        b'a'..=b'f' => c - b'a' + 10,
        _ => c - b'A' + 10,
    }
}

/// Decodes one RESP2 or RESP3 reply from the front of `buf`.
///
/// Returns `Ok(Some(reply))` and removes it from `buf` when a whole reply is there; `Ok(None)`, leaving
/// `buf` untouched, when more bytes are needed. `$-1` → `Nil`, `*-1` → `NilArray`, `_` → `Nil`, `-ERR x`
/// and `!<len>` blob errors → `Error("ERR x")`, `,` → `Double`, `#` → `Bool`, `%` → `Map`, `~` → `Set`,
/// `=` → `Verbatim` (the payload without its `txt:` format prefix), `(` big numbers → `Bulk`, `>` pushes
/// → `Array`; `|` attributes are skipped and the reply that follows them is returned. Bulk payloads are
/// slices of `buf`'s storage, not copies. Nesting deeper than 512 is an error.
pub fn decode_reply(buf: &mut BytesMut) -> Result<Option<Reply>, DecodeError> {
    if buf.is_empty() {
        return Ok(None);
    }
    // Pass 1 validates and measures without building; pass 2 builds from the frozen frame.
    let mut dry = ReplyParser { data: buf, src: None, pos: 0 };
    if dry.value()?.is_none() {
        return Ok(None);
    }
    let len = dry.pos;
    let frame = buf.split_to(len).freeze();
    ReplyParser { data: &frame, src: Some(&frame), pos: 0 }.value()
}

/// A cursor over reply bytes. Without `src` it is a dry run: it validates and advances but builds
/// placeholders only, allocating nothing.
struct ReplyParser<'a> {
    data: &'a [u8],
    src: Option<&'a Bytes>,
    pos: usize,
}

/// `Ok(None)`: incomplete.
type Step<T> = Result<Option<T>, DecodeError>;

/// Unwraps a `Step`'s `Some`, returning `Ok(None)` (incomplete) from the function otherwise.
macro_rules! ready {
    ($e:expr) => {
        match $e? {
            Some(v) => v,
            None => return Ok(None),
        }
    };
}

impl<'a> ReplyParser<'a> {
    fn building(&self) -> bool {
        self.src.is_some()
    }

    /// The line at the cursor, up to CRLF; moves past it.
    fn line(&mut self) -> Step<&'a [u8]> {
        let data = self.data;
        let rest = &data[self.pos..];
        let Some(cr) = rest.iter().position(|&b| b == b'\r') else {
            return Ok(None);
        };
        match rest.get(cr + 1) {
            None => Ok(None),
            Some(b'\n') => {
                self.pos += cr + 2;
                Ok(Some(&rest[..cr]))
            }
            Some(_) => Err(DecodeError::InvalidReply("expected CRLF")),
        }
    }

    /// `len` bytes of payload and CRLF at the cursor; returns the payload's range.
    fn blob(&mut self, len: usize) -> Step<(usize, usize)> {
        let avail = self.data.len() - self.pos;
        if avail < len || avail - len < 2 {
            return Ok(None);
        }
        let start = self.pos;
        let end = start + len;
        if &self.data[end..end + 2] != b"\r\n" {
            return Err(DecodeError::InvalidBulkLength);
        }
        self.pos = end + 2;
        Ok(Some((start, end)))
    }

    fn bytes(&self, start: usize, end: usize) -> Bytes {
        self.src.map(|src| src.slice(start..end)).unwrap_or_default()
    }

    fn text(&self, line: &[u8]) -> Cow<'static, str> {
        if self.building() {
            Cow::Owned(String::from_utf8_lossy(line).into_owned())
        } else {
            Cow::Borrowed("")
        }
    }

    /// An aggregate or blob length: `-1` is `None` (the RESP2 nulls), other negatives are `err`.
    fn length(line: &[u8], err: DecodeError) -> Result<Option<usize>, DecodeError> {
        match parse_ll(line) {
            Some(-1) => Ok(None),
            Some(n) if n >= 0 => usize::try_from(n).map(Some).map_err(|_| err),
            _ => Err(err),
        }
    }

    /// The reply at the cursor. Iterative: open aggregates live on an explicit stack, so hostile nesting
    /// cannot overflow the thread's stack.
    fn value(&mut self) -> Step<Reply> {
        let mut open: Vec<Open> = Vec::new();
        'next: loop {
            let Some(&kind) = self.data.get(self.pos) else {
                return Ok(None);
            };
            if !b"+-:$*_,#%~=(>|!".contains(&kind) {
                return Err(DecodeError::InvalidReplyType);
            }
            self.pos += 1;
            let line = ready!(self.line());
            let mut done = match kind {
                b'*' | b'>' | b'~' | b'%' | b'|' => match self.aggregate_len(kind, line)? {
                    None => Reply::NilArray,
                    // An empty attribute annotates nothing: go on with the reply it precedes.
                    Some(0) if kind == b'|' => continue 'next,
                    Some(0) => Open::new(kind, 0, None).finish(),
                    Some(len) => {
                        if open.len() >= MAX_REPLY_DEPTH {
                            return Err(DecodeError::TooDeep);
                        }
                        // Each element takes at least 3 bytes: a complete reply bounds the capacity.
                        let cap = self.building().then(|| len.min(self.data.len() / 3));
                        open.push(Open::new(kind, len, cap));
                        continue 'next;
                    }
                },
                b'$' | b'!' | b'=' => ready!(self.blob_reply(kind, line)),
                _ => self.line_reply(kind, line)?,
            };
            // Hand the finished value to the innermost open aggregate, closing every one it completes.
            while let Some(mut top) = open.pop() {
                if !top.add(done) {
                    open.push(top);
                    continue 'next;
                }
                if top.kind == b'|' {
                    // An attribute annotates the reply that follows it: that one is the value.
                    continue 'next;
                }
                done = top.finish();
            }
            return Ok(Some(done));
        }
    }

    /// `+ - : ( _ , #`: replies that are all in their first line.
    #[inline(never)]
    fn line_reply(&self, kind: u8, line: &[u8]) -> Result<Reply, DecodeError> {
        Ok(match kind {
            b'+' => Reply::Simple(self.text(line)),
            b'-' => Reply::Error(self.text(line)),
            b':' => {
                let digits = line.strip_prefix(b"+").unwrap_or(line);
                Reply::Int(parse_ll(digits).ok_or(DecodeError::InvalidReply("invalid integer"))?)
            }
            b'(' => {
                let digits = line.strip_prefix(b"-").unwrap_or(line);
                if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
                    return Err(DecodeError::InvalidReply("invalid big number"));
                }
                let start = self.pos - 2 - line.len();
                Reply::Bulk(self.bytes(start, start + line.len()))
            }
            b'_' if line.is_empty() => Reply::Nil,
            b'_' => return Err(DecodeError::InvalidReply("invalid null")),
            b',' => Reply::Double(
                parse_double(line).ok_or(DecodeError::InvalidReply("invalid double"))?,
            ),
            b'#' => match line {
                b"t" => Reply::Bool(true),
                b"f" => Reply::Bool(false),
                _ => return Err(DecodeError::InvalidReply("invalid boolean")),
            },
            _ => return Err(DecodeError::InvalidReplyType),
        })
    }

    /// `$ ! =`: a length line, then that many bytes and CRLF.
    #[inline(never)]
    fn blob_reply(&mut self, kind: u8, line: &[u8]) -> Step<Reply> {
        let Some(len) = Self::length(line, DecodeError::InvalidBulkLength)? else {
            return if kind == b'$' {
                Ok(Some(Reply::Nil))
            } else {
                Err(DecodeError::InvalidBulkLength)
            };
        };
        let (start, end) = ready!(self.blob(len));
        Ok(Some(match kind {
            b'$' => Reply::Bulk(self.bytes(start, end)),
            b'!' => Reply::Error(self.text(&self.data[start..end])),
            _ => {
                if len < 4 || self.data[start + 3] != b':' {
                    return Err(DecodeError::InvalidReply("invalid verbatim string"));
                }
                Reply::Verbatim(self.bytes(start + 4, end))
            }
        }))
    }

    /// The count of an aggregate header: `None` for the RESP2 null array `*-1`.
    fn aggregate_len(&self, kind: u8, line: &[u8]) -> Result<Option<usize>, DecodeError> {
        let bad = if kind == b'*' {
            DecodeError::InvalidMultibulkLength
        } else {
            DecodeError::InvalidReply("invalid aggregate length")
        };
        match Self::length(line, bad.clone())? {
            Some(len) => Ok(Some(len)),
            None if kind == b'*' => Ok(None),
            None => Err(bad),
        }
    }
}

/// An aggregate being decoded: how many elements it still needs and, when building, what it has.
struct Open {
    kind: u8,
    remaining: usize,
    build: bool,
    items: Vec<Reply>,
    pairs: Vec<(Reply, Reply)>,
    key: Option<Reply>,
}

impl Open {
    /// `len` elements (pairs for `%` and `|`); `cap` is `Some` when building.
    fn new(kind: u8, len: usize, cap: Option<usize>) -> Self {
        let pairs = kind == b'%' || kind == b'|';
        let build = cap.is_some() && kind != b'|';
        let cap = cap.unwrap_or(0);
        Open {
            kind,
            remaining: if pairs { len.saturating_mul(2) } else { len },
            build,
            items: Vec::with_capacity(if pairs { 0 } else { cap }),
            pairs: Vec::with_capacity(if kind == b'%' { cap } else { 0 }),
            key: None,
        }
    }

    /// Adds an element; returns whether the aggregate is complete.
    fn add(&mut self, item: Reply) -> bool {
        if self.build {
            if self.kind == b'%' {
                match self.key.take() {
                    None => self.key = Some(item),
                    Some(key) => self.pairs.push((key, item)),
                }
            } else {
                self.items.push(item);
            }
        }
        self.remaining -= 1;
        self.remaining == 0
    }

    fn finish(self) -> Reply {
        match self.kind {
            b'%' => Reply::Map(self.pairs),
            b'~' => Reply::Set(self.items),
            _ => Reply::Array(self.items),
        }
    }
}

/// A RESP3 double: `inf`, `-inf`, `nan` or a decimal/scientific number.
fn parse_double(line: &[u8]) -> Option<f64> {
    let s = std::str::from_utf8(line).ok()?;
    match s {
        "inf" | "+inf" => Some(f64::INFINITY),
        "-inf" => Some(f64::NEG_INFINITY),
        "nan" | "-nan" => Some(f64::NAN),
        _ if s
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'-' | b'+' | b'.' | b'e' | b'E')) =>
        {
            s.parse().ok()
        }
        _ => None,
    }
}
