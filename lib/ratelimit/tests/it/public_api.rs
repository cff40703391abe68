//! The public functions and builder options the other files do not reach: analytics written and read
//! directly, the ephemeral cache's own methods, the deny-list helpers, GCRA's and multi-region's
//! remaining options, telemetry tags, `RateLimitLayer::from_arc`, `rate_limit_headers`.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use larder_ratelimit::middleware::{Limiter, RateLimitLayer, rate_limit_headers};
use larder_ratelimit::{
    EphemeralCache, Gcra, LimitOptions, MultiRegionRatelimit, OnTimeout, Pending, Ratelimit,
    Reason, analytics, deny_list, dynamic_key,
};
use larder_redis::{
    BoxFuture, Redis, Request, ReqwestTransport, Response, Transport, TransportError,
};
use larder_test_support::TOKEN;
use tower::ServiceExt;

use crate::support::{black_hole, pttl, server};

const HOUR: Duration = Duration::from_secs(3600);

#[tokio::test]
async fn analytics_written_and_read_directly() {
    let (_s, redis) = server().await;
    let now = larder_ratelimit::now_ms();
    let geo = vec![("country".to_string(), serde_json::json!("NL"))];
    for success in [serde_json::json!(true), serde_json::json!(true), serde_json::json!(false)] {
        analytics::record(&redis, "apx", now, "10.0.0.1", &success, &geo).await.unwrap();
    }
    analytics::record(&redis, "apx", now, "10.0.0.2", &serde_json::json!("denied"), &[])
        .await
        .unwrap();
    // An event of the previous hour is read with `hours >= 2` only.
    let hour_ago = now - analytics::BUCKET_MS;
    analytics::record(&redis, "apx", hour_ago, "10.0.0.1", &serde_json::json!(true), &[])
        .await
        .unwrap();

    let member = analytics::event_member("10.0.0.1", &serde_json::json!(true), &geo);
    assert_eq!(member, r#"{"identifier":"10.0.0.1","success":true,"country":"NL"}"#);
    let score: Option<f64> =
        redis.zscore(analytics::bucket_key("apx", now), &member).await.unwrap();
    assert_eq!(score, Some(2.0));

    let one = analytics::usage(&redis, "apx", now, 1).await.unwrap();
    assert_eq!(one["10.0.0.1"], analytics::Usage { success: 2, blocked: 1 });
    // "denied" counts as blocked.
    assert_eq!(one["10.0.0.2"], analytics::Usage { success: 0, blocked: 1 });
    let two = analytics::usage(&redis, "apx", now, 2).await.unwrap();
    assert_eq!(two["10.0.0.1"], analytics::Usage { success: 3, blocked: 1 });
    assert!(analytics::usage(&redis, "nothing-here", now, 3).await.unwrap().is_empty());

    // getUsageOverTime: per bucket, newest first, by a field.
    let counts = |pairs: &[(&str, u64)]| -> std::collections::BTreeMap<String, u64> {
        pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
    };
    let by_success = analytics::usage_over_time(&redis, "apx", now, 2, "success").await.unwrap();
    let this_hour = now / analytics::BUCKET_MS * analytics::BUCKET_MS;
    assert_eq!(
        by_success,
        [
            analytics::BucketCounts {
                time: this_hour,
                counts: counts(&[("true", 2), ("false", 1), ("denied", 1)])
            },
            analytics::BucketCounts {
                time: this_hour - analytics::BUCKET_MS,
                counts: counts(&[("true", 1)])
            },
        ]
    );
    let by_country = analytics::usage_over_time(&redis, "apx", now, 1, "country").await.unwrap();
    assert_eq!(by_country[0].counts, counts(&[("NL", 3), ("null", 1)]));

    // getMostAllowedBlocked.
    let top = analytics::most_allowed_blocked(&redis, "apx", now, 2, 5).await.unwrap();
    assert_eq!(
        top,
        analytics::MostAllowedBlocked {
            allowed: vec![("10.0.0.1".into(), 3)],
            ratelimited: vec![("10.0.0.1".into(), 1)],
            denied: vec![("10.0.0.2".into(), 1)],
        }
    );
    let top0 = analytics::most_allowed_blocked(&redis, "apx", now, 1, 0).await.unwrap();
    assert_eq!(top0, analytics::MostAllowedBlocked::default());
}

#[tokio::test]
async fn the_ephemeral_cache_can_be_inspected_and_cleared() {
    let (_s, redis) = server().await;
    let cache = EphemeralCache::new();
    let rl = Ratelimit::builder(redis.clone(), Ratelimit::fixed_window(1, HOUR))
        .prefix("ec")
        .ephemeral_cache(cache.clone())
        .build()
        .unwrap();
    assert!(cache.is_empty());
    assert!(rl.limit("a").await.unwrap().success);
    let denied = rl.limit("a").await.unwrap();
    assert!(!denied.success);
    let now = larder_ratelimit::now_ms();
    // Blocked under the full key until the window's end.
    assert_eq!(cache.blocked_until("ec:a", now), Some(denied.reset));
    assert_eq!(cache.len(), 1);
    assert_eq!(rl.limit("a").await.unwrap().reason, Some(Reason::CacheBlock));
    // Unblocked: the next call asks Redis again (and is rejected there, blocking again).
    cache.unblock("ec:a");
    let r = rl.limit("a").await.unwrap();
    assert_eq!((r.success, r.reason), (false, None));
    assert_eq!(rl.ephemeral_cache().unwrap().len(), 1);
    cache.clear();
    assert!(cache.is_empty());
    // Blocking by hand works too (e.g. from a decision made elsewhere).
    cache.block_until("ec:b", now + 60_000, now);
    let r = rl.limit("b").await.unwrap();
    assert_eq!((r.success, r.reason, r.reset), (false, Some(Reason::CacheBlock), now + 60_000));
    // Nothing was counted for b.
    assert_eq!(rl.get_remaining("b").await.unwrap().remaining, 1);
}

#[tokio::test]
async fn deny_list_helpers() {
    let (_s, redis) = server().await;
    assert_eq!(deny_list::all_key("p"), "p:denyList:all");
    assert_eq!(deny_list::ip_list_key("p"), "p:denyList:ipDenyList");
    assert_eq!(deny_list::status_key("p"), "p:ipDenyListStatus");
    let rl = Ratelimit::builder(redis.clone(), Ratelimit::fixed_window(10, HOUR))
        .prefix("dlh")
        .deny_list(true)
        .build()
        .unwrap();

    // update_ip_deny_list: a chosen TTL, then the default (until 02:00 UTC).
    let ips = vec!["192.0.2.50".to_string(), "192.0.2.51".to_string()];
    deny_list::update_ip_deny_list(&redis, "dlh", &ips, Some(Duration::from_secs(90)))
        .await
        .unwrap();
    let ttl = pttl(&redis, "dlh:ipDenyListStatus").await;
    assert!(ttl > 80_000 && ttl <= 90_000, "{ttl}");
    deny_list::update_ip_deny_list(&redis, "dlh", &ips[..1], None).await.unwrap();
    let expected = deny_list::ip_list_ttl(larder_ratelimit::now_ms()) as i64;
    let ttl = pttl(&redis, "dlh:ipDenyListStatus").await;
    assert!((expected - ttl).abs() < 5_000, "{ttl} vs {expected}");
    let all: Vec<String> = redis.smembers("dlh:denyList:all").await.unwrap();
    assert_eq!(all, ["192.0.2.50"]);

    // A country on the list denies; the denial is cached process-wide until clear_cache.
    deny_list::deny(&redis, "dlh", &["XX-deny-helpers"]).await.unwrap();
    let r = rl.limit_with("u", LimitOptions::new().country("XX-deny-helpers")).await.unwrap();
    assert_eq!(r.denied_value.as_deref(), Some("XX-deny-helpers"));
    // Removed behind the limiter's back: still denied from the cache, without Redis (limit 0).
    redis.srem("dlh:denyList:all", ["XX-deny-helpers"]).await.unwrap();
    let r = rl.limit_with("u", LimitOptions::new().country("XX-deny-helpers")).await.unwrap();
    assert_eq!((r.success, r.limit, r.reason), (false, 0, Some(Reason::DenyList)));
    deny_list::clear_cache();
    assert!(
        rl.limit_with("u", LimitOptions::new().country("XX-deny-helpers")).await.unwrap().success
    );
    // The IP list applies to the `ip` option.
    let r = rl.limit_with("u", LimitOptions::new().ip("192.0.2.50")).await.unwrap();
    assert_eq!(r.reason, Some(Reason::DenyList));
    deny_list::allow(&redis, "dlh", &["192.0.2.50"]).await.unwrap();
    assert!(rl.limit_with("u", LimitOptions::new().ip("192.0.2.50")).await.unwrap().success);
}

#[tokio::test]
async fn gcra_options() {
    let (_s, redis) = server().await;
    // The client's system clock instead of the server's TIME.
    let g = Gcra::builder(redis.clone(), 2, Duration::from_secs(10))
        .prefix("go")
        .client_clock(true)
        .analytics(true)
        .wait_for_pending(true)
        .ephemeral_cache(EphemeralCache::new())
        .build()
        .unwrap();
    let before = larder_ratelimit::now_ms();
    let r = g.limit("u").await.unwrap();
    assert!(r.pending.is_empty(), "wait_for_pending runs the analytics inline");
    assert!(r.success);
    assert!(g.limit("u").await.unwrap().success);
    let r = g.limit("u").await.unwrap();
    assert!(!r.success);
    // One unit every 5 s from the first call.
    assert!(r.reset >= before + 5_000 && r.reset <= larder_ratelimit::now_ms() + 5_000);
    assert_eq!(g.limit("u").await.unwrap().reason, Some(Reason::CacheBlock));
    let usage = analytics::usage(&redis, "go", larder_ratelimit::now_ms(), 1).await.unwrap();
    assert_eq!(usage["u"], analytics::Usage { success: 2, blocked: 2 });

    // on_timeout(Deny) against a Redis that never answers.
    let (url, hole) = black_hole().await;
    let dead = Redis::builder(url, "t").retries(0).telemetry(false).build().unwrap();
    let g = Gcra::builder(dead, 1, Duration::from_secs(1))
        .timeout(Duration::from_millis(100))
        .on_timeout(OnTimeout::Deny)
        .build()
        .unwrap();
    let r = g.limit("u").await.unwrap();
    assert_eq!((r.success, r.reason), (false, Some(Reason::Timeout)));
    hole.abort();
}

#[tokio::test]
async fn multi_region_options() {
    let (_s, redis) = server().await;
    let cache = EphemeralCache::new();
    let rl = MultiRegionRatelimit::builder(vec![redis.clone()], Ratelimit::fixed_window(1, HOUR))
        .prefix("mo")
        .ephemeral_cache(cache.clone())
        .wait_for_pending(true)
        .build()
        .unwrap();
    let r = rl.limit("u").await.unwrap();
    assert!(r.success && r.pending.is_empty());
    assert!(!rl.limit("u").await.unwrap().success);
    assert_eq!(cache.len(), 1);
    assert_eq!(rl.limit("u").await.unwrap().reason, Some(Reason::CacheBlock));

    let (url, hole) = black_hole().await;
    let dead = Redis::builder(url, "t").retries(0).telemetry(false).build().unwrap();
    let rl = MultiRegionRatelimit::builder(vec![dead], Ratelimit::sliding_window(1, HOUR))
        .timeout(Duration::from_millis(100))
        .on_timeout(OnTimeout::Deny)
        .build()
        .unwrap();
    let r = rl.limit("u").await.unwrap();
    assert_eq!((r.success, r.reason), (false, Some(Reason::Timeout)));
    hole.abort();
}

/// Records the `Upstash-Telemetry-Sdk` header of every request, then sends it.
#[derive(Clone)]
struct SdkHeaders(Arc<Mutex<Vec<String>>>, Arc<ReqwestTransport>);

impl Transport for SdkHeaders {
    fn send(&self, request: Request) -> BoxFuture<'_, Result<Response, TransportError>> {
        let sdk = request.header("upstash-telemetry-sdk").unwrap_or("").to_owned();
        self.0.lock().unwrap().push(sdk);
        self.1.send(request)
    }
}

