//! The set family: SADD, SREM, membership, random picks, the algebra (SINTER, SUNION, SDIFF and their
//! STORE forms, SINTERCARD) and SSCAN.

use bytes::Bytes;
use larder_resp::Reply;
use rand::Rng;

use super::args::parse_i64;
use super::keys::{ScanOptions, parse_cursor};
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
pub(crate) const MAX_RANDOM_REPLY: u64 = 1 << 20;

pub(super) fn sadd(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> Result<Reply, CommandError> {
    let key = args.next_key()?;
    let members = args.rest();
    let now = ctx.now;
    let added = match ctx.db.get_mut_as::<Set>(key, now)? {
        Some(set) => add_all(set, members),
        None => {
            let mut set = Set::default();
            let added = add_all(&mut set, members);
            ctx.db.insert(key, Entry::new(Value::Set(Box::new(set))), now);
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
        return Err(CommandError::custom(
            "ERR Number of keys can't be greater than number of args",
        ));
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
        members.iter().map(|m| Reply::Int(set.is_some_and(|s| s.contains(m)) as i64)).collect(),
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
            ctx.db.insert(dst, Entry::new(Value::Set(Box::new(set))), now);
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
            let remove_work =
                first.len() as u64 + others.iter().map(|s| s.len() as u64).sum::<u64>();
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
        ctx.db.insert(dst, Entry::new(Value::Set(Box::new(result))), now);
        ctx.mark_dirty(1);
    } else if ctx.db.remove(dst, now).is_some() {
        ctx.mark_dirty(1);
    }
    Reply::Int(n as i64)
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use bytes::Bytes;
    use larder_resp::Reply;

    use crate::{ClientState, Engine, ManualClock, Propagate, ServerInfo};

    type Log = Arc<Mutex<Vec<Vec<Bytes>>>>;

    struct Sink(Log);

    impl Propagate for Sink {
        fn propagate(&mut self, argv: &[Bytes]) {
            self.0.lock().unwrap().push(argv.to_vec());
        }
    }

    struct T {
        engine: Engine,
        client: ClientState,
        log: Log,
    }

    impl T {
        fn new() -> T {
            let mut engine =
                Engine::new(Arc::new(ManualClock::new(1_700_000_000_000)), ServerInfo::default());
            let log: Log = Arc::default();
            engine.set_propagation(Box::new(Sink(log.clone())));
            let client = engine.new_client("test".into());
            T { engine, client, log }
        }

        fn run(&mut self, args: &[&str]) -> Reply {
            let argv: Vec<Bytes> =
                args.iter().map(|a| Bytes::copy_from_slice(a.as_bytes())).collect();
            self.engine.execute(&mut self.client, &argv)
        }

        fn run_owned(&mut self, argv: &[Bytes]) -> Reply {
            self.engine.execute(&mut self.client, argv)
        }

        fn int(&mut self, args: &[&str]) -> i64 {
            match self.run(args) {
                Reply::Int(n) => n,
                r => panic!("{args:?}: {r:?}"),
            }
        }

        /// The members of a reply of bulk strings, sorted.
        fn members(&mut self, args: &[&str]) -> Vec<Bytes> {
            let items = match self.run(args) {
                Reply::Set(v) | Reply::Array(v) => v,
                r => panic!("{args:?}: {r:?}"),
            };
            let mut v: Vec<Bytes> = items.into_iter().map(bulk_of).collect();
            v.sort();
            v
        }

        /// The propagated commands since the last call. Several effects of one command arrive wrapped in
        /// MULTI/EXEC; the wrapper is checked and removed here.
        fn take_log(&mut self) -> Vec<Vec<Bytes>> {
            let mut log = std::mem::take(&mut *self.log.lock().unwrap());
            if log.first().is_some_and(|c| c[0] == "MULTI") {
                assert_eq!(
                    log.last().map(|c| c[0].clone()),
                    Some(Bytes::from("EXEC")),
                    "MULTI without EXEC"
                );
                log.pop();
                log.remove(0);
            }
            log
        }

        fn fill(&mut self, key: &str, members: impl IntoIterator<Item = String>) {
            let mut argv =
                vec![Bytes::from_static(b"SADD"), Bytes::copy_from_slice(key.as_bytes())];
            argv.extend(members.into_iter().map(Bytes::from));
            let n = argv.len() as i64 - 2;
            assert_eq!(self.run_owned(&argv), Reply::Int(n));
        }
    }

    fn bulk_of(r: Reply) -> Bytes {
        match r {
            Reply::Bulk(b) => b,
            r => panic!("not a bulk: {r:?}"),
        }
    }

    fn strs(n: usize) -> impl Iterator<Item = String> {
        (0..n).map(|i| format!("m{i}"))
    }

    fn sorted_dedup(mut v: Vec<Bytes>) -> Vec<Bytes> {
        v.sort();
        v.dedup();
        v
    }

    #[test]
    fn spop_propagates_srem_then_del() {
        for n in [20usize, 2000] {
            for (ints, label) in [(false, "strings"), (true, "integers")] {
                let mut t = T::new();
                let members: Vec<String> =
                    if ints { (0..n).map(|i| i.to_string()).collect() } else { strs(n).collect() };
                t.fill("k", members.clone());
                t.take_log();
                let mut all = t.members(&["SMEMBERS", "k"]);
                let mut popped = Vec::new();
                // One member, then few (pick-and-remove), then most (copy-and-remove), then the rest.
                let one = bulk_of(t.run(&["SPOP", "k"]));
                assert_eq!(t.take_log(), vec![vec!["SREM".into(), "k".into(), one.clone()]]);
                popped.push(one);
                let left = n - 1;
                for count in [left / 10, left - left / 10 - 2] {
                    let got = t.members(&["SPOP", "k", &count.to_string()]);
                    assert_eq!(got.len(), count, "{label}");
                    assert_eq!(sorted_dedup(got.clone()).len(), count, "{label}: distinct");
                    let log = t.take_log();
                    let mut logged: Vec<Bytes> = Vec::new();
                    for argv in &log {
                        assert_eq!(&argv[..2], &[Bytes::from("SREM"), Bytes::from("k")]);
                        assert!(argv.len() - 2 <= super::SREM_BATCH);
                        logged.extend_from_slice(&argv[2..]);
                    }
                    logged.sort();
                    assert_eq!(logged, got, "{label}: propagated members");
                    for m in &got {
                        let m = std::str::from_utf8(m).unwrap();
                        assert_eq!(t.int(&["SISMEMBER", "k", m]), 0);
                    }
                    popped.extend(got);
                }
                assert_eq!(t.int(&["SCARD", "k"]) as usize, 2);
                let rest = t.members(&["SPOP", "k", "5"]);
                assert_eq!(t.take_log(), vec![vec![Bytes::from("DEL"), Bytes::from("k")]]);
                assert_eq!(t.int(&["EXISTS", "k"]), 0);
                popped.extend(rest);
                popped.sort();
                all.sort();
                assert_eq!(popped, all, "{label}: every member popped once");
            }
        }
    }

    #[test]
    fn spop_batches_srem() {
        let mut t = T::new();
        t.fill("k", strs(3000));
        t.take_log();
        let got = t.members(&["SPOP", "k", "2500"]);
        assert_eq!(got.len(), 2500);
        let sizes: Vec<usize> = t.take_log().iter().map(|a| a.len() - 2).collect();
        assert_eq!(sizes, [1024, 1024, 452]);
        assert_eq!(t.int(&["SCARD", "k"]), 500);
    }

    #[test]
    fn no_change_no_propagation() {
        let mut t = T::new();
        t.fill("k", strs(3));
        t.take_log();
        for cmd in [
            &["SADD", "k", "m0"][..],
            &["SREM", "k", "zz"],
            &["SREM", "missing", "zz"],
            &["SPOP", "missing"],
            &["SPOP", "missing", "2"],
            &["SPOP", "k", "0"],
            &["SMOVE", "k", "k", "m0"],
            &["SMOVE", "k", "other", "zz"],
            &["SMOVE", "missing", "other", "m0"],
            &["SINTERSTORE", "d", "k", "missing"],
            &["SDIFFSTORE", "d", "k", "k"],
            &["SUNIONSTORE", "d", "missing"],
        ] {
            t.run(cmd);
            assert_eq!(t.take_log(), Vec::<Vec<Bytes>>::new(), "{cmd:?}");
        }
        // Deleting an existing destination is a change, propagated as the command itself.
        t.fill("d", strs(1));
        t.take_log();
        assert_eq!(t.int(&["SINTERSTORE", "d", "k", "missing"]), 0);
        assert_eq!(t.take_log().len(), 1);
        assert_eq!(t.int(&["EXISTS", "d"]), 0);
    }

    #[test]
    fn srandmember_counts() {
        for (n, ints) in [(10usize, true), (10, false), (400, true), (3000, false)] {
            let mut t = T::new();
            let members: Vec<String> =
                if ints { (0..n).map(|i| i.to_string()).collect() } else { strs(n).collect() };
            t.fill("k", members);
            let all = t.members(&["SMEMBERS", "k"]);
            // Distinct picks, for a small part (pick-and-add) and most of the set (copy-and-remove).
            for count in [1, 2, n / 4, n / 2, n - 1, n, n + 5] {
                let got = t.members(&["SRANDMEMBER", "k", &count.to_string()]);
                assert_eq!(got.len(), count.min(n), "count {count} of {n}");
                assert_eq!(sorted_dedup(got.clone()).len(), got.len(), "distinct");
                assert!(got.iter().all(|m| all.binary_search(m).is_ok()));
            }
            // Repeats allowed.
            let got = t.members(&["SRANDMEMBER", "k", &format!("-{}", 3 * n)]);
            assert_eq!(got.len(), 3 * n);
            assert!(got.iter().all(|m| all.binary_search(m).is_ok()));
            assert_eq!(t.int(&["SCARD", "k"]) as usize, n);
        }
    }

    #[test]
    fn srandmember_refuses_huge_negative_counts() {
        let mut t = T::new();
        t.fill("k", strs(2));
        assert!(t.run(&["SRANDMEMBER", "k", "-100000000000"]).is_error());
        assert_eq!(t.run(&["SRANDMEMBER", "missing", "-100000000000"]), Reply::Array(vec![]));
        assert_eq!(t.members(&["SRANDMEMBER", "k", "100000000000"]).len(), 2);
    }

    #[test]
    fn sscan_returns_every_member() {
        let mut t = T::new();
        t.fill("k", strs(1500));
        let mut seen = Vec::new();
        let mut matched = Vec::new();
        let mut cursor = Bytes::from("0");
        let mut calls = 0;
        loop {
            calls += 1;
            let argv = [Bytes::from("SSCAN"), Bytes::from("k"), cursor.clone()];
            let Reply::Array(mut page) = t.run_owned(&argv) else { panic!() };
            let Reply::Array(items) = page.pop().unwrap() else { panic!() };
            cursor = bulk_of(page.pop().unwrap());
            seen.extend(items.into_iter().map(bulk_of));
            let argv = [
                Bytes::from("SSCAN"),
                Bytes::from("k"),
                cursor.clone(),
                Bytes::from("MATCH"),
                Bytes::from("m1?"),
                Bytes::from("COUNT"),
                Bytes::from("50"),
            ];
            let Reply::Array(mut page) = t.run_owned(&argv) else { panic!() };
            let Reply::Array(items) = page.pop().unwrap() else { panic!() };
            matched.extend(items.into_iter().map(bulk_of));
            if cursor.as_ref() == b"0" {
                break;
            }
        }
        assert!(calls > 10, "paged");
        assert_eq!(sorted_dedup(seen), t.members(&["SMEMBERS", "k"]));
        assert!(matched.iter().all(|m| m.len() == 3 && m.starts_with(b"m1")));
    }

    #[test]
    fn algebra_on_mixed_forms() {
        let mut t = T::new();
        t.fill("ints", (0..600).map(|i| i.to_string()));
        t.fill("small", (0..10).map(|i| (i * 100).to_string()));
        t.fill("mixed", ["5", "100", "x", "y"].map(String::from));
        let s = |v: &[&str]| {
            let mut v: Vec<Bytes> =
                v.iter().map(|m| Bytes::copy_from_slice(m.as_bytes())).collect();
            v.sort();
            v
        };
        assert_eq!(t.members(&["SINTER", "mixed", "ints"]), s(&["5", "100"]));
        assert_eq!(t.members(&["SINTER", "ints", "small", "mixed"]), s(&["100"]));
        assert_eq!(t.members(&["SDIFF", "mixed", "ints"]), s(&["x", "y"]));
        assert_eq!(t.members(&["SDIFF", "small", "ints"]), s(&["600", "700", "800", "900"]));
        assert_eq!(t.int(&["SUNIONSTORE", "u", "small", "mixed"]), 13);
        assert_eq!(t.int(&["SDIFFSTORE", "d", "ints", "small", "mixed"]), 593);
        assert_eq!(t.int(&["SISMEMBER", "d", "5"]), 0);
        assert_eq!(t.int(&["SISMEMBER", "d", "6"]), 1);
        assert_eq!(t.int(&["SINTERCARD", "2", "ints", "u", "LIMIT", "3"]), 3);
    }

    #[test]
    fn resp3_replies_are_sets() {
        let mut t = T::new();
        t.fill("k", strs(3));
        for cmd in [
            &["SMEMBERS", "k"][..],
            &["SINTER", "k"],
            &["SUNION", "k"],
            &["SDIFF", "k"],
            &["SMEMBERS", "missing"],
            &["SPOP", "missing", "1"],
            &["SPOP", "k", "1"],
            &["SPOP", "k", "5"],
        ] {
            assert!(matches!(t.run(cmd), Reply::Set(_)), "{cmd:?}");
        }
        t.fill("k", strs(3));
        for cmd in [
            &["SRANDMEMBER", "k", "2"][..],
            &["SRANDMEMBER", "missing", "2"],
            &["SMISMEMBER", "k", "a"],
        ] {
            assert!(matches!(t.run(cmd), Reply::Array(_)), "{cmd:?}");
        }
    }

    /// Whatever random choices SPOP made, replaying what was propagated rebuilds the same sets.
    #[test]
    fn replaying_the_propagated_commands_gives_the_same_sets() {
        let mut a = T::new();
        a.fill("s", strs(300));
        a.fill("n", (0..300).map(|i| i.to_string()));
        for cmd in [
            &["SPOP", "s"][..],
            &["SPOP", "s", "20"],
            &["SPOP", "n", "250"],
            &["SMOVE", "s", "n", "m7"],
            &["SINTERSTORE", "i", "s", "n"],
            &["SPOP", "n", "3"],
            &["SDIFFSTORE", "s", "s", "n"],
            &["SPOP", "s", "260"],
            &["SUNIONSTORE", "u", "n", "s"],
            &["SPOP", "i", "1"],
        ] {
            a.run(cmd);
        }
        let mut b = T::new();
        for argv in a.take_log() {
            assert!(!b.run_owned(&argv).is_error(), "{argv:?}");
        }
        for key in ["s", "n", "i", "u"] {
            assert_eq!(a.members(&["SMEMBERS", key]), b.members(&["SMEMBERS", key]), "{key}");
        }
    }
}
