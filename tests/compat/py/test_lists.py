"""List commands through upstash-redis, with base64 responses (default) and without.

Expected values are Redis 7 semantics (checked against redis-server 7.0 through a REST shim)
after the client's conversions (LSET -> True; everything else as the server sent it). LMPOP has
no method in the Python client (redis-commands.tsv); it is covered through execute().
"""

import pytest
from upstash_redis.errors import UpstashError

WRONGTYPE = "WRONGTYPE Operation against a key holding the wrong kind of value"


def test_lpush_rpush_lrange(redis, k):
    assert redis.lpush(k("l"), "a", "b", "c") == 3
    assert redis.lrange(k("l"), 0, -1) == ["c", "b", "a"]
    assert redis.rpush(k("l"), "d", "e") == 5
    assert redis.lrange(k("l"), 0, -1) == ["c", "b", "a", "d", "e"]
    assert redis.llen(k("l")) == 5
    assert redis.type(k("l")) == "list"


def test_lrange_indexes(redis, k):
    redis.rpush(k("l"), "a", "b", "c", "d", "e")
    assert redis.lrange(k("l"), 1, 2) == ["b", "c"]
    assert redis.lrange(k("l"), -2, -1) == ["d", "e"]
    assert redis.lrange(k("l"), -100, 100) == ["a", "b", "c", "d", "e"]
    assert redis.lrange(k("l"), 3, 1) == []
    assert redis.lrange(k("nokey"), 0, -1) == []


def test_non_string_elements(redis, k):
    assert redis.rpush(k("l"), 42, 1.5, True, {"a": 1}) == 4
    assert redis.lrange(k("l"), 0, -1) == ["42", "1.5", "true", '{"a": 1}']


def test_pushx(redis, k):
    assert redis.lpushx(k("l"), "a") == 0
    assert redis.rpushx(k("l"), "a", "b") == 0
    assert redis.exists(k("l")) == 0
    redis.rpush(k("l"), "m")
    assert redis.lpushx(k("l"), "a", "b") == 3
    assert redis.rpushx(k("l"), "y", "z") == 5
    assert redis.lrange(k("l"), 0, -1) == ["b", "a", "m", "y", "z"]


def test_lpop_rpop(redis, k):
    assert redis.lpop(k("nokey")) is None
    assert redis.rpop(k("nokey")) is None
    assert redis.lpop(k("nokey"), 2) is None
    redis.rpush(k("l"), "a", "b", "c", "d", "e", "f")
    assert redis.lpop(k("l")) == "a"
    assert redis.rpop(k("l")) == "f"
    assert redis.lpop(k("l"), 2) == ["b", "c"]
    assert redis.rpop(k("l"), 1) == ["e"]
    assert redis.lpop(k("l"), 0) == []
    assert redis.rpop(k("l"), 10) == ["d"]
    assert redis.exists(k("l")) == 0


def test_lindex(redis, k):
    redis.rpush(k("l"), "a", "b", "c")
    assert redis.lindex(k("l"), 0) == "a"
    assert redis.lindex(k("l"), -1) == "c"
    assert redis.lindex(k("l"), 3) is None
    assert redis.lindex(k("l"), -4) is None
    assert redis.lindex(k("nokey"), 0) is None


def test_linsert(redis, k):
    redis.rpush(k("l"), "a", "c", "c")
    assert redis.linsert(k("l"), "BEFORE", "c", "b") == 4
    assert redis.linsert(k("l"), "AFTER", "c", "d") == 5
    assert redis.lrange(k("l"), 0, -1) == ["a", "b", "c", "d", "c"]
    assert redis.linsert(k("l"), "AFTER", "zz", "x") == -1
    assert redis.linsert(k("nokey"), "BEFORE", "a", "x") == 0
    assert redis.exists(k("nokey")) == 0


def test_lset(redis, k):
    redis.rpush(k("l"), "a", "b", "c")
    assert redis.lset(k("l"), 1, "B") is True
    assert redis.lset(k("l"), -1, "C") is True
    assert redis.lrange(k("l"), 0, -1) == ["a", "B", "C"]
    with pytest.raises(UpstashError, match="ERR index out of range"):
        redis.lset(k("l"), 3, "x")
    with pytest.raises(UpstashError, match="ERR no such key"):
        redis.lset(k("nokey"), 0, "x")


def test_ltrim(redis, k):
    redis.rpush(k("l"), "a", "b", "c", "d", "e")
    assert redis.ltrim(k("l"), 1, -2) == "OK"
    assert redis.lrange(k("l"), 0, -1) == ["b", "c", "d"]
    assert redis.ltrim(k("l"), 2, 1) == "OK"
    assert redis.exists(k("l")) == 0


def test_lrem(redis, k):
    redis.rpush(k("l"), "x", "a", "x", "b", "x", "c", "x")
    assert redis.lrem(k("l"), 2, "x") == 2
    assert redis.lrange(k("l"), 0, -1) == ["a", "b", "x", "c", "x"]
    assert redis.lrem(k("l"), -1, "x") == 1
    assert redis.lrange(k("l"), 0, -1) == ["a", "b", "x", "c"]
    assert redis.lrem(k("l"), 0, "x") == 1
    assert redis.lrem(k("l"), 0, "zz") == 0
    assert redis.lrem(k("nokey"), 0, "x") == 0


