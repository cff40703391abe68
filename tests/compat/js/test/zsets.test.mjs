// Sorted-set commands through @upstash/redis, in both transport modes (auto-pipelined and plain),
// plus pipelines/transactions and the plain-JSON (responseEncoding: false) mode.
//
// Expected values are Redis 7 semantics (checked against redis-server 7.0 through a REST shim;
// score formatting follows Redis 7.2+, which prints the shortest text that reads back as the
// same double) after the client's generic deserialization: scores come back as numbers ("1.5"
// -> 1.5, but "inf" stays a string), members that are JSON come back parsed.
//
// Not covered: ZRANGE ... LIMIT without BYSCORE/BYLEX. redis-rest.md §10 lists it as accepted by
// Upstash (after SRH's README), but Upstash's current command page says LIMIT requires BYSCORE or
// BYLEX, as Redis does; what Upstash returns for it is not known.

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { MODES, RO_TOKEN, keyspace, newRedis, rejects } from "./helpers.mjs";

const WRONGTYPE = /WRONGTYPE Operation against a key holding the wrong kind of value/;

/** [m1, s1, m2, s2, ...] -> { m1: s1, ... } (for replies whose order is not the point) */
const pairs = (flat) => {
  const out = {};
  for (let i = 0; i < flat.length; i += 2) out[flat[i]] = flat[i + 1];
  return out;
};

