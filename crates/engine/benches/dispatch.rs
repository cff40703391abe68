//! The engine dispatcher: `Engine::execute` of common commands on a warmed keyspace (100k string keys, a
//! 1,000-field hash, a 1,000-member sorted set), and `EVALSHA` of @upstash/ratelimit's fixed-window script
//! (`INCRBY`, then `PEXPIRE` when the key is new) plus a script that calls `redis.pcall` on a missing command
//! and one that returns a 10-element array. Each benchmark cycles through 1,024 prepared argvs so
//! it touches different keys, as a real load does. Run with `cargo bench -p larder-engine`; not run in CI.

use std::hint::black_box;
use std::sync::Arc;

use bytes::Bytes;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use larder_engine::{ClientState, Engine, ServerInfo, SystemClock};

const KEYS: usize = 100_000;
const FIELDS: usize = 1_000;

/// @upstash/ratelimit's fixed-window script, as bench/run.sh runs it.
const RATELIMIT: &str = r#"local key = KEYS[1]
local window = ARGV[1]
local incrementBy = ARGV[2]
local r = redis.call("INCRBY", key, incrementBy)
if r == tonumber(incrementBy) then
  redis.call("PEXPIRE", key, window)
end
return r"#;

fn argv(parts: &[&str]) -> Vec<Bytes> {
    parts.iter().map(|p| Bytes::copy_from_slice(p.as_bytes())).collect()
}

fn warmed() -> (Engine, ClientState) {
    let mut engine = Engine::new(Arc::new(SystemClock), ServerInfo::default());
    let mut client = engine.new_client("bench".into());
    for i in 0..KEYS {
        engine.execute(&mut client, &argv(&["SET", &format!("key:{i:012}"), "xxx"]));
    }
    for i in 0..FIELDS {
        engine.execute(&mut client, &argv(&["HSET", "myhash", &format!("element:{i:012}"), "xxx"]));
        engine.execute(
            &mut client,
            &argv(&["ZADD", "myzset", &i.to_string(), &format!("element:{i:012}")]),
        );
    }
    (engine, client)
}

/// 1,024 argvs made by `f` from a pseudo-random index in `0..range`.
fn prepared(range: usize, f: impl Fn(usize) -> Vec<Bytes>) -> Vec<Vec<Bytes>> {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    (0..1024)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            f((x % range as u64) as usize)
        })
        .collect()
}

fn dispatch(c: &mut Criterion) {
    let (mut engine, mut client) = warmed();
    let mut load = |body: &str| match engine.execute(&mut client, &argv(&["SCRIPT", "LOAD", body]))
    {
        larder_resp::Reply::Bulk(sha) => String::from_utf8(sha.to_vec()).expect("hex"),
        other => panic!("SCRIPT LOAD: {other:?}"),
    };
    let ratelimit = load(RATELIMIT);
    let pcall = load("return redis.pcall('NOSUCHCOMMAND')");
    let zrange = load("return redis.call('ZRANGE', KEYS[1], 0, 9)");
    let cases: Vec<(&str, Vec<Vec<Bytes>>)> = vec![
        ("GET", prepared(KEYS, |i| argv(&["GET", &format!("key:{i:012}")]))),
        ("SET", prepared(KEYS, |i| argv(&["SET", &format!("key:{i:012}"), "xxx"]))),
        ("INCR", prepared(KEYS, |i| argv(&["INCR", &format!("counter:{i:012}")]))),
        (
            "HSET",
            prepared(FIELDS, |i| argv(&["HSET", "myhash", &format!("element:{i:012}"), "yyy"])),
        ),
        ("HGET", prepared(FIELDS, |i| argv(&["HGET", "myhash", &format!("element:{i:012}")]))),
        (
            "ZADD",
            prepared(FIELDS, |i| {
                argv(&[
                    "ZADD",
                    "myzset",
                    &(i * 7 % FIELDS).to_string(),
                    &format!("element:{i:012}"),
                ])
            }),
        ),
        ("ZRANGE 0 9", prepared(1, |_| argv(&["ZRANGE", "myzset", "0", "9"]))),
        (
            "EVALSHA ratelimit",
            prepared(KEYS, |i| {
                argv(&["EVALSHA", &ratelimit, "1", &format!("rl:{i}"), "60000", "1"])
            }),
        ),
        ("EVALSHA pcall error", prepared(1, |_| argv(&["EVALSHA", &pcall, "0"]))),
        ("EVALSHA ZRANGE 0 9", prepared(1, |_| argv(&["EVALSHA", &zrange, "1", "myzset"]))),
    ];
    let mut g = c.benchmark_group("execute");
    g.throughput(Throughput::Elements(1));
    for (name, cmds) in &cases {
        let mut i = 0;
        g.bench_function(*name, |b| {
            b.iter(|| {
                i = (i + 1) & 1023;
                engine.execute(&mut client, black_box(&cmds[i]))
            })
        });
    }
    g.finish();
}

criterion_group!(benches, dispatch);
criterion_main!(benches);
