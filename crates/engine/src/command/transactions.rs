//! Transactions: MULTI, EXEC, DISCARD, WATCH, UNWATCH, and `run_queued`, which EXEC and REST's
//! `/multi-exec` share. Queueing itself happens in the engine's dispatcher, before any handler runs.

use bytes::Bytes;
use larder_resp::Reply;

use super::{Args, Ctx, lookup};
use crate::error::CommandError;

pub(super) fn discard(ctx: &mut Ctx<'_>, _args: Args<'_>) -> Result<Reply, CommandError> {
    if ctx.client.multi.take().is_none() {
        return Err(CommandError::custom("ERR DISCARD without MULTI"));
    }
    ctx.client.multi_error = false;
    unwatch_all(ctx);
    Ok(Reply::OK)
}

pub(super) fn exec(ctx: &mut Ctx<'_>, _args: Args<'_>) -> Result<Reply, CommandError> {
    let Some(queued) = ctx.client.multi.take() else {
        return Err(CommandError::custom("ERR EXEC without MULTI"));
    };
    let failed = std::mem::take(&mut ctx.client.multi_error);
    let changed = ctx.client.watched.iter().any(|(k, v)| ctx.server.watch_version(k) != *v);
    unwatch_all(ctx);
    if failed {
        return Err(CommandError::ExecAbort);
    }
    if changed {
        return Ok(Reply::NilArray);
    }
    Ok(Reply::Array(run_queued(ctx, &queued)))
}

pub(super) fn multi(ctx: &mut Ctx<'_>, _args: Args<'_>) -> Result<Reply, CommandError> {
    if ctx.client.multi.is_some() {
        return Err(CommandError::custom("ERR MULTI calls can not be nested"));
    }
    ctx.client.multi = Some(Vec::new());
    ctx.client.multi_error = false;
    Ok(Reply::OK)
}

pub(super) fn unwatch(ctx: &mut Ctx<'_>, _args: Args<'_>) -> Result<Reply, CommandError> {
    unwatch_all(ctx);
    Ok(Reply::OK)
}

pub(super) fn watch(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> Result<Reply, CommandError> {
    if ctx.client.multi.is_some() {
        return Err(CommandError::custom("ERR WATCH inside MULTI is not allowed"));
    }
    for key in args.rest() {
        if ctx.client.watched.iter().any(|(k, _)| k == key) {
            continue;
        }
        let version = ctx.server.watch(key);
        ctx.client.watched.push((key.clone(), version));
    }
    Ok(Reply::OK)
}

// ---- helpers ----

fn unwatch_all(ctx: &mut Ctx<'_>) {
    for (k, _) in std::mem::take(&mut ctx.client.watched) {
        ctx.server.unwatch(&k);
    }
}

/// Runs already-checked commands back to back, as one transaction: nothing else runs in between, a
/// command failing at run time answers its error in place, blocking commands do not block, and the
/// effects propagate together (the engine wraps several in MULTI/EXEC).
pub(crate) fn run_queued(ctx: &mut Ctx<'_>, cmds: &[Vec<Bytes>]) -> Vec<Reply> {
    let was = std::mem::replace(&mut ctx.client.in_transaction, true);
    let mut replies = Vec::with_capacity(cmds.len());
    for argv in cmds {
        let Some(spec) = lookup(&argv[0]) else {
            replies.push(Reply::Error(crate::error::unknown_command(argv).to_string().into()));
            continue;
        };
        let reply = match super::run_nested(ctx, spec, argv) {
            Ok(r) => r,
            Err(e) => Reply::Error(e.to_string().into()),
        };
        replies.push(reply);
    }
    ctx.client.in_transaction = was;
    replies
}
