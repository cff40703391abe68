// Set commands through @upstash/redis, in both transport modes (auto-pipelined and plain), plus
// pipelines/transactions and the plain-JSON (responseEncoding: false) mode.
//
// Expected values are Redis 7 semantics after the client's generic deserialization (members that
// are JSON come back parsed: "1" -> 1, '{"a":1}' -> object). Set replies have no defined order,
// so they are compared sorted.

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { MODES, RO_TOKEN, keyspace, newRedis, rejects } from "./helpers.mjs";

const WRONGTYPE = /WRONGTYPE Operation against a key holding the wrong kind of value/;

const sorted = (a) => [...a].sort((x, y) => (String(x) < String(y) ? -1 : String(x) > String(y) ? 1 : 0));

for (const mode of MODES) {
  describe(`sets — ${mode.name}`, () => {
    const redis = newRedis(mode.opts);

    it("SADD returns the number of new members; SMEMBERS / SCARD read them back", async (t) => {
      const k = keyspace(t, "sadd");
      assert.equal(await redis.sadd(k("s"), "a", "b", "c"), 3);
      assert.equal(await redis.sadd(k("s"), "c", "d", "d"), 1);
      assert.equal(await redis.scard(k("s")), 4);
      assert.deepEqual(sorted(await redis.smembers(k("s"))), ["a", "b", "c", "d"]);
      assert.deepEqual(await redis.smembers(k("nokey")), []);
      assert.equal(await redis.scard(k("nokey")), 0);
    });

    it("members are deserialized: numbers and JSON objects come back as values", async (t) => {
      const k = keyspace(t, "sadd-json");
      assert.equal(await redis.sadd(k("n"), 3, 1, 2), 3);
      assert.deepEqual(
        [...(await redis.smembers(k("n")))].sort((a, b) => a - b),
        [1, 2, 3],
      );
      assert.equal(await redis.sadd(k("o"), { id: 1 }, { id: 2 }), 2);
      const objs = await redis.smembers(k("o"));
      assert.deepEqual(
        objs.map((o) => o.id).sort(),
        [1, 2],
      );
      assert.equal(await redis.sismember(k("o"), { id: 1 }), 1, "the same JSON text is the same member");
    });

    it("SISMEMBER / SMISMEMBER answer 1/0", async (t) => {
      const k = keyspace(t, "sismember");
      await redis.sadd(k("s"), "a", "b");
      assert.equal(await redis.sismember(k("s"), "a"), 1);
      assert.equal(await redis.sismember(k("s"), "z"), 0);
      assert.equal(await redis.sismember(k("nokey"), "a"), 0);
      assert.deepEqual(await redis.smismember(k("s"), ["a", "z", "b"]), [1, 0, 1]);
      assert.deepEqual(await redis.smismember(k("nokey"), ["a", "b"]), [0, 0]);
    });

    it("SREM returns the number removed; removing the last member deletes the key", async (t) => {
      const k = keyspace(t, "srem");
      await redis.sadd(k("s"), "a", "b", "c");
      assert.equal(await redis.srem(k("s"), "a", "zz"), 1);
      assert.equal(await redis.srem(k("s"), "b", "c", "b"), 2);
      assert.equal(await redis.exists(k("s")), 0);
      assert.equal(await redis.srem(k("s"), "a"), 0);
    });

    it("SMOVE moves a member (1), or does nothing (0)", async (t) => {
      const k = keyspace(t, "smove");
      await redis.sadd(k("src"), "a", "b");
      await redis.sadd(k("dst"), "b");
      assert.equal(await redis.smove(k("src"), k("dst"), "a"), 1);
      assert.equal(await redis.smove(k("src"), k("dst"), "zz"), 0);
      assert.equal(await redis.smove(k("nokey"), k("dst"), "a"), 0);
      // already in the destination: still removed from the source
      assert.equal(await redis.smove(k("src"), k("dst"), "b"), 1);
      assert.equal(await redis.exists(k("src")), 0);
      assert.deepEqual(sorted(await redis.smembers(k("dst"))), ["a", "b"]);
      // onto a new key
      assert.equal(await redis.smove(k("dst"), k("new"), "a"), 1);
      assert.deepEqual(await redis.smembers(k("new")), ["a"]);
      // source and destination the same: 1 when the member is there
      assert.equal(await redis.smove(k("new"), k("new"), "a"), 1);
      assert.equal(await redis.smove(k("new"), k("new"), "zz"), 0);
      assert.deepEqual(await redis.smembers(k("new")), ["a"]);
    });

    it("SPOP without count: one member or null; with count: an array (empty for a missing key)", async (t) => {
      const k = keyspace(t, "spop");
      assert.equal(await redis.spop(k("nokey")), null);
      assert.deepEqual(await redis.spop(k("nokey"), 2), []);
      await redis.sadd(k("s"), "a", "b", "c", "d");
      const one = await redis.spop(k("s"));
      assert.ok(["a", "b", "c", "d"].includes(one), `got ${one}`);
      assert.equal(await redis.sismember(k("s"), one), 0);
      const two = await redis.spop(k("s"), 2);
      assert.equal(two.length, 2);
      assert.equal(new Set([one, ...two]).size, 3);
      assert.deepEqual(await redis.spop(k("s"), 0), []);
      assert.equal(await redis.scard(k("s")), 1);
      const rest = await redis.spop(k("s"), 10);
      assert.equal(rest.length, 1);
      assert.deepEqual(sorted([one, ...two, ...rest]), ["a", "b", "c", "d"]);
      assert.equal(await redis.exists(k("s")), 0, "popping the last member deletes the key");
    });

    it("SPOP of JSON members returns values", async (t) => {
      const k = keyspace(t, "spop-json");
      await redis.sadd(k("s"), { x: 1 });
      assert.deepEqual(await redis.spop(k("s")), { x: 1 });
      await redis.sadd(k("n"), 42);
      assert.deepEqual(await redis.spop(k("n"), 1), [42]);
    });

    it("SRANDMEMBER: one member; distinct members for a positive count; repeats for a negative count", async (t) => {
      const k = keyspace(t, "srandmember");
      assert.equal(await redis.srandmember(k("nokey")), null);
      assert.deepEqual(await redis.srandmember(k("nokey"), 3), []);
      assert.deepEqual(await redis.srandmember(k("nokey"), -3), []);
      const members = ["a", "b", "c"];
      await redis.sadd(k("s"), ...members);
      for (let i = 0; i < 5; i++) assert.ok(members.includes(await redis.srandmember(k("s"))));
      const two = await redis.srandmember(k("s"), 2);
      assert.equal(two.length, 2);
      assert.equal(new Set(two).size, 2);
      assert.deepEqual(sorted(await redis.srandmember(k("s"), 10)), members);
      const many = await redis.srandmember(k("s"), -10);
      assert.equal(many.length, 10);
      assert.ok(many.every((m) => members.includes(m)));
      assert.deepEqual(await redis.srandmember(k("s"), 0), []);
      assert.equal(await redis.scard(k("s")), 3, "SRANDMEMBER does not remove anything");
    });

    it("SINTER / SUNION / SDIFF (missing keys count as empty sets)", async (t) => {
      const k = keyspace(t, "setops");
      await redis.sadd(k("a"), "1", "2", "3", "x");
      await redis.sadd(k("b"), "2", "3", "4");
      await redis.sadd(k("c"), "3", "5");
      assert.deepEqual(sorted(await redis.sinter(k("a"), k("b"))), [2, 3]);
      assert.deepEqual(await redis.sinter(k("a"), k("b"), k("c")), [3]);
      assert.deepEqual(await redis.sinter(k("a"), k("nokey")), []);
      assert.deepEqual(sorted(await redis.sunion(k("a"), k("b"), k("c"), k("nokey"))), [1, 2, 3, 4, 5, "x"]);
      assert.deepEqual(sorted(await redis.sdiff(k("a"), k("b"))), [1, "x"]);
      assert.deepEqual(sorted(await redis.sdiff(k("a"), k("b"), k("c"), k("nokey"))), [1, "x"]);
      assert.deepEqual(await redis.sdiff(k("nokey"), k("a")), []);
      assert.deepEqual(sorted(await redis.sdiff(k("a"))), [1, 2, 3, "x"]);
    });

    it("SINTERSTORE / SUNIONSTORE / SDIFFSTORE store the result and return its size", async (t) => {
      const k = keyspace(t, "setstores");
      await redis.sadd(k("a"), "1", "2", "3");
      await redis.sadd(k("b"), "2", "3", "4");
      await redis.set(k("dst"), "a string that gets replaced");
      assert.equal(await redis.sinterstore(k("dst"), k("a"), k("b")), 2);
      assert.deepEqual(sorted(await redis.smembers(k("dst"))), [2, 3]);
      assert.equal(await redis.type(k("dst")), "set");
      assert.equal(await redis.sunionstore(k("dst"), k("a"), k("b")), 4);
      assert.deepEqual(sorted(await redis.smembers(k("dst"))), [1, 2, 3, 4]);
      assert.equal(await redis.sdiffstore(k("dst"), k("a"), k("b")), 1);
      assert.deepEqual(await redis.smembers(k("dst")), [1]);
      // a store onto one of its own sources
      assert.equal(await redis.sunionstore(k("a"), k("a"), k("b")), 4);
      assert.equal(await redis.scard(k("a")), 4);
      // an empty result deletes the destination
      assert.equal(await redis.sinterstore(k("dst"), k("a"), k("nokey")), 0);
      assert.equal(await redis.exists(k("dst")), 0);
      await redis.sadd(k("dst"), "z");
      assert.equal(await redis.sdiffstore(k("dst"), k("nokey"), k("a")), 0);
      assert.equal(await redis.exists(k("dst")), 0);
    });

    it("SINTERCARD counts the intersection, stopping at LIMIT (0 = no limit)", async (t) => {
      const k = keyspace(t, "sintercard");
      await redis.sadd(k("a"), "1", "2", "3", "4", "5");
      await redis.sadd(k("b"), "2", "3", "4", "5", "6");
      assert.equal(await redis.sintercard([k("a"), k("b")]), 4);
      assert.equal(await redis.sintercard([k("a"), k("b")], { limit: 2 }), 2);
      assert.equal(await redis.sintercard([k("a"), k("b")], { limit: 0 }), 4);
      assert.equal(await redis.sintercard([k("a"), k("b")], { limit: 100 }), 4);
      assert.equal(await redis.sintercard([k("a")]), 5);
      assert.equal(await redis.sintercard([k("a"), k("nokey")]), 0);
      let e = await rejects(redis.sintercard([k("a")], { limit: -1 }));
      assert.match(e.message, /ERR LIMIT can't be negative/);
      e = await rejects(redis.exec(["SINTERCARD", 0, k("a")]));
      assert.match(e.message, /ERR numkeys should be greater than 0/);
    });

    it("SSCAN visits every member with MATCH and COUNT; the cursor stays a string", async (t) => {
      const k = keyspace(t, "sscan");
      const members = Array.from({ length: 60 }, (_, i) => `m:${i}`);
      await redis.sadd(k("s"), ...members, "other");
      const seen = new Set();
      let cursor = "0";
      let rounds = 0;
      do {
        const [next, items] = await redis.sscan(k("s"), cursor, { match: "m:*", count: 9 });
        assert.equal(typeof next, "string");
        items.forEach((m) => seen.add(m));
        cursor = next;
        assert.ok(++rounds < 1000, "SSCAN did not terminate");
      } while (cursor !== "0");
      assert.deepEqual(sorted(seen), sorted(members));
      assert.deepEqual(await redis.sscan(k("nokey"), 0), ["0", []]);
    });

    it("SSCAN of a small integer set returns numbers", async (t) => {
      const k = keyspace(t, "sscan-int");
      await redis.sadd(k("s"), 10, 20, 30);
      const [cursor, items] = await redis.sscan(k("s"), 0, { count: 100 });
      assert.equal(cursor, "0");
      assert.deepEqual([...items].sort((a, b) => a - b), [10, 20, 30]);
    });

    it("set commands on a key of another type fail with WRONGTYPE", async (t) => {
      const k = keyspace(t, "wrongtype");
      await redis.set(k("str"), "v");
      await redis.sadd(k("s"), "a");
      for (const f of [
        () => redis.sadd(k("str"), "a"),
        () => redis.smembers(k("str")),
        () => redis.scard(k("str")),
        () => redis.sismember(k("str"), "a"),
        () => redis.sinter(k("s"), k("str")),
        () => redis.sunionstore(k("dst"), k("s"), k("str")),
        () => redis.smove(k("s"), k("str"), "a"),
      ]) {
        assert.match((await rejects(f())).message, WRONGTYPE);
      }
      assert.equal(await redis.sismember(k("s"), "a"), 1, "the failed SMOVE moved nothing");
      assert.equal(await redis.type(k("s")), "set");
    });
  });
}

describe("sets in pipelines and transactions", () => {
  const redis = newRedis();

  it("pipeline(): set commands with their results", async (t) => {
    const k = keyspace(t, "set-pipe");
    const res = await redis
      .pipeline()
      .sadd(k("a"), "x", "y")
      .sadd(k("b"), "y", "z")
      .scard(k("a"))
      .sismember(k("a"), "x")
      .smismember(k("a"), ["x", "z"])
      .sinter(k("a"), k("b"))
      .sinterstore(k("c"), k("a"), k("b"))
      .sintercard([k("a"), k("b")])
      .srem(k("a"), "x")
      .smembers(k("a"))
      .smove(k("b"), k("a"), "z")
      .spop(k("nokey"))
      .exec();
    assert.deepEqual(res, [2, 2, 2, 1, [1, 0], ["y"], 1, 1, 1, ["y"], 1, null]);
  });

  it("multi(): set commands run atomically", async (t) => {
    const k = keyspace(t, "set-multi");
    const res = await redis
      .multi()
      .sadd(k("s"), "only")
      .spop(k("s"), 5)
      .exists(k("s"))
      .sadd(k("s"), 1, 2)
      .sunion(k("s"))
      .exec();
    assert.equal(res.length, 5);
    assert.deepEqual(res.slice(0, 4), [1, ["only"], 0, 2]);
    assert.deepEqual([...res[4]].sort(), [1, 2]);
  });
});

describe("sets with plain JSON responses (responseEncoding: false)", () => {
  for (const mode of MODES) {
    it(`unicode, 'OK' and base64-looking members survive — ${mode.name}`, async (t) => {
      const k = keyspace(t, "set-plain");
      const redis = newRedis({ ...mode.opts, responseEncoding: false });
      const members = ["héllo 🚀", "OK", "T0s=", "你好", "", 'a "q"\n'];
      assert.equal(await redis.sadd(k("s"), ...members), 6);
      assert.deepEqual(sorted(await redis.smembers(k("s"))), sorted(members));
      assert.equal(await redis.sismember(k("s"), "OK"), 1);
      assert.deepEqual(sorted(await redis.sinter(k("s"), k("s"))), sorted(members));
      const [, items] = await redis.sscan(k("s"), 0, { count: 100 });
      assert.deepEqual(sorted(items), sorted(members));
      assert.ok(members.includes(await redis.srandmember(k("s"))));
    });
  }
});

describe("sets through the read-only token", { skip: RO_TOKEN ? false : "LARDER_READ_ONLY_TOKEN not set" }, () => {
  it("reads pass, writes are refused with NOPERM", async (t) => {
    const k = keyspace(t, "set-ro");
    const rw = newRedis();
    await rw.sadd(k("s"), "a", "b");
    const ro = newRedis({ token: RO_TOKEN });
    assert.deepEqual(sorted(await ro.smembers(k("s"))), ["a", "b"]);
    assert.equal(await ro.scard(k("s")), 2);
    assert.equal(await ro.sismember(k("s"), "a"), 1);
    assert.deepEqual(sorted(await ro.sunion(k("s"), k("nokey"))), ["a", "b"]);
    for (const f of [
      () => ro.sadd(k("s"), "c"),
      () => ro.srem(k("s"), "a"),
      () => ro.spop(k("s")),
      () => ro.smove(k("s"), k("t"), "a"),
      () => ro.sunionstore(k("t"), k("s")),
    ]) {
      assert.match((await rejects(f())).message, /NOPERM/);
    }
    assert.equal(await rw.scard(k("s")), 2);
    assert.equal(await rw.exists(k("t")), 0);
  });
});
