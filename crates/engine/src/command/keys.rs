//! The generic family: deleting, expiring, renaming, copying, finding and scanning keys.

use bytes::Bytes;
use larder_resp::Reply;

use super::strings::{ExpireUnit, int_bytes};
use super::{Args, Ctx};
use crate::error::CommandError;
use crate::glob::glob_match;

pub(super) fn copy(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> Result<Reply, CommandError> {
    let src = args.next_key()?;
    let dst = args.next_key()?;
    let mut replace = false;
    while let Some(w) = args.next_word() {
        if w.is("REPLACE") {
            replace = true;
        } else if w.is("DB") {
            let db = args.next_i64()?;
            if db != 0 {
                return Err(CommandError::custom("ERR DB index is out of range"));
            }
        } else {
            return Err(CommandError::Syntax);
        }
    }
    // Upstash answers 0 for a copy onto itself (its client tests assert it) where Redis errors.
    if src == dst {
        return Ok(Reply::Int(0));
    }
    let now = ctx.now;
    let Some(entry) = ctx.db.get(src, now).cloned() else { return Ok(Reply::Int(0)) };
    if !replace && ctx.db.contains(dst, now) {
        return Ok(Reply::Int(0));
    }
    ctx.db.insert(dst, entry, now);
    ctx.mark_dirty(1);
    ctx.signal_ready(dst);
    Ok(Reply::Int(1))
}

/// `DEL key...`, and `UNLINK [key...]` (which Upstash answers with 0 when given no key).
pub(super) fn del(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> Result<Reply, CommandError> {
    let now = ctx.now;
    let mut n = 0;
    for k in args.rest() {
        if ctx.db.remove(k, now).is_some() {
            n += 1;
        }
    }
    ctx.mark_dirty(n);
    Ok(Reply::Int(n as i64))
}

pub(super) fn exists(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> Result<Reply, CommandError> {
    let now = ctx.now;
    let n = args.rest().iter().filter(|k| ctx.db.contains(k, now)).count();
    Ok(Reply::Int(n as i64))
}

pub(super) fn expire(ctx: &mut Ctx<'_>, args: Args<'_>) -> Result<Reply, CommandError> {
    expire_generic(ctx, args, ExpireUnit::Ex, "expire")
}

pub(super) fn expireat(ctx: &mut Ctx<'_>, args: Args<'_>) -> Result<Reply, CommandError> {
    expire_generic(ctx, args, ExpireUnit::ExAt, "expireat")
}

pub(super) fn expiretime(ctx: &mut Ctx<'_>, args: Args<'_>) -> Result<Reply, CommandError> {
    ttl_generic(ctx, args, |at, _| (at as i64 + 500) / 1000)
}

pub(super) fn keys(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> Result<Reply, CommandError> {
    let pattern = args.next_bytes()?;
    let now = ctx.now;
    let all = pattern.as_ref() == b"*";
    let out = ctx
        .db
        .iter()
        .filter(|(k, e)| !e.is_expired(now) && (all || glob_match(pattern, k, false)))
        .map(|(k, _)| Reply::Bulk(k.to_bytes()))
        .collect();
    Ok(Reply::Array(out))
}

pub(super) fn persist(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> Result<Reply, CommandError> {
    let key = args.next_key()?;
    let now = ctx.now;
    let has_ttl = ctx.db.get(key, now).is_some_and(|e| e.expire_at().is_some());
    if has_ttl {
        ctx.db.set_expire(key, None, now);
        ctx.mark_dirty(1);
    }
    Ok(Reply::Int(has_ttl as i64))
}

pub(super) fn pexpire(ctx: &mut Ctx<'_>, args: Args<'_>) -> Result<Reply, CommandError> {
    expire_generic(ctx, args, ExpireUnit::Px, "pexpire")
}

pub(super) fn pexpireat(ctx: &mut Ctx<'_>, args: Args<'_>) -> Result<Reply, CommandError> {
    expire_generic(ctx, args, ExpireUnit::PxAt, "pexpireat")
}

pub(super) fn pexpiretime(ctx: &mut Ctx<'_>, args: Args<'_>) -> Result<Reply, CommandError> {
    ttl_generic(ctx, args, |at, _| at as i64)
}

pub(super) fn pttl(ctx: &mut Ctx<'_>, args: Args<'_>) -> Result<Reply, CommandError> {
    ttl_generic(ctx, args, |at, now| at.saturating_sub(now) as i64)
}

pub(super) fn randomkey(ctx: &mut Ctx<'_>, args: Args<'_>) -> Result<Reply, CommandError> {
    args.finish()?;
    let now = ctx.now;
    Ok(Reply::bulk_or_nil(ctx.db.random_key(now, &mut ctx.server.rng)))
}

pub(super) fn rename(ctx: &mut Ctx<'_>, args: Args<'_>) -> Result<Reply, CommandError> {
    rename_generic(ctx, args, false)
}

pub(super) fn renamenx(ctx: &mut Ctx<'_>, args: Args<'_>) -> Result<Reply, CommandError> {
    rename_generic(ctx, args, true)
}

/// `SCAN cursor [MATCH pattern] [COUNT count] [TYPE type]`, plus Upstash's `WITHTYPE`.
pub(super) fn scan(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> Result<Reply, CommandError> {
    let cursor = parse_cursor(args.next_bytes()?)?;
    let opts = ScanOptions::parse(&mut args, true)?;
    let now = ctx.now;
    let mut out = Vec::new();
    let cursor = ctx.db.scan(cursor, opts.count, now, |k, e| {
        if opts.matches(k, e.value.type_name()) {
            out.push(Reply::Bulk(Bytes::copy_from_slice(k)));
            if opts.with_type {
                out.push(Reply::bulk(e.value.type_name()));
            }
        }
    });
    Ok(Reply::Array(vec![Reply::Bulk(Bytes::from(cursor.to_string())), Reply::Array(out)]))
}

pub(super) fn touch(ctx: &mut Ctx<'_>, args: Args<'_>) -> Result<Reply, CommandError> {
    exists(ctx, args)
}

pub(super) fn ttl(ctx: &mut Ctx<'_>, args: Args<'_>) -> Result<Reply, CommandError> {
    ttl_generic(ctx, args, |at, now| (at.saturating_sub(now) as i64 + 500) / 1000)
}

pub(super) fn type_(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> Result<Reply, CommandError> {
    let key = args.next_key()?;
    let now = ctx.now;
    Ok(Reply::simple(ctx.db.get(key, now).map_or("none", |e| e.value.type_name())))
}

// ---- helpers ----

fn expire_generic(
    ctx: &mut Ctx<'_>,
    mut args: Args<'_>,
    unit: ExpireUnit,
    cmd: &'static str,
) -> Result<Reply, CommandError> {
    let key = args.next_key()?;
    // Like Redis, the options are checked before the time's value.
    let n = args.next_bytes()?;
    let (mut nx, mut xx, mut gt, mut lt) = (false, false, false, false);
    while let Some(w) = args.next_word() {
        if w.is("NX") {
            nx = true;
        } else if w.is("XX") {
            xx = true;
        } else if w.is("GT") {
            gt = true;
        } else if w.is("LT") {
            lt = true;
        } else {
            return Err(CommandError::custom(format!(
                "ERR Unsupported option {}",
                String::from_utf8_lossy(w.0)
            )));
        }
    }
    if nx && (xx || gt || lt) {
        return Err(CommandError::custom(
            "ERR NX and XX, GT or LT options at the same time are not compatible",
        ));
    }
    if gt && lt {
        return Err(CommandError::custom(
            "ERR GT and LT options at the same time are not compatible",
        ));
    }
    let n = super::args::parse_i64(n).ok_or(CommandError::NotInteger)?;
    let at = unit.absolute_ms(n, ctx.now, cmd)?;
    let now = ctx.now;
    let Some(entry) = ctx.db.get(key, now) else { return Ok(Reply::Int(0)) };
    let current = entry.expire_at();
    let allowed = match current {
        None => !xx && !gt,
        Some(cur) => !nx && (!gt || at > cur as i64) && (!lt || at < cur as i64),
    };
    if !allowed {
        return Ok(Reply::Int(0));
    }
    if at <= now as i64 {
        ctx.db.remove(key, now);
        ctx.propagate(vec![Bytes::from_static(b"DEL"), key.clone()]);
    } else {
        ctx.db.set_expire(key, Some(at as u64), now);
        ctx.propagate(vec![Bytes::from_static(b"PEXPIREAT"), key.clone(), int_bytes(at)]);
    }
    ctx.mark_dirty(1);
    Ok(Reply::Int(1))
}

fn ttl_generic(
    ctx: &mut Ctx<'_>,
    mut args: Args<'_>,
    f: impl Fn(u64, u64) -> i64,
) -> Result<Reply, CommandError> {
    let key = args.next_key()?;
    let now = ctx.now;
    Ok(Reply::Int(match ctx.db.get(key, now) {
        None => -2,
        Some(e) => match e.expire_at() {
            None => -1,
            Some(at) => f(at, now),
        },
    }))
}

fn rename_generic(ctx: &mut Ctx<'_>, mut args: Args<'_>, nx: bool) -> Result<Reply, CommandError> {
    let src = args.next_key()?;
    let dst = args.next_key()?;
    let now = ctx.now;
    if !ctx.db.contains(src, now) {
        return Err(CommandError::NoSuchKey);
    }
    if src == dst {
        return Ok(if nx { Reply::Int(0) } else { Reply::OK });
    }
    if nx && ctx.db.contains(dst, now) {
        return Ok(Reply::Int(0));
    }
    let entry = ctx.db.remove(src, now).expect("checked above");
    ctx.db.insert(dst, entry, now);
    ctx.mark_dirty(1);
    ctx.signal_ready(dst);
    Ok(if nx { Reply::Int(1) } else { Reply::OK })
}

/// Parses a SCAN cursor as Redis does, with C's `strtoul`: an unsigned 64-bit decimal with an optional
/// sign, where `-n` wraps around (`-1` is 2^64 - 1) and the empty string is 0; no spaces, no overflow.
pub(crate) fn parse_cursor(b: &[u8]) -> Result<u64, CommandError> {
    let (neg, digits) = match b.first() {
        Some(b'-') => (true, &b[1..]),
        Some(b'+') => (false, &b[1..]),
        _ => (false, b),
    };
    if b.is_empty() {
        return Ok(0);
    }
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return Err(CommandError::InvalidCursor);
    }
    let v = digits
        .iter()
        .try_fold(0u64, |v, &c| v.checked_mul(10)?.checked_add(u64::from(c - b'0')))
        .ok_or(CommandError::InvalidCursor)?;
    Ok(if neg { v.wrapping_neg() } else { v })
}

/// The options shared by the SCAN family.
pub(crate) struct ScanOptions<'a> {
    pub pattern: Option<&'a Bytes>,
    pub count: usize,
    pub type_filter: Option<&'a Bytes>,
    pub with_type: bool,
}

impl<'a> ScanOptions<'a> {
    pub(crate) fn parse(
        args: &mut Args<'a>,
        keyspace: bool,
    ) -> Result<ScanOptions<'a>, CommandError> {
        let mut o = ScanOptions { pattern: None, count: 10, type_filter: None, with_type: false };
        while let Some(w) = args.next_word() {
            if w.is("MATCH") {
                o.pattern = Some(args.next_bytes()?);
            } else if w.is("COUNT") {
                let n = args.next_i64()?;
                if n < 1 {
                    return Err(CommandError::Syntax);
                }
                o.count = n as usize;
            } else if keyspace && w.is("TYPE") {
                o.type_filter = Some(args.next_bytes()?);
            } else if keyspace && w.is("WITHTYPE") {
                o.with_type = true;
            } else {
                return Err(CommandError::Syntax);
            }
        }
        Ok(o)
    }

    fn matches(&self, key: &[u8], type_name: &str) -> bool {
        self.type_filter.is_none_or(|t| t.eq_ignore_ascii_case(type_name.as_bytes()))
            && self.pattern.is_none_or(|p| p.as_ref() == b"*" || glob_match(p, key, false))
    }
}
