// @upstash/ratelimit (single region) against larder: every algorithm's limit() results
// (success, limit, remaining, reset, pending, reason), weighted/negative rates, getRemaining,
// resetUsedTokens, blockUntilReady, and the keys and TTLs the scripts leave behind.
//
// Every limiter is built with `analytics: true` (as the compatibility goal asks); the analytics
// keys themselves are checked in ratelimit-features.test.mjs, so a server without sorted sets
// fails only those tests here (the library turns a failed analytics write into a warning).
//
// Windows are long (1 h) where a test must not straddle a boundary, and freshWindow() skips the
// tail of a window. Arithmetic that depends on time inside a window (sliding-window weighting,
// token refills) is checked exactly by fixing the library's clock (atTime); the tests that need
// real time (expiry, rollover, blockUntilReady) use 1 s windows, poll with deadlines and assert
// with tolerances.

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Ratelimit } from "@upstash/ratelimit";
import {
  HOUR,
  admin,
  atTime,
  captureWarnings,
  freshWindow,
  g17,
  hashOf,
  newRedis,
  rlPrefix,
  sleep,
  until,
} from "./ratelimit-helpers.mjs";

function make(prefix, limiter, opts = {}) {
  return new Ratelimit({ redis: newRedis(), prefix, limiter, analytics: true, ...opts });
}

/** limit() and wait for its background work, returning the response without `pending`. */
async function hit(rl, id, req) {
  const r = await rl.limit(id, req);
  assert.ok(r.pending instanceof Promise, "pending is a promise");
  await r.pending;
  const { pending: _p, ...rest } = r;
  return rest;
}

const NOT_INT = /value is not an integer or out of range/;

