"""Helpers for the qstash (PyPI) compatibility tests: the client, the official Receiver and a local
HTTP receiver on 127.0.0.1 that records every delivery.

The server under test is whatever QSTASH_URL / QSTASH_TOKEN point at (tests/compat/run.sh starts a
dedicated larder with a known QStash token and signing keys and exports them).
"""

import os
import re
import secrets
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable, Dict, List, Optional

import httpx
from qstash import QStash, Receiver

QSTASH_URL = os.environ.get("QSTASH_URL", "")
QSTASH_TOKEN = os.environ.get("QSTASH_TOKEN", "")


def new_client() -> QStash:
    return QStash(QSTASH_TOKEN, base_url=QSTASH_URL)


def signing_keys() -> Dict[str, str]:
    """The keys in force, read from the server (the suite may rotate them)."""
    r = httpx.get(f"{QSTASH_URL}/v2/keys", headers={"Authorization": f"Bearer {QSTASH_TOKEN}"})
    r.raise_for_status()
    return r.json()


def new_receiver() -> Receiver:
    k = signing_keys()
    return Receiver(current_signing_key=k["current"], next_signing_key=k["next"])


def unique(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(4)}"


class Delivery:
    def __init__(self, method: str, path: str, headers: Dict[str, str], body: bytes) -> None:
        self.method = method
        self.path = path
        self.headers = headers
        self.body = body
        self.at = time.monotonic()


class LocalReceiver:
    """`/status/<code>` answers that code, `/slow/<ms>` waits first, anything else 200."""

    def __init__(self) -> None:
        self.got: List[Delivery] = []
        lock = threading.Lock()
        got = self.got

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _handle(self) -> None:
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n) if n else b""
                d = Delivery(self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                with lock:
                    got.append(d)
                slow = re.match(r"^/slow/(\d+)", self.path)
                if slow:
                    time.sleep(int(slow.group(1)) / 1000)
                m = re.match(r"^/status/(\d+)", self.path)
                code = int(m.group(1)) if m else 200
                text = f"answer {code}".encode()
                self.send_response(code)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(text)))
                self.end_headers()
                self.wfile.write(text)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle

            def log_message(self, *args) -> None:  # quiet
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def url(self, path: str) -> str:
        return self.base + path

    def requests(self, prefix: str) -> List[Delivery]:
        return [d for d in list(self.got) if d.path.startswith(prefix)]

    def wait_for(self, prefix: str, n: int = 1, timeout: float = 15.0) -> List[Delivery]:
        deadline = time.monotonic() + timeout
        while True:
            r = self.requests(prefix)
            if len(r) >= n:
                return r
            if time.monotonic() > deadline:
                raise AssertionError(f"only {len(r)} of {n} requests to {prefix} arrived")
            time.sleep(0.025)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def until(fn: Callable[[], Optional[object]], what: str, timeout: float = 15.0):
    deadline = time.monotonic() + timeout
    while True:
        v = fn()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def states(client: QStash, message_id: str) -> List[str]:
    logs = client.log.list(filter={"message_id": message_id}).logs
    return [log.state.value for log in reversed(logs)]
