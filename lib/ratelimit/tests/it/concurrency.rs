//! `ConcurrencyLimit`.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use larder_ratelimit::ConcurrencyLimit;

use crate::support::server;

#[tokio::test]
async fn at_most_n_leases_and_release() {
    let (_s, redis) = server().await;
    let c = ConcurrencyLimit::builder(redis.clone(), 2).prefix("cl").build().unwrap();
    assert_eq!(
        (c.max_in_flight(), c.lease_ttl(), c.key("u")),
        (2, Duration::from_secs(60), "cl:concurrency:u".into())
    );
    let a = c.acquire("u").await.unwrap();
    assert_eq!((a.success, a.in_flight, a.remaining, a.limit), (true, 1, 1, 2));
    let b = c.acquire("u").await.unwrap();
    assert_eq!((b.success, b.in_flight, b.remaining), (true, 2, 0));
    let refused = c.acquire("u").await.unwrap();
    assert!(!refused.success && refused.lease.is_none());
    // By the earliest expiry at the latest.
    assert_eq!(refused.reset, a.reset);
    assert_eq!(c.in_flight("u").await.unwrap(), 2);
    assert_eq!(c.in_flight("other").await.unwrap(), 0);
    a.lease.unwrap().release().await.unwrap();
    assert_eq!(c.in_flight("u").await.unwrap(), 1);
    let d = c.acquire("u").await.unwrap();
    assert!(d.success);
    // Dropping a lease releases it in the background.
    drop(d);
    let mut n = 2;
    for _ in 0..100 {
        n = c.in_flight("u").await.unwrap();
        if n == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(n, 1);
    let lease = b.lease.unwrap();
    assert!(lease.renew().await.unwrap());
    assert!(!lease.id().is_empty());
    c.reset("u").await.unwrap();
    assert!(!lease.renew().await.unwrap());
    lease.forget();
    assert!(ConcurrencyLimit::new(redis.clone(), 0).is_err());
}

#[tokio::test]
async fn leases_of_a_dead_holder_expire() {
    let (_s, redis) = server().await;
    let c = ConcurrencyLimit::builder(redis.clone(), 1)
        .prefix("ce")
        .lease_ttl(Duration::from_millis(300))
        .build()
        .unwrap();
    // A holder that dies: its lease is never released.
    c.acquire("u").await.unwrap().lease.unwrap().forget();
    assert!(!c.acquire("u").await.unwrap().success);
    let start = std::time::Instant::now();
    let a = c.acquire_wait("u", Duration::from_secs(3), Duration::from_millis(50)).await.unwrap();
    assert!(a.success);
    assert!(start.elapsed() >= Duration::from_millis(150));
    // The key itself expires once every lease has.
    a.lease.unwrap().forget();
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(redis.exists(["ce:concurrency:u"]).await.unwrap(), 0);
    // Renewing keeps a lease alive past its TTL.
    let held = c.acquire("u").await.unwrap().lease.unwrap();
    for _ in 0..4 {
        tokio::time::sleep(Duration::from_millis(150)).await;
        assert!(held.renew().await.unwrap());
    }
    assert!(!c.acquire("u").await.unwrap().success);
    held.release().await.unwrap();
    // acquire_wait gives up at the deadline.
    let _busy = c.acquire("u").await.unwrap();
    let a =
        c.acquire_wait("u", Duration::from_millis(120), Duration::from_millis(50)).await.unwrap();
    assert!(!a.success);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn never_more_than_n_held_at_once() {
    let (_s, redis) = server().await;
    let c = ConcurrencyLimit::builder(redis.clone(), 50).prefix("c200").build().unwrap();
    // 200 concurrent acquires without releases: exactly 50.
    let tasks: Vec<_> = (0..200)
        .map(|_| {
            let c = c.clone();
            tokio::spawn(async move { c.acquire("burst").await.unwrap() })
        })
        .collect();
    let mut leases = Vec::new();
    for t in tasks {
        if let Some(l) = t.await.unwrap().lease {
            leases.push(l);
        }
    }
    assert_eq!(leases.len(), 50);
    for l in leases {
        l.release().await.unwrap();
    }
    // 200 workers that hold a slot for a moment: never more than 5 inside at once.
    let c = ConcurrencyLimit::builder(redis.clone(), 5).prefix("c200w").build().unwrap();
    let inside = Arc::new(AtomicUsize::new(0));
    let peak = Arc::new(AtomicUsize::new(0));
    let done = Arc::new(AtomicUsize::new(0));
    let tasks: Vec<_> = (0..200)
        .map(|_| {
            let (c, inside, peak, done) = (c.clone(), inside.clone(), peak.clone(), done.clone());
            tokio::spawn(async move {
                let a = c.acquire("w").await.unwrap();
                if let Some(lease) = a.lease {
                    let now = inside.fetch_add(1, Ordering::SeqCst) + 1;
                    peak.fetch_max(now, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(5)).await;
                    inside.fetch_sub(1, Ordering::SeqCst);
                    lease.release().await.unwrap();
                    done.fetch_add(1, Ordering::SeqCst);
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    assert!(peak.load(Ordering::SeqCst) <= 5);
    assert!(done.load(Ordering::SeqCst) >= 5);
    assert_eq!(c.in_flight("w").await.unwrap(), 0);
}
