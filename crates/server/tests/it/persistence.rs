//! The append-only file through the real server: restarts keep the data (written over REST and RESP, all
//! types, TTLs, a rewrite in between), `always` loses no acknowledged write in a crash, `everysec` loses
//! at most about a second, `INFO persistence`, `BGREWRITEAOF`, and `larder check-aof`.

use std::path::Path;
use std::time::{Duration, Instant};

use larder_engine::aof::FsyncPolicy;
use larder_test_support::{TOKEN, TestServer};
use redis::aio::MultiplexedConnection;
use serde_json::{Value, json};

async fn server(dir: &Path, fsync: FsyncPolicy) -> TestServer {
    let dir = dir.to_path_buf();
    TestServer::start_with(move |c| {
        c.data_dir = dir;
        c.aof.fsync = fsync;
    })
    .await
}

async fn con(srv: &TestServer) -> MultiplexedConnection {
    redis::Client::open(srv.redis_url()).unwrap().get_multiplexed_async_connection().await.unwrap()
}

async fn rest(srv: &TestServer, cmd: Value) -> Value {
    let resp = reqwest::Client::new()
        .post(srv.http_url())
        .bearer_auth(TOKEN)
        .json(&cmd)
        .send()
        .await
        .unwrap();
    resp.json().await.unwrap()
}

async fn q<T: redis::FromRedisValue>(con: &mut MultiplexedConnection, args: &[&str]) -> T {
    let mut c = redis::cmd(args[0]);
    for a in &args[1..] {
        c.arg(*a);
    }
    c.query_async(con).await.unwrap()
}

#[tokio::test]
async fn a_restart_keeps_the_data() {
    let dir = tempfile::tempdir().unwrap();
    let srv = server(dir.path(), FsyncPolicy::EverySec).await;
    let mut c = con(&srv).await;
    let _: () = q(&mut c, &["SET", "s", "hello"]).await;
    let _: () = q(&mut c, &["SET", "ttl", "x", "EX", "1000"]).await;
    let _: i64 = q(&mut c, &["RPUSH", "l", "a", "b", "c"]).await;
    let _: i64 = q(&mut c, &["HSET", "h", "f", "v", "g", "w"]).await;
    let _: Vec<i64> = q(&mut c, &["HEXPIRE", "h", "1000", "FIELDS", "1", "g"]).await;
    let _: i64 = q(&mut c, &["SADD", "set", "1", "2", "x"]).await;
    let _: i64 = q(&mut c, &["ZADD", "z", "1.5", "a", "-2", "b"]).await;
    assert_eq!(rest(&srv, json!(["INCRBY", "n", 41])).await, json!({"result": 41}));
    assert_eq!(
        rest(&srv, json!(["EVAL", "redis.call('INCR', KEYS[1]); return 1", 1, "n"])).await,
        json!({"result": 1})
    );
    srv.stop().await;

    let srv = server(dir.path(), FsyncPolicy::EverySec).await;
    let mut c = con(&srv).await;
    let s: String = q(&mut c, &["GET", "s"]).await;
    assert_eq!(s, "hello");
    let ttl: i64 = q(&mut c, &["TTL", "ttl"]).await;
    assert!((990..=1000).contains(&ttl), "{ttl}");
    let l: Vec<String> = q(&mut c, &["LRANGE", "l", "0", "-1"]).await;
    assert_eq!(l, ["a", "b", "c"]);
    let h: Vec<i64> = q(&mut c, &["HTTL", "h", "FIELDS", "2", "f", "g"]).await;
    assert_eq!(h[0], -1);
    assert!(h[1] > 990, "{h:?}");
    let card: i64 = q(&mut c, &["SCARD", "set"]).await;
    assert_eq!(card, 3);
    let z: Vec<String> = q(&mut c, &["ZRANGE", "z", "0", "-1", "WITHSCORES"]).await;
    assert_eq!(z, ["b", "-2", "a", "1.5"]);
    assert_eq!(rest(&srv, json!(["GET", "n"])).await, json!({"result": "42"}));
    srv.stop().await;
}