for (const mode of MODES) {
  describe(`sorted sets — ${mode.name}`, () => {
    const redis = newRedis(mode.opts);

    async function seed(key) {
      // scores 1..5, members a..e
      await redis.zadd(
        key,
        { score: 1, member: "a" },
        { score: 2, member: "b" },
        { score: 3, member: "c" },
        { score: 4, member: "d" },
        { score: 5, member: "e" },
      );
    }

    it("ZADD returns the number of new members; ZRANGE lists them by score", async (t) => {
      const k = keyspace(t, "zadd");
      assert.equal(await redis.zadd(k("z"), { score: 2, member: "b" }, { score: 1, member: "a" }), 2);
      assert.equal(await redis.zadd(k("z"), { score: 3, member: "c" }, { score: 10, member: "a" }), 1);
      assert.deepEqual(await redis.zrange(k("z"), 0, -1), ["b", "c", "a"]);
      assert.equal(await redis.zcard(k("z")), 3);
      assert.equal(await redis.zcard(k("nokey")), 0);
      assert.equal(await redis.type(k("z")), "zset");
    });

    it("members with equal scores are ordered lexicographically (byte order)", async (t) => {
      const k = keyspace(t, "zadd-lex");
      await redis.zadd(
        k("z"),
        { score: 1, member: "b" },
        { score: 1, member: "B" },
        { score: 1, member: "a" },
        { score: 0, member: "z" },
        { score: 1, member: "ab" },
      );
      assert.deepEqual(await redis.zrange(k("z"), 0, -1), ["z", "B", "a", "ab", "b"]);
      assert.deepEqual(await redis.zrange(k("z"), 0, -1, { rev: true }), ["b", "ab", "a", "B", "z"]);
    });

    it("ZADD NX / XX", async (t) => {
      const k = keyspace(t, "zadd-nx-xx");
      await redis.zadd(k("z"), { score: 1, member: "a" });
      assert.equal(await redis.zadd(k("z"), { nx: true }, { score: 5, member: "a" }, { score: 2, member: "b" }), 1);
      assert.equal(await redis.zscore(k("z"), "a"), 1, "NX does not update");
      assert.equal(await redis.zadd(k("z"), { xx: true }, { score: 7, member: "a" }, { score: 3, member: "c" }), 0);
      assert.equal(await redis.zscore(k("z"), "a"), 7, "XX updates");
      assert.equal(await redis.zscore(k("z"), "c"), null, "XX does not add");
    });

    it("ZADD CH counts changed members too", async (t) => {
      const k = keyspace(t, "zadd-ch");
      await redis.zadd(k("z"), { score: 1, member: "a" }, { score: 2, member: "b" });
      assert.equal(
        await redis.zadd(k("z"), { ch: true }, { score: 10, member: "a" }, { score: 2, member: "b" }, { score: 3, member: "c" }),
        2,
      );
      assert.equal(await redis.zadd(k("z"), { xx: true, ch: true }, { score: 11, member: "a" }, { score: 4, member: "d" }), 1);
    });

    it("ZADD GT / LT only move scores one way but still add new members", async (t) => {
      const k = keyspace(t, "zadd-gt-lt");
      await redis.zadd(k("z"), { score: 5, member: "a" });
      assert.equal(await redis.zadd(k("z"), { gt: true, ch: true }, { score: 3, member: "a" }), 0);
      assert.equal(await redis.zscore(k("z"), "a"), 5);
      assert.equal(await redis.zadd(k("z"), { gt: true, ch: true }, { score: 8, member: "a" }), 1);
      assert.equal(await redis.zscore(k("z"), "a"), 8);
      assert.equal(await redis.zadd(k("z"), { lt: true, ch: true }, { score: 9, member: "a" }), 0);
      assert.equal(await redis.zadd(k("z"), { lt: true, ch: true }, { score: 2, member: "a" }), 1);
      assert.equal(await redis.zscore(k("z"), "a"), 2);
      assert.equal(await redis.zadd(k("z"), { gt: true }, { score: 1, member: "new" }), 1, "GT adds a new member");
      assert.equal(await redis.zadd(k("z"), { xx: true, gt: true, ch: true }, { score: 4, member: "a" }), 1);
      assert.equal(await redis.zscore(k("z"), "a"), 4);
    });

    it("ZADD INCR returns the new score, or null when NX/XX/GT/LT prevent the update", async (t) => {
      const k = keyspace(t, "zadd-incr");
      assert.equal(await redis.zadd(k("z"), { incr: true }, { score: 1.5, member: "a" }), 1.5);
      assert.equal(await redis.zadd(k("z"), { incr: true }, { score: 2, member: "a" }), 3.5);
      assert.equal(await redis.zadd(k("z"), { incr: true, nx: true }, { score: 1, member: "a" }), null);
      assert.equal(await redis.zadd(k("z"), { incr: true, xx: true }, { score: 1, member: "b" }), null);
      assert.equal(await redis.zadd(k("z"), { incr: true, gt: true }, { score: -1, member: "a" }), null);
      assert.equal(await redis.zadd(k("z"), { incr: true, lt: true }, { score: -1, member: "a" }), 2.5);
      assert.equal(await redis.zscore(k("z"), "b"), null);
    });

    it("ZADD option errors (Redis' texts)", async (t) => {
      const k = keyspace(t, "zadd-errors");
      let e = await rejects(redis.zadd(k("z"), { nx: true, gt: true }, { score: 1, member: "a" }));
      assert.match(e.message, /ERR GT, LT, and\/or NX options at the same time are not compatible/);
      e = await rejects(redis.zadd(k("z"), { incr: true }, { score: 1, member: "a" }, { score: 2, member: "b" }));
      assert.match(e.message, /ERR INCR option supports a single increment-element pair/);
      e = await rejects(redis.exec(["ZADD", k("z"), "NX", "XX", 1, "a"]));
      assert.match(e.message, /ERR XX and NX options at the same time are not compatible/);
      e = await rejects(redis.exec(["ZADD", k("z"), "abc", "a"]));
      assert.match(e.message, /ERR value is not a valid float/);
      e = await rejects(redis.exec(["ZADD", k("z"), 1, "a", 2]));
      assert.match(e.message, /ERR syntax error/);
      assert.equal(await redis.exists(k("z")), 0);
    });

    it("JSON members round-trip: objects are stored as JSON text and parsed back", async (t) => {
      const k = keyspace(t, "zadd-json");
      await redis.zadd(k("z"), { score: 2, member: { id: 2 } }, { score: 1, member: { id: 1 } });
      assert.deepEqual(await redis.zrange(k("z"), 0, -1), [{ id: 1 }, { id: 2 }]);
      assert.equal(await redis.zscore(k("z"), { id: 2 }), 2);
      assert.equal(await redis.zrank(k("z"), { id: 2 }), 1);
    });

    it("ZSCORE returns a number (null when missing); ZMSCORE an array", async (t) => {
      const k = keyspace(t, "zscore");
      await redis.zadd(k("z"), { score: 1.5, member: "a" }, { score: -3, member: "b" }, { score: 100, member: "c" });
      assert.equal(await redis.zscore(k("z"), "a"), 1.5);
      assert.equal(await redis.zscore(k("z"), "b"), -3);
      assert.equal(await redis.zscore(k("z"), "zz"), null);
      assert.equal(await redis.zscore(k("nokey"), "a"), null);
      assert.deepEqual(await redis.zmscore(k("z"), ["a", "zz", "c"]), [1.5, null, 100]);
      assert.deepEqual(await redis.zmscore(k("nokey"), ["a", "b"]), [null, null]);
    });

    it("scores are printed as the shortest text that reads back as the same double (Redis 7.2+)", async (t) => {
      const k = keyspace(t, "zscore-format");
      const plain = newRedis({ ...mode.opts, automaticDeserialization: false });
      await redis.zadd(k("z"), { score: 0.1, member: "a" }, { score: 2.5, member: "b" }, { score: 1e21, member: "c" });
      assert.equal(await redis.zscore(k("z"), "a"), 0.1);
      assert.equal(await plain.zscore(k("z"), "a"), "0.1");
      assert.equal(await plain.zscore(k("z"), "b"), "2.5");
      assert.equal(await plain.zscore(k("z"), "c"), "1e+21");
      assert.deepEqual(await plain.zrange(k("z"), 0, 0, { withScores: true }), ["a", "0.1"]);
      // a sum that is not exactly 0.3 in binary keeps all the digits it needs
      assert.equal(await plain.zincrby(k("z"), 0.2, "a"), "0.30000000000000004");
      // integers never carry a fraction or an exponent
      await redis.zadd(k("z"), { score: 3, member: "d" });
      assert.equal(await plain.zscore(k("z"), "d"), "3");
    });

    it("infinite scores: '+inf' / '-inf' are accepted and come back as 'inf' / '-inf'", async (t) => {
      const k = keyspace(t, "zscore-inf");
      assert.equal(await redis.exec(["ZADD", k("z"), "+inf", "top", "-inf", "bottom", 0, "zero"]), 3);
      assert.equal(await redis.zscore(k("z"), "top"), "inf", "not JSON: the client keeps the string");
      assert.equal(await redis.zscore(k("z"), "bottom"), "-inf");
      assert.deepEqual(await redis.zrange(k("z"), 0, -1), ["bottom", "zero", "top"]);
      assert.equal(await redis.zcount(k("z"), "-inf", "+inf"), 3);
      const e = await rejects(redis.exec(["ZINCRBY", k("z"), "-inf", "top"]));
      assert.match(e.message, /ERR resulting score is not a number \(NaN\)/);
    });

    it("ZINCRBY returns the new score; creates key and member", async (t) => {
      const k = keyspace(t, "zincrby");
      assert.equal(await redis.zincrby(k("z"), 2.5, "a"), 2.5);
      assert.equal(await redis.zincrby(k("z"), -1, "a"), 1.5);
      assert.equal(await redis.zincrby(k("z"), 0.5, "b"), 0.5);
      assert.equal(await redis.zincrby(k("z"), 0.25, "b"), 0.75);
      assert.equal(await redis.zscore(k("z"), "b"), 0.75);
      const e = await rejects(redis.exec(["ZINCRBY", k("z"), "x", "a"]));
      assert.match(e.message, /ERR value is not a valid float/);
    });

    it("ZRANK / ZREVRANK (null for a missing member or key)", async (t) => {
      const k = keyspace(t, "zrank");
      await seed(k("z"));
      assert.equal(await redis.zrank(k("z"), "a"), 0);
      assert.equal(await redis.zrank(k("z"), "d"), 3);
      assert.equal(await redis.zrevrank(k("z"), "a"), 4);
      assert.equal(await redis.zrevrank(k("z"), "e"), 0);
      assert.equal(await redis.zrank(k("z"), "zz"), null);
      assert.equal(await redis.zrevrank(k("nokey"), "a"), null);
    });

    it("ZRANGE by index: negative and out-of-range indexes, REV, WITHSCORES pairs", async (t) => {
      const k = keyspace(t, "zrange-index");
      await seed(k("z"));
      assert.deepEqual(await redis.zrange(k("z"), 1, 2), ["b", "c"]);
      assert.deepEqual(await redis.zrange(k("z"), -2, -1), ["d", "e"]);
      assert.deepEqual(await redis.zrange(k("z"), -100, 100), ["a", "b", "c", "d", "e"]);
      assert.deepEqual(await redis.zrange(k("z"), 3, 1), []);
      assert.deepEqual(await redis.zrange(k("z"), 0, 1, { rev: true }), ["e", "d"]);
      assert.deepEqual(await redis.zrange(k("z"), 0, 1, { withScores: true }), ["a", 1, "b", 2]);
      assert.deepEqual(await redis.zrange(k("z"), 0, 1, { rev: true, withScores: true }), ["e", 5, "d", 4]);
      assert.deepEqual(await redis.zrange(k("nokey"), 0, -1), []);
    });

    it("ZRANGE byScore: inclusive / exclusive bounds, infinities, REV (max first), LIMIT", async (t) => {
      const k = keyspace(t, "zrange-score");
      await seed(k("z"));
      assert.deepEqual(await redis.zrange(k("z"), 2, 4, { byScore: true }), ["b", "c", "d"]);
      assert.deepEqual(await redis.zrange(k("z"), "(2", "(4", { byScore: true }), ["c"]);
      assert.deepEqual(await redis.zrange(k("z"), "-inf", "+inf", { byScore: true }), ["a", "b", "c", "d", "e"]);
      assert.deepEqual(await redis.zrange(k("z"), "(3", "+inf", { byScore: true, withScores: true }), ["d", 4, "e", 5]);
      assert.deepEqual(await redis.zrange(k("z"), 4, 2, { byScore: true, rev: true }), ["d", "c", "b"]);
      assert.deepEqual(await redis.zrange(k("z"), 2, 4, { byScore: true, rev: true }), [], "REV takes max first");
      assert.deepEqual(await redis.zrange(k("z"), "-inf", "+inf", { byScore: true, offset: 1, count: 2 }), ["b", "c"]);
      assert.deepEqual(await redis.zrange(k("z"), "+inf", "-inf", { byScore: true, rev: true, offset: 0, count: 2 }), ["e", "d"]);
      assert.deepEqual(await redis.zrange(k("z"), "-inf", "+inf", { byScore: true, offset: 3, count: -1 }), ["d", "e"]);
      assert.deepEqual(
        await redis.zrange(k("z"), 1, 5, { byScore: true, offset: 1, count: 2, withScores: true }),
        ["b", 2, "c", 3],
      );
      assert.deepEqual(await redis.zrange(k("z"), 10, 20, { byScore: true }), []);
      const e = await rejects(redis.zrange(k("z"), "x", 5, { byScore: true }));
      assert.match(e.message, /ERR min or max is not a float/);
    });

    it("ZRANGE byLex: [ ( - + bounds, REV, LIMIT", async (t) => {
      const k = keyspace(t, "zrange-lex");
      await redis.zadd(k("z"), ...["a", "b", "c", "d", "e", "f"].map((member) => ({ score: 0, member })));
      assert.deepEqual(await redis.zrange(k("z"), "-", "+", { byLex: true }), ["a", "b", "c", "d", "e", "f"]);
      assert.deepEqual(await redis.zrange(k("z"), "[b", "(e", { byLex: true }), ["b", "c", "d"]);
      assert.deepEqual(await redis.zrange(k("z"), "(b", "[e", { byLex: true }), ["c", "d", "e"]);
      assert.deepEqual(await redis.zrange(k("z"), "[e", "[b", { byLex: true, rev: true }), ["e", "d", "c", "b"]);
      assert.deepEqual(await redis.zrange(k("z"), "-", "+", { byLex: true, offset: 2, count: 2 }), ["c", "d"]);
      assert.deepEqual(await redis.zrange(k("z"), "+", "-", { byLex: true, rev: true, offset: 1, count: 1 }), ["e"]);
      const e = await rejects(redis.zrange(k("z"), "a", "c", { byLex: true }));
      assert.match(e.message, /ERR min or max not valid string range item/);
    });

    it("ZCOUNT / ZLEXCOUNT", async (t) => {
      const k = keyspace(t, "zcount");
      await seed(k("z"));
      assert.equal(await redis.zcount(k("z"), 2, 4), 3);
      assert.equal(await redis.zcount(k("z"), "(2", 4), 2);
      assert.equal(await redis.zcount(k("z"), "-inf", "(3"), 2);
      assert.equal(await redis.zcount(k("z"), 10, 20), 0);
      assert.equal(await redis.zcount(k("nokey"), "-inf", "+inf"), 0);
      await redis.zadd(k("lex"), ...["a", "b", "c", "d"].map((member) => ({ score: 0, member })));
      assert.equal(await redis.zlexcount(k("lex"), "-", "+"), 4);
      assert.equal(await redis.zlexcount(k("lex"), "[b", "(d"), 2);
      assert.equal(await redis.zlexcount(k("lex"), "(a", "+"), 3);
      assert.equal(await redis.zlexcount(k("nokey"), "-", "+"), 0);
    });

    it("ZPOPMIN / ZPOPMAX return flat [member, score, ...] arrays ([] when empty)", async (t) => {
      const k = keyspace(t, "zpop");
      await seed(k("z"));
      assert.deepEqual(await redis.zpopmin(k("z")), ["a", 1]);
      assert.deepEqual(await redis.zpopmax(k("z")), ["e", 5]);
      assert.deepEqual(await redis.zpopmin(k("z"), 2), ["b", 2, "c", 3]);
      assert.deepEqual(await redis.zpopmax(k("z"), 10), ["d", 4]);
      assert.equal(await redis.exists(k("z")), 0, "popping the last member deletes the key");
      assert.deepEqual(await redis.zpopmin(k("z")), []);
      assert.deepEqual(await redis.zpopmax(k("nokey"), 3), []);
    });

    it("ZREM returns the number removed; the last one deletes the key", async (t) => {
      const k = keyspace(t, "zrem");
      await seed(k("z"));
      assert.equal(await redis.zrem(k("z"), "a", "zz"), 1);
      assert.equal(await redis.zrem(k("z"), "b", "c", "b"), 2);
      assert.equal(await redis.zrem(k("z"), "d", "e"), 2);
      assert.equal(await redis.exists(k("z")), 0);
      assert.equal(await redis.zrem(k("nokey"), "a"), 0);
    });

    it("ZREMRANGEBYRANK / ZREMRANGEBYSCORE / ZREMRANGEBYLEX", async (t) => {
      const k = keyspace(t, "zremrange");
      await seed(k("z"));
      assert.equal(await redis.zremrangebyrank(k("z"), 0, 1), 2);
      assert.deepEqual(await redis.zrange(k("z"), 0, -1), ["c", "d", "e"]);
      assert.equal(await redis.zremrangebyrank(k("z"), -1, -1), 1);
      assert.equal(await redis.zremrangebyscore(k("z"), "(3", "+inf"), 1);
      assert.deepEqual(await redis.zrange(k("z"), 0, -1), ["c"]);
      assert.equal(await redis.zremrangebyscore(k("z"), 10, 20), 0);
      assert.equal(await redis.zremrangebyscore(k("z"), "-inf", 3), 1);
      assert.equal(await redis.exists(k("z")), 0);
      await redis.zadd(k("lex"), ...["a", "b", "c", "d", "e"].map((member) => ({ score: 0, member })));
      assert.equal(await redis.zremrangebylex(k("lex"), "[b", "(d"), 2);
      assert.deepEqual(await redis.zrange(k("lex"), 0, -1), ["a", "d", "e"]);
      assert.equal(await redis.zremrangebylex(k("lex"), "-", "+"), 3);
      assert.equal(await redis.exists(k("lex")), 0);
      assert.equal(await redis.zremrangebyrank(k("nokey"), 0, -1), 0);
    });

    it("ZUNION with WEIGHTS / AGGREGATE / WITHSCORES", async (t) => {
      const k = keyspace(t, "zunion");
      await redis.zadd(k("a"), { score: 1, member: "x" }, { score: 2, member: "y" });
      await redis.zadd(k("b"), { score: 10, member: "y" }, { score: 20, member: "z" });
      assert.deepEqual(await redis.zunion(2, [k("a"), k("b")]), ["x", "y", "z"]);
      assert.deepEqual(await redis.zunion(2, [k("a"), k("b")], { withScores: true }), ["x", 1, "y", 12, "z", 20]);
      assert.deepEqual(
        await redis.zunion(2, [k("a"), k("b")], { withScores: true, weights: [2, 0.5] }),
        ["x", 2, "y", 9, "z", 10],
      );
      assert.deepEqual(
        pairs(await redis.zunion(2, [k("a"), k("b")], { withScores: true, aggregate: "max" })),
        { x: 1, y: 10, z: 20 },
      );
      assert.deepEqual(
        pairs(await redis.zunion(2, [k("a"), k("b")], { withScores: true, aggregate: "min" })),
        { x: 1, y: 2, z: 20 },
      );
      assert.deepEqual(await redis.zunion(1, k("a"), { withScores: true, weight: 3 }), ["x", 3, "y", 6]);
      assert.deepEqual(await redis.zunion(2, [k("a"), k("nokey")]), ["x", "y"]);
    });

    it("ZUNIONSTORE / ZINTERSTORE store the result and return its size; sets count with score 1", async (t) => {
      const k = keyspace(t, "zstore");
      await redis.zadd(k("a"), { score: 1, member: "x" }, { score: 2, member: "y" }, { score: 3, member: "w" });
      await redis.zadd(k("b"), { score: 10, member: "y" }, { score: 20, member: "z" }, { score: 30, member: "w" });
      await redis.set(k("dst"), "replaced");
      assert.equal(await redis.zunionstore(k("dst"), 2, [k("a"), k("b")]), 4);
      assert.deepEqual(await redis.zrange(k("dst"), 0, -1, { withScores: true }), ["x", 1, "y", 12, "z", 20, "w", 33]);
      assert.equal(await redis.zinterstore(k("dst"), 2, [k("a"), k("b")]), 2);
      assert.deepEqual(await redis.zrange(k("dst"), 0, -1, { withScores: true }), ["y", 12, "w", 33]);
      assert.equal(await redis.zinterstore(k("dst"), 2, [k("a"), k("b")], { weights: [10, 1], aggregate: "max" }), 2);
      assert.deepEqual(await redis.zrange(k("dst"), 0, -1, { withScores: true }), ["y", 20, "w", 30]);
      assert.equal(await redis.zinterstore(k("dst"), 2, [k("a"), k("b")], { aggregate: "min" }), 2);
      assert.deepEqual(await redis.zrange(k("dst"), 0, -1, { withScores: true }), ["y", 2, "w", 3]);
      assert.equal(await redis.zunionstore(k("dst"), 1, k("a"), { weight: 2 }), 3);
      assert.deepEqual(await redis.zrange(k("dst"), 0, -1, { withScores: true }), ["x", 2, "y", 4, "w", 6]);
      // a plain set counts as a sorted set whose members all score 1
      await redis.sadd(k("set"), "x", "q");
      assert.equal(await redis.zunionstore(k("dst"), 2, [k("a"), k("set")]), 4);
      assert.deepEqual(pairs(await redis.zrange(k("dst"), 0, -1, { withScores: true })), { x: 2, q: 1, y: 2, w: 3 });
      // an empty result deletes the destination
      assert.equal(await redis.zinterstore(k("dst"), 2, [k("a"), k("nokey")]), 0);
      assert.equal(await redis.exists(k("dst")), 0);
    });

    it("ZDIFFSTORE keeps the first set's members that are in no other set", async (t) => {
      const k = keyspace(t, "zdiffstore");
      await redis.zadd(k("a"), { score: 1, member: "x" }, { score: 2, member: "y" }, { score: 3, member: "z" });
      await redis.zadd(k("b"), { score: 10, member: "y" });
      assert.equal(await redis.zdiffstore(k("dst"), 2, k("a"), k("b")), 2);
      assert.deepEqual(await redis.zrange(k("dst"), 0, -1, { withScores: true }), ["x", 1, "z", 3]);
      assert.equal(await redis.zdiffstore(k("dst"), 2, k("nokey"), k("a")), 0);
      assert.equal(await redis.exists(k("dst")), 0);
    });

    it("ZSCAN visits every member with its score; the cursor stays a string", async (t) => {
      const k = keyspace(t, "zscan");
      const members = Array.from({ length: 50 }, (_, i) => ({ score: i, member: `m:${i}` }));
      await redis.zadd(k("z"), ...members, { score: 99, member: "other" });
      const seen = {};
      let cursor = "0";
      let rounds = 0;
      do {
        const [next, items] = await redis.zscan(k("z"), cursor, { match: "m:*", count: 8 });
        assert.equal(typeof next, "string");
        Object.assign(seen, pairs(items));
        cursor = next;
        assert.ok(++rounds < 1000, "ZSCAN did not terminate");
      } while (cursor !== "0");
      assert.deepEqual(seen, Object.fromEntries(members.map(({ score, member }) => [member, score])));
      assert.deepEqual(await redis.zscan(k("nokey"), 0), ["0", []]);
    });

    it("a large sorted set (past any compact-encoding threshold): ranks, ranges and removals", async (t) => {
      const k = keyspace(t, "zlarge");
      const n = 1000;
      const members = Array.from({ length: n }, (_, i) => ({ score: i * 2, member: `m${String(i).padStart(4, "0")}` }));
      for (let i = 0; i < n; i += 250) await redis.zadd(k("z"), ...members.slice(i, i + 250));
      assert.equal(await redis.zcard(k("z")), n);
      assert.equal(await redis.zrank(k("z"), "m0500"), 500);
      assert.equal(await redis.zrevrank(k("z"), "m0500"), 499);
      assert.deepEqual(await redis.zrange(k("z"), 100, 102), ["m0100", "m0101", "m0102"]);
      assert.deepEqual(await redis.zrange(k("z"), "(1000", 1006, { byScore: true, withScores: true }), ["m0501", 1002, "m0502", 1004, "m0503", 1006]);
      assert.deepEqual(await redis.zrange(k("z"), "+inf", "-inf", { byScore: true, rev: true, offset: 10, count: 2 }), ["m0989", "m0988"]);
      assert.equal(await redis.zcount(k("z"), 100, 199), 50);
      assert.equal(await redis.zremrangebyrank(k("z"), 0, 499), 500);
      assert.equal(await redis.zrank(k("z"), "m0500"), 0);
      assert.equal(await redis.zscore(k("z"), "m0999"), 1998);
    });

    it("sorted-set commands on a key of another type fail with WRONGTYPE", async (t) => {
      const k = keyspace(t, "wrongtype");
      await redis.set(k("str"), "v");
      for (const f of [
        () => redis.zadd(k("str"), { score: 1, member: "a" }),
        () => redis.zrange(k("str"), 0, -1),
        () => redis.zscore(k("str"), "a"),
        () => redis.zcard(k("str")),
        () => redis.zincrby(k("str"), 1, "a"),
        () => redis.zpopmin(k("str")),
        () => redis.zunionstore(k("dst"), 1, k("str")),
      ]) {
        assert.match((await rejects(f())).message, WRONGTYPE);
      }
    });
  });
}

