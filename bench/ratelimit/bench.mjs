#!/usr/bin/env node
// Limiter decisions per second through the official clients, for bench/ratelimit/run.sh: the same
// closed loop as lib/ratelimit/examples/bench.rs, over @upstash/ratelimit and @upstash/redis as
// pinned (and installed) in tests/compat/js.
//
//   UPSTASH_REDIS_REST_URL=... UPSTASH_REDIS_REST_TOKEN=... \
//     node bench.mjs <algo> <concurrency> <seconds> <prefix> [pipelining|nopipelining]
//
// `pipelining` (the default) keeps @upstash/redis's enableAutoPipelining (on by default in 1.39):
// concurrent calls are batched into /pipeline requests. `nopipelining` sends one request per call,
// like the Rust client. Prints one JSON line with the fields of the Rust example.

import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const HERE = dirname(fileURLToPath(import.meta.url));
const require = createRequire(join(HERE, "../../tests/compat/js/package.json"));
const load = async (name) => import(pathToFileURL(require.resolve(name)).href);
const { Ratelimit } = await load("@upstash/ratelimit");
const { Redis } = await load("@upstash/redis");
const modules = join(HERE, "../../tests/compat/js/node_modules");
const versionOf = (name) => JSON.parse(readFileSync(join(modules, name, "package.json"), "utf8")).version;
const versions = { ratelimit: versionOf("@upstash/ratelimit"), redis: versionOf("@upstash/redis") };

const [algo, concurrencyArg, secondsArg, prefix, mode = "pipelining"] = process.argv.slice(2);
const concurrency = Number(concurrencyArg);
const seconds = Number(secondsArg);
const IDS = 1000;
const HUGE = 1_000_000_000;
const limiters = {
  fixedWindow: () => Ratelimit.fixedWindow(HUGE, "60 s"),
  slidingWindow: () => Ratelimit.slidingWindow(HUGE, "60 s"),
  tokenBucket: () => Ratelimit.tokenBucket(HUGE, "1 s", HUGE),
};
if (!limiters[algo] || !(concurrency > 0) || !(seconds > 0) || !prefix || !["pipelining", "nopipelining"].includes(mode)) {
  console.error("usage: node bench.mjs <fixedWindow|slidingWindow|tokenBucket> <concurrency> <seconds> <prefix> [pipelining|nopipelining]");
  process.exit(2);
}

const redis = new Redis({
  url: process.env.UPSTASH_REDIS_REST_URL,
  token: process.env.UPSTASH_REDIS_REST_TOKEN,
  enableAutoPipelining: mode === "pipelining",
});
const rl = new Ratelimit({ redis, prefix, limiter: limiters[algo](), ephemeralCache: false, analytics: false });

// Warm-up: loads the script and opens connections.
await Promise.all(Array.from({ length: concurrency }, (_, w) => rl.limit(`u${w}`)));

const lat = [];
let allowed = 0;
const cpuBefore = process.cpuUsage();
const start = performance.now();
const deadline = start + seconds * 1000;
async function worker(w) {
  let i = w;
  while (performance.now() < deadline) {
    const id = `u${(i * 7919) % IDS}`;
    i += concurrency;
    const t = performance.now();
    const res = await rl.limit(id);
    lat.push(Math.round((performance.now() - t) * 1000));
    if (res.success) allowed++;
  }
}
await Promise.all(Array.from({ length: concurrency }, (_, w) => worker(w)));
const elapsed = (performance.now() - start) / 1000;
const cpu = process.cpuUsage(cpuBefore);
lat.sort((a, b) => a - b);
const pct = (p) => (lat.length ? lat[Math.min(lat.length, Math.max(1, Math.ceil(lat.length * p))) - 1] : 0);
process.stdout.write(`${JSON.stringify({
  client: mode === "pipelining" ? "js" : "js-nopipe",
  algo,
  concurrency,
  seconds: elapsed,
  decisions: lat.length,
  allowed,
  per_sec: lat.length / elapsed,
  p50_us: pct(0.5),
  p99_us: pct(0.99),
  cpu_ms: Math.round((cpu.user + cpu.system) / 1000),
  versions,
})}\n`);
