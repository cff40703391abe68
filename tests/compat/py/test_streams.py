"""Stream commands through upstash-redis, with base64 responses (default) and without.

Expected values are redis-server 7.0.15's replies to the same commands. The client does not
reshape stream replies (its XREAD/XRANGE/XPENDING formatters return them as they come, except
that a nil XREAD/XREADGROUP becomes []), so entries are ``[id, [field, value, ...]]`` lists of
strings and counts are ints.

Client quirks noted here:
- xadd and xtrim default to approximate trimming (``approximate_trim=True`` / ``approximate=True``);
  the tests pass False for exact ``=`` trimming;
- xadd sends ``str(value)`` for every field value (``True`` -> ``"True"``, a dict -> its repr);
- xclaim only exposes JUSTID (no IDLE/TIME/RETRYCOUNT/FORCE/LASTID);
- there is no ``xinfo_stream``: XINFO STREAM goes through ``execute``.
"""

import re
import time

import pytest
from upstash_redis.errors import UpstashError

ID = re.compile(r"^\d+-\d+$")


def _fill(redis, key, n):
    for i in range(1, n + 1):
        redis.xadd(key, f"{i}-0", {"n": i})


def _ids(entries):
    return [e[0] for e in entries]


def test_xadd_ids_nomkstream_xlen(redis, k):
    auto = redis.xadd(k("s"), "*", {"a": 1, "b": "two"})
    assert ID.match(auto)
    assert abs(int(auto.split("-")[0]) - time.time() * 1000) < 60_000
    assert redis.xrange(k("s")) == [[auto, ["a", "1", "b", "two"]]]
    assert redis.xlen(k("s")) == 1

    assert redis.xadd(k("e"), "1-1", {"a": "x"}) == "1-1"
    assert redis.xadd(k("e"), "1-*", {"b": "y"}) == "1-2"
    assert redis.xadd(k("e"), "5", {"c": "z"}) == "5-0"
    assert redis.xadd(k("e"), "6-0", {"flag": True, "f": 1.5}) == "6-0"
    assert redis.xrange(k("e"), "6", "6") == [["6-0", ["flag", "True", "f", "1.5"]]]
    with pytest.raises(UpstashError, match="equal or smaller than the target stream top item"):
        redis.xadd(k("e"), "5-0", {"d": 1})
    with pytest.raises(UpstashError, match="must be greater than 0-0"):
        redis.xadd(k("new"), "0-0", {"d": 1})
    assert redis.xlen(k("e")) == 4
    assert redis.xlen(k("missing")) == 0

    assert redis.xadd(k("nomk"), "*", {"a": 1}, nomkstream=True) is None
    assert redis.exists(k("nomk")) == 0
    assert ID.match(redis.xadd(k("s"), "*", {"b": 2}, nomkstream=True))
    assert redis.xlen(k("s")) == 2
    assert redis.type(k("s")) == "stream"


def test_xadd_trimming(redis, k):
    _fill(redis, k("s"), 5)
    assert redis.xadd(k("s"), "6-0", {"n": 6}, maxlen=3, approximate_trim=False) == "6-0"
    assert _ids(redis.xrange(k("s"))) == ["4-0", "5-0", "6-0"]
    assert redis.xadd(k("s"), "7-0", {"n": 7}, minid="6", approximate_trim=False) == "7-0"
    assert _ids(redis.xrange(k("s"))) == ["6-0", "7-0"]
    # The client's default is "~": whole 100-entry nodes only, so nothing goes here.
    redis.xadd(k("s"), "8-0", {"n": 8}, maxlen=1)
    assert redis.xlen(k("s")) == 3
    with pytest.raises(UpstashError, match="LIMIT cannot be used without the special ~ option"):
        redis.xadd(k("s"), "9-0", {"n": 9}, maxlen=1, approximate_trim=False, limit=10)
    assert redis.xadd(k("none"), "*", {"a": 1}, nomkstream=True, maxlen=1, approximate_trim=False) is None


