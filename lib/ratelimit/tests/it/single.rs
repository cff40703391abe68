//! `Ratelimit`: the four `@upstash/ratelimit` algorithms and every public method.

use std::time::Duration;

use larder_ratelimit::{
    Algorithm, EphemeralCache, LimitOptions, OnTimeout, Ratelimit, Reason, Remaining, analytics,
};
use larder_redis::Redis;

use crate::support::{FakeClock, black_hole, get_int, pttl, server};

const HOUR: Duration = Duration::from_secs(3600);
// 2023-11-14T22:13:20Z, 10 minutes into an hour: far from any 1 h window boundary.
const T0: u64 = 1_700_000_000_000;

fn limiter(redis: &Redis, algo: Algorithm, clock: &FakeClock) -> Ratelimit {
    Ratelimit::builder(redis.clone(), algo).prefix("rl").clock(clock.func()).build().unwrap()
}

#[tokio::test]
async fn fixed_window_counts_and_blocks() {
    let (_s, redis) = server().await;
    let clock = FakeClock::at(T0);
    let rl = limiter(&redis, Ratelimit::fixed_window(3, HOUR), &clock);
    let w = T0 / 3_600_000;
    let reset = (w + 1) * 3_600_000;
    for left in [2, 1, 0] {
        let r = rl.limit("alice").await.unwrap();
        assert!(r.success);
        assert_eq!((r.limit, r.remaining, r.reset, r.reason), (3, left, reset, None));
        assert!(r.pending.is_empty());
    }
    let r = rl.limit("alice").await.unwrap();
    assert!(!r.success);
    assert_eq!((r.limit, r.remaining, r.reset, r.reason), (3, 0, reset, None));
    // Now blocked in the ephemeral cache: no Redis call, so the counter stays at 4.
    let r = rl.limit("alice").await.unwrap();
    assert_eq!((r.success, r.reason, r.reset), (false, Some(Reason::CacheBlock), reset));
    let key = format!("rl:alice:{w}");
    assert_eq!(get_int(&redis, &key).await, Some(4));
    let ttl = pttl(&redis, &key).await;
    assert!(ttl > 3_590_000 && ttl <= 3_600_000, "{ttl}");
    // A refund is never cache-blocked, and a successful refund unblocks.
    let r = rl.limit_with("alice", LimitOptions::new().rate(-2)).await.unwrap();
    assert!(r.success);
    assert_eq!(r.remaining, 1);
    assert!(rl.limit("alice").await.unwrap().success);
    // Other identifiers are independent.
    assert_eq!(rl.limit("bob").await.unwrap().remaining, 2);
}

#[tokio::test]
async fn fixed_window_without_cache_counts_rejections() {
    let (_s, redis) = server().await;
    let clock = FakeClock::at(T0);
    let rl = Ratelimit::builder(redis.clone(), Ratelimit::fixed_window(1, HOUR))
        .prefix("nc")
        .no_ephemeral_cache()
        .clock(clock.func())
        .build()
        .unwrap();
    assert!(rl.ephemeral_cache().is_none());
    for _ in 0..3 {
        rl.limit("x").await.unwrap();
    }
    assert_eq!(get_int(&redis, &format!("nc:x:{}", T0 / 3_600_000)).await, Some(3));
    // A new window starts from zero.
    clock.advance(3_600_000);
    assert!(rl.limit("x").await.unwrap().success);
}

