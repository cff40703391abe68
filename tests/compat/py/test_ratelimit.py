"""upstash-ratelimit (PyPI) against larder: FixedWindow, SlidingWindow and TokenBucket with the
sync and the asyncio API — limit() responses, rate, get_remaining, get_reset,
block_until_ready, the keys and TTLs the scripts leave — and 200 concurrent limit() calls with a
limit of 50 allowing exactly 50 (threads and asyncio).

Windows are 1 h where a test must not straddle a boundary; arithmetic inside a window is checked
exactly by fixing the library's clock (it reads time only through `upstash_ratelimit.limiter.
now_ms`); real-time tests use 1 s windows with deadlines and tolerances.
"""

import asyncio
import hashlib
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import upstash_ratelimit
import upstash_ratelimit.limiter as limiter_mod
from upstash_ratelimit import FixedWindow, Ratelimit, SlidingWindow, TokenBucket
from upstash_ratelimit.asyncio import Ratelimit as AsyncRatelimit
from upstash_ratelimit.limiter import Response
from upstash_redis import AsyncRedis

from conftest import HOUR_MS, TOKEN, URL, _admin, fresh_window, make_redis

N = 200
LIMIT = 50


def now_ms() -> int:
    return int(time.time() * 1000)


@pytest.fixture
def fixed_clock(monkeypatch):
    """set(ms) makes the limiter see that time."""

    def set_(ms: int) -> None:
        monkeypatch.setattr(limiter_mod, "now_ms", lambda: ms)

    return set_


def test_installed_version():
    assert upstash_ratelimit.__version__ == "1.2.0"


def test_scripts_load_with_their_sha1():
    """The 1.2.0 scripts carry the allow-key-locking shebang; the server hashes the full text."""
    for cls in (FixedWindow, SlidingWindow, TokenBucket):
        assert cls.SCRIPT.startswith("#!lua flags=allow-key-locking\n")
        sha = hashlib.sha1(cls.SCRIPT.encode()).hexdigest()
        assert _admin.script_load(cls.SCRIPT) == sha
        assert _admin.script_exists(sha) == [1]


# -- FixedWindow ------------------------------------------------------------------------------


def test_fixed_window(rl_prefix):
    P = rl_prefix
    fresh_window(HOUR_MS, 20_000)
    rl = Ratelimit(make_redis(), FixedWindow(max_requests=5, window=1, unit="h"), prefix=P)
    W = now_ms() // HOUR_MS
    reset = (W + 1) * HOUR_MS / 1000
    assert rl.get_remaining("u") == 5
    for i in range(1, 6):
        assert rl.limit("u") == Response(allowed=True, limit=5, remaining=5 - i, reset=reset)
    assert rl.limit("u") == Response(allowed=False, limit=5, remaining=0, reset=reset)
    assert _admin.get(f"{P}:u:{W}") == "6"  # refused requests are counted
    pttl = _admin.pttl(f"{P}:u:{W}")
    assert HOUR_MS - 60_000 < pttl <= HOUR_MS
    assert rl.get_remaining("u") == 0
    assert rl.get_reset("u") == reset


def test_fixed_window_rate(rl_prefix):
    P = rl_prefix
    fresh_window(HOUR_MS, 20_000)
    rl = Ratelimit(make_redis(), FixedWindow(max_requests=5, window=1, unit="h"), prefix=P)
    W = now_ms() // HOUR_MS
    assert rl.limit("u", rate=3).remaining == 2
    r = rl.limit("u", rate=3)
    assert (r.allowed, r.remaining) == (False, 0)
    assert rl.limit("u", rate=-2).allowed is True
    assert _admin.get(f"{P}:u:{W}") == "4"
    assert rl.get_remaining("u") == 1


