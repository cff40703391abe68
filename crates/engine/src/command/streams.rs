//! The stream family: XADD, XRANGE/XREVRANGE, XLEN, XDEL, XTRIM, XREAD (blocking too), the consumer groups
//! (XGROUP, XREADGROUP, XACK, XPENDING, XCLAIM, XAUTOCLAIM), XINFO and XSETID, as in Redis 7.0's
//! `t_stream.c`.
//!
//! Propagation follows Redis: XADD with a generated ID propagates that ID and approximate trims propagate
//! as exact ones (`MAXLEN = <length after>`); what XREADGROUP, XCLAIM and XAUTOCLAIM do to a group is
//! propagated as idempotent `XCLAIM ... TIME <ms> RETRYCOUNT <n> FORCE JUSTID LASTID <id>` commands, plus
//! `XGROUP SETID` / `XGROUP CREATECONSUMER` where no XCLAIM carries the change. XADD signals its key
//! ready, and a blocked XREAD with `$` waits with the ID it resolved (see [`Ctx::block_as`]).

use bytes::Bytes;
use larder_resp::{Protocol, Reply};

use super::args::{Word, parse_i64};
use super::strings::{copy, int_bytes};
use super::{Args, Ctx};
use crate::error::{CommandError, sanitize};
use crate::types::{Group, Nack, Stream, StreamId, Trim};

