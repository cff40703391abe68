//! Memory limits through the real server: writes over RESP until evictions begin, `used_memory` staying
//! near the limit, evicted keys reaching the AOF as `DEL` (a restart has exactly the surviving keys), the
//! OOM error over REST (status 400, like other command errors), in scripts, transactions and the queue.
//!
//! Its own test binary: it installs the counting allocator (over `System`) so `used_memory` is real, and
//! its tests take turns, since they share the process's one counter.

use std::path::Path;

use larder_engine::memory::{Counting, MemoryConfig, OOM_ERROR, Policy};
use larder_test_support::{QSTASH_TOKEN, TOKEN, TestServer};
use redis::aio::MultiplexedConnection;
use serde_json::{Value, json};

#[global_allocator]
static ALLOC: Counting<std::alloc::System> = Counting::new(std::alloc::System);

/// The tests share the allocation counter: one at a time.
static TURN: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

async fn server(dir: &Path, memory: MemoryConfig) -> TestServer {
    let dir = dir.to_path_buf();
    TestServer::start_with(move |c| {
        c.data_dir = dir;
        c.memory = memory;
        // `always`: the AOF keeps nothing in memory between writes (under `everysec` it keeps up to a
        // second of writes until the fsync, which the limit does not count, like Redis's AOF buffer).
        c.aof.fsync = larder_engine::aof::FsyncPolicy::Always;
    })
    .await
}

async fn con(srv: &TestServer) -> MultiplexedConnection {
    redis::Client::open(srv.redis_url()).unwrap().get_multiplexed_async_connection().await.unwrap()
}

async fn q<T: redis::FromRedisValue>(
    con: &mut MultiplexedConnection,
    args: &[&str],
) -> redis::RedisResult<T> {
    let mut c = redis::cmd(args[0]);
    for a in &args[1..] {
        c.arg(*a);
    }
    c.query_async(con).await
}

async fn rest(srv: &TestServer, path: &str, body: Value) -> (u16, Value) {
    let resp = reqwest::Client::new()
        .post(format!("{}{path}", srv.http_url()))
        .bearer_auth(TOKEN)
        .json(&body)
        .send()
        .await
        .unwrap();
    (resp.status().as_u16(), resp.json().await.unwrap())
}

/// A numeric field of `INFO`.
async fn info(con: &mut MultiplexedConnection, field: &str) -> u64 {
    let text: String = q(con, &["INFO", "all"]).await.unwrap();
    let prefix = format!("{field}:");
    text.lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .unwrap_or_else(|| panic!("{field} in {text}"))
        .trim()
        .parse()
        .unwrap()
}

#[tokio::test]
async fn writes_evict_keep_used_memory_near_the_limit_and_reach_the_aof_as_del() {
    let _turn = TURN.lock().await;
    let dir = tempfile::tempdir().unwrap();
    let policy = MemoryConfig { policy: Policy::AllKeysLru, ..MemoryConfig::default() };
    let srv = server(dir.path(), policy).await;
    let mut c = con(&srv).await;
    let base = info(&mut c, "used_memory").await;
    assert!(base > 0, "the counting allocator is installed");
    let limit = base + (4 << 20);
    let _: () = q(&mut c, &["CONFIG", "SET", "maxmemory", &limit.to_string()]).await.unwrap();
    let value = "v".repeat(10_000);
    let mut highest = 0;
    for i in 0..1000 {
        let _: () = q(&mut c, &["SET", &format!("key:{i:05}"), &value]).await.unwrap();
        if i % 100 == 99 {
            highest = highest.max(info(&mut c, "used_memory").await);
        }
    }
    let evicted = info(&mut c, "evicted_keys").await;
    let keys: u64 = q(&mut c, &["DBSIZE"]).await.unwrap();
    assert!(evicted > 500, "evicted {evicted}");
    assert_eq!(keys + evicted, 1000);
    // Over the limit by at most one write's worth (and the buffers of the requests in flight).
    assert!(highest < limit + (1 << 20), "used {highest} with maxmemory {limit}");
    assert_eq!(info(&mut c, "maxmemory").await, limit);
    // The most recent keys survive.
    let last: Option<String> = q(&mut c, &["GET", "key:00999"]).await.unwrap();
    assert!(last.is_some());
    let survivors: Vec<String> = q(&mut c, &["KEYS", "*"]).await.unwrap();
    drop(c);
    srv.stop().await;

    // The evictions reached the AOF: a restart (without a limit) has exactly the surviving keys.
    let srv = server(dir.path(), MemoryConfig::default()).await;
    let mut c = con(&srv).await;
    let mut again: Vec<String> = q(&mut c, &["KEYS", "*"]).await.unwrap();
    let mut survivors = survivors;
    survivors.sort();
    again.sort();
    assert_eq!(again, survivors);
    srv.stop().await;
}

