//! The set family: SADD, SREM, membership, random picks, the algebra (SINTER, SUNION, SDIFF and their
//! STORE forms, SINTERCARD) and SSCAN.

use bytes::Bytes;
use larder_resp::Reply;
use rand::Rng;

use super::args::parse_i64;
use super::keys::{ScanOptions, parse_cursor};
use super::strings::copy;
use super::{Args, Ctx};
use crate::dict::Dict;
use crate::error::CommandError;
use crate::glob::glob_match;
use crate::keyspace::{Entry, Keyspace};
use crate::types::Member;
use crate::value::{Kind, Set, Value};

/// SPOP with a count uses the copy-and-remove strategy when fewer than `count / 5` members remain.
const SPOP_MOVE_STRATEGY_MUL: usize = 5;

/// SRANDMEMBER with a positive count copies the set and removes members when the count is more than a
/// third of the set, and picks distinct members otherwise.
const SRANDMEMBER_SUB_STRATEGY_MUL: usize = 3;

/// Members per propagated `SREM` when SPOP pops many (as Redis 7.2+ batches them).
const SREM_BATCH: usize = 1024;

/// The largest reply SRANDMEMBER with a negative count builds. Redis streams any count (until the client
/// is disconnected); larder builds replies in memory, so larger counts are refused.
pub(crate) const MAX_RANDOM_REPLY: u64 = 1 << 24;

