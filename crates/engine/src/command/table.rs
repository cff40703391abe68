//! The command table: one row per command. Nothing outside this file matches on command names.

use super::{
    CommandSpec, Flags, Handler, KeySpec, bitmaps, geo, hashes, hyperloglog, keys, lists, memory,
    scripting, server, sets, streams, strings, transactions, zsets,
};

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
const MR: Flags = Flags::MAY_REPLICATE;
const AB: Flags = Flags::ALLOW_BUSY;
const TX: Flags = Flags::TX;
const LONG: Flags = Flags::MAY_RUN_LONG;
const RQ: Flags = Flags::RUNS_QUEUED;

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
    spec("UNLINK",      "unlink",      -1, W.or(F),                   rest(1),                     "keyspace",   keys::del),
    // hashes (rows in name order)
    spec("HDEL",        "hdel",        -3, W.or(F),                   one(1),                      "hash",       hashes::hdel),
    spec("HEXISTS",     "hexists",     3,  R.or(F),                   one(1),                      "hash",       hashes::hexists),
    spec("HEXPIRE",     "hexpire",     -6, W.or(M).or(F),             one(1),                      "hash",       hashes::hexpire),
    spec("HEXPIREAT",   "hexpireat",   -6, W.or(M).or(F),             one(1),                      "hash",       hashes::hexpireat),
    spec("HEXPIRETIME", "hexpiretime", -5, R.or(F),                   one(1),                      "hash",       hashes::hexpiretime),
    spec("HGET",        "hget",        3,  R.or(F),                   one(1),                      "hash",       hashes::hget),
    spec("HGETALL",     "hgetall",     2,  R,                         one(1),                      "hash",       hashes::hgetall),
    spec("HGETDEL",     "hgetdel",     -5, W.or(F),                   one(1),                      "hash",       hashes::hgetdel),
    spec("HGETEX",      "hgetex",      -5, W.or(F),                   one(1),                      "hash",       hashes::hgetex),
    spec("HINCRBY",     "hincrby",     4,  W.or(M).or(F),             one(1),                      "hash",       hashes::hincrby),
    spec("HINCRBYFLOAT", "hincrbyfloat", 4,  W.or(M).or(F),             one(1),                      "hash",       hashes::hincrbyfloat),
    spec("HKEYS",       "hkeys",       2,  R,                         one(1),                      "hash",       hashes::hkeys),
    spec("HLEN",        "hlen",        2,  R.or(F),                   one(1),                      "hash",       hashes::hlen),
    spec("HMGET",       "hmget",       -3, R.or(F),                   one(1),                      "hash",       hashes::hmget),
    spec("HMSET",       "hmset",       -4, W.or(M).or(F),             one(1),                      "hash",       hashes::hmset),
    spec("HPERSIST",    "hpersist",    -5, W.or(F),                   one(1),                      "hash",       hashes::hpersist),
    spec("HPEXPIRE",    "hpexpire",    -6, W.or(M).or(F),             one(1),                      "hash",       hashes::hpexpire),
    spec("HPEXPIREAT",  "hpexpireat",  -6, W.or(M).or(F),             one(1),                      "hash",       hashes::hpexpireat),
    spec("HPEXPIRETIME", "hpexpiretime", -5, R.or(F),                   one(1),                      "hash",       hashes::hpexpiretime),
    spec("HPTTL",       "hpttl",       -5, R.or(F),                   one(1),                      "hash",       hashes::hpttl),
    spec("HRANDFIELD",  "hrandfield",  -2, R.or(ND),                  one(1),                      "hash",       hashes::hrandfield),
    spec("HSCAN",       "hscan",       -3, R.or(ND),                  one(1),                      "hash",       hashes::hscan),
    spec("HSET",        "hset",        -4, W.or(M).or(F),             one(1),                      "hash",       hashes::hset),
    spec("HSETEX",      "hsetex",      -6, W.or(M).or(F),             one(1),                      "hash",       hashes::hsetex),
    spec("HSETNX",      "hsetnx",      4,  W.or(M).or(F),             one(1),                      "hash",       hashes::hsetnx),
    spec("HSTRLEN",     "hstrlen",     3,  R.or(F),                   one(1),                      "hash",       hashes::hstrlen),
    spec("HTTL",        "httl",        -5, R.or(F),                   one(1),                      "hash",       hashes::httl),
    spec("HVALS",       "hvals",       2,  R,                         one(1),                      "hash",       hashes::hvals),

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
    spec("SADD",        "sadd",        -3, W.or(M).or(F),             one(1),                      "set",        sets::sadd),
    spec("SCARD",       "scard",       2,  R.or(F),                   one(1),                      "set",        sets::scard),
    spec("SDIFF",       "sdiff",       -2, R,                         rest(1),                     "set",        sets::sdiff),
    spec("SDIFFSTORE",  "sdiffstore",  -3, W.or(M),                   rest(1),                     "set",        sets::sdiffstore),
    spec("SINTER",      "sinter",      -2, R,                         rest(1),                     "set",        sets::sinter),
    spec("SINTERCARD",  "sintercard",  -3, R,                         NK,                          "set",        sets::sintercard),
    spec("SINTERSTORE", "sinterstore", -3, W.or(M),                   rest(1),                     "set",        sets::sinterstore),
    spec("SISMEMBER",   "sismember",   3,  R.or(F),                   one(1),                      "set",        sets::sismember),
    spec("SMEMBERS",    "smembers",    2,  R,                         one(1),                      "set",        sets::smembers),
    spec("SMISMEMBER",  "smismember",  -3, R.or(F),                   one(1),                      "set",        sets::smismember),
    spec("SMOVE",       "smove",       4,  W.or(F),                   KeySpec::range(1, 2, 1),     "set",        sets::smove),
    spec("SPOP",        "spop",        -2, W.or(F).or(ND),            one(1),                      "set",        sets::spop),
    spec("SRANDMEMBER", "srandmember", -2, R.or(ND),                  one(1),                      "set",        sets::srandmember),
    spec("SREM",        "srem",        -3, W.or(F),                   one(1),                      "set",        sets::srem),
    spec("SSCAN",       "sscan",       -3, R.or(ND),                  one(1),                      "set",        sets::sscan),
    spec("SUNION",      "sunion",      -2, R,                         rest(1),                     "set",        sets::sunion),
    spec("SUNIONSTORE", "sunionstore", -3, W.or(M),                   rest(1),                     "set",        sets::sunionstore),

    // sorted sets (rows in name order)
    spec("BZMPOP",           "bzmpop",           -5, W,                        NK,                          "sortedset",  zsets::bzmpop),
    spec("BZPOPMAX",         "bzpopmax",         -3, W.or(NS).or(F),           KeySpec::range(1, -2, 1),    "sortedset",  zsets::bzpopmax),
    spec("BZPOPMIN",         "bzpopmin",         -3, W.or(NS).or(F),           KeySpec::range(1, -2, 1),    "sortedset",  zsets::bzpopmin),
    spec("ZADD",             "zadd",             -4, W.or(M).or(F),            one(1),                      "sortedset",  zsets::zadd),
    spec("ZCARD",            "zcard",            2,  R.or(F),                  one(1),                      "sortedset",  zsets::zcard),
    spec("ZCOUNT",           "zcount",           4,  R.or(F),                  one(1),                      "sortedset",  zsets::zcount),
    spec("ZDIFF",            "zdiff",            -3, R,                        NK,                          "sortedset",  zsets::zdiff),
    spec("ZDIFFSTORE",       "zdiffstore",       -4, W.or(M),                  one(1),                      "sortedset",  zsets::zdiffstore),
    spec("ZINCRBY",          "zincrby",          4,  W.or(M).or(F),            one(1),                      "sortedset",  zsets::zincrby),
    spec("ZINTER",           "zinter",           -3, R,                        NK,                          "sortedset",  zsets::zinter),
    spec("ZINTERCARD",       "zintercard",       -3, R,                        NK,                          "sortedset",  zsets::zintercard),
    spec("ZINTERSTORE",      "zinterstore",      -4, W.or(M),                  one(1),                      "sortedset",  zsets::zinterstore),
    spec("ZLEXCOUNT",        "zlexcount",        4,  R.or(F),                  one(1),                      "sortedset",  zsets::zlexcount),
    spec("ZMPOP",            "zmpop",            -4, W,                        NK,                          "sortedset",  zsets::zmpop),
    spec("ZMSCORE",          "zmscore",          -3, R.or(F),                  one(1),                      "sortedset",  zsets::zmscore),
    spec("ZPOPMAX",          "zpopmax",          -2, W.or(F),                  one(1),                      "sortedset",  zsets::zpopmax),
    spec("ZPOPMIN",          "zpopmin",          -2, W.or(F),                  one(1),                      "sortedset",  zsets::zpopmin),
    spec("ZRANDMEMBER",      "zrandmember",      -2, R.or(ND),                 one(1),                      "sortedset",  zsets::zrandmember),
    spec("ZRANGE",           "zrange",           -4, R,                        one(1),                      "sortedset",  zsets::zrange),
    spec("ZRANGEBYLEX",      "zrangebylex",      -4, R,                        one(1),                      "sortedset",  zsets::zrangebylex),
    spec("ZRANGEBYSCORE",    "zrangebyscore",    -4, R,                        one(1),                      "sortedset",  zsets::zrangebyscore),
    spec("ZRANGESTORE",      "zrangestore",      -5, W.or(M),                  KeySpec::range(1, 2, 1),     "sortedset",  zsets::zrangestore),
    spec("ZRANK",            "zrank",            -3, R.or(F),                  one(1),                      "sortedset",  zsets::zrank),
    spec("ZREM",             "zrem",             -3, W.or(F),                  one(1),                      "sortedset",  zsets::zrem),
    spec("ZREMRANGEBYLEX",   "zremrangebylex",   4,  W,                        one(1),                      "sortedset",  zsets::zremrangebylex),
    spec("ZREMRANGEBYRANK",  "zremrangebyrank",  4,  W,                        one(1),                      "sortedset",  zsets::zremrangebyrank),
    spec("ZREMRANGEBYSCORE", "zremrangebyscore", 4,  W,                        one(1),                      "sortedset",  zsets::zremrangebyscore),
    spec("ZREVRANGE",        "zrevrange",        -4, R,                        one(1),                      "sortedset",  zsets::zrevrange),
    spec("ZREVRANGEBYLEX",   "zrevrangebylex",   -4, R,                        one(1),                      "sortedset",  zsets::zrevrangebylex),
    spec("ZREVRANGEBYSCORE", "zrevrangebyscore", -4, R,                        one(1),                      "sortedset",  zsets::zrevrangebyscore),
    spec("ZREVRANK",         "zrevrank",         -3, R.or(F),                  one(1),                      "sortedset",  zsets::zrevrank),
    spec("ZSCAN",            "zscan",            -3, R.or(ND),                 one(1),                      "sortedset",  zsets::zscan),
    spec("ZSCORE",           "zscore",           3,  R.or(F),                  one(1),                      "sortedset",  zsets::zscore),
    spec("ZUNION",           "zunion",           -3, R,                        NK,                          "sortedset",  zsets::zunion),
    spec("ZUNIONSTORE",      "zunionstore",      -4, W.or(M),                  one(1),                      "sortedset",  zsets::zunionstore),

    // geo (rows in name order)
    spec("GEOADD",               "geoadd",               -5, W.or(M),       one(1),                   "geo",        geo::geoadd),
    spec("GEODIST",              "geodist",              -4, R,             one(1),                   "geo",        geo::geodist),
    spec("GEOHASH",              "geohash",              -2, R,             one(1),                   "geo",        geo::geohash),
    spec("GEOPOS",               "geopos",               -2, R,             one(1),                   "geo",        geo::geopos),
    spec("GEORADIUS",            "georadius",            -6, W.or(M),       one(1),                   "geo",        geo::georadius),
    spec("GEORADIUSBYMEMBER",    "georadiusbymember",    -5, W.or(M),       one(1),                   "geo",        geo::georadiusbymember),
    spec("GEORADIUSBYMEMBER_RO", "georadiusbymember_ro", -5, R,             one(1),                   "geo",        geo::georadiusbymember_ro),
    spec("GEORADIUS_RO",         "georadius_ro",         -6, R,             one(1),                   "geo",        geo::georadius_ro),
    spec("GEOSEARCH",            "geosearch",            -7, R,             one(1),                   "geo",        geo::geosearch),
    spec("GEOSEARCHSTORE",       "geosearchstore",       -8, W.or(M),       KeySpec::range(1, 2, 1),  "geo",        geo::geosearchstore),

    // streams (rows in name order)
    spec("XACK",        "xack",        -4, W.or(F),                   one(1),                      "stream",     streams::xack),
    spec("XADD",        "xadd",        -5, W.or(M).or(F),             one(1),                      "stream",     streams::xadd),
    spec("XAUTOCLAIM",  "xautoclaim",  -6, W.or(F),                   one(1),                      "stream",     streams::xautoclaim),
    spec("XCLAIM",      "xclaim",      -6, W.or(F),                   one(1),                      "stream",     streams::xclaim),
    spec("XDEL",        "xdel",        -3, W.or(F),                   one(1),                      "stream",     streams::xdel),
    spec("XGROUP",      "xgroup",      -2, W.or(M),                   one(2),                      "stream",     streams::xgroup),
    spec("XINFO",       "xinfo",       -2, R,                         one(2),                      "stream",     streams::xinfo),
    spec("XLEN",        "xlen",        2,  R.or(F),                   one(1),                      "stream",     streams::xlen),
    spec("XPENDING",    "xpending",    -3, R,                         one(1),                      "stream",     streams::xpending),
    spec("XRANGE",      "xrange",      -4, R,                         one(1),                      "stream",     streams::xrange),
    spec("XREAD",       "xread",       -4, R,                         NK,                          "stream",     streams::xread),
    spec("XREADGROUP",  "xreadgroup",  -7, W,                         NK,                          "stream",     streams::xreadgroup),
    spec("XREVRANGE",   "xrevrange",   -4, R,                         one(1),                      "stream",     streams::xrevrange),
    spec("XSETID",      "xsetid",      -3, W.or(M).or(F),             one(1),                      "stream",     streams::xsetid),
    spec("XTRIM",       "xtrim",       -4, W,                         one(1),                      "stream",     streams::xtrim),

    // bitmaps (rows in name order)
    spec("BITCOUNT",    "bitcount",    -2, R,                         one(1),                      "bitmap",     bitmaps::bitcount),
    spec("BITFIELD",    "bitfield",    -2, W.or(M),                   one(1),                      "bitmap",     bitmaps::bitfield),
    spec("BITFIELD_RO", "bitfield_ro", -2, R.or(F),                   one(1),                      "bitmap",     bitmaps::bitfield_ro),
    spec("BITOP",       "bitop",       -4, W.or(M),                   KeySpec::range(2, -1, 1),    "bitmap",     bitmaps::bitop),
    spec("BITPOS",      "bitpos",      -3, R,                         one(1),                      "bitmap",     bitmaps::bitpos),
    spec("GETBIT",      "getbit",      3,  R.or(F),                   one(1),                      "bitmap",     bitmaps::getbit),
    spec("SETBIT",      "setbit",      4,  W.or(M),                   one(1),                      "bitmap",     bitmaps::setbit),

    // hyperloglog (rows in name order)
    spec("PFADD",       "pfadd",       -2, W.or(M).or(F),             one(1),                      "hyperloglog", hyperloglog::pfadd),
    spec("PFCOUNT",     "pfcount",     -2, R,                         rest(1),                     "hyperloglog", hyperloglog::pfcount),
    spec("PFMERGE",     "pfmerge",     -2, W.or(M),                   rest(1),                     "hyperloglog", hyperloglog::pfmerge),

    // scripting
    spec("EVAL",        "eval",        -3, NS.or(MR).or(LONG),                 NK,                          "scripting",  scripting::eval),
    spec("EVALSHA",     "evalsha",     -3, NS.or(MR).or(LONG),                 NK,                          "scripting",  scripting::evalsha),
    spec("EVALSHA_RO",  "evalsha_ro",  -3, NS.or(R).or(LONG),                  NK,                          "scripting",  scripting::evalsha_ro),
    spec("EVAL_RO",     "eval_ro",     -3, NS.or(R).or(LONG),                  NK,                          "scripting",  scripting::eval_ro),
    spec("FCALL",       "fcall",       -3, NS.or(MR).or(LONG),                 NK,                          "scripting",  scripting::fcall),
    spec("FCALL_RO",    "fcall_ro",    -3, NS.or(R).or(LONG),                  NK,                          "scripting",  scripting::fcall_ro),
    spec("FUNCTION",    "function",    -2, NS.or(AB),          NK,                          "scripting",  scripting::function),
    spec("SCRIPT",      "script",      -2, NS.or(AB),                 NK,                          "scripting",  scripting::script),
    // transactions
    spec("DISCARD",     "discard",     1,  NS.or(F).or(TX),           NK,                          "transaction", transactions::discard),
    spec("EXEC",        "exec",        1,  NS.or(TX).or(LONG).or(RQ),          NK,                          "transaction", transactions::exec),
    spec("MULTI",       "multi",       1,  NS.or(F).or(TX),           NK,                          "transaction", transactions::multi),
    spec("UNWATCH",     "unwatch",     1,  NS.or(F),                  NK,                          "transaction", transactions::unwatch),
    spec("WATCH",       "watch",       -2, NS.or(F).or(TX),           rest(1),                     "transaction", transactions::watch),
    // server and connection
    spec("AUTH",        "auth",        -2, NS.or(NA).or(F).or(C),     NK,                          "connection", server::auth),
    spec("BGREWRITEAOF", "bgrewriteaof", 1,  A.or(NS),                  NK,                          "admin",      server::bgrewriteaof),
    spec("CLIENT",      "client",      -2, NS.or(C),                  NK,                          "connection", server::client),
    spec("COMMAND",     "command",     -1, C,                         NK,                          "connection", server::command),
    spec("CONFIG",      "config",      -2, A.or(NS).or(D),            NK,                          "admin",      server::config),
    spec("DBSIZE",      "dbsize",      1,  R.or(F),                   NK,                          "keyspace",   server::dbsize),
    spec("ECHO",        "echo",        2,  F.or(C),                   NK,                          "connection", server::echo),
    spec("FLUSHALL",    "flushall",    -1, W.or(D),                   NK,                          "keyspace",   server::flushall),
    spec("FLUSHDB",     "flushdb",     -1, W.or(D),                   NK,                          "keyspace",   server::flushall),
    spec("HELLO",       "hello",       -1, NS.or(NA).or(F).or(C),     NK,                          "connection", server::hello),
    spec("INFO",        "info",        -1, D,                         NK,                          "dangerous",  server::info),
    spec("MEMORY",      "memory",      -2, R,                         NK,                          "server",     memory::memory),
    spec("PING",        "ping",        -1, F.or(C),                   NK,                          "connection", server::ping),
    spec("QUIT",        "quit",        -1, NA.or(NS).or(F).or(C).or(TX),     NK,                          "connection", server::quit),
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
            // A fixed arity must cover the first key; a variadic one may make its keys optional (UNLINK).
            if c.keys.first > 0 {
                let min = c.arity.unsigned_abs() as i32;
                let covered = if c.arity > 0 { min > c.keys.first } else { min >= c.keys.first };
                assert!(covered, "{}: key beyond arity", c.name);
            }
        }
    }
}
