//! An axum app on larder (or Upstash), configured from the environment block larder prints:
//!
//! - `POST /generate` — an AI-style endpoint (a canned completion after a short delay, no external
//!   calls), rate-limited **per client IP** by [`larder_ratelimit::middleware::RateLimitLayer`]
//!   with a sliding window: every answer carries `X-RateLimit-*`, `RateLimit` and
//!   `RateLimit-Policy`; past the limit it is `429 Too Many Requests` with `Retry-After`.
//! - `GET /reports/top-products` — a slow query cached with [`larder_redis::cache::Cache`]
//!   (single flight, refresh-ahead): the first call runs the query, later ones read Redis until the
//!   entry expires. `X-Cache: miss` when this request ran the query, `hit` otherwise.
//! - `GET /healthz` — `ok`.
//!
//! [`Config::from_env`] reads the optional settings; `main.rs` serves [`app`] on `APP_ADDR`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::middleware::from_fn_with_state;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use larder_ratelimit::Ratelimit;
use larder_ratelimit::middleware::{Identify, RateLimitLayer, axum_middleware};
use larder_redis::Redis;
use larder_redis::cache::Cache;
use serde::{Deserialize, Serialize};

/// The app's settings (everything but the Redis URL and token, which `Redis::from_env` reads).
#[derive(Debug, Clone)]
pub struct Config {
    /// Where `main` listens (`APP_ADDR`, default `127.0.0.1:3000`).
    pub addr: SocketAddr,
    /// Calls to `/generate` allowed per client per window (`GENERATE_LIMIT`, default 5).
    pub generate_limit: u64,
    /// The sliding window (`GENERATE_WINDOW`, `@upstash/ratelimit` syntax, default `60 s`).
    pub generate_window: Duration,
    /// How long a "completion" takes (default 300 ms).
    pub generate_delay: Duration,
    /// Reverse proxies in front of the app that append to `X-Forwarded-For` (`TRUSTED_PROXIES`,
    /// default 0: the peer address is the client).
    pub trusted_proxies: usize,
    /// How long the slow query takes (default 1 s).
    pub report_delay: Duration,
    /// How long its result is cached (`REPORT_TTL`, default `30 s`).
    pub report_ttl: Duration,
    /// Prefix of the app's Redis keys (default `example`).
    pub prefix: String,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            addr: SocketAddr::from(([127, 0, 0, 1], 3000)),
            generate_limit: 5,
            generate_window: Duration::from_secs(60),
            generate_delay: Duration::from_millis(300),
            trusted_proxies: 0,
            report_delay: Duration::from_secs(1),
            report_ttl: Duration::from_secs(30),
            prefix: "example".into(),
        }
    }
}

impl Config {
    /// The defaults, overridden by `APP_ADDR`, `GENERATE_LIMIT`, `GENERATE_WINDOW`,
    /// `TRUSTED_PROXIES` and `REPORT_TTL` when they are set.
    pub fn from_env() -> Result<Config, String> {
        Config::from_env_with(|k| std::env::var(k).ok())
    }

    /// [`Config::from_env`] with another source of variables.
    pub fn from_env_with(var: impl Fn(&str) -> Option<String>) -> Result<Config, String> {
        let mut c = Config::default();
        let bad = |k: &str, v: &str, e: &dyn std::fmt::Display| format!("{k}={v}: {e}");
        if let Some(v) = var("APP_ADDR") {
            c.addr = v.parse().map_err(|e| bad("APP_ADDR", &v, &e))?;
        }
        if let Some(v) = var("GENERATE_LIMIT") {
            c.generate_limit = v.parse().map_err(|e| bad("GENERATE_LIMIT", &v, &e))?;
        }
        if let Some(v) = var("GENERATE_WINDOW") {
            c.generate_window =
                larder_ratelimit::duration(&v).map_err(|e| bad("GENERATE_WINDOW", &v, &e))?;
        }
        if let Some(v) = var("TRUSTED_PROXIES") {
            c.trusted_proxies = v.parse().map_err(|e| bad("TRUSTED_PROXIES", &v, &e))?;
        }
        if let Some(v) = var("REPORT_TTL") {
            c.report_ttl = larder_ratelimit::duration(&v).map_err(|e| bad("REPORT_TTL", &v, &e))?;
        }
        Ok(c)
    }
}

