// @upstash/qstash against larder: queues (FIFO, parallelism, pause), schedules (create, get, list,
// pause, resume, delete, and a tick), URL groups (endpoints, fan-out, delete) and flow control.

import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { Redis } from "@upstash/redis";
import { QSTASH_URL, newClient, newReceiver, sleep, startReceiver, unique } from "./qstash-helpers.mjs";

describe("@upstash/qstash: queues, schedules, URL groups, flow control", () => {
  const client = newClient();
  let rx;
  before(async () => {
    rx = await startReceiver();
  });
  after(async () => {
    await rx.close();
  });

  it("a queue delivers in order, one at a time, and can be paused and resumed", async () => {
    const name = unique("q");
    const queue = client.queue({ queueName: name });
    await queue.upsert({ parallelism: 1, paused: true });
    for (let i = 0; i < 4; i++) {
      await queue.enqueueJSON({ url: rx.url(`/slow/40/${name}/${i}`), body: { i } });
    }
    await sleep(300);
    assert.equal(rx.requests(`/slow/40/${name}`).length, 0, "paused: nothing delivered");
    const info = await queue.get();
    assert.equal(info.name, name);
    assert.equal(info.parallelism, 1);
    assert.equal(info.paused, true);
    assert.equal(info.lag, 4);
    assert.ok(info.createdAt > 0 && info.updatedAt >= info.createdAt);
    await queue.resume();
    const got = await rx.waitFor(`/slow/40/${name}`, 4);
    assert.deepEqual(got.map((g) => JSON.parse(g.body).i), [0, 1, 2, 3]);
    for (let i = 1; i < got.length; i++) assert.ok(got[i].at - got[i - 1].at >= 35);
    assert.ok((await queue.list()).some((q) => q.name === name));
    await queue.pause();
    assert.equal((await queue.get()).paused, true);
    await queue.delete();
    assert.ok(!(await queue.list()).some((q) => q.name === name));
    await assert.rejects(queue.get());
  });

  it("schedules: create, read, pause, resume, overwrite, fire, delete", async () => {
    const dest = rx.url("/cron/a");
    const { scheduleId } = await client.schedules.create({
      destination: dest,
      cron: "CRON_TZ=America/New_York 0 9 * * 1-5",
      body: JSON.stringify({ tick: true }),
      retries: 1,
      headers: { "X-From": "schedule" },
    });
    assert.match(scheduleId, /^scd_/);
    const s = await client.schedules.get(scheduleId);
    assert.equal(s.scheduleId, scheduleId);
    assert.equal(s.destination, dest);
    assert.equal(s.cron, "CRON_TZ=America/New_York 0 9 * * 1-5");
    assert.equal(s.retries, 1);
    assert.equal(s.isPaused, false);
    assert.equal(s.body, JSON.stringify({ tick: true }));
    assert.ok((await client.schedules.list()).some((x) => x.scheduleId === scheduleId));
    await client.schedules.pause({ schedule: scheduleId });
    assert.equal((await client.schedules.get(scheduleId)).isPaused, true);
    await client.schedules.resume({ schedule: scheduleId });
    assert.equal((await client.schedules.get(scheduleId)).isPaused, false);
    // Overwrite by id with a new destination, then let the clock reach the tick: the schedule's
    // next time is moved to the past through the Redis API of the same server.
    const id = unique("myschedule");
    await client.schedules.create({ destination: rx.url("/cron/b"), cron: "* * * * *", scheduleId: id, body: "b1" });
    const again = await client.schedules.create({ destination: rx.url("/cron/c"), cron: "* * * * *", scheduleId: id, body: "c1" });
    assert.equal(again.scheduleId, id);
    assert.equal((await client.schedules.get(id)).destination, rx.url("/cron/c"));
    const redis = new Redis({ url: QSTASH_URL, token: process.env.UPSTASH_REDIS_REST_TOKEN });
    await redis.zadd("qstash:{q}:sched:due", { xx: true }, { score: 1, member: id });
    const [fired] = await rx.waitFor("/cron/c");
    assert.equal(fired.headers["upstash-schedule-id"], id);
    assert.equal(fired.body, "c1");
    const receiver = await newReceiver();
    assert.equal(await receiver.verify({ signature: fired.headers["upstash-signature"], body: fired.body }), true);
    assert.equal(rx.requests("/cron/b").length, 0);
    await client.schedules.delete(id);
    await client.schedules.delete(scheduleId);
    await assert.rejects(client.schedules.get(scheduleId));
  });

  it("URL groups: add endpoints, fan out, remove endpoints, delete", async () => {
    const name = unique("group");
    await client.urlGroups.addEndpoints({
      name,
      endpoints: [{ name: "first", url: rx.url(`/ug/${name}/1`) }, { url: rx.url(`/ug/${name}/2`) }],
    });
    const g = await client.urlGroups.get(name);
    assert.equal(g.name, name);
    assert.deepEqual(g.endpoints, [{ name: "first", url: rx.url(`/ug/${name}/1`) }, { url: rx.url(`/ug/${name}/2`) }]);
    assert.ok((await client.urlGroups.list()).some((x) => x.name === name));
    const res = await client.publishJSON({ urlGroup: name, body: { fan: "out" } });
    assert.ok(Array.isArray(res));
    assert.equal(res.length, 2);
    assert.deepEqual(res.map((r) => r.url).sort(), [rx.url(`/ug/${name}/1`), rx.url(`/ug/${name}/2`)]);
    const got = await rx.waitFor(`/ug/${name}/`, 2);
    for (const d of got) assert.equal(d.headers["upstash-topic-name"], name);
    await client.urlGroups.removeEndpoints({ name, endpoints: [{ name: "first" }] });
    assert.deepEqual((await client.urlGroups.get(name)).endpoints, [{ url: rx.url(`/ug/${name}/2`) }]);
    await client.urlGroups.delete(name);
    await assert.rejects(client.urlGroups.get(name));
  });

  it("flow control holds back messages over the key's parallelism", async () => {
    const key = unique("fc");
    for (let i = 0; i < 3; i++) {
      await client.publishJSON({ url: rx.url(`/slow/200/${key}/${i}`), body: { i }, flowControl: { key, parallelism: 1 } });
    }
    await sleep(80);
    const fc = await client.flowControl.get(key);
    assert.equal(fc.flowControlKey, key);
    assert.equal(fc.parallelismMax, 1);
    assert.equal(fc.waitListSize, 2);
    const got = await rx.waitFor(`/slow/200/${key}`, 3);
    for (let i = 1; i < got.length; i++) assert.ok(got[i].at - got[i - 1].at >= 180, `${got[i].at - got[i - 1].at} ms apart`);
  });
});
