"""Hash commands through upstash-redis, with base64 responses (default) and without.

Expected values are Redis 7.4/8.0 semantics after the client's own conversions (HGETALL and
HRANDFIELD WITHVALUES -> dict, HSCAN -> (int, dict), HEXISTS/HSETNX -> bool, HMSET -> True,
HINCRBYFLOAT -> float; everything else as the server sent it).
"""

import time

import pytest
from upstash_redis.errors import UpstashError

NOT_INT = "ERR value is not an integer or out of range"
WRONGTYPE = "WRONGTYPE Operation against a key holding the wrong kind of value"


def now() -> int:
    return int(time.time())


def now_ms() -> int:
    return int(time.time() * 1000)


def ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def test_hset_hget(redis, k):
    assert redis.hset(k("h"), "name", "larder") == 1
    assert redis.hset(k("h"), values={"name": "other", "n": 42, "t": True, "f": 1.5}) == 3
    assert redis.hset(k("h"), "extra", "x", values={"name": "third"}) == 1
    assert redis.hget(k("h"), "name") == "third"
    assert redis.hget(k("h"), "n") == "42"
    assert redis.hget(k("h"), "t") == "true"
    assert redis.hget(k("h"), "f") == "1.5"
    assert redis.hget(k("h"), "missing") is None
    assert redis.hget(k("nokey"), "f") is None


def test_hgetall(redis, k):
    assert redis.hgetall(k("nokey")) == {}
    h = {"s": "text", "n": "7", "json": '{"a": [1, 2]}', "empty": "", "ok": "OK", "u": "héllo 🚀"}
    redis.hset(k("h"), values=h)
    assert redis.hgetall(k("h")) == h


def test_hmget(redis, k):
    redis.hset(k("h"), values={"a": "1", "b": "two"})
    assert redis.hmget(k("h"), "a", "missing", "b") == ["1", None, "two"]
    assert redis.hmget(k("nokey"), "a", "b") == [None, None]


def test_hmset(redis, k):
    assert redis.hmset(k("h"), {"a": "1", "b": "2"}) is True
    assert redis.hmset(k("h"), {"b": "20", "c": 30}) is True
    assert redis.hgetall(k("h")) == {"a": "1", "b": "20", "c": "30"}


def test_hsetnx(redis, k):
    assert redis.hsetnx(k("h"), "f", "first") is True
    assert redis.hsetnx(k("h"), "f", "second") is False
    assert redis.hget(k("h"), "f") == "first"


def test_hdel(redis, k):
    redis.hset(k("h"), values={"a": "1", "b": "2", "c": "3"})
    assert redis.hdel(k("h"), "a", "missing") == 1
    assert redis.hdel(k("h"), "b", "c", "b") == 2
    assert redis.exists(k("h")) == 0
    assert redis.hdel(k("h"), "a") == 0


def test_hexists_hlen_hstrlen(redis, k):
    redis.hset(k("h"), values={"a": "hello", "u": "héllo🚀"})
    assert redis.hexists(k("h"), "a") is True
    assert redis.hexists(k("h"), "zz") is False
    assert redis.hexists(k("nokey"), "a") is False
    assert redis.hlen(k("h")) == 2
    assert redis.hlen(k("nokey")) == 0
    assert redis.hstrlen(k("h"), "a") == 5
    assert redis.hstrlen(k("h"), "u") == 10  # bytes
    assert redis.hstrlen(k("h"), "missing") == 0


def test_hkeys_hvals(redis, k):
    h = {"a": "1", "b": "two", "c": "OK"}
    redis.hset(k("h"), values=h)
    keys = redis.hkeys(k("h"))
    vals = redis.hvals(k("h"))
    assert sorted(keys) == ["a", "b", "c"]
    assert [h[f] for f in keys] == vals  # same walk order
    assert redis.hkeys(k("nokey")) == []
    assert redis.hvals(k("nokey")) == []