def test_xrange_xrevrange(redis, k):
    redis.xadd(k("s"), "1-0", {"name": "alice", "age": 30})
    redis.xadd(k("s"), "2-0", {"text": "héllo wörld ✓"})
    redis.xadd(k("s"), "2-1", {"doc": '{"a":[1,2]}'})
    redis.xadd(k("s"), "3-0", {"x": "1.50"})
    everything = [
        ["1-0", ["name", "alice", "age", "30"]],
        ["2-0", ["text", "héllo wörld ✓"]],
        ["2-1", ["doc", '{"a":[1,2]}']],
        ["3-0", ["x", "1.50"]],
    ]
    assert redis.xrange(k("s"), "-", "+") == everything
    assert redis.xrange(k("s"), count=2) == everything[:2]
    assert _ids(redis.xrange(k("s"), "2", "2")) == ["2-0", "2-1"]
    assert _ids(redis.xrange(k("s"), "(2-0", "+")) == ["2-1", "3-0"]
    assert redis.xrange(k("s"), "5", "1") == []
    assert redis.xrange(k("missing")) == []

    assert redis.xrevrange(k("s")) == everything[::-1]
    assert redis.xrevrange(k("s"), "+", "-", count=1) == [everything[3]]
    assert _ids(redis.xrevrange(k("s"), "2-1", "(1-0")) == ["2-1", "2-0"]
    assert redis.xrevrange(k("missing")) == []
    with pytest.raises(UpstashError, match="Invalid stream ID specified as stream command argument"):
        redis.xrange(k("s"), "nope", "+")


def test_xdel_xtrim(redis, k):
    _fill(redis, k("s"), 6)
    assert redis.xdel(k("s"), "2-0", "99-0") == 1
    assert redis.xdel(k("s"), "2-0") == 0
    assert redis.xlen(k("s")) == 5
    assert redis.xtrim(k("s"), maxlen=3, approximate=False) == 2
    assert _ids(redis.xrange(k("s"))) == ["4-0", "5-0", "6-0"]
    assert redis.xtrim(k("s"), minid="5-0", approximate=False) == 1
    assert redis.xtrim(k("s"), minid="5-0", approximate=False) == 0
    assert redis.xtrim(k("s"), maxlen=1) == 0  # "~" (the client's default): a partial node stays
    assert redis.xlen(k("s")) == 2
    with pytest.raises(UpstashError, match="LIMIT cannot be used without the special ~ option"):
        redis.xtrim(k("s"), maxlen=1, approximate=False, limit=5)
    with pytest.raises(ValueError):
        redis.xtrim(k("s"))
    assert redis.xtrim(k("missing"), maxlen=0, approximate=False) == 0
    # An emptied stream still exists.
    assert redis.xtrim(k("s"), maxlen=0, approximate=False) == 2
    assert redis.xlen(k("s")) == 0
    assert redis.exists(k("s")) == 1


def test_xtrim_approximate_whole_nodes(redis, k):
    p = redis.pipeline()
    for i in range(1, 251):
        p.xadd(k("s"), f"{i}-0", {"f": i})
    p.exec()
    assert redis.xtrim(k("s"), maxlen=120) == 100  # "~": whole 100-entry nodes
    assert redis.xlen(k("s")) == 150
    assert redis.xtrim(k("s"), maxlen=10, limit=50) == 0  # LIMIT 50 < a node
    assert redis.xlen(k("s")) == 150
    redis.xadd(k("s"), "251-0", {"f": 251}, minid="240")
    assert redis.xlen(k("s")) == 51
    assert redis.xrange(k("s"), count=1) == [["201-0", ["f", "201"]]]
    assert redis.xtrim(k("s"), minid="245", approximate=False) == 44
    assert redis.xrange(k("s"), count=1) == [["245-0", ["f", "245"]]]


def test_xread(redis, k):
    redis.xadd(k("a"), "1-0", {"f": "v1"})
    redis.xadd(k("a"), "2-0", {"f": "v2"})
    redis.xadd(k("b"), "1-0", {"g": 7})
    assert redis.xread({k("a"): "0-0"}) == [[k("a"), [["1-0", ["f", "v1"]], ["2-0", ["f", "v2"]]]]]
    assert redis.xread({k("a"): "1-0"}) == [[k("a"), [["2-0", ["f", "v2"]]]]]
    assert redis.xread({k("a"): "0", k("b"): "0", k("c"): "0"}, count=1) == [
        [k("a"), [["1-0", ["f", "v1"]]]],
        [k("b"), [["1-0", ["g", "7"]]]],
    ]
    # Redis answers nil; the client turns it into [].
    assert redis.xread({k("a"): "2-0"}) == []
    assert redis.xread({k("a"): "$"}) == []
    assert redis.xread({k("missing"): "0"}) == []


