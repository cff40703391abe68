// Script loading for @upstash/ratelimit: the SHA1s the library hard-codes must be what the
// server computes for the bundled script texts (shebang line included), and the EVALSHA →
// EVAL fallback on NOSCRIPT must work after SCRIPT FLUSH, for every algorithm and operation,
// with both transports (auto-pipelined batches where a NOSCRIPT sits next to other commands,
// and plain requests).
//
// SCRIPT FLUSH empties the whole server's script cache; files run one at a time, and nothing
// else depends on cached scripts.

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { MultiRegionRatelimit, Ratelimit } from "@upstash/ratelimit";
import {
  HOUR,
  admin,
  bundledScripts,
  captureWarnings,
  freshWindow,
  installedVersion,
  loopbackOnlyFetch,
  newRedis,
  rlPrefix,
} from "./ratelimit-helpers.mjs";

const sha1 = (s) => createHash("sha1").update(s, "utf8").digest("hex");

// docs: shared/spec/ratelimit.md §4.1, column 2.2.0
const SPEC_HASHES_2_2_0 = {
  "singleRegion.fixedWindow.limit": "b2efc02798c8e9b471a10f9b1d5745db89923ff3",
  "singleRegion.fixedWindow.getRemaining": "823cb2a5a902d69681244f5e28e5ebb8f2a89edd",
  "singleRegion.slidingWindow.limit": "74740bb3d7792848093cdef586b6b6037c455fd6",
  "singleRegion.slidingWindow.getRemaining": "7ca36169e0fc9caedd81b4eef8e99854c157f9b5",
  "singleRegion.tokenBucket.limit": "d60be5bd3d83482ae229309f1f7425424f891204",
  "singleRegion.tokenBucket.getRemaining": "40daf4a441df736f5c99f8b77bbe176c909e5de4",
  "singleRegion.cachedFixedWindow.limit": "1861a700bafe96c833a483af6b1c28a8897cfdb0",
  "singleRegion.cachedFixedWindow.getRemaining": "eb82f0e853d2fc9a236fa9bfbe704fda6ac2fc36",
  "multiRegion.fixedWindow.limit": "e04b753a75909b7f99aae4c04cf8869a8de02a9e",
  "multiRegion.fixedWindow.getRemaining": "e066c8ce3eaca142b0894ad1541e0a58c9924819",
  "multiRegion.slidingWindow.limit": "aeb4d8f381e8dafc8e69041baae1324d254ded44",
  "multiRegion.slidingWindow.getRemaining": "87828c1088f6a8d1f512a434ea330189982a1c0a",
  reset: "54bd274ddc59fb3be0f42deee2f64322a10e2b50",
  denyListCheck: "e8062088fe7e67994f617766e5d766490de1afb8",
};

function libraryScripts() {
  const { SCRIPTS, RESET_SCRIPT, checkDenyListScript } = bundledScripts();
  const out = {};
  for (const [region, algos] of Object.entries(SCRIPTS)) {
    for (const [algo, ops] of Object.entries(algos)) {
      for (const [op, s] of Object.entries(ops)) out[`${region}.${algo}.${op}`] = s;
    }
  }
  out.reset = RESET_SCRIPT;
  if (checkDenyListScript) out.denyListCheck = { script: checkDenyListScript, hash: undefined };
  return out;
}

describe("ratelimit scripts: hashes", () => {
  it("the installed package is @upstash/ratelimit 2.2.0", () => {
    assert.equal(installedVersion("@upstash/ratelimit"), "2.2.0");
  });

  it("SCRIPT LOAD of every bundled script returns the library's hard-coded SHA1 and the spec's", async () => {
    const scripts = libraryScripts();
    assert.deepEqual(Object.keys(scripts).sort(), Object.keys(SPEC_HASHES_2_2_0).sort());
    const loaded = {};
    for (const [name, { script, hash }] of Object.entries(scripts)) {
      if (name !== "reset" && name !== "denyListCheck") {
        assert.ok(script.startsWith("#!lua flags=allow-key-locking\n"), `${name} starts with the shebang`);
      }
      assert.equal(sha1(script), SPEC_HASHES_2_2_0[name], `${name}: SHA1 of the text`);
      if (hash !== undefined) assert.equal(hash, SPEC_HASHES_2_2_0[name], `${name}: hash in the bundle`);
      loaded[name] = await admin.scriptLoad(script);
    }
    assert.deepEqual(loaded, SPEC_HASHES_2_2_0);
    const hashes = Object.values(SPEC_HASHES_2_2_0);
    assert.deepEqual(await admin.scriptExists(...hashes), hashes.map(() => 1));
  });
});

