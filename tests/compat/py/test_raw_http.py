"""The REST protocol itself, spoken with plain httpx (no client library).

Reference: /work/shared/spec/redis-rest.md §3-§8. These pin what curl users and the clients rely
on: the result/error envelope, status codes, base64 encoding, path-style commands, `_token`,
the sync-token header and the unknown-command text.
"""

import base64
import json
import os
import secrets

import httpx
import pytest

from conftest import RO_TOKEN, TOKEN, URL

NOT_INT = "ERR value is not an integer or out of range"


def b64(s) -> str:
    if isinstance(s, str):
        s = s.encode()
    return base64.b64encode(s).decode()


def auth(token=TOKEN):
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="module")
def http():
    with httpx.Client(base_url=URL, timeout=60) as client:
        yield client


def post(http, path, body, token=TOKEN, headers=None, **kw):
    h = auth(token) if token is not None else {}
    h.update(headers or {})
    content = body if isinstance(body, (bytes, str)) else json.dumps(body)
    return http.post(path, content=content, headers={"Content-Type": "application/json", **h}, **kw)


def assert_error(r, status):
    assert r.status_code == status, (r.status_code, r.text)
    body = r.json()
    assert isinstance(body, dict) and isinstance(body.get("error"), str) and body["error"], body
    assert "result" not in body, body
    return body["error"]


# -- envelope ---------------------------------------------------------------------------------


def test_single_command_envelope(http, k):
    r = post(http, "/", ["SET", k("a"), "v"])
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/json")
    assert r.json() == {"result": "OK"}
    assert post(http, "/", ["GET", k("a")]).json() == {"result": "v"}
    assert post(http, "/", ["INCR", k("n")]).json() == {"result": 1}


def test_null_result_keeps_the_result_key(http, k):
    r = post(http, "/", ["GET", k("missing")])
    assert r.status_code == 200
    assert r.text.replace(" ", "") == '{"result":null}'


def test_nested_array_result(http, k):
    post(http, "/", ["SET", k("a"), "1"])
    assert post(http, "/", ["MGET", k("a"), k("missing")]).json() == {"result": ["1", None]}
    r = post(http, "/", ["SCAN", "0", "MATCH", k("*"), "COUNT", "10"]).json()
    cursor, keys = r["result"]
    assert isinstance(cursor, str) and int(cursor) >= 0
    assert isinstance(keys, list) and all(isinstance(x, str) for x in keys)


def test_command_error_is_400(http, k):
    post(http, "/", ["SET", k("a"), "abc"])
    assert assert_error(post(http, "/", ["INCR", k("a")]), 400) == NOT_INT


def test_unknown_command_text(http):
    err = assert_error(post(http, "/", ["foo", "a", "b"]), 400)
    assert err == "ERR unknown command 'foo', with args beginning with: 'a' 'b' "
    err = assert_error(post(http, "/", ["foo"]), 400)
    assert err == "ERR unknown command 'foo', with args beginning with: "


def test_wrong_arity_text(http):
    err = assert_error(post(http, "/", ["get"]), 400)
    assert err == "ERR wrong number of arguments for 'get' command"


def test_json_scalars_as_arguments(http, k):
    """Numbers keep their text, booleans become true/false (redis-rest.md §4)."""
    post(http, "/", ["SET", k("int"), 12])
    post(http, "/", ["SET", k("big"), 123456789012345678901234567890])
    post(http, "/", ["SET", k("t"), True])
    post(http, "/", ["SET", k("float"), 1.5])
    post(http, "/", ["SET", k("ex"), "v", "EX", 100])
    got = post(http, "/", ["MGET", k("int"), k("big"), k("t"), k("float")]).json()
    assert got == {"result": ["12", "123456789012345678901234567890", "true", "1.5"]}
    ttl = post(http, "/", ["TTL", k("ex")]).json()["result"]
    assert 98 <= ttl <= 100


def test_command_names_are_case_insensitive(http, k):
    assert post(http, "/", ["sEt", k("a"), "v", "eX", 100]).json() == {"result": "OK"}
    assert post(http, "/", ["gEt", k("a")]).json() == {"result": "v"}


def test_content_type_not_required(http, k):
    r = http.post(
        "/",
        content=json.dumps(["SET", k("a"), "v"]),
        headers={**auth(), "Content-Type": "application/x-www-form-urlencoded"},
    )
    assert r.status_code == 200 and r.json() == {"result": "OK"}
    r = http.post("/", content=json.dumps(["GET", k("a")]).encode(), headers=auth())
    assert r.status_code == 200 and r.json() == {"result": "v"}


