//! AOF tests: replay equals the live keyspace (property test over every type with expiry on a manual
//! clock), truncation at every byte offset, rewrites interleaved with writes, I/O errors and recovery,
//! waiting for durability from threads and futures, the checker, and random bytes fed to the loader.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use bytes::Bytes;
use proptest::prelude::*;

use super::manifest::{Manifest, base_name, incr_name};
use super::*;
use crate::{ClientState, Engine, ManualClock, Reply, ServerInfo};

const T0: u64 = 1_700_000_000_000;

fn argv(line: &str) -> Vec<Bytes> {
    line.split_whitespace().map(|w| Bytes::copy_from_slice(w.as_bytes())).collect()
}

/// Compares two canonical dumps, printing only the lines that differ.
#[track_caller]
fn assert_same(got: &[String], want: &[String]) {
    if got != want {
        let only_got: Vec<_> = got.iter().filter(|l| !want.contains(l)).collect();
        let only_want: Vec<_> = want.iter().filter(|l| !got.contains(l)).collect();
        panic!(
            "reloaded keyspace differs\n  only after reload: {only_got:?}\n  only live:         {only_want:?}"
        );
    }
}

fn new_engine(clock: &ManualClock) -> Engine {
    Engine::new(Arc::new(clock.clone()), ServerInfo::default())
}

fn config(policy: FsyncPolicy) -> AofConfig {
    AofConfig {
        fsync: policy,
        retry_interval: Duration::from_millis(20),
        auto_rewrite_percentage: 0,
        ..AofConfig::default()
    }
}

/// An engine on a manual clock writing an AOF in `dir`.
struct Live {
    clock: ManualClock,
    engine: Engine,
    client: ClientState,
    aof: Durability,
}

impl Live {
    fn open(dir: &Path, clock: ManualClock, config: AofConfig) -> Live {
        let mut engine = new_engine(&clock);
        load(dir, &mut engine).expect("load");
        let log = AofLog::open(dir, config).expect("open the AOF");
        let aof = log.durability();
        engine.set_propagation(Box::new(log));
        let client = engine.new_client("test".into());
        Live { clock, engine, client, aof }
    }

    fn run(&mut self, line: &str) -> Reply {
        self.engine.execute(&mut self.client, &argv(line))
    }

    fn run_argv(&mut self, argv: &[Bytes]) -> Reply {
        self.engine.execute(&mut self.client, argv)
    }

    fn sync(&self) {
        self.aof.wait_durable(self.aof.appended_offset()).expect("durable");
    }

