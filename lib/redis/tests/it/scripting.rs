use larder_redis::{Redis, Script, Value};
use larder_test_support::TOKEN;

use crate::support::{Recording, server};

fn words(v: &Value) -> Vec<String> {
    // The command names a recorded request body carried.
    match v {
        Value::Array(a) => a.iter().map(|x| x.as_str().unwrap_or("?").to_string()).collect(),
        _ => vec![],
    }
}

fn sent_commands(rec: &Recording) -> Vec<String> {
    rec.exchanges()
        .iter()
        .map(|e| {
            let json: Value = serde_json::from_slice(&e.request.body).unwrap();
            words(&json)[0].to_uppercase()
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eval_family() {
    let (_s, r) = server().await;
    let src = "return {KEYS[1], ARGV[1], tonumber(ARGV[2]) + 1}";
    let v: (String, String, i64) = r.eval(src, ["k"], ("a", 41)).await.unwrap();
    assert_eq!(v, ("k".to_string(), "a".to_string(), 42));
    let sha = r.script_load(src).await.unwrap();
    assert_eq!(sha, Script::new(src).sha1());
    let v: (String, String, i64) = r.evalsha(&sha, ["k"], ("b", 1)).await.unwrap();
    assert_eq!(v.1, "b");
    assert_eq!(
        r.script_exists([sha.as_str(), "0000000000000000000000000000000000000000"]).await.unwrap(),
        [true, false]
    );

    r.set("k", "v").await.unwrap();
    let read = "return redis.call('GET', KEYS[1])";
    assert_eq!(r.eval_ro::<String>(read, "k", ()).await.unwrap(), "v");
    let sha_ro = r.script_load(read).await.unwrap();
    assert_eq!(r.evalsha_ro::<Option<String>>(&sha_ro, "missing", ()).await.unwrap(), None);
    let e =
        r.eval_ro::<Value>("return redis.call('SET', KEYS[1], 'x')", "k", ()).await.unwrap_err();
    assert!(e.redis_message().unwrap().contains("not allowed from read-only"), "{e}");

    r.script_flush().await.unwrap();
    assert_eq!(r.script_exists(&sha).await.unwrap(), [false]);
    let e = r.evalsha::<Value>(&sha, (), ()).await.unwrap_err();
    assert!(e.is_noscript(), "{e}");
    assert_eq!(e.redis_code(), Some("NOSCRIPT"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn script_falls_back_to_eval_on_noscript() {
    let s = larder_test_support::TestServer::start().await;
    let rec = Recording::new();
    let r = Redis::builder(s.http_url(), TOKEN).transport(rec.clone()).build().unwrap();
    let script = Script::new("return redis.call('INCRBY', KEYS[1], ARGV[1])");
    assert!(!script.is_read_only());
    assert!(script.source().contains("INCRBY"));
    assert!(!script.exists(&r).await.unwrap());

    assert_eq!(script.run::<i64>(&r, ["n"], [5]).await.unwrap(), 5);
    assert_eq!(sent_commands(&rec)[1..], ["EVALSHA", "EVAL"]);
    assert!(script.exists(&r).await.unwrap());

    rec.log.lock().unwrap().clear();
    assert_eq!(script.run::<i64>(&r, ["n"], [5]).await.unwrap(), 10);
    assert_eq!(sent_commands(&rec), ["EVALSHA"]);

    // Flushed on the server: falls back again. Loaded ahead of time: no fallback.
    r.script_flush().await.unwrap();
    rec.log.lock().unwrap().clear();
    assert_eq!(script.run::<i64>(&r, ["n"], [1]).await.unwrap(), 11);
    assert_eq!(sent_commands(&rec), ["EVALSHA", "EVAL"]);
    r.script_flush().await.unwrap();
    script.load(&r).await.unwrap();
    rec.log.lock().unwrap().clear();
    assert_eq!(script.run::<i64>(&r, ["n"], [1]).await.unwrap(), 12);
    assert_eq!(sent_commands(&rec), ["EVALSHA"]);

    // Errors other than NOSCRIPT are not retried with EVAL.
    let bad = Script::new("return redis.call('INCR', KEYS[1])");
    r.set("word", "abc").await.unwrap();
    bad.load(&r).await.unwrap();
    rec.log.lock().unwrap().clear();
    let e = bad.run::<i64>(&r, ["word"], ()).await.unwrap_err();
    assert!(e.redis_message().is_some() && !e.is_noscript(), "{e}");
    assert_eq!(sent_commands(&rec), ["EVALSHA"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_only_scripts() {
    let s = larder_test_support::TestServer::start().await;
    let rec = Recording::new();
    let r = Redis::builder(s.http_url(), TOKEN).transport(rec.clone()).build().unwrap();
    r.set("k", 7).await.unwrap();
    let get = Script::read_only("return redis.call('GET', KEYS[1])");
    assert!(get.is_read_only());
    assert_eq!(get.evalsha_cmd("k", ()).name(), "EVALSHA_RO");
    assert_eq!(get.eval_cmd("k", ()).name(), "EVAL_RO");
    rec.log.lock().unwrap().clear();
    assert_eq!(get.run::<i64>(&r, "k", ()).await.unwrap(), 7);
    assert_eq!(sent_commands(&rec), ["EVALSHA_RO", "EVAL_RO"]);
    let write = Script::read_only("return redis.call('SET', KEYS[1], 1)");
    let e = write.run::<Value>(&r, "k", ()).await.unwrap_err();
    assert!(e.redis_message().unwrap().contains("read-only"), "{e}");

    // A read-only token can run read-only scripts.
    let ro = Redis::builder(s.http_url(), larder_test_support::READ_ONLY_TOKEN).build().unwrap();
    assert_eq!(get.run::<i64>(&ro, "k", ()).await.unwrap(), 7);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn base64_edge_cases_in_nested_replies() {
    let (_s, r) = server().await;
    // Top-level status OK stays raw on the wire; every other string is base64.
    assert_eq!(
        r.eval::<Value>("return redis.status_reply('OK')", (), ()).await.unwrap(),
        Value::from("OK")
    );
    assert_eq!(
        r.eval::<String>("return redis.status_reply('PONG')", (), ()).await.unwrap(),
        "PONG"
    );
    let v: Value = r
        .eval("return {'a', {1, redis.status_reply('OK'), {'\\0\\255', ''}}, 'OK', false}", (), ())
        .await
        .unwrap();
    assert_eq!(
        v,
        Value::Array(vec![
            Value::from("a"),
            Value::Array(vec![
                Value::Int(1),
                Value::from("OK"),
                Value::Array(vec![Value::Bytes(vec![0, 255]), Value::from("")]),
            ]),
            Value::from("OK"),
            Value::Nil,
        ])
    );
    // Decoding a nested reply into Rust types.
    let (a, (n, ok, _inner), last, nil): (String, (i64, String, Value), String, Option<String>) =
        v.decode().unwrap();
    assert_eq!((a.as_str(), n, ok.as_str(), last.as_str(), nil), ("a", 1, "OK", "OK", None));
    // A string that looks like base64 is not decoded twice.
    r.set("b64", "T0s=").await.unwrap();
    assert_eq!(r.get::<String>("b64").await.unwrap().as_deref(), Some("T0s="));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn functions() {
    let (_s, r) = server().await;
    let lib = "#!lua name=mylib\n\
        redis.register_function('myincr', function(keys, args) return redis.call('INCRBY', keys[1], args[1]) end)\n\
        redis.register_function{function_name='myget', callback=function(keys) return redis.call('GET', keys[1]) end, flags={'no-writes'}}";
    assert_eq!(r.function_load(lib, false).await.unwrap(), "mylib");
    assert!(r.function_load(lib, false).await.is_err());
    assert_eq!(r.function_load(lib, true).await.unwrap(), "mylib");
    assert_eq!(r.fcall::<i64>("myincr", "n", 3).await.unwrap(), 3);
    assert_eq!(r.fcall_ro::<i64>("myget", "n", ()).await.unwrap(), 3);
    r.function_delete("mylib").await.unwrap();
    assert!(r.fcall::<i64>("myincr", "n", 3).await.is_err());
    r.function_load(lib, false).await.unwrap();
    r.function_flush().await.unwrap();
    assert!(r.fcall_ro::<i64>("myget", "n", ()).await.is_err());
}