// One scenario per algorithm: limit (twice, so the second call can use the script cached by the
// first EVAL), getRemaining, resetUsedTokens — each preceded by SCRIPT FLUSH.
const CASES = [
  {
    name: "fixedWindow",
    make: (redis, P) => new Ratelimit({ redis, prefix: P, limiter: Ratelimit.fixedWindow(5, "1 h"), analytics: true }),
    hashes: ["singleRegion.fixedWindow.limit", "singleRegion.fixedWindow.getRemaining"],
  },
  {
    name: "slidingWindow",
    make: (redis, P) =>
      new Ratelimit({ redis, prefix: P, limiter: Ratelimit.slidingWindow(5, "1 h"), analytics: true }),
    hashes: ["singleRegion.slidingWindow.limit", "singleRegion.slidingWindow.getRemaining"],
  },
  {
    name: "tokenBucket",
    make: (redis, P) =>
      new Ratelimit({ redis, prefix: P, limiter: Ratelimit.tokenBucket(1, "1 h", 5), analytics: true }),
    hashes: ["singleRegion.tokenBucket.limit", "singleRegion.tokenBucket.getRemaining"],
  },
  {
    name: "cachedFixedWindow",
    make: (redis, P) =>
      new Ratelimit({ redis, prefix: P, limiter: Ratelimit.cachedFixedWindow(5, "1 h"), analytics: true }),
    hashes: ["singleRegion.cachedFixedWindow.limit"],
    // getRemaining answers from the local cache once limit() ran; use a fresh instance for it
    freshForRemaining: true,
  },
  {
    name: "MultiRegion fixedWindow",
    make: (redis, P) =>
      new MultiRegionRatelimit({
        redis: [redis],
        prefix: P,
        limiter: MultiRegionRatelimit.fixedWindow(5, "1 h"),
        analytics: true,
      }),
    hashes: ["multiRegion.fixedWindow.limit", "multiRegion.fixedWindow.getRemaining"],
    fireAndForgetReset: true,
  },
  {
    name: "MultiRegion slidingWindow",
    make: (redis, P) =>
      new MultiRegionRatelimit({
        redis: [redis],
        prefix: P,
        limiter: MultiRegionRatelimit.slidingWindow(5, "1 h"),
        analytics: true,
      }),
    hashes: ["multiRegion.slidingWindow.limit", "multiRegion.slidingWindow.getRemaining"],
    fireAndForgetReset: true,
  },
];

const TRANSPORTS = [
  { name: "auto-pipelining", opts: {} },
  { name: "one request per call", opts: { enableAutoPipelining: false } },
];

describe("ratelimit scripts: EVALSHA falls back to EVAL after SCRIPT FLUSH", () => {
  it("EVALSHA of an unknown script answers an error containing NOSCRIPT (REST)", async () => {
    await admin.scriptFlush();
    const e = await admin.evalsha(SPEC_HASHES_2_2_0["singleRegion.fixedWindow.limit"], ["k"], [1, 1, 1]).then(
      () => null,
      (err) => err,
    );
    assert.ok(e, "EVALSHA must fail after SCRIPT FLUSH");
    assert.match(String(e.message), /NOSCRIPT/);
    assert.match(String(e.message), /^NOSCRIPT No matching script/);
  });

  for (const tr of TRANSPORTS) {
    for (const c of CASES) {
      it(`${c.name} (${tr.name}): limit, getRemaining and resetUsedTokens work after SCRIPT FLUSH`, async (t) => {
        captureWarnings(t);
        const P = rlPrefix(t, "flush");
        await freshWindow(HOUR, 20_000);
        const redis = newRedis(tr.opts);
        const rl = c.make(redis, P);
        const limitHash = SPEC_HASHES_2_2_0[c.hashes[0]];

        await admin.scriptFlush();
        assert.deepEqual(await admin.scriptExists(limitHash), [0]);
        const r1 = await rl.limit("u");
        await r1.pending;
        assert.equal(r1.success, true);
        assert.equal(r1.remaining, 4);
        // EVAL caches the script, so the next EVALSHA finds it
        assert.deepEqual(await admin.scriptExists(limitHash), [1]);
        const r2 = await rl.limit("u");
        await r2.pending;
        assert.equal(r2.success, true);
        assert.equal(r2.remaining, 3);

        await admin.scriptFlush();
        const reader = c.freshForRemaining ? c.make(newRedis(tr.opts), P) : rl;
        const rem = await reader.getRemaining("u");
        assert.equal(rem.remaining, 3);
        assert.equal(rem.limit, 5);

        await admin.scriptFlush();
        await rl.resetUsedTokens("u");
        if (c.fireAndForgetReset) {
          // MultiRegionRatelimit does not await its reset script (spec §3.1)
          const deadline = Date.now() + 3000;
          while ((await admin.keys(`${P}:u:*`)).length > 0 && Date.now() < deadline) {
            await new Promise((r) => setTimeout(r, 25));
          }
        }
        const left = (await admin.keys(`${P}:u*`)).filter((k) => !k.includes(":events:"));
        assert.deepEqual(left, []);
        assert.deepEqual(await admin.scriptExists(SPEC_HASHES_2_2_0.reset), [1]);
      });
    }
  }

  it("a NOSCRIPT EVALSHA batched with the deny-list EVAL in one pipeline still falls back (issue #122)", async (t) => {
    captureWarnings(t);
    const guard = loopbackOnlyFetch();
    t.after(() => guard.restore());
    const P = rlPrefix(t, "flush-deny");
    await freshWindow(HOUR, 20_000);
    // the IP deny list is disabled, so nothing is downloaded; the user list is empty
    await admin.set(`${P}:ipDenyListStatus`, "disabled");
    const rl = new Ratelimit({
      redis: newRedis(),
      prefix: P,
      limiter: Ratelimit.slidingWindow(5, "1 h"),
      enableProtection: true,
      analytics: true,
    });
    await admin.scriptFlush();
    const rs = await Promise.all([rl.limit("u"), rl.limit("u"), rl.limit("v")]);
    await Promise.all(rs.map((r) => r.pending));
    assert.deepEqual(
      rs.map((r) => r.success),
      [true, true, true],
    );
    assert.deepEqual(rs.map((r) => r.reason), [undefined, undefined, undefined]);
    assert.deepEqual(rs.map((r) => r.remaining).sort(), [3, 4, 4]);
    assert.deepEqual(guard.offHost, [], "nothing may be fetched from outside");
    assert.equal(await admin.get(`${P}:ipDenyListStatus`), "disabled");
  });
});
