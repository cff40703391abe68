// The Rust limiter (lib/ratelimit, `larder-ratelimit`) and @upstash/ratelimit share counts on the
// same keys, through larder.
//
// The Rust side runs as a separate process: the example binary `driver` of larder-ratelimit
// (lib/ratelimit/examples/driver.rs), which takes the same JSON spec as ../ratelimit-driver.mjs.
// Its path is LARDER_RATELIMIT_DRIVER (run.sh sets it next to LARDER_BIN:
// <target>/debug/examples/driver); build it with
//
//   cargo build -p larder-ratelimit --example driver
//
// Without the binary the tests are skipped, except under CI=true, where they fail.
//
// Checked, for fixedWindow, slidingWindow, tokenBucket (and cachedFixedWindow where it applies) (the JS field names `refilledAt` and
// `tokens` are the ones the Rust crate uses; Python's `refilled_at` is the odd one out):
// * 30 calls from one side then 30 from the other, limit 50: the second side sees exactly 20
//   successes, in both directions, and getRemaining agrees on both sides;
// * both sides at once, 100 concurrent calls each: exactly 50 successes in total;
// * rate 0 and negative rates (refunds) answer the same on both sides;
// * cachedFixedWindow (JS) and fixedWindow (Rust) share the counter;
// * the Lua scripts in lib/ratelimit/src/scripts are byte for byte the installed bundle's, and a
//   script the Rust side loaded is found by JS's EVALSHA (SCRIPT EXISTS on the JS hashes);
// * analytics members written by both sides are the same (counts merge in one sorted-set member);
// * MultiRegionRatelimit (fixedWindow, slidingWindow) over three larders (LARDER_EXTRA_REST_URLS):
//   30 from Rust then 30 from JS → JS sees 20, every region holding every request id.

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { MultiRegionRatelimit, Ratelimit } from "@upstash/ratelimit";
import { Redis } from "@upstash/redis";
import {
  EXTRA_URLS,
  HOUR,
  REST_URL,
  TOKEN,
  admin,
  adminFor,
  analyticsEvents,
  bundledScripts,
  captureWarnings,
  freshWindow,
  hashOf,
  member,
  newRedis,
  rlPrefix,
  successes,
} from "./ratelimit-helpers.mjs";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../../../..");
const DRIVER = process.env.LARDER_RATELIMIT_DRIVER || join(ROOT, "target/debug/examples/driver");
const HAVE_DRIVER = existsSync(DRIVER);
const SKIP = HAVE_DRIVER || process.env.CI === "true" ? false : `no Rust driver at ${DRIVER}`;
const LIMIT = 50;
const run = promisify(execFile);

/** Runs the Rust limiter: {results: [...], remaining?: {...}}. */
async function rust(spec) {
  if (!HAVE_DRIVER) {
    throw new Error(`no Rust driver at ${DRIVER}: cargo build -p larder-ratelimit --example driver`);
  }
  const { stdout } = await run(DRIVER, [JSON.stringify(spec)], { env: process.env, timeout: 60_000 });
  const lines = stdout.split("\n").filter((l) => l.startsWith("{"));
  assert.ok(lines.length > 0, `no JSON from the Rust driver: ${stdout}`);
  return JSON.parse(lines.at(-1));
}

const JS_LIMITERS = {
  fixedWindow: () => Ratelimit.fixedWindow(LIMIT, "1 h"),
  slidingWindow: () => Ratelimit.slidingWindow(LIMIT, "1 h"),
  tokenBucket: () => Ratelimit.tokenBucket(1, "1 h", LIMIT),
  cachedFixedWindow: () => Ratelimit.cachedFixedWindow(LIMIT, "1 h"),
};

function jsLimiter(algo, prefix) {
  return new Ratelimit({ redis: newRedis(), prefix, limiter: JS_LIMITERS[algo](), analytics: true });
}

