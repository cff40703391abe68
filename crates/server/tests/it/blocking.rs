//! Blocking commands (BLPOP, BLMOVE, ...) over real RESP connections and real HTTP: woken by pushes from
//! other clients in blocking order, timeouts, chains, disconnects, transactions, shutdown.
//!
//! Conditions are polled with a deadline (INFO `blocked_clients`), never waited for with a sleep.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use larder_resp::{Reply, decode_reply};
use larder_test_support::{TOKEN, TestServer};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const PATIENCE: Duration = Duration::from_secs(10);

/// Deadlines are whole milliseconds of the engine clock (as in Redis), so a timeout may end up to this much
/// before its nominal length measured by the client.
const MS_GRAIN: u64 = 2;

/// A raw RESP connection, authenticated.
struct Conn {
    stream: TcpStream,
    buf: BytesMut,
}

impl Conn {
    async fn open(srv: &TestServer) -> Conn {
        let stream = TcpStream::connect(srv.resp_addr()).await.unwrap();
        let mut c = Conn { stream, buf: BytesMut::new() };
        assert_eq!(c.call(&["AUTH", TOKEN]).await, Reply::OK);
        c
    }

    async fn send(&mut self, argv: &[&str]) {
        let mut out = format!("*{}\r\n", argv.len()).into_bytes();
        for a in argv {
            out.extend_from_slice(format!("${}\r\n{a}\r\n", a.len()).as_bytes());
        }
        self.stream.write_all(&out).await.unwrap();
    }

    async fn read(&mut self) -> Reply {
        tokio::time::timeout(PATIENCE, async {
            loop {
                if let Some(r) = decode_reply(&mut self.buf).unwrap() {
                    return r;
                }
                let n = self.stream.read_buf(&mut self.buf).await.unwrap();
                assert!(n > 0, "the server closed the connection");
            }
        })
        .await
        .expect("a reply in time")
    }

    async fn call(&mut self, argv: &[&str]) -> Reply {
        self.send(argv).await;
        self.read().await
    }
}

fn bulk(s: &str) -> Reply {
    Reply::Bulk(Bytes::copy_from_slice(s.as_bytes()))
}

fn pair(key: &str, value: &str) -> Reply {
    Reply::Array(vec![bulk(key), bulk(value)])
}

fn text(r: &Reply) -> String {
    match r {
        Reply::Bulk(b) => String::from_utf8_lossy(b).into_owned(),
        other => panic!("not a bulk string: {other:?}"),
    }
}

