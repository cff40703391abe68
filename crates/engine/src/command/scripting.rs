//! The scripting family: EVAL, EVALSHA and their read-only variants, SCRIPT.

use bytes::Bytes;
use larder_resp::Reply;

use super::{Args, Ctx};
use crate::error::CommandError;
use crate::scripting::{ScriptFlags, Source};

/// `EVAL script numkeys [key ...] [arg ...]`
pub(super) fn eval(ctx: &mut Ctx<'_>, args: Args<'_>) -> Result<Reply, CommandError> {
    run(ctx, args, false, false)
}

/// `EVALSHA sha1 numkeys [key ...] [arg ...]`
pub(super) fn evalsha(ctx: &mut Ctx<'_>, args: Args<'_>) -> Result<Reply, CommandError> {
    run(ctx, args, true, false)
}

/// `EVALSHA_RO sha1 numkeys [key ...] [arg ...]`
pub(super) fn evalsha_ro(ctx: &mut Ctx<'_>, args: Args<'_>) -> Result<Reply, CommandError> {
    run(ctx, args, true, true)
}

/// `EVAL_RO script numkeys [key ...] [arg ...]`
pub(super) fn eval_ro(ctx: &mut Ctx<'_>, args: Args<'_>) -> Result<Reply, CommandError> {
    run(ctx, args, false, true)
}