#[tokio::test]
async fn telemetry_tags_each_limiter() {
    let (s, _) = server().await;
    let headers = SdkHeaders(Arc::default(), Arc::new(ReqwestTransport::new().unwrap()));
    let redis = Redis::builder(s.http_url(), TOKEN)
        .telemetry(true)
        .transport(headers.clone())
        .build()
        .unwrap();
    let take = || std::mem::take(&mut *headers.0.lock().unwrap());
    let tagged = |h: &[String]| !h.is_empty() && h.iter().all(|s| s.contains("larder-ratelimit@v"));
    let untagged =
        |h: &[String]| !h.is_empty() && h.iter().all(|s| !s.contains("larder-ratelimit"));

    let on = Ratelimit::builder(redis.clone(), Ratelimit::fixed_window(5, HOUR))
        .prefix("tel1")
        .build()
        .unwrap();
    on.limit("t").await.unwrap();
    assert!(tagged(&take()));
    let off = Ratelimit::builder(redis.clone(), Ratelimit::fixed_window(5, HOUR))
        .prefix("tel2")
        .telemetry(false)
        .build()
        .unwrap();
    off.limit("t").await.unwrap();
    assert!(untagged(&take()));

    let g = Gcra::builder(redis.clone(), 5, HOUR).telemetry(false).build().unwrap();
    g.limit("t").await.unwrap();
    assert!(untagged(&take()));
    let g = Gcra::builder(redis.clone(), 5, HOUR).build().unwrap();
    g.limit("t").await.unwrap();
    assert!(tagged(&take()));

    let m = MultiRegionRatelimit::builder(vec![redis.clone()], Ratelimit::fixed_window(5, HOUR))
        .prefix("tel3")
        .telemetry(false)
        .wait_for_pending(true)
        .build()
        .unwrap();
    m.limit("t").await.unwrap();
    assert!(untagged(&take()));
    let c = larder_ratelimit::ConcurrencyLimit::builder(redis.clone(), 2)
        .telemetry(false)
        .build()
        .unwrap();
    c.acquire("t").await.unwrap().lease.unwrap().release().await.unwrap();
    assert!(untagged(&take()));
}