#[tokio::test]
async fn bgrewriteaof_compacts_and_the_restart_still_has_everything() {
    let dir = tempfile::tempdir().unwrap();
    let srv = server(dir.path(), FsyncPolicy::Always).await;
    let mut c = con(&srv).await;
    for i in 0..500 {
        let _: i64 = q(&mut c, &["INCR", "counter"]).await;
        let _: () = q(&mut c, &["SET", &format!("k{}", i % 50), &i.to_string()]).await;
    }
    let reply: String = q(&mut c, &["BGREWRITEAOF"]).await;
    assert_eq!(reply, "Background append only file rewriting started");
    // Writes go on during the rewrite.
    for i in 0..100 {
        let _: i64 = q(&mut c, &["RPUSH", "during", &i.to_string()]).await;
    }
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let info: String = q(&mut c, &["INFO", "persistence"]).await;
        if info.contains("aof_rewrite_in_progress:0") && info.contains("aof_rewrites:1") {
            assert!(info.contains("aof_last_bgrewrite_status:ok"), "{info}");
            assert!(info.contains("aof_enabled:1"), "{info}");
            break;
        }
        assert!(Instant::now() < deadline, "the rewrite did not finish: {info}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    srv.stop().await;
    let files: Vec<String> = std::fs::read_dir(dir.path().join("appendonly"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert!(files.contains(&"appendonly.aof.2.base.aof".to_string()), "{files:?}");
    assert_eq!(files.len(), 3, "{files:?}");

    let srv = server(dir.path(), FsyncPolicy::Always).await;
    let mut c = con(&srv).await;
    let n: i64 = q(&mut c, &["GET", "counter"]).await;
    assert_eq!(n, 500);
    let len: i64 = q(&mut c, &["LLEN", "during"]).await;
    assert_eq!(len, 100);
    let v: String = q(&mut c, &["GET", "k49"]).await;
    assert_eq!(v, "499");
    srv.stop().await;
}

#[tokio::test]
async fn always_loses_no_acknowledged_write_in_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    let srv = server(dir.path(), FsyncPolicy::Always).await;
    // Several concurrent writers over RESP and REST; every acknowledged INCR is counted.
    let mut tasks = Vec::new();
    for w in 0..4 {
        let mut c = con(&srv).await;
        tasks.push(tokio::spawn(async move {
            let mut acked = 0i64;
            for _ in 0..100 {
                let n: i64 = q(&mut c, &["INCR", &format!("w{w}")]).await;
                acked = n;
            }
            (format!("w{w}"), acked)
        }));
    }
    let url = srv.http_url();
    tasks.push(tokio::spawn(async move {
        let http = reqwest::Client::new();
        let mut acked = 0;
        for _ in 0..50 {
            let v: Value = http
                .post(&url)
                .bearer_auth(TOKEN)
                .json(&json!(["INCR", "rest"]))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            acked = v["result"].as_i64().unwrap();
        }
        ("rest".to_string(), acked)
    }));
    let mut acked = Vec::new();
    for t in tasks {
        acked.push(t.await.unwrap());
    }
    srv.crash().await;

    let srv = server(dir.path(), FsyncPolicy::Always).await;
    let mut c = con(&srv).await;
    for (key, n) in acked {
        let got: i64 = q(&mut c, &["GET", &key]).await;
        assert!(got >= n, "{key}: acknowledged {n}, found {got}");
    }
    srv.stop().await;
}

#[tokio::test]
async fn everysec_loses_at_most_about_a_second() {
    let dir = tempfile::tempdir().unwrap();
    let srv = server(dir.path(), FsyncPolicy::EverySec).await;
    let mut c = con(&srv).await;
    let started = Instant::now();
    let mut acked_at = Vec::new();
    while started.elapsed() < Duration::from_millis(2500) {
        let n: i64 = q(&mut c, &["INCR", "n"]).await;
        acked_at.push((n, started.elapsed()));
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let crashed_at = started.elapsed();
    srv.crash().await;
    let srv = server(dir.path(), FsyncPolicy::EverySec).await;
    let mut c = con(&srv).await;
    let got: i64 = q(&mut c, &["GET", "n"]).await;
    // Everything acknowledged more than ~1 s before the crash is there.
    let must: i64 = acked_at
        .iter()
        .filter(|(_, t)| *t + Duration::from_millis(1200) < crashed_at)
        .map(|(n, _)| *n)
        .max()
        .unwrap();
    assert!(got >= must, "found {got}, acknowledged {must} more than a second before the crash");
    srv.stop().await;
}

#[tokio::test]
async fn appendonly_no_keeps_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_path_buf();
    let srv = TestServer::start_with(move |c| {
        c.data_dir = d;
        c.aof.enabled = false;
    })
    .await;
    let mut c = con(&srv).await;
    let _: () = q(&mut c, &["SET", "k", "v"]).await;
    let info: String = q(&mut c, &["INFO", "persistence"]).await;
    assert!(info.contains("aof_enabled:0"), "{info}");
    let err = redis::cmd("BGREWRITEAOF").query_async::<String>(&mut c).await.unwrap_err();
    assert!(err.to_string().contains("disabled"), "{err}");
    srv.stop().await;
    assert!(!dir.path().join("appendonly").exists());
}

#[test]
fn check_aof_reports_and_fixes_a_torn_tail() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("appendonly.aof.1.incr.aof");
    std::fs::write(&file, b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n*2\r\n$3\r\nDEL\r\n$1")
        .unwrap();
    let larder = env!("CARGO_BIN_EXE_larder");
    let out = std::process::Command::new(larder).arg("check-aof").arg(&file).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("bad record at offset 27"), "{text}");
    assert!(text.contains("--fix"), "{text}");
    let out = std::process::Command::new(larder)
        .args(["check-aof", "--fix"])
        .arg(&file)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("truncated from 42 to 27 bytes"), "{text}");
    assert_eq!(std::fs::metadata(&file).unwrap().len(), 27);
    let out = std::process::Command::new(larder).arg("check-aof").arg(&file).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains("OK, 1 records"));
}

