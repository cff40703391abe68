"""Lua scripting through upstash-redis: eval, evalsha, eval_ro, evalsha_ro, script_load,
script_exists, script_flush (the Python client has no createScript helper).

Expected values are Redis 7 semantics (numbers truncated to integers, true -> 1, false -> None,
a table stops at its first nil); the client does not convert script results. Error texts were
checked against redis-server 7.0.
"""

import hashlib
import secrets

import pytest
from upstash_redis.errors import UpstashError

NOSCRIPT = r"NOSCRIPT No matching script\. Please use EVAL\."
RO_WRITE = "commands are not allowed from read-only"


def sha1(s: str) -> str:
    return hashlib.sha1(s.encode()).hexdigest()


def unique(body: str) -> str:
    """A script text no other test uses, so its cache state is known."""
    return f"{body} -- {secrets.token_hex(8)}"


def test_eval_keys_and_args(redis, k):
    assert redis.eval("return ARGV[1]", args=["hello"]) == "hello"
    assert redis.eval(
        "return {KEYS[1], KEYS[2], ARGV[1], ARGV[2]}", keys=[k("a"), k("b")], args=["x", "y"]
    ) == [k("a"), k("b"), "x", "y"]
    assert redis.eval("return #KEYS + #ARGV", keys=[k("a"), k("b")], args=["c"]) == 3
    assert redis.eval("return 42") == 42
    # non-string arguments are sent as JSON scalars and arrive as their text
    assert redis.eval("return {ARGV[1], ARGV[2], ARGV[3]}", args=[7, 2.5, True]) == ["7", "2.5", "true"]


def test_eval_runs_commands(redis, k):
    script = """
        redis.call('SET', KEYS[1], ARGV[1])
        redis.call('INCRBY', KEYS[2], ARGV[2])
        return {redis.call('GET', KEYS[1]), redis.call('GET', KEYS[2])}"""
    assert redis.eval(script, keys=[k("s"), k("n")], args=["value", "5"]) == ["value", "5"]
    assert redis.get(k("s")) == "value"
    assert redis.get(k("n")) == "5"


def test_lua_value_conversion(redis):
    assert redis.eval("return 3.99") == 3
    assert redis.eval("return -2.5") == -2
    assert redis.eval("return true") == 1
    assert redis.eval("return false") is None
    assert redis.eval("return nil") is None
    assert redis.eval("return {1, 2.7, 'x', true, false, {3, 'y'}, nil, 5}") == [
        1,
        2,
        "x",
        1,
        None,
        [3, "y"],
    ]
    assert redis.eval("return {}") == []
    assert redis.eval("return {ok='fine'}") == "fine"
    assert redis.eval("return 'héllo 🚀'") == "héllo 🚀"


def test_eval_error_tables(redis):
    with pytest.raises(UpstashError, match="MYERR something broke"):
        redis.eval("return {err='MYERR something broke'}")
    with pytest.raises(UpstashError, match="OTHER custom"):
        redis.eval("return redis.error_reply('OTHER custom')")


def test_eval_cjson(redis):
    assert redis.eval("return cjson.encode({a = {1, 2}})") == '{"a":[1,2]}'
    assert redis.eval("return cjson.decode(ARGV[1]).name", args=['{"name": "x"}']) == "x"


def test_lua_libraries(redis):
    """Redis loads bit, struct and cmsgpack (and cjson, above) into its Lua sandbox."""
    assert redis.eval("return bit.band(6, 3)") == 2
    assert redis.eval("return {struct.unpack('>I2', struct.pack('>I2', 513))}") == [513, 3]
    assert redis.eval("return cmsgpack.unpack(cmsgpack.pack({1, 2, 'x'}))") == [1, 2, "x"]
    assert redis.eval("return redis.sha1hex('abc')") == sha1("abc")


def test_resp3_tables_come_back_as_resp2(redis, k):
    """After redis.setresp(3) a script sees maps and sets; returned to a RESP2 (REST) client
    Redis flattens {map=...} into [k, v, ...] and {set=...} into [member, ...]."""
    redis.hset(k("h"), "a", "x")
    assert redis.eval("redis.setresp(3); return redis.call('HGETALL', KEYS[1])", keys=[k("h")]) == ["a", "x"]
    assert redis.eval("return {map={k='v'}}") == ["k", "v"]
    assert redis.eval("return {1, {set={only=true}}}") == [1, ["only"]]
    assert redis.eval("return {double=2.5}") == "2.5"


def test_eval_errors(redis, k):
    redis.set(k("s"), "abc")
    with pytest.raises(UpstashError, match="ERR value is not an integer or out of range"):
        redis.eval("return redis.call('INCR', KEYS[1])", keys=[k("s")])
    with pytest.raises(UpstashError, match="Script attempted to access nonexistent global variable 'nope_var'"):
        redis.eval("return nope_var")
    with pytest.raises(UpstashError, match="Unknown Redis command called from script"):
        redis.eval("return redis.call('NOSUCHCMD')")
    with pytest.raises(UpstashError, match="ERR Error compiling script"):
        redis.eval("this is not lua")
    assert redis.get(k("s")) == "abc"