#[derive(Clone)]
struct AppState {
    reports: Cache,
    config: Arc<Config>,
    queries_run: Arc<AtomicU64>,
}

/// The router. Serve it with `into_make_service_with_connect_info::<SocketAddr>()` so the rate
/// limiter sees the client's address.
pub fn app(redis: Redis, config: Config) -> Router {
    let limiter = Ratelimit::builder(
        redis.clone(),
        Ratelimit::sliding_window(config.generate_limit, config.generate_window),
    )
    .prefix(format!("{}:generate", config.prefix))
    .build()
    .expect("a sliding window needs no extra options");
    let per_client = RateLimitLayer::new(limiter)
        .identify(Identify::client_ip(config.trusted_proxies))
        .policy_name("generate");
    let state = AppState {
        reports: Cache::new(redis, format!("{}:reports", config.prefix)).refresh_ahead(0.8),
        config: Arc::new(config),
        queries_run: Arc::new(AtomicU64::new(0)),
    };
    Router::new()
        // `from_fn_with_state` + `axum_middleware` is `route_layer(per_client)` with a text body on
        // the 429.
        .route(
            "/generate",
            post(generate).route_layer(from_fn_with_state(per_client, axum_middleware)),
        )
        .route("/reports/top-products", get(top_products))
        .route("/healthz", get(|| async { "ok" }))
        .with_state(state)
}

/// The body of `POST /generate`.
#[derive(Debug, Deserialize)]
pub struct GenerateRequest {
    /// What to complete.
    pub prompt: String,
}

/// The answer of `POST /generate`.
#[derive(Debug, Serialize, Deserialize)]
pub struct Completion {
    /// The model name (`larder-demo`).
    pub model: String,
    /// The canned completion.
    pub completion: String,
    /// Words in the prompt.
    pub prompt_words: usize,
}

async fn generate(State(state): State<AppState>, body: Bytes) -> Response {
    let req: GenerateRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => {
            let msg = format!("expected {{\"prompt\": \"...\"}}: {e}\n");
            return (StatusCode::BAD_REQUEST, msg).into_response();
        }
    };
    // Stands in for a call to a model: slow and expensive, hence the rate limit.
    tokio::time::sleep(state.config.generate_delay).await;
    json(&Completion {
        model: "larder-demo".into(),
        completion: format!(
            "This is a canned completion for \"{}\": no model was called.",
            req.prompt.trim()
        ),
        prompt_words: req.prompt.split_whitespace().count(),
    })
}

/// The answer of `GET /reports/top-products`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// Which run of the query produced this report (1 for the first run in this process).
    pub run: u64,
    /// When the query ran (Unix epoch ms).
    pub computed_at_ms: u64,
    /// Product names and units sold, best first.
    pub top_products: Vec<(String, u64)>,
}

async fn top_products(State(state): State<AppState>) -> Response {
    let ran_here = Arc::new(AtomicBool::new(false));
    let (flag, runs, delay) =
        (ran_here.clone(), state.queries_run.clone(), state.config.report_delay);
    let report = state
        .reports
        .get_or_compute("top-products", state.config.report_ttl, move || async move {
            flag.store(true, Ordering::SeqCst);
            let run = runs.fetch_add(1, Ordering::SeqCst) + 1;
            slow_query(run, delay).await
        })
        .await;
    match report {
        Ok(report) => {
            let mut res = json(&report);
            let hit = if ran_here.load(Ordering::SeqCst) { "miss" } else { "hit" };
            res.headers_mut()
                .insert(HeaderName::from_static("x-cache"), HeaderValue::from_static(hit));
            res
        }
        Err(e) => (StatusCode::SERVICE_UNAVAILABLE, format!("{e}\n")).into_response(),
    }
}

/// Stands in for an expensive database query.
async fn slow_query(run: u64, delay: Duration) -> Result<Report, std::io::Error> {
    tokio::time::sleep(delay).await;
    Ok(Report {
        run,
        computed_at_ms: larder_ratelimit::now_ms(),
        top_products: vec![("espresso beans".into(), 1_204), ("oat milk".into(), 877)],
    })
}

fn json(value: &impl Serialize) -> Response {
    match serde_json::to_string(value) {
        Ok(body) => ([(header::CONTENT_TYPE, "application/json")], body).into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}
