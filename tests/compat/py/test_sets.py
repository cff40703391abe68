"""Set commands through upstash-redis, with base64 responses (default) and without.

Expected values are Redis 7 semantics after the client's conversions (SISMEMBER/SMOVE -> bool,
SMISMEMBER -> [bool], SSCAN -> (int, list)). Set replies have no defined order, so they are
compared sorted. SINTERCARD has no method in the Python client (redis-commands.tsv); it is
covered through execute().
"""

import pytest
from upstash_redis.errors import UpstashError

WRONGTYPE = "WRONGTYPE Operation against a key holding the wrong kind of value"


def test_sadd_smembers_scard(redis, k):
    assert redis.sadd(k("s"), "a", "b", "c") == 3
    assert redis.sadd(k("s"), "c", "d", "d") == 1
    assert redis.scard(k("s")) == 4
    assert sorted(redis.smembers(k("s"))) == ["a", "b", "c", "d"]
    assert redis.smembers(k("nokey")) == []
    assert redis.scard(k("nokey")) == 0


def test_non_string_members(redis, k):
    """ints, floats and bools are sent as JSON scalars and stored as their text."""
    assert redis.sadd(k("s"), 1, 2.5, True, "1") == 3
    assert sorted(redis.smembers(k("s"))) == ["1", "2.5", "true"]


def test_sismember_smismember(redis, k):
    redis.sadd(k("s"), "a", "b")
    assert redis.sismember(k("s"), "a") is True
    assert redis.sismember(k("s"), "z") is False
    assert redis.sismember(k("nokey"), "a") is False
    assert redis.smismember(k("s"), "a", "z", "b") == [True, False, True]
    assert redis.smismember(k("nokey"), "a") == [False]


def test_srem(redis, k):
    redis.sadd(k("s"), "a", "b", "c")
    assert redis.srem(k("s"), "a", "zz") == 1
    assert redis.srem(k("s"), "b", "c", "b") == 2
    assert redis.exists(k("s")) == 0
    assert redis.srem(k("s"), "a") == 0


def test_smove(redis, k):
    redis.sadd(k("src"), "a", "b")
    redis.sadd(k("dst"), "b")
    assert redis.smove(k("src"), k("dst"), "a") is True
    assert redis.smove(k("src"), k("dst"), "zz") is False
    assert redis.smove(k("nokey"), k("dst"), "a") is False
    assert redis.smove(k("src"), k("dst"), "b") is True  # already there: still leaves the source
    assert redis.exists(k("src")) == 0
    assert sorted(redis.smembers(k("dst"))) == ["a", "b"]
    assert redis.smove(k("dst"), k("dst"), "a") is True
    assert redis.smove(k("dst"), k("dst"), "zz") is False


def test_spop(redis, k):
    assert redis.spop(k("nokey")) is None
    assert redis.spop(k("nokey"), 2) == []
    members = ["a", "b", "c", "d"]
    redis.sadd(k("s"), *members)
    one = redis.spop(k("s"))
    assert one in members
    assert redis.sismember(k("s"), one) is False
    two = redis.spop(k("s"), 2)
    assert len(two) == 2 and len({one, *two}) == 3
    assert redis.spop(k("s"), 0) == []
    rest = redis.spop(k("s"), 10)
    assert sorted([one, *two, *rest]) == members
    assert redis.exists(k("s")) == 0


def test_srandmember(redis, k):
    assert redis.srandmember(k("nokey")) is None
    assert redis.srandmember(k("nokey"), 3) == []
    assert redis.srandmember(k("nokey"), -3) == []
    members = ["a", "b", "c"]
    redis.sadd(k("s"), *members)
    for _ in range(5):
        assert redis.srandmember(k("s")) in members
    two = redis.srandmember(k("s"), 2)
    assert len(two) == 2 and len(set(two)) == 2 and set(two) <= set(members)
    assert sorted(redis.srandmember(k("s"), 10)) == members
    many = redis.srandmember(k("s"), -10)
    assert len(many) == 10 and set(many) <= set(members)
    assert redis.srandmember(k("s"), 0) == []
    assert redis.scard(k("s")) == 3


def test_sinter_sunion_sdiff(redis, k):
    redis.sadd(k("a"), "1", "2", "3", "x")
    redis.sadd(k("b"), "2", "3", "4")
    redis.sadd(k("c"), "3", "5")
    assert sorted(redis.sinter(k("a"), k("b"))) == ["2", "3"]
    assert redis.sinter(k("a"), k("b"), k("c")) == ["3"]
    assert redis.sinter(k("a"), k("nokey")) == []
    assert sorted(redis.sunion(k("a"), k("b"), k("c"), k("nokey"))) == ["1", "2", "3", "4", "5", "x"]
    assert sorted(redis.sdiff(k("a"), k("b"))) == ["1", "x"]
    assert sorted(redis.sdiff(k("a"), k("b"), k("c"), k("nokey"))) == ["1", "x"]
    assert redis.sdiff(k("nokey"), k("a")) == []


