"""String commands through upstash-redis, with base64 responses (default) and without.

Expected values are those of Redis 7+/Upstash after the client's own conversions
(SET/MSET/SETEX -> True, SETNX/MSETNX -> bool, INCRBYFLOAT -> float, GET -> str).
"""

import time

import pytest
from upstash_redis.errors import UpstashError


NOT_INT = "ERR value is not an integer or out of range"
WRONGTYPE = "WRONGTYPE Operation against a key holding the wrong kind of value"


def ttl_between(redis, key, lo, hi):
    ttl = redis.ttl(key)
    assert lo <= ttl <= hi, f"ttl={ttl}"


def pttl_between(redis, key, lo, hi):
    pttl = redis.pttl(key)
    assert lo < pttl <= hi, f"pttl={pttl}"


def test_set_get(redis, k):
    assert redis.set(k("a"), "hello") is True
    assert redis.get(k("a")) == "hello"
    assert redis.get(k("missing")) is None


def test_set_overwrites(redis, k):
    redis.set(k("a"), "one")
    redis.set(k("a"), "two")
    assert redis.get(k("a")) == "two"


def test_set_ex(redis, k):
    assert redis.set(k("a"), "v", ex=100) is True
    ttl_between(redis, k("a"), 98, 100)


def test_set_px(redis, k):
    assert redis.set(k("a"), "v", px=100_000) is True
    pttl_between(redis, k("a"), 98_000, 100_000)


def test_set_exat(redis, k):
    assert redis.set(k("a"), "v", exat=int(time.time()) + 100) is True
    ttl_between(redis, k("a"), 97, 100)


def test_set_pxat(redis, k):
    at = int(time.time() * 1000) + 100_000
    assert redis.set(k("a"), "v", pxat=at) is True
    pttl_between(redis, k("a"), 97_000, 100_000)
    assert redis.execute(["PEXPIRETIME", k("a")]) == at


def test_set_px_expires(redis, k):
    redis.set(k("a"), "v", px=150)
    assert redis.get(k("a")) == "v"
    time.sleep(0.4)
    assert redis.get(k("a")) is None
    assert redis.exists(k("a")) == 0


def test_set_nx(redis, k):
    assert redis.set(k("a"), "first", nx=True) is True
    assert redis.set(k("a"), "second", nx=True) is False
    assert redis.get(k("a")) == "first"


def test_set_xx(redis, k):
    assert redis.set(k("a"), "v", xx=True) is False
    assert redis.exists(k("a")) == 0
    redis.set(k("a"), "old")
    assert redis.set(k("a"), "new", xx=True) is True
    assert redis.get(k("a")) == "new"


def test_set_keepttl(redis, k):
    redis.set(k("a"), "v1", ex=100)
    assert redis.set(k("a"), "v2", keepttl=True) is True
    ttl_between(redis, k("a"), 98, 100)
    assert redis.get(k("a")) == "v2"
    redis.set(k("a"), "v3")
    assert redis.ttl(k("a")) == -1


def test_set_get_option(redis, k):
    assert redis.set(k("a"), "old", get=True) is None
    assert redis.set(k("a"), "new", get=True) == "old"
    assert redis.get(k("a")) == "new"


def test_set_nx_get_redis7(redis, k):
    # the Python client refuses nx+get itself, so go through execute()
    assert redis.execute(["SET", k("a"), "first", "NX", "GET"]) is None
    assert redis.execute(["SET", k("a"), "second", "NX", "GET"]) == "first"
    assert redis.get(k("a")) == "first"


def test_set_ex_zero_is_error(redis, k):
    with pytest.raises(UpstashError, match="ERR invalid expire time in 'set' command"):
        redis.execute(["SET", k("a"), "v", "EX", 0])
    assert redis.exists(k("a")) == 0


def test_set_bad_option_is_syntax_error(redis, k):
    with pytest.raises(UpstashError, match="ERR syntax error"):
        redis.execute(["SET", k("a"), "v", "NX", "XX"])
    with pytest.raises(UpstashError, match="ERR syntax error"):
        redis.execute(["SET", k("a"), "v", "EX", 10, "PX", 10000])
    with pytest.raises(UpstashError, match="ERR syntax error"):
        redis.execute(["SET", k("a"), "v", "BOGUS"])