def test_script_load_evalsha_exists(redis, k):
    src = unique("return redis.call('SET', KEYS[1], ARGV[1])")
    sha = redis.script_load(src)
    assert sha == sha1(src)
    assert redis.script_exists(sha, sha1(unique("never loaded"))) == [True, False]
    assert redis.evalsha(sha, keys=[k("a")], args=["v"]) == "OK"
    assert redis.get(k("a")) == "v"


def test_eval_caches_the_script(redis):
    src = unique("return 'cached'")
    assert redis.script_exists(sha1(src)) == [False]
    assert redis.eval(src) == "cached"
    assert redis.script_exists(sha1(src)) == [True]
    assert redis.evalsha(sha1(src)) == "cached"


def test_evalsha_unknown(redis):
    with pytest.raises(UpstashError, match=NOSCRIPT):
        redis.evalsha(sha1(unique("nope")))


def test_eval_ro_evalsha_ro(redis, k):
    redis.set(k("a"), "value")
    assert redis.eval_ro("return redis.call('GET', KEYS[1])", keys=[k("a")]) == "value"
    sha = redis.script_load(unique("return redis.call('STRLEN', KEYS[1])"))
    assert redis.evalsha_ro(sha, keys=[k("a")]) == 5
    with pytest.raises(UpstashError, match=NOSCRIPT):
        redis.evalsha_ro(sha1(unique("nope")))


def test_eval_ro_refuses_writes(redis, k):
    with pytest.raises(UpstashError, match=RO_WRITE):
        redis.eval_ro("return redis.call('SET', KEYS[1], 'x')", keys=[k("a")])
    redis.set(k("b"), "kept")
    sha = redis.script_load(unique("return redis.call('DEL', KEYS[1])"))
    with pytest.raises(UpstashError, match=RO_WRITE):
        redis.evalsha_ro(sha, keys=[k("b")])
    assert redis.exists(k("a")) == 0
    assert redis.get(k("b")) == "kept"


def test_script_subcommand_arity(redis):
    """Redis 7 reports arity per subcommand ('script|load'); the client's own methods cannot
    send these, so they go through execute()."""
    with pytest.raises(UpstashError, match=r"ERR wrong number of arguments for 'script\|load' command"):
        redis.execute(["SCRIPT", "LOAD"])
    with pytest.raises(UpstashError, match=r"ERR wrong number of arguments for 'script\|exists' command"):
        redis.execute(["SCRIPT", "EXISTS"])


def test_script_flush(redis):
    for flush_type in (None, "SYNC", "ASYNC"):
        sha = redis.script_load(unique("return 1"))
        assert redis.script_exists(sha) == [True]
        assert redis.script_flush(flush_type) is True
        assert redis.script_exists(sha) == [False], flush_type
        with pytest.raises(UpstashError, match=NOSCRIPT):
            redis.evalsha(sha)


def test_scripts_in_pipeline_and_multi(redis, k):
    src = unique("return redis.call('INCRBY', KEYS[1], ARGV[1])")
    p = redis.pipeline()
    p.script_load(src)
    p.script_exists(sha1(src))
    p.evalsha(sha1(src), keys=[k("n")], args=["5"])
    p.eval_ro("return redis.call('GET', KEYS[1])", keys=[k("n")])
    assert p.exec() == [sha1(src), [True], 5, "5"]
    tx = redis.multi()
    tx.eval("return redis.call('INCRBY', KEYS[1], ARGV[1])", keys=[k("n")], args=["10"])
    tx.eval("return {ARGV[1], tonumber(ARGV[2]) * 2}", args=["x", "21"])
    tx.get(k("n"))
    assert tx.exec() == [15, ["x", 42], "15"]


def test_read_only_token_refuses_scripts(ro, redis_b64, k):
    """Upstash refuses EVAL/EVALSHA for read-only tokens (NOPERM texts reported by users,
    redis-rest.md §2); flushing the script cache is not a read either (our reading)."""
    redis_b64.set(k("a"), "v")
    sha = redis_b64.script_load(unique("return redis.call('SET', KEYS[1], 'changed')"))
    with pytest.raises(UpstashError, match=r"^NOPERM"):
        ro.eval("return redis.call('SET', KEYS[1], 'changed')", keys=[k("a")])
    with pytest.raises(UpstashError, match=r"^NOPERM"):
        ro.evalsha(sha, keys=[k("a")])
    with pytest.raises(UpstashError, match=r"^NOPERM"):
        ro.script_flush()
    assert redis_b64.get(k("a")) == "v"
    assert redis_b64.script_exists(sha) == [True]