def test_hincrby(redis, k):
    assert redis.hincrby(k("h"), "n", 5) == 5
    assert redis.hincrby(k("h"), "n", -7) == -2
    assert redis.hget(k("h"), "n") == "-2"
    redis.hset(k("h"), values={"s": "abc", "f": "1.5", "max": "9223372036854775807"})
    with pytest.raises(UpstashError, match="ERR hash value is not an integer"):
        redis.hincrby(k("h"), "s", 1)
    with pytest.raises(UpstashError, match="ERR hash value is not an integer"):
        redis.hincrby(k("h"), "f", 1)
    with pytest.raises(UpstashError, match="ERR increment or decrement would overflow"):
        redis.hincrby(k("h"), "max", 1)
    with pytest.raises(UpstashError, match=NOT_INT):
        redis.execute(["HINCRBY", k("h"), "n", "x"])


def test_hincrbyfloat(redis, k):
    assert redis.hincrbyfloat(k("h"), "f", 2.5) == 2.5
    redis.hset(k("h"), values={"g": "10.50", "e": "5.0e3", "s": "abc"})
    assert redis.hincrbyfloat(k("h"), "g", 0.1) == 10.6
    assert redis.hget(k("h"), "g") == "10.6"
    assert redis.hincrbyfloat(k("h"), "e", 200) == 5200.0
    assert redis.hget(k("h"), "e") == "5200"
    with pytest.raises(UpstashError, match="ERR hash value is not a float"):
        redis.hincrbyfloat(k("h"), "s", 1.0)


def test_hincrbyfloat_formatting_like_redis(redis, k):
    """Same rule as INCRBYFLOAT (test_strings.py): Redis prints 0.1 + 0.2 as "0.3"."""
    redis.hset(k("h"), "a", "0.1")
    assert redis.hincrbyfloat(k("h"), "a", 0.2) == 0.3
    assert redis.hget(k("h"), "a") == "0.3"


def test_hrandfield(redis, k):
    assert redis.hrandfield(k("nokey")) is None
    assert redis.hrandfield(k("nokey"), 3) == []
    assert redis.hrandfield(k("nokey"), 3, withvalues=True) == {}
    h = {"a": "1", "b": "2", "c": "3"}
    redis.hset(k("h"), values=h)
    for _ in range(5):
        assert redis.hrandfield(k("h")) in h
    two = redis.hrandfield(k("h"), 2)
    assert len(two) == 2 and len(set(two)) == 2 and set(two) <= set(h)
    assert sorted(redis.hrandfield(k("h"), 10)) == ["a", "b", "c"]
    many = redis.hrandfield(k("h"), -10)
    assert len(many) == 10 and set(many) <= set(h)
    assert redis.hrandfield(k("h"), 0) == []
    assert redis.hrandfield(k("h"), 3, withvalues=True) == h
    rep = redis.hrandfield(k("h"), -6, withvalues=True)
    assert 1 <= len(rep) <= 3
    assert all(h[f] == v for f, v in rep.items())


def test_hscan(redis, k):
    fields = {f"field:{i}": f"v{i}" for i in range(40)}
    redis.hset(k("h"), values={**fields, "other": "x"})
    seen = {}
    cursor = 0
    for _ in range(1000):
        cursor, items = redis.hscan(k("h"), cursor, match="field:*", count=7)
        assert isinstance(cursor, int) and isinstance(items, dict)
        seen.update(items)
        if cursor == 0:
            break
    else:
        raise AssertionError("HSCAN did not terminate")
    assert seen == fields
    assert redis.hscan(k("nokey"), 0) == (0, {})


def test_wrongtype(redis, k):
    redis.set(k("s"), "v")
    for call in (
        lambda: redis.hset(k("s"), "f", "v"),
        lambda: redis.hget(k("s"), "f"),
        lambda: redis.hgetall(k("s")),
        lambda: redis.hincrby(k("s"), "f", 1),
        lambda: redis.httl(k("s"), "f"),
    ):
        with pytest.raises(UpstashError, match=WRONGTYPE):
            call()


# -- hash-field expiry (Redis 7.4) -----------------------------------------------------------


