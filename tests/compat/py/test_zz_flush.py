"""The only Python tests that look at the whole database: DBSIZE, RANDOMKEY, FLUSHDB, FLUSHALL.

pytest runs this module last (alphabetical order), and the suites never run concurrently.
"""


def test_flushdb_dbsize_randomkey(redis, k):
    redis.set(k("pre"), "v")
    assert redis.flushdb() is True
    assert redis.dbsize() == 0
    assert redis.randomkey() is None
    assert redis.keys("*") == []
    assert redis.scan(0) == (0, [])

    names = [k("a"), k("b"), k("c")]
    redis.mset({n: "v" for n in names})
    assert redis.dbsize() == 3
    for _ in range(5):
        assert redis.randomkey() in names
    redis.delete(k("a"))
    assert redis.dbsize() == 2

    assert redis.flushdb("ASYNC") is True
    assert redis.dbsize() == 0


def test_flushall(redis, k):
    redis.mset({k("a"): "1", k("b"): "2"})
    assert redis.dbsize() == 2
    assert redis.flushall() is True
    assert redis.dbsize() == 0
    assert redis.get(k("a")) is None
    redis.set(k("c"), "3")
    assert redis.flushall("SYNC") is True
    assert redis.dbsize() == 0
    redis.set(k("d"), "4")
    assert redis.flushall("ASYNC") is True
    assert redis.dbsize() == 0


def test_dbsize_counts_keys_with_ttl(redis, k):
    redis.flushdb()
    redis.set(k("a"), "v", ex=100)
    redis.set(k("b"), "v")
    assert redis.dbsize() == 2
    redis.flushdb()