describe("ratelimit fixedWindow", () => {
  it("limit(): success, limit, remaining, reset; the 6th is refused, the 7th by the block cache", async (t) => {
    captureWarnings(t);
    const P = rlPrefix(t, "fw");
    await freshWindow(HOUR, 20_000);
    const rl = make(P, Ratelimit.fixedWindow(5, "1 h"));
    const W = Math.floor(Date.now() / HOUR);
    const reset = (W + 1) * HOUR;
    for (let i = 1; i <= 5; i++) {
      assert.deepEqual(await hit(rl, "u"), { success: true, limit: 5, remaining: 5 - i, reset }, `call ${i}`);
    }
    assert.deepEqual(await hit(rl, "u"), { success: false, limit: 5, remaining: 0, reset });
    assert.deepEqual(await hit(rl, "u"), { success: false, limit: 5, remaining: 0, reset, reason: "cacheBlock" });
    // rejected requests are counted by the script; the cache-blocked one never reached the server
    assert.equal(await admin.get(`${P}:u:${W}`), "6");
    const pttl = await admin.pttl(`${P}:u:${W}`);
    assert.ok(pttl > HOUR - 60_000 && pttl <= HOUR, `PTTL ${pttl} should be about one window (set once)`);
    assert.deepEqual(await admin.keys(`${P}:*`).then((k) => k.filter((x) => !x.includes(":events:")).sort()), [
      `${P}:u:${W}`,
    ]);
  });

  it("rate: weighted requests, over-limit weights are counted, refunds unblock", async (t) => {
    captureWarnings(t);
    const P = rlPrefix(t, "fw-rate");
    await freshWindow(HOUR, 20_000);
    const rl = make(P, Ratelimit.fixedWindow(5, "1 h"));
    const W = Math.floor(Date.now() / HOUR);
    const reset = (W + 1) * HOUR;
    assert.deepEqual(await rl.getRemaining("u"), { remaining: 5, reset, limit: 5 });
    assert.deepEqual(await hit(rl, "u", { rate: 3 }), { success: true, limit: 5, remaining: 2, reset });
    assert.deepEqual(await rl.getRemaining("u"), { remaining: 2, reset, limit: 5 });
    assert.deepEqual(await hit(rl, "u", { rate: 3 }), { success: false, limit: 5, remaining: 0, reset });
    assert.equal(await admin.get(`${P}:u:${W}`), "6");
    assert.deepEqual(await rl.getRemaining("u"), { remaining: 0, reset, limit: 5 });
    // a refund skips the cache check, succeeds (4 <= 5) and removes the block
    assert.deepEqual(await hit(rl, "u", { rate: -2 }), { success: true, limit: 5, remaining: 1, reset });
    assert.deepEqual(await hit(rl, "u"), { success: true, limit: 5, remaining: 0, reset });
    assert.equal(await admin.get(`${P}:u:${W}`), "5");
    // rate 0 peeks without consuming
    assert.deepEqual(await hit(rl, "u", { rate: 0 }), { success: true, limit: 5, remaining: 0, reset });
    // INCRBY with a fractional increment fails inside the script; the error reaches the caller
    await assert.rejects(rl.limit("u", { rate: 0.5 }), NOT_INT);
    assert.equal(await admin.get(`${P}:u:${W}`), "5");
  });

  it("resetUsedTokens deletes every window of the identifier (SCAN over many keys) and nothing else", async (t) => {
    captureWarnings(t);
    const P = rlPrefix(t, "fw-reset");
    await freshWindow(HOUR, 20_000);
    const rl = make(P, Ratelimit.fixedWindow(2, "1 h"));
    const W = Math.floor(Date.now() / HOUR);
    await hit(rl, "u");
    await hit(rl, "u");
    assert.equal((await hit(rl, "u")).success, false);
    // older windows of the same identifier, a longer identifier sharing the start, and enough
    // unrelated keys that SCAN has to return several cursors before it reaches "0"
    const p = admin.pipeline();
    p.set(`${P}:u:${W - 1}`, "7");
    p.set(`${P}:u:${W - 2}`, "9");
    p.set(`${P}:u2:${W}`, "1");
    for (let i = 0; i < 300; i++) p.set(`${P}:other${i}:${W}`, "1");
    await p.exec();
    await rl.resetUsedTokens("u");
    assert.deepEqual(await admin.keys(`${P}:u:*`), []);
    assert.equal(await admin.get(`${P}:u2:${W}`), "1");
    assert.equal((await admin.keys(`${P}:other*`)).length, 300);
    // the block cache entry is gone too: the next call reaches the server and succeeds
    assert.deepEqual(await rl.getRemaining("u"), { remaining: 2, reset: (W + 1) * HOUR, limit: 2 });
    assert.deepEqual(await hit(rl, "u"), { success: true, limit: 2, remaining: 1, reset: (W + 1) * HOUR });
  });

  it("resetUsedTokens treats the identifier as a glob (upstream trap; same SCAN MATCH as Redis)", async (t) => {
    captureWarnings(t);
    const P = rlPrefix(t, "fw-glob");
    await freshWindow(HOUR, 20_000);
    const rl = make(P, Ratelimit.fixedWindow(5, "1 h"), { ephemeralCache: false });
    const W = Math.floor(Date.now() / HOUR);
    for (const id of ["user", "user:42", "users", "[ab]", "a", "b", "c"]) await hit(rl, id);
    // P:user:* also matches user:42's window
    await rl.resetUsedTokens("user");
    assert.equal(await admin.exists(`${P}:user:${W}`), 0);
    assert.equal(await admin.exists(`${P}:user:42:${W}`), 0);
    assert.equal(await admin.get(`${P}:users:${W}`), "1");
    // P:[ab]:* matches a and b, not the literal "[ab]"
    await rl.resetUsedTokens("[ab]");
    assert.equal(await admin.get(`${P}:[ab]:${W}`), "1");
    assert.equal(await admin.exists(`${P}:a:${W}`), 0);
    assert.equal(await admin.exists(`${P}:b:${W}`), 0);
    assert.equal(await admin.get(`${P}:c:${W}`), "1");
  });

  it("a 1 s window rolls over: refused until reset, allowed after; the old counter expires", async (t) => {
    captureWarnings(t);
    const P = rlPrefix(t, "fw-roll");
    await freshWindow(1000, 500);
    const rl = make(P, Ratelimit.fixedWindow(2, "1 s"));
    const W = Math.floor(Date.now() / 1000);
    const reset = (W + 1) * 1000;
    assert.equal((await hit(rl, "u")).success, true);
    assert.equal((await hit(rl, "u")).success, true);
    const refused = await hit(rl, "u");
    assert.deepEqual(refused, { success: false, limit: 2, remaining: 0, reset });
    const pttl = await admin.pttl(`${P}:u:${W}`);
    assert.ok(pttl > 0 && pttl <= 1000, `PTTL ${pttl} should be within the 1 s window`);
    const ok = await until(async () => {
      const r = await hit(rl, "u");
      return r.success ? { r, at: Date.now() } : null;
    }, 3000, "a successful limit() after the window rolled over");
    assert.ok(ok.at >= reset, `allowed at ${ok.at}, before the reset ${reset}`);
    assert.equal(ok.r.remaining, 1);
    assert.equal(ok.r.reset % 1000, 0);
    assert.ok(ok.r.reset > reset);
    // PEXPIRE 1000 from the first hit: the old window's key is gone within ~1 s of it
    await until(async () => (await admin.exists(`${P}:u:${W}`)) === 0, 2500, "the old window key to expire");
  });

  it("blockUntilReady waits for the next window; a short timeout returns the refusal", async (t) => {
    captureWarnings(t);
    const P = rlPrefix(t, "fw-block");
    await freshWindow(1000, 600);
    const rl = make(P, Ratelimit.fixedWindow(1, "1 s"));
    assert.equal((await rl.blockUntilReady("u", 1000)).success, true);
    const t0 = Date.now();
    const short = await rl.blockUntilReady("u", 150);
    const shortElapsed = Date.now() - t0;
    assert.equal(short.success, false);
    assert.ok(shortElapsed >= 140 && shortElapsed < 900, `gave up after ${shortElapsed} ms (timeout 150)`);
    const reset = short.reset;
    const res = await rl.blockUntilReady("u", 3000);
    const at = Date.now();
    assert.equal(res.success, true, "allowed once the window rolled over");
    assert.ok(at >= reset, `returned at ${at}, before the window reset ${reset}`);
    assert.ok(at - reset < 1000, `returned ${at - reset} ms after the reset`);
    await assert.rejects(rl.blockUntilReady("u", 0), /timeout must be positive/);
  });
});

