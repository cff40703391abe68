"""Generic key commands and connection/server commands through upstash-redis.

DBSIZE / RANDOMKEY / FLUSHDB / FLUSHALL are in test_zz_flush.py.
"""

import time

import pytest
from upstash_redis.errors import UpstashError



def now() -> int:
    return int(time.time())


def now_ms() -> int:
    return int(time.time() * 1000)


def scan_all(redis, **kwargs):
    seen = set()
    cursor = 0
    for _ in range(10_000):
        cursor, keys = redis.scan(cursor, **kwargs)
        assert isinstance(cursor, int)
        seen.update(keys)
        if cursor == 0:
            return sorted(seen)
    raise AssertionError("SCAN did not terminate")


def test_delete_unlink(redis, k):
    redis.mset({k("a"): 1, k("b"): 2, k("c"): 3, k("d"): 4})
    assert redis.delete(k("a"), k("b"), k("missing")) == 2
    assert redis.unlink(k("c"), k("d"), k("missing")) == 2
    assert redis.exists(k("a"), k("b"), k("c"), k("d")) == 0
    assert redis.delete(k("a")) == 0


def test_exists_counts_duplicates(redis, k):
    redis.set(k("a"), "v")
    assert redis.exists(k("a")) == 1
    assert redis.exists(k("a"), k("a"), k("missing")) == 2
    assert redis.exists(k("missing")) == 0


def test_ttl_pttl_special_values(redis, k):
    redis.set(k("a"), "v")
    assert redis.ttl(k("a")) == -1
    assert redis.pttl(k("a")) == -1
    assert redis.ttl(k("missing")) == -2
    assert redis.pttl(k("missing")) == -2


def test_expire_pexpire(redis, k):
    redis.set(k("a"), "v")
    assert redis.expire(k("a"), 100) is True
    assert 98 <= redis.ttl(k("a")) <= 100
    assert redis.pexpire(k("a"), 50_000) is True
    assert 48_000 < redis.pttl(k("a")) <= 50_000
    assert redis.expire(k("missing"), 100) is False
    assert redis.pexpire(k("missing"), 100) is False


def test_ttl_rounds_to_nearest_second(redis, k):
    redis.set(k("a"), "v", px=1900)
    assert redis.ttl(k("a")) == 2
    redis.set(k("b"), "v", px=1200)
    assert redis.ttl(k("b")) == 1


def test_expire_nonpositive_deletes(redis, k):
    redis.set(k("a"), "v")
    assert redis.expire(k("a"), 0) is True
    assert redis.exists(k("a")) == 0
    redis.set(k("b"), "v")
    assert redis.pexpire(k("b"), -100) is True
    assert redis.exists(k("b")) == 0


def test_pexpire_then_gone(redis, k):
    redis.set(k("a"), "v")
    assert redis.pexpire(k("a"), 150) is True
    time.sleep(0.4)
    assert redis.get(k("a")) is None
    assert redis.ttl(k("a")) == -2


def test_expire_nx_xx(redis, k):
    redis.set(k("a"), "v")
    assert redis.expire(k("a"), 100, xx=True) is False
    assert redis.ttl(k("a")) == -1
    assert redis.expire(k("a"), 100, nx=True) is True
    assert redis.expire(k("a"), 200, nx=True) is False
    assert redis.ttl(k("a")) <= 100
    assert redis.expire(k("a"), 200, xx=True) is True
    assert redis.ttl(k("a")) > 100


def test_expire_gt_lt(redis, k):
    redis.set(k("a"), "v")
    assert redis.expire(k("a"), 100, gt=True) is False  # no TTL counts as infinite
    assert redis.ttl(k("a")) == -1
    assert redis.expire(k("a"), 100, lt=True) is True
    assert redis.expire(k("a"), 50, gt=True) is False
    assert redis.expire(k("a"), 200, gt=True) is True
    assert redis.expire(k("a"), 300, lt=True) is False
    assert redis.expire(k("a"), 150, lt=True) is True
    assert 148 <= redis.ttl(k("a")) <= 150


def test_pexpire_expireat_pexpireat_options(redis, k):
    redis.set(k("a"), "v")
    assert redis.pexpire(k("a"), 100_000, xx=True) is False
    assert redis.pexpire(k("a"), 100_000, nx=True) is True
    assert redis.expireat(k("a"), now() + 50, gt=True) is False
    assert redis.expireat(k("a"), now() + 50, lt=True) is True
    assert redis.pexpireat(k("a"), now_ms() + 500_000, lt=True) is False
    assert redis.pexpireat(k("a"), now_ms() + 500_000, gt=True) is True
    assert 497 <= redis.ttl(k("a")) <= 500


