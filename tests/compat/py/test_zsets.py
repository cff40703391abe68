"""Sorted-set commands through upstash-redis, with base64 responses (default) and without.

Expected values are Redis 7 semantics (checked against redis-server 7.0 through a REST shim;
score text follows Redis 7.2+) after the client's conversions: ZSCORE/ZINCRBY/ZADD INCR ->
float, ZMSCORE -> [float | None], WITHSCORES replies and ZPOPMIN/ZPOPMAX -> [(member, float)],
ZSCAN -> (int, [(member, float)]). Includes the Python-only methods ZDIFF, ZINTER, ZRANDMEMBER,
ZRANGEBYLEX, ZRANGEBYSCORE, ZRANGESTORE, ZREVRANGE, ZREVRANGEBYLEX and ZREVRANGEBYSCORE.
"""

import math

import pytest
from upstash_redis.errors import UpstashError

WRONGTYPE = "WRONGTYPE Operation against a key holding the wrong kind of value"


def seed(redis, key):
    redis.zadd(key, {"a": 1, "b": 2, "c": 3, "d": 4, "e": 5})


def test_zadd_zrange_zcard(redis, k):
    assert redis.zadd(k("z"), {"b": 2, "a": 1}) == 2
    assert redis.zadd(k("z"), {"c": 3, "a": 10}) == 1
    assert redis.zrange(k("z"), 0, -1) == ["b", "c", "a"]
    assert redis.zcard(k("z")) == 3
    assert redis.zcard(k("nokey")) == 0
    assert redis.type(k("z")) == "zset"


def test_equal_scores_order_lexicographically(redis, k):
    redis.zadd(k("z"), {"b": 1, "B": 1, "a": 1, "z": 0, "ab": 1})
    assert redis.zrange(k("z"), 0, -1) == ["z", "B", "a", "ab", "b"]
    assert redis.zrange(k("z"), 0, -1, rev=True) == ["b", "ab", "a", "B", "z"]


def test_zadd_options(redis, k):
    redis.zadd(k("z"), {"a": 1})
    assert redis.zadd(k("z"), {"a": 5, "b": 2}, nx=True) == 1
    assert redis.zscore(k("z"), "a") == 1.0
    assert redis.zadd(k("z"), {"a": 7, "c": 3}, xx=True) == 0
    assert redis.zscore(k("z"), "a") == 7.0
    assert redis.zscore(k("z"), "c") is None
    assert redis.zadd(k("z"), {"a": 8, "b": 2, "c": 3}, ch=True) == 2
    assert redis.zadd(k("z"), {"a": 3}, gt=True, ch=True) == 0
    assert redis.zadd(k("z"), {"a": 9}, gt=True, ch=True) == 1
    assert redis.zadd(k("z"), {"a": 10}, lt=True, ch=True) == 0
    assert redis.zadd(k("z"), {"a": 2}, lt=True, ch=True) == 1
    assert redis.zadd(k("z"), {"new": 1}, gt=True) == 1
    assert redis.zadd(k("z"), {"a": 4}, xx=True, gt=True, ch=True) == 1
    assert redis.zscore(k("z"), "a") == 4.0


def test_zadd_incr(redis, k):
    assert redis.zadd(k("z"), {"a": 1.5}, incr=True) == 1.5
    assert redis.zadd(k("z"), {"a": 2}, incr=True) == 3.5
    assert redis.zadd(k("z"), {"a": 1}, incr=True, nx=True) is None
    assert redis.zadd(k("z"), {"b": 1}, incr=True, xx=True) is None
    assert redis.zadd(k("z"), {"a": -1}, incr=True, gt=True) is None
    assert redis.zadd(k("z"), {"a": -1}, incr=True, lt=True) == 2.5


def test_zadd_errors(redis, k):
    with pytest.raises(UpstashError, match="ERR INCR option supports a single increment-element pair"):
        redis.zadd(k("z"), {"a": 1, "b": 2}, incr=True)
    with pytest.raises(UpstashError, match="ERR GT, LT, and/or NX options at the same time are not compatible"):
        redis.execute(["ZADD", k("z"), "NX", "LT", 1, "a"])
    with pytest.raises(UpstashError, match="ERR value is not a valid float"):
        redis.execute(["ZADD", k("z"), "abc", "a"])
    assert redis.exists(k("z")) == 0


