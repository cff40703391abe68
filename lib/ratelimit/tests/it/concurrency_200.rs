//! 200 concurrent `limit()` calls with a limit of 50 allow exactly 50, for every algorithm.

use std::time::Duration;

use larder_ratelimit::{Algorithm, Ratelimit};
use larder_redis::Redis;

use crate::support::server;

const HOUR: Duration = Duration::from_secs(3600);

async fn burst(redis: &Redis, algo: Algorithm, prefix: &str, cache: bool) -> usize {
    let mut b = Ratelimit::builder(redis.clone(), algo).prefix(prefix).timeout(Duration::ZERO);
    if !cache {
        b = b.no_ephemeral_cache();
    }
    let rl = b.build().unwrap();
    let calls = (0..200).map(|_| {
        let rl = rl.clone();
        tokio::spawn(async move { rl.limit("burst").await.unwrap().success })
    });
    let mut allowed = 0;
    for c in calls.collect::<Vec<_>>() {
        allowed += usize::from(c.await.unwrap());
    }
    allowed
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exactly_50_of_200() {
    let (_s, redis) = server().await;
    let algos = || {
        [
            ("fixed", Ratelimit::fixed_window(50, HOUR)),
            ("sliding", Ratelimit::sliding_window(50, HOUR)),
            ("bucket", Ratelimit::token_bucket(1, HOUR, 50)),
            ("cached", Ratelimit::cached_fixed_window(50, HOUR)),
        ]
    };
    for (name, algo) in algos() {
        assert_eq!(burst(&redis, algo, &format!("c200:{name}"), true).await, 50, "{name}");
    }
    // GCRA: 50 per hour, bursts of 50.
    let g = larder_ratelimit::Gcra::builder(redis.clone(), 50, HOUR)
        .prefix("c200:gcra")
        .timeout(Duration::ZERO)
        .build()
        .unwrap();
    let tasks: Vec<_> = (0..200)
        .map(|_| {
            let g = g.clone();
            tokio::spawn(async move { g.limit("burst").await.unwrap().success })
        })
        .collect();
    let mut allowed = 0;
    for t in tasks {
        allowed += usize::from(t.await.unwrap());
    }
    assert_eq!(allowed, 50, "gcra");
    for (name, algo) in algos().into_iter().take(3) {
        assert_eq!(
            burst(&redis, algo, &format!("c200nc:{name}"), false).await,
            50,
            "{name} (no cache)"
        );
    }
}