def test_lpos(redis, k):
    redis.rpush(k("l"), "a", "b", "c", "a", "b", "c", "a")
    assert redis.lpos(k("l"), "a") == 0
    assert redis.lpos(k("l"), "zz") is None
    assert redis.lpos(k("l"), "a", rank=2) == 3
    assert redis.lpos(k("l"), "a", rank=-1) == 6
    assert redis.lpos(k("l"), "a", count=0) == [0, 3, 6]
    assert redis.lpos(k("l"), "a", count=2, rank=-1) == [6, 3]
    assert redis.lpos(k("l"), "a", count=0, maxlen=3) == [0]
    assert redis.lpos(k("l"), "zz", count=0) == []
    assert redis.lpos(k("nokey"), "a") is None
    with pytest.raises(UpstashError, match="ERR RANK can't be zero"):
        redis.lpos(k("l"), "a", rank=0)


def test_lmove_rpoplpush(redis, k):
    redis.rpush(k("src"), "a", "b", "c")
    assert redis.lmove(k("src"), k("dst")) == "a"  # defaults: LEFT -> RIGHT
    assert redis.lmove(k("src"), k("dst"), "RIGHT", "LEFT") == "c"
    assert redis.lrange(k("dst"), 0, -1) == ["c", "a"]
    assert redis.rpoplpush(k("src"), k("dst")) == "b"
    assert redis.exists(k("src")) == 0
    assert redis.lrange(k("dst"), 0, -1) == ["b", "c", "a"]
    assert redis.rpoplpush(k("src"), k("dst")) is None
    assert redis.lmove(k("src"), k("dst"), "LEFT", "LEFT") is None
    assert redis.rpoplpush(k("dst"), k("dst")) == "a"  # rotation
    assert redis.lrange(k("dst"), 0, -1) == ["a", "b", "c"]


def test_lmpop_via_execute(redis, k):
    redis.rpush(k("b"), "1", "2", "3")
    assert redis.execute(["LMPOP", 2, k("a"), k("b"), "LEFT"]) == [k("b"), ["1"]]
    assert redis.execute(["LMPOP", 2, k("a"), k("b"), "RIGHT", "COUNT", 5]) == [k("b"), ["3", "2"]]
    assert redis.execute(["LMPOP", 2, k("a"), k("b"), "LEFT"]) is None
    assert redis.exists(k("b")) == 0


def test_wrongtype(redis, k):
    redis.set(k("str"), "v")
    redis.rpush(k("l"), "a")
    for call in (
        lambda: redis.lpush(k("str"), "a"),
        lambda: redis.lrange(k("str"), 0, -1),
        lambda: redis.llen(k("str")),
        lambda: redis.lpop(k("str")),
        lambda: redis.lmove(k("l"), k("str")),
        lambda: redis.rpoplpush(k("l"), k("str")),
    ):
        with pytest.raises(UpstashError, match=WRONGTYPE):
            call()
    assert redis.lrange(k("l"), 0, -1) == ["a"]


def test_unicode_elements(redis, k):
    items = ["héllo 🚀", "OK", "T0s=", "你好", "", 'a "q"\n']
    assert redis.rpush(k("l"), *items) == 6
    assert redis.lrange(k("l"), 0, -1) == items
    assert redis.lindex(k("l"), 1) == "OK"
    assert redis.lpop(k("l"), 2) == ["héllo 🚀", "OK"]
    assert redis.rpop(k("l")) == 'a "q"\n'


def test_long_list(redis, k):
    items = [f"item-{i}-{'x' * (i % 50)}" for i in range(1000)]
    for i in range(0, 1000, 250):
        redis.rpush(k("l"), *items[i : i + 250])
    assert redis.llen(k("l")) == 1000
    assert redis.lrange(k("l"), 0, -1) == items
    assert redis.lindex(k("l"), 777) == items[777]
    assert redis.lpos(k("l"), items[999]) == 999


def test_lists_in_pipeline(redis, k):
    p = redis.pipeline()
    p.rpush(k("l"), "a", "b", "c")
    p.lpush(k("l"), "0")
    p.lrange(k("l"), 0, -1)
    p.lindex(k("l"), -1)
    p.lpos(k("l"), "b")
    p.linsert(k("l"), "AFTER", "b", "j")
    p.lset(k("l"), 0, "zero")
    p.lrem(k("l"), 0, "c")
    p.ltrim(k("l"), 0, 2)
    p.lmove(k("l"), k("m"), "RIGHT", "LEFT")
    p.lpop(k("l"), 5)
    p.rpop(k("nokey"))
    p.llen(k("m"))
    assert p.exec() == [
        3,
        4,
        ["0", "a", "b", "c"],
        "c",
        2,
        5,
        True,
        1,
        "OK",
        "b",
        ["zero", "a"],
        None,
        1,
    ]


def test_lists_in_multi(redis, k):
    tx = redis.multi()
    tx.rpush(k("q"), "job1", "job2")
    tx.lmove(k("q"), k("work"), "LEFT", "RIGHT")
    tx.lrange(k("work"), 0, -1)
    tx.rpoplpush(k("q"), k("work"))
    tx.exists(k("q"))
    assert tx.exec() == [2, "job1", ["job1"], "job2", 0]


def test_read_only_token_lists(ro, redis_b64, k):
    redis_b64.rpush(k("l"), "a", "b")
    assert ro.lrange(k("l"), 0, -1) == ["a", "b"]
    assert ro.llen(k("l")) == 2
    assert ro.lindex(k("l"), 0) == "a"
    assert ro.lpos(k("l"), "b") == 1
    for call in (
        lambda: ro.rpush(k("l"), "c"),
        lambda: ro.lpop(k("l")),
        lambda: ro.lset(k("l"), 0, "x"),
        lambda: ro.ltrim(k("l"), 0, 0),
        lambda: ro.rpoplpush(k("l"), k("m")),
    ):
        with pytest.raises(UpstashError, match=r"^NOPERM"):
            call()
    assert redis_b64.lrange(k("l"), 0, -1) == ["a", "b"]
