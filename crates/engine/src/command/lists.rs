//! The list family: pushes and pops at both ends, indexes and ranges, LPOS, LREM, LINSERT, LTRIM, moves
//! between lists, and the blocking pops (BLPOP, BRPOP, BLMPOP, BLMOVE, BRPOPLPUSH).
//!
//! Every command that adds elements calls `ctx.signal_ready(key)`; a blocking command that finds nothing
//! calls `ctx.block(keys, timeout)` and answers its timeout reply (the front end parks the client and runs
//! the command again when a key is signalled). Blocking pops propagate as their non-blocking equivalents.

use bytes::Bytes;
use larder_resp::Reply;

use super::args::{Word, parse_f64, parse_i64};
use super::strings::{copy, int_bytes};
use super::{Args, Ctx};
use crate::error::CommandError;
use crate::types::End;
use crate::value::List;

/// `BLMOVE source destination LEFT|RIGHT LEFT|RIGHT timeout`
pub(super) fn blmove(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> Result<Reply, CommandError> {
    let src = args.next_key()?;
    let dst = args.next_key()?;
    let from = parse_end(args.next_bytes()?)?;
    let to = parse_end(args.next_bytes()?)?;
    let timeout = parse_timeout(ctx, args.next_bytes()?)?;
    blocking_move(ctx, src, dst, from, to, timeout, false)
}

/// `BLMPOP timeout numkeys key [key ...] LEFT|RIGHT [COUNT count]`
pub(super) fn blmpop(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> Result<Reply, CommandError> {
    let timeout = args.next_bytes()?;
    let opts = MpopOptions::parse(&mut args)?;
    let timeout = parse_timeout(ctx, timeout)?;
    match pop_first(ctx, &opts.keys, opts.end, Some(opts.count))? {
        Some(reply) => Ok(reply),
        None => {
            ctx.block(opts.keys.into_iter().cloned().collect(), timeout);
            Ok(Reply::NilArray)
        }
    }
}

/// `BLPOP key [key ...] timeout`
pub(super) fn blpop(ctx: &mut Ctx<'_>, args: Args<'_>) -> Result<Reply, CommandError> {
    blocking_pop(ctx, args, End::Left)
}

/// `BRPOP key [key ...] timeout`
pub(super) fn brpop(ctx: &mut Ctx<'_>, args: Args<'_>) -> Result<Reply, CommandError> {
    blocking_pop(ctx, args, End::Right)
}

/// `BRPOPLPUSH source destination timeout`
pub(super) fn brpoplpush(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> Result<Reply, CommandError> {
    let src = args.next_key()?;
    let dst = args.next_key()?;
    let timeout = parse_timeout(ctx, args.next_bytes()?)?;
    blocking_move(ctx, src, dst, End::Right, End::Left, timeout, true)
}

pub(super) fn lindex(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> Result<Reply, CommandError> {
    let key = args.next_key()?;
    let Some(list) = ctx.db.get_as::<List>(key, ctx.now)? else { return Ok(Reply::Nil) };
    let index = args.next_i64()?;
    Ok(Reply::bulk_or_nil(list.position(index).and_then(|i| list.get(i)).cloned()))
}

/// `LINSERT key BEFORE|AFTER pivot element`
pub(super) fn linsert(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> Result<Reply, CommandError> {
    let key = args.next_key()?;
    let after = match args.keyword(&["BEFORE", "AFTER"]) {
        Some(i) => i == 1,
        None => return Err(CommandError::Syntax),
    };
    let pivot = args.next_bytes()?;
    let element = args.next_bytes()?;
    let Some(list) = ctx.db.get_mut_as::<List>(key, ctx.now)? else { return Ok(Reply::Int(0)) };
    let Some(at) = list.iter().position(|e| e == pivot) else { return Ok(Reply::Int(-1)) };
    list.insert(at + usize::from(after), copy(element));
    let len = list.len();
    ctx.mark_dirty(1);
    ctx.signal_ready(key);
    Ok(Reply::Int(len as i64))
}

pub(super) fn llen(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> Result<Reply, CommandError> {
    let key = args.next_key()?;
    let len = ctx.db.get_as::<List>(key, ctx.now)?.map_or(0, List::len);
    Ok(Reply::Int(len as i64))
}

/// `LMOVE source destination LEFT|RIGHT LEFT|RIGHT`
pub(super) fn lmove(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> Result<Reply, CommandError> {
    let src = args.next_key()?;
    let dst = args.next_key()?;
    let from = parse_end(args.next_bytes()?)?;
    let to = parse_end(args.next_bytes()?)?;
    Ok(Reply::bulk_or_nil(move_element(ctx, src, dst, from, to)?))
}

/// `LMPOP numkeys key [key ...] LEFT|RIGHT [COUNT count]`
pub(super) fn lmpop(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> Result<Reply, CommandError> {
    let opts = MpopOptions::parse(&mut args)?;
    Ok(pop_first(ctx, &opts.keys, opts.end, Some(opts.count))?.unwrap_or(Reply::NilArray))
}

/// `LPOP key [count]`
pub(super) fn lpop(ctx: &mut Ctx<'_>, args: Args<'_>) -> Result<Reply, CommandError> {
    pop(ctx, args, End::Left, "lpop")
}

/// `LPOS key element [RANK rank] [COUNT num-matches] [MAXLEN len]`
pub(super) fn lpos(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> Result<Reply, CommandError> {
    let key = args.next_key()?;
    let element = args.next_bytes()?;
    let opts = LposOptions::parse(&mut args)?;
    let Some(list) = ctx.db.get_as::<List>(key, ctx.now)? else {
        return Ok(if opts.count.is_some() { Reply::Array(Vec::new()) } else { Reply::Nil });
    };
    Ok(opts.exec(list, element))
}

pub(super) fn lpush(ctx: &mut Ctx<'_>, args: Args<'_>) -> Result<Reply, CommandError> {
    push(ctx, args, End::Left, false)
}

pub(super) fn lpushx(ctx: &mut Ctx<'_>, args: Args<'_>) -> Result<Reply, CommandError> {
    push(ctx, args, End::Left, true)
}

pub(super) fn lrange(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> Result<Reply, CommandError> {
    let key = args.next_key()?;
    let start = args.next_i64()?;
    let end = args.next_i64()?;
    let Some(list) = ctx.db.get_as::<List>(key, ctx.now)? else {
        return Ok(Reply::Array(Vec::new()));
    };
    let out = match list_range(start, end, list.len()) {
        Some((a, b)) => list.range(a, b).map(|e| Reply::Bulk(e.clone())).collect(),
        None => Vec::new(),
    };
    Ok(Reply::Array(out))
}

/// `LREM key count element`: `count` > 0 from the head, < 0 from the tail, 0 all.
pub(super) fn lrem(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> Result<Reply, CommandError> {
    let key = args.next_key()?;
    let count = args.next_i64()?;
    let element = args.next_bytes()?;
    let Some(list) = ctx.db.get_mut_as::<List>(key, ctx.now)? else { return Ok(Reply::Int(0)) };
    let from = if count < 0 { End::Right } else { End::Left };
    let limit = usize::try_from(count.unsigned_abs()).unwrap_or(usize::MAX);
    let removed = list.remove_matching(element, limit, from);
    ctx.db.remove_if_empty(key);
    ctx.mark_dirty(removed as u64);
    Ok(Reply::Int(removed as i64))
}

pub(super) fn lset(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> Result<Reply, CommandError> {
    let key = args.next_key()?;
    let Some(list) = ctx.db.get_mut_as::<List>(key, ctx.now)? else {
        return Err(CommandError::NoSuchKey);
    };
    let index = args.next_i64()?;
    let element = args.next_bytes()?;
    let slot = list
        .position(index)
        .and_then(|i| list.get_mut(i))
        .ok_or_else(|| CommandError::custom("ERR index out of range"))?;
    *slot = copy(element);
    ctx.mark_dirty(1);
    Ok(Reply::OK)
}

pub(super) fn ltrim(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> Result<Reply, CommandError> {
    let key = args.next_key()?;
    let start = args.next_i64()?;
    let end = args.next_i64()?;
    let Some(list) = ctx.db.get_mut_as::<List>(key, ctx.now)? else { return Ok(Reply::OK) };
    let removed = list.trim(list_range(start, end, list.len()));
    ctx.db.remove_if_empty(key);
    ctx.mark_dirty(removed as u64);
    Ok(Reply::OK)
}

/// `RPOP key [count]`
pub(super) fn rpop(ctx: &mut Ctx<'_>, args: Args<'_>) -> Result<Reply, CommandError> {
    pop(ctx, args, End::Right, "rpop")
}

/// `RPOPLPUSH source destination`
pub(super) fn rpoplpush(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> Result<Reply, CommandError> {
    let src = args.next_key()?;
    let dst = args.next_key()?;
    Ok(Reply::bulk_or_nil(move_element(ctx, src, dst, End::Right, End::Left)?))
}

pub(super) fn rpush(ctx: &mut Ctx<'_>, args: Args<'_>) -> Result<Reply, CommandError> {
    push(ctx, args, End::Right, false)
}

pub(super) fn rpushx(ctx: &mut Ctx<'_>, args: Args<'_>) -> Result<Reply, CommandError> {
    push(ctx, args, End::Right, true)
}

// ---- helpers ----

/// LPUSH, RPUSH and their `X` variants (`only_existing`: push only onto an existing list).
fn push(
    ctx: &mut Ctx<'_>,
    mut args: Args<'_>,
    end: End,
    only_existing: bool,
) -> Result<Reply, CommandError> {
    let key = args.next_key()?;
    let elements = args.rest();
    let now = ctx.now;
    let list = if only_existing {
        match ctx.db.get_mut_as::<List>(key, now)? {
            Some(l) => l,
            None => return Ok(Reply::Int(0)),
        }
    } else {
        ctx.db.get_or_create_as::<List>(key, now)?
    };
    for e in elements {
        list.push(end, copy(e));
    }
    let len = list.len();
    ctx.mark_dirty(elements.len() as u64);
    ctx.signal_ready(key);
    Ok(Reply::Int(len as i64))
}

/// LPOP and RPOP: one element as a bulk string, or with a count an array of up to `count` elements.
fn pop(
    ctx: &mut Ctx<'_>,
    mut args: Args<'_>,
    end: End,
    name: &'static str,
) -> Result<Reply, CommandError> {
    let key = args.next_key()?;
    if args.remaining() > 1 {
        return Err(CommandError::WrongArity(name.into()));
    }
    let count = match args.next_word() {
        Some(Word(c)) => {
            Some(parse_i64(c).and_then(|n| usize::try_from(n).ok()).ok_or_else(|| {
                CommandError::custom("ERR value is out of range, must be positive")
            })?)
        }
        None => None,
    };
    let Some(list) = ctx.db.get_mut_as::<List>(key, ctx.now)? else {
        return Ok(if count.is_some() { Reply::NilArray } else { Reply::Nil });
    };
    let (reply, popped) = match count {
        None => (Reply::Bulk(list.pop(end).expect("stored lists are never empty")), 1),
        Some(0) => return Ok(Reply::Array(Vec::new())),
        Some(n) => {
            let v = list.pop_many(end, n);
            let popped = v.len();
            (Reply::Array(v.into_iter().map(Reply::Bulk).collect()), popped)
        }
    };
    ctx.db.remove_if_empty(key);
    ctx.mark_dirty(popped as u64);
    Ok(reply)
}

/// Pops from the first non-empty list of `keys`: with `count`, `[key, [elements]]` (LMPOP, BLMPOP)
/// propagated as `LPOP key n`/`RPOP key n`; without, `[key, element]` (BLPOP, BRPOP) propagated as
/// `LPOP key`/`RPOP key`. `None` when every list is missing.
fn pop_first(
    ctx: &mut Ctx<'_>,
    keys: &[&Bytes],
    end: End,
    count: Option<usize>,
) -> Result<Option<Reply>, CommandError> {
    let now = ctx.now;
    for &key in keys {
        let Some(list) = ctx.db.get_mut_as::<List>(key, now)? else { continue };
        if list.is_empty() {
            continue;
        }
        let cmd = Bytes::from_static(match end {
            End::Left => b"LPOP",
            End::Right => b"RPOP",
        });
        let reply = match count {
            None => {
                let v = list.pop(end).expect("checked non-empty");
                ctx.propagate(vec![cmd, key.clone()]);
                ctx.mark_dirty(1);
                Reply::Array(vec![Reply::Bulk(key.clone()), Reply::Bulk(v)])
            }
            Some(n) => {
                let popped = list.pop_many(end, n);
                ctx.propagate(vec![cmd, key.clone(), int_bytes(popped.len() as i64)]);
                ctx.mark_dirty(popped.len() as u64);
                let items = popped.into_iter().map(Reply::Bulk).collect();
                Reply::Array(vec![Reply::Bulk(key.clone()), Reply::Array(items)])
            }
        };
        ctx.db.remove_if_empty(key);
        return Ok(Some(reply));
    }
    Ok(None)
}

/// BLPOP and BRPOP.
fn blocking_pop(ctx: &mut Ctx<'_>, mut args: Args<'_>, end: End) -> Result<Reply, CommandError> {
    let (timeout, keys) = args.rest().split_last().expect("arity is at least 3");
    let timeout = parse_timeout(ctx, timeout)?;
    let keys: Vec<&Bytes> = keys.iter().collect();
    match pop_first(ctx, &keys, end, None)? {
        Some(reply) => Ok(reply),
        None => {
            ctx.block(keys.into_iter().cloned().collect(), timeout);
            Ok(Reply::NilArray)
        }
    }
}

/// LMOVE and RPOPLPUSH: pops from `src` at `from` and pushes onto `dst` at `to`. `None` when `src` is
/// missing (then `dst`'s type is not checked, as in Redis).
fn move_element(
    ctx: &mut Ctx<'_>,
    src: &Bytes,
    dst: &Bytes,
    from: End,
    to: End,
) -> Result<Option<Bytes>, CommandError> {
    let now = ctx.now;
    if ctx.db.get_as::<List>(src, now)?.is_none_or(List::is_empty) {
        return Ok(None);
    }
    ctx.db.get_as::<List>(dst, now)?;
    let list = ctx.db.get_mut_as::<List>(src, now)?.expect("checked above");
    let v = list.pop(from).expect("checked non-empty");
    // Push before deleting an emptied source: a one-element rotation (src == dst) keeps its key and TTL.
    ctx.db.get_or_create_as::<List>(dst, now)?.push(to, v.clone());
    ctx.db.remove_if_empty(src);
    ctx.mark_dirty(1);
    ctx.signal_ready(dst);
    Ok(Some(v))
}

/// BLMOVE and BRPOPLPUSH, propagated as LMOVE and RPOPLPUSH.
fn blocking_move(
    ctx: &mut Ctx<'_>,
    src: &Bytes,
    dst: &Bytes,
    from: End,
    to: End,
    timeout: u64,
    rpoplpush: bool,
) -> Result<Reply, CommandError> {
    let Some(v) = move_element(ctx, src, dst, from, to)? else {
        // A timed-out BLMOVE/BRPOPLPUSH answers a null array, as Redis's blocked-client timeout does; where
        // it cannot block (a transaction or script) it answers a null bulk at once.
        return Ok(if ctx.block(vec![src.clone()], timeout) {
            Reply::NilArray
        } else {
            Reply::Nil
        });
    };
    ctx.propagate(if rpoplpush {
        vec![Bytes::from_static(b"RPOPLPUSH"), src.clone(), dst.clone()]
    } else {
        vec![
            Bytes::from_static(b"LMOVE"),
            src.clone(),
            dst.clone(),
            Bytes::from_static(from.name().as_bytes()),
            Bytes::from_static(to.name().as_bytes()),
        ]
    });
    Ok(Reply::Bulk(v))
}

/// `LEFT` or `RIGHT` (any case), else a syntax error.
fn parse_end(arg: &Bytes) -> Result<End, CommandError> {
    let w = Word(arg);
    if w.is("LEFT") {
        Ok(End::Left)
    } else if w.is("RIGHT") {
        Ok(End::Right)
    } else {
        Err(CommandError::Syntax)
    }
}

/// A blocking command's timeout: a double of seconds, rounded up to ms; 0 waits forever.
fn parse_timeout(ctx: &Ctx<'_>, arg: &Bytes) -> Result<u64, CommandError> {
    let secs = parse_f64(arg)
        .ok_or_else(|| CommandError::custom("ERR timeout is not a float or out of range"))?;
    let out_of_range = || CommandError::custom("ERR timeout is out of range");
    let ms = secs * 1000.0;
    if ms > i64::MAX as f64 {
        return Err(out_of_range());
    }
    let ms = ms.ceil() as i64;
    if ms < 0 {
        return Err(CommandError::custom("ERR timeout is negative"));
    }
    if ms > i64::MAX - ctx.now as i64 {
        return Err(out_of_range());
    }
    Ok(ms as u64)
}

/// Redis's list range: negative indexes count from the tail; `None` when empty.
fn list_range(start: i64, end: i64, len: usize) -> Option<(usize, usize)> {
    let len = len as i64;
    let start = if start < 0 { (len + start).max(0) } else { start };
    let end = if end < 0 { len + end } else { end };
    if start > end || start >= len {
        return None;
    }
    Some((start as usize, end.min(len - 1) as usize))
}

/// The arguments of LMPOP and BLMPOP after the timeout.
struct MpopOptions<'a> {
    keys: Vec<&'a Bytes>,
    end: End,
    count: usize,
}

impl<'a> MpopOptions<'a> {
    fn parse(args: &mut Args<'a>) -> Result<MpopOptions<'a>, CommandError> {
        let numkeys = parse_i64(args.next_bytes()?)
            .filter(|n| *n > 0)
            .ok_or_else(|| CommandError::custom("ERR numkeys should be greater than 0"))?;
        if numkeys as u64 >= args.remaining() as u64 {
            return Err(CommandError::Syntax);
        }
        let keys = (0..numkeys).map(|_| args.next_key()).collect::<Result<Vec<_>, _>>()?;
        let end = parse_end(args.next_bytes()?)?;
        let mut count = None;
        while let Some(w) = args.next_word() {
            if count.is_none() && w.is("COUNT") && !args.is_empty() {
                let n = parse_i64(args.next_bytes()?)
                    .filter(|n| *n > 0)
                    .ok_or_else(|| CommandError::custom("ERR count should be greater than 0"))?;
                count = Some(usize::try_from(n).unwrap_or(usize::MAX));
            } else {
                return Err(CommandError::Syntax);
            }
        }
        Ok(MpopOptions { keys, end, count: count.unwrap_or(1) })
    }
}

/// The options of LPOS.
struct LposOptions {
    /// Which match to start from: 1 = the first from the head, -1 = the first from the tail.
    rank: i64,
    /// `COUNT`: `Some(0)` for all matches; `None` answers one position instead of an array.
    count: Option<usize>,
    /// `MAXLEN`: how many elements to compare at most (0 = all).
    maxlen: usize,
}

impl LposOptions {
    fn parse(args: &mut Args<'_>) -> Result<LposOptions, CommandError> {
        let mut o = LposOptions { rank: 1, count: None, maxlen: 0 };
        let non_negative = |b: &[u8], msg: &'static str| {
            parse_i64(b)
                .and_then(|n| usize::try_from(n).ok())
                .ok_or_else(|| CommandError::custom(msg))
        };
        while let Some(w) = args.next_word() {
            if w.is("RANK") && !args.is_empty() {
                let rank = args.next_i64()?;
                if rank == i64::MIN {
                    return Err(CommandError::custom(
                        "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807",
                    ));
                }
                if rank == 0 {
                    return Err(CommandError::custom(
                        "ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list",
                    ));
                }
                o.rank = rank;
            } else if w.is("COUNT") && !args.is_empty() {
                o.count = Some(non_negative(args.next_bytes()?, "ERR COUNT can't be negative")?);
            } else if w.is("MAXLEN") && !args.is_empty() {
                o.maxlen = non_negative(args.next_bytes()?, "ERR MAXLEN can't be negative")?;
            } else {
                return Err(CommandError::Syntax);
            }
        }
        Ok(o)
    }

    fn exec(&self, list: &List, element: &[u8]) -> Reply {
        let len = list.len();
        let scan = if self.maxlen == 0 { len } else { self.maxlen.min(len) };
        let skip = usize::try_from(self.rank.unsigned_abs() - 1).unwrap_or(usize::MAX);
        let take = match self.count {
            None | Some(0) => usize::MAX,
            Some(n) => n,
        };
        let reply = |found: &mut dyn Iterator<Item = usize>| match self.count {
            None => found.nth(skip).map_or(Reply::Nil, |i| Reply::Int(i as i64)),
            Some(_) => {
                Reply::Array(found.skip(skip).take(take).map(|i| Reply::Int(i as i64)).collect())
            }
        };
        let is_match = |(_, e): &(usize, &Bytes)| e.as_ref() == element;
        if self.rank > 0 {
            reply(&mut list.iter().take(scan).enumerate().filter(is_match).map(|(i, _)| i))
        } else {
            let from_tail = list.iter().rev().take(scan).enumerate().filter(is_match);
            reply(&mut from_tail.map(|(i, _)| len - 1 - i))
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use larder_resp::Reply;

    use crate::client::BlockedOn;
    use crate::test_util::{Recorder, argv, bulk};
    use crate::{Engine, ManualClock, ServerInfo};

    const T0: u64 = 1_700_000_000_000;

    fn engine() -> (Engine, Recorder) {
        let mut e = Engine::new(Arc::new(ManualClock::new(T0)), ServerInfo::default());
        let rec = Recorder::default();
        e.set_propagation(Box::new(rec.clone()));
        (e, rec)
    }

    #[test]
    fn blocking_commands_that_find_nothing_flag_the_client() {
        let (mut e, rec) = engine();
        let mut c = e.new_client("t".into());
        assert_eq!(e.execute(&mut c, &argv("BLPOP a b 1.5")), Reply::NilArray);
        assert_eq!(
            c.blocked.take(),
            Some(BlockedOn { keys: argv("a b"), deadline_ms: Some(T0 + 1500) })
        );
        assert_eq!(e.execute(&mut c, &argv("BLMOVE src dst LEFT RIGHT 0")), Reply::NilArray);
        assert_eq!(c.blocked.take(), Some(BlockedOn { keys: argv("src"), deadline_ms: None }));
        assert_eq!(e.execute(&mut c, &argv("BLMPOP 0.0001 2 x y LEFT")), Reply::NilArray);
        assert_eq!(
            c.blocked.take(),
            Some(BlockedOn { keys: argv("x y"), deadline_ms: Some(T0 + 1) })
        );
        // Errors and served commands never block.
        assert!(e.execute(&mut c, &argv("BLPOP a x")).is_error());
        e.execute(&mut c, &argv("RPUSH a v"));
        assert_eq!(e.execute(&mut c, &argv("BLPOP a 0")), Reply::Array(vec![bulk("a"), bulk("v")]));
        assert_eq!(c.blocked, None);
        assert_eq!(*rec.0.lock().unwrap(), ["RPUSH a v", "LPOP a"]);
    }

    #[test]
    fn blocking_commands_in_a_transaction_answer_at_once() {
        let (mut e, _) = engine();
        let mut c = e.new_client("t".into());
        let cmds =
            [argv("BLPOP a 0"), argv("BRPOPLPUSH a b 0"), argv("RPUSH a v"), argv("BLPOP a 0")];
        let replies = e.execute_transaction(&mut c, &cmds).unwrap();
        assert_eq!(
            replies,
            [Reply::NilArray, Reply::Nil, Reply::Int(1), Reply::Array(vec![bulk("a"), bulk("v")])]
        );
        assert_eq!(c.blocked, None);
    }

    #[test]
    fn pushes_signal_keys_someone_blocks_on() {
        let (mut e, _) = engine();
        let mut c = e.new_client("t".into());
        e.register_blocked(&argv("a b"));
        for cmd in
            ["RPUSH a 1", "LPUSH a 2", "LPUSHX zz 1", "RPUSH other 1", "LMOVE other b LEFT LEFT"]
        {
            e.execute(&mut c, &argv(cmd));
        }
        assert_eq!(e.drain_ready_keys(), argv("a b"));
        e.unregister_blocked(&argv("a b"));
        e.execute(&mut c, &argv("RPUSH a 3"));
        assert!(e.drain_ready_keys().is_empty());
    }

    #[test]
    fn pops_propagate_deterministically() {
        let (mut e, rec) = engine();
        let mut c = e.new_client("t".into());
        for cmd in [
            "RPUSH l a b c d e f",
            "BRPOP l 0",
            "LMPOP 1 l LEFT COUNT 2",
            "BLMPOP 1 1 l RIGHT COUNT 9",
            "RPUSH l x y",
            "BLMOVE l m RIGHT LEFT 0",
            "BRPOPLPUSH l m 0",
            "LPOP nothing",
            "LTRIM m 0 -1",
            "LREM m 0 zz",
        ] {
            e.execute(&mut c, &argv(cmd));
        }
        assert_eq!(
            *rec.0.lock().unwrap(),
            [
                "RPUSH l a b c d e f",
                "RPOP l",
                "LPOP l 2",
                "RPOP l 3",
                "RPUSH l x y",
                "LMOVE l m RIGHT LEFT",
                "RPOPLPUSH l m",
            ]
        );
    }
}