async function jsCalls(rl, id, n) {
  const out = [];
  for (let i = 0; i < n; i++) {
    const r = await rl.limit(id);
    await r.pending;
    out.push(r);
  }
  return out;
}

describe("Rust (larder-ratelimit) and JavaScript (@upstash/ratelimit) share counts", { skip: SKIP }, () => {
  for (const algo of ["fixedWindow", "slidingWindow", "tokenBucket", "cachedFixedWindow"]) {
    it(`${algo}: 30 from Rust, then 30 from JS → JS sees 20`, async (t) => {
      captureWarnings(t);
      const P = rlPrefix(t, `rs-${algo}`);
      await freshWindow(HOUR, 20_000);
      const rs = await rust({ algo, prefix: P, id: "user-1", limit: LIMIT, window: "1 h", calls: 30 });
      assert.equal(successes(rs.results), 30);
      assert.deepEqual(
        rs.results.map((r) => r.remaining),
        Array.from({ length: 30 }, (_, i) => LIMIT - 1 - i),
      );
      const rl = jsLimiter(algo, P);
      assert.equal((await rl.getRemaining("user-1")).remaining, 20);
      const js = await jsCalls(rl, "user-1", 30);
      assert.equal(successes(js), 20);
      assert.equal(js[19].remaining, 0);
    });

    it(`${algo}: 30 from JS, then 30 from Rust → Rust sees 20`, async (t) => {
      captureWarnings(t);
      const P = rlPrefix(t, `js-${algo}`);
      await freshWindow(HOUR, 20_000);
      const rl = jsLimiter(algo, P);
      const js = await jsCalls(rl, "user-2", 30);
      assert.equal(successes(js), 30);
      const rs = await rust({
        algo, prefix: P, id: "user-2", limit: LIMIT, window: "1 h", calls: 30, getRemaining: true,
      });
      assert.equal(successes(rs.results), 20);
      assert.equal(rs.results[0].remaining, 19);
      assert.equal(rs.remaining.remaining, 0);
      assert.equal(rs.remaining.limit, LIMIT);
      // A fresh limiter: cachedFixedWindow's own ephemeral cache still counts 30.
      const jsRem = await jsLimiter(algo, P).getRemaining("user-2");
      assert.equal(jsRem.remaining, 0);
      assert.equal(jsRem.reset, rs.remaining.reset);
    });

  }

  // cachedFixedWindow decides from each process's local count: exact only within one process.
  for (const algo of ["fixedWindow", "slidingWindow", "tokenBucket"]) {
    it(`${algo}: 100 concurrent from each side at once → exactly 50`, async (t) => {
      captureWarnings(t);
      const P = rlPrefix(t, `both-${algo}`);
      await freshWindow(HOUR, 20_000);
      const rl = new Ratelimit({
        redis: newRedis({ enableAutoPipelining: false }),
        prefix: P,
        limiter: JS_LIMITERS[algo](),
        ephemeralCache: false,
      });
      const [rs, js] = await Promise.all([
        rust({ algo, prefix: P, id: "both", limit: LIMIT, window: "1 h", calls: 100, concurrent: true, analytics: false }),
        Promise.all(Array.from({ length: 100 }, () => rl.limit("both"))),
      ]);
      assert.equal(successes(rs.results) + successes(js), LIMIT);
    });
  }

  for (const algo of ["fixedWindow", "slidingWindow", "tokenBucket"]) {
    it(`${algo}: rate 0 and refunds answer the same on both sides`, async (t) => {
      captureWarnings(t);
      const P = rlPrefix(t, `rate-${algo}`);
      await freshWindow(HOUR, 20_000);
      const rl = new Ratelimit({ redis: newRedis(), prefix: P, limiter: JS_LIMITERS[algo](), ephemeralCache: false });
      const spec = { algo, prefix: P, id: "r", limit: LIMIT, window: "1 h", calls: 1, analytics: false };
      const filled = await jsCalls(rl, "r", LIMIT + 1);
      assert.equal(successes(filled), LIMIT);
      // Rate 0 at the limit: the same answer from both (each algorithm's own rule).
      const js0 = await rl.limit("r", { rate: 0 });
      const [rs0] = (await rust({ ...spec, rate: 0 })).results;
      assert.deepEqual([rs0.success, rs0.remaining], [js0.success, js0.remaining]);
      // A refund from Rust gives JS the units back.
      const [refund] = (await rust({ ...spec, rate: -5 })).results;
      assert.equal(refund.success, true);
      assert.equal(refund.remaining, algo === "fixedWindow" ? 4 : 5); // the fixed window counted the rejection
      assert.equal((await rl.getRemaining("r")).remaining, refund.remaining);
      const spend = await rl.limit("r", { rate: refund.remaining });
      assert.deepEqual([spend.success, spend.remaining], [true, 0]);
      const [after] = (await rust({ ...spec, rate: 1 })).results;
      assert.equal(after.success, false);
    });
  }

  it("tokenBucket: the hash written by Rust is the one JS writes", async (t) => {
    captureWarnings(t);
    const P = rlPrefix(t, "tb-shape");
    const before = Date.now();
    await rust({ algo: "tokenBucket", prefix: P, id: "b", limit: 5, window: "1 h", calls: 2, analytics: false });
    const h = await hashOf(`${P}:b`);
    assert.deepEqual(Object.keys(h).sort(), ["refilledAt", "tokens"]);
    assert.equal(String(h.tokens), "3");
    assert.ok(Number(h.refilledAt) >= before && Number(h.refilledAt) <= Date.now());
    const ttl = await admin.pttl(`${P}:b`);
    assert.ok(ttl > 2 * HOUR - 60_000 && ttl <= 2 * HOUR, `ttl ${ttl}`);
  });

  it("cachedFixedWindow (JS) and fixedWindow (Rust) share the counter", async (t) => {
    captureWarnings(t);
    const P = rlPrefix(t, "cfw");
    await freshWindow(HOUR, 20_000);
    const W = Math.floor(Date.now() / HOUR);
    const rs = await rust({ algo: "fixedWindow", prefix: P, id: "c", limit: LIMIT, window: "1 h", calls: 45 });
    assert.equal(successes(rs.results), 45);
    const rl = jsLimiter("cachedFixedWindow", P);
    const js = await jsCalls(rl, "c", 10);
    assert.equal(successes(js), 5);
    // The Rust cachedFixedWindow reads the same counter.
    const rc = await rust({ algo: "cachedFixedWindow", prefix: P, id: "c", limit: LIMIT, window: "1 h", calls: 1, getRemaining: true });
    assert.equal(rc.results[0].success, false);
    assert.equal(Number(await admin.get(`${P}:c:${W}`)), 45 + 5 + 1);
  });

  it("the scripts are the bundle's, byte for byte, and EVALSHA finds the ones Rust loaded", async (t) => {
    captureWarnings(t);
    const { SCRIPTS, RESET_SCRIPT, checkDenyListScript } = bundledScripts();
    const dir = join(ROOT, "lib/ratelimit/src/scripts");
    const files = {
      fixed_window_limit: SCRIPTS.singleRegion.fixedWindow.limit,
      fixed_window_remaining: SCRIPTS.singleRegion.fixedWindow.getRemaining,
      sliding_window_limit: SCRIPTS.singleRegion.slidingWindow.limit,
      sliding_window_remaining: SCRIPTS.singleRegion.slidingWindow.getRemaining,
      token_bucket_limit: SCRIPTS.singleRegion.tokenBucket.limit,
      token_bucket_remaining: SCRIPTS.singleRegion.tokenBucket.getRemaining,
      cached_fixed_window_limit: SCRIPTS.singleRegion.cachedFixedWindow.limit,
      cached_fixed_window_remaining: SCRIPTS.singleRegion.cachedFixedWindow.getRemaining,
      multi_fixed_window_limit: SCRIPTS.multiRegion.fixedWindow.limit,
      multi_fixed_window_remaining: SCRIPTS.multiRegion.fixedWindow.getRemaining,
      multi_sliding_window_limit: SCRIPTS.multiRegion.slidingWindow.limit,
      multi_sliding_window_remaining: SCRIPTS.multiRegion.slidingWindow.getRemaining,
      reset: RESET_SCRIPT,
    };
    for (const [name, s] of Object.entries(files)) {
      assert.equal(readFileSync(join(dir, `${name}.lua`), "utf8"), s.script, name);
    }
    assert.equal(readFileSync(join(dir, "deny_list_check.lua"), "utf8"), checkDenyListScript);
    // After a flush, the Rust side's EVALSHA falls back to EVAL, which caches the script under
    // the hash JavaScript uses.
    await admin.scriptFlush();
    const P = rlPrefix(t, "sha");
    await rust({ algo: "slidingWindow", prefix: P, id: "s", limit: 5, window: "1 h", calls: 1, analytics: false });
    const [exists] = await admin.scriptExists(SCRIPTS.singleRegion.slidingWindow.limit.hash);
    assert.equal(exists, 1);
  });

  it("analytics events from both sides merge into the same members", async (t) => {
    captureWarnings(t);
    const P = rlPrefix(t, "an");
    await freshWindow(HOUR, 20_000);
    await rust({ algo: "fixedWindow", prefix: P, id: "10.0.0.1", limit: 2, window: "1 h", calls: 3 });
    const rl = new Ratelimit({ redis: newRedis(), prefix: P, limiter: Ratelimit.fixedWindow(2, "1 h"), analytics: true });
    const js = await jsCalls(rl, "10.0.0.1", 1);
    assert.equal(js[0].success, false);
    const { events } = await analyticsEvents(P);
    assert.deepEqual(events, { [member("10.0.0.1", true)]: 2, [member("10.0.0.1", false)]: 2 });
  });
});

