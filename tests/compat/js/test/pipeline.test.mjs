// Explicit pipelines (POST /pipeline), transactions (POST /multi-exec), auto-pipelining and the
// redis.exec([...]) escape hatch (POST /).

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { keyspace, newRedis, rejects } from "./helpers.mjs";

const NOT_INT = /ERR value is not an integer or out of range/;

describe("pipeline()", () => {
  const redis = newRedis();

  it("runs the commands in order and returns deserialized results", async (t) => {
    const k = keyspace(t, "pipe");
    const p = redis.pipeline();
    p.set(k("a"), "v").get(k("a")).incr(k("n")).incrby(k("n"), 4).mget(k("a"), k("n"), k("missing"));
    p.set(k("obj"), { x: [1, 2] }).get(k("obj")).ttl(k("a")).del(k("a")).exists(k("a"));
    assert.equal(p.length(), 10);
    const res = await p.exec();
    assert.deepEqual(res, ["OK", "v", 1, 5, ["v", 5, null], "OK", { x: [1, 2] }, -1, 1, 0]);
  });

  it("a failing command rejects exec() with its index and name, and the others still run", async (t) => {
    const k = keyspace(t, "pipe-err");
    await redis.set(k("s"), "abc");
    const p = redis.pipeline().set(k("a"), "1").incr(k("s")).set(k("b"), "2");
    const e = await rejects(p.exec());
    assert.match(e.message, /^Command 2 \[ incr \] failed: ERR value is not an integer or out of range/);
    assert.deepEqual(await redis.mget(k("a"), k("b")), [1, 2]);
  });

  it("exec({ keepErrors: true }) returns { result, error } per command", async (t) => {
    const k = keyspace(t, "pipe-keep");
    await redis.set(k("s"), "abc");
    const res = await redis.pipeline().set(k("a"), "x").incr(k("s")).get(k("a")).exec({ keepErrors: true });
    assert.equal(res.length, 3);
    assert.deepEqual(res[0], { result: "OK", error: undefined });
    assert.match(res[1].error, NOT_INT);
    assert.equal(res[1].result, undefined, "a failed element carries no result");
    assert.deepEqual(res[2], { result: "x", error: undefined });
  });

  it("values stored as 'OK' and base64-looking strings come back unchanged", async (t) => {
    const k = keyspace(t, "pipe-ok");
    const res = await redis
      .pipeline()
      .set(k("ok"), "OK")
      .set(k("b64"), "T0s=")
      .get(k("ok"))
      .get(k("b64"))
      .mget(k("ok"), k("b64"))
      .exec();
    assert.deepEqual(res, ["OK", "OK", "OK", "T0s=", ["OK", "T0s="]]);
  });
});

describe("multi() — transactions over /multi-exec", () => {
  const redis = newRedis();

  it("runs all commands and returns their results", async (t) => {
    const k = keyspace(t, "multi");
    const tx = redis.multi();
    tx.set(k("a"), "1").incr(k("a")).get(k("a")).getset(k("a"), "x").get(k("a"));
    assert.deepEqual(await tx.exec(), ["OK", 2, 2, 2, "x"]);
  });

  it("a run-time error does not roll back the other commands", async (t) => {
    const k = keyspace(t, "multi-err");
    const res = await redis
      .multi()
      .set(k("a"), "abc")
      .incr(k("a"))
      .set(k("b"), "after")
      .exec({ keepErrors: true });
    assert.equal(res[0].result, "OK");
    assert.match(res[1].error, NOT_INT);
    assert.equal(res[2].result, "OK");
    assert.deepEqual(await redis.mget(k("a"), k("b")), ["abc", "after"]);
  });

  it("exec() without keepErrors rejects naming the failed command", async (t) => {
    const k = keyspace(t, "multi-throw");
    await redis.set(k("s"), "abc");
    const e = await rejects(redis.multi().get(k("s")).incr(k("s")).exec());
    assert.match(e.message, /^Command 2 \[ incr \] failed: ERR value is not an integer or out of range/);
  });

  it("values and the 'OK' string survive base64 decoding inside a transaction", async (t) => {
    const k = keyspace(t, "multi-b64");
    const res = await redis
      .multi()
      .set(k("ok"), "OK")
      .set(k("u"), "héllo 🚀")
      .mget(k("ok"), k("u"))
      .ping()
      .exec();
    assert.deepEqual(res, ["OK", "OK", ["OK", "héllo 🚀"], "PONG"]);
  });
});