pub(super) fn sadd(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> Result<Reply, CommandError> {
    let key = args.next_key()?;
    let members = args.rest();
    let now = ctx.now;
    let added = match ctx.db.get_mut_as::<Set>(key, now)? {
        Some(set) => add_all(set, members),
        None => {
            let mut set = Set::default();
            let added = add_all(&mut set, members);
            ctx.db.insert(copy(key), Entry::new(Value::Set(set)), now);
            added
        }
    };
    ctx.mark_dirty(added);
    Ok(Reply::Int(added as i64))
}

pub(super) fn scard(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> Result<Reply, CommandError> {
    let key = args.next_key()?;
    let now = ctx.now;
    Ok(Reply::Int(ctx.db.get_as::<Set>(key, now)?.map_or(0, Set::len) as i64))
}

pub(super) fn sdiff(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> Result<Reply, CommandError> {
    let keys = args.rest();
    let result = union_or_diff(ctx, keys, SetOp::Diff)?;
    Ok(set_reply(result))
}

pub(super) fn sdiffstore(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> Result<Reply, CommandError> {
    let dst = args.next_key()?;
    let keys = args.rest();
    let result = union_or_diff(ctx, keys, SetOp::Diff)?;
    Ok(store(ctx, dst, result))
}

pub(super) fn sinter(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> Result<Reply, CommandError> {
    let keys = args.rest();
    look_up(ctx, keys)?;
    let mut out = Vec::new();
    intersect(ctx.db, keys, ctx.now, |m| {
        out.push(Reply::Bulk(m.to_bytes()));
        true
    });
    Ok(Reply::Set(out))
}

/// `SINTERCARD numkeys key [key ...] [LIMIT limit]`
pub(super) fn sintercard(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> Result<Reply, CommandError> {
    let numkeys = next_long(&mut args, "ERR numkeys should be greater than 0")?;
    if numkeys < 1 {
        return Err(CommandError::custom("ERR numkeys should be greater than 0"));
    }
    if numkeys as u64 > args.remaining() as u64 {
        return Err(CommandError::custom("ERR Number of keys can't be greater than number of args"));
    }
    let mut keys = Vec::with_capacity(numkeys as usize);
    for _ in 0..numkeys {
        keys.push(args.next_key()?);
    }
    let mut limit = 0;
    while let Some(w) = args.next_word() {
        if w.is("LIMIT") && !args.is_empty() {
            limit = next_long(&mut args, "ERR LIMIT can't be negative")?;
            if limit < 0 {
                return Err(CommandError::custom("ERR LIMIT can't be negative"));
            }
        } else {
            return Err(CommandError::Syntax);
        }
    }
    look_up(ctx, &keys)?;
    let limit = if limit == 0 { usize::MAX } else { limit as usize };
    let mut n = 0;
    intersect(ctx.db, &keys, ctx.now, |_| {
        n += 1;
        n < limit
    });
    Ok(Reply::Int(n as i64))
}

pub(super) fn sinterstore(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> Result<Reply, CommandError> {
    let dst = args.next_key()?;
    let keys = args.rest();
    look_up(ctx, keys)?;
    let mut result = Set::default();
    intersect(ctx.db, keys, ctx.now, |m| {
        result.insert_member(m);
        true
    });
    Ok(store(ctx, dst, result))
}

pub(super) fn sismember(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> Result<Reply, CommandError> {
    let key = args.next_key()?;
    let member = args.next_bytes()?;
    let now = ctx.now;
    let found = ctx.db.get_as::<Set>(key, now)?.is_some_and(|s| s.contains(member));
    Ok(Reply::Int(found as i64))
}

pub(super) fn smembers(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> Result<Reply, CommandError> {
    let key = args.next_key()?;
    let now = ctx.now;
    let set = ctx.db.get_as::<Set>(key, now)?;
    Ok(Reply::Set(set.map_or_else(Vec::new, |s| s.iter().map(bulk).collect())))
}

pub(super) fn smismember(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> Result<Reply, CommandError> {
    let key = args.next_key()?;
    let members = args.rest();
    let now = ctx.now;
    let set = ctx.db.get_as::<Set>(key, now)?;
    Ok(Reply::Array(
        members
            .iter()
            .map(|m| Reply::Int(set.is_some_and(|s| s.contains(m)) as i64))
            .collect(),
    ))
}

pub(super) fn smove(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> Result<Reply, CommandError> {
    let src = args.next_key()?;
    let dst = args.next_key()?;
    let member = args.next_bytes()?;
    let now = ctx.now;
    // Like Redis: both keys are looked up, a missing source answers 0 whatever the destination holds,
    // then the source's type is checked before the destination's.
    let src_is_set = ctx.db.get(src, now).map(|e| Set::of(&e.value).is_some());
    let dst_is_set = ctx.db.get(dst, now).map(|e| Set::of(&e.value).is_some());
    match src_is_set {
        None => return Ok(Reply::Int(0)),
        Some(false) => return Err(CommandError::WrongType),
        Some(true) => {}
    }
    if dst_is_set == Some(false) {
        return Err(CommandError::WrongType);
    }
    if src == dst {
        let found = ctx.db.get_as::<Set>(src, now)?.is_some_and(|s| s.contains(member));
        return Ok(Reply::Int(found as i64));
    }
    if !ctx.db.get_mut_as::<Set>(src, now)?.is_some_and(|s| s.remove(member)) {
        return Ok(Reply::Int(0));
    }
    ctx.db.remove_if_empty(src);
    let added = match ctx.db.get_mut_as::<Set>(dst, now)? {
        Some(set) => set.insert(member),
        None => {
            let mut set = Set::default();
            set.insert(member);
            ctx.db.insert(copy(dst), Entry::new(Value::Set(set)), now);
            true
        }
    };
    ctx.mark_dirty(1 + added as u64);
    Ok(Reply::Int(1))
}

/// `SPOP key [count]`, propagated as `SREM` of the popped members (`DEL` when all were popped).
pub(super) fn spop(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> Result<Reply, CommandError> {
    let key = args.next_key()?;
    if args.remaining() > 1 {
        return Err(CommandError::Syntax);
    }
    if args.is_empty() {
        return spop_one(ctx, key);
    }
    let count = next_long(&mut args, "ERR value is out of range, must be positive")?;
    if count < 0 {
        return Err(CommandError::custom("ERR value is out of range, must be positive"));
    }
    let now = ctx.now;
    let Some(set) = ctx.db.get_mut_as::<Set>(key, now)? else { return Ok(Reply::Set(Vec::new())) };
    if count == 0 {
        return Ok(Reply::Set(Vec::new()));
    }
    let size = set.len();
    if count as u64 >= size as u64 {
        let Some(Entry { value: Value::Set(set), .. }) = ctx.db.remove(key, now) else {
            unreachable!("a set was found at the key above");
        };
        ctx.mark_dirty(size as u64);
        ctx.propagate(vec![Bytes::from_static(b"DEL"), key.clone()]);
        return Ok(Reply::Set(set.into_members().map(Reply::Bulk).collect()));
    }
    let count = count as usize;
    let remaining = size - count;
    let rng = &mut ctx.server.rng;
    let popped: Vec<Bytes> = if remaining.saturating_mul(SPOP_MOVE_STRATEGY_MUL) > count {
        // Few members popped: pick and remove them one by one.
        (0..count).filter_map(|_| set.pop_random(rng)).collect()
    } else {
        // Most members popped: move the few that stay to a new set, and answer the old one.
        let mut keep = Set::default();
        for _ in 0..remaining {
            if let Some(m) = set.pop_random(rng) {
                keep.insert_owned(m);
            }
        }
        std::mem::replace(set, keep).into_members().collect()
    };
    ctx.mark_dirty(count as u64);
    for batch in popped.chunks(SREM_BATCH) {
        let mut argv = Vec::with_capacity(batch.len() + 2);
        argv.extend([Bytes::from_static(b"SREM"), key.clone()]);
        argv.extend(batch.iter().cloned());
        ctx.propagate(argv);
    }
    Ok(Reply::Set(popped.into_iter().map(Reply::Bulk).collect()))
}

/// `SRANDMEMBER key [count]`: a positive count answers distinct members, a negative one may repeat them.
pub(super) fn srandmember(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> Result<Reply, CommandError> {
    let key = args.next_key()?;
    if args.remaining() > 1 {
        return Err(CommandError::Syntax);
    }
    let now = ctx.now;
    if args.is_empty() {
        let set = ctx.db.get_as::<Set>(key, now)?;
        return Ok(Reply::bulk_or_nil(set.and_then(|s| s.random(&mut ctx.server.rng))));
    }
    let count = args.next_i64()?;
    if count == i64::MIN {
        return Err(CommandError::custom(
            "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807",
        ));
    }
    let Some(set) = ctx.db.get_as::<Set>(key, now)? else { return Ok(Reply::Array(Vec::new())) };
    let rng = &mut ctx.server.rng;
    let (n, distinct) = (count.unsigned_abs(), count > 0);
    if n == 0 {
        return Ok(Reply::Array(Vec::new()));
    }
    if !distinct || n == 1 {
        if n > MAX_RANDOM_REPLY {
            return Err(CommandError::custom("ERR value is out of range"));
        }
        return Ok(Reply::Array((0..n).filter_map(|_| set.random(rng)).map(Reply::Bulk).collect()));
    }
    let size = set.len();
    if n >= size as u64 {
        return Ok(Reply::Array(set.iter().map(bulk).collect()));
    }
    let n = n as usize;
    if n * SRANDMEMBER_SUB_STRATEGY_MUL > size {
        // Most of the set: copy it, then remove random members until `n` are left.
        let mut all: Vec<Bytes> = set.iter().map(Member::to_bytes).collect();
        while all.len() > n {
            let i = rng.random_range(0..all.len());
            all.swap_remove(i);
        }
        return Ok(Reply::Array(all.into_iter().map(Reply::Bulk).collect()));
    }
    // A small part of the set: pick random members until `n` distinct ones were found.
    let mut picked: Dict<Bytes, ()> = Dict::with_capacity(n);
    while picked.len() < n {
        let Some(m) = set.random(rng) else { break };
        picked.insert(m, ());
    }
    Ok(Reply::Array(picked.into_iter().map(|(m, ())| Reply::Bulk(m)).collect()))
}

pub(super) fn srem(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> Result<Reply, CommandError> {
    let key = args.next_key()?;
    let members = args.rest();
    let now = ctx.now;
    let Some(set) = ctx.db.get_mut_as::<Set>(key, now)? else { return Ok(Reply::Int(0)) };
    let mut removed = 0u64;
    for m in members {
        if set.remove(m) {
            removed += 1;
            if set.is_empty() {
                break;
            }
        }
    }
    ctx.db.remove_if_empty(key);
    ctx.mark_dirty(removed);
    Ok(Reply::Int(removed as i64))
}

/// `SSCAN key cursor [MATCH pattern] [COUNT count]`
pub(super) fn sscan(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> Result<Reply, CommandError> {
    let key = args.next_key()?;
    let cursor = parse_cursor(args.next_bytes()?)?;
    let now = ctx.now;
    // Like Redis, a missing key answers an empty page before the options are parsed.
    let Some(set) = ctx.db.get_as::<Set>(key, now)? else { return Ok(scan_reply(0, Vec::new())) };
    let opts = ScanOptions::parse(&mut args, false)?;
    let pattern = opts.pattern.filter(|p| p.as_ref() != b"*");
    let mut out = Vec::new();
    let cursor = set.scan(cursor, opts.count, |m| {
        let m = m.to_bytes();
        if pattern.is_none_or(|p| glob_match(p, &m, false)) {
            out.push(Reply::Bulk(m));
        }
    });
    Ok(scan_reply(cursor, out))
}

pub(super) fn sunion(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> Result<Reply, CommandError> {
    let keys = args.rest();
    let result = union_or_diff(ctx, keys, SetOp::Union)?;
    Ok(set_reply(result))
}

pub(super) fn sunionstore(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> Result<Reply, CommandError> {
    let dst = args.next_key()?;
    let keys = args.rest();
    let result = union_or_diff(ctx, keys, SetOp::Union)?;
    Ok(store(ctx, dst, result))
}

// ---- helpers ----

/// The next argument as an integer, with `err` as the error for a non-integer (Redis's
/// `getLongFromObjectOrReply` with a message).
fn next_long(args: &mut Args<'_>, err: &'static str) -> Result<i64, CommandError> {
    parse_i64(args.next_bytes()?).ok_or_else(|| CommandError::custom(err))
}

fn add_all(set: &mut Set, members: &[Bytes]) -> u64 {
    members.iter().map(|m| set.insert(m) as u64).sum()
}

fn bulk(m: Member<'_>) -> Reply {
    Reply::Bulk(m.to_bytes())
}

fn set_reply(set: Set) -> Reply {
    Reply::Set(set.into_members().map(Reply::Bulk).collect())
}

fn scan_reply(cursor: u64, items: Vec<Reply>) -> Reply {
    Reply::Array(vec![Reply::Bulk(Bytes::from(cursor.to_string())), Reply::Array(items)])
}

fn spop_one(ctx: &mut Ctx<'_>, key: &Bytes) -> Result<Reply, CommandError> {
    let now = ctx.now;
    let Some(set) = ctx.db.get_mut_as::<Set>(key, now)? else { return Ok(Reply::Nil) };
    let Some(m) = set.pop_random(&mut ctx.server.rng) else { return Ok(Reply::Nil) };
    ctx.db.remove_if_empty(key);
    ctx.mark_dirty(1);
    ctx.propagate(vec![Bytes::from_static(b"SREM"), key.clone(), m.clone()]);
    Ok(Reply::Bulk(m))
}

/// Looks every key up in order, reclaiming expired ones, and fails with `WRONGTYPE` at the first key
/// that holds another type (before any result is computed, as Redis does even when a key is missing).
fn look_up<K: AsRef<[u8]>>(ctx: &mut Ctx<'_>, keys: &[K]) -> Result<(), CommandError> {
    let now = ctx.now;
    for k in keys {
        ctx.db.get_as::<Set>(k.as_ref(), now)?;
    }
    Ok(())
}

/// The set at `key` (after [`look_up`]): `None` when missing.
fn peek<'a>(db: &'a Keyspace, key: &[u8], now: u64) -> Option<&'a Set> {
    db.peek(key, now).and_then(|e| Set::of(&e.value))
}

/// Calls `f` on each member of the intersection of the sets at `keys` (after [`look_up`]) while it
/// returns true. A missing key makes the intersection empty. Iterates the smallest set.
fn intersect<K: AsRef<[u8]>>(
    db: &Keyspace,
    keys: &[K],
    now: u64,
    mut f: impl FnMut(Member<'_>) -> bool,
) {
    let mut sets = Vec::with_capacity(keys.len());
    for k in keys {
        match peek(db, k.as_ref(), now) {
            Some(s) => sets.push(s),
            None => return,
        }
    }
    sets.sort_by_key(|s| s.len());
    let Some((&first, rest)) = sets.split_first() else { return };
    for m in first.iter() {
        if rest.iter().all(|&s| std::ptr::eq(s, first) || s.contains_member(m)) && !f(m) {
            return;
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum SetOp {
    Union,
    Diff,
}

/// The union, or the difference of the first set minus the others, of the sets at `keys`.
fn union_or_diff(ctx: &mut Ctx<'_>, keys: &[Bytes], op: SetOp) -> Result<Set, CommandError> {
    look_up(ctx, keys)?;
    let now = ctx.now;
    let db = &*ctx.db;
    let mut out = Set::default();
    match op {
        SetOp::Union => {
            for s in keys.iter().filter_map(|k| peek(db, k, now)) {
                for m in s.iter() {
                    out.insert_member(m);
                }
            }
        }
        SetOp::Diff => {
            let Some(first) = peek(db, &keys[0], now) else { return Ok(out) };
            // The first key repeated among the others: nothing is left.
            if keys[1..].contains(&keys[0]) {
                return Ok(out);
            }
            let mut others: Vec<&Set> = keys[1..].iter().filter_map(|k| peek(db, k, now)).collect();
            // Redis's choice: test each member of the first set against every other set (O(N*M),
            // favoured by half), or copy the first set and remove the others' members (O(total)).
            let test_work = first.len() as u64 * (others.len() as u64 + 1) / 2;
            let remove_work = first.len() as u64 + others.iter().map(|s| s.len() as u64).sum::<u64>();
            if test_work <= remove_work {
                // Larger sets first: more likely to contain a member.
                others.sort_by_key(|s| std::cmp::Reverse(s.len()));
                for m in first.iter() {
                    if !others.iter().any(|s| s.contains_member(m)) {
                        out.insert_member(m);
                    }
                }
            } else {
                for m in first.iter() {
                    out.insert_member(m);
                }
                for s in others {
                    for m in s.iter() {
                        out.remove_member(m);
                    }
                    if out.is_empty() {
                        break;
                    }
                }
            }
        }
    }
    Ok(out)
}

/// Stores `result` at `dst` (whatever it held, without expiry), or deletes `dst` when `result` is empty.
fn store(ctx: &mut Ctx<'_>, dst: &Bytes, result: Set) -> Reply {
    let now = ctx.now;
    let n = result.len();
    if n > 0 {
        ctx.db.insert(copy(dst), Entry::new(Value::Set(result)), now);
        ctx.mark_dirty(1);
    } else if ctx.db.remove(dst, now).is_some() {
        ctx.mark_dirty(1);
    }
    Reply::Int(n as i64)
}