def test_hexpire_httl_hpersist(redis, k):
    redis.hset(k("h"), values={"a": "1", "b": "2"})
    assert redis.hexpire(k("h"), "a", 100) == [1]
    assert redis.hexpire(k("h"), ["a", "missing"], 100) == [1, -2]
    ttl_a, ttl_b, ttl_m = redis.httl(k("h"), ["a", "b", "missing"])
    assert 99 <= ttl_a <= 100 and ttl_b == -1 and ttl_m == -2
    [pttl] = redis.hpttl(k("h"), "a")
    assert 98_000 < pttl <= 100_000
    [at] = redis.hexpiretime(k("h"), "a")
    assert abs(at - (now() + 100)) <= 2
    [pat] = redis.hpexpiretime(k("h"), ["a"])
    assert abs(pat - (now_ms() + 100_000)) <= 2000
    assert redis.hexpiretime(k("h"), ["b", "missing"]) == [-1, -2]
    assert redis.hpersist(k("h"), ["a", "b", "missing"]) == [1, -1, -2]
    assert redis.httl(k("h"), "a") == [-1]
    assert redis.ttl(k("h")) == -1


def test_field_expiry_on_missing_key(redis, k):
    assert redis.hexpire(k("nokey"), ["a", "b"], 10) == [-2, -2]
    assert redis.hpexpire(k("nokey"), "a", 10_000) == [-2]
    assert redis.hexpireat(k("nokey"), "a", now() + 10) == [-2]
    assert redis.hpexpireat(k("nokey"), "a", now_ms() + 10_000) == [-2]
    assert redis.httl(k("nokey"), ["a", "b"]) == [-2, -2]
    assert redis.hpttl(k("nokey"), "a") == [-2]
    assert redis.hexpiretime(k("nokey"), "a") == [-2]
    assert redis.hpexpiretime(k("nokey"), "a") == [-2]
    assert redis.hpersist(k("nokey"), "a") == [-2]
    assert redis.exists(k("nokey")) == 0


def test_hexpire_conditions(redis, k):
    redis.hset(k("h"), values={"plain": "1", "timed": "2"})
    assert redis.hexpire(k("h"), "timed", 100) == [1]
    assert redis.hexpire(k("h"), ["plain", "timed"], 50, nx=True) == [1, 0]
    assert redis.hpersist(k("h"), "plain") == [1]
    assert redis.hexpire(k("h"), ["plain", "timed"], 200, xx=True) == [0, 1]
    assert redis.hexpire(k("h"), ["plain", "timed"], 300, gt=True) == [0, 1]
    assert redis.hexpire(k("h"), "timed", 100, gt=True) == [0]
    assert redis.hexpire(k("h"), ["plain", "timed"], 400, lt=True) == [1, 0]
    p, t = redis.httl(k("h"), ["plain", "timed"])
    assert 399 <= p <= 400 and 299 <= t <= 300


def test_hexpire_two_conditions_is_an_error(redis, k):
    """The client sends both flags (NX XX FIELDS ...); Redis accepts only one before FIELDS."""
    redis.hset(k("h"), "a", "1")
    with pytest.raises(
        UpstashError, match="ERR Mandatory argument FIELDS is missing or not at the right position"
    ):
        redis.hexpire(k("h"), "a", 10, nx=True, xx=True)
    assert redis.httl(k("h"), "a") == [-1]


def test_hpexpire_hexpireat_hpexpireat(redis, k):
    redis.hset(k("h"), values={"a": "1", "b": "2", "c": "3"})
    assert redis.hpexpire(k("h"), "a", 50_000) == [1]
    [pa] = redis.hpttl(k("h"), "a")
    assert 48_000 < pa <= 50_000
    at = now() + 1000
    assert redis.hexpireat(k("h"), "b", at) == [1]
    assert redis.hexpiretime(k("h"), "b") == [at]
    pat = now_ms() + 2_000_000
    assert redis.hpexpireat(k("h"), ["c"], pat) == [1]
    assert redis.hpexpiretime(k("h"), "c") == [pat]
    assert redis.hpexpire(k("h"), ["a", "c"], 1_000_000, gt=True) == [1, 0]
    assert redis.hpexpireat(k("h"), "a", pat, lt=True) == [0]
    assert redis.hpexpireat(k("h"), "a", pat, gt=True) == [1]
    assert redis.hexpireat(k("h"), "c", at, xx=True) == [1]
    # HEXPIRETIME rounds a millisecond time up to the next second
    assert redis.hexpiretime(k("h"), ["a", "b", "c"]) == [ceil_div(pat, 1000), at, at]