#[tokio::test]
async fn sliding_window_weights_the_previous_window() {
    let (_s, redis) = server().await;
    let win = 10_000u64;
    let w = T0 / win;
    // 25 % into window w.
    let clock = FakeClock::at(w * win + 2_500);
    let rl = limiter(&redis, Ratelimit::sliding_window(10, Duration::from_millis(win)), &clock);
    redis.set(format!("rl:u:{}", w - 1), 10).await.unwrap();
    // floor(0.75 * 10) = 7 used from before; this request makes 8.
    let r = rl.limit("u").await.unwrap();
    assert!(r.success);
    assert_eq!((r.remaining, r.limit, r.reset), (2, 10, (w + 1) * win));
    let ttl = pttl(&redis, &format!("rl:u:{w}")).await;
    assert!(ttl > 20_000 && ttl <= 21_000, "{ttl}");
    assert_eq!(
        rl.get_remaining("u").await.unwrap(),
        Remaining { remaining: 2, reset: (w + 1) * win, limit: 10 }
    );
    assert!(rl.limit("u").await.unwrap().success);
    assert!(rl.limit("u").await.unwrap().success);
    let r = rl.limit("u").await.unwrap();
    assert!(!r.success);
    // Rejected by the "already full" check: not counted.
    assert_eq!(get_int(&redis, &format!("rl:u:{w}")).await, Some(3));
    // An overshooting rate is rejected but counted (upstream behaviour).
    let other = limiter(&redis, Ratelimit::sliding_window(3, Duration::from_millis(win)), &clock);
    let r = other.limit_with("big", LimitOptions::new().rate(5)).await.unwrap();
    assert!(!r.success);
    assert_eq!(get_int(&redis, &format!("rl:big:{w}")).await, Some(5));
}

#[tokio::test]
async fn token_bucket_refills_stepwise() {
    let (_s, redis) = server().await;
    let clock = FakeClock::at(T0);
    let rl = limiter(&redis, Ratelimit::token_bucket(1, Duration::from_secs(10), 3), &clock);
    let rem = rl.get_remaining("tb").await.unwrap();
    assert_eq!(rem, Remaining { remaining: 3, reset: T0 + 10_000, limit: 3 });
    for left in [2, 1, 0] {
        let r = rl.limit("tb").await.unwrap();
        assert!(r.success);
        assert_eq!((r.remaining, r.reset, r.limit), (left, T0 + 10_000, 3));
    }
    let fields: std::collections::HashMap<String, String> = redis.hgetall("rl:tb").await.unwrap();
    assert_eq!(fields["refilledAt"], T0.to_string());
    assert_eq!(fields["tokens"], "0");
    // ceil((3 - 0) / 1) * 10 s
    let ttl = pttl(&redis, "rl:tb").await;
    assert!(ttl > 29_000 && ttl <= 30_000, "{ttl}");
    let r = rl.limit("tb").await.unwrap();
    assert!(!r.success);
    assert_eq!(r.reset, T0 + 10_000);
    assert_eq!(rl.get_remaining("tb").await.unwrap().remaining, 0);
    // Two intervals later: two tokens back (the cache block ended at the first refill).
    clock.advance(20_500);
    let r = rl.limit("tb").await.unwrap();
    assert!(r.success);
    assert_eq!((r.remaining, r.reset), (1, T0 + 30_000));
    // 2.2.0: a rate larger than the tokens left is rejected without consuming.
    let r = rl.limit_with("tb", LimitOptions::new().rate(5)).await.unwrap();
    assert!(!r.success);
    let fields: std::collections::HashMap<String, String> = redis.hgetall("rl:tb").await.unwrap();
    assert_eq!(fields["tokens"], "1");
}

#[tokio::test]
async fn cached_fixed_window_decides_locally_after_the_first_call() {
    let (_s, redis) = server().await;
    let clock = FakeClock::at(T0);
    let rl = limiter(&redis, Ratelimit::cached_fixed_window(3, HOUR), &clock);
    let key = format!("rl:c:{}", T0 / 3_600_000);
    let r = rl.limit("c").await.unwrap();
    assert!(r.success && r.pending.is_empty());
    assert_eq!(r.remaining, 2);
    assert_eq!(get_int(&redis, &key).await, Some(1));
    // The counter expires (unlike upstream's).
    assert!(pttl(&redis, &key).await > 3_590_000);
    // Cache hits: decided locally, Redis incremented in the background.
    let r = rl.limit("c").await.unwrap();
    assert!(r.success && !r.pending.is_empty());
    r.pending.wait().await.unwrap();
    let r = rl.limit("c").await.unwrap();
    assert_eq!((r.success, r.remaining), (true, 0));
    r.pending.wait().await.unwrap();
    let r = rl.limit("c").await.unwrap();
    assert!(!r.success && r.pending.is_empty());
    assert_eq!(get_int(&redis, &key).await, Some(3));
    assert_eq!(rl.get_remaining("c").await.unwrap().remaining, 0);
    // Shared with fixed_window's counter, and readable by a fresh instance.
    let fresh = limiter(&redis, Ratelimit::cached_fixed_window(3, HOUR), &clock);
    assert_eq!(fresh.get_remaining("c").await.unwrap().remaining, 0);
    let fixed = limiter(&redis, Ratelimit::fixed_window(3, HOUR), &clock);
    assert_eq!(fixed.get_remaining("c").await.unwrap().remaining, 0);
    // It needs a cache.
    let err = Ratelimit::builder(redis.clone(), Ratelimit::cached_fixed_window(3, HOUR))
        .no_ephemeral_cache()
        .build()
        .unwrap_err();
    assert!(err.to_string().contains("ephemeral cache"), "{err}");
    rl.reset_used_tokens("c").await.unwrap();
    assert_eq!(get_int(&redis, &key).await, None);
    assert_eq!(rl.limit("c").await.unwrap().remaining, 2);
}

