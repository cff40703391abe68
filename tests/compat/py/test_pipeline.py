"""pipeline() (POST /pipeline), multi() (POST /multi-exec) and execute([...]) (POST /)."""

import pytest
from upstash_redis.errors import UpstashError

NOT_INT = "ERR value is not an integer or out of range"


def test_pipeline_results(redis, k):
    p = redis.pipeline()
    p.set(k("a"), "v")
    p.get(k("a"))
    p.incr(k("n"))
    p.incrby(k("n"), 4)
    p.mget(k("a"), k("n"), k("missing"))
    p.expire(k("a"), 100)
    p.ttl(k("a"))
    p.incrbyfloat(k("f"), 1.5)
    p.setnx(k("a"), "other")
    p.delete(k("a"))
    p.exists(k("a"))
    p.type(k("n"))
    p.ping()
    res = p.exec()
    assert res[:5] == [True, "v", 1, 5, ["v", "5", None]]
    assert res[5] is True
    assert 98 <= res[6] <= 100
    assert res[7:] == [1.5, False, 1, 0, "string", "PONG"]


def test_pipeline_chaining_and_reuse(redis, k):
    p = redis.pipeline()
    p.set(k("a"), "1").incr(k("a")).get(k("a"))
    assert p.exec() == [True, 2, "2"]
    # exec() resets the pipeline; it can be reused
    p.get(k("a"))
    assert p.exec() == ["2"]


def test_pipeline_error_raises_but_others_run(redis, k):
    redis.set(k("s"), "abc")
    p = redis.pipeline()
    p.set(k("a"), "1")
    p.incr(k("s"))
    p.set(k("b"), "2")
    with pytest.raises(UpstashError, match=NOT_INT):
        p.exec()
    assert redis.mget(k("a"), k("b")) == ["1", "2"]


def test_pipeline_ok_values_in_arrays(redis, k):
    p = redis.pipeline()
    p.set(k("ok"), "OK")
    p.set(k("u"), "héllo 🚀")
    p.get(k("ok"))
    p.mget(k("ok"), k("u"))
    assert p.exec() == [True, True, "OK", ["OK", "héllo 🚀"]]


def test_multi_results(redis, k):
    tx = redis.multi()
    tx.set(k("a"), "1")
    tx.incr(k("a"))
    tx.get(k("a"))
    tx.getset(k("a"), "x")
    tx.get(k("a"))
    tx.expire(k("a"), 100)
    tx.persist(k("a"))
    assert tx.exec() == [True, 2, "2", "2", "x", True, True]


def test_multi_runtime_error_no_rollback(redis, k):
    tx = redis.multi()
    tx.set(k("a"), "abc")
    tx.incr(k("a"))
    tx.set(k("b"), "after")
    with pytest.raises(UpstashError, match=NOT_INT):
        tx.exec()
    assert redis.mget(k("a"), k("b")) == ["abc", "after"]


def test_execute_escape_hatch(redis, k):
    assert redis.execute(["SET", k("a"), "hello"]) is True  # the client maps SET's OK to True
    assert redis.execute(["GET", k("a")]) == "hello"
    assert redis.execute(["INCRBY", k("n"), 5]) == 5
    assert redis.execute(["MGET", k("a"), k("n"), k("missing")]) == ["hello", "5", None]
    assert redis.execute(["ECHO", "hi"]) == "hi"
    assert redis.execute(["set", k("lower"), "v", "ex", "100"]) == "OK"  # lower-case name: no cast
    assert 98 <= redis.execute(["ttl", k("lower")]) <= 100
    assert redis.execute(["StrLen", k("lower")]) == 1