    /// Waits for the rewrite's writer and the flusher to finish the switch.
    fn wait_rewrite(&self) {
        for _ in 0..2000 {
            if !self.aof.rewrite_in_progress() {
                return;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        panic!("the rewrite did not finish");
    }
}

/// A fresh engine loaded from `dir` at the clock's time: its canonical dump.
fn reload(dir: &Path, clock: &ManualClock) -> (Vec<String>, LoadStats) {
    let mut engine = new_engine(clock);
    let stats = load(dir, &mut engine).expect("reload");
    (engine.canonical_dump(), stats)
}

#[test]
fn writes_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(T0);
    let mut live = Live::open(dir.path(), clock.clone(), config(FsyncPolicy::Always));
    for line in [
        "SET a 1",
        "SET b 2 PX 5000",
        "INCR a",
        "HSET h f1 v1 f2 v2",
        "HPEXPIRE h 3000 FIELDS 1 f1",
        "SADD s x y 3",
        "ZADD z 1.5 m -inf n",
        "EXPIRE s 100",
        "DEL nothing",
    ] {
        assert!(!matches!(live.run(line), Reply::Error(_)), "{line}");
    }
    live.sync();
    let want = live.engine.canonical_dump();
    live.aof.shutdown().unwrap();
    drop(live);
    let (got, stats) = reload(dir.path(), &clock);
    assert_same(&got, &want);
    assert_eq!(stats.command_errors, 0);
    assert!(stats.truncated.is_none());
    // Time passes: the expiring key and field are gone after the reload too.
    clock.advance(6000);
    let (got, _) = reload(dir.path(), &clock);
    assert!(!got.iter().any(|l| l.starts_with("b ")), "{got:?}");
    assert!(got.iter().any(|l| l.starts_with("h hash f2=v2")), "{got:?}");
}

#[test]
fn expired_keys_replay_exactly() {
    // A key read by a write after it expired live must not break the replay: nothing expires while
    // loading, and the DEL that expiry propagated comes at the right place.
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(T0);
    let mut live = Live::open(dir.path(), clock.clone(), config(FsyncPolicy::EverySec));
    live.run("SADD src a b c");
    live.run("PEXPIRE src 100");
    live.run("SUNIONSTORE dst src");
    clock.advance(200);
    live.run("SUNIONSTORE dst2 src dst");
    live.run("SET later 1 PXAT 1");
    live.run("SET past 1");
    live.run(&format!("PEXPIREAT past {}", T0 - 1));
    let want = live.engine.canonical_dump();
    live.aof.shutdown().unwrap();
    drop(live);
    clock.advance(1000);
    let (got, stats) = reload(dir.path(), &clock);
    assert_eq!(stats.command_errors, 0);
    assert_same(&got, &want);
}

// ---- property test: replay rebuilds the live keyspace ----

/// One random command over a small key space, every type, with relative and absolute expiry, scripts
/// and transactions.
fn random_command(op: u8, k1: u8, k2: u8, n: u16, now: u64) -> Vec<String> {
    let key = |i: u8| format!("k{}", i % 6);
    let (a, b) = (key(k1), key(k2));
    let f = format!("f{}", n % 4);
    let v = format!("v{}", n % 7);
    let int = (n % 50) as i64 - 10;
    let one = |s: String| vec![s];
    match op % 60 {
        0 => one(format!("SET {a} {v}")),
        1 => one(format!("SET {a} {int} PX {}", 1 + n % 3000)),
        2 => one(format!("SET {a} {v} KEEPTTL")),
        3 => one(format!("SET {a} {v} NX GET")),
        4 => one(format!("APPEND {a} {v}")),
        5 => one(format!("INCRBY {a} {int}")),
        6 => one(format!("INCRBYFLOAT {a} 1.25")),
        7 => one(format!("DEL {a} {b}")),
        8 => one(format!("EXPIRE {a} {}", 1 + n % 4)),
        9 => one(format!("PEXPIREAT {a} {}", now + (n as u64 % 3000))),
        10 => one(format!("PERSIST {a}")),
        11 => one(format!("GETEX {a} PX {}", 1 + n % 2000)),
        12 => one(format!("RENAME {a} {b}")),
        13 => one(format!("GETDEL {a}")),
        14 => one(format!("HSET {a} {f} {v} f9 {int}")),
        15 => one(format!("HDEL {a} {f}")),
        16 => one(format!("HINCRBY {a} {f} {int}")),
        17 => one(format!("HINCRBYFLOAT {a} {f} 0.5")),
        18 => one(format!("HPEXPIRE {a} {} FIELDS 2 {f} f9", 1 + n % 2500)),
        19 => one(format!("HPERSIST {a} FIELDS 1 {f}")),
        20 => one(format!("HSETEX {a} PX {} FIELDS 1 {f} {v}", 1 + n % 2000)),
        21 => one(format!("HGETDEL {a} FIELDS 1 {f}")),
        22 => one(format!("HEXPIRE {a} 0 FIELDS 1 {f}")),
        23 => one(format!("SADD {a} {v} {int} m{}", n % 3)),
        24 => one(format!("SREM {a} {v} {int}")),
        25 => one(format!("SPOP {a} {}", n % 3)),
        26 => one(format!("SMOVE {a} {b} {v}")),
        27 => one(format!("SINTERSTORE {b} {a} {b}")),
        28 => one(format!("SUNIONSTORE {b} {a} {b}")),
        29 => one(format!("ZADD {a} {int} {v} {}.5 m{}", n % 9, n % 3)),
        30 => one(format!("ZINCRBY {a} 2.5 {v}")),
        31 => one(format!("ZREM {a} {v}")),
        32 => one(format!("ZPOPMIN {a} {}", n % 3)),
        33 => one(format!("ZREMRANGEBYSCORE {a} -inf {int}")),
        34 => one(format!("ZUNIONSTORE {b} 2 {a} {b} WEIGHTS 1 2")),
        35 => one(format!("ZRANGESTORE {b} {a} 0 1")),
        36 => one(format!(
            "EVAL redis.call('SET',KEYS[1],ARGV[1]);redis.call('INCR',KEYS[2]);return(1) 2 {a} {b} {v}"
        )),
        37 => one(format!(
            "EVAL redis.call('DEL',KEYS[1]);redis.call('SADD',KEYS[1],ARGV[1]) 1 {a} {v}"
        )),
        38 => vec![
            "MULTI".into(),
            format!("SET {a} {v}"),
            format!("EXPIRE {a} {}", 1 + n % 3),
            format!("SADD {b} {v}"),
            "EXEC".into(),
        ],
        39 => one(format!("COPY {a} {b} REPLACE")),
        40 => one(format!("SETRANGE {a} {} {v}", n % 5)),
        41 => one(format!("MSET {a} {v} {b} {int}")),
        42 => one(format!("HSETNX {a} {f} {v}")),
        43 => one(format!("ZADD {a} GT CH {int} {v}")),
        44 if n.is_multiple_of(16) => one("FLUSHALL".into()),
        45 => one(format!("UNLINK {a}")),
        46 => one(format!("SETNX {a} {v}")),
        47 => one(format!("GETSET {a} {v}")),
        48 => one(format!("RPUSH {a} {v} {int}")),
        49 => one(format!("LPUSH {a} {v}")),
        50 => one(format!("LPOP {a} {}", 1 + n % 2)),
        51 => one(format!("RPOPLPUSH {a} {b}")),
        52 => one(format!("LMOVE {a} {b} LEFT RIGHT")),
        53 => one(format!("LSET {a} 0 {v}")),
        54 => one(format!("LREM {a} 0 {v}")),
        55 => one(format!("LTRIM {a} 1 -1")),
        56 => one(format!("LINSERT {a} BEFORE {v} x{int}")),
        57 => one(format!("BLPOP {a} {b} 0")),
        58 => one(format!("LMPOP 2 {a} {b} RIGHT COUNT 2")),
        _ => one(format!("RPUSHX {a} {v}")),
    }
}

/// Runs a random sequence live (advancing the clock, with active expiry), restarts, and compares.
fn replay_matches(ops: &[(u8, u8, u8, u16, u16)], policy: FsyncPolicy) {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(T0);
    let mut live = Live::open(dir.path(), clock.clone(), config(policy));
    for &(op, k1, k2, n, adv) in ops {
        for line in random_command(op, k1, k2, n, clock.now_ms()) {
            live.run_argv(&eval_argv(&line));
        }
        if adv % 4 == 0 {
            clock.advance(u64::from(adv % 1500));
        }
        if adv % 11 == 0 {
            live.engine.active_expire(4);
        }
    }
    let want = live.engine.canonical_dump();
    live.aof.shutdown().unwrap();
    drop(live);
    let (got, stats) = reload(dir.path(), &clock);
    assert_eq!(stats.command_errors, 0, "replay answered errors");
    assert_same(&got, &want);
}

/// `EVAL <script> ...` keeps the script (no spaces inside) as one argument.
fn eval_argv(line: &str) -> Vec<Bytes> {
    argv(line)
}

use crate::Clock;

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn replaying_the_aof_rebuilds_the_keyspace(
        ops in prop::collection::vec(any::<(u8, u8, u8, u16, u16)>(), 1..160)
    ) {
        replay_matches(&ops, FsyncPolicy::No);
    }
}