# -- pipeline / multi-exec --------------------------------------------------------------------


def test_pipeline_envelope(http, k):
    r = post(http, "/pipeline", [["SET", k("a"), "v"], ["INCR", k("a")], ["GET", k("a")], ["INCR", k("n")]])
    assert r.status_code == 200
    body = r.json()
    assert body == [{"result": "OK"}, {"error": NOT_INT}, {"result": "v"}, {"result": 1}]


def test_pipeline_unknown_command_per_element(http, k):
    r = post(http, "/pipeline", [["SET", k("a"), "v"], ["nosuchcmd"], ["GET", k("a")]])
    assert r.status_code == 200
    body = r.json()
    assert body[0] == {"result": "OK"}
    assert body[1] == {"error": "ERR unknown command 'nosuchcmd', with args beginning with: "}
    assert body[2] == {"result": "v"}


def test_multi_exec_envelope(http, k):
    r = post(http, "/multi-exec", [["SET", k("a"), "abc"], ["INCR", k("a")], ["SET", k("b"), "x"], ["GET", k("b")]])
    assert r.status_code == 200
    assert r.json() == [{"result": "OK"}, {"error": NOT_INT}, {"result": "OK"}, {"result": "x"}]


def test_multi_exec_queue_time_error_discards_everything(http, k):
    """An unknown command or an arity error in a transaction discards it as a whole (Redis:
    EXECABORT; Upstash docs: "a single {"error"}" for syntax errors / unsupported commands)."""
    for bad in (["nosuchcmd", "x"], ["GET"]):
        r = post(http, "/multi-exec", [["SET", k("a"), "1"], bad, ["SET", k("b"), "2"]])
        assert 400 <= r.status_code < 500, r.text
        assert_error(r, r.status_code)
        assert post(http, "/", ["EXISTS", k("a"), k("b")]).json() == {"result": 0}, bad


# -- base64 -----------------------------------------------------------------------------------


def test_base64_encoding(http, k):
    h = {"Upstash-Encoding": "base64"}
    r = post(http, "/", ["SET", k("a"), "héllo"], headers=h).json()
    assert r["result"] in ("OK", b64("OK"))
    assert post(http, "/", ["GET", k("a")], headers=h).json() == {"result": b64("héllo")}
    post(http, "/", ["SET", k("ok"), "OK"], headers=h)
    # strings inside arrays are always encoded, "OK" included; nulls stay null
    assert post(http, "/", ["MGET", k("ok"), k("a"), k("missing")], headers=h).json() == {
        "result": [b64("OK"), b64("héllo"), None]
    }
    # integers are not encoded, errors never are
    assert post(http, "/", ["STRLEN", k("a")], headers=h).json() == {"result": 6}
    r = post(http, "/", ["INCR", k("a")], headers=h)
    assert assert_error(r, 400) == NOT_INT
    # status replies other than OK are encoded too
    assert post(http, "/", ["TYPE", k("a")], headers=h).json() == {"result": b64("string")}
    assert post(http, "/", ["PING"], headers=h).json() == {"result": b64("PONG")}
    assert post(http, "/", ["GET", k("missing")], headers=h).json() == {"result": None}


def test_base64_pipeline_and_multi(http, k):
    h = {"Upstash-Encoding": "base64"}
    cmds = [["SET", k("a"), "v"], ["GET", k("a")], ["INCR", k("a")], ["MGET", k("a")], ["EXISTS", k("a")]]
    for path in ("/pipeline", "/multi-exec"):
        body = post(http, path, cmds, headers=h).json()
        assert body[0]["result"] in ("OK", b64("OK"))
        assert body[1:] == [
            {"result": b64("v")},
            {"error": NOT_INT},
            {"result": [b64("v")]},
            {"result": 1},
        ], path


def test_binary_value_via_path_body_and_base64(http, k):
    data = bytes(range(256))
    r = http.post(f"/set/{k('bin')}", content=data, headers=auth())
    assert r.status_code == 200 and r.json() == {"result": "OK"}
    r = post(http, "/", ["GET", k("bin")], headers={"Upstash-Encoding": "base64"})
    assert r.json() == {"result": b64(data)}
    assert post(http, "/", ["STRLEN", k("bin")]).json() == {"result": 256}


def test_invalid_utf8_without_base64_is_replaced(http, k):
    http.post(f"/set/{k('bin')}", content=b"ab\xffcd", headers=auth())
    assert post(http, "/", ["GET", k("bin")]).json() == {"result": "ab\ufffdcd"}