describe("ratelimit slidingWindow", () => {
  it("limit(): results, refused requests are not counted, key TTL 2*window+1s", async (t) => {
    captureWarnings(t);
    const P = rlPrefix(t, "sw");
    await freshWindow(HOUR, 20_000);
    const rl = make(P, Ratelimit.slidingWindow(5, "1 h"));
    const W = Math.floor(Date.now() / HOUR);
    const reset = (W + 1) * HOUR;
    for (let i = 1; i <= 5; i++) {
      assert.deepEqual(await hit(rl, "u"), { success: true, limit: 5, remaining: 5 - i, reset }, `call ${i}`);
    }
    assert.deepEqual(await hit(rl, "u"), { success: false, limit: 5, remaining: 0, reset });
    assert.deepEqual(await hit(rl, "u"), { success: false, limit: 5, remaining: 0, reset, reason: "cacheBlock" });
    assert.equal(await admin.get(`${P}:u:${W}`), "5");
    assert.equal(await admin.exists(`${P}:u:${W - 1}`), 0, "the previous window is only read");
    const pttl = await admin.pttl(`${P}:u:${W}`);
    assert.ok(pttl > 2 * HOUR + 1000 - 60_000 && pttl <= 2 * HOUR + 1000, `PTTL ${pttl}`);
    assert.deepEqual(await rl.getRemaining("u"), { remaining: 0, reset, limit: 5 });
  });

  it("weights the previous window by the time left in the current one (fixed clock)", async (t) => {
    captureWarnings(t);
    const P = rlPrefix(t, "sw-weight");
    const WIN = 10_000;
    const rl = make(P, Ratelimit.slidingWindow(10, "10 s"), { ephemeralCache: false });
    const W0 = Math.floor(Date.now() / WIN) + 3; // a window of our own, a little in the future
    const at = (w, ms) => (fn) => atTime((W0 + w) * WIN + ms, fn);
    await at(0, 1000)(async () => {
      for (let i = 0; i < 10; i++) assert.equal((await hit(rl, "u")).success, true);
      assert.deepEqual(await hit(rl, "u"), { success: false, limit: 10, remaining: 0, reset: (W0 + 1) * WIN });
    });
    // 25 % into the next window: floor(0.75 * 10) = 7 from the previous window
    await at(1, 2500)(async () => {
      assert.deepEqual(await rl.getRemaining("u"), { remaining: 3, reset: (W0 + 2) * WIN, limit: 10 });
      assert.deepEqual(await hit(rl, "u"), { success: true, limit: 10, remaining: 2, reset: (W0 + 2) * WIN });
      assert.deepEqual(await hit(rl, "u"), { success: true, limit: 10, remaining: 1, reset: (W0 + 2) * WIN });
      assert.deepEqual(await hit(rl, "u"), { success: true, limit: 10, remaining: 0, reset: (W0 + 2) * WIN });
      assert.deepEqual(await hit(rl, "u"), { success: false, limit: 10, remaining: 0, reset: (W0 + 2) * WIN });
    });
    assert.equal(await admin.get(`${P}:u:${W0 + 1}`), "3");
    // 50 %: floor(0.5 * 10) = 5, plus 3 in the current window
    await at(1, 5000)(async () => {
      assert.deepEqual(await rl.getRemaining("u"), { remaining: 2, reset: (W0 + 2) * WIN, limit: 10 });
      assert.deepEqual(await hit(rl, "u"), { success: true, limit: 10, remaining: 1, reset: (W0 + 2) * WIN });
    });
    // 99.99 %: floor(0.0001 * 10) = 0
    await at(1, 9999)(async () => {
      assert.deepEqual(await rl.getRemaining("u"), { remaining: 6, reset: (W0 + 2) * WIN, limit: 10 });
    });
    // two windows later the 4 requests of window W0+1 are the previous window, at 0 % in full
    await at(2, 0)(async () => {
      assert.deepEqual(await rl.getRemaining("u"), { remaining: 6, reset: (W0 + 3) * WIN, limit: 10 });
    });
    // and three windows later nothing is left
    await at(3, 0)(async () => {
      assert.deepEqual(await rl.getRemaining("u"), { remaining: 10, reset: (W0 + 4) * WIN, limit: 10 });
    });
  });

  it("rate: an overshooting request is refused but counted; refunds are not limit-checked", async (t) => {
    captureWarnings(t);
    const P = rlPrefix(t, "sw-rate");
    await freshWindow(HOUR, 20_000);
    const rl = make(P, Ratelimit.slidingWindow(3, "1 h"), { ephemeralCache: false });
    const W = Math.floor(Date.now() / HOUR);
    const reset = (W + 1) * HOUR;
    // empty window, rate 5 > limit 3: admitted by the "already full?" check, result 3 - 5 < 0
    assert.deepEqual(await hit(rl, "u", { rate: 5 }), { success: false, limit: 3, remaining: 0, reset });
    assert.equal(await admin.get(`${P}:u:${W}`), "5");
    assert.deepEqual(await hit(rl, "u"), { success: false, limit: 3, remaining: 0, reset });
    assert.equal(await admin.get(`${P}:u:${W}`), "5", "a request refused by the full-window check is not counted");
    assert.deepEqual(await hit(rl, "u", { rate: -3 }), { success: true, limit: 3, remaining: 1, reset });
    assert.equal(await admin.get(`${P}:u:${W}`), "2");
    assert.deepEqual(await hit(rl, "u"), { success: true, limit: 3, remaining: 0, reset });
    assert.deepEqual(await rl.getRemaining("u"), { remaining: 0, reset, limit: 3 });
    await rl.resetUsedTokens("u");
    assert.deepEqual(await admin.keys(`${P}:u:*`), []);
    assert.deepEqual(await hit(rl, "u"), { success: true, limit: 3, remaining: 2, reset });
  });

  it("blockUntilReady with a 1 s window", async (t) => {
    captureWarnings(t);
    const P = rlPrefix(t, "sw-block");
    await freshWindow(1000, 600);
    const rl = make(P, Ratelimit.slidingWindow(1, "1 s"));
    assert.equal((await rl.blockUntilReady("u", 1000)).success, true);
    const first = await hit(rl, "u");
    assert.equal(first.success, false);
    // the weighted previous window can refuse right after the boundary, so allow up to 2 windows
    const t0 = Date.now();
    const res = await rl.blockUntilReady("u", 4000);
    assert.equal(res.success, true);
    assert.ok(Date.now() >= first.reset, "not before the window reset");
    assert.ok(Date.now() - t0 < 3500, `took ${Date.now() - t0} ms`);
  });
});

