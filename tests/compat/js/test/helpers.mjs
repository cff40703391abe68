// Shared helpers for the @upstash/redis compatibility tests.
//
// The server under test is whatever UPSTASH_REDIS_REST_URL / UPSTASH_REDIS_REST_TOKEN point at
// (tests/compat/run.sh starts a fresh larder and exports them). LARDER_READ_ONLY_TOKEN is the
// server's read-only token; tests that need it skip when it is not set.

import { randomBytes } from "node:crypto";
import { Redis } from "@upstash/redis";

export const REST_URL = process.env.UPSTASH_REDIS_REST_URL;
export const TOKEN = process.env.UPSTASH_REDIS_REST_TOKEN;
export const RO_TOKEN = process.env.LARDER_READ_ONLY_TOKEN || "";

if (!REST_URL || !TOKEN) {
  throw new Error(
    "UPSTASH_REDIS_REST_URL and UPSTASH_REDIS_REST_TOKEN must point at a running larder " +
      "(use tests/compat/run.sh)",
  );
}

/**
 * A client configured like an application would configure it: defaults everywhere (base64
 * responses, auto-pipelining, read-your-writes, automatic deserialization, telemetry headers),
 * except that network retries are switched off so a dead server fails fast.
 */
export function newRedis(opts = {}) {
  return new Redis({ url: REST_URL, token: TOKEN, retry: false, ...opts });
}

/**
 * The two transport modes the JS client has: auto-pipelining on (the default: every command
 * travels as POST /pipeline) and off (every command is POST /).
 */
export const MODES = [
  { name: "auto-pipelining on (POST /pipeline)", opts: {} },
  { name: "auto-pipelining off (POST /)", opts: { enableAutoPipelining: false } },
];

// A client used only for cleanup, independent of the client under test.
const admin = new Redis({
  url: REST_URL,
  token: TOKEN,
  retry: false,
  enableAutoPipelining: false,
  automaticDeserialization: false,
});

const RUN_ID = randomBytes(4).toString("hex");
let counter = 0;

/**
 * A unique key prefix for one test. Registers an after-hook that deletes every key under the
 * prefix (best effort: a cleanup failure must not mask the test's own result).
 */
export function keyspace(t, label = "t") {
  counter += 1;
  const prefix = `compat:js:${RUN_ID}:${label}:${counter}:`;
  t.after(async () => {
    try {
      const keys = await admin.keys(`${prefix}*`);
      if (keys.length > 0) await admin.del(...keys);
    } catch {
      // ignore
    }
  });
  return (name) => `${prefix}${name}`;
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Await a promise that must reject; return the error. */
export async function rejects(promise) {
  try {
    await promise;
  } catch (e) {
    return e;
  }
  throw new Error("expected the command to fail, but it succeeded");
}
