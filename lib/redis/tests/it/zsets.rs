use larder_redis::{ScanOptions, ZAddOptions, ZRangeOptions};

use crate::support::server;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scores_and_ranks() {
    let (_s, r) = server().await;
    assert_eq!(r.zadd("z", [(1.0, "a"), (2.0, "b"), (3.5, "c")]).await.unwrap(), 3);
    assert_eq!(
        r.zadd_options("z", ZAddOptions::new().nx(), [(9.0, "a"), (4.0, "d")]).await.unwrap(),
        1
    );
    assert_eq!(r.zscore("z", "a").await.unwrap(), Some(1.0));
    assert_eq!(
        r.zadd_options("z", ZAddOptions::new().xx().gt().ch(), [(0.5, "a"), (5.0, "b")])
            .await
            .unwrap(),
        1
    );
    assert_eq!(r.zadd_options("z", ZAddOptions::new().lt(), [(0.5, "a")]).await.unwrap(), 0);
    assert_eq!(r.zscore("z", "a").await.unwrap(), Some(0.5));
    assert_eq!(r.zscore("z", "nope").await.unwrap(), None);
    assert_eq!(r.zmscore("z", ["a", "nope", "c"]).await.unwrap(), [Some(0.5), None, Some(3.5)]);
    assert_eq!(r.zincrby("z", 2.25, "a").await.unwrap(), 2.75);
    assert_eq!(r.zcard("z").await.unwrap(), 4);
    assert_eq!(r.zcount("z", 2, 4).await.unwrap(), 3);
    assert_eq!(r.zcount("z", "-inf", "+inf").await.unwrap(), 4);
    assert_eq!(r.zcount("z", "(2.75", f64::INFINITY).await.unwrap(), 3);
    assert_eq!(r.zrank("z", "a").await.unwrap(), Some(0));
    assert_eq!(r.zrevrank("z", "a").await.unwrap(), Some(3));
    assert_eq!(r.zrank("z", "nope").await.unwrap(), None);
    assert_eq!(r.zrem("z", ["a", "nope"]).await.unwrap(), 1);
    // Infinite scores come back as such.
    r.zadd("inf", [(f64::INFINITY, "top"), (f64::NEG_INFINITY, "bottom")]).await.unwrap();
    assert_eq!(r.zscore("inf", "top").await.unwrap(), Some(f64::INFINITY));
    assert_eq!(
        r.zrange_withscores::<String>("inf", 0, 0).await.unwrap(),
        [("bottom".to_string(), f64::NEG_INFINITY)]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ranges() {
    let (_s, r) = server().await;
    r.zadd("z", [(1.0, "a"), (2.0, "b"), (3.0, "c"), (4.0, "d")]).await.unwrap();
    assert_eq!(r.zrange::<String>("z", 0, -1).await.unwrap(), ["a", "b", "c", "d"]);
    assert_eq!(r.zrevrange::<String>("z", 0, 1).await.unwrap(), ["d", "c"]);
    assert_eq!(
        r.zrange_withscores::<String>("z", 0, 1).await.unwrap(),
        [("a".to_string(), 1.0), ("b".to_string(), 2.0)]
    );
    assert_eq!(r.zrangebyscore::<String>("z", "(1", 3).await.unwrap(), ["b", "c"]);
    assert_eq!(
        r.zrange_options::<String>("z", 1, 4, ZRangeOptions::new().by_score().limit(1, 2))
            .await
            .unwrap(),
        ["b", "c"]
    );
    assert_eq!(
        r.zrange_options::<String>("z", "+inf", "-inf", ZRangeOptions::new().by_score().rev())
            .await
            .unwrap(),
        ["d", "c", "b", "a"]
    );
    assert_eq!(
        r.zrange_options_withscores::<String>("z", 3, 10, ZRangeOptions::new().by_score())
            .await
            .unwrap(),
        [("c".to_string(), 3.0), ("d".to_string(), 4.0)]
    );
    r.zadd("lex", [(0.0, "apple"), (0.0, "banana"), (0.0, "cherry")]).await.unwrap();
    assert_eq!(
        r.zrange_options::<String>("lex", "[b", "+", ZRangeOptions::new().by_lex()).await.unwrap(),
        ["banana", "cherry"]
    );
    assert_eq!(r.zlexcount("lex", "-", "(c").await.unwrap(), 2);
    assert_eq!(r.zremrangebylex("lex", "[a", "(b").await.unwrap(), 1);
    assert_eq!(r.zremrangebyrank("z", 0, 0).await.unwrap(), 1);
    assert_eq!(r.zremrangebyscore("z", 3, "+inf").await.unwrap(), 2);
    assert_eq!(r.zrange::<String>("z", 0, -1).await.unwrap(), ["b"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pops_and_random() {
    let (_s, r) = server().await;
    r.zadd("z", [(1.0, "a"), (2.0, "b"), (3.0, "c"), (4.0, "d")]).await.unwrap();
    assert_eq!(r.zpopmin::<String>("z").await.unwrap(), Some(("a".to_string(), 1.0)));
    assert_eq!(r.zpopmax::<String>("z").await.unwrap(), Some(("d".to_string(), 4.0)));
    let m = r.zrandmember::<String>("z").await.unwrap().unwrap();
    assert!(m == "b" || m == "c");
    assert_eq!(r.zpopmin_count::<String>("z", 1).await.unwrap(), [("b".to_string(), 2.0)]);
    assert_eq!(r.zpopmax_count::<String>("z", 5).await.unwrap(), [("c".to_string(), 3.0)]);
    assert_eq!(r.zpopmin::<String>("z").await.unwrap(), None);
    assert_eq!(r.zpopmax::<String>("z").await.unwrap(), None);
    assert_eq!(r.zrandmember::<String>("z").await.unwrap(), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn combinations() {
    let (_s, r) = server().await;
    r.zadd("a", [(1.0, "x"), (2.0, "y")]).await.unwrap();
    r.zadd("b", [(10.0, "y"), (20.0, "z")]).await.unwrap();
    assert_eq!(r.zunion::<String>(["a", "b"]).await.unwrap(), ["x", "y", "z"]);
    assert_eq!(r.zinter::<String>(["a", "b"]).await.unwrap(), ["y"]);
    assert_eq!(r.zdiff::<String>(["a", "b"]).await.unwrap(), ["x"]);
    assert_eq!(r.zunionstore("u", ["a", "b"]).await.unwrap(), 3);
    assert_eq!(r.zscore("u", "y").await.unwrap(), Some(12.0));
    assert_eq!(r.zinterstore("i", ["a", "b"]).await.unwrap(), 1);
    assert_eq!(r.zdiffstore("d", ["b", "a"]).await.unwrap(), 1);
    assert_eq!(r.zrange::<String>("d", 0, -1).await.unwrap(), ["z"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scan_members() {
    let (_s, r) = server().await;
    let members: Vec<(f64, String)> = (0..40).map(|i| (f64::from(i), format!("m{i}"))).collect();
    r.zadd("z", members.iter().map(|(s, m)| (*s, m))).await.unwrap();
    let mut seen = Vec::new();
    let mut cursor = 0;
    loop {
        let (next, batch) =
            r.zscan::<String>("z", cursor, ScanOptions::new().count(8)).await.unwrap();
        seen.extend(batch);
        if next == 0 {
            break;
        }
        cursor = next;
    }
    seen.sort_by(|a, b| a.1.total_cmp(&b.1));
    seen.dedup();
    assert_eq!(seen.len(), 40);
    assert_eq!(seen[39], ("m39".to_string(), 39.0));
}
