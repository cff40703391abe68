//! The sorted-set family: ZADD and ZINCRBY, ranges by rank, score and lex (ZRANGE and its legacy forms,
//! ZRANGESTORE, counts and removals), set operations (ZUNION, ZINTER, ZDIFF, their STORE forms,
//! ZINTERCARD), pops (ZPOPMIN/MAX, ZMPOP and the blocking BZPOPMIN/MAX, BZMPOP), ZRANDMEMBER and ZSCAN.
//!
//! Number parsing follows Redis's C rules where they differ from Rust's: scores go through `strtod`
//! (hex floats, `inf`; overflow and underflow refused), range bounds through `zslParseRange` (leading
//! spaces and an empty number allowed), timeouts through `strtold`.

use std::collections::HashSet;

use bytes::Bytes;
use larder_resp::{Protocol, Reply, format_double};
use rand::Rng;

use super::args::parse_i64;
use super::keys::{ScanOptions, parse_cursor};
use super::strings::{copy, int_bytes};
use super::{Args, Ctx};
use crate::dict::Dict;
use crate::error::CommandError;
use crate::glob::glob_match;
use crate::keyspace::Entry;
use crate::types::{LexBound, LexRange, ScoreRange};
use crate::value::{Set, Value, ZSet};

/// The most elements `ZRANDMEMBER` with a negative count may answer: Redis streams any number (and runs
/// out of memory); larder builds its reply in memory and refuses more.
const RANDOM_REPLY_MAX: u64 = 10_000_000;

