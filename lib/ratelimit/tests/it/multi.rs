//! `MultiRegionRatelimit` over three larder instances.

use std::time::Duration;

use larder_ratelimit::{MultiRegionRatelimit, Ratelimit, Reason, Remaining, analytics};
use larder_redis::Redis;
use larder_test_support::{TOKEN, TestServer};

use crate::support::{FakeClock, server};

const HOUR: Duration = Duration::from_secs(3600);
const T0: u64 = 1_700_000_000_000;

async fn regions(n: usize) -> (Vec<TestServer>, Vec<Redis>) {
    let mut servers = Vec::new();
    let mut clients = Vec::new();
    for _ in 0..n {
        let (s, r) = server().await;
        servers.push(s);
        clients.push(r);
    }
    (servers, clients)
}

async fn hlen(redis: &Redis, key: &str) -> i64 {
    redis.hlen(key).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fixed_window_over_three_regions() {
    let (_s, rs) = regions(3).await;
    let clock = FakeClock::at(T0);
    let rl = MultiRegionRatelimit::builder(rs.clone(), Ratelimit::fixed_window(3, HOUR))
        .prefix("mr")
        .analytics(true)
        .clock(clock.func())
        .build()
        .unwrap();
    let w = T0 / 3_600_000;
    let key = format!("mr:u:{w}");
    let reset = (w + 1) * 3_600_000;
    for left in [2, 1, 0] {
        let r = rl.limit("u").await.unwrap();
        assert_eq!((r.success, r.remaining, r.limit, r.reset), (true, left, 3, reset));
        r.pending.wait().await.unwrap();
    }
    let r = rl.limit("u").await.unwrap();
    assert!(!r.success);
    r.pending.wait().await.unwrap();
    assert_eq!(rl.limit("u").await.unwrap().reason, Some(Reason::CacheBlock));
    // Every region recorded every request (always, even rejected ones), with a TTL.
    for redis in &rs {
        assert_eq!(hlen(redis, &key).await, 4);
        let ttl = redis.pttl(&key).await.unwrap();
        assert!(ttl > 3_590_000 && ttl <= 3_600_000, "{ttl}");
    }
    assert_eq!(rl.get_remaining("u").await.unwrap(), Remaining { remaining: 0, reset, limit: 3 });
    // Analytics go to the first region only.
    // (The limiter's clock decides the hour bucket.)
    let akey = analytics::bucket_key("mr", T0);
    assert_eq!(rs[0].zcard(&akey).await.unwrap(), 2);
    assert_eq!(rs[1].zcard(&akey).await.unwrap(), 0);

    rl.reset_used_tokens("u").await.unwrap();
    for redis in &rs {
        assert_eq!(hlen(redis, &key).await, 0);
    }
    assert!(rl.limit("u").await.unwrap().success);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_copies_missing_request_ids() {
    let (_s, rs) = regions(3).await;
    let clock = FakeClock::at(T0);
    let rl = MultiRegionRatelimit::builder(rs.clone(), Ratelimit::fixed_window(10, HOUR))
        .prefix("sy")
        .clock(clock.func())
        .build()
        .unwrap();
    let key = format!("sy:u:{}", T0 / 3_600_000);
    // A request only region 2 has seen.
    rs[1].hset(&key, "onlyInRegion2", 1).await.unwrap();
    let r = rl.limit("u").await.unwrap();
    assert!(r.success);
    r.pending.wait().await.unwrap();
    for redis in &rs {
        assert_eq!(hlen(redis, &key).await, 2);
        assert_eq!(redis.hget::<i64>(&key, "onlyInRegion2").await.unwrap(), Some(1));
    }
    assert_eq!(rl.get_remaining("u").await.unwrap().remaining, 8);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sliding_window_over_three_regions() {
    let (_s, rs) = regions(3).await;
    let win = 10_000u64;
    let w = T0 / win;
    // 25 % into the window; 4 requests in the previous window → ceil(0.75 * 4) = 3 count.
    let clock = FakeClock::at(w * win + 2_500);
    let prev = format!("sw:u:{}", w - 1);
    for redis in &rs {
        for id in ["a", "b", "c", "d"] {
            redis.hset(&prev, id, 1).await.unwrap();
        }
    }
    let rl = MultiRegionRatelimit::builder(
        rs.clone(),
        Ratelimit::sliding_window(5, Duration::from_millis(win)),
    )
    .prefix("sw")
    .clock(clock.func())
    .build()
    .unwrap();
    // The script's check is unrounded: 3 (0.75 * 4) + 0 + 1 <= 5 → allowed; remaining uses ceil.
    let r = rl.limit("u").await.unwrap();
    assert_eq!((r.success, r.remaining, r.reset), (true, 1, (w + 1) * win));
    r.pending.wait().await.unwrap();
    let r = rl.limit("u").await.unwrap();
    assert_eq!((r.success, r.remaining), (true, 0));
    r.pending.wait().await.unwrap();
    let r = rl.limit("u").await.unwrap();
    assert!(!r.success);
    r.pending.wait().await.unwrap();
    let cur = format!("sw:u:{w}");
    for redis in &rs {
        // Rejected requests are not recorded.
        assert_eq!(hlen(redis, &cur).await, 2);
        let ttl = redis.pttl(&cur).await.unwrap();
        assert!(ttl > 20_000 && ttl <= 21_000, "{ttl}");
    }
    // getRemaining floors the previous window: 5 - (2 + floor(3.0)) = 0.
    assert_eq!(rl.get_remaining("u").await.unwrap().remaining, 0);
    clock.advance(win);
    // Next window: the previous (2 requests) weighs 0.75 * 2 = 1.5.
    let r = rl.limit("u").await.unwrap();
    assert!(r.success);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_region_does_not_stop_the_others() {
    let (_s, mut rs) = regions(2).await;
    // Connection refused, no retries.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    rs.insert(0, Redis::builder(dead, TOKEN).retries(0).telemetry(false).build().unwrap());
    let rl = MultiRegionRatelimit::builder(rs.clone(), Ratelimit::fixed_window(2, HOUR))
        .prefix("dead")
        .build()
        .unwrap();
    let r = rl.limit("u").await.unwrap();
    assert!(r.success);
    // The sync needs every region: its error surfaces in pending.
    assert!(r.pending.wait().await.is_err());
    assert_eq!(rl.get_remaining("u").await.unwrap().remaining, 1);
    // All regions dead: an error.
    let only_dead =
        MultiRegionRatelimit::new(vec![rs[0].clone()], Ratelimit::fixed_window(2, HOUR)).unwrap();
    assert!(matches!(
        only_dead.limit("u").await,
        Err(larder_ratelimit::Error::AllRegionsFailed(_))
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn configuration_errors_and_block_until_ready() {
    let (_s, rs) = regions(1).await;
    assert!(MultiRegionRatelimit::new(vec![], Ratelimit::fixed_window(1, HOUR)).is_err());
    assert!(MultiRegionRatelimit::new(rs.clone(), Ratelimit::token_bucket(1, HOUR, 1)).is_err());
    assert!(
        MultiRegionRatelimit::new(rs.clone(), Ratelimit::cached_fixed_window(1, HOUR)).is_err()
    );
    let rl = MultiRegionRatelimit::builder(
        rs.clone(),
        Ratelimit::sliding_window(1, Duration::from_millis(400)),
    )
    .prefix("mbur")
    .no_ephemeral_cache()
    .build()
    .unwrap();
    assert_eq!(rl.regions().len(), 1);
    assert_eq!(rl.prefix(), "mbur");
    assert_eq!(rl.algorithm().limit(), 1);
    assert!(format!("{rl:?}").contains("MultiRegionRatelimit"));
    assert!(rl.limit("u").await.unwrap().success);
    let r = rl.block_until_ready("u", Duration::from_secs(5)).await.unwrap();
    assert!(r.success);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_region_allows_exactly_50_of_200() {
    let (_s, rs) = regions(1).await;
    for (name, algo) in [
        ("fixed", Ratelimit::fixed_window(50, HOUR)),
        ("sliding", Ratelimit::sliding_window(50, HOUR)),
    ] {
        let rl = MultiRegionRatelimit::builder(rs.clone(), algo.clone())
            .prefix(format!("m200:{name}"))
            .timeout(Duration::ZERO)
            .build()
            .unwrap();
        let tasks: Vec<_> = (0..200)
            .map(|_| {
                let rl = rl.clone();
                tokio::spawn(async move { rl.limit("burst").await.unwrap().success })
            })
            .collect();
        let mut allowed = 0;
        for t in tasks {
            allowed += usize::from(t.await.unwrap());
        }
        assert_eq!(allowed, 50, "{algo:?}");
    }
}