#[tokio::test]
async fn a_shared_limiter_behind_two_layers_and_the_header_function() {
    let (_s, redis) = server().await;
    let limiter: Arc<dyn Limiter> = Arc::new(
        Ratelimit::builder(redis.clone(), Ratelimit::fixed_window(2, HOUR))
            .prefix("arc")
            .build()
            .unwrap(),
    );
    let svc = || {
        tower::service_fn(|_req: http::Request<()>| async {
            Ok::<_, std::convert::Infallible>(http::Response::new(String::new()))
        })
    };
    let req = || {
        let mut r = http::Request::new(());
        r.extensions_mut().insert(std::net::SocketAddr::from(([192, 0, 2, 9], 1)));
        r
    };
    let a = tower::Layer::layer(&RateLimitLayer::from_arc(limiter.clone()), svc());
    let b = tower::Layer::layer(&RateLimitLayer::from_arc(limiter.clone()), svc());
    assert_eq!(a.clone().oneshot(req()).await.unwrap().status(), 200);
    assert_eq!(b.clone().oneshot(req()).await.unwrap().status(), 200);
    // The two layers share one limit.
    assert_eq!(a.oneshot(req()).await.unwrap().status(), 429);

    let d = limiter.check("192.0.2.9".into()).await.unwrap();
    assert!(!d.success);
    let now = larder_ratelimit::now_ms();
    let h = rate_limit_headers(&d, "api", now);
    assert_eq!(h["x-ratelimit-limit"], "2");
    assert_eq!(h["ratelimit-policy"], "\"api\";q=2;w=3600");
    assert!(h.get("retry-after").is_none());
}

#[tokio::test]
async fn small_pieces() {
    let (_s, redis) = server().await;
    assert_eq!(dynamic_key("p"), "p:dynamic:global");
    let rl = Ratelimit::builder(redis.clone(), Ratelimit::fixed_window(5, HOUR))
        .prefix("sp")
        .dynamic_limits(true)
        .build()
        .unwrap();
    rl.set_dynamic_limit(Some(3)).await.unwrap();
    assert_eq!(redis.get::<u64>(dynamic_key("sp")).await.unwrap(), Some(3));
    for (reason, name) in [
        (Reason::Timeout, "timeout"),
        (Reason::CacheBlock, "cacheBlock"),
        (Reason::DenyList, "denyList"),
    ] {
        assert_eq!((reason.as_str(), reason.to_string().as_str()), (name, name));
    }
    let p = Pending::none();
    assert!(p.is_empty());
    p.wait().await.unwrap();
    Pending::none().await.unwrap();
}
