"""The JavaScript (@upstash/ratelimit 2.2.0) and Python (upstash-ratelimit 1.2.0) limiters share
counts on the same keys, through larder.

Each test runs the JS limiter as a separate process (`node ../js/ratelimit-driver.mjs`, with the
same UPSTASH_REDIS_REST_URL/TOKEN) and the Python limiter in-process, on the same prefix,
identifier and limit (50), one after the other:

* fixedWindow / FixedWindow and slidingWindow / SlidingWindow use the same keys (`P:id:W`) and the
  same counter semantics → 30 calls from one side then 30 from the other: the second side sees
  exactly 20 successes, in both directions.
* cachedFixedWindow (JS only) increments the same `P:id:W` counter as FixedWindow → shared too.
* tokenBucket / TokenBucket are NOT key-compatible (spec §6): both use the hash `P:id` and its
  `tokens` field, but JS keeps its refill clock in `refilledAt` and Python in `refilled_at`. A
  bucket written by one side looks new (full) to the other. The test documents this (it expects
  the incompatibility, as it happens on Redis) rather than pretending the counts are shared.

The JS side needs tests/compat/js/node_modules (run.sh installs it for the Python suite too).
"""

import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest
from upstash_ratelimit import FixedWindow, Ratelimit, SlidingWindow, TokenBucket

from conftest import HOUR_MS, _admin, fresh_window, make_redis

JS_DIR = Path(__file__).resolve().parent.parent / "js"
DRIVER = JS_DIR / "ratelimit-driver.mjs"
LIMIT = 50