def test_zscore_zmscore_zincrby(redis, k):
    redis.zadd(k("z"), {"a": 1.5, "b": -3, "c": 100})
    assert redis.zscore(k("z"), "a") == 1.5
    assert redis.zscore(k("z"), "b") == -3.0
    assert redis.zscore(k("z"), "zz") is None
    assert redis.zscore(k("nokey"), "a") is None
    assert redis.zmscore(k("z"), ["a", "zz", "c"]) == [1.5, None, 100.0]
    assert redis.zmscore(k("nokey"), ["a", "b"]) == [None, None]
    assert redis.zincrby(k("z"), 2.5, "a") == 4.0
    assert redis.zincrby(k("z"), 0.5, "new") == 0.5
    assert redis.zincrby(k("z"), 0.1, "tenth") == 0.1
    assert redis.zincrby(k("z"), 0.2, "tenth") == 0.30000000000000004


def test_score_text_shortest_form(redis, k):
    """Redis 7.2+ prints a score as the shortest text that reads back as the same double."""
    redis.zadd(k("z"), {"a": 0.1, "b": 2.5, "c": 1e21, "d": 3})
    assert redis.execute(["zscore", k("z"), "a"]) == "0.1"  # lower case: no float() cast
    assert redis.execute(["zscore", k("z"), "b"]) == "2.5"
    assert redis.execute(["zscore", k("z"), "c"]) == "1e+21"
    assert redis.execute(["zscore", k("z"), "d"]) == "3"
    assert redis.execute(["zrange", k("z"), 0, 0, "WITHSCORES"]) == ["a", "0.1"]


def test_infinite_scores(redis, k):
    assert redis.zadd(k("z"), {"top": "+inf", "bottom": "-inf", "zero": 0}) == 3
    assert redis.zscore(k("z"), "top") == math.inf
    assert redis.zscore(k("z"), "bottom") == -math.inf
    assert redis.execute(["zscore", k("z"), "top"]) == "inf"
    assert redis.zrange(k("z"), 0, -1, withscores=True) == [
        ("bottom", -math.inf),
        ("zero", 0.0),
        ("top", math.inf),
    ]
    with pytest.raises(UpstashError, match=r"ERR resulting score is not a number \(NaN\)"):
        redis.zincrby(k("z"), "-inf", "top")


def test_zrank_zrevrank(redis, k):
    seed(redis, k("z"))
    assert redis.zrank(k("z"), "a") == 0
    assert redis.zrank(k("z"), "d") == 3
    assert redis.zrevrank(k("z"), "a") == 4
    assert redis.zrank(k("z"), "zz") is None
    assert redis.zrevrank(k("nokey"), "a") is None


def test_zrange_variants(redis, k):
    seed(redis, k("z"))
    assert redis.zrange(k("z"), 1, 2) == ["b", "c"]
    assert redis.zrange(k("z"), -2, -1) == ["d", "e"]
    assert redis.zrange(k("z"), 0, 1, withscores=True) == [("a", 1.0), ("b", 2.0)]
    assert redis.zrange(k("z"), 0, 1, rev=True, withscores=True) == [("e", 5.0), ("d", 4.0)]
    assert redis.zrange(k("z"), 2, 4, sortby="BYSCORE") == ["b", "c", "d"]
    assert redis.zrange(k("z"), "(2", "(4", sortby="BYSCORE") == ["c"]
    assert redis.zrange(k("z"), "+inf", "-inf", sortby="BYSCORE", rev=True, offset=0, count=2) == ["e", "d"]
    assert redis.zrange(k("z"), "-inf", "+inf", sortby="BYSCORE", offset=1, count=2, withscores=True) == [
        ("b", 2.0),
        ("c", 3.0),
    ]
    assert redis.zrange(k("z"), "[b", "(d", sortby="BYLEX") == ["b", "c"]
    assert redis.zrange(k("z"), "+", "-", sortby="BYLEX", rev=True, offset=1, count=2) == ["d", "c"]
    assert redis.zrange(k("nokey"), 0, -1) == []
    with pytest.raises(UpstashError, match="ERR min or max is not a float"):
        redis.zrange(k("z"), "x", 5, sortby="BYSCORE")


