#!/usr/bin/env node
// Drives @upstash/ratelimit for the cross-language tests (py/test_ratelimit_cross.py runs it
// with subprocess against the same server). Not a test file itself.
//
//   node ratelimit-driver.mjs '<json spec>'
//
// spec: { algo: "fixedWindow"|"slidingWindow"|"tokenBucket"|"cachedFixedWindow",
//         prefix, id, limit, window (e.g. "1 h"), calls, rate?, refillRate? (token bucket),
//         concurrent?: true (Promise.all instead of one call after the other),
//         getRemaining?: true (also report getRemaining() after the calls) }
// Prints one JSON line: { results: [{success, limit, remaining, reset, reason?}], remaining? }.
// Uses UPSTASH_REDIS_REST_URL / UPSTASH_REDIS_REST_TOKEN, analytics on, default ephemeral cache.

import { Ratelimit } from "@upstash/ratelimit";
import { Redis } from "@upstash/redis";

const spec = JSON.parse(process.argv[2] ?? "{}");
const { algo, prefix, id, limit, window, calls } = spec;
if (!algo || !prefix || !id || !limit || !window || calls === undefined) {
  console.error("usage: node ratelimit-driver.mjs '{\"algo\":...,\"prefix\":...,\"id\":...,\"limit\":50,\"window\":\"1 h\",\"calls\":30}'");
  process.exit(2);
}

const limiters = {
  fixedWindow: () => Ratelimit.fixedWindow(limit, window),
  slidingWindow: () => Ratelimit.slidingWindow(limit, window),
  tokenBucket: () => Ratelimit.tokenBucket(spec.refillRate ?? 1, window, limit),
  cachedFixedWindow: () => Ratelimit.cachedFixedWindow(limit, window),
};
if (!limiters[algo]) {
  console.error(`unknown algo ${algo}`);
  process.exit(2);
}

// analytics failures are only warnings; keep them off stdout
console.warn = (...args) => process.stderr.write(`[warn] ${args.map(String).join(" ")}\n`);

const redis = new Redis({
  url: process.env.UPSTASH_REDIS_REST_URL,
  token: process.env.UPSTASH_REDIS_REST_TOKEN,
  retry: false,
});
const rl = new Ratelimit({ redis, prefix, limiter: limiters[algo](), analytics: true });
const req = spec.rate === undefined ? undefined : { rate: spec.rate };

const strip = ({ pending: _p, ...rest }) => rest;
const results = [];
if (spec.concurrent) {
  const rs = await Promise.all(Array.from({ length: calls }, () => rl.limit(id, req)));
  await Promise.all(rs.map((r) => r.pending));
  results.push(...rs.map(strip));
} else {
  for (let i = 0; i < calls; i++) {
    const r = await rl.limit(id, req);
    await r.pending;
    results.push(strip(r));
  }
}
const out = { results };
if (spec.getRemaining) out.remaining = await rl.getRemaining(id);
process.stdout.write(`${JSON.stringify(out)}\n`);
