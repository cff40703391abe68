"""Fixtures for the upstash-redis compatibility tests.

The server under test is whatever UPSTASH_REDIS_REST_URL / UPSTASH_REDIS_REST_TOKEN point at
(tests/compat/run.sh starts a fresh larder and exports them). LARDER_READ_ONLY_TOKEN is the
server's read-only token; tests that need it are skipped when it is not set.
"""

import os
import secrets
from typing import Callable, Iterator

import pytest
from upstash_redis import Redis

URL = os.environ.get("UPSTASH_REDIS_REST_URL", "")
TOKEN = os.environ.get("UPSTASH_REDIS_REST_TOKEN", "")
RO_TOKEN = os.environ.get("LARDER_READ_ONLY_TOKEN", "")

if not URL or not TOKEN:
    raise pytest.UsageError(
        "UPSTASH_REDIS_REST_URL and UPSTASH_REDIS_REST_TOKEN must point at a running larder "
        "(use tests/compat/run.sh)"
    )

RUN_ID = secrets.token_hex(4)
_counter = 0


def make_redis(token: str = TOKEN, **kwargs) -> Redis:
    """A client configured the way an application would, except that retries are off.

    (With the default rest_retries=1 a non-JSON answer would cost a 3 s retry before failing.)
    """
    kwargs.setdefault("rest_retries", 0)
    return Redis(URL, token, **kwargs)


_admin = make_redis(rest_encoding=None)


def _cleanup(prefix: str) -> None:
    try:
        keys = _admin.keys(prefix + "*")
        if keys:
            _admin.delete(*keys)
    except Exception:  # best effort: never mask the test's own result
        pass


@pytest.fixture
def k(request) -> Iterator[Callable[[str], str]]:
    """A unique key namer for one test; every key under its prefix is deleted afterwards."""
    global _counter
    _counter += 1
    name = request.node.name.replace("[", "-").replace("]", "")
    prefix = f"compat:py:{RUN_ID}:{name}:{_counter}:"
    yield lambda suffix: prefix + suffix
    _cleanup(prefix)


@pytest.fixture(params=["base64", None], ids=["base64", "plain"])
def redis(request) -> Iterator[Redis]:
    """The client under test, once with base64 responses (the default) and once without."""
    client = make_redis(rest_encoding=request.param)
    yield client
    client.close()


@pytest.fixture
def redis_b64() -> Iterator[Redis]:
    """The client with all defaults (base64 responses)."""
    client = make_redis()
    yield client
    client.close()


@pytest.fixture
def ro() -> Iterator[Redis]:
    if not RO_TOKEN:
        pytest.skip("LARDER_READ_ONLY_TOKEN not set")
    client = make_redis(token=RO_TOKEN)
    yield client
    client.close()


# -- rate limiting (test_ratelimit*.py) -------------------------------------------------------

HOUR_MS = 3_600_000


@pytest.fixture
def rl_prefix(request) -> Iterator[str]:
    """A unique ratelimit prefix for one test; every key under it is deleted afterwards."""
    global _counter
    _counter += 1
    name = request.node.name.replace("[", "-").replace("]", "")
    prefix = f"compat:rl:py:{RUN_ID}:{name}:{_counter}"
    yield prefix
    _cleanup(prefix)


def fresh_window(window_ms: int, need_ms: int) -> None:
    """Sleep into the next window if fewer than need_ms remain in the current one."""
    import time

    left = window_ms - int(time.time() * 1000) % window_ms
    if left < need_ms:
        time.sleep((left + 5) / 1000)