def test_set_non_string_values(redis, k):
    """Python sends ints, floats and bools as JSON scalars; the stored text is what was sent."""
    redis.set(k("int"), 42)
    redis.set(k("big"), 2**70)
    redis.set(k("neg"), -7)
    redis.set(k("t"), True)
    redis.set(k("f"), False)
    redis.set(k("float"), 12.5)
    assert redis.get(k("int")) == "42"
    assert redis.get(k("big")) == "1180591620717411303424"
    assert redis.get(k("neg")) == "-7"
    assert redis.get(k("t")) == "true"
    assert redis.get(k("f")) == "false"
    assert redis.get(k("float")) == "12.5"


def test_set_float_keeps_its_spelling(redis, k):
    """redis-rest.md §4: a float argument is stored as the text the client sent (2.0 -> "2.0").

    Fidelity rule of larder's spec; not verified against Upstash itself.
    """
    redis.set(k("a"), 2.0)
    assert redis.get(k("a")) == "2.0"


def test_getex(redis, k):
    redis.set(k("a"), "v", ex=100)
    assert redis.getex(k("a")) == "v"
    ttl_between(redis, k("a"), 98, 100)
    assert redis.getex(k("a"), ex=200) == "v"
    ttl_between(redis, k("a"), 198, 200)
    assert redis.getex(k("a"), px=50_000) == "v"
    pttl_between(redis, k("a"), 48_000, 50_000)
    assert redis.getex(k("a"), exat=int(time.time()) + 300) == "v"
    ttl_between(redis, k("a"), 297, 300)
    assert redis.getex(k("a"), pxat=int(time.time() * 1000) + 400_000) == "v"
    pttl_between(redis, k("a"), 397_000, 400_000)
    assert redis.getex(k("a"), persist=True) == "v"
    assert redis.ttl(k("a")) == -1
    assert redis.getex(k("missing"), ex=10) is None
    assert redis.exists(k("missing")) == 0


def test_getdel(redis, k):
    redis.set(k("a"), "v")
    assert redis.getdel(k("a")) == "v"
    assert redis.get(k("a")) is None
    assert redis.getdel(k("a")) is None


def test_getset(redis, k):
    assert redis.getset(k("a"), "one") is None
    redis.expire(k("a"), 100)
    assert redis.getset(k("a"), "two") == "one"
    assert redis.get(k("a")) == "two"
    assert redis.ttl(k("a")) == -1


def test_mset_mget(redis, k):
    assert redis.mset({k("a"): "x", k("b"): 2, k("c"): "OK"}) is True
    assert redis.mget(k("a"), k("b"), k("c"), k("missing")) == ["x", "2", "OK", None]


def test_mget_other_type_is_none(redis, k):
    assert redis.hset(k("h"), "f", "v") == 1
    redis.set(k("s"), "v")
    assert redis.mget(k("s"), k("h")) == ["v", None]


def test_msetnx(redis, k):
    assert redis.msetnx({k("a"): "1", k("b"): "2"}) is True
    assert redis.msetnx({k("b"): "x", k("c"): "3"}) is False
    assert redis.mget(k("a"), k("b"), k("c")) == ["1", "2", None]


def test_setnx(redis, k):
    assert redis.setnx(k("a"), "first") is True
    assert redis.setnx(k("a"), "second") is False
    assert redis.get(k("a")) == "first"


def test_setex(redis, k):
    assert redis.setex(k("a"), 100, "v") is True
    assert redis.get(k("a")) == "v"
    ttl_between(redis, k("a"), 98, 100)
    with pytest.raises(UpstashError, match="ERR invalid expire time in 'setex' command"):
        redis.setex(k("b"), 0, "v")
    with pytest.raises(UpstashError, match="ERR invalid expire time in 'setex' command"):
        redis.setex(k("b"), -5, "v")


def test_psetex(redis, k):
    assert redis.psetex(k("a"), 100_000, "v") is True
    assert redis.get(k("a")) == "v"
    pttl_between(redis, k("a"), 98_000, 100_000)


