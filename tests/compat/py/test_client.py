"""Read-your-writes sync tokens, the read-only token, errors and async use of upstash-redis."""

import pytest
from upstash_redis import AsyncRedis
from upstash_redis.errors import UpstashError

from conftest import TOKEN, URL, make_redis

NOPERM = r"^NOPERM"


# -- read-your-writes -------------------------------------------------------------------------


def test_sync_token_changes_after_writes(redis_b64, k):
    redis = redis_b64
    assert redis._sync_token == ""
    redis.set(k("a"), "1")
    t1 = redis._sync_token
    assert t1
    redis.set(k("a"), "2")
    t2 = redis._sync_token
    assert t2 and t2 != t1
    redis.incr(k("a"))
    t3 = redis._sync_token
    assert t3 and t3 != t2


def test_sync_token_pipeline_and_multi(redis_b64, k):
    redis = redis_b64
    redis.set(k("a"), "0")
    t0 = redis._sync_token
    p = redis.pipeline()
    p.set(k("a"), "1")
    p.incr(k("a"))
    p.exec()
    t1 = redis._sync_token
    assert t1 and t1 != t0
    tx = redis.multi()
    tx.set(k("a"), "1")
    tx.incr(k("a"))
    tx.exec()
    t2 = redis._sync_token
    assert t2 and t2 != t1


def test_sync_token_junk_is_accepted(redis_b64, k):
    redis = redis_b64
    redis._sync_token = "my-new-sync-token"
    assert redis.set(k("a"), "v") is True
    assert redis._sync_token and redis._sync_token != "my-new-sync-token"
    assert redis.get(k("a")) == "v"


def test_sync_token_shared_between_clients(k):
    writer = make_redis()
    reader = make_redis()
    writer.set(k("a"), "shared")
    reader._sync_token = writer._sync_token
    assert reader.get(k("a")) == "shared"


def test_read_your_writes_disabled_still_works(k):
    redis = make_redis(read_your_writes=False)
    redis.set(k("a"), "v")
    assert redis._sync_token == ""
    assert redis.get(k("a")) == "v"


# -- read-only token --------------------------------------------------------------------------


def test_read_only_token_reads(ro, redis_b64, k):
    redis_b64.set(k("a"), "value")
    redis_b64.set(k("n"), "5", ex=100)
    assert ro.get(k("a")) == "value"
    assert ro.mget(k("a"), k("n")) == ["value", "5"]
    assert ro.exists(k("a"), k("missing")) == 1
    assert ro.ttl(k("n")) > 0
    assert ro.strlen(k("a")) == 5
    assert ro.getrange(k("a"), 0, 1) == "va"
    assert ro.type(k("a")) == "string"
    assert ro.ping() == "PONG"
    assert ro.echo("hi") == "hi"


@pytest.mark.parametrize(
    "name,call",
    [
        ("set", lambda ro, k: ro.set(k("a"), "changed")),
        ("delete", lambda ro, k: ro.delete(k("a"))),
        ("incr", lambda ro, k: ro.incr(k("n"))),
        ("expire", lambda ro, k: ro.expire(k("a"), 10)),
        ("persist", lambda ro, k: ro.persist(k("n"))),
        ("getdel", lambda ro, k: ro.getdel(k("a"))),
        ("mset", lambda ro, k: ro.mset({k("x"): "1"})),
        ("rename", lambda ro, k: ro.rename(k("a"), k("x"))),
        ("flushdb", lambda ro, k: ro.flushdb()),
        ("flushall", lambda ro, k: ro.flushall()),
        ("execute-set", lambda ro, k: ro.execute(["SET", k("a"), "changed"])),
    ],
)
def test_read_only_token_refuses_writes(ro, redis_b64, k, name, call):
    redis_b64.set(k("a"), "value")
    redis_b64.set(k("n"), "5", ex=100)
    with pytest.raises(UpstashError, match=NOPERM):
        call(ro, k)
    assert redis_b64.get(k("a")) == "value"
    assert redis_b64.get(k("n")) == "5"
    assert redis_b64.ttl(k("n")) > 0
    assert redis_b64.exists(k("x")) == 0


