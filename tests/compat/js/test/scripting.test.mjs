// Lua scripting through @upstash/redis: eval, evalsha, evalRo, evalshaRo, scriptLoad,
// scriptExists, scriptFlush and createScript(...).exec (EVALSHA with the NOSCRIPT -> EVAL
// fallback), in both transport modes, in pipelines/transactions and with the read-only token.
//
// Expected values are Redis 7 semantics (Lua -> RESP conversion: numbers truncated to integers,
// true -> 1, false -> null, a table stops at its first nil, {ok=...} -> status, {err=...} -> error)
// after the client's generic deserialization. Error texts were checked against redis-server 7.0.

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { MODES, RO_TOKEN, keyspace, newRedis, rejects } from "./helpers.mjs";

const NOSCRIPT = /NOSCRIPT No matching script\. Please use EVAL\./;
const RO_WRITE = /commands are not allowed from read-only/;

const sha1 = (s) => createHash("sha1").update(s, "utf8").digest("hex");
// a script text no other test (or run) uses, so its cache state is known
const unique = (body) => `${body} -- ${Math.random().toString(36).slice(2)} ${Date.now()}`;

for (const mode of MODES) {
  describe(`scripting — ${mode.name}`, () => {
    const redis = newRedis(mode.opts);

    it("EVAL passes KEYS and ARGV and returns the script's value", async (t) => {
      const k = keyspace(t, "eval");
      assert.equal(await redis.eval("return ARGV[1]", [], ["hello"]), "hello");
      assert.deepEqual(await redis.eval("return {KEYS[1], KEYS[2], ARGV[1], ARGV[2]}", [k("a"), k("b")], ["x", "y"]), [
        k("a"),
        k("b"),
        "x",
        "y",
      ]);
      assert.equal(await redis.eval("return #KEYS + #ARGV", [k("a"), k("b")], ["c"]), 3);
      assert.equal(await redis.eval("return 42", [], []), 42);
    });

    it("EVAL runs commands with redis.call and sees their effects", async (t) => {
      const k = keyspace(t, "eval-call");
      const script = `
        redis.call('SET', KEYS[1], ARGV[1])
        redis.call('INCRBY', KEYS[2], ARGV[2])
        return {redis.call('GET', KEYS[1]), redis.call('GET', KEYS[2])}`;
      assert.deepEqual(await redis.eval(script, [k("s"), k("n")], ["value", 5]), ["value", 5]);
      assert.equal(await redis.get(k("s")), "value");
      assert.equal(await redis.get(k("n")), 5);
    });

    it("Lua values convert like Redis: numbers truncate, true -> 1, false -> null, tables stop at nil", async () => {
      assert.equal(await redis.eval("return 3.99", [], []), 3);
      assert.equal(await redis.eval("return -2.5", [], []), -2);
      assert.equal(await redis.eval("return true", [], []), 1);
      assert.equal(await redis.eval("return false", [], []), null);
      assert.equal(await redis.eval("return nil", [], []), null);
      assert.deepEqual(await redis.eval("return {1, 2.7, 'x', true, false, {3, 'y'}, nil, 5}", [], []), [
        1,
        2,
        "x",
        1,
        null,
        [3, "y"],
      ]);
      assert.deepEqual(await redis.eval("return {}", [], []), []);
      // a float as a string keeps its digits
      assert.equal(await redis.eval("return tostring(2.5)", [], []), 2.5);
    });

    it("status and error tables: {ok=...} is a status, {err=...} and redis.error_reply are errors", async () => {
      assert.equal(await redis.eval("return {ok='fine'}", [], []), "fine");
      assert.equal(await redis.eval("return redis.status_reply('ALL GOOD')", [], []), "ALL GOOD");
      let e = await rejects(redis.eval("return {err='MYERR something broke'}", [], []));
      assert.match(e.message, /MYERR something broke/);
      e = await rejects(redis.eval("return redis.error_reply('OTHER custom')", [], []));
      assert.match(e.message, /OTHER custom/);
    });

    it("JSON produced by cjson and JSON arguments are deserialized by the client", async () => {
      assert.deepEqual(await redis.eval("return cjson.encode({a = {1, 2}})", [], []), { a: [1, 2] });
      assert.deepEqual(
        await redis.eval("return cjson.encode(cjson.decode(ARGV[1]))", [], [{ name: "x", list: [1] }]),
        { name: "x", list: [1] },
      );
    });

    it("Redis' Lua libraries are loaded: bit, struct, cmsgpack, redis.sha1hex", async () => {
      assert.equal(await redis.eval("return bit.band(6, 3)", [], []), 2);
      assert.equal(await redis.eval("return bit.tohex(255, 4)", [], []), "00ff");
      assert.deepEqual(await redis.eval("return {struct.unpack('>I2', struct.pack('>I2', 513))}", [], []), [513, 3]);
      assert.deepEqual(await redis.eval("return cmsgpack.unpack(cmsgpack.pack({1, 2, 'x'}))", [], []), [1, 2, "x"]);
      assert.equal(await redis.eval("return redis.sha1hex('abc')", [], []), sha1("abc"));
    });

    it("errors: a failing redis.call, a runtime error and an unknown command carry Redis' text", async (t) => {
      const k = keyspace(t, "eval-err");
      await redis.set(k("s"), "abc");
      let e = await rejects(redis.eval("return redis.call('INCR', KEYS[1])", [k("s")], []));
      assert.match(e.message, /ERR value is not an integer or out of range/);
      e = await rejects(redis.eval("return undefined_global_var", [], []));
      assert.match(e.message, /Script attempted to access nonexistent global variable 'undefined_global_var'/);
      e = await rejects(redis.eval("return redis.call('NOSUCHCMD')", [], []));
      assert.match(e.message, /Unknown Redis command called from script/);
      // redis.pcall catches the error; returning it makes it the reply
      e = await rejects(redis.eval("return redis.pcall('INCR', KEYS[1])", [k("s")], []));
      assert.match(e.message, /ERR value is not an integer or out of range/);
      assert.equal(await redis.get(k("s")), "abc");
      e = await rejects(redis.eval("this is not lua", [], []));
      assert.match(e.message, /ERR Error compiling script/);
    });

    it("SCRIPT LOAD returns the SHA-1 of the script; EVALSHA runs it; SCRIPT EXISTS reports it", async (t) => {
      const k = keyspace(t, "scriptload");
      const src = unique("return redis.call('SET', KEYS[1], ARGV[1])");
      const sha = await redis.scriptLoad(src);
      assert.equal(sha, sha1(src));
      assert.deepEqual(await redis.scriptExists(sha, sha1(unique("never loaded"))), [1, 0]);
      assert.equal(await redis.evalsha(sha, [k("a")], ["v"]), "OK");
      assert.equal(await redis.get(k("a")), "v");
      // EVALSHA accepts the hash in upper case too
      assert.equal(await redis.evalsha(sha.toUpperCase(), [k("a")], ["w"]), "OK");
      assert.equal(await redis.get(k("a")), "w");
    });

    it("scriptExists() without hashes is Redis 7's subcommand arity error", async () => {
      const e = await rejects(redis.scriptExists());
      assert.match(e.message, /ERR wrong number of arguments for 'script\|exists' command/);
    });

    it("EVAL caches the script: EVALSHA works afterwards", async () => {
      const src = unique("return 'cached'");
      assert.deepEqual(await redis.scriptExists(sha1(src)), [0]);
      assert.equal(await redis.eval(src, [], []), "cached");
      assert.deepEqual(await redis.scriptExists(sha1(src)), [1]);
      assert.equal(await redis.evalsha(sha1(src), [], []), "cached");
    });

    it("EVALSHA of an unknown hash fails with the exact NOSCRIPT text", async () => {
      const e = await rejects(redis.evalsha(sha1(unique("nope")), [], []));
      assert.match(e.message, NOSCRIPT);
    });

    it("createScript(...).exec falls back from EVALSHA to EVAL on NOSCRIPT, then uses EVALSHA", async (t) => {
      const k = keyspace(t, "createscript");
      const src = unique("return redis.call('INCR', KEYS[1])");
      const script = redis.createScript(src);
      assert.deepEqual(await redis.scriptExists(sha1(src)), [0]);
      assert.equal(await script.exec([k("n")], []), 1, "first run: NOSCRIPT, then EVAL");
      assert.deepEqual(await redis.scriptExists(sha1(src)), [1]);
      assert.equal(await script.exec([k("n")], []), 2, "second run: EVALSHA");
      assert.equal(script.sha1, sha1(src));
      assert.equal(await script.evalsha([k("n")], []), 3);
      assert.equal(await script.eval([k("n")], []), 4);
    });

    it("createScript with a unicode script: the client's SHA-1 matches the server's", async () => {
      const src = unique("return 'héllo 🚀'");
      const script = redis.createScript(src);
      assert.equal(await script.exec([], []), "héllo 🚀");
      assert.deepEqual(await redis.scriptExists(sha1(src)), [1]);
      assert.equal(await redis.scriptLoad(src), sha1(src));
    });

    it("EVAL_RO / EVALSHA_RO run read-only scripts", async (t) => {
      const k = keyspace(t, "evalro");
      await redis.set(k("a"), "value");
      assert.equal(await redis.evalRo("return redis.call('GET', KEYS[1])", [k("a")], []), "value");
      const src = unique("return redis.call('STRLEN', KEYS[1])");
      const sha = await redis.scriptLoad(src);
      assert.equal(await redis.evalshaRo(sha, [k("a")], []), 5);
      const e = await rejects(redis.evalshaRo(sha1(unique("nope")), [], []));
      assert.match(e.message, NOSCRIPT);
    });

    it("EVAL_RO / EVALSHA_RO refuse writes: '... commands are not allowed from read-only scripts'", async (t) => {
      const k = keyspace(t, "evalro-write");
      let e = await rejects(redis.evalRo("return redis.call('SET', KEYS[1], 'x')", [k("a")], []));
      assert.match(e.message, RO_WRITE);
      const sha = await redis.scriptLoad(unique("return redis.call('DEL', KEYS[1])"));
      await redis.set(k("b"), "kept");
      e = await rejects(redis.evalshaRo(sha, [k("b")], []));
      assert.match(e.message, RO_WRITE);
      assert.equal(await redis.exists(k("a")), 0);
      assert.equal(await redis.get(k("b")), "kept");
    });

    it("createScript(..., { readonly: true }).exec uses EVALSHA_RO / EVAL_RO", async (t) => {
      const k = keyspace(t, "scriptro");
      await redis.set(k("a"), 7);
      const src = unique("return redis.call('GET', KEYS[1])");
      const script = redis.createScript(src, { readonly: true });
      assert.equal(await script.exec([k("a")], []), 7);
      assert.equal(await script.exec([k("a")], []), 7);
      assert.deepEqual(await redis.scriptExists(sha1(src)), [1]);
      const writer = redis.createScript(unique("return redis.call('SET', KEYS[1], 'x')"), { readonly: true });
      const e = await rejects(writer.exec([k("a")], []));
      assert.match(e.message, RO_WRITE);
      assert.equal(await redis.get(k("a")), 7);
    });

    it("RESP3 tables (after redis.setresp(3)) are returned to the REST client as RESP2 arrays", async (t) => {
      // Redis converts a script's {map=...} / {set=...} reply for a RESP2 client into a flat array
      const k = keyspace(t, "eval-resp3");
      await redis.hset(k("h"), { a: "x" });
      await redis.sadd(k("s"), "m1", "m2");
      assert.deepEqual(await redis.eval("redis.setresp(3); return redis.call('HGETALL', KEYS[1])", [k("h")], []), ["a", "x"]);
      assert.deepEqual(
        [...(await redis.eval("redis.setresp(3); return redis.call('SMEMBERS', KEYS[1])", [k("s")], []))].sort(),
        ["m1", "m2"],
      );
      assert.deepEqual(await redis.eval("return {map={k='v'}}", [], []), ["k", "v"]);
      assert.deepEqual(await redis.eval("return {1, {set={only=true}}}", [], []), [1, ["only"]]);
      assert.equal(await redis.eval("return {double=2.5}", [], []), 2.5);
    });

    it("scripts work on collections (hash, set) and return their replies", async (t) => {
      const k = keyspace(t, "eval-collections");
      const script = `
        redis.call('HSET', KEYS[1], 'a', '1', 'b', '2')
        redis.call('SADD', KEYS[2], 'x')
        return {redis.call('HGETALL', KEYS[1]), redis.call('SMEMBERS', KEYS[2]), redis.call('HLEN', KEYS[1])}`;
      const [hash, set, len] = await redis.eval(script, [k("h"), k("s")], []);
      const obj = {};
      for (let i = 0; i < hash.length; i += 2) obj[hash[i]] = hash[i + 1];
      assert.deepEqual(obj, { a: 1, b: 2 });
      assert.deepEqual(set, ["x"]);
      assert.equal(len, 2);
      assert.deepEqual(await redis.hgetall(k("h")), { a: 1, b: 2 });
    });
  });
}

