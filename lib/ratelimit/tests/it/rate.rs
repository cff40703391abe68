//! `rate` (the cost of a call) as `@upstash/ratelimit` 2.2 treats it: any integer, passed to the
//! scripts unchanged. Positive consumes; negative refunds (never rejected, never blocked by the
//! ephemeral cache, and a successful refund unblocks); zero consumes nothing and is not blocked by
//! the ephemeral cache — what it answers is the algorithm's own rule, checked here step by step
//! against the same scripts. (JavaScript also accepts fractional numbers, which the INCRBY-based
//! scripts reject with a Redis error; `LimitOptions::rate` is an `i64`.)

use std::time::Duration;

use larder_ratelimit::{Algorithm, LimitOptions, Ratelimit, Reason};
use larder_redis::Redis;

use crate::support::{FakeClock, server};

const HOUR: Duration = Duration::from_secs(3600);
// 10 minutes into an hour.
const T0: u64 = 1_700_000_000_000;

/// `(success, remaining, reason)` of one call of cost `rate`.
async fn call(rl: &Ratelimit, rate: i64) -> (bool, u64, Option<Reason>) {
    let r = rl.limit_with("id", LimitOptions::new().rate(rate)).await.unwrap();
    r.pending.wait().await.unwrap();
    (r.success, r.remaining, r.reason)
}

fn limiter(redis: &Redis, algo: Algorithm, prefix: &str) -> Ratelimit {
    let clock = FakeClock::at(T0);
    Ratelimit::builder(redis.clone(), algo).prefix(prefix).clock(clock.func()).build().unwrap()
}

#[tokio::test]
async fn zero_and_negative_rates_per_algorithm() {
    let (_s, redis) = server().await;

    // Fixed window: INCRBY rate, success = used <= limit; rejected calls are counted.
    let rl = limiter(&redis, Ratelimit::fixed_window(3, HOUR), "r0f");
    for _ in 0..3 {
        assert!(call(&rl, 1).await.0);
    }
    assert_eq!(call(&rl, 1).await, (false, 0, None)); // used 4, now blocked in the cache
    assert_eq!(call(&rl, 1).await, (false, 0, Some(Reason::CacheBlock)));
    // Rate 0 skips the cache and asks Redis: used stays 4 > 3.
    assert_eq!(call(&rl, 0).await, (false, 0, None));
    // A refund of 2: used 2, success, and the identifier is unblocked.
    assert_eq!(call(&rl, -2).await, (true, 1, None));
    assert_eq!(call(&rl, 0).await, (true, 1, None));
    assert_eq!(call(&rl, 1).await, (true, 0, None));

    // Sliding window: a positive rate is rejected at the limit without counting; rate 0 is never
    // rejected (the check only applies to positive rates).
    let rl = limiter(&redis, Ratelimit::sliding_window(3, HOUR), "r0s");
    for _ in 0..3 {
        assert!(call(&rl, 1).await.0);
    }
    assert_eq!(call(&rl, 1).await, (false, 0, None));
    assert_eq!(call(&rl, 0).await, (true, 0, None));
    assert_eq!(call(&rl, -1).await, (true, 1, None));
    assert_eq!(call(&rl, 1).await, (true, 0, None));
    // A cost larger than what is left is rejected but still counted: the script checks the
    // count before adding the cost (upstream's behaviour, unlike the token bucket's).
    assert_eq!(call(&rl, -2).await, (true, 2, None));
    assert_eq!(call(&rl, 5).await, (false, 0, None));
    let window = T0 / 3_600_000;
    assert_eq!(redis.get::<i64>(format!("r0s:id:{window}")).await.unwrap(), Some(6));

    // Token bucket: a cost larger than what is left is rejected whole; a refund may lift the
    // bucket above its size, as upstream.
    let rl = limiter(&redis, Ratelimit::token_bucket(1, HOUR, 3), "r0t");
    for _ in 0..3 {
        assert!(call(&rl, 1).await.0);
    }
    assert_eq!(call(&rl, 1).await, (false, 0, None));
    assert_eq!(call(&rl, 0).await, (true, 0, None));
    assert_eq!(call(&rl, -5).await, (true, 5, None));
    assert_eq!(call(&rl, 4).await, (true, 1, None));
    assert!(!call(&rl, 2).await.0);

    // Cached fixed window: the local counter moves by the rate, Redis follows.
    let rl = limiter(&redis, Ratelimit::cached_fixed_window(3, HOUR), "r0c");
    for _ in 0..3 {
        assert!(call(&rl, 1).await.0);
    }
    assert_eq!(call(&rl, 1).await, (false, 0, None));
    assert_eq!(call(&rl, 0).await, (false, 0, None));
    assert_eq!(call(&rl, -2).await, (true, 1, None));
    // Redis saw the three allowed calls and the refund (rejected calls are not sent).
    assert_eq!(redis.get::<i64>(format!("r0c:id:{window}")).await.unwrap(), Some(1));
}
