"""The official qstash (PyPI) client against larder: publish and publish_json verified by the
official Receiver, retries with Upstash-Retried counting up, the DLQ, delays, deduplication,
batches, enqueue and queues, schedules, URL groups, messages, logs and signing keys."""

import json
import time

import pytest
from qstash import AsyncQStash, Receiver
from qstash.errors import QStashError
from qstash.log import LogState

from qstash_support import (
    QSTASH_TOKEN,
    QSTASH_URL,
    LocalReceiver,
    new_client,
    new_receiver,
    states,
    unique,
    until,
)

if not QSTASH_URL or not QSTASH_TOKEN:
    pytest.skip("QSTASH_URL and QSTASH_TOKEN are not set (use tests/compat/run.sh)", allow_module_level=True)


@pytest.fixture(scope="module")
def rx():
    r = LocalReceiver()
    yield r
    r.close()


@pytest.fixture(scope="module")
def client():
    return new_client()


def test_publish_json_is_delivered_and_verified(client, rx):
    url = rx.url("/py/json?x=1")
    res = client.message.publish_json(url=url, body={"ex": 1}, headers={"My-Header": "mine"})
    assert res.message_id.startswith("msg_")
    assert res.deduplicated is False
    (d,) = rx.wait_for("/py/json")
    assert d.path == "/py/json?x=1"
    assert json.loads(d.body) == {"ex": 1}
    assert d.headers["content-type"] == "application/json"
    assert d.headers["my-header"] == "mine"
    assert d.headers["upstash-message-id"] == res.message_id
    assert d.headers["upstash-retried"] == "0"
    assert "authorization" not in d.headers
    receiver = new_receiver()
    receiver.verify(signature=d.headers["upstash-signature"], body=d.body.decode(), url=url)
    with pytest.raises(Exception):
        receiver.verify(signature=d.headers["upstash-signature"], body=d.body.decode() + "x", url=url)
    with pytest.raises(Exception):
        Receiver(
            current_signing_key="sig_not_the_key_0000000000000000", next_signing_key="sig_nor_this_one_000000000000000"
        ).verify(signature=d.headers["upstash-signature"], body=d.body.decode())
    until(lambda: "DELIVERED" in states(client, res.message_id), "DELIVERED")
    assert states(client, res.message_id) == ["CREATED", "ACTIVE", "DELIVERED"]
    delivered = client.log.list(filter={"message_id": res.message_id, "state": LogState.DELIVERED}).logs
    assert len(delivered) == 1


def test_publish_raw_body_method_and_headers(client, rx):
    res = client.message.publish(
        url=rx.url("/py/raw"), body="plain text", content_type="text/plain", method="PATCH", headers={"X-A": "b"}
    )
    (d,) = rx.wait_for("/py/raw")
    assert d.method == "PATCH"
    assert d.body == b"plain text"
    assert d.headers["content-type"] == "text/plain"
    assert d.headers["x-a"] == "b"
    new_receiver().verify(signature=d.headers["upstash-signature"], body="plain text", url=rx.url("/py/raw"))
    assert res.message_id == d.headers["upstash-message-id"]


def test_retries_count_up_then_dlq(client, rx):
    url = rx.url("/status/500/py")
    res = client.message.publish_json(url=url, body={"r": 1}, retries=2, retry_delay="150")
    got = rx.wait_for("/status/500/py", 3)
    assert [g.headers["upstash-retried"] for g in got] == ["0", "1", "2"]
    assert got[1].at - got[0].at >= 0.13
    until(lambda: "FAILED" in states(client, res.message_id), "FAILED")
    listed = client.dlq.list(filter={"url": url}).messages
    m = next(x for x in listed if x.message_id == res.message_id)
    assert m.response_status == 500
    assert m.response_body == "answer 500"
    assert m.max_retries == 2
    assert m.retry_delay_expression == "150"
    one = client.dlq.get(m.dlq_id)
    assert one.message_id == res.message_id
    assert client.dlq.delete_many([m.dlq_id, "1-0"]) == 1
    with pytest.raises(QStashError):
        client.dlq.get(m.dlq_id)


