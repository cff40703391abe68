//! Deterministic memory per key: loads the shapes `bench/run.sh`'s memory phase loads (`SET key:<12
//! digits> xxx`, then `HSET hash:<12 digits> f0 xxx ... f9 xxx`), then 10-member sets and sorted sets and
//! a few other shapes, into an engine through `Engine::execute`, and prints the heap bytes each key costs,
//! counted by a global allocator that wraps the system one. Two figures per shape: the bytes requested, and an estimate of what glibc's malloc
//! really takes for them (8 bytes of chunk header, 16-byte rounding, 32-byte minimum chunk), which is what
//! RSS shows. Also prints the sizes of the types every key pays for.
//!
//! ```sh
//! cargo run --release -p larder-engine --example mem_per_key            # 1,000,000 keys, 100,000 hashes
//! cargo run --release -p larder-engine --example mem_per_key -- 100000 10000
//! ```

// A global allocator can only be written with `unsafe` (the workspace denies it elsewhere); every call is
// forwarded unchanged to the system allocator.
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering::Relaxed};

use bytes::Bytes;
use larder_engine::{ClientState, Engine, Entry, ManualClock, ServerInfo, Value};

/// The system allocator, counting live bytes (requested and glibc-estimated) and live allocations.
struct Counting;

static REQUESTED: AtomicI64 = AtomicI64::new(0);
static CHUNKS: AtomicI64 = AtomicI64::new(0);
static COUNT: AtomicI64 = AtomicI64::new(0);

/// glibc malloc's chunk for a request of `n` bytes (64-bit): header included, 16-byte aligned, 32 minimum.
fn chunk(n: usize) -> i64 {
    (((n + 8 + 15) & !15).max(32)) as i64
}

fn track(size: usize, sign: i64) {
    REQUESTED.fetch_add(sign * size as i64, Relaxed);
    CHUNKS.fetch_add(sign * chunk(size), Relaxed);
    COUNT.fetch_add(sign, Relaxed);
}

// SAFETY: every call is forwarded unchanged to `System`; the counters are only bookkeeping.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        track(layout.size(), 1);
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        track(layout.size(), -1);
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        track(layout.size(), 1);
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        track(layout.size(), -1);
        track(new_size, 1);
        // SAFETY: same contract as the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

#[derive(Clone, Copy)]
struct Snap {
    requested: i64,
    chunks: i64,
    count: i64,
}

fn snap() -> Snap {
    Snap {
        requested: REQUESTED.load(Relaxed),
        chunks: CHUNKS.load(Relaxed),
        count: COUNT.load(Relaxed),
    }
}

/// Runs `n` commands made by `cmd` and prints the heap growth per command.
fn load(
    engine: &mut Engine,
    client: &mut ClientState,
    label: &str,
    n: usize,
    cmd: impl Fn(usize) -> Vec<Bytes>,
) {
    let before = snap();
    for i in 0..n {
        let argv = cmd(i);
        let reply = engine.execute(client, &argv);
        assert!(!matches!(reply, larder_engine::Reply::Error(_)), "{label}: {reply:?}");
    }
    let after = snap();
    let per = |a: i64, b: i64| (a - b) as f64 / n as f64;
    println!(
        "{label:<28} {n:>9} keys   requested {:>8.1} B/key   glibc chunks {:>8.1} B/key   allocations {:>5.2}/key",
        per(after.requested, before.requested),
        per(after.chunks, before.chunks),
        per(after.count, before.count),
    );
}

fn argv(parts: &[&[u8]]) -> Vec<Bytes> {
    parts.iter().map(|p| Bytes::copy_from_slice(p)).collect()
}

fn main() {
    let mut args = std::env::args().skip(1);
    let keys: usize = args.next().map_or(1_000_000, |a| a.parse().expect("keys"));
    let hashes: usize = args.next().map_or(100_000, |a| a.parse().expect("hashes"));

    println!("size_of Value {}  Entry {}", size_of::<Value>(), size_of::<Entry>());
    println!(
        "keyspace dict node {} B (key, entry, chain link)",
        larder_engine::Keyspace::node_size()
    );

    let mut engine = Engine::new(Arc::new(ManualClock::new(1_000_000)), ServerInfo::default());
    let mut client = engine.new_client("mem".into());
    load(&mut engine, &mut client, "SET key:<12 digits> xxx", keys, |i| {
        argv(&[b"SET", format!("key:{i:012}").as_bytes(), b"xxx"])
    });
    load(&mut engine, &mut client, "HSET hash:<12 digits> 10 f", hashes, |i| {
        let key = format!("hash:{i:012}");
        let mut v: Vec<&[u8]> = vec![b"HSET", key.as_bytes()];
        let fields: Vec<String> = (0..10).map(|f| format!("f{f}")).collect();
        for f in &fields {
            v.push(f.as_bytes());
            v.push(b"xxx");
        }
        argv(&v)
    });
    load(&mut engine, &mut client, "SADD set:<12 digits> 10 m", hashes, |i| {
        let key = format!("set:{i:012}");
        let members: Vec<String> = (0..10).map(|m| format!("member:{m}")).collect();
        let mut v: Vec<&[u8]> = vec![b"SADD", key.as_bytes()];
        v.extend(members.iter().map(|m| m.as_bytes()));
        argv(&v)
    });
    load(&mut engine, &mut client, "ZADD zset:<12 digits> 10 m", hashes, |i| {
        let key = format!("zset:{i:012}");
        let members: Vec<String> = (0..10).map(|m| format!("member:{m}")).collect();
        let mut v: Vec<&[u8]> = vec![b"ZADD", key.as_bytes()];
        for m in &members {
            v.push(b"1");
            v.push(m.as_bytes());
        }
        argv(&v)
    });
    load(&mut engine, &mut client, "SET ... EX 1000 (volatile)", keys / 10, |i| {
        argv(&[b"SET", format!("vol:{i:012}").as_bytes(), b"xxx", b"EX", b"1000"])
    });
    load(&mut engine, &mut client, "SET key 100-byte value", keys / 10, |i| {
        argv(&[b"SET", format!("big:{i:012}").as_bytes(), &[b'v'; 100]])
    });
}
