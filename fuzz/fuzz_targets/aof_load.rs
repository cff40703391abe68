//! Random bytes as an AOF: the record parser, the torn-tail check, and the loader replaying them as the
//! last incr file of a manifest, then as a base file. Nothing may panic; loading either succeeds (maybe
//! truncating a torn tail) or refuses with an error.

#![no_main]

use std::cell::RefCell;
use std::path::PathBuf;
use std::sync::Arc;

use bytes::Bytes;
use larder_engine::aof::record::{Parsed, is_torn_tail, parse};
use larder_engine::{ClientState, Engine, ManualClock, ServerInfo};
use libfuzzer_sys::fuzz_target;

struct Env {
    dir: PathBuf,
    engine: Engine,
    client: ClientState,
}

thread_local! {
    static ENV: RefCell<Env> = RefCell::new({
        let dir = std::env::temp_dir().join(format!("larder-fuzz-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("appendonly.aof.manifest"),
            "file appendonly.aof.1.base.aof seq 1 type b\nfile appendonly.aof.1.incr.aof seq 1 type i\n",
        )
        .unwrap();
        let engine = Engine::new(Arc::new(ManualClock::new(1_700_000_000_000)), ServerInfo::default());
        let client = engine.new_client("fuzz".into());
        Env { dir, engine, client }
    });
}

fuzz_target!(|data: &[u8]| {
    let mut at = 0;
    while let Parsed::Record { len, .. } = parse(&data[at..]) {
        at += len;
    }
    let _ = is_torn_tail(&data[at..]);
    ENV.with(|env| {
        let env = &mut *env.borrow_mut();
        for (base, incr) in [(&b""[..], data), (data, &b""[..])] {
            std::fs::write(env.dir.join("appendonly.aof.1.base.aof"), base).unwrap();
            std::fs::write(env.dir.join("appendonly.aof.1.incr.aof"), incr).unwrap();
            env.engine.execute(&mut env.client, &[Bytes::from_static(b"FLUSHALL")]);
            let _ = larder_engine::aof::load(&env.dir, &mut env.engine);
        }
    });
});