/// `SCRIPT LOAD|EXISTS|FLUSH|KILL|HELP`
pub(super) fn script(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> Result<Reply, CommandError> {
    let sub = args.next_bytes()?;
    let is = |w: &str| sub.eq_ignore_ascii_case(w.as_bytes());
    let wrong = || super::subcommand_arity("script", sub);
    // A read-only token may check the cache but not change it.
    if ctx.client.readonly && !(is("EXISTS") || is("HELP")) {
        return Err(CommandError::NoPerm(format!(
            "script|{}",
            String::from_utf8_lossy(sub).to_ascii_lowercase()
        )));
    }
    let scripting = ctx
        .server
        .scripting
        .as_mut()
        .ok_or_else(|| CommandError::custom("ERR scripting is not available"))?;
    if is("LOAD") {
        if args.remaining() != 1 {
            return Err(wrong());
        }
        let sha = scripting.load(args.next_bytes()?)?;
        Ok(Reply::Bulk(Bytes::from(sha)))
    } else if is("EXISTS") {
        let shas = args.rest();
        if shas.is_empty() {
            return Err(wrong());
        }
        Ok(Reply::Array(shas.iter().map(|s| Reply::Int(scripting.exists(s) as i64)).collect()))
    } else if is("FLUSH") {
        if args.remaining() > 1 {
            return Err(wrong());
        }
        if !args.is_empty() && args.keyword(&["ASYNC", "SYNC"]).is_none() {
            return Err(CommandError::custom("ERR SCRIPT FLUSH only support SYNC|ASYNC option"));
        }
        scripting.flush();
        Ok(Reply::OK)
    } else if is("KILL") {
        if !args.is_empty() {
            return Err(wrong());
        }
        // Under the engine lock no script is running; a busy script is killed by the front ends through
        // `ScriptControl` without the lock.
        let reply = scripting.control().kill();
        match reply {
            Reply::Error(e) => Err(CommandError::custom(e)),
            other => Ok(other),
        }
    } else if is("HELP") {
        Ok(Reply::Array(
            [
                "SCRIPT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                "EXISTS <sha1> [<sha1> ...]",
                "    Return information about the existence of the scripts in the script cache.",
                "FLUSH [ASYNC|SYNC]",
                "    Flush the Lua scripts cache.",
                "KILL",
                "    Kill the currently executing Lua script.",
                "LOAD <script>",
                "    Load a script into the scripts cache without executing it.",
            ]
            .iter()
            .map(|l| Reply::simple_owned(l))
            .collect(),
        ))
    } else {
        Err(CommandError::UnknownSubcommand {
            cmd: "SCRIPT".into(),
            sub: crate::error::sanitize(sub, 128),
        })
    }
}

fn run(
    ctx: &mut Ctx<'_>,
    mut args: Args<'_>,
    by_sha: bool,
    read_only: bool,
) -> Result<Reply, CommandError> {
    let script = args.next_bytes()?;
    let numkeys = args.next_i64()?;
    let rest = args.rest();
    if numkeys > rest.len() as i64 {
        return Err(CommandError::custom(
            "ERR Number of keys can't be greater than number of args",
        ));
    }
    if numkeys < 0 {
        return Err(CommandError::custom("ERR Number of keys can't be negative"));
    }
    let (keys, argv) = rest.split_at(numkeys as usize);
    check_memory_at_start(ctx, script)?;
    let mut scripting = ctx
        .server
        .scripting
        .take()
        .ok_or_else(|| CommandError::custom("ERR scripting is not available"))?;
    let source = if by_sha { Source::Sha(script) } else { Source::Body(script) };
    let result = scripting.run(ctx, source, keys, argv, read_only);
    ctx.server.scripting = Some(scripting);
    result
}

/// `FCALL function numkeys [key ...] [arg ...]`
pub(super) fn fcall(ctx: &mut Ctx<'_>, args: Args<'_>) -> Result<Reply, CommandError> {
    call_function(ctx, args, false)
}

/// `FCALL_RO function numkeys [key ...] [arg ...]`
pub(super) fn fcall_ro(ctx: &mut Ctx<'_>, args: Args<'_>) -> Result<Reply, CommandError> {
    call_function(ctx, args, true)
}

/// `FUNCTION LOAD|LIST|DELETE|FLUSH|STATS|KILL|HELP`
pub(super) fn function(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> Result<Reply, CommandError> {
    let sub = args.next_bytes()?;
    let is = |w: &str| sub.eq_ignore_ascii_case(w.as_bytes());
    let wrong = || super::subcommand_arity("function", sub);
    // A read-only token may list libraries but not change them.
    if ctx.client.readonly && !(is("LIST") || is("STATS") || is("HELP")) {
        return Err(CommandError::NoPerm(format!(
            "function|{}",
            String::from_utf8_lossy(sub).to_ascii_lowercase()
        )));
    }
    let scripting = ctx
        .server
        .scripting
        .as_mut()
        .ok_or_else(|| CommandError::custom("ERR scripting is not available"))?;
    if is("LOAD") {
        // FUNCTION LOAD may grow memory (Redis flags the subcommand DENYOOM).
        if ctx.server.memory.oom {
            return Err(crate::memory::oom_error());
        }
        let replace = args.remaining() == 2 && args.keyword(&["REPLACE"]).is_some();
        if args.remaining() != 1 {
            return Err(wrong());
        }
        let code = args.next_bytes()?;
        let name = scripting.load_library(code, replace)?;
        ctx.mark_dirty(1);
        Ok(Reply::Bulk(Bytes::from(name)))
    } else if is("LIST") {
        let mut with_code = false;
        let mut pattern = None;
        while let Some(w) = args.next_word() {
            if w.is("WITHCODE") && !with_code {
                with_code = true;
            } else if w.is("LIBRARYNAME") && pattern.is_none() {
                pattern = Some(args.next_bytes().map_err(|_| {
                    CommandError::custom("ERR library name argument was not given")
                })?);
            } else {
                return Err(CommandError::custom(format!(
                    "ERR Unknown argument {}",
                    String::from_utf8_lossy(w.0)
                )));
            }
        }
        Ok(scripting.list_libraries(pattern.map(|p| &p[..]), with_code))
    } else if is("DELETE") {
        if args.remaining() != 1 {
            return Err(wrong());
        }
        if !scripting.delete_library(args.next_bytes()?) {
            return Err(CommandError::custom("ERR Library not found"));
        }
        ctx.mark_dirty(1);
        Ok(Reply::OK)
    } else if is("FLUSH") {
        if args.remaining() > 1 {
            return Err(wrong());
        }
        if !args.is_empty() && args.keyword(&["ASYNC", "SYNC"]).is_none() {
            return Err(CommandError::custom("ERR FUNCTION FLUSH only supports SYNC|ASYNC option"));
        }
        scripting.flush_libraries();
        ctx.mark_dirty(1);
        Ok(Reply::OK)
    } else if is("STATS") {
        if !args.is_empty() {
            return Err(wrong());
        }
        Ok(scripting.function_stats())
    } else if is("KILL") {
        if !args.is_empty() {
            return Err(wrong());
        }
        match scripting.control().kill() {
            Reply::Error(e) => Err(CommandError::custom(e)),
            other => Ok(other),
        }
    } else if is("HELP") {
        Ok(Reply::Array(
            [
                "FUNCTION <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                "LOAD [REPLACE] <FUNCTION CODE>",
                "DELETE <LIBRARY NAME>",
                "LIST [LIBRARYNAME PATTERN] [WITHCODE]",
                "FLUSH [ASYNC|SYNC]",
                "STATS",
                "KILL",
            ]
            .iter()
            .map(|l| Reply::simple_owned(l))
            .collect(),
        ))
    } else {
        Err(CommandError::UnknownSubcommand {
            cmd: "FUNCTION".into(),
            sub: crate::error::sanitize(sub, 128),
        })
    }
}

fn call_function(
    ctx: &mut Ctx<'_>,
    mut args: Args<'_>,
    read_only: bool,
) -> Result<Reply, CommandError> {
    let name = args.next_bytes()?;
    let numkeys = args.next_i64()?;
    let rest = args.rest();
    if numkeys > rest.len() as i64 {
        return Err(CommandError::custom(
            "ERR Number of keys can't be greater than number of args",
        ));
    }
    if numkeys < 0 {
        return Err(CommandError::custom("ERR Number of keys can't be negative"));
    }
    let (keys, argv) = rest.split_at(numkeys as usize);
    check_memory_at_start(ctx, name)?;
    let mut scripting = ctx
        .server
        .scripting
        .take()
        .ok_or_else(|| CommandError::custom("ERR scripting is not available"))?;
    let result = scripting.call_function(ctx, name, keys, argv, read_only);
    ctx.server.scripting = Some(scripting);
    result
}

/// The flags of the script a script command runs: `target` is EVAL's body, EVALSHA's SHA1 or FCALL's
/// function name (a function name or a SHA1 is never a valid script body, so the three cannot be
/// confused). `None` when nothing is known (an unknown SHA1 or function, which then fails on its own).
pub(super) fn script_flags(server: &super::ServerState, target: &[u8]) -> Option<ScriptFlags> {
    if let Some(f) = server.scripting.as_ref().and_then(|s| s.flags_of(target)) {
        return Some(f);
    }
    crate::scripting::parse_shebang(target).ok().map(|(f, _)| f)
}

/// Redis's OOM check in `scriptPrepareForRun`: over the limit, a script with flags (a shebang, a function)
/// that neither declares `no-writes` nor `allow-oom` does not start. The dispatcher already refused such a
/// script at the top level; this catches it inside a transaction. Also resets the per-script OOM state
/// `call_from_script` reads.
fn check_memory_at_start(ctx: &mut Ctx<'_>, target: &[u8]) -> Result<(), CommandError> {
    ctx.server.memory.script_wrote = false;
    ctx.server.memory.script_allow_oom = false;
    if !ctx.server.memory.oom {
        return Ok(());
    }
    let flags = script_flags(ctx.server, target).unwrap_or_default();
    if flags.shebang && !flags.no_writes && !flags.allow_oom {
        return Err(CommandError::custom(
            "OOM allow-oom flag is not set on the script, can not run it when used memory > 'maxmemory'",
        ));
    }
    ctx.server.memory.script_allow_oom = flags.shebang && flags.allow_oom;
    Ok(())
}
