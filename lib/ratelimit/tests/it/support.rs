//! Shared helpers.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use larder_redis::Redis;
use larder_test_support::{TOKEN, TestServer};

/// A fresh larder and a client for it (telemetry off).
pub async fn server() -> (TestServer, Redis) {
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