def test_read_only_token_pipeline_write_refused(ro, redis_b64, k):
    redis_b64.set(k("a"), "value")
    p = ro.pipeline()
    p.get(k("a"))
    p.set(k("a"), "changed")
    with pytest.raises(UpstashError, match=NOPERM):
        p.exec()
    assert redis_b64.get(k("a")) == "value"


def test_read_only_token_multi_write_refused(ro, redis_b64, k):
    """Upstash's exact answer is not documented: per-command NOPERM elements (the client raises
    UpstashError) or the whole transaction refused with a non-2xx {"error"} (the client then fails
    with an unrelated exception, since it expects a list). Either way nothing may be written."""
    redis_b64.set(k("a"), "value")
    tx = ro.multi()
    tx.get(k("a"))
    tx.set(k("a"), "changed")
    with pytest.raises(Exception):
        tx.exec()
    assert redis_b64.get(k("a")) == "value"


# -- errors -----------------------------------------------------------------------------------


def test_error_then_client_keeps_working(redis, k):
    redis.set(k("a"), "not a number")
    with pytest.raises(UpstashError, match="ERR value is not an integer or out of range"):
        redis.incr(k("a"))
    assert redis.get(k("a")) == "not a number"


def test_bad_token_raises(k):
    bad = make_redis(token="definitely-not-the-token")
    with pytest.raises(UpstashError):
        bad.get(k("a"))


# -- asyncio client ---------------------------------------------------------------------------


@pytest.mark.asyncio
@pytest.mark.parametrize("encoding", ["base64", None], ids=["base64", "plain"])
async def test_async_client(k, encoding):
    async with AsyncRedis(URL, TOKEN, rest_encoding=encoding, rest_retries=0) as redis:
        assert await redis.set(k("a"), "héllo", ex=100) is True
        assert await redis.get(k("a")) == "héllo"
        assert 98 <= await redis.ttl(k("a")) <= 100
        assert await redis.incr(k("n")) == 1
        assert await redis.mget(k("a"), k("n"), k("missing")) == ["héllo", "1", None]
        with pytest.raises(UpstashError, match="ERR value is not an integer or out of range"):
            await redis.incr(k("a"))

        p = redis.pipeline()
        p.set(k("b"), "OK")
        p.get(k("b"))
        p.incrby(k("n"), 9)
        assert await p.exec() == [True, "OK", 10]

        tx = redis.multi()
        tx.getdel(k("b"))
        tx.exists(k("b"))
        assert await tx.exec() == ["OK", 0]

        before = redis._sync_token
        await redis.set(k("c"), "1")
        assert redis._sync_token and redis._sync_token != before


@pytest.mark.asyncio
@pytest.mark.parametrize("encoding", ["base64", None], ids=["base64", "plain"])
async def test_async_client_collections(k, encoding):
    """The asyncio client applies the same per-command conversions to collection replies."""
    async with AsyncRedis(URL, TOKEN, rest_encoding=encoding, rest_retries=0) as redis:
        assert await redis.hset(k("h"), values={"a": "1", "b": "OK"}) == 2
        assert await redis.hgetall(k("h")) == {"a": "1", "b": "OK"}
        assert await redis.hexists(k("h"), "a") is True
        assert await redis.rpush(k("l"), "x", "y") == 2
        assert await redis.lrange(k("l"), 0, -1) == ["x", "y"]
        assert await redis.sadd(k("s"), "m") == 1
        assert await redis.smismember(k("s"), "m", "n") == [True, False]
        assert await redis.zadd(k("z"), {"p": 1.5, "q": 2}) == 2
        assert await redis.zrange(k("z"), 0, -1, withscores=True) == [("p", 1.5), ("q", 2.0)]
        assert await redis.zscore(k("z"), "q") == 2.0
        assert await redis.eval("return redis.call('ZCARD', KEYS[1])", keys=[k("z")]) == 2
        p = redis.pipeline()
        p.hgetall(k("h"))
        p.zpopmin(k("z"))
        p.lpop(k("l"), 5)
        assert await p.exec() == [{"a": "1", "b": "OK"}, [("p", 1.5)], ["x", "y"]]
