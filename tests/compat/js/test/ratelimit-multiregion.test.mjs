// MultiRegionRatelimit (fixedWindow, slidingWindow) against several larder instances: the
// main server plus the extra ones run.sh starts (LARDER_EXTRA_REST_URLS). Every request goes
// to all regions; the first answer decides and a background sync (`pending`) copies request
// ids a region missed. Checked: limit() results, the per-region hashes and TTLs, the sync,
// getRemaining, resetUsedTokens (not awaited by the library: polled), blockUntilReady, the
// sliding-window check (strict, unrounded, includes the rate) with a fixed clock, and that
// analytics go to the first region only.
//
// Without extra instances (COMPAT_EXTRA_SERVERS=0) these tests are skipped; the one-region
// variants are covered in ratelimit-concurrency and ratelimit-scripts.

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { MultiRegionRatelimit } from "@upstash/ratelimit";
import {
  EXTRA_URLS,
  HOUR,
  REST_URL,
  adminFor,
  analyticsEvents,
  atTime,
  captureWarnings,
  freshWindow,
  hashOf,
  member,
  newRedis,
  rlPrefix,
  until,
} from "./ratelimit-helpers.mjs";
import { Redis } from "@upstash/redis";
import { TOKEN } from "./helpers.mjs";

const URLS = [REST_URL, ...EXTRA_URLS];
const skip = EXTRA_URLS.length < 2 ? "needs two extra larder instances (LARDER_EXTRA_REST_URLS)" : false;
const admins = URLS.map((u) => adminFor(u));
const regionClients = (opts = {}) => URLS.map((url) => new Redis({ url, token: TOKEN, retry: false, ...opts }));

/** limit() and wait for the background sync/analytics. */
async function hit(rl, id, req) {
  const r = await rl.limit(id, req);
  await r.pending;
  const { pending: _p, ...rest } = r;
  return rest;
}

describe("ratelimit MultiRegion fixedWindow over three larder instances", () => {
  it("every region records every request id; the sync copies ids a region missed", { skip }, async (t) => {
    const warnings = captureWarnings(t);
    const P = rlPrefix(t, "mr-fw");
    await freshWindow(HOUR, 20_000);
    const W = Math.floor(Date.now() / HOUR);
    const key = `${P}:u:${W}`;
    const reset = (W + 1) * HOUR;
    const rl = new MultiRegionRatelimit({
      redis: regionClients(),
      prefix: P,
      limiter: MultiRegionRatelimit.fixedWindow(5, "1 h"),
      analytics: true,
    });
    for (let i = 1; i <= 3; i++) {
      assert.deepEqual(await hit(rl, "u"), { success: true, limit: 5, remaining: 5 - i, reset });
    }
    const hashes = await Promise.all(admins.map((a) => hashOf(key, a)));
    const ids = Object.keys(hashes[0]).sort();
    assert.equal(ids.length, 3);
    for (const [i, h] of hashes.entries()) {
      assert.deepEqual(Object.keys(h).sort(), ids, `region ${i} has the same request ids`);
      assert.deepEqual(Object.values(h), ["1", "1", "1"]);
      const pttl = await admins[i].pttl(key);
      assert.ok(pttl > HOUR - 60_000 && pttl <= HOUR, `region ${i}: PTTL ${pttl}`);
    }

    // a request only region 0 saw: the next limit() syncs it to the others
    await admins[0].hset(key, { missedByOthers: 1 });
    const r4 = await hit(rl, "u");
    assert.equal(r4.success, true);
    assert.ok(r4.remaining === 1 || r4.remaining === 0, `remaining ${r4.remaining} (depends on the fastest region)`);
    for (const [i, a] of admins.entries()) {
      const h = await hashOf(key, a);
      assert.equal(Object.keys(h).length, 5, `region ${i} after the sync: ${JSON.stringify(h)}`);
      assert.equal(h.missedByOthers, "1");
    }
    const rem = await rl.getRemaining("u");
    assert.deepEqual(rem, { remaining: 0, reset, limit: 5 });
    // over the limit: recorded anyway, remaining is not clamped
    assert.deepEqual(await hit(rl, "u"), { success: false, limit: 5, remaining: -1, reset });
    for (const a of admins) assert.equal(await a.hlen(key), 6);
    // ... and the next one is refused by the ephemeral cache
    assert.equal((await hit(rl, "u")).reason, "cacheBlock");

    // resetUsedTokens is fire-and-forget in the library: poll until every region is clean
    await rl.resetUsedTokens("u");
    await until(
      async () => {
        const counts = await Promise.all(admins.map((a) => a.keys(`${P}:u:*`).then((k) => k.length)));
        return counts.every((c) => c === 0);
      },
      3000,
      "every region's window keys to be deleted",
    );
    assert.deepEqual(await hit(rl, "u"), { success: true, limit: 5, remaining: 4, reset });

    // analytics are written to the first region only
    const first = await analyticsEvents(P, URLS[0]);
    assert.ok(first.keys.length >= 1, `analytics keys in region 0 (warnings: ${warnings.list.slice(0, 1)})`);
    assert.equal(first.events[member("u", true)], 5);
    for (const url of URLS.slice(1)) assert.deepEqual((await analyticsEvents(P, url)).keys, []);

  });

  it("blockUntilReady with a 1 s window", { skip }, async (t) => {
    captureWarnings(t);
    const P = rlPrefix(t, "mr-fw-block");
    await freshWindow(1000, 600);
    const rl = new MultiRegionRatelimit({
      redis: regionClients({ enableAutoPipelining: false }),
      prefix: P,
      limiter: MultiRegionRatelimit.fixedWindow(1, "1 s"),
      analytics: true,
    });
    assert.equal((await hit(rl, "u")).success, true);
    const refused = await hit(rl, "u");
    assert.equal(refused.success, false);
    const res = await rl.blockUntilReady("u", 3000);
    assert.equal(res.success, true);
    assert.ok(Date.now() >= refused.reset);
    assert.ok(Date.now() - refused.reset < 1000);
  });
});

