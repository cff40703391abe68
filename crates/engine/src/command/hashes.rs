//! The hash family: fields and values, counters, random fields, HSCAN, and hash-field expiry (Redis 7.4's
//! HEXPIRE family, Redis 8.0's HGETDEL/HGETEX/HSETEX).
//!
//! Expired fields never reach a handler: the keyspace removes them on every access to the key (and
//! propagates them as `HDEL`), and deletes a hash whose fields have all expired.

use std::collections::HashSet;

use bytes::Bytes;
use larder_resp::{Protocol, Reply};
use rand::Rng;

use super::args::parse_i64;
use super::keys::parse_cursor;
use super::strings::{ExpireUnit, incr_float_text, int_bytes};
use super::{Args, Ctx};
use crate::error::CommandError;
use crate::glob::glob_match;
use crate::value::Hash;

/// A hash with at most this many fields is returned by `HSCAN` in one call with cursor 0, like Redis's
/// small (listpack) hashes (`hash-max-listpack-entries`).
const SMALL_HASH: usize = 128;

/// The largest `|count|` a negative `HRANDFIELD` count may ask for: its reply is built in memory.
const MAX_RANDOM_REPEATS: u64 = 1 << 20;

/// Per-field replies of the expiry commands.
const NO_FIELD: i64 = -2;
const NO_TTL: i64 = -1;
const NOT_MET: i64 = 0;
const DONE: i64 = 1;
const DELETED: i64 = 2;

