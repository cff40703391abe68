//! The Upstash REST API over real HTTP.

use larder_test_support::{READ_ONLY_TOKEN, TOKEN, TestServer};
use reqwest::StatusCode;
use serde_json::{Value, json};

struct Rest {
    srv: TestServer,
    http: reqwest::Client,
}

impl Rest {
    async fn start() -> Rest {
        Rest { srv: TestServer::start().await, http: reqwest::Client::new() }
    }

    async fn post(
        &self,
        path: &str,
        body: impl Into<reqwest::Body>,
    ) -> (StatusCode, Value, reqwest::header::HeaderMap) {
        self.post_with(path, body, TOKEN, false).await
    }

    async fn post_with(
        &self,
        path: &str,
        body: impl Into<reqwest::Body>,
        token: &str,
        base64: bool,
    ) -> (StatusCode, Value, reqwest::header::HeaderMap) {
        let mut req =
            self.http.post(format!("{}{path}", self.srv.http_url())).bearer_auth(token).body(body);
        if base64 {
            req = req.header("Upstash-Encoding", "base64");
        }
        let resp = req.send().await.unwrap();
        let status = resp.status();
        let headers = resp.headers().clone();
        let text = resp.text().await.unwrap();
        let v: Value = serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text:?}"));
        (status, v, headers)
    }

    async fn cmd(&self, c: Value) -> Value {
        let (status, v, _) = self.post("/", c.to_string()).await;
        assert_eq!(status, StatusCode::OK, "{v}");
        v["result"].clone()
    }

    async fn get(&self, path: &str) -> (StatusCode, Value) {
        let resp = self.http.get(format!("{}{path}", self.srv.http_url())).send().await.unwrap();
        let status = resp.status();
        (status, resp.json().await.unwrap())
    }
}

