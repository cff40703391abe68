use std::collections::BTreeSet;

use larder_redis::{ExpireCondition, ScanOptions};

use crate::support::server;

fn now_secs() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_and_exist() {
    let (_s, r) = server().await;
    r.mset([("a", 1), ("b", 2), ("c", 3)]).await.unwrap();
    assert_eq!(r.exists("a").await.unwrap(), 1);
    assert_eq!(r.exists(["a", "a", "nope"]).await.unwrap(), 2);
    assert_eq!(r.touch(["a", "b", "nope"]).await.unwrap(), 2);
    assert_eq!(r.del(["a", "nope"]).await.unwrap(), 1);
    assert_eq!(r.unlink(vec!["b".to_string(), "c".to_string()]).await.unwrap(), 2);
    assert_eq!(r.dbsize().await.unwrap(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expiry() {
    let (_s, r) = server().await;
    r.set("k", "v").await.unwrap();
    assert_eq!(r.ttl("k").await.unwrap(), -1);
    assert_eq!(r.ttl("missing").await.unwrap(), -2);
    assert_eq!(r.pttl("missing").await.unwrap(), -2);
    assert!(r.expire("k", 100).await.unwrap());
    assert!(!r.expire("missing", 100).await.unwrap());
    assert!(!r.expire_if("k", 50, ExpireCondition::Gt).await.unwrap());
    assert!(r.expire_if("k", 50, ExpireCondition::Lt).await.unwrap());
    assert!(!r.expire_if("k", 60, ExpireCondition::Nx).await.unwrap());
    assert!(r.expire_if("k", 60, ExpireCondition::Xx).await.unwrap());
    assert!((1..=60).contains(&r.ttl("k").await.unwrap()));
    assert!(r.pexpire("k", 30_000).await.unwrap());
    assert!((1..=30_000).contains(&r.pttl("k").await.unwrap()));
    assert!(r.expireat("k", now_secs() + 500).await.unwrap());
    assert!((490..=500).contains(&r.ttl("k").await.unwrap()));
    assert!(r.pexpireat("k", (now_secs() + 400) * 1000).await.unwrap());
    assert!((390..=400).contains(&r.ttl("k").await.unwrap()));
    assert!(r.persist("k").await.unwrap());
    assert!(!r.persist("k").await.unwrap());
    assert_eq!(r.ttl("k").await.unwrap(), -1);
    assert!(r.expire("k", 0).await.unwrap());
    assert_eq!(r.exists("k").await.unwrap(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn types_renames_copies() {
    let (_s, r) = server().await;
    r.set("s", "v").await.unwrap();
    r.lpush("l", ["x"]).await.unwrap();
    r.hset("h", "f", 1).await.unwrap();
    r.sadd("set", ["m"]).await.unwrap();
    r.zadd("z", [(1.0, "m")]).await.unwrap();
    assert_eq!(r.key_type("s").await.unwrap(), "string");
    assert_eq!(r.key_type("l").await.unwrap(), "list");
    assert_eq!(r.key_type("h").await.unwrap(), "hash");
    assert_eq!(r.key_type("set").await.unwrap(), "set");
    assert_eq!(r.key_type("z").await.unwrap(), "zset");
    assert_eq!(r.key_type("missing").await.unwrap(), "none");

    r.rename("s", "s2").await.unwrap();
    assert_eq!(r.get::<String>("s2").await.unwrap().as_deref(), Some("v"));
    assert!(r.rename("missing", "x").await.is_err());
    assert!(!r.renamenx("s2", "l").await.unwrap());
    assert!(r.renamenx("s2", "s3").await.unwrap());

    assert!(r.copy("s3", "s4", false).await.unwrap());
    assert!(!r.copy("s3", "l", false).await.unwrap());
    assert!(r.copy("s3", "l", true).await.unwrap());
    assert_eq!(r.get::<String>("l").await.unwrap().as_deref(), Some("v"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_scan_randomkey() {
    let (_s, r) = server().await;
    assert_eq!(r.randomkey().await.unwrap(), None);
    for i in 0..30 {
        r.set(format!("user:{i}"), i).await.unwrap();
    }
    r.lpush("list:1", ["x"]).await.unwrap();
    let mut keys = r.keys("user:1*").await.unwrap();
    keys.sort();
    assert_eq!(keys.len(), 11);
    assert!(r.randomkey().await.unwrap().is_some());

    let mut seen = BTreeSet::new();
    let mut cursor = 0;
    loop {
        let (next, batch) =
            r.scan(cursor, ScanOptions::new().pattern("user:*").count(7)).await.unwrap();
        seen.extend(batch);
        if next == 0 {
            break;
        }
        cursor = next;
    }
    assert_eq!(seen.len(), 30);

    let (_, lists) = r.scan(0, ScanOptions::new().kind("list").count(1000)).await.unwrap();
    assert_eq!(lists, vec!["list:1".to_string()]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_commands() {
    let (_s, r) = server().await;
    assert_eq!(r.ping().await.unwrap(), "PONG");
    assert_eq!(r.echo("hi there").await.unwrap(), "hi there");
    let (secs, micros) = r.time().await.unwrap();
    assert!(secs > 1_600_000_000 && micros < 1_000_000);
    r.set("a", 1).await.unwrap();
    assert_eq!(r.dbsize().await.unwrap(), 1);
    r.flushdb().await.unwrap();
    assert_eq!(r.dbsize().await.unwrap(), 0);
    r.set("a", 1).await.unwrap();
    r.flushall().await.unwrap();
    assert_eq!(r.dbsize().await.unwrap(), 0);
}