def test_zrangebyscore_zrevrangebyscore(redis, k):
    seed(redis, k("z"))
    assert redis.zrangebyscore(k("z"), 2, 4) == ["b", "c", "d"]
    assert redis.zrangebyscore(k("z"), "(2", "+inf", withscores=True) == [("c", 3.0), ("d", 4.0), ("e", 5.0)]
    assert redis.zrangebyscore(k("z"), "-inf", "+inf", offset=1, count=2) == ["b", "c"]
    assert redis.zrevrangebyscore(k("z"), 4, 2) == ["d", "c", "b"]
    assert redis.zrevrangebyscore(k("z"), "+inf", "(3", withscores=True) == [("e", 5.0), ("d", 4.0)]
    assert redis.zrevrangebyscore(k("z"), "+inf", "-inf", offset=2, count=1) == ["c"]


def test_zrangebylex_zrevrangebylex(redis, k):
    redis.zadd(k("z"), {m: 0 for m in "abcdef"})
    assert redis.zrangebylex(k("z"), "-", "+") == list("abcdef")
    assert redis.zrangebylex(k("z"), "[b", "(e") == ["b", "c", "d"]
    assert redis.zrangebylex(k("z"), "-", "+", offset=2, count=2) == ["c", "d"]
    assert redis.zrevrangebylex(k("z"), "[e", "(b") == ["e", "d", "c"]
    assert redis.zrevrangebylex(k("z"), "+", "-", offset=1, count=2) == ["e", "d"]


def test_zrevrange(redis, k):
    seed(redis, k("z"))
    assert redis.zrevrange(k("z"), 0, 1) == ["e", "d"]
    assert redis.zrevrange(k("z"), -2, -1, withscores=True) == [("b", 2.0), ("a", 1.0)]


def test_zrangestore(redis, k):
    seed(redis, k("z"))
    assert redis.zrangestore(k("dst"), k("z"), 1, 2) == 2
    assert redis.zrange(k("dst"), 0, -1, withscores=True) == [("b", 2.0), ("c", 3.0)]
    assert redis.zrangestore(k("dst"), k("z"), "(3", "+inf", sortby="BYSCORE") == 2
    assert redis.zrange(k("dst"), 0, -1) == ["d", "e"]
    assert redis.zrangestore(k("dst"), k("z"), 5, 1, sortby="BYSCORE", rev=True, offset=1, count=2) == 2
    assert redis.zrange(k("dst"), 0, -1) == ["c", "d"]
    assert redis.zrangestore(k("dst"), k("z"), 10, 20, sortby="BYSCORE") == 0
    assert redis.exists(k("dst")) == 0


def test_zcount_zlexcount(redis, k):
    seed(redis, k("z"))
    assert redis.zcount(k("z"), 2, 4) == 3
    assert redis.zcount(k("z"), "(2", 4) == 2
    assert redis.zcount(k("z"), "-inf", "(3") == 2
    assert redis.zcount(k("nokey"), "-inf", "+inf") == 0
    redis.zadd(k("lex"), {m: 0 for m in "abcd"})
    assert redis.zlexcount(k("lex"), "-", "+") == 4
    assert redis.zlexcount(k("lex"), "[b", "(d") == 2


def test_zpopmin_zpopmax(redis, k):
    seed(redis, k("z"))
    assert redis.zpopmin(k("z")) == [("a", 1.0)]
    assert redis.zpopmax(k("z")) == [("e", 5.0)]
    assert redis.zpopmin(k("z"), 2) == [("b", 2.0), ("c", 3.0)]
    assert redis.zpopmax(k("z"), 10) == [("d", 4.0)]
    assert redis.exists(k("z")) == 0
    assert redis.zpopmin(k("z")) == []
    assert redis.zpopmax(k("nokey"), 3) == []


def test_zrem_and_zremrange(redis, k):
    seed(redis, k("z"))
    assert redis.zrem(k("z"), "a", "zz") == 1
    assert redis.zremrangebyrank(k("z"), 0, 0) == 1
    assert redis.zremrangebyscore(k("z"), "(4", "+inf") == 1
    assert redis.zrange(k("z"), 0, -1) == ["c", "d"]
    assert redis.zrem(k("z"), "c", "d") == 2
    assert redis.exists(k("z")) == 0
    redis.zadd(k("lex"), {m: 0 for m in "abcde"})
    assert redis.zremrangebylex(k("lex"), "[b", "(d") == 2
    assert redis.zrange(k("lex"), 0, -1) == ["a", "d", "e"]


