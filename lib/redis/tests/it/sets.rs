use std::collections::BTreeSet;

use larder_redis::ScanOptions;

use crate::support::server;

fn sorted(v: Vec<String>) -> Vec<String> {
    let mut v = v;
    v.sort();
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn members() {
    let (_s, r) = server().await;
    assert_eq!(r.sadd("s", ["a", "b", "c", "a"]).await.unwrap(), 3);
    assert_eq!(r.scard("s").await.unwrap(), 3);
    assert!(r.sismember("s", "a").await.unwrap());
    assert!(!r.sismember("s", "z").await.unwrap());
    assert_eq!(r.smismember("s", ["a", "z"]).await.unwrap(), [true, false]);
    assert_eq!(sorted(r.smembers("s").await.unwrap()), ["a", "b", "c"]);
    assert_eq!(r.srem("s", ["a", "z"]).await.unwrap(), 1);
    let m = r.srandmember::<String>("s").await.unwrap().unwrap();
    assert!(m == "b" || m == "c");
    assert_eq!(r.srandmember_count::<String>("s", 5).await.unwrap().len(), 2);
    assert_eq!(r.srandmember_count::<String>("s", -5).await.unwrap().len(), 5);
    assert_eq!(r.srandmember::<String>("missing").await.unwrap(), None);
    let p = r.spop::<String>("s").await.unwrap().unwrap();
    assert!(p == "b" || p == "c");
    assert_eq!(r.spop_count::<String>("s", 5).await.unwrap().len(), 1);
    assert_eq!(r.spop::<String>("s").await.unwrap(), None);
    assert!(r.spop_count::<String>("s", 5).await.unwrap().is_empty());
    // Numbers are members like any other value.
    r.sadd("n", [0, 1]).await.unwrap();
    let mut n = r.smembers::<i64>("n").await.unwrap();
    n.sort();
    assert_eq!(n, [0, 1]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn algebra() {
    let (_s, r) = server().await;
    r.sadd("a", ["1", "2", "3"]).await.unwrap();
    r.sadd("b", ["2", "3", "4"]).await.unwrap();
    assert_eq!(sorted(r.sinter(["a", "b"]).await.unwrap()), ["2", "3"]);
    assert_eq!(sorted(r.sunion(["a", "b"]).await.unwrap()), ["1", "2", "3", "4"]);
    assert_eq!(sorted(r.sdiff(["a", "b"]).await.unwrap()), ["1"]);
    assert_eq!(r.sinterstore("i", ["a", "b"]).await.unwrap(), 2);
    assert_eq!(r.sunionstore("u", ["a", "b"]).await.unwrap(), 4);
    assert_eq!(r.sdiffstore("d", ["b", "a"]).await.unwrap(), 1);
    assert_eq!(sorted(r.smembers("d").await.unwrap()), ["4"]);
    assert_eq!(r.sintercard(["a", "b"], None).await.unwrap(), 2);
    assert_eq!(r.sintercard(["a", "b"], Some(1)).await.unwrap(), 1);
    assert!(r.smove("a", "b", "1").await.unwrap());
    assert!(!r.smove("a", "b", "1").await.unwrap());
    assert_eq!(r.scard("b").await.unwrap(), 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scan_members() {
    let (_s, r) = server().await;
    let members: Vec<String> = (0..50).map(|i| format!("m{i}")).collect();
    r.sadd("s", &members).await.unwrap();
    let mut seen = BTreeSet::new();
    let mut cursor = 0;
    loop {
        let (next, batch) =
            r.sscan::<String>("s", cursor, ScanOptions::new().count(10)).await.unwrap();
        seen.extend(batch);
        if next == 0 {
            break;
        }
        cursor = next;
    }
    assert_eq!(seen.len(), 50);
}
