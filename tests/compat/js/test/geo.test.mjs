// Geo commands through @upstash/redis, in both transport modes (auto-pipelined and plain).
//
// Expected values are Redis 7.0's (the replies of redis-server 7.0.15 for the same commands; see
// crates/engine/tests/transcripts/geo.txt) after the client's deserialization: GEOPOS becomes
// [{ lng, lat }] with missing members left out, GEODIST a number, GEOSEARCH objects with `member`
// and the requested `dist` (number), `hash` (string) and `coord` ({ long, lat }).

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { MODES, RO_TOKEN, keyspace, newRedis, rejects } from "./helpers.mjs";

const PALERMO = { longitude: 13.361389, latitude: 38.115556, member: "Palermo" };
const CATANIA = { longitude: 15.087269, latitude: 37.502669, member: "Catania" };

for (const mode of MODES) {
  describe(`geo — ${mode.name}`, () => {
    const redis = newRedis(mode.opts);

    it("GEOADD counts new members (CH: changed too, NX/XX as ZADD); GEOPOS decodes cell centres", async (t) => {
      const k = keyspace(t, "geoadd");
      assert.equal(await redis.geoadd(k("g"), PALERMO, CATANIA), 2);
      assert.equal(await redis.geoadd(k("g"), PALERMO), 0);
      assert.equal(await redis.geoadd(k("g"), { nx: true }, { ...PALERMO, longitude: 1 }), 0);
      assert.equal(await redis.geoadd(k("g"), { xx: true, ch: true }, { ...CATANIA, latitude: 37.6 }), 1);
      assert.equal(await redis.geoadd(k("g"), { xx: true }, { longitude: 1, latitude: 1, member: "x" }), 0);
      assert.equal(await redis.zcard(k("g")), 2);
      assert.equal(await redis.zscore(k("g"), "Palermo"), 3479099956230698);
      assert.deepEqual(await redis.geopos(k("g"), "Palermo", "nobody"), [
        { lng: 13.36138933897018433, lat: 38.11555639549629859 },
      ]);
    });

    it("GEODIST in each unit, null for a missing member; GEOHASH as 11-character strings", async (t) => {
      const k = keyspace(t, "geodist");
      await redis.geoadd(k("g"), PALERMO, CATANIA);
      assert.equal(await redis.geodist(k("g"), "Palermo", "Catania"), 166274.1516);
      assert.equal(await redis.geodist(k("g"), "Palermo", "Catania", "KM"), 166.2742);
      assert.equal(await redis.geodist(k("g"), "Palermo", "Catania", "MI"), 103.3182);
      assert.equal(await redis.geodist(k("g"), "Palermo", "nobody"), null);
      assert.deepEqual(await redis.geohash(k("g"), "Palermo", "Catania", "nobody"), [
        "sqc8b49rny0",
        "sqdtr74hyu0",
        null,
      ]);
    });

    it("GEOSEARCH by radius and by box, ordered, with distances, hashes and coordinates", async (t) => {
      const k = keyspace(t, "geosearch");
      await redis.geoadd(k("g"), PALERMO, CATANIA);
      const from = { type: "FROMLONLAT", coordinate: { lon: 15, lat: 37 } };
      assert.deepEqual(
        await redis.geosearch(k("g"), from, { type: "BYRADIUS", radius: 200, radiusType: "KM" }, "ASC"),
        [{ member: "Catania" }, { member: "Palermo" }],
      );
      assert.deepEqual(
        await redis.geosearch(k("g"), from, { type: "BYRADIUS", radius: 100, radiusType: "KM" }, "ASC"),
        [{ member: "Catania" }],
      );
      assert.deepEqual(
        await redis.geosearch(
          k("g"),
          from,
          { type: "BYBOX", rect: { width: 400, height: 400 }, rectType: "KM" },
          "DESC",
          { withDist: true, withHash: true, withCoord: true },
        ),
        [
          {
            member: "Palermo",
            dist: 190.4424,
            hash: "3479099956230698",
            coord: { long: 13.36138933897018433, lat: 38.11555639549629859 },
          },
          {
            member: "Catania",
            dist: 56.4413,
            hash: "3479447370796909",
            coord: { long: 15.08726745843887329, lat: 37.50266842333162032 },
          },
        ],
      );
      assert.deepEqual(
        await redis.geosearch(
          k("g"),
          { type: "FROMMEMBER", member: "Palermo" },
          { type: "BYRADIUS", radius: 200, radiusType: "KM" },
          "DESC",
          { count: { limit: 1 }, withDist: true },
        ),
        [{ member: "Catania", dist: 166.2742 }],
      );
      // (Raw: with auto-pipelining the client runs geosearch's own deserializer on a failed result.)
      const e = await rejects(redis.exec(["GEOSEARCH", k("g"), "FROMMEMBER", "nobody", "BYRADIUS", 1, "km"]));
      assert.match(e.message, /ERR could not decode requested zset member/);
    });

    it("GEOSEARCHSTORE stores hashes or distances; an empty result deletes the destination", async (t) => {
      const k = keyspace(t, "geosearchstore");
      await redis.geoadd(k("g"), PALERMO, CATANIA);
      const from = { type: "FROMLONLAT", coordinate: { lon: 15, lat: 37 } };
      const radius = { type: "BYRADIUS", radius: 200, radiusType: "KM" };
      assert.equal(await redis.geosearchstore(k("d"), k("g"), from, radius, "ASC"), 2);
      assert.equal(await redis.zscore(k("d"), "Catania"), 3479447370796909);
      assert.equal(
        await redis.geosearchstore(k("d"), k("g"), from, radius, "ASC", { count: { limit: 1 }, storeDist: true }),
        1,
      );
      assert.deepEqual(await redis.zrange(k("d"), 0, -1), ["Catania"]);
      const tiny = { type: "BYRADIUS", radius: 1, radiusType: "M" };
      assert.equal(await redis.geosearchstore(k("d"), k("g"), from, tiny, "ASC"), 0);
      assert.equal(await redis.exists(k("d")), 0);
    });

    it("errors are Redis's", async (t) => {
      const k = keyspace(t, "geo-errors");
      let e = await rejects(redis.geoadd(k("g"), { longitude: 200, latitude: 10, member: "a" }));
      assert.match(e.message, /ERR invalid longitude,latitude pair 200\.000000,10\.000000/);
      e = await rejects(redis.exec(["GEODIST", k("g"), "a", "b", "parsecs"]));
      assert.match(e.message, /ERR unsupported unit provided\. please use M, KM, FT, MI/);
      e = await rejects(redis.exec(["GEOSEARCH", k("g"), "FROMLONLAT", 1, 2, "ASC", "WITHDIST"]));
      assert.match(e.message, /ERR exactly one of BYRADIUS and BYBOX can be specified for GEOSEARCH/);
      await redis.set(k("s"), "x");
      e = await rejects(redis.geodist(k("s"), "a", "b"));
      assert.match(e.message, /WRONGTYPE/);
    });
  });
}

