//! larder-qstash against a real larder: the client publishes, the queue delivers to an axum app whose
//! handler takes `Verified`, the idempotency helper runs it once per message, and forged requests are
//! refused before the handler.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::extract::{FromRef, State};
use axum::http::StatusCode;
use larder_qstash::receiver::{claims_for, sign};
use larder_qstash::{
    Client, Destination, Endpoint, Error, Idempotency, Once, PublishOptions, Receiver, Verified,
};
use larder_redis::Redis;
use larder_test_support::{
    QSTASH_CURRENT_SIGNING_KEY, QSTASH_NEXT_SIGNING_KEY, QSTASH_TOKEN, TOKEN, TestServer,
};
use parking_lot::Mutex;

#[derive(Clone)]
struct AppState {
    receiver: Arc<Receiver>,
    idem: Idempotency,
    handled: Arc<AtomicUsize>,
    seen: Arc<Mutex<Vec<Verified>>>,
}

impl FromRef<AppState> for Arc<Receiver> {
    fn from_ref(s: &AppState) -> Arc<Receiver> {
        s.receiver.clone()
    }
}

async fn hook(State(s): State<AppState>, v: Verified) -> StatusCode {
    s.seen.lock().push(v.clone());
    let handled = s.handled.clone();
    let r = s
        .idem
        .once(&v.message_id, || async move {
            handled.fetch_add(1, Ordering::SeqCst);
            Ok::<_, ()>(())
        })
        .await;
    match r {
        Ok(_) => StatusCode::OK,
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

struct Setup {
    _srv: TestServer,
    client: Client,
    app_url: String,
    state: AppState,
}

async fn setup() -> Setup {
    let srv = TestServer::start().await;
    let client = Client::new(srv.http_url(), QSTASH_TOKEN);
    let redis = Redis::builder(srv.http_url(), TOKEN).telemetry(false).build().unwrap();
    let state = AppState {
        receiver: Arc::new(Receiver::new(QSTASH_CURRENT_SIGNING_KEY, QSTASH_NEXT_SIGNING_KEY)),
        idem: Idempotency::new(redis, Duration::from_secs(3600)),
        handled: Arc::default(),
        seen: Arc::default(),
    };
    let app =
        axum::Router::new().route("/hook", axum::routing::post(hook)).with_state(state.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let app_url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.ok() });
    Setup { _srv: srv, client, app_url, state }
}

async fn wait_until(what: &str, f: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn publish_to_a_verified_handler_once() {
    let s = setup().await;
    let sent = s
        .client
        .publish_json(
            &Destination::Url(s.app_url.clone()),
            &serde_json::json!({"order": 7}),
            &PublishOptions { retries: Some(2), ..Default::default() },
        )
        .await
        .unwrap();
    assert_eq!(sent.len(), 1);
    assert!(sent[0].message_id.starts_with("msg_"));
    wait_until("the delivery", || s.state.handled.load(Ordering::SeqCst) == 1).await;
    let v = s.state.seen.lock()[0].clone();
    assert_eq!(v.message_id, sent[0].message_id);
    assert_eq!(v.retried, 0);
    assert_eq!(v.json::<serde_json::Value>().unwrap(), serde_json::json!({"order": 7}));
    assert_eq!(v.claims.sub, s.app_url);

    // A redelivery of the same message (same id, validly signed) does not run the handler again.
    let body = br#"{"order":7}"#;
    let token = sign(QSTASH_CURRENT_SIGNING_KEY, &claims_for(&s.app_url, body, now()));
    let resp = reqwest::Client::new()
        .post(&s.app_url)
        .header("Upstash-Signature", token)
        .header("Upstash-Message-Id", &sent[0].message_id)
        .body(body.to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(s.state.handled.load(Ordering::SeqCst), 1);
}

fn now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs()
}

#[tokio::test]
async fn forged_expired_and_unsigned_requests_never_reach_the_handler() {
    let s = setup().await;
    let http = reqwest::Client::new();
    let body = b"{}".to_vec();
    let cases: Vec<(&str, Option<String>)> = vec![
        ("unsigned", None),
        (
            "wrong key",
            Some(sign("sig_someone_elses_key_000000000000", &claims_for(&s.app_url, &body, now()))),
        ),
        (
            "other body",
            Some(sign(QSTASH_CURRENT_SIGNING_KEY, &claims_for(&s.app_url, b"{\"x\":1}", now()))),
        ),
        (
            "expired",
            Some(sign(QSTASH_CURRENT_SIGNING_KEY, &claims_for(&s.app_url, &body, now() - 3600))),
        ),
        ("garbage", Some("not.a.jwt".into())),
    ];
    for (what, sig) in cases {
        let mut req =
            http.post(&s.app_url).header("Upstash-Message-Id", "msg_forged").body(body.clone());
        if let Some(sig) = sig {
            req = req.header("Upstash-Signature", sig);
        }
        let resp = req.send().await.unwrap();
        assert_eq!(resp.status(), 401, "{what}");
        let v: serde_json::Value = resp.json().await.unwrap();
        assert!(v["error"].is_string(), "{what}");
    }
    assert_eq!(s.state.handled.load(Ordering::SeqCst), 0);
    assert!(s.state.seen.lock().is_empty());
}

#[tokio::test]
async fn idempotency_releases_the_id_when_the_handler_fails() {
    let s = setup().await;
    let idem = &s.state.idem;
    let r = idem.once("msg_x", || async { Err::<(), _>("boom") }).await;
    assert!(r.is_err());
    let r = idem.once("msg_x", || async { Ok::<_, ()>(5) }).await.unwrap();
    assert!(matches!(r, Once::Ran(5)));
    let r = idem.once("msg_x", || async { Ok::<_, ()>(6) }).await.unwrap();
    assert!(matches!(r, Once::Skipped));
    idem.forget("msg_x").await.unwrap();
    assert!(matches!(idem.once("msg_x", || async { Ok::<_, ()>(7) }).await.unwrap(), Once::Ran(7)));
}

#[tokio::test]
async fn client_resources_and_errors() {
    let s = setup().await;
    let c = &s.client;
    // URL groups.
    c.add_endpoints("grp", &[Endpoint { name: Some("a".into()), url: s.app_url.clone() }])
        .await
        .unwrap();
    let g = c.url_group("grp").await.unwrap();
    assert_eq!(g.endpoints.len(), 1);
    assert_eq!(c.url_groups().await.unwrap().len(), 1);
    let sent = c
        .publish(&Destination::UrlGroup("grp".into()), "to the group", &PublishOptions::default())
        .await
        .unwrap();
    assert_eq!(sent[0].url.as_deref(), Some(s.app_url.as_str()));
    wait_until("the group delivery", || s.state.handled.load(Ordering::SeqCst) == 1).await;
    assert_eq!(s.state.seen.lock()[0].url_group.as_deref(), Some("grp"));
    c.remove_endpoints("grp", &[Endpoint { name: Some("a".into()), url: String::new() }])
        .await
        .unwrap();
    assert!(matches!(c.url_group("grp").await, Err(Error::Api { status: 404, .. })));
    // Queues.
    c.upsert_queue("jobs", 2, true).await.unwrap();
    let q = c.queue("jobs").await.unwrap();
    assert_eq!((q.parallelism, q.paused), (2, true));
    c.pause_queue("jobs", false).await.unwrap();
    assert!(!c.queue("jobs").await.unwrap().paused);
    c.enqueue("jobs", &Destination::Url(s.app_url.clone()), "queued", &PublishOptions::default())
        .await
        .unwrap();
    wait_until("the queued delivery", || s.state.handled.load(Ordering::SeqCst) == 2).await;
    c.delete_queue("jobs").await.unwrap();
    assert!(c.queues().await.unwrap().is_empty());
    // Schedules.
    let id = c
        .schedule(
            &Destination::Url(s.app_url.clone()),
            "0 12 * * *",
            "tick",
            Some("noon"),
            &PublishOptions::default(),
        )
        .await
        .unwrap();
    assert_eq!(id, "noon");
    assert_eq!(c.get_schedule("noon").await.unwrap()["cron"], "0 12 * * *");
    c.pause_schedule("noon", true).await.unwrap();
    assert_eq!(c.schedules().await.unwrap()[0]["isPaused"], true);
    c.delete_schedule("noon").await.unwrap();
    // Delayed message: read, cancel.
    let d = c
        .publish(
            &Destination::Url(s.app_url.clone()),
            "later",
            &PublishOptions { delay: Some(Duration::from_secs(3600)), ..Default::default() },
        )
        .await
        .unwrap();
    assert_eq!(c.message(&d[0].message_id).await.unwrap()["body"], "later");
    c.cancel(&d[0].message_id).await.unwrap();
    assert!(matches!(c.cancel(&d[0].message_id).await, Err(Error::Api { status: 404, .. })));
    let states: Vec<String> = c
        .events(Some(&d[0].message_id))
        .await
        .unwrap()
        .iter()
        .map(|e| e["state"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(states, ["CANCELED", "CANCEL_REQUESTED", "CREATED"]);
    // Keys.
    let k = c.signing_keys().await.unwrap();
    assert_eq!(k.current, QSTASH_CURRENT_SIGNING_KEY);
    let r = c.rotate_signing_keys().await.unwrap();
    assert_eq!(r.current, QSTASH_NEXT_SIGNING_KEY);
    // Errors carry the server's message.
    let e = c
        .publish(&Destination::Url("nope".into()), "x", &PublishOptions::default())
        .await
        .unwrap_err();
    match e {
        Error::Api { status, message } => {
            assert_eq!(status, 400);
            assert!(message.contains("invalid"), "{message}");
        }
        other => panic!("{other}"),
    }
    let bad = Client::new(c_url(&s), "wrong");
    assert!(matches!(bad.signing_keys().await, Err(Error::Api { status: 401, .. })));
}

fn c_url(s: &Setup) -> String {
    s._srv.http_url()
}