/// Polls INFO until `n` clients are blocked.
async fn wait_blocked(probe: &mut Conn, n: usize) {
    let want = format!("blocked_clients:{n}\r\n");
    let deadline = Instant::now() + PATIENCE;
    loop {
        let info = text(&probe.call(&["INFO", "clients"]).await);
        if info.contains(&want) {
            return;
        }
        assert!(Instant::now() < deadline, "never {n} blocked clients: {info}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

async fn http_cmd(srv: &TestServer, path: &str, body: Value) -> (reqwest::StatusCode, Value) {
    let resp = reqwest::Client::new()
        .post(format!("{}{path}", srv.http_url()))
        .bearer_auth(TOKEN)
        .body(body.to_string())
        .timeout(PATIENCE)
        .send()
        .await
        .unwrap();
    (resp.status(), resp.json().await.unwrap())
}

#[tokio::test]
async fn blpop_is_woken_by_a_push_from_another_connection() {
    let srv = TestServer::start().await;
    let mut waiter = Conn::open(&srv).await;
    let mut pusher = Conn::open(&srv).await;
    waiter.send(&["BLPOP", "nothing", "k", "0"]).await;
    wait_blocked(&mut pusher, 1).await;
    // The pushed length counts the element even though a blocked client takes it right away, as in Redis.
    assert_eq!(pusher.call(&["RPUSH", "k", "v1", "v2"]).await, Reply::Int(2));
    assert_eq!(waiter.read().await, pair("k", "v1"));
    assert_eq!(pusher.call(&["LRANGE", "k", "0", "-1"]).await, Reply::Array(vec![bulk("v2")]));
    wait_blocked(&mut pusher, 0).await;
    // The connection goes on as usual; BRPOP takes from the tail.
    assert_eq!(waiter.call(&["BRPOP", "k", "0"]).await, pair("k", "v2"));
    assert_eq!(waiter.call(&["EXISTS", "k"]).await, Reply::Int(0));
    // A timeout beyond what a timer can hold (about 3 years here) still waits and is served.
    waiter.send(&["BLPOP", "far", "100000000"]).await;
    wait_blocked(&mut pusher, 1).await;
    pusher.call(&["LPUSH", "far", "x"]).await;
    assert_eq!(waiter.read().await, pair("far", "x"));
}

#[tokio::test]
async fn blocked_clients_are_served_first_blocked_first_served() {
    let srv = TestServer::start().await;
    let mut probe = Conn::open(&srv).await;
    let mut clients = Vec::new();
    for i in 0..3 {
        let mut c = Conn::open(&srv).await;
        c.send(&["BLPOP", "q", "0"]).await;
        wait_blocked(&mut probe, i + 1).await;
        clients.push(c);
    }
    for (i, c) in clients.iter_mut().enumerate() {
        let e = format!("e{i}");
        probe.call(&["RPUSH", "q", &e]).await;
        assert_eq!(c.read().await, pair("q", &e));
        wait_blocked(&mut probe, 2 - i).await;
    }
    // One push of several elements serves several clients, in order.
    for (i, c) in clients.iter_mut().take(2).enumerate() {
        c.send(&["BLPOP", "q", "0"]).await;
        wait_blocked(&mut probe, i + 1).await;
    }
    assert_eq!(probe.call(&["RPUSH", "q", "x", "y", "z"]).await, Reply::Int(3));
    assert_eq!(clients[0].read().await, pair("q", "x"));
    assert_eq!(clients[1].read().await, pair("q", "y"));
    assert_eq!(probe.call(&["LRANGE", "q", "0", "-1"]).await, Reply::Array(vec![bulk("z")]));
}

#[tokio::test]
async fn timeouts_answer_nil_and_later_pipelined_commands_wait() {
    let srv = TestServer::start().await;
    let mut c = Conn::open(&srv).await;
    for (cmd, nil) in [
        (&["BLPOP", "a", "b", "0.1"][..], Reply::NilArray),
        (&["BRPOP", "a", "0.05"], Reply::NilArray),
        (&["BLMPOP", "0.05", "2", "a", "b", "LEFT", "COUNT", "2"], Reply::NilArray),
        // Like Redis's blocked-client timeout, these answer a null array (not a null bulk) after blocking.
        (&["BLMOVE", "a", "b", "LEFT", "RIGHT", "0.05"], Reply::NilArray),
        (&["BRPOPLPUSH", "a", "b", "0.05"], Reply::NilArray),
    ] {
        let t = Instant::now();
        assert_eq!(c.call(cmd).await, nil, "{cmd:?}");
        let ms = if cmd[0] == "BLPOP" { 100 } else { 50 };
        assert!(t.elapsed() >= Duration::from_millis(ms - MS_GRAIN), "{cmd:?} answered early");
    }
    // A pipeline: the reply before the blocking command comes at once (BLPOP 0 never times out), the one
    // after it waits until the blocking command is answered.
    let mut probe = Conn::open(&srv).await;
    c.send(&["PING"]).await;
    c.send(&["BLPOP", "a", "0"]).await;
    c.send(&["ECHO", "after"]).await;
    assert_eq!(c.read().await, Reply::simple("PONG"));
    wait_blocked(&mut probe, 1).await;
    probe.call(&["RPUSH", "a", "v"]).await;
    assert_eq!(c.read().await, pair("a", "v"));
    assert_eq!(c.read().await, bulk("after"));
    // RESP3 answers a timed-out BLPOP with a null.
    c.call(&["HELLO", "3"]).await;
    c.send(&["BLPOP", "a", "0.01"]).await;
    let mut raw = [0u8; 3];
    c.stream.read_exact(&mut raw).await.unwrap();
    assert_eq!(&raw, b"_\r\n");
    wait_blocked(&mut probe, 0).await;
}

#[tokio::test]
async fn a_timeout_and_a_push_never_lose_or_duplicate_an_element() {
    let srv = TestServer::start().await;
    let consumers = 8;
    let elements = 300;
    let mut tasks = Vec::new();
    for _ in 0..consumers {
        let mut c = Conn::open(&srv).await;
        tasks.push(tokio::spawn(async move {
            let mut got = Vec::new();
            loop {
                // Timeouts of 1 to 10 ms race with the pushes all the time.
                match c.call(&["BLPOP", "race", &format!("0.00{}", got.len() % 9 + 1)]).await {
                    Reply::NilArray => continue,
                    Reply::Array(kv) if text(&kv[1]) == "stop" => return got,
                    Reply::Array(kv) => got.push(text(&kv[1])),
                    other => panic!("{other:?}"),
                }
            }
        }));
    }
    let mut pusher = Conn::open(&srv).await;
    for i in 0..elements {
        pusher.call(&["RPUSH", "race", &i.to_string()]).await;
        if i % 7 == 0 {
            tokio::task::yield_now().await;
        }
    }
    for _ in 0..consumers {
        pusher.call(&["RPUSH", "race", "stop"]).await;
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    let distinct: HashSet<_> = all.iter().cloned().collect();
    assert_eq!(all.len(), elements, "every element handed out exactly once");
    assert_eq!(distinct.len(), elements);
    assert_eq!(pusher.call(&["EXISTS", "race"]).await, Reply::Int(0));
    wait_blocked(&mut pusher, 0).await;
}

#[tokio::test]
async fn blmove_chains_serve_the_next_waiter() {
    let srv = TestServer::start().await;
    let mut probe = Conn::open(&srv).await;
    let mut mover = Conn::open(&srv).await;
    let mut popper = Conn::open(&srv).await;
    let mut rpoplpusher = Conn::open(&srv).await;
    mover.send(&["BLMOVE", "k1", "k2", "LEFT", "RIGHT", "0"]).await;
    wait_blocked(&mut probe, 1).await;
    rpoplpusher.send(&["BRPOPLPUSH", "k2", "k3", "0"]).await;
    wait_blocked(&mut probe, 2).await;
    popper.send(&["BLPOP", "k3", "0"]).await;
    wait_blocked(&mut probe, 3).await;
    assert_eq!(probe.call(&["LPUSH", "k1", "x"]).await, Reply::Int(1));
    assert_eq!(mover.read().await, bulk("x"));
    assert_eq!(rpoplpusher.read().await, bulk("x"));
    assert_eq!(popper.read().await, pair("k3", "x"));
    for k in ["k1", "k2", "k3"] {
        assert_eq!(probe.call(&["EXISTS", k]).await, Reply::Int(0), "{k}");
    }
    wait_blocked(&mut probe, 0).await;
    // A waiter is also served when a list arrives by RENAME, or by a push inside a transaction.
    popper.send(&["BLPOP", "renamed", "0"]).await;
    wait_blocked(&mut probe, 1).await;
    probe.call(&["RPUSH", "src", "r"]).await;
    assert_eq!(probe.call(&["RENAME", "src", "renamed"]).await, Reply::OK);
    assert_eq!(popper.read().await, pair("renamed", "r"));
    popper.send(&["BLMPOP", "0", "2", "t1", "t2", "RIGHT", "COUNT", "5"]).await;
    wait_blocked(&mut probe, 1).await;
    let (status, v) = http_cmd(&srv, "/multi-exec", json!([["RPUSH", "t2", "a", "b"]])).await;
    assert_eq!((status.as_u16(), v), (200, json!([{"result": 2}])));
    let served = Reply::Array(vec![bulk("t2"), Reply::Array(vec![bulk("b"), bulk("a")])]);
    assert_eq!(popper.read().await, served);
}

#[tokio::test]
async fn http_blpop_waits_for_a_resp_push() {
    let srv = TestServer::start().await;
    let mut probe = Conn::open(&srv).await;
    let url = srv.http_url();
    let request = |body: Value| {
        let url = url.clone();
        tokio::spawn(async move {
            let resp = reqwest::Client::new()
                .post(format!("{url}/"))
                .bearer_auth(TOKEN)
                .body(body.to_string())
                .timeout(PATIENCE)
                .send()
                .await
                .unwrap();
            (resp.status().as_u16(), resp.json::<Value>().await.unwrap())
        })
    };
    let pending = request(json!(["BLPOP", "hk", "0"]));
    wait_blocked(&mut probe, 1).await;
    probe.call(&["RPUSH", "hk", "from-resp"]).await;
    assert_eq!(pending.await.unwrap(), (200, json!({"result": ["hk", "from-resp"]})));
    // A timeout is a null result.
    let t = Instant::now();
    let (status, v) = http_cmd(&srv, "/", json!(["BRPOPLPUSH", "hk", "dst", "0.1"])).await;
    assert_eq!((status.as_u16(), v), (200, json!({"result": null})));
    assert!(t.elapsed() >= Duration::from_millis(100 - MS_GRAIN));
    // A pipeline waits at its blocking command, then runs the rest.
    let pipeline = json!([
        ["RPUSH", "p", "a"],
        ["BLPOP", "p", "q", "0"],
        ["BLPOP", "q", "0.05"],
        ["LLEN", "p"]
    ]);
    let (status, v) = http_cmd(&srv, "/pipeline", pipeline).await;
    assert_eq!(status.as_u16(), 200);
    assert_eq!(v, json!([{"result": 1}, {"result": ["p", "a"]}, {"result": null}, {"result": 0}]));
    // Path-style commands block too, and a push from HTTP serves them.
    let url = srv.http_url();
    let pending = tokio::spawn(async move {
        let resp = reqwest::Client::new()
            .get(format!("{url}/blmove/src/dst/left/right/0"))
            .bearer_auth(TOKEN)
            .timeout(PATIENCE)
            .send()
            .await
            .unwrap();
        resp.json::<Value>().await.unwrap()
    });
    wait_blocked(&mut probe, 1).await;
    assert_eq!(http_cmd(&srv, "/", json!(["LPUSH", "src", "v"])).await.1, json!({"result": 1}));
    assert_eq!(pending.await.unwrap(), json!({"result": "v"}));
    assert_eq!(probe.call(&["LRANGE", "dst", "0", "-1"]).await, Reply::Array(vec![bulk("v")]));
}

#[tokio::test]
async fn a_client_that_disconnects_while_blocked_loses_nothing() {
    let srv = TestServer::start().await;
    let mut probe = Conn::open(&srv).await;
    let mut gone = Conn::open(&srv).await;
    gone.send(&["BLPOP", "d", "0"]).await;
    wait_blocked(&mut probe, 1).await;
    let mut next = Conn::open(&srv).await;
    next.send(&["BLPOP", "d", "0"]).await;
    wait_blocked(&mut probe, 2).await;
    drop(gone);
    wait_blocked(&mut probe, 1).await;
    probe.call(&["RPUSH", "d", "v1", "v2"]).await;
    assert_eq!(next.read().await, pair("d", "v1"));
    assert_eq!(probe.call(&["LRANGE", "d", "0", "-1"]).await, Reply::Array(vec![bulk("v2")]));

    // Over HTTP: a request given up by its client removes its waiter too.
    let err = reqwest::Client::new()
        .post(format!("{}/", srv.http_url()))
        .bearer_auth(TOKEN)
        .body(json!(["BLPOP", "h", "0"]).to_string())
        .timeout(Duration::from_millis(200))
        .send()
        .await
        .unwrap_err();
    assert!(err.is_timeout(), "{err}");
    wait_blocked(&mut probe, 0).await;
    probe.call(&["RPUSH", "h", "kept"]).await;
    assert_eq!(probe.call(&["LPOP", "h"]).await, bulk("kept"));
}

#[tokio::test]
async fn blocking_commands_in_multi_exec_answer_at_once() {
    let srv = TestServer::start().await;
    let t = Instant::now();
    let tx = json!([
        ["BLPOP", "m", "0"],
        ["BRPOPLPUSH", "m", "n", "0"],
        ["BLMPOP", "0", "1", "m", "LEFT"],
        ["BLMOVE", "m", "n", "LEFT", "LEFT", "0"],
        ["RPUSH", "m", "a"],
        ["BLPOP", "m", "0"]
    ]);
    let (status, v) = http_cmd(&srv, "/multi-exec", tx).await;
    assert_eq!(status.as_u16(), 200);
    assert_eq!(
        v,
        json!([
            {"result": null},
            {"result": null},
            {"result": null},
            {"result": null},
            {"result": 1},
            {"result": ["m", "a"]}
        ])
    );
    assert!(t.elapsed() < Duration::from_secs(2));
}

#[tokio::test]
async fn shutdown_answers_blocked_clients() {
    let srv = TestServer::start().await;
    let mut probe = Conn::open(&srv).await;
    let mut resp_waiter = Conn::open(&srv).await;
    resp_waiter.send(&["BLPOP", "s", "0"]).await;
    wait_blocked(&mut probe, 1).await;
    let url = srv.http_url();
    let http_waiter = tokio::spawn(async move {
        let resp = reqwest::Client::new()
            .post(format!("{url}/"))
            .bearer_auth(TOKEN)
            .body(json!(["BLPOP", "s", "0"]).to_string())
            .timeout(PATIENCE)
            .send()
            .await
            .unwrap();
        resp.json::<Value>().await.unwrap()
    });
    wait_blocked(&mut probe, 2).await;
    tokio::time::timeout(PATIENCE, srv.stop()).await.expect("shutdown does not wait for BLPOP 0");
    assert_eq!(http_waiter.await.unwrap(), json!({"result": null}));
    assert_eq!(resp_waiter.read().await, Reply::NilArray);
}

/// `[[key, [[id, [field, value]]]]]`: one stream with one entry, as XREAD answers in RESP2.
fn one_entry(key: &str, id: &str, field: &str, value: &str) -> Reply {
    let entry = Reply::Array(vec![bulk(id), Reply::Array(vec![bulk(field), bulk(value)])]);
    Reply::Array(vec![Reply::Array(vec![bulk(key), Reply::Array(vec![entry])])])
}

#[tokio::test]
async fn xread_block_is_served_by_an_xadd_from_another_connection() {
    let srv = TestServer::start().await;
    let mut reader = Conn::open(&srv).await;
    let mut writer = Conn::open(&srv).await;
    assert_eq!(writer.call(&["XADD", "s", "1-1", "old", "1"]).await, bulk("1-1"));
    // `$` means the entries after the last one when XREAD blocked, not when it is served.
    reader.send(&["XREAD", "BLOCK", "0", "STREAMS", "other", "s", "$", "$"]).await;
    wait_blocked(&mut writer, 1).await;
    // A write that adds nothing to the stream leaves it blocked.
    writer.call(&["XGROUP", "CREATE", "s", "g", "$"]).await;
    assert_eq!(writer.call(&["XADD", "s", "2-1", "new", "2"]).await, bulk("2-1"));
    assert_eq!(reader.read().await, one_entry("s", "2-1", "new", "2"));
    wait_blocked(&mut writer, 0).await;
    // XREADGROUP > blocks until a new entry, which then becomes pending for the consumer.
    assert_eq!(
        reader.call(&["XREADGROUP", "GROUP", "g", "c", "STREAMS", "s", ">"]).await,
        one_entry("s", "2-1", "new", "2")
    );
    reader.send(&["XREADGROUP", "GROUP", "g", "c", "BLOCK", "0", "STREAMS", "s", ">"]).await;
    wait_blocked(&mut writer, 1).await;
    writer.call(&["XADD", "s", "3-1", "newer", "3"]).await;
    assert_eq!(reader.read().await, one_entry("s", "3-1", "newer", "3"));
    let pending = writer.call(&["XPENDING", "s", "g"]).await;
    assert!(matches!(&pending, Reply::Array(v) if v[0] == Reply::Int(2)), "{pending:?}");
    // A timeout answers a null array.
    let t = Instant::now();
    assert_eq!(reader.call(&["XREAD", "BLOCK", "50", "STREAMS", "s", "$"]).await, Reply::NilArray);
    assert!(t.elapsed() >= Duration::from_millis(50 - MS_GRAIN));
    // Over REST the request waits like BLPOP.
    let url = srv.http_url();
    let pending = tokio::spawn(async move {
        let resp = reqwest::Client::new()
            .post(format!("{url}/"))
            .bearer_auth(TOKEN)
            .body(json!(["XREAD", "BLOCK", "0", "STREAMS", "s", "$"]).to_string())
            .timeout(PATIENCE)
            .send()
            .await
            .unwrap();
        resp.json::<Value>().await.unwrap()
    });
    wait_blocked(&mut writer, 1).await;
    writer.call(&["XADD", "s", "4-1", "f", "v"]).await;
    assert_eq!(pending.await.unwrap(), json!({"result": [["s", [["4-1", ["f", "v"]]]]]}));
}
