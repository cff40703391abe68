// Bitmap and HyperLogLog commands through @upstash/redis, in both transport modes. Expected values are
// Redis 7's (BITOP DIFF/DIFF1/ANDOR/ONE: Redis 8.2's), as the client returns them.

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { MODES, keyspace, newRedis, rejects } from "./helpers.mjs";

const WRONGTYPE_HLL = /WRONGTYPE Key is not a valid HyperLogLog string value\./;

for (const mode of MODES) {
  describe(`bitmaps and HyperLogLog — ${mode.name}`, () => {
    const redis = newRedis(mode.opts);

    it("SETBIT/GETBIT answer the previous and current bit; the string grows with zero bytes", async (t) => {
      const k = keyspace(t, "setbit");
      assert.equal(await redis.setbit(k("b"), 7, 1), 0);
      assert.equal(await redis.setbit(k("b"), 7, 1), 1);
      assert.equal(await redis.getbit(k("b"), 7), 1);
      assert.equal(await redis.getbit(k("b"), 100), 0);
      assert.equal(await redis.setbit(k("b"), 23, 1), 0);
      assert.equal(await redis.strlen(k("b")), 3);
    });

    it("BITCOUNT and BITPOS over the whole string and byte ranges", async (t) => {
      const k = keyspace(t, "bitcount");
      await redis.set(k("s"), "foobar");
      assert.equal(await redis.bitcount(k("s")), 26);
      assert.equal(await redis.bitcount(k("s"), 1, 1), 6);
      assert.equal(await redis.bitcount(k("missing")), 0);
      await redis.setbit(k("b"), 20, 1);
      assert.equal(await redis.bitpos(k("b"), 1), 20);
      assert.equal(await redis.bitpos(k("b"), 1, 3), -1);
      assert.equal(await redis.bitpos(k("b"), 0), 0);
    });

    it("BITOP AND/OR/XOR/NOT and 8.2's DIFF/DIFF1/ANDOR/ONE store the result and answer its length", async (t) => {
      const k = keyspace(t, "bitop");
      await redis.setbit(k("x"), 0, 1);
      await redis.setbit(k("x"), 1, 1);
      await redis.setbit(k("y"), 1, 1);
      await redis.setbit(k("y"), 15, 1);
      assert.equal(await redis.bitop("and", k("d"), k("x"), k("y")), 2);
      assert.equal(await redis.bitcount(k("d")), 1);
      assert.equal(await redis.bitop("or", k("d"), k("x"), k("y")), 2);
      assert.equal(await redis.bitcount(k("d")), 3);
      assert.equal(await redis.bitop("xor", k("d"), k("x"), k("y")), 2);
      assert.equal(await redis.bitcount(k("d")), 2);
      assert.equal(await redis.bitop("not", k("d"), k("x")), 1);
      assert.equal(await redis.bitcount(k("d")), 6);
      assert.equal(await redis.bitop("diff", k("d"), k("x"), k("y")), 2);
      assert.equal(await redis.getbit(k("d"), 0), 1);
      assert.equal(await redis.bitcount(k("d")), 1);
      assert.equal(await redis.bitop("diff1", k("d"), k("x"), k("y")), 2);
      assert.equal(await redis.getbit(k("d"), 15), 1);
      assert.equal(await redis.bitcount(k("d")), 1);
      assert.equal(await redis.bitop("andor", k("d"), k("x"), k("y")), 2);
      assert.equal(await redis.getbit(k("d"), 1), 1);
      assert.equal(await redis.bitcount(k("d")), 1);
      assert.equal(await redis.bitop("one", k("d"), k("x"), k("y")), 2);
      assert.equal(await redis.bitcount(k("d")), 2);
    });

    it("BITFIELD chains SET/INCRBY/GET with OVERFLOW policies", async (t) => {
      const k = keyspace(t, "bitfield");
      // The builder is not reachable through the auto-pipelining proxy (a client-side limitation of
      // @upstash/redis 1.39: `bitfield(...)` comes back as a promise there), so this uses a plain client.
      const plain = newRedis({ ...mode.opts, enableAutoPipelining: false });
      const r = await plain
        .bitfield(k("f"))
        .set("i8", 0, 100)
        .incrby("i8", 0, 100)
        .overflow("SAT")
        .incrby("i8", 0, -300)
        .overflow("FAIL")
        .incrby("i8", 0, -1)
        .get("u8", "#0")
        .exec();
      assert.deepEqual(r, [0, -56, -128, null, 128]);
      assert.equal(await redis.strlen(k("f")), 1);
    });

    it("BITFIELD inside an explicit pipeline", async (t) => {
      const k = keyspace(t, "bitfield-pipeline");
      const p = redis.pipeline();
      p.bitfield(k("f")).set("u4", 0, 15).incrby("u4", 0, 1).exec();
      p.bitcount(k("f"));
      assert.deepEqual(await p.exec(), [[0, 0], 0]);
    });

    it("PFADD/PFCOUNT/PFMERGE count distinct elements like Redis", async (t) => {
      const k = keyspace(t, "hll");
      assert.equal(await redis.pfadd(k("a"), "x", "y", "z"), 1);
      assert.equal(await redis.pfadd(k("a"), "x"), 0);
      assert.equal(await redis.pfcount(k("a")), 3);
      assert.equal(await redis.pfadd(k("b"), "z", "w"), 1);
      assert.equal(await redis.pfcount(k("a"), k("b")), 4);
      assert.equal(await redis.pfmerge(k("m"), k("a"), k("b")), "OK");
      assert.equal(await redis.pfcount(k("m")), 4);
      await redis.set(k("s"), "not an hll");
      const e = await rejects(redis.pfadd(k("s"), "x"));
      assert.match(String(e), WRONGTYPE_HLL);
    });
  });
}