def test_append(redis, k):
    assert redis.append(k("a"), "Hello") == 5
    assert redis.append(k("a"), " World") == 11
    assert redis.get(k("a")) == "Hello World"


def test_strlen(redis, k):
    redis.set(k("a"), "Hello World")
    assert redis.strlen(k("a")) == 11
    redis.set(k("u"), "héllo🚀")  # 1+2+1+1+1+4 bytes
    assert redis.strlen(k("u")) == 10
    assert redis.strlen(k("missing")) == 0


def test_getrange(redis, k):
    redis.set(k("a"), "This is a string")
    assert redis.getrange(k("a"), 0, 3) == "This"
    assert redis.getrange(k("a"), -3, -1) == "ing"
    assert redis.getrange(k("a"), 0, -1) == "This is a string"
    assert redis.getrange(k("a"), 10, 100) == "string"
    assert redis.getrange(k("a"), 5, 3) == ""
    assert redis.getrange(k("missing"), 0, 10) == ""


def test_setrange(redis, k):
    redis.set(k("a"), "Hello World")
    assert redis.setrange(k("a"), 6, "Redis") == 11
    assert redis.get(k("a")) == "Hello Redis"
    assert redis.setrange(k("b"), 3, "ab") == 5
    assert redis.get(k("b")) == "\x00\x00\x00ab"
    with pytest.raises(UpstashError, match="ERR offset is out of range"):
        redis.setrange(k("c"), -1, "x")


def test_incr_family(redis, k):
    assert redis.incr(k("a")) == 1
    assert redis.incr(k("a")) == 2
    assert redis.incrby(k("a"), 10) == 12
    assert redis.incrby(k("a"), -20) == -8
    assert redis.decr(k("a")) == -9
    assert redis.decrby(k("a"), 1) == -10
    assert redis.decr(k("b")) == -1
    assert redis.decrby(k("c"), 5) == -5
    assert redis.get(k("a")) == "-10"


def test_incr_keeps_ttl(redis, k):
    redis.set(k("a"), 5, ex=100)
    assert redis.incr(k("a")) == 6
    ttl_between(redis, k("a"), 98, 100)


def test_incr_not_integer(redis, k):
    redis.set(k("a"), "abc")
    with pytest.raises(UpstashError, match=NOT_INT):
        redis.incr(k("a"))
    redis.set(k("b"), "1.5")
    with pytest.raises(UpstashError, match=NOT_INT):
        redis.incrby(k("b"), 1)
    redis.set(k("c"), " 1")
    with pytest.raises(UpstashError, match=NOT_INT):
        redis.decr(k("c"))
    assert redis.get(k("a")) == "abc"


def test_incr_overflow(redis, k):
    redis.set(k("a"), "9223372036854775807")
    with pytest.raises(UpstashError, match="ERR increment or decrement would overflow"):
        redis.incr(k("a"))
    redis.set(k("b"), "-9223372036854775808")
    with pytest.raises(UpstashError, match="ERR increment or decrement would overflow"):
        redis.decr(k("b"))


def test_incrby_bad_increment(redis, k):
    with pytest.raises(UpstashError, match=NOT_INT):
        redis.execute(["INCRBY", k("a"), "ten"])


def test_incrbyfloat(redis, k):
    redis.set(k("a"), "10.50")
    assert redis.incrbyfloat(k("a"), 0.1) == 10.6
    assert redis.get(k("a")) == "10.6"
    assert redis.incrbyfloat(k("a"), -5) == 5.6
    redis.set(k("b"), "5.0e3")
    assert redis.incrbyfloat(k("b"), 2.0e2) == 5200.0
    assert redis.get(k("b")) == "5200"
    assert redis.incrbyfloat(k("c"), 3) == 3.0
    assert redis.get(k("c")) == "3"


def test_incrbyfloat_formatting_like_redis(redis, k):
    """Redis computes in long double and prints with %.17Lf (trailing zeros trimmed):
    0.1 + 0.2 is "0.3", not the f64 "0.30000000000000004"."""
    redis.set(k("a"), "0.1")
    assert redis.incrbyfloat(k("a"), 0.2) == 0.3
    assert redis.get(k("a")) == "0.3"
    redis.set(k("b"), "5")
    assert redis.execute(["incrbyfloat", k("b"), "1.23456789012345678"]) == "6.23456789012345678"  # lower case: no float() cast