// ---- torn tails and damage ----

/// A small AOF in `dir` (empty base, one incr file) from these commands; returns the incr bytes and
/// the offset at which each record ends.
fn small_aof(dir: &Path, cmds: &[&str]) -> (Vec<u8>, Vec<usize>) {
    let mut bytes = Vec::new();
    let mut ends = Vec::new();
    for c in cmds {
        encode_command(&argv(c), &mut bytes);
        ends.push(bytes.len());
    }
    write_set(dir, &[], &bytes);
    (bytes, ends)
}

fn write_set(dir: &Path, base: &[u8], incr: &[u8]) {
    std::fs::write(dir.join(base_name(1)), base).unwrap();
    std::fs::write(dir.join(incr_name(1)), incr).unwrap();
    let m = Manifest {
        base: Some(manifest::AofFile { name: base_name(1), seq: 1 }),
        incrs: vec![manifest::AofFile { name: incr_name(1), seq: 1 }],
    };
    m.store(dir).unwrap();
}

#[test]
fn truncation_at_every_offset_recovers_exactly_the_complete_records() {
    let cmds = [
        "SET a 1",
        "MULTI",
        "INCR a",
        "SADD s x",
        "EXEC",
        "HSET h f v",
        "ZADD z 2 m",
        "DEL a",
        "SET b hello",
    ];
    let dir = tempfile::tempdir().unwrap();
    let (bytes, ends) = small_aof(dir.path(), &cmds);
    let clock = ManualClock::new(T0);
    // The expected state after the first `n` records; an unfinished MULTI counts as not started.
    let expected = |cut: usize| {
        let mut n = ends.iter().take_while(|&&e| e <= cut).count();
        if (2..5).contains(&n) {
            n = 1;
        }
        let mut e = new_engine(&clock);
        let mut c = e.new_client("x".into());
        for cmd in &cmds[..n] {
            e.execute(&mut c, &argv(cmd));
        }
        (e.canonical_dump(), if n == 0 { 0 } else { ends[n - 1] })
    };
    for cut in 0..=bytes.len() {
        write_set(dir.path(), &[], &bytes[..cut]);
        let mut engine = new_engine(&clock);
        let stats = load(dir.path(), &mut engine)
            .unwrap_or_else(|e| panic!("cut at {cut}: a torn tail must load: {e}"));
        let (want, len) = expected(cut);
        assert_eq!(engine.canonical_dump(), want, "cut at {cut}");
        let on_disk = std::fs::metadata(dir.path().join(incr_name(1))).unwrap().len();
        assert_eq!(on_disk as usize, len, "cut at {cut}: truncated to the last whole record");
        assert_eq!(stats.truncated.is_some(), cut != len, "cut at {cut}");
    }
}