def test_zrandmember(redis, k):
    assert redis.zrandmember(k("nokey")) is None
    assert redis.zrandmember(k("nokey"), 2) == []
    scores = {"a": 1.0, "b": 2.0, "c": 3.0}
    redis.zadd(k("z"), scores)
    for _ in range(5):
        assert redis.zrandmember(k("z")) in scores
    two = redis.zrandmember(k("z"), 2)
    assert len(two) == 2 and len(set(two)) == 2 and set(two) <= set(scores)
    assert sorted(redis.zrandmember(k("z"), 10)) == ["a", "b", "c"]
    many = redis.zrandmember(k("z"), -10)
    assert len(many) == 10 and set(many) <= set(scores)
    with_scores = redis.zrandmember(k("z"), 3, withscores=True)
    assert sorted(with_scores) == [("a", 1.0), ("b", 2.0), ("c", 3.0)]
    rep = redis.zrandmember(k("z"), -5, withscores=True)
    assert len(rep) == 5 and all(scores[m] == s for m, s in rep)


def test_zunion_zinter_zdiff(redis, k):
    redis.zadd(k("a"), {"x": 1, "y": 2, "w": 3})
    redis.zadd(k("b"), {"y": 10, "z": 20, "w": 30})
    assert redis.zunion([k("a"), k("b")]) == ["x", "y", "z", "w"]
    assert redis.zunion([k("a"), k("b")], withscores=True) == [("x", 1.0), ("y", 12.0), ("z", 20.0), ("w", 33.0)]
    assert redis.zunion([k("a"), k("b")], weights=[2, 0.5], withscores=True) == [
        ("x", 2.0),
        ("y", 9.0),
        ("z", 10.0),
        ("w", 21.0),
    ]
    assert dict(redis.zunion([k("a"), k("b")], aggregate="MIN", withscores=True)) == {
        "x": 1.0,
        "y": 2.0,
        "z": 20.0,
        "w": 3.0,
    }
    assert redis.zinter([k("a"), k("b")]) == ["y", "w"]
    assert redis.zinter([k("a"), k("b")], aggregate="MAX", withscores=True) == [("y", 10.0), ("w", 30.0)]
    assert redis.zinter([k("a"), k("b")], weights=[10, 1], withscores=True) == [("y", 30.0), ("w", 60.0)]
    assert redis.zdiff([k("a"), k("b")]) == ["x"]
    assert redis.zdiff([k("a"), k("b")], withscores=True) == [("x", 1.0)]
    assert redis.zdiff([k("nokey"), k("a")]) == []
    assert redis.zinter([k("a"), k("nokey")]) == []


def test_zstores(redis, k):
    redis.zadd(k("a"), {"x": 1, "y": 2, "w": 3})
    redis.zadd(k("b"), {"y": 10, "z": 20, "w": 30})
    redis.set(k("dst"), "replaced")
    assert redis.zunionstore(k("dst"), [k("a"), k("b")]) == 4
    assert redis.zrange(k("dst"), 0, -1, withscores=True) == [("x", 1.0), ("y", 12.0), ("z", 20.0), ("w", 33.0)]
    assert redis.zinterstore(k("dst"), [k("a"), k("b")], weights=[10, 1], aggregate="MAX") == 2
    assert redis.zrange(k("dst"), 0, -1, withscores=True) == [("y", 20.0), ("w", 30.0)]
    assert redis.zdiffstore(k("dst"), [k("a"), k("b")]) == 1
    assert redis.zrange(k("dst"), 0, -1, withscores=True) == [("x", 1.0)]
    redis.sadd(k("set"), "x", "q")
    assert redis.zunionstore(k("dst"), [k("a"), k("set")], aggregate="SUM") == 4
    assert dict(redis.zrange(k("dst"), 0, -1, withscores=True)) == {"x": 2.0, "q": 1.0, "y": 2.0, "w": 3.0}
    assert redis.zinterstore(k("dst"), [k("a"), k("nokey")]) == 0
    assert redis.exists(k("dst")) == 0


def test_zscan(redis, k):
    members = {f"m:{i}": float(i) for i in range(50)}
    redis.zadd(k("z"), {**members, "other": 99})
    seen = {}
    cursor = 0
    for _ in range(1000):
        cursor, items = redis.zscan(k("z"), cursor, match="m:*", count=8)
        assert isinstance(cursor, int)
        seen.update(dict(items))
        if cursor == 0:
            break
    else:
        raise AssertionError("ZSCAN did not terminate")
    assert seen == members
    assert redis.zscan(k("nokey"), 0) == (0, [])