#[tokio::test]
async fn single_commands_and_value_mapping() {
    let r = Rest::start().await;
    assert_eq!(r.cmd(json!(["SET", "k", "v"])).await, json!("OK"));
    assert_eq!(r.cmd(json!(["get", "k"])).await, json!("v"));
    assert_eq!(r.cmd(json!(["GET", "missing"])).await, Value::Null);
    assert_eq!(r.cmd(json!(["INCR", "n"])).await, json!(1));
    assert_eq!(r.cmd(json!(["INCRBYFLOAT", "f", 1.5])).await, json!("1.5"));
    assert_eq!(r.cmd(json!(["MGET", "k", "missing"])).await, json!(["v", null]));
    assert_eq!(r.cmd(json!(["PING"])).await, json!("PONG"));
    // Numbers and booleans keep their exact text.
    let (_, v, _) = r.post("/", r#"["SET","num",2.0]"#).await;
    assert_eq!(v, json!({"result": "OK"}));
    assert_eq!(r.cmd(json!(["GET", "num"])).await, json!("2.0"));
    r.post("/", r#"["SET","big",123456789012345678901234567890]"#).await;
    assert_eq!(r.cmd(json!(["GET", "big"])).await, json!("123456789012345678901234567890"));
    r.cmd(json!(["SET", "b", true])).await;
    assert_eq!(r.cmd(json!(["GET", "b"])).await, json!("true"));
}

#[tokio::test]
async fn command_errors_are_400_with_the_redis_text() {
    let r = Rest::start().await;
    r.cmd(json!(["SET", "s", "abc"])).await;
    let (status, v, _) = r.post("/", json!(["INCR", "s"]).to_string()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(v, json!({"error": "ERR value is not an integer or out of range"}));
    let (status, v, _) = r.post("/", json!(["NOPE", "a"]).to_string()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(v["error"], json!("ERR unknown command 'NOPE', with args beginning with: 'a' "));
    let (status, v, _) = r.post("/", json!(["GET"]).to_string()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(v["error"], json!("ERR wrong number of arguments for 'get' command"));
}

#[tokio::test]
async fn base64_encodes_every_string_but_a_top_level_ok() {
    let r = Rest::start().await;
    let (_, v, _) = r.post_with("/", r#"["SET","k","OK"]"#, TOKEN, true).await;
    assert_eq!(v, json!({"result": "OK"}));
    let (_, v, _) = r.post_with("/", r#"["GET","k"]"#, TOKEN, true).await;
    assert_eq!(v, json!({"result": "T0s="}));
    let (_, v, _) = r.post_with("/", r#"["PING"]"#, TOKEN, true).await;
    assert_eq!(v, json!({"result": "UE9ORw=="}));
    let (_, v, _) = r.post_with("/", r#"["MGET","k","nope"]"#, TOKEN, true).await;
    assert_eq!(v, json!({"result": ["T0s=", null]}));
    let (_, v, _) = r
        .post_with(
            "/pipeline",
            r#"[["SET","a","1"],["INCR","a"],["GET","a"],["INCR","k"]]"#,
            TOKEN,
            true,
        )
        .await;
    assert_eq!(
        v,
        json!([{"result": "OK"}, {"result": 2}, {"result": "Mg=="}, {"error": "ERR value is not an integer or out of range"}])
    );
}

#[tokio::test]
async fn pipeline_runs_every_command_and_multi_exec_is_atomic() {
    let r = Rest::start().await;
    let (status, v, _) = r.post("/pipeline", r#"[["SET","a","x"],["INCR","a"],["GET","a"]]"#).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        v,
        json!([{"result": "OK"}, {"error": "ERR value is not an integer or out of range"}, {"result": "x"}])
    );
    assert!(v[1].get("result").is_none(), "an error element carries no result key");

    let (status, v, _) =
        r.post("/multi-exec", r#"[["SET","b",2.0],["GET","b"],["INCR","b"]]"#).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        v,
        json!([{"result": "OK"}, {"result": "2.0"}, {"error": "ERR value is not an integer or out of range"}])
    );

    // A command refused before running aborts the whole transaction: nothing runs.
    let (status, v, _) = r.post("/multi-exec", r#"[["SET","c","1"],["NOSUCH"]]"#).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(v, json!({"error": "EXECABORT Transaction discarded because of previous errors."}));
    assert_eq!(r.cmd(json!(["EXISTS", "c"])).await, json!(0));

    for body in ["[]", "{}", "[\"GET\",\"a\"]", "not json"] {
        let (status, v, _) = r.post("/pipeline", body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert!(v["error"].is_string(), "{body}");
    }
}

#[tokio::test]
async fn sync_token_is_on_every_response_and_changes() {
    let r = Rest::start().await;
    let mut seen = std::collections::HashSet::new();
    for c in [json!(["SET", "a", "1"]), json!(["GET", "a"]), json!(["SET", "a", "2"])] {
        let (_, _, h) = r.post("/", c.to_string()).await;
        let t = h.get("upstash-sync-token").expect("sync token").to_str().unwrap().to_string();
        assert!(!t.is_empty());
        assert!(seen.insert(t), "tokens differ between responses");
    }
    // Any incoming token is accepted.
    let resp = r
        .http
        .post(format!("{}/", r.srv.http_url()))
        .bearer_auth(TOKEN)
        .header("upstash-sync-token", "my-new-sync-token")
        .body(r#"["SET","x","1"]"#)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
}

#[tokio::test]
async fn auth_read_only_and_token_query() {
    let r = Rest::start().await;
    let (status, v, _) = r.post_with("/", r#"["PING"]"#, "wrong-token", false).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(v["error"].is_string());
    let resp =
        r.http.post(format!("{}/", r.srv.http_url())).body(r#"["PING"]"#).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);

    r.cmd(json!(["SET", "k", "v"])).await;
    let (status, v, _) = r.post_with("/", r#"["GET","k"]"#, READ_ONLY_TOKEN, false).await;
    assert_eq!((status, v), (StatusCode::OK, json!({"result": "v"})));
    for c in
        [json!(["SET", "k", "x"]), json!(["DEL", "k"]), json!(["FLUSHALL"]), json!(["KEYS", "*"])]
    {
        let (status, v, _) = r.post_with("/", c.to_string(), READ_ONLY_TOKEN, false).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{c}");
        assert!(v["error"].as_str().unwrap().starts_with("NOPERM"), "{v}");
    }
    let (_, v, _) =
        r.post_with("/pipeline", r#"[["GET","k"],["SET","k","x"]]"#, READ_ONLY_TOKEN, false).await;
    assert_eq!(v[0], json!({"result": "v"}));
    assert!(v[1]["error"].as_str().unwrap().starts_with("NOPERM"));
    let (status, _, _) = r
        .post_with("/multi-exec", r#"[["GET","k"],["SET","k","x"]]"#, READ_ONLY_TOKEN, false)
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        r.cmd(json!(["GET", "k"])).await,
        json!("v"),
        "nothing was written with the read-only token"
    );

    let (status, v) = r.get(&format!("/get/k?_token={TOKEN}")).await;
    assert_eq!((status, v), (StatusCode::OK, json!({"result": "v"})));
    let (status, _) = r.get("/get/k?_token=nope").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn path_style_commands() {
    let r = Rest::start().await;
    let (s, v) = r.get(&format!("/set/greeting/hello%20world?_token={TOKEN}")).await;
    assert_eq!((s, v), (StatusCode::OK, json!({"result": "OK"})));
    let (_, v) = r.get(&format!("/get/greeting?_token={TOKEN}")).await;
    assert_eq!(v, json!({"result": "hello world"}));
    // A POST body is the last argument, query parameters come after it.
    let resp = r
        .http
        .post(format!("{}/set/blob?EX=100", r.srv.http_url()))
        .bearer_auth(TOKEN)
        .body(vec![0u8, 159, 146, 150])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(r.cmd(json!(["TTL", "blob"])).await, json!(100));
    assert_eq!(r.cmd(json!(["STRLEN", "blob"])).await, json!(4));
    let (_, v, _) = r.post_with("/", r#"["GET","blob"]"#, TOKEN, true).await;
    assert_eq!(v, json!({"result": "AJ+Slg=="}), "binary values come back intact in base64");
    let (s, v) = r.get(&format!("/mget/greeting/none?_token={TOKEN}")).await;
    assert_eq!((s, v), (StatusCode::OK, json!({"result": ["hello world", null]})));
}

#[tokio::test]
async fn malformed_requests_get_clear_errors_and_the_server_stays_healthy() {
    let r = Rest::start().await;
    let cases: &[(&str, &str)] = &[
        ("/", "not json"),
        ("/", "{\"a\":1}"),
        ("/", "[]"),
        ("/", "[null]"),
        ("/", "[\"SET\",\"k\",{\"a\":1}]"),
        ("/", "[\"SET\",\"k\""),
        ("/", ""),
        ("/multi-exec", "[[]]"),
        ("/pipeline", "[[\"GET\"],5]"),
    ];
    for (path, body) in cases {
        let (status, v, _) = r.post(path, *body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path} {body}");
        assert!(v["error"].as_str().is_some_and(|e| !e.is_empty()), "{path} {body}: {v}");
    }
    // A body over the limit is refused with 413.
    let huge = format!("[\"SET\",\"k\",\"{}\"]", "x".repeat(11 * 1024 * 1024));
    let (status, v, _) = r.post("/", huge).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(v, json!({"error": "ERR max request size exceeded"}));
    let resp =
        r.http.delete(format!("{}/", r.srv.http_url())).bearer_auth(TOKEN).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::METHOD_NOT_ALLOWED);
    let (status, v) = r.get("/healthz").await;
    assert_eq!((status, v), (StatusCode::OK, json!({"status": "ok"})));
    assert_eq!(r.cmd(json!(["PING"])).await, json!("PONG"));
}

#[tokio::test]
async fn resp2_response_format() {
    let r = Rest::start().await;
    let resp = r
        .http
        .post(format!("{}/", r.srv.http_url()))
        .bearer_auth(TOKEN)
        .header("Upstash-Response-Format", "resp2")
        .body(r#"["SET","k","v"]"#)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.headers()["content-type"], "application/octet-stream");
    assert_eq!(resp.text().await.unwrap(), "+OK\r\n");
    let resp = r
        .http
        .post(format!("{}/", r.srv.http_url()))
        .bearer_auth(TOKEN)
        .header("Upstash-Response-Format", "resp2")
        .header("Upstash-Encoding", "base64")
        .body(r#"["GET","k"]"#)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn scripts_over_rest_and_read_only_tokens() {
    let r = Rest::start().await;
    // EVALSHA of an unknown script: the exact NOSCRIPT text the clients match on, as a 400.
    let (status, v, _) =
        r.post("/", r#"["evalsha","e0e1f9fabfc9d4800c877a703b823ac0578ff8db",0]"#).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(v, json!({"error": "NOSCRIPT No matching script. Please use EVAL."}));
    // EVAL caches the script; numbers as JSON numbers are their text.
    assert_eq!(
        r.cmd(json!(["eval", "return redis.call('incrby', KEYS[1], ARGV[1])", 1, "n", 5])).await,
        json!(5)
    );
    let sha = r.cmd(json!(["script", "load", "return redis.call('get', KEYS[1])"])).await;
    assert_eq!(r.cmd(json!(["evalsha", sha, 1, "n"])).await, json!("5"));
    // A read-only token cannot run EVAL at all, and EVAL_RO cannot write whatever the script calls.
    let (status, v, _) = r.post_with("/", r#"["eval","return 1",0]"#, READ_ONLY_TOKEN, false).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(v["error"].as_str().unwrap().starts_with("NOPERM"), "{v}");
    let (status, v, _) = r
        .post_with(
            "/",
            r#"["eval_ro","return redis.call('get', KEYS[1])",1,"n"]"#,
            READ_ONLY_TOKEN,
            false,
        )
        .await;
    assert_eq!((status, v), (StatusCode::OK, json!({"result": "5"})));
    let (status, v, _) = r
        .post_with(
            "/",
            r#"["eval_ro","return redis.call('set', KEYS[1], 'x')",1,"n"]"#,
            READ_ONLY_TOKEN,
            false,
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        v["error"].as_str().unwrap().contains("commands are not allowed from read-only"),
        "{v}"
    );
    let (status, v, _) = r
        .post_with(
            "/",
            r#"["evalsha_ro","ffffffffffffffffffffffffffffffffffffffff",0]"#,
            READ_ONLY_TOKEN,
            false,
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(v["error"].as_str().unwrap().starts_with("NOSCRIPT"), "{v}");
    let (status, _, _) = r.post_with("/", r#"["fcall","f",0]"#, READ_ONLY_TOKEN, false).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        r.cmd(json!(["get", "n"])).await,
        json!("5"),
        "nothing was written with the read-only token"
    );
    // Scripts inside /multi-exec.
    let (_, v, _) = r
        .post("/multi-exec", r#"[["eval","return redis.call('incr', KEYS[1])",1,"n"],["get","n"]]"#)
        .await;
    assert_eq!(v, json!([{"result": 6}, {"result": "6"}]));
    // The sync token changes after a script that writes.
    let (_, _, h1) = r.post("/", r#"["get","n"]"#).await;
    let (_, _, h2) = r.post("/", r#"["eval","return redis.call('incr', KEYS[1])",1,"n"]"#).await;
    assert_ne!(h1["upstash-sync-token"], h2["upstash-sync-token"]);
}
