// 200 concurrent limit() calls for one identifier with a limit of 50 must allow exactly 50, for
// every algorithm where the scripts make that an invariant: each script runs atomically on the
// server, so the 200 increments are serialised there.
//
// Each algorithm runs with both transports of @upstash/redis: auto-pipelining (the 200 EVALSHAs
// travel in a few POST /pipeline batches) and without it (200 parallel POST / requests on their
// own connections, so the server really executes them concurrently). The ephemeral cache is
// switched off so that every call reaches the server. Windows/intervals are 1 h (and the tail
// of a window is skipped), so no boundary or refill happens during the burst.

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { MultiRegionRatelimit, Ratelimit } from "@upstash/ratelimit";
import { HOUR, admin, captureWarnings, freshWindow, newRedis, rlPrefix, successes } from "./ratelimit-helpers.mjs";

const N = 200;
const LIMIT = 50;

const TRANSPORTS = [
  { name: "auto-pipelining", opts: {} },
  { name: "one request per call", opts: { enableAutoPipelining: false } },
];

async function burst(rl, id) {
  const rs = await Promise.all(Array.from({ length: N }, () => rl.limit(id)));
  await Promise.all(rs.map((r) => r.pending));
  return rs;
}

for (const tr of TRANSPORTS) {
  describe(`ratelimit concurrency: ${N} parallel limit() calls, limit ${LIMIT} (${tr.name})`, () => {
    it("fixedWindow allows exactly 50 and counts all 200", async (t) => {
      captureWarnings(t);
      const P = rlPrefix(t, "cc-fw");
      await freshWindow(HOUR, 20_000);
      const W = Math.floor(Date.now() / HOUR);
      const rl = new Ratelimit({
        redis: newRedis(tr.opts),
        prefix: P,
        limiter: Ratelimit.fixedWindow(LIMIT, "1 h"),
        ephemeralCache: false,
        analytics: true,
      });
      const rs = await burst(rl, "u");
      assert.equal(successes(rs), LIMIT);
      assert.equal(rs.filter((r) => r.reason !== undefined).length, 0, "no timeouts or cache blocks");
      // every remaining value 0..49 was handed out exactly once
      assert.deepEqual(
        rs.filter((r) => r.success).map((r) => r.remaining).sort((a, b) => a - b),
        Array.from({ length: LIMIT }, (_, i) => i),
      );
      assert.equal(await admin.get(`${P}:u:${W}`), String(N));
    });

    it("slidingWindow allows exactly 50 and counts only those", async (t) => {
      captureWarnings(t);
      const P = rlPrefix(t, "cc-sw");
      await freshWindow(HOUR, 20_000);
      const W = Math.floor(Date.now() / HOUR);
      const rl = new Ratelimit({
        redis: newRedis(tr.opts),
        prefix: P,
        limiter: Ratelimit.slidingWindow(LIMIT, "1 h"),
        ephemeralCache: false,
        analytics: true,
      });
      const rs = await burst(rl, "u");
      assert.equal(successes(rs), LIMIT);
      assert.deepEqual(
        rs.filter((r) => r.success).map((r) => r.remaining).sort((a, b) => a - b),
        Array.from({ length: LIMIT }, (_, i) => i),
      );
      assert.equal(await admin.get(`${P}:u:${W}`), String(LIMIT));
    });

    it("tokenBucket (no refill during the test) allows exactly 50", async (t) => {
      captureWarnings(t);
      const P = rlPrefix(t, "cc-tb");
      const rl = new Ratelimit({
        redis: newRedis(tr.opts),
        prefix: P,
        limiter: Ratelimit.tokenBucket(1, "1 h", LIMIT),
        ephemeralCache: false,
        analytics: true,
      });
      const rs = await burst(rl, "u");
      assert.equal(successes(rs), LIMIT);
      assert.deepEqual(
        rs.filter((r) => r.success).map((r) => r.remaining).sort((a, b) => a - b),
        Array.from({ length: LIMIT }, (_, i) => i),
      );
      assert.equal(await admin.hget(`${P}:u`, "tokens"), "0");
    });

    it("cachedFixedWindow (all calls miss the fresh cache) allows exactly 50", async (t) => {
      captureWarnings(t);
      const P = rlPrefix(t, "cc-cfw");
      await freshWindow(HOUR, 20_000);
      const W = Math.floor(Date.now() / HOUR);
      const rl = new Ratelimit({
        redis: newRedis(tr.opts),
        prefix: P,
        limiter: Ratelimit.cachedFixedWindow(LIMIT, "1 h"),
        analytics: true,
      });
      const rs = await burst(rl, "u");
      assert.equal(successes(rs), LIMIT);
      assert.equal(await admin.get(`${P}:u:${W}`), String(N));
    });

    it("MultiRegionRatelimit.fixedWindow with one region allows exactly 50", async (t) => {
      captureWarnings(t);
      const P = rlPrefix(t, "cc-mfw");
      await freshWindow(HOUR, 20_000);
      const W = Math.floor(Date.now() / HOUR);
      const rl = new MultiRegionRatelimit({
        redis: [newRedis(tr.opts)],
        prefix: P,
        limiter: MultiRegionRatelimit.fixedWindow(LIMIT, "1 h"),
        analytics: true,
      });
      const rs = await burst(rl, "u");
      assert.equal(successes(rs), LIMIT);
      assert.equal(await admin.hlen(`${P}:u:${W}`), N, "every request id is recorded");
    });

    it("MultiRegionRatelimit.slidingWindow with one region allows exactly 50", async (t) => {
      captureWarnings(t);
      const P = rlPrefix(t, "cc-msw");
      await freshWindow(HOUR, 20_000);
      const W = Math.floor(Date.now() / HOUR);
      const rl = new MultiRegionRatelimit({
        redis: [newRedis(tr.opts)],
        prefix: P,
        limiter: MultiRegionRatelimit.slidingWindow(LIMIT, "1 h"),
        analytics: true,
      });
      const rs = await burst(rl, "u");
      assert.equal(successes(rs), LIMIT);
      assert.equal(await admin.hlen(`${P}:u:${W}`), LIMIT, "only admitted request ids are recorded");
    });
  });
}
