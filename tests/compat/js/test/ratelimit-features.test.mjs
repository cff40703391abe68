// @upstash/ratelimit features beyond the algorithms: analytics (the write side for every
// algorithm, and the read side of @upstash/core-analytics: ZRANGE/ZUNION + cjson scripts),
// deny lists from a user-provided list (enableProtection with the IP list disabled or valid,
// so nothing is downloaded — a fetch guard refuses any non-loopback request), and dynamic
// limits.

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { Analytics, Ratelimit } from "@upstash/ratelimit";
import {
  HOUR,
  admin,
  analyticsEvents,
  bundledScripts,
  captureWarnings,
  freshWindow,
  hourBucket,
  loopbackOnlyFetch,
  member,
  newRedis,
  rlPrefix,
} from "./ratelimit-helpers.mjs";

const ALGOS = [
  { name: "fixedWindow", limiter: () => Ratelimit.fixedWindow(2, "1 h"), cacheBlocks: true },
  { name: "slidingWindow", limiter: () => Ratelimit.slidingWindow(2, "1 h"), cacheBlocks: true },
  { name: "tokenBucket", limiter: () => Ratelimit.tokenBucket(1, "1 h", 2), cacheBlocks: true },
  { name: "cachedFixedWindow", limiter: () => Ratelimit.cachedFixedWindow(2, "1 h"), cacheBlocks: false },
];

/** Fail if the library reported failed analytics writes (it only warns). */
function assertNoAnalyticsFailures(w) {
  const failures = w.list.filter((m) => /analytics/i.test(m));
  assert.equal(
    failures.length,
    0,
    `${failures.length} analytics write(s) failed; first: ${failures[0]?.replace(/\s+/g, " ").slice(0, 400)}`,
  );
}

describe("ratelimit analytics: every limit() is recorded with ZINCRBY in the hour bucket", () => {
  for (const a of ALGOS) {
    it(`${a.name}: 2 allowed and 2 refused events in ${"<prefix>"}:events:<hour start ms>, no TTL`, async (t) => {
      const warnings = captureWarnings(t);
      const P = rlPrefix(t, `an-${a.name}`);
      await freshWindow(HOUR, 20_000);
      const rl = new Ratelimit({ redis: newRedis(), prefix: P, limiter: a.limiter(), analytics: true });
      const rs = [];
      for (let i = 0; i < 4; i++) {
        const r = await rl.limit("u");
        await r.pending;
        rs.push(r);
      }
      assert.deepEqual(
        rs.map((r) => r.success),
        [true, true, false, false],
      );
      if (a.cacheBlocks) assert.equal(rs[3].reason, "cacheBlock", "cache-blocked responses are recorded too");
      assertNoAnalyticsFailures(warnings);
      const bucket = hourBucket(Date.now());
      const { keys, events } = await analyticsEvents(P);
      assert.deepEqual(keys, [`${P}:events:${bucket}`]);
      assert.deepEqual(events, { [member("u", true)]: 2, [member("u", false)]: 2 });
      assert.equal(await admin.type(keys[0]), "zset");
      assert.equal(await admin.pttl(keys[0]), -1, "core-analytics never sets a TTL");
    });
  }

  it("geo fields are appended to the member in their own order", async (t) => {
    const warnings = captureWarnings(t);
    const P = rlPrefix(t, "an-geo");
    await freshWindow(HOUR, 20_000);
    const rl = new Ratelimit({
      redis: newRedis(),
      prefix: P,
      limiter: Ratelimit.fixedWindow(5, "1 h"),
      analytics: true,
    });
    const r = await rl.limit("u", { geo: { country: "DE", city: "Berlin" }, ip: "10.1.2.3" });
    await r.pending;
    const r2 = await rl.limit("ü ✓", { geo: { city: "Köln" } });
    await r2.pending;
    assertNoAnalyticsFailures(warnings);
    const { events } = await analyticsEvents(P);
    assert.deepEqual(events, {
      '{"identifier":"u","success":true,"country":"DE","city":"Berlin"}': 1,
      [JSON.stringify({ identifier: "ü ✓", success: true, city: "Köln" })]: 1,
    });
  });

  // The read side of @upstash/core-analytics (what a dashboard calls): 5 calls for alice with a
  // limit of 3 (3 allowed, 1 refused by the server, 1 by the block cache) and 2 for bob.
  async function seedEvents(t, label) {
    const warnings = captureWarnings(t);
    const P = rlPrefix(t, label);
    await freshWindow(HOUR, 20_000);
    const redis = newRedis();
    const rl = new Ratelimit({ redis, prefix: P, limiter: Ratelimit.fixedWindow(3, "1 h"), analytics: true });
    for (const [id, n] of [
      ["alice", 5],
      ["bob", 2],
    ]) {
      for (let i = 0; i < n; i++) {
        const r = await rl.limit(id);
        await r.pending;
      }
    }
    assertNoAnalyticsFailures(warnings);
    return { analytics: new Analytics({ redis, prefix: P }), bucket: hourBucket(Date.now()) };
  }

  it("read side: getUsage (ZUNION over 256 hourly buckets inside a script)", async (t) => {
    const { analytics } = await seedEvents(t, "an-usage");
    assert.deepEqual(await analytics.getUsage(), {
      alice: { success: 3, blocked: 2 },
      bob: { success: 2, blocked: 0 },
    });
  });

  it("read side: getUsageOverTime (pipelined EVALs grouping with cjson.decode; true/false → 1/null)", async (t) => {
    const { analytics, bucket } = await seedEvents(t, "an-over-time");
    assert.deepEqual(await analytics.getUsageOverTime(2, "identifier"), [
      { time: bucket, identifier: { alice: 5, bob: 2 } },
      { time: bucket - HOUR },
    ]);
    assert.deepEqual(await analytics.getUsageOverTime(1, "success"), [
      { time: bucket, success: { true: 5, false: 2 } },
    ]);
  });

  it("read side: getMostAllowedBlocked (ZUNION + string.find classification)", async (t) => {
    const { analytics } = await seedEvents(t, "an-most");
    const most = await analytics.getMostAllowedBlocked(1, 5);
    const byId = (xs) => [...xs].sort((x, y) => x.identifier.localeCompare(y.identifier));
    assert.deepEqual(byId(most.allowed), [
      { identifier: "alice", count: 3 },
      { identifier: "bob", count: 2 },
    ]);
    assert.deepEqual(most.ratelimited, [{ identifier: "alice", count: 2 }]);
    assert.deepEqual(most.denied, []);
  });
});