describe("ratelimit tokenBucket", () => {
  it("limit(): results, the bucket hash (refilledAt, tokens) and its TTL", async (t) => {
    captureWarnings(t);
    const P = rlPrefix(t, "tb");
    const rl = make(P, Ratelimit.tokenBucket(1, "1 h", 5));
    const before = Date.now();
    const r1 = await hit(rl, "u");
    const after = Date.now();
    assert.equal(r1.success, true);
    assert.equal(r1.limit, 5);
    assert.equal(r1.remaining, 4);
    assert.ok(r1.reset >= before + HOUR && r1.reset <= after + HOUR, `reset ${r1.reset}`);
    const refilledAt = r1.reset - HOUR;
    assert.deepEqual(await hashOf(`${P}:u`), { refilledAt: String(refilledAt), tokens: "4" });
    let pttl = await admin.pttl(`${P}:u`);
    assert.ok(pttl > HOUR - 60_000 && pttl <= HOUR, `PTTL ${pttl}: ceil((5-4)/1) intervals`);
    for (let i = 3; i >= 0; i--) {
      assert.deepEqual(await hit(rl, "u"), { success: true, limit: 5, remaining: i, reset: r1.reset });
    }
    pttl = await admin.pttl(`${P}:u`);
    assert.ok(pttl > 5 * HOUR - 60_000 && pttl <= 5 * HOUR, `PTTL ${pttl}: ceil((5-0)/1) intervals`);
    assert.deepEqual(await hit(rl, "u"), { success: false, limit: 5, remaining: 0, reset: r1.reset });
    assert.deepEqual(await hit(rl, "u"), {
      success: false,
      limit: 5,
      remaining: 0,
      reset: r1.reset,
      reason: "cacheBlock",
    });
    assert.deepEqual(await hashOf(`${P}:u`), { refilledAt: String(refilledAt), tokens: "0" });
    assert.deepEqual(await rl.getRemaining("u"), { remaining: 0, reset: r1.reset, limit: 5 });
    // an unknown identifier: full bucket, reset one interval from now
    const b = Date.now();
    const fresh = await rl.getRemaining("nobody");
    assert.equal(fresh.remaining, 5);
    assert.equal(fresh.limit, 5);
    assert.ok(fresh.reset >= b + HOUR && fresh.reset <= Date.now() + HOUR);
    assert.equal(await admin.exists(`${P}:nobody`), 0);
    await rl.resetUsedTokens("u");
    assert.equal(await admin.exists(`${P}:u`), 0);
    assert.equal((await hit(rl, "u")).remaining, 4);
  });

  it("refills in whole intervals anchored to the first use (fixed clock)", async (t) => {
    captureWarnings(t);
    const P = rlPrefix(t, "tb-refill");
    const rl = make(P, Ratelimit.tokenBucket(2, "10 s", 5), { ephemeralCache: false });
    const T = Math.floor(Date.now() / 1000) * 1000 + 123; // any anchor works
    await atTime(T, async () => {
      for (let i = 4; i >= 0; i--) {
        assert.deepEqual(await hit(rl, "u"), { success: true, limit: 5, remaining: i, reset: T + 10_000 });
      }
      assert.deepEqual(await hit(rl, "u"), { success: false, limit: 5, remaining: 0, reset: T + 10_000 });
    });
    await atTime(T + 9_999, async () => {
      assert.deepEqual(await hit(rl, "u"), { success: false, limit: 5, remaining: 0, reset: T + 10_000 });
    });
    await atTime(T + 10_000, async () => {
      assert.deepEqual(await hit(rl, "u"), { success: true, limit: 5, remaining: 1, reset: T + 20_000 });
    });
    assert.deepEqual(await hashOf(`${P}:u`), { refilledAt: String(T + 10_000), tokens: "1" });
    // 2.5 intervals later: 2 refills of 2 tokens (capped at 5), anchor moves by 2 intervals
    await atTime(T + 35_000, async () => {
      assert.deepEqual(await hit(rl, "u"), { success: true, limit: 5, remaining: 4, reset: T + 40_000 });
      // getRemaining reports the stored tokens without refilling
      assert.deepEqual(await rl.getRemaining("u"), { remaining: 4, reset: T + 40_000, limit: 5 });
    });
    await atTime(T + 1_000_000, async () => {
      // far later: capped at maxTokens
      assert.deepEqual(await hit(rl, "u"), { success: true, limit: 5, remaining: 4, reset: T + 1_010_000 });
    });
    const pttl = await admin.pttl(`${P}:u`);
    assert.ok(pttl > 0 && pttl <= 10_000, `PTTL ${pttl}: ceil((5-4)/2) intervals of 10 s`);
  });

  it("rate: more than the tokens left is refused without writing (2.2.0); refunds; rate 0", async (t) => {
    captureWarnings(t);
    const P = rlPrefix(t, "tb-rate");
    const rl = make(P, Ratelimit.tokenBucket(1, "1 h", 3), { ephemeralCache: false });
    const r = await hit(rl, "u", { rate: 5 });
    assert.equal(r.success, false);
    assert.equal(r.remaining, 0);
    assert.equal(r.limit, 3);
    assert.equal(await admin.exists(`${P}:u`), 0, "a refused request writes nothing");
    assert.equal((await hit(rl, "u", { rate: 2 })).remaining, 1);
    assert.equal((await hit(rl, "u", { rate: 2 })).success, false);
    assert.equal(await admin.hget(`${P}:u`, "tokens"), "1");
    // refund above the maximum: stored as is, no PEXPIRE (ceil((3-4)/1) <= 0) so the TTL stays
    const refund = await hit(rl, "u", { rate: -3 });
    assert.equal(refund.success, true);
    assert.equal(refund.remaining, 4);
    assert.equal(await admin.hget(`${P}:u`, "tokens"), "4");
    const pttl = await admin.pttl(`${P}:u`);
    assert.ok(pttl > 2 * HOUR - 60_000 && pttl <= 2 * HOUR, `PTTL ${pttl} left from the previous write`);
    // rate 0 on a new bucket: full after the write, so no TTL at all (persistent key)
    const zero = await hit(rl, "z", { rate: 0 });
    assert.equal(zero.success, true);
    assert.equal(zero.remaining, 3);
    assert.equal(await admin.hget(`${P}:z`, "tokens"), "3");
    assert.equal(await admin.pttl(`${P}:z`), -1);
  });

  it("fractional rates: Lua numbers stored as %.17g, replies truncated to integers", async (t) => {
    captureWarnings(t);
    const P = rlPrefix(t, "tb-frac");
    const rl = make(P, Ratelimit.tokenBucket(1, "1 h", 5), { ephemeralCache: false });
    const r1 = await hit(rl, "u", { rate: 0.1 });
    assert.equal(r1.success, true);
    assert.equal(r1.remaining, 4, "4.9 is returned as the integer 4");
    assert.equal(await admin.hget(`${P}:u`, "tokens"), g17(5 - 0.1));
    assert.equal(await admin.hget(`${P}:u`, "tokens"), "4.9000000000000004");
    // ceil((5 - 4.9) / 1) = 1 interval
    const pttl = await admin.pttl(`${P}:u`);
    assert.ok(pttl > HOUR - 60_000 && pttl <= HOUR, `PTTL ${pttl}`);
    const r2 = await hit(rl, "u", { rate: -3 });
    assert.equal(r2.remaining, 7);
    assert.equal(await admin.hget(`${P}:u`, "tokens"), g17(5 - 0.1 + 3));
    const r3 = await hit(rl, "u", { rate: 7.5 });
    assert.equal(r3.success, true);
    assert.equal(r3.remaining, 0, "0.4 is returned as 0");
    assert.equal(await admin.hget(`${P}:u`, "tokens"), g17(5 - 0.1 + 3 - 7.5));
    const r4 = await hit(rl, "u", { rate: 0.5 });
    assert.equal(r4.success, false, "0.4 tokens < 0.5");
  });

  it("a 1 s interval refills in real time; blockUntilReady waits for it", async (t) => {
    captureWarnings(t);
    const P = rlPrefix(t, "tb-real");
    const rl = make(P, Ratelimit.tokenBucket(1, "1 s", 2));
    assert.equal((await hit(rl, "u")).success, true);
    assert.equal((await hit(rl, "u")).success, true);
    const refused = await hit(rl, "u");
    assert.equal(refused.success, false);
    const res = await rl.blockUntilReady("u", 3000);
    const at = Date.now();
    assert.equal(res.success, true);
    assert.ok(at >= refused.reset, `allowed at ${at}, before the refill at ${refused.reset}`);
    assert.ok(at - refused.reset < 1000, `allowed ${at - refused.reset} ms after the refill`);
    assert.equal(res.remaining, 0);
    // PEXPIRE ceil((2-0)/1) * 1000 ms: the bucket disappears by itself
    await until(async () => (await admin.exists(`${P}:u`)) === 0, 3500, "the bucket key to expire");
  });
});

