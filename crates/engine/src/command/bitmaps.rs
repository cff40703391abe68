//! The bitmap family: SETBIT, GETBIT, BITCOUNT, BITPOS, BITOP, BITFIELD and BITFIELD_RO, on string values.
//! Bits are numbered from the most significant bit of the first byte, as in Redis; a write past the end
//! grows the string with zero bytes (amortised O(1) through [`CompactBytes::edit`]).

use bytes::Bytes;
use larder_resp::Reply;

use super::args::parse_i64;
use super::{Args, Ctx, MAX_STRING};
use crate::error::CommandError;
use crate::keyspace::Entry;
use crate::value::{CompactBytes, Value};

pub(super) fn bitcount(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> Result<Reply, CommandError> {
    let key = args.next_key()?;
    // Like Redis 7.0: a missing key counts 0 before the range is even parsed.
    let Some(s) = ctx.db.get_as::<CompactBytes>(key, ctx.now)? else { return Ok(Reply::Int(0)) };
    let range = match args.remaining() {
        0 => BitRange::resolve(0, None, Unit::Byte, s.len()),
        2 | 3 => {
            let start = args.next_i64()?;
            let end = args.next_i64()?;
            if start < 0 && end < 0 && start > end {
                return Ok(Reply::Int(0));
            }
            let unit = parse_unit(&mut args)?;
            BitRange::resolve(start, Some(end), unit, s.len())
        }
        _ => return Err(CommandError::Syntax),
    };
    let Some(r) = range else { return Ok(Reply::Int(0)) };
    let mut count = popcount(&s[r.start..=r.end]);
    // Bits of the edge bytes outside a BIT range are subtracted.
    count -= u64::from((s[r.start] & r.first_mask).count_ones());
    count -= u64::from((s[r.end] & r.last_mask).count_ones());
    Ok(Reply::Int(count as i64))
}

pub(super) fn bitfield(ctx: &mut Ctx<'_>, args: Args<'_>) -> Result<Reply, CommandError> {
    bitfield_generic(ctx, args, false)
}

pub(super) fn bitfield_ro(ctx: &mut Ctx<'_>, args: Args<'_>) -> Result<Reply, CommandError> {
    bitfield_generic(ctx, args, true)
}

/// `BITOP AND|OR|XOR|NOT|DIFF|DIFF1|ANDOR|ONE destkey key [key ...]`: missing keys are empty strings,
/// shorter strings are zero-padded; an empty result deletes `destkey`. Always counts as a change, like
/// Redis 7.0. DIFF (first and none of the others), DIFF1 (any of the others but not the first), ANDOR
/// (first and any of the others) and ONE (exactly one source) are Redis 8.2's.
pub(super) fn bitop(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> Result<Reply, CommandError> {
    const OPS: [BitOp; 8] = [
        BitOp::And,
        BitOp::Or,
        BitOp::Xor,
        BitOp::Not,
        BitOp::Diff,
        BitOp::Diff1,
        BitOp::AndOr,
        BitOp::One,
    ];
    let op = args
        .keyword(&["AND", "OR", "XOR", "NOT", "DIFF", "DIFF1", "ANDOR", "ONE"])
        .map(|i| OPS[i])
        .ok_or(CommandError::Syntax)?;
    let dest = args.next_key()?;
    let keys = args.rest();
    if op == BitOp::Not && keys.len() != 1 {
        return Err(CommandError::custom("ERR BITOP NOT must be called with a single source key."));
    }
    if matches!(op, BitOp::Diff | BitOp::Diff1 | BitOp::AndOr) && keys.len() < 2 {
        let name = match op {
            BitOp::Diff => "DIFF",
            BitOp::Diff1 => "DIFF1",
            _ => "ANDOR",
        };
        return Err(CommandError::custom(format!(
            "ERR BITOP {name} must be called with at least two source keys."
        )));
    }
    let now = ctx.now;
    let mut sources: Vec<Bytes> = Vec::with_capacity(keys.len());
    for k in keys {
        sources
            .push(ctx.db.get_as::<CompactBytes>(k, now)?.map_or_else(Bytes::new, |s| s.to_bytes()));
    }
    let maxlen = sources.iter().map(Bytes::len).max().unwrap_or(0);
    if maxlen == 0 {
        ctx.db.remove(dest, now);
    } else {
        let out = bit_operation(op, &sources, maxlen);
        ctx.db.insert(dest, Entry::new(Value::Str(CompactBytes::from_vec(out))), now);
    }
    ctx.mark_dirty(1);
    Ok(Reply::Int(maxlen as i64))
}

/// `BITPOS key bit [start [end [BYTE|BIT]]]`: the first bit set to `bit` in the range. Without an explicit
/// end, the string is taken as padded with zeros on the right (a search for 0 in all ones finds the bit
/// just past the end); with one, not finding the bit answers -1.
pub(super) fn bitpos(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> Result<Reply, CommandError> {
    let key = args.next_key()?;
    let bit = args.next_i64()?;
    if bit != 0 && bit != 1 {
        return Err(CommandError::custom("ERR The bit argument must be 1 or 0."));
    }
    let bit = bit == 1;
    let Some(s) = ctx.db.get_as::<CompactBytes>(key, ctx.now)? else {
        return Ok(Reply::Int(if bit { -1 } else { 0 }));
    };
    let (range, end_given) = match args.remaining() {
        0 => (BitRange::resolve(0, None, Unit::Byte, s.len()), false),
        1..=3 => {
            let start = args.next_i64()?;
            let end_arg = if args.is_empty() { None } else { Some(args.next_bytes()?) };
            let unit = parse_unit(&mut args)?;
            let end = end_arg.map(|e| parse_i64(e).ok_or(CommandError::NotInteger)).transpose()?;
            (BitRange::resolve(start, end, unit, s.len()), end.is_some())
        }
        _ => return Err(CommandError::Syntax),
    };
    let Some(r) = range else { return Ok(Reply::Int(-1)) };
    // The range's edge bytes, with their bits outside it forced to the opposite of `bit`; the bytes
    // between them are searched a word at a time.
    let edge = |i: usize, mask: u8| if bit { s[i] & !mask } else { s[i] | mask };
    let skip = if bit { 0x00 } else { 0xff };
    let first = if r.start == r.end {
        edge(r.start, r.first_mask | r.last_mask)
    } else {
        edge(r.start, r.first_mask)
    };
    let found = if first != skip {
        Some((r.start, first))
    } else if r.start == r.end {
        None
    } else if let Some(i) = first_byte_not(&s[r.start + 1..r.end], skip) {
        Some((r.start + 1 + i, s[r.start + 1 + i]))
    } else {
        Some((r.end, edge(r.end, r.last_mask))).filter(|&(_, b)| b != skip)
    };
    let pos = match found {
        Some((i, b)) => {
            let lead = if bit { b.leading_zeros() } else { (!b).leading_zeros() };
            (i * 8) as i64 + i64::from(lead)
        }
        None if bit || end_given => -1,
        None => ((r.end + 1) * 8) as i64,
    };
    Ok(Reply::Int(pos))
}

pub(super) fn getbit(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> Result<Reply, CommandError> {
    let key = args.next_key()?;
    let offset = bit_offset(args.next_bytes()?, None)?;
    let s = ctx.db.get_as::<CompactBytes>(key, ctx.now)?;
    let bit = s.is_some_and(|s| get_bits(s, offset, 1) == 1);
    Ok(Reply::Int(i64::from(bit)))
}

pub(super) fn setbit(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> Result<Reply, CommandError> {
    let key = args.next_key()?;
    let offset = bit_offset(args.next_bytes()?, None)?;
    let on = match parse_i64(args.next_bytes()?) {
        Some(v @ (0 | 1)) => v as u64,
        _ => return Err(CommandError::custom("ERR bit is not an integer or out of range")),
    };
    let (old, grown) = edit_bits(ctx, key, offset, |b| {
        let old = get_bits(b, offset, 1);
        set_bits(b, offset, 1, on);
        old
    })?;
    if grown || old != on {
        ctx.mark_dirty(1);
    }
    Ok(Reply::Int(old as i64))
}

// ---- helpers ----

/// A resolved range of a string: inclusive byte indexes, and for a BIT range the bits of the first and
/// last byte that lie outside it (Redis's "negative masks").
#[derive(Debug, Clone, Copy)]
struct BitRange {
    start: usize,
    end: usize,
    first_mask: u8,
    last_mask: u8,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Unit {
    Byte,
    Bit,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum BitOp {
    And,
    Or,
    Xor,
    Not,
    Diff,
    Diff1,
    AndOr,
    One,
}

/// BITOP's result over `sources` zero-padded to `len` bytes.
fn bit_operation(op: BitOp, sources: &[Bytes], len: usize) -> Vec<u8> {
    let (first, rest) = sources.split_first().map_or((&[][..], &[][..]), |(f, r)| (&f[..], r));
    let mut out = vec![0u8; len];
    out[..first.len()].copy_from_slice(first);
    // Folds every other source into `acc`, byte by byte (missing bytes are 0).
    // Folds every other source into `acc`, byte by byte; bytes past a source's end are 0, which only AND
    // has to apply.
    let fold = |acc: &mut [u8], f: &dyn Fn(&mut u8, u8)| {
        for s in rest {
            acc.iter_mut().zip(s.iter()).for_each(|(a, &b)| f(a, b));
        }
    };
    match op {
        BitOp::Not => out.iter_mut().for_each(|b| *b = !*b),
        BitOp::And => {
            for s in rest {
                out.iter_mut().zip(s.iter()).for_each(|(a, &b)| *a &= b);
                out[s.len()..].fill(0);
            }
        }
        BitOp::Or => fold(&mut out, &|a, b| *a |= b),
        BitOp::Xor => fold(&mut out, &|a, b| *a ^= b),
        BitOp::Diff | BitOp::Diff1 | BitOp::AndOr => {
            let mut others = vec![0u8; len];
            fold(&mut others, &|a, b| *a |= b);
            for (o, d) in out.iter_mut().zip(others) {
                *o = match op {
                    BitOp::Diff => *o & !d,
                    BitOp::Diff1 => !*o & d,
                    _ => *o & d,
                };
            }
        }
        BitOp::One => {
            // Bits seen at least once (`out`) and at least twice (`twice`).
            let mut twice = vec![0u8; len];
            for s in rest {
                for (j, &b) in s.iter().enumerate() {
                    twice[j] |= out[j] & b;
                    out[j] |= b;
                }
            }
            out.iter_mut().zip(twice).for_each(|(o, t)| *o &= !t);
        }
    }
    out
}

impl BitRange {
    /// Redis's range rules for BITCOUNT/BITPOS: negative indexes count from the end, both ends are
    /// clamped, a missing `end` is the last byte or bit. `None` when the range is empty.
    fn resolve(start: i64, end: Option<i64>, unit: Unit, len: usize) -> Option<BitRange> {
        let total = if unit == Unit::Bit { (len as i64) << 3 } else { len as i64 };
        let mut start = if start < 0 { start.saturating_add(total) } else { start };
        let mut end = end.unwrap_or(total - 1);
        if end < 0 {
            end = end.saturating_add(total);
        }
        start = start.max(0);
        end = end.max(0).min(total - 1);
        if start > end {
            return None;
        }
        Some(if unit == Unit::Bit {
            BitRange {
                start: (start >> 3) as usize,
                end: (end >> 3) as usize,
                first_mask: !(0xffu8 >> (start & 7)),
                last_mask: ((1u16 << (7 - (end & 7))) - 1) as u8,
            }
        } else {
            BitRange { start: start as usize, end: end as usize, first_mask: 0, last_mask: 0 }
        })
    }
}

/// The optional `BYTE|BIT` word at the end of a BITCOUNT/BITPOS range.
fn parse_unit(args: &mut Args<'_>) -> Result<Unit, CommandError> {
    if args.is_empty() {
        return Ok(Unit::Byte);
    }
    let unit = match args.keyword(&["BYTE", "BIT"]) {
        Some(0) => Unit::Byte,
        Some(_) => Unit::Bit,
        None => return Err(CommandError::Syntax),
    };
    args.finish()?;
    Ok(unit)
}

/// Redis's `getBitOffsetFromArgument`: a non-negative bit offset below 512 MB worth of bits; with
/// `hash_bits`, BITFIELD's `#n` form means `n * bits`.
fn bit_offset(arg: &[u8], hash_bits: Option<u32>) -> Result<u64, CommandError> {
    let err = || CommandError::custom("ERR bit offset is not an integer or out of range");
    let (digits, mul) = match (arg.first(), hash_bits) {
        (Some(b'#'), Some(bits)) => (&arg[1..], i64::from(bits)),
        _ => (arg, 1),
    };
    let offset = parse_i64(digits).ok_or_else(err)?.wrapping_mul(mul);
    if offset < 0 || (offset >> 3) as u64 >= MAX_STRING as u64 {
        return Err(err());
    }
    Ok(offset as u64)
}

/// Runs `f` on the string at `key` grown to hold bit `max_bit` (created if missing), like Redis's
/// `lookupStringForBitCommand`. Returns `f`'s result and whether the key was created or grown.
fn edit_bits<R>(
    ctx: &mut Ctx<'_>,
    key: &[u8],
    max_bit: u64,
    f: impl FnOnce(&mut [u8]) -> R,
) -> Result<(R, bool), CommandError> {
    let len = (max_bit >> 3) as usize + 1;
    let now = ctx.now;
    if let Some(s) = ctx.db.get_mut_as::<CompactBytes>(key, now)? {
        let grown = s.len() < len;
        return Ok((s.edit(len, f), grown));
    }
    let mut v = vec![0u8; len];
    let r = f(&mut v);
    ctx.db.insert(key, Entry::new(Value::Str(CompactBytes::from_vec(v))), now);
    Ok((r, true))
}

/// The index of the first byte of `b` that is not `skip`, comparing 8 bytes at a time.
fn first_byte_not(b: &[u8], skip: u8) -> Option<usize> {
    let word = u64::from_ne_bytes([skip; 8]);
    let mut chunks = b.chunks_exact(8);
    let tail = chunks.remainder();
    let whole = chunks
        .position(|c| u64::from_ne_bytes(c.try_into().unwrap_or([skip; 8])) != word)
        .map_or(b.len() - tail.len(), |i| i * 8);
    b[whole..].iter().position(|&x| x != skip).map(|i| whole + i)
}

/// The number of set bits.
fn popcount(b: &[u8]) -> u64 {
    let chunks = b.chunks_exact(8);
    let tail: u64 = chunks.remainder().iter().map(|x| u64::from(x.count_ones())).sum();
    chunks
        .map(|c| u64::from(u64::from_ne_bytes(c.try_into().unwrap_or([0; 8])).count_ones()))
        .sum::<u64>()
        + tail
}

/// `bits` (1..=64) bits at bit `offset`, most significant first, as an unsigned number; bits past the
/// end of `b` read as 0.
fn get_bits(b: &[u8], offset: u64, bits: u32) -> u64 {
    let mut v = 0u64;
    for i in 0..u64::from(bits) {
        let pos = offset + i;
        let bit = b.get((pos >> 3) as usize).map_or(0, |byte| (byte >> (7 - (pos & 7))) & 1);
        v = (v << 1) | u64::from(bit);
    }
    v
}

/// Stores the low `bits` bits of `v` at bit `offset` (which the caller made room for).
fn set_bits(b: &mut [u8], offset: u64, bits: u32, v: u64) {
    for i in 0..u64::from(bits) {
        let pos = offset + i;
        let bit = (v >> (u64::from(bits) - 1 - i)) & 1;
        let mask = 1u8 << (7 - (pos & 7));
        let byte = &mut b[(pos >> 3) as usize];
        if bit == 1 {
            *byte |= mask;
        } else {
            *byte &= !mask;
        }
    }
}

/// BITFIELD's integer type: signedness and width.
#[derive(Debug, Clone, Copy)]
struct FieldType {
    signed: bool,
    bits: u32,
}

impl FieldType {
    /// `i1`..`i64` or `u1`..`u63` (lower case only, like Redis).
    fn parse(arg: &[u8]) -> Result<FieldType, CommandError> {
        let err = || {
            CommandError::custom(
                "ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.",
            )
        };
        let signed = match arg.first() {
            Some(b'i') => true,
            Some(b'u') => false,
            _ => return Err(err()),
        };
        let bits = parse_i64(&arg[1..]).ok_or_else(err)?;
        if bits < 1 || bits > if signed { 64 } else { 63 } {
            return Err(err());
        }
        Ok(FieldType { signed, bits: bits as u32 })
    }

    fn min(self) -> i128 {
        if self.signed { -(1i128 << (self.bits - 1)) } else { 0 }
    }

    fn max(self) -> i128 {
        if self.signed { (1i128 << (self.bits - 1)) - 1 } else { (1i128 << self.bits) - 1 }
    }

    /// The raw field as this type's value.
    fn decode(self, raw: u64) -> i128 {
        if self.signed && self.bits < 64 && raw >> (self.bits - 1) & 1 == 1 {
            i128::from(raw) - (1i128 << self.bits)
        } else if self.signed {
            i128::from(raw as i64)
        } else {
            i128::from(raw)
        }
    }

    /// `v` fitted into this type by `overflow`: `None` when it does not fit and the policy is FAIL.
    fn fit(self, v: i128, overflow: Overflow) -> Option<i128> {
        if (self.min()..=self.max()).contains(&v) {
            return Some(v);
        }
        match overflow {
            Overflow::Fail => None,
            Overflow::Sat => Some(if v > self.max() { self.max() } else { self.min() }),
            Overflow::Wrap => Some(self.decode((v as u64) & (u64::MAX >> (64 - self.bits)))),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Overflow {
    Wrap,
    Sat,
    Fail,
}

#[derive(Debug, Clone, Copy)]
enum FieldOp {
    Get,
    Set(i64),
    IncrBy(i64),
}

/// One parsed BITFIELD operation.
#[derive(Debug, Clone, Copy)]
struct Field {
    op: FieldOp,
    ty: FieldType,
    offset: u64,
    overflow: Overflow,
}

/// Parses every operation first (errors before any change), like Redis.
fn parse_fields(args: &mut Args<'_>) -> Result<Vec<Field>, CommandError> {
    let mut fields = Vec::new();
    let mut overflow = Overflow::Wrap;
    while let Some(w) = args.next_word() {
        let left = args.remaining();
        let op = if w.is("GET") && left >= 2 {
            FieldOp::Get
        } else if w.is("SET") && left >= 3 {
            FieldOp::Set(0)
        } else if w.is("INCRBY") && left >= 3 {
            FieldOp::IncrBy(0)
        } else if w.is("OVERFLOW") && left >= 1 {
            overflow = match args.keyword(&["WRAP", "SAT", "FAIL"]) {
                Some(0) => Overflow::Wrap,
                Some(1) => Overflow::Sat,
                Some(_) => Overflow::Fail,
                None => {
                    return Err(CommandError::custom("ERR Invalid OVERFLOW type specified"));
                }
            };
            continue;
        } else {
            return Err(CommandError::Syntax);
        };
        let ty = FieldType::parse(args.next_bytes()?)?;
        let offset = bit_offset(args.next_bytes()?, Some(ty.bits))?;
        let op = match op {
            FieldOp::Get => FieldOp::Get,
            FieldOp::Set(_) => FieldOp::Set(args.next_i64()?),
            FieldOp::IncrBy(_) => FieldOp::IncrBy(args.next_i64()?),
        };
        fields.push(Field { op, ty, offset, overflow });
    }
    Ok(fields)
}

fn bitfield_generic(
    ctx: &mut Ctx<'_>,
    mut args: Args<'_>,
    read_only: bool,
) -> Result<Reply, CommandError> {
    let key = args.next_key()?;
    let fields = parse_fields(&mut args)?;
    let highest_write = fields
        .iter()
        .filter(|f| !matches!(f.op, FieldOp::Get))
        .map(|f| f.offset + u64::from(f.ty.bits) - 1)
        .max();
    let Some(highest_write) = highest_write else {
        let s = ctx.db.get_as::<CompactBytes>(key, ctx.now)?.map_or(&[][..], |s| s.as_bytes());
        let out = fields
            .iter()
            .map(|f| Reply::Int(f.ty.decode(get_bits(s, f.offset, f.ty.bits)) as i64))
            .collect();
        return Ok(Reply::Array(out));
    };
    if read_only {
        return Err(CommandError::custom("ERR BITFIELD_RO only supports the GET subcommand"));
    }
    // Redis counts a write as a change when the string was created or grown, or the field changed; a
    // write refused by OVERFLOW FAIL is no change.
    let ((out, written, changed), grown) = edit_bits(ctx, key, highest_write, |b| {
        let (mut written, mut changed) = (0, 0);
        let out: Vec<Reply> = fields
            .iter()
            .map(|f| {
                let old = f.ty.decode(get_bits(b, f.offset, f.ty.bits));
                let (new, reply) = match f.op {
                    FieldOp::Get => return Reply::Int(old as i64),
                    FieldOp::Set(v) => {
                        // An unsigned field takes the argument as its 64-bit pattern, like Redis.
                        let v = if f.ty.signed { i128::from(v) } else { i128::from(v as u64) };
                        (f.ty.fit(v, f.overflow), old)
                    }
                    FieldOp::IncrBy(by) => {
                        let new = f.ty.fit(old + i128::from(by), f.overflow);
                        (new, new.unwrap_or(0))
                    }
                };
                let Some(new) = new else { return Reply::Nil };
                set_bits(b, f.offset, f.ty.bits, new as u64);
                written += 1;
                changed += u64::from(new != old);
                Reply::Int(reply as i64)
            })
            .collect();
        (out, written, changed)
    })?;
    ctx.mark_dirty(if grown { written } else { changed });
    Ok(Reply::Array(out))
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    use crate::{ClientState, Engine, ManualClock, Propagate, ServerInfo};

    type Log = Arc<Mutex<Vec<Vec<Bytes>>>>;

    struct Sink(Log);

    impl Propagate for Sink {
        fn propagate(&mut self, argv: &[Bytes]) {
            self.0.lock().unwrap().push(argv.to_vec());
        }
    }

    /// An engine whose propagated commands are logged (shared with the HyperLogLog tests).
    pub(in crate::command) struct T {
        engine: Engine,
        client: ClientState,
        log: Log,
    }

    impl T {
        pub(in crate::command) fn new() -> T {
            let mut engine =
                Engine::new(Arc::new(ManualClock::new(1_700_000_000_000)), ServerInfo::default());
            let log: Log = Arc::default();
            engine.set_propagation(Box::new(Sink(log.clone())));
            let client = engine.new_client("test".into());
            T { engine, client, log }
        }

        pub(in crate::command) fn run(&mut self, args: &[&str]) -> Reply {
            let argv: Vec<Bytes> =
                args.iter().map(|a| Bytes::copy_from_slice(a.as_bytes())).collect();
            self.engine.execute(&mut self.client, &argv)
        }

        /// The commands propagated so far, as text.
        pub(in crate::command) fn log(&self) -> Vec<String> {
            self.log
                .lock()
                .unwrap()
                .iter()
                .map(|c| c.iter().map(|a| String::from_utf8_lossy(a)).collect::<Vec<_>>().join(" "))
                .collect()
        }

        /// Runs every propagated command on a fresh engine (as an AOF replay would) and returns it.
        pub(in crate::command) fn replay(&self) -> T {
            let mut b = T::new();
            for argv in self.log.lock().unwrap().clone() {
                assert!(!b.engine.execute(&mut b.client, &argv).is_error(), "{argv:?}");
            }
            b
        }

        pub(in crate::command) fn get(&mut self, key: &str) -> Reply {
            self.run(&["GET", key])
        }
    }

    #[test]
    fn only_changes_propagate_and_replay_gives_the_same_bytes() {
        let mut t = T::new();
        t.run(&["SETBIT", "b", "9", "1"]);
        t.run(&["SETBIT", "b", "9", "1"]);
        t.run(&["SETBIT", "b", "3", "0"]);
        t.run(&["SETBIT", "b", "30", "0"]);
        t.run(&["BITFIELD", "f", "SET", "u8", "0", "7", "INCRBY", "i5", "20", "3"]);
        t.run(&["BITFIELD", "f", "SET", "u8", "0", "7"]);
        t.run(&["BITFIELD", "f", "OVERFLOW", "FAIL", "INCRBY", "u8", "0", "300"]);
        t.run(&["BITFIELD", "f", "GET", "u8", "0"]);
        t.run(&["BITOP", "OR", "o", "b", "f"]);
        t.run(&["BITOP", "AND", "gone", "missing"]);
        assert_eq!(
            t.log(),
            [
                "SETBIT b 9 1",
                "SETBIT b 30 0",
                "BITFIELD f SET u8 0 7 INCRBY i5 20 3",
                "BITOP OR o b f",
                "BITOP AND gone missing",
            ]
        );
        t.run(&["SETBIT", "b", "1000", "1"]);
        t.run(&["BITFIELD", "f", "INCRBY", "u16", "#40", "65535"]);
        let mut b = t.replay();
        for key in ["b", "f", "o"] {
            assert_eq!(t.get(key), b.get(key), "{key}");
        }
    }

    #[test]
    fn setbit_grows_a_long_string_in_place() {
        let mut t = T::new();
        for i in 0..40_000u32 {
            t.run(&["SETBIT", "b", &(i * 8 + 7).to_string(), "1"]);
        }
        assert_eq!(t.run(&["BITCOUNT", "b"]), Reply::Int(40_000));
        assert_eq!(t.run(&["STRLEN", "b"]), Reply::Int(40_000));
        assert_eq!(
            t.run(&["GETRANGE", "b", "39998", "-1"]),
            Reply::Bulk(Bytes::from(&[1u8, 1][..]))
        );
    }

    #[test]
    fn bits_round_trip_msb_first() {
        let mut b = [0u8; 3];
        set_bits(&mut b, 3, 10, 0b10_1100_1101);
        assert_eq!(get_bits(&b, 3, 10), 0b10_1100_1101);
        assert_eq!(b, [0b0001_0110, 0b0110_1000, 0]);
        assert_eq!(get_bits(&b, 20, 64), 0);
    }

    #[test]
    fn overflow_policies() {
        let i8t = FieldType { signed: true, bits: 8 };
        assert_eq!(i8t.fit(128, Overflow::Wrap), Some(-128));
        assert_eq!(i8t.fit(128, Overflow::Sat), Some(127));
        assert_eq!(i8t.fit(-129, Overflow::Sat), Some(-128));
        assert_eq!(i8t.fit(128, Overflow::Fail), None);
        let u4 = FieldType { signed: false, bits: 4 };
        assert_eq!(u4.fit(17, Overflow::Wrap), Some(1));
        assert_eq!(u4.fit(-1, Overflow::Wrap), Some(15));
        assert_eq!(u4.fit(-1, Overflow::Sat), Some(0));
        let i64t = FieldType { signed: true, bits: 64 };
        assert_eq!(i64t.fit(i128::from(i64::MAX) + 1, Overflow::Wrap), Some(i128::from(i64::MIN)));
    }
}
