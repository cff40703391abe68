//! Instruction counts of the hot paths, for callgrind (repeatable on a shared machine, unlike wall-clock
//! benches): warms a keyspace like `benches/dispatch.rs` (100k string keys, a 1,000-field hash, 10,000
//! small 10-field hashes, a 1,000-member sorted set, 10,000 small sorted sets), then runs `n` commands of one kind inside `measured`, the only function
//! callgrind is told to count.
//!
//! ```sh
//! cargo build --release -p larder-engine --example hot_paths
//! valgrind --tool=callgrind --collect-atstart=no --toggle-collect='*measured*' \
//!     target/release/examples/hot_paths GET 100000      # total Ir / 100000 = instructions per GET
//! ```
//! Kinds: GET SET INCR HSET HGET (the 1,000-field hash) HSET-small HGET-small HGETALL-small, ZADD ZRANGE
//! (a 1,000-member sorted set), ZADD-small (5 to 10 members).

use std::hint::black_box;
use std::sync::Arc;

use bytes::Bytes;
use larder_engine::{ClientState, Engine, ManualClock, ServerInfo};

const KEYS: usize = 100_000;
const FIELDS: usize = 1_000;
const SMALL: usize = 10_000;

fn argv(parts: &[&str]) -> Vec<Bytes> {
    parts.iter().map(|p| Bytes::copy_from_slice(p.as_bytes())).collect()
}

/// The commands of one kind, made by `f` from a pseudo-random index in `0..range`.
fn prepared(n: usize, range: usize, f: impl Fn(usize) -> Vec<Bytes>) -> Vec<Vec<Bytes>> {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            f((x % range as u64) as usize)
        })
        .collect()
}

#[inline(never)]
fn measured(engine: &mut Engine, client: &mut ClientState, cmds: &[Vec<Bytes>]) {
    for c in cmds {
        black_box(engine.execute(client, black_box(c)));
    }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let kind = args.next().unwrap_or_else(|| "GET".into());
    let n: usize = args.next().map_or(100_000, |a| a.parse().expect("a count"));
    let mut engine = Engine::new(Arc::new(ManualClock::new(1_000_000)), ServerInfo::default());
    let mut client = engine.new_client("hot".into());
    for i in 0..KEYS {
        engine.execute(&mut client, &argv(&["SET", &format!("key:{i:012}"), "xxx"]));
    }
    for i in 0..FIELDS {
        engine.execute(&mut client, &argv(&["HSET", "myhash", &format!("element:{i:012}"), "xxx"]));
    }
    for i in 0..FIELDS {
        let (score, member) = (i.to_string(), format!("element:{i:012}"));
        engine.execute(&mut client, &argv(&["ZADD", "myzset", &score, &member]));
    }
    for i in 0..SMALL {
        let key = format!("zset:{i:012}");
        let mut v = vec!["ZADD", &key];
        for (s, m) in ["1", "2", "3", "4", "5"].iter().zip(["a", "b", "c", "d", "e"]) {
            v.extend([*s, m]);
        }
        engine.execute(&mut client, &argv(&v));
    }
    for i in 0..SMALL {
        let key = format!("hash:{i:012}");
        let mut v = vec!["HSET", &key];
        for f in ["f0", "f1", "f2", "f3", "f4", "f5", "f6", "f7", "f8", "f9"] {
            v.extend([f, "xxx"]);
        }
        engine.execute(&mut client, &argv(&v));
    }
    let fields = ["f0", "f1", "f2", "f3", "f4", "f5", "f6", "f7", "f8", "f9"];
    let cmds = match kind.as_str() {
        "GET" => prepared(n, KEYS, |i| argv(&["GET", &format!("key:{i:012}")])),
        "SET" => prepared(n, KEYS, |i| argv(&["SET", &format!("key:{i:012}"), "yyy"])),
        "INCR" => prepared(n, KEYS, |i| argv(&["INCR", &format!("counter:{i:012}")])),
        "HSET" => {
            prepared(n, FIELDS, |i| argv(&["HSET", "myhash", &format!("element:{i:012}"), "yyy"]))
        }
        "HGET" => prepared(n, FIELDS, |i| argv(&["HGET", "myhash", &format!("element:{i:012}")])),
        "HSET-small" => prepared(n, SMALL * 10, |i| {
            argv(&["HSET", &format!("hash:{:012}", i / 10), fields[i % 10], "yyy"])
        }),
        "HGET-small" => prepared(n, SMALL * 10, |i| {
            argv(&["HGET", &format!("hash:{:012}", i / 10), fields[i % 10]])
        }),
        "ZADD" => prepared(n, FIELDS, |i| {
            argv(&["ZADD", "myzset", &(i * 7 % FIELDS).to_string(), &format!("element:{i:012}")])
        }),
        "ZRANGE" => prepared(n, 1, |_| argv(&["ZRANGE", "myzset", "0", "9"])),
        "ZADD-small" => prepared(n, SMALL * 10, |i| {
            let member = ["a", "b", "c", "d", "e", "f", "g", "h", "i", "j"][i % 10];
            argv(&["ZADD", &format!("zset:{:012}", i / 10), &(i % 7).to_string(), member])
        }),
        "HGETALL-small" => prepared(n, SMALL, |i| argv(&["HGETALL", &format!("hash:{i:012}")])),
        other => {
            eprintln!("unknown kind {other} (see the list at the top of hot_paths.rs)");
            std::process::exit(2);
        }
    };
    measured(&mut engine, &mut client, &cmds);
}