#[tokio::test]
async fn get_remaining_for_each_algorithm() {
    let (_s, redis) = server().await;
    let clock = FakeClock::at(T0);
    let reset = (T0 / 3_600_000 + 1) * 3_600_000;
    for (i, algo) in [
        Ratelimit::fixed_window(5, HOUR),
        Ratelimit::sliding_window(5, HOUR),
        Ratelimit::cached_fixed_window(5, HOUR),
    ]
    .into_iter()
    .enumerate()
    {
        let rl = Ratelimit::builder(redis.clone(), algo)
            .prefix(format!("gr{i}"))
            .clock(clock.func())
            .build()
            .unwrap();
        assert_eq!(
            rl.get_remaining("id").await.unwrap(),
            Remaining { remaining: 5, reset, limit: 5 }
        );
        rl.limit_with("id", LimitOptions::new().rate(2))
            .await
            .unwrap()
            .pending
            .wait()
            .await
            .unwrap();
        assert_eq!(
            rl.get_remaining("id").await.unwrap(),
            Remaining { remaining: 3, reset, limit: 5 }
        );
    }
}

#[tokio::test]
async fn reset_used_tokens_deletes_the_keys_and_unblocks() {
    let (_s, redis) = server().await;
    let clock = FakeClock::at(T0);
    for (i, algo) in [
        Ratelimit::fixed_window(1, HOUR),
        Ratelimit::sliding_window(1, HOUR),
        Ratelimit::token_bucket(1, HOUR, 1),
    ]
    .into_iter()
    .enumerate()
    {
        let prefix = format!("rs{i}");
        let rl = Ratelimit::builder(redis.clone(), algo)
            .prefix(&prefix)
            .clock(clock.func())
            .build()
            .unwrap();
        assert!(rl.limit("id").await.unwrap().success);
        assert!(!rl.limit("id").await.unwrap().success);
        assert_eq!(rl.limit("id").await.unwrap().reason, Some(Reason::CacheBlock));
        // A neighbour that must survive.
        rl.limit("other").await.unwrap();
        rl.reset_used_tokens("id").await.unwrap();
        assert!(rl.ephemeral_cache().unwrap().blocked_until(&format!("{prefix}:id"), T0).is_none());
        let keys: Vec<String> = redis.keys(format!("{prefix}:*")).await.unwrap();
        assert!(keys.iter().all(|k| k.starts_with(&format!("{prefix}:other"))), "{keys:?}");
        assert!(!keys.is_empty());
        assert!(rl.limit("id").await.unwrap().success);
    }
}

