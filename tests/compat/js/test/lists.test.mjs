// List commands through @upstash/redis, in both transport modes (auto-pipelined and plain), plus
// pipelines/transactions and the plain-JSON (responseEncoding: false) mode.
//
// Expected values are Redis 7 semantics (checked against redis-server 7.0 through a REST shim)
// after the client's generic deserialization: elements that are JSON come back parsed
// ("1" -> 1, '{"a":1}' -> object).

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { MODES, RO_TOKEN, keyspace, newRedis, rejects } from "./helpers.mjs";

const WRONGTYPE = /WRONGTYPE Operation against a key holding the wrong kind of value/;

for (const mode of MODES) {
  describe(`lists — ${mode.name}`, () => {
    const redis = newRedis(mode.opts);

    it("LPUSH / RPUSH return the new length; LRANGE reads the list in order", async (t) => {
      const k = keyspace(t, "push");
      assert.equal(await redis.lpush(k("l"), "a", "b", "c"), 3);
      assert.deepEqual(await redis.lrange(k("l"), 0, -1), ["c", "b", "a"]);
      assert.equal(await redis.rpush(k("l"), "d", "e"), 5);
      assert.deepEqual(await redis.lrange(k("l"), 0, -1), ["c", "b", "a", "d", "e"]);
      assert.equal(await redis.llen(k("l")), 5);
      assert.equal(await redis.type(k("l")), "list");
    });

    it("LRANGE with negative, reversed and out-of-range indexes; missing key is []", async (t) => {
      const k = keyspace(t, "lrange");
      await redis.rpush(k("l"), "a", "b", "c", "d", "e");
      assert.deepEqual(await redis.lrange(k("l"), 1, 2), ["b", "c"]);
      assert.deepEqual(await redis.lrange(k("l"), -2, -1), ["d", "e"]);
      assert.deepEqual(await redis.lrange(k("l"), -100, 100), ["a", "b", "c", "d", "e"]);
      assert.deepEqual(await redis.lrange(k("l"), 3, 1), []);
      assert.deepEqual(await redis.lrange(k("l"), 5, 10), []);
      assert.deepEqual(await redis.lrange(k("nokey"), 0, -1), []);
    });

    it("elements are deserialized: numbers and JSON objects come back as values", async (t) => {
      const k = keyspace(t, "json");
      await redis.rpush(k("l"), { id: 1, tags: ["x"] }, 42, "plain", true, 1.5);
      assert.deepEqual(await redis.lrange(k("l"), 0, -1), [{ id: 1, tags: ["x"] }, 42, "plain", true, 1.5]);
      assert.deepEqual(await redis.lindex(k("l"), 0), { id: 1, tags: ["x"] });
      assert.deepEqual(await redis.lpop(k("l")), { id: 1, tags: ["x"] });
      assert.equal(await redis.rpop(k("l")), 1.5);
      const plain = newRedis({ ...mode.opts, automaticDeserialization: false });
      assert.deepEqual(await plain.lrange(k("l"), 0, -1), ["42", "plain", "true"]);
    });

    it("LPUSHX / RPUSHX only push onto an existing list", async (t) => {
      const k = keyspace(t, "pushx");
      assert.equal(await redis.lpushx(k("l"), "a"), 0);
      assert.equal(await redis.rpushx(k("l"), "a", "b"), 0);
      assert.equal(await redis.exists(k("l")), 0);
      await redis.rpush(k("l"), "m");
      assert.equal(await redis.lpushx(k("l"), "a", "b"), 3);
      assert.equal(await redis.rpushx(k("l"), "y", "z"), 5);
      assert.deepEqual(await redis.lrange(k("l"), 0, -1), ["b", "a", "m", "y", "z"]);
    });

    it("LPOP / RPOP without count: one element or null", async (t) => {
      const k = keyspace(t, "pop");
      assert.equal(await redis.lpop(k("nokey")), null);
      assert.equal(await redis.rpop(k("nokey")), null);
      await redis.rpush(k("l"), "a", "b", "c");
      assert.equal(await redis.lpop(k("l")), "a");
      assert.equal(await redis.rpop(k("l")), "c");
      assert.equal(await redis.lpop(k("l")), "b");
      assert.equal(await redis.exists(k("l")), 0, "popping the last element deletes the key");
      assert.equal(await redis.rpop(k("l")), null);
    });

    it("LPOP / RPOP with count: an array; null for a missing key; [] for count 0", async (t) => {
      const k = keyspace(t, "pop-count");
      assert.equal(await redis.lpop(k("nokey"), 2), null);
      assert.equal(await redis.rpop(k("nokey"), 2), null);
      await redis.rpush(k("l"), "a", "b", "c", "d", "e");
      assert.deepEqual(await redis.lpop(k("l"), 2), ["a", "b"]);
      assert.deepEqual(await redis.rpop(k("l"), 2), ["e", "d"]);
      assert.deepEqual(await redis.lpop(k("l"), 0), []);
      assert.deepEqual(await redis.rpop(k("l"), 10), ["c"]);
      assert.equal(await redis.exists(k("l")), 0);
      await redis.rpush(k("l"), "x");
      const e = await rejects(redis.lpop(k("l"), -1));
      assert.match(e.message, /ERR value is out of range, must be positive/);
    });

    it("LINDEX with positive, negative and out-of-range indexes", async (t) => {
      const k = keyspace(t, "lindex");
      await redis.rpush(k("l"), "a", "b", "c");
      assert.equal(await redis.lindex(k("l"), 0), "a");
      assert.equal(await redis.lindex(k("l"), 2), "c");
      assert.equal(await redis.lindex(k("l"), -1), "c");
      assert.equal(await redis.lindex(k("l"), -3), "a");
      assert.equal(await redis.lindex(k("l"), 3), null);
      assert.equal(await redis.lindex(k("l"), -4), null);
      assert.equal(await redis.lindex(k("nokey"), 0), null);
    });

    it("LINSERT before / after (sent in lower case): new length, -1 without pivot, 0 without key", async (t) => {
      const k = keyspace(t, "linsert");
      await redis.rpush(k("l"), "a", "c", "c");
      assert.equal(await redis.linsert(k("l"), "before", "c", "b"), 4);
      assert.equal(await redis.linsert(k("l"), "after", "c", "d"), 5, "the first occurrence is the pivot");
      assert.deepEqual(await redis.lrange(k("l"), 0, -1), ["a", "b", "c", "d", "c"]);
      assert.equal(await redis.linsert(k("l"), "after", "zz", "x"), -1);
      assert.equal(await redis.linsert(k("nokey"), "before", "a", "x"), 0);
      assert.equal(await redis.exists(k("nokey")), 0);
      const e = await rejects(redis.exec(["LINSERT", k("l"), "MIDDLE", "a", "x"]));
      assert.match(e.message, /ERR syntax error/);
    });

    it("LLEN is 0 for a missing key", async (t) => {
      const k = keyspace(t, "llen");
      assert.equal(await redis.llen(k("nokey")), 0);
      await redis.rpush(k("l"), ...Array.from({ length: 300 }, (_, i) => `e${i}`));
      assert.equal(await redis.llen(k("l")), 300);
    });

    it("LSET replaces an element; errors for a missing key or an index out of range", async (t) => {
      const k = keyspace(t, "lset");
      await redis.rpush(k("l"), "a", "b", "c");
      assert.equal(await redis.lset(k("l"), 1, "B"), "OK");
      assert.equal(await redis.lset(k("l"), -1, { c: 3 }), "OK");
      assert.deepEqual(await redis.lrange(k("l"), 0, -1), ["a", "B", { c: 3 }]);
      assert.match((await rejects(redis.lset(k("l"), 3, "x"))).message, /ERR index out of range/);
      assert.match((await rejects(redis.lset(k("l"), -4, "x"))).message, /ERR index out of range/);
      assert.match((await rejects(redis.lset(k("nokey"), 0, "x"))).message, /ERR no such key/);
    });

    it("LTRIM keeps a range; an empty range deletes the key", async (t) => {
      const k = keyspace(t, "ltrim");
      await redis.rpush(k("l"), "a", "b", "c", "d", "e");
      assert.equal(await redis.ltrim(k("l"), 1, -2), "OK");
      assert.deepEqual(await redis.lrange(k("l"), 0, -1), ["b", "c", "d"]);
      assert.equal(await redis.ltrim(k("l"), -100, 100), "OK");
      assert.deepEqual(await redis.lrange(k("l"), 0, -1), ["b", "c", "d"]);
      assert.equal(await redis.ltrim(k("l"), 2, 1), "OK");
      assert.equal(await redis.exists(k("l")), 0);
      assert.equal(await redis.ltrim(k("nokey"), 0, 1), "OK");
    });

    it("LREM removes from the head (count > 0), the tail (count < 0) or everywhere (0)", async (t) => {
      const k = keyspace(t, "lrem");
      await redis.rpush(k("l"), "x", "a", "x", "b", "x", "c", "x");
      assert.equal(await redis.lrem(k("l"), 2, "x"), 2);
      assert.deepEqual(await redis.lrange(k("l"), 0, -1), ["a", "b", "x", "c", "x"]);
      assert.equal(await redis.lrem(k("l"), -1, "x"), 1);
      assert.deepEqual(await redis.lrange(k("l"), 0, -1), ["a", "b", "x", "c"]);
      assert.equal(await redis.lrem(k("l"), 0, "zz"), 0);
      await redis.rpush(k("l"), "x", "x");
      assert.equal(await redis.lrem(k("l"), 0, "x"), 3);
      assert.deepEqual(await redis.lrange(k("l"), 0, -1), ["a", "b", "c"]);
      assert.equal(await redis.lrem(k("nokey"), 0, "x"), 0);
      await redis.rpush(k("only"), "x", "x");
      assert.equal(await redis.lrem(k("only"), 0, "x"), 2);
      assert.equal(await redis.exists(k("only")), 0);
    });

    it("LPOS finds indexes with RANK, COUNT and MAXLEN (sent as 'maxLen')", async (t) => {
      const k = keyspace(t, "lpos");
      await redis.rpush(k("l"), "a", "b", "c", "a", "b", "c", "a");
      assert.equal(await redis.lpos(k("l"), "a"), 0);
      assert.equal(await redis.lpos(k("l"), "c"), 2);
      assert.equal(await redis.lpos(k("l"), "zz"), null);
      assert.equal(await redis.lpos(k("nokey"), "a"), null);
      assert.equal(await redis.lpos(k("l"), "a", { rank: 2 }), 3);
      assert.equal(await redis.lpos(k("l"), "a", { rank: -1 }), 6);
      assert.equal(await redis.lpos(k("l"), "a", { rank: 4 }), null);
      assert.deepEqual(await redis.lpos(k("l"), "a", { count: 0 }), [0, 3, 6]);
      assert.deepEqual(await redis.lpos(k("l"), "a", { count: 2 }), [0, 3]);
      assert.deepEqual(await redis.lpos(k("l"), "a", { count: 2, rank: -1 }), [6, 3]);
      assert.deepEqual(await redis.lpos(k("l"), "a", { count: 0, rank: 2 }), [3, 6]);
      assert.deepEqual(await redis.lpos(k("l"), "a", { count: 0, maxLen: 3 }), [0]);
      assert.equal(await redis.lpos(k("l"), "c", { maxLen: 2 }), null);
      assert.deepEqual(await redis.lpos(k("l"), "zz", { count: 0 }), []);
      assert.deepEqual(await redis.lpos(k("nokey"), "a", { count: 1 }), []);
    });

    it("LPOS option errors: RANK 0, negative COUNT or MAXLEN", async (t) => {
      const k = keyspace(t, "lpos-errors");
      await redis.rpush(k("l"), "a");
      assert.match(
        (await rejects(redis.lpos(k("l"), "a", { rank: 0 }))).message,
        /ERR RANK can't be zero: use 1 to start from the first match, 2 from the second/,
      );
      assert.match((await rejects(redis.lpos(k("l"), "a", { count: -1 }))).message, /ERR COUNT can't be negative/);
      assert.match((await rejects(redis.lpos(k("l"), "a", { maxLen: -1 }))).message, /ERR MAXLEN can't be negative/);
    });

    it("LMOVE moves an element between lists (left/right in lower case); missing source -> null", async (t) => {
      const k = keyspace(t, "lmove");
      await redis.rpush(k("src"), "a", "b", "c");
      assert.equal(await redis.lmove(k("src"), k("dst"), "left", "right"), "a");
      assert.equal(await redis.lmove(k("src"), k("dst"), "right", "left"), "c");
      assert.deepEqual(await redis.lrange(k("src"), 0, -1), ["b"]);
      assert.deepEqual(await redis.lrange(k("dst"), 0, -1), ["c", "a"]);
      assert.equal(await redis.lmove(k("src"), k("dst"), "left", "left"), "b");
      assert.equal(await redis.exists(k("src")), 0);
      assert.equal(await redis.lmove(k("src"), k("dst"), "left", "left"), null);
      assert.deepEqual(await redis.lrange(k("dst"), 0, -1), ["b", "c", "a"]);
      // the same list: a rotation
      assert.equal(await redis.lmove(k("dst"), k("dst"), "left", "right"), "b");
      assert.deepEqual(await redis.lrange(k("dst"), 0, -1), ["c", "a", "b"]);
    });

    it("LMOVE onto a key of another type fails and leaves the source intact", async (t) => {
      const k = keyspace(t, "lmove-wrongtype");
      await redis.rpush(k("src"), "a");
      await redis.set(k("str"), "v");
      assert.match((await rejects(redis.lmove(k("src"), k("str"), "left", "right"))).message, WRONGTYPE);
      assert.deepEqual(await redis.lrange(k("src"), 0, -1), ["a"]);
    });

    it("LMPOP pops from the first non-empty list: [key, elements], or null", async (t) => {
      const k = keyspace(t, "lmpop");
      await redis.rpush(k("b"), "1", "2", "3");
      assert.deepEqual(await redis.lmpop(2, [k("a"), k("b")], "LEFT"), [k("b"), [1]]);
      assert.deepEqual(await redis.lmpop(2, [k("a"), k("b")], "RIGHT", 5), [k("b"), [3, 2]]);
      assert.equal(await redis.exists(k("b")), 0);
      assert.equal(await redis.lmpop(2, [k("a"), k("b")], "LEFT"), null);
      await redis.rpush(k("a"), { x: 1 }, "y");
      assert.deepEqual(await redis.lmpop(1, [k("a")], "LEFT", 1), [k("a"), [{ x: 1 }]]);
      const e = await rejects(redis.exec(["LMPOP", 0, k("a"), "LEFT"]));
      assert.match(e.message, /ERR numkeys should be greater than 0/);
    });

    it("list commands on a key of another type fail with WRONGTYPE", async (t) => {
      const k = keyspace(t, "wrongtype");
      await redis.set(k("str"), "v");
      for (const f of [
        () => redis.lpush(k("str"), "a"),
        () => redis.rpush(k("str"), "a"),
        () => redis.lrange(k("str"), 0, -1),
        () => redis.llen(k("str")),
        () => redis.lpop(k("str")),
        () => redis.lindex(k("str"), 0),
        () => redis.lpos(k("str"), "a"),
        () => redis.lset(k("str"), 0, "x"),
      ]) {
        assert.match((await rejects(f())).message, WRONGTYPE);
      }
      await redis.rpush(k("l"), "a");
      assert.match((await rejects(redis.get(k("l")))).message, WRONGTYPE);
    });

    it("a long list (past any compact-encoding threshold) keeps order and indexes", async (t) => {
      const k = keyspace(t, "long");
      const n = 1000;
      const items = Array.from({ length: n }, (_, i) => `item-${i}-${"x".repeat(i % 50)}`);
      for (let i = 0; i < n; i += 250) await redis.rpush(k("l"), ...items.slice(i, i + 250));
      assert.equal(await redis.llen(k("l")), n);
      assert.deepEqual(await redis.lrange(k("l"), 0, -1), items);
      assert.equal(await redis.lindex(k("l"), 777), items[777]);
      assert.equal(await redis.lpos(k("l"), items[999]), 999);
      assert.equal(await redis.linsert(k("l"), "before", items[500], "mid"), n + 1);
      assert.equal(await redis.lindex(k("l"), 500), "mid");
      assert.deepEqual(await redis.lrange(k("l"), 499, 501), [items[499], "mid", items[500]]);
    });
  });
}

describe("lists in pipelines and transactions", () => {
  const redis = newRedis();

  it("pipeline(): list commands with their results", async (t) => {
    const k = keyspace(t, "list-pipe");
    const res = await redis
      .pipeline()
      .rpush(k("l"), "a", "b", "c")
      .lpush(k("l"), 0)
      .lrange(k("l"), 0, -1)
      .lindex(k("l"), -1)
      .lpos(k("l"), "b")
      .linsert(k("l"), "after", "b", { j: 1 })
      .lset(k("l"), 0, "zero")
      .lrem(k("l"), 0, "c")
      .ltrim(k("l"), 0, 2)
      .lmove(k("l"), k("m"), "right", "left")
      .lpop(k("l"), 5)
      .rpop(k("nokey"))
      .llen(k("m"))
      .exec();
    // after LSET, LREM and LTRIM the list is [zero, a, b]
    assert.deepEqual(res, [3, 4, [0, "a", "b", "c"], "c", 2, 5, "OK", 1, "OK", "b", ["zero", "a"], null, 1]);
  });

  it("multi(): list commands run atomically", async (t) => {
    const k = keyspace(t, "list-multi");
    const res = await redis
      .multi()
      .rpush(k("q"), "job1", "job2")
      .lmove(k("q"), k("work"), "left", "right")
      .lrange(k("work"), 0, -1)
      .lmpop(1, [k("q")], "LEFT")
      .exists(k("q"))
      .exec();
    assert.deepEqual(res, [2, "job1", ["job1"], [k("q"), ["job2"]], 0]);
  });

  it("a WRONGTYPE inside a pipeline fails only that command", async (t) => {
    const k = keyspace(t, "list-pipe-err");
    await redis.set(k("s"), "v");
    const res = await redis.pipeline().rpush(k("l"), "a").lpush(k("s"), "x").lrange(k("l"), 0, -1).exec({ keepErrors: true });
    assert.equal(res[0].result, 1);
    assert.match(res[1].error, WRONGTYPE);
    assert.deepEqual(res[2].result, ["a"]);
  });
});

describe("lists with plain JSON responses (responseEncoding: false)", () => {
  for (const mode of MODES) {
    it(`unicode, 'OK' and base64-looking elements survive — ${mode.name}`, async (t) => {
      const k = keyspace(t, "list-plain");
      const redis = newRedis({ ...mode.opts, responseEncoding: false });
      const items = ["héllo 🚀", "OK", "T0s=", "你好", "", 'a "q"\n'];
      assert.equal(await redis.rpush(k("l"), ...items), 6);
      assert.deepEqual(await redis.lrange(k("l"), 0, -1), items);
      assert.equal(await redis.lindex(k("l"), 1), "OK");
      assert.deepEqual(await redis.lpop(k("l"), 2), ["héllo 🚀", "OK"]);
      assert.equal(await redis.rpop(k("l")), 'a "q"\n');
      assert.equal(await redis.lmove(k("l"), k("m"), "left", "left"), "T0s=");
    });
  }
});

describe("lists through the read-only token", { skip: RO_TOKEN ? false : "LARDER_READ_ONLY_TOKEN not set" }, () => {
  it("reads pass, writes are refused with NOPERM", async (t) => {
    const k = keyspace(t, "list-ro");
    const rw = newRedis();
    await rw.rpush(k("l"), "a", "b");
    const ro = newRedis({ token: RO_TOKEN });
    assert.deepEqual(await ro.lrange(k("l"), 0, -1), ["a", "b"]);
    assert.equal(await ro.llen(k("l")), 2);
    assert.equal(await ro.lindex(k("l"), 0), "a");
    assert.equal(await ro.lpos(k("l"), "b"), 1);
    for (const f of [
      () => ro.rpush(k("l"), "c"),
      () => ro.lpop(k("l")),
      () => ro.lset(k("l"), 0, "x"),
      () => ro.ltrim(k("l"), 0, 0),
      () => ro.lmove(k("l"), k("m"), "left", "left"),
    ]) {
      assert.match((await rejects(f())).message, /NOPERM/);
    }
    assert.deepEqual(await rw.lrange(k("l"), 0, -1), ["a", "b"]);
  });
});