def test_xgroup_subcommands(redis, k):
    with pytest.raises(UpstashError, match="requires the key to exist"):
        redis.xgroup_create(k("s"), "g")
    assert redis.xgroup_create(k("s"), "g", "$", mkstream=True) == "OK"
    assert redis.xlen(k("s")) == 0
    assert redis.exists(k("s")) == 1
    with pytest.raises(UpstashError, match="^BUSYGROUP Consumer Group name already exists"):
        redis.xgroup_create(k("s"), "g", "$", mkstream=True)

    assert redis.xgroup_createconsumer(k("s"), "g", "c1") == 1
    assert redis.xgroup_createconsumer(k("s"), "g", "c1") == 0
    with pytest.raises(UpstashError, match="^NOGROUP No such consumer group 'nog' for key name"):
        redis.xgroup_createconsumer(k("s"), "nog", "c1")

    redis.xadd(k("s"), "1-0", {"a": 1})
    redis.xadd(k("s"), "2-0", {"a": 2})
    assert redis.xgroup_setid(k("s"), "g", "0") == "OK"
    assert len(redis.xreadgroup("g", "c2", {k("s"): ">"})[0][1]) == 2
    assert redis.xgroup_delconsumer(k("s"), "g", "c2") == 2  # its pending entries
    assert redis.xgroup_delconsumer(k("s"), "g", "nobody") == 0
    assert redis.xgroup_setid(k("s"), "g", "$") == "OK"
    assert redis.xreadgroup("g", "c1", {k("s"): ">"}) == []
    assert redis.xgroup_setid(k("s"), "g", "1-0", entries_read=1) == "OK"
    assert redis.xinfo_groups(k("s")) == [
        ["name", "g", "consumers", 1, "pending", 0, "last-delivered-id", "1-0", "entries-read", 1, "lag", 1]
    ]
    with pytest.raises(UpstashError, match="^NOGROUP"):
        redis.xgroup_setid(k("s"), "nog", "$")

    assert redis.xgroup_destroy(k("s"), "g") == 1
    assert redis.xgroup_destroy(k("s"), "g") == 0
    with pytest.raises(UpstashError, match="^NOGROUP No such key '.*' or consumer group 'g' in XREADGROUP"):
        redis.xreadgroup("g", "c1", {k("s"): ">"})


def test_xreadgroup_xack_xpending(redis, k):
    for i in range(1, 5):
        redis.xadd(k("s"), f"{i}-0", {"n": f"v{i}"})
    redis.xgroup_create(k("s"), "g", "0")
    assert redis.xreadgroup("g", "c1", {k("s"): ">"}, count=2) == [
        [k("s"), [["1-0", ["n", "v1"]], ["2-0", ["n", "v2"]]]]
    ]
    assert redis.xreadgroup("g", "c2", {k("s"): ">"}, count=1) == [[k("s"), [["3-0", ["n", "v3"]]]]]
    assert redis.xreadgroup("g", "c1", {k("s"): "0"}) == [
        [k("s"), [["1-0", ["n", "v1"]], ["2-0", ["n", "v2"]]]]
    ]

    # Summary: [count, smallest id, greatest id, [[consumer, count-as-text], ...]].
    assert redis.xpending(k("s"), "g") == [3, "1-0", "3-0", [["c1", "2"], ["c2", "1"]]]
    ext = redis.xpending(k("s"), "g", "-", "+", 10)
    assert [[e[0], e[1], e[3]] for e in ext] == [["1-0", "c1", 2], ["2-0", "c1", 2], ["3-0", "c2", 1]]
    assert all(isinstance(e[2], int) and 0 <= e[2] < 60_000 for e in ext)
    assert [e[0] for e in redis.xpending(k("s"), "g", "-", "+", 10, consumer="c2")] == ["3-0"]
    assert [e[0] for e in redis.xpending(k("s"), "g", "-", "+", 1)] == ["1-0"]
    assert redis.xpending(k("s"), "g", "-", "+", 10, idle=3_600_000) == []
    with pytest.raises(ValueError):
        redis.xpending(k("s"), "g", "-", "+")
    with pytest.raises(UpstashError, match="^NOGROUP No such key '.*' or consumer group 'nog'"):
        redis.xpending(k("s"), "nog")

    assert redis.xack(k("s"), "g", "1-0", "3-0", "99-0") == 2
    assert redis.xack(k("s"), "g", "1-0") == 0
    assert redis.xpending(k("s"), "g") == [1, "2-0", "2-0", [["c1", "1"]]]

    # NOACK: delivered, not pending.
    assert redis.xreadgroup("g", "c3", {k("s"): ">"}, noack=True) == [[k("s"), [["4-0", ["n", "v4"]]]]]
    assert redis.xpending(k("s"), "g") == [1, "2-0", "2-0", [["c1", "1"]]]
    assert redis.xreadgroup("g", "c1", {k("s"): ">"}) == []
    redis.xack(k("s"), "g", "2-0")
    assert redis.xpending(k("s"), "g") == [0, None, None, None]