def test_expire_incompatible_options(redis, k):
    redis.set(k("a"), "v")
    with pytest.raises(
        UpstashError, match="ERR NX and XX, GT or LT options at the same time are not compatible"
    ):
        redis.expire(k("a"), 100, nx=True, xx=True)
    with pytest.raises(
        UpstashError, match="ERR GT and LT options at the same time are not compatible"
    ):
        redis.expire(k("a"), 100, gt=True, lt=True)
    with pytest.raises(UpstashError, match="ERR value is not an integer or out of range"):
        redis.execute(["EXPIRE", k("a"), "soon"])


def test_expireat_and_expiretime(redis, k):
    redis.mset({k("a"): 1, k("b"): 2})
    at = now() + 1000
    assert redis.expireat(k("a"), at) is True
    assert redis.execute(["EXPIRETIME", k("a")]) == at
    assert redis.execute(["PEXPIRETIME", k("a")]) == at * 1000
    # 700 ms past a whole second: Redis rounds to the nearest second ((ms + 500) / 1000)
    sec = now() + 2000
    pat = sec * 1000 + 700
    assert redis.pexpireat(k("b"), pat) is True
    assert redis.execute(["PEXPIRETIME", k("b")]) == pat
    assert redis.execute(["EXPIRETIME", k("b")]) == sec + 1
    assert redis.expireat(k("missing"), at) is False


def test_expiretime_special_values(redis, k):
    redis.set(k("a"), "v")
    assert redis.execute(["EXPIRETIME", k("a")]) == -1
    assert redis.execute(["PEXPIRETIME", k("a")]) == -1
    assert redis.execute(["EXPIRETIME", k("missing")]) == -2
    assert redis.execute(["PEXPIRETIME", k("missing")]) == -2


def test_expireat_past_deletes(redis, k):
    redis.set(k("a"), "v")
    assert redis.expireat(k("a"), now() - 10) is True
    assert redis.exists(k("a")) == 0


def test_persist(redis, k):
    redis.set(k("a"), "v", ex=100)
    assert redis.persist(k("a")) is True
    assert redis.ttl(k("a")) == -1
    assert redis.persist(k("a")) is False
    assert redis.persist(k("missing")) is False


def test_type(redis, k):
    redis.set(k("a"), "v")
    assert redis.type(k("a")) == "string"
    assert redis.type(k("missing")) == "none"


def test_type_hash(redis, k):
    assert redis.hset(k("h"), "f", "v") == 1
    assert redis.type(k("h")) == "hash"


def test_rename(redis, k):
    redis.set(k("a"), "va", ex=100)
    redis.set(k("b"), "vb")
    assert redis.rename(k("a"), k("b")) is True
    assert redis.get(k("a")) is None
    assert redis.get(k("b")) == "va"
    assert 98 <= redis.ttl(k("b")) <= 100


def test_rename_missing(redis, k):
    with pytest.raises(UpstashError, match="ERR no such key"):
        redis.rename(k("missing"), k("b"))


def test_renamenx(redis, k):
    redis.mset({k("a"): "va", k("b"): "vb"})
    assert redis.renamenx(k("a"), k("b")) is False
    assert redis.mget(k("a"), k("b")) == ["va", "vb"]
    assert redis.renamenx(k("a"), k("c")) is True
    assert redis.mget(k("a"), k("c")) == [None, "va"]
    with pytest.raises(UpstashError, match="ERR no such key"):
        redis.renamenx(k("missing"), k("d"))


def test_keys_patterns(redis, k):
    names = ["hello", "hallo", "hxllo", "hllo", "heeeello"]
    redis.mset({k(n): 1 for n in names})
    assert sorted(redis.keys(k("*"))) == sorted(k(n) for n in names)
    assert sorted(redis.keys(k("h?llo"))) == sorted(k(n) for n in ["hello", "hallo", "hxllo"])
    assert sorted(redis.keys(k("h*llo"))) == sorted(k(n) for n in names)
    assert sorted(redis.keys(k("h[ae]llo"))) == sorted(k(n) for n in ["hello", "hallo"])
    assert sorted(redis.keys(k("h[^e]llo"))) == sorted(k(n) for n in ["hallo", "hxllo"])
    assert redis.keys(k("h[a-b]llo")) == [k("hallo")]
    assert redis.keys(k("nothing*")) == []


def test_keys_escaped_glob(redis, k):
    redis.mset({k("a*b"): 1, k("axb"): 2})
    assert redis.keys(k("a\\*b")) == [k("a*b")]


def test_scan_match_count(redis, k):
    names = [k(f"key{i}") for i in range(25)]
    redis.mset({n: "v" for n in names})
    assert scan_all(redis, match=k("*"), count=5) == sorted(names)
    assert scan_all(redis, match=k("key1*"), count=1000) == sorted(
        k(f"key{i}") for i in [1, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19]
    )


