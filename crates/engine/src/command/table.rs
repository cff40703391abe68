//! The command table: one row per command. Nothing outside this file matches on command names.

use super::{CommandSpec, Flags, Handler, KeySpec, keys, lists, server, strings};

const W: Flags = Flags::WRITE;
const R: Flags = Flags::READONLY;
const F: Flags = Flags::FAST;
const M: Flags = Flags::DENYOOM;
const A: Flags = Flags::ADMIN;
const NS: Flags = Flags::NOSCRIPT;
const NA: Flags = Flags::NO_AUTH;
const D: Flags = Flags::DANGEROUS;
const C: Flags = Flags::CONNECTION;
const ND: Flags = Flags::NONDETERMINISTIC;

const fn spec(
    name: &'static str,
    lower: &'static str,
    arity: i32,
    flags: Flags,
    keys: KeySpec,
    group: &'static str,
    handler: Handler,
) -> CommandSpec {
    CommandSpec { name, lower, arity, flags, keys, group, handler }
}

const fn one(i: i32) -> KeySpec {
    KeySpec::one(i)
}
const fn rest(i: i32) -> KeySpec {
    KeySpec::rest(i)
}
const NK: KeySpec = KeySpec::NONE;

#[rustfmt::skip]
pub static COMMANDS: &[CommandSpec] = &[
    //   NAME           name           arity flags                    keys                         group         handler
    // strings
    spec("APPEND",      "append",      3,  W.or(M).or(F),             one(1),                      "string",     strings::append),
    spec("DECR",        "decr",        2,  W.or(M).or(F),             one(1),                      "string",     strings::decr),
    spec("DECRBY",      "decrby",      3,  W.or(M).or(F),             one(1),                      "string",     strings::decrby),
    spec("GET",         "get",         2,  R.or(F),                   one(1),                      "string",     strings::get),
    spec("GETDEL",      "getdel",      2,  W.or(F),                   one(1),                      "string",     strings::getdel),
    spec("GETEX",       "getex",       -2, W.or(F),                   one(1),                      "string",     strings::getex),
    spec("GETRANGE",    "getrange",    4,  R,                         one(1),                      "string",     strings::getrange),
    spec("GETSET",      "getset",      3,  W.or(M).or(F),             one(1),                      "string",     strings::getset),
    spec("INCR",        "incr",        2,  W.or(M).or(F),             one(1),                      "string",     strings::incr),
    spec("INCRBY",      "incrby",      3,  W.or(M).or(F),             one(1),                      "string",     strings::incrby),
    spec("INCRBYFLOAT", "incrbyfloat", 3,  W.or(M).or(F),             one(1),                      "string",     strings::incrbyfloat),
    spec("MGET",        "mget",        -2, R.or(F),                   rest(1),                     "string",     strings::mget),
    spec("MSET",        "mset",        -3, W.or(M),                   KeySpec::range(1, -1, 2),    "string",     strings::mset),
    spec("MSETNX",      "msetnx",      -3, W.or(M),                   KeySpec::range(1, -1, 2),    "string",     strings::msetnx),
    spec("PSETEX",      "psetex",      4,  W.or(M),                   one(1),                      "string",     strings::psetex),
    spec("SET",         "set",         -3, W.or(M),                   one(1),                      "string",     strings::set),
    spec("SETEX",       "setex",       4,  W.or(M),                   one(1),                      "string",     strings::setex),
    spec("SETNX",       "setnx",       3,  W.or(M).or(F),             one(1),                      "string",     strings::setnx),
    spec("SETRANGE",    "setrange",    4,  W.or(M),                   one(1),                      "string",     strings::setrange),
    spec("STRLEN",      "strlen",      2,  R.or(F),                   one(1),                      "string",     strings::strlen),
    spec("SUBSTR",      "substr",      4,  R,                         one(1),                      "string",     strings::getrange),
    // generic
    spec("COPY",        "copy",        -3, W.or(M),                   KeySpec::range(1, 2, 1),     "keyspace",   keys::copy),
    spec("DEL",         "del",         -2, W,                         rest(1),                     "keyspace",   keys::del),
    spec("EXISTS",      "exists",      -2, R.or(F),                   rest(1),                     "keyspace",   keys::exists),
    spec("EXPIRE",      "expire",      -3, W.or(F),                   one(1),                      "keyspace",   keys::expire),
    spec("EXPIREAT",    "expireat",    -3, W.or(F),                   one(1),                      "keyspace",   keys::expireat),
    spec("EXPIRETIME",  "expiretime",  2,  R.or(F),                   one(1),                      "keyspace",   keys::expiretime),
    spec("KEYS",        "keys",        2,  R.or(D),                   NK,                          "keyspace",   keys::keys),
    spec("PERSIST",     "persist",     2,  W.or(F),                   one(1),                      "keyspace",   keys::persist),
    spec("PEXPIRE",     "pexpire",     -3, W.or(F),                   one(1),                      "keyspace",   keys::pexpire),
    spec("PEXPIREAT",   "pexpireat",   -3, W.or(F),                   one(1),                      "keyspace",   keys::pexpireat),
    spec("PEXPIRETIME", "pexpiretime", 2,  R.or(F),                   one(1),                      "keyspace",   keys::pexpiretime),
    spec("PTTL",        "pttl",        2,  R.or(F),                   one(1),                      "keyspace",   keys::pttl),
    spec("RANDOMKEY",   "randomkey",   1,  R.or(ND),                  NK,                          "keyspace",   keys::randomkey),
    spec("RENAME",      "rename",      3,  W,                         KeySpec::range(1, 2, 1),     "keyspace",   keys::rename),
    spec("RENAMENX",    "renamenx",    3,  W.or(F),                   KeySpec::range(1, 2, 1),     "keyspace",   keys::renamenx),
    spec("SCAN",        "scan",        -2, R.or(ND),                  NK,                          "keyspace",   keys::scan),
    spec("TOUCH",       "touch",       -2, R.or(F),                   rest(1),                     "keyspace",   keys::touch),
    spec("TTL",         "ttl",         2,  R.or(F),                   one(1),                      "keyspace",   keys::ttl),
    spec("TYPE",        "type",        2,  R.or(F),                   one(1),                      "keyspace",   keys::type_),
    spec("UNLINK",      "unlink",      -2, W.or(F),                   rest(1),                     "keyspace",   keys::del),
    // hashes (rows in name order)

    // lists (rows in name order)
    spec("BLMOVE",      "blmove",      6,  W.or(M).or(NS),            KeySpec::range(1, 2, 1),     "list",       lists::blmove),
    spec("BLMPOP",      "blmpop",      -5, W,                         NK,                          "list",       lists::blmpop),
    spec("BLPOP",       "blpop",       -3, W.or(NS),                  KeySpec::range(1, -2, 1),    "list",       lists::blpop),
    spec("BRPOP",       "brpop",       -3, W.or(NS),                  KeySpec::range(1, -2, 1),    "list",       lists::brpop),
    spec("BRPOPLPUSH",  "brpoplpush",  4,  W.or(M).or(NS),            KeySpec::range(1, 2, 1),     "list",       lists::brpoplpush),
    spec("LINDEX",      "lindex",      3,  R,                         one(1),                      "list",       lists::lindex),
    spec("LINSERT",     "linsert",     5,  W.or(M),                   one(1),                      "list",       lists::linsert),
    spec("LLEN",        "llen",        2,  R.or(F),                   one(1),                      "list",       lists::llen),
    spec("LMOVE",       "lmove",       5,  W.or(M),                   KeySpec::range(1, 2, 1),     "list",       lists::lmove),
    spec("LMPOP",       "lmpop",       -4, W,                         NK,                          "list",       lists::lmpop),
    spec("LPOP",        "lpop",        -2, W.or(F),                   one(1),                      "list",       lists::lpop),
    spec("LPOS",        "lpos",        -3, R,                         one(1),                      "list",       lists::lpos),
    spec("LPUSH",       "lpush",       -3, W.or(M).or(F),             one(1),                      "list",       lists::lpush),
    spec("LPUSHX",      "lpushx",      -3, W.or(M).or(F),             one(1),                      "list",       lists::lpushx),
    spec("LRANGE",      "lrange",      4,  R,                         one(1),                      "list",       lists::lrange),
    spec("LREM",        "lrem",        4,  W,                         one(1),                      "list",       lists::lrem),
    spec("LSET",        "lset",        4,  W.or(M),                   one(1),                      "list",       lists::lset),
    spec("LTRIM",       "ltrim",       4,  W,                         one(1),                      "list",       lists::ltrim),
    spec("RPOP",        "rpop",        -2, W.or(F),                   one(1),                      "list",       lists::rpop),
    spec("RPOPLPUSH",   "rpoplpush",   3,  W.or(M),                   KeySpec::range(1, 2, 1),     "list",       lists::rpoplpush),
    spec("RPUSH",       "rpush",       -3, W.or(M).or(F),             one(1),                      "list",       lists::rpush),
    spec("RPUSHX",      "rpushx",      -3, W.or(M).or(F),             one(1),                      "list",       lists::rpushx),

    // sets (rows in name order)

    // sorted sets (rows in name order)

    // server and connection
    spec("AUTH",        "auth",        -2, NS.or(NA).or(F).or(C),     NK,                          "connection", server::auth),
    spec("CLIENT",      "client",      -2, NS.or(C),                  NK,                          "connection", server::client),
    spec("COMMAND",     "command",     -1, C,                         NK,                          "connection", server::command),
    spec("CONFIG",      "config",      -2, A.or(NS).or(D),            NK,                          "admin",      server::config),
    spec("DBSIZE",      "dbsize",      1,  R.or(F),                   NK,                          "keyspace",   server::dbsize),
    spec("ECHO",        "echo",        2,  F.or(C),                   NK,                          "connection", server::echo),
    spec("FLUSHALL",    "flushall",    -1, W.or(D),                   NK,                          "keyspace",   server::flushall),
    spec("FLUSHDB",     "flushdb",     -1, W.or(D),                   NK,                          "keyspace",   server::flushall),
    spec("HELLO",       "hello",       -1, NS.or(NA).or(F).or(C),     NK,                          "connection", server::hello),
    spec("INFO",        "info",        -1, D,                         NK,                          "dangerous",  server::info),
    spec("PING",        "ping",        -1, F.or(C),                   NK,                          "connection", server::ping),
    spec("QUIT",        "quit",        -1, NA.or(NS).or(F).or(C),     NK,                          "connection", server::quit),
    spec("SELECT",      "select",      2,  F.or(C),                   NK,                          "connection", server::select),
    spec("TIME",        "time",        1,  F.or(ND),                  NK,                          "fast",       server::time),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_consistent() {
        let mut names: Vec<_> = COMMANDS.iter().map(|c| c.name).collect();
        let n = names.len();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), n, "duplicate command names");
        for c in COMMANDS {
            assert_eq!(c.name.to_ascii_lowercase(), c.lower, "{}", c.name);
            assert_eq!(c.name.to_ascii_uppercase(), c.name, "{}", c.name);
            assert!(c.arity != 0, "{}", c.name);
            assert!(!(c.flags.has(Flags::WRITE) && c.flags.has(Flags::READONLY)), "{}", c.name);
            if c.keys.first > 0 {
                assert!(
                    c.arity.unsigned_abs() as i32 > c.keys.first,
                    "{}: key beyond arity",
                    c.name
                );
            }
        }
    }
}
