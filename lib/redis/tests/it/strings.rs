use std::time::Duration;

use larder_redis::{Expiry, SetOptions};
use serde::{Deserialize, Serialize};

use crate::support::server;

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct User {
    name: String,
    age: u32,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn none_means_only_a_missing_key() {
    let (_s, r) = server().await;
    assert_eq!(r.get::<String>("missing").await.unwrap(), None);
    assert_eq!(r.get::<i64>("missing").await.unwrap(), None);

    r.set("zero", 0).await.unwrap();
    assert_eq!(r.get::<i64>("zero").await.unwrap(), Some(0));
    assert_eq!(r.get::<String>("zero").await.unwrap().as_deref(), Some("0"));

    r.set("empty", "").await.unwrap();
    assert_eq!(r.get::<String>("empty").await.unwrap().as_deref(), Some(""));

    r.set("false", false).await.unwrap();
    assert_eq!(r.get::<bool>("false").await.unwrap(), Some(false));
    assert_eq!(r.get::<String>("false").await.unwrap().as_deref(), Some("false"));

    r.set("null", None::<i32>).await.unwrap();
    assert_eq!(r.get::<Option<i32>>("null").await.unwrap(), Some(None));
    assert_eq!(r.get::<String>("null").await.unwrap().as_deref(), Some("null"));
    assert_eq!(r.get::<serde_json::Value>("null").await.unwrap(), Some(serde_json::Value::Null));
    assert_eq!(r.get::<Option<i32>>("missing").await.unwrap(), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn strings_are_text_and_other_types_json() {
    let (_s, r) = server().await;
    let ada = User { name: "Ada".into(), age: 36 };
    r.set("user", &ada).await.unwrap();
    assert_eq!(r.get::<User>("user").await.unwrap(), Some(ada));
    assert_eq!(
        r.get::<String>("user").await.unwrap().as_deref(),
        Some(r#"{"name":"Ada","age":36}"#)
    );

    // A string is stored as is (not JSON-quoted), like @upstash/redis does.
    r.set("s", "hello").await.unwrap();
    assert_eq!(r.get::<String>("s").await.unwrap().as_deref(), Some("hello"));
    assert_eq!(r.get::<serde_json::Value>("s").await.unwrap(), Some(serde_json::json!("hello")));
    r.set("n", "12").await.unwrap();
    assert_eq!(r.get::<String>("n").await.unwrap().as_deref(), Some("12"));
    assert_eq!(r.get::<u8>("n").await.unwrap(), Some(12));
    r.set("f", 2.5).await.unwrap();
    assert_eq!(r.get::<f64>("f").await.unwrap(), Some(2.5));
    // Not a number: a decode error, not None.
    assert!(matches!(r.get::<i64>("s").await, Err(larder_redis::Error::Decode(_))));
    // Unicode survives base64.
    r.set("u", "héllo ✓ 🦀").await.unwrap();
    assert_eq!(r.get::<String>("u").await.unwrap().as_deref(), Some("héllo ✓ 🦀"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn set_with_options() {
    let (_s, r) = server().await;
    assert!(r.set_options("k", "a", SetOptions::new().nx().ex(100)).await.unwrap());
    assert!(!r.set_options("k", "b", SetOptions::new().nx()).await.unwrap());
    assert!((1..=100).contains(&r.ttl("k").await.unwrap()));
    assert!(r.set_options("k", "c", SetOptions::new().xx().keep_ttl()).await.unwrap());
    assert!((1..=100).contains(&r.ttl("k").await.unwrap()));
    assert!(!r.set_options("other", "x", SetOptions::new().xx()).await.unwrap());
    assert!(r.set_options("k", "d", SetOptions::new().px(50_000)).await.unwrap());
    assert!((1..=50_000).contains(&r.pttl("k").await.unwrap()));
    assert!(r.set_options("k", "e", SetOptions::new().ttl(Duration::from_secs(7))).await.unwrap());
    assert!((1..=7).contains(&r.ttl("k").await.unwrap()));
    let at = now_secs() + 1000;
    assert!(r.set_options("k", "f", SetOptions::new().expiry(Expiry::ExAt(at))).await.unwrap());
    assert!((990..=1000).contains(&r.ttl("k").await.unwrap()));
    assert!(
        r.set_options("k", "g", SetOptions::new().expiry(Expiry::PxAt(at * 1000))).await.unwrap()
    );

    assert_eq!(
        r.set_get::<String>("k", "h", SetOptions::new()).await.unwrap().as_deref(),
        Some("g")
    );
    assert_eq!(r.set_get::<String>("fresh", "1", SetOptions::new().ex(10)).await.unwrap(), None);
    assert_eq!(r.get::<i64>("fresh").await.unwrap(), Some(1));
}

fn now_secs() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expiring_and_conditional_sets() {
    let (_s, r) = server().await;
    r.setex("a", 100, "x").await.unwrap();
    assert!((1..=100).contains(&r.ttl("a").await.unwrap()));
    r.psetex("b", 100_000, "y").await.unwrap();
    assert!((1..=100_000).contains(&r.pttl("b").await.unwrap()));
    assert!(r.setnx("c", 1).await.unwrap());
    assert!(!r.setnx("c", 2).await.unwrap());
    assert_eq!(r.get::<i64>("c").await.unwrap(), Some(1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_variants() {
    let (_s, r) = server().await;
    r.set("k", "v").await.unwrap();
    assert_eq!(r.getex::<String>("k", Expiry::Ex(100)).await.unwrap().as_deref(), Some("v"));
    assert!(r.ttl("k").await.unwrap() > 0);
    assert_eq!(r.getex_persist::<String>("k").await.unwrap().as_deref(), Some("v"));
    assert_eq!(r.ttl("k").await.unwrap(), -1);
    assert_eq!(r.getset::<String>("k", "w").await.unwrap().as_deref(), Some("v"));
    assert_eq!(r.getdel::<String>("k").await.unwrap().as_deref(), Some("w"));
    assert_eq!(r.getdel::<String>("k").await.unwrap(), None);
    assert_eq!(r.getex::<String>("k", Expiry::Px(10)).await.unwrap(), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ranges_and_lengths() {
    let (_s, r) = server().await;
    assert_eq!(r.append("s", "Hello").await.unwrap(), 5);
    assert_eq!(r.append("s", " World").await.unwrap(), 11);
    assert_eq!(r.strlen("s").await.unwrap(), 11);
    assert_eq!(r.getrange("s", 0, 4).await.unwrap(), "Hello");
    assert_eq!(r.getrange("s", -5, -1).await.unwrap(), "World");
    assert_eq!(r.setrange("s", 6, "Redis").await.unwrap(), 11);
    assert_eq!(r.get::<String>("s").await.unwrap().as_deref(), Some("Hello Redis"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn counters() {
    let (_s, r) = server().await;
    assert_eq!(r.incr("n").await.unwrap(), 1);
    assert_eq!(r.incrby("n", 10).await.unwrap(), 11);
    assert_eq!(r.decr("n").await.unwrap(), 10);
    assert_eq!(r.decrby("n", 4).await.unwrap(), 6);
    assert_eq!(r.incrbyfloat("n", 1.5).await.unwrap(), 7.5);
    assert_eq!(r.incrbyfloat("n", -0.5).await.unwrap(), 7.0);
    r.set("word", "abc").await.unwrap();
    let e = r.incr("word").await.unwrap_err();
    assert!(e.redis_message().unwrap().contains("not an integer"), "{e}");
    assert_eq!(e.redis_code(), Some("ERR"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn multi_key_strings() {
    let (_s, r) = server().await;
    r.mset([("a", 1), ("b", 2)]).await.unwrap();
    assert_eq!(r.mget::<i64>(["a", "missing", "b"]).await.unwrap(), vec![Some(1), None, Some(2)]);
    assert_eq!(r.mget::<String>("a").await.unwrap(), vec![Some("1".to_string())]);
    assert!(r.msetnx([("c", "x"), ("d", "y")]).await.unwrap());
    assert!(!r.msetnx([("d", "z"), ("e", "z")]).await.unwrap());
    assert_eq!(r.exists(["c", "d", "e"]).await.unwrap(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binary_values_through_base64() {
    let (_s, r) = server().await;
    let bytes: Vec<u8> = (0..=255).collect();
    r.set_bytes("bin", &bytes, None).await.unwrap();
    assert_eq!(r.get_bytes("bin").await.unwrap(), Some(bytes.clone()));
    assert_eq!(r.strlen("bin").await.unwrap(), 256);
    // Not UTF-8: a decode error for String, never silently mangled.
    assert!(r.get::<String>("bin").await.is_err());
    // A key that needs percent-encoding, and an expiry.
    r.set_bytes("a key/with:odd?chars", b"\x00\xff", Some(Duration::from_secs(60))).await.unwrap();
    assert_eq!(r.get_bytes("a key/with:odd?chars").await.unwrap(), Some(vec![0, 255]));
    assert!((1..=60).contains(&r.ttl("a key/with:odd?chars").await.unwrap()));
    r.set_bytes("empty", b"", None).await.unwrap();
    assert_eq!(r.get_bytes("empty").await.unwrap(), Some(vec![]));
    assert_eq!(r.get_bytes("missing").await.unwrap(), None);
    // A stored "OK" is a value like any other (base64-encoded by the server).
    r.set("ok", "OK").await.unwrap();
    assert_eq!(r.get::<String>("ok").await.unwrap().as_deref(), Some("OK"));
}