def test_large_sorted_set(redis, k):
    members = {f"m{i:04d}": i * 2 for i in range(1000)}
    items = list(members.items())
    for i in range(0, 1000, 250):
        redis.zadd(k("z"), dict(items[i : i + 250]))
    assert redis.zcard(k("z")) == 1000
    assert redis.zrank(k("z"), "m0500") == 500
    assert redis.zrevrank(k("z"), "m0500") == 499
    assert redis.zrangebyscore(k("z"), "(1000", 1006, withscores=True) == [
        ("m0501", 1002.0),
        ("m0502", 1004.0),
        ("m0503", 1006.0),
    ]
    assert redis.zremrangebyrank(k("z"), 0, 499) == 500
    assert redis.zrank(k("z"), "m0500") == 0


def test_wrongtype(redis, k):
    redis.set(k("str"), "v")
    for call in (
        lambda: redis.zadd(k("str"), {"a": 1}),
        lambda: redis.zrange(k("str"), 0, -1),
        lambda: redis.zscore(k("str"), "a"),
        lambda: redis.zincrby(k("str"), 1, "a"),
        lambda: redis.zunionstore(k("dst"), [k("str")]),
    ):
        with pytest.raises(UpstashError, match=WRONGTYPE):
            call()


def test_unicode_members(redis, k):
    members = ["héllo 🚀", "OK", "T0s=", "你好", 'a "q"\n']
    redis.zadd(k("z"), {m: i for i, m in enumerate(members)})
    assert redis.zrange(k("z"), 0, -1) == members
    assert redis.zrange(k("z"), 0, 1, withscores=True) == [("héllo 🚀", 0.0), ("OK", 1.0)]
    assert redis.zscore(k("z"), "OK") == 1.0
    assert redis.zpopmax(k("z")) == [('a "q"\n', 4.0)]


def test_zsets_in_pipeline(redis, k):
    p = redis.pipeline()
    p.zadd(k("z"), {"a": 1, "b": 2})
    p.zadd(k("z"), {"a": 0.5}, incr=True)
    p.zscore(k("z"), "a")
    p.zmscore(k("z"), ["a", "b", "zz"])
    p.zrange(k("z"), 0, -1, withscores=True)
    p.zrank(k("z"), "b")
    p.zincrby(k("z"), 10, "c")
    p.zpopmax(k("z"))
    p.zscan(k("z"), 0)
    p.zrem(k("z"), "a")
    p.zcard(k("z"))
    assert p.exec() == [
        2,
        1.5,
        1.5,
        [1.5, 2.0, None],
        [("a", 1.5), ("b", 2.0)],
        1,
        10.0,
        [("c", 10.0)],
        (0, [("a", 1.5), ("b", 2.0)]),
        1,
        1,
    ]


def test_zsets_in_multi(redis, k):
    tx = redis.multi()
    tx.zadd(k("lb"), {"ann": 10, "bob": 20})
    tx.zincrby(k("lb"), 15, "ann")
    tx.zrevrange(k("lb"), 0, -1, withscores=True)
    tx.zunionstore(k("copy"), [k("lb")])
    tx.zpopmin(k("copy"), 5)
    tx.exists(k("copy"))
    assert tx.exec() == [2, 25.0, [("ann", 25.0), ("bob", 20.0)], 2, [("bob", 20.0), ("ann", 25.0)], 0]


def test_read_only_token_zsets(ro, redis_b64, k):
    redis_b64.zadd(k("z"), {"a": 1, "b": 2})
    assert ro.zrange(k("z"), 0, -1, withscores=True) == [("a", 1.0), ("b", 2.0)]
    assert ro.zscore(k("z"), "b") == 2.0
    assert ro.zrandmember(k("z")) in ("a", "b")
    for call in (
        lambda: ro.zadd(k("z"), {"c": 3}),
        lambda: ro.zincrby(k("z"), 1, "a"),
        lambda: ro.zrem(k("z"), "a"),
        lambda: ro.zpopmin(k("z")),
        lambda: ro.zrangestore(k("dst"), k("z"), 0, -1),
    ):
        with pytest.raises(UpstashError, match=r"^NOPERM"):
            call()
    assert redis_b64.zcard(k("z")) == 2
