//! The RESP listener with a real Redis client and raw sockets.

use larder_test_support::{READ_ONLY_TOKEN, TOKEN, TestServer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

async fn raw(srv: &TestServer, input: &[u8]) -> String {
    let mut s = TcpStream::connect(srv.resp_addr()).await.unwrap();
    s.write_all(input).await.unwrap();
    s.shutdown().await.unwrap();
    let mut out = Vec::new();
    tokio::time::timeout(std::time::Duration::from_secs(10), s.read_to_end(&mut out))
        .await
        .unwrap()
        .unwrap();
    String::from_utf8_lossy(&out).into_owned()
}

#[tokio::test]
async fn redis_client_commands() {
    let srv = TestServer::start().await;
    let client = redis::Client::open(srv.redis_url()).unwrap();
    let mut con = client.get_multiplexed_async_connection().await.unwrap();
    let _: () = redis::cmd("SET").arg("k").arg("v").query_async(&mut con).await.unwrap();
    let v: String = redis::cmd("GET").arg("k").query_async(&mut con).await.unwrap();
    assert_eq!(v, "v");
    let n: i64 = redis::cmd("INCRBY").arg("n").arg(5).query_async(&mut con).await.unwrap();
    assert_eq!(n, 5);
    let (a, b): (i64, i64) =
        redis::pipe().incr("n", 1).incr("n", 1).query_async(&mut con).await.unwrap();
    assert_eq!((a, b), (6, 7));
    let err = redis::cmd("INCR").arg("k").query_async::<i64>(&mut con).await.unwrap_err();
    assert!(err.to_string().contains("not an integer"), "{err}");
}

#[tokio::test]
async fn auth_is_required_and_read_only_refuses_writes() {
    let srv = TestServer::start().await;
    let out = raw(&srv, b"PING\r\nAUTH wrong\r\nAUTH default wrong\r\n").await;
    assert_eq!(
        out,
        "-NOAUTH Authentication required.\r\n-WRONGPASS invalid username-password pair or user is disabled.\r\n-WRONGPASS invalid username-password pair or user is disabled.\r\n"
    );
    let out = raw(&srv, format!("AUTH {TOKEN}\r\nSET k v\r\nGET k\r\n").as_bytes()).await;
    assert_eq!(out, "+OK\r\n+OK\r\n$1\r\nv\r\n");
    let out = raw(&srv, format!("AUTH {READ_ONLY_TOKEN}\r\nGET k\r\nSET k x\r\n").as_bytes()).await;
    assert_eq!(
        out,
        "+OK\r\n$1\r\nv\r\n-NOPERM this user has no permissions to run the 'set' command or its subcommand\r\n"
    );
}

#[tokio::test]
async fn pipelining_hello_and_quit() {
    let srv = TestServer::start().await;
    let mut input = format!("*2\r\n$4\r\nAUTH\r\n${}\r\n{TOKEN}\r\n", TOKEN.len()).into_bytes();
    for i in 0..100 {
        input.extend_from_slice(format!("*2\r\n$4\r\nINCR\r\n$1\r\n{}\r\n", i % 2).as_bytes());
    }
    input.extend_from_slice(b"HELLO 3\r\nDEL nothing\r\nQUIT\r\nPING\r\n");
    let out = raw(&srv, &input).await;
    assert!(out.starts_with("+OK\r\n:1\r\n:1\r\n:2\r\n:2\r\n"), "{out}");
    assert!(out.contains(":50\r\n:50\r\n%7\r\n"), "HELLO 3 answers with a RESP3 map: {out}");
    assert!(out.ends_with(":0\r\n+OK\r\n"), "nothing after QUIT: {out}");
}

#[tokio::test]
async fn protocol_errors_close_the_connection_and_the_server_lives_on() {
    let srv = TestServer::start().await;
    let auth = format!("AUTH {TOKEN}\r\n");
    for bad in ["*x\r\n", "*1\r\n$-5\r\n", "*1\r\n+PING\r\n", "\"unbalanced\r\n"] {
        let out = raw(&srv, format!("{auth}{bad}").as_bytes()).await;
        assert!(out.starts_with("+OK\r\n-ERR Protocol error"), "{bad:?}: {out}");
    }
    // Truncated input: the server waits, then sees EOF and closes without replying.
    let out = raw(&srv, format!("{auth}*2\r\n$3\r\nGET\r\n$10\r\nabc").as_bytes()).await;
    assert_eq!(out, "+OK\r\n");
    // Before AUTH, big requests are refused outright.
    let out = raw(&srv, b"*100\r\n").await;
    assert!(out.starts_with("-ERR Protocol error"), "{out}");
    let out = raw(&srv, format!("{auth}PING\r\n").as_bytes()).await;
    assert_eq!(out, "+OK\r\n+PONG\r\n");
}

#[tokio::test]
async fn transactions_and_watch_over_resp() {
    let srv = TestServer::start().await;
    let client = redis::Client::open(srv.redis_url()).unwrap();
    let mut a = client.get_multiplexed_async_connection().await.unwrap();
    let mut b = client.get_multiplexed_async_connection().await.unwrap();
    let (x, y): (i64, i64) =
        redis::pipe().atomic().incr("t", 1).incr("t", 2).query_async(&mut a).await.unwrap();
    assert_eq!((x, y), (1, 3));
    // WATCH on a dedicated connection: another client's write aborts the EXEC (nil reply).
    let out = raw(&srv, format!("AUTH {TOKEN}\r\nWATCH t\r\nGET t\r\n").as_bytes()).await;
    assert_eq!(out, "+OK\r\n+OK\r\n$1\r\n3\r\n");
    let mut s = TcpStream::connect(srv.resp_addr()).await.unwrap();
    s.write_all(format!("AUTH {TOKEN}\r\nWATCH t\r\n").as_bytes()).await.unwrap();
    let mut buf = vec![0u8; 64];
    let mut got = Vec::new();
    while got.len() < 10 {
        let n = s.read(&mut buf).await.unwrap();
        got.extend_from_slice(&buf[..n]);
    }
    assert_eq!(got, b"+OK\r\n+OK\r\n");
    let _: () = redis::cmd("SET").arg("t").arg("changed").query_async(&mut b).await.unwrap();
    s.write_all(b"MULTI\r\nSET t mine\r\nEXEC\r\nGET t\r\n").await.unwrap();
    s.shutdown().await.unwrap();
    let mut rest = Vec::new();
    s.read_to_end(&mut rest).await.unwrap();
    assert_eq!(String::from_utf8_lossy(&rest), "+OK\r\n+QUEUED\r\n*-1\r\n$7\r\nchanged\r\n");
}