def test_non_retryable_status(client, rx):
    res = client.message.publish(url=rx.url("/status/404/nr"), body="x", retries=0)
    until(lambda: "FAILED" in states(client, res.message_id), "FAILED")
    assert states(client, res.message_id) == ["CREATED", "ACTIVE", "ERROR", "FAILED"]


def test_delay_get_and_cancel(client, rx):
    t0 = time.monotonic()
    client.message.publish(url=rx.url("/py/delay1"), body="d", delay="1s")
    later = client.message.publish(url=rx.url("/py/delayed-long"), body="later", delay=3600)
    (d,) = rx.wait_for("/py/delay1")
    assert d.at - t0 >= 0.95
    m = client.message.get(later.message_id)
    assert m.message_id == later.message_id
    assert m.body == "later"
    assert m.not_before >= m.created_at + 3_500_000
    client.message.cancel(later.message_id)
    with pytest.raises(QStashError):
        client.message.get(later.message_id)


def test_cancel_many_and_all(client, rx):
    ids = [client.message.publish(url=rx.url("/py/never"), body="x", delay="1d").message_id for _ in range(3)]
    assert client.message.cancel_many([ids[0], ids[1]]) == 2
    assert client.message.cancel_all() >= 1
    with pytest.raises(QStashError):
        client.message.get(ids[2])


def test_deduplication(client, rx):
    dedup = unique("py-dedup")
    a = client.message.publish(url=rx.url("/py/dedup"), body="1", deduplication_id=dedup)
    b = client.message.publish(url=rx.url("/py/dedup"), body="2", deduplication_id=dedup)
    assert b.message_id == a.message_id
    assert b.deduplicated is True
    body = {"c": unique("content")}
    c = client.message.publish_json(url=rx.url("/py/dedup"), body=body, content_based_deduplication=True)
    d = client.message.publish_json(url=rx.url("/py/dedup"), body=body, content_based_deduplication=True)
    assert d.message_id == c.message_id and d.deduplicated is True
    rx.wait_for("/py/dedup", 2)


def test_batch_json(client, rx):
    q = unique("pyq")
    res = client.message.batch_json(
        [
            {"url": rx.url("/py/batch/1"), "body": {"i": 1}},
            {"url": rx.url("/py/batch/2"), "body": {"i": 2}, "headers": {"X-I": "2"}},
            {"url": rx.url("/py/batch/3"), "body": {"i": 3}, "queue": q},
        ]
    )
    assert len(res) == 3
    assert all(r.message_id.startswith("msg_") for r in res)
    got = rx.wait_for("/py/batch/", 3)
    assert sorted(json.loads(g.body)["i"] for g in got) == [1, 2, 3]
    assert next(g for g in got if g.path == "/py/batch/2").headers["x-i"] == "2"


def test_enqueue_and_queues(client, rx):
    name = unique("pyqueue")
    client.queue.upsert(name, parallelism=1)
    for i in range(3):
        client.message.enqueue_json(queue=name, url=rx.url(f"/slow/30/{name}/{i}"), body={"i": i})
    got = rx.wait_for(f"/slow/30/{name}", 3)
    assert [json.loads(g.body)["i"] for g in got] == [0, 1, 2]
    q = client.queue.get(name)
    assert q.name == name and q.parallelism == 1 and q.paused is False
    assert any(x.name == name for x in client.queue.list())
    client.queue.pause(name)
    assert client.queue.get(name).paused is True
    client.queue.resume(name)
    assert client.queue.get(name).paused is False
    client.queue.delete(name)
    with pytest.raises(QStashError):
        client.queue.get(name)


