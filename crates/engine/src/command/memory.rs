//! `MEMORY USAGE|STATS|DOCTOR|HELP`, and which commands the memory limit refuses (`denied_when_oom`).

use bytes::Bytes;
use larder_resp::Reply;

use super::{Args, CommandSpec, Ctx, Flags, ServerState, lookup};
use crate::client::ClientState;
use crate::error::CommandError;
use crate::memory::{self, Policy};

/// Redis's default number of sampled elements for `MEMORY USAGE` of a collection.
const DEFAULT_SAMPLES: usize = 5;

/// `MEMORY USAGE key [SAMPLES count]`, `MEMORY STATS`, `MEMORY DOCTOR`, `MEMORY HELP`.
pub(super) fn memory(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> Result<Reply, CommandError> {
    let sub = args.next_bytes()?;
    let is = |w: &str| sub.eq_ignore_ascii_case(w.as_bytes());
    if is("USAGE") {
        if args.is_empty() {
            return Err(super::subcommand_arity("memory", sub));
        }
        let key = args.next_bytes()?.clone();
        let mut samples = DEFAULT_SAMPLES;
        while !args.is_empty() {
            if args.keyword(&["SAMPLES"]).is_none() || args.is_empty() {
                return Err(CommandError::Syntax);
            }
            let n = args.next_i64()?;
            if n < 0 {
                return Err(CommandError::Syntax);
            }
            samples = if n == 0 { usize::MAX } else { n as usize };
        }
        let now = ctx.now;
        Ok(match ctx.db.get(&key, now) {
            Some(entry) => Reply::Int(memory::entry_usage(&key, entry, samples) as i64),
            None => Reply::Nil,
        })
    } else if is("STATS") {
        args.finish()?;
        Ok(stats(ctx))
    } else if is("DOCTOR") {
        args.finish()?;
        Ok(Reply::Verbatim(Bytes::from(doctor(ctx))))
    } else if is("HELP") {
        Ok(Reply::Array(
            [
                "MEMORY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                "DOCTOR",
                "    Return memory problems reports.",
                "STATS",
                "    Return information about the memory usage of the server.",
                "USAGE <key> [SAMPLES <count>]",
                "    Return memory in bytes used by <key> and its value. Nested values are",
                "    sampled up to <count> times (default: 5, 0 means sample all).",
                "HELP",
                "    Print this help.",
            ]
            .iter()
            .map(|l| Reply::simple_owned(l))
            .collect(),
        ))
    } else {
        Err(CommandError::UnknownSubcommand {
            cmd: "MEMORY".into(),
            sub: crate::error::sanitize(sub, 128),
        })
    }
}

/// `MEMORY STATS`: the figures behind `INFO memory`, as a map.
fn stats(ctx: &mut Ctx<'_>) -> Reply {
    let used = ctx.server.memory.used(ctx.db);
    let n = |v: u64| Reply::Int(v as i64);
    let mut out = vec![
        ("peak.allocated", n(ctx.server.memory.peak)),
        ("total.allocated", used.map_or(Reply::Nil, n)),
        ("keys.count", n(ctx.db.len() as u64)),
        ("maxmemory", n(ctx.server.info.memory.maxmemory)),
        ("maxmemory.policy", Reply::bulk(ctx.server.info.memory.policy.name())),
        ("evicted.keys", n(ctx.server.stats.evicted_keys)),
    ];
    if let Some(used) = used {
        let rss = memory::rss();
        out.push(("rss", n(rss)));
        if used > 0 && rss > 0 {
            out.push(("fragmentation", Reply::Double(rss as f64 / used as f64)));
        }
        if !ctx.db.is_empty() {
            out.push(("keys.bytes-per-key", n(used / ctx.db.len() as u64)));
        }
    }
    Reply::Map(out.into_iter().map(|(k, v)| (Reply::bulk(k), v)).collect())
}

/// `MEMORY DOCTOR`: a short report on what the figures suggest.
fn doctor(ctx: &mut Ctx<'_>) -> String {
    let cfg = ctx.server.info.memory;
    let Some(used) = ctx.server.memory.used(ctx.db) else {
        return "Used memory is unknown: larder runs without its counting allocator, so memory limits are disabled.\n".into();
    };
    let mut out = String::new();
    if cfg.maxmemory > 0 && used > cfg.maxmemory {
        out.push_str(&format!(
            "* Used memory ({}) is over maxmemory ({}).{}\n",
            memory::human(used),
            memory::human(cfg.maxmemory),
            if cfg.policy == Policy::NoEviction {
                " The policy is noeviction: writes that may grow memory are refused with OOM."
            } else {
                ""
            }
        ));
    }
    let rss = memory::rss();
    if rss > 0 && used > 64 << 20 && rss as f64 / used as f64 > 1.4 {
        out.push_str(&format!(
            "* High fragmentation: the process's resident set ({}) is {:.2} times the heap in use.\n",
            memory::human(rss),
            rss as f64 / used as f64
        ));
    }
    if out.is_empty() {
        out.push_str("Hi Sam, I can't find any memory issue in your instance. I can only account for what occurs on this base.\n");
    }
    out
}

/// Whether the memory limit refuses `argv` while nothing more can be evicted: commands flagged `DENYOOM`;
/// EXEC when a queued command is; EVAL/EVALSHA/FCALL by their script's flags like Redis 7 (a script with
/// a shebang or a function is judged by its flags, `no-writes` or `allow-oom` let it run; a script without
/// a shebang runs and its first command that may grow memory is refused).
pub(crate) fn denied_when_oom(
    spec: &'static CommandSpec,
    argv: &[Bytes],
    client: &ClientState,
    server: &ServerState,
) -> bool {
    if spec.flags.has(Flags::DENYOOM) {
        return true;
    }
    if spec.flags.has(Flags::RUNS_QUEUED) {
        return client.multi.as_ref().is_some_and(|queued| {
            queued.iter().any(|q| {
                lookup(&q[0]).is_some_and(|s| {
                    !s.flags.has(Flags::RUNS_QUEUED) && denied_when_oom(s, q, client, server)
                })
            })
        });
    }
    if spec.flags.has(Flags::MAY_REPLICATE) {
        return super::scripting::script_flags(server, argv.get(1).map_or(&[][..], |b| &b[..]))
            .is_some_and(|f| f.shebang && !f.no_writes && !f.allow_oom);
    }
    false
}