def test_xclaim_xautoclaim(redis, k):
    _fill(redis, k("s"), 4)
    redis.xgroup_create(k("s"), "g", "0")
    redis.xreadgroup("g", "c1", {k("s"): ">"})

    def owners():
        return {e[0]: e[1] for e in redis.xpending(k("s"), "g", "-", "+", 10)}

    assert redis.xclaim(k("s"), "g", "c2", 0, "1-0") == [["1-0", ["n", "1"]]]
    assert redis.xclaim(k("s"), "g", "c2", 0, "2-0", "99-0", justid=True) == ["2-0"]
    assert redis.xclaim(k("s"), "g", "c3", 3_600_000, "3-0") == []
    assert owners() == {"1-0": "c2", "2-0": "c2", "3-0": "c1", "4-0": "c1"}
    # The delivery counter grows with a plain XCLAIM, not with JUSTID.
    assert [e[3] for e in redis.xpending(k("s"), "g", "-", "+", 10)] == [2, 1, 1, 1]

    assert redis.xautoclaim(k("s"), "g", "c3", 0, "0-0", count=2) == [
        "3-0",
        [["1-0", ["n", "1"]], ["2-0", ["n", "2"]]],
        [],
    ]
    assert redis.xautoclaim(k("s"), "g", "c3", 0, "3-0", count=10, justid=True) == ["0-0", ["3-0", "4-0"], []]
    assert redis.xautoclaim(k("s"), "g", "c4", 3_600_000, "0-0") == ["0-0", [], []]
    assert owners() == {"1-0": "c3", "2-0": "c3", "3-0": "c3", "4-0": "c3"}

    redis.xdel(k("s"), "2-0")
    assert redis.xautoclaim(k("s"), "g", "c4", 0, "0-0", count=10) == [
        "0-0",
        [["1-0", ["n", "1"]], ["3-0", ["n", "3"]], ["4-0", ["n", "4"]]],
        ["2-0"],
    ]
    redis.xdel(k("s"), "3-0")
    assert redis.xclaim(k("s"), "g", "c5", 0, "3-0", "4-0", justid=True) == ["4-0"]
    assert owners() == {"1-0": "c4", "4-0": "c5"}