#[test]
fn damage_before_the_tail_refuses_with_file_and_offset() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(T0);
    let (bytes, ends) = small_aof(dir.path(), &["SET a 1", "SET b 2", "SET c 3"]);
    // A truncated base file: the base is never torn, so this refuses.
    let mut base = Vec::new();
    encode_command(&argv("SET x 1"), &mut base);
    for cut in 1..base.len() {
        write_set(dir.path(), &base[..cut], &bytes);
        let err = load(dir.path(), &mut new_engine(&clock)).unwrap_err();
        let AofLoadError::Corrupt { file, offset, .. } = &err else { panic!("{err}") };
        assert!(file.ends_with(base_name(1)), "{err}");
        assert_eq!(*offset, 0);
        assert!(err.to_string().contains("larder check-aof --fix"), "{err}");
    }
    // Garbage in the middle of the last incr file, with records after it.
    let mut bad = bytes.clone();
    bad[ends[0]] = b'x';
    write_set(dir.path(), &[], &bad);
    let err = load(dir.path(), &mut new_engine(&clock)).unwrap_err();
    assert!(
        matches!(err, AofLoadError::Corrupt { offset, .. } if offset == ends[0] as u64),
        "{err}"
    );
    // An unknown command.
    let mut unknown = bytes.clone();
    encode_command(&argv("NOSUCHCMD x"), &mut unknown);
    encode_command(&argv("SET d 4"), &mut unknown);
    write_set(dir.path(), &[], &unknown);
    let err = load(dir.path(), &mut new_engine(&clock)).unwrap_err();
    assert!(err.to_string().contains("unknown command 'NOSUCHCMD'"), "{err}");
    // Zeros after the last record (a power loss on some filesystems): a torn tail.
    let mut zeros = bytes.clone();
    zeros.extend_from_slice(&[0; 100]);
    write_set(dir.path(), &[], &zeros);
    let stats = load(dir.path(), &mut new_engine(&clock)).unwrap();
    assert_eq!(stats.truncated.map(|t| t.1), Some(bytes.len() as u64));
}

#[test]
fn check_reports_and_fixes_only_tails() {
    let dir = tempfile::tempdir().unwrap();
    let (bytes, ends) = small_aof(dir.path(), &["SET a 1", "MULTI", "SET b 2", "EXEC", "SET c 3"]);
    let path = dir.path().join(incr_name(1));
    let ok = check(&path, false).unwrap();
    assert!(ok.problem.is_none(), "{ok}");
    assert_eq!(ok.records, 5);
    // Torn inside the transaction: fixing truncates to before MULTI.
    std::fs::write(&path, &bytes[..ends[2] + 3]).unwrap();
    let r = check(&path, false).unwrap();
    assert!(r.tail_only && !r.fixed, "{r}");
    assert_eq!(r.valid_len, ends[0] as u64);
    let r = check(&path, true).unwrap();
    assert!(r.fixed, "{r}");
    assert_eq!(std::fs::metadata(&path).unwrap().len(), ends[0] as u64);
    assert!(check(&path, false).unwrap().problem.is_none());
    // Damage in the middle: reported, never fixed.
    let mut bad = bytes.clone();
    bad[ends[0] + 1] = b'?';
    std::fs::write(&path, &bad).unwrap();
    let r = check(&path, true).unwrap();
    assert!(!r.tail_only && !r.fixed, "{r}");
    assert_eq!(r.problem.as_ref().map(|p| p.0), Some(ends[0] as u64));
    assert!(r.to_string().contains("will not truncate"), "{r}");
    assert_eq!(std::fs::read(&path).unwrap(), bad);
    // The whole directory.
    std::fs::write(&path, &bytes[..bytes.len() - 2]).unwrap();
    let reports = check_dir(dir.path(), true).unwrap();
    assert_eq!(reports.len(), 2);
    assert!(reports[1].fixed);
}

