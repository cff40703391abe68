//! The example's router served over real HTTP against a real larder (`TestServer`): the rate limit
//! answers 429 past the limit, the slow query is computed once and then read from the cache.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use larder_example_axum_app::{Completion, Config, Report, app};
use larder_redis::Redis;
use larder_test_support::{TOKEN, TestServer};

const HOUR: Duration = Duration::from_secs(3600);

/// Serves `app` on a free loopback port; the base URL.
async fn serve(redis: Redis, config: Config) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let service = app(redis, config).into_make_service_with_connect_info::<SocketAddr>();
    tokio::spawn(async move { axum::serve(listener, service).await.unwrap() });
    url
}

async fn larder() -> (TestServer, Redis) {
    // A 1 h sliding window weights the previous hour: stay clear of an hour boundary.
    let left = 3_600_000 - larder_ratelimit::now_ms() % 3_600_000;
    if left < 20_000 {
        tokio::time::sleep(Duration::from_millis(left + 5)).await;
    }
    let server = TestServer::start().await;
    let redis = Redis::builder(server.http_url(), TOKEN).build().unwrap();
    (server, redis)
}

fn header(res: &reqwest::Response, name: &str) -> String {
    res.headers().get(name).map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn generate_is_rate_limited_per_client() {
    let (_s, redis) = larder().await;
    let config = Config {
        generate_limit: 3,
        generate_window: HOUR,
        generate_delay: Duration::from_millis(20),
        ..Config::default()
    };
    let url = serve(redis.clone(), config).await;
    let http = reqwest::Client::new();
    let post = |body: &'static str| http.post(format!("{url}/generate")).body(body).send();

    // A malformed body still counts against the limit (the limiter runs first).
    let res = post("not json").await.unwrap();
    assert_eq!(res.status(), 400);
    assert_eq!(header(&res, "x-ratelimit-remaining"), "2");

    for remaining in ["1", "0"] {
        let res = post(r#"{"prompt": "write a haiku about caching"}"#).await.unwrap();
        assert_eq!(res.status(), 200);
        assert_eq!(header(&res, "x-ratelimit-limit"), "3");
        assert_eq!(header(&res, "x-ratelimit-remaining"), remaining);
        assert_eq!(header(&res, "ratelimit-policy"), "\"generate\";q=3;w=3600");
        let c: Completion = res.json().await.unwrap();
        assert_eq!(c.model, "larder-demo");
        assert_eq!(c.prompt_words, 5);
        assert!(c.completion.contains("write a haiku about caching"), "{}", c.completion);
    }

    let res = post(r#"{"prompt": "one more"}"#).await.unwrap();
    assert_eq!(res.status(), 429);
    assert_eq!(header(&res, "x-ratelimit-remaining"), "0");
    let retry: u64 = header(&res, "retry-after").parse().unwrap();
    assert!((1..=3600).contains(&retry), "{retry}");
    assert!(header(&res, "ratelimit").starts_with("\"generate\";r=0;t="));
    assert_eq!(res.text().await.unwrap(), "Too Many Requests");

    // The counter is the limiter's sliding-window key for this client, in larder.
    let keys: Vec<String> = redis.keys("example:generate:127.0.0.1:*").await.unwrap();
    assert_eq!(keys.len(), 1, "{keys:?}");
    assert_eq!(redis.get::<i64>(&keys[0]).await.unwrap(), Some(3));
    // Other routes are not limited.
    let health = http.get(format!("{url}/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    assert_eq!(header(&health, "x-ratelimit-limit"), "");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_slow_query_is_cached() {
    let (_s, redis) = larder().await;
    let delay = Duration::from_millis(400);
    let config = Config { report_delay: delay, report_ttl: HOUR, ..Config::default() };
    let url = serve(redis.clone(), config).await;
    let http = reqwest::Client::new();
    let get = || http.get(format!("{url}/reports/top-products")).send();

    let start = Instant::now();
    let res = get().await.unwrap();
    assert!(start.elapsed() >= delay);
    assert_eq!(res.status(), 200);
    assert_eq!(header(&res, "x-cache"), "miss");
    let first: Report = res.json().await.unwrap();
    assert_eq!(first.run, 1);
    let ttl = redis.pttl("example:reports:top-products").await.unwrap();
    assert!(ttl > 3_590_000, "{ttl}");

    let start = Instant::now();
    let res = get().await.unwrap();
    assert!(start.elapsed() < delay, "a hit waited {:?}", start.elapsed());
    assert_eq!(header(&res, "x-cache"), "hit");
    assert_eq!(res.json::<Report>().await.unwrap(), first);

    // After the entry is gone, concurrent requests run the query once (single flight).
    redis.del("example:reports:top-products").await.unwrap();
    let all = futures_join(8, get).await;
    let mut misses = 0;
    for res in all {
        let res = res.unwrap();
        misses += usize::from(header(&res, "x-cache") == "miss");
        assert_eq!(res.json::<Report>().await.unwrap().run, 2);
    }
    assert_eq!(misses, 1);
}

/// Runs `n` futures made by `make` at once.
async fn futures_join<F, Fut>(n: usize, make: F) -> Vec<Fut::Output>
where
    F: Fn() -> Fut,
    Fut: std::future::Future + Send + 'static,
    Fut::Output: Send + 'static,
{
    let tasks: Vec<_> = (0..n).map(|_| tokio::spawn(make())).collect();
    let mut out = Vec::new();
    for t in tasks {
        out.push(t.await.unwrap());
    }
    out
}

#[test]
fn config_from_env() {
    let vars = [("GENERATE_LIMIT", "7"), ("GENERATE_WINDOW", "10 s"), ("APP_ADDR", "127.0.0.1:8")];
    let c =
        Config::from_env_with(|k| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string()))
            .unwrap();
    assert_eq!((c.generate_limit, c.generate_window), (7, Duration::from_secs(10)));
    assert_eq!(c.addr.port(), 8);
    assert_eq!(c.report_ttl, Config::default().report_ttl);
    let err =
        Config::from_env_with(|k| (k == "REPORT_TTL").then(|| "soon".to_string())).unwrap_err();
    assert!(err.contains("REPORT_TTL=soon"), "{err}");
}