#[tokio::test]
async fn a_damaged_file_refuses_to_start_with_the_repair_command() {
    let dir = tempfile::tempdir().unwrap();
    let srv = server(dir.path(), FsyncPolicy::Always).await;
    let mut c = con(&srv).await;
    for i in 0..3 {
        let _: () = q(&mut c, &["SET", &format!("k{i}"), "v"]).await;
    }
    srv.stop().await;
    let incr = dir.path().join("appendonly/appendonly.aof.1.incr.aof");
    let mut data = std::fs::read(&incr).unwrap();
    data[30] = b'#';
    std::fs::write(&incr, &data).unwrap();
    let config = larder_test_support::test_config(dir.path().to_path_buf());
    let err = larder_server::start(config).await.unwrap_err();
    let msg = format!("{err:#}");
    assert!(msg.contains("appendonly.aof.1.incr.aof"), "{msg}");
    assert!(msg.contains("offset"), "{msg}");
    assert!(msg.contains("larder check-aof --fix"), "{msg}");
}

#[test]
fn flags_environment_and_file_configure_the_aof() {
    let dir = tempfile::tempdir().unwrap();
    let base = larder_server::Args {
        token: Some("a-long-token".into()),
        read_only_token: Some("another-token".into()),
        data_dir: Some(dir.path().to_path_buf()),
        ..Default::default()
    };
    let c = larder_server::Config::resolve(base.clone()).unwrap();
    assert!(c.aof.enabled);
    assert_eq!(c.aof.fsync, FsyncPolicy::EverySec);
    assert_eq!((c.aof.auto_rewrite_percentage, c.aof.auto_rewrite_min_size), (100, 64 << 20));
    let c = larder_server::Config::resolve(larder_server::Args {
        appendonly: Some("no".into()),
        appendfsync: Some("always".into()),
        auto_aof_rewrite_percentage: Some(0),
        ..base.clone()
    })
    .unwrap();
    assert!(!c.aof.enabled);
    assert_eq!(c.aof.fsync, FsyncPolicy::Always);
    assert_eq!(c.aof.auto_rewrite_percentage, 0);
    let err = larder_server::Config::resolve(larder_server::Args {
        appendfsync: Some("sometimes".into()),
        ..base.clone()
    })
    .unwrap_err();
    assert!(format!("{err:#}").contains("always, everysec or no"), "{err:#}");
    let file = dir.path().join("larder.toml");
    std::fs::write(
        &file,
        "appendonly = false\nappendfsync = \"no\"\nauto_aof_rewrite_min_size = 1024\n",
    )
    .unwrap();
    let c =
        larder_server::Config::resolve(larder_server::Args { config: Some(file), ..base }).unwrap();
    assert!(!c.aof.enabled);
    assert_eq!(c.aof.fsync, FsyncPolicy::No);
    assert_eq!(c.aof.auto_rewrite_min_size, 1024);
}