#[test]
fn random_bytes_never_panic_the_loader_or_checker() {
    use rand::{Rng, SeedableRng};
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(T0);
    let (valid, _) =
        small_aof(dir.path(), &["SET a 1", "MULTI", "HSET h f v", "EXEC", "ZADD z 1 m"]);
    let mut rng = rand::rngs::SmallRng::seed_from_u64(7);
    // One engine for every round (a new one starts a Lua state, slow in debug builds).
    let mut engine = new_engine(&clock);
    let mut client = engine.new_client("x".into());
    for i in 0..600 {
        let data: Vec<u8> = if i % 3 == 0 {
            let n = rng.random_range(0..64);
            (0..n).map(|_| rng.random()).collect()
        } else {
            // Mutations of a valid file: flipped, inserted and deleted bytes.
            let mut d = valid.clone();
            for _ in 0..rng.random_range(1..4) {
                let at = rng.random_range(0..d.len());
                match rng.random_range(0..3) {
                    0 => d[at] = rng.random(),
                    1 => {
                        let alphabet = b"*$\r\n0123456789\0";
                        d.insert(at, alphabet[rng.random_range(0..alphabet.len())])
                    }
                    _ => {
                        d.remove(at);
                    }
                }
                if d.is_empty() {
                    break;
                }
            }
            d
        };
        let (base, incr) = if i % 2 == 0 { (&data[..], &b""[..]) } else { (&b""[..], &data[..]) };
        write_set(dir.path(), base, incr);
        engine.execute(&mut client, &argv("FLUSHALL"));
        let _ = load(dir.path(), &mut engine);
        let _ = check(&dir.path().join(incr_name(1)), false);
        for cut in 0..data.len().min(8) {
            let _ = super::record::parse(&data[cut..]);
        }
    }
}

// ---- rewrites ----

/// A rewrite interleaved with random writes, in tiny steps: base + new incr reload to the live keyspace.
fn rewrite_interleaved(seed: u64, flush_during: bool) {
    use rand::{Rng, SeedableRng};
    let mut rng = rand::rngs::SmallRng::seed_from_u64(seed);
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(T0);
    let mut live = Live::open(dir.path(), clock.clone(), config(FsyncPolicy::EverySec));
    live.run_argv(&[
        Bytes::from_static(b"FUNCTION"),
        Bytes::from_static(b"LOAD"),
        Bytes::from_static(b"#!lua name=lib\nredis.register_function('f',function() return 1 end)"),
    ]);
    let random_write = |live: &mut Live, rng: &mut rand::rngs::SmallRng| {
        let (op, k1, k2, n, adv): (u8, u8, u8, u16, u16) = rng.random();
        for line in random_command(op, k1, k2, n, live.clock.now_ms()) {
            if line == "FLUSHALL" && !flush_during {
                continue;
            }
            live.run_argv(&argv(&line));
        }
        if adv % 5 == 0 {
            live.clock.advance(u64::from(adv % 700));
        }
    };
    for i in 0..300 {
        random_write(&mut live, &mut rng);
        live.run(&format!("SET filler{i} {i}"));
        live.run(&format!("SADD bigset{} {i}", i % 3));
        live.run(&format!("RPUSH list{} {i}", i % 2));
        live.run(&format!("ZADD zset{} {i} m{i}", i % 2));
        live.run(&format!("HSET hash{} f{i} {i}", i % 2));
    }
    assert!(matches!(live.run("BGREWRITEAOF"), Reply::Simple(_)));
    assert!(live.engine.rewrite_snapshot_active());
    let mut steps = 0;
    while live.engine.rewrite_step_bounded(3, 4096) {
        for _ in 0..rng.random_range(0..4) {
            random_write(&mut live, &mut rng);
        }
        steps += 1;
    }
    assert!(flush_during || steps > 20, "the rewrite ran in {steps} steps");
    for _ in 0..50 {
        random_write(&mut live, &mut rng);
    }
    live.sync();
    live.wait_rewrite();
    for _ in 0..50 {
        random_write(&mut live, &mut rng);
    }
    let want = live.engine.canonical_dump();
    let info = live.aof.info();
    assert_eq!(info.rewrites, 1);
    assert!(info.last_bgrewrite_ok);
    live.aof.shutdown().unwrap();
    drop(live);
    // The manifest lists the new base and one incr file; older files are gone.
    let m = Manifest::load(dir.path()).unwrap().unwrap();
    assert_eq!(m.base.as_ref().unwrap().seq, 2);
    assert_eq!(m.incrs.len(), 1);
    let mut names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, [m.base.unwrap().name, m.incrs[0].name.clone(), manifest::MANIFEST.into()]);
    let (got, stats) = reload(dir.path(), &clock);
    assert_eq!(stats.command_errors, 0);
    assert_same(&got, &want);
}

#[test]
fn rewrite_interleaved_with_writes_reloads_to_the_live_keyspace() {
    for seed in 0..6 {
        rewrite_interleaved(seed, false);
    }
}

#[test]
fn rewrite_interleaved_with_flushall() {
    for seed in 10..16 {
        rewrite_interleaved(seed, true);
    }
}

