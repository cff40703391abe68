//! The string family: GET, SET and friends, counters, ranges.

use bytes::Bytes;
use larder_resp::Reply;

use super::args::parse_i64;
use super::{Args, Ctx};
use crate::error::CommandError;
use crate::keyspace::Entry;
use crate::ldouble;
use crate::value::{CompactBytes, Value};

/// Redis's `proto-max-bulk-len`: the largest string a command may build.
pub const MAX_STRING: usize = 512 * 1024 * 1024;

pub(super) fn append(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> Result<Reply, CommandError> {
    let key = args.next_key()?;
    let tail = args.next_bytes()?;
    let now = ctx.now;
    let len = match ctx.db.get_mut_as::<CompactBytes>(key, now)? {
        Some(s) => {
            if s.len() + tail.len() > MAX_STRING {
                return Err(CommandError::StringTooLong);
            }
            let mut b = Vec::with_capacity(s.len() + tail.len());
            b.extend_from_slice(s);
            b.extend_from_slice(tail);
            *s = CompactBytes::from_vec(b);
            s.len()
        }
        None => {
            ctx.db.insert(key, Entry::new(Value::string(tail)), now);
            tail.len()
        }
    };
    ctx.mark_dirty(1);
    Ok(Reply::Int(len as i64))
}

pub(super) fn decr(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> Result<Reply, CommandError> {
    let key = args.next_key()?;
    incr_by(ctx, key, -1)
}

pub(super) fn decrby(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> Result<Reply, CommandError> {
    let key = args.next_key()?;
    let by = args.next_i64()?;
    let by =
        by.checked_neg().ok_or_else(|| CommandError::custom("ERR decrement would overflow"))?;
    incr_by(ctx, key, by)
}

pub(super) fn get(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> Result<Reply, CommandError> {
    let key = args.next_key()?;
    Ok(Reply::bulk_or_nil(get_string(ctx, key)?))
}

pub(super) fn getdel(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> Result<Reply, CommandError> {
    let key = args.next_key()?;
    let Some(v) = get_string(ctx, key)? else { return Ok(Reply::Nil) };
    ctx.db.remove(key, ctx.now);
    ctx.mark_dirty(1);
    ctx.propagate(vec![Bytes::from_static(b"DEL"), key.clone()]);
    Ok(Reply::Bulk(v))
}

/// `GETEX key [EX s | PX ms | EXAT s | PXAT ms | PERSIST]`. Like Redis: options are read first (an option
/// may repeat, the last wins), then the key (missing → nil), then its type, then the time's value.
pub(super) fn getex(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> Result<Reply, CommandError> {
    let key = args.next_key()?;
    let mut persist = false;
    let mut expire: Option<(ExpireUnit, &Bytes)> = None;
    while let Some(w) = args.next_word() {
        if w.is("PERSIST") && expire.is_none() {
            persist = true;
        } else if let Some(unit) =
            ExpireUnit::parse(w).filter(|u| !persist && expire.is_none_or(|(e, _)| e == *u))
        {
            expire = Some((unit, args.next_bytes().map_err(|_| CommandError::Syntax)?));
        } else {
            return Err(CommandError::Syntax);
        }
    }
    let Some(v) = get_string(ctx, key)? else { return Ok(Reply::Nil) };
    let at = match expire {
        Some((unit, n)) => Some(expire_ms(unit, n, ctx.now, "getex")?),
        None => None,
    };
    match at {
        None if persist && ctx.db.set_expire(key, None, ctx.now) => {
            ctx.mark_dirty(1);
            ctx.propagate(vec![Bytes::from_static(b"PERSIST"), key.clone()]);
        }
        None => {}
        Some(at) if at <= ctx.now as i64 => {
            ctx.db.remove(key, ctx.now);
            ctx.mark_dirty(1);
            ctx.propagate(vec![Bytes::from_static(b"DEL"), key.clone()]);
        }
        Some(at) => {
            ctx.db.set_expire(key, Some(at as u64), ctx.now);
            ctx.mark_dirty(1);
            ctx.propagate(vec![Bytes::from_static(b"PEXPIREAT"), key.clone(), int_bytes(at)]);
        }
    }
    Ok(Reply::Bulk(v))
}

pub(super) fn getrange(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> Result<Reply, CommandError> {
    let key = args.next_key()?;
    let start = args.next_i64()?;
    let end = args.next_i64()?;
    let s = get_string(ctx, key)?.unwrap_or_default();
    Ok(Reply::Bulk(match clamp_range(start, end, s.len()) {
        Some((a, b)) => s.slice(a..=b),
        None => Bytes::new(),
    }))
}

pub(super) fn getset(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> Result<Reply, CommandError> {
    let key = args.next_key()?;
    let value = args.next_bytes()?;
    let old = get_string(ctx, key)?;
    ctx.db.insert(key, Entry::new(Value::string(value)), ctx.now);
    ctx.mark_dirty(1);
    Ok(Reply::bulk_or_nil(old))
}

pub(super) fn incr(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> Result<Reply, CommandError> {
    let key = args.next_key()?;
    incr_by(ctx, key, 1)
}

pub(super) fn incrby(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> Result<Reply, CommandError> {
    let key = args.next_key()?;
    let by = args.next_i64()?;
    incr_by(ctx, key, by)
}

pub(super) fn incrbyfloat(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> Result<Reply, CommandError> {
    let key = args.next_key()?;
    let by = args.next_bytes()?;
    // Like Redis: the key's type is checked before the increment is parsed.
    let current = get_string(ctx, key)?;
    let by = ldouble::parse(by).ok_or(CommandError::NotFloat)?;
    let current = match current {
        Some(s) => ldouble::parse(&s).ok_or(CommandError::NotFloat)?,
        None => ldouble::LongDouble::ZERO,
    };
    let text = Bytes::from(incr_float_text(current, by)?);
    let now = ctx.now;
    match ctx.db.get_mut(key, now) {
        Some(e) => e.value = Value::string(&text),
        None => {
            ctx.db.insert(key, Entry::new(Value::string(&text)), now);
        }
    }
    ctx.mark_dirty(1);
    ctx.propagate(vec![
        Bytes::from_static(b"SET"),
        key.clone(),
        text.clone(),
        Bytes::from_static(b"KEEPTTL"),
    ]);
    Ok(Reply::Bulk(text))
}

pub(super) fn mget(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> Result<Reply, CommandError> {
    let keys = args.rest();
    let now = ctx.now;
    let out = keys
        .iter()
        .map(|k| match ctx.db.get(k, now) {
            Some(Entry { value: Value::Str(s), .. }) => Reply::Bulk(s.to_bytes()),
            _ => Reply::Nil,
        })
        .collect();
    Ok(Reply::Array(out))
}

pub(super) fn mset(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> Result<Reply, CommandError> {
    let pairs = args.rest();
    if !pairs.len().is_multiple_of(2) {
        return Err(CommandError::WrongArity("mset".into()));
    }
    for kv in pairs.chunks_exact(2) {
        ctx.db.insert(&kv[0], Entry::new(Value::string(&kv[1])), ctx.now);
    }
    ctx.mark_dirty(pairs.len() as u64 / 2);
    Ok(Reply::OK)
}

pub(super) fn msetnx(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> Result<Reply, CommandError> {
    let pairs = args.rest();
    if !pairs.len().is_multiple_of(2) {
        return Err(CommandError::WrongArity("msetnx".into()));
    }
    let now = ctx.now;
    if pairs.chunks_exact(2).any(|kv| ctx.db.contains(&kv[0], now)) {
        return Ok(Reply::Int(0));
    }
    for kv in pairs.chunks_exact(2) {
        ctx.db.insert(&kv[0], Entry::new(Value::string(&kv[1])), now);
    }
    ctx.mark_dirty(pairs.len() as u64 / 2);
    Ok(Reply::Int(1))
}

pub(super) fn psetex(ctx: &mut Ctx<'_>, args: Args<'_>) -> Result<Reply, CommandError> {
    set_with_ttl(ctx, args, ExpireUnit::Px, "psetex")
}

/// `SET key value [NX | XX] [GET] [EX s | PX ms | EXAT s | PXAT ms | KEEPTTL]`
pub(super) fn set(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> Result<Reply, CommandError> {
    let key = args.next_key()?;
    let value = args.next_bytes()?;
    let opts = SetOptions::parse(&mut args, ctx.now)?;
    opts.exec(ctx, key, value)
}

pub(super) fn setex(ctx: &mut Ctx<'_>, args: Args<'_>) -> Result<Reply, CommandError> {
    set_with_ttl(ctx, args, ExpireUnit::Ex, "setex")
}

pub(super) fn setnx(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> Result<Reply, CommandError> {
    let key = args.next_key()?;
    let value = args.next_bytes()?;
    if ctx.db.contains(key, ctx.now) {
        return Ok(Reply::Int(0));
    }
    ctx.db.insert(key, Entry::new(Value::string(value)), ctx.now);
    ctx.mark_dirty(1);
    Ok(Reply::Int(1))
}

pub(super) fn setrange(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> Result<Reply, CommandError> {
    let key = args.next_key()?;
    let offset = args.next_i64()?;
    let patch = args.next_bytes()?;
    if offset < 0 {
        return Err(CommandError::custom("ERR offset is out of range"));
    }
    let offset = offset as usize;
    let current = get_string(ctx, key)?;
    if patch.is_empty() {
        return Ok(Reply::Int(current.map_or(0, |s| s.len()) as i64));
    }
    if offset + patch.len() > MAX_STRING {
        return Err(CommandError::StringTooLong);
    }
    let current = current.unwrap_or_default();
    let mut b = current.to_vec();
    if b.len() < offset + patch.len() {
        b.resize(offset + patch.len(), 0);
    }
    b[offset..offset + patch.len()].copy_from_slice(patch);
    let len = b.len();
    let now = ctx.now;
    match ctx.db.get_mut(key, now) {
        Some(e) => e.value = Value::Str(CompactBytes::from_vec(b)),
        None => {
            ctx.db.insert(key, Entry::new(Value::Str(CompactBytes::from_vec(b))), now);
        }
    }
    ctx.mark_dirty(1);
    Ok(Reply::Int(len as i64))
}

pub(super) fn strlen(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> Result<Reply, CommandError> {
    let key = args.next_key()?;
    Ok(Reply::Int(get_string(ctx, key)?.map_or(0, |s| s.len()) as i64))
}

// ---- helpers ----

/// The string at `key`: `None` if missing, `WRONGTYPE` if it holds another type.
pub(crate) fn get_string(ctx: &mut Ctx<'_>, key: &[u8]) -> Result<Option<Bytes>, CommandError> {
    Ok(ctx.db.get_as::<CompactBytes>(key, ctx.now)?.map(CompactBytes::to_bytes))
}

/// Copies an argument into its own allocation, so a stored value never pins a large request buffer.
pub(crate) fn copy(b: &Bytes) -> Bytes {
    Bytes::copy_from_slice(b)
}

/// The decimal text of an integer.
pub(crate) fn int_bytes(n: i64) -> Bytes {
    Bytes::from(n.to_string())
}

/// The decimal text of an integer as a stored string, built without an allocation.
fn int_value(n: i64) -> CompactBytes {
    use std::io::Write;
    let mut buf = [0u8; 20];
    let mut w = &mut buf[..];
    // An i64 takes at most 20 characters: the write cannot fail.
    let _ = write!(w, "{n}");
    let len = 20 - w.len();
    CompactBytes::new(&buf[..len])
}

fn incr_by(ctx: &mut Ctx<'_>, key: &Bytes, by: i64) -> Result<Reply, CommandError> {
    let now = ctx.now;
    let current = match ctx.db.get_as::<CompactBytes>(key, now)? {
        Some(s) => parse_i64(s).ok_or(CommandError::NotInteger)?,
        None => 0,
    };
    let v = current.checked_add(by).ok_or(CommandError::Overflow)?;
    let text = int_value(v);
    match ctx.db.get_mut(key, now) {
        Some(e) => e.value = Value::Str(text),
        None => {
            ctx.db.insert(key, Entry::new(Value::Str(text)), now);
        }
    }
    ctx.mark_dirty(1);
    Ok(Reply::Int(v))
}

/// `INCRBYFLOAT`/`HINCRBYFLOAT`: the sum in Redis's long-double arithmetic, as the text Redis stores
/// (`%.17Lf` with trailing zeros removed), or the error for a NaN or infinite result.
pub(crate) fn incr_float_text(
    current: ldouble::LongDouble,
    by: ldouble::LongDouble,
) -> Result<String, CommandError> {
    let v = current.add(by);
    if !v.is_finite() {
        return Err(CommandError::NanOrInfinity);
    }
    Ok(v.to_redis_string())
}

fn set_with_ttl(
    ctx: &mut Ctx<'_>,
    mut args: Args<'_>,
    unit: ExpireUnit,
    cmd: &'static str,
) -> Result<Reply, CommandError> {
    let key = args.next_key()?;
    let n = args.next_i64()?;
    let value = args.next_bytes()?;
    if n <= 0 {
        return Err(CommandError::InvalidExpire(cmd));
    }
    let at = unit.absolute_ms(n, ctx.now, cmd)?;
    let opts = SetOptions { expire: Some(Expiry::At(at)), ..SetOptions::default() };
    opts.exec(ctx, key, value)
}

/// Redis's `getExpireMillisecondsOrReply`: the time argument of SET/GETEX as absolute Unix ms; it must be
/// a positive integer whose millisecond value does not overflow.
fn expire_ms(unit: ExpireUnit, n: &[u8], now: u64, cmd: &'static str) -> Result<i64, CommandError> {
    let n = parse_i64(n).ok_or(CommandError::NotInteger)?;
    if n <= 0 {
        return Err(CommandError::InvalidExpire(cmd));
    }
    unit.absolute_ms(n, now, cmd)
}

/// Normalises Redis's `start`/`end` (inclusive, negative from the end) over a length. `None` = empty.
pub(crate) fn clamp_range(start: i64, end: i64, len: usize) -> Option<(usize, usize)> {
    let len = len as i64;
    if len == 0 || (start < 0 && end < 0 && start > end) {
        return None;
    }
    let mut s = if start < 0 { len + start } else { start };
    let mut e = if end < 0 { len + end } else { end };
    s = s.max(0);
    e = e.max(0);
    if e >= len {
        e = len - 1;
    }
    if s > e { None } else { Some((s as usize, e as usize)) }
}

/// The unit of an expiry option.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum ExpireUnit {
    Ex,
    Px,
    ExAt,
    PxAt,
}

impl ExpireUnit {
    fn parse(w: super::args::Word<'_>) -> Option<ExpireUnit> {
        Some(if w.is("EX") {
            ExpireUnit::Ex
        } else if w.is("PX") {
            ExpireUnit::Px
        } else if w.is("EXAT") {
            ExpireUnit::ExAt
        } else if w.is("PXAT") {
            ExpireUnit::PxAt
        } else {
            return None;
        })
    }

    /// The absolute Unix time in ms that `n` in this unit means at `now`, or Redis's invalid-expire error
    /// on overflow. May be in the past (even negative).
    pub(crate) fn absolute_ms(
        self,
        n: i64,
        now: u64,
        cmd: &'static str,
    ) -> Result<i64, CommandError> {
        let invalid = || CommandError::InvalidExpire(cmd);
        let ms = match self {
            ExpireUnit::Ex | ExpireUnit::ExAt => n.checked_mul(1000).ok_or_else(invalid)?,
            ExpireUnit::Px | ExpireUnit::PxAt => n,
        };
        match self {
            ExpireUnit::Ex | ExpireUnit::Px => ms.checked_add(now as i64).ok_or_else(invalid),
            ExpireUnit::ExAt | ExpireUnit::PxAt => Ok(ms),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Expiry {
    /// Absolute Unix ms.
    At(i64),
    KeepTtl,
}

#[derive(Debug, Clone, Copy, PartialEq, Default)]
enum Condition {
    #[default]
    Always,
    IfMissing,
    IfExists,
}

#[derive(Debug, Default)]
struct SetOptions {
    condition: Condition,
    get: bool,
    expire: Option<Expiry>,
}

impl SetOptions {
    /// Like Redis, options are read first — an option may repeat (the last one wins) but may not conflict
    /// with another kind (`NX` with `XX`, `EX` with `PX`, `KEEPTTL` with `EX`, ...) — and only then is the
    /// time's value checked.
    fn parse(args: &mut Args<'_>, now: u64) -> Result<SetOptions, CommandError> {
        let mut o = SetOptions::default();
        let mut keepttl = false;
        let mut expire: Option<(ExpireUnit, &Bytes)> = None;
        while let Some(w) = args.next_word() {
            if w.is("NX") && o.condition != Condition::IfExists {
                o.condition = Condition::IfMissing;
            } else if w.is("XX") && o.condition != Condition::IfMissing {
                o.condition = Condition::IfExists;
            } else if w.is("GET") {
                o.get = true;
            } else if w.is("KEEPTTL") && expire.is_none() {
                keepttl = true;
            } else if let Some(unit) =
                ExpireUnit::parse(w).filter(|u| !keepttl && expire.is_none_or(|(e, _)| e == *u))
                && !args.is_empty()
            {
                expire = Some((unit, args.next_bytes()?));
            } else {
                return Err(CommandError::Syntax);
            }
        }
        o.expire = match expire {
            Some((unit, n)) => Some(Expiry::At(expire_ms(unit, n, now, "set")?)),
            None if keepttl => Some(Expiry::KeepTtl),
            None => None,
        };
        Ok(o)
    }

    fn exec(self, ctx: &mut Ctx<'_>, key: &Bytes, value: &Bytes) -> Result<Reply, CommandError> {
        let now = ctx.now;
        let old = if self.get { get_string(ctx, key)? } else { None };
        let exists = ctx.db.contains(key, now);
        let blocked = match self.condition {
            Condition::Always => false,
            Condition::IfMissing => exists,
            Condition::IfExists => !exists,
        };
        if blocked {
            return Ok(if self.get { Reply::bulk_or_nil(old) } else { Reply::Nil });
        }
        let expire_at = match self.expire {
            None => None,
            Some(Expiry::KeepTtl) => ctx.db.get(key, now).and_then(Entry::expire_at),
            Some(Expiry::At(at)) => Some(at.max(0) as u64),
        };
        ctx.db.insert(key, Entry::with_expiry(Value::string(value), expire_at), now);
        let value = value.clone();
        ctx.mark_dirty(1);
        let mut argv = vec![Bytes::from_static(b"SET"), key.clone(), value];
        match self.expire {
            Some(Expiry::At(at)) => argv.extend([Bytes::from_static(b"PXAT"), int_bytes(at)]),
            Some(Expiry::KeepTtl) => argv.push(Bytes::from_static(b"KEEPTTL")),
            None => {}
        }
        ctx.propagate(argv);
        Ok(if self.get { Reply::bulk_or_nil(old) } else { Reply::OK })
    }
}