def test_fixed_window_rolls_over_and_block_until_ready(rl_prefix):
    P = rl_prefix
    fresh_window(1000, 600)
    rl = Ratelimit(make_redis(), FixedWindow(max_requests=1, window=1, unit="s"), prefix=P)
    W = now_ms() // 1000
    assert rl.limit("u").allowed is True
    refused = rl.limit("u")
    assert refused.allowed is False
    assert refused.reset == (W + 1)
    t0 = time.time()
    short = rl.block_until_ready("u", 0.15)
    assert short.allowed is False
    assert 0.14 <= time.time() - t0 < 0.9
    res = rl.block_until_ready("u", 3)
    assert res.allowed is True
    assert time.time() >= refused.reset - 0.002
    assert time.time() - refused.reset < 1.0
    # PEXPIRE 1000 from the first hit
    deadline = time.time() + 2.5
    while _admin.exists(f"{P}:u:{W}") and time.time() < deadline:
        time.sleep(0.025)
    assert _admin.exists(f"{P}:u:{W}") == 0
    with pytest.raises(ValueError):
        rl.block_until_ready("u", 0)


# -- SlidingWindow ----------------------------------------------------------------------------


def test_sliding_window(rl_prefix):
    P = rl_prefix
    fresh_window(HOUR_MS, 20_000)
    rl = Ratelimit(make_redis(), SlidingWindow(max_requests=5, window=1, unit="h"), prefix=P)
    W = now_ms() // HOUR_MS
    reset = (W + 1) * HOUR_MS / 1000
    for i in range(1, 6):
        assert rl.limit("u") == Response(allowed=True, limit=5, remaining=5 - i, reset=reset)
    assert rl.limit("u") == Response(allowed=False, limit=5, remaining=0, reset=reset)
    assert _admin.get(f"{P}:u:{W}") == "5"  # refused requests are not counted
    pttl = _admin.pttl(f"{P}:u:{W}")
    assert 2 * HOUR_MS + 1000 - 60_000 < pttl <= 2 * HOUR_MS + 1000
    assert rl.get_remaining("u") == 0
    assert rl.get_reset("u") == reset
    # Python's script checks the limit for refunds too (no rate > 0 guard): refused, not counted
    assert rl.limit("u", rate=-2).allowed is False
    assert _admin.get(f"{P}:u:{W}") == "5"


def test_sliding_window_weighting(rl_prefix, fixed_clock):
    P = rl_prefix
    WIN = 10_000
    rl = Ratelimit(make_redis(), SlidingWindow(max_requests=10, window=10, unit="s"), prefix=P)
    W0 = now_ms() // WIN + 3
    fixed_clock(W0 * WIN + 1000)
    assert [rl.limit("u").allowed for _ in range(11)] == [True] * 10 + [False]
    # 25 % into the next window: floor(0.75 * 10) = 7
    fixed_clock((W0 + 1) * WIN + 2500)
    assert rl.get_remaining("u") == 3
    assert [rl.limit("u").remaining for _ in range(3)] == [2, 1, 0]
    assert rl.limit("u").allowed is False
    assert _admin.get(f"{P}:u:{W0 + 1}") == "3"
    fixed_clock((W0 + 1) * WIN + 5000)
    assert rl.get_remaining("u") == 2
    assert rl.limit("u").remaining == 1
    fixed_clock((W0 + 2) * WIN)
    assert rl.get_remaining("u") == 6


# -- TokenBucket ------------------------------------------------------------------------------


def test_token_bucket(rl_prefix):
    P = rl_prefix
    rl = Ratelimit(make_redis(), TokenBucket(max_tokens=5, refill_rate=1, interval=1, unit="h"), prefix=P)
    before = now_ms()
    r1 = rl.limit("u")
    after = now_ms()
    assert (r1.allowed, r1.limit, r1.remaining) == (True, 5, 4)
    assert (before + HOUR_MS) / 1000 <= r1.reset <= (after + HOUR_MS) / 1000
    refilled_at = round(r1.reset * 1000) - HOUR_MS
    assert _admin.hgetall(f"{P}:u") == {"refilled_at": str(refilled_at), "tokens": "4"}
    pttl = _admin.pttl(f"{P}:u")
    assert HOUR_MS - 60_000 < pttl <= HOUR_MS
    assert [rl.limit("u").remaining for _ in range(4)] == [3, 2, 1, 0]
    refused = rl.limit("u")
    assert (refused.allowed, refused.remaining, refused.reset) == (False, 0, r1.reset)
    assert _admin.hget(f"{P}:u", "tokens") == "0"
    assert rl.get_remaining("u") == 0
    assert rl.get_reset("u") == r1.reset
    pttl = _admin.pttl(f"{P}:u")
    assert 5 * HOUR_MS - 60_000 < pttl <= 5 * HOUR_MS


