//! The HyperLogLog family: PFADD, PFCOUNT, PFMERGE, over string values in Redis's exact HLL format
//! (`types/hll.rs`), so the counts and the bytes match Redis's.
//!
//! PFCOUNT of one key stores the cardinality it computed in the HLL's header, as Redis does: that is a
//! change, propagated as the `PFCOUNT` itself (replaying it recomputes the same cache, so an AOF replay
//! yields the same bytes).

use std::iter::once;

use larder_resp::Reply;

use super::{Args, Ctx};
use crate::error::CommandError;
use crate::keyspace::Entry;
use crate::types::hll::{self, Corrupt};
use crate::value::{CompactBytes, Value};

/// `PFADD key [element ...]`: 1 if a register changed or the key was created, else 0.
pub(super) fn pfadd(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> Result<Reply, CommandError> {
    let key = args.next_key()?;
    let elements = args.rest();
    let now = ctx.now;
    let add_all = |v: &mut Vec<u8>, mut updated: u64| {
        for e in elements {
            updated += u64::from(hll::add(v, e).map_err(corrupt)?);
        }
        if updated > 0 {
            hll::invalidate(v);
        }
        Ok::<u64, CommandError>(updated)
    };
    let updated = match ctx.db.get_mut_as::<CompactBytes>(key, now)? {
        Some(s) => {
            if !hll::is_valid(s) {
                return Err(not_hll());
            }
            let mut v = std::mem::take(s).into_vec();
            let updated = add_all(&mut v, 0);
            *s = CompactBytes::from_vec(v);
            updated?
        }
        None => {
            // A new key counts as a change even without elements (and so has a stale cache, like Redis).
            let mut v = hll::new_sparse();
            let updated = add_all(&mut v, 1)?;
            ctx.db.insert(key, Entry::new(Value::Str(CompactBytes::from_vec(v))), now);
            updated
        }
    };
    ctx.mark_dirty(updated);
    Ok(Reply::Int(i64::from(updated > 0)))
}

/// `PFCOUNT key [key ...]`: one key's (cached) cardinality, or the cardinality of several keys' union.
pub(super) fn pfcount(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> Result<Reply, CommandError> {
    let keys = args.rest();
    let now = ctx.now;
    if keys.len() > 1 {
        let mut max = vec![0u8; hll::REGISTERS];
        for k in keys {
            union_into(ctx, k, &mut max)?;
        }
        return Ok(Reply::Int(hll::count_registers(&max) as i64));
    }
    let key = &keys[0];
    let card = match ctx.db.get_as::<CompactBytes>(key, now)? {
        None => return Ok(Reply::Int(0)),
        Some(s) if !hll::is_valid(s) => return Err(not_hll()),
        Some(s) => match hll::cached_count(s) {
            Some(card) => return Ok(Reply::Int(card as i64)),
            None => hll::count(s).map_err(corrupt)?,
        },
    };
    if let Some(s) = ctx.db.get_mut_as::<CompactBytes>(key, now)? {
        s.edit(0, |b| hll::set_cached_count(b, card));
    }
    ctx.mark_dirty(1);
    Ok(Reply::Int(card as i64))
}

/// `PFMERGE destkey [sourcekey ...]`: `destkey` becomes the union of itself and the sources (dense if any
/// of them is). Always a change, like Redis.
pub(super) fn pfmerge(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> Result<Reply, CommandError> {
    let dest = args.next_key()?;
    let sources = args.rest();
    let now = ctx.now;
    let mut max = vec![0u8; hll::REGISTERS];
    let mut dense = false;
    for k in once(dest).chain(sources) {
        dense |= union_into(ctx, k, &mut max)?;
    }
    let raise = |v: &mut Vec<u8>| {
        if dense {
            hll::to_dense(v).map_err(corrupt)?;
        }
        for (i, &m) in max.iter().enumerate().filter(|(_, m)| **m != 0) {
            // Like Redis, a register that cannot be set (a corrupt sparse body) is skipped.
            let _ = hll::set(v, i, m);
        }
        hll::invalidate(v);
        Ok::<(), CommandError>(())
    };
    match ctx.db.get_mut_as::<CompactBytes>(dest, now)? {
        Some(s) => {
            let mut v = std::mem::take(s).into_vec();
            let r = raise(&mut v);
            *s = CompactBytes::from_vec(v);
            r?;
        }
        None => {
            let mut v = hll::new_sparse();
            raise(&mut v)?;
            ctx.db.insert(dest, Entry::new(Value::Str(CompactBytes::from_vec(v))), now);
        }
    }
    ctx.mark_dirty(1);
    Ok(Reply::OK)
}

// ---- helpers ----

/// Raises `max`'s registers to those of the HLL at `key` (a missing key is an empty HLL). Returns
/// whether that HLL is dense.
fn union_into(ctx: &mut Ctx<'_>, key: &[u8], max: &mut [u8]) -> Result<bool, CommandError> {
    let Some(s) = ctx.db.get_as::<CompactBytes>(key, ctx.now)? else { return Ok(false) };
    if !hll::is_valid(s) {
        return Err(not_hll());
    }
    hll::merge_into(max, s).map_err(corrupt)?;
    Ok(hll::is_dense(s))
}

fn not_hll() -> CommandError {
    CommandError::custom("WRONGTYPE Key is not a valid HyperLogLog string value.")
}

fn corrupt(_: Corrupt) -> CommandError {
    CommandError::custom("INVALIDOBJ Corrupted HLL object detected")
}

#[cfg(test)]
mod tests {
    use larder_resp::Reply;

    use super::super::bitmaps::tests::T;

    #[test]
    fn pfcount_propagates_its_cache_update_so_a_replay_gives_the_same_bytes() {
        let mut t = T::new();
        t.run(&["PFADD", "h", "a", "b", "c"]);
        t.run(&["PFADD", "h", "a"]);
        assert_eq!(t.run(&["PFCOUNT", "h"]), Reply::Int(3));
        assert_eq!(t.run(&["PFCOUNT", "h"]), Reply::Int(3));
        t.run(&["PFCOUNT", "h", "missing"]);
        t.run(&["PFCOUNT", "missing"]);
        t.run(&["PFMERGE", "m", "h"]);
        assert_eq!(t.log(), ["PFADD h a b c", "PFCOUNT h", "PFMERGE m h"]);
        let mut dense: Vec<String> = vec!["PFADD".into(), "d".into()];
        dense.extend((0..5000).map(|i| format!("e{i}")));
        let dense: Vec<&str> = dense.iter().map(String::as_str).collect();
        t.run(&dense);
        t.run(&["PFCOUNT", "d"]);
        t.run(&["PFMERGE", "m", "d"]);
        let mut b = t.replay();
        for key in ["h", "m", "d"] {
            assert_eq!(t.get(key), b.get(key), "{key}");
        }
        assert_eq!(t.run(&["STRLEN", "d"]), Reply::Int(crate::types::hll::DENSE_SIZE as i64));
    }
}