describe("sorted sets in pipelines and transactions", () => {
  const redis = newRedis();

  it("pipeline(): sorted-set commands with their results", async (t) => {
    const k = keyspace(t, "zset-pipe");
    const res = await redis
      .pipeline()
      .zadd(k("z"), { score: 1, member: "a" }, { score: 2, member: "b" })
      .zadd(k("z"), { incr: true }, { score: 0.5, member: "a" })
      .zscore(k("z"), "a")
      .zmscore(k("z"), ["a", "b", "zz"])
      .zrange(k("z"), 0, -1, { withScores: true })
      .zrank(k("z"), "b")
      .zcount(k("z"), "-inf", "+inf")
      .zincrby(k("z"), 10, "c")
      .zpopmax(k("z"))
      .zrem(k("z"), "a")
      .zcard(k("z"))
      .exec();
    assert.deepEqual(res, [2, 1.5, 1.5, [1.5, 2, null], ["a", 1.5, "b", 2], 1, 2, 10, ["c", 10], 1, 1]);
  });

  it("multi(): sorted-set commands run atomically", async (t) => {
    const k = keyspace(t, "zset-multi");
    const res = await redis
      .multi()
      .zadd(k("lb"), { score: 10, member: "ann" }, { score: 20, member: "bob" })
      .zincrby(k("lb"), 15, "ann")
      .zrange(k("lb"), 0, -1, { rev: true, withScores: true })
      .zunionstore(k("copy"), 1, [k("lb")])
      .zpopmin(k("copy"), 5)
      .exists(k("copy"))
      .exec();
    assert.deepEqual(res, [2, 25, ["ann", 25, "bob", 20], 2, ["bob", 20, "ann", 25], 0]);
  });
});