describe("ratelimit deny lists (enableProtection) from a user-provided list, no downloads", () => {
  for (const status of ["disabled", "valid"]) {
    it(`denies listed identifiers, IPs, user agents and countries (IP list status "${status}")`, async (t) => {
      const warnings = captureWarnings(t);
      const guard = loopbackOnlyFetch();
      t.after(() => guard.restore());
      const P = rlPrefix(t, `deny-${status}`);
      await freshWindow(HOUR, 20_000);
      const W = Math.floor(Date.now() / HOUR);
      const tag = randomBytes(4).toString("hex"); // the deny cache is process-wide: unique values
      const badId = `bad-user-${tag}`;
      const badIp = `203.0.113.${status === "disabled" ? 1 : 2}`;
      const badUa = `EvilBot/${tag}`;
      const badUa2 = `EvilBot/2-${tag}`;
      const badCountry = `XX-${tag}`;
      const badCountry2 = `YY-${tag}`;
      const statusKey = `${P}:ipDenyListStatus`;
      if (status === "disabled") await admin.set(statusKey, "disabled");
      else await admin.set(statusKey, "valid", { px: 600_000 });
      await admin.sadd(`${P}:denyList:all`, badId, badIp, badUa, badUa2, badCountry, badCountry2);

      const rl = new Ratelimit({
        redis: newRedis(),
        prefix: P,
        limiter: Ratelimit.fixedWindow(10, "1 h"),
        enableProtection: true,
        analytics: true,
      });
      const call = async (id, req) => {
        const r = await rl.limit(id, req);
        await r.pending;
        const { pending: _p, ...rest } = r;
        return rest;
      };
      const reset = (W + 1) * HOUR;

      assert.deepEqual(await call("good", { ip: "127.0.0.9", userAgent: "curl", country: "DE" }), {
        success: true,
        limit: 10,
        remaining: 9,
        reset,
      });
      // decided by the server: the rate limit is consumed, the deny list overrides the result
      assert.deepEqual(await call(badId), {
        success: false,
        limit: 10,
        remaining: 0,
        reset,
        reason: "denyList",
        deniedValue: badId,
      });
      assert.equal(await admin.get(`${P}:${badId}:${W}`), "1");
      // now from the process-wide deny cache: no server call at all
      assert.deepEqual(await call(badId), {
        success: false,
        limit: 0,
        remaining: 0,
        reset: 0,
        reason: "denyList",
        deniedValue: badId,
      });
      assert.equal(await admin.get(`${P}:${badId}:${W}`), "1");
      assert.equal((await call("good2", { ip: badIp })).deniedValue, badIp);
      assert.equal((await call("good3", { userAgent: badUa })).deniedValue, badUa);
      assert.equal((await call("good4", { ip: "127.0.0.10", country: badCountry })).deniedValue, badCountry);
      // decided by the server with several flagged members: the last one is reported
      assert.equal((await call("good5", { ip: "127.0.0.12", userAgent: badUa2, country: badCountry2 })).deniedValue, badCountry2);
      // decided by the deny cache: the first cached member is reported
      assert.equal((await call("good7", { ip: badIp, userAgent: badUa })).deniedValue, badIp);
      const ok = await call("good6", { ip: "127.0.0.11", userAgent: "Mozilla", country: "FR" });
      assert.equal(ok.success, true);
      assert.equal(ok.reason, undefined);

      // the status key was not touched (no refresh was triggered) and nothing was downloaded
      assert.deepEqual(guard.offHost, []);
      if (status === "disabled") {
        assert.equal(await admin.get(statusKey), "disabled");
        assert.equal(await admin.ttl(statusKey), -1);
      } else {
        assert.equal(await admin.get(statusKey), "valid");
        assert.ok((await admin.pttl(statusKey)) > 500_000);
      }

      // analytics record denied values with success "denied"
      assertNoAnalyticsFailures(warnings);
      const { events } = await analyticsEvents(P);
      assert.equal(events[JSON.stringify({ identifier: badId, success: "denied" })], 2);
      assert.equal(events[JSON.stringify({ identifier: badIp, success: "denied" })], 2);
      assert.equal(events[JSON.stringify({ identifier: badCountry, success: "denied" })], 1);
      assert.equal(events[JSON.stringify({ identifier: badCountry2, success: "denied" })], 1);
      assert.equal(events[member("good", true)], 1);
    });
  }
});

