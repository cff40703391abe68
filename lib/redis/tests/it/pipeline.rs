use larder_redis::{
    Direction, Error, ExpireCondition, Expiry, FieldCondition, InsertPosition, LPosOptions, Redis,
    ScanOptions, Script, SetOptions, Value, ZAddOptions, ZRangeOptions,
};
use larder_test_support::{TOKEN, TestServer};

use crate::support::{Recording, server};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pipeline_results_and_per_command_errors() {
    let (_s, r) = server().await;
    let mut p = r.pipeline();
    p.set("a", 1).incr("a").lpush("a", ["x"]).get("a").command(("STRLEN", "a"));
    assert_eq!(p.len(), 5);
    assert!(!p.is_empty() && !p.is_transaction());
    assert_eq!(p.commands()[1].args(), ["INCR", "a"]);
    let results = p.exec().await.unwrap();
    assert_eq!(results.len(), 5);
    assert_eq!(results[0].as_ref().unwrap(), &Value::from("OK"));
    assert_eq!(results[1].as_ref().unwrap(), &Value::Int(2));
    let e = results[2].as_ref().unwrap_err();
    assert!(matches!(e, Error::Command(m) if m.starts_with("WRONGTYPE")), "{e}");
    assert_eq!(results[3].as_ref().unwrap().decode::<i64>().unwrap(), 2);
    assert_eq!(results[4].as_ref().unwrap(), &Value::Int(1));

    // The chained form, and typed results all at once.
    let (ok, n, v): (String, i64, Option<String>) =
        r.pipeline().set("b", 10).incrby("b", 5).get("b").exec_as().await.unwrap();
    assert_eq!((ok.as_str(), n, v.as_deref()), ("OK", 15, Some("15")));
    // exec_as fails with the first command error.
    let e = r.pipeline().set("c", "x").incr("c").exec_as::<Vec<Value>>().await.unwrap_err();
    assert!(e.redis_message().unwrap().contains("not an integer"), "{e}");
    // An empty pipeline sends nothing.
    assert!(r.pipeline().exec().await.unwrap().is_empty());
    // A pipeline can be sent again.
    let mut p = r.pipeline();
    p.incr("again");
    p.exec().await.unwrap();
    assert_eq!(p.exec_as::<(i64,)>().await.unwrap(), (2,));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transactions() {
    let (_s, r) = server().await;
    let t = r.multi();
    assert!(t.is_transaction());
    let ((), n, v): ((), i64, String) =
        r.multi().set("a", 1).incr("a").get("a").exec_as().await.unwrap();
    assert_eq!((n, v.as_str()), (2, "2"));

    // A command failing at run time does not undo the others (Redis's MULTI/EXEC).
    let results = r.multi().set("s", "x").incr("s").set("t", "y").exec().await.unwrap();
    assert!(results[0].is_ok() && results[2].is_ok());
    assert!(results[1].as_ref().unwrap_err().redis_message().unwrap().contains("not an integer"));
    assert_eq!(r.get::<String>("t").await.unwrap().as_deref(), Some("y"));

    // A transaction discarded as a whole is a whole-request error, and nothing ran.
    let e = r.multi().set("u", 1).command(["NOSUCHCOMMAND"]).exec().await.unwrap_err();
    assert!(matches!(e, Error::Command(_)), "{e:?}");
    assert_eq!(r.exists("u").await.unwrap(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn whole_request_errors_are_not_per_command() {
    let s = TestServer::start().await;
    let r = Redis::builder(s.http_url(), "wrong-token").build().unwrap();
    let e = r.pipeline().get("a").exec().await.unwrap_err();
    assert!(matches!(e, Error::Http { status: 401, .. }), "{e:?}");
    let e = r.multi().get("a").exec().await.unwrap_err();
    assert!(matches!(e, Error::Http { status: 401, .. }), "{e:?}");
    let e = r.get::<String>("a").await.unwrap_err();
    assert!(
        matches!(&e, Error::Http { status: 401, message } if message == "Unauthorized"),
        "{e:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scripts_in_pipelines_and_transactions() {
    let s = TestServer::start().await;
    let rec = Recording::new();
    let r = Redis::builder(s.http_url(), TOKEN).transport(rec.clone()).build().unwrap();
    let script = Script::new("return redis.call('INCRBY', KEYS[1], ARGV[1])");

    // Not cached: EVALSHA fails with NOSCRIPT and is re-sent as EVAL in a second request.
    let results = r.pipeline().set("n", 1).script(&script, "n", 10).get("n").exec().await.unwrap();
    assert_eq!(results[1].as_ref().unwrap(), &Value::Int(11));
    assert_eq!(
        results[2].as_ref().unwrap().decode::<i64>().unwrap(),
        1,
        "GET ran before the re-sent EVAL"
    );
    let ex = rec.exchanges();
    assert_eq!(ex.len(), 2);
    assert!(ex[0].request.url.ends_with("/pipeline") && ex[1].request.url.ends_with("/pipeline"));

    // Cached now: one request.
    rec.log.lock().unwrap().clear();
    let results = r.pipeline().script(&script, "n", 1).exec().await.unwrap();
    assert_eq!(results[0].as_ref().unwrap(), &Value::Int(12));
    assert_eq!(rec.exchanges().len(), 1);

    // In a transaction the script is sent as EVAL, so a flushed cache cannot break it.
    r.script_flush().await.unwrap();
    rec.log.lock().unwrap().clear();
    let (n, m): (i64, i64) = r.multi().script(&script, "n", 1).incr("n").exec_as().await.unwrap();
    assert_eq!((n, m), (13, 14));
    let ex = rec.exchanges();
    assert_eq!(ex.len(), 1);
    assert!(ex[0].request.url.ends_with("/multi-exec"));
    assert!(String::from_utf8_lossy(&ex[0].request.body).contains("\"EVAL\""));
}

/// Runs `$name` on the client (recording the request) and queues it on the pipeline, then checks
/// that both produced the same command. `[T]` is the client method's reply type parameter.
macro_rules! same {
    ($r:ident, $p:ident, $rec:ident; $name:ident $([$t:ty])? ($($arg:expr),* $(,)?)) => {{
        let _ = $r.$name $(::<$t>)? ($($arg),*).await;
        let sent: Vec<String> =
            serde_json::from_slice(&$rec.exchanges().last().unwrap().request.body).unwrap();
        $p.$name($($arg),*);
        assert_eq!($p.commands().last().unwrap().args(), sent.as_slice(), stringify!($name));
    }};
}

/// Every typed command method exists on the pipeline too and builds the same command; the batch is
/// then accepted by the server.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_command_queues_on_a_pipeline() {
    let s = TestServer::start().await;
    let rec = Recording::new();
    let r = Redis::builder(s.http_url(), TOKEN).transport(rec.clone()).build().unwrap();
    let mut p = r.pipeline();
    let lib = "#!lua name=plib\nredis.register_function('pf', function(keys) return 1 end)";
    let sha = Script::new("return 1").sha1().to_string();
    // strings
    same!(r, p, rec; set("s", "v"));
    same!(r, p, rec; get[String]("s"));
    same!(r, p, rec; get_bytes("s"));
    same!(r, p, rec; set_options("s", 1, SetOptions::new().nx().ex(5)));
    same!(r, p, rec; set_get[String]("s", 2, SetOptions::new().keep_ttl()));
    same!(r, p, rec; setex("s2", 10, "x"));
    same!(r, p, rec; psetex("s3", 1000, "x"));
    same!(r, p, rec; setnx("s4", "x"));
    same!(r, p, rec; getdel[String]("s4"));
    same!(r, p, rec; getex[String]("s", Expiry::Ex(100)));
    same!(r, p, rec; getex_persist[String]("s"));
    same!(r, p, rec; getset[String]("s", "v"));
    same!(r, p, rec; getrange("s", 0, -1));
    same!(r, p, rec; setrange("s", 1, "x"));
    same!(r, p, rec; append("s", "y"));
    same!(r, p, rec; strlen("s"));
    same!(r, p, rec; incr("n"));
    same!(r, p, rec; incrby("n", 2));
    same!(r, p, rec; incrbyfloat("n", 0.5));
    same!(r, p, rec; decr("m"));
    same!(r, p, rec; decrby("m", 3));
    same!(r, p, rec; mget[String](["s", "n"]));
    same!(r, p, rec; mset([("a", 1), ("b", 2)]));
    same!(r, p, rec; msetnx([("c", 1)]));
    // keys
    same!(r, p, rec; del("a"));
    same!(r, p, rec; unlink(["b"]));
    same!(r, p, rec; exists(["s", "n"]));
    same!(r, p, rec; touch("s"));
    same!(r, p, rec; expire("s", 100));
    same!(r, p, rec; expire_if("s", 50, ExpireCondition::Lt));
    same!(r, p, rec; pexpire("s", 100_000));
    same!(r, p, rec; expireat("s", 4_000_000_000));
    same!(r, p, rec; pexpireat("s", 4_000_000_000_000));
    same!(r, p, rec; ttl("s"));
    same!(r, p, rec; pttl("s"));
    same!(r, p, rec; persist("s"));
    same!(r, p, rec; key_type("s"));
    same!(r, p, rec; rename("c", "c2"));
    same!(r, p, rec; renamenx("c2", "c3"));
    same!(r, p, rec; copy("c3", "c4", true));
    same!(r, p, rec; keys("c*"));
    same!(r, p, rec; scan(0, ScanOptions::new().pattern("*").count(10).kind("string")));
    same!(r, p, rec; randomkey());
    // hashes
    same!(r, p, rec; hset("h", "f", 1));
    same!(r, p, rec; hset_multiple("h", [("g", 2), ("i", 3)]));
    same!(r, p, rec; hsetnx("h", "j", 4));
    same!(r, p, rec; hget[i64]("h", "f"));
    same!(r, p, rec; hmget[i64]("h", ["f", "g"]));
    same!(r, p, rec; hgetall[std::collections::HashMap<String, i64>]("h"));
    same!(r, p, rec; hdel("h", "j"));
    same!(r, p, rec; hexists("h", "f"));
    same!(r, p, rec; hincrby("h", "f", 1));
    same!(r, p, rec; hincrbyfloat("h", "f", 1.5));
    same!(r, p, rec; hkeys("h"));
    same!(r, p, rec; hvals[String]("h"));
    same!(r, p, rec; hlen("h"));
    same!(r, p, rec; hstrlen("h", "f"));
    same!(r, p, rec; hrandfield("h", 2));
    same!(r, p, rec; hrandfield_withvalues[String]("h", 2));
    same!(r, p, rec; hscan[String]("h", 0, ScanOptions::new()));
    same!(r, p, rec; hexpire("h", 100, ["f"]));
    same!(r, p, rec; hexpire_if("h", 50, ExpireCondition::Lt, ["f"]));
    same!(r, p, rec; hpexpire("h", 100_000, ["g"]));
    same!(r, p, rec; hexpireat("h", 4_000_000_000, ["i"]));
    same!(r, p, rec; hpexpireat("h", 4_000_000_000_000, ["i"]));
    same!(r, p, rec; httl("h", ["f"]));
    same!(r, p, rec; hpttl("h", ["f"]));
    same!(r, p, rec; hexpiretime("h", ["f"]));
    same!(r, p, rec; hpexpiretime("h", ["f"]));
    same!(r, p, rec; hpersist("h", ["f"]));
    same!(r, p, rec; hgetdel[String]("h", ["i"]));
    same!(r, p, rec; hgetex[String]("h", Expiry::Ex(10), ["g"]));
    same!(r, p, rec; hsetex("h", Some(FieldCondition::Fnx), Some(Expiry::Px(5000)), [("k", 1)]));
    // lists
    same!(r, p, rec; lpush("l", ["a", "b"]));
    same!(r, p, rec; rpush("l", ["c"]));
    same!(r, p, rec; lpushx("l", ["d"]));
    same!(r, p, rec; rpushx("l", ["e"]));
    same!(r, p, rec; lpop[String]("l"));
    same!(r, p, rec; rpop[String]("l"));
    same!(r, p, rec; lpop_count[String]("l", 1));
    same!(r, p, rec; rpop_count[String]("l", 1));
    same!(r, p, rec; lrange[String]("l", 0, -1));
    same!(r, p, rec; llen("l"));
    same!(r, p, rec; lindex[String]("l", 0));
    same!(r, p, rec; lset("l", 0, "z"));
    same!(r, p, rec; linsert("l", InsertPosition::After, "z", "y"));
    same!(r, p, rec; lrem("l", 0, "y"));
    same!(r, p, rec; ltrim("l", 0, 10));
    same!(r, p, rec; lpos("l", "z", LPosOptions::new().rank(1).maxlen(10)));
    same!(r, p, rec; lpos_count("l", "z", 0, LPosOptions::new()));
    same!(r, p, rec; lmove[String]("l", "l2", Direction::Left, Direction::Right));
    same!(r, p, rec; rpoplpush[String]("l2", "l"));
    // sets
    same!(r, p, rec; sadd("set", ["a", "b"]));
    same!(r, p, rec; srem("set", ["b"]));
    same!(r, p, rec; smembers[String]("set"));
    same!(r, p, rec; sismember("set", "a"));
    same!(r, p, rec; smismember("set", ["a", "b"]));
    same!(r, p, rec; scard("set"));
    same!(r, p, rec; spop[String]("set"));
    same!(r, p, rec; spop_count[String]("set", 2));
    same!(r, p, rec; srandmember[String]("set"));
    same!(r, p, rec; srandmember_count[String]("set", 2));
    same!(r, p, rec; sinter[String](["set", "set2"]));
    same!(r, p, rec; sunion[String](["set", "set2"]));
    same!(r, p, rec; sdiff[String](["set", "set2"]));
    same!(r, p, rec; sinterstore("set3", ["set", "set2"]));
    same!(r, p, rec; sunionstore("set3", ["set", "set2"]));
    same!(r, p, rec; sdiffstore("set3", ["set", "set2"]));
    same!(r, p, rec; sintercard(["set", "set2"], Some(5)));
    same!(r, p, rec; smove("set", "set2", "a"));
    same!(r, p, rec; sscan[String]("set", 0, ScanOptions::new().count(5)));
    // sorted sets
    same!(r, p, rec; zadd("z", [(1.0, "a"), (2.5, "b")]));
    same!(r, p, rec; zadd_options("z", ZAddOptions::new().gt().ch(), [(3.0, "a")]));
    same!(r, p, rec; zincrby("z", 1.0, "a"));
    same!(r, p, rec; zscore("z", "a"));
    same!(r, p, rec; zmscore("z", ["a", "b"]));
    same!(r, p, rec; zrem("z", ["c"]));
    same!(r, p, rec; zcard("z"));
    same!(r, p, rec; zcount("z", "-inf", "+inf"));
    same!(r, p, rec; zlexcount("z", "-", "+"));
    same!(r, p, rec; zrank("z", "a"));
    same!(r, p, rec; zrevrank("z", "a"));
    same!(r, p, rec; zrange[String]("z", 0, -1));
    same!(r, p, rec; zrange_withscores[String]("z", 0, -1));
    same!(r, p, rec; zrevrange[String]("z", 0, -1));
    same!(r, p, rec; zrange_options[String]("z", 0, 10, ZRangeOptions::new().by_score().rev().limit(0, 5)));
    same!(r, p, rec; zrange_options_withscores[String]("z", "-", "+", ZRangeOptions::new().by_lex()));
    same!(r, p, rec; zrangebyscore[String]("z", 0, "+inf"));
    same!(r, p, rec; zremrangebyrank("z3", 0, 1));
    same!(r, p, rec; zremrangebyscore("z3", 0, 1));
    same!(r, p, rec; zremrangebylex("z3", "-", "+"));
    same!(r, p, rec; zpopmin[String]("z3"));
    same!(r, p, rec; zpopmax[String]("z3"));
    same!(r, p, rec; zpopmin_count[String]("z3", 2));
    same!(r, p, rec; zpopmax_count[String]("z3", 2));
    same!(r, p, rec; zrandmember[String]("z"));
    same!(r, p, rec; zunion[String](["z", "z2"]));
    same!(r, p, rec; zinter[String](["z", "z2"]));
    same!(r, p, rec; zdiff[String](["z", "z2"]));
    same!(r, p, rec; zunionstore("z4", ["z", "z2"]));
    same!(r, p, rec; zinterstore("z4", ["z", "z2"]));
    same!(r, p, rec; zdiffstore("z4", ["z", "z2"]));
    same!(r, p, rec; zscan[String]("z", 0, ScanOptions::new()));
    // scripting
    same!(r, p, rec; eval[Value]("return ARGV[1]", (), "x"));
    same!(r, p, rec; eval_ro[Value]("return KEYS[1]", "k", ()));
    same!(r, p, rec; evalsha[Value](&sha, (), ()));
    same!(r, p, rec; evalsha_ro[Value](&sha, (), ()));
    same!(r, p, rec; script_load("return 1"));
    same!(r, p, rec; script_exists([&sha]));
    same!(r, p, rec; function_load(lib, true));
    same!(r, p, rec; fcall[Value]("pf", (), ()));
    same!(r, p, rec; fcall_ro[Value]("pf", (), ()));
    same!(r, p, rec; function_delete("plib"));
    same!(r, p, rec; function_flush());
    same!(r, p, rec; script_flush());
    // server
    same!(r, p, rec; ping());
    same!(r, p, rec; echo("hello"));
    same!(r, p, rec; time());
    same!(r, p, rec; dbsize());
    same!(r, p, rec; flushdb());
    same!(r, p, rec; flushall());

    let n = p.len();
    let results = p.exec().await.unwrap();
    assert_eq!(results.len(), n);
    // Spot checks: the batch ran in order on the server.
    assert_eq!(results[0].as_ref().unwrap(), &Value::from("OK"));
    assert_eq!(results.last().unwrap().as_ref().unwrap(), &Value::from("OK"));
}