def test_incrbyfloat_errors(redis, k):
    redis.set(k("a"), "abc")
    with pytest.raises(UpstashError, match="ERR value is not a valid float"):
        redis.incrbyfloat(k("a"), 1.0)
    redis.set(k("b"), "1")
    with pytest.raises(UpstashError, match="ERR value is not a valid float"):
        redis.execute(["INCRBYFLOAT", k("b"), "x"])


def test_wrongtype(redis, k):
    assert redis.hset(k("h"), "f", "v") == 1
    for call in (
        lambda: redis.get(k("h")),
        lambda: redis.incr(k("h")),
        lambda: redis.append(k("h"), "x"),
        lambda: redis.strlen(k("h")),
        lambda: redis.getrange(k("h"), 0, 1),
        lambda: redis.getdel(k("h")),
        lambda: redis.set(k("h"), "v", get=True),
    ):
        with pytest.raises(UpstashError, match=WRONGTYPE):
            call()
    assert redis.type(k("h")) == "hash"
    assert redis.set(k("h"), "now a string") is True
    assert redis.type(k("h")) == "string"


def test_unicode_values(redis, k):
    values = {
        "unicode": "héllo wörld — ünïcödé",
        "emoji": "🚀🔥 emoji 👍🏽",
        "cjk": "你好，世界",
        "quotes": 'he said "hi"\n\tand left \\ ok',
        "ok": "OK",
        "b64": "T0s=",
        "empty": "",
        "json": '{"a": [1, 2]}',
    }
    for name, value in values.items():
        redis.set(k(name), value)
    for name, value in values.items():
        assert redis.get(k(name)) == value, name
    assert redis.mget(*[k(n) for n in values]) == list(values.values())


def test_set_option_errors(redis, k):
    with pytest.raises(UpstashError, match=NOT_INT):
        redis.execute(["SET", k("a"), "v", "EX", "abc"])
    with pytest.raises(UpstashError, match="ERR syntax error"):
        redis.execute(["SET", k("a"), "v", "EX", 10, "KEEPTTL"])
    with pytest.raises(UpstashError, match="ERR invalid expire time in 'set' command"):
        redis.execute(["SET", k("a"), "v", "EX", 9223372036854775807])
    with pytest.raises(UpstashError, match="ERR invalid expire time in 'set' command"):
        redis.set(k("a"), "v", px=-5)
    assert redis.exists(k("a")) == 0


def test_getex_two_expiry_options(redis, k):
    redis.set(k("a"), "v")
    with pytest.raises(UpstashError, match="ERR syntax error"):
        redis.execute(["GETEX", k("a"), "PERSIST", "EX", 10])


def test_setrange_empty_value_creates_nothing(redis, k):
    assert redis.setrange(k("a"), 5, "") == 0
    assert redis.exists(k("a")) == 0


def test_modifications_keep_ttl(redis, k):
    redis.set(k("s"), "abc", ex=100)
    redis.set(k("f"), "1.5", ex=100)
    redis.append(k("s"), "def")
    redis.setrange(k("s"), 0, "X")
    redis.incrbyfloat(k("f"), 1)
    assert redis.get(k("s")) == "Xbcdef"
    for key in (k("s"), k("f")):
        assert 98 <= redis.ttl(key) <= 100, key


def test_mset_odd_arguments(redis, k):
    with pytest.raises(UpstashError, match="ERR wrong number of arguments for 'mset' command"):
        redis.execute(["MSET", k("a"), "1", k("b")])
    assert redis.exists(k("a")) == 0


def test_odd_key_names(redis, k):
    names = ["a+b/c==", "with space", "ünï/cödé", "percent%20sign", "q?x#y&z"]
    for n in names:
        assert redis.set(k(n), n) is True
    for n in names:
        assert redis.get(k(n)) == n
    assert redis.exists(*[k(n) for n in names]) == len(names)
    assert sorted(redis.keys(k("*"))) == sorted(k(n) for n in names)
