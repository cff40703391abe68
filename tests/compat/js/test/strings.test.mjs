// String commands through @upstash/redis, in both transport modes (auto-pipelined and plain).
//
// Expected values are those of Redis 7+/Upstash. The client JSON-parses every string reply it can
// ("12" -> 12, "true" -> true), so expectations below are written as the client returns them.

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { MODES, keyspace, newRedis, rejects, sleep } from "./helpers.mjs";

const NOT_INT = /ERR value is not an integer or out of range/;
const WRONGTYPE = /WRONGTYPE Operation against a key holding the wrong kind of value/;

const nowSec = () => Math.floor(Date.now() / 1000);
const sorted = (a) => [...a].sort();

for (const mode of MODES) {
  describe(`strings — ${mode.name}`, () => {
    const redis = newRedis(mode.opts);

    it("SET then GET returns the value; GET of a missing key is null", async (t) => {
      const k = keyspace(t, "set-get");
      assert.equal(await redis.set(k("a"), "hello"), "OK");
      assert.equal(await redis.get(k("a")), "hello");
      assert.equal(await redis.get(k("missing")), null);
    });

    it("SET overwrites an existing value", async (t) => {
      const k = keyspace(t, "set-overwrite");
      await redis.set(k("a"), "one");
      await redis.set(k("a"), "two");
      assert.equal(await redis.get(k("a")), "two");
    });

    it("SET EX sets a TTL in seconds", async (t) => {
      const k = keyspace(t, "set-ex");
      assert.equal(await redis.set(k("a"), "v", { ex: 100 }), "OK");
      const ttl = await redis.ttl(k("a"));
      assert.ok(ttl >= 98 && ttl <= 100, `ttl=${ttl}`);
    });

    it("SET PX sets a TTL in milliseconds", async (t) => {
      const k = keyspace(t, "set-px");
      assert.equal(await redis.set(k("a"), "v", { px: 100000 }), "OK");
      const pttl = await redis.pttl(k("a"));
      assert.ok(pttl > 98000 && pttl <= 100000, `pttl=${pttl}`);
    });

    it("SET EXAT sets an absolute expiry in seconds", async (t) => {
      const k = keyspace(t, "set-exat");
      assert.equal(await redis.set(k("a"), "v", { exat: nowSec() + 100 }), "OK");
      const ttl = await redis.ttl(k("a"));
      assert.ok(ttl >= 97 && ttl <= 100, `ttl=${ttl}`);
    });

    it("SET PXAT sets an absolute expiry in milliseconds", async (t) => {
      const k = keyspace(t, "set-pxat");
      const at = Date.now() + 100000;
      assert.equal(await redis.set(k("a"), "v", { pxat: at }), "OK");
      const pttl = await redis.pttl(k("a"));
      assert.ok(pttl > 97000 && pttl <= 100000, `pttl=${pttl}`);
      assert.equal(await redis.exec(["PEXPIRETIME", k("a")]), at);
    });

    it("SET PX: the key is gone after it expires", async (t) => {
      const k = keyspace(t, "set-px-expire");
      await redis.set(k("a"), "v", { px: 150 });
      assert.equal(await redis.get(k("a")), "v");
      await sleep(400);
      assert.equal(await redis.get(k("a")), null);
      assert.equal(await redis.exists(k("a")), 0);
    });

    it("SET NX only sets a missing key (null when not set)", async (t) => {
      const k = keyspace(t, "set-nx");
      assert.equal(await redis.set(k("a"), "first", { nx: true }), "OK");
      assert.equal(await redis.set(k("a"), "second", { nx: true }), null);
      assert.equal(await redis.get(k("a")), "first");
    });

    it("SET XX only sets an existing key (null when not set)", async (t) => {
      const k = keyspace(t, "set-xx");
      assert.equal(await redis.set(k("a"), "v", { xx: true }), null);
      assert.equal(await redis.exists(k("a")), 0);
      await redis.set(k("a"), "old");
      assert.equal(await redis.set(k("a"), "new", { xx: true }), "OK");
      assert.equal(await redis.get(k("a")), "new");
    });

    it("SET KEEPTTL (sent by the client as 'keepTtl') keeps the TTL; plain SET clears it", async (t) => {
      const k = keyspace(t, "set-keepttl");
      await redis.set(k("a"), "v1", { ex: 100 });
      assert.equal(await redis.set(k("a"), "v2", { keepTtl: true }), "OK");
      const ttl = await redis.ttl(k("a"));
      assert.ok(ttl >= 98 && ttl <= 100, `ttl=${ttl}`);
      assert.equal(await redis.get(k("a")), "v2");
      await redis.set(k("a"), "v3");
      assert.equal(await redis.ttl(k("a")), -1);
    });

    it("SET GET returns the old value (null for a missing key)", async (t) => {
      const k = keyspace(t, "set-get-opt");
      assert.equal(await redis.set(k("a"), "old", { get: true }), null);
      assert.equal(await redis.set(k("a"), "new", { get: true }), "old");
      assert.equal(await redis.get(k("a")), "new");
    });

    it("SET NX GET (Redis 7+): returns the old value and does not overwrite", async (t) => {
      const k = keyspace(t, "set-nx-get");
      assert.equal(await redis.set(k("a"), "first", { nx: true, get: true }), null);
      assert.equal(await redis.get(k("a")), "first");
      assert.equal(await redis.set(k("a"), "second", { nx: true, get: true }), "first");
      assert.equal(await redis.get(k("a")), "first");
    });

    it("SET XX GET with EX: returns the old value and applies the TTL", async (t) => {
      const k = keyspace(t, "set-xx-get");
      await redis.set(k("a"), "old");
      assert.equal(await redis.set(k("a"), "new", { xx: true, get: true, ex: 100 }), "old");
      assert.equal(await redis.get(k("a")), "new");
      const ttl = await redis.ttl(k("a"));
      assert.ok(ttl >= 98 && ttl <= 100, `ttl=${ttl}`);
    });

    it("SET with EX 0 is an error: invalid expire time", async (t) => {
      const k = keyspace(t, "set-ex0");
      const e = await rejects(redis.set(k("a"), "v", { ex: 0 }));
      assert.match(e.message, /ERR invalid expire time in 'set' command/);
      assert.equal(await redis.exists(k("a")), 0);
    });

    it("SET with NX and XX together is a syntax error", async (t) => {
      const k = keyspace(t, "set-nx-xx");
      const e = await rejects(redis.exec(["SET", k("a"), "v", "NX", "XX"]));
      assert.match(e.message, /ERR syntax error/);
    });

    it("SET option errors: non-integer EX, EX with KEEPTTL, out-of-range EX", async (t) => {
      const k = keyspace(t, "set-opt-errors");
      let e = await rejects(redis.exec(["SET", k("a"), "v", "EX", "abc"]));
      assert.match(e.message, NOT_INT);
      e = await rejects(redis.exec(["SET", k("a"), "v", "EX", "10", "KEEPTTL"]));
      assert.match(e.message, /ERR syntax error/);
      e = await rejects(redis.exec(["SET", k("a"), "v", "EX", "9223372036854775807"]));
      assert.match(e.message, /ERR invalid expire time in 'set' command/);
      e = await rejects(redis.exec(["SET", k("a"), "v", "PX", "-5"]));
      assert.match(e.message, /ERR invalid expire time in 'set' command/);
      assert.equal(await redis.exists(k("a")), 0);
    });

    it("GETEX with two expiry options is a syntax error", async (t) => {
      const k = keyspace(t, "getex-syntax");
      await redis.set(k("a"), "v");
      const e = await rejects(redis.exec(["GETEX", k("a"), "PERSIST", "EX", "10"]));
      assert.match(e.message, /ERR syntax error/);
    });

    it("GETEX without options returns the value and keeps the TTL", async (t) => {
      const k = keyspace(t, "getex-plain");
      await redis.set(k("a"), "v", { ex: 100 });
      assert.equal(await redis.getex(k("a")), "v");
      const ttl = await redis.ttl(k("a"));
      assert.ok(ttl >= 98 && ttl <= 100, `ttl=${ttl}`);
    });

    it("GETEX EX / PX / EXAT / PXAT / PERSIST", async (t) => {
      const k = keyspace(t, "getex-opts");
      await redis.set(k("a"), "v");
      assert.equal(await redis.getex(k("a"), { ex: 100 }), "v");
      let ttl = await redis.ttl(k("a"));
      assert.ok(ttl >= 98 && ttl <= 100, `EX ttl=${ttl}`);

      assert.equal(await redis.getex(k("a"), { px: 50000 }), "v");
      let pttl = await redis.pttl(k("a"));
      assert.ok(pttl > 48000 && pttl <= 50000, `PX pttl=${pttl}`);

      assert.equal(await redis.getex(k("a"), { exat: nowSec() + 200 }), "v");
      ttl = await redis.ttl(k("a"));
      assert.ok(ttl >= 197 && ttl <= 200, `EXAT ttl=${ttl}`);

      assert.equal(await redis.getex(k("a"), { pxat: Date.now() + 300000 }), "v");
      pttl = await redis.pttl(k("a"));
      assert.ok(pttl > 297000 && pttl <= 300000, `PXAT pttl=${pttl}`);

      assert.equal(await redis.getex(k("a"), { persist: true }), "v");
      assert.equal(await redis.ttl(k("a")), -1);
    });

    it("GETEX of a missing key is null", async (t) => {
      const k = keyspace(t, "getex-missing");
      assert.equal(await redis.getex(k("nope"), { ex: 10 }), null);
      assert.equal(await redis.exists(k("nope")), 0);
    });

    it("GETDEL returns the value and deletes the key", async (t) => {
      const k = keyspace(t, "getdel");
      await redis.set(k("a"), "v");
      assert.equal(await redis.getdel(k("a")), "v");
      assert.equal(await redis.get(k("a")), null);
      assert.equal(await redis.getdel(k("a")), null);
    });

    it("GETSET returns the old value, sets the new one and clears the TTL", async (t) => {
      const k = keyspace(t, "getset");
      assert.equal(await redis.getset(k("a"), "one"), null);
      await redis.expire(k("a"), 100);
      assert.equal(await redis.getset(k("a"), "two"), "one");
      assert.equal(await redis.get(k("a")), "two");
      assert.equal(await redis.ttl(k("a")), -1);
    });

    it("MSET / MGET (missing keys are null, values are deserialized)", async (t) => {
      const k = keyspace(t, "mset-mget");
      assert.equal(await redis.mset({ [k("a")]: "x", [k("b")]: 2, [k("c")]: { n: 1 } }), "OK");
      assert.deepEqual(await redis.mget(k("a"), k("b"), k("c"), k("missing")), [
        "x",
        2,
        { n: 1 },
        null,
      ]);
      // array form
      assert.deepEqual(await redis.mget([k("b"), k("a")]), [2, "x"]);
    });

    it("MGET of a key holding another type gives null, not an error", async (t) => {
      const k = keyspace(t, "mget-wrongtype");
      assert.equal(await redis.hset(k("h"), { f: "v" }), 1);
      await redis.set(k("s"), "v");
      assert.deepEqual(await redis.mget(k("s"), k("h")), ["v", null]);
    });

    it("MSETNX sets all keys or none", async (t) => {
      const k = keyspace(t, "msetnx");
      assert.equal(await redis.msetnx({ [k("a")]: "1", [k("b")]: "2" }), 1);
      assert.equal(await redis.msetnx({ [k("b")]: "x", [k("c")]: "3" }), 0);
      assert.deepEqual(await redis.mget(k("a"), k("b"), k("c")), [1, 2, null]);
    });

    it("SETNX returns 1 when set and 0 when the key exists", async (t) => {
      const k = keyspace(t, "setnx");
      assert.equal(await redis.setnx(k("a"), "first"), 1);
      assert.equal(await redis.setnx(k("a"), "second"), 0);
      assert.equal(await redis.get(k("a")), "first");
    });

    it("SETEX sets value and TTL; a zero TTL is an error", async (t) => {
      const k = keyspace(t, "setex");
      assert.equal(await redis.setex(k("a"), 100, "v"), "OK");
      assert.equal(await redis.get(k("a")), "v");
      const ttl = await redis.ttl(k("a"));
      assert.ok(ttl >= 98 && ttl <= 100, `ttl=${ttl}`);
      const e = await rejects(redis.setex(k("b"), 0, "v"));
      assert.match(e.message, /ERR invalid expire time in 'setex' command/);
    });

    it("PSETEX sets value and TTL in milliseconds", async (t) => {
      const k = keyspace(t, "psetex");
      assert.equal(await redis.psetex(k("a"), 100000, "v"), "OK");
      assert.equal(await redis.get(k("a")), "v");
      const pttl = await redis.pttl(k("a"));
      assert.ok(pttl > 98000 && pttl <= 100000, `pttl=${pttl}`);
    });

    it("APPEND returns the new length and creates missing keys", async (t) => {
      const k = keyspace(t, "append");
      assert.equal(await redis.append(k("a"), "Hello"), 5);
      assert.equal(await redis.append(k("a"), " World"), 11);
      assert.equal(await redis.get(k("a")), "Hello World");
    });

    it("STRLEN counts bytes (UTF-8) and is 0 for a missing key", async (t) => {
      const k = keyspace(t, "strlen");
      await redis.set(k("a"), "Hello World");
      assert.equal(await redis.strlen(k("a")), 11);
      await redis.set(k("u"), "héllo🚀"); // h é l l o 🚀 = 1+2+1+1+1+4 bytes
      assert.equal(await redis.strlen(k("u")), 10);
      assert.equal(await redis.strlen(k("missing")), 0);
    });

    it("GETRANGE with positive, negative and out-of-range indexes", async (t) => {
      const k = keyspace(t, "getrange");
      await redis.set(k("a"), "This is a string");
      assert.equal(await redis.getrange(k("a"), 0, 3), "This");
      assert.equal(await redis.getrange(k("a"), -3, -1), "ing");
      assert.equal(await redis.getrange(k("a"), 0, -1), "This is a string");
      assert.equal(await redis.getrange(k("a"), 10, 100), "string");
      assert.equal(await redis.getrange(k("a"), 5, 3), "");
      assert.equal(await redis.getrange(k("missing"), 0, 10), "");
    });

    it("SETRANGE overwrites part of a value and zero-pads missing space", async (t) => {
      const k = keyspace(t, "setrange");
      await redis.set(k("a"), "Hello World");
      assert.equal(await redis.setrange(k("a"), 6, "Redis"), 11);
      assert.equal(await redis.get(k("a")), "Hello Redis");
      assert.equal(await redis.setrange(k("b"), 3, "ab"), 5);
      assert.equal(await redis.get(k("b")), "\u0000\u0000\u0000ab");
    });

    it("SETRANGE with an empty value on a missing key creates nothing", async (t) => {
      const k = keyspace(t, "setrange-empty");
      assert.equal(await redis.setrange(k("a"), 5, ""), 0);
      assert.equal(await redis.exists(k("a")), 0);
    });

    it("APPEND, SETRANGE and INCRBYFLOAT keep the TTL", async (t) => {
      const k = keyspace(t, "modify-keeps-ttl");
      await redis.set(k("s"), "abc", { ex: 100 });
      await redis.set(k("f"), "1.5", { ex: 100 });
      await redis.append(k("s"), "def");
      await redis.setrange(k("s"), 0, "X");
      await redis.incrbyfloat(k("f"), 1);
      assert.equal(await redis.get(k("s")), "Xbcdef");
      for (const key of [k("s"), k("f")]) {
        const ttl = await redis.ttl(key);
        assert.ok(ttl >= 98 && ttl <= 100, `${key} ttl=${ttl}`);
      }
    });

    it("MSET with an odd number of arguments is an arity error", async (t) => {
      const k = keyspace(t, "mset-odd");
      const e = await rejects(redis.exec(["MSET", k("a"), "1", k("b")]));
      assert.match(e.message, /ERR wrong number of arguments for 'mset' command/);
      assert.equal(await redis.exists(k("a")), 0);
    });

    it("keys with base64 characters, spaces and unicode work", async (t) => {
      const k = keyspace(t, "odd-keys");
      const names = ["a+b/c==", "with space", "ünï/cödé", "percent%20sign", "q?x#y&z"];
      for (const n of names) assert.equal(await redis.set(k(n), n), "OK");
      for (const n of names) assert.equal(await redis.get(k(n)), n);
      assert.equal(await redis.exists(...names.map(k)), names.length);
      assert.deepEqual(sorted(await redis.keys(k("*"))), sorted(names.map(k)));
    });

    it("SETRANGE with a negative offset is an error", async (t) => {
      const k = keyspace(t, "setrange-neg");
      const e = await rejects(redis.setrange(k("a"), -1, "x"));
      assert.match(e.message, /ERR offset is out of range/);
    });

    it("INCR / INCRBY / DECR / DECRBY", async (t) => {
      const k = keyspace(t, "incr");
      assert.equal(await redis.incr(k("a")), 1);
      assert.equal(await redis.incr(k("a")), 2);
      assert.equal(await redis.incrby(k("a"), 10), 12);
      assert.equal(await redis.incrby(k("a"), -20), -8);
      assert.equal(await redis.decr(k("a")), -9);
      assert.equal(await redis.decrby(k("a"), 1), -10);
      assert.equal(await redis.decr(k("b")), -1);
      assert.equal(await redis.decrby(k("c"), 5), -5);
      assert.equal(await redis.get(k("a")), -10);
    });

    it("INCR keeps the TTL of the key", async (t) => {
      const k = keyspace(t, "incr-ttl");
      await redis.set(k("a"), 5, { ex: 100 });
      assert.equal(await redis.incr(k("a")), 6);
      const ttl = await redis.ttl(k("a"));
      assert.ok(ttl >= 98 && ttl <= 100, `ttl=${ttl}`);
    });

    it("INCR on a non-integer value is an error", async (t) => {
      const k = keyspace(t, "incr-notint");
      await redis.set(k("a"), "abc");
      assert.match((await rejects(redis.incr(k("a")))).message, NOT_INT);
      await redis.set(k("b"), "1.5");
      assert.match((await rejects(redis.incrby(k("b"), 1))).message, NOT_INT);
      assert.equal(await redis.get(k("a")), "abc");
    });

    it("INCR past the 64-bit range is an overflow error", async (t) => {
      const k = keyspace(t, "incr-overflow");
      await redis.set(k("a"), "9223372036854775807");
      const e = await rejects(redis.incr(k("a")));
      assert.match(e.message, /ERR increment or decrement would overflow/);
    });

    it("INCRBYFLOAT returns the new value (a bulk string the client parses)", async (t) => {
      const k = keyspace(t, "incrbyfloat");
      await redis.set(k("a"), 10.5);
      assert.equal(await redis.incrbyfloat(k("a"), 0.1), 10.6);
      assert.equal(await redis.incrbyfloat(k("a"), -5), 5.6);
      await redis.set(k("b"), "5.0e3");
      assert.equal(await redis.incrbyfloat(k("b"), 200), 5200);
      assert.equal(await redis.get(k("b")), 5200);
      assert.equal(await redis.incrbyfloat(k("c"), 2.5), 2.5);
    });

    it("INCRBYFLOAT formats like Redis (long double, 17 decimals, trailing zeros trimmed)", async (t) => {
      // Redis computes in long double and prints with %.17Lf, so 0.1 + 0.2 is "0.3", not the
      // f64 "0.30000000000000004"
      const k = keyspace(t, "incrbyfloat-format");
      await redis.set(k("a"), "0.1");
      assert.equal(await redis.incrbyfloat(k("a"), 0.2), 0.3);
      assert.equal(await redis.exec(["GET", k("a")]), 0.3);
      const plain = newRedis({ ...mode.opts, automaticDeserialization: false });
      assert.equal(await plain.get(k("a")), "0.3");
      await redis.set(k("b"), "1.5");
      assert.equal(await plain.incrbyfloat(k("b"), 1.5), "3");
    });

    it("INCRBYFLOAT on a non-number is an error", async (t) => {
      const k = keyspace(t, "incrbyfloat-bad");
      await redis.set(k("a"), "abc");
      const e = await rejects(redis.incrbyfloat(k("a"), 1));
      assert.match(e.message, /ERR value is not a valid float/);
    });

    it("string commands on a key of another type fail with WRONGTYPE", async (t) => {
      const k = keyspace(t, "wrongtype");
      assert.equal(await redis.hset(k("h"), { f: "v" }), 1);
      for (const f of [
        () => redis.get(k("h")),
        () => redis.incr(k("h")),
        () => redis.append(k("h"), "x"),
        () => redis.strlen(k("h")),
        () => redis.getrange(k("h"), 0, 1),
        () => redis.set(k("h"), "v", { get: true }),
      ]) {
        assert.match((await rejects(f())).message, WRONGTYPE);
      }
      // plain SET replaces a key of any type
      assert.equal(await redis.set(k("h"), "now a string"), "OK");
      assert.equal(await redis.type(k("h")), "string");
    });
  });
}