#[tokio::test]
async fn noeviction_over_rest_and_resp() {
    let _turn = TURN.lock().await;
    let dir = tempfile::tempdir().unwrap();
    let srv = server(dir.path(), MemoryConfig::default()).await;
    let mut c = con(&srv).await;
    let _: () = q(&mut c, &["SET", "a", "1"]).await.unwrap();
    let lib = "#!lua name=lib\nredis.register_function('f', function(keys) return redis.call('SET', keys[1], 'x') end)";
    let _: String = q(&mut c, &["FUNCTION", "LOAD", lib]).await.unwrap();
    // Any heap at all is over one byte: every command that may grow memory is refused.
    let _: () = q(&mut c, &["CONFIG", "SET", "maxmemory", "1"]).await.unwrap();

    let err = q::<()>(&mut c, &["SET", "b", "1"]).await.unwrap_err();
    assert_eq!(err.code(), Some("OOM"));
    assert!(err.to_string().contains("command not allowed when used memory > 'maxmemory'"));
    let got: String = q(&mut c, &["GET", "a"]).await.unwrap();
    assert_eq!(got, "1");

    assert_eq!(rest(&srv, "/", json!(["SET", "b", "1"])).await, (400, json!({"error": OOM_ERROR})));
    assert_eq!(rest(&srv, "/", json!(["GET", "a"])).await, (200, json!({"result": "1"})));
    assert_eq!(rest(&srv, "/", json!(["EXPIRE", "a", 100])).await, (200, json!({"result": 1})));
    assert_eq!(
        rest(&srv, "/", json!(["FCALL", "f", 1, "k"])).await,
        (400, json!({"error": OOM_ERROR}))
    );
    let (status, body) =
        rest(&srv, "/", json!(["EVAL", "return redis.call('SET', KEYS[1], 'x')", 1, "k"])).await;
    assert_eq!(status, 400);
    assert!(body["error"].as_str().unwrap().starts_with(OOM_ERROR), "{body}");
    let (status, body) = rest(&srv, "/pipeline", json!([["GET", "a"], ["SET", "b", "1"]])).await;
    assert_eq!(status, 200);
    assert_eq!(body, json!([{"result": "1"}, {"error": OOM_ERROR}]));
    let (status, body) = rest(&srv, "/multi-exec", json!([["GET", "a"], ["SET", "b", "1"]])).await;
    assert_eq!(status, 400, "{body}");
    assert!(body["error"].as_str().unwrap().starts_with("EXECABORT"), "{body}");
    let (status, _) = rest(&srv, "/multi-exec", json!([["GET", "a"], ["TTL", "a"]])).await;
    assert_eq!(status, 200);
    assert_eq!(rest(&srv, "/", json!(["DEL", "a"])).await, (200, json!({"result": 1})));

    // The queue: a publish is refused whole with the OOM text.
    let resp = reqwest::Client::new()
        .post(format!("{}/v2/publish/http://127.0.0.1:9/x", srv.http_url()))
        .bearer_auth(QSTASH_TOKEN)
        .body("hello")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 507);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body, json!({"error": OOM_ERROR}));

    // Lifting the limit lets writes through again.
    let _: () = q(&mut c, &["CONFIG", "SET", "maxmemory", "0"]).await.unwrap();
    assert_eq!(rest(&srv, "/", json!(["SET", "b", "1"])).await, (200, json!({"result": "OK"})));
    srv.stop().await;
}