describe("ratelimit cachedFixedWindow", () => {
  it("first call goes to the server, later ones count locally and write in the background", async (t) => {
    captureWarnings(t);
    const P = rlPrefix(t, "cfw");
    await freshWindow(HOUR, 20_000);
    const rl = make(P, Ratelimit.cachedFixedWindow(5, "1 h"));
    const W = Math.floor(Date.now() / HOUR);
    const reset = (W + 1) * HOUR;
    for (let i = 1; i <= 5; i++) {
      assert.deepEqual(await hit(rl, "u"), { success: true, limit: 5, remaining: 5 - i, reset }, `call ${i}`);
      assert.equal(await admin.get(`${P}:u:${W}`), String(i), "the background INCRBY has landed");
    }
    // over the limit on a cache hit: remaining is not clamped, the server is not called
    assert.deepEqual(await hit(rl, "u"), { success: false, limit: 5, remaining: -1, reset });
    assert.equal(await admin.get(`${P}:u:${W}`), "5");
    // upstream bug kept on purpose (spec §2.4): the script compares INCRBY's number with the
    // ARGV string, so PEXPIRE never runs — Redis leaves the key without a TTL too
    assert.equal(await admin.pttl(`${P}:u:${W}`), -1);
    assert.deepEqual(await rl.getRemaining("u"), { remaining: 0, reset, limit: 5 });
    // another instance (empty cache) reads the counter through the getRemaining script
    const other = make(P, Ratelimit.cachedFixedWindow(5, "1 h"));
    assert.deepEqual(await other.getRemaining("u"), { remaining: 0, reset, limit: 5 });
    assert.deepEqual(await hit(other, "u"), { success: false, limit: 5, remaining: -1, reset });
    assert.equal(await admin.get(`${P}:u:${W}`), "6");
    // the counter is the fixedWindow counter
    const fw = make(P, Ratelimit.fixedWindow(10, "1 h"));
    assert.deepEqual(await fw.getRemaining("u"), { remaining: 4, reset, limit: 10 });
    await rl.resetUsedTokens("u");
    assert.deepEqual(await admin.keys(`${P}:u:*`), []);
    assert.deepEqual(await rl.getRemaining("u"), { remaining: 5, reset, limit: 5 });
    assert.deepEqual(await hit(rl, "u"), { success: true, limit: 5, remaining: 4, reset });
  });

  it("rate on a cache miss and a cache hit", async (t) => {
    captureWarnings(t);
    const P = rlPrefix(t, "cfw-rate");
    await freshWindow(HOUR, 20_000);
    const rl = make(P, Ratelimit.cachedFixedWindow(10, "1 h"));
    const W = Math.floor(Date.now() / HOUR);
    assert.equal((await hit(rl, "u", { rate: 4 })).remaining, 6);
    assert.equal((await hit(rl, "u", { rate: 6 })).remaining, 0);
    assert.equal(await admin.get(`${P}:u:${W}`), "10");
    assert.equal((await hit(rl, "u", { rate: -3 })).remaining, 3);
    assert.equal(await admin.get(`${P}:u:${W}`), "7");
  });

  it("blockUntilReady with a 1 s window", async (t) => {
    captureWarnings(t);
    const P = rlPrefix(t, "cfw-block");
    await freshWindow(1000, 600);
    const rl = make(P, Ratelimit.cachedFixedWindow(1, "1 s"));
    assert.equal((await hit(rl, "u")).success, true);
    const refused = await hit(rl, "u");
    assert.equal(refused.success, false);
    const res = await rl.blockUntilReady("u", 3000);
    assert.equal(res.success, true);
    assert.ok(Date.now() >= refused.reset);
    assert.ok(Date.now() - refused.reset < 1000);
  });
});