/// `XACK key group id [id ...]`
pub(super) fn xack(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> Result<Reply, CommandError> {
    let key = args.next_key()?;
    let group = args.next_bytes()?;
    let ids = args.rest();
    let Some(s) = ctx.db.get_mut_as::<Stream>(key, ctx.now)? else { return Ok(Reply::Int(0)) };
    let Some(g) = s.groups.get_mut(&group[..]) else { return Ok(Reply::Int(0)) };
    let ids = ids.iter().map(|a| parse_id(a, 0, true)).collect::<Result<Vec<_>, _>>()?;
    let acked = ids.into_iter().filter(|id| g.remove_pending(*id).is_some()).count();
    ctx.mark_dirty(acked as u64);
    Ok(Reply::Int(acked as i64))
}

/// `XADD key [NOMKSTREAM] [MAXLEN|MINID [=|~] threshold [LIMIT count]] *|id field value [field value ...]`
pub(super) fn xadd(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> Result<Reply, CommandError> {
    let key = args.next_key()?;
    let rest = args.rest();
    let opts = TrimOptions::parse(rest, true)?;
    let pairs = &rest[(opts.id_pos + 1).min(rest.len())..];
    if pairs.len() < 2 || !pairs.len().is_multiple_of(2) {
        return Err(CommandError::WrongArity("xadd".into()));
    }
    if let Some((id, true)) = opts.id
        && id.is_zero()
    {
        return Err(CommandError::custom("ERR The ID specified in XADD must be greater than 0-0"));
    }
    let now = ctx.now;
    if opts.no_mkstream && ctx.db.get_as::<Stream>(key, now)?.is_none() {
        return Ok(Reply::Nil);
    }
    if pairs.iter().map(Bytes::len).sum::<usize>() > crate::types::stream::ENTRY_MAX_BYTES {
        return Err(CommandError::custom("ERR Elements are too large to be stored"));
    }
    let s = ctx.db.get_or_create_as::<Stream>(key, now)?;
    if s.last_id == StreamId::MAX {
        return Err(CommandError::custom(
            "ERR The stream has exhausted the last possible ID, unable to add more items",
        ));
    }
    let too_small = || {
        CommandError::custom(
            "ERR The ID specified in XADD is equal or smaller than the target stream top item",
        )
    };
    let id = match opts.id {
        None => s.next_id(now).ok_or_else(too_small)?,
        Some((id, true)) => id,
        Some((id, false)) if id.ms == s.last_id.ms => s.last_id.incr().ok_or_else(too_small)?,
        Some((id, false)) => id,
    };
    if id <= s.last_id {
        return Err(too_small());
    }
    s.append(id, pairs.iter().map(copy).collect());
    if let Some(trim) = opts.trim {
        s.trim(trim, opts.approx, opts.limit);
    }
    let rewrite = opts.approx || !matches!(opts.id, Some((_, true)));
    if rewrite {
        let mut argv = vec![Bytes::from_static(b"XADD"), key.clone()];
        opts.push_exact(&mut argv, s, rest);
        argv.push(id.to_bytes());
        argv.extend(pairs.iter().cloned());
        ctx.propagate(argv);
    }
    ctx.mark_dirty(1);
    ctx.signal_ready(key);
    Ok(Reply::Bulk(id.to_bytes()))
}

/// `XAUTOCLAIM key group consumer min-idle-time start [COUNT count] [JUSTID]`
pub(super) fn xautoclaim(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> Result<Reply, CommandError> {
    let key = args.next_key()?;
    let group = args.next_bytes()?;
    let consumer = args.next_bytes()?;
    let min_idle = parse_i64(args.next_bytes()?)
        .ok_or_else(|| CommandError::custom("ERR Invalid min-idle-time argument for XAUTOCLAIM"))?
        .max(0) as u64;
    let start = parse_start(args.next_bytes()?)?;
    let mut count: u64 = 100;
    let mut justid = false;
    while let Some(w) = args.next_word() {
        if w.is("COUNT") && !args.is_empty() {
            let max = i64::MAX / 16;
            count = parse_i64(args.next_bytes()?)
                .filter(|n| (1..=max).contains(n))
                .ok_or_else(|| CommandError::custom("ERR COUNT must be > 0"))?
                as u64;
        } else if w.is("JUSTID") {
            justid = true;
        } else {
            return Err(CommandError::Syntax);
        }
    }
    let now = ctx.now;
    let s = ctx.db.get_mut_as::<Stream>(key, now)?;
    let Some(s) = s.filter(|s| s.groups.contains_key(&group[..])) else {
        return Err(nogroup(key, group, ""));
    };
    let mut attempts = count.saturating_mul(10);
    let mut claimed = Vec::new();
    let mut deleted = Vec::new();
    let mut props = Vec::new();
    let mut cursor = start;
    let mut next = None;
    let mut consumer_ready = false;
    loop {
        if attempts == 0 || count == 0 {
            next = s.groups[&group[..]].pel.range(cursor..).next().map(|(id, _)| *id);
            break;
        }
        attempts -= 1;
        let g = &s.groups[&group[..]];
        let Some((&id, nack)) = g.pel.range(cursor..).next() else { break };
        cursor = match id.incr() {
            Some(c) => c,
            None => StreamId::MAX,
        };
        let last = id == StreamId::MAX;
        if s.get(id).is_none() {
            props.push(xclaim_argv(key, group, &nack.consumer, id, nack, g.last_id));
            s.groups.get_mut(&group[..]).expect("checked").remove_pending(id);
            deleted.push(Reply::Bulk(id.to_bytes()));
            count -= 1;
            if last {
                break;
            }
            continue;
        }
        if min_idle > 0 && now.saturating_sub(nack.delivery_time) < min_idle {
            if last {
                break;
            }
            continue;
        }
        if !consumer_ready {
            touch_consumer(s, group, consumer, now, ctx.now, &mut props, key, false);
            consumer_ready = true;
        }
        let g = s.groups.get_mut(&group[..]).expect("checked");
        let last_id = g.last_id;
        let nack = g.assign(id, consumer, now);
        nack.delivery_time = now;
        if !justid {
            nack.delivery_count += 1;
        }
        props.push(xclaim_argv(key, group, consumer, id, nack, last_id));
        claimed.push(if justid {
            Reply::Bulk(id.to_bytes())
        } else {
            entry_reply(id, s.get(id).expect("checked"))
        });
        count -= 1;
        if last {
            break;
        }
    }
    let next = next.unwrap_or(StreamId::MIN);
    let dirty = props.len();
    propagate_all(ctx, props);
    ctx.mark_dirty(dirty as u64);
    Ok(Reply::Array(vec![
        Reply::Bulk(next.to_bytes()),
        Reply::Array(claimed),
        Reply::Array(deleted),
    ]))
}

/// `XCLAIM key group consumer min-idle-time id [id ...] [IDLE ms] [TIME ms] [RETRYCOUNT n] [FORCE]
/// [JUSTID] [LASTID id]`
pub(super) fn xclaim(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> Result<Reply, CommandError> {
    let key = args.next_key()?;
    let group = args.next_bytes()?;
    let consumer = args.next_bytes()?;
    let now = ctx.now;
    let s = ctx.db.get_mut_as::<Stream>(key, now)?;
    let Some(s) = s.filter(|s| s.groups.contains_key(&group[..])) else {
        return Err(nogroup(key, group, ""));
    };
    let min_idle = parse_i64(args.next_bytes()?)
        .ok_or_else(|| CommandError::custom("ERR Invalid min-idle-time argument for XCLAIM"))?
        .max(0) as u64;
    let rest = args.rest();
    let n_ids = rest.iter().take_while(|a| parse_id(a, 0, true).is_ok()).count();
    let ids: Vec<StreamId> =
        rest[..n_ids].iter().map(|a| parse_id(a, 0, true).expect("checked")).collect();
    let opts = ClaimOptions::parse(&rest[n_ids..], now)?;
    let mut props = Vec::new();
    let g = s.groups.get_mut(&group[..]).expect("checked");
    let mut propagate_last_id = false;
    if opts.last_id > g.last_id {
        g.last_id = opts.last_id;
        propagate_last_id = true;
    }
    let delivery_time = match opts.delivery_time {
        // While the AOF loads, the clock reads 0: keep the recorded time.
        Some(t) if t < 0 || (t as u64 > now && now != 0) => now,
        Some(t) => t as u64,
        None => now,
    };
    let mut replies = Vec::new();
    let mut consumer_ready = false;
    for id in ids {
        let exists = s.get(id).is_some();
        let g = s.groups.get_mut(&group[..]).expect("checked");
        if !exists {
            if let Some(nack) = g.pel.get(&id) {
                props.push(xclaim_argv(key, group, &nack.consumer, id, nack, g.last_id));
                propagate_last_id = false;
                g.remove_pending(id);
            }
            continue;
        }
        match g.pel.get(&id) {
            Some(nack) if min_idle > 0 && now.saturating_sub(nack.delivery_time) < min_idle => {
                continue;
            }
            Some(_) => {}
            None if opts.force => {}
            None => continue,
        }
        if !consumer_ready {
            touch_consumer(s, group, consumer, now, now, &mut props, key, false);
            consumer_ready = true;
        }
        let g = s.groups.get_mut(&group[..]).expect("checked");
        let last_id = g.last_id;
        let nack = g.assign(id, consumer, now);
        nack.delivery_time = delivery_time;
        if let Some(n) = opts.retry_count {
            nack.delivery_count = n;
        } else if !opts.justid {
            nack.delivery_count += 1;
        }
        props.push(xclaim_argv(key, group, consumer, id, nack, last_id));
        propagate_last_id = false;
        replies.push(if opts.justid {
            Reply::Bulk(id.to_bytes())
        } else {
            entry_reply(id, s.get(id).expect("checked"))
        });
    }
    if propagate_last_id {
        props.push(setid_argv(key, group, &s.groups[&group[..]]));
    }
    let dirty = props.len();
    propagate_all(ctx, props);
    ctx.mark_dirty(dirty as u64);
    Ok(Reply::Array(replies))
}

/// `XDEL key id [id ...]`
pub(super) fn xdel(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> Result<Reply, CommandError> {
    let key = args.next_key()?;
    let ids = args.rest();
    let Some(s) = ctx.db.get_mut_as::<Stream>(key, ctx.now)? else { return Ok(Reply::Int(0)) };
    let ids = ids.iter().map(|a| parse_id(a, 0, true)).collect::<Result<Vec<_>, _>>()?;
    let mut deleted = 0;
    let mut first = false;
    for id in ids {
        if s.delete(id) {
            first |= id == s.first_id;
            if id > s.max_deleted_id {
                s.max_deleted_id = id;
            }
            deleted += 1;
        }
    }
    if deleted > 0 {
        if s.is_empty() {
            s.first_id = StreamId::MIN;
        } else if first {
            s.refresh_first_id();
        }
    }
    ctx.mark_dirty(deleted);
    Ok(Reply::Int(deleted as i64))
}

/// `XGROUP CREATE|CREATECONSUMER|DELCONSUMER|DESTROY|SETID|HELP ...`
pub(super) fn xgroup(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> Result<Reply, CommandError> {
    let sub = args.next_bytes()?;
    let argc = args.remaining() + 2;
    let is = |w: &str| sub.eq_ignore_ascii_case(w.as_bytes());
    let arity_ok = if is("CREATE") || is("SETID") {
        argc >= 5
    } else if is("DESTROY") {
        argc == 4
    } else if is("CREATECONSUMER") || is("DELCONSUMER") {
        argc == 5
    } else if is("HELP") {
        argc == 2
    } else {
        return Err(CommandError::UnknownSubcommand {
            cmd: "XGROUP".into(),
            sub: sanitize(sub, 128),
        });
    };
    if !arity_ok {
        return Err(super::subcommand_arity("xgroup", sub));
    }
    if is("HELP") {
        return Ok(help("XGROUP", XGROUP_HELP));
    }
    let syntax = || subcommand_syntax("XGROUP", sub);
    let key = args.next_key()?;
    let name = args.next_bytes()?;
    let rest = args.rest();
    let (create, setid) = (is("CREATE"), is("SETID"));
    let mut mkstream = false;
    let mut entries_read: Option<u64> = None;
    let mut i = 1;
    while i < rest.len() {
        let w = Word(&rest[i]);
        if create && w.is("MKSTREAM") {
            mkstream = true;
            i += 1;
        } else if (create || setid) && w.is("ENTRIESREAD") && i + 1 < rest.len() {
            let n = parse_i64(&rest[i + 1]).ok_or(CommandError::NotInteger)?;
            if n < -1 {
                return Err(CommandError::custom(
                    "ERR value for ENTRIESREAD must be positive or -1",
                ));
            }
            entries_read = u64::try_from(n).ok();
            i += 2;
        } else {
            return Err(syntax());
        }
    }
    let now = ctx.now;
    let exists = ctx.db.get_as::<Stream>(key, now)?.is_some();
    if !mkstream {
        let Some(s) = ctx.db.get_as::<Stream>(key, now)? else {
            return Err(CommandError::custom(
                "ERR The XGROUP subcommand requires the key to exist. Note that for CREATE you may want to use the MKSTREAM option to create an empty stream automatically.",
            ));
        };
        if !s.groups.contains_key(&name[..]) && !create && !is("DESTROY") {
            return Err(CommandError::custom(format!(
                "NOGROUP No such consumer group '{}' for key name '{}'",
                sanitize(name, usize::MAX),
                sanitize(key, usize::MAX)
            )));
        }
    }
    if create && argc <= 8 {
        let id = if rest[0][..] == b"$"[..] {
            ctx.db.get_as::<Stream>(key, now)?.map_or(StreamId::MIN, |s| s.last_id)
        } else {
            parse_id(&rest[0], 0, true)?
        };
        if exists
            && ctx.db.get_as::<Stream>(key, now)?.is_some_and(|s| s.groups.contains_key(&name[..]))
        {
            return Err(CommandError::custom("BUSYGROUP Consumer Group name already exists"));
        }
        let s = ctx.db.get_or_create_as::<Stream>(key, now)?;
        s.groups.insert(copy(name), Group::new(id, entries_read));
        ctx.mark_dirty(1);
        return Ok(Reply::OK);
    }
    if setid && (argc == 5 || argc == 7) {
        let s = ctx.db.get_mut_as::<Stream>(key, now)?.expect("checked");
        let id = if rest[0][..] == b"$"[..] { s.last_id } else { parse_id(&rest[0], 0, false)? };
        let g = s.groups.get_mut(&name[..]).expect("checked");
        g.last_id = id;
        g.entries_read = entries_read;
        ctx.mark_dirty(1);
        return Ok(Reply::OK);
    }
    if is("DESTROY") {
        let s = ctx.db.get_mut_as::<Stream>(key, now)?.expect("checked");
        if s.groups.remove(&name[..]).is_none() {
            return Ok(Reply::Int(0));
        }
        ctx.mark_dirty(1);
        ctx.signal_ready(key);
        return Ok(Reply::Int(1));
    }
    if is("CREATECONSUMER") {
        let s = ctx.db.get_mut_as::<Stream>(key, now)?.expect("checked");
        let g = s.groups.get_mut(&name[..]).expect("checked");
        if g.consumers.contains_key(&rest[0][..]) {
            return Ok(Reply::Int(0));
        }
        g.consumers.insert(
            copy(&rest[0]),
            crate::types::Consumer { seen_time: now, ..Default::default() },
        );
        ctx.mark_dirty(1);
        return Ok(Reply::Int(1));
    }
    if is("DELCONSUMER") {
        let s = ctx.db.get_mut_as::<Stream>(key, now)?.expect("checked");
        let g = s.groups.get_mut(&name[..]).expect("checked");
        let Some(pending) = g.delete_consumer(&rest[0]) else { return Ok(Reply::Int(0)) };
        ctx.mark_dirty(1);
        return Ok(Reply::Int(pending as i64));
    }
    Err(syntax())
}

/// `XINFO CONSUMERS key group | GROUPS key | STREAM key [FULL [COUNT n]] | HELP`
pub(super) fn xinfo(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> Result<Reply, CommandError> {
    let sub = args.next_bytes()?;
    let argc = args.remaining() + 2;
    let is = |w: &str| sub.eq_ignore_ascii_case(w.as_bytes());
    let arity_ok = if is("CONSUMERS") {
        argc == 4
    } else if is("GROUPS") {
        argc == 3
    } else if is("STREAM") {
        argc >= 3
    } else if is("HELP") {
        argc == 2
    } else {
        return Err(CommandError::UnknownSubcommand {
            cmd: "XINFO".into(),
            sub: sanitize(sub, 128),
        });
    };
    if !arity_ok {
        return Err(super::subcommand_arity("xinfo", sub));
    }
    if is("HELP") {
        return Ok(help("XINFO", XINFO_HELP));
    }
    let key = args.next_key()?;
    let now = ctx.now;
    let s = ctx.db.get_as::<Stream>(key, now)?.ok_or(CommandError::NoSuchKey)?;
    if is("CONSUMERS") {
        let name = args.next_bytes()?;
        let Some(g) = s.groups.get(&name[..]) else {
            return Err(CommandError::custom(format!(
                "NOGROUP No such consumer group '{}' for key name '{}'",
                sanitize(name, usize::MAX),
                sanitize(key, usize::MAX)
            )));
        };
        let consumers = g.consumers.iter().map(|(n, c)| {
            Reply::Map(vec![
                (Reply::bulk("name"), Reply::Bulk(n.clone())),
                (Reply::bulk("pending"), Reply::Int(c.pel.len() as i64)),
                (Reply::bulk("idle"), Reply::Int(now.saturating_sub(c.seen_time) as i64)),
            ])
        });
        return Ok(Reply::Array(consumers.collect()));
    }
    if is("GROUPS") {
        let groups = s.groups.iter().map(|(n, g)| {
            Reply::Map(vec![
                (Reply::bulk("name"), Reply::Bulk(n.clone())),
                (Reply::bulk("consumers"), Reply::Int(g.consumers.len() as i64)),
                (Reply::bulk("pending"), Reply::Int(g.pel.len() as i64)),
                (Reply::bulk("last-delivered-id"), Reply::Bulk(g.last_id.to_bytes())),
                (Reply::bulk("entries-read"), opt_int(g.entries_read)),
                (Reply::bulk("lag"), opt_int(s.lag(g))),
            ])
        });
        return Ok(Reply::Array(groups.collect()));
    }
    // STREAM
    let opts = args.rest();
    let syntax = || subcommand_syntax("XINFO", sub);
    let full = match opts.len() {
        0 => None,
        1 | 3 if Word(&opts[0]).is("FULL") => {
            if opts.len() == 1 {
                Some(10)
            } else if Word(&opts[1]).is("COUNT") {
                let n = parse_i64(&opts[2]).ok_or(CommandError::NotInteger)?;
                Some(if n < 0 { 10 } else { n as usize })
            } else {
                return Err(syntax());
            }
        }
        _ => return Err(syntax()),
    };
    let mut m = vec![
        (Reply::bulk("length"), Reply::Int(s.len() as i64)),
        (Reply::bulk("radix-tree-keys"), Reply::Int(s.node_count() as i64)),
        (Reply::bulk("radix-tree-nodes"), Reply::Int(s.rax_node_count() as i64)),
        (Reply::bulk("last-generated-id"), Reply::Bulk(s.last_id.to_bytes())),
        (Reply::bulk("max-deleted-entry-id"), Reply::Bulk(s.max_deleted_id.to_bytes())),
        (Reply::bulk("entries-added"), Reply::Int(s.entries_added as i64)),
        (Reply::bulk("recorded-first-entry-id"), Reply::Bulk(s.first_id.to_bytes())),
    ];
    let Some(count) = full else {
        let edge =
            |e: Option<(StreamId, &[Bytes])>| e.map_or(Reply::Nil, |(id, f)| entry_reply(id, f));
        m.push((Reply::bulk("groups"), Reply::Int(s.groups.len() as i64)));
        m.push((Reply::bulk("first-entry"), edge(s.first())));
        m.push((Reply::bulk("last-entry"), edge(s.last())));
        return Ok(Reply::Map(m));
    };
    let limit = if count == 0 { usize::MAX } else { count };
    let entries = s.range(StreamId::MIN, StreamId::MAX).take(limit);
    m.push((
        Reply::bulk("entries"),
        Reply::Array(entries.map(|(id, f)| entry_reply(id, f)).collect()),
    ));
    let groups = s.groups.iter().map(|(n, g)| {
        let pel = g.pel.iter().take(limit).map(|(id, nack)| {
            Reply::Array(vec![
                Reply::Bulk(id.to_bytes()),
                Reply::Bulk(nack.consumer.clone()),
                Reply::Int(nack.delivery_time as i64),
                Reply::Int(nack.delivery_count as i64),
            ])
        });
        let consumers = g.consumers.iter().map(|(cn, c)| {
            let pel = c.pel.iter().take(limit).map(|id| {
                let nack = &g.pel[id];
                Reply::Array(vec![
                    Reply::Bulk(id.to_bytes()),
                    Reply::Int(nack.delivery_time as i64),
                    Reply::Int(nack.delivery_count as i64),
                ])
            });
            Reply::Map(vec![
                (Reply::bulk("name"), Reply::Bulk(cn.clone())),
                (Reply::bulk("seen-time"), Reply::Int(c.seen_time as i64)),
                (Reply::bulk("pel-count"), Reply::Int(c.pel.len() as i64)),
                (Reply::bulk("pending"), Reply::Array(pel.collect())),
            ])
        });
        Reply::Map(vec![
            (Reply::bulk("name"), Reply::Bulk(n.clone())),
            (Reply::bulk("last-delivered-id"), Reply::Bulk(g.last_id.to_bytes())),
            (Reply::bulk("entries-read"), opt_int(g.entries_read)),
            (Reply::bulk("lag"), opt_int(s.lag(g))),
            (Reply::bulk("pel-count"), Reply::Int(g.pel.len() as i64)),
            (Reply::bulk("pending"), Reply::Array(pel.collect())),
            (Reply::bulk("consumers"), Reply::Array(consumers.collect())),
        ])
    });
    m.push((Reply::bulk("groups"), Reply::Array(groups.collect())));
    Ok(Reply::Map(m))
}

pub(super) fn xlen(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> Result<Reply, CommandError> {
    let key = args.next_key()?;
    let len = ctx.db.get_as::<Stream>(key, ctx.now)?.map_or(0, Stream::len);
    Ok(Reply::Int(len as i64))
}

/// `XPENDING key group [[IDLE min-idle-time] start end count [consumer]]`
pub(super) fn xpending(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> Result<Reply, CommandError> {
    let key = args.next_key()?;
    let group = args.next_bytes()?;
    let rest = args.rest();
    let argc = rest.len() + 3;
    if argc != 3 && !(6..=9).contains(&argc) {
        return Err(CommandError::Syntax);
    }
    let mut range = None;
    if argc >= 6 {
        let mut at = 0;
        let mut min_idle = 0;
        if Word(&rest[0]).is("IDLE") {
            min_idle = parse_i64(&rest[1]).ok_or(CommandError::NotInteger)?;
            if argc < 8 {
                return Err(CommandError::Syntax);
            }
            at = 2;
        }
        let count = parse_i64(&rest[at + 2]).ok_or(CommandError::NotInteger)?.max(0) as u64;
        let start = parse_start(&rest[at])?;
        let end = parse_end(&rest[at + 1])?;
        let consumer = rest.get(at + 3);
        range = Some((min_idle, start, end, count, consumer));
    }
    let now = ctx.now;
    let s = ctx.db.get_as::<Stream>(key, now)?;
    let Some(g) = s.and_then(|s| s.groups.get(&group[..])) else {
        return Err(nogroup(key, group, ""));
    };
    let Some((min_idle, start, end, count, consumer)) = range else {
        let Some((first, _)) = g.pel.first_key_value() else {
            return Ok(Reply::Array(vec![Reply::Int(0), Reply::Nil, Reply::Nil, Reply::NilArray]));
        };
        let last = g.pel.last_key_value().expect("non-empty").0;
        let owners = g.consumers.iter().filter(|(_, c)| !c.pel.is_empty()).map(|(n, c)| {
            Reply::Array(vec![Reply::Bulk(n.clone()), Reply::Bulk(int_bytes(c.pel.len() as i64))])
        });
        return Ok(Reply::Array(vec![
            Reply::Int(g.pel.len() as i64),
            Reply::Bulk(first.to_bytes()),
            Reply::Bulk(last.to_bytes()),
            Reply::Array(owners.collect()),
        ]));
    };
    let ids: Box<dyn Iterator<Item = StreamId>> = match consumer {
        Some(name) => match g.consumers.get(&name[..]) {
            Some(c) if start <= end => Box::new(c.pel.range(start..=end).copied()),
            Some(_) => Box::new(std::iter::empty()),
            None => return Ok(Reply::Array(Vec::new())),
        },
        None if start <= end => Box::new(g.pel.range(start..=end).map(|(id, _)| *id)),
        None => Box::new(std::iter::empty()),
    };
    let mut out = Vec::new();
    for id in ids {
        if out.len() as u64 >= count {
            break;
        }
        let nack = &g.pel[&id];
        let idle = now as i64 - nack.delivery_time as i64;
        if min_idle != 0 && idle < min_idle {
            continue;
        }
        out.push(Reply::Array(vec![
            Reply::Bulk(id.to_bytes()),
            Reply::Bulk(nack.consumer.clone()),
            Reply::Int(idle.max(0)),
            Reply::Int(nack.delivery_count as i64),
        ]));
    }
    Ok(Reply::Array(out))
}

/// `XRANGE key start end [COUNT count]`
pub(super) fn xrange(ctx: &mut Ctx<'_>, args: Args<'_>) -> Result<Reply, CommandError> {
    range(ctx, args, false)
}

/// `XREAD [COUNT count] [BLOCK ms] STREAMS key [key ...] id [id ...]`
pub(super) fn xread(ctx: &mut Ctx<'_>, args: Args<'_>) -> Result<Reply, CommandError> {
    read(ctx, args, false)
}

/// `XREADGROUP GROUP group consumer [COUNT count] [BLOCK ms] [NOACK] STREAMS key [key ...] id [id ...]`
pub(super) fn xreadgroup(ctx: &mut Ctx<'_>, args: Args<'_>) -> Result<Reply, CommandError> {
    // Its effects are propagated as XCLAIM / XGROUP commands, never as itself.
    ctx.propagate_as.get_or_insert_with(Vec::new);
    read(ctx, args, true)
}

/// `XREVRANGE key end start [COUNT count]`
pub(super) fn xrevrange(ctx: &mut Ctx<'_>, args: Args<'_>) -> Result<Reply, CommandError> {
    range(ctx, args, true)
}

/// `XSETID key last-id [ENTRIESADDED entries-added] [MAXDELETEDID max-deleted-id]`
pub(super) fn xsetid(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> Result<Reply, CommandError> {
    let key = args.next_key()?;
    let id = parse_id(args.next_bytes()?, 0, true)?;
    let mut entries_added = None;
    let mut max_deleted = StreamId::MIN;
    while let Some(w) = args.next_word() {
        if w.is("ENTRIESADDED") && !args.is_empty() {
            let n = args.next_i64()?;
            if n < 0 {
                return Err(CommandError::custom("ERR entries_added must be positive"));
            }
            entries_added = Some(n as u64);
        } else if w.is("MAXDELETEDID") && !args.is_empty() {
            max_deleted = parse_id(args.next_bytes()?, 0, true)?;
            if id < max_deleted {
                return Err(CommandError::custom(
                    "ERR The ID specified in XSETID is smaller than the provided max_deleted_entry_id",
                ));
            }
        } else {
            return Err(CommandError::Syntax);
        }
    }
    let s = ctx.db.get_mut_as::<Stream>(key, ctx.now)?.ok_or(CommandError::NoSuchKey)?;
    if let Some((top, _)) = s.last() {
        if id < top {
            return Err(CommandError::custom(
                "ERR The ID specified in XSETID is smaller than the target stream top item",
            ));
        }
        if entries_added.is_some_and(|n| (s.len() as u64) > n) {
            return Err(CommandError::custom(
                "ERR The entries_added specified in XSETID is smaller than the target stream length",
            ));
        }
    }
    s.last_id = id;
    if let Some(n) = entries_added {
        s.entries_added = n;
    }
    if !max_deleted.is_zero() {
        s.max_deleted_id = max_deleted;
    }
    ctx.mark_dirty(1);
    Ok(Reply::OK)
}

/// `XTRIM key MAXLEN|MINID [=|~] threshold [LIMIT count]`
pub(super) fn xtrim(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> Result<Reply, CommandError> {
    let key = args.next_key()?;
    let rest = args.rest();
    let opts = TrimOptions::parse(rest, false)?;
    let Some(s) = ctx.db.get_mut_as::<Stream>(key, ctx.now)? else { return Ok(Reply::Int(0)) };
    let trim = opts.trim.expect("XTRIM parses a strategy");
    let deleted = s.trim(trim, opts.approx, opts.limit);
    if deleted > 0 {
        if opts.approx {
            let mut argv = vec![Bytes::from_static(b"XTRIM"), key.clone()];
            opts.push_exact(&mut argv, s, rest);
            ctx.propagate(argv);
        }
        ctx.mark_dirty(deleted);
    }
    Ok(Reply::Int(deleted as i64))
}

const XGROUP_HELP: &[&str] = &[
    "CREATE <key> <groupname> <id|$> [option]",
    "    Create a new consumer group. Options are:",
    "    * MKSTREAM",
    "      Create the empty stream if it does not exist.",
    "    * ENTRIESREAD entries_read",
    "      Set the group's entries_read counter (internal use).",
    "CREATECONSUMER <key> <groupname> <consumer>",
    "    Create a new consumer in the specified group.",
    "DELCONSUMER <key> <groupname> <consumer>",
    "    Remove the specified consumer.",
    "DESTROY <key> <groupname>",
    "    Remove the specified group.",
    "SETID <key> <groupname> <id|$> [ENTRIESREAD entries_read]",
    "    Set the current group ID and entries_read counter.",
];

const XINFO_HELP: &[&str] = &[
    "CONSUMERS <key> <groupname>",
    "    Show consumers of <groupname>.",
    "GROUPS <key>",
    "    Show the stream consumer groups.",
    "STREAM <key> [FULL [COUNT <count>]",
    "    Show information about the stream.",
];

/// A command's HELP reply, framed as Redis frames it.
fn help(cmd: &str, lines: &[&'static str]) -> Reply {
    let mut out = vec![Reply::Simple(
        format!("{cmd} <subcommand> [<arg> [value] [opt] ...]. Subcommands are:").into(),
    )];
    out.extend(lines.iter().map(|l| Reply::Simple((*l).into())));
    out.push(Reply::simple("HELP"));
    out.push(Reply::simple("    Prints this help."));
    Reply::Array(out)
}

/// Redis's `addReplySubcommandSyntaxError`.
fn subcommand_syntax(cmd: &str, sub: &[u8]) -> CommandError {
    CommandError::custom(format!(
        "ERR unknown subcommand or wrong number of arguments for '{}'. Try {cmd} HELP.",
        sanitize(sub, 128)
    ))
}

/// `NOGROUP No such key '<key>' or consumer group '<group>'<suffix>`.
fn nogroup(key: &[u8], group: &[u8], suffix: &str) -> CommandError {
    CommandError::custom(format!(
        "NOGROUP No such key '{}' or consumer group '{}'{suffix}",
        sanitize(key, usize::MAX),
        sanitize(group, usize::MAX)
    ))
}

fn invalid_id() -> CommandError {
    CommandError::custom("ERR Invalid stream ID specified as stream command argument")
}

/// Redis's `string2ull`: a strict integer, or else what C's `strtoull` accepts (leading spaces, a sign,
/// leading zeros; a negative value wraps), the whole argument consumed.
fn parse_u64(b: &[u8]) -> Option<u64> {
    if let Some(v) = parse_i64(b) {
        return u64::try_from(v).ok();
    }
    let b = b.trim_ascii_start();
    let (neg, digits) = match b.first() {
        Some(b'-') => (true, &b[1..]),
        Some(b'+') => (false, &b[1..]),
        _ => (false, b),
    };
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let mut v: u64 = 0;
    for &c in digits {
        v = v.checked_mul(10)?.checked_add(u64::from(c - b'0'))?;
    }
    Some(if neg { v.wrapping_neg() } else { v })
}

/// Parses `<ms>-<seq>`, `<ms>` (sequence `missing_seq`), and unless `strict`, `-` and `+`.
fn parse_id(b: &[u8], missing_seq: u64, strict: bool) -> Result<StreamId, CommandError> {
    parse_id_seq(b, missing_seq, strict, false).map(|(id, _)| id)
}

/// Like [`parse_id`], also accepting `<ms>-*` when `auto_seq` (then the flag returned is false: the
/// sequence is to be generated).
fn parse_id_seq(
    b: &[u8],
    missing_seq: u64,
    strict: bool,
    auto_seq: bool,
) -> Result<(StreamId, bool), CommandError> {
    if b.len() > 127 {
        return Err(invalid_id());
    }
    match b {
        b"-" | b"+" if strict => return Err(invalid_id()),
        b"-" => return Ok((StreamId::MIN, true)),
        b"+" => return Ok((StreamId::MAX, true)),
        _ => {}
    }
    // C strings end at a NUL byte.
    let b = &b[..b.iter().position(|&c| c == 0).unwrap_or(b.len())];
    let (ms, seq) = match b.iter().position(|&c| c == b'-') {
        Some(i) => (&b[..i], Some(&b[i + 1..])),
        None => (b, None),
    };
    let ms = parse_u64(ms).ok_or_else(invalid_id)?;
    match seq {
        Some(b"*") if auto_seq => Ok((StreamId::new(ms, 0), false)),
        Some(seq) => Ok((StreamId::new(ms, parse_u64(seq).ok_or_else(invalid_id)?), true)),
        None => Ok((StreamId::new(ms, missing_seq), true)),
    }
}

/// A range's start: an ID (`-` allowed, a missing sequence is 0), or `(id` for the ID after it.
fn parse_start(b: &[u8]) -> Result<StreamId, CommandError> {
    if b.len() > 1 && b[0] == b'(' {
        return parse_id(&b[1..], 0, true)?
            .incr()
            .ok_or_else(|| CommandError::custom("ERR invalid start ID for the interval"));
    }
    parse_id(b, 0, false)
}

/// A range's end: an ID (`+` allowed, a missing sequence is the largest), or `(id` for the ID before it.
fn parse_end(b: &[u8]) -> Result<StreamId, CommandError> {
    if b.len() > 1 && b[0] == b'(' {
        return parse_id(&b[1..], u64::MAX, true)?
            .decr()
            .ok_or_else(|| CommandError::custom("ERR invalid end ID for the interval"));
    }
    parse_id(b, u64::MAX, false)
}

/// `[id, [field, value, ...]]`.
fn entry_reply(id: StreamId, fields: &[Bytes]) -> Reply {
    Reply::Array(vec![
        Reply::Bulk(id.to_bytes()),
        Reply::Array(fields.iter().cloned().map(Reply::Bulk).collect()),
    ])
}

fn opt_int(v: Option<u64>) -> Reply {
    v.map_or(Reply::Nil, |n| Reply::Int(n as i64))
}

/// The trimming and XADD options (Redis's `streamParseAddOrTrimArgsOrReply`).
struct TrimOptions {
    /// Index in the arguments after the key of XADD's ID (the arguments' length if none).
    id_pos: usize,
    /// XADD's explicit ID and whether its sequence was given (`None` for `*`).
    id: Option<(StreamId, bool)>,
    no_mkstream: bool,
    trim: Option<Trim>,
    approx: bool,
    /// Most entries to remove (0 = no limit).
    limit: u64,
}

impl TrimOptions {
    fn parse(rest: &[Bytes], xadd: bool) -> Result<TrimOptions, CommandError> {
        let mut o = TrimOptions {
            id_pos: rest.len(),
            id: None,
            no_mkstream: false,
            trim: None,
            approx: false,
            limit: 0,
        };
        let mut limit_given = false;
        let both = || {
            CommandError::custom(
                "ERR syntax error, MAXLEN and MINID options at the same time are not compatible",
            )
        };
        let mut i = 0;
        while i < rest.len() {
            let more = rest.len() - 1 - i;
            let w = Word(&rest[i]);
            if xadd && rest[i][..] == b"*"[..] {
                o.id_pos = i;
                break;
            } else if (w.is("MAXLEN") || w.is("MINID")) && more > 0 {
                if o.trim.is_some() {
                    return Err(both());
                }
                o.approx = false;
                if more >= 2 && rest[i + 1][..] == b"~"[..] {
                    o.approx = true;
                    i += 1;
                } else if more >= 2 && rest[i + 1][..] == b"="[..] {
                    i += 1;
                }
                let arg = &rest[i + 1];
                o.trim = Some(if w.is("MAXLEN") {
                    let n = parse_i64(arg).ok_or(CommandError::NotInteger)?;
                    if n < 0 {
                        return Err(CommandError::custom("ERR The MAXLEN argument must be >= 0."));
                    }
                    Trim::MaxLen(n as u64)
                } else {
                    Trim::MinId(parse_id(arg, 0, true)?)
                });
                i += 1;
            } else if w.is("LIMIT") && more > 0 {
                let n = parse_i64(&rest[i + 1]).ok_or(CommandError::NotInteger)?;
                if n < 0 {
                    return Err(CommandError::custom("ERR The LIMIT argument must be >= 0."));
                }
                o.limit = n as u64;
                limit_given = true;
                i += 1;
            } else if xadd && w.is("NOMKSTREAM") {
                o.no_mkstream = true;
            } else if xadd {
                o.id = Some(parse_id_seq(&rest[i], 0, true, true)?);
                o.id_pos = i;
                break;
            } else {
                return Err(CommandError::Syntax);
            }
            i += 1;
        }
        if o.limit > 0 && o.trim.is_none() {
            return Err(CommandError::custom(
                "ERR syntax error, LIMIT cannot be used without specifying a trimming strategy",
            ));
        }
        if !xadd && o.trim.is_none() {
            return Err(CommandError::custom(
                "ERR syntax error, XTRIM must be called with a trimming strategy",
            ));
        }
        if limit_given {
            if !o.approx {
                return Err(CommandError::custom(
                    "ERR syntax error, LIMIT cannot be used without the special ~ option",
                ));
            }
        } else if o.approx {
            o.limit = crate::types::stream::DEFAULT_TRIM_LIMIT;
        } else {
            o.limit = 0;
        }
        Ok(o)
    }

    /// Appends the trim option as an exact one that replays to the same result: `MAXLEN = <length>` or
    /// `MINID = <first id>` after an approximate trim, the option as given after an exact one.
    fn push_exact(&self, argv: &mut Vec<Bytes>, s: &Stream, _rest: &[Bytes]) {
        let Some(trim) = self.trim else { return };
        let (word, value) = match trim {
            Trim::MaxLen(n) => {
                let n = if self.approx { s.len() as u64 } else { n };
                ("MAXLEN", Bytes::from(n.to_string()))
            }
            Trim::MinId(id) => {
                let id =
                    if self.approx { s.first().map_or(StreamId::MAX, |(id, _)| id) } else { id };
                ("MINID", id.to_bytes())
            }
        };
        argv.extend([Bytes::from_static(word.as_bytes()), Bytes::from_static(b"="), value]);
    }
}

/// XCLAIM's options after the IDs.
struct ClaimOptions {
    /// The delivery time set by IDLE or TIME (possibly out of range; fixed up by the caller).
    delivery_time: Option<i64>,
    retry_count: Option<u64>,
    force: bool,
    justid: bool,
    last_id: StreamId,
}

impl ClaimOptions {
    fn parse(opts: &[Bytes], now: u64) -> Result<ClaimOptions, CommandError> {
        let mut o = ClaimOptions {
            delivery_time: None,
            retry_count: None,
            force: false,
            justid: false,
            last_id: StreamId::MIN,
        };
        let mut i = 0;
        while i < opts.len() {
            let w = Word(&opts[i]);
            let more = i + 1 < opts.len();
            let num = |what: &str| {
                parse_i64(&opts[i + 1]).ok_or_else(|| {
                    CommandError::custom(format!("ERR Invalid {what} option argument for XCLAIM"))
                })
            };
            if w.is("FORCE") {
                o.force = true;
            } else if w.is("JUSTID") {
                o.justid = true;
            } else if w.is("IDLE") && more {
                o.delivery_time = Some((now as i64).wrapping_sub(num("IDLE")?));
                i += 1;
            } else if w.is("TIME") && more {
                o.delivery_time = Some(num("TIME")?);
                i += 1;
            } else if w.is("RETRYCOUNT") && more {
                // A negative count leaves the counter alone, as in Redis.
                o.retry_count = u64::try_from(num("RETRYCOUNT")?).ok();
                i += 1;
            } else if w.is("LASTID") && more {
                o.last_id = parse_id(&opts[i + 1], 0, true)?;
                i += 1;
            } else {
                return Err(CommandError::custom(format!(
                    "ERR Unrecognized XCLAIM option '{}'",
                    sanitize(&opts[i], usize::MAX)
                )));
            }
            i += 1;
        }
        Ok(o)
    }
}

/// `XCLAIM key group consumer 0 id TIME <ms> RETRYCOUNT <n> FORCE JUSTID LASTID <group last id>`: the
/// idempotent form of a change to pending entry `id`.
fn xclaim_argv(
    key: &Bytes,
    group: &Bytes,
    consumer: &Bytes,
    id: StreamId,
    nack: &Nack,
    last_id: StreamId,
) -> Vec<Bytes> {
    vec![
        Bytes::from_static(b"XCLAIM"),
        key.clone(),
        group.clone(),
        consumer.clone(),
        Bytes::from_static(b"0"),
        id.to_bytes(),
        Bytes::from_static(b"TIME"),
        int_bytes(nack.delivery_time as i64),
        Bytes::from_static(b"RETRYCOUNT"),
        int_bytes(nack.delivery_count as i64),
        Bytes::from_static(b"FORCE"),
        Bytes::from_static(b"JUSTID"),
        Bytes::from_static(b"LASTID"),
        last_id.to_bytes(),
    ]
}

/// `XGROUP SETID key group <last id> ENTRIESREAD <n>`.
fn setid_argv(key: &Bytes, name: &Bytes, g: &Group) -> Vec<Bytes> {
    vec![
        Bytes::from_static(b"XGROUP"),
        Bytes::from_static(b"SETID"),
        key.clone(),
        name.clone(),
        g.last_id.to_bytes(),
        Bytes::from_static(b"ENTRIESREAD"),
        int_bytes(g.entries_read.map_or(-1, |n| n as i64)),
    ]
}

/// Propagates `cmds` as the command's effects (nothing when empty).
fn propagate_all(ctx: &mut Ctx<'_>, cmds: Vec<Vec<Bytes>>) {
    ctx.propagate_as.get_or_insert_with(Vec::new);
    cmds.into_iter().for_each(|c| ctx.propagate(c));
}

/// Looks up consumer `name` of `group`, refreshing its seen time, or creates it (propagated as
/// `XGROUP CREATECONSUMER` when `announce`). Returns whether it was created.
#[allow(clippy::too_many_arguments)]
fn touch_consumer(
    s: &mut Stream,
    group: &Bytes,
    name: &Bytes,
    now: u64,
    seen: u64,
    props: &mut Vec<Vec<Bytes>>,
    key: &Bytes,
    announce: bool,
) -> bool {
    let g = s.groups.get_mut(&group[..]).expect("the caller checked the group");
    if let Some(c) = g.consumers.get_mut(&name[..]) {
        c.seen_time = seen;
        return false;
    }
    g.consumers.insert(copy(name), crate::types::Consumer { seen_time: now, ..Default::default() });
    if announce {
        props.push(vec![
            Bytes::from_static(b"XGROUP"),
            Bytes::from_static(b"CREATECONSUMER"),
            key.clone(),
            group.clone(),
            name.clone(),
        ]);
    }
    true
}

/// XRANGE and XREVRANGE.
fn range(ctx: &mut Ctx<'_>, mut args: Args<'_>, rev: bool) -> Result<Reply, CommandError> {
    let key = args.next_key()?;
    let a = args.next_bytes()?;
    let b = args.next_bytes()?;
    let (start_arg, end_arg) = if rev { (b, a) } else { (a, b) };
    let start = parse_start(start_arg)?;
    let end = parse_end(end_arg)?;
    let mut count: Option<usize> = None;
    while let Some(w) = args.next_word() {
        if w.is("COUNT") && !args.is_empty() {
            count = Some(args.next_i64()?.max(0) as usize);
        } else {
            return Err(CommandError::Syntax);
        }
    }
    let Some(s) = ctx.db.get_as::<Stream>(key, ctx.now)? else {
        return Ok(Reply::Array(Vec::new()));
    };
    if count == Some(0) {
        return Ok(Reply::NilArray);
    }
    let limit = count.unwrap_or(usize::MAX);
    let entries = s.range(start, end);
    let out: Vec<Reply> = if rev {
        entries.rev().take(limit).map(|(id, f)| entry_reply(id, f)).collect()
    } else {
        entries.take(limit).map(|(id, f)| entry_reply(id, f)).collect()
    };
    Ok(Reply::Array(out))
}

/// An XREAD/XREADGROUP stream argument's ID.
#[derive(Clone, Copy)]
enum ReadFrom {
    /// Entries after this ID (`$` resolved, or an explicit ID).
    After(StreamId),
    /// `>`: entries never delivered to the group.
    New,
}

/// XREAD and XREADGROUP (Redis's `xreadCommand`).
fn read(ctx: &mut Ctx<'_>, mut args: Args<'_>, group_read: bool) -> Result<Reply, CommandError> {
    let argv = args.rest();
    let mut timeout: Option<u64> = None;
    let mut count: usize = 0;
    let mut streams_at = None;
    let mut group: Option<(&Bytes, &Bytes)> = None;
    let mut noack = false;
    let cmd = if group_read { "XREADGROUP" } else { "XREAD" };
    let mut i = 0;
    while i < argv.len() {
        let more = argv.len() - 1 - i;
        let w = Word(&argv[i]);
        if w.is("BLOCK") && more > 0 {
            i += 1;
            timeout = Some(parse_block_timeout(ctx, &argv[i])?);
        } else if w.is("COUNT") && more > 0 {
            i += 1;
            count = parse_i64(&argv[i]).ok_or(CommandError::NotInteger)?.max(0) as usize;
        } else if w.is("STREAMS") && more > 0 {
            let n = argv.len() - i - 1;
            if !n.is_multiple_of(2) {
                return Err(CommandError::custom(
                    "ERR Unbalanced XREAD list of streams: for each stream key an ID or '$' must be specified.",
                ));
            }
            streams_at = Some(i + 1);
            break;
        } else if w.is("GROUP") && more >= 2 {
            if !group_read {
                return Err(CommandError::custom(
                    "ERR The GROUP option is only supported by XREADGROUP. You called XREAD instead.",
                ));
            }
            group = Some((&argv[i + 1], &argv[i + 2]));
            i += 2;
        } else if w.is("NOACK") {
            if !group_read {
                return Err(CommandError::custom(
                    "ERR The NOACK option is only supported by XREADGROUP. You called XREAD instead.",
                ));
            }
            noack = true;
        } else {
            return Err(CommandError::Syntax);
        }
        i += 1;
    }
    let Some(at) = streams_at else { return Err(CommandError::Syntax) };
    if group_read && group.is_none() {
        return Err(CommandError::custom("ERR Missing GROUP option for XREADGROUP"));
    }
    let n = (argv.len() - at) / 2;
    let keys = &argv[at..at + n];
    let now = ctx.now;
    let mut from = Vec::with_capacity(n);
    for (key, id) in keys.iter().zip(&argv[at + n..]) {
        let s = ctx.db.get_as::<Stream>(key, now)?;
        if let Some((name, _)) = group
            && !s.is_some_and(|s| s.groups.contains_key(&name[..]))
        {
            return Err(nogroup(key, name, " in XREADGROUP with GROUP option"));
        }
        from.push(if id[..] == b"$"[..] {
            if group_read {
                return Err(CommandError::custom(
                    "ERR The $ ID is meaningless in the context of XREADGROUP: you want to read the history of this consumer by specifying a proper ID, or use the > ID to get new messages. The $ ID would just return an empty result set.",
                ));
            }
            ReadFrom::After(s.map_or(StreamId::MIN, |s| s.last_id))
        } else if id[..] == b">"[..] {
            if !group_read {
                return Err(CommandError::custom(
                    "ERR The > ID can be specified only when calling XREADGROUP using the GROUP <group> <consumer> option.",
                ));
            }
            ReadFrom::New
        } else {
            ReadFrom::After(parse_id(id, 0, true)?)
        });
    }
    let mut served = Vec::new();
    let mut props = Vec::new();
    for (key, &f) in keys.iter().zip(&from) {
        let Some(s) = ctx.db.get_mut_as::<Stream>(key, now)? else { continue };
        let entries = match group {
            None => {
                let ReadFrom::After(after) = f else { unreachable!("XREAD has no '>'") };
                match (s.last(), after.incr()) {
                    (Some((top, _)), Some(start)) if top > after => {
                        let out = s.range(start, StreamId::MAX).take(limit(count));
                        out.map(|(id, f)| entry_reply(id, f)).collect()
                    }
                    _ => continue,
                }
            }
            Some((name, consumer)) => {
                let last = s.groups[&name[..]].last_id;
                match f {
                    ReadFrom::After(after) => {
                        touch_consumer(s, name, consumer, now, now, &mut props, key, true);
                        ctx.dirty += 1;
                        read_history(s, name, consumer, after, count, now)
                    }
                    ReadFrom::New if s.last().is_some_and(|(top, _)| top > last) => {
                        touch_consumer(s, name, consumer, now, now, &mut props, key, true);
                        ctx.dirty += 1;
                        let entries =
                            read_new(s, key, name, consumer, count, noack, now, &mut props);
                        // Redis propagates the group's new last ID only after a NOACK read (the XCLAIMs'
                        // LASTID carry it otherwise), which loses the read counter on replay: larder
                        // propagates it after every read that moved it.
                        if s.groups[&name[..]].last_id != last {
                            props.push(setid_argv(key, name, &s.groups[&name[..]]));
                        }
                        entries
                    }
                    ReadFrom::New => continue,
                }
            }
        };
        served.push((Reply::Bulk(key.clone()), Reply::Array(entries)));
    }
    propagate_all(ctx, props);
    if !served.is_empty() {
        return Ok(if ctx.client.protocol == Protocol::Resp3 {
            Reply::Map(served)
        } else {
            Reply::Array(served.into_iter().map(|(k, v)| Reply::Array(vec![k, v])).collect())
        });
    }
    if let Some(timeout) = timeout {
        // Wait with the IDs resolved now: `$` means the last ID at the time of the call.
        let mut again: Vec<Bytes> = Vec::with_capacity(argv.len() + 1);
        again.push(Bytes::from_static(cmd.as_bytes()));
        again.extend(argv[..at + n].iter().cloned());
        again.extend(from.iter().zip(&argv[at + n..]).map(|(f, orig)| match f {
            ReadFrom::After(id) if orig[..] == b"$"[..] => id.to_bytes(),
            _ => orig.clone(),
        }));
        ctx.block_as(keys.to_vec(), timeout, again);
    }
    Ok(Reply::NilArray)
}

fn limit(count: usize) -> usize {
    if count == 0 { usize::MAX } else { count }
}

/// XREADGROUP with an ID: the consumer's own pending entries after `after` (deleted ones as `[id, nil]`),
/// each delivered again (its time and count updated, not propagated, as in Redis).
fn read_history(
    s: &mut Stream,
    name: &Bytes,
    consumer: &Bytes,
    after: StreamId,
    count: usize,
    now: u64,
) -> Vec<Reply> {
    let Some(start) = after.incr() else { return Vec::new() };
    let g = s.groups.get(&name[..]).expect("checked");
    let ids: Vec<StreamId> =
        g.consumers[&consumer[..]].pel.range(start..).take(limit(count)).copied().collect();
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        match s.get(id) {
            Some(f) => {
                out.push(entry_reply(id, f));
                let g = s.groups.get_mut(&name[..]).expect("checked");
                if let Some(nack) = g.pel.get_mut(&id) {
                    nack.delivery_time = now;
                    nack.delivery_count += 1;
                }
            }
            None => out.push(Reply::Array(vec![Reply::Bulk(id.to_bytes()), Reply::NilArray])),
        }
    }
    out
}

/// XREADGROUP with `>`: entries after the group's last delivered ID, which moves forward; each becomes
/// pending for `consumer` unless `noack`.
#[allow(clippy::too_many_arguments)]
fn read_new(
    s: &mut Stream,
    key: &Bytes,
    name: &Bytes,
    consumer: &Bytes,
    count: usize,
    noack: bool,
    now: u64,
    props: &mut Vec<Vec<Bytes>>,
) -> Vec<Reply> {
    let last = s.groups[&name[..]].last_id;
    let Some(start) = last.incr() else { return Vec::new() };
    let ids: Vec<StreamId> =
        s.range(start, StreamId::MAX).take(limit(count)).map(|(id, _)| id).collect();
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        s.advance_group(name, id);
        out.push(entry_reply(id, s.get(id).expect("in range")));
        if !noack {
            let g = s.groups.get_mut(&name[..]).expect("checked");
            let last_id = g.last_id;
            let nack = g.assign(id, consumer, now);
            nack.delivery_time = now;
            nack.delivery_count = 1;
            props.push(xclaim_argv(key, name, consumer, id, nack, last_id));
        }
    }
    out
}

/// XREAD's `BLOCK` argument: integer milliseconds (0 waits forever).
fn parse_block_timeout(ctx: &Ctx<'_>, arg: &[u8]) -> Result<u64, CommandError> {
    let ms = parse_i64(arg)
        .ok_or_else(|| CommandError::custom("ERR timeout is not an integer or out of range"))?;
    if ms < 0 {
        return Err(CommandError::custom("ERR timeout is negative"));
    }
    if ms > i64::MAX - ctx.now as i64 {
        return Err(CommandError::custom("ERR timeout is out of range"));
    }
    Ok(ms as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_parse_like_redis() {
        assert_eq!(parse_id(b"5", 0, true).unwrap(), StreamId::new(5, 0));
        assert_eq!(parse_id(b"5", u64::MAX, true).unwrap(), StreamId::new(5, u64::MAX));
        assert_eq!(parse_id(b"5-3", 0, true).unwrap(), StreamId::new(5, 3));
        assert_eq!(parse_id(b" 7", 0, true).unwrap(), StreamId::new(7, 0));
        assert_eq!(parse_id(b"+8-1", 0, true).unwrap(), StreamId::new(8, 1));
        assert_eq!(parse_id(b"-", 0, false).unwrap(), StreamId::MIN);
        assert_eq!(parse_id(b"+", 0, false).unwrap(), StreamId::MAX);
        assert!(parse_id(b"-", 0, true).is_err());
        assert!(parse_id(b"1-x", 0, true).is_err());
        assert!(parse_id(b"18446744073709551616", 0, true).is_err());
        assert_eq!(parse_id_seq(b"3-*", 0, true, true).unwrap(), (StreamId::new(3, 0), false));
        assert!(parse_id(b"3-*", 0, true).is_err());
        assert_eq!(parse_start(b"(1-5").unwrap(), StreamId::new(1, 6));
        assert_eq!(parse_end(b"(2").unwrap(), StreamId::new(2, u64::MAX - 1));
        assert_eq!(parse_end(b"(2-0").unwrap(), StreamId::new(1, u64::MAX));
        assert!(parse_start(b"(+").is_err());
    }
}

#[cfg(test)]
mod propagation_tests {
    use std::sync::Arc;

    use larder_resp::Reply;

    use crate::test_util::{Recorder, argv};
    use crate::{Engine, ManualClock, ServerInfo};

    const T0: u64 = 1_700_000_000_000;

    #[test]
    fn effects_propagate_deterministically() {
        let clock = ManualClock::new(T0);
        let mut e = Engine::new(Arc::new(clock.clone()), ServerInfo::default());
        let rec = Recorder::default();
        e.set_propagation(Box::new(rec.clone()));
        let mut c = e.new_client("t".into());
        for cmd in [
            "XADD s * a 1",
            "XADD s 1700000000000-* a 2",
            "XADD s MAXLEN ~ 10 LIMIT 5 * a 3",
            "XADD s MAXLEN 10 1700000000100-0 a 4",
            "XGROUP CREATE s g 0",
            "XREADGROUP GROUP g alice COUNT 1 STREAMS s >",
            "XREADGROUP GROUP g alice STREAMS s 0",
            "XREADGROUP GROUP g bob COUNT 1 NOACK STREAMS s >",
            "XREADGROUP GROUP g bob STREAMS s >",
            "XCLAIM s g carol 0 1700000000000-0 IDLE 10 JUSTID",
            "XCLAIM s g carol 0 1-1 LASTID 1700000009999-0",
            "XTRIM s MAXLEN ~ 0",
            "XTRIM s MAXLEN 1",
        ] {
            assert!(!e.execute(&mut c, &argv(cmd)).is_error(), "{cmd}");
        }
        let claim = |who: &str, id: &str, time: u64, n: u32, last: &str| {
            format!("XCLAIM s g {who} 0 {id} TIME {time} RETRYCOUNT {n} FORCE JUSTID LASTID {last}")
        };
        let (a, b, c3, d) =
            ("1700000000000-0", "1700000000000-1", "1700000000000-2", "1700000000100-0");
        assert_eq!(
            *rec.0.lock().unwrap(),
            [
                format!("XADD s {a} a 1"),
                format!("XADD s {b} a 2"),
                format!("XADD s MAXLEN = 3 {c3} a 3"),
                format!("XADD s MAXLEN 10 {d} a 4"),
                "XGROUP CREATE s g 0".into(),
                "MULTI".into(),
                "XGROUP CREATECONSUMER s g alice".into(),
                claim("alice", a, T0, 1, a),
                format!("XGROUP SETID s g {a} ENTRIESREAD 1"),
                "EXEC".into(),
                // NOACK: no pending entries, the consumer and the group's position only.
                "MULTI".into(),
                "XGROUP CREATECONSUMER s g bob".into(),
                format!("XGROUP SETID s g {b} ENTRIESREAD 2"),
                "EXEC".into(),
                "MULTI".into(),
                claim("bob", c3, T0, 1, c3),
                claim("bob", d, T0, 1, d),
                format!("XGROUP SETID s g {d} ENTRIESREAD 4"),
                "EXEC".into(),
                // IDLE becomes TIME; alice's history read counted a delivery (not propagated, as in Redis).
                claim("carol", a, T0 - 10, 2, d),
                "XGROUP SETID s g 1700000009999-0 ENTRIESREAD 4".into(),
                "XTRIM s MAXLEN = 0".into(),
            ]
        );
        // A blocked XREAD waits for entries after the ID `$` meant when it blocked.
        assert_eq!(e.execute(&mut c, &argv("XREAD COUNT 2 BLOCK 0 STREAMS s $")), Reply::NilArray);
        assert!(c.blocked.take().is_some());
        assert_eq!(
            c.blocked_argv.take(),
            Some(argv(&format!("XREAD COUNT 2 BLOCK 0 STREAMS s {d}")))
        );
    }
}