#[tokio::test]
async fn memory_usage_and_info_memory() {
    let _turn = TURN.lock().await;
    let dir = tempfile::tempdir().unwrap();
    let srv = server(dir.path(), MemoryConfig::default()).await;
    let mut c = con(&srv).await;
    let before = info(&mut c, "used_memory").await;
    let _: () = q(&mut c, &["SET", "big", &"x".repeat(1 << 20)]).await.unwrap();
    let usage: i64 = q(&mut c, &["MEMORY", "USAGE", "big"]).await.unwrap();
    assert!((1 << 20..(1 << 20) + 4096).contains(&usage), "{usage}");
    let after = info(&mut c, "used_memory").await;
    // The heap grew by about the value (other allocations of the moment aside).
    assert!(after >= before + (1 << 20) - 65536, "{before} -> {after}");
    assert!(info(&mut c, "used_memory_rss").await > 0);
    assert!(info(&mut c, "used_memory_peak").await >= after);
    let text: String = q(&mut c, &["INFO", "memory"]).await.unwrap();
    for field in ["used_memory_human:", "maxmemory_policy:noeviction", "mem_fragmentation_ratio:"] {
        assert!(text.contains(field), "{field} in {text}");
    }
    srv.stop().await;
}

/// A receiver that answers 200 to every request and sends each request's text down a channel.
async fn receiver() -> (String, tokio::sync::mpsc::UnboundedReceiver<String>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            let tx = tx.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 65536];
                let mut len = 0;
                // Headers, then as much body as Content-Length says (small bodies: one or two reads).
                loop {
                    let n = sock.read(&mut buf[len..]).await.unwrap_or(0);
                    len += n;
                    let text = String::from_utf8_lossy(&buf[..len]).into_owned();
                    let done = text.split_once("\r\n\r\n").is_some_and(|(head, body)| {
                        let want = head
                            .lines()
                            .find_map(|l| {
                                l.to_ascii_lowercase()
                                    .strip_prefix("content-length:")
                                    .map(|v| v.trim().parse::<usize>().unwrap_or(0))
                            })
                            .unwrap_or(0);
                        body.len() >= want
                    });
                    if n == 0 || done {
                        let _ = tx.send(text);
                        break;
                    }
                }
                let _ = sock
                    .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
                    .await;
            });
        }
    });
    (url, rx)
}

#[tokio::test]
async fn queue_deliveries_drain_over_the_limit() {
    let _turn = TURN.lock().await;
    let dir = tempfile::tempdir().unwrap();
    let srv = server(dir.path(), MemoryConfig::default()).await;
    let mut c = con(&srv).await;
    let (hook, mut delivered) = receiver().await;
    let resp = reqwest::Client::new()
        .post(format!("{}/v2/publish/{hook}", srv.http_url()))
        .bearer_auth(QSTASH_TOKEN)
        .header("Upstash-Delay", "1s")
        .body("drain me")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200, "{:?}", resp.text().await);
    // Over the limit before the message is due: claiming, delivering and acknowledging still run.
    let _: () = q(&mut c, &["CONFIG", "SET", "maxmemory", "1"]).await.unwrap();
    let got = tokio::time::timeout(std::time::Duration::from_secs(15), delivered.recv())
        .await
        .expect("the message is delivered over the limit")
        .unwrap();
    assert!(got.ends_with("drain me"), "{got}");
    // ... and acknowledged: the message is gone.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let keys: Vec<String> = q(&mut c, &["KEYS", "qstash:*:msg:*"]).await.unwrap();
        if keys.is_empty() {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "still stored: {keys:?}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let _: () = q(&mut c, &["CONFIG", "SET", "maxmemory", "0"]).await.unwrap();
    srv.stop().await;
}