def test_field_expiry_now_or_past_deletes(redis, k):
    redis.hset(k("h"), values={"a": "1", "b": "2"})
    assert redis.hexpire(k("h"), "a", 0) == [2]
    assert redis.hexists(k("h"), "a") is False
    assert redis.hpexpireat(k("h"), ["b", "b"], 1) == [2, -2]
    assert redis.exists(k("h")) == 0


def test_expired_fields_disappear(redis, k):
    redis.hset(k("h"), values={"keep": "k", "gone": "g"})
    redis.hset(k("all"), "x", "1")
    assert redis.hpexpire(k("h"), "gone", 150) == [1]
    assert redis.hpexpire(k("all"), "x", 150) == [1]
    time.sleep(0.4)
    assert redis.hget(k("h"), "gone") is None
    assert redis.hgetall(k("h")) == {"keep": "k"}
    assert redis.hlen(k("h")) == 1
    assert redis.exists(k("all")) == 0


def test_hexpire_negative_time_is_an_error(redis, k):
    redis.hset(k("h"), "a", "1")
    with pytest.raises(UpstashError, match="ERR invalid expire time, must be >= 0"):
        redis.hexpire(k("h"), "a", -1)


# -- Redis 8.0: HGETDEL / HGETEX / HSETEX ------------------------------------------------------


def test_hgetdel(redis, k):
    redis.hset(k("h"), values={"a": "1", "b": "two", "c": "3"})
    assert redis.hgetdel(k("h"), "a", "missing") == ["1", None]
    assert redis.hgetall(k("h")) == {"b": "two", "c": "3"}
    assert redis.hgetdel(k("h"), "b", "b", "c") == ["two", None, "3"]
    assert redis.exists(k("h")) == 0
    assert redis.hgetdel(k("h"), "a") == [None]


def test_hgetex(redis, k):
    redis.hset(k("h"), values={"a": "1", "b": "two", "c": "3"})
    assert redis.hgetex(k("h"), "a", "missing") == ["1", None]  # no option: like HMGET
    assert redis.httl(k("h"), "a") == [-1]
    assert redis.hgetex(k("h"), "a", "missing", ex=100) == ["1", None]
    ta, tb = redis.httl(k("h"), ["a", "b"])
    assert 99 <= ta <= 100 and tb == -1
    assert redis.hgetex(k("h"), "b", px=50_000) == ["two"]
    [pb] = redis.hpttl(k("h"), "b")
    assert 48_000 < pb <= 50_000
    at = now() + 300
    assert redis.hgetex(k("h"), "c", exat=at) == ["3"]
    assert redis.hexpiretime(k("h"), "c") == [at]
    pat = now_ms() + 400_000
    assert redis.hgetex(k("h"), "c", pxat=pat) == ["3"]
    assert redis.hpexpiretime(k("h"), "c") == [pat]
    assert redis.hgetex(k("h"), "a", "b", "c", persist=True) == ["1", "two", "3"]
    assert redis.httl(k("h"), ["a", "b", "c"]) == [-1, -1, -1]
    assert redis.hgetex(k("h"), "a", ex=0) == ["1"]  # a zero TTL deletes after reading
    assert redis.hexists(k("h"), "a") is False
    assert redis.hgetex(k("nokey"), "a", "b", ex=10) == [None, None]


