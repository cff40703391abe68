//! The cost of memory accounting per command, for `valgrind --tool=callgrind` (instruction counts are
//! repeatable on a busy machine): runs SET and GET through the engine with the binary's allocator
//! (jemalloc wrapped by the counting `Counting`), with the limit off or on (far above use, so nothing is
//! evicted: what remains is the check before every command).
//!
//! `cargo build --release -p larder-server --example memory_cost`, then
//! `valgrind --tool=callgrind target/release/examples/memory_cost off|on [n]` and compare the totals.

use std::sync::Arc;

use bytes::Bytes;
use larder_engine::memory::{Counting, MemoryConfig, Policy};
use larder_engine::{Engine, ServerInfo, SystemClock};

#[global_allocator]
static ALLOC: Counting<tikv_jemallocator::Jemalloc> =
    Counting::with_size_classes(tikv_jemallocator::Jemalloc);

fn main() {
    let mut args = std::env::args().skip(1);
    let on = args.next().as_deref() == Some("on");
    let n: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(200_000);
    let mut engine = Engine::new(Arc::new(SystemClock), ServerInfo::default());
    if on {
        engine.set_memory(MemoryConfig {
            maxmemory: 1 << 40,
            policy: Policy::AllKeysLru,
            ..MemoryConfig::default()
        });
    }
    let mut client = engine.new_client("bench".into());
    let keys: Vec<Bytes> = (0..10_000).map(|i| Bytes::from(format!("key:{i}"))).collect();
    let value = Bytes::from_static(b"0123456789012345678901234567890123456789");
    let (set, get) = (Bytes::from_static(b"SET"), Bytes::from_static(b"GET"));
    for i in 0..n {
        let k = keys[i % keys.len()].clone();
        let argv =
            if i % 2 == 0 { vec![set.clone(), k, value.clone()] } else { vec![get.clone(), k] };
        std::hint::black_box(engine.execute(&mut client, &argv));
    }
    println!("{} keys, used_memory {:?}", engine.dbsize(), larder_engine::memory::allocated());
}
