// The only JS tests that look at the whole database: DBSIZE, RANDOMKEY, FLUSHDB, FLUSHALL.
// run.sh runs this file last, and the suites never run concurrently.

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { keyspace, newRedis } from "./helpers.mjs";

describe("whole-database commands (flushes everything)", () => {
  const redis = newRedis();

  it("FLUSHDB empties the database; DBSIZE and RANDOMKEY follow", async (t) => {
    const k = keyspace(t, "flushdb");
    await redis.set(k("pre"), "v");
    assert.equal(await redis.flushdb(), "OK");
    assert.equal(await redis.dbsize(), 0);
    assert.equal(await redis.randomkey(), null);
    assert.deepEqual(await redis.keys("*"), []);
    assert.deepEqual(await redis.scan(0), ["0", []]);

    const names = [k("a"), k("b"), k("c")];
    await redis.mset(Object.fromEntries(names.map((n) => [n, "v"])));
    assert.equal(await redis.dbsize(), 3);
    for (let i = 0; i < 5; i++) {
      const rk = await redis.randomkey();
      assert.ok(names.includes(rk), `randomkey returned ${rk}`);
    }
    await redis.del(k("a"));
    assert.equal(await redis.dbsize(), 2);

    assert.equal(await redis.flushdb({ async: true }), "OK");
    assert.equal(await redis.dbsize(), 0);
  });

  it("FLUSHALL (sync and ASYNC) empties the database", async (t) => {
    const k = keyspace(t, "flushall");
    await redis.mset({ [k("a")]: 1, [k("b")]: 2 });
    assert.equal(await redis.dbsize(), 2);
    assert.equal(await redis.flushall(), "OK");
    assert.equal(await redis.dbsize(), 0);
    assert.equal(await redis.get(k("a")), null);

    await redis.set(k("c"), 3);
    assert.equal(await redis.flushall([{ async: true }]), "OK");
    assert.equal(await redis.dbsize(), 0);
  });

  it("DBSIZE counts keys with a TTL that has not passed", async (t) => {
    const k = keyspace(t, "dbsize-ttl");
    await redis.flushdb();
    await redis.set(k("a"), "v", { ex: 100 });
    await redis.set(k("b"), "v");
    assert.equal(await redis.dbsize(), 2);
    await redis.flushdb();
  });
});