#[test]
fn crash_during_a_rewrite_leaves_a_loadable_set() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(T0);
    let mut live = Live::open(dir.path(), clock.clone(), config(FsyncPolicy::Always));
    for i in 0..200 {
        live.run(&format!("SET k{i} {i}"));
        live.run(&format!("HSET h{} f{i} {i}", i % 7));
    }
    live.run("BGREWRITEAOF");
    live.engine.rewrite_step_bounded(10, 1024);
    for i in 0..50 {
        live.run(&format!("INCR k{i}"));
        live.run(&format!("DEL k{}", i + 100));
    }
    live.sync();
    let want = live.engine.canonical_dump();
    live.aof.simulate_crash();
    drop(live);
    let m = Manifest::load(dir.path()).unwrap().unwrap();
    assert_eq!(m.incrs.len(), 2, "the old set plus the new incr file");
    let (got, _) = reload(dir.path(), &clock);
    assert_same(&got, &want);
    // Opening again removes the abandoned base and goes on.
    let mut live = Live::open(dir.path(), clock.clone(), config(FsyncPolicy::Always));
    assert!(!dir.path().join(base_name(2)).exists());
    live.run("SET after crash");
    assert_eq!(
        live.run("BGREWRITEAOF"),
        Reply::simple("Background append only file rewriting started")
    );
    while live.engine.rewrite_step() {}
    live.sync();
    live.wait_rewrite();
    let want = live.engine.canonical_dump();
    live.aof.shutdown().unwrap();
    drop(live);
    assert_eq!(reload(dir.path(), &clock).0, want);
}

#[test]
fn automatic_rewrite_on_growth() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(T0);
    let cfg = AofConfig {
        auto_rewrite_percentage: 100,
        auto_rewrite_min_size: 4096,
        ..config(FsyncPolicy::Always)
    };
    let mut live = Live::open(dir.path(), clock.clone(), cfg);
    for i in 0..400 {
        live.run(&format!("SET k {i}"));
    }
    live.sync();
    assert!(live.aof.info().current_size > 4096);
    while live.engine.rewrite_step() {}
    live.wait_rewrite();
    let info = live.aof.info();
    assert_eq!(info.rewrites, 1);
    assert!(info.base_size < 100, "{info:?}");
    // Small now: no second rewrite.
    assert!(!live.engine.rewrite_step());
    assert_eq!(live.aof.info().rewrites, 1);
}

#[test]
fn bgrewriteaof_replies_and_info() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(T0);
    let mut live = Live::open(dir.path(), clock.clone(), config(FsyncPolicy::EverySec));
    live.run("SET a 1");
    assert_eq!(
        live.run("BGREWRITEAOF"),
        Reply::simple("Background append only file rewriting started")
    );
    assert!(
        matches!(live.run("BGREWRITEAOF"), Reply::Error(e) if e.contains("already in progress"))
    );
    let Reply::Verbatim(info) = live.run("INFO persistence") else { panic!() };
    let info = String::from_utf8_lossy(&info).into_owned();
    assert!(info.contains("aof_enabled:1\r\n"), "{info}");
    assert!(info.contains("aof_rewrite_in_progress:1\r\n"), "{info}");
    while live.engine.rewrite_step() {}
    live.wait_rewrite();
    let Reply::Verbatim(info) = live.run("INFO persistence") else { panic!() };
    let info = String::from_utf8_lossy(&info).into_owned();
    assert!(info.contains("aof_rewrite_in_progress:0\r\n"), "{info}");
    assert!(info.contains("aof_last_bgrewrite_status:ok\r\n"), "{info}");
    assert!(info.contains("aof_rewrites:1\r\n"), "{info}");
    assert!(info.contains("aof_base_size:"), "{info}");
    // Without an AOF.
    let mut plain = new_engine(&clock);
    let mut c = plain.new_client("x".into());
    assert!(
        matches!(plain.execute(&mut c, &argv("BGREWRITEAOF")), Reply::Error(e) if e.contains("disabled"))
    );
}

// ---- I/O errors ----