describe("sorted sets with plain JSON responses (responseEncoding: false)", () => {
  for (const mode of MODES) {
    it(`unicode, 'OK' and base64-looking members survive — ${mode.name}`, async (t) => {
      const k = keyspace(t, "zset-plain");
      const redis = newRedis({ ...mode.opts, responseEncoding: false });
      const members = ["héllo 🚀", "OK", "T0s=", "你好", 'a "q"\n'];
      await redis.zadd(k("z"), ...members.map((member, i) => ({ score: i, member })));
      assert.deepEqual(await redis.zrange(k("z"), 0, -1), members);
      assert.deepEqual(await redis.zrange(k("z"), 0, 1, { withScores: true }), ["héllo 🚀", 0, "OK", 1]);
      assert.equal(await redis.zscore(k("z"), "OK"), 1);
      assert.deepEqual(await redis.zpopmax(k("z")), ['a "q"\n', 4]);
      const [, items] = await redis.zscan(k("z"), 0, { count: 100 });
      assert.deepEqual(pairs(items), { "héllo 🚀": 0, OK: 1, "T0s=": 2, "你好": 3 });
    });
  }
});

describe("sorted sets through the read-only token", { skip: RO_TOKEN ? false : "LARDER_READ_ONLY_TOKEN not set" }, () => {
  it("reads pass, writes are refused with NOPERM", async (t) => {
    const k = keyspace(t, "zset-ro");
    const rw = newRedis();
    await rw.zadd(k("z"), { score: 1, member: "a" }, { score: 2, member: "b" });
    const ro = newRedis({ token: RO_TOKEN });
    assert.deepEqual(await ro.zrange(k("z"), 0, -1, { withScores: true }), ["a", 1, "b", 2]);
    assert.equal(await ro.zscore(k("z"), "b"), 2);
    assert.equal(await ro.zcard(k("z")), 2);
    assert.equal(await ro.zrank(k("z"), "b"), 1);
    for (const f of [
      () => ro.zadd(k("z"), { score: 3, member: "c" }),
      () => ro.zincrby(k("z"), 1, "a"),
      () => ro.zrem(k("z"), "a"),
      () => ro.zpopmin(k("z")),
      () => ro.zunionstore(k("dst"), 1, [k("z")]),
    ]) {
      assert.match((await rejects(f())).message, /NOPERM/);
    }
    assert.equal(await rw.zcard(k("z")), 2);
  });
});