def test_token_bucket_rate(rl_prefix):
    P = rl_prefix
    rl = Ratelimit(make_redis(), TokenBucket(max_tokens=3, refill_rate=1, interval=1, unit="h"), prefix=P)
    # more than the tokens left: refused, nothing written
    assert rl.limit("u", rate=5).allowed is False
    assert _admin.exists(f"{P}:u") == 0
    assert rl.limit("u", rate=2).remaining == 1
    assert rl.limit("u", rate=2).allowed is False
    assert _admin.hget(f"{P}:u", "tokens") == "1"
    # rate 0 on a new bucket: full after the write → PEXPIRE key 0 deletes it (Redis semantics)
    r = rl.limit("z", rate=0)
    assert (r.allowed, r.remaining) == (True, 3)
    assert _admin.exists(f"{P}:z") == 0
    # a refund that fills the bucket: PEXPIRE with a negative time deletes the key too
    assert rl.limit("u", rate=-5).remaining == 6
    assert _admin.exists(f"{P}:u") == 0


def test_token_bucket_refill(rl_prefix, fixed_clock):
    P = rl_prefix
    rl = Ratelimit(make_redis(), TokenBucket(max_tokens=5, refill_rate=2, interval=10, unit="s"), prefix=P)
    T = now_ms() // 1000 * 1000 + 123
    fixed_clock(T)
    assert [rl.limit("u").remaining for _ in range(5)] == [4, 3, 2, 1, 0]
    assert rl.limit("u") == Response(allowed=False, limit=5, remaining=0, reset=(T + 10_000) / 1000)
    fixed_clock(T + 9_999)
    assert rl.limit("u").allowed is False
    fixed_clock(T + 10_000)
    assert rl.limit("u") == Response(allowed=True, limit=5, remaining=1, reset=(T + 20_000) / 1000)
    assert _admin.hget(f"{P}:u", "refilled_at") == str(T + 10_000)
    fixed_clock(T + 35_000)
    # get_remaining / get_reset apply the refill on the client side
    assert rl.get_remaining("u") == 5
    assert rl.get_reset("u") == (T + 40_000) / 1000
    assert rl.limit("u") == Response(allowed=True, limit=5, remaining=4, reset=(T + 40_000) / 1000)


def test_token_bucket_block_until_ready(rl_prefix):
    P = rl_prefix
    rl = Ratelimit(make_redis(), TokenBucket(max_tokens=1, refill_rate=1, interval=1, unit="s"), prefix=P)
    assert rl.limit("u").allowed is True
    refused = rl.limit("u")
    assert refused.allowed is False
    res = rl.block_until_ready("u", 3)
    assert res.allowed is True
    assert time.time() >= refused.reset - 0.002
    assert time.time() - refused.reset < 1.0


# -- asyncio API ------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_async_api(rl_prefix):
    P = rl_prefix
    fresh_window(HOUR_MS, 20_000)
    async with AsyncRedis(URL, TOKEN, rest_retries=0) as redis:
        W = now_ms() // HOUR_MS
        for name, lim in [
            ("fw", FixedWindow(max_requests=2, window=1, unit="h")),
            ("sw", SlidingWindow(max_requests=2, window=1, unit="h")),
            ("tb", TokenBucket(max_tokens=2, refill_rate=1, interval=1, unit="h")),
        ]:
            rl = AsyncRatelimit(redis, lim, prefix=f"{P}:{name}")
            rs = [await rl.limit("u") for _ in range(3)]
            assert [(r.allowed, r.remaining) for r in rs] == [(True, 1), (True, 0), (False, 0)], name
            assert await rl.get_remaining("u") == 0
            if name != "tb":
                assert await rl.get_reset("u") == (W + 1) * HOUR_MS / 1000