describe("SCRIPT FLUSH", () => {
  const redis = newRedis();

  it("removes every cached script (default, SYNC and ASYNC)", async () => {
    for (const opts of [undefined, { sync: true }, { async: true }]) {
      const src = unique("return 1");
      const sha = await redis.scriptLoad(src);
      assert.deepEqual(await redis.scriptExists(sha), [1]);
      assert.equal(await redis.scriptFlush(opts), "OK");
      assert.deepEqual(await redis.scriptExists(sha), [0], JSON.stringify(opts));
      assert.match((await rejects(redis.evalsha(sha, [], []))).message, NOSCRIPT);
    }
  });

  it("createScript(...).exec keeps working after a flush (it reloads through EVAL)", async (t) => {
    const k = keyspace(t, "flush-reload");
    const src = unique("return redis.call('INCR', KEYS[1])");
    const script = redis.createScript(src);
    assert.equal(await script.exec([k("n")], []), 1);
    await redis.scriptFlush();
    assert.deepEqual(await redis.scriptExists(sha1(src)), [0]);
    assert.equal(await script.exec([k("n")], []), 2);
    assert.deepEqual(await redis.scriptExists(sha1(src)), [1]);
  });
});

describe("scripting in pipelines and transactions", () => {
  const redis = newRedis();

  it("pipeline(): eval, evalsha, scriptLoad, scriptExists, evalRo", async (t) => {
    const k = keyspace(t, "script-pipe");
    const src = unique("return redis.call('INCRBY', KEYS[1], ARGV[1])");
    const res = await redis
      .pipeline()
      .scriptLoad(src)
      .scriptExists(sha1(src))
      .evalsha(sha1(src), [k("n")], [5])
      .eval("return redis.call('GET', KEYS[1])", [k("n")], [])
      .evalRo("return redis.call('GET', KEYS[1])", [k("n")], [])
      .exec();
    assert.deepEqual(res, [sha1(src), [1], 5, 5, 5]);
  });

  it("pipeline(): a NOSCRIPT error is reported for that command only", async (t) => {
    const k = keyspace(t, "script-pipe-err");
    const res = await redis
      .pipeline()
      .set(k("a"), "1")
      .evalsha(sha1(unique("nope")), [], [])
      .get(k("a"))
      .exec({ keepErrors: true });
    assert.equal(res[0].result, "OK");
    assert.match(res[1].error, NOSCRIPT);
    assert.equal(res[2].result, 1);
  });

  it("multi(): scripts run inside the transaction", async (t) => {
    const k = keyspace(t, "script-multi");
    const res = await redis
      .multi()
      .set(k("n"), 10)
      .eval("return redis.call('INCRBY', KEYS[1], ARGV[1])", [k("n")], [5])
      .eval("return {ARGV[1], tonumber(ARGV[2]) * 2}", [], ["x", 21])
      .get(k("n"))
      .exec();
    assert.deepEqual(res, ["OK", 15, ["x", 42], 15]);
  });

  it("auto-pipelining: concurrent evals resolve independently", async (t) => {
    const k = keyspace(t, "script-auto");
    const script = redis.createScript(unique("return redis.call('INCR', KEYS[1])"));
    const res = await Promise.all(Array.from({ length: 10 }, () => script.exec([k("n")], [])));
    assert.deepEqual(
      [...res].sort((a, b) => a - b),
      Array.from({ length: 10 }, (_, i) => i + 1),
    );
  });
});

describe("scripting through the read-only token", { skip: RO_TOKEN ? false : "LARDER_READ_ONLY_TOKEN not set" }, () => {
  it("EVAL and EVALSHA are refused with NOPERM (Upstash refuses them for read-only tokens)", async (t) => {
    const k = keyspace(t, "script-ro-token");
    const rw = newRedis();
    await rw.set(k("a"), "v");
    const sha = await rw.scriptLoad(unique("return redis.call('SET', KEYS[1], 'changed')"));
    const ro = newRedis({ token: RO_TOKEN });
    let e = await rejects(ro.eval("return redis.call('SET', KEYS[1], 'changed')", [k("a")], []));
    assert.match(e.message, /NOPERM/);
    e = await rejects(ro.evalsha(sha, [k("a")], []));
    assert.match(e.message, /NOPERM/);
    e = await rejects(ro.scriptFlush());
    assert.match(e.message, /NOPERM/);
    assert.equal(await rw.get(k("a")), "v");
    assert.deepEqual(await rw.scriptExists(sha), [1]);
  });
});
