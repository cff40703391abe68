// Shared helpers for the @upstash/ratelimit compatibility tests (ratelimit*.test.mjs).
//
// Every test gets its own ratelimit prefix (`compat:rl:js:<run>:<label>:<n>`); every key the
// library writes (window counters, token buckets, analytics buckets, deny lists, dynamic
// limits) lives under it, and an after-hook deletes them on every server the test used.
//
// Extra larder instances for the multi-region tests come from LARDER_EXTRA_REST_URLS (a
// comma-separated list started by run.sh; same token as the main server).

import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { Redis } from "@upstash/redis";
import { REST_URL, TOKEN, newRedis, sleep } from "./helpers.mjs";

export { newRedis, sleep, REST_URL, TOKEN };

export const EXTRA_URLS = (process.env.LARDER_EXTRA_REST_URLS || "")
  .split(",")
  .map((s) => s.trim())
  .filter(Boolean);

/** An admin client (no auto-pipelining, no deserialization) for inspecting raw state. */
export function adminFor(url = REST_URL) {
  return new Redis({
    url,
    token: TOKEN,
    retry: false,
    enableAutoPipelining: false,
    automaticDeserialization: false,
  });
}
export const admin = adminFor();

const RUN_ID = randomBytes(4).toString("hex");
let counter = 0;

/**
 * A unique ratelimit prefix for one test; keys under it are deleted afterwards on the main
 * server and on every extra server (best effort).
 */
export function rlPrefix(t, label = "t") {
  counter += 1;
  const prefix = `compat:rl:js:${RUN_ID}:${label}:${counter}`;
  t.after(async () => {
    for (const url of [REST_URL, ...EXTRA_URLS]) {
      try {
        const a = adminFor(url);
        const keys = await a.keys(`${prefix}*`);
        if (keys.length > 0) await a.del(...keys);
      } catch {
        // ignore: cleanup must not mask the test's result
      }
    }
  });
  return prefix;
}

/**
 * If fewer than `needMs` remain in the current window of `windowMs`, sleep into the next one.
 * Tests that must not straddle a window boundary call this first; with long windows (1 h)
 * it practically never sleeps.
 */
export async function freshWindow(windowMs, needMs) {
  const left = windowMs - (Date.now() % windowMs);
  if (left < needMs) await sleep(left + 5);
}