# -- path-style commands ----------------------------------------------------------------------


def test_path_style_get(http, k):
    r = http.get(f"/set/{k('a')}/bar", headers=auth())
    assert r.status_code == 200 and r.json() == {"result": "OK"}
    assert http.get(f"/get/{k('a')}", headers=auth()).json() == {"result": "bar"}
    http.get(f"/set/{k('b')}/baz", headers=auth())
    assert http.get(f"/mget/{k('a')}/{k('b')}/{k('c')}", headers=auth()).json() == {
        "result": ["bar", "baz", None]
    }


def test_path_style_percent_decoding(http, k):
    r = http.get(f"/set/{k('a')}/hello%20world%2Fslash%3F", headers=auth())
    assert r.status_code == 200
    assert post(http, "/", ["GET", k("a")]).json() == {"result": "hello world/slash?"}


def test_path_style_post_body_is_last_argument(http, k):
    raw = b'["not", "parsed", {"as": "json"}]'
    r = http.post(f"/set/{k('a')}", content=raw, headers=auth())
    assert r.status_code == 200 and r.json() == {"result": "OK"}
    assert post(http, "/", ["GET", k("a")]).json() == {"result": raw.decode()}


def test_path_style_query_arguments_after_body(http, k):
    r = http.post(f"/set/{k('a')}?EX=100", content=b"value", headers=auth())
    assert r.status_code == 200 and r.json() == {"result": "OK"}
    assert post(http, "/", ["GET", k("a")]).json() == {"result": "value"}
    assert 98 <= post(http, "/", ["TTL", k("a")]).json()["result"] <= 100


def test_path_style_errors(http, k):
    http.get(f"/set/{k('a')}/abc", headers=auth())
    assert assert_error(http.get(f"/incr/{k('a')}", headers=auth()), 400) == NOT_INT
    err = assert_error(http.get("/foo/a/b", headers=auth()), 400)
    assert err == "ERR unknown command 'foo', with args beginning with: 'a' 'b' "


def test_path_style_put_allowed(http, k):
    r = http.put(f"/set/{k('a')}", content=b"put-body", headers=auth())
    assert r.status_code == 200 and r.json() == {"result": "OK"}
    assert post(http, "/", ["GET", k("a")]).json() == {"result": "put-body"}


# -- auth -------------------------------------------------------------------------------------


def test_query_token(http, k):
    r = http.get(f"/set/{k('a')}/v", params={"_token": TOKEN})
    assert r.status_code == 200 and r.json() == {"result": "OK"}, r.text
    r = http.get(f"/get/{k('a')}", params={"_token": TOKEN})
    assert r.json() == {"result": "v"}  # _token never becomes an argument
    r = http.post("/", params={"_token": TOKEN}, content=json.dumps(["GET", k("a")]))
    assert r.status_code == 200 and r.json() == {"result": "v"}
    r = http.post("/pipeline", params={"_token": TOKEN}, content=json.dumps([["GET", k("a")]]))
    assert r.status_code == 200 and r.json() == [{"result": "v"}]


def test_bad_query_token_is_401(http, k):
    assert_error(http.get(f"/get/{k('a')}", params={"_token": "wrong"}), 401)


@pytest.mark.parametrize("path", ["/", "/pipeline", "/multi-exec"])
@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer wrong-token"},
        {"Authorization": "Bearer"},
        {"Authorization": TOKEN},
        {"Authorization": f"Basic {TOKEN}"},
    ],
    ids=["none", "wrong", "empty", "no-scheme", "basic"],
)
def test_unauthorized(http, path, headers, k):
    body = [["SET", k("a"), "v"]] if path != "/" else ["SET", k("a"), "v"]
    r = http.post(path, content=json.dumps(body), headers={"Content-Type": "application/json", **headers})
    assert_error(r, 401)
    assert post(http, "/", ["EXISTS", k("a")]).json() == {"result": 0}


def test_unauthorized_path_style(http, k):
    assert_error(http.get(f"/set/{k('a')}/v"), 401)
    assert_error(http.get(f"/set/{k('a')}/v", headers=auth("wrong")), 401)
    assert post(http, "/", ["EXISTS", k("a")]).json() == {"result": 0}


