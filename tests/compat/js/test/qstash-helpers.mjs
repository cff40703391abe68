// Shared helpers for the @upstash/qstash compatibility tests: the client, the official Receiver,
// and a local HTTP receiver on 127.0.0.1 that records every delivery.
//
// The server under test is whatever QSTASH_URL / QSTASH_TOKEN point at (tests/compat/run.sh starts
// a dedicated larder with a known QStash token and signing keys and exports them).

import http from "node:http";
import { Client, Receiver } from "@upstash/qstash";

export const QSTASH_URL = process.env.QSTASH_URL;
export const QSTASH_TOKEN = process.env.QSTASH_TOKEN;

if (!QSTASH_URL || !QSTASH_TOKEN) {
  throw new Error("QSTASH_URL and QSTASH_TOKEN must point at a running larder (use tests/compat/run.sh)");
}

/** A client as an application would build it, except that network retries are off. */
export function newClient(opts = {}) {
  return new Client({ baseUrl: QSTASH_URL, token: QSTASH_TOKEN, retry: false, ...opts });
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Raw call to the v2 API (for what the SDK has no method for, e.g. the signing keys). */
export async function api(method, path, { headers = {}, body } = {}) {
  const res = await fetch(`${QSTASH_URL}${path}`, {
    method,
    headers: { Authorization: `Bearer ${QSTASH_TOKEN}`, ...headers },
    body,
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

/** The signing keys in force (another suite may have rotated them). */
export async function signingKeys() {
  const { body } = await api("GET", "/v2/keys");
  return { currentSigningKey: body.current, nextSigningKey: body.next };
}

/** A Receiver with the keys in force. */
export async function newReceiver() {
  return new Receiver(await signingKeys());
}

/**
 * Starts a local HTTP server. `/status/<code>` answers that status, `/slow/<ms>` waits first,
 * everything else answers 200. Every request is recorded with its raw body and arrival time.
 */
export async function startReceiver() {
  const got = [];
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", async () => {
      const rec = {
        method: req.method,
        path: req.url,
        headers: req.headers,
        body: Buffer.concat(chunks).toString("utf8"),
        at: Date.now(),
      };
      got.push(rec);
      const slow = req.url.match(/^\/slow\/(\d+)/);
      if (slow) await sleep(Number(slow[1]));
      const m = req.url.match(/^\/status\/(\d+)/);
      const code = m ? Number(m[1]) : 200;
      res.writeHead(code, { "Content-Type": "text/plain" });
      res.end(`answer ${code}`);
    });
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  const base = `http://127.0.0.1:${server.address().port}`;
  return {
    base,
    url: (path) => `${base}${path}`,
    requests: (prefix) => got.filter((g) => g.path.startsWith(prefix)),
    /** Waits until `n` requests to `prefix` arrived (15 s at most). */
    async waitFor(prefix, n = 1, timeoutMs = 15000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const r = got.filter((g) => g.path.startsWith(prefix));
        if (r.length >= n) return r;
        if (Date.now() > deadline) {
          throw new Error(`only ${r.length} of ${n} requests to ${prefix} arrived`);
        }
        await sleep(25);
      }
    },
    close: () => new Promise((r) => server.close(r)),
  };
}

/** Polls `fn` until it returns a truthy value (15 s at most). */
export async function until(fn, what, timeoutMs = 15000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

/** The log states of one message, oldest first. */
export async function states(client, messageId) {
  const { logs } = await client.logs({ filter: { messageId } });
  return logs.map((l) => l.state).reverse();
}

export const unique = (p) => `${p}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