/** Wait until `cond()` is truthy (polling), or fail after `timeoutMs`. Returns the last value. */
export async function until(cond, timeoutMs, label = "condition", intervalMs = 25) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await cond();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${label}`);
    await sleep(intervalMs);
  }
}

/**
 * Run `fn` with Date.now() returning `ms` (the library reads the clock only through
 * Date.now()). Lets the arithmetic of the scripts be checked exactly, without sleeping.
 */
export async function atTime(ms, fn) {
  const real = Date.now;
  Date.now = () => ms;
  try {
    return await fn();
  } finally {
    Date.now = real;
  }
}

/**
 * Analytics events recorded under a prefix: { '<member json>': count } summed over all
 * hourly buckets (so a test that crosses an hour boundary still sees all of its events),
 * plus the bucket keys found.
 */
export async function analyticsEvents(prefix, url = REST_URL) {
  const a = adminFor(url);
  const keys = await a.keys(`${prefix}:events:*`);
  const events = {};
  for (const key of keys) {
    const flat = await a.zrange(key, 0, -1, { withScores: true });
    for (let i = 0; i < flat.length; i += 2) {
      events[flat[i]] = (events[flat[i]] ?? 0) + Number(flat[i + 1]);
    }
  }
  return { keys: keys.sort(), events };
}

/** The analytics member JSON the library writes for a plain limit() call. */
export const member = (identifier, success) => JSON.stringify({ identifier, success });

/** Hour bucket start (ms) of a timestamp, as core-analytics computes it. */
export const hourBucket = (ms) => Math.floor(ms / 3_600_000) * 3_600_000;

/**
 * The Lua script texts bundled in the installed @upstash/ratelimit (dist/index.mjs), with the
 * hashes the library hard-codes. The bundle does not export them, so the section of the
 * bundle that defines them is evaluated on its own (it only builds template strings).
 */
export function bundledScripts() {
  const require = createRequire(import.meta.url);
  const main = require.resolve("@upstash/ratelimit");
  const src = readFileSync(main.replace(/index\.js$/, "index.mjs"), "utf8");
  const start = src.indexOf("// src/lua-scripts/single.ts");
  const end = src.indexOf("// src/types.ts");
  if (start < 0 || end < 0 || end < start) throw new Error("unexpected @upstash/ratelimit bundle layout");
  const denyStart = src.indexOf("// src/deny-list/scripts.ts");
  const denyEnd = src.indexOf("// src/deny-list/ip-deny-list.ts");
  const denyPart = denyStart >= 0 && denyEnd > denyStart ? src.slice(denyStart, denyEnd) : "";
  // eslint-disable-next-line no-new-func
  const build = new Function(
    `${src.slice(start, end)}\n${denyPart}\nreturn { SCRIPTS, RESET_SCRIPT, ` +
      `checkDenyListScript: typeof checkDenyListScript === "string" ? checkDenyListScript : undefined };`,
  );
  return build();
}

/** Version of an installed package. */
export function installedVersion(name) {
  const require = createRequire(import.meta.url);
  const main = require.resolve(name);
  const pkgPath = main.slice(0, main.lastIndexOf("node_modules/") + "node_modules/".length) + name + "/package.json";
  return JSON.parse(readFileSync(pkgPath, "utf8")).version;
}

/** Count successes in an array of limit() responses. */
export const successes = (rs) => rs.filter((r) => r.success).length;

/**
 * Guard against the internet: wraps globalThis.fetch so that any request to a host other than
 * the servers under test is refused and recorded (the IP deny list would download from
 * GitHub). Returns { offHost: [...urls], restore() }.
 */
export function loopbackOnlyFetch() {
  const real = globalThis.fetch;
  const allowed = new Set([REST_URL, ...EXTRA_URLS].map((u) => new URL(u).host));
  const offHost = [];
  globalThis.fetch = (input, init) => {
    const url = typeof input === "string" ? input : input instanceof URL ? input.href : input.url;
    if (!allowed.has(new URL(url).host)) {
      offHost.push(url);
      return Promise.reject(new Error(`blocked non-local fetch: ${url}`));
    }
    return real(input, init);
  };
  return {
    offHost,
    restore() {
      globalThis.fetch = real;
    },
  };
}

// The library reports a failed analytics write (or sync) only through console.warn. All
// warnings are recorded here instead of flooding the test output; tests that care (the
// analytics tests) look at the ones raised while they ran.
const WARNINGS = [];
const realWarn = console.warn;
console.warn = (...args) => {
  WARNINGS.push(args.map((a) => (a instanceof Error ? `${a.name}: ${a.message}` : String(a))).join(" "));
};
process.on("exit", () => {
  if (WARNINGS.length > 0) {
    realWarn(`[ratelimit tests] ${WARNINGS.length} library warning(s) recorded; first: ${WARNINGS[0].slice(0, 300)}`);
  }
});

/** Warnings the library printed from now on (a live view: read it after the calls). */
export function captureWarnings(_t) {
  const start = WARNINGS.length;
  return {
    get list() {
      return WARNINGS.slice(start);
    },
  };
}

/** HGETALL through the raw admin client, as an object. */
export async function hashOf(key, a = admin) {
  const flat = await a.hgetall(key);
  if (flat === null) return null;
  if (!Array.isArray(flat)) return flat;
  const o = {};
  for (let i = 0; i < flat.length; i += 2) o[flat[i]] = flat[i + 1];
  return o;
}

/** Lua's "%.17g" (how Redis formats a Lua number passed to redis.call), for finite values. */
export function g17(x) {
  const s = x.toPrecision(17);
  if (s.includes("e")) return s;
  return s.includes(".") ? s.replace(/0+$/, "").replace(/\.$/, "") : s;
}

export const HOUR = 3_600_000;
