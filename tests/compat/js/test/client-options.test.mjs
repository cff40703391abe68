// Response encoding (base64 on/off), automatic deserialization, read-your-writes sync tokens,
// the read-only token and error classes, as seen through @upstash/redis.

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { errors } from "@upstash/redis";
import { MODES, RO_TOKEN, keyspace, newRedis, rejects } from "./helpers.mjs";

const NOPERM = /NOPERM/;

const tricky = {
  unicode: "héllo wörld — ünïcödé",
  emoji: "🚀🔥 emoji 👍🏽",
  cjk: "你好，世界",
  quotes: 'he said "hi"\n\tand left \\ ok',
  okString: "OK",
  eight: "8",
  base64ish: "T0s=",
  commaNumbers: Array.from({ length: 200 }, (_, i) => i).join(","),
  spaces: "  padded  ",
  empty: "",
};

for (const [label, opts] of [
  ["base64 responses (default)", {}],
  ["plain JSON responses (responseEncoding: false)", { responseEncoding: false }],
]) {
  describe(`value round-trips — ${label}`, () => {
    for (const mode of MODES) {
      const redis = newRedis({ ...opts, ...mode.opts });

      it(`strings survive SET/GET and MGET — ${mode.name}`, async (t) => {
        const k = keyspace(t, "roundtrip");
        for (const [name, value] of Object.entries(tricky)) {
          assert.equal(await redis.set(k(name), value), "OK");
        }
        for (const [name, value] of Object.entries(tricky)) {
          // "8" is JSON, so automatic deserialization turns it into a number
          const want = name === "eight" ? 8 : value;
          assert.deepEqual(await redis.get(k(name)), want, name);
        }
        const names = Object.keys(tricky);
        const got = await redis.mget(...names.map(k));
        assert.deepEqual(
          got,
          names.map((n) => (n === "eight" ? 8 : tricky[n])),
        );
      });

      it(`JSON values are stored as JSON text and deserialized — ${mode.name}`, async (t) => {
        const k = keyspace(t, "json");
        const values = {
          object: { a: 1, b: { c: [1, "two", null, true] } },
          array: [1, 2, { three: 3 }],
          int: 42,
          negative: -17,
          float: 12.5,
          t: true,
          f: false,
        };
        for (const [name, value] of Object.entries(values)) await redis.set(k(name), value);
        for (const [name, value] of Object.entries(values)) {
          assert.deepEqual(await redis.get(k(name)), value, name);
        }
        // what is stored is the JSON text, byte for byte
        const plain = newRedis({ ...opts, automaticDeserialization: false, enableAutoPipelining: false });
        assert.equal(await plain.get(k("object")), '{"a":1,"b":{"c":[1,"two",null,true]}}');
        assert.equal(await plain.get(k("float")), "12.5");
        assert.equal(await plain.get(k("t")), "true");
      });

      it(`PING, TYPE, TIME and a large value decode correctly — ${mode.name}`, async (t) => {
        const k = keyspace(t, "misc");
        assert.equal(await redis.ping(), "PONG");
        await redis.set(k("a"), "v");
        assert.equal(await redis.type(k("a")), "string");
        const [sec] = await redis.time();
        assert.ok(Math.abs(sec - Date.now() / 1000) < 60);
        const big = "x".repeat(200_000) + "é";
        await redis.set(k("big"), big);
        assert.equal(await redis.get(k("big")), big);
        assert.equal(await redis.strlen(k("big")), 200_002);
      });
    }
  });
}

describe("automaticDeserialization: false", () => {
  const redis = newRedis({ automaticDeserialization: false });

  it("returns stored strings verbatim; integer replies stay numbers", async (t) => {
    const k = keyspace(t, "nodeser");
    await redis.set(k("obj"), { a: 1 });
    await redis.set(k("n"), 42);
    assert.equal(await redis.get(k("obj")), '{"a":1}');
    assert.equal(await redis.get(k("n")), "42");
    assert.equal(await redis.incr(k("n")), 43);
    assert.deepEqual(await redis.mget(k("obj"), k("n"), k("missing")), ['{"a":1}', "43", null]);
    assert.equal(await redis.incrbyfloat(k("n"), 0.5), "43.5");
  });
});