describe("geo through the read-only token", { skip: RO_TOKEN ? false : "LARDER_READ_ONLY_TOKEN not set" }, () => {
  it("reads pass, writes (GEORADIUS included, a write command in Redis) are refused with NOPERM", async (t) => {
    const k = keyspace(t, "geo-ro");
    await newRedis().geoadd(k("g"), PALERMO, CATANIA);
    const ro = newRedis({ token: RO_TOKEN });
    assert.equal(await ro.geodist(k("g"), "Palermo", "Catania", "KM"), 166.2742);
    assert.deepEqual(
      await ro.geosearch(
        k("g"),
        { type: "FROMMEMBER", member: "Catania" },
        { type: "BYRADIUS", radius: 10, radiusType: "KM" },
        "ASC",
      ),
      [{ member: "Catania" }],
    );
    assert.deepEqual(await ro.exec(["GEORADIUS_RO", k("g"), 15, 37, 100, "km"]), ["Catania"]);
    for (const f of [
      () => ro.geoadd(k("g"), { longitude: 1, latitude: 1, member: "x" }),
      () => ro.exec(["GEORADIUS", k("g"), 15, 37, 100, "km"]),
      () =>
        ro.geosearchstore(
          k("d"),
          k("g"),
          { type: "FROMMEMBER", member: "Catania" },
          { type: "BYRADIUS", radius: 10, radiusType: "KM" },
          "ASC",
        ),
    ]) {
      assert.match((await rejects(f())).message, /NOPERM/);
    }
  });
});
