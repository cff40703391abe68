//! `Gcra`.

use std::time::Duration;

use larder_ratelimit::{Gcra, LimitOptions, Reason, Remaining};

use crate::support::{FakeClock, pttl, server};

const HOUR: Duration = Duration::from_secs(3600);
const T0: u64 = 1_700_000_000_000;

#[tokio::test]
async fn server_clock_bursts_then_exact_retry_time() {
    let (_s, redis) = server().await;
    // 10 per hour (one every 360 s), bursts of 3.
    let g = Gcra::builder(redis.clone(), 10, HOUR).burst(3).prefix("g").build().unwrap();
    assert_eq!((g.limit_per_period(), g.burst(), g.period()), (10, 3, HOUR));
    assert_eq!(g.key("u"), "g:gcra:u");
    let before = larder_ratelimit::now_ms();
    assert_eq!(g.get_remaining("u").await.unwrap().remaining, 3);
    for left in [2, 1, 0] {
        let r = g.limit("u").await.unwrap();
        assert_eq!((r.success, r.remaining, r.limit), (true, left, 3));
    }
    let ttl = pttl(&redis, "g:gcra:u").await;
    assert!(ttl > 1_070_000 && ttl <= 1_080_000, "{ttl}");
    let r = g.limit("u").await.unwrap();
    assert!(!r.success);
    let after = larder_ratelimit::now_ms();
    // The next unit comes 360 s after the first.
    assert!(r.reset >= before + 359_000 && r.reset <= after + 360_000, "{} {before}", r.reset);
    // Blocked locally until then.
    assert_eq!(g.limit("u").await.unwrap().reason, Some(Reason::CacheBlock));
    let rem = g.get_remaining("u").await.unwrap();
    assert_eq!((rem.remaining, rem.limit), (0, 3));
    assert!(rem.reset >= before + 1_070_000 && rem.reset <= after + 1_080_000);
    g.reset_used_tokens("u").await.unwrap();
    assert_eq!(pttl(&redis, "g:gcra:u").await, -2);
    assert!(g.limit("u").await.unwrap().success);
}

#[tokio::test]
async fn client_clock_refills_continuously() {
    let (_s, redis) = server().await;
    let clock = FakeClock::at(T0);
    // 2 per second: one unit every 500 ms, bursts of 2.
    let g = Gcra::builder(redis.clone(), 2, Duration::from_secs(1))
        .prefix("gc")
        .clock(clock.func())
        .no_ephemeral_cache()
        .build()
        .unwrap();
    assert_eq!(g.limit("u").await.unwrap().remaining, 1);
    let r = g.limit("u").await.unwrap();
    assert_eq!((r.success, r.remaining, r.reset), (true, 0, T0 + 1000));
    let r = g.limit("u").await.unwrap();
    assert_eq!((r.success, r.reset), (false, T0 + 500));
    clock.advance(499);
    assert!(!g.limit("u").await.unwrap().success);
    clock.advance(1);
    assert!(g.limit("u").await.unwrap().success);
    clock.advance(250);
    assert_eq!(
        g.get_remaining("u").await.unwrap(),
        Remaining { remaining: 0, reset: T0 + 1500, limit: 2 }
    );
    // Refund one unit.
    let r = g.limit_with("u", LimitOptions::new().rate(-1)).await.unwrap();
    assert_eq!((r.success, r.remaining), (true, 1));
    // A cost above the burst can never pass.
    assert!(!g.limit_with("u", LimitOptions::new().rate(3)).await.unwrap().success);
    // Rate 0 only checks.
    clock.advance(10_000);
    let r = g.limit_with("u", LimitOptions::new().rate(0)).await.unwrap();
    assert_eq!((r.success, r.remaining), (true, 2));
    assert_eq!(pttl(&redis, "gc:gcra:u").await, -2);
}

#[tokio::test]
async fn block_until_ready_sleeps_until_the_retry_time() {
    let (_s, redis) = server().await;
    let g = Gcra::builder(redis.clone(), 5, Duration::from_secs(1))
        .burst(1)
        .prefix("gb")
        .build()
        .unwrap();
    assert!(g.limit("u").await.unwrap().success);
    let start = std::time::Instant::now();
    let r = g.block_until_ready("u", Duration::from_secs(3)).await.unwrap();
    assert!(r.success);
    let took = start.elapsed();
    assert!(took >= Duration::from_millis(150) && took < Duration::from_secs(2), "{took:?}");
    assert!(Gcra::new(redis.clone(), 0, HOUR).is_err());
    assert!(format!("{g:?}").contains("Gcra"));
}
