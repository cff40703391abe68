// @upstash/qstash against larder: publish and publishJSON delivered to a local receiver and verified
// by the official Receiver, retries with Upstash-Retried counting up, the DLQ, delays, cancellation,
// deduplication, batches, callbacks and logs.

import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { newClient, newReceiver, startReceiver, states, until, unique } from "./qstash-helpers.mjs";

describe("@upstash/qstash: publishing and delivery", () => {
  const client = newClient();
  let rx;
  before(async () => {
    rx = await startReceiver();
  });
  after(async () => {
    await rx.close();
  });

  it("publishJSON is delivered once, signed, and verified by the official Receiver", async () => {
    const url = rx.url("/json?tag=a%20b");
    const res = await client.publishJSON({ url, body: { hello: "world", n: 1 }, headers: { "X-Custom": "yes" } });
    assert.match(res.messageId, /^msg_/);
    assert.equal(res.url, url);
    const [d] = await rx.waitFor("/json");
    assert.equal(d.path, "/json?tag=a%20b");
    assert.deepEqual(JSON.parse(d.body), { hello: "world", n: 1 });
    assert.equal(d.headers["content-type"], "application/json");
    assert.equal(d.headers["x-custom"], "yes");
    assert.equal(d.headers["upstash-message-id"], res.messageId);
    assert.equal(d.headers["upstash-retried"], "0");
    assert.equal(d.headers.authorization, undefined);
    assert.ok(!Object.keys(d.headers).some((h) => h.startsWith("upstash-telemetry")));
    const receiver = await newReceiver();
    assert.equal(await receiver.verify({ signature: d.headers["upstash-signature"], body: d.body, url }), true);
    // A changed body, a different url or a foreign key is rejected.
    await assert.rejects(receiver.verify({ signature: d.headers["upstash-signature"], body: d.body + " " }));
    await assert.rejects(receiver.verify({ signature: d.headers["upstash-signature"], body: d.body, url: url + "x" }));
    const { Receiver } = await import("@upstash/qstash");
    const foreign = new Receiver({ currentSigningKey: "sig_foreign_key_00000000000000", nextSigningKey: "sig_other_key_0000000000000000" });
    await assert.rejects(foreign.verify({ signature: d.headers["upstash-signature"], body: d.body }));
    await until(async () => (await states(client, res.messageId)).includes("DELIVERED"), "DELIVERED");
    assert.deepEqual(await states(client, res.messageId), ["CREATED", "ACTIVE", "DELIVERED"]);
  });

  it("publish keeps a string body, the method and the content type as given", async () => {
    const res = await client.publish({
      url: rx.url("/plain"),
      body: "héllo wörld",
      method: "PUT",
      headers: { "Content-Type": "text/x-custom" },
    });
    const [d] = await rx.waitFor("/plain");
    assert.equal(d.method, "PUT");
    assert.equal(d.body, "héllo wörld");
    assert.equal(d.headers["content-type"], "text/x-custom");
    assert.equal(d.headers["upstash-message-id"], res.messageId);
    const receiver = await newReceiver();
    assert.equal(await receiver.verify({ signature: d.headers["upstash-signature"], body: d.body }), true);
  });

  it("retries count up in Upstash-Retried, then the message lands in the DLQ", async () => {
    const url = rx.url("/status/500/retries");
    const res = await client.publishJSON({ url, body: { try: 1 }, retries: 2, retryDelay: "200" });
    const got = await rx.waitFor("/status/500/retries", 3);
    assert.deepEqual(got.map((g) => g.headers["upstash-retried"]), ["0", "1", "2"]);
    assert.ok(got[1].at - got[0].at >= 180, `retry came after ${got[1].at - got[0].at} ms`);
    await until(async () => (await states(client, res.messageId)).includes("FAILED"), "FAILED");
    const { messages } = await client.dlq.listMessages();
    const m = messages.find((x) => x.messageId === res.messageId);
    assert.ok(m, "the failed message is in the DLQ");
    assert.equal(m.responseStatus, 500);
    assert.equal(m.url, url);
    assert.equal(m.maxRetries, 2);
    assert.equal(m.body, JSON.stringify({ try: 1 }));
    assert.equal(m.retryDelayExpression, "200");
    // Retry it from the DLQ, then delete what is left (the single-id delete is a 404 the second time).
    const retried = await client.dlq.retry(m.dlqId);
    assert.equal(retried.responses.length, 1);
    assert.notEqual(retried.responses[0].messageId, res.messageId);
    await rx.waitFor("/status/500/retries", 4);
    const again = await until(async () => {
      const { messages } = await client.dlq.listMessages({ filter: { url } });
      return messages.find((x) => x.messageId === retried.responses[0].messageId);
    }, "the retried message back in the DLQ", 30000);
    await client.dlq.delete(again.dlqId);
    await assert.rejects(client.dlq.delete(again.dlqId));
  });

  it("delays delivery and lets a pending message be read and cancelled", async () => {
    const t0 = Date.now();
    await client.publishJSON({ url: rx.url("/delay/1s"), body: {}, delay: 1 });
    const later = await client.publishJSON({ url: rx.url("/delay/1h"), body: { later: true }, delay: "1h" });
    const [d] = await rx.waitFor("/delay/1s");
    assert.ok(d.at - t0 >= 950, `delivered after ${d.at - t0} ms`);
    const msg = await client.messages.get(later.messageId);
    assert.equal(msg.messageId, later.messageId);
    assert.equal(msg.url, rx.url("/delay/1h"));
    assert.ok(msg.notBefore >= msg.createdAt + 3_500_000);
    await client.messages.cancel(later.messageId);
    await assert.rejects(client.messages.get(later.messageId));
    assert.deepEqual(await states(client, later.messageId), ["CREATED", "CANCEL_REQUESTED", "CANCELED"]);
  });

  it("notBefore (epoch seconds) holds the message until then", async () => {
    const t0 = Date.now();
    await client.publish({ url: rx.url("/notbefore"), body: "x", notBefore: Math.ceil(t0 / 1000) + 2 });
    const [d] = await rx.waitFor("/notbefore");
    assert.ok(d.at >= Math.ceil(t0 / 1000) * 1000 + 1950, `delivered ${d.at - t0} ms after publish`);
  });

  it("deduplicates by id and by content", async () => {
    const url = rx.url("/dedup");
    const id = unique("dedup");
    const a = await client.publish({ url, body: "one", deduplicationId: id });
    const b = await client.publish({ url, body: "two", deduplicationId: id });
    assert.equal(b.messageId, a.messageId);
    assert.equal(b.deduplicated, true);
    assert.ok(!a.deduplicated);
    const body = unique("content");
    const c = await client.publishJSON({ url, body: { body }, contentBasedDeduplication: true });
    const d = await client.publishJSON({ url, body: { body }, contentBasedDeduplication: true });
    assert.equal(d.messageId, c.messageId);
    assert.equal(d.deduplicated, true);
    await rx.waitFor("/dedup", 2);
  });

  it("batch and batchJSON publish every item (URL, queue) in order", async () => {
    const res = await client.batchJSON([
      { url: rx.url("/batch/1"), body: { i: 1 } },
      { url: rx.url("/batch/2"), body: { i: 2 }, headers: { "X-Item": "two" } },
      { url: rx.url("/batch/3"), body: { i: 3 }, queueName: unique("batchq") },
    ]);
    assert.equal(res.length, 3);
    for (const r of res) assert.match(r.messageId, /^msg_/);
    const [two] = await rx.waitFor("/batch/2");
    assert.equal(two.headers["x-item"], "two");
    assert.equal(two.headers["content-type"], "application/json");
    await rx.waitFor("/batch/", 3);
    const plain = await client.batch([{ url: rx.url("/batch/plain"), body: "raw" }]);
    assert.equal(plain.length, 1);
    const [p] = await rx.waitFor("/batch/plain");
    assert.equal(p.body, "raw");
  });

  it("calls the callback and the failure callback with the documented payload", async () => {
    await client.publishJSON({ url: rx.url("/cb/source"), body: { s: 1 }, callback: rx.url("/cb/ok") });
    const [cb] = await rx.waitFor("/cb/ok");
    const payload = JSON.parse(cb.body);
    assert.equal(payload.status, 200);
    assert.equal(Buffer.from(payload.body, "base64").toString(), "answer 200");
    assert.equal(Buffer.from(payload.sourceBody, "base64").toString(), JSON.stringify({ s: 1 }));
    assert.equal(payload.url, rx.url("/cb/source"));
    const receiver = await newReceiver();
    assert.equal(await receiver.verify({ signature: cb.headers["upstash-signature"], body: cb.body, url: rx.url("/cb/ok") }), true);
    await client.publishJSON({ url: rx.url("/status/404/cbsrc"), body: {}, retries: 0, failureCallback: rx.url("/cb/failed") });
    const [fcb] = await rx.waitFor("/cb/failed");
    const f = JSON.parse(fcb.body);
    assert.equal(f.status, 404);
    assert.equal(typeof f.dlqId, "string");
    assert.equal(f.maxRetries, 0);
  });

  it("cancels many and all", async () => {
    const ids = [];
    for (let i = 0; i < 3; i++) {
      ids.push((await client.publish({ url: rx.url("/never"), body: "x", delay: "1d" })).messageId);
    }
    const n = await client.messages.cancel([ids[0], ids[1]]);
    assert.equal(n.cancelled ?? n, 2);
    const all = await client.messages.cancel({ all: true });
    assert.ok((all.cancelled ?? all) >= 1);
    await assert.rejects(client.messages.get(ids[2]));
  });

  it("answers errors as QstashError with the server's message", async () => {
    await assert.rejects(client.publish({ url: "not-a-url", body: "x" }), /invalid/);
    const bad = newClient({ token: "wrong-token" });
    await assert.rejects(bad.publish({ url: rx.url("/x"), body: "x" }), (e) => e.status === 401);
    await assert.rejects(client.messages.get("msg_does_not_exist"), (e) => e.status === 404);
  });
});

describe("@upstash/qstash dev mode (QSTASH_DEV=true) against larder --qstash-dev", () => {
  const port = process.env.LARDER_QSTASH_DEV_PORT;
  let rx;
  before(async () => {
    rx = await startReceiver();
  });
  after(async () => {
    await rx.close();
    delete process.env.QSTASH_DEV_PORT;
  });

  it("the SDK finds the server by its dev-server probe and its deliveries verify with the dev keys", { skip: !port }, async () => {
    // The SDK's dev mode: no URL, no token; it probes 127.0.0.1:$QSTASH_DEV_PORT/v2/keys with the
    // public dev token and uses the server when the keys are the dev keys (no binary download).
    process.env.QSTASH_DEV_PORT = port;
    const { Client, Receiver } = await import("@upstash/qstash");
    const dev = new Client({ devMode: true, retry: false });
    const res = await dev.publishJSON({ url: rx.url("/devmode"), body: { dev: true } });
    assert.match(res.messageId, /^msg_/);
    const [d] = await rx.waitFor("/devmode");
    const receiver = new Receiver({ devMode: true });
    assert.equal(await receiver.verify({ signature: d.headers["upstash-signature"], body: d.body, url: rx.url("/devmode") }), true);
  });
});