def test_xinfo(redis, k):
    redis.xadd(k("s"), "1-0", {"a": 1})
    redis.xadd(k("s"), "2-0", {"b": "x"})
    redis.xadd(k("s"), "3-0", {"c": 3})
    redis.xgroup_create(k("s"), "g1", "0")
    redis.xgroup_create(k("s"), "g2", "$")
    redis.xreadgroup("g1", "c1", {k("s"): ">"}, count=2)
    redis.xgroup_createconsumer(k("s"), "g1", "c2")

    # A group created at "$" has entries-read nil in Redis 7.0.
    assert redis.xinfo_groups(k("s")) == [
        ["name", "g1", "consumers", 2, "pending", 2, "last-delivered-id", "2-0", "entries-read", 2, "lag", 1],
        ["name", "g2", "consumers", 0, "pending", 0, "last-delivered-id", "3-0", "entries-read", None, "lag", 0],
    ]
    consumers = [dict(zip(c[::2], c[1::2])) for c in redis.xinfo_consumers(k("s"), "g1")]
    assert [(c["name"], c["pending"]) for c in consumers] == [("c1", 2), ("c2", 0)]
    assert all(isinstance(c["idle"], int) and 0 <= c["idle"] < 60_000 for c in consumers)
    with pytest.raises(UpstashError, match="^NOGROUP No such consumer group 'nog' for key name"):
        redis.xinfo_consumers(k("s"), "nog")
    with pytest.raises(UpstashError, match="^ERR no such key"):
        redis.xinfo_groups(k("missing"))

    redis.xdel(k("s"), "3-0")
    assert redis.execute(["XINFO", "STREAM", k("s")]) == [
        "length", 2,
        "radix-tree-keys", 1,
        "radix-tree-nodes", 2,
        "last-generated-id", "3-0",
        "max-deleted-entry-id", "3-0",
        "entries-added", 3,
        "recorded-first-entry-id", "1-0",
        "groups", 2,
        "first-entry", ["1-0", ["a", "1"]],
        "last-entry", ["2-0", ["b", "x"]],
    ]  # fmt: skip


def test_stream_errors(redis, k):
    redis.set(k("str"), "x")
    for call in (
        lambda: redis.xadd(k("str"), "*", {"a": 1}),
        lambda: redis.xlen(k("str")),
        lambda: redis.xrange(k("str")),
        lambda: redis.xread({k("str"): "0"}),
        lambda: redis.xgroup_create(k("str"), "g", "$", mkstream=True),
    ):
        with pytest.raises(UpstashError, match="^WRONGTYPE Operation against a key holding the wrong kind of value"):
            call()
    with pytest.raises(UpstashError, match="wrong number of arguments for 'xadd' command"):
        redis.xadd(k("s"), "*", {})
    with pytest.raises(UpstashError, match=r"Unbalanced XREAD list of streams"):
        redis.execute(["XREAD", "STREAMS", k("a"), k("b"), "0"])


def test_streams_in_pipeline_and_transaction(redis, k):
    p = redis.pipeline()
    p.xadd(k("s"), "1-0", {"a": 1})
    p.xadd(k("s"), "2-0", {"b": "two"})
    p.xlen(k("s"))
    p.xrange(k("s"))
    p.xread({k("s"): "1-0"})
    assert p.exec() == ["1-0", "2-0", 2, [["1-0", ["a", "1"]], ["2-0", ["b", "two"]]], [[k("s"), [["2-0", ["b", "two"]]]]]]
    m = redis.multi()
    m.xgroup_create(k("s"), "g", "0")
    m.xreadgroup("g", "c", {k("s"): ">"}, count=1)
    m.xack(k("s"), "g", "1-0")
    m.xpending(k("s"), "g")
    assert m.exec() == ["OK", [[k("s"), [["1-0", ["a", "1"]]]]], 1, [0, None, None, None]]


def test_streams_read_only(ro, redis_b64, k):
    redis_b64.xadd(k("s"), "1-0", {"a": 1})
    redis_b64.xgroup_create(k("s"), "g", "0")
    assert ro.xlen(k("s")) == 1
    assert ro.xrange(k("s")) == [["1-0", ["a", "1"]]]
    assert ro.xread({k("s"): "0"}) == [[k("s"), [["1-0", ["a", "1"]]]]]
    assert len(ro.xinfo_groups(k("s"))) == 1
    for call in (
        lambda: ro.xadd(k("s"), "*", {"a": 2}),
        lambda: ro.xgroup_create(k("s"), "g2", "0"),
        lambda: ro.xreadgroup("g", "c", {k("s"): ">"}),
        lambda: ro.xack(k("s"), "g", "1-0"),
        lambda: ro.xtrim(k("s"), maxlen=0, approximate=False),
    ):
        with pytest.raises(UpstashError, match=r"^NOPERM"):
            call()
    assert redis_b64.xlen(k("s")) == 1
