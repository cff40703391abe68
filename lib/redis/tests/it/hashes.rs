use std::collections::{BTreeMap, HashMap};

use larder_redis::{ExpireCondition, Expiry, FieldCondition, ScanOptions};
use serde::Deserialize;

use crate::support::server;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fields() {
    let (_s, r) = server().await;
    assert_eq!(r.hset("h", "name", "Ada").await.unwrap(), 1);
    assert_eq!(r.hset("h", "name", "Ada L.").await.unwrap(), 0);
    assert_eq!(r.hset_multiple("h", [("age", 36), ("zero", 0)]).await.unwrap(), 2);
    assert!(r.hsetnx("h", "new", "x").await.unwrap());
    assert!(!r.hsetnx("h", "new", "y").await.unwrap());
    assert_eq!(r.hget::<String>("h", "name").await.unwrap().as_deref(), Some("Ada L."));
    assert_eq!(r.hget::<i64>("h", "zero").await.unwrap(), Some(0));
    assert_eq!(r.hget::<String>("h", "missing").await.unwrap(), None);
    assert_eq!(r.hget::<String>("missing", "f").await.unwrap(), None);
    assert_eq!(
        r.hmget::<String>("h", ["name", "nope", "new"]).await.unwrap(),
        vec![Some("Ada L.".to_string()), None, Some("x".to_string())]
    );
    assert!(r.hexists("h", "age").await.unwrap());
    assert!(!r.hexists("h", "nope").await.unwrap());
    assert_eq!(r.hlen("h").await.unwrap(), 4);
    assert_eq!(r.hstrlen("h", "name").await.unwrap(), 6);
    let mut k = r.hkeys("h").await.unwrap();
    k.sort();
    assert_eq!(k, ["age", "name", "new", "zero"]);
    let mut v = r.hvals::<String>("h").await.unwrap();
    v.sort();
    assert_eq!(v, ["0", "36", "Ada L.", "x"]);
    assert_eq!(r.hincrby("h", "age", 1).await.unwrap(), 37);
    assert_eq!(r.hincrbyfloat("h", "age", 0.5).await.unwrap(), 37.5);
    assert_eq!(r.hdel("h", ["new", "nope"]).await.unwrap(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hgetall_into_maps_and_structs() {
    let (_s, r) = server().await;
    r.hset_multiple("u", [("name", "Ada"), ("age", "36"), ("admin", "false")]).await.unwrap();
    let m: HashMap<String, String> = r.hgetall("u").await.unwrap();
    assert_eq!(m["age"], "36");
    let b: BTreeMap<String, serde_json::Value> = r.hgetall("u").await.unwrap();
    assert_eq!(b["admin"], serde_json::json!(false));
    #[derive(Deserialize, Debug, PartialEq)]
    struct U {
        name: String,
        age: u32,
        admin: bool,
    }
    assert_eq!(r.hgetall::<U>("u").await.unwrap(), U { name: "Ada".into(), age: 36, admin: false });
    let empty: HashMap<String, String> = r.hgetall("missing").await.unwrap();
    assert!(empty.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_fields_and_scan() {
    let (_s, r) = server().await;
    let fields: Vec<(String, i64)> = (0..20).map(|i| (format!("f{i}"), i)).collect();
    r.hset_multiple("h", fields.iter().map(|(f, v)| (f.as_str(), *v))).await.unwrap();
    let some = r.hrandfield("h", 5).await.unwrap();
    assert_eq!(some.len(), 5);
    let with = r.hrandfield_withvalues::<i64>("h", 3).await.unwrap();
    assert_eq!(with.len(), 3);
    for (f, v) in with {
        assert_eq!(f, format!("f{v}"));
    }
    let mut seen = Vec::new();
    let mut cursor = 0;
    loop {
        let (next, batch) =
            r.hscan::<i64>("h", cursor, ScanOptions::new().pattern("f1*").count(5)).await.unwrap();
        seen.extend(batch);
        if next == 0 {
            break;
        }
        cursor = next;
    }
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), 11);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn field_expiry() {
    let (_s, r) = server().await;
    r.hset_multiple("h", [("a", 1), ("b", 2), ("c", 3)]).await.unwrap();
    assert_eq!(r.hexpire("h", 100, ["a", "nope"]).await.unwrap(), vec![1, -2]);
    assert_eq!(r.hexpire_if("h", 200, ExpireCondition::Lt, "a").await.unwrap(), vec![0]);
    assert_eq!(r.hexpire_if("h", 50, ExpireCondition::Lt, "a").await.unwrap(), vec![1]);
    let t = r.httl("h", ["a", "b", "nope"]).await.unwrap();
    assert!((1..=50).contains(&t[0]) && t[1] == -1 && t[2] == -2, "{t:?}");
    assert_eq!(r.hpexpire("h", 80_000, ["b"]).await.unwrap(), vec![1]);
    assert!((1..=80_000).contains(&r.hpttl("h", ["b"]).await.unwrap()[0]));
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs()
        as i64;
    assert_eq!(r.hexpireat("h", now + 300, ["c"]).await.unwrap(), vec![1]);
    assert_eq!(r.hexpiretime("h", ["c"]).await.unwrap(), vec![now + 300]);
    assert_eq!(r.hpexpireat("h", (now + 400) * 1000, ["c"]).await.unwrap(), vec![1]);
    assert_eq!(r.hpexpiretime("h", ["c"]).await.unwrap(), vec![(now + 400) * 1000]);
    assert_eq!(r.hpersist("h", ["c", "nope"]).await.unwrap(), vec![1, -2]);
    assert_eq!(r.httl("h", ["c"]).await.unwrap(), vec![-1]);
    // An expiry in the past deletes the field.
    assert_eq!(r.hexpireat("h", now - 10, ["c"]).await.unwrap(), vec![2]);
    assert!(!r.hexists("h", "c").await.unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hgetdel_hgetex_hsetex() {
    let (_s, r) = server().await;
    assert!(r.hsetex("h", None, Some(Expiry::Ex(100)), [("a", "1"), ("b", "2")]).await.unwrap());
    assert!((1..=100).contains(&r.httl("h", ["a"]).await.unwrap()[0]));
    assert!(!r.hsetex("h", Some(FieldCondition::Fnx), None, [("a", "x")]).await.unwrap());
    assert!(r.hsetex("h", Some(FieldCondition::Fxx), None, [("a", "x")]).await.unwrap());
    assert!(r.hsetex("h", Some(FieldCondition::Fnx), None, [("c", 3)]).await.unwrap());
    assert_eq!(
        r.hgetex::<String>("h", Expiry::Px(50_000), ["c", "nope"]).await.unwrap(),
        vec![Some("3".to_string()), None]
    );
    assert!((1..=50_000).contains(&r.hpttl("h", ["c"]).await.unwrap()[0]));
    assert_eq!(
        r.hgetdel::<String>("h", ["a", "nope"]).await.unwrap(),
        vec![Some("x".to_string()), None]
    );
    assert!(!r.hexists("h", "a").await.unwrap());
}
