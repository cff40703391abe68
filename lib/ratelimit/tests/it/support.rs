//! Shared helpers.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use larder_redis::Redis;
use larder_test_support::{TOKEN, TestServer};

/// A fresh larder and a client for it (telemetry off). Tests that use the real clock with 1 h
/// windows rely on this not returning in the last 20 s of an hour (see [`fresh_hour`]).
pub async fn server() -> (TestServer, Redis) {
    fresh_hour().await;
    let server = TestServer::start().await;
    let redis = Redis::builder(server.http_url(), TOKEN).telemetry(false).build().unwrap();
    (server, redis)
}

/// A settable clock (epoch ms).
#[derive(Clone)]
pub struct FakeClock(pub Arc<AtomicU64>);

impl FakeClock {
    pub fn at(ms: u64) -> FakeClock {
        FakeClock(Arc::new(AtomicU64::new(ms)))
    }
    pub fn advance(&self, ms: u64) {
        self.0.fetch_add(ms, Ordering::SeqCst);
    }
    pub fn func(&self) -> impl Fn() -> u64 + Send + Sync + 'static {
        let c = self.0.clone();
        move || c.load(Ordering::SeqCst)
    }
}

pub async fn get_int(redis: &Redis, key: &str) -> Option<i64> {
    redis.get::<i64>(key).await.unwrap()
}

pub async fn pttl(redis: &Redis, key: &str) -> i64 {
    redis.pttl(key).await.unwrap()
}

/// A TCP listener that accepts connections and never answers: a Redis that hangs.
pub async fn black_hole() -> (String, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let task = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((sock, _)) = listener.accept().await {
            held.push(sock);
        }
    });
    (url, task)
}

/// If fewer than 20 s are left in the current hour, sleeps into the next one, so that a test using
/// the real clock and 1 h windows never straddles a window boundary.
pub async fn fresh_hour() {
    let left = 3_600_000 - larder_ratelimit::now_ms() % 3_600_000;
    if left < 20_000 {
        tokio::time::sleep(std::time::Duration::from_millis(left + 5)).await;
    }
}