def run_js(**spec) -> dict:
    """Run the JS limiter in a node process; returns {results: [...], remaining?: {...}}."""
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is not installed (needed to drive @upstash/ratelimit)")
    if not (JS_DIR / "node_modules" / "@upstash" / "ratelimit").is_dir():
        pytest.fail(f"run 'npm ci' in {JS_DIR} first (tests/compat/run.sh does it)")
    proc = subprocess.run(
        [node, str(DRIVER), json.dumps(spec)],
        cwd=JS_DIR,
        env=os.environ.copy(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    if proc.returncode != 0:
        pytest.fail(f"node driver failed ({proc.returncode}): {proc.stderr[-2000:]}")
    lines = [l for l in proc.stdout.splitlines() if l.startswith("{")]
    assert lines, f"no JSON from the node driver; stdout={proc.stdout!r} stderr={proc.stderr[-2000:]!r}"
    return json.loads(lines[-1])


def successes(results) -> int:
    return sum(1 for r in results if r["success"])


PY_LIMITERS = {
    "fixedWindow": lambda: FixedWindow(max_requests=LIMIT, window=1, unit="h"),
    "slidingWindow": lambda: SlidingWindow(max_requests=LIMIT, window=1, unit="h"),
}


@pytest.mark.parametrize("algo", ["fixedWindow", "slidingWindow"])
def test_js_then_python(rl_prefix, algo):
    P = rl_prefix
    fresh_window(HOUR_MS, 20_000)
    W = int(time.time() * 1000) // HOUR_MS
    js = run_js(algo=algo, prefix=P, id="user-1", limit=LIMIT, window="1 h", calls=30)
    assert successes(js["results"]) == 30
    assert [r["remaining"] for r in js["results"]] == list(range(49, 19, -1))
    assert _admin.get(f"{P}:user-1:{W}") == "30"

    rl = Ratelimit(make_redis(), PY_LIMITERS[algo](), prefix=P)
    assert rl.get_remaining("user-1") == 20
    rs = [rl.limit("user-1") for _ in range(30)]
    assert sum(r.allowed for r in rs) == 20
    assert [r.remaining for r in rs] == list(range(19, -1, -1)) + [0] * 10
    # fixed window counts refused requests, sliding window does not
    assert _admin.get(f"{P}:user-1:{W}") == ("60" if algo == "fixedWindow" else "50")


@pytest.mark.parametrize("algo", ["fixedWindow", "slidingWindow"])
def test_python_then_js(rl_prefix, algo):
    P = rl_prefix
    fresh_window(HOUR_MS, 20_000)
    W = int(time.time() * 1000) // HOUR_MS
    rl = Ratelimit(make_redis(), PY_LIMITERS[algo](), prefix=P)
    rs = [rl.limit("user-2") for _ in range(30)]
    assert sum(r.allowed for r in rs) == 30
    assert _admin.get(f"{P}:user-2:{W}") == "30"

    js = run_js(algo=algo, prefix=P, id="user-2", limit=LIMIT, window="1 h", calls=30, getRemaining=True)
    assert successes(js["results"]) == 20
    assert [r["remaining"] for r in js["results"][:20]] == list(range(19, -1, -1))
    # after the first refusal the JS ephemeral cache answers without asking the server
    assert js["results"][20].get("reason") is None
    assert all(r.get("reason") == "cacheBlock" for r in js["results"][21:])
    assert js["remaining"]["remaining"] == 0
    assert rl.get_remaining("user-2") == 0
    assert _admin.get(f"{P}:user-2:{W}") == ("51" if algo == "fixedWindow" else "50")


def test_python_then_js_concurrent(rl_prefix):
    """The JS side fires its 30 calls at once (Promise.all): still exactly 20."""
    P = rl_prefix
    fresh_window(HOUR_MS, 20_000)
    rl = Ratelimit(make_redis(), FixedWindow(max_requests=LIMIT, window=1, unit="h"), prefix=P)
    assert sum(rl.limit("user-3").allowed for _ in range(30)) == 30
    js = run_js(algo="fixedWindow", prefix=P, id="user-3", limit=LIMIT, window="1 h", calls=30, concurrent=True)
    assert successes(js["results"]) == 20


def test_cached_fixed_window_shares_the_fixed_window_counter(rl_prefix):
    P = rl_prefix
    fresh_window(HOUR_MS, 20_000)
    W = int(time.time() * 1000) // HOUR_MS
    rl = Ratelimit(make_redis(), FixedWindow(max_requests=LIMIT, window=1, unit="h"), prefix=P)
    assert sum(rl.limit("a").allowed for _ in range(30)) == 30
    js = run_js(algo="cachedFixedWindow", prefix=P, id="a", limit=LIMIT, window="1 h", calls=30)
    assert successes(js["results"]) == 20
    # the first JS call read 31 from the server; the other 19 successes were counted locally
    # and written in the background; refusals on a cache hit are not sent
    assert _admin.get(f"{P}:a:{W}") == "50"

    js = run_js(algo="cachedFixedWindow", prefix=P, id="b", limit=LIMIT, window="1 h", calls=30)
    assert successes(js["results"]) == 30
    assert _admin.get(f"{P}:b:{W}") == "30"
    rs = [rl.limit("b") for _ in range(30)]
    assert sum(r.allowed for r in rs) == 20


def test_token_bucket_is_not_shared_documented(rl_prefix):
    """Documents spec §6: the token buckets of the two libraries are not key-compatible."""
    P = rl_prefix
    js = run_js(algo="tokenBucket", prefix=P, id="tb", limit=LIMIT, window="1 h", calls=30)
    assert successes(js["results"]) == 30
    h = _admin.hgetall(f"{P}:tb")
    assert set(h) == {"refilledAt", "tokens"}
    assert h["tokens"] == "20"

    rl = Ratelimit(make_redis(), TokenBucket(max_tokens=LIMIT, refill_rate=1, interval=1, unit="h"), prefix=P)
    # Python finds no `refilled_at` and starts a full bucket, overwriting `tokens`
    rs = [rl.limit("tb") for _ in range(30)]
    assert sum(r.allowed for r in rs) == 30
    h = _admin.hgetall(f"{P}:tb")
    assert set(h) == {"refilledAt", "refilled_at", "tokens"}
    assert h["tokens"] == "20"