#[tokio::test]
async fn block_until_ready_waits_for_the_next_window() {
    let (_s, redis) = server().await;
    let rl =
        Ratelimit::builder(redis.clone(), Ratelimit::fixed_window(1, Duration::from_millis(500)))
            .prefix("bur")
            .build()
            .unwrap();
    assert!(rl.limit("id").await.unwrap().success);
    let start = std::time::Instant::now();
    let r = rl.block_until_ready("id", Duration::from_secs(5)).await.unwrap();
    assert!(r.success);
    assert!(start.elapsed() < Duration::from_secs(2));
    // Too short a deadline: the last (failed) response.
    let slow = Ratelimit::builder(redis.clone(), Ratelimit::fixed_window(1, HOUR))
        .prefix("bur2")
        .build()
        .unwrap();
    assert!(slow.limit("id").await.unwrap().success);
    let start = std::time::Instant::now();
    let r = slow.block_until_ready("id", Duration::from_millis(300)).await.unwrap();
    assert!(!r.success);
    let took = start.elapsed();
    assert!(took >= Duration::from_millis(250) && took < Duration::from_secs(2), "{took:?}");
    assert!(slow.block_until_ready("id", Duration::ZERO).await.is_err());
}

#[tokio::test]
async fn timeout_allows_or_denies_as_configured() {
    let (url, _hole) = black_hole().await;
    let redis = Redis::builder(url, "t").retries(0).telemetry(false).build().unwrap();
    for (on_timeout, success) in [(OnTimeout::Allow, true), (OnTimeout::Deny, false)] {
        let rl = Ratelimit::builder(redis.clone(), Ratelimit::fixed_window(1, HOUR))
            .timeout(Duration::from_millis(200))
            .on_timeout(on_timeout)
            .build()
            .unwrap();
        let start = std::time::Instant::now();
        let r = rl.limit("id").await.unwrap();
        assert!(start.elapsed() < Duration::from_secs(2));
        assert_eq!(
            (r.success, r.reason, r.limit, r.remaining, r.reset),
            (success, Some(Reason::Timeout), 0, 0, 0)
        );
    }
}

#[tokio::test]
async fn redis_errors_are_errors() {
    let (_s, redis) = server().await;
    let clock = FakeClock::at(T0);
    // A fractional rate cannot INCRBY: the Redis error comes back as is.
    redis.set(format!("rl:s:{}", T0 / 3_600_000), "not a number").await.unwrap();
    let rl = limiter(&redis, Ratelimit::fixed_window(3, HOUR), &clock);
    let err = rl.limit("s").await.unwrap_err();
    assert!(err.to_string().contains("not an integer"), "{err}");
}

#[tokio::test]
async fn dynamic_limits_override_the_configured_limit() {
    let (_s, redis) = server().await;
    let clock = FakeClock::at(T0);
    let plain = limiter(&redis, Ratelimit::fixed_window(10, HOUR), &clock);
    assert!(plain.set_dynamic_limit(Some(2)).await.is_err());
    assert!(plain.get_dynamic_limit().await.is_err());
    for (i, algo) in [
        Ratelimit::fixed_window(10, HOUR),
        Ratelimit::sliding_window(10, HOUR),
        Ratelimit::token_bucket(1, HOUR, 10),
    ]
    .into_iter()
    .enumerate()
    {
        let rl = Ratelimit::builder(redis.clone(), algo)
            .prefix(format!("dyn{i}"))
            .dynamic_limits(true)
            .clock(clock.func())
            .build()
            .unwrap();
        assert_eq!(rl.get_dynamic_limit().await.unwrap(), None);
        assert_eq!(rl.limit("id").await.unwrap().limit, 10);
        rl.set_dynamic_limit(Some(2)).await.unwrap();
        assert_eq!(rl.get_dynamic_limit().await.unwrap(), Some(2));
        assert_eq!(
            redis.get::<String>(format!("dyn{i}:dynamic:global")).await.unwrap().as_deref(),
            Some("2")
        );
        let r = rl.limit("id").await.unwrap();
        assert_eq!((r.success, r.limit), (true, 2));
        assert_eq!(rl.get_remaining("id").await.unwrap().limit, 2);
        if i < 2 {
            // Windows: 2 used of 2. (A token bucket keeps the tokens it has until its next refill.)
            assert!(!rl.limit("id").await.unwrap().success);
        }
        rl.set_dynamic_limit(None).await.unwrap();
        assert_eq!(rl.get_dynamic_limit().await.unwrap(), None);
    }
}

