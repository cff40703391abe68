//! The differential test: a fixed seed against a real redis-server (CI runs it with `--ignored`), and a
//! smoke test of the harness itself (larder against a second larder) that needs no Redis.

use larder_difftest::{Conn, InProcessLarder, Options, run};

/// The seed CI runs. Changing it changes the command stream; any seed must pass.
const SEED: u64 = 20_250_601;
/// Bounded so the debug build finishes in well under 30 s.
const COUNT: usize = 5000;

#[test]
#[ignore = "needs redis-server: LARDER_TEST_REDIS=127.0.0.1:PORT cargo test -p larder-difftest -- --ignored"]
fn larder_matches_redis() {
    let addr = std::env::var("LARDER_TEST_REDIS")
        .expect("LARDER_TEST_REDIS=host:port of a disposable redis-server (it is FLUSHALLed)");
    let larder = InProcessLarder::start().expect("start larder");
    let redis = Conn::connect("redis", &addr, None).expect("connect to redis-server");
    let mut opts = Options::new(SEED, COUNT);
    // Report every mismatch (resynchronising after each), shrink the first.
    opts.all = true;
    opts.max_shrink = 1;
    let report = run(&opts, larder.connect().expect("connect to larder"), redis).expect("run");
    println!("{}", report.summary());
    assert!(
        report.mismatches.is_empty(),
        "{} mismatches between larder and redis-server (seed {SEED}); details above. Rerun by hand: \
         cargo run -p larder-difftest -- --seed {SEED} --count {COUNT} --redis {addr}",
        report.mismatches.len()
    );
}

/// Two larders must agree on everything deterministic, and random replies must follow the rules on
/// both: this exercises the generator, the runner, the resynchronisation and the comparison end to end.
#[test]
fn larder_agrees_with_itself() {
    let a = InProcessLarder::start().expect("start larder a");
    let b = InProcessLarder::start().expect("start larder b");
    let mut opts = Options::new(7, 1500);
    opts.shrink = false;
    let report = run(&opts, a.connect().unwrap(), b.connect().unwrap()).expect("run");
    println!("{}", report.summary());
    assert!(report.mismatches.is_empty(), "larder disagrees with itself");
    assert!(report.stats.values().map(|s| s.run).sum::<usize>() > 1000);
    assert!(report.stats.contains_key("SET"));
}
