use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use larder_redis::{
    BoxFuture, Error, Redis, RedisBuilder, Request, ReqwestTransport, Response, Retry, Transport,
    TransportError, Value,
};
use larder_test_support::{TOKEN, TestServer};

use crate::support::{Recording, server};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sends_the_standard_headers() {
    let s = TestServer::start().await;
    let rec = Recording::new();
    let r =
        Redis::builder(s.http_url(), TOKEN).telemetry(true).transport(rec.clone()).build().unwrap();
    r.set("k", "v").await.unwrap();
    let req = &rec.exchanges()[0].request;
    assert_eq!(req.url, s.http_url());
    assert_eq!(req.header("authorization"), Some(format!("Bearer {TOKEN}").as_str()));
    assert_eq!(req.header("content-type"), Some("application/json"));
    assert_eq!(req.header("upstash-encoding"), Some("base64"));
    assert!(req.header("upstash-telemetry-sdk").unwrap().starts_with("larder-redis@v"));
    assert!(req.header("upstash-telemetry-platform").is_some());
    assert_eq!(req.header("upstash-telemetry-runtime"), Some("rust"));
    assert_eq!(req.header("upstash-telemetry-retry"), None);
    assert_eq!(String::from_utf8_lossy(&req.body), r#"["SET","k","v"]"#);

    // Telemetry off; an extra SDK name merged into the header.
    let rec2 = Recording::new();
    let quiet = Redis::builder(s.http_url(), TOKEN)
        .telemetry(false)
        .transport(rec2.clone())
        .build()
        .unwrap();
    quiet.ping().await.unwrap();
    assert!(
        rec2.exchanges()[0]
            .request
            .headers
            .iter()
            .all(|(k, _)| !k.starts_with("Upstash-Telemetry"))
    );
    let rec3 = Recording::new();
    let r3 = Redis::builder(format!("{}/", s.http_url()), TOKEN)
        .telemetry(true)
        .telemetry_sdk("larder-ratelimit@v0.1.0")
        .transport(rec3.clone())
        .build()
        .unwrap();
    assert_eq!(r3.url(), s.http_url(), "a trailing slash is dropped");
    let r4 = r3.with_telemetry_sdk("my-lib@v1");
    r3.ping().await.unwrap();
    r4.ping().await.unwrap();
    let ex = rec3.exchanges();
    let sdk = ex[0].request.header("upstash-telemetry-sdk").unwrap();
    assert!(
        sdk.starts_with("larder-redis@v") && sdk.ends_with(",larder-ratelimit@v0.1.0"),
        "{sdk}"
    );
    assert!(
        ex[1]
            .request
            .header("upstash-telemetry-sdk")
            .unwrap()
            .ends_with(",larder-ratelimit@v0.1.0,my-lib@v1")
    );
    // A with_telemetry_sdk handle shares the sync token.
    assert_eq!(r3.sync_token(), r4.sync_token());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_token_is_kept_and_sent() {
    let s = TestServer::start().await;
    let rec = Recording::new();
    let r = Redis::builder(s.http_url(), TOKEN).transport(rec.clone()).build().unwrap();
    assert_eq!(r.sync_token(), "");
    r.set("a", 1).await.unwrap();
    r.get::<i64>("a").await.unwrap();
    r.pipeline().incr("a").exec().await.unwrap();
    r.multi().incr("a").exec().await.unwrap();
    r.incr("nope-not-a-number").await.unwrap();
    let ex = rec.exchanges();
    assert_eq!(
        ex[0].request.header("upstash-sync-token"),
        None,
        "nothing to send before the first response"
    );
    for pair in ex.windows(2) {
        let got = pair[0].response.as_ref().unwrap().header("upstash-sync-token").unwrap();
        assert!(!got.is_empty());
        assert_eq!(pair[1].request.header("upstash-sync-token"), Some(got));
    }
    let last = ex.last().unwrap().response.as_ref().unwrap().header("upstash-sync-token").unwrap();
    assert_eq!(r.sync_token(), last);
    // Tokens change after writes.
    let t1 = ex[0].response.as_ref().unwrap().header("upstash-sync-token").unwrap();
    let t3 = ex[2].response.as_ref().unwrap().header("upstash-sync-token").unwrap();
    assert_ne!(t1, t3);

    // Clones share it; a token set by hand is sent as is (and any token is accepted).
    let clone = r.clone();
    clone.set_sync_token("my-own-token");
    assert_eq!(r.sync_token(), "my-own-token");
    rec.log.lock().unwrap().clear();
    r.set("b", 1).await.unwrap();
    assert_eq!(rec.exchanges()[0].request.header("upstash-sync-token"), Some("my-own-token"));

    // A builder can start from a token; read_your_writes(false) sends none.
    let rec2 = Recording::new();
    let off = Redis::builder(s.http_url(), TOKEN)
        .read_your_writes(false)
        .sync_token("ignored")
        .transport(rec2.clone())
        .build()
        .unwrap();
    off.ping().await.unwrap();
    off.ping().await.unwrap();
    assert!(rec2.exchanges().iter().all(|e| e.request.header("upstash-sync-token").is_none()));
    let rec3 = Recording::new();
    let seeded = Redis::builder(s.http_url(), TOKEN)
        .sync_token("seed")
        .transport(rec3.clone())
        .build()
        .unwrap();
    seeded.ping().await.unwrap();
    assert_eq!(rec3.exchanges()[0].request.header("upstash-sync-token"), Some("seed"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn base64_can_be_turned_off() {
    let s = TestServer::start().await;
    let rec = Recording::new();
    let r =
        Redis::builder(s.http_url(), TOKEN).base64(false).transport(rec.clone()).build().unwrap();
    r.set("k", "héllo").await.unwrap();
    assert_eq!(r.get::<String>("k").await.unwrap().as_deref(), Some("héllo"));
    assert!(rec.exchanges().iter().all(|e| e.request.header("upstash-encoding").is_none()));
    assert!(
        String::from_utf8_lossy(&rec.exchanges()[1].response.as_ref().unwrap().body)
            .contains("héllo")
    );
    // Without base64, binary data is not preserved (the server sends U+FFFD): that is why it is the default.
    let b64 = Redis::new(s.http_url(), TOKEN).unwrap();
    b64.set_bytes("bin", &[0xff, 0x00], None).await.unwrap();
    assert_eq!(b64.get_bytes("bin").await.unwrap(), Some(vec![0xff, 0x00]));
    assert_eq!(r.get_bytes("bin").await.unwrap(), Some("\u{fffd}\0".as_bytes().to_vec()));
    let v: Vec<String> = r.eval("return {'a', redis.status_reply('OK')}", (), ()).await.unwrap();
    assert_eq!(v, ["a", "OK"]);
}

/// A port with nothing listening.
fn closed_port() -> String {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    drop(l);
    format!("http://127.0.0.1:{port}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retries_only_transport_errors() {
    // Connection refused: retried with backoff, then a transport error.
    let rec = Recording::new();
    let delays = Arc::new(std::sync::Mutex::new(Vec::new()));
    let d = delays.clone();
    let r = Redis::builder(closed_port(), TOKEN)
        .retry(Retry::new(3).backoff(move |n| {
            d.lock().unwrap().push(n);
            Duration::from_millis(5)
        }))
        .telemetry(true)
        .transport(rec.clone())
        .build()
        .unwrap();
    let e = r.ping().await.unwrap_err();
    assert!(e.is_transport() && !e.is_timeout(), "{e:?}");
    assert!(e.to_string().starts_with("transport error: "), "{e}");
    let ex = rec.exchanges();
    assert_eq!(ex.len(), 4);
    assert!(ex.iter().all(|e| e.response.is_none()));
    assert_eq!(*delays.lock().unwrap(), [0, 1, 2]);
    let retry_headers: Vec<_> =
        ex.iter().map(|e| e.request.header("upstash-telemetry-retry")).collect();
    assert_eq!(retry_headers, [None, Some("1"), Some("2"), Some("3")]);

    // Pipelines too; retries(0) turns retrying off.
    rec.log.lock().unwrap().clear();
    assert!(r.pipeline().ping().exec().await.unwrap_err().is_transport());
    assert_eq!(rec.exchanges().len(), 4);
    let rec0 = Recording::new();
    let once =
        Redis::builder(closed_port(), TOKEN).retries(0).transport(rec0.clone()).build().unwrap();
    assert!(once.ping().await.is_err());
    assert_eq!(rec0.exchanges().len(), 1);

    // HTTP error statuses and command errors are never retried.
    let s = TestServer::start().await;
    let rec = Recording::new();
    let bad = Redis::builder(s.http_url(), "wrong").transport(rec.clone()).build().unwrap();
    assert!(matches!(bad.ping().await.unwrap_err(), Error::Http { status: 401, .. }));
    assert_eq!(rec.exchanges().len(), 1);
    let rec = Recording::new();
    let good = Redis::builder(s.http_url(), TOKEN).transport(rec.clone()).build().unwrap();
    assert!(matches!(good.command(["NOSUCHCOMMAND"]).await.unwrap_err(), Error::Command(_)));
    assert_eq!(rec.exchanges().len(), 1);
}

#[test]
fn the_default_retry_policy_is_the_official_clients() {
    // 5 retries, e^n * 50 ms before retry n.
    let r = Retry::default();
    assert_eq!(r.retries(), 5);
    assert_eq!(r.delay(0), Duration::from_millis(50));
    assert_eq!(r.delay(1).as_millis(), 135);
    assert_eq!(r.delay(4).as_millis(), 2729);
    assert_eq!(Retry::none().retries(), 0);
    let custom = Retry::new(2).backoff(|n| Duration::from_secs(u64::from(n) + 1));
    assert_eq!((custom.retries(), custom.delay(1)), (2, Duration::from_secs(2)));
}

/// Fails the first `failures` requests, then forwards.
struct Flaky {
    failures: usize,
    seen: AtomicUsize,
    inner: ReqwestTransport,
}

impl Transport for Flaky {
    fn send(&self, request: Request) -> BoxFuture<'_, Result<Response, TransportError>> {
        Box::pin(async move {
            if self.seen.fetch_add(1, Ordering::SeqCst) < self.failures {
                return Err(TransportError::new("connection reset by peer"));
            }
            self.inner.send(request).await
        })
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retried_request_can_succeed() {
    let (s, _) = server().await;
    let flaky = Arc::new(Flaky {
        failures: 2,
        seen: AtomicUsize::new(0),
        inner: ReqwestTransport::new().unwrap(),
    });
    let r = Redis::builder(s.http_url(), TOKEN)
        .retry(Retry::default().backoff(|_| Duration::from_millis(1)))
        .transport_arc(flaky.clone())
        .build()
        .unwrap();
    assert_eq!(r.incr("n").await.unwrap(), 1);
    assert_eq!(flaky.seen.load(Ordering::SeqCst), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timeouts_are_transport_errors() {
    // Accepts connections and never answers.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let holder = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((sock, _)) = listener.accept().await {
            held.push(sock);
        }
    });
    let rec = Recording::new();
    let r = Redis::builder(url, TOKEN)
        .timeout(Duration::from_millis(100))
        .retry(Retry::new(1).backoff(|_| Duration::ZERO))
        .transport(rec.clone())
        .build()
        .unwrap();
    let e = r.ping().await.unwrap_err();
    assert!(e.is_timeout(), "{e:?}");
    assert_eq!(rec.exchanges().len(), 2);
    assert_eq!(rec.exchanges()[0].request.timeout, Some(Duration::from_millis(100)));
    holder.abort();
}

/// Answers every request with a fixed status and body.
struct Canned(u16, &'static str);

impl Transport for Canned {
    fn send(&self, _request: Request) -> BoxFuture<'_, Result<Response, TransportError>> {
        let resp = Response::new(self.0, vec![], self.1.as_bytes().to_vec());
        Box::pin(async move { Ok(resp) })
    }
}

fn canned(status: u16, body: &'static str) -> Redis {
    Redis::builder("https://example.invalid", "t").transport(Canned(status, body)).build().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_from_odd_responses() {
    let e = canned(502, "<html>Bad Gateway</html>").ping().await.unwrap_err();
    assert!(
        matches!(&e, Error::Http { status: 502, message } if message.starts_with("<html>")),
        "{e:?}"
    );
    assert_eq!(e.to_string(), "HTTP 502: <html>Bad Gateway</html>");
    let e = canned(503, r#"{"error":"backend unavailable"}"#).ping().await.unwrap_err();
    assert!(matches!(&e, Error::Http { status: 503, message } if message == "backend unavailable"));
    let e = canned(200, "not json").ping().await.unwrap_err();
    assert!(matches!(e, Error::Decode(_)), "{e:?}");
    let e = canned(200, r#"{"nothing":1}"#).ping().await.unwrap_err();
    assert!(matches!(e, Error::Decode(_)), "{e:?}");
    let e = canned(200, r#"{"error":"ERR from a 200"}"#).ping().await.unwrap_err();
    assert_eq!(e.redis_message(), Some("ERR from a 200"));
    // A pipeline answered with the wrong number of results, or with an object.
    let e = canned(200, r#"[{"result":1}]"#).pipeline().ping().ping().exec().await.unwrap_err();
    assert!(matches!(e, Error::Decode(_)), "{e:?}");
    let e = canned(200, r#"{"error":"ERR whole"}"#).pipeline().ping().exec().await.unwrap_err();
    assert_eq!(e.redis_message(), Some("ERR whole"));
    // Values that cannot be encoded fail before sending.
    let mut m = std::collections::HashMap::new();
    m.insert(vec![1], 2);
    let e = canned(200, r#"{"result":"OK"}"#).set("k", &m).await.unwrap_err();
    assert!(matches!(e, Error::Encode(_)), "{e:?}");
    let e = canned(200, "[]").pipeline().set("k", &m).exec().await.unwrap_err();
    assert!(matches!(e, Error::Encode(_)), "{e:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn construction_and_env() {
    let s = TestServer::start().await;
    let url = s.http_url();
    let env = |name: &str| match name {
        "KV_REST_API_URL" => Some(url.clone()),
        "KV_REST_API_TOKEN" => Some(TOKEN.to_string()),
        _ => None,
    };
    let r = Redis::from_env_with(env).unwrap();
    assert_eq!(r.ping().await.unwrap(), "PONG");
    let r = RedisBuilder::from_env_with(env).unwrap().retries(1).build().unwrap();
    assert_eq!(r.echo("x").await.unwrap(), "x");

    let e = Redis::from_env_with(|_| None).unwrap_err();
    assert!(matches!(
        e,
        Error::MissingEnv { name: "UPSTASH_REDIS_REST_URL", fallback: Some("KV_REST_API_URL") }
    ));
    let e = Redis::from_env_with(|n| {
        (n == "UPSTASH_REDIS_REST_URL").then(|| "rediss://default:pw@host:6379".into())
    })
    .unwrap_err();
    assert!(matches!(&e, Error::InvalidUrl { url, .. } if url == "rediss://host:6379"), "{e:?}");
    assert!(e.to_string().contains("UPSTASH_REDIS_REST_URL, not REDIS_URL"), "{e}");
    assert!(matches!(Redis::new("ftp://x", "t").unwrap_err(), Error::InvalidUrl { .. }));
    assert!(matches!(Redis::new("redis://localhost", "t").unwrap_err(), Error::InvalidUrl { .. }));

    // Debug never shows the token.
    let r = Redis::new(&url, "super-secret-token").unwrap();
    assert!(!format!("{r:?}").contains("super-secret"));
    assert!(!format!("{:?}", Redis::builder(&url, "super-secret-token")).contains("super-secret"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn escape_hatch() {
    let (_s, r) = server().await;
    assert_eq!(r.command(("SET", "k", 5)).await.unwrap(), Value::from("OK"));
    assert_eq!(r.command(["INCR", "k"]).await.unwrap(), Value::Int(6));
    let cmd = larder_redis::Cmd::new("SET")
        .arg("j")
        .value(&serde_json::json!({"a": [1, 2]}))
        .arg(("EX", 60))
        .arg_if(false, "NX");
    assert_eq!(cmd.name(), "SET");
    r.command(cmd).await.unwrap();
    assert_eq!(
        r.get::<serde_json::Value>("j").await.unwrap(),
        Some(serde_json::json!({"a": [1, 2]}))
    );
    let cmd = larder_redis::Cmd::new("RPUSH").arg("l").values([1, 2, 3]);
    assert_eq!(r.command(cmd).await.unwrap().as_int(), Some(3));
    let v = r.command(("LRANGE", "l", 0, -1)).await.unwrap();
    assert_eq!(v.as_array().map(<[Value]>::len), Some(3));
    assert_eq!(v.decode::<Vec<u8>>().unwrap(), [1, 2, 3]);
    let e = r.command(["NOSUCHCOMMAND", "x"]).await.unwrap_err();
    assert!(e.redis_message().unwrap().to_lowercase().contains("unknown command"), "{e}");
    assert!(matches!(r.command(Vec::<String>::new()).await.unwrap_err(), Error::Encode(_)));
    // Value accessors.
    let v = r.command(["GET", "k"]).await.unwrap();
    assert_eq!(v.as_str(), Some("6"));
    assert_eq!(v.as_bytes(), Some(&b"6"[..]));
    assert!(!v.is_nil());
    assert_eq!(v.clone().into_bytes(), Some(b"6".to_vec()));
    assert_eq!(Value::from(vec![Value::Nil]).into_array(), Some(vec![Value::Nil]));
    assert!(r.command(["GET", "missing"]).await.unwrap().is_nil());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remaining_constructors() {
    // from_env reads the process environment; only assert the error when the variables are unset.
    let unset =
        ["UPSTASH_REDIS_REST_URL", "KV_REST_API_URL"].iter().all(|v| std::env::var_os(v).is_none());
    if unset {
        assert!(matches!(Redis::from_env().unwrap_err(), Error::MissingEnv { .. }));
        assert!(matches!(RedisBuilder::from_env().unwrap_err(), Error::MissingEnv { .. }));
    }
    let s = TestServer::start().await;
    let client = reqwest::Client::builder().pool_max_idle_per_host(4).build().unwrap();
    let r = Redis::builder(s.http_url(), TOKEN)
        .transport(ReqwestTransport::from_client(client))
        .retry(Retry::none())
        .build()
        .unwrap();
    assert_eq!(r.ping().await.unwrap(), "PONG");
    use larder_redis::ToArgs;
    assert_eq!(
        ("a", 1, 2.5, true, Some("x"), None::<&str>).to_args(),
        ["a", "1", "2.5", "true", "x"]
    );
}