#[tokio::test]
async fn analytics_are_recorded_like_javascript() {
    let (_s, redis) = server().await;
    let rl = Ratelimit::builder(redis.clone(), Ratelimit::fixed_window(1, HOUR))
        .prefix("an")
        .analytics(true)
        .build()
        .unwrap();
    let now = larder_ratelimit::now_ms();
    rl.limit("127.0.0.1").await.unwrap().pending.wait().await.unwrap();
    rl.limit("127.0.0.1").await.unwrap().pending.wait().await.unwrap();
    let r = rl
        .limit_with("127.0.0.1", LimitOptions::new().geo("country", "DE").geo("city", "Berlin"))
        .await
        .unwrap();
    assert_eq!(r.reason, Some(Reason::CacheBlock));
    r.pending.wait().await.unwrap();
    let key = analytics::bucket_key("an", now);
    assert_eq!(key, format!("an:events:{}", now / 3_600_000 * 3_600_000));
    let members: Vec<(String, f64)> = redis.zrange_withscores(&key, 0, -1).await.unwrap();
    let mut members: Vec<(String, u64)> = members.into_iter().map(|(m, s)| (m, s as u64)).collect();
    members.sort();
    assert_eq!(
        members,
        [
            (
                r#"{"identifier":"127.0.0.1","success":false,"country":"DE","city":"Berlin"}"#
                    .into(),
                1
            ),
            (r#"{"identifier":"127.0.0.1","success":false}"#.into(), 1),
            (r#"{"identifier":"127.0.0.1","success":true}"#.into(), 1),
        ]
    );
    // No TTL, as upstream.
    assert_eq!(pttl(&redis, &key).await, -1);
    let usage = rl.analytics_usage(2).await.unwrap();
    assert_eq!(usage["127.0.0.1"], analytics::Usage { success: 1, blocked: 2 });
    // Inline mode: nothing pending, the event is already there.
    let inline = Ratelimit::builder(redis.clone(), Ratelimit::fixed_window(1, HOUR))
        .prefix("an")
        .analytics(true)
        .wait_for_pending(true)
        .build()
        .unwrap();
    let r = inline.limit("inline").await.unwrap();
    assert!(r.pending.is_empty());
    assert_eq!(inline.analytics_usage(1).await.unwrap()["inline"].success, 1);
}

#[tokio::test]
async fn deny_list_without_internet() {
    let (_s, redis) = server().await;
    let rl = Ratelimit::builder(redis.clone(), Ratelimit::fixed_window(10, HOUR))
        .prefix("dl")
        .deny_list(true)
        .analytics(true)
        .build()
        .unwrap();
    rl.deny(&["6.6.6.6", "EvilBot"]).await.unwrap();
    let r = rl.limit_with("user-a", LimitOptions::new().ip("1.2.3.4")).await.unwrap();
    assert!(r.success);
    // The status key was missing: marked pending for 30 s, nothing downloaded.
    assert_eq!(
        redis.get::<String>("dl:ipDenyListStatus").await.unwrap().as_deref(),
        Some("pending")
    );
    let r = rl
        .limit_with("user-b", LimitOptions::new().ip("6.6.6.6").user_agent("EvilBot"))
        .await
        .unwrap();
    assert_eq!((r.success, r.reason, r.remaining), (false, Some(Reason::DenyList), 0));
    // The last denied member wins, as in JavaScript; limit and reset come from the algorithm.
    assert_eq!(r.denied_value.as_deref(), Some("EvilBot"));
    assert_eq!(r.limit, 10);
    r.pending.wait().await.unwrap();
    // Now cached for 60 s: no Redis call, limit 0, reset 0.
    let r = rl.limit_with("user-c", LimitOptions::new().ip("6.6.6.6")).await.unwrap();
    assert_eq!((r.success, r.limit, r.reset, r.reason), (false, 0, 0, Some(Reason::DenyList)));
    assert_eq!(r.denied_value.as_deref(), Some("6.6.6.6"));
    r.pending.wait().await.unwrap();
    let member = r#"{"identifier":"6.6.6.6","success":"denied"}"#;
    let score: Option<f64> = redis
        .zscore(analytics::bucket_key("dl", larder_ratelimit::now_ms()), member)
        .await
        .unwrap();
    assert_eq!(score, Some(1.0));
    rl.allow(&["6.6.6.6"]).await.unwrap();
    assert!(rl.limit_with("user-c", LimitOptions::new().ip("6.6.6.6")).await.unwrap().success);
}

#[tokio::test]
async fn ip_deny_list_from_a_local_source() {
    let (_s, redis) = server().await;
    let rl = Ratelimit::builder(redis.clone(), Ratelimit::fixed_window(10, HOUR))
        .prefix("ipl")
        .deny_list(true)
        .ip_deny_list_source(|| async { Ok(vec!["10.9.8.7".to_string(), "10.9.8.6".to_string()]) })
        .build()
        .unwrap();
    rl.deny(&["10.9.8.6"]).await.unwrap();
    let r = rl.limit_with("u", LimitOptions::new().ip("1.1.1.1")).await.unwrap();
    assert!(r.success);
    r.pending.wait().await.unwrap();
    assert_eq!(
        redis.get::<String>("ipl:ipDenyListStatus").await.unwrap().as_deref(),
        Some("valid")
    );
    let ttl = pttl(&redis, "ipl:ipDenyListStatus").await;
    assert!(ttl > 0 && ttl <= 86_400_000);
    let mut all: Vec<String> = redis.smembers("ipl:denyList:all").await.unwrap();
    all.sort();
    assert_eq!(all, ["10.9.8.6", "10.9.8.7"]);
    // The user's own entry is not in the automatic list, so disabling keeps it.
    let ip_list: Vec<String> = redis.smembers("ipl:denyList:ipDenyList").await.unwrap();
    assert_eq!(ip_list, ["10.9.8.7"]);
    let r = rl.limit_with("u", LimitOptions::new().ip("10.9.8.7")).await.unwrap();
    assert_eq!(r.reason, Some(Reason::DenyList));
    larder_ratelimit::deny_list::disable_ip_deny_list(&redis, "ipl").await.unwrap();
    larder_ratelimit::deny_list::forget_cached(&["10.9.8.7"]);
    assert_eq!(
        redis.get::<String>("ipl:ipDenyListStatus").await.unwrap().as_deref(),
        Some("disabled")
    );
    let all: Vec<String> = redis.smembers("ipl:denyList:all").await.unwrap();
    assert_eq!(all, ["10.9.8.6"]);
    assert!(rl.limit_with("u", LimitOptions::new().ip("10.9.8.7")).await.unwrap().success);
}

#[tokio::test]
async fn a_shared_ephemeral_cache_blocks_across_limiters() {
    let (_s, redis) = server().await;
    let cache = EphemeralCache::new();
    let make = || {
        Ratelimit::builder(redis.clone(), Ratelimit::fixed_window(1, HOUR))
            .prefix("sh")
            .ephemeral_cache(cache.clone())
            .build()
            .unwrap()
    };
    let (a, b) = (make(), make());
    assert!(a.limit("id").await.unwrap().success);
    assert!(!a.limit("id").await.unwrap().success);
    assert_eq!(b.limit("id").await.unwrap().reason, Some(Reason::CacheBlock));
    assert_eq!(cache.len(), 1);
}

#[tokio::test]
async fn accessors_and_debug() {
    let (_s, redis) = server().await;
    let rl = Ratelimit::new(redis.clone(), Ratelimit::token_bucket(2, Duration::from_secs(5), 7));
    assert_eq!(rl.prefix(), larder_ratelimit::DEFAULT_PREFIX);
    assert_eq!(rl.algorithm().limit(), 7);
    assert_eq!(rl.algorithm().window(), Duration::from_secs(5));
    assert_eq!(rl.redis().url(), redis.url());
    assert!(format!("{rl:?}").contains("TokenBucket"));
    let r = rl.limit("x").await.unwrap();
    assert!(r.retry_after() <= Duration::from_secs(5));
    assert_eq!(larder_ratelimit::duration("5 s").unwrap(), Duration::from_secs(5));
}