/// `BZMPOP timeout numkeys key [key ...] MIN|MAX [COUNT count]`
pub(super) fn bzmpop(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> Result<Reply, CommandError> {
    let timeout = args.next_bytes()?;
    let req = MpopRequest::parse(&mut args)?;
    let timeout = parse_timeout(timeout)?;
    mpop(ctx, &req, Some(timeout))
}

pub(super) fn bzpopmax(ctx: &mut Ctx<'_>, args: Args<'_>) -> Result<Reply, CommandError> {
    bzpop(ctx, args, true)
}

pub(super) fn bzpopmin(ctx: &mut Ctx<'_>, args: Args<'_>) -> Result<Reply, CommandError> {
    bzpop(ctx, args, false)
}

/// `ZADD key [NX | XX] [GT | LT] [CH] [INCR] score member [score member ...]`
pub(super) fn zadd(ctx: &mut Ctx<'_>, args: Args<'_>) -> Result<Reply, CommandError> {
    zadd_generic(ctx, args, false)
}

pub(super) fn zcard(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> Result<Reply, CommandError> {
    let key = args.next_key()?;
    Ok(Reply::Int(get_zset(ctx, key)?.map_or(0, ZSet::len) as i64))
}

pub(super) fn zcount(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> Result<Reply, CommandError> {
    let key = args.next_key()?;
    let range = parse_score_range(args.next_bytes()?, args.next_bytes()?)?;
    Ok(Reply::Int(get_zset(ctx, key)?.map_or(0, |z| z.count_by_score(&range)) as i64))
}

pub(super) fn zdiff(ctx: &mut Ctx<'_>, args: Args<'_>) -> Result<Reply, CommandError> {
    set_op(ctx, args, SetOp::Diff, Output::Reply, "zdiff")
}

pub(super) fn zdiffstore(ctx: &mut Ctx<'_>, args: Args<'_>) -> Result<Reply, CommandError> {
    set_op(ctx, args, SetOp::Diff, Output::Store, "zdiffstore")
}

/// `ZINCRBY key increment member`: `ZADD key INCR increment member`, options included (as in Redis,
/// `ZINCRBY k nx m` is a syntax error because `nx` is read as an option).
pub(super) fn zincrby(ctx: &mut Ctx<'_>, args: Args<'_>) -> Result<Reply, CommandError> {
    zadd_generic(ctx, args, true)
}

pub(super) fn zinter(ctx: &mut Ctx<'_>, args: Args<'_>) -> Result<Reply, CommandError> {
    set_op(ctx, args, SetOp::Inter, Output::Reply, "zinter")
}

pub(super) fn zintercard(ctx: &mut Ctx<'_>, args: Args<'_>) -> Result<Reply, CommandError> {
    set_op(ctx, args, SetOp::Inter, Output::Card, "zintercard")
}

pub(super) fn zinterstore(ctx: &mut Ctx<'_>, args: Args<'_>) -> Result<Reply, CommandError> {
    set_op(ctx, args, SetOp::Inter, Output::Store, "zinterstore")
}

pub(super) fn zlexcount(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> Result<Reply, CommandError> {
    let key = args.next_key()?;
    let range = parse_lex_range(args.next_bytes()?, args.next_bytes()?)?;
    Ok(Reply::Int(get_zset(ctx, key)?.map_or(0, |z| z.count_by_lex(&range)) as i64))
}

/// `ZMPOP numkeys key [key ...] MIN|MAX [COUNT count]`
pub(super) fn zmpop(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> Result<Reply, CommandError> {
    let req = MpopRequest::parse(&mut args)?;
    mpop(ctx, &req, None)
}

pub(super) fn zmscore(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> Result<Reply, CommandError> {
    let key = args.next_key()?;
    let members = args.rest();
    let z = get_zset(ctx, key)?;
    Ok(Reply::Array(
        members
            .iter()
            .map(|m| z.and_then(|z| z.score(m)).map_or(Reply::Nil, Reply::Double))
            .collect(),
    ))
}

pub(super) fn zpopmax(ctx: &mut Ctx<'_>, args: Args<'_>) -> Result<Reply, CommandError> {
    zpop(ctx, args, true)
}

pub(super) fn zpopmin(ctx: &mut Ctx<'_>, args: Args<'_>) -> Result<Reply, CommandError> {
    zpop(ctx, args, false)
}

/// `ZRANDMEMBER key [count [WITHSCORES]]`
pub(super) fn zrandmember(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> Result<Reply, CommandError> {
    let key = args.next_key()?;
    let now = ctx.now;
    if args.is_empty() {
        let Some(z) = ctx.db.get_as::<ZSet>(key, now)? else { return Ok(Reply::Nil) };
        let r = ctx.server.rng.random_range(0..z.len());
        return Ok(Reply::bulk_or_nil(z.get_by_rank(r).map(|(m, _)| m.clone())));
    }
    let count = args.next_i64()?;
    if count == i64::MIN {
        return Err(CommandError::custom(
            "ERR value is out of range, value must between -9223372036854775807 and \
             9223372036854775807",
        ));
    }
    let withscores = match args.remaining() {
        0 => false,
        1 if args.keyword(&["WITHSCORES"]).is_some() => true,
        _ => return Err(CommandError::Syntax),
    };
    if withscores && !(-(i64::MAX / 2)..=i64::MAX / 2).contains(&count) {
        return Err(CommandError::custom("ERR value is out of range"));
    }
    let nested = withscores && resp3(ctx);
    let Some(z) = ctx.db.get_as::<ZSet>(key, now)? else { return Ok(Reply::Array(Vec::new())) };
    let rng = &mut ctx.server.rng;
    let len = z.len();
    let n = count.unsigned_abs();
    let mut out = Vec::new();
    if n == 0 {
        return Ok(Reply::Array(out));
    }
    if count < 0 || n == 1 {
        // With repetitions, in random order.
        if n > RANDOM_REPLY_MAX {
            return Err(CommandError::custom("ERR value is out of range"));
        }
        out.reserve(n as usize * if withscores && !nested { 2 } else { 1 });
        for _ in 0..n {
            let (m, s) = z.get_by_rank(rng.random_range(0..len)).expect("rank < len");
            push_scored(&mut out, m, s, withscores, nested);
        }
    } else if n >= len as u64 {
        // The whole set, from the highest score (Redis walks sets from the tail).
        for (m, s) in z.iter_from_rank(0, true) {
            push_scored(&mut out, m, s, withscores, nested);
        }
    } else if n * 3 > len as u64 {
        // Most of the set: drop random elements from a copy.
        let mut all: Vec<(&Bytes, f64)> = z.iter_from_rank(0, true).collect();
        while all.len() as u64 > n {
            let i = rng.random_range(0..all.len());
            all.swap_remove(i);
        }
        for (m, s) in all {
            push_scored(&mut out, m, s, withscores, nested);
        }
    } else {
        // A few of a big set: distinct random ranks.
        let mut seen = HashSet::with_capacity(n as usize);
        while (seen.len() as u64) < n {
            let r = rng.random_range(0..len);
            if seen.insert(r) {
                let (m, s) = z.get_by_rank(r).expect("rank < len");
                push_scored(&mut out, m, s, withscores, nested);
            }
        }
    }
    Ok(Reply::Array(out))
}

/// `ZRANGE key start stop [BYSCORE | BYLEX] [REV] [LIMIT offset count] [WITHSCORES]`
pub(super) fn zrange(ctx: &mut Ctx<'_>, args: Args<'_>) -> Result<Reply, CommandError> {
    range_generic(ctx, args, false, RangeBy::Auto, None)
}

pub(super) fn zrangebylex(ctx: &mut Ctx<'_>, args: Args<'_>) -> Result<Reply, CommandError> {
    range_generic(ctx, args, false, RangeBy::Lex, Some(false))
}

pub(super) fn zrangebyscore(ctx: &mut Ctx<'_>, args: Args<'_>) -> Result<Reply, CommandError> {
    range_generic(ctx, args, false, RangeBy::Score, Some(false))
}

/// `ZRANGESTORE dst src min max [BYSCORE | BYLEX] [REV] [LIMIT offset count]`
pub(super) fn zrangestore(ctx: &mut Ctx<'_>, args: Args<'_>) -> Result<Reply, CommandError> {
    range_generic(ctx, args, true, RangeBy::Auto, None)
}

/// `ZRANK key member [WITHSCORE]` (WITHSCORE is Redis 7.2).
pub(super) fn zrank(ctx: &mut Ctx<'_>, args: Args<'_>) -> Result<Reply, CommandError> {
    rank_generic(ctx, args, false, "zrank")
}

pub(super) fn zrem(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> Result<Reply, CommandError> {
    let key = args.next_key()?;
    let members = args.rest();
    let now = ctx.now;
    let Some(z) = ctx.db.get_mut_as::<ZSet>(key, now)? else { return Ok(Reply::Int(0)) };
    let mut n = 0;
    for m in members {
        if z.remove(m).is_some() {
            n += 1;
            if z.is_empty() {
                break;
            }
        }
    }
    ctx.db.remove_if_empty(key);
    ctx.mark_dirty(n);
    Ok(Reply::Int(n as i64))
}

pub(super) fn zremrangebylex(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> Result<Reply, CommandError> {
    let key = args.next_key()?;
    let range = parse_lex_range(args.next_bytes()?, args.next_bytes()?)?;
    remove_range(ctx, key, |z| z.remove_range_by_lex(&range))
}

pub(super) fn zremrangebyrank(
    ctx: &mut Ctx<'_>,
    mut args: Args<'_>,
) -> Result<Reply, CommandError> {
    let key = args.next_key()?;
    let start = args.next_i64()?;
    let end = args.next_i64()?;
    remove_range(ctx, key, |z| match rank_range(start, end, z.len()) {
        Some((s, e)) => z.remove_range_by_rank(s, e),
        None => 0,
    })
}

pub(super) fn zremrangebyscore(
    ctx: &mut Ctx<'_>,
    mut args: Args<'_>,
) -> Result<Reply, CommandError> {
    let key = args.next_key()?;
    let range = parse_score_range(args.next_bytes()?, args.next_bytes()?)?;
    remove_range(ctx, key, |z| z.remove_range_by_score(&range))
}

pub(super) fn zrevrange(ctx: &mut Ctx<'_>, args: Args<'_>) -> Result<Reply, CommandError> {
    range_generic(ctx, args, false, RangeBy::Rank, Some(true))
}

pub(super) fn zrevrangebylex(ctx: &mut Ctx<'_>, args: Args<'_>) -> Result<Reply, CommandError> {
    range_generic(ctx, args, false, RangeBy::Lex, Some(true))
}

pub(super) fn zrevrangebyscore(ctx: &mut Ctx<'_>, args: Args<'_>) -> Result<Reply, CommandError> {
    range_generic(ctx, args, false, RangeBy::Score, Some(true))
}

pub(super) fn zrevrank(ctx: &mut Ctx<'_>, args: Args<'_>) -> Result<Reply, CommandError> {
    rank_generic(ctx, args, true, "zrevrank")
}

/// `ZSCAN key cursor [MATCH pattern] [COUNT count]`. A compact set (Redis's listpack) is answered whole,
/// in order, with cursor 0, as Redis does.
pub(super) fn zscan(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> Result<Reply, CommandError> {
    let key = args.next_key()?;
    let cursor = parse_cursor(args.next_bytes()?)?;
    let now = ctx.now;
    let Some(z) = ctx.db.get_as::<ZSet>(key, now)? else { return Ok(scan_reply(0, Vec::new())) };
    // As in Redis, the options are read only once the key is known to be a sorted set.
    let opts = ScanOptions::parse(&mut args, false)?;
    let mut out = Vec::new();
    let mut emit = |m: &Bytes, s: f64| {
        if opts.pattern.is_none_or(|p| p.as_ref() == b"*" || glob_match(p, m, false)) {
            out.push(Reply::Bulk(m.clone()));
            out.push(Reply::Bulk(Bytes::from(format_double(s))));
        }
    };
    let next = if z.is_compact() {
        z.iter().for_each(|(m, s)| emit(m, s));
        0
    } else {
        // Redis stops once it has collected `count` replies (members and scores both count) or after
        // `count * 10` more buckets.
        let mut cursor = cursor;
        let mut visited = 0usize;
        let mut budget = opts.count.saturating_mul(10);
        loop {
            cursor = z.scan(cursor, |m, &s| {
                visited += 2;
                emit(m, s);
            });
            if cursor == 0 || budget == 0 || visited >= opts.count {
                break cursor;
            }
            budget -= 1;
        }
    };
    Ok(scan_reply(next, out))
}

pub(super) fn zscore(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> Result<Reply, CommandError> {
    let key = args.next_key()?;
    let member = args.next_bytes()?;
    Ok(get_zset(ctx, key)?.and_then(|z| z.score(member)).map_or(Reply::Nil, Reply::Double))
}

pub(super) fn zunion(ctx: &mut Ctx<'_>, args: Args<'_>) -> Result<Reply, CommandError> {
    set_op(ctx, args, SetOp::Union, Output::Reply, "zunion")
}

pub(super) fn zunionstore(ctx: &mut Ctx<'_>, args: Args<'_>) -> Result<Reply, CommandError> {
    set_op(ctx, args, SetOp::Union, Output::Store, "zunionstore")
}

// ---- helpers ----

/// The sorted set at `key`: `None` if missing, `WRONGTYPE` if it holds another type.
fn get_zset<'a>(ctx: &'a mut Ctx<'_>, key: &[u8]) -> Result<Option<&'a ZSet>, CommandError> {
    ctx.db.get_as::<ZSet>(key, ctx.now)
}

fn resp3(ctx: &Ctx<'_>) -> bool {
    ctx.client.protocol == Protocol::Resp3
}

/// Appends a member, and with `withscores` its score: flat in RESP2, a `[member, score]` pair in RESP3
/// (`nested`), as Redis answers ZRANGE, ZPOPMIN with a count, ZRANDMEMBER and the set operations.
fn push_scored(out: &mut Vec<Reply>, m: &Bytes, s: f64, withscores: bool, nested: bool) {
    if !withscores {
        out.push(Reply::Bulk(m.clone()));
    } else if nested {
        out.push(Reply::Array(vec![Reply::Bulk(m.clone()), Reply::Double(s)]));
    } else {
        out.push(Reply::Bulk(m.clone()));
        out.push(Reply::Double(s));
    }
}

fn scan_reply(cursor: u64, items: Vec<Reply>) -> Reply {
    Reply::Array(vec![Reply::Bulk(int_bytes(cursor as i64)), Reply::Array(items)])
}

/// Stores `z` at `dst` (replacing any value and TTL) and answers its size, or deletes `dst` when `z` is
/// empty, as Redis's store commands do.
pub(super) fn store_result(ctx: &mut Ctx<'_>, dst: &Bytes, z: ZSet) -> Reply {
    let now = ctx.now;
    if z.is_empty() {
        if ctx.db.remove(dst, now).is_some() {
            ctx.mark_dirty(1);
        }
        return Reply::Int(0);
    }
    let n = z.len();
    ctx.db.insert(dst, Entry::new(Value::ZSet(Box::new(z))), now);
    ctx.mark_dirty(1);
    ctx.signal_ready(dst);
    Reply::Int(n as i64)
}

/// Runs a range removal on the set at `key`, deleting the key if it empties.
fn remove_range(
    ctx: &mut Ctx<'_>,
    key: &Bytes,
    f: impl FnOnce(&mut ZSet) -> usize,
) -> Result<Reply, CommandError> {
    let now = ctx.now;
    let Some(z) = ctx.db.get_mut_as::<ZSet>(key, now)? else { return Ok(Reply::Int(0)) };
    let n = f(z);
    ctx.db.remove_if_empty(key);
    ctx.mark_dirty(n as u64);
    Ok(Reply::Int(n as i64))
}

/// Redis's rank normalisation: negative indexes count from the end, `None` for an empty range, else
/// inclusive 0-based ranks inside the set.
fn rank_range(start: i64, end: i64, len: usize) -> Option<(usize, usize)> {
    let len = len as i64;
    let mut s = if start < 0 { len + start } else { start };
    let mut e = if end < 0 { len + end } else { end };
    if s < 0 {
        s = 0;
    }
    if s > e || s >= len {
        return None;
    }
    if e >= len {
        e = len - 1;
    }
    Some((s as usize, e as usize))
}

// ---- ZADD ----

const NAN_SCORE: &str = "ERR resulting score is not a number (NaN)";

/// ZADD's options (ZINCRBY is ZADD with INCR).
#[derive(Debug, Default, Clone, Copy)]
struct ZaddOptions {
    nx: bool,
    xx: bool,
    gt: bool,
    lt: bool,
    ch: bool,
    incr: bool,
}

impl ZaddOptions {
    /// Reads options while the next argument is one, as Redis does (a member named `nx` must come after a
    /// score).
    fn parse(args: &mut Args<'_>, incr: bool) -> ZaddOptions {
        let mut o = ZaddOptions { incr, ..ZaddOptions::default() };
        while let Some(i) = args.keyword(&["NX", "XX", "CH", "INCR", "GT", "LT"]) {
            match i {
                0 => o.nx = true,
                1 => o.xx = true,
                2 => o.ch = true,
                3 => o.incr = true,
                4 => o.gt = true,
                _ => o.lt = true,
            }
        }
        o
    }

    fn check(&self, pairs: usize) -> Result<(), CommandError> {
        if self.nx && self.xx {
            return Err(CommandError::custom(
                "ERR XX and NX options at the same time are not compatible",
            ));
        }
        if (self.nx && (self.gt || self.lt)) || (self.gt && self.lt) {
            return Err(CommandError::custom(
                "ERR GT, LT, and/or NX options at the same time are not compatible",
            ));
        }
        if self.incr && pairs > 1 {
            return Err(CommandError::custom(
                "ERR INCR option supports a single increment-element pair",
            ));
        }
        Ok(())
    }
}

pub(super) fn zadd_generic(
    ctx: &mut Ctx<'_>,
    mut args: Args<'_>,
    incr: bool,
) -> Result<Reply, CommandError> {
    let key = args.next_key()?;
    let opts = ZaddOptions::parse(&mut args, incr);
    let pairs = args.rest();
    if pairs.is_empty() || !pairs.len().is_multiple_of(2) {
        return Err(CommandError::Syntax);
    }
    opts.check(pairs.len() / 2)?;
    // All scores are checked before anything changes.
    let scores = pairs
        .chunks_exact(2)
        .map(|p| parse_double(&p[0]).ok_or(CommandError::NotFloat))
        .collect::<Result<Vec<f64>, _>>()?;
    let now = ctx.now;
    let z = if opts.xx {
        match ctx.db.get_mut_as::<ZSet>(key, now)? {
            Some(z) => z,
            None => return Ok(if opts.incr { Reply::Nil } else { Reply::Int(0) }),
        }
    } else {
        ctx.db.get_or_create_as::<ZSet>(key, now)?
    };
    let (mut added, mut updated, mut processed) = (0u64, 0u64, 0u64);
    let mut last = 0.0;
    for (pair, &score) in pairs.chunks_exact(2).zip(&scores) {
        let member = &pair[1];
        match z.score(member) {
            Some(_) if opts.nx => {}
            Some(cur) => {
                let new = if opts.incr { score + cur } else { score };
                if new.is_nan() {
                    return Err(CommandError::custom(NAN_SCORE));
                }
                if (opts.lt && new >= cur) || (opts.gt && new <= cur) {
                    continue;
                }
                processed += 1;
                last = new;
                if new != cur {
                    z.set_score(member, new);
                    updated += 1;
                }
            }
            None if opts.xx => {}
            None => {
                z.insert(copy(member), score);
                added += 1;
                processed += 1;
                last = score;
            }
        }
    }
    ctx.mark_dirty(added + updated);
    if added > 0 {
        ctx.signal_ready(key);
    }
    Ok(if opts.incr {
        if processed > 0 { Reply::Double(last) } else { Reply::Nil }
    } else {
        Reply::Int((if opts.ch { added + updated } else { added }) as i64)
    })
}

// ---- ZRANGE and friends ----

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RangeBy {
    /// ZRANGE and ZRANGESTORE: by rank unless BYSCORE or BYLEX.
    Auto,
    Rank,
    Score,
    Lex,
}

#[derive(Debug)]
enum Bounds {
    Rank(i64, i64),
    Score(ScoreRange),
    Lex(LexRange),
}

/// A parsed range request of the ZRANGE family.
#[derive(Debug)]
struct RangeRequest<'a> {
    key: &'a Bytes,
    bounds: Bounds,
    rev: bool,
    withscores: bool,
    offset: i64,
    /// LIMIT's count; -1 (no LIMIT, or a negative count) is "no limit".
    count: i64,
}

impl<'a> RangeRequest<'a> {
    /// Parses `key min max [options]` as Redis's `zrangeGenericCommand`: `by` and `rev` are preset by
    /// the legacy commands (`None` = REV allowed), options are read before the bounds, and the bounds of
    /// a reversed score or lex range come as `max min`.
    fn parse(
        args: &mut Args<'a>,
        store: bool,
        mut by: RangeBy,
        mut rev: Option<bool>,
    ) -> Result<RangeRequest<'a>, CommandError> {
        let key = args.next_key()?;
        let (mut min, mut max) = (args.next_bytes()?, args.next_bytes()?);
        let (mut withscores, mut offset, mut count) = (false, 0, -1);
        while let Some(w) = args.next_word() {
            if !store && w.is("WITHSCORES") {
                withscores = true;
            } else if w.is("LIMIT") && args.remaining() >= 2 {
                offset = args.next_i64()?;
                count = args.next_i64()?;
            } else if rev.is_none() && w.is("REV") {
                rev = Some(true);
            } else if by == RangeBy::Auto && w.is("BYLEX") {
                by = RangeBy::Lex;
            } else if by == RangeBy::Auto && w.is("BYSCORE") {
                by = RangeBy::Score;
            } else {
                return Err(CommandError::Syntax);
            }
        }
        let rev = rev.unwrap_or(false);
        // Redis refuses LIMIT by rank ("syntax error, LIMIT is only supported in combination with
        // either BYSCORE or BYLEX"); Upstash accepts it, and larder applies it to the index range.
        if withscores && by == RangeBy::Lex {
            return Err(CommandError::custom(
                "ERR syntax error, WITHSCORES not supported in combination with BYLEX",
            ));
        }
        if rev && matches!(by, RangeBy::Score | RangeBy::Lex) {
            std::mem::swap(&mut min, &mut max);
        }
        let bounds = match by {
            RangeBy::Auto | RangeBy::Rank => Bounds::Rank(
                parse_i64(min).ok_or(CommandError::NotInteger)?,
                parse_i64(max).ok_or(CommandError::NotInteger)?,
            ),
            RangeBy::Score => Bounds::Score(parse_score_range(min, max)?),
            RangeBy::Lex => Bounds::Lex(parse_lex_range(min, max)?),
        };
        Ok(RangeRequest { key, bounds, rev, withscores, offset, count })
    }

    /// Calls `f` with the elements of the range, in reply order.
    fn walk<'z>(&self, z: &'z ZSet, mut f: impl FnMut(&'z Bytes, f64)) {
        // As in Redis, a negative offset walks past the end, and a negative count is no limit. By rank,
        // Redis ignores `LIMIT offset -1` entirely (any offset); larder applies other LIMITs to the index range.
        let ignored_by_rank = matches!(self.bounds, Bounds::Rank(..)) && self.count == -1;
        if self.offset < 0 && !ignored_by_rank {
            return;
        }
        let skip = usize::try_from(self.offset).unwrap_or(usize::MAX);
        let take = usize::try_from(self.count).unwrap_or(usize::MAX);
        match &self.bounds {
            Bounds::Rank(start, end) => {
                let Some((s, e)) = rank_range(*start, *end, z.len()) else { return };
                // Redis accepts `LIMIT offset -1` by rank and ignores it: only other counts apply.
                let (skip, take) = if self.count == -1 { (0, usize::MAX) } else { (skip, take) };
                let Some(first) = s.checked_add(skip).filter(|&f| f <= e) else { return };
                let n = (e - first + 1).min(take);
                z.iter_from_rank(first, self.rev).take(n).for_each(|(m, s)| f(m, s));
            }
            Bounds::Score(r) => {
                z.range_by_score(r, self.rev).skip(skip).take(take).for_each(|(m, s)| f(m, s))
            }
            Bounds::Lex(r) => {
                z.range_by_lex(r, self.rev).skip(skip).take(take).for_each(|(m, s)| f(m, s))
            }
        }
    }
}

fn range_generic(
    ctx: &mut Ctx<'_>,
    mut args: Args<'_>,
    store: bool,
    by: RangeBy,
    rev: Option<bool>,
) -> Result<Reply, CommandError> {
    let dst = if store { Some(args.next_key()?) } else { None };
    let req = RangeRequest::parse(&mut args, store, by, rev)?;
    let now = ctx.now;
    let Some(dst) = dst else {
        let nested = resp3(ctx);
        let Some(z) = ctx.db.get_as::<ZSet>(req.key, now)? else {
            return Ok(Reply::Array(Vec::new()));
        };
        let mut out = Vec::new();
        req.walk(z, |m, s| push_scored(&mut out, m, s, req.withscores, nested));
        return Ok(Reply::Array(out));
    };
    let mut items = Vec::new();
    if let Some(z) = ctx.db.get_as::<ZSet>(req.key, now)? {
        req.walk(z, |m, s| items.push((m.clone(), s)));
    }
    // Redis creates the destination as a listpack unless a rank range says it will be too long.
    let big = matches!(req.bounds, Bounds::Rank(..)) && items.len() > ZSet::COMPACT_MAX_ENTRIES;
    let mut out = ZSet::with_compact(!big);
    for (m, s) in items {
        out.insert(m, s);
    }
    Ok(store_result(ctx, dst, out))
}

fn rank_generic(
    ctx: &mut Ctx<'_>,
    mut args: Args<'_>,
    rev: bool,
    cmd: &'static str,
) -> Result<Reply, CommandError> {
    let key = args.next_key()?;
    let member = args.next_bytes()?;
    let withscore = match args.remaining() {
        0 => false,
        1 if args.keyword(&["WITHSCORE"]).is_some() => true,
        1 => return Err(CommandError::Syntax),
        _ => return Err(CommandError::WrongArity(cmd.into())),
    };
    let found = get_zset(ctx, key)?.and_then(|z| z.rank(member, rev));
    Ok(match (found, withscore) {
        (None, false) => Reply::Nil,
        (None, true) => Reply::NilArray,
        (Some((r, _)), false) => Reply::Int(r as i64),
        (Some((r, s)), true) => Reply::Array(vec![Reply::Int(r as i64), Reply::Double(s)]),
    })
}

// ---- pops ----

fn zpop(ctx: &mut Ctx<'_>, mut args: Args<'_>, max: bool) -> Result<Reply, CommandError> {
    let key = args.next_key()?;
    let count = match args.remaining() {
        0 => None,
        1 => {
            Some(parse_i64(args.next_bytes()?).and_then(|n| u64::try_from(n).ok()).ok_or_else(
                || CommandError::custom("ERR value is out of range, must be positive"),
            )?)
        }
        _ => return Err(CommandError::Syntax),
    };
    // RESP3 nests [member, score] pairs when a count was given.
    let nested = count.is_some() && resp3(ctx);
    let now = ctx.now;
    let Some(z) = ctx.db.get_mut_as::<ZSet>(key, now)? else { return Ok(Reply::Array(Vec::new())) };
    let mut out = Vec::new();
    let mut popped = 0;
    while popped < count.unwrap_or(1) {
        let Some((m, s)) = z.pop(max) else { break };
        push_scored(&mut out, &m, s, true, nested);
        popped += 1;
    }
    ctx.db.remove_if_empty(key);
    ctx.mark_dirty(popped);
    Ok(Reply::Array(out))
}

/// `BZPOPMIN|BZPOPMAX key [key ...] timeout`
fn bzpop(ctx: &mut Ctx<'_>, mut args: Args<'_>, max: bool) -> Result<Reply, CommandError> {
    let all = args.rest();
    let (keys, timeout) = all.split_at(all.len() - 1);
    let timeout = parse_timeout(&timeout[0])?;
    let now = ctx.now;
    for key in keys {
        let Some(z) = ctx.db.get_mut_as::<ZSet>(key, now)? else { continue };
        let (m, s) = z.pop(max).expect("a stored sorted set is never empty");
        ctx.db.remove_if_empty(key);
        ctx.mark_dirty(1);
        ctx.propagate(vec![pop_command(max), key.clone()]);
        return Ok(Reply::Array(vec![Reply::Bulk(key.clone()), Reply::Bulk(m), Reply::Double(s)]));
    }
    // Nothing to pop: block (a transaction cannot, and answers the timeout reply at once).
    ctx.block(keys.iter().map(copy).collect(), timeout);
    Ok(Reply::NilArray)
}

fn pop_command(max: bool) -> Bytes {
    Bytes::from_static(if max { b"ZPOPMAX" } else { b"ZPOPMIN" })
}

/// A parsed `numkeys key [key ...] MIN|MAX [COUNT count]` (ZMPOP, BZMPOP).
#[derive(Debug)]
struct MpopRequest<'a> {
    keys: Vec<&'a Bytes>,
    max: bool,
    count: u64,
}

impl<'a> MpopRequest<'a> {
    fn parse(args: &mut Args<'a>) -> Result<MpopRequest<'a>, CommandError> {
        let numkeys = parse_i64(args.next_bytes()?)
            .filter(|&n| n >= 1)
            .ok_or_else(|| CommandError::custom("ERR numkeys should be greater than 0"))?;
        // The keys and MIN|MAX must follow.
        if numkeys as u64 >= args.remaining() as u64 {
            return Err(CommandError::Syntax);
        }
        let mut keys = Vec::with_capacity(numkeys as usize);
        for _ in 0..numkeys {
            keys.push(args.next_key()?);
        }
        let max = match args.keyword(&["MIN", "MAX"]) {
            Some(i) => i == 1,
            None => return Err(CommandError::Syntax),
        };
        let mut count = None;
        while let Some(w) = args.next_word() {
            if count.is_none() && w.is("COUNT") && !args.is_empty() {
                count = Some(
                    parse_i64(args.next_bytes()?)
                        .filter(|&n| n >= 1)
                        .ok_or_else(|| CommandError::custom("ERR count should be greater than 0"))?
                        as u64,
                );
            } else {
                return Err(CommandError::Syntax);
            }
        }
        Ok(MpopRequest { keys, max, count: count.unwrap_or(1) })
    }
}

/// Pops up to `count` elements from the first non-empty key: `[key, [[member, score], ...]]`, propagated
/// as `ZPOPMIN|ZPOPMAX key n`. With nothing to pop, blocks when `timeout` is given, and answers nil.
fn mpop(
    ctx: &mut Ctx<'_>,
    req: &MpopRequest<'_>,
    timeout: Option<u64>,
) -> Result<Reply, CommandError> {
    let now = ctx.now;
    for &key in &req.keys {
        let Some(z) = ctx.db.get_mut_as::<ZSet>(key, now)? else { continue };
        let n = req.count.min(z.len() as u64);
        let mut items = Vec::with_capacity(n as usize);
        for _ in 0..n {
            let (m, s) = z.pop(req.max).expect("n <= len");
            push_scored(&mut items, &m, s, true, true);
        }
        ctx.db.remove_if_empty(key);
        ctx.mark_dirty(n);
        ctx.propagate(vec![pop_command(req.max), key.clone(), int_bytes(n as i64)]);
        return Ok(Reply::Array(vec![Reply::Bulk(key.clone()), Reply::Array(items)]));
    }
    if let Some(t) = timeout {
        ctx.block(req.keys.iter().map(|k| copy(k)).collect(), t);
    }
    Ok(Reply::NilArray)
}

// ---- ZUNION, ZINTER, ZDIFF ----

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SetOp {
    Union,
    Inter,
    Diff,
}

/// What a set operation answers: the elements, the size of a stored result, or only the cardinality.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Output {
    Reply,
    Store,
    Card,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Aggregate {
    Sum,
    Min,
    Max,
}

/// The options after the keys: `WEIGHTS`, `AGGREGATE`, `WITHSCORES`, `LIMIT` (ZINTERCARD).
#[derive(Debug)]
struct SetOpOptions {
    weights: Vec<f64>,
    aggregate: Aggregate,
    withscores: bool,
    /// ZINTERCARD's LIMIT; 0 is none.
    limit: u64,
}

impl SetOpOptions {
    fn parse(
        args: &mut Args<'_>,
        op: SetOp,
        output: Output,
        n: usize,
    ) -> Result<SetOpOptions, CommandError> {
        let mut o = SetOpOptions {
            weights: vec![1.0; n],
            aggregate: Aggregate::Sum,
            withscores: false,
            limit: 0,
        };
        let scored = op != SetOp::Diff && output != Output::Card;
        while !args.is_empty() {
            let left = args.remaining();
            if scored && left > n && args.keyword(&["WEIGHTS"]).is_some() {
                for w in o.weights.iter_mut() {
                    *w = parse_double(args.next_bytes()?)
                        .ok_or_else(|| CommandError::custom("ERR weight value is not a float"))?;
                }
            } else if scored && left >= 2 && args.keyword(&["AGGREGATE"]).is_some() {
                o.aggregate = match args.keyword(&["SUM", "MIN", "MAX"]) {
                    Some(0) => Aggregate::Sum,
                    Some(1) => Aggregate::Min,
                    Some(_) => Aggregate::Max,
                    None => return Err(CommandError::Syntax),
                };
            } else if output == Output::Reply && args.keyword(&["WITHSCORES"]).is_some() {
                o.withscores = true;
            } else if output == Output::Card && left >= 2 && args.keyword(&["LIMIT"]).is_some() {
                o.limit = parse_i64(args.next_bytes()?)
                    .and_then(|l| u64::try_from(l).ok())
                    .ok_or_else(|| CommandError::custom("ERR LIMIT can't be negative"))?;
            } else {
                return Err(CommandError::Syntax);
            }
        }
        Ok(o)
    }
}

/// Redis's `zunionInterAggregate`: a NaN sum (`inf + -inf`) is 0; MIN and MAX ignore a NaN value.
fn aggregate(target: &mut f64, v: f64, a: Aggregate) {
    match a {
        Aggregate::Sum => {
            *target += v;
            if target.is_nan() {
                *target = 0.0;
            }
        }
        Aggregate::Min => {
            if v < *target {
                *target = v;
            }
        }
        Aggregate::Max => {
            if v > *target {
                *target = v;
            }
        }
    }
}

/// A weighted score; `0 * inf` counts as 0.
fn weighted(w: f64, s: f64) -> f64 {
    let v = w * s;
    if v.is_nan() { 0.0 } else { v }
}

/// An input of a set operation: a sorted set, or a set whose members all score 1.
enum Input<'a> {
    Sorted(&'a ZSet),
    Plain(&'a Set),
}

impl<'a> Input<'a> {
    fn len(&self) -> usize {
        match self {
            Input::Sorted(z) => z.len(),
            Input::Plain(s) => s.len(),
        }
    }

    fn get(&self, m: &[u8]) -> Option<f64> {
        match self {
            Input::Sorted(z) => z.score(m),
            Input::Plain(s) => s.contains(m).then_some(1.0),
        }
    }

    /// Calls `f` with every member and score; a sorted set from its highest score, like Redis's
    /// `zuiNext`.
    fn for_each(&self, mut f: impl FnMut(&Bytes, f64)) {
        match self {
            Input::Sorted(z) => z.iter_from_rank(0, true).for_each(|(m, s)| f(m, s)),
            Input::Plain(s) => s.iter().for_each(|m| f(&m.to_bytes(), 1.0)),
        }
    }
}

/// The set-operation input at `key`: a sorted set or a set; `WRONGTYPE` for anything else.
fn input<'a>(ctx: &'a mut Ctx<'_>, key: &[u8]) -> Result<Option<Input<'a>>, CommandError> {
    let now = ctx.now;
    match ctx.db.get(key, now).map(|e| &e.value) {
        None => Ok(None),
        Some(Value::ZSet(z)) => Ok(Some(Input::Sorted(z))),
        Some(Value::Set(s)) => Ok(Some(Input::Plain(s))),
        Some(_) => Err(CommandError::WrongType),
    }
}

/// ZUNION, ZINTER, ZDIFF, their STORE forms and ZINTERCARD, with Redis's argument checks in Redis's order
/// (numkeys, key types, then options). Inputs are read one at a time: union accumulates into a dict,
/// intersection filters the smallest input by the others (smallest first), difference removes from the
/// first input's members whichever is cheaper per input (looking up the candidates, or removing the
/// input's members).
fn set_op(
    ctx: &mut Ctx<'_>,
    mut args: Args<'_>,
    op: SetOp,
    output: Output,
    cmd: &'static str,
) -> Result<Reply, CommandError> {
    let dst = if output == Output::Store { Some(args.next_key()?) } else { None };
    let numkeys = args.next_i64()?;
    if numkeys < 1 {
        return Err(CommandError::custom(format!(
            "ERR at least 1 input key is needed for '{cmd}' command"
        )));
    }
    if numkeys as u64 > args.remaining() as u64 {
        return Err(CommandError::Syntax);
    }
    let n = numkeys as usize;
    let mut keys = Vec::with_capacity(n);
    for _ in 0..n {
        keys.push(args.next_key()?);
    }
    let mut lens = Vec::with_capacity(n);
    for k in &keys {
        lens.push(input(ctx, k)?.map_or(0, |i| i.len()));
    }
    let opts = SetOpOptions::parse(&mut args, op, output, n)?;
    let agg = opts.aggregate;

    let result: ZSet = match op {
        SetOp::Union => {
            // Smallest first, as Redis (the order of a SUM's additions).
            let mut order: Vec<usize> = (0..n).collect();
            order.sort_by_key(|&i| lens[i]);
            let mut acc: Dict<Bytes, f64> =
                Dict::with_capacity(lens.iter().copied().max().unwrap_or(0));
            for &i in &order {
                let w = opts.weights[i];
                let Some(src) = input(ctx, keys[i])? else { continue };
                src.for_each(|m, s| {
                    let v = weighted(w, s);
                    // Stored scores are never NaN: NaN marks a new entry.
                    let t = acc.get_or_insert_with(m.clone(), || f64::NAN);
                    if t.is_nan() {
                        *t = v;
                    } else {
                        aggregate(t, v, agg);
                    }
                });
            }
            ZSet::from_dict(acc)
        }
        SetOp::Inter => {
            let mut order: Vec<usize> = (0..n).collect();
            order.sort_by_key(|&i| lens[i]);
            let mut cand: Vec<(Bytes, f64)> = Vec::new();
            let first = order[0];
            if let Some(src) = input(ctx, keys[first])? {
                let w = opts.weights[first];
                cand.reserve(src.len());
                src.for_each(|m, s| cand.push((m.clone(), weighted(w, s))));
            }
            for &j in &order[1..] {
                if cand.is_empty() {
                    break;
                }
                let w = opts.weights[j];
                match input(ctx, keys[j])? {
                    None => cand.clear(),
                    Some(src) => cand.retain_mut(|(m, score)| match src.get(m) {
                        // Unlike the first input's, this weighted score may be NaN: `aggregate` copes.
                        Some(s) => {
                            aggregate(score, s * w, agg);
                            true
                        }
                        None => false,
                    }),
                }
            }
            if output == Output::Card {
                let c = cand.len() as u64;
                return Ok(Reply::Int(if opts.limit > 0 { c.min(opts.limit) } else { c } as i64));
            }
            ZSet::from_dict(cand.into_iter().collect())
        }
        SetOp::Diff => {
            let mut cand: Dict<Bytes, f64> = Dict::new();
            if let Some(src) = input(ctx, keys[0])? {
                cand = Dict::with_capacity(src.len());
                src.for_each(|m, s| {
                    cand.insert(m.clone(), s);
                });
            }
            for key in keys.iter().skip(1) {
                if cand.is_empty() {
                    break;
                }
                let Some(src) = input(ctx, key)? else { continue };
                if cand.len() <= src.len() {
                    cand.retain(|m, _| src.get(m).is_none());
                } else {
                    src.for_each(|m, _| {
                        cand.remove(&m[..]);
                    });
                }
            }
            ZSet::from_dict(cand)
        }
    };

    match dst {
        Some(dst) => {
            let mut result = result;
            result.compact_if_small();
            Ok(store_result(ctx, dst, result))
        }
        None => {
            let nested = opts.withscores && resp3(ctx);
            let mut out = Vec::with_capacity(result.len());
            for (m, s) in result.iter() {
                push_scored(&mut out, m, s, opts.withscores, nested);
            }
            Ok(Reply::Array(out))
        }
    }
}

// ---- number and range parsing (Redis's C rules) ----

/// What C's `strtod` reads from the start of a byte string.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Strtod {
    value: f64,
    /// Bytes used; 0 when no number was read (leading spaces are then not counted either).
    used: usize,
    /// A finite literal too big for a double (`ERANGE`, ±HUGE_VAL).
    overflow: bool,
    /// A non-zero literal too small for a double (`ERANGE`, 0).
    underflow: bool,
    /// The decimal exponent of the literal's leading digit (for `long double` range checks).
    exp10: i64,
}

fn is_c_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

fn starts_with_ci(b: &[u8], w: &[u8]) -> bool {
    b.len() >= w.len() && b[..w.len()].eq_ignore_ascii_case(w)
}

/// C's `strtod` on `b`: leading spaces, a sign, `inf`/`infinity`/`nan[(...)]`, hex floats (`0x1.8p3`) and
/// decimals; stops at the first byte that does not fit (a NUL included).
fn strtod(b: &[u8]) -> Strtod {
    let none = Strtod { value: 0.0, used: 0, overflow: false, underflow: false, exp10: 0 };
    let mut i = 0;
    while i < b.len() && is_c_space(b[i]) {
        i += 1;
    }
    let neg = b.get(i) == Some(&b'-');
    if matches!(b.get(i), Some(b'+' | b'-')) {
        i += 1;
    }
    let sign = if neg { -1.0 } else { 1.0 };
    let rest = &b[i..];
    if starts_with_ci(rest, b"inf") {
        let n = if starts_with_ci(rest, b"infinity") { 8 } else { 3 };
        return Strtod { value: sign * f64::INFINITY, used: i + n, ..none };
    }
    if starts_with_ci(rest, b"nan") {
        let mut n = 3;
        if rest.get(3) == Some(&b'(') {
            let close = rest[4..].iter().position(|c| !(c.is_ascii_alphanumeric() || *c == b'_'));
            if let Some(k) = close
                && rest[4 + k] == b')'
            {
                n = 4 + k + 1;
            }
        }
        return Strtod { value: f64::NAN, used: i + n, ..none };
    }
    // "0x" without hex digits reads as the number 0 followed by junk.
    if rest.len() > 2
        && rest[0] == b'0'
        && (rest[1] | 0x20) == b'x'
        && let Some((v, n, overflow, underflow)) = hex_float(&rest[2..])
    {
        return Strtod { value: sign * v, used: i + 2 + n, overflow, underflow, exp10: 0 };
    }
    let start = i;
    let mut j = i;
    let (mut int_digits, mut frac_digits) = (0usize, 0usize);
    // Where the first non-zero digit is: its index in the integer part, or in the fraction.
    let (mut lead_int, mut lead_frac) = (None, None);
    while j < b.len() && b[j].is_ascii_digit() {
        if b[j] != b'0' && lead_int.is_none() {
            lead_int = Some(int_digits);
        }
        int_digits += 1;
        j += 1;
    }
    if j < b.len() && b[j] == b'.' {
        let mut k = j + 1;
        while k < b.len() && b[k].is_ascii_digit() {
            if b[k] != b'0' && lead_int.is_none() && lead_frac.is_none() {
                lead_frac = Some(frac_digits);
            }
            frac_digits += 1;
            k += 1;
        }
        if int_digits + frac_digits > 0 {
            j = k;
        }
    }
    if int_digits + frac_digits == 0 {
        return none;
    }
    let mut exp = 0i64;
    if j < b.len() && (b[j] | 0x20) == b'e' {
        let mut k = j + 1;
        let eneg = b.get(k) == Some(&b'-');
        if matches!(b.get(k), Some(b'+' | b'-')) {
            k += 1;
        }
        if k < b.len() && b[k].is_ascii_digit() {
            while k < b.len() && b[k].is_ascii_digit() {
                exp = (exp * 10 + i64::from(b[k] - b'0')).min(1 << 40);
                k += 1;
            }
            if eneg {
                exp = -exp;
            }
            j = k;
        }
    }
    let text = std::str::from_utf8(&b[start..j]).expect("ASCII");
    let value = sign * text.parse::<f64>().expect("a decimal literal");
    let nonzero = lead_int.is_some() || lead_frac.is_some();
    let lead_exp = match (lead_int, lead_frac) {
        (Some(p), _) => (int_digits - 1 - p) as i64,
        (None, Some(q)) => -(q as i64) - 1,
        (None, None) => 0,
    };
    let exp10 = lead_exp.saturating_add(exp);
    Strtod {
        value,
        used: j,
        overflow: value.is_infinite(),
        underflow: nonzero && value == 0.0,
        exp10,
    }
}

/// A hex float after `0x`: (value, bytes used, overflow, underflow), or `None` without hex digits.
fn hex_float(b: &[u8]) -> Option<(f64, usize, bool, bool)> {
    let hex = |c: u8| (c as char).to_digit(16).map(u64::from);
    let (mut mant, mut exp2, mut sticky, mut digits) = (0u64, 0i64, false, 0usize);
    let mut j = 0;
    let take = |d: u64, frac: bool, mant: &mut u64, exp2: &mut i64, sticky: &mut bool| {
        if *mant >> 60 == 0 {
            *mant = *mant * 16 + d;
            if frac {
                *exp2 -= 4;
            }
        } else {
            *sticky |= d != 0;
            if !frac {
                *exp2 += 4;
            }
        }
    };
    while let Some(d) = b.get(j).and_then(|&c| hex(c)) {
        take(d, false, &mut mant, &mut exp2, &mut sticky);
        digits += 1;
        j += 1;
    }
    if b.get(j) == Some(&b'.') {
        let mut k = j + 1;
        let mut frac = 0;
        while let Some(d) = b.get(k).and_then(|&c| hex(c)) {
            take(d, true, &mut mant, &mut exp2, &mut sticky);
            frac += 1;
            k += 1;
        }
        if digits + frac > 0 {
            j = k;
            digits += frac;
        }
    }
    if digits == 0 {
        return None;
    }
    if matches!(b.get(j), Some(b'p' | b'P')) {
        let mut k = j + 1;
        let neg = b.get(k) == Some(&b'-');
        if matches!(b.get(k), Some(b'+' | b'-')) {
            k += 1;
        }
        if b.get(k).is_some_and(u8::is_ascii_digit) {
            let mut e = 0i64;
            while let Some(c) = b.get(k).filter(|c| c.is_ascii_digit()) {
                e = (e * 10 + i64::from(c - b'0')).min(1 << 20);
                k += 1;
            }
            exp2 += if neg { -e } else { e };
            j = k;
        }
    }
    if mant == 0 {
        return Some((0.0, j, false, false));
    }
    // Round the mantissa to 53 bits (to nearest, ties to even, the dropped digits as a sticky bit).
    let shift = mant.leading_zeros();
    let m = mant << shift;
    let mut e = exp2 - i64::from(shift) + 11;
    let mut top = m >> 11;
    let rem = m & 0x7ff;
    if rem > 0x400 || (rem == 0x400 && (sticky || top & 1 == 1)) {
        top += 1;
        if top == 1 << 53 {
            top >>= 1;
            e += 1;
        }
    }
    let mut v = top as f64;
    while e != 0 {
        let step = e.clamp(-1000, 1000);
        v *= f64::from_bits(((step + 1023) as u64) << 52);
        e -= step;
    }
    Some((v, j, v.is_infinite(), v == 0.0))
}

/// Redis's `string2d` (scores, increments, weights): the whole argument is one double with no leading
/// space; NaN, and literals that overflow to ±inf or underflow to 0, are refused (`inf` itself is fine).
pub(crate) fn parse_double(b: &[u8]) -> Option<f64> {
    if b.is_empty() || is_c_space(b[0]) {
        return None;
    }
    let r = strtod(b);
    (r.used == b.len() && !r.value.is_nan() && !r.overflow && !r.underflow).then_some(r.value)
}

/// One end of a score range (Redis's `zslParseRange`): `(` makes it exclusive; the rest is read by
/// `strtod` up to the end of the C string, which must be reached; NaN is refused. So leading spaces and an
/// empty number (0) pass, and out-of-range literals become ±inf or 0.
fn parse_score_bound(b: &[u8]) -> Option<(f64, bool)> {
    let b = b.iter().position(|&c| c == 0).map_or(b, |i| &b[..i]);
    let (ex, s) = match b.first() {
        Some(b'(') => (true, &b[1..]),
        _ => (false, b),
    };
    let r = strtod(s);
    (r.used == s.len() && !r.value.is_nan()).then_some((r.value, ex))
}

fn parse_score_range(min: &[u8], max: &[u8]) -> Result<ScoreRange, CommandError> {
    let bad = || CommandError::custom("ERR min or max is not a float");
    let (min, minex) = parse_score_bound(min).ok_or_else(bad)?;
    let (max, maxex) = parse_score_bound(max).ok_or_else(bad)?;
    Ok(ScoreRange { min, max, minex, maxex })
}

/// One end of a lex range: `-`, `+`, `(member` or `[member`.
fn parse_lex_bound(b: &Bytes) -> Option<(LexBound, bool)> {
    // `+` and `-` are read as C strings: a NUL may follow.
    let alone = b.get(1).is_none_or(|&c| c == 0);
    match b.first()? {
        b'+' if alone => Some((LexBound::Max, true)),
        b'-' if alone => Some((LexBound::Min, true)),
        b'(' => Some((LexBound::Value(b.slice(1..)), true)),
        b'[' => Some((LexBound::Value(b.slice(1..)), false)),
        _ => None,
    }
}

fn parse_lex_range(min: &Bytes, max: &Bytes) -> Result<LexRange, CommandError> {
    let bad = || CommandError::custom("ERR min or max not valid string range item");
    let (min, minex) = parse_lex_bound(min).ok_or_else(bad)?;
    let (max, maxex) = parse_lex_bound(max).ok_or_else(bad)?;
    Ok(LexRange { min, max, minex, maxex })
}

/// A blocking command's timeout in seconds, as Redis reads it: a `long double` (so beyond a double's
/// range), converted to `ceil(ms)` as a 64-bit integer, where anything out of range wraps to a negative
/// number ("timeout is negative"). Returns milliseconds, 0 meaning forever.
fn parse_timeout(b: &[u8]) -> Result<u64, CommandError> {
    let bad = || CommandError::custom("ERR timeout is not a float or out of range");
    let negative = || CommandError::custom("ERR timeout is negative");
    if b.is_empty() || b.len() >= 5 * 1024 || is_c_space(b[0]) {
        return Err(bad());
    }
    let r = strtod(b);
    if r.used != b.len() || r.value.is_nan() {
        return Err(bad());
    }
    // `long double` reaches about 1.19e4932 and, subnormal, 3.6e-4951.
    if (r.overflow && r.exp10 > 4932) || (r.underflow && r.exp10 < -4951) {
        return Err(bad());
    }
    if r.underflow {
        // A tiny number of seconds: ceil gives 1 ms, or -0 (forever) for a negative one.
        return Ok(if r.value.is_sign_negative() { 0 } else { 1 });
    }
    let ms = (r.value * 1000.0).ceil();
    if !(0.0..9_223_372_036_854_775_808.0).contains(&ms) {
        return Err(negative());
    }
    Ok(ms as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_follow_string2d() {
        assert_eq!(parse_double(b"1.5"), Some(1.5));
        assert_eq!(parse_double(b"0x10"), Some(16.0));
        assert_eq!(parse_double(b"0x1.8p1"), Some(3.0));
        assert_eq!(parse_double(b"-0x.8"), Some(-0.5));
        assert_eq!(parse_double(b"inf"), Some(f64::INFINITY));
        assert_eq!(parse_double(b"-Infinity"), Some(f64::NEG_INFINITY));
        assert_eq!(parse_double(b"1e5"), Some(1e5));
        assert_eq!(parse_double(b".5"), Some(0.5));
        assert_eq!(parse_double(b"5."), Some(5.0));
        assert_eq!(parse_double(b"1e-310"), Some(1e-310));
        assert!(parse_double(b"-0").unwrap().is_sign_negative());
        for bad in [
            &b""[..],
            b" 1",
            b"1 ",
            b"nan",
            b"1e400",
            b"-1e400",
            b"1e-400",
            b"abc",
            b"1e",
            b"0x",
            b"1\x002",
            b"0x1p99999",
        ] {
            assert_eq!(parse_double(bad), None, "{:?}", String::from_utf8_lossy(bad));
        }
        // "1e" reads as 1 followed by junk; "0x" as 0 followed by junk.
        assert_eq!(strtod(b"1e").used, 1);
        assert_eq!(strtod(b"0xg").used, 1);
        assert_eq!(strtod(b"nan(abc)x").used, 8);
    }

    #[test]
    fn hex_floats_round_to_nearest_even() {
        assert_eq!(parse_double(b"0x1fffffffffffff"), Some(9007199254740991.0));
        // 2^53 + 1 ties to even (2^53); 2^53 + 3 ties up to 2^53 + 4.
        assert_eq!(parse_double(b"0x20000000000001"), Some(9007199254740992.0));
        assert_eq!(parse_double(b"0x20000000000003"), Some(9007199254740996.0));
        assert_eq!(parse_double(b"0x1p-1074"), Some(f64::from_bits(1)));
        assert_eq!(parse_double(b"0x1.fffffffffffffp1023"), Some(f64::MAX));
    }

    #[test]
    fn score_bounds_follow_zslparserange() {
        assert_eq!(parse_score_bound(b"(1.5"), Some((1.5, true)));
        assert_eq!(parse_score_bound(b" 2"), Some((2.0, false)));
        assert_eq!(parse_score_bound(b""), Some((0.0, false)));
        assert_eq!(parse_score_bound(b"("), Some((0.0, true)));
        assert_eq!(parse_score_bound(b"1e400"), Some((f64::INFINITY, false)));
        assert_eq!(parse_score_bound(b"-inf"), Some((f64::NEG_INFINITY, false)));
        assert_eq!(parse_score_bound(b"3\0junk"), Some((3.0, false)));
        assert_eq!(parse_score_bound(b"2 "), None);
        assert_eq!(parse_score_bound(b"nan"), None);
        assert_eq!(parse_score_bound(b"((1"), None);
    }

    #[test]
    fn timeouts_follow_redis() {
        assert_eq!(parse_timeout(b"0"), Ok(0));
        assert_eq!(parse_timeout(b"0.01"), Ok(10));
        assert_eq!(parse_timeout(b"1.0001"), Ok(1001));
        assert_eq!(parse_timeout(b"-0.0001"), Ok(0));
        assert_eq!(parse_timeout(b"1e-400"), Ok(1));
        assert_eq!(parse_timeout(b"0x10"), Ok(16000));
        assert_eq!(parse_timeout(b"9.2e15"), Ok(9_200_000_000_000_000_000));
        let negative = Err(CommandError::custom("ERR timeout is negative"));
        let bad = Err(CommandError::custom("ERR timeout is not a float or out of range"));
        for b in [&b"-1"[..], b"inf", b"1e400", b"1e30", b"9.3e15", b"-inf"] {
            assert_eq!(parse_timeout(b), negative, "{:?}", String::from_utf8_lossy(b));
        }
        for b in [&b"abc"[..], b"", b" 1", b"1e5000", b"nan"] {
            assert_eq!(parse_timeout(b), bad, "{:?}", String::from_utf8_lossy(b));
        }
    }

    mod engine {
        use std::sync::{Arc, Mutex};

        use bytes::Bytes;
        use larder_resp::{Protocol, Reply};

        use crate::test_util::{Recorder as Sink, argv, bulk};
        use crate::{BlockedOn, ClientState, Engine, ManualClock, ServerInfo};

        fn setup() -> (Engine, ClientState, Arc<Mutex<Vec<String>>>) {
            let clock = ManualClock::new(1_000_000);
            let mut engine = Engine::new(Arc::new(clock), ServerInfo::default());
            let log = Arc::new(Mutex::new(Vec::new()));
            engine.set_propagation(Box::new(Sink(log.clone())));
            let client = engine.new_client("test".into());
            (engine, client, log)
        }

        fn run(e: &mut Engine, c: &mut ClientState, cmd: &str) -> Reply {
            e.execute(c, &argv(cmd))
        }

        fn keys(ks: &[&str]) -> Vec<Bytes> {
            ks.iter().map(|k| Bytes::copy_from_slice(k.as_bytes())).collect()
        }

        #[test]
        fn blocking_pops_block_when_empty_and_propagate_as_plain_pops() {
            let (mut e, mut c, log) = setup();
            assert_eq!(run(&mut e, &mut c, "BZPOPMIN a b 1.5"), Reply::NilArray);
            assert_eq!(
                c.blocked.take(),
                Some(BlockedOn { keys: keys(&["a", "b"]), deadline_ms: Some(1_001_500) })
            );
            assert_eq!(run(&mut e, &mut c, "BZMPOP 0 2 a b MAX COUNT 2"), Reply::NilArray);
            assert_eq!(
                c.blocked.take(),
                Some(BlockedOn { keys: keys(&["a", "b"]), deadline_ms: None })
            );
            assert!(log.lock().unwrap().is_empty());

            run(&mut e, &mut c, "ZADD b 1 x 2 y 3 z");
            assert_eq!(
                run(&mut e, &mut c, "BZPOPMAX a b 0"),
                Reply::Array(vec![bulk("b"), bulk("z"), Reply::Double(3.0)])
            );
            assert_eq!(
                run(&mut e, &mut c, "BZMPOP 0 2 a b MIN COUNT 5"),
                Reply::Array(vec![
                    bulk("b"),
                    Reply::Array(vec![
                        Reply::Array(vec![bulk("x"), Reply::Double(1.0)]),
                        Reply::Array(vec![bulk("y"), Reply::Double(2.0)]),
                    ]),
                ])
            );
            run(&mut e, &mut c, "ZADD b 1 x 2 y 3 z");
            run(&mut e, &mut c, "ZMPOP 1 b MAX COUNT 2");
            assert!(c.blocked.is_none());
            assert_eq!(
                *log.lock().unwrap(),
                vec![
                    "ZADD b 1 x 2 y 3 z",
                    "ZPOPMAX b",
                    "ZPOPMIN b 2",
                    "ZADD b 1 x 2 y 3 z",
                    "ZPOPMAX b 2",
                ]
            );
        }

        #[test]
        fn blocking_pops_in_a_transaction_answer_at_once() {
            let (mut e, mut c, _) = setup();
            let cmds = [keys(&["BZPOPMIN", "a", "0"]), keys(&["BZMPOP", "0", "1", "a", "MIN"])];
            let replies = e.execute_transaction(&mut c, &cmds).unwrap();
            assert_eq!(replies, vec![Reply::NilArray, Reply::NilArray]);
            assert!(c.blocked.is_none());
        }

        #[test]
        fn additions_signal_blocked_keys() {
            let (mut e, mut c, _) = setup();
            e.register_blocked(&keys(&["k", "d1", "d2", "d3", "d4"]));
            run(&mut e, &mut c, "ZADD k XX 1 a");
            assert!(e.drain_ready_keys().is_empty());
            run(&mut e, &mut c, "ZADD k 1 a");
            run(&mut e, &mut c, "ZINCRBY k 1 a");
            assert_eq!(e.drain_ready_keys(), keys(&["k"]));
            run(&mut e, &mut c, "ZUNIONSTORE d1 1 k");
            run(&mut e, &mut c, "ZINTERSTORE d2 1 k");
            run(&mut e, &mut c, "ZDIFFSTORE d3 1 k");
            run(&mut e, &mut c, "ZRANGESTORE d4 k 0 -1");
            run(&mut e, &mut c, "ZRANGESTORE nobody k 0 -1");
            run(&mut e, &mut c, "ZINTERSTORE d1 2 k missing");
            assert_eq!(e.drain_ready_keys(), keys(&["d1", "d2", "d3", "d4"]));
        }

        #[test]
        fn writes_that_change_nothing_are_not_propagated() {
            let (mut e, mut c, log) = setup();
            for cmd in [
                "ZADD k XX 1 a",
                "ZREM k a",
                "ZPOPMIN k",
                "ZMPOP 1 k MIN",
                "ZREMRANGEBYRANK k 0 -1",
                "ZUNIONSTORE d 1 k",
                "ZRANGESTORE d k 0 -1",
            ] {
                run(&mut e, &mut c, cmd);
            }
            run(&mut e, &mut c, "ZADD k 1 a");
            for cmd in ["ZADD k 1 a", "ZADD k NX 2 a", "ZADD k GT 0 a", "ZPOPMIN k 0", "ZREM k b"] {
                run(&mut e, &mut c, cmd);
            }
            assert_eq!(*log.lock().unwrap(), vec!["ZADD k 1 a"]);
        }

        #[test]
        fn resp3_nests_member_score_pairs() {
            let (mut e, mut c, _) = setup();
            c.protocol = Protocol::Resp3;
            run(&mut e, &mut c, "ZADD k 1 a 2 b");
            let pairs = Reply::Array(vec![
                Reply::Array(vec![bulk("a"), Reply::Double(1.0)]),
                Reply::Array(vec![bulk("b"), Reply::Double(2.0)]),
            ]);
            assert_eq!(run(&mut e, &mut c, "ZRANGE k 0 -1 WITHSCORES"), pairs);
            assert_eq!(run(&mut e, &mut c, "ZUNION 1 k WITHSCORES"), pairs);
            assert_eq!(
                run(&mut e, &mut c, "ZRANGE k 0 -1"),
                Reply::Array(vec![bulk("a"), bulk("b")])
            );
            run(&mut e, &mut c, "ZADD one 5 m");
            assert_eq!(
                run(&mut e, &mut c, "ZRANDMEMBER one -2 WITHSCORES"),
                Reply::Array(vec![
                    Reply::Array(vec![bulk("m"), Reply::Double(5.0)]),
                    Reply::Array(vec![bulk("m"), Reply::Double(5.0)]),
                ])
            );
            assert_eq!(
                run(&mut e, &mut c, "ZRANK k b WITHSCORE"),
                Reply::Array(vec![Reply::Int(1), Reply::Double(2.0)])
            );
            assert_eq!(run(&mut e, &mut c, "ZRANK k x WITHSCORE"), Reply::NilArray);
            assert_eq!(
                run(&mut e, &mut c, "ZPOPMIN k"),
                Reply::Array(vec![bulk("a"), Reply::Double(1.0)])
            );
            assert_eq!(
                run(&mut e, &mut c, "ZPOPMIN k 1"),
                Reply::Array(vec![Reply::Array(vec![bulk("b"), Reply::Double(2.0)])])
            );
        }

        #[test]
        fn zrandmember_counts() {
            let (mut e, mut c, _) = setup();
            let pairs: Vec<String> = (0..100).map(|i| format!("{i} m{i}")).collect();
            run(&mut e, &mut c, &format!("ZADD k {}", pairs.join(" ")));
            for (count, len) in [(5, 5), (40, 40), (99, 99), (100, 100), (500, 100)] {
                let Reply::Array(items) = run(&mut e, &mut c, &format!("ZRANDMEMBER k {count}"))
                else {
                    panic!()
                };
                let members: Vec<Bytes> = items
                    .iter()
                    .map(|m| match m {
                        Reply::Bulk(b) => b.clone(),
                        _ => panic!(),
                    })
                    .collect();
                let distinct: std::collections::HashSet<_> = members.iter().collect();
                assert_eq!((members.len(), distinct.len()), (len, len), "count {count}");
                for m in &members {
                    let cmd = format!("ZSCORE k {}", String::from_utf8_lossy(m));
                    assert!(matches!(run(&mut e, &mut c, &cmd), Reply::Double(_)));
                }
            }
            let Reply::Array(items) = run(&mut e, &mut c, "ZRANDMEMBER k -300 WITHSCORES") else {
                panic!()
            };
            assert_eq!(items.len(), 600);
            for pair in items.chunks(2) {
                let (Reply::Bulk(m), Reply::Double(s)) = (&pair[0], &pair[1]) else { panic!() };
                assert_eq!(format!("m{s}"), String::from_utf8_lossy(m));
            }
        }

        #[test]
        fn a_big_set_is_scanned_in_pages_covering_every_member() {
            let (mut e, mut c, _) = setup();
            let pairs: Vec<String> = (0..1000).map(|i| format!("{i} m{i}")).collect();
            run(&mut e, &mut c, &format!("ZADD big {}", pairs.join(" ")));
            let mut seen = std::collections::HashMap::new();
            let mut cursor = "0".to_string();
            let mut pages = 0;
            loop {
                let Reply::Array(r) = run(&mut e, &mut c, &format!("ZSCAN big {cursor} COUNT 20"))
                else {
                    panic!()
                };
                let (Reply::Bulk(next), Reply::Array(items)) = (&r[0], &r[1]) else { panic!() };
                for pair in items.chunks(2) {
                    let (Reply::Bulk(m), Reply::Bulk(s)) = (&pair[0], &pair[1]) else { panic!() };
                    assert!(seen.insert(m.clone(), s.clone()).is_none(), "returned twice");
                }
                pages += 1;
                cursor = String::from_utf8(next.to_vec()).unwrap();
                if cursor == "0" {
                    break;
                }
            }
            assert_eq!(seen.len(), 1000);
            assert!(pages > 10);
            assert_eq!(seen[&Bytes::from("m7")], Bytes::from("7"));
        }
    }

    #[test]
    fn decimal_exponent_of_the_leading_digit() {
        assert_eq!(strtod(b"123").exp10, 2);
        assert_eq!(strtod(b"0.00123").exp10, -3);
        assert_eq!(strtod(b"1.5e10").exp10, 10);
        assert_eq!(strtod(b"00.5e-3").exp10, -4);
        assert_eq!(strtod(b"1e5000").exp10, 5000);
    }
}