def test_set_stores(redis, k):
    redis.sadd(k("a"), "1", "2", "3")
    redis.sadd(k("b"), "2", "3", "4")
    redis.set(k("dst"), "replaced")
    assert redis.sinterstore(k("dst"), k("a"), k("b")) == 2
    assert sorted(redis.smembers(k("dst"))) == ["2", "3"]
    assert redis.type(k("dst")) == "set"
    assert redis.sunionstore(k("dst"), k("a"), k("b")) == 4
    assert redis.sdiffstore(k("dst"), k("a"), k("b")) == 1
    assert redis.smembers(k("dst")) == ["1"]
    assert redis.sunionstore(k("a"), k("a"), k("b")) == 4
    assert redis.sinterstore(k("dst"), k("a"), k("nokey")) == 0
    assert redis.exists(k("dst")) == 0


def test_sintercard_via_execute(redis, k):
    redis.sadd(k("a"), "1", "2", "3", "4", "5")
    redis.sadd(k("b"), "2", "3", "4", "5", "6")
    assert redis.execute(["SINTERCARD", 2, k("a"), k("b")]) == 4
    assert redis.execute(["SINTERCARD", 2, k("a"), k("b"), "LIMIT", 2]) == 2
    assert redis.execute(["SINTERCARD", 2, k("a"), k("b"), "LIMIT", 0]) == 4
    assert redis.execute(["SINTERCARD", 2, k("a"), k("nokey")]) == 0
    with pytest.raises(UpstashError, match="ERR LIMIT can't be negative"):
        redis.execute(["SINTERCARD", 1, k("a"), "LIMIT", -1])
    with pytest.raises(UpstashError, match="ERR numkeys should be greater than 0"):
        redis.execute(["SINTERCARD", 0, k("a")])


def test_sscan(redis, k):
    members = [f"m:{i}" for i in range(60)]
    redis.sadd(k("s"), *members, "other")
    seen = set()
    cursor = 0
    for _ in range(1000):
        cursor, items = redis.sscan(k("s"), cursor, match="m:*", count=9)
        assert isinstance(cursor, int)
        seen.update(items)
        if cursor == 0:
            break
    else:
        raise AssertionError("SSCAN did not terminate")
    assert sorted(seen) == sorted(members)
    assert redis.sscan(k("nokey")) == (0, [])
    redis.sadd(k("ints"), 10, 20, 30)
    assert redis.sscan(k("ints"), 0, count=100)[0] == 0
    assert sorted(redis.sscan(k("ints"), 0, count=100)[1]) == ["10", "20", "30"]


def test_wrongtype(redis, k):
    redis.set(k("str"), "v")
    redis.sadd(k("s"), "a")
    for call in (
        lambda: redis.sadd(k("str"), "a"),
        lambda: redis.smembers(k("str")),
        lambda: redis.sismember(k("str"), "a"),
        lambda: redis.sinter(k("s"), k("str")),
        lambda: redis.sunionstore(k("dst"), k("s"), k("str")),
        lambda: redis.smove(k("s"), k("str"), "a"),
    ):
        with pytest.raises(UpstashError, match=WRONGTYPE):
            call()
    assert redis.sismember(k("s"), "a") is True


def test_unicode_members(redis, k):
    members = ["héllo 🚀", "OK", "T0s=", "你好", "", 'a "q"\n']
    assert redis.sadd(k("s"), *members) == 6
    assert sorted(redis.smembers(k("s"))) == sorted(members)
    assert redis.sismember(k("s"), "OK") is True
    assert sorted(redis.sunion(k("s"))) == sorted(members)
    assert redis.srandmember(k("s")) in members


def test_sets_in_pipeline(redis, k):
    p = redis.pipeline()
    p.sadd(k("a"), "x", "y")
    p.sadd(k("b"), "y", "z")
    p.scard(k("a"))
    p.sismember(k("a"), "x")
    p.smismember(k("a"), "x", "z")
    p.sinter(k("a"), k("b"))
    p.sinterstore(k("c"), k("a"), k("b"))
    p.srem(k("a"), "x")
    p.smembers(k("a"))
    p.smove(k("b"), k("a"), "z")
    p.sscan(k("c"))
    p.spop(k("nokey"))
    assert p.exec() == [2, 2, 2, True, [True, False], ["y"], 1, 1, ["y"], True, (0, ["y"]), None]


def test_sets_in_multi(redis, k):
    tx = redis.multi()
    tx.sadd(k("s"), "only")
    tx.spop(k("s"), 5)
    tx.exists(k("s"))
    tx.sadd(k("s"), "1")
    tx.smembers(k("s"))
    assert tx.exec() == [1, ["only"], 0, 1, ["1"]]


def test_read_only_token_sets(ro, redis_b64, k):
    redis_b64.sadd(k("s"), "a", "b")
    assert sorted(ro.smembers(k("s"))) == ["a", "b"]
    assert ro.scard(k("s")) == 2
    assert ro.sismember(k("s"), "a") is True
    for call in (
        lambda: ro.sadd(k("s"), "c"),
        lambda: ro.srem(k("s"), "a"),
        lambda: ro.spop(k("s")),
        lambda: ro.smove(k("s"), k("t"), "a"),
        lambda: ro.sdiffstore(k("t"), k("s")),
    ):
        with pytest.raises(UpstashError, match=r"^NOPERM"):
            call()
    assert redis_b64.scard(k("s")) == 2
