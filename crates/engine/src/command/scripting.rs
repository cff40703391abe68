//! The scripting family: EVAL, EVALSHA and their read-only variants, SCRIPT, FCALL, FCALL_RO and FUNCTION.

use bytes::Bytes;
use larder_resp::Reply;

use super::{Args, Ctx};
use crate::error::CommandError;
use crate::scripting::{ScriptFlags, Scripting, Source};

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
    // A read-only token may check the cache but not change it.
    let sub = Subcommand::read(ctx, &mut args, "script", &["EXISTS", "HELP"])?;
    let scripting = lua_state(ctx)?;
    if sub.is("LOAD") {
        sub.arity(args.remaining() == 1)?;
        let sha = scripting.load(args.next_bytes()?)?;
        Ok(Reply::Bulk(Bytes::from(sha)))
    } else if sub.is("EXISTS") {
        let shas = args.rest();
        sub.arity(!shas.is_empty())?;
        Ok(Reply::Array(shas.iter().map(|s| Reply::Int(scripting.exists(s) as i64)).collect()))
    } else if sub.is("FLUSH") {
        sub.flush_mode(&mut args, "ERR SCRIPT FLUSH only support SYNC|ASYNC option")?;
        scripting.flush();
        Ok(Reply::OK)
    } else if sub.is("KILL") {
        sub.arity(args.is_empty())?;
        kill(scripting)
    } else if sub.is("HELP") {
        Ok(help(&[
            "SCRIPT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "EXISTS <sha1> [<sha1> ...]",
            "    Return information about the existence of the scripts in the script cache.",
            "FLUSH [ASYNC|SYNC]",
            "    Flush the Lua scripts cache.",
            "KILL",
            "    Kill the currently executing Lua script.",
            "LOAD <script>",
            "    Load a script into the scripts cache without executing it.",
        ]))
    } else {
        Err(sub.unknown())
    }
}

/// EVAL and its variants: the script (its body, or its SHA1 with `by_sha`), then keys and arguments.
fn run(
    ctx: &mut Ctx<'_>,
    mut args: Args<'_>,
    by_sha: bool,
    read_only: bool,
) -> Result<Reply, CommandError> {
    let script = args.next_bytes()?;
    let (keys, argv) = args.keys_and_args()?;
    check_memory_at_start(ctx, script)?;
    let source = if by_sha { Source::Sha(script) } else { Source::Body(script) };
    with_lua_state(ctx, |scripting, ctx| scripting.run(ctx, source, keys, argv, read_only))
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
    // A read-only token may list libraries but not change them.
    let sub = Subcommand::read(ctx, &mut args, "function", &["LIST", "STATS", "HELP"])?;
    // FUNCTION LOAD may grow memory (Redis flags the subcommand DENYOOM).
    if sub.is("LOAD") && ctx.server.memory.oom {
        return Err(crate::memory::oom_error());
    }
    let scripting = lua_state(ctx)?;
    if sub.is("LOAD") {
        let replace = args.remaining() == 2 && args.keyword(&["REPLACE"]).is_some();
        sub.arity(args.remaining() == 1)?;
        let code = args.next_bytes()?;
        let name = scripting.load_library(code, replace)?;
        ctx.mark_dirty(1);
        Ok(Reply::Bulk(Bytes::from(name)))
    } else if sub.is("LIST") {
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
    } else if sub.is("DELETE") {
        sub.arity(args.remaining() == 1)?;
        if !scripting.delete_library(args.next_bytes()?) {
            return Err(CommandError::custom("ERR Library not found"));
        }
        ctx.mark_dirty(1);
        Ok(Reply::OK)
    } else if sub.is("FLUSH") {
        sub.flush_mode(&mut args, "ERR FUNCTION FLUSH only supports SYNC|ASYNC option")?;
        scripting.flush_libraries();
        ctx.mark_dirty(1);
        Ok(Reply::OK)
    } else if sub.is("STATS") {
        sub.arity(args.is_empty())?;
        Ok(scripting.function_stats())
    } else if sub.is("KILL") {
        sub.arity(args.is_empty())?;
        kill(scripting)
    } else if sub.is("HELP") {
        Ok(help(&[
            "FUNCTION <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "LOAD [REPLACE] <FUNCTION CODE>",
            "DELETE <LIBRARY NAME>",
            "LIST [LIBRARYNAME PATTERN] [WITHCODE]",
            "FLUSH [ASYNC|SYNC]",
            "STATS",
            "KILL",
        ]))
    } else {
        Err(sub.unknown())
    }
}