def test_hsetex(redis, k):
    assert redis.hsetex(k("h"), values={"a": "1", "b": "2"}) == 1
    assert redis.hsetex(k("h"), values={"b": "9", "c": "3"}, fnx=True) == 0
    assert redis.hsetex(k("h"), "c", "3", fnx=True) == 1
    assert redis.hsetex(k("h"), values={"a": "10", "nofield": "9"}, fxx=True) == 0
    assert redis.hsetex(k("h"), values={"a": "10", "b": "20"}, fxx=True) == 1
    assert redis.hgetall(k("h")) == {"a": "10", "b": "20", "c": "3"}
    assert redis.hsetex(k("nokey"), "a", "1", fxx=True) == 0
    assert redis.exists(k("nokey")) == 0

    assert redis.hsetex(k("h"), "a", "11", ex=100) == 1
    [ta] = redis.httl(k("h"), "a")
    assert 99 <= ta <= 100
    assert redis.hsetex(k("h"), "a", "12", keepttl=True) == 1
    [ta] = redis.httl(k("h"), "a")
    assert 99 <= ta <= 100
    assert redis.hget(k("h"), "a") == "12"
    assert redis.hsetex(k("h"), "a", "13") == 1
    assert redis.httl(k("h"), "a") == [-1]  # no expiry option discards the TTL
    assert redis.hsetex(k("h"), "a", "14", px=50_000) == 1
    [pa] = redis.hpttl(k("h"), "a")
    assert 48_000 < pa <= 50_000
    at = now() + 500
    assert redis.hsetex(k("h"), "b", "21", exat=at) == 1
    assert redis.hexpiretime(k("h"), "b") == [at]
    pat = now_ms() + 600_000
    assert redis.hsetex(k("h"), "b", "22", fxx=True, pxat=pat) == 1
    assert redis.hpexpiretime(k("h"), "b") == [pat]


def test_hsetex_errors(redis, k):
    with pytest.raises(UpstashError, match="ERR Only one of FXX or FNX arguments can be specified"):
        redis.execute(["HSETEX", k("h"), "FNX", "FXX", "FIELDS", 1, "a", 1])
    with pytest.raises(
        UpstashError, match="ERR Only one of EX, PX, EXAT, PXAT or KEEPTTL arguments can be specified"
    ):
        redis.execute(["HSETEX", k("h"), "EX", 10, "PX", 10, "FIELDS", 1, "a", 1])
    assert redis.exists(k("h")) == 0


# -- pipelines and transactions ---------------------------------------------------------------


def test_hashes_in_pipeline(redis, k):
    p = redis.pipeline()
    p.hset(k("h"), values={"a": "1", "b": "OK"})
    p.hget(k("h"), "a")
    p.hgetall(k("h"))
    p.hmget(k("h"), "a", "missing")
    p.hincrby(k("h"), "a", 2)
    p.hincrbyfloat(k("h"), "f", 1.5)
    p.hexists(k("h"), "b")
    p.hsetnx(k("h"), "a", "0")
    p.hmset(k("h"), {"c": "3"})
    p.hrandfield(k("h"), 10, withvalues=True)
    p.hscan(k("h"), 0, count=100)
    p.hexpire(k("h"), "a", 100)
    p.hpersist(k("h"), ["a", "missing"])
    p.hgetall(k("nokey"))
    full = {"a": "3", "b": "OK", "f": "1.5", "c": "3"}
    assert p.exec() == [
        2,
        "1",
        {"a": "1", "b": "OK"},
        ["1", None],
        3,
        1.5,
        True,
        False,
        True,
        full,
        (0, full),
        [1],
        [1, -2],
        {},
    ]


def test_hashes_in_multi(redis, k):
    tx = redis.multi()
    tx.hset(k("h"), "a", "1")
    tx.hincrby(k("h"), "a", 9)
    tx.hgetall(k("h"))
    tx.hkeys(k("h"))
    tx.hvals(k("h"))
    tx.hgetdel(k("h"), "a")
    tx.exists(k("h"))
    assert tx.exec() == [1, 10, {"a": "10"}, ["a"], ["10"], ["10"], 0]


def test_read_only_token_hashes(ro, redis_b64, k):
    redis_b64.hset(k("h"), values={"a": "1", "b": "2"})
    assert ro.hgetall(k("h")) == {"a": "1", "b": "2"}
    assert ro.hget(k("h"), "a") == "1"
    assert ro.hlen(k("h")) == 2
    assert ro.httl(k("h"), "a") == [-1]
    for call in (
        lambda: ro.hset(k("h"), "a", "9"),
        lambda: ro.hdel(k("h"), "a"),
        lambda: ro.hincrby(k("h"), "a", 1),
        lambda: ro.hexpire(k("h"), "a", 10),
        lambda: ro.hgetdel(k("h"), "a"),
        lambda: ro.hsetex(k("h"), "a", "9"),
    ):
        with pytest.raises(UpstashError, match=r"^NOPERM"):
            call()
    assert redis_b64.hgetall(k("h")) == {"a": "1", "b": "2"}