describe("read-your-writes sync token", () => {
  for (const mode of MODES) {
    it(`every write changes the client's sync token — ${mode.name}`, async (t) => {
      const k = keyspace(t, "sync");
      const redis = newRedis(mode.opts);
      assert.equal(redis.readYourWritesSyncToken, "");
      await redis.set(k("a"), "1");
      const t1 = redis.readYourWritesSyncToken;
      assert.ok(t1, "a token is stored after the first response");
      await redis.set(k("a"), "2");
      const t2 = redis.readYourWritesSyncToken;
      assert.ok(t2);
      assert.notEqual(t2, t1, "token changes after a write");
      await redis.incr(k("a"));
      const t3 = redis.readYourWritesSyncToken;
      assert.ok(t3);
      assert.notEqual(t3, t2);
      await redis.get(k("a"));
      assert.ok(redis.readYourWritesSyncToken, "reads also return a token");
    });
  }

  it("pipelines and transactions update the token", async (t) => {
    const k = keyspace(t, "sync-pipe");
    const redis = newRedis();
    await redis.set(k("a"), "0");
    const t0 = redis.readYourWritesSyncToken;
    await redis.pipeline().set(k("a"), "1").incr(k("a")).exec();
    const t1 = redis.readYourWritesSyncToken;
    assert.ok(t1);
    assert.notEqual(t1, t0);
    await redis.multi().set(k("a"), "1").incr(k("a")).exec();
    const t2 = redis.readYourWritesSyncToken;
    assert.ok(t2);
    assert.notEqual(t2, t1);
  });

  it("an arbitrary incoming token is accepted and replaced by the server's", async (t) => {
    const k = keyspace(t, "sync-junk");
    const redis = newRedis({ enableAutoPipelining: false });
    redis.readYourWritesSyncToken = "my-new-sync-token";
    assert.equal(await redis.set(k("a"), "v"), "OK");
    assert.ok(redis.readYourWritesSyncToken);
    assert.notEqual(redis.readYourWritesSyncToken, "my-new-sync-token");
    assert.equal(await redis.get(k("a")), "v");
  });

  it("a token can be carried over to another client instance", async (t) => {
    const k = keyspace(t, "sync-share");
    const writer = newRedis();
    await writer.set(k("a"), "shared");
    const reader = newRedis();
    reader.readYourWritesSyncToken = writer.readYourWritesSyncToken;
    assert.equal(await reader.get(k("a")), "shared");
  });
});

describe("read-only token", { skip: RO_TOKEN ? false : "LARDER_READ_ONLY_TOKEN not set" }, () => {
  for (const mode of MODES) {
    it(`reads succeed, writes are refused with NOPERM — ${mode.name}`, async (t) => {
      const k = keyspace(t, "ro");
      const rw = newRedis();
      await rw.set(k("a"), "value");
      await rw.set(k("n"), "5", { ex: 100 });
      const ro = newRedis({ ...mode.opts, token: RO_TOKEN });

      assert.equal(await ro.get(k("a")), "value");
      assert.deepEqual(await ro.mget(k("a"), k("n")), ["value", 5]);
      assert.equal(await ro.exists(k("a"), k("missing")), 1);
      assert.ok((await ro.ttl(k("n"))) > 0);
      assert.equal(await ro.strlen(k("a")), 5);
      assert.equal(await ro.getrange(k("a"), 0, 1), "va");
      assert.equal(await ro.type(k("a")), "string");
      assert.equal(await ro.ping(), "PONG");
      assert.equal(await ro.echo("hi"), "hi");

      for (const [name, f] of [
        ["set", () => ro.set(k("a"), "changed")],
        ["del", () => ro.del(k("a"))],
        ["incr", () => ro.incr(k("n"))],
        ["expire", () => ro.expire(k("a"), 10)],
        ["getdel", () => ro.getdel(k("a"))],
        ["mset", () => ro.mset({ [k("x")]: 1 })],
        ["flushdb", () => ro.flushdb()],
        ["flushall", () => ro.flushall()],
      ]) {
        const e = await rejects(f());
        assert.match(e.message, NOPERM, name);
      }
      assert.equal(await rw.get(k("a")), "value");
      assert.equal(await rw.get(k("n")), 5);
      assert.equal(await rw.exists(k("x")), 0);
    });
  }

  it("in a pipeline only the write fails (per-command NOPERM)", async (t) => {
    const k = keyspace(t, "ro-pipe");
    await newRedis().set(k("a"), "value");
    const ro = newRedis({ token: RO_TOKEN });
    const res = await ro.pipeline().get(k("a")).set(k("a"), "changed").exec({ keepErrors: true });
    assert.equal(res[0].result, "value");
    assert.match(res[1].error, NOPERM);
    assert.equal(await newRedis().get(k("a")), "value");
  });

  it("a transaction containing a write is refused", async (t) => {
    const k = keyspace(t, "ro-multi");
    await newRedis().set(k("a"), "value");
    const ro = newRedis({ token: RO_TOKEN });
    // per-command NOPERM, or the whole transaction refused (NOPERM / EXECABORT): nothing is written
    const e = await rejects(ro.multi().get(k("a")).set(k("a"), "changed").exec());
    assert.match(e.message, /NOPERM|EXECABORT/);
    assert.equal(await newRedis().get(k("a")), "value");
  });
});

describe("errors", () => {
  for (const mode of MODES) {
    it(`command errors are UpstashError instances carrying Redis' text — ${mode.name}`, async (t) => {
      const k = keyspace(t, "errors");
      const redis = newRedis(mode.opts);
      await redis.set(k("a"), "not a number");
      const e = await rejects(redis.incr(k("a")));
      assert.ok(e instanceof errors.UpstashError, `got ${e?.name}`);
      assert.match(e.message, /ERR value is not an integer or out of range/);
      // the client keeps working after an error
      assert.equal(await redis.get(k("a")), "not a number");
    });
  }

  it("a wrong token makes every command fail (HTTP 401)", async () => {
    const bad = newRedis({ token: "definitely-not-the-token", enableAutoPipelining: false });
    const e = await rejects(bad.get("compat:js:any"));
    assert.ok(e instanceof errors.UpstashError, `got ${e?.name}: ${e?.message}`);
    const bad2 = newRedis({ token: "definitely-not-the-token" });
    await rejects(bad2.get("compat:js:any"));
  });
});