#[test]
fn write_errors_refuse_writes_keep_reads_and_recover() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(T0);
    let fail = Arc::new(AtomicBool::new(false));
    let cfg = AofConfig { fail_writes: Some(fail.clone()), ..config(FsyncPolicy::Always) };
    let mut live = Live::open(dir.path(), clock.clone(), cfg);
    live.run("SET a 1");
    live.sync();
    fail.store(true, Ordering::SeqCst);
    live.run("SET b 2");
    let off = live.aof.appended_offset();
    let err = live.aof.wait_durable(off).unwrap_err();
    assert_eq!(err.misconf(), "MISCONF Errors writing to the AOF file: No space left on device");
    // Writes are refused, reads work, transactions abort, scripts cannot write.
    assert_eq!(
        live.run("SET c 3"),
        Reply::Error("MISCONF Errors writing to the AOF file: No space left on device".into())
    );
    assert_eq!(live.run("GET a"), Reply::Bulk(Bytes::from_static(b"1")));
    assert_eq!(live.run("GET b"), Reply::Bulk(Bytes::from_static(b"2")));
    live.run("MULTI");
    assert!(matches!(live.run("SET c 3"), Reply::Error(e) if e.starts_with("MISCONF")));
    assert!(matches!(live.run("EXEC"), Reply::Error(e) if e.starts_with("EXECABORT")));
    assert!(matches!(
        live.run("EVAL redis.call('SET','c','3') 0"),
        Reply::Error(e) if e.contains("MISCONF")
    ));
    // The disk has room again: the error clears by itself and nothing was lost.
    fail.store(false, Ordering::SeqCst);
    let mut recovered = false;
    for _ in 0..500 {
        if !live.aof.is_failing() {
            recovered = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    assert!(recovered, "the error cleared");
    assert_eq!(live.run("SET c 3"), Reply::OK);
    live.sync();
    let want = live.engine.canonical_dump();
    assert_eq!(want.len(), 3);
    live.aof.shutdown().unwrap();
    drop(live);
    assert_eq!(reload(dir.path(), &clock).0, want);
}

#[test]
fn fsync_failure_rewrites_the_unsynced_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(T0);
    let fail = Arc::new(AtomicBool::new(false));
    let cfg = AofConfig { fail_writes: Some(fail.clone()), ..config(FsyncPolicy::EverySec) };
    let mut live = Live::open(dir.path(), clock.clone(), cfg);
    for i in 0..20 {
        live.run(&format!("SET k{i} {i}"));
    }
    // Written but not yet fsynced under everysec; the next fsync fails.
    std::thread::sleep(Duration::from_millis(50));
    fail.store(true, Ordering::SeqCst);
    assert!(live.aof.wait_durable(live.aof.appended_offset()).is_err());
    fail.store(false, Ordering::SeqCst);
    while live.aof.is_failing() {
        std::thread::sleep(Duration::from_millis(5));
    }
    live.sync();
    let want = live.engine.canonical_dump();
    live.aof.shutdown().unwrap();
    drop(live);
    let (got, stats) = reload(dir.path(), &clock);
    assert_same(&got, &want);
    assert!(stats.truncated.is_none());
}

#[test]
fn a_failed_rewrite_keeps_the_old_files() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(T0);
    let fail = Arc::new(AtomicBool::new(false));
    let cfg = AofConfig { fail_writes: Some(fail.clone()), ..config(FsyncPolicy::No) };
    let mut live = Live::open(dir.path(), clock.clone(), cfg);
    for i in 0..100 {
        live.run(&format!("SET k{i} {i}"));
    }
    live.sync();
    live.run("BGREWRITEAOF");
    live.engine.rewrite_step_bounded(5, 100);
    std::thread::sleep(Duration::from_millis(20));
    fail.store(true, Ordering::SeqCst);
    while live.engine.rewrite_step_bounded(5, 100) {
        std::thread::sleep(Duration::from_millis(1));
    }
    live.wait_rewrite();
    assert!(!live.aof.info().last_bgrewrite_ok);
    fail.store(false, Ordering::SeqCst);
    assert!(!live.engine.rewrite_snapshot_active());
    live.run("SET after 1");
    live.sync();
    let want = live.engine.canonical_dump();
    live.aof.shutdown().unwrap();
    drop(live);
    assert_eq!(reload(dir.path(), &clock).0, want);
    assert!(!dir.path().join(base_name(2)).exists());
}

// ---- waiting for durability ----

