//! The tower layer and the axum middleware, driven with `ServiceExt::oneshot`.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::time::Duration;

use http::{Request, Response, StatusCode};
use larder_ratelimit::middleware::{
    Identify, OnLimiterError, OnMissingIdentifier, RateLimitLayer, axum_middleware,
};
use larder_ratelimit::{ConcurrencyLimit, Gcra, MultiRegionRatelimit, Ratelimit};
use larder_redis::Redis;
use tower::{Layer, ServiceExt};

use crate::support::server;

const HOUR: Duration = Duration::from_secs(3600);

fn ok_service() -> impl tower::Service<
    Request<()>,
    Response = Response<String>,
    Error = Infallible,
    Future: Send + 'static,
> + Clone
+ Send
+ 'static {
    tower::service_fn(|_req: Request<()>| async {
        Ok::<_, Infallible>(Response::new("ok".to_string()))
    })
}

fn from(ip: &str) -> Request<()> {
    let mut req = Request::new(());
    req.extensions_mut().insert(SocketAddr::new(ip.parse().unwrap(), 5555));
    req
}

fn header(res: &Response<impl Sized>, name: &str) -> String {
    res.headers().get(name).map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default()
}

fn limiter(redis: &Redis, prefix: &str, n: u64) -> Ratelimit {
    Ratelimit::builder(redis.clone(), Ratelimit::fixed_window(n, HOUR))
        .prefix(prefix)
        .build()
        .unwrap()
}

#[tokio::test]
async fn allows_with_headers_then_429() {
    let (_s, redis) = server().await;
    let svc = RateLimitLayer::new(limiter(&redis, "mw", 2)).layer(ok_service());
    let reset_s = (larder_ratelimit::now_ms() / 3_600_000 + 1) * 3_600;
    for left in ["1", "0"] {
        let res = svc.clone().oneshot(from("203.0.113.1")).await.unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(res.body(), "ok");
        assert_eq!(header(&res, "x-ratelimit-limit"), "2");
        assert_eq!(header(&res, "x-ratelimit-remaining"), left);
        assert_eq!(header(&res, "x-ratelimit-reset"), reset_s.to_string());
        assert_eq!(header(&res, "ratelimit-policy"), "\"default\";q=2;w=3600");
        assert!(header(&res, "ratelimit").starts_with(&format!("\"default\";r={left};t=")));
        assert!(res.headers().get("retry-after").is_none());
    }
    let res = svc.clone().oneshot(from("203.0.113.1")).await.unwrap();
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(res.body(), "");
    let retry: u64 = header(&res, "retry-after").parse().unwrap();
    assert!((1..=3600).contains(&retry), "{retry}");
    assert_eq!(header(&res, "x-ratelimit-remaining"), "0");
    assert_eq!(header(&res, "ratelimit"), format!("\"default\";r=0;t={retry}"));
    // Another client is not affected.
    let res = svc.clone().oneshot(from("203.0.113.2")).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    // The counter is keyed by the IP.
    let n: Option<i64> = redis
        .get(format!("mw:203.0.113.1:{}", larder_ratelimit::now_ms() / 3_600_000))
        .await
        .unwrap();
    assert_eq!(n, Some(3));
}

#[tokio::test]
async fn trusted_proxies_in_x_forwarded_for() {
    let (_s, redis) = server().await;
    let layer = RateLimitLayer::new(limiter(&redis, "xff", 1)).identify(Identify::client_ip(1));
    let svc = layer.layer(ok_service());
    let req = |xff: &str| {
        let mut r = from("10.0.0.1");
        r.headers_mut().insert("x-forwarded-for", xff.parse().unwrap());
        r
    };
    // The proxy appended the real client (198.51.100.7); the first entry is spoofed.
    assert_eq!(
        svc.clone().oneshot(req("1.1.1.1, 198.51.100.7")).await.unwrap().status(),
        StatusCode::OK
    );
    // Same real client, other spoofed value: still limited.
    assert_eq!(
        svc.clone().oneshot(req("9.9.9.9, 198.51.100.7")).await.unwrap().status(),
        StatusCode::TOO_MANY_REQUESTS
    );
    // Another real client passes.
    assert_eq!(svc.clone().oneshot(req("198.51.100.8")).await.unwrap().status(), StatusCode::OK);
    let keys: Vec<String> = redis.keys("xff:*").await.unwrap();
    assert!(keys.iter().any(|k| k.starts_with("xff:198.51.100.7:")), "{keys:?}");
    assert!(!keys.iter().any(|k| k.contains("1.1.1.1") || k.contains("10.0.0.1")), "{keys:?}");
}