describe("ratelimit deny-list check script (EVAL of the bundled text, no refresh flow)", () => {
  it("SMISMEMBER flags, TTL of the status key, SETEX pending when it is missing", async (t) => {
    const P = rlPrefix(t, "deny-script");
    const { checkDenyListScript } = bundledScripts();
    const all = `${P}:denyList:all`;
    const status = `${P}:ipDenyListStatus`;
    await admin.sadd(all, "x", "z");
    // status missing → TTL -2 → the script marks it "pending" for 30 s
    assert.deepEqual(await admin.eval(checkDenyListScript, [all, status], ["x", "y", "z"]), [[1, 0, 1], -2]);
    assert.equal(await admin.get(status), "pending");
    const ttl = await admin.ttl(status);
    assert.ok(ttl > 25 && ttl <= 30, `TTL ${ttl}`);
    // now valid-looking (TTL > 0): left alone
    const [flags, st] = await admin.eval(checkDenyListScript, [all, status], ["y"]);
    assert.deepEqual(flags, [0]);
    assert.ok(st > 25 && st <= 30);
    // disabled (no TTL) → -1
    await admin.set(status, "disabled");
    assert.deepEqual(await admin.eval(checkDenyListScript, [all, status], ["z"]), [[1], -1]);
    assert.equal(await admin.get(status), "disabled");
    // no deny list at all: every flag 0
    await admin.del(all);
    assert.deepEqual(await admin.eval(checkDenyListScript, [all, status], ["x", "y"]), [[0, 0], -1]);
  });
});

describe("ratelimit dynamic limits (P:dynamic:global read inside the scripts)", () => {
  const cases = [
    { name: "fixedWindow", limiter: () => Ratelimit.fixedWindow(5, "1 h"), afterReset: 2 },
    { name: "slidingWindow", limiter: () => Ratelimit.slidingWindow(5, "1 h"), afterReset: 3 },
    { name: "tokenBucket", limiter: () => Ratelimit.tokenBucket(1, "1 h", 5), afterReset: 0 },
  ];
  for (const c of cases) {
    it(`${c.name}: setDynamicLimit overrides the configured limit; false restores it`, async (t) => {
      captureWarnings(t);
      const P = rlPrefix(t, `dyn-${c.name}`);
      await freshWindow(HOUR, 20_000);
      const rl = new Ratelimit({
        redis: newRedis(),
        prefix: P,
        limiter: c.limiter(),
        dynamicLimits: true,
        ephemeralCache: false,
        analytics: true,
      });
      assert.deepEqual(await rl.getDynamicLimit(), { dynamicLimit: null });
      await rl.setDynamicLimit({ limit: 2 });
      assert.deepEqual(await rl.getDynamicLimit(), { dynamicLimit: 2 });
      assert.equal(await admin.get(`${P}:dynamic:global`), "2");
      const rs = [];
      for (let i = 0; i < 3; i++) rs.push(await rl.limit("u"));
      assert.deepEqual(
        rs.map((r) => [r.success, r.limit, r.remaining]),
        [
          [true, 2, 1],
          [true, 2, 0],
          [false, 2, 0],
        ],
      );
      const rem = await rl.getRemaining("u");
      assert.equal(rem.limit, 2);
      assert.equal(rem.remaining, 0);
      await rl.setDynamicLimit({ limit: false });
      assert.equal(await admin.exists(`${P}:dynamic:global`), 0);
      const after = await rl.getRemaining("u");
      assert.equal(after.limit, 5);
      assert.equal(after.remaining, c.afterReset);
    });
  }
});