#[test]
fn concurrent_waiters_share_fsyncs() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(T0);
    let live = Live::open(dir.path(), clock.clone(), config(FsyncPolicy::Always));
    let engine = Arc::new(parking_lot::Mutex::new(live.engine));
    let aof = live.aof.clone();
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let (engine, aof) = (engine.clone(), aof.clone());
            std::thread::spawn(move || {
                let mut c = engine.lock().new_client("t".into());
                for i in 0..50 {
                    let off = {
                        let mut e = engine.lock();
                        e.execute(&mut c, &argv(&format!("SET t{t}:{i} x")));
                        aof.appended_offset()
                    };
                    aof.wait_durable(off).unwrap();
                    assert!(aof.durable_offset() >= off);
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    aof.shutdown().unwrap();
    assert_eq!(reload(dir.path(), &clock).0.len(), 400);
}

/// A minimal executor: polls a future on this thread, parking between wakes (no async runtime).
fn block_on<F: std::future::Future>(f: F) -> F::Output {
    use std::task::{Context, Poll, Wake, Waker};
    struct Unpark(std::thread::Thread);
    impl Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut f = std::pin::pin!(f);
    loop {
        if let Poll::Ready(v) = f.as_mut().poll(&mut cx) {
            return v;
        }
        std::thread::park_timeout(Duration::from_secs(5));
    }
}

#[test]
fn futures_wait_without_a_runtime_under_every_policy() {
    for policy in [FsyncPolicy::Always, FsyncPolicy::EverySec, FsyncPolicy::No] {
        let dir = tempfile::tempdir().unwrap();
        let clock = ManualClock::new(T0);
        let mut live = Live::open(dir.path(), clock.clone(), config(policy));
        live.run("SET a 1");
        let off = live.aof.appended_offset();
        assert!(off > 0);
        let started = std::time::Instant::now();
        block_on(live.aof.durable(off)).unwrap();
        assert!(started.elapsed() < Duration::from_millis(900), "{policy}: an fsync on demand");
        assert!(live.aof.durable_offset() >= off);
        live.aof.simulate_crash();
        live.run("SET b 2");
        assert_eq!(block_on(live.aof.durable(live.aof.appended_offset())), Err(AofError::Closed));
    }
}

#[test]
fn everysec_bursts_are_gathered_and_waiters_wake_a_napping_flusher() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(T0);
    let mut live = Live::open(dir.path(), clock.clone(), config(FsyncPolicy::EverySec));
    for round in 0..20 {
        // A burst of appends: the flusher writes the first and naps while the rest gather.
        for i in 0..50 {
            live.run(&format!("SET k{round}:{i} v"));
        }
        // A waiter must not wait out the nap, let alone the one-second fsync.
        let started = std::time::Instant::now();
        live.sync();
        assert!(started.elapsed() < Duration::from_millis(500), "round {round}");
    }
    live.aof.shutdown().unwrap();
    assert_eq!(reload(dir.path(), &clock).0.len(), 1000);
}

#[test]
fn everysec_syncs_within_about_a_second() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(T0);
    let mut live = Live::open(dir.path(), clock.clone(), config(FsyncPolicy::EverySec));
    live.run("SET a 1");
    let off = live.aof.appended_offset();
    let started = std::time::Instant::now();
    while live.aof.durable_offset() < off {
        assert!(started.elapsed() < Duration::from_millis(2500), "fsynced within ~1 s");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn opening_refuses_data_files_without_a_manifest() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(incr_name(3)), b"").unwrap();
    let err = AofLog::open(dir.path(), config(FsyncPolicy::No)).unwrap_err();
    assert!(err.to_string().contains("missing"), "{err}");
}

/// The keyspace hook when no rewrite runs: a test of a null pointer. This measures a write-heavy loop
/// with and without an active (already complete) snapshot; run with `--ignored --nocapture`.
#[test]
#[ignore]
fn hook_cost() {
    let clock = ManualClock::new(T0);
    let mut e = new_engine(&clock);
    let mut c = e.new_client("x".into());
    let cmds: Vec<Vec<Bytes>> =
        (0..100_000).map(|i| argv(&format!("SET k{} v", i % 1000))).collect();
    for round in 0..3 {
        let t = std::time::Instant::now();
        for a in &cmds {
            e.execute(&mut c, a);
        }
        println!("round {round}: no snapshot: {:?}/command", t.elapsed() / cmds.len() as u32);
    }
}

#[test]
fn streams_replay_and_rewrite_to_the_same_keyspace() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(T0);
    let mut live = Live::open(dir.path(), clock.clone(), config(FsyncPolicy::Always));
    let mut cmds = vec![
        "XADD s * a 1".to_string(),
        "XADD s * b 2 c 3".into(),
        "XADD s 1800000000000-* d 4".into(),
        "XGROUP CREATE s g 0".into(),
        "XGROUP CREATE s g2 $ MKSTREAM".into(),
        "XGROUP CREATE empty g 0 MKSTREAM".into(),
        "XGROUP CREATECONSUMER s g idle".into(),
        "XREADGROUP GROUP g alice COUNT 2 STREAMS s >".into(),
        "XREADGROUP GROUP g2 bob NOACK STREAMS s >".into(),
        "XCLAIM s g carol 0 1700000000000-0 IDLE 50 RETRYCOUNT 4".into(),
        "XADD s * e 5".into(),
        "XDEL s 1700000000000-1".into(),
        "XAUTOCLAIM s g dave 0 0".into(),
        "XSETID empty 5-5 ENTRIESADDED 9 MAXDELETEDID 4-4".into(),
    ];
    for i in 0..250 {
        cmds.push(format!("XADD t MAXLEN ~ 120 * n {i}"));
    }
    cmds.push("XTRIM t MINID ~ 1700000000000-150".into());
    for line in &cmds {
        assert!(!matches!(live.run(line), Reply::Error(_)), "{line}");
        clock.advance(3);
    }
    live.sync();
    let want = live.engine.canonical_dump();
    assert!(want.iter().any(|l| l.starts_with("s stream ")), "{want:?}");
    let (got, stats) = reload(dir.path(), &clock);
    assert_eq!(stats.command_errors, 0);
    assert_same(&got, &want);
    assert!(matches!(live.run("BGREWRITEAOF"), Reply::Simple(_)));
    while live.engine.rewrite_step_bounded(1, 64) {}
    live.sync();
    live.wait_rewrite();
    live.aof.shutdown().unwrap();
    drop(live);
    let (got, stats) = reload(dir.path(), &clock);
    assert_eq!(stats.command_errors, 0);
    assert_same(&got, &want);
}