pub(super) fn hdel(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> Result<Reply, CommandError> {
    let key = args.next_key()?;
    let fields = args.rest();
    let now = ctx.now;
    let Some(h) = ctx.db.get_mut_as::<Hash>(key, now)? else { return Ok(Reply::Int(0)) };
    let n = fields.iter().filter(|f| h.remove(f)).count();
    ctx.db.remove_if_empty(key);
    ctx.mark_dirty(n as u64);
    Ok(Reply::Int(n as i64))
}

pub(super) fn hexists(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> Result<Reply, CommandError> {
    let key = args.next_key()?;
    let field = args.next_bytes()?;
    let now = ctx.now;
    let found = ctx.db.get_as::<Hash>(key, now)?.is_some_and(|h| h.contains(field));
    Ok(Reply::Int(found as i64))
}

pub(super) fn hexpire(ctx: &mut Ctx<'_>, args: Args<'_>) -> Result<Reply, CommandError> {
    expire_generic(ctx, args, ExpireUnit::Ex, "hexpire")
}

pub(super) fn hexpireat(ctx: &mut Ctx<'_>, args: Args<'_>) -> Result<Reply, CommandError> {
    expire_generic(ctx, args, ExpireUnit::ExAt, "hexpireat")
}

pub(super) fn hexpiretime(ctx: &mut Ctx<'_>, args: Args<'_>) -> Result<Reply, CommandError> {
    ttl_generic(ctx, args, "hexpiretime", |at, _| at.div_ceil(1000))
}

pub(super) fn hget(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> Result<Reply, CommandError> {
    let key = args.next_key()?;
    let field = args.next_bytes()?;
    let now = ctx.now;
    let v = ctx.db.get_as::<Hash>(key, now)?.and_then(|h| h.get(field)).map(Bytes::copy_from_slice);
    Ok(Reply::bulk_or_nil(v))
}

pub(super) fn hgetall(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> Result<Reply, CommandError> {
    let key = args.next_key()?;
    let now = ctx.now;
    let pairs = match ctx.db.get_as::<Hash>(key, now)? {
        None => Vec::new(),
        Some(h) => {
            let mut out = Vec::with_capacity(h.len());
            h.for_each_shared(|f, v| out.push((Reply::Bulk(f), Reply::Bulk(v))));
            out
        }
    };
    Ok(Reply::Map(pairs))
}

/// `HGETDEL key FIELDS numfields field [field ...]` (Redis 8.0): the values, then the fields are deleted.
pub(super) fn hgetdel(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> Result<Reply, CommandError> {
    let key = args.next_key()?;
    let now = ctx.now;
    let h = ctx.db.get_mut_as::<Hash>(key, now)?;
    let fields = parse_fields(&mut args, NUMFIELDS_POSITIVE, "hgetdel")?;
    let Some(h) = h else {
        return Ok(Reply::Array(vec![Reply::Nil; fields.len()]));
    };
    let mut deleted = Vec::new();
    let out = fields
        .iter()
        .map(|f| {
            let v = h.take(f);
            if v.is_some() {
                deleted.push(f.clone());
            }
            Reply::bulk_or_nil(v)
        })
        .collect();
    ctx.db.remove_if_empty(key);
    if !deleted.is_empty() {
        ctx.mark_dirty(deleted.len() as u64);
        ctx.propagate(hdel_argv(key, deleted));
    }
    Ok(Reply::Array(out))
}

/// `HGETEX key [EX s | PX ms | EXAT s | PXAT ms | PERSIST] FIELDS numfields field [field ...]` (Redis 8.0):
/// the values, and the fields' expiry changed.
pub(super) fn hgetex(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> Result<Reply, CommandError> {
    let key = args.next_key()?;
    let now = ctx.now;
    let h = ctx.db.get_mut_as::<Hash>(key, now)?;
    let change = GetexChange::parse(&mut args, now)?;
    let fields = parse_fields(&mut args, NUMFIELDS_POSITIVE, "hgetex")?;
    let Some(h) = h else {
        return Ok(Reply::Array(vec![Reply::Nil; fields.len()]));
    };
    let (mut updated, mut deleted) = (Vec::new(), Vec::new());
    let mut out = Vec::with_capacity(fields.len());
    for f in fields {
        let v = h.get(f).map(Bytes::copy_from_slice);
        if v.is_some() {
            match change {
                None => {}
                Some(GetexChange::Persist) if h.persist(f) => updated.push(f.clone()),
                Some(GetexChange::Persist) => {}
                Some(GetexChange::At(at)) if at <= now => {
                    h.remove(f);
                    deleted.push(f.clone());
                }
                Some(GetexChange::At(at)) => {
                    h.set_expire_at(f, at);
                    updated.push(f.clone());
                }
            }
        }
        out.push(Reply::bulk_or_nil(v));
    }
    ctx.db.remove_if_empty(key);
    ctx.mark_dirty((updated.len() + deleted.len()) as u64);
    if !deleted.is_empty() {
        ctx.propagate(hdel_argv(key, deleted));
    }
    if !updated.is_empty() {
        match change {
            Some(GetexChange::At(at)) => {
                ctx.db.track_field_expiry(key);
                ctx.propagate(fields_argv(b"HPEXPIREAT", key, Some(at), &updated));
            }
            _ => ctx.propagate(fields_argv(b"HPERSIST", key, None, &updated)),
        }
    }
    Ok(Reply::Array(out))
}

pub(super) fn hincrby(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> Result<Reply, CommandError> {
    let key = args.next_key()?;
    let field = args.next_bytes()?;
    let by = args.next_i64()?;
    let now = ctx.now;
    let h = ctx.db.get_or_create_as::<Hash>(key, now)?;
    let current = match h.get(field) {
        Some(v) => {
            parse_i64(v).ok_or_else(|| CommandError::custom("ERR hash value is not an integer"))?
        }
        None => 0,
    };
    let v = current.checked_add(by).ok_or(CommandError::Overflow)?;
    h.set_keep_ttl(field, &int_bytes(v));
    ctx.mark_dirty(1);
    Ok(Reply::Int(v))
}

pub(super) fn hincrbyfloat(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> Result<Reply, CommandError> {
    let key = args.next_key()?;
    let field = args.next_bytes()?;
    let by = crate::ldouble::parse(args.next_bytes()?).ok_or(CommandError::NotFloat)?;
    if !by.is_finite() {
        return Err(CommandError::custom("ERR value is NaN or Infinity"));
    }
    let now = ctx.now;
    let current = match ctx.db.get_as::<Hash>(key, now)?.and_then(|h| h.get(field)) {
        Some(v) => crate::ldouble::parse(v)
            .ok_or_else(|| CommandError::custom("ERR hash value is not a float"))?,
        None => crate::ldouble::LongDouble::ZERO,
    };
    let text = Bytes::from(incr_float_text(current, by)?);
    let h = ctx.db.get_or_create_as::<Hash>(key, now)?;
    h.set_keep_ttl(field, &text);
    let keeps_ttl = h.expire_at(field).is_some();
    ctx.mark_dirty(1);
    // Replayed as a plain HSET with the resulting text; a field with an expiry time needs HSETEX KEEPTTL,
    // since HSET would discard it.
    ctx.propagate(if keeps_ttl {
        vec![
            Bytes::from_static(b"HSETEX"),
            key.clone(),
            Bytes::from_static(b"KEEPTTL"),
            Bytes::from_static(b"FIELDS"),
            Bytes::from_static(b"1"),
            field.clone(),
            text.clone(),
        ]
    } else {
        vec![Bytes::from_static(b"HSET"), key.clone(), field.clone(), text.clone()]
    });
    Ok(Reply::Bulk(text))
}

pub(super) fn hkeys(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> Result<Reply, CommandError> {
    let key = args.next_key()?;
    let now = ctx.now;
    let out = match ctx.db.get_as::<Hash>(key, now)? {
        None => Vec::new(),
        Some(h) => {
            let mut c = Copies::of(h.iter().map(|(f, _)| f));
            let mut out = Vec::with_capacity(h.len());
            out.extend(h.iter().map(|(f, _)| c.next(f.len())));
            out
        }
    };
    Ok(Reply::Array(out))
}

pub(super) fn hlen(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> Result<Reply, CommandError> {
    let key = args.next_key()?;
    let now = ctx.now;
    Ok(Reply::Int(ctx.db.get_as::<Hash>(key, now)?.map_or(0, |h| h.len()) as i64))
}

pub(super) fn hmget(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> Result<Reply, CommandError> {
    let key = args.next_key()?;
    let fields = args.rest();
    let now = ctx.now;
    let h = ctx.db.get_as::<Hash>(key, now)?;
    let parts: Vec<Option<&[u8]>> = fields.iter().map(|f| h.and_then(|h| h.get(f))).collect();
    let mut c = Copies::of(parts.iter().flatten().copied());
    Ok(Reply::Array(parts.iter().map(|p| p.map_or(Reply::Nil, |p| c.next(p.len()))).collect()))
}

pub(super) fn hmset(ctx: &mut Ctx<'_>, args: Args<'_>) -> Result<Reply, CommandError> {
    set_pairs(ctx, args, "hmset")?;
    Ok(Reply::OK)
}

/// `HPERSIST key FIELDS numfields field [field ...]`: removes the fields' expiry times.
pub(super) fn hpersist(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> Result<Reply, CommandError> {
    let key = args.next_key()?;
    let now = ctx.now;
    let h = ctx.db.get_mut_as::<Hash>(key, now)?;
    let fields = parse_fields(&mut args, NUMFIELDS_POSITIVE, "hpersist")?;
    let Some(h) = h else {
        return Ok(Reply::Array(vec![Reply::Int(NO_FIELD); fields.len()]));
    };
    let mut changed = 0;
    let out = fields
        .iter()
        .map(|f| {
            Reply::Int(if !h.contains(f) {
                NO_FIELD
            } else if h.persist(f) {
                changed += 1;
                DONE
            } else {
                NO_TTL
            })
        })
        .collect();
    ctx.mark_dirty(changed);
    Ok(Reply::Array(out))
}

pub(super) fn hpexpire(ctx: &mut Ctx<'_>, args: Args<'_>) -> Result<Reply, CommandError> {
    expire_generic(ctx, args, ExpireUnit::Px, "hpexpire")
}

pub(super) fn hpexpireat(ctx: &mut Ctx<'_>, args: Args<'_>) -> Result<Reply, CommandError> {
    expire_generic(ctx, args, ExpireUnit::PxAt, "hpexpireat")
}

pub(super) fn hpexpiretime(ctx: &mut Ctx<'_>, args: Args<'_>) -> Result<Reply, CommandError> {
    ttl_generic(ctx, args, "hpexpiretime", |at, _| at)
}

pub(super) fn hpttl(ctx: &mut Ctx<'_>, args: Args<'_>) -> Result<Reply, CommandError> {
    ttl_generic(ctx, args, "hpttl", |at, now| at - now)
}

/// `HRANDFIELD key [count [WITHVALUES]]`: a positive count returns distinct fields (at most the hash's
/// size), a negative one may repeat fields.
pub(super) fn hrandfield(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> Result<Reply, CommandError> {
    let key = args.next_key()?;
    let now = ctx.now;
    if args.is_empty() {
        let Some(h) = ctx.db.get_as::<Hash>(key, now)? else { return Ok(Reply::Nil) };
        return Ok(Reply::bulk_or_nil(
            h.random(&mut ctx.server.rng).map(|(f, _)| Bytes::copy_from_slice(f)),
        ));
    }
    let count = match parse_i64(args.next_bytes()?) {
        None => return Err(CommandError::NotInteger),
        Some(i64::MIN) => {
            return Err(CommandError::custom(
                "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807",
            ));
        }
        Some(n) => n,
    };
    let with_values = match args.next_word() {
        None => false,
        Some(w) if w.is("WITHVALUES") => true,
        Some(_) => return Err(CommandError::Syntax),
    };
    args.finish()?;
    if with_values && !(-(i64::MAX / 2)..=i64::MAX / 2).contains(&count) {
        return Err(CommandError::custom("ERR value is out of range"));
    }
    let resp3 = ctx.client.protocol == Protocol::Resp3;
    let Some(h) = ctx.db.get_as::<Hash>(key, now)? else { return Ok(Reply::Array(Vec::new())) };
    let rng = &mut ctx.server.rng;
    let mut picked: Vec<(&[u8], &[u8])> = Vec::new();
    if count < 0 {
        let n = count.unsigned_abs();
        if n > MAX_RANDOM_REPEATS {
            return Err(CommandError::custom("ERR value is out of range"));
        }
        picked.reserve(n as usize);
        if h.is_packed() {
            // A random pick in a packed hash walks it: pick among its pairs collected once instead.
            let all: Vec<(&[u8], &[u8])> = h.iter().collect();
            if !all.is_empty() {
                picked.extend((0..n).map(|_| all[rng.random_range(0..all.len())]));
            }
        } else {
            for _ in 0..n {
                picked.extend(h.random(rng));
            }
        }
    } else {
        let count = count as usize;
        let size = h.len();
        if count >= size {
            picked.extend(h.iter());
        } else if count.saturating_mul(3) > size {
            // Close to the whole hash: drop random elements from a full copy.
            picked.extend(h.iter());
            while picked.len() > count {
                let i = rng.random_range(0..picked.len());
                picked.swap_remove(i);
            }
        } else {
            let mut seen: HashSet<&[u8], foldhash::fast::RandomState> = HashSet::default();
            while picked.len() < count {
                let Some((f, v)) = h.random(rng) else { break };
                if seen.insert(f) {
                    picked.push((f, v));
                }
            }
        }
    }
    let out = if !with_values {
        let mut c = Copies::of(picked.iter().map(|(f, _)| *f));
        picked.iter().map(|(f, _)| c.next(f.len())).collect()
    } else {
        let mut c = Copies::of(picked.iter().flat_map(|(f, v)| [*f, *v]));
        if resp3 {
            picked
                .iter()
                .map(|(f, v)| Reply::Array(vec![c.next(f.len()), c.next(v.len())]))
                .collect()
        } else {
            picked.iter().flat_map(|(f, v)| [c.next(f.len()), c.next(v.len())]).collect()
        }
    };
    Ok(Reply::Array(out))
}

/// `HSCAN key cursor [MATCH pattern] [COUNT count] [NOVALUES]`.
pub(super) fn hscan(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> Result<Reply, CommandError> {
    let key = args.next_key()?;
    let cursor = parse_cursor(args.next_bytes()?)?;
    let now = ctx.now;
    // Like Redis, a missing key answers an empty scan before the options are read.
    let Some(h) = ctx.db.get_as::<Hash>(key, now)? else { return Ok(scan_reply(0, Vec::new())) };
    let opts = HscanOptions::parse(&mut args)?;
    let mut out = Vec::new();
    let mut emit = |f, v| {
        if opts.pattern.is_none_or(|p| glob_match(p, f, false)) {
            out.push(f);
            if !opts.no_values {
                out.push(v);
            }
        }
    };
    let next = if h.len() <= SMALL_HASH {
        h.iter().for_each(|(f, v)| emit(f, v));
        0
    } else {
        let mut cursor = cursor;
        let mut visited = 0;
        // Like Redis, bound the buckets one call may walk over.
        let mut budget = opts.count.saturating_mul(10);
        loop {
            cursor = h.scan(cursor, |f, v| {
                visited += 1;
                emit(f, v);
            });
            budget = budget.saturating_sub(1);
            if cursor == 0 || visited >= opts.count || budget == 0 {
                break cursor;
            }
        }
    };
    Ok(scan_reply(next, Copies::bulks(&out)))
}

pub(super) fn hset(ctx: &mut Ctx<'_>, args: Args<'_>) -> Result<Reply, CommandError> {
    Ok(Reply::Int(set_pairs(ctx, args, "hset")? as i64))
}

/// `HSETEX key [FNX | FXX] [EX s | PX ms | EXAT s | PXAT ms | KEEPTTL] FIELDS numfields field value ...`
/// (Redis 8.0): 1 when the fields were set, 0 when the FNX/FXX condition failed.
pub(super) fn hsetex(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> Result<Reply, CommandError> {
    let key = args.next_key()?;
    let now = ctx.now;
    let opts = HsetexOptions::parse(&mut args, now)?;
    let h = ctx.db.get_as::<Hash>(key, now)?;
    if let Some(must_exist) = opts.condition
        && !opts.pairs.chunks_exact(2).all(|p| h.is_some_and(|h| h.contains(&p[0])) == must_exist)
    {
        return Ok(Reply::Int(0));
    }
    let h = ctx.db.get_or_create_as::<Hash>(key, now)?;
    let mut deleted = Vec::new();
    for p in opts.pairs.chunks_exact(2) {
        let (f, v) = (&p[0], &p[1]);
        match opts.expiry {
            None => {
                h.set(f, v);
            }
            Some(FieldExpiry::KeepTtl) => {
                h.set_keep_ttl(f, v);
            }
            // Set and at once expired: the field is gone.
            Some(FieldExpiry::At(at)) if at <= now => {
                h.remove(f);
                deleted.push(f.clone());
            }
            Some(FieldExpiry::At(at)) => {
                h.set_keep_ttl(f, v);
                h.set_expire_at(f, at);
            }
        }
    }
    ctx.db.remove_if_empty(key);
    ctx.mark_dirty((opts.pairs.len() / 2) as u64);
    if !deleted.is_empty() {
        ctx.propagate(hdel_argv(key, deleted));
    } else if let Some(FieldExpiry::At(at)) = opts.expiry {
        ctx.db.track_field_expiry(key);
        let mut argv = Vec::with_capacity(opts.pairs.len() + 6);
        argv.extend([
            Bytes::from_static(b"HSETEX"),
            key.clone(),
            Bytes::from_static(b"PXAT"),
            int_bytes(at as i64),
            Bytes::from_static(b"FIELDS"),
            int_bytes((opts.pairs.len() / 2) as i64),
        ]);
        argv.extend(opts.pairs.iter().cloned());
        ctx.propagate(argv);
    }
    Ok(Reply::Int(1))
}

pub(super) fn hsetnx(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> Result<Reply, CommandError> {
    let key = args.next_key()?;
    let field = args.next_bytes()?;
    let value = args.next_bytes()?;
    let now = ctx.now;
    let h = ctx.db.get_or_create_as::<Hash>(key, now)?;
    if h.contains(field) {
        return Ok(Reply::Int(0));
    }
    h.set(field, value);
    ctx.mark_dirty(1);
    Ok(Reply::Int(1))
}

pub(super) fn hstrlen(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> Result<Reply, CommandError> {
    let key = args.next_key()?;
    let field = args.next_bytes()?;
    let now = ctx.now;
    let len = ctx.db.get_as::<Hash>(key, now)?.and_then(|h| h.get(field)).map_or(0, <[u8]>::len);
    Ok(Reply::Int(len as i64))
}

pub(super) fn httl(ctx: &mut Ctx<'_>, args: Args<'_>) -> Result<Reply, CommandError> {
    ttl_generic(ctx, args, "httl", |at, now| (at - now).div_ceil(1000))
}

pub(super) fn hvals(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> Result<Reply, CommandError> {
    let key = args.next_key()?;
    let now = ctx.now;
    let out = match ctx.db.get_as::<Hash>(key, now)? {
        None => Vec::new(),
        Some(h) => {
            let mut c = Copies::of(h.iter().map(|(_, v)| v));
            let mut out = Vec::with_capacity(h.len());
            out.extend(h.iter().map(|(_, v)| c.next(v.len())));
            out
        }
    };
    Ok(Reply::Array(out))
}

// ---- helpers ----

/// Copies of fields and values for one reply, all slices of one shared buffer: one allocation for the
/// whole reply rather than one per field or value.
struct Copies {
    buf: Bytes,
    at: usize,
}

impl Copies {
    /// The buffer holding `parts` one after the other, to be handed out in the same order.
    fn of<'a>(parts: impl Iterator<Item = &'a [u8]> + Clone) -> Copies {
        let mut buf = Vec::with_capacity(parts.clone().map(<[u8]>::len).sum());
        parts.for_each(|p| buf.extend_from_slice(p));
        Copies { buf: Bytes::from(buf), at: 0 }
    }

    /// The next part (`len` bytes long) as a bulk reply.
    fn next(&mut self, len: usize) -> Reply {
        self.at += len;
        Reply::Bulk(self.buf.slice(self.at - len..self.at))
    }

    /// Bulk replies of `parts`, each a slice of one buffer.
    fn bulks(parts: &[&[u8]]) -> Vec<Reply> {
        let mut c = Copies::of(parts.iter().copied());
        parts.iter().map(|p| c.next(p.len())).collect()
    }
}

/// The `numfields` error of HTTL, HPERSIST, HGETDEL and HGETEX.
const NUMFIELDS_POSITIVE: &str = "ERR Number of fields must be a positive integer";
/// The `numfields` error of the HEXPIRE family.
const NUMFIELDS_HEXPIRE: &str = "ERR Parameter `numFields` should be greater than 0";

/// `HSET`/`HMSET`: sets field/value pairs, returns how many fields are new.
fn set_pairs(ctx: &mut Ctx<'_>, mut args: Args<'_>, cmd: &str) -> Result<usize, CommandError> {
    let key = args.next_key()?;
    let pairs = args.rest();
    if !pairs.len().is_multiple_of(2) {
        return Err(CommandError::WrongArity(cmd.into()));
    }
    let now = ctx.now;
    let h = ctx.db.get_or_create_as::<Hash>(key, now)?;
    let created = pairs.chunks_exact(2).filter(|p| h.set(&p[0], &p[1])).count();
    ctx.mark_dirty(pairs.len() as u64 / 2);
    Ok(created)
}

/// Parses `FIELDS numfields field [field ...]` up to the end of the arguments, with Redis's errors.
fn parse_fields<'a>(
    args: &mut Args<'a>,
    numfields_error: &'static str,
    cmd: &str,
) -> Result<&'a [Bytes], CommandError> {
    if !args.next_word().is_some_and(|w| w.is("FIELDS")) {
        return Err(CommandError::custom(
            "ERR Mandatory argument FIELDS is missing or not at the right position",
        ));
    }
    let Ok(n) = args.next_bytes() else { return Err(CommandError::WrongArity(cmd.into())) };
    let n =
        parse_i64(n).filter(|n| *n >= 1).ok_or_else(|| CommandError::custom(numfields_error))?;
    let fields = args.rest();
    if fields.len() as i64 != n {
        return Err(CommandError::custom(
            "ERR The `numfields` parameter must match the number of arguments",
        ));
    }
    Ok(fields)
}

/// Parses a field expiry time (Redis's `parseExpireTime`): the absolute Unix ms it means at `now`.
/// Unlike Redis 7.4, which caps field expiry at 2^46 ms, any time that fits in 64-bit ms is accepted (the
/// Upstash clients send millisecond timestamps to HEXPIREAT, which Upstash accepts).
fn parse_field_expire(
    args: &mut Args<'_>,
    unit: ExpireUnit,
    now: u64,
    cmd: &'static str,
) -> Result<u64, CommandError> {
    let n = args.next_i64()?;
    if n < 0 {
        return Err(CommandError::custom("ERR invalid expire time, must be >= 0"));
    }
    Ok(unit.absolute_ms(n, now, cmd)? as u64)
}

/// HEXPIRE, HPEXPIRE, HEXPIREAT, HPEXPIREAT:
/// `key time [NX | XX | GT | LT] FIELDS numfields field [field ...]`.
fn expire_generic(
    ctx: &mut Ctx<'_>,
    mut args: Args<'_>,
    unit: ExpireUnit,
    cmd: &'static str,
) -> Result<Reply, CommandError> {
    let key = args.next_key()?;
    let now = ctx.now;
    let h = ctx.db.get_mut_as::<Hash>(key, now)?;
    let at = parse_field_expire(&mut args, unit, now, cmd)?;
    let cond = ExpireCondition::parse(&mut args);
    let fields = parse_fields(&mut args, NUMFIELDS_HEXPIRE, cmd)?;
    let Some(h) = h else {
        return Ok(Reply::Array(vec![Reply::Int(NO_FIELD); fields.len()]));
    };
    let (mut updated, mut deleted) = (Vec::new(), Vec::new());
    let out = fields
        .iter()
        .map(|f| {
            if !h.contains(f) {
                return Reply::Int(NO_FIELD);
            }
            let allowed = match (h.expire_at(f), cond) {
                (_, None) => true,
                // A field without an expiry time counts as infinite: NX and LT pass, XX and GT fail.
                (None, Some(c)) => matches!(c, ExpireCondition::Nx | ExpireCondition::Lt),
                (Some(_), Some(ExpireCondition::Nx)) => false,
                (Some(_), Some(ExpireCondition::Xx)) => true,
                (Some(cur), Some(ExpireCondition::Gt)) => at > cur,
                (Some(cur), Some(ExpireCondition::Lt)) => at < cur,
            };
            Reply::Int(if !allowed {
                NOT_MET
            } else if at <= now {
                h.remove(f);
                deleted.push(f.clone());
                DELETED
            } else {
                h.set_expire_at(f, at);
                updated.push(f.clone());
                DONE
            })
        })
        .collect();
    ctx.db.remove_if_empty(key);
    ctx.mark_dirty((updated.len() + deleted.len()) as u64);
    if !deleted.is_empty() {
        ctx.propagate(hdel_argv(key, deleted));
    }
    if !updated.is_empty() {
        ctx.db.track_field_expiry(key);
        ctx.propagate(fields_argv(b"HPEXPIREAT", key, Some(at), &updated));
    }
    Ok(Reply::Array(out))
}

/// HTTL, HPTTL, HEXPIRETIME, HPEXPIRETIME: `key FIELDS numfields field [field ...]`; `f(at, now)` turns a
/// (future) expiry time into the reply.
fn ttl_generic(
    ctx: &mut Ctx<'_>,
    mut args: Args<'_>,
    cmd: &str,
    f: impl Fn(u64, u64) -> u64,
) -> Result<Reply, CommandError> {
    let key = args.next_key()?;
    let now = ctx.now;
    let h = ctx.db.get_as::<Hash>(key, now)?;
    let fields = parse_fields(&mut args, NUMFIELDS_POSITIVE, cmd)?;
    let out = fields
        .iter()
        .map(|field| {
            Reply::Int(match h {
                Some(h) if h.contains(field) => match h.expire_at(field) {
                    Some(at) => f(at, now) as i64,
                    None => NO_TTL,
                },
                _ => NO_FIELD,
            })
        })
        .collect();
    Ok(Reply::Array(out))
}

/// `HDEL key fields...`.
fn hdel_argv(key: &Bytes, fields: Vec<Bytes>) -> Vec<Bytes> {
    let mut argv = Vec::with_capacity(fields.len() + 2);
    argv.push(Bytes::from_static(b"HDEL"));
    argv.push(key.clone());
    argv.extend(fields);
    argv
}

/// `CMD key [at] FIELDS n fields...`.
fn fields_argv(cmd: &'static [u8], key: &Bytes, at: Option<u64>, fields: &[Bytes]) -> Vec<Bytes> {
    let mut argv = Vec::with_capacity(fields.len() + 5);
    argv.push(Bytes::from_static(cmd));
    argv.push(key.clone());
    if let Some(at) = at {
        argv.push(int_bytes(at as i64));
    }
    argv.push(Bytes::from_static(b"FIELDS"));
    argv.push(int_bytes(fields.len() as i64));
    argv.extend(fields.iter().cloned());
    argv
}

fn scan_reply(cursor: u64, items: Vec<Reply>) -> Reply {
    Reply::Array(vec![Reply::Bulk(Bytes::from(cursor.to_string())), Reply::Array(items)])
}

/// The options of `HSCAN`.
struct HscanOptions<'a> {
    /// `None` when absent or `*`.
    pattern: Option<&'a Bytes>,
    count: usize,
    no_values: bool,
}

impl<'a> HscanOptions<'a> {
    fn parse(args: &mut Args<'a>) -> Result<HscanOptions<'a>, CommandError> {
        let mut o = HscanOptions { pattern: None, count: 10, no_values: false };
        while let Some(w) = args.next_word() {
            if w.is("MATCH") {
                let p = args.next_bytes()?;
                o.pattern = (p.as_ref() != b"*").then_some(p);
            } else if w.is("COUNT") {
                let n = args.next_i64()?;
                if n < 1 {
                    return Err(CommandError::Syntax);
                }
                o.count = n as usize;
            } else if w.is("NOVALUES") {
                o.no_values = true;
            } else {
                return Err(CommandError::Syntax);
            }
        }
        Ok(o)
    }
}

/// The expiry option of `HSETEX`.
#[derive(Debug, Clone, Copy, PartialEq)]
enum FieldExpiry {
    /// Absolute Unix ms.
    At(u64),
    KeepTtl,
}

/// The options of `HSETEX`, parsed before the key is looked up (as Redis does).
struct HsetexOptions<'a> {
    /// `Some(true)` for FXX (all fields must exist), `Some(false)` for FNX (none may exist).
    condition: Option<bool>,
    expiry: Option<FieldExpiry>,
    /// field, value, field, value...
    pairs: &'a [Bytes],
}

impl<'a> HsetexOptions<'a> {
    fn parse(args: &mut Args<'a>, now: u64) -> Result<HsetexOptions<'a>, CommandError> {
        let mut condition = None;
        let mut expiry = None;
        loop {
            let Some(w) = args.next_word() else { return Err(CommandError::Syntax) };
            if w.is("FIELDS") {
                if args.remaining() < 3 {
                    return Err(CommandError::WrongArity("hsetex".into()));
                }
                let n = parse_i64(args.next_bytes()?)
                    .filter(|n| (1..=i64::from(i32::MAX)).contains(n))
                    .ok_or_else(|| CommandError::custom("ERR invalid number of fields"))?;
                let pairs = args.rest();
                if !pairs.len().is_multiple_of(2) || n as usize != pairs.len() / 2 {
                    return Err(CommandError::WrongArity("hsetex".into()));
                }
                return Ok(HsetexOptions { condition, expiry, pairs });
            }
            let unit = if w.is("EX") {
                Some(ExpireUnit::Ex)
            } else if w.is("PX") {
                Some(ExpireUnit::Px)
            } else if w.is("EXAT") {
                Some(ExpireUnit::ExAt)
            } else if w.is("PXAT") {
                Some(ExpireUnit::PxAt)
            } else {
                None
            };
            let is_keepttl = w.is("KEEPTTL");
            if unit.is_some() || is_keepttl {
                if expiry.is_some() {
                    return Err(CommandError::custom(
                        "ERR Only one of EX, PX, EXAT, PXAT or KEEPTTL arguments can be specified",
                    ));
                }
                expiry = Some(match unit {
                    None => FieldExpiry::KeepTtl,
                    Some(unit) => {
                        if args.is_empty() {
                            return Err(CommandError::custom("ERR missing expire time"));
                        }
                        FieldExpiry::At(parse_field_expire(args, unit, now, "hsetex")?)
                    }
                });
            } else if w.is("FXX") || w.is("FNX") {
                if condition.is_some() {
                    return Err(CommandError::custom(
                        "ERR Only one of FXX or FNX arguments can be specified",
                    ));
                }
                condition = Some(w.is("FXX"));
            } else {
                return Err(CommandError::custom(format!(
                    "ERR unknown argument: {}",
                    String::from_utf8_lossy(w.0)
                )));
            }
        }
    }
}

/// The condition of the HEXPIRE family.
#[derive(Debug, Clone, Copy, PartialEq)]
enum ExpireCondition {
    Nx,
    Xx,
    Gt,
    Lt,
}

impl ExpireCondition {
    /// The optional `NX | XX | GT | LT` word.
    fn parse(args: &mut Args<'_>) -> Option<ExpireCondition> {
        let conds =
            [ExpireCondition::Nx, ExpireCondition::Xx, ExpireCondition::Gt, ExpireCondition::Lt];
        args.keyword(&["NX", "XX", "GT", "LT"]).map(|i| conds[i])
    }
}

/// The expiry change of `HGETEX`.
#[derive(Debug, Clone, Copy, PartialEq)]
enum GetexChange {
    Persist,
    /// Absolute Unix ms.
    At(u64),
}

impl GetexChange {
    /// The optional `EX s | PX ms | EXAT s | PXAT ms | PERSIST` before `FIELDS`.
    fn parse(args: &mut Args<'_>, now: u64) -> Result<Option<GetexChange>, CommandError> {
        let units = [ExpireUnit::Ex, ExpireUnit::Px, ExpireUnit::ExAt, ExpireUnit::PxAt];
        Ok(match args.keyword(&["EX", "PX", "EXAT", "PXAT", "PERSIST"]) {
            None => None,
            Some(4) => Some(GetexChange::Persist),
            Some(i) => Some(GetexChange::At(parse_field_expire(args, units[i], now, "hgetex")?)),
        })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use larder_resp::{Protocol, Reply};

    use crate::clock::ManualClock;
    use crate::engine::{Engine, ServerInfo};
    use crate::test_util::{Recorder as Sink, argv};

    const T0: u64 = 1_700_000_000_000;

    struct Harness {
        engine: Engine,
        client: crate::client::ClientState,
        clock: ManualClock,
        sink: Sink,
    }

    impl Harness {
        fn new() -> Harness {
            let clock = ManualClock::new(T0);
            let mut engine = Engine::new(Arc::new(clock.clone()), ServerInfo::default());
            let sink = Sink::default();
            engine.set_propagation(Box::new(sink.clone()));
            let client = engine.new_client("test".into());
            Harness { engine, client, clock, sink }
        }

        fn run(&mut self, cmd: &str) -> Reply {
            self.engine.execute(&mut self.client, &argv(cmd))
        }

        /// Runs `cmd` and returns what it propagated.
        fn propagated(&mut self, cmd: &str) -> Vec<String> {
            self.sink.take();
            let r = self.run(cmd);
            assert!(!matches!(r, Reply::Error(_)), "{cmd}: {r:?}");
            self.sink.take()
        }
    }

    fn strings(r: &Reply) -> Vec<String> {
        let Reply::Array(items) = r else { panic!("not an array: {r:?}") };
        items
            .iter()
            .map(|i| match i {
                Reply::Bulk(b) => String::from_utf8_lossy(b).into_owned(),
                other => panic!("not a bulk: {other:?}"),
            })
            .collect()
    }

    #[test]
    fn relative_and_random_effects_propagate_deterministically() {
        let mut h = Harness::new();
        assert_eq!(h.propagated("HSET k a 1 b 2 c 3"), ["HSET k a 1 b 2 c 3"]);
        assert_eq!(h.propagated("HINCRBYFLOAT k a 0.5"), ["HSET k a 1.5"]);
        let at = T0 + 10_000;
        assert_eq!(
            h.propagated("HEXPIRE k 10 FIELDS 3 a nofield b"),
            [format!("HPEXPIREAT k {at} FIELDS 2 a b")]
        );
        // Nothing changed: nothing propagated.
        assert!(h.propagated("HEXPIRE k 10 NX FIELDS 2 a nofield").is_empty());
        assert_eq!(h.propagated("HINCRBYFLOAT k a 1"), ["HSETEX k KEEPTTL FIELDS 1 a 2.5"]);
        assert_eq!(h.propagated("HPERSIST k FIELDS 1 b"), ["HPERSIST k FIELDS 1 b"]);
        assert!(h.propagated("HPERSIST k FIELDS 1 b").is_empty());
        assert_eq!(
            h.propagated("HEXPIRE k 0 FIELDS 2 b c"),
            ["HDEL k b c"],
            "a time in the past deletes"
        );
        assert_eq!(h.propagated("HGETDEL k FIELDS 2 a nofield"), ["HDEL k a"]);
        assert_eq!(h.run("EXISTS k"), Reply::Int(0));
        assert!(h.propagated("HGETDEL k FIELDS 1 a").is_empty());

        h.run("HSET g a 1 b 2");
        assert_eq!(
            h.propagated("HGETEX g PX 500 FIELDS 2 a nofield"),
            [format!("HPEXPIREAT g {} FIELDS 1 a", T0 + 500)]
        );
        assert_eq!(h.propagated("HGETEX g PERSIST FIELDS 2 a b"), ["HPERSIST g FIELDS 1 a"]);
        assert!(h.propagated("HGETEX g FIELDS 1 a").is_empty());
        assert_eq!(h.propagated("HGETEX g EX 0 FIELDS 1 a"), ["HDEL g a"]);

        assert_eq!(
            h.propagated("HSETEX s EX 5 FIELDS 2 a 1 b 2"),
            [format!("HSETEX s PXAT {} FIELDS 2 a 1 b 2", T0 + 5000)]
        );
        assert_eq!(
            h.propagated("HSETEX s KEEPTTL FIELDS 1 a 3"),
            ["HSETEX s KEEPTTL FIELDS 1 a 3"]
        );
        assert!(h.propagated("HSETEX s FNX FIELDS 1 a 3").is_empty());
        assert_eq!(h.propagated("HSETEX s PX 0 FIELDS 2 a 1 b 2"), ["HDEL s a b"]);
        assert_eq!(h.run("EXISTS s"), Reply::Int(0));
    }

    #[test]
    fn expired_fields_propagate_as_hdel_and_an_emptied_hash_as_del() {
        let mut h = Harness::new();
        h.run("HSET k a 1 b 2 c 3");
        h.run("HPEXPIRE k 100 FIELDS 2 a b");
        h.clock.advance(100);
        // A read notices the expired fields: they are deleted and propagated, the read is not.
        assert_eq!(h.propagated("HLEN k"), ["HDEL k a b"]);
        assert!(h.propagated("HLEN k").is_empty());
        // A write after expired fields: the HDEL comes first.
        h.run("HPEXPIRE k 100 FIELDS 1 c");
        h.run("HSET k d 4");
        h.clock.advance(100);
        assert_eq!(h.propagated("HSET k e 5"), ["HDEL k c", "HSET k e 5"]);
        // All fields expired: the key is gone, as a DEL.
        h.run("HPEXPIRE k 100 FIELDS 2 d e");
        h.clock.advance(100);
        assert_eq!(h.propagated("EXISTS k"), ["DEL k"]);
    }

    #[test]
    fn active_expiry_reclaims_expired_fields() {
        let mut h = Harness::new();
        for i in 0..50 {
            h.run(&format!("HSET k{i} a 1 b 2"));
            h.run(&format!("HPEXPIRE k{i} 100 FIELDS 1 a"));
        }
        h.run("HSET gone a 1");
        h.run("HPEXPIRE gone 100 FIELDS 1 a");
        h.clock.advance(100);
        h.sink.take();
        for _ in 0..100 {
            h.engine.active_expire(16);
        }
        let mut out = h.sink.take();
        out.sort();
        assert_eq!(out.len(), 51, "{out:?}");
        assert!(out.contains(&"DEL gone".to_string()));
        assert!(out.contains(&"HDEL k7 a".to_string()));
        assert_eq!(h.engine.dbsize(), 50);
        // Nothing left to do.
        h.engine.active_expire(16);
        assert!(h.sink.take().is_empty());
    }

    #[test]
    fn hrandfield_counts() {
        let mut h = Harness::new();
        let mut cmd = String::from("HSET big");
        for i in 0..1000 {
            cmd.push_str(&format!(" f{i} v{i}"));
        }
        h.run(&cmd);
        for count in [1, 2, 10, 300, 333, 334, 500, 999, 1000, 5000] {
            let got = strings(&h.run(&format!("HRANDFIELD big {count}")));
            let mut distinct = got.clone();
            distinct.sort();
            distinct.dedup();
            assert_eq!(got.len(), count.min(1000), "count {count}");
            assert_eq!(distinct.len(), got.len(), "count {count}: repeated fields");
        }
        assert_eq!(strings(&h.run("HRANDFIELD big -5000")).len(), 5000);
        let pairs = strings(&h.run("HRANDFIELD big 7 WITHVALUES"));
        assert_eq!(pairs.len(), 14);
        for p in pairs.chunks(2) {
            assert_eq!(p[0][1..], p[1][1..]);
        }
        h.client.protocol = Protocol::Resp3;
        let Reply::Array(items) = h.run("HRANDFIELD big -3 WITHVALUES") else { panic!() };
        assert_eq!(items.len(), 3);
        assert!(items.iter().all(|i| matches!(i, Reply::Array(p) if p.len() == 2)));
    }

    #[test]
    fn hscan_visits_every_field_of_a_big_hash() {
        let mut h = Harness::new();
        let mut cmd = String::from("HSET big");
        for i in 0..1000 {
            cmd.push_str(&format!(" f{i} v{i}"));
        }
        h.run(&cmd);
        let mut seen = std::collections::HashSet::new();
        let mut cursor = "0".to_string();
        let mut calls = 0;
        loop {
            let r = h.run(&format!("HSCAN big {cursor} COUNT 20 NOVALUES"));
            let Reply::Array(parts) = r else { panic!() };
            let Reply::Bulk(c) = &parts[0] else { panic!() };
            cursor = String::from_utf8_lossy(c).into_owned();
            seen.extend(strings(&parts[1]));
            calls += 1;
            if cursor == "0" {
                break;
            }
            // Fields removed during the scan do not break it.
            if calls == 10 {
                h.run("HDEL big f1 f2 f3");
            }
        }
        assert!(calls > 10, "{calls} calls");
        for i in 4..1000 {
            assert!(seen.contains(&format!("f{i}")), "f{i} missed");
        }
    }
}