const REGION_URLS = [REST_URL, ...EXTRA_URLS];
const MR_SKIP = SKIP || (EXTRA_URLS.length < 2 ? "needs two extra larder instances (LARDER_EXTRA_REST_URLS)" : false);

describe("Rust and JavaScript MultiRegionRatelimit share counts over three larders", { skip: MR_SKIP }, () => {
  for (const algo of ["fixedWindow", "slidingWindow"]) {
    it(`${algo}: 30 from Rust, then 30 from JS → JS sees 20; then Rust sees none left`, async (t) => {
      captureWarnings(t);
      const P = rlPrefix(t, `mr-${algo}`);
      await freshWindow(HOUR, 20_000);
      const spec = { algo, prefix: P, id: "m", limit: LIMIT, window: "1 h", regions: REGION_URLS, analytics: false };
      const rs = await rust({ ...spec, calls: 30 });
      assert.equal(successes(rs.results), 30);
      // The Rust side's sync reached every region: each holds the 30 request ids.
      for (const url of REGION_URLS) {
        const h = await hashOf(`${P}:m:${Math.floor(Date.now() / HOUR)}`, adminFor(url));
        assert.equal(Object.keys(h).length, 30, url);
      }
      const rl = new MultiRegionRatelimit({
        redis: REGION_URLS.map((url) => new Redis({ url, token: TOKEN, retry: false })),
        prefix: P,
        limiter: MultiRegionRatelimit[algo](LIMIT, "1 h"),
      });
      const js = await jsCalls(rl, "m", 30);
      assert.equal(successes(js), 20);
      const after = await rust({ ...spec, calls: 1, getRemaining: true });
      assert.equal(after.results[0].success, false);
      assert.equal(after.remaining.remaining, 0);
      assert.equal((await rl.getRemaining("m")).remaining, 0);
    });
  }
});
