use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use larder_redis::Error;
use larder_redis::cache::{Cache, cached};

use crate::support::server;

const TTL: Duration = Duration::from_secs(60);

/// Calls `cached` with a computation that counts its runs and returns `value`.
async fn count_calls<T>(r: &larder_redis::Redis, key: &str, value: T, calls: &Arc<AtomicUsize>) -> T
where
    T: serde::Serialize + serde::de::DeserializeOwned + Send + Clone + 'static,
{
    let calls = calls.clone();
    cached(r, key, TTL, move || async move {
        calls.fetch_add(1, Ordering::SeqCst);
        Ok::<_, std::io::Error>(value)
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn falsy_values_are_hits() {
    let (_s, r) = server().await;
    let calls = Arc::new(AtomicUsize::new(0));
    for _ in 0..3 {
        assert_eq!(count_calls(&r, "none", None::<i32>, &calls).await, None);
    }
    for _ in 0..3 {
        assert_eq!(count_calls(&r, "zero", 0, &calls).await, 0);
    }
    for _ in 0..3 {
        assert_eq!(count_calls(&r, "empty", String::new(), &calls).await, "");
    }
    for _ in 0..3 {
        assert!(!count_calls(&r, "false", false, &calls).await);
    }
    for _ in 0..3 {
        assert!(count_calls(&r, "vec", Vec::<u8>::new(), &calls).await.is_empty());
    }
    assert_eq!(calls.load(Ordering::SeqCst), 5, "each computed once");
    // Stored as JSON text, with the TTL.
    assert_eq!(r.get::<String>("none").await.unwrap().as_deref(), Some("null"));
    assert_eq!(r.get::<String>("empty").await.unwrap().as_deref(), Some("\"\""));
    assert!((1..=60).contains(&r.ttl("zero").await.unwrap()));
    // Expired (here: deleted) entries are misses.
    r.del("zero").await.unwrap();
    assert_eq!(count_calls(&r, "zero", 0, &calls).await, 0);
    assert_eq!(calls.load(Ordering::SeqCst), 6);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_are_not_cached() {
    let (_s, r) = server().await;
    let e = cached(&r, "k", TTL, || async { Err::<i32, _>("database is down") }).await.unwrap_err();
    assert!(
        matches!(&e, Error::Compute(inner) if inner.to_string() == "database is down"),
        "{e:?}"
    );
    assert_eq!(e.to_string(), "cached computation failed: database is down");
    assert_eq!(r.exists("k").await.unwrap(), 0);
    assert_eq!(cached(&r, "k", TTL, || async { Ok::<_, String>(7) }).await.unwrap(), 7);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn undecodable_entries_are_recomputed() {
    let (_s, r) = server().await;
    r.set("k", "not json").await.unwrap();
    assert_eq!(cached(&r, "k", TTL, || async { Ok::<_, String>(3) }).await.unwrap(), 3);
    assert_eq!(r.get::<i64>("k").await.unwrap(), Some(3));
    // A change of type is a miss too.
    let v: Vec<String> =
        cached(&r, "k", TTL, || async { Ok::<_, String>(vec!["a".to_string()]) }).await.unwrap();
    assert_eq!(v, ["a"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn single_flight_shares_one_computation() {
    let (_s, r) = server().await;
    let calls = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..50 {
        let (r, calls) = (r.clone(), calls.clone());
        tasks.push(tokio::spawn(async move {
            cached(&r, "slow", TTL, move || async move {
                calls.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(300)).await;
                Ok::<_, std::io::Error>(format!("computed at {:?}", Instant::now()))
            })
            .await
            .unwrap()
        }));
    }
    let mut values = Vec::new();
    for t in tasks {
        values.push(t.await.unwrap());
    }
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    assert!(values.iter().all(|v| v == &values[0]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn single_flight_shares_failures_and_panics() {
    let (_s, r) = server().await;
    let calls = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let (r, calls) = (r.clone(), calls.clone());
        tasks.push(tokio::spawn(async move {
            cached(&r, "failing", TTL, move || async move {
                calls.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(200)).await;
                Err::<i32, _>(std::io::Error::other("boom"))
            })
            .await
        }));
    }
    for t in tasks {
        assert!(matches!(t.await.unwrap(), Err(Error::Compute(e)) if e.to_string() == "boom"));
    }
    assert_eq!(calls.load(Ordering::SeqCst), 1);

    let e = cached(&r, "panics", TTL, || async {
        if true {
            panic!("computation panicked on purpose");
        }
        Ok::<i32, String>(1)
    })
    .await
    .unwrap_err();
    assert!(matches!(&e, Error::Compute(inner) if inner.to_string().contains("panicked")), "{e:?}");
    // Nothing stays in flight after a panic.
    assert_eq!(cached(&r, "panics", TTL, || async { Ok::<_, String>(2) }).await.unwrap(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_caller_giving_up_does_not_cancel_the_computation() {
    let (_s, r) = server().await;
    let calls = Arc::new(AtomicUsize::new(0));
    let c = calls.clone();
    let impatient = tokio::time::timeout(
        Duration::from_millis(20),
        cached(&r, "k", TTL, move || async move {
            c.fetch_add(1, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(200)).await;
            Ok::<_, String>(1)
        }),
    )
    .await;
    assert!(impatient.is_err());
    let c = calls.clone();
    let v = cached(&r, "k", TTL, move || async move {
        c.fetch_add(1, Ordering::SeqCst);
        Ok::<_, String>(2)
    })
    .await
    .unwrap();
    assert_eq!(v, 1, "joined the computation still in flight");
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prefixes_and_direct_access() {
    let (_s, r) = server().await;
    let users = Cache::new(r.clone(), "users");
    let orders = Cache::new(r.clone(), "orders");
    assert_eq!(users.prefix(), "users");
    assert_eq!(users.key("1"), "users:1");
    assert_eq!(Cache::new(r.clone(), "").key("1"), "1");
    assert_eq!(users.redis().url(), r.url());
    let u = users
        .get_or_compute("1", TTL, || async { Ok::<_, String>("ada".to_string()) })
        .await
        .unwrap();
    let o =
        orders.get_or_compute("1", TTL, || async { Ok::<_, String>(vec![1, 2]) }).await.unwrap();
    assert_eq!((u.as_str(), o), ("ada", vec![1, 2]));
    assert_eq!(r.get::<String>("users:1").await.unwrap().as_deref(), Some("\"ada\""));
    assert_eq!(users.get::<String>("1").await.unwrap().as_deref(), Some("ada"));
    assert_eq!(users.get::<String>("2").await.unwrap(), None);
    users.set("2", &None::<String>, TTL).await.unwrap();
    assert_eq!(users.get::<Option<String>>("2").await.unwrap(), Some(None));
    let hit = users
        .get_or_compute("2", TTL, || async { Ok::<_, String>(Some("x".to_string())) })
        .await
        .unwrap();
    assert_eq!(hit, None, "a cached None is a hit");
    assert!(users.delete("2").await.unwrap());
    assert!(!users.delete("2").await.unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refresh_ahead_serves_stale_and_recomputes_in_the_background() {
    let (_s, r) = server().await;
    let cache = Cache::new(r.clone(), "f").refresh_ahead(0.5);
    let ttl = Duration::from_secs(100);
    let calls = Arc::new(AtomicUsize::new(0));
    let compute = |v: i32| {
        let calls = calls.clone();
        move || async move {
            calls.fetch_add(1, Ordering::SeqCst);
            Ok::<_, String>(v)
        }
    };
    assert_eq!(cache.get_or_compute("k", ttl, compute(1)).await.unwrap(), 1);
    // Fresh (under half its TTL used): a plain hit.
    assert_eq!(cache.get_or_compute("k", ttl, compute(2)).await.unwrap(), 1);
    assert_eq!(calls.load(Ordering::SeqCst), 1);

    // Past 50% of its TTL (10 s left of 100 s): the stale value now, a refresh in the background.
    r.pexpire("f:k", 10_000).await.unwrap();
    assert_eq!(cache.get_or_compute("k", ttl, compute(3)).await.unwrap(), 1);
    // A generous deadline: on a loaded machine the background task may wait its turn for a while.
    let deadline = Instant::now() + Duration::from_secs(30);
    while r.get::<i32>("f:k").await.unwrap() != Some(3) {
        assert!(Instant::now() < deadline, "the background refresh did not land");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    assert!(r.pttl("f:k").await.unwrap() > 50_000, "the refresh reset the TTL");
    assert_eq!(cache.get_or_compute("k", ttl, compute(4)).await.unwrap(), 3);
    assert_eq!(calls.load(Ordering::SeqCst), 2);

    // An entry without expiry is never refreshed; a missing one is computed in the foreground.
    r.persist("f:k").await.unwrap();
    assert_eq!(cache.get_or_compute("k", ttl, compute(5)).await.unwrap(), 3);
    assert_eq!(cache.get_or_compute("new", ttl, compute(6)).await.unwrap(), 6);
    assert_eq!(calls.load(Ordering::SeqCst), 3);
}

#[test]
#[should_panic(expected = "refresh_ahead fraction")]
fn refresh_ahead_fraction_is_checked() {
    let r = larder_redis::Redis::new("http://127.0.0.1:1", "t").unwrap();
    let _ = Cache::new(r, "x").refresh_ahead(1.5);
}