#[tokio::test]
async fn header_and_closure_identifiers_and_missing_ones() {
    let (_s, redis) = server().await;
    let svc = RateLimitLayer::new(limiter(&redis, "hdr", 1))
        .identify(Identify::header(http::HeaderName::from_static("x-api-key")))
        .layer(ok_service());
    let with_key = |k: &str| Request::builder().header("x-api-key", k).body(()).unwrap();
    assert_eq!(svc.clone().oneshot(with_key("k1")).await.unwrap().status(), StatusCode::OK);
    assert_eq!(
        svc.clone().oneshot(with_key("k1")).await.unwrap().status(),
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(svc.clone().oneshot(with_key("k2")).await.unwrap().status(), StatusCode::OK);
    // No header: 400 by default, or through without headers.
    assert_eq!(
        svc.clone().oneshot(Request::new(())).await.unwrap().status(),
        StatusCode::BAD_REQUEST
    );
    let open = RateLimitLayer::new(limiter(&redis, "hdr2", 1))
        .identify(Identify::header(http::HeaderName::from_static("x-api-key")))
        .on_missing_identifier(OnMissingIdentifier::Allow)
        .layer(ok_service());
    let res = open.oneshot(Request::new(())).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.headers().get("x-ratelimit-limit").is_none());

    // A closure: the first path segment.
    let svc = RateLimitLayer::new(limiter(&redis, "fn", 1))
        .identify(Identify::custom(|r| r.uri.path().split('/').nth(1).map(str::to_owned)))
        .policy_name("tenant")
        .layer(ok_service());
    let get = |p: &str| Request::builder().uri(p).body(()).unwrap();
    let res = svc.clone().oneshot(get("/acme/x")).await.unwrap();
    assert_eq!(header(&res, "ratelimit-policy"), "\"tenant\";q=1;w=3600");
    assert_eq!(
        svc.clone().oneshot(get("/acme/y")).await.unwrap().status(),
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(svc.clone().oneshot(get("/other")).await.unwrap().status(), StatusCode::OK);
    let keys: Vec<String> = redis.keys("fn:acme:*").await.unwrap();
    assert_eq!(keys.len(), 1);
}

#[tokio::test]
async fn limiter_errors_fail_open_or_closed() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let redis = Redis::builder(dead, "t").retries(0).telemetry(false).build().unwrap();
    let open = RateLimitLayer::new(limiter(&redis, "e", 1)).layer(ok_service());
    let res = open.oneshot(from("1.2.3.4")).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.headers().get("x-ratelimit-limit").is_none());
    let closed = RateLimitLayer::new(limiter(&redis, "e", 1))
        .on_limiter_error(OnLimiterError::Reject)
        .layer(ok_service());
    assert_eq!(
        closed.oneshot(from("1.2.3.4")).await.unwrap().status(),
        StatusCode::SERVICE_UNAVAILABLE
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrency_limit_holds_the_lease_until_the_response() {
    let (_s, redis) = server().await;
    let c = ConcurrencyLimit::builder(redis.clone(), 1).prefix("mwc").build().unwrap();
    let (release_tx, release_rx) = tokio::sync::oneshot::channel::<()>();
    let release_rx = std::sync::Arc::new(tokio::sync::Mutex::new(Some(release_rx)));
    let slow = tower::service_fn(move |_req: Request<()>| {
        let rx = release_rx.clone();
        async move {
            if let Some(rx) = rx.lock().await.take() {
                let _ = rx.await;
            }
            Ok::<_, Infallible>(Response::new(String::new()))
        }
    });
    let svc = RateLimitLayer::new(c.clone()).layer(slow);
    let first = tokio::spawn(svc.clone().oneshot(from("1.1.1.1")));
    while c.in_flight("1.1.1.1").await.unwrap() == 0 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let res = svc.clone().oneshot(from("1.1.1.1")).await.unwrap();
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(header(&res, "ratelimit-policy"), "\"default\";q=1;qu=\"concurrent-requests\"");
    release_tx.send(()).unwrap();
    let res = first.await.unwrap().unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(header(&res, "x-ratelimit-remaining"), "0");
    // The lease was released when the response was ready.
    assert_eq!(c.in_flight("1.1.1.1").await.unwrap(), 0);
    assert_eq!(svc.oneshot(from("1.1.1.1")).await.unwrap().status(), StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gcra_and_multi_region_behind_the_layer() {
    let (_s, redis) = server().await;
    let g = Gcra::builder(redis.clone(), 60, Duration::from_secs(60))
        .burst(1)
        .prefix("mwg")
        .build()
        .unwrap();
    let svc = RateLimitLayer::new(g).layer(ok_service());
    let res = svc.clone().oneshot(from("1.1.1.1")).await.unwrap();
    assert_eq!(header(&res, "ratelimit-policy"), "\"default\";q=1;w=60");
    let res = svc.clone().oneshot(from("1.1.1.1")).await.unwrap();
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(header(&res, "retry-after"), "1");
    let m =
        MultiRegionRatelimit::new(vec![redis.clone()], Ratelimit::sliding_window(1, HOUR)).unwrap();
    let svc = RateLimitLayer::new(m).layer(ok_service());
    assert_eq!(svc.clone().oneshot(from("1.1.1.1")).await.unwrap().status(), StatusCode::OK);
    assert_eq!(
        svc.clone().oneshot(from("1.1.1.1")).await.unwrap().status(),
        StatusCode::TOO_MANY_REQUESTS
    );
}

#[tokio::test]
async fn axum_router_layer_and_from_fn_middleware() {
    use axum::body::Body;
    use axum::extract::ConnectInfo;
    let (_s, redis) = server().await;
    let req = || {
        let mut r = Request::builder().uri("/ai").body(Body::empty()).unwrap();
        r.extensions_mut().insert(ConnectInfo(SocketAddr::from(([192, 0, 2, 1], 1234))));
        r
    };
    // Router::layer
    let layer = RateLimitLayer::new(limiter(&redis, "ax", 1));
    let app = axum::Router::new()
        .route("/ai", axum::routing::get(|| async { "answer" }))
        .layer(layer.clone());
    let res = app.clone().oneshot(req()).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(header(&res, "x-ratelimit-remaining"), "0");
    let res = app.clone().oneshot(req()).await.unwrap();
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(!header(&res, "retry-after").is_empty());
    assert!(redis.keys("ax:192.0.2.1:*").await.map(|k: Vec<String>| k.len()).unwrap() == 1);

    // from_fn_with_state
    let layer = RateLimitLayer::new(limiter(&redis, "ax2", 1));
    let app = axum::Router::new()
        .route("/ai", axum::routing::get(|| async { "answer" }))
        .layer(axum::middleware::from_fn_with_state(layer, axum_middleware));
    let res = app.clone().oneshot(req()).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(header(&res, "ratelimit-policy"), "\"default\";q=1;w=3600");
    let res = app.clone().oneshot(req()).await.unwrap();
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    let body = axum::body::to_bytes(res.into_body(), 1024).await.unwrap();
    assert_eq!(&body[..], b"Too Many Requests");
    assert!(format!("{:?}", RateLimitLayer::new(limiter(&redis, "d", 1))).contains("ClientIp"));
}