def test_schedules(client, rx):
    sid = client.schedule.create_json(
        destination=rx.url("/py/cron"), cron="CRON_TZ=Asia/Tokyo 30 8 * * *", body={"s": 1}, retries=2
    )
    s = client.schedule.get(sid)
    assert s.schedule_id == sid
    assert s.cron == "CRON_TZ=Asia/Tokyo 30 8 * * *"
    assert s.destination == rx.url("/py/cron")
    assert s.retries == 2
    assert s.paused is False
    assert s.next_schedule_time is not None
    assert any(x.schedule_id == sid for x in client.schedule.list())
    client.schedule.pause(sid)
    assert client.schedule.get(sid).paused is True
    client.schedule.resume(sid)
    assert client.schedule.get(sid).paused is False
    custom = unique("py-sched")
    assert client.schedule.create(destination=rx.url("/py/cron2"), cron="0 0 * * *", schedule_id=custom) == custom
    client.schedule.delete(custom)
    client.schedule.delete(sid)
    with pytest.raises(QStashError):
        client.schedule.get(sid)


def test_url_groups(client, rx):
    name = unique("pygroup")
    client.url_group.delete(name)  # a missing group deletes fine
    client.url_group.upsert_endpoints(
        url_group=name,
        endpoints=[{"url": rx.url(f"/py/ug/{name}/1"), "name": "one"}, {"url": rx.url(f"/py/ug/{name}/2")}],
    )
    g = client.url_group.get(name)
    assert g.name == name
    assert sorted(e.url for e in g.endpoints) == [rx.url(f"/py/ug/{name}/1"), rx.url(f"/py/ug/{name}/2")]
    assert any(x.name == name for x in client.url_group.list())
    res = client.message.publish_json(url_group=name, body={"fan": 1})
    assert isinstance(res, list) and len(res) == 2
    got = rx.wait_for(f"/py/ug/{name}/", 2)
    assert all(d.headers["upstash-topic-name"] == name for d in got)
    client.url_group.remove_endpoints(url_group=name, endpoints=[{"url": rx.url(f"/py/ug/{name}/1")}])
    assert [e.url for e in client.url_group.get(name).endpoints] == [rx.url(f"/py/ug/{name}/2")]
    client.url_group.delete(name)
    with pytest.raises(QStashError):
        client.url_group.get(name)


def test_signing_keys(client):
    keys = client.signing_key.get()
    assert keys.current.startswith("sig_") and keys.next.startswith("sig_")


def test_errors(client, rx):
    with pytest.raises(QStashError, match="invalid"):
        client.message.publish(url="not-a-url", body="x")
    with pytest.raises(QStashError):
        client.message.get("msg_nope")
    with pytest.raises(QStashError):
        client.message.cancel("msg_nope")


@pytest.mark.asyncio
async def test_async_client(rx):
    client = AsyncQStash(QSTASH_TOKEN, base_url=QSTASH_URL)
    res = await client.message.publish_json(url=rx.url("/py/async"), body={"a": True})
    (d,) = rx.wait_for("/py/async")
    assert d.headers["upstash-message-id"] == res.message_id
    new_receiver().verify(signature=d.headers["upstash-signature"], body=d.body.decode(), url=rx.url("/py/async"))
    m = await client.message.publish(url=rx.url("/py/async-later"), body="x", delay="1h")
    got = await client.message.get(m.message_id)
    assert got.body == "x"
    await client.message.cancel(m.message_id)


def test_zz_rotate_keys(client, rx):
    """Runs last in this file: later deliveries are signed with the new current key."""
    before = client.signing_key.get()
    after = client.signing_key.rotate()
    assert after.current == before.next
    assert after.next != before.next and after.next.startswith("sig_")
    client.message.publish(url=rx.url("/py/rotated"), body="r")
    (d,) = rx.wait_for("/py/rotated")
    Receiver(current_signing_key=after.current, next_signing_key=after.next).verify(
        signature=d.headers["upstash-signature"], body="r"
    )