describe("ratelimit MultiRegion slidingWindow over three larder instances", () => {
  it("limit(), getRemaining, the per-region hashes, resetUsedTokens", { skip }, async (t) => {
    captureWarnings(t);
    const P = rlPrefix(t, "mr-sw");
    await freshWindow(HOUR, 20_000);
    const W = Math.floor(Date.now() / HOUR);
    const reset = (W + 1) * HOUR;
    const rl = new MultiRegionRatelimit({
      redis: regionClients(),
      prefix: P,
      limiter: MultiRegionRatelimit.slidingWindow(3, "1 h"),
      analytics: true,
    });
    for (let i = 1; i <= 3; i++) {
      assert.deepEqual(await hit(rl, "u"), { success: true, limit: 3, remaining: 3 - i, reset });
    }
    assert.deepEqual(await hit(rl, "u"), { success: false, limit: 3, remaining: 0, reset });
    for (const [i, a] of admins.entries()) {
      assert.equal(await a.hlen(`${P}:u:${W}`), 3, `region ${i}: refused requests are not recorded`);
      assert.equal(await a.exists(`${P}:u:${W - 1}`), 0);
      const pttl = await a.pttl(`${P}:u:${W}`);
      assert.ok(pttl > 2 * HOUR + 1000 - 60_000 && pttl <= 2 * HOUR + 1000, `region ${i}: PTTL ${pttl}`);
    }
    assert.deepEqual(await rl.getRemaining("u"), { remaining: 0, reset, limit: 3 });
    await rl.resetUsedTokens("u");
    await until(
      async () => (await Promise.all(admins.map((a) => a.exists(`${P}:u:${W}`)))).every((n) => n === 0),
      3000,
      "every region's window keys to be deleted",
    );
    // the ephemeral cache was cleared by resetUsedTokens
    assert.deepEqual(await hit(rl, "u"), { success: true, limit: 3, remaining: 2, reset });
  });

  it("the previous window is weighted unrounded and the rate is included (fixed clock)", { skip }, async (t) => {
    captureWarnings(t);
    const P = rlPrefix(t, "mr-sw-weight");
    const WIN = 10_000;
    const rl = new MultiRegionRatelimit({
      redis: regionClients(),
      prefix: P,
      limiter: MultiRegionRatelimit.slidingWindow(3, "10 s"),
      analytics: true,
    });
    const W0 = Math.floor(Date.now() / WIN) + 3;
    const at = (w, ms, fn) => atTime((W0 + w) * WIN + ms, fn);
    const results = (id, n) => at(0, 1000, async () => {
      for (let i = 0; i < n; i++) assert.equal((await hit(rl, id)).success, true);
    });
    await results("a", 3);
    await results("b", 3);
    await at(0, 1500, async () => {
      // 3 + 1 > 3
      assert.deepEqual(await hit(rl, "a"), { success: false, limit: 3, remaining: 0, reset: (W0 + 1) * WIN });
    });
    // "a", 25 % into the next window: 3 * 0.75 + 0 + 1 = 3.25 > 3 → refused (the single-region
    // script would floor 2.25 and admit)
    await at(1, 2500, async () => {
      assert.deepEqual(await hit(rl, "a"), { success: false, limit: 3, remaining: 0, reset: (W0 + 2) * WIN });
    });
    // "b", 50 %: 1.5 + 0 + 1 = 2.5 <= 3 → admitted; the client rounds the previous window up:
    // 3 - (ceil(1.5) + 1) = 0
    await at(1, 5000, async () => {
      assert.deepEqual(await hit(rl, "b"), { success: true, limit: 3, remaining: 0, reset: (W0 + 2) * WIN });
    });
    // getRemaining floors instead: 3 - (1 + floor(0.75)) = 2 at 75 %
    await at(1, 7500, async () => {
      assert.deepEqual(await rl.getRemaining("b"), { remaining: 2, reset: (W0 + 2) * WIN, limit: 3 });
      // 0.75 + 1 + 1 = 2.75 → admitted; client: 3 - (ceil(0.75) + 2) = 0
      assert.deepEqual(await hit(rl, "b"), { success: true, limit: 3, remaining: 0, reset: (W0 + 2) * WIN });
      // 0.75 + 2 + 1 = 3.75 → refused
      assert.deepEqual(await hit(rl, "b"), { success: false, limit: 3, remaining: 0, reset: (W0 + 2) * WIN });
    });
    for (const a of admins) {
      assert.equal(await a.hlen(`${P}:b:${W0 + 1}`), 2);
      assert.equal(await a.hlen(`${P}:a:${W0 + 1}`), 0);
    }
  });
});

