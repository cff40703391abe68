"""Bitmap and HyperLogLog commands through upstash-redis, with base64 responses (default) and without.

Expected values are Redis 7's (BITOP DIFF/DIFF1/ANDOR/ONE: Redis 8.2's).
"""

import pytest
from upstash_redis.errors import UpstashError


def test_setbit_getbit(redis, k):
    assert redis.setbit(k("b"), 7, 1) == 0
    assert redis.setbit(k("b"), 7, 1) == 1
    assert redis.getbit(k("b"), 7) == 1
    assert redis.getbit(k("b"), 100) == 0
    assert redis.setbit(k("b"), 23, 1) == 0
    assert redis.strlen(k("b")) == 3


def test_bitcount_bitpos(redis, k):
    redis.set(k("s"), "foobar")
    assert redis.bitcount(k("s")) == 26
    assert redis.bitcount(k("s"), 1, 1) == 6
    assert redis.bitcount(k("missing")) == 0
    redis.setbit(k("b"), 20, 1)
    assert redis.bitpos(k("b"), 1) == 20
    assert redis.bitpos(k("b"), 1, 3) == -1
    assert redis.bitpos(k("b"), 0) == 0


@pytest.mark.parametrize(
    "op,length,count",
    [("AND", 2, 1), ("OR", 2, 3), ("XOR", 2, 2), ("DIFF", 2, 1), ("DIFF1", 2, 1), ("ANDOR", 2, 1), ("ONE", 2, 2)],
)
def test_bitop(redis, k, op, length, count):
    redis.setbit(k("x"), 0, 1)
    redis.setbit(k("x"), 1, 1)
    redis.setbit(k("y"), 1, 1)
    redis.setbit(k("y"), 15, 1)
    assert redis.bitop(op, k("d"), k("x"), k("y")) == length
    assert redis.bitcount(k("d")) == count


def test_bitop_not(redis, k):
    redis.setbit(k("x"), 0, 1)
    assert redis.bitop("NOT", k("d"), k("x")) == 1
    assert redis.bitcount(k("d")) == 7


def test_bitfield_and_bitfield_ro(redis, k):
    r = (
        redis.bitfield(k("f"))
        .set("i8", 0, 100)
        .incrby("i8", 0, 100)
        .overflow("SAT")
        .incrby("i8", 0, -300)
        .overflow("FAIL")
        .incrby("i8", 0, -1)
        .get("u8", "#0")
        .execute()
    )
    assert r == [0, -56, -128, None, 128]
    assert redis.bitfield_ro(k("f")).get("i8", 0).get("u4", 4).execute() == [-128, 0]


def test_hyperloglog(redis, k):
    assert redis.pfadd(k("a"), "x", "y", "z") == 1
    assert redis.pfadd(k("a"), "x") == 0
    assert redis.pfcount(k("a")) == 3
    assert redis.pfadd(k("b"), "z", "w") == 1
    assert redis.pfcount(k("a"), k("b")) == 4
    assert redis.pfmerge(k("m"), k("a"), k("b")) is True
    assert redis.pfcount(k("m")) == 4
    redis.set(k("s"), "not an hll")
    with pytest.raises(UpstashError, match="WRONGTYPE Key is not a valid HyperLogLog string value."):
        redis.pfadd(k("s"), "x")
