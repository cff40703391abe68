// Generic key commands and connection/server commands through @upstash/redis, in both
// transport modes. DBSIZE / RANDOMKEY / FLUSHDB / FLUSHALL live in zz-flush.test.mjs.

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { MODES, keyspace, newRedis, rejects, sleep } from "./helpers.mjs";

const nowSec = () => Math.floor(Date.now() / 1000);
const sorted = (a) => [...a].sort();

for (const mode of MODES) {
  describe(`generic — ${mode.name}`, () => {
    const redis = newRedis(mode.opts);

    it("DEL / UNLINK return the number of keys removed", async (t) => {
      const k = keyspace(t, "del");
      await redis.mset({ [k("a")]: 1, [k("b")]: 2, [k("c")]: 3, [k("d")]: 4 });
      assert.equal(await redis.del(k("a"), k("b"), k("missing")), 2);
      assert.equal(await redis.unlink(k("c"), k("d"), k("missing")), 2);
      assert.equal(await redis.exists(k("a"), k("b"), k("c"), k("d")), 0);
      assert.equal(await redis.del(k("a")), 0);
    });

    it("UNLINK with no keys returns 0 (Upstash; stock Redis answers an arity error)", async () => {
      // redis-rest.md §10 (from SRH's list of Upstash-only semantics); the JS client sends
      // ["unlink"] for redis.unlink()
      assert.equal(await redis.unlink(), 0);
    });

    it("EXISTS counts every argument, duplicates included", async (t) => {
      const k = keyspace(t, "exists");
      await redis.set(k("a"), "v");
      assert.equal(await redis.exists(k("a")), 1);
      assert.equal(await redis.exists(k("a"), k("a"), k("missing")), 2);
      assert.equal(await redis.exists(k("missing")), 0);
    });

    it("TTL / PTTL: -2 for a missing key, -1 for a key without expiry", async (t) => {
      const k = keyspace(t, "ttl");
      await redis.set(k("a"), "v");
      assert.equal(await redis.ttl(k("a")), -1);
      assert.equal(await redis.pttl(k("a")), -1);
      assert.equal(await redis.ttl(k("missing")), -2);
      assert.equal(await redis.pttl(k("missing")), -2);
    });

    it("EXPIRE / PEXPIRE set a TTL and return 1; 0 for a missing key", async (t) => {
      const k = keyspace(t, "expire");
      await redis.set(k("a"), "v");
      assert.equal(await redis.expire(k("a"), 100), 1);
      const ttl = await redis.ttl(k("a"));
      assert.ok(ttl >= 98 && ttl <= 100, `ttl=${ttl}`);
      assert.equal(await redis.pexpire(k("a"), 50000), 1);
      const pttl = await redis.pttl(k("a"));
      assert.ok(pttl > 48000 && pttl <= 50000, `pttl=${pttl}`);
      assert.equal(await redis.expire(k("missing"), 100), 0);
      assert.equal(await redis.pexpire(k("missing"), 100), 0);
    });

    it("TTL rounds the remaining time to the nearest second", async (t) => {
      const k = keyspace(t, "ttl-round");
      await redis.set(k("a"), "v", { px: 1900 });
      assert.equal(await redis.ttl(k("a")), 2);
      await redis.set(k("b"), "v", { px: 1200 });
      assert.equal(await redis.ttl(k("b")), 1);
    });

    it("EXPIRE with a non-positive TTL deletes the key", async (t) => {
      const k = keyspace(t, "expire-neg");
      await redis.set(k("a"), "v");
      assert.equal(await redis.expire(k("a"), -1), 1);
      assert.equal(await redis.exists(k("a")), 0);
    });

    it("PEXPIRE: the key disappears after the TTL", async (t) => {
      const k = keyspace(t, "pexpire-wait");
      await redis.set(k("a"), "v");
      assert.equal(await redis.pexpire(k("a"), 150), 1);
      await sleep(400);
      assert.equal(await redis.get(k("a")), null);
      assert.equal(await redis.ttl(k("a")), -2);
    });

    it("EXPIRE NX / XX", async (t) => {
      const k = keyspace(t, "expire-nx-xx");
      await redis.set(k("a"), "v");
      assert.equal(await redis.expire(k("a"), 100, "XX"), 0, "XX without a TTL");
      assert.equal(await redis.ttl(k("a")), -1);
      assert.equal(await redis.expire(k("a"), 100, "NX"), 1, "NX without a TTL");
      assert.equal(await redis.expire(k("a"), 200, "NX"), 0, "NX with a TTL");
      assert.ok((await redis.ttl(k("a"))) <= 100);
      assert.equal(await redis.expire(k("a"), 200, "XX"), 1, "XX with a TTL");
      assert.ok((await redis.ttl(k("a"))) > 100);
    });

    it("EXPIRE GT / LT (a key without TTL counts as infinite)", async (t) => {
      const k = keyspace(t, "expire-gt-lt");
      await redis.set(k("a"), "v");
      assert.equal(await redis.expire(k("a"), 100, "GT"), 0, "GT against no TTL");
      assert.equal(await redis.ttl(k("a")), -1);
      assert.equal(await redis.expire(k("a"), 100, "LT"), 1, "LT against no TTL");
      assert.equal(await redis.expire(k("a"), 50, "GT"), 0, "GT smaller");
      assert.equal(await redis.expire(k("a"), 200, "GT"), 1, "GT larger");
      assert.equal(await redis.expire(k("a"), 300, "LT"), 0, "LT larger");
      assert.equal(await redis.expire(k("a"), 150, "LT"), 1, "LT smaller");
      const ttl = await redis.ttl(k("a"));
      assert.ok(ttl >= 148 && ttl <= 150, `ttl=${ttl}`);
    });

    it("PEXPIRE / EXPIREAT / PEXPIREAT accept NX XX GT LT too (lower case, as the client sends)", async (t) => {
      const k = keyspace(t, "expire-variants-opts");
      await redis.set(k("a"), "v");
      assert.equal(await redis.pexpire(k("a"), 100000, "xx"), 0);
      assert.equal(await redis.pexpire(k("a"), 100000, "nx"), 1);
      assert.equal(await redis.expireat(k("a"), nowSec() + 50, "gt"), 0);
      assert.equal(await redis.expireat(k("a"), nowSec() + 50, "lt"), 1);
      assert.equal(await redis.pexpireat(k("a"), Date.now() + 500000, "lt"), 0);
      assert.equal(await redis.pexpireat(k("a"), Date.now() + 500000, "gt"), 1);
      const ttl = await redis.ttl(k("a"));
      assert.ok(ttl >= 497 && ttl <= 500, `ttl=${ttl}`);
    });

    it("expired keys are invisible to GET EXISTS TYPE TTL TOUCH KEYS SCAN MGET", async (t) => {
      const k = keyspace(t, "expired-invisible");
      await redis.set(k("gone"), "v", { px: 100 });
      await redis.set(k("kept"), "v");
      await sleep(300);
      assert.equal(await redis.exists(k("gone")), 0);
      assert.equal(await redis.type(k("gone")), "none");
      assert.equal(await redis.ttl(k("gone")), -2);
      assert.equal(await redis.touch(k("gone"), k("kept")), 1);
      assert.deepEqual(await redis.keys(k("*")), [k("kept")]);
      const [, keys] = await redis.scan(0, { match: k("*"), count: 1000 });
      assert.ok(!keys.includes(k("gone")), `SCAN returned ${keys}`);
      assert.deepEqual(await redis.mget(k("gone"), k("kept")), [null, "v"]);
      assert.equal(await redis.get(k("gone")), null);
    });

    it("EXPIRE with an out-of-range TTL is an error", async (t) => {
      const k = keyspace(t, "expire-overflow");
      await redis.set(k("a"), "v");
      const e = await rejects(redis.exec(["EXPIRE", k("a"), "9223372036854775807"]));
      assert.match(e.message, /ERR invalid expire time in 'expire' command/);
      assert.equal(await redis.ttl(k("a")), -1);
    });

    it("EXPIRE with incompatible options is an error", async (t) => {
      const k = keyspace(t, "expire-bad-opts");
      await redis.set(k("a"), "v");
      let e = await rejects(redis.exec(["EXPIRE", k("a"), "100", "NX", "XX"]));
      assert.match(e.message, /ERR NX and XX, GT or LT options at the same time are not compatible/);
      e = await rejects(redis.exec(["EXPIRE", k("a"), "100", "GT", "LT"]));
      assert.match(e.message, /ERR GT and LT options at the same time are not compatible/);
      e = await rejects(redis.exec(["EXPIRE", k("a"), "soon"]));
      assert.match(e.message, /ERR value is not an integer or out of range/);
    });

    it("EXPIREAT / PEXPIREAT set absolute expiries; EXPIRETIME / PEXPIRETIME read them", async (t) => {
      const k = keyspace(t, "expireat");
      await redis.mset({ [k("a")]: 1, [k("b")]: 2 });
      const at = nowSec() + 1000;
      assert.equal(await redis.expireat(k("a"), at), 1);
      assert.equal(await redis.exec(["EXPIRETIME", k("a")]), at);
      assert.equal(await redis.exec(["PEXPIRETIME", k("a")]), at * 1000);

      // 700 ms past a whole second: Redis rounds to the nearest second ((ms + 500) / 1000)
      const sec = nowSec() + 2000;
      const pat = sec * 1000 + 700;
      assert.equal(await redis.pexpireat(k("b"), pat), 1);
      assert.equal(await redis.exec(["PEXPIRETIME", k("b")]), pat);
      assert.equal(await redis.exec(["EXPIRETIME", k("b")]), sec + 1);

      assert.equal(await redis.expireat(k("missing"), at), 0);
    });

    it("EXPIRETIME / PEXPIRETIME: -1 without expiry, -2 for a missing key", async (t) => {
      const k = keyspace(t, "expiretime-neg");
      await redis.set(k("a"), "v");
      assert.equal(await redis.exec(["EXPIRETIME", k("a")]), -1);
      assert.equal(await redis.exec(["PEXPIRETIME", k("a")]), -1);
      assert.equal(await redis.exec(["EXPIRETIME", k("missing")]), -2);
      assert.equal(await redis.exec(["PEXPIRETIME", k("missing")]), -2);
    });

    it("EXPIREAT in the past deletes the key", async (t) => {
      const k = keyspace(t, "expireat-past");
      await redis.set(k("a"), "v");
      assert.equal(await redis.expireat(k("a"), nowSec() - 10), 1);
      assert.equal(await redis.exists(k("a")), 0);
    });

    it("PERSIST removes the TTL: 1 when removed, 0 otherwise", async (t) => {
      const k = keyspace(t, "persist");
      await redis.set(k("a"), "v", { ex: 100 });
      assert.equal(await redis.persist(k("a")), 1);
      assert.equal(await redis.ttl(k("a")), -1);
      assert.equal(await redis.persist(k("a")), 0);
      assert.equal(await redis.persist(k("missing")), 0);
    });

    it("TYPE of a string is 'string', of a missing key 'none'", async (t) => {
      const k = keyspace(t, "type");
      await redis.set(k("a"), "v");
      assert.equal(await redis.type(k("a")), "string");
      assert.equal(await redis.type(k("missing")), "none");
    });

    it("TYPE of a hash is 'hash'", async (t) => {
      const k = keyspace(t, "type-hash");
      assert.equal(await redis.hset(k("h"), { f: "v" }), 1);
      assert.equal(await redis.type(k("h")), "hash");
    });

    it("RENAME moves value and TTL, overwriting the destination", async (t) => {
      const k = keyspace(t, "rename");
      await redis.set(k("a"), "va", { ex: 100 });
      await redis.set(k("b"), "vb");
      assert.equal(await redis.rename(k("a"), k("b")), "OK");
      assert.equal(await redis.get(k("a")), null);
      assert.equal(await redis.get(k("b")), "va");
      const ttl = await redis.ttl(k("b"));
      assert.ok(ttl >= 98 && ttl <= 100, `ttl=${ttl}`);
    });

    it("RENAME of a missing key is 'ERR no such key'", async (t) => {
      const k = keyspace(t, "rename-missing");
      const e = await rejects(redis.rename(k("missing"), k("b")));
      assert.match(e.message, /ERR no such key/);
    });

    it("RENAME onto itself is OK, RENAMENX onto itself is 0", async (t) => {
      const k = keyspace(t, "rename-self");
      await redis.set(k("a"), "v");
      assert.equal(await redis.rename(k("a"), k("a")), "OK");
      assert.equal(await redis.renamenx(k("a"), k("a")), 0);
      assert.equal(await redis.get(k("a")), "v");
    });

    it("RENAMENX renames only when the destination is free", async (t) => {
      const k = keyspace(t, "renamenx");
      await redis.mset({ [k("a")]: "va", [k("b")]: "vb" });
      assert.equal(await redis.renamenx(k("a"), k("b")), 0);
      assert.deepEqual(await redis.mget(k("a"), k("b")), ["va", "vb"]);
      assert.equal(await redis.renamenx(k("a"), k("c")), 1);
      assert.deepEqual(await redis.mget(k("a"), k("c")), [null, "va"]);
      const e = await rejects(redis.renamenx(k("missing"), k("d")));
      assert.match(e.message, /ERR no such key/);
    });

    it("KEYS with glob patterns (? * [ae] [^e] [a-b])", async (t) => {
      const k = keyspace(t, "keys");
      const names = ["hello", "hallo", "hxllo", "hllo", "heeeello"];
      await redis.mset(Object.fromEntries(names.map((n) => [k(n), 1])));
      assert.deepEqual(sorted(await redis.keys(k("*"))), sorted(names.map(k)));
      assert.deepEqual(sorted(await redis.keys(k("h?llo"))), sorted(["hello", "hallo", "hxllo"].map(k)));
      assert.deepEqual(sorted(await redis.keys(k("h*llo"))), sorted(names.map(k)));
      assert.deepEqual(sorted(await redis.keys(k("h[ae]llo"))), sorted(["hello", "hallo"].map(k)));
      assert.deepEqual(sorted(await redis.keys(k("h[^e]llo"))), sorted(["hallo", "hxllo"].map(k)));
      assert.deepEqual(await redis.keys(k("h[a-b]llo")), [k("hallo")]);
      assert.deepEqual(await redis.keys(k("nothing*")), []);
    });

    it("SCAN with MATCH and COUNT visits every key; the final cursor is '0'", async (t) => {
      const k = keyspace(t, "scan");
      const names = Array.from({ length: 25 }, (_, i) => k(`key${i}`));
      await redis.mset(Object.fromEntries(names.map((n) => [n, "v"])));
      const seen = new Set();
      let cursor = "0";
      let rounds = 0;
      do {
        const [next, keys] = await redis.scan(cursor, { match: k("*"), count: 5 });
        assert.equal(typeof next, "string", "the client keeps the cursor as a string");
        for (const key of keys) seen.add(key);
        cursor = next;
        rounds += 1;
        assert.ok(rounds < 10000, "SCAN did not terminate");
      } while (cursor !== "0");
      assert.deepEqual(sorted(seen), sorted(names));
    });

    it("SCAN TYPE filters by type", async (t) => {
      const k = keyspace(t, "scan-type");
      await redis.mset({ [k("s1")]: "v", [k("s2")]: "v" });
      assert.equal(await redis.hset(k("h"), { f: "v" }), 1);
      const collect = async (type) => {
        const seen = new Set();
        let cursor = "0";
        do {
          const [next, keys] = await redis.scan(cursor, { match: k("*"), count: 100, type });
          keys.forEach((x) => seen.add(x));
          cursor = next;
        } while (cursor !== "0");
        return sorted(seen);
      };
      assert.deepEqual(await collect("string"), [k("s1"), k("s2")]);
      assert.deepEqual(await collect("hash"), [k("h")]);
    });

    it("TYPE, SCAN TYPE, COPY, RENAME and EXPIRE work on every collection type", async (t) => {
      const k = keyspace(t, "collections");
      await redis.rpush(k("l"), "a", "b");
      await redis.sadd(k("s"), "x");
      await redis.zadd(k("z"), { score: 1, member: "m" });
      await redis.hset(k("h"), { f: "v" });
      const types = { l: "list", s: "set", z: "zset", h: "hash" };
      for (const [name, type] of Object.entries(types)) {
        assert.equal(await redis.type(k(name)), type);
        const [, keys] = await redis.scan(0, { match: k("*"), count: 1000, type });
        assert.deepEqual(keys, [k(name)], type);
        assert.equal(await redis.copy(k(name), k(`${name}-copy`)), "COPIED");
        assert.equal(await redis.expire(k(`${name}-copy`), 100), 1);
      }
      assert.deepEqual(await redis.lrange(k("l-copy"), 0, -1), ["a", "b"]);
      assert.deepEqual(await redis.smembers(k("s-copy")), ["x"]);
      assert.deepEqual(await redis.zrange(k("z-copy"), 0, -1, { withScores: true }), ["m", 1]);
      assert.deepEqual(await redis.hgetall(k("h-copy")), { f: "v" });
      // the copies are independent of their sources
      await redis.rpush(k("l"), "c");
      assert.equal(await redis.llen(k("l-copy")), 2);
      assert.equal(await redis.rename(k("z"), k("z2")), "OK");
      assert.equal(await redis.zscore(k("z2"), "m"), 1);
      const ttl = await redis.ttl(k("h-copy"));
      assert.ok(ttl >= 98 && ttl <= 100, `ttl=${ttl}`);
      // modifying a collection keeps its TTL
      await redis.hset(k("h-copy"), { g: "w" });
      assert.ok((await redis.ttl(k("h-copy"))) > 0);
    });

    it("TOUCH returns the number of existing keys", async (t) => {
      const k = keyspace(t, "touch");
      await redis.mset({ [k("a")]: 1, [k("b")]: 2 });
      assert.equal(await redis.touch(k("a"), k("b"), k("missing")), 2);
    });

    it("COPY copies value and TTL; REPLACE overwrites; the client maps 1/0 to COPIED/NOT_COPIED", async (t) => {
      const k = keyspace(t, "copy");
      await redis.set(k("src"), "v", { ex: 100 });
      assert.equal(await redis.copy(k("src"), k("dst")), "COPIED");
      assert.equal(await redis.get(k("dst")), "v");
      const ttl = await redis.ttl(k("dst"));
      assert.ok(ttl >= 98 && ttl <= 100, `ttl=${ttl}`);
      await redis.set(k("src"), "v2");
      assert.equal(await redis.copy(k("src"), k("dst")), "NOT_COPIED");
      assert.equal(await redis.get(k("dst")), "v");
      assert.equal(await redis.copy(k("src"), k("dst"), { replace: true }), "COPIED");
      assert.equal(await redis.get(k("dst")), "v2");
      assert.equal(await redis.ttl(k("dst")), -1);
      assert.equal(await redis.copy(k("missing"), k("dst2")), "NOT_COPIED");
    });

    it("COPY onto the same key gives 0 (Upstash; stock Redis answers an error)", async (t) => {
      const k = keyspace(t, "copy-same");
      await redis.set(k("a"), "v");
      assert.equal(await redis.copy(k("a"), k("a")), "NOT_COPIED");
      assert.equal(await redis.get(k("a")), "v");
    });

    it("PING / PING message / ECHO", async () => {
      assert.equal(await redis.ping(), "PONG");
      assert.equal(await redis.ping(["hello world"]), "hello world");
      assert.equal(await redis.echo("hello"), "hello");
      assert.equal(await redis.echo("héllo 🚀"), "héllo 🚀");
    });

    it("PING with two arguments is an arity error", async () => {
      const e = await rejects(redis.exec(["PING", "a", "b"]));
      assert.match(e.message, /ERR wrong number of arguments for 'ping' command/);
    });

    it("TIME returns [seconds, microseconds] close to the local clock", async () => {
      const [sec, micros] = await redis.time();
      assert.equal(typeof sec, "number");
      assert.equal(typeof micros, "number");
      assert.ok(Math.abs(sec - Date.now() / 1000) < 60, `sec=${sec}`);
      assert.ok(Number.isInteger(micros) && micros >= 0 && micros < 1_000_000, `micros=${micros}`);
    });
  });
}