describe("ratelimit MultiRegion with the same instance listed as every region", () => {
  // Only the fixed window is deterministic here: its script is idempotent per request id. The
  // sliding window's second and third "regions" would re-check a request the first one already
  // recorded, and whichever answer arrives first decides.
  it("fixedWindow counts each request once", async (t) => {
    captureWarnings(t);
    const P = rlPrefix(t, "mr-same");
    await freshWindow(HOUR, 20_000);
    const W = Math.floor(Date.now() / HOUR);
    const redis = [newRedis(), newRedis(), newRedis({ enableAutoPipelining: false })];
    const rl = new MultiRegionRatelimit({
      redis,
      prefix: P,
      limiter: MultiRegionRatelimit.fixedWindow(3, "1 h"),
      analytics: true,
    });
    const rs = [];
    for (let i = 0; i < 4; i++) rs.push(await hit(rl, "u"));
    assert.deepEqual(
      rs.map((r) => [r.success, r.remaining]),
      [
        [true, 2],
        [true, 1],
        [true, 0],
        [false, -1],
      ],
    );
    assert.equal(await adminFor().hlen(`${P}:u:${W}`), 4);
    const pttl = await adminFor().pttl(`${P}:u:${W}`);
    assert.ok(pttl > HOUR - 60_000 && pttl <= HOUR, `PTTL ${pttl}`);
  });
});