def test_scan_type(redis, k):
    redis.mset({k("s1"): "v", k("s2"): "v"})
    assert redis.hset(k("h"), "f", "v") == 1
    assert scan_all(redis, match=k("*"), count=100, type="string") == [k("s1"), k("s2")]
    assert scan_all(redis, match=k("*"), count=100, type="hash") == [k("h")]


def test_collection_types(redis, k):
    """TYPE, SCAN TYPE, COPY, RENAME and EXPIRE on every collection type."""
    redis.rpush(k("l"), "a", "b")
    redis.sadd(k("s"), "x")
    redis.zadd(k("z"), {"m": 1})
    redis.hset(k("h"), "f", "v")
    for name, type_ in {"l": "list", "s": "set", "z": "zset", "h": "hash"}.items():
        assert redis.type(k(name)) == type_
        assert scan_all(redis, match=k("*"), count=1000, type=type_) == [k(name)]
        assert redis.copy(k(name), k(name + "-copy")) is True
        assert redis.expire(k(name + "-copy"), 100) is True
    assert redis.lrange(k("l-copy"), 0, -1) == ["a", "b"]
    assert redis.smembers(k("s-copy")) == ["x"]
    assert redis.zrange(k("z-copy"), 0, -1, withscores=True) == [("m", 1.0)]
    assert redis.hgetall(k("h-copy")) == {"f": "v"}
    redis.rpush(k("l"), "c")
    assert redis.llen(k("l-copy")) == 2
    assert redis.rename(k("z"), k("z2")) is True
    assert redis.zscore(k("z2"), "m") == 1.0
    assert 98 <= redis.ttl(k("h-copy")) <= 100


def test_touch(redis, k):
    redis.mset({k("a"): 1, k("b"): 2})
    assert redis.touch(k("a"), k("b"), k("missing")) == 2


def test_copy(redis, k):
    redis.set(k("src"), "v", ex=100)
    assert redis.copy(k("src"), k("dst")) is True
    assert redis.get(k("dst")) == "v"
    assert 98 <= redis.ttl(k("dst")) <= 100
    redis.set(k("src"), "v2")
    assert redis.copy(k("src"), k("dst")) is False
    assert redis.get(k("dst")) == "v"
    assert redis.copy(k("src"), k("dst"), replace=True) is True
    assert redis.get(k("dst")) == "v2"
    assert redis.ttl(k("dst")) == -1
    assert redis.copy(k("missing"), k("dst2")) is False


def test_copy_same_key_upstash(redis, k):
    """Upstash answers 0 for COPY k k (stock Redis: 'ERR source and destination objects are the same')."""
    redis.set(k("a"), "v")
    assert redis.copy(k("a"), k("a")) is False
    assert redis.get(k("a")) == "v"


def test_ping_echo(redis):
    assert redis.ping() == "PONG"
    assert redis.ping("hello world") == "hello world"
    assert redis.echo("hello") == "hello"
    assert redis.echo("héllo 🚀") == "héllo 🚀"


def test_time(redis):
    sec, micros = redis.time()
    assert isinstance(sec, int) and isinstance(micros, int)
    assert abs(sec - time.time()) < 60
    assert 0 <= micros < 1_000_000


def test_unknown_command(redis):
    with pytest.raises(UpstashError) as e:
        redis.execute(["NOSUCHCOMMAND", "a", "b"])
    assert str(e.value) == "ERR unknown command 'NOSUCHCOMMAND', with args beginning with: 'a' 'b' "


def test_wrong_arity(redis, k):
    with pytest.raises(UpstashError) as e:
        redis.execute(["GET"])
    assert str(e.value) == "ERR wrong number of arguments for 'get' command"
    with pytest.raises(UpstashError) as e:
        redis.execute(["SET", k("a")])
    assert str(e.value) == "ERR wrong number of arguments for 'set' command"


def test_rename_onto_itself(redis, k):
    redis.set(k("a"), "v")
    assert redis.rename(k("a"), k("a")) is True
    assert redis.renamenx(k("a"), k("a")) is False
    assert redis.get(k("a")) == "v"


def test_expired_keys_are_invisible(redis, k):
    redis.set(k("gone"), "v", px=100)
    redis.set(k("kept"), "v")
    time.sleep(0.3)
    assert redis.exists(k("gone")) == 0
    assert redis.type(k("gone")) == "none"
    assert redis.ttl(k("gone")) == -2
    assert redis.touch(k("gone"), k("kept")) == 1
    assert redis.keys(k("*")) == [k("kept")]
    assert k("gone") not in scan_all(redis, match=k("*"), count=1000)
    assert redis.mget(k("gone"), k("kept")) == [None, "v"]
    assert redis.get(k("gone")) is None


def test_expire_out_of_range(redis, k):
    redis.set(k("a"), "v")
    with pytest.raises(UpstashError, match="ERR invalid expire time in 'expire' command"):
        redis.expire(k("a"), 9223372036854775807)
    assert redis.ttl(k("a")) == -1
