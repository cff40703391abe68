//! The delivery worker against real HTTP destinations: a slow host's backlog does not hold the request
//! slots other hosts need, and deliveries are signed with the keys in force.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use larder_queue::service::PublishRequest;
use larder_queue::{Queue, QueueConfig, Worker};
use parking_lot::Mutex;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

mod common;
use common::EngineStore;

/// A minimal HTTP/1.1 server that waits `delay` before answering 200, recording arrival times.
async fn host(delay: Duration) -> (String, Arc<Mutex<Vec<Instant>>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    let seen: Arc<Mutex<Vec<Instant>>> = Arc::default();
    let s = seen.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut sock, _)) = listener.accept().await else { return };
            let s = s.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                // Headers, then the body by Content-Length.
                loop {
                    let Ok(n) = sock.read(&mut chunk).await else { return };
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
                        let len = head
                            .lines()
                            .find_map(|l| l.strip_prefix("content-length:"))
                            .and_then(|v| v.trim().parse::<usize>().ok())
                            .unwrap_or(0);
                        if buf.len() >= end + 4 + len {
                            break;
                        }
                    }
                }
                s.lock().push(Instant::now());
                tokio::time::sleep(delay).await;
                let _ = sock
                    .write_all(
                        b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok",
                    )
                    .await;
            });
        }
    });
    (url, seen)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_host_does_not_hold_the_slots_of_others() {
    let store = Arc::new(EngineStore::new());
    let config = QueueConfig { concurrency: 2, per_host_concurrency: 1, ..QueueConfig::default() };
    let q = Queue::open(
        store,
        config,
        "sig_current_key_000000000000000",
        "sig_next_key_00000000000000000",
        true,
    )
    .await
    .unwrap();
    let (slow, _) = host(Duration::from_millis(600)).await;
    let (fast, fast_seen) = host(Duration::ZERO).await;
    let publish = |dest: String| PublishRequest {
        destination: dest,
        queue: None,
        headers: vec![],
        body: Bytes::from_static(b"x"),
        caller_ip: None,
    };
    for _ in 0..4 {
        q.publish(publish(slow.clone())).await.unwrap();
    }
    let start = Instant::now();
    q.publish(publish(fast.clone())).await.unwrap();
    let shutdown = CancellationToken::new();
    let tracker = TaskTracker::new();
    let _w = Worker::spawn(q.clone(), shutdown.clone(), tracker.clone()).unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    while fast_seen.lock().is_empty() {
        assert!(Instant::now() < deadline, "the fast host got nothing");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let waited = fast_seen.lock()[0] - start;
    // Behind four slow deliveries on a 2-slot worker it would wait at least 600 ms.
    assert!(waited < Duration::from_millis(400), "the fast host waited {waited:?}");
    shutdown.cancel();
    tracker.close();
    tracker.wait().await;
}
