//! The QStash-compatible queue over real HTTP: publish to a local receiver, signatures, retries, the DLQ,
//! delays, deduplication, batches, URL groups, queues, schedules, callbacks, cancellation and the error
//! shapes.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode as AxStatus, Uri};
use larder_queue::signing;
use larder_test_support::{
    QSTASH_CURRENT_SIGNING_KEY, QSTASH_NEXT_SIGNING_KEY, QSTASH_TOKEN, TestServer,
};
use parking_lot::Mutex;
use reqwest::StatusCode;
use serde_json::{Value, json};

/// One request the receiver got.
#[derive(Debug, Clone)]
struct Received {
    method: String,
    path_and_query: String,
    headers: HashMap<String, String>,
    body: Bytes,
    at: Instant,
}

/// A local HTTP receiver. `/status/<code>` answers that code; `/slow/<ms>` sleeps first; anything else 200.
struct Receiver {
    url: String,
    got: Arc<Mutex<Vec<Received>>>,
}

impl Receiver {
    async fn start() -> Receiver {
        let got: Arc<Mutex<Vec<Received>>> = Arc::default();
        let g = got.clone();
        let app = axum::Router::new().fallback(
            move |method: axum::http::Method, uri: Uri, headers: HeaderMap, body: Bytes| {
                let g = g.clone();
                async move {
                    let path = uri.path().to_string();
                    g.lock().push(Received {
                        method: method.to_string(),
                        path_and_query: uri
                            .path_and_query()
                            .map(|p| p.to_string())
                            .unwrap_or_default(),
                        headers: headers
                            .iter()
                            .map(|(k, v)| {
                                (k.as_str().to_string(), v.to_str().unwrap_or("").to_string())
                            })
                            .collect(),
                        body,
                        at: Instant::now(),
                    });
                    if let Some(ms) = path.strip_prefix("/slow/") {
                        let ms = ms.split('/').next().unwrap_or("0");
                        tokio::time::sleep(Duration::from_millis(ms.parse().unwrap_or(0))).await;
                    }
                    let code = path
                        .find("/status/")
                        .and_then(|i| path[i + 8..].split('/').next()?.parse::<u16>().ok())
                        .unwrap_or(200);
                    let mut r = axum::response::Response::new(axum::body::Body::from(format!(
                        "answer {code}"
                    )));
                    *r.status_mut() = AxStatus::from_u16(code).unwrap();
                    if code == 489 {
                        r.headers_mut()
                            .insert("Upstash-NonRetryable-Error", "true".parse().unwrap());
                    }
                    r
                }
            },
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.ok() });
        Receiver { url, got }
    }

    fn to(&self, path: &str) -> String {
        format!("{}{path}", self.url)
    }

    fn count(&self, path: &str) -> usize {
        self.got.lock().iter().filter(|r| r.path_and_query.starts_with(path)).count()
    }

    fn requests(&self, path: &str) -> Vec<Received> {
        self.got.lock().iter().filter(|r| r.path_and_query.starts_with(path)).cloned().collect()
    }

    /// Waits until `n` requests to `path` arrived (10 s at most).
    async fn wait_for(&self, path: &str, n: usize) -> Vec<Received> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let got = self.requests(path);
            if got.len() >= n {
                return got;
            }
            assert!(
                Instant::now() < deadline,
                "only {} of {n} requests to {path} arrived",
                got.len()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

struct Q {
    srv: TestServer,
    http: reqwest::Client,
}

impl Q {
    async fn start() -> Q {
        Q { srv: TestServer::start().await, http: reqwest::Client::new() }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.srv.http_url())
    }

    async fn send(&self, req: reqwest::RequestBuilder) -> (StatusCode, Value) {
        let resp = req.bearer_auth(QSTASH_TOKEN).send().await.unwrap();
        let status = resp.status();
        let text = resp.text().await.unwrap();
        let v = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text:?}"))
        };
        (status, v)
    }

    async fn publish(
        &self,
        dest: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> (StatusCode, Value) {
        let mut req =
            self.http.post(self.url(&format!("/v2/publish/{dest}"))).body(body.to_string());
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        self.send(req).await
    }

    async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.send(self.http.get(self.url(path))).await
    }

    async fn events(&self, message_id: &str) -> Vec<String> {
        let (_, v) =
            self.get(&format!("/v2/events?messageId={message_id}&order=earliestFirst")).await;
        v["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["state"].as_str().unwrap().to_string())
            .collect()
    }

    /// Waits until the message's log has `state` (10 s at most).
    async fn wait_state(&self, message_id: &str, state: &str) -> Vec<String> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let ev = self.events(message_id).await;
            if ev.iter().any(|s| s == state) {
                return ev;
            }
            assert!(Instant::now() < deadline, "{message_id} never reached {state}: {ev:?}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

#[tokio::test]
async fn publish_delivers_signed_with_forwarded_headers() {
    let q = Q::start().await;
    let r = Receiver::start().await;
    let dest = r.to("/hook/a%20b//c?x=1&y=two%20words");
    let (status, v) = q
        .publish(
            &dest,
            &[
                ("Content-Type", "application/json"),
                ("Upstash-Forward-My-Header", "mine"),
                ("Upstash-Method", "PUT"),
                ("Upstash-Telemetry-Sdk", "x"),
            ],
            r#"{"hello":"world"}"#,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    let id = v["messageId"].as_str().unwrap().to_string();
    assert!(id.starts_with("msg_"));
    assert_eq!(v["url"], dest);
    let got = r.wait_for("/hook", 1).await;
    let d = &got[0];
    assert_eq!(d.path_and_query, "/hook/a%20b//c?x=1&y=two%20words");
    assert_eq!(d.method, "PUT");
    assert_eq!(d.body.as_ref(), br#"{"hello":"world"}"#);
    assert_eq!(d.headers["content-type"], "application/json");
    assert_eq!(d.headers["my-header"], "mine");
    assert_eq!(d.headers["upstash-message-id"], id);
    assert_eq!(d.headers["upstash-retried"], "0");
    assert_eq!(d.headers["user-agent"], "Upstash-QStash");
    assert!(!d.headers.contains_key("authorization"));
    assert!(
        !d.headers
            .keys()
            .any(|k| k.starts_with("upstash-telemetry") || k.starts_with("upstash-forward"))
    );
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    let claims = signing::verify(
        &d.headers["upstash-signature"],
        QSTASH_CURRENT_SIGNING_KEY,
        QSTASH_NEXT_SIGNING_KEY,
        &d.body,
        Some(&dest),
        now,
        0,
    )
    .unwrap();
    assert_eq!(claims.sub, dest);
    assert_eq!(claims.nbf, 0);
    // A forged body does not verify.
    assert!(
        signing::verify(
            &d.headers["upstash-signature"],
            QSTASH_CURRENT_SIGNING_KEY,
            QSTASH_NEXT_SIGNING_KEY,
            b"x",
            None,
            now,
            0
        )
        .is_err()
    );
    let ev = q.wait_state(&id, "DELIVERED").await;
    assert_eq!(ev, ["CREATED", "ACTIVE", "DELIVERED"]);
    // Delivered messages are gone.
    let (status, v) = q.get(&format!("/v2/messages/{id}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(v["error"].is_string());
}

#[tokio::test]
async fn retries_count_up_then_the_dlq() {
    let q = Q::start().await;
    let r = Receiver::start().await;
    let dest = r.to("/status/500");
    let (_, v) = q
        .publish(
            &dest,
            &[("Upstash-Retries", "2"), ("Upstash-Retry-Delay", "100 * (retried + 1)")],
            "payload",
        )
        .await;
    let id = v["messageId"].as_str().unwrap().to_string();
    let got = r.wait_for("/status/500", 3).await;
    let retried: Vec<&str> = got.iter().map(|g| g.headers["upstash-retried"].as_str()).collect();
    assert_eq!(retried, ["0", "1", "2"]);
    assert!(got[1].at - got[0].at >= Duration::from_millis(90));
    assert!(got[2].at - got[1].at >= Duration::from_millis(190));
    let ev = q.wait_state(&id, "FAILED").await;
    assert_eq!(
        ev,
        [
            "CREATED", "ACTIVE", "ERROR", "RETRY", "ACTIVE", "ERROR", "RETRY", "ACTIVE", "ERROR",
            "FAILED"
        ]
    );
    let (status, dlq) = q.get("/v2/dlq").await;
    assert_eq!(status, StatusCode::OK);
    let msgs = dlq["messages"].as_array().unwrap();
    assert_eq!(msgs.len(), 1);
    let m = &msgs[0];
    assert_eq!(m["messageId"], id.as_str());
    assert_eq!(m["responseStatus"], 500);
    assert_eq!(m["responseBody"], "answer 500");
    assert_eq!(m["body"], "payload");
    assert_eq!(m["maxRetries"], 2);
    assert_eq!(m["retryDelayExpression"], "100 * (retried + 1)");
    let dlq_id = m["dlqId"].as_str().unwrap().to_string();
    let (status, one) = q.get(&format!("/v2/dlq/{dlq_id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(one["dlqId"], dlq_id.as_str());
    // Retry from the DLQ: a new message, the entry is gone.
    let (status, v) = q
        .send(q.http.post(q.url(&format!("/v2/dlq/retry/{dlq_id}"))).header("Upstash-Retries", "0"))
        .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_ne!(v["messageId"], id.as_str());
    r.wait_for("/status/500", 4).await;
    let (status, _) = q.get(&format!("/v2/dlq/{dlq_id}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // The retried message fails again (no retries) and lands in the DLQ; delete it twice.
    let new_id = v["messageId"].as_str().unwrap().to_string();
    q.wait_state(&new_id, "FAILED").await;
    let (_, dlq) = q.get("/v2/dlq").await;
    let dlq_id = dlq["messages"][0]["dlqId"].as_str().unwrap().to_string();
    let (status, _) = q.send(q.http.delete(q.url(&format!("/v2/dlq/{dlq_id}")))).await;
    assert_eq!(status, StatusCode::OK);
    let (status, v) = q.send(q.http.delete(q.url(&format!("/v2/dlq/{dlq_id}")))).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(v["error"].is_string());
}

#[tokio::test]
async fn non_retryable_error_fails_at_once() {
    let q = Q::start().await;
    let r = Receiver::start().await;
    let (_, v) = q.publish(&r.to("/status/489"), &[("Upstash-Retries", "3")], "x").await;
    let id = v["messageId"].as_str().unwrap();
    let ev = q.wait_state(id, "FAILED").await;
    assert_eq!(ev, ["CREATED", "ACTIVE", "ERROR", "FAILED"]);
    assert_eq!(r.count("/status/489"), 1);
}

#[tokio::test]
async fn delay_and_not_before() {
    let q = Q::start().await;
    let r = Receiver::start().await;
    let start = Instant::now();
    q.publish(&r.to("/delayed"), &[("Upstash-Delay", "1s")], "d").await;
    let (_, v) = q.publish(&r.to("/later"), &[("Upstash-Delay", "1h")], "l").await;
    let got = r.wait_for("/delayed", 1).await;
    assert!(got[0].at - start >= Duration::from_millis(950), "{:?}", got[0].at - start);
    // The delayed message is visible and can be cancelled.
    let id = v["messageId"].as_str().unwrap();
    let (status, m) = q.get(&format!("/v2/messages/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(m["body"], "l");
    assert!(m["notBefore"].as_u64().unwrap() > m["createdAt"].as_u64().unwrap() + 3_500_000);
    let (status, v) = q.send(q.http.delete(q.url(&format!("/v2/messages/{id}")))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(v["cancelled"], 1);
    assert_eq!(q.events(id).await, ["CREATED", "CANCEL_REQUESTED", "CANCELED"]);
    let (status, _) = q.send(q.http.delete(q.url(&format!("/v2/messages/{id}")))).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn deduplication_by_id_and_content() {
    let q = Q::start().await;
    let r = Receiver::start().await;
    let dest = r.to("/dedup");
    let (s1, a) = q.publish(&dest, &[("Upstash-Deduplication-Id", "abc")], "1").await;
    let (s2, b) = q.publish(&dest, &[("Upstash-Deduplication-Id", "abc")], "2").await;
    assert_eq!(s1, StatusCode::OK);
    assert_eq!(s2, StatusCode::ACCEPTED);
    assert_eq!(a["messageId"], b["messageId"]);
    assert_eq!(b["deduplicated"], true);
    assert!(a.get("deduplicated").is_none());
    let h = [("Upstash-Content-Based-Deduplication", "True"), ("Content-Type", "text/plain")];
    let (_, c) = q.publish(&dest, &h, "same").await;
    let (s, d) = q.publish(&dest, &h, "same").await;
    assert_eq!(s, StatusCode::ACCEPTED);
    assert_eq!(c["messageId"], d["messageId"]);
    let (s, e) = q.publish(&dest, &h, "different").await;
    assert_eq!(s, StatusCode::OK);
    assert_ne!(c["messageId"], e["messageId"]);
    r.wait_for("/dedup", 3).await;
    // Concurrent publishes with one id (they may share one group commit): exactly one is new.
    let results = futures_join((0..20).map(|i| {
        q.publish(
            &dest,
            &[("Upstash-Deduplication-Id", "burst")],
            if i % 2 == 0 { "a" } else { "b" },
        )
    }))
    .await;
    let new: Vec<&Value> =
        results.iter().filter(|(s, _)| *s == StatusCode::OK).map(|(_, v)| v).collect();
    assert_eq!(new.len(), 1, "{results:?}");
    assert!(results.iter().all(|(_, v)| v["messageId"] == new[0]["messageId"]));
    r.wait_for("/dedup", 4).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(r.count("/dedup"), 4);
}

async fn futures_join<F: std::future::Future>(fs: impl Iterator<Item = F>) -> Vec<F::Output> {
    let mut set = Vec::new();
    for f in fs {
        set.push(f);
    }
    let mut out = Vec::new();
    // Poll them all concurrently.
    let mut pinned: Vec<std::pin::Pin<Box<F>>> = set.into_iter().map(Box::pin).collect();
    let mut done: Vec<Option<F::Output>> = (0..pinned.len()).map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (i, f) in pinned.iter_mut().enumerate() {
            if done[i].is_none() {
                match f.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => done[i] = Some(v),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending { std::task::Poll::Pending } else { std::task::Poll::Ready(()) }
    })
    .await;
    out.extend(done.into_iter().map(|d| d.expect("every future finished")));
    out
}

#[tokio::test]
async fn url_groups_fan_out_and_batch() {
    let q = Q::start().await;
    let r = Receiver::start().await;
    let (status, _) = q
        .send(q.http.post(q.url("/v2/topics/team/endpoints")).json(&json!({"endpoints": [
            {"name": "one", "url": r.to("/ep1")},
            {"url": r.to("/ep2")},
        ]})))
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, g) = q.get("/v2/topics/team").await;
    assert_eq!(g["name"], "team");
    assert_eq!(
        g["endpoints"],
        json!([{"name": "one", "url": r.to("/ep1")}, {"url": r.to("/ep2")}])
    );
    let (status, v) = q.publish("team", &[], "fan").await;
    assert_eq!(status, StatusCode::OK);
    let arr = v.as_array().expect("a URL-group publish answers a bare array");
    assert_eq!(arr.len(), 2);
    assert_eq!(arr[0]["url"], r.to("/ep1"));
    let got = r.wait_for("/ep1", 1).await;
    assert_eq!(got[0].headers["upstash-topic-name"], "team");
    r.wait_for("/ep2", 1).await;
    // Batch: a URL item, a group item, a queue item, a bad item.
    let (status, v) = q
        .send(q.http.post(q.url("/v2/batch")).json(&json!([
            {"destination": r.to("/b1"), "headers": {"Upstash-Forward-X": "1", "content-type": "text/plain"}, "body": "one"},
            {"destination": "team", "body": null, "queue": null},
            {"destination": r.to("/b3"), "queue": "batchq", "body": "three"},
            {"destination": "not a url"},
        ])))
        .await;
    assert_eq!(status, StatusCode::OK);
    let v = v.as_array().unwrap().clone();
    assert!(v[0]["messageId"].is_string());
    assert_eq!(v[1].as_array().unwrap().len(), 2);
    assert!(v[2]["messageId"].is_string());
    assert!(v[3]["error"].as_str().unwrap().contains("invalid"));
    let b1 = r.wait_for("/b1", 1).await;
    assert_eq!(b1[0].headers["x"], "1");
    assert_eq!(b1[0].headers["content-type"], "text/plain");
    r.wait_for("/b3", 1).await;
    r.wait_for("/ep1", 2).await;
    // Remove one endpoint by name, then the other by url: the group is gone. Deleting it again is fine.
    let (status, _) = q
        .send(
            q.http
                .delete(q.url("/v2/topics/team/endpoints"))
                .json(&json!({"endpoints": [{"name": "one"}]})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, g) = q.get("/v2/topics/team").await;
    assert_eq!(g["endpoints"], json!([{"url": r.to("/ep2")}]));
    q.send(
        q.http
            .delete(q.url("/v2/topics/team/endpoints"))
            .json(&json!({"endpoints": [{"url": r.to("/ep2")}]})),
    )
    .await;
    let (status, _) = q.get("/v2/topics/team").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = q.send(q.http.delete(q.url("/v2/topics/team"))).await;
    assert_eq!(status, StatusCode::OK);
    let (_, all) = q.get("/v2/topics").await;
    assert_eq!(all, json!([]));
}

#[tokio::test]
async fn queues_are_fifo_with_parallelism_and_pause() {
    let q = Q::start().await;
    let r = Receiver::start().await;
    let (status, _) = q
        .send(
            q.http
                .post(q.url("/v2/queues"))
                .json(&json!({"queueName": "jobs", "parallelism": 1, "paused": true})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    for i in 0..5 {
        let (status, _) = q
            .send(
                q.http
                    .post(q.url(&format!("/v2/enqueue/jobs/{}", r.to(&format!("/slow/30?i={i}")))))
                    .body(i.to_string()),
            )
            .await;
        assert_eq!(status, StatusCode::OK);
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(r.count("/slow"), 0, "a paused queue delivers nothing");
    let (_, info) = q.get("/v2/queues/jobs").await;
    assert_eq!(info["paused"], true);
    assert_eq!(info["lag"], 5);
    assert_eq!(info["parallelism"], 1);
    let (status, _) = q.send(q.http.post(q.url("/v2/queues/jobs/resume"))).await;
    assert_eq!(status, StatusCode::OK);
    let got = r.wait_for("/slow", 5).await;
    let order: Vec<String> =
        got.iter().map(|g| String::from_utf8_lossy(&g.body).into_owned()).collect();
    assert_eq!(order, ["0", "1", "2", "3", "4"]);
    // With parallelism 1, each starts after the previous answered.
    for w in got.windows(2) {
        assert!(w[1].at - w[0].at >= Duration::from_millis(25));
    }
    let (_, list) = q.get("/v2/queues").await;
    assert_eq!(list.as_array().unwrap().len(), 1);
    let (status, _) = q.send(q.http.delete(q.url("/v2/queues/jobs"))).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = q.get("/v2/queues/jobs").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn schedules_crud_and_firing() {
    let q = Q::start().await;
    let r = Receiver::start().await;
    let (status, v) = q
        .send(
            q.http
                .post(q.url(&format!("/v2/schedules/{}", r.to("/cron"))))
                .header("Upstash-Cron", "CRON_TZ=Europe/Paris */5 * * * *")
                .header("Upstash-Retries", "1")
                .header("Content-Type", "application/json")
                .body(r#"{"tick":true}"#),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    let id = v["scheduleId"].as_str().unwrap().to_string();
    assert!(id.starts_with("scd_"));
    let (_, s) = q.get(&format!("/v2/schedules/{id}")).await;
    assert_eq!(s["cron"], "CRON_TZ=Europe/Paris */5 * * * *");
    assert_eq!(s["destination"], r.to("/cron"));
    assert_eq!(s["retries"], 1);
    assert_eq!(s["isPaused"], false);
    assert_eq!(s["body"], r#"{"tick":true}"#);
    assert!(s["nextScheduleTime"].as_u64().unwrap() % 300_000 == 0);
    // Make it due now through RESP, like a clock passing the tick.
    let client = redis::Client::open(q.srv.redis_url()).unwrap();
    let mut c = client.get_multiplexed_async_connection().await.unwrap();
    let _: i64 = redis::cmd("ZADD")
        .arg("qstash:{q}:sched:due")
        .arg("XX")
        .arg(1)
        .arg(&id)
        .query_async(&mut c)
        .await
        .unwrap();
    let got = r.wait_for("/cron", 1).await;
    assert_eq!(got[0].headers["upstash-schedule-id"], id);
    assert_eq!(got[0].body.as_ref(), br#"{"tick":true}"#);
    let (_, s) = q.get(&format!("/v2/schedules/{id}")).await;
    assert!(s["lastScheduleTime"].is_u64());
    // Overwrite with the same id, pause (PATCH and POST), resume, delete.
    let (_, v) = q
        .send(
            q.http
                .post(q.url(&format!("/v2/schedules/{}", r.to("/cron2"))))
                .header("Upstash-Cron", "0 0 1 1 *")
                .header("Upstash-Schedule-Id", &id),
        )
        .await;
    assert_eq!(v["scheduleId"], id.as_str());
    let (_, list) = q.get("/v2/schedules").await;
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["destination"], r.to("/cron2"));
    let (status, _) = q.send(q.http.patch(q.url(&format!("/v2/schedules/{id}/pause")))).await;
    assert_eq!(status, StatusCode::OK);
    let (_, s) = q.get(&format!("/v2/schedules/{id}")).await;
    assert_eq!(s["isPaused"], true);
    let (status, _) = q.send(q.http.post(q.url(&format!("/v2/schedules/{id}/resume")))).await;
    assert_eq!(status, StatusCode::OK);
    let (_, s) = q.get(&format!("/v2/schedules/{id}")).await;
    assert_eq!(s["isPaused"], false);
    let (status, _) = q.send(q.http.delete(q.url(&format!("/v2/schedules/{id}")))).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = q.get(&format!("/v2/schedules/{id}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // Bad cron and missing cron.
    let (status, v) = q
        .send(
            q.http
                .post(q.url(&format!("/v2/schedules/{}", r.to("/x"))))
                .header("Upstash-Cron", "every day"),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(v["error"].as_str().unwrap().contains("cron"));
    let (status, _) = q.send(q.http.post(q.url(&format!("/v2/schedules/{}", r.to("/x"))))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn callbacks_and_failure_callbacks() {
    let q = Q::start().await;
    let r = Receiver::start().await;
    q.publish(
        &r.to("/ok"),
        &[("Upstash-Callback", &r.to("/cb")), ("Upstash-Callback-Forward-Token", "t1")],
        "src",
    )
    .await;
    let cb = r.wait_for("/cb", 1).await;
    assert_eq!(cb[0].headers["token"], "t1");
    let body: Value = serde_json::from_slice(&cb[0].body).unwrap();
    assert_eq!(body["status"], 200);
    assert_eq!(body["sourceBody"], "c3Jj");
    assert_eq!(body["body"], "YW5zd2VyIDIwMA==");
    assert_eq!(body["url"], r.to("/ok"));
    assert!(cb[0].headers.contains_key("upstash-signature"));
    q.publish(
        &r.to("/status/404"),
        &[("Upstash-Retries", "0"), ("Upstash-Failure-Callback", &r.to("/fcb"))],
        "f",
    )
    .await;
    let fcb = r.wait_for("/fcb", 1).await;
    let body: Value = serde_json::from_slice(&fcb[0].body).unwrap();
    assert_eq!(body["status"], 404);
    assert!(body["dlqId"].is_string());
    assert_eq!(body["retried"], 0);
    assert_eq!(body["maxRetries"], 0);
}

#[tokio::test]
async fn errors_have_clear_shapes() {
    let q = Q::start().await;
    let r = Receiver::start().await;
    // Wrong and missing token.
    let resp = q
        .http
        .post(q.url(&format!("/v2/publish/{}", r.to("/x"))))
        .bearer_auth("nope")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    assert!(resp.json::<Value>().await.unwrap()["error"].is_string());
    let resp = q.http.get(q.url("/v2/keys")).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    // The token as a query parameter works (and is not part of the destination).
    let resp = q
        .http
        .post(q.url(&format!("/v2/publish/{}?a=1&qstash_token={QSTASH_TOKEN}", r.to("/qt"))))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.json::<Value>().await.unwrap()["url"], r.to("/qt?a=1"));
    // Invalid destination, headers, unknown routes.
    let (status, v) = q.publish("example.com/x", &[], "").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        v["error"],
        "invalid destination url: endpoint has invalid scheme, add http:// or https://"
    );
    for (k, val) in
        [("Upstash-Retries", "many"), ("Upstash-Delay", "1y"), ("Upstash-Retry-Delay", "pow(")]
    {
        let (status, v) = q.publish(&r.to("/x"), &[(k, val)], "").await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{k}");
        assert!(v["error"].is_string());
    }
    let (status, v) = q.get("/v2/nothing").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(v["error"].is_string());
    let (status, _) = q.send(q.http.post(q.url("/v2/batch")).body("{not json")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) =
        q.send(q.http.post(q.url("/v2/queues")).body(r#"{"queueName":"bad name!"}"#)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = q.get("/v2/messages/msg_unknown").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // The Redis REST API is untouched by the queue's routes.
    let resp = q
        .http
        .post(q.url("/"))
        .bearer_auth(larder_test_support::TOKEN)
        .body(r#"["PING"]"#)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.json::<Value>().await.unwrap()["result"], "PONG");
}

#[tokio::test]
async fn signing_keys_and_rotation() {
    let q = Q::start().await;
    let (_, k) = q.get("/v2/keys").await;
    assert_eq!(k, json!({"current": QSTASH_CURRENT_SIGNING_KEY, "next": QSTASH_NEXT_SIGNING_KEY}));
    let (status, k2) = q.send(q.http.post(q.url("/v2/keys/rotate"))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(k2["current"], QSTASH_NEXT_SIGNING_KEY);
    let new_next = k2["next"].as_str().unwrap().to_string();
    assert!(new_next.starts_with("sig_") && new_next != QSTASH_NEXT_SIGNING_KEY);
    // Deliveries are now signed with the old next key.
    let r = Receiver::start().await;
    q.publish(&r.to("/rot"), &[], "b").await;
    let got = r.wait_for("/rot", 1).await;
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    signing::verify(
        &got[0].headers["upstash-signature"],
        QSTASH_NEXT_SIGNING_KEY,
        &new_next,
        b"b",
        None,
        now,
        0,
    )
    .unwrap();
    assert!(
        signing::verify(
            &got[0].headers["upstash-signature"],
            QSTASH_CURRENT_SIGNING_KEY,
            "other",
            b"b",
            None,
            now,
            0
        )
        .is_err()
    );
}

#[tokio::test]
async fn flow_control_limits_parallelism() {
    let q = Q::start().await;
    let r = Receiver::start().await;
    for i in 0..4 {
        q.publish(
            &r.to(&format!("/slow/150?i={i}")),
            &[("Upstash-Flow-Control-Key", "fk"), ("Upstash-Flow-Control-Value", "parallelism=1")],
            "",
        )
        .await;
    }
    tokio::time::sleep(Duration::from_millis(60)).await;
    let (status, fc) = q.get("/v2/flowControl/fk").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(fc["flowControlKey"], "fk");
    assert_eq!(fc["parallelismMax"], 1);
    assert_eq!(fc["parallelismCount"], 1);
    assert_eq!(fc["waitListSize"], 3);
    let got = r.wait_for("/slow", 4).await;
    for w in got.windows(2) {
        assert!(w[1].at - w[0].at >= Duration::from_millis(140), "{:?}", w[1].at - w[0].at);
    }
    let (_, list) = q.get("/v2/flowControl").await;
    assert_eq!(list.as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn cancel_many_and_all() {
    let q = Q::start().await;
    let r = Receiver::start().await;
    let mut ids = Vec::new();
    for _ in 0..4 {
        let (_, v) = q.publish(&r.to("/never"), &[("Upstash-Delay", "1d")], "").await;
        ids.push(v["messageId"].as_str().unwrap().to_string());
    }
    // Python's form: a JSON body on DELETE.
    let (status, v) = q
        .send(
            q.http
                .delete(q.url("/v2/messages"))
                .json(&json!({"messageIds": [ids[0], "msg_missing"]})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(v["cancelled"], 1);
    // JS's form: repeated query keys.
    let (_, v) = q
        .send(
            q.http.delete(
                q.url(&format!("/v2/messages?messageIds={}&messageIds={}", ids[1], ids[2])),
            ),
        )
        .await;
    assert_eq!(v["cancelled"], 2);
    let (_, v) = q.send(q.http.delete(q.url("/v2/messages"))).await;
    assert_eq!(v["cancelled"], 1);
    let (status, _) = q.get(&format!("/v2/messages/{}", ids[3])).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_fresh_server_writes_no_queue_keys() {
    let q = Q::start().await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let client = redis::Client::open(q.srv.redis_url()).unwrap();
    let mut c = client.get_multiplexed_async_connection().await.unwrap();
    let n: i64 = redis::cmd("DBSIZE").query_async(&mut c).await.unwrap();
    assert_eq!(n, 0);
    // A rotation is kept in the keyspace.
    q.send(q.http.post(q.url("/v2/keys/rotate"))).await;
    let stored: Vec<String> = redis::cmd("HMGET")
        .arg("qstash:{q}:signing")
        .arg("current")
        .arg("next")
        .query_async(&mut c)
        .await
        .unwrap();
    let (_, k) = q.get("/v2/keys").await;
    assert_eq!(stored, [k["current"].as_str().unwrap(), k["next"].as_str().unwrap()]);
    // FLUSHALL wipes it; the keys in force stay and the next rotation starts from them.
    let _: () = redis::cmd("FLUSHALL").query_async(&mut c).await.unwrap();
    let (_, k2) = q.send(q.http.post(q.url("/v2/keys/rotate"))).await;
    assert_eq!(k2["current"], k["next"]);
}

fn larder_bin() -> std::process::Command {
    std::process::Command::new(env!("CARGO_BIN_EXE_larder"))
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Starts the binary with `args` and reads its `.env` block (up to `REDIS_URL=`).
fn start_bin(args: &[&str]) -> (std::process::Child, HashMap<String, String>) {
    use std::io::BufRead;
    let mut child = larder_bin()
        .args(["--resp", &format!("127.0.0.1:{}", free_port()), "--log", "warn"])
        .args(args)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut env = HashMap::new();
    loop {
        let mut l = String::new();
        if out.read_line(&mut l).unwrap() == 0 {
            break;
        }
        if let Some((k, v)) = l.trim_end().split_once('=') {
            env.insert(k.to_string(), v.to_string());
        }
        if l.starts_with("REDIS_URL=") {
            break;
        }
    }
    (child, env)
}

fn stop_bin(mut child: std::process::Child) {
    let _ = std::process::Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
    let _ = child.wait();
}

#[tokio::test]
async fn generated_qstash_secrets_are_printed_and_kept() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap().to_string();
    let http = format!("127.0.0.1:{}", free_port());
    let (child, env) = start_bin(&["--http", &http, "--data-dir", &d]);
    assert_eq!(env["QSTASH_URL"], format!("http://{http}"));
    let token = env["QSTASH_TOKEN"].clone();
    assert!(env["QSTASH_CURRENT_SIGNING_KEY"].starts_with("sig_"));
    let resp = reqwest::Client::new()
        .get(format!("http://{http}/v2/keys"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    let k: Value = resp.json().await.unwrap();
    assert_eq!(k["current"], env["QSTASH_CURRENT_SIGNING_KEY"].as_str());
    assert_eq!(k["next"], env["QSTASH_NEXT_SIGNING_KEY"].as_str());
    stop_bin(child);
    let (child, env2) =
        start_bin(&["--http", &format!("127.0.0.1:{}", free_port()), "--data-dir", &d]);
    assert_eq!(env2["QSTASH_TOKEN"], token);
    assert_eq!(env2["QSTASH_CURRENT_SIGNING_KEY"], env["QSTASH_CURRENT_SIGNING_KEY"]);
    stop_bin(child);
}

#[tokio::test]
async fn dev_mode_answers_the_sdk_probe() {
    const DEV_TOKEN: &str =
        "eyJVc2VySUQiOiJkZWZhdWx0VXNlciIsIlBhc3N3b3JkIjoiZGVmYXVsdFBhc3N3b3JkIn0=";
    let dir = tempfile::tempdir().unwrap();
    let http = format!("127.0.0.1:{}", free_port());
    let (child, env) =
        start_bin(&["--http", &http, "--data-dir", dir.path().to_str().unwrap(), "--qstash-dev"]);
    assert_eq!(env["QSTASH_TOKEN"], DEV_TOKEN);
    let resp = reqwest::Client::new()
        .get(format!("http://{http}/v2/keys"))
        .bearer_auth(DEV_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let k: Value = resp.json().await.unwrap();
    assert_eq!(
        k,
        json!({"current": "sig_7kYjw48mhY7kAjqNGcy6cr29RJ6r", "next": "sig_5ZB6DVzB1wjE8S6rZ7eenA8Pdnhs"})
    );
    stop_bin(child);
    let out = larder_bin()
        .args([
            "--http",
            "0.0.0.0:0",
            "--resp",
            "off",
            "--token",
            "a-long-token",
            "--qstash-dev",
            "--data-dir",
        ])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--qstash-dev"));
}

#[tokio::test]
async fn cancelling_an_in_flight_message() {
    let q = Q::start().await;
    let r = Receiver::start().await;
    let (_, v) = q.publish(&r.to("/slow/400/status/500"), &[("Upstash-Retries", "3")], "x").await;
    let id = v["messageId"].as_str().unwrap().to_string();
    r.wait_for("/slow/400", 1).await;
    // In flight: the cancel is accepted and the message finishes as cancelled, without retries.
    let (status, v) = q.send(q.http.delete(q.url(&format!("/v2/messages/{id}")))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(v["cancelled"], 1);
    // Bulk cancels do not count it again (a "cancel until none is left" loop ends).
    let (_, v) = q.send(q.http.delete(q.url("/v2/messages"))).await;
    assert_eq!(v["cancelled"], 0);
    let ev = q.wait_state(&id, "CANCELED").await;
    assert_eq!(ev, ["CREATED", "ACTIVE", "CANCEL_REQUESTED", "ERROR", "CANCELED"]);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(r.count("/slow/400"), 1);
    let (_, dlq) = q.get("/v2/dlq").await;
    assert_eq!(dlq["messages"], json!([]));
}

#[tokio::test]
async fn garbage_in_clear_errors_out() {
    let q = Q::start().await;
    let r = Receiver::start().await;
    let dest = r.to("/g");
    type Case<'a> = (reqwest::Method, String, Vec<(&'a str, &'a str)>, &'a str);
    let cases: Vec<Case> = vec![
        (reqwest::Method::POST, "/v2/publish/".into(), vec![], ""),
        (reqwest::Method::POST, "/v2/publish/http://".into(), vec![], ""),
        (reqwest::Method::POST, "/v2/publish/ftp://x/y".into(), vec![], ""),
        (reqwest::Method::POST, "/v2/publish/%00%ff".into(), vec![], ""),
        (
            reqwest::Method::POST,
            format!("/v2/publish/{dest}"),
            vec![("Upstash-Retries", "1000")],
            "",
        ),
        (
            reqwest::Method::POST,
            format!("/v2/publish/{dest}"),
            vec![("Upstash-Not-Before", "-5")],
            "",
        ),
        (
            reqwest::Method::POST,
            format!("/v2/publish/{dest}"),
            vec![("Upstash-Flow-Control-Value", "rate=x")],
            "",
        ),
        (
            reqwest::Method::POST,
            format!("/v2/publish/{dest}"),
            vec![("Upstash-Flow-Control-Key", "bad key!")],
            "",
        ),
        (
            reqwest::Method::POST,
            format!("/v2/publish/{dest}"),
            vec![("Upstash-Callback", "nope")],
            "",
        ),
        (
            reqwest::Method::POST,
            format!("/v2/publish/{dest}"),
            vec![("Upstash-Method", "TRACE")],
            "",
        ),
        (reqwest::Method::POST, format!("/v2/enqueue/bad%20queue/{dest}"), vec![], ""),
        (reqwest::Method::POST, "/v2/enqueue/q".into(), vec![], ""),
        (reqwest::Method::POST, "/v2/batch".into(), vec![], "{}"),
        (reqwest::Method::POST, "/v2/batch".into(), vec![], "[1, 2]"),
        (reqwest::Method::POST, "/v2/batch".into(), vec![], r#"[{"destination": 5}]"#),
        (
            reqwest::Method::POST,
            "/v2/queues".into(),
            vec![],
            r#"{"queueName": "q", "parallelism": 0}"#,
        ),
        (
            reqwest::Method::POST,
            "/v2/queues".into(),
            vec![],
            r#"{"queueName": "q", "parallelism": -1}"#,
        ),
        (reqwest::Method::POST, "/v2/queues".into(), vec![], r#"[]"#),
        (reqwest::Method::POST, "/v2/queues/missing/pause".into(), vec![], ""),
        (
            reqwest::Method::POST,
            format!("/v2/schedules/{dest}"),
            vec![("Upstash-Cron", "0 0 30 2 *")],
            "",
        ),
        (
            reqwest::Method::POST,
            format!("/v2/schedules/{dest}"),
            vec![("Upstash-Cron", "* * * * *"), ("Upstash-Schedule-Id", "a b")],
            "",
        ),
        (reqwest::Method::PATCH, "/v2/schedules/missing/pause".into(), vec![], ""),
        (reqwest::Method::POST, "/v2/topics/g/endpoints".into(), vec![], r#"{"endpoints": []}"#),
        (
            reqwest::Method::POST,
            "/v2/topics/g/endpoints".into(),
            vec![],
            r#"{"endpoints": [{"url": "x"}]}"#,
        ),
        (reqwest::Method::POST, "/v2/topics/g/endpoints".into(), vec![], "not json"),
        (
            reqwest::Method::DELETE,
            "/v2/topics/missing/endpoints".into(),
            vec![],
            r#"{"endpoints": [{"url": "http://x"}]}"#,
        ),
        (reqwest::Method::DELETE, "/v2/messages".into(), vec![], "{bad"),
        (reqwest::Method::GET, "/v2/events?count=abc".into(), vec![], ""),
        (reqwest::Method::GET, "/v2/events?fromDate=yesterday".into(), vec![], ""),
        (reqwest::Method::GET, "/v2/dlq/missing".into(), vec![], ""),
        (reqwest::Method::POST, "/v2/dlq/retry/missing".into(), vec![], ""),
        (reqwest::Method::POST, "/v2/flowControl/missing/pin?parallelism=x".into(), vec![], ""),
        (reqwest::Method::POST, "/v2/flowControl/missing/pause".into(), vec![], ""),
        (reqwest::Method::GET, "/v2/flowControl/missing".into(), vec![], ""),
        (reqwest::Method::PUT, "/v2/keys".into(), vec![], ""),
        (reqwest::Method::GET, "/v2/".into(), vec![], ""),
    ];
    for (method, path, headers, body) in cases {
        let mut req = q.http.request(method.clone(), q.url(&path)).body(body.to_string());
        for (k, v) in &headers {
            req = req.header(*k, *v);
        }
        let (status, v) = q.send(req).await;
        assert!(status.is_client_error(), "{method} {path} {headers:?}: {status} {v}");
        assert!(v["error"].as_str().is_some_and(|e| !e.is_empty()), "{method} {path}: {v}");
    }
    // Nothing was published by any of them.
    let (_, ev) = q.get("/v2/events").await;
    assert_eq!(ev["events"], json!([]));
}
