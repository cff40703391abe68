//! Server and connection commands: AUTH, HELLO, CLIENT, COMMAND, CONFIG, INFO, PING and friends.

use bytes::Bytes;
use larder_resp::{Protocol, Reply};

use super::{Args, COMMANDS, CommandSpec, Ctx, lookup};
use crate::error::CommandError;
use crate::glob::glob_match;

pub(super) fn auth(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> Result<Reply, CommandError> {
    let first = args.next_bytes()?;
    let (user, pass) = match args.next_bytes() {
        Ok(p) => (Some(first), p),
        Err(_) => (None, first),
    };
    args.finish()?;
    authenticate(ctx, user, pass)?;
    Ok(Reply::OK)
}

/// `BGREWRITEAOF`: compacts the AOF in the background (see `aof::rewrite`). The rewrite starts right
/// after this command (after its transaction, if any).
pub(super) fn bgrewriteaof(ctx: &mut Ctx<'_>, args: Args<'_>) -> Result<Reply, CommandError> {
    args.finish()?;
    let Some(aof) = &ctx.server.aof else {
        return Err(CommandError::custom(
            "ERR the append-only file is disabled (larder runs with --appendonly no)",
        ));
    };
    if ctx.server.rewrite_requested || aof.rewrite_in_progress() {
        return Err(CommandError::custom(
            "ERR Background append only file rewriting already in progress",
        ));
    }
    ctx.server.rewrite_requested = true;
    Ok(Reply::simple("Background append only file rewriting started"))
}

pub(super) fn client(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> Result<Reply, CommandError> {
    let sub = args.next_bytes()?;
    let is = |w: &str| sub.eq_ignore_ascii_case(w.as_bytes());
    let arity = |args: &Args<'_>, n: usize| {
        if args.remaining() == n { Ok(()) } else { Err(super::subcommand_arity("client", sub)) }
    };
    if is("ID") {
        arity(&args, 0)?;
        Ok(Reply::Int(ctx.client.id as i64))
    } else if is("GETNAME") {
        arity(&args, 0)?;
        Ok(Reply::bulk_or_nil(ctx.client.name.clone()))
    } else if is("SETNAME") {
        arity(&args, 1)?;
        let name = args.next_bytes()?;
        check_client_name(name, "Client names")?;
        ctx.client.name = if name.is_empty() { None } else { Some(name.clone()) };
        Ok(Reply::OK)
    } else if is("SETINFO") {
        arity(&args, 2)?;
        let attr = args.next_bytes()?;
        let value = args.next_bytes()?;
        if attr.eq_ignore_ascii_case(b"LIB-NAME") {
            check_client_name(value, "lib-name")?;
            ctx.client.lib_name = Some(value.clone());
        } else if attr.eq_ignore_ascii_case(b"LIB-VER") {
            check_client_name(value, "lib-ver")?;
            ctx.client.lib_ver = Some(value.clone());
        } else {
            return Err(CommandError::custom(format!(
                "ERR Unrecognized option '{}'",
                String::from_utf8_lossy(attr)
            )));
        }
        Ok(Reply::OK)
    } else if is("INFO") {
        arity(&args, 0)?;
        Ok(Reply::Verbatim(Bytes::from(client_info_line(ctx) + "\n")))
    } else if is("LIST") {
        Ok(Reply::Verbatim(Bytes::from(client_info_line(ctx) + "\n")))
    } else if is("NO-EVICT") || is("NO-TOUCH") {
        arity(&args, 1)?;
        match args.keyword(&["ON", "OFF"]) {
            Some(_) => Ok(Reply::OK),
            None => Err(CommandError::Syntax),
        }
    } else if is("HELP") {
        Ok(help(&[
            "CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "GETNAME",
            "    Return the name of the current connection.",
            "ID",
            "    Return the ID of the current connection.",
            "INFO",
            "    Return information about the current client connection.",
            "LIST",
            "    Return information about client connections.",
            "SETINFO <option> <value>",
            "    Set client meta attr. Options are: LIB-NAME, LIB-VER.",
            "SETNAME <name>",
            "    Assign the name <name> to the current connection.",
        ]))
    } else {
        Err(unknown_subcommand("CLIENT", sub))
    }
}

pub(super) fn command(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> Result<Reply, CommandError> {
    let Some(sub) = args.next_word() else {
        return Ok(Reply::Array(COMMANDS.iter().map(command_info).collect()));
    };
    if sub.is("COUNT") {
        args.finish()?;
        Ok(Reply::Int(COMMANDS.len() as i64))
    } else if sub.is("INFO") {
        let names = args.rest();
        if names.is_empty() {
            return Ok(Reply::Array(COMMANDS.iter().map(command_info).collect()));
        }
        Ok(Reply::Array(
            names.iter().map(|n| lookup(n).map_or(Reply::NilArray, command_info)).collect(),
        ))
    } else if sub.is("DOCS") {
        let names = args.rest();
        let specs: Vec<&CommandSpec> = if names.is_empty() {
            COMMANDS.iter().collect()
        } else {
            names.iter().filter_map(|n| lookup(n)).collect()
        };
        Ok(Reply::Map(specs.into_iter().map(|c| (Reply::bulk(c.lower), command_docs(c))).collect()))
    } else if sub.is("LIST") {
        Ok(Reply::Array(COMMANDS.iter().map(|c| Reply::bulk(c.lower)).collect()))
    } else if sub.is("GETKEYS") {
        let argv = args.rest();
        if argv.is_empty() {
            return Err(CommandError::WrongArity("command|getkeys".into()));
        }
        let spec = lookup(&argv[0])
            .ok_or_else(|| CommandError::custom("ERR Invalid command specified"))?;
        if !spec.arity_ok(argv.len()) {
            return Err(CommandError::custom(
                "ERR Invalid number of arguments specified for command",
            ));
        }
        let keys = spec.keys.keys(argv);
        if keys.is_empty() {
            return Err(CommandError::custom("ERR The command has no key arguments"));
        }
        Ok(Reply::Array(keys.into_iter().map(|k| Reply::Bulk(k.clone())).collect()))
    } else if sub.is("HELP") {
        Ok(help(&[
            "COMMAND <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "COUNT",
            "DOCS",
            "GETKEYS",
            "INFO",
            "LIST",
        ]))
    } else {
        let _ = ctx;
        Err(unknown_subcommand("COMMAND", sub.0))
    }
}

pub(super) fn config(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> Result<Reply, CommandError> {
    let sub = args.next_bytes()?;
    if sub.eq_ignore_ascii_case(b"GET") {
        let patterns = args.rest();
        if patterns.is_empty() {
            return Err(CommandError::WrongArity("config|get".into()));
        }
        let params = ctx.server.info.config_params();
        let out = params
            .into_iter()
            .filter(|(name, _)| patterns.iter().any(|p| glob_match(p, name.as_bytes(), true)))
            .map(|(n, v)| (Reply::bulk(n), Reply::Bulk(Bytes::from(v))))
            .collect();
        Ok(Reply::Map(out))
    } else if sub.eq_ignore_ascii_case(b"SET") {
        config_set(ctx, args.rest())
    } else if sub.eq_ignore_ascii_case(b"RESETSTAT") {
        args.finish()?;
        ctx.server.stats = Default::default();
        Ok(Reply::OK)
    } else {
        Err(unknown_subcommand("CONFIG", sub))
    }
}

/// `CONFIG SET parameter value [parameter value ...]`: the memory settings can change at run time; every
/// pair is checked before any is applied, like Redis. Other known parameters are set by flags.
fn config_set(ctx: &mut Ctx<'_>, pairs: &[Bytes]) -> Result<Reply, CommandError> {
    use crate::memory::{Policy, parse_bytes};
    if pairs.is_empty() || !pairs.len().is_multiple_of(2) {
        return Err(CommandError::WrongArity("config|set".into()));
    }
    let failed = |name: &str, why: &str| {
        CommandError::custom(format!(
            "ERR CONFIG SET failed (possibly related to argument '{name}') - {why}"
        ))
    };
    let known = ctx.server.info.config_params();
    let mut cfg = ctx.server.info.memory;
    let mut seen: Vec<String> = Vec::new();
    for pair in pairs.chunks(2) {
        let name = String::from_utf8_lossy(&pair[0]).to_ascii_lowercase();
        let value = String::from_utf8_lossy(&pair[1]);
        if !known.iter().any(|(k, _)| *k == name) {
            return Err(CommandError::custom(format!(
                "ERR Unknown option or number of arguments for CONFIG SET - '{}'",
                String::from_utf8_lossy(&pair[0])
            )));
        }
        if seen.contains(&name) {
            return Err(failed(&name, "duplicate parameter"));
        }
        match name.as_str() {
            "maxmemory" => {
                cfg.maxmemory = parse_bytes(&value)
                    .ok_or_else(|| failed(&name, "argument must be a memory value"))?;
            }
            "maxmemory-policy" => {
                cfg.policy = value.parse::<Policy>().map_err(|_| {
                    failed(
                        &name,
                        "argument(s) must be one of the following: volatile-lru, volatile-lfu, volatile-random, volatile-ttl, allkeys-lru, allkeys-lfu, allkeys-random, noeviction",
                    )
                })?;
            }
            "maxmemory-samples" => {
                let n: i64 = value
                    .parse()
                    .map_err(|_| failed(&name, "argument couldn't be parsed into an integer"))?;
                if !(1..=i32::MAX as i64).contains(&n) {
                    return Err(failed(
                        &name,
                        "argument must be between 1 and 2147483647 inclusive",
                    ));
                }
                cfg.samples = n as usize;
            }
            _ => return Err(failed(&name, "larder is configured by flags, not CONFIG SET")),
        }
        seen.push(name);
    }
    crate::memory::apply(cfg, ctx.db, ctx.server);
    Ok(Reply::OK)
}

pub(super) fn dbsize(ctx: &mut Ctx<'_>, args: Args<'_>) -> Result<Reply, CommandError> {
    args.finish()?;
    Ok(Reply::Int(ctx.db.len() as i64))
}

pub(super) fn echo(_ctx: &mut Ctx<'_>, mut args: Args<'_>) -> Result<Reply, CommandError> {
    Ok(Reply::Bulk(args.next_bytes()?.clone()))
}

pub(super) fn flushall(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> Result<Reply, CommandError> {
    if !args.is_empty() {
        args.keyword(&["ASYNC", "SYNC"]).ok_or(CommandError::Syntax)?;
        args.finish()?;
    }
    let n = ctx.db.len() as u64;
    ctx.db.clear();
    ctx.server.touch_all();
    ctx.mark_dirty(n.max(1));
    Ok(Reply::OK)
}

/// `HELLO [protover [AUTH username password] [SETNAME clientname]]`
pub(super) fn hello(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> Result<Reply, CommandError> {
    let mut proto = ctx.client.protocol;
    if !args.is_empty() {
        let v = args.next_i64().map_err(|_| {
            CommandError::custom("ERR Protocol version is not an integer or out of range")
        })?;
        proto = match v {
            2 => Protocol::Resp2,
            3 => Protocol::Resp3,
            _ => return Err(CommandError::custom("NOPROTO unsupported protocol version")),
        };
    }
    let mut name = None;
    while let Some(w) = args.next_word() {
        if w.is("AUTH") && args.remaining() >= 2 {
            let user = args.next_bytes()?;
            let pass = args.next_bytes()?;
            authenticate(ctx, Some(user), pass)?;
        } else if w.is("SETNAME") && args.remaining() >= 1 {
            let n = args.next_bytes()?;
            check_client_name(n, "Client names")?;
            name = Some(n.clone());
        } else {
            return Err(CommandError::custom(format!(
                "ERR Syntax error in HELLO option '{}'",
                String::from_utf8_lossy(w.0)
            )));
        }
    }
    if !ctx.client.authenticated {
        return Err(CommandError::custom(
            "NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time",
        ));
    }
    if name.is_some() {
        ctx.client.name = name;
    }
    ctx.client.protocol = proto;
    let s = |v: &str| Reply::bulk(v);
    Ok(Reply::Map(vec![
        (s("server"), s("redis")),
        (s("version"), s(crate::REDIS_VERSION)),
        (s("proto"), Reply::Int(if proto == Protocol::Resp3 { 3 } else { 2 })),
        (s("id"), Reply::Int(ctx.client.id as i64)),
        (s("mode"), s("standalone")),
        (s("role"), s("master")),
        (s("modules"), Reply::Array(vec![])),
    ]))
}

pub(super) fn info(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> Result<Reply, CommandError> {
    let sections: Vec<String> =
        args.rest().iter().map(|s| String::from_utf8_lossy(s).to_ascii_lowercase()).collect();
    Ok(Reply::Verbatim(Bytes::from(crate::info::render(ctx, &sections))))
}

pub(super) fn ping(_ctx: &mut Ctx<'_>, mut args: Args<'_>) -> Result<Reply, CommandError> {
    match args.remaining() {
        0 => Ok(Reply::simple("PONG")),
        1 => Ok(Reply::Bulk(args.next_bytes()?.clone())),
        _ => Err(CommandError::WrongArity("ping".into())),
    }
}

pub(super) fn quit(ctx: &mut Ctx<'_>, _args: Args<'_>) -> Result<Reply, CommandError> {
    ctx.client.close_after_reply = true;
    Ok(Reply::OK)
}

pub(super) fn select(_ctx: &mut Ctx<'_>, mut args: Args<'_>) -> Result<Reply, CommandError> {
    let db = args.next_i64()?;
    if db != 0 {
        return Err(CommandError::custom("ERR DB index is out of range"));
    }
    Ok(Reply::OK)
}

pub(super) fn time(ctx: &mut Ctx<'_>, args: Args<'_>) -> Result<Reply, CommandError> {
    args.finish()?;
    let us = ctx.now_us;
    Ok(Reply::Array(vec![
        Reply::Bulk(Bytes::from((us / 1_000_000).to_string())),
        Reply::Bulk(Bytes::from((us % 1_000_000).to_string())),
    ]))
}

// ---- helpers ----

fn authenticate(ctx: &mut Ctx<'_>, user: Option<&Bytes>, pass: &[u8]) -> Result<(), CommandError> {
    let Some(auth) = &ctx.server.info.auth else {
        return Err(CommandError::custom(
            "ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?",
        ));
    };
    let user_ok = user.is_none_or(|u| u.as_ref() == b"default" || u.as_ref() == b"default_ro");
    match auth.check(pass) {
        Some(readonly) if user_ok => {
            ctx.client.authenticated = true;
            ctx.client.readonly = readonly;
            Ok(())
        }
        _ => Err(CommandError::WrongPass),
    }
}

fn check_client_name(name: &[u8], what: &str) -> Result<(), CommandError> {
    if name.iter().any(|&c| !(b'!'..=b'~').contains(&c)) {
        return Err(CommandError::custom(format!(
            "ERR {what} cannot contain spaces, newlines or special characters."
        )));
    }
    Ok(())
}

fn unknown_subcommand(cmd: &str, sub: &[u8]) -> CommandError {
    CommandError::UnknownSubcommand { cmd: cmd.into(), sub: crate::error::sanitize(sub, 128) }
}

fn help(lines: &[&str]) -> Reply {
    Reply::Array(lines.iter().map(|l| Reply::simple_owned(l)).collect())
}

fn client_info_line(ctx: &Ctx<'_>) -> String {
    let c = &*ctx.client;
    let lossy = |b: &Option<Bytes>| {
        b.as_ref().map(|b| String::from_utf8_lossy(b).into_owned()).unwrap_or_default()
    };
    format!(
        "id={} addr={} laddr= fd=0 name={} age={} idle=0 flags=N db=0 sub=0 psub=0 ssub=0 multi=-1 qbuf=0 qbuf-free=0 argv-mem=0 multi-mem=0 rbs=0 rbp=0 obl=0 oll=0 omem=0 tot-mem=0 events=r cmd=client|info user={} redir=-1 resp={} lib-name={} lib-ver={}",
        c.id,
        c.addr,
        lossy(&c.name),
        ctx.now.saturating_sub(c.created_ms) / 1000,
        if c.readonly { "default_ro" } else { "default" },
        if c.protocol == Protocol::Resp3 { 3 } else { 2 },
        lossy(&c.lib_name),
        lossy(&c.lib_ver),
    )
}

/// A command's `COMMAND INFO` entry, in Redis 7's shape.
fn command_info(c: &CommandSpec) -> Reply {
    let flags = c.flags.names().into_iter().map(Reply::simple).collect();
    let mut acl = vec![Reply::simple_owned(&format!("@{}", c.group))];
    if c.is_write() {
        acl.push(Reply::simple("@write"));
    } else if c.flags.has(super::Flags::READONLY) {
        acl.push(Reply::simple("@read"));
    }
    if c.flags.has(super::Flags::FAST) {
        acl.push(Reply::simple("@fast"));
    } else {
        acl.push(Reply::simple("@slow"));
    }
    Reply::Array(vec![
        Reply::bulk(c.lower),
        Reply::Int(c.arity as i64),
        Reply::Set(flags),
        Reply::Int(c.keys.first as i64),
        Reply::Int(c.keys.last as i64),
        Reply::Int(c.keys.step as i64),
        Reply::Set(acl),
        Reply::Set(vec![]),
        Reply::Array(vec![]),
        Reply::Array(vec![]),
    ])
}

fn command_docs(c: &CommandSpec) -> Reply {
    Reply::Map(vec![
        (Reply::bulk("summary"), Reply::bulk(format!("the Redis {} command", c.name))),
        (Reply::bulk("since"), Reply::bulk("1.0.0")),
        (Reply::bulk("group"), Reply::bulk(c.group)),
    ])
}