def test_read_only_token_raw(http, k):
    if not RO_TOKEN:
        pytest.skip("LARDER_READ_ONLY_TOKEN not set")
    post(http, "/", ["SET", k("a"), "v"])
    r = post(http, "/", ["GET", k("a")], token=RO_TOKEN)
    assert r.status_code == 200 and r.json() == {"result": "v"}
    err = assert_error(post(http, "/", ["SET", k("a"), "x"], token=RO_TOKEN), 400)
    assert err.startswith("NOPERM"), err
    err = assert_error(http.get(f"/del/{k('a')}", params={"_token": RO_TOKEN}), 400)
    assert err.startswith("NOPERM"), err
    body = post(http, "/pipeline", [["GET", k("a")], ["SET", k("a"), "x"]], token=RO_TOKEN).json()
    assert body[0] == {"result": "v"}
    assert body[1]["error"].startswith("NOPERM") and "result" not in body[1]
    # a transaction with a write: per-command NOPERM or the whole request refused (non-2xx)
    r = post(http, "/multi-exec", [["GET", k("a")], ["SET", k("a"), "x"]], token=RO_TOKEN)
    if r.status_code == 200:
        assert r.json()[1]["error"].startswith("NOPERM"), r.text
    else:
        err = assert_error(r, r.status_code)
        assert 400 <= r.status_code < 500 and ("NOPERM" in err or "EXECABORT" in err), r.text
    assert post(http, "/", ["GET", k("a")]).json() == {"result": "v"}


# -- malformed requests -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    ["not json", '["SET", "a"', '{"cmd": "GET"}', '"GET"', "[]", ""],
    ids=["garbage", "truncated", "object", "string", "empty-array", "empty-body"],
)
def test_malformed_single_command_is_400(http, body):
    assert_error(post(http, "/", body), 400)


@pytest.mark.parametrize("path", ["/pipeline", "/multi-exec"])
@pytest.mark.parametrize(
    "body",
    ["not json", '[["GET", "a"]', '{"a": 1}', '["GET", "a"]'],
    ids=["garbage", "truncated", "object", "flat-array"],
)
def test_malformed_batch_is_400(http, path, body):
    assert_error(post(http, path, body), 400)


def test_body_too_large_is_413(http, k):
    big = "x" * (12 * 1024 * 1024)  # above Upstash's 10 MB request limit
    try:
        r = post(http, "/", ["SET", k("big"), big])
    except httpx.TransportError as e:  # the server must answer, not just drop the connection
        pytest.fail(f"connection dropped instead of a 413 answer: {e!r}")
    assert_error(r, 413)
    assert post(http, "/", ["EXISTS", k("big")]).json() == {"result": 0}


def test_large_body_below_limit_is_fine(http, k):
    value = secrets.token_hex(512 * 1024)  # 1 MiB
    assert post(http, "/", ["SET", k("a"), value]).json() == {"result": "OK"}
    assert post(http, "/", ["STRLEN", k("a")]).json() == {"result": len(value)}


def test_method_not_allowed(http):
    r = http.delete("/", headers=auth())
    assert r.status_code == 405


# -- headers ----------------------------------------------------------------------------------


def test_sync_token_on_every_response(http, k):
    seen = []
    for r in (
        post(http, "/", ["SET", k("a"), "1"]),
        post(http, "/", ["GET", k("a")]),
        post(http, "/pipeline", [["INCR", k("a")]]),
        post(http, "/multi-exec", [["INCR", k("a")]]),
        http.get(f"/incr/{k('a')}", headers=auth()),
        post(http, "/", ["SET", k("a"), "2"], headers={"Upstash-Sync-Token": "junk-from-client"}),
    ):
        assert r.status_code == 200, r.text
        token = r.headers.get("upstash-sync-token")
        assert token, f"missing upstash-sync-token on {r.request.method} {r.request.url.path}"
        seen.append(token)
    # every response above except the plain GET followed a write: consecutive tokens differ
    writes = [seen[0]] + seen[2:]
    assert len(set(writes)) == len(writes), seen


def test_telemetry_headers_are_accepted(http, k):
    h = {
        "Upstash-Telemetry-Sdk": "@upstash/redis@v1.39.0",
        "Upstash-Telemetry-Platform": "unknown",
        "Upstash-Telemetry-Runtime": "node@v20.0.0",
        "Upstash-Telemetry-Retry": "1",
    }
    assert post(http, "/", ["SET", k("a"), "v"], headers=h).json() == {"result": "OK"}


def test_healthz():
    """larder-specific readiness endpoint (not part of the Upstash protocol)."""
    r = httpx.get(URL + "/healthz", timeout=10)
    assert r.status_code == 200
