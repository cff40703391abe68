use larder_redis::{Direction, InsertPosition, LPosOptions};

use crate::support::server;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn push_pop_range() {
    let (_s, r) = server().await;
    assert_eq!(r.rpush("l", ["b", "c"]).await.unwrap(), 2);
    assert_eq!(r.lpush("l", ["a"]).await.unwrap(), 3);
    assert_eq!(r.lpushx("nope", ["x"]).await.unwrap(), 0);
    assert_eq!(r.rpushx("l", ["d"]).await.unwrap(), 4);
    assert_eq!(r.lrange::<String>("l", 0, -1).await.unwrap(), ["a", "b", "c", "d"]);
    assert_eq!(r.llen("l").await.unwrap(), 4);
    assert_eq!(r.lindex::<String>("l", -1).await.unwrap().as_deref(), Some("d"));
    assert_eq!(r.lindex::<String>("l", 10).await.unwrap(), None);
    assert_eq!(r.lpop::<String>("l").await.unwrap().as_deref(), Some("a"));
    assert_eq!(r.rpop::<String>("l").await.unwrap().as_deref(), Some("d"));
    assert_eq!(r.lpop_count::<String>("l", 5).await.unwrap(), ["b", "c"]);
    assert_eq!(r.lpop::<String>("l").await.unwrap(), None);
    assert!(r.lpop_count::<String>("l", 5).await.unwrap().is_empty());
    r.rpush("n", [1, 2, 3]).await.unwrap();
    assert_eq!(r.rpop_count::<i64>("n", 2).await.unwrap(), [3, 2]);
    assert!(r.rpop_count::<i64>("missing", 2).await.unwrap().is_empty());
    // Falsy elements are elements.
    r.rpush("f", [0]).await.unwrap();
    assert_eq!(r.lpop::<i64>("f").await.unwrap(), Some(0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn edit() {
    let (_s, r) = server().await;
    r.rpush("l", ["a", "b", "a", "c", "a"]).await.unwrap();
    r.lset("l", 1, "B").await.unwrap();
    assert!(r.lset("l", 99, "x").await.is_err());
    assert_eq!(r.linsert("l", InsertPosition::Before, "c", "x").await.unwrap(), 6);
    assert_eq!(r.linsert("l", InsertPosition::After, "c", "y").await.unwrap(), 7);
    assert_eq!(r.linsert("l", InsertPosition::After, "nope", "y").await.unwrap(), -1);
    assert_eq!(r.lrange::<String>("l", 0, -1).await.unwrap(), ["a", "B", "a", "x", "c", "y", "a"]);
    assert_eq!(r.lpos("l", "a", LPosOptions::new()).await.unwrap(), Some(0));
    assert_eq!(r.lpos("l", "a", LPosOptions::new().rank(2)).await.unwrap(), Some(2));
    assert_eq!(r.lpos("l", "a", LPosOptions::new().rank(-1)).await.unwrap(), Some(6));
    assert_eq!(r.lpos("l", "a", LPosOptions::new().rank(3).maxlen(3)).await.unwrap(), None);
    assert_eq!(r.lpos("l", "zzz", LPosOptions::new()).await.unwrap(), None);
    assert_eq!(r.lpos_count("l", "a", 0, LPosOptions::new()).await.unwrap(), [0, 2, 6]);
    assert_eq!(r.lpos_count("l", "a", 2, LPosOptions::new().rank(-1)).await.unwrap(), [6, 2]);
    assert_eq!(r.lrem("l", -2, "a").await.unwrap(), 2);
    assert_eq!(r.lrange::<String>("l", 0, -1).await.unwrap(), ["a", "B", "x", "c", "y"]);
    r.ltrim("l", 1, 3).await.unwrap();
    assert_eq!(r.lrange::<String>("l", 0, -1).await.unwrap(), ["B", "x", "c"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn moves() {
    let (_s, r) = server().await;
    r.rpush("src", ["1", "2", "3"]).await.unwrap();
    assert_eq!(
        r.lmove::<i64>("src", "dst", Direction::Left, Direction::Right).await.unwrap(),
        Some(1)
    );
    assert_eq!(
        r.lmove::<i64>("src", "dst", Direction::Right, Direction::Left).await.unwrap(),
        Some(3)
    );
    assert_eq!(r.rpoplpush::<i64>("src", "dst").await.unwrap(), Some(2));
    assert_eq!(r.rpoplpush::<i64>("src", "dst").await.unwrap(), None);
    assert_eq!(r.lrange::<i64>("dst", 0, -1).await.unwrap(), [2, 3, 1]);
}