describe("auto-pipelining (on by default)", () => {
  it("batches concurrent writes into one request and concurrent reads into another", async (t) => {
    const k = keyspace(t, "auto");
    const redis = newRedis();
    const c0 = redis.pipelineCounter;
    const writes = await Promise.all([
      redis.set(k("a"), "1"),
      redis.set(k("b"), { nested: true }),
      redis.incr(k("n")),
      redis.set(k("c"), "x", { ex: 100 }),
    ]);
    assert.deepEqual(writes, ["OK", "OK", 1, "OK"]);
    assert.equal(redis.pipelineCounter - c0, 1, "one /pipeline request for the writes");
    const reads = await Promise.all([
      redis.get(k("a")),
      redis.get(k("b")),
      redis.get(k("n")),
      redis.exists(k("a"), k("c")),
      redis.mget(k("a"), k("c")),
    ]);
    assert.deepEqual(reads, [1, { nested: true }, 1, 2, [1, "x"]]);
    assert.equal(redis.pipelineCounter - c0, 2, "one /pipeline request for the reads");
  });

  it("an error rejects only the failing command's promise", async (t) => {
    const k = keyspace(t, "auto-err");
    const redis = newRedis();
    await redis.set(k("s"), "abc");
    const [a, b, c] = await Promise.allSettled([
      redis.set(k("a"), "1"),
      redis.incr(k("s")),
      redis.set(k("b"), "2"),
    ]);
    assert.equal(a.status, "fulfilled");
    assert.equal(a.value, "OK");
    assert.equal(b.status, "rejected");
    assert.match(b.reason.message, /^Command failed: ERR value is not an integer or out of range/);
    assert.equal(c.status, "fulfilled");
    assert.deepEqual(await redis.mget(k("a"), k("b")), [1, 2]);
  });

  it("many concurrent commands (more than one batch's worth) all succeed", async (t) => {
    const k = keyspace(t, "auto-many");
    const redis = newRedis();
    const n = 1200; // the client caps a batch at 1000 commands
    const writes = await Promise.all(Array.from({ length: n }, (_, i) => redis.set(k(`k${i}`), i)));
    assert.ok(writes.every((r) => r === "OK"));
    const reads = await Promise.all(Array.from({ length: n }, (_, i) => redis.get(k(`k${i}`))));
    assert.deepEqual(reads, Array.from({ length: n }, (_, i) => i));
  });
});

describe("redis.exec([...]) escape hatch (POST /)", () => {
  const redis = newRedis();

  it("sends arbitrary commands and deserializes the results", async (t) => {
    const k = keyspace(t, "exec");
    assert.equal(await redis.exec(["SET", k("a"), "hello"]), "OK");
    assert.equal(await redis.exec(["GET", k("a")]), "hello");
    assert.equal(await redis.exec(["INCRBY", k("n"), 5]), 5);
    assert.deepEqual(await redis.exec(["MGET", k("a"), k("n"), k("missing")]), ["hello", 5, null]);
    assert.equal(await redis.exec(["TTL", k("a")]), -1);
    assert.equal(await redis.exec(["set", k("lower"), "v", "ex", "100"]), "OK");
    assert.equal(await redis.exec(["ExPiReTiMe", k("missing")]), -2);
  });

  it("an unknown command rejects with Redis' unknown-command error", async () => {
    const e = await rejects(redis.exec(["NOSUCHCOMMAND", "a", "b"]));
    assert.match(e.message, /ERR unknown command 'NOSUCHCOMMAND', with args beginning with: 'a' 'b' /);
  });

  it("a wrong argument count is Redis' arity error", async () => {
    const e = await rejects(redis.exec(["GET"]));
    assert.match(e.message, /ERR wrong number of arguments for 'get' command/);
  });
});

describe("concurrency", () => {
  it("200 concurrent INCRs over separate HTTP requests are atomic", async (t) => {
    const k = keyspace(t, "conc-incr");
    const redis = newRedis({ enableAutoPipelining: false });
    const n = 200;
    const res = await Promise.all(Array.from({ length: n }, () => redis.incr(k("c"))));
    assert.deepEqual(
      [...res].sort((a, b) => a - b),
      Array.from({ length: n }, (_, i) => i + 1),
    );
    assert.equal(await redis.get(k("c")), n);
  });

  it("concurrent collection updates over separate HTTP requests are atomic", async (t) => {
    const k = keyspace(t, "conc-collections");
    const redis = newRedis({ enableAutoPipelining: false });
    const n = 100;
    const ids = Array.from({ length: n }, (_, i) => `e${i}`);
    await Promise.all(ids.map((id) => redis.rpush(k("l"), id)));
    assert.equal(await redis.llen(k("l")), n);
    const popped = await Promise.all(ids.map(() => redis.lpop(k("l"))));
    assert.deepEqual([...popped].sort(), [...ids].sort(), "every element popped exactly once");
    await redis.sadd(k("s"), ...ids);
    const spopped = await Promise.all(ids.map(() => redis.spop(k("s"))));
    assert.deepEqual([...spopped].sort(), [...ids].sort(), "every member popped exactly once");
    await Promise.all(ids.map(() => redis.hincrby(k("h"), "n", 2)));
    await Promise.all(ids.map((_, i) => redis.zincrby(k("z"), i % 2 ? 1 : 2, "m")));
    assert.equal(await redis.hget(k("h"), "n"), 2 * n);
    assert.equal(await redis.zscore(k("z"), "m"), 1.5 * n);
    assert.equal(await redis.exists(k("l"), k("s")), 0);
  });

  it("concurrent transactions do not interleave", async (t) => {
    const k = keyspace(t, "conc-multi");
    const redis = newRedis();
    const n = 40;
    const res = await Promise.all(
      Array.from({ length: n }, () => redis.multi().incr(k("c")).incr(k("c")).incr(k("c")).exec()),
    );
    for (const [a, b, c] of res) {
      assert.equal(b, a + 1);
      assert.equal(c, a + 2);
    }
    assert.deepEqual(
      res.map((r) => r[0]).sort((x, y) => x - y),
      Array.from({ length: n }, (_, i) => 1 + 3 * i),
    );
  });
});