/// FCALL and FCALL_RO: the function's name, then keys and arguments.
fn call_function(
    ctx: &mut Ctx<'_>,
    mut args: Args<'_>,
    read_only: bool,
) -> Result<Reply, CommandError> {
    let name = args.next_bytes()?;
    let (keys, argv) = args.keys_and_args()?;
    check_memory_at_start(ctx, name)?;
    with_lua_state(ctx, |scripting, ctx| scripting.call_function(ctx, name, keys, argv, read_only))
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

/// The subcommand of SCRIPT or FUNCTION.
struct Subcommand<'a> {
    /// The command, lower case.
    cmd: &'static str,
    name: &'a Bytes,
}

impl<'a> Subcommand<'a> {
    /// Reads the subcommand of `cmd` (lower case) and refuses it to a client with the read-only token unless
    /// it is one of `read_only_ok`.
    fn read(
        ctx: &Ctx<'_>,
        args: &mut Args<'a>,
        cmd: &'static str,
        read_only_ok: &[&str],
    ) -> Result<Subcommand<'a>, CommandError> {
        let sub = Subcommand { cmd, name: args.next_bytes()? };
        if ctx.client.readonly && !read_only_ok.iter().any(|w| sub.is(w)) {
            return Err(CommandError::NoPerm(format!(
                "{cmd}|{}",
                String::from_utf8_lossy(sub.name).to_ascii_lowercase()
            )));
        }
        Ok(sub)
    }

    /// Whether it is `word` (ignoring ASCII case).
    fn is(&self, word: &str) -> bool {
        self.name.eq_ignore_ascii_case(word.as_bytes())
    }

    /// Redis's wrong-number-of-arguments error for this subcommand unless `ok`.
    fn arity(&self, ok: bool) -> Result<(), CommandError> {
        if ok { Ok(()) } else { Err(super::subcommand_arity(self.cmd, self.name)) }
    }

    /// The optional `ASYNC|SYNC` of FLUSH (both flush at once); `error` for any other word.
    fn flush_mode(&self, args: &mut Args<'_>, error: &'static str) -> Result<(), CommandError> {
        self.arity(args.remaining() <= 1)?;
        if !args.is_empty() && args.keyword(&["ASYNC", "SYNC"]).is_none() {
            return Err(CommandError::custom(error));
        }
        Ok(())
    }

    /// The error for a subcommand that does not exist.
    fn unknown(&self) -> CommandError {
        CommandError::UnknownSubcommand {
            cmd: self.cmd.to_ascii_uppercase(),
            sub: crate::error::sanitize(self.name, 128),
        }
    }
}

/// The Lua state, for SCRIPT and FUNCTION.
fn lua_state<'c>(ctx: &'c mut Ctx<'_>) -> Result<&'c mut Scripting, CommandError> {
    ctx.server.scripting.as_deref_mut().ok_or_else(unavailable)
}

/// Runs `f` with the Lua state taken out of `ctx` (a script's `redis.call` needs `ctx` whole), and puts it
/// back whatever `f` returns.
fn with_lua_state(
    ctx: &mut Ctx<'_>,
    f: impl FnOnce(&mut Scripting, &mut Ctx<'_>) -> Result<Reply, CommandError>,
) -> Result<Reply, CommandError> {
    let mut scripting = ctx.server.scripting.take().ok_or_else(unavailable)?;
    let result = f(&mut scripting, ctx);
    ctx.server.scripting = Some(scripting);
    result
}

fn unavailable() -> CommandError {
    CommandError::custom("ERR scripting is not available")
}

/// SCRIPT KILL and FUNCTION KILL. Under the engine lock no script is running; a busy script is killed by the
/// front ends through `ScriptControl` without the lock.
fn kill(scripting: &Scripting) -> Result<Reply, CommandError> {
    match scripting.control().kill() {
        Reply::Error(e) => Err(CommandError::custom(e)),
        other => Ok(other),
    }
}

/// A HELP reply.
fn help(lines: &[&str]) -> Reply {
    Reply::Array(lines.iter().map(|l| Reply::simple_owned(l)).collect())
}