# -- concurrency: 200 calls, limit 50 → exactly 50 -------------------------------------------

ALGOS = {
    "fixed_window": lambda: FixedWindow(max_requests=LIMIT, window=1, unit="h"),
    "sliding_window": lambda: SlidingWindow(max_requests=LIMIT, window=1, unit="h"),
    "token_bucket": lambda: TokenBucket(max_tokens=LIMIT, refill_rate=1, interval=1, unit="h"),
}


def _check_counters(P: str, algo: str, W: int) -> None:
    if algo == "fixed_window":
        assert _admin.get(f"{P}:u:{W}") == str(N)
    elif algo == "sliding_window":
        assert _admin.get(f"{P}:u:{W}") == str(LIMIT)
    else:
        assert _admin.hget(f"{P}:u", "tokens") == "0"


@pytest.mark.parametrize("algo", list(ALGOS))
def test_concurrent_threads(rl_prefix, algo):
    P = rl_prefix
    fresh_window(HOUR_MS, 20_000)
    W = now_ms() // HOUR_MS
    redis = make_redis()
    rl = Ratelimit(redis, ALGOS[algo](), prefix=P)
    with ThreadPoolExecutor(max_workers=50) as pool:
        rs = list(pool.map(lambda _: rl.limit("u"), range(N)))
    assert sum(r.allowed for r in rs) == LIMIT
    assert sorted(r.remaining for r in rs if r.allowed) == list(range(LIMIT))
    _check_counters(P, algo, W)


@pytest.mark.asyncio
@pytest.mark.parametrize("algo", list(ALGOS))
async def test_concurrent_asyncio(rl_prefix, algo):
    P = rl_prefix
    fresh_window(HOUR_MS, 20_000)
    W = now_ms() // HOUR_MS
    async with AsyncRedis(URL, TOKEN, rest_retries=0) as redis:
        rl = AsyncRatelimit(redis, ALGOS[algo](), prefix=P)
        rs = await asyncio.gather(*(rl.limit("u") for _ in range(N)))
    assert sum(r.allowed for r in rs) == LIMIT
    assert sorted(r.remaining for r in rs if r.allowed) == list(range(LIMIT))
    _check_counters(P, algo, W)


# -- transport variations ---------------------------------------------------------------------


@pytest.mark.parametrize("encoding", ["base64", None], ids=["base64", "plain"])
def test_every_algorithm_with_both_response_encodings(rl_prefix, encoding):
    P = rl_prefix
    fresh_window(HOUR_MS, 20_000)
    redis = make_redis(rest_encoding=encoding)
    for name, lim in [
        ("fw", FixedWindow(max_requests=2, window=1, unit="h")),
        ("sw", SlidingWindow(max_requests=2, window=1, unit="h")),
        ("tb", TokenBucket(max_tokens=2, refill_rate=1, interval=1, unit="h")),
    ]:
        rl = Ratelimit(redis, lim, prefix=f"{P}:{name}")
        assert [(r.allowed, r.remaining) for r in (rl.limit("u") for _ in range(3))] == [
            (True, 1),
            (True, 0),
            (False, 0),
        ], name
        assert rl.get_remaining("u") == 0, name


def test_limit_after_script_flush(rl_prefix):
    """Python always sends EVAL, so an empty script cache does not matter."""
    P = rl_prefix
    rl = Ratelimit(make_redis(), SlidingWindow(max_requests=3, window=1, unit="h"), prefix=P)
    assert rl.limit("u").remaining == 2
    assert _admin.script_flush() is True
    assert rl.limit("u").remaining == 1
